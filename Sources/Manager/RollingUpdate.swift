import SwarmAPI

/// One service's rolling update as the orchestrator follows it between
/// passes: the tasks it made, when each was first seen running, which
/// failed. In memory, like swarmkit's updater: a manager that restarts
/// mid-update starts this bookkeeping afresh and carries on from the tasks.
struct RollingUpdate {
    /// The template this update rolls to.
    let specIndex: UInt64
    /// Slots that had to change when it began: the base of the failure ratio.
    var slotsToUpdate: Int
    /// Replacements this update made → when each was first seen running.
    var made: [String: Timestamp?] = [:]
    var failed: Set<String> = []
    var lastRunningAt: Timestamp?

    init(specIndex: UInt64, slotsToUpdate: Int) {
        self.specIndex = specIndex
        self.slotsToUpdate = max(slotsToUpdate, 1)
    }

    /// What one pass decides.
    enum Decision: Equatable {
        /// Start this many replacements now (stop-first or start-first).
        case replace(Int)
        /// Nothing to start yet; look again at the given time if any (a delay or the monitor period running out).
        case wait(until: Timestamp?)
        case complete
        case pause(message: String)
        case rollback(message: String)
    }

    /// Takes in the service's current tasks, then decides. `outdated`: live
    /// tasks of an older template; `pending`: tasks of this template not
    /// running yet (replacements in flight).
    mutating func decide(config: UpdateConfig, rollingBack: Bool, tasks: [SwarmTask], outdated: Int, pending: Int,
                         now: Timestamp) -> Decision {
        let monitor = config.monitor ?? 5_000_000_000
        let delay = config.delay ?? 0
        var firstFailure: String?
        for task in tasks where made.keys.contains(task.id) {
            if task.status.state == .running, made[task.id]! == nil {
                made[task.id] = now
                lastRunningAt = now
            }
            guard Self.endedEarly(task), !failed.contains(task.id) else { continue }
            // A failure counts if the task never ran or ended within the monitor period.
            if let ranAt = made[task.id]!, now.nanoseconds - ranAt.nanoseconds > monitor { continue }
            failed.insert(task.id)
            firstFailure = firstFailure ?? task.id
        }
        if let failedTask = firstFailure, (config.failureAction ?? "pause") != "continue",
           Double(failed.count) / Double(slotsToUpdate) > (config.maxFailureRatio ?? 0) {
            let what = rollingBack ? "rollback" : "update"
            if config.failureAction == "rollback" && !rollingBack {
                return .rollback(message: "update rolled back due to failure or early termination of task \(failedTask)")
            }
            // Never roll back a rollback: pause it.
            return .pause(message: "\(what) paused due to failure or early termination of task \(failedTask)")
        }
        // A replacement keeps its worker busy until it runs, then for the delay.
        let delayed = made.values.compactMap { $0 }.filter { now.nanoseconds - $0.nanoseconds < delay }
        let busy = pending + delayed.count
        if outdated == 0 {
            guard pending == 0 else { return .wait(until: nil) }
            // Every slot runs the new template: watch it for one monitor period, then it is done.
            if let lastRunningAt, now.nanoseconds - lastRunningAt.nanoseconds < monitor {
                return .wait(until: lastRunningAt.adding(nanoseconds: monitor))
            }
            return .complete
        }
        let parallelism = Int(config.parallelism ?? 1)
        let room = parallelism == 0 ? outdated : max(0, parallelism - busy)
        if room > 0 { return .replace(min(room, outdated)) }
        let nextFree = delayed.map { $0.adding(nanoseconds: delay) }.min()
        return .wait(until: nextFree)
    }

    mutating func made(_ taskID: String) { made[taskID] = .some(nil) }

    /// Ended before it was asked to: failed, rejected, or exited on its own.
    static func endedEarly(_ task: SwarmTask) -> Bool {
        [.failed, .rejected, .complete, .orphaned].contains(task.status.state)
    }
}

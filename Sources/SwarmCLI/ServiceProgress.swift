import Containers
import FoundationEssentials
import Glibc
import SwarmAPI
import SwarmClient
import SystemCalls

/// What `service create|update|scale` draw while waiting, as Docker's CLI:
/// `overall progress: 2 out of 3 tasks`, one line per slot (or node, for
/// global services) with the task's state, then `verify: …`. On a terminal
/// the lines are redrawn in place; otherwise a line is printed when it
/// changes. Unlike Docker's, it never waits forever: after the timeout
/// (SWARM_CONVERGE_TIMEOUT, default 60 s) it says so and gives up with
/// status 1, naming the tasks' last errors.
struct ServiceProgress {
    let client: APIClient
    let serviceID: String
    let quiet: Bool
    let terminal = isatty(1) == 1
    /// Docker draws a bar per slot only on a terminal wider than 110 columns.
    var bars: Bool {
        var size = winsize()
        return terminal && ioctl(1, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 110
    }

    var timeout: Double {
        (ProcessInfo.processInfo.environment["SWARM_CONVERGE_TIMEOUT"]).flatMap { try? Durations.parse($0) }.map { Double($0) / 1e9 } ?? 60
    }

    final class Screen {
        var lines: [String] = []
        var printed: [String] = []
        let terminal: Bool
        init(terminal: Bool) { self.terminal = terminal }

        func draw(_ new: [String]) {
            if terminal {
                var out = ""
                if printed.isEmpty { out += String(repeating: "\n", count: new.count) }
                else if new.count > printed.count { out += String(repeating: "\n", count: new.count - printed.count) }
                let height = max(new.count, printed.count)
                for (index, line) in new.enumerated() where index >= printed.count || printed[index] != line {
                    let up = height - index
                    out += "\u{1B}[\(up)A\u{1B}[2K\r\(line) \r\u{1B}[\(up)B"
                }
                writeStdout(out)
            } else {
                for (index, line) in new.enumerated() where index >= printed.count || printed[index] != line { writeStdout(line + "\n") }
            }
            printed = new
        }
    }

    /// `label`: what `verify: Service … converged` names (Docker: the ID on create, the name given otherwise).
    /// `rollback`: this command asked for the rollback (it may be over before the first look).
    func waitForConvergence(label: String, name: String? = nil, rollback: Bool = false) async throws {
        let name = name ?? label
        let screen = Screen(terminal: terminal && !quiet)
        let started = Timestamp.now()
        var stableSince: Timestamp? = nil
        var reported: Set<String> = []
        var lastErrors: [String] = []
        var rollbackNote: String?
        // An update or rollback this command started (its state was seen under
        // way): a completed rollback then means it was rolled back.
        var sawUpdate = false
        while true {
            let service = try await client.get(Service.self, "/services/\(serviceID)")
            // Docker's CLI: a paused update or rollback ends the wait with
            // its reason; a rollback is announced once.
            let status = service.updateStatus, message = status?.message ?? ""
            if status?.state == "updating" || status?.state == "rollback_started" { sawUpdate = true }
            switch status?.state {
            case "paused": throw RuntimeError.badInput("service update paused: \(message)")
            case "rollback_paused": throw RuntimeError.badInput("service rollback paused: \(message)")
            case "rollback_started" where rollbackNote == nil && !message.isEmpty: rollbackNote = "rollback: \(message)"
            case "rollback_completed" where stableSince == nil && (rollbackNote != nil || rollback || sawUpdate):
                if !quiet { screen.draw(screen.printed + ["service rolled back: \(message)"]) }
                return
            default: break
            }
            let tasks = try await client.get([SwarmTask].self, "/tasks", query: try APIClient.filtersJSON(["service=\(serviceID)"]))
            let nodes = try await client.get([Node].self, "/nodes")
            let monitor = Double(service.spec.updateConfig?.monitor ?? 5_000_000_000) / 1e9
            // The newest task of each slot (node, for global services), from the current template.
            var newest: [String: SwarmTask] = [:]
            for task in tasks where task.desiredState <= .running {
                let key = task.slot.map { String($0) } ?? task.nodeID ?? ""
                if let seen = newest[key], seen.createdAt > task.createdAt { continue }
                newest[key] = task
            }
            let global = service.spec.mode.isGlobal
            let wanted = global ? newest.count : Int(service.spec.mode.replicated?.replicas ?? 0)
            if !global { newest = newest.filter { (Int($0.key) ?? 0) <= wanted } }
            let running = newest.values.filter { $0.status.state == .running && $0.specIndex == service.specIndex }.count
            // The last failure of each slot since we started: shown while the slot is not running.
            var failures: [String: String] = [:]
            for task in tasks.sorted(by: { $0.status.timestamp < $1.status.timestamp })
            where [.failed, .rejected].contains(task.status.state) && task.status.timestamp >= started {
                failures[task.slot.map { String($0) } ?? task.nodeID ?? ""] = task.status.err ?? task.status.state.name
            }
            let drawBars = bars
            func line(_ key: String) -> String {
                guard let task = newest[key] else { return "" }
                if task.status.state != .running, let failure = failures[key] { return failure }
                return Self.describe(task) + (drawBars ? " " + Self.bar(task.status.state) : "")
            }
            let rollingBack = status?.state == "rollback_started" || status?.state == "rollback_completed"
            var lines = ["overall progress: \(rollingBack ? "rolling back update: " : "")\(running) out of \(wanted) tasks"]
            if global {
                for key in newest.keys.sorted() {
                    lines.append("\(String(nodes.first { $0.id == key }?.id.prefix(12) ?? Substring(key))): \(line(key))")
                }
            } else if wanted <= 50 {
                for slot in 1...max(wanted, 1) where slot <= wanted {
                    lines.append("\(slot)/\(wanted): \(line(String(slot)))")
                }
            }
            // Failures since we started: shown once each, like Docker's error lines.
            for task in tasks where task.status.state.isTerminal && task.status.state != .shutdown && task.status.state != .complete
                && task.status.timestamp >= started && !reported.contains(task.id) {
                reported.insert(task.id)
                lastErrors.append(task.status.err ?? task.status.state.name)
            }
            for task in newest.values where task.status.state == .pending {
                if let err = task.status.err { lastErrors = [err] }
            }
            if let rollbackNote { lines.append(rollbackNote) }
            let now = Timestamp.now()
            if running == wanted {
                stableSince = stableSince ?? now
                let left = monitor - now.seconds(since: stableSince!)
                if left <= 0 {
                    if !quiet { screen.draw(lines + ["verify: Service \(label) converged"]) }
                    if !terminal || quiet { } else { writeStdout("\n") }
                    return
                }
                if !quiet { screen.draw(lines + ["verify: Waiting \(Int(left.rounded(.up))) seconds to verify that tasks are stable..."]) }
            } else {
                stableSince = nil
                if !quiet { screen.draw(reported.isEmpty ? lines : lines + ["verify: Detected task failure"]) }
            }
            if now.seconds(since: started) > timeout {
                if terminal && !quiet { writeStdout("\n") }
                let reason = lastErrors.last.map { ": \($0)" } ?? ""
                throw RuntimeError.badInput("service \(name) did not converge within \(Int(timeout)) s (\(running) of \(wanted) tasks running\(reason)); it keeps trying in the background: see swarm service ps \(name)")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// Docker's bar: the state's place among new (1) … running (9), in 50 columns.
    static func bar(_ state: TaskState) -> String {
        let steps: [TaskState: Int] = [.new: 1, .pending: 3, .assigned: 4, .accepted: 5, .preparing: 6, .ready: 7, .starting: 8, .running: 9]
        let filled = min(50, Int(Double(steps[state] ?? 9) / 9 * 100) / 2)
        return "[" + String(repeating: "=", count: filled) + ">" + String(repeating: " ", count: 50 - filled) + "]"
    }

    /// `running`, `preparing`, or the task's error — padded as Docker pads it.
    static func describe(_ task: SwarmTask) -> String {
        if let err = task.status.err, task.status.state == .pending || task.status.state.isTerminal { return err }
        let state = task.status.state.name
        return state + String(repeating: " ", count: max(0, 9 - state.count))
    }
}

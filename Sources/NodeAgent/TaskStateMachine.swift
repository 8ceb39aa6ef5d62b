import SwarmAPI

/// One task's life on this node, as a value: events in, actions out. The
/// agent performs the actions and feeds their outcomes back as events. It
/// holds what decides the next step: the task as last assigned, the last
/// state reported (states only move forward), the one operation under way
/// and the container being watched.
///
/// accepted → preparing → ready → starting → running → complete | failed,
/// or shutdown when the manager wants the task stopped, or rejected when
/// its image or its container cannot be had.
struct TaskStateMachine {
    enum Event: Equatable {
        /// The manager's set changed. `container` is what the engine has for
        /// the task now: after an agent restart, this is how a running or an
        /// exited container is re-adopted.
        case assigned(SwarmTask, container: TaskContainerState?)
        /// The task left the manager's set; `containers`: those it left.
        case unassigned(containers: [String])
        case imageReady
        case imageFailed(String)
        case containerStarted(TaskContainerState)
        case containerFailedToStart(String)
        /// The watched container exited; nil if it was gone by then.
        case containerExited(TaskContainerState?)
        case stopFinished(TaskContainerState)
        case removalDone
        /// The container's health check changed its verdict.
        case healthChanged(TaskContainerState)
    }

    enum Action: Equatable {
        case report(TaskState, message: String, err: String? = nil, container: SwarmAPI.ContainerStatus? = nil)
        case ensureImage(String)
        case startContainer(SwarmTask)
        /// Wait for the container's exit (answered by `containerExited`).
        case watchContainer(String)
        /// Follow the container's health check (answered by `healthChanged`).
        case watchHealth(String)
        case stopContainer(TaskContainerState, grace: Duration)
        case removeContainers([String])
        /// Remove whatever containers carry the task's label (a start that
        /// failed half-way may have left one nobody knows the id of).
        case removeLeftovers
    }

    enum Operation: Equatable { case preparing, starting, stopping, removing }

    let taskID: String
    /// The task as last assigned; nil once the manager dropped it.
    private(set) var task: SwarmTask?
    /// The last state reported, or seen reported by the manager.
    private(set) var reported: TaskState = .new
    /// While one runs, assignment changes are only recorded.
    private(set) var operation: Operation?
    private(set) var watching: String?
    private(set) var watchingHealth: String?
    /// Counts the events handled: the agent skips a task whose machine moved
    /// while it listed the containers (its listing may be stale).
    private(set) var generation = 0

    init(taskID: String) { self.taskID = taskID }

    /// Neither assigned nor doing anything: the agent can forget it.
    var isIdle: Bool { task == nil && operation == nil }

    mutating func handle(_ event: Event) -> [Action] {
        generation += 1
        switch event {
        case let .assigned(task, container): return assigned(task, container)
        case let .unassigned(containers): return unassigned(containers)
        case .imageReady: return report(.ready, "prepared") + startIfWanted()
        case let .imageFailed(error): return report(.rejected, "preparing", err: error) + finish()
        case let .containerStarted(container):
            return serving(container) + watch(container) + finish()
        case let .healthChanged(container): return healthChanged(container)
        case let .containerFailedToStart(error): return report(.rejected, "starting", err: error) + finish()
        case let .containerExited(container): return exited(container)
        case let .stopFinished(container): return report(.shutdown, "shutdown", container: container) + finish()
        case .removalDone:
            operation = nil
            return []
        }
    }

    private mutating func assigned(_ task: SwarmTask, _ container: TaskContainerState?) -> [Action] {
        self.task = task
        reported = max(reported, task.status.state)
        guard operation == nil else { return [] }
        if task.desiredState <= .running {
            if let container {
                if container.isRunning { return serving(container) + watch(container) }
                return reportExit(container)
            }
            if task.status.state >= .starting && !task.status.state.isTerminal {
                return report(.failed, "started", err: "task: container is gone (removed while the agent was away)")
            }
            if task.status.state.isTerminal { return [] }
            // A replacement waiting out its restart delay (desired `ready`)
            // is left alone until the manager says run: a task that cannot
            // even be prepared must not spin.
            guard task.desiredState == .running else { return [] }
            guard reported < .ready else { return startIfWanted() }
            operation = .preparing
            return report(.accepted, "accepted") + report(.preparing, "preparing")
                + [.ensureImage(task.spec.containerSpec?.image ?? "")]
        }
        if let container, container.isRunning {
            operation = .stopping
            let grace = Int((task.spec.containerSpec?.stopGracePeriod ?? 10_000_000_000) / 1_000_000_000)
            return [.stopContainer(container, grace: .seconds(grace))]
        }
        if task.status.state.isTerminal { return [] }
        return report(.shutdown, "shutdown", container: container)
    }

    private mutating func unassigned(_ containers: [String]) -> [Action] {
        task = nil
        guard operation == nil, !containers.isEmpty else { return [] }
        operation = .removing
        return [.removeContainers(containers)]
    }

    /// Prepared: start, unless the manager no longer wants it running (a
    /// restart delay, a shutdown or an unassignment that came meanwhile).
    private mutating func startIfWanted() -> [Action] {
        guard let task, task.desiredState == .running else { return finish() }
        operation = .starting
        return report(.starting, "starting") + [.startContainer(task)]
    }

    private mutating func exited(_ container: TaskContainerState?) -> [Action] {
        watching = nil
        guard let container else { return [] }
        if (task?.desiredState ?? .running) > .running {
            return report(.shutdown, "shutdown", container: container)
        }
        return reportExit(container)
    }

    /// An operation ended. If the task was unassigned meanwhile, its
    /// containers go now (the assignment pass skipped it while busy).
    private mutating func finish() -> [Action] {
        operation = nil
        guard task == nil else { return [] }
        operation = .removing
        return [.removeLeftovers]
    }

    /// A started container counts as running once its health check (if it
    /// has one) says healthy, as Docker's tasks do; an unhealthy one fails.
    private mutating func serving(_ container: TaskContainerState) -> [Action] {
        switch container.health {
        case nil, .healthy?: return report(.running, "started", container: container)
        case .starting?:
            guard watchingHealth == nil else { return [] }
            watchingHealth = container.id
            return [.watchHealth(container.id)]
        case .unhealthy?: return unhealthy(container)
        }
    }

    private mutating func healthChanged(_ container: TaskContainerState) -> [Action] {
        guard container.health != .starting else { return [] }
        if container.health == .unhealthy { watchingHealth = nil }
        guard (task?.desiredState ?? .running) <= .running else { return [] }
        return container.health == .healthy ? report(.running, "started", container: container) : unhealthy(container)
    }

    /// Docker's verdict and error for a task whose check failed: the task
    /// fails (the orchestrator replaces it) and its container is stopped.
    private mutating func unhealthy(_ container: TaskContainerState) -> [Action] {
        let failed = report(.failed, "started", err: "task: non-zero exit (137): dockerexec: unhealthy container", container: container)
        guard operation == nil, container.isRunning else { return failed }
        operation = .stopping
        return failed + [.stopContainer(container, grace: .seconds(0))]
    }

    private mutating func watch(_ container: TaskContainerState) -> [Action] {
        guard watching == nil else { return [] }
        watching = container.id
        return [.watchContainer(container.id)]
    }

    private mutating func reportExit(_ container: TaskContainerState) -> [Action] {
        let code = container.exitCode ?? 0
        if code == 0 { return report(.complete, "finished", container: container) }
        return report(.failed, "started", err: "task: non-zero exit (\(code))", container: container)
    }

    /// Only forward: a state at or behind the last one reported is dropped.
    private mutating func report(_ state: TaskState, _ message: String, err: String? = nil,
                                 container: TaskContainerState? = nil) -> [Action] {
        guard reported < state else { return [] }
        reported = state
        return [.report(state, message: message, err: err, container: container?.reported)]
    }
}

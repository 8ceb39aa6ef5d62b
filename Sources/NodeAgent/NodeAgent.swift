import Containers
import Dispatch
import FoundationEssentials
import Glibc
import SwarmAPI

/// The agent on every node: keeps a session with the manager, runs the
/// tasks assigned to this node through their states with the runtime,
/// reports what it observes, and stops and removes what is no longer
/// assigned. It owns no state the containers need: killed and restarted,
/// it finds its containers by their task label and reports their real state.
public actor NodeAgent {
    let runtime: ContainerRuntime
    let link: ManagerLink
    let session: @Sendable () -> SessionRequest
    let images: ImageProvider
    var heartbeatPeriod: Int64 = 5_000_000_000
    /// The last state reported (or seen reported) per task.
    var observed: [String: TaskState] = [:]
    var outbox: [String: StatusUpdate] = [:]
    var flushScheduled = false
    /// Tasks with a start or stop under way.
    var busy: Set<String> = []
    var watching: Set<String> = []
    var assigned: [String: SwarmTask] = [:]

    public init(runtime: ContainerRuntime, link: ManagerLink, images: ImageProvider, session: @escaping @Sendable () -> SessionRequest) {
        self.runtime = runtime
        self.link = link
        self.images = images
        self.session = session
    }

    /// Runs until the surrounding task is cancelled.
    public func run() async {
        await connect()
        let heartbeats = Task { await self.heartbeatLoop() }
        defer { heartbeats.cancel() }
        var since: UInt64? = nil
        while !Task.isCancelled {
            do {
                let set = try await link.assignments(since: since)
                since = set.version
                apply(set.tasks)
            } catch {
                log("assignments: \(error)")
                since = nil
                try? await Task.sleep(for: .seconds(1))
                await connect()
            }
        }
    }

    func connect() async {
        while !Task.isCancelled {
            do {
                let response = try await link.openSession(session())
                heartbeatPeriod = response.heartbeatPeriod
                return
            } catch {
                log("session: \(error)")
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// Twice per period: one lost heartbeat does not make the node Down.
    func heartbeatLoop() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .nanoseconds(heartbeatPeriod / 2))
            do {
                heartbeatPeriod = try await link.heartbeat().heartbeatPeriod
            } catch {
                log("heartbeat: \(error)")
            }
        }
    }

    // MARK: - Assignments

    func apply(_ set: [SwarmTask]) {
        assigned = Dictionary(set.map { ($0.id, $0) }, uniquingKeysWith: { $1 })
        var containers: [String: ContainerInfo] = [:]
        for info in runtime.list(all: true) {
            if let taskID = info.record.spec.labels?[TaskContainer.taskLabel] { containers[taskID] = info }
        }
        for task in set {
            if observed[task.id].map({ $0 < task.status.state }) ?? true { observed[task.id] = task.status.state }
            guard !busy.contains(task.id) else { continue }
            let container = containers[task.id]
            if task.desiredState <= .running {
                if let container {
                    if container.state.status == .running {
                        report(task.id, .running, "started", container: container)
                        watch(task.id, container.id)
                    } else {
                        reportExit(task.id, container)
                    }
                } else if task.status.state >= .starting && !task.status.state.isTerminal {
                    report(task.id, .failed, "started", err: "task: container is gone (removed while the agent was away)")
                } else if !task.status.state.isTerminal {
                    start(task)
                }
            } else if let container, container.state.status == .running {
                stop(task, container)
            } else if !task.status.state.isTerminal {
                report(task.id, .shutdown, "shutdown", container: container)
            }
        }
        for (taskID, container) in containers where assigned[taskID] == nil && !busy.contains(taskID) {
            busy.insert(taskID)
            let runtime = self.runtime
            Task {
                await blocking { try? runtime.remove(container.id, force: true) }
                self.finished(taskID)
            }
        }
        for taskID in observed.keys where assigned[taskID] == nil && containers[taskID] == nil { observed[taskID] = nil }
    }

    /// A start or stop ended. If the task was unassigned meanwhile, its
    /// container goes now (the assignment pass skipped it while busy).
    func finished(_ taskID: String) {
        busy.remove(taskID)
        guard assigned[taskID] == nil else { return }
        let runtime = self.runtime
        let leftovers = runtime.list(all: true).filter { $0.record.spec.labels?[TaskContainer.taskLabel] == taskID }
        guard !leftovers.isEmpty else { return }
        busy.insert(taskID)
        Task {
            await blocking { for container in leftovers { try? runtime.remove(container.id, force: true) } }
            self.busy.remove(taskID)
        }
    }

    func start(_ task: SwarmTask) {
        // A replacement waiting out its restart delay is left alone until
        // the manager says run: a task that cannot even be prepared must
        // not spin.
        guard task.desiredState == .running else { return }
        busy.insert(task.id)
        let runtime = self.runtime, images = self.images
        Task {
            defer { self.finished(task.id) }
            if (observed[task.id] ?? .new) < .ready {
                report(task.id, .accepted, "accepted")
                report(task.id, .preparing, "preparing")
                do {
                    try await images.ensure(task.spec.containerSpec?.image ?? "")
                } catch {
                    report(task.id, .rejected, "preparing", err: "\(error)")
                    return
                }
                report(task.id, .ready, "prepared")
            }
            // Restart delay: the manager says when to start.
            guard (assigned[task.id]?.desiredState ?? task.desiredState) == .running else { return }
            report(task.id, .starting, "starting")
            do {
                let spec = try TaskContainer.spec(task)
                let name = TaskContainer.name(task)
                let id = try await blocking { () throws -> String in
                    let started = try runtime.run(spec, name: name)
                    started.detach()
                    return started.id
                }
                let info = try runtime.inspect(id)
                report(task.id, .running, "started", container: info)
                watch(task.id, id)
            } catch {
                report(task.id, .rejected, "starting", err: "\(error)")
            }
        }
    }

    func stop(_ task: SwarmTask, _ container: ContainerInfo) {
        busy.insert(task.id)
        let runtime = self.runtime
        let grace = Int((task.spec.containerSpec?.stopGracePeriod ?? 10_000_000_000) / 1_000_000_000)
        Task {
            let state = try? await blocking { try runtime.stop(container.id, timeout: grace) }
            var info = container
            if let state { info.state = state }
            report(task.id, .shutdown, "shutdown", container: info)
            finished(task.id)
        }
    }

    /// Waits for the container's exit on a thread of its own (the runtime's
    /// wait blocks on a pidfd) and reports it.
    func watch(_ taskID: String, _ containerID: String) {
        guard watching.insert(taskID).inserted else { return }
        let runtime = self.runtime
        startThread {
            let state = try? runtime.wait(containerID)
            Task { await self.exited(taskID, containerID, state) }
        }
    }

    func exited(_ taskID: String, _ containerID: String, _ state: ContainerState?) {
        watching.remove(taskID)
        guard var info = try? runtime.inspect(containerID) else { return }
        if let state { info.state = state }
        if (assigned[taskID]?.desiredState ?? .running) > .running {
            report(taskID, .shutdown, "shutdown", container: info)
        } else {
            reportExit(taskID, info)
        }
    }

    func reportExit(_ taskID: String, _ info: ContainerInfo) {
        let code = info.state.exitCode ?? 0
        if code == 0 {
            report(taskID, .complete, "finished", container: info)
        } else {
            report(taskID, .failed, "started", err: "task: non-zero exit (\(code))", container: info)
        }
    }

    // MARK: - Status reports

    func report(_ taskID: String, _ state: TaskState, _ message: String, err: String? = nil, container: ContainerInfo? = nil) {
        guard (observed[taskID] ?? .new) < state else { return }
        observed[taskID] = state
        let containerStatus = container.map {
            SwarmAPI.ContainerStatus(containerID: $0.id, pid: $0.state.status == .running ? $0.state.pid : 0, exitCode: $0.state.exitCode)
        }
        outbox[taskID] = StatusUpdate(taskID: taskID, status: TaskStatus(timestamp: .now(), state: state, message: message,
                                                                         err: err, containerStatus: containerStatus))
        guard !flushScheduled else { return }
        flushScheduled = true
        Task {
            // A short pause gathers the states of a burst into one batch.
            try? await Task.sleep(for: .milliseconds(10))
            await self.flush()
        }
    }

    func flush() async {
        flushScheduled = false
        guard !outbox.isEmpty else { return }
        let batch = StatusBatch(updates: Array(outbox.values).sorted { $0.status.state < $1.status.state })
        outbox = [:]
        do {
            try await link.report(batch)
        } catch {
            // Keep them for the next try, behind anything newer.
            for update in batch.updates where outbox[update.taskID] == nil { outbox[update.taskID] = update }
            log("status: \(error)")
            try? await Task.sleep(for: .milliseconds(500))
            if !flushScheduled {
                flushScheduled = true
                Task { await self.flush() }
            }
        }
    }

    nonisolated func log(_ message: String) {
        let line = "swarm agent: \(message)\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
    }
}

/// Runs blocking work (container start/stop, pidfd waits) on a thread of
/// its own: the concurrency pool has one thread per core, and a stop that
/// waits out a 10 s grace period must not stall heartbeats and the API.
func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        startThread { continuation.resume(with: Result { try body() }) }
    }
}

func blocking<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        startThread { continuation.resume(returning: body()) }
    }
}

/// A plain thread for work that blocks (waiting on a pidfd), so the
/// concurrency pool's few threads are never tied up.
func startThread(_ body: @escaping @Sendable () -> Void) {
    final class Box { let body: @Sendable () -> Void; init(_ body: @escaping @Sendable () -> Void) { self.body = body } }
    var attributes = pthread_attr_t()
    pthread_attr_init(&attributes)
    pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
    pthread_attr_setstacksize(&attributes, 256 * 1024)
    var thread = pthread_t()
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    pthread_create(&thread, &attributes, { pointer in
        let box = Unmanaged<AnyObject>.fromOpaque(pointer!).takeRetainedValue() as! Box
        box.body()
        return nil
    }, box)
    pthread_attr_destroy(&attributes)
}

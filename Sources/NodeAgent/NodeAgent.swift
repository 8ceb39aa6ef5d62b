import Logging
import OCIImages
import SwarmAPI

/// The agent on every node: keeps a session with the manager, runs the
/// tasks assigned to this node through their states, reports what it
/// observes, and stops and removes what is no longer assigned. Each task's
/// decisions are its `TaskStateMachine`'s; the agent performs the actions
/// they return with the engine and feeds the outcomes back. It owns no
/// state the containers need: killed and restarted, it finds its
/// containers by their task label and reports their real state.
public actor NodeAgent {
    typealias Job = @Sendable () async -> Void

    let engine: any ContainerEngine
    /// The node's data path for overlay networks; nil: tasks run without
    /// (in an empty namespace or the host's).
    let networking: (any TaskNetworking)?
    let link: any ManagerLink
    let session: @Sendable () -> SessionRequest
    let logger = Logger(label: "swarm.agent")
    var heartbeatPeriod: Int64 = 5_000_000_000
    var tasks: [String: TaskStateMachine] = [:]
    var outbox = StatusOutbox()
    var flushScheduled = false
    /// Work the agent starts (image pulls, starts, stops, removals, exit
    /// watches, status flushes): `run` runs each as a child task, so
    /// cancelling `run` cancels all of it.
    let jobs: AsyncStream<Job>
    let jobQueue: AsyncStream<Job>.Continuation

    /// Where tasks' secrets and configs are written (under the state directory: tmpfs).
    let secretsDirectory: String?

    public init(engine: any ContainerEngine, link: any ManagerLink, networking: (any TaskNetworking)? = nil,
                secretsDirectory: String? = nil, session: @escaping @Sendable () -> SessionRequest) {
        self.secretsDirectory = secretsDirectory
        self.engine = engine
        self.networking = networking
        self.link = link
        self.session = session
        (jobs, jobQueue) = AsyncStream.makeStream()
    }

    /// Runs until the surrounding task is cancelled; once per agent.
    public func run() async {
        await connect()
        await withDiscardingTaskGroup { group in
            group.addTask { await self.heartbeatLoop() }
            group.addTask { await self.assignmentLoop() }
            for await job in jobs { group.addTask(operation: job) }
        }
    }

    func spawn(_ job: @escaping Job) {
        jobQueue.yield(job)
    }

    // MARK: - Assignments

    func assignmentLoop() async {
        var since: UInt64? = nil
        // The node's set as the manager sent it, kept current from its
        // incremental answers.
        var known: [String: SwarmTask] = [:]
        // Once per agent: namespaces of tasks that went while it was away.
        var orphansReleased = false
        while !Task.isCancelled {
            do {
                let answer = try await link.assignments(since: since)
                since = answer.version
                known = answer.applied(to: known)
                // Sandboxes and peers first: a task started by this answer
                // reaches its peers from its first packet.
                if let networks = answer.networks, let networking { await networking.update(networks) }
                let set = Array(known.values)
                // Tasks skipped for a stale listing get another pass now
                // (a few at most: the next version brings one anyway).
                var passes = 1
                while !(await apply(set)) && passes < 4 { passes += 1 }
                if answer.complete && !orphansReleased {
                    orphansReleased = true
                    await releaseOrphans(assigned: Set(known.keys))
                }
            } catch {
                guard !Task.isCancelled else { return }
                logger.warning("assignments: \(error)")
                since = nil
                try? await Task.sleep(for: .seconds(1))
                await connect()
            }
        }
    }

    /// One pass over the manager's set and this node's task containers;
    /// false if a task was skipped (it moved while the engine listed).
    func apply(_ set: [SwarmTask]) async -> Bool {
        let generations = tasks.mapValues(\.generation)
        let listed = await engine.taskContainers()
        // A task that moved while the engine listed is left for the next
        // pass: the listing may predate what it just did.
        let moved = Set(tasks.filter { $0.value.generation != generations[$0.key] }.keys)
        var containers: [String: TaskContainerState] = [:]
        var left: [String: [String]] = [:]
        for container in listed {
            containers[container.taskID] = container
            left[container.taskID, default: []].append(container.id)
        }
        let assigned = Set(set.map(\.id))
        for task in set where !moved.contains(task.id) {
            deliver(task.id, .assigned(task, container: containers[task.id]), create: true)
        }
        for taskID in Set(tasks.keys).union(left.keys) where !assigned.contains(taskID) && !moved.contains(taskID) {
            deliver(taskID, .unassigned(containers: left[taskID] ?? []), create: true)
        }
        for (taskID, machine) in tasks where machine.isIdle && containers[taskID] == nil {
            tasks[taskID] = nil
            // A task whose container never started (or was removed behind
            // the agent's back) may still have a namespace.
            if let networking { spawn { await networking.release(taskID: taskID) } }
        }
        return moved.isEmpty
    }

    /// Releases what the data path has wired for tasks that are neither
    /// assigned nor have a container (removed while the agent was away).
    func releaseOrphans(assigned: Set<String>) async {
        guard let networking else { return }
        let containers = Set(await engine.taskContainers().map(\.taskID))
        for taskID in await networking.wiredTaskIDs() where !assigned.contains(taskID) && !containers.contains(taskID) {
            await networking.release(taskID: taskID)
        }
    }

    /// Hands an event to the task's machine and performs what it returns.
    /// Events for a task forgotten meanwhile (a late exit) are dropped.
    func deliver(_ taskID: String, _ event: TaskStateMachine.Event, create: Bool = false) {
        guard var machine = tasks[taskID] ?? (create ? TaskStateMachine(taskID: taskID) : nil) else { return }
        let actions = machine.handle(event)
        tasks[taskID] = machine
        for action in actions { perform(action, for: taskID) }
    }

    func perform(_ action: TaskStateMachine.Action, for taskID: String) {
        let engine = self.engine
        switch action {
        case let .report(state, message, err, container):
            report(taskID, state, message, err: err, container: container)
        case let .ensureImage(image):
            // The login the service was created with (`--with-registry-auth`), for this pull only.
            let login = tasks[taskID]?.task?.spec.containerSpec?.pullOptions?.registryAuth.flatMap(RegistryAuth.decode)
            spawn {
                let event: TaskStateMachine.Event
                do {
                    try await RegistryAuth.$current.withValue(login) { try await engine.ensureImage(image) }
                    event = .imageReady
                } catch {
                    event = .imageFailed("\(error)")
                }
                await self.deliver(taskID, event)
            }
        case let .startContainer(task):
            let networking = self.networking
            spawn {
                let event: TaskStateMachine.Event
                do {
                    guard networking != nil || (task.networksAttachments ?? []).isEmpty else {
                        throw NetworkingError.noDataPath
                    }
                    let ready = try await self.withSecretFiles(task)
                    let namespace = try await networking?.prepare(task)
                    do {
                        event = .containerStarted(try await engine.run(ready, networkNamespace: namespace))
                    } catch {
                        await networking?.release(taskID: taskID)
                        throw error
                    }
                } catch {
                    self.removeSecretFiles(of: taskID)
                    event = .containerFailedToStart("\(error)")
                }
                await self.deliver(taskID, event)
            }
        case let .watchContainer(containerID):
            spawn {
                let exited = await engine.waitForExit(containerID)
                await self.deliver(taskID, .containerExited(exited))
            }
        case let .watchHealth(containerID):
            spawn { await self.followHealth(taskID, containerID) }
        case let .stopContainer(container, grace):
            spawn {
                var stopped = container
                do {
                    stopped = try await engine.stop(container.id, grace: grace)
                } catch {
                    self.logger.warning("stop failed", metadata: ["task": "\(taskID)", "error": "\(error)"])
                }
                await self.deliver(taskID, .stopFinished(stopped))
            }
        case let .removeContainers(containerIDs):
            let networking = self.networking
            spawn {
                await self.remove(containerIDs, of: taskID)
                await networking?.release(taskID: taskID)
                await self.deliver(taskID, .removalDone)
            }
        case .removeLeftovers:
            let networking = self.networking
            spawn {
                let leftovers = await engine.taskContainers().filter { $0.taskID == taskID }.map(\.id)
                await self.remove(leftovers, of: taskID)
                await networking?.release(taskID: taskID)
                await self.deliver(taskID, .removalDone)
            }
        }
    }

    nonisolated func remove(_ containerIDs: [String], of taskID: String) async {
        removeSecretFiles(of: taskID)
        for containerID in containerIDs {
            do {
                try await engine.remove(containerID)
                logger.debug("container removed", metadata: ["task": "\(taskID)", "container": "\(containerID.prefix(12))"])
            } catch {
                logger.warning("remove failed", metadata: ["task": "\(taskID)", "error": "\(error)"])
            }
        }
    }
}

import SwarmAPI

/// What the agent needs from this node's containers. The real engine is the
/// container runtime (`RuntimeEngine`); unit tests use an in-memory fake.
/// Every method may take time (a start sets up a container, a stop waits
/// out a grace period): none blocks its caller's thread.
public protocol ContainerEngine: Sendable {
    /// Every container that carries a task label, running or not.
    func taskContainers() async -> [TaskContainerState]
    /// Makes sure the image is on this node (pulls it if not).
    func ensureImage(_ reference: String) async throws
    /// Creates and starts the task's container; returns it running.
    func run(_ task: SwarmTask) async throws -> TaskContainerState
    /// The same, in the network namespace at `networkNamespace` (the data
    /// path's, see `TaskNetworking.prepare`); nil: as `run(_:)`.
    func run(_ task: SwarmTask, networkNamespace: String?) async throws -> TaskContainerState
    func inspect(_ containerID: String) async throws -> TaskContainerState
    /// The stop signal, up to `grace` for the exit, then a kill. Returns
    /// the container as it ended; stopping a stopped container is no error.
    func stop(_ containerID: String, grace: Duration) async throws -> TaskContainerState
    /// Removes the container, killing it first if it runs.
    func remove(_ containerID: String) async throws
    /// Returns once the container has exited, with its final state; nil if
    /// it is gone or the waiting task was cancelled.
    func waitForExit(_ containerID: String) async -> TaskContainerState?
}

extension ContainerEngine {
    /// For engines without network namespaces (the tests' fakes): a
    /// namespace asked for is an error, never silently dropped.
    public func run(_ task: SwarmTask, networkNamespace: String?) async throws -> TaskContainerState {
        guard networkNamespace == nil else {
            throw EngineError.networkNamespaceUnsupported
        }
        return try await run(task)
    }
}

public enum EngineError: Error, CustomStringConvertible {
    case networkNamespaceUnsupported
    public var description: String { "this engine cannot run a container in a given network namespace" }
}

/// A task's container as the agent sees it: enough to report and decide.
public struct TaskContainerState: Equatable, Sendable {
    public enum Status: Sendable {
        /// Set up, never started (or failed before its process ran).
        case created
        case running
        case exited
        /// Its monitor died without recording an exit.
        case dead
    }

    public var id: String
    public var taskID: String
    public var status: Status
    /// The first process's pid while it runs.
    public var pid: Int32
    public var exitCode: Int32?
    /// The health check's verdict; nil when the container has no check.
    public var health: Health?

    public enum Health: String, Sendable { case starting, healthy, unhealthy }

    public init(id: String, taskID: String, status: Status, pid: Int32 = 0, exitCode: Int32? = nil, health: Health? = nil) {
        self.id = id; self.taskID = taskID; self.status = status; self.pid = pid; self.exitCode = exitCode; self.health = health
    }

    public var isRunning: Bool { status == .running }

    /// What the manager stores: the pid only while it runs.
    var reported: SwarmAPI.ContainerStatus {
        SwarmAPI.ContainerStatus(containerID: id, pid: isRunning ? pid : 0, exitCode: exitCode)
    }
}

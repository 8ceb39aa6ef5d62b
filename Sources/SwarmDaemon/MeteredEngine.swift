import CoreMetrics
import NodeAgent
import SwarmAPI

/// The agent's container engine with its starts counted and timed (from
/// the call to a running container, image already there); everything else
/// passes through.
struct MeteredEngine: ContainerEngine {
    static let starts = "swarm_agent_container_starts_total"
    static let startLatency = "swarm_agent_container_start_seconds"

    let engine: any ContainerEngine
    let factory: any MetricsFactory

    func taskContainers() async -> [TaskContainerState] { await engine.taskContainers() }
    func ensureImage(_ reference: String) async throws { try await engine.ensureImage(reference) }

    func run(_ task: SwarmTask) async throws -> TaskContainerState {
        try await run(task, networkNamespace: nil)
    }

    func run(_ task: SwarmTask, networkNamespace: String?) async throws -> TaskContainerState {
        let start = ContinuousClock.now
        do {
            let container = try await engine.run(task, networkNamespace: networkNamespace)
            Timer(label: Self.startLatency, dimensions: [], factory: factory)
                .recordNanoseconds(Int64((ContinuousClock.now - start) / .nanoseconds(1)))
            Counter(label: Self.starts, dimensions: [("result", "started")], factory: factory).increment()
            return container
        } catch {
            Counter(label: Self.starts, dimensions: [("result", "failed")], factory: factory).increment()
            throw error
        }
    }

    func inspect(_ containerID: String) async throws -> TaskContainerState { try await engine.inspect(containerID) }
    func stop(_ containerID: String, grace: Duration) async throws -> TaskContainerState {
        try await engine.stop(containerID, grace: grace)
    }
    func remove(_ containerID: String) async throws { try await engine.remove(containerID) }
    func waitForExit(_ containerID: String) async -> TaskContainerState? { await engine.waitForExit(containerID) }
}

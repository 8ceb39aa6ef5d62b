@testable import NodeAgent
import SwarmAPI
import Testing

struct TimedOut: Error, CustomStringConvertible {
    var description: String
}

/// Checks `condition` until it holds; records an issue and throws after
/// `timeout` (a bound for a loaded machine, not a pace: the check repeats
/// every few milliseconds). The bound is long because on a 2-core machine
/// the privileged tests, run in the same process, can hold both threads of
/// the concurrency pool for a minute (they block in synchronous waits).
func eventually(_ what: String, timeout: Duration = .seconds(120), _ condition: () async -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !(await condition()) {
        guard ContinuousClock.now < deadline else {
            Issue.record("timed out waiting until \(what)")
            throw TimedOut(description: what)
        }
        try await Task.sleep(for: .milliseconds(2))
    }
}

/// A task as the manager hands it to a node.
func makeTask(_ id: String, image: String = "busybox", state: TaskState = .assigned, desired: TaskState = .running,
              stopGracePeriod: Int64? = nil) -> SwarmTask {
    var container = SwarmAPI.ContainerSpec(image: image)
    container.stopGracePeriod = stopGracePeriod
    return SwarmTask(id: id, version: ObjectVersion(index: 1), createdAt: .zero, spec: TaskSpec(containerSpec: container),
                     serviceID: "service-1", slot: 1, nodeID: "node-1",
                     status: TaskStatus(timestamp: .zero, state: state, message: state.name), desiredState: desired,
                     specIndex: 1, serviceName: "web")
}

/// Runs an agent on the fakes for the body, then cancels it and checks
/// that `run` returns (cancelling it ends all it started).
func withAgent(engine: any ContainerEngine, link: FakeManagerLink, networking: (any TaskNetworking)? = nil,
               _ body: (NodeAgent) async throws -> Void) async throws {
    let agent = NodeAgent(engine: engine, link: link, networking: networking) {
        SessionRequest(description: NodeDescription(hostname: "node-1", platform: Platform(architecture: "x86_64", os: "linux"),
                                                    resources: SwarmAPI.Resources(nanoCPUs: 1_000_000_000, memoryBytes: 1 << 30),
                                                    engine: EngineDescription(engineVersion: "test"), cgroupControllers: []),
                       addr: "127.0.0.1:2377")
    }
    let running = Task { await agent.run() }
    do {
        try await body(agent)
    } catch {
        running.cancel()
        await running.value
        throw error
    }
    running.cancel()
    await running.value
}

import ClusterStore
import Foundation
import Testing
@testable import Manager
import SwarmAPI

/// A manager on a temporary store with simulated nodes that report every
/// assigned task running (no containers): the orchestrator and scheduler
/// for real, the agents simulated.
final class ClusterFixture: @unchecked Sendable {
    let directory: String
    let manager: ClusterManager
    let store: SQLiteStore
    var clock: TestClock
    /// The components' loops; the timers are the tests' to call (`tick`).
    private var leader: Task<Void, Never>?

    final class TestClock: @unchecked Sendable {
        var now = Timestamp(nanoseconds: 1_700_000_000_000_000_000)
        func advance(seconds: Double) { now = now.adding(nanoseconds: Int64(seconds * 1e9)) }
    }

    /// `hostRoutes`: the manager host's routes as the allocator sees them (none by default: tests do not depend on this machine's).
    init(nodes count: Int, heartbeatPeriod: Int64 = 5_000_000_000, hostRoutes: [String] = []) async throws {
        directory = try TemporaryDirectories.make("swarm-test-manager")
        let store = try SQLiteStore(path: directory + "/state.db")
        self.store = store
        let clock = TestClock()
        self.clock = clock
        try await ClusterManager.bootstrap(store: store, clusterID: newObjectID(), nodeID: "node1", hostname: "host1", addr: "10.0.0.1:2377",
                                     tokens: JoinTokens(worker: "w", manager: "m"), heartbeatPeriod: heartbeatPeriod)
        let manager = try await ClusterManager(store: store, nodeID: "node1", clock: { clock.now }, hostRoutes: { hostRoutes })
        self.manager = manager
        leader = Task { await manager.run(tickInterval: nil) }
        for index in 2...max(count, 2) where index <= count {
            _ = try await manager.admit(nodeID: "node\(index)", role: .worker, hostname: "host\(index)", addr: "10.0.0.\(index):0")
        }
        for index in 1...count { try await connect("node\(index)") }
    }

    deinit {
        leader?.cancel()
        try? FileManager.default.removeItem(atPath: directory)
    }

    static func description(_ name: String, labels: [String: String] = [:]) -> NodeDescription {
        NodeDescription(hostname: name, platform: Platform(architecture: "x86_64", os: "linux"),
                        resources: Resources(nanoCPUs: 2_000_000_000, memoryBytes: 4 << 30),
                        engine: EngineDescription(engineVersion: "test"), cgroupControllers: ["cpu", "memory", "pids"])
    }

    func connect(_ node: String) async throws {
        _ = try await manager.openSession(nodeID: node, SessionRequest(description: Self.description(node.replacingOccurrences(of: "node", with: "host")), addr: "10.0.0.1"))
    }

    /// Lets the components act until nothing changes, has every node
    /// report its assigned tasks running and its stopped tasks shut down,
    /// and so on until a round changes nothing. A cluster still changing
    /// after 20 rounds is a failure, not a result.
    /// `failing`: tasks the simulated agents report failed instead of running.
    func settle(agentsRun: Bool = true, failing: (SwarmTask) -> Bool = { _ in false },
                sourceLocation: SourceLocation = #_sourceLocation) async throws {
        for _ in 0..<20 {
            let before = await store.index
            try await manager.settle()
            // The timers, as the manager's loop runs them (the clock stands still: only what is due now).
            await manager.tick()
            try await manager.settle()
            if agentsRun {
                for node in await manager.allNodes() where node.status.state == .ready {
                    let set = try await manager.assignments(nodeID: node.id, since: nil)
                    var updates: [StatusUpdate] = []
                    for task in set.tasks {
                        if task.desiredState == .running && task.status.state < .running && failing(task) {
                            updates.append(StatusUpdate(taskID: task.id, status: TaskStatus(timestamp: clock.now, state: .failed, message: "started",
                                                                                           err: "task: non-zero exit (1)")))
                        } else if task.desiredState == .running && task.status.state < .running {
                            updates.append(StatusUpdate(taskID: task.id, status: TaskStatus(timestamp: clock.now, state: .running, message: "started")))
                        } else if task.desiredState > .running && !task.status.state.isTerminal {
                            updates.append(StatusUpdate(taskID: task.id, status: TaskStatus(timestamp: clock.now, state: .shutdown, message: "shutdown")))
                        }
                    }
                    if !updates.isEmpty { try await manager.reportStatus(nodeID: node.id, StatusBatch(updates: updates)) }
                }
            }
            try await manager.settle()
            if await store.index == before { return }
        }
        Issue.record("the cluster did not settle in 20 rounds", sourceLocation: sourceLocation)
        throw SettleError()
    }

    struct SettleError: Error {}

    func running(_ service: String) async -> [SwarmTask] {
        await manager.allTasks().filter { $0.serviceID == service && $0.status.state == .running && $0.desiredState == .running }
    }

    func perNode(_ service: String) async -> [String: Int] {
        var counts: [String: Int] = [:]
        for task in await running(service) { counts[task.nodeID!, default: 0] += 1 }
        return counts
    }

    static func spec(_ name: String, replicas: UInt64 = 1, global: Bool = false, constraints: [String]? = nil) -> ServiceSpec {
        var template = TaskSpec(containerSpec: SwarmAPI.ContainerSpec(image: "busybox"))
        template.placement = Placement(constraints: constraints)
        return ServiceSpec(name: name, taskTemplate: template, mode: global ? ServiceMode(global: .init()) : .replicas(replicas))
    }
}

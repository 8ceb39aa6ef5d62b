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
    var clock: TestClock

    final class TestClock: @unchecked Sendable {
        var now = Timestamp(nanoseconds: 1_700_000_000_000_000_000)
        func advance(seconds: Double) { now = now.adding(nanoseconds: Int64(seconds * 1e9)) }
    }

    init(nodes count: Int, heartbeatPeriod: Int64 = 5_000_000_000) async throws {
        directory = NSTemporaryDirectory() + "swarm-test-manager-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let store = try Store(path: directory + "/state.db")
        let clock = TestClock()
        self.clock = clock
        try ClusterManager.bootstrap(store: store, clusterID: newObjectID(), nodeID: "node1", hostname: "host1", addr: "10.0.0.1:2377",
                                     tokens: JoinTokens(worker: "w", manager: "m"), heartbeatPeriod: heartbeatPeriod)
        manager = try ClusterManager(store: store, nodeID: "node1", clock: { clock.now })
        for index in 2...max(count, 2) where index <= count {
            _ = try await manager.admit(nodeID: "node\(index)", role: .worker, hostname: "host\(index)", addr: "10.0.0.\(index):0")
        }
        for index in 1...count { try await connect("node\(index)") }
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    static func description(_ name: String, labels: [String: String] = [:]) -> NodeDescription {
        NodeDescription(hostname: name, platform: Platform(architecture: "x86_64", os: "linux"),
                        resources: Resources(nanoCPUs: 2_000_000_000, memoryBytes: 4 << 30),
                        engine: EngineDescription(engineVersion: "test"), cgroupControllers: ["cpu", "memory", "pids"])
    }

    func connect(_ node: String) async throws {
        _ = try await manager.openSession(nodeID: node, SessionRequest(description: Self.description(node.replacingOccurrences(of: "node", with: "host")), addr: "10.0.0.1"))
    }

    /// Runs reconcile passes until nothing changes, then has every node
    /// report its assigned tasks running and its stopped tasks shut down.
    func settle(agentsRun: Bool = true) async throws {
        for _ in 0..<20 {
            let before = await manager.store.index
            await manager.reconcileNow()
            if agentsRun {
                for node in await manager.allNodes() where node.status.state == .ready {
                    let set = try await manager.assignments(nodeID: node.id, since: nil)
                    var updates: [StatusUpdate] = []
                    for task in set.tasks {
                        if task.desiredState == .running && task.status.state < .running {
                            updates.append(StatusUpdate(taskID: task.id, status: TaskStatus(timestamp: clock.now, state: .running, message: "started")))
                        } else if task.desiredState > .running && !task.status.state.isTerminal {
                            updates.append(StatusUpdate(taskID: task.id, status: TaskStatus(timestamp: clock.now, state: .shutdown, message: "shutdown")))
                        }
                    }
                    if !updates.isEmpty { try await manager.reportStatus(nodeID: node.id, StatusBatch(updates: updates)) }
                }
            }
            await manager.reconcileNow()
            if await manager.store.index == before { return }
        }
    }

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

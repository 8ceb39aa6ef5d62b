import ClusterStore
import Foundation
import Manager
@testable import NodeAgent
import SwarmAPI
import Testing

/// A manager and real agents in one process, linked by
/// `InProcessManagerLink`, each agent on a fake engine: the whole path of
/// a task (orchestrator, allocator, scheduler, dispatcher, agent, engine,
/// reports) without root, HTTP or containers.
struct InProcessClusterTests {
    struct Cluster {
        let manager: ClusterManager
        let engines: [String: FakeEngine]
    }

    func withCluster(nodes: Int, _ body: (Cluster) async throws -> Void) async throws {
        let directory = NSTemporaryDirectory() + "swarm-test-inprocess-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteStore(path: directory + "/state.db")
        try await ClusterManager.bootstrap(store: store, clusterID: "cluster", nodeID: "node1", hostname: "host1", addr: "10.0.0.1:2377",
                                           tokens: JoinTokens(worker: "w", manager: "m"), heartbeatPeriod: 5_000_000_000)
        let manager = try await ClusterManager(store: store, nodeID: "node1")
        for index in 2...nodes {
            _ = try await manager.admit(nodeID: "node\(index)", role: .worker, hostname: "host\(index)", addr: "10.0.0.\(index):0")
        }
        var engines: [String: FakeEngine] = [:]
        var running: [Task<Void, Never>] = [Task { await manager.run() }]
        for index in 1...nodes {
            let id = "node\(index)", engine = FakeEngine()
            engines[id] = engine
            let agent = NodeAgent(engine: engine, link: InProcessManagerLink(manager: manager, nodeID: id)) {
                SessionRequest(description: NodeDescription(hostname: "host\(index)", platform: Platform(architecture: "x86_64", os: "linux"),
                                                            resources: SwarmAPI.Resources(nanoCPUs: 2_000_000_000, memoryBytes: 4 << 30),
                                                            engine: EngineDescription(engineVersion: "test"), cgroupControllers: []),
                               addr: "10.0.0.\(index)")
            }
            running.append(Task { await agent.run() })
        }
        do {
            try await body(Cluster(manager: manager, engines: engines))
        } catch {
            for task in running { task.cancel() }
            for task in running { await task.value }
            throw error
        }
        for task in running { task.cancel() }
        for task in running { await task.value }
    }

    func running(_ manager: ClusterManager, _ service: String) async -> [SwarmTask] {
        await manager.allTasks().filter { $0.serviceID == service && $0.desiredState == .running && $0.status.state == .running }
    }

    func runningContainers(_ cluster: Cluster) async -> [String: Int] {
        var counts: [String: Int] = [:]
        for (node, engine) in cluster.engines { counts[node] = await engine.containers.filter(\.isRunning).count }
        return counts
    }

    @Test func aServiceRunsOnEveryNodeAndFollowsItsSpec() async throws {
        try await withCluster(nodes: 3) { cluster in
            let manager = cluster.manager
            var template = TaskSpec(containerSpec: SwarmAPI.ContainerSpec(image: "busybox"))
            template.restartPolicy = RestartPolicy(condition: .any, delay: 0)
            var spec = ServiceSpec(name: "web", taskTemplate: template, mode: .replicas(6))
            let service = try await manager.createService(spec)
            try await eventually("6 tasks run, 2 on each node") {
                let tasks = await running(manager, service.id), containers = await runningContainers(cluster)
                return tasks.count == 6 && containers.values.sorted() == [2, 2, 2]
            }

            // A container exits 1: its task fails and the orchestrator replaces it, on some node.
            let victim = try #require(await running(manager, service.id).first)
            await cluster.engines[victim.nodeID!]!.exit(task: victim.id, code: 1)
            try await eventually("the failed task is replaced") {
                let failed = await manager.allTasks().first { $0.id == victim.id }
                let tasks = await running(manager, service.id)
                return failed?.status.state == .failed && failed?.status.containerStatus?.exitCode == 1
                    && tasks.count == 6 && !tasks.contains { $0.id == victim.id }
            }

            // Scaled down: the agents stop and remove the containers of the tasks taken away.
            let current = try #require(await manager.allServices().first { $0.id == service.id })
            spec.mode = .replicas(2)
            _ = try await manager.updateService(service.id, version: current.version.index, spec: spec)
            try await eventually("2 containers are left running") {
                let tasks = await running(manager, service.id), containers = await runningContainers(cluster)
                return tasks.count == 2 && containers.values.reduce(0, +) == 2
            }
        }
    }
}

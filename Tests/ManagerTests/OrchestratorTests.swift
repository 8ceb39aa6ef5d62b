import ClusterStore
import Testing
@testable import Manager
import SwarmAPI

struct OrchestratorTests {
    @Test func replicasSpreadEvenly() async throws {
        let cluster = try await ClusterFixture(nodes: 3)
        let service = try await cluster.manager.createService(ClusterFixture.spec("web", replicas: 6))
        try await cluster.settle()
        #expect(await cluster.perNode(service.id).values.sorted() == [2, 2, 2])
        #expect(Set(await cluster.running(service.id).map { $0.slot! }) == Set(1...6))
    }

    @Test func scaleUpAndDown() async throws {
        let cluster = try await ClusterFixture(nodes: 3)
        var service = try await cluster.manager.createService(ClusterFixture.spec("web", replicas: 6))
        try await cluster.settle()
        var spec = service.spec
        spec.mode = .replicas(9)
        service = try await cluster.manager.updateService(service.id, version: service.version.index, spec: spec)
        try await cluster.settle()
        #expect(await cluster.perNode(service.id).values.sorted() == [3, 3, 3])
        spec.mode = .replicas(1)
        _ = try await cluster.manager.updateService(service.id, version: service.version.index, spec: spec)
        try await cluster.settle()
        #expect(await cluster.running(service.id).map(\.slot) == [1])
        // Scaled-away tasks are gone once shut down, not kept as history.
        #expect(await cluster.manager.allTasks().filter { $0.serviceID == service.id }.count == 1)
    }

    @Test func staleVersionIsRefusedAndChangesNothing() async throws {
        let cluster = try await ClusterFixture(nodes: 1)
        let service = try await cluster.manager.createService(ClusterFixture.spec("web", replicas: 1))
        var spec = service.spec
        spec.mode = .replicas(3)
        _ = try await cluster.manager.updateService(service.id, version: service.version.index, spec: spec)
        spec.mode = .replicas(5)
        await #expect(throws: APIError.self) {
            _ = try await cluster.manager.updateService(service.id, version: service.version.index, spec: spec)
        }
        #expect(try await cluster.manager.service("web").spec.mode.replicated?.replicas == 3)
    }

    @Test func concurrentCreatesOfOneNameMakeOneService() async throws {
        let cluster = try await ClusterFixture(nodes: 1)
        let manager = cluster.manager
        let created = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 {
                group.addTask { (try? await manager.createService(ClusterFixture.spec("web"))) != nil }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(created == 1)
        #expect(await manager.allServices().count == 1)
    }

    @Test func globalServiceFollowsNodesAndDrain() async throws {
        let cluster = try await ClusterFixture(nodes: 3)
        let service = try await cluster.manager.createService(ClusterFixture.spec("agent", global: true))
        try await cluster.settle()
        #expect(await cluster.perNode(service.id) == ["node1": 1, "node2": 1, "node3": 1])
        let node = try await cluster.manager.node("node2")
        var spec = node.spec
        spec.availability = .drain
        try await cluster.manager.updateNode("node2", version: node.version.index, spec: spec)
        try await cluster.settle()
        #expect(await cluster.perNode(service.id) == ["node1": 1, "node3": 1])
    }

    /// The orchestrator skips assignments to usable nodes; one that lands
    /// on a node that went down meanwhile (a scheduler acting on a stale
    /// view) must still be seen and the task run elsewhere.
    @Test func anAssignmentToANodeThatWentDownIsReplaced() async throws {
        let cluster = try await ClusterFixture(nodes: 2)
        let service = try await cluster.manager.createService(ClusterFixture.spec("web", replicas: 1, constraints: ["node.labels.zone==x"]))
        try await cluster.settle()
        let task = try #require(await cluster.manager.allTasks().first { $0.serviceID == service.id })
        #expect(task.nodeID == nil && task.status.state == .pending)
        var down = StoreBatch(now: cluster.clock.now)
        down.update(Node.self, id: "node2") { node, _ in node.status.state = .down; return true }
        try await cluster.store.commit(down)
        try await cluster.settle()
        var assign = StoreBatch(now: cluster.clock.now)
        assign.update(SwarmTask.self, id: task.id) { task, _ in
            task.nodeID = "node2"
            task.status = TaskStatus(timestamp: cluster.clock.now, state: .assigned, message: "scheduler assigned task to node")
            return true
        }
        try await cluster.store.commit(assign)
        try await cluster.settle(agentsRun: false)
        let tasks = await cluster.manager.allTasks().filter { $0.serviceID == service.id }
        #expect(tasks.first { $0.id == task.id }?.desiredState == .shutdown)
        #expect(tasks.contains { $0.id != task.id && $0.desiredState == .running && $0.slot == 1 })
    }

    @Test func constraintPlacesOnOneNodeOrExplainsWhyNot() async throws {
        let cluster = try await ClusterFixture(nodes: 3)
        let pinned = try await cluster.manager.createService(ClusterFixture.spec("pinned", replicas: 3, constraints: ["node.hostname==host2"]))
        let nowhere = try await cluster.manager.createService(ClusterFixture.spec("nowhere", replicas: 1, constraints: ["node.labels.zone==x"]))
        try await cluster.settle()
        #expect(await cluster.perNode(pinned.id) == ["node2": 3])
        let pending = await cluster.manager.allTasks().filter { $0.serviceID == nowhere.id }
        #expect(pending.map(\.status.state) == [.pending])
        #expect(pending.first?.status.err == "no suitable node (scheduling constraints not satisfied on 3 nodes)")
    }

    @Test func maxReplicasPerNodeAndReservations() async throws {
        let cluster = try await ClusterFixture(nodes: 2)
        var spec = ClusterFixture.spec("limited", replicas: 3)
        spec.taskTemplate.placement?.maxReplicas = 1
        let limited = try await cluster.manager.createService(spec)
        var big = ClusterFixture.spec("big", replicas: 1)
        big.taskTemplate.resources = ResourceRequirements(reservations: Resources(memoryBytes: 100 << 30))
        let tooBig = try await cluster.manager.createService(big)
        try await cluster.settle()
        #expect(await cluster.running(limited.id).count == 2)
        let waiting = await cluster.manager.allTasks().filter { $0.serviceID == limited.id && $0.status.state == .pending }
        #expect(waiting.first?.status.err == "no suitable node (max replicas per node limit exceed)")
        let bigTask = await cluster.manager.allTasks().first { $0.serviceID == tooBig.id }
        #expect(bigTask?.status.err == "no suitable node (insufficient resources on 2 nodes)")
    }

    @Test func failedTaskIsReplacedAfterTheDelayKeepingHistory() async throws {
        let cluster = try await ClusterFixture(nodes: 1)
        var spec = ClusterFixture.spec("flaky", replicas: 1)
        spec.taskTemplate.restartPolicy = RestartPolicy(condition: .any, delay: 2_000_000_000)
        let service = try await cluster.manager.createService(spec)
        try await cluster.settle()
        let first = try #require(await cluster.running(service.id).first)
        try await cluster.manager.reportStatus(nodeID: "node1", StatusBatch(updates: [StatusUpdate(taskID: first.id, status: TaskStatus(
            timestamp: cluster.clock.now, state: .failed, message: "started", err: "task: non-zero exit (1)"))]))
        try await cluster.settle()
        let replacement = try #require(await cluster.manager.allTasks().first { $0.id != first.id })
        #expect(replacement.slot == 1)
        #expect(replacement.desiredState == .ready)   // waiting out the delay
        cluster.clock.advance(seconds: 2.1)
        await cluster.manager.tick()
        try await cluster.settle()
        #expect(await cluster.running(service.id).map(\.id) == [replacement.id])
        #expect(try await cluster.manager.task(first.id).desiredState == .shutdown)
    }

    /// A failure is handled by a look at its slot alone: the slot gets its
    /// replacement and keeps 5 tasks of history; the other slots are untouched.
    @Test func repeatedFailuresOfOneSlotKeepItsHistoryAndLeaveTheOthers() async throws {
        let cluster = try await ClusterFixture(nodes: 2)
        var spec = ClusterFixture.spec("flaky", replicas: 3)
        spec.taskTemplate.restartPolicy = RestartPolicy(condition: .any, delay: 0)
        let service = try await cluster.manager.createService(spec)
        try await cluster.settle()
        let others = await cluster.running(service.id).filter { $0.slot != 2 }
        for _ in 0..<7 {
            let task = try #require(await cluster.running(service.id).first { $0.slot == 2 })
            try await cluster.manager.reportStatus(nodeID: task.nodeID!, StatusBatch(updates: [StatusUpdate(taskID: task.id, status: TaskStatus(
                timestamp: cluster.clock.now, state: .failed, message: "started", err: "task: non-zero exit (1)"))]))
            try await cluster.settle()
        }
        let tasks = await cluster.manager.allTasks().filter { $0.serviceID == service.id }
        #expect(tasks.filter { $0.slot == 2 }.count == 5)
        #expect(await cluster.running(service.id).compactMap(\.slot).sorted() == [1, 2, 3])
        for task in others { #expect(try await cluster.manager.task(task.id).version == task.version) }
    }

    @Test func restartConditionAndMaxAttempts() async throws {
        let cluster = try await ClusterFixture(nodes: 1)
        var spec = ClusterFixture.spec("once", replicas: 1)
        spec.taskTemplate.restartPolicy = RestartPolicy(condition: .onFailure, delay: 0)
        let once = try await cluster.manager.createService(spec)
        spec.name = "limited"
        spec.taskTemplate.restartPolicy = RestartPolicy(condition: .any, delay: 0, maxAttempts: 2)
        let limited = try await cluster.manager.createService(spec)
        try await cluster.settle()
        // Exit 0 with on-failure: not restarted.
        let done = try #require(await cluster.running(once.id).first)
        try await cluster.manager.reportStatus(nodeID: "node1", StatusBatch(updates: [StatusUpdate(taskID: done.id, status: TaskStatus(
            timestamp: cluster.clock.now, state: .complete, message: "finished"))]))
        try await cluster.settle()
        #expect(await cluster.manager.allTasks().filter { $0.serviceID == once.id }.count == 1)
        // Fails three times: two restarts, then it stays down.
        for _ in 0..<3 {
            guard let task = await cluster.running(limited.id).first else { break }
            try await cluster.manager.reportStatus(nodeID: "node1", StatusBatch(updates: [StatusUpdate(taskID: task.id, status: TaskStatus(
                timestamp: cluster.clock.now, state: .failed, message: "started", err: "task: non-zero exit (1)"))]))
            try await cluster.settle()
        }
        #expect(await cluster.manager.allTasks().filter { $0.serviceID == limited.id }.count == 3)
        #expect(await cluster.running(limited.id).isEmpty)
    }

    @Test func downNodeTasksMoveElsewhere() async throws {
        let cluster = try await ClusterFixture(nodes: 3)
        let service = try await cluster.manager.createService(ClusterFixture.spec("web", replicas: 6))
        try await cluster.settle()
        // Everyone but node3 keeps sending heartbeats.
        cluster.clock.advance(seconds: 11)
        _ = try await cluster.manager.heartbeat(nodeID: "node1")
        _ = try await cluster.manager.heartbeat(nodeID: "node2")
        await cluster.manager.tick()
        try await cluster.settle()
        #expect(try await cluster.manager.node("node3").status.state == .down)
        #expect(await cluster.perNode(service.id) == ["node1": 3, "node2": 3])
    }

    @Test func statusOnlyFromTheTasksNodeAndOnlyForward() async throws {
        let cluster = try await ClusterFixture(nodes: 2)
        let service = try await cluster.manager.createService(ClusterFixture.spec("web", replicas: 1))
        try await cluster.settle()
        let task = try #require(await cluster.running(service.id).first)
        let other = task.nodeID == "node1" ? "node2" : "node1"
        try await cluster.manager.reportStatus(nodeID: other, StatusBatch(updates: [StatusUpdate(taskID: task.id, status: TaskStatus(
            timestamp: cluster.clock.now, state: .failed, message: "lies"))]))
        try await cluster.manager.reportStatus(nodeID: task.nodeID!, StatusBatch(updates: [StatusUpdate(taskID: task.id, status: TaskStatus(
            timestamp: cluster.clock.now, state: .starting, message: "backwards"))]))
        #expect(try await cluster.manager.task(task.id).status.state == .running)
    }

    @Test func storeKeepsEverythingAcrossARestart() async throws {
        let cluster = try await ClusterFixture(nodes: 2)
        let service = try await cluster.manager.createService(ClusterFixture.spec("web", replicas: 4))
        try await cluster.settle()
        let before = await cluster.manager.allTasks().sorted { $0.id < $1.id }
        let reopened = try await ClusterManager(store: try SQLiteStore(path: cluster.directory + "/state.db"), nodeID: "node1")
        #expect(await reopened.allTasks().sorted { $0.id < $1.id } == before)
        #expect(try await reopened.service(service.id).version == (try await cluster.manager.service(service.id).version))
    }
}

struct StoreTests {
    @Test func aRejectedUpdateLeavesTheIndexAndTheObjectUnchanged() async throws {
        let cluster = try await ClusterFixture(nodes: 1)
        let service = try await cluster.manager.createService(ClusterFixture.spec("web", replicas: 1))
        try await cluster.settle()
        var spec = service.spec
        spec.mode = .replicas(2)
        let updated = try await cluster.manager.updateService(service.id, version: service.version.index, spec: spec)
        try await cluster.settle()
        let before = await cluster.store.index
        spec.mode = .replicas(5)
        await #expect(throws: APIError.self) {
            _ = try await cluster.manager.updateService(service.id, version: service.version.index, spec: spec)
        }
        #expect(await cluster.store.index == before)
        #expect(try await cluster.manager.service(service.id) == updated)
        // A deletion is a change: it moves the index.
        try await cluster.manager.removeService(service.id)
        #expect(await cluster.store.index > before)
    }
}

struct RollingUpdateTests {
    @Test func aTemplateChangeReplacesTasksOneAtATimeThenCompletes() async throws {
        let cluster = try await ClusterFixture(nodes: 2)
        let service = try await cluster.manager.createService(ClusterFixture.spec("web", replicas: 3))
        try await cluster.settle()
        let old = Set(await cluster.running(service.id).map(\.id))
        var spec = service.spec
        spec.taskTemplate.containerSpec?.env = ["A=B"]
        let updated = try await cluster.manager.updateService(service.id, version: service.version.index, spec: spec)
        #expect(updated.updateStatus?.state == "updating")
        // One pass without agents: only one slot is being replaced (parallelism 1).
        try await cluster.settle(agentsRun: false)
        let fresh = await cluster.manager.allTasks().filter { $0.serviceID == service.id && $0.specIndex == updated.specIndex }
        #expect(fresh.count == 1)
        try await cluster.settle()
        let now = await cluster.running(service.id)
        #expect(now.count == 3 && Set(now.map(\.id)).isDisjoint(with: old))
        #expect(now.allSatisfy { $0.spec.containerSpec?.env == ["A=B"] })
        // Done once the last replacement has run for the monitor period (5 s).
        #expect(try await cluster.manager.service(service.id).updateStatus?.state == "updating")
        cluster.clock.advance(seconds: 5.1)
        await cluster.manager.tick()
        try await cluster.settle()
        let done = try await cluster.manager.service(service.id)
        #expect(done.updateStatus?.state == "completed" && done.updateStatus?.message == "update completed")
        #expect(done.previousSpec == service.spec)
        // A scale is not a template change: no task is replaced.
        var scaled = done.spec
        scaled.mode = .replicas(4)
        _ = try await cluster.manager.updateService(service.id, version: done.version.index, spec: scaled)
        try await cluster.settle()
        #expect(Set(now.map(\.id)).isSubset(of: Set(await cluster.running(service.id).map(\.id))))
    }
}

struct ControllerFilterTests {
    @Test func limitsGoOnlyWhereTheirControllersAre() async throws {
        let cluster = try await ClusterFixture(nodes: 2)
        var bare = ClusterFixture.description("host2")
        bare.cgroupControllers = ["hugetlb"]   // like this CI host: cpu, memory, pids bound to cgroup v1
        _ = try await cluster.manager.openSession(nodeID: "node2", SessionRequest(description: bare, addr: "10.0.0.2"))
        var spec = ClusterFixture.spec("limited", replicas: 2)
        spec.taskTemplate.resources = ResourceRequirements(limits: Limits(memoryBytes: 64 << 20))
        let limited = try await cluster.manager.createService(spec)
        let plain = try await cluster.manager.createService(ClusterFixture.spec("plain", replicas: 2))
        try await cluster.settle()
        #expect(await cluster.perNode(limited.id) == ["node1": 2])
        #expect(await cluster.perNode(plain.id) == ["node1": 1, "node2": 1])
    }
}

import ClusterStore
import Foundation
import Testing
@testable import Manager
import SwarmAPI

/// Each component alone, on the real SQLite store and its watch: objects
/// are committed as another component (or the API) would, and the test
/// reads back what the component committed.
final class StoreFixture: @unchecked Sendable {
    let directory: String
    let store: SQLiteStore
    let now = Timestamp(nanoseconds: 1_700_000_000_000_000_000)
    private var loops: [Task<Void, Never>] = []

    init() async throws {
        directory = try TemporaryDirectories.make("swarm-test-component")
        store = try SQLiteStore(path: directory + "/state.db")
        try await ClusterManager.bootstrap(store: store, clusterID: "cluster", nodeID: "node1", hostname: "host1", addr: "10.0.0.1:2377",
                                           tokens: JoinTokens(worker: "w", manager: "m"), heartbeatPeriod: 5_000_000_000)
    }

    deinit {
        for loop in loops { loop.cancel() }
        try? FileManager.default.removeItem(atPath: directory)
    }

    func start(_ loop: @escaping @Sendable () async -> Void) { loops.append(Task { await loop() }) }

    func commit(_ build: (inout StoreBatch) -> Void) async throws {
        var batch = StoreBatch(now: now)
        build(&batch)
        try await store.commit(batch)
    }

    /// Nodes 2…count as workers, every node ready.
    func readyNodes(_ count: Int, labels: [String: String] = [:]) async throws {
        try await commit { batch in
            for index in 2...max(count, 2) where index <= count {
                batch.put(ClusterManager.newNode(id: "node\(index)", role: .worker, hostname: "host\(index)", addr: "10.0.0.\(index):0", now: now))
            }
        }
        try await commit { batch in
            for index in 1...count {
                batch.update(Node.self, id: "node\(index)") { node, _ in
                    node.description = ClusterFixture.description("host\(index)")
                    node.status.state = .ready
                    return true
                }
            }
        }
    }

    func task(_ id: String, service: String = "svc", slot: Int? = 1, node: String? = nil, state: TaskState,
              spec: TaskSpec = TaskSpec(containerSpec: ContainerSpec(image: "busybox"))) -> SwarmTask {
        SwarmTask(id: id, version: ObjectVersion(index: 0), createdAt: now, spec: spec, serviceID: service, slot: slot, nodeID: node,
                  status: TaskStatus(timestamp: now, state: state, message: state.name), desiredState: .running, specIndex: 1, serviceName: service)
    }

    func tasks() async -> [String: SwarmTask] {
        Dictionary(uniqueKeysWithValues: await store.all(SwarmTask.self).map { ($0.id, $0) })
    }
}

struct AllocatorTests {
    @Test func movesNewTasksToPendingAndNothingElse() async throws {
        let fixture = try await StoreFixture()
        let allocator = Allocator(store: fixture.store, clock: { fixture.now })
        try await fixture.commit { batch in batch.put(fixture.task("early", state: .new)) }
        fixture.start { await allocator.run() }
        try await fixture.commit { batch in
            batch.put(fixture.task("late", state: .new))
            batch.put(fixture.task("running", slot: 2, node: "node1", state: .running))
        }
        await allocator.processed(through: await fixture.store.index)
        let tasks = await fixture.tasks()
        #expect(tasks["early"]?.status.state == .pending && tasks["early"]?.status.message == "pending task scheduling")
        #expect(tasks["late"]?.status.state == .pending)
        #expect(tasks["running"]?.status.state == .running)
    }
}

struct SchedulerTests {
    @Test func spreadsPendingTasksAndExplainsTheOnesNoNodeTakes() async throws {
        let fixture = try await StoreFixture()
        try await fixture.readyNodes(3)
        let scheduler = Scheduler(store: fixture.store, clock: { fixture.now })
        fixture.start { await scheduler.run() }
        var pinned = TaskSpec(containerSpec: ContainerSpec(image: "busybox"))
        pinned.placement = Placement(constraints: ["node.labels.zone==x"])
        try await fixture.commit { batch in
            for slot in 1...6 { batch.put(fixture.task("t\(slot)", slot: slot, state: .pending)) }
            batch.put(fixture.task("nowhere", service: "other", state: .pending, spec: pinned))
            // Not allocated yet: the scheduler leaves it to the allocator.
            batch.put(fixture.task("fresh", service: "third", state: .new))
        }
        await scheduler.processed(through: await fixture.store.index)
        let tasks = await fixture.tasks()
        var perNode: [String: Int] = [:]
        for slot in 1...6 {
            let task = try #require(tasks["t\(slot)"])
            #expect(task.status.state == .assigned && task.status.message == "scheduler assigned task to node")
            perNode[task.nodeID ?? "", default: 0] += 1
        }
        #expect(perNode == ["node1": 2, "node2": 2, "node3": 2])
        #expect(tasks["nowhere"]?.status.state == .pending)
        #expect(tasks["nowhere"]?.status.err == "no suitable node (scheduling constraints not satisfied on 3 nodes)")
        #expect(tasks["fresh"]?.status.state == .new && tasks["fresh"]?.nodeID == nil)
    }

    @Test func filtersExplainInSwarmkitsWords() throws {
        let node = ClusterManager.newNode(id: "n", role: .worker, hostname: "h", addr: "a", now: Timestamp(nanoseconds: 0))
        #expect(!ReadyFilter().check(node, NodeLoad()))
        #expect(ReadyFilter().explain(nodes: 1) == "1 node not available for new tasks")
        #expect(ConstraintFilter(constraints: []).explain(nodes: 3) == "scheduling constraints not satisfied on 3 nodes")
        #expect(ResourceFilter(reservation: nil).explain(nodes: 2) == "insufficient resources on 2 nodes")
        #expect(MaxReplicasFilter(serviceID: "s", maxReplicas: 1).explain(nodes: 2) == "max replicas per node limit exceed")
        var load = NodeLoad()
        #expect(MaxReplicasFilter(serviceID: "s", maxReplicas: 1).check(node, load))
        load.add("s", "n", nil)
        #expect(!MaxReplicasFilter(serviceID: "s", maxReplicas: 1).check(node, load))
        #expect(!ResourceFilter(reservation: Resources(memoryBytes: 1)).check(node, load))
    }
}

struct DispatcherTests {
    @Test func sessionsStatusOnlyFromTheTasksNodeAndOnlyForward() async throws {
        let fixture = try await StoreFixture()
        try await fixture.commit { batch in
            batch.put(ClusterManager.newNode(id: "node2", role: .worker, hostname: "host2", addr: "10.0.0.2:0", now: fixture.now))
            batch.put(fixture.task("t1", node: "node1", state: .assigned))
        }
        let dispatcher = Dispatcher(store: fixture.store, clock: { fixture.now })
        fixture.start { await dispatcher.run() }
        _ = try await dispatcher.openSession(nodeID: "node2", SessionRequest(description: ClusterFixture.description("host2"), addr: "10.0.0.2:4000"))
        #expect(await fixture.store.get(Node.self, id: "node2")?.status.state == .ready)
        #expect(await fixture.store.get(Node.self, id: "node2")?.status.addr == "10.0.0.2")
        await #expect(throws: APIError.self) { _ = try await dispatcher.heartbeat(nodeID: "stranger") }

        let running = TaskStatus(timestamp: fixture.now, state: .running, message: "started")
        try await dispatcher.reportStatus(nodeID: "node2", StatusBatch(updates: [StatusUpdate(taskID: "t1", status: running)]))
        #expect(await fixture.store.get(SwarmTask.self, id: "t1")?.status.state == .assigned)
        try await dispatcher.reportStatus(nodeID: "node1", StatusBatch(updates: [StatusUpdate(taskID: "t1", status: running)]))
        let backwards = TaskStatus(timestamp: fixture.now, state: .starting, message: "backwards")
        try await dispatcher.reportStatus(nodeID: "node1", StatusBatch(updates: [StatusUpdate(taskID: "t1", status: backwards)]))
        #expect(await fixture.store.get(SwarmTask.self, id: "t1")?.status.state == .running)
    }

    @Test func assignmentsWaitForAChangeOfTheNodesTasks() async throws {
        let fixture = try await StoreFixture()
        let dispatcher = Dispatcher(store: fixture.store, clock: { fixture.now })
        fixture.start { await dispatcher.run() }
        await dispatcher.processed(through: await fixture.store.index)
        let first = try await dispatcher.assignments(nodeID: "node1", since: nil, timeout: .seconds(20))
        #expect(first.tasks.isEmpty)
        let poll = Task { try await dispatcher.assignments(nodeID: "node1", since: first.version, timeout: .seconds(60)) }
        try await fixture.commit { batch in batch.put(fixture.task("t1", node: "node1", state: .assigned)) }
        let next = try await poll.value
        #expect(next.tasks.map(\.id) == ["t1"] && next.version > first.version)
        // Nothing new: the poll ends at its timeout with the same version.
        let idle = try await dispatcher.assignments(nodeID: "node1", since: next.version, timeout: .milliseconds(10))
        #expect(idle.version == next.version)
    }

    @Test func assignmentsAfterAVersionCarryOnlyWhatChanged() async throws {
        let fixture = try await StoreFixture()
        try await fixture.readyNodes(2)
        let dispatcher = Dispatcher(store: fixture.store, clock: { fixture.now })
        fixture.start { await dispatcher.run() }
        try await fixture.commit { batch in
            for id in ["t1", "t2", "t3"] { batch.put(fixture.task(id, node: "node1", state: .assigned)) }
        }
        await dispatcher.processed(through: await fixture.store.index)
        let first = try await dispatcher.assignments(nodeID: "node1", since: nil, timeout: .seconds(20))
        #expect(first.complete && Set(first.tasks.map(\.id)) == ["t1", "t2", "t3"])

        // One task reported, one deleted, one moved to another node.
        try await fixture.commit { batch in
            batch.update(SwarmTask.self, id: "t1") { task, _ in task.status.state = .running; return true }
            batch.delete(SwarmTask.self, id: "t2")
            batch.update(SwarmTask.self, id: "t3") { task, _ in task.nodeID = "node2"; return true }
        }
        await dispatcher.processed(through: await fixture.store.index)
        let next = try await dispatcher.assignments(nodeID: "node1", since: first.version, timeout: .seconds(20))
        #expect(!next.complete && next.version > first.version)
        #expect(next.tasks.map(\.id) == ["t1"] && next.tasks.first?.status.state == .running)
        #expect(Set(next.removed) == ["t2", "t3"])
        let known = next.applied(to: Dictionary(uniqueKeysWithValues: first.tasks.map { ($0.id, $0) }))
        #expect(Array(known.keys) == ["t1"] && known["t1"]?.status.state == .running)
        let other = try await dispatcher.assignments(nodeID: "node2", since: nil, timeout: .seconds(20))
        #expect(other.tasks.map(\.id) == ["t3"])

        // A version the dispatcher never gave out (another manager's, say) gets the whole set.
        let unknown = try await dispatcher.assignments(nodeID: "node1", since: next.version + 1_000, timeout: .seconds(20))
        #expect(unknown.complete && unknown.tasks.map(\.id) == ["t1"])
    }

    @Test func aVersionOlderThanTheKeptRemovalsGetsTheWholeSet() async throws {
        let fixture = try await StoreFixture()
        let dispatcher = Dispatcher(store: fixture.store, clock: { fixture.now })
        fixture.start { await dispatcher.run() }
        try await fixture.commit { batch in batch.put(fixture.task("kept", node: "node1", state: .assigned)) }
        await dispatcher.processed(through: await fixture.store.index)
        let first = try await dispatcher.assignments(nodeID: "node1", since: nil, timeout: .seconds(20))
        // More removals than the dispatcher keeps tombstones for.
        let count = Dispatcher.keptRemovals + 2
        try await fixture.commit { batch in
            for index in 0..<count { batch.put(fixture.task("gone\(index)", node: "node1", state: .assigned)) }
        }
        try await fixture.commit { batch in
            for index in 0..<count { batch.delete(SwarmTask.self, id: "gone\(index)") }
        }
        await dispatcher.processed(through: await fixture.store.index)
        let late = try await dispatcher.assignments(nodeID: "node1", since: first.version, timeout: .seconds(20))
        #expect(late.complete && late.tasks.map(\.id) == ["kept"] && late.removed.isEmpty)
    }

    @Test func aNodeThatMissesHeartbeatsIsDown() async throws {
        let fixture = try await StoreFixture()
        let clock = ClusterFixture.TestClock()
        let dispatcher = Dispatcher(store: fixture.store, clock: { clock.now })
        fixture.start { await dispatcher.run() }
        _ = try await dispatcher.openSession(nodeID: "node1", SessionRequest(description: ClusterFixture.description("host1"), addr: "10.0.0.1"))
        await dispatcher.processed(through: await fixture.store.index)
        clock.advance(seconds: 10)
        await dispatcher.tick()
        #expect(await fixture.store.get(Node.self, id: "node1")?.status.state == .ready)
        clock.advance(seconds: 1)
        await dispatcher.tick()
        let node = await fixture.store.get(Node.self, id: "node1")
        #expect(node?.status.state == .down && node?.status.message == "heartbeat failure")
    }
}

struct OrchestratorAloneTests {
    @Test func makesOneNewTaskPerSlotAndLeavesPlacementToOthers() async throws {
        let fixture = try await StoreFixture()
        let orchestrator = Orchestrator(store: fixture.store, clock: { fixture.now })
        fixture.start { await orchestrator.run() }
        let service = Service(id: "svc", version: ObjectVersion(index: 0), createdAt: fixture.now,
                              spec: ClusterFixture.spec("web", replicas: 3), specIndex: 0)
        try await fixture.commit { batch in batch.put(service) { service, index in service.specIndex = index } }
        await orchestrator.processed(through: await fixture.store.index)
        let tasks = await fixture.store.all(SwarmTask.self)
        #expect(tasks.map(\.slot).compactMap { $0 }.sorted() == [1, 2, 3])
        #expect(tasks.allSatisfy { $0.status.state == .new && $0.nodeID == nil && $0.desiredState == .running })
        // Its own commit came back through the watch and changed nothing more.
        let index = await fixture.store.index
        await orchestrator.processed(through: index)
        #expect(await fixture.store.index == index)
    }
}

import ClusterStore
import Testing
@testable import Manager
import SwarmAPI

/// Placement preferences: tasks spread evenly over the values of node
/// labels (a tree when nested), after constraints, before the least-loaded choice.
struct SpreadPreferenceTests {
    /// Nodes node1…nodeN ready, with the labels given per node.
    func cluster(_ labels: [[String: String]]) async throws -> StoreFixture {
        let fixture = try await StoreFixture()
        try await fixture.readyNodes(labels.count)
        try await fixture.commit { batch in
            for (index, nodeLabels) in labels.enumerated() {
                batch.update(Node.self, id: "node\(index + 1)") { node, _ in node.spec.labels = nodeLabels; return true }
            }
        }
        return fixture
    }

    func spreadSpec(_ descriptors: [String], constraints: [String]? = nil) -> TaskSpec {
        var spec = TaskSpec(containerSpec: ContainerSpec(image: "busybox"))
        spec.placement = Placement(constraints: constraints, preferences: descriptors.map { PlacementPreference(spread: $0) })
        return spec
    }

    /// Schedules `count` pending tasks of one service (after `existing` placed ones) and counts them per label value.
    func place(_ fixture: StoreFixture, _ spec: TaskSpec, count: Int, existing: [String: Int] = [:]) async throws -> [String: Int] {
        let scheduler = Scheduler(store: fixture.store, clock: { fixture.now })
        fixture.start { await scheduler.run() }
        try await fixture.commit { batch in
            var slot = 100
            for (node, placed) in existing {
                for _ in 0..<placed {
                    slot += 1
                    batch.put(fixture.task("old\(slot)", slot: slot, node: node, state: .running, spec: spec))
                }
            }
            for slot in 1...count { batch.put(fixture.task("t\(slot)", slot: slot, state: .pending, spec: spec)) }
        }
        await scheduler.processed(through: await fixture.store.index)
        let tasks = await fixture.tasks()
        var perNode: [String: Int] = [:]
        for slot in 1...count {
            let task = try #require(tasks["t\(slot)"])
            #expect(task.status.state == .assigned)
            perNode[task.nodeID ?? "none", default: 0] += 1
        }
        return perNode
    }

    @Test func spreadsOverTheLabelsValuesNotOverNodes() async throws {
        let fixture = try await cluster([["zone": "a"], ["zone": "a"], ["zone": "a"], ["zone": "b"]])
        let perNode = try await place(fixture, spreadSpec(["node.labels.zone"]), count: 4)
        #expect(perNode["node4"] == 2)
        #expect((perNode["node1"] ?? 0) + (perNode["node2"] ?? 0) + (perNode["node3"] ?? 0) == 2)
        // Within zone a, the least-loaded choice: two different nodes.
        #expect(perNode.values.max() == 2 && perNode.count == 3)
    }

    @Test func withoutPreferencesTheSameNodesSpreadByNode() async throws {
        let fixture = try await cluster([["zone": "a"], ["zone": "a"], ["zone": "a"], ["zone": "b"]])
        let perNode = try await place(fixture, spreadSpec([]), count: 4)
        #expect(perNode == ["node1": 1, "node2": 1, "node3": 1, "node4": 1])
    }

    @Test func nodesWithoutTheLabelFormTheirOwnGroup() async throws {
        let fixture = try await cluster([["zone": "a"], ["zone": "b"], [:], [:]])
        let perNode = try await place(fixture, spreadSpec(["node.labels.zone"]), count: 6)
        #expect(perNode == ["node1": 2, "node2": 2, "node3": 1, "node4": 1])
    }

    @Test func countsTheServicesTasksAlreadyPlaced() async throws {
        let fixture = try await cluster([["zone": "a"], ["zone": "b"]])
        let perNode = try await place(fixture, spreadSpec(["node.labels.zone"]), count: 2, existing: ["node1": 2])
        #expect(perNode == ["node2": 2])
    }

    @Test func nestedPreferencesMakeATree() async throws {
        let fixture = try await cluster([["region": "r1", "zone": "a"], ["region": "r1", "zone": "b"],
                                         ["region": "r2", "zone": "c"], ["region": "r2", "zone": "c"]])
        let perNode = try await place(fixture, spreadSpec(["node.labels.region", "node.labels.zone"]), count: 8)
        // r1 and r2 take 4 each; in r1, zones a and b 2 each; in r2 one zone over two nodes.
        #expect(perNode == ["node1": 2, "node2": 2, "node3": 2, "node4": 2])
        let skewed = try await cluster([["region": "r1", "zone": "a"], ["region": "r1", "zone": "b"], ["region": "r2", "zone": "c"]])
        #expect(try await place(skewed, spreadSpec(["node.labels.region", "node.labels.zone"]), count: 4) == ["node1": 1, "node2": 1, "node3": 2])
    }

    @Test func constraintsComeFirst() async throws {
        let fixture = try await cluster([["zone": "a", "disk": "ssd"], ["zone": "a", "disk": "ssd"], ["zone": "b"]])
        let perNode = try await place(fixture, spreadSpec(["node.labels.zone"], constraints: ["node.labels.disk==ssd"]), count: 4)
        #expect(perNode == ["node1": 2, "node2": 2])
    }
}

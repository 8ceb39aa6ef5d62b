@testable import NodeAgent
import SwarmAPI
import Testing

/// Records what the agent asks of the data path; tasks run in the host's
/// network (prepare answers nil), so the fake engine can run them.
actor FakeNetworking: TaskNetworking {
    private(set) var calls: [String] = []

    func update(_ networks: [NetworkView]) async { calls.append("update \(networks.map(\.network.id).joined(separator: ","))") }
    func prepare(_ task: SwarmTask) async throws -> String? {
        calls.append("prepare \(task.id)")
        return nil
    }
    func release(taskID: String) async { calls.append("release \(taskID)") }
    func removeAll() async { calls.append("removeAll") }
}

@Suite struct AgentNetworkingTests {
    @Test func anOverlayTaskIsRejectedWithoutADataPath() async throws {
        let engine = FakeEngine()
        var task = makeTask("t1")
        let network = SwarmNetwork(id: "net1", version: ObjectVersion(index: 1), createdAt: Timestamp(nanoseconds: 0), spec: NetworkSpec(name: "app"))
        task.networksAttachments = [NetworkAttachment(network: network, addresses: ["10.0.1.5/24"])]
        let link = FakeManagerLink(tasks: [task])
        try await withAgent(engine: engine, link: link) { _ in
            try await eventually("rejected") { await link.task("t1")?.status.state == .rejected }
        }
        #expect(await link.task("t1")?.status.err?.hasPrefix("this node has no overlay data path") == true)
        #expect(await engine.container(ofTask: "t1") == nil)
    }

    @Test func networksFirstThenPrepareThenReleaseAfterRemoval() async throws {
        let engine = FakeEngine(), networking = FakeNetworking()
        let link = FakeManagerLink(tasks: [])
        let network = SwarmNetwork(id: "net1", version: ObjectVersion(index: 1), createdAt: Timestamp(nanoseconds: 0), spec: NetworkSpec(name: "app"))
        await link.setNetworks([NetworkView(network: network, endpoints: [], services: [])])
        await link.assign(makeTask("t1"))
        try await withAgent(engine: engine, link: link, networking: networking) { _ in
            try await eventually("running") { await link.task("t1")?.status.state == .running }
            let calls = await networking.calls
            let update = try #require(calls.firstIndex(of: "update net1")), prepare = try #require(calls.firstIndex(of: "prepare t1"))
            #expect(update < prepare, "\(calls)")
            #expect(!calls.contains("release t1"))
            await link.unassign("t1")
            try await eventually("released") { await networking.calls.contains("release t1") }
        }
        #expect(await engine.calls.contains { if case .remove = $0 { true } else { false } })
    }
}

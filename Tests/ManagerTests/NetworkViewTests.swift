import ClusterStore
import Foundation
import Testing
@testable import Manager
import SwarmAPI

/// What the dispatcher tells each node of its networks.
struct NetworkViewTests {
    /// Nodes at 10.77.0.<n>, as a lab's.
    static func cluster(_ nodes: Int) async throws -> ClusterFixture {
        let cluster = try await ClusterFixture(nodes: nodes)
        for index in 1...nodes {
            _ = try await cluster.manager.openSession(nodeID: "node\(index)", SessionRequest(description: ClusterFixture.description("host\(index)"), addr: "10.77.0.\(index)"))
        }
        return cluster
    }

    @Test func eachNodeSeesItsTasksNetworksAndIngress() async throws {
        let cluster = try await Self.cluster(3)
        let app = try await cluster.manager.createNetwork(NetworkAllocationTests.network("app"))
        var db = NetworkAllocationTests.spec("db", networks: ["app"])
        db.taskTemplate.networks = [NetworkAttachmentConfig(target: "app", aliases: ["database"])]
        db.taskTemplate.placement = Placement(constraints: ["node.hostname==host3"])
        db.taskTemplate.containerSpec?.hostname = "dbhost"
        let dbService = try await cluster.manager.createService(db)
        try await cluster.settle()
        let ingress = try await cluster.manager.network("ingress")

        let third = try await cluster.manager.assignments(nodeID: "node3", since: nil)
        let views = try #require(third.networks)
        #expect(views.map(\.network.id).sorted() == [app.id, ingress.id].sorted())
        let appView = try #require(views.first { $0.network.id == app.id })
        let task = try #require(await cluster.running(dbService.id).first)
        let address = OverlayAddress.withoutPrefix(try #require(task.networksAttachments?.first?.addresses.first))
        #expect(appView.endpoints == [OverlayEndpoint(address: address, nodeAddr: "10.77.0.3", taskID: task.id, serviceID: dbService.id,
                                                      names: ["db.1.\(task.id)", "dbhost"], running: true)])
        let vip = OverlayAddress.withoutPrefix(try #require(dbService.endpoint?.virtualIPs?.first?.addr))
        #expect(appView.services == [ServiceBinding(serviceID: dbService.id, name: "db", aliases: ["database"], mode: "vip", vip: vip, ports: [])])
        // Node 1 has no task on app: ingress only; services without networks add nothing.
        let first = try await cluster.manager.assignments(nodeID: "node1", since: nil)
        #expect(first.networks?.map(\.network.id) == [ingress.id])
        // Asked again with nothing changed: no networks sent.
        let again = try await cluster.manager.assignments(nodeID: "node3", since: third.version, timeout: .milliseconds(10))
        #expect(again.networks == nil)
    }

    @Test func aTaskStartingElsewhereWakesEveryPeerOnTheNetwork() async throws {
        let cluster = try await Self.cluster(2)
        _ = try await cluster.manager.createNetwork(NetworkAllocationTests.network("app"))
        var web = NetworkAllocationTests.spec("web", networks: ["app"])
        web.taskTemplate.placement = Placement(constraints: ["node.hostname==host1"])
        _ = try await cluster.manager.createService(web)
        try await cluster.settle()
        let before = try await cluster.manager.assignments(nodeID: "node1", since: nil)

        var db = NetworkAllocationTests.spec("db", networks: ["app"])
        db.taskTemplate.placement = Placement(constraints: ["node.hostname==host2"])
        let dbService = try await cluster.manager.createService(db)
        // Node 2's task is assigned, not yet running: node 1's long poll wakes at its placement, then at its start.
        try await cluster.settle(agentsRun: false)
        let placed = try await cluster.manager.assignments(nodeID: "node1", since: before.version, timeout: .seconds(5))
        let seen = try #require(placed.networks?.first { $0.network.spec.name == "app" })
        #expect(seen.endpoints.count == 2 && seen.endpoints.contains { $0.serviceID == dbService.id && !$0.running && $0.nodeAddr == "10.77.0.2" })
        #expect(seen.services.map(\.name) == ["db", "web"])
        let waiting = Task { try await cluster.manager.assignments(nodeID: "node1", since: placed.version, timeout: .seconds(5)) }
        try await cluster.settle()
        let started = try await waiting.value
        #expect(started.tasks.isEmpty)
        let now = try #require(started.networks?.first { $0.network.spec.name == "app" })
        #expect(now.endpoints.allSatisfy { $0.running })
        // Removing the db service takes its endpoint and binding out of node 1's view.
        try await cluster.manager.removeService(dbService.id)
        try await cluster.settle()
        let after = try await cluster.manager.assignments(nodeID: "node1", since: started.version, timeout: .seconds(5))
        let gone = try #require(after.networks?.first { $0.network.spec.name == "app" })
        #expect(gone.endpoints.count == 1 && gone.services.map(\.name) == ["web"])
    }

    @Test func theIngressViewCarriesTheNodesBalancers() async throws {
        let cluster = try await Self.cluster(2)
        _ = try await cluster.manager.createService(NetworkAllocationTests.spec("web", ports: [PortConfig(targetPort: 80, publishedPort: 8080)]))
        try await cluster.settle()
        let view = try #require(try await cluster.manager.assignments(nodeID: "node2", since: nil).networks?.first)
        #expect(view.network.spec.ingress == true)
        let balancers = view.endpoints.filter { $0.taskID == nil }
        #expect(Set(balancers.map(\.nodeAddr)) == ["10.77.0.1", "10.77.0.2"])
        #expect(view.endpoints.filter { $0.taskID != nil }.count == 1)
        #expect(view.services.first?.ports == [PortConfig(protocol: "tcp", targetPort: 80, publishedPort: 8080, publishMode: "ingress")])
    }
}

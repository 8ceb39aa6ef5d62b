import ClusterStore
import Foundation
import Testing
@testable import Manager
import SwarmAPI

/// Containers attached by hand to `--attachable` networks (`container run
/// --network NAME`): an address held by their node until released, kept
/// across a manager restart, seen by the network's peers, refused on other
/// networks, and blocking `network rm`.
struct AttachmentAllocationTests {
    static func attachable(_ name: String, subnet: String) -> NetworkSpec {
        var spec = NetworkAllocationTests.network(name, subnet: subnet)
        spec.attachable = true
        return spec
    }

    @Test func attachmentsHoldAnAddressUntilReleasedAndSurviveARestart() async throws {
        let cluster = try await NetworkViewTests.cluster(2)
        let debug = try await cluster.manager.createNetwork(Self.attachable("debug", subnet: "10.61.0.0/24"))
        var web = NetworkAllocationTests.spec("web", networks: ["debug"])
        web.taskTemplate.placement = Placement(constraints: ["node.hostname==host2"])
        let service = try await cluster.manager.createService(web)
        try await cluster.settle()
        let held = await cluster.manager.allocator.ledger.ownerOf.count

        let grant = try await cluster.manager.attachContainer(nodeID: "node1", AttachmentRequest(network: "debug", containerName: "shell"))
        #expect(grant.network.id == debug.id && grant.attachment.networkID == debug.id && grant.attachment.address.hasPrefix("10.61.0."))
        let address = OverlayAddress.withoutPrefix(grant.attachment.address)
        let taken = await cluster.running(service.id).compactMap { $0.networksAttachments?.first?.addresses.first }
        #expect(!taken.contains(grant.attachment.address) && grant.attachment.address != "10.61.0.1/24")
        #expect(try await cluster.manager.node("node1").attachments == [grant.attachment])
        try await cluster.settle()
        #expect(await cluster.manager.allocator.ledger.owner(of: .address(network: debug.id, IPv4Subnet.address(address)!)) == "node:node1")
        #expect(await cluster.manager.allocator.ledger.ownerOf.count == held + 1)

        // Node 1 now sees the network, and node 2 (the task's) learns the container's address and name.
        let first = try await cluster.manager.assignments(nodeID: "node1", since: nil)
        #expect(first.networks?.contains { $0.network.id == debug.id } == true)
        let second = try await cluster.manager.assignments(nodeID: "node2", since: nil)
        let view = try #require(second.networks?.first { $0.network.id == debug.id })
        #expect(view.endpoints.contains(OverlayEndpoint(address: address, nodeAddr: "10.77.0.1", taskID: grant.attachment.id,
                                                        serviceID: nil, names: ["shell"], running: true)))

        // In use: `network rm` is refused, Docker's message (its attachments are tasks); prune keeps it.
        try await cluster.manager.removeService("web")
        try await cluster.settle()
        #expect(await NetworkAllocationTests.message { try await cluster.manager.removeNetwork("debug") }
                == "rpc error: code = FailedPrecondition desc = network \(debug.id) is in use by task \(grant.attachment.id)")
        #expect(try await cluster.manager.pruneNetworks().isEmpty)

        // A restarted allocator reads it back from the store: nothing lost, nothing handed out twice.
        let restarted = Allocator(store: cluster.store, clock: { Timestamp(nanoseconds: 0) }, hostRoutes: { [] })
        let loop = Task { await restarted.run() }
        defer { loop.cancel() }
        await restarted.processed(through: await cluster.store.index)
        #expect(await restarted.ledger.ownerOf == cluster.manager.allocator.ledger.ownerOf)
        let (next, token) = try await restarted.attachment(id: "other", nodeID: "node2", network: debug, containerName: nil)
        #expect(next.address != grant.attachment.address)
        await restarted.cancel(token)

        // Released: the address is free again, node 2 forgets it, the network can go.
        try await cluster.manager.detachContainer(nodeID: "node1", attachmentID: grant.attachment.id)
        try await cluster.manager.detachContainer(nodeID: "node1", attachmentID: grant.attachment.id)
        try await cluster.settle()
        #expect(try await cluster.manager.node("node1").attachments == nil)
        #expect(await cluster.manager.allocator.ledger.owner(of: .address(network: debug.id, IPv4Subnet.address(address)!)) == nil)
        let after = try await cluster.manager.assignments(nodeID: "node2", since: nil)
        #expect(after.networks?.first { $0.network.id == debug.id }?.endpoints.contains { $0.taskID == grant.attachment.id } != true)
        try await cluster.manager.removeNetwork("debug")
    }

    @Test func onlyAttachableNetworksAndKnownOnes() async throws {
        let cluster = try await NetworkViewTests.cluster(1)
        _ = try await cluster.manager.createNetwork(NetworkAllocationTests.network("app", subnet: "10.62.0.0/24"))
        try await cluster.settle()
        let before = await cluster.manager.allocator.ledger.ownerOf
        #expect(await NetworkAllocationTests.message { _ = try await cluster.manager.attachContainer(nodeID: "node1", AttachmentRequest(network: "app", containerName: nil)) }
                == "Could not attach to network app: rpc error: code = PermissionDenied desc = network app not manually attachable")
        #expect(await NetworkAllocationTests.message { _ = try await cluster.manager.attachContainer(nodeID: "node1", AttachmentRequest(network: "ingress", containerName: nil)) }
                .contains("not manually attachable"))
        #expect(await NetworkAllocationTests.message { _ = try await cluster.manager.attachContainer(nodeID: "node1", AttachmentRequest(network: "nope", containerName: nil)) }
                == "network nope not found")
        try await cluster.settle()
        #expect(await cluster.manager.allocator.ledger.ownerOf == before)
        #expect(try await cluster.manager.node("node1").attachments == nil)
    }

    @Test func removingTheNodeReleasesItsAttachments() async throws {
        let cluster = try await NetworkViewTests.cluster(2)
        let debug = try await cluster.manager.createNetwork(Self.attachable("debug", subnet: "10.63.0.0/24"))
        let grant = try await cluster.manager.attachContainer(nodeID: "node2", AttachmentRequest(network: debug.id, containerName: nil))
        try await cluster.settle()
        let address = IPv4Subnet.address(OverlayAddress.withoutPrefix(grant.attachment.address))!
        #expect(await cluster.manager.allocator.ledger.owner(of: .address(network: debug.id, address)) == "node:node2")
        try await cluster.manager.removeNode("node2", force: true)
        try await cluster.settle()
        #expect(await cluster.manager.allocator.ledger.owner(of: .address(network: debug.id, address)) == nil)
        try await cluster.manager.removeNetwork("debug")
    }
}

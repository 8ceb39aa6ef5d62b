import Testing
@testable import Manager
import SwarmAPI

/// `stack rm` removes a stack's services, then at once its networks: a
/// removed service's tasks must no longer count as using a network, though
/// their containers still stop on the nodes.
@Suite struct ServiceRemovalTests {
    @Test func aRemovedServicesNetworkCanBeRemovedAtOnce() async throws {
        let cluster = try await ClusterFixture(nodes: 2)
        let network = try await cluster.manager.createNetwork(NetworkAllocationTests.network("app", subnet: "10.64.0.0/24"))
        var spec = ClusterFixture.spec("web", replicas: 2)
        spec.taskTemplate.networks = [NetworkAttachmentConfig(target: "app")]
        let service = try await cluster.manager.createService(spec)
        try await cluster.settle()
        #expect(await cluster.running(service.id).count == 2)
        try await cluster.manager.removeService(service.id)
        // No settling in between: the tasks are still running on their nodes.
        #expect(await cluster.manager.allTasks().filter { $0.serviceID == service.id }.allSatisfy { $0.desiredState == .remove })
        try await cluster.manager.removeNetwork(network.id)
        try await cluster.settle()
        #expect(await cluster.manager.allTasks().filter { $0.serviceID == service.id }.isEmpty)
    }
}

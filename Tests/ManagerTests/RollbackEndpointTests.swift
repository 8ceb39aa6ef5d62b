import Testing
@testable import Manager
import SwarmAPI

/// A rollback brings back the previous endpoint as Docker's does: the
/// published ports of the spec it returns to, claimed again, those of the
/// failed update released, and the tasks replaced (their networks follow
/// the ports: ingress or not).
@Suite struct RollbackEndpointTests {
    /// A service publishing 8080→80 that rolls back on failure, settled.
    func publishing(_ cluster: ClusterFixture) async throws -> Service {
        var spec = NetworkAllocationTests.spec("web", replicas: 2, ports: [PortConfig(targetPort: 80, publishedPort: 8080)])
        var update = ServiceSpec.filled(nil)
        update.failureAction = "rollback"
        spec.updateConfig = update
        let service = try await cluster.manager.createService(spec)
        try await cluster.settle()
        return try await cluster.manager.service(service.id)
    }

    /// The same spec publishing 9090 instead, with `env` (the failing one is told apart by it).
    func movePort(_ cluster: ClusterFixture, _ service: Service, env: String) async throws -> Service {
        var spec = service.spec
        spec.endpointSpec?.ports = [PortConfig(targetPort: 80, publishedPort: 9090)]
        spec.taskTemplate.containerSpec?.env = [env]
        return try await cluster.manager.updateService(service.id, version: service.version.index, spec: spec)
    }

    static let port8080 = [PortConfig(protocol: "tcp", targetPort: 80, publishedPort: 8080, publishMode: "ingress")]

    @Test func anAutomaticRollbackRestoresThePreviousPorts() async throws {
        let cluster = try await ClusterFixture(nodes: 2)
        let old = try await publishing(cluster)
        let moved = try await movePort(cluster, old, env: "BROKEN=1")
        #expect(moved.endpoint?.ports?.map(\.publishedPort) == [9090])
        try await cluster.settle(failing: { $0.spec.containerSpec?.env == ["BROKEN=1"] })
        cluster.clock.advance(seconds: 5.5)
        await cluster.manager.tick()
        try await cluster.settle()
        let rolled = try await cluster.manager.service(old.id)
        #expect(rolled.updateStatus?.state == "rollback_completed")
        #expect(rolled.spec.endpointSpec == old.spec.endpointSpec)
        #expect(rolled.endpoint?.spec == old.spec.endpointSpec && rolled.endpoint?.ports == Self.port8080)
        #expect(await cluster.running(old.id).count == 2)
        // 9090 is free again, 8080 is the service's.
        let taker = try await cluster.manager.createService(NetworkAllocationTests.spec("taker", ports: [PortConfig(targetPort: 80, publishedPort: 9090)]))
        #expect(taker.endpoint?.ports?.first?.publishedPort == 9090)
        let clash = await NetworkAllocationTests.message {
            _ = try await cluster.manager.createService(NetworkAllocationTests.spec("clash", ports: [PortConfig(targetPort: 80, publishedPort: 8080)]))
        }
        #expect(clash.contains("port '8080' is already in use by service 'web'"), "\(clash)")
    }

    @Test func aManualRollbackOfAPortsOnlyUpdateReplacesTheTasks() async throws {
        let cluster = try await ClusterFixture(nodes: 2)
        let old = try await publishing(cluster)
        var spec = old.spec
        spec.endpointSpec = EndpointSpec(mode: "vip")
        let unpublished = try await cluster.manager.updateService(old.id, version: old.version.index, spec: spec)
        try await cluster.settle()
        let ingress = try await cluster.manager.network("ingress")
        // No port: the tasks left the ingress network.
        #expect(unpublished.endpoint?.ports == nil)
        #expect(await cluster.running(old.id).allSatisfy { $0.specIndex == unpublished.specIndex && $0.networksAttachments == nil })
        let current = try await cluster.manager.service(old.id)
        let back = try await cluster.manager.updateService(old.id, version: current.version.index, spec: current.spec, rollback: true)
        #expect(back.spec == old.spec && back.endpoint?.ports == Self.port8080)
        #expect(back.specIndex != unpublished.specIndex)
        try await cluster.settle()
        let running = await cluster.running(old.id)
        #expect(running.count == 2 && running.allSatisfy { $0.specIndex == back.specIndex && $0.networksAttachments?.map(\.network.id) == [ingress.id] })
    }
}

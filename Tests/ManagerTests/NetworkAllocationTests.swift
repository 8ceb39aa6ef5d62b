import ClusterStore
import Foundation
import Testing
@testable import Manager
import SwarmAPI

/// The allocator's numbers through the manager's API, on the real store:
/// pools, overlap refusals, VNIs, task addresses, VIPs, published ports,
/// their release, and a restart that hands out nothing twice.
struct NetworkAllocationTests {
    static func spec(_ name: String, replicas: UInt64 = 1, networks: [String] = [], ports: [PortConfig] = [], mode: String = "vip") -> ServiceSpec {
        var spec = ClusterFixture.spec(name, replicas: replicas)
        if !networks.isEmpty { spec.taskTemplate.networks = networks.map { NetworkAttachmentConfig(target: $0) } }
        spec.endpointSpec = EndpointSpec(mode: mode, ports: ports.isEmpty ? nil : ports)
        return spec
    }

    static func network(_ name: String, subnet: String? = nil, gateway: String? = nil) -> NetworkSpec {
        var spec = NetworkSpec(name: name)
        spec.driverConfiguration = NetworkDriver(name: "overlay")
        if subnet != nil { spec.ipamOptions = IPAMOptions(configs: [IPAMConfig(subnet: subnet, gateway: gateway)]) }
        return spec
    }

    static func message(_ body: () async throws -> Void) async -> String {
        do { try await body(); return "" } catch let error as APIError { return error.message } catch { return "\(error)" }
    }

    @Test func ingressAndNetworksGetSubnetsThatOverlapNoNodeNorRoute() async throws {
        // Node 1 is at 10.0.0.1: 10.0.0.0/24 is not handed out; the host reaches 10.0.2.0/23 already.
        let cluster = try await ClusterFixture(nodes: 1, hostRoutes: ["10.0.2.0/23"])
        try await cluster.settle()
        let ingress = try await cluster.manager.network("ingress")
        #expect(ingress.spec.ingress == true && ingress.subnet == "10.0.1.0/24" && ingress.gateway == "10.0.1.1" && ingress.vni == 4096)
        let app = try await cluster.manager.createNetwork(Self.network("app"))
        #expect(app.subnet == "10.0.4.0/24" && app.vni == 4097 && app.driverState?.name == "overlay")
        let mine = try await cluster.manager.createNetwork(Self.network("mine", subnet: "192.168.50.0/24", gateway: "192.168.50.254"))
        #expect(mine.subnet == "192.168.50.0/24" && mine.gateway == "192.168.50.254" && mine.vni == 4098)
        // Overlapping, bad gateway, taken name, other drivers, encryption: refused, nothing made.
        let before = await cluster.manager.allNetworks().count
        #expect(await Self.message { _ = try await cluster.manager.createNetwork(Self.network("again", subnet: "192.168.50.128/25")) }
                .contains("invalid pool request: Pool overlaps with other one on this address space"))
        #expect(await Self.message { _ = try await cluster.manager.createNetwork(Self.network("gw", subnet: "10.9.0.0/24", gateway: "10.9.1.1")) }
                == "rpc error: code = InvalidArgument desc = ipam configuration: subnet 10.9.0.0/24 does not contain gateway 10.9.1.1")
        #expect(await Self.message { _ = try await cluster.manager.createNetwork(Self.network("app")) } == "network with name app already exists")
        var bridge = Self.network("br")
        bridge.driverConfiguration = NetworkDriver(name: "bridge")
        #expect(await Self.message { _ = try await cluster.manager.createNetwork(bridge) }.contains("network driver bridge is not supported"))
        var encrypted = Self.network("secret")
        encrypted.driverConfiguration = NetworkDriver(name: "overlay", options: ["encrypted": ""])
        #expect(await Self.message { _ = try await cluster.manager.createNetwork(encrypted) }.contains("not supported yet"))
        #expect(await cluster.manager.allNetworks().count == before)
    }

    @Test func addressPoolsAndMaskLengthComeFromTheSwarm() async throws {
        let directory = try TemporaryDirectories.make("swarm-test-pools")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteStore(path: directory + "/state.db")
        try await ClusterManager.bootstrap(store: store, clusterID: "c", nodeID: "node1", hostname: "h", addr: "10.77.0.2:2377",
                                           tokens: JoinTokens(worker: "w", manager: "m"), heartbeatPeriod: 5_000_000_000,
                                           addressPools: ["172.30.0.0/16", "10.20.0.0/16"], subnetSize: 26)
        let manager = try await ClusterManager(store: store, nodeID: "node1", hostRoutes: { [] })
        let loop = Task { await manager.run(tickInterval: nil) }
        defer { loop.cancel() }
        try await manager.settle()
        #expect(try await manager.network("ingress").subnet == "172.30.0.0/26")
        #expect(try await manager.createNetwork(Self.network("a")).subnet == "172.30.0.64/26")
        #expect(throws: APIError.self) { try ClusterManager.validatePools(["10.0.0.0/24"], subnetSize: 16) }
        #expect(throws: APIError.self) { try ClusterManager.validatePools(["10.0.0.0/8", "10.1.0.0/16"], subnetSize: 24) }
        #expect(throws: APIError.self) { try ClusterManager.validatePools(["10.0.0.1/8"], subnetSize: 24) }
    }

    @Test func tasksAndServicesGetAddressesThatAreReleasedWithThem() async throws {
        let cluster = try await ClusterFixture(nodes: 3)
        let app = try await cluster.manager.createNetwork(Self.network("app", subnet: "10.60.0.0/24"))
        let web = try await cluster.manager.createService(Self.spec("web", replicas: 3, networks: ["app"]))
        try await cluster.settle()
        #expect(web.spec.taskTemplate.networks?.map(\.target) == [app.id])
        let vip = try #require(web.endpoint?.virtualIPs?.first)
        #expect(vip.networkID == app.id && vip.addr.hasPrefix("10.60.0.") && vip.addr.hasSuffix("/24"))
        let tasks = await cluster.running(web.id)
        #expect(tasks.count == 3)
        let addresses = tasks.compactMap { $0.networksAttachments?.first { $0.network.id == app.id }?.addresses.first }
        #expect(addresses.count == 3 && Set(addresses).count == 3 && !addresses.contains(vip.addr) && !addresses.contains("10.60.0.1/24"))
        // The network is in use: refused, with Docker's message.
        #expect(await Self.message { try await cluster.manager.removeNetwork("app") }
                == "rpc error: code = FailedPrecondition desc = network \(app.id) is in use by service \(web.id)")
        // Unknown network: Docker's message, nothing made.
        #expect(await Self.message { _ = try await cluster.manager.createService(Self.spec("x", networks: ["nope"])) } == "network nope not found")
        #expect(await Self.message { _ = try await cluster.manager.createService(Self.spec("y", networks: ["ingress"])) }
                .contains("Service cannot be explicitly attached to the ingress network"))

        let networkClaims = 3 * 2   // ingress and app: VNI, subnet, gateway each
        #expect(await cluster.manager.allocator.ledger.ownerOf.count == networkClaims + 1 + 3)
        try await cluster.manager.removeService("web")
        try await cluster.settle()
        #expect(await cluster.manager.allocator.ledger.ownerOf.count == networkClaims)
        try await cluster.manager.removeNetwork("app")
        try await cluster.settle()
        #expect(await cluster.manager.allocator.ledger.ownerOf.count == 3)
        #expect(await Self.message { _ = try await cluster.manager.network("app") } == "network app not found")
    }

    @Test func publishedPortsAreCheckedAndChosenAndNodesGetBalancers() async throws {
        let cluster = try await ClusterFixture(nodes: 2)
        let web = try await cluster.manager.createService(Self.spec("web", replicas: 2, ports: [PortConfig(targetPort: 80, publishedPort: 5000)]))
        let other = try await cluster.manager.createService(Self.spec("other", ports: [PortConfig(targetPort: 80)]))
        try await cluster.settle()
        let ingress = try await cluster.manager.network("ingress")
        #expect(web.endpoint?.ports == [PortConfig(protocol: "tcp", targetPort: 80, publishedPort: 5000, publishMode: "ingress")])
        #expect(web.endpoint?.virtualIPs?.map(\.networkID) == [ingress.id])
        #expect(other.endpoint?.ports?.first?.publishedPort == 30000)
        for task in await cluster.running(web.id) { #expect(task.networksAttachments?.map(\.network.id) == [ingress.id]) }
        let balancers = await cluster.manager.allNodes().compactMap(\.ingressAddress)
        #expect(balancers.count == 2 && Set(balancers).count == 2)

        let refused = await Self.message { _ = try await cluster.manager.createService(Self.spec("clash", ports: [PortConfig(targetPort: 81, publishedPort: 5000)])) }
        #expect(refused == "rpc error: code = InvalidArgument desc = port '5000' is already in use by service 'web' (\(web.id)) as an ingress port")
        // The same port over UDP is another port; dnsrr cannot publish through the mesh.
        _ = try await cluster.manager.createService(Self.spec("dns", ports: [PortConfig(protocol: "udp", targetPort: 53, publishedPort: 5000)]))
        #expect(await Self.message { _ = try await cluster.manager.createService(Self.spec("rr", ports: [PortConfig(targetPort: 80)], mode: "dnsrr")) }
                .contains("port published with ingress mode can't be used with dnsrr mode"))
        // An update keeps the chosen port; the ingress network cannot go while services publish.
        var spec = try await cluster.manager.service("other").spec
        spec.taskTemplate.containerSpec?.env = ["A=b"]
        let updated = try await cluster.manager.updateService("other", version: try await cluster.manager.service("other").version.index, spec: spec)
        #expect(updated.endpoint?.ports?.first?.publishedPort == 30000)
        #expect(await Self.message { try await cluster.manager.removeNetwork("ingress") }.contains("ingress network cannot be removed because service"))
        // Removing the port frees it for another service.
        spec = try await cluster.manager.service("web").spec
        spec.endpointSpec?.ports = nil
        _ = try await cluster.manager.updateService("web", version: try await cluster.manager.service("web").version.index, spec: spec)
        try await cluster.settle()
        let taker = try await cluster.manager.createService(Self.spec("taker", ports: [PortConfig(targetPort: 80, publishedPort: 5000)]))
        #expect(taker.endpoint?.ports?.first?.publishedPort == 5000)
    }

    @Test func theIngressNetworkCanBeReplacedOnceNothingPublishes() async throws {
        let cluster = try await ClusterFixture(nodes: 2)
        let web = try await cluster.manager.createService(Self.spec("web", ports: [PortConfig(targetPort: 80, publishedPort: 5000)]))
        try await cluster.settle()
        #expect(await cluster.manager.allNodes().allSatisfy { $0.ingressAddress?.hasPrefix("10.0.1.") == true })
        var spec = web.spec
        spec.endpointSpec?.ports = nil
        _ = try await cluster.manager.updateService("web", version: web.version.index, spec: spec)
        try await cluster.settle()
        // Its tasks were replaced: the new ones are on no network.
        let replaced = await cluster.running(web.id)
        #expect(replaced.count == 1 && replaced.allSatisfy { $0.networksAttachments == nil })
        try await cluster.manager.removeNetwork("ingress")
        try await cluster.settle()
        #expect(await cluster.manager.allNodes().allSatisfy { $0.ingressAddress == nil })
        #expect(await Self.message { _ = try await cluster.manager.createService(Self.spec("p", ports: [PortConfig(targetPort: 80)])) }
                .contains("no ingress network is present"))
        var ingress = Self.network("mesh", subnet: "10.55.0.0/24")
        ingress.ingress = true
        _ = try await cluster.manager.createNetwork(ingress)
        _ = try await cluster.manager.createService(Self.spec("p", ports: [PortConfig(targetPort: 80)]))
        try await cluster.settle()
        #expect(await cluster.manager.allNodes().allSatisfy { $0.ingressAddress?.hasPrefix("10.55.0.") == true })
    }

    @Test func servicesJoinedToANetworkLaterReachIt() async throws {
        // The seed's flow: services first, a network later, joined by an update.
        let cluster = try await ClusterFixture(nodes: 2)
        let web = try await cluster.manager.createService(Self.spec("web", replicas: 2))
        try await cluster.settle()
        #expect(web.endpoint?.virtualIPs == nil)
        let app = try await cluster.manager.createNetwork(Self.network("app"))
        var spec = web.spec
        spec.taskTemplate.networks = [NetworkAttachmentConfig(target: "app", aliases: ["site"])]
        let joined = try await cluster.manager.updateService("web", version: web.version.index, spec: spec)
        try await cluster.settle()
        #expect(joined.endpoint?.virtualIPs?.map(\.networkID) == [app.id])
        let tasks = await cluster.running(web.id)
        #expect(tasks.count == 2 && tasks.allSatisfy { $0.networksAttachments?.map(\.network.id) == [app.id] })
        // And leaves it: the VIP goes, the tasks are replaced again, the network may go.
        var left = joined.spec
        left.taskTemplate.networks = nil
        let gone = try await cluster.manager.updateService("web", version: try await cluster.manager.service("web").version.index, spec: left)
        try await cluster.settle()
        #expect(gone.endpoint?.virtualIPs == nil)
        let after = await cluster.running(web.id)
        #expect(after.count == 2 && after.allSatisfy { $0.networksAttachments == nil })
        try await cluster.manager.removeNetwork("app")
    }

    @Test func aRestartedAllocatorRebuildsWhatIsHeldAndHandsOutNothingTwice() async throws {
        let cluster = try await ClusterFixture(nodes: 2)
        _ = try await cluster.manager.createNetwork(Self.network("app"))
        _ = try await cluster.manager.createService(Self.spec("web", replicas: 4, networks: ["app"], ports: [PortConfig(targetPort: 80)]))
        _ = try await cluster.manager.createService(Self.spec("db", replicas: 2, networks: ["app"]))
        try await cluster.settle()
        let held = await cluster.manager.allocator.ledger.ownerOf
        #expect(held.count > 10)

        // A new allocator on the same store (the manager restarted) sees what the first one handed out.
        let restarted = Allocator(store: cluster.store, clock: { Timestamp(nanoseconds: 0) }, hostRoutes: { [] })
        let loop = Task { await restarted.run() }
        defer { loop.cancel() }
        await restarted.processed(through: await cluster.store.index)
        #expect(await restarted.ledger.ownerOf == held)
        // Its next numbers are free ones.
        let app = try await cluster.manager.network("app")
        var spec = Self.spec("more", networks: [app.id], ports: [PortConfig(targetPort: 80)])
        spec.name = "more"
        let (endpoint, token) = try await restarted.endpoint(serviceID: "new", spec: spec, current: nil)
        #expect(token != nil)
        let vip = try #require(endpoint?.virtualIPs?.first { $0.networkID == app.id }?.addr)
        let address = IPv4Subnet.address(OverlayAddress.withoutPrefix(vip))!
        #expect(held[.address(network: app.id, address)] == nil)
        #expect(held[.port(protocol: "tcp", endpoint!.ports!.first!.publishedPort!)] == nil)
    }

    @Test func theLedgerReservesUntilTheCommitIsSeen() {
        var ledger = ClaimLedger()
        let claim = ClaimLedger.Claim.port(protocol: "tcp", 5000)
        let token = ledger.reserve("service:a", [claim])
        #expect(ledger.owner(of: claim) == "service:a")
        ledger.committed(token, at: 10)
        ledger.expire(through: 9)
        #expect(ledger.isTaken(claim))
        ledger.hold("service:a", [claim])
        ledger.expire(through: 10)
        #expect(ledger.owner(of: claim) == "service:a")
        ledger.hold("service:a", [])
        #expect(!ledger.isTaken(claim))
        // A failed commit frees its claims.
        let failed = ledger.reserve("service:b", [claim])
        ledger.cancel(failed)
        #expect(!ledger.isTaken(claim))
    }

    @Test func subnetsAndRoutesAreReadAsNumbers() {
        #expect(IPv4Subnet("10.0.1.5/24")?.description == "10.0.1.0/24")
        #expect(IPv4Subnet("10.0.1.0/33") == nil && IPv4Subnet("10.0.1/24") == nil && IPv4Subnet("a.b.c.d/8") == nil)
        #expect(IPv4Subnet("10.0.0.0/8")!.overlaps(IPv4Subnet("10.77.3.0/24")!))
        #expect(!IPv4Subnet("10.0.0.0/24")!.overlaps(IPv4Subnet("10.0.1.0/24")!))
        let table = """
            Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
            eth0\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
            eth0\t0001A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
            lab0\t00004D0A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
            """
        #expect(IPv4Subnet.routes(procNetRoute: table).map(\.description) == ["192.168.1.0/24", "10.77.0.0/16"])
        let pools = [IPv4Subnet("10.0.0.0/8")!]
        #expect(Allocator.firstFree(pools: pools, size: 24, taken: [IPv4Subnet("10.0.0.0/24")!], avoid: [IPv4Subnet("10.0.1.0/16")!])?.description == "10.1.0.0/24")
    }
}

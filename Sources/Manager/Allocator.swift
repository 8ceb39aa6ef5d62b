import ClusterStore
import Logging
import SwarmAPI
import Foundation

/// The allocator sits between the orchestrator and the scheduler, as in
/// swarmkit: a task is made `new`, the allocator gives it what it needs
/// from the cluster before it is placed (an address in each of its
/// networks) and moves it to `pending`; the scheduler then assigns it.
///
/// It is the only owner of numbers: overlay subnets (cut from the swarm's
/// address pools), VNIs, task addresses, services' VIPs and published
/// ports, the nodes' ingress load-balancer addresses. Which object holds
/// which number is read from the store (`ClaimLedger`), so a restarted
/// manager rebuilds it from its objects; numbers for a commit in flight
/// are reserved until the allocator has seen that commit. The API asks it
/// for numbers before it commits a network or a service
/// (`Allocator+Endpoints.swift`, `Allocator+Networks.swift`).
actor Allocator: StoreFollower {
    let store: any ClusterStore
    let clock: @Sendable () -> Timestamp
    let logger = Logger(label: "swarm.manager.allocator")
    var progress = ProgressWaiters()
    /// The manager host's routes, read at each subnet choice (labs and
    /// gateway bridges come and go).
    let hostRoutes: @Sendable () -> [IPv4Subnet]

    var ledger = ClaimLedger()
    var networks: [String: SwarmNetwork] = [:]
    var services: [String: Service] = [:]
    var nodes: [String: Node] = [:]
    var pools: [IPv4Subnet] = Allocator.defaultPools
    var subnetSize = Allocator.defaultSubnetSize
    /// Where the next address search starts in each network: addresses
    /// are not reused at once (a stale conntrack entry or ARP cache on a
    /// peer would reach the new owner).
    var cursors: [String: UInt32] = [:]
    /// The last store index the allocator has acted on.
    var seen: UInt64 = 0
    /// Services with an ingress-mode published port: their tasks join the ingress network.
    var publishingIngress: Set<String> = []

    static let defaultPools = [IPv4Subnet("10.0.0.0/8")!]
    static let defaultSubnetSize = 24
    /// Docker's dynamic range for published ports.
    static let dynamicPorts: ClosedRange<UInt32> = 30000...32767
    /// Docker's first overlay VNI.
    static let vniRange: ClosedRange<UInt32> = 4096...((1 << 24) - 1)

    init(store: any ClusterStore, clock: @escaping @Sendable () -> Timestamp,
         hostRoutes: @escaping @Sendable () -> [IPv4Subnet] = Allocator.readHostRoutes) {
        self.store = store
        self.clock = clock
        self.hostRoutes = hostRoutes
    }

    @Sendable static func readHostRoutes() -> [IPv4Subnet] {
        guard let data = FileManager.default.contents(atPath: "/proc/net/route") else { return [] }
        return IPv4Subnet.routes(procNetRoute: String(decoding: data, as: UTF8.self))
    }

    // MARK: - Owners of numbers

    static func owner(task id: String) -> String { "task:" + id }
    static func owner(service id: String) -> String { "service:" + id }
    static func owner(node id: String) -> String { "node:" + id }
    static func owner(network id: String) -> String { "network:" + id }

    // MARK: - The view

    /// A task waiting for its numbers, and the networks it joins.
    struct Fresh { var id: String; var networks: [String] }

    func handle(_ event: StoreEvent) async {
        var fresh: [Fresh] = []
        var stale: Set<String> = []
        switch event {
        case .snapshot(let snapshot):
            ledger.forgetHeld()
            networks = [:]; services = [:]; nodes = [:]; publishingIngress = []
            if let swarm = snapshot.swarm { configure(swarm) }
            for network in snapshot.networks { track(network) }
            for service in snapshot.services {
                track(service)
                if Self.endpointIsStale(service) { stale.insert(service.id) }
            }
            for node in snapshot.nodes { track(node) }
            for task in snapshot.tasks {
                hold(task)
                if Self.needsAllocation(task) { fresh.append(Fresh(id: task.id, networks: networks(of: task))) }
            }
            seen = snapshot.index
        case .changes(let changes):
            for change in changes {
                switch (change.object, change.action) {
                case (.swarm(let swarm), _): configure(swarm)
                case (.secret, _), (.config, _): break
                case (.network(let network), .deleted):
                    networks[network.id] = nil
                    cursors[network.id] = nil
                    ledger.hold(Self.owner(network: network.id), [])
                case (.network(let network), _): track(network)
                case (.service(let service), .deleted):
                    services[service.id] = nil
                    publishingIngress.remove(service.id)
                    ledger.hold(Self.owner(service: service.id), [])
                case (.service(let service), _):
                    track(service)
                    if Self.endpointIsStale(service) { stale.insert(service.id) } else { stale.remove(service.id) }
                case (.node(let node), .deleted):
                    nodes[node.id] = nil
                    ledger.hold(Self.owner(node: node.id), [])
                case (.node(let node), _): track(node)
                case (.task(let task), .deleted): ledger.hold(Self.owner(task: task.id), [])
                case (.task(let task), _):
                    hold(task)
                    if Self.needsAllocation(task) { fresh.append(Fresh(id: task.id, networks: networks(of: task))) }
                }
                seen = change.index
            }
        }
        ledger.expire(through: seen)
        if !ledger.doubled.isEmpty {
            for line in ledger.doubled { logger.error("a number is held twice: \(line)") }
            ledger.doubled = []
        }
        await allocate(fresh, staleEndpoints: stale)
    }

    static func needsAllocation(_ task: SwarmTask) -> Bool {
        task.status.state == .new && task.desiredState <= .running
    }

    private func configure(_ swarm: SwarmInfo) {
        let configured = (swarm.defaultAddrPool ?? []).compactMap(IPv4Subnet.init)
        pools = configured.isEmpty ? Self.defaultPools : configured
        subnetSize = swarm.subnetSize.map(Int.init) ?? Self.defaultSubnetSize
    }

    private func track(_ network: SwarmNetwork) {
        networks[network.id] = network
        ledger.hold(Self.owner(network: network.id), Self.claims(of: network))
    }

    private func track(_ service: Service) {
        services[service.id] = service
        if Self.publishesIngress(service.endpoint) { publishingIngress.insert(service.id) } else { publishingIngress.remove(service.id) }
        ledger.hold(Self.owner(service: service.id), Self.claims(of: service.endpoint))
    }

    private func track(_ node: Node) {
        nodes[node.id] = node
        var claims: Set<ClaimLedger.Claim> = []
        if let cidr = node.ingressAddress, let ingress = ingressNetwork, let address = IPv4Subnet.address(OverlayAddress.withoutPrefix(cidr)) {
            claims.insert(.address(network: ingress.id, address))
        }
        // Its attached containers' addresses (`Allocator+Attachments.swift`).
        claims.formUnion(Self.claims(of: node.attachments))
        ledger.hold(Self.owner(node: node.id), claims)
    }

    /// A task holds its addresses until it ends.
    private func hold(_ task: SwarmTask) {
        guard task.networksAttachments != nil || !ledger.holds(Self.owner(task: task.id)).isEmpty else { return }
        ledger.hold(Self.owner(task: task.id), task.status.state.isTerminal ? [] : Self.claims(of: task.networksAttachments))
    }

    static func claims(of network: SwarmNetwork) -> Set<ClaimLedger.Claim> {
        var claims: Set<ClaimLedger.Claim> = []
        if let vni = network.vni { claims.insert(.vni(vni)) }
        if let subnet = network.subnet.flatMap(IPv4Subnet.init) { claims.insert(.subnet(network: network.id, subnet)) }
        if let gateway = network.gateway.flatMap(IPv4Subnet.address) { claims.insert(.address(network: network.id, gateway)) }
        return claims
    }

    static func claims(of endpoint: Endpoint?) -> Set<ClaimLedger.Claim> {
        var claims: Set<ClaimLedger.Claim> = []
        for vip in endpoint?.virtualIPs ?? [] {
            if let address = IPv4Subnet.address(OverlayAddress.withoutPrefix(vip.addr)) { claims.insert(.address(network: vip.networkID, address)) }
        }
        for port in endpoint?.ports ?? [] where (port.publishMode ?? "ingress") == "ingress" {
            if let published = port.publishedPort { claims.insert(.port(protocol: port.protocol ?? "tcp", published)) }
        }
        return claims
    }

    static func claims(of attachments: [NetworkAttachment]?) -> Set<ClaimLedger.Claim> {
        var claims: Set<ClaimLedger.Claim> = []
        for attachment in attachments ?? [] {
            for cidr in attachment.addresses {
                if let address = IPv4Subnet.address(OverlayAddress.withoutPrefix(cidr)) { claims.insert(.address(network: attachment.network.id, address)) }
            }
        }
        return claims
    }

    static func publishesIngress(_ endpoint: Endpoint?) -> Bool {
        (endpoint?.ports ?? []).contains { ($0.publishMode ?? "ingress") == "ingress" }
    }

    var ingressNetwork: SwarmNetwork? { networks.values.first { $0.spec.ingress == true } }

    /// The overlay networks a task joins: its template's, and ingress when its service publishes an ingress port.
    private func networks(of task: SwarmTask) -> [String] {
        var ids: [String] = []
        for attachment in task.spec.networks ?? [] where attachment.target != "host" && !ids.contains(attachment.target) {
            ids.append(attachment.target)
        }
        if publishingIngress.contains(task.serviceID), let ingress = ingressNetwork, !ids.contains(ingress.id) { ids.append(ingress.id) }
        return ids
    }

    // MARK: - Allocating

    /// One batch: endpoints that no longer match their service's spec (a
    /// rollback), numbers for networks that have none (the ingress network
    /// made at init), addresses for new tasks, load-balancer addresses for
    /// ready nodes once the ingress network is in use.
    private func allocate(_ fresh: [Fresh], staleEndpoints: Set<String> = []) async {
        let now = clock()
        var batch = StoreBatch(now: now)
        // First: the tasks below join ingress or not by their service's endpoint.
        var tokens = reallocateStaleEndpoints(staleEndpoints, into: &batch)
        var numbered: [String: SwarmNetwork] = [:]
        for network in networks.values where network.subnet == nil && ledger.subnets[network.id] == nil {
            do {
                let (allocated, token) = try number(network)
                tokens.append(token)
                numbered[network.id] = allocated
                batch.update(SwarmNetwork.self, id: network.id) { stored, _ in
                    guard stored.subnet == nil else { return false }
                    stored.driverState = allocated.driverState
                    stored.ipamOptions = allocated.ipamOptions
                    return true
                }
            } catch {
                logger.error("network \(network.spec.name): \(error)")
            }
        }
        for task in fresh {
            var attachments: [NetworkAttachment] = []
            var claims: Set<ClaimLedger.Claim> = []
            for id in task.networks {
                guard let network = numbered[id] ?? networks[id], let subnet = network.subnet.flatMap(IPv4Subnet.init) else {
                    logger.error("task \(task.id): network \(id) is gone or has no subnet; the task joins the others")
                    continue
                }
                guard let address = nextAddress(in: id, subnet) else {
                    logger.error("task \(task.id): network \(network.spec.name) has no address left")
                    continue
                }
                claims.insert(.address(network: id, address))
                attachments.append(NetworkAttachment(network: network, addresses: ["\(IPv4Subnet.text(address))/\(subnet.prefix)"]))
            }
            if !claims.isEmpty { tokens.append(ledger.reserve(Self.owner(task: task.id), claims)) }
            let value = attachments.isEmpty ? nil : attachments
            batch.update(SwarmTask.self, id: task.id) { stored, _ in
                // The agent may have reported on it meanwhile: only forward.
                guard Self.needsAllocation(stored) else { return false }
                stored.networksAttachments = value
                stored.status = TaskStatus(timestamp: now, state: .pending, message: "pending task scheduling")
                return true
            }
        }
        if !publishingIngress.isEmpty, let ingress = ingressNetwork.map({ numbered[$0.id] ?? $0 }),
           let subnet = ingress.subnet.flatMap(IPv4Subnet.init) {
            for node in nodes.values where node.status.state == .ready && node.ingressAddress == nil
                && !holdsAddress(node: node.id, in: ingress.id) && !ledger.isReserving(Self.owner(node: node.id)) {
                guard let address = nextAddress(in: ingress.id, subnet) else {
                    logger.error("node \(node.id): the ingress network has no address left for its load balancer")
                    break
                }
                tokens.append(ledger.reserve(Self.owner(node: node.id), [.address(network: ingress.id, address)]))
                let cidr = "\(IPv4Subnet.text(address))/\(subnet.prefix)"
                batch.update(Node.self, id: node.id) { stored, _ in
                    guard stored.ingressAddress == nil else { return false }
                    stored.ingressAddress = cidr
                    return true
                }
            }
        }
        guard !batch.isEmpty else { return }
        do {
            let index = try await store.commit(batch)
            for token in tokens { committed(token, at: index) }
        } catch is CancellationError {
            for token in tokens { ledger.cancel(token) }
        } catch {
            for token in tokens { ledger.cancel(token) }
            logger.error("allocate: \(error)")
        }
    }

    /// The next free address of `network` after its cursor (the gateway and taken ones skipped).
    func nextAddress(in network: String, _ subnet: IPv4Subnet) -> UInt32? {
        guard let hosts = subnet.hosts else { return nil }
        let count = UInt64(hosts.upperBound - hosts.lowerBound) + 1
        let start = cursors[network].map { hosts.contains($0) ? $0 : hosts.lowerBound } ?? hosts.lowerBound
        let offset = UInt64(start - hosts.lowerBound)
        for step in 0..<count {
            let candidate = hosts.lowerBound + UInt32((offset + step) % count)
            if !ledger.isTaken(.address(network: network, candidate)) {
                cursors[network] = candidate == hosts.upperBound ? hosts.lowerBound : candidate + 1
                return candidate
            }
        }
        return nil
    }

    /// A commit of the API's landed at `index`: its reservation lasts until the allocator has seen it.
    func committed(_ token: UInt64, at index: UInt64) {
        ledger.committed(token, at: index)
        ledger.expire(through: seen)
    }

    func cancel(_ token: UInt64) {
        ledger.cancel(token)
    }
}

import ClusterStore
import SwarmAPI

/// A service's endpoint: a VIP in each of its networks (vip mode, the
/// ingress network included when it publishes an ingress port) and its
/// published ports, checked against every other service's.
extension Allocator {
    /// The endpoint `spec` asks for, keeping what `current` has where the
    /// spec still asks for it, and the token of its reservation (nil when
    /// nothing was reserved). Nil endpoint: the service needs none.
    func endpoint(serviceID: String, spec: ServiceSpec, current: Endpoint?) throws -> (Endpoint?, UInt64?) {
        let endpointSpec = spec.endpointSpec
        let mode = endpointSpec?.mode ?? "vip"
        guard mode == "vip" || mode == "dnsrr" else { throw Self.invalid("EndpointSpec: invalid endpoint mode \(mode): use vip or dnsrr") }
        let owner = Self.owner(service: serviceID)
        var claims: Set<ClaimLedger.Claim> = []

        var ports: [PortConfig] = []
        var seen: Set<String> = []
        for var port in endpointSpec?.ports ?? [] {
            port.protocol = port.protocol ?? "tcp"
            port.publishMode = port.publishMode ?? "ingress"
            guard ["tcp", "udp", "sctp"].contains(port.protocol!) else {
                throw Self.invalid("EndpointSpec: invalid protocol \(port.protocol!): use tcp, udp or sctp")
            }
            guard ["ingress", "host"].contains(port.publishMode!) else {
                throw Self.invalid("EndpointSpec: invalid publish mode \(port.publishMode!): use ingress or host")
            }
            guard let target = port.targetPort, target > 0, target <= 65535 else {
                throw Self.invalid("EndpointSpec: a published port needs a target port between 1 and 65535")
            }
            if port.publishMode == "host" {
                ports.append(port)
                continue
            }
            if mode == "dnsrr" { throw Self.invalid("EndpointSpec: port published with ingress mode can't be used with dnsrr mode") }
            if let published = port.publishedPort, published != 0 {
                guard published <= 65535 else { throw Self.invalid("EndpointSpec: published port \(published) is not between 1 and 65535") }
                if let holder = ledger.owner(of: .port(protocol: port.protocol!, published)), holder != owner {
                    let other = services[String(holder.dropFirst("service:".count))]
                    throw Self.invalid("port '\(published)' is already in use by service '\(other?.spec.name ?? "")' (\(other?.id ?? holder)) as an ingress port")
                }
            } else {
                // Kept from the current endpoint when it had one for this target, else the first free of the dynamic range.
                let proto = port.protocol!
                let asked = Set((endpointSpec?.ports ?? []).filter { ($0.protocol ?? "tcp") == proto }.compactMap(\.publishedPort))
                let chosenSoFar = seen
                let ledger = self.ledger
                func free(_ candidate: UInt32) -> Bool {
                    !asked.contains(candidate) && !chosenSoFar.contains("\(proto)/\(candidate)")
                        && (ledger.owner(of: .port(protocol: proto, candidate)).map { $0 == owner } ?? true)
                }
                let previous = (current?.ports ?? []).first { old in
                    guard old.targetPort == target, old.protocol == proto, (old.publishMode ?? "ingress") == "ingress",
                          let published = old.publishedPort else { return false }
                    return Self.dynamicPorts.contains(published) && free(published)
                }
                guard let chosen = previous?.publishedPort ?? Self.dynamicPorts.first(where: { !ledger.isTaken(.port(protocol: proto, $0)) && free($0) }) else {
                    throw APIError(500, "no published port left in \(Self.dynamicPorts) for \(proto)")
                }
                port.publishedPort = chosen
            }
            guard seen.insert("\(port.protocol!)/\(port.publishedPort!)").inserted else {
                throw Self.invalid("EndpointSpec: duplicate published ports provided")
            }
            claims.insert(.port(protocol: port.protocol!, port.publishedPort!))
            ports.append(port)
        }

        var vips: [EndpointVirtualIP] = []
        if mode == "vip" {
            var ids = (spec.taskTemplate.networks ?? []).map(\.target).filter { $0 != "host" }
            if ports.contains(where: { $0.publishMode == "ingress" }) {
                guard let ingress = ingressNetwork else {
                    throw APIError.badRequest("rpc error: code = FailedPrecondition desc = service needs ingress network, but no ingress network is present")
                }
                ids.append(ingress.id)
            }
            for id in ids where !vips.contains(where: { $0.networkID == id }) {
                guard let network = networks[id] else { throw APIError.notFound("network \(id) not found") }
                guard let subnet = network.subnet.flatMap(IPv4Subnet.init) else {
                    throw APIError.unavailable("network \(network.spec.name) has no subnet yet: try again in a moment")
                }
                if let old = current?.virtualIPs?.first(where: { $0.networkID == id }),
                   let address = IPv4Subnet.address(OverlayAddress.withoutPrefix(old.addr)), subnet.contains(address) {
                    claims.insert(.address(network: id, address))
                    vips.append(old)
                    continue
                }
                guard let address = nextAddress(in: id, subnet) else {
                    throw APIError(500, "network \(network.spec.name) has no address left for the service's VIP")
                }
                claims.insert(.address(network: id, address))
                vips.append(EndpointVirtualIP(networkID: id, addr: "\(IPv4Subnet.text(address))/\(subnet.prefix)"))
            }
        }
        if endpointSpec == nil && ports.isEmpty && vips.isEmpty { return (nil, nil) }
        let token = claims.isEmpty ? nil : ledger.reserve(owner, claims)
        return (Endpoint(spec: endpointSpec ?? EndpointSpec(mode: "vip"), ports: ports.isEmpty ? nil : ports,
                         virtualIPs: vips.isEmpty ? nil : vips), token)
    }
}

/// A rollback (by hand or automatic) puts the previous spec back: its
/// endpoint must come back too, as swarmkit's allocator does it when a
/// service's endpoint no longer matches its spec. The API allocates before
/// it commits; the orchestrator's automatic rollback cannot, so the
/// allocator catches up with the services it sees out of step.
extension Allocator {
    /// Whether the endpoint stored with `service` is not the one its spec
    /// asks for: another endpoint spec, or VIPs on other networks.
    static func endpointIsStale(_ service: Service) -> Bool {
        let wanted = service.spec.endpointSpec ?? EndpointSpec(mode: "vip")
        guard let endpoint = service.endpoint else {
            return !(wanted.ports ?? []).isEmpty || (service.spec.taskTemplate.networks ?? []).contains { $0.target != "host" }
        }
        if (endpoint.spec ?? EndpointSpec(mode: "vip")) != wanted { return true }
        guard (wanted.mode ?? "vip") == "vip" else { return endpoint.virtualIPs != nil }
        let networks = Set((service.spec.taskTemplate.networks ?? []).map(\.target).filter { $0 != "host" })
        let vips = Set((endpoint.virtualIPs ?? []).map(\.networkID))
        // The ingress network's VIP comes with an ingress port, which the endpoint spec check above covers.
        return vips.subtracting(networks).count > (publishesIngress(endpoint) ? 1 : 0) || !networks.isSubset(of: vips)
    }

    /// Endpoints for the services out of step, added to `batch` (each only
    /// if the service has not changed since); the services' view and
    /// ingress membership follow at once, so tasks allocated in the same
    /// batch join the right networks. Returns the reservations' tokens.
    func reallocateStaleEndpoints(_ ids: Set<String>, into batch: inout StoreBatch) -> [UInt64] {
        var tokens: [UInt64] = []
        for id in ids {
            guard var service = services[id], Self.endpointIsStale(service) else { continue }
            do {
                let (endpoint, token) = try endpoint(serviceID: id, spec: service.spec, current: service.endpoint)
                if let token { tokens.append(token) }
                let spec = service.spec, stale = service.endpoint
                batch.update(Service.self, id: id) { stored, _ in
                    guard stored.spec == spec, stored.endpoint == stale else { return false }
                    stored.endpoint = endpoint
                    return true
                }
                service.endpoint = endpoint
                services[id] = service
                if Self.publishesIngress(endpoint) { publishingIngress.insert(id) } else { publishingIngress.remove(id) }
                logger.info("service \(service.spec.name): endpoint reallocated for its spec (rollback)")
            } catch {
                logger.error("service \(service.spec.name): its endpoint cannot follow its spec: \(error)")
            }
        }
        return tokens
    }
}

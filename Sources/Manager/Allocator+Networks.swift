import SwarmAPI

/// A network's numbers: its subnet (the user's, or the next free one of the
/// swarm's pools that overlaps nothing), its gateway, its VNI.
extension Allocator {
    static func invalid(_ message: String) -> APIError {
        APIError.badRequest("rpc error: code = InvalidArgument desc = " + message)
    }

    /// `network` with its numbers, and the token of their reservation (the
    /// caller commits the network, then says `committed` or `cancel`).
    func number(_ network: SwarmNetwork) throws -> (SwarmNetwork, UInt64) {
        var network = network
        let requested = network.spec.ipamOptions?.configs?.first
        let subnet: IPv4Subnet
        if let text = requested?.subnet, !text.isEmpty {
            guard let parsed = IPv4Subnet(text) else { throw Self.invalid("ipam configuration: invalid subnet \(text)") }
            guard parsed.prefix <= 30 else {
                throw Self.invalid("ipam configuration: subnet \(text) is too small: use a /30 or larger one (a gateway and a task)")
            }
            if let (other, _) = ledger.subnets.first(where: { $0.key != network.id && $0.value.overlaps(parsed) }) {
                let name = networks[other]?.spec.name ?? other
                throw Self.invalid("invalid pool request: Pool overlaps with other one on this address space (subnet \(text) overlaps network \(name)'s \(ledger.subnets[other]!))")
            }
            subnet = parsed
        } else {
            let avoid = hostRoutes() + nodes.values.compactMap { IPv4Subnet.address($0.status.addr).map { IPv4Subnet(base: $0, prefix: 32) } }
            guard let chosen = Self.firstFree(pools: pools, size: subnetSize, taken: Array(ledger.subnets.values), avoid: avoid) else {
                throw APIError(500, "could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network")
            }
            subnet = chosen
        }
        guard let hosts = subnet.hosts else { throw Self.invalid("ipam configuration: subnet \(subnet) has no host addresses") }
        var gateway = hosts.lowerBound
        if let text = requested?.gateway, !text.isEmpty {
            guard let parsed = IPv4Subnet.address(text) else { throw Self.invalid("ipam configuration: invalid gateway \(text)") }
            guard hosts.contains(parsed) else { throw Self.invalid("ipam configuration: subnet \(subnet) does not contain gateway \(text)") }
            gateway = parsed
        }
        guard let vni = Self.vniRange.first(where: { !ledger.isTaken(.vni($0)) }) else {
            throw APIError(500, "no VXLAN id left for a new overlay network")
        }
        network.driverState = NetworkDriver(name: network.spec.driverConfiguration?.name ?? "overlay",
                                            options: [SwarmNetwork.vxlanOption: String(vni)])
        network.ipamOptions = IPAMOptions(driver: NetworkDriver(name: "default"),
                                          configs: [IPAMConfig(subnet: subnet.description, gateway: IPv4Subnet.text(gateway))])
        let token = ledger.reserve(Self.owner(network: network.id),
                                   [.vni(vni), .subnet(network: network.id, subnet), .address(network: network.id, gateway)])
        return (network, token)
    }

    /// The first `/size` of the pools that overlaps no subnet taken and none to avoid (the host's routes, the nodes' addresses).
    static func firstFree(pools: [IPv4Subnet], size: Int, taken: [IPv4Subnet], avoid: [IPv4Subnet]) -> IPv4Subnet? {
        let blocked = taken + avoid
        for pool in pools where size >= pool.prefix && size <= 32 {
            let step = UInt64(1) << UInt64(32 - size)
            var base = UInt64(pool.base)
            while base <= UInt64(pool.last) {
                let candidate = IPv4Subnet(base: UInt32(base), prefix: size)
                if let blocker = blocked.first(where: { $0.overlaps(candidate) }) {
                    // Skip past the blocker when it is the larger one (a /16 route skips 256 /24s at once).
                    base = max(base + step, blocker.prefix < size ? UInt64(blocker.last) + 1 : base + step)
                    continue
                }
                return candidate
            }
        }
        return nil
    }
}

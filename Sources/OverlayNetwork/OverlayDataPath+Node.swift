import FoundationEssentials
import Glibc
import HostNetwork
import SwarmAPI
import SystemCalls

extension OverlayDataPath {
    /// The gateway bridge in the node's namespace with the subnet's first
    /// address, and forwarding on (tasks' traffic out is routed by the node;
    /// its masquerade rule is the service mesh's).
    func ensureGatewayBridge(_ subnet: IPv4Subnet) throws {
        let outside = try nodeLinks()
        if try !outside.linkExists(OverlayNames.gatewayBridge) {
            try outside.createBridge(OverlayNames.gatewayBridge)
            node.gatewayBridgeMade = true
            try records.save(node)
            do {
                try outside.addAddress(subnet.address(1), prefix: subnet.prefix, link: OverlayNames.gatewayBridge,
                                       broadcast: IPv4Subnet.text(subnet.network | ~subnet.mask))
                try outside.setLinkUp(OverlayNames.gatewayBridge)
            } catch {
                _ = try? outside.deleteLinkIfPresent(OverlayNames.gatewayBridge)
                throw error
            }
        }
        try enableForwarding()
    }

    /// The node's endpoint in the ingress network: a veth from the node's
    /// namespace onto the ingress sandbox's bridge, with the address and MAC
    /// the manager gave the node there; its prefix route sends the ingress
    /// subnet through it.
    func syncIngressEndpoint(_ view: NetworkView) throws {
        let mine = view.endpoints.first { $0.taskID == nil && Self.host($0.nodeAddr) == nodeAddr }
        let address = mine.map { OverlayAddress.withoutPrefix($0.address) }
        let link = OverlayNames.ingressEndpoint(view.network.id)
        let present = try address == nil || nodeLinks().linkExists(link)
        if node.ingressNetworkID == view.network.id, node.ingressAddress == address, present { return }
        removeIngressEndpoint()
        guard let address, let mac = OverlayAddress.mac(of: address),
              let subnet = view.network.subnet.flatMap(IPv4Subnet.init) else { return }
        let outside = try nodeLinks()
        let sandbox = namespace(OverlayNames.sandboxNamespace(view.network.id))
        try sandbox.withFileDescriptor { try outside.createVeth(link, peer: OverlayNames.ingressSandboxEnd, peerNamespace: $0) }
        node.ingressNetworkID = view.network.id
        node.ingressAddress = address
        try records.save(node)
        let inside = try Netlink(namespace: sandbox)
        try inside.setMTU(OverlayNames.ingressSandboxEnd, Self.mtu)
        try inside.setMaster(OverlayNames.ingressSandboxEnd, bridge: OverlayNames.sandboxBridge)
        try inside.setLinkUp(OverlayNames.ingressSandboxEnd)
        try outside.setMTU(link, Self.mtu)
        try outside.setMACAddress(link, mac)
        try outside.addAddress(address, prefix: subnet.prefix, link: link, broadcast: IPv4Subnet.text(subnet.network | ~subnet.mask))
        try outside.setLinkUp(link)
        try enableForwarding()
    }

    func removeIngressEndpoint() {
        if let networkID = node.ingressNetworkID {
            _ = try? nodeLinks().deleteLinkIfPresent(OverlayNames.ingressEndpoint(networkID))
        }
        node.ingressNetworkID = nil
        node.ingressAddress = nil
        try? records.save(node)
    }

    /// The gateway bridge and the ingress endpoint, on leave.
    func removeNodeLinks() {
        removeIngressEndpoint()
        if node.gatewayBridgeMade == true { _ = try? nodeLinks().deleteLinkIfPresent(OverlayNames.gatewayBridge) }
    }

    /// net.ipv4.ip_forward=1 in the node's namespace (/proc/sys/net is the
    /// opening thread's namespace's).
    func enableForwarding() throws {
        try inNode {
            let path = "/proc/sys/net/ipv4/ip_forward"
            let fd = try syscall("open", path) { open(path, O_WRONLY | O_CLOEXEC) }
            defer { close(fd) }
            let one: [UInt8] = Array("1\n".utf8)
            try syscall("write", path) { write(fd, one, one.count) }
        }
    }

    /// The preferred gateway subnet unless a route of the node's overlaps
    /// it; then the first free one of 172.18.0.0/16 … 172.31.0.0/16.
    func chooseGatewaySubnet() -> IPv4Subnet {
        let preferred = IPv4Subnet(preferredGatewaySubnet) ?? IPv4Subnet(network: 0xAC12_0000, prefix: 16)
        let routes = (try? inNode { Self.routes(try readFile("/proc/thread-self/net/route")) }) ?? []
        let candidates = [preferred] + (18...31).map { IPv4Subnet(network: 0xAC00_0000 | UInt32($0) << 16, prefix: 16) }
        if let free = candidates.first(where: { candidate in !routes.contains { $0.overlaps(candidate) } }) { return free }
        logger.warning("overlay: every candidate gateway subnet overlaps a route of the node; using \(preferred)")
        return preferred
    }

    /// The destinations of /proc/net/route (hex, in network byte order as
    /// the host prints it), the default route left out.
    static func routes(_ table: String) -> [IPv4Subnet] {
        table.split(separator: "\n").dropFirst().compactMap { line in
            let fields = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
            guard fields.count > 7, let destination = UInt32(fields[1], radix: 16), let mask = UInt32(fields[7], radix: 16) else { return nil }
            let prefix = UInt32(bigEndian: mask).nonzeroBitCount
            guard prefix > 0 else { return nil }
            return IPv4Subnet(network: UInt32(bigEndian: destination), prefix: prefix)
        }
    }
}

/// A whole /proc file (Foundation's readers stop after the first read).
func readFile(_ path: String) throws -> String {
    let fd = try syscall("open", path) { open(path, O_RDONLY | O_CLOEXEC) }
    defer { close(fd) }
    return String(decoding: readAll(fd), as: UTF8.self)
}

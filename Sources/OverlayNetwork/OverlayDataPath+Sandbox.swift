import HostNetwork
import SwarmAPI

extension OverlayDataPath {
    /// The network's sandbox: a namespace with a bridge and the network's
    /// VXLAN device on it. Kept if it is there whole, made again otherwise.
    @discardableResult
    func ensureSandbox(_ network: SwarmNetwork) throws -> SandboxRecord {
        guard let vni = network.vni, let subnet = network.subnet, IPv4Subnet(subnet) != nil else {
            throw HostNetworkError.badInput("network \(network.spec.name) has no VXLAN id or subnet yet")
        }
        let sandbox = namespace(OverlayNames.sandboxNamespace(network.id))
        let vxlan = OverlayNames.vxlan(network.id)
        if let record = sandboxes[network.id], record.vni == vni, record.subnet == subnet, isMounted(sandbox),
           (try? Netlink(namespace: sandbox).linkExists(vxlan)) == true {
            return record
        }
        tearDownSandbox(network.id)
        try? sandbox.delete()
        let made = try NetworkNamespace.create(sandbox.name, in: namespaceDirectory)
        do {
            try made.bringUpLoopback()
            let inside = try Netlink(namespace: made)
            try inside.createBridge(OverlayNames.sandboxBridge)
            try inside.setMTU(OverlayNames.sandboxBridge, Self.mtu)
            // Made in the node's namespace, so that its UDP socket (port
            // 4789 on the node's address) lives there, then moved in.
            let outside = try nodeLinks()
            try outside.deleteLinkIfPresent(vxlan)
            try outside.createOverlayVXLAN(vxlan, vni: vni, local: nodeAddr)
            do {
                try outside.setMTU(vxlan, Self.mtu)
                try made.withFileDescriptor { try outside.moveLink(vxlan, toNamespace: $0) }
            } catch {
                _ = try? outside.deleteLinkIfPresent(vxlan)
                throw error
            }
            try inside.setMaster(vxlan, bridge: OverlayNames.sandboxBridge)
            try inside.setLinkUp(vxlan)
            try inside.setLinkUp(OverlayNames.sandboxBridge)
            let record = SandboxRecord(networkID: network.id, vni: vni, subnet: subnet)
            try records.save(record)
            sandboxes[network.id] = record
            logger.debug("overlay: sandbox made", metadata: ["network": "\(network.spec.name)", "vni": "\(vni)"])
            return record
        } catch {
            try? made.delete()
            throw error
        }
    }

    /// Every endpoint of the network on another node gets a static FDB
    /// entry (its MAC behind its node's VTEP) and a neighbour entry (its IP
    /// at its MAC, answered by the VXLAN's proxy ARP); entries of endpoints
    /// gone or moved are removed. Only the difference is sent.
    func syncPeers(_ view: NetworkView) throws {
        guard var record = sandboxes[view.network.id] else { return }
        var wanted: [String: String] = [:]
        for endpoint in view.endpoints where Self.host(endpoint.nodeAddr) != nodeAddr {
            wanted[OverlayAddress.withoutPrefix(endpoint.address)] = Self.host(endpoint.nodeAddr)
        }
        guard wanted != record.peers else { return }
        let inside = try Netlink(namespace: namespace(OverlayNames.sandboxNamespace(view.network.id)))
        let vxlan = OverlayNames.vxlan(view.network.id)
        defer { try? records.save(record) }
        for (address, vtep) in record.peers where wanted[address] != vtep {
            if let mac = OverlayAddress.mac(of: address) {
                try? inside.deleteNeighbor(address, link: vxlan)
                try? inside.deleteFDBEntry(mac: mac, link: vxlan)
                try? inside.deleteLearnedFDBEntry(mac: mac, link: vxlan)
            }
            record.peers[address] = nil
            sandboxes[view.network.id] = record
        }
        for (address, vtep) in wanted.sorted(by: { $0.key < $1.key }) where record.peers[address] != vtep {
            guard let mac = OverlayAddress.mac(of: address) else { continue }
            try inside.addFDBEntry(mac: mac, destination: vtep, link: vxlan)
            try inside.addNeighbor(address, mac: mac, link: vxlan)
            record.peers[address] = vtep
            sandboxes[view.network.id] = record
        }
    }

    /// Removes the sandbox (its namespace, the VXLAN device and the bridge
    /// in it, and with them every FDB and neighbour entry) and the node's
    /// ingress endpoint into it.
    func tearDownSandbox(_ networkID: String) {
        let sandbox = namespace(OverlayNames.sandboxNamespace(networkID))
        if node.ingressNetworkID == networkID { removeIngressEndpoint() }
        if isMounted(sandbox) {
            // Deleted explicitly: a namespace some process still holds
            // would keep its links, and the VXLAN its UDP port.
            _ = try? Netlink(namespace: sandbox).deleteLinkIfPresent(OverlayNames.vxlan(networkID))
            try? sandbox.delete()
        }
        records.removeSandbox(networkID)
        sandboxes[networkID] = nil
    }

    /// Sandboxes of networks no longer viewed that no task uses any more.
    func removeUnusedSandboxes() {
        guard let viewed else { return }
        let used = Set(tasks.values.flatMap { $0.interfaces.map(\.networkID) })
        for networkID in sandboxes.keys where !viewed.contains(networkID) && !used.contains(networkID) {
            tearDownSandbox(networkID)
        }
    }
}

import HostNetwork
import NodeAgent
import SwarmAPI

extension OverlayDataPath {
    /// The task's namespace: eth0, eth1… one per network attachment (its
    /// address and the MAC derived from it, the other end on the network's
    /// sandbox bridge), then, unless every network is `--internal`, one
    /// more to the node's gateway bridge with the default route.
    func wireTask(_ task: SwarmTask) throws -> WiredTask {
        let made = try NetworkNamespace.create(OverlayNames.taskNamespace(task.id), in: namespaceDirectory)
        var wired = WiredTask(taskID: task.id, serviceID: task.serviceID, namespacePath: made.path, interfaces: [], gatewayAddress: nil)
        // Recorded at once, so a crash midway leaves a record of the
        // namespace; removing it removes every veth with an end inside.
        tasks[task.id] = wired
        try records.save(wired)
        try made.bringUpLoopback()
        let inside = try Netlink(namespace: made)
        let port = OverlayNames.taskPort(task.id)
        let attachments = task.networksAttachments ?? []
        for attachment in attachments {
            guard let cidr = attachment.addresses.first, let subnet = IPv4Subnet(cidr) else {
                throw HostNetworkError.badInput("task \(task.id) has no address in network \(attachment.network.spec.name)")
            }
            let address = OverlayAddress.withoutPrefix(cidr)
            guard let mac = OverlayAddress.mac(of: address) else { throw HostNetworkError.badInput("not an IPv4 address: \(cidr)") }
            try ensureSandbox(attachment.network)
            let name = "eth\(wired.interfaces.count)"
            let sandbox = try Netlink(namespace: namespace(OverlayNames.sandboxNamespace(attachment.network.id)))
            try made.withFileDescriptor { try sandbox.createVeth(port, peer: name, peerNamespace: $0) }
            wired.interfaces.append(WiredInterface(networkID: attachment.network.id, name: name, address: address))
            tasks[task.id] = wired
            try sandbox.setMTU(port, Self.mtu)
            try sandbox.setMaster(port, bridge: OverlayNames.sandboxBridge)
            try sandbox.setLinkUp(port)
            try inside.setMTU(name, Self.mtu)
            try inside.setMACAddress(name, mac)
            try inside.addAddress(address, prefix: subnet.prefix, link: name, broadcast: IPv4Subnet.text(subnet.network | ~subnet.mask))
            try inside.setLinkUp(name)
        }
        // Docker gives a way out to tasks with a non-internal network, and
        // to tasks with no network at all.
        if attachments.isEmpty || attachments.contains(where: { $0.network.spec.internal != true }) {
            try wireGateway(&wired, inside: inside, namespace: made)
        }
        tasks[task.id] = wired
        try records.save(wired)
        return wired
    }

    /// A veth from the task to the gateway bridge, an address of the
    /// gateway subnet and the default route through the bridge.
    func wireGateway(_ wired: inout WiredTask, inside: Netlink, namespace made: NetworkNamespace) throws {
        guard let subnet = IPv4Subnet(node.gatewaySubnet) else { throw HostNetworkError.badInput("bad gateway subnet \(node.gatewaySubnet)") }
        try ensureGatewayBridge(subnet)
        let used = Set(tasks.values.compactMap(\.gatewayAddress))
        guard let address = (2..<(~subnet.mask)).lazy.map(subnet.address).first(where: { !used.contains($0) }) else {
            throw HostNetworkError.badInput("the gateway subnet \(subnet) is full")
        }
        let name = "eth\(wired.interfaces.count)", port = OverlayNames.gatewayPort(wired.taskID)
        let outside = try nodeLinks()
        try made.withFileDescriptor { try outside.createVeth(port, peer: name, peerNamespace: $0) }
        wired.gatewayAddress = address
        tasks[wired.taskID] = wired
        try outside.setMaster(port, bridge: OverlayNames.gatewayBridge)
        try outside.setLinkUp(port)
        try inside.addAddress(address, prefix: subnet.prefix, link: name, broadcast: IPv4Subnet.text(subnet.network | ~subnet.mask))
        try inside.setLinkUp(name)
        try inside.addDefaultRoute(via: subnet.address(1), link: name)
    }

    /// Removes what `wireTask` made: its ports on the sandboxes' bridges and
    /// on the gateway bridge (their peers in the task go with them), then
    /// the namespace's name.
    func releaseTask(_ taskID: String) {
        let made = namespace(OverlayNames.taskNamespace(taskID))
        if let wired = tasks[taskID] {
            for networkID in Set(wired.interfaces.map(\.networkID)) where sandboxes[networkID] != nil {
                _ = try? Netlink(namespace: namespace(OverlayNames.sandboxNamespace(networkID))).deleteLinkIfPresent(OverlayNames.taskPort(taskID))
            }
            if wired.gatewayAddress != nil { _ = try? nodeLinks().deleteLinkIfPresent(OverlayNames.gatewayPort(taskID)) }
        }
        try? made.delete()
        records.removeTask(taskID)
        tasks[taskID] = nil
    }
}

import Glibc
import HostNetwork

// Partitions: a node's hub port moved from the lab's bridge onto a bridge
// of its own in the hub. Its eth0 stays up with its address, so the node
// sees no error: its packets to the rest of the lab just go nowhere (a
// cut cable between switches), and TCP connections hang until healed or
// timed out, as on a real network split.
extension LabNetwork {
    /// The hub's bridge of partition `group` (1, 2, …).
    public static func partitionBridge(_ group: Int) -> String { "swlabp\(group)" }

    /// Moves the hub ports of `nodes` (numbers from 1) onto partition
    /// bridge `group`, made if missing: they reach each other, no other
    /// node and not the client. `moved` is called after each port.
    static func isolate(hub: NetworkNamespace, nodes: [Int], group: Int, moved: (Int) -> Void) throws {
        let links = try Netlink(namespace: hub)
        let bridge = partitionBridge(group)
        if !(try links.linkExists(bridge)) {
            try links.createBridge(bridge)
            try links.setLinkUp(bridge)
        }
        for node in nodes {
            try links.setMaster(hubPort(node: node), bridge: bridge)
            moved(node)
        }
    }

    /// Puts the hub ports of `nodes` back on the lab's bridge, then removes
    /// the partition bridges in `emptied` (no port left on them).
    static func rejoin(hub: NetworkNamespace, nodes: [Int], emptied: [Int], moved: (Int) -> Void) throws {
        let links = try Netlink(namespace: hub)
        for node in nodes {
            try links.setMaster(hubPort(node: node), bridge: bridgeName)
            moved(node)
        }
        for group in emptied { try links.deleteLinkIfPresent(partitionBridge(group)) }
    }
}

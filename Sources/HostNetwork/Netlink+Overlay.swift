import Glibc

/// What an overlay network's data path needs beyond links, addresses and
/// neighbours: a VXLAN device that answers ARP itself, a link's MAC, and
/// whether a link exists.
extension Netlink {
    /// A VXLAN device as an overlay network wants it: static peers only
    /// (learning off) and `proxy` ARP on, so the device answers ARP from its
    /// neighbour table and no request crosses the underlay
    /// (`ip link add NAME type vxlan id VNI local LOCAL dstport PORT nolearning proxy`).
    public func createOverlayVXLAN(_ name: String, vni: UInt32, local: String, port: UInt16 = 4789) throws {
        let localAddress = try ipv4(local)
        try createLink("create vxlan \(name)", name: name, kind: "vxlan") { data in
            data.attribute(LinuxNetlink.IFLA_VXLAN_ID, vni)
            data.attribute(LinuxNetlink.IFLA_VXLAN_LOCAL, localAddress)
            data.attribute(LinuxNetlink.IFLA_VXLAN_PORT, port.bigEndian)  // __be16
            data.attribute(LinuxNetlink.IFLA_VXLAN_LEARNING, UInt8(0))
            data.attribute(OverlayNetlink.IFLA_VXLAN_PROXY, UInt8(1))
        }
    }

    /// Removes what the bridge `link` is a port of learned about `mac` on it
    /// (`bridge fdb del MAC dev LINK master`): a peer gone must not stay
    /// reachable through the port until the entry ages out.
    public func deleteLearnedFDBEntry(mac: String, link: String) throws {
        try neighbour("delete learned fdb entry \(mac) dev \(link)", type: LinuxNetlink.RTM_DELNEIGH, flags: 0,
                      family: Int32(AF_BRIDGE), ndmFlags: OverlayNetlink.NTF_MASTER, link: link, mac: mac, address: nil)
    }

    /// Sets the link's MAC address (`ip link set NAME address MAC`).
    public func setMACAddress(_ name: String, _ mac: String) throws {
        let bytes = try macAddress(mac)
        try changeLink("set link \(name) address \(mac)", name) { $0.attribute(OverlayNetlink.IFLA_ADDRESS, bytes) }
    }

    /// Whether a link named `name` exists in this namespace.
    public func linkExists(_ name: String) throws -> Bool {
        do {
            _ = try linkIndex(name)
            return true
        } catch let error as NetlinkError where error.errno == ENODEV {
            return false
        }
    }

    /// Deletes `name` if it exists; true if it did.
    @discardableResult
    public func deleteLinkIfPresent(_ name: String) throws -> Bool {
        do {
            try deleteLink(name)
            return true
        } catch let error as NetlinkError where error.errno == ENODEV {
            return false
        }
    }
}

/// rtnetlink numbers used only here (linux/if_link.h).
enum OverlayNetlink {
    static let IFLA_ADDRESS: UInt16 = 1
    static let IFLA_VXLAN_PROXY: UInt16 = 11
    // linux/neighbour.h
    static let NTF_MASTER: UInt8 = 0x04
}

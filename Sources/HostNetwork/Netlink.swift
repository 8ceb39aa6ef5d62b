import Glibc

/// rtnetlink requests: links, addresses, routes and neighbours of the network
/// namespace its socket belongs to. Each request waits for the kernel's ack
/// and fails with a `NetlinkError` naming the operation. Not for concurrent
/// use: one request at a time.
public final class Netlink {
    private let socket: any NetlinkSocket
    private var sequence: UInt32

    /// Requests through `socket`; the first one gets sequence number
    /// `firstSequence` + 1 (tests choose it, to compare bytes).
    public init(socket: any NetlinkSocket, firstSequence: UInt32 = UInt32(truncatingIfNeeded: time(nil))) {
        self.socket = socket
        self.sequence = firstSequence
    }

    /// The kernel's rtnetlink in `namespace`, or in the calling thread's namespace if nil.
    public convenience init(namespace: NetworkNamespace? = nil) throws {
        self.init(socket: try RouteNetlinkSocket(namespace: namespace))
    }

    // MARK: Links

    /// The interface index of `name`; ENODEV if there is none.
    public func linkIndex(_ name: String) throws -> Int32 {
        var request = NetlinkRequest(type: LinuxNetlink.RTM_GETLINK)
        request.ifinfomsg()
        request.attribute(LinuxNetlink.IFLA_IFNAME, string: name)
        var index: Int32?
        try perform("find link \(name)", request) { message in
            // The RTM_NEWLINK reply: ifi_index sits 4 bytes into its ifinfomsg.
            if message.count >= 8 { index = message.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 4, as: Int32.self) } }
        }
        guard let index else { throw NetlinkError(operation: "find link \(name)", errno: ENODEV) }
        return index
    }

    public func createBridge(_ name: String) throws {
        try createLink("create bridge \(name)", name: name, kind: "bridge")
    }

    /// A veth pair `name`–`peer`. With `peerNamespace` (a netns fd) the peer is
    /// created directly in that namespace, so it never appears in this one.
    public func createVeth(_ name: String, peer: String, peerNamespace: Int32? = nil) throws {
        try createLink("create veth \(name) peer \(peer)", name: name, kind: "veth") { data in
            data.nested(LinuxNetlink.VETH_INFO_PEER) { info in
                // The peer is described like a link of its own: ifinfomsg, then attributes.
                info.ifinfomsg()
                info.attribute(LinuxNetlink.IFLA_IFNAME, string: peer)
                if let peerNamespace { info.attribute(LinuxNetlink.IFLA_NET_NS_FD, UInt32(bitPattern: peerNamespace)) }
            }
        }
    }

    /// A VXLAN device for `vni`, sending from `local` to UDP `port`. Learning is
    /// off by default: peers are known from FDB and neighbour entries instead.
    /// `underlay`: the link to send through, if not chosen by route.
    public func createVXLAN(_ name: String, vni: UInt32, local: String? = nil, port: UInt16 = 4789,
                            learning: Bool = false, underlay: String? = nil) throws {
        let localAddress = try local.map(ipv4)
        let underlayIndex = try underlay.map(linkIndex)
        try createLink("create vxlan \(name)", name: name, kind: "vxlan") { data in
            data.attribute(LinuxNetlink.IFLA_VXLAN_ID, vni)
            if let localAddress { data.attribute(LinuxNetlink.IFLA_VXLAN_LOCAL, localAddress) }
            if let underlayIndex { data.attribute(LinuxNetlink.IFLA_VXLAN_LINK, UInt32(bitPattern: underlayIndex)) }
            data.attribute(LinuxNetlink.IFLA_VXLAN_PORT, port.bigEndian)  // __be16
            data.attribute(LinuxNetlink.IFLA_VXLAN_LEARNING, UInt8(learning ? 1 : 0))
        }
    }

    public func deleteLink(_ name: String) throws {
        var request = NetlinkRequest(type: LinuxNetlink.RTM_DELLINK)
        request.ifinfomsg()
        request.attribute(LinuxNetlink.IFLA_IFNAME, string: name)
        try perform("delete link \(name)", request)
    }

    /// Moves `name` into the network namespace open as `namespace`; it leaves
    /// this one (and loses its addresses and up state).
    public func moveLink(_ name: String, toNamespace namespace: Int32) throws {
        try changeLink("move link \(name) to another namespace", name) {
            $0.attribute(LinuxNetlink.IFLA_NET_NS_FD, UInt32(bitPattern: namespace))
        }
    }

    public func setLinkUp(_ name: String) throws {
        try changeLink("set link \(name) up", name, flags: LinuxNetlink.IFF_UP, change: LinuxNetlink.IFF_UP)
    }

    public func setLinkDown(_ name: String) throws {
        try changeLink("set link \(name) down", name, flags: 0, change: LinuxNetlink.IFF_UP)
    }

    public func setMTU(_ name: String, _ mtu: Int) throws {
        try changeLink("set link \(name) mtu \(mtu)", name) { $0.attribute(LinuxNetlink.IFLA_MTU, UInt32(truncatingIfNeeded: mtu)) }
    }

    /// Attaches `name` to `bridge`, or detaches it from its bridge if nil.
    public func setMaster(_ name: String, bridge: String?) throws {
        let bridgeIndex = try bridge.map(linkIndex) ?? 0
        try changeLink("set link \(name) master \(bridge ?? "none")", name) {
            $0.attribute(LinuxNetlink.IFLA_MASTER, UInt32(bitPattern: bridgeIndex))
        }
    }

    // MARK: Addresses and routes

    /// Adds `address`/`prefix` to `link` (IFA_LOCAL and IFA_ADDRESS both set, as
    /// for any non-point-to-point link); EEXIST if it is there already.
    public func addAddress(_ address: String, prefix: Int, link: String, broadcast: String? = nil) throws {
        let operation = "add address \(address)/\(prefix) to \(link)"
        let local = try ipv4(address), prefix = try prefixLength(prefix), broadcast = try broadcast.map(ipv4)
        var request = NetlinkRequest(type: LinuxNetlink.RTM_NEWADDR, flags: LinuxNetlink.NLM_F_CREATE | LinuxNetlink.NLM_F_EXCL)
        request.ifaddrmsg(prefix: prefix, index: try linkIndex(link))
        request.attribute(LinuxNetlink.IFA_LOCAL, local)
        request.attribute(LinuxNetlink.IFA_ADDRESS, local)
        if let broadcast { request.attribute(LinuxNetlink.IFA_BROADCAST, broadcast) }
        try perform(operation, request)
    }

    /// Adds the default route via `gateway`, out of `link` if given (else the
    /// kernel picks the link whose subnet holds the gateway).
    public func addDefaultRoute(via gateway: String, link: String? = nil) throws {
        let gatewayAddress = try ipv4(gateway), index = try link.map(linkIndex)
        var request = NetlinkRequest(type: LinuxNetlink.RTM_NEWROUTE, flags: LinuxNetlink.NLM_F_CREATE | LinuxNetlink.NLM_F_EXCL)
        request.rtmsg(prefix: 0, scope: LinuxNetlink.RT_SCOPE_UNIVERSE)
        request.attribute(LinuxNetlink.RTA_GATEWAY, gatewayAddress)
        if let index { request.attribute(LinuxNetlink.RTA_OIF, UInt32(bitPattern: index)) }
        try perform("add default route via \(gateway)", request)
    }

    /// Adds a route to `destination`/`prefix` straight out of `link` (scope
    /// link: the destinations are on that link, no gateway).
    public func addRoute(_ destination: String, prefix: Int, link: String) throws {
        let destinationAddress = try ipv4(destination), prefixBits = try prefixLength(prefix)
        var request = NetlinkRequest(type: LinuxNetlink.RTM_NEWROUTE, flags: LinuxNetlink.NLM_F_CREATE | LinuxNetlink.NLM_F_EXCL)
        request.rtmsg(prefix: prefixBits, scope: LinuxNetlink.RT_SCOPE_LINK)
        request.attribute(LinuxNetlink.RTA_DST, destinationAddress)
        request.attribute(LinuxNetlink.RTA_OIF, UInt32(bitPattern: try linkIndex(link)))
        try perform("add route \(destination)/\(prefix) dev \(link)", request)
    }

    // MARK: Neighbours

    /// A permanent forwarding entry on `link` (a VXLAN device): frames for `mac`
    /// go to the VTEP at `destination`. Replaces an entry for the same MAC, so
    /// adding again is harmless (`bridge fdb replace MAC dev LINK dst DEST self permanent`).
    public func addFDBEntry(mac: String, destination: String, link: String) throws {
        let operation = "add fdb entry \(mac) dst \(destination) dev \(link)"
        try neighbour(operation, type: LinuxNetlink.RTM_NEWNEIGH, flags: LinuxNetlink.NLM_F_CREATE | LinuxNetlink.NLM_F_REPLACE, family: Int32(AF_BRIDGE),
                      ndmFlags: LinuxNetlink.NTF_SELF, link: link, mac: mac, address: destination)
    }

    /// Removes the entry for `mac` on `link`; with `destination`, only that
    /// VTEP from it.
    public func deleteFDBEntry(mac: String, destination: String? = nil, link: String) throws {
        let operation = "delete fdb entry \(mac) dev \(link)"
        try neighbour(operation, type: LinuxNetlink.RTM_DELNEIGH, flags: 0, family: Int32(AF_BRIDGE),
                      ndmFlags: LinuxNetlink.NTF_SELF, link: link, mac: mac, address: destination)
    }

    /// A permanent ARP entry: `address` is at `mac` on `link`. Replaces an entry
    /// for the same address (`ip neigh replace ADDRESS lladdr MAC dev LINK nud permanent`).
    public func addNeighbor(_ address: String, mac: String, link: String) throws {
        let operation = "add neighbour \(address) lladdr \(mac) dev \(link)"
        try neighbour(operation, type: LinuxNetlink.RTM_NEWNEIGH, flags: LinuxNetlink.NLM_F_CREATE | LinuxNetlink.NLM_F_REPLACE, family: AF_INET,
                      ndmFlags: 0, link: link, mac: mac, address: address)
    }

    public func deleteNeighbor(_ address: String, link: String) throws {
        try neighbour("delete neighbour \(address) dev \(link)", type: LinuxNetlink.RTM_DELNEIGH, flags: 0, family: AF_INET,
                      ndmFlags: 0, link: link, mac: nil, address: address)
    }

    // MARK: Plumbing

    func createLink(_ operation: String, name: String, kind: String,
                            data: ((inout NetlinkRequest) -> Void)? = nil) throws {
        var request = NetlinkRequest(type: LinuxNetlink.RTM_NEWLINK, flags: LinuxNetlink.NLM_F_CREATE | LinuxNetlink.NLM_F_EXCL)
        request.ifinfomsg()
        request.attribute(LinuxNetlink.IFLA_IFNAME, string: name)
        request.nested(LinuxNetlink.IFLA_LINKINFO) { info in
            info.attribute(LinuxNetlink.IFLA_INFO_KIND, string: kind)
            if let data { info.nested(LinuxNetlink.IFLA_INFO_DATA, data) }
        }
        try perform(operation, request)
    }

    /// RTM_NEWLINK without NLM_F_CREATE on the link named `name`: changes it,
    /// ENODEV if there is no such link.
    func changeLink(_ operation: String, _ name: String, flags: UInt32 = 0, change: UInt32 = 0,
                            attributes: (inout NetlinkRequest) -> Void = { _ in }) throws {
        var request = NetlinkRequest(type: LinuxNetlink.RTM_NEWLINK)
        request.ifinfomsg(flags: flags, change: change)
        request.attribute(LinuxNetlink.IFLA_IFNAME, string: name)
        attributes(&request)
        try perform(operation, request)
    }

    func neighbour(_ operation: String, type: UInt16, flags: UInt16, family: Int32, ndmFlags: UInt8,
                           link: String, mac: String?, address: String?) throws {
        let lladdr = try mac.map(macAddress), destination = try address.map(ipv4)
        var request = NetlinkRequest(type: type, flags: flags)
        request.ndmsg(family: family, index: try linkIndex(link), state: LinuxNetlink.NUD_PERMANENT, flags: ndmFlags)
        if let lladdr { request.attribute(LinuxNetlink.NDA_LLADDR, lladdr) }
        if let destination { request.attribute(LinuxNetlink.NDA_DST, destination) }
        try perform(operation, request)
    }

    /// Sends `request` and reads until the kernel's ack for it; `reply` sees the
    /// payload of every other message answering it (a GET's result).
    func perform(_ operation: String, _ request: NetlinkRequest,
                         reply: ([UInt8]) -> Void = { _ in }) throws {
        sequence &+= 1
        let expected = sequence
        do {
            try socket.send(request.finish(sequence: expected))
            while true {
                let answer = try NetlinkReply(try socket.receive(), sequence: expected, operation: operation)
                answer.payloads.forEach(reply)
                if answer.acked { return }
            }
        } catch let error as NetlinkSocketError {
            throw NetlinkError(operation: operation, errno: error.errno)
        }
    }
}

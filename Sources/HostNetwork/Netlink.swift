import Glibc

/// A failed rtnetlink request: what was asked and the kernel's errno, as one
/// line such as "create bridge swlab0: EEXIST (File exists)".
public struct NetlinkError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What was asked, e.g. "create bridge swlab0".
    public let operation: String
    public let errno: Int32
    /// The kernel's own reason (extended ack), when it gives one, e.g.
    /// "Unknown device type".
    public let kernelMessage: String?

    public init(operation: String, errno: Int32, kernelMessage: String? = nil) {
        self.operation = operation
        self.errno = errno
        self.kernelMessage = kernelMessage
    }

    /// strerror's text, e.g. "File exists".
    public var message: String { String(cString: strerror(errno)) }

    public var description: String {
        "\(operation): \(netlinkErrnoName(errno)) (\(message))" + (kernelMessage.map { ": \($0)" } ?? "")
    }
}

/// errnoName plus the network errors rtnetlink returns that it does not know.
private func netlinkErrnoName(_ code: Int32) -> String {
    let names: [Int32: String] = [
        EADDRINUSE: "EADDRINUSE", EADDRNOTAVAIL: "EADDRNOTAVAIL", EAFNOSUPPORT: "EAFNOSUPPORT",
        ENETDOWN: "ENETDOWN", ENETUNREACH: "ENETUNREACH", EHOSTUNREACH: "EHOSTUNREACH",
        ENOBUFS: "ENOBUFS", EPROTONOSUPPORT: "EPROTONOSUPPORT", ERANGE: "ERANGE",
    ]
    return names[code] ?? errnoName(code)
}

/// rtnetlink numbers that Swift's Glibc module does not export (they live in
/// linux/*.h, mostly as macros). Names and values as in the kernel headers.
private enum K {
    // linux/netlink.h
    static let NETLINK_ROUTE: Int32 = 0
    static let SOL_NETLINK: Int32 = 270
    static let NETLINK_CAP_ACK: Int32 = 10
    static let NETLINK_EXT_ACK: Int32 = 11
    static let NLM_F_REQUEST: UInt16 = 0x01
    static let NLM_F_ACK: UInt16 = 0x04
    static let NLM_F_REPLACE: UInt16 = 0x100
    static let NLM_F_EXCL: UInt16 = 0x200
    static let NLM_F_CREATE: UInt16 = 0x400
    static let NLM_F_CAPPED: UInt16 = 0x100     // on NLMSG_ERROR: request not echoed back
    static let NLM_F_ACK_TLVS: UInt16 = 0x200   // on NLMSG_ERROR: extended-ack attributes follow
    static let NLMSG_ERROR: UInt16 = 2
    static let NLMSGERR_ATTR_MSG: UInt16 = 1
    // linux/rtnetlink.h
    static let RTM_NEWLINK: UInt16 = 16
    static let RTM_DELLINK: UInt16 = 17
    static let RTM_GETLINK: UInt16 = 18
    static let RTM_NEWADDR: UInt16 = 20
    static let RTM_NEWROUTE: UInt16 = 24
    static let RTM_NEWNEIGH: UInt16 = 28
    static let RTM_DELNEIGH: UInt16 = 29
    static let RTA_DST: UInt16 = 1
    static let RTA_OIF: UInt16 = 4
    static let RTA_GATEWAY: UInt16 = 5
    static let RT_TABLE_MAIN: UInt8 = 254
    static let RTPROT_BOOT: UInt8 = 3
    static let RT_SCOPE_UNIVERSE: UInt8 = 0
    static let RT_SCOPE_LINK: UInt8 = 253
    static let RTN_UNICAST: UInt8 = 1
    // linux/if.h
    static let IFF_UP: UInt32 = 0x1
    // linux/if_link.h
    static let IFLA_IFNAME: UInt16 = 3
    static let IFLA_MTU: UInt16 = 4
    static let IFLA_MASTER: UInt16 = 10
    static let IFLA_LINKINFO: UInt16 = 18
    static let IFLA_NET_NS_FD: UInt16 = 28
    static let IFLA_INFO_KIND: UInt16 = 1
    static let IFLA_INFO_DATA: UInt16 = 2
    static let IFLA_VXLAN_ID: UInt16 = 1
    static let IFLA_VXLAN_LINK: UInt16 = 3
    static let IFLA_VXLAN_LOCAL: UInt16 = 4
    static let IFLA_VXLAN_LEARNING: UInt16 = 7
    static let IFLA_VXLAN_PORT: UInt16 = 15
    // linux/veth.h
    static let VETH_INFO_PEER: UInt16 = 1
    // linux/if_addr.h
    static let IFA_ADDRESS: UInt16 = 1
    static let IFA_LOCAL: UInt16 = 2
    static let IFA_BROADCAST: UInt16 = 4
    // linux/neighbour.h
    static let NDA_DST: UInt16 = 1
    static let NDA_LLADDR: UInt16 = 2
    static let NTF_SELF: UInt8 = 0x02
    static let NUD_PERMANENT: UInt16 = 0x80
}

/// One request: nlmsghdr, the message's fixed header (ifinfomsg, ifaddrmsg,
/// ...), then attributes, each padded to 4 bytes (NLA_ALIGN). Integers are in
/// host order unless the kernel header says __be.
private struct Request {
    private(set) var bytes: [UInt8] = []

    init(type: UInt16, flags: UInt16 = 0) {
        append(UInt32(0))  // nlmsg_len, set by finish
        append(type)
        append(flags | K.NLM_F_REQUEST | K.NLM_F_ACK)
        append(UInt32(0))  // nlmsg_seq, set by finish
        append(UInt32(0))  // nlmsg_pid: 0 is the kernel
    }

    mutating func append<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value) { bytes += $0 }
    }

    /// struct ifinfomsg (linux/rtnetlink.h).
    mutating func ifinfomsg(index: Int32 = 0, flags: UInt32 = 0, change: UInt32 = 0) {
        append(UInt8(AF_UNSPEC)); append(UInt8(0)); append(UInt16(0))  // family, pad, type
        append(index); append(flags); append(change)
    }

    /// struct ifaddrmsg (linux/if_addr.h).
    mutating func ifaddrmsg(prefix: UInt8, index: Int32) {
        append(UInt8(AF_INET)); append(prefix); append(UInt8(0)); append(K.RT_SCOPE_UNIVERSE)
        append(UInt32(bitPattern: index))
    }

    /// struct rtmsg (linux/rtnetlink.h): a main-table unicast route.
    mutating func rtmsg(prefix: UInt8, scope: UInt8) {
        append(UInt8(AF_INET)); append(prefix); append(UInt8(0)); append(UInt8(0))  // family, dst_len, src_len, tos
        append(K.RT_TABLE_MAIN); append(K.RTPROT_BOOT); append(scope); append(K.RTN_UNICAST)
        append(UInt32(0))  // flags
    }

    /// struct ndmsg (linux/neighbour.h).
    mutating func ndmsg(family: Int32, index: Int32, state: UInt16, flags: UInt8) {
        append(UInt8(family)); append(UInt8(0)); append(UInt16(0))  // family, pad1, pad2
        append(index); append(state); append(flags); append(UInt8(0))  // ..., type
    }

    mutating func attribute(_ type: UInt16, _ payload: [UInt8]) {
        append(UInt16(4 + payload.count))
        append(type)
        bytes += payload
        while bytes.count % 4 != 0 { bytes.append(0) }
    }

    mutating func attribute<T: FixedWidthInteger>(_ type: UInt16, _ value: T) {
        attribute(type, withUnsafeBytes(of: value) { Array($0) })
    }

    mutating func attribute(_ type: UInt16, string: String) {
        attribute(type, Array(string.utf8) + [0])
    }

    /// An attribute whose payload is the attributes `body` appends. Sent
    /// without NLA_F_NESTED, as iproute2 does; rtnetlink accepts that here.
    mutating func nested(_ type: UInt16, _ body: (inout Request) -> Void) {
        let start = bytes.count
        append(UInt16(0))
        append(type)
        body(&self)
        let length = UInt16(bytes.count - start)
        withUnsafeBytes(of: length) { bytes.replaceSubrange(start..<start + 2, with: $0) }
    }

    func finish(sequence: UInt32) -> [UInt8] {
        var message = bytes
        withUnsafeBytes(of: UInt32(message.count)) { message.replaceSubrange(0..<4, with: $0) }
        withUnsafeBytes(of: sequence) { message.replaceSubrange(8..<12, with: $0) }
        return message
    }
}

/// An rtnetlink socket: links, addresses, routes and neighbours of the network
/// namespace it was opened in, whichever thread uses it later. Not for
/// concurrent use: one request at a time.
public final class Netlink {
    private let fd: Int32
    private var sequence: UInt32

    /// A socket in `namespace`, or in the calling thread's namespace if nil.
    public init(namespace: NetworkNamespace? = nil) throws {
        fd = try namespace.map { try $0.run(Netlink.openSocket) } ?? Netlink.openSocket()
        sequence = UInt32(truncatingIfNeeded: time(nil))
    }

    deinit { close(fd) }

    private static func openSocket() throws -> Int32 {
        let fd = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), K.NETLINK_ROUTE)
        guard fd >= 0 else { throw NetlinkError(operation: "open rtnetlink socket", errno: Glibc.errno) }
        // Errors then carry the kernel's reason text, and not a copy of our request.
        var on: Int32 = 1
        _ = setsockopt(fd, K.SOL_NETLINK, K.NETLINK_CAP_ACK, &on, socklen_t(MemoryLayout<Int32>.size))
        _ = setsockopt(fd, K.SOL_NETLINK, K.NETLINK_EXT_ACK, &on, socklen_t(MemoryLayout<Int32>.size))
        return fd
    }

    // MARK: Links

    /// The interface index of `name`; ENODEV if there is none.
    public func linkIndex(_ name: String) throws -> Int32 {
        var request = Request(type: K.RTM_GETLINK)
        request.ifinfomsg()
        request.attribute(K.IFLA_IFNAME, string: name)
        var index: Int32?
        try perform("find link \(name)", request) { message in
            // The RTM_NEWLINK reply: ifi_index sits 4 bytes into its ifinfomsg.
            if message.count >= 8 { index = message.loadUnaligned(fromByteOffset: 4, as: Int32.self) }
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
            data.nested(K.VETH_INFO_PEER) { info in
                // The peer is described like a link of its own: ifinfomsg, then attributes.
                info.ifinfomsg()
                info.attribute(K.IFLA_IFNAME, string: peer)
                if let peerNamespace { info.attribute(K.IFLA_NET_NS_FD, UInt32(bitPattern: peerNamespace)) }
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
            data.attribute(K.IFLA_VXLAN_ID, vni)
            if let localAddress { data.attribute(K.IFLA_VXLAN_LOCAL, localAddress) }
            if let underlayIndex { data.attribute(K.IFLA_VXLAN_LINK, UInt32(bitPattern: underlayIndex)) }
            data.attribute(K.IFLA_VXLAN_PORT, port.bigEndian)  // __be16
            data.attribute(K.IFLA_VXLAN_LEARNING, UInt8(learning ? 1 : 0))
        }
    }

    public func deleteLink(_ name: String) throws {
        var request = Request(type: K.RTM_DELLINK)
        request.ifinfomsg()
        request.attribute(K.IFLA_IFNAME, string: name)
        try perform("delete link \(name)", request)
    }

    /// Moves `name` into the network namespace open as `namespace`; it leaves
    /// this one (and loses its addresses and up state).
    public func moveLink(_ name: String, toNamespace namespace: Int32) throws {
        try changeLink("move link \(name) to another namespace", name) {
            $0.attribute(K.IFLA_NET_NS_FD, UInt32(bitPattern: namespace))
        }
    }

    public func setLinkUp(_ name: String) throws {
        try changeLink("set link \(name) up", name, flags: K.IFF_UP, change: K.IFF_UP)
    }

    public func setLinkDown(_ name: String) throws {
        try changeLink("set link \(name) down", name, flags: 0, change: K.IFF_UP)
    }

    public func setMTU(_ name: String, _ mtu: Int) throws {
        try changeLink("set link \(name) mtu \(mtu)", name) { $0.attribute(K.IFLA_MTU, UInt32(truncatingIfNeeded: mtu)) }
    }

    /// Attaches `name` to `bridge`, or detaches it from its bridge if nil.
    public func setMaster(_ name: String, bridge: String?) throws {
        let bridgeIndex = try bridge.map(linkIndex) ?? 0
        try changeLink("set link \(name) master \(bridge ?? "none")", name) {
            $0.attribute(K.IFLA_MASTER, UInt32(bitPattern: bridgeIndex))
        }
    }

    // MARK: Addresses and routes

    /// Adds `address`/`prefix` to `link` (IFA_LOCAL and IFA_ADDRESS both set, as
    /// for any non-point-to-point link); EEXIST if it is there already.
    public func addAddress(_ address: String, prefix: Int, link: String, broadcast: String? = nil) throws {
        let operation = "add address \(address)/\(prefix) to \(link)"
        let local = try ipv4(address), prefix = try prefixLength(prefix), broadcast = try broadcast.map(ipv4)
        var request = Request(type: K.RTM_NEWADDR, flags: K.NLM_F_CREATE | K.NLM_F_EXCL)
        request.ifaddrmsg(prefix: prefix, index: try linkIndex(link))
        request.attribute(K.IFA_LOCAL, local)
        request.attribute(K.IFA_ADDRESS, local)
        if let broadcast { request.attribute(K.IFA_BROADCAST, broadcast) }
        try perform(operation, request)
    }

    /// Adds the default route via `gateway`, out of `link` if given (else the
    /// kernel picks the link whose subnet holds the gateway).
    public func addDefaultRoute(via gateway: String, link: String? = nil) throws {
        let gatewayAddress = try ipv4(gateway), index = try link.map(linkIndex)
        var request = Request(type: K.RTM_NEWROUTE, flags: K.NLM_F_CREATE | K.NLM_F_EXCL)
        request.rtmsg(prefix: 0, scope: K.RT_SCOPE_UNIVERSE)
        request.attribute(K.RTA_GATEWAY, gatewayAddress)
        if let index { request.attribute(K.RTA_OIF, UInt32(bitPattern: index)) }
        try perform("add default route via \(gateway)", request)
    }

    /// Adds a route to `destination`/`prefix` straight out of `link` (scope
    /// link: the destinations are on that link, no gateway).
    public func addRoute(_ destination: String, prefix: Int, link: String) throws {
        let destinationAddress = try ipv4(destination), prefixBits = try prefixLength(prefix)
        var request = Request(type: K.RTM_NEWROUTE, flags: K.NLM_F_CREATE | K.NLM_F_EXCL)
        request.rtmsg(prefix: prefixBits, scope: K.RT_SCOPE_LINK)
        request.attribute(K.RTA_DST, destinationAddress)
        request.attribute(K.RTA_OIF, UInt32(bitPattern: try linkIndex(link)))
        try perform("add route \(destination)/\(prefix) dev \(link)", request)
    }

    // MARK: Neighbours

    /// A permanent forwarding entry on `link` (a VXLAN device): frames for `mac`
    /// go to the VTEP at `destination`. Replaces an entry for the same MAC, so
    /// adding again is harmless (`bridge fdb replace MAC dev LINK dst DEST self permanent`).
    public func addFDBEntry(mac: String, destination: String, link: String) throws {
        let operation = "add fdb entry \(mac) dst \(destination) dev \(link)"
        try neighbour(operation, type: K.RTM_NEWNEIGH, flags: K.NLM_F_CREATE | K.NLM_F_REPLACE, family: Int32(AF_BRIDGE),
                      ndmFlags: K.NTF_SELF, link: link, mac: mac, address: destination)
    }

    /// Removes the entry for `mac` on `link`; with `destination`, only that
    /// VTEP from it.
    public func deleteFDBEntry(mac: String, destination: String? = nil, link: String) throws {
        let operation = "delete fdb entry \(mac) dev \(link)"
        try neighbour(operation, type: K.RTM_DELNEIGH, flags: 0, family: Int32(AF_BRIDGE),
                      ndmFlags: K.NTF_SELF, link: link, mac: mac, address: destination)
    }

    /// A permanent ARP entry: `address` is at `mac` on `link`. Replaces an entry
    /// for the same address (`ip neigh replace ADDRESS lladdr MAC dev LINK nud permanent`).
    public func addNeighbor(_ address: String, mac: String, link: String) throws {
        let operation = "add neighbour \(address) lladdr \(mac) dev \(link)"
        try neighbour(operation, type: K.RTM_NEWNEIGH, flags: K.NLM_F_CREATE | K.NLM_F_REPLACE, family: AF_INET,
                      ndmFlags: 0, link: link, mac: mac, address: address)
    }

    public func deleteNeighbor(_ address: String, link: String) throws {
        try neighbour("delete neighbour \(address) dev \(link)", type: K.RTM_DELNEIGH, flags: 0, family: AF_INET,
                      ndmFlags: 0, link: link, mac: nil, address: address)
    }

    // MARK: Plumbing

    private func createLink(_ operation: String, name: String, kind: String,
                            data: ((inout Request) -> Void)? = nil) throws {
        var request = Request(type: K.RTM_NEWLINK, flags: K.NLM_F_CREATE | K.NLM_F_EXCL)
        request.ifinfomsg()
        request.attribute(K.IFLA_IFNAME, string: name)
        request.nested(K.IFLA_LINKINFO) { info in
            info.attribute(K.IFLA_INFO_KIND, string: kind)
            if let data { info.nested(K.IFLA_INFO_DATA, data) }
        }
        try perform(operation, request)
    }

    /// RTM_NEWLINK without NLM_F_CREATE on the link named `name`: changes it,
    /// ENODEV if there is no such link.
    private func changeLink(_ operation: String, _ name: String, flags: UInt32 = 0, change: UInt32 = 0,
                            attributes: (inout Request) -> Void = { _ in }) throws {
        var request = Request(type: K.RTM_NEWLINK)
        request.ifinfomsg(flags: flags, change: change)
        request.attribute(K.IFLA_IFNAME, string: name)
        attributes(&request)
        try perform(operation, request)
    }

    private func neighbour(_ operation: String, type: UInt16, flags: UInt16, family: Int32, ndmFlags: UInt8,
                           link: String, mac: String?, address: String?) throws {
        let lladdr = try mac.map(macAddress), destination = try address.map(ipv4)
        var request = Request(type: type, flags: flags)
        request.ndmsg(family: family, index: try linkIndex(link), state: K.NUD_PERMANENT, flags: ndmFlags)
        if let lladdr { request.attribute(K.NDA_LLADDR, lladdr) }
        if let destination { request.attribute(K.NDA_DST, destination) }
        try perform(operation, request)
    }

    /// Sends `request` and reads until the kernel's ack for it; `reply` sees the
    /// payload of every other message answering it (a GET's result).
    private func perform(_ operation: String, _ request: Request,
                         reply: (UnsafeRawBufferPointer) -> Void = { _ in }) throws {
        sequence &+= 1
        let expected = sequence
        let message = request.finish(sequence: expected)
        let sent = message.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        guard sent == message.count else { throw NetlinkError(operation: operation, errno: sent < 0 ? Glibc.errno : EMSGSIZE) }

        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                if Glibc.errno == EINTR { continue }
                throw NetlinkError(operation: operation, errno: Glibc.errno)
            }
            let acked = try buffer.withUnsafeBytes { all in
                var offset = 0
                while offset + 16 <= count {
                    let length = Int(all.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
                    guard length >= 16, offset + length <= count else { break }
                    let type = all.loadUnaligned(fromByteOffset: offset + 4, as: UInt16.self)
                    let flags = all.loadUnaligned(fromByteOffset: offset + 6, as: UInt16.self)
                    let seq = all.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self)
                    let body = UnsafeRawBufferPointer(rebasing: all[offset + 16..<offset + length])
                    // Other sequence numbers are left over from an earlier request that failed midway.
                    if seq == expected && type == K.NLMSG_ERROR {
                        let code = body.count >= 4 ? body.loadUnaligned(as: Int32.self) : -EPROTO
                        guard code == 0 else {
                            throw NetlinkError(operation: operation, errno: -code,
                                               kernelMessage: Netlink.extendedAckMessage(body, flags: flags))
                        }
                        return true
                    }
                    if seq == expected { reply(body) }
                    offset += (length + 3) & ~3
                }
                return false
            }
            if acked { return }
        }
    }

    /// NLMSGERR_ATTR_MSG from an NLMSG_ERROR payload (struct nlmsgerr: errno,
    /// then our request's header, or all of it if not NLM_F_CAPPED; then attributes).
    private static func extendedAckMessage(_ body: UnsafeRawBufferPointer, flags: UInt16) -> String? {
        guard flags & K.NLM_F_ACK_TLVS != 0, body.count >= 20 else { return nil }
        var offset = 4 + (flags & K.NLM_F_CAPPED != 0 ? 16 : Int(body.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
        offset = (offset + 3) & ~3
        while offset + 4 <= body.count {
            let length = Int(body.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
            let type = body.loadUnaligned(fromByteOffset: offset + 2, as: UInt16.self)
            guard length >= 4, offset + length <= body.count else { break }
            if type == K.NLMSGERR_ATTR_MSG {
                let text = body[(offset + 4)..<(offset + length)].prefix { $0 != 0 }
                return String(decoding: text, as: UTF8.self)
            }
            offset += (length + 3) & ~3
        }
        return nil
    }
}

/// "10.0.0.1" → its 4 bytes in network order, as rtnetlink wants addresses.
private func ipv4(_ text: String) throws -> [UInt8] {
    var address = in_addr()
    guard inet_pton(AF_INET, text, &address) == 1 else { throw RuntimeError.badInput("not an IPv4 address: \(text)") }
    return withUnsafeBytes(of: address) { Array($0) }
}

private func prefixLength(_ prefix: Int) throws -> UInt8 {
    guard (0...32).contains(prefix) else { throw RuntimeError.badInput("not an IPv4 prefix length (0-32): \(prefix)") }
    return UInt8(prefix)
}

/// "02:42:0a:00:00:02" → 6 bytes.
private func macAddress(_ text: String) throws -> [UInt8] {
    let bytes = text.split(separator: ":", omittingEmptySubsequences: false).compactMap { part in
        part.count == 2 ? UInt8(part, radix: 16) : nil
    }
    guard bytes.count == 6 else { throw RuntimeError.badInput("not a MAC address: \(text)") }
    return bytes
}

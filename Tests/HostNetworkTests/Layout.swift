import Glibc

// Netlink messages written out field by field from the kernel's uapi
// headers, independently of HostNetwork's own request builder, so that the
// tests compare its bytes with the layouts and not with itself. Values as
// in /usr/include/linux/{netlink,rtnetlink,if_link,if_addr,veth,if}.h.

enum UAPI {
    // linux/netlink.h
    static let NLM_F_REQUEST: UInt16 = 1, NLM_F_ACK: UInt16 = 4
    static let NLM_F_EXCL: UInt16 = 0x200, NLM_F_CREATE: UInt16 = 0x400
    static let NLM_F_CAPPED: UInt16 = 0x100, NLM_F_ACK_TLVS: UInt16 = 0x200
    static let NLMSG_ERROR: UInt16 = 2, NLMSGERR_ATTR_MSG: UInt16 = 1
    // linux/rtnetlink.h
    static let RTM_NEWLINK: UInt16 = 16, RTM_GETLINK: UInt16 = 18, RTM_NEWADDR: UInt16 = 20, RTM_NEWROUTE: UInt16 = 24
    static let RTA_DST: UInt16 = 1, RTA_OIF: UInt16 = 4, RTA_GATEWAY: UInt16 = 5
    static let RT_TABLE_MAIN: UInt8 = 254, RTPROT_BOOT: UInt8 = 3, RT_SCOPE_UNIVERSE: UInt8 = 0, RT_SCOPE_LINK: UInt8 = 253
    static let RTN_UNICAST: UInt8 = 1
    // linux/if.h
    static let IFF_UP: UInt32 = 1
    // linux/if_link.h
    static let IFLA_IFNAME: UInt16 = 3, IFLA_MASTER: UInt16 = 10, IFLA_LINKINFO: UInt16 = 18, IFLA_NET_NS_FD: UInt16 = 28
    static let IFLA_INFO_KIND: UInt16 = 1, IFLA_INFO_DATA: UInt16 = 2
    // linux/veth.h
    static let VETH_INFO_PEER: UInt16 = 1
    // linux/if_addr.h
    static let IFA_ADDRESS: UInt16 = 1, IFA_LOCAL: UInt16 = 2, IFA_BROADCAST: UInt16 = 4
}

/// Little-endian (this machine's order) bytes of an integer.
func le<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    (0..<MemoryLayout<T>.size).map { UInt8(truncatingIfNeeded: value.littleEndian >> ($0 * 8)) }
}

/// struct nlmsghdr (16 bytes) followed by `body`; nlmsg_len counts both.
func message(type: UInt16, flags: UInt16, sequence: UInt32, _ body: [UInt8]) -> [UInt8] {
    le(UInt32(16 + body.count)) + le(type) + le(flags) + le(sequence) + le(UInt32(0)) + body
}

/// struct ifinfomsg (16 bytes): family, pad, type, index, flags, change.
func ifinfomsg(index: Int32 = 0, flags: UInt32 = 0, change: UInt32 = 0) -> [UInt8] {
    [UInt8(AF_UNSPEC), 0] + le(UInt16(0)) + le(index) + le(flags) + le(change)
}

/// struct ifaddrmsg (8 bytes): family, prefixlen, flags, scope, index.
func ifaddrmsg(prefix: UInt8, index: UInt32) -> [UInt8] {
    [UInt8(AF_INET), prefix, 0, UAPI.RT_SCOPE_UNIVERSE] + le(index)
}

/// struct rtmsg (12 bytes): family, dst_len, src_len, tos, table, protocol, scope, type, flags.
func rtmsg(prefix: UInt8, scope: UInt8) -> [UInt8] {
    [UInt8(AF_INET), prefix, 0, 0, UAPI.RT_TABLE_MAIN, UAPI.RTPROT_BOOT, scope, UAPI.RTN_UNICAST] + le(UInt32(0))
}

/// struct rtattr (len, type) and its payload, padded to 4 bytes (RTA_ALIGN);
/// rta_len counts the header and the payload, not the padding.
func rtattr(_ type: UInt16, _ payload: [UInt8]) -> [UInt8] {
    let unpadded = le(UInt16(4 + payload.count)) + le(type) + payload
    return unpadded + [UInt8](repeating: 0, count: (4 - unpadded.count % 4) % 4)
}

func rtattr(_ type: UInt16, string: String) -> [UInt8] { rtattr(type, Array(string.utf8) + [0]) }

func rtattr(_ type: UInt16, u32 value: UInt32) -> [UInt8] { rtattr(type, le(value)) }

/// A dotted IPv4 address's four bytes, network order.
func ip(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) -> [UInt8] { [a, b, c, d] }

/// The kernel's ack of request `sequence`: NLMSG_ERROR whose struct
/// nlmsgerr has error 0 and (NLM_F_CAPPED) only the request's header.
func ack(sequence: UInt32) -> [UInt8] {
    failure(sequence: sequence, errno: 0)
}

/// NLMSG_ERROR with -errno, capped, and the kernel's reason as an
/// NLMSGERR_ATTR_MSG attribute if `reason` is given.
func failure(sequence: UInt32, errno code: Int32, reason: String? = nil) -> [UInt8] {
    let echoedHeader = le(UInt32(16)) + le(UInt16(0)) + le(UInt16(0)) + le(sequence) + le(UInt32(0))
    let attributes = reason.map { rtattr(UAPI.NLMSGERR_ATTR_MSG, string: $0) } ?? []
    let flags = UAPI.NLM_F_CAPPED | (reason == nil ? 0 : UAPI.NLM_F_ACK_TLVS)
    return message(type: UAPI.NLMSG_ERROR, flags: flags, sequence: sequence, le(-code) + echoedHeader + attributes)
}

/// The RTM_NEWLINK answering an RTM_GETLINK: the link's index in its ifinfomsg.
func linkReply(sequence: UInt32, index: Int32, name: String) -> [UInt8] {
    message(type: UAPI.RTM_NEWLINK, flags: 0, sequence: sequence, ifinfomsg(index: index) + rtattr(UAPI.IFLA_IFNAME, string: name))
}

/// The RTM_GETLINK a request sends first to find a link's index.
func getLink(_ name: String, sequence: UInt32) -> [UInt8] {
    message(type: UAPI.RTM_GETLINK, flags: UAPI.NLM_F_REQUEST | UAPI.NLM_F_ACK, sequence: sequence,
            ifinfomsg() + rtattr(UAPI.IFLA_IFNAME, string: name))
}

import Glibc

/// One request: nlmsghdr, the message's fixed header (ifinfomsg, ifaddrmsg,
/// ...), then attributes, each padded to 4 bytes (NLA_ALIGN). Integers are in
/// host order unless the kernel header says __be.
struct NetlinkRequest {
    private(set) var bytes: [UInt8] = []

    init(type: UInt16, flags: UInt16 = 0) {
        append(UInt32(0))  // nlmsg_len, set by finish
        append(type)
        append(flags | LinuxNetlink.NLM_F_REQUEST | LinuxNetlink.NLM_F_ACK)
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
        append(UInt8(AF_INET)); append(prefix); append(UInt8(0)); append(LinuxNetlink.RT_SCOPE_UNIVERSE)
        append(UInt32(bitPattern: index))
    }

    /// struct rtmsg (linux/rtnetlink.h): a main-table unicast route.
    mutating func rtmsg(prefix: UInt8, scope: UInt8) {
        append(UInt8(AF_INET)); append(prefix); append(UInt8(0)); append(UInt8(0))  // family, dst_len, src_len, tos
        append(LinuxNetlink.RT_TABLE_MAIN); append(LinuxNetlink.RTPROT_BOOT); append(scope); append(LinuxNetlink.RTN_UNICAST)
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
    mutating func nested(_ type: UInt16, _ body: (inout NetlinkRequest) -> Void) {
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

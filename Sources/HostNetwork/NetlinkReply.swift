import Glibc

/// What one datagram from the kernel says about the request with sequence
/// number `sequence`: the payloads answering it (a GET's result), and
/// whether its ack came (NLMSG_ERROR with 0). An NLMSG_ERROR with an errno
/// is thrown as `NetlinkError` naming `operation`. Messages with other
/// sequence numbers are left over from an earlier request that failed
/// midway, and skipped.
struct NetlinkReply {
    var payloads: [[UInt8]] = []
    var acked = false

    init(_ datagram: [UInt8], sequence: UInt32, operation: String) throws(NetlinkError) {
        let result: Result<Void, NetlinkError> = datagram.withUnsafeBytes { all in
            var offset = 0
            while offset + 16 <= all.count {
                let length = Int(all.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
                guard length >= 16, offset + length <= all.count else { break }
                let type = all.loadUnaligned(fromByteOffset: offset + 4, as: UInt16.self)
                let flags = all.loadUnaligned(fromByteOffset: offset + 6, as: UInt16.self)
                let seq = all.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self)
                let body = UnsafeRawBufferPointer(rebasing: all[offset + 16..<offset + length])
                if seq == sequence && type == LinuxNetlink.NLMSG_ERROR {
                    let code = body.count >= 4 ? body.loadUnaligned(as: Int32.self) : -EPROTO
                    guard code == 0 else {
                        return .failure(NetlinkError(operation: operation, errno: -code,
                                                     kernelMessage: NetlinkReply.extendedAckMessage(body, flags: flags)))
                    }
                    acked = true
                    return .success(())
                }
                if seq == sequence { payloads.append(Array(body)) }
                offset += (length + 3) & ~3
            }
            return .success(())
        }
        try result.get()
    }

    /// NLMSGERR_ATTR_MSG from an NLMSG_ERROR payload (struct nlmsgerr: errno,
    /// then our request's header, or all of it if not NLM_F_CAPPED; then attributes).
    private static func extendedAckMessage(_ body: UnsafeRawBufferPointer, flags: UInt16) -> String? {
        guard flags & LinuxNetlink.NLM_F_ACK_TLVS != 0, body.count >= 20 else { return nil }
        var offset = 4 + (flags & LinuxNetlink.NLM_F_CAPPED != 0 ? 16 : Int(body.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
        offset = (offset + 3) & ~3
        while offset + 4 <= body.count {
            let length = Int(body.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
            let type = body.loadUnaligned(fromByteOffset: offset + 2, as: UInt16.self)
            guard length >= 4, offset + length <= body.count else { break }
            if type == LinuxNetlink.NLMSGERR_ATTR_MSG {
                let text = body[(offset + 4)..<(offset + length)].prefix { $0 != 0 }
                return String(decoding: text, as: UTF8.self)
            }
            offset += (length + 3) & ~3
        }
        return nil
    }
}

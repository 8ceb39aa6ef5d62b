import Glibc

/// The kernel's rtnetlink: an AF_NETLINK/NETLINK_ROUTE socket of the network
/// namespace it was opened in, whichever thread uses it later.
public final class RouteNetlinkSocket: NetlinkSocket {
    private let fd: Int32
    private var buffer = [UInt8](repeating: 0, count: 65536)

    /// A socket in `namespace`, or in the calling thread's namespace if nil.
    public init(namespace: NetworkNamespace? = nil) throws {
        fd = try namespace.map { try $0.run(RouteNetlinkSocket.open) } ?? RouteNetlinkSocket.open()
    }

    deinit { close(fd) }

    private static func open() throws -> Int32 {
        let fd = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), LinuxNetlink.NETLINK_ROUTE)
        guard fd >= 0 else { throw NetlinkError(operation: "open rtnetlink socket", errno: Glibc.errno) }
        // Errors then carry the kernel's reason text, and not a copy of our request.
        var on: Int32 = 1
        _ = setsockopt(fd, LinuxNetlink.SOL_NETLINK, LinuxNetlink.NETLINK_CAP_ACK, &on, socklen_t(MemoryLayout<Int32>.size))
        _ = setsockopt(fd, LinuxNetlink.SOL_NETLINK, LinuxNetlink.NETLINK_EXT_ACK, &on, socklen_t(MemoryLayout<Int32>.size))
        return fd
    }

    public func send(_ message: [UInt8]) throws(NetlinkSocketError) {
        while true {
            let sent = message.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
            if sent == message.count { return }
            if sent < 0 && Glibc.errno == EINTR { continue }
            throw NetlinkSocketError(errno: sent < 0 ? Glibc.errno : EMSGSIZE)
        }
    }

    public func receive() throws(NetlinkSocketError) -> [UInt8] {
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count >= 0 { return Array(buffer[..<count]) }
            if Glibc.errno != EINTR { throw NetlinkSocketError(errno: Glibc.errno) }
        }
    }
}

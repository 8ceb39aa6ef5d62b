/// Where rtnetlink requests go and replies come from: the kernel
/// (`RouteNetlinkSocket`), or in tests a double that records the bytes sent
/// and replays prepared answers, so requests are checked byte for byte
/// without root.
public protocol NetlinkSocket: AnyObject {
    /// Sends one request message, whole.
    func send(_ message: [UInt8]) throws(NetlinkSocketError)
    /// The next datagram from the kernel: one or more netlink messages.
    func receive() throws(NetlinkSocketError) -> [UInt8]
}

/// A send or receive that failed, with its errno; `Netlink` turns it into a
/// `NetlinkError` naming the operation it was for.
public struct NetlinkSocketError: Error, Equatable, Sendable {
    public let errno: Int32

    public init(errno: Int32) { self.errno = errno }
}

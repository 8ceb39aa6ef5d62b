import Glibc
import SystemCalls

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
        "\(operation): \(errnoName(errno)) (\(message))" + (kernelMessage.map { ": \($0)" } ?? "")
    }
}

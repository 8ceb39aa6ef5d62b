import Glibc
import SystemCalls

/// Errors of the host's network plumbing other than rtnetlink requests
/// (those are `NetlinkError`). Each renders as one line, in the same shape
/// as the runtime's errors: "mount /run/x: EPERM".
public enum HostNetworkError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The input is wrong (a name, an address); nothing was changed.
    case badInput(String)
    /// A system call failed: errno, the call, and the path or value involved.
    case system(errno: Int32, call: String, detail: String)

    public var description: String {
        switch self {
        case .badInput(let message): return message
        case .system(let code, let call, let detail):
            return detail.isEmpty ? "\(call): \(errnoName(code))" : "\(call) \(detail): \(errnoName(code))"
        }
    }
}

/// Runs a system call, retrying EINTR, and throws `HostNetworkError.system` on -1.
@discardableResult
func syscall<T: BinaryInteger>(_ call: String, _ detail: @autoclosure () -> String = "", _ body: () -> T) throws -> T {
    while true {
        let result = body()
        if result != -1 { return result }
        let code = errno
        if code == EINTR { continue }
        throw HostNetworkError.system(errno: code, call: call, detail: detail())
    }
}

import Glibc

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

/// "ENOENT" for 2, and so on, with the network errors rtnetlink returns;
/// the symbolic name is what people search for.
func errnoName(_ code: Int32) -> String {
    let names: [Int32: String] = [
        EPERM: "EPERM", ENOENT: "ENOENT", ESRCH: "ESRCH", EINTR: "EINTR", EIO: "EIO",
        ENXIO: "ENXIO", E2BIG: "E2BIG", EBADF: "EBADF", EAGAIN: "EAGAIN", ENOMEM: "ENOMEM",
        EACCES: "EACCES", EFAULT: "EFAULT", EBUSY: "EBUSY", EEXIST: "EEXIST", EXDEV: "EXDEV",
        ENODEV: "ENODEV", ENOTDIR: "ENOTDIR", EISDIR: "EISDIR", EINVAL: "EINVAL", ENFILE: "ENFILE",
        EMFILE: "EMFILE", ENOSPC: "ENOSPC", EROFS: "EROFS", EMLINK: "EMLINK", EPIPE: "EPIPE",
        ENAMETOOLONG: "ENAMETOOLONG", ENOSYS: "ENOSYS", ENOTEMPTY: "ENOTEMPTY", ELOOP: "ELOOP",
        EOPNOTSUPP: "EOPNOTSUPP", EMSGSIZE: "EMSGSIZE", EPROTO: "EPROTO",
        EADDRINUSE: "EADDRINUSE", EADDRNOTAVAIL: "EADDRNOTAVAIL", EAFNOSUPPORT: "EAFNOSUPPORT",
        ENETDOWN: "ENETDOWN", ENETUNREACH: "ENETUNREACH", EHOSTUNREACH: "EHOSTUNREACH",
        ENOBUFS: "ENOBUFS", EPROTONOSUPPORT: "EPROTONOSUPPORT", ERANGE: "ERANGE",
    ]
    return names[code] ?? "errno \(code)"
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

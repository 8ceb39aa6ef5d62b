import Glibc

/// Errors from the runtime. Each renders as one line that says what failed
/// and, where the user can do something, what to do.
public enum RuntimeError: Error, Equatable, CustomStringConvertible {
    /// The user's input is wrong; nothing was changed.
    case badInput(String)
    /// A system call failed: errno, the call, and the path or value involved.
    case system(errno: Int32, call: String, detail: String)
    /// A setup step failed in the container's child process.
    case setupFailed(errno: Int32, step: String, hint: String?)
    /// No container matches the given id or name.
    case noSuchContainer(String)
    /// The operation does not fit the container's state.
    case conflict(String)

    public var description: String {
        switch self {
        case .badInput(let message): return message
        case .system(let code, let call, let detail):
            return detail.isEmpty ? "\(call): \(errnoName(code))" : "\(call) \(detail): \(errnoName(code))"
        case .setupFailed(let code, let step, let hint):
            return "container setup failed at \(step): \(errnoName(code))" + (hint.map { " (\($0))" } ?? "")
        case .noSuchContainer(let ref): return "No such container: \(ref)"
        case .conflict(let message): return message
        }
    }
}

/// "ENOENT" for 2, and so on; the symbolic name is what people search for.
public func errnoName(_ code: Int32) -> String {
    let names: [Int32: String] = [
        EPERM: "EPERM", ENOENT: "ENOENT", ESRCH: "ESRCH", EINTR: "EINTR", EIO: "EIO",
        ENXIO: "ENXIO", E2BIG: "E2BIG", ENOEXEC: "ENOEXEC", EBADF: "EBADF", ECHILD: "ECHILD",
        EAGAIN: "EAGAIN", ENOMEM: "ENOMEM", EACCES: "EACCES", EFAULT: "EFAULT", EBUSY: "EBUSY",
        EEXIST: "EEXIST", EXDEV: "EXDEV", ENODEV: "ENODEV", ENOTDIR: "ENOTDIR", EISDIR: "EISDIR",
        EINVAL: "EINVAL", ENFILE: "ENFILE", EMFILE: "EMFILE", ENOSPC: "ENOSPC", EROFS: "EROFS",
        EMLINK: "EMLINK", EPIPE: "EPIPE", ENAMETOOLONG: "ENAMETOOLONG", ENOSYS: "ENOSYS",
        ENOTEMPTY: "ENOTEMPTY", ELOOP: "ELOOP", EOPNOTSUPP: "EOPNOTSUPP",
        // What rtnetlink and sockets return besides.
        EMSGSIZE: "EMSGSIZE", EPROTO: "EPROTO", EADDRINUSE: "EADDRINUSE", EADDRNOTAVAIL: "EADDRNOTAVAIL",
        EAFNOSUPPORT: "EAFNOSUPPORT", ENETDOWN: "ENETDOWN", ENETUNREACH: "ENETUNREACH", EHOSTUNREACH: "EHOSTUNREACH",
        ENOBUFS: "ENOBUFS", EPROTONOSUPPORT: "EPROTONOSUPPORT", ERANGE: "ERANGE",
    ]
    return names[code] ?? "errno \(code)"
}

/// Runs a system call, retrying EINTR, and throws `RuntimeError.system` on -1.
@discardableResult
public func syscall<T: BinaryInteger>(_ call: String, _ detail: @autoclosure () -> String = "", _ body: () -> T) throws -> T {
    while true {
        let result = body()
        if result != -1 { return result }
        let code = errno
        if code == EINTR { continue }
        throw RuntimeError.system(errno: code, call: call, detail: detail())
    }
}

public enum EtcdMemberError: Error, CustomStringConvertible, Equatable {
    /// etcd is not installed (or not at the configured path).
    case notInstalled(String)
    /// The process ended before it answered (its last log lines).
    case exited(status: String, log: String)
    /// It runs but did not become healthy in time.
    case notHealthy(seconds: Int, log: String)

    public var description: String {
        switch self {
        case .notInstalled(let name): "\(name) not found: install etcd (apt-get install -y etcd-server)"
        case .exited(let status, let log): "etcd exited (\(status)): \(log)"
        case .notHealthy(let seconds, let log): "etcd did not become healthy within \(seconds) s: \(log)"
        }
    }
}

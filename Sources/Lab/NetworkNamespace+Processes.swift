import FoundationEssentials
import Glibc
import HostNetwork

extension NetworkNamespace {
    /// The namespace's identity (device and inode of its nsfs file), as
    /// /proc/PID/ns/net of every process inside shows it; nil if the name
    /// does not exist or nothing is mounted on it.
    public func identity() -> (device: UInt64, inode: UInt64)? {
        var info = stat()
        guard stat(path, &info) == 0, info.st_ino != 0 else { return nil }
        // An unmounted name is a plain empty file on the directory's own file system.
        var parent = stat()
        if stat(directory, &parent) == 0, parent.st_dev == info.st_dev { return nil }
        return (UInt64(info.st_dev), UInt64(info.st_ino))
    }

    /// Processes whose network namespace this is (read from /proc), this
    /// process excluded.
    public func processes() -> [pid_t] {
        NetworkNamespace.processes(in: [self])
    }

    /// Processes in any of `namespaces`, from one pass over /proc (a lab's
    /// fifty nodes are not fifty passes), this process excluded.
    public static func processes(in namespaces: [NetworkNamespace]) -> [pid_t] {
        struct Identity: Hashable { var device: UInt64, inode: UInt64 }
        let identities = Set(namespaces.compactMap { $0.identity().map { Identity(device: $0.device, inode: $0.inode) } })
        guard !identities.isEmpty else { return [] }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        let me = getpid()
        return entries.compactMap { entry -> pid_t? in
            guard let pid = pid_t(entry), pid != me else { return nil }
            var info = stat()
            guard stat("/proc/\(pid)/ns/net", &info) == 0 else { return nil }
            return identities.contains(Identity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))) ? pid : nil
        }
    }
}

extension NetworkNamespace {
    /// Whether process `pid` is inside this namespace now.
    public func contains(_ pid: pid_t) -> Bool {
        guard let identity = identity() else { return false }
        var info = stat()
        return stat("/proc/\(pid)/ns/net", &info) == 0 && UInt64(info.st_dev) == identity.device && UInt64(info.st_ino) == identity.inode
    }
}

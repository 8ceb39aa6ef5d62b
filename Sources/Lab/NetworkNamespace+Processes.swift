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
        guard let identity = identity() else { return [] }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        let me = getpid()
        return entries.compactMap { entry -> pid_t? in
            guard let pid = pid_t(entry), pid != me else { return nil }
            var info = stat()
            guard stat("/proc/\(pid)/ns/net", &info) == 0 else { return nil }
            return UInt64(info.st_dev) == identity.device && UInt64(info.st_ino) == identity.inode ? pid : nil
        }
    }
}

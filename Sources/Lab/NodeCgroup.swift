import Containers
import FoundationEssentials
import Glibc
import SystemCalls

/// A lab node's own cgroup: its cgroup parent (`swarm-lab-L-nodeN.slice`
/// under the cgroup2 mount), which holds its containers' cgroups and, in
/// the leaf `swarmd`, its daemon (cgroup v2 keeps processes out of a cgroup
/// whose children get its controllers). Freezing it freezes the whole node,
/// daemon, container monitors and containers; killing it kills them all.
struct NodeCgroup {
    /// The leaf the daemon is moved to once `up` has started it.
    static let daemonLeaf = "swarmd"

    /// The cgroup parent's name, e.g. "swarm-lab-L-node2.slice".
    let parent: String
    /// Its directory, e.g. /sys/fs/cgroup/swarm-lab-L-node2.slice.
    let path: String

    /// Nil without a cgroup2 mount.
    init?(parent: String) {
        guard let path = try? CgroupManager.host(parent: parent).parentPath else { return nil }
        self.parent = parent
        self.path = path
    }

    var exists: Bool { access(path, F_OK) == 0 }

    /// Moves `pid` (a daemon just started, so still without children) into
    /// the leaf; what it starts later is born there.
    func adopt(_ pid: pid_t) throws {
        let leaf = path + "/" + NodeCgroup.daemonLeaf
        try makeDirectories(leaf)
        try NodeCgroup.write(String(pid), to: leaf + "/cgroup.procs")
    }

    /// Whether `pid` is in this cgroup or below, from the cgroup v2 line
    /// ("0::/PATH") of /proc/PID/cgroup.
    func contains(_ pid: pid_t) -> Bool {
        let text = String(decoding: readWholeFile("/proc/\(pid)/cgroup") ?? [], as: UTF8.self)
        return text.split(separator: "\n").contains { line in
            line == "0::/\(parent)" || line.hasPrefix("0::/\(parent)/")
        }
    }

    /// Freezes everything in the cgroup and below, and waits up to 5 s
    /// until the kernel reports it done (a process in the middle of a
    /// system call stops at its end).
    func freeze() throws {
        try NodeCgroup.write("1", to: path + "/cgroup.freeze")
        for _ in 0..<500 {
            if isFrozen { return }
            usleep(10_000)
        }
        throw RuntimeError.badInput("\(path) did not freeze within 5 s")
    }

    /// Undoes `freeze` (at once: nothing to wait for).
    func thaw() throws {
        try NodeCgroup.write("0", to: path + "/cgroup.freeze")
    }

    var isFrozen: Bool { events.contains("frozen 1") }
    var isPopulated: Bool { events.contains("populated 1") }
    private var events: String { String(decoding: readWholeFile(path + "/cgroup.events") ?? [], as: UTF8.self) }

    /// SIGKILL to every process in the cgroup and below at once
    /// (cgroup.kill, which no fork escapes; frozen ones die too); by pid on
    /// kernels before 5.14. Does not wait.
    func kill() {
        guard exists else { return }
        if (try? NodeCgroup.write("1", to: path + "/cgroup.kill")) != nil { return }
        func killPIDs(_ directory: String) {
            let text = String(decoding: readWholeFile(directory + "/cgroup.procs") ?? [], as: UTF8.self)
            for pid in text.split(separator: "\n").compactMap({ pid_t($0) }) { Glibc.kill(pid, SIGKILL) }
            for child in NodeCgroup.children(of: directory) { killPIDs(child) }
        }
        try? NodeCgroup.write("0", to: path + "/cgroup.freeze")
        killPIDs(path)
    }

    /// Removes the cgroup, children first, waiting (up to 5 s each) for
    /// the last processes to go. Nil if done or absent, else what failed.
    func remove() -> String? {
        func remove(_ directory: String) -> String? {
            for child in NodeCgroup.children(of: directory) {
                if let problem = remove(child) { return problem }
            }
            for _ in 0..<500 {
                if rmdir(directory) == 0 || errno == ENOENT { return nil }
                if errno != EBUSY { break }
                usleep(10_000)
            }
            return "removing cgroup \(directory): \(errnoName(errno))"
        }
        return exists ? remove(path) : nil
    }

    private static func children(of directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).compactMap { entry in
            var info = stat()
            let child = directory + "/" + entry
            return lstat(child, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR ? child : nil
        }
    }

    private static func write(_ value: String, to file: String) throws {
        let fd = try openOrThrow(file, O_WRONLY | O_CLOEXEC, 0)
        defer { close(fd) }
        let bytes = Array(value.utf8)
        guard Glibc.write(fd, bytes, bytes.count) == bytes.count else {
            throw RuntimeError.system(errno: errno, call: "write", detail: "\(value) to \(file)")
        }
    }
}

import Dispatch
import FoundationEssentials
import Glibc
import SystemCalls

/// Where cgroup v2 is mounted on this host and which controllers are bound
/// to cgroup v1 instead, read from /proc/self/mountinfo.
public struct CgroupLayout: Equatable, Sendable {
    /// The cgroup2 mount point: /sys/fs/cgroup on pure v2 hosts,
    /// /sys/fs/cgroup/unified on hybrid ones.
    public var unifiedMount: String?
    /// v1 controller name → its mount point (e.g. "memory" → /sys/fs/cgroup/memory).
    public var v1Controllers: [String: String]

    public var isHybrid: Bool { unifiedMount != nil && !v1Controllers.isEmpty }

    public static func parse(mountinfo: String) -> CgroupLayout {
        var layout = CgroupLayout(unifiedMount: nil, v1Controllers: [:])
        for line in mountinfo.split(separator: "\n") {
            // fields: id parent major:minor root mountpoint options [optional...] - fstype source superoptions
            let halves = line.components(separatedBy: " - ")
            guard halves.count == 2 else { continue }
            let left = halves[0].split(separator: " "), right = halves[1].split(separator: " ")
            guard left.count >= 5, right.count >= 3 else { continue }
            let mountPoint = String(left[4])
            switch right[0] {
            case "cgroup2":
                if layout.unifiedMount == nil { layout.unifiedMount = mountPoint }
            case "cgroup":
                for option in right[2].split(separator: ",") where !option.contains("=") {
                    let name = String(option)
                    if Self.mountOptions.contains(name) { continue }
                    layout.v1Controllers[name] = mountPoint
                }
            default: continue
            }
        }
        return layout
    }

    /// Options of a cgroup v1 mount that are not controller names.
    static let mountOptions: Set<String> = ["rw", "ro", "relatime", "nosuid", "nodev", "noexec", "xattr", "noprefix",
                                             "clone_children", "cpuset_v2_mode", "favordynmods"]

    public static func current() throws -> CgroupLayout {
        let text = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        return parse(mountinfo: text)
    }
}

/// One cgroup per container under a parent the runtime owns. All paths are
/// relative to `root`, so tests can point it at a fake tree.
public struct CgroupManager: Sendable {
    /// The cgroup2 mount (or a fake tree in tests).
    public let root: String
    /// Parent of every container cgroup, relative to `root`, e.g. "swarm.slice".
    public let parent: String
    /// nil: the host's, read when an error needs it (see `layout`).
    private let knownLayout: CgroupLayout?

    /// Where each controller lives if not in v2; used to explain errors.
    public var layout: CgroupLayout {
        knownLayout ?? (try? CgroupLayout.current()) ?? CgroupLayout(unifiedMount: root, v1Controllers: [:])
    }

    public init(root: String, parent: String = "swarm.slice", layout: CgroupLayout? = nil) {
        self.root = root
        self.parent = parent
        self.knownLayout = layout ?? CgroupLayout(unifiedMount: root, v1Controllers: [:])
    }

    private init(hostMount: String, parent: String) {
        self.root = hostMount
        self.parent = parent
        self.knownLayout = nil
    }

    /// The host's cgroup2 mount with the default parent.
    public static func host(parent: String = "swarm.slice") throws -> CgroupManager {
        // Where systemd mounts it (pure v2, then hybrid), asked directly:
        // reading and parsing mountinfo at every command's start cost more
        // than half a millisecond of a 5 ms `container exec`.
        for mount in ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"] where isCgroup2(mount) {
            return CgroupManager(hostMount: mount, parent: parent)
        }
        let layout = try CgroupLayout.current()
        guard let mount = layout.unifiedMount else {
            throw RuntimeError.badInput("no cgroup2 file system is mounted: mount one (mount -t cgroup2 none /sys/fs/cgroup) or boot with systemd.unified_cgroup_hierarchy=1")
        }
        return CgroupManager(root: mount, parent: parent, layout: layout)
    }

    /// Only a cgroup2 directory has cgroup.controllers (not tmpfs, not a v1 hierarchy).
    static func isCgroup2(_ path: String) -> Bool {
        access(path + "/cgroup.controllers", F_OK) == 0
    }

    public var parentPath: String { root + "/" + parent }

    public func path(of id: String) -> String { parentPath + "/" + id }

    /// Controllers the parent can hand to its children.
    public func availableControllers() -> Set<String> {
        let text = (try? String(contentsOfFile: parentPath + "/cgroup.controllers", encoding: .utf8))
            ?? (try? String(contentsOfFile: root + "/cgroup.controllers", encoding: .utf8)) ?? ""
        return Set(text.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
    }

    /// The controllers the given limits need, in the order they are checked.
    static func controllers(for resources: Resources) -> [(controller: String, flag: String)] {
        var needed: [(String, String)] = []
        if resources.memoryBytes != nil { needed.append(("memory", "--memory")) }
        if resources.nanoCPUs != nil { needed.append(("cpu", "--cpus")) }
        if resources.pidsLimit != nil { needed.append(("pids", "--pids-limit")) }
        return needed
    }

    /// Fails with a one-line reason if a limit cannot be enforced here.
    public func check(_ resources: Resources) throws {
        let available = availableControllers()
        for (controller, flag) in Self.controllers(for: resources) where !available.contains(controller) {
            var why = "which is not enabled under \(parentPath)"
            if let v1 = layout.v1Controllers[controller] {
                why = "which this host binds to cgroup v1 (\(v1)), so it cannot be enforced here"
            }
            throw RuntimeError.badInput("\(flag) needs the cgroup v2 \(controller) controller, \(why)")
        }
    }

    /// Makes the parent and delegates the controllers the limits need.
    public func prepareParent(for resources: Resources) throws {
        try FileManager.default.createDirectory(atPath: parentPath, withIntermediateDirectories: true)
        let wanted = Self.controllers(for: resources).map(\.controller)
        guard !wanted.isEmpty else { return }
        let enabled = (try? String(contentsOfFile: parentPath + "/cgroup.subtree_control", encoding: .utf8)) ?? ""
        let missing = wanted.filter { !enabled.split(separator: " ").map(String.init).contains($0) }
        if !missing.isEmpty {
            try write(missing.map { "+" + $0 }.joined(separator: " "), to: parentPath + "/cgroup.subtree_control")
        }
    }

    /// Creates the container's cgroup and writes its limits. The caller has
    /// run `check` first, so a failure here is a system error.
    @discardableResult
    public func create(id: String, resources: Resources) throws -> String {
        try prepareParent(for: resources)
        let dir = path(of: id)
        try syscall("mkdir", dir) { mkdir(dir, 0o755) }
        do {
            try apply(resources, to: dir)
        } catch {
            rmdir(dir)
            throw error
        }
        return dir
    }

    /// Writes memory.max (and the same swap allowance Docker gives),
    /// cpu.max as "quota period", and pids.max.
    public func apply(_ resources: Resources, to dir: String) throws {
        if let memory = resources.memoryBytes {
            try write(String(memory), to: dir + "/memory.max")
            let swap = dir + "/memory.swap.max"
            if FileManager.default.fileExists(atPath: swap) { try write(String(memory), to: swap) }
        }
        if let nano = resources.nanoCPUs {
            let period: Int64 = 100_000
            try write("\(max(1000, nano * period / 1_000_000_000)) \(period)", to: dir + "/cpu.max")
        }
        if let pids = resources.pidsLimit {
            try write(pids > 0 ? String(pids) : "max", to: dir + "/pids.max")
        }
    }

    /// Processes in the container's cgroup.
    public func processes(id: String) -> [pid_t] {
        let text = (try? String(contentsOfFile: path(of: id) + "/cgroup.procs", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { pid_t($0) }
    }

    /// Kills every process in the cgroup at once (cgroup.kill), so none escapes
    /// by forking; falls back to killing the listed pids on kernels before 5.14.
    public func killAll(id: String) {
        if (try? write("1", to: path(of: id) + "/cgroup.kill")) != nil { return }
        for pid in processes(id: id) { kill(pid, SIGKILL) }
    }

    /// Whether the cgroup still has processes, from cgroup.events.
    public func isPopulated(id: String) -> Bool {
        let text = (try? String(contentsOfFile: path(of: id) + "/cgroup.events", encoding: .utf8)) ?? ""
        return text.contains("populated 1")
    }

    /// Removes the container's cgroup, waiting (bounded) for its last
    /// processes to be gone.
    public func remove(id: String) throws {
        let dir = path(of: id)
        for _ in 0..<500 {
            if rmdir(dir) == 0 || errno == ENOENT { return }
            if errno != EBUSY { break }
            usleep(2000)
        }
        throw RuntimeError.system(errno: errno, call: "rmdir", detail: dir)
    }

    private func write(_ value: String, to file: String) throws {
        let fd = try syscall("open", file) { open(file, O_WRONLY | O_TRUNC | O_CLOEXEC) }
        defer { close(fd) }
        let bytes = Array(value.utf8)
        try syscall("write", "\(value) to \(file)") { Glibc.write(fd, bytes, bytes.count) }
    }
}

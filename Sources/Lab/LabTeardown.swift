import FoundationEssentials
import Glibc
import HostNetwork
import SystemCalls

/// Removes everything of lab `name` that it finds, with or without its
/// lab.json, however far an `up` got, paused or partitioned; again after a
/// partial failure. All nodes at once: their daemons get SIGTERM together
/// and `grace` seconds to end, then whatever is left in the lab's
/// namespaces and cgroups gets SIGKILL; then mounts, cgroups, namespaces
/// and directories go. Nodes do not `leave`: the swarm goes with them.
struct LabTeardown {
    let name: String
    var paths: LabPaths { LabPaths(name) }
    /// Seconds the daemons get between SIGTERM and SIGKILL.
    static let grace = 0.5
    /// Seconds for every process to be gone after SIGKILL.
    static let killTimeout = 5.0

    func exists() -> Bool {
        access(paths.directory, F_OK) == 0 || access(paths.dataDirectory, F_OK) == 0
            || !LabNetwork.existingNamespaces(lab: name).isEmpty || !nodeIndexes().isEmpty
    }

    /// Node numbers from lab.json, the lab's directories and its namespaces.
    func nodeIndexes() -> [Int] {
        var indexes = Set<Int>()
        let record = try? LabRecord.load(paths)
        for node in record?.nodes ?? [] { if let index = LabPaths.nodeIndex(node.name) { indexes.insert(index) } }
        for directory in [paths.directory, paths.dataDirectory] {
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
                if let index = LabPaths.nodeIndex(entry) { indexes.insert(index) }
            }
        }
        for namespace in LabNetwork.existingNamespaces(lab: name) {
            if let index = LabPaths.nodeIndex(String(namespace.name.dropFirst(name.count + 1))) { indexes.insert(index) }
        }
        return indexes.sorted()
    }

    /// Returns what could not be removed, one line each; empty if all went.
    func run() -> [String] {
        var problems: [String] = []
        let record = try? LabRecord.load(paths)
        let directory = record?.namespaceDirectory ?? NetworkNamespace.defaultDirectory
        let indexes = nodeIndexes()
        let nodes = indexes.map { index in record?.nodes.first { $0.name == "node\(index)" } ?? paths.node(index).record }
        let nodeNamespaces = indexes.map { NetworkNamespace(name: "\(name)-node\($0)", directory: directory) }
        // The client's too: whatever `lab exec` started there.
        let namespaces = nodeNamespaces + [NetworkNamespace(name: name + "-client", directory: directory)]
        // All of them, made or not: a daemon may make one until it dies.
        let cgroups = nodes.compactMap { NodeCgroup(parent: $0.cgroupParent) }

        // Thawed, so that paused daemons see their SIGTERM (and their
        // containers die at once below).
        for cgroup in cgroups where cgroup.exists { try? cgroup.thaw() }
        let daemons = zip(nodes, nodeNamespaces).flatMap { $0.daemonPIDs(namespace: $1) }
        for pid in daemons {
            kill(pid, SIGCONT)
            kill(pid, SIGTERM)
        }
        let graceEnds = Date().addingTimeInterval(LabTeardown.grace)
        while daemons.contains(where: processAlive) && Date() < graceEnds { usleep(10_000) }

        if let left = killEverything(in: namespaces, cgroups: cgroups) { problems.append(left) }
        for point in mounts(under: [paths.directory, paths.dataDirectory]) where umount2(point, Int32(MNT_DETACH)) != 0 && errno != EINVAL {
            problems.append("unmounting \(point): \(errnoName(errno))")
        }
        for cgroup in cgroups {
            if let problem = cgroup.remove() { problems.append(problem) }
        }
        do {
            try LabNetwork.teardown(lab: name, directory: directory)
        } catch {
            problems.append("removing the network: \(oneLine(error))")
        }
        if problems.isEmpty {
            for path in [paths.directory, paths.dataDirectory] {
                if let problem = removeTree(path) { problems.append(problem) }
            }
            rmdir(LabPaths.dataRoot)
            rmdir(LabPaths.runRoot)
        }
        return problems
    }

    /// SIGKILL to every process in the lab's namespaces (daemons, container
    /// monitors, commands from lab exec) and cgroups (containers, which
    /// have namespaces of their own), until none is left; nil once all are
    /// gone, else which are left after `killTimeout` seconds.
    private func killEverything(in namespaces: [NetworkNamespace], cgroups: [NodeCgroup]) -> String? {
        let deadline = Date().addingTimeInterval(LabTeardown.killTimeout)
        while true {
            let pids = NetworkNamespace.processes(in: namespaces).filter(processAlive)
            let populated = cgroups.filter(\.isPopulated)
            if pids.isEmpty && populated.isEmpty { return nil }
            if Date() > deadline {
                return "still running after SIGKILL: " + (pids.map { "pid \($0)" } + populated.map(\.path)).prefix(5).joined(separator: ", ")
            }
            for pid in pids { kill(pid, SIGKILL) }
            for cgroup in populated { cgroup.kill() }
            usleep(10_000)
        }
    }
}

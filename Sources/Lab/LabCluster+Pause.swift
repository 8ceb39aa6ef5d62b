import FoundationEssentials
import Glibc
import HostNetwork
import SystemCalls

extension LabCluster {
    /// Freezes node `node` of lab `name`: its daemon, container monitors
    /// and containers stop where they are (the node's cgroup frozen; a
    /// daemon outside it, as in labs made before `up` moved daemons there,
    /// gets SIGSTOP), as a hung machine. Until `unpause`.
    public static func pause(_ name: String, node: String) throws {
        try LabRecord.update(name) { record in
            let index = try record.index(of: node)
            guard record.nodes[index].paused == nil else { throw RuntimeError.badInput("node \(node) of lab \(name) is paused already") }
            let cgroup = NodeCgroup(parent: record.nodes[index].cgroupParent).flatMap { $0.exists ? $0 : nil }
            let daemons = record.nodes[index].daemonPIDs()
            guard cgroup != nil || !daemons.isEmpty else {
                throw RuntimeError.badInput("nothing runs on node \(node) of lab \(name) (its daemon exited): nothing to pause")
            }
            var stopped: [pid_t] = []
            for pid in daemons where !(cgroup?.contains(pid) ?? false) && kill(pid, SIGSTOP) == 0 { stopped.append(pid) }
            record.nodes[index].paused = stopped
            try cgroup?.freeze()
        }
    }

    /// Undoes `pause`.
    public static func unpause(_ name: String, node: String) throws {
        try LabRecord.update(name) { record in
            let index = try record.index(of: node)
            guard let stopped = record.nodes[index].paused else { throw RuntimeError.badInput("node \(node) of lab \(name) is not paused") }
            if let cgroup = NodeCgroup(parent: record.nodes[index].cgroupParent), cgroup.exists { try cgroup.thaw() }
            for pid in stopped where processAlive(pid) { kill(pid, SIGCONT) }
            record.nodes[index].paused = nil
        }
    }
}

extension LabRecord.Node {
    /// The node's namespace, from its path.
    var networkNamespace: NetworkNamespace {
        NetworkNamespace(name: String(namespace.split(separator: "/").last ?? ""),
                         directory: String(namespace[..<(namespace.lastIndex(of: "/") ?? namespace.startIndex)]))
    }

    /// The node's daemon from lab.json and from its pid file, alive; a pid
    /// counts only if it is still in the node's namespace or names the
    /// node's state dir: pids get reused.
    func daemonPIDs(namespace: NetworkNamespace? = nil) -> [pid_t] {
        let namespace = namespace ?? networkNamespace
        return Set([pid, readDaemonPID(stateDir)].compactMap { $0 }).filter { pid in
            guard pid > 1, processAlive(pid) else { return false }
            if namespace.contains(pid) { return true }
            return readWholeFile("/proc/\(pid)/cmdline").map { $0.split(separator: 0).contains { Array($0) == Array(stateDir.utf8) } } ?? false
        }.sorted()
    }
}

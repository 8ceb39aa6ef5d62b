import FoundationEssentials
import Glibc
import HostNetwork
import SystemCalls

/// A swarm of N nodes on this one machine, each node in a network namespace
/// of its own (see `LabNetwork`), for integration tests and privileged CI.
/// A lab named L keeps:
///
/// - /run/swarm-lab/L/lab.json: what `up` made (nodes, roles, addresses,
///   sockets, daemon pids), and logs/ with the output of each init and join;
/// - per node: data dir /var/lib/swarm-lab/L/nodeN, state dir (API socket)
///   /run/swarm-lab/L/nodeN, cgroup parent swarm-lab-L-nodeN.slice;
/// - namespaces /run/swarm-lab/netns/L-hub, L-node1…, L-client.
///
/// `up` makes one, `open` finds one that is up, `exec` runs a command in a
/// node, `partition`/`heal` and `pause`/`unpause` disturb nodes, `down`
/// removes all of it. The nodes are made through the swarm executable
/// given as `binary` (init, join), as a user would.
public struct LabCluster: Sendable {
    /// What `up` wrote to lab.json.
    public let record: LabRecord
    public var name: String { record.name }
    public var paths: LabPaths { LabPaths(record.name) }

    /// Lab `name` from its lab.json, to run commands in (which needs root);
    /// "no lab named NAME" if it has none.
    public static func open(_ name: String) throws -> LabCluster {
        try LabNetwork.validate(name: name)
        try requireLabRoot()
        guard let record = try LabRecord.load(LabPaths(name)) else { throw RuntimeError.badInput("no lab named \(name)") }
        return LabCluster(record: record)
    }

    /// NODE ROLE ADDRESS SOCKET, the client last.
    public func tableRows() -> [[String]] { record.tableRows() }

    // MARK: exec

    /// Starts `command` inside node `target`'s network namespace ("node1", …,
    /// or "client", which is no node of the swarm: its SWARM_HOST is node1's),
    /// with SWARM_HOST, DOCKER_HOST, SWARM_DATA_DIR, SWARM_STATE_DIR and
    /// SWARM_CGROUP_PARENT of the node over `environment`, on this process's
    /// stdin, stdout and stderr. A command "swarm" is `binary`; one without a
    /// "/" is looked up in PATH. Throws `SpawnError` if it cannot start.
    public func exec(_ target: String, _ command: [String], binary: String, environment: [String: String]) throws -> pid_t {
        var environment = environment
        let namespacePath: String
        if target == "client" {
            guard let client = record.client, let manager = record.nodes.first else {
                throw RuntimeError.badInput("lab \(name) has no client")
            }
            namespacePath = client.namespace
            environment["SWARM_HOST"] = manager.socket
            environment["DOCKER_HOST"] = manager.socket
            // The client is no node: no local containers of its own.
            for key in ["SWARM_DATA_DIR", "SWARM_STATE_DIR", "SWARM_CGROUP_PARENT", "SWARM_HOSTNAME"] { environment[key] = nil }
        } else if let node = record.nodes.first(where: { $0.name == target }) {
            namespacePath = node.namespace
            environment.merge(node.environment(hostname: true)) { $1 }
        } else {
            let names = record.nodes.map(\.name) + ["client"]
            throw RuntimeError.badInput("no node \(target) in lab \(name): use one of \(names.joined(separator: ", "))")
        }
        let namespace = NetworkNamespace(name: String(namespacePath.split(separator: "/").last ?? ""),
                                         directory: String(namespacePath[..<(namespacePath.lastIndex(of: "/") ?? namespacePath.startIndex)]))
        guard namespace.identity() != nil else {
            throw RuntimeError.badInput("the network namespace of \(target) (\(namespacePath)) is gone: run swarm lab down --name \(name)")
        }
        let executable = command[0] == "swarm" ? binary : command[0]
        return try namespace.run {
            try spawnProcess(executable, command, environment: environment, stdin: 0, stdout: 1, stderr: 2,
                             newProcessGroup: false, searchPath: !executable.contains("/"))
        }
    }

    // MARK: down

    /// Removes everything of lab `name` (its nodes' daemons, containers and
    /// other processes, mounts, cgroups, network and directories, all nodes
    /// at once; see `LabTeardown`), however far its `up` got, paused or
    /// partitioned. "no lab named NAME" if nothing of it is there; the
    /// first problem (and how many more) if something could not be removed.
    public static func down(_ name: String) throws {
        try LabNetwork.validate(name: name)
        try requireLabRoot()
        let teardown = LabTeardown(name: name)
        guard teardown.exists() else { throw RuntimeError.badInput("no lab named \(name)") }
        let problems = teardown.run()
        if let first = problems.first {
            throw RuntimeError.badInput("lab down: \(first)" + (problems.count > 1 ? " (and \(problems.count - 1) more problem\(problems.count > 2 ? "s" : ""))" : ""))
        }
    }

    public func down() throws {
        try LabCluster.down(name)
    }

    // MARK: ls

    /// One lab on this machine, as `lab ls` lists it.
    public struct Summary: Equatable, Sendable {
        public var name: String
        /// "starting", "up", "degraded" (a daemon is gone) or "broken" (no
        /// lab.json); then e.g. " (1 paused, 2 partitioned)".
        public var state: String
        public var nodes: Int?
        public var subnet: String?
    }

    /// Every lab that left something on this machine: a record, directories
    /// or namespaces.
    public static func list() -> [Summary] {
        var names = Set(LabNetwork.labNames())
        for root in [LabPaths.runRoot, LabPaths.dataRoot] {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
            names.formUnion(entries.filter { (try? LabNetwork.validate(name: $0)) != nil })
        }
        return names.sorted().map { lab in
            guard let record = try? LabRecord.load(LabPaths(lab)) else { return Summary(name: lab, state: "broken") }
            var state = record.state == "up" && !record.nodes.allSatisfy({ $0.pid.map(processAlive) ?? false }) ? "degraded" : record.state
            let paused = record.nodes.filter { $0.paused != nil }.count, partitioned = record.nodes.filter { $0.partition != nil }.count
            let disturbed = (paused > 0 ? ["\(paused) paused"] : []) + (partitioned > 0 ? ["\(partitioned) partitioned"] : [])
            if !disturbed.isEmpty { state += " (" + disturbed.joined(separator: ", ") + ")" }
            return Summary(name: lab, state: state, nodes: record.nodes.count, subnet: record.subnet)
        }
    }
}

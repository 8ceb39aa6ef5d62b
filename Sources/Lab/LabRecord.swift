import FoundationEssentials
import Glibc
import HostNetwork
import SystemCalls

/// lab.json.
public struct LabRecord: Codable, Sendable {
    public var name: String
    /// "starting" while `up` runs, then "up".
    public var state: String
    public var subnet: String
    public var createdAt: Int
    public var namespaceDirectory: String
    public var client: Client?
    public var nodes: [Node]

    public struct Client: Codable, Sendable {
        public var address: String
        public var namespace: String
    }

    public struct Node: Codable, Sendable {
        public var name: String
        public var role: String
        public var address: String
        public var namespace: String
        public var dataDir: String
        public var stateDir: String
        public var cgroupParent: String
        /// unix:///run/swarm-lab/L/nodeN/swarm.sock
        public var socket: String
        public var pid: pid_t?
        /// Whether `up` moved the daemon into the node's own cgroup (see
        /// `NodeCgroup`); nil in records of older labs.
        public var inCgroup: Bool?
        /// Set while `lab pause` holds the node: the pids it stopped with
        /// SIGSTOP (empty if the node's cgroup was frozen).
        public var paused: [pid_t]?
        /// Set while `lab partition` keeps the node on a bridge of its own
        /// (with the nodes cut off in the same command): that bridge's number.
        public var partition: Int?

        public var globalOptions: [String] { ["--data-dir", dataDir, "--state-dir", stateDir, "--cgroup-parent", cgroupParent] }

        public func environment(hostname: Bool) -> [String: String] {
            var environment = ProcessInfo.processInfo.environment
            environment["SWARM_HOST"] = socket
            environment["DOCKER_HOST"] = socket
            environment["SWARM_DATA_DIR"] = dataDir
            environment["SWARM_STATE_DIR"] = stateDir
            environment["SWARM_CGROUP_PARENT"] = cgroupParent
            // All nodes share the machine's host name; the swarm tells them apart by this one.
            if hostname { environment["SWARM_HOSTNAME"] = name }
            return environment
        }
    }

    public static func load(_ paths: LabPaths) throws -> LabRecord? {
        guard let bytes = readWholeFile(paths.record) else { return nil }
        do {
            return try JSONDecoder().decode(LabRecord.self, from: Data(bytes))
        } catch {
            throw RuntimeError.badInput("\(paths.record) is not a lab record: \(error)")
        }
    }

    func save(_ paths: LabPaths) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let bytes = Array(try encoder.encode(self)) + [10]
        let temporary = paths.record + ".tmp"
        let fd = try openOrThrow(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        defer { close(fd) }
        writeAll(fd, String(decoding: bytes, as: UTF8.self))
        guard rename(temporary, paths.record) == 0 else { throw RuntimeError.system(errno: errno, call: "rename", detail: paths.record) }
    }

    /// NODE ROLE ADDRESS SOCKET STATUS, the client last. STATUS: the
    /// daemon "running" or "exited" (by `isAlive` of its pid), or "paused";
    /// then ", partitioned N" for a node cut off with those of bridge N.
    public func tableRows(isAlive: (pid_t) -> Bool = processAlive) -> [[String]] {
        var rows = [["NODE", "ROLE", "ADDRESS", "SOCKET", "STATUS"]]
        for node in nodes {
            var status = node.paused != nil ? "paused" : node.pid.map(isAlive) == true ? "running" : "exited"
            if let group = node.partition { status += ", partitioned \(group)" }
            rows.append([node.name, node.role, node.address, node.socket, status])
        }
        if let client, let manager = nodes.first { rows.append(["client", "client", client.address, manager.socket, "-"]) }
        return rows
    }

    /// The position of node `name` in `nodes`; "no node NAME in lab L: use
    /// one of …" if there is none.
    public func index(of name: String) throws -> Int {
        guard let index = nodes.firstIndex(where: { $0.name == name }) else {
            throw RuntimeError.badInput("no node \(name) in lab \(self.name): use one of \(nodes.map(\.name).joined(separator: ", "))")
        }
        return index
    }
}

import ArgumentParser
import FoundationEssentials
import Glibc
import Lab
import SwarmClient
import SystemCalls

/// `swarm lab up|ls|exec|partition|heal|pause|unpause|down`: parsing and
/// rendering; what a lab is and does is the `Lab` module's (`LabCluster`,
/// `LabNetwork`).
struct LabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab",
        abstract: "Run a swarm of several nodes on this machine, each in its own network namespace (for tests and CI).",
        subcommands: [LabUp.self, LabList.self, LabExec.self, LabPartition.self, LabHeal.self, LabPause.self, LabUnpause.self,
                      LabDown.self]
    )
}

struct LabNameOption: ParsableArguments {
    @Option(name: .customLong("name"), help: "Name of the lab.") var name: String = "lab"
}

// MARK: - up

struct LabUp: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up", abstract: "Make a lab: its network, then a swarm init on node1 and a swarm join on every other node.")

    @Option(name: .customLong("nodes"), help: "Number of nodes.") var nodes: Int
    @Option(name: .customLong("managers"), help: "Number of managers (node1 to nodeN; more than one keep the state in their etcd members).") var managers: Int = 1
    @OptionGroup var lab: LabNameOption
    @Option(name: .customLong("dispatcher-heartbeat"), help: "Dispatcher heartbeat period for swarm init (e.g. 1s).")
    var heartbeat: String?
    @Option(name: .customLong("subnet"), help: "The lab's IPv4 /24 (default 10.77.K.0/24, K from the name).") var subnet: String?
    @Option(name: .customLong("timeout"), help: "Seconds to wait for all nodes to be Ready.") var timeout: Int = 120

    func run() async throws {
        guard nodes >= 1 else { throw RuntimeError.badInput("invalid --nodes \(nodes): a lab needs at least 1 node") }
        guard nodes <= LabNetwork.maximumNodes else {
            throw RuntimeError.badInput("invalid --nodes \(nodes): a lab has at most \(LabNetwork.maximumNodes) nodes")
        }
        guard (1...nodes).contains(managers) else {
            throw RuntimeError.badInput("invalid --managers \(managers): use 1 to --nodes (\(nodes)); 3 or 5 keep a majority when one or two are lost")
        }
        guard timeout > 0 else { throw RuntimeError.badInput("invalid --timeout \(timeout): use seconds > 0") }
        let name = lab.name
        LabSignals.catchInterrupts()
        let cluster: LabCluster
        do {
            cluster = try await LabCluster.up(name: name, nodes: nodes, managers: managers, binary: try swarmExecutable(), heartbeat: heartbeat,
                                              subnet: subnet, timeout: timeout, readyNodes: { try await LabUp.readyNodes($0) })
        } catch let interrupted as LabCluster.Interrupted {
            writeStderr("swarm: lab up interrupted; lab \(name) removed\(interrupted.cleanup)\n")
            throw ExitCode(130)
        }
        writeStdout("Lab \(name) is up: \(nodes) node\(nodes == 1 ? "" : "s") on \(cluster.record.subnet).\n\n")
        writeStdout(Render.table(cluster.tableRows()))
        writeStdout("\nTry: swarm lab exec\(name == "lab" ? "" : " --name " + name) node1 swarm node ls\n")
    }

    /// Nodes whose status is ready, from the manager's GET /nodes.
    static func readyNodes(_ socket: String) async throws -> Int {
        struct Node: Decodable {
            struct Status: Decodable {
                var state: String?
                enum CodingKeys: String, CodingKey { case state = "State" }
            }
            var status: Status?
            enum CodingKeys: String, CodingKey { case status = "Status" }
        }
        let reply = try await APIClient.with(host: socket) { try await $0.send(.GET, "/nodes") }
        let nodes = try JSONDecoder().decode([Node].self, from: Data(reply.body))
        return nodes.filter { $0.status?.state?.lowercased() == "ready" }.count
    }
}

// MARK: - ls

struct LabList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls", abstract: "List a lab's nodes (with --name), or the labs on this machine.", aliases: ["list"])

    @Option(name: .customLong("name"), help: "Name of the lab whose nodes to list.") var name: String?

    func run() throws {
        if let name {
            try LabNetwork.validate(name: name)
            guard let record = try LabRecord.load(LabPaths(name)) else { throw RuntimeError.badInput("no lab named \(name)") }
            writeStdout(Render.table(record.tableRows()))
            return
        }
        // Whatever a lab leaves is listed: its record, directories or namespaces.
        let rows = LabCluster.list().map { [$0.name, $0.state, $0.nodes.map(String.init) ?? "-", $0.subnet ?? "-"] }
        writeStdout(Render.table([["LAB", "STATE", "NODES", "SUBNET"]] + rows))
    }
}

// MARK: - exec

struct LabExec: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run a command inside a lab node's network namespace, with SWARM_HOST and DOCKER_HOST set to that node's socket.",
        usage: "swarm lab exec [--name LAB] NODE COMMAND [ARG...]",
        discussion: """
            NODE is node1, node2, … or client (no node of the swarm; its SWARM_HOST is node1's). The command also gets \
            SWARM_DATA_DIR, SWARM_STATE_DIR and SWARM_CGROUP_PARENT of the node; a COMMAND of "swarm" is this swarm \
            executable. Its exit status is swarm's.
            """)

    @OptionGroup var lab: LabNameOption
    @Argument(parsing: .captureForPassthrough, help: ArgumentHelp("NODE, then the command and its arguments.", valueName: "node-and-command")) var rawWords: [String] = []

    /// The arguments without a "--" before NODE or before the command.
    var words: [String] {
        var words = rawWords
        if words.first == "--" { words.removeFirst() }
        if words.count > 1 && words[1] == "--" { words.remove(at: 1) }
        return words
    }

    func validate() throws {
        if let first = words.first, first == "-h" || first == "--help" { throw CleanExit.helpRequest(self) }
        if let first = words.first, first.hasPrefix("-") { throw ValidationError("unknown flag: \(first)") }
        guard words.count >= 2 else { throw ValidationError("\"swarm lab exec\" requires at least 2 arguments: NODE COMMAND [ARG...]") }
    }

    func run() throws {
        let cluster = try LabCluster.open(lab.name)
        let command = Array(words.dropFirst())
        LabSignals.forwardToChild()
        let pid: pid_t
        do {
            pid = try cluster.exec(words[0], command, binary: try swarmExecutable(), environment: ProcessInfo.processInfo.environment)
        } catch let error as SpawnError {
            writeStderr("swarm: lab exec: \(words[1]): \(error.code == ENOENT ? "command not found" : errnoName(error.code))\n")
            throw ExitCode(error.code == ENOENT ? 127 : 126)
        }
        LabSignals.forward(to: pid)
        throw ExitCode(waitForExit(pid))
    }
}

// MARK: - down

struct LabDown: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "down",
        abstract: "Remove a lab, paused or partitioned: all nodes at once, their daemons, containers, mounts, cgroups, network and directories.")

    @OptionGroup var lab: LabNameOption

    func run() throws {
        try LabCluster.down(lab.name)
        writeStdout("Lab \(lab.name) removed.\n")
    }
}

/// This executable, for running `swarm init` and friends of the same build.
func swarmExecutable() throws -> String {
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard count > 0 else { throw RuntimeError.system(errno: errno, call: "readlink", detail: "/proc/self/exe") }
    return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

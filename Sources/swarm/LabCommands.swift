import ArgumentParser
import Containers
import FoundationEssentials
import Glibc
import Runtime
import SwarmClient
import Synchronization
import SystemCalls

/// `swarm lab up|ls|exec|down`: a swarm of N nodes on this one machine, each
/// node in a network namespace of its own (see `LabNetwork`), for
/// integration tests and privileged CI. A lab named L keeps:
///
/// - /run/swarm-lab/L/lab.json: what `up` made (nodes, roles, addresses,
///   sockets, daemon pids), and logs/ with the output of each init and join;
/// - per node: data dir /var/lib/swarm-lab/L/nodeN, state dir (API socket)
///   /run/swarm-lab/L/nodeN, cgroup parent swarm-lab-L-nodeN.slice;
/// - namespaces /run/swarm-lab/netns/L-hub, L-node1…, L-client.
struct LabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab",
        abstract: "Run a swarm of several nodes on this machine, each in its own network namespace (for tests and CI).",
        subcommands: [LabUp.self, LabList.self, LabExec.self, LabDown.self]
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
    @Option(name: .customLong("managers"), help: "Number of managers (only 1 for now).") var managers: Int = 1
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
        guard managers == 1 else {
            throw RuntimeError.badInput("invalid --managers \(managers): only 1 manager is supported (a replicated manager store is not built yet)")
        }
        guard timeout > 0 else { throw RuntimeError.badInput("invalid --timeout \(timeout): use seconds > 0") }
        let name = lab.name
        try LabNetwork.validate(name: name)
        try requireLabRoot()
        if let subnet { _ = try LabNetwork.subnetPrefix(subnet) }

        let paths = LabPaths(name)
        try paths.claim()
        LabSignals.catchInterrupts()
        var record = LabRecord(name: name, state: "starting", subnet: "", createdAt: Int(time(nil)),
                               namespaceDirectory: NetworkNamespace.defaultDirectory, client: nil, nodes: [])
        do {
            let network = try LabNetwork(name: name, nodes: nodes, subnet: subnet ?? LabPaths.freeSubnet(for: name))
            record.subnet = network.subnet
            record.client = LabRecord.Client(address: network.clientAddress, namespace: network.client.path)
            record.nodes = (1...nodes).map { index in
                let node = paths.node(index)
                return LabRecord.Node(name: node.name, role: index == 1 ? "manager" : "worker", address: network.nodeAddress(index),
                                      namespace: network.node(index).path, dataDir: node.dataDir, stateDir: node.stateDir,
                                      cgroupParent: node.cgroupParent, socket: "unix://" + node.socket, pid: nil)
            }
            try record.save(paths)
            try network.create()
            try LabSignals.check()
            for node in record.nodes {
                try makeDirectories(node.dataDir)
                try makeDirectories(node.stateDir)
            }
            try await startNodes(&record, network: network, paths: paths)
            record.state = "up"
            try record.save(paths)
        } catch {
            // Whatever got made goes; the lab's name is free again.
            let problems = LabTeardown(name: name).run()
            let cleanup = problems.isEmpty ? "" : "; cleaning up also failed: \(problems[0]) (run swarm lab down --name \(name))"
            if error is LabSignals.Interrupted {
                writeStderr("swarm: lab up interrupted; lab \(name) removed\(cleanup)\n")
                throw ExitCode(130)
            }
            throw RuntimeError.badInput("lab up: \(oneLine(error))\(cleanup)")
        }
        writeStdout("Lab \(name) is up: \(nodes) node\(nodes == 1 ? "" : "s") on \(record.subnet).\n\n")
        writeStdout(Render.table(record.tableRows()))
        writeStdout("\nTry: swarm lab exec\(name == "lab" ? "" : " --name " + name) node1 swarm node ls\n")
    }

    /// init on node1, join on the others, then waits for all to be Ready.
    private func startNodes(_ record: inout LabRecord, network: LabNetwork, paths: LabPaths) async throws {
        let manager = record.nodes[0]
        var initArguments = ["init", "--advertise-addr", manager.address, "--listen-addr", manager.address + ":2377"]
            + manager.globalOptions
        if let heartbeat { initArguments += ["--dispatcher-heartbeat", heartbeat] }
        let initResult = try runSwarm(initArguments, node: manager, network: network.node(1), log: paths.log("node1-init"))
        try require(initResult, "swarm init on node1")
        record.nodes[0].pid = readDaemonPID(manager.stateDir)
        try record.save(paths)

        var token = Self.workerToken(in: initResult.stdout)
        if token == nil {
            let asked = try runSwarm(["join-token", "-q", "worker", "-H", manager.socket], node: manager, network: network.node(1),
                                     log: paths.log("node1-join-token"))
            try require(asked, "swarm join-token on node1")
            token = asked.stdout.split(whereSeparator: \.isWhitespace).first.map(String.init)
        }
        guard let token, !token.isEmpty else { throw RuntimeError.badInput("swarm init on node1 printed no join token") }

        for index in record.nodes.indices.dropFirst() {
            let node = record.nodes[index]
            let arguments = ["join", "--token", token, "--advertise-addr", node.address] + node.globalOptions + [manager.address + ":2377"]
            let result = try runSwarm(arguments, node: node, network: network.node(index + 1), log: paths.log("\(node.name)-join"))
            try require(result, "swarm join on \(node.name)")
            record.nodes[index].pid = readDaemonPID(node.stateDir)
            try record.save(paths)
        }

        // Ready as the manager sees it: what `swarm node ls` shows.
        let deadline = Date().addingTimeInterval(Double(timeout))
        var ready = 0, lastError = ""
        while true {
            try LabSignals.check()
            do {
                ready = try await Self.readyNodes(manager.socket)
                if ready >= record.nodes.count { return }
            } catch {
                lastError = oneLine(error)
            }
            if let pid = record.nodes[0].pid, !processAlive(pid) {
                throw RuntimeError.badInput("the manager's daemon (pid \(pid)) on node1 exited (log: \(manager.stateDir)/swarmd.log)")
            }
            if Date() > deadline {
                throw RuntimeError.badInput("only \(ready) of \(record.nodes.count) nodes were Ready after \(timeout) s"
                    + (lastError.isEmpty ? "" : " (\(lastError))"))
            }
            try await Task.sleep(for: .milliseconds(250))
        }
    }

    /// Runs this swarm executable inside `network` with the node's environment.
    private func runSwarm(_ arguments: [String], node: LabRecord.Node, network: NetworkNamespace, log: String) throws -> CapturedResult {
        try runCaptured(network, swarmExecutable(), ["swarm"] + arguments, environment: node.environment(hostname: true),
                        log: log, timeout: 120)
    }

    private func require(_ result: CapturedResult, _ what: String) throws {
        guard result.status != 0 else { return }
        let reason = result.stderr.split(separator: "\n").last(where: { !$0.allSatisfy(\.isWhitespace) })
            .map { $0.hasPrefix("swarm: ") ? String($0.dropFirst(7)) : String($0) }
        if result.status == CapturedResult.timedOut { throw RuntimeError.badInput("\(what) did not finish within 120 s") }
        throw RuntimeError.badInput("\(what) failed (exit \(result.status))" + (reason.map { ": " + $0 } ?? ""))
    }

    /// The token in init's "    swarm join --token SWMTKN-1-… IP:2377" line.
    static func workerToken(in output: String) -> String? {
        for line in output.split(separator: "\n") {
            let words = line.split(whereSeparator: \.isWhitespace)
            if let flag = words.firstIndex(of: "--token"), flag + 1 < words.count { return String(words[flag + 1]) }
        }
        return nil
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
        var rows = [["LAB", "STATE", "NODES", "SUBNET"]]
        // Whatever a lab leaves is listed: its record, directories or namespaces.
        var names = Set(LabNetwork.labNames())
        for root in [LabPaths.runRoot, LabPaths.dataRoot] {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
            names.formUnion(entries.filter { (try? LabNetwork.validate(name: $0)) != nil })
        }
        for lab in names.sorted() {
            if let record = try? LabRecord.load(LabPaths(lab)) {
                let state = record.state == "up" && !record.nodes.allSatisfy({ $0.pid.map(processAlive) ?? false }) ? "degraded" : record.state
                rows.append([lab, state, "\(record.nodes.count)", record.subnet])
            } else {
                rows.append([lab, "broken", "-", "-"])
            }
        }
        writeStdout(Render.table(rows))
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
        try LabNetwork.validate(name: lab.name)
        try requireLabRoot()
        guard let record = try LabRecord.load(LabPaths(lab.name)) else { throw RuntimeError.badInput("no lab named \(lab.name)") }
        let target = words[0]
        var environment = ProcessInfo.processInfo.environment
        let namespacePath: String
        if target == "client" {
            guard let client = record.client, let manager = record.nodes.first else {
                throw RuntimeError.badInput("lab \(lab.name) has no client")
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
            throw RuntimeError.badInput("no node \(target) in lab \(lab.name): use one of \(names.joined(separator: ", "))")
        }
        let namespace = NetworkNamespace(name: String(namespacePath.split(separator: "/").last ?? ""),
                                         directory: String(namespacePath[..<(namespacePath.lastIndex(of: "/") ?? namespacePath.startIndex)]))
        guard namespace.identity() != nil else {
            throw RuntimeError.badInput("the network namespace of \(target) (\(namespacePath)) is gone: run swarm lab down --name \(lab.name)")
        }

        let command = Array(words.dropFirst())
        let executable = command[0] == "swarm" ? try swarmExecutable() : command[0]
        LabSignals.forwardToChild()
        let pid: pid_t
        do {
            pid = try namespace.run {
                try spawnProcess(executable, command, environment: environment, stdin: 0, stdout: 1, stderr: 2,
                                 newProcessGroup: false, searchPath: !executable.contains("/"))
            }
        } catch let error as SpawnError {
            writeStderr("swarm: lab exec: \(words[1]): \(error.code == ENOENT ? "command not found" : errnoName(error.code))\n")
            throw ExitCode(error.code == ENOENT ? 127 : 126)
        }
        LabSignals.child.store(pid, ordering: .relaxed)
        throw ExitCode(waitForExit(pid))
    }
}

// MARK: - down

struct LabDown: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "down", abstract: "Remove a lab: every node leaves, then its containers, network, directories and cgroups go.")

    @OptionGroup var lab: LabNameOption

    func run() throws {
        try LabNetwork.validate(name: lab.name)
        try requireLabRoot()
        let teardown = LabTeardown(name: lab.name)
        guard teardown.exists() else { throw RuntimeError.badInput("no lab named \(lab.name)") }
        let problems = teardown.run()
        if let first = problems.first {
            throw RuntimeError.badInput("lab down: \(first)" + (problems.count > 1 ? " (and \(problems.count - 1) more problem\(problems.count > 2 ? "s" : ""))" : ""))
        }
        writeStdout("Lab \(lab.name) removed.\n")
    }
}

/// Removes everything of lab `name` that it finds, with or without its
/// lab.json, however far an `up` got; again after a partial failure.
struct LabTeardown {
    let name: String
    var paths: LabPaths { LabPaths(name) }

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
        // Workers first, the manager last.
        for index in nodeIndexes().reversed() {
            let node = record?.nodes.first { $0.name == "node\(index)" } ?? paths.node(index).record
            let namespace = NetworkNamespace(name: "\(name)-node\(index)", directory: directory)
            problems += stopNode(node, namespace: namespace)
        }
        // Whatever was started by `lab exec` in the client.
        killAll(in: NetworkNamespace(name: name + "-client", directory: directory))
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

    /// leave --force (which stops the daemon and removes its task
    /// containers); then, whatever leave did, the daemon by pid, any
    /// container left, every process in the node's namespace, the cgroup
    /// parent, the state and data dirs.
    private func stopNode(_ node: LabRecord.Node, namespace: NetworkNamespace) -> [String] {
        var problems: [String] = []
        let inNamespace = namespace.identity() != nil
        if access(node.dataDir, F_OK) == 0 {
            let log = paths.log("\(node.name)-leave")
            // Whether it worked shows below: a daemon or container still there is dealt with there.
            _ = try? runCaptured(inNamespace ? namespace : nil, swarmExecutable(), ["swarm", "leave", "--force"] + node.globalOptions,
                                 environment: node.environment(hostname: false), log: log, timeout: 60)
        }
        var pids = Set<pid_t>()
        if let pid = node.pid { pids.insert(pid) }
        if let pid = readDaemonPID(node.stateDir) { pids.insert(pid) }
        for pid in pids where isDaemon(pid, of: node, namespace: namespace) { terminate(pid) }

        if access(node.stateDir, F_OK) == 0 {
            do {
                let runtime = try ContainerRuntime(stateRoot: node.stateDir, dataRoot: node.dataDir,
                                                   cgroups: CgroupManager.host(parent: node.cgroupParent))
                for container in runtime.list(all: true) {
                    do { try runtime.remove(container.id, force: true) } catch {
                        problems.append("\(node.name): removing container \(container.id.prefix(12)): \(oneLine(error))")
                    }
                }
            } catch {
                problems.append("\(node.name): listing containers: \(oneLine(error))")
            }
        }
        killAll(in: namespace)
        if let problem = removeCgroup(node.cgroupParent) { problems.append("\(node.name): \(problem)") }
        for path in [node.stateDir, node.dataDir] {
            if let problem = removeTree(path) { problems.append("\(node.name): \(problem)") }
        }
        return problems
    }

    /// A pid from lab.json or the pid file is the node's daemon only if it is
    /// still in the node's namespace or names the node's state dir: pids get reused.
    private func isDaemon(_ pid: pid_t, of node: LabRecord.Node, namespace: NetworkNamespace) -> Bool {
        guard pid > 1, processAlive(pid) else { return false }
        if namespace.processes().contains(pid) { return true }
        return readWholeFile("/proc/\(pid)/cmdline").map { $0.split(separator: 0).contains { Array($0) == Array(node.stateDir.utf8) } } ?? false
    }

    /// SIGKILL to every process left in `namespace` (daemons, their
    /// children, commands from lab exec), and waits up to 5 s for them to go.
    private func killAll(in namespace: NetworkNamespace) {
        for _ in 0..<100 {
            let pids = namespace.processes().filter(processAlive)
            if pids.isEmpty { return }
            for pid in pids { kill(pid, SIGKILL) }
            usleep(50_000)
        }
    }
}

// MARK: - Records and paths

/// Where lab L keeps things.
struct LabPaths {
    static let runRoot = "/run/swarm-lab"
    static let dataRoot = "/var/lib/swarm-lab"

    let name: String
    init(_ name: String) { self.name = name }

    var directory: String { LabPaths.runRoot + "/" + name }
    var dataDirectory: String { LabPaths.dataRoot + "/" + name }
    var record: String { directory + "/lab.json" }
    func log(_ step: String) -> String { directory + "/logs/" + step }

    struct NodePaths {
        var name: String, dataDir: String, stateDir: String, cgroupParent: String
        var socket: String { stateDir + "/swarm.sock" }
        var record: LabRecord.Node {
            LabRecord.Node(name: name, role: "", address: "", namespace: "", dataDir: dataDir, stateDir: stateDir,
                           cgroupParent: cgroupParent, socket: "unix://" + socket, pid: nil)
        }
    }

    func node(_ index: Int) -> NodePaths {
        NodePaths(name: "node\(index)", dataDir: dataDirectory + "/node\(index)", stateDir: directory + "/node\(index)",
                  cgroupParent: "swarm-lab-\(name)-node\(index).slice")
    }

    /// "node12" → 12.
    static func nodeIndex(_ text: String) -> Int? {
        let digits = text.dropFirst(4)
        guard text.hasPrefix("node"), !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        return Int(digits)
    }

    /// Takes the lab's name: makes its directory, which fails if it exists.
    func claim() throws {
        // Retried on ENOENT: a lab down elsewhere may remove the empty root between our two mkdirs.
        var code: Int32 = ENOENT
        for _ in 0..<10 where code == ENOENT {
            try makeDirectories(LabPaths.runRoot)
            code = mkdir(directory, 0o755) == 0 ? 0 : errno
        }
        if code == EEXIST {
            let state = (try? LabRecord.load(self))?.state
            throw RuntimeError.badInput(state == "up"
                ? "lab \(name) is already up (swarm lab down --name \(name) removes it)"
                : "lab \(name) exists (\(state ?? "no lab.json"): another lab up is running, or one failed): swarm lab down --name \(name) removes it")
        }
        if code != 0 { throw RuntimeError.system(errno: code, call: "mkdir", detail: directory) }
        if !LabNetwork.existingNamespaces(lab: name).isEmpty || access(dataDirectory, F_OK) == 0 {
            rmdir(directory)
            throw RuntimeError.badInput("pieces of a lab \(name) are left (network namespaces or \(dataDirectory)): swarm lab down --name \(name) removes them")
        }
        try makeDirectories(directory + "/logs")
    }

    /// The name's own subnet, or the next /24 of 10.77 that no other lab uses.
    static func freeSubnet(for name: String) -> String {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: runRoot)) ?? []
        let used = Set(entries.filter { $0 != name }.compactMap { try? LabRecord.load(LabPaths($0))?.subnet })
        let start = LabNetwork.subnetOctet(for: name)
        for step in 0..<256 {
            let subnet = "10.77.\((start + step) % 256).0/24"
            if !used.contains(subnet) { return subnet }
        }
        return LabNetwork.defaultSubnet(for: name)
    }
}

/// lab.json.
struct LabRecord: Codable {
    var name: String
    /// "starting" while `up` runs, then "up".
    var state: String
    var subnet: String
    var createdAt: Int
    var namespaceDirectory: String
    var client: Client?
    var nodes: [Node]

    struct Client: Codable {
        var address: String
        var namespace: String
    }

    struct Node: Codable {
        var name: String
        var role: String
        var address: String
        var namespace: String
        var dataDir: String
        var stateDir: String
        var cgroupParent: String
        /// unix:///run/swarm-lab/L/nodeN/swarm.sock
        var socket: String
        var pid: pid_t?

        var globalOptions: [String] { ["--data-dir", dataDir, "--state-dir", stateDir, "--cgroup-parent", cgroupParent] }

        func environment(hostname: Bool) -> [String: String] {
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

    static func load(_ paths: LabPaths) throws -> LabRecord? {
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

    /// NODE ROLE ADDRESS SOCKET, the client last.
    func tableRows() -> [[String]] {
        var rows = [["NODE", "ROLE", "ADDRESS", "SOCKET"]]
        for node in nodes { rows.append([node.name, node.role, node.address, node.socket]) }
        if let client, let manager = nodes.first { rows.append(["client", "client", client.address, manager.socket]) }
        return rows
    }
}

// MARK: - Processes


struct CapturedResult {
    static let timedOut: Int32 = -1
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs a program (in `namespace`, if given) with output to LOG.out and
/// LOG.err, not pipes: a daemon it leaves behind may keep its descriptors.
/// Kills it after `timeout` seconds (status `CapturedResult.timedOut`), or
/// on an interrupt of this process (throws `LabSignals.Interrupted`).
func runCaptured(_ namespace: NetworkNamespace?, _ path: String, _ arguments: [String], environment: [String: String],
                 log: String, timeout: Double) throws -> CapturedResult {
    try makeDirectories(String(log[..<(log.lastIndex(of: "/") ?? log.startIndex)]))
    let out = try openOrThrow(log + ".out", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    defer { close(out) }
    let err = try openOrThrow(log + ".err", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    defer { close(err) }
    let start = {
        try spawnProcess(path, arguments, environment: environment, stdin: nil, stdout: out, stderr: err,
                         newProcessGroup: true, searchPath: false)
    }
    let pid: pid_t
    do {
        pid = try namespace.map { try $0.run(start) } ?? start()
    } catch let error as SpawnError {
        throw RuntimeError.system(errno: error.code, call: "posix_spawn", detail: path)
    }
    let deadline = Date().addingTimeInterval(timeout)
    var status: Int32 = 0
    while true {
        let done = waitpid(pid, &status, WNOHANG)
        if done == pid { break }
        if done < 0 && errno != EINTR { break }
        if LabSignals.pending() || Date() > deadline {
            kill(pid, SIGKILL)
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            try LabSignals.check()
            return CapturedResult(status: CapturedResult.timedOut, stdout: "", stderr: "timed out")
        }
        usleep(20_000)
    }
    let code = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    let text = { (file: String) in readWholeFile(file).map { String(decoding: $0, as: UTF8.self) } ?? "" }
    return CapturedResult(status: code, stdout: text(log + ".out"), stderr: text(log + ".err"))
}

/// Waits for a child: its exit status, or 128+signal.
func waitForExit(_ pid: pid_t) -> Int32 {
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 {
        if errno != EINTR { return 1 }
    }
    return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
}

/// Alive and not a zombie.
func processAlive(_ pid: pid_t) -> Bool {
    guard pid > 0, kill(pid, 0) == 0 || errno == EPERM else { return false }
    // The state follows the command name's closing parenthesis: "PID (COMM) S ...".
    guard let fields = readWholeFile("/proc/\(pid)/stat"), let end = fields.lastIndex(of: UInt8(ascii: ")")),
          end + 2 < fields.count else { return true }
    return fields[end + 2] != UInt8(ascii: "Z") && fields[end + 2] != UInt8(ascii: "X")
}

/// SIGTERM, then SIGKILL after 10 s.
func terminate(_ pid: pid_t) {
    kill(pid, SIGTERM)
    for _ in 0..<200 {
        if !processAlive(pid) { return }
        usleep(50_000)
    }
    kill(pid, SIGKILL)
    for _ in 0..<100 where processAlive(pid) { usleep(50_000) }
}

func readDaemonPID(_ stateDir: String) -> pid_t? {
    readWholeFile(stateDir + "/swarmd.pid").flatMap { pid_t(String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) }
}

/// This executable, for running `swarm init` and friends of the same build.
func swarmExecutable() throws -> String {
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard count > 0 else { throw RuntimeError.system(errno: errno, call: "readlink", detail: "/proc/self/exe") }
    return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Interrupts during `lab up` (so it can remove what it made) and signals
/// for the command `lab exec` runs.
enum LabSignals {
    struct Interrupted: Error {}
    static let received = Atomic<Int32>(0)
    static let child = Atomic<pid_t>(0)

    static func catchInterrupts() {
        for number in [SIGINT, SIGTERM, SIGHUP] {
            signal(number) { LabSignals.received.store($0, ordering: .relaxed) }
        }
    }

    static func pending() -> Bool { received.load(ordering: .relaxed) != 0 }

    static func check() throws {
        if pending() { throw Interrupted() }
    }

    /// The terminal's Ctrl-C and Ctrl-\ reach the child (same process
    /// group) and are for it alone; SIGTERM and SIGHUP sent to us go on to it.
    static func forwardToChild() {
        signal(SIGINT, SIG_IGN)
        signal(SIGQUIT, SIG_IGN)
        for number in [SIGTERM, SIGHUP] {
            signal(number) { number in
                let pid = LabSignals.child.load(ordering: .relaxed)
                if pid > 0 { kill(pid, number) }
            }
        }
    }
}

// MARK: - Files

func requireLabRoot() throws {
    guard getuid() == 0 else {
        throw RuntimeError.badInput("labs need root (network namespaces, mounts, cgroups): run swarm as root or with sudo")
    }
}

/// One line of an error, without a "swarm: " of a nested command.
func oneLine(_ error: any Error) -> String {
    let text = (error as? RuntimeError)?.description ?? "\(error)"
    return text.split(separator: "\n").first.map(String.init) ?? text
}

func openOrThrow(_ path: String, _ flags: Int32, _ mode: mode_t) throws -> Int32 {
    let fd = open(path, flags, mode)
    guard fd >= 0 else { throw RuntimeError.system(errno: errno, call: "open", detail: path) }
    return fd
}

func makeDirectories(_ path: String) throws {
    var prefix = path.hasPrefix("/") ? "" : "."
    for component in path.split(separator: "/") {
        prefix += "/" + component
        if mkdir(prefix, 0o755) != 0 && errno != EEXIST { throw RuntimeError.system(errno: errno, call: "mkdir", detail: prefix) }
    }
}

/// All of a file, read by hand: /proc files come in pieces.
func readWholeFile(_ path: String) -> [UInt8]? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = [], chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = read(fd, &chunk, chunk.count)
        if count < 0 && errno == EINTR { continue }
        if count < 0 { return nil }
        if count == 0 { return bytes }
        bytes += chunk[..<count]
    }
}

/// Mount points at or below `path`, deepest first (from mountinfo, whose
/// fifth field is the mount point with spaces and such as octal escapes).
func mounts(under path: String) -> [String] {
    let text = String(decoding: readWholeFile("/proc/self/mountinfo") ?? [], as: UTF8.self)
    let points = text.split(separator: "\n").compactMap { line -> String? in
        let fields = line.split(separator: " ")
        guard fields.count > 4 else { return nil }
        var point = String(fields[4])
        for (escape, character) in [("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")] {
            point = point.replacing(escape, with: character)
        }
        return point == path || point.hasPrefix(path + "/") ? point : nil
    }
    return Set(points).sorted { $0.count > $1.count }
}

/// Removes a directory tree, first unmounting anything mounted in it, so
/// that removing never reaches into another file system. Nil if done (or
/// there was nothing), else what went wrong.
func removeTree(_ path: String) -> String? {
    guard access(path, F_OK) == 0 else { return nil }
    for point in mounts(under: path) where umount2(point, Int32(MNT_DETACH)) != 0 && errno != EINVAL {
        return "unmounting \(point): \(errnoName(errno))"
    }
    do {
        try FileManager.default.removeItem(atPath: path)
    } catch {
        return "removing \(path): \(oneLine(error))"
    }
    return nil
}

/// Kills what is left in a cgroup tree (cgroup.kill) and removes it,
/// children first.
func removeCgroup(_ parent: String) -> String? {
    guard let root = try? CgroupManager.host(parent: parent).parentPath, access(root, F_OK) == 0 else { return nil }
    func remove(_ directory: String) -> String? {
        let fd = open(directory + "/cgroup.kill", O_WRONLY | O_CLOEXEC)
        if fd >= 0 {
            _ = write(fd, "1", 1)
            close(fd)
        }
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            let child = directory + "/" + entry
            var info = stat()
            if lstat(child, &info) == 0, info.st_mode & S_IFMT == S_IFDIR {
                if let problem = remove(child) { return problem }
            }
        }
        for _ in 0..<500 {
            if rmdir(directory) == 0 || errno == ENOENT { return nil }
            if errno != EBUSY { break }
            usleep(10_000)
        }
        return "removing cgroup \(directory): \(errnoName(errno))"
    }
    return remove(root)
}

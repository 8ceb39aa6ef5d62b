import FoundationEssentials
import Glibc
import HostNetwork
import SystemCalls

extension LabCluster {
    /// `up` was interrupted (SIGINT, SIGTERM or SIGHUP, once
    /// `LabSignals.catchInterrupts` is on) and removed what it had made.
    /// `cleanup`: "" or "; cleaning up also failed: …".
    public struct Interrupted: Error, Sendable {
        public let cleanup: String
    }

    /// Makes lab `name`: its network, then `swarm init` on node1 and `swarm
    /// join` on every other node, each inside its node's namespace with the
    /// node's data dir, state dir and cgroup parent; then waits up to
    /// `timeout` seconds until `readyNodes(node1's socket)` counts them all.
    /// On failure removes whatever it made (the name is free again) and
    /// throws "lab up: …" (or `Interrupted`).
    ///
    /// - `binary`: the swarm executable to run in the nodes.
    /// - `heartbeat`: `--dispatcher-heartbeat` for init, e.g. "1s".
    /// - `subnet`: the lab's /24, by default the name's own or the next free one.
    /// - `managers`: node1 to node`managers` are managers (joined one after
    ///   another with the manager token: each adds a member to the managers' etcd).
    /// - `readyNodes`: how many nodes the manager at a socket sees Ready.
    public static func up(name: String, nodes: Int, managers: Int = 1, binary: String, heartbeat: String? = nil, subnet: String? = nil,
                          timeout: Int = 120, readyNodes: @Sendable (String) async throws -> Int) async throws -> LabCluster {
        try LabNetwork.validate(name: name)
        try requireLabRoot()
        if let subnet { _ = try LabNetwork.subnetPrefix(subnet) }

        let paths = LabPaths(name)
        try paths.claim()
        var record = LabRecord(name: name, state: "starting", subnet: "", createdAt: Int(time(nil)),
                               namespaceDirectory: NetworkNamespace.defaultDirectory, client: nil, nodes: [])
        do {
            let network = try LabNetwork(name: name, nodes: nodes, subnet: subnet ?? LabPaths.freeSubnet(for: name))
            record.subnet = network.subnet
            record.client = LabRecord.Client(address: network.clientAddress, namespace: network.client.path)
            record.nodes = (1...nodes).map { index in
                let node = paths.node(index)
                return LabRecord.Node(name: node.name, role: index <= managers ? "manager" : "worker", address: network.nodeAddress(index),
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
            let starter = NodeStarter(binary: binary, heartbeat: heartbeat, timeout: timeout, network: network, paths: paths)
            try await starter.start(&record, readyNodes: readyNodes)
            record.state = "up"
            try record.save(paths)
        } catch {
            // Whatever got made goes; the lab's name is free again.
            let problems = LabTeardown(name: name).run()
            let cleanup = problems.isEmpty ? "" : "; cleaning up also failed: \(problems[0]) (run swarm lab down --name \(name))"
            if error is LabSignals.Interrupted { throw Interrupted(cleanup: cleanup) }
            throw RuntimeError.badInput("lab up: \(oneLine(error))\(cleanup)")
        }
        return LabCluster(record: record)
    }

    /// The token in init's "    swarm join --token SWMTKN-1-… IP:2377" line.
    public static func workerToken(in output: String) -> String? {
        for line in output.split(separator: "\n") {
            let words = line.split(whereSeparator: \.isWhitespace)
            if let flag = words.firstIndex(of: "--token"), flag + 1 < words.count { return String(words[flag + 1]) }
        }
        return nil
    }
}

/// `up`'s second half: init on node1, join on the others, then waits for
/// all to be Ready.
private struct NodeStarter {
    let binary: String
    let heartbeat: String?
    let timeout: Int
    let network: LabNetwork
    let paths: LabPaths

    func start(_ record: inout LabRecord, readyNodes: (String) async throws -> Int) async throws {
        let manager = record.nodes[0]
        var initArguments = ["init", "--advertise-addr", manager.address, "--listen-addr", manager.address + ":2377"]
            + manager.globalOptions
        if let heartbeat { initArguments += ["--dispatcher-heartbeat", heartbeat] }
        let initResult = try runSwarm(initArguments, node: manager, network: network.node(1), log: paths.log("node1-init"))
        try require(initResult, "swarm init on node1")
        record.nodes[0].pid = readDaemonPID(manager.stateDir)
        adopt(&record.nodes[0])
        try record.save(paths)

        var token = LabCluster.workerToken(in: initResult.stdout)
        if token == nil {
            let asked = try runSwarm(["join-token", "-q", "worker", "-H", manager.socket], node: manager, network: network.node(1),
                                     log: paths.log("node1-join-token"))
            try require(asked, "swarm join-token on node1")
            token = asked.stdout.split(whereSeparator: \.isWhitespace).first.map(String.init)
        }
        guard let token, !token.isEmpty else { throw RuntimeError.badInput("swarm init on node1 printed no join token") }

        // Managers one after another: each join changes the managers' etcd
        // membership, which etcd takes one change at a time.
        let managers = record.nodes.indices.dropFirst().filter { record.nodes[$0].role == "manager" }
        if !managers.isEmpty {
            let asked = try runSwarm(["join-token", "-q", "manager", "-H", manager.socket], node: manager, network: network.node(1),
                                     log: paths.log("node1-join-token-manager"))
            try require(asked, "swarm join-token manager on node1")
            let managerToken = asked.stdout.trimmed
            for index in managers {
                let node = record.nodes[index]
                let arguments = ["join", "--token", managerToken, "--advertise-addr", node.address, "--listen-addr", node.address + ":2377"]
                    + node.globalOptions + [manager.address + ":2377"]
                try require(try runSwarm(arguments, node: node, network: network.node(index + 1), log: paths.log("\(node.name)-join")),
                            "swarm join on \(node.name)")
                record.nodes[index].pid = readDaemonPID(node.stateDir)
                adopt(&record.nodes[index])
                try record.save(paths)
            }
        }

        // Joins run several at once: each mostly waits (for swarmd to
        // start, the manager to sign, the daemon to answer).
        var waiting = record.nodes.indices.dropFirst().filter { record.nodes[$0].role == "worker" }
        var running: [(index: Int, run: CapturedRun)] = []
        while !waiting.isEmpty || !running.isEmpty {
            while running.count < NodeStarter.joinsAtOnce, let index = waiting.first {
                waiting.removeFirst()
                let node = record.nodes[index]
                let arguments = ["join", "--token", token, "--advertise-addr", node.address] + node.globalOptions + [manager.address + ":2377"]
                running.append((index, try startSwarm(arguments, node: node, network: network.node(index + 1), log: paths.log("\(node.name)-join"))))
            }
            var finished = false
            for (position, join) in running.enumerated().reversed() {
                guard let result = try join.run.poll() else { continue }
                running.remove(at: position)
                finished = true
                let node = record.nodes[join.index]
                try require(result, "swarm join on \(node.name)")
                record.nodes[join.index].pid = readDaemonPID(node.stateDir)
                adopt(&record.nodes[join.index])
            }
            if finished { try record.save(paths) } else { usleep(10_000) }
        }

        // Ready as the manager sees it: what `swarm node ls` shows.
        let deadline = Date().addingTimeInterval(Double(timeout))
        var ready = 0, lastError = ""
        while true {
            try LabSignals.check()
            do {
                ready = try await readyNodes(manager.socket)
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

    /// How many `swarm join`s run at a time.
    static let joinsAtOnce = 8

    /// Runs the swarm executable inside `network` with the node's environment.
    private func runSwarm(_ arguments: [String], node: LabRecord.Node, network: NetworkNamespace, log: String) throws -> CapturedResult {
        try startSwarm(arguments, node: node, network: network, log: log).wait()
    }

    private func startSwarm(_ arguments: [String], node: LabRecord.Node, network: NetworkNamespace, log: String) throws -> CapturedRun {
        try CapturedRun(network, binary, ["swarm"] + arguments, environment: node.environment(hostname: true), log: log, timeout: 120)
    }

    /// Moves the node's daemon, just started and without children yet, into
    /// the node's own cgroup, so that `pause` freezes it with its containers.
    /// A host where that fails keeps the daemon where it is (`pause` then
    /// stops it by pid).
    private func adopt(_ node: inout LabRecord.Node) {
        guard let pid = node.pid, let cgroup = NodeCgroup(parent: node.cgroupParent) else { return }
        node.inCgroup = (try? cgroup.adopt(pid)) != nil
    }

    private func require(_ result: CapturedResult, _ what: String) throws {
        guard result.status != 0 else { return }
        let reason = result.stderr.split(separator: "\n").last(where: { !$0.allSatisfy(\.isWhitespace) })
            .map { $0.hasPrefix("swarm: ") ? String($0.dropFirst(7)) : String($0) }
        if result.status == CapturedResult.timedOut { throw RuntimeError.badInput("\(what) did not finish within 120 s") }
        throw RuntimeError.badInput("\(what) failed (exit \(result.status))" + (reason.map { ": " + $0 } ?? ""))
    }
}

import Foundation
import Testing

private let etcdInstalled = ["/usr/bin/etcd", "/usr/local/bin/etcd"].contains { FileManager.default.isExecutableFile(atPath: $0) }

/// Three managers on one external etcd (`swarm init --store`, then `swarm
/// join` with the manager token), each a daemon of its own on this host:
/// one leads, the others forward writes to it, and when it dies another
/// takes over within the election's lease.
struct EtcdManagersTests {
    @Test(.enabled(if: isRoot, rootReason), .enabled(if: etcdInstalled, "etcd is not installed (apt-get install -y etcd-server)"))
    func threeManagersElectOneLeaderAndFollowersForwardWrites() throws {
        let etcdDir = NSTemporaryDirectory() + "swarm-test-etcd-\(UUID().uuidString.prefix(8))"
        defer { runProcess(EtcdManagerTests.scripts + "/stop-etcd", [etcdDir]) }
        let started = runProcess(EtcdManagerTests.scripts + "/start-etcd", [etcdDir])
        let etcdPort = try #require(started.stdout.split(separator: " ").first.flatMap { Int($0) }, "start-etcd: \(started.stderr)")

        let nodes = try (0..<3).map { _ in try SwarmNode() }
        let first = nodes[0]
        let initialized = first.cli("init", "--advertise-addr", "127.0.0.1", "--listen-addr", "127.0.0.1:\(first.port)",
                                    "--dispatcher-heartbeat", "1s", "--store", "etcd://127.0.0.1:\(etcdPort)")
        try #require(initialized.status == 0, "swarm init --store: \(initialized.stderr)")
        let token = first.cli("swarm", "join-token", "-q", "manager").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        for node in nodes.dropFirst() {
            let joined = node.cli("swarm", "join", "--token", token, "--advertise-addr", "127.0.0.1",
                                  "--listen-addr", "127.0.0.1:\(node.port)", "127.0.0.1:\(first.port)")
            try #require(joined.status == 0, "swarm join as manager: \(joined.stderr)")
            #expect(joined.stdout.contains("This node joined a swarm as a manager."))
        }

        // One leader, two reachable managers, seen alike from every manager.
        func statuses(_ node: SwarmNode) -> [String] {
            node.lines("node", "ls", "--format", "{{.ManagerStatus}}").sorted()
        }
        #expect(waitUntil(10) { nodes.allSatisfy { statuses($0) == ["Leader", "Reachable", "Reachable"] } },
                "\(nodes.map { statuses($0) })")

        // A write through a follower lands (forwarded), and every manager reads it.
        let follower = nodes[1]
        let created = follower.cli("service", "create", "-d", "--name", "idle", "--replicas", "0", "busybox", "sleep", "1000")
        #expect(created.status == 0, "service create through a follower: \(created.stderr)")
        #expect(waitUntil(5) { nodes.allSatisfy { $0.lines("service", "ls", "--format", "{{.Name}}") == ["idle"] } })
        // Updates back to back through a follower, each reading the version
        // the one before left (as `docker service update` does): the
        // follower answers a forwarded write only once its copy shows it.
        let updates = runProcess(packageRoot + "/scripts/update-loop", [follower.socket, "idle", "300"])
        #expect(updates.status == 0, "\(updates.stderr)")

        // The leader dies: another manager leads within the lease (5 s) and takes writes.
        let leader = try #require(nodes.first { $0.lines("node", "ls", "--format", "{{.Self}} {{.ManagerStatus}}").contains("true Leader") })
        let survivors = nodes.filter { $0 !== leader }
        #expect(leader.daemonPID > 1 && kill(leader.daemonPID, SIGKILL) == 0)
        let killed = Date()
        #expect(waitUntil(10) { survivors[0].cli("service", "update", "-d", "--replicas", "0", "--label-add", "after=kill", "idle").status == 0 })
        let failover = Date().timeIntervalSince(killed)
        #expect(failover < 8, "a write was accepted again after \(failover) s")
        #expect(waitUntil(10) { survivors.allSatisfy { $0.lines("node", "ls", "--format", "{{.ManagerStatus}}").contains("Leader") } })
        #expect(survivors[1].cli("service", "inspect", "--format", "{{index .Spec.Labels \"after\"}}", "idle").stdout
            .trimmingCharacters(in: .whitespacesAndNewlines) == "kill")
        // The dead manager is listed as Unreachable once its heartbeats are missed.
        #expect(waitUntil(10) { survivors[0].lines("node", "ls", "--format", "{{.ManagerStatus}}").contains("Unreachable") })
        // With one of three unreachable, demoting another would leave no majority: refused, as swarmkit does.
        let otherID = survivors[1].cli("node", "inspect", "self", "--format", "{{.ID}}").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let demoted = survivors[0].cli("node", "demote", otherID)
        #expect(demoted.status == 1 && demoted.stderr.contains("can't remove member from the raft: this would result in a loss of quorum"),
                "\(demoted.stdout) \(demoted.stderr)")

        // Its peers lost for good, a manager starts a new cluster from the state it has: it alone is a manager.
        #expect(survivors[1].daemonPID > 1 && kill(survivors[1].daemonPID, SIGKILL) == 0)
        let forced = survivors[0].cli("init", "--force-new-cluster")
        #expect(forced.status == 0 && forced.stdout.contains("Swarm initialized: current node"), "\(forced.stderr)")
        #expect(waitUntil(10) { survivors[0].lines("node", "ls", "--filter", "role=manager", "--format", "{{.ManagerStatus}}") == ["Leader"] },
                "\(survivors[0].cli("node", "ls").stdout)")
        #expect(survivors[0].cli("service", "inspect", "--format", "{{.Spec.Name}}", "idle").stdout == "idle\n")
    }

    @Test(.enabled(if: isRoot, rootReason), .enabled(if: etcdInstalled, "etcd is not installed (apt-get install -y etcd-server)"))
    func aPromotedWorkerBecomesAManagerAndADemotedOneAWorkerAgain() throws {
        let etcdDir = NSTemporaryDirectory() + "swarm-test-etcd-\(UUID().uuidString.prefix(8))"
        defer { runProcess(EtcdManagerTests.scripts + "/stop-etcd", [etcdDir]) }
        let started = runProcess(EtcdManagerTests.scripts + "/start-etcd", [etcdDir])
        let etcdPort = try #require(started.stdout.split(separator: " ").first.flatMap { Int($0) }, "start-etcd: \(started.stderr)")

        let manager = try SwarmNode(), worker = try SwarmNode()
        let initialized = manager.cli("init", "--advertise-addr", "127.0.0.1", "--listen-addr", "127.0.0.1:\(manager.port)",
                                      "--dispatcher-heartbeat", "1s", "--store", "etcd://127.0.0.1:\(etcdPort)")
        try #require(initialized.status == 0, "swarm init --store: \(initialized.stderr)")
        let token = manager.cli("swarm", "join-token", "-q", "worker").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let joined = worker.cli("swarm", "join", "--token", token, "--advertise-addr", "127.0.0.1",
                                "--listen-addr", "127.0.0.1:\(worker.port)", "127.0.0.1:\(manager.port)")
        try #require(joined.status == 0, "swarm join: \(joined.stderr)")
        #expect(joined.stdout.contains("as a worker"))
        #expect(worker.cli("node", "ls").stderr.contains("This node is not a swarm manager"))
        let workerID = String(try #require(manager.lines("node", "ls", "--format", "{{.Self}} {{.ID}}").first { $0.hasPrefix("false ") }?.dropFirst(6)))
        let pid = worker.daemonPID

        let promoted = manager.cli("node", "promote", workerID)
        #expect(promoted.status == 0 && promoted.stdout.contains("Node \(workerID) promoted to a manager in the swarm."), "\(promoted.stderr)")
        // The node takes its manager certificate and starts its daemon again as a manager (the same process ID).
        #expect(waitUntil(15) { worker.cli("node", "ls", "--format", "{{.ManagerStatus}}").stdout.split(separator: "\n").sorted() == ["Leader", "Reachable"] },
                "\(worker.cli("node", "ls").stderr)")
        #expect(worker.daemonPID == pid)
        #expect(FileManager.default.fileExists(atPath: worker.sandbox.dataDir + "/swarm/ca.key"))
        // It forwards writes to the leader as any follower.
        #expect(worker.cli("service", "create", "-d", "--name", "idle", "--replicas", "0", "busybox", "true").status == 0)

        let demoted = manager.cli("node", "demote", workerID)
        #expect(demoted.status == 0 && demoted.stdout.contains("Manager \(workerID) demoted in the swarm."), "\(demoted.stderr)")
        #expect(waitUntil(15) { worker.cli("node", "ls").stderr.contains("This node is not a swarm manager") })
        #expect(!FileManager.default.fileExists(atPath: worker.sandbox.dataDir + "/swarm/ca.key"))
        #expect(manager.lines("node", "ls", "--format", "x{{.ManagerStatus}}").sorted() == ["x", "xLeader"])
        #expect(waitUntil(10) { manager.lines("node", "ls", "--format", "{{.Status}}") == ["Ready", "Ready"] })
        // The last manager cannot be demoted.
        let last = manager.cli("node", "demote", "self")
        #expect(last.status == 1 && last.stderr.contains("attempting to demote the last manager of the swarm"))
    }

    /// Without an external etcd: the second manager makes the only one move
    /// the state from SQLite into an etcd the managers run (a member each),
    /// and demoting it back to one moves the state back. Containers run on.
    @Test(.enabled(if: isRoot, rootReason), .enabled(if: etcdInstalled, "etcd is not installed (apt-get install -y etcd-server)"))
    func aSecondManagerMovesTheStateIntoTheManagersEtcdAndBackWithoutRestartingTasks() throws {
        let first = try SwarmNode(), second = try SwarmNode()
        _ = try first.initialize()
        try first.importBusybox()
        #expect(first.cli("service", "create", "-d", "--name", "web", "--replicas", "2", "busybox", "sleep", "1000").status == 0)
        #expect(waitUntil(20) { first.lines("service", "ls", "--format", "{{.Replicas}}") == ["2/2"] })
        let containers = Set(first.lines("container", "ls", "-q"))
        let tasks = first.cli("service", "ps", "-q", "web").stdout
        #expect(containers.count == 2)

        let token = first.cli("swarm", "join-token", "-q", "manager").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let joined = second.cli("swarm", "join", "--token", token, "--advertise-addr", "127.0.0.1",
                                "--listen-addr", "127.0.0.1:\(second.port)", "127.0.0.1:\(first.port)")
        try #require(joined.status == 0, "swarm join as manager: \(joined.stderr) \(tailOfLog(first))")
        // Without a registry, a node gets images from the manager its agent talks to: the new leader may be the second.
        try second.importBusybox()
        #expect(waitUntil(30) { first.lines("node", "ls", "--format", "{{.ManagerStatus}}").sorted() == ["Leader", "Reachable"] },
                "\(first.cli("node", "ls").stdout)\(first.cli("node", "ls").stderr)")
        #expect(FileManager.default.fileExists(atPath: first.sandbox.dataDir + "/swarm/etcd/data"))
        #expect(!FileManager.default.fileExists(atPath: first.sandbox.dataDir + "/swarm/state.db"))
        #expect(second.cli("service", "ps", "-q", "web").stdout == tasks, "the second manager reads the same tasks")
        #expect(Set(first.lines("container", "ls", "-q")) == containers, "no container restarted")
        #expect(second.cli("service", "scale", "-d", "web=3").status == 0)
        #expect(waitUntil(20) { first.lines("service", "ls", "--format", "{{.Replicas}}") == ["3/3"] })

        let secondID = second.cli("node", "inspect", "self", "--format", "{{.ID}}").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(first.cli("node", "demote", secondID).status == 0)
        #expect(waitUntil(30) { first.lines("node", "ls", "--format", "x{{.ManagerStatus}}").sorted() == ["x", "xLeader"] },
                "\(first.cli("node", "ls").stdout)\(first.cli("node", "ls").stderr)")
        #expect(waitUntil(10) { FileManager.default.fileExists(atPath: first.sandbox.dataDir + "/swarm/state.db") })
        #expect(waitUntil(10) { !FileManager.default.fileExists(atPath: first.sandbox.dataDir + "/swarm/etcd") }, "\(tailOfLog(first))")
        #expect(waitUntil(10) { first.lines("service", "ls", "--format", "{{.Replicas}}") == ["3/3"] }, "\(first.cli("service", "ls").stderr) \(tailOfLog(first))")
        #expect(Set(first.lines("container", "ls", "-q")).isSuperset(of: containers), "no container restarted")
    }
}

func tailOfLog(_ node: SwarmNode) -> String {
    let text = (try? String(contentsOfFile: node.sandbox.stateDir + "/swarmd.log", encoding: .utf8)) ?? ""
    return text.split(separator: "\n").suffix(8).joined(separator: "\n")
}

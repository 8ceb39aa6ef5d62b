import Foundation
import Lab
import Synchronization
import Testing

private let etcdInstalled = ["/usr/bin/etcd", "/usr/local/bin/etcd"].contains { FileManager.default.isExecutableFile(atPath: $0) }
private let etcdReason: Comment = "etcd is not installed (apt-get install -y etcd-server)"

/// Several managers in a lab (`lab up --managers 3`), each with its etcd
/// member: leaders killed, cut off and lost, and what the swarm does.
@Suite(.serialized)
struct LabHATests {
    /// The manager nodes' names, as `node ls` through `via` shows them, with their MANAGER STATUS.
    private func managers(_ lab: LabSwarm, via node: String) -> [String: String] {
        var result: [String: String] = [:]
        for line in lab.swarm(node, "node", "ls", "--filter", "role=manager", "--format", "{{.Hostname}} {{.ManagerStatus}}").stdout.split(separator: "\n") {
            let words = line.split(separator: " ", maxSplits: 1).map(String.init)
            result[words[0]] = words.count > 1 ? words[1] : ""
        }
        return result
    }

    private func logTail(_ lab: LabSwarm, _ node: String) -> String {
        let stateDir = lab.cluster.record.nodes.first { $0.name == node }?.stateDir ?? ""
        let text = (try? String(contentsOfFile: stateDir + "/swarmd.log", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").filter { !$0.contains("[NodeAgent]") }.suffix(12).joined(separator: "\n")
    }

    private func leader(_ lab: LabSwarm, via node: String) -> String? {
        managers(lab, via: node).first { $0.value == "Leader" }?.key
    }

    private func kill9(_ lab: LabSwarm, _ node: String) throws {
        let stateDir = try #require(lab.cluster.record.nodes.first { $0.name == node }?.stateDir)
        let pid = try #require(readDaemonPID(stateDir))
        #expect(pid > 1 && kill(pid, SIGKILL) == 0)
    }

    /// Starts NODE's daemon again in its namespace, as systemd would.
    private func restart(_ lab: LabSwarm, _ node: String) throws {
        let stateDir = try #require(lab.cluster.record.nodes.first { $0.name == node }?.stateDir)
        let started = runProcess(swarmBinary, ["lab", "exec", "--name", lab.name, node, "/bin/sh", "-c",
                                               "/usr/bin/setsid -f \(swarmBinary) daemon >>\(stateDir)/swarmd.log 2>&1 </dev/null"])
        try #require(started.status == 0, "\(started.stderr)")
        try #require(waitUntil(15) { lab.swarm(node, "container", "ls").status == 0 }, "\(node)'s daemon did not come back")
    }

    /// Slots with more than one task running or about to (Docker's rule: one per slot).
    private func doubledSlots(_ lab: LabSwarm, via node: String, _ service: String) -> [String] {
        let rows = lab.swarm(node, "service", "ps", "--filter", "desired-state=running", "--format", "{{.Name}} {{.CurrentState}}", service).stdout
        var count: [String: Int] = [:]
        for row in rows.split(separator: "\n") where row.contains(" Running ") { count[String(row.split(separator: " ")[0]), default: 0] += 1 }
        return count.filter { $0.value > 1 }.map(\.key)
    }

    private func running(_ lab: LabSwarm, via node: String, _ service: String) -> Int {
        lab.swarm(node, "service", "ps", "--filter", "desired-state=running", "--format", "{{.CurrentState}}", service).stdout
            .split(separator: "\n").filter { $0.hasPrefix("Running") }.count
    }

    @Test(.enabled(if: isRoot, rootReason), .enabled(if: etcdInstalled, etcdReason))
    func theLeaderKilledWhileAServiceScalesAnotherTakesOverAndTheScaleCompletes() throws {
        let lab = try LabSwarm(name: "h\(getpid())", nodes: 5, managers: 3)
        #expect(waitUntil(10) { managers(lab, via: "node2").values.sorted() == ["Leader", "Reachable", "Reachable"] }, "\(managers(lab, via: "node2"))")
        let create = lab.swarm("node2", "service", "create", "--name", "web", "--replicas", "10", "--stop-grace-period", "1s", "busybox", "sleep", "1000")
        try #require(create.status == 0, "\(create.stderr)")
        #expect(waitUntil(30) { running(lab, via: "node2", "web") == 10 })

        let old = try #require(leader(lab, via: "node1"))
        let survivors = ["node1", "node2", "node3"].filter { $0 != old }
        let scale = lab.swarm(survivors[0], "service", "scale", "-d", "web=30")
        #expect(scale.status == 0, "\(scale.stderr)")
        try kill9(lab, old)
        let killed = Date()
        #expect(waitUntil(15) { leader(lab, via: survivors[0]).map { $0 != old } ?? false })
        let failover = Date().timeIntervalSince(killed)
        #expect(failover < 5 + 1, "a new leader after \(failover) s (Docker's 5 s, plus the poll through lab exec)")
        // The acknowledged scale survived, and it completes on the live nodes.
        #expect(lab.swarm(survivors[1], "service", "inspect", "--format", "{{.Spec.Mode.Replicated.Replicas}}", "web").stdout.contains("30"))
        #expect(waitUntil(60) { running(lab, via: survivors[1], "web") == 30 }, "\(running(lab, via: survivors[1], "web")) running")
        #expect(doubledSlots(lab, via: survivors[0], "web").isEmpty, "\(doubledSlots(lab, via: survivors[0], "web"))")
        #expect(waitUntil(10) { managers(lab, via: survivors[0])[old] == "Unreachable" }, "\(managers(lab, via: survivors[0]))")

        // Back, it follows the new leader and reads the same state.
        try restart(lab, old)
        #expect(waitUntil(20) { managers(lab, via: old).values.sorted() == ["Leader", "Reachable", "Reachable"] }, "\(managers(lab, via: old))")
        #expect(lab.swarm(old, "service", "inspect", "--format", "{{.Spec.Mode.Replicated.Replicas}}", "web").stdout.contains("30"))
    }

    @Test(.enabled(if: isRoot, rootReason), .enabled(if: etcdInstalled, etcdReason))
    func aPartitionedLeaderStopsActingTheMajorityElectsAndHealedThereIsOneState() throws {
        let lab = try LabSwarm(name: "p\(getpid())", nodes: 4, managers: 3)
        #expect(waitUntil(10) { leader(lab, via: "node1") != nil })
        let old = try #require(leader(lab, via: "node1"))
        let others = ["node1", "node2", "node3"].filter { $0 != old }
        let cut = runProcess(swarmBinary, ["lab", "partition", "--name", lab.name, old])
        try #require(cut.status == 0, "\(cut.stderr)")
        #expect(waitUntil(15) { leader(lab, via: others[0]).map { $0 != old } ?? false }, "\(managers(lab, via: others[0]))")
        // The cut-off manager cannot act: a write through it is refused with Docker's words.
        #expect(waitUntil(10) {
            lab.swarm(old, "service", "create", "-d", "--name", "refused", "busybox", "true").stderr.contains("The swarm does not have a leader")
        })
        #expect(lab.swarm(others[1], "service", "create", "-d", "--name", "majority", "--replicas", "2", "busybox", "sleep", "1000").status == 0)

        #expect(runProcess(swarmBinary, ["lab", "heal", "--name", lab.name]).status == 0)
        #expect(waitUntil(20) {
            let views = ["node1", "node2", "node3"].map { leader(lab, via: $0) }
            return Set(views).count == 1 && views[0] != nil
        })
        for node in ["node1", "node2", "node3"] {
            #expect(lab.swarm(node, "service", "ls", "--format", "{{.Name}}").stdout == "majority\n", "\(node)")
        }
    }

    @Test(.enabled(if: isRoot, rootReason), .enabled(if: etcdInstalled, etcdReason))
    func twoOfThreeManagersLostWritesAreRefusedTasksRunAndOneBackHeals() throws {
        let lab = try LabSwarm(name: "q\(getpid())", nodes: 4, managers: 3)
        #expect(lab.swarm("node1", "service", "create", "--name", "web", "--replicas", "4", "--constraint", "node.role==worker",
                          "busybox", "sleep", "1000").status == 0)
        #expect(waitUntil(30) { running(lab, via: "node1", "web") == 4 })
        let onWorker = Set(lab.swarm("node4", "container", "ls", "-q").stdout.split(separator: "\n"))
        #expect(onWorker.count == 4)

        try kill9(lab, "node2")
        try kill9(lab, "node3")
        #expect(waitUntil(15) {
            let refused = lab.swarm("node1", "service", "scale", "-d", "web=5")
            return refused.status == 1 && refused.stderr.contains("The swarm does not have a leader. It's possible that too few managers are online.")
        })
        // Running tasks keep running: nothing decides to stop them.
        #expect(Set(lab.swarm("node4", "container", "ls", "-q").stdout.split(separator: "\n")) == onWorker)

        try restart(lab, "node2")
        #expect(waitUntil(30) { lab.swarm("node1", "service", "scale", "-d", "web=5").status == 0 })
        #expect(waitUntil(30) { running(lab, via: "node1", "web") == 5 })
    }

    @Test(.enabled(if: isRoot, rootReason), .enabled(if: etcdInstalled, etcdReason))
    func oneToThreeToOneManagersRestartsNoContainer() throws {
        let lab = try LabSwarm(name: "m\(getpid())")
        #expect(lab.swarm("node1", "service", "create", "--name", "web", "--replicas", "20", "busybox", "sleep", "1000").status == 0)
        #expect(waitUntil(40) { running(lab, via: "node1", "web") == 20 })
        func containers() -> Set<String> {
            Set(["node1", "node2", "node3"].flatMap { lab.swarm($0, "container", "ls", "-q", "--no-trunc").stdout.split(separator: "\n").map(String.init) })
        }
        let before = containers()
        #expect(before.count == 20)
        let tasks = lab.swarm("node1", "service", "ps", "-q", "web").stdout

        // One after the other, as an operator adds managers: each one changes the etcd membership.
        #expect(lab.swarm("node1", "node", "promote", "node2").status == 0)
        // node2 answers as a manager once its daemon started again with its etcd member.
        #expect(waitUntil(60) { lab.swarm("node2", "service", "ps", "-q", "web").stdout == tasks }, "the state moved to etcd whole: \(logTail(lab, "node2")) \(logTail(lab, "node1"))")
        #expect(lab.swarm("node1", "node", "promote", "node3").status == 0)
        #expect(waitUntil(90) { lab.swarm("node3", "service", "ps", "-q", "web").stdout == tasks }, "\(logTail(lab, "node3")) \(logTail(lab, "node1")) \(logTail(lab, "node2"))")
        #expect(waitUntil(40) { managers(lab, via: "node1").values.sorted() == ["Leader", "Reachable", "Reachable"] }, "\(managers(lab, via: "node1"))")
        #expect(containers() == before, "\(lab.swarm("node1", "service", "ps", "--format", "{{.Name}} {{.Node}} {{.DesiredState}} {{.CurrentState}} {{.Error}}", "web").stdout)")
        let scaled = lab.swarm("node3", "service", "scale", "-d", "web=21")
        #expect(scaled.status == 0, "\(scaled.stderr) \(logTail(lab, "node3"))")

        let demoted = lab.swarm("node1", "node", "demote", "node2", "node3")
        #expect(demoted.status == 0, "\(demoted.stderr)")
        #expect(waitUntil(40) { managers(lab, via: "node1").values.sorted() == ["Leader"] }, "\(managers(lab, via: "node1"))")
        #expect(containers().isSuperset(of: before), "no container of the 20 restarted")
        #expect(waitUntil(30) { running(lab, via: "node1", "web") == 21 })
        #expect(waitUntil(30) { lab.swarm("node2", "node", "ls").stderr.contains("This node is not a swarm manager") },
                "\(lab.swarm("node2", "node", "ls").stderr) \(lab.swarm("node1", "node", "ls").stdout)")
    }

    /// A small history check: three clients update their own service through
    /// different managers while leaders are killed and cut off. Every write a
    /// client saw acknowledged must be in the final state (its label at
    /// least that write's number, and never a number it did not send), and
    /// the versions a client reads after its acknowledged writes only grow.
    @Test(.enabled(if: isRoot, rootReason), .enabled(if: etcdInstalled, etcdReason))
    func acknowledgedWritesSurviveKilledAndPartitionedLeaders() throws {
        let lab = try LabSwarm(name: "y\(getpid())", nodes: 3, managers: 3)
        let clients = 3, writes = 12
        for client in 0..<clients {
            #expect(lab.swarm("node1", "service", "create", "-d", "--name", "s\(client)", "--replicas", "0", "busybox", "true").status == 0)
        }
        struct Record: Sendable { var acknowledged: [Int] = []; var versions: [Int] = [] }
        let records = Mutex([Record](repeating: Record(), count: clients))
        let faults = Thread { [self] in
            // Kill the leader, bring it back; cut the next leader off, heal.
            if let old = leader(lab, via: "node1") ?? leader(lab, via: "node2") {
                try? kill9(lab, old)
                Thread.sleep(forTimeInterval: 6)
                try? restart(lab, old)
            }
            if let next = leader(lab, via: "node1") ?? leader(lab, via: "node2") ?? leader(lab, via: "node3") {
                _ = runProcess(swarmBinary, ["lab", "partition", "--name", lab.name, next])
                Thread.sleep(forTimeInterval: 7)
                _ = runProcess(swarmBinary, ["lab", "heal", "--name", lab.name])
            }
        }
        faults.start()
        DispatchQueue.concurrentPerform(iterations: clients) { client in
            for write in 1...writes {
                let via = "node\((client + write) % 3 + 1)"
                let update = lab.swarm(via, "service", "update", "-d", "--label-add", "seq=\(write)", "s\(client)")
                guard update.status == 0 else { continue }
                let version = Int(lab.swarm(via, "service", "inspect", "--format", "{{.Version.Index}}", "s\(client)").stdout
                    .trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
                records.withLock { $0[client].acknowledged.append(write); $0[client].versions.append(version) }
                Thread.sleep(forTimeInterval: 0.3)
            }
        }
        while faults.isExecuting || !faults.isFinished { Thread.sleep(forTimeInterval: 0.2) }
        #expect(waitUntil(30) { leader(lab, via: "node1") != nil })
        for (client, record) in records.withLock({ $0 }).enumerated() {
            #expect(!record.acknowledged.isEmpty, "client \(client) had no write acknowledged")
            let final = Int(lab.swarm("node1", "service", "inspect", "--format", "{{index .Spec.Labels \"seq\"}}", "s\(client)").stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
            #expect(final >= (record.acknowledged.last ?? 0) && final <= writes, "client \(client): final \(final), acknowledged \(record.acknowledged)")
            let known = record.versions.filter { $0 >= 0 }
            #expect(zip(known, known.dropFirst()).allSatisfy { $0 < $1 }, "client \(client): versions \(known)")
        }
    }
}

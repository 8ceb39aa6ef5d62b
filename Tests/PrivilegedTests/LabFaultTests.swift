import Containers
import Foundation
import HostNetwork
import Lab
import Testing

// Faults a lab makes (`lab partition|heal|pause|unpause`) and what the swarm
// does about them; `lab down` of big, crashed, half-made, paused and
// partitioned labs, which must leave nothing.

/// What lab `name` left on this machine, one line each: directories,
/// namespaces, cgroups, mounts and processes (empty: nothing).
func labLeftovers(_ name: String) -> [String] {
    var left = ["/run/swarm-lab/\(name)", "/var/lib/swarm-lab/\(name)"].filter { FileManager.default.fileExists(atPath: $0) }
    left += LabNetwork.existingNamespaces(lab: name).map { "namespace " + $0.path }
    if let root = try? CgroupManager.host().root {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        left += entries.filter { $0.hasPrefix("swarm-lab-\(name)-") }.map { "cgroup \(root)/\($0)" }
    }
    let mountinfo = String(decoding: readWholeFile("/proc/self/mountinfo") ?? [], as: UTF8.self)
    left += mountinfo.split(separator: "\n").filter { $0.contains("/swarm-lab/\(name)/") || $0.contains("/swarm-lab/netns/\(name)-") }
        .map { "mount " + $0 }
    for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where Int32(entry) != nil {
        guard let command = readWholeFile("/proc/\(entry)/cmdline"), processAlive(Int32(entry)!) else { continue }
        let text = String(decoding: command.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
        if text.contains("/swarm-lab/\(name)/") { left.append("process \(entry): \(text)") }
    }
    return left
}

@Suite(.serialized)
struct LabFaultTests {
    private func swarmLab(_ arguments: String...) -> ProcessResult { runProcess(swarmBinary, ["lab"] + arguments) }

    private func status(_ lab: LabSwarm, _ node: String) -> String { status(of: lab.name, node) }

    /// NODE's STATUS in `lab ls --name LAB` (the last column; columns are
    /// two spaces apart at least, a status has single ones).
    private func status(of lab: String, _ node: String) -> String {
        let row = swarmLab("ls", "--name", lab).stdout.split(separator: "\n").first { $0.hasPrefix(node + " ") } ?? ""
        return row.components(separatedBy: "  ").filter { !$0.isEmpty }.last?.trimmingCharacters(in: .whitespaces) ?? ""
    }

    /// "Ready" or "Down" as the manager sees NODE.
    private func nodeState(_ lab: LabSwarm, _ node: String) -> String {
        lab.swarm("node1", "node", "inspect", "--format", "{{.Status.State}}", node).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test(.enabled(if: isRoot, rootReason))
    func cutOffOrFrozenWorkersGoDownTheirTasksMoveAndTheyComeBack() throws {
        let lab = try LabSwarm(name: "f\(getpid())")
        let create = lab.swarm("node1", "service", "create", "--name", "web", "--replicas", "6", "--stop-grace-period", "1s",
                               "--restart-delay", "0s", "busybox", "sleep", "1000")
        try #require(create.status == 0, "\(create.stderr)")
        try #require(lab.converged("web", ["node1": 2, "node2": 2, "node3": 2]), "\(lab.spread("web"))")
        let addresses = lab.cluster.record.nodes.map(\.address)
        let ping = FileManager.default.isExecutableFile(atPath: "/usr/bin/ping") ? ["/usr/bin/ping"] : ["/usr/bin/busybox", "ping"]
        func reaches(_ from: String, _ address: String) -> Bool {
            runProcess(swarmBinary, ["lab", "exec", "--name", lab.name, from] + ping + ["-c1", "-W1", address]).status == 0
        }
        #expect(reaches("node2", addresses[0]))

        // Cut off: node2 keeps running but reaches no one; the manager marks
        // it Down once two heartbeats (1 s) and 0.5 s have passed, and its
        // tasks run on the others.
        let cut = swarmLab("partition", "--name", lab.name, "node2")
        #expect(cut.status == 0 && cut.stdout == "node2\n", "\(cut.stdout)\(cut.stderr)")
        let cutAt = Date()
        #expect(waitUntil(10) { nodeState(lab, "node2") == "down" }, "\(nodeState(lab, "node2"))")
        // Down after two silent periods (1 s here); the poll through `lab exec` adds its own time.
        let down = Date().timeIntervalSince(cutAt)
        #expect(down < 3 + 1.5, "node2 Down after \(down) s")
        #expect(status(lab, "node2") == "running, partitioned 1", "\(swarmLab("ls", "--name", lab.name).stdout)")
        #expect(swarmLab("ls").stdout.contains("up (1 partitioned)"), "\(swarmLab("ls").stdout)")
        #expect(!reaches("node2", addresses[0]) && !reaches("node2", addresses[2]))
        #expect(reaches("node3", addresses[0]), "the others still reach each other")
        #expect(lab.converged("web", ["node1": 3, "node3": 3], within: 20), "\(lab.spread("web"))")
        let node2 = try #require(lab.cluster.record.nodes[1].pid)
        #expect(processAlive(node2), "node2's daemon kept running")

        let heal = swarmLab("heal", "--name", lab.name)
        #expect(heal.status == 0 && heal.stdout == "node2\n", "\(heal.stdout)\(heal.stderr)")
        #expect(status(lab, "node2") == "running")
        #expect(reaches("node2", addresses[0]))
        #expect(waitUntil(30) { nodeState(lab, "node2") == "ready" }, "node2 back: \(nodeState(lab, "node2"))")

        // Frozen: node3's daemon and containers stop where they are; Down,
        // tasks elsewhere; thawed, Ready again.
        let pause = swarmLab("pause", "--name", lab.name, "node3")
        #expect(pause.status == 0 && pause.stdout == "node3\n", "\(pause.stdout)\(pause.stderr)")
        let pausedAt = Date()
        let slice = try CgroupManager.host(parent: "swarm-lab-\(lab.name)-node3.slice").parentPath
        #expect(String(decoding: readWholeFile(slice + "/cgroup.events") ?? [], as: UTF8.self).contains("frozen 1"))
        let daemon = try #require(lab.cluster.record.nodes[2].pid)
        let cgroup = String(decoding: readWholeFile("/proc/\(daemon)/cgroup") ?? [], as: UTF8.self)
        #expect(cgroup.contains("0::/swarm-lab-\(lab.name)-node3.slice/swarmd"), "the daemon is in its node's cgroup: \(cgroup)")
        #expect(status(lab, "node3") == "paused")
        #expect(swarmLab("pause", "--name", lab.name, "node3").stderr == "swarm: node node3 of lab \(lab.name) is paused already\n")
        #expect(waitUntil(10) { nodeState(lab, "node3") == "down" }, "\(nodeState(lab, "node3"))")
        #expect(Date().timeIntervalSince(pausedAt) < 3 + 1.5)
        #expect(waitUntil(20) { let spread = lab.spread("web"); return spread["node3"] == nil && spread.values.reduce(0, +) == 6 },
                "\(lab.spread("web"))")

        let unpause = swarmLab("unpause", "--name", lab.name, "node3")
        #expect(unpause.status == 0 && unpause.stdout == "node3\n", "\(unpause.stdout)\(unpause.stderr)")
        #expect(String(decoding: readWholeFile(slice + "/cgroup.events") ?? [], as: UTF8.self).contains("frozen 0"))
        #expect(waitUntil(30) { nodeState(lab, "node3") == "ready" }, "node3 back: \(nodeState(lab, "node3"))")
        #expect(swarmLab("unpause", "--name", lab.name, "node3").stderr == "swarm: node node3 of lab \(lab.name) is not paused\n")

        // Bad input changes nothing.
        for arguments in [["partition", "--name", lab.name], ["partition", "--name", lab.name, "node9"], ["pause", "--name", lab.name, "client"],
                          ["heal", "--name", lab.name, "node2", "node9"], ["pause", "--name", "no-such-lab", "node1"]] {
            let result = runProcess(swarmBinary, ["lab"] + arguments)
            #expect(result.status == 1 && result.stderr.hasPrefix("swarm: ") && result.stderr.split(separator: "\n").count == 1,
                    "\(arguments): \(result.stderr)")
        }
        #expect(status(lab, "node2") == "running" && status(lab, "node3") == "running")

        // Down works on a lab with a node paused and two cut off together.
        #expect(swarmLab("pause", "--name", lab.name, "node3").status == 0)
        #expect(swarmLab("partition", "--name", lab.name, "node1", "node2").status == 0)
        #expect(status(lab, "node1") == "running, partitioned 1" && status(lab, "node2") == "running, partitioned 1")
        #expect(reaches("node2", addresses[0]), "nodes cut off together reach each other")
        let removed = swarmLab("down", "--name", lab.name)
        #expect(removed.status == 0, "\(removed.stderr)")
        #expect(labLeftovers(lab.name) == [])
    }

    @Test(.enabled(if: isRoot, rootReason))
    func downOfATenNodeLabWithACrashedNodeLeavesNothing() throws {
        let name = "d\(getpid())"
        defer { _ = swarmLab("down", "--name", name) }
        let up = swarmLab("up", "--nodes", "10", "--name", name, "--timeout", "300")
        try #require(up.status == 0, "\(up.stdout)\(up.stderr)")
        let record = try #require(try LabRecord.load(LabPaths(name)))
        // A container (cgroup, mounts), a command left in a node, a node whose daemon crashed.
        let container = swarmLab("exec", "--name", name, "node5", "swarm", "container", "run", "-d", "--rootfs", busyboxRootfs, "sleep", "300")
        #expect(container.status == 0, "\(container.stderr)")
        let straggler = try spawn(swarmBinary, ["lab", "exec", "--name", name, "node3", "sleep", "300"])
        let node7 = try #require(record.nodes[6].pid)
        #expect(kill(node7, SIGKILL) == 0)
        #expect(eventually { status(of: name, "node7") == "exited" }, "\(swarmLab("ls", "--name", name).stdout)")

        let started = Date()
        let down = swarmLab("down", "--name", name)
        let seconds = Date().timeIntervalSince(started)
        #expect(down.status == 0 && down.stdout == "Lab \(name) removed.\n", "\(down.stdout)\(down.stderr)")
        #expect(waitFor(straggler) == 128 + SIGKILL)
        #expect(labLeftovers(name) == [])
        // All nodes at once: well under the 2 s a node took one after another.
        #expect(seconds < 5, "down of 10 nodes took \(seconds) s")
        #expect(swarmLab("down", "--name", name).stderr == "swarm: no lab named \(name)\n")
    }

    @Test(.enabled(if: isRoot, rootReason))
    func downAfterAnUpKilledHalfwayLeavesNothing() throws {
        let name = "k\(getpid())"
        defer { _ = swarmLab("down", "--name", name) }
        let up = try spawn(swarmBinary, ["lab", "up", "--nodes", "6", "--name", name])
        // Killed once node1 runs and joins are under way: they go on without it.
        let joined = eventually(120) { FileManager.default.fileExists(atPath: "/run/swarm-lab/\(name)/logs/node2-join.out") }
        kill(up, SIGKILL)
        #expect(waitFor(up) == 128 + SIGKILL)
        try #require(joined, "no join started")
        #expect(swarmLab("ls").stdout.contains("\(name) "), "\(swarmLab("ls").stdout)")
        let down = swarmLab("down", "--name", name)
        #expect(down.status == 0, "\(down.stderr)")
        #expect(labLeftovers(name) == [])
    }
}

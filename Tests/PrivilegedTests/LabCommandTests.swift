import Foundation
import HostNetwork
import Lab
import Testing

// `swarm lab` end to end: a two-node swarm in namespaces, exec into it,
// down leaves nothing. Part of LabNetworkTests' serialized suite: both use
// the shared lab directory.

/// Where cgroup2 is mounted, from /proc/self/mountinfo: /sys/fs/cgroup on
/// pure v2 hosts, /sys/fs/cgroup/unified on hybrid ones.
private func cgroup2Mount() -> String? {
    let text = String(decoding: readWholeFile("/proc/self/mountinfo") ?? [], as: UTF8.self)
    for line in text.split(separator: "\n") {
        // "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS… - FSTYPE SOURCE SUPEROPTIONS"
        let halves = line.split(separator: " - ", maxSplits: 1)
        let fields = halves.first?.split(separator: " ") ?? []
        if halves.count == 2, halves[1].hasPrefix("cgroup2 "), fields.count > 4 { return String(fields[4]) }
    }
    return nil
}

extension LabNetworkTests {
    /// `swarm lab ARGS…` with this test run's swarm binary.
    private func lab(_ arguments: String...) -> ProcessResult {
        runProcess(swarmBinary, ["lab"] + arguments)
    }

    @Test
    func labRefusesBadInputInOneLine() {
        for arguments in [["up", "--nodes", "0"], ["up", "--nodes", "2", "--managers", "3"], ["up", "--nodes", "2", "--name", "a/b"],
                          ["up", "--nodes", "2", "--subnet", "10.1.0.0/16"], ["exec", "node1"]] {
            let result = runProcess(swarmBinary, ["lab"] + arguments)
            #expect(result.status == 1, "\(arguments)")
            #expect(result.stderr.hasPrefix("swarm: ") && result.stderr.split(separator: "\n").count == 1, "\(arguments): \(result.stderr)")
        }
        #expect(runProcess(swarmBinary, ["lab", "up", "--nodes", "2", "--managers", "3"]).stderr.contains("use 1 to --nodes (2)"))
    }

    @Test(.enabled(if: isRoot, rootReason))
    func labUpExecDown() throws {
        let name = "t\(getpid())e"
        defer { _ = lab("down", "--name", name) }
        #expect(lab("down", "--name", name).stderr == "swarm: no lab named \(name)\n")

        let up = lab("up", "--nodes", "2", "--name", name, "--dispatcher-heartbeat", "1s")
        try #require(up.status == 0, "\(up.stdout)\(up.stderr)")
        #expect(up.stdout.contains("Lab \(name) is up: 2 nodes"), "\(up.stdout)")
        let again = lab("up", "--nodes", "2", "--name", name)
        #expect(again.status == 1 && again.stderr.contains("already up"), "\(again.stderr)")

        #expect(LabPaths(name).record == "/run/swarm-lab/\(name)/lab.json")
        let record = try #require(try LabRecord.load(LabPaths(name)))
        let nodes = record.nodes
        #expect(nodes.map(\.role) == ["manager", "worker"])
        let pids = nodes.compactMap(\.pid)
        #expect(pids.count == 2)

        let table = lab("ls", "--name", name).stdout
        #expect(table.hasPrefix("NODE"), "\(table)")
        #expect(table.contains("node2    worker    10.77.") && table.contains("unix:///run/swarm-lab/\(name)/node2/swarm.sock"), "\(table)")
        #expect(lab("ls").stdout.contains("\(name) "))

        // Each daemon runs inside its node's namespace.
        for (index, pid) in pids.enumerated() {
            let namespace = NetworkNamespace(name: "\(name)-node\(index + 1)")
            #expect(namespace.processes().contains(pid), "daemon \(pid) in \(namespace.name)")
        }

        let nodeList = lab("exec", "--name", name, "node1", "swarm", "node", "ls")
        #expect(nodeList.status == 0, "\(nodeList.stderr)")
        #expect(nodeList.stdout.split(separator: "\n").filter { $0.contains(" Ready ") }.count == 2, "\(nodeList.stdout)")
        #expect(nodeList.stdout.contains("node2"), "host names are the node names: \(nodeList.stdout)")
        // The client reaches node1's manager too, and the nodes over the lab network.
        #expect(lab("exec", "--name", name, "client", "swarm", "node", "ls").status == 0)
        let address = nodes.first?.address ?? "?"
        let ping = FileManager.default.isExecutableFile(atPath: "/usr/bin/ping") ? ["/usr/bin/ping"] : ["/usr/bin/busybox", "ping"]
        let reach = runProcess(swarmBinary, ["lab", "exec", "--name", name, "node2"] + ping + ["-c1", "-W1", address])
        #expect(reach.status == 0, "\(reach.stdout)\(reach.stderr)")

        let environment = lab("exec", "--name", name, "node2", "sh", "-c", "echo $SWARM_HOST $DOCKER_HOST $SWARM_STATE_DIR $SWARM_CGROUP_PARENT; exit 7")
        #expect(environment.status == 7)
        #expect(environment.stdout == "unix:///run/swarm-lab/\(name)/node2/swarm.sock unix:///run/swarm-lab/\(name)/node2/swarm.sock /run/swarm-lab/\(name)/node2 swarm-lab-\(name)-node2.slice\n")
        #expect(lab("exec", "--name", name, "node2", "--", "true").status == 0)
        #expect(lab("exec", "--name", name, "node2", "no-such-command").status == 127)
        #expect(lab("exec", "--name", name, "node9", "true").stderr.contains("no node node9"))

        // Something left running in a node goes with the lab: a command, and a
        // container (whose cgroup parent, under the real cgroup2 mount, goes too).
        let straggler = try spawn(swarmBinary, ["lab", "exec", "--name", name, "node2", "sleep", "300"])
        #expect(eventually { NetworkNamespace(name: "\(name)-node2").processes().count >= 2 })
        let container = lab("exec", "--name", name, "node2", "swarm", "container", "run", "-d", "--rootfs", busyboxRootfs, "sleep", "300")
        #expect(container.status == 0, "\(container.stderr)")
        let cgroups = try #require(cgroup2Mount(), "no cgroup2 mount in /proc/self/mountinfo")
        let slices = [1, 2].map { "\(cgroups)/swarm-lab-\(name)-node\($0).slice" }
        #expect(FileManager.default.fileExists(atPath: slices[1]), "\(slices[1]) while node2 runs a container")

        let down = lab("down", "--name", name)
        #expect(down.status == 0, "\(down.stderr)")
        #expect(waitFor(straggler) == 128 + SIGKILL)
        // Dead; init, their parent, reaps them in its own time (once a second here).
        for pid in pids { #expect(!processAlive(pid), "daemon \(pid) gone") }
        for path in ["/run/swarm-lab/\(name)", "/var/lib/swarm-lab/\(name)"] + slices {
            #expect(!FileManager.default.fileExists(atPath: path), "\(path)")
        }
        #expect(LabNetwork.existingNamespaces(lab: name).isEmpty)
        #expect(!lab("ls").stdout.contains("\(name) "))
        #expect(lab("down", "--name", name).status == 1)
    }
}

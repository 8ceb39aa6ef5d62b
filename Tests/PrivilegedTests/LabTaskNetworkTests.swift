import Foundation
import Lab
import Testing

/// The data path under the real daemon, on a lab's nodes: each task's
/// container runs in the namespace the agent wired (a way out through the
/// node's gateway bridge), kept across an agent restart, released when the
/// task goes, and `leave` leaves nothing of it.
@Suite(.serialized)
struct LabTaskNetworkTests {
    @Test(.enabled(if: isRoot, rootReason))
    func tasksRunInWiredNamespacesThatGoWithThem() throws {
        let lab = try LabSwarm(name: "n\(getpid())")
        let stateDir = try #require(lab.cluster.record.nodes.first { $0.name == "node2" }?.stateDir)
        let namespaces = stateDir + "/overlay/netns"
        func taskNamespaces() -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: namespaces)) ?? []).filter { $0.hasPrefix("task-") }
        }
        func links() -> String {
            runProcess(swarmBinary, ["lab", "exec", "--name", lab.name, "node2", "ip", "-o", "link"]).stdout
                .split(separator: "\n").map { $0.split(separator: ":").dropFirst().first.map(String.init) ?? "" }.joined(separator: ",")
        }

        #expect(lab.swarm("node1", "service", "create", "-d", "--name", "web", "--replicas", "3", "--stop-grace-period", "1s",
                          "busybox", "sleep", "1000").status == 0)
        #expect(lab.converged("web", ["node1": 1, "node2": 1, "node3": 1]), "\(lab.spread("web"))")
        let container = lab.swarm("node2", "container", "ls", "-q").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(taskNamespaces().count == 1)
        let route = lab.swarm("node2", "container", "exec", container, "ip", "route").stdout
        #expect(route.contains("default via 172.18.0.1"), "\(route)")
        #expect(lab.swarm("node2", "container", "exec", container, "ping", "-c", "1", "-W", "2", "172.18.0.1").status == 0)

        // The agent is killed and restarted: the namespace is kept, nothing is made twice.
        let linksBefore = links()
        let agent = try #require(lab.daemonPID("node2"))
        #expect(kill(agent, SIGKILL) == 0)
        #expect(waitUntil(5) { !processAlive(agent) })
        #expect(runProcess(swarmBinary, ["lab", "exec", "--name", lab.name, "node2", "/bin/sh", "-c",
                                         "setsid \(swarmBinary) daemon >> $SWARM_STATE_DIR/swarmd.log 2>&1 < /dev/null &"]).status == 0)
        #expect(waitUntil(10) { lab.daemonPID("node2").map { $0 != agent } ?? false })
        #expect(lab.converged("web", ["node1": 1, "node2": 1, "node3": 1]))
        #expect(taskNamespaces().count == 1 && links() == linksBefore, "\(links())")
        #expect(lab.swarm("node2", "container", "exec", container, "ping", "-c", "1", "-W", "2", "172.18.0.1").status == 0)

        // The task goes: its namespace and its port on the gateway bridge go with it.
        #expect(lab.swarm("node1", "service", "rm", "web").status == 0)
        #expect(waitUntil(20) { taskNamespaces().isEmpty && !links().contains("gw-") }, "\(taskNamespaces()) \(links())")

        // Leave: the gateway bridge and the data path's directory go too.
        #expect(lab.swarm("node2", "leave").status == 0)
        #expect(!links().contains("swarm_gwbridge"), "\(links())")
        #expect(access(stateDir + "/overlay", F_OK) != 0)
    }
}

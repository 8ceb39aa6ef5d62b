import Foundation
import Lab
import Testing

/// A 3-node lab swarm (one namespace per node) with busybox imported on
/// the manager only: workers get it from the manager. Made by `swarm lab
/// up`, read and removed through the Lab module (`LabCluster`).
final class LabSwarm: Sendable {
    let name: String
    let cluster: LabCluster

    /// `name`: the lab's, unique among the labs up at once; `environment`: more variables for `lab up` (its nodes' daemons inherit them).
    /// `managers`: more than one keep the state in their etcd members (every node gets busybox then, as any may lead).
    init(name: String = "c\(getpid())", nodes: Int = 3, managers: Int = 1, environment: [String: String] = [:]) throws {
        self.name = name
        let up = runProcess(swarmBinary, ["lab", "up", "--nodes", "\(nodes)", "--managers", "\(managers)", "--name", name, "--dispatcher-heartbeat", "1s"],
                            environment: ProcessInfo.processInfo.environment.merging(environment) { $1 })
        do {
            try #require(up.status == 0, "lab up: \(up.stdout)\(up.stderr)")
            cluster = try LabCluster.open(name)
            let tar = NSTemporaryDirectory() + "swarm-test-lab-\(name).tar"
            defer { unlink(tar) }
            try #require(runProcess("/bin/tar", ["-C", busyboxRootfs, "-cf", tar, "."]).status == 0)
            for node in (managers > 1 ? cluster.record.nodes.map(\.name) : ["node1"]) {
                let imported = runProcess(swarmBinary, ["lab", "exec", "--name", name, node, swarmBinary, "image", "import", tar, "busybox:latest"])
                try #require(imported.status == 0, "\(imported.stderr)")
            }
        } catch {
            // Whatever up made goes, even if init failed before the cluster was opened.
            try? LabCluster.down(name)
            throw error
        }
    }

    deinit { try? cluster.down() }

    /// `swarm ARGS…` run inside NODE's namespace against its socket.
    @discardableResult
    func swarm(_ node: String, _ arguments: String...) -> ProcessResult { swarm(node, arguments) }

    func swarm(_ node: String, _ arguments: [String], environment extra: [String: String] = [:]) -> ProcessResult {
        var environment = ProcessInfo.processInfo.environment.merging(extra) { $1 }
        environment["SWARM_CONVERGE_TIMEOUT"] = "30s"
        return runProcess(swarmBinary, ["lab", "exec", "--name", name, node, swarmBinary] + arguments, environment: environment)
    }

    /// Running tasks of a service per node hostname.
    func spread(_ service: String) -> [String: Int] {
        let output = swarm("node1", "service", "ps", "--filter", "desired-state=running", "--format", "{{.Node}} {{.CurrentState}}", service).stdout
        var counts: [String: Int] = [:]
        for line in output.split(separator: "\n") where line.contains(" Running ") {
            counts[String(line.split(separator: " ")[0]), default: 0] += 1
        }
        return counts
    }

    func converged(_ service: String, _ expected: [String: Int], within seconds: Double = 30) -> Bool {
        waitUntil(seconds) { self.spread(service) == expected }
    }

    /// The pid in the node's swarmd.pid, once its daemon answers.
    func daemonPID(_ node: String) -> pid_t? {
        guard let stateDir = cluster.record.nodes.first(where: { $0.name == node })?.stateDir,
              swarm(node, "container", "ls").status == 0 else { return nil }
        return readDaemonPID(stateDir).flatMap { $0 > 1 ? $0 : nil }
    }

    /// The manager's version of node NODE's object: a new session commits it.
    func nodeVersion(_ node: String) -> Int? {
        Int(swarm("node1", "node", "inspect", "--format", "{{.Version.Index}}", node).stdout.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

@Suite(.serialized)
struct LabClusterTests {
    @Test(.enabled(if: isRoot, rootReason))
    func servicesSpreadScaleFollowNodesAndSurviveFailures() throws {
        let lab = try LabSwarm()
        let nodes = lab.swarm("node1", "node", "ls", "--format", "{{.Hostname}} {{.Status}}").stdout
        #expect(nodes.split(separator: "\n").sorted() == ["node1 Ready", "node2 Ready", "node3 Ready"], "\(nodes)")

        // Spread: 6 replicas → 2 per node; scale to 9 and to 1.
        let create = lab.swarm("node1", "service", "create", "--name", "web", "--replicas", "6", "--stop-grace-period", "1s",
                               "--restart-delay", "0s", "--update-monitor", "200ms", "busybox", "sleep", "1000")
        #expect(create.status == 0, "\(create.stderr)")
        #expect(lab.converged("web", ["node1": 2, "node2": 2, "node3": 2]), "\(lab.spread("web"))")
        #expect(lab.swarm("node1", "service", "scale", "web=9").status == 0)
        #expect(lab.converged("web", ["node1": 3, "node2": 3, "node3": 3]), "\(lab.spread("web"))")
        #expect(lab.swarm("node1", "service", "scale", "-d", "web=1").status == 0)
        #expect(waitUntil(30) { lab.spread("web").values.reduce(0, +) == 1 })

        // A constraint places on one node.
        #expect(lab.swarm("node1", "service", "create", "-d", "--name", "pinned", "--replicas", "3", "--stop-grace-period", "1s",
                          "--constraint", "node.hostname==node3", "busybox", "sleep", "1000").status == 0)
        #expect(lab.converged("pinned", ["node3": 3]), "\(lab.spread("pinned"))")

        // A global service runs on every node and follows a drain.
        #expect(lab.swarm("node1", "service", "create", "-d", "--name", "agent", "--mode", "global", "--stop-grace-period", "1s",
                          "busybox", "sleep", "1000").status == 0)
        #expect(lab.converged("agent", ["node1": 1, "node2": 1, "node3": 1]), "\(lab.spread("agent"))")
        #expect(lab.swarm("node1", "service", "scale", "-d", "web=6").status == 0)
        #expect(lab.converged("web", ["node1": 2, "node2": 2, "node3": 2]), "\(lab.spread("web"))")
        let drain = lab.swarm("node1", "node", "update", "--availability", "drain", "node2")
        #expect(drain.status == 0 && drain.stdout == "node2\n", "\(drain.stderr)")
        #expect(lab.converged("agent", ["node1": 1, "node3": 1]), "\(lab.spread("agent"))")
        #expect(lab.converged("web", ["node1": 3, "node3": 3]), "\(lab.spread("web"))")
        #expect(waitUntil(15) { lab.swarm("node2", "container", "ls", "-q").stdout.isEmpty })
        #expect(lab.swarm("node1", "node", "update", "--availability", "active", "node2").status == 0)
        #expect(lab.converged("agent", ["node1": 1, "node2": 1, "node3": 1]), "\(lab.spread("agent"))")

        // A node whose agent stops turns Down and its tasks run elsewhere
        // within three heartbeats (1 s here) plus the time to start them.
        #expect(lab.swarm("node1", "service", "rm", "pinned").status == 0)
        let node3 = try #require(lab.daemonPID("node3"))
        #expect(kill(node3, SIGKILL) == 0)
        let stopped = Date()
        #expect(waitUntil(10) { lab.swarm("node1", "node", "ls").stdout.split(separator: "\n").contains { $0.contains("node3") && $0.contains("Down") } })
        // Down after two silent periods (1 s here); the poll through `lab exec` adds its own time.
        let down = Date().timeIntervalSince(stopped)
        #expect(down < 3 + 1.5, "node3 Down after \(down) s")
        #expect(lab.converged("web", ["node1": 3, "node2": 3], within: 10), "\(lab.spread("web"))")
        // node3's containers outlived its agent (they are not its children).
        #expect(!lab.swarm("node3", "container", "ls", "-q").stdout.isEmpty)
        // A node that is up cannot be removed without --force; a Down one can.
        let refused = lab.swarm("node1", "node", "rm", "node2")
        #expect(refused.status == 1 && refused.stderr.contains("is not down and can't be removed"), "\(refused.stderr)")
        let removed = lab.swarm("node1", "node", "rm", "node3")
        #expect(removed.status == 0 && removed.stdout == "node3\n", "\(removed.stderr)")
        #expect(lab.swarm("node1", "node", "ls", "-q").stdout.split(separator: "\n").count == 2)
    }

    @Test(.enabled(if: isRoot, rootReason))
    func aKilledAgentRestartsAndReadoptsItsContainers() throws {
        let lab = try LabSwarm()
        #expect(lab.swarm("node1", "service", "create", "-d", "--name", "web", "--replicas", "3", "--stop-grace-period", "1s",
                          "busybox", "sleep", "1000").status == 0)
        #expect(lab.converged("web", ["node1": 1, "node2": 1, "node3": 1]), "\(lab.spread("web"))")
        let tasks = lab.swarm("node1", "service", "ps", "-q", "web").stdout
        let containers = lab.swarm("node2", "container", "ls", "-q").stdout
        let agent = try #require(lab.daemonPID("node2"))
        let version = try #require(lab.nodeVersion("node2"))
        #expect(kill(agent, SIGKILL) == 0)
        #expect(waitUntil(5) { !processAlive(agent) })
        let restart = runProcess(swarmBinary, ["lab", "exec", "--name", lab.name, "node2", "/bin/sh", "-c",
                                               "setsid \(swarmBinary) daemon >> $SWARM_STATE_DIR/swarmd.log 2>&1 < /dev/null &"])
        #expect(restart.status == 0)
        #expect(waitUntil(10) { lab.daemonPID("node2").map { $0 != agent } ?? false })
        // The new agent opened its session (which commits its node) and got its assignments.
        #expect(waitUntil(10) { (lab.nodeVersion("node2") ?? 0) > version })
        #expect(lab.spread("web") == ["node1": 1, "node2": 1, "node3": 1])
        #expect(lab.swarm("node1", "service", "ps", "-q", "web").stdout == tasks)
        #expect(lab.swarm("node2", "container", "ls", "-q").stdout == containers)
    }
}

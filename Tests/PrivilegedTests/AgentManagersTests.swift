import Foundation
import Testing

/// A worker keeps the list of managers its manager sends (node.json, `info`)
/// and, restarted with a dead manager first in that list, reaches the live
/// one without its tasks moving or its containers restarting.
@Suite(.serialized)
struct AgentManagersTests {
    func nodeJSON(_ node: SwarmNode) -> [String: Any] {
        let data = FileManager.default.contents(atPath: node.sandbox.dataDir + "/swarm/node.json") ?? Data()
        return (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }

    func managers(_ node: SwarmNode) -> [String] { nodeJSON(node)["managers"] as? [String] ?? [] }

    /// Starts the worker's daemon again, detached, and waits for its socket.
    func restartWorker(_ node: SwarmNode) throws {
        var environment = node.sandbox.environment
        environment["SWARM_HOST"] = "unix://" + node.socket
        let log = open(node.sandbox.stateDir + "/swarmd.log", O_WRONLY | O_APPEND | O_CREAT, 0o644)
        defer { close(log) }
        _ = try spawn("/usr/bin/setsid", [swarmBinary, "daemon"], environment: environment, stdout: log, stderr: log)
        try #require(waitUntil(10) { node.cli("info").status == 0 }, "the worker's daemon did not come back")
    }

    @Test(.enabled(if: isRoot, rootReason))
    func aWorkerKnowsTheManagersAndGetsPastADeadOne() throws {
        let manager = try SwarmNode()
        _ = try manager.initialize()
        try manager.importBusybox()
        let address = "127.0.0.1:\(manager.port)"
        let token = manager.cli("join-token", "-q", "worker").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let worker = try SwarmNode()
        let joined = worker.cli("join", "--token", token, "--advertise-addr", "127.0.0.1", address)
        try #require(joined.status == 0, "\(joined.stderr)")

        // The first session answer brings the list; node.json keeps it.
        #expect(waitUntil(10) { managers(worker) == [address] }, "node.json: \(nodeJSON(worker))")
        let info = worker.cli("info")
        #expect(info.status == 0, "\(info.stderr)")
        #expect(info.stdout.contains("  Is Manager: false\n  Node Address: 127.0.0.1\n  Manager Addresses:\n   \(address)\n"), "\(info.stdout)")
        #expect(worker.cli("info", "--format", "{{range .Swarm.RemoteManagers}}{{.Addr}} {{end}}").stdout == "\(address) \n")
        let managerInfo = manager.cli("info")
        #expect(managerInfo.stdout.contains("  Is Manager: true\n  ClusterID: "), "\(managerInfo.stdout)")
        #expect(managerInfo.stdout.contains("  Manager Addresses:\n   \(address)\n"), "\(managerInfo.stdout)")

        let create = manager.cli("service", "create", "-d", "--name", "onworker", "--constraint", "node.role==worker",
                                 "--replicas", "2", "busybox", "sleep", "1000")
        #expect(create.status == 0, "\(create.stderr)")
        #expect(waitUntil(20) { manager.lines("service", "ls").last?.contains("2/2") == true })
        let tasks = manager.cli("service", "ps", "-q", "--no-trunc", "onworker").stdout
        let containers = Set(worker.lines("container", "ls", "-q"))
        #expect(containers.count == 2)

        // Restarted with a manager that is gone first in its list, the
        // worker goes on to the live one, which sends the list back.
        #expect(worker.daemonPID > 1 && kill(worker.daemonPID, SIGKILL) == 0)
        let dead = "127.0.0.1:\(freeLoopbackPort())"
        var config = nodeJSON(worker)
        config["managers"] = [dead, address]
        config["managerAddr"] = dead
        let data = try JSONSerialization.data(withJSONObject: config)
        try data.write(to: URL(fileURLWithPath: worker.sandbox.dataDir + "/swarm/node.json"))
        try restartWorker(worker)
        #expect(waitUntil(10) { managers(worker) == [address] }, "node.json: \(nodeJSON(worker))")
        #expect(nodeJSON(worker)["managerAddr"] as? String == address)
        #expect(manager.cli("node", "ls", "--format", "{{.Status}}").stdout == "Ready\nReady\n")
        #expect(manager.cli("service", "ps", "-q", "--no-trunc", "onworker").stdout == tasks)
        #expect(Set(worker.lines("container", "ls", "-q")) == containers)
        #expect(manager.cli("service", "rm", "onworker").status == 0)
        #expect(waitUntil(20) { worker.lines("container", "ls", "-aq").isEmpty })
    }
}

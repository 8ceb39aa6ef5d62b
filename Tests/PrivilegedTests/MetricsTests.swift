import Foundation
import Lab
import Testing

/// `/metrics` on a 3-node lab whose daemons serve it (`SWARM_METRICS_ADDR`,
/// which init and join pass on), read from the lab's client namespace and
/// parsed; the values must be the cluster's as the CLI shows it. The same
/// lab checks `node ps` and `service ps`'s filters against the spread.
@Suite(.serialized)
struct MetricsTests {
    static func scrape(_ lab: LabSwarm, _ node: Int) throws -> PrometheusText {
        let address = lab.cluster.record.nodes[node - 1].address
        let fetched = runProcess(swarmBinary, ["lab", "exec", "--name", lab.name, "client", "busybox", "wget", "-q", "-O", "-",
                                               "http://\(address):9323/metrics"])
        try #require(fetched.status == 0, "wget node\(node): \(fetched.stderr)")
        return try PrometheusText(fetched.stdout)
    }

    /// Running tasks over every service, as `service ls` says ("5/5").
    static func runningPerServiceLs(_ lab: LabSwarm) -> Int {
        lab.swarm("node1", "service", "ls", "--format", "{{.Replicas}}").stdout.split(separator: "\n")
            .compactMap { Int($0.split(separator: "/").first ?? "") }.reduce(0, +)
    }

    @Test(.enabled(if: isRoot, rootReason))
    func metricsAndTaskListsMatchTheCluster() throws {
        let lab = try LabSwarm(name: "m\(getpid())", environment: ["SWARM_METRICS_ADDR": "0.0.0.0:9323"])
        #expect(lab.swarm("node1", "service", "create", "-d", "--name", "web", "--replicas", "5", "--stop-grace-period", "1s",
                          "busybox", "sleep", "1000").status == 0)
        #expect(lab.swarm("node1", "service", "create", "-d", "--name", "nowhere", "--constraint", "node.labels.zone==mars",
                          "busybox", "sleep", "1000").status == 0)
        #expect(waitUntil(60) { Self.runningPerServiceLs(lab) == 5 })

        var manager = try Self.scrape(lab, 1)
        // The gauges follow the store's watch: give them the moment it takes.
        _ = waitUntil(5) { (try? Self.scrape(lab, 1)).map { manager = $0; return $0.value("swarm_manager_tasks", ["state": "running"]) == 5 } ?? false }
        #expect(manager.value("swarm_manager_tasks", ["state": "running"]) == Double(Self.runningPerServiceLs(lab)))
        #expect(manager.value("swarm_manager_tasks", ["state": "pending"]) == 1)
        #expect(manager.value("swarm_manager_nodes", ["state": "ready"]) == 3)
        #expect(manager.value("swarm_manager_nodes", ["state": "down"]) == 0)
        #expect(manager.value("swarm_dispatcher_sessions") == 3)
        #expect(manager.value("swarm_dispatcher_heartbeats_missed_total") == 0)
        // Every placed task went through the scheduler once.
        #expect(manager.value("swarm_scheduler_latency_seconds_count") == 5)
        #expect((manager.value("swarm_scheduler_latency_seconds_sum") ?? -1) >= 0)
        #expect(manager.value("swarm_api_requests_total", ["route": "POST services/create", "code": "201"]) == 2)
        #expect(manager.sum("swarm_api_requests_total", ["route": "POST agent/session"]) >= 3)

        // Each agent: its container starts, timed, and where its images came from.
        var starts = 0.0
        for node in 1...3 {
            let agent = try Self.scrape(lab, node)
            let started = agent.value("swarm_agent_container_starts_total", ["result": "started"]) ?? 0
            #expect(started == Double(lab.spread("web")["node\(node)"] ?? 0), "node\(node)")
            #expect(agent.value("swarm_agent_container_start_seconds_count") == (started > 0 ? started : nil), "node\(node)")
            if node > 1 && started > 0 {
                #expect((agent.value("swarm_agent_image_pulls_total", ["source": "manager", "result": "pulled"]) ?? 0) >= 1, "node\(node)")
            }
            starts += started
        }
        #expect(starts == 5)

        // The same tasks through `node ps` and `service ps`'s filters.
        let spread = lab.spread("web")
        let lines = { (arguments: [String]) in lab.swarm("node1", arguments).stdout.split(separator: "\n").map(String.init) }
        #expect(lines(["node", "ps", "--format", "{{.Name}}", "node2"]).filter { $0.hasPrefix("web.") }.count == spread["node2"] ?? 0)
        #expect(lines(["node", "ps", "-q", "node2", "node3"]).count == (spread["node2"] ?? 0) + (spread["node3"] ?? 0))
        #expect(lines(["service", "ps", "-q", "--filter", "node=node2", "web"]).count == spread["node2"] ?? 0)
        #expect(lines(["service", "ps", "-q", "--filter", "desired-state=running", "web"]).count == 5)
        #expect(lines(["service", "ps", "-q", "--filter", "desired-state=shutdown", "web"]).isEmpty)
        #expect(lines(["service", "ps", "--format", "{{.Name}}", "--filter", "name=web.3", "web"]) == ["web.3"])
        let id = try #require(lines(["service", "ps", "-q", "--no-trunc", "web"]).first)
        #expect(lines(["service", "ps", "-q", "--no-trunc", "--filter", "id=\(id.prefix(6))", "web"]) == [id])

        // Connections through the routing mesh, counted by the node that took them (node2 runs no task of it).
        #expect(lab.swarm("node1", "service", "create", "-d", "--name", "site", "--constraint", "node.hostname==node1", "-p", "5000:8080",
                          "busybox", "httpd", "-f", "-p", "8080", "-h", "/").status == 0)
        #expect(waitUntil(60) { lab.spread("site") == ["node1": 1] })
        let node2 = lab.cluster.record.nodes[1].address
        func get() -> Int32 {
            runProcess(swarmBinary, ["lab", "exec", "--name", lab.name, "client", "curl", "-s", "-o", "/dev/null", "-m", "5", "http://\(node2):5000/"]).status
        }
        #expect(waitUntil(20) { get() == 0 })
        let before = try Self.scrape(lab, 2).value("swarm_mesh_connections_total", ["port": "5000", "protocol": "tcp"]) ?? 0
        #expect(before >= 1)
        for _ in 0..<7 { #expect(get() == 0) }
        #expect(try Self.scrape(lab, 2).value("swarm_mesh_connections_total", ["port": "5000", "protocol": "tcp"]) == before + 7)
        #expect(try Self.scrape(lab, 3).value("swarm_mesh_connections_total", ["port": "5000", "protocol": "tcp"]) == nil)

        // A node whose daemon dies missed its heartbeats.
        let node3 = try #require(lab.daemonPID("node3"))
        #expect(kill(node3, SIGKILL) == 0)
        #expect(waitUntil(15) { (try? Self.scrape(lab, 1))?.value("swarm_manager_nodes", ["state": "down"]) == 1 })
        manager = try Self.scrape(lab, 1)
        #expect(manager.value("swarm_dispatcher_heartbeats_missed_total") == 1)
        #expect(manager.value("swarm_dispatcher_sessions") == 2)
    }
}

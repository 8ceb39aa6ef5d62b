import Foundation
import Testing

/// The stock docker CLI (28, first on the PATH) and the docker Python SDK
/// against a one-node swarm: the commands an operator's scripts run, their
/// exit codes, table columns and the JSON fields the SDK reads.
let dockerBinary: String? = ["/usr/local/bin/docker", "/usr/bin/docker"].first { FileManager.default.isExecutableFile(atPath: $0) }
let hasDockerCLI = isRoot && dockerBinary != nil
let hasDockerSDK = isRoot && runProcess("/usr/bin/env", ["python3", "-c", "import docker"]).status == 0

extension SwarmNode {
    /// `docker -H unix://SOCKET ARGS…`.
    func docker(_ arguments: String..., environment extra: [String: String] = [:]) -> ProcessResult {
        var environment = sandbox.environment
        environment["DOCKER_CONFIG"] = sandbox.homeDir + "/.docker"
        environment.merge(extra) { $1 }
        return runProcess(dockerBinary!, ["-H", "unix://" + socket] + arguments, environment: environment)
    }
}

@Suite(.serialized)
struct DockerCompatTests {
    @Test(.enabled(if: hasDockerCLI, "needs root and the docker CLI (scripts/install-deps)"))
    func dockerCLIDrivesTheSwarm() throws {
        let node = try SwarmNode()
        _ = try node.initialize()
        try node.importBusybox()

        let version = node.docker("version")
        #expect(version.status == 0, "\(version.stderr)")
        #expect(version.stdout.contains("Server: swarm") && version.stdout.contains(" API version:      1.41 (minimum version 1.24)"), "\(version.stdout)")
        let tooNew = node.docker("version", environment: ["DOCKER_API_VERSION": "1.50"])
        #expect(tooNew.status == 1 && tooNew.stderr.contains("client version 1.50 is too new. Maximum supported API version is 1.41"), "\(tooNew.stderr)")

        let start = String(format: "%.3f", Date().timeIntervalSince1970 - 1)
        let info = node.docker("info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}} {{.Swarm.Nodes}} {{.Swarm.Managers}}")
        #expect(info.status == 0 && info.stdout == "active true 1 1\n", "\(info.stdout) \(info.stderr)")

        // Nodes.
        let nodes = node.docker("node", "ls")
        #expect(nodes.status == 0, "\(nodes.stderr)")
        let nodeLines = nodes.stdout.split(separator: "\n")
        #expect(nodeLines.first.map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") } == "ID HOSTNAME STATUS AVAILABILITY MANAGER STATUS ENGINE VERSION")
        #expect(nodeLines.count == 2 && nodeLines[1].contains(" *   ") && nodeLines[1].contains("Ready") && nodeLines[1].contains("Leader"))
        #expect(node.docker("node", "update", "--label-add", "zone=east", "self").status == 0)
        #expect(node.docker("node", "inspect", "--format", "{{.Spec.Labels.zone}} {{.Status.State}}", "self").stdout == "east ready\n")
        let nodePs = node.docker("node", "ps", "self")
        #expect(nodePs.status == 0 && nodePs.stdout.hasPrefix("ID        NAME      IMAGE     NODE      DESIRED STATE   CURRENT STATE   ERROR     PORTS"), "\(nodePs.stdout) \(nodePs.stderr)")

        // A service without --name or --replicas: a generated name, one replica, shown 1/1.
        let unnamed = node.docker("service", "create", "--detach", "busybox", "sleep", "1000")
        #expect(unnamed.status == 0 && unnamed.stdout.count == 26, "\(unnamed.stdout) \(unnamed.stderr)")
        let serviceID = unnamed.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let name = node.docker("service", "inspect", "--format", "{{.Spec.Name}} {{.Spec.Mode.Replicated.Replicas}} {{.Spec.UpdateConfig.Order}} {{.Spec.TaskTemplate.RestartPolicy.Condition}}", serviceID).stdout
        #expect(name.range(of: #"^[a-z]+_[a-z]+\d* 1 stop-first any\n$"#, options: .regularExpression) != nil, "\(name)")
        #expect(waitUntil(20) { node.docker("service", "ls").stdout.contains(" replicated   1/1 ") }, "\(node.docker("service", "ls").stdout)")
        let services = node.docker("service", "ls").stdout.split(separator: "\n")
        #expect(services.first.map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") } == "ID NAME MODE REPLICAS IMAGE PORTS")
        #expect(node.docker("service", "rm", serviceID).stdout == serviceID + "\n")

        // Create, ps, inspect, scale, update, rm of a named service (the CLI waits for convergence).
        let web = node.docker("service", "create", "--name", "web", "--replicas", "2", "--stop-grace-period", "1s", "busybox", "sleep", "1000")
        #expect(web.status == 0 && web.stdout.contains("verify: Service ") && web.stdout.contains("converged"), "\(web.stdout) \(web.stderr)")
        let ps = node.docker("service", "ps", "web").stdout.split(separator: "\n")
        #expect(ps.first.map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") } == "ID NAME IMAGE NODE DESIRED STATE CURRENT STATE ERROR PORTS")
        #expect(ps.count == 3 && ps[1].contains("web.1") && ps[1].contains("Running"))
        let scaled = node.docker("service", "scale", "web=3")
        #expect(scaled.status == 0 && scaled.stdout.hasPrefix("web scaled to 3\n"), "\(scaled.stdout) \(scaled.stderr)")
        let updated = node.docker("service", "update", "--env-add", "A=b", "web")
        #expect(updated.status == 0 && updated.stdout.hasPrefix("web\n"), "\(updated.stdout) \(updated.stderr)")
        #expect(node.docker("service", "inspect", "--format", "{{.Spec.TaskTemplate.ContainerSpec.Env}} {{.Spec.Mode.Replicated.Replicas}}", "web").stdout == "[A=b] 3\n")
        #expect(node.docker("service", "update", "--detach", "--replicas", "1", "web").status == 0)
        #expect(node.docker("service", "rm", "web").stdout == "web\n")

        // What swarm cannot do yet is refused with what is missing, never dropped.
        let encrypted = node.docker("network", "create", "-d", "overlay", "--opt", "encrypted", "secure")
        #expect(encrypted.status == 1 && encrypted.stderr.contains("encrypted overlay networks (--opt encrypted) are not supported yet"), "\(encrypted.stderr)")
        // Health checks as the docker CLI sends them.
        let health = node.docker("service", "create", "--detach", "--name", "checked", "--health-cmd", "true", "--health-interval", "1s", "busybox", "sleep", "1000")
        #expect(health.status == 0, "\(health.stderr)")
        let check = node.docker("service", "inspect", "--format", "{{json .Spec.TaskTemplate.ContainerSpec.Healthcheck}}", "checked").stdout
        #expect(check.contains(#""Test":["CMD-SHELL","true"]"#) && check.contains(#""Interval":1000000000"#), "\(check)")
        #expect(node.docker("service", "rm", "checked").status == 0)
        let secrets = node.docker("secret", "ls")
        #expect(secrets.status == 0 && secrets.stdout.hasPrefix("ID"), "\(secrets.stderr)")
        #expect(node.docker("service", "ls", "-q").stdout.isEmpty)

        // Events: what happened since the start, by the docker CLI and by ours.
        let until = String(format: "%.3f", Date().timeIntervalSince1970 + 1)
        let events = node.docker("events", "--since", start, "--until", until, "--filter", "type=service")
        #expect(events.status == 0, "\(events.stderr)")
        let eventLines = events.stdout.split(separator: "\n").map(String.init)
        #expect(eventLines.contains { $0.range(of: #"^\d{4}-\d\d-\d\dT[0-9:.]+Z service create \#(serviceID) \(name=[a-z]+_[a-z]+\d*\)$"#, options: .regularExpression) != nil }, "\(eventLines)")
        #expect(eventLines.contains { $0.contains(" service update ") && $0.contains("replicas.new=3, replicas.old=2") }, "\(eventLines)")
        #expect(eventLines.contains { $0.contains(" service remove ") && $0.hasSuffix("(name=web)") })
        #expect(!eventLines.contains { $0.contains(" node ") })
        let ours = node.cli("events", "--since", start, "--until", until, "--filter", "type=node", "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}} {{.Scope}}")
        #expect(ours.status == 0 && ours.stdout.contains("node update ") && !ours.stdout.contains("service"), "\(ours.stdout) \(ours.stderr)")

        // The swarm itself.
        let token = node.docker("swarm", "join-token", "worker")
        #expect(token.status == 0 && token.stdout.contains("docker swarm join --token SWMTKN-1-") && token.stdout.contains("127.0.0.1:\(node.port)"), "\(token.stdout) \(token.stderr)")
        let quiet = node.docker("swarm", "join-token", "-q", "manager").stdout
        #expect(quiet.hasPrefix("SWMTKN-1-") && quiet.count == 86)
        #expect(node.docker("swarm", "update", "--task-history-limit", "7").status == 0)
        #expect(node.docker("info", "--format", "{{.Swarm.Cluster.Spec.Orchestration.TaskHistoryRetentionLimit}}").stdout == "7\n")
        let autolock = node.docker("swarm", "update", "--autolock")
        #expect(autolock.status == 1 && autolock.stderr.contains("autolock (--autolock) is not supported yet"), "\(autolock.stderr)")
    }

    @Test(.enabled(if: hasDockerSDK, "needs root and the docker Python SDK (scripts/install-deps)"))
    func pythonSDKDrivesTheSwarm() throws {
        let node = try SwarmNode()
        _ = try node.initialize()
        try node.importBusybox()
        let script = node.sandbox.homeDir + "-sdk.py"
        defer { unlink(script) }
        try Self.sdkScript.write(toFile: script, atomically: true, encoding: .utf8)
        let result = runProcess("/usr/bin/env", ["python3", script, "unix://" + node.socket])
        #expect(result.status == 0 && result.stdout == "ok\n", "\(result.stdout) \(result.stderr)")
    }

    static let sdkScript = #"""
    import re, sys, time
    import docker
    from docker.types import EndpointSpec

    def until(condition, what, seconds=20):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if condition():
                return
            time.sleep(0.1)
        raise AssertionError("timed out waiting for " + what)

    client = docker.DockerClient(base_url=sys.argv[1], version="auto")
    assert client.api.api_version == "1.41", client.api.api_version
    assert client.version()["ApiVersion"] == "1.41"
    assert client.ping()
    swarm = client.info()["Swarm"]
    assert swarm["LocalNodeState"] == "active" and swarm["ControlAvailable"] and swarm["Nodes"] == 1, swarm

    nodes = client.nodes.list()
    assert len(nodes) == 1 and nodes[0].attrs["Spec"]["Role"] == "manager", nodes[0].attrs
    node = nodes[0]
    spec = dict(node.attrs["Spec"], Labels={"zone": "east"})
    assert node.update(spec)
    node.reload()
    assert node.attrs["Spec"]["Labels"] == {"zone": "east"} and node.attrs["Status"]["State"] == "ready"

    service = client.services.create("busybox", command=["sh", "-c", "echo hello from the task; sleep 1000"])
    service.reload()
    assert re.match(r"^[a-z]+_[a-z]+\d*$", service.name), service.name
    assert service.attrs["Spec"]["Mode"] == {"Replicated": {"Replicas": 1}}, service.attrs["Spec"]["Mode"]
    running = lambda n: len([t for t in service.tasks(filters={"desired-state": "running"}) if t["Status"]["State"] == "running"]) == n
    until(lambda: running(1), "1 running task")
    until(lambda: b"".join(service.logs(stdout=True, stderr=True)) == b"hello from the task\n", "the task's log line")
    assert service.scale(2)
    until(lambda: running(2), "2 running tasks")
    service.reload()
    service.update(env=["A=b"])
    service.reload()
    assert service.attrs["Spec"]["TaskTemplate"]["ContainerSpec"]["Env"] == ["A=b"], service.attrs["Spec"]
    assert [s.id for s in client.services.list()] == [service.id]
    service.remove()
    until(lambda: client.services.list() == [], "the service to go")

    published = client.services.create("busybox", endpoint_spec=EndpointSpec(ports={8080: 80}))
    published.reload()
    assert published.attrs["Endpoint"]["Ports"] == [{"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 8080, "PublishMode": "ingress"}], published.attrs
    published.remove()

    events = list(client.events(since=int(time.time()) - 60, until=int(time.time()) + 1, decode=True, filters={"type": "service"}))
    actions = [(e["Type"], e["Action"], e["Actor"]["Attributes"]["name"]) for e in events]
    assert ("service", "create", service.name) in actions and ("service", "remove", service.name) in actions, actions
    assert all(e["scope"] == "swarm" and e["timeNano"] // 10**9 == e["time"] for e in events), events

    client.swarm.reload()
    assert client.swarm.attrs["JoinTokens"]["Worker"].startswith("SWMTKN-1-")
    print("ok")
    """#
}

import Foundation
import Lab
import Testing

/// The stock docker CLI (28, first on the PATH) and the docker Python SDK
/// against a 3-node lab, through the manager's socket: the commands an
/// operator's scripts run, their exit codes, the columns of their tables,
/// the `--format`/`inspect` JSON fields and the SDK's attributes, and
/// Docker's messages for wrong input. The expected texts are what Docker
/// Swarm (20.10, API 1.41) prints for the same commands (docs/COMPATIBILITY.md).
@Suite(.serialized)
struct LabDockerCompatTests {
    @Test(.enabled(if: hasDockerCLI, "needs root and the docker CLI (scripts/install-deps)"))
    func dockerCLIAndPythonSDKDriveALab() throws {
        let lab = try LabSwarm(name: "c\(getpid())")
        let scratch = NSTemporaryDirectory() + "swarm-test-compat-\(getpid())"
        try FileManager.default.createDirectory(atPath: scratch + "/docker", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let docker = LabDocker(lab: lab, configDir: scratch + "/docker")
        let start = String(format: "%.3f", Date().timeIntervalSince1970 - 1)

        try Self.versionAndInfo(docker)
        if hasDockerSDK { try Self.pythonSDK(docker, scratch: scratch) }
        try Self.nodes(docker)
        let ids = try Self.secretsConfigsAndNetwork(docker, scratch: scratch)
        try Self.services(lab, docker, ids)
        Self.wrongInput(docker)
        Self.events(docker, since: start)
        Self.swarmCommands(docker)
        try Self.removeADownWorker(lab, docker)
    }

    // MARK: - version, info

    static func versionAndInfo(_ docker: LabDocker) throws {
        let version = docker("version")
        #expect(version.status == 0 && version.stdout.contains("Server: swarm") && version.stdout.contains(" API version:      1.41 (minimum version 1.24)"),
                "\(version.stdout) \(version.stderr)")
        #expect(docker("version", "--format", "{{.Server.APIVersion}} {{.Server.MinAPIVersion}} {{.Client.APIVersion}}").stdout == "1.41 1.24 1.41\n")

        let info = docker("info")
        #expect(info.status == 0, "\(info.stderr)")
        let ids = docker("info", "--format", "{{.Swarm.NodeID}} {{.Swarm.Cluster.ID}}").stdout.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        try #require(ids.count == 2 && ids.allSatisfy { $0.count == 25 }, "\(ids)")
        // Docker's Swarm section, line by line (its indentation included).
        for line in [" Swarm: active", "  NodeID: \(ids[0])", "  Is Manager: true", "  ClusterID: \(ids[1])", "  Managers: 1", "  Nodes: 3",
                     "  Orchestration:", "   Task History Retention Limit: 5", "  Dispatcher:", "   Heartbeat Period: 1 second"] {
            #expect(info.stdout.split(separator: "\n").contains { $0 == line }, "no line \"\(line)\" in \(info.stdout)")
        }
        #expect(docker("info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}} {{.Swarm.Nodes}} {{.Swarm.Managers}} {{len .Swarm.RemoteManagers}}").stdout
                == "active true 3 1 1\n")
    }

    // MARK: - node ls|inspect|update|ps

    static func nodes(_ docker: LabDocker) throws {
        let list = docker("node", "ls")
        #expect(list.status == 0, "\(list.stderr)")
        #expect(header(list.stdout) == "ID HOSTNAME STATUS AVAILABILITY MANAGER STATUS ENGINE VERSION", "\(list.stdout)")
        let rows = list.stdout.split(separator: "\n").dropFirst()
        #expect(rows.count == 3 && rows.filter { $0.contains(" * ") }.count == 1 && rows.first { $0.contains(" * ") }!.contains("node1"), "\(list.stdout)")
        let formatted = docker("node", "ls", "--format", "{{.Hostname}} {{.Status}} {{.Availability}} {{.ManagerStatus}} {{.Self}}").stdout
        #expect(formatted.split(separator: "\n").sorted() == ["node1 Ready Active Leader true", "node2 Ready Active  false", "node3 Ready Active  false"],
                "\(formatted)")
        #expect(docker("node", "ls", "-q", "--filter", "role=worker").stdout.split(separator: "\n").count == 2)

        let node2 = docker("node", "inspect", "--format", "{{.Description.Hostname}} {{.Spec.Role}} {{.Spec.Availability}} {{.Status.State}} {{len .ID}}", "node2")
        #expect(node2.status == 0 && node2.stdout == "node2 worker active ready 25\n", "\(node2.stdout) \(node2.stderr)")
        let leader = docker("node", "inspect", "--format", "{{.ManagerStatus.Leader}} {{.ManagerStatus.Reachability}} {{.Spec.Role}}", "self")
        #expect(leader.stdout == "true reachable manager\n", "\(leader.stdout) \(leader.stderr)")
        // --pretty: the CLI's text from the fields above.
        let pretty = docker("node", "inspect", "--pretty", "node1")
        let prettyLines = Set(pretty.stdout.split(separator: "\n").map(words))
        for line in ["Hostname: node1", "State: Ready", "Availability: Active", "Leader: Yes", "Operating System: linux"] {
            #expect(prettyLines.contains(line), "no \"\(line)\" in \(pretty.stdout) \(pretty.stderr)")
        }

        let drained = docker("node", "update", "--availability", "drain", "node3")
        #expect(drained.status == 0 && drained.stdout == "node3\n", "\(drained.stderr)")
        #expect(docker("node", "inspect", "--format", "{{.Spec.Availability}}", "node3").stdout == "drain\n")
        #expect(docker("node", "update", "--availability", "active", "node3").status == 0)
        #expect(docker("node", "update", "--label-add", "zone=east", "--label-add", "disk=ssd", "node2").stdout == "node2\n")
        #expect(docker("node", "inspect", "--format", "{{json .Spec.Labels}}", "node2").stdout == #"{"disk":"ssd","zone":"east"}"# + "\n")
        #expect(docker("node", "update", "--label-rm", "disk", "node2").status == 0)
        #expect(docker("node", "ls", "-q", "--filter", "node.label=zone=east").stdout.split(separator: "\n").count == 1)
    }

    // MARK: - secret, config, network

    struct IDs { var secret: String; var config: String; var network: String }

    static func secretsConfigsAndNetwork(_ docker: LabDocker, scratch: String) throws -> IDs {
        try "hunter2".write(toFile: scratch + "/secret", atomically: true, encoding: .utf8)
        try "cfg\n".write(toFile: scratch + "/config", atomically: true, encoding: .utf8)
        let secret = docker("secret", "create", "s1", scratch + "/secret")
        try #require(secret.status == 0 && secret.stdout.count == 26, "\(secret.stdout) \(secret.stderr)")
        let secrets = docker("secret", "ls")
        #expect(header(secrets.stdout) == "ID NAME DRIVER CREATED UPDATED" && secrets.stdout.contains(" s1 "), "\(secrets.stdout)")
        #expect(docker("secret", "inspect", "--format", "{{json .Spec}} {{.ID}}", "s1").stdout == #"{"Name":"s1","Labels":{}} "# + secret.stdout)
        let prettySecret = Set(docker("secret", "inspect", "--pretty", "s1").stdout.split(separator: "\n").map(words))
        #expect(prettySecret.contains("Name: s1") && prettySecret.contains("ID: " + trimmed(secret.stdout)), "\(prettySecret)")

        let config = docker("config", "create", "c1", scratch + "/config")
        try #require(config.status == 0 && config.stdout.count == 26, "\(config.stdout) \(config.stderr)")
        let configs = docker("config", "ls")
        #expect(header(configs.stdout) == "ID NAME CREATED UPDATED" && configs.stdout.contains(" c1 "), "\(configs.stdout)")
        #expect(docker("config", "inspect", "--format", "{{json .Spec}}", "c1").stdout == #"{"Name":"c1","Labels":{},"Data":"Y2ZnCg=="}"# + "\n")
        #expect(docker("config", "inspect", "--pretty", "c1").stdout.hasSuffix("Data:\ncfg\n\n"))

        let network = docker("network", "create", "-d", "overlay", "app")
        try #require(network.status == 0 && network.stdout.count == 26, "\(network.stdout) \(network.stderr)")
        let networks = docker("network", "ls")
        #expect(header(networks.stdout) == "NETWORK ID NAME DRIVER SCOPE", "\(networks.stdout)")
        let overlays = docker("network", "ls", "--filter", "driver=overlay", "--format", "{{.Name}} {{.Driver}} {{.Scope}} {{len .ID}}").stdout
        #expect(overlays.split(separator: "\n").sorted() == ["app overlay swarm 12", "ingress overlay swarm 12"], "\(overlays)")
        let inspected = docker("network", "inspect", "--format", "{{.Name}} {{.Id}} {{.Driver}} {{.Scope}} {{.Attachable}} {{.Ingress}} {{len .IPAM.Config}}", "app").stdout
        #expect(inspected == "app \(trimmed(network.stdout)) overlay swarm false false 1\n", "\(inspected)")
        return IDs(secret: trimmed(secret.stdout), config: trimmed(config.stdout), network: trimmed(network.stdout))
    }

    // MARK: - service create|ls|ps|inspect|scale|update|rollback|logs|rm

    static func services(_ lab: LabSwarm, _ docker: LabDocker, _ ids: IDs) throws {
        let web = docker("service", "create", "-d", "--name", "web", "--replicas", "3", "--replicas-max-per-node", "1", "--env", "A=1",
                         "--mount", "type=tmpfs,target=/scratch", "--mount", "type=volume,source=data,target=/data", "--network", "app", "-p", "8080:80",
                         "--update-parallelism", "2", "--update-delay", "1s", "--update-failure-action", "rollback", "--update-monitor", "2s",
                         "--update-max-failure-ratio", "0.5", "--update-order", "start-first",
                         "--rollback-parallelism", "1", "--rollback-delay", "1s", "--rollback-failure-action", "continue", "--rollback-monitor", "1s",
                         "--rollback-max-failure-ratio", "0.2", "--rollback-order", "stop-first",
                         "--health-cmd", "true", "--health-interval", "1s", "--health-retries", "2", "--health-timeout", "1s", "--health-start-period", "1s",
                         "--secret", "s1", "--config", "source=c1,target=/etc/c1,mode=0400", "--stop-grace-period", "1s",
                         "busybox", "sh", "-c", "echo hello; cat /run/secrets/s1; echo; cat /etc/c1; sleep 1000")
        try #require(web.status == 0 && web.stdout.count == 26, "\(web.stdout) \(web.stderr)")
        let agent = docker("service", "create", "-d", "--name", "agent", "--mode", "global", "--stop-grace-period", "1s", "busybox", "sleep", "1000")
        #expect(agent.status == 0, "\(agent.stderr)")
        let pinned = docker("service", "create", "-d", "--name", "pinned", "--replicas", "2", "--constraint", "node.labels.zone==east",
                            "--stop-grace-period", "1s", "busybox", "sleep", "1000")
        #expect(pinned.status == 0, "\(pinned.stdout) \(pinned.stderr)")

        // The spec as Docker stores it from the same flags.
        func inspect(_ template: String, _ service: String = "web") -> String {
            trimmed(docker("service", "inspect", "--format", template, service).stdout)
        }
        let container = "{{json .Spec.TaskTemplate.ContainerSpec"
        #expect(inspect(container + ".Args}} " + container + ".Env}} {{json .Spec.Mode}}")
                == #"["sh","-c","echo hello; cat /run/secrets/s1; echo; cat /etc/c1; sleep 1000"] ["A=1"] {"Replicated":{"Replicas":3}}"#)
        #expect(inspect(container + ".Mounts}}") == #"[{"Type":"tmpfs","Target":"/scratch"},{"Type":"volume","Source":"data","Target":"/data"}]"#)
        #expect(inspect(container + ".Secrets}}") == #"[{"File":{"Name":"s1","UID":"0","GID":"0","Mode":292},"SecretID":"\#(ids.secret)","SecretName":"s1"}]"#)
        #expect(inspect(container + ".Configs}}") == #"[{"File":{"Name":"/etc/c1","UID":"0","GID":"0","Mode":256},"ConfigID":"\#(ids.config)","ConfigName":"c1"}]"#)
        #expect(inspect(container + ".Healthcheck}}")
                == #"{"Test":["CMD-SHELL","true"],"Interval":1000000000,"Timeout":1000000000,"StartPeriod":1000000000,"Retries":2}"#)
        #expect(inspect("{{json .Spec.UpdateConfig}}")
                == #"{"Parallelism":2,"Delay":1000000000,"FailureAction":"rollback","Monitor":2000000000,"MaxFailureRatio":0.5,"Order":"start-first"}"#)
        #expect(inspect("{{json .Spec.RollbackConfig}}")
                == #"{"Parallelism":1,"Delay":1000000000,"FailureAction":"continue","Monitor":1000000000,"MaxFailureRatio":0.2,"Order":"stop-first"}"#)
        #expect(inspect("{{json .Spec.TaskTemplate.Placement}} {{json .Spec.TaskTemplate.Networks}}") == #"{"MaxReplicas":1} [{"Target":"\#(ids.network)"}]"#)
        let port8080 = #"[{"Protocol":"tcp","TargetPort":80,"PublishedPort":8080,"PublishMode":"ingress"}]"#
        #expect(inspect("{{json .Spec.EndpointSpec}} {{json .Endpoint.Ports}} {{len .Endpoint.VirtualIPs}}") == #"{"Mode":"vip","Ports":\#(port8080)} \#(port8080) 2"#)
        #expect(inspect("{{json .Spec.Mode}} {{json .Spec.TaskTemplate.RestartPolicy}}", "agent")
                == #"{"Global":{}} {"Condition":"any","Delay":5000000000,"MaxAttempts":0}"#)
        #expect(inspect("{{json .Spec.TaskTemplate.Placement}}", "pinned") == #"{"Constraints":["node.labels.zone==east"]}"#)

        // ls and ps: Docker's columns, every replica running where it may.
        var listed = ""
        #expect(waitUntil(30) {
            listed = docker("service", "ls", "--format", "{{.Name}} {{.Mode}} {{.Replicas}} {{.Image}} {{.Ports}}").stdout
            return listed.split(separator: "\n").sorted() == ["agent global 3/3 busybox:latest ", "pinned replicated 2/2 busybox:latest ",
                                                            "web replicated 3/3 (max 1 per node) busybox:latest *:8080->80/tcp"]
        }, "\(listed)")
        let table = docker("service", "ls")
        #expect(table.status == 0 && header(table.stdout) == "ID NAME MODE REPLICAS IMAGE PORTS", "\(table.stdout)")
        let ps = docker("service", "ps", "web")
        #expect(ps.status == 0 && header(ps.stdout) == "ID NAME IMAGE NODE DESIRED STATE CURRENT STATE ERROR PORTS", "\(ps.stdout)")
        let placed = docker("service", "ps", "--format", "{{.Name}} {{.Node}} {{.DesiredState}} {{.Image}}", "web").stdout.split(separator: "\n")
        #expect(Set(placed.map { $0.split(separator: " ")[1] }) == ["node1", "node2", "node3"], "\(placed)")
        #expect(placed.allSatisfy { $0.hasPrefix("web.") && $0.hasSuffix(" Running busybox:latest") }, "\(placed)")
        #expect(docker("service", "ps", "-q", "--filter", "node=node2", "pinned").stdout.split(separator: "\n").count == 2)
        let agents = docker("service", "ps", "--format", "{{.Name}}", "agent").stdout.split(separator: "\n")
        #expect(agents.count == 3 && agents.allSatisfy { $0.range(of: #"^agent\.[a-z0-9]{25}$"#, options: .regularExpression) != nil }, "\(agents)")
        let nodePs = docker("node", "ps", "node2")
        #expect(nodePs.status == 0 && header(nodePs.stdout) == "ID NAME IMAGE NODE DESIRED STATE CURRENT STATE ERROR PORTS", "\(nodePs.stdout)")
        #expect(nodePs.stdout.split(separator: "\n").count == 1 + 4, "\(nodePs.stdout)")

        // logs: every replica's lines, Docker's prefix; the secret and config as files in the tasks.
        var logs = ProcessResult(status: -1, stdout: "", stderr: "")
        #expect(waitUntil(20) { logs = docker("service", "logs", "web"); return logs.stdout.split(separator: "\n").count == 9 }, "\(logs.stdout) \(logs.stderr)")
        let prefix = #"^web\.[123]\.[a-z0-9]{12}@node[123]    \| "#
        let lines = logs.stdout.split(separator: "\n").map(String.init)
        for text in ["hello", "hunter2", "cfg"] {
            #expect(lines.filter { $0.range(of: prefix + text + "$", options: .regularExpression) != nil }.count == 3, "\(text): \(lines)")
        }
        #expect(docker("service", "logs", "--raw", "--tail", "1", "web").stdout == "cfg\ncfg\ncfg\n")

        // scale and update.
        let scaled = docker("service", "scale", "-d", "pinned=3", "agent=2")
        #expect(scaled.status == 1 && scaled.stdout == "pinned scaled to 3\n" && scaled.stderr == "agent: scale can only be used with replicated or replicated-job mode\n",
                "\(scaled.stdout) \(scaled.stderr)")
        #expect(lab.converged("pinned", ["node2": 3]), "\(lab.spread("pinned"))")
        let updated = docker("service", "update", "-d", "--env-add", "B=2", "--label-add", "tier=front", "pinned")
        #expect(updated.status == 0 && updated.stdout == "pinned\n", "\(updated.stdout) \(updated.stderr)")
        #expect(inspect("{{json .Spec.TaskTemplate.ContainerSpec.Env}} {{json .Spec.Labels}} {{.Spec.Mode.Replicated.Replicas}}", "pinned")
                == #"["B=2"] {"tier":"front"} 3"#)

        // rollback by hand, of a change of ports: the endpoint comes back; a second one goes forward again.
        #expect(docker("service", "update", "-d", "--publish-add", "9091:80", "pinned").status == 0)
        #expect(inspect("{{json .Endpoint.Ports}}", "pinned") == #"[{"Protocol":"tcp","TargetPort":80,"PublishedPort":9091,"PublishMode":"ingress"}]"#)
        let back = docker("service", "rollback", "pinned")
        #expect(back.status == 0 && back.stdout.hasPrefix("pinned\nrollback: manually requested rollback\n") && back.stdout.contains("verify: Service pinned converged"),
                "\(back.stdout) \(back.stderr)")
        #expect(inspect("{{json .Spec.EndpointSpec}} {{json .Endpoint.Ports}} {{len .PreviousSpec.EndpointSpec.Ports}} {{.UpdateStatus.State}}", "pinned")
                == #"{"Mode":"vip"} null 1 rollback_completed"#)
        let noPrevious = docker("service", "rollback", "-d", "agent")
        #expect(noPrevious.status == 1 && noPrevious.stderr
                == "Error response from daemon: rpc error: code = FailedPrecondition desc = service \(trimmed(agent.stdout)) does not have a previous spec\n",
                "\(noPrevious.stderr)")

        // An update whose tasks fail, with ports moved, rolls back by itself: the old ports come back.
        // (--publish-rm takes the target port, as Docker's; stop-first: with one replica per node a
        // start-first replacement has nowhere to go, in Docker as here.)
        let failing = docker("service", "update", "-d", "--update-order", "stop-first", "--publish-rm", "80", "--publish-add", "9090:80",
                             "--args", "false", "web")
        #expect(failing.status == 0, "\(failing.stderr)")
        #expect(inspect("{{json .Spec.EndpointSpec.Ports}}") == #"[{"Protocol":"tcp","TargetPort":80,"PublishedPort":9090,"PublishMode":"ingress"}]"#)
        #expect(waitUntil(40) { inspect("{{.UpdateStatus.State}}") == "rollback_completed" }, "\(inspect("{{json .UpdateStatus}}"))")
        #expect(inspect("{{.UpdateStatus.Message}}") == "rollback completed")
        #expect(inspect("{{json .Spec.EndpointSpec.Ports}} {{json .Endpoint.Ports}} {{json .Spec.TaskTemplate.ContainerSpec.Args}} {{.Spec.UpdateConfig.Order}}")
                == #"\#(port8080) \#(port8080) ["sh","-c","echo hello; cat /run/secrets/s1; echo; cat /etc/c1; sleep 1000"] start-first"#)
        #expect(waitUntil(30) { lab.spread("web") == ["node1": 1, "node2": 1, "node3": 1] }, "\(lab.spread("web"))")

        // In use: secret and config stay.
        let secretInUse = docker("secret", "rm", "s1")
        #expect(secretInUse.status == 1 && secretInUse.stderr
                == "Error response from daemon: rpc error: code = InvalidArgument desc = secret 's1' is in use by the following service: web\n", "\(secretInUse.stderr)")
        let configInUse = docker("config", "rm", "c1")
        #expect(configInUse.status == 1 && configInUse.stderr
                == "Error response from daemon: rpc error: code = InvalidArgument desc = config 'c1' is in use by the following service: web\n", "\(configInUse.stderr)")

        let removed = docker("service", "rm", "web", "agent", "pinned")
        #expect(removed.status == 0 && removed.stdout == "web\nagent\npinned\n", "\(removed.stdout) \(removed.stderr)")
        #expect(docker("service", "ls", "-q").stdout.isEmpty)
        #expect(docker("secret", "rm", "s1").stdout == "s1\n")
        #expect(docker("config", "rm", "c1").stdout == "c1\n")
        // The network goes once the tasks that joined it have left.
        var gone = ProcessResult(status: -1, stdout: "", stderr: "")
        #expect(waitUntil(20) { gone = docker("network", "rm", "app"); return gone.status == 0 }, "\(gone.stderr)")
        #expect(gone.stdout == "app\n")
    }

    // MARK: - wrong input

    static func wrongInput(_ docker: LabDocker) {
        let cases: [(arguments: [String], stdout: String, stderr: String)] = [
            (["service", "inspect", "nosuch"], "[]\n", "Error: no such service: nosuch\n"),
            (["service", "ps", "nosuch"], "", "no such service: nosuch\n"),
            (["service", "scale", "nosuch=2"], "", "nosuch: Error response from daemon: service nosuch not found\n"),
            (["service", "rm", "nosuch"], "", "Error response from daemon: service nosuch not found\n"),
            (["service", "logs", "nosuch"], "", "no such task or service: nosuch\n"),
            (["service", "rollback", "nosuch"], "", "Error response from daemon: service nosuch not found\n"),
            (["service", "update", "--update-failure-action", "bogus", "nosuch"], "", "Error response from daemon: service nosuch not found\n"),
            (["service", "create", "--update-failure-action", "bogus", "busybox"], "", "Error response from daemon: unrecognized update failure action bogus\n"),
            (["service", "create", "--mount", "type=bogus,target=/x", "busybox"], "", "Error response from daemon: invalid MountType: \"bogus\"\n"),
            (["service", "create", "--constraint", "bogus", "busybox"], "",
             "Error response from daemon: rpc error: code = Unknown desc = constraint expected one operator from ==, !=\n"),
            (["service", "create", "--secret", "nosuch", "busybox"], "", "secret not found: nosuch\n"),
            (["service", "create", "--config", "nosuch", "busybox"], "", "config not found: nosuch\n"),
            (["service", "create", "--network", "nosuch", "busybox"], "", "Error response from daemon: network nosuch not found\n"),
            (["service", "create", "--mode", "bogus", "busybox"], "", "Unknown mode: bogus, only replicated and global supported\n"),
            (["node", "inspect", "nosuch"], "[]\n", "Error response from daemon: node nosuch not found\n"),
            (["node", "update", "--availability", "bogus", "node2"], "", "Error response from daemon: invalid Availability: \"bogus\"\n"),
            (["node", "rm", "nosuch"], "", "Error response from daemon: node nosuch not found\n"),
            (["secret", "inspect", "nosuch"], "[]\n", "Error response from daemon: secret nosuch not found\n"),
            (["secret", "rm", "nosuch"], "", "Error response from daemon: secret nosuch not found\n"),
            (["config", "inspect", "nosuch"], "[]\n", "Error response from daemon: config nosuch not found\n"),
            (["config", "rm", "nosuch"], "", "Error response from daemon: config nosuch not found\n"),
            (["network", "inspect", "nosuch"], "[]\n", "Error response from daemon: network nosuch not found\n"),
            (["swarm", "join-token", "bogus"], "", "unknown role bogus\n"),
        ]
        for wrong in cases {
            let result = docker(wrong.arguments)
            #expect(result.status == 1 && result.stdout == wrong.stdout && result.stderr == wrong.stderr,
                    "docker \(wrong.arguments.joined(separator: " ")): \(result.status) \(result.stdout) \(result.stderr)")
        }
        // Beyond Docker's list (docs/COMPATIBILITY.md): service templates are refused, not taken literally.
        let templated = docker("service", "create", "--env", "SLOT={{.Task.Slot}}", "busybox")
        #expect(templated.status == 1 && templated.stderr.hasPrefix("Error response from daemon: service templates ({{.Task.Slot}}"), "\(templated.stderr)")
        // Nothing was made by the refused creates.
        #expect(docker("service", "ls", "-q").stdout.isEmpty)
        // The docker CLI's own flag checks: its usage error, status 125, no request.
        let badFlag = docker("service", "create", "--replicas", "-1", "busybox")
        #expect(badFlag.status == 125 && badFlag.stderr.hasPrefix("invalid argument \"-1\" for \"--replicas\" flag"), "\(badFlag.stderr)")
    }

    // MARK: - events

    static func events(_ docker: LabDocker, since start: String) {
        let until = String(format: "%.3f", Date().timeIntervalSince1970 + 1)
        let services = docker("events", "--since", start, "--until", until, "--filter", "type=service")
        #expect(services.status == 0, "\(services.stderr)")
        let lines = services.stdout.split(separator: "\n").map(String.init)
        let stamp = #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z service "#
        for (action, attributes) in [("create", #"\(name=web\)"#), ("update", #"\(name=pinned, replicas\.new=3, replicas\.old=2\)"#),
                                     ("update", #"\(name=web, updatestate\.new=rollback_started, updatestate\.old=updating\)"#),
                                     ("remove", #"\(name=agent\)"#)] {
            #expect(lines.contains { $0.range(of: stamp + action + #" [a-z0-9]{25} "# + attributes + "$", options: .regularExpression) != nil },
                    "service \(action) \(attributes): \(lines)")
        }
        #expect(lines.allSatisfy { $0.range(of: stamp, options: .regularExpression) != nil }, "\(lines)")
        func formatted(_ filters: String...) -> [String] {
            // The SDK's objects (sdk-…) have their own checks in its script.
            docker(["events", "--since", start, "--until", until, "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}} {{.Scope}}"]
                   + filters.flatMap { ["--filter", $0] }).stdout.split(separator: "\n").map(String.init).filter { !$0.contains(" sdk-") }
        }
        #expect(formatted("type=secret") == ["secret create s1 swarm", "secret remove s1 swarm"])
        #expect(formatted("type=config") == ["config create c1 swarm", "config remove c1 swarm"])
        #expect(formatted("type=network", "event=create") == ["network create app swarm"])
        #expect(formatted("type=service", "event=remove") == ["service remove web swarm", "service remove agent swarm", "service remove pinned swarm"])
        let nodes = formatted("type=node")
        #expect(nodes.contains("node update node3 swarm") && nodes.contains("node update node2 swarm"), "\(nodes)")
    }

    // MARK: - swarm join-token|update

    static func swarmCommands(_ docker: LabDocker) {
        let worker = docker("swarm", "join-token", "worker")
        let address = #"\d+\.\d+\.\d+\.\d+:2377"#
        #expect(worker.status == 0 && worker.stdout.range(of: #"^To add a worker to this swarm, run the following command:\n\n    docker swarm join --token SWMTKN-1-[a-z0-9]{50}-[a-z0-9]{25} "#
                                                        + address + #"\n\n$"#, options: .regularExpression) != nil, "\(worker.stdout) \(worker.stderr)")
        let manager = docker("swarm", "join-token", "-q", "manager").stdout
        #expect(manager.count == 86 && manager.hasPrefix("SWMTKN-1-") && !worker.stdout.contains(trimmed(manager)))
        let rotated = docker("swarm", "join-token", "--rotate", "worker")
        #expect(rotated.status == 0 && rotated.stdout.hasPrefix("Successfully rotated worker join token.\n\nTo add a worker to this swarm, run the following command:\n"),
                "\(rotated.stdout) \(rotated.stderr)")
        #expect(!rotated.stdout.contains(worker.stdout.split(separator: " ").first { $0.hasPrefix("SWMTKN-1-") } ?? "none"))
        let update = docker("swarm", "update", "--task-history-limit", "7")
        #expect(update.status == 0 && update.stdout == "Swarm updated.\n", "\(update.stdout) \(update.stderr)")
        #expect(docker("info", "--format", "{{.Swarm.Cluster.Spec.Orchestration.TaskHistoryRetentionLimit}}").stdout == "7\n")
    }

    // MARK: - node rm

    static func removeADownWorker(_ lab: LabSwarm, _ docker: LabDocker) throws {
        let up = docker("node", "rm", "node2")
        #expect(up.status == 1 && up.stderr.hasPrefix("Error response from daemon: rpc error: code = FailedPrecondition desc = node ")
                && up.stderr.hasSuffix(" is not down and can't be removed\n"), "\(up.stderr)")
        let managerRm = docker("node", "rm", "node1")
        #expect(managerRm.status == 1 && managerRm.stderr.contains("is a cluster manager and is a member of the raft cluster. It must be demoted to worker before removal"),
                "\(managerRm.stderr)")
        let agent = try #require(lab.daemonPID("node3"))
        #expect(kill(agent, SIGKILL) == 0)
        #expect(waitUntil(10) { docker("node", "inspect", "--format", "{{.Status.State}}", "node3").stdout == "down\n" })
        #expect(docker("node", "ls", "--format", "{{.Hostname}} {{.Status}}").stdout.contains("node3 Down\n"))
        let removed = docker("node", "rm", "node3")
        #expect(removed.status == 0 && removed.stdout == "node3\n", "\(removed.stdout) \(removed.stderr)")
        #expect(docker("node", "ls", "-q").stdout.split(separator: "\n").count == 2)
        #expect(docker("info", "--format", "{{.Swarm.Nodes}}").stdout == "2\n")
    }

    // MARK: - Python SDK

    static func pythonSDK(_ docker: LabDocker, scratch: String) throws {
        let script = scratch + "/sdk.py"
        try sdkScript.write(toFile: script, atomically: true, encoding: .utf8)
        let result = runProcess("/usr/bin/env", ["python3", script, docker.socket, "3"])
        #expect(result.status == 0 && result.stdout == "ok\n", "\(result.stdout) \(result.stderr)")
        // It left nothing behind.
        #expect(docker("service", "ls", "-q").stdout.isEmpty && docker("secret", "ls", "-q").stdout.isEmpty && docker("config", "ls", "-q").stdout.isEmpty)
    }

    /// The SDK's side: argv[1] the manager's socket, argv[2] the number of
    /// nodes. It passes against Docker Swarm too (one node): the waits are
    /// where Docker's allocator and updates take their time.
    static let sdkScript = #"""
    import base64, sys, time
    import docker
    from docker.types import (ConfigReference, EndpointSpec, Healthcheck, Mount, RollbackConfig, SecretReference,
                              ServiceMode, UpdateConfig)

    def until(condition, what, seconds=30, show=lambda: ""):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if condition():
                return
            time.sleep(0.1)
        raise AssertionError("timed out waiting for " + what + " " + str(show()))

    client = docker.DockerClient(base_url=sys.argv[1], version="auto")
    expected_nodes = int(sys.argv[2])
    image = sys.argv[3] if len(sys.argv) > 3 else "busybox"
    start = int(time.time()) - 1

    # client.info(): the Swarm section.
    info = client.info()
    swarm = info["Swarm"]
    assert swarm["LocalNodeState"] == "active" and swarm["ControlAvailable"] is True, swarm
    assert swarm["Nodes"] == expected_nodes and swarm["Managers"] == 1, swarm
    assert len(swarm["NodeID"]) == 25 and len(swarm["Cluster"]["ID"]) == 25, swarm
    assert swarm["RemoteManagers"][0]["NodeID"] == swarm["NodeID"], swarm
    client.swarm.reload()
    assert client.swarm.id == swarm["Cluster"]["ID"] and client.swarm.attrs["JoinTokens"]["Worker"].startswith("SWMTKN-1-")
    assert client.swarm.version > 0 and client.swarm.attrs["Spec"]["Orchestration"]["TaskHistoryRetentionLimit"] >= 1

    # Nodes: list, get, update.
    nodes = client.nodes.list()
    assert len(nodes) == expected_nodes, nodes
    managers = client.nodes.list(filters={"role": "manager"})
    assert [n.id for n in managers] == [swarm["NodeID"]], managers
    manager = client.nodes.get(swarm["NodeID"])
    assert manager.attrs["Spec"]["Role"] == "manager" and manager.attrs["ManagerStatus"]["Leader"] is True, manager.attrs
    assert manager.attrs["Status"]["State"] == "ready" and manager.attrs["Spec"]["Availability"] == "active"
    assert manager.attrs["Description"]["Hostname"] and manager.attrs["Description"]["Engine"]["EngineVersion"]
    assert manager.attrs["Status"]["Addr"] and manager.attrs["ManagerStatus"]["Addr"].endswith(":2377")
    spec = dict(manager.attrs["Spec"], Labels={"sdk": "yes"})
    assert manager.update(spec)
    manager.reload()
    assert manager.attrs["Spec"]["Labels"] == {"sdk": "yes"} and manager.version > 0

    # Secrets.
    secret = client.secrets.create(name="sdk-secret", data=b"s3cr3t", labels={"kind": "test"})
    assert len(secret.id) == 25
    secret = client.secrets.get(secret.id)
    assert secret.name == "sdk-secret" and secret.attrs["Spec"]["Labels"] == {"kind": "test"}, secret.attrs
    assert "Data" not in secret.attrs["Spec"], secret.attrs
    assert secret.attrs["CreatedAt"] and secret.attrs["Version"]["Index"] > 0
    assert secret.id in [s.id for s in client.secrets.list()]
    assert [s.id for s in client.secrets.list(filters={"name": "sdk-secret"})] == [secret.id]

    # Configs.
    config = client.configs.create(name="sdk-config", data=b"key=value\n")
    config = client.configs.get(config.id)
    assert config.name == "sdk-config" and base64.b64decode(config.attrs["Spec"]["Data"]) == b"key=value\n", config.attrs
    assert [c.id for c in client.configs.list(filters={"name": "sdk-config"})] == [config.id]

    # Networks.
    network = client.networks.create("sdk-net", driver="overlay", labels={"kind": "test"})
    # Docker's allocator numbers it after the create.
    until(lambda: client.networks.get(network.id).attrs["IPAM"]["Config"], "the network's subnet")
    network = client.networks.get(network.id)
    assert network.name == "sdk-net" and network.attrs["Driver"] == "overlay" and network.attrs["Scope"] == "swarm", network.attrs
    assert network.attrs["IPAM"]["Config"][0]["Subnet"], network.attrs
    assert network.id in [n.id for n in client.networks.list(names=["sdk-net"])]

    # A replicated service with what the SDK can set.
    service = client.services.create(
        image, command=["sh", "-c"], args=["echo hello from $FROM; cat /run/secrets/sdk-secret; echo; sleep 1000"], name="sdk-web",
        env=["FROM=sdk"], labels={"tier": "web"}, mode=ServiceMode("replicated", replicas=2),
        mounts=[Mount("/scratch", None, type="tmpfs")], constraints=["node.role==manager"], networks=["sdk-net"],
        endpoint_spec=EndpointSpec(ports={8088: 80}), stop_grace_period=1000000000,
        update_config=UpdateConfig(parallelism=2, delay=1000000000, failure_action="rollback", order="start-first"),
        rollback_config=RollbackConfig(parallelism=1, failure_action="pause"),
        healthcheck=Healthcheck(test=["CMD", "true"], interval=1000000000, retries=2),
        secrets=[SecretReference(secret.id, "sdk-secret")], configs=[ConfigReference(config.id, "sdk-config", filename="/etc/app.conf")])
    service.reload()
    spec = service.attrs["Spec"]
    container = spec["TaskTemplate"]["ContainerSpec"]
    assert service.name == "sdk-web" and spec["Labels"] == {"tier": "web"}, spec
    assert spec["Mode"] == {"Replicated": {"Replicas": 2}}, spec["Mode"]
    assert container["Image"].startswith(image) and container["Command"] == ["sh", "-c"], container
    assert container["Mounts"] == [{"Type": "tmpfs", "Target": "/scratch"}], container["Mounts"]
    assert container["Secrets"][0]["SecretName"] == "sdk-secret" and container["Secrets"][0]["File"]["Name"] == "sdk-secret", container
    assert container["Configs"][0]["ConfigID"] == config.id and container["Configs"][0]["File"]["Name"] == "/etc/app.conf", container
    assert container["Healthcheck"]["Test"] == ["CMD", "true"] and container["Healthcheck"]["Retries"] == 2, container
    assert spec["TaskTemplate"]["Placement"]["Constraints"] == ["node.role==manager"]
    assert spec["TaskTemplate"]["Networks"][0]["Target"] == network.id, spec["TaskTemplate"]
    assert spec["UpdateConfig"]["Parallelism"] == 2 and spec["UpdateConfig"]["Order"] == "start-first", spec["UpdateConfig"]
    assert spec["RollbackConfig"]["FailureAction"] == "pause", spec["RollbackConfig"]
    # Docker's allocator fills the endpoint in after the create.
    until(lambda: "VirtualIPs" in client.services.get(service.id).attrs.get("Endpoint", {}), "the endpoint")
    service.reload()
    assert service.attrs["Endpoint"]["Ports"] == [{"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 8088, "PublishMode": "ingress"}], service.attrs["Endpoint"]
    assert {v["NetworkID"] for v in service.attrs["Endpoint"]["VirtualIPs"]} >= {network.id}, service.attrs["Endpoint"]
    assert service in client.services.list() and [s.id for s in client.services.list(filters={"name": "sdk-web"})] == [service.id]
    assert client.services.get("sdk-web").id == service.id

    # Events since/until, filtered by type (Docker keeps the last 256 events: before the tasks' container events).
    kinds = ["service", "node", "secret", "config", "network"]
    def events_since(since, wanted, **filters):
        events = list(client.events(since=since, until=int(time.time()) + 1, decode=True, filters=dict(filters, type=kinds)))
        seen = {(e["Type"], e["Action"], e["Actor"]["Attributes"].get("name")) for e in events}
        for w in wanted:
            assert any(s[0] == w[0] and s[1] == w[1] and (w[2] is None or s[2] == w[2]) for s in seen), (w, sorted(seen, key=str))
        assert all(e["scope"] == "swarm" and e["timeNano"] // 10**9 == e["time"] and e["Actor"]["ID"] for e in events if e["Type"] != "network"), events
        return events
    events_since(start, [("service", "create", "sdk-web"), ("secret", "create", "sdk-secret"), ("config", "create", "sdk-config"),
                         ("network", "create", "sdk-net"), ("node", "update", None)])
    only = list(client.events(since=start, until=int(time.time()) + 1, decode=True, filters={"type": "secret"}))
    assert [(e["Action"], e["Actor"]["ID"]) for e in only] == [("create", secret.id)], only

    running = lambda s, n: len([t for t in s.tasks(filters={"desired-state": "running"}) if t["Status"]["State"] == "running"]) == n
    until(lambda: running(service, 2), "2 running tasks")
    tasks = service.tasks()
    task = tasks[0]
    assert task["ServiceID"] == service.id and task["Slot"] in (1, 2) and task["NodeID"] == swarm["NodeID"], task
    assert task["DesiredState"] == "running" and task["Status"]["ContainerStatus"]["ContainerID"], task
    assert task["Spec"]["ContainerSpec"]["Image"].startswith(image)
    assert any(a["Network"]["ID"] == network.id and a["Addresses"] for a in task["NetworksAttachments"]), task
    logs = lambda: sorted(b"".join(service.logs(stdout=True, stderr=True)).decode().splitlines())
    until(lambda: logs() == ["hello from sdk", "hello from sdk", "s3cr3t", "s3cr3t"], "both replicas' log lines", show=logs)

    later = int(time.time()) - 1
    assert service.scale(3)
    until(lambda: running(service, 3), "3 running tasks")
    service.reload()
    service.update(env=["FROM=sdk", "B=2"])
    service.reload()
    assert service.attrs["Spec"]["TaskTemplate"]["ContainerSpec"]["Env"] == ["FROM=sdk", "B=2"], service.attrs["Spec"]
    assert service.attrs["Spec"]["Mode"]["Replicated"]["Replicas"] == 3 and service.attrs["PreviousSpec"]["Mode"]["Replicated"]["Replicas"] == 3
    until(lambda: (client.services.get(service.id).attrs.get("UpdateStatus") or {}).get("State") == "completed", "the update to complete", 60)

    # A secret or config in use cannot go.
    try:
        secret.remove()
        raise AssertionError("removed a secret in use")
    except docker.errors.APIError as error:
        assert error.status_code == 400 and "is in use by the following service: sdk-web" in str(error.explanation), error.explanation

    # A global service.
    agent = client.services.create(image, command=["sleep", "1000"], name="sdk-agent", mode=ServiceMode("global"), stop_grace_period=1000000000)
    agent.reload()
    assert agent.attrs["Spec"]["Mode"] == {"Global": {}}, agent.attrs["Spec"]["Mode"]
    until(lambda: running(agent, expected_nodes), "one agent task per node")
    try:
        agent.scale(2)
        raise AssertionError("scaled a global service")
    except docker.errors.InvalidArgument:
        pass

    # Errors as Docker's.
    try:
        client.services.get("no-such-service")
        raise AssertionError("found a missing service")
    except docker.errors.NotFound as error:
        assert "service no-such-service not found" in str(error.explanation), error.explanation
    try:
        client.nodes.get("no-such-node")
        raise AssertionError("found a missing node")
    except docker.errors.NotFound:
        pass

    service.remove()
    agent.remove()
    until(lambda: client.services.list() == [], "the services to go")
    until(lambda: [t for t in client.api.tasks() if t["ServiceID"] in (service.id, agent.id)] == [], "their tasks to go")
    secret.remove()
    config.remove()
    network.remove()
    assert client.secrets.list(filters={"name": "sdk-secret"}) == [] and client.configs.list(filters={"name": "sdk-config"}) == []
    until(lambda: client.networks.list(names=["sdk-net"]) == [], "the network to go")

    events_since(later, [("service", "update", "sdk-web"), ("service", "remove", "sdk-web"), ("service", "remove", "sdk-agent"),
                            ("secret", "remove", "sdk-secret"), ("config", "remove", "sdk-config"), ("network", "remove", "sdk-net")])
    print("ok")
    """#

    // MARK: - Helpers

    /// A table's header, its columns one space apart.
    static func header(_ output: String) -> String {
        output.split(separator: "\n").first.map(words) ?? ""
    }

    /// A line's words, one space apart ("Hostname:   \tnode1" → "Hostname: node1").
    static func words(_ line: Substring) -> String {
        line.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
    }

    static func trimmed(_ text: String) -> String { text.trimmingCharacters(in: .whitespacesAndNewlines) }
}

/// `docker -H unix://MANAGER-SOCKET ARGS…` with a config dir of its own.
struct LabDocker {
    let socket: String
    let configDir: String

    init(lab: LabSwarm, configDir: String) {
        socket = lab.cluster.record.nodes.first { $0.name == "node1" }!.socket
        self.configDir = configDir
    }

    func callAsFunction(_ arguments: String...) -> ProcessResult { callAsFunction(arguments) }

    func callAsFunction(_ arguments: [String]) -> ProcessResult {
        var environment = ProcessInfo.processInfo.environment
        environment["DOCKER_CONFIG"] = configDir
        environment["DOCKER_HOST"] = nil
        return runProcess(dockerBinary!, ["-H", socket] + arguments, environment: environment)
    }
}

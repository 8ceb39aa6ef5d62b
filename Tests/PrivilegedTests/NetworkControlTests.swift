import Foundation
import Testing

/// Overlay networks and published ports on a one-node swarm, as the manager
/// allocates them: our CLI and the stock docker CLI against a real daemon.
/// The data path is the nodes' part: these check numbers and API results,
/// not connectivity.
@Suite(.serialized)
struct NetworkControlTests {
    static func columns(_ line: Substring?) -> String? { line.map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") } }

    @Test(.enabled(if: isRoot, "needs root to run swarmd"))
    func networksAndPortsThroughOurCLI() throws {
        let node = try SwarmNode()
        _ = try node.initialize()
        try node.importBusybox()

        let listed = node.cli("network", "ls")
        let lines = listed.stdout.split(separator: "\n")
        #expect(Self.columns(lines.first) == "NETWORK ID NAME DRIVER SCOPE", "\(listed.stdout) \(listed.stderr)")
        #expect(lines.dropFirst().map { Self.columns($0)!.split(separator: " ").dropFirst().joined(separator: " ") }
                == ["host host local", "ingress overlay swarm", "none null local"], "\(listed.stdout)")

        let created = node.cli("network", "create", "--driver", "overlay", "--label", "team=a", "app")
        #expect(created.status == 0 && created.stdout.count == 26, "\(created.stdout) \(created.stderr)")
        let appID = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(node.cli("network", "create", "--subnet", "10.99.0.0/24", "--gateway", "10.99.0.254", "--attachable", "mine").status == 0)
        let mine = node.cli("network", "inspect", "--format", "{{(index .IPAM.Config 0).Subnet}} {{(index .IPAM.Config 0).Gateway}} {{.Attachable}} {{.Scope}}", "mine")
        #expect(mine.stdout == "10.99.0.0/24 10.99.0.254 true swarm\n", "\(mine.stdout) \(mine.stderr)")
        #expect(node.cli("network", "ls", "-q", "--filter", "label=team=a").stdout == String(appID.prefix(12)) + "\n")

        // Bad input: one line, status 1, nothing made.
        func refused(_ arguments: [String], _ message: String) {
            let result = node.cli(arguments)
            #expect(result.status == 1 && result.stderr.contains(message) && result.stderr.split(separator: "\n").count == 1,
                    "\(arguments): \(result.stdout) \(result.stderr)")
        }
        refused(["network", "create", "--subnet", "10.99.0.128/25", "other"], "Pool overlaps with other one on this address space")
        refused(["network", "create", "app"], "network with name app already exists")
        refused(["network", "create", "-o", "encrypted", "secret"], "not supported yet")
        refused(["network", "create", "-d", "bridge", "br"], "network driver bridge is not supported")
        #expect(node.cli("network", "ls", "-q").stdout.split(separator: "\n").count == 5)

        // This one-node swarm advertises 127.0.0.1, so its node has no data path
        // (it would wire the host itself) and refuses tasks on overlays: the
        // tasks are kept unplaced by a constraint. The allocator numbers them
        // before the scheduler looks, which is what is checked here; the
        // data path is LabMeshTests'.
        let web = node.cli("service", "create", "--detach", "--name", "web", "--replicas", "2", "--stop-grace-period", "1s", "--network", "name=app,alias=site",
                           "--constraint", "node.labels.placement==nowhere", "-p", "5000:80", "busybox", "sleep", "1000")
        #expect(web.status == 0, "\(web.stderr)")
        refused(["service", "create", "--detach", "--name", "clash", "-p", "published=5000,target=81", "busybox"],
                "port '5000' is already in use by service 'web'")
        refused(["service", "create", "--detach", "--name", "bad", "-p", "5000:http", "busybox"], "invalid containerPort: http")
        refused(["service", "create", "--detach", "--name", "lost", "--network", "nope", "busybox"], "network nope not found")
        refused(["network", "rm", "app"], "is in use by service")
        refused(["network", "rm", "ingress"], "ingress network cannot be removed because service")
        #expect(node.cli("service", "ls", "-q").stdout.split(separator: "\n").count == 1)

        let services = node.cli("service", "ls").stdout.split(separator: "\n")
        #expect(services.count == 2 && services[1].hasSuffix("*:5000->80/tcp"), "\(services)")
        let pretty = node.cli("service", "inspect", "--pretty", "web").stdout
        #expect(pretty.contains("Networks: app \nEndpoint Mode:\tvip\nPorts:\n PublishedPort = 5000\n  Protocol = tcp\n  TargetPort = 80\n  PublishMode = ingress\n"), "\(pretty)")
        let endpoint = "{{range .Endpoint.VirtualIPs}}{{.NetworkID}}={{.Addr}} {{end}}{{range .Endpoint.Ports}}{{.PublishedPort}}{{end}}"
        let before = node.cli("service", "inspect", "--format", endpoint, "web").stdout
        #expect(before.contains(appID + "=") && before.hasSuffix(" 5000\n"), "\(before)")
        // Every task has an address in app and in ingress, all distinct.
        #expect(waitUntil(30) { node.cli("service", "ps", "-q", "--filter", "desired-state=running", "web").stdout.split(separator: "\n").count == 2 })
        let taskIDs = node.cli("service", "ps", "-q", "--no-trunc", "--filter", "desired-state=running", "web").stdout.split(separator: "\n").map(String.init)
        var addresses: [String] = []
        for id in taskIDs {
            let api = runProcess("/usr/bin/curl", ["-s", "--unix-socket", node.socket, "http://localhost/tasks/\(id)"])
            let task = try #require(try JSONSerialization.jsonObject(with: Data(api.stdout.utf8)) as? [String: Any])
            let attachments = try #require(task["NetworksAttachments"] as? [[String: Any]])
            #expect(attachments.count == 2)
            addresses += attachments.compactMap { ($0["Addresses"] as? [String])?.first }
        }
        #expect(addresses.count == 4 && Set(addresses).count == 4, "\(addresses)")

        // A restarted manager keeps every number and hands out none twice.
        let pid = node.daemonPID
        #expect(pid > 1 && kill(pid, SIGKILL) == 0)
        #expect(waitUntil(10) { kill(pid, 0) != 0 })
        try node.restartDaemon()
        #expect(waitUntil(20) { node.cli("service", "inspect", "--format", endpoint, "web").stdout == before })
        let other = node.cli("service", "create", "--detach", "--name", "other", "--network", "app", "-p", "80", "--stop-grace-period", "1s",
                             "busybox", "sleep", "1000")
        #expect(other.status == 0, "\(other.stderr)")
        let otherEndpoint = node.cli("service", "inspect", "--format", endpoint, "other").stdout
        #expect(otherEndpoint.hasSuffix(" 30000\n") && !before.contains(otherEndpoint.split(separator: " ").first { $0.hasPrefix(appID) } ?? "x"), "\(otherEndpoint)")

        // Update: the port goes, another service may take it; the network goes, then may be removed.
        #expect(node.cli("service", "update", "--detach", "--publish-rm", "80", "--network-rm", "app", "web").status == 0)
        let cleared = node.cli("service", "inspect", "--format", "{{json .Endpoint}}", "web")
        #expect(cleared.status == 0 && cleared.stdout.contains("vip") && !cleared.stdout.contains("VirtualIPs") && !cleared.stdout.contains("Ports"),
                "\(cleared.stdout) \(cleared.stderr)")
        #expect(node.cli("service", "create", "--detach", "--name", "taker", "-p", "5000:80", "busybox", "sleep", "1000").status == 0)
        #expect(node.cli("service", "update", "--detach", "--network-add", "mine", "web").status == 0)
        #expect(node.cli("service", "rm", "other", "taker", "web").status == 0)
        #expect(waitUntil(60) { node.cli("network", "rm", "app").status == 0 }, "\(node.cli("network", "rm", "app").stderr)")
        #expect(waitUntil(60) { node.cli("network", "prune", "-f").stdout == "Deleted Networks:\nmine\n" })
        #expect(node.cli("network", "ls", "-q").stdout.split(separator: "\n").count == 3)
    }

    @Test(.enabled(if: isRoot, "needs root to run swarmd"))
    func initTakesTheAddressPools() throws {
        let node = try SwarmNode()
        let bad = node.cli("init", "--advertise-addr", "127.0.0.1", "--listen-addr", "127.0.0.1:\(node.port)", "--default-addr-pool", "10.200.0.0/33")
        #expect(bad.status == 1 && bad.stderr.contains("invalid default address pool 10.200.0.0/33") && bad.stderr.split(separator: "\n").count == 1, "\(bad.stderr)")
        #expect(node.cli("node", "ls").status == 1)
        let good = node.cli("init", "--advertise-addr", "127.0.0.1", "--listen-addr", "127.0.0.1:\(node.port)", "--dispatcher-heartbeat", "1s",
                            "--default-addr-pool", "10.200.0.0/16", "--default-addr-pool-mask-length", "26")
        try #require(good.status == 0, "\(good.stderr)")
        #expect(waitUntil(10) { node.cli("network", "inspect", "--format", "{{(index .IPAM.Config 0).Subnet}}", "ingress").stdout == "10.200.0.0/26\n" })
        #expect(node.cli("network", "create", "app").status == 0)
        #expect(node.cli("network", "inspect", "--format", "{{(index .IPAM.Config 0).Subnet}}", "app").stdout == "10.200.0.64/26\n")
    }

    @Test(.enabled(if: hasDockerCLI, "needs root and the docker CLI (scripts/install-deps)"))
    func dockerCLICreatesNetworksAndPublishes() throws {
        let node = try SwarmNode()
        _ = try node.initialize()
        try node.importBusybox()

        let created = node.docker("network", "create", "-d", "overlay", "app")
        #expect(created.status == 0 && created.stdout.count == 26, "\(created.stdout) \(created.stderr)")
        let listed = node.docker("network", "ls")
        let lines = listed.stdout.split(separator: "\n")
        #expect(Self.columns(lines.first) == "NETWORK ID NAME DRIVER SCOPE", "\(listed.stdout) \(listed.stderr)")
        #expect(lines.contains { $0.hasSuffix("app       overlay   swarm") } && lines.contains { $0.contains("ingress   overlay   swarm") }, "\(listed.stdout)")
        let inspect = node.docker("network", "inspect", "--format", "{{.Name}} {{.Driver}} {{.Scope}} {{.Ingress}} {{len .IPAM.Config}}", "app")
        #expect(inspect.stdout == "app overlay swarm false 1\n", "\(inspect.stdout) \(inspect.stderr)")
        let bridge = node.docker("network", "create", "plain")
        #expect(bridge.status == 1 && bridge.stderr.contains("use --driver overlay"), "\(bridge.stderr)")

        let web = node.docker("service", "create", "--detach", "--name", "web", "--network", "app", "-p", "5000:80", "busybox", "sleep", "1000")
        #expect(web.status == 0, "\(web.stderr)")
        let endpoint = node.docker("service", "inspect", "--format", "{{json .Endpoint}}", "web").stdout
        #expect(endpoint.contains(#""Ports":[{"Protocol":"tcp","TargetPort":80,"PublishedPort":5000,"PublishMode":"ingress"}]"#), "\(endpoint)")
        #expect(endpoint.contains(#""VirtualIPs":[{"NetworkID":""#), "\(endpoint)")
        #expect(node.docker("service", "inspect", "--format", "{{range .Spec.TaskTemplate.Networks}}{{.Target}}{{end}}", "web").stdout
                == created.stdout)
        #expect(waitUntil(20) { node.docker("service", "ls").stdout.contains("*:5000->80/tcp") }, "\(node.docker("service", "ls").stdout)")
        let clash = node.docker("service", "create", "--detach", "-p", "5000:81", "busybox")
        #expect(clash.status == 1 && clash.stderr.contains("port '5000' is already in use by service 'web'"), "\(clash.stderr)")
        let inUse = node.docker("network", "rm", "app")
        #expect(inUse.status == 1 && inUse.stderr.contains("is in use by service"), "\(inUse.stderr)")
        #expect(node.docker("service", "rm", "web").status == 0)
        #expect(waitUntil(30) { node.docker("network", "rm", "app").status == 0 })
    }
}

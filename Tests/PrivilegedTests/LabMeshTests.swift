import Foundation
import Lab
import Testing

/// Networking on a 3-node lab, as the seed's walkthrough uses it: services
/// created first and joined to an overlay network later reach each other by
/// name; a published port answers on every node through the routing mesh
/// and the task sees the client's real address; DNS follows a scale within
/// a second; host-mode ports only where a task runs; nothing is left after.
@Suite(.serialized)
struct LabMeshTests {
    @Test(.enabled(if: isRoot, rootReason))
    func seedFlowOverlayDNSAndRoutingMesh() throws {
        let lab = try LabSwarm(name: "w\(getpid())")
        let nodes = lab.cluster.record.nodes
        let client = try #require(lab.cluster.record.client)
        // The web page: a CGI that asks `database` over the overlay.
        let site = NSTemporaryDirectory() + "swarm-test-mesh-\(getpid())"
        try FileManager.default.createDirectory(atPath: site + "/cgi-bin", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: site) }
        let page = "#!/bin/sh\necho 'Content-Type: text/plain'\necho\necho \"host=$(hostname) client=$REMOTE_ADDR db=$(nc database 7000 </dev/null)\"\n"
        try page.write(toFile: site + "/cgi-bin/page", atomically: true, encoding: .utf8)
        chmod(site + "/cgi-bin/page", 0o755)

        func ok(_ result: ProcessResult, _ what: String) { #expect(result.status == 0, "\(what): \(result.stdout) \(result.stderr)") }
        // The database: an image with a VOLUME; each start of its task appends a line there, and it answers how many.
        let tar = site + "-db.tar"
        defer { unlink(tar) }
        try #require(runProcess("/bin/tar", ["-C", busyboxRootfs, "-cf", tar, "."]).status == 0)
        ok(lab.swarm("node1", "image", "import", "--change", "VOLUME /var", tar, "db:1"), "db image")
        ok(lab.swarm("node1", "service", "create", "-d", "--name", "database", "--constraint", "node.hostname==node3", "--stop-grace-period", "1s",
                     "db:1", "sh", "-c", "echo start >> /var/starts; exec nc -ll -p 7000 -e grep -c . /var/starts"), "database")
        ok(lab.swarm("node1", "service", "create", "-d", "--name", "web", "--replicas", "3", "--replicas-max-per-node", "2", "--stop-grace-period", "1s",
                     "--constraint", "node.hostname!=node3", "-p", "5000:8080", "--mount", "type=bind,source=\(site),target=/www",
                     "busybox", "httpd", "-f", "-p", "8080", "-h", "/www"), "web")
        // The seed's order: the network comes after the services.
        ok(lab.swarm("node1", "network", "create", "--driver", "overlay", "app"), "network create")
        ok(lab.swarm("node1", "service", "update", "--network-add", "app", "database"), "database --network-add")
        ok(lab.swarm("node1", "service", "update", "--network-add", "app", "web"), "web --network-add")
        #expect(waitUntil(60) { lab.spread("web").values.reduce(0, +) == 3 && lab.spread("database") == ["node3": 1] })

        func curl(_ address: String, _ port: Int = 5000, path: String = "/cgi-bin/page") -> ProcessResult {
            runProcess(swarmBinary, ["lab", "exec", "--name", lab.name, "client", "curl", "-s", "-m", "5", "http://\(address):\(port)\(path)"])
        }
        // Port 5000 on every node's address, node3 running no web task; the page reached the database by name.
        var hosts: Set<String> = []
        for node in nodes {
            var answer = ""
            // db=2: the database's task was replaced when it joined the network, and got its slot's volume back.
            #expect(waitUntil(20) { answer = curl(node.address).stdout; return answer.contains("db=2") }, "\(node.name): \(answer)")
            // busybox httpd writes IPv4 clients as [::ffff:A.B.C.D].
            #expect(answer.contains("client=[::ffff:\(client.address)] ") || answer.contains("client=\(client.address) "),
                    "the task sees the client's address: \(answer)")
        }
        for _ in 0..<30 {
            if let host = curl(nodes[2].address).stdout.split(separator: " ").first { hosts.insert(String(host)) }
        }
        #expect(hosts.count == 3, "requests spread over every replica: \(hosts)")

        // Names from inside a task: NAME is the VIP, tasks.NAME every task; answers follow a scale within a second.
        func lookup(_ name: String) -> [String] {
            let containers = lab.swarm("node3", "container", "ls", "-q").stdout.split(separator: "\n")
            guard let id = containers.first else { return [] }
            let output = lab.swarm("node3", "container", "exec", String(id), "nslookup", name, "127.0.0.11").stdout
            return output.split(separator: "\n").filter { $0.hasPrefix("Address") && !$0.contains("127.0.0.11") }.map(String.init)
        }
        #expect(lookup("web").count == 1)
        #expect(lookup("tasks.web").count == 3, "\(lookup("tasks.web"))")
        ok(lab.swarm("node1", "service", "scale", "-d", "web=4"), "scale")
        #expect(waitUntil(30) { lab.spread("web").values.reduce(0, +) == 4 })
        let scaledAt = Date()
        #expect(waitUntil(5) { lookup("tasks.web").count == 4 })
        #expect(Date().timeIntervalSince(scaledAt) < 2.5, "DNS followed the scale in \(Date().timeIntervalSince(scaledAt)) s (lookups through lab exec included)")
        // A service on no shared network does not resolve.
        ok(lab.swarm("node1", "service", "create", "-d", "--name", "loner", "busybox", "sleep", "1000"), "loner")
        #expect(waitUntil(30) { lab.spread("loner").values.reduce(0, +) == 1 })
        #expect(lookup("loner").isEmpty)

        // Host mode: only where a task runs.
        ok(lab.swarm("node1", "service", "create", "-d", "--name", "local", "--constraint", "node.hostname==node2",
                     "--publish", "published=6001,target=8080,mode=host", "--mount", "type=bind,source=\(site),target=/www",
                     "busybox", "httpd", "-f", "-p", "8080", "-h", "/www"), "host mode")
        #expect(waitUntil(30) { lab.spread("local") == ["node2": 1] })
        let node2 = nodes.first { $0.name == "node2" }!, node1 = nodes.first { $0.name == "node1" }!
        // (Its page is not the CGI: that one asks `database`, which this service cannot resolve.)
        #expect(waitUntil(20) { curl(node2.address, 6001, path: "/").status == 0 })
        #expect(curl(node1.address, 6001, path: "/").status == 7, "connection refused where no task runs")

        // Bad input changes nothing.
        let taken = lab.swarm("node1", "service", "create", "--name", "clash", "-p", "5000:80", "busybox", "true")
        #expect(taken.status == 1 && !taken.stderr.isEmpty && !taken.stderr.contains("\n\n"), "\(taken.stderr)")
        let inUse = lab.swarm("node1", "network", "rm", "app")
        #expect(inUse.status == 1, "\(inUse.stderr)")

        // Clean-up: after the services and the network go, no namespace or table of ours on any node.
        for service in ["web", "database", "loner", "local"] { ok(lab.swarm("node1", "service", "rm", service), "rm \(service)") }
        #expect(waitUntil(30) { nodes.allSatisfy { lab.swarm($0.name, "container", "ls", "-a", "-q").stdout.isEmpty } })
        ok(lab.swarm("node1", "network", "rm", "app"), "network rm")
        #expect(waitUntil(20) {
            nodes.allSatisfy { node in
                let links = runProcess(swarmBinary, ["lab", "exec", "--name", lab.name, node.name, "ip", "-o", "link"]).stdout
                return !links.contains("ve-") && !links.contains("gw-")
            }
        })
    }
}

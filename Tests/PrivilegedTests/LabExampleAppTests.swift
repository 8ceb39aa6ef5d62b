import Foundation
import Lab
import Testing

/// examples/login-app on a 3-node lab: its images built offline by its
/// build-images script and loaded on the manager (workers fetch them from
/// it), its services created by hand as its docker-compose.yml describes
/// them (what `stack deploy login_app` creates; `LoginAppByHand`), then: the
/// app answers on 5000 from every node with the client's address, a user
/// registered through node1 is listed through node3, and the database's
/// data survives `service update --force`.
@Suite(.serialized)
struct LabExampleAppTests {
    static let example = packageRoot + "/examples/login-app"

    @Test(.enabled(if: isRoot, rootReason))
    func loginAppOnALab() throws {
        // The images: .debs cached beside the build (SWARM_LOGIN_APP_CACHE to share them), archives in a temp dir.
        let out = NSTemporaryDirectory() + "swarm-test-login-app-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: out) }
        let cache = ProcessInfo.processInfo.environment["SWARM_LOGIN_APP_CACHE"] ?? packageRoot + "/.build/login-app-debs"
        let started = Date()
        let built = runProcess(Self.example + "/build-images", ["--cache", cache, "--out", out])
        try #require(built.status == 0, "build-images: \(built.stdout)\(built.stderr)")
        print("build-images took \(Int(Date().timeIntervalSince(started))) s:\n\(built.stdout)")

        let lab = try LabSwarm(name: "x\(getpid())")
        let nodes = lab.cluster.record.nodes
        let client = try #require(lab.cluster.record.client)
        func ok(_ result: ProcessResult, _ what: String) { #expect(result.status == 0, "\(what): \(result.stdout) \(result.stderr)") }
        for image in ["web", "database", "visualizer"] {
            let loaded = lab.swarm("node1", "image", "load", "-i", "\(out)/\(image).tar")
            try #require(loaded.status == 0, "load \(image): \(loaded.stderr)")
            #expect(loaded.stdout.contains("login-app/\(image):1"), "\(loaded.stdout)")
        }

        // The stack by hand, database first (as depends_on orders it).
        let byHand = LoginAppByHand(example: Self.example)
        ok(lab.swarm("node1", byHand.network), "network")
        ok(lab.swarm("node1", byHand.database), "database")
        // Its task counts as running once its health check passes (Docker's rule).
        #expect(waitUntil(90) { lab.spread("login_app_database") == ["node1": 1] },
                "the database is up and healthy: \(lab.swarm("node1", "service", "ps", "--no-trunc", "login_app_database").stdout)")
        ok(lab.swarm("node1", byHand.web), "web")
        #expect(lab.converged("login_app_web", ["node1": 1, "node2": 1, "node3": 1], within: 60),
                "\(lab.swarm("node1", "service", "ps", "--no-trunc", "login_app_web").stdout)")

        func curl(_ address: String, _ extra: [String] = [], path: String = "/") -> ProcessResult {
            runProcess(swarmBinary, ["lab", "exec", "--name", lab.name, "client", "curl", "-s", "-m", "5"] + extra
                + ["http://\(address):5000\(path)"])
        }
        func servedBy(_ page: String) -> String? {
            guard let start = page.range(of: "<strong id=\"served-by\">"), let end = page[start.upperBound...].range(of: "</strong>") else { return nil }
            return String(page[start.upperBound..<end.lowerBound])
        }
        // Port 5000 on every node's address: the page, from the database, with the client's own address.
        for node in nodes {
            var page = ""
            #expect(waitUntil(30) { page = curl(node.address).stdout; return page.contains("<h2>Users (") }, "\(node.name): \(page)")
            #expect(page.contains("<strong id=\"client\">\(client.address)</strong>"), "the task sees the client's address: \(page)")
        }
        var hosts: Set<String> = []
        for _ in 0..<30 { if let host = servedBy(curl(nodes[1].address).stdout) { hosts.insert(host) } }
        #expect(hosts.count == 3, "requests spread over the 3 replicas: \(hosts)")

        // Registered through node1, listed through node3.
        let register = curl(nodes[0].address, ["-o", "/dev/null", "-w", "%{http_code}", "-d", "username=alice&password=s3cret"], path: "/register")
        #expect(register.stdout == "303", "register: \(register.stdout) \(register.stderr)")
        #expect(curl(nodes[2].address).stdout.contains("<li>alice "), "alice listed through node3")
        let again = curl(nodes[1].address, ["-o", "/dev/null", "-w", "%{http_code}", "-d", "username=alice&password=x"], path: "/register")
        #expect(again.stdout == "409", "a name registers once: \(again.stdout)")

        // The data is the volume's: a forced update replaces the database's task, alice stays.
        let before = runningTaskIDs(lab, "login_app_database")
        ok(lab.swarm("node1", "service", "update", "--force", "-d", "login_app_database"), "update --force")
        #expect(waitUntil(90) {
            let now = runningTaskIDs(lab, "login_app_database")
            return now.count == 1 && now != before && lab.spread("login_app_database") == ["node1": 1]
        }, "a new, healthy database task: \(lab.swarm("node1", "service", "ps", "--no-trunc", "login_app_database").stdout)")
        var page = ""
        #expect(waitUntil(30) { page = curl(nodes[2].address).stdout; return page.contains("<li>alice ") }, "alice after the update: \(page)")
        #expect(page.contains("<h2>Users (1)</h2>"), "\(page)")

        // The visualizer the seed's way: a service on the manager, its socket mounted, the page on 8080 from every node.
        ok(lab.swarm("node1", byHand.defaultNetwork), "default network")
        ok(lab.swarm("node1", byHand.visualizer(socket: nodes[0].socket.replacingOccurrences(of: "unix://", with: ""))), "visualizer")
        #expect(lab.converged("login_app_visualizer", ["node1": 1], within: 60),
                "\(lab.swarm("node1", "service", "ps", "--no-trunc", "login_app_visualizer").stdout)")
        func board() -> String { runProcess(swarmBinary, ["lab", "exec", "--name", lab.name, "client", "curl", "-s", "-m", "5",
                                                          "http://\(nodes[2].address):8080/state"]).stdout }
        let webID = lab.swarm("node1", "service", "inspect", "--format", "{{.ID}}", "login_app_web").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        var state = ""
        #expect(waitUntil(30) { state = board(); return boardTasks(state, webID).map { $0 == (3, 3) } ?? false },
                "3 nodes and 3 running web tasks on the board: \(state)")
        let visualizerPage = runProcess(swarmBinary, ["lab", "exec", "--name", lab.name, "client", "curl", "-s", "-m", "5", "http://\(nodes[1].address):8080/"]).stdout
        #expect(visualizerPage.contains("<title>swarm visualizer</title>"), "swarm's own page: \(visualizerPage.prefix(300))")
        // Live: a scale shows without a reload (the mirror follows /events).
        ok(lab.swarm("node1", "service", "scale", "-d", "login_app_web=4"), "scale")
        #expect(waitUntil(30) { state = board(); return boardTasks(state, webID).map { $0.tasks == 4 } ?? false }, "4 web tasks: \(state)")

        // Clean-up within the lab (the lab itself goes with `lab`).
        for service in ["login_app_web", "login_app_database", "login_app_visualizer"] { ok(lab.swarm("node1", "service", "rm", service), "rm \(service)") }
        #expect(waitUntil(30) { nodes.allSatisfy { lab.swarm($0.name, "container", "ls", "-a", "-q").stdout.isEmpty } })
        ok(lab.swarm("node1", "network", "rm", "login_app_app", "login_app_default"), "network rm")
    }

    func runningTaskIDs(_ lab: LabSwarm, _ service: String) -> [String] {
        lab.swarm("node1", "service", "ps", "-q", "--filter", "desired-state=running", service).stdout.split(separator: "\n").map(String.init)
    }

    /// Tasks of `serviceID` on the board that `/state` answers, by node ID.
    func boardTasks(_ json: String, _ serviceID: String) -> (nodes: Int, tasks: Int)? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
              let nodes = object["nodes"] as? [Any], let tasks = object["tasks"] as? [[String: Any]] else { return nil }
        return (nodes.count, tasks.filter { $0["serviceID"] as? String == serviceID && $0["state"] as? String == "running" }.count)
    }
}

/// The objects examples/login-app/docker-compose.yml describes, as `swarm`
/// commands: what `stack deploy -c docker-compose.yml login_app` creates
/// (names prefixed with the stack's, its namespace label, the short name as
/// the network alias).
struct LoginAppByHand {
    let example: String
    let stack = "login_app"
    var labels: [String] { ["--label", "com.docker.stack.namespace=\(stack)", "--container-label", "com.docker.stack.namespace=\(stack)"] }

    var network: [String] {
        ["network", "create", "--driver", "overlay", "--attachable", "--label", "com.docker.stack.namespace=\(stack)", "\(stack)_app"]
    }

    /// A service with no `networks:` is on the stack's default network, as stack deploy makes it.
    var defaultNetwork: [String] {
        ["network", "create", "--driver", "overlay", "--label", "com.docker.stack.namespace=\(stack)", "\(stack)_default"]
    }

    var database: [String] {
        ["service", "create", "-d", "--name", "\(stack)_database"] + labels + [
            "--label", "com.docker.stack.image=login-app/database:1",
            "--env-file", example + "/database.env",
            "--mount", "type=bind,source=\(example)/init.sql,target=/docker-entrypoint-initdb.d/init.sql,readonly",
            "--mount", "type=volume,source=\(stack)_db-data,target=/var/lib/mysql,volume-label=com.docker.stack.namespace=\(stack)",
            "--network", "name=\(stack)_app,alias=database",
            "--health-cmd", "healthcheck.sh", "--health-interval", "2s", "--health-timeout", "5s", "--health-retries", "30",
            "--health-start-period", "60s",
            "--stop-grace-period", "10s", "--replicas", "1", "--constraint", "node.role == manager",
            "--update-order", "stop-first", "--restart-condition", "any",
            "login-app/database:1",
        ]
    }

    var web: [String] {
        ["service", "create", "-d", "--name", "\(stack)_web"] + labels + [
            "--label", "com.docker.stack.image=login-app/web:1",
            "--env-file", example + "/database.env", "--env", "DB_HOST=database", "--env", "PORT=8080",
            "--publish", "5000:8080",
            "--network", "name=\(stack)_app,alias=web",
            "--stop-grace-period", "2s", "--replicas", "3",
            "--update-parallelism", "1", "--update-order", "start-first", "--restart-condition", "any",
            "login-app/web:1",
        ]
    }

    /// `socket`: the manager's API socket, mounted where Docker's is.
    func visualizer(socket: String) -> [String] {
        ["service", "create", "-d", "--name", "\(stack)_visualizer"] + labels + [
            "--label", "com.docker.stack.image=login-app/visualizer:1",
            "--publish", "8080:8080", "--constraint", "node.role == manager",
            "--mount", "type=bind,source=\(socket),target=/var/run/docker.sock",
            "--network", "name=\(stack)_default,alias=visualizer", "--stop-grace-period", "1s",
            "login-app/visualizer:1",
        ]
    }
}

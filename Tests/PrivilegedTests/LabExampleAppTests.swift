import Foundation
import Lab
import Testing

/// examples/login-app on a 3-node lab, as the walkthrough deploys it: its
/// images built offline by its build-images script and loaded on the manager
/// (workers fetch them from it), `stack deploy --compose-file
/// docker-compose.yml login_app`; then: the web tasks wait for the database
/// to be healthy (depends_on), the app answers on 5000 from every node with
/// the client's address, a user registered through node1 is listed through
/// node3, the database's data survives `service update --force`, the
/// visualizer (run the seed's way) shows the stack, a redeploy with one
/// more replica in an override file changes only the web service, and
/// `stack rm` removes it all.
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
        // The visualizer image carries the swarmd under test (not a release build that may be older).
        let swarmd = (swarmBinary as NSString).deletingLastPathComponent + "/swarmd"
        let built = runProcess(Self.example + "/build-images", ["--cache", cache, "--out", out, "--swarmd", swarmd])
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

        // The stack, as the walkthrough deploys it; the visualizer mounts node1's socket (${SWARM_SOCKET}).
        let socket = nodes[0].socket.replacingOccurrences(of: "unix://", with: "")
        let file = Self.example + "/docker-compose.yml"
        let deployed = lab.swarm("node1", ["stack", "deploy", "login_app", "--compose-file=\(file)", "--resolve-image", "never"],
                                 environment: ["SWARM_SOCKET": socket])
        ok(deployed, "stack deploy")
        #expect(deployed.stdout == """
            Creating network login_app_app
            Creating network login_app_default
            Creating service login_app_database
            Creating service login_app_visualizer
            Creating service login_app_web

            """, "\(deployed.stdout)")
        // depends_on: the web tasks wait, with the reason, while the database initialises.
        let early = lab.swarm("node1", "stack", "ps", "--no-trunc", "--format", "{{.Name}} {{.CurrentState}} {{.Error}}", "login_app").stdout
        #expect(early.contains("login_app_web.1 Pending") && early.contains("waiting for service login_app_database to be healthy (depends_on)"),
                "\(early)")
        // Its task counts as running once its health check passes (Docker's rule).
        #expect(waitUntil(90) { lab.spread("login_app_database") == ["node1": 1] },
                "the database is up and healthy: \(lab.swarm("node1", "service", "ps", "--no-trunc", "login_app_database").stdout)")
        #expect(lab.converged("login_app_web", ["node1": 1, "node2": 1, "node3": 1], within: 60),
                "\(lab.swarm("node1", "service", "ps", "--no-trunc", "login_app_web").stdout)")
        #expect(lab.converged("login_app_visualizer", ["node1": 1], within: 60),
                "\(lab.swarm("node1", "service", "ps", "--no-trunc", "login_app_visualizer").stdout)")
        let states = lab.swarm("node1", "stack", "ps", "--filter", "desired-state=running", "--format", "{{.CurrentState}}", "login_app").stdout
        #expect(states.split(separator: "\n").count == 5 && states.split(separator: "\n").allSatisfy { $0.hasPrefix("Running ") }, "\(states)")

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
        func board() -> String { runProcess(swarmBinary, ["lab", "exec", "--name", lab.name, "client", "curl", "-s", "-m", "5",
                                                          "http://\(nodes[2].address):8080/state"]).stdout }
        let webID = lab.swarm("node1", "service", "inspect", "--format", "{{.ID}}", "login_app_web").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        var state = ""
        #expect(waitUntil(30) { state = board(); return boardTasks(state, webID).map { $0 == (3, 3) } ?? false },
                "3 nodes and 3 running web tasks on the board: \(state)")
        let visualizerPage = runProcess(swarmBinary, ["lab", "exec", "--name", lab.name, "client", "curl", "-s", "-m", "5", "http://\(nodes[1].address):8080/"]).stdout
        #expect(visualizerPage.contains("<title>swarm visualizer</title>"), "swarm's own page: \(visualizerPage.prefix(300))")
        // Redeployed with an override file (one more web replica): only the web service changes, live on the board.
        let override = NSTemporaryDirectory() + "swarm-test-login-app-override-\(getpid()).yml"
        defer { unlink(override) }
        try "services:\n  web:\n    deploy:\n      replicas: 4\n".write(toFile: override, atomically: true, encoding: .utf8)
        let databaseTasks = runningTaskIDs(lab, "login_app_database"), visualizerTasks = runningTaskIDs(lab, "login_app_visualizer")
        let redeployed = lab.swarm("node1", ["stack", "deploy", "-c", file, "-c", override, "--resolve-image", "never", "login_app"],
                                   environment: ["SWARM_SOCKET": socket])
        ok(redeployed, "redeploy")
        #expect(redeployed.stdout.contains("Updating service login_app_web (id: "), "\(redeployed.stdout)")
        #expect(waitUntil(30) { state = board(); return boardTasks(state, webID).map { $0.tasks == 4 } ?? false }, "4 web tasks: \(state)")
        #expect(runningTaskIDs(lab, "login_app_database") == databaseTasks && runningTaskIDs(lab, "login_app_visualizer") == visualizerTasks,
                "the other services kept their tasks")

        // stack rm: every service and network of the stack, and nothing left on the nodes.
        let removed = lab.swarm("node1", "stack", "rm", "login_app")
        ok(removed, "stack rm")
        #expect(removed.stdout == """
            Removing service login_app_database
            Removing service login_app_visualizer
            Removing service login_app_web
            Removing network login_app_app
            Removing network login_app_default

            """, "\(removed.stdout)")
        #expect(waitUntil(30) { nodes.allSatisfy { lab.swarm($0.name, "container", "ls", "-a", "-q").stdout.isEmpty } })
        #expect(lab.swarm("node1", "network", "ls", "--format", "{{.Name}}").stdout.split(separator: "\n").allSatisfy { !$0.hasPrefix("login_app") })
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

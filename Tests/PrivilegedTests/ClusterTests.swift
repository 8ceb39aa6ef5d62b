import Containers
import Foundation
import Testing

/// A one-node swarm on this host: its own data/state dirs, cgroup parent
/// and cluster port; `leave --force` and the sandbox's clean-up remove all.
final class SwarmNode: @unchecked Sendable {
    let sandbox: Sandbox
    let port = freeLoopbackPort()

    init() throws { sandbox = try Sandbox() }

    deinit {
        _ = sandbox.cli("leave", "--force")
        sandbox.cleanUp()
    }

    var socket: String { sandbox.stateDir + "/swarm.sock" }

    @discardableResult
    func cli(_ arguments: String...) -> ProcessResult { cli(arguments) }

    func cli(_ arguments: [String]) -> ProcessResult {
        var environment = sandbox.environment
        environment["SWARM_HOST"] = "unix://" + socket
        environment["SWARM_CONVERGE_TIMEOUT"] = "20s"
        return runProcess(swarmBinary, arguments, environment: environment)
    }

    func initialize(heartbeat: String = "1s") throws -> ProcessResult {
        let result = cli("init", "--advertise-addr", "127.0.0.1", "--listen-addr", "127.0.0.1:\(port)", "--dispatcher-heartbeat", heartbeat)
        try #require(result.status == 0, "swarm init: \(result.stderr)")
        return result
    }

    /// Imports the busybox rootfs as busybox:latest.
    func importBusybox() throws {
        let tar = sandbox.dataDir + "-busybox.tar"
        defer { unlink(tar) }
        try #require(runProcess("/bin/tar", ["-C", busyboxRootfs, "-cf", tar, "."]).status == 0)
        let result = cli("image", "import", tar, "busybox:latest")
        try #require(result.status == 0, "image import: \(result.stderr)")
    }

    var daemonPID: pid_t { pid_t((try? String(contentsOfFile: sandbox.stateDir + "/swarmd.pid", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0 }

    /// Starts `swarm daemon` again (as systemd would), detached.
    func restartDaemon(_ arguments: [String] = []) throws {
        var environment = sandbox.environment
        environment["SWARM_HOST"] = "unix://" + socket
        let log = open(sandbox.stateDir + "/swarmd.log", O_WRONLY | O_APPEND | O_CREAT, 0o644)
        defer { close(log) }
        _ = try spawn("/usr/bin/setsid", [swarmBinary, "daemon"] + arguments, environment: environment, stdout: log, stderr: log)
        try #require(waitUntil(10) { self.cli("node", "ls").status == 0 }, "daemon did not come back")
    }

    /// The container's first process as the host sees it (never 0: kill(0) would hit the test).
    func containerPID(_ container: String) -> pid_t? {
        let json = cli("container", "inspect", container).stdout
        guard let list = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]],
              let state = list.first?["State"] as? [String: Any], let pid = state["Pid"] as? Int, pid > 1 else { return nil }
        return pid_t(pid)
    }

    func lines(_ arguments: String...) -> [String] {
        cli(arguments).stdout.split(separator: "\n").map(String.init)
    }
}

/// A TCP port nothing listens on now: the kernel picks it, so parallel
/// tests and other programs cannot collide with it.
func freeLoopbackPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
func isListening(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
}

/// Polls `condition` every 100 ms for up to `seconds`.
func waitUntil(_ seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(100_000)
    }
    return condition()
}

@Suite(.serialized)
struct ClusterTests {
    @Test(.enabled(if: isRoot, rootReason))
    func initMakesAManagerAndRefusesASecondInit() throws {
        let node = try SwarmNode()
        let output = try node.initialize().stdout
        #expect(output.hasPrefix("Swarm initialized: current node ("))
        #expect(output.contains(") is now a manager.\n\nTo add a worker to this swarm, run the following command:\n\n    swarm join --token SWMTKN-1-"))
        #expect(output.contains(" 127.0.0.1:\(node.port)\n"))
        let ls = node.lines("node", "ls")
        #expect(ls.first == "ID                            HOSTNAME   STATUS    AVAILABILITY   MANAGER STATUS   ENGINE VERSION")
        #expect(ls.count == 2 && ls[1].contains(" *   ") && ls[1].contains("Ready") && ls[1].contains("Active") && ls[1].contains("Leader"))
        // The same API on the cluster port, with this manager's certificate; -H before the command as Docker's.
        let overTCP = node.cli("-H", "tcp://127.0.0.1:\(node.port)", "node", "ls", "-q")
        #expect(overTCP.status == 0 && overTCP.stdout.count == 26, "\(overTCP.stderr)")
        let again = node.cli("init", "--advertise-addr", "127.0.0.1")
        #expect(again.status == 1)
        #expect(again.stderr == "swarm: Error response from daemon: This node is already part of a swarm. Use \"swarm leave\" to leave this swarm and join another one.\n")
        let token = node.cli("swarm", "join-token", "-q", "worker")
        #expect(token.status == 0 && token.stdout.hasPrefix("SWMTKN-1-") && token.stdout.count == 85 + 1)
        let rotated = node.cli("join-token", "--rotate", "-q", "worker")
        #expect(rotated.status == 0 && rotated.stdout != token.stdout)
    }

    @Test(.enabled(if: isRoot, rootReason))
    func serviceConvergesScalesAndReplacesAKilledTask() throws {
        let node = try SwarmNode()
        _ = try node.initialize()
        try node.importBusybox()
        let create = node.cli("service", "create", "--name", "web", "--replicas", "3", "--restart-delay", "0s", "--stop-grace-period", "1s",
                              "--update-monitor", "500ms", "busybox", "sleep", "1000")
        #expect(create.status == 0, "\(create.stderr)")
        #expect(create.stdout.contains("overall progress: 3 out of 3 tasks"))
        #expect(create.stdout.contains("verify: Service "))
        #expect(node.lines("service", "ls")[1].contains("3/3"))
        #expect(node.lines("container", "ls", "-q").count == 3)

        // A container killed from outside is replaced in its slot.
        let victim = node.lines("container", "ls", "-q")[0]
        let pid = try #require(node.containerPID(victim))
        #expect(kill(pid, SIGKILL) == 0)
        #expect(waitUntil(10) {
            node.cli("service", "ps", "web").stdout.contains("\"task: non-zero exit (137)\"")
                && node.lines("service", "ls").last?.contains("3/3") == true
        })
        let history = node.lines("service", "ps", "web")
        #expect(history.contains { $0.contains(" \\_ web.") && $0.contains("Failed") })

        // A service whose task keeps failing: its error is shown and the command gives up.
        var environment = node.sandbox.environment
        environment["SWARM_HOST"] = "unix://" + node.socket
        environment["SWARM_CONVERGE_TIMEOUT"] = "4s"
        let failing = runProcess(swarmBinary, ["service", "create", "--no-resolve-image", "--name", "bad", "--restart-delay", "500ms", "busybox", "false"],
                                 environment: environment)
        #expect(failing.status == 1)
        #expect(failing.stdout.contains("1/1: task: non-zero exit (1)"), "\(failing.stdout)")
        #expect(failing.stderr == "swarm: service bad did not converge within 4 s (0 of 1 tasks running: task: non-zero exit (1)); it keeps trying in the background: see swarm service ps bad\n", "\(failing.stderr)")
        #expect(node.cli("service", "rm", "bad").status == 0)

        let scaled = node.cli("service", "scale", "web=1")
        #expect(scaled.status == 0 && scaled.stdout.hasPrefix("web scaled to 1\n"), "\(scaled.stderr)")
        #expect(waitUntil(10) { node.lines("container", "ls", "-q").count == 1 })
        let removed = node.cli("service", "rm", "web")
        #expect(removed.stdout == "web\n")
        #expect(waitUntil(15) { node.lines("container", "ls", "-aq").isEmpty }, "\(node.cli("container", "ls", "-a").stdout)")
    }

    @Test(.enabled(if: isRoot, rootReason))
    func killedDaemonComesBackWithTheSameStateAndContainers() throws {
        let node = try SwarmNode()
        _ = try node.initialize()
        try node.importBusybox()
        #expect(node.cli("service", "create", "-d", "--name", "web", "--replicas", "2", "busybox", "sleep", "1000").status == 0)
        #expect(waitUntil(10) { node.lines("service", "ls").last?.contains("2/2") == true })
        let tasks = node.cli("service", "ps", "-q", "--no-trunc", "web").stdout
        let version = node.cli("service", "inspect", "--format", "{{.Version.Index}}", "web").stdout
        let containers = Set(node.lines("container", "ls", "-q"))

        #expect(node.daemonPID > 1 && kill(node.daemonPID, SIGKILL) == 0)
        usleep(300_000)
        try node.restartDaemon()
        #expect(waitUntil(5) { node.lines("service", "ls").last?.contains("2/2") == true })
        #expect(node.cli("service", "ps", "-q", "--no-trunc", "web").stdout == tasks)
        #expect(node.cli("service", "inspect", "--format", "{{.Version.Index}}", "web").stdout == version)
        #expect(Set(node.lines("container", "ls", "-q")) == containers)

        // An exit while the agent is away is reported when it is back, with its code.
        #expect(node.daemonPID > 1 && kill(node.daemonPID, SIGKILL) == 0)
        let victim = containers.first!
        let pid = try #require(node.containerPID(victim))
        #expect(kill(pid, SIGKILL) == 0)
        usleep(300_000)
        try node.restartDaemon()
        #expect(waitUntil(10) { node.cli("service", "ps", "web").stdout.contains("\"task: non-zero exit (137)\"") })
    }

    /// `swarm daemon` with no flags (a restart under systemd) serves the
    /// visualizer and metrics where `init` was told to; `""` turns one off.
    @Test(.enabled(if: isRoot, rootReason))
    func aRestartedDaemonKeepsItsListeners() throws {
        let node = try SwarmNode()
        let visualizer = freeLoopbackPort(), metrics = freeLoopbackPort()
        let result = node.cli("init", "--advertise-addr", "127.0.0.1", "--listen-addr", "127.0.0.1:\(node.port)",
                              "--visualizer-addr", "127.0.0.1:\(visualizer)", "--metrics-addr", "127.0.0.1:\(metrics)")
        try #require(result.status == 0, "\(result.stderr)")
        #expect(waitUntil(5) { isListening(visualizer) && isListening(metrics) })
        #expect(node.daemonPID > 1 && kill(node.daemonPID, SIGKILL) == 0)
        #expect(waitUntil(5) { !isListening(visualizer) })
        try node.restartDaemon()
        #expect(waitUntil(5) { isListening(visualizer) && isListening(metrics) }, "the listeners came back with the daemon")
        // Given empty, the metrics listener is off, and stays off at the next restart.
        #expect(node.daemonPID > 1 && kill(node.daemonPID, SIGKILL) == 0)
        #expect(waitUntil(5) { !isListening(visualizer) })
        try node.restartDaemon(["--metrics-addr", ""])
        #expect(waitUntil(5) { isListening(visualizer) })
        #expect(!isListening(metrics))
        #expect(node.daemonPID > 1 && kill(node.daemonPID, SIGKILL) == 0)
        #expect(waitUntil(5) { !isListening(visualizer) })
        try node.restartDaemon()
        #expect(waitUntil(5) { isListening(visualizer) })
        #expect(!isListening(metrics))
    }

    @Test(.enabled(if: isRoot, rootReason))
    func badInputIsRefusedAndChangesNothing() throws {
        let node = try SwarmNode()
        _ = try node.initialize()
        #expect(node.cli("service", "create", "-d", "--name", "web", "busybox", "sleep", "1000").status == 0)
        let before = node.cli("service", "inspect", "web").stdout
        let cases: [([String], String)] = [
            (["service", "create", "--bogus", "x", "busybox"], "Unknown option '--bogus'"),
            (["service", "create", "-d", "--constraint", "node.labels.zone~~x", "busybox"], "constraint expected one operator from ==, !="),
            (["service", "create", "-d", "--replicas", "-1", "busybox"], "--replicas"),
            (["service", "create", "-d", "--name", "web", "busybox"], "already exists"),
            (["service", "create", "-d", "--restart-condition", "sometimes", "busybox"], "--restart-condition"),
            (["service", "create", "-d", "--mode", "bogus", "busybox"], "--mode"),
            (["service", "create", "-d", "-p", "8080:http", "busybox"], "invalid containerPort: http"),
            (["service", "create", "-d", "--network", "app", "busybox"], "network app not found"),
            (["network", "create", "--driver=bridge", "app"], "network driver bridge is not supported"),
            (["network", "frob"], "unknown command: swarm network frob (see 'swarm network --help')"),
            (["service", "frob"], "unknown command: swarm service frob (see 'swarm service --help')"),
            (["service", "scale", "web=x"], "invalid replicas value x"),
            (["service", "scale", "nosuch=3"], "service nosuch not found"),
            (["node", "update", "--availability", "drain", "nosuchnode"], "node nosuchnode not found"),
            (["node", "update", "--availability", "bogus", "self"], "--availability"),
            (["service", "inspect", "nosuch"], "service nosuch not found"),
            (["service", "logs", "nosuch"], "no such task or service: nosuch"),
            (["events", "--since", "yesterday"], "invalid value for --since: yesterday"),
        ]
        for (arguments, message) in cases {
            let result = node.cli(arguments)
            #expect(result.status == 1, "\(arguments)")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(arguments): \(result.stderr)")
        }
        // A stale version is refused as Docker refuses it.
        let stale = runProcess("/usr/bin/curl", ["-s", "-o", "/dev/stdout", "-w", " %{http_code}", "--unix-socket", node.socket, "-X", "POST",
                                                 "-H", "Content-Type: application/json", "-d", "{\"Name\":\"web\",\"TaskTemplate\":{\"ContainerSpec\":{\"Image\":\"busybox:latest\"}},\"Mode\":{\"Replicated\":{\"Replicas\":5}}}",
                                                 "http://swarm/v1.41/services/web/update?version=1"])
        #expect(stale.stdout == "{\"message\":\"rpc error: code = Unknown desc = update out of sequence\"} 500")
        #expect(node.cli("service", "inspect", "web").stdout == before)
        #expect(node.lines("service", "ls").count == 2)
    }

    @Test(.enabled(if: isRoot, rootReason))
    func joinNeedsTheRightTokenAndCA() throws {
        let manager = try SwarmNode()
        _ = try manager.initialize()
        let token = manager.cli("join-token", "-q", "worker").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let other = try SwarmNode()
        let address = "127.0.0.1:\(manager.port)"

        let malformed = other.cli("join", "--token", "SWMTKN-1-bogus", address)
        #expect(malformed.status == 1 && malformed.stderr == "swarm: Error response from daemon: invalid join token\n")
        // The right CA digest, a wrong secret.
        let parts = token.split(separator: "-")
        let wrongSecret = "SWMTKN-1-\(parts[2])-\(String(repeating: "a", count: 25))"
        let refused = other.cli("join", "--token", wrongSecret, "--advertise-addr", "127.0.0.1", address)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("A valid join token is necessary to join this cluster"), "\(refused.stderr)")
        // Another swarm's token: its CA digest does not match this manager's CA.
        let stranger = try SwarmNode()
        _ = try stranger.initialize()
        let strangerToken = stranger.cli("join-token", "-q", "worker").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let wrongCA = other.cli("join", "--token", strangerToken, address)
        #expect(wrongCA.status == 1 && wrongCA.stderr.contains("remote CA does not match fingerprint. Expected: "), "\(wrongCA.stderr)")
        #expect(other.cli("node", "ls").status == 1)

        // A node certificate from another swarm's CA cannot talk to this
        // manager: the TLS handshake fails (curl: 35 or 56), while the
        // manager's own certificate is let through to the same endpoint.
        let foreign = stranger.sandbox.dataDir + "/swarm/certificates/"
        let own = manager.sandbox.dataDir + "/swarm/certificates/"
        func heartbeat(_ certificates: String) -> ProcessResult {
            runProcess("/usr/bin/curl", ["-sk", "-o", "/dev/null", "-w", "%{http_code}", "--cert", certificates + "swarm-node.crt",
                                         "--key", certificates + "swarm-node.key", "-X", "POST", "https://\(address)/agent/heartbeat"])
        }
        let refusedHandshake = heartbeat(foreign)
        #expect([35, 56].contains(refusedHandshake.status), "curl \(refusedHandshake.status): \(refusedHandshake.stdout)")
        let accepted = heartbeat(own)
        #expect(accepted.status == 0 && accepted.stdout == "200", "curl \(accepted.status): \(accepted.stdout)")

        // The right token joins (a second node on this host, on loopback).
        let joined = other.cli("join", "--token", token, "--advertise-addr", "127.0.0.1", address)
        #expect(joined.status == 0 && joined.stdout == "This node joined a swarm as a worker.\n", "\(joined.stderr)")
        #expect(waitUntil(10) { manager.lines("node", "ls").filter { $0.contains("Ready") }.count == 2 })
        let worker = other.cli("node", "ls")
        #expect(worker.status == 1 && worker.stderr.contains("This node is not a swarm manager."))

        // A node of the same swarm cannot pose as its manager: a TLS server
        // with the worker's own certificate is refused by name.
        let certificates = other.sandbox.dataDir + "/swarm/certificates/"
        let fakePort = freeLoopbackPort()
        let fake = try spawn("/usr/bin/openssl", ["s_server", "-quiet", "-accept", "127.0.0.1:\(fakePort)", "-www",
                                                  "-cert", certificates + "swarm-node.crt", "-key", certificates + "swarm-node.key"])
        defer { kill(fake, SIGTERM); waitFor(fake) }
        try #require(waitUntil(10) { isListening(fakePort) }, "openssl s_server did not listen")
        let posing = other.cli("-H", "tcp://127.0.0.1:\(fakePort)", "node", "ls")
        #expect(posing.status == 1 && posing.stderr.contains("certificate"), "\(posing.stdout)\(posing.stderr)")
        // The real manager, reached the same way with a manager's certificate, answers.
        let real = manager.cli("-H", "tcp://127.0.0.1:\(manager.port)", "node", "ls")
        #expect(real.status == 0 && real.stdout.contains("Leader"), "\(real.stderr)")
    }

    @Test(.enabled(if: isRoot, rootReason))
    func aWorkerGetsTheImageFromTheManagerWithoutARegistry() throws {
        let manager = try SwarmNode()
        _ = try manager.initialize()
        try manager.importBusybox()
        let token = manager.cli("join-token", "-q", "worker").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let worker = try SwarmNode()
        let joined = worker.cli("join", "--token", token, "--advertise-addr", "127.0.0.1", "127.0.0.1:\(manager.port)")
        try #require(joined.status == 0, "\(joined.stderr)")
        #expect(worker.cli("image", "ls", "-q").stdout.isEmpty)
        let create = manager.cli("service", "create", "-d", "--name", "onworker", "--constraint", "node.role==worker",
                                 "--replicas", "2", "busybox", "sleep", "1000")
        #expect(create.status == 0, "\(create.stderr)")
        #expect(waitUntil(20) { manager.lines("service", "ls").last?.contains("2/2") == true }, "\(manager.cli("service", "ps", "--no-trunc", "onworker").stdout)")
        #expect(worker.lines("container", "ls", "-q").count == 2)
        #expect(manager.lines("container", "ls", "-q").isEmpty)
        // The same bits: the worker's copy has the manager's image ID.
        #expect(worker.cli("image", "ls", "-q").stdout == manager.cli("image", "ls", "-q").stdout)
        #expect(manager.cli("service", "rm", "onworker").status == 0)
        #expect(waitUntil(20) { worker.lines("container", "ls", "-aq").isEmpty })
    }

    @Test(.enabled(if: isRoot, rootReason))
    func serviceImagesArePinnedToTheRegistryDigest() throws {
        let registry = try TestRegistry()
        #expect(registry.push(layout: "busybox", tag: "latest", as: "tools/busybox:latest").status == 0)
        let node = try SwarmNode()
        _ = try node.initialize()
        let image = "\(registry.host)/tools/busybox:latest"
        let create = node.cli("service", "create", "-d", "--name", "pinned", "--stop-grace-period", "1s", image, "sleep", "1000")
        #expect(create.status == 0 && create.stderr.isEmpty, "\(create.stderr)")
        let digest = try #require(imageFact("busybox", "manifest_digest") as? String)
        #expect(node.cli("service", "inspect", "--format", "{{.Spec.TaskTemplate.ContainerSpec.Image}}", "pinned").stdout == "\(image)@\(digest)\n")
        // The task runs from the image pulled by that digest; ls shows it without the digest.
        #expect(waitUntil(20) { node.lines("service", "ls").last?.contains("1/1") == true }, "\(node.cli("service", "ps", "--no-trunc", "pinned").stdout)")
        #expect(node.lines("service", "ls").last?.contains(" \(image) ") == true)
        // Without a registry to answer: Docker's warning, and no digest.
        let unpinned = node.cli("service", "create", "-d", "--name", "local", "nosuch.invalid/busybox", "true")
        #expect(unpinned.status == 0)
        #expect(unpinned.stderr.hasPrefix("image nosuch.invalid/busybox:latest could not be accessed on a registry to record\nits digest."), "\(unpinned.stderr)")
    }
}

import Foundation
import Testing

private let etcdInstalled = ["/usr/bin/etcd", "/usr/local/bin/etcd"].contains { FileManager.default.isExecutableFile(atPath: $0) }

/// A one-node swarm whose manager keeps its state in an external etcd
/// (`swarm init --store`), run by Tests/fixtures/etcd/start-etcd.
struct EtcdManagerTests {
    static let scripts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fixtures/etcd").path

    @Test(.enabled(if: isRoot, rootReason), .enabled(if: etcdInstalled, "etcd is not installed (apt-get install -y etcd-server)"))
    func aManagerOnEtcdComesBackAfterKill9WithItsServiceAndTasks() throws {
        let etcdDir = NSTemporaryDirectory() + "swarm-test-etcd-\(UUID().uuidString.prefix(8))"
        defer { runProcess(Self.scripts + "/stop-etcd", [etcdDir]) }
        let started = runProcess(Self.scripts + "/start-etcd", [etcdDir])
        let port = try #require(started.stdout.split(separator: " ").first.flatMap { Int($0) }, "start-etcd: \(started.stderr)")

        let node = try SwarmNode()
        let bad = node.cli("init", "--store", "etcd:/127.0.0.1")
        #expect(bad.status == 1 && bad.stderr.contains("use etcd://HOST:PORT"))
        let result = node.cli("init", "--advertise-addr", "127.0.0.1", "--listen-addr", "127.0.0.1:\(node.port)",
                              "--dispatcher-heartbeat", "1s", "--store", "etcd://127.0.0.1:\(port)")
        try #require(result.status == 0, "swarm init --store: \(result.stderr)")
        // The state is in etcd, not in the data dir.
        #expect(!FileManager.default.fileExists(atPath: node.sandbox.dataDir + "/swarm/state.db"))
        try node.importBusybox()
        #expect(node.cli("service", "create", "-d", "--name", "web", "--replicas", "2", "busybox", "sleep", "1000").status == 0)
        #expect(waitUntil(15) { node.lines("service", "ls").last?.contains("2/2") == true })
        let tasks = node.cli("service", "ps", "-q", "--no-trunc", "web").stdout
        let version = node.cli("service", "inspect", "--format", "{{.Version.Index}}", "web").stdout
        let containers = Set(node.lines("container", "ls", "-q"))
        #expect(!tasks.isEmpty && containers.count == 2)

        #expect(node.daemonPID > 1 && kill(node.daemonPID, SIGKILL) == 0)
        try node.restartDaemon()
        #expect(waitUntil(10) { node.lines("service", "ls").last?.contains("2/2") == true })
        #expect(node.cli("service", "ps", "-q", "--no-trunc", "web").stdout == tasks)
        #expect(node.cli("service", "inspect", "--format", "{{.Version.Index}}", "web").stdout == version)
        #expect(Set(node.lines("container", "ls", "-q")) == containers)
        // And it goes on changing state there.
        #expect(node.cli("service", "scale", "-d", "web=3").status == 0)
        #expect(waitUntil(15) { node.lines("service", "ls").last?.contains("3/3") == true })
        #expect(!FileManager.default.fileExists(atPath: node.sandbox.dataDir + "/swarm/state.db"))
    }

    @Test(.enabled(if: isRoot, rootReason), .enabled(if: etcdInstalled, "etcd is not installed (apt-get install -y etcd-server)"))
    func aManagerReachesAnExternalEtcdWithItsOwnCAOverTLS() throws {
        let etcdDir = NSTemporaryDirectory() + "swarm-test-etcd-\(UUID().uuidString.prefix(8))"
        let tlsDir = etcdDir + "-tls"
        defer {
            runProcess(Self.scripts + "/stop-etcd", [etcdDir])
            try? FileManager.default.removeItem(atPath: tlsDir)
        }
        let made = runProcess(Self.scripts + "/make-tls", [tlsDir])
        try #require(made.status == 0, "make-tls: \(made.stderr)")
        let started = runProcess(Self.scripts + "/start-etcd", [etcdDir, tlsDir])
        let port = try #require(started.stdout.split(separator: " ").first.flatMap { Int($0) }, "start-etcd: \(started.stderr)")
        let store = "etcd://127.0.0.1:\(port)"
        let tls = ["--store-cacert", tlsDir + "/ca.crt", "--store-cert", tlsDir + "/member.crt", "--store-key", tlsDir + "/member.key"]

        let node = try SwarmNode()
        let address = ["--advertise-addr", "127.0.0.1", "--listen-addr", "127.0.0.1:\(node.port)", "--dispatcher-heartbeat", "1s"]
        let withoutStore = node.cli(["init"] + address + tls)
        #expect(withoutStore.status == 1 && withoutStore.stderr.contains("need --store"))
        let withoutKey = node.cli(["init"] + address + ["--store", store, "--store-cert", tlsDir + "/member.crt"])
        #expect(withoutKey.status == 1 && withoutKey.stderr.contains("--store-cert and --store-key go together"))
        // Plain HTTP to an etcd that speaks TLS: a one-line error, no swarm.
        let plain = node.cli(["init"] + address + ["--store", store])
        #expect(plain.status == 1 && plain.stderr.contains("cannot open the swarm's state"))
        #expect(!FileManager.default.fileExists(atPath: node.sandbox.dataDir + "/swarm/node.json"))

        let result = node.cli(["init"] + address + ["--store", store] + tls)
        try #require(result.status == 0, "swarm init --store with TLS: \(result.stderr)")
        let saved = try String(contentsOfFile: node.sandbox.dataDir + "/swarm/node.json", encoding: .utf8)
        #expect(saved.contains("member.crt") && saved.contains("ca.crt"))
        #expect(!FileManager.default.fileExists(atPath: node.sandbox.dataDir + "/swarm/state.db"))
        try node.importBusybox()
        #expect(node.cli("service", "create", "-d", "--name", "web", "busybox", "sleep", "1000").status == 0)
        #expect(waitUntil(15) { node.lines("service", "ls").last?.contains("1/1") == true })
        let tasks = node.cli("service", "ps", "-q", "--no-trunc", "web").stdout
        // Restarted, the daemon reads the TLS files from node.json.
        #expect(node.daemonPID > 1 && kill(node.daemonPID, SIGKILL) == 0)
        try node.restartDaemon()
        #expect(waitUntil(10) { node.lines("service", "ls").last?.contains("1/1") == true })
        #expect(node.cli("service", "ps", "-q", "--no-trunc", "web").stdout == tasks)
    }
}

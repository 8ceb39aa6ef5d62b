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
}

import ClusterStore
import ClusterTLS
import CRuntime
@testable import EtcdMember
@testable import EtcdStore
import Foundation
import Glibc
import SwarmAPI
import Testing

/// Managers' own etcd members (`EtcdMember`) over TLS from one cluster CA,
/// and membership changes through `EtcdClient`. Each member runs on a
/// loopback address of its own (127.0.0.x), in a temporary directory.
@Suite(.enabled(if: etcdInstalled, etcdReason))
struct EtcdMemberTests {
    let now = Timestamp(nanoseconds: 1_700_000_000_000_000_000)

    @Test func aKilledMemberIsStartedAgainWithItsDataAndStopsWhenCancelled() async throws {
        try await withMembers { made in
            let member = try await made.make("a", "127.0.0.21", [], .new)
            try await member.start()
            let first = try #require(await member.pid)
            let client = EtcdClient(endpoints: [member.configuration.clientURLs[0]], tls: try member.configuration.tls.clientConfiguration())
            defer { Task { await client.shutdown() } }
            let store = try await EtcdStore.open(client: client, cluster: "c1")
            var batch = StoreBatch(now: now)
            batch.put(TemporaryStore.service("web"))
            try await store.commit(batch)
            await store.close()

            let supervision = Task { await member.run() }
            kill(first, SIGKILL)
            // Started again (same flags: etcd finds its data and ignores the initial cluster)…
            let second = try await eventually { () -> pid_t? in
                guard let pid = await member.pid, pid != first,
                      await member.client.isHealthy(endpoint: member.configuration.localClientURL) else { return nil }
                return pid
            }
            let reopened = try await EtcdStore.open(client: client, cluster: "c1")
            #expect(await reopened.all(Service.self).map(\.spec.name) == ["web"])
            await reopened.close()
            // …with its output appended to the log in its directory.
            let log = try String(contentsOfFile: member.configuration.logFile, encoding: .utf8)
            #expect(log.components(separatedBy: "\"msg\":\"starting an etcd server\"").count - 1 == 2)
            // Cancelled: it stops.
            supervision.cancel()
            await supervision.value
            #expect(await member.pid == nil)
            #expect(kill(second, 0) != 0)
        }
    }

    @Test func membersAddedAndRemovedThroughTheGatewayFormOneClusterOverTLS() async throws {
        try await withMembers { made in
            let a = try await made.make("a", "127.0.0.11", [], .new)
            try await a.start()
            let clientA = EtcdClient(endpoints: [a.configuration.clientURLs[0]], tls: try a.configuration.tls.clientConfiguration())
            defer { Task { await clientA.shutdown() } }

            /// Adds a member through A, then starts it with the initial cluster etcd gave back.
            func join(_ name: String, _ ip: String) async throws -> EtcdMember {
                let peerURL = try await made.peerURL(name, ip)
                let (added, members) = try await clientA.addMember(peerURLs: [peerURL])
                #expect(added.peerURLs == [peerURL] && members.contains(added))
                let cluster = members.flatMap { $0.initialClusterEntries(name: $0.id == added.id ? name : nil) }
                let member = try await made.make(name, ip, cluster, .existing)
                try await member.start()
                return member
            }
            let b = try await join("b", "127.0.0.12")
            let c = try await join("c", "127.0.0.13")
            let members = try await clientA.members()
            #expect(Set(members.map(\.name)) == ["a", "b", "c"])

            // Each endpoint: one cluster, one leader.
            var statuses: [EtcdStatus] = []
            for member in [a, b, c] { statuses.append(try await clientA.status(endpoint: member.configuration.clientURLs[0])) }
            #expect(Set(statuses.map(\.clusterID)).count == 1 && Set(statuses.map(\.leader)).count == 1)
            #expect(statuses[0].leader != 0 && Set(statuses.map(\.memberID)) == Set(members.map(\.id)))

            // Stores on A and on C see each other's commits.
            let clientC = EtcdClient(endpoints: [c.configuration.clientURLs[0]], tls: try c.configuration.tls.clientConfiguration())
            defer { Task { await clientC.shutdown() } }
            let storeA = try await EtcdStore.open(client: clientA, cluster: "s")
            let storeC = try await EtcdStore.open(client: clientC, cluster: "s")
            defer { Task { await storeA.close(); await storeC.close() } }
            var onA = StoreBatch(now: now)
            onA.put(TemporaryStore.service("from-a"))
            try await storeA.commit(onA)
            var onC = StoreBatch(now: now)
            onC.put(TemporaryStore.service("from-c"))
            try await storeC.commit(onC)
            for store in [storeA, storeC] {
                let names = try await eventually { () -> Set<String>? in
                    let names = Set(await store.all(Service.self).map(\.spec.name))
                    return names.count == 2 ? names : nil
                }
                #expect(names == ["from-a", "from-c"])
            }

            // One of three killed: the others still commit.
            let pidB = try #require(await b.pid)
            kill(pidB, SIGKILL)
            var during = StoreBatch(now: now)
            during.put(TemporaryStore.service("while-b-is-down"))
            #expect(try await storeA.commit(during) > 0)
            // Started again, it catches up (its data is there: the initial cluster is ignored).
            _ = try await eventually { kill(pidB, 0) != 0 ? true : nil }
            try await b.start()
            let supervisionB = Task { await b.run() }

            // Removed, it leaves the cluster, its process ends and is not started again.
            let idB = try #require(members.first { $0.name == "b" }?.id)
            let pidB2 = try #require(await b.pid)
            try await clientA.removeMember(id: idB)
            #expect(Set(try await clientA.members().map(\.name)) == ["a", "c"])
            _ = try await eventually(timeout: .seconds(20)) { await b.removed ? true : nil }
            await supervisionB.value
            let pidAfterRemoval = await b.pid
            #expect(kill(pidB2, 0) != 0 && pidAfterRemoval == nil)
            var after = StoreBatch(now: now)
            after.put(TemporaryStore.service("after-removal"))
            #expect(try await storeC.commit(after) > 0)
        }
    }

    /// What makes a member die with swarmd: the parent-death signal, sent
    /// when the thread that forked the child ends (here a thread that ends at once).
    @Test func aSupervisedChildIsKilledWhenTheThreadThatForkedItEnds() async throws {
        let pid = await withCheckedContinuation { (done: CheckedContinuation<pid_t, Never>) in
            Thread.detachNewThread {
                let argv: [UnsafeMutablePointer<CChar>?] = [strdup("sleep"), strdup("100"), nil]
                let envp: [UnsafeMutablePointer<CChar>?] = [nil]
                defer { argv.forEach { free($0) } }
                done.resume(returning: crt_spawn_supervised("/bin/sleep", argv, envp, 2, SIGKILL))
            }
        }
        #expect(pid > 0)
        let status = await SupervisedChild.waitForExit(pid)
        #expect(SupervisedChild.describe(status) == "signal 9")
        // A program that cannot be run is an error, not a child.
        await #expect(throws: SupervisedChild.Failure.self) {
            _ = try await SupervisedChild.spawn("/nonexistent/etcd", ["etcd"], environment: [:], output: 2)
        }
    }

    @Test func portsFollowTheClusterPort() {
        #expect(EtcdMemberConfiguration.ports(clusterPort: 2377) == (2379, 2380))
    }

    // MARK: - Helpers

    /// Members made by `body` get TLS files from one CA and free ports; all
    /// are stopped and their directories removed when it returns or throws.
    private func withMembers(_ body: (MadeMembers) async throws -> Void) async throws {
        let root = NSTemporaryDirectory() + "swarm-test-etcd-members-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let made = MadeMembers(root: root, ca: try RootCA.create())
        do {
            try await body(made)
        } catch {
            await made.shutdown()
            try? FileManager.default.removeItem(atPath: root)
            throw error
        }
        await made.shutdown()
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Polls `check` until it returns a value (every 100 ms, up to `timeout`).
    private func eventually<T>(timeout: Duration = .seconds(30), _ check: () async throws -> T?) async throws -> T {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let value = try await check() { return value }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw EtcdError.unavailable("condition not met within \(timeout)")
    }
}

/// The members a test made (stopped at its end) and their ports.
actor MadeMembers {
    let root: String
    let ca: RootCA
    private var all: [EtcdMember] = []
    private var portsByName: [String: (client: Int, peer: Int)] = [:]

    init(root: String, ca: RootCA) {
        self.root = root
        self.ca = ca
    }

    /// A member (not started) named `name` on `ip`; `cluster` empty: it alone.
    func make(_ name: String, _ ip: String, _ cluster: [String], _ state: EtcdMemberConfiguration.ClusterState) throws -> EtcdMember {
        let directory = "\(root)/\(name)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let ports = try ports(name)
        let tls = try EtcdTLSFiles.write(ca: ca, nodeID: name, ipAddresses: [ip], to: directory + "/tls")
        var configuration = EtcdMemberConfiguration(
            name: name, directory: directory + "/etcd", advertiseIP: ip, clientPort: ports.client, peerPort: ports.peer,
            initialCluster: [], state: state, tls: tls, clusterToken: "test")
        configuration.initialCluster = cluster.isEmpty ? [configuration.initialClusterEntry] : cluster
        let member = try EtcdMember(configuration)
        all.append(member)
        return member
    }

    func peerURL(_ name: String, _ ip: String) throws -> String {
        "https://\(ip):\(try ports(name).peer)"
    }

    private func ports(_ name: String) throws -> (client: Int, peer: Int) {
        if let ports = portsByName[name] { return ports }
        let ports = (try freePort(), try freePort())
        portsByName[name] = ports
        return ports
    }

    func shutdown() async {
        for member in all { await member.shutdown() }
    }
}

/// A port the kernel says is free on loopback now.
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw EtcdError.unavailable("socket: errno \(errno)") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound else { throw EtcdError.unavailable("bind: errno \(errno)") }
    return Int(UInt16(bigEndian: address.sin_port))
}

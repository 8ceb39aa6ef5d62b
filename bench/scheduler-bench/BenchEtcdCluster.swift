import ClusterTLS
import EtcdMember
import EtcdStore
import Foundation
import Glibc

/// Three etcd members on loopback, each as a manager runs its own
/// (`EtcdMember` with the `EtcdMemberConfiguration` LocalEtcd makes: the
/// same flags, TLS from a cluster CA, client certificates required), on
/// free ports, their data in a temporary directory removed by `stop()`.
struct BenchEtcdCluster {
    let root: String
    let members: [EtcdMember]
    let clusterID: String

    static func start(count: Int = 3, clusterID: String) async throws -> BenchEtcdCluster {
        let root = NSTemporaryDirectory() + "swarm-bench-etcd-\(getpid())"
        try? FileManager.default.removeItem(atPath: root)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        BenchCleanup.removeOnExit(root)
        let ca = try RootCA.create()
        var configurations: [EtcdMemberConfiguration] = []
        var taken: Set<Int> = []
        func port() throws -> Int {
            while true { let port = try freePort(); if taken.insert(port).inserted { return port } }
        }
        for index in 1...count {
            let name = "manager-\(index)"
            let directory = "\(root)/\(name)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let tls = try EtcdTLSFiles.write(ca: ca, nodeID: name, ipAddresses: ["127.0.0.1"], to: directory + "/tls")
            configurations.append(EtcdMemberConfiguration(
                name: name, directory: directory + "/etcd", advertiseIP: "127.0.0.1", clientPort: try port(), peerPort: try port(),
                initialCluster: [], state: .new, tls: tls, clusterToken: clusterID))
        }
        let initialCluster = configurations.map(\.initialClusterEntry)
        var members: [EtcdMember] = []
        for var configuration in configurations {
            configuration.initialCluster = initialCluster
            members.append(try EtcdMember(configuration))
        }
        let cluster = BenchEtcdCluster(root: root, members: members, clusterID: clusterID)
        // Each is healthy once the cluster has a leader: they start together.
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for member in members { group.addTask { try await member.start(timeout: .seconds(60)) } }
                try await group.waitForAll()
            }
        } catch {
            await cluster.stop()
            throw error
        }
        for member in members { if let pid = await member.pid { BenchCleanup.killOnExit(pid) } }
        return cluster
    }

    /// The client the leading manager uses: its own member's loopback URL, as LocalEtcd opens it.
    func leaderClient() throws -> EtcdClient {
        let configuration = members[0].configuration
        return EtcdClient(endpoints: [configuration.localClientURL], tls: try configuration.tls.clientConfiguration())
    }

    /// The members' resident memory, summed (MiB).
    func rssMiB() async -> Double {
        var total = 0.0
        for member in members { if let pid = await member.pid { total += residentMiB(pid: pid) } }
        return total
    }

    func stop() async {
        for member in members {
            if let pid = await member.pid { BenchCleanup.forget(pid) }
            await member.shutdown()
        }
        try? FileManager.default.removeItem(atPath: root)
        BenchCleanup.forget(root)
    }
}

/// Resident memory of a process (MiB), from /proc.
func residentMiB(pid: pid_t?) -> Double {
    let path = pid.map { "/proc/\($0)/status" } ?? "/proc/self/status"
    let status = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
    return Double(line.split(separator: " ").dropFirst().first ?? "0").map { $0 / 1024 } ?? 0
}

/// A port the kernel says is free on loopback now.
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw BenchError("socket: errno \(errno)") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound else { throw BenchError("bind: errno \(errno)") }
    return Int(UInt16(bigEndian: address.sin_port))
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

import ClusterTLS
import EtcdMember
import EtcdStore
import FoundationEssentials
import SwarmCLI
import SystemCalls

/// This manager's member of the managers' own etcd (several managers and
/// no external `--store`): its files in `<data-dir>/swarm/etcd`, its ports
/// from the cluster port (2379 and 2380 beside 2377).
enum LocalEtcd {
    static func directory(_ dataDir: String) -> String { NodeConfig.directory(dataDir) + "/etcd" }
    static func tls(_ dataDir: String) -> EtcdTLSFiles { EtcdTLSFiles(directory: directory(dataDir) + "/tls") }

    /// Whether this host can run a member (Debian's etcd-server).
    static var installed: Bool {
        ["/usr/bin/etcd", "/usr/local/bin/etcd"].contains { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static func host(_ addr: String) -> String { String(addr.split(separator: ":").first ?? "") }

    /// The cluster port in `ip:port` (2377 without one).
    static func clusterPort(_ addr: String) -> Int { addr.split(separator: ":").last.flatMap { Int($0) } ?? 2377 }

    /// The peer URL of a manager listening at `addr` (its cluster address).
    static func peerURL(ofManagerAt addr: String) -> String {
        "https://\(host(addr)):\(EtcdMemberConfiguration.ports(clusterPort: clusterPort(addr)).peer)"
    }

    static func configuration(_ config: NodeConfig, dataDir: String, member: LocalEtcdMember) -> EtcdMemberConfiguration {
        let ports = EtcdMemberConfiguration.ports(clusterPort: clusterPort(config.listenAddr ?? config.advertiseAddr))
        var configuration = EtcdMemberConfiguration(
            name: config.nodeID, directory: directory(dataDir), advertiseIP: host(config.advertiseAddr),
            clientPort: ports.client, peerPort: ports.peer, initialCluster: member.initialCluster,
            state: member.state == "new" ? .new : .existing, tls: tls(dataDir), clusterToken: config.clusterID)
        configuration.forceNewCluster = config.forceNewCluster == true
        return configuration
    }

    /// The member's certificate, from the CA key every manager has.
    static func writeTLS(ca: RootCA, nodeID: String, advertiseAddr: String, dataDir: String) throws {
        try FileManager.default.createDirectory(atPath: directory(dataDir), withIntermediateDirectories: true)
        try EtcdTLSFiles.write(ca: ca, nodeID: nodeID, ipAddresses: [host(advertiseAddr)], to: directory(dataDir) + "/tls")
    }

    /// A node becoming a manager of a swarm whose state is in the managers'
    /// etcd: its member's certificate (from the CA key it was given), and
    /// how its member joins. What a member of an earlier membership left goes.
    static func prepareMember(_ config: inout NodeConfig, initialCluster: [String], ca: RootCA, dataDir: String) throws {
        try? FileManager.default.removeItem(atPath: directory(dataDir))
        try writeTLS(ca: ca, nodeID: config.nodeID, advertiseAddr: config.advertiseAddr, dataDir: dataDir)
        config.etcdMember = LocalEtcdMember(initialCluster: initialCluster, state: "existing")
    }

    /// Starts the member (it waits for a majority of the members: the other
    /// managers' daemons start theirs meanwhile) and opens the state in it.
    static func open(_ config: NodeConfig, dataDir: String, member: LocalEtcdMember) async throws -> (EtcdMember, EtcdStore) {
        let configuration = configuration(config, dataDir: dataDir, member: member)
        let process = try EtcdMember(configuration)
        // A new member learns the cluster from the others and exits when
        // none answers yet (the manager that added it may be starting again): try for a while.
        let deadline = ContinuousClock.now + .seconds(90)
        while true {
            do {
                try await process.start(timeout: deadline - ContinuousClock.now)
                break
            } catch EtcdMemberError.exited where ContinuousClock.now < deadline - .seconds(1) {
                try await Task.sleep(for: .seconds(1))
            } catch {
                await process.shutdown()
                throw RuntimeError.badInput("this manager's etcd member did not start: \(error) (log: \(configuration.logFile))")
            }
        }
        let client = EtcdClient(endpoints: [configuration.localClientURL], tls: try tls(dataDir).clientConfiguration())
        do {
            return (process, try await EtcdStore.open(client: client, cluster: config.clusterID))
        } catch {
            await client.shutdown()
            await process.shutdown()
            throw RuntimeError.badInput("cannot open the swarm's state in this manager's etcd member: \(error)")
        }
    }
}

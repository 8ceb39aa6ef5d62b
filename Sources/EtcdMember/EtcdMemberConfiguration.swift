import ClusterTLS

/// How one manager's etcd member runs: its name, where it keeps its data,
/// the addresses it serves, the cluster it starts or joins, its TLS files.
public struct EtcdMemberConfiguration: Sendable, Equatable {
    /// `--initial-cluster-state`: `new` for the first member of a cluster,
    /// `existing` for one added with `EtcdClient.addMember` (ignored by etcd
    /// once the member has data: a restart rejoins by what it stored).
    public enum ClusterState: String, Sendable { case new, existing }

    /// The member's name: the manager's node ID.
    public var name: String
    /// Everything of the member: etcd's data in `data/`, its output in `etcd.log`
    /// (a manager passes `<data-dir>/swarm/etcd`).
    public var directory: String
    /// The address the other members and managers reach this one on.
    public var advertiseIP: String
    public var clientPort: Int
    public var peerPort: Int
    /// `name=peerURL` of every member, this one included.
    public var initialCluster: [String]
    public var state: ClusterState
    public var tls: EtcdTLSFiles
    /// `--initial-cluster-token`: the cluster ID, so that members of two
    /// swarms never take each other's messages.
    public var clusterToken: String
    /// A path, or a name looked up in PATH.
    public var executable: String = "etcd"
    /// Raft's timing. A follower calls an election after `electionTimeout`
    /// (to twice that) without hearing from the leader, and etcd takes no
    /// request meanwhile: the swarm leader's lease keepalives with it. Half
    /// of etcd's defaults (100 and 1000 ms), still ten times the round trip
    /// of a LAN, so a dead raft leader costs under a second and the swarm
    /// leader's 3 s lease is kept alive through it.
    public var heartbeatInterval: Duration = .milliseconds(50)
    public var electionTimeout: Duration = .milliseconds(500)
    /// `--force-new-cluster`: the member starts a cluster of itself alone
    /// from its data (`swarm init --force-new-cluster`, the peers lost).
    public var forceNewCluster = false

    public init(name: String, directory: String, advertiseIP: String, clientPort: Int, peerPort: Int,
                initialCluster: [String], state: ClusterState, tls: EtcdTLSFiles, clusterToken: String) {
        self.name = name
        self.directory = directory
        self.advertiseIP = advertiseIP
        self.clientPort = clientPort
        self.peerPort = peerPort
        self.initialCluster = initialCluster
        self.state = state
        self.tls = tls
        self.clusterToken = clusterToken
    }

    /// A manager's etcd ports from its cluster port (2377 by default): the
    /// client port 2 above it, the peer port 3 above (2379 and 2380, etcd's own).
    public static func ports(clusterPort: Int) -> (client: Int, peer: Int) {
        (clusterPort + 2, clusterPort + 3)
    }

    public var peerURL: String { "https://\(Self.host(advertiseIP)):\(peerPort)" }
    /// What the member serves clients on: the advertise address, and loopback for the manager beside it.
    public var clientURLs: [String] {
        let advertised = "https://\(Self.host(advertiseIP)):\(clientPort)"
        return advertised == localClientURL ? [advertised] : [advertised, localClientURL]
    }
    /// The client URL the manager on the same node uses.
    public var localClientURL: String { "https://127.0.0.1:\(clientPort)" }
    /// `name=peerURL` of this member: its entry in an initial cluster.
    public var initialClusterEntry: String { "\(name)=\(peerURL)" }

    public var dataDirectory: String { directory + "/data" }
    public var logFile: String { directory + "/etcd.log" }

    /// etcd's command line (without the program).
    public var arguments: [String] {
        func milliseconds(_ duration: Duration) -> String {
            let (seconds, attoseconds) = duration.components
            return String(seconds * 1000 + attoseconds / 1_000_000_000_000_000)
        }
        return [
            "--name", name,
            "--data-dir", dataDirectory,
            "--listen-peer-urls", peerURL,
            "--initial-advertise-peer-urls", peerURL,
            "--listen-client-urls", clientURLs.joined(separator: ","),
            "--advertise-client-urls", clientURLs[0],
            "--initial-cluster", initialCluster.joined(separator: ","),
            "--initial-cluster-state", state.rawValue,
            "--initial-cluster-token", clusterToken,
            // Clients and peers: TLS from the swarm's etcd CA, certificates required.
            "--cert-file", tls.certificateFile, "--key-file", tls.keyFile,
            "--trusted-ca-file", tls.caFile, "--client-cert-auth",
            "--peer-cert-file", tls.certificateFile, "--peer-key-file", tls.keyFile,
            "--peer-trusted-ca-file", tls.caFile, "--peer-client-cert-auth",
            // One commit of the manager can change thousands of tasks.
            "--max-txn-ops", "100000", "--max-request-bytes", "67108864",
            "--heartbeat-interval", milliseconds(heartbeatInterval),
            "--election-timeout", milliseconds(electionTimeout),
            // A member back from a partition does not depose a working leader.
            "--pre-vote",
            // History older than 5 minutes goes (EtcdStore reloads a watch compacted away).
            "--auto-compaction-mode", "periodic", "--auto-compaction-retention", "5m",
            // etcd's suggested ceiling, instead of its 2 GiB default.
            "--quota-backend-bytes", String(8 << 30),
            "--logger", "zap", "--log-outputs", "stderr",
        ] + (forceNewCluster ? ["--force-new-cluster"] : [])
    }

    static func host(_ ip: String) -> String { ip.contains(":") ? "[\(ip)]" : ip }
}

import FoundationEssentials
import Glibc
import SwarmAPI
import SystemCalls

/// What a node keeps about its membership, in `<data-dir>/swarm/`:
/// node.json, certificates/ (CA, node certificate and key), and on a
/// manager ca.key and state.db.
public struct NodeConfig: Codable, Sendable {
    public var nodeID: String
    public var clusterID: String
    public var role: NodeRole
    /// Where the agent reached a manager first (ip:port): the address it
    /// joined at, then the first of `managers` (what older node.json files have).
    public var managerAddr: String
    /// Every manager the agent was told of (ip:port), the leader first as
    /// last told; nil in a node.json written before the list was kept.
    public var managers: [String]?
    public var advertiseAddr: String
    /// Manager only: where the cluster port listens (ip:port).
    public var listenAddr: String?
    /// Manager only: `etcd://…` when the state is kept in an external etcd (`init --store`), nil for SQLite.
    public var store: String?
    /// Manager only: this manager runs a member of the managers' own etcd
    /// (more than one manager and no `store`), in `<data-dir>/swarm/etcd`.
    public var etcdMember: LocalEtcdMember?
    /// Set by `init --force-new-cluster` until the daemon leads alone (the other managers demoted).
    public var forceNewCluster: Bool?
    /// With `store`: the TLS files to reach it with (`init --store-cacert/--store-cert/--store-key`); nil: plain HTTP.
    public var storeTLS: StoreTLSPaths?
    /// The daemon's plain-HTTP listeners as last given (see `DaemonListenOptions.remember`).
    public var visualizerAddr: String?
    public var metricsAddr: String?

    public init(nodeID: String, clusterID: String, role: NodeRole, managerAddr: String, advertiseAddr: String, listenAddr: String?) {
        self.nodeID = nodeID
        self.clusterID = clusterID
        self.role = role
        self.managerAddr = managerAddr
        self.advertiseAddr = advertiseAddr
        self.listenAddr = listenAddr
    }

    /// The managers to try, in order: the list when known, else the one address.
    public var knownManagers: [String] { managers.flatMap { $0.isEmpty ? nil : $0 } ?? [managerAddr] }

    /// Keeps a list a manager sent; false when it is the one already kept (nothing to save).
    public mutating func remember(managers list: [String]) -> Bool {
        guard !list.isEmpty, list != managers else { return false }
        managers = list
        managerAddr = list[0]
        return true
    }

    public static func directory(_ dataDir: String) -> String { dataDir + "/swarm" }
    public static func certificates(_ dataDir: String) -> String { directory(dataDir) + "/certificates" }

    public static func load(_ dataDir: String) throws -> NodeConfig? {
        guard let data = FileManager.default.contents(atPath: directory(dataDir) + "/node.json") else { return nil }
        return try JSONDecoder().decode(NodeConfig.self, from: data)
    }

    public func save(_ dataDir: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try writeFileAtomically(Array(try encoder.encode(self)), to: Self.directory(dataDir) + "/node.json", mode: 0o600)
    }

    public static func requireNotMember(_ dataDir: String) throws {
        if try load(dataDir) != nil {
            throw RuntimeError.badInput("Error response from daemon: This node is already part of a swarm. Use \"swarm leave\" to leave this swarm and join another one.")
        }
    }
}

/// How this manager's etcd member starts the first time (a member with
/// data rejoins by what it stored).
public struct LocalEtcdMember: Codable, Sendable, Equatable {
    /// `name=peerURL` of every member when this one was added, this one included.
    public var initialCluster: [String]
    /// "new" for the first member, "existing" for one added to the cluster.
    public var state: String
    public init(initialCluster: [String], state: String) { self.initialCluster = initialCluster; self.state = state }
}

/// The paths a daemon uses in its state dir.
public enum DaemonPaths {
    public static func socket(_ stateDir: String) -> String { stateDir + "/swarm.sock" }
    public static func pidFile(_ stateDir: String) -> String { stateDir + "/swarmd.pid" }
    public static func log(_ stateDir: String) -> String { stateDir + "/swarmd.log" }
}

/// The first non-loopback IPv4 address of this host (Docker asks for
/// --advertise-addr when it cannot choose; we take the first, or loopback).
public func defaultAdvertiseAddress() -> String {
    var list: UnsafeMutablePointer<ifaddrs>? = nil
    guard getifaddrs(&list) == 0 else { return "127.0.0.1" }
    defer { freeifaddrs(list) }
    var entry = list
    while let current = entry {
        defer { entry = current.pointee.ifa_next }
        guard let address = current.pointee.ifa_addr, address.pointee.sa_family == UInt16(AF_INET),
              current.pointee.ifa_flags & UInt32(IFF_LOOPBACK) == 0 else { continue }
        var host = [CChar](repeating: 0, count: 64)
        address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { inet in
            var addr = inet.pointee.sin_addr
            _ = inet_ntop(AF_INET, &addr, &host, 64)
        }
        return String(cString: host)
    }
    return "127.0.0.1"
}

/// "10.0.0.1" → "10.0.0.1:2377"; "10.0.0.1:4000" stays.
public func withPort(_ address: String, _ port: Int = 2377) -> String {
    address.contains(":") ? address : "\(address):\(port)"
}

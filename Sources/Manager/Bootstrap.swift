import ClusterStore
import SwarmAPI

extension ClusterManager {
    /// `swarm init`: a new swarm whose first node (this one) is its manager.
    public static func bootstrap(store: any ClusterStore, clusterID: String, nodeID: String, hostname: String, addr: String,
                                 tokens: JoinTokens, heartbeatPeriod: Int64,
                                 addressPools: [String] = [], subnetSize: UInt32? = nil) async throws {
        let now = Timestamp.now()
        var swarm = SwarmInfo(id: clusterID, version: ObjectVersion(index: 0), createdAt: now,
                              spec: SwarmSpec(heartbeatPeriod: heartbeatPeriod), joinTokens: tokens)
        try validatePools(addressPools, subnetSize: subnetSize)
        swarm.defaultAddrPool = addressPools.isEmpty ? nil : addressPools
        swarm.subnetSize = subnetSize
        var node = newNode(id: nodeID, role: .manager, hostname: hostname, addr: addr, now: now)
        node.managerStatus = ManagerStatus(leader: true, reachability: "reachable", addr: addr)
        var batch = StoreBatch(now: now)
        batch.put(swarm)
        batch.put(node)
        batch.put(ingressNetwork(now: now))
        try await store.commit(batch)
    }

    /// Docker's `ingress` network, made at init; the allocator gives it its
    /// numbers (the first free subnet of the pools: 10.0.0.0/24 by default).
    static func ingressNetwork(now: Timestamp) -> SwarmNetwork {
        var spec = NetworkSpec(name: "ingress")
        spec.labels = [:]
        spec.driverConfiguration = NetworkDriver(name: "overlay")
        spec.ingress = true
        spec.scope = "swarm"
        return SwarmNetwork(id: newObjectID(), version: ObjectVersion(index: 0), createdAt: now, spec: spec)
    }

    /// `--default-addr-pool` and `--default-addr-pool-mask-length`, checked as Docker's.
    public static func validatePools(_ pools: [String], subnetSize: UInt32?) throws {
        let size = Int(subnetSize ?? 24)
        guard (1...30).contains(size) else {
            throw APIError.badRequest("invalid default address pool mask length \(size): use 1 to 30")
        }
        for pool in pools {
            guard let subnet = IPv4Subnet(pool), subnet.description == pool else {
                throw APIError.badRequest("invalid default address pool \(pool): use an IPv4 CIDR such as 10.20.0.0/16")
            }
            guard subnet.prefix <= size else {
                throw APIError.badRequest("invalid default address pool \(pool): its prefix is longer than the mask length \(size)")
            }
        }
        let parsed = pools.compactMap(IPv4Subnet.init)
        for (index, pool) in parsed.enumerated() where parsed[..<index].contains(where: { $0.overlaps(pool) }) {
            throw APIError.badRequest("invalid default address pool \(pool): it overlaps another pool")
        }
    }

    static func newNode(id: String, role: NodeRole, hostname: String, addr: String, now: Timestamp) -> Node {
        let host = addr.split(separator: ":").first.map(String.init) ?? addr
        return Node(id: id, version: ObjectVersion(index: 0), createdAt: now, updatedAt: now,
                    spec: NodeSpec(role: role, availability: .active),
                    description: NodeDescription(hostname: hostname, platform: Platform(architecture: "", os: ""),
                                                 resources: Resources(), engine: EngineDescription(engineVersion: "")),
                    status: NodeStatus(state: .unknown, addr: host))
    }

    /// A node joins: its record exists (state unknown) before it first connects.
    public func admit(nodeID: String, role: NodeRole, hostname: String, addr: String) async throws -> Node {
        var node = Self.newNode(id: nodeID, role: role, hostname: hostname, addr: addr, now: clock())
        if role == .manager { node.managerStatus = ManagerStatus(leader: false, reachability: "unknown", addr: addr) }
        var batch = StoreBatch(now: clock())
        batch.put(node)
        try await store.commit(batch)
        return await store.get(Node.self, id: nodeID) ?? node
    }

    /// A join that failed after `admit` (a manager whose etcd member could not be added): the node goes again.
    public func undoAdmission(nodeID: String) async throws {
        var batch = StoreBatch(now: clock())
        batch.delete(Node.self, id: nodeID)
        try await store.commit(batch)
    }
}

import ClusterStore
import SwarmAPI

extension ClusterManager {
    /// `swarm init`: a new swarm whose first node (this one) is its manager.
    public static func bootstrap(store: any ClusterStore, clusterID: String, nodeID: String, hostname: String, addr: String,
                                 tokens: JoinTokens, heartbeatPeriod: Int64) async throws {
        let now = Timestamp.now()
        let swarm = SwarmInfo(id: clusterID, version: ObjectVersion(index: 0), createdAt: now,
                              spec: SwarmSpec(heartbeatPeriod: heartbeatPeriod), joinTokens: tokens)
        var node = newNode(id: nodeID, role: .manager, hostname: hostname, addr: addr, now: now)
        node.managerStatus = ManagerStatus(leader: true, reachability: "reachable", addr: addr)
        var batch = StoreBatch(now: now)
        batch.put(swarm)
        batch.put(node)
        try await store.commit(batch)
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
        let node = Self.newNode(id: nodeID, role: role, hostname: hostname, addr: addr, now: clock())
        if role == .manager { throw APIError.badRequest("joining as a manager needs a replicated store, which this swarm does not have yet: join as a worker") }
        var batch = StoreBatch(now: clock())
        batch.put(node)
        try await store.commit(batch)
        return await store.get(Node.self, id: nodeID) ?? node
    }
}

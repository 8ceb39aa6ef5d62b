import ClusterStore
import SwarmAPI

extension ClusterManager {
    /// This manager was elected: its node is the one `node ls` calls Leader,
    /// and no other. Committed by the new leader, so a deposed one cannot undo it.
    public func recordLeadership() async throws {
        var batch = StoreBatch(now: clock())
        for node in await store.all(Node.self) where node.managerStatus != nil {
            let leads = node.id == nodeID
            guard node.managerStatus?.leader != leads || (leads && node.managerStatus?.reachability != "reachable") else { continue }
            batch.update(Node.self, id: node.id) { node, _ in
                node.managerStatus?.leader = leads
                if leads { node.managerStatus?.reachability = "reachable" }
                return true
            }
        }
        guard !batch.isEmpty else { return }
        try await store.commit(batch)
    }

    /// `init --force-new-cluster`: this manager goes on alone; the others
    /// (lost) become workers, so that quorum counts only this one.
    public func demoteOtherManagers() async throws {
        var batch = StoreBatch(now: clock())
        for node in await store.all(Node.self) where node.id != nodeID && (node.spec.role == .manager || node.managerStatus != nil) {
            batch.update(Node.self, id: node.id) { node, _ in
                node.spec.role = .worker
                node.managerStatus = nil
                return true
            }
        }
        guard !batch.isEmpty else { return }
        try await store.commit(batch)
    }

    /// The managers' cluster addresses, the leader's first (what agents are told, what followers forward to).
    public func managerAddresses() async -> [String] {
        await store.all(Node.self).compactMap { node in node.managerStatus.map { (node.id, $0) } }
            .sorted { ($0.1.leader ? 0 : 1, $0.0) < ($1.1.leader ? 0 : 1, $1.0) }
            .map(\.1.addr)
    }
}

import Logging

/// Keeps etcd's raft leadership off the member beside the swarm's leader.
///
/// etcd gives every lease a fresh TTL when its raft leader changes. A swarm
/// leader that died together with etcd's raft leader would be replaced only
/// after a raft election plus a whole lease (about 6 s, over Docker's 5);
/// with the raft leader on another manager its lease just runs out (about 3 s).
/// The leader checks now and then: raft leadership comes back to its member
/// when the member that had it fails.
public struct RaftLeaderHandoff: Sendable {
    public let client: EtcdClient
    /// The client URL of the member on this manager.
    public let localEndpoint: String
    private let logger = Logger(label: "swarm.election")

    public init(client: EtcdClient, localEndpoint: String) {
        self.client = client
        self.localEndpoint = localEndpoint
    }

    /// Moves raft leadership to another member that answers and has caught
    /// up, if this manager's member has it.
    public func check() async {
        guard let own = try? await client.status(endpoint: localEndpoint), own.memberID != 0, own.leader == own.memberID,
              let members = try? await client.members() else { return }
        for member in members where member.id != own.memberID && !member.isLearner {
            guard let endpoint = member.clientURLs.first,
                  let status = try? await client.status(endpoint: endpoint),
                  status.leader == own.memberID, status.raftIndex + 100 >= own.raftIndex else { continue }
            do {
                try await client.moveLeader(to: member.id, endpoint: localEndpoint)
                logger.info("etcd's raft leadership moved to member \(member.name), off the swarm leader's")
            } catch {
                logger.warning("moving etcd's raft leadership to \(member.name): \(error)")
            }
            return
        }
    }
}

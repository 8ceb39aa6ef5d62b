import SwarmAPI

/// An agent's link to a manager in the same process: the dispatcher's
/// calls without HTTP or TLS. Unit tests and the scheduler benchmark run
/// a manager and real agents this way; the node is named by the caller,
/// as the certificate names it over the network.
public struct InProcessManagerLink: ManagerLink {
    public let manager: ClusterManager
    public let nodeID: String
    /// How long an assignments request waits for a change.
    public var pollTimeout: Duration

    public init(manager: ClusterManager, nodeID: String, pollTimeout: Duration = .seconds(20)) {
        self.manager = manager
        self.nodeID = nodeID
        self.pollTimeout = pollTimeout
    }

    public func openSession(_ request: SessionRequest) async throws -> SessionResponse {
        try await manager.openSession(nodeID: nodeID, request)
    }

    public func heartbeat() async throws -> SessionResponse {
        try await manager.heartbeat(nodeID: nodeID)
    }

    public func report(_ batch: StatusBatch) async throws {
        try await manager.reportStatus(nodeID: nodeID, batch)
    }

    public func assignments(since: UInt64?) async throws -> Assignments {
        try await manager.assignments(nodeID: nodeID, since: since, timeout: pollTimeout)
    }

    public func secretValue(_ kind: SecretKind, id: String) async throws -> String {
        switch kind {
        case .secrets: try await manager.secretValue(SwarmSecret.self, id, forNode: nodeID)
        case .configs: try await manager.secretValue(SwarmConfig.self, id, forNode: nodeID)
        }
    }
}

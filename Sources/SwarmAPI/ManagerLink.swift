/// How an agent reaches its manager's dispatcher: over mutual TLS in a
/// real swarm (NodeAgent's `HTTPManagerLink`), or in-process (Manager's
/// `InProcessManagerLink`: unit tests and benchmarks run a manager and
/// its agents in one process).
public protocol ManagerLink: Sendable {
    func openSession(_ request: SessionRequest) async throws -> SessionResponse
    func heartbeat() async throws -> SessionResponse
    func report(_ batch: StatusBatch) async throws
    func assignments(since: UInt64?) async throws -> Assignments
    /// The value (base64) of a secret or config one of the node's tasks is granted.
    func secretValue(_ kind: SecretKind, id: String) async throws -> String
}

public enum SecretKind: String, Sendable { case secrets, configs }

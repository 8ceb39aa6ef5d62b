/// How an agent reaches its manager's dispatcher: over mutual TLS in a
/// real swarm (NodeAgent's `HTTPManagerLink`), or in-process (Manager's
/// `InProcessManagerLink`: unit tests and benchmarks run a manager and
/// its agents in one process).
public protocol ManagerLink: Sendable {
    func openSession(_ request: SessionRequest) async throws -> SessionResponse
    func heartbeat() async throws -> SessionResponse
    func report(_ batch: StatusBatch) async throws
    func assignments(since: UInt64?) async throws -> Assignments
}

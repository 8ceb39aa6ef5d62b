import SwarmAPI

/// How an agent reaches its manager's dispatcher: over mutual TLS in a
/// real swarm (`HTTPManagerLink`), in-process for the scheduler benchmark.
public protocol ManagerLink: Sendable {
    func openSession(_ request: SessionRequest) async throws -> SessionResponse
    func heartbeat() async throws -> SessionResponse
    func report(_ batch: StatusBatch) async throws
    func assignments(since: UInt64?) async throws -> Assignments
}

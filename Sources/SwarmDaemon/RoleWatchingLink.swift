import SwarmAPI

/// The agent's link, which also hands every session answer (the role the
/// node is to have) to `observe`.
struct RoleWatchingLink: ManagerLink {
    let link: any ManagerLink
    let observe: @Sendable (SessionResponse) async -> Void

    func openSession(_ request: SessionRequest) async throws -> SessionResponse {
        let response = try await link.openSession(request)
        await observe(response)
        return response
    }

    func heartbeat() async throws -> SessionResponse {
        let response = try await link.heartbeat()
        await observe(response)
        return response
    }

    func report(_ batch: StatusBatch) async throws { try await link.report(batch) }
    func assignments(since: UInt64?) async throws -> Assignments { try await link.assignments(since: since) }
    func secretValue(_ kind: SecretKind, id: String) async throws -> String { try await link.secretValue(kind, id: id) }
}

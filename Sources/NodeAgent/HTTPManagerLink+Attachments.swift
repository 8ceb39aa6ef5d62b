import NIOHTTP1
import SwarmAPI

/// `/agent/attachments`: the manager's refusal (status and Docker's
/// message) comes back whole, for the node's daemon to pass on.
extension HTTPManagerLink: AttachmentLink {
    public func attachNetwork(_ request: AttachmentRequest) async throws -> AttachmentGrant {
        let bytes = try await attachmentCall(.POST, "/agent/attachments", body: try APIJSON.encode(request))
        return try APIJSON.decode(AttachmentGrant.self, from: bytes)
    }

    public func detachNetwork(attachmentID: String) async throws {
        _ = try await attachmentCall(.DELETE, "/agent/attachments/\(attachmentID)", body: nil)
    }

    private func attachmentCall(_ method: HTTPMethod, _ path: String, body: [UInt8]?) async throws -> [UInt8] {
        let answer = try await exchange(ManagerRequest(method, path, body: body, maxBody: 1 << 20))
        guard answer.isSuccess else {
            throw AttachmentRefused(status: answer.status, message: Self.message(answer))
        }
        return answer.body
    }
}

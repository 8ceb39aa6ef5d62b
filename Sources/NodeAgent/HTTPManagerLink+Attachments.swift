import AsyncHTTPClient
import NIOCore
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
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await client.execute(request, timeout: .seconds(30))
        let bytes = Array(buffer: try await response.body.collect(upTo: 1 << 20))
        guard (200..<300).contains(Int(response.status.code)) else {
            let message = (try? APIJSON.decode(APIErrorBody.self, from: bytes).message) ?? "HTTP \(response.status.code)"
            throw AttachmentRefused(status: Int(response.status.code), message: message)
        }
        return bytes
    }
}

import AsyncHTTPClient
import ClusterTLS
import FoundationEssentials
import NIOCore
import NIOHTTP1
import NIOSSL
import SwarmAPI
import SystemCalls

/// The agent's session with the manager: JSON over HTTPS with the node's
/// certificate (mutual TLS; the manager knows the node by its certificate).
public final class HTTPManagerLink: ManagerLink {
    let base: String
    let client: HTTPClient

    /// `session`: a client that speaks the cluster's TLS to the manager
    /// and checks it by the name only managers' certificates carry.
    public init(_ session: ClusterHTTPClient) {
        base = session.baseURL
        client = session.client
    }

    public func shutdown() async { try? await client.shutdown() }

    struct LinkError: Error, CustomStringConvertible {
        var description: String
    }

    func call<Response: Decodable>(_ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, timeout: TimeAmount = .seconds(30),
                                   as type: Response.Type) async throws -> Response? {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await client.execute(request, timeout: timeout)
        let bytes = Array(buffer: try await response.body.collect(upTo: 512 << 20))
        guard (200..<300).contains(Int(response.status.code)) else {
            let message = (try? APIJSON.decode(APIErrorBody.self, from: bytes).message) ?? "HTTP \(response.status.code)"
            throw LinkError(description: "manager: \(message)")
        }
        if response.status.code == 204 || Response.self == Empty.self { return nil }
        return try APIJSON.decode(Response.self, from: bytes)
    }

    struct Empty: Decodable {}

    public func openSession(_ request: SessionRequest) async throws -> SessionResponse {
        try await call(.POST, "/agent/session", body: try APIJSON.encode(request), as: SessionResponse.self)!
    }

    public func heartbeat() async throws -> SessionResponse {
        try await call(.POST, "/agent/heartbeat", body: [], as: SessionResponse.self)!
    }

    public func report(_ batch: StatusBatch) async throws {
        _ = try await call(.POST, "/agent/status", body: try APIJSON.encode(batch), as: Empty.self)
    }

    public func assignments(since: UInt64?) async throws -> Assignments {
        let query = since.map { "?since=\($0)" } ?? ""
        return try await call(.GET, "/agent/assignments" + query, timeout: .seconds(60), as: Assignments.self)!
    }

    public func secretValue(_ kind: SecretKind, id: String) async throws -> String {
        try await call(.GET, "/agent/\(kind.rawValue)/\(id)", as: SecretPayload.self)!.data
    }
}

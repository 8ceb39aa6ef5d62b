import AsyncHTTPClient
import ClusterTLS
import NIOCore

/// Reaches managers over the cluster's TLS: one `ClusterHTTPClient` per
/// address, made when first needed, so each connects to its manager's
/// address and checks it by the managers' name (`swarm-manager`) exactly
/// as every other client of a manager does.
public actor ClusterManagerTransport: ManagerTransport {
    let connect: @Sendable (String) throws -> ClusterHTTPClient
    private var clients: [String: ClusterHTTPClient] = [:]

    /// `connect`: the client for one address (ip:port).
    public init(connect: @escaping @Sendable (String) throws -> ClusterHTTPClient) {
        self.connect = connect
    }

    /// The client for `address` (the image mirror pulls through it).
    public func client(_ address: String) throws -> ClusterHTTPClient {
        if let client = clients[address] { return client }
        let client = try connect(address)
        clients[address] = client
        return client
    }

    public func exchange(_ request: ManagerRequest, with address: String) async throws -> ManagerAnswer {
        let session = try client(address)
        var outgoing = HTTPClientRequest(url: session.baseURL + request.path)
        outgoing.method = request.method
        if let body = request.body {
            outgoing.headers.add(name: "Content-Type", value: "application/json")
            outgoing.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await session.client.execute(outgoing, timeout: request.timeout)
        let body = Array(buffer: try await response.body.collect(upTo: request.maxBody))
        return ManagerAnswer(status: Int(response.status.code), headers: response.headers, body: body, address: address)
    }

    public func shutdown() async {
        for client in clients.values { await client.shutdown() }
        clients = [:]
    }
}

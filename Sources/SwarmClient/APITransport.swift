/// How a request reaches the API: the local unix socket here, a manager's
/// cluster port over mutual TLS in the daemon's binary.
public protocol APITransport: Sendable {
    /// `target`: the path with its query, e.g. `/v1.41/services?filters=…`.
    /// Throws `UnixSocketHTTP.ConnectFailed`-like errors only for "nothing
    /// answered"; any HTTP status is a reply.
    /// `headers`: more request headers (X-Registry-Auth).
    func send(method: APIClient.Method, target: String, body: [UInt8]?, headers: [(String, String)]) async throws -> APIClient.Reply
    /// A GET whose body is handed over as it arrives (logs -f); returns
    /// the status, and the body too when it is not a 2xx.
    func stream(target: String, _ deliver: @escaping @Sendable ([UInt8]) -> Void) async throws -> APIClient.Reply
    func shutdown() async
}

extension APITransport {
    /// Transports that cannot stream deliver the whole body at its end.
    public func stream(target: String, _ deliver: @escaping @Sendable ([UInt8]) -> Void) async throws -> APIClient.Reply {
        let reply = try await send(method: .GET, target: target, body: nil, headers: [])
        if (200..<300).contains(reply.status) { deliver(reply.body) }
        return reply
    }
}

/// Makes transports to a manager's cluster port (`tcp://MANAGER:2377`).
public protocol RemoteTransportMaker: Sendable {
    /// `manager`: `ip:port`; `host`: the whole `tcp://…` for messages.
    func transport(manager: String, host: String) throws -> any APITransport
}

extension APIClient {
    public struct Reply: Sendable {
        public var status: Int
        public var body: [UInt8]
        public init(status: Int, body: [UInt8]) {
            self.status = status
            self.body = body
        }
    }
}

extension UnixSocketHTTP: APITransport {
    func send(method: APIClient.Method, target: String, body: [UInt8]?, headers: [(String, String)]) async throws -> APIClient.Reply {
        let answer = try send(method: method.rawValue, target: target, body: body, headers: headers)
        return APIClient.Reply(status: answer.status, body: answer.body)
    }

    func shutdown() async {}
}

import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

public enum EtcdError: Error, CustomStringConvertible, Equatable {
    /// No endpoint answered.
    case unavailable(String)
    /// etcd refused the request (gRPC code and message).
    case server(code: Int, message: String)
    /// The watch started before the oldest revision etcd keeps.
    case compacted(revision: Int64)
    /// A commit was fenced off: this process no longer holds the leader key.
    case notLeader

    public var description: String {
        switch self {
        case .unavailable(let detail): "etcd is unavailable: \(detail)"
        case .server(let code, let message): "etcd: \(message) (code \(code))"
        case .compacted(let revision): "etcd: revision compacted (oldest kept: \(revision))"
        case .notLeader: "this manager is no longer the leader"
        }
    }
}

/// A client of etcd's v3 JSON gateway (POST /v3/…) on one or more
/// endpoints; the next endpoint is tried when one cannot be reached.
public final class EtcdClient: Sendable {
    public let endpoints: [String]
    let http: HTTPClient
    let requestTimeout: TimeAmount

    /// - endpoints: `http://host:port` or `https://host:port` (then `tls` is used).
    public init(endpoints: [String], tls: TLSConfiguration? = nil, requestTimeout: TimeAmount = .seconds(10)) {
        self.endpoints = endpoints
        self.requestTimeout = requestTimeout
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        // Watches stay open and quiet for as long as nothing changes: no
        // read timeout; unary calls have a deadline of their own.
        configuration.timeout = .init(connect: .seconds(3), read: nil)
        // HTTP/1.1, one request per connection at a time. Over TLS the
        // client would speak HTTP/2 to etcd's gateway, which now and then
        // resets a stream (RST_STREAM CANCEL) of a call it answered: a lost
        // keepalive cost the leader its term.
        configuration.httpVersion = .http1Only
        // Watches hold a connection each; commits of several components run at once.
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 32
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    public func shutdown() async { try? await http.shutdown() }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return encoder
    }()

    static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }

    /// One unary call; a body that is not a `T` is etcd's error.
    /// `snakeCase`: the body's keys as etcd's field names (range_end…);
    /// false for bodies that spell them already (the lease calls' "ID", "TTL").
    /// `only`: these endpoints instead of the client's (to ask one member).
    func call<T: Decodable>(_ path: String, _ body: some Encodable, snakeCase: Bool = true, as type: T.Type = T.self,
                            only: [String]? = nil) async throws -> T {
        try await call(path, payload: try (snakeCase ? Self.encoder : JSONEncoder()).encode(body), only: only)
    }

    /// One unary call with a body already in JSON.
    func call<T: Decodable>(_ path: String, payload: Data, as type: T.Type = T.self, only: [String]? = nil) async throws -> T {
        var lastError = "no endpoint"
        for endpoint in only ?? endpoints {
            var request = HTTPClientRequest(url: endpoint + path)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: payload))
            let response: HTTPClientResponse
            let bytes: ByteBuffer
            do {
                response = try await http.execute(request, timeout: requestTimeout)
                bytes = try await response.body.collect(upTo: 1 << 30)
            } catch {
                lastError = "\(endpoint): \(error)"
                continue
            }
            let data = Data(bytes.readableBytesView)
            guard response.status == .ok else {
                let failure = try? Self.decoder().decode(GatewayError.self, from: data)
                throw EtcdError.server(code: failure?.code ?? Int(response.status.code),
                                       message: failure?.message ?? String(decoding: data, as: UTF8.self))
            }
            return try Self.decoder().decode(T.self, from: data)
        }
        throw EtcdError.unavailable(lastError)
    }

    func range(_ request: RangeRequest) async throws -> RangeResponse {
        try await call("/v3/kv/range", request)
    }

    /// Written by hand (`TxnRequest.gatewayJSON`): a commit of thousands of
    /// objects would go through JSONEncoder's keyed containers and snake-case
    /// key conversion for each of them.
    func txn(_ request: TxnRequest) async throws -> TxnResponse {
        try await call("/v3/kv/txn", payload: request.gatewayJSON())
    }

    /// Discards the history before `revision` (what an operator's or
    /// etcd's auto-compaction does).
    public func compact(_ revision: Int64) async throws {
        struct Request: Encodable { var revision: EtcdInt }
        let _: ResponseHeaderOnly = try await call("/v3/kv/compaction", Request(revision: EtcdInt(revision)))
    }

    /// The store's current revision.
    public func revision() async throws -> Int64 {
        let response = try await range(RangeRequest(key: Data([0]), limit: 1, keysOnly: true))
        return response.header?.rev ?? 0
    }

    /// Streams the events of [key, rangeEnd) from `revision` until the
    /// calling task is cancelled or the stream breaks (it then throws).
    /// `handle` gets each message in order.
    func watch(key: Data, rangeEnd: Data, from revision: Int64,
               _ handle: @Sendable (WatchResponse) async throws -> Void) async throws {
        let payload = try Self.encoder.encode(WatchCreate(createRequest: .init(key: key, rangeEnd: rangeEnd, startRevision: EtcdInt(revision))))
        var lastError = "no endpoint"
        for endpoint in endpoints {
            var request = HTTPClientRequest(url: endpoint + "/v3/watch")
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: payload))
            let response: HTTPClientResponse
            do {
                response = try await http.execute(request, deadline: .distantFuture)
            } catch {
                lastError = "\(endpoint): \(error)"
                continue
            }
            guard response.status == .ok else {
                throw EtcdError.server(code: Int(response.status.code), message: "watch refused")
            }
            // Newline-delimited messages, each `{"result": WatchResponse}`.
            var pending: [UInt8] = []
            // Bytes of `pending` known to hold no newline: a large commit is
            // one line of megabytes, arriving in many chunks; scanning it
            // again from its start for each chunk took seconds.
            var scanned = 0
            let decoder = Self.decoder()
            for try await chunk in response.body {
                pending.append(contentsOf: chunk.readableBytesView)
                while let newline = pending[scanned...].firstIndex(of: UInt8(ascii: "\n")) {
                    let line = Data(pending[..<newline])
                    pending.removeSubrange(...newline)
                    scanned = 0
                    guard !line.isEmpty else { continue }
                    let message = try decoder.decode(StreamMessage<WatchResponse>.self, from: line)
                    if let error = message.error {
                        throw EtcdError.server(code: error.code ?? 0, message: error.message ?? "watch failed")
                    }
                    guard let result = message.result else { continue }
                    if result.canceled == true, let compacted = result.compactRevision, compacted.value > 0 {
                        throw EtcdError.compacted(revision: compacted.value)
                    }
                    if result.canceled == true {
                        throw EtcdError.server(code: 0, message: result.cancelReason ?? "watch canceled")
                    }
                    try await handle(result)
                }
                scanned = pending.count
            }
            throw EtcdError.unavailable("\(endpoint): the watch stream ended")
        }
        throw EtcdError.unavailable(lastError)
    }

    // MARK: - Leases

    /// A lease of `ttl` seconds; its ID.
    public func grantLease(ttl: Int64) async throws -> Int64 {
        let response: LeaseResponse = try await call("/v3/lease/grant", ["TTL": String(ttl)], snakeCase: false)
        guard let id = response.ID?.value, id != 0 else { throw EtcdError.server(code: 0, message: "no lease granted") }
        return id
    }

    /// Renews the lease; its remaining TTL in seconds (0: the lease is gone).
    public func keepAlive(lease: Int64) async throws -> Int64 {
        let message: StreamMessage<LeaseResponse> = try await call("/v3/lease/keepalive", ["ID": String(lease)], snakeCase: false)
        if let error = message.error { throw EtcdError.server(code: error.code ?? 0, message: error.message ?? "keepalive failed") }
        return message.result?.TTL?.value ?? 0
    }

    public func revokeLease(_ lease: Int64) async throws {
        let _: ResponseHeaderOnly = try await call("/v3/lease/revoke", ["ID": String(lease)], snakeCase: false)
    }
}

struct ResponseHeaderOnly: Decodable, Sendable {
    var header: ResponseHeader?
}

extension Data {
    /// The end of the prefix range: the prefix with its last byte plus one.
    var prefixEnd: Data {
        var end = self
        while let last = end.last {
            if last < 0xff {
                end[end.index(before: end.endIndex)] = last + 1
                return end
            }
            end.removeLast()
        }
        return Data([0])
    }
}

import AsyncHTTPClient
import ClusterTLS
import Formatting
import FoundationEssentials
import NIOCore
import NIOHTTP1
import NIOSSL
import SwarmAPI
import SystemCalls

/// The CLI's side of the manager's API: `-H/--host`, then SWARM_HOST, then
/// the default socket. Errors from the daemon come back as Docker prints
/// them: `Error response from daemon: …`.
///
/// The local unix socket is asked with a blocking HTTP/1.1 client (no event
/// loop to start for one request); a manager's cluster port (`tcp://`) over
/// the cluster's mutual TLS.
public struct APIClient {
    public static let defaultSocket = "/run/swarm/swarm.sock"
    public let host: String
    private let transport: Transport

    private enum Transport {
        case unix(UnixSocketHTTP)
        case cluster(ClusterHTTPClient)
    }

    public enum Method: String, Sendable { case GET, POST, DELETE, PUT, HEAD }

    public init(host: String?) throws {
        let chosen = host ?? ProcessInfo.processInfo.environment["SWARM_HOST"]
            ?? "unix://" + (ProcessInfo.processInfo.environment["SWARM_STATE_DIR"].map { $0 + "/swarm.sock" } ?? Self.defaultSocket)
        self.host = chosen
        if chosen.hasPrefix("unix://") {
            transport = .unix(UnixSocketHTTP(path: String(chosen.dropFirst("unix://".count))))
        } else if chosen.hasPrefix("tcp://") {
            // A manager's cluster port, with this node's certificate (a
            // manager's: workers may not use the API) from the data dir.
            let dataDir = ProcessInfo.processInfo.environment["SWARM_DATA_DIR"] ?? "/var/lib/swarm"
            let certificates = dataDir + "/swarm/certificates"
            guard let material = try NodeTLSFiles.read(from: certificates) else {
                throw RuntimeError.badInput("\(chosen) needs this node's swarm certificate (in \(certificates)): run the command on a node of that swarm, or use its unix socket")
            }
            transport = .cluster(try ClusterHTTPClient(manager: String(chosen.dropFirst("tcp://".count)), trust: .member(material)))
        } else {
            throw RuntimeError.badInput("invalid host \(chosen): use unix:///path/to/swarm.sock or tcp://MANAGER:2377")
        }
    }

    public func shutdown() async {
        if case .cluster(let http) = transport { await http.shutdown() }
    }

    public struct Reply: Sendable {
        public var status: Int
        public var body: [UInt8]
    }

    public func send(_ method: Method, _ path: String, query: [String: String] = [:], body: [UInt8]? = nil) async throws -> Reply {
        var target = "/v1.41" + path
        if !query.isEmpty {
            target += "?" + query.sorted { $0.key < $1.key }.map { "\($0.key)=\(Self.percentEncode($0.value))" }.joined(separator: "&")
        }
        let reply: Reply
        switch transport {
        case .unix(let socket):
            do {
                let answer = try socket.send(method: method.rawValue, target: target, body: body)
                reply = Reply(status: answer.status, body: answer.body)
            } catch is UnixSocketHTTP.ConnectFailed {
                throw cannotConnect
            } catch let error as UnixSocketHTTP.MalformedResponse {
                throw RuntimeError.badInput("error during connect: \(host): \(error)")
            }
        case .cluster(let http):
            reply = try await send(http, method, target, body)
        }
        guard (200..<300).contains(reply.status) else {
            let message = (try? APIJSON.decode(APIErrorBody.self, from: reply.body).message) ?? String(decoding: reply.body, as: UTF8.self)
            throw RuntimeError.badInput("Error response from daemon: " + message)
        }
        return reply
    }

    private var cannotConnect: RuntimeError {
        RuntimeError.badInput("Cannot connect to the swarm daemon at \(host). Is the swarm daemon running? (start it with swarm init, swarm join or swarm daemon)")
    }

    private func send(_ http: ClusterHTTPClient, _ method: Method, _ target: String, _ body: [UInt8]?) async throws -> Reply {
        var request = HTTPClientRequest(url: http.baseURL + target)
        request.method = HTTPMethod(rawValue: method.rawValue)
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response: HTTPClientResponse
        do {
            response = try await http.client.execute(request, timeout: .seconds(120))
        } catch let error as NIOSSLError {
            throw RuntimeError.badInput("error during connect: \(host): the server's certificate is not a manager's of this swarm (\(error))")
        } catch let error as NIOSSLExtraError {
            throw RuntimeError.badInput("error during connect: \(host): the server's certificate is not a manager's of this swarm (\(error))")
        } catch {
            throw cannotConnect
        }
        return Reply(status: Int(response.status.code), body: Array(buffer: try await response.body.collect(upTo: 256 << 20)))
    }

    public func get<T: Decodable>(_ type: T.Type, _ path: String, query: [String: String] = [:]) async throws -> T {
        try APIJSON.decode(type, from: try await send(.GET, path, query: query).body)
    }

    public func post<T: Encodable>(_ path: String, query: [String: String] = [:], _ value: T) async throws -> Reply {
        try await send(.POST, path, query: query, body: try APIJSON.encode(value))
    }

    public static func percentEncode(_ text: String) -> String {
        text.utf8.map { byte -> String in
            let c = Character(UnicodeScalar(byte))
            return c.isASCII && (c.isLetter || c.isNumber || "-._~".contains(c)) ? String(c) : "%" + String(byte, radix: 16, uppercase: true).leftPadded(2)
        }.joined()
    }

    /// Docker's `filters` query parameter from `--filter k=v` flags.
    public static func filtersJSON(_ filters: [String]) throws -> [String: String] {
        guard !filters.isEmpty else { return [:] }
        do { return ["filters": try Filters(filters).toQueryJSON()] } catch let error as FormattingError {
            throw RuntimeError.badInput(error.message)
        }
    }

    /// Runs `body` with a client and always shuts it down.
    public static func with<T>(host: String?, _ body: (APIClient) async throws -> T) async throws -> T {
        let client = try APIClient(host: host)
        do {
            let result = try await body(client)
            await client.shutdown()
            return result
        } catch {
            await client.shutdown()
            throw error
        }
    }
}

extension String {
    public func leftPadded(_ width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}

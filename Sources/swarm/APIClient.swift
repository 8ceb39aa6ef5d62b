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
struct APIClient {
    static let defaultSocket = "/run/swarm/swarm.sock"
    let host: String
    let base: String
    let client: HTTPClient

    init(host: String?) throws {
        let chosen = host ?? ProcessInfo.processInfo.environment["SWARM_HOST"] ?? "unix://" + Self.defaultSocket
        self.host = chosen
        if chosen.hasPrefix("unix://") {
            let path = String(chosen.dropFirst("unix://".count))
            let encoded = Self.percentEncode(path)
            base = "http+unix://" + encoded
            client = HTTPClient(eventLoopGroupProvider: .singleton)
        } else if chosen.hasPrefix("tcp://") {
            // A manager's cluster port, with this node's certificate (a
            // manager's: workers may not use the API) from the data dir.
            let dataDir = ProcessInfo.processInfo.environment["SWARM_DATA_DIR"] ?? "/var/lib/swarm"
            guard let material = try NodeTLSFiles.read(from: NodeConfig.certificates(dataDir)) else {
                throw RuntimeError.badInput("\(chosen) needs this node's swarm certificate (in \(NodeConfig.certificates(dataDir))): run the command on a node of that swarm, or use its unix socket")
            }
            let http = try ClusterHTTPClient(manager: String(chosen.dropFirst("tcp://".count)), trust: .member(material))
            base = http.baseURL
            client = http.client
        } else {
            throw RuntimeError.badInput("invalid host \(chosen): use unix:///path/to/swarm.sock or tcp://MANAGER:2377")
        }
    }

    func shutdown() async { try? await client.shutdown() }

    struct Reply {
        var status: Int
        var body: [UInt8]
    }

    func send(_ method: HTTPMethod, _ path: String, query: [String: String] = [:], body: [UInt8]? = nil) async throws -> Reply {
        var url = base + "/v1.41" + path
        if !query.isEmpty {
            url += "?" + query.sorted { $0.key < $1.key }.map { "\($0.key)=\(Self.percentEncode($0.value))" }.joined(separator: "&")
        }
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .seconds(120))
        } catch let error as NIOSSLError {
            throw RuntimeError.badInput("error during connect: \(host): the server's certificate is not a manager's of this swarm (\(error))")
        } catch let error as NIOSSLExtraError {
            throw RuntimeError.badInput("error during connect: \(host): the server's certificate is not a manager's of this swarm (\(error))")
        } catch {
            throw RuntimeError.badInput("Cannot connect to the swarm daemon at \(host). Is the swarm daemon running? (start it with swarm init, swarm join or swarm daemon)")
        }
        let bytes = Array(buffer: try await response.body.collect(upTo: 256 << 20))
        let status = Int(response.status.code)
        guard (200..<300).contains(status) else {
            let message = (try? APIJSON.decode(APIErrorBody.self, from: bytes).message) ?? String(decoding: bytes, as: UTF8.self)
            throw RuntimeError.badInput("Error response from daemon: " + message)
        }
        return Reply(status: status, body: bytes)
    }

    func get<T: Decodable>(_ type: T.Type, _ path: String, query: [String: String] = [:]) async throws -> T {
        try APIJSON.decode(type, from: try await send(.GET, path, query: query).body)
    }

    func post<T: Encodable>(_ path: String, query: [String: String] = [:], _ value: T) async throws -> Reply {
        try await send(.POST, path, query: query, body: try APIJSON.encode(value))
    }

    static func percentEncode(_ text: String) -> String {
        text.utf8.map { byte -> String in
            let c = Character(UnicodeScalar(byte))
            return c.isASCII && (c.isLetter || c.isNumber || "-._~".contains(c)) ? String(c) : "%" + String(byte, radix: 16, uppercase: true).leftPadded(2)
        }.joined()
    }

    /// Docker's `filters` query parameter from `--filter k=v` flags.
    static func filtersJSON(_ filters: [String]) throws -> [String: String] {
        guard !filters.isEmpty else { return [:] }
        do { return ["filters": try Filters(filters).toQueryJSON()] } catch let error as FormattingError {
            throw RuntimeError.badInput(error.message)
        }
    }

    /// Runs `body` with a client and always shuts it down.
    static func with<T>(host: String?, _ body: (APIClient) async throws -> T) async throws -> T {
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
    func leftPadded(_ width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}


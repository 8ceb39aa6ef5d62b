import Formatting
import FoundationEssentials
import SwarmAPI
import Synchronization
import SystemCalls

/// The CLI's side of the manager's API: `-H/--host`, then SWARM_HOST, then
/// the default socket. Errors from the daemon come back as Docker prints
/// them: `Error response from daemon: …`.
///
/// The local unix socket is asked with a blocking HTTP/1.1 client (no event
/// loop to start for one request). A manager's cluster port (`tcp://`) needs
/// the cluster's mutual TLS, which the daemon's binary brings: it registers
/// `remoteTransport`; without it such a host is `RemoteTransportMissing`.
public struct APIClient {
    public static let defaultSocket = "/run/swarm/swarm.sock"
    public let host: String
    let transport: any APITransport

    public enum Method: String, Sendable { case GET, POST, DELETE, PUT, HEAD }

    /// Makes the transport for a `tcp://` host; set by the binary that links TLS.
    public static var remoteTransport: (any RemoteTransportMaker)? {
        get { remote.withLock { $0 } }
        set { remote.withLock { $0 = newValue } }
    }
    private static let remote = Mutex<(any RemoteTransportMaker)?>(nil)

    /// A `tcp://` host in a binary that cannot speak the cluster's TLS.
    public struct RemoteTransportMissing: Error {}

    public init(host: String?) throws {
        let chosen = host ?? ProcessInfo.processInfo.environment["SWARM_HOST"]
            ?? "unix://" + (ProcessInfo.processInfo.environment["SWARM_STATE_DIR"].map { $0 + "/swarm.sock" } ?? Self.defaultSocket)
        self.host = chosen
        if chosen.hasPrefix("unix://") {
            transport = UnixSocketHTTP(path: String(chosen.dropFirst("unix://".count)))
        } else if chosen.hasPrefix("tcp://") {
            guard let remote = Self.remoteTransport else { throw RemoteTransportMissing() }
            transport = try remote.transport(manager: String(chosen.dropFirst("tcp://".count)), host: chosen)
        } else {
            throw RuntimeError.badInput("invalid host \(chosen): use unix:///path/to/swarm.sock or tcp://MANAGER:2377")
        }
    }

    public func shutdown() async { await transport.shutdown() }

    public func send(_ method: Method, _ path: String, query: [String: String] = [:], body: [UInt8]? = nil,
                     headers: [(String, String)] = []) async throws -> Reply {
        try await exchange(path, query) { try await self.transport.send(method: method, target: $0, body: body, headers: headers) }
    }

    /// The request's target (versioned path, sorted query), and Docker's
    /// errors for what went wrong: no daemon, a broken answer, an error status.
    func exchange(_ path: String, _ query: [String: String], _ perform: (String) async throws -> Reply) async throws -> Reply {
        var target = "/v1.41" + path
        if !query.isEmpty {
            target += "?" + query.sorted { $0.key < $1.key }.map { "\($0.key)=\(Self.percentEncode($0.value))" }.joined(separator: "&")
        }
        let reply: Reply
        do {
            reply = try await perform(target)
        } catch is UnixSocketHTTP.ConnectFailed {
            throw RuntimeError.badInput("Cannot connect to the swarm daemon at \(host). Is the swarm daemon running? (start it with swarm init, swarm join or swarm daemon)")
        } catch let error as UnixSocketHTTP.MalformedResponse {
            throw RuntimeError.badInput("error during connect: \(host): \(error)")
        }
        guard (200..<300).contains(reply.status) else {
            let message = (try? APIJSON.decode(APIErrorBody.self, from: reply.body).message) ?? String(decoding: reply.body, as: UTF8.self)
            throw RuntimeError.badInput("Error response from daemon: " + message)
        }
        return reply
    }

    public func get<T: Decodable>(_ type: T.Type, _ path: String, query: [String: String] = [:]) async throws -> T {
        try APIJSON.decode(type, from: try await send(.GET, path, query: query).body)
    }

    public func post<T: Encodable>(_ path: String, query: [String: String] = [:], headers: [(String, String)] = [], _ value: T) async throws -> Reply {
        try await send(.POST, path, query: query, body: try APIJSON.encode(value), headers: headers)
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
        try await using(try APIClient(host: host), release: { await $0.shutdown() }, body)
    }
}

extension String {
    public func leftPadded(_ width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}

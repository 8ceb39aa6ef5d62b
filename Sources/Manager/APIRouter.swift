import Formatting
import Foundation
import HTTPServer
import SwarmAPI
import SystemCalls

/// The manager's HTTP API, in the shapes of the Docker Engine API v1.41
/// (paths, query parameters, JSON field names, status codes and error
/// bodies), plus the agents' dispatcher endpoints and the nodes' image
/// mirror. The `swarm` CLI uses it too: there is one API. Routes are
/// tables, one per resource (`APIRouter+Services.swift`, `+Nodes`, …).
public struct APIRouter: Sendable {
    public static let apiVersion = "1.41"
    public let manager: ClusterManager
    /// Who the client certificate of a TCP request names: node ID and whether it is a manager.
    let identify: @Sendable ([UInt8]) -> (nodeID: String, manager: Bool)?
    let join: @Sendable (JoinRequest) async throws -> JoinResponse
    let newJoinToken: @Sendable (NodeRole) -> String
    /// A promoted or demoted node's new certificate (`POST /agent/role`), signed as a join's.
    let changeRole: (@Sendable (_ nodeID: String, RoleChangeRequest) async throws -> JoinResponse)?
    let caCertificatePEM: String
    let engineVersion: String
    /// The manager's own images, served to nodes that cannot pull them.
    let images: (any ImageBlobSource)?
    /// Service logs: readers' subscriptions, the agents' lines.
    let logBroker = LogBroker()
    /// The swarm's events (`GET /events`); the daemon starts their recording.
    public let events = ClusterEvents()

    public init(manager: ClusterManager, caCertificatePEM: String, engineVersion: String,
                images: (any ImageBlobSource)? = nil,
                identify: @escaping @Sendable ([UInt8]) -> (nodeID: String, manager: Bool)?,
                join: @escaping @Sendable (JoinRequest) async throws -> JoinResponse,
                newJoinToken: @escaping @Sendable (NodeRole) -> String,
                changeRole: (@Sendable (_ nodeID: String, RoleChangeRequest) async throws -> JoinResponse)? = nil) {
        self.changeRole = changeRole
        self.images = images
        self.newJoinToken = newJoinToken
        self.manager = manager
        self.caCertificatePEM = caCertificatePEM
        self.engineVersion = engineVersion
        self.identify = identify
        self.join = join
    }

    /// One request as a route sees it.
    struct Call: Sendable {
        let request: HTTPRequest
        let parts: [String]
        /// The object named in the path (`services/<ref>/update`), or "".
        var ref: String { parts.count > 1 ? parts[1] : "" }
        /// The node whose certificate made a TCP request (nil on the unix socket).
        let node: String?
        /// The `filters` query parameter (parsed for every cluster route, as Docker does).
        var filters = Filters()

        func query(_ name: String) -> String? { request.queryValue(name) }
    }

    typealias Route = @Sendable (APIRouter, Call) async throws -> HTTPResponse

    /// Anyone who reaches the port: joining needs only the token.
    static let openRoutes: [String: Route] = swarmOpenRoutes
    /// Nodes, by their certificate.
    static let nodeRoutes: [String: Route] = agentRoutes.merging(agentLogRoutes) { $1 }.merging(agentSecretRoutes) { $1 }
    /// Managers (unix socket, or a manager's certificate).
    static let managerRoutes: [String: Route] = swarmRoutes
        .merging(nodesRoutes) { $1 }.merging(servicesRoutes) { $1 }.merging(tasksRoutes) { $1 }.merging(networkRoutes) { $1 }.merging(logRoutes) { $1 }.merging(eventRoutes) { $1 }
        .merging(secretRoutes) { $1 }

    public func handle(_ request: HTTPRequest) async -> HTTPResponse {
        withEngineHeaders(await answer(request))
    }

    func answer(_ request: HTTPRequest) async -> HTTPResponse {
        if let refused = Self.versionError(request.path) { return refused }
        do {
            return try await route(request)
        } catch let error as APIError {
            return Self.error(error.status, error.message)
        } catch let error as DecodingError {
            return Self.error(400, "invalid JSON in the request body: \(Self.describe(error))")
        } catch {
            return Self.error(500, "\(error)")
        }
    }

    func route(_ request: HTTPRequest) async throws -> HTTPResponse {
        let path = Self.unversioned(request.path)
        let parts = path.split(separator: "/").map(String.init)
        let method = request.method == "HEAD" ? "GET" : request.method
        let key = Self.routeKey(method, parts)

        if let open = Self.openRoutes[key], !(key == "POST swarm/join" && request.isUnixSocket) {
            return try await open(self, Call(request: request, parts: parts, node: nil))
        }

        var caller: (nodeID: String, manager: Bool)? = nil
        if !request.isUnixSocket {
            guard let der = request.peerCertificateDER, let identity = identify(der) else {
                return Self.error(401, "a client certificate issued by this swarm's CA is required")
            }
            caller = identity
        }
        let call = Call(request: request, parts: parts, node: caller?.nodeID)

        if parts.first == "v2", caller != nil {
            return try serveImage(parts)
        }
        if parts.first == "agent" {
            guard caller != nil else { return Self.error(403, "agent endpoints are for nodes (TCP with a node certificate)") }
            guard let route = Self.nodeRoutes[key] else { return Self.error(404, "page not found") }
            return try await route(self, call)
        }
        if let caller, !caller.manager {
            return Self.error(403, "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Please run this command on a manager node or promote the current node to a manager.")
        }
        var managerCall = call
        managerCall.filters = try Filters(query: request.queryValue("filters"))
        guard let route = Self.managerRoutes[key] else { return Self.missing(method, parts) }
        return try await route(self, managerCall)
    }

    /// "POST services/*/update": the method and path with the object reference as `*`.
    static func routeKey(_ method: String, _ parts: [String]) -> String {
        var pattern = parts
        if pattern.count >= 2, ["nodes", "services", "tasks", "networks", "secrets", "configs"].contains(pattern[0]), pattern[1] != "create",
           !(method == "POST" && pattern == ["networks", "prune"]) { pattern[1] = "*" }
        if pattern.count == 3, pattern[0] == "agent", ["secrets", "configs", "attachments"].contains(pattern[1]) { pattern[2] = "*" }
        return method + " " + pattern.joined(separator: "/")
    }

    /// `/v1.41/services` → `/services`.
    public static func unversioned(_ path: String) -> String {
        guard path.hasPrefix("/v"), let slash = path.dropFirst().firstIndex(of: "/") else { return path }
        let version = path[path.index(path.startIndex, offsetBy: 2)..<slash]
        // "v1.41" always has a dot; "/v2/" is the registry API.
        return version.contains(".") && version.allSatisfy({ $0.isNumber || $0 == "." }) ? String(path[slash...]) : path
    }

    /// Docker's error body (`{"message": …}`) with `status`.
    public static func errorResponse(_ status: Int, _ message: String) -> HTTPResponse { error(status, message) }

    static func error(_ status: Int, _ message: String) -> HTTPResponse {
        HTTPResponse.json(status, (try? APIJSON.encode(APIErrorBody(message: message))) ?? [])
    }

    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .keyNotFound(_, let context), .dataCorrupted(let context):
            let path = context.codingPath.map { APIJSON.goName($0.stringValue) }.joined(separator: ".")
            return path.isEmpty ? context.debugDescription : "\(path): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }

    static func ok<T: Encodable>(_ value: T, status: Int = 200) throws -> HTTPResponse {
        HTTPResponse.json(status, try APIJSON.encode(value))
    }

    static func requireVersion(_ call: Call) throws -> UInt64 {
        guard let text = call.query("version"), let version = UInt64(text) else {
            throw APIError.badRequest("invalid version: the version query parameter is required (the object's Version.Index)")
        }
        return version
    }
}

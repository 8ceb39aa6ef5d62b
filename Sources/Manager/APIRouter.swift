import Formatting
import Foundation
import HTTPServer
import OCIImages
import SwarmAPI
import SystemCalls

/// The manager's HTTP API, in the shapes of the Docker Engine API v1.41
/// (paths, query parameters, JSON field names, status codes and error
/// bodies), plus the agents' dispatcher endpoints. The `swarm` CLI uses it
/// too: there is one API.
public struct APIRouter: Sendable {
    public static let apiVersion = "1.41"
    public let manager: ClusterManager
    /// Who the client certificate of a TCP request names: node ID and whether it is a manager.
    let identify: @Sendable ([UInt8]) -> (nodeID: String, manager: Bool)?
    let join: @Sendable (JoinRequest) async throws -> JoinResponse
    let newJoinToken: @Sendable (NodeRole) -> String
    let caCertificatePEM: String
    let engineVersion: String
    /// The manager's own images, served to nodes that cannot pull them.
    let images: ImageStore?

    public init(manager: ClusterManager, caCertificatePEM: String, engineVersion: String,
                images: ImageStore? = nil,
                identify: @escaping @Sendable ([UInt8]) -> (nodeID: String, manager: Bool)?,
                join: @escaping @Sendable (JoinRequest) async throws -> JoinResponse,
                newJoinToken: @escaping @Sendable (NodeRole) -> String) {
        self.images = images
        self.newJoinToken = newJoinToken
        self.manager = manager
        self.caCertificatePEM = caCertificatePEM
        self.engineVersion = engineVersion
        self.identify = identify
        self.join = join
    }

    public func handle(_ request: HTTPRequest) async -> HTTPResponse {
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

    /// `/v1.41/services` → `/services`.
    public static func unversioned(_ path: String) -> String {
        guard path.hasPrefix("/v"), let slash = path.dropFirst().firstIndex(of: "/") else { return path }
        let version = path[path.index(path.startIndex, offsetBy: 2)..<slash]
        // "v1.41" always has a dot; "/v2/" is the registry API.
        return version.contains(".") && version.allSatisfy({ $0.isNumber || $0 == "." }) ? String(path[slash...]) : path
    }

    func route(_ request: HTTPRequest) async throws -> HTTPResponse {
        let path = Self.unversioned(request.path)
        let parts = path.split(separator: "/").map(String.init)
        let method = request.method == "HEAD" ? "GET" : request.method

        // Open to anyone who reaches the port: joining needs only the token.
        switch Self.routeKey(method, parts) {
        case "POST swarm/join" where !request.isUnixSocket:
            return try Self.ok(try await join(try APIJSON.decode(JoinRequest.self, from: request.body)))
        case "GET swarm/ca":
            return HTTPResponse.text(200, caCertificatePEM)
        case "GET _ping":
            return HTTPResponse(status: 200, headers: pingHeaders, body: .bytes(Array("OK".utf8)))
        default: break
        }

        var caller: (nodeID: String, manager: Bool)? = nil
        if !request.isUnixSocket {
            guard let der = request.peerCertificateDER, let identity = identify(der) else {
                return Self.error(401, "a client certificate issued by this swarm's CA is required")
            }
            caller = identity
        }

        if parts.first == "v2", caller != nil {
            return try serveImage(parts)
        }
        if parts.first == "agent" {
            guard let node = caller?.nodeID else { return Self.error(403, "agent endpoints are for nodes (TCP with a node certificate)") }
            return try await agent(method, parts, request, node)
        }
        if let caller, !caller.manager {
            return Self.error(403, "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Please run this command on a manager node or promote the current node to a manager.")
        }
        return try await api(method, parts, request)
    }

    /// "POST services/*/update": the method and path with the object reference as `*`.
    static func routeKey(_ method: String, _ parts: [String]) -> String {
        var pattern = parts
        if pattern.count >= 2, ["nodes", "services", "tasks"].contains(pattern[0]), pattern[1] != "create" { pattern[1] = "*" }
        return method + " " + pattern.joined(separator: "/")
    }

    var pingHeaders: [(String, String)] {
        [("Api-Version", Self.apiVersion), ("Docker-Experimental", "false"), ("OSType", "linux"),
         ("Swarm", "active/manager"), ("Content-Type", "text/plain; charset=utf-8"), ("Cache-Control", "no-cache, no-store, must-revalidate")]
    }

    func agent(_ method: String, _ parts: [String], _ request: HTTPRequest, _ node: String) async throws -> HTTPResponse {
        switch Self.routeKey(method, parts) {
        case "POST agent/session":
            return try Self.ok(try await manager.openSession(nodeID: node, try APIJSON.decode(SessionRequest.self, from: request.body)))
        case "POST agent/heartbeat":
            return try Self.ok(try await manager.heartbeat(nodeID: node))
        case "POST agent/status":
            try await manager.reportStatus(nodeID: node, try APIJSON.decode(StatusBatch.self, from: request.body))
            return HTTPResponse.empty(204)
        case "GET agent/assignments":
            let since = request.queryValue("since").flatMap(UInt64.init)
            return try Self.ok(try await manager.assignments(nodeID: node, since: since))
        default:
            return Self.error(404, "page not found")
        }
    }

    func api(_ method: String, _ parts: [String], _ request: HTTPRequest) async throws -> HTTPResponse {
        let filters = try Filters(query: request.queryValue("filters"))
        let ref = parts.count > 1 ? parts[1] : ""
        switch Self.routeKey(method, parts) {
        case "GET version":
            return try Self.ok(VersionInfo(version: engineVersion))
        case "GET info":
            return try Self.ok(await info())
        case "GET swarm":
            return try Self.ok(await manager.swarmInfo())
        case "POST swarm/update":
            let version = try requireVersion(request)
            let spec = try APIJSON.decode(SwarmSpec.self, from: request.body)
            try await manager.updateSwarmSpec(version: version, spec: spec)
            if request.queryValue("rotateWorkerToken") == "true" || request.queryValue("rotateManagerToken") == "true" {
                let current = await manager.swarmInfo()
                _ = try await manager.rotateJoinToken(worker: request.queryValue("rotateWorkerToken") == "true",
                                                      manager: request.queryValue("rotateManagerToken") == "true",
                                                      version: current.version.index, newToken: newJoinToken)
            }
            return HTTPResponse.empty(200)
        case "POST swarm/init", "POST swarm/join":
            return Self.error(503, "This node is already part of a swarm. Use \"swarm leave\" to leave this swarm and join another one.")

        case "GET nodes":
            try filters.allow(["id", "label", "membership", "name", "node.label", "role"])
            let nodes = await manager.allNodes().filter { filters.matches($0) }.sorted { $0.description.hostname < $1.description.hostname }
            return try Self.ok(nodes)
        case "GET nodes/*":
            return try Self.ok(try await manager.node(ref))
        case "POST nodes/*/update":
            let version = try requireVersion(request)
            try await manager.updateNode(ref, version: version, spec: try APIJSON.decode(NodeSpec.self, from: request.body))
            return HTTPResponse.empty(200)
        case "DELETE nodes/*":
            try await manager.removeNode(ref, force: request.queryValue("force") == "true" || request.queryValue("force") == "1")
            return HTTPResponse.empty(200)

        case "GET services":
            try filters.allow(["id", "label", "mode", "name"])
            let services = await manager.allServices().filter { filters.matches($0) }.sorted { $0.spec.name < $1.spec.name }
            if request.queryValue("status") == "true" {
                let tasks = await manager.allTasks()
                let nodes = Dictionary(uniqueKeysWithValues: await manager.allNodes().map { ($0.id, $0) })
                return try Self.ok(services.map { ServiceWithStatus($0, tasks: tasks, nodes: nodes) })
            }
            return try Self.ok(services)
        case "GET services/*":
            return try Self.ok(try await manager.service(ref))
        case "POST services/create":
            let service = try await manager.createService(try APIJSON.decode(ServiceSpec.self, from: request.body))
            return try Self.ok(CreateResponse(id: service.id), status: 201)
        case "POST services/*/update":
            let version = try requireVersion(request)
            let spec = try APIJSON.decode(ServiceSpec.self, from: request.body)
            _ = try await manager.updateService(ref, version: version, spec: spec, rollback: request.queryValue("rollback") == "previous")
            return try Self.ok(UpdateResponse())
        case "DELETE services/*":
            try await manager.removeService(ref)
            return HTTPResponse.empty(200)

        case "GET tasks":
            try filters.allow(["_up-to-date", "desired-state", "id", "label", "name", "node", "service"])
            let services = await manager.allServices()
            let nodes = await manager.allNodes()
            var serviceIDs: Set<String>? = nil
            if filters.contains("service") {
                serviceIDs = Set(services.filter { service in
                    filters.values("service").contains { $0 == service.id || $0 == service.spec.name || (service.id.hasPrefix($0) && !$0.isEmpty) }
                }.map(\.id))
            }
            var nodeIDs: Set<String>? = nil
            if filters.contains("node") {
                nodeIDs = Set(nodes.filter { node in
                    filters.values("node").contains { $0 == node.id || $0 == node.description.hostname || (node.id.hasPrefix($0) && !$0.isEmpty) || ($0 == "self" && node.id == manager.nodeID) }
                }.map(\.id))
            }
            let tasks = await manager.allTasks().filter { task in
                (serviceIDs.map { $0.contains(task.serviceID) } ?? true)
                    && (nodeIDs.map { task.nodeID.map($0.contains) ?? false } ?? true)
                    && filters.matches(task)
            }.sorted { $0.createdAt < $1.createdAt }
            return try Self.ok(tasks)
        case "GET tasks/*":
            return try Self.ok(try await manager.task(ref))
        default:
            return Self.error(404, "page not found")
        }
    }

    /// A read-only registry (distribution API v2) over the manager's image
    /// store, for nodes only: `/v2/docker.io/library/busybox/manifests/latest`,
    /// `/v2/…/blobs/sha256:…`. Nodes check digests as for any registry.
    func serveImage(_ parts: [String]) throws -> HTTPResponse {
        guard let images, parts.count >= 4 else { return Self.error(404, "page not found") }
        let kind = parts[parts.count - 2], ref = parts[parts.count - 1]
        let repository = parts[1..<(parts.count - 2)].joined(separator: "/")
        switch kind {
        case "manifests":
            let name = repository + (ref.hasPrefix("sha256:") ? "@" : ":") + ref
            guard let image = try images.lookup(name) else {
                return HTTPResponse.json(404, Array("{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\"}]}".utf8))
            }
            let digest = image.manifestDigest
            return HTTPResponse(status: 200, headers: [("Content-Type", image.manifest.mediaType ?? "application/vnd.oci.image.manifest.v1+json"),
                                                       ("Docker-Content-Digest", digest.description)],
                                body: .file(path: images.blobPath(digest)))
        case "blobs":
            guard let digest = try? Digest(parsing: ref), images.hasBlob(digest) else {
                return HTTPResponse.json(404, Array("{\"errors\":[{\"code\":\"BLOB_UNKNOWN\",\"message\":\"blob unknown\"}]}".utf8))
            }
            return HTTPResponse(status: 200, headers: [("Content-Type", "application/octet-stream"), ("Docker-Content-Digest", ref)],
                                body: .file(path: images.blobPath(digest)))
        default:
            return Self.error(404, "page not found")
        }
    }

    func requireVersion(_ request: HTTPRequest) throws -> UInt64 {
        guard let text = request.queryValue("version"), let version = UInt64(text) else {
            throw APIError.badRequest("invalid version: the version query parameter is required (the object's Version.Index)")
        }
        return version
    }

    func info() async -> SystemInfo {
        let swarm = await manager.swarmInfo()
        let nodes = await manager.allNodes()
        let me = nodes.first { $0.id == manager.nodeID }
        let managers = nodes.filter { $0.spec.role == .manager }
        return SystemInfo(
            id: manager.nodeID, name: me?.description.hostname ?? "", serverVersion: engineVersion,
            operatingSystem: "linux", osType: "linux", architecture: me?.description.platform.architecture ?? "",
            ncpu: Int((me?.description.resources.nanoCPUs ?? 0) / 1_000_000_000), memTotal: me?.description.resources.memoryBytes ?? 0,
            swarm: SystemInfo.SwarmPart(
                nodeID: manager.nodeID, nodeAddr: me?.status.addr ?? "", localNodeState: "active", controlAvailable: true, error: "",
                remoteManagers: managers.map { .init(nodeID: $0.id, addr: $0.managerStatus?.addr ?? $0.status.addr) },
                nodes: nodes.count, managers: managers.count, cluster: swarm))
    }
}

public struct VersionInfo: Codable, Sendable {
    public var version: String
    public var apiVersion = APIRouter.apiVersion
    public var minAPIVersion = "1.12"
    public var os = "linux"
    public var arch = "amd64"
    public var kernelVersion: String = {
        var name = utsname()
        uname(&name)
        return withUnsafeBytes(of: name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }()
    init(version: String) { self.version = version }
}


import Foundation
import HTTPServer
import Testing
@testable import Manager
import SwarmAPI

/// The API's routes without a server or root: requests as values through
/// the router, answers compared by status and body.
struct APIRouterTests {
    /// Certificates stand for identities: [1] the manager, [2] a worker.
    static func router(_ cluster: ClusterFixture, images: (any ImageBlobSource)? = nil) -> APIRouter {
        APIRouter(manager: cluster.manager, caCertificatePEM: "PEM", engineVersion: "0.4.0", images: images,
                  identify: { der in der == [1] ? ("node1", true) : der == [2] ? ("node2", false) : nil },
                  join: { _ in throw APIError.badRequest("rpc error: code = InvalidArgument desc = A valid join token is necessary to join this cluster") },
                  newJoinToken: { role in "SWMTKN-new-\(role.rawValue)" })
    }

    static func get(_ path: String, query: [String: [String]] = [:], cert: [UInt8]? = nil) -> HTTPRequest {
        HTTPRequest(method: "GET", path: path, query: query, peerCertificateDER: cert, isUnixSocket: cert == nil)
    }

    static func post<T: Encodable>(_ path: String, _ body: T, query: [String: [String]] = [:]) throws -> HTTPRequest {
        HTTPRequest(method: "POST", path: path, query: query, body: try APIJSON.encode(body), isUnixSocket: true)
    }

    static func body(_ response: HTTPResponse) -> [UInt8] {
        if case .bytes(let bytes) = response.body { return bytes }
        return []
    }

    static func message(_ response: HTTPResponse) -> String? {
        try? APIJSON.decode(APIErrorBody.self, from: body(response)).message
    }

    @Test func servicesCreateReadUpdateRemove() async throws {
        let cluster = try await ClusterFixture(nodes: 1)
        let router = Self.router(cluster)
        let created = await router.handle(try Self.post("/v1.41/services/create", ClusterFixture.spec("web", replicas: 2)))
        #expect(created.status == 201)
        let id = try APIJSON.decode(CreateResponse.self, from: Self.body(created)).id
        let again = await router.handle(try Self.post("/services/create", ClusterFixture.spec("web")))
        #expect(again.status == 409)
        #expect(Self.message(again) == "rpc error: code = AlreadyExists desc = name conflicts with an existing object: service web already exists")

        let read = await router.handle(Self.get("/v1.41/services/web"))
        #expect(read.status == 200)
        let service = try APIJSON.decode(Service.self, from: Self.body(read))
        let stored = try await cluster.manager.service(id)
        let encoded = try APIJSON.encode(stored)
        #expect(service.id == id && Self.body(read) == encoded)

        let noVersion = await router.handle(try Self.post("/services/\(id)/update", service.spec))
        #expect(noVersion.status == 400)
        #expect(Self.message(noVersion) == "invalid version: the version query parameter is required (the object's Version.Index)")
        let updated = await router.handle(try Self.post("/services/\(id)/update", service.spec, query: ["version": ["\(service.version.index)"]]))
        #expect(updated.status == 200 && String(decoding: Self.body(updated), as: UTF8.self) == "{\"Warnings\":null}")
        let stale = await router.handle(try Self.post("/services/\(id)/update", service.spec, query: ["version": ["\(service.version.index)"]]))
        #expect(stale.status == 500 && Self.message(stale) == "rpc error: code = Unknown desc = update out of sequence")

        let list = await router.handle(Self.get("/services", query: ["filters": ["{\"name\":{\"web\":true}}"]]))
        #expect(try APIJSON.decode([Service].self, from: Self.body(list)).map(\.id) == [id])
        let badFilter = await router.handle(Self.get("/services", query: ["filters": ["{\"color\":{\"red\":true}}"]]))
        #expect(badFilter.status == 400)

        let removed = await router.handle(HTTPRequest(method: "DELETE", path: "/services/\(id)", isUnixSocket: true))
        #expect(removed.status == 200)
        let gone = await router.handle(Self.get("/services/\(id)"))
        #expect(gone.status == 404 && Self.message(gone) == "service \(id) not found")
    }

    @Test func nodesTasksAndTheSwarm() async throws {
        let cluster = try await ClusterFixture(nodes: 2)
        let router = Self.router(cluster)
        _ = try await cluster.manager.createService(ClusterFixture.spec("web", replicas: 2))
        try await cluster.settle()
        let nodes = try APIJSON.decode([Node].self, from: Self.body(await router.handle(Self.get("/nodes"))))
        #expect(nodes.map(\.description.hostname) == ["host1", "host2"])
        let tasks = try APIJSON.decode([SwarmTask].self, from: Self.body(await router.handle(
            Self.get("/tasks", query: ["filters": ["{\"service\":{\"web\":true},\"node\":{\"host2\":true}}"]]))))
        #expect(tasks.count == 1 && tasks.allSatisfy { $0.nodeID == "node2" })
        let missing = await router.handle(Self.get("/tasks/zzz"))
        #expect(missing.status == 404 && Self.message(missing) == "task zzz not found")
        let manager = try await cluster.manager.node("node1")
        var demote = manager.spec
        demote.role = .worker
        let refused = await router.handle(try Self.post("/nodes/node1/update", demote, query: ["version": ["\(manager.version.index)"]]))
        #expect(refused.status == 400 && Self.message(refused) == "rpc error: code = FailedPrecondition desc = attempting to demote the last manager of the swarm")

        let swarm = try APIJSON.decode(SwarmInfo.self, from: Self.body(await router.handle(Self.get("/swarm"))))
        let rotated = await router.handle(try Self.post("/swarm/update", swarm.spec,
                                                        query: ["version": ["\(swarm.version.index)"], "rotateWorkerToken": ["true"]]))
        #expect(rotated.status == 200)
        #expect(try await cluster.manager.swarmInfo().joinTokens.worker == "SWMTKN-new-worker")
        let init_ = await router.handle(try Self.post("/swarm/init", swarm.spec))
        #expect(init_.status == 503)
        let info = try APIJSON.decode(SystemInfo.self, from: Self.body(await router.handle(Self.get("/info"))))
        #expect(info.swarm.nodes == 2 && info.swarm.managers == 1 && info.id == "node1")
    }

    @Test func whoMayCallWhat() async throws {
        let cluster = try await ClusterFixture(nodes: 2)
        let router = Self.router(cluster)
        let ping = await router.handle(Self.get("/_ping", cert: []))
        #expect(ping.status == 200 && Self.body(ping) == Array("OK".utf8))
        #expect(ping.headers.contains { $0 == ("Swarm", "active/manager") })
        let ca = await router.handle(HTTPRequest(method: "GET", path: "/swarm/ca"))
        #expect(ca.status == 200)
        let join = await router.handle(HTTPRequest(method: "POST", path: "/swarm/join", body: try APIJSON.encode(JoinRequest(token: "x", csrPEM: "", hostname: "h", advertiseAddr: "a"))))
        #expect(join.status == 400 && Self.message(join) == "rpc error: code = InvalidArgument desc = A valid join token is necessary to join this cluster")
        let anonymous = await router.handle(HTTPRequest(method: "GET", path: "/services"))
        #expect(anonymous.status == 401 && Self.message(anonymous) == "a client certificate issued by this swarm's CA is required")
        let worker = await router.handle(Self.get("/services", cert: [2]))
        #expect(worker.status == 403 && Self.message(worker)?.hasPrefix("This node is not a swarm manager.") == true)
        let agentOnSocket = await router.handle(HTTPRequest(method: "POST", path: "/agent/heartbeat", isUnixSocket: true))
        #expect(agentOnSocket.status == 403 && Self.message(agentOnSocket) == "agent endpoints are for nodes (TCP with a node certificate)")
        let heartbeat = await router.handle(HTTPRequest(method: "POST", path: "/agent/heartbeat", peerCertificateDER: [2]))
        #expect(heartbeat.status == 200)
        let assignments = await router.handle(Self.get("/agent/assignments", cert: [2]))
        #expect(assignments.status == 200)
        let unknown = await router.handle(Self.get("/nothing/here"))
        #expect(unknown.status == 404 && Self.message(unknown) == "page not found: GET /nothing/here is not an endpoint of the Docker Engine API")
    }

    struct OneImage: ImageBlobSource {
        func manifest(repository: String, reference: String) throws -> ImageBlob? {
            repository == "docker.io/library/busybox" && reference == "latest"
                ? ImageBlob(mediaType: "application/vnd.oci.image.manifest.v1+json", digest: "sha256:aa", path: "/blobs/aa") : nil
        }
        func blob(digest: String) throws -> ImageBlob? {
            digest == "sha256:bb" ? ImageBlob(mediaType: "application/octet-stream", digest: digest, path: "/blobs/bb") : nil
        }
    }

    @Test func theImageMirrorServesTheBlobSourceToNodesOnly() async throws {
        let cluster = try await ClusterFixture(nodes: 1)
        let router = Self.router(cluster, images: OneImage())
        let manifest = await router.handle(Self.get("/v2/docker.io/library/busybox/manifests/latest", cert: [2]))
        #expect(manifest.status == 200)
        #expect(manifest.headers.contains { $0 == ("Docker-Content-Digest", "sha256:aa") })
        if case .file(let path) = manifest.body { #expect(path == "/blobs/aa") } else { Issue.record("expected a file body") }
        let unknown = await router.handle(Self.get("/v2/docker.io/library/busybox/manifests/other", cert: [2]))
        #expect(unknown.status == 404 && String(decoding: Self.body(unknown), as: UTF8.self).contains("MANIFEST_UNKNOWN"))
        let blob = await router.handle(Self.get("/v2/docker.io/library/busybox/blobs/sha256:bb", cert: [2]))
        #expect(blob.status == 200)
        let noBlob = await router.handle(Self.get("/v2/docker.io/library/busybox/blobs/sha256:cc", cert: [2]))
        #expect(noBlob.status == 404 && String(decoding: Self.body(noBlob), as: UTF8.self).contains("BLOB_UNKNOWN"))
        // On the unix socket /v2 is no route.
        #expect(await router.handle(Self.get("/v2/docker.io/library/busybox/manifests/latest")).status == 404)
    }
}

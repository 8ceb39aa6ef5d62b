import Foundation
import HTTPServer
import Testing
@testable import Manager
import SwarmAPI

/// X-Registry-Auth on service create and update: kept with the service
/// and its tasks (for the agents), never in what clients read.
struct RegistryAuthRouteTests {
    static func post(_ path: String, _ spec: ServiceSpec, query: [String: [String]] = [:], auth: String? = nil) throws -> HTTPRequest {
        HTTPRequest(method: "POST", path: path, query: query, headers: auth.map { [("X-Registry-Auth", $0)] } ?? [],
                    body: try APIJSON.encode(spec), isUnixSocket: true)
    }

    @Test func keptForTheAgentsNeverShown() async throws {
        let cluster = try await ClusterFixture(nodes: 1)
        let router = APIRouterTests.router(cluster)
        let auth = "eyJ1c2VybmFtZSI6InUiLCJwYXNzd29yZCI6InAifQ=="
        var sent = ClusterFixture.spec("web")
        // A body's PullOptions is not the client's to set: only the header counts.
        sent.taskTemplate.containerSpec?.pullOptions = PullOptions(registryAuth: "from-body")
        let created = await router.handle(try Self.post("/services/create", sent, auth: auth))
        #expect(created.status == 201)
        let id = try APIJSON.decode(CreateResponse.self, from: APIRouterTests.body(created)).id
        #expect(try await cluster.manager.service(id).spec.taskTemplate.containerSpec?.pullOptions?.registryAuth == auth)
        try await cluster.settle()

        for (path, query) in [("/services/\(id)", [:]), ("/services", [:]), ("/tasks", [:]), ("/services", ["status": ["true"]])] {
            let text = String(decoding: APIRouterTests.body(await router.handle(APIRouterTests.get(path, query: query))), as: UTF8.self)
            #expect(!text.contains("PullOptions") && !text.contains(auth) && text.contains(id), "\(path): \(text)")
        }
        let task = try #require(await cluster.manager.allTasks().first { $0.serviceID == id })
        let taskText = String(decoding: APIRouterTests.body(await router.handle(APIRouterTests.get("/tasks/\(task.id)"))), as: UTF8.self)
        #expect(!taskText.contains("PullOptions"), "\(taskText)")
        // The node the task is assigned to gets it.
        let assignments = String(decoding: APIRouterTests.body(await router.handle(APIRouterTests.get("/agent/assignments", cert: [1]))), as: UTF8.self)
        #expect(assignments.contains(auth), "\(assignments)")

        // An update without the header keeps it; one with a new header replaces it.
        let read = try APIJSON.decode(Service.self, from: APIRouterTests.body(await router.handle(APIRouterTests.get("/services/\(id)"))))
        var changed = read.spec
        changed.labels = ["v": "2"]
        let kept = await router.handle(try Self.post("/services/\(id)/update", changed, query: ["version": ["\(read.version.index)"]]))
        #expect(kept.status == 200)
        let afterKeep = try await cluster.manager.service(id)
        #expect(afterKeep.spec.taskTemplate.containerSpec?.pullOptions?.registryAuth == auth)
        // The template did not change: no rolling update for a label.
        #expect(afterKeep.specIndex == read.specIndex)
        let replaced = await router.handle(try Self.post("/services/\(id)/update", changed, query: ["version": ["\(afterKeep.version.index)"]], auth: "bmV3"))
        #expect(replaced.status == 200)
        #expect(try await cluster.manager.service(id).spec.taskTemplate.containerSpec?.pullOptions?.registryAuth == "bmV3")
    }
}

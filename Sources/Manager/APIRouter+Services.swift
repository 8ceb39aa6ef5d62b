import HTTPServer
import SwarmAPI

/// `/services`.
extension APIRouter {
    static let servicesRoutes: [String: Route] = [
        "GET services": { router, call in
            try call.filters.allow(["id", "label", "mode", "name"])
            let services = await router.manager.allServices().filter { call.filters.matches($0) }.sorted { $0.spec.name < $1.spec.name }
            if call.query("status") == "true" {
                let tasks = await router.manager.allTasks()
                let nodes = Dictionary(uniqueKeysWithValues: await router.manager.allNodes().map { ($0.id, $0) })
                return try ok(services.map { ServiceWithStatus($0, tasks: tasks, nodes: nodes) })
            }
            return try ok(services)
        },
        "GET services/*": { router, call in try ok(try await router.manager.service(call.ref)) },
        "POST services/create": { router, call in
            let service = try await router.manager.createService(try serviceSpec(from: call.request.body, generateName: true))
            return try ok(CreateResponse(id: service.id), status: 201)
        },
        "POST services/*/update": { router, call in
            let version = try requireVersion(call)
            let spec = try serviceSpec(from: call.request.body, generateName: false)
            _ = try await router.manager.updateService(call.ref, version: version, spec: spec, rollback: call.query("rollback") == "previous")
            return try ok(UpdateResponse())
        },
        "DELETE services/*": { router, call in
            try await router.manager.removeService(call.ref)
            return HTTPResponse.empty(200)
        },
    ]
}

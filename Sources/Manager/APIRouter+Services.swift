import HTTPServer
import SwarmAPI

/// `/services`.
extension APIRouter {
    static let servicesRoutes: [String: Route] = [
        "GET services": { router, call in
            try call.filters.allow(["id", "label", "mode", "name"])
            let services = await router.manager.allServices().filter { call.filters.matches($0) }.sorted { $0.spec.name < $1.spec.name }
                .map(\.redactingRegistryAuth)
            if call.query("status") == "true" {
                let tasks = await router.manager.allTasks()
                let nodes = Dictionary(uniqueKeysWithValues: await router.manager.allNodes().map { ($0.id, $0) })
                return try ok(services.map { ServiceWithStatus($0, tasks: tasks, nodes: nodes) })
            }
            return try ok(services)
        },
        "GET services/*": { router, call in try ok(try await router.manager.service(call.ref).redactingRegistryAuth) },
        "POST services/create": { router, call in
            var spec = try serviceSpec(from: call.request.body, generateName: true)
            // Only the header carries a login (Docker's API has no PullOptions in the body).
            spec.taskTemplate.containerSpec?.pullOptions = registryAuth(call).map { PullOptions(registryAuth: $0) }
            let service = try await router.manager.createService(spec)
            return try ok(CreateResponse(id: service.id), status: 201)
        },
        "POST services/*/update": { router, call in
            let version = try requireVersion(call)
            var spec = try serviceSpec(from: call.request.body, generateName: false)
            // Without a new login the service keeps the one it has, as Docker's daemon does.
            if let auth = registryAuth(call) {
                spec.taskTemplate.containerSpec?.pullOptions = PullOptions(registryAuth: auth)
            } else {
                spec.taskTemplate.containerSpec?.pullOptions = try await router.manager.service(call.ref).spec.taskTemplate.containerSpec?.pullOptions
            }
            _ = try await router.manager.updateService(call.ref, version: version, spec: spec, rollback: call.query("rollback") == "previous")
            return try ok(UpdateResponse())
        },
        "DELETE services/*": { router, call in
            try await router.manager.removeService(call.ref)
            return HTTPResponse.empty(200)
        },
    ]
}

extension APIRouter {
    /// The X-Registry-Auth header, kept as sent when it is set (as Docker's daemon keeps it).
    static func registryAuth(_ call: Call) -> String? {
        guard let header = call.request.header("X-Registry-Auth"), !header.isEmpty else { return nil }
        return header
    }
}

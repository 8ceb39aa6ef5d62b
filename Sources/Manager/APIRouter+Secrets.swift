import Formatting
import HTTPServer
import SwarmAPI

/// `/secrets` and `/configs` (Docker's Engine API), and the agents' reads
/// of the values their tasks are granted.
extension APIRouter {
    static let secretRoutes: [String: Route] = routes(SwarmSecret.self, "secrets")
        .merging(routes(SwarmConfig.self, "configs")) { $1 }

    static let agentSecretRoutes: [String: Route] = [
        "GET agent/secrets/*": { router, call in
            try ok(SecretPayload(id: call.parts[2], data: try await router.manager.secretValue(SwarmSecret.self, call.parts[2], forNode: call.node!)))
        },
        "GET agent/configs/*": { router, call in
            try ok(SecretPayload(id: call.parts[2], data: try await router.manager.secretValue(SwarmConfig.self, call.parts[2], forNode: call.node!)))
        },
    ]

    private static func routes<T: SecretObject>(_ type: T.Type, _ family: String) -> [String: Route] {
        [
            "GET \(family)": { router, call in
                try call.filters.allow(["id", "label", "name", "names"])
                let objects = await router.manager.secretObjects(T.self).filter { call.filters.matches(secret: $0) }
                return try ok(objects.sorted { $0.spec.name < $1.spec.name })
            },
            "GET \(family)/*": { router, call in try ok(try await router.manager.secretObject(T.self, call.ref)) },
            "POST \(family)/create": { router, call in
                let spec = try StrictDecoding.decode(SecretSpec.self, from: call.request.body, amend: { _ in }, explain: { path in
                    APIError(501, "\(T.noun) field \(path) is not supported yet (drivers and templating are not built)")
                })
                return try ok(CreateResponse(id: try await router.manager.createSecretObject(T.self, spec)), status: 201)
            },
            "POST \(family)/*/update": { router, call in
                let version = try requireVersion(call)
                let spec = try APIJSON.decode(SecretSpec.self, from: call.request.body)
                try await router.manager.updateSecretObject(T.self, call.ref, version: version, spec: spec)
                return HTTPResponse.empty(200)
            },
            "DELETE \(family)/*": { router, call in
                try await router.manager.removeSecretObject(T.self, call.ref)
                return HTTPResponse.empty(204)
            },
        ]
    }
}

extension Filters {
    func matches<T: SecretObject>(secret object: T) -> Bool {
        prefixMatch("id", object.id)
            && prefixMatch("name", object.spec.name)
            && exactMatch("names", object.spec.name)
            && labelMatch(labels: object.spec.labels ?? [:])
    }
}

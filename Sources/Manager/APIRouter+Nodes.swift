import HTTPServer
import SwarmAPI

/// `/nodes`.
extension APIRouter {
    static let nodesRoutes: [String: Route] = [
        "GET nodes": { router, call in
            try call.filters.allow(["id", "label", "membership", "name", "node.label", "role"])
            let nodes = await router.manager.allNodes().filter { call.filters.matches($0) }.sorted { $0.description.hostname < $1.description.hostname }
            return try ok(nodes)
        },
        "GET nodes/*": { router, call in try ok(try await router.manager.node(call.ref)) },
        "POST nodes/*/update": { router, call in
            let version = try requireVersion(call)
            try DockerSpecChecks.node(call.request.body)
            try await router.manager.updateNode(call.ref, version: version, spec: try StrictDecoding.decode(NodeSpec.self, from: call.request.body))
            return HTTPResponse.empty(200)
        },
        "DELETE nodes/*": { router, call in
            try await router.manager.removeNode(call.ref, force: call.query("force") == "true" || call.query("force") == "1")
            return HTTPResponse.empty(200)
        },
    ]
}

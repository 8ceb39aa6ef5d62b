import HTTPServer
import SwarmAPI

/// `/agent/…`: the dispatcher's endpoints, for nodes (TCP with a node certificate).
extension APIRouter {
    static let agentRoutes: [String: Route] = [
        "POST agent/session": { router, call in
            try ok(try await router.manager.openSession(nodeID: call.node!, try APIJSON.decode(SessionRequest.self, from: call.request.body)))
        },
        "POST agent/heartbeat": { router, call in try ok(try await router.manager.heartbeat(nodeID: call.node!)) },
        "POST agent/role": { router, call in
            guard let changeRole = router.changeRole else { throw APIError(501, "this manager cannot change a node's role") }
            return try ok(try await changeRole(call.node!, try APIJSON.decode(RoleChangeRequest.self, from: call.request.body)))
        },
        "POST agent/status": { router, call in
            try await router.manager.reportStatus(nodeID: call.node!, try APIJSON.decode(StatusBatch.self, from: call.request.body))
            return HTTPResponse.empty(204)
        },
        "GET agent/assignments": { router, call in
            let since = call.query("since").flatMap(UInt64.init)
            return try ok(try await router.manager.assignments(nodeID: call.node!, since: since))
        },
        "POST agent/attachments": { router, call in
            try ok(try await router.manager.attachContainer(nodeID: call.node!, try APIJSON.decode(AttachmentRequest.self, from: call.request.body)))
        },
        "DELETE agent/attachments/*": { router, call in
            try await router.manager.detachContainer(nodeID: call.node!, attachmentID: call.parts[2])
            return HTTPResponse.empty(204)
        },
    ]
}

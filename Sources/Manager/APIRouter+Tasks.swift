import HTTPServer
import SwarmAPI

/// `/tasks`.
extension APIRouter {
    static let tasksRoutes: [String: Route] = [
        "GET tasks": { router, call in try ok(try await router.tasks(call).map(\.redactingRegistryAuth)) },
        "GET tasks/*": { router, call in try ok(try await router.manager.task(call.ref).redactingRegistryAuth) },
    ]

    /// Docker's task filters; `service` and `node` match IDs, names and unique ID prefixes.
    func tasks(_ call: Call) async throws -> [SwarmTask] {
        let filters = call.filters
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
        // `label` matches the service's labels, as swarmkit's (a task's own are empty): `docker stack ps`.
        let serviceLabels = filters.contains("label") ? Dictionary(services.map { ($0.id, $0.spec.labels ?? [:]) }, uniquingKeysWith: { a, _ in a }) : [:]
        return await manager.allTasks().filter { task in
            (serviceIDs.map { $0.contains(task.serviceID) } ?? true)
                && (nodeIDs.map { task.nodeID.map($0.contains) ?? false } ?? true)
                && filters.matches(task, serviceLabels: serviceLabels[task.serviceID] ?? [:])
        }.sorted { $0.createdAt < $1.createdAt }
    }
}

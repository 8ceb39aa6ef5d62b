import NodeAgent
import OverlayNetwork
import ServiceMesh
import SwarmAPI

/// A node's whole data path for its tasks: the overlay (namespaces,
/// bridges, VXLAN, veths, the gateway bridge) first, then the service mesh
/// on what it made (VIP rules and the DNS server in each task's namespace,
/// the ingress routing mesh and masquerade in the node's). Undone in the
/// opposite order.
actor NodeNetworking: TaskNetworking {
    let overlay: OverlayDataPath
    let mesh: ServiceMesh
    private var adopted = false
    /// The last views the manager sent, by network ID (an attachment waits for its own endpoint there).
    private(set) var views: [String: NetworkView] = [:]

    init(overlay: OverlayDataPath, mesh: ServiceMesh = ServiceMesh()) {
        self.overlay = overlay
        self.mesh = mesh
    }

    func update(_ networks: [NetworkView]) async {
        views = Dictionary(networks.map { ($0.network.id, $0) }, uniquingKeysWith: { $1 })
        await overlay.update(networks)
        await mesh.update(networks, node: await overlay.nodeWiring)
        // Tasks the overlay found wired after a restart get their DNS server and rules back.
        if !adopted {
            adopted = true
            for task in await overlay.adoptedTasks() {
                try? await mesh.attach(task)
            }
        }
    }

    func prepare(_ task: SwarmTask) async throws -> String? {
        let namespace = try await overlay.prepare(task)
        if let wired = await overlay.wired(task.id) {
            do { try await mesh.attach(wired) } catch {
                await overlay.release(taskID: task.id)
                throw error
            }
        }
        return namespace
    }

    func release(taskID: String) async {
        await mesh.detach(taskID: taskID)
        await overlay.release(taskID: taskID)
    }

    func removeAll() async {
        await mesh.removeAll()
        await overlay.removeAll()
    }

    /// Tasks only: attached containers are `NodeAttachments`' to release.
    func wiredTaskIDs() async -> Set<String> {
        var ids = await overlay.wiredTaskIDs()
        for id in ids where await overlay.wired(id).map(Self.isAttachment) == true { ids.remove(id) }
        return ids
    }
}

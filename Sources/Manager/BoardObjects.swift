import SwarmAPI

/// What the visualizer's page shows of a node: only what it draws, so that
/// a heartbeat or another field the page does not show sends nothing.
public struct BoardNode: Codable, Equatable, Sendable {
    public var id: String
    public var hostname: String
    public var role: String
    public var leader: Bool
    public var availability: String
    /// "ready", "down", "unknown", "disconnected".
    public var state: String
    public var addr: String
    public var cpus: Double
    public var memoryBytes: Int64
    public var labels: [String: String]

    init(_ node: Node) {
        id = node.id
        hostname = node.description.hostname.isEmpty ? node.spec.name ?? node.id : node.description.hostname
        role = node.spec.role.rawValue
        leader = node.managerStatus?.leader ?? false
        availability = node.spec.availability.rawValue
        state = node.status.state.rawValue
        addr = node.status.addr
        cpus = Double(node.description.resources.nanoCPUs ?? 0) / 1e9
        memoryBytes = node.description.resources.memoryBytes ?? 0
        labels = node.spec.labels
    }
}

/// A service as the page names, colours and filters it.
public struct BoardService: Codable, Equatable, Sendable {
    public var id: String
    public var name: String
    /// The stack it belongs to (label com.docker.stack.namespace), if any.
    public var stack: String?
    public var mode: String
    public var replicas: UInt64?

    init(_ service: Service) {
        id = service.id
        name = service.spec.name
        stack = service.spec.labels?["com.docker.stack.namespace"]
        mode = service.spec.mode.isGlobal ? "global" : "replicated"
        replicas = service.spec.mode.replicated?.replicas
    }
}

/// A task the page draws: one whose desired state is running (or before).
public struct BoardTask: Codable, Equatable, Sendable {
    public var id: String
    public var serviceID: String
    public var slot: Int?
    /// Nil while the task waits for a node: the page's pending column.
    public var nodeID: String?
    /// image:tag, without the pinned digest.
    public var image: String
    public var state: String
    public var desiredState: String
    /// When the task entered its state, milliseconds since 1970.
    public var since: Int64
    public var message: String
    /// The scheduler's or the agent's reason (why it is pending, why it failed).
    public var err: String?

    init(_ task: SwarmTask) {
        id = task.id
        serviceID = task.serviceID
        slot = task.slot
        nodeID = task.nodeID
        let image = task.spec.containerSpec?.image ?? ""
        self.image = image.firstIndex(of: "@").map { String(image[..<$0]) } ?? image
        state = task.status.state.name
        desiredState = task.desiredState.name
        since = task.status.timestamp.nanoseconds / 1_000_000
        message = task.status.message
        err = task.status.err
    }

    /// Whether the page shows the task at all.
    static func shown(_ task: SwarmTask) -> Bool { task.desiredState <= .running }
}

/// One message of the page's feed: everything (`full`) or what changed.
public struct BoardUpdate: Codable, Sendable {
    public var full: Bool
    /// The store's index the update brings the page to.
    public var index: UInt64
    /// The manager's clock when sent (ms since 1970): the page computes ages against it.
    public var now: Int64
    public var nodes: [BoardNode]
    public var services: [BoardService]
    public var tasks: [BoardTask]
    public var removedNodes: [String]
    public var removedServices: [String]
    public var removedTasks: [String]

    var isEmpty: Bool {
        nodes.isEmpty && services.isEmpty && tasks.isEmpty && removedNodes.isEmpty && removedServices.isEmpty && removedTasks.isEmpty
    }
}

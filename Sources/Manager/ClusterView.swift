import ClusterStore
import SwarmAPI

/// A component's copy of the objects it reads, rebuilt from the store's
/// watch: a snapshot, then every committed change. Read-only to the
/// component: it changes state only by committing to the store.
struct ClusterView {
    private(set) var index: UInt64 = 0
    private(set) var swarm: SwarmInfo?
    private(set) var nodes: [String: Node] = [:]
    private(set) var services: [String: Service] = [:]
    /// Kept as the store's shared objects, not copies (a task is large; there can be 100,000).
    private var storedTasks: [String: StoreObject] = [:]
    private(set) var tasksOfService: [String: Set<String>] = [:]
    private(set) var tasksOfNode: [String: Set<String>] = [:]
    /// Tasks of each replicated slot, so that one task's change costs a
    /// look at its slot, not at every task of its service.
    private var tasksOfSlot: [Slot: Set<String>] = [:]

    struct Slot: Hashable {
        var serviceID: String
        var number: Int
    }

    init() {}

    init(_ snapshot: StoreSnapshot) {
        index = snapshot.index
        swarm = snapshot.swarm
        for node in snapshot.nodes { nodes[node.id] = node }
        for service in snapshot.services { services[service.id] = service }
        for task in snapshot.tasks { add(task) }
    }

    mutating func apply(_ change: StoreChange) {
        index = max(index, change.index)
        switch (change.object, change.action) {
        case (.swarm(let swarm), .deleted): if self.swarm?.id == swarm.id { self.swarm = nil }
        case (.swarm(let swarm), _): self.swarm = swarm
        case (.node(let node), .deleted): nodes[node.id] = nil
        case (.node(let node), _): nodes[node.id] = node
        case (.service(let service), .deleted): services[service.id] = nil
        case (.service(let service), _): services[service.id] = service
        case (.task(let task), .deleted): remove(task.id)
        case (.task(let task), _): add(task, change.object)
        case (.secret, _), (.config, _): break
        case (.network, _): break
        }
    }

    private mutating func add(_ task: SwarmTask, _ stored: StoreObject? = nil) {
        if let old = self.task(task.id), let oldNode = old.nodeID, oldNode != task.nodeID {
            tasksOfNode[oldNode]?.remove(task.id)
        }
        storedTasks[task.id] = stored ?? .task(task)
        tasksOfService[task.serviceID, default: []].insert(task.id)
        if let slot = task.slot { tasksOfSlot[Slot(serviceID: task.serviceID, number: slot), default: []].insert(task.id) }
        if let node = task.nodeID { tasksOfNode[node, default: []].insert(task.id) }
    }

    private mutating func remove(_ id: String) {
        guard let stored = storedTasks.removeValue(forKey: id), case .task(let task) = stored else { return }
        tasksOfService[task.serviceID]?.remove(id)
        if tasksOfService[task.serviceID]?.isEmpty == true { tasksOfService[task.serviceID] = nil }
        if let number = task.slot {
            let slot = Slot(serviceID: task.serviceID, number: number)
            tasksOfSlot[slot]?.remove(id)
            if tasksOfSlot[slot]?.isEmpty == true { tasksOfSlot[slot] = nil }
        }
        if let node = task.nodeID {
            tasksOfNode[node]?.remove(id)
            if tasksOfNode[node]?.isEmpty == true { tasksOfNode[node] = nil }
        }
    }

    func task(_ id: String) -> SwarmTask? {
        guard case .task(let task) = storedTasks[id] else { return nil }
        return task
    }

    var allTasks: [SwarmTask] { storedTasks.keys.compactMap(task) }

    func tasks(ofService id: String) -> [SwarmTask] { (tasksOfService[id] ?? []).compactMap(task) }
    func tasks(ofSlot number: Int, service id: String) -> [SwarmTask] {
        (tasksOfSlot[Slot(serviceID: id, number: number)] ?? []).compactMap(task)
    }
    func tasks(ofNode id: String) -> [SwarmTask] { (tasksOfNode[id] ?? []).compactMap(task) }
}

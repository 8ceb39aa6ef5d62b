import SwarmAPI

extension ClusterManager {
    /// The scheduler: places every task that has no node. Filters (node
    /// ready and active, constraints, platform, cgroup controllers,
    /// reservations, max replicas per node), then spread: the node with the
    /// fewest tasks of the service, then the fewest tasks.
    func schedule(_ changes: inout PendingChanges, _ now: Timestamp, scope: [String]) {
        var unplaced: [String: [SwarmTask]] = [:]
        for task in changes.created where task.nodeID == nil { unplaced[task.serviceID, default: []].append(task) }
        // Tasks still waiting for a node, in the services this pass looked at
        // (all of them after a node changed).
        for serviceID in scope {
            for id in tasksOfService[serviceID] ?? [] where !changes.deleted.contains(id) {
                guard let task = changes.updated[id] ?? tasks[id], task.nodeID == nil,
                      task.desiredState <= .running, task.status.state < .assigned else { continue }
                unplaced[task.serviceID, default: []].append(task)
            }
        }
        guard !unplaced.isEmpty else { return }
        var load = NodeLoad(manager: self, changes: changes)
        var placed: [String: SwarmTask] = [:]
        for (serviceID, group) in unplaced {
            let spec = services[serviceID]?.spec.taskTemplate ?? group[0].spec
            // Parsed once per service, not once per node (the API validated them).
            let constraints = (spec.placement?.constraints ?? []).compactMap { try? Constraint(parsing: $0) }
            var candidates = SpreadQueue()
            var rejections: [String: Int] = [:]
            for node in nodes.values {
                if let reason = filter(node, spec, constraints) {
                    rejections[reason, default: 0] += 1
                } else {
                    candidates.push(node.id, ofService: load.count(serviceID, node.id), total: load.total(node.id))
                }
            }
            let maxPerNode = spec.placement?.maxReplicas ?? 0
            let reservation = spec.resources?.reservations
            for var task in group.sorted(by: { ($0.slot ?? 0) < ($1.slot ?? 0) }) {
                var chosen: String? = nil
                var skipped: [(String, Int, Int)] = []
                while let candidate = candidates.pop() {
                    if maxPerNode > 0 && candidate.ofService >= Int(maxPerNode) {
                        rejections["max replicas per node limit exceed", default: 0] += 1
                        continue
                    }
                    if let reservation, !load.fits(reservation, on: candidate.node) {
                        rejections["insufficient resources", default: 0] += 1
                        continue
                    }
                    chosen = candidate.node
                    skipped.append((candidate.node, candidate.ofService + 1, candidate.total + 1))
                    break
                }
                for entry in skipped { candidates.push(entry.0, ofService: entry.1, total: entry.2) }
                if let chosen {
                    load.add(serviceID, chosen, reservation)
                    task.nodeID = chosen
                    task.status = TaskStatus(timestamp: now, state: .assigned, message: "scheduler assigned task to node")
                } else {
                    let error = noSuitableNode(rejections)
                    if task.status.state == .pending && task.status.err == error { continue }
                    task.status = TaskStatus(timestamp: now, state: .pending, message: "pending task scheduling", err: error)
                }
                placed[task.id] = task
            }
        }
        changes.created = changes.created.map { placed.removeValue(forKey: $0.id) ?? $0 }
        for (id, task) in placed { changes.updated[id] = task }
    }

    /// Why `node` cannot take a task of `spec`, as swarmkit's filters explain it; nil if it can.
    func filter(_ node: Node, _ spec: TaskSpec, _ constraints: [Constraint]) -> String? {
        if node.status.state != .ready || node.spec.availability != .active { return "node not available for new tasks" }
        if !constraints.allSatisfy({ $0.matches(node) }) { return "scheduling constraints not satisfied" }
        if let limits = spec.resources?.limits {
            let have = Set(node.description.cgroupControllers ?? [])
            let need = [(limits.memoryBytes, "memory"), (limits.nanoCPUs, "cpu"), (limits.pids, "pids")]
                .filter { ($0.0 ?? 0) > 0 }.map(\.1)
            if !need.allSatisfy(have.contains) { return "cgroup controllers for the task's limits missing" }
        }
        return nil
    }

    /// swarmkit's wording: `no suitable node (scheduling constraints not satisfied on 3 nodes)`.
    func noSuitableNode(_ rejections: [String: Int]) -> String {
        guard !rejections.isEmpty else { return "no suitable node" }
        let order = ["node not available for new tasks", "insufficient resources", "scheduling constraints not satisfied",
                     "cgroup controllers for the task's limits missing", "max replicas per node limit exceed"]
        let parts = order.compactMap { reason -> String? in
            guard let count = rejections[reason] else { return nil }
            if reason == "node not available for new tasks" { return "\(count) node\(count == 1 ? "" : "s") not available for new tasks" }
            if reason == "max replicas per node limit exceed" { return reason }
            return "\(reason) on \(count) node\(count == 1 ? "" : "s")"
        }
        return "no suitable node (\(parts.joined(separator: "; ")))"
    }
}

/// Tasks and reservations per node, counting what this pass already decided.
struct NodeLoad {
    private var perService: [String: [String: Int]] = [:]
    private var totals: [String: Int] = [:]
    private var reservedCPU: [String: Int64] = [:]
    private var reservedMemory: [String: Int64] = [:]
    private let capacity: [String: Resources]

    init(manager: isolated ClusterManager, changes: PendingChanges) {
        var capacity: [String: Resources] = [:]
        for node in manager.nodes.values { capacity[node.id] = node.description.resources }
        self.capacity = capacity
        for (nodeID, ids) in manager.tasksOfNode {
            for id in ids {
                guard let task = changes.updated[id] ?? manager.tasks[id], task.nodeID == nodeID,
                      task.desiredState <= .running, !task.status.state.isTerminal else { continue }
                add(task.serviceID, nodeID, task.spec.resources?.reservations)
            }
        }
        for task in changes.created { if let node = task.nodeID { add(task.serviceID, node, task.spec.resources?.reservations) } }
    }

    func count(_ service: String, _ node: String) -> Int { perService[service]?[node] ?? 0 }
    func total(_ node: String) -> Int { totals[node] ?? 0 }

    func fits(_ reservation: Resources, on node: String) -> Bool {
        let have = capacity[node] ?? Resources()
        if let cpu = reservation.nanoCPUs, cpu > 0, (reservedCPU[node] ?? 0) + cpu > (have.nanoCPUs ?? 0) { return false }
        if let memory = reservation.memoryBytes, memory > 0, (reservedMemory[node] ?? 0) + memory > (have.memoryBytes ?? 0) { return false }
        return true
    }

    mutating func add(_ service: String, _ node: String, _ reservation: Resources?) {
        perService[service, default: [:]][node, default: 0] += 1
        totals[node, default: 0] += 1
        reservedCPU[node, default: 0] += reservation?.nanoCPUs ?? 0
        reservedMemory[node, default: 0] += reservation?.memoryBytes ?? 0
    }
}

/// A binary heap of nodes ordered by (tasks of the service, all tasks, id):
/// spread placement in O(log n) per task.
struct SpreadQueue {
    struct Entry { var node: String; var ofService: Int; var total: Int }
    private var heap: [Entry] = []

    private static func less(_ a: Entry, _ b: Entry) -> Bool {
        (a.ofService, a.total, a.node) < (b.ofService, b.total, b.node)
    }

    mutating func push(_ node: String, ofService: Int, total: Int) {
        heap.append(Entry(node: node, ofService: ofService, total: total))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.less(heap[child], heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Entry? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let top = heap.removeLast()
        var parent = 0
        while true {
            let left = parent * 2 + 1, right = left + 1
            var smallest = parent
            if left < heap.count, Self.less(heap[left], heap[smallest]) { smallest = left }
            if right < heap.count, Self.less(heap[right], heap[smallest]) { smallest = right }
            if smallest == parent { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        return top
    }
}

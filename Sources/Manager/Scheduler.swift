import ClusterStore
import HeapModule
import Logging
import SwarmAPI

/// The scheduler: assigns every pending task a node. Filters (node ready
/// and active, constraints, cgroup controllers, reservations, max replicas
/// per node), then the placement preferences' tree (SpreadPreferences), then
/// spread: the node with the fewest tasks of the service,
/// then the fewest tasks. A task no node takes stays pending with
/// swarmkit's explanation. Reads the watch; commits assignments.
actor Scheduler: StoreFollower {
    let store: any ClusterStore
    let clock: @Sendable () -> Timestamp
    let logger = Logger(label: "swarm.manager.scheduler")
    var progress = ProgressWaiters()

    private var nodes: [String: Node] = [:]
    private var services: [String: Service] = [:]
    /// Tasks waiting for a node (allocated, not yet assigned): the
    /// store's shared objects, not copies (100,000 copies of a task cost
    /// 55 MB more at the peak of a large create).
    private var pending: [String: StoreObject] = [:]
    /// What each placed task counts for on its node.
    private var counted: [String: (service: String, node: String, reservation: Resources?)] = [:]
    private var load = NodeLoad()
    private var dependencies = DependencyGate()
    /// Something changed that may let a pending task be placed.
    private var dirty = false

    init(store: any ClusterStore, clock: @escaping @Sendable () -> Timestamp) {
        self.store = store
        self.clock = clock
    }

    func handle(_ event: StoreEvent) async {
        switch event {
        case .snapshot(let snapshot): rebuild(snapshot)
        case .changes(let changes): for change in changes { apply(change) }
        }
        if dirty { await schedule() }
    }

    // MARK: - The view

    private func rebuild(_ snapshot: StoreSnapshot) {
        nodes = [:]; services = [:]; pending = [:]; counted = [:]; load = NodeLoad(); dependencies = DependencyGate()
        for node in snapshot.nodes { nodes[node.id] = node }
        for service in snapshot.services { services[service.id] = service }
        for task in snapshot.tasks { track(task, .task(task)) }
        dirty = true
    }

    private func apply(_ change: StoreChange) {
        switch (change.object, change.action) {
        case (.node(let node), .deleted): nodes[node.id] = nil; dirty = true
        case (.node(let node), _): nodes[node.id] = node; dirty = true
        case (.service(let service), .deleted): services[service.id] = nil
        case (.service(let service), _): services[service.id] = service; if !pending.isEmpty { dirty = true }
        case (.task(let task), .deleted): untrack(task.id)
        case (.task(let task), _): track(task, change.object)
        case (.swarm, _), (.network, _), (.secret, _), (.config, _): break
        }
    }

    private func track(_ task: SwarmTask, _ object: StoreObject) {
        untrack(task.id)
        if dependencies.track(task) && !pending.isEmpty { dirty = true }
        if task.desiredState <= .running && !task.status.state.isTerminal, let node = task.nodeID {
            let reservation = task.spec.resources?.reservations
            counted[task.id] = (task.serviceID, node, reservation)
            load.add(task.serviceID, node, reservation)
        }
        if Self.waiting(task) {
            pending[task.id] = object
            dirty = true
        }
    }

    private func untrack(_ id: String) {
        if dependencies.untrack(id) && !pending.isEmpty { dirty = true }
        if let entry = counted.removeValue(forKey: id) {
            load.remove(entry.service, entry.node, entry.reservation)
            if !pending.isEmpty { dirty = true }
        }
        pending[id] = nil
    }

    static func waiting(_ task: SwarmTask) -> Bool {
        task.status.state == .pending && task.desiredState <= .running
    }

    // MARK: - Placing

    private func schedule() async {
        dirty = false
        guard !pending.isEmpty else { return }
        let now = clock()
        var batch = StoreBatch(now: now)
        var load = self.load
        // Per service, in slot order; the tasks themselves stay in the store's objects.
        var groups: [String: [(slot: Int, id: String, object: StoreObject)]] = [:]
        for (id, object) in pending {
            guard case .task(let task) = object else { continue }
            groups[task.serviceID, default: []].append((task.slot ?? 0, id, object))
        }
        for (serviceID, group) in groups {
            guard let spec = services[serviceID]?.spec.taskTemplate ?? group.first.flatMap({ SwarmTask($0.object)?.spec }) else { continue }
            if let service = services[serviceID], let reason = dependencies.blocker(service.spec, serviceNamed) {
                for entry in group { explainPending(entry.object, reason, &batch, now) }
                continue
            }
            var placement = ServicePlacement(serviceID: serviceID, spec)
            for entry in group.sorted(by: { ($0.slot, $0.id) < ($1.slot, $1.id) }) {
                guard case .task(let task) = entry.object else { continue }
                if let node = task.nodeID {
                    // Pre-assigned (a global service's task): its node only.
                    guard let target = nodes[node], ReadyFilter().check(target, load) else { continue }
                    assign(task, to: node, &batch, now)
                    continue
                }
                if placement.candidates == nil { placement.start(nodes.values, load) }
                if let chosen = placement.choose(nodes, &load) {
                    assign(task, to: chosen, &batch, now)
                } else {
                    explainPending(entry.object, placement.explanation, &batch, now)
                }
            }
        }
        guard !batch.isEmpty else { return }
        do { try await store.commit(batch) } catch is CancellationError {} catch { logger.error("schedule: \(error)") }
    }

    /// Leaves a task pending with the reason (once: the same reason is not rewritten).
    private func explainPending(_ object: StoreObject, _ reason: String, _ batch: inout StoreBatch, _ now: Timestamp) {
        guard case .task(let task) = object, task.status.err != reason else { return }
        batch.update(SwarmTask.self, id: task.id) { stored, _ in
            guard Self.waiting(stored), stored.nodeID == task.nodeID else { return false }
            stored.status = TaskStatus(timestamp: now, state: .pending, message: "pending task scheduling", err: reason)
            return true
        }
    }

    private func serviceNamed(_ name: String) -> Service? {
        services.values.first { $0.spec.name == name }
    }

    private func assign(_ task: SwarmTask, to node: String, _ batch: inout StoreBatch, _ now: Timestamp) {
        let expected = task.nodeID
        batch.update(SwarmTask.self, id: task.id) { stored, _ in
            guard Self.waiting(stored), stored.nodeID == expected else { return false }
            stored.nodeID = node
            stored.status = TaskStatus(timestamp: now, state: .assigned, message: "scheduler assigned task to node")
            return true
        }
    }
}

/// Placing one service's tasks in one pass: the filters, the nodes that
/// passed the fixed ones in spread order, and the count of nodes each
/// filter turned away.
struct ServicePlacement {
    /// Spread order: fewest tasks of the service, then fewest tasks, then ID.
    struct Candidate: Comparable {
        var ofService: Int
        var total: Int
        var node: String
        static func < (a: Candidate, b: Candidate) -> Bool { (a.ofService, a.total, a.node) < (b.ofService, b.total, b.node) }
    }

    let serviceID: String
    let reservation: Resources?
    /// In the order their failures are explained.
    let filters: [any SchedulingFilter]
    /// Filters that depend on what is placed: checked as each candidate comes up.
    let placedDependent: Set<Int>
    var candidates: Heap<Candidate>?
    let spread: SpreadPreferences
    /// With preferences: the nodes that passed the fixed filters (the tree's leaves).
    var pool: [String] = []
    var rejections: [Int: Int] = [:]

    init(serviceID: String, _ spec: TaskSpec) {
        self.serviceID = serviceID
        reservation = spec.resources?.reservations
        // Parsed once per service, not once per node (the API validated them).
        let constraints = (spec.placement?.constraints ?? []).compactMap { try? Constraint(parsing: $0) }
        filters = [ReadyFilter(), ResourceFilter(reservation: reservation), ConstraintFilter(constraints: constraints),
                   ControllerFilter(spec.resources?.limits), MaxReplicasFilter(serviceID: serviceID, maxReplicas: spec.placement?.maxReplicas ?? 0)]
        placedDependent = [1, 4]
        spread = SpreadPreferences(spec.placement)
    }

    mutating func start(_ nodes: Dictionary<String, Node>.Values, _ load: NodeLoad) {
        var entries: [Candidate] = []
        entries.reserveCapacity(nodes.count)
        for node in nodes {
            if let failed = filters.indices.first(where: { !placedDependent.contains($0) && !filters[$0].check(node, load) }) {
                rejections[failed, default: 0] += 1
            } else {
                entries.append(Candidate(ofService: load.count(serviceID, node.id), total: load.total(node.id), node: node.id))
            }
        }
        candidates = Heap(entries)
        if !spread.isEmpty { pool = entries.map(\.node) }
    }

    /// The best node that passes the placement-dependent filters, counted as taking the task.
    mutating func choose(_ nodes: [String: Node], _ load: inout NodeLoad) -> String? {
        if !spread.isEmpty { return chooseSpread(nodes, &load) }
        while let candidate = candidates?.popMin() {
            guard let node = nodes[candidate.node] else { continue }
            if let failed = placedDependent.sorted().first(where: { !filters[$0].check(node, load) }) {
                // Full (or at its limit) for this service: it stays out of this pass.
                rejections[failed, default: 0] += 1
                continue
            }
            load.add(serviceID, node.id, reservation)
            candidates?.insert(Candidate(ofService: candidate.ofService + 1, total: candidate.total + 1, node: node.id))
            return node.id
        }
        return nil
    }

    /// With preferences: down the tree to a leaf, then its least-loaded node
    /// (a node found full leaves the tree for this pass).
    mutating func chooseSpread(_ nodes: [String: Node], _ load: inout NodeLoad) -> String? {
        while true {
            let leaf = spread.leaf(pool.compactMap { nodes[$0] }, service: serviceID, load)
            let ranked = leaf.map { Candidate(ofService: load.count(serviceID, $0.id), total: load.total($0.id), node: $0.id) }
            guard let best = ranked.min(), let node = nodes[best.node] else { return nil }
            if let failed = placedDependent.sorted().first(where: { !filters[$0].check(node, load) }) {
                rejections[failed, default: 0] += 1
                pool.removeAll { $0 == node.id }
                continue
            }
            load.add(serviceID, node.id, reservation)
            return node.id
        }
    }

    /// swarmkit's wording: `no suitable node (scheduling constraints not satisfied on 3 nodes)`.
    var explanation: String {
        guard !rejections.isEmpty else { return "no suitable node" }
        let parts = filters.indices.compactMap { index in rejections[index].map { filters[index].explain(nodes: $0) } }
        return "no suitable node (\(parts.joined(separator: "; ")))"
    }
}

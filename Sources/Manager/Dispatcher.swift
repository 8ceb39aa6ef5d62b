import ClusterStore
import Logging
import SwarmAPI

/// The dispatcher: agents' sessions and heartbeats (a node that misses
/// them is marked down), their status reports (only for the node's own
/// tasks, only forward), and each node's assignments, long-polled: a
/// request naming the version it has waits until the node's tasks change,
/// and gets only what changed (swarmkit's incremental assignments: with
/// 1,000 tasks on a node, a status report costs one task on the wire, not
/// the set). Reads the watch; commits what the agents report.
actor Dispatcher: StoreFollower {
    let store: any ClusterStore
    let clock: @Sendable () -> Timestamp
    let logger = Logger(label: "swarm.manager.dispatcher")
    var progress = ProgressWaiters()

    private var nodes: [String: Node] = [:]
    /// What each node is told of its overlay networks.
    private var views = NetworkViews()
    /// A task on a node: the store's shared object (not a copy) and the
    /// index of its last change.
    private struct Assigned {
        var object: StoreObject
        var changedAt: UInt64
    }
    private var tasksOfNode: [String: [String: Assigned]] = [:]
    private var nodeOfTask: [String: String] = [:]
    /// Tasks taken off each node, oldest first, for incremental answers;
    /// `horizon`: answers since an index below it must be complete (the
    /// tombstones before it were dropped, or the view was rebuilt).
    private var removedFromNode: [String: [(taskID: String, index: UInt64)]] = [:]
    private var horizon: [String: UInt64] = [:]
    static let keptRemovals = 4096
    private var heartbeatPeriod: Int64 = 5_000_000_000
    /// Whether the view holds the store's state (the first snapshot was taken in).
    private var viewLoaded = false

    // In memory only: a restarted manager gives every node a fresh
    // heartbeat period to come back.
    private var lastHeartbeat: [String: Timestamp] = [:]
    private var assignmentVersion: [String: UInt64] = [:]
    private var waiters: [String: [UInt64: CheckedContinuation<Void, Never>]] = [:]
    private var nextWaiterID: UInt64 = 0

    init(store: any ClusterStore, clock: @escaping @Sendable () -> Timestamp) {
        self.store = store
        self.clock = clock
    }

    func handle(_ event: StoreEvent) async {
        switch event {
        case .snapshot(let snapshot): rebuild(snapshot)
        case .changes(let changes):
            for change in changes { apply(change) }
            // One wake per node for the whole batch: a task starting on the
            // ingress network changes every node's view.
            if let last = changes.last, !views.dirtyNetworks.isEmpty || !views.dirtyNodes.isEmpty {
                for node in views.stamp(last.index) { touch(node, last.index) }
            }
        }
    }

    // MARK: - The view

    private func rebuild(_ snapshot: StoreSnapshot) {
        viewLoaded = true
        let now = clock()
        nodes = [:]; tasksOfNode = [:]; nodeOfTask = [:]; removedFromNode = [:]
        views = NetworkViews(snapshot)
        if let period = snapshot.swarm?.spec.dispatcher.heartbeatPeriod { heartbeatPeriod = period }
        // A new term (a restarted or newly elected manager): the agents are
        // still finding it, so each node gets 5 s more than the usual grace.
        let welcome = Timestamp(nanoseconds: now.nanoseconds + 5_000_000_000)
        for node in snapshot.nodes {
            nodes[node.id] = node
            if lastHeartbeat[node.id] == nil { lastHeartbeat[node.id] = welcome }
        }
        for task in snapshot.tasks { place(task, at: snapshot.index) }
        horizon = [:]
        for node in Set(nodes.keys).union(tasksOfNode.keys) {
            horizon[node] = snapshot.index
            touch(node, snapshot.index)
        }
    }

    private func apply(_ change: StoreChange) {
        views.apply(change.object, deleted: change.action == .deleted)
        switch (change.object, change.action) {
        case (.swarm(let swarm), _):
            if let period = swarm.spec.dispatcher.heartbeatPeriod { heartbeatPeriod = period }
        case (.node(let node), .deleted):
            nodes[node.id] = nil
            lastHeartbeat[node.id] = nil
            removedFromNode[node.id] = nil
            horizon[node.id] = nil
        case (.node(let node), _):
            if nodes[node.id] == nil && lastHeartbeat[node.id] == nil { lastHeartbeat[node.id] = clock() }
            nodes[node.id] = node
        case (.service, _), (.network, _), (.secret, _), (.config, _): break
        case (.task(let task), .deleted):
            if let node = nodeOfTask[task.id] { takeOff(task.id, node, at: change.index) }
        case (.task(let task), _):
            if let old = nodeOfTask[task.id], old != task.nodeID { takeOff(task.id, old, at: change.index) }
            place(task, change.object, at: change.index)
            if let node = task.nodeID { touch(node, change.index) }
        }
    }

    private func place(_ task: SwarmTask, _ stored: StoreObject? = nil, at index: UInt64) {
        guard let node = task.nodeID else { return }
        tasksOfNode[node, default: [:]][task.id] = Assigned(object: stored ?? .task(task), changedAt: index)
        nodeOfTask[task.id] = node
    }

    private func takeOff(_ taskID: String, _ node: String, at index: UInt64) {
        nodeOfTask[taskID] = nil
        tasksOfNode[node]?[taskID] = nil
        if tasksOfNode[node]?.isEmpty == true { tasksOfNode[node] = nil }
        removedFromNode[node, default: []].append((taskID, index))
        if let removed = removedFromNode[node], removed.count > Self.keptRemovals {
            let dropped = removed.count / 2
            horizon[node] = max(horizon[node] ?? 0, removed[dropped - 1].index)
            removedFromNode[node] = Array(removed[dropped...])
        }
        touch(node, index)
    }

    /// The node's assignments changed at `index`: wake its long polls.
    private func touch(_ node: String, _ index: UInt64) {
        assignmentVersion[node] = index
        if let woken = waiters.removeValue(forKey: node) {
            for waiter in woken.values { waiter.resume() }
        }
    }

    // MARK: - Agents

    private func requireMember(_ nodeID: String) async throws -> Node {
        // The store, not the view: a node admitted or removed a moment ago counts at once.
        if let node = await store.get(Node.self, id: nodeID) { return node }
        throw APIError.forbidden("node \(nodeID) is not a member of this swarm (removed?): leave and join again")
    }

    /// A node (re)connects: record what it has and mark it ready.
    func openSession(nodeID: String, _ request: SessionRequest) async throws -> SessionResponse {
        let member = try await requireMember(nodeID)
        lastHeartbeat[nodeID] = clock()
        var batch = StoreBatch(now: clock())
        let addr = String(request.addr.split(separator: ":").first ?? "")
        batch.update(Node.self, id: nodeID) { node, _ in
            node.description = request.description
            node.status = NodeStatus(state: .ready, addr: addr)
            if node.managerStatus != nil { node.managerStatus?.reachability = "reachable" }
            return true
        }
        try await store.commit(batch)
        return SessionResponse(nodeID: nodeID, heartbeatPeriod: heartbeatPeriod, managers: managerAddresses(), role: member.spec.role)
    }

    func heartbeat(nodeID: String) async throws -> SessionResponse {
        let node = try await requireMember(nodeID)
        lastHeartbeat[nodeID] = clock()
        if node.status.state != .ready {
            var batch = StoreBatch(now: clock())
            batch.update(Node.self, id: nodeID) { node, _ in
                guard node.status.state != .ready else { return false }
                node.status.state = .ready
                node.status.message = nil
                if node.managerStatus != nil { node.managerStatus?.reachability = "reachable" }
                return true
            }
            try await store.commit(batch)
        }
        return SessionResponse(nodeID: nodeID, heartbeatPeriod: heartbeatPeriod, managers: managerAddresses(), role: node.spec.role)
    }

    /// The managers' cluster addresses, the leader first, for agents to
    /// fall back on (sorted: the list changes only when the managers do).
    private func managerAddresses() -> [String] {
        let managers = nodes.values.compactMap { node in
            node.spec.role == .manager ? node.managerStatus : nil
        }.filter { !$0.addr.isEmpty }
        return managers.filter(\.leader).map(\.addr).sorted() + managers.filter { !$0.leader }.map(\.addr).sorted()
    }

    /// Observed states from a node: only for its own tasks, only forward
    /// (checked against the stored task, in the commit).
    func reportStatus(nodeID: String, _ report: StatusBatch) async throws {
        _ = try await requireMember(nodeID)
        lastHeartbeat[nodeID] = clock()
        var batch = StoreBatch(now: clock())
        for update in report.updates {
            let status = update.status
            batch.update(SwarmTask.self, id: update.taskID) { task, _ in
                guard task.nodeID == nodeID, task.status.state.canAdvance(to: status.state) else { return false }
                task.status = status
                return true
            }
        }
        try await store.commit(batch)
    }

    /// The node's tasks: at once without `since`; else once their set changed after `since`, or after
    /// `timeout` (the agent then asks again: a liveness signal).
    func assignments(nodeID: String, since: UInt64?, timeout: Duration) async throws -> Assignments {
        _ = try await requireMember(nodeID)
        // A dispatcher that has not taken in the store yet (a new term) would
        // answer "no tasks", and the agent would stop the node's containers.
        if !viewLoaded { await processed(through: await store.index) }
        if let since, (assignmentVersion[nodeID] ?? 0) == since {
            nextWaiterID += 1
            let waiterID = nextWaiterID
            // Ends the wait at the timeout, or at once when the caller is
            // cancelled (an in-process agent stopping). It cannot wake the
            // waiter before it is registered: both run on this actor.
            let timer = Task {
                try? await Task.sleep(for: timeout)
                self.wake(nodeID, waiterID)
            }
            await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    waiters[nodeID, default: [:]][waiterID] = continuation
                }
            } onCancel: {
                timer.cancel()
            }
            timer.cancel()
        }
        return answer(for: nodeID, since: since)
    }

    /// Only what changed after `since` when the dispatcher still knows
    /// it (tombstones back that far, a version it gave out); else the set.
    private func answer(for nodeID: String, since: UInt64?) -> Assignments {
        let version = assignmentVersion[nodeID] ?? 0
        let assigned = tasksOfNode[nodeID] ?? [:]
        var answer: Assignments
        if let since, since >= (horizon[nodeID] ?? 0), since <= version {
            let changed = assigned.values.filter { $0.changedAt > since }.compactMap { SwarmTask($0.object) }
            let removed = (removedFromNode[nodeID] ?? []).reversed().prefix { $0.index > since }.map(\.taskID).filter { assigned[$0] == nil }
            answer = Assignments(version: version, complete: false, tasks: changed, removed: removed)
        } else {
            answer = Assignments(version: version, tasks: assigned.values.compactMap { SwarmTask($0.object) })
        }
        // The networks whole, when what the node sees changed since it asked last.
        if since == nil || since! > version || views.version(of: nodeID) > since! { answer.networks = views.views(of: nodeID) }
        return answer
    }

    private func wake(_ nodeID: String, _ waiterID: UInt64) {
        waiters[nodeID]?.removeValue(forKey: waiterID)?.resume()
    }

    /// Nodes whose heartbeats stopped are down; their tasks move elsewhere (the orchestrator's part).
    func tick() async {
        let now = clock()
        let grace = heartbeatPeriod * 2 + 500_000_000
        var batch = StoreBatch(now: now)
        for (id, node) in nodes where node.status.state == .ready {
            guard let seen = lastHeartbeat[id], now.nanoseconds - seen.nanoseconds > grace else { continue }
            batch.update(Node.self, id: id) { node, _ in
                guard node.status.state == .ready else { return false }
                node.status.state = .down
                node.status.message = "heartbeat failure"
                // A manager that stopped answering is one Docker lists as Unreachable.
                if node.managerStatus != nil { node.managerStatus?.reachability = "unreachable" }
                return true
            }
        }
        guard !batch.isEmpty else { return }
        do { try await store.commit(batch) } catch is CancellationError {} catch { logger.error("heartbeats: \(error)") }
    }
}

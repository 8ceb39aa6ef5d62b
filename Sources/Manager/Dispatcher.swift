import SwarmAPI

/// The dispatcher: agents' sessions, heartbeats, status batches and the
/// assignment sets pushed (long-polled) to each node.
extension ClusterManager {
    func touchAssignments(of node: String) {
        assignmentVersion[node] = store.index
        if let waiters = assignmentWaiters.removeValue(forKey: node) {
            for waiter in waiters.values { waiter.resume() }
        }
    }

    func requireMember(_ nodeID: String) throws -> Node {
        guard let node = nodes[nodeID] else {
            throw APIError.forbidden("node \(nodeID) is not a member of this swarm (removed?): leave and join again")
        }
        return node
    }

    /// A node (re)connects: record what it has and mark it ready.
    public func openSession(nodeID: String, _ request: SessionRequest) throws -> SessionResponse {
        var node = try requireMember(nodeID)
        node.description = request.description
        node.status = NodeStatus(state: .ready, addr: String(request.addr.split(separator: ":").first ?? ""))
        if node.managerStatus != nil { node.managerStatus?.reachability = "reachable" }
        lastHeartbeat[nodeID] = clock()
        try commit(tasks: [], nodes: [node])
        requestReconcile()
        return SessionResponse(nodeID: nodeID, heartbeatPeriod: heartbeatPeriod)
    }

    public func heartbeat(nodeID: String) throws -> SessionResponse {
        var node = try requireMember(nodeID)
        lastHeartbeat[nodeID] = clock()
        if node.status.state != .ready {
            node.status.state = .ready
            node.status.message = nil
            try commit(tasks: [], nodes: [node])
            requestReconcile()
        }
        return SessionResponse(nodeID: nodeID, heartbeatPeriod: heartbeatPeriod)
    }

    /// Observed states from a node: only for its own tasks, only forward.
    public func reportStatus(nodeID: String, _ batch: StatusBatch) throws {
        _ = try requireMember(nodeID)
        lastHeartbeat[nodeID] = clock()
        var changed: [SwarmTask] = []
        for update in batch.updates {
            guard var task = tasks[update.taskID], task.nodeID == nodeID,
                  task.status.state.canAdvance(to: update.status.state) else { continue }
            task.status = update.status
            changed.append(task)
        }
        guard !changed.isEmpty else { return }
        try commit(tasks: changed)
        requestReconcile()
    }

    /// The node's tasks: at once without `since`; else once their set changed after `since`, or after
    /// `timeout` seconds (the agent then asks again: a liveness signal).
    public func assignments(nodeID: String, since: UInt64?, timeout: Duration = .seconds(20)) async throws -> Assignments {
        _ = try requireMember(nodeID)
        if let since, (assignmentVersion[nodeID] ?? 0) == since {
            nextWaiterID += 1
            let waiterID = nextWaiterID
            let timer = Task {
                try? await Task.sleep(for: timeout)
                self.wakeWaiter(nodeID, waiterID)
            }
            await withCheckedContinuation { continuation in
                assignmentWaiters[nodeID, default: [:]][waiterID] = continuation
            }
            timer.cancel()
        }
        let version = assignmentVersion[nodeID] ?? 0
        let mine = (tasksOfNode[nodeID] ?? []).compactMap { tasks[$0] }
        return Assignments(version: version, tasks: mine)
    }

    func wakeWaiter(_ nodeID: String, _ waiterID: UInt64) {
        assignmentWaiters[nodeID]?.removeValue(forKey: waiterID)?.resume()
    }
}

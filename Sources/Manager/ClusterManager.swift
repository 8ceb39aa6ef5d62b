import Foundation
import SwarmAPI

/// The manager: the store's contents in memory, the API's operations, and
/// the loops that keep the cluster as declared (orchestrator, scheduler,
/// dispatcher). One actor, so every decision sees one consistent state;
/// every change is committed to the store before it is acted on or answered.
public actor ClusterManager {
    let store: Store
    let clock: @Sendable () -> Timestamp
    public let nodeID: String
    var swarm: SwarmInfo
    var nodes: [String: Node] = [:]
    var services: [String: Service] = [:]
    var tasks: [String: SwarmTask] = [:]
    var tasksOfService: [String: Set<String>] = [:]
    var tasksOfNode: [String: Set<String>] = [:]

    // Dispatcher state, in memory only: a restarted manager gives every
    // node a fresh heartbeat period to come back.
    var lastHeartbeat: [String: Timestamp] = [:]
    var assignmentVersion: [String: UInt64] = [:]
    var assignmentWaiters: [String: [UInt64: CheckedContinuation<Void, Never>]] = [:]
    var nextWaiterID: UInt64 = 0

    // Orchestrator state, in memory like swarmkit's restart supervisor.
    var restartAt: [String: Timestamp] = [:]
    var restartHistory: [String: [Timestamp]] = [:]
    var dirtyServices: Set<String> = []
    var everythingDirty = true
    var reconcileScheduled = false

    public init(store: Store, nodeID: String, clock: @escaping @Sendable () -> Timestamp = Timestamp.now) throws {
        self.store = store
        self.clock = clock
        self.nodeID = nodeID
        guard let swarm = try store.all(SwarmInfo.self).first else {
            throw APIError.unavailable("This node is not a swarm manager: the store has no swarm. Use \"swarm init\" or \"swarm join\".")
        }
        self.swarm = swarm
        let now = clock()
        for node in try store.all(Node.self) {
            nodes[node.id] = node
            lastHeartbeat[node.id] = now
        }
        for service in try store.all(Service.self) { services[service.id] = service }
        for task in try store.all(SwarmTask.self) {
            tasks[task.id] = task
            tasksOfService[task.serviceID, default: []].insert(task.id)
            if let node = task.nodeID { tasksOfNode[node, default: []].insert(task.id) }
        }
        // Restart delays were in memory: tasks that were waiting start now.
        for task in tasks.values where task.desiredState == .ready { restartAt[task.id] = now }
    }

    var heartbeatPeriod: Int64 { swarm.spec.dispatcher.heartbeatPeriod ?? 5_000_000_000 }

    // MARK: - Indexes

    func index(_ task: SwarmTask) {
        if let old = tasks[task.id], let oldNode = old.nodeID, oldNode != task.nodeID {
            tasksOfNode[oldNode]?.remove(task.id)
            touchAssignments(of: oldNode)
        }
        tasks[task.id] = task
        tasksOfService[task.serviceID, default: []].insert(task.id)
        if let node = task.nodeID {
            tasksOfNode[node, default: []].insert(task.id)
            touchAssignments(of: node)
        }
    }

    func unindex(_ id: String) {
        guard let task = tasks.removeValue(forKey: id) else { return }
        tasksOfService[task.serviceID]?.remove(id)
        if tasksOfService[task.serviceID]?.isEmpty == true { tasksOfService[task.serviceID] = nil }
        if let node = task.nodeID {
            tasksOfNode[node]?.remove(id)
            touchAssignments(of: node)
        }
        restartAt[id] = nil
    }

    /// Commits tasks changed and deleted by one decision, then applies them.
    func commit(tasks changed: [SwarmTask], deleting deleted: [String] = [], services changedServices: [Service] = [],
                nodes changedNodes: [Node] = []) throws {
        var stamped: [SwarmTask] = []
        var stampedServices: [Service] = []
        var stampedNodes: [Node] = []
        try store.commit(now: clock()) { batch in
            for var task in changed {
                try batch.put(&task)
                stamped.append(task)
            }
            for id in deleted { batch.delete(SwarmTask.self, id: id) }
            for var service in changedServices {
                try batch.put(&service)
                stampedServices.append(service)
            }
            for var node in changedNodes {
                try batch.put(&node)
                stampedNodes.append(node)
            }
        }
        for task in stamped {
            index(task)
            dirtyServices.insert(task.serviceID)
        }
        for id in deleted { unindex(id) }
        for service in stampedServices { services[service.id] = service; dirtyServices.insert(service.id) }
        if !stampedNodes.isEmpty { everythingDirty = true }
        for node in stampedNodes { nodes[node.id] = node }
    }

    // MARK: - Reconciling

    /// Asks for a reconcile pass soon; many changes in a burst share one.
    func requestReconcile() {
        guard !reconcileScheduled else { return }
        reconcileScheduled = true
        Task {
            try? await Task.sleep(for: .milliseconds(5))
            await self.reconcileNow()
        }
    }

    func reconcileNow() {
        reconcileScheduled = false
        do {
            try reconcile()
        } catch {
            // The store refused a write: keep the decision for the next pass.
            log("reconcile: \(error)")
            everythingDirty = true
        }
    }

    /// Runs periodically: node liveness, restart delays, pending work.
    public func tick() {
        let now = clock()
        let grace = heartbeatPeriod * 2 + 500_000_000
        var downNodes: [Node] = []
        for (id, var node) in nodes where node.status.state == .ready {
            if let seen = lastHeartbeat[id], now.nanoseconds - seen.nanoseconds > grace {
                node.status.state = .down
                node.status.message = "heartbeat failure"
                downNodes.append(node)
            }
        }
        if !downNodes.isEmpty {
            try? commit(tasks: [], nodes: downNodes)
        }
        var due: [SwarmTask] = []
        for (id, at) in restartAt where at <= now {
            restartAt[id] = nil
            if var task = tasks[id], task.desiredState == .ready {
                task.desiredState = .running
                due.append(task)
            }
        }
        if !due.isEmpty { try? commit(tasks: due) }
        if everythingDirty || !dirtyServices.isEmpty { reconcileNow() }
    }

    nonisolated func log(_ message: String) {
        FileHandle.standardError.write(Data("swarm manager: \(message)\n".utf8))
    }
}


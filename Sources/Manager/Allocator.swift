import ClusterStore
import Logging
import SwarmAPI

/// The allocator sits between the orchestrator and the scheduler, as in
/// swarmkit: a task is made `new`, the allocator gives it what it needs
/// from the cluster before it is placed and moves it to `pending`, and
/// the scheduler then assigns it. Networking (address pools, VIPs, VNIs,
/// published ports) will be allocated here; today a task needs nothing
/// more than its host network, so allocating is the state move alone.
actor Allocator: StoreFollower {
    let store: any ClusterStore
    let clock: @Sendable () -> Timestamp
    let logger = Logger(label: "swarm.manager.allocator")
    var progress = ProgressWaiters()

    init(store: any ClusterStore, clock: @escaping @Sendable () -> Timestamp) {
        self.store = store
        self.clock = clock
    }

    func handle(_ event: StoreEvent) async {
        // Ids, not copies of the tasks: a create of 100,000 tasks comes as one event.
        let fresh: [String]
        switch event {
        case .snapshot(let snapshot):
            fresh = snapshot.tasks.filter(Self.needsAllocation).map(\.id)
        case .changes(let changes):
            fresh = changes.compactMap { change in
                guard change.action != .deleted, case .task(let task) = change.object, Self.needsAllocation(task) else { return nil }
                return task.id
            }
        }
        await allocate(fresh)
    }

    static func needsAllocation(_ task: SwarmTask) -> Bool {
        task.status.state == .new && task.desiredState <= .running
    }

    private func allocate(_ tasks: [String]) async {
        guard !tasks.isEmpty else { return }
        let now = clock()
        var batch = StoreBatch(now: now)
        for id in tasks {
            batch.update(SwarmTask.self, id: id) { stored, _ in
                // The agent may have reported on it meanwhile: only forward.
                guard Self.needsAllocation(stored) else { return false }
                stored.status = TaskStatus(timestamp: now, state: .pending, message: "pending task scheduling")
                return true
            }
        }
        do { try await store.commit(batch) } catch is CancellationError {} catch { logger.error("allocate: \(error)") }
    }
}

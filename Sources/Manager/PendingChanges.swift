import ClusterStore
import SwarmAPI

/// Task changes one reconcile pass decides; read back through `updated`
/// so later steps of the same pass see earlier ones.
struct PendingChanges {
    var updated: [String: SwarmTask] = [:]
    var created: [SwarmTask] = []
    var deleted: Set<String> = []
    var services: [Service] = []
    /// Services whose failed update rolls back: (id, the template that failed, why).
    var rollbacks: [(id: String, specIndex: UInt64, message: String)] = []

    mutating func update(_ task: SwarmTask) { updated[task.id] = task }

    /// The decisions as a batch. The orchestrator only ever moves a task's
    /// desired state on (the agent owns its observed state), so an update
    /// applies to the stored task as it is then, never undoes a later one.
    func batch(now: Timestamp) -> StoreBatch {
        var batch = StoreBatch(now: now)
        for task in created { batch.put(task) }
        for task in updated.values {
            let desired = task.desiredState
            batch.update(SwarmTask.self, id: task.id) { stored, _ in
                guard stored.desiredState < desired else { return false }
                stored.desiredState = desired
                return true
            }
        }
        for id in deleted { batch.delete(SwarmTask.self, id: id) }
        for service in services {
            let specIndex = service.specIndex, status = service.updateStatus
            batch.update(Service.self, id: service.id) { stored, _ in
                // Only if no newer update started meanwhile.
                guard stored.specIndex == specIndex, stored.updateStatus != status else { return false }
                stored.updateStatus = status
                return true
            }
        }
        for rollback in rollbacks {
            batch.update(Service.self, id: rollback.id) { stored, index in
                guard stored.specIndex == rollback.specIndex else { return false }
                return stored.rollBack(at: now, index: index, message: rollback.message)
            }
        }
        return batch
    }
}

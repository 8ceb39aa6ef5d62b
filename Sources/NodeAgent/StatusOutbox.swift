import SwarmAPI

/// Status updates waiting to go to the manager: one per task, the newest
/// wins. A batch that failed goes back behind anything newer.
struct StatusOutbox {
    private var pending: [String: StatusUpdate] = [:]

    var isEmpty: Bool { pending.isEmpty }

    mutating func add(_ update: StatusUpdate) {
        pending[update.taskID] = update
    }

    /// Everything pending, in state order (a task's earlier states were
    /// already replaced by its newest).
    mutating func takeBatch() -> StatusBatch? {
        guard !pending.isEmpty else { return nil }
        let updates = pending.values.sorted { ($0.status.state, $0.taskID) < ($1.status.state, $1.taskID) }
        pending = [:]
        return StatusBatch(updates: updates)
    }

    /// A batch the manager did not take: kept for the next try, unless a
    /// newer update for the same task came meanwhile.
    mutating func putBack(_ batch: StatusBatch) {
        for update in batch.updates where pending[update.taskID] == nil {
            pending[update.taskID] = update
        }
    }
}

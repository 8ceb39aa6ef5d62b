import SwarmAPI

extension Service {
    /// Back to the previous spec, as swarmkit does it (by hand or when an
    /// update fails with failure action `rollback`): the spec and its
    /// template index come back and the previous spec is gone, so tasks
    /// still on the old template stay and the rest roll back with the
    /// rollback config. False if there is nothing to go back to.
    mutating func rollBack(at now: Timestamp, index: UInt64, message: String) -> Bool {
        guard let previous = previousSpec else { return false }
        let templateChanged = previous.taskTemplate != spec.taskTemplate
        spec = previous
        specIndex = templateChanged ? (previousSpecIndex ?? index) : specIndex
        previousSpec = nil
        previousSpecIndex = nil
        updateStatus = UpdateStatus(state: "rollback_started", startedAt: now, message: message)
        return true
    }
}

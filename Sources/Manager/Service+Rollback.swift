import SwarmAPI

extension Service {
    /// Back to the previous spec, as swarmkit does it (by hand or when an
    /// update fails with failure action `rollback`): the spec and its
    /// template index come back, so tasks still on the old template stay
    /// and the rest roll back with the rollback config. Other ports replace
    /// the tasks too, as an update's do; the endpoint follows (the API
    /// allocates it for a manual rollback, the allocator after an automatic
    /// one). `swap`: a manual rollback keeps the spec it leaves as the
    /// previous one (a second rollback goes forward again, as Docker's);
    /// an automatic one forgets it. False if there is nothing to go back to.
    mutating func rollBack(at now: Timestamp, index: UInt64, message: String, swap: Bool = false) -> Bool {
        guard let previous = previousSpec else { return false }
        let templateChanged = previous.taskTemplate != spec.taskTemplate || previous.endpointSpec != spec.endpointSpec
        let (left, leftIndex) = (spec, specIndex)
        spec = previous
        specIndex = templateChanged ? (previousSpecIndex ?? index) : specIndex
        previousSpec = swap ? left : nil
        previousSpecIndex = swap ? leftIndex : nil
        updateStatus = UpdateStatus(state: "rollback_started", startedAt: now, message: message)
        return true
    }
}

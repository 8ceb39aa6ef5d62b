/// Callers waiting until a component has acted on the store's changes up
/// to an index (the leader and tests use it to know a cluster is quiet).
struct ProgressWaiters {
    private(set) var index: UInt64 = 0
    private var waiting: [(index: UInt64, continuation: CheckedContinuation<Void, Never>)] = []

    /// Returns the continuation at once if `index` is reached already.
    mutating func add(_ index: UInt64, _ continuation: CheckedContinuation<Void, Never>) {
        if self.index >= index { continuation.resume() } else { waiting.append((index, continuation)) }
    }

    mutating func advance(to index: UInt64) {
        self.index = max(self.index, index)
        let ready = waiting.filter { $0.index <= self.index }
        waiting.removeAll { $0.index <= self.index }
        for entry in ready { entry.continuation.resume() }
    }
}

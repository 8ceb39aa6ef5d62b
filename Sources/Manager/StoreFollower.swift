import ClusterStore

/// A component of the manager (orchestrator, allocator, scheduler,
/// dispatcher): follows the store's watch from the start, takes in each
/// event (a snapshot after a resync, or committed changes) and acts on it
/// by committing, and tells waiters how far it got. The components share
/// this loop and nothing else; none calls another.
protocol StoreFollower: Actor {
    var store: any ClusterStore { get }
    var progress: ProgressWaiters { get set }
    /// Updates the component's view with the event and acts on it.
    func handle(_ event: StoreEvent) async
}

extension StoreFollower {
    /// Follows the watch until the task is cancelled.
    func run() async {
        var watch = store.watch(from: 0).makeAsyncIterator()
        while let event = await watch.next() {
            await handle(event)
            progress.advance(to: watch.index)
        }
    }

    /// Returns once every change up to `index` has been acted on.
    func processed(through index: UInt64) async {
        await withCheckedContinuation { progress.add(index, $0) }
    }
}

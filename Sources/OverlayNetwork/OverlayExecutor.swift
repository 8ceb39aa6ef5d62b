import Dispatch

/// The data path's actor runs on a serial dispatch queue of its own: its
/// work is rtnetlink requests and namespace switches, short blocking
/// calls that must not hold a thread of the concurrency pool, and a thread
/// that switches its network namespace for a moment must not be one that
/// other tasks run on meanwhile.
final class OverlayExecutor: SerialExecutor {
    private let queue = DispatchQueue(label: "swarm.overlay")

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedSerialExecutor()
        queue.async { job.runSynchronously(on: executor) }
    }
}

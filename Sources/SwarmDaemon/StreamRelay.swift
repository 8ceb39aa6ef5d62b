import Dispatch
import Glibc
import Synchronization

/// Moves bytes between a hijacked Engine API connection and descriptors
/// (a process's pipes, a pty master, a monitor's attach socket). The
/// blocking reads and writes run on Dispatch threads, never on the
/// concurrency pool (as many threads as cores).
enum StreamRelay {
    /// Writes all of `bytes`; false when `fd` takes no more (the reader is gone).
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) async -> Bool {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var offset = 0
                while offset < bytes.count {
                    let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, bytes.count - offset) }
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { continuation.resume(returning: false); return }
                    offset += n
                }
                continuation.resume(returning: true)
            }
        }
    }

    /// What the descriptors give, as (index in `fds`, bytes), until each
    /// reaches its end (EIO on a pty master whose slaves are all closed).
    /// The reader calls `consumed` after each element: at most `window`
    /// elements wait in memory, then the descriptors are not read (the
    /// process blocks on its full pipe, as it would under Docker) until the
    /// client catches up. Once the stream is dropped, the rest is drained.
    static func output(_ fds: [Int32], window: Int = 16) -> (chunks: AsyncStream<(Int, [UInt8])>, consumed: @Sendable () -> Void) {
        let credits = OutputCredits(window)
        let chunks = AsyncStream<(Int, [UInt8])> { continuation in
            continuation.onTermination = { _ in credits.stop() }
            DispatchQueue.global().async {
                ContainerAPI.pump(fds) { index, bytes in
                    credits.take()
                    continuation.yield((index, bytes))
                }
                continuation.finish()
            }
        }
        return (chunks, { credits.give() })
    }

    /// A process's exit status, waited for on a Dispatch thread.
    static func wait(_ wait: @escaping @Sendable () -> Int32) async -> Int32 {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: wait()) }
        }
    }
}

/// The output window of `StreamRelay.output`: taken by the reading thread,
/// given back by the writer; stopping lets every later take through.
private final class OutputCredits: Sendable {
    private let semaphore: DispatchSemaphore
    private let stopped = Atomic(false)

    init(_ window: Int) { semaphore = DispatchSemaphore(value: window) }

    func take() {
        guard !stopped.load(ordering: .acquiring) else { return }
        semaphore.wait()
        // Woken by stop: pass the wake-up on to a later take.
        if stopped.load(ordering: .acquiring) { semaphore.signal() }
    }

    func give() { semaphore.signal() }

    func stop() {
        stopped.store(true, ordering: .releasing)
        semaphore.signal()
    }
}

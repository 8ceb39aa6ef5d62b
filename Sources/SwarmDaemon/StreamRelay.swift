import Dispatch
import Glibc

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
    static func output(_ fds: [Int32]) -> AsyncStream<(Int, [UInt8])> {
        AsyncStream { continuation in
            DispatchQueue.global().async {
                ContainerAPI.pump(fds) { index, bytes in continuation.yield((index, bytes)) }
                continuation.finish()
            }
        }
    }

    /// A process's exit status, waited for on a Dispatch thread.
    static func wait(_ wait: @escaping @Sendable () -> Int32) async -> Int32 {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: wait()) }
        }
    }
}

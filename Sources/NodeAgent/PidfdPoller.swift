import CRuntime
import Glibc
import Synchronization

/// Waits for many processes' exits on one thread. Each waiter hands in a
/// pidfd (readable once its process exits); the thread polls them all at
/// once, with a pipe that wakes it when the set changes. One thread for
/// every container of the node, instead of one per container. It also
/// works with any descriptor that becomes readable (the tests use pipes).
public final class PidfdPoller: Sendable {
    private struct Waiter {
        let fd: Int32
        let continuation: CheckedContinuation<Bool, Never>
    }

    private struct State {
        var waiters: [UInt64: Waiter] = [:]
        /// Tokens cancelled before their waiter was registered.
        var cancelled: Set<UInt64> = []
        var nextToken: UInt64 = 0
        var closed = false
    }

    private let state = Mutex(State())
    private let wakeRead: Int32
    private let wakeWrite: Int32
    /// The poller thread's name (in /proc/self/task/*/comm): `pidfd-N`.
    public let threadName: String
    private static let made = Atomic<Int>(0)

    public init() {
        threadName = "pidfd-\(Self.made.wrappingAdd(1, ordering: .relaxed).newValue)"
        var fds: [Int32] = [-1, -1]
        precondition(crt_pipe2(&fds, O_CLOEXEC | O_NONBLOCK) == 0, "pipe2: errno \(errno)")
        wakeRead = fds[0]
        wakeWrite = fds[1]
        startThread { [self] in
            nameThisThread(threadName)
            loop()
        }
    }

    /// Descriptors being waited for.
    public var count: Int { state.withLock { $0.waiters.count } }

    /// Returns true once `fd` is readable (its process exited), false if the
    /// calling task was cancelled or the poller closed. The caller keeps
    /// owning `fd` and closes it after this returns.
    public func wait(_ fd: Int32) async -> Bool {
        let token = state.withLock { state in
            state.nextToken += 1
            return state.nextToken
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let registered = state.withLock { state in
                    guard !state.closed, state.cancelled.remove(token) == nil else { return false }
                    state.waiters[token] = Waiter(fd: fd, continuation: continuation)
                    return true
                }
                if registered { wake() } else { continuation.resume(returning: false) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> Waiter? in
                guard let waiter = state.waiters.removeValue(forKey: token) else {
                    state.cancelled.insert(token)
                    return nil
                }
                return waiter
            }
            guard let waiter else { return }
            // The thread drops the descriptor from its set before the caller closes it.
            wake()
            waiter.continuation.resume(returning: false)
        }
    }

    /// `wait` bounded by `timeout`: false if the process did not exit in time.
    public func wait(_ fd: Int32, timeout: Duration) async -> Bool {
        await withTaskGroup(of: Bool?.self) { group in
            group.addTask { await self.wait(fd) }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first == true
        }
    }

    /// Ends the thread; pending waits return false.
    public func close() {
        let waiters = state.withLock { state in
            state.closed = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        wake()
        for waiter in waiters { waiter.continuation.resume(returning: false) }
    }

    private func wake() {
        var byte: UInt8 = 1
        // A full pipe already holds a wake-up: EAGAIN is fine.
        _ = Glibc.write(wakeWrite, &byte, 1)
    }

    private func loop() {
        var drain = [UInt8](repeating: 0, count: 256)
        while true {
            guard let watched = state.withLock({ state in
                state.closed ? nil : state.waiters.map { (token: $0.key, fd: $0.value.fd) }
            }) else { break }
            var fds = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
            fds += watched.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            let result = poll(&fds, nfds_t(fds.count), -1)
            if result < 0 {
                if errno != EINTR { usleep(100_000) }
                continue
            }
            if fds[0].revents != 0 {
                while read(wakeRead, &drain, drain.count) > 0 {}
            }
            // A descriptor cancelled meanwhile is no longer in the table:
            // whatever poll said about it is ignored.
            let ready = state.withLock { state in
                watched.indices.filter { fds[$0 + 1].revents != 0 }.compactMap {
                    state.waiters.removeValue(forKey: watched[$0].token)?.continuation
                }
            }
            for continuation in ready { continuation.resume(returning: true) }
        }
    }

    // The thread holds the poller until it ends, and only then may the
    // pipe go (a wake() could otherwise write into a reused descriptor).
    deinit {
        Glibc.close(wakeRead)
        Glibc.close(wakeWrite)
    }
}

/// A plain thread (the poller's): it blocks in poll(2), which must not tie
/// up one of the concurrency pool's few threads.
func startThread(_ body: @escaping @Sendable () -> Void) {
    final class Box: Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    var attributes = pthread_attr_t()
    pthread_attr_init(&attributes)
    pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
    pthread_attr_setstacksize(&attributes, 256 * 1024)
    var thread = pthread_t()
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    let result = pthread_create(&thread, &attributes, { pointer in
        Unmanaged<Box>.fromOpaque(pointer!).takeRetainedValue().body()
        return nil
    }, box)
    precondition(result == 0, "pthread_create: \(result)")
    pthread_attr_destroy(&attributes)
}

/// Names the calling thread (what `ps -T` and /proc/self/task/*/comm show);
/// pthread_setname_np is not in Swift's Glibc module.
func nameThisThread(_ name: String) {
    let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
    guard fd >= 0 else { return }
    defer { close(fd) }
    _ = name.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, min($0.count - 1, 15)) }
}

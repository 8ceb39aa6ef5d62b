import Glibc
@testable import NodeAgent
import Testing

/// The poller with pipes in place of pidfds (a pipe's read end becomes
/// readable as a pidfd does when its process exits): no root, no children.
@Suite struct PidfdPollerTests {
    final class Pipe: Sendable {
        let read: Int32, write: Int32
        init() throws {
            var fds: [Int32] = [-1, -1]
            guard pipe(&fds) == 0 else { throw TimedOut(description: "pipe: errno \(errno)") }
            read = fds[0]
            write = fds[1]
        }
        /// What an exit is to a pidfd.
        func fire() {
            var byte: UInt8 = 1
            _ = Glibc.write(write, &byte, 1)
        }
        deinit {
            close(read)
            close(write)
        }
    }

    @Test func manyWaitsOneThread() async throws {
        let poller = PidfdPoller()
        defer { poller.close() }
        let pipes = try (0..<200).map { _ in try Pipe() }
        try await withThrowingTaskGroup(of: Int.self) { group in
            for (index, pipe) in pipes.enumerated() {
                group.addTask { await poller.wait(pipe.read) ? index : -1 }
            }
            try await eventually("all registered") { poller.count == pipes.count }
            // Not one thread per wait: the poller's one thread (counted by
            // name, so other tests' threads in this process do not count).
            #expect(threads(named: poller.threadName) == 1)
            // Fired in an order of their own: each wait returns for its own pipe.
            var order = Array(pipes.indices)
            order.shuffle()
            var done: Set<Int> = []
            for index in order {
                pipes[index].fire()
                let finished = try #require(try await group.next())
                #expect(finished >= 0)
                done.insert(finished)
            }
            #expect(done == Set(pipes.indices))
        }
        #expect(poller.count == 0)
    }

    @Test func cancelledWaitReturnsFalse() async throws {
        let poller = PidfdPoller()
        defer { poller.close() }
        let pipe = try Pipe()
        let waiting = Task { await poller.wait(pipe.read) }
        try await eventually("registered") { poller.count == 1 }
        waiting.cancel()
        #expect(await waiting.value == false)
        #expect(poller.count == 0)
    }

    @Test func alreadyCancelledReturnsAtOnce() async throws {
        let poller = PidfdPoller()
        defer { poller.close() }
        let pipe = try Pipe()
        let waiting = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return await poller.wait(pipe.read)
        }
        #expect(await waiting.value == false)
        #expect(poller.count == 0)
    }

    @Test func timeout() async throws {
        let poller = PidfdPoller()
        defer { poller.close() }
        let quiet = try Pipe(), fired = try Pipe()
        #expect(await poller.wait(quiet.read, timeout: .milliseconds(20)) == false)
        fired.fire()
        #expect(await poller.wait(fired.read, timeout: .seconds(10)) == true)
        #expect(poller.count == 0)
    }

    @Test func closeEndsWaits() async throws {
        let poller = PidfdPoller()
        let pipe = try Pipe()
        let waiting = Task { await poller.wait(pipe.read) }
        try await eventually("registered") { poller.count == 1 }
        poller.close()
        #expect(await waiting.value == false)
        #expect(await poller.wait(pipe.read) == false, "closed: no more waits")
    }

    /// Threads of this process with the name `name`.
    func threads(named name: String) -> Int {
        guard let directory = opendir("/proc/self/task") else { return 0 }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            let task = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard task.first != ".", let file = fopen("/proc/self/task/\(task)/comm", "r") else { continue }
            defer { fclose(file) }
            var buffer = [CChar](repeating: 0, count: 32)
            guard fgets(&buffer, 32, file) != nil else { continue }
            let comm = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if comm.split(separator: "\n").first.map(String.init) == name { count += 1 }
        }
        return count
    }
}

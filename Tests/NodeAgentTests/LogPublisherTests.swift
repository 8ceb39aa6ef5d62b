import Foundation
@testable import NodeAgent
import SwarmAPI
import Testing

/// The agent's log publisher against an in-process broker stand-in and
/// json-file logs written by the test.
struct LogPublisherTests {
    actor FakeLogLink: LogLink {
        var subscriptions: [LogSubscription]
        private(set) var published: [LogPublication] = []
        private var served = false
        var cancelled = false

        init(_ subscriptions: [LogSubscription]) { self.subscriptions = subscriptions }

        func logSubscriptions(since: UInt64?) async throws -> LogSubscriptions {
            // The first poll answers at once, the others wait as a long poll does.
            if served { try await Task.sleep(for: .milliseconds(20)) }
            served = true
            return LogSubscriptions(version: cancelled ? 2 : 1, subscriptions: cancelled ? [] : subscriptions)
        }

        func publishLogs(_ publication: LogPublication) async throws -> Bool {
            published.append(publication)
            return !cancelled
        }

        func cancel() { cancelled = true }
        func setSubscriptions(_ subscriptions: [LogSubscription]) { self.subscriptions = subscriptions }
        var lines: [String] { published.flatMap { $0.lines.map { "\($0.taskID) \($0.stream) \($0.line)" } } }
        var done: Bool { published.last?.done == true }
    }

    static func writeLog(_ path: String, _ entries: [(String, String, String)]) throws {
        let text = entries.map { #"{"log":"\#($0.0)\n","stream":"\#($0.1)","time":"\#($0.2)"}"# + "\n" }.joined()
        try text.write(toFile: path, atomically: false, encoding: .utf8)
    }

    @Test func readsEachTasksLogFiltersAndSaysWhenDone() async throws {
        let directory = NSTemporaryDirectory() + "swarm-logpublisher-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.writeLog(directory + "/c1", [("old", "stdout", "2026-01-01T00:00:00Z"), ("one", "stdout", "2026-01-02T00:00:00Z"),
                                              ("err", "stderr", "2026-01-02T00:00:01Z"), ("two", "stdout", "2026-01-02T00:00:02Z")])
        try Self.writeLog(directory + "/c2", [("three", "stdout", "2026-01-02T00:00:00Z")])
        let subscription = LogSubscription(id: "s1", sources: [LogSource(taskID: "t1", serviceID: "s", containerID: "c1"),
                                                               LogSource(taskID: "t2", serviceID: "s", containerID: "c2"),
                                                               LogSource(taskID: "t3", serviceID: "s", containerID: "gone")],
                                           follow: false, tail: 3, since: Timestamp(rfc3339: "2026-01-02T00:00:00Z"), stdout: true, stderr: false)
        let link = FakeLogLink([subscription])
        let publisher = LogPublisher(link: link) { id in
            FileManager.default.fileExists(atPath: directory + "/" + id) ? (directory + "/" + id, 1) : nil
        }
        let running = Task { await publisher.run() }
        defer { running.cancel() }
        try await eventually("the subscription is done", timeout: .seconds(30)) { await link.done }
        #expect(Set(await link.lines) == ["t1 1 one\n", "t1 1 two\n", "t2 1 three\n"])
        #expect(await link.published.filter(\.done).count == 1)
    }

    @Test func followingSendsNewLinesUntilTheSubscriptionGoes() async throws {
        let directory = NSTemporaryDirectory() + "swarm-logpublisher-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/c1"
        try Self.writeLog(path, [("first", "stdout", "2026-01-02T00:00:00Z")])
        let link = FakeLogLink([LogSubscription(id: "s1", sources: [LogSource(taskID: "t1", serviceID: "s", containerID: "c1")],
                                                follow: true, tail: nil, since: nil, stdout: true, stderr: true)])
        let publisher = LogPublisher(link: link) { _ in (path, 1) }
        let running = Task { await publisher.run() }
        defer { running.cancel() }
        try await eventually("the first line", timeout: .seconds(30)) { await link.lines == ["t1 1 first\n"] }
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data(#"{"log":"second\n","stream":"stderr","time":"2026-01-02T00:00:01Z"}"#.utf8 + [10]))
        try handle.close()
        try await eventually("the appended line", timeout: .seconds(30)) { await link.lines == ["t1 1 first\n", "t1 2 second\n"] }
        #expect(await !link.done)
        await link.cancel()
        try await eventually("the reading stops", timeout: .seconds(30)) { await publisher.readingCount == 0 }
    }

    @Test func aFollowedSubscriptionThatGrowsReadsItsNewTasks() async throws {
        let directory = NSTemporaryDirectory() + "swarm-logpublisher-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.writeLog(directory + "/c1", [("old task", "stdout", "2026-01-02T00:00:00Z")])
        try Self.writeLog(directory + "/c2", [("new task", "stdout", "2026-01-02T00:00:01Z")])
        let first = LogSubscription(id: "s1", sources: [LogSource(taskID: "t1", serviceID: "s", containerID: "c1")],
                                    follow: true, tail: nil, since: nil, stdout: true, stderr: true)
        let link = FakeLogLink([first])
        let publisher = LogPublisher(link: link) { id in (directory + "/" + id, 1) }
        let running = Task { await publisher.run() }
        defer { running.cancel() }
        try await eventually("the first task's line", timeout: .seconds(30)) { await link.lines == ["t1 1 old task\n"] }
        var grown = first
        grown.sources.append(LogSource(taskID: "t2", serviceID: "s", containerID: "c2"))
        await link.setSubscriptions([grown])
        try await eventually("the new task's line", timeout: .seconds(30)) { await link.lines == ["t1 1 old task\n", "t2 1 new task\n"] }
        #expect(await publisher.readingCount == 1)
        await link.cancel()
    }
}

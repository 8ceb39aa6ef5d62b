import HTTPServer
import Testing
@testable import Manager
import SwarmAPI
import Synchronization

/// The log broker between readers and agents, and Docker's stream format.
struct LogBrokerTests {
    @Test func linesFromEveryNodeReachTheReaderThenTheStreamEnds() async throws {
        let broker = LogBroker()
        let stream = await broker.subscribe(["n1": [LogSource(taskID: "t1", serviceID: "s", containerID: "c1")],
                                             "n2": [LogSource(taskID: "t2", serviceID: "s", containerID: "c2")]],
                                            follow: false, tail: nil, since: nil, stdout: true, stderr: true)
        let first = await broker.subscriptions(for: "n1", since: nil)
        #expect(first.subscriptions.count == 1 && first.subscriptions[0].sources.map(\.containerID) == ["c1"])
        let id = first.subscriptions[0].id
        #expect(await broker.publish(from: "n1", LogPublication(subscriptionID: id, lines: [LogLine(taskID: "t1", stream: 1, time: "t", line: "a\n")], done: true)))
        #expect(await !broker.publish(from: "n3", LogPublication(subscriptionID: id, lines: [], done: true)))
        _ = await broker.subscriptions(for: "n2", since: nil)
        #expect(await broker.publish(from: "n2", LogPublication(subscriptionID: id, lines: [LogLine(taskID: "t2", stream: 2, time: "t", line: "b\n")], done: true)))
        var lines: [String] = []
        for await batch in stream { lines += batch.map { "\($0.nodeID) \($0.serviceID) \($0.line.line)" } }
        #expect(lines == ["n1 s a\n", "n2 s b\n"])
        #expect(await broker.subscriptions(for: "n1", since: nil).subscriptions.isEmpty)
        #expect(await !broker.publish(from: "n1", LogPublication(subscriptionID: id, lines: [], done: false)))
    }

    @Test func aNodeThatNeverTakesTheSubscriptionDoesNotHoldTheReader() async throws {
        let broker = LogBroker(pickUpTimeout: .milliseconds(100))
        let stream = await broker.subscribe(["gone": [LogSource(taskID: "t", serviceID: "s", containerID: "c")]],
                                            follow: false, tail: nil, since: nil, stdout: true, stderr: true)
        var count = 0
        for await batch in stream { count += batch.count }
        #expect(count == 0)
    }

    @Test func aWaitingAgentWakesWhenASubscriptionComes() async throws {
        let broker = LogBroker()
        let version = await broker.subscriptions(for: "n1", since: nil).version
        async let waited = broker.subscriptions(for: "n1", since: version, timeout: .seconds(10))
        try await Task.sleep(for: .milliseconds(50))
        let stream = await broker.subscribe(["n1": [LogSource(taskID: "t", serviceID: "s", containerID: "c")]],
                                            follow: true, tail: 5, since: nil, stdout: true, stderr: false)
        let answer = await waited
        #expect(answer.subscriptions.count == 1 && answer.subscriptions[0].follow && answer.subscriptions[0].tail == 5)
        _ = stream
    }

    @Test func aFollowingReaderGetsTasksThatStartLater() async throws {
        let broker = LogBroker()
        let id = await broker.open([:], follow: true, tail: nil, since: nil, stdout: true, stderr: true)
        let before = await broker.subscriptions(for: "n2", since: nil)
        #expect(before.subscriptions.isEmpty)
        await broker.add(id, node: "n2", source: LogSource(taskID: "t9", serviceID: "s", containerID: "c9"))
        let after = await broker.subscriptions(for: "n2", since: before.version, timeout: .seconds(10))
        #expect(after.subscriptions.map(\.sources) == [[LogSource(taskID: "t9", serviceID: "s", containerID: "c9")]] && after.subscriptions[0].follow)
        #expect(await broker.publish(from: "n2", LogPublication(subscriptionID: id, lines: [LogLine(taskID: "t9", stream: 1, time: "t", line: "x\n")], done: false)))
        #expect(await broker.take(id)?.map(\.serviceID) == ["s"])
        await broker.end(id)
        #expect(await broker.take(id) == nil)
    }

    @Test func aSlowReaderHoldsThePublisherBackInsteadOfFillingMemory() async throws {
        let broker = LogBroker(queueLimit: 2)
        let id = await broker.open(["n1": [LogSource(taskID: "t", serviceID: "s", containerID: "c")]],
                                   follow: true, tail: nil, since: nil, stdout: true, stderr: true)
        let lines = (1...3).map { LogLine(taskID: "t", stream: 1, time: "t", line: "\($0)\n") }
        let returned = Mutex(false)
        let publishing = Task {
            let wanted = await broker.publish(from: "n1", LogPublication(subscriptionID: id, lines: lines, done: false))
            returned.withLock { $0 = true }
            return wanted
        }
        try await Task.sleep(for: .milliseconds(100))
        #expect(!returned.withLock { $0 })
        #expect(await broker.take(id)?.map(\.line.line) == ["1\n", "2\n", "3\n"])
        #expect(await publishing.value)
        // A reader that goes away releases a waiting publisher, which learns to stop.
        let again = Task { await broker.publish(from: "n1", LogPublication(subscriptionID: id, lines: lines, done: false)) }
        try await Task.sleep(for: .milliseconds(50))
        await broker.end(id)
        #expect(await again.value == false)
    }

    @Test func framesAreDockersMultiplexedFormatWithTheDetailsTheCLIParses() {
        var bytes: [UInt8] = []
        let line = BrokeredLine(nodeID: "n1", serviceID: "s1", line: LogLine(taskID: "t1", stream: 2, time: "2026-11-27T19:41:37.5Z", line: "hi\n"))
        APIRouter.appendFrame(line, timestamps: true, details: true, to: &bytes)
        let payload = "2026-11-27T19:41:37.500000000Z com.docker.swarm.node.id=n1,com.docker.swarm.service.id=s1,com.docker.swarm.task.id=t1 hi\n"
        #expect(bytes[0..<4] == [2, 0, 0, 0])
        #expect(Int(bytes[4]) << 24 | Int(bytes[5]) << 16 | Int(bytes[6]) << 8 | Int(bytes[7]) == payload.utf8.count)
        #expect(String(decoding: bytes[8...], as: UTF8.self) == payload)
    }
}

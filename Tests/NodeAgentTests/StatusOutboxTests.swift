@testable import NodeAgent
import SwarmAPI
import Testing

@Suite struct StatusOutboxTests {
    func update(_ taskID: String, _ state: TaskState) -> StatusUpdate {
        StatusUpdate(taskID: taskID, status: TaskStatus(timestamp: .zero, state: state, message: state.name))
    }

    @Test func burstIsOneBatchNewestPerTask() throws {
        var outbox = StatusOutbox()
        for state in [TaskState.accepted, .preparing, .ready, .starting, .running] { outbox.add(update("a", state)) }
        outbox.add(update("b", .accepted))
        let taken = outbox.takeBatch()
        let batch = try #require(taken)
        #expect(batch.updates.map(\.taskID) == ["b", "a"], "in state order")
        #expect(batch.updates.map(\.status.state) == [.accepted, .running])
        #expect(outbox.isEmpty)
        #expect(outbox.takeBatch() == nil)
    }

    @Test func failedBatchGoesBehindNewer() throws {
        var outbox = StatusOutbox()
        outbox.add(update("a", .starting))
        outbox.add(update("b", .starting))
        let first = outbox.takeBatch()
        let failed = try #require(first)
        outbox.add(update("a", .running))
        outbox.putBack(failed)
        let second = outbox.takeBatch()
        let retry = try #require(second)
        #expect(retry.updates.map(\.taskID) == ["b", "a"])
        #expect(retry.updates.map(\.status.state) == [.starting, .running], "a's newer state wins")
    }
}

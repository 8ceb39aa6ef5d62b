@testable import NodeAgent
import SwarmAPI
import Testing

/// The index over the fake engine: listed once, then kept by what goes
/// through it.
@Suite struct IndexedEngineTests {
    @Test func listsTheEngineOnce() async throws {
        let engine = FakeEngine(containers: [
            TaskContainerState(id: "a", taskID: "t1", status: .running, pid: 7),
            TaskContainerState(id: "b", taskID: "t2", status: .exited, exitCode: 1),
        ])
        let indexed = IndexedEngine(engine)
        #expect(await indexed.taskContainers().map(\.id) == ["a", "b"])
        _ = try await indexed.run(makeTask("t3"))
        #expect(await indexed.taskContainers().map(\.id) == ["a", "b", "c3"])
        #expect(await indexed.taskContainers() == engine.containers)
        #expect(await engine.listings == 1)
    }

    @Test func followsExitsStopsAndRemovals() async throws {
        let engine = FakeEngine()
        let indexed = IndexedEngine(engine)
        #expect(await indexed.taskContainers().isEmpty)
        let first = try await indexed.run(makeTask("t1"))
        let second = try await indexed.run(makeTask("t2"))
        let exit = Task { await indexed.waitForExit(first.id) }
        try await eventually("watched") { await engine.watcherCount == 1 }
        await engine.exit(task: "t1", code: 3)
        #expect(await exit.value?.exitCode == 3)
        _ = try await indexed.stop(second.id, grace: .seconds(1))
        var listed = await indexed.taskContainers()
        #expect(listed.map(\.status) == [.exited, .exited])
        #expect(listed.map(\.exitCode) == [3, 143])
        try await indexed.remove(first.id)
        listed = await indexed.taskContainers()
        #expect(listed.map(\.id) == [second.id])
        #expect(await engine.listings == 1)
    }

    /// A late exit of a removed container does not bring it back.
    @Test func lateStateOfRemovedIsDropped() async throws {
        let engine = FakeEngine()
        let indexed = IndexedEngine(engine)
        _ = await indexed.taskContainers()
        let container = try await indexed.run(makeTask("t1"))
        let exit = Task { await indexed.waitForExit(container.id) }
        try await eventually("watched") { await engine.watcherCount == 1 }
        try await indexed.remove(container.id)
        _ = await exit.value
        #expect(await indexed.taskContainers().isEmpty)
    }

    /// Removed behind the agent's back: listed until its removal finds it
    /// gone; a removal that fails on a container still there keeps it.
    @Test func failedRemovals() async throws {
        let engine = FakeEngine()
        let indexed = IndexedEngine(engine)
        _ = await indexed.taskContainers()
        let gone = try await indexed.run(makeTask("t1"))
        let stuck = try await indexed.run(makeTask("t2"))
        await engine.removeBehindTheBack(gone.id)
        await engine.failRemoval(of: stuck.id, with: "device or resource busy")
        #expect(await indexed.taskContainers().map(\.id) == [gone.id, stuck.id])
        await #expect(throws: FakeEngine.Failure.self) { try await indexed.remove(gone.id) }
        await #expect(throws: FakeEngine.Failure.self) { try await indexed.remove(stuck.id) }
        #expect(await indexed.taskContainers().map(\.id) == [stuck.id])
    }

    /// The agent on the index: many assignment changes, one listing; after
    /// a restart (a new agent and index over the same containers) the
    /// running tasks are re-adopted, not started again.
    @Test func agentListsOnceAndReadopts() async throws {
        let engine = FakeEngine()
        let link = FakeManagerLink(tasks: [])
        let ids = (1...20).map { "t\($0)" }
        try await withAgent(engine: IndexedEngine(engine), link: link) { _ in
            for id in ids {
                await link.assign(makeTask(id))
                try await eventually("\(id) running") { await link.task(id)?.status.state == .running }
            }
            await link.unassign("t1")
            try await eventually("t1 removed") { await engine.container(ofTask: "t1") == nil }
        }
        #expect(await engine.listings == 1)
        let before = await engine.calls.count
        try await withAgent(engine: IndexedEngine(engine), link: link) { _ in
            try await eventually("all watched again") { await engine.watcherCount == ids.count - 1 }
        }
        #expect(await engine.calls.count == before, "nothing started again")
        #expect(await engine.listings == 2)
    }
}

@testable import NodeAgent
import SwarmAPI
import Testing

/// The agent on the fake engine and an in-process manager: what the
/// manager sees and what the engine was asked to do.
@Suite struct NodeAgentTests {
    @Test func threeTasksRun() async throws {
        let engine = FakeEngine()
        let link = FakeManagerLink(tasks: ["t1", "t2", "t3"].map { makeTask($0) })
        try await withAgent(engine: engine, link: link) { _ in
            try await eventually("three tasks running") {
                await ["t1", "t2", "t3"].asyncAllSatisfy { await link.task($0)?.status.state == .running }
            }
        }
        for id in ["t1", "t2", "t3"] {
            let statuses = await link.statuses(of: id)
            // A batch carries a task's newest state only: some may be skipped.
            #expect(statuses.map(\.state).isSorted, "only forward: \(statuses.map(\.state))")
            #expect(statuses.last?.state == .running)
            #expect(statuses.last?.message == "started")
            let container = try #require(await engine.container(ofTask: id))
            #expect(statuses.last?.containerStatus == ContainerStatus(containerID: container.id, pid: container.pid))
        }
        let runs = await engine.calls.filter { if case .run = $0 { true } else { false } }
        #expect(runs.count == 3)
        #expect(await engine.containers.count == 3)
    }

    @Test func nonZeroExitFails() async throws {
        let engine = FakeEngine()
        let link = FakeManagerLink(tasks: [makeTask("t1")])
        try await withAgent(engine: engine, link: link) { _ in
            try await eventually("running") { await link.task("t1")?.status.state == .running }
            try await eventually("watched") { await engine.watcherCount == 1 }
            await engine.exit(task: "t1", code: 1)
            try await eventually("failed") { await link.task("t1")?.status.state == .failed }
        }
        let status = try #require(await link.task("t1")?.status)
        #expect(status.message == "started")
        #expect(status.err == "task: non-zero exit (1)")
        #expect(status.containerStatus?.exitCode == 1)
        #expect(status.containerStatus?.pid == 0)
    }

    @Test func zeroExitCompletes() async throws {
        let engine = FakeEngine()
        let link = FakeManagerLink(tasks: [makeTask("t1")])
        try await withAgent(engine: engine, link: link) { _ in
            try await eventually("watched") { await engine.watcherCount == 1 }
            await engine.exit(task: "t1", code: 0)
            try await eventually("complete") { await link.task("t1")?.status.state == .complete }
        }
        #expect(await link.task("t1")?.status.message == "finished")
        #expect(await link.task("t1")?.status.err == nil)
    }

    @Test func shutdownStopsThenReports() async throws {
        let engine = FakeEngine()
        let link = FakeManagerLink(tasks: [makeTask("t1", stopGracePeriod: 2_000_000_000)])
        try await withAgent(engine: engine, link: link) { _ in
            try await eventually("running") { await link.task("t1")?.status.state == .running }
            await link.setDesiredState("t1", .shutdown)
            try await eventually("shutdown") { await link.task("t1")?.status.state == .shutdown }
        }
        let container = try #require(await engine.container(ofTask: "t1"))
        #expect(await engine.calls.contains(.stop(containerID: container.id, grace: .seconds(2))))
        #expect(container.status == .exited)
        let status = try #require(await link.task("t1")?.status)
        #expect(status.message == "shutdown")
        #expect(status.containerStatus == ContainerStatus(containerID: container.id, pid: 0, exitCode: 143))
        #expect(await !engine.calls.contains(.remove(containerID: container.id)), "kept until unassigned")
    }

    @Test func unassignedIsRemoved() async throws {
        let engine = FakeEngine()
        let link = FakeManagerLink(tasks: [makeTask("t1"), makeTask("t2")])
        try await withAgent(engine: engine, link: link) { _ in
            try await eventually("running") {
                let first = await link.task("t1")?.status.state, second = await link.task("t2")?.status.state
                return first == .running && second == .running
            }
            let removed = try #require(await engine.container(ofTask: "t1"))
            await link.unassign("t1")
            try await eventually("removed") { await engine.container(ofTask: "t1") == nil }
            #expect(await engine.calls.contains(.remove(containerID: removed.id)))
        }
        #expect(await engine.container(ofTask: "t2")?.isRunning == true, "the other task is left alone")
    }

    @Test func unassignedDuringStartIsRemovedOnceStarted() async throws {
        let engine = FakeEngine()
        await engine.holdStarts()
        let link = FakeManagerLink(tasks: [makeTask("t1")])
        try await withAgent(engine: engine, link: link) { _ in
            try await eventually("start under way") { await engine.heldStartCount == 1 }
            await link.unassign("t1")
            try await eventually("the pass without t1 done while the start holds") { await link.isUpToDate }
            #expect(await engine.heldStartCount == 1)
            await engine.releaseStarts()
            try await eventually("removed") {
                let removed = await engine.calls.contains { if case .remove = $0 { true } else { false } }
                let empty = await engine.containers.isEmpty
                return removed && empty
            }
        }
    }

    /// A start that ends while the engine lists must not be undone by the
    /// listing that predates it (no second start, no "container is gone").
    @Test func staleListingIsNotTrusted() async throws {
        let engine = FakeEngine()
        await engine.holdStarts()
        let link = FakeManagerLink(tasks: [makeTask("t1")])
        try await withAgent(engine: engine, link: link) { _ in
            try await eventually("start under way") { await engine.heldStartCount == 1 }
            await engine.holdListings()
            // A new version (t2 waits out a restart delay: it does nothing).
            await link.assign(makeTask("t2", desired: .ready))
            try await eventually("listing under way") { await engine.heldListingCount == 1 }
            await engine.releaseStarts()
            try await eventually("t1 running") { await link.task("t1")?.status.state == .running }
            await engine.releaseListings()
            try await eventually("passes done") {
                let upToDate = await link.isUpToDate, held = await engine.heldListingCount
                return upToDate && held == 0
            }
        }
        #expect(await link.task("t1")?.status.state == .running)
        #expect(await engine.calls.filter { $0 == .run(taskID: "t1") }.count == 1)
        #expect(await engine.containers.count == 1)
    }

    @Test func imageFailureRejects() async throws {
        let engine = FakeEngine()
        await engine.failImage("nosuch", with: "No such image: nosuch")
        let link = FakeManagerLink(tasks: [makeTask("t1", image: "nosuch")])
        try await withAgent(engine: engine, link: link) { _ in
            try await eventually("rejected") { await link.task("t1")?.status.state == .rejected }
        }
        let status = try #require(await link.task("t1")?.status)
        #expect(status.message == "preparing")
        #expect(status.err == "No such image: nosuch")
        #expect(await link.statuses(of: "t1").map(\.state).isSorted)
        #expect(await engine.calls == [.ensureImage("nosuch")])
    }

    @Test func startFailureRejects() async throws {
        let engine = FakeEngine()
        await engine.failStart(of: "t1", with: "exec: \"nope\": executable file not found")
        let link = FakeManagerLink(tasks: [makeTask("t1")])
        try await withAgent(engine: engine, link: link) { _ in
            try await eventually("rejected") { await link.task("t1")?.status.state == .rejected }
        }
        let status = try #require(await link.task("t1")?.status)
        #expect(status.message == "starting")
        #expect(status.err == "exec: \"nope\": executable file not found")
    }

    @Test func restartDelayWaitsForRunning() async throws {
        let engine = FakeEngine()
        let link = FakeManagerLink(tasks: [makeTask("t1", desired: .ready), makeTask("t2")])
        try await withAgent(engine: engine, link: link) { _ in
            // t2 running means the agent has had at least one pass with t1 in it.
            try await eventually("t2 running") { await link.task("t2")?.status.state == .running }
            #expect(await link.statuses(of: "t1").isEmpty)
            #expect(await engine.container(ofTask: "t1") == nil)
            await link.setDesiredState("t1", .running)
            try await eventually("t1 running") { await link.task("t1")?.status.state == .running }
        }
    }

    @Test func readoptsRunningContainer() async throws {
        let engine = FakeEngine(containers: [TaskContainerState(id: "old", taskID: "t1", status: .running, pid: 7)])
        let link = FakeManagerLink(tasks: [makeTask("t1", state: .running)])
        try await withAgent(engine: engine, link: link) { _ in
            try await eventually("watched") { await engine.watcherCount == 1 }
            #expect(await link.statuses(of: "t1").isEmpty, "running is not re-sent")
            await engine.exit(task: "t1", code: 0)
            try await eventually("complete") { await link.task("t1")?.status.state == .complete }
        }
        #expect(await engine.calls.isEmpty, "nothing started, pulled or stopped")
        #expect(await link.task("t1")?.status.containerStatus?.containerID == "old")
    }

    /// After an agent restart: what the engine has decides what is reported.
    @Test(arguments: [
        (TaskContainerState(id: "old", taskID: "t1", status: .exited, exitCode: 3), TaskState.failed, "task: non-zero exit (3)"),
        (TaskContainerState(id: "old", taskID: "t1", status: .exited, exitCode: 0), TaskState.complete, nil),
        (nil, TaskState.failed, "task: container is gone (removed while the agent was away)"),
    ] as [(TaskContainerState?, TaskState, String?)])
    func readoption(container: TaskContainerState?, state: TaskState, err: String?) async throws {
        let engine = FakeEngine(containers: container.map { [$0] } ?? [])
        let link = FakeManagerLink(tasks: [makeTask("t1", state: .running)])
        try await withAgent(engine: engine, link: link) { _ in
            try await eventually("\(state)") { await link.task("t1")?.status.state == state }
        }
        #expect(await link.task("t1")?.status.err == err)
        #expect(await engine.calls.isEmpty)
    }

    @Test func orphanContainerRemoved() async throws {
        let engine = FakeEngine(containers: [TaskContainerState(id: "old", taskID: "gone", status: .exited, exitCode: 0)])
        let link = FakeManagerLink(tasks: [makeTask("t1")])
        try await withAgent(engine: engine, link: link) { _ in
            try await eventually("removed") { await engine.calls.contains(.remove(containerID: "old")) }
            try await eventually("t1 running") { await link.task("t1")?.status.state == .running }
        }
        #expect(await engine.containers.map(\.taskID) == ["t1"])
    }

    @Test func failedReportsAreRetried() async throws {
        let engine = FakeEngine()
        let link = FakeManagerLink(tasks: [makeTask("t1")])
        await link.failNextReports(2)
        try await withAgent(engine: engine, link: link) { _ in
            try await eventually("running") { await link.task("t1")?.status.state == .running }
        }
        let states = await link.statuses(of: "t1").map(\.state)
        #expect(states.isSorted, "only forward, newest wins: \(states)")
        #expect(states.last == .running)
    }

    @Test func cancellingRunEndsEverything() async throws {
        let engine = FakeEngine()
        let link = FakeManagerLink(tasks: [makeTask("t1")])
        // withAgent cancels the agent with a watch and a long poll pending
        // and returns only once `run` returned.
        try await withAgent(engine: engine, link: link) { _ in
            try await eventually("watched") { await engine.watcherCount == 1 }
        }
        try await eventually("watch cancelled") { await engine.watcherCount == 0 }
        #expect(await engine.container(ofTask: "t1")?.isRunning == true, "containers outlive the agent")
    }
}

extension Array where Element: Comparable {
    var isSorted: Bool { zip(self, dropFirst()).allSatisfy { $0 < $1 } }
}

extension Array where Element: Sendable {
    func asyncAllSatisfy(_ predicate: (Element) async -> Bool) async -> Bool {
        for element in self where !(await predicate(element)) { return false }
        return true
    }
}

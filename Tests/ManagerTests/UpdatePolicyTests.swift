import Testing
@testable import Manager
import SwarmAPI

/// Rolling updates as the service's update config says: parallelism and
/// delay, start-first, failure actions within the monitor period, and
/// rollbacks (by hand and automatic) that keep the tasks still on the old
/// template.
@Suite struct UpdatePolicyTests {
    func service(_ cluster: ClusterFixture, replicas: UInt64, _ configure: (inout UpdateConfig) -> Void) async throws -> Service {
        var spec = ClusterFixture.spec("web", replicas: replicas)
        var update = ServiceSpec.filled(nil)
        configure(&update)
        spec.updateConfig = update
        let service = try await cluster.manager.createService(spec)
        try await cluster.settle()
        return try await cluster.manager.service(service.id)
    }

    func update(_ cluster: ClusterFixture, _ service: Service, env: String) async throws -> Service {
        var spec = service.spec
        spec.taskTemplate.containerSpec?.env = [env]
        return try await cluster.manager.updateService(service.id, version: service.version.index, spec: spec)
    }

    func tasks(_ cluster: ClusterFixture, _ service: Service, specIndex: UInt64) async -> [SwarmTask] {
        await cluster.manager.allTasks().filter { $0.serviceID == service.id && $0.specIndex == specIndex && $0.desiredState == .running }
    }

    @Test func parallelismTwoWithADelayBetweenBatches() async throws {
        let cluster = try await ClusterFixture(nodes: 2)
        let old = try await service(cluster, replicas: 6) { $0.parallelism = 2; $0.delay = 10_000_000_000 }
        let new = try await update(cluster, old, env: "V=2")
        try await cluster.settle()
        // Two replaced and running; the next two wait for the delay.
        #expect(await tasks(cluster, old, specIndex: new.specIndex).count == 2)
        #expect(await cluster.running(old.id).count == 6)
        cluster.clock.advance(seconds: 9)
        await cluster.manager.tick()
        try await cluster.settle()
        #expect(await tasks(cluster, old, specIndex: new.specIndex).count == 2)
        cluster.clock.advance(seconds: 1.5)
        await cluster.manager.tick()
        try await cluster.settle()
        #expect(await tasks(cluster, old, specIndex: new.specIndex).count == 4)
        cluster.clock.advance(seconds: 10.5)
        await cluster.manager.tick()
        try await cluster.settle()
        #expect(await tasks(cluster, old, specIndex: new.specIndex).count == 6)
        cluster.clock.advance(seconds: 5.5)
        await cluster.manager.tick()
        try await cluster.settle()
        #expect(try await cluster.manager.service(old.id).updateStatus?.state == "completed")
    }

    @Test func stopFirstStartsTheReplacementOnlyOnceTheOldTaskStopped() async throws {
        let cluster = try await ClusterFixture(nodes: 1)
        let old = try await service(cluster, replicas: 1) { _ in }
        let first = try #require(await cluster.running(old.id).first)
        let new = try await update(cluster, old, env: "V=2")
        // No agent reports: the old task is asked to stop and still runs; its replacement waits.
        try await cluster.settle(agentsRun: false)
        let waiting = try #require(await cluster.manager.allTasks().first { $0.serviceID == old.id && $0.specIndex == new.specIndex })
        #expect(waiting.desiredState == .ready)
        #expect(try await cluster.manager.task(first.id).desiredState == .shutdown)
        // The old one reports shut down: the replacement may start.
        try await cluster.settle()
        #expect(await cluster.running(old.id).map(\.id) == [waiting.id])
    }

    @Test func startFirstKeepsEverySlotServing() async throws {
        let cluster = try await ClusterFixture(nodes: 2)
        let old = try await service(cluster, replicas: 3) { $0.order = "start-first" }
        let new = try await update(cluster, old, env: "V=2")
        // One pass without agents: the replacement is made, its old task still runs.
        try await cluster.settle(agentsRun: false)
        let all = await cluster.manager.allTasks().filter { $0.serviceID == old.id && $0.desiredState == .running }
        #expect(all.count == 4)
        #expect(await cluster.running(old.id).count == 3)
        try await cluster.settle()
        let running = await cluster.running(old.id)
        #expect(running.count == 3 && running.allSatisfy { $0.specIndex == new.specIndex })
    }

    @Test func aFailingUpdatePausesWithDockersMessage() async throws {
        let cluster = try await ClusterFixture(nodes: 2)
        let old = try await service(cluster, replicas: 3) { _ in }
        let new = try await update(cluster, old, env: "BROKEN=1")
        try await cluster.settle(failing: { $0.spec.containerSpec?.env == ["BROKEN=1"] })
        let paused = try await cluster.manager.service(old.id)
        #expect(paused.updateStatus?.state == "paused")
        #expect(paused.updateStatus?.message?.hasPrefix("update paused due to failure or early termination of task ") == true)
        // Paused: the other two slots keep the old template.
        #expect(await tasks(cluster, old, specIndex: old.specIndex).count >= 2)
        _ = new
    }

    @Test func aFailingUpdateRollsBackAutomaticallyAndKeepsUntouchedTasks() async throws {
        let cluster = try await ClusterFixture(nodes: 2)
        let old = try await service(cluster, replicas: 4) { $0.failureAction = "rollback" }
        let untouched = Set(await cluster.running(old.id).map(\.id))
        _ = try await update(cluster, old, env: "BROKEN=1")
        try await cluster.settle(failing: { $0.spec.containerSpec?.env == ["BROKEN=1"] })
        var rolled = try await cluster.manager.service(old.id)
        #expect(rolled.updateStatus?.state == "rollback_started")
        #expect(rolled.updateStatus?.message?.hasPrefix("update rolled back due to failure or early termination of task ") == true)
        #expect(rolled.spec == old.spec && rolled.specIndex == old.specIndex && rolled.previousSpec == nil)
        cluster.clock.advance(seconds: 5.5)
        await cluster.manager.tick()
        try await cluster.settle()
        rolled = try await cluster.manager.service(old.id)
        #expect(rolled.updateStatus?.state == "rollback_completed")
        let running = await cluster.running(old.id)
        #expect(running.count == 4 && running.allSatisfy { $0.spec.containerSpec?.env == nil })
        // Three slots never left the old template: their tasks were not replaced.
        #expect(Set(running.map(\.id)).intersection(untouched).count == 3)
    }

    @Test func aFailureRatioToleratesSomeFailures() async throws {
        let cluster = try await ClusterFixture(nodes: 2)
        let old = try await service(cluster, replicas: 4) { $0.maxFailureRatio = 0.5; $0.parallelism = 0 }
        var failures = 1
        _ = try await update(cluster, old, env: "V=2")
        // One of four fails once (25% ≤ 50%): the update goes on and completes.
        try await cluster.settle(failing: { _ in failures -= 1; return failures >= 0 })
        cluster.clock.advance(seconds: 5.5)
        await cluster.manager.tick()
        try await cluster.settle()
        #expect(try await cluster.manager.service(old.id).updateStatus?.state == "completed")
    }

    @Test func manualRollbackSwapsWithThePreviousSpec() async throws {
        let cluster = try await ClusterFixture(nodes: 2)
        let old = try await service(cluster, replicas: 2) { _ in }
        let new = try await update(cluster, old, env: "V=2")
        try await cluster.settle()
        let current = try await cluster.manager.service(old.id)
        let back = try await cluster.manager.updateService(old.id, version: current.version.index, spec: current.spec, rollback: true)
        #expect(back.updateStatus?.state == "rollback_started" && back.updateStatus?.message == "manually requested rollback")
        #expect(back.spec == old.spec && back.specIndex == old.specIndex)
        try await cluster.settle()
        #expect(await cluster.running(old.id).allSatisfy { $0.specIndex == old.specIndex && $0.specIndex != new.specIndex })
        await #expect(throws: (any Error).self) {
            _ = try await cluster.manager.updateService(old.id, version: back.version.index + 100, spec: back.spec, rollback: true)
        }
        // As Docker's: the spec left is the previous one, a second rollback goes forward again.
        #expect(back.previousSpec == new.spec && back.previousSpecIndex == new.specIndex)
        let latest = try await cluster.manager.service(old.id)
        let forward = try await cluster.manager.updateService(old.id, version: latest.version.index, spec: latest.spec, rollback: true)
        #expect(forward.spec == new.spec && forward.specIndex == new.specIndex && forward.previousSpec == old.spec)
        try await cluster.settle()
        #expect(await cluster.running(old.id).allSatisfy { $0.spec.containerSpec?.env == ["V=2"] })
    }
}

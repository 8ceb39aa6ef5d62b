import ClusterStore
import Foundation
import MetricsTestKit
import Testing
@testable import Manager
import SwarmAPI

struct ClusterMetricsTests {
    @Test func tasksNodesSessionsLatencyAndMissedHeartbeatsFollowTheStore() async throws {
        let cluster = try await ClusterFixture(nodes: 3)
        let metrics = TestMetrics()
        let watcher = ClusterMetrics(store: cluster.store, factory: metrics)
        let loop = Task { await watcher.run() }
        defer { loop.cancel() }
        // Every series exists from the start.
        #expect(try metrics.expectGauge(ClusterMetrics.tasks, [("state", "running")]).lastValue == 0)

        _ = try await cluster.manager.createService(ClusterFixture.spec("web", replicas: 5))
        try await cluster.settle()
        await watcher.processed(through: await cluster.store.index)
        #expect(try metrics.expectGauge(ClusterMetrics.tasks, [("state", "running")]).lastValue == 5)
        #expect(try metrics.expectGauge(ClusterMetrics.tasks, [("state", "pending")]).lastValue == 0)
        #expect(try metrics.expectGauge(ClusterMetrics.nodes, [("state", "ready")]).lastValue == 3)
        #expect(try metrics.expectGauge(ClusterMetrics.nodes, [("state", "down")]).lastValue == 0)
        #expect(try metrics.expectGauge(ClusterMetrics.sessions).lastValue == 3)
        #expect(try metrics.expectTimer(ClusterMetrics.schedulingLatency).values.count == 5)

        // Scaled down: every state's gauge counts the store's tasks in it.
        let web = try await cluster.manager.service("web")
        var spec = web.spec
        spec.mode.replicated?.replicas = 2
        _ = try await cluster.manager.updateService("web", version: web.version.index, spec: spec)
        try await cluster.settle()
        await watcher.processed(through: await cluster.store.index)
        #expect(try metrics.expectGauge(ClusterMetrics.tasks, [("state", "running")]).lastValue == 2)
        let tasks = await cluster.manager.allTasks()
        for state in TaskState.allCases {
            let stored = Double(tasks.filter { $0.status.state == state }.count)
            #expect(try metrics.expectGauge(ClusterMetrics.tasks, [("state", state.name)]).lastValue == stored, "\(state)")
        }

        // No heartbeat for long: every node is marked down, one missed heartbeat each.
        cluster.clock.advance(seconds: 60)
        await cluster.manager.tick()
        try await cluster.settle(agentsRun: false)
        await watcher.processed(through: await cluster.store.index)
        #expect(try metrics.expectGauge(ClusterMetrics.nodes, [("state", "down")]).lastValue == 3)
        #expect(try metrics.expectGauge(ClusterMetrics.sessions).lastValue == 0)
        #expect(try metrics.expectCounter(ClusterMetrics.heartbeatsMissed).totalValue == 3)
    }
}

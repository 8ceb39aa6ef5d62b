import ClusterStore
import Testing
@testable import Manager
import SwarmAPI

/// compose's depends_on: a dependent's tasks wait, pending with the reason,
/// until the service it depends on has a task started, or running (healthy).
@Suite struct DependencyTests {
    @Test func aDependentWaitsUntilItsDependencyIsHealthy() async throws {
        let cluster = try await ClusterFixture(nodes: 2)
        var web = ClusterFixture.spec("web", replicas: 2)
        web.dependsOn = [ServiceDependency(service: "database", condition: .serviceHealthy)]
        let webService = try await cluster.manager.createService(web)
        try await cluster.settle(agentsRun: false)
        var waiting = await cluster.manager.allTasks().filter { $0.serviceID == webService.id }
        #expect(waiting.count == 2)
        #expect(waiting.allSatisfy { $0.status.state == .pending && $0.status.err == "waiting for service database, which does not exist (depends_on)" })

        let database = try await cluster.manager.createService(ClusterFixture.spec("database"))
        try await cluster.settle(agentsRun: false)
        waiting = await cluster.manager.allTasks().filter { $0.serviceID == webService.id }
        #expect(waiting.allSatisfy { $0.status.state == .pending && $0.status.err == "waiting for service database to be healthy (depends_on)" })

        // Started but not yet healthy (a task with a check stays `starting` until it passes): still waiting.
        let databaseTask = try #require(await cluster.manager.allTasks().first { $0.serviceID == database.id })
        let node = try #require(databaseTask.nodeID)
        try await cluster.manager.reportStatus(nodeID: node, StatusBatch(updates: [
            StatusUpdate(taskID: databaseTask.id, status: TaskStatus(timestamp: cluster.clock.now, state: .starting, message: "starting"))]))
        try await cluster.settle(agentsRun: false)
        #expect(await cluster.manager.allTasks().filter { $0.serviceID == webService.id }.allSatisfy { $0.status.state == .pending })

        try await cluster.settle()
        #expect(await cluster.running(webService.id).count == 2)
    }

    @Test func serviceStartedIsMetByAStartingTask() async throws {
        let cluster = try await ClusterFixture(nodes: 1)
        let database = try await cluster.manager.createService(ClusterFixture.spec("database"))
        var web = ClusterFixture.spec("web")
        web.dependsOn = [ServiceDependency(service: "database", condition: .serviceStarted)]
        let webService = try await cluster.manager.createService(web)
        try await cluster.settle(agentsRun: false)
        #expect(await cluster.manager.allTasks().first { $0.serviceID == webService.id }?.status.err == "waiting for service database to start (depends_on)")
        let databaseTask = try #require(await cluster.manager.allTasks().first { $0.serviceID == database.id })
        try await cluster.manager.reportStatus(nodeID: "node1", StatusBatch(updates: [
            StatusUpdate(taskID: databaseTask.id, status: TaskStatus(timestamp: cluster.clock.now, state: .starting, message: "starting"))]))
        try await cluster.settle(agentsRun: false)
        #expect(await cluster.manager.allTasks().first { $0.serviceID == webService.id }?.status.state == .assigned)
    }
}

import ClusterStore
import Foundation
import HTTPServer
import Manager
import SwarmAPI
import Testing
@testable import Visualizer

/// A manager on a temporary store (orchestrator and scheduler for real, no
/// agents) with the visualizer's board on the same watch.
final class BoardFixture: Sendable {
    let directory: String
    let manager: ClusterManager
    let board: ClusterBoard
    let loops: [Task<Void, Never>]

    init(feedBacklog: Int = 256) async throws {
        directory = NSTemporaryDirectory() + "swarm-test-board-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let store = try SQLiteStore(path: directory + "/state.db")
        try await ClusterManager.bootstrap(store: store, clusterID: "cluster", nodeID: "node1", hostname: "host1", addr: "10.0.0.1:2377",
                                           tokens: JoinTokens(worker: "w", manager: "m"), heartbeatPeriod: 5_000_000_000)
        let manager = try await ClusterManager(store: store, nodeID: "node1")
        let board = ClusterBoard(store: store, feedBacklog: feedBacklog)
        self.manager = manager
        self.board = board
        loops = [Task { await manager.run(tickInterval: nil) }, Task { await board.run() }]
        _ = try await manager.openSession(nodeID: "node1", SessionRequest(description: NodeDescription(
            hostname: "host1", platform: Platform(architecture: "x86_64", os: "linux"),
            resources: Resources(nanoCPUs: 2_000_000_000, memoryBytes: 4 << 30), engine: EngineDescription(engineVersion: "test"),
            cgroupControllers: ["cpu", "memory", "pids"]), addr: "10.0.0.1"))
    }

    deinit {
        for loop in loops { loop.cancel() }
        try? FileManager.default.removeItem(atPath: directory)
    }

    func createService(_ name: String, replicas: UInt64, constraints: [String]? = nil, stack: String? = nil) async throws -> Service {
        var template = TaskSpec(containerSpec: ContainerSpec(image: "busybox:latest@sha256:" + String(repeating: "a", count: 64)))
        if let constraints { template.placement = Placement(constraints: constraints) }
        var spec = ServiceSpec(name: name, taskTemplate: template, mode: ServiceMode(replicated: .init(replicas: replicas)))
        if let stack { spec.labels = ["com.docker.stack.namespace": stack] }
        return try await manager.createService(spec)
    }

    /// Waits until the board has seen everything the store has.
    func caughtUp() async throws {
        try await manager.settle()
        await board.processed(through: await manager.store.index)
    }
}

/// What a page keeps: the feed's updates applied in order.
struct PageModel {
    var nodes: [String: BoardNode] = [:]
    var services: [String: BoardService] = [:]
    var tasks: [String: BoardTask] = [:]
    var index: UInt64 = 0

    mutating func apply(_ bytes: [UInt8]) throws {
        let update = try JSONDecoder().decode(BoardUpdate.self, from: Data(bytes))
        if update.full { self = PageModel() }
        index = update.index
        for node in update.nodes { nodes[node.id] = node }
        for service in update.services { services[service.id] = service }
        for task in update.tasks { tasks[task.id] = task }
        for id in update.removedNodes { nodes[id] = nil }
        for id in update.removedServices { services[id] = nil }
        for id in update.removedTasks { tasks[id] = nil }
    }

    func tasks(of service: String) -> [BoardTask] {
        let id = services.values.first { $0.name == service }?.id
        return tasks.values.filter { $0.serviceID == id }
    }
}

/// Reads a feed into a model until `done` holds (or the time is up).
func follow(_ feed: inout AsyncStream<[UInt8]>.AsyncIterator, _ model: inout PageModel, within seconds: Double = 10,
            until done: (PageModel) -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while !done(model) {
        guard Date() < deadline, let bytes = await feed.next() else { return done(model) }
        try model.apply(bytes)
    }
    return true
}

@Suite struct ClusterBoardTests {
    @Test func feedStartsWholeThenFollowsEveryChange() async throws {
        let cluster = try await BoardFixture()
        try await cluster.caughtUp()
        var feed = await cluster.board.subscribe().makeAsyncIterator()
        var page = PageModel()
        let first = try #require(await feed.next())
        try page.apply(first)
        #expect(try JSONDecoder().decode(BoardUpdate.self, from: Data(first)).full)
        #expect(page.nodes.values.map(\.hostname) == ["host1"])
        #expect(page.nodes["node1"]?.leader == true && page.nodes["node1"]?.state == "ready" && page.nodes["node1"]?.cpus == 2)

        _ = try await cluster.createService("web", replicas: 3, stack: "shop")
        // Created, then placed: the page sees each step.
        #expect(try await follow(&feed, &page) { $0.tasks(of: "web").count == 3 && $0.tasks(of: "web").allSatisfy { $0.nodeID != nil } })
        #expect(page.services.values.first?.stack == "shop")
        #expect(page.tasks(of: "web").allSatisfy { $0.nodeID == "node1" && $0.image == "busybox:latest" }, "\(page.tasks)")
        #expect(Set(page.tasks(of: "web").compactMap(\.slot)) == [1, 2, 3])

        // Scaled down: the tasks told to stop leave the page.
        let web = try await cluster.manager.service("web")
        var spec = web.spec
        spec.mode.replicated?.replicas = 1
        _ = try await cluster.manager.updateService("web", version: web.version.index, spec: spec)
        #expect(try await follow(&feed, &page) { $0.tasks(of: "web").count == 1 }, "\(page.tasks(of: "web"))")

        // The page's model is the board's own state.
        try await cluster.caughtUp()
        var state = PageModel()
        try state.apply(await cluster.board.state())
        let whole = state
        #expect(try await follow(&feed, &page, within: 5) { $0.tasks == whole.tasks && $0.nodes == whole.nodes && $0.services == whole.services })

        try await cluster.manager.removeService("web")
        #expect(try await follow(&feed, &page) { $0.services.isEmpty && $0.tasks.isEmpty })
    }

    @Test func unplaceableTaskIsShownPendingWithTheSchedulersReason() async throws {
        let cluster = try await BoardFixture()
        _ = try await cluster.createService("nowhere", replicas: 1, constraints: ["node.labels.zone==mars"])
        try await cluster.caughtUp()
        var page = PageModel()
        try page.apply(await cluster.board.state())
        let task = try #require(page.tasks(of: "nowhere").first)
        #expect(task.nodeID == nil && task.state == "pending")
        #expect(task.err?.contains("no suitable node") == true, "\(task)")
    }

    @Test func aFeedThatFallsBehindIsEndedNotBuffered() async throws {
        let cluster = try await BoardFixture(feedBacklog: 4)
        try await cluster.caughtUp()
        let feed = await cluster.board.subscribe()
        #expect(await cluster.board.viewers == 1)
        // Never read: the whole board and three updates fill the backlog; the next one ends the feed.
        for round in 0..<5 {
            _ = try await cluster.createService("s\(round)", replicas: 0)
            try await cluster.caughtUp()
            #expect(await cluster.board.viewers == (round < 3 ? 1 : 0))
        }
        var count = 0
        for await _ in feed { count += 1 }
        #expect(count == 4)
    }
}

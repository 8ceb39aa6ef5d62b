import ClusterStore
import Logging
import SwarmAPI

/// The manager: the store, and the components that keep the cluster as
/// declared, each its own actor on the store's watch (orchestrator →
/// allocator → scheduler → dispatcher, through committed task states);
/// none calls another. The API's operations (`ManagerAPI.swift`) validate
/// and commit through the store too. `run()` is the leader loop.
public actor ClusterManager {
    public let store: any ClusterStore
    public nonisolated let nodeID: String
    let clock: @Sendable () -> Timestamp
    let logger = Logger(label: "swarm.manager")
    private(set) var orchestrator: Orchestrator
    private(set) var allocator: Allocator
    private(set) var scheduler: Scheduler
    private(set) var dispatcher: Dispatcher
    private let hostRoutes: @Sendable () -> [IPv4Subnet]
    /// Whether the components above have run: a manager that leads again
    /// (after losing an election) starts from fresh ones, as a newly elected
    /// manager does, so no view or timer of its earlier term survives.
    private var componentsUsed = false

    /// Whether several managers can share the store (etcd): only then can a
    /// node be promoted or join as a manager.
    public nonisolated let sharedStore: Bool

    /// Seals secrets in the store; its key lives beside the store, never in it.
    let vault: SecretVault

    /// `hostRoutes`: the subnets the host reaches already (its routing table,
    /// by default), which no overlay network may be given. `vault`: the
    /// managers' key for secrets (a new one for a store that keeps none, as tests' stores).
    public init(store: any ClusterStore, nodeID: String, clock: @escaping @Sendable () -> Timestamp = Timestamp.now,
                hostRoutes: (@Sendable () -> [String])? = nil, vault: SecretVault = SecretVault(), sharedStore: Bool = false) async throws {
        guard await store.all(SwarmInfo.self).first != nil else {
            throw APIError.unavailable("This node is not a swarm manager: the store has no swarm. Use \"swarm init\" or \"swarm join\".")
        }
        self.store = store
        self.nodeID = nodeID
        self.clock = clock
        self.vault = vault
        self.sharedStore = sharedStore
        let routes: @Sendable () -> [IPv4Subnet]
        if let hostRoutes { routes = { hostRoutes().compactMap(IPv4Subnet.init) } } else { routes = Allocator.readHostRoutes }
        self.hostRoutes = routes
        orchestrator = Orchestrator(store: store, clock: clock)
        allocator = Allocator(store: store, clock: clock, hostRoutes: routes)
        scheduler = Scheduler(store: store, clock: clock)
        dispatcher = Dispatcher(store: store, clock: clock)
    }

    /// The components for a term of leadership: fresh ones once they have run.
    private func beginTerm() -> (Orchestrator, Allocator, Scheduler, Dispatcher) {
        if componentsUsed {
            orchestrator = Orchestrator(store: store, clock: clock)
            allocator = Allocator(store: store, clock: clock, hostRoutes: hostRoutes)
            scheduler = Scheduler(store: store, clock: clock)
            dispatcher = Dispatcher(store: store, clock: clock)
        }
        componentsUsed = true
        return (orchestrator, allocator, scheduler, dispatcher)
    }

    /// Runs every component until the task is cancelled (one term of
    /// leadership); with `tickInterval`, also the timers (heartbeats, restart delays).
    public nonisolated func run(tickInterval: Duration? = .milliseconds(100)) async {
        let (orchestrator, allocator, scheduler, dispatcher) = await beginTerm()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await orchestrator.run() }
            group.addTask { await allocator.run() }
            group.addTask { await scheduler.run() }
            group.addTask { await dispatcher.run() }
            if let tickInterval {
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: tickInterval)
                        await self.tick()
                    }
                }
            }
        }
    }

    /// The timers: nodes whose heartbeats stopped, restart delays that ran out.
    public nonisolated func tick() async {
        await self.dispatcher.tick()
        await self.orchestrator.tick()
    }

    /// Returns once every component has acted on every change and none
    /// committed anything more: the cluster is as declared, for now.
    /// Fails after `passes` rounds that each brought new changes.
    public nonisolated func settle(passes: Int = 100) async throws {
        for _ in 0..<passes {
            let index = await store.index
            await self.orchestrator.processed(through: index)
            await self.allocator.processed(through: index)
            await self.scheduler.processed(through: index)
            await self.dispatcher.processed(through: index)
            if await store.index == index { return }
        }
        throw APIError(500, "the cluster did not settle after \(passes) rounds of changes")
    }

    // MARK: - The agents' side, served by the dispatcher

    public nonisolated func openSession(nodeID: String, _ request: SessionRequest) async throws -> SessionResponse {
        try await self.dispatcher.openSession(nodeID: nodeID, request)
    }

    public nonisolated func heartbeat(nodeID: String) async throws -> SessionResponse {
        try await self.dispatcher.heartbeat(nodeID: nodeID)
    }

    public nonisolated func reportStatus(nodeID: String, _ batch: StatusBatch) async throws {
        try await self.dispatcher.reportStatus(nodeID: nodeID, batch)
    }

    public nonisolated func assignments(nodeID: String, since: UInt64?, timeout: Duration = .seconds(20)) async throws -> Assignments {
        try await self.dispatcher.assignments(nodeID: nodeID, since: since, timeout: timeout)
    }
}

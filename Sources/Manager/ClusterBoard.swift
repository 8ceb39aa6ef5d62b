import ClusterStore
import FoundationEssentials
import SwarmAPI

/// The visualizer's read side: the nodes, services and shown tasks as the
/// page draws them, kept from the store's watch, and a feed per open page:
/// the whole board first, then each change as it is committed (no polling).
/// Each update is encoded once, whatever the number of pages.
public actor ClusterBoard {
    let store: any ClusterStore
    let clock: @Sendable () -> Timestamp
    private var nodes: [String: BoardNode] = [:]
    private var services: [String: BoardService] = [:]
    private var tasks: [String: BoardTask] = [:]
    private var index: UInt64 = 0
    private var feeds: [UInt64: AsyncStream<[UInt8]>.Continuation] = [:]
    private var nextFeed: UInt64 = 0
    private var progress = ProgressWaiters()
    private let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// Updates a page may have waiting before it is cut off; its
    /// EventSource reconnects and gets the whole board again, so a slow
    /// page costs the manager no unbounded memory and loses nothing.
    let feedBacklog: Int

    public init(store: any ClusterStore, clock: @escaping @Sendable () -> Timestamp = Timestamp.now, feedBacklog: Int = 256) {
        self.store = store
        self.clock = clock
        self.feedBacklog = feedBacklog
    }

    public func run() async {
        var watch = store.watch(from: 0).makeAsyncIterator()
        while let event = await watch.next() {
            switch event {
            case .snapshot(let snapshot): rebuild(snapshot)
            case .changes(let changes): apply(changes)
            }
            progress.advance(to: watch.index)
        }
        for feed in feeds.values { feed.finish() }
        feeds = [:]
    }

    /// Returns once the board has seen every change up to `index`.
    public func processed(through index: UInt64) async {
        await withCheckedContinuation { progress.add(index, $0) }
    }

    /// A page's feed: JSON `BoardUpdate`s, the first one whole (the board
    /// starts empty at index 0, so a feed opened before the watch's first
    /// event is whole too).
    public func subscribe() -> AsyncStream<[UInt8]> {
        let (stream, continuation) = AsyncStream<[UInt8]>.makeStream(bufferingPolicy: .bufferingOldest(feedBacklog))
        let id = nextFeed
        nextFeed += 1
        feeds[id] = continuation
        continuation.onTermination = { _ in Task { await self.unsubscribe(id) } }
        continuation.yield(encode(whole()))
        return stream
    }

    /// The whole board as JSON (`BoardUpdate` with `full`).
    public func state() -> [UInt8] { encode(whole()) }

    /// How many pages are open.
    public var viewers: Int { feeds.count }

    private func unsubscribe(_ id: UInt64) { feeds[id] = nil }

    // MARK: - The view

    private func rebuild(_ snapshot: StoreSnapshot) {
        index = snapshot.index
        nodes = [:]; services = [:]; tasks = [:]
        for node in snapshot.nodes { nodes[node.id] = BoardNode(node) }
        for service in snapshot.services { services[service.id] = BoardService(service) }
        for task in snapshot.tasks where BoardTask.shown(task) { tasks[task.id] = BoardTask(task) }
        broadcast(encode(whole()))
    }

    private func apply(_ changes: [StoreChange]) {
        var update = BoardUpdate(full: false, index: index, now: 0, nodes: [], services: [], tasks: [],
                                 removedNodes: [], removedServices: [], removedTasks: [])
        // Keyed, so that an object changed several times in one batch is sent once, as it ends.
        var changedNodes: [String: BoardNode?] = [:]
        var changedServices: [String: BoardService?] = [:]
        var changedTasks: [String: BoardTask?] = [:]
        for change in changes {
            index = max(index, change.index)
            switch (change.object, change.action) {
            case (.node(let node), .deleted):
                if nodes.removeValue(forKey: node.id) != nil { changedNodes[node.id] = .some(nil) }
            case (.node(let node), _):
                let shown = BoardNode(node)
                if nodes[node.id] != shown { nodes[node.id] = shown; changedNodes[node.id] = shown }
            case (.service(let service), .deleted):
                if services.removeValue(forKey: service.id) != nil { changedServices[service.id] = .some(nil) }
            case (.service(let service), _):
                let shown = BoardService(service)
                if services[service.id] != shown { services[service.id] = shown; changedServices[service.id] = shown }
            case (.task(let task), let action):
                if action == .deleted || !BoardTask.shown(task) {
                    if tasks.removeValue(forKey: task.id) != nil { changedTasks[task.id] = .some(nil) }
                } else {
                    let shown = BoardTask(task)
                    if tasks[task.id] != shown { tasks[task.id] = shown; changedTasks[task.id] = shown }
                }
            case (.swarm, _), (.network, _), (.secret, _), (.config, _):
                break
            }
        }
        for (id, node) in changedNodes { if let node { update.nodes.append(node) } else { update.removedNodes.append(id) } }
        for (id, service) in changedServices { if let service { update.services.append(service) } else { update.removedServices.append(id) } }
        for (id, task) in changedTasks { if let task { update.tasks.append(task) } else { update.removedTasks.append(id) } }
        guard !update.isEmpty, !feeds.isEmpty else { return }
        update.index = index
        update.now = clock().nanoseconds / 1_000_000
        broadcast(encode(update))
    }

    private func whole() -> BoardUpdate {
        BoardUpdate(full: true, index: index, now: clock().nanoseconds / 1_000_000,
                    nodes: nodes.values.sorted { $0.hostname < $1.hostname }, services: Array(services.values),
                    tasks: Array(tasks.values), removedNodes: [], removedServices: [], removedTasks: [])
    }

    private func encode(_ update: BoardUpdate) -> [UInt8] {
        // The types are plain strings and numbers: encoding cannot fail.
        (try? Array(encoder.encode(update))) ?? []
    }

    private func broadcast(_ bytes: [UInt8]) {
        for (id, feed) in feeds {
            if case .dropped = feed.yield(bytes) {
                // The page fell behind: end its feed; it reconnects and starts whole.
                feed.finish()
                feeds[id] = nil
            }
        }
    }
}

import SwarmAPI

/// The cluster's state: every object the manager keeps, versioned by one
/// index that grows with every committed change. Components read it, watch
/// its committed changes and propose changes as batches; nothing else
/// writes state. SQLite implements it now (`SQLiteStore`); a replicated
/// store (etcd) can implement it later: commits are asynchronous.
public protocol ClusterStore: Sendable {
    /// Commits every change of `batch` or none; returns the index of the
    /// last change. Fails with `StoreError.outOfSequence` when the batch
    /// names a version that is no longer the stored one.
    @discardableResult
    func commit(_ batch: StoreBatch) async throws -> UInt64
    /// Everything, at one index.
    func snapshot() async -> StoreSnapshot
    /// The objects of one kind.
    func all<T: StoredObject>(_ type: T.Type) async -> [T]
    /// One object, or nil.
    func get<T: StoredObject>(_ type: T.Type, id: String) async -> T?
    /// The index of the last committed change.
    var index: UInt64 { get async }
    /// Committed changes after `index`, in order, for as long as the
    /// caller iterates. Each subscriber has its own cursor; one that falls
    /// behind the store's recent changes gets a fresh snapshot instead (it
    /// loses no state, only the intermediate steps).
    func watch(from index: UInt64) -> StoreWatch
}

public enum StoreError: Error, Equatable, CustomStringConvertible {
    /// A batch named a version that is not the stored one (someone changed the object since it was read).
    case outOfSequence(kind: String, id: String)
    /// The batch creates an object that exists already.
    case exists(kind: String, id: String)

    public var description: String {
        switch self {
        case .outOfSequence(let kind, let id): "update out of sequence (\(kind) \(id))"
        case .exists(let kind, let id): "\(kind) \(id) exists already"
        }
    }
}

/// One committed change: the object as committed (as it was, for a deletion) and its index.
public struct StoreChange: Sendable, Equatable {
    public enum Action: Sendable, Equatable { case created, updated, deleted }
    public var action: Action
    public var object: StoreObject
    public var index: UInt64

    public init(action: Action, object: StoreObject, index: UInt64) {
        self.action = action
        self.object = object
        self.index = index
    }
}

/// Every object at one index.
public struct StoreSnapshot: Sendable {
    public var index: UInt64
    public var swarm: SwarmInfo?
    public var nodes: [Node]
    public var services: [Service]
    public var tasks: [SwarmTask]
    public var networks: [SwarmNetwork]

    public init(index: UInt64, swarm: SwarmInfo?, nodes: [Node], services: [Service], tasks: [SwarmTask], networks: [SwarmNetwork] = []) {
        self.index = index
        self.swarm = swarm
        self.nodes = nodes
        self.services = services
        self.tasks = tasks
        self.networks = networks
    }
}

/// What a watch delivers.
public enum StoreEvent: Sendable {
    /// The whole state: the subscriber rebuilds its view from it (at the
    /// start when watching from 0, or after falling too far behind).
    case snapshot(StoreSnapshot)
    /// Changes committed since the last event, in index order (one or more commits).
    case changes([StoreChange])
}

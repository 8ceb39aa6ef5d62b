import Foundation
import SwarmAPI

/// Moves a swarm's state from one store to another (SQLite to etcd when a
/// second manager comes, and back): every object of every kind, with its ID
/// and contents; versions become the target's. Nothing may write to either
/// store meanwhile (the manager runs no component during the copy).
public enum StoreMigration {
    public enum Failure: Error, Equatable, CustomStringConvertible {
        /// The target holds objects already: a copy would mix two states.
        case targetNotEmpty(kind: String, count: Int)

        public var description: String {
            switch self {
            case .targetNotEmpty(let kind, let count):
                "cannot move the swarm's state into a store that has some already (\(count) \(kind) objects)"
            }
        }
    }

    public struct Report: Sendable, Equatable {
        /// Objects copied.
        public var objects: Int
        /// Commits made to the target.
        public var commits: Int
        /// The target's index after the copy.
        public var index: UInt64
    }

    /// Every kind the stores keep, in the order copied (a service before its tasks).
    static var kinds: [any StoredObject.Type] { [
        SwarmInfo.self, Node.self, SwarmNetwork.self, SwarmSecret.self, SwarmConfig.self, Service.self, SwarmTask.self,
    ] }

    /// Copies everything in `source` into `target`, which must be empty, in
    /// commits of at most `batchObjects` objects and about `batchBytes` of
    /// JSON (etcd's defaults: 128 operations and 1.5 MiB per transaction).
    ///
    /// Objects keep their contents (`updatedAt` included), except the store
    /// indexes some carry: a service's `specIndex` and `previousSpecIndex`
    /// and a task's `specIndex` name the source's indexes, and an update in
    /// the target could get one of those numbers, making old tasks look
    /// current. They are renumbered, keeping which are equal, to indexes the
    /// target has passed by the end of the copy.
    @discardableResult
    public static func copy(from source: any ClusterStore, to target: any ClusterStore,
                            batchObjects: Int = 100, batchBytes: Int = 1 << 20) async throws -> Report {
        for kind in kinds {
            let count = await countObjects(of: kind, in: target)
            if count > 0 { throw Failure.targetNotEmpty(kind: kind.kind, count: count) }
        }
        var objects: [StoreObject] = []
        for kind in kinds { objects += await storedObjects(of: kind, in: source) }

        // Spec indexes → base+1, base+2, … in order.
        let base = await target.index
        var specIndexes: Set<UInt64> = []
        for object in objects {
            switch object {
            case .service(let service):
                specIndexes.insert(service.specIndex)
                if let previous = service.previousSpecIndex { specIndexes.insert(previous) }
            case .task(let task): specIndexes.insert(task.specIndex)
            default: break
            }
        }
        specIndexes.remove(0)
        var renumbered: [UInt64: UInt64] = [0: 0]
        for (rank, index) in specIndexes.sorted().enumerated() { renumbered[index] = base + 1 + UInt64(rank) }
        objects = objects.map { object in
            switch object {
            case .service(var service):
                service.specIndex = renumbered[service.specIndex] ?? service.specIndex
                service.previousSpecIndex = service.previousSpecIndex.map { renumbered[$0] ?? $0 }
                return .service(service)
            case .task(var task):
                task.specIndex = renumbered[task.specIndex] ?? task.specIndex
                return .task(task)
            default:
                return object
            }
        }

        let encoder = JSONEncoder()
        var commits = 0
        var batch = StoreBatch(now: .now())
        var count = 0, bytes = 0
        func flush() async throws {
            guard count > 0 else { return }
            try await target.commit(batch)
            commits += 1
            batch = StoreBatch(now: .now())
            count = 0
            bytes = 0
        }
        for object in objects {
            let size = try encodedSize(object, encoder)
            if count >= batchObjects || (count > 0 && bytes + size > batchBytes) { try await flush() }
            batch.restore(object)
            count += 1
            bytes += size
        }
        try await flush()
        // Few objects but many spec indexes: move the target's index past them
        // by writing the last object again, unchanged.
        let highest = base + UInt64(specIndexes.count)
        if let last = objects.last {
            while await target.index < highest {
                let stored = await target.index
                var again = StoreBatch(now: .now())
                again.restore(last)
                try await target.commit(again)
                commits += 1
                guard await target.index > stored else { break }
            }
        }
        return Report(objects: objects.count, commits: commits, index: await target.index)
    }

    private static func countObjects<T: StoredObject>(of type: T.Type, in store: any ClusterStore) async -> Int {
        await store.all(type).count
    }

    private static func storedObjects<T: StoredObject>(of type: T.Type, in store: any ClusterStore) async -> [StoreObject] {
        await store.all(type).sorted { $0.id < $1.id }.map(\.stored)
    }

    private static func encodedSize(_ object: StoreObject, _ encoder: JSONEncoder) throws -> Int {
        switch object {
        case .swarm(let value): try encoder.encode(value).count
        case .node(let value): try encoder.encode(value).count
        case .service(let value): try encoder.encode(value).count
        case .task(let value): try encoder.encode(value).count
        case .secret(let value): try encoder.encode(value).count
        case .config(let value): try encoder.encode(value).count
        case .network(let value): try encoder.encode(value).count
        }
    }
}

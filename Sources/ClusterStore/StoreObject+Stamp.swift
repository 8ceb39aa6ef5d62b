import SwarmAPI

extension StoreObject {
    /// The object as committed at `index`.
    package func stamped(_ index: UInt64, _ now: Timestamp) -> StoreObject {
        func stamp<T: StoredObject>(_ value: T) -> StoreObject {
            var value = value
            value.version = ObjectVersion(index: index)
            value.updatedAt = now
            return value.stored
        }
        switch self {
        case .swarm(let value): return stamp(value)
        case .node(let value): return stamp(value)
        case .service(let value): return stamp(value)
        case .task(let value): return stamp(value)
        case .secret(let value): return stamp(value)
        case .config(let value): return stamp(value)
        case .network(let value): return stamp(value)
        }
    }

    /// The object with `index` as its version (and nothing else changed):
    /// what a store whose version lives outside the body (etcd's mod_revision) reads.
    package func versioned(_ index: UInt64) -> StoreObject {
        func version<T: StoredObject>(_ value: T) -> StoreObject {
            var value = value
            value.version = ObjectVersion(index: index)
            return value.stored
        }
        switch self {
        case .swarm(let value): return version(value)
        case .node(let value): return version(value)
        case .service(let value): return version(value)
        case .task(let value): return version(value)
        case .secret(let value): return version(value)
        case .config(let value): return version(value)
        case .network(let value): return version(value)
        }
    }
}

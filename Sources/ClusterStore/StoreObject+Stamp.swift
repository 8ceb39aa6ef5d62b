import SwarmAPI

extension StoreObject {
    /// The object as committed at `index`.
    func stamped(_ index: UInt64, _ now: Timestamp) -> StoreObject {
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
}

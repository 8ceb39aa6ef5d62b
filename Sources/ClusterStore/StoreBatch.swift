import SwarmAPI

/// Changes to commit together, as values. The store stamps each changed
/// object with the index of its change and the batch's time.
public struct StoreBatch: Sendable {
    /// One change, type-erased so any store can apply it to its objects.
    public enum Operation: Sendable {
        /// Creates `object`, or replaces it when its version is the stored one (0: must not exist).
        case put(StoreObject, stamp: (@Sendable (inout StoreObject, UInt64) -> Void)?)
        /// Reads the stored object and changes it in the commit (swarmkit's
        /// read-modify-write). `expecting` a version: fail if it is not the
        /// stored one. The closure returns false to leave the object as it is.
        case update(kind: String, id: String, expecting: UInt64?, @Sendable (inout StoreObject, UInt64) -> Bool)
        case delete(kind: String, id: String)
        /// Fails the commit with `error` if a stored object of `kind` (as
        /// the batch's earlier changes leave them) matches.
        case requireNone(kind: String, @Sendable (StoreObject) -> Bool, error: any Error & Sendable)
        /// Writes the object as it is, creating or replacing it: only its
        /// version becomes the store's (its `updatedAt` and stamps stay).
        case restore(StoreObject)
    }

    public var now: Timestamp
    public private(set) var operations: [Operation] = []

    public init(now: Timestamp) { self.now = now }

    public var isEmpty: Bool { operations.isEmpty }

    /// Creates `object` (its version 0) or replaces it, if its version is
    /// still the stored one. `stamp` sees the index the change gets.
    public mutating func put<T: StoredObject>(_ object: T, stamp: (@Sendable (inout T, UInt64) -> Void)? = nil) {
        var erased: (@Sendable (inout StoreObject, UInt64) -> Void)? = nil
        if let stamp {
            erased = { stored, index in
                guard var value = T(stored) else { return }
                stamp(&value, index)
                stored = value.stored
            }
        }
        operations.append(.put(object.stored, stamp: erased))
    }

    /// Changes the stored object in the commit; `change` returns false to
    /// leave it unchanged. A missing object is skipped, unless a version
    /// is expected: then the commit fails as out of sequence.
    public mutating func update<T: StoredObject>(_ type: T.Type, id: String, expecting version: UInt64? = nil,
                                                 _ change: @escaping @Sendable (inout T, UInt64) -> Bool) {
        operations.append(.update(kind: T.kind, id: id, expecting: version) { stored, index in
            guard var value = T(stored) else { return false }
            guard change(&value, index) else { return false }
            stored = value.stored
            return true
        })
    }

    /// Fails the commit with `error` if any object of `type` matches, as it is
    /// at commit time (a uniqueness check that no concurrent commit can slip past).
    public mutating func requireNone<T: StoredObject>(_ type: T.Type, failing error: any Error & Sendable,
                                                      where matches: @escaping @Sendable (T) -> Bool) {
        operations.append(.requireNone(kind: T.kind, { stored in T(stored).map(matches) ?? false }, error: error))
    }

    /// Writes `object` as it is (no version check, no stamp; its version
    /// becomes the store's): for copying objects from another store
    /// (`StoreMigration`), not for changing them.
    public mutating func restore(_ object: StoreObject) {
        operations.append(.restore(object))
    }

    /// A deletion is a change too: it moves the index on.
    public mutating func delete<T: StoredObject>(_ type: T.Type, id: String) {
        operations.append(.delete(kind: T.kind, id: id))
    }
}

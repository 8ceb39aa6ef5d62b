/// A subscriber's view of a store's committed changes: an `AsyncSequence`
/// that ends when the iterating task is cancelled. Each iterator keeps its
/// own cursor (the index it has seen), so several subscribers read at
/// their own pace and none holds up the others.
public struct StoreWatch: AsyncSequence, Sendable {
    public typealias Element = StoreEvent
    /// The event after `cursor` and the index it brings the cursor to,
    /// waiting for one; nil when the task is cancelled.
    public typealias Next = @Sendable (_ cursor: UInt64) async -> (StoreEvent, UInt64)?

    let start: UInt64
    let fetch: Next

    public init(from index: UInt64, next: @escaping Next) {
        self.start = index
        self.fetch = next
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var cursor: UInt64
        let fetch: Next

        /// The index of the last change delivered.
        public var index: UInt64 { cursor }

        public mutating func next() async -> StoreEvent? {
            guard let (event, index) = await fetch(cursor) else { return nil }
            cursor = index
            return event
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(cursor: start, fetch: fetch) }
}

import ClusterStore
import DequeModule
import Foundation
import Logging
import SwarmAPI

/// The cluster store in etcd: each object a key, `/swarm/<cluster>/<kind>/<id>`,
/// its JSON body the value (the same bytes SQLiteStore writes). The store's
/// index is etcd's revision and an object's version its key's mod_revision.
///
/// A commit is one etcd transaction: every object it changes is compared
/// with the mod_revision this store last saw (0: must not exist), so a
/// write based on a stale read fails as in SQLiteStore (`outOfSequence`),
/// whichever manager made the other change. A commit beyond
/// `EtcdTransactionLimits` (thousands of tasks) is sent as several such
/// transactions, each guarded alike (see `transactions`). The store keeps every object
/// in memory for reads, fed by one etcd watch of the prefix; a commit
/// returns once that watch has brought its own change back, so what a
/// caller commits it then reads and every subscriber sees.
///
/// Subscribers read a bounded log of recent changes, grouped by revision;
/// one whose cursor is older than the log (or than a compaction that cut
/// the store's own watch off) gets a fresh snapshot.
public actor EtcdStore: ClusterStore {
    public nonisolated let client: EtcdClient
    /// `/swarm/<cluster>/`.
    let prefix: Data
    /// Written by every commit: its mod_revision is the last commit's
    /// revision (deletions included), which a commit that lost a race waits for.
    let commitMarker: Data
    public private(set) var index: UInt64
    private var objects: [String: [String: StoreObject]]

    /// Recent changes by revision, in order; complete after `logStart`.
    private var log: Deque<(index: UInt64, changes: [StoreChange])> = []
    private var logChanges = 0
    private var logStart: UInt64
    private let logLimit: Int
    private var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    private var nextWaiter: UInt64 = 0
    private var watching: Task<Void, Never>?
    private var closed = false
    /// What this store's commits in flight write, by kind and ID: the body
    /// sent and the object it encodes. When the watch brings a key back
    /// with that body, the object is taken from here instead of decoding
    /// the body again (JSONDecoder, once per object: a large commit is
    /// thousands of them, each already in memory here).
    private var inFlight: [String: [String: (body: Data, object: StoreObject)]] = [:]
    /// A condition every commit adds: the leader key is still ours.
    private var fence: (@Sendable () async -> Compare?)?
    private let logger = Logger(label: "swarm.etcd-store")

    static let maxAttempts = 20

    /// When a commit is sent as several transactions.
    let limits: EtcdTransactionLimits

    private init(client: EtcdClient, prefix: Data, revision: UInt64, objects: [String: [String: StoreObject]], logLimit: Int,
                 limits: EtcdTransactionLimits) {
        self.client = client
        self.limits = limits
        self.prefix = prefix
        self.commitMarker = prefix + Data("_commit".utf8)
        self.index = revision
        self.logStart = revision
        self.objects = objects
        self.logLimit = logLimit
    }

    /// Loads the cluster's objects (one range at one revision) and follows
    /// etcd's changes from there until `close()`.
    public static func open(client: EtcdClient, cluster: String, logLimit: Int = 100_000,
                            limits: EtcdTransactionLimits = EtcdTransactionLimits()) async throws -> EtcdStore {
        let prefix = Data("/swarm/\(cluster)/".utf8)
        let (revision, objects) = try await load(client, prefix)
        let store = EtcdStore(client: client, prefix: prefix, revision: revision, objects: objects, logLimit: logLimit, limits: limits)
        await store.startWatching()
        return store
    }

    /// Stops following etcd; pending waits end.
    public func close() {
        closed = true
        watching?.cancel()
        watching = nil
        wakeAll()
    }

    /// Every commit from now on also requires `fence()` (nil: refused at once
    /// as `EtcdError.notLeader`): how a leader's writes stop when it is deposed.
    public func fence(_ condition: (@Sendable () async -> Compare?)?) {
        fence = condition
    }

    /// Stops following etcd (until `resumeWatch()`): for tests, a store
    /// whose watch falls behind (etcd compacts meanwhile).
    func suspendWatch() {
        watching?.cancel()
        watching = nil
    }

    func resumeWatch() {
        guard watching == nil, !closed else { return }
        startWatching()
    }

    // MARK: - Keys and bodies

    func key(_ kind: String, _ id: String) -> Data { prefix + Data("\(kind)/\(id)".utf8) }

    /// The kind and ID of a key under `prefix`; nil for other keys (the commit marker).
    static func parse(_ key: Data, prefix: Data) -> (kind: String, id: String)? {
        guard key.count > prefix.count, let rest = String(data: key.dropFirst(prefix.count), encoding: .utf8),
              let slash = rest.firstIndex(of: "/") else { return nil }
        return (String(rest[..<slash]), String(rest[rest.index(after: slash)...]))
    }

    static func decode(_ kv: KeyValue, prefix: Data, _ decoder: JSONDecoder) -> StoreObject? {
        guard let (kind, _) = parse(kv.key, prefix: prefix), let body = kv.value,
              let object = try? SQLiteStore.decode(kind, body, decoder) else { return nil }
        return object.versioned(UInt64(kv.modified))
    }

    static func load(_ client: EtcdClient, _ prefix: Data) async throws -> (UInt64, [String: [String: StoreObject]]) {
        var objects: [String: [String: StoreObject]] = [:]
        var revision: Int64?
        var start = prefix
        let decoder = JSONDecoder()
        // Pages of one range, all at the first page's revision.
        while true {
            let page = try await client.range(RangeRequest(key: start, rangeEnd: prefix.prefixEnd, limit: 1000,
                                                           revision: revision.map { EtcdInt($0) }))
            if revision == nil { revision = page.header?.rev ?? 0 }
            let kvs = page.kvs ?? []
            for kv in kvs {
                guard let object = decode(kv, prefix: prefix, decoder) else { continue }
                objects[object.kind, default: [:]][object.id] = object
            }
            guard page.more == true, let last = kvs.last else { break }
            start = last.key + Data([0])
        }
        return (UInt64(revision ?? 0), objects)
    }

    // MARK: - Reads

    public func all<T: StoredObject>(_ type: T.Type) -> [T] {
        (objects[T.kind] ?? [:]).values.compactMap { T($0) }
    }

    public func get<T: StoredObject>(_ type: T.Type, id: String) -> T? {
        objects[T.kind]?[id].flatMap { T($0) }
    }

    public func snapshot() -> StoreSnapshot {
        StoreSnapshot(index: index, swarm: all(SwarmInfo.self).first, nodes: all(Node.self),
                      services: all(Service.self), tasks: all(SwarmTask.self), networks: all(SwarmNetwork.self))
    }

    // MARK: - Commits

    /// A batch decided against the objects in memory: the final state of
    /// each object it changes (nil: deleted), the mod_revision each must
    /// still have, the kinds that must not have changed (`requireNone`).
    private struct Decided {
        var final: [String: [String: StoreObject?]] = [:]
        var expected: [String: [String: UInt64]] = [:]
        var unchangedKinds: Set<String> = []
    }

    @discardableResult
    public func commit(_ batch: StoreBatch) async throws -> UInt64 {
        guard !batch.isEmpty else { return index }
        for _ in 0..<Self.maxAttempts {
            if closed { throw EtcdError.unavailable("the store is closed") }
            let base = index
            let decided = try decide(batch, at: base)
            guard !decided.final.isEmpty else { return index }
            var condition: Compare?
            if let fence {
                guard let compare = await fence() else { throw EtcdError.notLeader }
                condition = compare
            }
            let (requests, written) = try await transactions(decided, base: base, fence: condition)
            remember(written)
            let responses: [TxnResponse]
            do { responses = try await send(requests) } catch { forget(written); throw error }
            let landed = responses.filter { $0.succeeded == true }.map { UInt64($0.header?.rev ?? 0) }
            if landed.count == requests.count {
                let revision = landed.max() ?? index
                await waitFor(revision)
                forget(written)
                return revision
            }
            // Parts that landed are in etcd: the store takes them in before deciding again.
            if let revision = landed.max() { await waitFor(revision) }
            forget(written)
            // Lost a race. Fenced off? Otherwise wait for the other commit
            // to arrive and decide again: a real conflict fails there.
            for response in responses where response.succeeded != true {
                let reads = response.responses ?? []
                if let condition {
                    let leader = reads.last?.responseRange?.kvs?.first
                    if leader?.created != condition.createRevision?.value { throw EtcdError.notLeader }
                }
                let marker = UInt64(reads.first?.responseRange?.kvs?.first?.modified ?? 0)
                if marker > base { await waitFor(marker) }
            }
        }
        throw EtcdError.unavailable("commit kept losing races (\(Self.maxAttempts) attempts)")
    }

    /// Objects this store's transaction writes, with their bodies.
    private typealias Written = [(kind: String, id: String, body: Data, object: StoreObject)]

    private func remember(_ written: Written) {
        for entry in written { inFlight[entry.kind, default: [:]][entry.id] = (entry.body, entry.object) }
    }

    /// Drops what `written` left (unless a later commit wrote the same object since).
    private func forget(_ written: Written) {
        for entry in written where inFlight[entry.kind]?[entry.id]?.body == entry.body {
            inFlight[entry.kind]?[entry.id] = nil
        }
    }

    /// The commit's transactions: one, or several when it is beyond `limits`.
    /// Each part is guarded as a whole commit is (every key's mod_revision,
    /// the fence); the kinds that must not have changed are checked by the
    /// first part, sent before the others. So a commit split in parts is
    /// not atomic: when a later part loses a race, the earlier ones stay,
    /// and the commit is decided again from there (an update sees what
    /// landed; a put of an object that landed is out of sequence).
    private func transactions(_ decided: Decided, base: UInt64, fence: Compare?) async throws -> ([TxnRequest], Written) {
        let rows = decided.final.flatMap { kind, byID in byID.map { (kind: kind, id: $0.key, object: $0.value) } }
        let bodies = try await SQLiteStore.encode(rows.map(\.object))
        var parts: [TxnRequest] = []
        var compares: [Compare] = []
        var success: [RequestOp] = []
        var bytes = 0
        var written: Written = []
        written.reserveCapacity(rows.count)
        func close() {
            if parts.isEmpty {
                for kind in decided.unchangedKinds {
                    let kindPrefix = prefix + Data("\(kind)/".utf8)
                    compares.append(.unchangedSince(kindPrefix, kindPrefix.prefixEnd, Int64(base)))
                }
            }
            success.append(RequestOp(requestPut: PutRequest(key: commitMarker, value: Data())))
            var failure = [RequestOp(requestRange: RangeRequest(key: commitMarker, keysOnly: true))]
            if let fence {
                compares.append(fence)
                failure.append(RequestOp(requestRange: RangeRequest(key: fence.key, keysOnly: true)))
            }
            parts.append(TxnRequest(compare: compares, success: success, failure: failure))
            compares = []
            success = []
            bytes = 0
        }
        for (row, body) in zip(rows, bodies) {
            let key = key(row.kind, row.id)
            let size = 2 * key.count + (body?.count ?? 0) + 32
            if !compares.isEmpty && (compares.count >= limits.operations || bytes + size > limits.bytes) { close() }
            let expected = decided.expected[row.kind]?[row.id] ?? 0
            compares.append(.modified(key, is: Int64(expected)))
            bytes += size
            if let body, let object = row.object {
                written.append((row.kind, row.id, body, object))
                success.append(RequestOp(requestPut: PutRequest(key: key, value: body)))
            } else if expected != 0 {
                success.append(RequestOp(requestDeleteRange: DeleteRangeRequest(key: key)))
            }
        }
        close()
        return (parts, written)
    }

    /// Sends the first part, then the others `limits.inFlight` at a time
    /// (stopping at the first that loses its race); their responses.
    private func send(_ parts: [TxnRequest]) async throws -> [TxnResponse] {
        let first = try await client.txn(parts[0])
        guard parts.count > 1, first.succeeded == true else { return [first] }
        let client = self.client, width = limits.inFlight
        return try await withThrowingTaskGroup(of: TxnResponse.self) { group in
            var responses = [first]
            var next = 1
            while next < parts.count && next <= width {
                let part = parts[next]
                group.addTask { try await client.txn(part) }
                next += 1
            }
            while let response = try await group.next() {
                responses.append(response)
                if response.succeeded != true { break }
                if next < parts.count {
                    let part = parts[next]
                    group.addTask { try await client.txn(part) }
                    next += 1
                }
            }
            // Parts already sent still land or fail: wait for their answers.
            while let response = try await group.next() { responses.append(response) }
            return responses
        }
    }

    /// Decides every change of `batch` against the objects as of `base`.
    /// All its changes get the revision the transaction should get
    /// (`base + 1`) in their stamps; what they are stored at is the
    /// revision etcd gives them, read back as their version.
    private func decide(_ batch: StoreBatch, at base: UInt64) throws -> Decided {
        var decided = Decided()
        let next = base + 1
        func current(_ kind: String, _ id: String) -> StoreObject? {
            if let pending = decided.final[kind]?[id] { return pending }
            return objects[kind]?[id]
        }
        func set(_ kind: String, _ id: String, _ value: StoreObject?) {
            if decided.expected[kind]?[id] == nil {
                decided.expected[kind, default: [:]][id] = objects[kind]?[id]?.versionIndex ?? 0
            }
            decided.final[kind, default: [:]][id] = .some(value)
        }
        for operation in batch.operations {
            switch operation {
            case .put(let object, let stamp):
                let stored = current(object.kind, object.id)
                guard object.versionIndex == (stored?.versionIndex ?? 0) else {
                    throw StoreError.outOfSequence(kind: object.kind, id: object.id)
                }
                var value = object
                stamp?(&value, next)
                set(value.kind, value.id, value.stamped(next, batch.now))
            case .update(let kind, let id, let expecting, let change):
                guard let stored = current(kind, id) else {
                    if expecting != nil { throw StoreError.outOfSequence(kind: kind, id: id) }
                    continue
                }
                if let expecting, expecting != stored.versionIndex { throw StoreError.outOfSequence(kind: kind, id: id) }
                var value = stored
                guard change(&value, next) else { continue }
                set(kind, id, value.stamped(next, batch.now))
            case .requireNone(let kind, let matches, let error):
                let changed = decided.final[kind] ?? [:]
                let unchanged = (objects[kind] ?? [:]).lazy.filter { changed[$0.key] == nil }.map(\.value)
                if unchanged.contains(where: matches) || changed.values.contains(where: { $0.map(matches) ?? false }) { throw error }
                decided.unchangedKinds.insert(kind)
            case .restore(let object):
                set(object.kind, object.id, object.versioned(next))
            case .delete(let kind, let id):
                guard current(kind, id) != nil else { continue }
                set(kind, id, nil)
            }
        }
        return decided
    }

    // MARK: - Following etcd

    private func startWatching() {
        watching = Task { await self.follow() }
    }

    private func follow() async {
        var delay: Duration = .milliseconds(50)
        while !Task.isCancelled && !closed {
            do {
                try await client.watch(key: prefix, rangeEnd: prefix.prefixEnd, from: Int64(index) + 1) { response in
                    await self.apply(response)
                }
            } catch EtcdError.compacted(let oldest) {
                logger.notice("etcd compacted past the store's watch (\(index) < \(oldest)): loading a fresh snapshot")
                do {
                    try await reload()
                    delay = .milliseconds(50)
                    continue
                } catch {
                    logger.warning("reloading from etcd failed: \(error)")
                }
            } catch {
                if Task.isCancelled || closed { return }
                logger.warning("etcd watch broke, reconnecting: \(error)")
            }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(1))
        }
    }

    /// Replaces everything after a compaction: the changes in between are
    /// gone, so every subscriber starts again from a snapshot.
    private func reload() async throws {
        let (revision, loaded) = try await Self.load(client, prefix)
        objects = loaded
        index = max(index, revision)
        log.removeAll()
        logChanges = 0
        logStart = index
        wakeAll()
    }

    private func apply(_ response: WatchResponse) {
        guard let events = response.events, !events.isEmpty else { return }
        let decoder = JSONDecoder()
        var groups: [(index: UInt64, changes: [StoreChange])] = []
        for event in events {
            let revision = UInt64(event.kv.modified)
            guard revision > index, let (kind, id) = Self.parse(event.kv.key, prefix: prefix) else { continue }
            let change: StoreChange
            if event.isDelete {
                guard let old = objects[kind]?[id] else { continue }
                objects[kind]?[id] = nil
                change = StoreChange(action: .deleted, object: old, index: revision)
            } else {
                let object: StoreObject
                if let own = inFlight[kind]?[id], let body = event.kv.value, own.body == body {
                    object = own.object.versioned(revision)
                } else {
                    guard let decoded = Self.decode(event.kv, prefix: prefix, decoder) else { continue }
                    object = decoded
                }
                objects[kind, default: [:]][id] = object
                let action: StoreChange.Action = event.kv.created == event.kv.modified ? .created : .updated
                change = StoreChange(action: action, object: object, index: revision)
            }
            if groups.last?.index == revision {
                groups[groups.count - 1].changes.append(change)
            } else {
                groups.append((revision, [change]))
            }
        }
        guard let last = groups.last else { return }
        log.append(contentsOf: groups)
        logChanges += groups.reduce(0) { $0 + $1.changes.count }
        // Trim whole old revisions, never the last one.
        while logChanges > logLimit, log.count > 1, let first = log.first {
            log.removeFirst()
            logChanges -= first.changes.count
            logStart = first.index
        }
        index = last.index
        wakeAll()
    }

    // MARK: - Watches

    public nonisolated func watch(from index: UInt64) -> StoreWatch {
        StoreWatch(from: index) { cursor in await self.event(after: cursor) }
    }

    /// The changes after `cursor`, or a snapshot when they are no longer
    /// all in the log; waits while there are none.
    func event(after cursor: UInt64) async -> (StoreEvent, UInt64)? {
        while !Task.isCancelled && !closed {
            if cursor < logStart || cursor > index {
                let snapshot = snapshot()
                return (.snapshot(snapshot), snapshot.index)
            }
            if cursor < index {
                var start = log.endIndex
                while start > log.startIndex, log[start - 1].index > cursor { start -= 1 }
                return (.changes(log[start...].flatMap(\.changes)), index)
            }
            await waitForChange()
        }
        return nil
    }

    /// Returns once the store has seen `revision` (or is closed, or the caller cancelled).
    private func waitFor(_ revision: UInt64) async {
        while index < revision && !closed && !Task.isCancelled { await waitForChange() }
    }

    /// Returns once this copy of the state has seen `revision`, or after
    /// `timeout`: a follower answers a write it forwarded once its own reads
    /// show the write (the client's next GET must not see the old version).
    public func catchUp(to revision: UInt64, timeout: Duration) async {
        guard index < revision else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitFor(revision) }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForChange() async {
        nextWaiter += 1
        let id = nextWaiter
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                if Task.isCancelled || closed { continuation.resume() } else { waiters[id] = continuation }
            }
        } onCancel: {
            Task { await self.wake(id) }
        }
    }

    private func wake(_ id: UInt64) {
        waiters.removeValue(forKey: id)?.resume()
    }

    private func wakeAll() {
        let woken = waiters
        waiters = [:]
        for waiter in woken.values { waiter.resume() }
    }
}

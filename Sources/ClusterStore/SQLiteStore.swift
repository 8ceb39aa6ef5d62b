import DequeModule
import Foundation
import GRDB
import SwarmAPI

/// The cluster store on one manager: SQLite (through GRDB) in the data
/// dir (`state.db`), with every object also kept in memory for reads.
/// A commit is written in one transaction (with the commits that arrived
/// while the previous transaction was written); nothing is visible (to
/// reads or watches) before it is on disk. Commits apply in order.
///
/// Watches read a bounded log of recent changes (`logLimit`): a
/// subscriber that falls behind its start is not dropped and loses no
/// state: it is sent a fresh snapshot from the store and goes on from there.
public actor SQLiteStore: ClusterStore {
    private let queue: DatabaseQueue
    public private(set) var index: UInt64
    private var objects: [String: [String: StoreObject]] = [:]

    /// Recent changes, contiguous indexes, the last at `index`.
    private var log: Deque<StoreChange> = []
    private let logLimit: Int
    private var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    private var nextWaiter: UInt64 = 0

    // One transaction at a time; batches that arrive meanwhile wait for the next.
    private var writing = false
    private var waitingCommits: [Waiting] = []

    public init(path: String, logLimit: Int = 100_000) throws {
        self.logLimit = logLimit
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            // WAL + NORMAL: a committed transaction survives a killed process.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            // Tasks are keyed by random IDs: their updates touch pages all
            // over the table. SQLite's default 2 MiB cache read most of
            // them back from the file at every commit.
            try db.execute(sql: "PRAGMA cache_size = -32768")
        }
        queue = try DatabaseQueue(path: path, configuration: configuration)
        try queue.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS objects (kind TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL,
                                                    body BLOB NOT NULL, PRIMARY KEY (kind, id)) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL);
                """)
        }
        let (index, rows) = try queue.read { db in
            (try UInt64.fetchOne(db, sql: "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'index'") ?? 0,
             try Row.fetchAll(db, sql: "SELECT kind, id, body FROM objects"))
        }
        self.index = index
        let decoder = JSONDecoder()
        var objects: [String: [String: StoreObject]] = [:]
        for row in rows {
            let kind: String = row["kind"], id: String = row["id"], body: Data = row["body"]
            guard let object = try Self.decode(kind, body, decoder) else { continue }
            objects[kind, default: [:]][id] = object
        }
        self.objects = objects
    }

    package static func decode(_ kind: String, _ body: Data, _ decoder: JSONDecoder) throws -> StoreObject? {
        switch kind {
        case SwarmInfo.kind: .swarm(try decoder.decode(SwarmInfo.self, from: body))
        case Node.kind: .node(try decoder.decode(Node.self, from: body))
        case Service.kind: .service(try decoder.decode(Service.self, from: body))
        case SwarmTask.kind: .task(try decoder.decode(SwarmTask.self, from: body))
        case SwarmSecret.kind: .secret(try decoder.decode(SwarmSecret.self, from: body))
        case SwarmConfig.kind: .config(try decoder.decode(SwarmConfig.self, from: body))
        case SwarmNetwork.kind: .network(try decoder.decode(SwarmNetwork.self, from: body))
        default: nil
        }
    }

    /// The bodies of `objects` (nil for a deletion), encoded in parallel
    /// when there are many: JSON encoding is most of a large commit's cost.
    package static func encode(_ objects: [StoreObject?]) async throws -> [Data?] {
        let chunk = 4096
        guard objects.count > chunk else {
            var encoder = BodyEncoder()
            return try objects.map { try $0.map { try encoder.encode($0) } }
        }
        return try await withThrowingTaskGroup(of: (Int, [Data?]).self) { group in
            for start in stride(from: 0, to: objects.count, by: chunk) {
                let part = Array(objects[start..<min(start + chunk, objects.count)])
                group.addTask {
                    var encoder = BodyEncoder()
                    return (start, try part.map { try $0.map { try encoder.encode($0) } })
                }
            }
            var bodies = [Data?](repeating: nil, count: objects.count)
            for try await (start, part) in group { bodies.replaceSubrange(start..<start + part.count, with: part) }
            return bodies
        }
    }

    /// Bodies as `JSONEncoder` writes them; tasks, the bulk, by hand.
    package struct BodyEncoder {
        let json = JSONEncoder()
        var tasks = TaskBodyEncoder()

        package init() {}

        package mutating func encode(_ object: StoreObject) throws -> Data {
            switch object {
            case .swarm(let value): try json.encode(value)
            case .node(let value): try json.encode(value)
            case .service(let value): try json.encode(value)
            case .task(let value): try tasks.encode(value)
            case .secret(let value): try json.encode(value)
            case .config(let value): try json.encode(value)
            case .network(let value): try json.encode(value)
            }
        }
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

    /// The changes decided so far in one group commit: the final state of
    /// each object touched (nil: deleted), the changes in order, the last index.
    private struct Decided {
        var overlay: [String: [String: StoreObject?]] = [:]
        var changes: [StoreChange] = []
        var next: UInt64
    }

    private struct Waiting {
        let batch: StoreBatch
        let continuation: CheckedContinuation<UInt64, any Error>
    }

    public func commit(_ batch: StoreBatch) async throws -> UInt64 {
        guard !batch.isEmpty else { return index }
        return try await withCheckedThrowingContinuation { continuation in
            waitingCommits.append(Waiting(batch: batch, continuation: continuation))
            guard !writing else { return }
            writing = true
            Task { await self.writeWaiting() }
        }
    }

    /// Group commit: the batches that arrived while a transaction was being
    /// written are decided in order and written in the next one (each
    /// succeeds or fails on its own). Many small commits — one per agent's
    /// status report — cost one transaction, not one each.
    private func writeWaiting() async {
        while !waitingCommits.isEmpty {
            let group = waitingCommits
            waitingCommits = []
            var decided = Decided(next: index)
            var results: [Result<UInt64, any Error>] = []
            for waiting in group {
                do {
                    try decide(waiting.batch, &decided)
                    results.append(.success(decided.next))
                } catch {
                    results.append(.failure(error))
                }
            }
            if !decided.changes.isEmpty {
                do {
                    try await write(decided)
                } catch {
                    results = results.map { $0.flatMap { _ in .failure(error) } }
                }
            }
            for (waiting, result) in zip(group, results) { waiting.continuation.resume(with: result) }
        }
        writing = false
    }

    /// Decides every change of `batch` against the stored objects and the
    /// changes decided before it; a batch that fails leaves `decided` as it was.
    private func decide(_ batch: StoreBatch, _ decided: inout Decided) throws {
        var undo: [(kind: String, id: String, previous: StoreObject??)] = []
        let changeCount = decided.changes.count, start = decided.next
        func current(_ kind: String, _ id: String) -> StoreObject? {
            if let pending = decided.overlay[kind]?[id] { return pending }
            return objects[kind]?[id]
        }
        func set(_ kind: String, _ id: String, _ value: StoreObject?) {
            undo.append((kind, id, decided.overlay[kind]?[id]))
            decided.overlay[kind, default: [:]][id] = .some(value)
        }
        do {
            for operation in batch.operations {
                switch operation {
                case .put(let object, let stamp):
                    let stored = current(object.kind, object.id)
                    guard object.versionIndex == (stored?.versionIndex ?? 0) else {
                        throw StoreError.outOfSequence(kind: object.kind, id: object.id)
                    }
                    decided.next += 1
                    var value = object
                    stamp?(&value, decided.next)
                    value = value.stamped(decided.next, batch.now)
                    set(value.kind, value.id, value)
                    decided.changes.append(StoreChange(action: stored == nil ? .created : .updated, object: value, index: decided.next))
                case .update(let kind, let id, let expecting, let change):
                    guard let stored = current(kind, id) else {
                        if expecting != nil { throw StoreError.outOfSequence(kind: kind, id: id) }
                        continue
                    }
                    if let expecting, expecting != stored.versionIndex { throw StoreError.outOfSequence(kind: kind, id: id) }
                    var value = stored
                    guard change(&value, decided.next + 1) else { continue }
                    decided.next += 1
                    value = value.stamped(decided.next, batch.now)
                    set(kind, id, value)
                    decided.changes.append(StoreChange(action: .updated, object: value, index: decided.next))
                case .requireNone(let kind, let matches, let error):
                    let changed = decided.overlay[kind] ?? [:]
                    let unchanged = (objects[kind] ?? [:]).lazy.filter { changed[$0.key] == nil }.map(\.value)
                    if unchanged.contains(where: matches) || changed.values.contains(where: { $0.map(matches) ?? false }) { throw error }
                case .restore(let object):
                    let stored = current(object.kind, object.id)
                    decided.next += 1
                    let value = object.versioned(decided.next)
                    set(value.kind, value.id, value)
                    decided.changes.append(StoreChange(action: stored == nil ? .created : .updated, object: value, index: decided.next))
                case .delete(let kind, let id):
                    guard let stored = current(kind, id) else { continue }
                    decided.next += 1
                    set(kind, id, nil)
                    decided.changes.append(StoreChange(action: .deleted, object: stored, index: decided.next))
                }
            }
        } catch {
            for entry in undo.reversed() {
                if let previous = entry.previous {
                    decided.overlay[entry.kind, default: [:]][entry.id] = .some(previous)
                } else {
                    decided.overlay[entry.kind]?[entry.id] = nil
                }
            }
            decided.changes.removeSubrange(changeCount...)
            decided.next = start
            throw error
        }
    }

    /// Writes the decided changes in one transaction, then makes them visible.
    private func write(_ decided: Decided) async throws {
        let rows = decided.overlay.flatMap { kind, byID in byID.map { (kind, $0.key, $0.value) } }
        let bodies = try await Self.encode(rows.map(\.2))
        let newIndex = decided.next
        try await queue.write { db in
            let put = try db.cachedStatement(sql: "INSERT OR REPLACE INTO objects (kind, id, version, body) VALUES (?, ?, ?, ?)")
            let delete = try db.cachedStatement(sql: "DELETE FROM objects WHERE kind = ? AND id = ?")
            for (row, body) in zip(rows, bodies) {
                if let object = row.2, let body {
                    try put.execute(arguments: [row.0, row.1, Int64(object.versionIndex), body])
                } else {
                    try delete.execute(arguments: [row.0, row.1])
                }
            }
            try db.execute(sql: "INSERT OR REPLACE INTO meta (key, value) VALUES ('index', ?)", arguments: [Int64(newIndex)])
        }
        for (kind, id, object) in rows { objects[kind, default: [:]][id] = object }
        index = newIndex
        publish(decided.changes)
    }

    // MARK: - Watches

    private func publish(_ changes: [StoreChange]) {
        log.append(contentsOf: changes)
        // Trim whole old changes, never the last commit's.
        let excess = log.count - max(logLimit, changes.count)
        if excess > 0 { log.removeFirst(excess) }
        let woken = waiters
        waiters = [:]
        for waiter in woken.values { waiter.resume() }
    }

    public nonisolated func watch(from index: UInt64) -> StoreWatch {
        StoreWatch(from: index) { cursor in await self.event(after: cursor) }
    }

    /// The changes after `cursor`, or a snapshot when they are no longer
    /// all in the log; waits while there are none.
    func event(after cursor: UInt64) async -> (StoreEvent, UInt64)? {
        while !Task.isCancelled {
            let first = log.first?.index ?? index + 1
            if cursor + 1 < first && cursor < index || cursor > index {
                let snapshot = snapshot()
                return (.snapshot(snapshot), snapshot.index)
            }
            if cursor < index {
                let start = Int(cursor + 1 - first)
                return (.changes(Array(log[start...])), index)
            }
            await waitForCommit()
        }
        return nil
    }

    private func waitForCommit() async {
        nextWaiter += 1
        let id = nextWaiter
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                if Task.isCancelled { continuation.resume() } else { waiters[id] = continuation }
            }
        } onCancel: {
            Task { await self.wake(id) }
        }
    }

    private func wake(_ id: UInt64) {
        waiters.removeValue(forKey: id)?.resume()
    }
}

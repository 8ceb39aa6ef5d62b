import Foundation
import GRDB
import SwarmAPI

/// An object the store keeps: versioned by the store's index, which grows
/// with every committed change (like swarmkit's raft index).
public protocol StoredObject: Codable, Sendable {
    static var kind: String { get }
    var id: String { get }
    var version: ObjectVersion { get set }
    var updatedAt: Timestamp { get set }
}

extension Node: StoredObject { public static let kind = "node" }
extension Service: StoredObject { public static let kind = "service" }
extension SwarmTask: StoredObject { public static let kind = "task" }
extension SwarmInfo: StoredObject { public static let kind = "swarm" }

/// The manager's durable state: SQLite (through GRDB) in the data dir. Every
/// change is one transaction; nothing is acknowledged before it commits. The
/// manager keeps a copy of everything in memory and writes through here.
public final class Store: @unchecked Sendable {
    private let queue: DatabaseQueue
    /// The index of the last committed change.
    public private(set) var index: UInt64
    private let encoder = JSONEncoder()
    private let decoder = JSONDecoder()

    public init(path: String) throws {
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            // WAL + NORMAL: a committed transaction survives a killed process.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
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
        index = try queue.read { db in
            try UInt64.fetchOne(db, sql: "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'index'") ?? 0
        }
    }

    public func all<T: StoredObject>(_ type: T.Type) throws -> [T] {
        try queue.read { db in
            try Data.fetchAll(db, sql: "SELECT body FROM objects WHERE kind = ?", arguments: [T.kind]).map {
                try decoder.decode(T.self, from: $0)
            }
        }
    }

    /// Changes to commit together.
    public struct Batch {
        fileprivate var puts: [(kind: String, id: String, body: Data, version: UInt64)] = []
        fileprivate var deletes: [(kind: String, id: String)] = []
        fileprivate var nextIndex: UInt64
        fileprivate let encoder: JSONEncoder
        fileprivate let now: Timestamp

        /// Stamps `object` with the next index and queues it.
        public mutating func put<T: StoredObject>(_ object: inout T) throws {
            nextIndex += 1
            object.version = ObjectVersion(index: nextIndex)
            object.updatedAt = now
            puts.append((T.kind, object.id, try encoder.encode(object), nextIndex))
        }

        /// A deletion is a change too: it moves the index on, so whoever
        /// watches the index (the dispatcher's assignment versions) sees it.
        public mutating func delete<T: StoredObject>(_ type: T.Type, id: String) {
            nextIndex += 1
            deletes.append((T.kind, id))
        }

        /// The index the next `put` will stamp.
        public var upcomingIndex: UInt64 { nextIndex + 1 }

        public var isEmpty: Bool { puts.isEmpty && deletes.isEmpty }
    }

    /// Runs `body` to collect changes and commits them in one transaction.
    /// The objects `body` stamped are only valid if this returns.
    public func commit<R>(now: Timestamp, _ body: (inout Batch) throws -> R) throws -> R {
        var batch = Batch(nextIndex: index, encoder: encoder, now: now)
        let result = try body(&batch)
        guard !batch.isEmpty else { return result }
        try queue.write { db in
            for put in batch.puts {
                try db.execute(sql: "INSERT OR REPLACE INTO objects (kind, id, version, body) VALUES (?, ?, ?, ?)",
                               arguments: [put.kind, put.id, Int64(put.version), put.body])
            }
            for delete in batch.deletes {
                try db.execute(sql: "DELETE FROM objects WHERE kind = ? AND id = ?", arguments: [delete.kind, delete.id])
            }
            try db.execute(sql: "INSERT OR REPLACE INTO meta (key, value) VALUES ('index', ?)", arguments: [Int64(batch.nextIndex)])
        }
        index = batch.nextIndex
        return result
    }
}

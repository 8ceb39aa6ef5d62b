import ClusterStore
@testable import EtcdStore
import Foundation
import SwarmAPI
import Testing

/// A commit beyond `EtcdTransactionLimits` is sent as several transactions:
/// every object lands, each at its part's revision, and watchers see them all.
@Suite(.enabled(if: etcdInstalled, etcdReason))
struct EtcdSplitCommitTests {
    let now = Timestamp(nanoseconds: 1_700_000_000_000_000_000)

    func task(_ number: Int) -> SwarmTask {
        TaskBodyEncoderTests.task { $0.id = "task-\(number)"; $0.slot = number; $0.version = ObjectVersion(index: 0) }
    }

    @Test func aCommitBeyondTheLimitsLandsWholeInParts() async throws {
        try await EtcdFixture.with { etcd in
            let split = try await EtcdStore.open(client: etcd.client, cluster: "c1",
                                                 limits: EtcdTransactionLimits(operations: 4, bytes: 1 << 20, inFlight: 2))
            let reader = try await EtcdStore.open(client: etcd.client, cluster: "c1")
            defer { Task { await split.close(); await reader.close() } }
            let start = await reader.index
            var batch = StoreBatch(now: now)
            for number in 0..<10 { batch.put(task(number)) }
            let revision = try await split.commit(batch)
            // Three parts (4 + 4 + 2 objects), three revisions; the commit returns the last.
            let stored = await split.all(SwarmTask.self)
            #expect(stored.count == 10)
            #expect(Set(stored.map(\.version.index)).count == 3)
            #expect(stored.allSatisfy { $0.version.index > start && $0.version.index <= revision })
            // What the store kept of its own writes is what another store decodes from etcd.
            var seen: [String: SwarmTask] = [:]
            var watch = reader.watch(from: start).makeAsyncIterator()
            while seen.count < 10, let event = await watch.next() {
                guard case .changes(let changes) = event else { continue }
                for change in changes { if case .task(let task) = change.object { seen[task.id] = task } }
            }
            for task in stored { #expect(seen[task.id] == task) }
            // An update of them all goes in parts too, and each sees its stored version.
            var update = StoreBatch(now: now)
            for number in 0..<10 {
                update.update(SwarmTask.self, id: "task-\(number)") { task, _ in task.desiredState = .shutdown; return true }
            }
            try await split.commit(update)
            #expect(await split.all(SwarmTask.self).allSatisfy { $0.desiredState == .shutdown && $0.version.index > revision })
        }
    }

    @Test func aPartThatLosesItsRaceLeavesTheOthersAndTheCommitFailsAsOutOfSequence() async throws {
        try await EtcdFixture.with { etcd in
            let split = try await EtcdStore.open(client: etcd.client, cluster: "c1",
                                                 limits: EtcdTransactionLimits(operations: 1, bytes: 1 << 20, inFlight: 1))
            let other = try await EtcdStore.open(client: etcd.client, cluster: "c1")
            defer { Task { await split.close(); await other.close() } }
            // The other store creates one of the tasks first; this store has not seen it yet.
            await split.suspendWatch()
            var first = StoreBatch(now: now)
            var theirs = task(7)
            theirs.desiredState = .shutdown
            first.put(theirs)
            try await other.commit(first)
            var batch = StoreBatch(now: now)
            for number in 0..<10 { batch.put(task(number)) }
            // Out of sequence: task-7 when its part failed first, or a task whose part landed before it.
            await #expect(throws: StoreError.self) {
                await split.resumeWatch()
                try await split.commit(batch)
            }
            // Not atomic: the parts before (or beside) the lost one stay; nothing is written twice.
            let tasks = await other.all(SwarmTask.self)
            #expect(tasks.first { $0.id == "task-7" }?.desiredState == .shutdown)
            #expect(tasks.count <= 10)
        }
    }
}

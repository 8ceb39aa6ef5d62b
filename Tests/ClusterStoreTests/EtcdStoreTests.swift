import ClusterStore
@testable import EtcdStore
import Foundation
import SwarmAPI
import Testing

/// What only the etcd store has: several stores (managers) on one etcd,
/// compaction. Each test runs its own etcd.
@Suite(.enabled(if: etcdInstalled, etcdReason))
struct EtcdStoreTests {
    let now = Timestamp(nanoseconds: 1_700_000_000_000_000_000)

    @Test func twoStoresOnOneEtcdSeeEachOthersCommitsAndConflicts() async throws {
        try await EtcdFixture.with { etcd in
            let a = try await EtcdStore.open(client: etcd.client, cluster: "c1")
            let b = try await EtcdStore.open(client: etcd.client, cluster: "c1")
            let other = try await EtcdStore.open(client: etcd.client, cluster: "c2")
            defer { Task { await a.close(); await b.close(); await other.close() } }
            var watch = b.watch(from: await b.index).makeAsyncIterator()
            var batch = StoreBatch(now: now)
            let service = TemporaryStore.service("web")
            batch.put(service)
            let created = try await a.commit(batch)
            guard case .changes(let changes) = await watch.next() else { Issue.record("expected changes"); return }
            #expect(changes.map(\.index) == [created] && changes.first?.object.id == service.id)
            let readByB = try #require(await b.get(Service.self, id: service.id))
            #expect(readByB.version.index == created)
            // A changes it; B's write from its older read is refused…
            var first = StoreBatch(now: now)
            first.update(Service.self, id: service.id, expecting: created) { service, _ in service.spec.mode = .replicas(3); return true }
            try await a.commit(first)
            var stale = StoreBatch(now: now)
            stale.put(readByB)
            await #expect(throws: StoreError.outOfSequence(kind: "service", id: service.id)) { try await b.commit(stale) }
            // …while a read-modify-write without a version applies on the fresh copy.
            var labels = StoreBatch(now: now)
            labels.update(Service.self, id: service.id) { service, _ in service.spec.labels = ["tier": "front"]; return true }
            try await b.commit(labels)
            // (B reads its own write at once; A once its watch brings it.)
            let final = try #require(await b.get(Service.self, id: service.id))
            #expect(final.spec.mode == .replicas(3) && final.spec.labels == ["tier": "front"])
            // Another cluster's prefix is another store.
            #expect(await other.all(Service.self).isEmpty)
        }
    }

    @Test func aStoreWhoseWatchWasCompactedAwayReloadsAndItsSubscribersGetASnapshot() async throws {
        try await EtcdFixture.with { etcd in
            let behind = try await EtcdStore.open(client: etcd.client, cluster: "c1")
            let writer = try await EtcdStore.open(client: etcd.client, cluster: "c1")
            defer { Task { await behind.close(); await writer.close() } }
            let start = await behind.index
            await behind.suspendWatch()
            for name in ["a", "b", "c"] {
                var batch = StoreBatch(now: now)
                batch.put(TemporaryStore.service(name))
                try await writer.commit(batch)
            }
            var deletion = StoreBatch(now: now)
            let a = try #require(await writer.all(Service.self).first { $0.spec.name == "a" })
            deletion.delete(Service.self, id: a.id)
            let last = try await writer.commit(deletion)
            try await etcd.client.compact(Int64(last))
            await behind.resumeWatch()
            var watch = behind.watch(from: start).makeAsyncIterator()
            guard case .snapshot(let snapshot) = await watch.next() else { Issue.record("expected a snapshot"); return }
            #expect(snapshot.index >= last)
            #expect(Set(snapshot.services.map(\.spec.name)) == ["b", "c"])
            // And it follows etcd again from there.
            var batch = StoreBatch(now: now)
            batch.put(TemporaryStore.service("d"))
            let next = try await writer.commit(batch)
            guard case .changes(let changes) = await watch.next() else { Issue.record("expected changes"); return }
            #expect(changes.map(\.index) == [next])
        }
    }
}

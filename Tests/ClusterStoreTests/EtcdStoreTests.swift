import ClusterStore
@testable import EtcdStore
import Foundation
import SwarmAPI
import Testing

/// What only the etcd store has: several stores (managers) on one etcd,
/// compaction, leader election and fencing. Each test runs its own etcd.
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

    @Test func exactlyOneCandidateLeads() async throws {
        try await EtcdFixture.with { etcd in
            let candidates = (0..<3).map { LeaderElection(client: etcd.client, cluster: "c1", candidate: "m\($0)") }
            let winner = await withTaskGroup(of: Int.self) { group in
                for (number, candidate) in candidates.enumerated() {
                    group.addTask { (try? await candidate.campaign()) == nil ? -1 : number }
                }
                let first = await group.next() ?? -1
                group.cancelAll()
                return first
            }
            #expect(winner >= 0)
            var leaders: [String] = []
            for candidate in candidates where await candidate.isLeader { leaders.append(candidate.candidate) }
            #expect(leaders == ["m\(winner)"])
            let leader = try await candidates[0].leader()
            #expect(leader == "m\(winner)")
            // Its keepalives hold the lease well past the TTL.
            try await Task.sleep(for: .seconds(8))
            #expect(await candidates[winner].isLeader)
            let still = try await candidates[0].leader()
            #expect(still == "m\(winner)")
            for candidate in candidates { await candidate.resign() }
        }
    }

    @Test func whenTheLeadersLeaseIsRevokedAnotherLeadsWithinTheTTL() async throws {
        try await EtcdFixture.with { etcd in
            let first = LeaderElection(client: etcd.client, cluster: "c1", candidate: "m1")
            let second = LeaderElection(client: etcd.client, cluster: "c1", candidate: "m2")
            try await first.campaign()
            let waiting = Task { try await second.campaign() }
            let lease = try #require(await first.lease)
            let revoked = ContinuousClock.now
            try await etcd.client.revokeLease(lease)
            try await waiting.value
            #expect(ContinuousClock.now - revoked < .seconds(5))
            #expect(await second.isLeader)
            let leader = try await second.leader()
            #expect(leader == "m2")
            await first.resign()
            await second.resign()
        }
    }

    @Test func aPausedLeaderIsDeposedAndItsCommitsAreRefused() async throws {
        try await EtcdFixture.with { etcd in
            let first = LeaderElection(client: etcd.client, cluster: "c1", candidate: "m1")
            let second = LeaderElection(client: etcd.client, cluster: "c1", candidate: "m2")
            try await first.campaign()
            let store = try await EtcdStore.open(client: etcd.client, cluster: "c1")
            let newStore = try await EtcdStore.open(client: etcd.client, cluster: "c1")
            defer { Task { await store.close(); await newStore.close() } }
            // The first leader's writes carry its term, as a process that does not
            // notice it was paused would still send them.
            let staleFence = try #require(await first.fence())
            await store.fence { staleFence }
            var batch = StoreBatch(now: now)
            batch.put(TemporaryStore.service("web"))
            try await store.commit(batch)

            let waiting = Task { try await second.campaign() }
            let paused = ContinuousClock.now
            await first.stopRenewing()
            try await waiting.value
            // Within the TTL (5 s, the default) of its last keepalive, give or
            // take etcd's expiry check (every 500 ms) on a loaded machine.
            #expect(ContinuousClock.now - paused < .milliseconds(6500))
            #expect(await first.isLeader == false)
            #expect(await second.isLeader)

            let before = await newStore.index
            var late = StoreBatch(now: now)
            late.put(TemporaryStore.service("late"))
            await #expect(throws: EtcdError.notLeader) { try await store.commit(late) }
            // Through the election itself the deposed leader does not even try.
            await store.fence { await first.fence() }
            await #expect(throws: EtcdError.notLeader) { try await store.commit(late) }
            // The new leader's commits go through.
            await newStore.fence { await second.fence() }
            var next = StoreBatch(now: now)
            next.put(TemporaryStore.service("next"))
            #expect(try await newStore.commit(next) > before)
            #expect(Set(await newStore.all(Service.self).map(\.spec.name)) == ["web", "next"])
            await first.resign()
            await second.resign()
        }
    }
}

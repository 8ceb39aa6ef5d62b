import ClusterStore
import Foundation
import SwarmAPI
import Testing

/// What every `ClusterStore` must do, run against SQLiteStore and EtcdStore
/// (when etcd is installed). Indexes are compared by order, not value: in
/// SQLite each change moves the index by one, in etcd each commit does.
struct StoreConformanceTests {
    let now = Timestamp(nanoseconds: 1_700_000_000_000_000_000)

    struct NameTaken: Error, Equatable {}

    @Test(arguments: StoreKind.testable)
    func aCommitStampsVersionsAndMovesTheIndex(kind: StoreKind) async throws {
        try await withStore(kind) { store, _ in
            let before = await store.index
            var batch = StoreBatch(now: now)
            let a = TemporaryStore.service("a"), b = TemporaryStore.service("b")
            batch.put(a) { service, index in service.specIndex = index }
            batch.put(b)
            let committed = try await store.commit(batch)
            #expect(committed > before)
            #expect(await store.index == committed)
            let stored = try #require(await store.get(Service.self, id: a.id))
            #expect(stored.version.index > before && stored.version.index <= committed)
            #expect(stored.specIndex > before && stored.specIndex <= committed && stored.updatedAt == now)
            var deletion = StoreBatch(now: now)
            deletion.delete(Service.self, id: a.id)
            #expect(try await store.commit(deletion) > committed)
            #expect(await store.all(Service.self).map(\.id) == [b.id])
        }
    }

    @Test(arguments: StoreKind.testable)
    func aStaleVersionFailsTheWholeBatchAndChangesNothing(kind: StoreKind) async throws {
        try await withStore(kind) { store, _ in
            var batch = StoreBatch(now: now)
            batch.put(TemporaryStore.service("web"))
            try await store.commit(batch)
            let read = try #require(await store.all(Service.self).first)
            var first = StoreBatch(now: now)
            first.update(Service.self, id: read.id, expecting: read.version.index) { service, _ in service.spec.mode = .replicas(3); return true }
            try await store.commit(first)
            let before = await store.index
            let current = await store.get(Service.self, id: read.id)
            var stalePut = StoreBatch(now: now)
            stalePut.put(TemporaryStore.service("other"))
            stalePut.put(read)
            await #expect(throws: StoreError.outOfSequence(kind: "service", id: read.id)) { try await store.commit(stalePut) }
            var staleUpdate = StoreBatch(now: now)
            staleUpdate.update(Service.self, id: read.id, expecting: read.version.index) { service, _ in service.spec.mode = .replicas(5); return true }
            await #expect(throws: StoreError.outOfSequence(kind: "service", id: read.id)) { try await store.commit(staleUpdate) }
            #expect(await store.index == before)
            #expect(await store.get(Service.self, id: read.id) == current)
            #expect(await store.all(Service.self).count == 1)
        }
    }

    @Test(arguments: StoreKind.testable)
    func concurrentCommitsEachSucceedOrFailOnTheirOwn(kind: StoreKind) async throws {
        try await withStore(kind) { store, _ in
            var first = StoreBatch(now: now)
            let service = TemporaryStore.service("web")
            first.put(service)
            let created = try await store.commit(first)
            let stale = service   // version 0, but it exists now
            let now = self.now
            let results = await withTaskGroup(of: Result<UInt64, StoreError>.self) { group in
                for index in 0..<20 {
                    group.addTask {
                        var batch = StoreBatch(now: now)
                        batch.put(TemporaryStore.service("s\(index)"))
                        if index == 7 { batch.put(stale) }
                        do { return .success(try await store.commit(batch)) } catch { return .failure(error as! StoreError) }
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            let indexes = results.compactMap { try? $0.get() }
            #expect(results.count - indexes.count == 1)
            #expect(Set(indexes).count == 19 && indexes.allSatisfy { $0 > created })
            #expect(await store.index == indexes.max())
            #expect(await store.all(Service.self).count == 20)
            #expect(await store.all(Service.self).contains { $0.spec.name == "s7" } == false)
        }
    }

    @Test(arguments: StoreKind.testable)
    func anUpdateThatDeclinesIsNoChange(kind: StoreKind) async throws {
        try await withStore(kind) { store, _ in
            var batch = StoreBatch(now: now)
            let service = TemporaryStore.service("web")
            batch.put(service)
            let committed = try await store.commit(batch)
            var declined = StoreBatch(now: now)
            declined.update(Service.self, id: service.id) { _, _ in false }
            declined.update(Service.self, id: "missing") { _, _ in true }
            #expect(try await store.commit(declined) == committed)
        }
    }

    @Test(arguments: StoreKind.testable)
    func requireNoneHoldsAgainstConcurrentCommits(kind: StoreKind) async throws {
        try await withStore(kind) { store, _ in
            let now = self.now
            // Ten creators of the same name at once: exactly one wins.
            let results = await withTaskGroup(of: Bool.self) { group in
                for _ in 0..<10 {
                    group.addTask {
                        var batch = StoreBatch(now: now)
                        batch.requireNone(Service.self, failing: NameTaken()) { $0.spec.name == "web" }
                        batch.put(TemporaryStore.service("web"))
                        do { try await store.commit(batch); return true } catch { return false }
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.filter { $0 }.count == 1)
            #expect(await store.all(Service.self).count == 1)
            var again = StoreBatch(now: now)
            again.requireNone(Service.self, failing: NameTaken()) { $0.spec.name == "web" }
            again.put(TemporaryStore.service("web"))
            await #expect(throws: NameTaken()) { try await store.commit(again) }
        }
    }

    @Test(arguments: StoreKind.testable)
    func everythingSurvivesReopening(kind: StoreKind) async throws {
        try await withStore(kind) { store, reopen in
            var batch = StoreBatch(now: now)
            batch.put(TemporaryStore.service("web"))
            let committed = try await store.commit(batch)
            let reopened = try await reopen()
            #expect(await reopened.index >= committed)
            #expect(await reopened.all(Service.self) == (await store.all(Service.self)))
        }
    }

    @Test(arguments: StoreKind.testable)
    func watchersEachSeeEveryChangeInOrder(kind: StoreKind) async throws {
        try await withStore(kind) { store, _ in
            let start = await store.index
            let names = (0..<20).map { "s\($0)" }
            let watchers = (0..<3).map { _ in
                Task { () -> [StoreChange] in
                    var seen: [StoreChange] = []
                    for await event in store.watch(from: start) {
                        if case .changes(let changes) = event { seen += changes }
                        if seen.count == names.count + 1 { break }
                    }
                    return seen
                }
            }
            var ids: [String] = [], indexes: [UInt64] = []
            for name in names {
                var batch = StoreBatch(now: now)
                let service = TemporaryStore.service(name)
                ids.append(service.id)
                batch.put(service)
                indexes.append(try await store.commit(batch))
            }
            var deletion = StoreBatch(now: now)
            deletion.delete(Service.self, id: ids[0])
            indexes.append(try await store.commit(deletion))
            for watcher in watchers {
                let seen = await watcher.value
                #expect(seen.map(\.index) == indexes)
                #expect(seen.prefix(20).map(\.object.id) == ids)
                #expect(seen.prefix(20).allSatisfy { $0.action == .created })
                #expect(seen.last?.action == .deleted && seen.last?.object.id == ids[0])
            }
        }
    }

    @Test(arguments: StoreKind.testable)
    func aSubscriberBehindTheLogGetsASnapshotAndLosesNoState(kind: StoreKind) async throws {
        try await withStore(kind, logLimit: 4) { store, _ in
            var indexes: [UInt64] = []
            for name in ["a", "b", "c", "d", "e", "f"] {
                var batch = StoreBatch(now: now)
                batch.put(TemporaryStore.service(name))
                indexes.append(try await store.commit(batch))
            }
            // After the first commit: the second is no longer in the log (it keeps the last four).
            var behind = store.watch(from: indexes[0]).makeAsyncIterator()
            guard case .snapshot(let snapshot) = await behind.next() else { Issue.record("expected a snapshot"); return }
            #expect(snapshot.index == indexes[5] && Set(snapshot.services.map(\.spec.name)) == ["a", "b", "c", "d", "e", "f"])
            var recent = store.watch(from: indexes[2]).makeAsyncIterator()
            guard case .changes(let changes) = await recent.next() else { Issue.record("expected changes"); return }
            #expect(changes.map(\.index) == Array(indexes[3...]))
        }
    }

    @Test(arguments: StoreKind.testable)
    func aWatchEndsWhenItsTaskIsCancelled(kind: StoreKind) async throws {
        try await withStore(kind) { store, _ in
            let start = await store.index
            let watcher = Task { () -> Int in
                var events = 0
                for await _ in store.watch(from: start) { events += 1 }
                return events
            }
            watcher.cancel()
            #expect(await watcher.value == 0)
        }
    }
}

import ClusterStore
import Foundation
import SwarmAPI
import Testing

/// The SQLite store in a temporary directory, for real.
final class TemporaryStore {
    let directory: String
    let store: SQLiteStore

    init(logLimit: Int = 200_000) throws {
        directory = NSTemporaryDirectory() + "swarm-test-store-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        store = try SQLiteStore(path: directory + "/state.db", logLimit: logLimit)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    static func service(_ name: String) -> Service {
        Service(id: newObjectID(), version: ObjectVersion(index: 0), createdAt: Timestamp(nanoseconds: 1),
                spec: ServiceSpec(name: name, taskTemplate: TaskSpec(containerSpec: ContainerSpec(image: "busybox")), mode: .replicas(1)),
                specIndex: 0)
    }
}

struct SQLiteStoreTests {
    let now = Timestamp(nanoseconds: 1_700_000_000_000_000_000)

    @Test func aCommitStampsVersionsAndEveryChangeMovesTheIndex() async throws {
        let temporary = try TemporaryStore()
        let store = temporary.store
        var batch = StoreBatch(now: now)
        let a = TemporaryStore.service("a"), b = TemporaryStore.service("b")
        batch.put(a) { service, index in service.specIndex = index }
        batch.put(b)
        #expect(try await store.commit(batch) == 2)
        let stored = try #require(await store.get(Service.self, id: a.id))
        #expect(stored.version.index == 1 && stored.specIndex == 1 && stored.updatedAt == now)
        #expect(await store.get(Service.self, id: b.id)?.version.index == 2)
        var deletion = StoreBatch(now: now)
        deletion.delete(Service.self, id: a.id)
        #expect(try await store.commit(deletion) == 3)
        #expect(await store.all(Service.self).map(\.id) == [b.id])
    }

    @Test func aStaleVersionFailsTheWholeBatchAndChangesNothing() async throws {
        let temporary = try TemporaryStore()
        let store = temporary.store
        var batch = StoreBatch(now: now)
        batch.put(TemporaryStore.service("web"))
        try await store.commit(batch)
        let read = try #require(await store.all(Service.self).first)
        var first = StoreBatch(now: now)
        first.update(Service.self, id: read.id, expecting: read.version.index) { service, _ in service.spec.mode = .replicas(3); return true }
        try await store.commit(first)
        let before = await store.index
        let current = await store.get(Service.self, id: read.id)
        // Both forms of a stale write: a put of the old copy, an update expecting the old version.
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

    @Test func concurrentCommitsEachSucceedOrFailOnTheirOwn() async throws {
        let temporary = try TemporaryStore()
        let store = temporary.store
        var first = StoreBatch(now: now)
        let service = TemporaryStore.service("web")
        first.put(service)
        try await store.commit(first)
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
        #expect(results.filter { if case .failure = $0 { true } else { false } }.count == 1)
        #expect(Set(results.compactMap { try? $0.get() }) == Set(2...20))
        #expect(await store.index == 20)
        #expect(await store.all(Service.self).count == 20)
        #expect(await store.all(Service.self).contains { $0.spec.name == "s7" } == false)
    }

    @Test func anUpdateThatDeclinesIsNoChange() async throws {
        let temporary = try TemporaryStore()
        let store = temporary.store
        var batch = StoreBatch(now: now)
        let service = TemporaryStore.service("web")
        batch.put(service)
        try await store.commit(batch)
        var declined = StoreBatch(now: now)
        declined.update(Service.self, id: service.id) { _, _ in false }
        declined.update(Service.self, id: "missing") { _, _ in true }
        #expect(try await store.commit(declined) == 1)
    }

    @Test func everythingSurvivesReopening() async throws {
        let temporary = try TemporaryStore()
        var batch = StoreBatch(now: now)
        batch.put(TemporaryStore.service("web"))
        try await temporary.store.commit(batch)
        let reopened = try SQLiteStore(path: temporary.directory + "/state.db")
        #expect(await reopened.index == 1)
        #expect(await reopened.all(Service.self) == (await temporary.store.all(Service.self)))
    }

    @Test func watchersEachSeeEveryChangeInOrder() async throws {
        let temporary = try TemporaryStore()
        let store = temporary.store
        let names = (0..<20).map { "s\($0)" }
        let watchers = (0..<3).map { _ in
            Task { () -> [StoreChange] in
                var seen: [StoreChange] = []
                for await event in store.watch(from: 0) {
                    if case .changes(let changes) = event { seen += changes }
                    if seen.count == names.count + 1 { break }
                }
                return seen
            }
        }
        var ids: [String] = []
        for name in names {
            var batch = StoreBatch(now: now)
            let service = TemporaryStore.service(name)
            ids.append(service.id)
            batch.put(service)
            try await store.commit(batch)
        }
        var deletion = StoreBatch(now: now)
        deletion.delete(Service.self, id: ids[0])
        try await store.commit(deletion)
        for watcher in watchers {
            let seen = await watcher.value
            #expect(seen.map(\.index) == Array(1...21))
            #expect(seen.prefix(20).map(\.object.id) == ids)
            #expect(seen.prefix(20).allSatisfy { $0.action == .created })
            #expect(seen.last?.action == .deleted && seen.last?.object.id == ids[0])
        }
    }

    @Test func aSubscriberBehindTheLogGetsASnapshotAndLosesNoState() async throws {
        let temporary = try TemporaryStore(logLimit: 4)
        let store = temporary.store
        for name in ["a", "b", "c", "d", "e", "f"] {
            var batch = StoreBatch(now: now)
            batch.put(TemporaryStore.service(name))
            try await store.commit(batch)
        }
        // Cursor 1: changes 2… are no longer all in the log (it keeps 3–6).
        var behind = store.watch(from: 1).makeAsyncIterator()
        guard case .snapshot(let snapshot) = await behind.next() else { Issue.record("expected a snapshot"); return }
        #expect(snapshot.index == 6 && Set(snapshot.services.map(\.spec.name)) == ["a", "b", "c", "d", "e", "f"])
        // Cursor 3: the log has 4–6.
        var recent = store.watch(from: 3).makeAsyncIterator()
        guard case .changes(let changes) = await recent.next() else { Issue.record("expected changes"); return }
        #expect(changes.map(\.index) == [4, 5, 6])
    }

    @Test func aWatchEndsWhenItsTaskIsCancelled() async throws {
        let temporary = try TemporaryStore()
        let store = temporary.store
        let watcher = Task { () -> Int in
            var events = 0
            for await _ in store.watch(from: 0) { events += 1 }
            return events
        }
        watcher.cancel()
        #expect(await watcher.value == 0)
    }
}

import ClusterStore
@testable import EtcdStore
import Foundation
import SwarmAPI
import Testing

/// `StoreMigration.copy`: SQLite → etcd → SQLite keeps every object.
struct StoreMigrationTests {
    let now = Timestamp(nanoseconds: 1_700_000_000_000_000_000)

    /// A state as a manager leaves it: the swarm, nodes, networks, secrets,
    /// configs, services (one rolled back) and their tasks, old and current.
    func fill(_ store: any ClusterStore) async throws {
        var batch = StoreBatch(now: now)
        batch.put(SwarmInfo(id: "cluster1", version: ObjectVersion(index: 0), createdAt: now,
                            spec: SwarmSpec(heartbeatPeriod: 5_000_000_000), joinTokens: JoinTokens(worker: "w", manager: "m")))
        for number in 0..<3 {
            batch.put(Node(id: "node\(number)", version: ObjectVersion(index: 0), createdAt: now, updatedAt: now,
                           spec: NodeSpec(role: number == 0 ? .manager : .worker),
                           description: NodeDescription(hostname: "host\(number)", platform: Platform(architecture: "x86_64", os: "linux"),
                                                        resources: Resources(nanoCPUs: 1_000_000_000, memoryBytes: 1 << 30),
                                                        engine: EngineDescription(engineVersion: "test")),
                           status: NodeStatus(state: .ready, addr: "10.0.0.\(number)")))
        }
        batch.put(SwarmNetwork(id: "net1", version: ObjectVersion(index: 0), createdAt: now, spec: NetworkSpec(name: "front")))
        batch.put(SwarmSecret(id: "sec1", version: ObjectVersion(index: 0), createdAt: now, spec: SecretSpec(name: "pw", data: "c2VjcmV0")))
        batch.put(SwarmConfig(id: "cfg1", version: ObjectVersion(index: 0), createdAt: now, spec: SecretSpec(name: "conf", data: "eA==")))
        try await store.commit(batch)
        for number in 0..<4 {
            var services = StoreBatch(now: Timestamp(nanoseconds: now.nanoseconds + Int64(number)))
            var service = TemporaryStore.service("s\(number)")
            service.spec.mode = .replicas(100)
            services.put(service) { service, index in service.specIndex = index }
            try await store.commit(services)
            let created = try #require(await store.get(Service.self, id: service.id))
            // Old tasks from a template before, current ones from the service's.
            var tasks = StoreBatch(now: Timestamp(nanoseconds: now.nanoseconds + 1000 + Int64(number)))
            for slot in 1...100 {
                let old = slot <= 10
                tasks.put(SwarmTask(id: "t\(number)-\(slot)", version: ObjectVersion(index: 0), createdAt: now,
                                    spec: created.spec.taskTemplate, serviceID: created.id, slot: slot, nodeID: "node\(slot % 3)",
                                    status: TaskStatus(timestamp: now, state: old ? .shutdown : .running, message: "x"),
                                    desiredState: old ? .shutdown : .running,
                                    specIndex: old ? created.specIndex - 1 : created.specIndex, serviceName: created.spec.name))
            }
            if number == 1 {
                tasks.update(Service.self, id: created.id) { service, _ in service.previousSpecIndex = created.specIndex - 1; return true }
            }
            try await store.commit(tasks)
        }
    }

    /// Everything, with versions cleared, spec indexes as given by `renumber`.
    func contents(_ store: any ClusterStore) async -> [String: String] {
        var out: [String: String] = [:]
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        func add<T: StoredObject>(_ type: T.Type, _ adjust: (inout T) -> Void = { _ in }) async {
            for var object in await store.all(type) {
                object.version = ObjectVersion(index: 0)
                adjust(&object)
                out["\(T.kind)/\(object.id)"] = String(decoding: try! encoder.encode(object), as: UTF8.self)
            }
        }
        await add(SwarmInfo.self)
        await add(Node.self)
        await add(SwarmNetwork.self)
        await add(SwarmSecret.self)
        await add(SwarmConfig.self)
        // Spec indexes are renumbered: compare which are equal, not their numbers.
        let services = Dictionary(uniqueKeysWithValues: await store.all(Service.self).map { ($0.id, $0) })
        await add(Service.self) { service in
            service.previousSpecIndex = service.previousSpecIndex.map { $0 < service.specIndex ? 1 : 99 }
            service.specIndex = 0
        }
        await add(SwarmTask.self) { task in
            let service = services[task.serviceID]
            task.specIndex = task.specIndex == service?.specIndex ? 0 : task.specIndex == service?.previousSpecIndex ? 1 : 2
        }
        return out
    }

    @Test(.enabled(if: etcdInstalled, etcdReason))
    func sqliteToEtcdAndBackKeepsEveryObject() async throws {
        let first = try TemporaryStore()
        try await fill(first.store)
        let original = await contents(first.store)
        // The swarm, 3 nodes, a network, a secret, a config, 4 services, 400 tasks.
        #expect(original.count == 411)
        try await EtcdFixture.with { etcd in
            let store = try await EtcdStore.open(client: etcd.client, cluster: "c1")
            defer { Task { await store.close() } }
            let report = try await StoreMigration.copy(from: first.store, to: store)
            #expect(report.objects == original.count && report.commits >= 5)
            #expect(await contents(store) == original)
            // The target's next indexes cannot repeat a spec index it was given.
            let specIndexes = await store.all(SwarmTask.self).map(\.specIndex) + store.all(Service.self).map(\.specIndex)
            #expect(specIndexes.allSatisfy { $0 <= report.index })
            // updatedAt kept as it was.
            let task = try #require(await store.get(SwarmTask.self, id: "t0-1"))
            #expect(task.updatedAt == Timestamp(nanoseconds: now.nanoseconds + 1000))

            // A non-empty target is refused, and left as it was.
            let before = await store.index
            await #expect(throws: StoreMigration.Failure.targetNotEmpty(kind: "swarm", count: 1)) {
                try await StoreMigration.copy(from: first.store, to: store)
            }
            #expect(await store.index == before)

            // And back into a new SQLite store.
            let back = try TemporaryStore()
            try await StoreMigration.copy(from: store, to: back.store)
            #expect(await contents(back.store) == original)
            // A service still rolls back onto its old tasks, and current tasks stay current.
            let service = try #require(await back.store.all(Service.self).first { $0.spec.name == "s1" })
            let tasks = await back.store.all(SwarmTask.self).filter { $0.serviceID == service.id }
            #expect(tasks.filter { $0.specIndex == service.specIndex }.count == 90)
            #expect(tasks.filter { $0.specIndex == service.previousSpecIndex }.count == 10)
        }
    }
}

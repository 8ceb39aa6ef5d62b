// bench/ha: commits per second of service-spec-sized objects on SQLiteStore
// and on EtcdStore (one client, then 8 concurrent), and how long a change
// takes from the commit call to a watcher (p50, p99). bench/ha/run starts
// the etcd; `ha-bench --etcd http://127.0.0.1:PORT [--commits N]`.
import ClusterStore
import EtcdStore
import Foundation
import SwarmAPI

struct Options {
    var etcd: String?
    var commits = 2000
    init() {
        var arguments = CommandLine.arguments.dropFirst()
        while let argument = arguments.popFirst() {
            switch argument {
            case "--etcd": etcd = arguments.popFirst()
            case "--commits": commits = arguments.popFirst().flatMap { Int($0) } ?? commits
            default:
                FileHandle.standardError.write(Data("usage: ha-bench [--etcd http://HOST:PORT] [--commits N]\n".utf8))
                exit(1)
            }
        }
    }
}

/// A service as users write them: image, command, env, labels, ports, limits.
func service(_ name: String) -> Service {
    var container = ContainerSpec(image: "registry.example.com/team/\(name):1.4.2@sha256:" + String(repeating: "ab", count: 32))
    container.env = (0..<12).map { "SETTING_\($0)=value-\($0)-" + String(repeating: "x", count: 24) }
    container.args = ["--port", "8080", "--log-level", "info", "--workers", "4"]
    container.labels = ["com.example.team": "payments", "com.example.tier": "backend"]
    var spec = ServiceSpec(name: name, taskTemplate: TaskSpec(containerSpec: container), mode: .replicas(3))
    spec.labels = (0..<8).reduce(into: [:]) { $0["com.example.label\($1)"] = "value-\($1)" }
    return Service(id: newObjectID(), version: ObjectVersion(index: 0), createdAt: Timestamp.now(), spec: spec, specIndex: 0)
}

actor Arrivals {
    var started: [UInt64: ContinuousClock.Instant] = [:]
    var pending: [ContinuousClock.Instant] = []
    var latencies: [Duration] = []
    func expect(_ start: ContinuousClock.Instant) { pending.append(start) }
    func arrived(_ count: Int, at time: ContinuousClock.Instant) {
        for _ in 0..<count where !pending.isEmpty { latencies.append(time - pending.removeFirst()) }
    }
}

struct Row {
    var store: String, clients: Int, commits: Int, seconds: Double, p50: Duration?, p99: Duration?
}

/// `clients` writers, each updating its own services round-robin, `total` commits in all.
func run(_ store: any ClusterStore, name: String, clients: Int, total: Int) async throws -> Row {
    let now = Timestamp.now()
    var ids: [[String]] = []
    for client in 0..<clients {
        var batch = StoreBatch(now: now)
        let services = (0..<10).map { service("svc-\(client)-\($0)-\(UUID().uuidString.prefix(6))") }
        for service in services { batch.put(service) }
        try await store.commit(batch)
        ids.append(services.map(\.id))
    }
    let arrivals = Arrivals()
    let start = await store.index
    // The watcher counts changes; with one writer each commit is one change, in order.
    let watcher = Task {
        for await event in store.watch(from: start) {
            if case .changes(let changes) = event { await arrivals.arrived(changes.count, at: .now) }
        }
    }
    let began = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for client in 0..<clients {
            let mine = ids[client]
            group.addTask {
                for number in 0..<(total / clients) {
                    var batch = StoreBatch(now: Timestamp.now())
                    batch.update(Service.self, id: mine[number % mine.count]) { service, _ in
                        service.spec.labels?["com.example.revision"] = String(number)
                        return true
                    }
                    if clients == 1 { await arrivals.expect(.now) }
                    try await store.commit(batch)
                }
            }
        }
        try await group.waitForAll()
    }
    let elapsed = ContinuousClock.now - began
    watcher.cancel()
    let latencies = clients == 1 ? await arrivals.latencies.sorted() : []
    func percentile(_ p: Double) -> Duration? {
        latencies.isEmpty ? nil : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]
    }
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    return Row(store: name, clients: clients, commits: total / clients * clients, seconds: seconds,
               p50: percentile(0.5), p99: percentile(0.99))
}

func milliseconds(_ duration: Duration?) -> String {
    guard let duration else { return "-" }
    let ms = Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    return String(format: "%.2f ms", ms)
}

let options = Options()
var rows: [Row] = []
let directory = NSTemporaryDirectory() + "ha-bench-\(UUID().uuidString)"
try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: directory) }
let sqlite = try SQLiteStore(path: directory + "/state.db")
rows.append(try await run(sqlite, name: "sqlite", clients: 1, total: options.commits))
rows.append(try await run(sqlite, name: "sqlite", clients: 8, total: options.commits))
if let endpoint = options.etcd {
    let client = EtcdClient(endpoints: [endpoint])
    let etcd = try await EtcdStore.open(client: client, cluster: "bench-\(UUID().uuidString.prefix(8))")
    rows.append(try await run(etcd, name: "etcd", clients: 1, total: options.commits))
    rows.append(try await run(etcd, name: "etcd", clients: 8, total: options.commits))
    await etcd.close()
    await client.shutdown()
}
func pad(_ text: String, _ width: Int) -> String { text.padding(toLength: max(width, text.count), withPad: " ", startingAt: 0) }
print(pad("STORE", 8) + pad("CLIENTS", 9) + pad("COMMITS", 9) + pad("SECONDS", 9) + pad("COMMITS/S", 11) + pad("WATCH P50", 11) + "WATCH P99")
for row in rows {
    print(pad(row.store, 8) + pad(String(row.clients), 9) + pad(String(row.commits), 9) + pad(String(format: "%.2f", row.seconds), 9)
          + pad(String(format: "%.0f", Double(row.commits) / row.seconds), 11) + pad(milliseconds(row.p50), 11) + milliseconds(row.p99))
}

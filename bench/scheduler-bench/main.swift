import ClusterStore
import EtcdStore
import Foundation
import Manager
import SwarmAPI

// The manager with simulated nodes: each "agent" long-polls its
// assignments through an in-process link and reports every assigned task
// running at once, without containers. Measures time to all running, placements per second and
// the manager's RSS. Usage: scheduler-bench [--store sqlite|etcd] [nodes tasks]...
// With `--store etcd` the state is in a 3-member etcd cluster on loopback
// (BenchEtcdCluster), the manager the elected leader on an EtcdStore over
// its own member, as in a swarm of three managers.

func rssMiB() -> Double { residentMiB(pid: nil) }

/// An agent without containers, on the same link a real in-process agent
/// uses: every task it is assigned (in full or incremental answers) it
/// reports running at once.
func simulatedAgent(_ link: InProcessManagerLink) async {
    var since: UInt64? = nil
    while !Task.isCancelled {
        guard let answer = try? await link.assignments(since: since) else { return }
        since = answer.version
        let now = Timestamp.now()
        let updates = answer.tasks.filter { $0.desiredState == .running && $0.status.state < .running }.map {
            StatusUpdate(taskID: $0.id, status: TaskStatus(timestamp: now, state: .running, message: "started"))
        }
        if !updates.isEmpty { try? await link.report(StatusBatch(updates: updates)) }
    }
}

/// The store of one case and what to stop after it.
struct BenchStore {
    var store: any ClusterStore
    var clusterID: String
    /// The etcd members' RSS (MiB), nil on SQLite.
    var etcdRSS: @Sendable () async -> Double?
    var close: @Sendable () async -> Void

    static func sqlite(nodes: Int) throws -> BenchStore {
        let directory = NSTemporaryDirectory() + "swarm-bench-scheduler-\(getpid())-\(nodes)"
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        BenchCleanup.removeOnExit(directory)
        let store = try SQLiteStore(path: directory + "/state.db")
        return BenchStore(store: store, clusterID: newObjectID(), etcdRSS: { nil }) {
            try? FileManager.default.removeItem(atPath: directory)
            BenchCleanup.forget(directory)
        }
    }

    /// Three members; the manager leads (elected, its commits fenced by its term) on its own member's store.
    static func etcd(limits: EtcdTransactionLimits, leaseTTL: Int64) async throws -> BenchStore {
        let clusterID = newObjectID()
        let cluster = try await BenchEtcdCluster.start(clusterID: clusterID)
        let client = try cluster.leaderClient()
        do {
            let store = try await EtcdStore.open(client: client, cluster: clusterID, limits: limits)
            let election = LeaderElection(client: client, cluster: clusterID, candidate: "node-0", ttl: leaseTTL)
            try await election.campaign()
            await store.fence { await election.fence() }
            return BenchStore(store: store, clusterID: clusterID, etcdRSS: { await cluster.rssMiB() }) {
                await election.resign()
                await store.close()
                await client.shutdown()
                await cluster.stop()
            }
        } catch {
            await client.shutdown()
            await cluster.stop()
            throw error
        }
    }
}

func run(nodes: Int, tasks: Int, on kind: String, limits: EtcdTransactionLimits, leaseTTL: Int64) async throws -> [String] {
    let bench = kind == "etcd" ? try await BenchStore.etcd(limits: limits, leaseTTL: leaseTTL) : try BenchStore.sqlite(nodes: nodes)
    do {
        let row = try await run(nodes: nodes, tasks: tasks, bench)
        await bench.close()
        return [kind] + row
    } catch {
        await bench.close()
        throw error
    }
}

func run(nodes: Int, tasks: Int, _ bench: BenchStore) async throws -> [String] {
    let store = bench.store
    try await ClusterManager.bootstrap(store: store, clusterID: bench.clusterID, nodeID: "node-0", hostname: "node-0", addr: "10.0.0.1:2377",
                                 tokens: JoinTokens(worker: "w", manager: "m"), heartbeatPeriod: 60_000_000_000)
    let manager = try await ClusterManager(store: store, nodeID: "node-0", sharedStore: store is EtcdStore)
    // The leader loop: orchestrator, allocator, scheduler, dispatcher, timers.
    let leader = Task { await manager.run() }
    // Nodes join and open their sessions 64 at a time: each is a commit,
    // on etcd a round trip (set-up, not measured).
    let ids = ["node-0"] + (1..<max(nodes, 1)).map { "node-\($0)" }
    try await concurrently(ids.dropFirst(), width: 64) { id in
        _ = try await manager.admit(nodeID: id, role: .worker, hostname: id, addr: "10.0.0.2:0")
    }
    try await concurrently(ids[...], width: 64) { id in
        _ = try await manager.openSession(nodeID: id, SessionRequest(
            description: NodeDescription(hostname: id, platform: Platform(architecture: "x86_64", os: "linux"),
                                         resources: Resources(nanoCPUs: 8_000_000_000, memoryBytes: 32 << 30),
                                         engine: EngineDescription(engineVersion: "bench")), addr: "10.0.0.2"))
    }
    let agents = ids.map { id in Task { await simulatedAgent(InProcessManagerLink(manager: manager, nodeID: id, pollTimeout: .seconds(5))) } }
    func stop() async {
        agents.forEach { $0.cancel() }
        leader.cancel()
        for agent in agents { await agent.value }
        await leader.value
    }

    // Follows the store's watch (as any component does) rather than
    // copying every task out of the store several times a second.
    let from = await store.index
    let peakRSS = Task { () -> (Double, Double?) in
        var peak = rssMiB()
        var etcdPeak = await bench.etcdRSS()
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(200))
            peak = max(peak, rssMiB())
            if let etcd = await bench.etcdRSS() { etcdPeak = max(etcdPeak ?? 0, etcd) }
        }
        return (peak, etcdPeak)
    }
    let start = Date()
    _ = try await manager.createService(ServiceSpec(name: "bench", taskTemplate: TaskSpec(containerSpec: ContainerSpec(image: "busybox")),
                                                    mode: .replicas(UInt64(tasks))))
    let counting = Task { () -> Double? in
        var placedAt: Double? = nil
        var placed: Set<String> = [], running: Set<String> = []
        func count(_ task: SwarmTask) {
            if task.nodeID != nil { placed.insert(task.id) } else { placed.remove(task.id) }
            if task.status.state == .running { running.insert(task.id) } else { running.remove(task.id) }
        }
        for await event in store.watch(from: from) {
            switch event {
            case .snapshot(let snapshot):
                placed = []; running = []
                for task in snapshot.tasks { count(task) }
            case .changes(let changes):
                for change in changes {
                    guard case .task(let task) = change.object else { continue }
                    if change.action == .deleted { placed.remove(task.id); running.remove(task.id) } else { count(task) }
                }
            }
            if placedAt == nil, placed.count == tasks { placedAt = Date().timeIntervalSince(start) }
            if running.count == tasks { return placedAt }
        }
        FileHandle.standardError.write(Data("scheduler-bench: \(placed.count) placed and \(running.count) running of \(tasks) after 600 s\n".utf8))
        return nil
    }
    // A commit the components could not make is only logged: give up after 600 s rather than wait for ever.
    let watchdog = Task {
        try await Task.sleep(for: .seconds(600))
        counting.cancel()
    }
    let placedAt = await counting.value
    watchdog.cancel()
    guard let placedAt else {
        peakRSS.cancel()
        await stop()
        throw BenchError("not every task ran within 600 s")
    }
    let converged = Date().timeIntervalSince(start)
    peakRSS.cancel()
    let (peak, etcdPeak) = await peakRSS.value
    await stop()
    let allPlaced = placedAt
    return ["\(nodes)", "\(tasks)", String(format: "%.2f", allPlaced), String(format: "%.0f", Double(tasks) / allPlaced),
            String(format: "%.2f", converged), String(format: "%.0f", peak), etcdPeak.map { String(format: "%.0f", $0) } ?? "-"]
}

/// `body` for each element, at most `width` at once.
func concurrently<C: Collection & Sendable>(_ elements: C, width: Int, _ body: @escaping @Sendable (C.Element) async throws -> Void) async throws
    where C.Element: Sendable {
    try await withThrowingTaskGroup(of: Void.self) { group in
        var running = 0
        for element in elements {
            if running == width { try await group.next(); running -= 1 }
            group.addTask { try await body(element) }
            running += 1
        }
        try await group.waitForAll()
    }
}

var arguments = Array(CommandLine.arguments.dropFirst())
var storeKind = "sqlite"
if let flag = arguments.firstIndex(of: "--store") {
    guard flag + 1 < arguments.count, ["sqlite", "etcd"].contains(arguments[flag + 1]) else {
        FileHandle.standardError.write(Data("scheduler-bench: --store takes sqlite or etcd\n".utf8))
        exit(1)
    }
    storeKind = arguments[flag + 1]
    arguments.removeSubrange(flag...flag + 1)
}
// `--txn OPS:MIB:IN-FLIGHT`: how EtcdStore splits large commits (its defaults otherwise).
var limits = EtcdTransactionLimits()
if let flag = arguments.firstIndex(of: "--txn") {
    let parts = flag + 1 < arguments.count ? arguments[flag + 1].split(separator: ":").compactMap { Int($0) } : []
    guard parts.count == 3 else {
        FileHandle.standardError.write(Data("scheduler-bench: --txn takes OPS:MIB:IN-FLIGHT, e.g. 10000:8:4\n".utf8))
        exit(1)
    }
    limits = EtcdTransactionLimits(operations: parts[0], bytes: parts[1] << 20, inFlight: parts[2])
    arguments.removeSubrange(flag...flag + 1)
}
// `--lease SECONDS`: the leader's lease (3 s as swarmd's by default).
var leaseTTL: Int64 = 3
if let flag = arguments.firstIndex(of: "--lease") {
    guard flag + 1 < arguments.count, let seconds = Int64(arguments[flag + 1]), seconds > 0 else {
        FileHandle.standardError.write(Data("scheduler-bench: --lease takes a number of seconds\n".utf8))
        exit(1)
    }
    leaseTTL = seconds
    arguments.removeSubrange(flag...flag + 1)
}
let numbers = arguments.compactMap { Int($0) }
guard numbers.count == arguments.count, numbers.count % 2 == 0 else {
    FileHandle.standardError.write(Data("usage: scheduler-bench [--store sqlite|etcd] [--txn OPS:MIB:IN-FLIGHT] [--lease SECONDS] [nodes tasks]...\n".utf8))
    exit(1)
}
let cases: [(Int, Int)] = numbers.count >= 2 ? stride(from: 0, to: numbers.count - 1, by: 2).map { (numbers[$0], numbers[$0 + 1]) }
    : [(1000, 100_000), (5000, 100_000)]
BenchCleanup.installSignalHandlers()
var rows = [["store", "nodes", "tasks", "all placed (s)", "placements/s", "all running (s)", "manager RSS (MiB)", "etcd RSS (MiB)"]]
for (nodes, tasks) in cases { rows.append(try await run(nodes: nodes, tasks: tasks, on: storeKind, limits: limits, leaseTTL: leaseTTL)) }
let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max()! }
for row in rows { print(row.enumerated().map { $0.element.padding(toLength: widths[$0.offset] + 3, withPad: " ", startingAt: 0) }.joined()) }

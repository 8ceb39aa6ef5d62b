import ClusterStore
import Foundation
import Manager
import SwarmAPI

// The manager with simulated nodes: each "agent" long-polls its
// assignments through an in-process link and reports every assigned task
// running at once, without containers. Measures time to all running, placements per second and
// the manager's RSS. Usage: scheduler-bench [nodes tasks]...

func rssMiB() -> Double {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
    return Double(line.split(separator: " ").dropFirst().first ?? "0").map { $0 / 1024 } ?? 0
}

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

func run(nodes: Int, tasks: Int) async throws -> [String] {
    let directory = NSTemporaryDirectory() + "swarm-bench-scheduler-\(getpid())-\(nodes)"
    try? FileManager.default.removeItem(atPath: directory)
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let store = try SQLiteStore(path: directory + "/state.db")
    try await ClusterManager.bootstrap(store: store, clusterID: newObjectID(), nodeID: "node-0", hostname: "node-0", addr: "10.0.0.1:2377",
                                 tokens: JoinTokens(worker: "w", manager: "m"), heartbeatPeriod: 60_000_000_000)
    let manager = try await ClusterManager(store: store, nodeID: "node-0")
    // The leader loop: orchestrator, allocator, scheduler, dispatcher, timers.
    let leader = Task { await manager.run() }
    var ids = ["node-0"]
    for index in 1..<nodes { ids.append(try await manager.admit(nodeID: "node-\(index)", role: .worker, hostname: "node-\(index)", addr: "10.0.0.2:0").id) }
    for id in ids {
        _ = try await manager.openSession(nodeID: id, SessionRequest(
            description: NodeDescription(hostname: id, platform: Platform(architecture: "x86_64", os: "linux"),
                                         resources: Resources(nanoCPUs: 8_000_000_000, memoryBytes: 32 << 30),
                                         engine: EngineDescription(engineVersion: "bench")), addr: "10.0.0.2"))
    }
    let agents = ids.map { id in Task { await simulatedAgent(InProcessManagerLink(manager: manager, nodeID: id, pollTimeout: .seconds(5))) } }
    defer { agents.forEach { $0.cancel() }; leader.cancel() }

    // Follows the store's watch (as any component does) rather than
    // copying every task out of the store several times a second.
    let from = await store.index
    let peakRSS = Task { () -> Double in
        var peak = rssMiB()
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(200))
            peak = max(peak, rssMiB())
        }
        return peak
    }
    let start = Date()
    _ = try await manager.createService(ServiceSpec(name: "bench", taskTemplate: TaskSpec(containerSpec: ContainerSpec(image: "busybox")),
                                                    mode: .replicas(UInt64(tasks))))
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
        if running.count == tasks { break }
        if Date().timeIntervalSince(start) > 600 { throw CocoaError(.featureUnsupported) }
    }
    let converged = Date().timeIntervalSince(start)
    peakRSS.cancel()
    let peak = await peakRSS.value
    let allPlaced = placedAt ?? converged
    return ["\(nodes)", "\(tasks)", String(format: "%.2f", allPlaced), String(format: "%.0f", Double(tasks) / allPlaced),
            String(format: "%.2f", converged), String(format: "%.0f", peak)]
}

let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let cases: [(Int, Int)] = arguments.count >= 2 ? stride(from: 0, to: arguments.count - 1, by: 2).map { (arguments[$0], arguments[$0 + 1]) }
    : [(1000, 100_000), (5000, 100_000)]
var rows = [["nodes", "tasks", "all placed (s)", "placements/s", "all running (s)", "manager RSS (MiB)"]]
for (nodes, tasks) in cases { rows.append(try await run(nodes: nodes, tasks: tasks)) }
let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max()! }
for row in rows { print(row.enumerated().map { $0.element.padding(toLength: widths[$0.offset] + 3, withPad: " ", startingAt: 0) }.joined()) }

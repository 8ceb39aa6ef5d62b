import ClusterStore
import Foundation
import HTTPServer
import Manager
import SwarmAPI
import Visualizer

// The visualizer under load: a manager with simulated nodes (as
// scheduler-bench makes them: no containers, every assigned task reported
// running at once), its board and page on a real HTTP listener, and
// viewers on the feed. A churn fails one running task at a time (the
// orchestrator replaces it); each failure's report is timed to the feed
// event that carries the task. Usage: visualizer-bench [nodes tasks viewers seconds]

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

func simulatedAgent(_ manager: ClusterManager, _ node: String) async {
    var since: UInt64? = nil
    while !Task.isCancelled {
        guard let set = try? await manager.assignments(nodeID: node, since: since, timeout: .seconds(5)) else { return }
        since = set.version
        let now = Timestamp.now()
        var updates = set.tasks.filter { $0.desiredState == .running && $0.status.state < .running }.map {
            StatusUpdate(taskID: $0.id, status: TaskStatus(timestamp: now, state: .running, message: "started"))
        }
        updates += set.tasks.filter { $0.desiredState > .running && !$0.status.state.isTerminal }.map {
            StatusUpdate(taskID: $0.id, status: TaskStatus(timestamp: now, state: .shutdown, message: "shutdown"))
        }
        if !updates.isEmpty { try? await manager.reportStatus(nodeID: node, StatusBatch(updates: updates)) }
    }
}

/// One viewer's feed read on a thread of its own over a plain socket:
/// each `data:` line is handed to `onEvent` with the time it arrived.
final class FeedReader: @unchecked Sendable {
    private let fd: Int32
    private let thread: Thread

    init(port: Int, onEvent: @escaping @Sendable (String, Date) -> Void) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw NSError(domain: "connect", code: Int(errno)) }
        let request = "GET /events HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n"
        _ = request.withCString { write(fd, $0, strlen($0)) }
        thread = Thread {
            var pending: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let count = read(fd, &chunk, chunk.count)
                if count <= 0 { return }
                let now = Date()
                pending += chunk[..<count]
                while let newline = pending.firstIndex(of: 10) {
                    let line = String(decoding: pending[..<newline], as: UTF8.self)
                    pending.removeSubrange(...newline)
                    if line.hasPrefix("data: ") { onEvent(line, now) }
                }
            }
        }
        thread.start()
    }

    func close() { shutdown(fd, Int32(SHUT_RDWR)) }
}

final class Latencies: @unchecked Sendable {
    private let lock = NSLock()
    private var sent: [String: Date] = [:]
    private(set) var samples: [Double] = []

    func expect(_ id: String, at date: Date) { lock.withLock { sent[id] = date } }

    func seen(_ line: String, at date: Date) {
        lock.withLock {
            for (id, start) in sent where line.contains(id) {
                samples.append(date.timeIntervalSince(start))
                sent[id] = nil
            }
        }
    }

    var outstanding: Int { lock.withLock { sent.count } }
    var all: [Double] { lock.withLock { samples } }
}

func percentile(_ values: [Double], _ p: Double) -> Double {
    guard !values.isEmpty else { return .nan }
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
}

func note(_ text: String) { FileHandle.standardError.write((text + "\n").data(using: .utf8)!) }

func run(nodes: Int, tasks: Int, viewers: Int, seconds: Int) async throws {
    let directory = NSTemporaryDirectory() + "swarm-bench-visualizer-\(getpid())"
    try? FileManager.default.removeItem(atPath: directory)
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let store = try SQLiteStore(path: directory + "/state.db")
    try await ClusterManager.bootstrap(store: store, clusterID: newObjectID(), nodeID: "node-0", hostname: "node-0", addr: "10.0.0.1:2377",
                                       tokens: JoinTokens(worker: "w", manager: "m"), heartbeatPeriod: 60_000_000_000)
    let manager = try await ClusterManager(store: store, nodeID: "node-0")
    let board = ClusterBoard(store: store)
    let leader = Task { await manager.run() }
    let boardLoop = Task { await board.run() }
    var ids = ["node-0"]
    for index in 1..<nodes { ids.append(try await manager.admit(nodeID: "node-\(index)", role: .worker, hostname: "node-\(index)", addr: "10.0.0.2:0").id) }
    for id in ids {
        _ = try await manager.openSession(nodeID: id, SessionRequest(
            description: NodeDescription(hostname: id, platform: Platform(architecture: "x86_64", os: "linux"),
                                         resources: Resources(nanoCPUs: 8_000_000_000, memoryBytes: 32 << 30),
                                         engine: EngineDescription(engineVersion: "bench")), addr: "10.0.0.2"))
    }
    let agents = ids.map { id in Task { await simulatedAgent(manager, id) } }
    defer { agents.forEach { $0.cancel() }; leader.cancel(); boardLoop.cancel() }

    note("\(nodes) nodes ready")
    let routes = VisualizerRoutes(board: board)
    let server = HTTPServer(handler: { await routes.handle($0) })
    let port = try await server.listen(host: "127.0.0.1", port: 0, tls: nil)

    note("listening on \(port)")
    let service = try await manager.createService(ServiceSpec(name: "bench", taskTemplate: TaskSpec(containerSpec: ContainerSpec(image: "busybox")),
                                                              mode: .replicas(UInt64(tasks))))
    while await manager.allTasks().filter({ $0.status.state == .running && $0.desiredState == .running }).count < tasks {
        try await Task.sleep(for: .milliseconds(200))
    }
    try await manager.settle()
    FileHandle.standardError.write("all \(tasks) tasks running\n".data(using: .utf8)!)
    let whole = await board.state()
    print("page: \(VisualizerRoutes.pageWeight) bytes (HTML, CSS, JS); first feed message: \(whole.count) bytes for \(tasks) tasks on \(nodes) nodes")

    // One viewer here, timed; the others are curl processes, so that the
    // CPU measured is the manager's, not the viewers'.
    let latencies = Latencies()
    let reader = try FeedReader(port: port) { line, date in latencies.seen(line, at: date) }
    var curls: [Process] = []
    for _ in 1..<max(viewers, 1) {
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = ["-sN", "-o", "/dev/null", "http://127.0.0.1:\(port)/events"]
        try curl.run()
        curls.append(curl)
    }
    while await board.viewers < viewers { try await Task.sleep(for: .milliseconds(50)) }
    FileHandle.standardError.write("\(viewers) viewers connected\n".data(using: .utf8)!)

    // Idle first: what 20 open pages cost with nothing changing.
    let idleStart = cpuSeconds(), idleClock = Date()
    try await Task.sleep(for: .seconds(seconds / 2))
    let idleCPU = (cpuSeconds() - idleStart) / Date().timeIntervalSince(idleClock)

    // Churn: every 200 ms one running task fails on its node. The victims are
    // drawn from the tasks running now, each once: the driver reads no task
    // list while the CPU is measured (the manager's work is what is measured).
    var victims = await manager.allTasks().filter { $0.serviceID == service.id && $0.status.state == .running && $0.desiredState == .running }.shuffled()
    let churnStart = cpuSeconds(), churnClock = Date()
    var failed = 0
    while Date().timeIntervalSince(churnClock) < Double(seconds) {
        if let task = victims.popLast(), let node = task.nodeID {
            let now = Date()
            latencies.expect(task.id, at: now)
            try await manager.reportStatus(nodeID: node, StatusBatch(updates: [
                StatusUpdate(taskID: task.id, status: TaskStatus(timestamp: Timestamp.now(), state: .failed, message: "bench", err: "bench failure"))]))
            failed += 1
        }
        try await Task.sleep(for: .milliseconds(200))
    }
    let churnCPU = (cpuSeconds() - churnStart) / Date().timeIntervalSince(churnClock)
    try await Task.sleep(for: .seconds(2))

    let samples = latencies.all.map { $0 * 1000 }
    print(String(format: "change → feed (one of %d viewers): %d changes, p50 %.1f ms, p99 %.1f ms, max %.1f ms, %d never seen",
                 viewers, failed, percentile(samples, 0.5), percentile(samples, 0.99), samples.max() ?? .nan, latencies.outstanding))
    print(String(format: "manager process CPU (store, components, board, feeds, simulated agents, churn driver): idle with %d viewers %.1f%% of a core; with 5 failures/s %.1f%%",
                 viewers, idleCPU * 100, churnCPU * 100))
    reader.close()
    // The viewers are this process's children: ended here, by their pids.
    for curl in curls { kill(curl.processIdentifier, SIGKILL) }
    for curl in curls { var status: Int32 = 0; waitpid(curl.processIdentifier, &status, 0) }
    withExtendedLifetime(server) {}
}

let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let (nodes, tasks, viewers, seconds) = arguments.count == 4 ? (arguments[0], arguments[1], arguments[2], arguments[3]) : (50, 1000, 20, 20)
try await run(nodes: nodes, tasks: tasks, viewers: viewers, seconds: seconds)
exit(0)

import Containers
import FoundationEssentials
import Glibc
import HTTPServer
import Manager
import SwarmCLI
import SwarmAPI
import SystemCalls

/// The Engine API paths of this node's own containers (task containers
/// included) that the docker CLI uses: `GET /containers/{id}/top` and
/// `GET /containers/{id}/stats`, `GET /containers/{id}/json`, exec
/// (`ContainerAPI+Exec.swift`), attach, resize and wait (`ContainerAPI+Attach.swift`). Served on the node's unix socket before the
/// manager's routes; nil for any other path.
struct ContainerAPI: Sendable {
    let runtime: ContainerRuntime
    /// `container run --network NAME`'s attachments (`NodeAttachments.swift`).
    let attachments: NodeAttachments
    let execs = ExecRegistry()

    func handle(_ request: HTTPRequest) async -> HTTPResponse? {
        guard request.isUnixSocket else { return nil }
        if let response = await attachments.handle(request) { return response }
        let parts = APIRouter.unversioned(request.path).split(separator: "/").map(String.init)
        let method = request.method == "HEAD" ? "GET" : request.method
        guard parts.count == 3, ["containers", "exec"].contains(parts[0]) else { return nil }
        do {
            switch (method, parts[0], parts[2]) {
            case ("GET", "containers", "top"):
                let arguments = (request.queryValue("ps_args") ?? "").split(separator: " ").map(String.init)
                let table = try runtime.top(parts[1], psArguments: arguments)
                return json(200, TopBody(Titles: table.titles, Processes: table.processes))
            case ("GET", "containers", "stats"):
                return try await stats(parts[1], stream: request.queryValue("stream").map { $0 == "1" || $0 == "true" } ?? true,
                                       oneShot: request.queryValue("one-shot").map { $0 == "1" || $0 == "true" } ?? false)
            case ("GET", "containers", "json"):
                return HTTPResponse.json(200, try containerInspectJSON(try runtime.inspect(parts[1])))
            case ("POST", "containers", "exec"):
                return try await createExec(parts[1], request)
            case ("POST", "exec", "start"):
                return try await startExec(parts[1], request)
            case ("GET", "exec", "json"):
                return await inspectExec(parts[1])
            case ("POST", "exec", "resize"):
                return await resizeExec(parts[1], request)
            case ("POST", "containers", "attach"):
                return try attachContainer(parts[1], request)
            case ("POST", "containers", "resize"):
                return try resizeContainer(parts[1], request)
            case ("POST", "containers", "wait"):
                return try waitContainer(parts[1])
            default:
                return nil
            }
        } catch let error as RuntimeError {
            switch error {
            case .noSuchContainer: return message(404, error.description)
            case .conflict: return message(409, error.description)
            case .badInput: return message(500, error.description)
            default: return message(500, error.description)
            }
        } catch {
            return message(500, "\(error)")
        }
    }

    /// Docker's StatsResponse: one object, or (stream) one per second, each
    /// with the previous reading as precpu_stats. Without stream and
    /// one-shot, two readings a second apart, as Docker's daemon takes them.
    func stats(_ ref: String, stream: Bool, oneShot: Bool) async throws -> HTTPResponse {
        var (info, previous) = try runtime.stats(ref)
        let previousRead = Date()
        if !stream {
            var current = previous, read = previousRead
            if !oneShot {
                try await Task.sleep(for: .seconds(1))
                (info, current) = try runtime.stats(ref)
                read = Date()
            }
            return json(200, StatsBody(info: info, current: current, read: read, previous: oneShot ? nil : previous,
                                       preread: oneShot ? nil : previousRead))
        }
        let runtime = self.runtime
        let first = previous, firstRead = previousRead
        let body = AsyncStream<[UInt8]> { continuation in
            let task = Task {
                var previous = first, previousRead = firstRead
                let encoder = JSONEncoder()
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(1))
                    guard let (info, current) = try? runtime.stats(ref) else { break }
                    let read = Date()
                    let bytes = (try? encoder.encode(StatsBody(info: info, current: current, read: read, previous: previous, preread: previousRead))) ?? Data()
                    continuation.yield(Array(bytes) + [0x0a])
                    previous = current
                    previousRead = read
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
        return HTTPResponse.stream(contentType: "application/json", body)
    }

    private var encoder: JSONEncoder { JSONEncoder() }

    func json<T: Encodable>(_ status: Int, _ value: T) -> HTTPResponse {
        HTTPResponse.json(status, Array((try? encoder.encode(value)) ?? Data()))
    }

    func message(_ status: Int, _ text: String) -> HTTPResponse {
        APIRouter.errorResponse(status, text)
    }
}

struct TopBody: Encodable {
    var Titles: [String]
    var Processes: [[String]]
}

/// Docker's container stats JSON (types.StatsJSON), with what this host can
/// read: a value it cannot is left out rather than made up.
struct StatsBody: Encodable {
    struct CPUUsage: Encodable {
        var total_usage: UInt64
    }
    struct CPUStats: Encodable {
        var cpu_usage: CPUUsage
        var system_cpu_usage: UInt64?
        var online_cpus: Int
    }
    struct MemoryStats: Encodable {
        var usage: UInt64?
        var limit: UInt64?
        var stats: [String: UInt64]?
    }
    struct PidsStats: Encodable {
        var current: UInt64?
    }
    struct BlkioEntry: Encodable {
        var major: Int = 0
        var minor: Int = 0
        var op: String
        var value: UInt64
    }
    struct BlkioStats: Encodable {
        var io_service_bytes_recursive: [BlkioEntry]?
    }
    struct Network: Encodable {
        var rx_bytes: UInt64
        var tx_bytes: UInt64
    }

    var read: String
    var preread: String
    var id: String
    var name: String
    var num_procs = 0
    var cpu_stats: CPUStats
    var precpu_stats: CPUStats
    var memory_stats: MemoryStats
    var pids_stats: PidsStats
    var blkio_stats: BlkioStats
    var networks: [String: Network]?

    init(info: ContainerInfo, current: ContainerStats, read: Date, previous: ContainerStats?, preread: Date?) {
        self.read = Self.time(read)
        self.preread = preread.map(Self.time) ?? "0001-01-01T00:00:00Z"
        id = info.id
        name = "/" + info.name
        cpu_stats = Self.cpu(current)
        precpu_stats = previous.map(Self.cpu) ?? CPUStats(cpu_usage: CPUUsage(total_usage: 0), system_cpu_usage: nil, online_cpus: 0)
        // Docker's CLI subtracts inactive_file from usage; the reader has
        // done it already, so none is reported.
        memory_stats = MemoryStats(usage: current.memoryUsage, limit: current.memoryLimit, stats: current.memoryUsage == nil ? nil : [:])
        pids_stats = PidsStats(current: current.pids)
        if let read = current.blockRead, let write = current.blockWrite {
            blkio_stats = BlkioStats(io_service_bytes_recursive: [BlkioEntry(op: "read", value: read), BlkioEntry(op: "write", value: write)])
        } else {
            blkio_stats = BlkioStats(io_service_bytes_recursive: nil)
        }
        if let rx = current.netRx, let tx = current.netTx, rx + tx > 0 {
            networks = ["eth0": Network(rx_bytes: rx, tx_bytes: tx)]
        }
    }

    /// Nanoseconds as the CPU counters Docker reports.
    static func cpu(_ stats: ContainerStats) -> CPUStats {
        CPUStats(cpu_usage: CPUUsage(total_usage: (stats.cpuUsec ?? 0) * 1000),
                 system_cpu_usage: stats.systemUsec.map { $0 * 1000 }, online_cpus: stats.onlineCPUs)
    }

    static func time(_ date: Date) -> String {
        Timestamp(nanoseconds: Int64(date.timeIntervalSince1970 * 1e9)).rfc3339
    }
}

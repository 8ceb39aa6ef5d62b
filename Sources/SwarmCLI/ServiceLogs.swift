import ArgumentParser
import Containers
import FoundationEssentials
import SwarmAPI
import SwarmClient
import Synchronization
import SystemCalls

/// `service logs`: every replica's output from every node, through the
/// manager (`GET /services/{id}/logs`), each line prefixed as Docker's
/// CLI does: `web.2.x7k3abcd1234@node2    | line`.
struct ServiceLogs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logs", abstract: "Fetch the logs of a service or task")
    @Flag(name: .customLong("details"), help: "Show extra details provided to logs") var details = false
    @Flag(name: [.customShort("f"), .customLong("follow")], help: "Follow log output") var follow = false
    @Flag(name: .customLong("no-resolve"), help: "Do not map IDs to Names in output") var noResolve = false
    @Flag(name: .customLong("no-task-ids"), help: "Do not include task IDs in output") var noTaskIDs = false
    @Flag(name: .customLong("no-trunc"), help: "Do not truncate output") var noTrunc = false
    @Flag(name: .customLong("raw"), help: "Do not neatly format logs") var raw = false
    @Option(name: .customLong("since"), help: "Show logs since timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\" for 42 minutes)") var since: String?
    @Option(name: [.customShort("n"), .customLong("tail")], help: "Number of lines to show from the end of the logs") var tail = "all"
    @Flag(name: [.customShort("t"), .customLong("timestamps")], help: "Show timestamps") var timestamps = false
    @Argument(help: "Service or task") var target: String
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        var query = ["stdout": "1", "stderr": "1", "tail": tail]
        if follow { query["follow"] = "1" }
        if timestamps { query["timestamps"] = "1" }
        // The CLI needs each line's task, service and node to prefix it.
        if details || !raw { query["details"] = "1" }
        if let since { query["since"] = try Self.unixTimestamp(since) }
        try await APIClient.with(host: cluster.host) { client in
            let path = APIClient.percentEncode(target)
            var width = 1
            let endpoint: String
            if let service = try await Self.unlessNotFound({ try await client.get(Service.self, "/services/\(path)") }) {
                endpoint = "/services/\(service.id)/logs"
                width = String(service.spec.mode.replicated?.replicas ?? 1).count
            } else if let task = try await Self.unlessNotFound({ try await client.get(SwarmTask.self, "/tasks/\(path)") }) {
                endpoint = "/tasks/\(task.id)/logs"
                width = String(task.slot ?? 0).count
            } else {
                throw RuntimeError.badInput("no such task or service: \(target)")
            }
            let names = try await LogNames(client: client, resolve: !noResolve)
            let writer = LogFrameWriter(raw: raw, timestamps: timestamps, details: details, noTaskIDs: noTaskIDs,
                                        noTrunc: noTrunc, width: width, names: names)
            try await client.stream(endpoint, query: query) { writer.consume($0) }
        }
    }

    /// The object, nil if the daemon says it does not exist; other errors (no daemon) as they are.
    static func unlessNotFound<T>(_ get: () async throws -> T) async throws -> T? {
        do { return try await get() } catch let error as RuntimeError where "\(error)".hasSuffix(" not found") { return nil }
    }

    /// Docker's `--since`: a Unix time as is, an RFC 3339 time, or a
    /// duration back from now ("42m"), as seconds.nanoseconds.
    static func unixTimestamp(_ text: String) throws -> String {
        if Double(text) != nil { return text }
        let nanoseconds: Int64
        if let stamp = Timestamp(rfc3339: text) {
            nanoseconds = stamp.nanoseconds
        } else if let duration = try? Durations.parse(text) {
            nanoseconds = Timestamp.now().nanoseconds - duration
        } else {
            throw RuntimeError.badInput("invalid value for --since: \(text): use a time (2013-01-02T13:23:37Z), a Unix time or a duration (42m)")
        }
        let fraction = String(nanoseconds % 1_000_000_000)
        return "\(nanoseconds / 1_000_000_000)." + String(repeating: "0", count: 9 - fraction.count) + fraction
    }
}

/// Names for the prefixes, fetched once: node hostnames, service names, task slots.
struct LogNames: Sendable {
    var nodes: [String: String] = [:]
    var services: [String: String] = [:]
    var slots: [String: Int] = [:]

    init(client: APIClient, resolve: Bool) async throws {
        for task in try await client.get([SwarmTask].self, "/tasks") { slots[task.id] = task.slot ?? 0 }
        guard resolve else { return }
        for node in try await client.get([Node].self, "/nodes") { nodes[node.id] = node.description.hostname }
        for service in try await client.get([Service].self, "/services") { services[service.id] = service.spec.name }
    }
}

/// Reads Docker's multiplexed stream (8-byte headers: stream, 0, 0, 0,
/// big-endian size) and writes each line to stdout or stderr, prefixed.
final class LogFrameWriter: Sendable {
    let raw: Bool, timestamps: Bool, details: Bool, noTaskIDs: Bool, noTrunc: Bool
    let width: Int
    let names: LogNames
    private let pending = Mutex(StreamFrameReader())

    init(raw: Bool, timestamps: Bool, details: Bool, noTaskIDs: Bool, noTrunc: Bool, width: Int, names: LogNames) {
        self.raw = raw; self.timestamps = timestamps; self.details = details; self.noTaskIDs = noTaskIDs
        self.noTrunc = noTrunc; self.width = width; self.names = names
    }

    func consume(_ bytes: [UInt8]) {
        let frames = pending.withLock { $0.feed(bytes) }
        for frame in frames { writeAll(frame.stream == 2 ? 2 : 1, format(frame.payload)) }
    }

    /// `[timestamp ]details line` → `[timestamp ]web.1.abc…@node    | [details ]line`.
    func format(_ payload: [UInt8]) -> String {
        let text = String(decoding: payload, as: UTF8.self)
        if raw { return text }
        let parts = text.split(separator: " ", maxSplits: timestamps ? 2 : 1, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == (timestamps ? 3 : 2) else { return text }
        var context: [String: String] = [:]
        for pair in parts[timestamps ? 1 : 0].split(separator: ",") {
            let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
            if kv.count == 2 { context[kv[0]] = kv[1] }
        }
        let nodeID = context.removeValue(forKey: "com.docker.swarm.node.id") ?? ""
        let serviceID = context.removeValue(forKey: "com.docker.swarm.service.id") ?? ""
        let taskID = context.removeValue(forKey: "com.docker.swarm.task.id") ?? ""
        let slot = names.slots[taskID] ?? 0
        var name = "\(names.services[serviceID] ?? serviceID).\(slot)"
        if !noTaskIDs { name += "." + (noTrunc ? taskID : String(taskID.prefix(12))) }
        var line = (timestamps ? parts[0] + " " : "") + name + "@" + (names.nodes[nodeID] ?? nodeID)
        line += String(repeating: " ", count: max(0, width - String(slot).count)) + "    | "
        if details { line += context.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",") + " " }
        return line + parts[timestamps ? 2 : 1]
    }
}

import ClusterStore
import HTTPServer
import SwarmAPI

/// `GET /services/{id}/logs`, `GET /tasks/{id}/logs` (Docker's multiplexed
/// stream), and the agents' side of the log broker.
extension APIRouter {
    static let logRoutes: [String: Route] = [
        "GET services/*/logs": { router, call in
            let service = try await router.manager.service(call.ref)
            let tasks = await router.manager.allTasks().filter { $0.serviceID == service.id }
            return try await router.logs(of: tasks, call, following: service.id)
        },
        "GET tasks/*/logs": { router, call in
            try await router.logs(of: [try await router.manager.task(call.ref)], call)
        },
    ]

    static let agentLogRoutes: [String: Route] = [
        "GET agent/logs": { router, call in
            try ok(await router.logBroker.subscriptions(for: call.node!, since: call.query("since").flatMap(UInt64.init)))
        },
        "POST agent/logs/publish": { router, call in
            let publication = try APIJSON.decode(LogPublication.self, from: call.request.body)
            return try ok(LogPublishResponse(cancelled: !(await router.logBroker.publish(from: call.node!, publication))))
        },
    ]

    /// The tasks' logs from the nodes that ran them, as Docker streams
    /// them: frames of `[stream, 0, 0, 0, size (big-endian u32)]` + line.
    func logs(of tasks: [SwarmTask], _ call: Call, following serviceID: String? = nil) async throws -> HTTPResponse {
        let stdout = call.query("stdout").map(Self.isTrue) ?? false, stderr = call.query("stderr").map(Self.isTrue) ?? false
        guard stdout || stderr else { throw APIError.badRequest("Bad parameters: you must choose at least one stream") }
        var tail: Int?
        if let text = call.query("tail"), text != "all", !text.isEmpty {
            // Docker reads a negative or non-numeric tail as all.
            if let n = Int(text), n >= 0 { tail = n }
        }
        var since: Timestamp?
        if let text = call.query("since"), !text.isEmpty, text != "0" {
            guard let seconds = Double(text) else {
                throw APIError.badRequest("invalid value for \"since\": \(text) is not a Unix timestamp (seconds[.nanoseconds])")
            }
            since = Timestamp(nanoseconds: Int64(seconds * 1e9))
        }
        let follow = call.query("follow").map(Self.isTrue) ?? false
        let timestamps = call.query("timestamps").map(Self.isTrue) ?? false
        let details = call.query("details").map(Self.isTrue) ?? false

        let ready = Set(await manager.allNodes().filter { $0.status.state == .ready }.map(\.id))
        var sources: [String: [LogSource]] = [:]
        for task in tasks.sorted(by: { ($0.slot ?? 0, $0.createdAt) < ($1.slot ?? 0, $1.createdAt) }) {
            guard let node = task.nodeID, ready.contains(node), let container = task.status.containerStatus?.containerID else { continue }
            sources[node, default: []].append(LogSource(taskID: task.id, serviceID: task.serviceID, containerID: container))
        }
        let id = await logBroker.open(sources, follow: follow, tail: tail, since: since, stdout: stdout, stderr: stderr)
        // Following a service: tasks that start later are read too (as swarmkit's broker does).
        let known = Set(sources.values.flatMap { $0.map(\.taskID) })
        let watcher = follow ? serviceID.map { serviceID in
            Task { [manager, logBroker] in
                for await event in manager.store.watch(from: await manager.store.index) {
                    guard case .changes(let changes) = event else { continue }
                    for change in changes {
                        guard case .task(let task) = change.object, task.serviceID == serviceID, !known.contains(task.id),
                              let node = task.nodeID, let container = task.status.containerStatus?.containerID else { continue }
                        await logBroker.add(id, node: node, source: LogSource(taskID: task.id, serviceID: serviceID, containerID: container))
                    }
                }
            }
        } : nil
        // Pulled as the client reads: a slow client holds the nodes back instead of filling memory.
        let frames = AsyncStream<[UInt8]>(unfolding: { [logBroker] in
            guard let batch = await logBroker.take(id) else {
                watcher?.cancel()
                return nil
            }
            var bytes: [UInt8] = []
            for line in batch { Self.appendFrame(line, timestamps: timestamps, details: details, to: &bytes) }
            return bytes
        }, onCancel: { [logBroker] in
            watcher?.cancel()
            Task { await logBroker.end(id) }
        })
        return HTTPResponse.stream(200, contentType: "application/vnd.docker.multiplexed-stream", frames)
    }

    static func isTrue(_ text: String) -> Bool { text == "1" || text.lowercased() == "true" }

    /// One line in Docker's multiplexed format; with `details`, the task's
    /// context as the docker CLI parses it (`com.docker.swarm.node.id=…,…`).
    static func appendFrame(_ brokered: BrokeredLine, timestamps: Bool, details: Bool, to bytes: inout [UInt8]) {
        var text = ""
        if timestamps { text += fixedNanoseconds(brokered.line.time) + " " }
        if details {
            text += "com.docker.swarm.node.id=\(brokered.nodeID),com.docker.swarm.service.id=\(brokered.serviceID),com.docker.swarm.task.id=\(brokered.line.taskID) "
        }
        text += brokered.line.line
        bytes += StreamFrame.encode(stream: brokered.line.stream == 2 ? 2 : 1, Array(text.utf8))
    }

    /// Docker's RFC3339NanoFixed: always nine fraction digits, so the
    /// timestamps of a log line up.
    static func fixedNanoseconds(_ time: String) -> String {
        guard let stamp = Timestamp(rfc3339: time) else { return time }
        let seconds = stamp.nanoseconds >= 0 ? stamp.nanoseconds / 1_000_000_000 : (stamp.nanoseconds - 999_999_999) / 1_000_000_000
        let fraction = String(stamp.nanoseconds - seconds * 1_000_000_000)
        let whole = Timestamp(nanoseconds: seconds * 1_000_000_000).rfc3339.dropLast()
        return whole + "." + String(repeating: "0", count: 9 - fraction.count) + fraction + "Z"
    }
}

import HTTPServer
import SwarmAPI

/// `GET /events`: Docker's event stream (one JSON object a line) for the
/// swarm's services and nodes; `since` replays the kept events, `until`
/// ends the stream.
extension APIRouter {
    static let eventRoutes: [String: Route] = [
        "GET events": { router, call in try await router.eventStream(call) },
    ]

    func eventStream(_ call: Call) async throws -> HTTPResponse {
        try call.filters.allow(["type", "event", "scope", "service", "node"])
        let since = try Self.eventTime(call.query("since"), "since")
        let until = try Self.eventTime(call.query("until"), "until")
        let now = Timestamp.now()
        let filters = call.filters
        let services = await manager.allServices(), nodes = await manager.allNodes()
        // Named objects match by ID, name or ID prefix; removed ones by the name their events carry.
        let matches: @Sendable (ClusterEvent) -> Bool = { event in
            filters.exactMatch("type", event.type) && filters.exactMatch("event", event.action) && filters.exactMatch("scope", "swarm")
                && (!filters.contains("service") || (event.type == "service" && filters.matches("service") { value in
                    event.actorID.hasPrefix(value) || event.attributes["name"] == value
                        || services.contains { $0.spec.name == value && $0.id == event.actorID } }))
                && (!filters.contains("node") || (event.type == "node" && filters.matches("node") { value in
                    event.actorID.hasPrefix(value) || event.attributes["name"] == value
                        || nodes.contains { $0.description.hostname == value && $0.id == event.actorID } }))
        }
        let (past, live) = await events.subscribe(since: since)
        let body = AsyncStream<[UInt8]> { continuation in
            let pump = Task {
                for event in past where matches(event) && until.map({ event.timeNano <= $0.nanoseconds }) ?? true {
                    continuation.yield(Array((event.json + "\n").utf8))
                }
                if let until, until <= now {
                    continuation.finish()
                    return
                }
                // Until `until`, or for as long as the client reads.
                let stop = until.map { until in
                    Task {
                        try? await Task.sleep(for: .nanoseconds(until.nanoseconds - Timestamp.now().nanoseconds))
                        continuation.finish()
                    }
                }
                for await event in live where matches(event) {
                    continuation.yield(Array((event.json + "\n").utf8))
                }
                stop?.cancel()
                continuation.finish()
            }
            continuation.onTermination = { _ in pump.cancel() }
        }
        return HTTPResponse.stream(200, contentType: "application/json", body)
    }

    /// Docker's `since`/`until`: Unix seconds with an optional fraction.
    static func eventTime(_ text: String?, _ name: String) throws -> Timestamp? {
        guard let text, !text.isEmpty else { return nil }
        guard let seconds = Double(text) else {
            throw APIError.badRequest("invalid value for \"\(name)\": \(text) is not a Unix timestamp (seconds[.nanoseconds])")
        }
        return Timestamp(nanoseconds: Int64(seconds * 1e9))
    }
}

import CoreMetrics
import HTTPServer
import Logging
import Manager
import NodeAgent
import Prometheus
import SwarmCLI
import SystemCalls

/// The daemon's metrics: one Prometheus registry that every part of the
/// daemon records into (through swift-metrics), served in Prometheus's
/// text format at `/metrics` on `--metrics-addr`.
struct DaemonMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let factory: PrometheusMetricsFactory

    static let apiRequests = "swarm_api_requests_total"
    static let apiLatency = "swarm_api_request_duration_seconds"

    init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        let fast: [Duration] = [.milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
                                .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500),
                                .seconds(5), .seconds(10), .seconds(30)]
        factory.defaultDurationHistogramBuckets = fast
        self.factory = factory
    }

    /// Runs the API's handler and counts the request by route and status code.
    func metered(_ request: HTTPRequest, _ handler: (HTTPRequest) async -> HTTPResponse) async -> HTTPResponse {
        let start = ContinuousClock.now
        let response = await handler(request)
        let route = APIRouter.metricsRoute(request)
        Counter(label: Self.apiRequests, dimensions: [("route", route), ("code", String(response.status))], factory: factory).increment()
        // A long poll or a stream is not a slow request: only answers of known length are timed.
        if case .bytes = response.body, !route.hasPrefix("GET agent/") {
            Timer(label: Self.apiLatency, dimensions: [("route", route)], factory: factory)
                .recordNanoseconds(Int64((ContinuousClock.now - start) / .nanoseconds(1)))
        }
        return response
    }

    /// `/metrics` on a plain-HTTP listener of its own; `refresh` records what is read at scrape time.
    func serve(_ address: String, refresh: (@Sendable () async -> Void)? = nil) async throws -> HTTPServer {
        let (host, port) = try DaemonListenOptions.hostAndPort(address, flag: "metrics-addr")
        let registry = self.registry
        let server = HTTPServer(handler: { request in
            guard request.path == "/metrics" else { return HTTPResponse.text(404, "not found: the metrics are at /metrics\n") }
            guard request.method == "GET" || request.method == "HEAD" else { return HTTPResponse.text(405, "method not allowed\n") }
            await refresh?()
            return HTTPResponse(status: 200, headers: [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")],
                                body: .bytes(registry.emitToBuffer()))
        })
        do {
            try await server.listen(host: host, port: port, tls: nil)
        } catch {
            throw RuntimeError.badInput("cannot serve metrics on \(address): \(error)")
        }
        Logger(label: "swarm.daemon").info("metrics on http://\(host == "0.0.0.0" ? "127.0.0.1" : host):\(port)/metrics")
        return server
    }
}

extension DaemonMetrics {
    static let imagePulls = "swarm_agent_image_pulls_total"

    /// An image source of the agent's, with its pulls counted by source and result.
    func counted(_ source: String, _ pull: @escaping ImageProvider.Source) -> ImageProvider.Source {
        let factory = self.factory
        return { reference in
            do {
                try await pull(reference)
                Counter(label: Self.imagePulls, dimensions: [("source", source), ("result", "pulled")], factory: factory).increment()
            } catch {
                Counter(label: Self.imagePulls, dimensions: [("source", source), ("result", "failed")], factory: factory).increment()
                throw error
            }
        }
    }
}

import ArgumentParser
import FoundationEssentials
import SystemCalls

/// The daemon's optional plain-HTTP listeners, given to `swarm daemon`
/// and passed on by `swarm init` and `swarm join` to the daemon they start.
public struct DaemonListenOptions: ParsableArguments, Sendable {
    public init() {}

    @Option(name: .customLong("visualizer-addr"),
            help: "Serve the visualizer page on a manager at this address (format: [<ip>]:<port>; \"\" for none; remembered by the node) (env SWARM_VISUALIZER_ADDR)")
    var visualizer: String? = ProcessInfo.processInfo.environment["SWARM_VISUALIZER_ADDR"]

    @Option(name: .customLong("metrics-addr"),
            help: "Serve Prometheus metrics at /metrics on this address (format: [<ip>]:<port>; \"\" for none; remembered by the node) (env SWARM_METRICS_ADDR)")
    var metrics: String? = ProcessInfo.processInfo.environment["SWARM_METRICS_ADDR"]

    /// Nil when none (not given, or given empty).
    public var visualizerAddr: String? { (visualizer ?? "").isEmpty ? nil : visualizer }
    public var metricsAddr: String? { (metrics ?? "").isEmpty ? nil : metrics }

    /// A node's daemon keeps the addresses it was last given (in its
    /// node.json), so a restart without the flags serves the same: what is
    /// not given now comes from `config`, and `config` takes what is.
    public mutating func remember(in config: inout NodeConfig) {
        if visualizer == nil { visualizer = config.visualizerAddr } else { config.visualizerAddr = visualizerAddr }
        if metrics == nil { metrics = config.metricsAddr } else { config.metricsAddr = metricsAddr }
    }

    public mutating func validate() throws {
        if let visualizerAddr { _ = try Self.hostAndPort(visualizerAddr, flag: "visualizer-addr") }
        if let metricsAddr { _ = try Self.hostAndPort(metricsAddr, flag: "metrics-addr") }
    }

    /// The arguments that give the same options to `swarm daemon`.
    public var daemonArguments: [String] {
        (visualizerAddr.map { ["--visualizer-addr", $0] } ?? []) + (metricsAddr.map { ["--metrics-addr", $0] } ?? [])
    }

    /// "[ip]:port" → (host, port); a missing host is every address.
    public static func hostAndPort(_ address: String, flag: String) throws -> (host: String, port: Int) {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
              (1...65535).contains(port) else {
            throw RuntimeError.badInput("invalid argument \"\(address)\" for \"--\(flag)\" flag: use [<ip>]:<port>, e.g. 0.0.0.0:8080")
        }
        var host = String(address[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "0.0.0.0" : host, port)
    }
}

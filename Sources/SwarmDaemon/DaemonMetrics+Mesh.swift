import CoreMetrics
import ServiceMesh
import Synchronization

extension DaemonMetrics {
    static let meshConnections = "swarm_mesh_connections_total"

    /// Run before each scrape: the connections this node's published ports
    /// took through the mesh (ingress and host mode), one counter per port,
    /// moved on by what nft's counters added since the last scrape.
    func meshConnections(_ mesh: ServiceMesh) -> @Sendable () async -> Void {
        let reported = Mutex<[PublishedConnections: UInt64]>([:])
        let factory = self.factory
        return {
            for (port, total) in await mesh.publishedConnections() {
                let delta = reported.withLock { seen -> UInt64 in
                    defer { seen[port] = max(seen[port] ?? 0, total) }
                    return total > (seen[port] ?? 0) ? total - (seen[port] ?? 0) : 0
                }
                guard delta > 0 else { continue }
                Counter(label: Self.meshConnections, dimensions: [("port", String(port.port)), ("protocol", port.protocol)], factory: factory)
                    .increment(by: Int64(delta))
            }
        }
    }
}

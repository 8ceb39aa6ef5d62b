import ClusterStore
import HTTPServer
import Logging
import Manager
import SwarmCLI
import SystemCalls
import Visualizer

extension Daemon {
    /// The visualizer on a manager: its board on the store's watch, and its
    /// page and feed on a plain-HTTP listener of their own (read-only: no
    /// route there changes anything, and the API keeps its TLS port).
    static func startVisualizer(_ address: String, store: any ClusterStore) async throws -> (HTTPServer, ClusterBoard) {
        let (host, port) = try DaemonListenOptions.hostAndPort(address, flag: "visualizer-addr")
        let board = ClusterBoard(store: store)
        let routes = VisualizerRoutes(board: board)
        let server = HTTPServer(handler: { await routes.handle($0) })
        do {
            try await server.listen(host: host, port: port, tls: nil)
        } catch {
            throw RuntimeError.badInput("cannot serve the visualizer on \(address): \(error)")
        }
        Logger(label: "swarm.daemon").info("visualizer on http://\(host == "0.0.0.0" ? "127.0.0.1" : host):\(port)/")
        return (server, board)
    }
}

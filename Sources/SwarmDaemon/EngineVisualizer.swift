import Glibc
import HTTPServer
import Logging
import Manager
import SwarmCLI
import SystemCalls
import Visualizer

/// `swarmd visualizer [--engine unix:///var/run/docker.sock] [--listen :8080]`:
/// swarm's visualizer run as a service, the seed's way — its page and feed
/// served from a board built from the Engine API on the mounted socket
/// (`EngineMirror`), not from a manager's store. For the image that
/// examples/login-app/build-images makes; not a `swarm` command.
public enum EngineVisualizer {
    public static let usage = "usage: swarmd visualizer [--engine unix:///var/run/docker.sock] [--listen [IP]:PORT]"

    public static func run(_ arguments: [String]) async -> Int32 {
        var engine = "unix:///var/run/docker.sock", listen = ":8080"
        if arguments.contains("--help") || arguments.contains("-h") {
            print(usage + "\n\nswarm's visualizer page, fed by the Engine API at --engine (a manager's socket), served on --listen.")
            return 0
        }
        var rest = arguments[...]
        while let flag = rest.popFirst() {
            switch (flag, rest.popFirst()) {
            case ("--engine", let value?): engine = value
            case ("--listen", let value?): listen = value
            default:
                printError("swarmd visualizer: unknown or incomplete option \(flag)\n" + usage)
                return 1
            }
        }
        let logger = Logger(label: "swarm.visualizer")
        do {
            let (host, port) = try DaemonListenOptions.hostAndPort(listen, flag: "listen")
            let mirror = EngineMirror()
            let board = ClusterBoard(store: mirror)
            let routes = VisualizerRoutes(board: board)
            let server = HTTPServer(handler: { await routes.handle($0) })
            _ = try await server.listen(host: host, port: port, tls: nil)
            logger.info("visualizer on http://\(host):\(port)/ from \(engine)")
            let source = engine
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await board.run() }
                group.addTask { await mirror.follow(engine: source, logger: logger) }
            }
            // (Also keeps the server alive until here: released earlier, it would stop listening.)
            await server.shutdown()
            return 0
        } catch {
            printError("swarmd visualizer: \(error)")
            return 1
        }
    }

    static func printError(_ line: String) {
        var text = line + "\n"
        text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    }
}

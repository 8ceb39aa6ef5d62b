import HTTPServer
import Manager

/// The visualizer's HTTP side, on its own plain-HTTP listener
/// (`--visualizer-addr`): the page, its script and style, the whole board
/// as JSON (`/state`) and the live feed (`/events`, server-sent events).
public struct VisualizerRoutes: Sendable {
    let board: ClusterBoard
    /// How often an idle feed sends a comment, so that neither the server's
    /// idle timeout nor a proxy closes it.
    let keepAlive: Duration

    public init(board: ClusterBoard, keepAlive: Duration = .seconds(15)) {
        self.board = board
        self.keepAlive = keepAlive
    }

    static let html = Array(PageAssets.html.utf8)
    static let css = Array(PageAssets.css.utf8)
    static let js = Array(PageAssets.js.utf8)

    /// The page's bytes: HTML, style and script, as a browser loads them.
    public static var pageWeight: Int { html.count + css.count + js.count }

    public func handle(_ request: HTTPRequest) async -> HTTPResponse {
        guard request.method == "GET" || request.method == "HEAD" else {
            var response = HTTPResponse.text(405, "method not allowed\n")
            response.headers.append(("Allow", "GET, HEAD"))
            return response
        }
        switch request.path {
        case "/", "/index.html": return Self.asset(Self.html, "text/html; charset=utf-8")
        case "/app.css": return Self.asset(Self.css, "text/css; charset=utf-8")
        case "/app.js": return Self.asset(Self.js, "text/javascript; charset=utf-8")
        case "/state": return HTTPResponse.json(200, await board.state())
        case "/events": return await events()
        default: return HTTPResponse.text(404, "not found\n")
        }
    }

    static func asset(_ bytes: [UInt8], _ type: String) -> HTTPResponse {
        HTTPResponse(status: 200, headers: [("Content-Type", type), ("Cache-Control", "no-cache"),
                                            ("X-Content-Type-Options", "nosniff")], body: .bytes(bytes))
    }

    /// The feed: one `data:` event per board update (the first whole), and
    /// a comment line when idle. Ends when the page goes away.
    func events() async -> HTTPResponse {
        let updates = await board.subscribe()
        let keepAlive = self.keepAlive
        let stream = AsyncStream<[UInt8]> { continuation in
            // EventSource reconnects after this many milliseconds if the feed ends.
            continuation.yield(Array("retry: 1000\n\n".utf8))
            let pump = Task {
                await withTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for await update in updates { continuation.yield(Self.event(update)) }
                    }
                    group.addTask {
                        while (try? await Task.sleep(for: keepAlive)) != nil { continuation.yield(Array(": keep-alive\n\n".utf8)) }
                    }
                    await group.next()
                    group.cancelAll()
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in pump.cancel() }
        }
        return HTTPResponse(status: 200, headers: [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")],
                            body: .stream(stream))
    }

    /// One server-sent event; the JSON has no newline, so one `data:` line.
    static func event(_ json: [UInt8]) -> [UInt8] {
        Array("data: ".utf8) + json + [10, 10]
    }
}

import Foundation
import HTTPServer
import Manager
import Testing
@testable import Visualizer

@Suite struct VisualizerRoutesTests {
    @Test func pageIsSmallSelfContainedAndAccessible() {
        #expect(VisualizerRoutes.pageWeight < 100_000, "page weight \(VisualizerRoutes.pageWeight) bytes")
        let page = PageAssets.html + PageAssets.css + PageAssets.js
        // Nothing from elsewhere: works offline, no CDN.
        #expect(!page.contains("http://") && !page.contains("https://") && !page.contains("//cdn"))
        #expect(PageAssets.html.contains("<html lang=\"en\">") && PageAssets.html.contains("name=\"viewport\""))
        #expect(PageAssets.html.contains("<main") && PageAssets.html.contains("<label>Stack") && PageAssets.html.contains("role=\"status\""))
        // Users' text goes in as text, never as markup.
        #expect(!PageAssets.js.contains("innerHTML"))
    }

    @Test func servesThePageItsFilesAndTheFeed() async throws {
        let cluster = try await BoardFixture()
        try await cluster.caughtUp()
        let routes = VisualizerRoutes(board: cluster.board, keepAlive: .milliseconds(50))
        let page = await routes.handle(HTTPRequest(method: "GET", path: "/"))
        #expect(page.status == 200 && page.header("content-type") == "text/html; charset=utf-8")
        #expect(await routes.handle(HTTPRequest(method: "GET", path: "/app.js")).header("content-type") == "text/javascript; charset=utf-8")
        #expect(await routes.handle(HTTPRequest(method: "GET", path: "/app.css")).status == 200)
        #expect(await routes.handle(HTTPRequest(method: "GET", path: "/nope")).status == 404)
        #expect(await routes.handle(HTTPRequest(method: "POST", path: "/")).status == 405)
        let state = await routes.handle(HTTPRequest(method: "GET", path: "/state"))
        guard case .bytes(let body) = state.body else { Issue.record("no body"); return }
        #expect(try JSONDecoder().decode(BoardUpdate.self, from: Data(body)).nodes.count == 1)

        let events = await routes.handle(HTTPRequest(method: "GET", path: "/events"))
        #expect(events.header("content-type") == "text/event-stream")
        guard case .stream(let stream) = events.body else { Issue.record("not a stream"); return }
        var chunks = stream.makeAsyncIterator()
        #expect(await chunks.next() == Array("retry: 1000\n\n".utf8))
        let first = String(decoding: try #require(await chunks.next()), as: UTF8.self)
        #expect(first.hasPrefix("data: {") && first.hasSuffix("}\n\n") && first.contains("\"full\":true"), "\(first.prefix(300))")
        // Idle: a comment keeps the connection.
        #expect(await chunks.next() == Array(": keep-alive\n\n".utf8))
        _ = try await cluster.createService("web", replicas: 1)
        var sawTask = false
        for _ in 0..<20 {
            guard let chunk = await chunks.next() else { break }
            if String(decoding: chunk, as: UTF8.self).contains("\"serviceID\"") { sawTask = true; break }
        }
        #expect(sawTask)
    }
}

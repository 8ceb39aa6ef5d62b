import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing
@testable import HTTPServer

@Suite("URI parsing")
struct URIParsingTests {
    @Test func queryFollowsGoParseQuery() {
        let q = URIParsing.parseQuery("a=1&a=2&b=x+y%2Bz&c&=v&d=&&e=%zz&f=ok;g=1&h=%E2%9C%93")
        #expect(q["a"] == ["1", "2"])
        #expect(q["b"] == ["x y+z"])
        #expect(q["c"] == [""])
        #expect(q[""] == ["v"])
        #expect(q["d"] == [""])
        #expect(q["e"] == nil)  // bad escape: pair skipped
        #expect(q["f"] == nil)  // semicolon: pair skipped
        #expect(q["h"] == ["✓"])
        #expect(q.count == 6)
    }

    @Test func pathIsDecodedPlusKept() throws {
        let (path, query) = try #require(URIParsing.split("/v1.41/containers/a%20b+c/json?filters=%7B%22a%22%3A1%7D"))
        #expect(path == "/v1.41/containers/a b+c/json")
        #expect(query == ["filters": ["{\"a\":1}"]])
        #expect(URIParsing.split("/bad%2") == nil)
        #expect(URIParsing.split("http://example.com:80/x?y=1")?.path == "/x")
        #expect(URIParsing.split("http://example.com")?.path == "/")
        #expect(URIParsing.split("/p#frag")?.path == "/p")
    }

    @Test func headerLookupIsCaseInsensitive() {
        let r = HTTPRequest(method: "GET", path: "/", headers: [("Content-Type", "a"), ("content-type", "b")])
        #expect(r.header("CONTENT-TYPE") == "a")
        #expect(r.header("content-typ") == nil)
    }
}

@Suite("HTTP over a unix socket")
struct UnixSocketTests {
    @Test func getWithQuery() async throws {
        try await withServer { s, client in
            var request = HTTPClientRequest(url: s.url("/info?filters=%7B%22label%22%3A%5B%22a%3Db%22%5D%7D&all=1&all=true&q=a+b"))
            request.headers.add(name: "X-Registry-Auth", value: "e30=")
            let response = try await client.execute(request, timeout: .seconds(60))
            #expect(response.status == .ok)
            #expect(response.headers.first(name: "content-type") == "application/json")
            let body = try await collect(response)
            #expect(response.headers.first(name: "content-length") == String(body.count))
            let info = try JSONDecoder().decode(RequestInfo.self, from: Data(body))
            #expect(info.method == "GET")
            #expect(info.path == "/info")
            #expect(info.query == ["filters": ["{\"label\":[\"a=b\"]}"], "all": ["1", "true"], "q": ["a b"]])
            #expect(info.isUnixSocket)
            #expect(info.certDER == nil)
            #expect(info.registryAuth == "e30=")
        }
    }

    @Test func postJSONAndLargeBody() async throws {
        try await withServer { s, client in
            var request = HTTPClientRequest(url: s.url("/echo"))
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            let json = Array(#"{"Name":"web","TaskTemplate":{"ContainerSpec":{"Image":"nginx"}}}"#.utf8)
            request.body = .bytes(ByteBuffer(bytes: json))
            let response = try await client.execute(request, timeout: .seconds(60))
            #expect(response.status == .ok)
            #expect(response.headers.first(name: "content-type") == "application/json")
            #expect(try await collect(response) == json)

            // 1 MiB, not a multiple of any chunk size, several times over one kept-alive connection.
            let large = (0..<(1 << 20) + 7).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) }
            for _ in 0..<3 {
                var big = HTTPClientRequest(url: s.url("/echo"))
                big.method = .PUT
                big.body = .bytes(ByteBuffer(bytes: large))
                let bigResponse = try await client.execute(big, timeout: .seconds(60))
                #expect(bigResponse.status == .ok)
                #expect(try await collect(bigResponse) == large)
            }

            // A chunked upload (unknown length) arrives whole too.
            var chunked = HTTPClientRequest(url: s.url("/echo"))
            chunked.method = .POST
            let pieces = stride(from: 0, to: large.count, by: 100_000).map { ByteBuffer(bytes: large[$0..<min($0 + 100_000, large.count)]) }
            chunked.body = .stream(asyncBuffers(pieces), length: .unknown)
            let chunkedResponse = try await client.execute(chunked, timeout: .seconds(60))
            #expect(try await collect(chunkedResponse) == large)
        }
    }

    @Test func bodyOverLimitIs413() async throws {
        try await withServer(maxBodyBytes: 64 << 10) { s, client in
            let big = [UInt8](repeating: 7, count: 1 << 20)
            // Known length: refused from the Content-Length alone.
            var request = HTTPClientRequest(url: s.url("/echo"))
            request.method = .POST
            request.body = .bytes(ByteBuffer(bytes: big))
            let response = try await client.execute(request, timeout: .seconds(60))
            #expect(response.status == .payloadTooLarge)
            #expect(response.headers.first(name: "connection") == "close")
            _ = try await collect(response)

            // Unknown length: refused once the body passes the limit.
            var chunked = HTTPClientRequest(url: s.url("/echo"))
            chunked.method = .POST
            let pieces = (0..<16).map { _ in ByteBuffer(bytes: [UInt8](repeating: 1, count: 64 << 10)) }
            chunked.body = .stream(asyncBuffers(pieces), length: .unknown)
            let chunkedResponse = try await client.execute(chunked, timeout: .seconds(60))
            #expect(chunkedResponse.status == .payloadTooLarge)
            _ = try await collect(chunkedResponse)

            // A client waiting for 100-continue is refused without sending the body.
            let refused = try await rawExchange(
                s.socketPath,
                "PUT /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 10000000\r\n\r\n"
            )
            #expect(refused.hasPrefix("HTTP/1.1 413 Payload Too Large\r\n"), "\(refused)")
            #expect(refused.lowercased().contains("connection: close\r\n"))

            // Exactly at the limit is fine, and the server still serves.
            var fits = HTTPClientRequest(url: s.url("/echo"))
            fits.method = .POST
            fits.body = .bytes(ByteBuffer(bytes: [UInt8](repeating: 3, count: 64 << 10)))
            let fitsResponse = try await client.execute(fits, timeout: .seconds(60))
            #expect(fitsResponse.status == .ok)
            #expect(try await collect(fitsResponse).count == 64 << 10)
        }
    }

    @Test func longPollDoesNotBlockOtherRequests() async throws {
        try await withServer { s, client in
            // The long poll is held until the quick request has its answer:
            // a server that made requests wait behind it would never answer either.
            async let slow: String = {
                let response = try await client.execute(HTTPClientRequest(url: s.url("/hold")), timeout: .seconds(60))
                return String(decoding: try await collect(response), as: UTF8.self)
            }()
            try await withTimeout(60) { await holdStarted.wait() }
            let quick = try await client.execute(HTTPClientRequest(url: s.url("/quick")), timeout: .seconds(60))
            #expect(String(decoding: try await collect(quick), as: UTF8.self) == "quick")
            #expect(!holdReleased.isSet)
            holdReleased.set()
            #expect(try await slow == "released")
        }
    }

    @Test func manyConcurrentSlowHandlers() async throws {
        try await withServer { s, _ in
            // 20 connections whose handlers each wait until all 20 are in:
            // they only get through if the server runs them at the same time.
            try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        try await rawExchange(s.socketPath, "GET /gather?n=20 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    }
                }
                for try await text in group {
                    #expect(text.hasSuffix("\r\n\r\ngathered"))
                }
            }
        }
    }

    @Test func fileBody() async throws {
        try await withServer { s, client in
            let path = s.dir + "/blob"
            let content = (0..<(5 << 20) + 12345).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 13) }
            try Data(content).write(to: URL(fileURLWithPath: path))
            let response = try await client.execute(HTTPClientRequest(url: s.url("/file?p=\(path)")), timeout: .seconds(60))
            #expect(response.status == .ok)
            #expect(response.headers.first(name: "content-length") == String(content.count))
            #expect(response.headers.first(name: "content-type") == "application/octet-stream")
            #expect(try await collect(response) == content)

            var head = HTTPClientRequest(url: s.url("/file?p=\(path)"))
            head.method = .HEAD
            let headResponse = try await client.execute(head, timeout: .seconds(60))
            #expect(headResponse.status == .ok)
            #expect(headResponse.headers.first(name: "content-length") == String(content.count))
            #expect(try await collect(headResponse).isEmpty)

            let missing = try await client.execute(HTTPClientRequest(url: s.url("/file?p=\(s.dir)/nope")), timeout: .seconds(60))
            #expect(missing.status == .notFound)
            _ = try await collect(missing)
        }
    }

    @Test func streamedBodyIsChunked() async throws {
        try await withServer { s, client in
            let response = try await client.execute(HTTPClientRequest(url: s.url("/stream?n=20")), timeout: .seconds(60))
            #expect(response.status == .ok)
            #expect(response.headers.first(name: "transfer-encoding") == "chunked")
            #expect(response.headers.first(name: "content-length") == nil)
            #expect(response.headers.first(name: "content-type") == "application/x-ndjson")
            var pieces = 0
            var all: [UInt8] = []
            for try await piece in response.body {
                pieces += 1
                all += Array(buffer: piece)
            }
            #expect(String(decoding: all, as: UTF8.self) == (0..<20).map { "event \($0)\n" }.joined())
            #expect(pieces > 1)  // arrived as it was produced, not in one piece at the end

            // The connection is reusable after a chunked response.
            let again = try await client.execute(HTTPClientRequest(url: s.url("/quick")), timeout: .seconds(60))
            #expect(try await collect(again) == Array("quick".utf8))
        }
    }

    @Test func clientLeavingEndsStreamAndLongPoll() async throws {
        try await withServer { s, _ in
            // Read the first chunk of an endless stream, then hang up.
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(unixDomainSocketPath: s.socketPath) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
            try await channel.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(string: "GET /forever HTTP/1.1\r\nHost: x\r\n\r\n"))
                var received = ""
                for try await chunk in inbound {
                    received += String(buffer: chunk)
                    if received.contains("hello") { break }
                }
                #expect(received.contains("transfer-encoding: chunked"))
            }
            try await withTimeout(60) { await s.streamTerminated.wait() }

            // A handler waiting for a hung-up client is cancelled.
            let task = Task { try await rawExchange(s.socketPath, "GET /block HTTP/1.1\r\nHost: x\r\n\r\n", timeout: 30) }
            try await withTimeout(60) { await s.longPollStarted.wait() }
            task.cancel()  // rawExchange's timeout group closes its connection
            try await withTimeout(60) { await s.longPollCancelled.wait() }
        }
    }

    @Test func keepAlivePipeliningHeadAndClose() async throws {
        try await withServer { s, _ in
            // Three pipelined requests, the first slow: answers come in order, HEAD has no body,
            // and `Connection: close` ends the connection.
            let text = try await rawExchange(
                s.socketPath,
                "GET /wait?ms=300 HTTP/1.1\r\nHost: x\r\n\r\n"
                    + "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
                    + "HEAD /quick HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            )
            let responses = text.components(separatedBy: "HTTP/1.1 ")
            #expect(responses.count == 4, "\(text)")
            #expect(responses[1].hasPrefix("200 OK") && responses[1].hasSuffix("\r\n\r\nwaited"))
            #expect(responses[2].hasSuffix("\r\n\r\nhello"))
            #expect(responses[3].lowercased().contains("content-length: 5\r\n"))
            #expect(responses[3].lowercased().contains("connection: close\r\n"))
            #expect(responses[3].hasSuffix("\r\n\r\n"))

            // A handler asking to close is honoured; 204 carries no body and no length.
            let closing = try await rawExchange(
                s.socketPath,
                "GET /nocontent HTTP/1.1\r\nHost: x\r\n\r\nGET /close HTTP/1.1\r\nHost: x\r\n\r\nGET /quick HTTP/1.1\r\nHost: x\r\n\r\n"
            )
            #expect(closing.hasPrefix("HTTP/1.1 204 No Content\r\n"))
            #expect(!closing.lowercased().contains("content-length: 0"))
            #expect(closing.hasSuffix("\r\n\r\nbye"), "\(closing)")
            #expect(!closing.contains("quick"))

            // HTTP/1.0 without keep-alive: one answer, then the close.
            let old = try await rawExchange(s.socketPath, "GET /quick HTTP/1.0\r\n\r\n")
            #expect(old.hasPrefix("HTTP/1.0 200 OK\r\n"))
            #expect(old.hasSuffix("\r\n\r\nquick"))

            // Expect: 100-continue gets its interim answer.
            let continued = try await rawExchange(
                s.socketPath,
                "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
            )
            #expect(continued.hasPrefix("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"))
            #expect(continued.hasSuffix("\r\n\r\nok"))
        }
    }

    @Test func malformedRequestGets400AndOnlyThatConnectionCloses() async throws {
        try await withServer { s, client in
            // A kept-alive client connection before and after the bad one.
            let first = try await client.execute(HTTPClientRequest(url: s.url("/quick")), timeout: .seconds(60))
            _ = try await collect(first)

            let bad = try await rawExchange(s.socketPath, "THIS IS NOT HTTP\r\n\r\n")
            #expect(bad.hasPrefix("HTTP/1.1 400 Bad Request\r\n"), "\(bad)")
            let badHeader = try await rawExchange(s.socketPath, "GET / HTTP/1.1\r\nHost x\r\n\r\n")
            #expect(badHeader.hasPrefix("HTTP/1.1 400 Bad Request\r\n"), "\(badHeader)")
            let badEscape = try await rawExchange(s.socketPath, "GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(badEscape.hasPrefix("HTTP/1.1 400 Bad Request\r\n"), "\(badEscape)")

            let second = try await client.execute(HTTPClientRequest(url: s.url("/quick")), timeout: .seconds(60))
            #expect(try await collect(second) == Array("quick".utf8))
        }
    }

    @Test func socketModeStaleFileAndShutdown() async throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/s.sock"
        let server = HTTPServer(handler: { _ in .text(200, "ok") })
        try await server.listen(unixSocket: path, mode: 0o600)
        var st = stat()
        #expect(stat(path, &st) == 0)
        #expect(st.st_mode & 0o777 == 0o600)
        await server.shutdown()
        #expect(access(path, F_OK) != 0)  // removed

        // A stale socket file left by a crash does not stop a new server.
        let crashed = HTTPServer(handler: { _ in .text(200, "ok") })
        try await crashed.listen(unixSocket: path, mode: 0o660)
        let replacement = HTTPServer(handler: { _ in .text(200, "new") })
        try await replacement.listen(unixSocket: path)
        let text = try await rawExchange(path, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(text.hasSuffix("new"))
        await replacement.shutdown()
        await crashed.shutdown()

        // A regular file in the way is an error, not silently removed.
        _ = FileManager.default.createFile(atPath: path, contents: Data("keep".utf8))
        await #expect(throws: (any Error).self) { try await HTTPServer(handler: { _ in .empty(204) }).listen(unixSocket: path) }
        #expect(FileManager.default.contents(atPath: path) == Data("keep".utf8))
    }

    @Test func shutdownCancelsRunningHandlers() async throws {
        let s = try await TestServer()
        let request = Task { try await rawExchange(s.socketPath, "GET /block HTTP/1.1\r\nHost: x\r\n\r\n", timeout: 30) }
        try await withTimeout(60) { await s.longPollStarted.wait() }
        try await withTimeout(60) { await s.stop() }
        #expect(s.longPollCancelled.isSet)
        // The client saw the connection end without an answer.
        let text = try? await request.value
        #expect(text == nil || text == "")
    }
}

import Foundation
import NIOCore
import NIOPosix
import Testing
@testable import HTTPServer

/// Docker's hijacked connections: the head, then raw bytes both ways, the
/// client's half-close as the end of its input.
@Suite("Hijacked connections", .timeLimit(.minutes(1)))
struct HijackTests {
    /// Upper-cases what the client sends; at the client's half-close, says so and ends.
    static func upperCaser(_ request: HTTPRequest) async -> HTTPResponse {
        guard request.path != "/other" else { return .text(404, "no route\n") }
        let prefix = Array("body=\(request.body.count);".utf8)
        return .hijack(request, contentType: "application/vnd.docker.multiplexed-stream") { connection in
            try? await connection.write(prefix)
            for await chunk in connection.input {
                try? await connection.write(Array(String(decoding: chunk, as: UTF8.self).uppercased().utf8))
            }
            try? await connection.write(Array("|eof".utf8))
        }
    }

    /// Runs a raw client against a server with `upperCaser`: `exchange` gets
    /// a reader of what arrived so far and the writer.
    func withRawClient(
        _ exchange: (_ until: (String) async throws -> String, _ send: (String) async throws -> Void, _ closeWrite: () async throws -> Void) async throws -> Void
    ) async throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = HTTPServer(handler: { await Self.upperCaser($0) })
        try await server.listen(unixSocket: dir + "/api.sock")
        defer { Task { await server.shutdown() } }
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .connect(unixDomainSocketPath: dir + "/api.sock") { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
                        wrappingChannelSynchronously: channel,
                        configuration: .init(isOutboundHalfClosureEnabled: true)
                    )
                }
            }
        try await channel.executeThenClose { inbound, outbound in
            var iterator = inbound.makeAsyncIterator()
            var received = ""
            // Reads until `text` is in what arrived (or the end); returns all of it.
            func until(_ text: String) async throws -> String {
                while !received.contains(text), var chunk = try await iterator.next() {
                    received += chunk.readString(length: chunk.readableBytes) ?? ""
                }
                return received
            }
            try await exchange(until, { try await outbound.write(ByteBuffer(string: $0)) }, { outbound.finish() })
        }
        await server.shutdown()
    }

    @Test func upgradeThenRawBytesBothWaysAndHalfClose() async throws {
        try await withRawClient { until, send, closeWrite in
            // Bytes sent right behind the request (before the answer) are not lost.
            try await send("POST /v1.51/exec/x/start HTTP/1.1\r\nHost: api\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
                           + "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}early ")
            let head = "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\n"
                + "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\nbody=2;"
            let first = try await until("EARLY ")
            #expect(first.hasPrefix(head), "\(first)")
            try await send("then more")
            #expect(try await until("THEN MORE").hasSuffix("EARLY THEN MORE"))
            try await closeWrite()
            // The client's write side is closed; the server still answers, then closes.
            let all = try await until("<the end>")
            #expect(all == head + "EARLY THEN MORE|eof")
        }
    }

    @Test func withoutUpgradeTheOlder200RawStream() async throws {
        try await withRawClient { until, send, closeWrite in
            try await send("POST /hijack HTTP/1.1\r\nHost: api\r\nContent-Length: 0\r\n\r\n")
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\nbody=0;"
            #expect(try await until("body=0;") == head)
            try await send("GET / HTTP/1.1\r\n\r\n")
            #expect(try await until("HTTP/1.1\r\n\r\n") == head + "GET / HTTP/1.1\r\n\r\n")
            try await closeWrite()
            #expect(try await until("<the end>") == head + "GET / HTTP/1.1\r\n\r\n|eof")
        }
    }

    @Test func anUpgradeRequestAnsweredPlainlyClosesTheConnection() async throws {
        try await withRawClient { until, send, _ in
            try await send("POST /other HTTP/1.1\r\nHost: api\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n")
            let all = try await until("<the end>")
            #expect(all.hasPrefix("HTTP/1.1 404 Not Found\r\n"))
            #expect(all.lowercased().contains("connection: close\r\n"))
        }
    }
}

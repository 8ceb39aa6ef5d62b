import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import Synchronization
@testable import HTTPServer

struct TestTimeout: Error {}

/// Runs `body`, failing with TestTimeout after `seconds`, so a hung server fails a test instead of the run.
func withTimeout<T: Sendable>(
    _ seconds: Double,
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            throw TestTimeout()
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

func makeTempDir() throws -> String {
    var template = Array("/tmp/swarm-test-http-XXXXXX".utf8CString)
    guard let dir = mkdtemp(&template) else { throw POSIXError(.EIO) }
    return String(cString: dir)
}

/// The host part of an `http+unix://` URL: the socket path, percent-encoded.
func unixURL(_ socketPath: String, _ pathAndQuery: String) -> String {
    let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~".utf8)
    var host = ""
    for byte in socketPath.utf8 {
        if allowed.contains(byte) {
            host.append(Character(UnicodeScalar(byte)))
        } else {
            host += String(format: "%%%02X", byte)
        }
    }
    return "http+unix://\(host)\(pathAndQuery)"
}

/// What /info reports about the request it got.
struct RequestInfo: Codable, Equatable {
    var method: String
    var path: String
    var query: [String: [String]]
    var isUnixSocket: Bool
    var certDER: String?  // base64
    var bodyCount: Int
    var registryAuth: String?
}

/// `/hold`: started, and the test's go-ahead.
let holdStarted = Flag()
let holdReleased = Flag()

/// How many `/gather` handlers have started.
let gathered = Mutex(0)

/// Signals between a test and its handlers.
final class Flag: Sendable {
    private let state = Mutex<(set: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func set() {
        let waiters = state.withLock { state in
            state.set = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    var isSet: Bool { state.withLock { $0.set } }

    func wait() async {
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state in
                if state.set { return true }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }
}

/// A server on a fresh unix socket with the handler the tests use.
final class TestServer: Sendable {
    let dir: String
    let socketPath: String
    let server: HTTPServer
    let longPollStarted = Flag()
    let longPollCancelled = Flag()
    let streamTerminated = Flag()

    init(maxBodyBytes: Int = 64 << 20) async throws {
        dir = try makeTempDir()
        socketPath = dir + "/api.sock"
        let flags = (longPollStarted, longPollCancelled, streamTerminated)
        server = HTTPServer(handler: { request in await testHandler(request, flags: flags) }, maxBodyBytes: maxBodyBytes)
        try await server.listen(unixSocket: socketPath)
    }

    func url(_ pathAndQuery: String) -> String { unixURL(socketPath, pathAndQuery) }

    func stop() async {
        await server.shutdown()
        try? FileManager.default.removeItem(atPath: dir)
    }
}

func testHandler(_ request: HTTPRequest, flags: (started: Flag, cancelled: Flag, terminated: Flag)) async -> HTTPResponse {
    switch request.path {
    case "/info":
        let info = RequestInfo(
            method: request.method,
            path: request.path,
            query: request.query,
            isUnixSocket: request.isUnixSocket,
            certDER: request.peerCertificateDER.map { Data($0).base64EncodedString() },
            bodyCount: request.body.count,
            registryAuth: request.header("x-REGISTRY-auth")
        )
        return .json(200, Array(try! JSONEncoder().encode(info)))
    case "/echo":
        return HTTPResponse(
            status: 200,
            headers: [("Content-Type", request.header("content-type") ?? "application/octet-stream")],
            body: .bytes(request.body)
        )
    case "/wait":
        let ms = request.queryValue("ms").flatMap(Int.init) ?? 2000
        try? await Task.sleep(for: .milliseconds(ms))
        return .text(200, "waited")
    case "/hold":
        // A long poll answered only when the test says so.
        holdStarted.set()
        await holdReleased.wait()
        return .text(200, "released")
    case "/gather":
        // Answers once `n` handlers are in here at the same time: only a
        // server that runs handlers concurrently gets them all through.
        let n = request.queryValue("n").flatMap(Int.init) ?? 2
        gathered.withLock { $0 += 1 }
        for _ in 0..<3000 where gathered.withLock({ $0 }) < n { try? await Task.sleep(for: .milliseconds(10)) }
        return .text(200, gathered.withLock { $0 } >= n ? "gathered" : "alone")
    case "/quick":
        return .text(200, "quick")
    case "/block":
        // Waits until cancelled (client gone or server shut down).
        flags.started.set()
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(60))
        }
        flags.cancelled.set()
        return .text(200, "cancelled")
    case "/file":
        return .file(path: request.queryValue("p") ?? "/nonexistent")
    case "/stream":
        let count = request.queryValue("n").flatMap(Int.init) ?? 5
        let stream = AsyncStream<[UInt8]> { continuation in
            let producer = Task {
                for i in 0..<count {
                    continuation.yield(Array("event \(i)\n".utf8))
                    try? await Task.sleep(for: .milliseconds(20))
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in producer.cancel() }
        }
        return .stream(contentType: "application/x-ndjson", stream)
    case "/forever":
        // Never finishes by itself; the test checks that a client leaving ends it.
        let stream = AsyncStream<[UInt8]> { continuation in
            continuation.yield(Array("hello\n".utf8))
            continuation.onTermination = { _ in flags.terminated.set() }
        }
        return .stream(contentType: "text/plain", stream)
    case "/close":
        return HTTPResponse(status: 200, headers: [("Connection", "close")], body: .bytes(Array("bye".utf8)))
    case "/nocontent":
        return .empty(204)
    default:
        return .text(404, "no route \(request.path)\n")
    }
}

/// Sends raw bytes over the unix socket and reads until the server closes the connection.
func rawExchange(_ socketPath: String, _ request: String, timeout: Double = 60) async throws -> String {
    try await withTimeout(timeout) {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(unixDomainSocketPath: socketPath) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: request))
            var received = ByteBuffer()
            for try await var chunk in inbound {
                received.writeBuffer(&chunk)
            }
            return String(buffer: received)
        }
    }
}

func collect(_ response: HTTPClientResponse, upTo max: Int = 64 << 20) async throws -> [UInt8] {
    Array(buffer: try await response.body.collect(upTo: max))
}

/// An upload body of unknown length, for chunked requests.
func asyncBuffers(_ pieces: [ByteBuffer]) -> AsyncStream<ByteBuffer> {
    AsyncStream { continuation in
        for piece in pieces { continuation.yield(piece) }
        continuation.finish()
    }
}

/// Runs `body` with a fresh server and client, and stops both however `body` ends.
func withServer(
    maxBodyBytes: Int = 64 << 20,
    _ body: (TestServer, HTTPClient) async throws -> Void
) async throws {
    let server = try await TestServer(maxBodyBytes: maxBodyBytes)
    let client = HTTPClient(eventLoopGroupProvider: .singleton)
    do {
        try await body(server, client)
    } catch {
        try? await client.shutdown()
        await server.stop()
        throw error
    }
    try await client.shutdown()
    await server.stop()
}

import NIOCore
import NIOFileSystem
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An HTTP/1.1 server: each connection reads one request at a time, awaits the handler
/// and writes its response before reading the next, so pipelined responses stay in order.
/// Handlers run as Swift tasks, never on an event loop, so a handler that waits minutes
/// (a long poll) holds up only its own connection.
public final class HTTPServer: Sendable {
    public typealias Handler = @Sendable (HTTPRequest) async -> HTTPResponse

    private let handler: Handler
    private let maxBodyBytes: Int
    private let networkIdleTimeout: TimeAmount
    private let group: any EventLoopGroup
    private let listeners = Mutex<[Listener]>([])

    private struct Listener: Sendable {
        var channel: any Channel
        var acceptLoop: Task<Void, Never>
        var unixSocketPath: String?
    }

    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    public init(
        handler: @escaping Handler,
        maxBodyBytes: Int = 64 << 20,
        networkIdleTimeout: TimeAmount = HTTPServer.defaultNetworkIdleTimeout,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.handler = handler
        self.maxBodyBytes = maxBodyBytes
        self.networkIdleTimeout = networkIdleTimeout
        self.group = group
    }

    /// Listens on a unix socket. A stale socket file at `path` is removed first (a
    /// non-socket file there is an error), and the socket gets `mode` once bound.
    public func listen(unixSocket path: String, mode: mode_t = 0o600) async throws {
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            // The docker CLI half-closes an exec's upgraded connection when it
            // has no input to send, and reads the output until the end.
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true) { channel in
                Self.initializeConnection(channel, sslContext: nil)
            }
        // Between bind and chmod the socket has the umask's mode; with the usual 022 no other
        // user can connect (connecting needs write permission), so the window is harmless.
        if chmod(path, mode) != 0 {
            let code = errno
            try? await server.channel.close()
            throw IOError(errnoCode: code, reason: "chmod \(path)")
        }
        start(server, isUnixSocket: true, unixSocketPath: path)
    }

    /// Listens on TCP, with TLS when `tls` is given; returns the bound port (useful with port 0).
    /// Client certificates are whatever `tls.certificateVerification` asks for; the leaf a
    /// client presents reaches the handler as `peerCertificateDER`.
    @discardableResult
    public func listen(host: String, port: Int, tls: TLSConfiguration?) async throws -> Int {
        var sslContext: NIOSSLContext?
        if var tls {
            // This server speaks HTTP/1.1 only: advertising h2 via ALPN would break clients.
            tls.applicationProtocols = ["http/1.1"]
            sslContext = try NIOSSLContext(configuration: tls)
        }
        let context = sslContext
        let idle = networkIdleTimeout
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port) { channel in
                Self.initializeConnection(channel, sslContext: context, idleTimeout: idle)
            }
        start(server, isUnixSocket: false, unixSocketPath: nil)
        return server.channel.localAddress?.port ?? port
    }

    /// Stops listening and closes every connection; handlers still running are cancelled.
    /// Removes the unix socket files this server created.
    public func shutdown() async {
        let all = listeners.withLock { listeners in
            defer { listeners = [] }
            return listeners
        }
        for listener in all {
            listener.channel.close(promise: nil)
            listener.acceptLoop.cancel()
        }
        for listener in all {
            await listener.acceptLoop.value
            if let path = listener.unixSocketPath {
                unlink(path)
            }
        }
    }

    /// A network connection with no byte in or out for this long is closed
    /// (a stalled handshake or an abandoned client must not hold a slot
    /// forever); longer than any long poll the API answers.
    public static let defaultNetworkIdleTimeout = TimeAmount.seconds(120)

    private static func initializeConnection(
        _ channel: any Channel,
        sslContext: NIOSSLContext?,
        idleTimeout: TimeAmount? = nil
    ) -> EventLoopFuture<Connection> {
        channel.eventLoop.makeCompletedFuture {
            let sync = channel.pipeline.syncOperations
            // Here rather than as a child channel option: a child option that fails reaches the
            // listening channel as an error, which ends its accept loop (the port then answers
            // nothing more; seen behind the routing mesh, on its first connection). Failing
            // here costs only this connection.
            try? channel.syncOptions?.setOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            if let idleTimeout {
                try sync.addHandler(IdleStateHandler(allTimeout: idleTimeout))
                try sync.addHandler(CloseWhenIdle())
            }
            if let sslContext {
                try sync.addHandler(NIOSSLServerHandler(context: sslContext))
            }
            // Pipelining assistance holds back a pipelined request until the previous response
            // ended; error handling answers unparsable requests with 400 and closes.
            // An upgrade configuration without upgraders: no upgrade happens in the
            // pipeline, but the decoder forwards what follows an upgrading request
            // once removed, which a hijacked connection (HijackedConnection.swift) needs.
            try sync.configureHTTPServerPipeline(
                withPipeliningAssistance: true,
                withServerUpgrade: (upgraders: [], completionHandler: { _ in }),
                withErrorHandling: true
            )
            return try Connection(wrappingChannelSynchronously: channel)
        }
    }

    private func start(_ server: NIOAsyncChannel<Connection, Never>, isUnixSocket: Bool, unixSocketPath: String?) {
        let task = Task<Void, Never> {
            // Ends when the listening channel closes; accept errors are retried by NIO itself.
            try? await server.executeThenClose { inbound in
                try await withThrowingDiscardingTaskGroup { group in
                    for try await connection in inbound {
                        group.addTask {
                            await self.serve(connection, isUnixSocket: isUnixSocket)
                        }
                    }
                }
            }
        }
        listeners.withLock {
            $0.append(Listener(channel: server.channel, acceptLoop: task, unixSocketPath: unixSocketPath))
        }
    }

    /// Runs one connection. When the client goes away (the channel closes) the request task is
    /// cancelled, so a long poll or stream learns of it; when this task is cancelled (shutdown)
    /// the channel is closed, which ends everything that waits on it.
    private func serve(_ connection: Connection, isUnixSocket: Bool) async {
        let channel = connection.channel
        await withTaskCancellationHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    try? await channel.closeFuture.get()
                }
                group.addTask {
                    try? await connection.executeThenClose { inbound, outbound in
                        var session = Session(
                            server: self,
                            channel: channel,
                            outbound: outbound,
                            isUnixSocket: isUnixSocket
                        )
                        var requests = inbound.makeAsyncIterator()
                        try await session.run(&requests)
                    }
                }
                await group.next()
                group.cancelAll()
            }
        } onCancel: {
            channel.close(promise: nil)
        }
    }

    /// The per-connection request loop.
    private struct Session {
        let server: HTTPServer
        let channel: any Channel
        let outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>
        let isUnixSocket: Bool
        /// Read once, after the first request arrived (so after the TLS handshake).
        var peerCertificate: [UInt8]?? = nil

        mutating func run(_ requests: inout NIOAsyncChannelInboundStream<HTTPServerRequestPart>.AsyncIterator) async throws {
            while let part = try await requests.next() {
                guard case .head(let head) = part else {
                    // Body or end without a head cannot come from the decoder; give up on the connection.
                    return
                }
                let keepGoing = try await handleRequest(head, &requests)
                if !keepGoing { return }
            }
        }

        /// Reads the body, calls the handler, writes the response. False when the connection must close.
        mutating func handleRequest(
            _ head: HTTPRequestHead,
            _ requests: inout NIOAsyncChannelInboundStream<HTTPServerRequestPart>.AsyncIterator
        ) async throws -> Bool {
            let max = server.maxBodyBytes
            let expectsContinue = head.headers.first(name: "expect")?.lowercased() == "100-continue"
            let length = head.headers.first(name: "content-length").flatMap(Int.init)
            if let length, length > max {
                if expectsContinue {
                    // The client waits for our word before sending the body: refuse right away.
                    _ = try await finish(head, Self.tooLarge, close: true)
                } else {
                    try await rejectTooLarge(head, &requests)
                }
                return false
            }
            if expectsContinue {
                // curl waits a second for this before sending a large body.
                try await outbound.write(.head(HTTPResponseHead(version: head.version, status: .continue)))
            }
            var body = channel.allocator.buffer(capacity: length ?? 0)
            readBody: while true {
                switch try await requests.next() {
                case .body(var chunk):
                    if body.readableBytes + chunk.readableBytes > max {
                        try await rejectTooLarge(head, &requests)
                        return false
                    }
                    body.writeBuffer(&chunk)
                case .end:
                    break readBody
                case .head, nil:
                    // A new head before this request ended cannot come from the decoder;
                    // nil means the client went away mid-body.
                    return false
                }
            }

            guard let (path, query) = URIParsing.split(head.uri) else {
                _ = try await finish(head, HTTPResponse.text(400, "invalid URL escape in path\n"), close: true)
                return false
            }
            if peerCertificate == nil {
                peerCertificate = .some(isUnixSocket ? nil : try? await channel.nioSSL_peerCertificate().get()?.toDERBytes())
            }
            let request = HTTPRequest(
                method: head.method.rawValue,
                path: path,
                query: query,
                headers: head.headers.map { ($0.name, $0.value) },
                body: Array(body.readableBytesView),
                peerCertificateDER: peerCertificate ?? nil,
                isUnixSocket: isUnixSocket,
                uri: head.uri
            )
            let response = await server.handler(request)
            if case .hijack(let run) = response.body {
                let input = try await HTTPServer.hijack(channel)
                try await channel.writeAndFlush(ByteBuffer(bytes: HTTPServer.rawHead(response)))
                await run(HijackedConnection(input: input, channel: channel))
                return false
            }
            // After a request that asked to upgrade the decoder reads no more requests.
            let upgradeAsked = head.headers.first(name: "upgrade") != nil
            let close =
                upgradeAsked
                || !head.isKeepAlive
                || response.header("connection").map { $0.lowercased().contains("close") } == true
            return try await finish(head, response, close: close)
        }

        static let tooLarge = HTTPResponse.text(413, "request body too large\n")

        /// Reads and drops the rest of the body, then answers 413 and closes. Answering while the
        /// client still uploads would be quicker, but clients that write the whole body before
        /// reading (AsyncHTTPClient with a byte body) then fail with a closed connection instead
        /// of seeing the 413, and closing with unread data makes the kernel reset the connection.
        /// The dropping is bounded in time; past that the client gets the 413 as it is.
        func rejectTooLarge(
            _ head: HTTPRequestHead,
            _ requests: inout NIOAsyncChannelInboundStream<HTTPServerRequestPart>.AsyncIterator
        ) async throws {
            let channel = self.channel
            // Generous: on a loaded machine a 1 MB upload over a unix socket can take seconds.
            let deadline = ContinuousClock.now + .seconds(30)
            // A client that stops sending altogether is cut off a little after the deadline.
            let backstop = channel.eventLoop.scheduleTask(in: .seconds(35)) { channel.close(promise: nil) }
            defer { backstop.cancel() }
            drain: while ContinuousClock.now < deadline {
                switch try await requests.next() {
                case .body: continue
                case .end: break drain
                case .head, nil: return
                }
            }
            _ = try await finish(head, Self.tooLarge, close: true)
        }

        /// Writes the response. Returns whether the connection stays open.
        func finish(_ head: HTTPRequestHead, _ response: HTTPResponse, close requestedClose: Bool) async throws -> Bool {
            var close = requestedClose
            var headers = HTTPHeaders(response.headers)
            let sendBody = head.method != .HEAD
            func writeHead() async throws {
                if close {
                    headers.replaceOrAdd(name: "connection", value: "close")
                } else if head.version < .http1_1 {
                    // An HTTP/1.0 client asked for keep-alive; confirm it, or it would wait for the close.
                    headers.replaceOrAdd(name: "connection", value: "keep-alive")
                }
                let status = HTTPResponseStatus(statusCode: response.status)
                try await outbound.write(.head(HTTPResponseHead(version: head.version, status: status, headers: headers)))
            }

            switch response.body {
            case .bytes(let bytes):
                headers.replaceOrAdd(name: "content-length", value: String(bytes.count))
                try await writeHead()
                if sendBody && !bytes.isEmpty {
                    try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: bytes))))
                }

            case .file(let path):
                let file: ReadFileHandle
                do {
                    file = try await FileSystem.shared.openFile(forReadingAt: FilePath(path))
                } catch let error as FileSystemError where error.code == .notFound {
                    return try await finish(head, HTTPResponse.text(404, "file not found\n"), close: close)
                } catch {
                    return try await finish(head, HTTPResponse.text(500, "cannot open file\n"), close: close)
                }
                do {
                    let info = try await file.info()
                    guard info.type == .regular else {
                        try? await file.close()
                        return try await finish(head, HTTPResponse.text(500, "not a regular file\n"), close: close)
                    }
                    headers.replaceOrAdd(name: "content-length", value: String(info.size))
                    try await writeHead()
                    if sendBody {
                        var sent: Int64 = 0
                        for try await chunk in file.readChunks(in: 0..<info.size, chunkLength: .kibibytes(256)) {
                            sent += Int64(chunk.readableBytes)
                            try await outbound.write(.body(.byteBuffer(chunk)))
                        }
                        // The file shrank while being sent: the client can only tell by the close.
                        if sent != info.size { throw FileShrankError() }
                    }
                    try? await file.close()
                } catch {
                    try? await file.close()
                    throw error
                }

            case .hijack:
                // Handled before finish; a hijack here is a handler's mistake.
                return try await finish(head, HTTPResponse.text(500, "hijack answered where it cannot be\n"), close: true)

            case .stream(let stream):
                if headers.first(name: "content-length") == nil && head.version < .http1_1 {
                    // No chunked encoding before HTTP/1.1: the end of the body is the close.
                    close = true
                }
                try await writeHead()
                if sendBody {
                    for await chunk in stream where !chunk.isEmpty {
                        try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: chunk))))
                    }
                    // The stream ends early when this task is cancelled, i.e. the client left.
                    try Task.checkCancellation()
                }
            }

            if close {
                // Written on the channel itself so that we can wait until it reached the socket:
                // closing right after the async writer accepted it could drop what NIO still buffers.
                try await channel.writeAndFlush(HTTPServerResponsePart.end(nil))
            } else {
                try await outbound.write(.end(nil))
            }
            return !close
        }
    }
}

private struct FileShrankError: Error {}

extension HTTPVersion {
    fileprivate static func < (lhs: HTTPVersion, rhs: HTTPVersion) -> Bool {
        (lhs.major, lhs.minor) < (rhs.major, rhs.minor)
    }
}

/// Closes the connection when IdleStateHandler says it went quiet.
final class CloseWhenIdle: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}

import NIOCore
import NIOHTTP1

/// The raw byte stream of a connection whose HTTP response head was sent
/// (Docker's hijack: `101 UPGRADED` with `Upgrade: tcp`, or the older `200`
/// with `application/vnd.docker.raw-stream`). HTTP is over on it: what the
/// client sends arrives in `input`, what the handler writes goes out as is.
public struct HijackedConnection: Sendable {
    /// The client's bytes; ends when the client closes its write side
    /// (half-close, e.g. stdin's end) or the connection.
    public let input: AsyncStream<[UInt8]>
    let channel: any Channel

    public func write(_ bytes: [UInt8]) async throws {
        guard !bytes.isEmpty else { return }
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    /// Resolves when the connection is closed (by the client, or the end).
    public func waitForClose() async {
        try? await channel.closeFuture.get()
    }
}

extension HTTPResponse {
    /// Docker's answer to a hijacking request: `101 UPGRADED` when the client
    /// asked to upgrade (`Upgrade: tcp`), else the older `200 OK`, which Docker
    /// always sends as a raw stream; then `run` has the connection. The
    /// connection closes when `run` returns.
    public static func hijack(
        _ request: HTTPRequest,
        contentType: String = "application/vnd.docker.raw-stream",
        _ run: @escaping @Sendable (HijackedConnection) async -> Void
    ) -> HTTPResponse {
        if request.header("upgrade") != nil {
            return HTTPResponse(status: 101,
                                headers: [("Content-Type", contentType), ("Connection", "Upgrade"), ("Upgrade", "tcp")],
                                body: .hijack(run))
        }
        return HTTPResponse(status: 200, headers: [("Content-Type", "application/vnd.docker.raw-stream")], body: .hijack(run))
    }
}

/// Takes the place of the HTTP handlers once a connection is hijacked: the
/// bytes read go to the stream instead of the request decoder. InboundIn is
/// Any so that an HTTP part the decoder still had (a client that pipelined
/// a request after a hijacking one) is dropped rather than trapping.
final class HijackTap: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = Any
    let continuation: AsyncStream<[UInt8]>.Continuation

    init(_ continuation: AsyncStream<[UInt8]>.Continuation) {
        self.continuation = continuation
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case let io as IOData:
            if case .byteBuffer(let buffer) = io { continuation.yield(Array(buffer.readableBytesView)) }
        case let buffer as ByteBuffer:
            continuation.yield(Array(buffer.readableBytesView))
        default:
            break
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            continuation.finish()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        continuation.finish()
        context.fireChannelInactive()
    }
}

extension HTTPServer {
    /// Puts the tap in place of the HTTP handlers (on the event loop, so no
    /// byte slips between). Bytes the decoder held past the request reach
    /// the tap as it is removed (it forwards leftovers).
    static func hijack(_ channel: any Channel) async throws -> AsyncStream<[UInt8]> {
        let (stream, continuation) = AsyncStream<[UInt8]>.makeStream()
        try await channel.eventLoop.submit {
            let sync = channel.pipeline.syncOperations
            let errors = try sync.context(handlerType: HTTPServerProtocolErrorHandler.self)
            try sync.addHandler(HijackTap(continuation), position: .after(errors.handler))
            var removals: [EventLoopFuture<Void>] = []
            func remove<H: RemovableChannelHandler>(_ type: H.Type) {
                if let context = try? sync.context(handlerType: type) {
                    let promise = channel.eventLoop.makePromise(of: Void.self)
                    sync.removeHandler(context: context, promise: promise)
                    removals.append(promise.futureResult)
                }
            }
            remove(HTTPServerProtocolErrorHandler.self)
            remove(NIOHTTPResponseHeadersValidator.self)
            remove(HTTPResponseEncoder.self)
            // The pipelining handler first (it lets the reads it held go on, and
            // would take the decoder's leftover bytes for HTTP parts), then the
            // decoder, whose leftovers reach the tap.
            remove(HTTPServerPipelineHandler.self)
            remove(ByteToMessageHandler<HTTPRequestDecoder>.self)
            return EventLoopFuture.andAllSucceed(removals, on: channel.eventLoop)
        }.get().get()
        return stream
    }

    /// The response head as Docker writes it on a hijacked connection.
    static func rawHead(_ response: HTTPResponse) -> [UInt8] {
        let reason = response.status == 101 ? "UPGRADED" : HTTPResponseStatus(statusCode: response.status).reasonPhrase
        var text = "HTTP/1.1 \(response.status) \(reason)\r\n"
        for (name, value) in response.headers { text += "\(name): \(value)\r\n" }
        return Array((text + "\r\n").utf8)
    }
}

import Glibc
import NIOCore
import NIOPosix
import Synchronization

/// One task's zone: swapped by the mesh at each update, read by its server at
/// each query (so the next query after an update sees the new tasks).
final class DNSZoneBox: Sendable {
    private let zone: Mutex<DNSZone>
    init(_ zone: DNSZone) { self.zone = Mutex(zone) }
    func set(_ zone: DNSZone) { self.zone.withLock { $0 = zone } }
    var current: DNSZone { zone.withLock { $0 } }
}

/// The embedded DNS server of one task: a UDP socket bound to 127.0.0.11:53
/// inside the task's namespace, served by the agent's event loops.
enum DNSServer {
    static let address = "127.0.0.11"

    static func start(namespacePath: String, zone: DNSZoneBox, forwarder: DNSForwarder, group: any EventLoopGroup) async throws -> any Channel {
        let fd = try udpSocket(in: namespacePath, address: address, port: 53)
        return try await DatagramBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(DNSServerHandler(zone: zone, forwarder: forwarder))
                }
            }
            .withBoundSocket(fd).get()
    }
}

final class DNSServerHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    let zone: DNSZoneBox
    let forwarder: DNSForwarder

    init(zone: DNSZoneBox, forwarder: DNSForwarder) { self.zone = zone; self.forwarder = forwarder }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let bytes = Array(envelope.data.readableBytesView), client = envelope.remoteAddress, channel = context.channel
        let query: DNSMessage
        do { query = try DNSMessage(parsing: bytes) } catch {
            guard let id = DNSMessage.id(of: bytes), bytes.count >= 12, bytes[2] & 0x80 == 0 else { return }
            Self.send(DNSMessage(id: id, flags: DNSMessage.response | DNSMessage.ResponseCode.formatError.rawValue).encoded(), to: client, on: channel)
            return
        }
        switch zone.current.answer(query) {
        case .ignore: return
        case .reply(let message): Self.send(message.encoded(), to: client, on: channel)
        case .forward:
            forwarder.forward(bytes, on: context.eventLoop).whenComplete { result in
                switch result {
                case .success(let reply): Self.send(reply, to: client, on: channel)
                case .failure:
                    let flags = DNSMessage.response | (query.flags & DNSMessage.recursionDesired) | DNSMessage.recursionAvailable
                        | DNSMessage.ResponseCode.serverFailure.rawValue
                    Self.send(DNSMessage(id: query.id, flags: flags, questions: query.questions).encoded(), to: client, on: channel)
                }
            }
        }
    }

    static func send(_ bytes: [UInt8], to client: SocketAddress, on channel: any Channel) {
        channel.writeAndFlush(AddressedEnvelope(remoteAddress: client, data: ByteBuffer(bytes: bytes)), promise: nil)
    }
}

/// Sends queries that are not the mesh's to the node's resolvers, from the
/// node's namespace (so a resolver on the node's loopback works too), one
/// socket per query, each resolver in turn until one answers.
struct DNSForwarder: Sendable {
    var resolvers: [SocketAddress]
    /// Where the sockets are opened; nil: the agent's own namespace.
    var namespacePath: String?
    var timeout: TimeAmount = .seconds(2)

    /// The nameservers of a resolv.conf (127.0.0.11 left out: that is us).
    static func resolvers(fromResolvConf text: String) -> [SocketAddress] {
        text.split(separator: "\n").compactMap { line -> SocketAddress? in
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard words.count >= 2, words[0] == "nameserver", words[1] != Substring(DNSServer.address) else { return nil }
            return try? SocketAddress(ipAddress: String(words[1]), port: 53)
        }
    }

    func forward(_ query: [UInt8], on loop: any EventLoop) -> EventLoopFuture<[UInt8]> {
        @Sendable func attempt(_ index: Int) -> EventLoopFuture<[UInt8]> {
            guard index < resolvers.count else { return loop.makeFailedFuture(MeshError.dns("no resolver answered")) }
            return ask(resolvers[index], query, on: loop).flatMapError { _ in attempt(index + 1) }
        }
        return attempt(0)
    }

    private func ask(_ resolver: SocketAddress, _ query: [UInt8], on loop: any EventLoop) -> EventLoopFuture<[UInt8]> {
        let fd: Int32
        do {
            fd = try udpSocket(in: namespacePath, address: resolver.protocol == .inet6 ? "::" : "0.0.0.0", port: 0)
        } catch { return loop.makeFailedFuture(error) }
        let promise = loop.makePromise(of: [UInt8].self), id = DNSMessage.id(of: query), timeout = self.timeout
        DatagramBootstrap(group: loop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ForwardedReplyHandler(id: id, promise: promise))
                }
            }
            .withBoundSocket(fd)
            .whenComplete { result in
                switch result {
                case .failure(let error): promise.fail(error)
                case .success(let channel):
                    let timer = loop.scheduleTask(in: timeout) { promise.fail(MeshError.dns("\(resolver) did not answer")) }
                    promise.futureResult.whenComplete { _ in
                        timer.cancel()
                        channel.close(promise: nil)
                    }
                    channel.writeAndFlush(AddressedEnvelope(remoteAddress: resolver, data: ByteBuffer(bytes: query)), promise: nil)
                }
            }
        return promise.futureResult
    }
}

/// The resolver's answer to one forwarded query (matched by id).
final class ForwardedReplyHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let id: UInt16?
    let promise: EventLoopPromise<[UInt8]>

    init(id: UInt16?, promise: EventLoopPromise<[UInt8]>) { self.id = id; self.promise = promise }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = Array(unwrapInboundIn(data).data.readableBytesView)
        if DNSMessage.id(of: bytes) == id { promise.succeed(bytes) }
    }
}

/// A non-blocking UDP socket bound to `address`:`port`, opened inside the
/// network namespace at `namespacePath` (it stays there whichever thread uses it).
func udpSocket(in namespacePath: String?, address: String, port: UInt16) throws -> Int32 {
    let open = { () throws -> Int32 in
        let family = address.contains(":") ? AF_INET6 : AF_INET
        let fd = socket(family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw MeshError.dns("socket: " + String(cString: strerror(errno))) }
        do {
            let bound = try SocketAddress(ipAddress: address, port: Int(port)).withSockAddr { bind(fd, $0, socklen_t($1)) }
            guard bound == 0 else { throw MeshError.dns("bind \(address):\(port): " + String(cString: strerror(errno))) }
        } catch {
            close(fd)
            throw error
        }
        return fd
    }
    guard let namespacePath else { return try open() }
    return try networkNamespace(at: namespacePath).run(open)
}

import Glibc
import NIOCore
import NIOPosix

/// DNS over TCP on 127.0.0.11:53 (RFC 1035 §4.2.2: each message behind its
/// two-byte length), for answers that do not fit a datagram and for
/// resolvers that ask over TCP. Forwarded queries still go to the node's
/// resolvers over UDP.
extension DNSServer {
    static func startTCP(namespacePath: String, zone: DNSZoneBox, forwarder: DNSForwarder, group: any EventLoopGroup) async throws -> any Channel {
        let fd = try tcpListener(in: namespacePath, address: address, port: 53)
        return try await ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(DNSLengthPrefixDecoder()))
                    try channel.pipeline.syncOperations.addHandler(DNSStreamHandler(zone: zone, forwarder: forwarder))
                }
            }
            .withBoundSocket(fd).get()
    }
}

/// One message per two-byte length prefix.
struct DNSLengthPrefixDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt16.self),
              buffer.readableBytes >= 2 + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 2)
        context.fireChannelRead(wrapInboundOut(buffer.readSlice(length: Int(length))!))
        return .continue
    }
}

final class DNSStreamHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let zone: DNSZoneBox
    let forwarder: DNSForwarder

    init(zone: DNSZoneBox, forwarder: DNSForwarder) { self.zone = zone; self.forwarder = forwarder }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = Array(unwrapInboundIn(data).readableBytesView), channel = context.channel
        guard let query = try? DNSMessage(parsing: bytes) else {
            channel.close(promise: nil)
            return
        }
        // Over TCP there is no datagram limit: every address goes in the answer.
        switch zone.current.answer(query, sizeLimit: Int(UInt16.max)) {
        case .ignore: return
        case .reply(let message): Self.send(message.encoded(), on: channel)
        case .forward:
            forwarder.forward(bytes, on: context.eventLoop).whenComplete { result in
                switch result {
                case .success(let reply): Self.send(reply, on: channel)
                case .failure: channel.close(promise: nil)
                }
            }
        }
    }

    static func send(_ bytes: [UInt8], on channel: any Channel) {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt16(bytes.count))
        buffer.writeBytes(bytes)
        channel.writeAndFlush(buffer, promise: nil)
    }
}

/// A listening TCP socket on `address`:`port`, opened inside the namespace at `namespacePath`.
func tcpListener(in namespacePath: String, address: String, port: UInt16) throws -> Int32 {
    try networkNamespace(at: namespacePath).run {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw MeshError.dns("socket: " + String(cString: strerror(errno))) }
        do {
            var on: Int32 = 1
            _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
            let bound = try SocketAddress(ipAddress: address, port: Int(port)).withSockAddr { bind(fd, $0, socklen_t($1)) }
            guard bound == 0, listen(fd, 128) == 0 else {
                throw MeshError.dns("listen \(address):\(port)/tcp: " + String(cString: strerror(errno)))
            }
        } catch {
            close(fd)
            throw error
        }
        return fd
    }
}

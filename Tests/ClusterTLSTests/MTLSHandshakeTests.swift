import ClusterTLS
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import Testing

/// Real TLS handshakes on 127.0.0.1 between the configurations a manager and
/// its clients use.
struct MTLSHandshakeTests {
    let ca: RootCA
    let manager: NodeTLSMaterial

    init() throws {
        ca = try RootCA.create()
        manager = try issueNode(ca, role: .manager, ipAddresses: ["127.0.0.1"])
    }

    @Test func nodeWithAClusterCertificateIsIdentifiedByTheManager() async throws {
        let server = try await WhoAmIServer.start(ClusterTLSConfiguration.server(manager))
        defer { server.stop() }
        let worker = try issueNode(ca, role: .worker)
        let id = try NodeIdentity(certificatePEM: worker.certificatePEM)
        let expected = "\(id.nodeID) swarm-worker cluster1"

        let byName = try await ask(server.port, ClusterTLSConfiguration.client(worker), serverHostname: ClusterTLSConfiguration.managerServerName)
        #expect(byName == expected)
        // Without a name, NIOSSL checks the address dialed against the IP SANs.
        let byAddress = try await ask(server.port, ClusterTLSConfiguration.client(worker), serverHostname: nil)
        #expect(byAddress == expected)
    }

    @Test func certificateFromAnotherCAIsRefused() async throws {
        let server = try await WhoAmIServer.start(ClusterTLSConfiguration.server(manager))
        defer { server.stop() }
        // It trusts our CA, so it accepts the server, but its own certificate is foreign.
        var foreign = try issueNode(RootCA.create(), role: .manager)
        foreign.caCertificatePEM = ca.certificatePEM
        let answer = try? await ask(server.port, ClusterTLSConfiguration.client(foreign), serverHostname: ClusterTLSConfiguration.managerServerName)
        #expect(answer == nil || answer == "", "the server answered \(answer ?? "")")
    }

    @Test func joiningNodeWithoutACertificateGetsInAnonymously() async throws {
        let server = try await WhoAmIServer.start(ClusterTLSConfiguration.server(manager))
        defer { server.stop() }
        let bootstrap = try await ask(server.port, ClusterTLSConfiguration.bootstrapClient(), serverHostname: nil)
        #expect(bootstrap == "anonymous")
        let joining = try await ask(server.port, ClusterTLSConfiguration.joiningClient(caCertificatePEM: ca.certificatePEM), serverHostname: ClusterTLSConfiguration.managerServerName)
        #expect(joining == "anonymous")
        // A joining node that fetched another CA does not trust this manager.
        let misled = try? await ask(server.port, ClusterTLSConfiguration.joiningClient(caCertificatePEM: RootCA.create().certificatePEM), serverHostname: ClusterTLSConfiguration.managerServerName)
        #expect(misled == nil)
    }

    @Test func workerCannotPoseAsAManager() async throws {
        let impostor = try issueNode(ca, role: .worker)
        let server = try await WhoAmIServer.start(ClusterTLSConfiguration.server(impostor))
        defer { server.stop() }
        let client = try issueNode(ca, role: .worker)
        let refused = try? await ask(server.port, ClusterTLSConfiguration.client(client), serverHostname: ClusterTLSConfiguration.managerServerName)
        #expect(refused == nil)
        // Only a client that does not check the name accepts it.
        let lax = try await ask(server.port, ClusterTLSConfiguration.client(client, verifyManagerName: false), serverHostname: ClusterTLSConfiguration.managerServerName)
        #expect(lax.hasSuffix("swarm-worker cluster1"))
    }
}

/// Answers each connection, once its handshake is done, with whom the
/// client's certificate names ("anonymous" without one), then closes.
struct WhoAmIServer {
    let channel: Channel
    var port: Int { channel.localAddress!.port! }

    static func start(_ configuration: TLSConfiguration) async throws -> WhoAmIServer {
        let context = try NIOSSLContext(configuration: configuration)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    try channel.pipeline.syncOperations.addHandler(WhoAmIHandler())
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return WhoAmIServer(channel: channel)
    }

    func stop() { channel.close(promise: nil) }
}

final class WhoAmIHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent {
            let answer: String
            do {
                let tls = try context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self)
                answer = try NodeIdentity.peer(of: tls).map { "\($0.nodeID) \($0.role.rawValue) \($0.clusterID)" } ?? "anonymous"
            } catch {
                answer = "error: \(error)"
            }
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: answer)), promise: nil)
            channel.eventLoop.execute { channel.close(promise: nil) }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

/// Everything the server sent before closing; throws if TLS failed.
func ask(_ port: Int, _ configuration: TLSConfiguration, serverHostname: String?) async throws -> String {
    let context = try NIOSSLContext(configuration: configuration)
    let group = MultiThreadedEventLoopGroup.singleton
    let promise = group.next().makePromise(of: String.self)
    do {
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: serverHostname))
                    try channel.pipeline.syncOperations.addHandler(ResponseCollector(promise: promise))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        // A bound on the wait, should a peer hang.
        channel.eventLoop.scheduleTask(in: .seconds(10)) { channel.close(promise: nil) }
    } catch {
        promise.fail(error)
    }
    return try await promise.futureResult.get()
}

final class ResponseCollector: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let promise: EventLoopPromise<String>
    var received = ""

    init(promise: EventLoopPromise<String>) { self.promise = promise }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        received += String(buffer: unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.succeed(received)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        promise.fail(error)
        context.close(promise: nil)
    }
}

import ClusterTLS
import HTTPServer
@testable import NodeAgent
import SwarmAPI
import Synchronization
import Testing

/// What a fake manager was asked, in order.
final class Seen: Sendable {
    let lines = Mutex<[String]>([])
    var all: [String] { lines.withLock { $0 } }
}

/// The agent's link against real HTTPS managers on 127.0.0.1, with the
/// cluster's TLS from a test CA: it ends up at the leader whichever manager
/// it starts with, and still checks that it talks to a manager.
struct ManagerFailoverTLSTests {
    let ca: RootCA
    let worker: NodeTLSMaterial

    init() throws {
        ca = try RootCA.create()
        worker = try Self.issue(ca, role: .worker)
    }

    static func issue(_ ca: RootCA, role: CertificateRole) throws -> NodeTLSMaterial {
        let request = try NodeKeyAndCSR.generate()
        // As the manager issues them: only a manager's certificate names its address.
        let pem = try ca.issueJoiningNode(csrPEM: request.csrPEM, nodeID: newObjectID(), role: role, clusterID: "cluster1", advertiseAddr: "127.0.0.1")
        return NodeTLSMaterial(caCertificatePEM: ca.certificatePEM, certificatePEM: pem, keyPEM: request.keyPEM)
    }

    /// A manager on a free port of 127.0.0.1 (a worker's certificate when `role` says so).
    func manager(role: CertificateRole = .manager, _ handler: @escaping HTTPServer.Handler) async throws -> (HTTPServer, String) {
        let server = HTTPServer(handler: handler)
        let port = try await server.listen(host: "127.0.0.1", port: 0, tls: try ClusterTLSConfiguration.server(Self.issue(ca, role: role)))
        return (server, "127.0.0.1:\(port)")
    }

    /// The leader: answers sessions with the managers' list, and records
    /// which node (by its certificate) asked.
    func leader(managers: @escaping @Sendable () -> [String], seen: Seen) async throws -> (HTTPServer, String) {
        let ca = self.ca
        return try await manager { request in
            let node = request.peerCertificateDER.flatMap { try? ca.validate(nodeCertificateDER: $0) }?.nodeID ?? "anonymous"
            seen.lines.withLock { $0.append("\(node) \(request.path)") }
            let response = SessionResponse(nodeID: node, heartbeatPeriod: 5_000_000_000, managers: managers())
            return HTTPResponse.json(200, (try? APIJSON.encode(response)) ?? [])
        }
    }

    func link(_ addresses: [String], learned: @escaping @Sendable ([String]) -> Void = { _ in }) -> HTTPManagerLink {
        let material = worker
        let transport = ClusterManagerTransport { address in
            try ClusterHTTPClient(manager: address, trust: .member(material), connectTimeout: .seconds(5))
        }
        return HTTPManagerLink(ManagerSet(addresses, transport: transport), learned: learned)
    }

    var session: SessionRequest {
        SessionRequest(description: NodeDescription(hostname: "worker-1", platform: Platform(architecture: "x86_64", os: "linux"),
                                                    resources: Resources(nanoCPUs: 1_000_000_000, memoryBytes: 1 << 30),
                                                    engine: EngineDescription(engineVersion: "0")), addr: "127.0.0.1")
    }

    @Test func aFollowerSendsTheAgentToTheLeaderItNames() async throws {
        let seen = Seen()
        let second = Mutex("")
        let (leader, leaderAddress) = try await leader(managers: { [second.withLock { $0 }] }, seen: seen)
        second.withLock { $0 = leaderAddress }
        let refused = Mutex(0)
        let (follower, followerAddress) = try await manager { request in
            refused.withLock { $0 += 1 }
            return HTTPResponse(status: 503, headers: [("Content-Type", "application/json"), ("Swarm-Leader", leaderAddress)],
                                body: .bytes(Array("{\"message\":\"this manager is not the leader\"}".utf8)))
        }
        let learned = Mutex<[[String]]>([])
        let link = link([followerAddress]) { list in learned.withLock { $0.append(list) } }
        let nodeID = try NodeIdentity(certificatePEM: worker.certificatePEM).nodeID
        do {
            let response = try await link.openSession(session)
            #expect(response.nodeID == nodeID)
            _ = try await link.heartbeat()
            #expect(refused.withLock { $0 } == 1)
            #expect(seen.all == ["\(nodeID) /agent/session", "\(nodeID) /agent/heartbeat"])
            #expect(await link.managers.current == leaderAddress)
            #expect(learned.withLock { $0 } == [[leaderAddress]])
        } catch {
            Issue.record(error)
        }
        await link.shutdown()
        await follower.shutdown()
        await leader.shutdown()
    }

    @Test func aClosedManagerAndOneThatIsNoManagerArePassedOver() async throws {
        let seen = Seen()
        let (leader, leaderAddress) = try await leader(managers: { [] }, seen: seen)
        // A port nothing listens on any more: the connection is refused.
        let (closed, closedAddress) = try await manager { _ in HTTPResponse.json(200, []) }
        await closed.shutdown()
        // A node with a worker's certificate posing as a manager: the handshake fails.
        let posed = Mutex(0)
        let (impostor, impostorAddress) = try await manager(role: .worker) { _ in
            posed.withLock { $0 += 1 }
            return HTTPResponse.json(200, [])
        }
        let link = link([closedAddress, impostorAddress, leaderAddress])
        do {
            _ = try await link.openSession(session)
            #expect(seen.all.count == 1)
            #expect(posed.withLock { $0 } == 0)
            #expect(await link.managers.current == leaderAddress)
        } catch {
            Issue.record("\(error); posed: \(posed.withLock { $0 }), current: \(await link.managers.current), closed \(closedAddress), impostor \(impostorAddress)")
        }
        await link.shutdown()
        await impostor.shutdown()
        await leader.shutdown()
    }
}

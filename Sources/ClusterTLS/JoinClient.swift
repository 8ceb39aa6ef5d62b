import AsyncHTTPClient
import FoundationEssentials
import NIOCore
import NIOHTTP1
import SwarmAPI

/// A node's side of `swarm join`, as in Docker: fetch the CA without
/// trusting anyone and check it against the token's digest, then send the
/// token and a CSR over a connection that trusts only that CA, so the token
/// never travels over an unverified connection.
public enum JoinClient {
    /// A refused join, worded as the docker CLI prints it.
    public struct Refused: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// What a joined node keeps: its certificate, key and the CA, and what
    /// the manager said of it.
    public struct Joined: Sendable {
        public var material: NodeTLSMaterial
        public var response: JoinResponse
    }

    /// - manager: `ip:port` of a manager.
    public static func join(manager: String, token: String, hostname: String, advertiseAddr: String) async throws -> Joined {
        let parsed: JoinToken
        do { parsed = try JoinToken.parse(token) } catch { throw Refused(description: "Error response from daemon: invalid join token") }
        let caPEM = String(decoding: try await fetch(manager, trust: .bootstrap, path: "/swarm/ca", body: nil), as: UTF8.self)
        do { try parsed.verifyCA(certificatePEM: caPEM) } catch {
            throw Refused(description: "Error response from daemon: \(error)")
        }
        let key = try NodeKeyAndCSR.generate()
        let request = JoinRequest(token: token, csrPEM: key.csrPEM, hostname: hostname, advertiseAddr: advertiseAddr)
        let reply = try APIJSON.decode(JoinResponse.self, from: try await fetch(
            manager, trust: .joining(caCertificatePEM: caPEM), path: "/swarm/join", body: try APIJSON.encode(request)))
        return Joined(material: NodeTLSMaterial(caCertificatePEM: reply.caCertificatePEM, certificatePEM: reply.certificatePEM, keyPEM: key.keyPEM),
                      response: reply)
    }

    static func fetch(_ manager: String, trust: ClusterHTTPClient.Trust, path: String, body: [UInt8]?) async throws -> [UInt8] {
        let http = try ClusterHTTPClient(manager: manager, trust: trust, readTimeout: .seconds(20))
        defer { Task { await http.shutdown() } }
        var request = HTTPClientRequest(url: http.baseURL + path)
        if let body {
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response: HTTPClientResponse
        do {
            response = try await http.client.execute(request, timeout: .seconds(20))
        } catch {
            throw Refused(description: "Error response from daemon: cannot reach the manager at \(manager): \(error) (check the address and that port \(manager.split(separator: ":").last ?? "2377") is open)")
        }
        let bytes = Array(buffer: try await response.body.collect(upTo: 1 << 20))
        guard response.status.code == 200 else {
            let message = (try? APIJSON.decode(APIErrorBody.self, from: bytes).message) ?? "HTTP \(response.status.code)"
            throw Refused(description: "Error response from daemon: \(message)")
        }
        return bytes
    }
}

extension RootCA {
    /// Signs the certificate of a node joining with `role`: the node's key
    /// from its CSR, a new node ID and the role from the token. Only a
    /// manager's certificate names an address: TLS accepts an IP SAN that
    /// matches the dialed address in place of the name, so a worker sharing
    /// an address with its manager could otherwise pose as it.
    public func issueJoiningNode(csrPEM: String, nodeID: String, role: CertificateRole, clusterID: String,
                                 advertiseAddr: String) throws -> String {
        let host = String(advertiseAddr.split(separator: ":").first ?? "")
        return try issue(csrPEM: csrPEM, nodeID: nodeID, role: role, clusterID: clusterID,
                         ipAddresses: role == .manager && !host.isEmpty ? [host] : [])
    }
}

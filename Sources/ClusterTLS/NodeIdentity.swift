import Crypto
import FoundationEssentials
import NIOSSL
import SwiftASN1
import X509

/// A node's role as its certificate's OU carries it; the manager authorizes
/// each request by it.
public enum CertificateRole: String, Sendable, Hashable, CaseIterable {
    case worker = "swarm-worker"
    case manager = "swarm-manager"
}

/// Whom a node certificate names: CN = node ID, OU = role, O = cluster ID,
/// as in Docker.
public struct NodeIdentity: Sendable, Hashable {
    public var nodeID: String
    public var role: CertificateRole
    public var clusterID: String

    /// 90 days, Docker's default node certificate expiry.
    public static let defaultValidity: Duration = .seconds(90 * 24 * 3600)

    public init(nodeID: String, role: CertificateRole, clusterID: String) {
        self.nodeID = nodeID
        self.role = role
        self.clusterID = clusterID
    }

    /// Reads the names only: it does not check who signed the certificate.
    /// Use it on a certificate that TLS already verified against the cluster
    /// CA (the peer of an mTLS connection), or use `RootCA.validate`.
    public init(certificatePEM: String) throws {
        try self.init(certificate: parseCertificate(pem: certificatePEM, what: "node certificate"))
    }

    public init(certificateDER: [UInt8]) throws {
        try self.init(certificate: parseCertificate(der: certificateDER, what: "node certificate"))
    }

    /// The peer certificate of an mTLS connection, as NIOSSL hands it over
    /// (`NIOSSLHandler.peerCertificate`).
    public init(certificate: NIOSSLCertificate) throws {
        try self.init(certificateDER: certificate.toDERBytes())
    }

    /// Who is on the other end of a completed mTLS handshake, or nil if the
    /// peer sent no certificate (a joining node). TLS has already checked the
    /// certificate against the cluster CA when it returns one. Call it on the
    /// channel's event loop, after `TLSUserEvent.handshakeCompleted`.
    public static func peer(of handler: NIOSSLHandler) throws -> NodeIdentity? {
        try handler.peerCertificate.map(NodeIdentity.init(certificate:))
    }

    init(certificate: Certificate) throws {
        func single(_ oid: ASN1ObjectIdentifier, _ name: String) throws -> String {
            let values = certificate.subject.flatMap { $0 }.filter { $0.type == oid }.compactMap { String($0.value) }
            guard values.count == 1, let value = values.first, !value.isEmpty else {
                throw ClusterTLSError.notANodeCertificate(reason: "needs exactly one \(name)")
            }
            return value
        }
        let ou = try single(.RDNAttributeType.organizationalUnitName, "OU")
        guard let role = CertificateRole(rawValue: ou) else {
            throw ClusterTLSError.notANodeCertificate(reason: "unknown role \(ou)")
        }
        self.init(
            nodeID: try single(.RDNAttributeType.commonName, "CN"),
            role: role,
            clusterID: try single(.RDNAttributeType.organizationName, "O")
        )
    }
}

/// What a node makes before it asks for a certificate: its own private key,
/// which never leaves it, and a CSR carrying the public half.
public struct NodeKeyAndCSR: Sendable {
    public var keyPEM: String
    public var csrPEM: String

    /// A new P-256 key and a CSR signed with it. The subject is a placeholder:
    /// the CA sets the real one (node ID, role, cluster) itself.
    public static func generate() throws -> NodeKeyAndCSR {
        let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let csr = try CertificateSigningRequest(
            version: .v1,
            subject: DistinguishedName { CommonName("swarm-node") },
            privateKey: key,
            attributes: CertificateSigningRequest.Attributes(),
            signatureAlgorithm: .ecdsaWithSHA256
        )
        return NodeKeyAndCSR(keyPEM: try key.serializeAsPEM().pemString, csrPEM: try csr.serializeAsPEM().pemString)
    }
}

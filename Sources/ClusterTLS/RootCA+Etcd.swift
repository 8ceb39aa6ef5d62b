import Crypto
import FoundationEssentials
import SwiftASN1
import X509

extension RootCA {
    /// The subject of the CA etcd trusts.
    public static let etcdCommonName = "swarm-etcd-ca"
    /// A DNS name every etcd certificate carries.
    public static let etcdServerName = "swarm-etcd"

    /// The CA the managers' etcd members and clients trust: self-signed,
    /// with a key derived from the cluster CA's key. Not the cluster CA
    /// itself, because workers hold certificates of that one too and etcd
    /// would let any of them read and write the whole state. Every manager
    /// holds the cluster CA's key, so each derives the same key here and
    /// trusts the others' etcd certificates without exchanging anything.
    /// (Copies made by two managers differ in their signature only: trust
    /// goes by subject and key.)
    public func etcdCA() throws -> RootCA {
        guard let privateKey else { throw ClusterTLSError.caCannotSign }
        let secret = SymmetricKey(data: try privateKey.serializeAsPEM().derBytes)
        var key: P256.Signing.PrivateKey?
        // A 32-byte string is a P-256 scalar unless it is ≥ the group order
        // (odds of 2^-32); the next counter then.
        for counter in 0..<8 where key == nil {
            let bytes = HKDF<SHA256>.deriveKey(inputKeyMaterial: secret, info: Data("swarm etcd CA \(counter)".utf8),
                                               outputByteCount: 32)
            key = bytes.withUnsafeBytes { try? P256.Signing.PrivateKey(rawRepresentation: $0) }
        }
        guard let key else { throw ClusterTLSError.malformed(what: "CA key", reason: "no etcd CA key derives from it") }
        let signing = Certificate.PrivateKey(key)
        // Positive, and the same on every manager.
        var serial = Array(SHA256.hash(data: key.publicKey.rawRepresentation).prefix(16))
        serial[0] &= 0x7f
        let name = try DistinguishedName { CommonName(Self.etcdCommonName) }
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(bytes: serial[...]),
            publicKey: signing.publicKey,
            notValidBefore: self.certificate.notValidBefore,
            notValidAfter: self.certificate.notValidAfter,
            issuer: name,
            subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: signing.publicKey)
            },
            issuerPrivateKey: signing
        )
        return try RootCA(certificate: certificate, privateKey: signing)
    }

    /// A new key and a certificate for one etcd member, signed by this CA
    /// (call it on `etcdCA()`): the member serves its peers and clients with
    /// it and presents it as a client (to its peers, and the manager to
    /// etcd), so both extended key usages. Names: `etcdServerName`, the node
    /// ID, "localhost"; addresses: `ipAddresses` and 127.0.0.1. etcd checks a
    /// peer's address against these (since 3.2): give every address the
    /// node's peer connections may come from.
    public func issueEtcdCertificate(nodeID: String, ipAddresses: [String], validity: Duration = .seconds(365 * 24 * 3600),
                                     now: Date = Date()) throws -> (certificatePEM: String, keyPEM: String) {
        guard let privateKey else { throw ClusterTLSError.caCannotSign }
        let key = P256.Signing.PrivateKey()
        let leafKey = Certificate.PrivateKey(key)
        var names: [GeneralName] = [.dnsName(Self.etcdServerName), .dnsName(nodeID), .dnsName("localhost")]
        var seen: Set<[UInt8]> = []
        for text in ipAddresses + ["127.0.0.1"] {
            guard let bytes = parseIPAddress(text) else { throw ClusterTLSError.malformed(what: "IP address", reason: text) }
            if seen.insert(bytes).inserted { names.append(.ipAddress(ASN1OctetString(contentBytes: bytes[...]))) }
        }
        let subject = try DistinguishedName {
            OrganizationalUnitName(Self.etcdServerName)
            CommonName(nodeID)
        }
        let certificatePEM = try signLeaf(publicKey: leafKey.publicKey, subject: subject, names: names, validity: validity, now: now, with: privateKey)
        return (certificatePEM, key.pemRepresentation)
    }
}

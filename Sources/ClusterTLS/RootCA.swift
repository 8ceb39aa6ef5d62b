import Crypto
import FoundationEssentials
import SwiftASN1
import X509

/// The cluster's root certificate authority. Managers hold the key and sign
/// node certificates; every other node holds only the certificate, to check
/// its peers.
public struct RootCA: Sendable {
    public let certificate: Certificate
    /// nil on nodes that only trust the CA.
    public let privateKey: Certificate.PrivateKey?
    public let certificatePEM: String
    /// The DER of the certificate: what the digest is taken over.
    public let certificateDER: [UInt8]

    public static let commonName = "swarm-ca"
    /// 20 years, as swarmkit's root CAs.
    public static let defaultValidity: Duration = .seconds(20 * 365 * 24 * 3600)
    /// Certificates start this much before "now" so that a node whose clock
    /// is a little behind the CA's still accepts them (swarmkit does the same).
    static let backdate: Duration = .seconds(3600)

    /// A new self-signed CA with a new P-256 key.
    public static func create(now: Date = Date(), validity: Duration = defaultValidity) throws -> RootCA {
        let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let name = try DistinguishedName { CommonName(commonName) }
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: key.publicKey,
            notValidBefore: now - backdate.timeInterval,
            notValidAfter: now + validity.timeInterval,
            issuer: name,
            subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: key.publicKey)
            },
            issuerPrivateKey: key
        )
        return try RootCA(certificate: certificate, privateKey: key)
    }

    /// Loads a CA from its PEM certificate and, on managers, its PEM key.
    public init(certificatePEM: String, keyPEM: String? = nil) throws {
        let certificate = try parseCertificate(pem: certificatePEM, what: "CA certificate")
        var key: Certificate.PrivateKey?
        if let keyPEM {
            do { key = try Certificate.PrivateKey(pemEncoded: keyPEM) } catch {
                throw ClusterTLSError.malformed(what: "CA key", reason: "\(error)")
            }
        }
        try self.init(certificate: certificate, privateKey: key)
    }

    init(certificate: Certificate, privateKey: Certificate.PrivateKey?) throws {
        guard case .isCertificateAuthority = try? certificate.extensions.basicConstraints else {
            throw ClusterTLSError.malformed(what: "CA certificate", reason: "not a CA (basicConstraints CA:false)")
        }
        if let privateKey, privateKey.publicKey != certificate.publicKey {
            throw ClusterTLSError.malformed(what: "CA key", reason: "does not match the CA certificate")
        }
        self.certificate = certificate
        self.privateKey = privateKey
        self.certificateDER = try derBytes(certificate)
        self.certificatePEM = try certificate.serializeAsPEM().pemString
    }

    /// The CA key as PEM (PKCS#8), to store with the cluster state; nil if absent.
    public func keyPEM() throws -> String? {
        try privateKey?.serializeAsPEM().pemString
    }

    /// sha256 of the certificate's DER: what join tokens carry.
    public var digest: [UInt8] { Array(SHA256.hash(data: certificateDER)) }

    /// Signs a node certificate for the public key in `csrPEM`. Only the key
    /// is taken from the CSR; everything else comes from the arguments, so a
    /// node cannot choose its own ID or role.
    ///
    /// - ipAddresses: addresses the node is reached on (a manager's advertise
    ///   address) as dotted IPv4 or IPv6 text, put in the SAN so that clients
    ///   dialing that address can verify it.
    public func issue(
        csrPEM: String,
        nodeID: String,
        role: CertificateRole,
        clusterID: String,
        ipAddresses: [String] = [],
        validity: Duration = NodeIdentity.defaultValidity,
        now: Date = Date()
    ) throws -> String {
        guard let privateKey else { throw ClusterTLSError.caCannotSign }
        let csr: CertificateSigningRequest
        do { csr = try CertificateSigningRequest(pemEncoded: csrPEM) } catch {
            throw ClusterTLSError.malformed(what: "certificate signing request", reason: "\(error)")
        }
        guard csr.publicKey.isValidSignature(csr.signature, for: csr) else {
            throw ClusterTLSError.invalidCSRSignature
        }
        var names: [GeneralName] = [.dnsName(role.rawValue), .dnsName(nodeID)]
        for text in ipAddresses {
            guard let bytes = parseIPAddress(text) else {
                throw ClusterTLSError.malformed(what: "IP address", reason: text)
            }
            names.append(.ipAddress(ASN1OctetString(contentBytes: bytes[...])))
        }
        // Same attribute order as Go's pkix.Name: O, OU, CN.
        let subject = try DistinguishedName {
            OrganizationName(clusterID)
            OrganizationalUnitName(role.rawValue)
            CommonName(nodeID)
        }
        return try signLeaf(publicKey: csr.publicKey, subject: subject, names: names, validity: validity, now: now, with: privateKey)
    }

    /// A leaf certificate signed by this CA: for servers and clients both
    /// (nodes talk TLS both ways), with `names` as its SANs.
    func signLeaf(publicKey: Certificate.PublicKey, subject: DistinguishedName, names: [GeneralName], validity: Duration,
                  now: Date, with privateKey: Certificate.PrivateKey) throws -> String {
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: publicKey,
            notValidBefore: now - Self.backdate.timeInterval,
            notValidAfter: now + validity.timeInterval,
            issuer: self.certificate.subject,
            subject: subject,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
                SubjectAlternativeNames(names)
                // Names the signing key, which helps chain building; a CA
                // made elsewhere may lack the identifier.
                if let caKeyID = try self.certificate.extensions.subjectKeyIdentifier?.keyIdentifier {
                    AuthorityKeyIdentifier(keyIdentifier: caKeyID)
                }
            },
            issuerPrivateKey: privateKey
        )
        return try certificate.serializeAsPEM().pemString
    }

    /// Checks that `certificatePEM` was signed by this CA and is within its
    /// validity period at `now`, and returns whom it names. A plain check for
    /// our one-level PKI (root -> node): no intermediates exist.
    public func validate(nodeCertificatePEM: String, now: Date = Date()) throws -> NodeIdentity {
        try validate(parseCertificate(pem: nodeCertificatePEM, what: "node certificate"), now: now)
    }

    public func validate(nodeCertificateDER: [UInt8], now: Date = Date()) throws -> NodeIdentity {
        try validate(parseCertificate(der: nodeCertificateDER, what: "node certificate"), now: now)
    }

    func validate(_ leaf: Certificate, now: Date) throws -> NodeIdentity {
        guard leaf.issuer == certificate.subject,
              certificate.publicKey.isValidSignature(leaf.signature, for: leaf)
        else { throw ClusterTLSError.untrustedCertificate(reason: "not signed by this cluster's CA") }
        guard leaf.notValidBefore <= now, now <= leaf.notValidAfter else {
            throw ClusterTLSError.untrustedCertificate(reason: "expired or not yet valid")
        }
        guard certificate.notValidBefore <= now, now <= certificate.notValidAfter else {
            throw ClusterTLSError.untrustedCertificate(reason: "the CA certificate is expired or not yet valid")
        }
        return try NodeIdentity(certificate: leaf)
    }
}

extension Duration {
    var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}

func derBytes(_ certificate: Certificate) throws -> [UInt8] {
    var serializer = DER.Serializer()
    try serializer.serialize(certificate)
    return serializer.serializedBytes
}

func parseCertificate(pem: String, what: String) throws -> Certificate {
    do { return try Certificate(pemEncoded: pem) } catch {
        throw ClusterTLSError.malformed(what: what, reason: "\(error)")
    }
}

func parseCertificate(der: [UInt8], what: String) throws -> Certificate {
    do { return try Certificate(derEncoded: der) } catch {
        throw ClusterTLSError.malformed(what: what, reason: "\(error)")
    }
}

/// 4 bytes for dotted IPv4, 16 for IPv6 text (with "::" allowed); nil otherwise.
func parseIPAddress(_ text: String) -> [UInt8]? {
    if text.contains(":") { return parseIPv6(text) }
    let parts = text.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 4 else { return nil }
    var bytes: [UInt8] = []
    for part in parts {
        guard (1...3).contains(part.count), part.allSatisfy(\.isASCII), let value = UInt8(part) else { return nil }
        bytes.append(value)
    }
    return bytes
}

private func parseIPv6(_ text: String) -> [UInt8]? {
    let halves = text.components(separatedBy: "::")
    guard halves.count <= 2 else { return nil }
    func groups(_ s: String) -> [UInt16]? {
        if s.isEmpty { return [] }
        var out: [UInt16] = []
        for part in s.split(separator: ":", omittingEmptySubsequences: false) {
            guard (1...4).contains(part.count), let value = UInt16(part, radix: 16) else { return nil }
            out.append(value)
        }
        return out
    }
    guard let head = groups(halves[0]) else { return nil }
    var all = head
    if halves.count == 2 {
        guard let tail = groups(halves[1]), head.count + tail.count < 8 else { return nil }
        all += [UInt16](repeating: 0, count: 8 - head.count - tail.count) + tail
    }
    guard all.count == 8 else { return nil }
    return all.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xff)] }
}

import SwarmAPI
import ClusterTLS
import SystemCalls
import FoundationEssentials
import Glibc
import Testing
import SwiftASN1
import X509
import Crypto

struct PKITests {
    @Test func rootCARoundTripsThroughPEM() throws {
        let ca = try RootCA.create()
        let keyPEM = try #require(try ca.keyPEM())
        let loaded = try RootCA(certificatePEM: ca.certificatePEM, keyPEM: keyPEM)
        #expect(loaded.certificate == ca.certificate)
        #expect(loaded.digest == ca.digest)
        #expect(loaded.privateKey != nil)
        let trustOnly = try RootCA(certificatePEM: ca.certificatePEM)
        #expect(trustOnly.privateKey == nil && trustOnly.digest == ca.digest)
        #expect(ca.digest.count == 32)

        let certificate = ca.certificate
        #expect(certificate.subject == (try DistinguishedName { CommonName("swarm-ca") }))
        #expect(certificate.issuer == certificate.subject)
        #expect(certificate.publicKey.isValidSignature(certificate.signature, for: certificate))
        #expect(try certificate.extensions.basicConstraints == .isCertificateAuthority(maxPathLength: nil))
        #expect(try certificate.extensions.keyUsage == KeyUsage(keyCertSign: true, cRLSign: true))
        let years = certificate.notValidAfter.timeIntervalSince(certificate.notValidBefore) / (365 * 86400)
        #expect(years > 19.99 && years < 20.01)
    }

    @Test func loadingRejectsMismatchedKeyAndNonCA() throws {
        let ca = try RootCA.create()
        let other = try RootCA.create()
        #expect(throws: ClusterTLSError.self) { try RootCA(certificatePEM: ca.certificatePEM, keyPEM: try other.keyPEM()) }
        #expect(throws: ClusterTLSError.self) { try RootCA(certificatePEM: "garbage") }
        let node = try issueNode(ca, role: .worker)
        #expect(throws: ClusterTLSError.self) { try RootCA(certificatePEM: node.certificatePEM) }
    }

    @Test func issuedCertificateCarriesIdentityAndChainsToTheCA() async throws {
        let ca = try RootCA.create()
        let request = try NodeKeyAndCSR.generate()
        let nodeID = newObjectID()
        let clusterID = newObjectID()
        let pem = try ca.issue(
            csrPEM: request.csrPEM, nodeID: nodeID, role: .manager, clusterID: clusterID,
            ipAddresses: ["10.0.0.7", "fd00::1"]
        )
        let expected = NodeIdentity(nodeID: nodeID, role: .manager, clusterID: clusterID)
        #expect(try NodeIdentity(certificatePEM: pem) == expected)
        #expect(try ca.validate(nodeCertificatePEM: pem) == expected)

        let certificate = try Certificate(pemEncoded: pem)
        #expect(try NodeIdentity(certificateDER: derOf(certificate)) == expected)
        #expect(certificate.subject == (try DistinguishedName {
            OrganizationName(clusterID)
            OrganizationalUnitName("swarm-manager")
            CommonName(nodeID)
        }))
        #expect(certificate.publicKey == (try Certificate.PrivateKey(pemEncoded: request.keyPEM)).publicKey)
        #expect(try certificate.extensions.basicConstraints == .notCertificateAuthority)
        #expect(try certificate.extensions.keyUsage == KeyUsage(digitalSignature: true, keyEncipherment: true))
        #expect(try certificate.extensions.extendedKeyUsage == ExtendedKeyUsage([.serverAuth, .clientAuth]))
        #expect(try certificate.extensions.subjectAlternativeNames == SubjectAlternativeNames([
            .dnsName("swarm-manager"), .dnsName(nodeID),
            .ipAddress(ASN1OctetString(contentBytes: [10, 0, 0, 7])),
            .ipAddress(ASN1OctetString(contentBytes: [0xfd] + [UInt8](repeating: 0, count: 14) + [1])),
        ]))
        let days = certificate.notValidAfter.timeIntervalSince(Date()) / 86400
        #expect(days > 89.9 && days < 90.1)
        #expect(certificate.notValidBefore < Date())

        // An independent check: swift-certificates' RFC 5280 verifier.
        var verifier = Verifier(rootCertificates: CertificateStore([ca.certificate])) { RFC5280Policy() }
        let result = await verifier.validate(leaf: certificate, intermediates: CertificateStore())
        guard case .validCertificate(let chain) = result else {
            Issue.record("chain did not verify: \(result)")
            return
        }
        #expect(chain.last == ca.certificate)
    }

    @Test func validityIsConfigurable() throws {
        let ca = try RootCA.create()
        let request = try NodeKeyAndCSR.generate()
        let pem = try ca.issue(csrPEM: request.csrPEM, nodeID: "n", role: .worker, clusterID: "c", validity: .seconds(3600))
        let certificate = try Certificate(pemEncoded: pem)
        #expect(certificate.notValidAfter.timeIntervalSince(Date()) < 3601)
        // Expired an hour and a bit later.
        #expect(throws: ClusterTLSError.self) { try ca.validate(nodeCertificatePEM: pem, now: Date() + 3700) }
    }

    @Test func certificateFromAnotherCAIsRejected() async throws {
        let ca = try RootCA.create()
        let other = try RootCA.create()
        let foreign = try issueNode(other, role: .manager)
        let error = #expect(throws: ClusterTLSError.self) { try ca.validate(nodeCertificatePEM: foreign.certificatePEM) }
        #expect(error == .untrustedCertificate(reason: "not signed by this cluster's CA"))

        // Even one that copies our CA's name: the signature decides.
        var verifier = Verifier(rootCertificates: CertificateStore([ca.certificate])) { RFC5280Policy() }
        let result = await verifier.validate(leaf: try Certificate(pemEncoded: foreign.certificatePEM), intermediates: CertificateStore())
        guard case .couldNotValidate = result else {
            Issue.record("a foreign certificate verified: \(result)")
            return
        }
    }

    @Test func issuingChecksTheCSRSignature() throws {
        let ca = try RootCA.create()
        let request = try NodeKeyAndCSR.generate()
        let csr = try CertificateSigningRequest(pemEncoded: request.csrPEM)
        // The same request with another key's public half: the signature no longer matches.
        let forged = try CertificateSigningRequest(
            version: csr.version, subject: csr.subject,
            publicKey: Certificate.PrivateKey(P256.Signing.PrivateKey()).publicKey,
            attributes: csr.attributes, signatureAlgorithm: csr.signatureAlgorithm, signature: csr.signature
        )
        let forgedPEM = try forged.serializeAsPEM().pemString
        #expect(throws: ClusterTLSError.invalidCSRSignature) {
            try ca.issue(csrPEM: forgedPEM, nodeID: "n", role: .worker, clusterID: "c")
        }
        #expect(throws: ClusterTLSError.self) { try ca.issue(csrPEM: "junk", nodeID: "n", role: .worker, clusterID: "c") }
        #expect(throws: ClusterTLSError.self) {
            try ca.issue(csrPEM: request.csrPEM, nodeID: "n", role: .worker, clusterID: "c", ipAddresses: ["300.1.1.1"])
        }
        #expect(throws: ClusterTLSError.caCannotSign) {
            try RootCA(certificatePEM: ca.certificatePEM).issue(csrPEM: request.csrPEM, nodeID: "n", role: .worker, clusterID: "c")
        }
    }

    @Test func certificateWithoutANodeSubjectIsNotAnIdentity() throws {
        let ca = try RootCA.create()
        #expect(throws: ClusterTLSError.self) { try NodeIdentity(certificatePEM: ca.certificatePEM) }
    }

    @Test func filesRoundTripWithAPrivateKeyFile() throws {
        let ca = try RootCA.create()
        let material = try issueNode(ca, role: .worker)
        let directory = "/tmp/clustertls-test-\(newObjectID())"
        defer { removeTree(directory) }

        #expect(try NodeTLSFiles.read(from: directory) == nil)
        try NodeTLSFiles.write(material, to: directory)
        #expect(try NodeTLSFiles.read(from: directory) == material)
        #expect(try material.validate().role == .worker)

        var info = stat()
        #expect(stat("\(directory)/swarm-node.key", &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
        #expect(stat("\(directory)/swarm-node.crt", &info) == 0)
        #expect(info.st_mode & 0o777 == 0o644)
        #expect(stat("\(directory)/swarm-root-ca.crt", &info) == 0)
        #expect(Set(listDirectory(directory)) == ["swarm-root-ca.crt", "swarm-node.crt", "swarm-node.key"])

        // Rewriting (renewal) replaces the files.
        let renewed = try issueNode(ca, role: .manager)
        try NodeTLSFiles.write(renewed, to: directory)
        #expect(try NodeTLSFiles.read(from: directory) == renewed)

        // A certificate left beside another key is reported, not used.
        try writeFileAtomically(Array(material.keyPEM.utf8), to: "\(directory)/swarm-node.key", mode: 0o600)
        #expect(throws: ClusterTLSError.keyMismatch) { try NodeTLSFiles.read(from: directory) }
        var mismatched = renewed
        mismatched.keyPEM = material.keyPEM
        #expect(throws: ClusterTLSError.keyMismatch) { try NodeTLSFiles.write(mismatched, to: directory) }
    }
}

func issueNode(_ ca: RootCA, role: CertificateRole, ipAddresses: [String] = []) throws -> NodeTLSMaterial {
    let request = try NodeKeyAndCSR.generate()
    let pem = try ca.issue(csrPEM: request.csrPEM, nodeID: newObjectID(), role: role, clusterID: "cluster1", ipAddresses: ipAddresses)
    return NodeTLSMaterial(caCertificatePEM: ca.certificatePEM, certificatePEM: pem, keyPEM: request.keyPEM)
}

func derOf(_ certificate: Certificate) throws -> [UInt8] {
    var serializer = DER.Serializer()
    try serializer.serialize(certificate)
    return serializer.serializedBytes
}

func listDirectory(_ path: String) -> [String] {
    guard let dir = opendir(path) else { return [] }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        if name != "." && name != ".." { names.append(name) }
    }
    return names
}

func removeTree(_ path: String) {
    for name in listDirectory(path) { unlink("\(path)/\(name)") }
    rmdir(path)
}

import SwarmAPI
import SystemCalls
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FoundationEssentials
import X509

/// A node's TLS material: the cluster CA it trusts, and its own certificate
/// and key.
public struct NodeTLSMaterial: Sendable, Equatable {
    public var caCertificatePEM: String
    public var certificatePEM: String
    public var keyPEM: String

    public init(caCertificatePEM: String, certificatePEM: String, keyPEM: String) {
        self.caCertificatePEM = caCertificatePEM
        self.certificatePEM = certificatePEM
        self.keyPEM = keyPEM
    }

    /// Throws unless the certificate belongs to the key: a crash between
    /// writing a renewed key and its certificate must not go unnoticed.
    public func checkKeyMatchesCertificate() throws {
        let certificate = try parseCertificate(pem: certificatePEM, what: "node certificate")
        let key: Certificate.PrivateKey
        do { key = try Certificate.PrivateKey(pemEncoded: keyPEM) } catch {
            throw ClusterTLSError.malformed(what: "node key", reason: "\(error)")
        }
        guard key.publicKey == certificate.publicKey else { throw ClusterTLSError.keyMismatch }
    }

    /// Checks the certificate against the CA (signature, validity) and returns
    /// whom it names.
    public func validate(now: Date = Date()) throws -> NodeIdentity {
        try checkKeyMatchesCertificate()
        return try RootCA(certificatePEM: caCertificatePEM).validate(nodeCertificatePEM: certificatePEM, now: now)
    }
}

/// The files swarmkit keeps in a node's certificates directory.
public enum NodeTLSFiles {
    public static let caCertificateFile = "swarm-root-ca.crt"
    public static let certificateFile = "swarm-node.crt"
    public static let keyFile = "swarm-node.key"

    /// Writes the three files, each atomically, the key readable by its owner
    /// only. Creates `directory` (mode 0700) if missing; its parent must exist.
    /// The key goes before the certificate so that a crash in between leaves a
    /// mismatch that `read` reports rather than a certificate for a lost key.
    public static func write(_ material: NodeTLSMaterial, to directory: String) throws {
        try material.checkKeyMatchesCertificate()
        if mkdir(directory, 0o700) != 0 && errno != EEXIST {
            throw ClusterTLSError.io(path: directory, errno: errno)
        }
        try writeFileAtomically(Array(material.caCertificatePEM.utf8), to: "\(directory)/\(caCertificateFile)", mode: 0o644)
        try writeFileAtomically(Array(material.keyPEM.utf8), to: "\(directory)/\(keyFile)", mode: 0o600)
        try writeFileAtomically(Array(material.certificatePEM.utf8), to: "\(directory)/\(certificateFile)", mode: 0o644)
    }

    /// The material in `directory`, or nil if the node has no certificate yet
    /// (it has not joined). Throws if the files are unreadable or do not match.
    public static func read(from directory: String) throws -> NodeTLSMaterial? {
        guard let certificate = try readFile("\(directory)/\(certificateFile)") else { return nil }
        func required(_ name: String) throws -> String {
            guard let text = try readFile("\(directory)/\(name)") else {
                throw ClusterTLSError.io(path: "\(directory)/\(name)", errno: ENOENT)
            }
            return text
        }
        let material = NodeTLSMaterial(
            caCertificatePEM: try required(caCertificateFile),
            certificatePEM: certificate,
            keyPEM: try required(keyFile)
        )
        try material.checkKeyMatchesCertificate()
        return material
    }
}

/// The file's text, or nil if it does not exist.
func readFile(_ path: String) throws -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    if fd < 0 {
        if errno == ENOENT { return nil }
        throw ClusterTLSError.io(path: path, errno: errno)
    }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 16384)
    while true {
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            throw ClusterTLSError.io(path: path, errno: errno)
        }
        if n == 0 { break }
        bytes += buffer[..<n]
    }
    return String(decoding: bytes, as: UTF8.self)
}

func errnoDescription(_ code: Int32) -> String {
    String(cString: strerror(code))
}

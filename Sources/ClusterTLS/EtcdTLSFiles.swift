import NIOSSL
import SystemCalls
#if canImport(Glibc)
import Glibc
#endif

/// The TLS files of an etcd member or client: the CA it trusts, its
/// certificate and its key (PEM; the key PKCS#8, which etcd's Go TLS reads).
/// A manager's own member uses them for both its client and peer ports,
/// with client certificates required on both.
public struct EtcdTLSFiles: Sendable, Equatable {
    public var caFile: String
    public var certificateFile: String
    public var keyFile: String

    public init(caFile: String, certificateFile: String, keyFile: String) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
    }

    /// The files `write` makes in `directory`.
    public init(directory: String) {
        self.init(caFile: directory + "/ca.crt", certificateFile: directory + "/member.crt", keyFile: directory + "/member.key")
    }

    /// Issues a new etcd certificate for this manager from `ca` (the cluster
    /// CA, with its key: see `RootCA.etcdCA()` for the CA etcd trusts) and
    /// writes ca.crt, member.crt and member.key (0600) in `directory`
    /// (created 0700 if missing), each atomically. Writing them again
    /// renews the certificate: etcd reads the files for each new connection.
    /// - ipAddresses: the node's advertise address (and any other address its
    ///   peer connections may come from); 127.0.0.1 is always added.
    @discardableResult
    public static func write(ca: RootCA, nodeID: String, ipAddresses: [String], to directory: String,
                             validity: Duration = .seconds(365 * 24 * 3600)) throws -> EtcdTLSFiles {
        let etcdCA = try ca.etcdCA()
        let issued = try etcdCA.issueEtcdCertificate(nodeID: nodeID, ipAddresses: ipAddresses, validity: validity)
        return try write(caCertificatePEM: etcdCA.certificatePEM, certificatePEM: issued.certificatePEM, keyPEM: issued.keyPEM,
                         to: directory)
    }

    /// Writes files issued elsewhere (a manager without the CA key gets
    /// them from one that has it: `ca.etcdCA()` and `issueEtcdCertificate`).
    @discardableResult
    public static func write(caCertificatePEM: String, certificatePEM: String, keyPEM: String, to directory: String) throws -> EtcdTLSFiles {
        if mkdir(directory, 0o700) != 0 && errno != EEXIST {
            throw ClusterTLSError.io(path: directory, errno: errno)
        }
        let files = EtcdTLSFiles(directory: directory)
        try writeFileAtomically(Array(caCertificatePEM.utf8), to: files.caFile, mode: 0o644)
        try writeFileAtomically(Array(keyPEM.utf8), to: files.keyFile, mode: 0o600)
        try writeFileAtomically(Array(certificatePEM.utf8), to: files.certificateFile, mode: 0o644)
        return files
    }

    /// For an `EtcdClient` (`https://` endpoints): presents the certificate
    /// and trusts only the CA. The server's certificate must name the address
    /// dialed (etcd's endpoints are IP addresses; a member's certificate has
    /// them as IP SANs), as a browser would check a host name.
    public func clientConfiguration() throws -> TLSConfiguration {
        try Self.clientConfiguration(caFile: caFile, certificateFile: certificateFile, keyFile: keyFile)
    }

    /// The same for any etcd (an external one with its own CA): without
    /// `caFile` the system's roots are trusted; without a certificate and
    /// key none is presented.
    public static func clientConfiguration(caFile: String?, certificateFile: String?, keyFile: String?) throws -> TLSConfiguration {
        func read(_ path: String) throws -> [UInt8] {
            guard let text = try readFile(path) else { throw ClusterTLSError.io(path: path, errno: ENOENT) }
            return Array(text.utf8)
        }
        var config = TLSConfiguration.makeClientConfiguration()
        var current = ""
        do {
            if let caFile {
                current = caFile
                config.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(try read(caFile)))
            }
            if let certificateFile, let keyFile {
                current = certificateFile
                config.certificateChain = try NIOSSLCertificate.fromPEMBytes(try read(certificateFile)).map { .certificate($0) }
                current = keyFile
                config.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: try read(keyFile), format: .pem))
            }
        } catch let error as ClusterTLSError {
            throw error
        } catch {
            throw ClusterTLSError.malformed(what: "PEM file \(current)", reason: "\(error)")
        }
        config.certificateVerification = .fullVerification
        config.minimumTLSVersion = .tlsv12
        return config
    }
}

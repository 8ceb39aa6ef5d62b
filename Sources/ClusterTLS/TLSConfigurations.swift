import NIOSSL

/// The NIOSSL configurations of the cluster's connections.
public enum ClusterTLSConfiguration {
    /// The name clients verify a manager by: every manager certificate has it
    /// as a DNS SAN, worker certificates do not. Pass it as `serverHostname`
    /// to `NIOSSLClientHandler` with a `client(_:)` configuration.
    public static let managerServerName = CertificateRole.manager.rawValue

    /// For a manager's listening port. It presents the manager's certificate
    /// and trusts only the cluster CA. A client certificate is optional,
    /// because joining nodes have none yet (they come to get one); if one is
    /// presented it must chain to the CA, and endpoints that need an
    /// authenticated node read it (`NodeIdentity(certificate:)`) and refuse
    /// connections without one.
    public static func server(_ material: NodeTLSMaterial) throws -> TLSConfiguration {
        var config = TLSConfiguration.makeServerConfiguration(
            certificateChain: [.certificate(try certificate(material.certificatePEM))],
            privateKey: .privateKey(try key(material.keyPEM))
        )
        config.trustRoots = .certificates([try certificate(material.caCertificatePEM)])
        config.certificateVerification = .optionalVerification
        config.minimumTLSVersion = .tlsv12
        return config
    }

    /// For an agent or the CLI talking to a manager: presents the node's
    /// certificate and trusts only the cluster CA.
    ///
    /// With `verifyManagerName` (the default) the server's certificate must
    /// also carry the `managerServerName` SAN, so a worker's certificate,
    /// which the same CA signed, cannot pose as a manager; connect with
    /// `serverHostname: managerServerName`. Without it, any certificate from
    /// the cluster CA is accepted.
    public static func client(_ material: NodeTLSMaterial, verifyManagerName: Bool = true) throws -> TLSConfiguration {
        var config = TLSConfiguration.makeClientConfiguration()
        config.certificateChain = [.certificate(try certificate(material.certificatePEM))]
        config.privateKey = .privateKey(try key(material.keyPEM))
        config.trustRoots = .certificates([try certificate(material.caCertificatePEM)])
        config.certificateVerification = verifyManagerName ? .fullVerification : .noHostnameVerification
        config.minimumTLSVersion = .tlsv12
        return config
    }

    /// For a joining node's first connection, which only fetches the CA
    /// certificate: nothing is verified, because the node does not know the
    /// CA yet. Check what it fetched with `JoinToken.verifyCA`, then send the
    /// CSR and the token over a `joiningClient` connection, so the token never
    /// travels over an unverified one (as in Docker).
    public static func bootstrapClient() -> TLSConfiguration {
        var config = TLSConfiguration.makeClientConfiguration()
        config.certificateVerification = .none
        config.minimumTLSVersion = .tlsv12
        return config
    }

    /// For a joining node's certificate request: it has no certificate yet,
    /// but it checked the CA against its token, so it verifies the manager
    /// with that CA (connect with `serverHostname: managerServerName`).
    public static func joiningClient(caCertificatePEM: String) throws -> TLSConfiguration {
        var config = TLSConfiguration.makeClientConfiguration()
        config.trustRoots = .certificates([try certificate(caCertificatePEM)])
        config.certificateVerification = .fullVerification
        config.minimumTLSVersion = .tlsv12
        return config
    }

    static func certificate(_ pem: String) throws -> NIOSSLCertificate {
        do { return try NIOSSLCertificate(bytes: Array(pem.utf8), format: .pem) } catch {
            throw ClusterTLSError.malformed(what: "certificate", reason: "\(error)")
        }
    }

    static func key(_ pem: String) throws -> NIOSSLPrivateKey {
        do { return try NIOSSLPrivateKey(bytes: Array(pem.utf8), format: .pem) } catch {
            throw ClusterTLSError.malformed(what: "private key", reason: "\(error)")
        }
    }
}

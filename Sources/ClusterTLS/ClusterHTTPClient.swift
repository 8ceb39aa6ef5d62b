import AsyncHTTPClient
import NIOCore
import NIOSSL

/// Every HTTP client that talks to a manager over the cluster's TLS comes
/// from here: the agent's session, the image mirror, `-H tcp://MANAGER`, and
/// a joining node. One place decides how a manager is reached (at its
/// address) and how it is checked (for the name only managers' certificates
/// carry, `swarm-manager`), so no caller can forget the check.
public struct ClusterHTTPClient: Sendable {
    /// What the client presents and trusts.
    public enum Trust: Sendable {
        /// A member: presents the node's certificate, trusts the cluster CA,
        /// and requires the manager's name.
        case member(NodeTLSMaterial)
        /// A joining node that checked the CA against its token: trusts that
        /// CA and requires the manager's name, presents nothing yet.
        case joining(caCertificatePEM: String)
        /// A joining node's first call, which only fetches the CA: trusts
        /// nothing (what it fetches is checked against the token).
        case bootstrap
    }

    public let client: HTTPClient
    /// `https://swarm-manager:2377`: the authority the requests must use.
    public let baseURL: String

    /// - manager: the manager's address, `ip:port`.
    /// - retryConnect: false where a refused connection is an answer (image
    ///   pulls, the CLI), true for the agent's long-lived session.
    public init(manager address: String, trust: Trust, connectTimeout: TimeAmount = .seconds(10),
                readTimeout: TimeAmount = .seconds(60), retryConnect: Bool = false) throws {
        let tls: TLSConfiguration
        let checksName: Bool
        switch trust {
        case .member(let material):
            tls = try ClusterTLSConfiguration.client(material, verifyManagerName: true)
            checksName = true
        case .joining(let caCertificatePEM):
            tls = try ClusterTLSConfiguration.joiningClient(caCertificatePEM: caCertificatePEM)
            checksName = true
        case .bootstrap:
            tls = ClusterTLSConfiguration.bootstrapClient()
            checksName = false
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: connectTimeout, read: readTimeout)
        configuration.connectionPool.retryConnectionEstablishment = retryConnect
        let authority = checksName ? configuration.reach(address, as: ClusterTLSConfiguration.managerServerName) : address
        baseURL = "https://" + authority
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    public func shutdown() async { try? await client.shutdown() }
}

extension HTTPClient.Configuration {
    /// Connections to `name` go to the host of `address` ("ip:port"), while
    /// TLS sends `name` as SNI and checks the certificate for it: how nodes
    /// reach their manager by address yet check it by role ("swarm-manager").
    /// Returns `name:port`, the authority to put in URLs.
    mutating func reach(_ address: String, as name: String) -> String {
        let colon = address.lastIndex(of: ":") ?? address.endIndex
        dnsOverride[name] = String(address[..<colon])
        return name + address[colon...]
    }
}

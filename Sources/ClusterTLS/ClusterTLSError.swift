/// Every failure of this module, each with a one-line message fit to show a
/// user (the Docker CLI prints swarmkit's messages as they are).
public enum ClusterTLSError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A join token that is not `SWMTKN-1-<50 base-36 digits>-<25 base-36 digits>`.
    case invalidJoinToken
    /// The CA fetched while joining is not the one the token names.
    /// `expected` is the token's digest in hex.
    case caFingerprintMismatch(expected: String)
    /// PEM or DER that does not hold what it should (`what` names it).
    case malformed(what: String, reason: String)
    /// A CSR whose signature does not verify with its own public key.
    case invalidCSRSignature
    /// A certificate that the cluster CA did not sign, or not in its validity period.
    case untrustedCertificate(reason: String)
    /// A certificate whose subject is not a swarm node's (no CN, unknown OU...).
    case notANodeCertificate(reason: String)
    /// The CA has no private key here, so it cannot sign.
    case caCannotSign
    /// A node certificate that belongs to another key than the one stored with it.
    case keyMismatch
    /// A file could not be read or written.
    case io(path: String, errno: Int32)

    public var description: String {
        switch self {
        case .invalidJoinToken: "invalid join token"
        case .caFingerprintMismatch(let expected): "remote CA does not match fingerprint. Expected: \(expected)"
        case .malformed(let what, let reason): "invalid \(what): \(reason)"
        case .invalidCSRSignature: "certificate signing request has an invalid signature"
        case .untrustedCertificate(let reason): "certificate not trusted by the cluster CA: \(reason)"
        case .notANodeCertificate(let reason): "not a swarm node certificate: \(reason)"
        case .caCannotSign: "this node has no CA key: it cannot sign certificates"
        case .keyMismatch: "node certificate does not match its private key"
        case .io(let path, let errno): "\(path): \(errnoDescription(errno))"
        }
    }
}

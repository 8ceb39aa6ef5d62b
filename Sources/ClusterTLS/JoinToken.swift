import Crypto
import X509

/// A join token as Docker prints it:
/// `SWMTKN-1-<CA digest: 50 base-36 digits>-<secret: 25 base-36 digits>`.
///
/// The digest lets a joining node check the CA certificate it downloads over
/// an unverified connection; the secret proves it may join, and which secret
/// (worker's or manager's) decides its role.
public struct JoinToken: Sendable, Hashable {
    /// sha256 of the CA certificate's DER, 32 bytes.
    public let caDigest: [UInt8]
    /// The secret part, 25 base-36 digits, as written in the token.
    public let secret: String

    static let prefix = "SWMTKN"
    static let version = "1"
    /// ceil(log36(2^256)): every sha256 fits.
    static let digestLength = 50
    /// ceil(log36(2^128)): every 16-byte secret fits.
    static let secretLength = 25

    /// A new token for this CA, with a fresh 128-bit secret. Call it once for
    /// workers and once for managers: the two differ by their secret.
    public static func generate(rootCA: RootCA) -> String {
        generate(caDigest: rootCA.digest)
    }

    public static func generate(caDigest: [UInt8]) -> String {
        "\(prefix)-\(version)-\(Base36.encode(caDigest, width: digestLength))-\(Base36.encode(randomBytes(16), width: secretLength))"
    }

    public static func parse(_ token: String) throws(ClusterTLSError) -> JoinToken {
        let parts = token.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == prefix, parts[1] == version,
              parts[2].utf8.count == digestLength, parts[3].utf8.count == secretLength,
              parts[3].utf8.allSatisfy(Base36.isDigit),
              // 50 digits can hold more than 256 bits; such a value is no digest.
              let digest = Base36.decode(parts[2], byteCount: 32)
        else { throw .invalidJoinToken }
        return JoinToken(caDigest: digest, secret: String(parts[3]))
    }

    /// Throws unless the CA certificate (PEM) is the one this token names.
    public func verifyCA(certificatePEM: String) throws(ClusterTLSError) {
        let der: [UInt8]
        do { der = try derBytes(parseCertificate(pem: certificatePEM, what: "CA certificate")) } catch {
            throw (error as? ClusterTLSError) ?? .malformed(what: "CA certificate", reason: "\(error)")
        }
        try verifyCA(certificateDER: der)
    }

    public func verifyCA(certificateDER: [UInt8]) throws(ClusterTLSError) {
        let actual = Array(SHA256.hash(data: certificateDER))
        guard constantTimeEquals(actual, caDigest) else {
            throw .caFingerprintMismatch(expected: hexString(caDigest))
        }
    }

    /// The role a presented token grants, comparing it with the cluster's
    /// current tokens in constant time, or nil if it matches neither.
    public static func role(forPresented presented: String, worker: String, manager: String) -> CertificateRole? {
        // Both are compared every time so timing does not tell which matched.
        let isWorker = constantTimeEquals(presented, worker)
        let isManager = constantTimeEquals(presented, manager)
        return isManager ? .manager : isWorker ? .worker : nil
    }
}

/// Equality whose time depends only on the lengths, not on where the first
/// difference is, so a secret cannot be guessed byte by byte.
public func constantTimeEquals(_ a: String, _ b: String) -> Bool {
    constantTimeEquals(Array(a.utf8), Array(b.utf8))
}

public func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for i in a.indices { difference |= a[i] ^ b[i] }
    return difference == 0
}

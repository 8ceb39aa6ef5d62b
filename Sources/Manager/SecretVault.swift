import Crypto
import FoundationEssentials
import SystemCalls

/// Secrets at rest: AES-GCM with a key the managers hold in a file beside
/// the store (0600), never in it, so the store file and its backups carry
/// no secret in the clear (Docker's default without autolock).
public struct SecretVault: Sendable {
    /// The raw key (SymmetricKey is not Sendable; one is made per use).
    let keyBytes: [UInt8]
    var key: SymmetricKey { SymmetricKey(data: keyBytes) }
    static let prefix = "swarm-aes-gcm-v1:"

    /// A new random key (kept only in memory).
    public init() { keyBytes = SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) } }

    /// The key in `path`, made there (0600) on first use.
    public static func loadOrCreate(at path: String) throws -> SecretVault {
        if let data = FileManager.default.contents(atPath: path) {
            guard data.count == 32 else { throw RuntimeError.badInput("the secrets key \(path) is damaged (not 32 bytes): restore it from a backup") }
            return SecretVault(keyBytes: Array(data))
        }
        let vault = SecretVault()
        try writeFileAtomically(vault.keyBytes, to: path, mode: 0o600)
        return vault
    }

    init(keyBytes: [UInt8]) { self.keyBytes = keyBytes }

    /// Base64 value → what the store keeps.
    func seal(_ base64: String) throws -> String {
        let box = try AES.GCM.seal(Data(base64.utf8), using: key)
        guard let combined = box.combined else { throw RuntimeError.badInput("sealing a secret failed") }
        return Self.prefix + combined.base64EncodedString()
    }

    /// What the store keeps → the base64 value.
    func open(_ sealed: String) throws -> String {
        guard sealed.hasPrefix(Self.prefix), let combined = Data(base64Encoded: String(sealed.dropFirst(Self.prefix.count))) else {
            throw RuntimeError.badInput("a stored secret is not sealed by this swarm")
        }
        return String(decoding: try AES.GCM.open(AES.GCM.SealedBox(combined: combined), using: key), as: UTF8.self)
    }
}

import CRuntime
import FoundationEssentials

/// SHA-256 over bytes fed in pieces, for blob and layer digests. Our own
/// (CRuntime's sha256.c) rather than swift-crypto's: that one brings all of
/// Foundation into every binary that links image code, the CLI included.
public struct SHA256Stream {
    private var context = crt_sha256()

    public init() { crt_sha256_init(&context) }

    public mutating func update<Bytes: DataProtocol>(_ bytes: Bytes) {
        for region in bytes.regions {
            region.withUnsafeBytes { buffer in
                guard let base = buffer.baseAddress else { return }
                crt_sha256_update(&context, base, buffer.count)
            }
        }
    }

    /// The digest; the stream is spent.
    public mutating func finalize() -> Digest {
        var bytes = [UInt8](repeating: 0, count: 32)
        bytes.withUnsafeMutableBufferPointer { crt_sha256_final(&context, $0.baseAddress!) }
        return Digest(hex: bytes.hexString)
    }
}

extension Sequence<UInt8> {
    /// Lower-case hex, two digits a byte (a digest's text).
    public var hexString: String {
        let digits = Array("0123456789abcdef")
        var text = ""
        for byte in self {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 15)])
        }
        return text
    }
}

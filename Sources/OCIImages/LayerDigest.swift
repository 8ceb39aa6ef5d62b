import CRuntime
import FoundationEssentials
import Glibc
import SystemCalls

extension LayerUnpacker {
    /// The digest of a layer's uncompressed tar: its diff ID in the image config.
    public static func uncompressedDigest(of path: String) throws -> Digest {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw RuntimeError.system(errno: errno, call: "open", detail: path) }
        defer { close(fd) }
        var message = [CChar](repeating: 0, count: 256)
        guard let handle = crt_decompress_open(fd, &message, message.count) else {
            throw RuntimeError.badInput("cannot read \(path): \(String(cString: message))")
        }
        defer { crt_decompress_close(handle) }
        var hasher = SHA256Stream()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = buffer.withUnsafeMutableBytes { crt_decompress_read(handle, $0.baseAddress, $0.count) }
            if count < 0 { throw RuntimeError.badInput("cannot decompress \(path): corrupt or truncated") }
            if count == 0 { break }
            hasher.update(buffer[..<Int(count)])
        }
        return hasher.finalize()
    }
}

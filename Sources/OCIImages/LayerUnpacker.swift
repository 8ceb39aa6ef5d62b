import CRuntime
import FoundationEssentials
import Glibc
import SystemCalls

/// Unpacks image layers into overlayfs layer directories (crt_unpack_layer):
/// tar, tar+gzip or tar+zstd, with OCI whiteouts turned into overlayfs ones.
public enum LayerUnpacker {
    /// Extracts the layer archive at `path` into `directory`, which must
    /// exist. Blocks the calling thread until done; several layers may
    /// unpack at once. On failure `directory` is left half-written and the
    /// caller removes it.
    public static func unpack(archive path: String, into directory: String) throws {
        let fd = try syscall("open", path) { open(path, O_RDONLY | O_CLOEXEC) }
        defer { close(fd) }
        var message = [CChar](repeating: 0, count: 1024)
        let result = message.withUnsafeMutableBufferPointer { buffer in
            crt_unpack_layer(fd, directory, buffer.baseAddress, buffer.count)
        }
        if result != 0 {
            let text = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw RuntimeError.badInput("cannot unpack layer \(path): \(text)")
        }
    }
}

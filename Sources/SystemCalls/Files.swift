import FoundationEssentials
import Glibc

/// Writes a file with plain open/write/close. Foundation's writers fsync,
/// which costs milliseconds on every container start for files that live in
/// /run (tmpfs) and need atomic replacement at most, not durability.
/// `durable`: fsync before returning, for files on disk that a rename will
/// commit (image blobs, refs.json).
@discardableResult
public func writeFile(_ path: String, _ data: Data, mode: mode_t = 0o644, durable: Bool = false) -> Bool {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    let written = data.withUnsafeBytes { buffer in
        var offset = 0
        while offset < buffer.count {
            let written = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += written
        }
        return true
    }
    return written && (!durable || fsync(fd) == 0)
}

/// Writes `count` bytes of `buffer` to `fd`, retrying short writes.
public func writeAll(_ fd: Int32, _ buffer: [UInt8], _ count: Int) -> Bool {
    var offset = 0
    while offset < count {
        let written = buffer.withUnsafeBytes { write(fd, $0.baseAddress! + offset, count - offset) }
        if written < 0 {
            if errno == EINTR { continue }
            return false
        }
        offset += written
    }
    return true
}

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

/// Replaces `path` with `contents` so that a reader or a crash sees either the
/// old file or the whole new one: write a temporary file beside it, fsync,
/// rename over, then fsync the directory so the rename itself is durable.
public func writeFileAtomically(_ contents: [UInt8], to path: String, mode: mode_t) throws {
    let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
    let temporary = "\(path).tmp-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
    let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
    guard fd >= 0 else { throw RuntimeError.system(errno: errno, call: "open", detail: temporary) }
    var failure: Int32?
    // open() applies the umask; fchmod sets the mode asked for exactly.
    if fchmod(fd, mode) != 0 { failure = errno }
    var written = 0
    while failure == nil && written < contents.count {
        let n = contents.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
        if n < 0 {
            if errno != EINTR { failure = errno }
        } else {
            written += n
        }
    }
    if failure == nil && fsync(fd) != 0 { failure = errno }
    close(fd)
    if failure == nil && rename(temporary, path) != 0 { failure = errno }
    if let failure {
        unlink(temporary)
        throw RuntimeError.system(errno: failure, call: "write", detail: path)
    }
    let dirFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard dirFD >= 0 else { throw RuntimeError.system(errno: errno, call: "open", detail: directory) }
    defer { close(dirFD) }
    if fsync(dirFD) != 0 { throw RuntimeError.system(errno: errno, call: "fsync", detail: directory) }
}

/// Everything `fd` gives until its end (a pipe, a /proc file: Foundation's
/// readers stop after the first read of those), EINTR retried.
public func readAll(_ fd: Int32) -> [UInt8] {
    var data: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = read(fd, &buffer, buffer.count)
        if count < 0 && errno == EINTR { continue }
        if count <= 0 { break }
        data += buffer[..<count]
    }
    return data
}

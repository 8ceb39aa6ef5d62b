import Containers
import FoundationEssentials
import Glibc
import SystemCalls

// Files, mounts and cgroups the lab makes and removes.

func requireLabRoot() throws {
    guard getuid() == 0 else {
        throw RuntimeError.badInput("labs need root (network namespaces, mounts, cgroups): run swarm as root or with sudo")
    }
}

/// One line of an error, without a "swarm: " of a nested command.
func oneLine(_ error: any Error) -> String {
    let text = (error as? RuntimeError)?.description ?? "\(error)"
    return text.split(separator: "\n").first.map(String.init) ?? text
}

func openOrThrow(_ path: String, _ flags: Int32, _ mode: mode_t) throws -> Int32 {
    let fd = open(path, flags, mode)
    guard fd >= 0 else { throw RuntimeError.system(errno: errno, call: "open", detail: path) }
    return fd
}

/// Writes all of `text`, retrying short writes and EINTR.
func writeAll(_ fd: Int32, _ text: String) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if written < 0 { if errno == EINTR { continue }; return }
        bytes = bytes.dropFirst(written)
    }
}

func makeDirectories(_ path: String) throws {
    guard !path.isEmpty else { return }
    var prefix = path.hasPrefix("/") ? "" : "."
    for component in path.split(separator: "/") {
        prefix += "/" + component
        if mkdir(prefix, 0o755) != 0 && errno != EEXIST { throw RuntimeError.system(errno: errno, call: "mkdir", detail: prefix) }
    }
}

/// All of a file, read by hand: /proc files come in pieces.
public func readWholeFile(_ path: String) -> [UInt8]? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = [], chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = read(fd, &chunk, chunk.count)
        if count < 0 && errno == EINTR { continue }
        if count < 0 { return nil }
        if count == 0 { return bytes }
        bytes += chunk[..<count]
    }
}

/// Mount points at or below any of `paths`, deepest first (from one read
/// of mountinfo, whose fifth field is the mount point with spaces and such
/// as octal escapes).
func mounts(under paths: [String]) -> [String] {
    let text = String(decoding: readWholeFile("/proc/self/mountinfo") ?? [], as: UTF8.self)
    let points = text.split(separator: "\n").compactMap { line -> String? in
        let fields = line.split(separator: " ")
        guard fields.count > 4 else { return nil }
        var point = String(fields[4])
        for (escape, character) in [("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")] {
            point = point.replacing(escape, with: character)
        }
        return paths.contains { point == $0 || point.hasPrefix($0 + "/") } ? point : nil
    }
    return Set(points).sorted { $0.count > $1.count }
}

/// Removes a directory tree, first unmounting anything mounted in it, so
/// that removing never reaches into another file system. Nil if done (or
/// there was nothing), else what went wrong.
func removeTree(_ path: String) -> String? {
    guard access(path, F_OK) == 0 else { return nil }
    for point in mounts(under: [path]) where umount2(point, Int32(MNT_DETACH)) != 0 && errno != EINVAL {
        return "unmounting \(point): \(errnoName(errno))"
    }
    do {
        try FileManager.default.removeItem(atPath: path)
    } catch {
        return "removing \(path): \(oneLine(error))"
    }
    return nil
}

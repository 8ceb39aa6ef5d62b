import CRuntime
import FoundationEssentials
import Glibc
import SystemCalls

/// `cp` between the host and a running container. The container's side is
/// its root as its first process sees it (/proc/<pid>/root: the container's
/// mount namespace, its bind mounts and read-only mounts included). The
/// path there is resolved by the kernel inside that root (openat2
/// RESOLVE_IN_ROOT), and every entry below it is opened by name relative to
/// its parent with O_NOFOLLOW, so no symlink the container made leads out.
extension ContainerRuntime {
    public enum CopyDirection: Sendable {
        case fromContainer(path: String, toHost: String)
        case toContainer(fromHost: String, path: String)
    }

    /// Copies a file, a symlink or a directory tree; returns the bytes of
    /// file contents copied. Docker's rules for the destination: an existing
    /// directory receives the source under its own name, anything else is
    /// the new name; the destination's parent must exist.
    @discardableResult
    public func copy(_ ref: String, _ direction: CopyDirection) throws -> UInt64 {
        let info = try inspect(ref)
        guard info.state.status == .running else {
            throw RuntimeError.conflict("container \(info.id) is not running: cp needs it running")
        }
        let rootPath = "/proc/\(info.state.pid)/root"
        let root = try syscall("open", rootPath) { open(rootPath, oPath | O_DIRECTORY | O_CLOEXEC) }
        defer { close(root) }
        // The pid could have been recycled between inspect and open.
        guard ContainerStore.isAlive(info.state.pid, inCgroup: info.id) else {
            throw RuntimeError.conflict("container \(info.id) is not running: cp needs it running")
        }
        var copier = TreeCopier()
        switch direction {
        case .fromContainer(let path, let hostPath):
            let components = try Self.containerComponents(path)
            let (sourceDir, sourceName) = try Self.openParent(components, in: root, path: path, containerName: info.name)
            defer { close(sourceDir) }
            var info = stat()
            guard fstatat(sourceDir, sourceName, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
                throw RuntimeError.badInput("Could not find the file \(path) in container \(ref)")
            }
            let (targetDir, targetName) = try Self.hostDestination(hostPath, name: components.last ?? "rootfs")
            defer { close(targetDir) }
            try copier.copy(from: sourceDir, sourceName, to: targetDir, targetName)
        case .toContainer(let hostPath, let path):
            let source = URL(fileURLWithPath: hostPath).standardizedFileURL.path
            let sourceDirPath = source.parent, sourceName = source.last
            let sourceDir = try syscall("open", sourceDirPath) { open(sourceDirPath, oPath | O_DIRECTORY | O_CLOEXEC) }
            defer { close(sourceDir) }
            var info = stat()
            guard fstatat(sourceDir, sourceName, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
                throw RuntimeError.badInput("stat \(hostPath): no such file or directory")
            }
            let components = try Self.containerComponents(path)
            // An existing directory receives the source; otherwise the last
            // component is the new name in an existing parent.
            let whole = crt_openat_in_root(root, "/" + components.joined(separator: "/"), oPath | O_DIRECTORY, 0)
            if whole >= 0 {
                defer { close(whole) }
                try copier.copy(from: sourceDir, sourceName, to: whole, sourceName)
            } else {
                guard let name = components.last else { throw RuntimeError.badInput("invalid destination \(path)") }
                let parent = "/" + components.dropLast().joined(separator: "/")
                let dir = crt_openat_in_root(root, parent, oPath | O_DIRECTORY, 0)
                guard dir >= 0 else {
                    throw RuntimeError.badInput("Could not find the file \(parent) in container \(ref)")
                }
                defer { close(dir) }
                try copier.copy(from: sourceDir, sourceName, to: dir, name)
            }
        }
        return copier.bytes
    }

    /// A container path's components after "." and ".." are applied; a path
    /// that climbs above "/" is refused rather than clamped.
    static func containerComponents(_ path: String) throws -> [String] {
        var components: [String] = []
        for part in path.split(separator: "/") {
            switch part {
            case ".": continue
            case "..":
                guard !components.isEmpty else {
                    throw RuntimeError.badInput("invalid path \(path): it leads out of the container's root file system")
                }
                components.removeLast()
            default: components.append(String(part))
            }
        }
        return components
    }

    /// The parent of `components` inside the container (an oPath descriptor)
    /// and the last name ("." for the root itself).
    static func openParent(_ components: [String], in root: Int32, path: String, containerName: String) throws -> (Int32, String) {
        let parent = "/" + components.dropLast().joined(separator: "/")
        let fd = crt_openat_in_root(root, parent, oPath | O_DIRECTORY, 0)
        guard fd >= 0 else { throw RuntimeError.badInput("Could not find the file \(path) in container \(containerName)") }
        return (fd, components.last ?? ".")
    }

    /// Docker's rule on the host: into an existing directory under `name`,
    /// else as the path's own name in its (existing) parent.
    static func hostDestination(_ hostPath: String, name: String) throws -> (Int32, String) {
        let path = URL(fileURLWithPath: hostPath).standardizedFileURL.path
        var info = stat()
        if stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR {
            return (try syscall("open", path) { open(path, oPath | O_DIRECTORY | O_CLOEXEC) }, name)
        }
        let parent = path.parent
        let fd = open(parent, oPath | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw RuntimeError.badInput("invalid output path: directory \(parent) does not exist") }
        return (fd, path.last)
    }
}

/// O_PATH (hidden without _GNU_SOURCE).
private let oPath = Int32(CRT_O_PATH)

/// Path helpers for an absolute, standardized path.
private extension String {
    var parent: String {
        guard let slash = lastIndex(of: "/"), slash != startIndex else { return "/" }
        return String(self[..<slash])
    }
    var last: String { split(separator: "/").last.map(String.init) ?? "." }
}

/// Copies entries between two directory descriptors by name, never
/// following a symlink: files (contents and mode), symlinks as symlinks,
/// directories recursively, device nodes and fifos as nodes.
struct TreeCopier {
    var bytes: UInt64 = 0

    mutating func copy(from sourceDir: Int32, _ sourceName: String, to targetDir: Int32, _ targetName: String) throws {
        var info = stat()
        try syscall("stat", sourceName) { fstatat(sourceDir, sourceName, &info, AT_SYMLINK_NOFOLLOW) }
        let mode = info.st_mode & 0o7777
        switch info.st_mode & S_IFMT {
        case S_IFDIR:
            var existing = stat()
            if fstatat(targetDir, targetName, &existing, AT_SYMLINK_NOFOLLOW) == 0, existing.st_mode & S_IFMT != S_IFDIR {
                throw RuntimeError.badInput("cannot overwrite non-directory \(targetName) with directory \(sourceName)")
            }
            if mkdirat(targetDir, targetName, 0o700) != 0 && errno != EEXIST {
                throw RuntimeError.system(errno: errno, call: "mkdir", detail: targetName)
            }
            let source = try syscall("open", sourceName) { openat(sourceDir, sourceName, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
            defer { close(source) }
            let target = try syscall("open", targetName) { openat(targetDir, targetName, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
            defer { close(target) }
            for name in try Self.entries(source) { try copy(from: source, name, to: target, name) }
            fchmod(target, mode)
        case S_IFREG:
            let source = try syscall("open", sourceName) { openat(sourceDir, sourceName, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) }
            defer { close(source) }
            try removeNonDirectory(targetDir, targetName)
            let target = try syscall("open", targetName) {
                openat(targetDir, targetName, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
            }
            defer { close(target) }
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let count = try syscall("read", sourceName) { read(source, &buffer, buffer.count) }
                if count == 0 { break }
                guard writeAll(target, buffer, count) else { throw RuntimeError.system(errno: errno, call: "write", detail: targetName) }
                bytes += UInt64(count)
            }
            fchmod(target, mode)
        case S_IFLNK:
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let length = try syscall("readlink", sourceName) { readlinkat(sourceDir, sourceName, &buffer, buffer.count - 1) }
            buffer[length] = 0
            try removeNonDirectory(targetDir, targetName)
            try syscall("symlink", targetName) { symlinkat(buffer, targetDir, targetName) }
        default:
            try removeNonDirectory(targetDir, targetName)
            try syscall("mknod", targetName) { mknodat(targetDir, targetName, info.st_mode, info.st_rdev) }
        }
    }

    /// A file in the way is replaced; a directory is not.
    private func removeNonDirectory(_ dir: Int32, _ name: String) throws {
        var info = stat()
        guard fstatat(dir, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { return }
        if info.st_mode & S_IFMT == S_IFDIR {
            throw RuntimeError.badInput("cannot overwrite directory \(name) with a non-directory")
        }
        try syscall("unlink", name) { unlinkat(dir, name, 0) }
    }

    private static func entries(_ fd: Int32) throws -> [String] {
        let copy = try syscall("dup", "") { dup(fd) }
        guard let dir = fdopendir(copy) else {
            close(copy)
            throw RuntimeError.system(errno: errno, call: "opendir", detail: "")
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}

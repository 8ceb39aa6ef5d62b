import CRuntime
import Dispatch
import FoundationEssentials
import Glibc
import SystemCalls

/// The identity a container's process runs as, resolved against the
/// container's own /etc/passwd and /etc/group, as Docker does.
public struct ResolvedUser: Equatable, Sendable, Codable {
    public var uid: UInt32
    public var gid: UInt32
    public var groups: [UInt32]
    public var home: String

    /// Resolves "uid", "uid:gid", "name", "name:group" (and mixes). A numeric
    /// uid without a passwd entry runs with gid 0 and home "/", as in Docker.
    public static func resolve(_ user: String?, rootfs: String) throws -> ResolvedUser {
        try resolve(user, roots: [rootfs])
    }

    /// `roots`: directories searched in order for /etc/passwd and /etc/group
    /// (an image's layers, top first: the first that has the file wins).
    public static func resolve(_ user: String?, roots: [String]) throws -> ResolvedUser {
        let passwd = roots.lazy.compactMap { readTable($0, "/etc/passwd") }.first ?? []
        let groupTable = roots.lazy.compactMap { readTable($0, "/etc/group") }.first ?? []
        guard let user, !user.isEmpty else {
            return ResolvedUser(uid: 0, gid: 0, groups: supplementary(for: "root", gid: 0, in: groupTable),
                                home: passwd.first { $0[safe: 2] == "0" }?[safe: 5] ?? "/root")
        }
        let parts = user.split(separator: ":", maxSplits: 1).map(String.init)
        let userPart = parts[0]
        let entry = passwd.first { $0[safe: 0] == userPart } ?? (UInt32(userPart).flatMap { uid in passwd.first { $0[safe: 2] == String(uid) } })
        guard let uid = UInt32(userPart) ?? entry.flatMap({ $0[safe: 2] }).flatMap(UInt32.init) else {
            throw RuntimeError.badInput("unable to find user \(userPart): no matching entries in passwd file")
        }
        var gid = entry.flatMap { $0[safe: 3] }.flatMap(UInt32.init) ?? 0
        if parts.count == 2 {
            let groupPart = parts[1]
            if let number = UInt32(groupPart) {
                gid = number
            } else if let group = groupTable.first(where: { $0[safe: 0] == groupPart }), let number = group[safe: 2].flatMap(UInt32.init) {
                gid = number
            } else {
                throw RuntimeError.badInput("unable to find group \(groupPart): no matching entries in group file")
            }
        }
        let name = entry?[safe: 0] ?? ""
        return ResolvedUser(uid: uid, gid: gid, groups: supplementary(for: name, gid: gid, in: groupTable),
                            home: entry?[safe: 5] ?? "/")
    }

    /// Groups listing `name` as a member, plus the primary group, sorted.
    private static func supplementary(for name: String, gid: UInt32, in table: [[String]]) -> [UInt32] {
        var groups: Set<UInt32> = [gid]
        if !name.isEmpty {
            for row in table where (row[safe: 3] ?? "").split(separator: ",").contains(Substring(name)) {
                if let number = row[safe: 2].flatMap(UInt32.init) { groups.insert(number) }
            }
        }
        return groups.sorted()
    }

    /// Reads rootfs/etc/passwd or /etc/group, resolving symlinks inside the
    /// rootfs: an image's /etc/passwd → /etc/shadow must not read the host's.
    private static func readTable(_ rootfs: String, _ path: String) -> [[String]]? {
        let fd = crt_open_in_root(rootfs, path)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 16384)
        while data.count < 4 << 20 {
            let count = read(fd, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            data += buffer[..<count]
        }
        let text = String(decoding: data, as: UTF8.self)
        return text.split(separator: "\n").filter { !$0.hasPrefix("#") }
            .map { $0.split(separator: ":", omittingEmptySubsequences: false).map(String.init) }
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}

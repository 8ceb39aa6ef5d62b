import FoundationEssentials
import Glibc
import SystemCalls

/// Docker's `local` volumes on this host: <dataRoot>/volumes/NAME/_data,
/// with NAME/volume.json beside it. A volume is made on first use or by
/// `volume create`, and lives until it is removed: containers only bind
/// its directory.
public struct VolumeStore: Sendable {
    public let root: String

    public init(root: String) { self.root = root }

    /// What `volume inspect` shows (Docker's fields).
    public struct Volume: Codable, Equatable, Sendable {
        public var CreatedAt: String
        public var Driver: String
        public var Labels: [String: String]
        public var Mountpoint: String
        public var Name: String
        public var Options: [String: String]
        public var Scope: String
    }

    public func directory(of name: String) -> String { root + "/" + name }
    public func mountpoint(of name: String) -> String { directory(of: name) + "/_data" }

    /// Docker's rule for names: a letter or digit, then letters, digits, `_`, `.` or `-`.
    public static func validate(name: String) throws {
        let allowed = name.unicodeScalars.allSatisfy { $0.isASCII && (isalnum(Int32($0.value)) != 0 || "_.-".unicodeScalars.contains($0)) }
        guard let first = name.unicodeScalars.first, isalnum(Int32(first.value)) != 0, allowed, name.utf8.count <= 255 else {
            throw RuntimeError.badInput("\"\(name)\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed")
        }
    }

    /// The volume `name`, made if it does not exist. `created`: whether this call made it.
    @discardableResult
    public func ensure(_ name: String, labels: [String: String] = [:]) throws -> (volume: Volume, created: Bool) {
        try Self.validate(name: name)
        if let existing = try? inspect(name) { return (existing, false) }
        try FileManager.default.createDirectory(atPath: directory(of: name), withIntermediateDirectories: true)
        let data = mountpoint(of: name)
        if mkdir(data, 0o755) != 0 && errno != EEXIST { throw RuntimeError.system(errno: errno, call: "mkdir", detail: data) }
        let volume = Volume(CreatedAt: Self.now(), Driver: "local", Labels: labels, Mountpoint: data, Name: name, Options: [:], Scope: "local")
        try writeFileAtomically(Array(try JSONEncoder().encode(volume)), to: directory(of: name) + "/volume.json", mode: 0o644)
        return (volume, true)
    }

    public func inspect(_ name: String) throws -> Volume {
        guard let data = FileManager.default.contents(atPath: directory(of: name) + "/volume.json"),
              let volume = try? JSONDecoder().decode(Volume.self, from: data) else {
            throw RuntimeError.badInput("No such volume: \(name)")
        }
        return volume
    }

    public func list() -> [Volume] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return names.sorted().compactMap { try? inspect($0) }
    }

    /// Removes the volume and its data. `users`: the containers that mount it
    /// (Docker refuses while there are any, even stopped ones).
    public func remove(_ name: String, users: [String]) throws {
        _ = try inspect(name)
        guard users.isEmpty else {
            throw RuntimeError.conflict("remove \(name): volume is in use - [\(users.joined(separator: ", "))]")
        }
        try FileManager.default.removeItem(atPath: directory(of: name))
    }

    static func now() -> String {
        var seconds = time(nil), parts = tm()
        gmtime_r(&seconds, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%SZ", &parts)
        return String(cString: buffer)
    }
}

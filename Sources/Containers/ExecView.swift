import Glibc
import SystemCalls

/// What `exec` needs of a container's record, kept in a file of its own
/// beside config.json (`exec`): NUL-terminated names and values, read
/// without JSONDecoder, whose Codable machinery cost about a millisecond of
/// every `container exec` (the Swift runtime looks up each decoded type's
/// conformances in this large binary). `ContainerStore.save` writes it from
/// the record with config.json, which stays the one source.
public struct ExecView: Equatable, Sendable {
    public var workingDir: String
    public var user: ResolvedUser
    /// The environment the container's process got.
    public var env: [String]
    /// The spec's own entries (whether HOME was given explicitly).
    public var specEnv: [String]
    public var capAdd: [String]
    public var capDrop: [String]
    public var seccomp: Bool
    public var cgroupPath: String

    public init(_ record: ContainerRecord) {
        workingDir = record.workingDir
        user = record.user
        env = record.env
        specEnv = record.spec.env
        capAdd = record.spec.capAdd
        capDrop = record.spec.capDrop
        seccomp = record.spec.seccomp
        cgroupPath = record.cgroupPath
    }

    /// The file's contents; nil if a value holds a NUL (then exec reads config.json).
    var bytes: [UInt8]? {
        var fields: [(String, String)] = [("workingDir", workingDir), ("uid", String(user.uid)), ("gid", String(user.gid)),
                                          ("home", user.home), ("seccomp", seccomp ? "1" : "0"), ("cgroupPath", cgroupPath)]
        fields += user.groups.map { ("group", String($0)) } + env.map { ("env", $0) } + specEnv.map { ("specEnv", $0) }
            + capAdd.map { ("capAdd", $0) } + capDrop.map { ("capDrop", $0) }
        var bytes: [UInt8] = []
        for (name, value) in fields {
            if value.utf8.contains(0) { return nil }
            bytes += name.utf8
            bytes.append(0)
            bytes += value.utf8
            bytes.append(0)
        }
        return bytes
    }

    /// nil if the file is not one `bytes` made.
    init?(bytes: [UInt8]) {
        let parts = bytes.split(separator: 0, omittingEmptySubsequences: false)
        guard parts.count % 2 == 1, parts.last?.isEmpty == true else { return nil }
        var workingDir: String?, uid: UInt32?, gid: UInt32?, home: String?, seccomp: Bool?, cgroupPath: String?
        var groups: [UInt32] = [], env: [String] = [], specEnv: [String] = [], capAdd: [String] = [], capDrop: [String] = []
        for index in stride(from: 0, to: parts.count - 1, by: 2) {
            let value = String(decoding: parts[index + 1], as: UTF8.self)
            switch String(decoding: parts[index], as: UTF8.self) {
            case "workingDir": workingDir = value
            case "uid": uid = UInt32(value)
            case "gid": gid = UInt32(value)
            case "home": home = value
            case "seccomp": seccomp = value == "1"
            case "cgroupPath": cgroupPath = value
            case "group":
                guard let group = UInt32(value) else { return nil }
                groups.append(group)
            case "env": env.append(value)
            case "specEnv": specEnv.append(value)
            case "capAdd": capAdd.append(value)
            case "capDrop": capDrop.append(value)
            default: return nil
            }
        }
        guard let workingDir, let uid, let gid, let home, let seccomp, let cgroupPath else { return nil }
        self.workingDir = workingDir
        user = ResolvedUser(uid: uid, gid: gid, groups: groups, home: home)
        self.env = env
        self.specEnv = specEnv
        self.capAdd = capAdd
        self.capDrop = capDrop
        self.seccomp = seccomp
        self.cgroupPath = cgroupPath
    }
}

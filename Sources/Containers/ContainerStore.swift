import Dispatch
import FoundationEssentials
import Glibc
import OCIImages
import SystemCalls

/// The image a container runs, and where its writable layer lives.
public struct ImageUse: Codable, Equatable, Sendable {
    /// As the user named it.
    public var reference: String
    /// The image ID (config digest).
    public var id: Digest
    public var manifest: Digest
    /// Unpacked layer directories, lowest first.
    public var layers: [String]
    /// Holds upper/, work/ and merged/ of the container's overlay.
    public var dataDir: String
    public var exposedPorts: [String]
    public var healthcheck: ImageConfig.Healthcheck?
}

/// What is recorded about a container when it is created (its config.json).
public struct ContainerRecord: Codable, Equatable, Sendable {
    public var id: String
    public var name: String
    public var created: Date
    public var spec: ContainerSpec
    /// The command line, after the image's Entrypoint and Cmd are applied.
    public var argv: [String]
    public var workingDir: String
    public var stopSignal: Int32
    /// The root file system: spec.rootfs, or the overlay mount point of an image.
    public var rootfs: String
    public var image: ImageUse?
    public var health: HealthSettings?
    public var hostname: String
    public var user: ResolvedUser
    /// The environment the process gets: Docker's defaults merged with the spec's.
    public var env: [String]
    public var cgroupPath: String
    public var logPath: String
    /// The volumes it mounts, by name (anonymous ones included).
    public var volumes: [String]? = nil
}

public enum ContainerStatus: String, Codable, Sendable {
    /// Set up is under way (or failed before the process started).
    case created
    case running
    case exited
    /// The monitor died without recording an exit status.
    case dead
}

/// The live state, read from the files the monitor writes.
public struct ContainerState: Equatable, Sendable {
    public var status: ContainerStatus
    public var pid: pid_t = 0
    public var monitorPid: pid_t = 0
    public var startedAt: Date?
    public var finishedAt: Date?
    public var exitCode: Int32?
    public var signal: Int32?
    /// Docker's State.Health, while a health check runs.
    public var health: HealthState?
}

/// The monitor's health file: Docker's State.Health.
public struct HealthState: Codable, Equatable, Sendable {
    public struct Result: Codable, Equatable, Sendable {
        public var Start: String
        public var End: String
        public var ExitCode: Int
        public var Output: String
    }
    public var Status: String
    public var FailingStreak: Int
    public var Log: [Result]
}

public struct ContainerInfo: Sendable {
    public var record: ContainerRecord
    public var state: ContainerState
    public var id: String { record.id }
    public var name: String { record.name }
}

/// Containers' state on disk under `root` (default /run/swarm):
/// containers/<id>/{config.json, exec (see ExecView), pid, exit, hostname, hosts, resolv.conf,
/// <id>-json.log*} and names/<name> → <id>. Any process can read it.
public struct ContainerStore: Sendable {
    public let root: String
    public var containersDir: String { root + "/containers" }
    public var namesDir: String { root + "/names" }

    public init(root: String) { self.root = root }

    public func directory(of id: String) -> String { containersDir + "/" + id }
    public func nameLink(_ name: String) -> String { namesDir + "/" + name }

    /// Claims a name atomically; fails like Docker if it is taken.
    public func reserve(name: String, for id: String) throws {
        try FileManager.default.createDirectory(atPath: namesDir, withIntermediateDirectories: true)
        if symlink(id, nameLink(name)) != 0 {
            if errno == EEXIST {
                let owner = (try? FileManager.default.destinationOfSymbolicLink(atPath: nameLink(name))) ?? "?"
                throw RuntimeError.conflict("Conflict. The container name \"/\(name)\" is already in use by container \"\(owner)\". You have to remove (or rename) that container to be able to reuse that name.")
            }
            throw RuntimeError.system(errno: errno, call: "symlink", detail: nameLink(name))
        }
    }

    public func save(_ record: ContainerRecord) throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970   // no ICU on the start path
        encoder.outputFormatting = [.sortedKeys]
        let path = directory(of: record.id) + "/config.json"
        if !writeFile(path, try encoder.encode(record)) { throw RuntimeError.system(errno: errno, call: "write", detail: path) }
        let execPath = directory(of: record.id) + "/exec"
        if let bytes = ExecView(record).bytes {
            if !writeFile(execPath, Data(bytes)) { throw RuntimeError.system(errno: errno, call: "write", detail: execPath) }
        } else {
            unlink(execPath)
        }
    }

    /// What `exec` needs, from the `exec` file (from config.json for a
    /// container made before that file was).
    public func execView(id: String) throws -> ExecView {
        if let bytes = readFileBytes(directory(of: id) + "/exec"), let view = ExecView(bytes: bytes) { return view }
        return ExecView(try load(id: id))
    }

    public func load(id: String) throws -> ContainerRecord {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: directory(of: id) + "/config.json"))
            return try decoder.decode(ContainerRecord.self, from: data)
        } catch {
            throw RuntimeError.noSuchContainer(id)
        }
    }

    public func ids() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: containersDir)) ?? []).filter { !$0.hasPrefix(".") }
    }

    /// Finds a container by full id, name, or unique id prefix (Docker's order).
    public func resolve(_ ref: String) throws -> ContainerRecord {
        try load(id: resolveID(ref))
    }

    /// The id `resolve` finds, without reading the record.
    public func resolveID(_ ref: String) throws -> String {
        // An id, then a name, asked of the file system directly: listing
        // the directory costs O(n) for n containers, and `exec` runs this
        // at every start. Only a prefix needs the listing.
        if isContainer(ref) { return ref }
        let name = ref.hasPrefix("/") ? String(ref.dropFirst()) : ref
        if let id = Self.linkTarget(nameLink(name)), isContainer(id) { return id }
        let all = ids()
        let matches = ref.isEmpty ? [] : all.filter { $0.hasPrefix(ref) }
        if matches.count > 1 { throw RuntimeError.conflict("multiple IDs found with provided prefix: \(ref)") }
        guard let id = matches.first else { throw RuntimeError.noSuchContainer(ref) }
        return id
    }

    /// `id` names a directory of containers/ that holds a record.
    private func isContainer(_ id: String) -> Bool {
        !id.isEmpty && !id.hasPrefix(".") && !id.contains("/") && access(directory(of: id) + "/config.json", F_OK) == 0
    }

    static func linkTarget(_ path: String) -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = readlink(path, &buffer, buffer.count)
        return count > 0 ? String(decoding: buffer[..<count], as: UTF8.self) : nil
    }

    /// Reads the monitor's pid and exit files.
    public func state(of record: ContainerRecord) -> ContainerState {
        state(id: record.id, health: record.health != nil)
    }

    /// `health`: the container has a health check (its file is read).
    public func state(id: String, health: Bool) -> ContainerState {
        let dir = directory(of: id)
        guard let pidFields = readFields(dir + "/pid"), pidFields.count >= 3 else {
            return ContainerState(status: .created)
        }
        var state = ContainerState(status: .running)
        if health, let data = FileManager.default.contents(atPath: dir + "/health") {
            state.health = try? JSONDecoder().decode(HealthState.self, from: data)
        }
        state.monitorPid = pid_t(pidFields[0]) ?? 0
        state.pid = pid_t(pidFields[1]) ?? 0
        state.startedAt = UInt64(pidFields[2]).map(Self.date(ns:))
        if let exit = readFields(dir + "/exit"), exit.count >= 3 {
            state.status = .exited
            state.exitCode = Int32(exit[0])
            state.signal = Int32(exit[1]).flatMap { $0 == 0 ? nil : $0 }
            state.finishedAt = UInt64(exit[2]).map(Self.date(ns:))
            state.pid = 0
            return state
        }
        if !Self.isAlive(state.pid, inCgroup: id) && !Self.isAlive(state.monitorPid) {
            state.status = .dead
            state.pid = 0
        }
        return state
    }

    public func info(_ record: ContainerRecord) -> ContainerInfo {
        ContainerInfo(record: record, state: state(of: record))
    }

    public func list() -> [ContainerInfo] {
        ids().compactMap { try? load(id: $0) }.map(info).sorted { $0.record.created > $1.record.created }
    }

    /// Removes the container's files and its name.
    public func delete(_ record: ContainerRecord) throws {
        if let owner = try? FileManager.default.destinationOfSymbolicLink(atPath: nameLink(record.name)), owner == record.id {
            unlink(nameLink(record.name))
        }
        let dir = directory(of: record.id)
        if FileManager.default.fileExists(atPath: dir) { try FileManager.default.removeItem(atPath: dir) }
        if let data = record.image?.dataDir, FileManager.default.fileExists(atPath: data) {
            try FileManager.default.removeItem(atPath: data)
        }
    }

    /// A process that is alive and, if `cgroup` is given, a member of the
    /// container's cgroup (so a recycled pid is not mistaken for it).
    static func isAlive(_ pid: pid_t, inCgroup cgroup: String? = nil) -> Bool {
        guard pid > 0, kill(pid, 0) == 0 || errno == EPERM else { return false }
        guard let cgroup else { return true }
        let text = Self.contents("/proc/\(pid)/cgroup") ?? ""
        return text.split(separator: "\n").contains { $0.hasPrefix("0::") && $0.hasSuffix("/" + cgroup) }
    }

    /// 64 lowercase hex digits, as `ContainerRuntime.newID()` makes them.
    static func isFullID(_ ref: String) -> Bool {
        ref.utf8.count == 64 && ref.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    static func date(ns: UInt64) -> Date { Date(timeIntervalSince1970: Double(ns) / 1e9) }

    /// A small file as text (`exec` reads these at every start).
    static func contents(_ path: String) -> String? {
        readFileBytes(path).map { String(decoding: $0, as: UTF8.self) }
    }

    private func readFields(_ path: String) -> [String]? {
        guard let text = Self.contents(path) else { return nil }
        return text.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
    }
}

/// All of a small file by plain calls; nil if it cannot be opened. Cheaper
/// than Foundation's readers where every start counts (`container exec`).
func readFileBytes(_ path: String) -> [UInt8]? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    return readAll(fd)
}

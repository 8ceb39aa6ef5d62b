import FoundationEssentials
import Glibc
import SystemCalls

/// Volumes in containers: which a container mounts (its own, and the
/// image's VOLUMEs as anonymous ones, as Docker does), making them on first
/// use, and `volume rm|prune` refusing those still mounted.
extension ContainerRuntime {
    public var volumes: VolumeStore { VolumeStore(root: dataRoot + "/volumes") }

    /// Docker marks the volumes it made for one container.
    public static let anonymousLabel = "com.docker.volume.anonymous"

    struct VolumeUse: Equatable {
        var name: String
        var target: String
        var readOnly: Bool
        var anonymous: Bool
        /// Fill a new volume with the image's files at `target`.
        var copyImageFiles: Bool
    }

    /// The volumes `spec` mounts, named: its own, then the image's VOLUMEs
    /// no other mount covers. Nothing is made yet.
    func volumeUses(_ spec: ContainerSpec, imageVolumes: [String]) throws -> [VolumeUse] {
        var uses: [VolumeUse] = []
        for volume in spec.volumes ?? [] {
            uses.append(VolumeUse(name: volume.name ?? Self.anonymousName(spec.anonymousVolumePrefix, volume.target), target: volume.target,
                                  readOnly: volume.readOnly, anonymous: volume.name == nil, copyImageFiles: !volume.noCopy))
        }
        let covered = Set(spec.mounts.map(\.target) + (spec.tmpfs ?? []).map(\.target) + uses.map(\.target))
        for path in imageVolumes.sorted() where !covered.contains(Self.normalized(path)) {
            let target = Self.normalized(path)
            uses.append(VolumeUse(name: Self.anonymousName(spec.anonymousVolumePrefix, target), target: target,
                                  readOnly: false, anonymous: true, copyImageFiles: true))
        }
        for use in uses { try VolumeStore.validate(name: use.name) }
        return uses
    }

    /// "/var/lib/data/" → "/var/lib/data".
    static func normalized(_ path: String) -> String {
        let trimmed = String(path.reversed().drop { $0 == "/" }.reversed())
        return trimmed.isEmpty ? "/" : trimmed
    }

    /// PREFIX-var-lib-data for a stable prefix, else Docker's 64 hex digits.
    static func anonymousName(_ prefix: String?, _ target: String) -> String {
        guard let prefix else { return newID() }
        return prefix + target.map { $0 == "/" ? "-" : $0 }.reduce(into: "") { $0.append($1) }
    }

    /// Makes the volumes that do not exist yet; a new one gets the image's
    /// files at its path (Docker's copy-up: a database image's VOLUME
    /// starts with what the image put there, owners and modes kept).
    func makeVolumes(_ uses: [VolumeUse], layers: [String]) throws {
        for use in uses {
            let labels = use.anonymous ? [Self.anonymousLabel: ""] : [:]
            let (volume, created) = try volumes.ensure(use.name, labels: labels)
            guard created, use.copyImageFiles else { continue }
            // Lowest layer first, so upper layers' files win.
            for layer in layers {
                var info = stat()
                guard stat(layer + use.target, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else { continue }
                try copyTree(from: layer + use.target, to: volume.Mountpoint)
            }
        }
    }

    /// `cp -a FROM/. TO/`: owners, modes, links and times kept.
    private func copyTree(from source: String, to destination: String) throws {
        var pid = pid_t()
        let argv = ["/bin/cp", "-a", source + "/.", destination + "/"]
        var cArgs = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        let spawned = posix_spawn(&pid, argv[0], nil, nil, &cArgs, environ)
        guard spawned == 0 else { throw RuntimeError.system(errno: spawned, call: "posix_spawn", detail: "/bin/cp") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        guard status == 0 else {
            throw RuntimeError.badInput("copying the image's files from \(source) into volume \(destination) failed (cp exit status \(status >> 8))")
        }
    }

    /// The containers (ids) that mount volume `name`, running or not.
    public func volumeUsers(_ name: String) -> [String] {
        store.list().filter { $0.record.volumes?.contains(name) == true }.map(\.id)
    }

    /// `volume rm`: refused while a container mounts it.
    public func removeVolume(_ name: String) throws {
        try volumes.remove(name, users: volumeUsers(name))
    }

    /// `volume prune`: unused volumes, only anonymous ones unless `all`. Their names.
    public func pruneVolumes(all: Bool) -> [String] {
        let used = Set(store.list().flatMap { $0.record.volumes ?? [] })
        var removed: [String] = []
        for volume in volumes.list() where !used.contains(volume.Name) && (all || volume.Labels[Self.anonymousLabel] != nil) {
            if (try? volumes.remove(volume.Name, users: [])) != nil { removed.append(volume.Name) }
        }
        return removed
    }

    /// `rm -v` and `--rm`: the container's anonymous volumes no other container mounts.
    func removeAnonymousVolumes(of record: ContainerRecord) {
        for name in record.volumes ?? [] {
            guard let volume = try? volumes.inspect(name), volume.Labels[Self.anonymousLabel] != nil, volumeUsers(name).isEmpty else { continue }
            try? volumes.remove(name, users: [])
        }
    }
}

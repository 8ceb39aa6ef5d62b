import SystemCalls

/// A volume in a container (`-v NAME:/path[:ro]`, `--mount type=volume`):
/// a named one, or (name nil) an anonymous one made for the container.
public struct VolumeMount: Codable, Equatable, Sendable {
    public var name: String?
    public var target: String
    public var readOnly: Bool
    /// Do not copy the image's files at `target` into a new volume.
    public var noCopy: Bool

    public init(name: String?, target: String, readOnly: Bool = false, noCopy: Bool = false) {
        self.name = name; self.target = target; self.readOnly = readOnly; self.noCopy = noCopy
    }
}

/// A tmpfs in a container (`--tmpfs /path`, `--mount type=tmpfs`).
public struct TmpfsMount: Codable, Equatable, Sendable {
    public var target: String
    /// Bytes; nil: the kernel's default (half the RAM).
    public var sizeBytes: Int64?
    /// Permission bits; nil: 1777, as Docker.
    public var mode: UInt32?

    public init(target: String, sizeBytes: Int64? = nil, mode: UInt32? = nil) {
        self.target = target; self.sizeBytes = sizeBytes; self.mode = mode
    }

    /// The mount's options: "mode=1777,size=65536k".
    var options: String {
        "mode=" + String(mode ?? 0o1777, radix: 8) + (sizeBytes.map { ",size=\($0)" } ?? "")
    }
}

/// What `--mount` and `-v` mean, for `container run`.
public enum MountOption: Equatable, Sendable {
    case bind(BindMount)
    case volume(VolumeMount)
    case tmpfs(TmpfsMount)

    /// Docker's `--mount type=bind|volume|tmpfs,source=…,target=…[,readonly][,volume-nocopy][,tmpfs-size=…][,tmpfs-mode=…]`.
    public static func parse(mount text: String) throws -> MountOption {
        var type = "volume", source: String?, target: String?, readOnly = false, noCopy = false
        var size: Int64?, mode: UInt32?
        for field in text.split(separator: ",", omittingEmptySubsequences: true) {
            let parts = field.split(separator: "=", maxSplits: 1).map(String.init)
            let key = parts[0].lowercased(), value = parts.count > 1 ? parts[1] : nil
            func flag() throws -> Bool {
                switch value?.lowercased() {
                case nil, "true", "1": return true
                case "false", "0": return false
                default: throw RuntimeError.badInput("invalid --mount \(text): \(key) takes true or false")
                }
            }
            switch key {
            case "type": type = value ?? ""
            case "source", "src": source = value
            case "target", "destination", "dst": target = value
            case "readonly", "ro": readOnly = try flag()
            case "volume-nocopy": noCopy = try flag()
            case "tmpfs-size": size = try value.map(Resources.parseBytes)
            case "tmpfs-mode":
                guard let value, let bits = UInt32(value, radix: 8) else { throw RuntimeError.badInput("invalid --mount \(text): tmpfs-mode takes octal bits (e.g. 1770)") }
                mode = bits
            case "bind-propagation", "consistency", "volume-driver", "volume-label": continue
            default: throw RuntimeError.badInput("invalid --mount \(text): unknown field \(key)")
            }
        }
        guard let target, target.hasPrefix("/") else {
            throw RuntimeError.badInput("invalid --mount \(text): target must be an absolute path")
        }
        switch type {
        case "bind": return .bind(try BindMount.parse(text))
        case "volume":
            if let source { try VolumeStore.validate(name: source) }
            return .volume(VolumeMount(name: source.flatMap { $0.isEmpty ? nil : $0 }, target: target, readOnly: readOnly, noCopy: noCopy))
        case "tmpfs":
            guard source == nil else { throw RuntimeError.badInput("invalid --mount \(text): a tmpfs takes no source") }
            return .tmpfs(TmpfsMount(target: target, sizeBytes: size, mode: mode))
        default: throw RuntimeError.badInput("invalid --mount \(text): type must be bind, volume or tmpfs")
        }
    }

    /// Docker's `-v`: `/host:/path[:ro]` binds, `NAME:/path[:ro]` a named volume, `/path` an anonymous one.
    public static func parse(volume text: String) throws -> MountOption {
        var parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        var readOnly = false
        if parts.count == 3 || (parts.count == 2 && ["ro", "rw"].contains(parts[1])) {
            let mode = parts.removeLast()
            guard ["ro", "rw"].contains(mode) else { throw RuntimeError.badInput("invalid volume specification: '\(text)': the mode must be ro or rw") }
            readOnly = mode == "ro"
        }
        guard let target = parts.last, target.hasPrefix("/"), parts.count <= 2 else {
            throw RuntimeError.badInput("invalid volume specification: '\(text)': use NAME:/path, /host/path:/path or /path, with :ro at the end for read-only")
        }
        guard parts.count == 2 else { return .volume(VolumeMount(name: nil, target: target, readOnly: readOnly)) }
        let source = parts[0]
        if source.hasPrefix("/") { return .bind(BindMount(source: source, target: target, readOnly: readOnly)) }
        try VolumeStore.validate(name: source)
        return .volume(VolumeMount(name: source, target: target, readOnly: readOnly))
    }

    /// `--tmpfs /path[:size=64m,mode=1770]`.
    public static func parse(tmpfs text: String) throws -> TmpfsMount {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard let target = parts.first, target.hasPrefix("/") else {
            throw RuntimeError.badInput("invalid --tmpfs \(text): give an absolute path, optionally followed by :size=64m,mode=1770")
        }
        var mount = TmpfsMount(target: target)
        for option in parts.count > 1 ? parts[1].split(separator: ",").map(String.init) : [] {
            let pair = option.split(separator: "=", maxSplits: 1).map(String.init)
            switch (pair[0], pair.count > 1 ? pair[1] : nil) {
            case ("size", let value?): mount.sizeBytes = try Resources.parseBytes(value)
            case ("mode", let value?):
                guard let bits = UInt32(value, radix: 8) else { throw RuntimeError.badInput("invalid --tmpfs \(text): mode takes octal bits") }
                mount.mode = bits
            case ("rw", nil), ("noexec", nil), ("nosuid", nil), ("nodev", nil), ("exec", nil): continue
            default: throw RuntimeError.badInput("invalid --tmpfs \(text): unknown option \(option) (use size= and mode=)")
            }
        }
        return mount
    }
}

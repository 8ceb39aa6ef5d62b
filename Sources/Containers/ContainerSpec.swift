import Dispatch
import FoundationEssentials
import Glibc
import OCIImages
import SwarmAPI
import SystemCalls

/// What to run and how to isolate it: everything a container needs from its
/// caller. Stored as-is in the container's state so other processes see it.
public struct ContainerSpec: Codable, Equatable, Sendable {
    /// The image to run (a reference or an image ID); nil runs `rootfs`.
    public var image: String?
    /// A root file system directory, used as it is when `image` is nil.
    public var rootfs: String
    /// With an image: replaces the image's Entrypoint (and then its Cmd is not used).
    public var entrypoint: [String]?
    /// With an image: replaces the image's Cmd. Without: the whole command line.
    public var command: [String]
    public var env: [String] = []
    /// nil: the image's WorkingDir, or "/".
    public var workingDir: String?
    /// "uid", "uid:gid", "name" or "name:group", looked up in the rootfs.
    public var user: String?
    public var hostname: String?
    public var mounts: [BindMount] = []
    public var capAdd: [String] = []
    public var capDrop: [String] = []
    public var readOnlyRootfs = false
    /// Run a reaping init as PID 1 in front of the command.
    public var initProcess = false
    public var network: NetworkMode = .none
    /// With `network` .none: join this network namespace (a bind-mounted
    /// nsfs file, as the agent's overlay data path makes one per task)
    /// instead of making an empty one. Nil in specs stored before it existed.
    public var networkNamespace: String?
    /// Replace the host's nameservers in /etc/resolv.conf (its search and
    /// options stay): ["127.0.0.11"] for a task on an overlay network.
    public var nameservers: [String]?
    /// The container's own address, written for its hostname in /etc/hosts.
    public var hostAddress: String?
    public var resources = Resources()
    /// Namespaced kernel parameters written in the container's namespaces before exec (`--sysctl`).
    public var sysctls: [String: String]?
    /// setrlimit before exec (`--ulimit`); -1 is unlimited.
    public var ulimits: [Ulimit]?
    /// nil: the image's StopSignal, or SIGTERM.
    public var stopSignal: Int32?
    public var stopTimeout: Int = 10
    public var log = LogOptions()
    /// Remove the container when it exits (`--rm`).
    public var autoRemove = false
    /// Use Docker's default seccomp profile (`--security-opt seccomp=unconfined` turns it off).
    public var seccomp = true
    /// Overrides the image's health check field by field (`--health-*`);
    /// Test ["NONE"] turns it off (`--no-healthcheck`).
    public var healthcheck: ImageConfig.Healthcheck?
    /// Docker's container labels (the agent marks its task containers).
    public var labels: [String: String]?
    /// Volumes: named ones are made on first use, anonymous ones for the
    /// container (as are the image's VOLUMEs not otherwise mounted).
    public var volumes: [VolumeMount]?
    public var tmpfs: [TmpfsMount]?
    /// Names the anonymous volumes PREFIX-path (a service slot's: the task
    /// replacing another gets its volumes back); nil: random names, as Docker.
    public var anonymousVolumePrefix: String?
    /// A pty for the container (`-t`): its monitor keeps the master, its
    /// output is one stream. Nil in specs stored before it existed.
    public var tty: Bool?
    /// Keep stdin open for attached callers (`-i`).
    public var openStdin: Bool?

    public init(rootfs: String, command: [String]) {
        self.rootfs = rootfs
        self.command = command
    }

    public init(image: String, command: [String] = []) {
        self.image = image
        self.rootfs = ""
        self.command = command
    }
}

public enum NetworkMode: String, Codable, Sendable {
    /// A network namespace with only loopback, up.
    case none
    /// The host's network namespace.
    case host
}

public struct BindMount: Codable, Equatable, Sendable {
    public var source: String
    public var target: String
    public var readOnly: Bool

    public init(source: String, target: String, readOnly: Bool = false) {
        self.source = source
        self.target = target
        self.readOnly = readOnly
    }

    /// Parses Docker's `--mount type=bind,source=S,target=T[,readonly]`
    /// (also `src`/`dst`/`destination`, `ro`, `readonly=true|false`).
    public static func parse(_ text: String) throws -> BindMount {
        var type = "volume", source: String?, target: String?, readOnly = false
        for field in text.split(separator: ",", omittingEmptySubsequences: true) {
            let parts = field.split(separator: "=", maxSplits: 1).map(String.init)
            let key = parts[0].lowercased(), value = parts.count > 1 ? parts[1] : nil
            switch key {
            case "type": type = value ?? ""
            case "source", "src": source = value
            case "target", "destination", "dst": target = value
            case "readonly", "ro":
                switch value?.lowercased() {
                case nil, "true", "1": readOnly = true
                case "false", "0": readOnly = false
                default: throw RuntimeError.badInput("invalid --mount \(text): readonly takes true or false")
                }
            case "bind-propagation", "consistency": continue
            default: throw RuntimeError.badInput("invalid --mount \(text): unknown field \(key)")
            }
        }
        guard type == "bind" else {
            throw RuntimeError.badInput("invalid --mount \(text): only type=bind is supported")
        }
        guard let source, !source.isEmpty else { throw RuntimeError.badInput("invalid --mount \(text): source is required") }
        guard let target, target.hasPrefix("/") else {
            throw RuntimeError.badInput("invalid --mount \(text): target must be an absolute path")
        }
        return BindMount(source: source, target: target, readOnly: readOnly)
    }
}

public struct Resources: Codable, Equatable, Sendable {
    /// memory.max in bytes.
    public var memoryBytes: Int64?
    /// CPUs as a fraction of one (0.5 = half a CPU), written to cpu.max.
    public var nanoCPUs: Int64?
    /// pids.max.
    public var pidsLimit: Int64?

    public init(memoryBytes: Int64? = nil, nanoCPUs: Int64? = nil, pidsLimit: Int64? = nil) {
        self.memoryBytes = memoryBytes
        self.nanoCPUs = nanoCPUs
        self.pidsLimit = pidsLimit
    }

    public var isEmpty: Bool { memoryBytes == nil && nanoCPUs == nil && pidsLimit == nil }

    /// Docker's size syntax: 64m, 1g, 512k, 100b, 64mb, plain bytes.
    public static func parseBytes(_ text: String) throws -> Int64 {
        guard let value = ByteSize.parse(text.filter { !$0.isWhitespace }), value >= 0 else {
            throw RuntimeError.badInput("invalid size \(text): use a number with an optional unit b, k, m or g (e.g. 64m)")
        }
        return value
    }

    public static func parseMemory(_ text: String) throws -> Int64 {
        let bytes = try parseBytes(text)
        // Docker's minimum; below it the container cannot even start.
        guard bytes >= 6 << 20 else { throw RuntimeError.badInput("invalid --memory \(text): the minimum is 6m") }
        return bytes
    }

    public static func parseCPUs(_ text: String) throws -> Int64 {
        let available = ProcessInfo.processInfo.activeProcessorCount
        guard let value = Double(text), value > 0, value <= Double(available) else {
            throw RuntimeError.badInput("invalid --cpus \(text): range of CPUs is from 0.01 to \(available).00, as there are only \(available) CPUs available")
        }
        return Int64((value * 1e9).rounded())
    }
}

public struct LogOptions: Codable, Equatable, Sendable {
    /// Rotate the json-file log beyond this many bytes; 0 = never.
    public var maxSize: Int64 = 10 << 20
    /// Files kept, the current one included.
    public var maxFiles: Int = 3

    public init(maxSize: Int64 = 10 << 20, maxFiles: Int = 3) {
        self.maxSize = maxSize
        self.maxFiles = maxFiles
    }

    /// Applies Docker's `--log-opt max-size=10m` / `max-file=3`.
    public mutating func apply(_ option: String) throws {
        let parts = option.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { throw RuntimeError.badInput("invalid --log-opt \(option): use key=value") }
        switch parts[0] {
        case "max-size": maxSize = try Resources.parseBytes(parts[1])
        case "max-file":
            guard let n = Int(parts[1]), n >= 1 else {
                throw RuntimeError.badInput("invalid --log-opt \(option): max-file must be a positive integer")
            }
            maxFiles = n
        default: throw RuntimeError.badInput("unknown log opt '\(parts[0])' for json-file log driver: use max-size or max-file")
        }
    }
}

/// A health check as the monitor runs it, after merging image and user settings.
public struct HealthSettings: Codable, Equatable, Sendable {
    public var argv: [String]
    public var interval: Int64
    public var timeout: Int64
    public var startPeriod: Int64
    public var retries: Int

    /// Docker's defaults: 30 s interval and timeout, no start period, 3 retries.
    /// nil when there is no check (no Test, or Test ["NONE"]).
    public static func merge(image: ImageConfig.Healthcheck?, user: ImageConfig.Healthcheck?) throws -> HealthSettings? {
        let test = user?.Test ?? image?.Test
        guard let test, let kind = test.first, kind != "NONE" else { return nil }
        let argv: [String]
        switch kind {
        case "CMD": argv = Array(test.dropFirst())
        case "CMD-SHELL": argv = ["/bin/sh", "-c", test.dropFirst().joined(separator: " ")]
        default: throw RuntimeError.badInput("invalid health check test \(test): it must start with CMD, CMD-SHELL or NONE")
        }
        guard !argv.isEmpty else { throw RuntimeError.badInput("invalid health check: no command given") }
        func value(_ key: KeyPath<ImageConfig.Healthcheck, Int64?>, _ fallback: Int64) -> Int64 {
            let chosen = user?[keyPath: key] ?? image?[keyPath: key] ?? 0
            return chosen > 0 ? chosen : fallback
        }
        let retries = user?.Retries ?? image?.Retries ?? 0
        return HealthSettings(argv: argv, interval: value(\.Interval, 30_000_000_000), timeout: value(\.Timeout, 30_000_000_000),
                              startPeriod: value(\.StartPeriod, 0), retries: retries > 0 ? retries : 3)
    }
}

/// Go duration strings as Docker's flags take them: "30s", "1m30s", "200ms", "1h".
public enum Durations {
    public static func parse(_ text: String) throws -> Int64 {
        guard let value = GoDuration.parse(text), value >= 0 else { throw bad(text) }
        return value
    }

    static func bad(_ text: String) -> RuntimeError {
        RuntimeError.badInput("invalid duration \(text): use a number with a unit, e.g. 30s, 1m30s or 500ms")
    }
}

/// Signal names as Docker takes them: "SIGTERM", "TERM", "term", "15".
public enum Signals {
    static let table: [(String, Int32)] = [
        ("HUP", SIGHUP), ("INT", SIGINT), ("QUIT", SIGQUIT), ("ILL", SIGILL), ("TRAP", SIGTRAP),
        ("ABRT", SIGABRT), ("BUS", SIGBUS), ("FPE", SIGFPE), ("KILL", SIGKILL), ("USR1", SIGUSR1),
        ("SEGV", SIGSEGV), ("USR2", SIGUSR2), ("PIPE", SIGPIPE), ("ALRM", SIGALRM), ("TERM", SIGTERM),
        ("STKFLT", 16), ("CHLD", SIGCHLD), ("CONT", SIGCONT), ("STOP", SIGSTOP), ("TSTP", SIGTSTP),
        ("TTIN", SIGTTIN), ("TTOU", SIGTTOU), ("URG", SIGURG), ("XCPU", SIGXCPU), ("XFSZ", SIGXFSZ),
        ("VTALRM", SIGVTALRM), ("PROF", SIGPROF), ("WINCH", SIGWINCH), ("IO", SIGIO), ("PWR", SIGPWR),
        ("SYS", SIGSYS),
    ]

    public static func parse(_ text: String) throws -> Int32 {
        if let number = Int32(text), number > 0, number < 65 { return number }
        var name = text.uppercased()
        if name.hasPrefix("SIG") { name.removeFirst(3) }
        if let entry = table.first(where: { $0.0 == name }) { return entry.1 }
        throw RuntimeError.badInput("invalid signal: \(text): use a name such as SIGTERM or a number")
    }

    public static func name(_ number: Int32) -> String {
        table.first(where: { $0.1 == number }).map { "SIG" + $0.0 } ?? String(number)
    }
}

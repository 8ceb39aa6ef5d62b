import Containers
import Dispatch
import FoundationEssentials
import Glibc
import OCIImages

/// Docker's ways of printing things: tables, durations, statuses.
enum Render {
    /// Columns padded to the widest cell plus three spaces (Go's tabwriter as
    /// the docker CLI sets it up); the last column unpadded.
    static func table(_ rows: [[String]]) -> String {
        guard let columns = rows.first?.count else { return "" }
        var widths = [Int](repeating: 0, count: columns)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            row.enumerated().map { i, cell in
                i == columns - 1 ? cell : cell + String(repeating: " ", count: widths[i] + 3 - cell.count)
            }.joined().trimmingTrailingSpaces
        }.joined(separator: "\n") + "\n"
    }

    static func truncate(_ text: String, to limit: Int?) -> String {
        guard let limit, text.count > limit else { return text }
        return String(text.prefix(limit - 1)) + "…"
    }

    /// go-units' HumanDuration, which the docker CLI prints.
    static func humanDuration(_ interval: TimeInterval) -> String {
        let seconds = Int(interval)
        if seconds < 1 { return "Less than a second" }
        if seconds == 1 { return "1 second" }
        if seconds < 60 { return "\(seconds) seconds" }
        let minutes = Int(interval / 60)
        if minutes == 1 { return "About a minute" }
        if minutes < 60 { return "\(minutes) minutes" }
        let hours = Int(interval / 3600 + 0.5)
        if hours == 1 { return "About an hour" }
        if hours < 48 { return "\(hours) hours" }
        if hours < 24 * 7 * 2 { return "\(hours / 24) days" }
        if hours < 24 * 30 * 2 { return "\(hours / 24 / 7) weeks" }
        if hours < 24 * 365 * 2 { return "\(hours / 24 / 30) months" }
        return "\(Int(interval / 3600) / 24 / 365) years"
    }

    /// go-units' HumanSize (decimal units, 4 significant digits): "1.036MB".
    static func size(_ bytes: Int64) -> String {
        let units = ["B", "kB", "MB", "GB", "TB", "PB"]
        var value = Double(bytes), unit = 0
        while value >= 1000 && unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        return significant(value, 4) + units[unit]
    }

    /// Go's time.Duration String for whole units: "5s", "1m30s", "500ms", "0s".
    static func goDuration(_ nanoseconds: Int64) -> String {
        if nanoseconds == 0 { return "0s" }
        if nanoseconds < 1_000_000_000 { return nanoseconds % 1_000_000 == 0 ? "\(nanoseconds / 1_000_000)ms" : "\(Double(nanoseconds) / 1e6)ms" }
        var seconds = nanoseconds / 1_000_000_000
        var text = ""
        if seconds >= 3600 { text += "\(seconds / 3600)h"; seconds %= 3600 }
        if seconds >= 60 || !text.isEmpty { text += "\(seconds / 60)m"; seconds %= 60 }
        return text + "\(seconds)s"
    }

    /// go-units' BytesSize (binary units, 4 significant digits): "23.54GiB".
    static func binarySize(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var value = Double(bytes), unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return significant(value, 4) + units[unit]
    }

    /// Go's %.4g without trailing zeros.
    static func significant(_ value: Double, _ digits: Int) -> String {
        guard value != 0 else { return "0" }
        let magnitude = Int(log10(abs(value)).rounded(.down)) + 1
        let decimals = max(0, digits - magnitude)
        let scale = pow(10.0, Double(decimals))
        var text = String(Int64((value * scale).rounded()))
        if decimals > 0 {
            while text.count <= decimals { text = "0" + text }
            text.insert(".", at: text.index(text.endIndex, offsetBy: -decimals))
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text
    }

    /// Docker's download bar: [=====>      ]  1.049MB/10.49MB
    static func progressBar(current: Int64, total: Int64) -> String {
        let width = 50
        let filled = Int(Double(width) * Double(min(current, total)) / Double(max(total, 1)))
        var bar = String(repeating: "=", count: filled)
        if filled < width { bar += ">" + String(repeating: " ", count: width - filled - 1) }
        return "[\(bar)]  \(size(current))/\(size(total))"
    }

    /// "Up 5 seconds", "Exited (0) 3 minutes ago", "Created", "Dead".
    static func status(_ state: ContainerState, now: Date) -> String {
        switch state.status {
        case .created: return "Created"
        case .dead: return "Dead"
        case .running:
            let up = "Up " + humanDuration(now.timeIntervalSince(state.startedAt ?? now))
            switch state.health?.Status {
            case nil: return up
            case "starting": return up + " (health: starting)"
            case let status?: return up + " (\(status))"
            }
        case .exited:
            return "Exited (\(state.exitCode ?? -1)) " + humanDuration(now.timeIntervalSince(state.finishedAt ?? now)) + " ago"
        }
    }
}

/// `swarm container inspect` output, in Docker's field names.
struct ContainerInspect: Encodable {
    struct StateInfo: Encodable {
        var Status: String
        var Running: Bool
        var Paused = false
        var Restarting = false
        var OOMKilled = false
        var Dead: Bool
        var Pid: Int32
        var ExitCode: Int32
        var Error = ""
        var StartedAt: String
        var FinishedAt: String
        var Health: HealthState?
    }
    struct ConfigInfo: Encodable {
        var Hostname: String
        var User: String
        var Env: [String]
        var Cmd: [String]
        var Image: String
        var Entrypoint: [String]?
        var WorkingDir: String
        var StopSignal: String
        var StopTimeout: Int
        var ExposedPorts: [String: [String: String]]?
        var Healthcheck: ImageConfig.Healthcheck?
        var Tty = false
        var OpenStdin = false
    }
    struct MountInfo: Encodable {
        var `Type` = "bind"
        var Source: String
        var Destination: String
        var RW: Bool
    }
    struct HostConfigInfo: Encodable {
        var NetworkMode: String
        var CapAdd: [String]
        var CapDrop: [String]
        var ReadonlyRootfs: Bool
        var Init: Bool
        var AutoRemove: Bool
        var Memory: Int64
        var NanoCpus: Int64
        var PidsLimit: Int64
        var CgroupParent: String
    }
    var Id: String
    var Created: String
    var Path: String
    var Args: [String]
    var State: StateInfo
    var Name: String
    var Image: String
    var Rootfs: String
    var LogPath: String
    var Mounts: [MountInfo]
    var Config: ConfigInfo
    var HostConfig: HostConfigInfo

    init(_ info: ContainerInfo) {
        let record = info.record, spec = record.spec, state = info.state
        let zero = "0001-01-01T00:00:00Z"
        let format = { (date: Date?) in date.map { $0.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeSeparator(.colon).dateSeparator(.dash).dateTimeSeparator(.standard)) } ?? zero }
        Id = record.id
        Created = format(record.created)
        Path = record.argv.first ?? ""
        Args = Array(record.argv.dropFirst())
        State = StateInfo(Status: state.status.rawValue, Running: state.status == .running, Dead: state.status == .dead,
                      Pid: state.pid, ExitCode: state.exitCode ?? 0, StartedAt: format(state.startedAt),
                      FinishedAt: format(state.finishedAt), Health: state.health)
        Name = "/" + record.name
        Rootfs = record.rootfs
        LogPath = record.logPath
        Mounts = spec.mounts.map { MountInfo(Source: $0.source, Destination: $0.target, RW: !$0.readOnly) }
        Config = ConfigInfo(Hostname: record.hostname, User: spec.user ?? "", Env: record.env, Cmd: spec.command,
                            Image: record.image?.reference ?? "", Entrypoint: spec.entrypoint,
                            WorkingDir: record.workingDir, StopSignal: Signals.name(record.stopSignal),
                            StopTimeout: spec.stopTimeout,
                            ExposedPorts: record.image.map { Dictionary(uniqueKeysWithValues: $0.exposedPorts.map { ($0, [String: String]()) }) },
                            Healthcheck: record.image?.healthcheck)
        Config.Tty = spec.tty == true
        Config.OpenStdin = spec.openStdin == true
        Image = record.image?.id.description ?? ""
        HostConfig = HostConfigInfo(NetworkMode: spec.network.rawValue, CapAdd: spec.capAdd, CapDrop: spec.capDrop,
                           ReadonlyRootfs: spec.readOnlyRootfs, Init: spec.initProcess, AutoRemove: spec.autoRemove,
                           Memory: spec.resources.memoryBytes ?? 0, NanoCpus: spec.resources.nanoCPUs ?? 0,
                           PidsLimit: spec.resources.pidsLimit ?? 0, CgroupParent: record.cgroupPath)
    }
}

extension String {
    var trimmingTrailingSpaces: String {
        var result = self
        while result.last == " " { result.removeLast() }
        return result
    }
}

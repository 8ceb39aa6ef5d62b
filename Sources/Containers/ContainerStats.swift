import FoundationEssentials
import Glibc

/// One reading of a container's resource use, from its cgroup v2 files and
/// its network namespace. A value the host does not provide (a controller
/// bound to cgroup v1, say) is nil, never guessed.
public struct ContainerStats: Equatable, Sendable {
    /// cpu.stat usage_usec: CPU time of the cgroup's processes.
    public var cpuUsec: UInt64?
    /// All CPUs' time on the host (/proc/stat), the base of CPU %.
    public var systemUsec: UInt64?
    public var onlineCPUs: Int = 1
    /// memory.current less inactive_file (Docker's "usage" on cgroup v2).
    public var memoryUsage: UInt64?
    /// memory.max, or the host's memory when unlimited.
    public var memoryLimit: UInt64?
    /// pids.current, or the tasks listed in cgroup.threads of the subtree.
    public var pids: UInt64?
    /// Bytes received and sent by the namespace's interfaces other than lo;
    /// 0 in the host's namespace, as Docker shows it for host networking.
    public var netRx: UInt64?
    public var netTx: UInt64?
    /// io.stat rbytes and wbytes, summed over devices.
    public var blockRead: UInt64?
    public var blockWrite: UInt64?

    public init() {}

    /// Docker's CPU %: the cgroup's share of all CPUs' time between two
    /// readings, times the number of CPUs. nil if either reading lacks it.
    public static func cpuPercent(previous: ContainerStats, current: ContainerStats) -> Double? {
        guard let cpu0 = previous.cpuUsec, let cpu1 = current.cpuUsec,
              let sys0 = previous.systemUsec, let sys1 = current.systemUsec, sys1 > sys0 else { return nil }
        let cpuDelta = Double(cpu1 >= cpu0 ? cpu1 - cpu0 : 0), systemDelta = Double(sys1 - sys0)
        return cpuDelta / systemDelta * Double(current.onlineCPUs) * 100
    }

    public var memoryPercent: Double? {
        guard let memoryUsage, let memoryLimit, memoryLimit > 0 else { return nil }
        return Double(memoryUsage) / Double(memoryLimit) * 100
    }
}

/// Reads `ContainerStats` from a cgroup directory and /proc; the parsing is
/// apart so tests can feed it a fake tree.
public enum StatsReader {
    /// `cgroupDir`: the container's cgroup; `pid`: its first process (for
    /// its network namespace); `proc`: /proc, or a fake one.
    public static func read(cgroupDir: String, pid: pid_t, proc: String = "/proc") -> ContainerStats {
        var stats = ContainerStats()
        if let text = file(cgroupDir + "/cpu.stat") { stats.cpuUsec = keyed(text)["usage_usec"] }
        if let text = file(proc + "/stat") {
            stats.systemUsec = systemUsec(procStat: text)
            stats.onlineCPUs = max(1, onlineCPUs(procStat: text))
        }
        if let current = file(cgroupDir + "/memory.current").flatMap(number) {
            let inactive = file(cgroupDir + "/memory.stat").flatMap { keyed($0)["inactive_file"] } ?? 0
            stats.memoryUsage = current >= inactive ? current - inactive : current
            stats.memoryLimit = file(cgroupDir + "/memory.max").flatMap(number) ?? file(proc + "/meminfo").flatMap(memTotal)
        }
        stats.pids = file(cgroupDir + "/pids.current").flatMap(number) ?? threads(in: cgroupDir)
        if let text = file(cgroupDir + "/io.stat") {
            let io = ioBytes(ioStat: text)
            stats.blockRead = io.read
            stats.blockWrite = io.write
        }
        if pid > 0 {
            let own = try? FileManager.default.destinationOfSymbolicLink(atPath: "\(proc)/\(pid)/ns/net")
            let host = try? FileManager.default.destinationOfSymbolicLink(atPath: "\(proc)/1/ns/net")
            if own != nil, own == host {
                stats.netRx = 0
                stats.netTx = 0
            } else if let text = file("\(proc)/\(pid)/net/dev") {
                let net = netBytes(netDev: text)
                stats.netRx = net.rx
                stats.netTx = net.tx
            }
        }
        return stats
    }

    /// "key value" lines (cpu.stat, memory.stat).
    static func keyed(_ text: String) -> [String: UInt64] {
        var result: [String: UInt64] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count == 2, let value = UInt64(fields[1]) { result[String(fields[0])] = value }
        }
        return result
    }

    /// The first word of a file such as memory.current ("max" is not a number).
    static func number(_ text: String) -> UInt64? { text.split(whereSeparator: \.isWhitespace).first.flatMap { UInt64($0) } }

    /// The "cpu" line of /proc/stat: every column's clock ticks (USER_HZ, 100
    /// on Linux), in microseconds, as Docker's system_cpu_usage.
    static func systemUsec(procStat text: String) -> UInt64? {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") }) else { return nil }
        let ticks = line.split(separator: " ").dropFirst().prefix(8).compactMap { UInt64($0) }
        guard !ticks.isEmpty else { return nil }
        return ticks.reduce(0, +) * 10_000
    }

    /// Lines "cpu0", "cpu1", … of /proc/stat.
    static func onlineCPUs(procStat text: String) -> Int {
        text.split(separator: "\n").filter { $0.hasPrefix("cpu") && !$0.hasPrefix("cpu ") }.count
    }

    static func memTotal(_ meminfo: String) -> UInt64? {
        guard let line = meminfo.split(separator: "\n").first(where: { $0.hasPrefix("MemTotal:") }) else { return nil }
        return line.split(separator: " ").dropFirst().first.flatMap { UInt64($0) }.map { $0 * 1024 }
    }

    /// io.stat: "8:0 rbytes=… wbytes=… rios=… …" per device.
    static func ioBytes(ioStat text: String) -> (read: UInt64, write: UInt64) {
        var read: UInt64 = 0, write: UInt64 = 0
        for line in text.split(separator: "\n") {
            for field in line.split(separator: " ").dropFirst() {
                let pair = field.split(separator: "=")
                guard pair.count == 2, let value = UInt64(pair[1]) else { continue }
                if pair[0] == "rbytes" { read += value } else if pair[0] == "wbytes" { write += value }
            }
        }
        return (read, write)
    }

    /// /proc/<pid>/net/dev: receive bytes (1st column) and transmit bytes
    /// (9th) of every interface but lo, which Docker does not count.
    static func netBytes(netDev text: String) -> (rx: UInt64, tx: UInt64) {
        var rx: UInt64 = 0, tx: UInt64 = 0
        for line in text.split(separator: "\n") {
            let halves = line.split(separator: ":", maxSplits: 1)
            guard halves.count == 2 else { continue }
            let name = halves[0].split(separator: " ").first.map(String.init) ?? ""
            let columns = halves[1].split(separator: " ").compactMap { UInt64($0) }
            guard name != "lo", columns.count >= 9 else { continue }
            rx += columns[0]
            tx += columns[8]
        }
        return (rx, tx)
    }

    /// Tasks in the cgroup and its descendants, from cgroup.threads (a core
    /// file, there whatever the controllers).
    static func threads(in dir: String) -> UInt64? {
        guard let text = file(dir + "/cgroup.threads") else { return nil }
        var count = UInt64(text.split(separator: "\n").count)
        for child in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] {
            var info = stat()
            let path = dir + "/" + child
            if lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR { count += threads(in: path) ?? 0 }
        }
        return count
    }

    static func file(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }
}

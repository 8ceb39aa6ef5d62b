import FoundationEssentials
import Glibc
import SystemCalls

extension ContainerRuntime {
    /// Every process of the running container `ref`: its cgroup and the
    /// cgroups made under it.
    public func processes(_ ref: String) throws -> [pid_t] {
        let info = try inspect(ref)
        guard info.state.status == .running else {
            throw RuntimeError.conflict("container \(info.id) is not running")
        }
        return Self.processes(inCgroup: info.record.cgroupPath)
    }

    static func processes(inCgroup dir: String) -> [pid_t] {
        let text = (try? String(contentsOfFile: dir + "/cgroup.procs", encoding: .utf8)) ?? ""
        var pids = text.split(separator: "\n").compactMap { pid_t($0) }
        for child in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] {
            var info = stat()
            let path = dir + "/" + child
            if lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR { pids += processes(inCgroup: path) }
        }
        return pids
    }

    /// `docker top`: the host's ps with `psArguments` (Docker's default
    /// -ef), cut down to the container's processes.
    public func top(_ ref: String, psArguments: [String] = []) throws -> ProcessTable {
        let pids = Set(try processes(ref))
        return try ProcessTable.parse(psOutput: try ProcessTable.runPS(psArguments.isEmpty ? ["-ef"] : psArguments), pids: pids)
    }

    /// A reading of the running container's resource use (see `StatsReader`).
    public func stats(_ ref: String) throws -> (info: ContainerInfo, stats: ContainerStats) {
        let info = try inspect(ref)
        guard info.state.status == .running else {
            throw RuntimeError.conflict("container \(info.id) is not running")
        }
        return (info, StatsReader.read(cgroupDir: info.record.cgroupPath, pid: info.state.pid))
    }
}

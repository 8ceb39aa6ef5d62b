import Containers
import Foundation
import Testing

/// `swarm container exec`: the process must be inside the container in
/// every respect its first process is, observed from both sides.
@Suite(.enabled(if: isRoot, rootReason))
struct ExecTests {
    let sandbox: Sandbox

    init() throws { sandbox = try Sandbox() }

    /// A running container named `name` (busybox, sleeping), with `options`.
    func start(_ name: String, _ options: [String] = []) throws -> ContainerInfo {
        let run = sandbox.swarm(["run", "-d", "--name", name] + options + ["--rootfs", busyboxRootfs, "sleep", "1000"])
        try #require(run.status == 0, "\(run.stderr)")
        return try sandbox.runtime.inspect(name)
    }

    func exec(_ arguments: String...) -> ProcessResult { sandbox.swarm(["exec"] + arguments) }

    /// "Key:\tvalue" lines of a /proc status file, printed by `grep`.
    func fields(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2 { result[String(parts[0])] = parts[1].trimmingCharacters(in: .whitespaces) }
        }
        return result
    }

    @Test func joinsEveryNamespaceOfTheContainer() throws {
        let info = try start("ns")
        let names = ["pid", "mnt", "uts", "ipc", "net", "cgroup"]
        let result = exec("ns", "sh", "-c", "for n in \(names.joined(separator: " ")); do readlink /proc/self/ns/$n; readlink /proc/1/ns/$n; done; echo $$")
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        try #require(lines.count == names.count * 2 + 1, "\(result.stdout)")
        for (index, name) in names.enumerated() {
            let host = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(info.state.pid)/ns/\(name)")
            #expect(lines[index * 2] == lines[index * 2 + 1], "\(name): exec'd \(lines[index * 2]), PID 1 \(lines[index * 2 + 1])")
            #expect(lines[index * 2] == host, "\(name): exec'd \(lines[index * 2]), container's first process \(host)")
        }
        // In the container's pid namespace: a small pid, not the host's.
        #expect(Int(lines.last ?? "").map { $0 > 1 && $0 < 100 } == true, "pid inside: \(lines.last ?? "")")
    }

    @Test func detachedProcessIsInTheContainersCgroupAndOutlivesTheCaller() throws {
        let info = try start("cg")
        let result = exec("-d", "cg", "sleep", "300")
        #expect(result.status == 0 && result.stdout.isEmpty, "\(result.stderr)")
        // The CLI has exited; the process goes on, in the container's cgroup.
        var others: [pid_t] = []
        #expect(eventually { others = sandbox.runtime.cgroups.processes(id: info.id).filter { $0 != info.state.pid }; return others.count == 1 })
        let pid = try #require(others.first)
        let cmdline = try String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)
        #expect(cmdline.hasPrefix("sleep\u{0}300"), "\(cmdline)")
        for name in ["pid", "mnt", "uts", "ipc", "net", "cgroup"] {
            let mine = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/\(name)")
            let first = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(info.state.pid)/ns/\(name)")
            #expect(mine == first, "\(name)")
        }
        // Inside, the cgroup namespace is rooted at the container's cgroup.
        let inside = exec("cg", "cat", "/proc/self/cgroup")
        #expect(inside.stdout.split(separator: "\n").contains("0::/"), "\(inside.stdout)")
    }

    @Test func capabilitiesSeccompAndNoNewPrivsAreTheContainers() throws {
        _ = try start("caps", ["--cap-add", "NET_ADMIN"])
        let keys = ["CapEff", "CapPrm", "CapBnd", "CapInh", "CapAmb", "NoNewPrivs", "Seccomp"]
        let pattern = "^(\(keys.joined(separator: "|"))):"
        let mine = fields(exec("caps", "grep", "-E", pattern, "/proc/self/status").stdout)
        let first = fields(exec("caps", "grep", "-E", pattern, "/proc/1/status").stdout)
        #expect(mine.count == keys.count, "\(mine)")
        for key in keys { #expect(mine[key] == first[key], "\(key): exec'd \(mine[key] ?? "-"), PID 1 \(first[key] ?? "-")") }
        #expect(mine["CapEff"] == String(format: "%016llx", 0xa80425fb as UInt64 | 1 << 12))
        #expect(mine["Seccomp"] == "2" && mine["NoNewPrivs"] == "1")

        let mount = exec("caps", "mount", "-t", "tmpfs", "none", "/tmp")
        #expect(mount.status != 0, "mount succeeded inside the container")
        #expect(mount.stderr.lowercased().contains("permission denied") || mount.stderr.contains("not permitted"), "\(mount.stderr)")

        let privileged = fields(exec("--privileged", "caps", "grep", "-E", pattern, "/proc/self/status").stdout)
        // Every capability this host lets a process hold: the test's own bounding set.
        let host = fields(try String(contentsOfFile: "/proc/self/status", encoding: .utf8))
        #expect(privileged["CapEff"] == host["CapBnd"], "\(privileged)")
        #expect(privileged["NoNewPrivs"] == "1")
    }

    @Test func userWorkdirAndEnvironment() throws {
        _ = try start("who", ["-e", "FROM_RUN=1", "-w", "/etc"])
        let defaults = exec("who", "sh", "-c", "id -u; pwd; echo $FROM_RUN")
        #expect(defaults.stdout == "0\n/etc\n1\n", "\(defaults.stdout) \(defaults.stderr)")
        let other = exec("-u", "app", "-w", "/tmp", "-e", "FROM_RUN=2", "-e", "EXTRA=x", "who",
                         "sh", "-c", "id -u; id -g; id -G; pwd; echo $FROM_RUN $EXTRA $HOME")
        #expect(other.stdout == "1000\n1000\n1000 50\n/tmp\n2 x /tmp\n", "\(other.stdout) \(other.stderr)")
        let numeric = exec("-u", "4242:4343", "who", "sh", "-c", "id -u; id -g; grep CapEff /proc/self/status")
        #expect(numeric.stdout.hasPrefix("4242\n4343\nCapEff:\t0000000000000000"), "\(numeric.stdout) \(numeric.stderr)")
        let unknown = exec("-u", "nosuchuser", "who", "true")
        #expect(unknown.status == 1 && unknown.stderr.contains("unable to find user nosuchuser"), "\(unknown.stderr)")
    }

    @Test func exitStatusIsTheCommandsAsDocker() throws {
        _ = try start("codes")
        #expect(exec("codes", "true").status == 0)
        #expect(exec("codes", "sh", "-c", "exit 7").status == 7)
        let missing = exec("codes", "nosuchcommand")
        #expect(missing.status == 127, "\(missing.stderr)")
        #expect(missing.stderr.contains("exec: \"nosuchcommand\": executable file not found in $PATH"), "\(missing.stderr)")
        let notExecutable = exec("codes", "/etc/passwd")
        #expect(notExecutable.status == 126, "\(notExecutable.stderr)")
        #expect(notExecutable.stderr.contains("permission denied"), "\(notExecutable.stderr)")
        let badDir = exec("-w", "/nonexistent", "codes", "true")
        #expect(badDir.status == 126 && badDir.stderr.contains("chdir to cwd"), "\(badDir.stderr)")
        let killed = exec("codes", "sh", "-c", "kill -9 $$")
        #expect(killed.status == 137)
    }

    @Test func stdinOnlyWithInteractive() throws {
        _ = try start("in")
        let script = "echo hello | \(swarmBinary) container exec -i in cat; echo no | \(swarmBinary) container exec in cat; echo end"
        let result = runProcess("/bin/sh", ["-c", script], environment: sandbox.environment)
        #expect(result.stdout == "hello\nend\n", "\(result.stdout) \(result.stderr)")
    }

    @Test func refusedOnAStoppedOrUnknownContainer() throws {
        let info = try start("gone")
        #expect(sandbox.swarm("stop", "-t", "0", "gone").status == 0)
        let stopped = exec("gone", "true")
        #expect(stopped.status == 1 && stopped.stderr == "swarm: container \(info.id) is not running\n", "\(stopped.stderr)")
        let unknown = exec("nosuchcontainer", "true")
        #expect(unknown.status == 1 && unknown.stderr.contains("No such container: nosuchcontainer"), "\(unknown.stderr)")
        let missing = exec("gone")
        #expect(missing.status == 1 && missing.stderr.contains("requires at least 2 arguments"), "\(missing.stderr)")
    }
}

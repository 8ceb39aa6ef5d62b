import Containers
import Foundation
import Testing

/// Process life: exit statuses, signals, stop, logs, cgroups, detaching.
@Suite(.enabled(if: isRoot, rootReason))
struct LifecycleTests {
    let sandbox: Sandbox

    init() throws { sandbox = try Sandbox() }

    func detached(_ arguments: String...) throws -> String {
        let split = arguments.firstIndex(of: "--")!
        let result = sandbox.swarm(["run", "-d"] + arguments[..<split] + ["--rootfs", busyboxRootfs] + arguments[(split + 1)...])
        try #require(result.status == 0, "\(result.stderr)")
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func exitCodesAndSignalsAreRecorded() throws {
        #expect(sandbox.run("--", "sh", "-c", "exit 3").status == 3)
        let id = try detached("--name", "sleeper", "--", "sleep", "100")
        #expect(sandbox.swarm("kill", "-s", "KILL", "sleeper").status == 0)
        let state = try sandbox.runtime.wait(id, timeout: 5)
        #expect(state.status == .exited)
        #expect(state.exitCode == 137)
        #expect(state.signal == SIGKILL)
        let inspect = sandbox.swarm("inspect", "sleeper")
        #expect(inspect.stdout.contains("\"ExitCode\" : 137") || inspect.stdout.contains("\"ExitCode\": 137"))
        #expect(sandbox.swarm("ls", "-a").stdout.contains("Exited (137)"))
        #expect(sandbox.swarm("ls").stdout.split(separator: "\n").count == 1, "ls without -a lists only running ones")
    }

    @Test func stopEscalatesToKillAfterTheTimeout() throws {
        // sleep as PID 1 has no SIGTERM handler, so the kernel drops SIGTERM.
        let id = try detached("--", "sleep", "100")
        let start = Date()
        let result = sandbox.swarm("stop", "-t", "1", id)
        let elapsed = Date().timeIntervalSince(start)
        #expect(result.status == 0 && result.stdout == id + "\n")
        #expect(elapsed >= 1.0, "stopped before the timeout: \(elapsed)")
        let state = try sandbox.runtime.inspect(id).state
        #expect(state.status == .exited && state.exitCode == 137 && state.signal == SIGKILL)
        #expect(!FileManager.default.fileExists(atPath: sandbox.runtime.cgroups.path(of: id)), "cgroup not removed at exit")
    }

    @Test func stopKillsEveryProcessOfTheContainer() throws {
        // A background child that ignores SIGTERM must not survive either.
        let id = try detached("--", "sh", "-c", "trap '' TERM; sleep 1000 & sleep 1000 & wait")
        #expect(eventually { sandbox.runtime.cgroups.processes(id: id).count == 3 })
        let pids = sandbox.runtime.cgroups.processes(id: id)
        try sandbox.runtime.stop(id, timeout: 0)
        #expect(pids.allSatisfy { kill($0, 0) != 0 }, "a process survived the stop")
    }

    @Test func initForwardsSignalsAndReapsZombies() throws {
        // With --init, SIGTERM reaches sleep (not PID 1) and stop is quick.
        let id = try detached("--init", "--", "sh", "-c", "(sleep 0.1 &); exec sleep 100")
        usleep(600_000)
        #expect(zombies(in: id).isEmpty, "a zombie was left unreaped")
        let start = Date()
        try sandbox.runtime.stop(id, timeout: 5)
        #expect(Date().timeIntervalSince(start) < 4)
        #expect(try sandbox.runtime.inspect(id).state.exitCode == 143)

        // Without it, the orphan stays a zombie under a PID 1 that never waits.
        let plain = try detached("--", "sh", "-c", "(sleep 0.1 &); exec sleep 100")
        #expect(eventually(3) { !zombies(in: plain).isEmpty })
    }

    /// Zombie children of the container's processes. A zombie has left its
    /// cgroup already, so it is found through its parent.
    func zombies(in id: String) -> [pid_t] {
        let members = Set(sandbox.runtime.cgroups.processes(id: id))
        let all = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return all.compactMap(pid_t.init).filter { pid in
            let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
            guard let close = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
            return fields.count > 1 && fields[0] == "Z" && pid_t(fields[1]).map(members.contains) == true
        }
    }

    @Test func cgroupMembershipSeenFromTheHost() throws {
        let id = try detached("--", "sleep", "100")
        let pid = try sandbox.runtime.inspect(id).state.pid
        let membership = try String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8)
        #expect(membership.contains("0::/\(sandbox.cgroupParent)/\(id)\n"))
        #expect(sandbox.runtime.cgroups.processes(id: id) == [pid])
        #expect(sandbox.runtime.cgroups.isPopulated(id: id))
        // Inside, the cgroup namespace makes it the root.
        let inside = sandbox.run("--", "cat", "/proc/self/cgroup")
        #expect(inside.stdout.contains("0::/\n"))
    }

    @Test func logsAreJSONFileAndRotate() throws {
        let id = try detached("--log-opt", "max-size=2k", "--log-opt", "max-file=2", "--",
                              "sh", "-c", "i=0; while [ $i -lt 200 ]; do echo out $i; echo err $i >&2; i=$((i+1)); done; sleep 0.1; echo last-out; sleep 0.1; echo last-err >&2")
        _ = try sandbox.runtime.wait(id, timeout: 10)
        let record = try sandbox.runtime.inspect(id).record
        let dir = URL(fileURLWithPath: record.logPath).deletingLastPathComponent().path
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains("-json.log") }
        #expect(Set(files) == [id + "-json.log", id + "-json.log.1"], "\(files)")
        for file in files {
            let size = try FileManager.default.attributesOfItem(atPath: dir + "/" + file)[.size] as! Int
            #expect(size <= 2048)
        }
        let first = try String(contentsOfFile: record.logPath, encoding: .utf8).split(separator: "\n").first!
        let entry = try JSONSerialization.jsonObject(with: Data(first.utf8)) as! [String: String]
        #expect(Set(entry.keys) == ["log", "stream", "time"])
        #expect(entry["time"]!.hasSuffix("Z") && entry["log"]!.hasSuffix("\n"))

        // The last lines of each stream, each on its own stream.
        let tail = sandbox.swarm("logs", "--tail", "2", id)
        #expect(tail.stdout == "last-out\n", "\(tail.stdout)")
        #expect(tail.stderr == "last-err\n", "\(tail.stderr)")
        // Rotation dropped the oldest entries and kept the newest, in order.
        let kept = LogReader(path: record.logPath, maxFiles: 2).entries()
        #expect(kept.count < 402 && kept.suffix(2).map(\.log) == ["last-out\n", "last-err\n"])
        #expect(kept.map(\.time) == kept.map(\.time).sorted())
        #expect(kept.first?.log != "out 0\n")
        let stamped = sandbox.swarm("logs", "-t", "--tail", "1", id)
        #expect((stamped.stdout + stamped.stderr).first?.isNumber == true)
    }

    @Test func logsFollowUntilExit() throws {
        let id = try detached("--", "sh", "-c", "for i in 1 2 3; do echo tick $i; sleep 0.3; done")
        let followed = sandbox.swarm("logs", "-f", id)
        #expect(followed.stdout == "tick 1\ntick 2\ntick 3\n")
    }

    @Test func detachedContainerSurvivesItsStarter() throws {
        // An attached `run`, killed with SIGKILL: the container and its log go on.
        let pid = try spawn(swarmBinary, ["container", "run", "--name", "survivor", "--rootfs", busyboxRootfs,
                                          "sh", "-c", "while true; do echo alive; sleep 0.1; done"],
                            environment: sandbox.environment)
        #expect(eventually { (try? sandbox.runtime.inspect("survivor").state.status) == .running })
        kill(pid, SIGKILL)
        waitFor(pid)
        let before = LogReader(path: try sandbox.runtime.inspect("survivor").record.logPath, maxFiles: 3).entries().count
        usleep(500_000)
        let info = try sandbox.runtime.inspect("survivor")
        #expect(info.state.status == .running)
        #expect(LogReader(path: info.record.logPath, maxFiles: 3).entries().count > before, "log stopped growing")
        // Another process stops it and finds its exit status.
        #expect(sandbox.swarm("stop", "-t", "0", "survivor").status == 0)
        #expect(try sandbox.runtime.inspect("survivor").state.exitCode == 137)
        #expect(sandbox.swarm("rm", "survivor").status == 0)
        #expect(sandbox.leftovers().isEmpty)
    }

    @Test func removeRefusesARunningContainerUnlessForced() throws {
        let id = try detached("--name", "busy", "--", "sleep", "100")
        let refused = sandbox.swarm("rm", "busy")
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("You cannot remove a running container \(id)"))
        #expect(sandbox.swarm("rm", "-f", "busy").status == 0)
        #expect(sandbox.leftovers().isEmpty, "\(sandbox.leftovers())")
        #expect(sandbox.swarm("rm", "busy").stderr == "swarm: No such container: busy\n")
    }

    @Test func autoRemoveLeavesNothing() throws {
        #expect(sandbox.run("--", "true").status == 0)
        _ = try detached("--rm", "--", "true")
        #expect(eventually { sandbox.leftovers().isEmpty }, "\(sandbox.leftovers())")
    }

    @Test func inProcessAPIRunsAndWaits() throws {
        var spec = ContainerSpec(rootfs: busyboxRootfs, command: ["sh", "-c", "exit 7"])
        spec.autoRemove = true
        let container = try sandbox.runtime.run(spec)
        #expect(container.wait()?.exitCode == 7)
    }
}

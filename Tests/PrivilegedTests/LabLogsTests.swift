import Foundation
import Lab
import Testing

/// `service logs` on a 3-node lab: every replica's output from every node,
/// through the manager, prefixed as Docker's CLI does; `-f` sees lines as
/// they are written.
@Suite(.serialized)
struct LabLogsTests {
    @Test(.enabled(if: isRoot, rootReason))
    func logsFromThreeReplicasOnThreeNodes() throws {
        let lab = try LabSwarm(name: "l\(getpid())")
        let manager = try #require(lab.cluster.record.nodes.first { $0.name == "node1" })
        // The replicas wait for this file (a bind mount every node sees) before their second line.
        let trigger = NSTemporaryDirectory() + "swarm-test-logs-\(getpid())"
        try FileManager.default.createDirectory(atPath: trigger, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: trigger) }
        let create = lab.swarm("node1", "service", "create", "--name", "talk", "--replicas", "3", "--replicas-max-per-node", "1",
                               "--stop-grace-period", "1s", "--mount", "type=bind,source=\(trigger),target=/t",
                               "busybox", "sh", "-c", "echo first; echo oops >&2; while [ ! -e /t/go ]; do sleep 0.1; done; echo second; sleep 1000")
        try #require(create.status == 0, "\(create.stdout) \(create.stderr)")
        #expect(lab.converged("talk", ["node1": 1, "node2": 1, "node3": 1]))

        func logs(_ arguments: String...) -> ProcessResult {
            var environment = manager.environment(hostname: false)
            environment["SWARM_HOST"] = manager.socket
            return runProcess(swarmBinary, ["service", "logs"] + arguments + ["talk"], environment: environment)
        }
        // Every replica's lines, stdout and stderr apart, prefixed NAME.SLOT.TASKID@NODE.
        var all = logs()
        #expect(waitUntil(20) { all = logs(); return all.stdout.split(separator: "\n").count == 3 && all.stderr.split(separator: "\n").count == 3 },
                "\(all.stdout) \(all.stderr)")
        let prefix = #"^talk\.[123]\.[a-z0-9]{12}@node[123]    \| "#
        let out = all.stdout.split(separator: "\n").map(String.init)
        #expect(out.allSatisfy { $0.range(of: prefix + "first$", options: .regularExpression) != nil }, "\(out)")
        #expect(Set(out.map { $0.split(separator: "@")[1].prefix(5) }) == ["node1", "node2", "node3"], "\(out)")
        #expect(all.stderr.split(separator: "\n").allSatisfy { $0.range(of: prefix + "oops$", options: .regularExpression) != nil })
        #expect(logs("--raw").stdout == "first\nfirst\nfirst\n")
        #expect(logs("--no-task-ids").stdout.split(separator: "\n").allSatisfy { $0.range(of: #"^talk\.[123]@node[123]    \| first$"#, options: .regularExpression) != nil })
        let stamped = logs("-t").stdout.split(separator: "\n")
        #expect(stamped.count == 3 && stamped.allSatisfy { $0.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z talk\."#, options: .regularExpression) != nil }, "\(stamped)")

        // -f: the lines written so far, then new ones as they come.
        let output = trigger + "-follow.out"
        defer { unlink(output) }
        let file = open(output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var environment = manager.environment(hostname: false)
        environment["SWARM_HOST"] = manager.socket
        let follower = try spawn(swarmBinary, ["service", "logs", "-f", "--raw", "talk"], environment: environment, stdout: file)
        close(file)
        defer { kill(follower, SIGKILL); waitFor(follower) }
        let followed = { (try? String(contentsOfFile: output, encoding: .utf8)) ?? "" }
        #expect(waitUntil(20) { followed() == "first\nfirst\nfirst\n" }, "\(followed())")
        #expect(FileManager.default.createFile(atPath: trigger + "/go", contents: nil))
        #expect(waitUntil(20) { followed() == "first\nfirst\nfirst\nsecond\nsecond\nsecond\n" }, "\(followed())")
        #expect(logs("--raw", "--tail", "1").stdout == "second\nsecond\nsecond\n")

        // One task's logs by its ID.
        let taskID = String(out[0].split(separator: ".")[2].prefix(12))
        let task = runProcess(swarmBinary, ["service", "logs", "--raw", taskID], environment: environment)
        #expect(task.status == 0 && task.stdout == "first\nsecond\n", "\(task.stdout) \(task.stderr)")

        // The tasks a forced update replaced are in the history: their logs still read.
        #expect(lab.swarm("node1", "service", "update", "--force", "talk").status == 0)
        var history = ""
        #expect(waitUntil(20) {
            history = logs("--raw").stdout
            return history.components(separatedBy: "first\n").count - 1 == 6 && history.components(separatedBy: "second\n").count - 1 == 6
        }, "\(history)")
        // The follower started before the update: it reads the new tasks too.
        #expect(waitUntil(20) {
            let text = followed()
            return text.components(separatedBy: "first\n").count - 1 == 6 && text.components(separatedBy: "second\n").count - 1 == 6
        }, "\(followed())")

        if let docker = dockerBinary {
            let viaDocker = runProcess(docker, ["-H", manager.socket, "service", "logs", "--tail", "1", "talk"])
            #expect(viaDocker.status == 0, "\(viaDocker.stderr)")
            // The last line of each of the 6 tasks; a new task writes its stderr line and "second" at
            // once, and the two pipes may reach the log in either order.
            let lines = (viaDocker.stdout + viaDocker.stderr).split(separator: "\n")
            #expect(lines.count == 6 && lines.allSatisfy { $0.range(of: prefix + "(second|oops)$", options: .regularExpression) != nil },
                    "\(viaDocker.stdout) \(viaDocker.stderr)")
            #expect(viaDocker.stdout.split(separator: "\n").count >= 3)
        }
    }
}

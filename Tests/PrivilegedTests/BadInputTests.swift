import Foundation
import Testing

/// Bad input: one line on stderr, status 1, nothing left behind.
@Suite(.enabled(if: isRoot, rootReason))
struct BadInputTests {
    let sandbox: Sandbox

    init() throws { sandbox = try Sandbox() }

    struct Case: CustomTestStringConvertible, Sendable {
        var arguments: [String]
        var message: String
        var testDescription: String { message }
    }

    static let cases: [Case] = [
        Case(arguments: ["run", "--rootfs", "/nonexistent/rootfs", "true"], message: "rootfs /nonexistent/rootfs does not exist"),
        Case(arguments: ["run", "--mount", "type=bind,source=/nonexistent/src,target=/x", "--rootfs", "@", "true"],
             message: "bind source path does not exist: /nonexistent/src"),
        Case(arguments: ["run", "--cap-add", "NOT_A_CAP", "--rootfs", "@", "true"], message: "unknown capability NOT_A_CAP"),
        Case(arguments: ["run", "--memory", "lots", "--rootfs", "@", "true"], message: "invalid size lots"),
        Case(arguments: ["run", "--no-such-flag", "--rootfs", "@", "true"], message: "no-such-flag"),
        Case(arguments: ["run", "--cpus", "-1", "--rootfs", "@", "true"], message: "--cpus"),
        Case(arguments: ["run", "--network", "bridge", "--rootfs", "@", "true"], message: "unknown network bridge"),
        Case(arguments: ["run", "--stop-signal", "SIGNOPE", "--rootfs", "@", "true"], message: "invalid signal"),
        Case(arguments: ["run", "-u", "nosuchuser", "--rootfs", "@", "true"], message: "unable to find user nosuchuser"),
        Case(arguments: ["run", "--rootfs", "@"], message: "no command given"),
        Case(arguments: ["stop", "nosuch"], message: "No such container: nosuch"),
    ]

    /// `--help` works on every command, including those whose trailing
    /// arguments are passed through untouched (and where -h is --hostname).
    @Test(arguments: [["container", "run"], ["lab", "exec"], ["service", "create"], ["init"], ["daemon"], ["image", "pull"]])
    func helpWorks(_ command: [String]) {
        let result = sandbox.cli(command + ["--help"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("USAGE: swarm \(command.joined(separator: " "))"), "\(result.stdout)")
        #expect(result.stderr.isEmpty)
    }

    @Test(arguments: cases)
    func rejected(_ test: Case) {
        let arguments = test.arguments.map { $0 == "@" ? busyboxRootfs : $0 }
        let result = sandbox.swarm(arguments)
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("swarm: "))
        #expect(result.stderr.split(separator: "\n").count == 1, "more than one line: \(result.stderr)")
        #expect(result.stderr.contains(test.message), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
        #expect(sandbox.leftovers().isEmpty, "\(sandbox.leftovers())")
    }

    /// On hosts where a controller is not in cgroup v2 (this CI host binds
    /// memory, cpu and pids to v1), a limit is refused with the reason;
    /// where it is available, the limit is written.
    @Test(arguments: [("--memory", "64m", "memory", "memory.max", "67108864"),
                      ("--cpus", "0.5", "cpu", "cpu.max", "50000 100000"),
                      ("--pids-limit", "50", "pids", "pids.max", "50")])
    func limitNeedsItsController(flag: String, value: String, controller: String, file: String, expected: String) throws {
        if sandbox.runtime.cgroups.availableControllers().contains(controller) {
            let result = sandbox.run(flag, value, "--", "cat", "/sys/fs/cgroup/" + file)
            #expect(result.stdout == expected + "\n")
        } else {
            let result = sandbox.run(flag, value, "--", "true")
            #expect(result.status == 1)
            #expect(result.stderr.hasPrefix("swarm: \(flag) needs the cgroup v2 \(controller) controller"), "\(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1)
            #expect(sandbox.leftovers().isEmpty)
        }
    }

    @Test func nameConflict() throws {
        let first = sandbox.swarm("run", "-d", "--name", "twin", "--rootfs", busyboxRootfs, "sleep", "100")
        #expect(first.status == 0)
        let second = sandbox.swarm("run", "-d", "--name", "twin", "--rootfs", busyboxRootfs, "true")
        #expect(second.status == 1)
        #expect(second.stderr.contains("The container name \"/twin\" is already in use"))
        #expect(sandbox.runtime.list(all: true).count == 1)
    }
}

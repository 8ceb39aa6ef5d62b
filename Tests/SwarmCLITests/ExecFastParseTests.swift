import ArgumentParser
import Testing

@testable import SwarmCLI

/// `container exec`'s hand-written reader against ArgumentParser's
/// `ContainerCommand.Exec`: whatever the fast one accepts, ArgumentParser
/// must read alike; what it declines goes to ArgumentParser.
struct ExecFastParseTests {
    /// ArgumentParser's reading of a whole command line, as `swarm` parses it; nil if it refuses it.
    func parsedByArgumentParser(_ arguments: [String]) -> ExecOptions? {
        guard let command = try? Swarm.parseAsRoot(arguments) else { return nil }
        return (command as? ContainerCommand.Exec)?.options
    }

    /// Forms the fast path must take, and read as ArgumentParser does.
    static let accepted: [[String]] = [
        ["web", "true"],
        ["-i", "-t", "web", "sh"],
        ["-it", "web", "sh", "-c", "echo hi"],
        ["-itd", "web", "sh"],
        ["-ti", "--privileged", "web", "sh"],
        ["-d", "web", "sleep", "300"],
        ["--interactive", "--tty", "--detach", "web", "sh"],
        ["-e", "A=1", "--env", "B=2", "--env=C=3", "-e", "PASSED", "web", "env"],
        ["--env", "", "web", "env"],
        ["--env-file", "/tmp/one", "--env-file=/tmp/two", "-e", "A=1", "web", "env"],
        ["-u", "app", "-w", "/tmp", "web", "id"],
        ["--user", "4242:4343", "--workdir=/", "web", "id"],
        ["--user=app:staff", "--workdir", "/var", "web", "id"],
        ["-u", "first", "-u", "second", "web", "id"],
        ["-i", "-i", "web", "cat"],
        ["--detach-keys", "ctrl-a,x", "-it", "web", "sh"],
        ["--detach-keys=ctrl-x", "web", "sh"],
        ["--state-dir", "/tmp/state", "--data-dir=/tmp/data", "--cgroup-parent", "bench.slice", "web", "true"],
        // Options stop at the container: the rest, flags and `--` included, is the command's.
        ["web", "ls", "-la", "--tty", "-e", "X"],
        ["-t", "web", "--", "true"],
        ["web", "-it"],
        ["web.1.abcdef", "/bin/true"],
        ["", "true"],
        ["web", "cat", "-"],
    ]

    /// Forms the fast path leaves to ArgumentParser: help, errors, and rarer spellings.
    static let declined: [[String]] = [
        [],
        ["--help"],
        ["-h"],
        ["-it", "--help"],
        ["-i", "--help", "web", "true"],
        ["web"],
        ["-it", "web"],
        ["--bogus", "web", "true"],
        ["-x", "web", "true"],
        ["-ix", "web", "true"],
        ["--", "web", "true"],
        ["-e"],
        ["-e", "--tty", "web", "true"],
        ["-u", "-1", "web", "true"],
        ["--user"],
        ["--tty=true", "web", "true"],
        ["--no-detach", "web", "true"],
        ["--e", "A=1", "web", "true"],
        ["--i", "web", "true"],
        ["-privileged", "web", "true"],
        ["-eA=1", "web", "true"],
        ["-e=A=1", "web", "true"],
        ["-ie", "A=1", "web", "true"],
        ["-uapp", "web", "true"],
        ["--env=", "web", "env"],
        ["-", "true"],
    ]

    @Test(arguments: accepted)
    func readsAsArgumentParserDoes(_ tail: [String]) throws {
        let arguments = ["container", "exec"] + tail
        let fast = try #require(ExecOptions.parse(fast: arguments), "declined \(tail)")
        let reference = try #require(parsedByArgumentParser(arguments), "ArgumentParser refuses \(tail)")
        #expect(fast == reference)
    }

    @Test(arguments: declined)
    func leavesTheRestToArgumentParser(_ tail: [String]) {
        #expect(ExecOptions.parse(fast: ["container", "exec"] + tail) == nil)
    }

    @Test func onlyContainerExec() {
        #expect(ExecOptions.parse(fast: ["container", "run", "web", "true"]) == nil)
        #expect(ExecOptions.parse(fast: ["lab", "exec", "web", "true"]) == nil)
        #expect(ExecOptions.parse(fast: ["exec", "web", "true"]) == nil)
    }

    @Test func valuesAsParsed() throws {
        let options = try #require(ExecOptions.parse(fast: ["container", "exec", "-it", "-e", "A=1", "--user=app", "--state-dir", "/s",
                                                             "web", "sh", "-c", "id"]))
        #expect(options.interactive && options.tty && !options.detach && !options.privileged)
        #expect(options.env == ["A=1"] && options.user == "app" && options.workdir == nil && options.stateDir == "/s")
        #expect(options.container == "web" && options.command == ["sh", "-c", "id"])
    }
}

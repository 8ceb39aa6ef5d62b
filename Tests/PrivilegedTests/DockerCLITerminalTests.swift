import Containers
import Foundation
import Testing

/// The stock docker CLI's interactive paths against a node's unix socket,
/// driven through real ptys: `exec -it` (pty in swarmd, resize, exit
/// status), `exec -i` (stdin through the hijacked connection) and `attach`
/// (relayed to the container's monitor, Ctrl-P Ctrl-Q detaches; without a
/// tty both streams, then the exit status).
@Suite(.enabled(if: isRoot, rootReason))
struct DockerCLITerminalTests {
    @Test(.enabled(if: DockerCLIExecTests.docker != nil, "needs the docker CLI (docker-ce-cli) installed"))
    func execItExecIAndAttach() throws {
        let node = try SwarmNode()
        _ = try node.initialize()
        try node.importBusybox()
        var environment = node.sandbox.environment
        environment["DOCKER_CONFIG"] = node.sandbox.homeDir + "/.docker"
        environment.removeValue(forKey: "DOCKER_HOST")
        let docker = [DockerCLIExecTests.docker!, "-H", "unix://" + node.socket]
        let start = node.cli("container", "run", "-d", "--name", "target", "busybox", "sleep", "1000")
        try #require(start.status == 0, "\(start.stderr)")

        // exec -it: a shell on a pty swarmd opened, sized as the caller's terminal.
        let exec = try PtySession(docker + ["exec", "-it", "target", "sh"], environment: environment, rows: 20, columns: 70)
        let cooked = exec.localFlags
        #expect(exec.expect("# "), "no prompt: \(exec.output)")
        exec.send("echo in-$((3*3)); stty size\r")
        #expect(exec.expect("in-9"), "\(exec.output)")
        #expect(exec.expect("20 70"), "\(exec.output)")
        exec.resize(rows: 33, columns: 101)
        #expect(eventually {
            exec.send("stty size\r")
            return exec.expect("33 101", seconds: 0.5)
        }, "\(exec.output)")
        exec.send("exit 3\r")
        #expect(exec.exited() == 3, "\(exec.output)")
        #expect(exec.localFlags == cooked, "termios not restored")

        // exec -t without -i: a pty, its output raw (the pty's \r\n).
        let ttyOnly = runProcess(docker[0], Array(docker.dropFirst()) + ["exec", "-t", "target", "sh", "-c", "[ -t 0 ] && [ -t 1 ] && echo ttys"],
                                 environment: environment)
        #expect(ttyOnly.status == 0 && ttyOnly.stdout == "ttys\r\n", "\(ttyOnly.stdout) \(ttyOnly.stderr)")

        // exec -i: stdin through the connection, its end the command's.
        let command = docker.map { "'\($0)'" }.joined(separator: " ")
        let piped = runProcess("/bin/sh", ["-c", "echo hi | \(command) exec -i target cat"], environment: environment)
        #expect(piped.status == 0 && piped.stdout == "hi\n", "\(piped.stdout) \(piped.stderr)")
        // Much output, through the relay's bounded window: every byte, in order of frames.
        let bulk = runProcess("/bin/sh", ["-c", "\(command) exec target head -c 20000000 /dev/zero | wc -c"], environment: environment)
        #expect(bulk.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "20000000", "\(bulk.stdout) \(bulk.stderr)")

        // attach to a detached -it container: its terminal, then Ctrl-P Ctrl-Q.
        let run = node.cli("container", "run", "-d", "-it", "--name", "shell", "busybox", "sh")
        try #require(run.status == 0, "\(run.stderr)")
        let attach = try PtySession(docker + ["attach", "shell"], environment: environment, rows: 30, columns: 90)
        attach.send("echo att-$((2+5))\r")
        #expect(attach.expect("att-7"), "\(attach.output)")
        // The CLI's size, set through POST /containers/{id}/resize.
        attach.send("stty size\r")
        #expect(attach.expect("30 90"), "\(attach.output)")
        attach.send("\u{10}\u{11}")
        #expect(attach.exited() != nil, "\(attach.output)")
        #expect(attach.output.contains("read escape sequence"), "\(attach.output)")
        #expect(try node.sandbox.runtime.inspect("shell").state.status == .running)

        // attach without a tty: stdout and stderr multiplexed, then the exit status (the CLI's wait).
        let ticker = node.cli("container", "run", "-d", "--name", "ticker", "busybox", "sh", "-c",
                              "trap 'exit 4' TERM; while true; do echo tick; echo tock >&2; sleep 0.2; done")
        try #require(ticker.status == 0, "\(ticker.stderr)")
        let follow = try PtySession(docker + ["attach", "--no-stdin", "ticker"], environment: environment)
        #expect(follow.expect("tick") && follow.expect("tock"), "\(follow.output)")
        let stop = node.cli("container", "stop", "ticker")
        #expect(stop.status == 0, "\(stop.stderr)")
        #expect(follow.exited() == 4, "\(follow.output)")
    }
}

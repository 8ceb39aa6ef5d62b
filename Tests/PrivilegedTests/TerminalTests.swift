import Containers
import Foundation
import Lab
import Testing

/// One end of a real pty pair that a CLI under test runs on: its stdin,
/// stdout and stderr are the slave, which is also its controlling terminal
/// (`setsid -c`), so window changes reach it as SIGWINCH.
final class PtySession {
    let master: Int32
    let slave: Int32
    let pid: pid_t
    private(set) var output = ""
    private var exitStatus: Int32?

    init(_ arguments: [String], environment: [String: String], rows: UInt16 = 24, columns: UInt16 = 80) throws {
        let pty = try PseudoTerminal.open()
        master = pty.master
        // Kept open by the test: its termios is read after the CLI exits.
        slave = pty.slave
        PseudoTerminal.setSize(master, TerminalSize(rows: rows, columns: columns))
        _ = fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK)
        pid = try spawnProcess("/usr/bin/setsid", ["setsid", "-c"] + arguments, environment: environment,
                               stdin: slave, stdout: slave, stderr: slave)
    }

    deinit {
        if exitStatus == nil {
            kill(pid, SIGKILL)
            _ = waitFor(pid)
        }
        close(master)
        close(slave)
    }

    func send(_ text: String) { _ = text.utf8CString.withUnsafeBufferPointer { write(master, $0.baseAddress, $0.count - 1) } }

    func resize(rows: UInt16, columns: UInt16) {
        PseudoTerminal.setSize(master, TerminalSize(rows: rows, columns: columns))
    }

    /// Reads what has arrived, for up to `seconds`, until `text` is in the output.
    @discardableResult
    func expect(_ text: String, seconds: Double = 10) -> Bool {
        eventually(seconds) {
            drain()
            return output.contains(text)
        }
    }

    private func drain() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(master, &buffer, buffer.count)
            guard n > 0 else { return }
            output += String(decoding: buffer[..<n], as: UTF8.self)
        }
    }

    /// The CLI's exit status once it has exited (within `seconds`), nil if it has not.
    func exited(seconds: Double = 10) -> Int32? {
        _ = eventually(seconds) {
            drain()
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
            }
            return exitStatus != nil
        }
        drain()
        return exitStatus
    }

    /// The local flags of the terminal (the slave's termios).
    var localFlags: tcflag_t {
        var attributes = termios()
        _ = tcgetattr(slave, &attributes)
        return attributes.c_lflag
    }
}

/// `run -it`, `exec -it`, `attach`, `-i` without `-t`, and `port`, driven
/// through real ptys.
@Suite(.enabled(if: isRoot, rootReason))
struct TerminalTests {
    let sandbox: Sandbox

    init() throws { sandbox = try Sandbox() }

    func session(_ arguments: [String], rows: UInt16 = 24, columns: UInt16 = 80) throws -> PtySession {
        try PtySession([swarmBinary, "container"] + arguments, environment: sandbox.environment, rows: rows, columns: columns)
    }

    @Test func runInteractiveTerminalResizesDetachesAndReattaches() throws {
        let run = try session(["run", "-it", "--name", "tty1", "--rootfs", busyboxRootfs, "sh"], rows: 24, columns: 80)
        let cooked = run.localFlags
        #expect(run.expect("# "), "no prompt: \(run.output)")
        // Raw mode while attached: no echo, no canonical input on the caller's terminal.
        #expect(eventually { run.localFlags & tcflag_t(ECHO | ICANON) == 0 }, "caller's terminal not raw")
        run.send("echo hello-$((6*7))\r")
        #expect(run.expect("hello-42"), "\(run.output)")
        // The initial size, then a change the CLI forwards.
        run.send("stty size\r")
        #expect(run.expect("24 80"), "\(run.output)")
        run.resize(rows: 33, columns: 101)
        #expect(eventually {
            run.send("stty size\r")
            return run.expect("33 101", seconds: 0.5)
        }, "\(run.output)")
        // Ctrl-P Ctrl-Q: the CLI exits 0, the container goes on, the terminal is restored.
        run.send("\u{10}\u{11}")
        #expect(run.exited() == 0, "\(run.output)")
        #expect(run.output.contains("read escape sequence"), "\(run.output)")
        #expect(run.localFlags == cooked, "termios not restored")
        let info = try sandbox.runtime.inspect("tty1")
        #expect(info.state.status == .running)

        // Attach again: the same shell, then its exit status.
        let attach = try session(["attach", "tty1"])
        attach.send("echo back-$((2+3))\r")
        #expect(attach.expect("back-5"), "\(attach.output)")
        attach.send("exit 3\r")
        #expect(attach.exited() == 3, "\(attach.output)")
        #expect(attach.localFlags == cooked, "termios not restored after attach")

        // A tty's output is logged as one stream, stdout.
        let log = try String(contentsOfFile: info.record.logPath, encoding: .utf8)
        #expect(log.contains("hello-42") && log.contains("back-5") && log.contains("\"stream\":\"stdout\""), "\(log)")
        #expect(!log.contains("\"stream\":\"stderr\""), "\(log)")
    }

    @Test func execInteractiveTerminal() throws {
        let start = sandbox.swarm(["run", "-d", "--name", "tty2", "--rootfs", busyboxRootfs, "sleep", "1000"])
        try #require(start.status == 0, "\(start.stderr)")
        let exec = try session(["exec", "-it", "tty2", "sh"], rows: 20, columns: 70)
        let cooked = exec.localFlags
        exec.send("echo in-$((3*3)); stty size\r")
        #expect(exec.expect("in-9"), "\(exec.output)")
        #expect(exec.expect("20 70"), "\(exec.output)")
        // Its own session with the pty as controlling terminal.
        // /dev/tty opens only for a process with a controlling terminal.
        exec.send("echo ctty-$((4+4)) > /dev/tty; exit 5\r")
        #expect(exec.expect("ctty-8"), "\(exec.output)")
        #expect(exec.exited() == 5, "\(exec.output)")
        #expect(exec.localFlags == cooked, "termios not restored")
    }

    @Test func terminalsComeFromTheContainersDevpts() throws {
        // run -t: PID 1's terminal is the first pty of the container's own devpts.
        let run = sandbox.swarm(["run", "-t", "--name", "tty4", "--rootfs", busyboxRootfs, "sh", "-c", "tty; echo rc=$?"])
        #expect(run.status == 0 && run.stdout.contains("/dev/pts/0\r\nrc=0"), "\(run.stdout) \(run.stderr)")

        let start = sandbox.swarm(["run", "-d", "-t", "--name", "tty5", "--rootfs", busyboxRootfs, "sleep", "1000"])
        try #require(start.status == 0, "\(start.stderr)")
        // exec -t: a pty of the same devpts, beside PID 1's, named by `tty` and by `ps`.
        // (busybox ps names a terminal by its device: 136 is the pty slaves' major.)
        let exec = sandbox.swarm(["exec", "-t", "tty5", "sh", "-c", "tty; echo rc=$?; ps -o pid,tty,args"])
        #expect(exec.status == 0 && exec.stdout.contains("/dev/pts/1\r\nrc=0\r\n"), "\(exec.stdout) \(exec.stderr)")
        #expect(exec.stdout.contains("136,0  sleep 1000") && exec.stdout.contains("136,1  {ps} sh -c tty"), "\(exec.stdout)")
        // Another user's: it can open its terminal again by name.
        let user = sandbox.swarm(["exec", "-t", "-u", "4242", "tty5", "sh", "-c", "echo again > $(tty) && echo done-$((2*3))"])
        #expect(user.status == 0 && user.stdout.contains("again\r\ndone-6"), "\(user.stdout) \(user.stderr)")
    }

    @Test func execDetachKeysLeaveTheCommandRunning() throws {
        let start = sandbox.swarm(["run", "-d", "--name", "tty6", "--rootfs", busyboxRootfs, "sleep", "1000"])
        try #require(start.status == 0, "\(start.stderr)")
        let exec = try session(["exec", "-it", "tty6", "sh"])
        let cooked = exec.localFlags
        #expect(exec.expect("# "), "no prompt: \(exec.output)")
        exec.send("echo $$ > /tmp/shell; echo shell-$((5+5))\r")
        #expect(exec.expect("shell-10"), "\(exec.output)")
        // A command still running in the foreground when the caller detaches:
        // it and its shell must go on (no SIGHUP), and its later output must
        // not block on a terminal nobody reads.
        exec.send("sleep 1; head -c 200000 /dev/zero; echo late > /tmp/late\r")
        exec.send("\u{10}\u{11}")
        #expect(exec.exited() == 0, "\(exec.output)")
        #expect(exec.output.contains("read escape sequence"), "\(exec.output)")
        #expect(exec.localFlags == cooked, "termios not restored")
        #expect(eventually(10) { sandbox.swarm(["exec", "tty6", "cat", "/tmp/late"]).stdout == "late\n" }, "the detached command did not go on")
        let shell = sandbox.swarm(["exec", "tty6", "sh", "-c", "kill -0 $(cat /tmp/shell) && echo alive"])
        #expect(shell.stdout == "alive\n", "\(shell.stdout) \(shell.stderr)")
    }

    @Test func customDetachKeysAndBadOnes() throws {
        let run = try session(["run", "-it", "--detach-keys", "ctrl-a,x", "--name", "tty3", "--rootfs", busyboxRootfs, "sh"])
        #expect(run.expect("# "), "\(run.output)")
        // The last key alone is a plain key.
        run.send("echo still-$((1+1))x\r")
        #expect(run.expect("still-2x"), "\(run.output)")
        run.send("\u{01}x")
        #expect(run.exited() == 0, "\(run.output)")
        let kept = try sandbox.runtime.inspect("tty3")
        #expect(kept.state.status == .running)

        let bad = sandbox.swarm(["run", "-it", "--detach-keys", "ctrl-", "--rootfs", busyboxRootfs, "sh"])
        #expect(bad.status == 1 && bad.stderr.contains("Invalid detach keys (ctrl-) provided"), "\(bad.stderr)")
        #expect(sandbox.leftovers().filter { !$0.contains(kept.id) && !$0.contains("tty3") }.isEmpty)
    }

    @Test func interactiveWithoutTerminalStreamsStdin() throws {
        let start = sandbox.swarm(["run", "-d", "--name", "pipe1", "--rootfs", busyboxRootfs, "sleep", "1000"])
        try #require(start.status == 0, "\(start.stderr)")
        let shell = "printf 'one\\ntwo\\n' | \"$0\" container exec -i pipe1 sh -c 'cat; echo end'"
        let exec = runProcess("/bin/sh", ["-c", shell, swarmBinary], environment: sandbox.environment)
        #expect(exec.status == 0 && exec.stdout == "one\ntwo\nend\n", "\(exec.stdout) \(exec.stderr)")

        // run -i: through the monitor's stdin pipe; EOF closes it.
        let runShell = "printf 'abc\\n' | \"$0\" container run -i --rm --rootfs \"$1\" sh -c 'cat; echo done >&2; exit 4'"
        let run = runProcess("/bin/sh", ["-c", runShell, swarmBinary, busyboxRootfs], environment: sandbox.environment)
        #expect(run.status == 4 && run.stdout == "abc\n" && run.stderr == "done\n", "\(run.stdout) \(run.stderr)")

        // -it from a pipe is refused, as Docker does.
        let refused = runProcess("/bin/sh", ["-c", "echo x | \"$0\" container run -it --rootfs \"$1\" cat", swarmBinary, busyboxRootfs],
                                 environment: sandbox.environment)
        #expect(refused.status == 1 && refused.stderr.contains("the input device is not a TTY"), "\(refused.stderr)")
    }

    @Test func attachWithoutTerminalFollowsBothStreams() throws {
        let start = sandbox.swarm(["run", "-d", "--name", "out1", "--rootfs", busyboxRootfs,
                                   "sh", "-c", "read line; echo got-$line; echo err-$line >&2; exit 6"])
        try #require(start.status == 0, "\(start.stderr)")
        // No -i: attach reads only; the container's stdin is /dev/null, so it ends at once
        // or has ended; a container that has exited cannot be attached (Docker's message).
        _ = try sandbox.runtime.wait("out1", timeout: 10)
        let late = sandbox.swarm(["attach", "out1"])
        #expect(late.status == 1 && late.stderr.contains("You cannot attach to a stopped container, start it first"), "\(late.stderr)")

        let start2 = sandbox.swarm(["run", "-d", "-i", "--name", "out2", "--rootfs", busyboxRootfs,
                                    "sh", "-c", "read line; echo got-$line; echo err-$line >&2; exit 6"])
        try #require(start2.status == 0, "\(start2.stderr)")
        let attach = runProcess("/bin/sh", ["-c", "echo zz | \"$0\" container attach out2", swarmBinary], environment: sandbox.environment)
        #expect(attach.status == 6 && attach.stdout == "got-zz\n" && attach.stderr == "err-zz\n", "\(attach)")
    }

    @Test func portListsNothingAndRefusesAnUnpublishedPort() throws {
        let start = sandbox.swarm(["run", "-d", "--name", "web1", "--rootfs", busyboxRootfs, "sleep", "1000"])
        try #require(start.status == 0, "\(start.stderr)")
        let all = sandbox.swarm(["port", "web1"])
        #expect(all.status == 0 && all.stdout.isEmpty && all.stderr.isEmpty, "\(all)")
        let one = sandbox.swarm(["port", "web1", "80"])
        #expect(one.status == 1 && one.stderr == "Error: No public port '80/tcp' published for web1\n", "\(one.stderr)")
        let udp = sandbox.swarm(["port", "web1", "53/udp"])
        #expect(udp.status == 1 && udp.stderr == "Error: No public port '53/udp' published for web1\n", "\(udp.stderr)")
        let bad = sandbox.swarm(["port", "web1", "http"])
        #expect(bad.status == 1 && bad.stderr.contains("invalid port (http)"), "\(bad.stderr)")
        let missing = sandbox.swarm(["port", "nope", "80"])
        #expect(missing.status == 1 && missing.stderr.contains("No such container: nope"), "\(missing.stderr)")
    }
}

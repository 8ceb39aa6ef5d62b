import CRuntime
import Glibc
import SystemCalls

/// A pty pair (crt_open_pty): both ends close-on-exec, neither the
/// caller's controlling terminal. The caller closes both.
public struct PseudoTerminal: Sendable {
    public let master: Int32
    public let slave: Int32

    public static func open() throws -> PseudoTerminal {
        var master: Int32 = -1, slave: Int32 = -1
        _ = try syscall("open", "/dev/ptmx") { crt_open_pty(&master, &slave) }
        return PseudoTerminal(master: master, slave: slave)
    }

    /// Leaves `master` to a background process that reads and drops the
    /// terminal's output until the processes on it have ended
    /// (crt_hold_terminal): `exec -it` detached, as Docker's daemon does.
    public static func holdInBackground(_ master: Int32) throws {
        _ = try syscall("fork", "terminal holder") { crt_hold_terminal(master) }
    }

    public static func setSize(_ fd: Int32, _ size: TerminalSize) {
        var ws = winsize(ws_row: size.rows, ws_col: size.columns, ws_xpixel: 0, ws_ypixel: 0)
        _ = ioctl(fd, UInt(TIOCSWINSZ), &ws)
    }
}

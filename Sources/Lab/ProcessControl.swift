import FoundationEssentials
import Glibc

/// Waits for a child: its exit status, or 128+signal.
public func waitForExit(_ pid: pid_t) -> Int32 {
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 {
        if errno != EINTR { return 1 }
    }
    return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
}

/// Alive and not a zombie.
public func processAlive(_ pid: pid_t) -> Bool {
    guard pid > 0, kill(pid, 0) == 0 || errno == EPERM else { return false }
    // The state follows the command name's closing parenthesis: "PID (COMM) S ...".
    guard let fields = readWholeFile("/proc/\(pid)/stat"), let end = fields.lastIndex(of: UInt8(ascii: ")")),
          end + 2 < fields.count else { return true }
    return fields[end + 2] != UInt8(ascii: "Z") && fields[end + 2] != UInt8(ascii: "X")
}

/// The pid a node's daemon wrote to STATE_DIR/swarmd.pid.
public func readDaemonPID(_ stateDir: String) -> pid_t? {
    readWholeFile(stateDir + "/swarmd.pid").flatMap { pid_t(String(decoding: $0, as: UTF8.self).trimmed) }
}

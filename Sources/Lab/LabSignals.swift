import Glibc
import Synchronization

/// Interrupts during `lab up` (so it can remove what it made) and signals
/// for the command `lab exec` runs.
public enum LabSignals {
    struct Interrupted: Error {}
    static let received = Atomic<Int32>(0)
    static let child = Atomic<pid_t>(0)

    /// SIGINT, SIGTERM and SIGHUP are noted, and `up` stops at its next step.
    public static func catchInterrupts() {
        for number in [SIGINT, SIGTERM, SIGHUP] {
            signal(number) { LabSignals.received.store($0, ordering: .relaxed) }
        }
    }

    static func pending() -> Bool { received.load(ordering: .relaxed) != 0 }

    static func check() throws {
        if pending() { throw Interrupted() }
    }

    /// The terminal's Ctrl-C and Ctrl-\ reach the child (same process
    /// group) and are for it alone; SIGTERM and SIGHUP sent to us go on to it.
    public static func forwardToChild() {
        signal(SIGINT, SIG_IGN)
        signal(SIGQUIT, SIG_IGN)
        for number in [SIGTERM, SIGHUP] {
            signal(number) { number in
                let pid = LabSignals.child.load(ordering: .relaxed)
                if pid > 0 { kill(pid, number) }
            }
        }
    }

    /// The child that `forwardToChild`'s handlers pass signals on to.
    public static func forward(to pid: pid_t) {
        child.store(pid, ordering: .relaxed)
    }
}

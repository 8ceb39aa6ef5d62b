import Dispatch
import Foundation
import Glibc
import Synchronization

/// What the bench leaves if it is interrupted (Ctrl-C, SIGTERM): its
/// etcd members (killed by their PIDs) and its temporary directories.
enum BenchCleanup {
    private struct Leftovers {
        var pids: Set<pid_t> = []
        var directories: Set<String> = []
    }
    private static let leftovers = Mutex(Leftovers())
    /// Kept for the life of the process (made once, never changed).
    nonisolated(unsafe) private static let handlers: [any DispatchSourceSignal] = [SIGINT, SIGTERM].map { number in
        signal(number, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
        source.setEventHandler {
            let left = leftovers.withLock { $0 }
            for pid in left.pids { kill(pid, SIGKILL) }
            for pid in left.pids { var status: Int32 = 0; _ = waitpid(pid, &status, 0) }
            for directory in left.directories { try? FileManager.default.removeItem(atPath: directory) }
            exit(130)
        }
        source.resume()
        return source
    }

    static func killOnExit(_ pid: pid_t) { leftovers.withLock { _ = $0.pids.insert(pid) } }
    static func removeOnExit(_ directory: String) { leftovers.withLock { _ = $0.directories.insert(directory) } }
    static func forget(_ pid: pid_t) { leftovers.withLock { _ = $0.pids.remove(pid) } }
    static func forget(_ directory: String) { leftovers.withLock { _ = $0.directories.remove(directory) } }

    /// On SIGINT and SIGTERM: kill the members, wait for them, remove the directories, exit 130.
    static func installSignalHandlers() { _ = handlers }
}

import CRuntime
import Dispatch
import Foundation
import Glibc
import Synchronization

/// Children that die with swarmd: each is forked with a parent-death signal
/// (SIGKILL). The kernel sends it when the *thread* that forked the child
/// ends, not the process, and Swift's pool threads come and go: so every
/// such child is forked by one thread that lives as long as the process.
/// (That thread is made by a thread of swarmd's own namespaces, as Swift's
/// pool threads are: code that enters another network namespace does it on
/// a thread of its own.)
enum SupervisedChild {
    struct Failure: Error, CustomStringConvertible {
        var path: String
        var code: Int32
        var description: String { "cannot start \(path): \(String(cString: strerror(code)))" }
    }

    private struct Request: Sendable {
        var path: String
        var arguments: [String]
        var environment: [String]
        var output: Int32
        var done: CheckedContinuation<Int32, Never>
    }

    private static let requests = Mutex<[Request]>([])
    private static let wake = DispatchSemaphore(value: 0)
    private static let thread: Void = {
        Thread.detachNewThread {
            while true {
                wake.wait()
                for request in requests.withLock({ pending in defer { pending = [] }; return pending }) {
                    request.done.resume(returning: fork(request))
                }
            }
        }
    }()

    /// Starts `path` with `arguments` (argv[0] first), its output appended
    /// to `output`; its pid.
    static func spawn(_ path: String, _ arguments: [String], environment: [String: String], output: Int32) async throws -> pid_t {
        _ = thread
        let environment = environment.map { "\($0.key)=\($0.value)" }
        let result = await withCheckedContinuation { done in
            requests.withLock { $0.append(Request(path: path, arguments: arguments, environment: environment, output: output, done: done)) }
            wake.signal()
        }
        guard result > 0 else { throw Failure(path: path, code: -result) }
        return result
    }

    private static func fork(_ request: Request) -> Int32 {
        let argv = request.arguments.map { strdup($0) } + [nil]
        let envp = request.environment.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        return crt_spawn_supervised(request.path, argv, envp, request.output, SIGKILL)
    }

    /// Waits (on a thread of its own) for the child to exit; its wait status.
    static func waitForExit(_ pid: pid_t) async -> Int32 {
        await withCheckedContinuation { done in
            Thread.detachNewThread {
                var status: Int32 = 0
                while waitpid(pid, &status, 0) < 0 {
                    if errno != EINTR { status = -1; break }
                }
                done.resume(returning: status)
            }
        }
    }

    /// "exit status N" or "signal N".
    static func describe(_ status: Int32) -> String {
        if status < 0 { return "unknown status" }
        if status & 0x7f == 0 { return "exit status \((status >> 8) & 0xff)" }
        return "signal \(status & 0x7f)"
    }

    /// The full path of `name` (as given when it has a slash), searched in PATH.
    static func resolve(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

import Containers
import Dispatch
import FoundationEssentials
import Glibc
import SystemCalls

/// The Engine API's exec instances on this node: made by
/// `POST /containers/{id}/exec`, run by `POST /exec/{id}/start`, read by
/// `GET /exec/{id}/json` (the docker CLI reads the exit code there).
/// In memory, as Docker keeps them; a finished one is dropped after a while.
actor ExecRegistry {
    struct Config: Decodable, Sendable {
        var AttachStdin: Bool?
        var AttachStdout: Bool?
        var AttachStderr: Bool?
        var Tty: Bool?
        var Env: [String]?
        var Cmd: [String]?
        var User: String?
        var WorkingDir: String?
        var Privileged: Bool?
        /// [height, width] of the caller's terminal (API 1.42+).
        var ConsoleSize: [UInt16]?
    }

    struct Instance: Sendable {
        var id: String
        var containerID: String
        var config: Config
        var running = false
        var started = false
        var exitCode: Int32?
        var pid: pid_t = 0
        var finishedAt: ContinuousClock.Instant?
        /// The pty master while a `Tty` exec runs (for resize).
        var master: Int32?
        /// The last size asked for, applied when the pty opens.
        var size: TerminalSize?
    }

    /// How long a finished instance stays readable (the docker CLI reads the
    /// exit code right after the stream ends); then it is dropped.
    static let keepFinished = Duration.seconds(300)

    private var instances: [String: Instance] = [:]

    func create(containerID: String, config: Config) -> String {
        let now = ContinuousClock.now
        instances = instances.filter { $0.value.finishedAt.map { now - $0 < Self.keepFinished } ?? true }
        let id = newExecID()
        instances[id] = Instance(id: id, containerID: containerID, config: config)
        return id
    }

    func instance(_ id: String) -> Instance? { instances[id] }

    /// Marks the instance started; false if it was already (Docker refuses a second start).
    func claim(_ id: String) -> Bool {
        guard var instance = instances[id], !instance.started else { return false }
        instance.started = true
        instance.running = true
        instances[id] = instance
        return true
    }

    func started(_ id: String, pid: pid_t) { instances[id]?.pid = pid }

    /// `POST /exec/{id}/resize`: on the running pty, or kept for when it opens.
    /// False for an unknown instance.
    func resize(_ id: String, _ size: TerminalSize) -> Bool {
        guard instances[id] != nil else { return false }
        instances[id]?.size = size
        if let master = instances[id]?.master { PseudoTerminal.setSize(master, size) }
        return true
    }

    /// The pty master of a running exec (nil: it is closed, no more resizes).
    func setMaster(_ id: String, _ master: Int32?) -> TerminalSize? {
        instances[id]?.master = master
        return instances[id]?.size
    }

    func finished(_ id: String, exitCode: Int32) {
        instances[id]?.running = false
        instances[id]?.exitCode = exitCode
        instances[id]?.finishedAt = ContinuousClock.now
    }

    private func newExecID() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<4).map { _ in
            let hex = String(generator.next() as UInt64, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }
}

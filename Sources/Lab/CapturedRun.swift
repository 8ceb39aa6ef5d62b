import FoundationEssentials
import Glibc
import HostNetwork
import SystemCalls

struct CapturedResult {
    static let timedOut: Int32 = -1
    var status: Int32
    var stdout: String
    var stderr: String
}

/// A program (in a namespace, if given) started with output to LOG.out
/// and LOG.err, not pipes: a daemon it leaves behind may keep its
/// descriptors. `poll` says when it is done; it is killed after `timeout`
/// seconds (status `CapturedResult.timedOut`), or on an interrupt of this
/// process (`poll` throws `LabSignals.Interrupted`). Several can run at once.
struct CapturedRun {
    let pid: pid_t
    let log: String
    let deadline: Date

    init(_ namespace: NetworkNamespace?, _ path: String, _ arguments: [String], environment: [String: String],
         log: String, timeout: Double) throws {
        try makeDirectories(String(log[..<(log.lastIndex(of: "/") ?? log.startIndex)]))
        let out = try openOrThrow(log + ".out", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        defer { close(out) }
        let err = try openOrThrow(log + ".err", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        defer { close(err) }
        let start = {
            try spawnProcess(path, arguments, environment: environment, stdin: nil, stdout: out, stderr: err,
                             newProcessGroup: true, searchPath: false)
        }
        do {
            pid = try namespace.map { try $0.run(start) } ?? start()
        } catch let error as SpawnError {
            throw RuntimeError.system(errno: error.code, call: "posix_spawn", detail: path)
        }
        self.log = log
        deadline = Date().addingTimeInterval(timeout)
    }

    /// The result once the program has ended (reaped), nil while it runs.
    func poll() throws -> CapturedResult? {
        var status: Int32 = 0
        let done = waitpid(pid, &status, WNOHANG)
        if done == pid || (done < 0 && errno != EINTR) {
            let code = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
            let text = { (file: String) in readWholeFile(file).map { String(decoding: $0, as: UTF8.self) } ?? "" }
            return CapturedResult(status: code, stdout: text(log + ".out"), stderr: text(log + ".err"))
        }
        if LabSignals.pending() || Date() > deadline {
            kill(pid, SIGKILL)
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            try LabSignals.check()
            return CapturedResult(status: CapturedResult.timedOut, stdout: "", stderr: "timed out")
        }
        return nil
    }

    /// Waits for the end.
    func wait() throws -> CapturedResult {
        while true {
            if let result = try poll() { return result }
            usleep(20_000)
        }
    }
}

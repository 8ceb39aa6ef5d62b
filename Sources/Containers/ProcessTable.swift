import Glibc
import SystemCalls

/// `ps` output cut into Docker's process list (`docker top`).
public struct ProcessTable: Equatable, Sendable {
    public var titles: [String]
    public var processes: [[String]]

    /// Docker's parsing: titles are the header's words; each row is split on
    /// blanks, the last column (the command) keeps the rest of the line; rows
    /// whose PID is not in `pids` are dropped.
    public static func parse(psOutput: String, pids: Set<pid_t>) throws -> ProcessTable {
        let lines = psOutput.split(separator: "\n")
        guard let header = lines.first else { throw RuntimeError.badInput("ps printed nothing") }
        let titles = header.split(separator: " ").map(String.init)
        guard let pidIndex = titles.firstIndex(of: "PID") else {
            throw RuntimeError.badInput("Couldn't find PID field in ps output")
        }
        var processes: [[String]] = []
        for line in lines.dropFirst() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard fields.count > pidIndex, let pid = pid_t(fields[pidIndex]), pids.contains(pid) else { continue }
            let head = Array(fields.prefix(titles.count - 1))
            let rest = fields.dropFirst(titles.count - 1).joined(separator: " ")
            processes.append(head + (rest.isEmpty ? [] : [rest]))
        }
        return ProcessTable(titles: titles, processes: processes)
    }

    /// Runs the host's ps and returns what it printed; its first error
    /// line if it fails (an unknown option, say).
    static func runPS(_ arguments: [String]) throws -> String {
        let outputPipe = try closeOnExecPipe("ps")
        let errorPipe: (read: Int32, write: Int32)
        do { errorPipe = try closeOnExecPipe("ps") } catch {
            close(outputPipe.read); close(outputPipe.write)
            throw error
        }
        let output = [outputPipe.read, outputPipe.write], errors = [errorPipe.read, errorPipe.write]
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, output[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errors[1], 2)
        for fd in output + errors { posix_spawn_file_actions_addclose(&actions, fd) }
        let argv: [String] = ["ps"] + arguments
        let environment: [String] = ["PATH=/usr/bin:/bin", "LC_ALL=C"]
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = environment.map { strdup($0) } + [nil]
        defer { (cArgs + cEnv).forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, "ps", &actions, nil, cArgs, cEnv)
        close(output[1])
        close(errors[1])
        let out = String(decoding: readAll(output[0]), as: UTF8.self), err = String(decoding: readAll(errors[0]), as: UTF8.self)
        close(output[0])
        close(errors[0])
        guard spawned == 0 else { throw RuntimeError.system(errno: spawned, call: "posix_spawn", detail: "ps") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        guard status == 0 else {
            throw RuntimeError.badInput("ps: \(err.split(separator: "\n").first.map(String.init) ?? "exit status \(status >> 8)")")
        }
        return out
    }
}

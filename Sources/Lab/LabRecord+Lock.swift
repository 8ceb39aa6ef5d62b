import FoundationEssentials
import Glibc
import SystemCalls

extension LabRecord {
    /// Runs `body` on lab `name`'s record holding an exclusive flock on
    /// its lab.lock, then saves the record, also when `body` throws (it
    /// records each change once made, so the record says what was done);
    /// so that
    /// two `lab pause`/`partition` commands never lose each other's
    /// change. "no lab named NAME" without a record; refuses a lab that is
    /// not up (being made, or left half-made).
    static func update<T>(_ name: String, _ body: (inout LabRecord) throws -> T) throws -> T {
        try LabNetwork.validate(name: name)
        try requireLabRoot()
        let paths = LabPaths(name)
        guard access(paths.directory, F_OK) == 0 else { throw RuntimeError.badInput("no lab named \(name)") }
        let lock = open(paths.directory + "/lab.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0 else { throw RuntimeError.badInput("no lab named \(name)") }
        defer { close(lock) }
        while flock(lock, LOCK_EX) != 0 {
            guard errno == EINTR else { throw RuntimeError.system(errno: errno, call: "flock", detail: paths.directory + "/lab.lock") }
        }
        guard var record = try LabRecord.load(paths) else { throw RuntimeError.badInput("no lab named \(name)") }
        guard record.state == "up" else {
            throw RuntimeError.badInput("lab \(name) is not up (\(record.state)): wait for lab up to finish, or remove it with swarm lab down --name \(name)")
        }
        do {
            let result = try body(&record)
            try record.save(paths)
            return result
        } catch {
            try? record.save(paths)
            throw error
        }
    }
}

import CRuntime
import Glibc
import SystemCalls

/// A pipe whose two ends close on exec, made in one step (`pipe2`): with
/// `pipe` then `fcntl`, a child that another thread spawns in between
/// inherits the ends, and a reader then waits for that child's end too.
public func closeOnExecPipe(_ detail: @autoclosure () -> String = "") throws -> (read: Int32, write: Int32) {
    var fds: [Int32] = [-1, -1]
    _ = try syscall("pipe2", detail()) { crt_pipe2(&fds, O_CLOEXEC) }
    return (fds[0], fds[1])
}

import CRuntime
import FoundationEssentials
import Glibc
import SystemCalls

/// What to run in a running container (`exec`), Docker's options.
public struct ExecSpec: Sendable {
    public var command: [String]
    /// KEY=VALUE, added to (or replacing in) the container's environment.
    public var env: [String] = []
    /// "uid", "uid:gid", "name" or "name:group", looked up in the container's
    /// own /etc; nil: the container's user.
    public var user: String?
    /// Absolute; nil: the container's working directory.
    public var workingDir: String?
    /// Every capability this process can give (its bounding set), and the
    /// seccomp profile Docker's rules give that set.
    public var privileged = false
    /// Own session; the process goes on without a waiting caller (the
    /// host's init, or a subreaper, becomes its parent).
    public var detach = false
    /// Descriptors the process gets; -1: /dev/null.
    public var stdin: Int32 = -1
    public var stdout: Int32 = -1
    public var stderr: Int32 = -1
    /// A pty from the container's own devpts (`exec -t`): the process gets
    /// its own session with the slave as 0-2 and controlling terminal (a
    /// /dev/pts/N of the container); stdin/stdout/stderr are unused and
    /// the master is the caller's (`ExecProcess.master`).
    public var tty = false
    /// The pty's initial size; nil: 0x0 until the caller sets one.
    public var terminalSize: TerminalSize?

    public init(command: [String]) { self.command = command }
}

/// A process started by `exec`: a child of the caller unless detached.
public struct ExecProcess: Sendable {
    /// As seen from the host.
    public let pid: pid_t
    public let detached: Bool
    /// With `ExecSpec.tty`: the pty's master (close-on-exec), the caller's to close.
    public var master: Int32? = nil

    /// Waits for the process; its exit status, 128+signal if killed (Docker's).
    public func wait() -> Int32 {
        guard !detached else { return 0 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return 1 }
        }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }
}

/// An exec that did not start its command: Docker's message and exit status
/// (127: not found, 126: found but not runnable, or a setup step failed).
public struct ExecFailure: Error, CustomStringConvertible {
    public let exitCode: Int32
    public let description: String
}

extension ContainerRuntime {
    /// Namespaces an exec'd process joins: all the container has (joining
    /// one it shares with the host, such as a host network, changes nothing).
    static let execNamespaces = CRT_CLONE_NEWNS | CRT_CLONE_NEWPID | CRT_CLONE_NEWUTS | CRT_CLONE_NEWIPC
        | CRT_CLONE_NEWNET | CRT_CLONE_NEWCGROUP

    /// Starts `spec.command` inside the running container `ref`: its
    /// namespaces and cgroup, its capabilities, no_new_privs and seccomp
    /// filter, its environment and user unless overridden. Returns once the
    /// command has been exec'd.
    public func exec(_ ref: String, _ spec: ExecSpec) throws -> ExecProcess {
        guard let program = spec.command.first, !program.isEmpty else {
            throw RuntimeError.badInput("no command given: add the command to run after the container (e.g. sh)")
        }
        let id = try store.resolveID(ref)
        let state = store.state(id: id, health: false)
        guard state.status == .running, let pidfd = Self.pidfd(pid: state.pid, id: id) else {
            throw RuntimeError.conflict("container \(id) is not running")
        }
        defer { close(pidfd) }
        let record = try store.execView(id: id)
        let workingDir = spec.workingDir ?? record.workingDir
        guard workingDir.hasPrefix("/") else {
            throw RuntimeError.badInput("the working directory '\(workingDir)' is invalid, it needs to be an absolute path")
        }
        // The container's /etc as the container sees it, through its first
        // process's root: an image's upper layer included, and no symlink
        // out of it (crt_open_in_root).
        let user = try spec.user.map { try ResolvedUser.resolve($0, roots: ["/proc/\(state.pid)/root"]) } ?? record.user
        let env = Self.execEnvironment(record: record, user: spec.user == nil ? nil : user, extra: spec.env)
        var capabilities = try CapabilitySet.dockerDefault.adding(record.capAdd, dropping: record.capDrop)
        if spec.privileged { capabilities = CapabilitySet(mask: CapabilitySet.all.mask & CapabilitySet.bounding.mask) }
        let seccomp = record.seccomp ? try SeccompCache.shared.program(for: capabilities, cacheDir: store.root + "/seccomp") : nil

        let cgroupFD = try syscall("open", record.cgroupPath) { open(record.cgroupPath, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        defer { close(cgroupFD) }
        let arena = CArena()
        var config = crt_config()
        config.argv = arena.stringArray(spec.command)
        config.envp = arena.stringArray(env)
        config.cwd = arena.string(workingDir)
        config.uid = user.uid
        config.gid = user.gid
        config.groups = arena.array(user.groups)
        config.ngroups = user.groups.count
        config.capabilities = capabilities.mask
        if let seccomp {
            config.seccomp_filter = UnsafeRawPointer(arena.array(seccomp.bytes))
            config.seccomp_len = seccomp.instructionCount
        }
        var options = crt_exec_options(pidfd: pidfd, ns_flags: Int32(Self.execNamespaces), cgroup_fd: cgroupFD,
                                       stdin_fd: spec.stdin, stdout_fd: spec.stdout, stderr_fd: spec.stderr,
                                       detach: spec.detach ? 1 : 0, tty: spec.tty ? 1 : 0,
                                       tty_rows: spec.terminalSize?.rows ?? 0, tty_cols: spec.terminalSize?.columns ?? 0)
        var result = crt_exec_result()
        if crt_exec(&config, &options, &result) != 0 {
            if result.pid > 0 && !spec.detach {
                _ = ExecProcess(pid: result.pid, detached: false).wait()   // it exited: reap it
            }
            throw Self.execFailure(step: String(cString: crt_step_name(result.step)), errno: result.error,
                                   command: program, workingDir: workingDir)
        }
        return ExecProcess(pid: result.pid, detached: spec.detach, master: result.master >= 0 ? result.master : nil)
    }

    /// The container's environment, then `extra` (KEY=VALUE) replacing or
    /// adding by key. With another user, HOME is that user's unless set
    /// explicitly (as runc does for a process without HOME).
    static func execEnvironment(record: ExecView, user: ResolvedUser?, extra: [String]) -> [String] {
        var env = record.env
        func key(_ entry: String) -> Substring { entry.split(separator: "=", maxSplits: 1).first ?? Substring(entry) }
        if let user, !(record.specEnv + extra).contains(where: { key($0) == "HOME" }) {
            env.removeAll { key($0) == "HOME" }
            env.append("HOME=\(user.home)")
        }
        for entry in extra {
            env.removeAll { key($0) == key(entry) }
            env.append(entry)
        }
        return env
    }

    /// Docker's words and exit status for an exec that failed to start.
    static func execFailure(step: String, errno code: Int32, command: String, workingDir: String) -> ExecFailure {
        let prefix = "OCI runtime exec failed: exec failed: unable to start container process: "
        switch (step, code) {
        case ("exec", ENOENT):
            let what = command.contains("/") ? "no such file or directory" : "executable file not found in $PATH"
            return ExecFailure(exitCode: 127, description: prefix + "exec: \"\(command)\": \(what): unknown")
        case ("exec", EACCES):
            return ExecFailure(exitCode: 126, description: prefix + "exec: \"\(command)\": permission denied: unknown")
        case ("chdir", _):
            return ExecFailure(exitCode: 126, description: prefix + "chdir to cwd (\"\(workingDir)\") set in config.json failed: \(String(cString: strerror(code)).lowercased()): unknown")
        default:
            return ExecFailure(exitCode: 126, description: prefix + "\(step): \(errnoName(code)): unknown")
        }
    }
}

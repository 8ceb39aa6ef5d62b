import Glibc

/// posix_spawn's error number.
public struct SpawnError: Error, CustomStringConvertible {
    public var code: Int32
    public var description: String { "posix_spawn: " + String(cString: strerror(code)) }
}

/// posix_spawn(p) with no blocked signals and default dispositions (what
/// this process ignores or catches is not for the child). With the calling
/// thread inside a network namespace, the child starts in it.
/// `arguments` starts with argv[0]. `stdin`/`stdout`/`stderr`: descriptors
/// for the child, /dev/null if nil. The one spawn of the CLI (daemon, lab)
/// and of the tests.
public func spawnProcess(_ path: String, _ arguments: [String], environment: [String: String], stdin: Int32?, stdout: Int32?, stderr: Int32?,
                         newProcessGroup: Bool = false, newSession: Bool = false, searchPath: Bool = false) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    for (target, source, flags) in [(Int32(0), stdin, O_RDONLY), (1, stdout, O_WRONLY), (2, stderr, O_WRONLY)] {
        if let source {
            if source != target { posix_spawn_file_actions_adddup2(&actions, source, target) }
        } else {
            posix_spawn_file_actions_addopen(&actions, target, "/dev/null", flags, 0)
        }
    }
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var none = sigset_t(), all = sigset_t()
    sigemptyset(&none)
    sigfillset(&all)
    posix_spawnattr_setsigmask(&attributes, &none)
    posix_spawnattr_setsigdefault(&attributes, &all)
    var flags = Int32(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
    if newProcessGroup {
        // Out of the terminal's foreground group: a Ctrl-C meant for `lab up` does not reach init or join.
        flags |= Int32(POSIX_SPAWN_SETPGROUP)
        posix_spawnattr_setpgroup(&attributes, 0)
    }
    if newSession {
        // POSIX_SPAWN_SETSID (glibc ≥ 2.26; not exported to Swift): a daemon leaves our session.
        flags |= 0x80
    }
    posix_spawnattr_setflags(&attributes, Int16(flags))
    let argv = arguments.map { strdup($0) } + [nil]
    let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { (argv + envp).forEach { free($0) } }
    var pid: pid_t = 0
    let code = searchPath ? posix_spawnp(&pid, path, &actions, &attributes, argv, envp)
                          : posix_spawn(&pid, path, &actions, &attributes, argv, envp)
    guard code == 0 else { throw SpawnError(code: code) }
    return pid
}


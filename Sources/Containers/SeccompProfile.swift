import CRuntime
import Glibc
import SystemCalls

/// One seccomp rule: when the syscall `name` is made and every condition in
/// `args` holds, allow it (`errno == nil`) or fail it with `errno`.
/// Syscalls no rule matches fail with EPERM.
public struct SeccompRule: Equatable, Sendable {
    public var name: String
    /// nil = allow; otherwise the syscall returns -errno without running.
    public var errno: Int32?
    /// Conditions on the arguments, all of which must hold (AND).
    public var args: [Arg]

    public init(name: String, errno: Int32? = nil, args: [Arg] = []) {
        self.name = name
        self.errno = errno
        self.args = args
    }

    /// A condition on one syscall argument (libseccomp's scmp_arg_cmp).
    public struct Arg: Equatable, Sendable {
        /// Argument position, 0 to 5.
        public var index: UInt32
        public var op: Op
        /// The value compared with; for `maskedEqual`, the mask.
        public var value: UInt64
        /// For `maskedEqual` only: the value `argument & mask` must equal.
        public var valueTwo: UInt64

        public init(index: UInt32, op: Op, value: UInt64, valueTwo: UInt64 = 0) {
            self.index = index
            self.op = op
            self.value = value
            self.valueTwo = valueTwo
        }
    }

    /// Comparison operators; the raw values are libseccomp's enum scmp_compare
    /// (and CRT_CMP_*).
    public enum Op: Int32, Sendable {
        case notEqual = 1, lessThan, lessOrEqual, equal, greaterOrEqual, greaterThan, maskedEqual
    }
}

/// A compiled filter: the bytes of a `struct sock_filter` array, ready for
/// seccomp(SECCOMP_SET_MODE_FILTER) in the container's child.
public struct SeccompProgram: Sendable {
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) { self.bytes = bytes }
    /// Each BPF instruction (struct sock_filter) is 8 bytes.
    public var instructionCount: Int { bytes.count / 8 }
}

/// Docker's default seccomp profile, as a table in Swift.
///
/// The source is moby's profiles/seccomp (default_linux.go / default.json,
/// module v0.2.3). Docker keeps a profile for every architecture and picks
/// entries by architecture, capability and kernel version when a container
/// is created; here only x86_64 is kept, and the choice by capability is
/// made by `dockerDefault(capabilities:)`.
public enum SeccompProfile {
    /// Docker's default profile for a container holding `capabilities`, for x86_64.
    ///
    /// Default action: EPERM. Names libseccomp does not know (syscalls newer
    /// than the library, or 32-bit-only names it has no number for) are
    /// skipped by `compile`, as Docker does.
    public static func dockerDefault(capabilities: CapabilitySet) -> [SeccompRule] {
        var rules: [SeccompRule] = []
        var allowed: Set<String> = []
        // An unconditional allow, once per name: several capabilities open
        // the same syscall (syslog: CAP_SYS_ADMIN or CAP_SYSLOG, bpf,
        // perf_event_open, ptrace...), and one rule is enough.
        func allow(_ names: [String]) {
            for name in names where allowed.insert(name).inserted {
                rules.append(SeccompRule(name: name))
            }
        }
        func has(_ cap: Int) -> Bool { capabilities.contains(cap) }

        allow(baseAllowList)
        // Docker adds these for kernels >= 4.8, where ptrace can no longer
        // be used to bypass seccomp. Every kernel this runtime supports
        // (cgroup v2, pidfd) is newer, so they are unconditional here.
        allow(["process_vm_readv", "process_vm_writev", "ptrace"])

        // socket(2) for every address family except AF_ALG (38) and
        // AF_VSOCK (40): family < 38, == 39, or > 40. (On 32-bit x86,
        // socket goes through socketcall(2), allowed above without
        // conditions; Docker accepts that hole too.)
        rules.append(SeccompRule(name: "socket", args: [.init(index: 0, op: .lessThan, value: afALG)]))
        rules.append(SeccompRule(name: "socket", args: [.init(index: 0, op: .equal, value: afALG + 1)]))
        rules.append(SeccompRule(name: "socket", args: [.init(index: 0, op: .greaterThan, value: afVSOCK)]))

        // personality(2) only for the personas programs actually ask for:
        // PER_LINUX (0x0), PER_LINUX32 (0x8), UNAME26 (0x20000),
        // PER_LINUX32 | UNAME26 (0x20008), and 0xffffffff, which only
        // queries the current persona. Other flags (ADDR_NO_RANDOMIZE,
        // READ_IMPLIES_EXEC, ...) would weaken the process's hardening.
        for persona: UInt64 in [0x0, 0x8, 0x20000, 0x20008, 0xffff_ffff] {
            rules.append(SeccompRule(name: "personality", args: [.init(index: 0, op: .equal, value: persona)]))
        }

        // Architecture-specific entries Docker selects for amd64.
        allow(["arch_prctl", "modify_ldt"])

        // Capability-conditional entries: the syscalls the capability
        // exists to guard, opened when the container holds it.
        if has(capDacReadSearch) { allow(["open_by_handle_at"]) }
        if has(capSysAdmin) {
            allow([
                "bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick",
                "lookup_dcookie", "lsm_get_self_attr", "lsm_list_modules", "lsm_set_self_attr",
                "mount", "mount_setattr", "move_mount", "open_tree", "perf_event_open", "quotactl",
                "quotactl_fd", "setdomainname", "sethostname", "setns", "syslog", "umount",
                "umount2", "unshare",
            ])
        } else {
            // clone(2) only without namespace flags: arg 0 (flags on x86_64;
            // s390 swaps the arguments) & mask == 0. Threads and fork()
            // still work, new namespaces do not.
            rules.append(SeccompRule(name: "clone", args: [
                .init(index: 0, op: .maskedEqual, value: cloneNamespaceFlags, valueTwo: 0),
            ]))
            // clone3 passes its flags in a struct seccomp cannot read, so it
            // cannot be filtered like clone. ENOSYS (not EPERM) makes glibc
            // and others fall back to clone, which is filtered above.
            rules.append(SeccompRule(name: "clone3", errno: ENOSYS))
        }
        if has(capSysBoot) { allow(["reboot"]) }
        if has(capSysChroot) { allow(["chroot"]) }
        if has(capSysModule) { allow(["delete_module", "init_module", "finit_module"]) }
        if has(capSysPacct) { allow(["acct"]) }
        if has(capSysPtrace) {
            allow(["kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"])
        }
        if has(capSysRawio) { allow(["iopl", "ioperm"]) }
        if has(capSysTime) { allow(["settimeofday", "stime", "clock_settime", "clock_settime64"]) }
        if has(capSysTtyConfig) { allow(["vhangup"]) }
        if has(capSysNice) { allow(["get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"]) }
        if has(capSyslog) { allow(["syslog"]) }
        if has(capBpf) { allow(["bpf"]) }
        if has(capPerfmon) { allow(["perf_event_open"]) }
        return rules
    }

    /// Compiles rules with libseccomp into a BPF program (bytes of struct
    /// sock_filter array), via crt_seccomp_compile. Default action EPERM;
    /// on x86_64 the filter also covers 32-bit x86 and x32 processes.
    /// Unknown syscall names are skipped.
    public static func compile(_ rules: [SeccompRule]) throws -> SeccompProgram {
        // C strings and argument arrays must outlive the call: allocate them
        // here and free them after.
        var names: [UnsafeMutablePointer<CChar>] = []
        var argBuffers: [UnsafeMutableBufferPointer<crt_seccomp_arg>] = []
        defer {
            names.forEach { free($0) }
            argBuffers.forEach { $0.deallocate() }
        }

        var cRules: [crt_seccomp_rule] = []
        cRules.reserveCapacity(rules.count)
        for rule in rules {
            guard rule.args.count <= 6 else {
                throw RuntimeError.badInput("seccomp rule for \(rule.name) has \(rule.args.count) argument conditions: a syscall has at most 6 arguments")
            }
            guard let name = strdup(rule.name) else {
                throw RuntimeError.system(errno: ENOMEM, call: "strdup", detail: rule.name)
            }
            names.append(name)
            let args = UnsafeMutableBufferPointer<crt_seccomp_arg>.allocate(capacity: max(1, rule.args.count))
            argBuffers.append(args)
            for (i, arg) in rule.args.enumerated() {
                args[i] = crt_seccomp_arg(index: arg.index, op: arg.op.rawValue, value: arg.value, value_two: arg.valueTwo)
            }
            cRules.append(crt_seccomp_rule(
                name: name,
                action_errno: rule.errno ?? -1,
                args: UnsafePointer(args.baseAddress),
                nargs: rule.args.count))
        }

        var program: UnsafeMutableRawPointer?
        var count = 0
        let rc = cRules.withUnsafeBufferPointer { crt_seccomp_compile($0.baseAddress, $0.count, &program, &count) }
        guard rc == 0, let program else {
            throw RuntimeError.system(errno: rc < 0 ? -rc : EINVAL, call: "seccomp compile", detail: "(\(rules.count) rules)")
        }
        defer { free(program) }
        // struct sock_filter is 8 bytes: u16 code, u8 jt, u8 jf, u32 k.
        let bytes = [UInt8](UnsafeRawBufferPointer(start: program, count: count * 8))
        return SeccompProgram(bytes: bytes)
    }

    /// Syscalls Docker allows with no condition, on every architecture
    /// (names that do not exist on one are skipped there): 361 names.
    /// Absent on purpose, among others: keyctl, add_key, request_key (the
    /// kernel keyring is not namespaced), kexec_load, kexec_file_load,
    /// open_by_handle_at, userfaultfd, io_uring_*, swapon/swapoff,
    /// pivot_root, nfsservctl, and the capability-guarded calls below.
    static let baseAllowList: [String] = [
        "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "cachestat", "capget",
        "capset", "chdir", "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64",
        "clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep",
        "clock_nanosleep_time64", "close", "close_range", "connect", "copy_file_range", "creat", "dup",
        "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait",
        "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat",
        "exit", "exit_group", "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate",
        "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat",
        "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr",
        "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate",
        "ftruncate64", "futex", "futex_requeue", "futex_time64", "futex_wait", "futex_waitv",
        "futex_wake", "futimesat", "getcpu", "getcwd", "getdents", "getdents64", "getegid",
        "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32",
        "getitimer", "getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority",
        "getrandom", "getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit",
        "get_robust_list", "getrusage", "getsid", "getsockname", "getsockopt", "get_thread_area",
        "gettid", "gettimeofday", "getuid", "getuid32", "getxattr", "getxattrat", "inotify_add_watch",
        "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy",
        "io_getevents", "io_pgetevents", "io_pgetevents_time64", "ioprio_get", "ioprio_set",
        "io_setup", "io_submit", "ipc", "kill", "landlock_add_rule", "landlock_create_ruleset",
        "landlock_restrict_self", "lchown", "lchown32", "lgetxattr", "link", "linkat", "listen",
        "listmount", "listxattr", "listxattrat", "llistxattr", "_llseek", "lremovexattr", "lseek",
        "lsetxattr", "lstat", "lstat64", "madvise", "map_shadow_stack", "membarrier", "memfd_create",
        "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock", "mlock2",
        "mlockall", "mmap", "mmap2", "mprotect", "mq_getsetattr", "mq_notify", "mq_open",
        "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64",
        "mq_unlink", "mremap", "mseal", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock",
        "munlockall", "munmap", "name_to_handle_at", "nanosleep", "newfstatat", "_newselect", "open",
        "openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc",
        "pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv",
        "preadv2", "prlimit64", "process_mrelease", "pselect6", "pselect6_time64", "pwrite64",
        "pwritev", "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv", "recv",
        "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr",
        "removexattrat", "rename", "renameat", "renameat2", "restart_syscall", "riscv_hwprobe",
        "rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo",
        "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64",
        "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr", "sched_getparam",
        "sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler",
        "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr",
        "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl", "semget",
        "semop", "semtimedop", "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg",
        "sendmsg", "sendto", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32",
        "setgroups", "setgroups32", "setitimer", "setpgid", "setpriority", "setregid", "setregid32",
        "setresgid", "setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32", "setrlimit",
        "set_robust_list", "setsid", "setsockopt", "set_thread_area", "set_tid_address", "setuid",
        "setuid32", "setxattr", "setxattrat", "shmat", "shmctl", "shmdt", "shmget", "shutdown",
        "sigaltstack", "signalfd", "signalfd4", "sigprocmask", "sigreturn", "socketcall", "socketpair",
        "splice", "stat", "stat64", "statfs", "statfs64", "statmount", "statx", "symlink", "symlinkat",
        "sync", "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create",
        "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime",
        "timer_settime64", "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime",
        "timerfd_settime64", "times", "tkill", "truncate", "truncate64", "ugetrlimit", "umask",
        "uname", "unlink", "unlinkat", "uretprobe", "utime", "utimensat", "utimensat_time64", "utimes",
        "vfork", "vmsplice", "wait4", "waitid", "waitpid", "write", "writev",
    ]

    // Capability numbers (linux/capability.h); kernel ABI, so fixed here
    // rather than looked up by name.
    static let capDacReadSearch = 2
    static let capSysModule = 16
    static let capSysRawio = 17
    static let capSysChroot = 18
    static let capSysPtrace = 19
    static let capSysPacct = 20
    static let capSysAdmin = 21
    static let capSysBoot = 22
    static let capSysNice = 23
    static let capSysTime = 25
    static let capSysTtyConfig = 26
    static let capSyslog = 34
    static let capPerfmon = 38
    static let capBpf = 39

    static let afALG: UInt64 = 38
    static let afVSOCK: UInt64 = 40

    /// CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
    /// CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP.
    static let cloneNamespaceFlags: UInt64 =
        0x0002_0000 | 0x0400_0000 | 0x0800_0000 | 0x1000_0000 | 0x2000_0000 | 0x4000_0000 | 0x0200_0000
}

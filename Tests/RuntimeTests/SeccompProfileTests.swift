@testable import Containers
import Glibc
@testable import SystemCalls
import Testing

/// Evaluates the table the way the kernel filter will: a call is allowed when
/// some allow rule for its name has all its conditions true. (Rules returning
/// an errno count as "not allowed".) Lets the tests speak in calls, not rules.
private func allows(_ rules: [SeccompRule], _ name: String, _ args: UInt64...) -> Bool {
    rules.contains { rule in
        rule.name == name && rule.errno == nil && rule.args.allSatisfy { cond in
            let a = cond.index < args.count ? args[Int(cond.index)] : 0
            switch cond.op {
            case .notEqual: return a != cond.value
            case .lessThan: return a < cond.value
            case .lessOrEqual: return a <= cond.value
            case .equal: return a == cond.value
            case .greaterOrEqual: return a >= cond.value
            case .greaterThan: return a > cond.value
            case .maskedEqual: return a & cond.value == cond.valueTwo
            }
        }
    }
}

/// Allowed whatever the arguments: an allow rule without conditions.
private func allowsAlways(_ rules: [SeccompRule], _ name: String) -> Bool {
    rules.contains { $0.name == name && $0.errno == nil && $0.args.isEmpty }
}

private func caps(_ numbers: Int...) -> CapabilitySet {
    CapabilitySet(mask: numbers.reduce(0) { $0 | (1 << UInt64($1)) })
}

/// Every capability up to CAP_CHECKPOINT_RESTORE (40).
private let allCaps = CapabilitySet(mask: (1 << 41) - 1)

private let defaultRules = SeccompProfile.dockerDefault(capabilities: .dockerDefault)

// clone(2) flags
private let CLONE_VM: UInt64 = 0x100, CLONE_FS: UInt64 = 0x200, CLONE_FILES: UInt64 = 0x400
private let CLONE_SIGHAND: UInt64 = 0x800, CLONE_THREAD: UInt64 = 0x10000, CLONE_SYSVSEM: UInt64 = 0x40000
private let CLONE_SETTLS: UInt64 = 0x80000, CLONE_PARENT_SETTID: UInt64 = 0x100000
private let CLONE_CHILD_CLEARTID: UInt64 = 0x200000, CLONE_CHILD_SETTID: UInt64 = 0x1000000
private let SIGCHLD_: UInt64 = 17
/// What glibc's pthread_create passes.
private let threadFlags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM
    | CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID
/// What glibc's fork passes.
private let forkFlags = CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD_

@Suite struct SeccompProfileTests {
    // MARK: The default profile (Docker's default capabilities)

    @Test(arguments: [
        "read", "write", "openat", "close", "execve", "execveat", "futex", "mmap", "mprotect", "brk",
        "exit_group", "wait4", "rt_sigaction", "rt_sigreturn", "arch_prctl", "modify_ldt", "getdents64",
        "newfstatat", "statx", "fcntl", "ioctl", "pipe2", "dup2", "poll", "epoll_wait", "nanosleep",
        "clock_nanosleep", "connect", "bind", "listen", "accept4", "sendto", "recvfrom", "setsockopt",
        "kill", "prctl", "chown", "setuid", "setgroups", "capset", "seccomp", "vfork", "fork", "ptrace",
        "process_vm_readv", "chroot", "socketcall", "getrandom", "rseq", "set_robust_list", "sysinfo",
    ])
    func defaultAllowsAlways(_ name: String) {
        #expect(allowsAlways(defaultRules, name))
    }

    @Test(arguments: [
        "keyctl", "add_key", "request_key", "mount", "umount2", "unshare", "setns", "kexec_load",
        "kexec_file_load", "bpf", "open_by_handle_at", "perf_event_open", "reboot", "init_module",
        "finit_module", "delete_module", "acct", "syslog", "settimeofday", "clock_settime", "iopl",
        "ioperm", "vhangup", "mbind", "set_mempolicy", "kcmp", "pidfd_getfd", "pivot_root", "swapon",
        "userfaultfd", "io_uring_setup", "fsopen", "move_mount", "sethostname", "quotactl", "clone3",
        "nfsservctl", "lookup_dcookie", "fanotify_init", "uselib", "create_module",
    ])
    func defaultRefuses(_ name: String) {
        #expect(!defaultRules.contains { $0.name == name && $0.errno == nil })
    }

    @Test func cloneOnlyWithoutNamespaceFlags() {
        let clones = defaultRules.filter { $0.name == "clone" }
        #expect(clones == [SeccompRule(name: "clone", args: [
            .init(index: 0, op: .maskedEqual, value: 0x7E02_0000, valueTwo: 0),
        ])])
        #expect(allows(defaultRules, "clone", threadFlags))
        #expect(allows(defaultRules, "clone", forkFlags))
        for ns: UInt64 in [0x0002_0000, 0x0400_0000, 0x0800_0000, 0x1000_0000, 0x2000_0000, 0x4000_0000, 0x0200_0000] {
            #expect(!allows(defaultRules, "clone", forkFlags | ns), "namespace flag \(ns)")
        }
    }

    @Test func clone3FailsWithENOSYSSoLibcFallsBack() {
        #expect(defaultRules.filter { $0.name == "clone3" } == [SeccompRule(name: "clone3", errno: ENOSYS)])
    }

    @Test(arguments: [
        (UInt64(0x0), true), (0x8, true), (0x20000, true), (0x20008, true), (0xffff_ffff, true),
        (0x0040000, false) /* ADDR_NO_RANDOMIZE */, (0x0400000, false) /* READ_IMPLIES_EXEC */,
    ])
    func personality(_ persona: UInt64, _ allowed: Bool) {
        #expect(allows(defaultRules, "personality", persona) == allowed)
    }

    @Test(arguments: [
        (UInt64(AF_UNIX), true), (UInt64(AF_INET), true), (UInt64(AF_INET6), true),
        (UInt64(AF_NETLINK), true), (UInt64(AF_PACKET), true), (37, true), (39, true), (41, true),
        (38, false) /* AF_ALG */, (40, false) /* AF_VSOCK */,
    ])
    func socketFamilies(_ family: UInt64, _ allowed: Bool) {
        #expect(allows(defaultRules, "socket", family, 1, 0) == allowed)
    }

    @Test func baseListIsDockersUnconditionalList() {
        let base = SeccompProfile.baseAllowList
        #expect(base.count == 361)
        #expect(Set(base).count == base.count)
        for name in ["keyctl", "add_key", "request_key", "mount", "unshare", "clone", "clone3", "socket",
                     "personality", "ptrace", "bpf", "open_by_handle_at", "kexec_load"] {
            #expect(!base.contains(name), "\(name) must not be in the unconditional list")
        }
    }

    @Test func noDuplicateUnconditionalRules() {
        let names = SeccompProfile.dockerDefault(capabilities: allCaps)
            .filter { $0.errno == nil && $0.args.isEmpty }.map(\.name)
        #expect(Set(names).count == names.count)
    }

    // MARK: Capabilities

    @Test func sysAdminOpensMountUnshareAndPlainClone() {
        let rules = SeccompProfile.dockerDefault(capabilities: caps(21))
        for name in ["mount", "umount2", "unshare", "setns", "clone", "clone3", "bpf", "sethostname",
                     "perf_event_open", "syslog", "fsopen", "move_mount", "quotactl"] {
            #expect(allowsAlways(rules, name), "\(name)")
        }
        #expect(rules.filter { $0.name == "clone" } == [SeccompRule(name: "clone")])
        #expect(!rules.contains { $0.name == "clone3" && $0.errno != nil })
        #expect(allows(rules, "clone", forkFlags | 0x1000_0000 /* CLONE_NEWUSER */))
        // Still not opened by CAP_SYS_ADMIN.
        #expect(!allows(rules, "keyctl"))
        #expect(!allows(rules, "kexec_load"))
    }

    @Test(arguments: [
        (2, ["open_by_handle_at"]),                                     // CAP_DAC_READ_SEARCH
        (16, ["init_module", "finit_module", "delete_module"]),         // CAP_SYS_MODULE
        (17, ["iopl", "ioperm"]),                                       // CAP_SYS_RAWIO
        (18, ["chroot"]),                                               // CAP_SYS_CHROOT
        (19, ["kcmp", "pidfd_getfd", "process_madvise", "ptrace"]),     // CAP_SYS_PTRACE
        (20, ["acct"]),                                                 // CAP_SYS_PACCT
        (22, ["reboot"]),                                               // CAP_SYS_BOOT
        (23, ["get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"]), // CAP_SYS_NICE
        (25, ["settimeofday", "stime", "clock_settime"]),               // CAP_SYS_TIME
        (26, ["vhangup"]),                                              // CAP_SYS_TTY_CONFIG
        (34, ["syslog"]),                                               // CAP_SYSLOG
        (38, ["perf_event_open"]),                                      // CAP_PERFMON
        (39, ["bpf"]),                                                  // CAP_BPF
    ])
    func capabilityOpens(_ cap: Int, _ names: [String]) {
        let without = SeccompProfile.dockerDefault(capabilities: caps())
        let with = SeccompProfile.dockerDefault(capabilities: caps(cap))
        for name in names {
            #expect(allowsAlways(with, name), "\(name) with capability \(cap)")
            if name != "ptrace" { // allowed to everyone (kernel >= 4.8)
                #expect(!allows(without, name), "\(name) without capabilities")
            }
        }
        // Only CAP_SYS_ADMIN changes clone.
        #expect(with.filter { $0.name == "clone" } == without.filter { $0.name == "clone" })
    }

    @Test func noCapabilitiesStillRunsOrdinaryPrograms() {
        let rules = SeccompProfile.dockerDefault(capabilities: caps())
        #expect(!allows(rules, "chroot"))
        for name in ["execve", "read", "write", "openat", "wait4", "fork", "exit_group"] {
            #expect(allowsAlways(rules, name))
        }
        #expect(allows(rules, "clone", threadFlags))
    }

    // MARK: Compiling with libseccomp

    @Test func compilesDefaultProfile() throws {
        let program = try SeccompProfile.compile(defaultRules)
        #expect(program.bytes.count % 8 == 0)
        // Hundreds of syscalls, three architectures: a long program, but
        // below the kernel's BPF_MAXINSNS (4096).
        #expect(program.instructionCount > 300)
        #expect(program.instructionCount <= 4096)
        // libseccomp programs start by loading seccomp_data.arch:
        // BPF_LD|BPF_W|BPF_ABS (0x20) with k = 4.
        #expect(program.bytes[0] == 0x20 && program.bytes[1] == 0)
        #expect(program.bytes[4] == 4 && program.bytes[5] == 0 && program.bytes[6] == 0 && program.bytes[7] == 0)
    }

    @Test func compilesWithEveryCapability() throws {
        let program = try SeccompProfile.compile(SeccompProfile.dockerDefault(capabilities: allCaps))
        #expect(program.instructionCount > 300)
    }

    @Test func unknownSyscallNameIsSkipped() throws {
        let known = [SeccompRule(name: "read"), SeccompRule(name: "write")]
        let withUnknown = [SeccompRule(name: "read"), SeccompRule(name: "no_such_syscall_x"), SeccompRule(name: "write")]
        let a = try SeccompProfile.compile(known)
        let b = try SeccompProfile.compile(withUnknown)
        #expect(a.bytes == b.bytes)
    }

    @Test func ruleThatMatchesDefaultActionIsAccepted() throws {
        // libseccomp refuses a rule whose action is the default (EPERM);
        // it changes nothing, so compile accepts it.
        let a = try SeccompProfile.compile([SeccompRule(name: "read")])
        let b = try SeccompProfile.compile([SeccompRule(name: "read"), SeccompRule(name: "keyctl", errno: EPERM)])
        #expect(a.bytes == b.bytes)
    }

    @Test func argumentConditionsChangeTheProgram() throws {
        let plain = try SeccompProfile.compile([SeccompRule(name: "personality")])
        let conditional = try SeccompProfile.compile([
            SeccompRule(name: "personality", args: [.init(index: 0, op: .equal, value: 0)]),
        ])
        #expect(plain.bytes != conditional.bytes)
    }

    @Test func tooManyArgumentConditionsIsBadInput() {
        let arg = SeccompRule.Arg(index: 0, op: .equal, value: 0)
        #expect(throws: RuntimeError.self) {
            try SeccompProfile.compile([SeccompRule(name: "read", args: Array(repeating: arg, count: 7))])
        }
    }

    @Test func libseccompErrorsAreThrown() {
        // Two conditions on the same argument: libseccomp says EINVAL.
        let rule = SeccompRule(name: "read", args: [
            .init(index: 0, op: .equal, value: 0), .init(index: 0, op: .equal, value: 1),
        ])
        #expect(throws: RuntimeError.system(errno: EINVAL, call: "seccomp compile", detail: "(1 rules)")) {
            try SeccompProfile.compile([rule])
        }
    }
}

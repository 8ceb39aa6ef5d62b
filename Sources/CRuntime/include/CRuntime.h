// CRuntime: the only C in swarm. Everything here is in C for one of three
// reasons, given per function:
//  - it runs in a child between clone() and execve(), where only
//    async-signal-safe code may run (no Swift runtime, no allocation);
//  - it is the per-container monitor, a forked process that must outlive the
//    caller and so must not depend on the Swift runtime either;
//  - it wraps a call Swift's Glibc module does not expose (clone3, pidfd,
//    libseccomp's export, libcap's name lookup).
// Every symbol carries the `crt_` prefix.
#ifndef CRUNTIME_H
#define CRUNTIME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

// ---------------------------------------------------------------------------
// Setup steps, reported with an errno when one fails in the child.
enum crt_step {
    CRT_STEP_NONE = 0,
    CRT_STEP_CLONE,
    CRT_STEP_CGROUP,
    CRT_STEP_SETHOSTNAME,
    CRT_STEP_LOOPBACK,
    CRT_STEP_MOUNT_PRIVATE,
    CRT_STEP_MOUNT,
    CRT_STEP_MKDIR,
    CRT_STEP_MKNOD,
    CRT_STEP_SYMLINK,
    CRT_STEP_PIVOT_ROOT,
    CRT_STEP_MASK_PATHS,
    CRT_STEP_READONLY_PATHS,
    CRT_STEP_REMOUNT_ROOT,
    CRT_STEP_CHDIR,
    CRT_STEP_SETGROUPS,
    CRT_STEP_SETGID,
    CRT_STEP_SETUID,
    CRT_STEP_CAPABILITIES,
    CRT_STEP_NO_NEW_PRIVS,
    CRT_STEP_SECCOMP,
    CRT_STEP_INIT_FORK,
    CRT_STEP_EXEC,
    CRT_STEP_MONITOR,
    CRT_STEP_OVERLAY,
    CRT_STEP_SETNS,
    CRT_STEP_SYSCTL,
    CRT_STEP_RLIMIT,
    CRT_STEP_TERMINAL,
};

/// The name of a step, as printed: "pivot_root", "exec", ...
const char *crt_step_name(int step);

// ---------------------------------------------------------------------------
// The mount plan: Swift computes it, the child executes it in order.
enum crt_mount_op {
    CRT_OP_MOUNT = 1,   // mount(source, root+target, fstype, flags, data); mkdir -p target
    CRT_OP_BIND,        // bind host `source` onto root+target (file or dir), MS_REC;
                        // with MS_RDONLY in flags, remounted read-only
    CRT_OP_MKNOD,       // mknod(root+target, mode, dev)
    CRT_OP_SYMLINK,     // symlink(source, root+target)
    CRT_OP_MKDIR,       // mkdir -p root+target with mode
};

struct crt_mount {
    int op;
    const char *source;
    const char *target;     // absolute path inside the container
    const char *fstype;
    const char *data;
    unsigned long flags;
    uint32_t mode;
    uint64_t dev;
};

// ---------------------------------------------------------------------------
// A resource limit set in the child before exec (limits.c).
struct crt_rlimit {
    int resource;           // RLIMIT_*, from crt_rlimit_from_name
    uint64_t soft, hard;    // RLIM_INFINITY for unlimited
};

/// RLIMIT_NOFILE for "nofile" (Docker's names); -1 if unknown.
int crt_rlimit_from_name(const char *name);

// ---------------------------------------------------------------------------
// Everything the monitor and the child need, prepared by Swift before fork.
struct crt_config {
    // Process
    const char *const *argv;        // NULL-terminated; argv[0] is the program
    const char *const *envp;        // NULL-terminated
    const char *cwd;                // inside the container
    uint32_t uid, gid;
    const uint32_t *groups;
    size_t ngroups;
    int init;                       // run a reaping init as PID 1

    // Isolation
    int clone_flags;                // CLONE_NEW* namespaces to create
    const char *rootfs;             // host path
    const char *overlay;            // if set: overlayfs options, mounted at rootfs first
    int readonly_rootfs;
    const char *hostname;
    int setup_loopback;             // bring `lo` up in the new net namespace
    const char *netns_path;         // if set: join this network namespace (setns
                                    // before clone; no CLONE_NEWNET in clone_flags)
    const struct crt_mount *mounts;
    size_t nmounts;
    const char *const *masked_paths;    // NULL-terminated
    const char *const *readonly_paths;  // NULL-terminated
    uint64_t capabilities;          // bounding = effective = permitted (root)
    const void *seccomp_filter;     // struct sock_filter[], compiled by crt_seccomp_compile
    size_t seccomp_len;             // number of instructions; 0 = no filter
    const char *const *sysctls;     // NULL-terminated "key=value" (namespaced only), or NULL
    const struct crt_rlimit *rlimits;   // set before exec
    size_t nrlimits;

    // cgroup v2: directory of the container's cgroup (must exist)
    const char *cgroup_path;

    // Monitor
    const char *state_dir;          // pid and exit files are written here
    const char *log_path;           // json-file log
    uint64_t log_max_size;          // rotate when exceeded; 0 = never
    int log_max_files;              // files kept, current one included
    int attach_stdout, attach_stderr;   // copy output here too; -1 = none
    int attach_fd;                  // a first attach client (a connected unix socket,
                                    // protocol in monitor.c); -1 = none

    // Terminal and input (`run -t` / `-i`, `attach`)
    int tty;                        // a pty from the container's devpts: its slave is the
                                    // container's 0-2 and controlling terminal; the
                                    // monitor keeps the master
    unsigned short tty_rows, tty_cols;  // its initial size; 0 = unset
    int open_stdin;                 // without tty: a stdin pipe attach clients write to
    int remove_on_exit;             // remove state_dir (and name_link) at exit
    const char *name_link;          // removed with the state dir, may be NULL
    const char *data_dir;           // removed with the state dir, may be NULL

    // Health check, run by the monitor inside the container; NULL = none.
    const char *const *health_argv;
    uint64_t health_interval_ns, health_timeout_ns, health_start_period_ns;
    int health_retries;
};

/// Result of crt_run, and of a setup failure.
struct crt_started {
    int error;          // errno of the failed step, 0 on success
    int step;           // enum crt_step
    pid_t monitor_pid;
    pid_t container_pid; // as seen from the host
    int event_fd;       // read end: the monitor writes struct crt_event here; -1 if closed
};

struct crt_event {
    int kind;           // 1 = started, 2 = setup failed, 3 = exited
    int error;          // started: 0; failed: errno
    int step;           // failed: enum crt_step
    int exit_code;      // exited: code, or 128+signal
    int signal;         // exited: terminating signal, or 0
    pid_t pid;          // started: container pid on the host
};

/// Starts the monitor (double fork, setsid) which starts the container, and
/// waits for the container to exec or fail. In C because the forked monitor
/// must not run Swift. Returns 0 and fills `out`; on failure fills
/// out->error/out->step (a failed setup step) and returns -1.
/// Keep `out->event_fd` open to receive the exit event (struct crt_event).
int crt_run(const struct crt_config *cfg, struct crt_started *out);

/// Reads one event from the monitor's event fd. Returns 1 on an event, 0 on
/// end of stream (monitor gone), -1 on error (errno set).
int crt_read_event(int fd, struct crt_event *ev);

// ---------------------------------------------------------------------------
// Exec: a new process inside a running container.

struct crt_exec_options {
    int pidfd;          // pidfd of the container's first process
    int ns_flags;       // CLONE_NEW* namespaces to join (setns on the pidfd)
    int cgroup_fd;      // the container's cgroup directory (CLONE_INTO_CGROUP)
    int stdin_fd, stdout_fd, stderr_fd;     // -1 = /dev/null
    int detach;         // own session; re-parented to the host's init (or a subreaper)
    int tty;            // a pty from the container's devpts (its /dev/ptmx): the slave is
                        // 0-2 and the controlling terminal of the process's own session;
                        // the std*_fd are then unused and the master is returned
    unsigned short tty_rows, tty_cols;  // the pty's initial size; 0 = unset
};

struct crt_exec_result {
    int error;          // errno of the failed step, 0 if the command was exec'd
    int step;           // enum crt_step
    pid_t pid;          // the process, as seen from the host (0 if none was made)
    int master;         // with tty: the pty's master (close-on-exec, the caller's to
                        // close), -1 otherwise or on failure
};

/// Starts `cfg->argv` inside a running container: a helper cloned into the
/// container's cgroup joins its namespaces through the pidfd, then clones
/// the process (so it is in the container's pid namespace) with the
/// caller as parent (CLONE_PARENT) unless `detach` (then the helper's
/// exit leaves it to the host's init); the process takes
/// cfg's cwd, identity, capabilities, no_new_privs and seccomp filter and
/// execs. Uses argv, envp, cwd, uid, gid, groups, capabilities and
/// seccomp_* of `cfg`. Returns 0 once the command is exec'd (out->pid is
/// the caller's child to wait for, unless detached), or -1 with the failed
/// step in `out` (out->pid, if set, is a child that exited: reap it).
/// In C: between clone and exec, and setns needs a single-threaded process.
int crt_exec(const struct crt_config *cfg, const struct crt_exec_options *opts, struct crt_exec_result *out);

/// Keeps `master` (a pty's) open in a background process of its own
/// session that reads and drops the terminal's output until every slave
/// is closed, so a process whose caller detached (`exec -it`, detach keys)
/// neither gets SIGHUP nor blocks on a full terminal. Returns 0 once the
/// holder runs (the caller may close its copy), -1 with errno set.
/// In C: the forked holder must not run Swift.
int crt_hold_terminal(int master);

// ---------------------------------------------------------------------------
// Seccomp: compiled in the caller with libseccomp, loaded by the child.

/// A syscall argument condition (libseccomp's scmp_arg_cmp).
struct crt_seccomp_arg {
    unsigned int index;
    int op;             // enum scmp_compare
    uint64_t value;
    uint64_t value_two;
};

struct crt_seccomp_rule {
    const char *name;               // syscall name; unknown names are skipped
    int action_errno;               // -1 = allow; otherwise return this errno
    const struct crt_seccomp_arg *args;
    size_t nargs;
};

/// Compiles rules (default action: EPERM) for the native architecture (and
/// the 32-bit x86 one on x86_64) into a BPF program. On success returns 0
/// and a malloc'd program in *prog (free it) with *len instructions; on
/// failure returns -errno. In C: libseccomp's API takes variadic and
/// opaque types Swift cannot build directly.
int crt_seccomp_compile(const struct crt_seccomp_rule *rules, size_t nrules,
                        void **prog, size_t *len);

/// Compare operators for crt_seccomp_arg.op (libseccomp's scmp_compare).
enum {
    CRT_CMP_NE = 1, CRT_CMP_LT, CRT_CMP_LE, CRT_CMP_EQ, CRT_CMP_GE, CRT_CMP_GT, CRT_CMP_MASKED_EQ
};

// ---------------------------------------------------------------------------
// Capabilities

/// libcap's cap_from_name: "cap_net_admin" -> 12. Returns -1 if unknown.
int crt_cap_from_name(const char *name);
/// Highest capability number the running kernel knows.
int crt_cap_last(void);

// ---------------------------------------------------------------------------
// Constants and macros Swift's Glibc module hides (they need _GNU_SOURCE).

enum {
    CRT_CLONE_NEWNS = 0x00020000,
    CRT_CLONE_NEWCGROUP = 0x02000000,
    CRT_CLONE_NEWUTS = 0x04000000,
    CRT_CLONE_NEWIPC = 0x08000000,
    CRT_CLONE_NEWUSER = 0x10000000,
    CRT_CLONE_NEWPID = 0x20000000,
    CRT_CLONE_NEWNET = 0x40000000,
    CRT_O_PATH = 010000000,
};

/// glibc's makedev(), a macro.
static inline uint64_t crt_makedev(uint32_t major, uint32_t minor) {
    return (((uint64_t)(major & 0xfffff000u)) << 32) | ((uint64_t)(major & 0xfffu) << 8) |
           (((uint64_t)(minor & 0xffffff00u)) << 12) | (uint64_t)(minor & 0xffu);
}

// ---------------------------------------------------------------------------
// Syscalls Swift's Glibc module does not expose

/// Opens `path` (read-only) inside the directory `root` as if it were "/":
/// symlinks, absolute or with "..", cannot leave it (openat2 RESOLVE_IN_ROOT).
/// Returns an fd or -1 (errno set). Used to read files of a root file system
/// that may come from an untrusted image.
int crt_open_in_root(const char *root, const char *path);

/// openat2(rootfd, path, flags | O_CLOEXEC, mode) with RESOLVE_IN_ROOT:
/// `path` (absolute or not, with symlinks or "..") cannot leave the
/// directory `rootfd`. Returns an fd or -1 (errno set). Used by `cp` on a
/// container's root as /proc/<pid>/root shows it.
int crt_openat_in_root(int rootfd, const char *path, int flags, unsigned int mode);

/// pidfd_open(2). Returns an fd or -1 (errno set).
int crt_pidfd_open(pid_t pid);

/// A new pty pair, both ends close-on-exec, neither the caller's controlling
/// terminal: the master in *master, the slave (opened through the master,
/// TIOCGPTPEER, so no /dev/pts path is involved) in *slave. 0, or -1 with
/// errno. In C: Swift's Glibc has neither posix_openpt nor the pty ioctls.
int crt_open_pty(int *master, int *slave);

/// pipe2(fds, flags): a pipe made with its flags (O_CLOEXEC, O_NONBLOCK) in
/// one step, so a child another thread spawns meanwhile inherits neither
/// end. 0, or -1 with errno. In C: Swift's Glibc has no pipe2.
int crt_pipe2(int fds[2], int flags);

/// mallopt(M_ARENA_MAX, count): <malloc.h> is not in Swift's Glibc module.
/// A daemon with few, mostly idle threads needs few arenas; each keeps free memory.
int crt_limit_malloc_arenas(int count);
/// pidfd_send_signal(2). Returns 0 or -1 (errno set).
int crt_pidfd_send_signal(int pidfd, int sig);

// ---------------------------------------------------------------------------
// Image layers

/// Extracts the layer archive read from `fd` (tar, tar+gzip, tar+zstd; xz
/// and bzip2 too) into the existing directory `dest`, as an overlayfs layer
/// directory: an OCI whiteout "DIR/.wh.NAME" replaces DIR/NAME with a 0/0
/// character device, "DIR/.wh..wh..opq" sets trusted.overlay.opaque="y" on
/// DIR, other ".wh..wh." entries are ignored. Names lose a leading "/" or
/// "./" and resolve as if `dest` were "/" (symlinks cannot lead out);
/// names with a ".." component and hard links to such names are refused.
/// An entry replaces what is in its way, except that a directory merges
/// into a directory. Owners (numeric), modes, times and xattrs are kept.
/// Does not chdir; several calls may run at once. Returns 0, or -1 with a
/// one-line message in `err` (dest is then half-written: remove it).
/// In C: libarchive is a C library of opaque handles and pointer-heavy
/// calls, and its disk writer flips the process umask on every entry, which
/// is confined here to a worker thread with its own (unshare(CLONE_FS)).
int crt_unpack_layer(int fd, const char *dest, char *err, size_t errlen);

// ---------------------------------------------------------------------------
// Decompressed bytes of a layer (decompress.c)

/// Opens `fd` for reading its bytes with gzip/zstd undone; NULL with a
/// message in `err` on failure. The caller keeps `fd` open until close.
void *crt_decompress_open(int fd, char *err, size_t errlen);
/// Reads up to `len` bytes: the count, 0 at the end, negative on error.
long crt_decompress_read(void *handle, void *buf, size_t len);
void crt_decompress_close(void *handle);

// ---------------------------------------------------------------------------
// SHA-256 of image blobs and layers (sha256.c)

struct crt_sha256 {
    uint32_t state[8];
    uint64_t length;
    uint8_t buffer[64];
    size_t buffered;
};
void crt_sha256_init(struct crt_sha256 *ctx);
void crt_sha256_update(struct crt_sha256 *ctx, const void *data, size_t count);
void crt_sha256_final(struct crt_sha256 *ctx, uint8_t digest[32]);


// ---------------------------------------------------------------------------
// Supervised children (spawn.c)

/// Starts `path` (argv, envp NULL-terminated) in a session of its own, stdin
/// /dev/null, stdout and stderr to `out_fd`, no other descriptor, default
/// signal dispositions and mask, and `death_signal` to be sent to it when
/// the calling *thread* exits (PR_SET_PDEATHSIG: call it from a thread that
/// lives as long as the process). Returns the pid, or -errno (the exec's too).
int crt_spawn_supervised(const char *path, char *const argv[], char *const envp[], int out_fd, int death_signal);

#endif

// The container's first process, from clone() to execve(). Runs in a child
// of the monitor, so only async-signal-safe calls: no allocation, no stdio.
// Every step that fails reports (errno, step) on the sync pipe and exits 127.
#include "CRuntime.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <stdio.h>
#include <unistd.h>

static const char *const step_names[] = {
    [CRT_STEP_NONE] = "none",
    [CRT_STEP_CLONE] = "clone",
    [CRT_STEP_CGROUP] = "cgroup",
    [CRT_STEP_SETHOSTNAME] = "sethostname",
    [CRT_STEP_LOOPBACK] = "loopback",
    [CRT_STEP_MOUNT_PRIVATE] = "make-private",
    [CRT_STEP_MOUNT] = "mount",
    [CRT_STEP_MKDIR] = "mkdir",
    [CRT_STEP_MKNOD] = "mknod",
    [CRT_STEP_SYMLINK] = "symlink",
    [CRT_STEP_PIVOT_ROOT] = "pivot_root",
    [CRT_STEP_MASK_PATHS] = "mask-paths",
    [CRT_STEP_READONLY_PATHS] = "readonly-paths",
    [CRT_STEP_REMOUNT_ROOT] = "remount-root-readonly",
    [CRT_STEP_CHDIR] = "chdir",
    [CRT_STEP_SETGROUPS] = "setgroups",
    [CRT_STEP_SETGID] = "setgid",
    [CRT_STEP_SETUID] = "setuid",
    [CRT_STEP_CAPABILITIES] = "capabilities",
    [CRT_STEP_NO_NEW_PRIVS] = "no_new_privs",
    [CRT_STEP_SECCOMP] = "seccomp",
    [CRT_STEP_INIT_FORK] = "init",
    [CRT_STEP_EXEC] = "exec",
    [CRT_STEP_MONITOR] = "monitor",
    [CRT_STEP_OVERLAY] = "mount overlay",
    [CRT_STEP_SETNS] = "setns",
    [CRT_STEP_SYSCTL] = "sysctl",
    [CRT_STEP_RLIMIT] = "setrlimit",
    [CRT_STEP_TERMINAL] = "terminal",
};

const char *crt_step_name(int step) {
    if (step < 0 || step >= (int)(sizeof step_names / sizeof step_names[0]) || !step_names[step])
        return "unknown";
    return step_names[step];
}

// Reports a failed step to the monitor and ends the child.
__attribute__((noreturn)) static void fail(int sync_fd, int step) {
    struct crt_report report = {.error = errno ? errno : EIO, .step = step};
    (void)!write(sync_fd, &report, sizeof report);
    _exit(127);
}

// ---------------------------------------------------------------------------
// A terminal from the devpts instance of the container (its /dev/ptmx, in
// the mount namespace this process is in by now), so the slave is a
// /dev/pts/N of the container: `tty` and `ps` inside name it. The master
// goes to whoever holds the terminal (the monitor, or exec's caller) over
// the sync socket, with SCM_RIGHTS.

// Opens the pty, sets its size, makes the slave 0-2 and the controlling
// terminal of a new session (owned by `owner`, as runc leaves it, so the
// user can reopen it). Returns the master (close-on-exec), or -1.
static int open_container_terminal(unsigned short rows, unsigned short cols, uid_t owner) {
    int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0) return -1;
    // Whatever the container's root made of /dev/ptmx, only a real pty
    // master goes back to the host.
    struct stat st;
    int unlock = 0, slave = -1;
    if (fstat(master, &st) != 0 || !S_ISCHR(st.st_mode) || ioctl(master, TIOCSPTLCK, &unlock) != 0 ||
        (slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
        if (errno == 0 || errno == ENOTTY) errno = ENOTTY;
        close(master);
        return -1;
    }
    if (rows && cols) {
        struct winsize ws = {.ws_row = rows, .ws_col = cols};
        ioctl(slave, TIOCSWINSZ, &ws);
    }
    if (owner != 0) (void)!fchown(slave, owner, (gid_t)-1);
    if (dup2(slave, 0) < 0 || dup2(slave, 1) < 0 || dup2(slave, 2) < 0 || setsid() < 0 || ioctl(0, TIOCSCTTY, 0) != 0) {
        int saved = errno;
        close(slave);
        close(master);
        errno = saved;
        return -1;
    }
    close(slave);
    return master;
}

// A report without error carrying the master (the receiver takes the
// descriptor from it), then the child's copy goes.
static int send_master(int sync_fd, int master) {
    struct crt_report report = {0};
    struct iovec iov = {.iov_base = &report, .iov_len = sizeof report};
    union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } control;
    memset(&control, 0, sizeof control);
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof control.buf};
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &master, sizeof(int));
    ssize_t n;
    do { n = sendmsg(sync_fd, &msg, MSG_NOSIGNAL); } while (n < 0 && errno == EINTR);
    int saved = errno;
    close(master);
    errno = saved;
    return n == (ssize_t)sizeof report ? 0 : -1;
}

int crt_recv_report(int fd, struct crt_report *report, int *received_fd) {
    *received_fd = -1;
    struct iovec iov = {.iov_base = report, .iov_len = sizeof *report};
    union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } control;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof control.buf};
    ssize_t n;
    do { n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC); } while (n < 0 && errno == EINTR);
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); n >= 0 && c; c = CMSG_NXTHDR(&msg, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
            if (*received_fd >= 0) close(*received_fd);
            memcpy(received_fd, CMSG_DATA(c), sizeof(int));
        }
    if (n != (ssize_t)sizeof *report) {
        if (*received_fd >= 0) { close(*received_fd); *received_fd = -1; }
        return n < 0 ? -1 : 0;
    }
    return 1;
}

// ---------------------------------------------------------------------------
// Paths inside the root file system are resolved by the kernel with
// RESOLVE_IN_ROOT, so a symlink in the rootfs (absolute or with "..") can
// never lead a mount, a created file or a device node out of it. Mounts then
// go through /proc/self/fd/N of the resolved descriptor, as crun does.
// (crt_openat_in_root, in syscalls.c, is shared with `container cp`.)

// "/proc/self/fd/N" for a descriptor, without allocation.
static const char *fd_path(char *buf, int fd) {
    char digits[16];
    int n = 0;
    do { digits[n++] = (char)('0' + fd % 10); fd /= 10; } while (fd);
    memcpy(buf, "/proc/self/fd/", 14);
    for (int i = 0; i < n; i++) buf[14 + i] = digits[n - 1 - i];
    buf[14 + n] = '\0';
    return buf;
}

// mkdir -p inside the root; returns an O_PATH descriptor of the directory.
static int mkdir_in_root(int rootfd, const char *path, mode_t mode) {
    char buf[PATH_MAX];
    size_t len = strlen(path);
    if (len >= sizeof buf) { errno = ENAMETOOLONG; return -1; }
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0') continue;
        char saved = buf[i];
        buf[i] = '\0';
        int fd = crt_openat_in_root(rootfd, buf, O_PATH | O_DIRECTORY, 0);
        if (fd < 0 && errno == ENOENT) {
            // Create the last component in its (already resolved) parent.
            char *slash = strrchr(buf, '/');
            *slash = '\0';
            int parent = crt_openat_in_root(rootfd, buf, O_PATH | O_DIRECTORY, 0);
            *slash = '/';
            if (parent < 0) return -1;
            int rc = mkdirat(parent, slash + 1, mode);
            close(parent);
            if (rc != 0 && errno != EEXIST) return -1;
            fd = crt_openat_in_root(rootfd, buf, O_PATH | O_DIRECTORY, 0);
        }
        if (fd < 0) return -1;
        buf[i] = saved;
        if (saved == '\0') return fd;
        close(fd);
    }
    return crt_openat_in_root(rootfd, "/", O_PATH | O_DIRECTORY, 0);
}

// Splits "/a/b/c" into the parent directory (an O_PATH descriptor, made if
// missing) and the last component.
static int parent_in_root(int rootfd, const char *path, const char **name) {
    char buf[PATH_MAX];
    size_t len = strlen(path);
    if (len >= sizeof buf) { errno = ENAMETOOLONG; return -1; }
    memcpy(buf, path, len + 1);
    char *slash = strrchr(buf, '/');
    *name = path + (slash ? (size_t)(slash - buf) + 1 : 0);
    if (!slash || slash == buf) return crt_openat_in_root(rootfd, "/", O_PATH | O_DIRECTORY, 0);
    *slash = '\0';
    return mkdir_in_root(rootfd, buf, 0755);
}

// The mount point for a bind of `source`: a directory for a directory, an
// empty file for anything else. Returns an O_PATH descriptor of it.
static int bind_target(int rootfd, const char *source, const char *target) {
    struct stat st;
    if (stat(source, &st) != 0) return -1;
    if (S_ISDIR(st.st_mode)) return mkdir_in_root(rootfd, target, 0755);
    int fd = crt_openat_in_root(rootfd, target, O_PATH, 0);
    if (fd >= 0 || errno != ENOENT) return fd;
    const char *name;
    int parent = parent_in_root(rootfd, target, &name);
    if (parent < 0) return -1;
    close(parent);
    fd = crt_openat_in_root(rootfd, target, O_WRONLY | O_CREAT, 0644);
    if (fd < 0) return -1;
    close(fd);
    return crt_openat_in_root(rootfd, target, O_PATH, 0);
}

// A read-only remount must keep the flags the kernel locked on the mount
// (nosuid, nodev, noexec), or it fails with EPERM.
static int remount_readonly(const char *path, unsigned long extra) {
    struct statvfs sv;
    unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY | extra;
    if (statvfs(path, &sv) == 0) {
        if (sv.f_flag & ST_NOSUID) flags |= MS_NOSUID;
        if (sv.f_flag & ST_NODEV) flags |= MS_NODEV;
        if (sv.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
    }
    return mount(NULL, path, NULL, flags, NULL);
}

static void run_mount_plan(const struct crt_config *cfg, int rootfd, int sync_fd) {
    char proc_path[32];
    for (size_t i = 0; i < cfg->nmounts; i++) {
        const struct crt_mount *m = &cfg->mounts[i];
        int fd = -1, parent = -1;
        const char *name;
        switch (m->op) {
        case CRT_OP_MOUNT:
            if ((fd = mkdir_in_root(rootfd, m->target, 0755)) < 0) fail(sync_fd, CRT_STEP_MKDIR);
            if (mount(m->source, fd_path(proc_path, fd), m->fstype, m->flags, m->data) != 0) fail(sync_fd, CRT_STEP_MOUNT);
            break;
        case CRT_OP_BIND:
            if ((fd = bind_target(rootfd, m->source, m->target)) < 0) fail(sync_fd, CRT_STEP_MKDIR);
            if (mount(m->source, fd_path(proc_path, fd), NULL, MS_BIND | MS_REC, NULL) != 0) fail(sync_fd, CRT_STEP_MOUNT);
            if (m->flags & MS_RDONLY) {
                // The old descriptor names what is now underneath: reopen
                // to reach the new mount.
                close(fd);
                if ((fd = crt_openat_in_root(rootfd, m->target, O_PATH, 0)) < 0) fail(sync_fd, CRT_STEP_MOUNT);
                if (remount_readonly(fd_path(proc_path, fd), 0) != 0) fail(sync_fd, CRT_STEP_MOUNT);
            }
            break;
        case CRT_OP_MKNOD:
            if ((parent = parent_in_root(rootfd, m->target, &name)) < 0) fail(sync_fd, CRT_STEP_MKDIR);
            if (mknodat(parent, name, m->mode, (dev_t)m->dev) != 0 && errno != EEXIST) fail(sync_fd, CRT_STEP_MKNOD);
            if (fchmodat(parent, name, m->mode & 07777, 0) != 0) fail(sync_fd, CRT_STEP_MKNOD);
            break;
        case CRT_OP_SYMLINK:
            if ((parent = parent_in_root(rootfd, m->target, &name)) < 0) fail(sync_fd, CRT_STEP_MKDIR);
            if (symlinkat(m->source, parent, name) != 0 && errno != EEXIST) fail(sync_fd, CRT_STEP_SYMLINK);
            break;
        case CRT_OP_MKDIR:
            if ((fd = mkdir_in_root(rootfd, m->target, m->mode ? m->mode : 0755)) < 0) fail(sync_fd, CRT_STEP_MKDIR);
            break;
        }
        if (fd >= 0) close(fd);
        if (parent >= 0) close(parent);
    }
}

static void mask_paths(const char *const *paths, int sync_fd) {
    for (; paths && *paths; paths++) {
        struct stat st;
        if (stat(*paths, &st) != 0) continue;   // nothing to hide
        int rc = S_ISDIR(st.st_mode)
            ? mount("tmpfs", *paths, "tmpfs", MS_RDONLY, NULL)
            : mount("/dev/null", *paths, NULL, MS_BIND, NULL);
        if (rc != 0) fail(sync_fd, CRT_STEP_MASK_PATHS);
    }
}

static void readonly_paths(const char *const *paths, int sync_fd) {
    for (; paths && *paths; paths++) {
        if (mount(*paths, *paths, NULL, MS_BIND | MS_REC, NULL) != 0) {
            if (errno == ENOENT) continue;
            fail(sync_fd, CRT_STEP_READONLY_PATHS);
        }
        if (remount_readonly(*paths, MS_REC) != 0) fail(sync_fd, CRT_STEP_READONLY_PATHS);
    }
}

static int loopback_up(void) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, "lo", 3);
    int rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
    if (rc == 0) {
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
    }
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

// Drops every capability outside the configured set from the bounding set,
// then switches user, then sets effective = permitted = the set for root
// (empty for other users, as Docker does), inheritable and ambient empty.
static void set_identity(const struct crt_config *cfg, int sync_fd) {
    int last = crt_cap_last();
    for (int cap = 0; cap <= last; cap++) {
        if (cfg->capabilities & (1ULL << cap)) continue;
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) fail(sync_fd, CRT_STEP_CAPABILITIES);
    }
    // Raw syscalls: glibc's wrappers change the ids of every thread it
    // believes the process has, under a lock; in a child cloned (not
    // forked through glibc) from a process with threads, that list is the
    // parent's and the lock may be held forever (exec hung on it).
    if (syscall(SYS_setgroups, cfg->ngroups, (const gid_t *)cfg->groups) != 0) fail(sync_fd, CRT_STEP_SETGROUPS);
    if (syscall(SYS_setresgid, cfg->gid, cfg->gid, cfg->gid) != 0) fail(sync_fd, CRT_STEP_SETGID);
    if (syscall(SYS_setresuid, cfg->uid, cfg->uid, cfg->uid) != 0) fail(sync_fd, CRT_STEP_SETUID);

    uint64_t caps = cfg->uid == 0 ? cfg->capabilities : 0;
    struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    data[0].effective = data[0].permitted = (uint32_t)caps;
    data[1].effective = data[1].permitted = (uint32_t)(caps >> 32);
    if (syscall(SYS_capset, &header, data) != 0) fail(sync_fd, CRT_STEP_CAPABILITIES);
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
        fail(sync_fd, CRT_STEP_CAPABILITIES);
}

// no_new_privs, then the seccomp filter: the last steps before exec, in a
// container's first process and in a health check alike.
static void restrict_syscalls(const struct crt_config *cfg, int sync_fd) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail(sync_fd, CRT_STEP_NO_NEW_PRIVS);
    if (cfg->seccomp_len > 0) {
        struct sock_fprog prog = {
            .len = (unsigned short)cfg->seccomp_len,
            .filter = (struct sock_filter *)cfg->seccomp_filter,
        };
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) fail(sync_fd, CRT_STEP_SECCOMP);
    }
}

// Finds "PATH=" in envp; Docker's default when absent.
static const char *env_path(const char *const *envp) {
    for (; envp && *envp; envp++)
        if (strncmp(*envp, "PATH=", 5) == 0) return *envp + 5;
    return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

// execvpe without allocation: reports the most telling errno if all fail.
__attribute__((noreturn)) static void exec_command(const struct crt_config *cfg, const char *const *command, int sync_fd) {
    const char *prog = command[0];
    char *const *argv = (char *const *)command;
    char *const *envp = (char *const *)cfg->envp;
    if (strchr(prog, '/')) {
        execve(prog, argv, envp);
        fail(sync_fd, CRT_STEP_EXEC);
    }
    const char *p = env_path(cfg->envp);
    int seen_eacces = 0;
    char candidate[PATH_MAX];
    while (*p) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        size_t plen = strlen(prog);
        if (len + plen + 2 <= sizeof candidate) {
            memcpy(candidate, len ? p : ".", len ? len : 1);
            size_t n = len ? len : 1;
            candidate[n++] = '/';
            memcpy(candidate + n, prog, plen + 1);
            execve(candidate, argv, envp);
            if (errno == EACCES) seen_eacces = 1;
            else if (errno != ENOENT && errno != ENOTDIR) fail(sync_fd, CRT_STEP_EXEC);
        }
        if (!end) break;
        p = end + 1;
    }
    errno = seen_eacces ? EACCES : ENOENT;
    fail(sync_fd, CRT_STEP_EXEC);
}

// A minimal init for PID 1 (--init): forwards signals to the command,
// reaps every zombie, and exits as the command did (128+signal if killed).
__attribute__((noreturn)) static void run_init(const struct crt_config *cfg, int sync_fd) {
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &all, NULL);
    pid_t child = fork();
    if (child < 0) fail(sync_fd, CRT_STEP_INIT_FORK);
    if (child == 0) {
        sigprocmask(SIG_SETMASK, &none, NULL);
        exec_command(cfg, cfg->argv, sync_fd);
    }
    close(sync_fd);   // the command's copy closes on exec, telling the monitor
    for (;;) {
        siginfo_t info;
        int sig = sigwaitinfo(&all, &info);
        if (sig < 0) continue;
        if (sig != SIGCHLD) { kill(child, sig); continue; }
        int status;
        pid_t pid;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
            if (pid != child) continue;
            if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
            _exit(128 + WTERMSIG(status));
        }
    }
}

void crt_child_main(const struct crt_config *cfg, const struct crt_child_fds *fds) {
    int sync_fd = fds->sync;
    errno = 0;
    if (dup2(fds->stdin_fd, 0) < 0 || dup2(fds->stdout_fd, 1) < 0 || dup2(fds->stderr_fd, 2) < 0)
        fail(sync_fd, CRT_STEP_CLONE);

    if (fds->cgroup_procs >= 0) {
        // Fallback path (no clone3): join the cgroup, then get a cgroup
        // namespace rooted there.
        if (write(fds->cgroup_procs, "0", 1) != 1) fail(sync_fd, CRT_STEP_CGROUP);
        if ((cfg->clone_flags & CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) != 0) fail(sync_fd, CRT_STEP_CGROUP);
    }
    if ((cfg->clone_flags & CLONE_NEWUTS) && cfg->hostname &&
        sethostname(cfg->hostname, strlen(cfg->hostname)) != 0)
        fail(sync_fd, CRT_STEP_SETHOSTNAME);
    if (cfg->setup_loopback && loopback_up() != 0) fail(sync_fd, CRT_STEP_LOOPBACK);

    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) fail(sync_fd, CRT_STEP_MOUNT_PRIVATE);
    if (cfg->overlay && mount("overlay", cfg->rootfs, "overlay", 0, cfg->overlay) != 0) fail(sync_fd, CRT_STEP_OVERLAY);
    if (mount(cfg->rootfs, cfg->rootfs, NULL, MS_BIND | MS_REC, NULL) != 0) fail(sync_fd, CRT_STEP_MOUNT);
    int rootfd = open(cfg->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) fail(sync_fd, CRT_STEP_MOUNT);
    run_mount_plan(cfg, rootfd, sync_fd);
    close(rootfd);

    if (chdir(cfg->rootfs) != 0) fail(sync_fd, CRT_STEP_PIVOT_ROOT);
    if (syscall(SYS_pivot_root, ".", ".") != 0) fail(sync_fd, CRT_STEP_PIVOT_ROOT);
    if (umount2(".", MNT_DETACH) != 0) fail(sync_fd, CRT_STEP_PIVOT_ROOT);
    if (chdir("/") != 0) fail(sync_fd, CRT_STEP_PIVOT_ROOT);

    // A terminal (run -t), from the container's own devpts: the
    // container's session, with the pty as its controlling terminal, so ^C
    // and window changes reach its processes; the monitor keeps the master.
    if (cfg->tty) {
        int master = open_container_terminal(cfg->tty_rows, cfg->tty_cols, cfg->uid);
        if (master < 0 || send_master(sync_fd, master) != 0) fail(sync_fd, CRT_STEP_TERMINAL);
    }

    if (crt_apply_sysctls(cfg->sysctls) != 0) fail(sync_fd, CRT_STEP_SYSCTL);
    mask_paths(cfg->masked_paths, sync_fd);
    readonly_paths(cfg->readonly_paths, sync_fd);
    if (cfg->readonly_rootfs && remount_readonly("/", 0) != 0) fail(sync_fd, CRT_STEP_REMOUNT_ROOT);

    if (chdir(cfg->cwd && *cfg->cwd ? cfg->cwd : "/") != 0) fail(sync_fd, CRT_STEP_CHDIR);
    // Before the capabilities go: raising a hard limit needs CAP_SYS_RESOURCE.
    if (crt_apply_rlimits(cfg->rlimits, cfg->nrlimits) != 0) fail(sync_fd, CRT_STEP_RLIMIT);
    set_identity(cfg, sync_fd);
    restrict_syscalls(cfg, sync_fd);

    // The command starts with default dispositions and nothing blocked,
    // whatever the monitor (or whoever started the caller) had.
    for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
    if (cfg->init) run_init(cfg, sync_fd);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    exec_command(cfg, cfg->argv, sync_fd);
}

// A process joining a running container (health check, exec), once in its
// namespaces and cgroup: the container's identity, no_new_privs and seccomp,
// default signal dispositions with nothing blocked, then the command.
__attribute__((noreturn)) static void become_container_process(const struct crt_config *cfg, const char *const *command, int sync_fd) {
    set_identity(cfg, sync_fd);
    restrict_syscalls(cfg, sync_fd);
    for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    exec_command(cfg, command, sync_fd);
}

// Runs `argv` inside the running container whose first process is `target`
// (a health check): its cgroup, its namespaces, then the same identity,
// no_new_privs and seccomp as the container, stdout and stderr to `out`.
// Called in a child of the monitor; never returns.
void crt_enter_and_exec(const struct crt_config *cfg, pid_t target, const char *const *argv, int out) {
    int sync_fd = -1;   // nobody to report to: a failure just exits 127
    // Not dumpable: once inside, the container's root must not reach this
    // process's memory, executable or descriptors through /proc before exec.
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    // Its own process group, so a timeout kills the check and what it started.
    setpgid(0, 0);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/cgroup.procs", cfg->cgroup_path);
    int procs = open(path, O_WRONLY | O_CLOEXEC);
    if (procs < 0 || write(procs, "0", 1) != 1) fail(sync_fd, CRT_STEP_CGROUP);
    close(procs);
    static const char *const names[] = {"cgroup", "ipc", "uts", "net", "pid", "mnt"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)target, names[i]);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, 0) != 0) fail(sync_fd, CRT_STEP_CLONE);
        close(fd);
    }
    // Joining a pid namespace applies to children only.
    pid_t child = fork();
    if (child < 0) fail(sync_fd, CRT_STEP_CLONE);
    if (child > 0) {
        int status;
        while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
        _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    }
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0) fail(sync_fd, CRT_STEP_EXEC);
    // None of the monitor's descriptors (logs, pipes, pidfds) go inside.
    syscall(SYS_close_range, 3, ~0U, 0);
    if (chdir(cfg->cwd && *cfg->cwd ? cfg->cwd : "/") != 0 && chdir("/") != 0) fail(sync_fd, CRT_STEP_CHDIR);
    become_container_process(cfg, argv, sync_fd);
}

// An exec'd process, already in the container's cgroup and namespaces
// (see crt_exec in exec.c): the same steps as the container's first
// process after pivot_root. The caller's descriptors other than the three
// given never reach the container.
void crt_exec_child_main(const struct crt_config *cfg, const struct crt_exec_options *opts, int sync_fd) {
    errno = 0;
    // Out of the way of 0-2 first, whatever numbers they had.
    int in = fcntl(opts->stdin_fd, F_DUPFD_CLOEXEC, 10);
    int out = fcntl(opts->stdout_fd, F_DUPFD_CLOEXEC, 10);
    int err = fcntl(opts->stderr_fd, F_DUPFD_CLOEXEC, 10);
    int sync = fcntl(sync_fd, F_DUPFD_CLOEXEC, 10);
    if (in < 0 || out < 0 || err < 0 || sync < 0) fail(sync_fd, CRT_STEP_EXEC);
    if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0 || dup3(sync, 3, O_CLOEXEC) < 0) fail(sync_fd, CRT_STEP_EXEC);
    sync_fd = 3;
    syscall(SYS_close_range, 4, ~0U, 0);
    if (opts->tty) {
        // The pty, in the container's devpts (see open_container_terminal);
        // its master goes back to crt_exec's caller.
        int master = open_container_terminal(opts->tty_rows, opts->tty_cols, cfg->uid);
        if (master < 0 || send_master(sync_fd, master) != 0) fail(sync_fd, CRT_STEP_TERMINAL);
    } else if (opts->detach) {
        setsid();
    }
    if (chdir(cfg->cwd && *cfg->cwd ? cfg->cwd : "/") != 0) fail(sync_fd, CRT_STEP_CHDIR);
    become_container_process(cfg, cfg->argv, sync_fd);
}

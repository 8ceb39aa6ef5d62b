// `exec`: a new process inside a running container. The caller (a Swift
// process with many threads) clones a helper straight into the container's
// cgroup; the helper, single-threaded, joins the container's namespaces
// through a pidfd of its first process (setns refuses a mount namespace to
// a process with threads) and clones the command's process, which so lands
// in the container's pid namespace. All of it runs between clone and exec:
// async-signal-safe calls only.
#include "CRuntime.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

static void report(int fd, int error, int step, pid_t pid) {
    struct crt_report r = {.error = error, .step = step, .pid = pid};
    (void)!write(fd, &r, sizeof r);
}

// The helper, in the container's cgroup. Without `detach` the command's
// process becomes the caller's child (CLONE_PARENT), so the caller waits for
// it as for any child; with it, the process is the helper's, and goes to
// the reaper of the helper's pid namespace (the host's init, or a
// subreaper) when the helper exits. CLONE_VFORK holds the helper until the
// process has exec'd or failed, so a failed detached process is reaped here.
__attribute__((noreturn)) static void helper_main(const struct crt_config *cfg, const struct crt_exec_options *opts, int sync_fd) {
    // Not dumpable: once inside, the container's root must not reach this
    // process's memory or descriptors through /proc.
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    if (setns(opts->pidfd, opts->ns_flags) != 0) {
        report(sync_fd, errno, CRT_STEP_SETNS, 0);
        _exit(1);
    }
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = CLONE_VFORK | (opts->detach ? 0 : CLONE_PARENT);
    // With CLONE_PARENT the exit signal is the helper's own (SIGCHLD);
    // clone3 refuses one given here.
    args.exit_signal = opts->detach ? SIGCHLD : 0;
    pid_t pid = (pid_t)syscall(SYS_clone3, &args, sizeof args);
    if (pid == 0) crt_exec_child_main(cfg, opts, sync_fd);
    if (pid < 0) {
        report(sync_fd, errno, CRT_STEP_CLONE, 0);
        _exit(1);
    }
    report(sync_fd, 0, 0, pid);
    if (opts->detach) {
        int status;
        (void)waitpid(pid, &status, WNOHANG);   // reaps it only if it failed
    }
    _exit(0);
}

int crt_exec(const struct crt_config *cfg, const struct crt_exec_options *opts, struct crt_exec_result *out) {
    memset(out, 0, sizeof *out);
    out->master = -1;
    (void)crt_cap_last();   // cached now: the child may not read files
    // A socket pair, not a pipe: with a tty, the pty's master comes back on it.
    int sync[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync) != 0) { out->error = errno; out->step = CRT_STEP_CLONE; return -1; }
    // The host's /dev/null, opened here: one inside the container could be
    // anything its root made of it.
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0) {
        out->error = errno; out->step = CRT_STEP_CLONE;
        close(sync[0]); close(sync[1]);
        return -1;
    }
    struct crt_exec_options o = *opts;
    if (o.stdin_fd < 0) o.stdin_fd = devnull;
    if (o.stdout_fd < 0) o.stdout_fd = devnull;
    if (o.stderr_fd < 0) o.stderr_fd = devnull;

    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = CLONE_INTO_CGROUP;
    args.exit_signal = SIGCHLD;
    args.cgroup = (uint64_t)opts->cgroup_fd;
    // No handler of the caller may run in the helper or the process; the
    // process unblocks (with default dispositions) before exec.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    pid_t helper = (pid_t)syscall(SYS_clone3, &args, sizeof args);
    if (helper == 0) helper_main(cfg, &o, sync[1]);
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(sync[1]);
    close(devnull);
    if (helper < 0) {
        close(sync[0]);
        out->error = saved; out->step = CRT_STEP_CLONE;
        return -1;
    }
    // Reports until every writer is gone: the helper's (the pid, or its
    // failure) and the process's (the pty's master; a failed step; none
    // once it has exec'd).
    struct crt_report r;
    int fd;
    while (crt_recv_report(sync[0], &r, &fd) > 0) {
        if (fd >= 0) {
            if (out->master >= 0) close(out->master);
            out->master = fd;
        }
        if (r.pid > 0) out->pid = r.pid;
        if (r.error && !out->error) { out->error = r.error; out->step = r.step; }
    }
    close(sync[0]);
    int status;
    while (waitpid(helper, &status, 0) < 0 && errno == EINTR) {}
    if (out->pid == 0 && !out->error) { out->error = ECHILD; out->step = CRT_STEP_CLONE; }
    if (!out->error && opts->tty && out->master < 0) { out->error = EIO; out->step = CRT_STEP_TERMINAL; }
    if (out->error && out->master >= 0) { close(out->master); out->master = -1; }
    return out->error ? -1 : 0;
}

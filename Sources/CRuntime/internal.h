// Declarations shared between CRuntime's C files; not part of the module.
#ifndef CRUNTIME_INTERNAL_H
#define CRUNTIME_INTERNAL_H

#include "CRuntime.h"

/// What a failed child writes on the sync pipe.
struct crt_report {
    int error;
    int step;
    pid_t pid;          // exec: the process started (from its parent), else 0
};

/// Receives one report on a sync socket, and a descriptor sent with it
/// (SCM_RIGHTS, close-on-exec) in *received_fd, else -1 there. Returns 1 on
/// a report, 0 at end of stream, -1 on error (child.c).
int crt_recv_report(int fd, struct crt_report *report, int *received_fd);

/// The descriptors the child puts in place before setup.
struct crt_child_fds {
    int sync;           // CLOEXEC end of a SEQPACKET socket pair: a report on failure,
                        // the pty's master (run -t), EOF on exec
    int stdin_fd, stdout_fd, stderr_fd;
    int cgroup_procs;   // >= 0 only on the fallback path without clone3
};

/// The child's work from clone to exec (child.c). Never returns.
void crt_child_main(const struct crt_config *cfg, const struct crt_child_fds *fds)
    __attribute__((noreturn));

/// Enters the running container `target` and execs `argv` (child.c).
void crt_enter_and_exec(const struct crt_config *cfg, pid_t target, const char *const *argv, int out)
    __attribute__((noreturn));

/// The exec'd process's work after it has joined the container's
/// namespaces and cgroup (child.c): stdio, cwd, identity, no_new_privs,
/// seccomp, exec. Reports a failure on `sync_fd`. Never returns.
void crt_exec_child_main(const struct crt_config *cfg, const struct crt_exec_options *opts, int sync_fd)
    __attribute__((noreturn));

/// Writes each "key=value" under /proc/sys (dots become slashes), in the
/// container's namespaces, before /proc/sys is made read-only (limits.c).
int crt_apply_sysctls(const char *const *sysctls);

/// setrlimit for each limit (limits.c).
int crt_apply_rlimits(const struct crt_rlimit *limits, size_t count);

#endif

// A child that dies with its parent: posix_spawn cannot set the parent-death
// signal, so fork, set it, and exec. Between fork and exec the child of a
// multithreaded process may only make async-signal-safe calls: it does.
#include "CRuntime.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void child(const char *path, char *const argv[], char *const envp[], int out_fd, int death_signal,
                  pid_t parent, int report_fd) {
    int error = 0;
    if (prctl(PR_SET_PDEATHSIG, death_signal, 0, 0, 0) != 0) { error = errno; goto fail; }
    // The parent may have died before the call: then nobody would signal us.
    if (getppid() != parent) _exit(127);
    setsid();
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        signal(sig, SIG_DFL);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd < 0) { error = errno; goto fail; }
    if (dup2(null_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0) { error = errno; goto fail; }
    // Every other descriptor closes at exec (the report pipe among them).
    if (syscall(SYS_close_range, 3, ~0U, 4 /* CLOSE_RANGE_CLOEXEC */) != 0) {
        for (int fd = 3; fd < 65536; fd++) if (fd != report_fd) fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    execve(path, argv, envp);
    error = errno;
fail:
    (void)!write(report_fd, &error, sizeof error);
    _exit(127);
}

int crt_spawn_supervised(const char *path, char *const argv[], char *const envp[], int out_fd, int death_signal) {
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) return -errno;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int error = errno;
        close(report[0]);
        close(report[1]);
        return -error;
    }
    if (pid == 0) child(path, argv, envp, out_fd, death_signal, parent, report[1]);
    close(report[1]);
    // Nothing to read once exec succeeded (the pipe closed on exec).
    int error = 0;
    ssize_t n;
    do { n = read(report[0], &error, sizeof error); } while (n < 0 && errno == EINTR);
    close(report[0]);
    if (n == (ssize_t)sizeof error && error != 0) {
        waitpid(pid, NULL, 0);
        return -error;
    }
    return pid;
}

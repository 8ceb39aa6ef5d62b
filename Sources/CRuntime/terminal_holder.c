// Holding a pty's master for a process whose caller has gone (`exec -it`
// detached with the detach keys): a pty whose master is closed hangs up its
// session (SIGHUP), and one whose output nobody reads blocks its writers
// once the buffer is full. Docker's daemon keeps reading a detached exec's
// terminal and drops what it reads; this small process does the same.
#include "CRuntime.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int crt_hold_terminal(int master) {
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    pid_t middle = fork();
    if (middle == 0) {
        // A new session, then the holder, then go: the holder is nobody's
        // child to reap but init's, and no terminal's signals reach it.
        setsid();
        pid_t holder = fork();
        if (holder != 0) _exit(holder < 0 ? 1 : 0);
        int devnull = open("/dev/null", O_RDWR);
        int fd = fcntl(master, F_DUPFD, 3);
        if (devnull < 0 || fd < 0) _exit(1);
        dup2(devnull, 0); dup2(devnull, 1); dup2(devnull, 2);
        dup2(fd, 3);
        syscall(SYS_close_range, 4, ~0U, 0);
        for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        // Until every slave is closed (EIO): the process and whatever it
        // started on the terminal have ended.
        char buf[4096];
        for (;;) {
            ssize_t n = read(3, buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) _exit(0);
        }
    }
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (middle < 0) { errno = saved; return -1; }
    int status;
    while (waitpid(middle, &status, 0) < 0 && errno == EINTR) {}
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) { errno = ECHILD; return -1; }
    return 0;
}

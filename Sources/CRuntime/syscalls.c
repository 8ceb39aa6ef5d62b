// Thin wrappers for calls Swift's Glibc module does not expose.
#include "CRuntime.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <malloc.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

// libcap's cap_from_name takes an out-parameter of an opaque typedef.
int crt_cap_from_name(const char *name) {
    cap_value_t value;
    if (cap_from_name(name, &value) != 0) return -1;
    // cap_from_name also accepts numbers; only names are valid input here.
    if (name[0] >= '0' && name[0] <= '9') return -1;
    return (int)value;
}

// The kernel's last capability, read once; no libc wrapper exists.
int crt_cap_last(void) {
    static int last = -1;
    if (last >= 0) return last;
    FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
    int value = CAP_LAST_CAP;
    if (f) {
        if (fscanf(f, "%d", &value) != 1) value = CAP_LAST_CAP;
        fclose(f);
    }
    last = value;
    return last;
}

// No glibc 2.36 wrapper on Debian 12's headers for these two.
int crt_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

int crt_pidfd_send_signal(int pidfd, int sig) {
    return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

// openat2 has no glibc wrapper on Debian 12.
int crt_open_in_root(const char *root, const char *path) {
    int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) return -1;
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = O_RDONLY | O_CLOEXEC;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    while (*path == '/') path++;
    int fd = (int)syscall(SYS_openat2, rootfd, *path ? path : ".", &how, sizeof how);
    int saved = errno;
    close(rootfd);
    errno = saved;
    return fd;
}

// mallopt and its M_* constants are in <malloc.h>, which Swift's Glibc module leaves out.
int crt_limit_malloc_arenas(int count) {
    return mallopt(M_ARENA_MAX, count);
}

int crt_openat_in_root(int rootfd, const char *path, int flags, unsigned int mode) {
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = (uint64_t)(flags | O_CLOEXEC);
    how.mode = (flags & O_CREAT) ? mode : 0;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    while (*path == '/') path++;
    return (int)syscall(SYS_openat2, rootfd, *path ? path : ".", &how, sizeof how);
}

int crt_pipe2(int fds[2], int flags) {
    return pipe2(fds, flags);
}

int crt_open_pty(int *master, int *slave) {
    int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0) return -1;
    int unlock = 0;
    int s = ioctl(m, TIOCSPTLCK, &unlock) == 0 ? ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC) : -1;
    if (s < 0) {
        int saved = errno;
        close(m);
        errno = saved;
        return -1;
    }
    *master = m;
    *slave = s;
    return 0;
}

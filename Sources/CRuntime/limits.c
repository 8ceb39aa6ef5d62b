// Kernel limits of a container's first process: rlimits and namespaced
// sysctls, applied by the child before exec (see child.c).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "internal.h"

static const struct { const char *name; int resource; } rlimit_names[] = {
    {"as", RLIMIT_AS}, {"core", RLIMIT_CORE}, {"cpu", RLIMIT_CPU}, {"data", RLIMIT_DATA},
    {"fsize", RLIMIT_FSIZE}, {"locks", RLIMIT_LOCKS}, {"memlock", RLIMIT_MEMLOCK},
    {"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE}, {"nofile", RLIMIT_NOFILE},
    {"nproc", RLIMIT_NPROC}, {"rss", RLIMIT_RSS}, {"rtprio", RLIMIT_RTPRIO},
    {"rttime", RLIMIT_RTTIME}, {"sigpending", RLIMIT_SIGPENDING}, {"stack", RLIMIT_STACK},
};

int crt_rlimit_from_name(const char *name) {
    for (size_t i = 0; i < sizeof rlimit_names / sizeof rlimit_names[0]; i++)
        if (strcmp(rlimit_names[i].name, name) == 0) return rlimit_names[i].resource;
    return -1;
}

int crt_apply_rlimits(const struct crt_rlimit *limits, size_t count) {
    for (size_t i = 0; i < count; i++) {
        struct rlimit value = {.rlim_cur = (rlim_t)limits[i].soft, .rlim_max = (rlim_t)limits[i].hard};
        if (setrlimit(limits[i].resource, &value) != 0) return -1;
    }
    return 0;
}

// No allocation: the path is built in a buffer; the value written whole.
int crt_apply_sysctls(const char *const *sysctls) {
    for (; sysctls && *sysctls; sysctls++) {
        const char *entry = *sysctls;
        const char *equal = strchr(entry, '=');
        char path[PATH_MAX] = "/proc/sys/";
        size_t prefix = strlen(path);
        if (!equal || (size_t)(equal - entry) + prefix >= sizeof path) { errno = EINVAL; return -1; }
        for (const char *c = entry; c < equal; c++) {
            if (*c == '/' && c > entry && c[-1] == '.') { errno = EINVAL; return -1; }
            path[prefix++] = *c == '.' ? '/' : *c;
        }
        path[prefix] = 0;
        if (strstr(path, "/../") || strstr(path, "/./")) { errno = EINVAL; return -1; }
        int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) return -1;
        const char *value = equal + 1;
        size_t len = strlen(value);
        ssize_t written = write(fd, value, len);
        int saved = errno;
        close(fd);
        if (written != (ssize_t)len) { errno = written < 0 ? saved : EIO; return -1; }
    }
    return 0;
}

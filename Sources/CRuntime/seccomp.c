// Seccomp: turns the rule table Swift built into a classic-BPF program with
// libseccomp. The child only loads the finished program (prctl/seccomp), so
// all of libseccomp's allocation happens here, in the caller, before fork.
#include "CRuntime.h"

#include <errno.h>
#include <linux/filter.h>
#include <seccomp.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

// CRT_CMP_* are defined to equal libseccomp's enum scmp_compare, so Swift
// does not need seccomp.h; check that here, where both are visible.
_Static_assert((int)CRT_CMP_NE == (int)SCMP_CMP_NE && (int)CRT_CMP_LT == (int)SCMP_CMP_LT &&
               (int)CRT_CMP_LE == (int)SCMP_CMP_LE && (int)CRT_CMP_EQ == (int)SCMP_CMP_EQ &&
               (int)CRT_CMP_GE == (int)SCMP_CMP_GE && (int)CRT_CMP_GT == (int)SCMP_CMP_GT &&
               (int)CRT_CMP_MASKED_EQ == (int)SCMP_CMP_MASKED_EQ,
               "CRT_CMP_* must match enum scmp_compare");

// Adds one rule. In C because seccomp_rule_add_array takes libseccomp's own
// struct scmp_arg_cmp and an opaque filter context.
static int add_rule(scmp_filter_ctx ctx, const struct crt_seccomp_rule *rule)
{
    // Names libseccomp (or this architecture family) does not know are
    // skipped, as Docker does: a profile lists syscalls newer than the
    // library, and those cannot be called through a filter built by it
    // anyway (they hit the default action).
    int nr = seccomp_syscall_resolve_name(rule->name);
    if (nr == __NR_SCMP_ERROR)
        return 0;

    if (rule->nargs > 6 || (rule->nargs > 0 && rule->args == NULL))
        return -EINVAL;
    struct scmp_arg_cmp args[6];
    for (size_t i = 0; i < rule->nargs; i++) {
        args[i].arg = rule->args[i].index;
        args[i].op = (enum scmp_compare)rule->args[i].op;
        args[i].datum_a = rule->args[i].value;
        args[i].datum_b = rule->args[i].value_two;
    }

    uint32_t action = rule->action_errno < 0
        ? SCMP_ACT_ALLOW : SCMP_ACT_ERRNO((uint32_t)rule->action_errno);

    // seccomp_rule_add_array (not _exact) lets libseccomp adapt the rule to
    // each architecture in the filter: a syscall missing on x86 or x32 is
    // left out for that architecture only, socket/ipc calls are also
    // matched through socketcall(2)/ipc(2) on x86. A name that exists only
    // on a secondary architecture (chown32, ...) resolves to a negative
    // pseudo number here and lands on that architecture alone. So the
    // errors left are real ones, and the add is all-or-nothing across
    // architectures (libseccomp uses a transaction): we never tolerate an
    // error, which would also drop the rule for the native architecture.
    int rc = seccomp_rule_add_array(ctx, action, nr, (unsigned int)rule->nargs, args);
    // -EACCES: the action is the filter's default (EPERM), so the rule
    // changes nothing; libseccomp refuses it, the result is the same.
    if (rc == -EACCES)
        return 0;
    return rc;
}

// Writes the filter to a memfd and reads it back. In C because libseccomp
// 2.5 only exports to a file descriptor (seccomp_export_bpf_mem is 2.6).
static int export_program(scmp_filter_ctx ctx, void **prog, size_t *len)
{
    int fd = memfd_create("crt-seccomp", MFD_CLOEXEC);
    if (fd < 0)
        return -errno;

    int rc = seccomp_export_bpf(ctx, fd);
    if (rc < 0)
        goto out;

    off_t size = lseek(fd, 0, SEEK_END);
    if (size < 0 || lseek(fd, 0, SEEK_SET) < 0) {
        rc = -errno;
        goto out;
    }
    if (size == 0 || (size_t)size % sizeof(struct sock_filter) != 0) {
        rc = -EINVAL;
        goto out;
    }

    unsigned char *buf = malloc((size_t)size);
    if (buf == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    size_t done = 0;
    while (done < (size_t)size) {
        ssize_t n = read(fd, buf + done, (size_t)size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n < 0 ? -errno : -EIO;
            free(buf);
            goto out;
        }
        done += (size_t)n;
    }
    *prog = buf;
    *len = (size_t)size / sizeof(struct sock_filter);
    rc = 0;
out:
    close(fd);
    return rc;
}

// In C: libseccomp's API (opaque filter context, its own argument struct,
// export to a file descriptor) is not something Swift can call directly.
int crt_seccomp_compile(const struct crt_seccomp_rule *rules, size_t nrules,
                        void **prog, size_t *len)
{
    if (prog == NULL || len == NULL || (nrules > 0 && rules == NULL))
        return -EINVAL;
    *prog = NULL;
    *len = 0;

    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
    if (ctx == NULL)
        return -ENOMEM;

    int rc = 0;
#if defined(__x86_64__)
    // As Docker's profile does for amd64: also filter 32-bit x86 and x32
    // processes, rather than killing them for a foreign architecture.
    // -EEXIST would mean the arch is already in the filter: fine.
    rc = seccomp_arch_add(ctx, SCMP_ARCH_X86);
    if (rc < 0 && rc != -EEXIST)
        goto out;
    rc = seccomp_arch_add(ctx, SCMP_ARCH_X32);
    if (rc < 0 && rc != -EEXIST)
        goto out;
    rc = 0;
#endif

    for (size_t i = 0; i < nrules; i++) {
        if (rules[i].name == NULL) {
            rc = -EINVAL;
            goto out;
        }
        rc = add_rule(ctx, &rules[i]);
        if (rc < 0)
            goto out;
    }

    rc = export_program(ctx, prog, len);
out:
    seccomp_release(ctx);
    return rc < 0 ? rc : 0;
}

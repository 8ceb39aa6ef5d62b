// Layer unpacking: reads an OCI image layer (a tar stream, maybe compressed)
// with libarchive and writes it into a layer directory for overlayfs.
//
// In C because libarchive is a C library of opaque handles and
// pointer-heavy calls (entries, xattr iteration, data blocks with offsets),
// and because libarchive's disk writer sets the umask to 0 and back on every
// entry: in a multi-threaded process that must happen on a thread with its
// own fs_struct (unshare(CLONE_FS)), a worker thread that runs only C.
//
// Entry names are never used as given. Each is cleaned (leading "/" and "./"
// dropped, "." and empty components removed, ".." refused), its directory
// is resolved the way a chroot into the layer would resolve it (symlinks
// followed, but never above the layer's root), and libarchive gets an
// absolute name below the layer's real path. No chdir: several layers may
// unpack in parallel.
#include "CRuntime.h"

#include "archive_lazy.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define WHITEOUT_PREFIX ".wh."
#define WHITEOUT_META_PREFIX ".wh..wh."
#define WHITEOUT_OPAQUE ".wh..wh..opq"
#define OVERLAY_XATTR_PREFIX "trusted.overlay."
#define MAX_SYMLINKS 40

struct unpack {
    int fd;                 // the archive
    const char *dest;       // as given, for messages
    char root[PATH_MAX];    // realpath(dest): no symlinks, so libarchive's
                            // symlink check passes over it unchanged
    int rootfd;
    char *err;
    size_t errlen;
    int shared_fs;          // unshare(CLONE_FS) failed: the umask is the process's
};

// Taken around the libarchive calls that flip the umask, when the worker
// could not get a private one.
static pthread_mutex_t umask_lock = PTHREAD_MUTEX_INITIALIZER;

static int fail(struct unpack *u, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct unpack *u, const char *fmt, ...)
{
    if (u->errlen == 0) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(u->err, u->errlen, fmt, ap);
    va_end(ap);
    // One line: libarchive's messages and odd entry names may hold newlines.
    for (char *p = u->err; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    return -1;
}

// libarchive's message for the last failure on `a`.
static const char *why(struct archive *a)
{
    const char *msg = archive_error_string(a);
    return msg && *msg ? msg : "unknown libarchive error";
}

// Cleans an entry name into `out`, relative to the layer's root: leading
// "/" and "./" go (as Docker strips them), so do "." and empty components
// and a trailing "/". "" is the root itself. Returns 0; -EINVAL for a ".."
// component; -ENAMETOOLONG.
static int clean_path(const char *in, char *out, size_t outlen)
{
    size_t n = 0;
    const char *p = in;
    out[0] = '\0';
    while (*p) {
        while (*p == '/') p++;
        if (!*p) break;
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 1 && p[0] == '.') {
            p += len;
            continue;
        }
        if (len == 2 && p[0] == '.' && p[1] == '.') return -EINVAL;
        if (n + (n ? 1 : 0) + len + 1 > outlen) return -ENAMETOOLONG;
        if (n) out[n++] = '/';
        memcpy(out + n, p, len);
        n += len;
        out[n] = '\0';
        p += len;
    }
    return 0;
}

// Splits a clean path into its directory (in `dir`, "" for the root) and
// its last component (returned, pointing into `path`).
static const char *split_path(const char *path, char *dir, size_t dirlen)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        dir[0] = '\0';
        return path;
    }
    size_t n = (size_t)(slash - path);
    if (n >= dirlen) n = dirlen - 1;    // cannot happen: both are PATH_MAX
    memcpy(dir, path, n);
    dir[n] = '\0';
    return slash + 1;
}

// Resolves the clean relative path `rel` to a directory below the root the
// way a chroot into the root would: symlinks are followed, but ".." and
// absolute targets stop at the root. With `create`, missing directories are
// made (0755), like Docker's MkdirAll before each entry. `out` gets the
// result relative to the root, made of real directories only ("" = the
// root). Returns 0 or -errno (ENOENT without `create`, ENOTDIR when a
// component is not a directory, ELOOP).
static int resolve_dir(struct unpack *u, const char *rel, int create, char *out, size_t outlen)
{
    char todo[2 * PATH_MAX], next[2 * PATH_MAX];
    size_t n = 0;
    int links = 0;
    out[0] = '\0';
    if ((size_t)snprintf(todo, sizeof todo, "%s", rel) >= sizeof todo) return -ENAMETOOLONG;
    const char *p = todo;
    while (*p) {
        while (*p == '/') p++;
        if (!*p) break;
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *comp = p;
        p += len;
        if (len == 1 && comp[0] == '.') continue;
        if (len == 2 && comp[0] == '.' && comp[1] == '.') {
            // Only symlink targets bring ".." here; at the root it stays there.
            char *slash = strrchr(out, '/');
            n = slash ? (size_t)(slash - out) : 0;
            out[n] = '\0';
            continue;
        }
        size_t saved = n;
        if (n + (n ? 1 : 0) + len + 1 > outlen) return -ENAMETOOLONG;
        if (n) out[n++] = '/';
        memcpy(out + n, comp, len);
        n += len;
        out[n] = '\0';

        struct stat st;
        if (fstatat(u->rootfd, out, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno != ENOENT || !create) return -errno;
            if (mkdirat(u->rootfd, out, 0755) != 0 && errno != EEXIST) return -errno;
            continue;
        }
        if (S_ISDIR(st.st_mode)) continue;
        if (!S_ISLNK(st.st_mode)) return -ENOTDIR;
        if (++links > MAX_SYMLINKS) return -ELOOP;
        char target[PATH_MAX];
        ssize_t tlen = readlinkat(u->rootfd, out, target, sizeof target - 1);
        if (tlen < 0) return -errno;
        target[tlen] = '\0';
        n = target[0] == '/' ? 0 : saved;
        out[n] = '\0';
        if ((size_t)snprintf(next, sizeof next, "%s/%s", target, p) >= sizeof next) return -ENAMETOOLONG;
        memcpy(todo, next, strlen(next) + 1);
        p = todo;
    }
    return 0;
}

// Opens a directory `rel` (as resolve_dir returned it) below the root.
static int open_rel(struct unpack *u, const char *rel, int flags)
{
    return openat(u->rootfd, *rel ? rel : ".", flags | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

// Removes `name` in the directory `at`, recursively, never following a
// symlink. Missing is fine. Returns 0 or -1 (errno set).
static int remove_all(int at, const char *name)
{
    if (unlinkat(at, name, 0) == 0 || errno == ENOENT) return 0;
    if (errno != EISDIR) return -1;
    int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return -1;
    DIR *d = fdopendir(fd);
    if (!d) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        if (remove_all(dirfd(d), de->d_name) != 0) {
            rc = -1;
            break;
        }
    }
    int saved = errno;
    closedir(d);
    if (rc != 0) {
        errno = saved;
        return -1;
    }
    if (unlinkat(at, name, AT_REMOVEDIR) != 0 && errno != ENOENT) return -1;
    return 0;
}

// ".wh.NAME" in `dir`: whatever is at dir/NAME goes, and a 0/0 character
// device takes its place, which overlayfs reads as "deleted".
static int apply_whiteout(struct unpack *u, const char *shown, const char *dir, const char *name,
                          struct archive_entry *entry)
{
    if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || strchr(name, '/'))
        return fail(u, "layer entry %s: not a valid whiteout", shown);
    char resolved[PATH_MAX];
    int rc = resolve_dir(u, dir, 1, resolved, sizeof resolved);
    if (rc != 0) return fail(u, "layer entry %s: %s", shown, strerror(-rc));
    int dfd = open_rel(u, resolved, O_PATH);
    if (dfd < 0) return fail(u, "layer entry %s: %s", shown, strerror(errno));
    if (remove_all(dfd, name) != 0) {
        int e = errno;
        close(dfd);
        return fail(u, "layer entry %s: cannot remove %s: %s", shown, name, strerror(e));
    }
    if (mknodat(dfd, name, S_IFCHR, makedev(0, 0)) != 0) {
        int e = errno;
        close(dfd);
        return fail(u, "layer entry %s: mknod whiteout: %s%s", shown, strerror(e),
                    e == EPERM ? " (whiteouts need root)" : "");
    }
    // As Docker does: the device gets the owner the whiteout entry had.
    (void)fchownat(dfd, name, (uid_t)archive_entry_uid(entry), (gid_t)archive_entry_gid(entry),
                   AT_SYMLINK_NOFOLLOW);
    close(dfd);
    return 0;
}

// ".wh..wh..opq" in `dir`: the directory hides what lower layers have in it.
static int apply_opaque(struct unpack *u, const char *shown, const char *dir)
{
    char resolved[PATH_MAX];
    int rc = resolve_dir(u, dir, 1, resolved, sizeof resolved);
    if (rc != 0) return fail(u, "layer entry %s: %s", shown, strerror(-rc));
    int dfd = open_rel(u, resolved, O_RDONLY);
    if (dfd < 0) return fail(u, "layer entry %s: %s", shown, strerror(errno));
    if (fsetxattr(dfd, "trusted.overlay.opaque", "y", 1, 0) != 0) {
        int e = errno;
        close(dfd);
        return fail(u, "layer entry %s: setxattr trusted.overlay.opaque: %s%s", shown, strerror(e),
                    e == EPERM ? " (opaque directories need root)" : "");
    }
    close(dfd);
    return 0;
}

// Drops trusted.overlay.* xattrs an archive carries: overlayfs would obey
// them (redirects, metacopy, opacity), and in a layer only whiteout entries
// may say that.
static int strip_overlay_xattrs(struct archive_entry *entry)
{
    int count = archive_entry_xattr_reset(entry);
    int found = 0;
    const char *name;
    const void *value;
    size_t size;
    for (int i = 0; i < count; i++) {
        if (archive_entry_xattr_next(entry, &name, &value, &size) != ARCHIVE_OK) break;
        if (name && strncmp(name, OVERLAY_XATTR_PREFIX, strlen(OVERLAY_XATTR_PREFIX)) == 0) found = 1;
    }
    if (!found) return 0;

    struct kept { char *name; void *value; size_t size; } *keep = calloc((size_t)count, sizeof *keep);
    if (!keep) return -1;
    int nkeep = 0, rc = 0;
    archive_entry_xattr_reset(entry);
    for (int i = 0; i < count; i++) {
        if (archive_entry_xattr_next(entry, &name, &value, &size) != ARCHIVE_OK) break;
        if (!name || strncmp(name, OVERLAY_XATTR_PREFIX, strlen(OVERLAY_XATTR_PREFIX)) == 0) continue;
        keep[nkeep].name = strdup(name);
        keep[nkeep].value = malloc(size ? size : 1);
        if (!keep[nkeep].name || !keep[nkeep].value) {
            free(keep[nkeep].name);
            free(keep[nkeep].value);
            rc = -1;
            break;
        }
        if (size) memcpy(keep[nkeep].value, value, size);
        keep[nkeep].size = size;
        nkeep++;
    }
    if (rc == 0) {
        archive_entry_xattr_clear(entry);
        for (int i = 0; i < nkeep; i++)
            archive_entry_xattr_add_entry(entry, keep[i].name, keep[i].value, keep[i].size);
    }
    for (int i = 0; i < nkeep; i++) {
        free(keep[i].name);
        free(keep[i].value);
    }
    free(keep);
    return rc;
}

// Joins the root and a resolved relative directory and name into `out`.
static int full_path(struct unpack *u, const char *dir, const char *name, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "%s%s%s%s%s", u->root, *dir ? "/" : "", dir, *name ? "/" : "", name);
    return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}

enum { PLACE_WRITE = 0, PLACE_SKIP = 1 };

// Gets a regular entry ready for libarchive: resolves its directory
// (creating it if missing), removes what is in its way (anything but a
// directory under a directory, which merges), and rewrites its name and
// hard-link target to absolute paths below the root.
static int place_entry(struct unpack *u, struct archive_entry *entry, const char *shown, const char *rel)
{
    char dir[PATH_MAX], resolved[PATH_MAX], path[PATH_MAX];
    const char *base = split_path(rel, dir, sizeof dir);
    int is_dir = archive_entry_filetype(entry) == AE_IFDIR;
    const char *link = archive_entry_hardlink(entry);
    if (strip_overlay_xattrs(entry) != 0) return fail(u, "layer entry %s: out of memory", shown);

    if (!*rel) {
        // "./": the layer's root directory itself; its mode, owner and times apply to dest.
        if (!is_dir || link) return fail(u, "layer entry %s: the layer's root is not a directory", shown);
        archive_entry_copy_pathname(entry, u->root);
        return PLACE_WRITE;
    }

    int rc = resolve_dir(u, dir, 1, resolved, sizeof resolved);
    if (rc != 0) return fail(u, "layer entry %s: %s", shown, strerror(-rc));
    if (full_path(u, resolved, base, path, sizeof path) != 0)
        return fail(u, "layer entry %s: %s", shown, strerror(ENAMETOOLONG));

    if (link) {
        char lrel[PATH_MAX], ldir[PATH_MAX], lresolved[PATH_MAX], lpath[PATH_MAX];
        rc = clean_path(link, lrel, sizeof lrel);
        if (rc == -EINVAL) return fail(u, "layer entry %s: hard link to %s escapes the layer", shown, link);
        if (rc != 0) return fail(u, "layer entry %s: hard link to %s: %s", shown, link, strerror(-rc));
        if (!*lrel) return fail(u, "layer entry %s: hard link to the layer's root", shown);
        const char *lbase = split_path(lrel, ldir, sizeof ldir);
        rc = resolve_dir(u, ldir, 0, lresolved, sizeof lresolved);
        if (rc == -ENOENT) return fail(u, "layer entry %s: hard link target %s does not exist", shown, link);
        if (rc != 0) return fail(u, "layer entry %s: hard link to %s: %s", shown, link, strerror(-rc));
        if (full_path(u, lresolved, lbase, lpath, sizeof lpath) != 0)
            return fail(u, "layer entry %s: %s", shown, strerror(ENAMETOOLONG));
        if (strcmp(lpath, path) == 0) return PLACE_SKIP;   // a link to itself: nothing to do
        archive_entry_copy_hardlink(entry, lpath);
        is_dir = 0;
    }

    int dfd = open_rel(u, resolved, O_PATH);
    if (dfd < 0) return fail(u, "layer entry %s: %s", shown, strerror(errno));
    struct stat st;
    if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && !(is_dir && S_ISDIR(st.st_mode))) {
        if (remove_all(dfd, base) != 0) {
            int e = errno;
            close(dfd);
            return fail(u, "layer entry %s: cannot replace the existing %s: %s", shown,
                        S_ISDIR(st.st_mode) ? "directory" : "file", strerror(e));
        }
    }
    close(dfd);

    archive_entry_copy_pathname(entry, path);
    return PLACE_WRITE;
}

// Copies the current entry's data from the reader to the writer.
static int copy_data(struct unpack *u, struct archive *in, struct archive *out, const char *shown)
{
    for (;;) {
        const void *buf;
        size_t size;
        la_int64_t offset;
        int r = archive_read_data_block(in, &buf, &size, &offset);
        if (r == ARCHIVE_EOF) return 0;
        if (r < ARCHIVE_WARN) return fail(u, "layer entry %s: %s", shown, why(in));
        la_ssize_t w = archive_write_data_block(out, buf, size, offset);
        if (w < ARCHIVE_WARN) return fail(u, "layer entry %s: %s", shown, why(out));
    }
}

static int write_header(struct unpack *u, struct archive *out, struct archive_entry *entry)
{
    // archive_write_header calls umask(umask(0)) to learn the umask.
    if (u->shared_fs) pthread_mutex_lock(&umask_lock);
    int r = archive_write_header(out, entry);
    if (u->shared_fs) pthread_mutex_unlock(&umask_lock);
    return r;
}

static int extract(struct unpack *u, struct archive *in, struct archive *out)
{
    struct archive_entry *entry;
    char shown[PATH_MAX], rel[PATH_MAX], dir[PATH_MAX];
    for (;;) {
        int r = archive_read_next_header(in, &entry);
        if (r == ARCHIVE_EOF) break;
        if (r < ARCHIVE_WARN) return fail(u, "%s", why(in));
        const char *name = archive_entry_pathname(entry);
        if (!name || !*name) return fail(u, "layer entry without a name");
        snprintf(shown, sizeof shown, "%s", name);

        int rc = clean_path(name, rel, sizeof rel);
        if (rc == -EINVAL) return fail(u, "layer entry %s: path escapes the layer", shown);
        if (rc != 0) return fail(u, "layer entry %s: %s", shown, strerror(-rc));

        const char *base = split_path(rel, dir, sizeof dir);
        if (strncmp(base, WHITEOUT_PREFIX, strlen(WHITEOUT_PREFIX)) == 0) {
            // Whiteouts are markers, not files; their data (none) is skipped
            // by the next archive_read_next_header.
            if (strcmp(base, WHITEOUT_OPAQUE) == 0) {
                if (apply_opaque(u, shown, dir) != 0) return -1;
            } else if (strncmp(base, WHITEOUT_META_PREFIX, strlen(WHITEOUT_META_PREFIX)) != 0) {
                if (apply_whiteout(u, shown, dir, base + strlen(WHITEOUT_PREFIX), entry) != 0) return -1;
            }
            continue;
        }

        rc = place_entry(u, entry, shown, rel);
        if (rc < 0) return -1;
        if (rc == PLACE_SKIP) continue;

        r = write_header(u, out, entry);
        if (r < ARCHIVE_WARN) return fail(u, "layer entry %s: %s", shown, why(out));
        if (copy_data(u, in, out, shown) != 0) return -1;
        r = archive_write_finish_entry(out);
        if (r < ARCHIVE_WARN) return fail(u, "layer entry %s: %s", shown, why(out));
    }
    // Directory modes and times are set last, here.
    if (archive_write_close(out) < ARCHIVE_WARN) return fail(u, "%s", why(out));
    return 0;
}

static int run(struct unpack *u)
{
    struct archive *in = archive_read_new();
    if (u->shared_fs) pthread_mutex_lock(&umask_lock);
    struct archive *out = archive_write_disk_new();     // reads the umask too
    if (u->shared_fs) pthread_mutex_unlock(&umask_lock);
    if (!in || !out) {
        if (in) archive_read_free(in);
        if (out) archive_write_free(out);
        return fail(u, "out of memory");
    }

    // Filters libarchive has built in (no external programs are spawned);
    // the tar reader reads every tar variant: ustar, pax, GNU, v7.
    archive_read_support_filter_gzip(in);
    archive_read_support_filter_zstd(in);
    archive_read_support_filter_xz(in);
    archive_read_support_filter_bzip2(in);
    archive_read_support_format_tar(in);

    // Numeric owners only: no lookup callbacks, the host's names mean nothing here.
    archive_write_disk_set_options(out, ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
                                            ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_UNLINK |
                                            ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT);
    struct stat st;
    if (fstat(u->fd, &st) == 0) archive_write_disk_set_skip_file(out, (la_int64_t)st.st_dev, (la_int64_t)st.st_ino);

    int rc;
    if (archive_read_open_fd(in, u->fd, 128 * 1024) != ARCHIVE_OK) {
        rc = fail(u, "%s", why(in));
    } else {
        rc = extract(u, in, out);
    }
    archive_read_free(in);
    archive_write_free(out);
    return rc;
}

struct worker_args {
    struct unpack *u;
    int rc;
};

static void *worker(void *arg)
{
    struct worker_args *w = arg;
    // A private cwd and umask for this thread: libarchive's umask dance then
    // touches no other thread. (Its chdir for names of PATH_MAX or more never
    // happens: full_path refuses those.)
    w->u->shared_fs = unshare(CLONE_FS) != 0;
    if (!w->u->shared_fs) umask(022);   // for the parent directories made here
    w->rc = run(w->u);
    return NULL;
}

int crt_unpack_layer(int fd, const char *dest, char *err, size_t errlen)
{
    struct unpack u;
    memset(&u, 0, sizeof u);
    u.fd = fd;
    u.dest = dest;
    u.err = err;
    u.errlen = errlen;
    u.rootfd = -1;
    if (errlen) err[0] = '\0';
    if (crt_archive_load(err, errlen) != 0) return -1;

    if (!realpath(dest, u.root)) return fail(&u, "%s: %s", dest, strerror(errno));
    u.rootfd = open(u.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (u.rootfd < 0) return fail(&u, "%s: %s", dest, strerror(errno));

    struct worker_args w = { .u = &u, .rc = -1 };
    pthread_t thread;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 4 << 20);   // PATH_MAX buffers, remove_all's recursion
    if (pthread_create(&thread, &attr, worker, &w) == 0) {
        pthread_join(thread, NULL);
    } else {
        // No thread: run here, with the umask calls serialised.
        u.shared_fs = 1;
        w.rc = run(&u);
    }
    pthread_attr_destroy(&attr);
    close(u.rootfd);
    return w.rc;
}

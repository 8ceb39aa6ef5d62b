// The per-container monitor: a process of its own (double fork, setsid) that
// owns the container's first process, its output pipes and its exit status,
// so the caller (the CLI, later the agent) can exit or die without losing
// any of them. It is C because it is forked from a multi-threaded Swift
// process and never execs: it may not run Swift.
#include "CRuntime.h"
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <linux/sched.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

// Descriptor numbers the monitor keeps after closing everything else.
enum { FD_EVENT = 3, FD_ATTACH_OUT = 4, FD_ATTACH_ERR = 5, FD_ATTACH_CLIENT = 6, FD_FIRST_FREE = 7 };

// Docker's json-file driver splits lines longer than this into partial entries.
#define LOG_LINE_MAX (16 * 1024)

static int write_all(int fd, const void *buf, size_t len) {
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) { if (errno == EINTR) continue; return -1; }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void send_event(int fd, const struct crt_event *ev) {
    if (fd >= 0) (void)write_all(fd, ev, sizeof *ev);
}

// ---------------------------------------------------------------------------
// Small formatting without stdio (the monitor must not take stdio locks
// that another thread of the Swift parent may have held at fork).

static size_t fmt_u64(char *out, uint64_t v) {
    char tmp[24];
    size_t n = 0;
    do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    for (size_t i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    return n;
}

static size_t fmt_i64(char *out, int64_t v) {
    if (v < 0) { out[0] = '-'; return 1 + fmt_u64(out + 1, (uint64_t)(-v)); }
    return fmt_u64(out, (uint64_t)v);
}

static size_t fmt_pad(char *out, uint64_t v, int width) {
    for (int i = width - 1; i >= 0; i--) { out[i] = (char)('0' + v % 10); v /= 10; }
    return (size_t)width;
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

// RFC 3339 with nanoseconds in UTC, e.g. 2026-11-25T13:27:23.123456789Z.
static size_t fmt_time(char *out, uint64_t ns) {
    int64_t secs = (int64_t)(ns / 1000000000ULL);
    int64_t days = secs / 86400, rem = secs % 86400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2) y++;
    size_t n = 0;
    n += fmt_pad(out + n, (uint64_t)y, 4); out[n++] = '-';
    n += fmt_pad(out + n, (uint64_t)m, 2); out[n++] = '-';
    n += fmt_pad(out + n, (uint64_t)d, 2); out[n++] = 'T';
    n += fmt_pad(out + n, (uint64_t)(rem / 3600), 2); out[n++] = ':';
    n += fmt_pad(out + n, (uint64_t)(rem / 60 % 60), 2); out[n++] = ':';
    n += fmt_pad(out + n, (uint64_t)(rem % 60), 2); out[n++] = '.';
    n += fmt_pad(out + n, ns % 1000000000ULL, 9); out[n++] = 'Z';
    return n;
}

// Writes `text` to dir/name through a temporary file and rename, so a
// reader sees the whole file or none.
static void write_file_atomic(const char *dir, const char *name, const char *text, size_t len) {
    char path[PATH_MAX], tmp[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) return;
    if (snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name) >= (int)sizeof tmp) return;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return;
    // No fsync: the state dir is on /run (tmpfs); rename gives atomicity,
    // which is what readers in other processes need.
    int ok = write_all(fd, text, len) == 0;
    close(fd);
    if (ok) rename(tmp, path); else unlink(tmp);
}

// ---------------------------------------------------------------------------
// json-file log: {"log":"...","stream":"stdout","time":"..."} per line.

struct log_writer {
    const char *path;
    int fd;
    uint64_t size, max_size;
    int max_files;
};

struct stream {
    int fd;             // read end of the container's pipe, -1 once closed
    int attach;         // copy raw bytes here, -1 if none
    const char *name;   // "stdout" / "stderr"
    int id;             // 1 / 2: the stream byte of attach frames
    char line[LOG_LINE_MAX];
    size_t len;
};

static void log_rotate(struct log_writer *lw) {
    char from[PATH_MAX], to[PATH_MAX];
    close(lw->fd);
    if (lw->max_files <= 1) {
        lw->fd = open(lw->path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
    } else {
        for (int i = lw->max_files - 1; i >= 1; i--) {
            if (i == 1) snprintf(from, sizeof from, "%s", lw->path);
            else snprintf(from, sizeof from, "%s.%d", lw->path, i - 1);
            snprintf(to, sizeof to, "%s.%d", lw->path, i);
            rename(from, to);
        }
        lw->fd = open(lw->path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
    }
    lw->size = 0;
}

// Length of a valid UTF-8 sequence at p (1-4), or 0 if invalid/truncated.
static size_t utf8_len(const unsigned char *p, size_t avail) {
    unsigned char c = p[0];
    size_t n;
    uint32_t min;
    if (c < 0x80) return 1;
    else if ((c & 0xE0) == 0xC0) { n = 2; min = 0x80; }
    else if ((c & 0xF0) == 0xE0) { n = 3; min = 0x800; }
    else if ((c & 0xF8) == 0xF0) { n = 4; min = 0x10000; }
    else return 0;
    if (n > avail) return 0;
    uint32_t cp = c & (0x7F >> n);
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

// Escapes `len` bytes as the inside of a JSON string into `buf` (room for
// 6 bytes per input byte); returns the bytes written.
static size_t json_escape(char *buf, const char *text, size_t len) {
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;
    const unsigned char *p = (const unsigned char *)text;
    for (size_t i = 0; i < len;) {
        unsigned char c = p[i];
        if (c == '"' || c == '\\') { buf[n++] = '\\'; buf[n++] = (char)c; i++; }
        else if (c == '\n') { buf[n++] = '\\'; buf[n++] = 'n'; i++; }
        else if (c == '\r') { buf[n++] = '\\'; buf[n++] = 'r'; i++; }
        else if (c == '\t') { buf[n++] = '\\'; buf[n++] = 't'; i++; }
        else if (c < 0x20) {
            memcpy(buf + n, "\\u00", 4); n += 4;
            buf[n++] = hex[c >> 4]; buf[n++] = hex[c & 15]; i++;
        } else {
            size_t k = utf8_len(p + i, len - i);
            if (k == 0) { memcpy(buf + n, "\\ufffd", 6); n += 6; i++; }
            else { memcpy(buf + n, p + i, k); n += k; i += k; }
        }
    }
    return n;
}

static void log_entry(struct log_writer *lw, const char *stream, const char *text, size_t len) {
    // Worst case 6 bytes per input byte (\u00XX), plus the frame.
    static char buf[LOG_LINE_MAX * 6 + 128];
    size_t n = 0;
    memcpy(buf + n, "{\"log\":\"", 8); n += 8;
    n += json_escape(buf + n, text, len);
    memcpy(buf + n, "\",\"stream\":\"", 12); n += 12;
    size_t sl = strlen(stream);
    memcpy(buf + n, stream, sl); n += sl;
    memcpy(buf + n, "\",\"time\":\"", 10); n += 10;
    n += fmt_time(buf + n, now_ns());
    memcpy(buf + n, "\"}\n", 3); n += 3;

    if (lw->fd < 0) return;
    if (lw->max_size > 0 && lw->size > 0 && lw->size + n > lw->max_size) log_rotate(lw);
    if (lw->fd >= 0 && write_all(lw->fd, buf, n) == 0) lw->size += n;
}

// Copies output to an attached caller without ever blocking the monitor on
// it: a caller that stops reading (a suspended terminal, a full pipe) is
// detached rather than stalling the container's logging and health checks.
static int write_attach(int fd, const char *buf, size_t len) {
    while (len > 0) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int ready = poll(&p, 1, 1000);
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0 || (p.revents & (POLLERR | POLLHUP | POLLNVAL))) return -1;
        ssize_t n = write(fd, buf, len);
        if (n < 0) { if (errno == EINTR || errno == EAGAIN) continue; return -1; }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

// ---------------------------------------------------------------------------
// Attach clients. Each is a connected unix stream socket: the one given at
// start (`attach_fd`, the caller of `run -i/-t`) and any accepted on
// <state>/attach.sock (`attach`). Both directions carry frames with
// Docker's stream header: 8 bytes [kind, 0, 0, 0, length (big endian u32)]
// then `length` bytes.
//   monitor -> client: kind 1 stdout, 2 stderr (a tty has only 1), raw bytes.
//   client -> monitor: kind 0 input for the container's stdin (the pty, or
//   the stdin pipe of -i), kind 1 resize (rows, cols: big endian u16 each),
//   kind 2 end of input (closes the stdin pipe; ignored with a tty).
// A client that stops reading is dropped (see write_attach).

#define MAX_CLIENTS 16
#define FRAME_MAX 32768

struct client {
    int fd;             // -1: free slot
    size_t len;
    unsigned char buf[8 + FRAME_MAX];
};

static struct client clients[MAX_CLIENTS];

static void client_add(int fd) {
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (clients[i].fd < 0) { clients[i].fd = fd; clients[i].len = 0; return; }
    close(fd);
}

static void client_drop(struct client *c) {
    close(c->fd);
    c->fd = -1;
}

static void clients_send(int id, const char *data, size_t len) {
    unsigned char head[8] = {(unsigned char)id, 0, 0, 0,
                             (unsigned char)(len >> 24), (unsigned char)(len >> 16),
                             (unsigned char)(len >> 8), (unsigned char)len};
    for (int i = 0; i < MAX_CLIENTS; i++) {
        if (clients[i].fd < 0) continue;
        if (write_attach(clients[i].fd, (const char *)head, 8) != 0 ||
            write_attach(clients[i].fd, data, len) != 0)
            client_drop(&clients[i]);
    }
}

struct input {
    int tty;            // the pty master, -1 if none
    int pipe;           // write end of the stdin pipe, -1 if none or closed
};

// Reads what the client sent and acts on each complete frame.
static void client_pump(struct client *c, struct input *in) {
    ssize_t got = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (got <= 0) { client_drop(c); return; }
    c->len += (size_t)got;
    while (c->len >= 8) {
        uint32_t len = ((uint32_t)c->buf[4] << 24) | ((uint32_t)c->buf[5] << 16) | ((uint32_t)c->buf[6] << 8) | c->buf[7];
        if (len > FRAME_MAX) { client_drop(c); return; }
        if (c->len < 8 + len) return;
        const unsigned char *p = c->buf + 8;
        switch (c->buf[0]) {
        case 0: {
            int to = in->tty >= 0 ? in->tty : in->pipe;
            if (to >= 0 && write_attach(to, (const char *)p, len) != 0 && to == in->pipe) {
                close(in->pipe);
                in->pipe = -1;
            }
            break;
        }
        case 1:
            if (in->tty >= 0 && len == 4) {
                struct winsize ws = {.ws_row = (unsigned short)(p[0] << 8 | p[1]), .ws_col = (unsigned short)(p[2] << 8 | p[3])};
                ioctl(in->tty, TIOCSWINSZ, &ws);
            }
            break;
        case 2:
            if (in->pipe >= 0) { close(in->pipe); in->pipe = -1; }
            break;
        }
        memmove(c->buf, c->buf + 8 + len, c->len - 8 - len);
        c->len -= 8 + len;
    }
}

// <state>/attach.sock, bound through /proc/self/fd so a long state path
// does not meet sun_path's 108 bytes. -1 if it cannot be made (attach is
// then not available; the container runs all the same).
static int attach_listen(const char *state_dir) {
    int dir = open(state_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) return -1;
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    size_t n = 0;
    memcpy(addr.sun_path, "/proc/self/fd/", 14); n = 14;
    n += fmt_u64(addr.sun_path + n, (uint64_t)dir);
    memcpy(addr.sun_path + n, "/attach.sock", 13);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd >= 0) {
        unlink(addr.sun_path);
        if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, 8) != 0) { close(fd); fd = -1; }
    }
    close(dir);
    return fd;
}

// Reads what the pipe has; logs each complete line (and full buffers as
// partial lines). Returns 0 at end of stream.
static int stream_pump(struct stream *s, struct log_writer *lw) {
    char chunk[65536];
    ssize_t got = read(s->fd, chunk, sizeof chunk);
    if (got < 0) return errno == EINTR || errno == EAGAIN ? 1 : 0;
    if (got == 0) return 0;
    if (s->attach >= 0 && write_attach(s->attach, chunk, (size_t)got) != 0) s->attach = -1;
    clients_send(s->id, chunk, (size_t)got);
    for (ssize_t i = 0; i < got; i++) {
        s->line[s->len++] = chunk[i];
        if (chunk[i] == '\n' || s->len == LOG_LINE_MAX) {
            log_entry(lw, s->name, s->line, s->len);
            s->len = 0;
        }
    }
    return 1;
}

// ---------------------------------------------------------------------------
// Clean-up at exit

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb; (void)flag; (void)ftw;
    remove(path);
    return 0;
}

// Waits (bounded) until the cgroup has no process left, then removes it.
static void remove_cgroup(const char *path) {
    if (!path) return;
    for (int i = 0; i < 500; i++) {
        if (rmdir(path) == 0 || errno == ENOENT) return;
        if (errno != EBUSY) return;
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

// ---------------------------------------------------------------------------
// Health checks, as Docker runs them: every interval a command inside the
// container; exit 0 is healthy, anything else (or the timeout) a failure;
// `retries` failures in a row make it unhealthy; failures in the start
// period do not count. The state goes to <state>/health as Docker's
// State.Health JSON, with the last five results.

#define HEALTH_OUTPUT_MAX 4096
#define HEALTH_LOG 5

struct health_result {
    uint64_t start, end;    // wall clock, ns
    int exit_code;
    size_t len;
    char output[HEALTH_OUTPUT_MAX];
};

struct health {
    int enabled;
    const char *status;     // "starting", "healthy", "unhealthy"
    int streak;
    uint64_t started;       // monotonic ns of the container's start
    uint64_t next;          // monotonic ns of the next check
    pid_t pid;              // running check, 0 if none
    int out;                // its output pipe, -1 if none or closed
    int exited;             // pidfd of the running check, -1 if none
    uint64_t deadline;      // monotonic ns the running check times out
    struct health_result current;
    struct health_result log[HEALTH_LOG];
    int count;
};

static uint64_t mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void health_write(const struct crt_config *cfg, const struct health *h) {
    static char buf[HEALTH_LOG * (HEALTH_OUTPUT_MAX * 6 + 256) + 256];
    size_t n = 0;
    n += (size_t)snprintf(buf + n, sizeof buf - n, "{\"Status\":\"%s\",\"FailingStreak\":%d,\"Log\":[", h->status, h->streak);
    for (int i = 0; i < h->count; i++) {
        const struct health_result *r = &h->log[i];
        if (i) buf[n++] = ',';
        memcpy(buf + n, "{\"Start\":\"", 10); n += 10;
        n += fmt_time(buf + n, r->start);
        memcpy(buf + n, "\",\"End\":\"", 9); n += 9;
        n += fmt_time(buf + n, r->end);
        n += (size_t)snprintf(buf + n, sizeof buf - n, "\",\"ExitCode\":%d,\"Output\":\"", r->exit_code);
        n += json_escape(buf + n, r->output, r->len);
        memcpy(buf + n, "\"}", 2); n += 2;
    }
    memcpy(buf + n, "]}\n", 3); n += 3;
    write_file_atomic(cfg->state_dir, "health", buf, n);
}

static void health_start(const struct crt_config *cfg, struct health *h, pid_t target) {
    int p[2];
    // On failure, try again at the next interval rather than at once.
    h->next = mono_ns() + cfg->health_interval_ns;
    if (pipe2(p, O_CLOEXEC) != 0) return;
    h->current.start = now_ns();
    h->current.len = 0;
    pid_t pid = fork();
    if (pid == 0) crt_enter_and_exec(cfg, target, cfg->health_argv, p[1]);
    close(p[1]);
    if (pid < 0) { close(p[0]); return; }
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    h->pid = pid;
    h->out = p[0];
    h->exited = (int)syscall(SYS_pidfd_open, pid, 0);
    h->deadline = mono_ns() + cfg->health_timeout_ns;
}

static void health_close(struct health *h) {
    if (h->out >= 0) close(h->out);
    if (h->exited >= 0) close(h->exited);
    h->out = h->exited = -1;
}

// Records the finished check (exit code, or -1 for a timeout) and the new status.
static void health_finish(const struct crt_config *cfg, struct health *h, int exit_code) {
    uint64_t now = mono_ns();
    h->current.end = now_ns();
    h->current.exit_code = exit_code;
    if (exit_code == 0) {
        h->status = "healthy";
        h->streak = 0;
    } else if (now - h->started >= cfg->health_start_period_ns) {
        h->streak++;
        if (h->streak >= (cfg->health_retries > 0 ? cfg->health_retries : 3)) h->status = "unhealthy";
    }
    if (h->count == HEALTH_LOG) {
        memmove(&h->log[0], &h->log[1], sizeof h->log[0] * (HEALTH_LOG - 1));
        h->count--;
    }
    h->log[h->count++] = h->current;
    h->pid = 0;
    health_close(h);
    h->next = now + cfg->health_interval_ns;
    health_write(cfg, h);
}

// Reads what the running check has written (the pipe is non-blocking).
static void health_pump(struct health *h) {
    char chunk[4096];
    for (;;) {
        ssize_t got = read(h->out, chunk, sizeof chunk);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0 && errno == EAGAIN) return;
        if (got <= 0) { close(h->out); h->out = -1; return; }
        size_t room = HEALTH_OUTPUT_MAX - h->current.len;
        size_t take = (size_t)got < room ? (size_t)got : room;
        memcpy(h->current.output + h->current.len, chunk, take);
        h->current.len += take;
    }
}

// The check has exited (its pidfd fired): a background process it left
// holding the pipe does not keep it "running" until the timeout.
static void health_exited(const struct crt_config *cfg, struct health *h) {
    if (h->out >= 0) health_pump(h);
    int status = 0;
    while (waitpid(h->pid, &status, 0) < 0 && errno == EINTR) {}
    health_finish(cfg, h, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

static void health_timeout(const struct crt_config *cfg, struct health *h) {
    kill(-h->pid, SIGKILL);     // the check's process group (see crt_enter_and_exec)
    kill(h->pid, SIGKILL);
    while (waitpid(h->pid, NULL, 0) < 0 && errno == EINTR) {}
    int n = snprintf(h->current.output, HEALTH_OUTPUT_MAX, "Health check exceeded timeout (%llums)",
                     (unsigned long long)(cfg->health_timeout_ns / 1000000));
    h->current.len = n > 0 ? (size_t)n : 0;
    health_finish(cfg, h, -1);
}

static pid_t clone_container(const struct crt_config *cfg, int cgroup_fd) {
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = (uint64_t)cfg->clone_flags | CLONE_INTO_CGROUP;
    args.exit_signal = SIGCHLD;
    args.cgroup = (uint64_t)cgroup_fd;
    return (pid_t)syscall(SYS_clone3, &args, sizeof args);
}

static void monitor_main(const struct crt_config *cfg) __attribute__((noreturn));
static void monitor_main(const struct crt_config *cfg) {
    struct crt_event ev;
    memset(&ev, 0, sizeof ev);
    int event_fd = FD_EVENT;

    int cgroup_fd = open(cfg->cgroup_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    int out[2] = {-1, -1}, err[2] = {-1, -1}, in[2] = {-1, -1}, sync_pipe[2];
    // With a tty, the container opens it in its own devpts and sends the
    // master here (child.c): the monitor keeps it, so the terminal
    // outlives any caller.
    int master = -1;
    if (cgroup_fd < 0 || devnull < 0 ||
        (!cfg->tty && (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC))) ||
        (!cfg->tty && cfg->open_stdin && pipe2(in, O_CLOEXEC)) ||
        socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync_pipe)) {
        ev.kind = 2; ev.error = errno; ev.step = CRT_STEP_MONITOR;
        send_event(event_fd, &ev);
        _exit(1);
    }
    struct crt_child_fds fds = {
        .sync = sync_pipe[1], .stdin_fd = in[0] >= 0 ? in[0] : devnull, .stdout_fd = out[1], .stderr_fd = err[1],
        .cgroup_procs = -1,
    };
    if (cfg->tty) fds.stdin_fd = fds.stdout_fd = fds.stderr_fd = devnull;

    // A network namespace made beforehand (the agent's overlay data path):
    // joined by the monitor, so the container is cloned into it. The
    // monitor is single-threaded here, as setns requires.
    if (cfg->netns_path) {
        int netns = open(cfg->netns_path, O_RDONLY | O_CLOEXEC);
        if (netns < 0 || setns(netns, CLONE_NEWNET) != 0) {
            ev.kind = 2; ev.error = errno; ev.step = CRT_STEP_SETNS;
            send_event(event_fd, &ev);
            _exit(1);
        }
        close(netns);
    }

    pid_t pid = clone_container(cfg, cgroup_fd);
    if (pid < 0 && (errno == ENOSYS || errno == E2BIG || errno == EINVAL)) {
        // Kernels before 5.7: plain clone; the child joins its cgroup itself.
        char procs[PATH_MAX];
        snprintf(procs, sizeof procs, "%s/cgroup.procs", cfg->cgroup_path);
        fds.cgroup_procs = open(procs, O_WRONLY | O_CLOEXEC);
        pid = (pid_t)syscall(SYS_clone, (unsigned long)(cfg->clone_flags & ~CLONE_NEWCGROUP) | SIGCHLD,
                             NULL, NULL, NULL, NULL);
    }
    if (pid == 0) crt_child_main(cfg, &fds);
    if (pid < 0) {
        ev.kind = 2; ev.error = errno; ev.step = CRT_STEP_CLONE;
        send_event(event_fd, &ev);
        _exit(1);
    }
    if (!cfg->tty) { close(out[1]); close(err[1]); }
    if (in[0] >= 0) close(in[0]);
    close(sync_pipe[1]); close(cgroup_fd);
    if (fds.cgroup_procs >= 0) close(fds.cgroup_procs);

    // Reports until the child execs (end of stream): the pty's master,
    // or a failed step.
    struct crt_report report;
    int failed = 0, fd;
    while (!failed && crt_recv_report(sync_pipe[0], &report, &fd) > 0) {
        if (fd >= 0) { if (master >= 0) close(master); master = fd; }
        if (report.error) failed = 1;
    }
    close(sync_pipe[0]);
    if (!failed && cfg->tty && master < 0) {
        failed = 1;
        report.error = EIO; report.step = CRT_STEP_TERMINAL;
    }
    if (failed) {
        int status;
        if (master >= 0) close(master);
        kill(pid, SIGKILL);     // a child that sent no report has exec'd
        waitpid(pid, &status, 0);
        ev.kind = 2; ev.error = report.error; ev.step = report.step;
        send_event(event_fd, &ev);
        remove_cgroup(cfg->cgroup_path);
        _exit(1);
    }

    // Running: record the pids and the start time for other processes.
    char text[128];
    size_t n = 0;
    n += fmt_i64(text + n, getpid()); text[n++] = ' ';
    n += fmt_i64(text + n, pid); text[n++] = ' ';
    n += fmt_u64(text + n, now_ns()); text[n++] = '\n';
    write_file_atomic(cfg->state_dir, "pid", text, n);
    // So is the attach socket, and the first client (run's caller) is in.
    for (int i = 0; i < MAX_CLIENTS; i++) clients[i].fd = -1;
    int listen_fd = attach_listen(cfg->state_dir);
    if (cfg->attach_fd >= 0) client_add(FD_ATTACH_CLIENT);
    struct input input = {.tty = master, .pipe = in[1]};
    // The health state exists before the caller hears the container started.
    static struct health h;
    h.out = h.exited = -1;
    if (cfg->health_argv) {
        h.enabled = 1;
        h.status = "starting";
        h.started = mono_ns();
        h.next = h.started + cfg->health_interval_ns;
        health_write(cfg, &h);
    }
    ev.kind = 1; ev.pid = pid;
    send_event(event_fd, &ev);

    struct log_writer lw = {
        .path = cfg->log_path, .max_size = cfg->log_max_size,
        .max_files = cfg->log_max_files > 0 ? cfg->log_max_files : 1,
    };
    lw.fd = open(cfg->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    struct stat st;
    if (lw.fd >= 0 && fstat(lw.fd, &st) == 0) lw.size = (uint64_t)st.st_size;

    static struct stream streams[2];
    // A tty has one stream, logged as "stdout" as Docker does.
    streams[0] = (struct stream){.fd = cfg->tty ? master : out[0], .attach = cfg->attach_stdout >= 0 ? FD_ATTACH_OUT : -1,
                                 .name = "stdout", .id = 1};
    streams[1] = (struct stream){.fd = err[0], .attach = cfg->attach_stderr >= 0 ? FD_ATTACH_ERR : -1, .name = "stderr", .id = 2};

    // With a health check the loop also watches the container's exit (a
    // container may close its output and go on running).
    int exit_fd = h.enabled ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
    while (streams[0].fd >= 0 || streams[1].fd >= 0 || exit_fd >= 0) {
        struct pollfd pfd[6 + MAX_CLIENTS];
        int nfds = 0, idx[6 + MAX_CLIENTS];
        for (int i = 0; i < 2; i++)
            if (streams[i].fd >= 0) { pfd[nfds] = (struct pollfd){.fd = streams[i].fd, .events = POLLIN}; idx[nfds++] = i; }
        if (h.out >= 0) { pfd[nfds] = (struct pollfd){.fd = h.out, .events = POLLIN}; idx[nfds++] = 2; }
        if (h.exited >= 0) { pfd[nfds] = (struct pollfd){.fd = h.exited, .events = POLLIN}; idx[nfds++] = 4; }
        if (exit_fd >= 0) { pfd[nfds] = (struct pollfd){.fd = exit_fd, .events = POLLIN}; idx[nfds++] = 3; }
        if (listen_fd >= 0) { pfd[nfds] = (struct pollfd){.fd = listen_fd, .events = POLLIN}; idx[nfds++] = 5; }
        for (int i = 0; i < MAX_CLIENTS; i++)
            if (clients[i].fd >= 0) { pfd[nfds] = (struct pollfd){.fd = clients[i].fd, .events = POLLIN}; idx[nfds++] = 100 + i; }
        int timeout = -1;
        if (h.enabled && exit_fd >= 0) {
            uint64_t now = mono_ns(), due = h.pid ? h.deadline : h.next;
            uint64_t ms = due > now ? (due - now) / 1000000 + 1 : 0;
            timeout = ms > INT_MAX ? INT_MAX : (int)ms;
        }
        if (poll(pfd, (nfds_t)nfds, timeout) < 0) { if (errno == EINTR) continue; break; }
        for (int k = 0; k < nfds; k++) {
            if (!(pfd[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            if (idx[k] == 2) { health_pump(&h); continue; }
            if (idx[k] == 5) {
                int c = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
                if (c >= 0) client_add(c);
                continue;
            }
            if (idx[k] >= 100) {
                if (clients[idx[k] - 100].fd >= 0) client_pump(&clients[idx[k] - 100], &input);
                continue;
            }
            if (idx[k] == 4) { health_exited(cfg, &h); continue; }
            if (idx[k] == 3) {
                close(exit_fd);
                exit_fd = -1;
                if (h.pid) { kill(-h.pid, SIGKILL); kill(h.pid, SIGKILL); waitpid(h.pid, NULL, 0); h.pid = 0; health_close(&h); }
                continue;
            }
            struct stream *s = &streams[idx[k]];
            if (!stream_pump(s, &lw)) {
                if (s->fd == input.tty) input.tty = -1;
                close(s->fd);
                s->fd = -1;
            }
        }
        if (h.enabled && exit_fd >= 0) {
            uint64_t now = mono_ns();
            if (h.pid && now >= h.deadline) health_timeout(cfg, &h);
            else if (!h.pid && now >= h.next) health_start(cfg, &h, pid);
        }
    }
    for (int i = 0; i < 2; i++)
        if (streams[i].len) log_entry(&lw, streams[i].name, streams[i].line, streams[i].len);
    // Clients see the end of the output; the exit status is in <state>/exit.
    for (int i = 0; i < MAX_CLIENTS; i++) if (clients[i].fd >= 0) client_drop(&clients[i]);
    if (listen_fd >= 0) {
        close(listen_fd);
        char sock[PATH_MAX];
        if (snprintf(sock, sizeof sock, "%s/attach.sock", cfg->state_dir) < (int)sizeof sock) unlink(sock);
    }
    if (input.pipe >= 0) close(input.pipe);

    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (WIFSIGNALED(status)) { ev.signal = WTERMSIG(status); ev.exit_code = 128 + ev.signal; }
    else ev.exit_code = WEXITSTATUS(status);

    n = 0;
    n += fmt_i64(text + n, ev.exit_code); text[n++] = ' ';
    n += fmt_i64(text + n, ev.signal); text[n++] = ' ';
    n += fmt_u64(text + n, now_ns()); text[n++] = '\n';
    if (lw.fd >= 0) close(lw.fd);
    remove_cgroup(cfg->cgroup_path);
    if (cfg->remove_on_exit) {
        if (cfg->name_link) unlink(cfg->name_link);
        nftw(cfg->state_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        if (cfg->data_dir) nftw(cfg->data_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    } else {
        write_file_atomic(cfg->state_dir, "exit", text, n);
    }
    ev.kind = 3;
    send_event(event_fd, &ev);
    _exit(0);
}

int crt_run(const struct crt_config *cfg, struct crt_started *out) {
    memset(out, 0, sizeof *out);
    out->event_fd = -1;
    (void)crt_cap_last();   // cached now: the child may not read files
    int ev[2];
    if (pipe2(ev, O_CLOEXEC) != 0) { out->error = errno; out->step = CRT_STEP_MONITOR; return -1; }

    // The monitor and the container start with every signal blocked, so no
    // handler of the parent runs in them; the child unblocks before exec.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    pid_t middle = fork();
    if (middle == 0) {
        // Intermediate: a new session, then the monitor, then go, so the
        // monitor is re-parented to init and never reaped by the caller.
        setsid();
        pid_t mon = fork();
        if (mon != 0) _exit(mon < 0 ? 1 : 0);
        for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
        signal(SIGPIPE, SIG_IGN);
        // Keep the event pipe and the attach descriptors at fixed numbers;
        // close the rest so the container inherits nothing of the caller.
        int devnull = open("/dev/null", O_RDWR);
        int keep_ev = fcntl(ev[1], F_DUPFD, 64);
        int keep_out = cfg->attach_stdout >= 0 ? fcntl(cfg->attach_stdout, F_DUPFD, 64) : -1;
        int keep_err = cfg->attach_stderr >= 0 ? fcntl(cfg->attach_stderr, F_DUPFD, 64) : -1;
        int keep_client = cfg->attach_fd >= 0 ? fcntl(cfg->attach_fd, F_DUPFD, 64) : -1;
        dup2(devnull, 0); dup2(devnull, 1); dup2(devnull, 2);
        dup2(keep_ev, FD_EVENT);
        // Unused attach slots get /dev/null, not whatever the caller had there.
        dup2(keep_out >= 0 ? keep_out : devnull, FD_ATTACH_OUT);
        dup2(keep_err >= 0 ? keep_err : devnull, FD_ATTACH_ERR);
        dup2(keep_client >= 0 ? keep_client : devnull, FD_ATTACH_CLIENT);
        syscall(SYS_close_range, FD_FIRST_FREE, ~0U, 0);
        for (int fd = FD_EVENT; fd < FD_FIRST_FREE; fd++) fcntl(fd, F_SETFD, FD_CLOEXEC);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        monitor_main(cfg);
    }
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(ev[1]);
    if (middle < 0) { close(ev[0]); out->error = saved; out->step = CRT_STEP_MONITOR; return -1; }
    int status;
    while (waitpid(middle, &status, 0) < 0 && errno == EINTR) {}

    struct crt_event first;
    int r = crt_read_event(ev[0], &first);
    if (r <= 0 || first.kind != 1) {
        out->error = r > 0 ? first.error : (r == 0 ? ECHILD : errno);
        out->step = r > 0 ? first.step : CRT_STEP_MONITOR;
        close(ev[0]);
        return -1;
    }
    out->container_pid = first.pid;
    out->event_fd = ev[0];
    // The monitor's pid is the one in its pid file; the caller reads it there.
    return 0;
}

int crt_read_event(int fd, struct crt_event *ev) {
    char *p = (char *)ev;
    size_t want = sizeof *ev;
    while (want > 0) {
        ssize_t n = read(fd, p, want);
        if (n < 0) { if (errno == EINTR) continue; return -1; }
        if (n == 0) return 0;
        p += n;
        want -= (size_t)n;
    }
    return 1;
}

// One safe way to write an output file; the rules and why are in core/output.h.
#include "core/output.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct gaze_output {
    int    fd;
    bool   close_fd;   // false for standard output
    bool   regular;    // a regular file: fsync'd before it counts as written
    bool   linked;     // a hard-linked file rewritten in place: a failure leaves it incomplete
    bool   failed;     // a write failed: commit refuses
    int    slot;       // registry slot of tmp, -1 if none
    char * path;       // as the caller gave it (messages)
    char * target;     // the name renamed over (path with its symlinks followed)
    char * tmp;        // the temporary beside target, NULL when written in place
};

// Temporaries in progress, for gaze_output_remove_temps() in a signal handler: fixed slots (no
// allocation, no lock), a slot's path published before its state says "live". A write that
// finds every slot taken still works; only a signal during it would leave its temporary, which
// the next write to that path removes (remove_stale).
enum { SLOTS = 64, SLOT_FREE = 0, SLOT_FILLING = 1, SLOT_LIVE = 2 };
static char        g_tmp[SLOTS][PATH_MAX];
static _Atomic int g_state[SLOTS];
static _Atomic int g_stdout_fd = STDOUT_FILENO;   // where "-" goes (gaze_output_claim_stdout)
static _Atomic unsigned g_counter;                // distinct temporaries within one process

static int slot_take(const char * tmp) {
    const size_t n = strlen(tmp);
    if (n >= PATH_MAX) return -1;
    for (int i = 0; i < SLOTS; i++) {
        int want = SLOT_FREE;
        if (!atomic_compare_exchange_strong(&g_state[i], &want, SLOT_FILLING)) continue;
        memcpy(g_tmp[i], tmp, n + 1);
        atomic_store(&g_state[i], SLOT_LIVE);
        return i;
    }
    return -1;
}

static void slot_drop(int i) {
    if (i >= 0) atomic_store(&g_state[i], SLOT_FREE);
}

void gaze_output_remove_temps(void) {
    for (int i = 0; i < SLOTS; i++)
        if (atomic_load(&g_state[i]) == SLOT_LIVE) {
            unlink(g_tmp[i]);
            atomic_store(&g_state[i], SLOT_FREE);
        }
}

bool gaze_output_is_stdout(const char * path) {
    return path && (!strcmp(path, "-") || !strcmp(path, "/dev/stdout") || !strcmp(path, "/dev/fd/1") ||
                    !strcmp(path, "/proc/self/fd/1"));
}

static const char * shown(const char * path) {
    return gaze_output_is_stdout(path) ? "standard output" : path;
}

enum gaze_status gaze_output_claim_stdout(void) {
    if (atomic_load(&g_stdout_fd) != STDOUT_FILENO) return GAZE_OK;   // claimed already
    fflush(stdout);
    const int fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
    if (fd < 0) return gaze_error(GAZE_ERR_IO, "cannot write standard output: %s", strerror(errno));
    if (dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
        const int e = errno;
        close(fd);
        return gaze_error(GAZE_ERR_IO, "cannot write standard output: %s", strerror(e));
    }
    atomic_store(&g_stdout_fd, fd);
    return GAZE_OK;
}

// Follows path's symlinks, each hop relative to its link's folder, to the name that will be
// written. realpath() cannot do it: a dangling link (to a file not made yet) is a valid target.
// A target that is no regular file or folder (device, FIFO, and what the links under /proc
// lead to: /dev/stderr -> /proc/self/fd/2 -> "pipe:[…]", not a path) is written in place:
// *target is then NULL and the caller opens path itself, as the kernel follows it.
static enum gaze_status resolve(const char * path, char ** target, struct stat * st, bool * exists) {
    *target = NULL;
    *exists = stat(path, st) == 0;
    if (*exists && !S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode)) return GAZE_OK;
    char * cur = strdup(path);
    if (!cur) return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", path);
    for (int hop = 0;; hop++) {
        if (lstat(cur, st) != 0) {
            const int e = errno;
            if (e == ENOENT) { *exists = false; *target = cur; return GAZE_OK; }
            free(cur);
            return gaze_error(GAZE_ERR_IO, "cannot write %s: %s", path, strerror(e));
        }
        if (!S_ISLNK(st->st_mode)) { *exists = true; *target = cur; return GAZE_OK; }
        if (!strncmp(cur, "/proc/", 6) || !strncmp(cur, "/dev/fd/", 8)) { *exists = false; free(cur); return GAZE_OK; }
        char link[PATH_MAX];
        const ssize_t k = hop < 40 ? readlink(cur, link, sizeof link - 1) : -1;
        if (k < 0) {
            const int e = hop < 40 ? errno : ELOOP;
            free(cur);
            return gaze_error(GAZE_ERR_IO, "cannot write %s: %s", path, strerror(e));
        }
        link[k] = 0;
        const char * slash = strrchr(cur, '/');
        const size_t dl = link[0] == '/' || !slash ? 0 : (size_t)(slash - cur) + 1;
        char * next = malloc(dl + (size_t)k + 1);
        if (!next) { free(cur); return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", path); }
        memcpy(next, cur, dl);
        memcpy(next + dl, link, (size_t)k + 1);
        free(cur);
        cur = next;
    }
}

// Parses "PID-N" (decimal, nothing after): the tail of a temporary's name.
static bool tmp_tail(const char * s, long * pid) {
    long p = 0;
    int digits = 0;
    for (; *s >= '0' && *s <= '9'; s++, digits++) if (digits < 12) p = p * 10 + (*s - '0');
    if (digits == 0 || digits > 10 || *s++ != '-') return false;
    if (!(*s >= '0' && *s <= '9')) return false;
    while (*s >= '0' && *s <= '9') s++;
    *pid = p;
    return *s == 0;
}

// Removes BASE.tmp-PID-N in dir left by processes that no longer exist (killed mid-write): only
// regular files of exactly that pattern, only when kill(PID, 0) says there is no such process.
static void remove_stale(const char * dir, const char * base) {
    DIR * d = opendir(dir);
    if (!d) return;
    const size_t bl = strlen(base);
    const long self = (long)getpid();
    for (struct dirent * e; (e = readdir(d));) {
        const char * n = e->d_name;
        long pid;
        if (strncmp(n, base, bl) || strncmp(n + bl, ".tmp-", 5) || !tmp_tail(n + bl + 5, &pid)) continue;
        if (pid <= 0 || pid == self || pid > INT_MAX || kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        struct stat st;
        if (fstatat(dirfd(d), n, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) unlinkat(dirfd(d), n, 0);
    }
    closedir(d);
}

// Creates target's temporary (registered before it exists, so a signal can never miss it).
static int create_tmp(struct gaze_output * o) {
    const size_t tl = strlen(o->target) + 40;
    if (!(o->tmp = malloc(tl))) { errno = ENOMEM; return -1; }
    int fd = -1;
    for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        snprintf(o->tmp, tl, "%s.tmp-%ld-%u", o->target, (long)getpid(), atomic_fetch_add(&g_counter, 1));
        o->slot = slot_take(o->tmp);
        fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) break;
        const int e = errno;
        slot_drop(o->slot);
        o->slot = -1;
        errno = e;
        if (e != EEXIST) break;
    }
    if (fd < 0) { const int e = errno; free(o->tmp); o->tmp = NULL; errno = e; }
    return fd;
}

static void output_free(struct gaze_output * o) {
    if (!o) return;
    if (o->close_fd && o->fd >= 0) close(o->fd);
    if (o->tmp) unlink(o->tmp);
    slot_drop(o->slot);
    free(o->tmp);
    free(o->target);
    free(o->path);
    free(o);
}

static enum gaze_status fail(struct gaze_output * o, enum gaze_status s) {
    output_free(o);
    return s;
}

enum gaze_status gaze_output_open(struct gaze_output ** out, const char * path) {
    *out = NULL;
    if (!path || !*path) return gaze_error(GAZE_ERR_INVALID_ARG, "output: empty file name");
    struct gaze_output * o = calloc(1, sizeof *o);
    if (!o) return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", path);
    o->fd = -1;
    o->slot = -1;
    if (!(o->path = strdup(path))) return fail(o, gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", path));
    if (gaze_output_is_stdout(path)) {
        o->fd = atomic_load(&g_stdout_fd);
        *out = o;
        return GAZE_OK;
    }
    struct stat st;
    bool exists;
    enum gaze_status s = resolve(path, &o->target, &st, &exists);
    if (s) return fail(o, s);
    if (!o->target) {
        // Devices and FIFOs are streams (renaming over /dev/null would replace it); a regular
        // file met here was named through /proc (/dev/fd/N): an open file, rewritten in place
        o->fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (o->fd < 0) return fail(o, gaze_error(GAZE_ERR_IO, "cannot write %s: %s", path, strerror(errno)));
        o->close_fd = true;
        if (fstat(o->fd, &st) != 0)
            return fail(o, gaze_error(GAZE_ERR_IO, "cannot write %s: %s", path, strerror(errno)));
        o->regular = S_ISREG(st.st_mode);
        if (o->regular && ftruncate(o->fd, 0) != 0)
            return fail(o, gaze_error(GAZE_ERR_IO, "cannot write %s: %s", path, strerror(errno)));
        *out = o;
        return GAZE_OK;
    }
    if (exists && S_ISDIR(st.st_mode))
        return fail(o, gaze_error(GAZE_ERR_IO, "cannot write %s: %s", path, strerror(EISDIR)));
    if (exists && S_ISREG(st.st_mode) && st.st_nlink > 1) {
        // a file with other hard links is rewritten so that every name keeps seeing it
        o->regular = o->linked = true;
        o->fd = open(o->target, O_WRONLY | O_CLOEXEC | O_NOCTTY | O_TRUNC);
        if (o->fd < 0) return fail(o, gaze_error(GAZE_ERR_IO, "cannot write %s: %s", path, strerror(errno)));
        o->close_fd = true;
        *out = o;
        return GAZE_OK;
    }
    // A read-only file stays protected although renaming over it would work.
    if (exists && faccessat(AT_FDCWD, o->target, W_OK, AT_EACCESS) != 0)
        return fail(o, gaze_error(GAZE_ERR_IO, "cannot write %s: %s", path, strerror(errno)));
    char * slash = strrchr(o->target, '/');
    if (slash) {
        *slash = 0;
        remove_stale(slash == o->target ? "/" : o->target, slash + 1);
        *slash = '/';
    } else {
        remove_stale(".", o->target);
    }
    o->fd = create_tmp(o);
    if (o->fd < 0) return fail(o, gaze_error(GAZE_ERR_IO, "cannot create %s: %s", path, strerror(errno)));
    o->close_fd = o->regular = true;
    if (exists) {
        // the replacement keeps the old file's owner (where allowed: root, or our own group)
        // and mode, set before any byte is written
        if (fchown(o->fd, st.st_uid, st.st_gid) != 0) (void)!fchown(o->fd, (uid_t)-1, st.st_gid);
        if (fchmod(o->fd, st.st_mode & 07777) != 0)
            return fail(o, gaze_error(GAZE_ERR_IO, "cannot write %s: %s", path, strerror(errno)));
    }
    *out = o;
    return GAZE_OK;
}

static enum gaze_status write_error(struct gaze_output * o, int e) {
    o->failed = true;
    return gaze_error(GAZE_ERR_IO, "cannot write %s: %s%s", shown(o->path), strerror(e),
                      o->linked ? " (written in place to keep its hard links: the file is incomplete)" : "");
}

enum gaze_status gaze_output_write(struct gaze_output * o, const void * buf, size_t n) {
    if (o->failed) return GAZE_ERR_IO;
    const unsigned char * p = buf;
    while (n) {
        const ssize_t r = write(o->fd, p, n > ((size_t)1 << 30) ? (size_t)1 << 30 : n);
        if (r < 0) {
            if (errno == EINTR) continue;
            return write_error(o, errno);
        }
        p += r;
        n -= (size_t)r;
    }
    return GAZE_OK;
}

enum gaze_status gaze_output_commit(struct gaze_output * o) {
    enum gaze_status s = o->failed ? GAZE_ERR_IO : GAZE_OK;
    // fsync before rename: otherwise a crash can leave the new name on an empty file
    if (!s && o->regular && fsync(o->fd) != 0) s = write_error(o, errno);
    if (o->close_fd) {
        const int r = close(o->fd);
        o->fd = -1;
        if (!s && r != 0) s = write_error(o, errno);
    }
    if (!s && o->tmp) {
        if (rename(o->tmp, o->target) != 0)
            s = gaze_error(GAZE_ERR_IO, "cannot replace %s: %s", o->path, strerror(errno));
        else { free(o->tmp); o->tmp = NULL; }
    }
    output_free(o);   // unlinks the temporary if it is still there
    return s;
}

void gaze_output_abort(struct gaze_output * o) {
    output_free(o);
}

enum gaze_status gaze_output_write_file(const char * path, const void * buf, size_t n) {
    struct gaze_output * o;
    enum gaze_status s = gaze_output_open(&o, path);
    if (s) return s;
    if ((s = gaze_output_write(o, buf, n))) { gaze_output_abort(o); return s; }
    return gaze_output_commit(o);
}

enum gaze_status gaze_output_check(const char * path) {
    if (!path || !*path) return gaze_error(GAZE_ERR_INVALID_ARG, "output: empty file name");
    if (gaze_output_is_stdout(path)) return GAZE_OK;
    struct stat st;
    bool exists;
    char * target;
    enum gaze_status s = resolve(path, &target, &st, &exists);
    if (s) return s;
    if (!target) {   // written in place (see resolve)
        if (faccessat(AT_FDCWD, path, W_OK, AT_EACCESS) != 0)
            s = gaze_error(GAZE_ERR_IO, "cannot write %s: %s", path, strerror(errno));
        return s;
    }
    if (exists && S_ISDIR(st.st_mode)) s = gaze_error(GAZE_ERR_IO, "cannot write %s: %s", path, strerror(EISDIR));
    else if (exists && faccessat(AT_FDCWD, target, W_OK, AT_EACCESS) != 0)
        s = gaze_error(GAZE_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    else if (!exists || (S_ISREG(st.st_mode) && st.st_nlink == 1)) {
        // the only sure test that a new file can be made there (read-only mounts, ACLs, root)
        struct gaze_output probe = { .fd = -1, .slot = -1, .target = target };
        const int fd = create_tmp(&probe);
        if (fd < 0) s = gaze_error(GAZE_ERR_IO, "cannot create %s: %s", path, strerror(errno));
        else close(fd);
        if (probe.tmp) unlink(probe.tmp);
        slot_drop(probe.slot);
        free(probe.tmp);
    }
    free(target);
    return s;
}

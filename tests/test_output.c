// The shared output helper (core/output.c) and the writers that go through it: device nodes and
// FIFOs written in place, symlinks followed, mode/owner kept, hard links kept, temporaries
// removed on errors, on signals and (left by dead processes) on the next write, the pre-check.
// Every file lives under a fresh temporary folder; the device node is made here with mknod
// (root, as in CI), never the system's /dev/null.
#include "check.h"
#include "core/output.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

static char g_dir[256];

static const char * at(const char * name) {
    static char buf[4][512];
    static int k;
    char * b = buf[k++ & 3];
    snprintf(b, 512, "%s/%s", g_dir, name);
    return b;
}

// Entries of folder dir whose name contains s.
static int count_with(const char * dir, const char * s) {
    DIR * d = opendir(dir);
    int n = 0;
    if (!d) return -1;
    for (struct dirent * e; (e = readdir(d));) n += strstr(e->d_name, s) != NULL;
    closedir(d);
    return n;
}

static bool file_is(const char * path, const char * want) {
    char buf[256] = { 0 };
    FILE * f = fopen(path, "rb");
    if (!f) return false;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    return n == strlen(want) && !memcmp(buf, want, n);
}

static void put(const char * path, const char * text) {
    FILE * f = fopen(path, "wb");
    if (f) { fputs(text, f); fclose(f); }
}

static void test_device_node(void) {
    const char * dev = at("null.png");   // a device node named like a figure
    if (mknod(dev, S_IFCHR | 0666, makedev(1, 3)) != 0) {
        // only root may make device nodes; CI runs as root, so there this must work
        CHECK(geteuid() != 0, "mknod as root failed: %s", strerror(errno));
        printf("test_output: device node not tested (not root)\n");
        return;
    }
    // through a real writer: a figure
    float g[4] = { 0.1f, 0.2f, 0.3f, 0.4f };
    enum gaze_status s = gaze_plot_grid(g, 2, 2, "layer", "head", "t", GAZE_PALETTE_VIRIDIS, dev);
    CHECK(s == GAZE_OK, "plot to a device: %s", gaze_last_error());
    s = gaze_output_write_file(dev, "abc", 3);
    CHECK(s == GAZE_OK, "write to a device: %s", gaze_last_error());
    struct stat st;
    CHECK(lstat(dev, &st) == 0 && S_ISCHR(st.st_mode), "the device node was replaced");
    CHECK(count_with(g_dir, ".tmp-") == 0, "temporary left beside the device");
    CHECK(gaze_output_check(dev) == GAZE_OK, "check of a device: %s", gaze_last_error());
    unlink(dev);
}

struct reader { const char * path; char buf[1 << 17]; size_t n; };

static void * read_fifo(void * p) {
    struct reader * r = p;
    int fd = open(r->path, O_RDONLY);
    if (fd < 0) return NULL;
    for (ssize_t k; (k = read(fd, r->buf + r->n, sizeof r->buf - r->n)) > 0;) r->n += (size_t)k;
    close(fd);
    return NULL;
}

static void test_fifo(void) {
    const char * fifo = at("fifo");
    CHECK(mkfifo(fifo, 0644) == 0, "mkfifo: %s", strerror(errno));
    static struct reader r;
    r.path = fifo;
    r.n = 0;
    pthread_t t;
    pthread_create(&t, NULL, read_fifo, &r);
    static char data[100000];   // more than a pipe's buffer: the writer must stream it
    for (size_t i = 0; i < sizeof data; i++) data[i] = (char)('a' + i % 26);
    enum gaze_status s = gaze_output_write_file(fifo, data, sizeof data);
    CHECK(s == GAZE_OK, "write to a FIFO: %s", gaze_last_error());
    pthread_join(t, NULL);
    CHECK(r.n == sizeof data && !memcmp(r.buf, data, sizeof data), "the reader got %zu bytes", r.n);
    struct stat st;
    CHECK(lstat(fifo, &st) == 0 && S_ISFIFO(st.st_mode), "the FIFO was replaced");
    CHECK(count_with(g_dir, ".tmp-") == 0, "temporary left beside the FIFO");
    unlink(fifo);
}

static void test_symlink(void) {
    mkdir(at("real"), 0755);
    put(at("real/target.bin"), "old");
    CHECK(symlink("real/target.bin", at("link.bin")) == 0, "symlink: %s", strerror(errno));
    CHECK(gaze_output_write_file(at("link.bin"), "new", 3) == GAZE_OK, "%s", gaze_last_error());
    struct stat st;
    CHECK(lstat(at("link.bin"), &st) == 0 && S_ISLNK(st.st_mode), "the symlink was replaced by a file");
    CHECK(file_is(at("real/target.bin"), "new"), "the link's target was not written");
    CHECK(count_with(g_dir, ".tmp-") == 0 && count_with(at("real"), ".tmp-") == 0, "temporary left");
    // a dangling link (chain of two) creates its target
    CHECK(symlink("link2.bin", at("link1.bin")) == 0 && symlink("real/fresh.bin", at("link2.bin")) == 0, "symlink");
    CHECK(gaze_output_check(at("link1.bin")) == GAZE_OK, "check through a dangling link: %s", gaze_last_error());
    CHECK(gaze_output_write_file(at("link1.bin"), "fresh", 5) == GAZE_OK, "%s", gaze_last_error());
    CHECK(file_is(at("real/fresh.bin"), "fresh"), "the dangling link's target was not created");
    CHECK(lstat(at("link1.bin"), &st) == 0 && S_ISLNK(st.st_mode), "link1 replaced");
    unlink(at("link.bin")); unlink(at("link1.bin")); unlink(at("link2.bin"));
    unlink(at("real/target.bin")); unlink(at("real/fresh.bin")); rmdir(at("real"));
}

static void test_mode_owner(void) {
    const char * p = at("secret.bin");
    put(p, "old");
    chmod(p, 0600);
    const bool root = geteuid() == 0;
    if (root) CHECK(chown(p, 1234, 5678) == 0, "chown: %s", strerror(errno));
    // through a real writer: a safetensors file
    struct gaze_st_writer * w;
    float v[2] = { 1, 2 };
    int64_t shape[1] = { 2 };
    CHECK(gaze_st_writer_init(&w, p) == GAZE_OK, "%s", gaze_last_error());
    CHECK(gaze_st_writer_add_f32(w, "v", GAZE_DTYPE_F32, 1, shape, v) == GAZE_OK, "%s", gaze_last_error());
    CHECK(gaze_st_writer_finish(w) == GAZE_OK, "%s", gaze_last_error());
    gaze_st_writer_free(w);
    struct stat st;
    CHECK(stat(p, &st) == 0 && st.st_size > 3, "not rewritten");
    CHECK((st.st_mode & 07777) == 0600, "mode %o, want 600", st.st_mode & 07777);
    if (root) CHECK(st.st_uid == 1234 && st.st_gid == 5678, "owner %u:%u, want 1234:5678", st.st_uid, st.st_gid);
    else printf("test_output: owner kept not tested (not root)\n");
    // a new file gets the usual 0666 & ~umask
    const mode_t um = umask(022);
    CHECK(gaze_output_write_file(at("new.bin"), "x", 1) == GAZE_OK, "%s", gaze_last_error());
    CHECK(stat(at("new.bin"), &st) == 0 && (st.st_mode & 07777) == 0644, "new file mode %o", st.st_mode & 07777);
    umask(um);
    unlink(p);
    unlink(at("new.bin"));
}

// Choice: a file with other hard links is rewritten in place, so every name keeps seeing it.
static void test_hard_link(void) {
    put(at("a.bin"), "old");
    CHECK(link(at("a.bin"), at("b.bin")) == 0, "link: %s", strerror(errno));
    struct stat before, after;
    stat(at("a.bin"), &before);
    CHECK(gaze_output_write_file(at("a.bin"), "newer", 5) == GAZE_OK, "%s", gaze_last_error());
    stat(at("a.bin"), &after);
    CHECK(file_is(at("b.bin"), "newer"), "the other hard link does not see the new content");
    CHECK(before.st_ino == after.st_ino && after.st_nlink == 2, "the hard link was broken");
    CHECK(count_with(g_dir, ".tmp-") == 0, "temporary left");
    unlink(at("a.bin"));
    unlink(at("b.bin"));
}

static void test_errors(void) {
    // abort: the temporary goes, the old file stays
    put(at("keep.bin"), "old");
    struct gaze_output * o;
    CHECK(gaze_output_open(&o, at("keep.bin")) == GAZE_OK, "%s", gaze_last_error());
    CHECK(count_with(g_dir, "keep.bin.tmp-") == 1, "no temporary while writing");
    gaze_output_write(o, "partial", 7);
    gaze_output_abort(o);
    CHECK(count_with(g_dir, ".tmp-") == 0, "temporary left after abort");
    CHECK(file_is(at("keep.bin"), "old"), "the old file was touched");

    // a write that fails (file size limit: EFBIG) in a child: temporary removed, message with
    // the user's path and the system's reason, never the temporary's name
    int pfd[2];
    CHECK(pipe(pfd) == 0, "pipe");
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = { 1000, 1000 };
        setrlimit(RLIMIT_FSIZE, &rl);
        static char big[5000];
        enum gaze_status s = gaze_output_write_file(at("keep.bin"), big, sizeof big);
        const char * m = gaze_last_error();
        (void)!write(pfd[1], m, strlen(m));
        _exit(s == GAZE_ERR_IO ? 0 : 1);
    }
    close(pfd[1]);
    char msg[512] = { 0 };
    (void)!read(pfd[0], msg, sizeof msg - 1);
    close(pfd[0]);
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the failed write did not report GAZE_ERR_IO");
    CHECK(strstr(msg, "keep.bin") && strstr(msg, strerror(EFBIG)) && !strstr(msg, ".tmp-"), "message: %s", msg);
    CHECK(count_with(g_dir, ".tmp-") == 0, "temporary left after a failed write");
    CHECK(file_is(at("keep.bin"), "old"), "the old file was damaged by a failed write");
    unlink(at("keep.bin"));

    // the check, before any work
    enum gaze_status s = gaze_output_check(at("no/such/dir/x.html"));
    CHECK(s == GAZE_ERR_IO && strstr(gaze_last_error(), "cannot create") &&
          strstr(gaze_last_error(), strerror(ENOENT)), "missing folder: %s", gaze_last_error());
    s = gaze_output_check(g_dir);
    CHECK(s == GAZE_ERR_IO && strstr(gaze_last_error(), strerror(EISDIR)), "directory: %s", gaze_last_error());
    put(at("plain"), "x");
    s = gaze_output_check(at("plain/x.png"));
    CHECK(s == GAZE_ERR_IO && strstr(gaze_last_error(), strerror(ENOTDIR)), "file as folder: %s", gaze_last_error());
    unlink(at("plain"));
    CHECK(gaze_output_check(at("ok.bin")) == GAZE_OK, "%s", gaze_last_error());
    CHECK(count_with(g_dir, "ok.bin") == 0, "the check left a file behind");
    CHECK(gaze_output_write_file(at("no/such/x.html"), "x", 1) == GAZE_ERR_IO &&
          !strncmp(gaze_last_error(), "cannot create ", 14), "write into a missing folder: %s", gaze_last_error());
    if (geteuid() != 0) {   // root may write anywhere
        mkdir(at("ro"), 0555);
        CHECK(gaze_output_check(at("ro/x.bin")) == GAZE_ERR_IO && strstr(gaze_last_error(), strerror(EACCES)),
              "read-only folder: %s", gaze_last_error());
        rmdir(at("ro"));
    }
}

static pid_t dead_pid(void) {
    pid_t pid = fork();
    if (pid == 0) _exit(0);
    waitpid(pid, NULL, 0);
    return pid;
}

static void test_stale(void) {
    const pid_t dead = dead_pid();
    char name[128];
    snprintf(name, sizeof name, "out.bin.tmp-%d-3", (int)dead);
    put(at(name), "stale");
    char alive[128], other[128], odd[128];
    snprintf(alive, sizeof alive, "out.bin.tmp-%d-0", (int)getpid());   // a live process's
    snprintf(other, sizeof other, "other.bin.tmp-%d-1", (int)dead);     // another file's
    snprintf(odd, sizeof odd, "out.bin.tmp-%d-1x", (int)dead);          // not the pattern
    put(at(alive), "x"); put(at(other), "x"); put(at(odd), "x");
    CHECK(gaze_output_write_file(at("out.bin"), "data", 4) == GAZE_OK, "%s", gaze_last_error());
    CHECK(access(at(name), F_OK) != 0, "the dead process's temporary %s was not removed", name);
    CHECK(access(at(alive), F_OK) == 0 && access(at(other), F_OK) == 0 && access(at(odd), F_OK) == 0,
          "a temporary that is not stale was removed");
    unlink(at(alive)); unlink(at(other)); unlink(at(odd)); unlink(at("out.bin"));
}

static void on_term(int sig) {
    gaze_output_remove_temps();
    _exit(128 + sig);
}

static void test_signal(void) {
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGTERM, on_term);
        struct gaze_output * o[3];
        for (int i = 0; i < 3; i++) {
            char n[32];
            snprintf(n, sizeof n, "sig%d.bin", i);
            if (gaze_output_open(&o[i], at(n))) _exit(1);
            gaze_output_write(o[i], "partial", 7);
        }
        if (count_with(g_dir, ".tmp-") != 3) _exit(2);
        raise(SIGTERM);
        _exit(3);
    }
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGTERM, "child status %d", status);
    CHECK(count_with(g_dir, ".tmp-") == 0, "temporaries left after SIGTERM");
    CHECK(count_with(g_dir, "sig") == 0, "a target was created by an interrupted write");
}

static void test_stdout(void) {
    int out[2], err[2];
    CHECK(pipe(out) == 0 && pipe(err) == 0, "pipe");
    pid_t pid = fork();
    if (pid == 0) {
        dup2(out[1], 1); dup2(err[1], 2);
        close(out[0]); close(err[0]); close(out[1]); close(err[1]);
        if (gaze_output_claim_stdout()) _exit(1);
        printf("a message\n");
        fflush(stdout);
        if (gaze_output_write_file("-", "DATA", 4)) _exit(2);
        if (gaze_output_write_file("/dev/stdout", "MORE", 4)) _exit(3);
        _exit(0);
    }
    close(out[1]); close(err[1]);
    char o[64] = { 0 }, e[64] = { 0 };
    size_t no = 0, ne = 0;
    for (ssize_t k; (k = read(out[0], o + no, sizeof o - 1 - no)) > 0;) no += (size_t)k;
    for (ssize_t k; (k = read(err[0], e + ne, sizeof e - 1 - ne)) > 0;) ne += (size_t)k;
    close(out[0]); close(err[0]);
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
    CHECK(!strcmp(o, "DATAMORE"), "stdout: '%s', want only the data", o);
    CHECK(!strcmp(e, "a message\n"), "stderr: '%s', want the message", e);
    CHECK(gaze_output_is_stdout("-") && gaze_output_is_stdout("/dev/stdout") && !gaze_output_is_stdout("x"), "is_stdout");
}

int main(void) {
    const char * base = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/gaze_test_output.XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(g_dir)) { perror("mkdtemp"); return 1; }
    test_device_node();
    test_fifo();
    test_symlink();
    test_mode_owner();
    test_hard_link();
    test_errors();
    test_stale();
    test_signal();
    test_stdout();
    CHECK(rmdir(g_dir) == 0, "files left in %s: %s", g_dir, strerror(errno));
    return check_summary("test_output");
}

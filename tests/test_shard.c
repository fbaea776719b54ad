// Byte-range shards of a text file (analysis/shard.c): for many shard counts and files with odd
// line lengths, empty lines, CRLF, a missing final newline, a single long line and an empty
// file, the shards' lines put together are the file's lines, each exactly once and in order; a
// shard reads only its range plus the rest of its last line; resuming at a recorded offset
// continues where it stopped; the fingerprint tells files apart.
#include "check.h"
#include "gaze.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// The file's lines as gaze corpus sees them when reading it whole: split at '\n', a last line
// without '\n' counts, nothing after a final '\n'.
static int split_lines(const char * text, size_t n, char *** out, int64_t ** offs) {
    int cap = 16, k = 0;
    char ** v = malloc((size_t)cap * sizeof *v);
    int64_t * o = malloc((size_t)cap * sizeof *o);
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && text[j] != '\n') j++;
        if (k == cap) {
            cap *= 2;
            v = realloc(v, (size_t)cap * sizeof *v);
            o = realloc(o, (size_t)cap * sizeof *o);
        }
        v[k] = malloc(j - i + 1);
        memcpy(v[k], text + i, j - i);
        v[k][j - i] = '\0';
        o[k++] = (int64_t)i;
        i = j + 1;
    }
    *out = v;
    *offs = o;
    return k;
}

static const char * tmp_path(void) {
    static char path[64];
    snprintf(path, sizeof path, "/tmp/gaze_test_shard_%d.txt", (int)getpid());
    return path;
}

static void write_file(const char * path, const char * text, size_t n) {
    FILE * f = fopen(path, "wb");
    fwrite(text, 1, n, f);
    fclose(f);
}

// Every n in 1..max_n: the shards' lines in order equal the file's lines; the ranges tile the file.
static void check_file(const char * label, const char * text, size_t n, int min_n, int max_n) {
    const char * path = tmp_path();
    write_file(path, text, n);
    char ** want;
    int64_t * offs;
    const int n_lines = split_lines(text, n, &want, &offs);
    size_t longest = 0;
    for (int i = 0; i < n_lines; i++) if (strlen(want[i]) > longest) longest = strlen(want[i]);
    for (int64_t ns = min_n; ns <= max_n; ns++) {
        int got = 0;
        bool ok = true;
        int64_t prev_end = 0;
        for (int64_t i = 0; i < ns; i++) {
            struct gaze_text_shard * s = NULL;
            if (gaze_text_shard_open(&s, path, i, ns, -1) != GAZE_OK) { CHECK(false, "%s: open %lld/%lld: %s", label, (long long)i, (long long)ns, gaze_last_error()); return; }
            int64_t b, e, size;
            gaze_text_shard_range(s, &b, &e, &size, NULL, NULL);
            ok &= b == prev_end && e >= b && size == (int64_t)n;
            prev_end = e;
            const char * line;
            size_t len;
            int64_t at;
            bool tl;
            while (gaze_text_shard_next(s, 1 << 20, &line, &len, &at, &tl) == GAZE_OK && line) {
                ok &= got < n_lines && at >= b && at < e;
                if (got < n_lines) ok &= len == strlen(want[got]) && !memcmp(line, want[got], len) && at == offs[got];
                got++;
            }
            int64_t consumed;
            gaze_text_shard_range(s, NULL, NULL, NULL, NULL, &consumed);
            // its own bytes, the byte before them, and the rest of a line that crosses the end
            ok &= consumed <= (e - b) + 1 + (int64_t)longest + 1;
            gaze_text_shard_free(s);
        }
        CHECK(ok && got == n_lines && prev_end == (int64_t)n, "%s, %lld shards: %d of %d lines, each once, in order", label,
              (long long)ns, got, n_lines);
    }
    for (int i = 0; i < n_lines; i++) free(want[i]);
    free(want);
    free(offs);
    remove(path);
}

static void test_tiling(void) {
    check_file("plain", "one\ntwo\nthree\n", strlen("one\ntwo\nthree\n"), 1, 20);
    check_file("no final newline", "alpha\nbe\ngamma delta", strlen("alpha\nbe\ngamma delta"), 1, 25);
    check_file("empty lines", "\n\n a\n\n\nbb\n\n", strlen("\n\n a\n\n\nbb\n\n"), 1, 15);
    check_file("crlf", "a b\r\ncc\r\n\r\nddd\r\ne", strlen("a b\r\ncc\r\n\r\nddd\r\ne"), 1, 20);
    check_file("one long line", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n", strlen("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"), 1, 60);
    check_file("empty file", "", strlen(""), 1, 5);
    check_file("only newlines", "\n\n\n", strlen("\n\n\n"), 1, 8);
    // random line lengths (0..90 bytes, some CRLF), a few hundred lines
    char * big = malloc(40000);
    size_t n = 0;
    unsigned r = 12345;
    for (int i = 0; i < 400; i++) {
        r = r * 1103515245u + 12345u;
        const int len = (int)((r >> 16) % 91);
        for (int j = 0; j < len; j++) big[n++] = (char)('a' + (j + i) % 26);
        if ((r >> 8) % 7 == 0) big[n++] = '\r';
        big[n++] = '\n';
    }
    big[n++] = 'z';   // and no final newline
    check_file("random", big, n, 1, 64);
    check_file("random, 1000 shards", big, n, 1000, 1000);
    // more shards than bytes: most are empty, the union is still every line
    check_file("tiny, many shards", "a\nb\n", strlen("a\nb\n"), 1, 40);
    free(big);
}

// A shard stops after some lines and resumes at the recorded offset: same lines as in one go.
static void test_resume(void) {
    const char * text = "l0\nline one\n\nl3 x\nl4\r\nl5 yy\nl6\nl7 zzz\nl8";
    const char * path = tmp_path();
    write_file(path, text, strlen(text));
    for (int64_t ns = 1; ns <= 4; ns++)
        for (int64_t i = 0; i < ns; i++) {
            char all[256] = "", two[256] = "";
            struct gaze_text_shard * s = NULL;
            const char * line;
            size_t len;
            CHECK(gaze_text_shard_open(&s, path, i, ns, -1) == GAZE_OK, "open");
            while (gaze_text_shard_next(s, 1024, &line, &len, NULL, NULL) == GAZE_OK && line) { strcat(all, line); strcat(all, "|"); }
            gaze_text_shard_free(s);
            // read one line, note the offset, reopen there
            int64_t next;
            CHECK(gaze_text_shard_open(&s, path, i, ns, -1) == GAZE_OK, "open");
            if (gaze_text_shard_next(s, 1024, &line, &len, NULL, NULL) == GAZE_OK && line) { strcat(two, line); strcat(two, "|"); }
            gaze_text_shard_range(s, NULL, NULL, NULL, &next, NULL);
            gaze_text_shard_free(s);
            CHECK(gaze_text_shard_open(&s, path, i, ns, next) == GAZE_OK, "reopen at %lld: %s", (long long)next, gaze_last_error());
            while (s && gaze_text_shard_next(s, 1024, &line, &len, NULL, NULL) == GAZE_OK && line) { strcat(two, line); strcat(two, "|"); }
            gaze_text_shard_free(s);
            CHECK(!strcmp(all, two), "shard %lld/%lld resumed: '%s' vs '%s'", (long long)i, (long long)ns, two, all);
        }
    struct gaze_text_shard * s = NULL;
    CHECK(gaze_text_shard_open(&s, path, 0, 1, 4) == GAZE_ERR_FORMAT, "offset 4 is inside a line: refused");
    CHECK(gaze_text_shard_open(&s, path, 2, 2, -1) == GAZE_ERR_INVALID_ARG, "shard 2/2 refused");
    CHECK(gaze_text_shard_open(&s, "/nonexistent/x.txt", 0, 1, -1) == GAZE_ERR_IO, "missing file: GAZE_ERR_IO");
    CHECK(s == NULL, "nothing returned on error");
    remove(path);
}

// A pipe is one shard read from its start; more shards are refused.
static void test_stream(void) {
    int fd[2];
    CHECK(pipe(fd) == 0, "pipe");
    CHECK(write(fd[1], "a\nb", 3) == 3, "write");
    close(fd[1]);
    FILE * f = fdopen(fd[0], "rb");
    struct gaze_text_shard * s = NULL;
    CHECK(gaze_text_shard_open_stream(&s, f, "pipe", 1, 2, -1) == GAZE_ERR_INVALID_ARG, "pipe with 2 shards refused");
    CHECK(gaze_text_shard_open_stream(&s, f, "pipe", 0, 1, -1) == GAZE_OK, "pipe as one shard");
    const char * line;
    size_t len;
    int n = 0;
    while (gaze_text_shard_next(s, 16, &line, &len, NULL, NULL) == GAZE_OK && line) n++;
    CHECK(n == 2, "2 lines from the pipe, got %d", n);
    int64_t b, e;
    gaze_text_shard_range(s, &b, &e, NULL, NULL, NULL);
    CHECK(b == -1 && e == -1, "a stream has no byte range");
    gaze_text_shard_free(s);
    fclose(f);
}

static void test_fingerprint(void) {
    const char * path = tmp_path();
    int64_t n1, n2, n3;
    uint64_t h1, h2, h3;
    write_file(path, "hello\nworld\n", 12);
    CHECK(gaze_file_fingerprint(path, &n1, &h1) == GAZE_OK && n1 == 12, "fingerprint");
    write_file(path, "hello\nWorld\n", 12);
    CHECK(gaze_file_fingerprint(path, &n2, &h2) == GAZE_OK && n2 == 12 && h2 != h1, "same size, other bytes: other hash");
    write_file(path, "hello\nworld\n", 12);
    CHECK(gaze_file_fingerprint(path, &n3, &h3) == GAZE_OK && h3 == h1, "same bytes: same hash");
    remove(path);
}

int main(void) {
    test_tiling();
    test_resume();
    test_stream();
    test_fingerprint();
    return check_summary("test_shard");
}

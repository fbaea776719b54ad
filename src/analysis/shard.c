// Line-aligned byte-range shards of a text file (gaze corpus --shard i/n): shard i of n holds
// the lines whose first byte lies in [i·size/n, (i+1)·size/n). A shard seeks to its start and
// reads only its own bytes plus the tail of its last line, so n jobs read the file once in all,
// not n times; every line belongs to exactly one shard. Also the file's identity (size and a
// hash of its ends) that shard files carry so that gaze merge can tell inputs apart.
#define _FILE_OFFSET_BITS 64
#include "analysis/analysis.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define FINGERPRINT_END ((int64_t)64 << 10)   // bytes hashed at each end of the file

struct gaze_text_shard {
    FILE *  f;
    bool    owned;     // opened here (closed by free)
    int64_t begin, end, size;   // byte range of the shard; file size (-1: a stream)
    int64_t pos;       // offset of the next byte getc returns
    int64_t consumed;  // bytes read through this reader (tests check a shard reads little)
    char *  buf;       // the current line, NUL-terminated
    size_t  cap;
};

// floor(i · size / n) without overflowing 64 bits: size = q·n + r.
static int64_t cut(int64_t size, int64_t i, int64_t n) {
    const int64_t q = size / n, r = size % n;
    return i * q + (i * r) / n;
}

static int next_byte(struct gaze_text_shard * s) {
    const int c = getc(s->f);
    if (c != EOF) { s->pos++; s->consumed++; }
    return c;
}

void gaze_text_shard_free(struct gaze_text_shard * s) {
    if (!s) return;
    if (s->owned && s->f) fclose(s->f);
    free(s->buf);
    free(s);
}

static enum gaze_status open_stream(struct gaze_text_shard ** out, FILE * f, bool owned, const char * name,
                                    int64_t index, int64_t n_shards, int64_t from) {
    *out = NULL;
    if (n_shards < 1 || index < 0 || index >= n_shards) {
        if (owned) fclose(f);
        return gaze_error(GAZE_ERR_INVALID_ARG, "%s: shard %lld/%lld: not 0 <= i < n", name, (long long)index, (long long)n_shards);
    }
    struct gaze_text_shard * s = calloc(1, sizeof *s);
    if (!s) {
        if (owned) fclose(f);
        return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", name);
    }
    s->f = f;
    s->owned = owned;
    struct stat sb;
    const bool seekable = fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode);
    enum gaze_status st = GAZE_OK;
    if (!seekable) {
        // a pipe or terminal: one pass from the start, so only the whole input as one shard
        if (n_shards > 1 || from > 0)
            st = gaze_error(GAZE_ERR_INVALID_ARG, "%s: not a regular file: cannot be split into shards or resumed", name);
        s->size = -1;
        s->end = INT64_MAX;
    } else {
        s->size = (int64_t)sb.st_size;
        s->begin = cut(s->size, index, n_shards);
        s->end = index + 1 == n_shards ? s->size : cut(s->size, index + 1, n_shards);
        if (from >= 0 && (from < s->begin || from > s->size))
            st = gaze_error(GAZE_ERR_INVALID_ARG, "%s: resume offset %lld outside the shard's bytes %lld..%lld", name,
                            (long long)from, (long long)s->begin, (long long)s->size);
        // a line starts at `from` when the byte before it is a newline; else at the byte after
        // the next newline. Seeking one byte early covers a line that starts exactly there.
        const int64_t start = from >= 0 ? from : s->begin;
        if (!st && start > 0 && fseeko(f, (off_t)(start - 1), SEEK_SET) != 0)
            st = gaze_error(GAZE_ERR_IO, "%s: seek to byte %lld: %s", name, (long long)(start - 1), strerror(errno));
        if (!st && start > 0) {
            s->pos = start - 1;
            int c;
            while ((c = next_byte(s)) != EOF && c != '\n') {}
            if (from >= 0 && s->pos != from)
                st = gaze_error(GAZE_ERR_FORMAT, "%s: resume offset %lld is not the start of a line (the file changed?)", name,
                                (long long)from);
        }
        if (!st && ferror(f)) st = gaze_error(GAZE_ERR_IO, "%s: read error: %s", name, strerror(errno));
    }
    if (!st && !(s->buf = malloc(s->cap = 4096))) st = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", name);
    if (st) { gaze_text_shard_free(s); return st; }
    *out = s;
    return GAZE_OK;
}

enum gaze_status gaze_text_shard_open(struct gaze_text_shard ** out, const char * path, int64_t index,
                                      int64_t n_shards, int64_t from) {
    if (!out || !path) return gaze_error(GAZE_ERR_INVALID_ARG, "shard: NULL argument");
    *out = NULL;
    FILE * f = fopen(path, "rb");
    if (!f) return gaze_error(GAZE_ERR_IO, "%s: %s", path, strerror(errno));
    return open_stream(out, f, true, path, index, n_shards, from);
}

enum gaze_status gaze_text_shard_open_stream(struct gaze_text_shard ** out, FILE * f, const char * name,
                                             int64_t index, int64_t n_shards, int64_t from) {
    if (!out || !f) return gaze_error(GAZE_ERR_INVALID_ARG, "shard: NULL argument");
    return open_stream(out, f, false, name ? name : "input", index, n_shards, from);
}

enum gaze_status gaze_text_shard_next(struct gaze_text_shard * s, size_t max_line, const char ** line,
                                      size_t * len, int64_t * offset, bool * too_long) {
    if (!s || !line || !len) return gaze_error(GAZE_ERR_INVALID_ARG, "shard: NULL argument");
    *line = NULL;
    *len = 0;
    bool tl = false;
    if (too_long) *too_long = false;
    if (s->pos >= s->end) return GAZE_OK;   // the next line starts in the next shard
    const int64_t start = s->pos;
    size_t n = 0;
    bool any = false;
    int c;
    while ((c = next_byte(s)) != EOF) {
        any = true;
        if (c == '\n') break;
        if (tl) continue;
        if (n >= max_line) { tl = true; continue; }
        if (n + 1 >= s->cap) {
            char * g = realloc(s->buf, 2 * s->cap);
            if (!g) { tl = true; continue; }   // kept bounded: reported as too long
            s->buf = g;
            s->cap *= 2;
        }
        s->buf[n++] = (char)c;
    }
    if (ferror(s->f)) return gaze_error(GAZE_ERR_IO, "shard: read error at byte %lld: %s", (long long)s->pos, strerror(errno));
    if (!any) { s->end = s->pos; return GAZE_OK; }   // end of file
    if (tl) n = 0;
    s->buf[n] = '\0';
    *line = s->buf;
    *len = n;
    if (offset) *offset = start;
    if (too_long) *too_long = tl;
    return GAZE_OK;
}

void gaze_text_shard_range(const struct gaze_text_shard * s, int64_t * begin, int64_t * end, int64_t * size,
                           int64_t * next, int64_t * consumed) {
    if (!s) return;
    if (begin) *begin = s->size < 0 ? -1 : s->begin;
    if (end) *end = s->size < 0 ? -1 : s->end;
    if (size) *size = s->size;
    if (next) *next = s->pos;
    if (consumed) *consumed = s->consumed;
}

// FNV-1a, 64 bits: not cryptographic, enough to tell two corpus files apart.
static uint64_t fnv(uint64_t h, const unsigned char * p, size_t n) {
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

enum gaze_status gaze_file_fingerprint(const char * path, int64_t * size, uint64_t * hash) {
    if (!path || !size || !hash) return gaze_error(GAZE_ERR_INVALID_ARG, "fingerprint: NULL argument");
    FILE * f = fopen(path, "rb");
    if (!f) return gaze_error(GAZE_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return gaze_error(GAZE_ERR_INVALID_ARG, "%s: not a regular file", path);
    }
    const int64_t n = (int64_t)sb.st_size;
    uint64_t h = 0xcbf29ce484222325ULL;
    unsigned char buf[1 << 14];
    enum gaze_status st = GAZE_OK;
    // first FINGERPRINT_END bytes, then the last FINGERPRINT_END (overlapping for small files)
    for (int part = 0; part < 2 && !st; part++) {
        const int64_t from = part == 0 ? 0 : (n > FINGERPRINT_END ? n - FINGERPRINT_END : 0);
        int64_t left = n < FINGERPRINT_END ? n : FINGERPRINT_END;
        if (fseeko(f, (off_t)from, SEEK_SET) != 0) { st = gaze_error(GAZE_ERR_IO, "%s: seek: %s", path, strerror(errno)); break; }
        while (left > 0) {
            const size_t k = fread(buf, 1, (size_t)(left < (int64_t)sizeof buf ? left : (int64_t)sizeof buf), f);
            if (k == 0) { st = gaze_error(GAZE_ERR_IO, "%s: short read (the file changed?)", path); break; }
            h = fnv(h, buf, k);
            left -= (int64_t)k;
        }
    }
    fclose(f);
    const uint64_t sz = (uint64_t)n;
    h = fnv(h, (const unsigned char *)&sz, sizeof sz);
    *size = n;
    *hash = h;
    return st;
}

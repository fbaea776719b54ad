// Small argument helpers shared by the subcommands: strict numbers (every numeric flag goes
// through cli_int / cli_u64 / cli_double, so "2x", "abc", "1,2" and out-of-range values are
// refused the same way everywhere), index lists, run-file recognition, text from a file.
#include "cli.h"
#include "text/utf8.h"
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

// strtoll / strtod skip leading white space and stop at the first bad character; a flag's value
// must be the number and nothing else, so the start and the end are checked here.
static bool starts_number(const char * s) {
    return s && *s && !(*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f' || *s == '\v');
}

static void range_text(char * buf, size_t n, int64_t lo, int64_t hi) {
    if (hi == INT64_MAX) snprintf(buf, n, ">= %lld", (long long)lo);
    else snprintf(buf, n, "in %lld..%lld", (long long)lo, (long long)hi);
}

int cli_int(const char * cmd, const char * flag, const char * s, int64_t lo, int64_t hi, int64_t * out) {
    char range[64];
    range_text(range, sizeof range, lo, hi);
    if (!s) { fprintf(stderr, "gaze %s: %s needs a value (an integer %s)\n", cmd, flag, range); return 2; }
    char * end;
    errno = 0;
    long long v = starts_number(s) ? strtoll(s, &end, 10) : 0;
    if (!starts_number(s) || end == s || *end || errno == ERANGE || v < lo || v > hi) {
        fprintf(stderr, "gaze %s: %s: '%s' is not an integer %s\n", cmd, flag, cli_safe(s), range);
        return 2;
    }
    *out = v;
    return 0;
}

int cli_int32(const char * cmd, const char * flag, const char * s, int lo, int hi, int * out) {
    int64_t v;
    int rc = cli_int(cmd, flag, s, lo, hi, &v);
    if (!rc) *out = (int)v;
    return rc;
}

int cli_u64(const char * cmd, const char * flag, const char * s, uint64_t * out) {
    if (!s) { fprintf(stderr, "gaze %s: %s needs a value (an integer >= 0)\n", cmd, flag); return 2; }
    char * end;
    errno = 0;
    unsigned long long v = starts_number(s) && s[0] != '-' ? strtoull(s, &end, 10) : 0;
    if (!starts_number(s) || s[0] == '-' || end == s || *end || errno == ERANGE) {
        fprintf(stderr, "gaze %s: %s: '%s' is not an integer in 0..%llu\n", cmd, flag, cli_safe(s),
                (unsigned long long)UINT64_MAX);
        return 2;
    }
    *out = v;
    return 0;
}

int cli_double(const char * cmd, const char * flag, const char * s, double lo, double hi, unsigned open,
               double * out) {
    char range[96];
    const bool lo_open = open & CLI_OPEN_LO, hi_open = open & CLI_OPEN_HI;
    if (isinf(hi)) snprintf(range, sizeof range, "%s %g", lo_open ? ">" : ">=", lo);
    else snprintf(range, sizeof range, "in %c%g, %g%c", lo_open ? '(' : '[', lo, hi, hi_open ? ')' : ']');
    if (!s) { fprintf(stderr, "gaze %s: %s needs a value (a number %s)\n", cmd, flag, range); return 2; }
    char * end;
    errno = 0;
    double v = starts_number(s) ? strtod(s, &end) : 0;
    if (!starts_number(s) || end == s || *end || errno == ERANGE || !isfinite(v) || v < lo || v > hi ||
        (lo_open && v == lo) || (hi_open && v == hi)) {
        fprintf(stderr, "gaze %s: %s: '%s' is not a number %s\n", cmd, flag, cli_safe(s), range);
        return 2;
    }
    *out = v;
    return 0;
}

int cli_float(const char * cmd, const char * flag, const char * s, double lo, double hi, unsigned open, float * out) {
    double v;
    int rc = cli_double(cmd, flag, s, lo, hi, open, &v);
    if (!rc && !isfinite((float)v)) {
        fprintf(stderr, "gaze %s: %s: '%s' is too large (the largest is %g)\n", cmd, flag, cli_safe(s), (double)FLT_MAX);
        return 2;
    }
    if (!rc) *out = (float)v;
    return rc;
}

// 1: a run file, 0: a safetensors file without gaze metadata, -1: not a readable safetensors
// file (the library's reason in gaze_last_error()).
static int run_file_kind(const char * path) {
    struct gaze_safetensors * st;
    if (gaze_safetensors_open(&st, path) != GAZE_OK) return -1;
    const int run = gaze_safetensors_metadata(st, "gaze.format_version") != NULL;
    gaze_safetensors_free(st);
    return run;
}

bool cli_is_run_file(const char * path) {
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) return false;
    const int k = run_file_kind(path);
    gaze_clear_error();
    return k == 1;
}

int cli_need_run_file(const char * cmd, const char * path) {
    struct stat sb;
    const bool exists = stat(path, &sb) == 0;
    const int e = errno;
    if (!exists && !gaze_model_find(path)) {
        fprintf(stderr, "gaze %s: %s: %s\n", cmd, cli_safe(path), e == ENOENT ? "no such file" : strerror(e));
        return 2;
    }
    char magic[4] = { 0 };
    FILE * f = exists && S_ISREG(sb.st_mode) ? fopen(path, "rb") : NULL;
    if (f) {
        if (fread(magic, 1, 4, f) != 4) memset(magic, 0, 4);
        fclose(f);
    }
    if (!exists || S_ISDIR(sb.st_mode) || !memcmp(magic, "GGUF", 4)) {
        fprintf(stderr, "gaze %s: %s is a model, not a run file: give MODEL \"text\" (or MODEL -f FILE)\n", cmd, cli_safe(path));
        return 2;
    }
    const int k = run_file_kind(path);
    if (k == 1) return 0;
    if (k == 0)
        fprintf(stderr, "gaze %s: %s is a safetensors file without gaze metadata (model weights?), not a run file; "
                "make one with gaze run MODEL \"text\" -o FILE\n", cmd, cli_safe(path));
    else
        fprintf(stderr, "gaze %s: not a gaze run file: %s\n", cmd, gaze_last_error());
    gaze_clear_error();
    return k == 0 ? 2 : 1;   // a model where a run goes is a usage error; a damaged file is not
}

int cli_read_text(const char * cmd, const char * path, char ** out) {
    *out = NULL;
    const bool std_in = !strcmp(path, "-");
    FILE * f = std_in ? stdin : fopen(path, "rb");
    if (!f) { fprintf(stderr, "gaze %s: -f %s: cannot open: %s\n", cmd, cli_safe(path), strerror(errno)); return 2; }
    size_t cap = 1 << 16, n = 0;
    char * buf = malloc(cap);
    int rc = buf ? 0 : 1;
    while (!rc) {
        if (n + 1 >= cap) {   // grow; the last byte is kept for the NUL
            char * g = realloc(buf, cap * 2);
            if (!g) { rc = 1; break; }
            buf = g;
            cap *= 2;
        }
        size_t k = fread(buf + n, 1, cap - 1 - n, f);
        n += k;
        if (n > CLI_MAX_TEXT_BYTES) {
            fprintf(stderr, "gaze %s: -f %s: the text is over the limit of %d MiB\n", cmd, cli_safe(path), CLI_MAX_TEXT_BYTES >> 20);
            rc = 2;
        } else if (k == 0) break;
    }
    if (rc == 1) fprintf(stderr, "gaze %s: -f %s: out of memory\n", cmd, cli_safe(path));
    else if (!rc && ferror(f)) { fprintf(stderr, "gaze %s: -f %s: read error: %s\n", cmd, cli_safe(path), strerror(errno)); rc = 1; }
    if (!std_in) fclose(f);
    if (rc) { free(buf); return rc; }
    buf[n] = '\0';
    // One trailing newline ends the file, it is not part of the text (as `$(cat file)` would drop it).
    if (n && buf[n - 1] == '\n') buf[--n] = '\0';
    if (n && buf[n - 1] == '\r') buf[--n] = '\0';
    if (memchr(buf, '\0', n)) {
        fprintf(stderr, "gaze %s: -f %s: the text contains a NUL byte at offset %zu (binary file?)\n", cmd, cli_safe(path),
                (size_t)((char *)memchr(buf, '\0', n) - buf));
        free(buf);
        return 2;
    }
    const size_t bad = gaze_utf8_first_invalid(buf, n);
    if (bad < n) {
        fprintf(stderr, "gaze %s: -f %s: not UTF-8 text: invalid byte 0x%02x at offset %zu\n", cmd, cli_safe(path),
                (unsigned)(unsigned char)buf[bad], bad);
        free(buf);
        return 2;
    }
    if (!n) { fprintf(stderr, "gaze %s: -f %s: the text is empty\n", cmd, cli_safe(path)); free(buf); return 2; }
    *out = buf;
    return 0;
}

int cli_text_source(const char * cmd, const char * file, const char ** text, char ** owned) {
    *owned = NULL;
    if (!file) return 0;
    if (*text) {
        fprintf(stderr, "gaze %s: give the text either as an argument or with -f FILE, not both\n", cmd);
        return 2;
    }
    int rc = cli_read_text(cmd, file, owned);
    if (!rc) *text = *owned;
    return rc;
}

int cli_fail_cmd(const char * cmd, int rc) {
    const char * m = gaze_last_error();
    const size_t n = strlen(cmd);
    if (!strncmp(m, "gaze ", 5) && !strncmp(m + 5, cmd, n) && m[5 + n] == ':' && m[6 + n] == ' ') m += 5;
    if (!strncmp(m, cmd, n) && m[n] == ':' && m[n + 1] == ' ') m += n + 2;   // "plot: ..." under gaze plot
    fprintf(stderr, "gaze %s: %s\n", cmd, m);
    return rc;
}

// "0,2-4,7" -> [0, 2, 3, 4, 7] (sorted, deduplicated), every value in [0, limit).
int cli_parse_index_list(const char * flag, const char * s, int64_t limit, int64_t ** out, int64_t * n) {
    *out = NULL;
    *n = 0;
    if (!s || !*s) { fprintf(stderr, "gaze: %s needs a list like 0,2-4\n", flag); return 2; }
    uint8_t * seen = calloc((size_t)limit, 1);
    if (!seen) return 1;
    const char * p = s;
    while (*p) {
        char * end;
        errno = 0;
        long long a = strtoll(p, &end, 10), b = a;
        if (end == p || errno) goto bad;
        p = end;
        if (*p == '-') {
            b = strtoll(p + 1, &end, 10);
            if (end == p + 1 || errno) goto bad;
            p = end;
        }
        if (a < 0 || b < a || b >= limit) {
            fprintf(stderr, "gaze: %s: %lld-%lld outside 0..%lld\n", flag, a, b, (long long)(limit - 1));
            free(seen);
            return 2;
        }
        for (long long i = a; i <= b; i++) seen[i] = 1;
        if (*p == ',') p++;
        else if (*p) goto bad;
    }
    int64_t cnt = 0;
    for (int64_t i = 0; i < limit; i++) cnt += seen[i];
    *out = malloc((size_t)(cnt ? cnt : 1) * sizeof **out);
    if (!*out) { free(seen); return 1; }
    for (int64_t i = 0; i < limit; i++) if (seen[i]) (*out)[(*n)++] = i;
    free(seen);
    return 0;
bad:
    fprintf(stderr, "gaze: %s: cannot parse '%s' (expected a list like 0,2-4 of indices in 0..%lld)\n", flag, s,
            (long long)(limit - 1));
    free(seen);
    return 2;
}

int cli_length_pt(const char * cmd, const char * flag, const char * s, double * out) {
    static const struct { const char * unit; double pt; } units[] = {
        { "in", 72 }, { "pt", 1 }, { "cm", 72 / 2.54 }, { "mm", 72 / 25.4 },
    };
    const size_t n = s ? strlen(s) : 0;
    for (size_t u = 0; n > 2 && n < 64 && u < sizeof units / sizeof units[0]; u++) {
        if (strcmp(s + n - 2, units[u].unit)) continue;
        char num[64];
        memcpy(num, s, n - 2);
        num[n - 2] = '\0';
        char * end;
        errno = 0;
        const double v = starts_number(num) ? strtod(num, &end) : 0;
        if (starts_number(num) && end != num && !*end && errno != ERANGE && v * units[u].pt >= 36 &&
            v * units[u].pt <= 7200) {
            *out = v * units[u].pt;
            return 0;
        }
        break;
    }
    fprintf(stderr, "gaze %s: %s: '%s' is not a width such as 3.25in, 6.75in, 234pt or 8cm (0.5in .. 100in)\n",
            cmd, flag, s ? s : "");
    return 2;
}

int cli_size(const char * cmd, const char * flag, const char * s, int64_t * out) {
    char * end = NULL;
    errno = 0;
    double v = s && starts_number(s) ? strtod(s, &end) : 0;
    bool ok = end && end != s && !errno && v > 0;
    const char * u = "KMGT", * at = ok && *end ? strchr(u, *end & ~0x20) : NULL;
    if (ok && *end && (!at || (end[1] && strcmp(end + 1, "B") && strcmp(end + 1, "iB")))) ok = false;
    for (const char * q = u; ok && at && q <= at; q++) v *= 1024;
    if (!ok || v < 1 || v > 9.2e18) {
        fprintf(stderr, "gaze %s: %s: '%s' is not a size such as 512M or 4G (bytes, or K, M, G, T)\n", cmd, flag,
                s ? cli_safe(s) : "");
        return 2;
    }
    *out = (int64_t)v;
    return 0;
}

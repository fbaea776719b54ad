// Shared helpers of the libFuzzer targets (tests/fuzz/fuzz_*.c): one thread, invariant checks
// that crash loudly (so libFuzzer keeps the input), file helpers, and where fixtures live.
#ifndef GAZE_FUZZ_COMMON_H
#define GAZE_FUZZ_COMMON_H

#include "gaze.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size);
int LLVMFuzzerInitialize(int * argc, char *** argv);

// An invariant the library promises was broken: print why and abort, which libFuzzer reports
// as a crash and saves the input for.
#define FUZZ_REQUIRE(cond, ...) do { if (!(cond)) { \
    fprintf(stderr, "fuzz invariant failed %s:%d: %s: ", __FILE__, __LINE__, #cond); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); abort(); } } while (0)

// A failing call must say why: a known status and a non-empty message without raw control
// bytes (messages quote file content escaped; a raw ESC would reach the user's terminal).
static inline void fuzz_check_failure_ex(enum gaze_status s, const char * what, bool strict) {
    FUZZ_REQUIRE(s > GAZE_OK && s <= GAZE_ERR_NUMERIC, "%s: status %d", what, (int)s);
    const char * msg = gaze_last_error();
    // GAZE_FUZZ_VERBOSE=1: say why each input was refused (checking what seeds reach)
    if (getenv("GAZE_FUZZ_VERBOSE")) fprintf(stderr, "[%s] %s: %s\n", what, gaze_status_name(s), msg);
    FUZZ_REQUIRE(msg && *msg, "%s: %s with an empty message", what, gaze_status_name(s));
    for (const char * p = msg; strict && *p; p++)
        FUZZ_REQUIRE((unsigned char)*p >= 0x20 && *p != 0x7f, "%s: raw control byte 0x%02x in message: %s", what,
                     (unsigned)(unsigned char)*p, msg);
}
static inline void fuzz_check_failure(enum gaze_status s, const char * what) { fuzz_check_failure_ex(s, what, true); }

// One thread: libFuzzer measures one process, and ASan reports are clearest without pools.
static inline void fuzz_setup(void) {
    setenv("OMP_NUM_THREADS", "1", 1);
    gaze_set_default_threads(1);
}

// The repository root: $GAZE_SOURCE_DIR, else where this target was built from.
static inline const char * fuzz_source_dir(void) {
    const char * s = getenv("GAZE_SOURCE_DIR");
#ifdef GAZE_SOURCE_DIR
    if (!s || !*s) s = GAZE_SOURCE_DIR;
#endif
    return s && *s ? s : ".";
}

// $GAZE_HOME/models/<rel>, default ~/.cache/gaze/models/<rel>.
static inline void fuzz_model_path(char * out, size_t n, const char * rel) {
    const char * home = getenv("GAZE_HOME");
    if (home && *home) snprintf(out, n, "%s/models/%s", home, rel);
    else snprintf(out, n, "%s/.cache/gaze/models/%s", getenv("HOME") ? getenv("HOME") : ".", rel);
}

// Whole file into a malloc'd buffer (NUL-terminated); aborts when missing: a target whose
// fixture is absent must fail, never fuzz nothing.
static inline char * fuzz_read_file(const char * path, size_t * n) {
    FILE * f = fopen(path, "rb");
    if (!f) { fprintf(stderr, "fuzz: cannot open required fixture %s\n", path); abort(); }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char * buf = malloc((size_t)len + 1);
    if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) { fprintf(stderr, "fuzz: cannot read %s\n", path); abort(); }
    buf[len] = 0;
    fclose(f);
    *n = (size_t)len;
    return buf;
}

static inline void fuzz_write_file(const char * path, const void * data, size_t n) {
    FILE * f = fopen(path, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0) { fprintf(stderr, "fuzz: cannot write %s\n", path); abort(); }
}

// A private scratch folder for targets that must go through files (model folders): in
// /dev/shm when there is one (no disk traffic at thousands of runs per second).
static inline const char * fuzz_scratch_dir(const char * tag) {
    static char dir[256];
    if (dir[0]) return dir;
    const char * base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : (getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    snprintf(dir, sizeof dir, "%s/gaze-fuzz-%s-XXXXXX", base, tag);
    if (!mkdtemp(dir)) { fprintf(stderr, "fuzz: mkdtemp %s failed\n", dir); abort(); }
    return dir;
}

// The exact bytes as their own heap block, so an over-read by one byte is an ASan report
// even when the caller's buffer is larger.
static inline uint8_t * fuzz_dup(const uint8_t * data, size_t n) {
    uint8_t * p = malloc(n ? n : 1);
    if (n) memcpy(p, data, n);
    return p;
}

#endif

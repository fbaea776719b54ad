// The corpus splitter (gaze_text_shard, `gaze corpus --shard`) on arbitrary files: the first two
// bytes choose the shard count (1..16) and the longest line kept; for every shard count, the
// shards' lines taken together must be the file's lines, each exactly once and in order, and
// every shard's range must tile the file.
#include "fuzz_common.h"

static char g_path[512];

static void cleanup(void) { if (g_path[0]) unlink(g_path); }

int LLVMFuzzerInitialize(int * argc, char *** argv) {
    fuzz_setup();
    snprintf(g_path, sizeof g_path, "%s/corpus.txt", fuzz_scratch_dir("shard"));
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    if (size < 2 || size > (1u << 16)) return 0;
    const int64_t n = 1 + data[0] % 16;
    const size_t max_line = 1 + (size_t)data[1] * 4;
    data += 2;
    size -= 2;
    FILE * f = fopen(g_path, "wb");
    if (!f) return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    // the file's lines, by offset: a line starts at 0 (when the file is not empty) and after each '\n'
    int64_t expect_lines = 0;
    for (size_t i = 0; i < size; i++) expect_lines += i == 0 || data[i - 1] == '\n';
    int64_t seen = 0, next_start = 0, prev_end = 0;
    for (int64_t i = 0; i < n; i++) {
        struct gaze_text_shard * ts = NULL;
        enum gaze_status s = gaze_text_shard_open(&ts, g_path, i, n, -1);
        if (s) { fuzz_check_failure(s, "shard open"); return 0; }
        int64_t begin, end, fsize;
        gaze_text_shard_range(ts, &begin, &end, &fsize, NULL, NULL);
        FUZZ_REQUIRE(fsize == (int64_t)size && begin == prev_end && end >= begin && end <= (int64_t)size,
                     "shard %lld/%lld range %lld..%lld of %lld", (long long)i, (long long)n, (long long)begin,
                     (long long)end, (long long)fsize);
        prev_end = end;
        for (;;) {
            const char * line;
            size_t len;
            int64_t at;
            bool too_long;
            s = gaze_text_shard_next(ts, max_line, &line, &len, &at, &too_long);
            if (s) { fuzz_check_failure(s, "shard next"); break; }
            if (!line) break;
            FUZZ_REQUIRE(at == next_start, "line at %lld, expected %lld", (long long)at, (long long)next_start);
            const uint8_t * nl = memchr(data + at, '\n', size - (size_t)at);
            const size_t full = nl ? (size_t)(nl - (data + at)) : size - (size_t)at;
            if (too_long) FUZZ_REQUIRE(len == 0 && full > max_line, "too_long on a %zu-byte line", full);
            else FUZZ_REQUIRE(len == full && !memcmp(line, data + at, len), "line at %lld differs", (long long)at);
            next_start = at + (int64_t)full + (nl != NULL);
            seen++;
        }
        gaze_text_shard_free(ts);
    }
    FUZZ_REQUIRE(prev_end == (int64_t)size, "ranges end at %lld of %zu", (long long)prev_end, size);
    FUZZ_REQUIRE(seen == expect_lines, "%lld lines read, the file has %lld", (long long)seen, (long long)expect_lines);
    return 0;
}

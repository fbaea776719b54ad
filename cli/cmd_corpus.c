// gaze corpus MODEL file.txt: per-head metrics averaged over a corpus, one line = one document,
// streamed (memory flat in the corpus size). A progress bar on a terminal only; checkpoints to
// -o every N documents and on Ctrl-C, so a run can stop and --resume; --shard i/n takes lines
// k with k mod n = i, and `gaze merge` combines the shards' files.
#include "analysis_cli.h"
#include "progress.h"
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CORPUS_MAX_LINE ((size_t)16 << 20)   // longer lines are skipped, not read into memory whole

static int usage(void) {
    fprintf(stderr,
            "usage: gaze corpus MODEL file.txt|- [-o stats.json] [--shard i/n] [--resume] [--max-len N]\n"
            "                   [--limit LINES] [--checkpoint DOCS] [--exact] [--threads N]\n"
            "                   [--error mul|abs] [--exclude-bos] [--exclude-current] [--json|--csv] [--grid METRIC [--grid-plot out.png|svg|pdf]] [--quiet]\n"
            "  each non-empty line is a document; per-head metrics (see gaze heads) are averaged over documents.\n"
            "  --max-len: tokens kept per document (default 512). -o: statistics file (gaze merge reads it),\n"
            "  written every --checkpoint documents (default 50), at the end and on Ctrl-C; --resume continues it.\n");
    return 2;
}

static volatile sig_atomic_t interrupted = 0;
static void on_signal(int sig) { (void)sig; interrupted = 1; }

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

// Reads one line into *buf (NUL-terminated, without the newline). A line longer than max bytes
// is consumed but not kept (*too_long, length 0), so memory stays bounded. -1 at the end.
static ssize_t read_line(FILE * f, char ** buf, size_t * cap, size_t max, bool * too_long) {
    size_t n = 0;
    bool any = false;
    int c;
    *too_long = false;
    if (!*buf) {
        if (!(*buf = malloc(4096))) return -1;
        *cap = 4096;
    }
    while ((c = getc(f)) != EOF) {
        any = true;
        if (c == '\n') break;
        if (*too_long) continue;
        if (n >= max) { *too_long = true; continue; }
        if (n + 1 >= *cap) {
            char * g = realloc(*buf, 2 * *cap);
            if (!g) { *too_long = true; continue; }
            *buf = g;
            *cap *= 2;
        }
        (*buf)[n++] = (char)c;
    }
    if (!any) return -1;
    if (*too_long) n = 0;
    (*buf)[n] = '\0';
    return (ssize_t)n;
}

static int64_t count_lines(const char * path) {
    FILE * f = fopen(path, "rb");
    if (!f) return -1;
    char buf[1 << 16];
    int64_t n = 0;
    size_t k, last = '\n';
    while ((k = fread(buf, 1, sizeof buf, f)) > 0) {
        for (size_t i = 0; i < k; i++) n += buf[i] == '\n';
        last = (unsigned char)buf[k - 1];
    }
    fclose(f);
    return n + (last != '\n');
}

int cmd_corpus(int argc, char ** argv) {
    struct acli_source src = { 0 };
    struct gaze_detector_opts det = { 0 };
    const char * file = NULL, * out = NULL, * shard_s = NULL, * grid_s = NULL;
    int64_t max_len = 512, limit = -1, checkpoint = 50, shard = 0, n_shards = 1;
    bool resume = false, quiet = false;
    enum acli_format fmt = ACLI_FORMAT_TABLE;
    for (int i = 1; i < argc; i++) {
        const char * a = argv[i], * v = i + 1 < argc ? argv[i + 1] : NULL;
        int k = acli_source_flag(&src, argc, argv, &i);
        if (k < 0) return usage();
        if (k > 0) continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage();
        if (!strcmp(a, "--json")) fmt = ACLI_FORMAT_JSON;
        else if (!strcmp(a, "--csv")) fmt = ACLI_FORMAT_CSV;
        else if (!strcmp(a, "--resume")) resume = true;
        else if (!strcmp(a, "--quiet")) quiet = true;
        else if (!strcmp(a, "--exclude-bos")) det.exclude_bos = true;
        else if (!strcmp(a, "--exclude-current")) det.exclude_current_token = true;
        else if (a[0] == '-' && a[1] && !v) { fprintf(stderr, "gaze corpus: %s needs a value or is unknown\n", a); return usage(); }
        else if (!strcmp(a, "-o") || !strcmp(a, "--out")) { out = v; i++; }
        else if (!strcmp(a, "--shard")) { shard_s = v; i++; }
        else if (!strcmp(a, "--max-len")) { max_len = atoll(v); i++; }
        else if (!strcmp(a, "--limit")) { limit = atoll(v); i++; }
        else if (!strcmp(a, "--checkpoint")) { checkpoint = atoll(v); i++; }
        else if (!strcmp(a, "--grid-plot") && v) { acli_set_grid_figure(v); i++; }
        else if (!strcmp(a, "--grid")) { grid_s = v; i++; }
        else if (!strcmp(a, "--error")) {
            if (!strcmp(v, "mul")) det.error = GAZE_DETECTOR_ERROR_MUL;
            else if (!strcmp(v, "abs")) det.error = GAZE_DETECTOR_ERROR_ABS;
            else { fprintf(stderr, "gaze corpus: --error is mul or abs\n"); return 2; }
            i++;
        }
        else if (a[0] == '-' && a[1]) { fprintf(stderr, "gaze corpus: unknown flag '%s'\n", a); return usage(); }
        else if (!src.src) src.src = a;
        else if (!file) file = a;
        else { fprintf(stderr, "gaze corpus: unexpected argument '%s'\n", a); return usage(); }
    }
    if (!src.src || !file) return usage();
    if (shard_s) {
        char * end;
        shard = strtoll(shard_s, &end, 10);
        if (*end != '/' || (n_shards = strtoll(end + 1, &end, 10)) < 1 || *end || shard < 0 || shard >= n_shards) {
            fprintf(stderr, "gaze corpus: --shard i/n with 0 <= i < n, e.g. 0/4\n");
            return 2;
        }
    }
    if (max_len < 0 || checkpoint < 1) { fprintf(stderr, "gaze corpus: --max-len >= 0, --checkpoint >= 1\n"); return 2; }
    enum gaze_metric grid_m = GAZE_METRIC_ENTROPY;
    if (grid_s && !gaze_metric_from_name(grid_s, &grid_m)) { fprintf(stderr, "gaze corpus: unknown metric '%s'\n", grid_s); return 2; }
    if (resume && (!out || !strcmp(file, "-"))) { fprintf(stderr, "gaze corpus: --resume needs -o FILE and a corpus file (not stdin)\n"); return 2; }

    struct gaze_model * model = NULL;
    struct gaze_corpus * corpus = NULL;
    FILE * in = NULL;
    char * line = NULL;
    size_t line_cap = 0;
    int rc = 0;
    enum gaze_status s = cli_model_load(&model, src.src, "corpus", quiet);
    if (s) return cli_fail(s);
    if (src.exact && (s = gaze_model_set_exact(model, true))) { rc = cli_fail(s); goto done; }
    if ((s = gaze_corpus_init(&corpus, model, &det, max_len, n_shards, src.n_threads))) { rc = cli_fail(s); goto done; }
    struct gaze_head_stats * st = gaze_corpus_stats(corpus);
    if (!(st->source = strdup(file))) { rc = 1; goto done; }
    st->shards[shard] = 1;
    if (resume && access(out, F_OK) == 0) {
        struct gaze_head_stats old;
        if ((s = gaze_head_stats_load(&old, out))) { rc = cli_fail(s); goto done; }
        bool ok = old.n_layers == st->n_layers && old.n_heads == st->n_heads && old.n_shards == n_shards &&
                  old.shards[shard] && old.next_line >= 0 && old.model && !strcmp(old.model, st->model) &&
                  old.source && !strcmp(old.source, file) && old.max_len == st->max_len &&
                  !memcmp(&old.det, &st->det, sizeof det);
        int64_t others = 0;
        for (int64_t i = 0; i < n_shards; i++) others += i != shard && old.shards[i];
        if (!ok || others) {
            fprintf(stderr, "gaze corpus: %s was made with another model, corpus, shard or options; cannot resume it\n", out);
            gaze_head_stats_free(&old);
            rc = 2;
            goto done;
        }
        // keep the loaded statistics: swap them into the corpus accumulator
        struct gaze_head_stats tmp = *st;
        *st = old;
        gaze_head_stats_free(&tmp);
        if (st->complete) { if (!quiet) fprintf(stderr, "gaze corpus: %s is complete already\n", out); goto report; }
        if (!quiet) fprintf(stderr, "gaze corpus: resuming %s at line %lld (%lld documents so far)\n", out,
                            (long long)st->next_line, (long long)st->n_docs);
    }
    struct cli_progress bar;
    cli_progress_init(&bar, "gaze corpus", quiet);
    const bool tty = bar.on;
    const int64_t total = tty && strcmp(file, "-") ? count_lines(file) : -1;
    in = strcmp(file, "-") ? fopen(file, "rb") : stdin;
    if (!in) { fprintf(stderr, "gaze corpus: %s: %s\n", file, strerror(errno)); rc = 1; goto done; }
    struct sigaction sa = { 0 };
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    const double t0 = now_s();
    const int64_t docs0 = st->n_docs;
    int64_t k = 0, warned = 0, skipped = 0;
    ssize_t len;
    bool too_long;
    while (!interrupted && (limit < 0 || k < limit) && (len = read_line(in, &line, &line_cap, CORPUS_MAX_LINE, &too_long)) >= 0) {
        const int64_t idx = k++;
        if (idx < st->next_line) continue;          // resumed: done before
        st->next_line = idx + 1;
        if (idx % n_shards != shard) continue;      // another shard's line
        st->n_lines++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        bool blank = true;
        for (ssize_t i = 0; i < len && blank; i++) blank = line[i] == ' ' || line[i] == '\t';
        if (blank && !too_long) continue;
        if (too_long || (s = gaze_corpus_add(corpus, line, (size_t)len))) {
            skipped++;
            cli_progress_clear(&bar);
            if (warned++ < 10)
                fprintf(stderr, "gaze corpus: line %lld skipped: %s\n", (long long)(idx + 1),
                        too_long ? "longer than 16 MiB" : gaze_last_error());
            continue;
        }
        if (out && (st->n_docs - docs0) % checkpoint == 0 && (s = gaze_head_stats_save(st, out))) { rc = cli_fail(s); goto done; }
        if (tty) {   // throttled by the helper; the count of documents rides along
            snprintf(bar.note, sizeof bar.note, "%lld docs", (long long)st->n_docs);
            cli_progress_update(&bar, idx + 1, total, "lines");
        }
    }
    if (ferror(in)) { fprintf(stderr, "gaze corpus: %s: read error: %s\n", file, strerror(errno)); rc = 1; }
    st->complete = !interrupted && !rc && (limit < 0 || feof(in));
    cli_progress_clear(&bar);
    if (out && (s = gaze_head_stats_save(st, out))) { rc = cli_fail(s); goto done; }
    if (!quiet)
        fprintf(stderr, "gaze corpus: %lld documents added (%lld in all, %lld tokens), %lld lines skipped, %.1f s%s%s\n",
                (long long)(st->n_docs - docs0), (long long)st->n_docs, (long long)st->n_tokens, (long long)skipped, now_s() - t0, interrupted ? " (interrupted: partial results" : "",
                interrupted ? (out ? ", saved; --resume continues)" : ")") : "");
report:
    if (!rc && st->n_docs > 0) rc = acli_print_stats(st, fmt, grid_s ? (int)grid_m : -1, NULL);
    if (!rc && interrupted) rc = 130;
done:
    free(line);
    if (in && in != stdin) fclose(in);
    gaze_corpus_free(corpus);
    gaze_model_free(model);
    return rc;
}

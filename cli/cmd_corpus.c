// gaze corpus MODEL file.txt: per-head metrics averaged over a corpus, one line = one document,
// streamed (memory flat in the corpus size). A progress bar on a terminal only; checkpoints to
// -o every N documents and on Ctrl-C, so a run can stop and --resume; --shard i/n (or auto, from
// a Slurm job array) reads only the i-th of n line-aligned byte ranges of the file, and
// `gaze merge` combines the shards' files.
#include "analysis_cli.h"
#include "progress.h"
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CORPUS_MAX_LINE ((size_t)16 << 20)   // longer lines are skipped, not read into memory whole

static int usage(FILE * f) {
    fprintf(f,
            "usage: gaze corpus MODEL file.txt|- [flags]\n"
            "  each non-empty line of the file ('-': standard input) is a document; per-head metrics\n"
            "  (see gaze heads) are averaged over documents and printed.\n"
            "  -o, --out FILE     also save the statistics to FILE (JSON; gaze merge and --resume read it),\n"
            "                     every --checkpoint documents, at the end and on Ctrl-C (default: not saved)\n"
            "  --checkpoint N     documents between saves to -o, >= 1 (default: 50)\n"
            "  --resume           continue the -o FILE of an interrupted run (needs a corpus file, not stdin)\n"
            "  --shard i/n|auto   read only the lines starting in bytes [i*size/n, (i+1)*size/n) of the file, for\n"
            "                     parallel runs (gaze merge joins them); auto: from GAZE_SHARD/GAZE_SHARDS, else\n"
            "                     SLURM_ARRAY_TASK_ID/COUNT (a job array); --limit counts the shard's lines (default: 0/1)\n"
            "  --max-len N        tokens kept per document, >= 0 (default: 512; 0 = the model's limit)\n"
            "  --limit LINES      stop after LINES lines, >= 0 (default: the whole file)\n"
            "  --exact            quantized models: f32-dequantized weights (default: quantized arithmetic)\n"
            "  --threads N        worker threads (default: 0 = $GAZE_THREADS or one per core)\n"
            "  --kind K           encoder-decoder models: encoder, decoder or cross attention (default: encoder)\n"
            "  --error mul|abs    detector score (default: mul)\n"
            "  --exclude-bos      leave attention to the first token out of the detectors (default: kept)\n"
            "  --exclude-current  leave the diagonal out of the detectors (default: kept)\n"
            "  --json, --csv      machine-readable statistics (default: a table)\n"
            "  --grid METRIC      the layer x head grid of one metric's mean as a heatmap\n"
            "  --grid-plot FILE   also draw that grid to FILE (.png, .svg or .pdf)\n"
            "  -q, --quiet        no progress bar or summary line (errors and warnings still shown)\n");
    return f == stdout ? 0 : 2;
}

static volatile sig_atomic_t interrupted = 0;
static void on_signal(int sig) { (void)sig; interrupted = 1; }

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
    struct acli_source src = { .cmd = "corpus", .no_file = true };
    struct gaze_detector_opts det = { 0 };
    const char * file = NULL, * out = NULL, * shard_s = NULL, * grid_s = NULL;
    int64_t max_len = 512, limit = -1, checkpoint = 50, shard = 0, n_shards = 1;
    bool resume = false, quiet = false, checkpoint_set = false;
    enum acli_format fmt = ACLI_FORMAT_TABLE;
    for (int i = 1; i < argc; i++) {
        const char * a = argv[i], * v = i + 1 < argc ? argv[i + 1] : NULL;
        int k = acli_source_flag(&src, argc, argv, &i);
        if (k == -2) return 2;
        if (k < 0) return usage(stderr);
        if (k > 0) continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage(stdout);
        if (!strcmp(a, "--json")) fmt = ACLI_FORMAT_JSON;
        else if (!strcmp(a, "--csv")) fmt = ACLI_FORMAT_CSV;
        else if (!strcmp(a, "--resume")) resume = true;
        else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) quiet = true;
        else if (!strcmp(a, "--exclude-bos")) det.exclude_bos = true;
        else if (!strcmp(a, "--exclude-current")) det.exclude_current_token = true;
        else if (a[0] == '-' && a[1] && !v) { fprintf(stderr, "gaze corpus: %s needs a value or is unknown\n", a); return usage(stderr); }
        else if (!strcmp(a, "-o") || !strcmp(a, "--out")) { out = v; i++; }
        else if (!strcmp(a, "--shard")) { shard_s = v; i++; }
        else if (!strcmp(a, "--max-len")) { if (cli_int("corpus", a, v, 0, INT32_MAX, &max_len)) return 2; i++; }
        else if (!strcmp(a, "--limit")) { if (cli_int("corpus", a, v, 0, INT64_MAX, &limit)) return 2; i++; }
        else if (!strcmp(a, "--checkpoint")) { if (cli_int("corpus", a, v, 1, INT64_MAX, &checkpoint)) return 2; checkpoint_set = true; i++; }
        else if (!strcmp(a, "--grid-plot") && v) { acli_set_grid_figure(v); i++; }
        else if (!strcmp(a, "--grid")) { grid_s = v; i++; }
        else if (!strcmp(a, "--error")) {
            if (!strcmp(v, "mul")) det.error = GAZE_DETECTOR_ERROR_MUL;
            else if (!strcmp(v, "abs")) det.error = GAZE_DETECTOR_ERROR_ABS;
            else { fprintf(stderr, "gaze corpus: --error is mul or abs\n"); return 2; }
            i++;
        }
        else if (a[0] == '-' && a[1]) { fprintf(stderr, "gaze corpus: unknown flag '%s'\n", a); return usage(stderr); }
        else if (!src.src) src.src = a;
        else if (!file) file = a;
        else { fprintf(stderr, "gaze corpus: unexpected argument '%s'\n", a); return usage(stderr); }
    }
    if (!src.src || !file) return usage(stderr);
    if (acli_check_grid("corpus", grid_s != NULL, fmt != ACLI_FORMAT_TABLE)) return 2;
    char shard_from[32] = "";
    if (shard_s && cli_shard_parse("corpus", shard_s, &shard, &n_shards, shard_from, sizeof shard_from)) return 2;
    if (n_shards > 1 && !strcmp(file, "-")) {
        // byte ranges need a file to seek in; reading all of stdin in every job would defeat them
        fprintf(stderr, "gaze corpus: --shard %lld/%lld needs a corpus file: standard input cannot be split into byte ranges\n",
                (long long)shard, (long long)n_shards);
        return 2;
    }
    enum gaze_metric grid_m = GAZE_METRIC_ENTROPY;
    if (grid_s && !gaze_metric_from_name(grid_s, &grid_m)) { fprintf(stderr, "gaze corpus: unknown metric '%s'\n", grid_s); return 2; }
    if (resume && (!out || !strcmp(file, "-") || gaze_output_is_stdout(out))) { fprintf(stderr, "gaze corpus: --resume needs -o FILE and a corpus file (not stdin)\n"); return 2; }
    if (checkpoint_set && !out) { fprintf(stderr, "gaze corpus: --checkpoint sets how often -o FILE is written: give -o FILE too\n"); return 2; }
    // Never silent: the statistics are printed, but without -o they cannot be merged or resumed.
    if (!out) fprintf(stderr, "gaze corpus: statistics printed only, not saved (give -o FILE to keep them for gaze merge or --resume)\n");
    int frc = cli_output_check("corpus", out);
    if (frc || (frc = acli_check_grid_figure("corpus"))) return frc;
    if (gaze_output_is_stdout(out)) checkpoint = INT64_MAX;   // one JSON document on stdout, at the end

    struct gaze_model * model = NULL;
    struct gaze_corpus * corpus = NULL;
    struct gaze_text_shard * ts = NULL;
    int rc = 0;
    enum gaze_status s = cli_model_load(&model, src.src, "corpus", quiet);
    if (s) return cli_fail(s);
    if (src.exact && (s = gaze_model_set_exact(model, true))) { rc = cli_fail(s); goto done; }
    if ((s = gaze_corpus_init(&corpus, model, &det, max_len, n_shards, src.n_threads))) { rc = cli_fail(s); goto done; }
    if (src.kind_given) gaze_corpus_set_kind(corpus, (enum gaze_kind)src.kind);
    struct gaze_head_stats * st = gaze_corpus_stats(corpus);
    if (!(st->source = strdup(file))) { rc = 1; goto done; }
    st->shards[shard] = 1;
    snprintf(st->shard_from, sizeof st->shard_from, "%s", shard_from);
    if (strcmp(file, "-") && (s = gaze_file_fingerprint(file, &st->input_size, &st->input_hash))) { rc = cli_fail(s); goto done; }
    if (resume && access(out, F_OK) == 0) {
        struct gaze_head_stats old;
        if ((s = gaze_head_stats_load(&old, out))) { rc = cli_fail(s); goto done; }
        bool ok = old.n_layers == st->n_layers && old.n_heads == st->n_heads && old.n_shards == n_shards &&
                  old.shards[shard] && old.next_line >= 0 && old.model && !strcmp(old.model, st->model) &&
                  old.source && !strcmp(old.source, file) && old.max_len == st->max_len &&
                  !memcmp(&old.det, &st->det, sizeof det) &&
                  (old.input_size < 0 || (old.input_size == st->input_size && old.input_hash == st->input_hash)) &&
                  (old.next_offset >= 0 || n_shards == 1);   // an older gaze's shards were line-modulo
        int64_t others = 0;
        for (int64_t i = 0; i < n_shards; i++) others += i != shard && old.shards[i];
        if (!ok || others) {
            fprintf(stderr, "gaze corpus: %s was made with another model, corpus (or its contents changed), shard or options; cannot resume it\n", out);
            gaze_head_stats_free(&old);
            rc = 2;
            goto done;
        }
        // keep the loaded statistics: swap them into the corpus accumulator
        struct gaze_head_stats tmp = *st;
        *st = old;
        snprintf(st->shard_from, sizeof st->shard_from, "%s", tmp.shard_from);
        st->input_size = tmp.input_size;   // an older gaze's file gains the identity
        st->input_hash = tmp.input_hash;
        gaze_head_stats_free(&tmp);
        if (st->complete) { if (!quiet) fprintf(stderr, "gaze corpus: %s is complete already\n", out); goto report; }
        if (!quiet) fprintf(stderr, "gaze corpus: resuming %s at line %lld (%lld documents so far)\n", out,
                            (long long)st->next_line, (long long)st->n_docs);
    }
    struct cli_progress bar;
    cli_progress_init(&bar, "gaze corpus", quiet);
    const bool tty = bar.on;
    const int64_t total = tty && strcmp(file, "-") && n_shards == 1 ? count_lines(file) : -1;
    s = strcmp(file, "-") ? gaze_text_shard_open(&ts, file, shard, n_shards, st->next_offset)
                          : gaze_text_shard_open_stream(&ts, stdin, "standard input", 0, 1, -1);
    if (s) { rc = cli_fail(s); goto done; }
    gaze_text_shard_range(ts, &st->range_begin, &st->range_end, NULL, NULL, NULL);
    if (shard_s && !quiet)
        fprintf(stderr, "gaze corpus: shard %lld/%lld (from %s): bytes %lld..%lld of %s\n", (long long)shard, (long long)n_shards,
                shard_from, (long long)st->range_begin, (long long)st->range_end, cli_safe(file));
    struct sigaction sa = { 0 };
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    const double t0 = cli_now();
    const int64_t docs0 = st->n_docs;
    // resumed at a recorded byte offset: the lines before it are not read again; an older
    // gaze's unsharded file recorded only a line count: those lines are read and skipped
    int64_t k = st->next_offset >= 0 ? st->next_line : 0, warned = 0, skipped = 0, at = 0;
    size_t len;
    bool too_long, at_end = false;
    while (!interrupted && (limit < 0 || k < limit)) {
        const char * line;   // owned by ts until the next line
        if ((s = gaze_text_shard_next(ts, CORPUS_MAX_LINE, &line, &len, &at, &too_long))) { rc = cli_fail(s); break; }
        if (!line) { at_end = true; break; }
        const int64_t idx = k++;
        if (idx < st->next_line) continue;          // resumed (older file): done before
        st->next_line = idx + 1;
        gaze_text_shard_range(ts, NULL, NULL, NULL, &st->next_offset, NULL);
        st->n_lines++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
        bool blank = true;
        for (size_t i = 0; i < len && blank; i++) blank = line[i] == ' ' || line[i] == '\t';
        if (blank && !too_long) continue;
        if (too_long || (s = gaze_corpus_add(corpus, line, (size_t)len))) {
            skipped++;
            cli_progress_clear(&bar);
            if (warned++ < 10)
                fprintf(stderr, n_shards > 1 ? "gaze corpus: line at byte %lld skipped: %s\n" : "gaze corpus: line %lld skipped: %s\n",
                        (long long)(n_shards > 1 ? at : idx + 1), too_long ? "longer than 16 MiB" : gaze_last_error());
            continue;
        }
        if (out && (st->n_docs - docs0) % checkpoint == 0 && (s = gaze_head_stats_save(st, out))) { rc = cli_fail(s); goto done; }
        if (tty) {   // throttled by the helper; the count of documents rides along
            snprintf(bar.note, sizeof bar.note, "%lld docs", (long long)st->n_docs);
            cli_progress_update(&bar, idx + 1, total, "lines");
        }
    }
    if (!at_end && !interrupted && !rc) {   // stopped by --limit: done if no line is left
        const char * text;
        gaze_text_shard_next(ts, 0, &text, &len, NULL, &too_long);
        at_end = !text;
    }
    st->complete = !interrupted && !rc && at_end;
    cli_progress_clear(&bar);
    if (out && (s = gaze_head_stats_save(st, out))) { rc = cli_fail(s); goto done; }
    if (!quiet)
        fprintf(stderr, "gaze corpus: %lld documents added (%lld in all, %lld tokens), %lld lines skipped, %.1f s%s%s\n",
                (long long)(st->n_docs - docs0), (long long)st->n_docs, (long long)st->n_tokens, (long long)skipped, cli_now() - t0, interrupted ? " (interrupted: partial results" : "",
                interrupted ? (out ? ", saved; --resume continues)" : ")") : "");
report:
    if (!rc && st->n_docs > 0) rc = acli_print_stats(st, fmt, grid_s ? (int)grid_m : -1, NULL);
    if (!rc && interrupted) rc = 130;
done:
    gaze_text_shard_free(ts);
    gaze_corpus_free(corpus);
    gaze_model_free(model);
    return rc;
}

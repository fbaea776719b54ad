// Per-head metric statistics over a corpus: one document at a time (memory flat in the corpus
// size), mean and spread by Welford's update, shards merged exactly by Chan et al.'s pairwise
// formula, and a JSON file that carries everything needed to resume or merge.
#include "analysis/analysis.h"
#include "formats/json.h"
#include <errno.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#define STATS_FORMAT  "gaze.corpus"
#define STATS_VERSION 1
#define STATS_MAX_SHARDS 1000000

static size_t cells(const struct gaze_head_stats * st) {
    return (size_t)st->n_layers * (size_t)st->n_heads * GAZE_METRIC_COUNT;
}

enum gaze_status gaze_head_stats_init(struct gaze_head_stats * st, int64_t n_layers, int64_t n_heads,
                                      int64_t n_shards) {
    if (!st) return gaze_error(GAZE_ERR_INVALID_ARG, "corpus: NULL stats");
    memset(st, 0, sizeof *st);
    if (n_layers < 1 || n_layers > GAZE_RUN_MAX_LAYERS || n_heads < 1 || n_heads > GAZE_RUN_MAX_HEADS)
        return gaze_error(GAZE_ERR_INVALID_ARG, "corpus: %lld layers x %lld heads outside 1..%d x 1..%d",
                          (long long)n_layers, (long long)n_heads, GAZE_RUN_MAX_LAYERS, GAZE_RUN_MAX_HEADS);
    if (n_shards < 1 || n_shards > STATS_MAX_SHARDS)
        return gaze_error(GAZE_ERR_INVALID_ARG, "corpus: %lld shards outside 1..%d", (long long)n_shards, STATS_MAX_SHARDS);
    st->n_layers = n_layers;
    st->n_heads = n_heads;
    st->n_shards = n_shards;
    st->input_size = st->range_begin = st->range_end = st->next_offset = -1;
    const size_t n = cells(st);
    st->count = calloc(n, sizeof *st->count);
    st->mean = calloc(n, sizeof *st->mean);
    st->m2 = calloc(n, sizeof *st->m2);
    st->shards = calloc((size_t)n_shards, 1);
    if (!st->count || !st->mean || !st->m2 || !st->shards) {
        gaze_head_stats_free(st);
        return gaze_error(GAZE_ERR_NOMEM, "corpus: out of memory");
    }
    return GAZE_OK;
}

void gaze_head_stats_free(struct gaze_head_stats * st) {
    if (!st) return;
    free(st->count);
    free(st->mean);
    free(st->m2);
    free(st->shards);
    free(st->model);
    free(st->source);
    memset(st, 0, sizeof *st);
}

enum gaze_status gaze_head_stats_add(struct gaze_head_stats * st, const struct gaze_head_metrics * m,
                                     int64_t n, int64_t n_tokens) {
    if (!st || !st->mean || (!m && n > 0) || n < 0)
        return gaze_error(GAZE_ERR_INVALID_ARG, "corpus: bad arguments to add");
    for (int64_t k = 0; k < n; k++)
        if (m[k].layer < 0 || m[k].layer >= st->n_layers || m[k].head < 0 || m[k].head >= st->n_heads)
            return gaze_error(GAZE_ERR_INVALID_ARG, "corpus: layer %lld head %lld outside the %lld x %lld accumulator",
                              (long long)m[k].layer, (long long)m[k].head, (long long)st->n_layers, (long long)st->n_heads);
    for (int64_t k = 0; k < n; k++) {
        const size_t base = ((size_t)m[k].layer * (size_t)st->n_heads + (size_t)m[k].head) * GAZE_METRIC_COUNT;
        for (int i = 0; i < GAZE_METRIC_COUNT; i++) {
            const double x = m[k].v[i];
            if (isnan(x)) continue;   // undefined in this document (no [SEP], no punctuation, ...)
            const size_t c = base + (size_t)i;
            st->count[c]++;
            const double d = x - st->mean[c];
            st->mean[c] += d / (double)st->count[c];
            st->m2[c] += d * (x - st->mean[c]);
        }
    }
    st->n_docs++;
    st->n_tokens += n_tokens;
    return GAZE_OK;
}

static bool same_str(const char * a, const char * b) { return (!a && !b) || (a && b && !strcmp(a, b)); }

enum gaze_status gaze_head_stats_merge(struct gaze_head_stats * into, const struct gaze_head_stats * from) {
    if (!into || !from || !into->mean || !from->mean) return gaze_error(GAZE_ERR_INVALID_ARG, "merge: NULL stats");
    if (into->n_layers != from->n_layers || into->n_heads != from->n_heads)
        return gaze_error(GAZE_ERR_INVALID_ARG, "merge: %lld x %lld heads vs %lld x %lld", (long long)into->n_layers,
                          (long long)into->n_heads, (long long)from->n_layers, (long long)from->n_heads);
    if (!same_str(into->model, from->model) || !same_str(into->source, from->source))
        return gaze_error(GAZE_ERR_INVALID_ARG, "merge: different model or corpus (%s on %s vs %s on %s)",
                          into->model ? into->model : "?", into->source ? into->source : "?",
                          from->model ? from->model : "?", from->source ? from->source : "?");
    if (memcmp(&into->det, &from->det, sizeof into->det) != 0 || into->max_len != from->max_len)
        return gaze_error(GAZE_ERR_INVALID_ARG, "merge: computed with other detector options or --max-len");
    if (into->n_shards != from->n_shards)
        return gaze_error(GAZE_ERR_INVALID_ARG, "merge: split into %lld vs %lld shards", (long long)into->n_shards,
                          (long long)from->n_shards);
    // an older gaze split by line index modulo n: its shards do not tile the file with byte ranges
    if (into->n_shards > 1 && (into->input_size < 0) != (from->input_size < 0))
        return gaze_error(GAZE_ERR_INVALID_ARG, "merge: one file has line-modulo shards (an older gaze), the other byte-range "
                          "shards: rerun the old shards");
    if (into->input_size >= 0 && from->input_size >= 0 &&
        (into->input_size != from->input_size || into->input_hash != from->input_hash))
        return gaze_error(GAZE_ERR_INVALID_ARG, "merge: different corpus contents (%lld bytes, hash %016llx vs %lld bytes, "
                          "hash %016llx)", (long long)into->input_size, (unsigned long long)into->input_hash,
                          (long long)from->input_size, (unsigned long long)from->input_hash);
    for (int64_t i = 0; i < into->n_shards; i++)
        if (into->shards[i] && from->shards[i])
            return gaze_error(GAZE_ERR_INVALID_ARG, "merge: shard %lld/%lld is in both (it would count twice)",
                              (long long)i, (long long)into->n_shards);
    const size_t n = cells(into);
    for (size_t c = 0; c < n; c++) {
        const int64_t na = into->count[c], nb = from->count[c];
        if (nb == 0) continue;
        const double d = from->mean[c] - into->mean[c], nt = (double)(na + nb);
        into->mean[c] += d * (double)nb / nt;
        into->m2[c] += from->m2[c] + d * d * (double)na * (double)nb / nt;
        into->count[c] = na + nb;
    }
    for (int64_t i = 0; i < into->n_shards; i++) into->shards[i] |= from->shards[i];
    into->n_docs += from->n_docs;
    into->n_tokens += from->n_tokens;
    into->n_lines += from->n_lines;
    into->complete = into->complete && from->complete;
    into->next_line = -1;   // a merge is not resumable line by line
    into->next_offset = into->range_begin = into->range_end = -1;
    if (into->input_size < 0) into->input_size = from->input_size, into->input_hash = from->input_hash;
    snprintf(into->shard_from, sizeof into->shard_from, "merge");
    return GAZE_OK;
}

double gaze_head_stats_mean(const struct gaze_head_stats * st, int64_t layer, int64_t head, enum gaze_metric m) {
    if (!st || layer < 0 || layer >= st->n_layers || head < 0 || head >= st->n_heads || (unsigned)m >= GAZE_METRIC_COUNT) return NAN;
    const size_t c = ((size_t)layer * (size_t)st->n_heads + (size_t)head) * GAZE_METRIC_COUNT + (size_t)m;
    return st->count[c] ? st->mean[c] : NAN;
}

double gaze_head_stats_std(const struct gaze_head_stats * st, int64_t layer, int64_t head, enum gaze_metric m) {
    if (!st || layer < 0 || layer >= st->n_layers || head < 0 || head >= st->n_heads || (unsigned)m >= GAZE_METRIC_COUNT) return NAN;
    const size_t c = ((size_t)layer * (size_t)st->n_heads + (size_t)head) * GAZE_METRIC_COUNT + (size_t)m;
    return st->count[c] >= 2 ? sqrt(fmax(st->m2[c], 0) / (double)(st->count[c] - 1)) : NAN;
}

/* ---- file -------------------------------------------------------------------------------- */

static json_t * jarr_d(const double * v, size_t n) {
    json_t * a = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(a, json_real(v[i]));
    return a;
}

enum gaze_status gaze_head_stats_save(const struct gaze_head_stats * st, const char * path) {
    if (!st || !st->mean || !path) return gaze_error(GAZE_ERR_INVALID_ARG, "corpus: NULL argument to save");
    const size_t n = cells(st);
    json_t * o = json_object(), * names = json_array(), * cnt = json_array(), * shards = json_array();
    json_object_set_new(o, "format", json_string(STATS_FORMAT));
    json_object_set_new(o, "version", json_integer(STATS_VERSION));
    if (st->model) json_object_set_new(o, "model", json_string(st->model));
    if (st->source) json_object_set_new(o, "source", json_string(st->source));
    json_object_set_new(o, "n_layers", json_integer(st->n_layers));
    json_object_set_new(o, "n_heads", json_integer(st->n_heads));
    json_object_set_new(o, "n_kv_heads", json_integer(st->n_kv_heads));
    json_object_set_new(o, "max_len", json_integer(st->max_len));
    json_object_set_new(o, "detector_error", json_string(st->det.error == GAZE_DETECTOR_ERROR_ABS ? "abs" : "mul"));
    json_object_set_new(o, "exclude_bos", json_boolean(st->det.exclude_bos));
    json_object_set_new(o, "exclude_current_token", json_boolean(st->det.exclude_current_token));
    json_object_set_new(o, "n_shards", json_integer(st->n_shards));
    for (int64_t i = 0; i < st->n_shards; i++) if (st->shards[i]) json_array_append_new(shards, json_integer(i));
    json_object_set_new(o, "shards", shards);
    if (st->input_size >= 0) {   // the corpus file's identity and this shard's bytes, for gaze merge
        json_object_set_new(o, "split", json_string("bytes"));
        json_object_set_new(o, "input_size", json_integer(st->input_size));
        json_object_set_new(o, "input_hash", gaze_json_hex64(st->input_hash));
    }
    if (st->range_begin >= 0) {
        json_object_set_new(o, "range_begin", json_integer(st->range_begin));
        json_object_set_new(o, "range_end", json_integer(st->range_end));
    }
    if (st->next_offset >= 0) json_object_set_new(o, "next_offset", json_integer(st->next_offset));
    if (st->shard_from[0]) json_object_set_new(o, "shard_from", json_string(st->shard_from));
    json_object_set_new(o, "n_docs", json_integer(st->n_docs));
    json_object_set_new(o, "n_tokens", json_integer(st->n_tokens));
    json_object_set_new(o, "n_lines", json_integer(st->n_lines));
    json_object_set_new(o, "next_line", json_integer(st->next_line));
    json_object_set_new(o, "complete", json_boolean(st->complete));
    for (int m = 0; m < GAZE_METRIC_COUNT; m++) json_array_append_new(names, json_string(gaze_metric_name(m)));
    json_object_set_new(o, "metrics", names);
    for (size_t c = 0; c < n; c++) json_array_append_new(cnt, json_integer(st->count[c]));
    json_object_set_new(o, "count", cnt);     // [n_layers, n_heads, metrics], row-major
    json_object_set_new(o, "mean", jarr_d(st->mean, n));
    json_object_set_new(o, "m2", jarr_d(st->m2, n));
    return gaze_json_save_file(o, path);   // atomic for a regular file
}

// Reads array key of exactly n numbers (integers when ints) into out.
static enum gaze_status read_arr(const json_t * o, const char * key, const char * path, size_t n, bool ints,
                                 int64_t * iout, double * dout) {
    json_t * a;
    enum gaze_status s = gaze_json_get_array(o, key, path, &a);
    if (s) return s;
    if (json_array_size(a) != n)
        return gaze_error(GAZE_ERR_FORMAT, "%s: field %s: %zu entries, expected %zu", path, key, json_array_size(a), n);
    for (size_t i = 0; i < n; i++) {
        json_t * v = json_array_get(a, i);
        if (ints) {
            if (!json_is_integer(v) || json_integer_value(v) < 0)
                return gaze_error(GAZE_ERR_FORMAT, "%s: field %s[%zu]: expected a count >= 0", path, key, i);
            iout[i] = json_integer_value(v);
        } else {
            if (!json_is_number(v) || !isfinite(json_number_value(v)))
                return gaze_error(GAZE_ERR_FORMAT, "%s: field %s[%zu]: expected a finite number", path, key, i);
            dout[i] = json_number_value(v);
        }
    }
    return GAZE_OK;
}

enum gaze_status gaze_head_stats_load(struct gaze_head_stats * st, const char * path) {
    if (!st || !path) return gaze_error(GAZE_ERR_INVALID_ARG, "corpus: NULL argument to load");
    memset(st, 0, sizeof *st);
    json_t * o = NULL;
    enum gaze_status s = gaze_json_load_file(&o, path, 0, 0);
    if (s) return s;
    const char * fmt, * model = NULL, * source = NULL, * err = NULL;
    int64_t version, L, H, n_shards;
    if ((s = gaze_json_get_string(o, "format", path, &fmt))) goto fail;
    if (strcmp(fmt, STATS_FORMAT)) { s = gaze_error(GAZE_ERR_FORMAT, "%s: field format: \"%s\", expected \"%s\"", path, fmt, STATS_FORMAT); goto fail; }
    if ((s = gaze_json_get_int_range(o, "version", path, STATS_VERSION, STATS_VERSION, &version)) ||
        (s = gaze_json_get_int_range(o, "n_layers", path, 1, GAZE_RUN_MAX_LAYERS, &L)) ||
        (s = gaze_json_get_int_range(o, "n_heads", path, 1, GAZE_RUN_MAX_HEADS, &H)) ||
        (s = gaze_json_get_int_range(o, "n_shards", path, 1, STATS_MAX_SHARDS, &n_shards)) ||
        (s = gaze_head_stats_init(st, L, H, n_shards)))
        goto fail;
    json_t * names, * shards;
    if ((s = gaze_json_get_array(o, "metrics", path, &names))) goto fail;
    if (json_array_size(names) != GAZE_METRIC_COUNT) {
        s = gaze_error(GAZE_ERR_FORMAT, "%s: field metrics: %zu names, this gaze has %d", path, json_array_size(names), GAZE_METRIC_COUNT);
        goto fail;
    }
    for (int m = 0; m < GAZE_METRIC_COUNT; m++)
        if (!json_is_string(json_array_get(names, m)) || strcmp(json_string_value(json_array_get(names, m)), gaze_metric_name(m))) {
            s = gaze_error(GAZE_ERR_FORMAT, "%s: field metrics[%d]: expected \"%s\"", path, m, gaze_metric_name(m));
            goto fail;
        }
    int64_t v;
    bool b;
    if ((s = gaze_json_opt_string(o, "model", path, NULL, &model)) || (s = gaze_json_opt_string(o, "source", path, NULL, &source)) ||
        (s = gaze_json_opt_int(o, "n_kv_heads", path, 0, &st->n_kv_heads)) ||
        (s = gaze_json_opt_int(o, "max_len", path, 0, &st->max_len)) ||
        (s = gaze_json_opt_string(o, "detector_error", path, "mul", &err)) ||
        (s = gaze_json_get_int_range(o, "n_docs", path, 0, INT64_MAX, &st->n_docs)) ||
        (s = gaze_json_get_int_range(o, "n_tokens", path, 0, INT64_MAX, &st->n_tokens)) ||
        (s = gaze_json_opt_int(o, "n_lines", path, 0, &st->n_lines)) ||
        (s = gaze_json_opt_int(o, "next_line", path, -1, &st->next_line)) ||
        (s = gaze_json_opt_bool(o, "complete", path, false, &st->complete)) ||
        (s = gaze_json_opt_bool(o, "exclude_bos", path, false, &b)))
        goto fail;
    st->det.exclude_bos = b;
    if ((s = gaze_json_opt_bool(o, "exclude_current_token", path, false, &b))) goto fail;
    st->det.exclude_current_token = b;
    const char * split = NULL, * hash = NULL, * from = NULL;
    if ((s = gaze_json_opt_string(o, "split", path, NULL, &split)) || (s = gaze_json_opt_string(o, "input_hash", path, NULL, &hash)) ||
        (s = gaze_json_opt_string(o, "shard_from", path, "", &from)) ||
        (s = gaze_json_opt_int(o, "input_size", path, -1, &st->input_size)) ||
        (s = gaze_json_opt_int(o, "range_begin", path, -1, &st->range_begin)) ||
        (s = gaze_json_opt_int(o, "range_end", path, -1, &st->range_end)) ||
        (s = gaze_json_opt_int(o, "next_offset", path, -1, &st->next_offset)))
        goto fail;
    if (split && strcmp(split, "bytes")) { s = gaze_error(GAZE_ERR_FORMAT, "%s: field split: \"%s\" (this gaze knows \"bytes\")", path, split); goto fail; }
    if (st->input_size >= 0 && (s = gaze_json_parse_hex64(hash, path, "input_hash", &st->input_hash))) goto fail;
    if (st->range_begin > st->range_end || (st->input_size >= 0 && st->range_end > st->input_size)) {
        s = gaze_error(GAZE_ERR_FORMAT, "%s: fields range_begin/range_end: %lld..%lld not a byte range of the input", path,
                       (long long)st->range_begin, (long long)st->range_end);
        goto fail;
    }
    snprintf(st->shard_from, sizeof st->shard_from, "%s", from);
    if (strcmp(err, "mul") && strcmp(err, "abs")) { s = gaze_error(GAZE_ERR_FORMAT, "%s: field detector_error: \"%s\" (mul or abs)", path, err); goto fail; }
    st->det.error = strcmp(err, "abs") ? GAZE_DETECTOR_ERROR_MUL : GAZE_DETECTOR_ERROR_ABS;
    if ((s = gaze_json_get_array(o, "shards", path, &shards))) goto fail;
    for (size_t i = 0; i < json_array_size(shards); i++) {
        json_t * e = json_array_get(shards, i);
        v = json_is_integer(e) ? json_integer_value(e) : -1;
        if (v < 0 || v >= n_shards) { s = gaze_error(GAZE_ERR_FORMAT, "%s: field shards[%zu]: not a shard index in 0..%lld", path, i, (long long)(n_shards - 1)); goto fail; }
        st->shards[v] = 1;
    }
    const size_t n = cells(st);
    if ((s = read_arr(o, "count", path, n, true, st->count, NULL)) || (s = read_arr(o, "mean", path, n, false, NULL, st->mean)) ||
        (s = read_arr(o, "m2", path, n, false, NULL, st->m2)))
        goto fail;
    for (size_t c = 0; c < n; c++)
        if (st->count[c] > st->n_docs || st->m2[c] < 0) {
            s = gaze_error(GAZE_ERR_FORMAT, "%s: cell %zu: count %lld above n_docs %lld or negative m2", path, c,
                           (long long)st->count[c], (long long)st->n_docs);
            goto fail;
        }
    if ((model && !(st->model = strdup(model))) || (source && !(st->source = strdup(source)))) {
        s = gaze_error(GAZE_ERR_NOMEM, "corpus: out of memory");
        goto fail;
    }
    json_decref(o);
    return GAZE_OK;
fail:
    json_decref(o);
    gaze_head_stats_free(st);
    return s;
}

/* ---- documents --------------------------------------------------------------------------- */

struct gaze_corpus {
    struct gaze_model *        model;   // borrowed
    struct analysis_tok        tok;     // to cut decoder documents at max_len tokens
    struct gaze_encoding       enc;     // scratch for the cut
    struct gaze_head_stats     stats;
    struct gaze_head_metrics * m;       // [n_layers · n_heads] one document's metrics
    char *                     buf;     // NUL-terminated copy of the document
    size_t                     buf_cap;
    int                        n_threads;
    int                        kind;    // enum gaze_kind + 1; 0: the run as the model gives it
};

void gaze_corpus_set_kind(struct gaze_corpus * c, enum gaze_kind kind) { if (c) c->kind = (int)kind + 1; }

enum gaze_status gaze_corpus_init(struct gaze_corpus ** out, struct gaze_model * model,
                                  const struct gaze_detector_opts * det, int64_t max_len,
                                  int64_t n_shards, int n_threads) {
    if (!out || !model) return gaze_error(GAZE_ERR_INVALID_ARG, "corpus: NULL argument");
    *out = NULL;
    const struct gaze_model_info * info = gaze_model_info(model);
    struct gaze_corpus * c = calloc(1, sizeof *c);
    if (!c) return gaze_error(GAZE_ERR_NOMEM, "corpus: out of memory");
    c->model = model;
    c->n_threads = n_threads;
    enum gaze_status s = gaze_head_stats_init(&c->stats, info->n_layers, info->n_heads, n_shards);
    if (!s && info->arch != GAZE_ARCH_BERT && max_len > 0) s = analysis_tok_open(&c->tok, info);
    if (!s && !(c->m = calloc((size_t)(info->n_layers * info->n_heads), sizeof *c->m)))
        s = gaze_error(GAZE_ERR_NOMEM, "corpus: out of memory");
    if (!s && !(c->stats.model = strdup(info->path))) s = gaze_error(GAZE_ERR_NOMEM, "corpus: out of memory");
    if (s) { gaze_corpus_free(c); return s; }
    c->stats.n_kv_heads = info->n_kv_heads;
    c->stats.max_len = max_len > 0 ? max_len : 0;
    if (det) c->stats.det = *det;
    c->stats.next_line = 0;
    *out = c;
    return GAZE_OK;
}

void gaze_corpus_free(struct gaze_corpus * c) {
    if (!c) return;
    analysis_tok_close(&c->tok);
    gaze_encoding_free(&c->enc);
    gaze_head_stats_free(&c->stats);
    free(c->m);
    free(c->buf);
    free(c);
}

struct gaze_head_stats * gaze_corpus_stats(struct gaze_corpus * c) { return c ? &c->stats : NULL; }

enum gaze_status gaze_corpus_add(struct gaze_corpus * c, const char * text, size_t n) {
    if (!c || (!text && n)) return gaze_error(GAZE_ERR_INVALID_ARG, "corpus: NULL argument");
    size_t keep = n;
    enum gaze_status s;
    if (c->tok.tok && (s = analysis_tok_cut(&c->tok, text, n, c->stats.max_len, &c->enc, &keep))) return s;
    if (keep + 1 > c->buf_cap) {
        size_t cap = GAZE_MAX(keep + 1, 2 * c->buf_cap);
        char * b = realloc(c->buf, cap);
        if (!b) return gaze_error(GAZE_ERR_NOMEM, "corpus: out of memory for a %zu-byte document", keep);
        c->buf = b;
        c->buf_cap = cap;
    }
    memcpy(c->buf, text, keep);
    c->buf[keep] = '\0';
    struct gaze_run_opts ro = { 0 };
    ro.n_threads = c->n_threads;
    ro.max_len = c->stats.max_len;   // encoders cut here (decoders were cut above)
    ro.truncate = true;
    struct gaze_run run;
    if ((s = gaze_model_run(c->model, c->buf, NULL, &ro, &run))) return s;
    const struct gaze_run * v = c->kind ? gaze_run_select_kind(&run, (enum gaze_kind)(c->kind - 1)) : &run;
    if (!v) s = GAZE_ERR_INVALID_ARG;
    else if (v->n_cap_layers * v->n_heads_cap > c->stats.n_layers * c->stats.n_heads)
        s = gaze_error(GAZE_ERR_UNSUPPORTED, "corpus: the %s attention has %lld layers x %lld heads, the statistics "
                       "(the model's) %lld x %lld", gaze_kind_name((enum gaze_kind)(c->kind - 1)), (long long)v->n_layers,
                       (long long)v->n_heads, (long long)c->stats.n_layers, (long long)c->stats.n_heads);
    if (!s) s = gaze_head_metrics_compute(v, &c->stats.det, NULL, c->m, c->n_threads);
    if (!s) s = gaze_head_stats_add(&c->stats, c->m, v->n_cap_layers * v->n_heads_cap, v->T);
    gaze_run_free(&run);
    return s;
}

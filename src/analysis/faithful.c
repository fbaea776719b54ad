// Is an attribution faithful (does removing what it ranks first change the model's output) and
// plausible (does it rank the human/constructed evidence first)? ERASER's comprehensiveness and
// sufficiency (DeYoung et al. 2020), deletion/insertion curves (Petsiuk et al. 2018), token
// AUPRC, F1 at k and IOU-F1 (reference/interpretability.md §17). Removal deletes the tokens'
// bytes and re-runs the real model; values of texts already seen come from a per-input cache.
#include "analysis/analysis.h"
#include <math.h>
#include <string.h>

struct cache_entry { char * text; double value; };
struct gaze_value_cache {
    struct cache_entry * e;
    int64_t n, cap;
};

enum gaze_status gaze_value_cache_init(struct gaze_value_cache ** c) {
    if (!c) return gaze_error(GAZE_ERR_INVALID_ARG, "value cache: NULL");
    if (!(*c = calloc(1, sizeof **c))) return gaze_error(GAZE_ERR_NOMEM, "value cache: out of memory");
    return GAZE_OK;
}

void gaze_value_cache_clear(struct gaze_value_cache * c) {
    for (int64_t i = 0; c && i < c->n; i++) free(c->e[i].text);
    if (c) c->n = 0;
}

void gaze_value_cache_free(struct gaze_value_cache * c) {
    if (!c) return;
    gaze_value_cache_clear(c);
    free(c->e);
    free(c);
}

// target value of text, from the cache when seen (linear search: a few hundred texts per input)
static enum gaze_status value_of(struct gaze_model * model, const char * text, const struct gaze_target * t,
                                 struct gaze_value_cache * c, int n_threads, double * v, int64_t * passes) {
    for (int64_t i = 0; c && i < c->n; i++)
        if (!strcmp(c->e[i].text, text)) { *v = c->e[i].value; return GAZE_OK; }
    enum gaze_status s = gaze_target_value(model, text, t, n_threads, v);
    if (s) return s;
    (*passes)++;
    if (!c) return GAZE_OK;
    if (c->n == c->cap) {
        const int64_t cap = c->cap ? 2 * c->cap : 64;
        struct cache_entry * e = realloc(c->e, (size_t)cap * sizeof *e);
        if (!e) return GAZE_OK;   // a cache that cannot grow only costs time
        c->e = e;
        c->cap = cap;
    }
    if ((c->e[c->n].text = strdup(text))) c->e[c->n++].value = *v;
    return GAZE_OK;
}

// Candidates (tokens with text in the first sequence) ranked by score: order [n], *n.
static enum gaze_status rank(const struct gaze_run * run, const double * scores, int64_t ** order, int64_t * n) {
    if (!run->offsets) return gaze_error(GAZE_ERR_INVALID_ARG, "faithfulness: the run has no token offsets");
    int64_t * o = malloc((size_t)(run->T ? run->T : 1) * sizeof *o);
    if (!o) return gaze_error(GAZE_ERR_NOMEM, "faithfulness: out of memory");
    int64_t m = 0;
    for (int64_t j = 0; j < run->T; j++)
        if (run->offsets[2 * j + 1] > run->offsets[2 * j] && (!run->sequence_ids || run->sequence_ids[j] == 0)) o[m++] = j;
    // insertion sort, stable: score descending, ties by index (n is small: one input)
    for (int64_t a = 1; a < m; a++) {
        const int64_t x = o[a];
        int64_t b = a;
        while (b > 0 && scores[o[b - 1]] < scores[x]) { o[b] = o[b - 1]; b--; }
        o[b] = x;
    }
    *order = o;
    *n = m;
    return GAZE_OK;
}

// target of the text with the top m of order kept (keep_top) or deleted
static enum gaze_status value_top(struct gaze_model * model, const struct gaze_run * run, const int64_t * order,
                                  int64_t n, int64_t m, bool keep_top, const struct gaze_target * t,
                                  struct gaze_value_cache * c, int n_threads, uint8_t * keep, double * v,
                                  int64_t * passes) {
    memset(keep, 1, (size_t)run->T);
    for (int64_t r = 0; r < n; r++) keep[order[r]] = keep_top ? r < m : r >= m;
    char * text = NULL;
    enum gaze_status s = gaze_text_keep_tokens(run, keep, &text);
    if (!s) s = value_of(model, text, t, c, n_threads, v, passes);
    free(text);
    return s;
}

enum gaze_status gaze_faithfulness(struct gaze_model * model, const struct gaze_run * run, const double * scores,
                                   const struct gaze_target * t, struct gaze_value_cache * cache, int n_threads,
                                   struct gaze_faith * out) {
    if (!model || !run || !scores || !t || !out) return gaze_error(GAZE_ERR_INVALID_ARG, "faithfulness: NULL argument");
    memset(out, 0, sizeof *out);
    int64_t * order = NULL, n = 0;
    enum gaze_status s = rank(run, scores, &order, &n);
    if (s) return s;
    if (n < 2) { free(order); return gaze_error(GAZE_ERR_INVALID_ARG, "faithfulness: the input has %lld token(s) with text; "
                                                "it needs 2 at least", (long long)n); }
    uint8_t * keep = malloc((size_t)run->T);
    if (!keep) { free(order); return gaze_error(GAZE_ERR_NOMEM, "faithfulness: out of memory"); }
    static const double pct[GAZE_FAITH_K] = GAZE_FAITH_K_FRACTIONS;
    for (int k = 0; k < GAZE_FAITH_K && !s; k++) {
        int64_t m = (int64_t)ceil(pct[k] * (double)n);
        m = GAZE_MIN(GAZE_MAX(m, 1), n - 1);
        double vd = 0, vk = 0;
        s = value_top(model, run, order, n, m, false, t, cache, n_threads, keep, &vd, &out->passes);
        if (!s) s = value_top(model, run, order, n, m, true, t, cache, n_threads, keep, &vk, &out->passes);
        out->comp[k] = t->value - vd;
        out->suff[k] = t->value - vk;
        out->comp_aopc += out->comp[k] / GAZE_FAITH_K;
        out->suff_aopc += out->suff[k] / GAZE_FAITH_K;
    }
    for (int p = 0; p < GAZE_FAITH_POINTS && !s; p++) {
        const double f = (double)p / (GAZE_FAITH_POINTS - 1);
        const int64_t m = llround(f * (double)n);
        s = value_top(model, run, order, n, GAZE_MIN(m, n - 1), false, t, cache, n_threads, keep, &out->deletion[p],
                      &out->passes);
        if (!s) s = value_top(model, run, order, n, GAZE_MAX(m, 1), true, t, cache, n_threads, keep, &out->insertion[p],
                              &out->passes);
    }
    for (int p = 0; p + 1 < GAZE_FAITH_POINTS && !s; p++) {
        out->deletion_auc += 0.5 * (out->deletion[p] + out->deletion[p + 1]) / (GAZE_FAITH_POINTS - 1);
        out->insertion_auc += 0.5 * (out->insertion[p] + out->insertion[p + 1]) / (GAZE_FAITH_POINTS - 1);
    }
    free(keep);
    free(order);
    return s;
}

enum gaze_status gaze_plausibility(const struct gaze_run * run, const double * scores, const int64_t * spans,
                                   int64_t n_spans, struct gaze_plaus * out) {
    if (!run || !scores || (!spans && n_spans) || !out) return gaze_error(GAZE_ERR_INVALID_ARG, "plausibility: NULL argument");
    out->auprc = out->f1_at_k = out->iou_f1 = NAN;
    int64_t * order = NULL, n = 0;
    enum gaze_status s = rank(run, scores, &order, &n);
    if (s) return s;
    const int64_t T = run->T;
    // span_of[j]: the first span token j overlaps (-1: none); top[j]: in the top k
    int64_t * span_of = malloc((size_t)(T ? T : 1) * sizeof *span_of);
    uint8_t * top = calloc((size_t)(T ? T : 1), 1), * cand = calloc((size_t)(T ? T : 1), 1);
    if (!span_of || !top || !cand) { s = gaze_error(GAZE_ERR_NOMEM, "plausibility: out of memory"); goto done; }
    int64_t n_rel = 0;
    for (int64_t r = 0; r < n; r++) cand[order[r]] = 1;
    for (int64_t j = 0; j < T; j++) {
        span_of[j] = -1;
        const int64_t b = run->offsets[2 * j], e = run->offsets[2 * j + 1];
        for (int64_t q = 0; cand[j] && q < n_spans && span_of[j] < 0; q++)
            if (b < spans[2 * q + 1] && spans[2 * q] < e) span_of[j] = q;
        n_rel += span_of[j] >= 0;
    }
    if (n_rel == 0) goto done;
    double hits = 0, ap = 0;
    for (int64_t r = 0; r < n; r++)
        if (span_of[order[r]] >= 0) { hits++; ap += hits / (double)(r + 1); }
    out->auprc = ap / (double)n_rel;
    const int64_t k = n_rel;
    int64_t tp = 0;
    for (int64_t r = 0; r < k && r < n; r++) { top[order[r]] = 1; tp += span_of[order[r]] >= 0; }
    out->f1_at_k = (double)tp / (double)k;   // precision = recall when k = evidence tokens
    // IOU-F1: predicted spans = maximal runs of consecutive candidates in the top k
    int64_t n_pred = 0, pred_ok = 0, gold_ok = 0, n_gold = 0;
    uint8_t * gold_hit = calloc((size_t)(n_spans ? n_spans : 1), 1);
    if (!gold_hit) { s = gaze_error(GAZE_ERR_NOMEM, "plausibility: out of memory"); goto done; }
    for (int64_t q = 0; q < n_spans; q++) {
        bool any = false;
        for (int64_t j = 0; j < T && !any; j++) any = span_of[j] == q;
        n_gold += any;
    }
    for (int64_t j = 0; j < T;) {
        if (!top[j]) { j++; continue; }
        int64_t e = j;
        while (e < T && top[e]) e++;
        n_pred++;
        bool matched = false;
        for (int64_t q = 0; q < n_spans; q++) {
            int64_t inter = 0, gold = 0;
            for (int64_t x = 0; x < T; x++) {
                gold += span_of[x] == q;
                inter += span_of[x] == q && x >= j && x < e;
            }
            const double iou = gold ? (double)inter / (double)(gold + (e - j) - inter) : 0;
            if (iou >= 0.5) { matched = true; gold_hit[q] = 1; }
        }
        pred_ok += matched;
        j = e;
    }
    for (int64_t q = 0; q < n_spans; q++) gold_ok += gold_hit[q];
    free(gold_hit);
    const double P = n_pred ? (double)pred_ok / (double)n_pred : 0, R = n_gold ? (double)gold_ok / (double)n_gold : 0;
    out->iou_f1 = P + R > 0 ? 2 * P * R / (P + R) : 0;
done:
    free(span_of); free(top); free(cand); free(order);
    return s;
}

// Cross-attention of encoder-decoder runs (the cross part, T_keys > 0): the alignment matrix
// (target × source, mean or one head, tokens or words), alignment entropy of each target token
// and head, and the coverage of each source token (how much attention it receives in all).
#include "analysis/analysis.h"
#include <math.h>
#include <string.h>

static enum gaze_status need_cross(const struct gaze_run * run, const char * what) {
    if (!run) return gaze_error(GAZE_ERR_INVALID_ARG, "%s: NULL run", what);
    if (!run->T_keys || !run->key_tokens)
        return gaze_error(GAZE_ERR_INVALID_ARG, "%s: needs cross-attention (an encoder-decoder run's cross kind, "
                          "target tokens over source tokens)", what);
    for (int64_t l = 0; l < run->n_cap_layers; l++)
        if (!run->layers[l].attn)
            return gaze_error(GAZE_ERR_INVALID_ARG, "%s: cross layer %lld has no captured attention", what,
                              (long long)run->layers[l].index);
    return GAZE_OK;
}

enum gaze_status gaze_cross_entropy(const struct gaze_run * run, double * row_entropy, double * head_entropy) {
    enum gaze_status s = need_cross(run, "cross entropy");
    if (s) return s;
    const int64_t Tq = run->Tq, Ts = run->T_keys, Hc = run->n_heads_cap;
    for (int64_t l = 0; l < run->n_cap_layers; l++)
        for (int64_t h = 0; h < Hc; h++) {
            const float * A = run->layers[l].attn + h * Tq * Ts;
            double sum = 0;
            int64_t rows = 0;
            for (int64_t i = 0; i < Tq; i++) {
                double H = 0, tot = 0;
                for (int64_t j = 0; j < Ts; j++) {
                    const double x = A[i * Ts + j];
                    tot += x;
                    if (x > 0) H -= x * log(x);
                }
                const bool masked = !(tot > 0);
                if (row_entropy) row_entropy[(l * Hc + h) * Tq + i] = masked ? NAN : H;
                if (!masked) { sum += H; rows++; }
            }
            if (head_entropy) head_entropy[l * Hc + h] = rows ? sum / (double)rows : NAN;
        }
    return GAZE_OK;
}

enum gaze_status gaze_cross_coverage(const struct gaze_run * run, double * coverage) {
    enum gaze_status s = need_cross(run, "cross coverage");
    if (s) return s;
    if (!coverage) return gaze_error(GAZE_ERR_INVALID_ARG, "cross coverage: NULL output");
    const int64_t Tq = run->Tq, Ts = run->T_keys, Hc = run->n_heads_cap;
    for (int64_t l = 0; l < run->n_cap_layers; l++)
        for (int64_t h = 0; h < Hc; h++) {
            const float * A = run->layers[l].attn + h * Tq * Ts;
            double * c = coverage + (l * Hc + h) * Ts;
            for (int64_t j = 0; j < Ts; j++) c[j] = 0;
            for (int64_t i = 0; i < Tq; i++)
                for (int64_t j = 0; j < Ts; j++) c[j] += A[i * Ts + j];
        }
    return GAZE_OK;
}

void gaze_alignment_free(struct gaze_alignment * a) {
    if (!a) return;
    for (int64_t i = 0; a->row_labels && i < a->n_rows; i++) free(a->row_labels[i]);
    for (int64_t j = 0; a->col_labels && j < a->n_cols; j++) free(a->col_labels[j]);
    free(a->row_labels);
    free(a->col_labels);
    free(a->row_first);
    free(a->col_first);
    free(a->m);
    memset(a, 0, sizeof *a);
}

// Labels and first tokens of the words (or tokens) of one side.
static enum gaze_status side_labels(const struct gaze_words * w, char *** labels, int64_t ** first) {
    *labels = calloc((size_t)GAZE_MAX(w->n_words, 1), sizeof **labels);
    *first = malloc((size_t)GAZE_MAX(w->n_words, 1) * sizeof **first);
    if (!*labels || !*first) return gaze_error(GAZE_ERR_NOMEM, "alignment: out of memory");
    for (int64_t i = 0; i < w->n_words; i++) {
        if (!((*labels)[i] = strdup(w->text[i]))) return gaze_error(GAZE_ERR_NOMEM, "alignment: out of memory");
        (*first)[i] = w->first[i];
    }
    return GAZE_OK;
}

enum gaze_status gaze_cross_alignment(const struct gaze_run * run, int64_t layer, int64_t head, bool words,
                                      struct gaze_alignment * out) {
    memset(out, 0, sizeof *out);
    enum gaze_status s = need_cross(run, "alignment");
    if (s) return s;
    const struct gaze_run_layer * ly = gaze_run_find_layer(run, layer);
    if (!ly) return gaze_error(GAZE_ERR_INVALID_ARG, "alignment: cross layer %lld was not captured", (long long)layer);
    int64_t slot = -1;
    for (int64_t h = 0; head >= 0 && h < run->n_heads_cap; h++) if (run->heads[h] == head) slot = h;
    if (head >= 0 && slot < 0)
        return gaze_error(GAZE_ERR_INVALID_ARG, "alignment: cross head %lld was not captured", (long long)head);
    const int64_t Tq = run->Tq, Ts = run->T_keys, Tt = run->T, Hc = run->n_heads_cap;
    const enum gaze_word_style style = words ? GAZE_WORD_STYLE_AUTO : GAZE_WORD_STYLE_NONE;
    struct gaze_words wt = { 0 }, ws = { 0 };
    int64_t * rg = malloc((size_t)Tq * sizeof *rg);
    float * mean = malloc((size_t)(Tq * Ts) * sizeof *mean);
    // special tokens (<s>, </s>, <pad>, ...) stay words of their own
    uint8_t * spt = malloc((size_t)Tt), * sps = malloc((size_t)Ts);
    if (!rg || !mean || !spt || !sps) s = gaze_error(GAZE_ERR_NOMEM, "alignment: out of memory");
    for (int64_t i = 0; !s && i < Tt; i++) spt[i] = gaze_token_is_special_text(run->tokens[i]);
    for (int64_t j = 0; !s && j < Ts; j++) sps[j] = gaze_token_is_special_text(run->key_tokens[j]);
    if (!s) s = gaze_words_init(&wt, (const char * const *)run->tokens, Tt, spt, style, false);
    if (!s) s = gaze_words_init(&ws, (const char * const *)run->key_tokens, Ts, sps, style, false);
    // rows: the target words that have a captured row, in order
    int64_t * rowmap = s ? NULL : malloc((size_t)GAZE_MAX(wt.n_words, 1) * sizeof *rowmap);
    int64_t nq = 0;
    if (!s && !rowmap) s = gaze_error(GAZE_ERR_NOMEM, "alignment: out of memory");
    struct gaze_words kept = { 0 };   // the target words with rows, for labels
    if (!s) {
        for (int64_t w = 0; w < wt.n_words; w++) rowmap[w] = -1;
        kept.n_words = 0;
        kept.text = calloc((size_t)GAZE_MAX(wt.n_words, 1), sizeof *kept.text);
        kept.first = malloc((size_t)GAZE_MAX(wt.n_words, 1) * sizeof *kept.first);
        if (!kept.text || !kept.first) s = gaze_error(GAZE_ERR_NOMEM, "alignment: out of memory");
        for (int64_t i = 0; !s && i < Tq; i++) {
            const int64_t w = wt.token_word[run->q_rows[i]];
            if (w >= 0 && rowmap[w] < 0) {
                rowmap[w] = nq;
                kept.text[nq] = wt.text[w];
                kept.first[nq] = wt.first[w];
                nq++;
            }
            rg[i] = w >= 0 ? rowmap[w] : -1;
        }
        kept.n_words = nq;
    }
    if (!s) {
        // one head, or the mean over the captured heads, before grouping (grouping is linear)
        if (slot >= 0) memcpy(mean, ly->attn + slot * Tq * Ts, (size_t)(Tq * Ts) * sizeof *mean);
        else s = gaze_attn_reduce_heads(ly->attn, Hc, Tq, Ts, NULL, 0, GAZE_HEAD_REDUCE_MEAN, mean);
    }
    if (!s && !(out->m = malloc((size_t)GAZE_MAX(nq * ws.n_words, 1) * sizeof *out->m)))
        s = gaze_error(GAZE_ERR_NOMEM, "alignment: out of memory");
    if (!s) s = gaze_attn_group(mean, 1, Tq, Ts, rg, nq, ws.token_word, ws.n_words, false, out->m);
    if (!s) {
        out->n_rows = nq;
        out->n_cols = ws.n_words;
        out->layer = layer;
        out->head = slot >= 0 ? head : -1;
        s = side_labels(&kept, &out->row_labels, &out->row_first);
        if (!s) s = side_labels(&ws, &out->col_labels, &out->col_first);
    }
    free(kept.text);
    free(kept.first);
    free(rowmap);
    free(rg);
    free(mean);
    free(spt);
    free(sps);
    gaze_words_free(&wt);
    gaze_words_free(&ws);
    if (s) gaze_alignment_free(out);
    return s;
}

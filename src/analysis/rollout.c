// Attention rollout (Abnar & Zuidema 2020) with the jacobgil/vit-explain options done right:
// heads fused by mean/max/min, the lowest entries discarded except attention to the first
// token, the residual mixed in as 0.5·A + 0.5·I and every row divided by its own sum (the
// reference code divides by a broadcast [N] vector: columns, not rows). Formulas:
// reference/interpretability.md §1. The sink-aware variant (a display aid for decoders, whose
// rollout piles onto the first token, the attention sink of reference/interpretability.md §6)
// drops key column 0 from each fused layer and renormalises the rows before the residual.
#include "analysis/analysis.h"
#include <math.h>
#include <string.h>

struct discard_entry { double v; int64_t idx; };

static int cmp_entry(const void * a, const void * b) {
    const struct discard_entry * x = a, * y = b;
    if (x->v != y->v) return x->v < y->v ? -1 : 1;
    return (x->idx > y->idx) - (x->idx < y->idx);   // ties: lower flat index first
}

static enum gaze_status check_opts(const struct gaze_rollout_opts * o, const char * what) {
    if ((unsigned)o->fusion > GAZE_HEAD_FUSION_MIN)
        return gaze_error(GAZE_ERR_INVALID_ARG, "%s: unknown head fusion %d", what, (int)o->fusion);
    if (!(o->discard_ratio >= 0 && o->discard_ratio < 1))
        return gaze_error(GAZE_ERR_INVALID_ARG, "%s: discard ratio %g outside [0, 1)", what, o->discard_ratio);
    return GAZE_OK;
}

enum gaze_status gaze_rollout_layer(const struct gaze_run * run, int64_t li,
                                    const struct gaze_rollout_opts * opts, double * out) {
    static const struct gaze_rollout_opts defaults;
    if (!opts) opts = &defaults;
    if (!run || !out) return gaze_error(GAZE_ERR_INVALID_ARG, "rollout: NULL argument");
    enum gaze_status s = analysis_check_square(run, "rollout");
    if (s || (s = check_opts(opts, "rollout"))) return s;
    if (li < 0 || li >= run->n_cap_layers)
        return gaze_error(GAZE_ERR_INVALID_ARG, "rollout: captured layer %lld out of range 0..%lld",
                          (long long)li, (long long)(run->n_cap_layers - 1));
    const int64_t T = run->T, H = run->n_heads_cap;
    const float * attn = run->layers[li].attn;   // [H, T, T]
    if (opts->head_weights) {   // weighted mean of the heads (gaze_rollout_opts.head_weights)
        if (opts->fusion != GAZE_HEAD_FUSION_MEAN)
            return gaze_error(GAZE_ERR_INVALID_ARG, "rollout: head weights go with mean fusion only");
        const double * w = opts->head_weights + li * H;
        double tot = 0;
        for (int64_t h = 0; h < H; h++) {
            if (!(w[h] >= 0) || !isfinite(w[h]))
                return gaze_error(GAZE_ERR_INVALID_ARG, "rollout: head weight %g of layer %lld head %lld is not finite and >= 0",
                                  w[h], (long long)li, (long long)h);
            tot += w[h];
        }
        if (tot <= 0) {   // no head carries weight here: the residual alone, Â = I
            for (int64_t i = 0; i < T * T; i++) out[i] = i / T == i % T;
            return GAZE_OK;
        }
        for (int64_t i = 0; i < T * T; i++) {
            double f = 0;
            for (int64_t h = 0; h < H; h++) f += w[h] * attn[h * T * T + i];
            out[i] = f / tot;
        }
    }
    // fused heads
    for (int64_t i = 0; !opts->head_weights && i < T * T; i++) {
        double f = attn[i];
        for (int64_t h = 1; h < H; h++) {
            double x = attn[h * T * T + i];
            if (opts->fusion == GAZE_HEAD_FUSION_MEAN) f += x;
            else if (opts->fusion == GAZE_HEAD_FUSION_MAX) f = x > f ? x : f;
            else f = x < f ? x : f;
        }
        out[i] = opts->fusion == GAZE_HEAD_FUSION_MEAN ? f / (double)H : f;
    }
    // sink-aware display variant: the first key's column left out of every row that has other
    // visible keys, the rest renormalised (rows with nothing else left become 0: residual only).
    // Row 0 (the sink itself) keeps its weights.
    if (opts->sink_aware)
        for (int64_t i = 1; i < T; i++) {
            double * row = out + i * T, sum = 0;
            row[0] = 0;
            for (int64_t j = 1; j < T; j++) sum += row[j];
            for (int64_t j = 1; j < T; j++) row[j] = sum > 0 ? row[j] / sum : 0;
        }
    // discard: candidates are the visible entries outside key column 0
    if (opts->discard_ratio > 0 && T > 1) {
        int64_t n_cand = 0;
        for (int64_t i = 0; i < T; i++) n_cand += (run->causal ? i + 1 : T) - 1;
        const int64_t k = (int64_t)floor(opts->discard_ratio * (double)n_cand);
        if (k > 0) {
            struct discard_entry * e = malloc((size_t)n_cand * sizeof *e);
            if (!e) return gaze_error(GAZE_ERR_NOMEM, "rollout: out of memory");
            int64_t c = 0;
            for (int64_t i = 0; i < T; i++)
                for (int64_t j = 1; j < (run->causal ? i + 1 : T); j++) { e[c].v = out[i * T + j]; e[c].idx = i * T + j; c++; }
            qsort(e, (size_t)n_cand, sizeof *e, cmp_entry);
            for (int64_t m = 0; m < k; m++) out[e[m].idx] = 0;
            free(e);
        }
    }
    // residual and explicit per-row renormalisation
    for (int64_t i = 0; i < T; i++) {
        double * row = out + i * T, sum = 0;
        for (int64_t j = 0; j < T; j++) { row[j] = 0.5 * row[j] + (i == j ? 0.5 : 0.0); sum += row[j]; }
        for (int64_t j = 0; j < T; j++) row[j] /= sum;   // sum >= 0.5: the diagonal
    }
    return GAZE_OK;
}

enum gaze_status gaze_rollout(const struct gaze_run * run, const struct gaze_rollout_opts * opts,
                              double * out) {
    if (!run || !out) return gaze_error(GAZE_ERR_INVALID_ARG, "rollout: NULL argument");
    enum gaze_status s = analysis_check_square(run, "rollout");
    if (s) return s;
    const int64_t T = run->T;
    size_t bytes;
    if (gaze_mul_ovf((size_t)T * (size_t)T, 2 * sizeof(double), &bytes))
        return gaze_error(GAZE_ERR_LIMIT, "rollout: %lld tokens is too many", (long long)T);
    double * a = gaze_alloc_aligned(bytes), * tmp = a ? a + T * T : NULL;
    if (!a) return gaze_error(GAZE_ERR_NOMEM, "rollout: out of memory for %lld tokens", (long long)T);
    if ((s = gaze_rollout_layer(run, 0, opts, out))) goto done;
    const int n_threads = opts && opts->n_threads > 0 ? opts->n_threads : gaze_default_threads();
    for (int64_t l = 1; l < run->n_cap_layers; l++) {
        if ((s = gaze_rollout_layer(run, l, opts, a))) goto done;
        // tmp = Â(l) · R: the newer layer multiplies from the left. Below ~200 tokens a layer
        // is a millisecond of work, less than waking the threads costs on a busy machine.
        // Causal runs: both factors are lower-triangular (row k of R is exactly zero beyond k),
        // so the skipped terms are exact zeros: same result, a third of the work, rows of
        // unequal cost (dynamic schedule).
        const bool causal = run->causal;
        #pragma omp parallel for schedule(dynamic, 8) num_threads(n_threads) if (T >= 192)
        for (int64_t i = 0; i < T; i++) {
            double * t = tmp + i * T;
            memset(t, 0, (size_t)T * sizeof *t);
            const int64_t kn = causal ? i + 1 : T;
            for (int64_t k = 0; k < kn; k++) {
                const double x = a[i * T + k];
                if (x == 0) continue;
                const double * r = out + k * T;
                const int64_t jn = causal ? k + 1 : T;
                for (int64_t j = 0; j < jn; j++) t[j] += x * r[j];
            }
        }
        memcpy(out, tmp, (size_t)(T * T) * sizeof *out);
    }
done:
    gaze_free_aligned(a);
    return s;
}

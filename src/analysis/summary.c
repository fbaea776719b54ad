// Readers of attention summaries (struct gaze_attn_summary, captured with --summary): the
// block pyramid every view draws and the per-head metrics that summaries settle exactly.
#include "analysis/analysis.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

int64_t gaze_summary_grid_side(const struct gaze_attn_summary * s, int level) {
    if (!s || !s->entropy || level < 0 || level > 30) return 0;
    const int64_t nb = (s->n_rows + s->block - 1) / s->block;
    return (nb + ((int64_t)1 << level) - 1) >> level;
}

enum gaze_status gaze_summary_block_map(const struct gaze_attn_summary * s, int64_t slot, int level,
                                        bool max, float * out) {
    const int64_t side = gaze_summary_grid_side(s, level);
    if (!side || !out || slot < -1 || slot >= s->n_heads || s->n_rows != s->n_keys)
        return gaze_error(GAZE_ERR_INVALID_ARG, "summary block map: no summary, bad level %d or head slot %lld",
                          level, (long long)slot);
    const int64_t nb = (s->n_rows + s->block - 1) / s->block, f = (int64_t)1 << level, T = s->n_rows;
    const int64_t h0 = slot < 0 ? 0 : slot, h1 = slot < 0 ? s->n_heads : slot + 1;
    for (int64_t r = 0; r < side; r++)
        for (int64_t c = 0; c < side; c++) {
            double sum = 0;
            float mx = 0;
            for (int64_t h = h0; h < h1; h++)
                for (int64_t br = r * f; br < GAZE_MIN(nb, (r + 1) * f); br++)
                    for (int64_t bc = c * f; bc < GAZE_MIN(nb, (c + 1) * f); bc++) {
                        const int64_t x = (h * nb + br) * nb + bc;
                        sum += s->block_sum[x];
                        if (s->block_max[x] > mx) mx = s->block_max[x];
                    }
            const int64_t b = s->block * f;
            const double cells = (double)(GAZE_MIN(b, T - r * b) * GAZE_MIN(b, T - c * b)) * (double)(h1 - h0);
            out[r * side + c] = max ? mx : (float)(sum / cells);
        }
    return GAZE_OK;
}

// Mean over the rows of one head's weight on key p + off, from its top-k list; NaN when a row
// leaves it open by more than 0.005 (the key not listed and the k-th weight above that).
static double keyed_mean(const struct gaze_attn_summary * s, int64_t slot, int64_t off) {
    const int64_t T = s->n_rows, k = s->top_k;
    double sum = 0;
    for (int64_t i = 0; i < T; i++) {
        const int64_t want = i + off;
        if (want < 0) continue;   // prev of row 0: 0
        const int32_t * keys = s->top_keys + (slot * T + i) * k;
        const float * w = s->top_weights + (slot * T + i) * k;
        int64_t r = 0;
        while (r < k && keys[r] != want) r++;
        if (r < k) sum += w[r];
        else if (keys[k - 1] >= 0 && w[k - 1] > 0.005f) return NAN;
    }
    return sum / (double)T;
}

enum gaze_status gaze_head_metrics_from_summary(const struct gaze_run * run,
                                                const struct gaze_head_thresholds * th,
                                                struct gaze_head_metrics * out) {
    if (!run || !out) return gaze_error(GAZE_ERR_INVALID_ARG, "head metrics: NULL argument");
    uint8_t * special = malloc((size_t)run->T);
    if (!special) return gaze_error(GAZE_ERR_NOMEM, "head metrics: out of memory");
    enum gaze_status st = gaze_run_special_tokens(run, special);
    // bos: key 0 is a special token other than [CLS] (as gaze_head_metrics_compute decides)
    const bool bos = st == GAZE_OK && special[0] && strcmp(run->tokens[0], "[CLS]");
    free(special);
    if (st != GAZE_OK) return st;
    const int64_t T = run->T, Hc = run->n_heads_cap, group = run->n_heads / run->n_kv_heads;
    for (int64_t li = 0; li < run->n_cap_layers; li++) {
        const struct gaze_run_layer * l = &run->layers[li];
        const struct gaze_attn_summary * s = &l->summary;
        if (!s->entropy)
            return gaze_error(GAZE_ERR_INVALID_ARG, "head metrics: layer %lld has no attention summaries", (long long)l->index);
        for (int64_t h = 0; h < Hc; h++) {
            struct gaze_head_metrics * m = &out[li * Hc + h];
            m->layer = l->index;
            m->head = run->heads[h];
            m->kv_head = run->heads[h] / group;
            for (int x = 0; x < GAZE_METRIC_COUNT; x++) m->v[x] = NAN;
            double ent = 0, ent_n = 0, maxw = 0, sink = 0;
            int64_t n_norm = 0;
            for (int64_t i = 0; i < T; i++) {
                const int64_t row = h * T + i, visible = run->causal ? i + 1 : T;
                ent += s->entropy[row];
                if (visible > 1) { ent_n += s->entropy[row] / log((double)visible); n_norm++; }
                maxw += s->top_weights[row * s->top_k];
                sink += s->sink[row];
            }
            m->v[GAZE_METRIC_ENTROPY] = ent / (double)T;
            m->v[GAZE_METRIC_ENTROPY_NORM] = n_norm ? ent_n / (double)n_norm : NAN;
            m->v[GAZE_METRIC_MAX_WEIGHT] = maxw / (double)T;
            m->v[GAZE_METRIC_SINK] = sink / (double)T;
            if (bos) m->v[GAZE_METRIC_BOS] = sink / (double)T;
            m->v[GAZE_METRIC_SELF] = keyed_mean(s, h, 0);
            m->v[GAZE_METRIC_PREV] = keyed_mean(s, h, -1);
            m->labels = gaze_head_labels(m->v, th);
        }
    }
    return GAZE_OK;
}

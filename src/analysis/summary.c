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

enum gaze_status gaze_run_summary_blocks(const struct gaze_run * run, int level, struct gaze_run * out) {
    gaze_run_init(out);
    const struct gaze_attn_summary * s0 = NULL;
    for (int64_t li = 0; li < run->n_cap_layers && !s0; li++)
        if (run->layers[li].summary.entropy) s0 = &run->layers[li].summary;
    if (!s0) return gaze_error(GAZE_ERR_INVALID_ARG, "summary blocks: the run holds no attention summaries");
    const int64_t side = gaze_summary_grid_side(s0, level), b = (int64_t)s0->block << level, T = run->T;
    if (side < 1) return gaze_error(GAZE_ERR_INVALID_ARG, "summary blocks: level %d out of range", level);
    enum gaze_status st = GAZE_OK;
    char ** labels = calloc((size_t)side, sizeof *labels);
    int32_t * ids = calloc((size_t)side, sizeof *ids);
    const size_t mlen = strlen(run->model ? run->model : "run") + 24;
    out->model = malloc(mlen);
    out->arch = strdup(run->arch ? run->arch : "?");
    if (!labels || !ids || !out->model || !out->arch) { st = gaze_error(GAZE_ERR_NOMEM, "summary blocks: out of memory"); goto done; }
    {   // "summary · " before the last path component, which views take as the title
        const char * m = run->model ? run->model : "run", * slash = strrchr(m, '/');
        const int dir = slash && slash[1] ? (int)(slash + 1 - m) : 0;
        snprintf(out->model, mlen, "%.*ssummary \u00b7 %s", dir, m, m + dir);
    }
    for (int64_t r = 0; r < side && !st; r++) {
        const int64_t a = r * b, z = GAZE_MIN(T, a + b) - 1;
        const size_t n = strlen(run->tokens[a]) + 48;
        if (!(labels[r] = malloc(n))) { st = gaze_error(GAZE_ERR_NOMEM, "summary blocks: out of memory"); break; }
        snprintf(labels[r], n, "%lld-%lld %s", (long long)a, (long long)z, run->tokens[a]);
        ids[r] = run->token_ids[a];
    }
    if (st) goto done;
    out->causal = run->causal;
    out->n_layers = run->n_layers;
    out->n_heads = run->n_heads;
    out->n_kv_heads = run->n_kv_heads;
    if ((st = gaze_run_set_tokens(out, side, (const char * const *)labels, NULL, ids, NULL))) goto done;
    if ((st = gaze_run_set_capture(out, run->heads, run->n_heads_cap, NULL, side))) goto done;
    for (int64_t li = 0; li < run->n_cap_layers && !st; li++) {
        const struct gaze_attn_summary * s = &run->layers[li].summary;
        if (!s->entropy) continue;
        struct gaze_run_layer * l;
        if ((st = gaze_run_add_layer(out, run->layers[li].index, GAZE_RUN_PART_ATTN, &l))) break;
        for (int64_t h = 0; h < run->n_heads_cap && !st; h++) {
            float * m = l->attn + h * side * side;
            if ((st = gaze_summary_block_map(s, h, level, false, m))) break;
            // mean over the block's cells -> mass per row of the row block: mean · key columns
            for (int64_t r = 0; r < side; r++)
                for (int64_t c = 0; c < side; c++)
                    m[r * side + c] = (float)((double)m[r * side + c] * (double)GAZE_MIN(b, T - c * b));
        }
    }
done:
    for (int64_t r = 0; labels && r < side; r++) free(labels[r]);
    free(labels);
    free(ids);
    if (st) gaze_run_free(out);
    return st;
}

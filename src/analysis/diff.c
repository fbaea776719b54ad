// Per-head Jensen–Shannon divergence between two runs of the same shape (two inputs with the
// same token count, or two models with the same layers and heads on one input).
#include "analysis/analysis.h"
#include <math.h>

enum gaze_status gaze_head_jsd(const struct gaze_run * a, const struct gaze_run * b, double * out) {
    if (!a || !b || !out) return gaze_error(GAZE_ERR_INVALID_ARG, "diff: NULL argument");
    if (a->T != b->T || a->Tq != b->Tq || a->n_heads_cap != b->n_heads_cap || a->n_cap_layers != b->n_cap_layers)
        return gaze_error(GAZE_ERR_INVALID_ARG, "diff: the runs differ in shape: %lld vs %lld tokens, %lld vs %lld rows, "
                          "%lld vs %lld heads, %lld vs %lld layers", (long long)a->T, (long long)b->T, (long long)a->Tq,
                          (long long)b->Tq, (long long)a->n_heads_cap, (long long)b->n_heads_cap,
                          (long long)a->n_cap_layers, (long long)b->n_cap_layers);
    if (a->T_keys != b->T_keys)
        return gaze_error(GAZE_ERR_INVALID_ARG, "diff: the runs differ in keys: %lld vs %lld", (long long)gaze_run_n_keys(a),
                          (long long)gaze_run_n_keys(b));
    const int64_t T = gaze_run_n_keys(a), Tq = a->Tq, H = a->n_heads_cap;
    for (int64_t r = 0; r < Tq; r++)
        if ((a->q_rows ? a->q_rows[r] : r) != (b->q_rows ? b->q_rows[r] : r))
            return gaze_error(GAZE_ERR_INVALID_ARG, "diff: captured row %lld is token %lld in one run, %lld in the other",
                              (long long)r, (long long)(a->q_rows ? a->q_rows[r] : r), (long long)(b->q_rows ? b->q_rows[r] : r));
    for (int64_t l = 0; l < a->n_cap_layers; l++)
        if (!a->layers[l].attn || !b->layers[l].attn)
            return gaze_error(GAZE_ERR_INVALID_ARG, "diff: captured layer %lld has no attention in one run", (long long)l);
    for (int64_t l = 0; l < a->n_cap_layers; l++)
        for (int64_t h = 0; h < H; h++) {
            const float * pa = a->layers[l].attn + h * Tq * T, * pb = b->layers[l].attn + h * Tq * T;
            double sum = 0;
            int64_t rows = 0;
            for (int64_t r = 0; r < Tq; r++) {
                double js = 0, sa = 0, sb = 0;
                for (int64_t j = 0; j < T; j++) {
                    const double x = pa[r * T + j], y = pb[r * T + j], m = 0.5 * (x + y);
                    sa += x;
                    sb += y;
                    if (x > 0) js += 0.5 * x * log2(x / m);
                    if (y > 0) js += 0.5 * y * log2(y / m);
                }
                if (!(sa > 0 || sb > 0)) continue;   // masked in both
                sum += js;
                rows++;
            }
            out[l * H + h] = rows ? sum / (double)rows : 0;
        }
    return GAZE_OK;
}

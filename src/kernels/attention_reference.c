// Version 1 of the kernel lab: the textbook computation, the oracle every other kernel is
// tested against. One query row at a time: scores s_j = scale·q·k_j (soft-capped: c·tanh(·/c))
// + bias (float64), stable softmax (subtract the row max), o = Σ_j p_j v_j / Σ_j p_j. Masked keys are skipped,
// never multiplied by zero, so a NaN behind a mask cannot leak into the output.
#include "kernels/attention.h"
#include <omp.h>

enum gaze_status gaze_attention_reference(const struct gaze_attn_desc * desc,
                                          const struct gaze_view * q, const struct gaze_view * k,
                                          const struct gaze_view * v, const struct gaze_view * o,
                                          float * lse) {
    enum gaze_status st = gaze_attn_check(desc, q, k, v, o);
    if (st) return st;
    if (!v || !o) return gaze_error(GAZE_ERR_INVALID_ARG, "attention: v and o are required");
    struct attn_plan plan;
    if ((st = attn_plan_init(&plan, desc, q, k, v, o, lse))) return st;

    const int64_t B = desc->B, Hq = desc->Hq, Tq = desc->Tq, Tk = desc->Tk, d = desc->d;
    const int nt = desc->n_threads > 0 ? desc->n_threads : gaze_default_threads();
    const double scale = plan.scale;
    bool nomem = false;

    #pragma omp parallel num_threads(nt)
    {
        double * s   = malloc((size_t)Tk * sizeof *s);    // [Tk] scores of one row
        double * acc = malloc((size_t)d * sizeof *acc);   // [d]
        if (!s || !acc) {
            #pragma omp atomic write
            nomem = true;
        }
        #pragma omp for schedule(dynamic, 16)
        for (int64_t row = 0; row < B * Hq * Tq; row++) {
            if (!s || !acc) continue;
            const int64_t b = row / (Hq * Tq), h = (row / Tq) % Hq, i = row % Tq;
            const int64_t hk = h / plan.group;
            const float * qi = q->data + b * q->sb + h * q->sh + i * q->st;
            double m = -INFINITY;
            for (int64_t j = 0; j < Tk; j++) {
                if (!attn_allowed(&plan, b, i, j)) { s[j] = -INFINITY; continue; }
                const float * kj = k->data + b * k->sb + hk * k->sh + j * k->st;
                double dot = 0;
                for (int64_t c = 0; c < d; c++) dot += (double)qi[c] * (double)kj[c];
                double x = scale * dot;
                if (desc->softcap > 0.0f) x = (double)desc->softcap * tanh(x / (double)desc->softcap);
                s[j] = x + (plan.has_bias ? attn_bias(&plan, b, h, i, j) : 0.0);
                if (s[j] > m || s[j] != s[j]) m = s[j];   // NaN wins: a NaN row is NaN, not "masked"
            }
            float * oi = o->data + b * o->sb + h * o->sh + i * o->st;
            if (m == -INFINITY) {   // fully masked row: zeros, lse = -inf
                for (int64_t c = 0; c < d; c++) oi[c] = 0.0f;
                if (lse) lse[row] = -INFINITY;
                continue;
            }
            double sum = 0;
            for (int64_t c = 0; c < d; c++) acc[c] = 0;
            for (int64_t j = 0; j < Tk; j++) {
                if (s[j] == -INFINITY) continue;
                double p = exp(s[j] - m);
                sum += p;
                const float * vj = v->data + b * v->sb + hk * v->sh + j * v->st;
                for (int64_t c = 0; c < d; c++) acc[c] += p * (double)vj[c];
            }
            for (int64_t c = 0; c < d; c++) oi[c] = (float)(acc[c] / sum);
            if (lse) lse[row] = (float)(m + log(sum));
        }
        free(s);
        free(acc);
    }
    attn_plan_free(&plan);
    if (nomem) return gaze_error(GAZE_ERR_NOMEM, "attention reference: out of memory");
    return GAZE_OK;
}

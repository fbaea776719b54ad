// Mean attention distance per head of an image run (ViT paper, fig. 7): how far in the image
// each head looks, the vision counterpart of a text head's attention span.
#include "analysis/analysis.h"
#include <math.h>
#include <string.h>

enum gaze_status gaze_attention_distance(const struct gaze_run * run, double * out) {
    if (!run || !out) return gaze_error(GAZE_ERR_INVALID_ARG, "attention distance: NULL argument");
    if (!run->patch_rc || run->grid_rows < 1 || run->patch_size < 1)
        return gaze_error(GAZE_ERR_INVALID_ARG, "attention distance: the run has no patch grid (not an image run)");
    const int64_t T = run->T, Tq = run->Tq, Hc = run->n_heads_cap;
    for (int64_t li = 0; li < run->n_cap_layers; li++) {
        const float * A = run->layers[li].attn;
        if (!A) return gaze_error(GAZE_ERR_INVALID_ARG, "attention distance: layer %lld has no attention captured",
                                  (long long)run->layers[li].index);
        for (int64_t h = 0; h < Hc; h++) {
            double sum = 0;
            int64_t nq = 0;
            for (int64_t i = 0; i < Tq; i++) {
                const int64_t q = run->q_rows ? run->q_rows[i] : i;
                const int32_t qr = run->patch_rc[2 * q], qc = run->patch_rc[2 * q + 1];
                if (qr < 0) continue;
                const float * row = A + (h * Tq + i) * T;
                double w = 0, d = 0;
                for (int64_t k = 0; k < T; k++) {
                    const int32_t kr = run->patch_rc[2 * k], kc = run->patch_rc[2 * k + 1];
                    if (kr < 0) continue;
                    w += row[k];
                    d += row[k] * hypot((double)(kr - qr), (double)(kc - qc));
                }
                if (w > 0) { sum += d / w; nq++; }
            }
            out[li * Hc + h] = nq ? sum / (double)nq * (double)run->patch_size : 0;
        }
    }
    return GAZE_OK;
}

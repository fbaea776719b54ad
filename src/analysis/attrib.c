// Norm-based and mixing attributions of one attention block (reference/interpretability.md §16):
// value-norm attention (Kobayashi et al. 2020), attention + residual + LayerNorm (Kobayashi et
// al. 2021) and ALTI (Ferrando et al. 2022), all from one decomposition of the block's output
//   y_i = Σ_j z_ij + b,   z_ij = Σ_h α^h_ij f_h(x_j) + δ_ij x_i,
// (with a post-attention RMSNorm, Gemma 2/3: z_ij = g_i(Σ_h α^h_ij f_h(x_j)) + δ_ij x_i, g_i the
// norm with the per-token scale of the full attention output, as ALTI treats LayerNorm),
// and, after a post-LN, LN(y_i) = Σ_j g_i(z_ij) + (β + g_i(b)) with the linear part
// g_i(z) = γ ⊙ (z − mean(z)) / σ_i, σ_i = sqrt(var(y_i) + eps) of the full sum. Biases are no
// token's: they stay out of every z_ij (as in both papers).
#include "analysis/analysis.h"
#include <math.h>
#include <string.h>

void gaze_attrib_free(struct gaze_attrib * a) {
    if (!a) return;
    free(a->vnorm_heads);
    free(a->vnorm);
    free(a->resln);
    free(a->alti);
    free(a->vzero);
    const unsigned want = a->want;
    memset(a, 0, sizeof *a);
    a->want = want;
}

double gaze_cosine_distance(const float * a, const float * b, int64_t n) {
    double ab = 0, aa = 0, bb = 0;
    for (int64_t i = 0; i < n; i++) { ab += (double)a[i] * b[i]; aa += (double)a[i] * a[i]; bb += (double)b[i] * b[i]; }
    if (aa == 0 && bb == 0) return 0;
    if (aa == 0 || bb == 0) return 1;
    return 1 - ab / sqrt(aa * bb);
}

enum gaze_status gaze_attrib_block_compute(const struct gaze_attrib_block * b, float * vnorm_heads,
                                           float * vnorm, float * resln, float * alti) {
    if (!b || !b->alpha || !b->vo || ((resln || alti) && !b->resid))
        return gaze_error(GAZE_ERR_INVALID_ARG, "attribution: NULL argument");
    const int64_t H = b->H, T = b->T, C = b->C;
    if (H < 1 || T < 1 || C < 1) return gaze_error(GAZE_ERR_INVALID_ARG, "attribution: bad shape H=%lld T=%lld C=%lld",
                                                   (long long)H, (long long)T, (long long)C);
    // ‖f_h(x_j)‖ once: per head, ‖α f‖ = α ‖f‖
    if (vnorm_heads) {
        double * fn = malloc((size_t)(H * T) * sizeof *fn);
        if (!fn) return gaze_error(GAZE_ERR_NOMEM, "attribution: out of memory");
        for (int64_t r = 0; r < H * T; r++) {
            double acc = 0;
            for (int64_t c = 0; c < C; c++) acc += (double)b->vo[r * C + c] * b->vo[r * C + c];
            fn[r] = sqrt(acc);
        }
        for (int64_t h = 0; h < H; h++)
            for (int64_t i = 0; i < T; i++)
                for (int64_t j = 0; j < T; j++)
                    vnorm_heads[(h * T + i) * T + j] = (float)(b->alpha[(h * T + i) * T + j] * fn[h * T + j]);
        free(fn);
    }
    if (!vnorm && !resln && !alti) return GAZE_OK;
    // per output token i: z_ij for every j [T, C] (double), the full sum, then the norms
    double * z = malloc((size_t)(T * C + 2 * C) * sizeof *z);
    double * y = z ? z + T * C : NULL, * tj = y ? y + C : NULL;
    if (!z) return gaze_error(GAZE_ERR_NOMEM, "attribution: out of memory");
    for (int64_t i = 0; i < T; i++) {
        memset(z, 0, (size_t)(T * C) * sizeof *z);
        // j outer, heads inner: row z_ij stays in cache while every head adds to it
        for (int64_t j = 0; j < T; j++) {
            double * zr = z + j * C;
            for (int64_t h = 0; h < H; h++) {
                const double a = b->alpha[(h * T + i) * T + j];
                if (a == 0) continue;
                const float * f = b->vo + (h * T + j) * C;
                for (int64_t c = 0; c < C; c++) zr[c] += a * f[c];
            }
        }
        if (vnorm)
            for (int64_t j = 0; j < T; j++) {
                double acc = 0;
                for (int64_t c = 0; c < C; c++) acc += z[j * C + c] * z[j * C + c];
                vnorm[i * T + j] = (float)sqrt(acc);
            }
        if (!resln && !alti) continue;
        // y starts as the bias (nobody's); a post-attention RMSNorm scales every summand and
        // the bias by w / rms_i of the full attention output
        for (int64_t c = 0; c < C; c++) y[c] = b->bias ? b->bias[c] : 0;
        if (b->post_w) {
            for (int64_t j = 0; j < T; j++)
                for (int64_t c = 0; c < C; c++) tj[c] = (j ? tj[c] : y[c]) + z[j * C + c];
            double ms = 0;
            for (int64_t c = 0; c < C; c++) ms += tj[c] * tj[c];
            const double inv_rms = 1 / sqrt(ms / (double)C + (double)b->post_eps);
            for (int64_t j = 0; j < T; j++)
                for (int64_t c = 0; c < C; c++) z[j * C + c] *= inv_rms * b->post_w[c];
            for (int64_t c = 0; c < C; c++) y[c] *= inv_rms * b->post_w[c];
        }
        for (int64_t c = 0; c < C; c++) z[i * C + c] += b->resid[i * C + c];
        // the block's pre-norm output y_i and the norm's σ_i
        for (int64_t j = 0; j < T; j++)
            for (int64_t c = 0; c < C; c++) y[c] += z[j * C + c];
        double inv_sigma = 1;
        if (b->ln_w) {
            double mean = 0, var = 0;
            for (int64_t c = 0; c < C; c++) mean += y[c];
            mean /= (double)C;
            for (int64_t c = 0; c < C; c++) var += (y[c] - mean) * (y[c] - mean);
            var /= (double)C;
            inv_sigma = 1 / sqrt(var + (double)b->eps);
            for (int64_t c = 0; c < C; c++)   // the real output: LN(y_i)
                y[c] = (y[c] - mean) * inv_sigma * b->ln_w[c] + (b->ln_b ? b->ln_b[c] : 0);
            // each summand through the linear part g_i of the norm
            for (int64_t j = 0; j < T; j++) {
                double * zr = z + j * C, m = 0;
                for (int64_t c = 0; c < C; c++) m += zr[c];
                m /= (double)C;
                for (int64_t c = 0; c < C; c++) zr[c] = (zr[c] - m) * inv_sigma * b->ln_w[c];
            }
        }
        if (resln)
            for (int64_t j = 0; j < T; j++) {
                double acc = 0;
                for (int64_t c = 0; c < C; c++) acc += z[j * C + c] * z[j * C + c];
                resln[i * T + j] = (float)sqrt(acc);
            }
        if (alti) {
            // c_ij = max(0, ‖y_i‖₁ − ‖y_i − T_i(x_j)‖₁), rows normalised
            double yn = 0, sum = 0;
            for (int64_t c = 0; c < C; c++) yn += fabs(y[c]);
            for (int64_t j = 0; j < T; j++) {
                double d = 0;
                for (int64_t c = 0; c < C; c++) { tj[c] = y[c] - z[j * C + c]; d += fabs(tj[c]); }
                const double cij = yn - d > 0 ? yn - d : 0;
                alti[i * T + j] = (float)cij;
                sum += cij;
            }
            for (int64_t j = 0; j < T; j++) alti[i * T + j] = sum > 0 ? (float)(alti[i * T + j] / sum) : 0.0f;
        }
    }
    free(z);
    return GAZE_OK;
}

enum gaze_status gaze_attrib_rollout(const float * m, int64_t L, int64_t T, double * out) {
    if (!m || !out || L < 1 || T < 1) return gaze_error(GAZE_ERR_INVALID_ARG, "attribution rollout: bad argument");
    double * tmp = malloc((size_t)(T * T) * sizeof *tmp);
    if (!tmp) return gaze_error(GAZE_ERR_NOMEM, "attribution rollout: out of memory");
    for (int64_t i = 0; i < T * T; i++) out[i] = m[i];
    // out = m[l] · out, the newer layer from the left (as rollout)
    for (int64_t l = 1; l < L; l++) {
        const float * a = m + l * T * T;
        for (int64_t i = 0; i < T; i++)
            for (int64_t j = 0; j < T; j++) {
                double acc = 0;
                for (int64_t k = 0; k < T; k++) acc += (double)a[i * T + k] * out[k * T + j];
                tmp[i * T + j] = acc;
            }
        memcpy(out, tmp, (size_t)(T * T) * sizeof *tmp);
    }
    free(tmp);
    return GAZE_OK;
}

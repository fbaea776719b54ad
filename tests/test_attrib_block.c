// gaze_attrib_block_compute (the GEMM form: summands per key by gaze_gemm_f32, the per-pair
// norms by attrib_row_sums, portable and AVX2) against the direct double-precision loop it
// replaced (ref_block below, verbatim from the earlier attrib.c), on random blocks of every
// layout: post-LN encoder, pre-LN decoder with a causal mask, Gemma's post-attention RMSNorm,
// both norms at once, and value-norm alone; under every ISA this CPU has.
#include "check.h"
#include "core/core.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static enum gaze_status ref_block(const struct gaze_attrib_block * b, float * vnorm_heads,
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

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static double urand(void) {   // [0, 1)
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}
static double nrand(void) { return sqrt(-2 * log(urand() + 1e-300)) * cos(6.283185307179586 * urand()); }

static double max_err(const float * got, const float * want, int64_t n, bool rel) {
    double e = 0, scale = 1;
    for (int64_t i = 0; rel && i < n; i++) scale = fmax(scale, fabs(want[i]));
    for (int64_t i = 0; i < n; i++) {
        const double d = fabs((double)got[i] - want[i]);
        if (!(d <= e)) e = d;   // NaN sticks
    }
    return e / scale;
}

// One random block of the given layout; compares every output with the reference.
static void one_case(const char * what, int64_t H, int64_t T, int64_t C, bool causal, bool ln, bool post, bool bias,
                     float vscale) {
    float * alpha = malloc((size_t)(H * T * T) * sizeof(float)), * vo = malloc((size_t)(H * T * C) * sizeof(float));
    float * x = malloc((size_t)(T * C) * sizeof(float)), * vec = malloc((size_t)(4 * C) * sizeof(float));
    float * got = malloc((size_t)(3 * T * T + H * T * T) * sizeof(float));
    float * want = malloc((size_t)(3 * T * T + H * T * T) * sizeof(float));
    if (!alpha || !vo || !x || !vec || !got || !want) { CHECK(0, "out of memory"); return; }
    for (int64_t h = 0; h < H; h++)
        for (int64_t i = 0; i < T; i++) {   // softmax rows; causal: keys j <= i only
            double sum = 0;
            float * row = alpha + (h * T + i) * T;
            for (int64_t j = 0; j < T; j++) sum += row[j] = causal && j > i ? 0.0f : (float)exp(2 * nrand());
            for (int64_t j = 0; j < T; j++) row[j] = (float)(row[j] / sum);
        }
    for (int64_t k = 0; k < H * T * C; k++) vo[k] = (float)(vscale * nrand());
    for (int64_t k = 0; k < T * C; k++) x[k] = (float)(3 * vscale * nrand());
    for (int64_t c = 0; c < C; c++) {
        vec[c] = (float)(0.1 * nrand());            // bias
        vec[C + c] = (float)(1 + 0.3 * nrand());    // ln_w / post_w
        vec[2 * C + c] = (float)(0.1 * nrand());    // ln_b
        vec[3 * C + c] = (float)(0.5 + urand());    // post_w with ln_w
    }
    struct gaze_attrib_block b = { H, T, C, alpha, vo, x, bias ? vec : NULL, ln ? vec + C : NULL,
                                         ln ? vec + 2 * C : NULL, 1e-12f, post ? (ln ? vec + 3 * C : vec + C) : NULL,
                                         1e-6f, NULL };
    const int64_t TT = T * T;
    CHECK(ref_block(&b, want + 3 * TT, want, want + TT, want + 2 * TT) == GAZE_OK, "%s: reference failed", what);
    for (int isa = GAZE_ISA_SCALAR; isa <= (int)gaze_isa_active(); isa++) {
        const enum gaze_isa keep = gaze_isa_active();
        if (gaze_set_isa((enum gaze_isa)isa)) continue;
        memset(got, 0xff, (size_t)(3 * TT + H * TT) * sizeof(float));   // NaN: every cell must be written
        CHECK(gaze_attrib_block_compute(&b, got + 3 * TT, got, got + TT, got + 2 * TT) == GAZE_OK, "%s: %s",
              what, gaze_last_error());
        const double ev = max_err(got, want, TT, true), er = max_err(got + TT, want + TT, TT, true),
                     ea = max_err(got + 2 * TT, want + 2 * TT, TT, false),
                     eh = max_err(got + 3 * TT, want + 3 * TT, H * TT, true);
        printf("  %-28s %-6s vnorm %.2g resln %.2g alti %.2g heads %.2g\n", what, gaze_isa_name((enum gaze_isa)isa),
               ev, er, ea, eh);
        CHECK(ev <= 1e-5 && er <= 1e-5 && ea <= 1e-5 && eh <= 1e-5, "%s (%s): vnorm %g resln %g alti %g heads %g > 1e-5",
              what, gaze_isa_name((enum gaze_isa)isa), ev, er, ea, eh);
        // value-norm alone takes its own path
        memset(got, 0xff, (size_t)TT * sizeof(float));
        CHECK(gaze_attrib_block_compute(&b, NULL, got, NULL, NULL) == GAZE_OK, "%s: %s", what, gaze_last_error());
        CHECK(max_err(got, want, TT, true) <= 1e-5, "%s (%s): value-norm alone %g", what,
              gaze_isa_name((enum gaze_isa)isa), max_err(got, want, TT, true));
        gaze_set_isa(keep);
    }
    // the forward pass's attention output given (as the models pass it): the same results
    float * attn = malloc((size_t)(T * C) * sizeof(float));
    if (!attn) { CHECK(0, "out of memory"); return; }
    for (int64_t i = 0; i < T; i++)
        for (int64_t c = 0; c < C; c++) {
            double acc = b.bias ? b.bias[c] : 0;
            for (int64_t h = 0; h < H; h++)
                for (int64_t j = 0; j < T; j++) acc += (double)alpha[(h * T + i) * T + j] * vo[(h * T + j) * C + c];
            attn[i * C + c] = (float)acc;
        }
    b.attn = attn;
    memset(got, 0xff, (size_t)(3 * TT) * sizeof(float));
    CHECK(gaze_attrib_block_compute(&b, NULL, got, got + TT, got + 2 * TT) == GAZE_OK, "%s: %s", what, gaze_last_error());
    const double ev = max_err(got, want, TT, true), er = max_err(got + TT, want + TT, TT, true),
                 ea = max_err(got + 2 * TT, want + 2 * TT, TT, false);
    printf("  %-28s attn given vnorm %.2g resln %.2g alti %.2g\n", what, ev, er, ea);
    CHECK(ev <= 1e-5 && er <= 1e-5 && ea <= 1e-5, "%s (attention output given): vnorm %g resln %g alti %g > 1e-5", what,
          ev, er, ea);
    free(attn);
    free(alpha); free(vo); free(x); free(vec); free(got); free(want);
}

int main(void) {
    // MiniLM's shape (post-LN encoder, biases), a decoder's (causal, no norm, residual stream
    // larger than the values), Gemma's post-attention RMSNorm, both norms, odd sizes (tails)
    one_case("encoder post-LN", 12, 40, 384, false, true, false, true, 0.5f);
    one_case("decoder causal", 9, 37, 576, true, false, false, false, 2.0f);
    one_case("decoder + post RMSNorm", 4, 33, 640, true, false, true, false, 1.0f);
    one_case("post-LN + post RMSNorm", 3, 21, 64, false, true, true, true, 1.0f);
    one_case("odd sizes", 5, 53, 37, true, true, false, true, 1.0f);
    one_case("one token", 2, 1, 19, false, true, false, true, 1.0f);
    // a bad shape is an error, not a crash
    const struct gaze_attrib_block bad = { 0, 4, 8, (const float[1]){ 0 }, (const float[1]){ 0 }, NULL, NULL, NULL, NULL,
                                           0, NULL, 0, NULL };
    float o[16];
    CHECK(gaze_attrib_block_compute(&bad, NULL, o, NULL, NULL) == GAZE_ERR_INVALID_ARG, "H = 0 accepted");
    return check_summary("test_attrib_block");
}

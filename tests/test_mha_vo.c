// gaze_mha_extra.vo, what each head writes for each key (f_h(x_j) = v_j^h W_O^h, no bias), for
// every W_O storage type: against the definition computed here, the output projection of a
// context that holds head h's value alone minus the projection of zero, through the same
// gaze_linear_forward (so a quantized W_O sees the same activation quantization). The capture
// takes each head's own columns of W_O for block formats whose blocks do not straddle heads
// (F16, BF16, Q4_0..Q8_0 with d a multiple of 32) and the full-width product otherwise
// (K-quants at d = 32 here); both must match. Also: the sum over heads and keys of α f plus the
// bias is the attention output (F32), and GQA heads read their shared value head.
#include "check.h"
#include "core/core.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static float frand(void) {   // [-1, 1)
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (float)((double)(rng >> 11) / 9007199254740992.0 * 2 - 1);
}

static void one_type(enum gaze_type type, int64_t C, int64_t Hq, int64_t Hkv, int64_t d, int64_t T) {
    const int64_t D = Hq * d, Dk = Hkv * d;
    float * wq = malloc((size_t)(D * C) * 4), * wk = malloc((size_t)(Dk * C) * 4), * wv = malloc((size_t)(Dk * C) * 4);
    float * wo = malloc((size_t)(C * D) * 4), * bo = malloc((size_t)C * 4), * x = malloc((size_t)(T * C) * 4);
    const size_t row = gaze_type_row_bytes(type, D);
    void * woq = malloc(row * (size_t)C);
    float * out = malloc((size_t)(T * C) * 4), * vo = malloc((size_t)(Hq * T * C) * 4), * alpha = malloc((size_t)(Hq * T * T) * 4);
    float * scratch = malloc(gaze_mha_scratch_floats(&(struct gaze_mha){ .d_model = C, .n_heads = Hq, .n_kv_heads = Hkv, .head_dim = d }, T) * 4);
    float * in = calloc((size_t)(T * D), 4), * res = malloc((size_t)(T * C) * 4), * zero = calloc((size_t)D, 4), * b0 = malloc((size_t)C * 4);
    float * v = malloc((size_t)(T * Dk) * 4);
    if (!wq || !wk || !wv || !wo || !bo || !x || !woq || !out || !vo || !alpha || !scratch || !in || !res || !zero || !b0 || !v) {
        CHECK(0, "out of memory");
        return;
    }
    for (int64_t i = 0; i < D * C; i++) { wq[i] = 0.2f * frand(); wo[i] = 0.2f * frand(); }
    for (int64_t i = 0; i < Dk * C; i++) { wk[i] = 0.2f * frand(); wv[i] = 0.2f * frand(); }
    for (int64_t i = 0; i < C; i++) bo[i] = 0.5f * frand();
    for (int64_t i = 0; i < T * C; i++) x[i] = frand();
    const char * name = gaze_type_name(type);
    if (type == GAZE_TYPE_F32) memcpy(woq, wo, row * (size_t)C);
    else CHECK(gaze_quantize(type, wo, woq, C * D) == GAZE_OK, "%s: quantize: %s", name, gaze_last_error());
    const struct gaze_linear lq = { GAZE_TYPE_F32, D, C, wq, NULL, NULL }, lk = { GAZE_TYPE_F32, Dk, C, wk, NULL, NULL };
    const struct gaze_linear lv = { GAZE_TYPE_F32, Dk, C, wv, NULL, NULL }, lo = { type, C, D, woq, bo, NULL };
    const struct gaze_mha mha = { .d_model = C, .n_heads = Hq, .n_kv_heads = Hkv, .head_dim = d, .wq = &lq, .wk = &lk, .wv = &lv, .wo = &lo };
    struct gaze_attn_mask mask;
    memset(&mask, 0, sizeof mask);
    mask.causal = true;
    mask.window_left = mask.window_right = -1;
    struct gaze_mha_capture cap = { NULL, Hq, alpha, NULL, NULL, NULL, NULL };
    const struct gaze_mha_extra ex = { .vo = vo };
    CHECK(gaze_mha_forward_ex(&mha, x, T, NULL, &mask, NULL, &cap, &ex, out, scratch, 1) == GAZE_OK, "%s: %s", name, gaze_last_error());
    // the definition: head h's value alone in a zero context, projected, minus the projection of zero
    CHECK(gaze_linear_forward(&lv, x, T, v, 1) == GAZE_OK, "%s: values", name);
    CHECK(gaze_linear_forward(&lo, zero, 1, b0, 1) == GAZE_OK, "%s: zero row", name);
    double err = 0, top = 0;
    for (int64_t h = 0; h < Hq; h++) {
        memset(in, 0, (size_t)(T * D) * 4);
        for (int64_t t = 0; t < T; t++) memcpy(in + t * D + h * d, v + t * Dk + (h / (Hq / Hkv)) * d, (size_t)d * 4);
        CHECK(gaze_linear_forward(&lo, in, T, res, 1) == GAZE_OK, "%s: reference", name);
        for (int64_t i = 0; i < T * C; i++) {
            const double want = (double)res[i] - b0[i % C];
            err = fmax(err, fabs(want - vo[h * T * C + i]));
            top = fmax(top, fabs(want));
        }
    }
    CHECK(top > 0.1 && err <= 1e-5 * top, "%s: vo differs from the definition by %g (largest %g)", name, err, top);
    if (type == GAZE_TYPE_F32) {   // Σ_h Σ_j α f + b is the attention output
        double e2 = 0;
        for (int64_t i = 0; i < T; i++)
            for (int64_t c = 0; c < C; c++) {
                double acc = bo[c];
                for (int64_t h = 0; h < Hq; h++)
                    for (int64_t j = 0; j < T; j++) acc += (double)alpha[(h * T + i) * T + j] * vo[(h * T + j) * C + c];
                e2 = fmax(e2, fabs(acc - out[i * C + c]));
            }
        CHECK(e2 <= 1e-4, "F32: the summands do not add up to the attention output (%g)", e2);
    }
    free(wq); free(wk); free(wv); free(wo); free(bo); free(x); free(woq); free(out); free(vo); free(alpha);
    free(scratch); free(in); free(res); free(zero); free(b0); free(v);
}

int main(void) {
    static const enum gaze_type types[] = { GAZE_TYPE_F32, GAZE_TYPE_F16, GAZE_TYPE_BF16, GAZE_TYPE_Q4_0, GAZE_TYPE_Q4_1,
                                            GAZE_TYPE_Q5_0, GAZE_TYPE_Q5_1, GAZE_TYPE_Q8_0, GAZE_TYPE_Q4_K, GAZE_TYPE_Q6_K };
    for (size_t k = 0; k < sizeof types / sizeof *types; k++) {
        one_type(types[k], 256, 8, 2, 32, 19);   // K-quants: d = 32 straddles their 256-blocks, full width
        if (types[k] == GAZE_TYPE_Q4_K) one_type(types[k], 256, 2, 1, 256, 7);   // one 256-block a head: sliced
    }
    return check_summary("test_mha_vo");
}

// Multi-head attention layer against a float64 re-implementation (projections, RoPE, GQA,
// causal softmax, output projection); KV-cache chunking equals one pass; capture changes
// nothing and its weights match the reference.
#include "check.h"
#include "gaze.h"
#include <stdlib.h>
#include <string.h>

static uint32_t rs = 99;
static float rnd(void) { rs = rs * 1664525u + 1013904223u; return (float)(rs >> 8) / 8388608.0f - 1.0f; }
static float * rnd_buf(size_t n, float amp) { float * p = malloc(n * sizeof(float)); for (size_t i = 0; i < n; i++) p[i] = amp * rnd(); return p; }

enum { C = 48, HQ = 6, HKV = 2, D = 16, T = 21 };

static void ref_linear(const float * x, int64_t n, const float * w, const float * b, int64_t no, int64_t ni, double * y) {
    for (int64_t t = 0; t < n; t++)
        for (int64_t o = 0; o < no; o++) {
            double s = b ? b[o] : 0;
            for (int64_t i = 0; i < ni; i++) s += (double)x[t * ni + i] * w[o * ni + i];
            y[t * no + o] = s;
        }
}

static void ref_rope_neox(double * v, int64_t pos) {   // one head of D dims
    for (int i = 0; i < D / 2; i++) {
        double th = (double)pos / pow(10000.0, 2.0 * i / D);
        double a = v[i], b = v[i + D / 2];
        v[i] = a * cos(th) - b * sin(th);
        v[i + D / 2] = a * sin(th) + b * cos(th);
    }
}

int main(void) {
    float * wq = rnd_buf(HQ * D * C, 0.2f), * wk = rnd_buf(HKV * D * C, 0.2f), * wv = rnd_buf(HKV * D * C, 0.2f);
    float * wo = rnd_buf(C * HQ * D, 0.2f), * bq = rnd_buf(HQ * D, 0.1f), * bo = rnd_buf(C, 0.1f);
    float * x = rnd_buf(T * C, 1.0f);
    struct gaze_linear lq = { GAZE_TYPE_F32, HQ * D, C, wq, bq, NULL }, lk = { GAZE_TYPE_F32, HKV * D, C, wk, NULL, NULL };
    struct gaze_linear lv = { GAZE_TYPE_F32, HKV * D, C, wv, NULL, NULL }, lo = { GAZE_TYPE_F32, C, HQ * D, wo, bo, NULL };
    struct gaze_mha m = { C, HQ, HKV, D, &lq, &lk, &lv, &lo, GAZE_ROPE_NEOX, 0, 10000.0f, 0.0f, NULL, false, NULL, NULL, 0.0f, 0.0f, NULL, 0.0f };
    struct gaze_attn_mask mask;
    memset(&mask, 0, sizeof mask);
    mask.causal = true; mask.window_left = mask.window_right = -1;

    float * scratch = malloc(gaze_mha_scratch_floats(&m, T) * sizeof(float));
    float out[T * C], out2[T * C], out3[T * C];
    CHECK(gaze_mha_forward(&m, x, T, NULL, &mask, NULL, NULL, out, scratch, 2) == GAZE_OK, "%s", gaze_last_error());

    // float64 reference
    double * q = malloc(T * HQ * D * sizeof(double)), * k = malloc(T * HKV * D * sizeof(double));
    double * v = malloc(T * HKV * D * sizeof(double)), * ctx = calloc(T * HQ * D, sizeof(double));
    double * w_ref = calloc(HQ * T * T, sizeof(double));
    ref_linear(x, T, wq, bq, HQ * D, C, q);
    ref_linear(x, T, wk, NULL, HKV * D, C, k);
    ref_linear(x, T, wv, NULL, HKV * D, C, v);
    for (int t = 0; t < T; t++) {
        for (int h = 0; h < HQ; h++) ref_rope_neox(q + (t * HQ + h) * D, t);
        for (int h = 0; h < HKV; h++) ref_rope_neox(k + (t * HKV + h) * D, t);
    }
    for (int h = 0; h < HQ; h++)
        for (int i = 0; i < T; i++) {
            double s[T], mx = -INFINITY, sum = 0;
            for (int j = 0; j <= i; j++) {
                s[j] = 0;
                for (int c = 0; c < D; c++) s[j] += q[(i * HQ + h) * D + c] * k[(j * HKV + h / 3) * D + c];
                s[j] /= sqrt((double)D);
                if (s[j] > mx) mx = s[j];
            }
            for (int j = 0; j <= i; j++) { s[j] = exp(s[j] - mx); sum += s[j]; }
            for (int j = 0; j <= i; j++) {
                w_ref[(h * T + i) * T + j] = s[j] / sum;
                for (int c = 0; c < D; c++) ctx[(i * HQ + h) * D + c] += s[j] / sum * v[(j * HKV + h / 3) * D + c];
            }
        }
    double worst = 0;
    for (int t = 0; t < T; t++)
        for (int o = 0; o < C; o++) {
            double y = bo[o];
            for (int i = 0; i < HQ * D; i++) y += ctx[t * HQ * D + i] * wo[o * HQ * D + i];
            double e = fabs(y - out[t * C + o]) / (1 + fabs(y));
            if (!(e <= worst)) worst = isnan(e) ? INFINITY : e;
        }
    CHECK(worst < 1e-5, "mha vs float64 reference: max rel err %.3g", worst);

    // capture: same output bits, weights = reference weights, q/k as used
    float * cw = malloc(HQ * T * T * sizeof(float)), * cs = malloc(HQ * T * T * sizeof(float));
    float * cq = malloc(HQ * T * D * sizeof(float)), * ck = malloc(HQ * T * D * sizeof(float));
    // with summaries of every head riding on the same pass
    struct gaze_attn_summary sum = { .top_k = 4, .block = 4, .window = 3, .n_heads = HQ, .n_rows = T, .n_keys = T };
    const int NB = (T + 3) / 4;
    sum.entropy = calloc(HQ * T, 4); sum.sink = calloc(HQ * T, 4); sum.local = calloc(HQ * T, 4);
    sum.top_keys = calloc(HQ * T * 4, 4); sum.top_weights = calloc(HQ * T * 4, 4);
    sum.block_sum = calloc(HQ * NB * NB, 4); sum.block_max = calloc(HQ * NB * NB, 4);
    struct gaze_mha_capture cap = { NULL, 0, cw, cs, cq, ck, &sum };
    CHECK(gaze_mha_forward(&m, x, T, NULL, &mask, NULL, &cap, out2, scratch, 2) == GAZE_OK, "%s", gaze_last_error());
    CHECK(memcmp(out, out2, sizeof out) == 0, "capture changed the layer output");
    {   // the summaries are the captured weights' own: top-k and sink bit for bit, entropy to rounding
        int bad = 0;
        for (int h = 0; h < HQ; h++)
            for (int i = 0; i < T; i++) {
                const float * w = cw + (h * T + i) * T;
                double H = 0;
                for (int j = 0; j < T; j++) if (w[j] > 0) H -= w[j] * log(w[j]);
                bad += fabs(H - sum.entropy[h * T + i]) > 1e-5 || sum.sink[h * T + i] != w[0];
                for (int r = 0; r < 4; r++) {
                    const int j = sum.top_keys[(h * T + i) * 4 + r];
                    bad += j < 0 ? i >= r : w[j] != sum.top_weights[(h * T + i) * 4 + r];
                }
            }
        CHECK(bad == 0, "mha summaries disagree with the captured weights in %d places", bad);
    }
    free(sum.entropy); free(sum.sink); free(sum.local); free(sum.top_keys); free(sum.top_weights);
    free(sum.block_sum); free(sum.block_max);
    double worst_w = 0;
    for (int i = 0; i < HQ * T * T; i++) { double e = fabs(cw[i] - w_ref[i]); if (!(e <= worst_w)) worst_w = isnan(e) ? INFINITY : e; }
    CHECK(worst_w < 1e-5, "captured weights vs reference: max abs err %.3g", worst_w);
    bool masked_ok = true;
    for (int h = 0; h < HQ; h++) for (int i = 0; i < T; i++) for (int j = i + 1; j < T; j++)
        masked_ok &= cs[(h * T + i) * T + j] == -INFINITY && cw[(h * T + i) * T + j] == 0.0f;
    CHECK(masked_ok, "captured future scores are not -inf / weights not 0");
    double worst_q = 0;
    for (int h = 0; h < HQ; h++) for (int t = 0; t < T; t++) for (int c = 0; c < D; c++) {
        double e = fabs(cq[(h * T + t) * D + c] - q[(t * HQ + h) * D + c]); if (e > worst_q) worst_q = e;
        e = fabs(ck[(h * T + t) * D + c] - k[(t * HKV + h / 3) * D + c]); if (e > worst_q) worst_q = e;
    }
    CHECK(worst_q < 1e-4, "captured q/k differ by %.3g", worst_q);

    // KV cache: 8 tokens, then 1, then 12 equals one pass of 21
    float * kc = malloc(32 * HKV * D * sizeof(float)), * vc = malloc(32 * HKV * D * sizeof(float));
    struct gaze_kv_cache cache = { kc, vc, 32, 0 };
    const int chunks[3] = { 8, 1, 12 };
    int done = 0;
    for (int c = 0; c < 3; c++) {
        CHECK(gaze_mha_forward(&m, x + done * C, chunks[c], NULL, &mask, &cache, NULL, out3 + done * C, scratch, 1) == GAZE_OK,
              "%s", gaze_last_error());
        done += chunks[c];
    }
    double worst_c = 0;
    for (int i = 0; i < T * C; i++) { double e = fabs(out3[i] - out[i]); if (!(e <= worst_c)) worst_c = isnan(e) ? INFINITY : e; }
    CHECK(cache.n_past == T && worst_c < 1e-5, "KV-cache chunks differ from one pass by %.3g (n_past %lld)", worst_c, (long long)cache.n_past);
    CHECK(gaze_mha_forward(&m, x, 12, NULL, &mask, &cache, NULL, out3, scratch, 1) == GAZE_ERR_LIMIT, "cache overflow accepted");

    // ablation: zeroing head 4's output equals zeroing its columns of W_o; keeping every head
    // changes nothing; mean-ablating every head makes every output row the same
    uint8_t keep[HQ] = { 1, 1, 1, 1, 0, 1 }, all[HQ] = { 1, 1, 1, 1, 1, 1 }, none[HQ] = { 0 };
    float oa[T * C], ob[T * C];
    struct gaze_mha ma = m;
    ma.head_mask = all;
    CHECK(gaze_mha_forward(&ma, x, T, NULL, &mask, NULL, NULL, oa, scratch, 2) == GAZE_OK, "%s", gaze_last_error());
    CHECK(memcmp(oa, out, sizeof oa) == 0, "an all-ones head mask changed the output");
    ma.head_mask = keep;
    CHECK(gaze_mha_forward(&ma, x, T, NULL, &mask, NULL, NULL, oa, scratch, 2) == GAZE_OK, "%s", gaze_last_error());
    float * wo2 = malloc(C * HQ * D * sizeof(float));
    memcpy(wo2, wo, C * HQ * D * sizeof(float));
    for (int o = 0; o < C; o++) for (int c = 0; c < D; c++) wo2[o * HQ * D + 4 * D + c] = 0.0f;
    struct gaze_linear lo2 = lo;
    lo2.weight = wo2;
    struct gaze_mha mb = m;
    mb.wo = &lo2;
    CHECK(gaze_mha_forward(&mb, x, T, NULL, &mask, NULL, NULL, ob, scratch, 2) == GAZE_OK, "%s", gaze_last_error());
    double worst_a = 0, moved = 0;
    for (int i = 0; i < T * C; i++) { double e = fabs(oa[i] - ob[i]); if (!(e <= worst_a)) worst_a = isnan(e) ? INFINITY : e; moved += fabs(oa[i] - out[i]); }
    CHECK(worst_a < 1e-5 && moved > 1e-3, "zero-ablating head 4 != zeroing its W_o columns (%.3g), or changed nothing (%.3g)", worst_a, moved);
    ma.head_mask = none;
    ma.ablate_mean = true;
    CHECK(gaze_mha_forward(&ma, x, T, NULL, &mask, NULL, NULL, oa, scratch, 2) == GAZE_OK, "%s", gaze_last_error());
    double spread = 0;
    for (int t = 1; t < T; t++) for (int o = 0; o < C; o++) spread = fmax(spread, fabs(oa[t * C + o] - oa[o]));
    CHECK(spread < 1e-5, "mean-ablating every head leaves rows differing by %.3g", spread);
    free(wo2);

    free(wq); free(wk); free(wv); free(wo); free(bq); free(bo); free(x); free(scratch);
    free(q); free(k); free(v); free(ctx); free(w_ref); free(cw); free(cs); free(cq); free(ck); free(kc); free(vc);
    return check_summary("test_mha");
}

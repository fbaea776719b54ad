// Attention kernels against the float64 reference: every ISA path, 1 and 2 threads, odd
// sizes, every mask kind and combinations, GQA; probe contract; numerical properties.
#include "check.h"
#include "gaze.h"
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// xorshift64*: deterministic inputs, seed printed with every case
static uint64_t rng_state;
static double rnd(void) {
    rng_state ^= rng_state >> 12; rng_state ^= rng_state << 25; rng_state ^= rng_state >> 27;
    return (double)((rng_state * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}
static float rndn(void) { return (float)(2.0 * rnd() - 1.0); }

enum {
    M_CAUSAL = 1, M_OFFSET = 2, M_PAD = 4, M_WINDOW = 8, M_SPARSE = 16, M_GLOBAL = 32,
    M_BIAS = 64, M_ALIBI = 128, M_STRIDED = 256, M_SOFTCAP = 512,
};

struct problem {
    struct gaze_attn_desc desc;
    struct gaze_view q, k, v;
    float * qbuf, * kbuf, * vbuf;
    uint8_t * key_valid, * gq, * gk;
    int32_t * sp_rows, * sp_cols;
    float * bias, * slopes;
    char name[200];
};

static void problem_init(struct problem * p, uint64_t seed, int64_t B, int64_t Hq, int64_t Hkv,
                         int64_t Tq, int64_t Tk, int64_t d, int flags, float amp) {
    memset(p, 0, sizeof *p);
    rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
    p->desc = gaze_attn_desc_make(B, Hq, Hkv, Tq, Tk, d);
    snprintf(p->name, sizeof p->name, "seed=%llu B=%lld Hq=%lld Hkv=%lld Tq=%lld Tk=%lld d=%lld mask=0x%x",
             (unsigned long long)seed, (long long)B, (long long)Hq, (long long)Hkv, (long long)Tq,
             (long long)Tk, (long long)d, flags);
    size_t nq = (size_t)(B * Hq * Tq * d), nk = (size_t)(B * Hkv * Tk * d);
    p->qbuf = malloc(nq * sizeof(float));
    p->kbuf = malloc(nk * sizeof(float));
    p->vbuf = malloc(nk * sizeof(float));
    for (size_t i = 0; i < nq; i++) p->qbuf[i] = amp * rndn();
    for (size_t i = 0; i < nk; i++) p->kbuf[i] = amp * rndn();
    for (size_t i = 0; i < nk; i++) p->vbuf[i] = rndn();
    if (flags & M_STRIDED) {   // token-major [B, T, H, d], as projections produce
        p->q = (struct gaze_view){ p->qbuf, Tq * Hq * d, d, Hq * d };
        p->k = (struct gaze_view){ p->kbuf, Tk * Hkv * d, d, Hkv * d };
        p->v = (struct gaze_view){ p->vbuf, Tk * Hkv * d, d, Hkv * d };
    } else {
        p->q = (struct gaze_view){ p->qbuf, Hq * Tq * d, Tq * d, d };
        p->k = (struct gaze_view){ p->kbuf, Hkv * Tk * d, Tk * d, d };
        p->v = (struct gaze_view){ p->vbuf, Hkv * Tk * d, Tk * d, d };
    }
    struct gaze_attn_mask * m = &p->desc.mask;
    m->causal = flags & M_CAUSAL;
    if (flags & M_OFFSET) m->q_offset = Tk > Tq ? Tk - Tq : 0;   // KV cache: queries are the last rows
    if (flags & M_PAD) {
        p->key_valid = malloc((size_t)(B * Tk));
        for (int64_t b = 0; b < B; b++) {
            int64_t len = b == 0 ? Tk : 1 + (int64_t)(rnd() * (double)Tk);   // right padding
            for (int64_t j = 0; j < Tk; j++) p->key_valid[b * Tk + j] = j < len && rnd() > 0.05;
        }
        m->key_valid = p->key_valid;
    }
    if (flags & M_WINDOW) {
        m->window_left = 1 + (int64_t)(rnd() * 40);
        m->window_right = (flags & M_CAUSAL) ? -1 : (int64_t)(rnd() * 20);
    }
    if (flags & M_SPARSE) {
        m->sparse_block_q = 16 << (int)(rnd() * 3);
        m->sparse_block_k = 16 << (int)(rnd() * 3);
        int64_t nqb = (Tq + m->sparse_block_q - 1) / m->sparse_block_q;
        int64_t nkb = (Tk + m->sparse_block_k - 1) / m->sparse_block_k;
        p->sp_rows = malloc((size_t)(nqb + 1) * sizeof(int32_t));
        p->sp_cols = malloc((size_t)(nqb * nkb + 1) * sizeof(int32_t));
        p->sp_rows[0] = 0;
        for (int64_t r = 0; r < nqb; r++) {
            int32_t n = p->sp_rows[r];
            for (int64_t c = 0; c < nkb; c++)
                if (c == 0 || rnd() < 0.4) p->sp_cols[n++] = (int32_t)c;
            p->sp_rows[r + 1] = n;
        }
        m->sparse_rows = p->sp_rows;
        m->sparse_cols = p->sp_cols;
    }
    if (flags & M_GLOBAL) {
        p->gq = calloc((size_t)Tq, 1);
        p->gk = calloc((size_t)Tk, 1);
        for (int64_t i = 0; i < Tq; i++) p->gq[i] = rnd() < 0.03;
        for (int64_t j = 0; j < Tk; j++) p->gk[j] = j == 0 || rnd() < 0.03;
        m->global_q = p->gq;
        m->global_k = p->gk;
    }
    if (flags & M_BIAS) {   // [Hq, Tq, Tk], broadcast over the batch
        p->bias = malloc((size_t)(Hq * Tq * Tk) * sizeof(float));
        for (int64_t i = 0; i < Hq * Tq * Tk; i++) p->bias[i] = rnd() < 0.02 ? -INFINITY : 2.0f * rndn();
        m->bias = p->bias; m->bias_sb = 0; m->bias_sh = Tq * Tk; m->bias_st = Tk;
    }
    // scaled scores here have standard deviation ~1/3 at amp 1: a cap of 0.6 bends most of them
    if (flags & M_SOFTCAP) p->desc.softcap = 0.6f;
    if (flags & M_ALIBI) {
        p->slopes = malloc((size_t)Hq * sizeof(float));
        for (int64_t h = 0; h < Hq; h++) p->slopes[h] = powf(2.0f, -8.0f * (float)(h + 1) / (float)Hq);
        m->alibi_slopes = p->slopes;
    }
}

static void problem_free(struct problem * p) {
    free(p->qbuf); free(p->kbuf); free(p->vbuf); free(p->key_valid); free(p->gq); free(p->gk);
    free(p->sp_rows); free(p->sp_cols); free(p->bias); free(p->slopes);
}

// The documented mask formula (gaze.h), written again independently of the library.
// The float64 score before bias: scale·q·k, soft-capped when the problem has a cap.
static double test_capped(const struct problem * p, double x) {
    const double c = p->desc.softcap;
    return c > 0 ? c * tanh(x / c) : x;
}

static bool test_allowed(const struct problem * p, int64_t b, int64_t i, int64_t j) {
    const struct gaze_attn_mask * m = &p->desc.mask;
    const int64_t pos = i + m->q_offset;
    if (m->key_valid && !m->key_valid[b * p->desc.Tk + j]) return false;
    if (m->causal && j > pos) return false;
    if ((m->global_q && m->global_q[i]) || (m->global_k && m->global_k[j])) return true;
    bool win = (m->window_left < 0 || j >= pos - m->window_left) && (m->window_right < 0 || j <= pos + m->window_right);
    bool sp = true;
    if (m->sparse_rows) {
        int64_t qb = i / m->sparse_block_q, kb = j / m->sparse_block_k;
        sp = false;
        for (int32_t c = m->sparse_rows[qb]; c < m->sparse_rows[qb + 1]; c++) sp |= m->sparse_cols[c] == kb;
    }
    return win && sp;
}

// ‖a − b‖ / ‖b‖; NaN or Inf anywhere in a makes it +inf so it can never pass.
static double rel_err(const float * a, const float * b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(a[i])) return INFINITY;
        double dlt = (double)a[i] - (double)b[i];
        num += dlt * dlt;
        den += (double)b[i] * (double)b[i];
    }
    if (den == 0) return sqrt(num);
    return sqrt(num / den);
}

static double lse_err(const float * a, const float * b, size_t n) {
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        if (isinf(b[i]) && b[i] < 0) { if (!(isinf(a[i]) && a[i] < 0)) return INFINITY; continue; }
        if (!isfinite(a[i])) return INFINITY;
        double e = fabs((double)a[i] - (double)b[i]) / (1.0 + fabs((double)b[i]));
        if (e > worst) worst = e;
    }
    return worst;
}

static const enum gaze_isa isas[] = { GAZE_ISA_AVX512, GAZE_ISA_AVX2, GAZE_ISA_SCALAR };

static void run_case(uint64_t seed, int64_t B, int64_t Hq, int64_t Hkv, int64_t Tq, int64_t Tk,
                     int64_t d, int flags, bool with_probe) {
    struct problem p;
    problem_init(&p, seed, B, Hq, Hkv, Tq, Tk, d, flags, 1.0f);
    size_t no = (size_t)(B * Hq * Tq * d), nl = (size_t)(B * Hq * Tq);
    float * oref = malloc(no * sizeof(float)), * lref = malloc(nl * sizeof(float));
    float * o1 = malloc(no * sizeof(float)), * l1 = malloc(nl * sizeof(float));
    float * o2 = malloc(no * sizeof(float)), * l2 = malloc(nl * sizeof(float));
    struct gaze_view vo_ref = { oref, Hq * Tq * d, Tq * d, d };
    struct gaze_view vo1 = { o1, Hq * Tq * d, Tq * d, d }, vo2 = { o2, Hq * Tq * d, Tq * d, d };

    p.desc.n_threads = 2;
    enum gaze_status s = gaze_attention_reference(&p.desc, &p.q, &p.k, &p.v, &vo_ref, lref);
    CHECK(s == GAZE_OK, "%s: reference failed: %s", p.name, gaze_last_error());

    for (size_t ii = 0; ii < sizeof isas / sizeof isas[0]; ii++) {
        if (gaze_set_isa(isas[ii]) != GAZE_OK) continue;   // CPU lacks it: nothing to test
        // the scalar path is slow: check it on the smaller problems only
        if (isas[ii] == GAZE_ISA_SCALAR && (double)Tq * (double)Tk * (double)d * (double)(B * Hq) > 3e7) continue;
        memset(o1, 0xff, no * sizeof(float));   // NaN-fill: every output must be written
        memset(o2, 0xff, no * sizeof(float));
        p.desc.n_threads = 1;
        s = gaze_attention_fused(&p.desc, &p.q, &p.k, &p.v, &vo1, l1);
        CHECK(s == GAZE_OK, "%s: fused failed: %s", p.name, gaze_last_error());
        p.desc.n_threads = 2;
        s = gaze_attention_fused(&p.desc, &p.q, &p.k, &p.v, &vo2, l2);
        CHECK(s == GAZE_OK, "%s: fused failed: %s", p.name, gaze_last_error());
        double e1 = rel_err(o1, oref, no), e12 = rel_err(o2, o1, no);
        double el = lse_err(l1, lref, nl);
        CHECK(e1 <= 1e-5, "%s isa=%s: fused vs reference rel err %.3g", p.name, gaze_isa_name(isas[ii]), e1);
        CHECK(e12 <= 1e-6, "%s isa=%s: 1 vs 2 threads rel err %.3g", p.name, gaze_isa_name(isas[ii]), e12);
        CHECK(el <= 1e-5, "%s isa=%s: lse err %.3g", p.name, gaze_isa_name(isas[ii]), el);

        if (!with_probe) continue;
        // probe every head and row; rows sum to 1, P·V = O, P matches the float64 weights
        size_t np = (size_t)(B * Hq * Tq * Tk);
        float * P = malloc(np * sizeof(float));
        s = gaze_attention_probe(&p.desc, &p.q, &p.k, l1, NULL, 0, NULL, 0, P);
        CHECK(s == GAZE_OK, "%s: probe failed: %s", p.name, gaze_last_error());
        double worst_sum = 0, worst_p = 0;
        float * pv = calloc(no, sizeof(float));
        const float scale = 1.0f / sqrtf((float)d);
        for (int64_t b = 0; b < B; b++)
            for (int64_t h = 0; h < Hq; h++)
                for (int64_t i = 0; i < Tq; i++) {
                    const float * row = P + ((b * Hq + h) * Tq + i) * Tk;
                    const float lr = lref[(b * Hq + h) * Tq + i];
                    double sum = 0;
                    for (int64_t j = 0; j < Tk; j++) {
                        sum += row[j];
                        const float * vj = p.v.data + b * p.v.sb + (h / (Hq / Hkv)) * p.v.sh + j * p.v.st;
                        for (int64_t c = 0; c < d; c++) pv[((b * Hq + h) * Tq + i) * d + c] += row[j] * vj[c];
                        // float64 weight of the same element from the reference lse
                        const float * qi = p.q.data + b * p.q.sb + h * p.q.sh + i * p.q.st;
                        const float * kj = p.k.data + b * p.k.sb + (h / (Hq / Hkv)) * p.k.sh + j * p.k.st;
                        double w = 0;
                        if (lr != -INFINITY && (Tq * Tk <= 70000) && test_allowed(&p, b, i, j)) {
                            double dot = 0;
                            for (int64_t c = 0; c < d; c++) dot += (double)qi[c] * kj[c];
                            double bias = 0;
                            if (p.bias) bias += p.bias[(h * Tq + i) * Tk + j];
                            if (p.slopes) bias -= p.slopes[h] * fabs((double)(i + p.desc.mask.q_offset - j));
                            w = exp(test_capped(&p, scale * dot) + bias - lr);
                        }
                        if (lr != -INFINITY && Tq * Tk <= 70000 && fabs(w - row[j]) > worst_p) worst_p = fabs(w - row[j]);
                    }
                    double target = lr == -INFINITY ? 0.0 : 1.0;
                    if (!(fabs(sum - target) <= worst_sum)) worst_sum = isnan(sum) ? INFINITY : fabs(sum - target);
                }
        // the fused pass with the probe riding on it: both outputs bit-identical, any threads
        for (int nt = 1; nt <= 2; nt++) {
            float * Pf = malloc(np * sizeof(float)), * of = malloc(no * sizeof(float)), * lf = malloc(nl * sizeof(float));
            memset(Pf, 0xff, np * sizeof(float));   // NaN-fill: every weight must be written
            memset(of, 0xff, no * sizeof(float));
            struct gaze_view vof = { of, Hq * Tq * d, Tq * d, d };
            p.desc.n_threads = nt;
            s = gaze_attention_fused_probe(&p.desc, &p.q, &p.k, &p.v, &vof, lf, Pf);
            CHECK(s == GAZE_OK, "%s: fused probe failed: %s", p.name, gaze_last_error());
            CHECK(!memcmp(of, o1, no * sizeof(float)) && !memcmp(lf, l1, nl * sizeof(float)),
                  "%s isa=%s threads=%d: fused probe changed o or lse", p.name, gaze_isa_name(isas[ii]), nt);
            CHECK(!memcmp(Pf, P, np * sizeof(float)), "%s isa=%s threads=%d: fused probe weights differ from the probe's",
                  p.name, gaze_isa_name(isas[ii]), nt);
            free(Pf); free(of); free(lf);
        }
        CHECK(worst_sum <= 1e-5, "%s isa=%s: probe row sums off by %.3g", p.name, gaze_isa_name(isas[ii]), worst_sum);
        CHECK(worst_p <= 1e-5, "%s isa=%s: probe weights max abs err %.3g", p.name, gaze_isa_name(isas[ii]), worst_p);
        // pre-softmax scores: -inf exactly where masked, else scale·q·k + bias
        float * S = malloc(np * sizeof(float));
        s = gaze_attention_scores(&p.desc, &p.q, &p.k, NULL, 0, NULL, 0, S);
        CHECK(s == GAZE_OK, "%s: scores failed: %s", p.name, gaze_last_error());
        double worst_s = 0;
        for (int64_t b = 0; b < B && Tq * Tk <= 70000; b++)
            for (int64_t h = 0; h < Hq; h++)
                for (int64_t i = 0; i < Tq; i++)
                    for (int64_t j = 0; j < Tk; j++) {
                        float got = S[((b * Hq + h) * Tq + i) * Tk + j];
                        double want = -INFINITY;
                        if (test_allowed(&p, b, i, j)) {
                            const float * qi = p.q.data + b * p.q.sb + h * p.q.sh + i * p.q.st;
                            const float * kj = p.k.data + b * p.k.sb + (h / (Hq / Hkv)) * p.k.sh + j * p.k.st;
                            double dot = 0;
                            for (int64_t c = 0; c < d; c++) dot += (double)qi[c] * kj[c];
                            want = test_capped(&p, scale * dot);
                            if (p.bias) want += p.bias[(h * Tq + i) * Tk + j];
                            if (p.slopes) want -= p.slopes[h] * fabs((double)(i + p.desc.mask.q_offset - j));
                        }
                        double e = (want == -INFINITY) ? (got == -INFINITY ? 0 : INFINITY)
                                                       : fabs(got - want) / (1 + fabs(want));
                        if (!(e <= worst_s)) worst_s = isnan(e) ? INFINITY : e;
                    }
        CHECK(worst_s <= 1e-5, "%s isa=%s: scores err %.3g", p.name, gaze_isa_name(isas[ii]), worst_s);
        free(S);
        double epv = rel_err(pv, o1, no);
        CHECK(epv <= 1e-5, "%s isa=%s: P·V vs fused O rel err %.3g", p.name, gaze_isa_name(isas[ii]), epv);

        // a subset: heads {Hq-1, 0}, rows {Tq-1, 0, Tq/2} must equal the full probe
        int64_t heads[2] = { Hq - 1, 0 }, rows[3] = { Tq - 1, 0, Tq / 2 };
        float * Ps = malloc((size_t)(B * 2 * 3 * Tk) * sizeof(float));
        s = gaze_attention_probe(&p.desc, &p.q, &p.k, l1, heads, 2, rows, 3, Ps);
        CHECK(s == GAZE_OK, "%s: probe subset failed: %s", p.name, gaze_last_error());
        double worst_sub = 0;
        for (int64_t b = 0; b < B; b++)
            for (int n = 0; n < 2; n++)
                for (int r = 0; r < 3; r++)
                    for (int64_t j = 0; j < Tk; j++) {
                        float a = Ps[((b * 2 + n) * 3 + r) * Tk + j];
                        float e = P[((b * Hq + heads[n]) * Tq + rows[r]) * Tk + j];
                        double df = isnan(a) ? INFINITY : fabs((double)a - e);
                        if (df > worst_sub) worst_sub = df;
                    }
        // few rows take the row-at-a-time path (its own summation order): equal to rounding
        CHECK(worst_sub <= 1e-6, "%s: probe subset differs from full probe by %.3g", p.name, worst_sub);
        free(Ps);
        free(pv);
        free(P);
    }
    if (gaze_set_isa(GAZE_ISA_AVX512) != GAZE_OK && gaze_set_isa(GAZE_ISA_AVX2) != GAZE_OK)
        gaze_set_isa(GAZE_ISA_SCALAR);
    free(oref); free(lref); free(o1); free(l1); free(o2); free(l2);
    problem_free(&p);
}

// Permuting the keys (with their values and padding flags) leaves O unchanged.
static void test_permutation(uint64_t seed) {
    struct problem p;
    const int64_t T = 97, d = 64, H = 2;
    problem_init(&p, seed, 1, H, H, T, T, d, M_PAD, 1.0f);
    float * o1 = malloc((size_t)(H * T * d) * sizeof(float)), * o2 = malloc((size_t)(H * T * d) * sizeof(float));
    struct gaze_view vo1 = { o1, H * T * d, T * d, d }, vo2 = { o2, H * T * d, T * d, d };
    CHECK(gaze_attention_fused(&p.desc, &p.q, &p.k, &p.v, &vo1, NULL) == GAZE_OK, "%s", gaze_last_error());
    int64_t perm[97];
    for (int64_t j = 0; j < T; j++) perm[j] = j;
    for (int64_t j = T - 1; j > 0; j--) { int64_t r = (int64_t)(rnd() * (double)(j + 1)); int64_t t = perm[j]; perm[j] = perm[r]; perm[r] = t; }
    float * k2 = malloc((size_t)(H * T * d) * sizeof(float)), * v2 = malloc((size_t)(H * T * d) * sizeof(float));
    uint8_t valid2[97];
    for (int64_t h = 0; h < H; h++)
        for (int64_t j = 0; j < T; j++) {
            memcpy(k2 + (h * T + j) * d, p.kbuf + (h * T + perm[j]) * d, (size_t)d * sizeof(float));
            memcpy(v2 + (h * T + j) * d, p.vbuf + (h * T + perm[j]) * d, (size_t)d * sizeof(float));
        }
    for (int64_t j = 0; j < T; j++) valid2[j] = p.key_valid[perm[j]];
    struct gaze_attn_desc desc2 = p.desc;
    desc2.mask.key_valid = valid2;
    struct gaze_view kv2 = { k2, H * T * d, T * d, d }, vv2 = { v2, H * T * d, T * d, d };
    CHECK(gaze_attention_fused(&desc2, &p.q, &kv2, &vv2, &vo2, NULL) == GAZE_OK, "%s", gaze_last_error());
    double e = rel_err(o2, o1, (size_t)(H * T * d));
    CHECK(e <= 1e-5, "seed=%llu: permuted keys change O by %.3g", (unsigned long long)seed, e);
    free(o1); free(o2); free(k2); free(v2);
    problem_free(&p);
}

// Fully masked rows give zeros and lse = -inf; NaN in padded K/V does not leak; huge scores stay finite.
static void test_numerics(void) {
    for (size_t ii = 0; ii < sizeof isas / sizeof isas[0]; ii++) {
        if (gaze_set_isa(isas[ii]) != GAZE_OK) continue;
        struct problem p;
        const int64_t T = 70, d = 64;
        problem_init(&p, 7, 2, 1, 1, T, T, d, 0, 1.0f);
        uint8_t valid[140];
        for (int64_t j = 0; j < 2 * T; j++) valid[j] = j >= T ? 0 : (j < 50);   // batch 1: nothing valid
        p.desc.mask.key_valid = valid;
        for (int64_t j = 50; j < T; j++) {   // poison the padding of batch 0
            p.kbuf[j * d + 3] = NAN;
            p.vbuf[j * d + 5] = NAN;
        }
        float o[2 * 70 * 64], lse[140];
        struct gaze_view vo = { o, T * d, T * d, d };
        CHECK(gaze_attention_fused(&p.desc, &p.q, &p.k, &p.v, &vo, lse) == GAZE_OK, "%s", gaze_last_error());
        bool zeros = true, finite = true;
        for (int64_t i = 0; i < T * d; i++) finite &= isfinite(o[i]);
        for (int64_t i = T * d; i < 2 * T * d; i++) zeros &= o[i] == 0.0f;
        for (int64_t i = T; i < 2 * T; i++) zeros &= isinf(lse[i]) && lse[i] < 0;
        CHECK(finite, "isa=%s: NaN in padded K/V leaked into the output", gaze_isa_name(isas[ii]));
        CHECK(zeros, "isa=%s: fully masked rows are not zeros / -inf", gaze_isa_name(isas[ii]));
        float P[2 * 70 * 70];
        CHECK(gaze_attention_probe(&p.desc, &p.q, &p.k, lse, NULL, 0, NULL, 0, P) == GAZE_OK, "%s", gaze_last_error());
        bool pz = true;
        for (int64_t i = T * T; i < 2 * T * T; i++) pz &= P[i] == 0.0f;
        for (int64_t i = 0; i < T; i++) for (int64_t j = 50; j < T; j++) pz &= P[i * T + j] == 0.0f;
        CHECK(pz, "isa=%s: probe of masked keys/rows not exactly zero", gaze_isa_name(isas[ii]));
        problem_free(&p);

        // a query that sits before every key: causal with a negative offset
        problem_init(&p, 8, 1, 1, 1, 5, 5, 32, M_CAUSAL, 1.0f);
        p.desc.mask.q_offset = -2;
        float o5[5 * 32], l5[5];
        struct gaze_view v5 = { o5, 5 * 32, 5 * 32, 32 };
        CHECK(gaze_attention_fused(&p.desc, &p.q, &p.k, &p.v, &v5, l5) == GAZE_OK, "%s", gaze_last_error());
        bool z = true;
        for (int c = 0; c < 2 * 32; c++) z &= o5[c] == 0.0f;
        CHECK(z && isinf(l5[0]) && isinf(l5[1]) && isfinite(l5[2]), "isa=%s: causal rows before key 0 not zero",
              gaze_isa_name(isas[ii]));
        problem_free(&p);

        // scores of magnitude ~1e4 in both signs stay finite and match the reference
        problem_init(&p, 9, 1, 2, 1, 65, 65, 64, M_CAUSAL, 25.0f);   // |q·k|/8 ~ 1e4
        float ob[2 * 65 * 64], orf[2 * 65 * 64];
        struct gaze_view vb = { ob, 2 * 65 * 64, 65 * 64, 64 }, vr = { orf, 2 * 65 * 64, 65 * 64, 64 };
        CHECK(gaze_attention_fused(&p.desc, &p.q, &p.k, &p.v, &vb, NULL) == GAZE_OK, "%s", gaze_last_error());
        CHECK(gaze_attention_reference(&p.desc, &p.q, &p.k, &p.v, &vr, NULL) == GAZE_OK, "%s", gaze_last_error());
        double e = rel_err(ob, orf, 2 * 65 * 64);
        CHECK(e <= 1e-4, "isa=%s: huge scores rel err %.3g (must be finite)", gaze_isa_name(isas[ii]), e);
        problem_free(&p);
    }
    gaze_set_isa(GAZE_ISA_SCALAR);
    gaze_set_isa(GAZE_ISA_AVX2);
    gaze_set_isa(GAZE_ISA_AVX512);
}

// Scores of magnitude 1e3 .. 1e30, both signs (hostile weights, RESULTS.md F5/N6): the probe's
// rows sum to 1 and equal the float64 softmax, and O stays right. scale is chosen so that
// scale·log2(e) is exactly 1 in f32 and every score q·k = ±A + δ is exact in f32, so the
// float64 oracle sees the very scores the kernel does; δ moves in steps of max(ulp(A), 1/16),
// so rows have weights spread over a few keys (small A) or exact ties (huge A). An f32
// lse = m + log l cannot hold such rows (ulp(lse) / lse ~ 6e-8, so ~6e-5 error at 1e3).
// Tq = 67: rows 0..63 take the 64-row panel path, rows 64..66 the row-at-a-time path.
static void test_huge_scores(void) {
    const int64_t Tq = 67, Tk = 150, d = 16, H = 2;
    float scale = (float)(1.0 / M_LOG2E);
    for (int k = 0; k < 64 && scale * (float)M_LOG2E != 1.0f; k++)
        scale = nextafterf(scale, scale * (float)M_LOG2E > 1.0f ? 0.0f : 1.0f);
    CHECK(scale * (float)M_LOG2E == 1.0f, "no f32 scale with scale·log2(e) == 1 near ln 2");
    const float mags[] = { 1e3f, 1e4f, 1e5f, 2.7e5f, 1e6f, 1e7f, 1e9f, 1e15f, 1e22f, 1e30f };
    float * q = calloc((size_t)(H * Tq * d), sizeof(float)), * kk = calloc((size_t)(Tk * d), sizeof(float));
    float * v = malloc((size_t)(Tk * d) * sizeof(float)), * o = malloc((size_t)(H * Tq * d) * sizeof(float));
    float * lse = malloc((size_t)(H * Tq) * sizeof(float));
    float * P = malloc((size_t)(H * Tq * Tk) * sizeof(float)), * P0 = malloc((size_t)(H * Tq * Tk) * sizeof(float));
    double * w = malloc((size_t)Tk * sizeof(double));
    rng_state = 77;
    for (int64_t i = 0; i < Tk * d; i++) v[i] = rndn();
    int n_cases = 0;
    for (size_t ii = 0; ii < sizeof isas / sizeof isas[0]; ii++) {
        if (gaze_set_isa(isas[ii]) != GAZE_OK) continue;
        for (size_t mi = 0; mi < sizeof mags / sizeof mags[0]; mi++)
            for (int causal = 0; causal < 2; causal++) {
                const float A = mags[mi];
                const float g = fmaxf(nextafterf(A, INFINITY) - A, 1.0f / 16.0f);   // exact step of δ
                for (int64_t h = 0; h < H; h++)
                    for (int64_t i = 0; i < Tq; i++) {   // q = [±A, 1 or 2, 0 ...]
                        q[(h * Tq + i) * d + 0] = (i + h) % 2 ? -A : A;
                        q[(h * Tq + i) * d + 1] = i % 3 == 0 ? 2.0f : 1.0f;
                    }
                for (int64_t j = 0; j < Tk; j++) {      // k = [±1, δ, 0 ...], δ = -(0..12)·g
                    kk[j * d + 0] = j % 11 == 5 ? -1.0f : 1.0f;
                    kk[j * d + 1] = -(float)((j * 7) % 13) * g;
                }
                struct gaze_attn_desc desc = gaze_attn_desc_make(1, H, 1, Tq, Tk, d);
                desc.scale = scale;
                desc.mask.causal = causal;
                desc.mask.q_offset = Tk - Tq;
                desc.n_threads = 2;
                struct gaze_view vq = { q, H * Tq * d, Tq * d, d }, vk = { kk, Tk * d, Tk * d, d };
                struct gaze_view vv = { v, Tk * d, Tk * d, d }, vo = { o, H * Tq * d, Tq * d, d };
                CHECK(gaze_attention_fused(&desc, &vq, &vk, &vv, &vo, lse) == GAZE_OK, "fused: %s", gaze_last_error());
                CHECK(gaze_attention_probe(&desc, &vq, &vk, lse, NULL, 0, NULL, 0, P) == GAZE_OK, "probe: %s", gaze_last_error());
                CHECK(gaze_attention_probe(&desc, &vq, &vk, NULL, NULL, 0, NULL, 0, P0) == GAZE_OK, "probe without lse: %s",
                      gaze_last_error());
                double worst_sum = 0, worst_p = 0, worst_o = 0;
                for (int64_t h = 0; h < H; h++)
                    for (int64_t i = 0; i < Tq; i++) {
                        const float * qi = q + (h * Tq + i) * d;
                        const int64_t n_allowed = causal ? i + desc.mask.q_offset + 1 : Tk;
                        double mx = -INFINITY, sum_w = 0;
                        for (int64_t j = 0; j < n_allowed; j++) {   // exact in f32 and in float64
                            w[j] = (double)qi[0] * kk[j * d] + (double)qi[1] * kk[j * d + 1];
                            if (w[j] > mx) mx = w[j];
                        }
                        for (int64_t j = 0; j < n_allowed; j++) sum_w += (w[j] = exp((double)scale * (w[j] - mx)));
                        const float * row = P + (h * Tq + i) * Tk;
                        double sum = 0, err_p = 0;
                        for (int64_t j = 0; j < Tk; j++) {
                            const double want = j < n_allowed ? w[j] / sum_w : 0.0;
                            sum += row[j];
                            const double e = fabs(row[j] - want) / (want + 1e-30);
                            if (!(e <= err_p)) err_p = isnan(e) ? INFINITY : e;
                        }
                        if (!(fabs(sum - 1.0) <= worst_sum)) worst_sum = isnan(sum) ? INFINITY : fabs(sum - 1.0);
                        if (!(err_p <= worst_p)) worst_p = err_p;
                        for (int64_t c = 0; c < d; c++) {
                            double want = 0;
                            for (int64_t j = 0; j < n_allowed; j++) want += w[j] / sum_w * v[j * d + c];
                            const double e = fabs(o[(h * Tq + i) * d + c] - want) / (1.0 + fabs(want));
                            if (!(e <= worst_o)) worst_o = isnan(e) ? INFINITY : e;
                        }
                    }
                bool same = !memcmp(P, P0, (size_t)(H * Tq * Tk) * sizeof(float));
                const char * isa = gaze_isa_name(isas[ii]);
                CHECK(worst_sum <= 2e-6, "isa=%s |score| %g causal=%d: probe rows sum to 1 +- %.3g", isa, (double)A, causal,
                      worst_sum);
                CHECK(worst_p <= 1e-5, "isa=%s |score| %g causal=%d: probe vs float64 weights rel err %.3g", isa,
                      (double)A, causal, worst_p);
                CHECK(worst_o <= 1e-5, "isa=%s |score| %g causal=%d: fused O vs float64 err %.3g", isa, (double)A, causal,
                      worst_o);
                CHECK(same, "isa=%s |score| %g causal=%d: probe with and without lse differ", isa, (double)A, causal);
                n_cases++;
            }
    }
    if (gaze_set_isa(GAZE_ISA_AVX512) != GAZE_OK && gaze_set_isa(GAZE_ISA_AVX2) != GAZE_OK)
        gaze_set_isa(GAZE_ISA_SCALAR);
    printf("huge scores: %d ISA x magnitude x mask cases\n", n_cases);
    free(q); free(kk); free(v); free(o); free(lse); free(P); free(P0); free(w);
}

static void test_errors(void) {
    struct gaze_attn_desc desc = gaze_attn_desc_make(1, 3, 2, 4, 4, 64);
    float buf[3 * 4 * 64];
    struct gaze_view v = { buf, 3 * 4 * 64, 4 * 64, 64 };
    CHECK(gaze_attention_fused(&desc, &v, &v, &v, &v, NULL) == GAZE_ERR_INVALID_ARG &&
          strstr(gaze_last_error(), "multiple"), "GQA ratio error: %s", gaze_last_error());
    desc = gaze_attn_desc_make(1, 1, 1, 4, 4, 300);
    CHECK(gaze_attention_fused(&desc, &v, &v, &v, &v, NULL) == GAZE_ERR_INVALID_ARG, "d > 256 accepted");
    desc = gaze_attn_desc_make(1, 1, 1, 0, 4, 64);
    CHECK(gaze_attention_fused(&desc, &v, &v, &v, &v, NULL) == GAZE_ERR_INVALID_ARG, "Tq = 0 accepted");
    desc = gaze_attn_desc_make(1, 1, 1, 4, 4, 64);
    struct gaze_view bad = { buf, 256, 256, 32 };   // rows overlap
    CHECK(gaze_attention_fused(&desc, &bad, &v, &v, &v, NULL) == GAZE_ERR_INVALID_ARG, "overlapping stride accepted");
    CHECK(gaze_attention_fused_probe(&desc, &v, &v, &v, &v, NULL, NULL) == GAZE_ERR_INVALID_ARG &&
          strstr(gaze_last_error(), "NULL"), "fused probe without p: %s", gaze_last_error());
    CHECK(gaze_attention_fused_probe(&desc, &bad, &v, &v, &v, NULL, buf) == GAZE_ERR_INVALID_ARG,
          "fused probe: overlapping stride accepted");
    desc.softcap = -1.0f;
    CHECK(gaze_attention_fused(&desc, &v, &v, &v, &v, NULL) == GAZE_ERR_INVALID_ARG &&
          strstr(gaze_last_error(), "softcap"), "negative softcap: %s", gaze_last_error());
    desc.softcap = NAN;
    CHECK(gaze_attention_reference(&desc, &v, &v, &v, &v, NULL) == GAZE_ERR_INVALID_ARG, "NaN softcap accepted");
    desc.softcap = 0.0f;
    int32_t rows[2] = { 0, 1 }, cols[1] = { 5 };
    desc.mask.sparse_rows = rows; desc.mask.sparse_cols = cols;
    desc.mask.sparse_block_q = 4; desc.mask.sparse_block_k = 4;
    CHECK(gaze_attention_fused(&desc, &v, &v, &v, &v, NULL) == GAZE_ERR_INVALID_ARG &&
          strstr(gaze_last_error(), "sparse_cols"), "bad sparse layout: %s", gaze_last_error());
}

// Split-KV decoding: few query rows over long keys, the keys cut across threads and merged.
// Forced on ($GAZE_ATTN_SPLIT_KV=1) it must match the float64 reference on 1..4 threads for
// every mask, be bit-identical run to run for a thread count, and differ in bits from the
// head split (=0), which shows it ran; left automatic on 2 threads it must be the one chosen.
static void splitkv_case(uint64_t seed, int64_t B, int64_t Hq, int64_t Hkv, int64_t Tq, int64_t Tk,
                         int64_t d, int flags) {
    struct problem p;
    problem_init(&p, seed, B, Hq, Hkv, Tq, Tk, d, flags, 1.0f);
    size_t no = (size_t)(B * Hq * Tq * d), nl = (size_t)(B * Hq * Tq);
    float * oref = malloc(no * sizeof(float)), * lref = malloc(nl * sizeof(float));
    float * o1 = malloc(no * sizeof(float)), * l1 = malloc(nl * sizeof(float));
    float * o2 = malloc(no * sizeof(float)), * l2 = malloc(nl * sizeof(float));
    struct gaze_view vr = { oref, Hq * Tq * d, Tq * d, d };
    struct gaze_view v1 = { o1, Hq * Tq * d, Tq * d, d }, v2 = { o2, Hq * Tq * d, Tq * d, d };
    CHECK(gaze_attention_reference(&p.desc, &p.q, &p.k, &p.v, &vr, lref) == GAZE_OK, "%s: reference", p.name);
    for (size_t ii = 0; ii < sizeof isas / sizeof isas[0]; ii++) {
        if (gaze_set_isa(isas[ii]) != GAZE_OK) continue;
        if (isas[ii] == GAZE_ISA_SCALAR && Tk > 5000) continue;   // slow: the smaller problems only
        const char * isa = gaze_isa_name(isas[ii]);
        for (int nt = 1; nt <= 4; nt++) {
            p.desc.n_threads = nt;
            setenv("GAZE_ATTN_SPLIT_KV", "1", 1);
            memset(o1, 0xff, no * sizeof(float));
            CHECK(gaze_attention_fused(&p.desc, &p.q, &p.k, &p.v, &v1, l1) == GAZE_OK, "%s: split", p.name);
            double e = rel_err(o1, oref, no), el = lse_err(l1, lref, nl);
            CHECK(e <= 1e-5, "%s isa=%s threads=%d: split vs reference rel err %.3g", p.name, isa, nt, e);
            CHECK(el <= 1e-5, "%s isa=%s threads=%d: split lse err %.3g", p.name, isa, nt, el);
            bool same = true;
            for (int rep = 0; rep < 3 && same; rep++) {
                memset(o2, 0xff, no * sizeof(float));
                CHECK(gaze_attention_fused(&p.desc, &p.q, &p.k, &p.v, &v2, l2) == GAZE_OK, "%s: split", p.name);
                same = !memcmp(o1, o2, no * sizeof(float)) && !memcmp(l1, l2, nl * sizeof(float));
            }
            CHECK(same, "%s isa=%s threads=%d: split not bit-identical across runs", p.name, isa, nt);
            if (nt == 2 && !(flags & M_WINDOW)) {   // a window leaves one tile: no split to see
                setenv("GAZE_ATTN_SPLIT_KV", "0", 1);
                CHECK(gaze_attention_fused(&p.desc, &p.q, &p.k, &p.v, &v2, l2) == GAZE_OK, "%s: heads", p.name);
                CHECK(memcmp(o1, o2, no * sizeof(float)) != 0, "%s isa=%s: split ran as the head split", p.name, isa);
                unsetenv("GAZE_ATTN_SPLIT_KV");
                CHECK(gaze_attention_fused(&p.desc, &p.q, &p.k, &p.v, &v2, l2) == GAZE_OK, "%s: auto", p.name);
                CHECK(!memcmp(o1, o2, no * sizeof(float)), "%s isa=%s: auto did not choose the split", p.name, isa);
            }
        }
    }
    unsetenv("GAZE_ATTN_SPLIT_KV");
    if (gaze_set_isa(GAZE_ISA_AVX512) != GAZE_OK && gaze_set_isa(GAZE_ISA_AVX2) != GAZE_OK)
        gaze_set_isa(GAZE_ISA_SCALAR);
    free(oref); free(lref); free(o1); free(l1); free(o2); free(l2);
    problem_free(&p);
}

// Rows with no allowed key in any chunk: zeros and lse = -inf, never NaN, on every split.
static void splitkv_empty_rows(void) {
    struct problem p;
    problem_init(&p, 77, 2, 3, 1, 1, 5000, 64, M_PAD, 1.0f);
    memset(p.key_valid + 5000, 0, 5000);            // batch 1: no valid key at all
    float o[2 * 3 * 64], l[6];
    struct gaze_view vo = { o, 3 * 64, 64, 64 };
    setenv("GAZE_ATTN_SPLIT_KV", "1", 1);
    for (int nt = 1; nt <= 4; nt++) {
        p.desc.n_threads = nt;
        memset(o, 0xff, sizeof o);
        CHECK(gaze_attention_fused(&p.desc, &p.q, &p.k, &p.v, &vo, l) == GAZE_OK, "empty rows");
        bool zeros = true, finite = true;
        for (int x = 0; x < 3 * 64; x++) { zeros &= o[3 * 64 + x] == 0.0f; finite &= isfinite(o[x]); }
        CHECK(zeros, "threads=%d: a row with nothing allowed is not zeros", nt);
        CHECK(finite, "threads=%d: batch 0 rows not finite", nt);
        CHECK(isinf(l[3]) && l[3] < 0 && isinf(l[5]) && l[5] < 0, "threads=%d: empty row lse %g", nt, l[3]);
    }
    unsetenv("GAZE_ATTN_SPLIT_KV");
    problem_free(&p);
}

// Decoding rows with GQA run a kv head's query heads together (row_group): o and lse must be
// bit-identical to the per-head row path, which the same problem takes when each query head has
// its own copy of the K/V head (Hkv = Hq: no group). Every ISA, 1 and 2 threads, masks, a
// cache offset, groups of 2, 3, 4 and 7 (split into sub-groups of <= 4).
static void gqa_rows_case(uint64_t seed, int64_t Hq, int64_t Hkv, int64_t Tq, int64_t Tk, int64_t d, bool causal) {
    const int64_t G = Hq / Hkv;
    float * q = malloc((size_t)(Tq * Hq * d) * sizeof(float)), * k = malloc((size_t)(Tk * Hkv * d) * sizeof(float));
    float * v = malloc((size_t)(Tk * Hkv * d) * sizeof(float)), * k2 = malloc((size_t)(Tk * Hq * d) * sizeof(float));
    float * v2 = malloc((size_t)(Tk * Hq * d) * sizeof(float));
    float * o1 = malloc((size_t)(Tq * Hq * d) * sizeof(float)), * o2 = malloc((size_t)(Tq * Hq * d) * sizeof(float));
    float l1[64], l2[64];
    uint64_t r = seed * 0x9E3779B97F4A7C15ULL + 1;
    for (int64_t i = 0; i < Tq * Hq * d; i++) { r = r * 6364136223846793005ULL + 1442695040888963407ULL; q[i] = (float)((double)(r >> 11) / 9007199254740992.0 * 4 - 2); }
    for (int64_t i = 0; i < Tk * Hkv * d; i++) {
        r = r * 6364136223846793005ULL + 1442695040888963407ULL; k[i] = (float)((double)(r >> 11) / 9007199254740992.0 * 4 - 2);
        r = r * 6364136223846793005ULL + 1442695040888963407ULL; v[i] = (float)((double)(r >> 11) / 9007199254740992.0 * 2 - 1);
    }
    for (int64_t j = 0; j < Tk; j++)
        for (int64_t h = 0; h < Hq; h++) {
            memcpy(k2 + (j * Hq + h) * d, k + (j * Hkv + h / G) * d, (size_t)d * sizeof(float));
            memcpy(v2 + (j * Hq + h) * d, v + (j * Hkv + h / G) * d, (size_t)d * sizeof(float));
        }
    for (size_t ii = 0; ii < sizeof isas / sizeof isas[0]; ii++) {
        if (gaze_set_isa(isas[ii]) != GAZE_OK) continue;
        for (int nt = 1; nt <= 2; nt++) {
            struct gaze_attn_desc dg = gaze_attn_desc_make(1, Hq, Hkv, Tq, Tk, d), dm = gaze_attn_desc_make(1, Hq, Hq, Tq, Tk, d);
            dg.mask.causal = dm.mask.causal = causal;
            dg.mask.window_right = dm.mask.window_right = -1;
            dg.mask.window_left = dm.mask.window_left = causal ? 100 : -1;
            dg.mask.q_offset = dm.mask.q_offset = Tk - Tq;
            dg.n_threads = dm.n_threads = nt;
            struct gaze_view vq = { q, 0, d, Hq * d }, vk = { k, 0, d, Hkv * d }, vv = { v, 0, d, Hkv * d };
            struct gaze_view vk2 = { k2, 0, d, Hq * d }, vv2 = { v2, 0, d, Hq * d };
            struct gaze_view vo1 = { o1, 0, d, Hq * d }, vo2 = { o2, 0, d, Hq * d };
            CHECK(gaze_attention_fused(&dg, &vq, &vk, &vv, &vo1, l1) == GAZE_OK, "gqa rows: %s", gaze_last_error());
            CHECK(gaze_attention_fused(&dm, &vq, &vk2, &vv2, &vo2, l2) == GAZE_OK, "gqa rows: %s", gaze_last_error());
            CHECK(!memcmp(o1, o2, (size_t)(Tq * Hq * d) * sizeof(float)) && !memcmp(l1, l2, (size_t)(Tq * Hq) * sizeof(float)),
                  "gqa rows Hq=%lld Hkv=%lld Tq=%lld Tk=%lld d=%lld isa=%s threads=%d: grouped heads differ from the per-head path",
                  (long long)Hq, (long long)Hkv, (long long)Tq, (long long)Tk, (long long)d, gaze_isa_name(isas[ii]), nt);
        }
    }
    if (gaze_set_isa(GAZE_ISA_AVX512) != GAZE_OK && gaze_set_isa(GAZE_ISA_AVX2) != GAZE_OK)
        gaze_set_isa(GAZE_ISA_SCALAR);
    free(q); free(k); free(v); free(k2); free(v2); free(o1); free(o2);
}

int main(void) {
    printf("test_attention: ISA %s\n", gaze_isa_name(gaze_isa_active()));
    uint64_t seed = 1;
    gqa_rows_case(seed++, 9, 3, 1, 577, 64, true);
    gqa_rows_case(seed++, 4, 1, 1, 300, 256, true);
    gqa_rows_case(seed++, 8, 4, 3, 130, 80, true);
    gqa_rows_case(seed++, 14, 2, 2, 200, 64, false);
    // odd sizes × head dims, unmasked and causal
    const int64_t Ts[] = { 1, 2, 7, 63, 64, 65, 1000 };
    const int64_t ds[] = { 32, 64, 80, 128, 256 };
    for (size_t a = 0; a < 7; a++)
        for (size_t c = 0; c < 5; c++) {
            int64_t T = Ts[a], d = ds[c];
            if (T == 1000 && d != 64 && d != 128) continue;   // keep the float64 oracle affordable
            run_case(seed++, 1, 2, 1, T, T, d, 0, T <= 65);
            run_case(seed++, 1, 3, 3, T, T, d, M_CAUSAL, T <= 65);
        }
    // Tq != Tk (KV cache), GQA ratios 1/3/4, batches, strided views
    run_case(seed++, 2, 4, 4, 7, 130, 64, M_CAUSAL | M_OFFSET, true);
    run_case(seed++, 1, 9, 3, 33, 200, 64, M_CAUSAL | M_OFFSET | M_STRIDED, true);
    run_case(seed++, 2, 8, 2, 65, 63, 80, M_STRIDED, true);
    run_case(seed++, 1, 3, 1, 1, 1000, 128, M_CAUSAL | M_OFFSET, true);
    run_case(seed++, 1, 4, 1, 129, 77, 96, 0, true);
    // every mask kind alone and in combinations
    const int masks[] = {
        M_PAD, M_WINDOW, M_WINDOW | M_CAUSAL, M_SPARSE, M_GLOBAL | M_WINDOW, M_BIAS, M_ALIBI,
        M_CAUSAL | M_PAD, M_CAUSAL | M_WINDOW | M_PAD, M_SPARSE | M_GLOBAL, M_SPARSE | M_CAUSAL,
        M_WINDOW | M_SPARSE | M_GLOBAL | M_PAD, M_CAUSAL | M_ALIBI | M_PAD, M_BIAS | M_CAUSAL | M_WINDOW,
        M_CAUSAL | M_OFFSET | M_WINDOW | M_GLOBAL | M_SPARSE | M_PAD | M_BIAS | M_ALIBI | M_STRIDED,
    };
    for (size_t mi = 0; mi < sizeof masks / sizeof masks[0]; mi++) {
        run_case(seed++, 2, 3, 1, 150, 150, 64, masks[mi], true);
        run_case(seed++, 1, 4, 4, 63, 200, 32, masks[mi], true);
        run_case(seed++, 1, 2, 2, 300, 300, 128, masks[mi], false);
    }
    // few query rows take the row-at-a-time path: every mask kind there too
    for (size_t mi = 0; mi < sizeof masks / sizeof masks[0]; mi++) {
        run_case(seed++, 2, 3, 1, 3, 300, 64, masks[mi] | M_OFFSET, true);
        run_case(seed++, 1, 4, 2, 4, 130, 80, masks[mi], true);
    }
    // split-KV decoding: SmolLM2-like GQA 9/3, one KV head, batches, 1..4 rows, every mask
    const int64_t Tks[] = { 4096, 5000, 32768 };
    for (size_t a = 0; a < 3; a++) {
        splitkv_case(seed++, 1, 9, 3, 1, Tks[a], 64, M_CAUSAL | M_OFFSET);
        splitkv_case(seed++, 2, 4, 1, 3, Tks[a], 80, M_STRIDED);
    }
    for (size_t mi = 0; mi < sizeof masks / sizeof masks[0]; mi++)
        splitkv_case(seed++, 1, 4, 1, 2, 5000, 64, masks[mi] | M_OFFSET);
    // soft-capped scores (Gemma 2) on the tile, row and split-KV paths, with masks and bias
    const int caps[] = { M_SOFTCAP, M_SOFTCAP | M_CAUSAL, M_SOFTCAP | M_CAUSAL | M_WINDOW | M_PAD,
                         M_SOFTCAP | M_BIAS | M_STRIDED, M_SOFTCAP | M_ALIBI | M_SPARSE };
    for (size_t ci = 0; ci < sizeof caps / sizeof caps[0]; ci++) {
        run_case(seed++, 2, 3, 1, 150, 150, 64, caps[ci], true);
        run_case(seed++, 1, 4, 2, 3, 300, 80, caps[ci] | M_OFFSET, true);
        run_case(seed++, 1, 2, 2, 200, 200, 256, caps[ci], false);
    }
    splitkv_case(seed++, 1, 8, 2, 1, 5000, 128, M_SOFTCAP | M_CAUSAL | M_OFFSET);
    splitkv_case(seed++, 1, 4, 1, 2, 4096, 64, M_SOFTCAP | M_WINDOW | M_OFFSET);
    splitkv_empty_rows();
    for (uint64_t s = 100; s < 103; s++) test_permutation(s);
    test_numerics();
    test_huge_scores();
    test_errors();
    return check_summary("test_attention");
}

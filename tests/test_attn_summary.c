// Attention summaries computed inside the fused pass (gaze_attention_fused_summary) against
// the same statistics taken from the probe's full weights: top-k, sink and block maxima bit
// for bit, entropy, local mass and block sums to rounding; o and the fused probe's p unchanged
// by summarising; every ISA, both tile and row paths, masks, GQA, head subsets, soft-capped
// scores (Gemma 2), a KV cache filled by several calls.
#include "check.h"
#include "gaze.h"
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state;
static float rndn(void) {
    rng_state ^= rng_state >> 12; rng_state ^= rng_state << 25; rng_state ^= rng_state >> 27;
    return (float)(2.0 * (double)((rng_state * 2685821657736338717ULL) >> 11) / 9007199254740992.0 - 1.0);
}

struct sum_buf { struct gaze_attn_summary s; int64_t nbr, nbc; };

static void sum_alloc(struct sum_buf * b, int64_t Hc, int64_t n_rows, int64_t n_keys, int k, int block, int w) {
    memset(b, 0, sizeof *b);
    b->s = (struct gaze_attn_summary){ .top_k = k, .block = block, .window = w, .n_heads = Hc, .n_rows = n_rows, .n_keys = n_keys };
    b->nbr = (n_rows + block - 1) / block;
    b->nbc = (n_keys + block - 1) / block;
    const size_t r = (size_t)(Hc * n_rows), nb = (size_t)(Hc * b->nbr * b->nbc);
    b->s.entropy = calloc(r, sizeof(float));
    b->s.sink = calloc(r, sizeof(float));
    b->s.local = calloc(r, sizeof(float));
    b->s.top_keys = calloc(r * (size_t)k, sizeof(int32_t));
    b->s.top_weights = calloc(r * (size_t)k, sizeof(float));
    b->s.block_sum = calloc(nb, sizeof(float));
    b->s.block_max = calloc(nb, sizeof(float));
}

static void sum_free(struct sum_buf * b) {
    free(b->s.entropy); free(b->s.sink); free(b->s.local); free(b->s.top_keys);
    free(b->s.top_weights); free(b->s.block_sum); free(b->s.block_max);
}

// The reference: the statistics of the probe's weights of one call (rows at q_offset + i),
// block sums in double and accumulated over calls.
struct ref { double * bsum; float * bmax; };

static void compare_call(const char * name, const struct gaze_attn_desc * desc, const struct gaze_view * q,
                         const struct gaze_view * k, const int64_t * heads, int64_t Hc,
                         const struct sum_buf * sb, struct ref * ref) {
    const struct gaze_attn_summary * S = &sb->s;
    const int64_t Tq = desc->Tq, Tk = desc->Tk, K = S->top_k, b = S->block;
    float * p = malloc((size_t)(Hc * Tq * Tk) * sizeof(float));
    CHECK(gaze_attention_probe(desc, q, k, NULL, heads, Hc, NULL, 0, p) == GAZE_OK, "%s: probe: %s", name, gaze_last_error());
    int bad_top = 0, bad_sink = 0, bad_ent = 0, bad_loc = 0;
    double worst_ent = 0, worst_loc = 0;
    float * w = malloc((size_t)Tk * sizeof(float));
    int32_t * idx = malloc((size_t)Tk * sizeof(int32_t));
    for (int64_t n = 0; n < Hc; n++)
        for (int64_t i = 0; i < Tq; i++) {
            const float * pr = p + (n * Tq + i) * Tk;
            const int64_t pos = i + desc->mask.q_offset, row = n * S->n_rows + pos;
            double H = 0, loc = 0, total = 0;
            int64_t n_allowed = 0;
            for (int64_t j = 0; j < Tk; j++) {
                total += pr[j];
                if (pr[j] > 0) H -= (double)pr[j] * log((double)pr[j]);
                if (j > pos - S->window && j <= pos) loc += pr[j];
                const int64_t bi = (n * sb->nbr + pos / b) * sb->nbc + j / b;
                ref->bsum[bi] += pr[j];
                if (pr[j] > ref->bmax[bi]) ref->bmax[bi] = pr[j];
                n_allowed += pr[j] > 0;
            }
            const double de = fabs(H - S->entropy[row]), dl = fabs(loc - S->local[row]);
            if (de > worst_ent) worst_ent = de;
            if (dl > worst_loc) worst_loc = dl;
            bad_ent += de > 2e-5 * (1 + H);
            bad_loc += dl > 2e-6;
            bad_sink += S->sink[row] != pr[0];
            // top-k: weights sorted (desc, key asc) from the probe; each reported key carries its
            // probe weight exactly and the reported list is that ranking
            for (int64_t j = 0; j < Tk; j++) { w[j] = pr[j]; idx[j] = (int32_t)j; }
            for (int64_t r = 0; r < K && r < Tk; r++) {
                int64_t best = r;
                for (int64_t j = r + 1; j < Tk; j++)
                    if (w[j] > w[best] || (w[j] == w[best] && idx[j] < idx[best])) best = j;
                float tw = w[r]; w[r] = w[best]; w[best] = tw;
                int32_t ti = idx[r]; idx[r] = idx[best]; idx[best] = ti;
            }
            (void)n_allowed;
            for (int64_t r = 0; r < K; r++) {
                const int32_t key = S->top_keys[row * K + r];
                const float wt = S->top_weights[row * K + r];
                if (total == 0) { bad_top += key != -1 || wt != 0; continue; }
                if (r >= Tk) { bad_top += key != -1; continue; }
                // a masked key is never listed: fewer allowed keys than k leave -1
                const bool allowed_left = w[r] > 0 || key >= 0;
                if (!allowed_left) continue;
                if (key < 0) { bad_top += w[r] > 0; continue; }
                bad_top += pr[key] != wt || wt != w[r];
            }
        }
    CHECK(bad_top == 0, "%s: %d top-k entries differ from the probe's", name, bad_top);
    CHECK(bad_sink == 0, "%s: %d sink weights differ from the probe's key 0", name, bad_sink);
    CHECK(bad_ent == 0, "%s: %d entropies off (worst %.3g)", name, bad_ent, worst_ent);
    CHECK(bad_loc == 0, "%s: %d local masses off (worst %.3g)", name, bad_loc, worst_loc);
    free(w); free(idx); free(p);
}

static void compare_blocks(const char * name, const struct sum_buf * sb, const struct ref * ref) {
    const int64_t n = sb->s.n_heads * sb->nbr * sb->nbc;
    int bad_sum = 0, bad_max = 0;
    for (int64_t x = 0; x < n; x++) {
        bad_sum += fabs(ref->bsum[x] - sb->s.block_sum[x]) > 1e-5 * (1 + ref->bsum[x]);
        bad_max += ref->bmax[x] != sb->s.block_max[x];
    }
    CHECK(bad_sum == 0, "%s: %d block sums off", name, bad_sum);
    CHECK(bad_max == 0, "%s: %d block maxima differ from the probe's", name, bad_max);
}

enum { CAUSAL = 1, WINDOW = 2, SUBSET = 4, PAD = 8, SOFTCAP = 16 };

// One self-attention problem summarised in one call, o and p checked against the plain kernels.
static void one_case(uint64_t seed, int64_t Hq, int64_t Hkv, int64_t T, int64_t d, int flags, int K, int block, int w) {
    char name[200];
    snprintf(name, sizeof name, "isa=%s seed=%llu Hq=%lld Hkv=%lld T=%lld d=%lld flags=%d k=%d b=%d w=%d",
             gaze_isa_name(gaze_isa_active()), (unsigned long long)seed, (long long)Hq, (long long)Hkv,
             (long long)T, (long long)d, flags, K, block, w);
    rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
    const size_t nq = (size_t)(Hq * T * d), nk = (size_t)(Hkv * T * d);
    float * qb = malloc(nq * 4), * kb = malloc(nk * 4), * vb = malloc(nk * 4);
    float * o1 = malloc(nq * 4), * o2 = malloc(nq * 4);
    for (size_t i = 0; i < nq; i++) qb[i] = 2.0f * rndn();
    for (size_t i = 0; i < nk; i++) { kb[i] = 2.0f * rndn(); vb[i] = rndn(); }
    struct gaze_view q = { qb, Hq * T * d, T * d, d }, k = { kb, Hkv * T * d, T * d, d }, v = { vb, Hkv * T * d, T * d, d };
    struct gaze_view vo1 = { o1, Hq * T * d, T * d, d }, vo2 = { o2, Hq * T * d, T * d, d };
    struct gaze_attn_desc desc = gaze_attn_desc_make(1, Hq, Hkv, T, T, d);
    desc.mask.causal = flags & CAUSAL;
    if (flags & WINDOW) { desc.mask.window_left = 37; if (!(flags & CAUSAL)) desc.mask.window_right = 11; }
    uint8_t * valid = NULL;
    if (flags & PAD) {
        valid = malloc((size_t)T);
        for (int64_t j = 0; j < T; j++) valid[j] = (j % 7) != 3 && j != 0;   // key 0 masked: sink 0
        desc.mask.key_valid = valid;
    }
    // Gemma 2's soft-cap: scores here have standard deviation ~1.3, a cap of 1.5 bends them
    if (flags & SOFTCAP) desc.softcap = 1.5f;
    desc.n_threads = 2;
    int64_t subset[2] = { 0, Hq - 1 };
    const int64_t * heads = (flags & SUBSET) ? subset : NULL;
    const int64_t Hc = heads ? 2 : Hq;
    struct sum_buf sb;
    sum_alloc(&sb, Hc, T, T, K, block, w);
    CHECK(gaze_attention_fused(&desc, &q, &k, &v, &vo1, NULL) == GAZE_OK, "%s: fused", name);
    CHECK(gaze_attention_fused_summary(&desc, &q, &k, &v, &vo2, NULL, NULL, heads, Hc, &sb.s) == GAZE_OK,
          "%s: summary: %s", name, gaze_last_error());
    CHECK(!memcmp(o1, o2, nq * 4), "%s: o changed by summarising", name);
    struct ref ref = { calloc((size_t)(Hc * sb.nbr * sb.nbc), sizeof(double)), calloc((size_t)(Hc * sb.nbr * sb.nbc), sizeof(float)) };
    compare_call(name, &desc, &q, &k, heads, Hc, &sb, &ref);
    compare_blocks(name, &sb, &ref);
    if (!heads) {   // with the fused probe too: p and o bit-identical to the fused probe alone
        float * p1 = malloc((size_t)(Hq * T * T) * 4), * p2 = malloc((size_t)(Hq * T * T) * 4);
        struct sum_buf sb2;
        sum_alloc(&sb2, Hc, T, T, K, block, w);
        CHECK(gaze_attention_fused_probe(&desc, &q, &k, &v, &vo1, NULL, p1) == GAZE_OK, "%s: fused probe", name);
        CHECK(gaze_attention_fused_summary(&desc, &q, &k, &v, &vo2, NULL, p2, NULL, Hq, &sb2.s) == GAZE_OK, "%s: summary+p", name);
        CHECK(!memcmp(o1, o2, nq * 4) && !memcmp(p1, p2, (size_t)(Hq * T * T) * 4), "%s: o or p changed by summarising", name);
        CHECK(!memcmp(sb.s.top_weights, sb2.s.top_weights, (size_t)(Hc * T * K) * 4), "%s: summaries differ with p", name);
        sum_free(&sb2); free(p1); free(p2);
    }
    free(ref.bsum); free(ref.bmax);
    sum_free(&sb);
    free(qb); free(kb); free(vb); free(o1); free(o2); free(valid);
}

// A causal KV cache filled by several calls (prompt, then a chunk starting off a block
// boundary, then single decode steps): one summary over all positions.
static void cache_case(uint64_t seed, int block) {
    char name[160];
    snprintf(name, sizeof name, "isa=%s cache seed=%llu b=%d", gaze_isa_name(gaze_isa_active()), (unsigned long long)seed, block);
    const int64_t Hq = 4, Hkv = 2, d = 32, N = 211;
    const int64_t chunks[] = { 130, 75, 1, 1, 4 };
    rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
    float * qb = malloc((size_t)(N * Hq * d) * 4), * kb = malloc((size_t)(N * Hkv * d) * 4), * vb = malloc((size_t)(N * Hkv * d) * 4);
    float * ob = malloc((size_t)(N * Hq * d) * 4);
    for (int64_t i = 0; i < N * Hq * d; i++) qb[i] = 2.0f * rndn();
    for (int64_t i = 0; i < N * Hkv * d; i++) { kb[i] = 2.0f * rndn(); vb[i] = rndn(); }
    struct sum_buf sb;
    sum_alloc(&sb, Hq, N, N, 5, block, 9);
    struct ref ref = { calloc((size_t)(Hq * sb.nbr * sb.nbc), sizeof(double)), calloc((size_t)(Hq * sb.nbr * sb.nbc), sizeof(float)) };
    int64_t past = 0;
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        const int64_t T = chunks[c], Tk = past + T;
        // token-major views, as gaze_mha_forward passes them
        struct gaze_view q = { qb + past * Hq * d, 0, d, Hq * d }, k = { kb, 0, d, Hkv * d }, v = { vb, 0, d, Hkv * d };
        struct gaze_view o = { ob + past * Hq * d, 0, d, Hq * d };
        struct gaze_attn_desc desc = gaze_attn_desc_make(1, Hq, Hkv, T, Tk, d);
        desc.mask.causal = true;
        desc.mask.q_offset = past;
        desc.n_threads = 2;
        CHECK(gaze_attention_fused_summary(&desc, &q, &k, &v, &o, NULL, NULL, NULL, Hq, &sb.s) == GAZE_OK,
              "%s: chunk %zu: %s", name, c, gaze_last_error());
        compare_call(name, &desc, &q, &k, NULL, Hq, &sb, &ref);
        past = Tk;
    }
    compare_blocks(name, &sb, &ref);
    free(ref.bsum); free(ref.bmax);
    sum_free(&sb);
    free(qb); free(kb); free(vb); free(ob);
}

static void bad_args(void) {
    const int64_t T = 8, d = 4;
    float buf[64] = { 0 };
    struct gaze_view x = { buf, T * d, T * d, d };
    struct gaze_attn_desc desc = gaze_attn_desc_make(1, 1, 1, T, T, d);
    struct sum_buf sb;
    sum_alloc(&sb, 1, T, T, 8, 64, 16);
    sb.s.block = 48;
    CHECK(gaze_attention_fused_summary(&desc, &x, &x, &x, &x, NULL, NULL, NULL, 1, &sb.s) == GAZE_ERR_INVALID_ARG, "block 48 refused");
    sb.s.block = 64; sb.s.top_k = 0;
    CHECK(gaze_attention_fused_summary(&desc, &x, &x, &x, &x, NULL, NULL, NULL, 1, &sb.s) == GAZE_ERR_INVALID_ARG, "k 0 refused");
    sb.s.top_k = 8; sb.s.n_rows = 4;
    CHECK(gaze_attention_fused_summary(&desc, &x, &x, &x, &x, NULL, NULL, NULL, 1, &sb.s) == GAZE_ERR_INVALID_ARG, "rows beyond capacity refused");
    sum_free(&sb);
}

int main(void) {
    const enum gaze_isa isas[] = { GAZE_ISA_SCALAR, GAZE_ISA_AVX2, GAZE_ISA_AVX512 };
    const enum gaze_isa best = gaze_isa_active();
    for (size_t x = 0; x < 3; x++) {
        if (isas[x] > best) continue;
        gaze_set_isa(isas[x]);
        one_case(1, 4, 2, 200, 40, CAUSAL, 8, 64, 16);       // last panel 8 rows: tile path
        one_case(2, 3, 3, 195, 64, 0, 8, 64, 16);            // last panel 3 rows: row path
        one_case(3, 4, 1, 150, 16, CAUSAL | WINDOW | SUBSET, 3, 8, 5);
        one_case(4, 2, 2, 131, 24, WINDOW | PAD, 12, 16, 40);
        one_case(5, 2, 1, 3, 8, CAUSAL, 8, 1, 2);            // fewer keys than k
        one_case(8, 4, 2, 200, 40, CAUSAL | SOFTCAP, 8, 64, 16);        // soft-capped: tile path
        one_case(9, 3, 3, 195, 64, SOFTCAP, 8, 16, 16);                 // and the row path
        one_case(10, 4, 1, 150, 16, CAUSAL | WINDOW | SUBSET | SOFTCAP, 3, 8, 5);
        one_case(11, 2, 1, 3, 8, CAUSAL | SOFTCAP, 8, 1, 2);
        cache_case(6, 64);
        cache_case(7, 16);
    }
    gaze_set_isa(best);
    bad_args();
    return check_summary("test_attn_summary");
}

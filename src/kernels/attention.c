// Attention front door: argument checks, the per-call plan (mask tables), tile
// classification, FLOP counts, and dispatch of the fused and probe kernels to an ISA.
#include "kernels/attention.h"
#include <stdlib.h>
#include <string.h>

struct gaze_attn_desc gaze_attn_desc_make(int64_t B, int64_t Hq, int64_t Hkv,
                                          int64_t Tq, int64_t Tk, int64_t d) {
    struct gaze_attn_desc desc;
    memset(&desc, 0, sizeof desc);
    desc.B = B; desc.Hq = Hq; desc.Hkv = Hkv; desc.Tq = Tq; desc.Tk = Tk; desc.d = d;
    desc.mask.window_left = -1;
    desc.mask.window_right = -1;
    return desc;
}

static enum gaze_status check_view(const char * name, const struct gaze_view * x,
                                   int64_t B, int64_t H, int64_t T, int64_t d) {
    if (!x || !x->data) return gaze_error(GAZE_ERR_INVALID_ARG, "attention: %s is NULL", name);
    if (x->sb < 0 || x->sh < 0 || x->st < 0)
        return gaze_error(GAZE_ERR_INVALID_ARG, "attention: %s has a negative stride", name);
    if ((T > 1 && x->st < d) || (H > 1 && x->sh < d) || (B > 1 && x->sb < d))
        return gaze_error(GAZE_ERR_INVALID_ARG,
                          "attention: %s strides (%lld, %lld, %lld) overlap rows of d = %lld", name,
                          (long long)x->sb, (long long)x->sh, (long long)x->st, (long long)d);
    (void)B;
    return GAZE_OK;
}

enum gaze_status gaze_attn_check(const struct gaze_attn_desc * desc,
                                 const struct gaze_view * q, const struct gaze_view * k,
                                 const struct gaze_view * v, const struct gaze_view * o) {
    if (!desc) return gaze_error(GAZE_ERR_INVALID_ARG, "attention: desc is NULL");
    const int64_t B = desc->B, Hq = desc->Hq, Hkv = desc->Hkv, Tq = desc->Tq, Tk = desc->Tk, d = desc->d;
    if (B < 1 || Hq < 1 || Hkv < 1 || Tq < 1 || Tk < 1)
        return gaze_error(GAZE_ERR_INVALID_ARG,
                          "attention: shape B=%lld Hq=%lld Hkv=%lld Tq=%lld Tk=%lld must all be >= 1",
                          (long long)B, (long long)Hq, (long long)Hkv, (long long)Tq, (long long)Tk);
    if (d < 1 || d > 256)
        return gaze_error(GAZE_ERR_INVALID_ARG, "attention: head dim d=%lld outside 1..256", (long long)d);
    if (Hq % Hkv != 0)
        return gaze_error(GAZE_ERR_INVALID_ARG, "attention: Hq=%lld is not a multiple of Hkv=%lld",
                          (long long)Hq, (long long)Hkv);
    if (Tq > INT32_MAX || Tk > INT32_MAX)
        return gaze_error(GAZE_ERR_LIMIT, "attention: sequence longer than 2^31-1");
    if (!(desc->scale >= 0.0f) || isinf(desc->scale))
        return gaze_error(GAZE_ERR_INVALID_ARG, "attention: scale must be finite and >= 0 (0 = 1/sqrt(d))");
    if (!(desc->softcap >= 0.0f) || isinf(desc->softcap))
        return gaze_error(GAZE_ERR_INVALID_ARG, "attention: softcap must be finite and >= 0 (0 = none)");
    enum gaze_status s;
    if ((s = check_view("q", q, B, Hq, Tq, d))) return s;
    if ((s = check_view("k", k, B, Hkv, Tk, d))) return s;
    if (v && (s = check_view("v", v, B, Hkv, Tk, d))) return s;
    if (o && (s = check_view("o", o, B, Hq, Tq, d))) return s;
    const struct gaze_attn_mask * m = &desc->mask;
    if (m->sparse_rows) {
        if (m->sparse_block_q < 1 || m->sparse_block_k < 1 || !m->sparse_cols)
            return gaze_error(GAZE_ERR_INVALID_ARG,
                              "attention: block-sparse layout needs block sizes >= 1 and sparse_cols");
        int64_t n_sq = (Tq + m->sparse_block_q - 1) / m->sparse_block_q;
        int64_t n_sk = (Tk + m->sparse_block_k - 1) / m->sparse_block_k;
        if (m->sparse_rows[0] != 0)
            return gaze_error(GAZE_ERR_INVALID_ARG, "attention: sparse_rows[0] must be 0");
        for (int64_t r = 0; r < n_sq; r++) {
            if (m->sparse_rows[r + 1] < m->sparse_rows[r])
                return gaze_error(GAZE_ERR_INVALID_ARG, "attention: sparse_rows decreases at %lld", (long long)r);
            for (int32_t c = m->sparse_rows[r]; c < m->sparse_rows[r + 1]; c++)
                if (m->sparse_cols[c] < 0 || m->sparse_cols[c] >= n_sk)
                    return gaze_error(GAZE_ERR_INVALID_ARG,
                                      "attention: sparse_cols[%d] = %d outside 0..%lld", c,
                                      m->sparse_cols[c], (long long)(n_sk - 1));
        }
    }
    if (m->bias && (m->bias_sb < 0 || m->bias_sh < 0 || m->bias_st < 0))
        return gaze_error(GAZE_ERR_INVALID_ARG, "attention: bias strides must be >= 0");
    return GAZE_OK;
}

static int32_t * prefix_counts(const uint8_t * flags, int64_t n) {
    int32_t * p = malloc((size_t)(n + 1) * sizeof *p);
    if (!p) return NULL;
    p[0] = 0;
    for (int64_t i = 0; i < n; i++) p[i + 1] = p[i] + (flags[i] != 0);
    return p;
}

enum gaze_status attn_plan_init(struct attn_plan * plan, const struct gaze_attn_desc * desc,
                                const struct gaze_view * q, const struct gaze_view * k,
                                const struct gaze_view * v, const struct gaze_view * o,
                                float * lse) {
    memset(plan, 0, sizeof *plan);
    plan->desc = desc;
    plan->q = *q;
    plan->k = *k;
    if (v) plan->v = *v;
    if (o) plan->o = *o;
    plan->lse = lse;
    plan->scale = desc->scale > 0.0f ? desc->scale : 1.0f / sqrtf((float)desc->d);
    plan->scale_log2 = plan->scale * (float)M_LOG2E;
    if (desc->softcap > 0.0f) {
        plan->cap_in = (float)(M_LN2 / (double)desc->softcap);
        plan->cap_out = (float)((double)desc->softcap * M_LOG2E);
    }
    plan->group = desc->Hq / desc->Hkv;
    const struct gaze_attn_mask * m = &desc->mask;
    plan->has_bias = m->bias || m->alibi_slopes;
    plan->has_local = m->window_left >= 0 || m->window_right >= 0 || m->sparse_rows;
    // Read per call, so a benchmark can compare the split against the head split in one run.
    const char * split = getenv("GAZE_ATTN_SPLIT_KV");
    plan->split_kv = split && split[0] == '0' ? 0 : split && split[0] == '1' ? 1 : -1;
    if (m->key_valid) {
        plan->valid_prefix = malloc((size_t)desc->B * (size_t)(desc->Tk + 1) * sizeof(int32_t));
        if (!plan->valid_prefix) goto nomem;
        for (int64_t b = 0; b < desc->B; b++) {
            int32_t * p = plan->valid_prefix + b * (desc->Tk + 1);
            p[0] = 0;
            for (int64_t j = 0; j < desc->Tk; j++) p[j + 1] = p[j] + (m->key_valid[b * desc->Tk + j] != 0);
        }
    }
    if (m->global_q && !(plan->gq_prefix = prefix_counts(m->global_q, desc->Tq))) goto nomem;
    if (m->global_k && !(plan->gk_prefix = prefix_counts(m->global_k, desc->Tk))) goto nomem;
    if (m->sparse_rows) {
        plan->n_sq = (desc->Tq + m->sparse_block_q - 1) / m->sparse_block_q;
        plan->n_sk = (desc->Tk + m->sparse_block_k - 1) / m->sparse_block_k;
        size_t n;
        if (gaze_mul_ovf((size_t)plan->n_sq, (size_t)plan->n_sk, &n) || n > ((size_t)1 << 30)) {
            attn_plan_free(plan);
            return gaze_error(GAZE_ERR_LIMIT, "attention: block-sparse layout %lld x %lld blocks is too large",
                              (long long)plan->n_sq, (long long)plan->n_sk);
        }
        plan->sparse_map = calloc(n, 1);
        if (!plan->sparse_map) goto nomem;
        for (int64_t r = 0; r < plan->n_sq; r++)
            for (int32_t c = m->sparse_rows[r]; c < m->sparse_rows[r + 1]; c++)
                plan->sparse_map[r * plan->n_sk + m->sparse_cols[c]] = 1;
    }
    return GAZE_OK;
nomem:
    attn_plan_free(plan);
    return gaze_error(GAZE_ERR_NOMEM, "attention: out of memory for mask tables");
}

void attn_plan_free(struct attn_plan * plan) {
    free(plan->valid_prefix);
    free(plan->gq_prefix);
    free(plan->gk_prefix);
    free(plan->sparse_map);
    memset(plan, 0, sizeof *plan);
}

// Does the block-sparse layout allow none / all of the tile? (layout blocks overlapping it)
static void sparse_cover(const struct attn_plan * plan, int64_t i0, int64_t i1, int64_t j0, int64_t j1,
                         bool * none, bool * all) {
    const struct gaze_attn_mask * m = &plan->desc->mask;
    int64_t r0 = i0 / m->sparse_block_q, r1 = (i1 - 1) / m->sparse_block_q;
    int64_t c0 = j0 / m->sparse_block_k, c1 = (j1 - 1) / m->sparse_block_k;
    bool any = false, every = true;
    for (int64_t r = r0; r <= r1; r++)
        for (int64_t c = c0; c <= c1; c++) {
            if (plan->sparse_map[r * plan->n_sk + c]) any = true; else every = false;
        }
    *none = !any;
    *all = every;
}

enum attn_tile attn_tile_classify(const struct attn_plan * plan, int64_t b,
                                  int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
    const struct gaze_attn_mask * m = &plan->desc->mask;
    const int64_t p0 = i0 + m->q_offset, p1 = i1 - 1 + m->q_offset;
    const int64_t width = j1 - j0;
    bool full = true;
    if (m->causal) {
        if (j0 > p1) return ATTN_TILE_SKIP;
        if (j1 - 1 > p0) full = false;
    }
    if (plan->valid_prefix) {
        const int32_t * vp = plan->valid_prefix + b * (plan->desc->Tk + 1);
        int32_t n = vp[j1] - vp[j0];
        if (n == 0) return ATTN_TILE_SKIP;
        if (n != width) full = false;
    }
    if (plan->has_local) {
        bool local_skip = false, local_full = true;
        if (m->window_left >= 0) {
            if (j1 - 1 < p0 - m->window_left) local_skip = true;
            if (j0 < p1 - m->window_left) local_full = false;
        }
        if (m->window_right >= 0) {
            if (j0 > p1 + m->window_right) local_skip = true;
            if (j1 - 1 > p0 + m->window_right) local_full = false;
        }
        if (plan->sparse_map && !local_skip) {
            bool none, all;
            sparse_cover(plan, i0, i1, j0, j1, &none, &all);
            if (none) local_skip = true;
            if (!all) local_full = false;
        }
        int32_t gq = plan->gq_prefix ? plan->gq_prefix[i1] - plan->gq_prefix[i0] : 0;
        int32_t gk = plan->gk_prefix ? plan->gk_prefix[j1] - plan->gk_prefix[j0] : 0;
        if (local_skip && gq == 0 && gk == 0) return ATTN_TILE_SKIP;
        if (!local_full && gq != i1 - i0 && gk != width) full = false;
    }
    return full ? ATTN_TILE_FULL : ATTN_TILE_PARTIAL;
}

double gaze_attn_flops(const struct gaze_attn_desc * desc) {
    double f = 4.0 * (double)desc->B * (double)desc->Hq * (double)desc->Tq * (double)desc->Tk * (double)desc->d;
    return desc->mask.causal ? f / 2 : f;
}

double gaze_attn_useful_flops(const struct gaze_attn_desc * desc) {
    struct attn_plan plan;
    struct gaze_view dummy = { (float *)1, desc->d, desc->d, desc->d };
    if (attn_plan_init(&plan, desc, &dummy, &dummy, NULL, NULL, NULL)) return 0;
    double pairs = 0;
    for (int64_t b = 0; b < desc->B; b++)
        for (int64_t i = 0; i < desc->Tq; i++)
            for (int64_t j = 0; j < desc->Tk; j++) pairs += attn_allowed(&plan, b, i, j);
    attn_plan_free(&plan);
    return 4.0 * (double)desc->Hq * (double)desc->d * pairs;
}

static enum gaze_status fused(const struct gaze_attn_desc * desc,
                              const struct gaze_view * q, const struct gaze_view * k,
                              const struct gaze_view * v, const struct gaze_view * o,
                              float * lse, float * p, struct gaze_attn_summary * sum,
                              const int64_t * sum_slot) {
    enum gaze_status s = gaze_attn_check(desc, q, k, v, o);
    if (s) return s;
    if (!v || !o) return gaze_error(GAZE_ERR_INVALID_ARG, "attention: v and o are required");
    struct attn_plan plan;
    if ((s = attn_plan_init(&plan, desc, q, k, v, o, lse))) return s;
    plan.p = p;
    plan.sum = sum;
    plan.sum_slot = sum_slot;
    bool ok;
    switch (gaze_isa_active()) {
        case GAZE_ISA_AVX512: ok = attn_fused_avx512(&plan); break;
        case GAZE_ISA_AVX2:   ok = attn_fused_avx2(&plan); break;
        default:              ok = attn_fused_scalar(&plan); break;
    }
    attn_plan_free(&plan);
    if (!ok) return gaze_error(GAZE_ERR_NOMEM, "attention: out of memory for %s row statistics (Tk = %lld)",
                               sum ? "summary" : "probe", (long long)desc->Tk);
    return GAZE_OK;
}

enum gaze_status gaze_attention_fused(const struct gaze_attn_desc * desc,
                                      const struct gaze_view * q, const struct gaze_view * k,
                                      const struct gaze_view * v, const struct gaze_view * o,
                                      float * lse) {
    return fused(desc, q, k, v, o, lse, NULL, NULL, NULL);
}

enum gaze_status gaze_attention_fused_probe(const struct gaze_attn_desc * desc,
                                            const struct gaze_view * q, const struct gaze_view * k,
                                            const struct gaze_view * v, const struct gaze_view * o,
                                            float * lse, float * p) {
    if (!p) return gaze_error(GAZE_ERR_INVALID_ARG, "attention fused probe: output buffer is NULL");
    return fused(desc, q, k, v, o, lse, p, NULL, NULL);
}

enum gaze_status gaze_attention_fused_summary(const struct gaze_attn_desc * desc,
                                              const struct gaze_view * q, const struct gaze_view * k,
                                              const struct gaze_view * v, const struct gaze_view * o,
                                              float * lse, float * p,
                                              const int64_t * heads, int64_t n_heads,
                                              struct gaze_attn_summary * sum) {
    enum gaze_status s = gaze_attn_check(desc, q, k, v, o);
    if (s) return s;
    if (!sum) return fused(desc, q, k, v, o, lse, p, NULL, NULL);
    if (desc->B != 1) return gaze_error(GAZE_ERR_INVALID_ARG, "attention summary: batch B = %lld, summaries need B = 1", (long long)desc->B);
    if (sum->top_k < 1 || sum->top_k > 256)
        return gaze_error(GAZE_ERR_INVALID_ARG, "attention summary: top_k = %d outside 1..256", (int)sum->top_k);
    if (sum->block < 1 || sum->block > ATTN_BC || (sum->block & (sum->block - 1)))
        return gaze_error(GAZE_ERR_INVALID_ARG, "attention summary: block = %d is not a power of two in 1..%d",
                          (int)sum->block, ATTN_BC);
    if (sum->window < 1) return gaze_error(GAZE_ERR_INVALID_ARG, "attention summary: window = %d must be >= 1", (int)sum->window);
    if (!heads) n_heads = desc->Hq;
    if (n_heads < 1 || n_heads > desc->Hq || sum->n_heads != n_heads)
        return gaze_error(GAZE_ERR_INVALID_ARG, "attention summary: %lld heads asked, summary holds %lld (Hq = %lld)",
                          (long long)n_heads, (long long)sum->n_heads, (long long)desc->Hq);
    if (desc->mask.q_offset < 0 || desc->mask.q_offset + desc->Tq > sum->n_rows || desc->Tk > sum->n_keys)
        return gaze_error(GAZE_ERR_INVALID_ARG,
                          "attention summary: rows %lld..%lld or %lld keys exceed its capacity (%lld rows, %lld keys)",
                          (long long)desc->mask.q_offset, (long long)(desc->mask.q_offset + desc->Tq - 1),
                          (long long)desc->Tk, (long long)sum->n_rows, (long long)sum->n_keys);
    if (!sum->entropy || !sum->sink || !sum->local || !sum->top_keys || !sum->top_weights || !sum->block_sum || !sum->block_max)
        return gaze_error(GAZE_ERR_INVALID_ARG, "attention summary: an output array is NULL");
    int64_t * slot = malloc((size_t)desc->Hq * sizeof *slot);
    if (!slot) return gaze_error(GAZE_ERR_NOMEM, "attention summary: out of memory");
    for (int64_t h = 0; h < desc->Hq; h++) slot[h] = -1;
    for (int64_t n = 0; n < n_heads; n++) {
        const int64_t h = heads ? heads[n] : n;
        if (h < 0 || h >= desc->Hq || slot[h] >= 0) {
            free(slot);
            return gaze_error(GAZE_ERR_INVALID_ARG, "attention summary: head %lld out of range 0..%lld or repeated",
                              (long long)h, (long long)(desc->Hq - 1));
        }
        slot[h] = n;
    }
    s = fused(desc, q, k, v, o, lse, p, sum, slot);
    free(slot);
    return s;
}

// Shared by probe (weights) and scores (pre-softmax scores).
static enum gaze_status probe_or_scores(const struct gaze_attn_desc * desc,
                                        const struct gaze_view * q, const struct gaze_view * k,
                                        bool weights,
                                        const int64_t * heads, int64_t n_heads,
                                        const int64_t * rows, int64_t n_rows,
                                        float * p) {
    enum gaze_status s = gaze_attn_check(desc, q, k, NULL, NULL);
    if (s) return s;
    if (!p) return gaze_error(GAZE_ERR_INVALID_ARG, "attention probe: output buffer is NULL");
    if (!heads) n_heads = desc->Hq;
    if (!rows) n_rows = desc->Tq;
    if (n_heads < 1 || n_rows < 1)
        return gaze_error(GAZE_ERR_INVALID_ARG, "attention probe: need at least one head and one row");
    for (int64_t n = 0; heads && n < n_heads; n++)
        if (heads[n] < 0 || heads[n] >= desc->Hq)
            return gaze_error(GAZE_ERR_INVALID_ARG, "attention probe: head %lld outside 0..%lld",
                              (long long)heads[n], (long long)(desc->Hq - 1));
    for (int64_t r = 0; rows && r < n_rows; r++)
        if (rows[r] < 0 || rows[r] >= desc->Tq)
            return gaze_error(GAZE_ERR_INVALID_ARG, "attention probe: row %lld outside 0..%lld",
                              (long long)rows[r], (long long)(desc->Tq - 1));
    struct attn_plan plan;
    if ((s = attn_plan_init(&plan, desc, q, k, NULL, NULL, NULL))) return s;
    bool ok;
    switch (gaze_isa_active()) {
        case GAZE_ISA_AVX512: ok = attn_probe_avx512(&plan, weights, heads, n_heads, rows, n_rows, p); break;
        case GAZE_ISA_AVX2:   ok = attn_probe_avx2(&plan, weights, heads, n_heads, rows, n_rows, p); break;
        default:              ok = attn_probe_scalar(&plan, weights, heads, n_heads, rows, n_rows, p); break;
    }
    attn_plan_free(&plan);
    if (!ok) return gaze_error(GAZE_ERR_NOMEM, "attention probe: out of memory for row statistics (Tk = %lld)",
                               (long long)desc->Tk);
    return GAZE_OK;
}

// lse is not read: each row is normalised by its own max and sum (kept apart in the kernel),
// which the fused pass's f32 lse = m + log l cannot carry once |m| is large (ulp 0.03 at
// 2.7e5). The parameter stays for callers that pass the fused pass's lse.
enum gaze_status gaze_attention_probe(const struct gaze_attn_desc * desc,
                                      const struct gaze_view * q, const struct gaze_view * k,
                                      const float * lse,
                                      const int64_t * heads, int64_t n_heads,
                                      const int64_t * rows, int64_t n_rows,
                                      float * p) {
    (void)lse;
    return probe_or_scores(desc, q, k, true, heads, n_heads, rows, n_rows, p);
}

enum gaze_status gaze_attention_scores(const struct gaze_attn_desc * desc,
                                       const struct gaze_view * q, const struct gaze_view * k,
                                       const int64_t * heads, int64_t n_heads,
                                       const int64_t * rows, int64_t n_rows,
                                       float * s) {
    return probe_or_scores(desc, q, k, false, heads, n_heads, rows, n_rows, s);
}

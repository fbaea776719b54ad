// Internal plumbing shared by the attention kernels: the per-call plan (mask look-up tables
// built once per call), tile classification and the element-level mask.
#ifndef GAZE_KERNELS_ATTENTION_H
#define GAZE_KERNELS_ATTENTION_H

#include "core/core.h"
#include <math.h>

// Tile sizes of the fused kernel: ATTN_BR query rows × ATTN_BC keys. 64 × 64 keeps a tile's
// scores (16 KiB) and the query panel (d × 64 floats) in L1/L2, and makes sliding windows
// and block-sparse layouts skip at a fine grain.
#define ATTN_BR 64
#define ATTN_BC 64

enum attn_tile {
    ATTN_TILE_SKIP    = 0,   // no allowed element: not computed at all
    ATTN_TILE_FULL    = 1,   // every element allowed: no mask work
    ATTN_TILE_PARTIAL = 2,   // element-level mask
};

struct attn_plan {
    const struct gaze_attn_desc * desc;
    struct gaze_view q, k, v, o;
    float *   lse;            // [B, Hq, Tq] or NULL
    float *   p;              // fused pass only: probe weights [B, Hq, Tq, Tk] too, or NULL
    float     scale;          // natural-log domain scale (1/sqrt(d) by default)
    float     scale_log2;     // scale · log2(e): the kernels work in base 2
    float     cap_in;         // soft-cap (desc->softcap > 0): base-2 score x becomes
    float     cap_out;        // cap_out·tanh(x·cap_in), cap_in = ln2/c, cap_out = c·log2(e)
    int64_t   group;          // Hq / Hkv
    bool      has_bias;       // bias tensor or ALiBi slopes present
    bool      has_local;      // window or block-sparse present (globals matter only then)
    int32_t * valid_prefix;   // [B, Tk + 1]: valid keys before j; NULL = all valid
    int32_t * gq_prefix;      // [Tq + 1]: global query rows before i; NULL = none
    int32_t * gk_prefix;      // [Tk + 1]: global key columns before j; NULL = none
    uint8_t * sparse_map;     // [n_sq, n_sk] dense copy of the CSR layout; NULL = dense
    int64_t   n_sq, n_sk;     // layout blocks along queries and keys
    int       split_kv;       // $GAZE_ATTN_SPLIT_KV: 0 never split keys, 1 always (<= 4 rows), -1 auto
    struct gaze_attn_summary * sum;   // summaries to fill (B = 1), or NULL
    const int64_t * sum_slot;         // [Hq] slot of head h in sum, -1 = not summarised
};

// Split-KV decoding (attention_fused_impl.h) is chosen automatically for query blocks of
// <= 4 rows when Tk >= ATTN_SPLITKV_MIN_TK and B·Hq·Tq < ATTN_SPLITKV_MAX_ROWS · threads.
#define ATTN_SPLITKV_MIN_TK   4096
#define ATTN_SPLITKV_MAX_ROWS 16

// Builds the look-up tables (after gaze_attn_check). Frees with attn_plan_free.
enum gaze_status attn_plan_init(struct attn_plan * plan, const struct gaze_attn_desc * desc,
                                const struct gaze_view * q, const struct gaze_view * k,
                                const struct gaze_view * v, const struct gaze_view * o,
                                float * lse);
void attn_plan_free(struct attn_plan * plan);

// Classifies the tile of query rows [i0, i1) × keys [j0, j1) of batch b (j1 <= Tk).
enum attn_tile attn_tile_classify(const struct attn_plan * plan, int64_t b,
                                  int64_t i0, int64_t i1, int64_t j0, int64_t j1);

// Element-level mask: may query row i of batch b attend key j?
static inline bool attn_allowed(const struct attn_plan * plan, int64_t b, int64_t i, int64_t j) {
    const struct gaze_attn_mask * m = &plan->desc->mask;
    const int64_t Tk = plan->desc->Tk;
    if (m->key_valid && !m->key_valid[b * Tk + j]) return false;
    const int64_t p = i + m->q_offset;
    if (m->causal && j > p) return false;
    if ((m->global_q && m->global_q[i]) || (m->global_k && m->global_k[j])) return true;
    if (m->window_left >= 0 && j < p - m->window_left) return false;
    if (m->window_right >= 0 && j > p + m->window_right) return false;
    if (plan->sparse_map &&
        !plan->sparse_map[(i / m->sparse_block_q) * plan->n_sk + j / m->sparse_block_k])
        return false;
    return true;
}

// Additive bias of element (b, h, i, j) in natural-log units (0 without bias).
static inline float attn_bias(const struct attn_plan * plan, int64_t b, int64_t h, int64_t i, int64_t j) {
    const struct gaze_attn_mask * m = &plan->desc->mask;
    float s = 0.0f;
    if (m->bias) s += m->bias[b * m->bias_sb + h * m->bias_sh + i * m->bias_st + j];
    if (m->alibi_slopes) {
        int64_t dist = i + m->q_offset - j;
        s -= m->alibi_slopes[h] * (float)(dist < 0 ? -dist : dist);
    }
    return s;
}

// Per-ISA implementations (attention_fused_{avx512,avx2,scalar}.c, one shared source:
// attention_fused_impl.h). Each runs the whole problem, threads included.
// attn_fused_*: false only when plan->p is set and its scratch cannot be allocated.
bool attn_fused_avx512(const struct attn_plan * plan);
bool attn_fused_avx2(const struct attn_plan * plan);
bool attn_fused_scalar(const struct attn_plan * plan);
// Probe: weights = true gives softmax weights, false the scores (see attn_probe in the impl);
// false when out of memory.
bool attn_probe_avx512(const struct attn_plan * plan, bool weights, const int64_t * heads,
                       int64_t n_heads, const int64_t * rows, int64_t n_rows, float * p);
bool attn_probe_avx2(const struct attn_plan * plan, bool weights, const int64_t * heads,
                     int64_t n_heads, const int64_t * rows, int64_t n_rows, float * p);
bool attn_probe_scalar(const struct attn_plan * plan, bool weights, const int64_t * heads,
                       int64_t n_heads, const int64_t * rows, int64_t n_rows, float * p);

#endif

// The fused attention kernel and the probe, written once over a small vector vocabulary and
// compiled per ISA by attention_fused_{avx512,avx2,scalar}.c. Not a header to include
// elsewhere. The includer defines:
//   FN(name)          name with the ISA suffix
//   VL, vf            floats per vector, vector type
//   V_ZERO() V_SET1(x) V_LOAD(p) V_STORE(p, x) V_FMA(a, b, c)=a·b+c V_MUL V_ADD V_SUB V_MAX
//   V_MIN(a, b) (b when either is NaN) V_DIV
//   V_EXP2(x)         2^x, 0 for x < -126 or -inf, NaN kept
//   V_REDUCE_ADD(v)   horizontal sum
//   V_GT_MASK(a, b)   bit i set where lane i of a > lane i of b (false for NaN)
//   S_NV              query vectors per score micro-kernel call (ATTN_BR / VL or a divisor)
//   O_NV_MAX          most d-vectors one P·V micro-kernel call holds in registers
//
// Version 3 of the kernel lab (v1: reference, v2: scalar online softmax, never kept), tuned
// for AVX2 in v4-v6 (bench/results/long_context.md): v4 a 6-key score micro-kernel and a
// causal-only diagonal mask by prefixes, v6 a 4 × 3-vector P·V micro-kernel
// (attention_fused_avx2.c). v5 (four keys at a time in the row path) measured 25-30 % slower
// in CPU time on decoding here and was taken out. v7 (tile_scores and tile_pv loop orders
// swapped for L1 reuse at d = 128) and v8 (two query panels of a head over each K/V tile)
// were bit-identical but measured no clear win (bench/results/long_context.md): not kept.
// Layout trick: scores are computed transposed, St[key][query], by broadcasting K elements
// against a packed Qᵀ panel (d × 64 queries, scale·log2e folded in). K and V are read in
// place, nothing is packed per KV tile, and the softmax statistics (running max m, sum l)
// are vectors over queries: no horizontal reductions anywhere. Work items are
// (batch, head, 64-query block), heaviest first, claimed dynamically by OpenMP threads.

#include <float.h>
#include <omp.h>
#include <string.h>

#define O_MR 4   // query rows per P·V micro-kernel call
#ifndef S_MR
#define S_MR 4   // keys per score micro-kernel call (an ISA may set more: a 4-key remainder follows)
#endif

struct FN(attn_scratch) {
    float * qt;      // [d, ATTN_BR]  Qᵀ panel, pre-scaled by scale·log2(e)
    float * st;      // [ATTN_BC, ATTN_BR] scores, then probabilities, transposed
    float * vp;      // [ATTN_BC, dpad] V tile, only when d is not a multiple of VL
    float * oacc;    // [ATTN_BR, dpad] unnormalised output
    float * m;       // [ATTN_BR] running max (log2 domain)
    float * l;       // [ATTN_BR] running sum
    float * alpha;   // [ATTN_BR] rescale factor of the current tile
};

static bool FN(scratch_init)(struct FN(attn_scratch) * s, int64_t d, int64_t dpad) {
    memset(s, 0, sizeof *s);
    s->qt    = gaze_alloc_aligned((size_t)d * ATTN_BR * sizeof(float));
    s->st    = gaze_alloc_aligned((size_t)ATTN_BC * ATTN_BR * sizeof(float));
    s->vp    = gaze_alloc_aligned((size_t)ATTN_BC * dpad * sizeof(float));
    s->oacc  = gaze_alloc_aligned((size_t)ATTN_BR * dpad * sizeof(float));
    s->m     = gaze_alloc_aligned(3 * ATTN_BR * sizeof(float));
    if (!s->qt || !s->st || !s->vp || !s->oacc || !s->m) return false;
    s->l = s->m + ATTN_BR;
    s->alpha = s->l + ATTN_BR;
    if (dpad != 0) memset(s->vp, 0, (size_t)ATTN_BC * dpad * sizeof(float));
    return true;
}

static void FN(scratch_free)(struct FN(attn_scratch) * s) {
    gaze_free_aligned(s->qt);
    gaze_free_aligned(s->st);
    gaze_free_aligned(s->vp);
    gaze_free_aligned(s->oacc);
    gaze_free_aligned(s->m);
}

// Packs rows of Q (query row i of the panel = q row rows[i], or r0 + i) transposed and scaled.
// Panel rows past n are zero.
static void FN(pack_qt)(float * qt, const float * qbase, int64_t qst, const int64_t * rows,
                        int64_t r0, int64_t n, int64_t d, float scale) {
    for (int64_t c = 0; c < d; c++) memset(qt + c * ATTN_BR + n, 0, (size_t)(ATTN_BR - n) * sizeof(float));
    for (int64_t i = 0; i < n; i++) {
        const float * qi = qbase + (rows ? rows[i] : r0 + i) * qst;
        for (int64_t c = 0; c < d; c++) qt[c * ATTN_BR + i] = qi[c] * scale;
    }
}

// St[j, i] for keys j0 .. j0+R-1 and query vectors [iv, iv + S_NV): R keys broadcast against
// S_NV query vectors, R·S_NV accumulators in registers.
// The d-term sums run in blocks of S_BLK terms added at the end: one running f32 sum over
// head_dim 256 (Gemma) drifts by several ulps of the score, 2-10e-6, twice what PyTorch's
// matmul gives (tests/test_decoder_f64.c); d <= S_BLK (Llama's 64) is the single sum as before.
#define S_BLK 64
#define DEFINE_S_KERNEL(R)                                                                   \
static inline void FN(s_kernel_##R)(const float * restrict qt, const float * restrict k,     \
                                    int64_t kst, int64_t d, float * restrict st, int64_t iv) { \
    for (int64_t c0 = 0; c0 < d; c0 += S_BLK) {                                              \
        vf acc[R][S_NV];                                                                     \
        for (int r = 0; r < R; r++)                                                          \
            for (int v = 0; v < S_NV; v++) acc[r][v] = V_ZERO();                             \
        for (int64_t c = c0; c < d && c < c0 + S_BLK; c++) {                                 \
            vf qv[S_NV];                                                                     \
            for (int v = 0; v < S_NV; v++) qv[v] = V_LOAD(qt + c * ATTN_BR + (iv + v) * VL); \
            for (int r = 0; r < R; r++) {                                                    \
                vf kb = V_SET1(k[r * kst + c]);                                              \
                for (int v = 0; v < S_NV; v++) acc[r][v] = V_FMA(kb, qv[v], acc[r][v]);      \
            }                                                                                \
        }                                                                                    \
        for (int r = 0; r < R; r++)                                                          \
            for (int v = 0; v < S_NV; v++) {                                                 \
                float * o = st + r * ATTN_BR + (iv + v) * VL;                                \
                V_STORE(o, c0 == 0 ? acc[r][v] : V_ADD(V_LOAD(o), acc[r][v]));              \
            }                                                                                \
    }                                                                                        \
}
DEFINE_S_KERNEL(S_MR)
#if S_MR != 4
DEFINE_S_KERNEL(4)
#endif
DEFINE_S_KERNEL(1)

// Scores of the whole tile: n_k keys (rows of St), all ATTN_BR queries (columns).
static void FN(tile_scores)(const float * qt, const float * k, int64_t kst, int64_t n_k,
                            int64_t d, float * st) {
    for (int64_t iv = 0; iv < ATTN_BR / VL; iv += S_NV) {
        int64_t j = 0;
        for (; j + S_MR <= n_k; j += S_MR) FN(s_kernel_S_MR)(qt, k + j * kst, kst, d, st + j * ATTN_BR, iv);
#if S_MR != 4
        for (; j + 4 <= n_k; j += 4) FN(s_kernel_4)(qt, k + j * kst, kst, d, st + j * ATTN_BR, iv);
#endif
        for (; j < n_k; j++) FN(s_kernel_1)(qt, k + j * kst, kst, d, st + j * ATTN_BR, iv);
    }
}

// Soft-capping (Gemma 2: s = c·tanh(s/c)) of base-2 scores x = s·log2(e):
// x ← cap_out·tanh(x·cap_in) with tanh(y) = 1 - 2/(1 + 2^(2y·log2 e)). The exponent is clamped
// at 64 (tanh is 1 to f32 there) so 2^z stays finite; -inf gives -c, NaN stays NaN (V_MIN
// returns its second operand then). Absolute error a few ulp of 1 times c: the cap never
// reaches the softmax's relative precision at |s| << c, which f32 scores do not have either.
// One formula for the tile and row paths, so the probe and the summaries see the same scores.
static inline vf FN(v_softcap)(vf x, float cin2, float cout) {
    const vf one = V_SET1(1.0f);
    vf z = V_MIN(V_SET1(64.0f), V_MUL(x, V_SET1(cin2)));
    return V_MUL(V_SET1(cout), V_SUB(one, V_DIV(V_SET1(2.0f), V_ADD(one, V_EXP2(z)))));
}

static inline float FN(s_softcap)(float x, float cin2, float cout) {
    float z = 64.0f < x * cin2 ? 64.0f : x * cin2;   // NaN stays NaN
    return cout * (1.0f - 2.0f / (1.0f + exp2f(z)));
}

// Caps a whole tile of scores (every panel column: the zero padding caps to zero).
static void FN(tile_softcap)(const struct attn_plan * plan, float * st, int64_t n_k) {
    const float cin2 = 2.0f * plan->cap_in * (float)M_LOG2E, cout = plan->cap_out;
    for (int64_t x = 0; x < n_k * ATTN_BR; x += VL) V_STORE(st + x, FN(v_softcap)(V_LOAD(st + x), cin2, cout));
}

// Masks (-inf) and biases a tile of scores. row(i) maps a panel column to its query row.
static void FN(tile_mask)(const struct attn_plan * plan, float * st, enum attn_tile kind,
                          int64_t b, int64_t h, const int64_t * rows, int64_t r0, int64_t n_rows,
                          int64_t j0, int64_t n_k) {
    const float bias_scale = (float)M_LOG2E;
    const struct gaze_attn_mask * msk = &plan->desc->mask;
    if (kind == ATTN_TILE_PARTIAL && !plan->has_bias && !rows && msk->causal && !msk->key_valid && !plan->has_local) {
        // causal alone (the common diagonal tile): key j0+j is allowed from query row
        // j0+j - q_offset on, so each key row masks a prefix of the panel; same -inf as below
        for (int64_t j = 0; j < n_k; j++) {
            const int64_t lim = GAZE_MIN(n_rows, j0 + j - (r0 + msk->q_offset));
            float * sj = st + j * ATTN_BR;
            for (int64_t i = 0; i < lim; i++) sj[i] = -INFINITY;
        }
        return;
    }
    for (int64_t j = 0; j < n_k; j++) {
        float * sj = st + j * ATTN_BR;
        for (int64_t i = 0; i < n_rows; i++) {
            const int64_t qi = rows ? rows[i] : r0 + i;
            if (kind == ATTN_TILE_PARTIAL && !attn_allowed(plan, b, qi, j0 + j)) { sj[i] = -INFINITY; continue; }
            if (plan->has_bias) sj[i] += bias_scale * attn_bias(plan, b, h, qi, j0 + j);
        }
    }
}

// Online softmax over one tile, vectorised across queries: updates m and l, stores the
// per-query rescale factor alpha and turns St into unnormalised probabilities.
static void FN(tile_softmax)(float * st, int64_t n_k, float * m, float * l, float * alpha) {
    const vf lowest = V_SET1(-FLT_MAX);
    for (int64_t iv = 0; iv < ATTN_BR; iv += VL) {
        vf mx = V_SET1(-INFINITY);
        for (int64_t j = 0; j < n_k; j++) mx = V_MAX(mx, V_LOAD(st + j * ATTN_BR + iv));
        vf m_old = V_LOAD(m + iv);
        vf m_new = V_MAX(m_old, mx);
        // A row with nothing allowed so far keeps m = -inf; subtracting -FLT_MAX instead
        // keeps every exponent -inf (so 0), never -inf - -inf = NaN.
        vf m_safe = V_MAX(m_new, lowest);
        vf a = V_EXP2(V_SUB(m_old, m_safe));
        vf sum = V_ZERO();
        for (int64_t j = 0; j < n_k; j++) {
            vf p = V_EXP2(V_SUB(V_LOAD(st + j * ATTN_BR + iv), m_safe));
            V_STORE(st + j * ATTN_BR + iv, p);
            sum = V_ADD(sum, p);
        }
        V_STORE(l + iv, V_FMA(V_LOAD(l + iv), a, sum));
        V_STORE(m + iv, m_new);
        V_STORE(alpha + iv, a);
    }
}

// oacc[r0 .. r0+3, c-vectors cv .. cv+NV) = alpha · oacc + Σ_j P[r, j] · V[j]
#define DEFINE_PV_KERNEL(NV)                                                                 \
static inline void FN(pv_kernel_##NV)(float * restrict oacc, int64_t dpad,                   \
                                      const float * restrict st, const float * restrict alpha, \
                                      const float * restrict vb, int64_t vst, int64_t n_k,   \
                                      int64_t r0, int64_t cv) {                              \
    vf acc[O_MR][NV];                                                                        \
    for (int r = 0; r < O_MR; r++) {                                                         \
        vf a = V_SET1(alpha[r0 + r]);                                                        \
        for (int v = 0; v < NV; v++)                                                         \
            acc[r][v] = V_MUL(V_LOAD(oacc + (r0 + r) * dpad + (cv + v) * VL), a);            \
    }                                                                                        \
    for (int64_t j = 0; j < n_k; j++) {                                                      \
        vf vv[NV];                                                                           \
        for (int v = 0; v < NV; v++) vv[v] = V_LOAD(vb + j * vst + (cv + v) * VL);           \
        for (int r = 0; r < O_MR; r++) {                                                     \
            vf p = V_SET1(st[j * ATTN_BR + r0 + r]);                                         \
            for (int v = 0; v < NV; v++) acc[r][v] = V_FMA(p, vv[v], acc[r][v]);             \
        }                                                                                    \
    }                                                                                        \
    for (int r = 0; r < O_MR; r++)                                                           \
        for (int v = 0; v < NV; v++) V_STORE(oacc + (r0 + r) * dpad + (cv + v) * VL, acc[r][v]); \
}
DEFINE_PV_KERNEL(1)
#if O_NV_MAX >= 2
DEFINE_PV_KERNEL(2)
#endif
#if O_NV_MAX >= 3
DEFINE_PV_KERNEL(3)
#endif
#if O_NV_MAX >= 4
DEFINE_PV_KERNEL(4)
#endif
#if O_NV_MAX >= 5
DEFINE_PV_KERNEL(5)
#endif
#if O_NV_MAX >= 6
DEFINE_PV_KERNEL(6)
#endif

static void FN(tile_pv)(float * oacc, int64_t dpad, const float * st, const float * alpha,
                        const float * vb, int64_t vst, int64_t n_k, int64_t n_rows) {
    const int64_t nv = dpad / VL;
    const int64_t n_chunks = (nv + O_NV_MAX - 1) / O_NV_MAX;
    for (int64_t r0 = 0; r0 < n_rows; r0 += O_MR) {
        int64_t cv = 0;
        for (int64_t ch = 0; ch < n_chunks; ch++) {
            // balanced chunks: 8 vectors on a 6-wide kernel run as 4 + 4, not 6 + 2
            int64_t w = (nv - cv + (n_chunks - ch) - 1) / (n_chunks - ch);
            switch (w) {
                case 1: FN(pv_kernel_1)(oacc, dpad, st, alpha, vb, vst, n_k, r0, cv); break;
#if O_NV_MAX >= 2
                case 2: FN(pv_kernel_2)(oacc, dpad, st, alpha, vb, vst, n_k, r0, cv); break;
#endif
#if O_NV_MAX >= 3
                case 3: FN(pv_kernel_3)(oacc, dpad, st, alpha, vb, vst, n_k, r0, cv); break;
#endif
#if O_NV_MAX >= 4
                case 4: FN(pv_kernel_4)(oacc, dpad, st, alpha, vb, vst, n_k, r0, cv); break;
#endif
#if O_NV_MAX >= 5
                case 5: FN(pv_kernel_5)(oacc, dpad, st, alpha, vb, vst, n_k, r0, cv); break;
#endif
#if O_NV_MAX >= 6
                case 6: FN(pv_kernel_6)(oacc, dpad, st, alpha, vb, vst, n_k, r0, cv); break;
#endif
                default: GAZE_ASSERT(0);
            }
            cv += w;
        }
    }
}

// Probe rows are written tile by tile as 2^(s - mt[t]), mt[t] the row's running max after
// tile t; the weight is 2^(s - m) / l = that · 2^(mt[t] - m) / l, with m and l the row's final
// max and sum. m and l stay apart (never folded into one f32 lse = m + log l, which holds the
// normalisation only to ulp(m): 0.03 at |s| ~ 2.7e5), so rows sum to 1 at any finite score
// magnitude. mt[t · mst] for tile t; mt = -inf: nothing allowed there yet, the tile is zeros.
static void FN(probe_normalise)(float * p, int64_t Tk, const float * mt, int64_t mst, float m, float l) {
    if (l == 0.0f) return;                      // nothing allowed: the row is already zeros
    const float inv = 1.0f / l;                 // NaN l (NaN scores): the row becomes NaN
    for (int64_t j0 = 0, t = 0; j0 < Tk; j0 += ATTN_BC, t++) {
        const float mtt = mt[t * mst];
        if (mtt == -INFINITY) continue;
        const int64_t n_k = GAZE_MIN(ATTN_BC, Tk - j0);
        const float f = exp2f(mtt - m) * inv;
        const vf vfac = V_SET1(f);
        float * pj = p + j0;
        int64_t j = 0;
        for (; j + VL <= n_k; j += VL) V_STORE(pj + j, V_MUL(V_LOAD(pj + j), vfac));
        for (; j < n_k; j++) pj[j] *= f;
    }
}

// Scores of one row against keys j0 .. j0+n_k (base 2, masked to -inf, biased) into sc;
// returns their max (NaN when a score is NaN). Shared by row_item and the split-KV pass.
static float FN(row_scores)(const struct attn_plan * plan, int64_t b, int64_t h, int64_t i,
                            const float * q, const float * kbase, int64_t j0, int64_t n_k,
                            enum attn_tile kind, float * sc) {
    const int64_t d = plan->desc->d, dv = d / VL * VL;   // dv: vectorised part of d
    const float sl = plan->scale_log2;
    float mx = -INFINITY;
    for (int64_t j = 0; j < n_k; j++) {
        const float * k = kbase + (j0 + j) * plan->k.st;
        vf a = V_ZERO();
        for (int64_t c = 0; c < dv; c += VL) a = V_FMA(V_LOAD(q + c), V_LOAD(k + c), a);
        float dot = V_REDUCE_ADD(a);
        for (int64_t c = dv; c < d; c++) dot += q[c] * k[c];
        float x = dot * sl;
        if (plan->cap_out > 0.0f) x = FN(s_softcap)(x, 2.0f * plan->cap_in * (float)M_LOG2E, plan->cap_out);
        if (kind == ATTN_TILE_PARTIAL && !attn_allowed(plan, b, i, j0 + j)) x = -INFINITY;
        else if (plan->has_bias) x += (float)M_LOG2E * attn_bias(plan, b, h, i, j0 + j);
        sc[j] = x;
        if (x > mx || x != x) mx = x;
    }
    return mx;
}

// One tile of a row's online softmax after its scores: rescales acc and l by alpha (the old
// max against m_new) and adds 2^(sc - m_new)·V of the allowed keys. pre (or NULL): those
// 2^(sc - m_new) already computed by the same exp2f (the probe's, when both ride one pass).
static void FN(row_pv)(const struct attn_plan * plan, const float * vbase, int64_t j0, int64_t n_k,
                       const float * sc, const float * pre, float m_new, float alpha, float * acc, float * l) {
    const int64_t d = plan->desc->d, dv = d / VL * VL;
    float ls = *l * alpha;
    const vf va = V_SET1(alpha);
    for (int64_t c = 0; c < dv; c += VL) V_STORE(acc + c, V_MUL(V_LOAD(acc + c), va));
    for (int64_t c = dv; c < d; c++) acc[c] *= alpha;
    for (int64_t j = 0; j < n_k; j++) {
        if (sc[j] == -INFINITY) continue;             // masked: V is never read
        const float pj = pre ? pre[j] : exp2f(sc[j] - m_new);
        ls += pj;
        const float * v = vbase + (j0 + j) * plan->v.st;
        const vf vp = V_SET1(pj);
        for (int64_t c = 0; c < dv; c += VL) V_STORE(acc + c, V_FMA(vp, V_LOAD(v + c), V_LOAD(acc + c)));
        for (int64_t c = dv; c < d; c++) acc[c] += pj * v[c];
    }
    *l = ls;
}

// Attention summaries (gaze_attention_fused_summary), accumulated beside the online softmax
// of a work item's rows (a panel of ATTN_BR, or one row at lane 0), relative to the running
// max like l: e = Σ 2^(s-m)·(s-m) gives the entropy ln l - ln2·e/l at the end; loc is the
// local window's Σ 2^(s-m); each tile's key blocks keep Σ and max of 2^(s - mt[t]) and the
// sink its key 0 value, so the final weights are that · 2^(mt[t] - m) / l exactly as
// probe_normalise computes them; the top-k heap ranks raw scores (the softmax is monotone)
// and the winners' weights are recomputed at the end by the probe's own formula.
struct FN(sum_scratch) {
    float *   e;      // [ATTN_BR]
    float *   loc;    // [ATTN_BR]
    float *   sink;   // [ATTN_BR] tile 0's 2^(s_0 - mt[0])
    float *   mt;     // [n_tiles, ATTN_BR] running max after each tile; -inf: nothing there
    float *   bsum;   // [n_tiles · ATTN_BC / b, ATTN_BR] per key block of each tile
    float *   bmax;   // [n_tiles · ATTN_BC / b, ATTN_BR]
    float *   hs;     // [ATTN_BR, k + 1] min-heap of raw scores (root: the one to evict), then
                      // a +inf sentinel, so a node's right child can be read unconditionally
    int32_t * hj;     // [ATTN_BR, k + 1] their keys
};

static bool FN(sum_init)(struct FN(sum_scratch) * ss, const struct gaze_attn_summary * S, int64_t Tk) {
    memset(ss, 0, sizeof *ss);
    const size_t n_tiles = (size_t)((Tk + ATTN_BC - 1) / ATTN_BC), nb = (size_t)(ATTN_BC / S->block);
    ss->e    = gaze_alloc_aligned((3 + n_tiles * (1 + 2 * nb)) * ATTN_BR * sizeof(float));
    ss->hs   = gaze_alloc_aligned((size_t)ATTN_BR * (size_t)(S->top_k + 1) * sizeof(float));
    ss->hj   = gaze_alloc_aligned((size_t)ATTN_BR * (size_t)(S->top_k + 1) * sizeof(int32_t));
    if (!ss->e || !ss->hs || !ss->hj) return false;
    ss->loc  = ss->e + ATTN_BR;
    ss->sink = ss->loc + ATTN_BR;
    ss->mt   = ss->sink + ATTN_BR;
    ss->bsum = ss->mt + n_tiles * ATTN_BR;
    ss->bmax = ss->bsum + n_tiles * nb * ATTN_BR;
    return true;
}

static void FN(sum_free)(struct FN(sum_scratch) * ss) {
    gaze_free_aligned(ss->e);
    gaze_free_aligned(ss->hs);
    gaze_free_aligned(ss->hj);
}

static void FN(sum_start)(struct FN(sum_scratch) * ss, int64_t k) {
    for (int64_t i = 0; i < ATTN_BR; i++) { ss->e[i] = 0.0f; ss->loc[i] = 0.0f; ss->sink[i] = 0.0f; }
    for (int64_t x = 0; x < ATTN_BR * (k + 1); x++) {
        const bool sentinel = x % (k + 1) == k;
        ss->hs[x] = sentinel ? INFINITY : -INFINITY;
        ss->hj[x] = -1;
    }
}

// (sa, ja) ranks below (sb, jb): lower score, or the same score at a later key.
static inline bool FN(sum_below)(float sa, int32_t ja, float sb, int32_t jb) {
    return (sa < sb) | ((sa == sb) & (ja > jb));   // no branches: ranks are unpredictable
}

// Replaces the heap's root by (s, j) and sifts it down. Keys arrive in increasing order, so
// a candidate enters only with a score strictly above the root's (a tie keeps the earlier key).
static void FN(heap_replace)(float * hs, int32_t * hj, int64_t k, float s, int32_t j) {
    int64_t x = 0;
    for (;;) {
        int64_t c = 2 * x + 1;
        if (c >= k) break;
        c += FN(sum_below)(hs[c + 1], hj[c + 1], hs[c], hj[c]);   // hs[k]: the +inf sentinel
        if (!FN(sum_below)(hs[c], hj[c], s, j)) break;
        hs[x] = hs[c]; hj[x] = hj[c]; x = c;
    }
    hs[x] = s; hj[x] = j;
}

// Top-k candidates of a tile's raw scores (rows [0, n_rows) of St, keys j0 .. in order): each
// key row is compared with the rows' current thresholds (their heap roots) a vector at a time,
// and only the lanes above go to the heap. Rows past n_rows keep threshold +inf.
static void FN(sum_tile_topk)(struct FN(sum_scratch) * ss, int64_t k, const float * st, int64_t n_rows,
                              int64_t j0, int64_t n_k) {
    float thr[ATTN_BR];
    for (int64_t i = 0; i < ATTN_BR; i++) thr[i] = i < n_rows ? ss->hs[i * (k + 1)] : INFINITY;
    for (int64_t j = 0; j < n_k; j++)
        for (int64_t iv = 0; iv < ATTN_BR; iv += VL) {
            unsigned m = V_GT_MASK(V_LOAD(st + j * ATTN_BR + iv), V_LOAD(thr + iv));
            while (m) {
                const int64_t i = iv + __builtin_ctz(m);
                m &= m - 1;
                FN(heap_replace)(ss->hs + i * (k + 1), ss->hj + i * (k + 1), k, st[j * ATTN_BR + i], (int32_t)(j0 + j));
                thr[i] = ss->hs[i * (k + 1)];
            }
        }
}

// tile_softmax plus the entropy sum e (same m, l, alpha and St, bit for bit). Exponents below
// -256 contribute 2^x·x = 0 (x clamped: masked keys give 0·-inf otherwise).
static void FN(tile_softmax_e)(float * st, int64_t n_k, float * m, float * l, float * alpha, float * e) {
    const vf lowest = V_SET1(-FLT_MAX), floor_x = V_SET1(-256.0f);
    for (int64_t iv = 0; iv < ATTN_BR; iv += VL) {
        vf mx = V_SET1(-INFINITY);
        for (int64_t j = 0; j < n_k; j++) mx = V_MAX(mx, V_LOAD(st + j * ATTN_BR + iv));
        vf m_old = V_LOAD(m + iv);
        vf m_new = V_MAX(m_old, mx);
        vf m_safe = V_MAX(m_new, lowest);
        vf a = V_EXP2(V_SUB(m_old, m_safe));
        vf sum = V_ZERO(), es = V_ZERO();
        for (int64_t j = 0; j < n_k; j++) {
            vf x = V_SUB(V_LOAD(st + j * ATTN_BR + iv), m_safe);
            vf p = V_EXP2(x);
            V_STORE(st + j * ATTN_BR + iv, p);
            sum = V_ADD(sum, p);
            es = V_FMA(p, V_MAX(x, floor_x), es);
        }
        // e relative to the new max: 2^(s-m')(s-m') = a·2^(s-m)·((s-m) + (m-m'))
        vf l_old = V_LOAD(l + iv);
        vf shift = V_SUB(V_MAX(m_old, lowest), m_safe);
        V_STORE(e + iv, V_ADD(V_MUL(a, V_FMA(shift, l_old, V_LOAD(e + iv))), es));
        V_STORE(l + iv, V_FMA(l_old, a, sum));
        V_STORE(m + iv, m_new);
        V_STORE(alpha + iv, a);
    }
}

// After a tile's softmax (St = 2^(s - mt[t])): its max, key-block sums and maxima (vectors
// over queries), key 0 for the sink, and the local window (rescaled by alpha like l).
static void FN(sum_tile_post)(const struct gaze_attn_summary * S, struct FN(sum_scratch) * ss,
                              const float * st, const float * m, const float * alpha, int64_t t,
                              int64_t pos0, int64_t n_rows, int64_t j0, int64_t n_k) {
    const int64_t b = S->block, nb = ATTN_BC / b, w = S->window;
    memcpy(ss->mt + t * ATTN_BR, m, ATTN_BR * sizeof(float));
    if (j0 == 0) memcpy(ss->sink, st, ATTN_BR * sizeof(float));
    for (int64_t kb = 0; kb * b < n_k; kb++) {
        float * bs = ss->bsum + (t * nb + kb) * ATTN_BR, * bm = ss->bmax + (t * nb + kb) * ATTN_BR;
        const int64_t ja = kb * b, jb = GAZE_MIN(n_k, ja + b);
        for (int64_t iv = 0; iv < ATTN_BR; iv += VL) {
            vf s = V_ZERO(), mx = V_ZERO();
            for (int64_t j = ja; j < jb; j++) {
                vf p = V_LOAD(st + j * ATTN_BR + iv);
                s = V_ADD(s, p);
                mx = V_MAX(mx, p);
            }
            V_STORE(bs + iv, s);
            V_STORE(bm + iv, mx);
        }
    }
    for (int64_t i = 0; i < n_rows; i++) {
        const int64_t p = pos0 + i;
        const int64_t lo = GAZE_MAX(j0, p - w + 1), hi = GAZE_MIN(j0 + n_k - 1, p);
        float acc = ss->loc[i] * alpha[i];
        for (int64_t j = lo; j <= hi; j++) acc += st[(j - j0) * ATTN_BR + i];
        ss->loc[i] = acc;
    }
}

// A tile with nothing allowed for these rows.
static void FN(sum_tile_skip)(struct FN(sum_scratch) * ss, int64_t t) {
    for (int64_t i = 0; i < ATTN_BR; i++) ss->mt[t * ATTN_BR + i] = -INFINITY;
}

// Final summaries of rows [0, n_rows) (positions pos0 + i) from their max m and sum l.
// row_path: the probe's row path made the probabilities (scalar exp2f), else the tile path.
static void FN(sum_finish)(const struct gaze_attn_summary * S, struct FN(sum_scratch) * ss, int64_t slot,
                           int64_t pos0, int64_t n_rows, const float * m, const float * l, int64_t Tk,
                           bool row_path) {
    const int64_t k = S->top_k, b = S->block, nb = ATTN_BC / b;
    const int64_t nbr = (S->n_rows + b - 1) / b, nbc = (S->n_keys + b - 1) / b;
    const int64_t n_tiles = (Tk + ATTN_BC - 1) / ATTN_BC;
    for (int64_t i = 0; i < n_rows; i++) {
        const int64_t row = slot * S->n_rows + pos0 + i;
        int32_t * tk = S->top_keys + row * k;
        float * tw = S->top_weights + row * k;
        const float mi = m[i], li = l[i];
        if (!(li > 0.0f)) {   // nothing allowed (or NaN scores): an empty summary row
            const float z = li == 0.0f ? 0.0f : NAN;
            S->entropy[row] = S->sink[row] = S->local[row] = z;
            for (int64_t r = 0; r < k; r++) { tk[r] = -1; tw[r] = z; }
            continue;
        }
        const float inv = 1.0f / li;
        S->entropy[row] = (float)(log((double)li) - M_LN2 * ((double)ss->e[i] / (double)li));
        S->local[row] = ss->loc[i] * inv;
        const float mt0 = ss->mt[i];
        S->sink[row] = mt0 == -INFINITY ? 0.0f : ss->sink[i] * (exp2f(mt0 - mi) * inv);
        // heap → sorted by score desc, key asc (insertion sort: k is small)
        float * hs = ss->hs + i * (k + 1);
        int32_t * hj = ss->hj + i * (k + 1);
        for (int64_t x = 1; x < k; x++) {
            const float s = hs[x];
            const int32_t j = hj[x];
            int64_t y = x;
            for (; y > 0 && FN(sum_below)(hs[y - 1], hj[y - 1], s, j); y--) { hs[y] = hs[y - 1]; hj[y] = hj[y - 1]; }
            hs[y] = s; hj[y] = j;
        }
        for (int64_t r = 0; r < k; r++) {
            if (hj[r] < 0) { tk[r] = -1; tw[r] = 0.0f; continue; }
            const float mtt = ss->mt[(hj[r] / ATTN_BC) * ATTN_BR + i];
            float p;
            if (row_path) p = exp2f(hs[r] - mtt);
            else { float tmp[VL]; V_STORE(tmp, V_EXP2(V_SUB(V_SET1(hs[r]), V_SET1(mtt)))); p = tmp[0]; }
            tk[r] = hj[r];
            tw[r] = p * (exp2f(mtt - mi) * inv);
        }
        const int64_t br = (pos0 + i) / b;
        float * bsum = S->block_sum + (slot * nbr + br) * nbc, * bmax = S->block_max + (slot * nbr + br) * nbc;
        for (int64_t t = 0; t < n_tiles; t++) {
            const float mtt = ss->mt[t * ATTN_BR + i];
            if (mtt == -INFINITY) continue;
            const float f = exp2f(mtt - mi) * inv;
            for (int64_t kb = 0; kb < nb && t * ATTN_BC + kb * b < Tk; kb++) {
                const int64_t bc = (t * ATTN_BC) / b + kb, x = (t * nb + kb) * ATTN_BR + i;
                bsum[bc] += ss->bsum[x] * f;
                const float mw = ss->bmax[x] * f;
                if (mw > bmax[bc]) bmax[bc] = mw;
            }
        }
    }
}

// The row path's share (lane 0): one tile after row_scores, before row_pv updates l.
static void FN(sum_row_tile)(const struct gaze_attn_summary * S, struct FN(sum_scratch) * ss,
                             const float * sc, int64_t t, int64_t pos, int64_t j0, int64_t n_k,
                             float m_old, float m_new, float alpha, float l_old) {
    const int64_t k = S->top_k, b = S->block, nb = ATTN_BC / b, w = S->window;
    float thr = ss->hs[0];
    for (int64_t j = 0; j < n_k; j++)
        if (sc[j] > thr) { FN(heap_replace)(ss->hs, ss->hj, k, sc[j], (int32_t)(j0 + j)); thr = ss->hs[0]; }
    float es = 0.0f, ls = 0.0f;
    for (int64_t kb = 0; kb * b < n_k; kb++) {
        float s = 0.0f, mx = 0.0f;
        for (int64_t j = kb * b; j < GAZE_MIN(n_k, kb * b + b); j++) {
            const float x = sc[j] - m_new;
            const float p = exp2f(x);          // as row_pv and the probe's row path
            s += p;
            mx = p > mx ? p : mx;
            es += p * (x > -256.0f ? x : -256.0f);
            if (j0 + j > pos - w && j0 + j <= pos) ls += p;
            if (j0 + j == 0) ss->sink[0] = p;
        }
        ss->bsum[(t * nb + kb) * ATTN_BR] = s;
        ss->bmax[(t * nb + kb) * ATTN_BR] = mx;
    }
    const float shift = (m_old > -FLT_MAX ? m_old : -FLT_MAX) - m_new;
    ss->e[0] = alpha * (ss->e[0] + shift * l_old) + es;
    ss->loc[0] = ss->loc[0] * alpha + ls;
    ss->mt[t * ATTN_BR] = m_new;
}

// Few query rows (decoding: one new token) would waste most of a 64-query panel, so each
// row runs on its own: scores by d-vectorised dot products, the same base-2 online softmax
// and tile classification, weights·V accumulated in d-vectors. Writes o row and lse (natural
// log; -inf when nothing is allowed). With p_row given, p [Tk] also gets the row's weights
// (see probe_normalise; mt: [ceil(Tk / ATTN_BC)] scratch) from the same scores and 2^(s - m)
// (a captured generation step computes them once); acc NULL: the probe alone, nothing else
// written. sc: [ATTN_BC] scratch, acc: [dpad] scratch.
// ss (with acc, or NULL): also the summaries of the row, into slot `slot`.
static void FN(row_item)(const struct attn_plan * plan, int64_t b, int64_t h, int64_t i,
                         float * sc, float * acc, float * o_row, float * lse_out,
                         float * p_row, float * mt, struct FN(sum_scratch) * ss, int64_t slot) {
    const struct gaze_attn_desc * desc = plan->desc;
    const int64_t d = desc->d, Tk = desc->Tk, hk = h / plan->group;
    const float * q = plan->q.data + b * plan->q.sb + h * plan->q.sh + i * plan->q.st;
    const float * kbase = plan->k.data + b * plan->k.sb + hk * plan->k.sh;
    const float * vbase = acc ? plan->v.data + b * plan->v.sb + hk * plan->v.sh : NULL;
    float m = -INFINITY, l = 0.0f;
    const int64_t pos = i + desc->mask.q_offset;
    for (int64_t c = 0; acc && c < d; c++) acc[c] = 0.0f;
    if (ss) FN(sum_start)(ss, plan->sum->top_k);
    for (int64_t j0 = 0, t = 0; j0 < Tk; j0 += ATTN_BC, t++) {
        const int64_t n_k = GAZE_MIN(ATTN_BC, Tk - j0);
        enum attn_tile kind = attn_tile_classify(plan, b, i, i + 1, j0, j0 + n_k);
        if (kind == ATTN_TILE_SKIP) {
            if (p_row) { for (int64_t j = 0; j < n_k; j++) p_row[j0 + j] = 0.0f; mt[t] = -INFINITY; }
            if (ss) FN(sum_tile_skip)(ss, t);
            continue;
        }
        const float mx = FN(row_scores)(plan, b, h, i, q, kbase, j0, n_k, kind, sc);
        const float m_new = mx > m || mx != mx ? mx : m;
        if (m_new == -INFINITY) {                         // nothing allowed yet
            if (p_row) { for (int64_t j = 0; j < n_k; j++) p_row[j0 + j] = 0.0f; mt[t] = -INFINITY; }
            if (ss) FN(sum_tile_skip)(ss, t);
            continue;
        }
        const float alpha = exp2f(m - m_new);             // m = -inf: 0
        if (p_row) {   // probe: 2^(s - running max), rescaled once the row is done
            mt[t] = m_new;
            if (!acc) {
                l *= alpha;
                for (int64_t j = 0; j < n_k; j++) {
                    const float pj = exp2f(sc[j] - m_new);    // masked: 2^-inf = 0
                    p_row[j0 + j] = pj;
                    l += pj;
                }
                m = m_new;
                continue;
            }
            // both: the same 2^(s - m_new) feed P·V, and l comes out as the probe's (a masked
            // key adds 0 there, is skipped here: the same sum)
            for (int64_t j = 0; j < n_k; j++) p_row[j0 + j] = exp2f(sc[j] - m_new);
        }
        if (ss) FN(sum_row_tile)(plan->sum, ss, sc, t, pos, j0, n_k, m, m_new, alpha, l);
        FN(row_pv)(plan, vbase, j0, n_k, sc, p_row ? p_row + j0 : NULL, m_new, alpha, acc, &l);
        m = m_new;
    }
    if (p_row) FN(probe_normalise)(p_row, Tk, mt, 1, m, l);
    if (!acc) return;
    if (ss) FN(sum_finish)(plan->sum, ss, slot, pos, 1, &m, &l, Tk, true);
    const float inv = l > 0.0f ? 1.0f / l : 0.0f;
    for (int64_t c = 0; c < d; c++) o_row[c] = acc[c] * inv;
    if (lse_out) *lse_out = l > 0.0f ? (m + log2f(l)) * (float)M_LN2 : -INFINITY;
}

// row_item for nh <= ROW_G query heads h0.. of one GQA group (one kv head) on one row i, O and
// optionally the probe rows p_rows (head g's at p_rows + g·p_st): each K and V row is read once
// for the group, and the heads' dot products are independent chains (a lone chain of d/VL
// FMAs per key is latency-bound). Per head, every operation and its order is row_item's
// (row_scores' dot and mask, the max, alpha, exp2f, row_pv's sums), so o, lse and p are
// bit-identical to row_item's. Not for summaries. sc: [ROW_G, ATTN_BC], acc: [ROW_G, dpad].
#define ROW_G 4
static void FN(row_group)(const struct attn_plan * plan, int64_t b, int64_t h0, int64_t nh, int64_t i,
                          float * sc, float * acc, int64_t dpad, float * p_rows, int64_t p_st, float * mt) {
    const struct gaze_attn_desc * desc = plan->desc;
    const int64_t d = desc->d, Tk = desc->Tk, hk = h0 / plan->group, dv = d / VL * VL;
    const float sl = plan->scale_log2;
    const int64_t n_tiles = (Tk + ATTN_BC - 1) / ATTN_BC;   // mt: [nh, n_tiles]
    const float * q[ROW_G];
    float m[ROW_G], l[ROW_G], mx[ROW_G], m_new[ROW_G], alpha[ROW_G];
    for (int64_t g = 0; g < nh; g++) {
        q[g] = plan->q.data + b * plan->q.sb + (h0 + g) * plan->q.sh + i * plan->q.st;
        m[g] = -INFINITY; l[g] = 0.0f;
        for (int64_t c = 0; c < d; c++) acc[g * dpad + c] = 0.0f;
    }
    const float * kbase = plan->k.data + b * plan->k.sb + hk * plan->k.sh;
    const float * vbase = plan->v.data + b * plan->v.sb + hk * plan->v.sh;
    for (int64_t j0 = 0, t = 0; j0 < Tk; j0 += ATTN_BC, t++) {
        const int64_t n_k = GAZE_MIN(ATTN_BC, Tk - j0);
        enum attn_tile kind = attn_tile_classify(plan, b, i, i + 1, j0, j0 + n_k);
        if (kind == ATTN_TILE_SKIP) {
            for (int64_t g = 0; p_rows && g < nh; g++) {
                for (int64_t j = 0; j < n_k; j++) p_rows[g * p_st + j0 + j] = 0.0f;
                mt[g * n_tiles + t] = -INFINITY;
            }
            continue;
        }
        // scores (row_scores per head)
        for (int64_t g = 0; g < nh; g++) mx[g] = -INFINITY;
        for (int64_t j = 0; j < n_k; j++) {
            const float * k = kbase + (j0 + j) * plan->k.st;
            const bool masked = kind == ATTN_TILE_PARTIAL && !attn_allowed(plan, b, i, j0 + j);
            vf a[ROW_G];
            for (int64_t g = 0; g < nh; g++) a[g] = V_ZERO();
            for (int64_t c = 0; c < dv; c += VL) {
                const vf kc = V_LOAD(k + c);
                for (int64_t g = 0; g < nh; g++) a[g] = V_FMA(V_LOAD(q[g] + c), kc, a[g]);
            }
            for (int64_t g = 0; g < nh; g++) {
                float dot = V_REDUCE_ADD(a[g]);
                for (int64_t c = dv; c < d; c++) dot += q[g][c] * k[c];
                float x = dot * sl;
                if (plan->cap_out > 0.0f) x = FN(s_softcap)(x, 2.0f * plan->cap_in * (float)M_LOG2E, plan->cap_out);
                if (masked) x = -INFINITY;
                else if (plan->has_bias) x += (float)M_LOG2E * attn_bias(plan, b, h0 + g, i, j0 + j);
                sc[g * ATTN_BC + j] = x;
                if (x > mx[g] || x != x) mx[g] = x;
            }
        }
        bool any = false;
        for (int64_t g = 0; g < nh; g++) {
            m_new[g] = mx[g] > m[g] || mx[g] != mx[g] ? mx[g] : m[g];
            float * pg = p_rows ? p_rows + g * p_st + j0 : NULL;
            if (m_new[g] == -INFINITY) {                  // nothing allowed yet in this head
                if (pg) { for (int64_t j = 0; j < n_k; j++) pg[j] = 0.0f; mt[g * n_tiles + t] = -INFINITY; }
                continue;
            }
            any = true;
            alpha[g] = exp2f(m[g] - m_new[g]);
            if (pg) {
                mt[g * n_tiles + t] = m_new[g];
                for (int64_t j = 0; j < n_k; j++) pg[j] = exp2f(sc[g * ATTN_BC + j] - m_new[g]);
            }
            // row_pv's prologue: l and acc rescaled by alpha
            l[g] *= alpha[g];
            const vf va = V_SET1(alpha[g]);
            float * ag = acc + g * dpad;
            for (int64_t c = 0; c < dv; c += VL) V_STORE(ag + c, V_MUL(V_LOAD(ag + c), va));
            for (int64_t c = dv; c < d; c++) ag[c] *= alpha[g];
        }
        if (!any) continue;
        // P·V (row_pv per head): each V row once for the group
        for (int64_t j = 0; j < n_k; j++) {
            const float * v = vbase + (j0 + j) * plan->v.st;
            for (int64_t g = 0; g < nh; g++) {
                const float s = sc[g * ATTN_BC + j];
                if (m_new[g] == -INFINITY || s == -INFINITY) continue;
                const float pj = p_rows ? p_rows[g * p_st + j0 + j] : exp2f(s - m_new[g]);
                l[g] += pj;
                float * ag = acc + g * dpad;
                const vf vp = V_SET1(pj);
                for (int64_t c = 0; c < dv; c += VL) V_STORE(ag + c, V_FMA(vp, V_LOAD(v + c), V_LOAD(ag + c)));
                for (int64_t c = dv; c < d; c++) ag[c] += pj * v[c];
            }
        }
        for (int64_t g = 0; g < nh; g++) if (m_new[g] != -INFINITY) m[g] = m_new[g];
    }
    for (int64_t g = 0; g < nh; g++) {
        const int64_t h = h0 + g;
        if (p_rows) FN(probe_normalise)(p_rows + g * p_st, Tk, mt + g * n_tiles, 1, m[g], l[g]);
        float * o_row = plan->o.data + b * plan->o.sb + h * plan->o.sh + i * plan->o.st;
        const float inv = l[g] > 0.0f ? 1.0f / l[g] : 0.0f;
        for (int64_t c = 0; c < d; c++) o_row[c] = acc[g * dpad + c] * inv;
        if (plan->lse)
            plan->lse[(b * desc->Hq + h) * desc->Tq + i] = l[g] > 0.0f ? (m[g] + log2f(l[g])) * (float)M_LN2 : -INFINITY;
    }
}

// Query blocks this small run row by row (see row_item).
#define ATTN_ROW_MAX 4

// Split-KV decoding (flash-decoding). With few query rows the head split leaves threads
// idle (1 KV head) or unbalanced (9 heads on 2 threads), so the keys are cut into n_chunks
// runs of whole tiles and each work item (b, kv head, chunk) runs every query row of that
// kv head's group over its chunk: each K/V tile is read once, while L1-hot, for the whole
// GQA group. An item leaves a partial (max m, sum l, unnormalised o) per row; a serial pass
// merges the chunks of a row in chunk order: m = max m_c, l = Σ l_c·2^(m_c - m),
// o = Σ o_c·2^(m_c - m) / l. Chunking depends only on the shape and the thread count and
// the merge order is fixed, so results are bit-stable for a thread count, whatever the
// scheduling. Every mask works (the same classification and element mask as row_item).
// False when the partials cannot be allocated (the caller then takes the head split).
static int64_t FN(gcd)(int64_t a, int64_t b) { while (b) { int64_t t = a % b; a = b; b = t; } return a; }

static bool FN(attn_split_kv)(const struct attn_plan * plan, int nt) {
    const struct gaze_attn_desc * desc = plan->desc;
    const int64_t d = desc->d, Tq = desc->Tq, Tk = desc->Tk, G = plan->group;
    const int64_t dpad = (d + VL - 1) / VL * VL, stride = dpad + 2;   // o, then m, l
    const int64_t n_tiles = (Tk + ATTN_BC - 1) / ATTN_BC;
    const int64_t units = desc->B * desc->Hkv;
    // Items a multiple of nt (equal shares), at least 4 per thread for slack under load,
    // each chunk at least 2 tiles.
    const int64_t base = nt / FN(gcd)(units, nt);
    int64_t n_chunks = base;
    while (units * n_chunks < 4 * (int64_t)nt) n_chunks += base;
    n_chunks = GAZE_MAX(1, GAZE_MIN(n_chunks, n_tiles / 2));
    const int64_t n_rows = desc->B * desc->Hq * Tq, n_items = units * n_chunks;
    float * part = gaze_alloc_aligned((size_t)n_rows * (size_t)n_chunks * (size_t)stride * sizeof(float));
    if (!part) return false;
    if (nt > n_items) nt = (int)n_items;

    #pragma omp parallel num_threads(nt)
    {
        float sc[ATTN_BC];
        #pragma omp for schedule(dynamic, 1) nowait   // the region's end is the barrier
        for (int64_t it = 0; it < n_items; it++) {
            const int64_t c = it % n_chunks, bk = it / n_chunks, b = bk / desc->Hkv, hk = bk % desc->Hkv;
            const int64_t t0 = c * n_tiles / n_chunks, t1 = (c + 1) * n_tiles / n_chunks;
            const float * kbase = plan->k.data + b * plan->k.sb + hk * plan->k.sh;
            const float * vbase = plan->v.data + b * plan->v.sb + hk * plan->v.sh;
            // rows of the group: h = hk·G + g, query row i; partial at ((b·Hq + h)·Tq + i, c)
            float * row0 = part + ((b * desc->Hq + hk * G) * Tq * n_chunks + c) * stride;
            for (int64_t r = 0; r < G * Tq; r++) {
                float * pr = row0 + r * n_chunks * stride;
                for (int64_t x = 0; x < dpad; x++) pr[x] = 0.0f;
                pr[dpad] = -INFINITY;
                pr[dpad + 1] = 0.0f;
            }
            for (int64_t t = t0; t < t1; t++) {
                const int64_t j0 = t * ATTN_BC, n_k = GAZE_MIN(ATTN_BC, Tk - j0);
                for (int64_t r = 0; r < G * Tq; r++) {
                    const int64_t h = hk * G + r / Tq, i = r % Tq;
                    enum attn_tile kind = attn_tile_classify(plan, b, i, i + 1, j0, j0 + n_k);
                    if (kind == ATTN_TILE_SKIP) continue;
                    float * pr = row0 + r * n_chunks * stride;
                    const float * q = plan->q.data + b * plan->q.sb + h * plan->q.sh + i * plan->q.st;
                    const float mx = FN(row_scores)(plan, b, h, i, q, kbase, j0, n_k, kind, sc);
                    const float m = pr[dpad];
                    const float m_new = mx > m || mx != mx ? mx : m;
                    if (m_new == -INFINITY) continue;     // nothing allowed yet
                    FN(row_pv)(plan, vbase, j0, n_k, sc, NULL, m_new, exp2f(m - m_new), pr, &pr[dpad + 1]);
                    pr[dpad] = m_new;
                }
            }
        }
    }
    // The merge is n_rows · n_chunks · d flops: serial, sparing a second barrier, which costs
    // more than the merge when threads are descheduled.
    {
        for (int64_t row = 0; row < n_rows; row++) {
            const int64_t i = row % Tq, h = (row / Tq) % desc->Hq, b = row / (Tq * desc->Hq);
            const float * pr = part + row * n_chunks * stride;
            float m = -INFINITY, l = 0.0f;
            for (int64_t ch = 0; ch < n_chunks; ch++) {
                const float mc = pr[ch * stride + dpad];
                if (mc > m || mc != mc) m = mc;
            }
            float * o_row = plan->o.data + b * plan->o.sb + h * plan->o.sh + i * plan->o.st;
            for (int64_t x = 0; x < d; x++) o_row[x] = 0.0f;
            if (m != -INFINITY) {
                for (int64_t ch = 0; ch < n_chunks; ch++) {
                    const float * pc = pr + ch * stride;
                    if (pc[dpad] == -INFINITY) continue;  // nothing allowed in this chunk
                    const float f = exp2f(pc[dpad] - m);
                    l += pc[dpad + 1] * f;
                    for (int64_t x = 0; x < d; x++) o_row[x] += pc[x] * f;
                }
                const float inv = l > 0.0f ? 1.0f / l : 0.0f;
                for (int64_t x = 0; x < d; x++) o_row[x] *= inv;
            }
            if (plan->lse)
                plan->lse[row] = l > 0.0f ? (m + log2f(l)) * (float)M_LN2 : -INFINITY;
        }
    }
    gaze_free_aligned(part);
    return true;
}

// Should this call split the keys? plan->split_kv: 0 never, 1 whenever the shape allows,
// else (-1) automatically: decoding rows, long keys, and heads × rows few for the threads
// (measured on a loaded 2-core machine, bench/results/attention.md).
static bool FN(use_split_kv)(const struct attn_plan * plan, int nt) {
    const struct gaze_attn_desc * desc = plan->desc;
    if (plan->p || plan->sum || desc->Tq > ATTN_ROW_MAX || plan->split_kv == 0) return false;   // probe, summaries: unchanged path
    if (plan->split_kv == 1) return true;
    // one thread: only GQA gains (each K/V tile read once for the group), not plain heads
    return (nt > 1 || plan->group > 1) && desc->Tk >= ATTN_SPLITKV_MIN_TK && desc->B * desc->Hq * desc->Tq < ATTN_SPLITKV_MAX_ROWS * nt;
}

// Writes rows [0, n_rows) of the probe's tile: P row i, keys j0 .. j0+n_k, from St (strided
// reads from the L1-resident tile, contiguous writes); unit scales the values.
static void FN(tile_to_rows)(float * pout, int64_t Tk, const float * st, int64_t n_rows, int64_t j0,
                             int64_t n_k, float unit) {
    for (int64_t i = 0; i < n_rows; i++) {
        float * pi = pout + i * Tk + j0;
        for (int64_t j = 0; j < n_k; j++) pi[j] = st[j * ATTN_BR + i] * unit;
    }
}

// A skipped tile in rows [0, n_rows) of the probe's output: keys j0 .. j0+n_k get `fill` (0 for
// weights, -inf for scores); mt (NULL for scores) records that no row has a max there yet.
static void FN(tile_skip_rows)(float * pout, int64_t Tk, int64_t n_rows, int64_t j0, int64_t n_k,
                               float fill, float * mt) {
    for (int64_t i = 0; i < n_rows; i++)
        for (int64_t j = 0; j < n_k; j++) pout[i * Tk + j0 + j] = fill;
    for (int64_t i = 0; mt && i < ATTN_BR; i++) mt[i] = -INFINITY;
}

// One work item: query rows [i0, i0 + n_rows) of (b, h), all key tiles. With plan->p, the
// item's probe rows are written too (mt: [n_tiles, ATTN_BR] scratch): each tile's
// probabilities and running max exactly as attn_probe computes them, from the same St.
// ss (or NULL): also the summaries of these rows into slot `slot`.
static void FN(fused_item)(const struct attn_plan * plan, struct FN(attn_scratch) * s,
                           int64_t b, int64_t h, int64_t i0, int64_t n_rows, float * mt,
                           struct FN(sum_scratch) * ss, int64_t slot) {
    const struct gaze_attn_desc * desc = plan->desc;
    const int64_t d = desc->d, Tk = desc->Tk, hk = h / plan->group;
    const int64_t dpad = (d + VL - 1) / VL * VL;
    const int64_t rows_pad = (n_rows + O_MR - 1) / O_MR * O_MR;
    const float * qbase = plan->q.data + b * plan->q.sb + h * plan->q.sh;
    const float * kbase = plan->k.data + b * plan->k.sb + hk * plan->k.sh;
    const float * vbase = plan->v.data + b * plan->v.sb + hk * plan->v.sh;

    float * pout = plan->p ? plan->p + ((b * desc->Hq + h) * desc->Tq + i0) * Tk : NULL;

    FN(pack_qt)(s->qt, qbase, plan->q.st, NULL, i0, n_rows, d, plan->scale_log2);
    memset(s->oacc, 0, (size_t)ATTN_BR * dpad * sizeof(float));
    for (int64_t i = 0; i < ATTN_BR; i++) { s->m[i] = -INFINITY; s->l[i] = 0.0f; }
    const int64_t pos0 = i0 + desc->mask.q_offset;
    if (ss) FN(sum_start)(ss, plan->sum->top_k);

    for (int64_t j0 = 0, t = 0; j0 < Tk; j0 += ATTN_BC, t++) {
        const int64_t n_k = GAZE_MIN(ATTN_BC, Tk - j0);
        enum attn_tile kind = attn_tile_classify(plan, b, i0, i0 + n_rows, j0, j0 + n_k);
        if (kind == ATTN_TILE_SKIP) {
            if (pout) FN(tile_skip_rows)(pout, Tk, n_rows, j0, n_k, 0.0f, mt + t * ATTN_BR);
            if (ss) FN(sum_tile_skip)(ss, t);
            continue;
        }
        FN(tile_scores)(s->qt, kbase + j0 * plan->k.st, plan->k.st, n_k, d, s->st);
        if (plan->cap_out > 0.0f) FN(tile_softcap)(plan, s->st, n_k);
        if (kind == ATTN_TILE_PARTIAL || plan->has_bias)
            FN(tile_mask)(plan, s->st, kind, b, h, NULL, i0, n_rows, j0, n_k);
        if (ss) {
            FN(sum_tile_topk)(ss, plan->sum->top_k, s->st, n_rows, j0, n_k);
            FN(tile_softmax_e)(s->st, n_k, s->m, s->l, s->alpha, ss->e);
            FN(sum_tile_post)(plan->sum, ss, s->st, s->m, s->alpha, t, pos0, n_rows, j0, n_k);
        } else {
            FN(tile_softmax)(s->st, n_k, s->m, s->l, s->alpha);
        }
        if (pout) {
            memcpy(mt + t * ATTN_BR, s->m, ATTN_BR * sizeof(float));
            FN(tile_to_rows)(pout, Tk, s->st, n_rows, j0, n_k, 1.0f);
        }
        const float * vb = vbase + j0 * plan->v.st;
        int64_t vst = plan->v.st;
        // Padding keys get P = 0, but 0 · NaN is NaN: their V rows must not be read at all.
        const int32_t * vp = plan->valid_prefix ? plan->valid_prefix + b * (Tk + 1) : NULL;
        const bool has_pad = kind == ATTN_TILE_PARTIAL && vp && vp[j0 + n_k] - vp[j0] != n_k;
        if (dpad != d || has_pad) {   // copy the tile into a zero-padded panel
            for (int64_t j = 0; j < n_k; j++) {
                if (has_pad && !desc->mask.key_valid[b * Tk + j0 + j])
                    memset(s->vp + j * dpad, 0, (size_t)d * sizeof(float));
                else
                    memcpy(s->vp + j * dpad, vb + j * vst, (size_t)d * sizeof(float));
            }
            vb = s->vp;
            vst = dpad;
        }
        // A masked element has P = 0, but 0 · NaN = NaN: when a partial tile's V holds a
        // non-finite value, accumulate only the allowed elements (rare; speed is no concern).
        bool v_finite = true;
        for (int64_t j = 0; kind == ATTN_TILE_PARTIAL && j < n_k && v_finite; j++)
            for (int64_t c = 0; c < d; c++) v_finite &= isfinite(vb[j * vst + c]);
        if (v_finite) {
            FN(tile_pv)(s->oacc, dpad, s->st, s->alpha, vb, vst, n_k, rows_pad);
        } else {
            for (int64_t r = 0; r < rows_pad; r++) {
                float * o = s->oacc + r * dpad;
                for (int64_t c = 0; c < d; c++) o[c] *= s->alpha[r];
                for (int64_t j = 0; j < n_k; j++) {
                    const float pj = s->st[j * ATTN_BR + r];
                    if (pj == 0.0f) continue;
                    for (int64_t c = 0; c < d; c++) o[c] += pj * vb[j * vst + c];
                }
            }
        }
    }

    float * obase = plan->o.data + b * plan->o.sb + h * plan->o.sh;
    for (int64_t i = 0; i < n_rows; i++) {
        const float l = s->l[i];
        float * oi = obase + (i0 + i) * plan->o.st;
        const float * ai = s->oacc + i * dpad;
        // l == 0: nothing allowed, exact zeros even if 0 · NaN reached ai; a NaN l (NaN scores)
        // stays NaN in o and lse rather than passing for a masked row
        if (l == 0.0f) for (int64_t c = 0; c < d; c++) oi[c] = 0.0f;
        else { const float inv = 1.0f / l; for (int64_t c = 0; c < d; c++) oi[c] = ai[c] * inv; }
        if (plan->lse)
            plan->lse[(b * desc->Hq + h) * desc->Tq + i0 + i] =
                l == 0.0f ? -INFINITY : (s->m[i] + log2f(l)) * (float)M_LN2;
        if (pout) FN(probe_normalise)(pout + i * Tk, Tk, mt + i, ATTN_BR, s->m[i], l);
    }
    if (ss) FN(sum_finish)(plan->sum, ss, slot, pos0, n_rows, s->m, s->l, Tk, false);
}

// With plan->p: also the probe's weights of every head and row (see gaze_attention_fused_probe).
// False when that scratch cannot be allocated.
// One work item of attn_fused: query block qb of (b, h).
static void FN(fused_block)(const struct attn_plan * plan, struct FN(attn_scratch) * s, float * mt,
                            struct FN(sum_scratch) * ss_all, int64_t b, int64_t h, int64_t qb) {
    const struct gaze_attn_desc * desc = plan->desc;
    const int64_t i0 = qb * ATTN_BR, nr = GAZE_MIN(ATTN_BR, desc->Tq - i0);
    const int64_t slot = plan->sum ? plan->sum_slot[h] : -1;
    struct FN(sum_scratch) * ss = slot >= 0 ? ss_all : NULL;
    if (nr <= ATTN_ROW_MAX) {
        for (int64_t i = i0; i < i0 + nr; i++) {
            // with plan->p the probe's row rides on the same pass (scores and 2^(s - m) once)
            FN(row_item)(plan, b, h, i, s->st, s->oacc, plan->o.data + b * plan->o.sb + h * plan->o.sh + i * plan->o.st,
                         plan->lse ? plan->lse + (b * desc->Hq + h) * desc->Tq + i : NULL,
                         plan->p ? plan->p + ((b * desc->Hq + h) * desc->Tq + i) * desc->Tk : NULL, mt, ss, slot);
        }
    } else {
        FN(fused_item)(plan, s, b, h, i0, nr, mt, ss, slot);
    }
}

// With plan->p: also the probe's weights of every head and row (see gaze_attention_fused_probe).
// With plan->sum: also the summaries (gaze_attention_fused_summary). False when that scratch
// cannot be allocated.
bool FN(attn_fused)(const struct attn_plan * plan) {
    const struct gaze_attn_desc * desc = plan->desc;
    const int64_t n_qb = (desc->Tq + ATTN_BR - 1) / ATTN_BR;
    const int64_t n_items = desc->B * desc->Hq * n_qb;
    const int64_t dpad = (desc->d + VL - 1) / VL * VL;
    const int64_t n_tiles = (desc->Tk + ATTN_BC - 1) / ATTN_BC;
    int nt = desc->n_threads > 0 ? desc->n_threads : gaze_default_threads();
    if (FN(use_split_kv)(plan, nt) && FN(attn_split_kv)(plan, nt)) return true;
    // Summary blocks of b rows start at positions that are multiples of b: when q_offset is not
    // one, a block row straddles two query blocks, so one item takes all blocks of a head
    // (two threads never add into one summary block).
    const bool per_head = plan->sum && n_qb > 1 && desc->mask.q_offset % plan->sum->block != 0;
    // Decoding (a few rows, no summaries) with GQA: items of gsz heads of one kv head
    // (row_group), sub-groups halved until there are 2 items per thread to balance.
    int64_t gsz = 0, n_sub = 0;
    if (desc->Tq <= ATTN_ROW_MAX && !plan->sum && plan->group > 1) {
        gsz = GAZE_MIN(plan->group, ROW_G);
        while (gsz > 1 && desc->B * desc->Hkv * ((plan->group + gsz - 1) / gsz) < 2 * (int64_t)nt) gsz = (gsz + 1) / 2;
        n_sub = (plan->group + gsz - 1) / gsz;
        if (gsz == 1) gsz = 0;
    }
    const int64_t n_work = gsz ? desc->B * desc->Hkv * n_sub : per_head ? desc->B * desc->Hq : n_items;
    if (nt > n_work) nt = (int)n_work;
    // per thread, probe only: running max of every row after every key tile, [n_tiles, ATTN_BR]
    float * mt_all = plan->p ? gaze_alloc_aligned((size_t)nt * (size_t)n_tiles * ATTN_BR * sizeof(float)) : NULL;
    if (plan->p && !mt_all) return false;
    bool failed = false;

    #pragma omp parallel num_threads(nt)
    {
        struct FN(attn_scratch) s;
        bool ok = FN(scratch_init)(&s, desc->d, dpad);
        GAZE_ASSERT(ok);   // a few hundred KiB per thread
        struct FN(sum_scratch) ss;
        memset(&ss, 0, sizeof ss);
        if (plan->sum && !FN(sum_init)(&ss, plan->sum, desc->Tk)) {
            #pragma omp atomic write
            failed = true;
        }
        #pragma omp barrier
        bool skip;
        #pragma omp atomic read
        skip = failed;
        float * mt = mt_all ? mt_all + (size_t)omp_get_thread_num() * (size_t)n_tiles * ATTN_BR : NULL;
        // Causal rows near the end see the most keys: hand out the last query blocks first.
        #pragma omp for schedule(dynamic, 1)
        for (int64_t it = 0; it < n_work; it++) {
            if (skip) continue;
            if (gsz) {
                const int64_t b = it / (desc->Hkv * n_sub), r = it % (desc->Hkv * n_sub);
                const int64_t h0 = (r / n_sub) * plan->group + (r % n_sub) * gsz;
                const int64_t nh = GAZE_MIN(gsz, (r / n_sub + 1) * plan->group - h0);
                for (int64_t i = 0; i < desc->Tq; i++)
                    FN(row_group)(plan, b, h0, nh, i, s.st, s.oacc, dpad,
                                  plan->p ? plan->p + ((b * desc->Hq + h0) * desc->Tq + i) * desc->Tk : NULL,
                                  desc->Tq * desc->Tk, mt);
            } else if (per_head) {
                for (int64_t qb = n_qb - 1; qb >= 0; qb--)
                    FN(fused_block)(plan, &s, mt, &ss, it / desc->Hq, it % desc->Hq, qb);
            } else {
                const int64_t bh = it / n_qb;
                FN(fused_block)(plan, &s, mt, &ss, bh / desc->Hq, bh % desc->Hq, n_qb - 1 - it % n_qb);
            }
        }
        FN(scratch_free)(&s);
        if (plan->sum) FN(sum_free)(&ss);
    }
    gaze_free_aligned(mt_all);
    return !failed;
}

// Probe (weights = true): P[b, n, r, j] = softmax over j of the scores of row rows[r] of head
// heads[n], from the same score micro-kernel and base-2 online softmax as the fused pass, so
// P·V reproduces its O to rounding. Each row is normalised by its own max and sum, kept apart
// (see probe_normalise). weights = false: the scores themselves (scaled, biased, -inf where
// masked). False when the scratch cannot be allocated.
bool FN(attn_probe)(const struct attn_plan * plan, bool weights, const int64_t * heads,
                    int64_t n_heads, const int64_t * rows, int64_t n_rows, float * p) {
    const struct gaze_attn_desc * desc = plan->desc;
    const int64_t d = desc->d, Tk = desc->Tk;
    const int64_t n_rb = (n_rows + ATTN_BR - 1) / ATTN_BR;
    const int64_t n_items = desc->B * n_heads * n_rb;
    const int64_t n_tiles = (Tk + ATTN_BC - 1) / ATTN_BC;
    int nt = desc->n_threads > 0 ? desc->n_threads : gaze_default_threads();
    if (nt > n_items) nt = (int)n_items;
    // per thread: running max of every row of a panel after every key tile, [n_tiles, ATTN_BR]
    float * mt_all = weights ? gaze_alloc_aligned((size_t)nt * (size_t)n_tiles * ATTN_BR * sizeof(float)) : NULL;
    if (weights && !mt_all) return false;

    #pragma omp parallel num_threads(nt)
    {
        struct FN(attn_scratch) s;
        bool ok = FN(scratch_init)(&s, d, VL);
        GAZE_ASSERT(ok);
        float * mt = weights ? mt_all + (size_t)omp_get_thread_num() * (size_t)n_tiles * ATTN_BR : NULL;
        #pragma omp for schedule(dynamic, 1)
        for (int64_t it = 0; it < n_items; it++) {
            const int64_t rb = it % n_rb, n = (it / n_rb) % n_heads, b = it / (n_rb * n_heads);
            const int64_t h = heads ? heads[n] : n, hk = h / plan->group;
            const int64_t r0 = rb * ATTN_BR, nr = GAZE_MIN(ATTN_BR, n_rows - r0);
            const int64_t * rl = rows ? rows + r0 : NULL;
            float * pout = p + ((b * n_heads + n) * n_rows + r0) * Tk;
            if (nr <= ATTN_ROW_MAX && weights) {
                for (int64_t r = 0; r < nr; r++)
                    FN(row_item)(plan, b, h, rl ? rl[r] : r0 + r, s.st, NULL, NULL, NULL, pout + r * Tk, mt, NULL, -1);
                continue;
            }
            int64_t lo = rl ? rl[0] : r0, hi = rl ? rl[0] : r0 + nr - 1;
            for (int64_t i = 0; rl && i < nr; i++) { lo = GAZE_MIN(lo, rl[i]); hi = GAZE_MAX(hi, rl[i]); }

            FN(pack_qt)(s.qt, plan->q.data + b * plan->q.sb + h * plan->q.sh, plan->q.st, rl, r0, nr, d,
                        plan->scale_log2);
            for (int64_t i = 0; i < ATTN_BR; i++) { s.m[i] = -INFINITY; s.l[i] = 0.0f; }
            const float * kbase = plan->k.data + b * plan->k.sb + hk * plan->k.sh;
            for (int64_t j0 = 0, t = 0; j0 < Tk; j0 += ATTN_BC, t++) {
                const int64_t n_k = GAZE_MIN(ATTN_BC, Tk - j0);
                enum attn_tile kind = attn_tile_classify(plan, b, lo, hi + 1, j0, j0 + n_k);
                if (kind == ATTN_TILE_SKIP) {
                    FN(tile_skip_rows)(pout, Tk, nr, j0, n_k, weights ? 0.0f : -INFINITY,
                                       weights ? mt + t * ATTN_BR : NULL);
                    continue;
                }
                FN(tile_scores)(s.qt, kbase + j0 * plan->k.st, plan->k.st, n_k, d, s.st);
                if (plan->cap_out > 0.0f) FN(tile_softcap)(plan, s.st, n_k);
                if (kind == ATTN_TILE_PARTIAL || plan->has_bias)
                    FN(tile_mask)(plan, s.st, kind, b, h, rl, r0, nr, j0, n_k);
                if (weights) {   // St becomes 2^(s - running max); m and l as in the fused pass
                    FN(tile_softmax)(s.st, n_k, s.m, s.l, s.alpha);
                    memcpy(mt + t * ATTN_BR, s.m, ATTN_BR * sizeof(float));
                }
                // raw scores in natural-log units
                FN(tile_to_rows)(pout, Tk, s.st, nr, j0, n_k, weights ? 1.0f : (float)M_LN2);
            }
            for (int64_t i = 0; weights && i < nr; i++)
                FN(probe_normalise)(pout + i * Tk, Tk, mt + i, ATTN_BR, s.m[i], s.l[i]);
        }
        FN(scratch_free)(&s);
    }
    gaze_free_aligned(mt_all);
    return true;
}

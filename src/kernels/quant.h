// Quantized tensor types (ggml block formats, bit-exact), their type-traits table, and the
// quantized linear product used by gaze_linear_forward for non-F32 weights.
//
// Weights keep ggml's on-disk block layout so GGUF tensors are used straight from the mmap.
// Activations are quantized once per call into struct quant_act (int8 per element, one f32
// scale and one f32 scaled sum per 32-block), the same pairing llama.cpp uses (Q4_0/Q5_0/Q8_0
// × Q8_0, Q4_1/Q5_1 × Q8_1) but with f32 scales: every 32-block product is exact integer
// arithmetic, then  y += d_w·d_x·Σ u_w·q_x + m'_w·(d_x·Σ q_x)  where u_w is the unsigned
// weight code and m'_w folds the type's offset (−8·d for Q4_0, −16·d for Q5_0, −128·d for
// Q8_0 read as u8 = q + 128, m for Q4_1/Q5_1). K-quants pair with Q8_K blocks.
#ifndef GAZE_KERNELS_QUANT_H
#define GAZE_KERNELS_QUANT_H

#include "core/core.h"
#include <string.h>

#define QK32 32    // elements per block of Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1
#define QK_K 256   // elements per super-block of the K-quants

// ---- ggml block structs (ggml-common.h layouts; sizes pinned) --------------------------------

struct block_q4_0 { uint16_t d; uint8_t qs[QK32 / 2]; };
struct block_q4_1 { uint16_t d, m; uint8_t qs[QK32 / 2]; };
struct block_q5_0 { uint16_t d; uint8_t qh[4]; uint8_t qs[QK32 / 2]; };
struct block_q5_1 { uint16_t d, m; uint8_t qh[4]; uint8_t qs[QK32 / 2]; };
struct block_q8_0 { uint16_t d; int8_t qs[QK32]; };
struct block_q8_1 { uint16_t d, s; int8_t qs[QK32]; };          // s = d·Σqs
struct block_q4_k { uint16_t d, dmin; uint8_t scales[12]; uint8_t qs[QK_K / 2]; };
struct block_q5_k { uint16_t d, dmin; uint8_t scales[12]; uint8_t qh[QK_K / 8]; uint8_t qs[QK_K / 2]; };
struct block_q6_k { uint8_t ql[QK_K / 2]; uint8_t qh[QK_K / 4]; int8_t scales[QK_K / 16]; uint16_t d; };
struct block_q8_k { float d; int8_t qs[QK_K]; int16_t bsums[QK_K / 16]; };   // bsums: Σ of 16 qs

_Static_assert(sizeof(struct block_q4_0) == 18,  "block_q4_0 size");
_Static_assert(sizeof(struct block_q4_1) == 20,  "block_q4_1 size");
_Static_assert(sizeof(struct block_q5_0) == 22,  "block_q5_0 size");
_Static_assert(sizeof(struct block_q5_1) == 24,  "block_q5_1 size");
_Static_assert(sizeof(struct block_q8_0) == 34,  "block_q8_0 size");
_Static_assert(sizeof(struct block_q8_1) == 36,  "block_q8_1 size");
_Static_assert(sizeof(struct block_q4_k) == 144, "block_q4_K size");
_Static_assert(sizeof(struct block_q5_k) == 176, "block_q5_K size");
_Static_assert(sizeof(struct block_q6_k) == 210, "block_q6_K size");
_Static_assert(sizeof(struct block_q8_k) == 292, "block_q8_K size");

// ---- 32-block layout constants (shared by the SIMD kernels) ------------------------------------

// Bytes of one block, offset of its code bytes, whether it carries a min, whether it has a fifth
// bit, and the code offset m'/d of the symmetric types (Q8_0 read as u8 = q + 128).
static inline int q32_blk_bytes(enum gaze_type t) {
    switch (t) {
    case GAZE_TYPE_Q4_0: return 18;
    case GAZE_TYPE_Q4_1: return 20;
    case GAZE_TYPE_Q5_0: return 22;
    case GAZE_TYPE_Q5_1: return 24;
    default:             return 34;   // Q8_0
    }
}
static inline int q32_qs_off(enum gaze_type t) {
    switch (t) {
    case GAZE_TYPE_Q4_1: return 4;
    case GAZE_TYPE_Q5_0: return 6;
    case GAZE_TYPE_Q5_1: return 8;
    default:             return 2;    // Q4_0, Q8_0
    }
}
static inline bool q32_has_min(enum gaze_type t) { return t == GAZE_TYPE_Q4_1 || t == GAZE_TYPE_Q5_1; }
static inline bool q32_is_q5(enum gaze_type t) { return t == GAZE_TYPE_Q5_0 || t == GAZE_TYPE_Q5_1; }
static inline float q32_code_offset(enum gaze_type t) {
    switch (t) {
    case GAZE_TYPE_Q4_0: return -8.0f;
    case GAZE_TYPE_Q5_0: return -16.0f;
    default:             return -128.0f;   // Q8_0 read as u8 = q + 128
    }
}

// ---- type traits ------------------------------------------------------------------------------

#define QUANT_TYPE_CODES 42   // ggml type codes known by name (0 .. 41)

struct quant_traits {
    const char * name;        // ggml name ("Q4_1"); NULL: code unknown or removed
    int64_t      blck;        // elements per block
    size_t       size;        // bytes per block
    bool         supported;   // gaze reads, dequantizes and multiplies it
    // exact dequantization of n elements (n % blck == 0)
    void (*to_float)(const void * x, float * y, int64_t n);
    // reference quantizer for round-trip tests (n % blck == 0); NULL when none
    void (*from_float)(const float * x, void * y, int64_t n);
};

// Traits of ggml type code `code` (any value; range-checked), or NULL when unknown.
const struct quant_traits * quant_traits_get(int64_t code);

// IEEE binary16 / bfloat16 <-> binary32, exact (subnormals, Inf, NaN); f32->f16/bf16 round to
// nearest even (bf16 quiets NaN, as ggml_compute_fp32_to_bf16).
float    quant_f16_to_f32(uint16_t h);
uint16_t quant_f32_to_f16(float f);
static inline float quant_bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16; float f; memcpy(&f, &u, 4); return f;
}
uint16_t quant_f32_to_bf16(float f);

// The 8 six-bit scales (out[0..7]) and mins (out[8..15]) of a Q4_K super-block, unpacked from
// its 12 scale bytes with word operations (the order q4k_scale_min gives).
static inline void quant_q4k_scales(const uint8_t s[12], uint8_t out[16]) {
    uint32_t u[4];
    memcpy(u, s, 12);
    const uint32_t m6 = 0x3F3F3F3Fu, m4 = 0x0F0F0F0Fu, m2 = 0x03030303u;
    u[3] = ((u[2] >> 4) & m4) | (((u[1] >> 6) & m2) << 4);
    const uint32_t mins_lo = u[1] & m6;
    u[1] = (u[2] & m4) | (((u[0] >> 6) & m2) << 4);
    u[2] = mins_lo;
    u[0] &= m6;
    memcpy(out, u, 16);
}

// ---- quantized activations --------------------------------------------------------------------

// Activations x [T, n_in] quantized for one weight type. For 32-block weight types:
//   qs [T, n_in_pad] int8 codes in |q| <= 127, d [T, nb] block scales, s [T, nb] = d·Σq.
// For K-quant weights: k [T, n_in / 256] ggml Q8_K blocks.
struct quant_act {
    int64_t T, n_in, nb;       // nb = number of 32-blocks per row
    int64_t ld_qs;             // row stride of qs in bytes (multiple of 64)
    int8_t *  qs;              // [T, ld_qs]
    float *   d;               // [T, nb]
    float *   s;               // [T, nb]
    struct block_q8_k * k;     // [T, n_in / 256] (K-quant weights only)
    float *   f;               // [T, n_in] f32 copy pointer (F32/F16/BF16 weights: x itself)
};

// Quantizes row x [n] (n % 32 == 0) to int8 codes with one scale per 32 elements:
// d = amax/127, q = round-to-nearest-even(x/d). Shared by every ISA (bit-identical results).
void quant_act_row_q8(const float * x, int64_t n, int8_t * qs, float * d, float * s);
void quant_act_row_q8_avx512(const float * x, int64_t n, int8_t * qs, float * d, float * s);
void quant_act_row_q8_avx2(const float * x, int64_t n, int8_t * qs, float * d, float * s);
// Quantizes row x [n] (n % 256 == 0) to Q8_K blocks (ggml's quantize_row_q8_K semantics).
void quant_act_row_q8k(const float * x, int64_t n, struct block_q8_k * y);
void quant_act_row_q8k_avx2(const float * x, int64_t n, struct block_q8_k * y);   // bit-identical

// ---- products ---------------------------------------------------------------------------------

// y [T, n_out] = x [T, n_in] · Wᵀ, W [n_out, n_in] in ggml blocks of `type` (rows contiguous,
// n_in / blck blocks per row, as a GGUF tensor with ne = [n_in, n_out]). Activations are
// quantized once per call as described above. n_threads <= 0: gaze_default_threads().
// Errors: GAZE_ERR_INVALID_ARG (shapes, NULL, n_in % blck), GAZE_ERR_UNSUPPORTED (type).
enum gaze_status gaze_quant_linear_forward(const void * w, enum gaze_type type,
                                           int64_t n_out, int64_t n_in,
                                           const float * x /* [T, n_in] */, int64_t T,
                                           float * y /* [T, n_out] */, int n_threads);

// Scalar reference of one output: row w (n_in / blck blocks) against token t of act.
// Integer block dots, f32 accumulation; the oracle the SIMD kernels are tested against.
float quant_dot_row_ref(const void * w, enum gaze_type type, const struct quant_act * act,
                        int64_t t);

// One 32-block of row w (block index b) against 32 activation codes xq with scale xd and
// scaled sum xs: d_w·xd·Σ u·q + m'_w·xs. Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 only.
float quant_q32_block_dot(const void * w, enum gaze_type type, int64_t b, const int8_t * xq,
                          float xd, float xs);

// Fills act for `type` from x [T, n_in] using caller-provided storage (sizes from
// quant_act_bytes). Returns false when `type` has no quantized product.
size_t quant_act_bytes(enum gaze_type type, int64_t T, int64_t n_in);
bool   quant_act_init(struct quant_act * act, enum gaze_type type, const float * x,
                      int64_t T, int64_t n_in, void * mem, int n_threads);

// ---- pre-packed weights -------------------------------------------------------------------------

// Packed layouts, one per kernel family; data is only read by the kernel of the kind that made it.
enum { QUANT_PACK_NONE = 0, QUANT_PACK_AVX512 = 1, QUANT_PACK_AVX2 = 2, QUANT_PACK_AVX2_K8 = 3 };

// Weights repacked once (at model load) for the AVX-512 VNNI kernel: 16-row groups whose codes
// are interleaved so that one vpdpbusd serves 16 rows × 4 inputs (layout in quant_avx512.c).
// Worth it for generation (T = 1), where the raw-block kernel spends most of its time
// unpacking; prompts (T >= 3) repack on the fly anyway. K-quants (Q4_K, Q5_K, Q6_K) use their own
// group layout (quant_k_avx512.c; Q4_K, Q5_K 1.03x, Q6_K 1.3x the raw bytes). On AVX2 CPUs without
// AVX-512 VNNI/VBMI the 32-block types get the AVX2 layout (quant_pack_avx2.c, same bytes). For
// types the active kind does not cover (F16/BF16/F32), nothing is copied and forward_packed runs
// gaze_quant_linear_forward on the raw blocks; except K-quants on AVX2 CPUs, which get the
// 8-row group layout of quant_k_avx2.c (QUANT_PACK_AVX2_K8; generation and prompts).
struct gaze_quant_packed {
    enum gaze_type type;
    int            kind;         // layout of data: QUANT_PACK_AVX512, _AVX2 or _AVX2_K8 (0: none)
    int64_t        n_out, n_in;
    const void *   raw;          // [n_out, n_in] the original ggml blocks (borrowed)
    uint8_t *      data;         // [ceil(n_out / 16), n_in / 32, blk_bytes] or NULL (raw path)
    size_t         group_bytes;  // bytes of one 16-row group (AVX2 K-quant layout: 8-row group)
};

enum gaze_status gaze_quant_pack_init(struct gaze_quant_packed * p, const void * w,
                                      enum gaze_type type, int64_t n_out, int64_t n_in);
void gaze_quant_pack_free(struct gaze_quant_packed * p);
// y [T, n_out] = x [T, n_in] · Wᵀ with W packed by gaze_quant_pack_init.
enum gaze_status gaze_quant_linear_forward_packed(const struct gaze_quant_packed * p,
                                                  const float * x /* [T, n_in] */, int64_t T,
                                                  float * y /* [T, n_out] */, int n_threads);

// ys[i] [T, ps[i]->n_out] = x [T, n_in] · W_iᵀ for n <= 8 packed weights of one n_in, in one
// parallel region with x quantized once per activation kind. Returns false (nothing done) when
// the packed kernel is not active or a weight is not packed: the caller runs them one by one.
// K-quants in the AVX2 8-row layout (QUANT_PACK_AVX2_K8) take part beside the 32-block types.
bool quant_linear_forward_packed_many(int n, const struct gaze_quant_packed * const * ps, const float * x,
                                      int64_t T, float * const * ys, int n_threads);

// ---- per-ISA kernels (called after gaze_isa_active() checks) ------------------------------------

// Computes rows [r0, r1) of y for all T tokens. Returns false when this ISA has no kernel for
// `type` (the caller then uses the next lower ISA).
bool quant_rows_scalar(const void * w, enum gaze_type type, int64_t n_in,
                       const struct quant_act * act, float * y, int64_t ldy,
                       int64_t r0, int64_t r1);
bool quant_rows_avx2(const void * w, enum gaze_type type, int64_t n_in,
                     const struct quant_act * act, float * y, int64_t ldy,
                     int64_t r0, int64_t r1);
bool quant_rows_avx512(const void * w, enum gaze_type type, int64_t n_in,
                       const struct quant_act * act, float * y, int64_t ldy,
                       int64_t r0, int64_t r1);
// K-quant (Q4_K, Q6_K) kernels, bit-identical to the scalar oracle; false for other types.
bool quant_k_rows_avx2(const void * w, enum gaze_type type, int64_t n_in,
                       const struct quant_act * act, float * y, int64_t ldy,
                       int64_t r0, int64_t r1);
bool quant_k_rows_avx512(const void * w, enum gaze_type type, int64_t n_in,
                         const struct quant_act * act, float * y, int64_t ldy,
                         int64_t r0, int64_t r1);
// K-quant 16-row group packing for prompts (quant_k_avx512.c): bytes per super-block of a
// group, the packing and the kernel (called through the quant_pack_* entry points below).
size_t quant_k_pack_sb_bytes(enum gaze_type t);
void   quant_k_pack_group_avx512(const void * w, enum gaze_type t, int64_t n_out, int64_t n_in,
                                 int64_t g, uint8_t * dst);
void   quant_k_packed_rows_avx512(const uint8_t * pk, size_t gbytes, enum gaze_type type,
                                  const struct quant_act * act, float * y, int64_t ldy,
                                  int64_t g0, int64_t g1, int64_t n_out);
// K-quant 8-row group packing for CPUs without AVX-512 VNNI (quant_k_avx2.c): bytes per
// super-block of a group (0: not a K type), packing of group g (rows 8g .. 8g+7, zero past
// n_out) into dst [n_in/256 · sb bytes], and the kernel over groups [g0, g1) (pk: group g0).
size_t quant_k_pack8_sb_bytes(enum gaze_type t);
void   quant_k_pack8_group_avx2(const void * w, enum gaze_type t, int64_t n_out, int64_t n_in,
                                int64_t g, uint8_t * dst);
void   quant_k_packed8_rows_avx2(const uint8_t * pk, size_t gbytes, enum gaze_type type,
                                 const struct quant_act * act, float * y, int64_t ldy,
                                 int64_t g0, int64_t g1, int64_t n_out);
// Packed layout (AVX-512 only): bytes of a 16-row × 32-input block group (0: type not
// packable); packing of group g (rows 16g .. 16g+15, zero past n_out) into dst [n_in/32 ·
// blk bytes]; the kernel over groups [g0, g1) with pk pointing at group g0.
size_t quant_pack_blk_bytes(enum gaze_type t);
void   quant_pack_group_avx512(const void * w, enum gaze_type t, int64_t n_out, int64_t n_in,
                               int64_t g, uint8_t * dst);
void   quant_packed_rows_avx512(const uint8_t * pk, size_t gbytes, enum gaze_type type,
                                const struct quant_act * act, float * y, int64_t ldy,
                                int64_t g0, int64_t g1, int64_t n_out);
// AVX2 packed layout of the 32-block types (quant_pack_avx2.c): the same 16-row groups and
// bytes per block group as quant_pack_blk_bytes, stored as two 8-row halves whose codes one
// vpmaddubsw multiplies for 8 rows × 4 inputs; bit-identical to the scalar oracle.
size_t quant_pack_avx2_blk_bytes(enum gaze_type t);   // 0: type not covered
void   quant_pack_group_avx2(const void * w, enum gaze_type t, int64_t n_out, int64_t n_in,
                             int64_t g, uint8_t * dst);
void   quant_packed_rows_avx2(const uint8_t * pk, size_t gbytes, enum gaze_type type,
                              const struct quant_act * act, float * y, int64_t ldy,
                              int64_t g0, int64_t g1, int64_t n_out);
// True when the CPU has what quant_rows_avx512 needs beyond AVX-512 F/BW/DQ/VL (VNNI, VBMI).
bool quant_avx512_usable(void);

#endif

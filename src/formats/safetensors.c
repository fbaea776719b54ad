// safetensors: validating mmap reader, atomic writer, dtype table and f16/bf16 conversions.
// The reader re-implements the reference validator (safetensors tensor.rs) plus the additions
// listed in reference/formats.md §3.4; nothing in the file is trusted before it is checked.
#include "formats/json.h"
#include "core/output.h"
#include <errno.h>
#include <fcntl.h>
#include <cpuid.h>
#include <immintrin.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- dtypes ------------------------------------------------------------------------------ */

static const struct { const char * name; int bits; } g_dtypes[GAZE_DTYPE_COUNT] = {
    [GAZE_DTYPE_F32]  = { "F32", 32 },  [GAZE_DTYPE_F16]  = { "F16", 16 },
    [GAZE_DTYPE_BF16] = { "BF16", 16 }, [GAZE_DTYPE_F64]  = { "F64", 64 },
    [GAZE_DTYPE_I64]  = { "I64", 64 },  [GAZE_DTYPE_I32]  = { "I32", 32 },
    [GAZE_DTYPE_I16]  = { "I16", 16 },  [GAZE_DTYPE_I8]   = { "I8", 8 },
    [GAZE_DTYPE_U64]  = { "U64", 64 },  [GAZE_DTYPE_U32]  = { "U32", 32 },
    [GAZE_DTYPE_U16]  = { "U16", 16 },  [GAZE_DTYPE_U8]   = { "U8", 8 },
    [GAZE_DTYPE_BOOL] = { "BOOL", 8 },
    [GAZE_DTYPE_F8_E5M2] = { "F8_E5M2", 8 }, [GAZE_DTYPE_F8_E4M3] = { "F8_E4M3", 8 },
    [GAZE_DTYPE_F8_E8M0] = { "F8_E8M0", 8 },
    [GAZE_DTYPE_F8_E4M3FNUZ] = { "F8_E4M3FNUZ", 8 }, [GAZE_DTYPE_F8_E5M2FNUZ] = { "F8_E5M2FNUZ", 8 },
    [GAZE_DTYPE_F6_E2M3] = { "F6_E2M3", 6 }, [GAZE_DTYPE_F6_E3M2] = { "F6_E3M2", 6 },
    [GAZE_DTYPE_F4]  = { "F4", 4 },     [GAZE_DTYPE_C64] = { "C64", 64 },
};

const char * gaze_dtype_name(enum gaze_dtype t) {
    return (unsigned)t < GAZE_DTYPE_COUNT ? g_dtypes[t].name : "?";
}

int gaze_dtype_bits(enum gaze_dtype t) {
    return (unsigned)t < GAZE_DTYPE_COUNT ? g_dtypes[t].bits : 0;
}

bool gaze_dtype_from_name(const char * name, enum gaze_dtype * out) {
    for (int i = 0; i < GAZE_DTYPE_COUNT; i++)
        if (!strcmp(name, g_dtypes[i].name)) { *out = (enum gaze_dtype)i; return true; }
    return false;
}

/* ---- f16 / bf16 ------------------------------------------------------------------------- */

static inline float bits_f32(uint32_t b) { float f; memcpy(&f, &b, 4); return f; }
static inline uint32_t f32_bits(float f) { uint32_t b; memcpy(&b, &f, 4); return b; }

// Pure integer decode, so the result never depends on the FPU's flush-to-zero mode.
float gaze_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1F, man = h & 0x3FF;
    if (exp == 0x1F)   // inf, or NaN made quiet (as F16C's vcvtph2ps does)
        return bits_f32(sign | 0x7F800000 | (man << 13) | (man ? 0x400000 : 0));
    if (exp == 0) {
        if (man == 0) return bits_f32(sign);
        int s = __builtin_clz(man) - 21;   // shift that brings the top set bit to bit 10
        return bits_f32(sign | ((uint32_t)(113 - s) << 23) | (((man << s) & 0x3FF) << 13));
    }
    return bits_f32(sign | ((exp + 112) << 23) | (man << 13));
}

uint16_t gaze_f32_to_f16(float f) {
    uint32_t x = f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t ax = x & 0x7FFFFFFF;
    if (ax > 0x7F800000) return sign | 0x7E00 | ((ax >> 13) & 0x1FF);   // NaN stays a quiet NaN
    if (ax >= 0x47800000) return sign | 0x7C00;                          // >= 2^16: inf
    uint32_t e = ax >> 23;
    if (e < 113) {                                                       // half subnormal or 0
        uint32_t m = (ax & 0x7FFFFF) | 0x800000;
        uint32_t shift = 126 - e;                                        // units of 2^-24
        if (shift > 24) return sign;                                     // < 2^-25: rounds to 0
        uint32_t q = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1))) q++;
        return sign | (uint16_t)q;
    }
    uint32_t q = ((e - 112) << 10) | ((ax >> 13) & 0x3FF), rem = ax & 0x1FFF;
    if (rem > 0x1000 || (rem == 0x1000 && (q & 1))) q++;   // carry may reach inf: correct
    return sign | (uint16_t)q;
}

float gaze_bf16_to_f32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

uint16_t gaze_f32_to_bf16(float f) {
    uint32_t x = f32_bits(f);
    if ((x & 0x7FFFFFFF) > 0x7F800000) return (uint16_t)((x >> 16) | 0x40);
    return (uint16_t)((x + 0x7FFF + ((x >> 16) & 1)) >> 16);
}

static bool has_f16c(void) {
    static int cached = -1;
    int c = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (c < 0) {
        // CPUID.1:ECX.F16C[bit 29]: clang 14 has no __builtin_cpu_supports("f16c")
        unsigned a, b, cx, d;
        c = __get_cpuid(1, &a, &b, &cx, &d) && (cx & bit_F16C) ? 1 : 0;
        __atomic_store_n(&cached, c, __ATOMIC_RELAXED);
    }
    return c && gaze_isa_active() >= GAZE_ISA_AVX2;
}

__attribute__((target("avx2,f16c")))
static void f16_to_f32_avx2(const uint16_t * src, float * dst, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)(src + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(src + i + 8));
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(a));
        _mm256_storeu_ps(dst + i + 8, _mm256_cvtph_ps(b));
    }
    for (; i < n; i++) dst[i] = gaze_f16_to_f32(src[i]);
}

__attribute__((target("avx2")))
static void bf16_to_f32_avx2(const uint16_t * src, float * dst, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i a = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(src + i)));
        __m256i b = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(src + i + 8)));
        _mm256_storeu_si256((__m256i *)(dst + i), _mm256_slli_epi32(a, 16));
        _mm256_storeu_si256((__m256i *)(dst + i + 8), _mm256_slli_epi32(b, 16));
    }
    for (; i < n; i++) dst[i] = gaze_bf16_to_f32(src[i]);
}

__attribute__((target("avx2,f16c")))
static void f32_to_f16_avx2(const float * src, uint16_t * dst, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT);
        _mm_storeu_si128((__m128i *)(dst + i), h);
    }
    for (; i < n; i++) dst[i] = gaze_f32_to_f16(src[i]);
}

void gaze_f16_to_f32_row(const uint16_t * src, float * dst, int64_t n) {
    if (has_f16c()) { f16_to_f32_avx2(src, dst, n); return; }
    for (int64_t i = 0; i < n; i++) dst[i] = gaze_f16_to_f32(src[i]);
}

void gaze_bf16_to_f32_row(const uint16_t * src, float * dst, int64_t n) {
    if (gaze_isa_active() >= GAZE_ISA_AVX2) { bf16_to_f32_avx2(src, dst, n); return; }
    for (int64_t i = 0; i < n; i++) dst[i] = gaze_bf16_to_f32(src[i]);
}

void gaze_f32_to_f16_row(const float * src, uint16_t * dst, int64_t n) {
    if (has_f16c()) { f32_to_f16_avx2(src, dst, n); return; }
    for (int64_t i = 0; i < n; i++) dst[i] = gaze_f32_to_f16(src[i]);
}

/* ---- reader ----------------------------------------------------------------------------- */

struct gaze_safetensors {
    char *                  path;        // label for messages
    const uint8_t *         base;        // [size] the whole file
    size_t                  size;
    bool                    mapped;      // base is our mmap (else borrowed)
    size_t                  header_len;  // N
    int64_t                 n_tensors;
    struct gaze_st_tensor * tensors;     // [n_tensors] sorted by BEGIN
    const struct gaze_st_tensor ** by_name;   // [n_tensors] into tensors, sorted by name
    int64_t                 n_meta;
    const char **           meta;        // [n_meta, 2] key, value (into strings)
    char *                  strings;     // names, keys and values, NUL-terminated
};

// Message-safe copy of a name from the file: control bytes escaped, cut at a UTF-8 boundary,
// so a hostile name can neither flood nor drive the terminal that prints the error.
static const char * msg_name(const char * s, char * buf, size_t cap) {
    size_t o = 0;
    const uint8_t * p = (const uint8_t *)s;
    for (; *p && o + 8 < cap; p++) {
        if (*p < 0x20 || *p == 0x7F) o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", *p);
        else buf[o++] = (char)*p;
    }
    if (*p) {   // truncated: drop a partial UTF-8 sequence, mark the cut
        while (o > 0 && ((uint8_t)buf[o - 1] & 0xC0) == 0x80) o--;
        if (o > 0 && (uint8_t)buf[o - 1] >= 0xC0) o--;
        memcpy(buf + o, "...", 4);
    } else buf[o] = 0;
    return buf;
}

// Records the offset (in the header) of every top-level key, in file order: jansson keeps
// insertion order, so key i of the parsed object is key i here. Lets errors point at bytes.
static size_t scan_top_keys(const char * h, size_t n, size_t * offs, size_t cap) {
    int depth = 0;
    bool in_str = false, expect_key = false;
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        char c = h[i];
        if (in_str) {
            if (c == '\\') i++;
            else if (c == '"') in_str = false;
            continue;
        }
        if (c == '"') {
            in_str = true;
            if (depth == 1 && expect_key) {
                if (count < cap) offs[count] = i;
                count++;
                expect_key = false;
            }
        } else if (c == '{' || c == '[') {
            depth++;
            if (depth == 1) expect_key = true;
        } else if (c == '}' || c == ']') depth--;
        else if (c == ',' && depth == 1) expect_key = true;
    }
    return count;
}

struct st_parse {
    struct gaze_safetensors * st;
    const char * path;
    char         where[256];    // "tensor 'x' (offset N)" for the entry being parsed
};

#define PFAIL(p, status, ...) st_fail((p), (status), __VA_ARGS__)
__attribute__((format(printf, 3, 4)))
static enum gaze_status st_fail(struct st_parse * p, enum gaze_status s, const char * fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return gaze_error(s, "%s: %s: %s", p->path, p->where, msg);
}

// Reads shape / data_offsets integers: non-negative, at most max.
static enum gaze_status get_uint(struct st_parse * p, const json_t * v, const char * field,
                                 size_t idx, int64_t max, int64_t * out) {
    if (!json_is_integer(v))
        return PFAIL(p, GAZE_ERR_FORMAT, "field %s[%zu]: expected a non-negative integer, got %s",
                     field, idx, gaze_json_type_name(v));
    json_int_t x = json_integer_value(v);
    if (x < 0)
        return PFAIL(p, GAZE_ERR_FORMAT, "field %s[%zu]: negative value %lld", field, idx,
                     (long long)x);
    if (x > max)
        return PFAIL(p, GAZE_ERR_FORMAT, "field %s[%zu]: value %lld exceeds %lld", field, idx,
                     (long long)x, (long long)max);
    *out = (int64_t)x;
    return GAZE_OK;
}

static enum gaze_status parse_tensor(struct st_parse * p, const json_t * v, size_t data_size,
                                     struct gaze_st_tensor * t, int64_t * begin) {
    if (!json_is_object(v))
        return PFAIL(p, GAZE_ERR_FORMAT, "expected an object, got %s", gaze_json_type_name(v));
    json_t * jd = json_object_get(v, "dtype");
    json_t * js = json_object_get(v, "shape");
    json_t * jo = json_object_get(v, "data_offsets");
    if (!json_is_string(jd))
        return PFAIL(p, GAZE_ERR_FORMAT, "field dtype: expected string, got %s", gaze_json_type_name(jd));
    if (!gaze_dtype_from_name(json_string_value(jd), &t->dtype)) {
        char nb[64];
        return PFAIL(p, GAZE_ERR_FORMAT, "field dtype: unknown dtype \"%s\"",
                     msg_name(json_string_value(jd), nb, sizeof nb));
    }
    if (!json_is_array(js))
        return PFAIL(p, GAZE_ERR_FORMAT, "field shape: expected array, got %s", gaze_json_type_name(js));
    size_t rank = json_array_size(js);
    if (rank > GAZE_ST_MAX_DIMS)
        return PFAIL(p, GAZE_ERR_FORMAT, "field shape: rank %zu exceeds the maximum of %d", rank,
                     GAZE_ST_MAX_DIMS);
    t->n_dims = (int32_t)rank;
    int64_t nel = 1;
    bool ovf = false;
    for (size_t i = 0; i < rank; i++) {
        enum gaze_status s = get_uint(p, json_array_get(js, i), "shape", i, (int64_t)1 << 53,
                                      &t->shape[i]);
        if (s != GAZE_OK) return s;
        if (!ovf && gaze_mul_ovf_i64(nel, t->shape[i], &nel)) ovf = true;
    }
    // A zero dim makes the tensor empty whatever the others say: no overflow then.
    for (size_t i = 0; i < rank; i++) if (t->shape[i] == 0) { ovf = false; nel = 0; }
    if (ovf) return PFAIL(p, GAZE_ERR_FORMAT, "field shape: element count overflows int64");
    if (!json_is_array(jo))
        return PFAIL(p, GAZE_ERR_FORMAT, "field data_offsets: expected array, got %s",
                     gaze_json_type_name(jo));
    if (json_array_size(jo) != 2)
        return PFAIL(p, GAZE_ERR_FORMAT, "field data_offsets: expected exactly 2 integers, got %zu",
                     json_array_size(jo));
    int64_t b, e;
    enum gaze_status s = get_uint(p, json_array_get(jo, 0), "data_offsets", 0, INT64_MAX, &b);
    if (s == GAZE_OK) s = get_uint(p, json_array_get(jo, 1), "data_offsets", 1, INT64_MAX, &e);
    if (s != GAZE_OK) return s;
    if (e < b)
        return PFAIL(p, GAZE_ERR_FORMAT, "field data_offsets: END %lld < BEGIN %lld", (long long)e,
                     (long long)b);
    int64_t nbits;
    if (gaze_mul_ovf_i64(nel, gaze_dtype_bits(t->dtype), &nbits))
        return PFAIL(p, GAZE_ERR_FORMAT, "field shape: %lld elements of %s overflow the byte size",
                     (long long)nel, gaze_dtype_name(t->dtype));
    if (nbits % 8)
        return PFAIL(p, GAZE_ERR_FORMAT, "field shape: %lld elements of %s are %lld bits, not whole bytes",
                     (long long)nel, gaze_dtype_name(t->dtype), (long long)nbits);
    if (e - b != nbits / 8)
        return PFAIL(p, GAZE_ERR_FORMAT,
                     "field data_offsets: [%lld, %lld] spans %lld bytes but %lld elements of %s need %lld",
                     (long long)b, (long long)e, (long long)(e - b), (long long)nel,
                     gaze_dtype_name(t->dtype), (long long)(nbits / 8));
    if ((uint64_t)e > data_size)
        return PFAIL(p, GAZE_ERR_FORMAT,
                     "field data_offsets: END %lld is past the end of the %zu-byte data section "
                     "(file truncated?)", (long long)e, data_size);
    t->n_elements = nel;
    t->n_bytes = (size_t)(e - b);
    *begin = b;
    return GAZE_OK;
}

struct sort_item { int64_t begin; int64_t idx; size_t key_off; };   // idx: header order

static int cmp_begin(const void * a, const void * b) {
    const struct sort_item * x = a, * y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;   // stable: equal BEGINs only for empties
}

static int cmp_name(const void * a, const void * b) {
    return strcmp((*(const struct gaze_st_tensor * const *)a)->name,
                  (*(const struct gaze_st_tensor * const *)b)->name);
}

static enum gaze_status st_parse_header(struct gaze_safetensors * st) {
    const char * path = st->path;
    if (st->size < 8)
        return gaze_error(GAZE_ERR_FORMAT,
                          "%s: file is %zu bytes, too short for the 8-byte header length at offset 0",
                          path, st->size);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | st->base[i];   // little-endian u64
    if (n > GAZE_ST_MAX_HEADER)
        return gaze_error(GAZE_ERR_LIMIT,
                          "%s: header length at offset 0: %llu bytes exceeds the cap of %u", path,
                          (unsigned long long)n, GAZE_ST_MAX_HEADER);
    if (n > st->size - 8)
        return gaze_error(GAZE_ERR_FORMAT,
                          "%s: header length at offset 0: %llu bytes but only %zu bytes follow", path,
                          (unsigned long long)n, st->size - 8);
    st->header_len = (size_t)n;
    const char * h = (const char *)st->base + 8;
    size_t bad;
    if (!gaze_json_utf8_valid(h, n, &bad))
        return gaze_error(GAZE_ERR_FORMAT, "%s: header: invalid UTF-8 at offset %zu (byte 0x%02x)",
                          path, 8 + bad, (unsigned)(uint8_t)h[bad]);
    if (n == 0)
        return gaze_error(GAZE_ERR_FORMAT, "%s: header at offset 8: must start with '{' (header is empty)",
                          path);
    if (h[0] != '{')
        return gaze_error(GAZE_ERR_FORMAT, "%s: header at offset 8: must start with '{', got byte 0x%02x",
                          path, (unsigned)(uint8_t)h[0]);
    json_t * root;
    enum gaze_status s = gaze_json_load_buffer(&root, h, n, path, 8, GAZE_ST_MAX_DEPTH);
    if (s != GAZE_OK) return s;
    if (!json_is_object(root)) {   // cannot happen after '{' and a clean parse; stay defensive
        json_decref(root);
        return gaze_error(GAZE_ERR_FORMAT, "%s: header at offset 8: not a JSON object", path);
    }

    size_t data_size = st->size - 8 - (size_t)n;
    size_t n_keys = json_object_size(root);
    size_t * key_off = calloc(n_keys ? n_keys : 1, sizeof *key_off);
    struct sort_item * order = calloc(n_keys ? n_keys : 1, sizeof *order);
    // Arena: every key and metadata value with its NUL; bounded by the header size.
    size_t arena = 1;
    {
        const char * key; size_t klen; json_t * v;
        json_object_keylen_foreach(root, key, klen, v) {
            arena += klen + 1;
            if (!strcmp(key, "__metadata__") && json_is_object(v)) {
                const char * mk; size_t mklen; json_t * mv;
                json_object_keylen_foreach(v, mk, mklen, mv) {
                    arena += mklen + 1 + (json_is_string(mv) ? json_string_length(mv) + 1 : 0);
                }
            }
        }
    }
    st->strings = malloc(arena);
    st->tensors = calloc(n_keys ? n_keys : 1, sizeof *st->tensors);
    if (!key_off || !order || !st->strings || !st->tensors) {
        free(key_off); free(order); json_decref(root);
        return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory for a header of %zu keys", path, n_keys);
    }
    bool have_offsets = scan_top_keys(h, n, key_off, n_keys) == n_keys;

    struct st_parse p = { .st = st, .path = path };
    size_t arena_used = 0;
    int64_t nt = 0;
    size_t ki = 0;
    const char * key; size_t klen; json_t * v;
    s = GAZE_OK;
    json_object_keylen_foreach(root, key, klen, v) {
        char nb[96];
        size_t off = have_offsets ? 8 + key_off[ki] : 0;
        ki++;
        if (strlen(key) != klen) {
            s = have_offsets
                ? gaze_error(GAZE_ERR_FORMAT, "%s: key at offset %zu: contains a NUL byte", path, off)
                : gaze_error(GAZE_ERR_FORMAT, "%s: header: a key contains a NUL byte", path);
            break;
        }
        if (klen > GAZE_ST_MAX_NAME) {
            s = gaze_error(GAZE_ERR_LIMIT, "%s: key at offset %zu: %zu bytes, over the limit of %d",
                           path, off, klen, GAZE_ST_MAX_NAME);
            break;
        }
        if (!strcmp(key, "__metadata__")) {
            snprintf(p.where, sizeof p.where, have_offsets ? "__metadata__ (offset %zu)" : "__metadata__",
                     off);
            if (!json_is_object(v)) {
                s = PFAIL(&p, GAZE_ERR_FORMAT, "expected an object of strings, got %s",
                          gaze_json_type_name(v));
                break;
            }
            st->meta = calloc(json_object_size(v) * 2 + 1, sizeof *st->meta);
            if (!st->meta) { s = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", path); break; }
            const char * mk; size_t mklen; json_t * mv;
            json_object_keylen_foreach(v, mk, mklen, mv) {
                if (strlen(mk) != mklen) {
                    s = PFAIL(&p, GAZE_ERR_FORMAT, "a key contains a NUL byte");
                    break;
                }
                if (!json_is_string(mv)) {
                    s = PFAIL(&p, GAZE_ERR_FORMAT, "field %s: expected string, got %s",
                              msg_name(mk, nb, sizeof nb), gaze_json_type_name(mv));
                    break;
                }
                if (strlen(json_string_value(mv)) != json_string_length(mv)) {
                    s = PFAIL(&p, GAZE_ERR_FORMAT, "field %s: value contains a NUL byte",
                              msg_name(mk, nb, sizeof nb));
                    break;
                }
                char * ks = st->strings + arena_used;
                memcpy(ks, mk, mklen + 1);
                arena_used += mklen + 1;
                char * vs = st->strings + arena_used;
                memcpy(vs, json_string_value(mv), json_string_length(mv) + 1);
                arena_used += json_string_length(mv) + 1;
                st->meta[2 * st->n_meta] = ks;
                st->meta[2 * st->n_meta + 1] = vs;
                st->n_meta++;
            }
            if (s != GAZE_OK) break;
            continue;
        }
        snprintf(p.where, sizeof p.where, have_offsets ? "tensor '%s' (offset %zu)" : "tensor '%s'",
                 msg_name(key, nb, sizeof nb), off);
        struct gaze_st_tensor * t = &st->tensors[nt];
        int64_t begin = 0;
        s = parse_tensor(&p, v, data_size, t, &begin);
        if (s != GAZE_OK) break;
        char * ns = st->strings + arena_used;
        memcpy(ns, key, klen + 1);
        arena_used += klen + 1;
        t->name = ns;
        order[nt].begin = begin;
        order[nt].idx = nt;
        order[nt].key_off = off;
        nt++;
    }
    json_decref(root);
    free(key_off);
    if (s != GAZE_OK) { free(order); return s; }

    // Contiguity: sorted by BEGIN, the first starts at 0 and each starts where the last ended.
    qsort(order, (size_t)nt, sizeof *order, cmp_begin);
    struct gaze_st_tensor * sorted = calloc(nt ? (size_t)nt : 1, sizeof *sorted);
    if (!sorted) { free(order); return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", path); }
    int64_t pos = 0;
    for (int64_t i = 0; i < nt; i++) {
        struct gaze_st_tensor t = st->tensors[order[i].idx];
        char nb[96], pb[96], where[48] = "";
        if (order[i].begin != pos) {
            const char * what = order[i].begin > pos ? "leaves a gap" : "overlaps";
            if (have_offsets) snprintf(where, sizeof where, " (offset %zu)", order[i].key_off);
            if (i == 0)
                s = gaze_error(GAZE_ERR_FORMAT,
                               "%s: tensor '%s'%s: field data_offsets: BEGIN %lld %s at the start of "
                               "the data section (must be 0)", path, msg_name(t.name, nb, sizeof nb),
                               where, (long long)order[i].begin, what);
            else
                s = gaze_error(GAZE_ERR_FORMAT,
                               "%s: tensor '%s'%s: field data_offsets: BEGIN %lld %s after tensor '%s' "
                               "(which ends at %lld)", path, msg_name(t.name, nb, sizeof nb), where,
                               (long long)order[i].begin, what,
                               msg_name(sorted[i - 1].name, pb, sizeof pb), (long long)pos);
            break;
        }
        t.file_offset = 8 + (size_t)n + (size_t)pos;
        t.data = st->base + t.file_offset;
        sorted[i] = t;
        pos += (int64_t)t.n_bytes;
    }
    free(order);
    if (s == GAZE_OK && (size_t)pos != data_size)
        s = gaze_error(GAZE_ERR_FORMAT,
                       "%s: %zu trailing bytes at offset %zu after the last tensor (the data section "
                       "must end exactly at the file end)", path, data_size - (size_t)pos,
                       8 + (size_t)n + (size_t)pos);
    if (s != GAZE_OK) { free(sorted); return s; }
    free(st->tensors);
    st->tensors = sorted;
    st->n_tensors = nt;

    st->by_name = malloc((nt ? (size_t)nt : 1) * sizeof *st->by_name);
    if (!st->by_name) return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", path);
    for (int64_t i = 0; i < nt; i++) st->by_name[i] = &st->tensors[i];
    qsort(st->by_name, (size_t)nt, sizeof *st->by_name, cmp_name);
    return GAZE_OK;
}

static enum gaze_status st_new(struct gaze_safetensors ** out, const char * label) {
    struct gaze_safetensors * st = calloc(1, sizeof *st);
    if (st) st->path = strdup(label ? label : "(buffer)");
    if (!st || !st->path) {
        free(st);
        return gaze_error(GAZE_ERR_NOMEM, "out of memory opening %s", label ? label : "(buffer)");
    }
    *out = st;
    return GAZE_OK;
}

enum gaze_status gaze_safetensors_open_buffer(struct gaze_safetensors ** out, const void * buf,
                                              size_t size, const char * label) {
    *out = NULL;
    if (!buf && size) return gaze_error(GAZE_ERR_INVALID_ARG, "safetensors: NULL buffer");
    struct gaze_safetensors * st;
    enum gaze_status s = st_new(&st, label);
    if (s != GAZE_OK) return s;
    st->base = buf;
    st->size = size;
    s = st_parse_header(st);
    if (s != GAZE_OK) { gaze_safetensors_free(st); return s; }
    *out = st;
    return GAZE_OK;
}

enum gaze_status gaze_safetensors_open(struct gaze_safetensors ** out, const char * path) {
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return gaze_error(GAZE_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return gaze_error(GAZE_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return gaze_error(GAZE_ERR_IO, "%s: not a regular file", path);
    }
    struct gaze_safetensors * st;
    enum gaze_status s = st_new(&st, path);
    if (s != GAZE_OK) { close(fd); return s; }
    st->size = (size_t)sb.st_size;
    if (st->size >= 8) {   // shorter files fail in the parser with the proper message
        void * m = mmap(NULL, st->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            int e = errno;
            close(fd);
            gaze_safetensors_free(st);
            return gaze_error(GAZE_ERR_IO, "%s: mmap of %lld bytes failed: %s", path,
                              (long long)sb.st_size, strerror(e));
        }
        st->base = m;
        st->mapped = true;
    } else {
        static const uint8_t empty[8];
        st->base = empty;
    }
    close(fd);
    s = st_parse_header(st);
    if (s != GAZE_OK) { gaze_safetensors_free(st); return s; }
    *out = st;
    return GAZE_OK;
}

void gaze_safetensors_free(struct gaze_safetensors * st) {
    if (!st) return;
    if (st->mapped) munmap((void *)st->base, st->size);
    free(st->path);
    free(st->tensors);
    free(st->by_name);
    free(st->meta);
    free(st->strings);
    free(st);
}

const char * gaze_safetensors_path(const struct gaze_safetensors * st) { return st->path; }
int64_t gaze_safetensors_n_tensors(const struct gaze_safetensors * st) { return st->n_tensors; }

const struct gaze_st_tensor * gaze_safetensors_tensor(const struct gaze_safetensors * st, int64_t i) {
    return i >= 0 && i < st->n_tensors ? &st->tensors[i] : NULL;
}

const struct gaze_st_tensor * gaze_safetensors_find(const struct gaze_safetensors * st,
                                                    const char * name) {
    int64_t lo = 0, hi = st->n_tensors;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        int c = strcmp(st->by_name[mid]->name, name);
        if (c == 0) return st->by_name[mid];
        if (c < 0) lo = mid + 1; else hi = mid;
    }
    return NULL;
}

int64_t gaze_safetensors_n_metadata(const struct gaze_safetensors * st) { return st->n_meta; }
const char * gaze_safetensors_metadata_key(const struct gaze_safetensors * st, int64_t i) {
    return i >= 0 && i < st->n_meta ? st->meta[2 * i] : NULL;
}
const char * gaze_safetensors_metadata_value(const struct gaze_safetensors * st, int64_t i) {
    return i >= 0 && i < st->n_meta ? st->meta[2 * i + 1] : NULL;
}
const char * gaze_safetensors_metadata(const struct gaze_safetensors * st, const char * key) {
    for (int64_t i = 0; i < st->n_meta; i++)
        if (!strcmp(st->meta[2 * i], key)) return st->meta[2 * i + 1];
    return NULL;
}

enum gaze_status gaze_st_tensor_to_f32(const struct gaze_st_tensor * t, float * dst, int64_t n) {
    if (n != t->n_elements)
        return gaze_error(GAZE_ERR_INVALID_ARG, "tensor '%s': destination holds %lld floats, tensor has %lld",
                          t->name, (long long)n, (long long)t->n_elements);
    const uint8_t * src = t->data;
    switch (t->dtype) {
        case GAZE_DTYPE_F32:
            if (n) memcpy(dst, src, (size_t)n * 4);
            return GAZE_OK;
        case GAZE_DTYPE_F16:
        case GAZE_DTYPE_BF16: {
            void (*row)(const uint16_t *, float *, int64_t) =
                t->dtype == GAZE_DTYPE_F16 ? gaze_f16_to_f32_row : gaze_bf16_to_f32_row;
            if (((uintptr_t)src & 1) == 0) { row((const uint16_t *)src, dst, n); return GAZE_OK; }
            uint16_t tmp[2048];   // unaligned: bounce through an aligned buffer
            for (int64_t i = 0; i < n; i += 2048) {
                int64_t m = GAZE_MIN(2048, n - i);
                memcpy(tmp, src + 2 * i, (size_t)m * 2);
                row(tmp, dst + i, m);
            }
            return GAZE_OK;
        }
        case GAZE_DTYPE_F64:
            for (int64_t i = 0; i < n; i++) {
                double d;
                memcpy(&d, src + 8 * i, 8);
                dst[i] = (float)d;
            }
            return GAZE_OK;
        default:
            return gaze_error(GAZE_ERR_UNSUPPORTED, "tensor '%s': dtype %s cannot be read as f32",
                              t->name, gaze_dtype_name(t->dtype));
    }
}

enum gaze_status gaze_st_tensor_as_f32(const struct gaze_st_tensor * t, const float ** data,
                                       float ** owned) {
    *data = NULL;
    *owned = NULL;
    if (t->dtype == GAZE_DTYPE_F32 && ((uintptr_t)t->data & 3) == 0) {
        *data = t->data;
        return GAZE_OK;
    }
    size_t bytes;
    if (gaze_mul_ovf((size_t)t->n_elements, sizeof(float), &bytes))
        return gaze_error(GAZE_ERR_NOMEM, "tensor '%s': too large", t->name);
    float * buf = gaze_alloc_aligned(bytes);
    if (!buf) return GAZE_ERR_NOMEM;
    enum gaze_status s = gaze_st_tensor_to_f32(t, buf, t->n_elements);
    if (s != GAZE_OK) { gaze_free_aligned(buf); return s; }
    *data = buf;
    *owned = buf;
    return GAZE_OK;
}

/* ---- writer ----------------------------------------------------------------------------- */

struct st_entry {
    char *          name;
    enum gaze_dtype dtype;
    int32_t         n_dims;
    int64_t         shape[GAZE_ST_MAX_DIMS];
    size_t          n_bytes;
    const void *    data;    // borrowed or == owned
    void *          owned;
};

struct gaze_st_writer {
    char *            path;
    struct st_entry * entries;     // [n, cap]
    int64_t           n, cap;
    json_t *          meta;        // object of strings
    bool              finished;
};

enum gaze_status gaze_st_writer_init(struct gaze_st_writer ** out, const char * path) {
    *out = NULL;
    struct gaze_st_writer * w = calloc(1, sizeof *w);
    if (w) { w->path = strdup(path); w->meta = json_object(); }
    if (!w || !w->path || !w->meta) {
        if (w) { free(w->path); json_decref(w->meta); free(w); }
        return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", path);
    }
    *out = w;
    return GAZE_OK;
}

void gaze_st_writer_free(struct gaze_st_writer * w) {
    if (!w) return;
    for (int64_t i = 0; i < w->n; i++) { free(w->entries[i].name); free(w->entries[i].owned); }
    free(w->entries);
    json_decref(w->meta);
    free(w->path);
    free(w);
}

// Validates and appends an entry; data set by the caller.
static enum gaze_status writer_entry(struct gaze_st_writer * w, const char * name,
                                     enum gaze_dtype dtype, int32_t n_dims, const int64_t * shape,
                                     struct st_entry ** out) {
    const char * path = w->path;
    if (!name || !*name)
        return gaze_error(GAZE_ERR_INVALID_ARG, "%s: tensor name must be non-empty", path);
    size_t nlen = strlen(name);
    char nb[96];
    if (nlen > GAZE_ST_MAX_NAME || !gaze_json_utf8_valid(name, nlen, NULL) ||
        !strcmp(name, "__metadata__"))
        return gaze_error(GAZE_ERR_INVALID_ARG,
                          "%s: tensor name '%s' is invalid (UTF-8, at most %d bytes, not __metadata__)",
                          path, msg_name(name, nb, sizeof nb), GAZE_ST_MAX_NAME);
    if ((unsigned)dtype >= GAZE_DTYPE_COUNT)
        return gaze_error(GAZE_ERR_INVALID_ARG, "%s: tensor '%s': bad dtype %d", path,
                          msg_name(name, nb, sizeof nb), (int)dtype);
    if (n_dims < 0 || n_dims > GAZE_ST_MAX_DIMS || (n_dims > 0 && !shape))
        return gaze_error(GAZE_ERR_INVALID_ARG, "%s: tensor '%s': rank %d outside [0, %d]", path,
                          msg_name(name, nb, sizeof nb), n_dims, GAZE_ST_MAX_DIMS);
    int64_t nel = 1;
    bool zero = false, ovf = false;
    for (int32_t i = 0; i < n_dims; i++) {
        if (shape[i] < 0 || shape[i] > ((int64_t)1 << 53))
            return gaze_error(GAZE_ERR_INVALID_ARG, "%s: tensor '%s': shape[%d] = %lld out of range",
                              path, msg_name(name, nb, sizeof nb), i, (long long)shape[i]);
        if (shape[i] == 0) zero = true;
        if (gaze_mul_ovf_i64(nel, shape[i], &nel)) ovf = true;
    }
    if (zero) { nel = 0; ovf = false; }
    int64_t nbits;
    if (ovf || gaze_mul_ovf_i64(nel, gaze_dtype_bits(dtype), &nbits) || nbits % 8)
        return gaze_error(GAZE_ERR_INVALID_ARG, "%s: tensor '%s': %s x shape is not a whole byte size",
                          path, msg_name(name, nb, sizeof nb), gaze_dtype_name(dtype));
    for (int64_t i = 0; i < w->n; i++)
        if (!strcmp(w->entries[i].name, name))
            return gaze_error(GAZE_ERR_INVALID_ARG, "%s: tensor '%s' added twice", path,
                              msg_name(name, nb, sizeof nb));
    if (w->n == w->cap) {
        int64_t ncap = w->cap ? 2 * w->cap : 16;
        struct st_entry * ne = realloc(w->entries, (size_t)ncap * sizeof *ne);
        if (!ne) return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", path);
        w->entries = ne;
        w->cap = ncap;
    }
    struct st_entry * e = &w->entries[w->n];
    memset(e, 0, sizeof *e);
    e->name = strdup(name);
    if (!e->name) return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", path);
    e->dtype = dtype;
    e->n_dims = n_dims;
    for (int32_t i = 0; i < n_dims; i++) e->shape[i] = shape[i];
    e->n_bytes = (size_t)(nbits / 8);
    *out = e;
    return GAZE_OK;
}

enum gaze_status gaze_st_writer_add_ref(struct gaze_st_writer * w, const char * name,
                                        enum gaze_dtype dtype, int32_t n_dims,
                                        const int64_t * shape, const void * data) {
    struct st_entry * e;
    enum gaze_status s = writer_entry(w, name, dtype, n_dims, shape, &e);
    if (s != GAZE_OK) return s;
    if (!data && e->n_bytes) {
        free(e->name);
        return gaze_error(GAZE_ERR_INVALID_ARG, "%s: tensor '%s': NULL data", w->path, name);
    }
    e->data = data;
    w->n++;
    return GAZE_OK;
}

enum gaze_status gaze_st_writer_add(struct gaze_st_writer * w, const char * name,
                                    enum gaze_dtype dtype, int32_t n_dims, const int64_t * shape,
                                    const void * data) {
    struct st_entry * e;
    enum gaze_status s = writer_entry(w, name, dtype, n_dims, shape, &e);
    if (s != GAZE_OK) return s;
    if (!data && e->n_bytes) {
        free(e->name);
        return gaze_error(GAZE_ERR_INVALID_ARG, "%s: tensor '%s': NULL data", w->path, name);
    }
    e->owned = malloc(e->n_bytes ? e->n_bytes : 1);
    if (!e->owned) {
        free(e->name);
        return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory copying tensor '%s'", w->path, name);
    }
    if (e->n_bytes) memcpy(e->owned, data, e->n_bytes);
    e->data = e->owned;
    w->n++;
    return GAZE_OK;
}

enum gaze_status gaze_st_writer_add_f32(struct gaze_st_writer * w, const char * name,
                                        enum gaze_dtype dtype, int32_t n_dims,
                                        const int64_t * shape, const float * data) {
    if (dtype != GAZE_DTYPE_F32 && dtype != GAZE_DTYPE_F16 && dtype != GAZE_DTYPE_BF16)
        return gaze_error(GAZE_ERR_INVALID_ARG, "%s: tensor '%s': f32 data cannot be stored as %s",
                          w->path, name ? name : "", gaze_dtype_name(dtype));
    if (dtype == GAZE_DTYPE_F32) return gaze_st_writer_add(w, name, dtype, n_dims, shape, data);
    struct st_entry * e;
    enum gaze_status s = writer_entry(w, name, dtype, n_dims, shape, &e);
    if (s != GAZE_OK) return s;
    int64_t n = (int64_t)(e->n_bytes / 2);
    if (!data && n) {
        free(e->name);
        return gaze_error(GAZE_ERR_INVALID_ARG, "%s: tensor '%s': NULL data", w->path, name);
    }
    uint16_t * h = malloc(e->n_bytes ? e->n_bytes : 1);
    if (!h) {
        free(e->name);
        return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory converting tensor '%s'", w->path, name);
    }
    if (dtype == GAZE_DTYPE_F16) gaze_f32_to_f16_row(data, h, n);
    else for (int64_t i = 0; i < n; i++) h[i] = gaze_f32_to_bf16(data[i]);
    e->owned = h;
    e->data = h;
    w->n++;
    return GAZE_OK;
}

enum gaze_status gaze_st_writer_set_metadata(struct gaze_st_writer * w, const char * key,
                                             const char * value) {
    if (!key || !value || !*key || strlen(key) > GAZE_ST_MAX_NAME)
        return gaze_error(GAZE_ERR_INVALID_ARG, "%s: metadata key must be 1..%d bytes", w->path,
                          GAZE_ST_MAX_NAME);
    size_t bad;
    if (!gaze_json_utf8_valid(key, strlen(key), &bad))
        return gaze_error(GAZE_ERR_INVALID_ARG, "%s: metadata key: invalid UTF-8 at byte %zu",
                          w->path, bad);
    if (!gaze_json_utf8_valid(value, strlen(value), &bad))
        return gaze_error(GAZE_ERR_INVALID_ARG, "%s: metadata %s: invalid UTF-8 at byte %zu",
                          w->path, key, bad);
    json_t * s = json_string(value);
    if (!s || json_object_set_new(w->meta, key, s) != 0)
        return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", w->path);
    return GAZE_OK;
}

enum gaze_status gaze_st_writer_finish(struct gaze_st_writer * w) {
    const char * path = w->path;
    if (w->finished) return gaze_error(GAZE_ERR_INVALID_ARG, "%s: writer already finished", path);
    json_t * hdr = json_object();
    if (!hdr) return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", path);
    bool oom = false;
    if (json_object_size(w->meta)) oom |= json_object_set(hdr, "__metadata__", w->meta) != 0;
    size_t pos = 0;
    for (int64_t i = 0; i < w->n && !oom; i++) {
        struct st_entry * e = &w->entries[i];
        json_t * shape = json_array();
        json_t * offs = json_array();
        json_t * t = json_object();
        oom |= !shape || !offs || !t;
        for (int32_t d = 0; d < e->n_dims && !oom; d++)
            oom |= json_array_append_new(shape, json_integer(e->shape[d])) != 0;
        if (!oom) {
            oom |= json_array_append_new(offs, json_integer((json_int_t)pos)) != 0;
            oom |= json_array_append_new(offs, json_integer((json_int_t)(pos + e->n_bytes))) != 0;
            oom |= json_object_set_new(t, "dtype", json_string(gaze_dtype_name(e->dtype))) != 0;
            oom |= json_object_set_new(t, "shape", shape) != 0;
            oom |= json_object_set_new(t, "data_offsets", offs) != 0;
            oom |= json_object_set_new(hdr, e->name, t) != 0;
        } else {
            json_decref(shape); json_decref(offs); json_decref(t);
        }
        pos += e->n_bytes;
    }
    char * text = oom ? NULL : json_dumps(hdr, JSON_COMPACT);
    json_decref(hdr);
    if (!text) return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory building the header", path);
    size_t hlen = strlen(text);
    size_t padded = (8 + hlen + 7) / 8 * 8 - 8;   // data starts 8-byte aligned
    if (padded > GAZE_ST_MAX_HEADER) {
        free(text);
        return gaze_error(GAZE_ERR_LIMIT, "%s: header of %zu bytes exceeds the cap of %u", path,
                          padded, GAZE_ST_MAX_HEADER);
    }

    struct gaze_output * out;
    enum gaze_status s = gaze_output_open(&out, path);
    if (s != GAZE_OK) { free(text); return s; }
    uint8_t len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (uint8_t)((uint64_t)padded >> (8 * i));
    s = gaze_output_write(out, len8, 8);
    if (s == GAZE_OK) s = gaze_output_write(out, text, hlen);
    if (s == GAZE_OK && padded > hlen) {
        char spaces[8] = "        ";
        s = gaze_output_write(out, spaces, padded - hlen);
    }
    for (int64_t i = 0; i < w->n && s == GAZE_OK; i++)
        if (w->entries[i].n_bytes) s = gaze_output_write(out, w->entries[i].data, w->entries[i].n_bytes);
    if (s == GAZE_OK) s = gaze_output_commit(out);
    else gaze_output_abort(out);
    if (s == GAZE_OK) w->finished = true;
    free(text);
    return s;
}

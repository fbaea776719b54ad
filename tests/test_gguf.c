// GGUF reader: a small in-test writer produces one valid file and ~45 variants with one field
// wrong each (plus truncation at every field boundary); each must be rejected with a message
// naming the field. Also: typed getters, bounded peak memory on a 1 KB file declaring huge
// sizes, and the real SmolLM2 file.
#include "check.h"
#include "gaze.h"
#include "kernels/quant.h"
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

// ---- a tiny GGUF writer ----------------------------------------------------------------------

struct wbuf {
    uint8_t * p;
    size_t    n, cap;
    size_t    marks[512];   // offsets of every field boundary (for truncation tests)
    int       n_marks;
};

static void w_bytes(struct wbuf * b, const void * src, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 256;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
    if (b->n_marks < 512) b->marks[b->n_marks++] = b->n;
}
static void w_u8(struct wbuf * b, uint8_t v) { w_bytes(b, &v, 1); }
static void w_u16(struct wbuf * b, uint16_t v) { w_bytes(b, &v, 2); }
static void w_u32(struct wbuf * b, uint32_t v) { w_bytes(b, &v, 4); }
static void w_u64(struct wbuf * b, uint64_t v) { w_bytes(b, &v, 8); }
static void w_f32(struct wbuf * b, float v) { w_bytes(b, &v, 4); }
static void w_str(struct wbuf * b, const char * s) { w_u64(b, strlen(s)); w_bytes(b, s, strlen(s)); }
static void w_strn(struct wbuf * b, const char * s, size_t n) { w_u64(b, n); w_bytes(b, s, n); }

enum mut {
    M_NONE, M_EMPTY, M_BAD_MAGIC, M_VERSION_0, M_VERSION_1, M_VERSION_4, M_VERSION_SWAPPED,
    M_NTENSORS_NEG, M_NTENSORS_HUGE, M_NKV_NEG, M_NKV_HUGE, M_KEY_LEN_REMAINING, M_KEY_LEN_CAP,
    M_STR_LEN_CAP, M_STR_LEN_REMAINING, M_EMPTY_KEY, M_DUP_KEY, M_KEY_NUL, M_KEY_UTF8, M_KEY_CTRL, M_NAME_CTRL,
    M_BAD_VTYPE, M_NESTED_ARRAY, M_ARRAY_BAD_ELEM, M_BOOL_2, M_BOOL_ARRAY_2, M_ARRAY_COUNT_HUGE,
    M_ARRAY_STR_COUNT_HUGE, M_ALIGN_I32, M_ALIGN_0, M_ALIGN_NPOT, M_ALIGN_HUGE, M_NAME_64,
    M_NAME_EMPTY, M_NAME_LEN_HUGE, M_DUP_NAME, M_NDIMS_5, M_NDIMS_0, M_NE_NEG, M_NE_OVERFLOW,
    M_NBYTES_OVERFLOW, M_TYPE_REMOVED, M_TYPE_HUGE, M_TYPE_UNSUPPORTED, M_NE0_BLOCK,
    M_OFFSET_MISALIGNED, M_OFFSET_GAP, M_OFFSET_OVERLAP, M_DATA_SHORT, M_ALIGN_64, M_V2,
    M_COUNT
};

// Writes the standard test file, with mutation m applied.
// KVs: architecture, alignment, one of each scalar type, arrays; tensors: F32 [8, 2],
// Q4_1 [64, 2], Q8_0 [32].
static void gen(enum mut m, struct wbuf * b) {
    memset(b, 0, sizeof *b);
    if (m == M_EMPTY) return;
    const uint32_t align = m == M_ALIGN_64 ? 64 : 32;
    w_bytes(b, m == M_BAD_MAGIC ? "GGUG" : "GGUF", 4);
    uint32_t version = 3;
    if (m == M_VERSION_0) version = 0;
    if (m == M_VERSION_1) version = 1;
    if (m == M_VERSION_4) version = 4;
    if (m == M_VERSION_SWAPPED) version = 0x03000000u;
    if (m == M_V2) version = 2;
    w_u32(b, version);
    uint64_t n_tensors = 3, n_kv = 16;
    if (m == M_NTENSORS_NEG) n_tensors = (uint64_t)-1;
    if (m == M_NTENSORS_HUGE) n_tensors = (uint64_t)1 << 40;
    if (m == M_NKV_NEG) n_kv = (uint64_t)-5;
    if (m == M_NKV_HUGE) n_kv = (uint64_t)1 << 40;
    w_u64(b, n_tensors);
    w_u64(b, n_kv);

    // 1: general.architecture
    if (m == M_KEY_LEN_REMAINING) { w_u64(b, 60000); w_bytes(b, "general.architecture", 20); }
    else if (m == M_KEY_LEN_CAP) { w_u64(b, (uint64_t)1 << 40); }
    else if (m == M_EMPTY_KEY) w_str(b, "");
    else if (m == M_KEY_NUL) w_strn(b, "general.arch\0tecture", 20);
    else if (m == M_KEY_UTF8) w_strn(b, "general.arch\xff" "tecture", 20);
    else if (m == M_KEY_CTRL) w_strn(b, "general.arch\x1b" "tecture", 20);
    else w_str(b, "general.architecture");
    w_u32(b, m == M_BAD_VTYPE ? 13 : GAZE_GGUF_TYPE_STRING);
    if (m == M_STR_LEN_CAP) w_u64(b, (uint64_t)1 << 40);
    else if (m == M_STR_LEN_REMAINING) w_u64(b, 5000);
    else w_str(b, "llama");
    // 2: general.alignment
    w_str(b, "general.alignment");
    if (m == M_ALIGN_I32) { w_u32(b, GAZE_GGUF_TYPE_INT32); w_u32(b, align); }
    else {
        w_u32(b, GAZE_GGUF_TYPE_UINT32);
        uint32_t a = align;
        if (m == M_ALIGN_0) a = 0;
        if (m == M_ALIGN_NPOT) a = 48;
        if (m == M_ALIGN_HUGE) a = 1u << 21;
        w_u32(b, a);
    }
    // 3..12: one of each scalar type
    w_str(b, "t.u8");  w_u32(b, GAZE_GGUF_TYPE_UINT8);  w_u8(b, 200);
    w_str(b, "t.i8");  w_u32(b, GAZE_GGUF_TYPE_INT8);   w_u8(b, (uint8_t)-7);
    w_str(b, "t.u16"); w_u32(b, GAZE_GGUF_TYPE_UINT16); w_u16(b, 60000);
    w_str(b, "t.i16"); w_u32(b, GAZE_GGUF_TYPE_INT16);  w_u16(b, (uint16_t)-300);
    w_str(b, m == M_DUP_KEY ? "t.u8" : "t.u32"); w_u32(b, GAZE_GGUF_TYPE_UINT32); w_u32(b, 4000000000u);
    w_str(b, "t.i32"); w_u32(b, GAZE_GGUF_TYPE_INT32);  w_u32(b, (uint32_t)-123456);
    w_str(b, "t.f32"); w_u32(b, GAZE_GGUF_TYPE_FLOAT32); w_f32(b, 1e-5f);
    w_str(b, "t.bool"); w_u32(b, GAZE_GGUF_TYPE_BOOL); w_u8(b, m == M_BOOL_2 ? 2 : 1);
    w_str(b, "t.u64"); w_u32(b, GAZE_GGUF_TYPE_UINT64); w_u64(b, 1ull << 40);
    w_str(b, "t.i64"); w_u32(b, GAZE_GGUF_TYPE_INT64);  w_u64(b, (uint64_t)-5);
    w_str(b, "t.f64"); w_u32(b, GAZE_GGUF_TYPE_FLOAT64); { double d = 100000.0; w_bytes(b, &d, 8); }
    // 14: array of strings
    w_str(b, "t.strs"); w_u32(b, GAZE_GGUF_TYPE_ARRAY);
    w_u32(b, m == M_NESTED_ARRAY ? GAZE_GGUF_TYPE_ARRAY : m == M_ARRAY_BAD_ELEM ? 99 : GAZE_GGUF_TYPE_STRING);
    w_u64(b, m == M_ARRAY_STR_COUNT_HUGE ? (uint64_t)1 << 40 : 3);
    w_str(b, "a"); w_str(b, "bc"); w_strn(b, "d\0e", 3);
    // 15: array of int32
    w_str(b, "t.ints"); w_u32(b, GAZE_GGUF_TYPE_ARRAY); w_u32(b, GAZE_GGUF_TYPE_INT32);
    w_u64(b, m == M_ARRAY_COUNT_HUGE ? (uint64_t)1 << 61 : 4);
    w_u32(b, 1); w_u32(b, (uint32_t)-2); w_u32(b, 3); w_u32(b, 2147483647);
    // 16: array of bool
    w_str(b, "t.bools"); w_u32(b, GAZE_GGUF_TYPE_ARRAY); w_u32(b, GAZE_GGUF_TYPE_BOOL); w_u64(b, 3);
    w_u8(b, 0); w_u8(b, 1); w_u8(b, m == M_BOOL_ARRAY_2 ? 2 : 1);

    // tensor infos
    struct { const char * name; uint32_t n_dims; uint64_t ne[4]; uint32_t type; } ti[3] = {
        { "a.weight", 2, { 8, 2 }, GAZE_TYPE_F32 },
        { "b.weight", 2, { 64, 2 }, GAZE_TYPE_Q4_1 },
        { "c.weight", 1, { 32 }, GAZE_TYPE_Q8_0 },
    };
    char name64[65];
    memset(name64, 'n', 64);
    name64[64] = 0;
    if (m == M_NAME_64) ti[1].name = name64;
    if (m == M_NAME_EMPTY) ti[1].name = "";
    if (m == M_NAME_CTRL) ti[1].name = "b.\x1b[31mweight";
    if (m == M_DUP_NAME) ti[2].name = "a.weight";
    if (m == M_NDIMS_5) ti[1].n_dims = 5;
    if (m == M_NDIMS_0) ti[1].n_dims = 0;
    if (m == M_NE_NEG) ti[0].ne[1] = (uint64_t)-2;
    if (m == M_NE_OVERFLOW) { ti[0].ne[0] = 1ull << 32; ti[0].ne[1] = 1ull << 32; }
    if (m == M_NBYTES_OVERFLOW) { ti[0].ne[0] = 1ull << 62; ti[0].ne[1] = 1; }
    if (m == M_TYPE_REMOVED) ti[2].type = 4;
    if (m == M_TYPE_HUGE) ti[2].type = 1000000;
    if (m == M_TYPE_UNSUPPORTED) ti[2].type = 11;   // Q3_K
    if (m == M_NE0_BLOCK) ti[1].ne[0] = 48;
    size_t nbytes[3] = { 8 * 2 * 4, 2 * 2 * 20, 34 };
    uint64_t off = 0;
    for (int i = 0; i < 3; i++) {
        if (m == M_NAME_LEN_HUGE && i == 1) { w_u64(b, (uint64_t)1 << 40); break; }
        w_str(b, ti[i].name);
        w_u32(b, ti[i].n_dims);
        for (uint32_t j = 0; j < ti[i].n_dims && j < 8; j++) w_u64(b, j < 4 ? ti[i].ne[j] : 1);
        w_u32(b, ti[i].type);
        uint64_t o = off;
        if (i == 1 && m == M_OFFSET_MISALIGNED) o += 16;
        if (i == 1 && m == M_OFFSET_GAP) o += align;
        if (i == 2 && m == M_OFFSET_OVERLAP) o = 0;
        w_u64(b, o);
        off += (nbytes[i] + align - 1) / align * align;
    }
    // padding, then data
    while (b->n % align) { uint8_t z = 0; w_bytes(b, &z, 1); }
    b->n_marks--;   // padding bytes are not field boundaries; keep only the last
    for (int i = 0; i < 3; i++) {
        uint8_t buf[160];
        for (size_t k = 0; k < nbytes[i]; k++) buf[k] = (uint8_t)(k * 7 + i);
        if (i == 0) for (int k = 0; k < 16; k++) { float f = (float)k * 0.5f; memcpy(buf + 4 * k, &f, 4); }
        w_bytes(b, buf, nbytes[i]);
        if (i < 2) while (b->n % align) { uint8_t z = 0xAA; w_bytes(b, &z, 1); b->n_marks--; }
    }
    if (m == M_DATA_SHORT) b->n -= 8;
}

struct mcase { enum mut m; enum gaze_status st; const char * sub; };

static const struct mcase g_cases[] = {
    { M_EMPTY,               GAZE_ERR_FORMAT, "file is empty" },
    { M_BAD_MAGIC,           GAZE_ERR_FORMAT, "header.magic at offset 0" },
    { M_VERSION_0,           GAZE_ERR_FORMAT, "unsupported version 0" },
    { M_VERSION_1,           GAZE_ERR_FORMAT, "version 1 (32-bit counts)" },
    { M_VERSION_4,           GAZE_ERR_FORMAT, "unsupported version 4" },
    { M_VERSION_SWAPPED,     GAZE_ERR_FORMAT, "byte-swapped" },
    { M_NTENSORS_NEG,        GAZE_ERR_FORMAT, "header.tensor_count at offset 8: negative" },
    { M_NTENSORS_HUGE,       GAZE_ERR_FORMAT, "tensors cannot fit" },
    { M_NKV_NEG,             GAZE_ERR_FORMAT, "header.metadata_kv_count at offset 16: negative" },
    { M_NKV_HUGE,            GAZE_ERR_FORMAT, "key/value pairs cannot fit" },
    { M_KEY_LEN_REMAINING,   GAZE_ERR_FORMAT, "kv[0].key at offset 24: string length 60000 exceeds the" },
    { M_KEY_LEN_CAP,         GAZE_ERR_FORMAT, "kv[0].key at offset 24: string length 1099511627776" },
    { M_STR_LEN_CAP,         GAZE_ERR_FORMAT, "'general.architecture' value at offset 56: string length 1099511627776 exceeds the limit of 67108864" },
    { M_STR_LEN_REMAINING,   GAZE_ERR_FORMAT, "value at offset 56: string length 5000 exceeds the" },
    { M_EMPTY_KEY,           GAZE_ERR_FORMAT, "kv[0].key at offset 24: empty key" },
    { M_DUP_KEY,             GAZE_ERR_FORMAT, "duplicate key 't.u8'" },
    { M_KEY_NUL,             GAZE_ERR_FORMAT, "kv[0].key at offset 24: contains a NUL byte" },
    { M_KEY_UTF8,            GAZE_ERR_FORMAT, "kv[0].key at offset 24: invalid UTF-8" },
    { M_KEY_CTRL,            GAZE_ERR_FORMAT, "kv[0].key at offset 24: control character 0x1b at byte 12" },
    { M_NAME_CTRL,           GAZE_ERR_FORMAT, "tensor_info[1].name at offset" },
    { M_BAD_VTYPE,           GAZE_ERR_FORMAT, "value type at offset 52: invalid value type 13" },
    { M_NESTED_ARRAY,        GAZE_ERR_FORMAT, "'t.strs' array element type at offset" },
    { M_ARRAY_BAD_ELEM,      GAZE_ERR_FORMAT, "invalid value type 99" },
    { M_BOOL_2,              GAZE_ERR_FORMAT, "'t.bool' value at offset" },
    { M_BOOL_ARRAY_2,        GAZE_ERR_FORMAT, "'t.bools'[2] at offset" },
    { M_ARRAY_COUNT_HUGE,    GAZE_ERR_FORMAT, "'t.ints' array count at offset" },
    { M_ARRAY_STR_COUNT_HUGE,GAZE_ERR_FORMAT, "'t.strs' array count at offset" },
    { M_ALIGN_I32,           GAZE_ERR_FORMAT, "general.alignment at offset 94: type INT32, expected UINT32" },
    { M_ALIGN_0,             GAZE_ERR_FORMAT, "general.alignment at offset 98: value 0 (must be a power of two" },
    { M_ALIGN_NPOT,          GAZE_ERR_FORMAT, "general.alignment at offset 98: value 48" },
    { M_ALIGN_HUGE,          GAZE_ERR_FORMAT, "general.alignment at offset 98: value 2097152" },
    { M_NAME_64,             GAZE_ERR_FORMAT, "tensor_info[1].name at offset" },
    { M_NAME_EMPTY,          GAZE_ERR_FORMAT, "empty tensor name" },
    { M_NAME_LEN_HUGE,       GAZE_ERR_FORMAT, "tensor_info[1].name at offset" },
    { M_DUP_NAME,            GAZE_ERR_FORMAT, "duplicate tensor name 'a.weight'" },
    { M_NDIMS_5,             GAZE_ERR_FORMAT, "'b.weight' n_dims at offset" },
    { M_NDIMS_0,             GAZE_ERR_FORMAT, ": 0 (must be 1..4)" },
    { M_NE_NEG,              GAZE_ERR_FORMAT, "'a.weight' ne[1] at offset" },
    { M_NE_OVERFLOW,         GAZE_ERR_FORMAT, "element count overflows int64" },
    { M_NBYTES_OVERFLOW,     GAZE_ERR_FORMAT, "byte size overflows" },
    { M_TYPE_REMOVED,        GAZE_ERR_FORMAT, "unknown tensor type id 4" },
    { M_TYPE_HUGE,           GAZE_ERR_FORMAT, "unknown tensor type id 1000000" },
    { M_TYPE_UNSUPPORTED,    GAZE_ERR_UNSUPPORTED, "tensor type Q3_K (11) is not supported" },
    { M_NE0_BLOCK,           GAZE_ERR_FORMAT, "ne[0] = 48 is not a multiple of the Q4_1 block size 32" },
    { M_OFFSET_MISALIGNED,   GAZE_ERR_FORMAT, "'b.weight' offset at offset" },
    { M_OFFSET_GAP,          GAZE_ERR_FORMAT, "96, expected 64" },
    { M_OFFSET_OVERLAP,      GAZE_ERR_FORMAT, "'c.weight' offset at offset" },
    { M_DATA_SHORT,          GAZE_ERR_FORMAT, "tensor 'c.weight' data at offset" },
};

static void test_malformed(void) {
    int n_cases = 0;
    for (size_t i = 0; i < sizeof g_cases / sizeof g_cases[0]; i++) {
        struct wbuf b;
        gen(g_cases[i].m, &b);
        struct gaze_gguf * g = (struct gaze_gguf *)0x1;
        gaze_clear_error();
        enum gaze_status st = gaze_gguf_open_buffer(b.p, b.n, "bad.gguf", &g);
        const char * msg = gaze_last_error();
        CHECK(st == g_cases[i].st, "case %zu: status %s, expected %s (%s)", i, gaze_status_name(st),
              gaze_status_name(g_cases[i].st), msg);
        CHECK(g == NULL, "case %zu: out not NULL on failure", i);
        CHECK(strstr(msg, g_cases[i].sub) != NULL, "case %zu: message '%s' lacks '%s'", i, msg, g_cases[i].sub);
        CHECK(strncmp(msg, "bad.gguf: ", 10) == 0, "case %zu: message '%s' does not name the file", i, msg);
        if (g_cases[i].m != M_EMPTY && g_cases[i].m != M_DUP_KEY && g_cases[i].m != M_DUP_NAME)
            CHECK(strstr(msg, "offset") != NULL, "case %zu: message '%s' names no offset", i, msg);
        gaze_gguf_free(g == (struct gaze_gguf *)0x1 ? NULL : g);
        free(b.p);
        n_cases++;
    }
    printf("malformed cases: %d\n", n_cases);
    CHECK(n_cases >= 40, "only %d malformed cases", n_cases);
}

static void test_truncation(void) {
    struct wbuf b;
    gen(M_NONE, &b);
    int n = 0;
    for (int i = 0; i < b.n_marks; i++) {
        const size_t cut = b.marks[i];
        if (cut >= b.n) continue;
        // a heap copy of exactly `cut` bytes, so ASan sees any over-read
        uint8_t * p = malloc(cut ? cut : 1);
        memcpy(p, b.p, cut);
        struct gaze_gguf * g = NULL;
        enum gaze_status st = gaze_gguf_open_buffer(p, cut, "cut.gguf", &g);
        const char * msg = gaze_last_error();
        CHECK(st == GAZE_ERR_FORMAT && g == NULL, "cut at %zu: status %s", cut, gaze_status_name(st));
        CHECK(strstr(msg, "truncated") || strstr(msg, "beyond the end") || strstr(msg, "exceeds the") ||
              strstr(msg, "cannot fit") || strstr(msg, "bytes left") || strstr(msg, "empty"),
              "cut at %zu: message '%s'", cut, msg);
        gaze_gguf_free(g);
        free(p);
        n++;
    }
    printf("truncation points: %d\n", n);
    CHECK(n >= 60, "only %d truncation points", n);
    free(b.p);
}

static void test_valid(enum mut m) {
    struct wbuf b;
    gen(m, &b);
    struct gaze_gguf * g = NULL;
    enum gaze_status st = gaze_gguf_open_buffer(b.p, b.n, "ok.gguf", &g);
    CHECK(st == GAZE_OK, "valid file (mut %d) rejected: %s", (int)m, gaze_last_error());
    if (st) { free(b.p); return; }
    CHECK(gaze_gguf_version(g) == (m == M_V2 ? 2u : 3u), "version %u", gaze_gguf_version(g));
    CHECK(gaze_gguf_alignment(g) == (m == M_ALIGN_64 ? 64u : 32u), "alignment %zu", gaze_gguf_alignment(g));
    CHECK(gaze_gguf_data_offset(g) % gaze_gguf_alignment(g) == 0, "data offset %zu", gaze_gguf_data_offset(g));
    CHECK(gaze_gguf_n_kv(g) == 16 && gaze_gguf_n_tensors(g) == 3, "counts");

    const char * s;
    size_t len;
    CHECK(gaze_gguf_get_str(g, "general.architecture", &s, &len) == GAZE_OK && len == 5 && !strcmp(s, "llama"), "arch");
    uint32_t u32;
    int32_t i32;
    uint64_t u64;
    int64_t i64;
    float f;
    bool bl;
    CHECK(gaze_gguf_get_u32(g, "t.u8", &u32) == GAZE_OK && u32 == 200, "u8 as u32");
    CHECK(gaze_gguf_get_i32(g, "t.i8", &i32) == GAZE_OK && i32 == -7, "i8 as i32");
    CHECK(gaze_gguf_get_u32(g, "t.u16", &u32) == GAZE_OK && u32 == 60000, "u16");
    CHECK(gaze_gguf_get_i32(g, "t.i16", &i32) == GAZE_OK && i32 == -300, "i16");
    CHECK(gaze_gguf_get_u32(g, "t.u32", &u32) == GAZE_OK && u32 == 4000000000u, "u32");
    CHECK(gaze_gguf_get_i32(g, "t.u32", &i32) == GAZE_ERR_FORMAT && strstr(gaze_last_error(), "out of range"),
          "u32 4e9 as i32 must fail: %s", gaze_last_error());
    CHECK(gaze_gguf_get_u32(g, "t.i8", &u32) == GAZE_ERR_FORMAT, "negative as u32 must fail");
    CHECK(gaze_gguf_get_i32(g, "t.i32", &i32) == GAZE_OK && i32 == -123456, "i32");
    CHECK(gaze_gguf_get_f32(g, "t.f32", &f) == GAZE_OK && f == 1e-5f, "f32");
    CHECK(gaze_gguf_get_f32(g, "t.f64", &f) == GAZE_OK && f == 100000.0f, "f64 as f32");
    CHECK(gaze_gguf_get_bool(g, "t.bool", &bl) == GAZE_OK && bl, "bool");
    CHECK(gaze_gguf_get_u64(g, "t.u64", &u64) == GAZE_OK && u64 == 1ull << 40, "u64");
    CHECK(gaze_gguf_get_u32(g, "t.u64", &u32) == GAZE_ERR_FORMAT, "u64 2^40 as u32 must fail");
    CHECK(gaze_gguf_get_i64(g, "t.i64", &i64) == GAZE_OK && i64 == -5, "i64");
    // wrong types name the key, offset and both types
    CHECK(gaze_gguf_get_u32(g, "general.architecture", &u32) == GAZE_ERR_FORMAT &&
          strstr(gaze_last_error(), "'general.architecture' at offset 24: type STRING, expected UINT32"),
          "wrong type message: %s", gaze_last_error());
    CHECK(gaze_gguf_get_str(g, "t.u8", &s, &len) == GAZE_ERR_FORMAT, "u8 as string must fail");
    CHECK(gaze_gguf_get_bool(g, "t.u8", &bl) == GAZE_ERR_FORMAT, "u8 as bool must fail");
    CHECK(gaze_gguf_get_f32(g, "t.i32", &f) == GAZE_ERR_FORMAT, "i32 as f32 must fail");
    CHECK(gaze_gguf_get_u32(g, "no.such.key", &u32) == GAZE_ERR_FORMAT &&
          strstr(gaze_last_error(), "'no.such.key' is missing"), "missing key: %s", gaze_last_error());
    CHECK(gaze_gguf_find_key(g, "t.ints") >= 0 && gaze_gguf_find_key(g, "t.int") < 0, "find_key");

    // arrays
    enum gaze_gguf_type et;
    int64_t n;
    CHECK(gaze_gguf_get_arr(g, "t.strs", &et, &n) == GAZE_OK && et == GAZE_GGUF_TYPE_STRING && n == 3, "arr info");
    const struct gaze_gguf_str * items;
    CHECK(gaze_gguf_get_arr_str(g, "t.strs", &items, &n) == GAZE_OK && n == 3, "arr str");
    if (n == 3) {
        CHECK(!strcmp(items[0].s, "a") && items[0].len == 1, "strs[0]");
        CHECK(!strcmp(items[1].s, "bc") && items[1].len == 2, "strs[1]");
        CHECK(items[2].len == 3 && !memcmp(items[2].s, "d\0e", 4), "strs[2] keeps its NUL and length");
    }
    int32_t ints[4];
    int64_t longs[4];
    CHECK(gaze_gguf_get_arr_i32(g, "t.ints", ints, 4) == GAZE_OK && ints[0] == 1 && ints[1] == -2 &&
          ints[3] == 2147483647, "arr i32");
    CHECK(gaze_gguf_get_arr_i64(g, "t.ints", longs, 4) == GAZE_OK && longs[1] == -2, "arr i64");
    CHECK(gaze_gguf_get_arr_i32(g, "t.ints", ints, 3) == GAZE_ERR_FORMAT &&
          strstr(gaze_last_error(), "array has 4 elements, expected 3"), "arr length mismatch: %s", gaze_last_error());
    float fl[4];
    CHECK(gaze_gguf_get_arr_f32(g, "t.ints", fl, 4) == GAZE_ERR_FORMAT &&
          strstr(gaze_last_error(), "type ARRAY of INT32, expected ARRAY of FLOAT32"), "arr wrong type: %s", gaze_last_error());
    CHECK(gaze_gguf_get_arr_str(g, "t.ints", &items, &n) == GAZE_ERR_FORMAT, "ints as strings must fail");
    CHECK(gaze_gguf_get_arr_i32(g, "t.bools", ints, 3) == GAZE_ERR_FORMAT, "bools as ints must fail");

    // tensors
    const struct gaze_gguf_tensor * a = gaze_gguf_find_tensor(g, "a.weight");
    const struct gaze_gguf_tensor * bt = gaze_gguf_find_tensor(g, "b.weight");
    const struct gaze_gguf_tensor * c = gaze_gguf_find_tensor(g, "c.weight");
    CHECK(a && bt && c && !gaze_gguf_find_tensor(g, "d.weight"), "find_tensor");
    if (a && bt && c) {
        CHECK(a->type == GAZE_TYPE_F32 && a->n_dims == 2 && a->ne[0] == 8 && a->ne[1] == 2 && a->ne[2] == 1 &&
              a->nbytes == 64 && a->n_elements == 16, "a.weight info");
        CHECK(bt->type == GAZE_TYPE_Q4_1 && bt->ne[0] == 64 && bt->nbytes == 80, "b.weight info");
        CHECK(c->type == GAZE_TYPE_Q8_0 && c->n_dims == 1 && c->nbytes == 34, "c.weight info");
        CHECK((const uint8_t *)a->data == b.p + gaze_gguf_data_offset(g), "a data pointer");
        CHECK((size_t)((const uint8_t *)bt->data - b.p) % gaze_gguf_alignment(g) == 0, "b data aligned");
        float v[16];
        memcpy(v, a->data, 64);
        CHECK(v[3] == 1.5f, "a data value %g", v[3]);
        CHECK(gaze_gguf_tensor_at(g, 2) == c && gaze_gguf_tensor_at(g, 3) == NULL, "tensor_at");
    }
    // optional data scan: clean here; a NaN block scale in c.weight is reported
    CHECK(gaze_gguf_check_data(g) == GAZE_OK, "check_data on a clean file: %s", gaze_last_error());
    if (c) {
        uint8_t * cd = b.p + ((const uint8_t *)c->data - b.p);
        const uint8_t save0 = cd[0], save1 = cd[1];
        cd[0] = 0x00; cd[1] = 0x7E;   // f16 NaN
        CHECK(gaze_gguf_check_data(g) == GAZE_ERR_NUMERIC &&
              strstr(gaze_last_error(), "tensor 'c.weight' block 0 at offset") &&
              strstr(gaze_last_error(), "block scale is NaN or Inf"), "NaN scale: %s", gaze_last_error());
        cd[0] = save0; cd[1] = save1;
        float inf = INFINITY;
        uint8_t * ad = b.p + ((const uint8_t *)a->data - b.p);
        float keep;
        memcpy(&keep, ad + 12, 4);
        memcpy(ad + 12, &inf, 4);
        CHECK(gaze_gguf_check_data(g) == GAZE_ERR_NUMERIC && strstr(gaze_last_error(), "tensor 'a.weight' block 3"),
              "Inf value: %s", gaze_last_error());
        memcpy(ad + 12, &keep, 4);
    }
    // info printer
    char * out = NULL;
    size_t out_len = 0;
    FILE * mf = open_memstream(&out, &out_len);
    gaze_gguf_print_info(g, mf);
    fclose(mf);
    CHECK(out && strstr(out, "\"general.architecture\" = \"llama\"") && strstr(out, "Q4_1") &&
          strstr(out, "[STRING × 3]") && strstr(out, "\"d\\x00e\""), "print_info output:\n%s", out ? out : "");
    free(out);
    gaze_gguf_free(g);
    free(b.p);
}

// A ~1 KB file declaring 2^40-byte strings, arrays and tensors: rejected without allocating.
static void test_huge_declarations(void) {
    struct rusage ru;
    static const enum mut huge[] = { M_NTENSORS_HUGE, M_NKV_HUGE, M_KEY_LEN_CAP, M_STR_LEN_CAP,
                                     M_ARRAY_COUNT_HUGE, M_ARRAY_STR_COUNT_HUGE, M_NAME_LEN_HUGE,
                                     M_NE_OVERFLOW, M_NBYTES_OVERFLOW };
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        struct wbuf b;
        gen(huge[i], &b);
        CHECK(b.n < 1200, "file %zu is %zu bytes", i, b.n);
        struct gaze_gguf * g = NULL;
        CHECK(gaze_gguf_open_buffer(b.p, b.n, "huge.gguf", &g) != GAZE_OK, "huge %zu accepted", i);
        free(b.p);
    }
    // a big valid tensor declaration over a tiny data section (ne = 2^20 × 2^20 F32)
    struct wbuf b = { 0 };
    w_bytes(&b, "GGUF", 4); w_u32(&b, 3); w_u64(&b, 1); w_u64(&b, 0);
    w_str(&b, "big"); w_u32(&b, 2); w_u64(&b, 1u << 20); w_u64(&b, 1u << 20); w_u32(&b, 0); w_u64(&b, 0);
    struct gaze_gguf * g = NULL;
    CHECK(gaze_gguf_open_buffer(b.p, b.n, "big.gguf", &g) == GAZE_ERR_FORMAT &&
          strstr(gaze_last_error(), "beyond the end of the file"), "4 TiB tensor: %s", gaze_last_error());
    free(b.p);
    getrusage(RUSAGE_SELF, &ru);
    printf("peak RSS after huge-declaration files: %ld KiB\n", ru.ru_maxrss);
    CHECK(ru.ru_maxrss < 64 * 1024, "peak RSS %ld KiB >= 64 MiB", ru.ru_maxrss);
}

static void test_real_model(void) {
    const char * home = getenv("GAZE_HOME");
    char path[1024];
    if (home) snprintf(path, sizeof path, "%s/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", home);
    else snprintf(path, sizeof path, "%s/.cache/gaze/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", getenv("HOME"));
    struct gaze_gguf * g = NULL;
    enum gaze_status st = gaze_gguf_open(path, &g);
    CHECK(st == GAZE_OK, "cannot open %s: %s (run scripts/fetch-test-models)", path, gaze_last_error());
    if (st) return;
    uint32_t v;
    CHECK(gaze_gguf_version(g) == 3, "version");
    CHECK(gaze_gguf_get_u32(g, "llama.block_count", &v) == GAZE_OK && v == 30, "block_count");
    CHECK(gaze_gguf_get_u32(g, "llama.attention.head_count", &v) == GAZE_OK && v == 9, "heads");
    CHECK(gaze_gguf_get_u32(g, "llama.attention.head_count_kv", &v) == GAZE_OK && v == 3, "kv heads");
    CHECK(gaze_gguf_get_u32(g, "llama.embedding_length", &v) == GAZE_OK && v == 576, "n_embd");
    uint32_t vocab = 0;
    CHECK(gaze_gguf_get_u32(g, "llama.vocab_size", &vocab) == GAZE_OK && vocab == 49152, "vocab_size");
    float base;
    CHECK(gaze_gguf_get_f32(g, "llama.rope.freq_base", &base) == GAZE_OK && base == 100000.0f, "rope base %g", base);
    const char * s;
    CHECK(gaze_gguf_get_str(g, "tokenizer.ggml.pre", &s, NULL) == GAZE_OK && !strcmp(s, "smollm"), "pre");
    const struct gaze_gguf_str * toks;
    int64_t n_tok = 0;
    CHECK(gaze_gguf_get_arr_str(g, "tokenizer.ggml.tokens", &toks, &n_tok) == GAZE_OK && n_tok == vocab,
          "tokens %lld", (long long)n_tok);
    if (n_tok > 2) CHECK(!strcmp(toks[0].s, "<|endoftext|>") && !strcmp(toks[1].s, "<|im_start|>"), "token 0/1: %s %s", toks[0].s, toks[1].s);
    int32_t * tt = malloc((size_t)n_tok * 4);
    CHECK(gaze_gguf_get_arr_i32(g, "tokenizer.ggml.token_type", tt, n_tok) == GAZE_OK, "token_type: %s", gaze_last_error());
    free(tt);
    int64_t n_merges = 0;
    CHECK(gaze_gguf_get_arr_str(g, "tokenizer.ggml.merges", &toks, &n_merges) == GAZE_OK && n_merges == 48900, "merges");
    // tensors
    CHECK(gaze_gguf_n_tensors(g) == 272, "n_tensors %lld", (long long)gaze_gguf_n_tensors(g));
    int hist[64] = { 0 };
    for (int64_t i = 0; i < gaze_gguf_n_tensors(g); i++) {
        const struct gaze_gguf_tensor * t = gaze_gguf_tensor_at(g, i);
        hist[t->type]++;
        CHECK((const uint8_t *)t->data + t->nbytes <= (const uint8_t *)gaze_gguf_tensor_at(g, 0)->data -
              gaze_gguf_data_offset(g) + gaze_gguf_file_size(g), "tensor %s inside file", t->name);
    }
    printf("SmolLM2 tensor types: Q4_1 %d, Q8_0 %d, F32 %d\n", hist[GAZE_TYPE_Q4_1], hist[GAZE_TYPE_Q8_0], hist[GAZE_TYPE_F32]);
    CHECK(hist[GAZE_TYPE_Q4_1] == 210 && hist[GAZE_TYPE_Q8_0] == 1 && hist[GAZE_TYPE_F32] == 61, "histogram");
    const struct gaze_gguf_tensor * e = gaze_gguf_find_tensor(g, "token_embd.weight");
    CHECK(e && e->type == GAZE_TYPE_Q8_0 && e->ne[0] == 576 && e->ne[1] == vocab, "token_embd");
    const struct gaze_gguf_tensor * k = gaze_gguf_find_tensor(g, "blk.0.attn_k.weight");
    CHECK(k && k->type == GAZE_TYPE_Q4_1 && k->ne[0] == 576 && k->ne[1] == 192 && k->nbytes == 576 / 32 * 20 * 192, "attn_k");
    CHECK(gaze_gguf_find_tensor(g, "output.weight") == NULL, "tied embeddings: no output.weight");
    CHECK(gaze_gguf_check_data(g) == GAZE_OK, "check_data on SmolLM2: %s", gaze_last_error());
    char * out = NULL;
    size_t out_len = 0;
    FILE * mf = open_memstream(&out, &out_len);
    gaze_gguf_print_info(g, mf);
    fclose(mf);
    CHECK(out && strstr(out, "Q4_1        210") && strstr(out, "[STRING × 49152]") &&
          strstr(out, "\"llama.block_count\" = 30 (UINT32)"), "info:\n%.3000s", out ? out : "");
    free(out);
    gaze_gguf_free(g);
}

int main(void) {
    test_huge_declarations();   // first: peak RSS is process-wide
    test_malformed();
    test_truncation();
    test_valid(M_NONE);
    test_valid(M_ALIGN_64);
    test_valid(M_V2);
    test_real_model();
    return check_summary("test_gguf");
}

// GGUF reader on arbitrary bytes (gaze_gguf_open_buffer). A file that opens must be safe to
// index: every getter on every key, every tensor's data inside the buffer, lookups agreeing
// with the index, the data scan and `gaze info` printing all run here.
#include "fuzz_common.h"

static FILE * g_null;

int LLVMFuzzerInitialize(int * argc, char *** argv) {
    fuzz_setup();
    g_null = fopen("/dev/null", "w");
    return 0;
}

static void exercise_key(const struct gaze_gguf * g, int64_t i) {
    const char * key = gaze_gguf_key(g, i);
    FUZZ_REQUIRE(key && *key, "kv %lld has no key", (long long)i);
    FUZZ_REQUIRE(gaze_gguf_find_key(g, key) == i, "find_key('%s') != %lld", key, (long long)i);
    enum gaze_gguf_type t = gaze_gguf_kv_type(g, i);
    FUZZ_REQUIRE(t >= GAZE_GGUF_TYPE_UINT8 && t <= GAZE_GGUF_TYPE_FLOAT64, "kv type %d", (int)t);
    (void)gaze_gguf_type_name(t);
    union { uint32_t u32; int32_t i32; uint64_t u64; int64_t i64; float f; bool b; } v;
    const char * s;
    size_t len;
    // Every typed getter on every key: wrong types are errors, never reinterpretations.
    (void)gaze_gguf_get_u32(g, key, &v.u32);
    (void)gaze_gguf_get_i32(g, key, &v.i32);
    (void)gaze_gguf_get_u64(g, key, &v.u64);
    (void)gaze_gguf_get_i64(g, key, &v.i64);
    (void)gaze_gguf_get_f32(g, key, &v.f);
    (void)gaze_gguf_get_bool(g, key, &v.b);
    if (gaze_gguf_get_str(g, key, &s, &len) == GAZE_OK) {
        FUZZ_REQUIRE(t == GAZE_GGUF_TYPE_STRING, "get_str on type %d", (int)t);
        FUZZ_REQUIRE(s[len] == 0, "string not NUL-terminated");
        volatile char sum = 0;   // touch every byte: ASan sees a short allocation
        for (size_t k = 0; k < len; k++) sum ^= s[k];
        (void)sum;
    }
    enum gaze_gguf_type et;
    int64_t n;
    if (gaze_gguf_get_arr(g, key, &et, &n) == GAZE_OK) {
        FUZZ_REQUIRE(t == GAZE_GGUF_TYPE_ARRAY && n >= 0 && n == gaze_gguf_kv_count(g, i), "array count");
        FUZZ_REQUIRE(et == gaze_gguf_kv_elem_type(g, i), "array element type");
        const struct gaze_gguf_str * items;
        int64_t ns;
        if (gaze_gguf_get_arr_str(g, key, &items, &ns) == GAZE_OK) {
            FUZZ_REQUIRE(ns == n, "string array count");
            volatile char sum = 0;
            for (int64_t k = 0; k < ns; k++) {
                FUZZ_REQUIRE(items[k].s[items[k].len] == 0, "array string not NUL-terminated");
                for (size_t c = 0; c < items[k].len; c++) sum ^= items[k].s[c];
            }
            (void)sum;
        }
        // numeric copies (the file's own count, bounded by the input size anyway); a wrong
        // count must be refused without touching out
        if (n <= (1 << 20)) {
            void * out = malloc((size_t)(n ? n : 1) * 8);
            (void)gaze_gguf_get_arr_i32(g, key, out, n);
            (void)gaze_gguf_get_arr_i64(g, key, out, n);
            (void)gaze_gguf_get_arr_f32(g, key, out, n);
            int64_t small;
            FUZZ_REQUIRE(n == 0 || gaze_gguf_get_arr_i64(g, key, &small, n + 1) != GAZE_OK, "count mismatch accepted");
            free(out);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    uint8_t * buf = fuzz_dup(data, size);
    struct gaze_gguf * g = (struct gaze_gguf *)0x1;
    enum gaze_status s = gaze_gguf_open_buffer(buf, size, "fuzz.gguf", &g);
    if (s != GAZE_OK) {
        fuzz_check_failure(s, "gguf open");
        FUZZ_REQUIRE(g == NULL, "out not NULL on failure");
        free(buf);
        return 0;
    }
    FUZZ_REQUIRE(g != NULL, "no object");
    FUZZ_REQUIRE(gaze_gguf_version(g) == 2 || gaze_gguf_version(g) == 3, "version");
    const size_t align = gaze_gguf_alignment(g), doff = gaze_gguf_data_offset(g);
    FUZZ_REQUIRE(align && !(align & (align - 1)) && align <= GAZE_GGUF_MAX_ALIGNMENT, "alignment %zu", align);
    // (with no tensor data the aligned data offset may lie past the end, as in ggml)
    FUZZ_REQUIRE(doff % align == 0, "data offset %zu", doff);
    FUZZ_REQUIRE(gaze_gguf_file_size(g) == size, "file size");
    for (int64_t i = 0; i < gaze_gguf_n_kv(g); i++) exercise_key(g, i);
    (void)gaze_gguf_find_key(g, "");
    (void)gaze_gguf_find_key(g, "general.architecture");

    size_t prev_end = 0;
    for (int64_t i = 0; i < gaze_gguf_n_tensors(g); i++) {
        const struct gaze_gguf_tensor * t = gaze_gguf_tensor_at(g, i);
        FUZZ_REQUIRE(t && t->name, "tensor %lld", (long long)i);
        const size_t nl = strlen(t->name);
        FUZZ_REQUIRE(nl >= 1 && nl < GAZE_GGUF_MAX_NAME, "name length %zu", nl);
        FUZZ_REQUIRE(gaze_gguf_find_tensor(g, t->name) == t, "find_tensor('%s')", t->name);
        FUZZ_REQUIRE(t->n_dims >= 1 && t->n_dims <= 4, "n_dims %d", t->n_dims);
        int64_t ne = 1;
        for (int d = 0; d < 4; d++) {
            FUZZ_REQUIRE(t->ne[d] >= 0 && (d < t->n_dims || t->ne[d] == 1), "ne[%d] = %lld", d, (long long)t->ne[d]);
            FUZZ_REQUIRE(!__builtin_mul_overflow(ne, t->ne[d], &ne), "ne product overflows");
        }
        FUZZ_REQUIRE(ne == t->n_elements, "n_elements");
        FUZZ_REQUIRE(gaze_type_supported(t->type), "unsupported type %d opened", (int)t->type);
        const int64_t bs = gaze_type_block_size(t->type);
        FUZZ_REQUIRE(bs > 0 && t->ne[0] % bs == 0, "block size");
        const size_t row = gaze_type_row_bytes(t->type, t->ne[0]);
        FUZZ_REQUIRE(t->ne[0] == 0 || row * (size_t)(t->n_elements / t->ne[0]) == t->nbytes, "nbytes");
        FUZZ_REQUIRE(t->offset % align == 0 && t->offset >= prev_end, "offset %zu", t->offset);
        FUZZ_REQUIRE((const uint8_t *)t->data == buf + doff + t->offset, "data pointer");
        FUZZ_REQUIRE(doff + t->offset + t->nbytes <= size, "tensor '%s' ends past the buffer", t->name);
        prev_end = t->offset + t->nbytes;
        // read first and last byte (ASan checks they are inside the heap copy)
        if (t->nbytes) {
            volatile uint8_t x = ((const uint8_t *)t->data)[0] ^ ((const uint8_t *)t->data)[t->nbytes - 1];
            (void)x;
        }
        // dequantize a bounded prefix of rows through the kernels
        if (t->ne[0] > 0 && t->ne[0] <= 4096 && t->nbytes >= row) {
            float * f = malloc((size_t)t->ne[0] * sizeof *f);
            enum gaze_status ds = gaze_dequantize(t->type, t->data, f, t->ne[0]);
            FUZZ_REQUIRE(ds == GAZE_OK, "dequantize: %s", gaze_last_error());
            free(f);
        }
    }
    FUZZ_REQUIRE(gaze_gguf_tensor_at(g, gaze_gguf_n_tensors(g)) == NULL, "tensor_at out of range");
    FUZZ_REQUIRE(gaze_gguf_tensor_at(g, -1) == NULL, "tensor_at(-1)");
    s = gaze_gguf_check_data(g);
    if (s) fuzz_check_failure(s, "check_data");
    gaze_gguf_print_info(g, g_null);
    gaze_gguf_free(g);
    free(buf);
    return 0;
}

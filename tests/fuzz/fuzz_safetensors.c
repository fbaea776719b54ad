// safetensors reader on arbitrary bytes (gaze_safetensors_open_buffer). A file that opens must
// keep every promise of gaze.h: tensors in data order, contiguous from the data start to the
// end of the buffer, sizes = elements x dtype, lookups by name agreeing with the index, and the
// f32 conversions reading only the tensor's bytes.
#include "fuzz_common.h"
#include "core/core.h"

int LLVMFuzzerInitialize(int * argc, char *** argv) {
    fuzz_setup();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    uint8_t * buf = fuzz_dup(data, size);
    struct gaze_safetensors * st = (struct gaze_safetensors *)0x1;
    enum gaze_status s = gaze_safetensors_open_buffer(&st, buf, size, "fuzz.safetensors");
    if (s != GAZE_OK) {
        fuzz_check_failure(s, "safetensors open");
        FUZZ_REQUIRE(st == NULL, "out not NULL on failure");
        free(buf);
        return 0;
    }
    FUZZ_REQUIRE(size >= 8, "opened a %zu-byte file", size);
    uint64_t hlen;
    memcpy(&hlen, buf, 8);
    FUZZ_REQUIRE(hlen <= GAZE_ST_MAX_HEADER && 8 + hlen <= size, "header length %llu", (unsigned long long)hlen);
    const int64_t n = gaze_safetensors_n_tensors(st);
    size_t expect = 8 + (size_t)hlen;
    for (int64_t i = 0; i < n; i++) {
        const struct gaze_st_tensor * t = gaze_safetensors_tensor(st, i);
        FUZZ_REQUIRE(t && t->name, "tensor %lld", (long long)i);
        FUZZ_REQUIRE(gaze_safetensors_find(st, t->name) == t, "find('%s')", t->name);
        FUZZ_REQUIRE(strlen(t->name) <= GAZE_ST_MAX_NAME, "name length");
        FUZZ_REQUIRE(t->dtype >= 0 && t->dtype < GAZE_DTYPE_COUNT, "dtype %d", (int)t->dtype);
        FUZZ_REQUIRE(t->n_dims >= 0 && t->n_dims <= GAZE_ST_MAX_DIMS, "n_dims %d", t->n_dims);
        int64_t ne = 1;
        bool zero = false;
        for (int d = 0; d < t->n_dims; d++) {
            FUZZ_REQUIRE(t->shape[d] >= 0, "shape[%d]", d);
            zero |= t->shape[d] == 0;
        }
        for (int d = 0; d < t->n_dims && !zero; d++)
            FUZZ_REQUIRE(!__builtin_mul_overflow(ne, t->shape[d], &ne), "shape product overflows");
        if (zero) ne = 0;
        FUZZ_REQUIRE(ne == t->n_elements, "n_elements %lld vs %lld", (long long)ne, (long long)t->n_elements);
        unsigned __int128 bits = (unsigned __int128)(uint64_t)ne * (unsigned)gaze_dtype_bits(t->dtype);
        FUZZ_REQUIRE(bits % 8 == 0 && (size_t)(bits / 8) == t->n_bytes, "n_bytes %zu", t->n_bytes);
        FUZZ_REQUIRE(t->file_offset == expect, "tensor '%s' at %zu, expected %zu (gap/overlap)", t->name, t->file_offset, expect);
        FUZZ_REQUIRE((const uint8_t *)t->data == buf + t->file_offset, "data pointer");
        expect += t->n_bytes;
        FUZZ_REQUIRE(expect <= size, "tensor '%s' ends past the buffer", t->name);
        if (t->n_bytes) {
            volatile uint8_t x = ((const uint8_t *)t->data)[0] ^ ((const uint8_t *)t->data)[t->n_bytes - 1];
            (void)x;
        }
        // conversions on small tensors (any alignment; the mapping's tail is the heap copy's end)
        if (t->n_elements <= (1 << 16)) {
            float * f = malloc((size_t)(t->n_elements ? t->n_elements : 1) * sizeof *f);
            s = gaze_st_tensor_to_f32(t, f, t->n_elements);
            const bool floaty = t->dtype == GAZE_DTYPE_F32 || t->dtype == GAZE_DTYPE_F16 ||
                                t->dtype == GAZE_DTYPE_BF16 || t->dtype == GAZE_DTYPE_F64;
            FUZZ_REQUIRE((s == GAZE_OK) == floaty, "to_f32 on %s: %s", gaze_dtype_name(t->dtype), gaze_status_name(s));
            if (s) fuzz_check_failure(s, "to_f32");
            if (t->n_elements > 0) FUZZ_REQUIRE(gaze_st_tensor_to_f32(t, f, t->n_elements - 1) != GAZE_OK, "wrong n accepted");
            free(f);
            const float * view;
            float * owned;
            s = gaze_st_tensor_as_f32(t, &view, &owned);
            if (s == GAZE_OK) FUZZ_REQUIRE(view != NULL || t->n_elements == 0, "as_f32 view");
            else fuzz_check_failure(s, "as_f32");
            gaze_free_aligned(owned);
        }
    }
    FUZZ_REQUIRE(expect == size, "data ends at %zu, file at %zu (trailing bytes accepted)", expect, size);
    FUZZ_REQUIRE(gaze_safetensors_tensor(st, n) == NULL && gaze_safetensors_tensor(st, -1) == NULL, "tensor out of range");
    for (int64_t i = 0; i < gaze_safetensors_n_metadata(st); i++) {
        const char * k = gaze_safetensors_metadata_key(st, i), * v = gaze_safetensors_metadata_value(st, i);
        FUZZ_REQUIRE(k && v, "metadata %lld", (long long)i);
        FUZZ_REQUIRE(gaze_safetensors_metadata(st, k) != NULL, "metadata lookup '%s'", k);
    }
    (void)gaze_safetensors_find(st, "");
    (void)gaze_safetensors_metadata(st, "format");
    gaze_safetensors_free(st);
    free(buf);
    return 0;
}

// Quantized types: half/bfloat16 conversions (exhaustive), dequantization bitwise against the
// gguf Python package (synthetic blocks and rows of the real SmolLM2 file), reference
// quantizers (bitwise against gguf-py, RMSE within ggml's thresholds), and
// gaze_quant_linear_forward on every ISA path and thread count against the scalar integer
// reference, a float reference and the unquantized product.
#include "check.h"
#include "gaze.h"
#include "kernels/quant.h"
#include <cpuid.h>
#include <immintrin.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static uint64_t g_rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd_u32(void) {
    g_rng ^= g_rng << 13; g_rng ^= g_rng >> 7; g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng >> 11);
}
static float rnd_unif(void) { return (float)((rnd_u32() >> 8) * (1.0 / 16777216.0)); }
static float rnd_normal(void) {
    float u1 = rnd_unif() + 1e-7f, u2 = rnd_unif();
    return sqrtf(-2.0f * logf(u1)) * cosf(6.2831853f * u2);
}

static uint32_t f2u(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static bool same_bits(float a, uint32_t b) {
    float fb;
    memcpy(&fb, &b, 4);
    return f2u(a) == b || (isnan(a) && isnan(fb));
}

// ---- half / bfloat16 ---------------------------------------------------------------------------

__attribute__((target("f16c"))) static uint16_t hw_f32_to_f16(float f) { return (uint16_t)_cvtss_sh(f, 0); }
__attribute__((target("f16c"))) static float hw_f16_to_f32(uint16_t h) { return _cvtsh_ss(h); }

static bool cpu_has_f16c(void) {   // CPUID.1:ECX bit 29 (clang's __builtin_cpu_supports lacks "f16c")
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && (c >> 29 & 1);
}

static void test_half(void) {
    int bad = 0, bad_rt = 0;
    const bool f16c = cpu_has_f16c();
    for (uint32_t h = 0; h < 65536; h++) {
        const float f = quant_f16_to_f32((uint16_t)h);
        // F16C quiets signalling NaNs; gaze keeps the payload (as numpy does): NaN-equal is enough
        if (f16c && !same_bits(f, f2u(hw_f16_to_f32((uint16_t)h)))) bad++;
        if (!isnan(f) && quant_f32_to_f16(f) != h) bad_rt++;
    }
    CHECK(bad == 0, "%d f16->f32 mismatches vs F16C", bad);
    CHECK(bad_rt == 0, "%d f16 round-trip mismatches", bad_rt);
    // f32 -> f16 rounding vs hardware on random bit patterns and on every tie
    int bad_r = 0;
    for (int i = 0; i < 2000000 && f16c; i++) {
        uint32_t u = rnd_u32() ^ (rnd_u32() << 21);
        if (i & 1) u = (u & 0xFFFFE000u) | 0x1000u;   // exact ties at the f16 rounding point
        float f;
        memcpy(&f, &u, 4);
        if (isnan(f)) continue;
        if (quant_f32_to_f16(f) != hw_f32_to_f16(f)) bad_r++;
    }
    CHECK(bad_r == 0, "%d f32->f16 rounding mismatches vs F16C", bad_r);
    CHECK(quant_f32_to_f16(65520.0f) == 0x7C00 && quant_f32_to_f16(65519.0f) == 0x7BFF, "f16 overflow edge");
    CHECK(quant_f32_to_bf16(1.0f) == 0x3F80 && quant_bf16_to_f32(0x3F80) == 1.0f, "bf16 1.0");
    CHECK((quant_f32_to_bf16(NAN) & 0x7FC0) == 0x7FC0, "bf16 NaN stays NaN");
}

// ---- fixtures from gguf-py ---------------------------------------------------------------------

static uint8_t * hex_decode(const char * hex, size_t * n) {
    const size_t len = strlen(hex) / 2;
    uint8_t * out = malloc(len ? len : 1);
    for (size_t i = 0; i < len; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
    *n = len;
    return out;
}

static enum gaze_type type_by_name(const char * s) {
    for (int c = 0; c < 64; c++)
        if (gaze_type_supported((enum gaze_type)c) && !strcmp(gaze_type_name((enum gaze_type)c), s))
            return (enum gaze_type)c;
    return (enum gaze_type)-1;
}

static void test_fixtures(void) {
    const char * src = getenv("GAZE_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/quant_dequant.json", src ? src : ".");
    json_error_t err;
    json_t * doc = json_load_file(path, 0, &err);
    CHECK(doc != NULL, "cannot load %s: %s", path, err.text);
    if (!doc) return;

    // synthetic blocks: dequantization bitwise equal
    json_t * syn = json_object_get(doc, "synthetic");
    size_t i;
    json_t * e;
    int n_syn = 0;
    json_array_foreach(syn, i, e) {
        const char * tn = json_string_value(json_object_get(e, "type"));
        const enum gaze_type t = type_by_name(tn);
        const int64_t n = json_integer_value(json_object_get(e, "n"));
        size_t nbytes;
        uint8_t * raw = hex_decode(json_string_value(json_object_get(e, "bytes")), &nbytes);
        json_t * bits = json_object_get(e, "out_bits");
        float * out = malloc((size_t)n * 4);
        CHECK(gaze_dequantize(t, raw, out, n) == GAZE_OK, "%s dequantize: %s", tn, gaze_last_error());
        CHECK(nbytes == gaze_type_row_bytes(t, n), "%s: fixture has %zu bytes", tn, nbytes);
        int bad = 0;
        for (int64_t j = 0; j < n; j++)
            if (!same_bits(out[j], (uint32_t)json_integer_value(json_array_get(bits, (size_t)j)))) {
                if (bad++ < 3) fprintf(stderr, "  %s[%lld] = %.9g\n", tn, (long long)j, out[j]);
            }
        CHECK(bad == 0, "%s: %d of %lld dequantized values differ from gguf-py", tn, bad, (long long)n);
        free(out);
        free(raw);
        n_syn++;
    }
    CHECK(n_syn == 9, "synthetic cases %d", n_syn);

    // reference quantizers: bytes equal to gguf-py's
    json_t * qz = json_object_get(doc, "quantize");
    json_array_foreach(qz, i, e) {
        const char * tn = json_string_value(json_object_get(e, "type"));
        const enum gaze_type t = type_by_name(tn);
        const int64_t n = json_integer_value(json_object_get(e, "n"));
        json_t * in = json_object_get(e, "in_bits");
        float * x = malloc((size_t)n * 4);
        for (int64_t j = 0; j < n; j++) {
            uint32_t u = (uint32_t)json_integer_value(json_array_get(in, (size_t)j));
            memcpy(x + j, &u, 4);
        }
        size_t nbytes;
        uint8_t * want = hex_decode(json_string_value(json_object_get(e, "bytes")), &nbytes);
        uint8_t * got = calloc(1, nbytes);
        CHECK(gaze_quantize(t, x, got, n) == GAZE_OK, "%s quantize", tn);
        int bad = 0;
        for (size_t j = 0; j < nbytes; j++) bad += got[j] != want[j];
        CHECK(bad == 0, "%s: %d of %zu quantized bytes differ from gguf-py", tn, bad, nbytes);
        free(x);
        free(want);
        free(got);
    }

    // rows of the real SmolLM2 file, read through gaze's GGUF reader
    const char * home = getenv("GAZE_HOME");
    char mpath[1024];
    if (home) snprintf(mpath, sizeof mpath, "%s/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", home);
    else snprintf(mpath, sizeof mpath, "%s/.cache/gaze/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", getenv("HOME"));
    struct gaze_gguf * g = NULL;
    CHECK(gaze_gguf_open(mpath, &g) == GAZE_OK, "open %s: %s", mpath, gaze_last_error());
    json_t * real = json_object_get(doc, "real");
    int n_rows = 0;
    if (g) json_array_foreach(real, i, e) {
        const char * name = json_string_value(json_object_get(e, "tensor"));
        const int64_t row = json_integer_value(json_object_get(e, "row"));
        const int64_t n = json_integer_value(json_object_get(e, "n"));
        const struct gaze_gguf_tensor * t = gaze_gguf_find_tensor(g, name);
        CHECK(t && t->ne[0] == n && row < t->ne[1], "tensor %s", name);
        if (!t) continue;
        CHECK(!strcmp(gaze_type_name(t->type), json_string_value(json_object_get(e, "type"))), "%s type", name);
        const size_t rb = gaze_type_row_bytes(t->type, n);
        float * out = malloc((size_t)n * 4);
        CHECK(gaze_dequantize(t->type, (const uint8_t *)t->data + (size_t)row * rb, out, n) == GAZE_OK, "deq %s", name);
        json_t * bits = json_object_get(e, "out_bits");
        int bad = 0;
        for (int64_t j = 0; j < n; j++)
            bad += !same_bits(out[j], (uint32_t)json_integer_value(json_array_get(bits, (size_t)j)));
        CHECK(bad == 0, "%s row %lld: %d values differ from gguf-py", name, (long long)row, bad);
        free(out);
        n_rows++;
    }
    printf("fixture: %d synthetic types, %d real rows compared bitwise\n", n_syn, n_rows);
    CHECK(n_rows == 10, "real rows %d", n_rows);
    gaze_gguf_free(g);
    json_decref(doc);
}

// Q5_K dequantization bitwise equal to gguf-py's (tests/reference/gen_q5k_fixture.py).
static void test_q5k_fixture(void) {
    const char * src = getenv("GAZE_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/quant_q5k.json", src ? src : ".");
    json_error_t err;
    json_t * doc = json_load_file(path, 0, &err);
    CHECK(doc != NULL, "cannot load %s: %s", path, err.text);
    if (!doc) return;
    const int64_t n = json_integer_value(json_object_get(doc, "n"));
    size_t nbytes;
    uint8_t * raw = hex_decode(json_string_value(json_object_get(doc, "bytes")), &nbytes);
    json_t * bits = json_object_get(doc, "out_bits");
    CHECK(n > 0 && nbytes == gaze_type_row_bytes(GAZE_TYPE_Q5_K, n), "Q5_K fixture: %zu bytes for %lld values", nbytes, (long long)n);
    float * out = malloc((size_t)n * 4);
    CHECK(gaze_dequantize(GAZE_TYPE_Q5_K, raw, out, n) == GAZE_OK, "Q5_K dequantize: %s", gaze_last_error());
    int bad = 0;
    for (int64_t j = 0; j < n; j++)
        if (!same_bits(out[j], (uint32_t)json_integer_value(json_array_get(bits, (size_t)j))))
            if (bad++ < 3) fprintf(stderr, "  Q5_K[%lld] = %.9g\n", (long long)j, out[j]);
    CHECK(bad == 0, "Q5_K: %d of %lld dequantized values differ from gguf-py", bad, (long long)n);
    printf("fixture: Q5_K %lld values compared bitwise\n", (long long)n);
    free(out);
    free(raw);
    json_decref(doc);
}

// ---- round trips (ggml test-quantize-fns metrics) ------------------------------------------------

static float array_rmse(const float * a, const float * b, size_t n) {
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += (double)(a[i] - b[i]) * (a[i] - b[i]);
    return sqrtf((float)sum) / (float)n;
}

static void test_round_trip(void) {
    const enum gaze_type types[] = { GAZE_TYPE_F16, GAZE_TYPE_BF16, GAZE_TYPE_Q4_0, GAZE_TYPE_Q4_1,
                                     GAZE_TYPE_Q5_0, GAZE_TYPE_Q5_1, GAZE_TYPE_Q8_0, GAZE_TYPE_Q4_K,
                                     GAZE_TYPE_Q5_K, GAZE_TYPE_Q6_K };
    enum { N = 32 * 128 };
    static float x[N], y[N], out[N];
    static uint8_t q[N * 4];
    for (int i = 0; i < N; i++) { x[i] = 0.1f + 2 * cosf((float)i); y[i] = 0.1f + 2 * cosf((float)i + 1.0f); }
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        const enum gaze_type t = types[k];
        CHECK(gaze_quantize(t, x, q, N) == GAZE_OK && gaze_dequantize(t, q, out, N) == GAZE_OK, "%s", gaze_type_name(t));
        const float rmse = array_rmse(x, out, N);
        CHECK(rmse < 0.002f, "%s round-trip error %g >= 0.002", gaze_type_name(t), rmse);
        // quantized dot product (weights x quantized, activations y quantized on the fly)
        float dot = 0, ref = 0;
        CHECK(gaze_quant_linear_forward(q, t, 1, N, y, 1, &dot, 1) == GAZE_OK, "%s dot", gaze_type_name(t));
        for (int i = 0; i < N; i++) ref += x[i] * y[i];
        const float derr = fabsf(dot - ref) / N;
        CHECK(derr < 0.02f, "%s dot product error %g >= 0.02", gaze_type_name(t), derr);
        printf("  %-5s round-trip %.6f  dot error %.6f\n", gaze_type_name(t), rmse, derr);
    }
}

// ---- linear forward ------------------------------------------------------------------------------

// Random weights [n_out, n_in] of type t: half quantized from normal data, half random bytes
// with sane scale fields (reaching every code, e.g. Q8_0's -128).
static void *make_weights(enum gaze_type t, int64_t n_out, int64_t n_in) {
    const size_t rb = gaze_type_row_bytes(t, n_in);
    uint8_t * w = malloc(rb * (size_t)n_out);
    float * row = malloc((size_t)n_in * 4);
    for (int64_t r = 0; r < n_out; r++) {
        for (int64_t i = 0; i < n_in; i++) row[i] = rnd_normal() * 0.05f;
        gaze_quantize(t, row, w + (size_t)r * rb, n_in);
        if ((r & 1) && t != GAZE_TYPE_F32 && t != GAZE_TYPE_F16 && t != GAZE_TYPE_BF16) {
            const int64_t bs = (int64_t)gaze_type_block_bytes(t), nbk = n_in / gaze_type_block_size(t);
            for (int64_t b = 0; b < nbk; b++) {
                uint8_t * blk = w + (size_t)r * rb + (size_t)(b * bs);
                uint8_t keep[4];
                const int off = t == GAZE_TYPE_Q6_K ? 208 : 0, nk = (t == GAZE_TYPE_Q4_1 || t == GAZE_TYPE_Q5_1 || t == GAZE_TYPE_Q4_K || t == GAZE_TYPE_Q5_K) ? 4 : 2;
                memcpy(keep, blk + off, (size_t)nk);
                for (int64_t j = 0; j < bs; j++) blk[j] = (uint8_t)rnd_u32();
                memcpy(blk + off, keep, (size_t)nk);
            }
        }
    }
    free(row);
    return w;
}

// K-quant weights whose super-block scales take extreme f16 values (largest finite, smallest
// subnormal, zero, negative, one), one draw per super-block.
static void extreme_k_scales(enum gaze_type t, uint8_t * w, int64_t n_out, int64_t n_in) {
    static const uint16_t ext[] = { 0x7BFF, 0x0001, 0x0000, 0xFBFF, 0x3C00, 0x0400, 0x8001 };
    const size_t bs = gaze_type_block_bytes(t);
    const int64_t nblk = n_out * (n_in / 256);
    for (int64_t b = 0; b < nblk; b++) {
        uint8_t * blk = w + (size_t)b * bs;
        const uint16_t d = ext[rnd_u32() % 7], dm = ext[rnd_u32() % 7];
        if (t == GAZE_TYPE_Q6_K) memcpy(blk + 208, &d, 2);
        else { memcpy(blk, &d, 2); memcpy(blk + 2, &dm, 2); }
    }
}

// extreme: 1 = extreme K-quant scales with unit activations; 2 = the same with activation rows
// of magnitude 1e-30 .. 1e30 (products may overflow to ±Inf / NaN: bits must still agree)
struct lcase { enum gaze_type t; int64_t n_out, n_in, T; int extreme; };

static bool is_kq(enum gaze_type t) { return t == GAZE_TYPE_Q4_K || t == GAZE_TYPE_Q5_K || t == GAZE_TYPE_Q6_K; }

static void run_linear_case(const struct lcase * c, const enum gaze_isa * isas, int n_isas) {
    const char * tn = gaze_type_name(c->t);
    void * w = make_weights(c->t, c->n_out, c->n_in);
    if (c->extreme) extreme_k_scales(c->t, w, c->n_out, c->n_in);
    float * x = malloc((size_t)(c->T * c->n_in) * 4);
    for (int64_t i = 0; i < c->T * c->n_in; i++) x[i] = rnd_normal();
    if (c->extreme == 2) {
        static const float mags[] = { 1e-30f, 1e30f, 1e-3f, 3e4f };
        for (int64_t t = 0; t < c->T; t++)
            for (int64_t i = 0; i < c->n_in; i++) x[t * c->n_in + i] *= mags[t % 4];
    }
    if (c->T > 2) { x[3] = 40.0f; for (int64_t i = 0; i < c->n_in; i++) x[c->n_in + i] = 0.0f; }   // outlier, zero row
    const size_t rb = gaze_type_row_bytes(c->t, c->n_in);

    // references: the scalar integer oracle on the same quantized activations, a float64
    // product of dequantized weights with dequantized activations, and the unquantized one
    struct quant_act act;
    void * mem = gaze_alloc_aligned(quant_act_bytes(c->t, c->T, c->n_in) + 64);
    quant_act_init(&act, c->t, x, c->T, c->n_in, mem, 1);
    float * wd = malloc((size_t)(c->n_out * c->n_in) * 4);
    for (int64_t r = 0; r < c->n_out; r++) gaze_dequantize(c->t, (uint8_t *)w + (size_t)r * rb, wd + r * c->n_in, c->n_in);
    float * xd = malloc((size_t)(c->T * c->n_in) * 4);
    for (int64_t t = 0; t < c->T; t++)
        for (int64_t i = 0; i < c->n_in; i++) {
            float v;
            if (act.f) v = act.f[t * c->n_in + i];
            else if (act.k) { const struct block_q8_k * b = act.k + t * (c->n_in / 256) + i / 256; v = b->d * b->qs[i % 256]; }
            else v = act.d[t * act.nb + i / 32] * act.qs[t * act.ld_qs + i];
            xd[t * c->n_in + i] = v;
        }
    float * ref = malloc((size_t)(c->T * c->n_out) * 4);
    double * fref = malloc((size_t)(c->T * c->n_out) * 8);
    double * mag = malloc((size_t)(c->T * c->n_out) * 8);
    double err2 = 0, norm2 = 0;
    int bad_ref = 0;
    for (int64_t t = 0; t < c->T; t++)
        for (int64_t r = 0; r < c->n_out; r++) {
            ref[t * c->n_out + r] = quant_dot_row_ref((uint8_t *)w + (size_t)r * rb, c->t, &act, t);
            double s = 0, m = 0, u = 0;
            for (int64_t i = 0; i < c->n_in; i++) {
                s += (double)wd[r * c->n_in + i] * xd[t * c->n_in + i];
                m += fabs((double)wd[r * c->n_in + i] * xd[t * c->n_in + i]);
                u += (double)wd[r * c->n_in + i] * x[t * c->n_in + i];
            }
            fref[t * c->n_out + r] = s;
            mag[t * c->n_out + r] = m;
            if (!(c->T > 2 && t == 0)) {   // token 0 holds a 40σ outlier: exactness checks only
                err2 += (s - u) * (s - u);
                norm2 += u * u;
            }
            // the scalar oracle itself against float64 (K-quant activation scale is 1/iscale,
            // so allow a few ulps more there)
            if (!c->extreme && fabs(ref[t * c->n_out + r] - s) > 2e-5 * m + 1e-6) bad_ref++;
        }
    CHECK(bad_ref == 0, "%s [%lld,%lld] T=%lld: scalar oracle off float64 reference in %d outputs", tn,
          (long long)c->n_out, (long long)c->n_in, (long long)c->T, bad_ref);
    const double rel = sqrt(err2 / (norm2 + 1e-30));
    // a statistical bound: only meaningful over several outputs
    CHECK(c->extreme || c->T * c->n_out < 8 || rel <= 0.02, "%s [%lld,%lld] T=%lld: activation quantization error %g > 0.02", tn,
          (long long)c->n_out, (long long)c->n_in, (long long)c->T, rel);

    float * y = malloc((size_t)(c->T * c->n_out) * 4);
    for (int k = 0; k < n_isas; k++) {
        gaze_set_isa(isas[k]);
        for (int nt = 1; nt <= 2; nt++) {
            for (int64_t i = 0; i < c->T * c->n_out; i++) y[i] = NAN;
            enum gaze_status st = gaze_quant_linear_forward(w, c->t, c->n_out, c->n_in, x, c->T, y, nt);
            CHECK(st == GAZE_OK, "%s forward: %s", tn, gaze_last_error());
            int bad = 0;
            double worst = 0;
            if (is_kq(c->t)) {
                // K-quants: integer sums and the oracle's f32 operation order on every ISA: bitwise
                for (int64_t i = 0; i < c->T * c->n_out; i++)
                    if (!same_bits(y[i], f2u(ref[i]))) {
                        if (bad++ < 3) fprintf(stderr, "  out %lld: %.9g vs oracle %.9g\n", (long long)i, y[i], ref[i]);
                    }
                CHECK(bad == 0, "%s%s [%lld,%lld] T=%lld isa=%s threads=%d: %d outputs not bitwise equal to the scalar oracle",
                      tn, c->extreme ? " (extreme scales)" : "", (long long)c->n_out, (long long)c->n_in, (long long)c->T,
                      gaze_isa_name(isas[k]), nt, bad);
                continue;
            }
            for (int64_t i = 0; i < c->T * c->n_out; i++) {
                const double d = fabs((double)y[i] - ref[i]);
                const double tol = 2e-5 * mag[i] + 1e-6;
                if (!(d <= tol)) bad++;
                if (d / (mag[i] + 1e-9) > worst) worst = d / (mag[i] + 1e-9);
            }
            CHECK(bad == 0, "%s [%lld,%lld] T=%lld isa=%s threads=%d: %d outputs off the scalar oracle (worst rel %g)",
                  tn, (long long)c->n_out, (long long)c->n_in, (long long)c->T, gaze_isa_name(isas[k]), nt, bad, worst);
        }
    }
    gaze_set_isa(isas[n_isas - 1]);
    free(w); free(x); free(wd); free(xd); free(ref); free(fref); free(mag); free(y);
    gaze_free_aligned(mem);
}

static void test_linear(void) {
    enum gaze_isa isas[3];
    int n = 0;
    const enum gaze_isa best = gaze_isa_active();
    isas[n++] = GAZE_ISA_SCALAR;
    if (best >= GAZE_ISA_AVX2) isas[n++] = GAZE_ISA_AVX2;
    if (best >= GAZE_ISA_AVX512) isas[n++] = GAZE_ISA_AVX512;
    printf("ISA paths tested:");
    for (int i = 0; i < n; i++) printf(" %s", gaze_isa_name(isas[i]));
    printf(" (avx512 kernel usable: %s)\n", quant_avx512_usable() ? "yes" : "no: falls back to avx2");
    const enum gaze_type q32[] = { GAZE_TYPE_Q4_0, GAZE_TYPE_Q4_1, GAZE_TYPE_Q5_0, GAZE_TYPE_Q5_1,
                                   GAZE_TYPE_Q8_0, GAZE_TYPE_F16, GAZE_TYPE_BF16, GAZE_TYPE_F32 };
    const int64_t shapes[][3] = { { 1, 32, 1 }, { 17, 64, 3 }, { 33, 96, 5 }, { 16, 576, 1 },
                                  { 37, 576, 7 }, { 40, 1536, 17 }, { 24, 576, 70 }, { 9, 16416, 2 } };
    int cases = 0;
    for (size_t k = 0; k < sizeof q32 / sizeof q32[0]; k++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            struct lcase c = { q32[k], shapes[s][0], shapes[s][1], shapes[s][2], 0 };
            run_linear_case(&c, isas, n);
            cases++;
        }
    // K-quants: row counts around the 4/2/1-row tiles and 16-row thread groups, odd multiples
    // of the 256 super-block, T = 1 (generation) up to past the 64-token block; some with
    // extreme scales
    const enum gaze_type kq[] = { GAZE_TYPE_Q4_K, GAZE_TYPE_Q5_K, GAZE_TYPE_Q6_K };
    const int64_t kshapes[][4] = { { 1, 256, 1, 0 }, { 2, 256, 2, 0 }, { 3, 768, 3, 0 }, { 5, 256, 1, 0 },
                                   { 7, 1280, 5, 0 }, { 9, 768, 9, 0 }, { 33, 512, 6, 0 }, { 20, 768, 4, 0 },
                                   { 37, 2304, 1, 0 }, { 13, 256, 70, 0 }, { 48, 1536, 17, 0 }, { 15, 512, 64, 0 },
                                   { 6, 768, 1, 1 }, { 11, 256, 7, 1 }, { 17, 512, 8, 2 }, { 4, 1280, 1, 2 } };
    for (size_t k = 0; k < sizeof kq / sizeof kq[0]; k++)
        for (size_t s = 0; s < sizeof kshapes / sizeof kshapes[0]; s++) {
            struct lcase c = { kq[k], kshapes[s][0], kshapes[s][1], kshapes[s][2], (int)kshapes[s][3] };
            run_linear_case(&c, isas, n);
            cases++;
        }
    printf("linear cases: %d (x %d ISAs x 2 thread counts)\n", cases, n);
}

// Pre-packed weights (the generation path): same results as the scalar oracle for every T.
static void test_packed(void) {
    const enum gaze_type types[] = { GAZE_TYPE_Q4_0, GAZE_TYPE_Q4_1, GAZE_TYPE_Q5_0, GAZE_TYPE_Q5_1,
                                     GAZE_TYPE_Q8_0, GAZE_TYPE_F16, GAZE_TYPE_Q4_K, GAZE_TYPE_Q5_K, GAZE_TYPE_Q6_K };
    const int64_t shapes[][3] = { { 16, 64, 1 }, { 37, 96, 1 }, { 50, 576, 1 }, { 33, 1536, 3 }, { 21, 576, 9 } };
    int n = 0;
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            const enum gaze_type t = types[k];
            int64_t n_out = shapes[s][0], n_in = shapes[s][1], T = shapes[s][2];
            if (is_kq(t)) n_in = s & 1 ? 768 : 512;
            void * w = make_weights(t, n_out, n_in);
            float * x = malloc((size_t)(T * n_in) * 4);
            float * y = malloc((size_t)(T * n_out) * 4);
            float * ref = malloc((size_t)(T * n_out) * 4);
            for (int64_t i = 0; i < T * n_in; i++) x[i] = rnd_normal();
            struct gaze_quant_packed p;
            CHECK(gaze_quant_pack_init(&p, w, t, n_out, n_in) == GAZE_OK, "pack %s: %s", gaze_type_name(t), gaze_last_error());
            // scalar oracle through the raw path on the scalar ISA
            const enum gaze_isa best = gaze_isa_active();
            gaze_set_isa(GAZE_ISA_SCALAR);
            gaze_quant_linear_forward(w, t, n_out, n_in, x, T, ref, 1);
            gaze_set_isa(best);
            for (int nt = 1; nt <= 2; nt++) {
                CHECK(gaze_quant_linear_forward_packed(&p, x, T, y, nt) == GAZE_OK, "packed forward");
                int bad = 0;
                // K-quants, and every quantized type once packed: bitwise (F16: the raw path)
                const bool bitwise = is_kq(t) || (p.data != NULL && t != GAZE_TYPE_F16);
                for (int64_t i = 0; i < T * n_out; i++)
                    if (bitwise ? !same_bits(y[i], f2u(ref[i])) : !(fabsf(y[i] - ref[i]) <= 2e-5f * (fabsf(ref[i]) + 1.0f))) bad++;
                CHECK(bad == 0, "packed %s [%lld,%lld] T=%lld threads=%d: %d outputs differ (packed data: %s)",
                      gaze_type_name(t), (long long)n_out, (long long)n_in, (long long)T, nt, bad, p.data ? "yes" : "no");
            }
            if (t != GAZE_TYPE_F16) CHECK(p.data != NULL || !quant_avx512_usable() || gaze_isa_active() < GAZE_ISA_AVX512,
                             "%s was not packed on an AVX-512 VNNI CPU", gaze_type_name(t));
            // lowering the ISA after packing falls back to the raw blocks
            gaze_set_isa(GAZE_ISA_AVX2 <= best ? GAZE_ISA_AVX2 : GAZE_ISA_SCALAR);
            CHECK(gaze_quant_linear_forward_packed(&p, x, T, y, 1) == GAZE_OK, "packed forward (lower ISA)");
            int bad = 0;
            for (int64_t i = 0; i < T * n_out; i++) if (!(fabsf(y[i] - ref[i]) <= 2e-5f * (fabsf(ref[i]) + 1.0f))) bad++;
            CHECK(bad == 0, "packed %s on lowered ISA: %d outputs differ", gaze_type_name(t), bad);
            gaze_set_isa(best);
            gaze_quant_pack_free(&p);
            free(w); free(x); free(y); free(ref);
            n++;
        }
    printf("packed cases: %d\n", n);
}

// Every packed layout of the 32-block types that this CPU can run (the AVX2 one, chosen under an
// AVX2 ISA, and the AVX-512 VNNI one where usable): bitwise equal to the scalar oracle
// (quant_dot_row_ref on the same quantized activations) for row counts that leave partial
// 8-row halves and 16-row groups, T = 1 (generation), 2, 3, 7 and 64 (prompt tiles and their
// tails), 1 and 2 threads; activations of extreme magnitude (products may overflow: the bits
// must still agree); the raw path (on-the-fly packing for T >= 3) and gaze_linear_forward_many
// give the same bits.
static void test_packed_q32(void) {
    const enum gaze_isa best = gaze_isa_active();
    enum gaze_isa isas[2];
    int nisa = 0;
    if (best >= GAZE_ISA_AVX2) isas[nisa++] = GAZE_ISA_AVX2;
    if (best >= GAZE_ISA_AVX512 && quant_avx512_usable()) isas[nisa++] = GAZE_ISA_AVX512;
    if (nisa == 0) { printf("packed q32: no AVX2 on this CPU, nothing packed\n"); return; }
    const enum gaze_type types[] = { GAZE_TYPE_Q4_0, GAZE_TYPE_Q4_1, GAZE_TYPE_Q5_0, GAZE_TYPE_Q5_1, GAZE_TYPE_Q8_0 };
    const int64_t shapes[][2] = { { 1, 32 }, { 9, 96 }, { 23, 64 }, { 37, 576 }, { 50, 160 }, { 16, 1536 } };
    const int64_t Ts[] = { 1, 2, 3, 7, 64 };
    int cases = 0;
    for (int ki = 0; ki < nisa; ki++) {
        gaze_set_isa(isas[ki]);
        const int want_kind = isas[ki] == GAZE_ISA_AVX512 ? QUANT_PACK_AVX512 : QUANT_PACK_AVX2;
        for (size_t k = 0; k < sizeof types / sizeof types[0]; k++)
            for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
                const enum gaze_type t = types[k];
                const int64_t n_out = shapes[s][0], n_in = shapes[s][1];
                const size_t rb = gaze_type_row_bytes(t, n_in);
                void * w = make_weights(t, n_out, n_in);
                struct gaze_quant_packed p;
                CHECK(gaze_quant_pack_init(&p, w, t, n_out, n_in) == GAZE_OK, "pack %s: %s", gaze_type_name(t), gaze_last_error());
                CHECK(p.data != NULL && p.kind == want_kind, "%s [%lld,%lld] isa=%s: packed kind %d, want %d",
                      gaze_type_name(t), (long long)n_out, (long long)n_in, gaze_isa_name(isas[ki]), p.kind, want_kind);
                for (size_t ti = 0; ti < sizeof Ts / sizeof Ts[0]; ti++) {
                    const int64_t T = Ts[ti];
                    float * x = malloc((size_t)(T * n_in) * 4);
                    for (int64_t i = 0; i < T * n_in; i++) x[i] = rnd_normal();
                    if (s == 2)   // extreme magnitudes per token
                        for (int64_t tt = 0; tt < T; tt++)
                            for (int64_t i = 0; i < n_in; i++) x[tt * n_in + i] *= (float[]){ 1e-30f, 1e30f, 1e-3f, 3e4f }[tt % 4];
                    if (T > 2) for (int64_t i = 0; i < n_in; i++) x[n_in + i] = 0.0f;   // a zero row
                    struct quant_act act;
                    void * mem = gaze_alloc_aligned(quant_act_bytes(t, T, n_in) + 64);
                    quant_act_init(&act, t, x, T, n_in, mem, 1);
                    float * ref = malloc((size_t)(T * n_out) * 4);
                    float * y = malloc((size_t)(T * n_out) * 4);
                    for (int64_t tt = 0; tt < T; tt++)
                        for (int64_t r = 0; r < n_out; r++)
                            ref[tt * n_out + r] = quant_dot_row_ref((uint8_t *)w + (size_t)r * rb, t, &act, tt);
                    for (int nt = 1; nt <= 2; nt++)
                        for (int path = 0; path < 3; path++) {
                            if (path == 1 && T < 3) continue;   // raw blocks below T = 3: the unpacked kernel
                            for (int64_t i = 0; i < T * n_out; i++) y[i] = -12345.0f;
                            enum gaze_status st;
                            if (path == 0) st = gaze_quant_linear_forward_packed(&p, x, T, y, nt);
                            else if (path == 1) st = gaze_quant_linear_forward(w, t, n_out, n_in, x, T, y, nt);
                            else {
                                const struct gaze_quant_packed * pp[2] = { &p, &p };
                                float * y2 = malloc((size_t)(T * n_out) * 4);
                                float * ys[2] = { y2, y };
                                st = quant_linear_forward_packed_many(2, pp, x, T, ys, nt) ? GAZE_OK : GAZE_ERR_INVALID_ARG;
                                int bad2 = 0;
                                for (int64_t i = 0; i < T * n_out && st == GAZE_OK; i++) bad2 += !same_bits(y2[i], f2u(ref[i]));
                                CHECK(bad2 == 0, "packed many (first) %s: %d outputs differ", gaze_type_name(t), bad2);
                                free(y2);
                            }
                            CHECK(st == GAZE_OK, "packed %s path %d: %s", gaze_type_name(t), path, gaze_last_error());
                            int bad = 0;
                            for (int64_t i = 0; i < T * n_out; i++)
                                if (!same_bits(y[i], f2u(ref[i]))) {
                                    if (bad++ < 3) fprintf(stderr, "  out %lld: %.9g vs oracle %.9g\n", (long long)i, y[i], ref[i]);
                                }
                            CHECK(bad == 0, "packed %s [%lld,%lld] T=%lld isa=%s threads=%d path=%s: %d outputs not bitwise equal to the scalar oracle",
                                  gaze_type_name(t), (long long)n_out, (long long)n_in, (long long)T, gaze_isa_name(isas[ki]), nt,
                                  path == 0 ? "packed" : path == 1 ? "raw" : "many", bad);
                            cases++;
                        }
                    free(x); free(ref); free(y);
                    gaze_free_aligned(mem);
                }
                // packed for this ISA, then run below it: the raw blocks, still the oracle's values
                gaze_set_isa(GAZE_ISA_SCALAR);
                float xs[32 * 48], ys[50], rs[50];
                for (int64_t i = 0; i < n_in; i++) xs[i] = rnd_normal();
                CHECK(gaze_quant_linear_forward_packed(&p, xs, 1, ys, 1) == GAZE_OK &&
                      gaze_quant_linear_forward(w, t, n_out, n_in, xs, 1, rs, 1) == GAZE_OK, "scalar fallback");
                int bad = 0;
                for (int64_t i = 0; i < n_out; i++) bad += !same_bits(ys[i], f2u(rs[i]));
                CHECK(bad == 0, "packed %s run on the scalar ISA: %d outputs differ from the raw path", gaze_type_name(t), bad);
                gaze_set_isa(isas[ki]);
                gaze_quant_pack_free(&p);
                free(w);
            }
    }
    gaze_set_isa(best);
    printf("packed q32 cases: %d (layouts:%s%s)\n", cases, " avx2", nisa > 1 ? " avx512" : "");
}

// The AVX2 Q8_0 prompt tiles (quant_pack_avx2.c, q8_prompt_rows) keep each token block's 128·Σx
// in a fixed stack buffer, so long rows get shorter token blocks (n_in 4096: 32 tokens, T = 70
// spans three) and rows too long for even 4 tokens fall back to the generic tile (n_in 33024);
// both still bitwise equal to the scalar oracle, with a partial last group (21 rows).
static void test_packed_q8_long_rows(void) {
    if (gaze_isa_active() < GAZE_ISA_AVX2) { printf("packed Q8_0 long rows: no AVX2 on this CPU\n"); return; }
    const enum gaze_isa best = gaze_isa_active();
    gaze_set_isa(GAZE_ISA_AVX2);
    const enum gaze_type t = GAZE_TYPE_Q8_0;
    const int64_t shapes[][2] = { { 21, 4096 }, { 9, 33024 } };
    const int64_t Ts[] = { 2, 5, 70 };
    int cases = 0;
    for (size_t s = 0; s < 2; s++) {
        const int64_t n_out = shapes[s][0], n_in = shapes[s][1];
        const size_t rb = gaze_type_row_bytes(t, n_in);
        void * w = make_weights(t, n_out, n_in);
        struct gaze_quant_packed p;
        CHECK(gaze_quant_pack_init(&p, w, t, n_out, n_in) == GAZE_OK && p.kind == QUANT_PACK_AVX2, "pack Q8_0 [%lld,%lld]",
              (long long)n_out, (long long)n_in);
        for (size_t ti = 0; ti < sizeof Ts / sizeof Ts[0]; ti++) {
            const int64_t T = Ts[ti];
            float * x = malloc((size_t)(T * n_in) * 4), * y = malloc((size_t)(T * n_out) * 4), * ref = malloc((size_t)(T * n_out) * 4);
            for (int64_t i = 0; i < T * n_in; i++) x[i] = rnd_normal();
            struct quant_act act;
            void * mem = gaze_alloc_aligned(quant_act_bytes(t, T, n_in) + 64);
            quant_act_init(&act, t, x, T, n_in, mem, 1);
            for (int64_t tt = 0; tt < T; tt++)
                for (int64_t r = 0; r < n_out; r++) ref[tt * n_out + r] = quant_dot_row_ref((uint8_t *)w + (size_t)r * rb, t, &act, tt);
            gaze_free_aligned(mem);
            for (int nt = 1; nt <= 2; nt++) {
                for (int64_t i = 0; i < T * n_out; i++) y[i] = NAN;
                CHECK(gaze_quant_linear_forward_packed(&p, x, T, y, nt) == GAZE_OK, "Q8_0 long rows: %s", gaze_last_error());
                int bad = 0;
                for (int64_t i = 0; i < T * n_out; i++) bad += !same_bits(y[i], f2u(ref[i]));
                CHECK(bad == 0, "packed Q8_0 [%lld,%lld] T=%lld threads=%d: %d outputs not bitwise equal to the scalar oracle",
                      (long long)n_out, (long long)n_in, (long long)T, nt, bad);
                cases++;
            }
            free(x); free(y); free(ref);
        }
        gaze_quant_pack_free(&p);
        free(w);
    }
    gaze_set_isa(best);
    printf("packed Q8_0 long-row prompt cases: %d\n", cases);
}

// The AVX2 8-row K-quant layout (quant_k_avx2.c, chosen at pack time on CPUs without AVX-512
// VNNI; forced here by packing under the AVX2 ISA): bitwise equal to the scalar oracle for
// odd row counts (partial last group, odd group counts per thread), T = 1 (generation) to 64
// (prompt tiles of 4, 2, 1 tokens), 1 and 2 threads, random and extreme super-block scales;
// the packed data stays readable after the ISA is raised or lowered again.
static void test_packed_k8(void) {
    const enum gaze_isa best = gaze_isa_active();
    if (best < GAZE_ISA_AVX2) { printf("packed K-quants (AVX2): no AVX2 on this CPU, not tested\n"); return; }
    const enum gaze_type types[] = { GAZE_TYPE_Q4_K, GAZE_TYPE_Q5_K, GAZE_TYPE_Q6_K };
    const int64_t shapes[][3] = { { 1, 256, 1 }, { 7, 768, 1 }, { 9, 512, 2 }, { 17, 256, 3 }, { 33, 1536, 7 },
                                  { 45, 768, 64 }, { 23, 512, 1 }, { 5, 1280, 64 }, { 31, 256, 5 } };
    const int64_t T_all[] = { 1, 2, 3, 7, 64 };
    int n = 0;
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            for (int extreme = 0; extreme <= 1; extreme++) {
                const enum gaze_type t = types[k];
                const int64_t n_out = shapes[s][0], n_in = shapes[s][1];
                void * w = make_weights(t, n_out, n_in);
                if (extreme) extreme_k_scales(t, w, n_out, n_in);
                gaze_set_isa(GAZE_ISA_AVX2);
                struct gaze_quant_packed p;
                CHECK(gaze_quant_pack_init(&p, w, t, n_out, n_in) == GAZE_OK, "pack8 %s: %s", gaze_type_name(t), gaze_last_error());
                CHECK(p.data != NULL && p.kind == QUANT_PACK_AVX2_K8 &&
                      p.group_bytes == quant_k_pack8_sb_bytes(t) * (size_t)(n_in / 256),
                      "%s [%lld,%lld]: not packed in the AVX2 8-row layout", gaze_type_name(t), (long long)n_out, (long long)n_in);
                for (size_t ti = 0; ti < sizeof T_all / sizeof T_all[0]; ti++) {
                    const int64_t T = ti == 0 ? shapes[s][2] : T_all[ti];
                    if (ti > 0 && T == shapes[s][2]) continue;
                    float * x = malloc((size_t)(T * n_in) * 4);
                    float * y = malloc((size_t)(T * n_out) * 4);
                    float * ref = malloc((size_t)(T * n_out) * 4);
                    for (int64_t i = 0; i < T * n_in; i++) x[i] = rnd_normal() * (extreme && (i / n_in) % 2 ? 1e20f : 1.0f);
                    // the scalar oracle, one output at a time
                    struct quant_act act;
                    void * mem = gaze_alloc_aligned(quant_act_bytes(t, T, n_in) + 64);
                    quant_act_init(&act, t, x, T, n_in, mem, 1);
                    const size_t rb = gaze_type_row_bytes(t, n_in);
                    for (int64_t tt = 0; tt < T; tt++)
                        for (int64_t r = 0; r < n_out; r++)
                            ref[tt * n_out + r] = quant_dot_row_ref((const uint8_t *)w + (size_t)r * rb, t, &act, tt);
                    gaze_free_aligned(mem);
                    const enum gaze_isa isas[] = { GAZE_ISA_AVX2, best, GAZE_ISA_SCALAR };
                    for (int ii = 0; ii < 3; ii++) {
                        gaze_set_isa(isas[ii]);
                        for (int nt = 1; nt <= 2; nt++) {
                            for (int64_t i = 0; i < T * n_out; i++) y[i] = NAN;
                            CHECK(gaze_quant_linear_forward_packed(&p, x, T, y, nt) == GAZE_OK, "packed8 forward: %s", gaze_last_error());
                            int bad = 0;
                            for (int64_t i = 0; i < T * n_out; i++)
                                if (!same_bits(y[i], f2u(ref[i])) && bad++ < 3)
                                    fprintf(stderr, "  out %lld: %.9g vs oracle %.9g\n", (long long)i, y[i], ref[i]);
                            CHECK(bad == 0, "packed8 %s%s [%lld,%lld] T=%lld isa=%s threads=%d: %d outputs not bitwise equal to the scalar oracle",
                                  gaze_type_name(t), extreme ? " (extreme scales)" : "", (long long)n_out, (long long)n_in,
                                  (long long)T, gaze_isa_name(isas[ii]), nt, bad);
                            n++;
                        }
                    }
                    gaze_set_isa(best);
                    free(x); free(y); free(ref);
                }
                gaze_set_isa(best);
                gaze_quant_pack_free(&p);
                free(w);
            }
    printf("packed K-quant (AVX2 8-row layout) cases: %d\n", n);
}

// Several prepared quantized linears of one x (q, k, v) through gaze_linear_forward_many: one
// parallel region, x quantized once per kind; the same bits as one gaze_linear_forward each,
// for mixed 32-block and K types, T = 1 and T = 5, 1 and 2 threads.
static void test_forward_many(void) {
    const enum gaze_type sets[][3] = { { GAZE_TYPE_Q5_0, GAZE_TYPE_Q5_0, GAZE_TYPE_Q8_0 },
                                       { GAZE_TYPE_Q4_K, GAZE_TYPE_Q8_0, GAZE_TYPE_Q6_K },
                                       { GAZE_TYPE_Q5_K, GAZE_TYPE_Q4_0, GAZE_TYPE_Q4_1 } };
    const int64_t n_in = 512, n_out[3] = { 80, 33, 17 };
    int n = 0;
    for (size_t k = 0; k < sizeof sets / sizeof sets[0]; k++) {
        struct gaze_linear lin[3];
        const struct gaze_linear * lp[3];
        void * w[3];
        for (int i = 0; i < 3; i++) {
            w[i] = make_weights(sets[k][i], n_out[i], n_in);
            lin[i] = (struct gaze_linear){ .type = sets[k][i], .n_out = n_out[i], .n_in = n_in, .weight = w[i] };
            CHECK(gaze_linear_prepare(&lin[i]) == GAZE_OK, "prepare %s", gaze_type_name(sets[k][i]));
            lp[i] = &lin[i];
        }
        for (int64_t T = 1; T <= 5; T += 4) {
            float * x = malloc((size_t)(T * n_in) * 4);
            for (int64_t i = 0; i < T * n_in; i++) x[i] = rnd_normal();
            float * ref[3], * got[3];
            for (int i = 0; i < 3; i++) {
                ref[i] = malloc((size_t)(T * n_out[i]) * 4);
                got[i] = malloc((size_t)(T * n_out[i]) * 4);
                CHECK(gaze_linear_forward(&lin[i], x, T, ref[i], 1) == GAZE_OK, "forward");
            }
            for (int nt = 1; nt <= 2; nt++) {
                for (int i = 0; i < 3; i++) for (int64_t j = 0; j < T * n_out[i]; j++) got[i][j] = NAN;
                CHECK(gaze_linear_forward_many(3, lp, x, T, got, nt) == GAZE_OK, "forward_many: %s", gaze_last_error());
                int bad = 0;
                for (int i = 0; i < 3; i++)
                    for (int64_t j = 0; j < T * n_out[i]; j++) bad += !same_bits(got[i][j], f2u(ref[i][j]));
                CHECK(bad == 0, "forward_many %s/%s/%s T=%lld threads=%d: %d outputs differ from one call each",
                      gaze_type_name(sets[k][0]), gaze_type_name(sets[k][1]), gaze_type_name(sets[k][2]),
                      (long long)T, nt, bad);
                n++;
            }
            for (int i = 0; i < 3; i++) { free(ref[i]); free(got[i]); }
            free(x);
        }
        for (int i = 0; i < 3; i++) { gaze_linear_release(&lin[i]); free(w[i]); }
    }
    printf("forward_many cases: %d\n", n);
}

// The AVX2 and AVX-512 activation quantizers are bit-identical to the scalar one.
static void test_act_quant(void) {
    const bool avx2 = gaze_isa_active() >= GAZE_ISA_AVX2;
    const bool avx512 = gaze_isa_active() >= GAZE_ISA_AVX512 && quant_avx512_usable();
    printf("activation quantizer: scalar%s%s compared\n", avx2 ? ", avx2" : "", avx512 ? ", avx512" : "");
    if (!avx2) return;
    enum { N = 32 * 64 };
    static float x[N];
    static int8_t q1[N], q2[N];
    static float d1[N / 32], d2[N / 32], s1[N / 32], s2[N / 32];
    for (int rep = 0; rep < 50; rep++) {
        for (int i = 0; i < N; i++) x[i] = rnd_normal() * (rep % 5 == 0 ? 1e-30f : rep % 5 == 1 ? 1e20f : 1.0f);
        for (int i = 0; i < 32; i++) x[64 + i] = (float)(i - 16) * 0.5f * (127.0f / 8.0f) / 127.0f;   // ties
        for (int i = 0; i < 32; i++) x[128 + i] = 0.0f;
        x[200] = rep & 1 ? NAN : INFINITY;
        quant_act_row_q8(x, N, q1, d1, s1);
        for (int isa = 0; isa < 2; isa++) {
            if (isa == 1 && !avx512) break;
            memset(q2, 0x55, N);
            (isa ? quant_act_row_q8_avx512 : quant_act_row_q8_avx2)(x, N, q2, d2, s2);
            int bad = memcmp(q1, q2, N) != 0;
            for (int b = 0; b < N / 32; b++) bad += !same_bits(d1[b], f2u(d2[b])) || !same_bits(s1[b], f2u(s2[b]));
            CHECK(bad == 0, "rep %d: %s activation quantization differs from scalar (%d)", rep, isa ? "AVX-512" : "AVX2", bad);
        }
    }
    // Q8_K (K-quant weights): codes, bsums and d, and which signed extreme sets the scale
    enum { NK = QK_K * 8 };
    static struct block_q8_k k1[NK / QK_K], k2[NK / QK_K];
    int nk = 0;
    for (int rep = 0; rep < 60; rep++) {
        for (int i = 0; i < NK; i++) x[i] = rnd_normal() * (rep % 5 == 0 ? 1e-30f : rep % 5 == 1 ? 1e20f : 1.0f);
        for (int i = 0; i < QK_K; i++) x[i] = (float)(i % 64 - 32) * 0.25f;                   // ties at ±x.5
        for (int i = 0; i < QK_K; i++) x[QK_K + i] = 0.0f;                                    // all zero
        x[2 * QK_K + 7] = 9.0f; x[2 * QK_K + 9] = -9.0f;                                      // +max first
        x[3 * QK_K + 7] = -9.0f; x[3 * QK_K + 200] = 9.0f;                                    // -max first
        for (int i = 0; i < QK_K; i++) x[4 * QK_K + i] = (i & 1 ? -1.0f : 1.0f) * 127.0f;     // all at ±amax
        x[5 * QK_K + rep % QK_K] = rep & 1 ? NAN : (rep & 2 ? -INFINITY : INFINITY);        // non-finite
        x[6 * QK_K + rep % QK_K] = -0.0f;
        memset(k1, 0x33, sizeof k1);
        memset(k2, 0x55, sizeof k2);
        quant_act_row_q8k(x, NK, k1);
        quant_act_row_q8k_avx2(x, NK, k2);
        int bad = 0;
        for (int b = 0; b < NK / QK_K; b++)
            bad += !same_bits(k1[b].d, f2u(k2[b].d)) || memcmp(k1[b].qs, k2[b].qs, QK_K) ||
                   memcmp(k1[b].bsums, k2[b].bsums, sizeof k1[b].bsums);
        CHECK(bad == 0, "rep %d: AVX2 Q8_K activation quantization differs from scalar in %d blocks", rep, bad);
        nk++;
    }
    printf("Q8_K activation quantizer: %d rows of %d blocks, AVX2 = scalar\n", nk, NK / QK_K);
}

static void test_linear_errors(void) {
    float x[64] = { 0 }, y[4];
    uint8_t w[256] = { 0 };
    CHECK(gaze_quant_linear_forward(w, GAZE_TYPE_Q4_1, 1, 48, x, 1, y, 1) == GAZE_ERR_INVALID_ARG &&
          strstr(gaze_last_error(), "not a multiple"), "n_in %% 32: %s", gaze_last_error());
    CHECK(gaze_quant_linear_forward(w, (enum gaze_type)4, 1, 32, x, 1, y, 1) == GAZE_ERR_INVALID_ARG, "removed type");
    CHECK(gaze_quant_linear_forward(w, (enum gaze_type)11, 1, 256, x, 1, y, 1) == GAZE_ERR_UNSUPPORTED, "Q3_K");
    CHECK(gaze_quant_linear_forward(w, GAZE_TYPE_Q8_K, 1, 256, x, 1, y, 1) == GAZE_ERR_UNSUPPORTED, "Q8_K weights");
    CHECK(gaze_quant_linear_forward(w, GAZE_TYPE_Q4_0, -1, 32, x, 1, y, 1) == GAZE_ERR_INVALID_ARG, "negative");
    CHECK(gaze_quant_linear_forward(NULL, GAZE_TYPE_Q4_0, 0, 32, NULL, 1, NULL, 1) == GAZE_OK, "n_out 0");
    CHECK(gaze_quant_linear_forward(w, GAZE_TYPE_Q4_0, 1, 32, x, 1, NULL, 1) == GAZE_ERR_INVALID_ARG, "NULL y");
    CHECK(gaze_dequantize((enum gaze_type)11, w, y, 256) == GAZE_ERR_UNSUPPORTED, "dequantize Q3_K");
    CHECK(gaze_type_supported(GAZE_TYPE_Q5_K) && gaze_type_block_bytes(GAZE_TYPE_Q5_K) == 176, "Q5_K traits");
    CHECK(gaze_dequantize(GAZE_TYPE_Q4_0, w, y, 31) == GAZE_ERR_INVALID_ARG, "dequantize 31");
    CHECK(!strcmp(gaze_type_name(GAZE_TYPE_Q4_1), "Q4_1") && gaze_type_block_size(GAZE_TYPE_Q6_K) == 256 &&
          gaze_type_block_bytes(GAZE_TYPE_Q6_K) == 210 && gaze_type_row_bytes(GAZE_TYPE_Q4_1, 576) == 360 &&
          gaze_type_row_bytes(GAZE_TYPE_Q4_1, 577) == 0 && !gaze_type_supported((enum gaze_type)4), "traits");
    // a non-finite activation makes its outputs NaN instead of silently wrong
    uint8_t wq[2 * 20];
    float xr[64], yr[2];
    for (int i = 0; i < 64; i++) xr[i] = (float)i / 64;
    gaze_quantize(GAZE_TYPE_Q4_1, xr, wq, 64);
    xr[5] = INFINITY;
    CHECK(gaze_quant_linear_forward(wq, GAZE_TYPE_Q4_1, 1, 64, xr, 1, yr, 1) == GAZE_OK && isnan(yr[0]),
          "Inf activation gave %g", yr[0]);
}

int main(void) {
    printf("seed 0x%016llx\n", (unsigned long long)g_rng);
    test_half();
    test_fixtures();
    test_q5k_fixture();
    test_round_trip();
    test_linear_errors();
    test_linear();
    test_packed();
    test_packed_q32();
    test_packed_q8_long_rows();
    test_packed_k8();
    test_forward_many();
    test_act_quant();
    return check_summary("test_quant");
}

// Llama loading on tiny synthetic GGUF files written here (header, metadata with a byte-level BPE
// vocab of a few tokens and merges, F32 tensors): a well-formed file loads and its forward pass
// (prompt + generation, tied and separate output) matches a float64 reference written in this
// test (interleaved RoPE on the stored Q/K rows, GQA, SwiGLU, RMSNorm, KV cache); then variants
// with exactly one thing wrong are refused with a clear message (status and message substrings
// are asserted), and prompt + generation beyond the context is GAZE_ERR_LIMIT naming --truncate.
#include "check.h"
#include "gaze.h"
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- a minimal GGUF v3 writer ------------------------------------------------------------- */

struct buf {
    uint8_t * p;
    size_t n, cap;
};

static void put(struct buf * b, const void * src, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 256;
        b->p = realloc(b->p, b->cap);
        if (!b->p) { fprintf(stderr, "out of memory\n"); exit(2); }
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}
static void put_u32(struct buf * b, uint32_t v) { put(b, &v, 4); }
static void put_u64(struct buf * b, uint64_t v) { put(b, &v, 8); }
static void put_str(struct buf * b, const char * s) { put_u64(b, strlen(s)); put(b, s, strlen(s)); }

enum { T_U32 = 4, T_I32 = 5, T_F32 = 6, T_BOOL = 7, T_STR = 8, T_ARR = 9 };

struct kvw {              // metadata being written: the bytes and how many pairs
    struct buf b;
    uint64_t n;
};
static void kv_u32(struct kvw * w, const char * k, uint32_t v) { put_str(&w->b, k); put_u32(&w->b, T_U32); put_u32(&w->b, v); w->n++; }
static void kv_f32(struct kvw * w, const char * k, float v) { put_str(&w->b, k); put_u32(&w->b, T_F32); put(&w->b, &v, 4); w->n++; }
static void kv_bool(struct kvw * w, const char * k, bool v) { uint8_t x = v; put_str(&w->b, k); put_u32(&w->b, T_BOOL); put(&w->b, &x, 1); w->n++; }
static void kv_str(struct kvw * w, const char * k, const char * v) { put_str(&w->b, k); put_u32(&w->b, T_STR); put_str(&w->b, v); w->n++; }
static void kv_arr_str(struct kvw * w, const char * k, const char * const * v, int n) {
    put_str(&w->b, k); put_u32(&w->b, T_ARR); put_u32(&w->b, T_STR); put_u64(&w->b, (uint64_t)n);
    for (int i = 0; i < n; i++) put_str(&w->b, v[i]);
    w->n++;
}
static void kv_arr_i32(struct kvw * w, const char * k, const int32_t * v, int n) {
    put_str(&w->b, k); put_u32(&w->b, T_ARR); put_u32(&w->b, T_I32); put_u64(&w->b, (uint64_t)n);
    put(&w->b, v, (size_t)n * 4);
    w->n++;
}

/* ---- the synthetic model ------------------------------------------------------------------ */

// Vocab: three control tokens, single bytes (GPT-2 byte-level: 'Ġ' is the space), and merges.
static const char * k_tokens[] = {
    "<|endoftext|>", "<|im_start|>", "<|im_end|>",
    "a", "b", "c", "d", "e", "h", "!", "Ġ",
    "ab", "Ġa", "abc", "Ġab", "he",
};
#define N_TOK ((int)(sizeof k_tokens / sizeof *k_tokens))
static const int32_t k_types[N_TOK] = { 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 };
static const char * k_merges[] = { "Ġ a", "a b", "ab c", "Ġa b", "h e" };
#define N_MERGES ((int)(sizeof k_merges / sizeof *k_merges))

#define MAX_W 64
struct spec {                       // one synthetic file; defaults from spec_default()
    const char * arch;              // general.architecture
    const char * tok_model;         // tokenizer.ggml.model
    const char * pre;               // tokenizer.ggml.pre
    int64_t C, H, Hkv, F, L, n_ctx; // written as llama.* keys (may be absurd)
    int64_t tC, tH, tHkv, tF, tL;   // shapes of the tensors written (the valid model's)
    uint32_t bos, eos;
    int rope_dim;                   // 0: key absent
    float eps;
    bool no_eps;                    // leave out llama.attention.layer_norm_rms_epsilon
    bool separate_output;           // write output.weight (else tied to token_embd)
    const char * skip_tensor;       // this tensor is left out
    const char * bad_shape;         // this tensor gets ne[1] + 1
    bool nan_norm;                  // blk.0.attn_norm.weight[3] = NaN
    const char * const * tokens;    // [n_tokens]
    int n_tokens;
    const int32_t * types;          // [n_types]
    int n_types;
    const char * const * merges;    // [n_merges]
    int n_merges;
    bool no_tokens;                 // leave out tokenizer.ggml.tokens
};

static struct spec spec_default(void) {
    return (struct spec){
        .arch = "llama", .tok_model = "gpt2", .pre = "gpt2",
        .C = 16, .H = 4, .Hkv = 2, .F = 24, .L = 2, .n_ctx = 32,
        .tC = 16, .tH = 4, .tHkv = 2, .tF = 24, .tL = 2,
        .bos = 1, .eos = 2, .rope_dim = 0, .eps = 1e-5f,
        .tokens = k_tokens, .n_tokens = N_TOK, .types = k_types, .n_types = N_TOK,
        .merges = k_merges, .n_merges = N_MERGES,
    };
}

static uint64_t g_rng;
static float frand(void) {   // uniform in [-1, 1)
    g_rng = g_rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((g_rng >> 40) / 8388608.0 - 1.0);
}

struct tensor_w {
    char name[64];
    int64_t ne0, ne1;
    float * data;                   // [ne1, ne0]
};

// Deterministic weights of a spec (same seed for every variant so tensors agree).
static int make_tensors(const struct spec * s, struct tensor_w * t) {
    g_rng = 12345;
    const int64_t C = s->tC, d = s->tC / s->tH, F = s->tF;
    int n = 0;
#define ADD(nm, a, b, scale, offset) do { \
        snprintf(t[n].name, sizeof t[n].name, "%s", nm); t[n].ne0 = a; t[n].ne1 = b; \
        t[n].data = malloc((size_t)((a) * (b)) * sizeof(float)); \
        for (int64_t i_ = 0; i_ < (a) * (b); i_++) t[n].data[i_] = (offset) + (scale) * frand(); \
        n++; } while (0)
    ADD("token_embd.weight", C, (int64_t)N_TOK, 1.0f, 0.0f);
    ADD("output_norm.weight", C, 1, 0.2f, 1.0f);
    if (s->separate_output) ADD("output.weight", C, (int64_t)N_TOK, 0.5f, 0.0f);
    for (int64_t l = 0; l < s->tL; l++) {
        char nm[64];
#define NM(x) (snprintf(nm, sizeof nm, "blk.%lld.%s", (long long)l, x), nm)
        ADD(NM("attn_norm.weight"), C, 1, 0.2f, 1.0f);
        ADD(NM("ffn_norm.weight"), C, 1, 0.2f, 1.0f);
        ADD(NM("attn_q.weight"), C, s->tH * d, 0.6f, 0.0f);
        ADD(NM("attn_k.weight"), C, s->tHkv * d, 0.6f, 0.0f);
        ADD(NM("attn_v.weight"), C, s->tHkv * d, 0.5f, 0.0f);
        ADD(NM("attn_output.weight"), s->tH * d, C, 0.3f, 0.0f);
        ADD(NM("ffn_gate.weight"), C, F, 0.4f, 0.0f);
        ADD(NM("ffn_up.weight"), C, F, 0.4f, 0.0f);
        ADD(NM("ffn_down.weight"), F, C, 0.3f, 0.0f);
#undef NM
    }
#undef ADD
    if (s->nan_norm)
        for (int i = 0; i < n; i++) if (!strcmp(t[i].name, "blk.0.attn_norm.weight")) t[i].data[3] = NAN;
    return n;
}

static void free_tensors(struct tensor_w * t, int n) { for (int i = 0; i < n; i++) free(t[i].data); }

// The GGUF bytes of a spec.
static struct buf build(const struct spec * s) {
    struct kvw w = { 0 };
    kv_str(&w, "general.architecture", s->arch);
    kv_u32(&w, "llama.embedding_length", (uint32_t)s->C);
    kv_u32(&w, "llama.block_count", (uint32_t)s->L);
    kv_u32(&w, "llama.attention.head_count", (uint32_t)s->H);
    kv_u32(&w, "llama.attention.head_count_kv", (uint32_t)s->Hkv);
    kv_u32(&w, "llama.feed_forward_length", (uint32_t)s->F);
    kv_u32(&w, "llama.context_length", (uint32_t)s->n_ctx);
    if (!s->no_eps) kv_f32(&w, "llama.attention.layer_norm_rms_epsilon", s->eps);
    kv_f32(&w, "llama.rope.freq_base", 10000.0f);
    if (s->rope_dim) kv_u32(&w, "llama.rope.dimension_count", (uint32_t)s->rope_dim);
    kv_str(&w, "tokenizer.ggml.model", s->tok_model);
    kv_str(&w, "tokenizer.ggml.pre", s->pre);
    if (!s->no_tokens) kv_arr_str(&w, "tokenizer.ggml.tokens", s->tokens, s->n_tokens);
    kv_arr_i32(&w, "tokenizer.ggml.token_type", s->types, s->n_types);
    kv_arr_str(&w, "tokenizer.ggml.merges", s->merges, s->n_merges);
    kv_u32(&w, "tokenizer.ggml.bos_token_id", s->bos);
    kv_u32(&w, "tokenizer.ggml.eos_token_id", s->eos);
    kv_bool(&w, "tokenizer.ggml.add_bos_token", false);

    struct tensor_w t[MAX_W];
    int nt = make_tensors(s, t);
    struct buf info = { 0 }, data = { 0 };
    uint64_t n_written = 0;
    static const uint8_t zeros[32];
    for (int i = 0; i < nt; i++) {
        if (s->skip_tensor && !strcmp(t[i].name, s->skip_tensor)) continue;
        int64_t ne1 = t[i].ne1 + (s->bad_shape && !strcmp(t[i].name, s->bad_shape));
        put_str(&info, t[i].name);
        put_u32(&info, 2);
        put_u64(&info, (uint64_t)t[i].ne0);
        put_u64(&info, (uint64_t)ne1);
        put_u32(&info, 0);   // F32
        put_u64(&info, data.n);
        put(&data, t[i].data, (size_t)(t[i].ne0 * t[i].ne1) * 4);
        if (ne1 > t[i].ne1) for (int64_t k = 0; k < t[i].ne0; k++) put(&data, zeros, 4);
        while (data.n % 32) put(&data, zeros, 1);
        n_written++;
    }
    free_tensors(t, nt);
    struct buf f = { 0 };
    put(&f, "GGUF", 4);
    put_u32(&f, 3);
    put_u64(&f, n_written);
    put_u64(&f, w.n);
    put(&f, w.b.p, w.b.n);
    put(&f, info.p, info.n);
    while (f.n % 32) put(&f, zeros, 1);
    put(&f, data.p, data.n);
    free(w.b.p); free(info.p); free(data.p);
    return f;
}

static char g_dir[256];
static int g_file_no;

static const char * write_file(const struct buf * b, size_t n) {
    static char path[512];
    snprintf(path, sizeof path, "%s/m%d.gguf", g_dir, g_file_no++);
    FILE * f = fopen(path, "wb");
    if (!f || fwrite(b->p, 1, n, f) != n) { fprintf(stderr, "cannot write %s\n", path); exit(2); }
    fclose(f);
    return path;
}

static const char * write_spec(const struct spec * s) {
    struct buf b = build(s);
    const char * p = write_file(&b, b.n);
    free(b.p);
    return p;
}

/* ---- float64 reference forward ------------------------------------------------------------ */

struct ref {
    int64_t C, H, Hkv, d, F, L, V;
    struct tensor_w t[MAX_W];
    int nt;
};

static const float * W(const struct ref * r, const char * name) {
    for (int i = 0; i < r->nt; i++) if (!strcmp(r->t[i].name, name)) return r->t[i].data;
    fprintf(stderr, "reference: no tensor %s\n", name);
    exit(2);
}

static void rms(const double * x, const float * w, double * y, int64_t C, double eps) {
    double ss = 0;
    for (int64_t c = 0; c < C; c++) ss += x[c] * x[c];
    double inv = 1.0 / sqrt(ss / (double)C + eps);
    for (int64_t c = 0; c < C; c++) y[c] = x[c] * inv * w[c];
}

static void matvec(const float * Wt, const double * x, double * y, int64_t n_out, int64_t n_in) {
    for (int64_t o = 0; o < n_out; o++) {
        double s = 0;
        for (int64_t i = 0; i < n_in; i++) s += (double)Wt[o * n_in + i] * x[i];
        y[o] = s;
    }
}

static void rope(double * x, int64_t H, int64_t d, int64_t pos) {   // interleaved pairs
    for (int64_t h = 0; h < H; h++)
        for (int64_t i = 0; i < d / 2; i++) {
            double th = (double)pos * pow(10000.0, -2.0 * (double)i / (double)d);
            double a = x[h * d + 2 * i], b = x[h * d + 2 * i + 1];
            x[h * d + 2 * i] = a * cos(th) - b * sin(th);
            x[h * d + 2 * i + 1] = a * sin(th) + b * cos(th);
        }
}

// Runs ids [n] one token at a time (the causal result is the same as a batch); fills
// attn [L, H, n, n] and, per position, the top-1 next token and its margin over the runner-up.
static void ref_forward(const struct ref * r, const int32_t * ids, int64_t n, bool tied, double eps,
                        double * attn, int32_t * top1, double * margin) {
    const int64_t C = r->C, H = r->H, Hkv = r->Hkv, d = r->d, F = r->F, L = r->L, V = r->V;
    double * K = calloc((size_t)(L * n * Hkv * d), sizeof *K), * Vc = calloc((size_t)(L * n * Hkv * d), sizeof *Vc);
    double x[MAX_W * 4], h[MAX_W * 4], q[MAX_W * 4], ctx[MAX_W * 4], o[MAX_W * 4], g[MAX_W * 4], u[MAX_W * 4], sc[64];
    char nm[64];
    for (int64_t t = 0; t < n; t++) {
        const float * e = W(r, "token_embd.weight") + (int64_t)ids[t] * C;
        for (int64_t c = 0; c < C; c++) x[c] = e[c];
        for (int64_t l = 0; l < L; l++) {
#define NM(s) (snprintf(nm, sizeof nm, "blk.%lld.%s", (long long)l, s), nm)
            double * kt = K + (l * n + t) * Hkv * d, * vt = Vc + (l * n + t) * Hkv * d;
            rms(x, W(r, NM("attn_norm.weight")), h, C, eps);
            matvec(W(r, NM("attn_q.weight")), h, q, H * d, C);
            matvec(W(r, NM("attn_k.weight")), h, kt, Hkv * d, C);
            matvec(W(r, NM("attn_v.weight")), h, vt, Hkv * d, C);
            rope(q, H, d, t);
            rope(kt, Hkv, d, t);
            for (int64_t hh = 0; hh < H; hh++) {
                const int64_t hk = hh / (H / Hkv);
                double mx = -INFINITY, sum = 0;
                for (int64_t j = 0; j <= t; j++) {
                    const double * kj = K + (l * n + j) * Hkv * d + hk * d;
                    double s = 0;
                    for (int64_t i = 0; i < d; i++) s += q[hh * d + i] * kj[i];
                    sc[j] = s / sqrt((double)d);
                    if (sc[j] > mx) mx = sc[j];
                }
                for (int64_t j = 0; j <= t; j++) { sc[j] = exp(sc[j] - mx); sum += sc[j]; }
                for (int64_t i = 0; i < d; i++) ctx[hh * d + i] = 0;
                double * arow = attn + ((l * H + hh) * n + t) * n;
                for (int64_t j = 0; j < n; j++) arow[j] = 0;
                for (int64_t j = 0; j <= t; j++) {
                    const double p = sc[j] / sum;
                    arow[j] = p;
                    const double * vj = Vc + (l * n + j) * Hkv * d + hk * d;
                    for (int64_t i = 0; i < d; i++) ctx[hh * d + i] += p * vj[i];
                }
            }
            matvec(W(r, NM("attn_output.weight")), ctx, o, C, H * d);
            for (int64_t c = 0; c < C; c++) x[c] += o[c];
            rms(x, W(r, NM("ffn_norm.weight")), h, C, eps);
            matvec(W(r, NM("ffn_gate.weight")), h, g, F, C);
            matvec(W(r, NM("ffn_up.weight")), h, u, F, C);
            for (int64_t i = 0; i < F; i++) g[i] = g[i] / (1.0 + exp(-g[i])) * u[i];
            matvec(W(r, NM("ffn_down.weight")), g, o, C, F);
            for (int64_t c = 0; c < C; c++) x[c] += o[c];
#undef NM
        }
        rms(x, W(r, "output_norm.weight"), h, C, eps);
        double logits[N_TOK];
        matvec(W(r, tied ? "token_embd.weight" : "output.weight"), h, logits, V, C);
        int64_t b1 = 0, b2 = -1;
        for (int64_t v = 1; v < V; v++) if (logits[v] > logits[b1]) b1 = v;
        for (int64_t v = 0; v < V; v++) if (v != b1 && (b2 < 0 || logits[v] > logits[b2])) b2 = v;
        top1[t] = (int32_t)b1;
        margin[t] = logits[b1] - logits[b2];
    }
    free(K);
    free(Vc);
}

/* ---- helpers ------------------------------------------------------------------------------ */

static bool contains(const char * hay, const char * needle) { return hay && strstr(hay, needle) != NULL; }

// Loads path and expects status st with every substring in subs (NULL-terminated) in the message.
static void expect_load(const char * what, const char * path, enum gaze_status st, const char * const * subs) {
    struct gaze_model * m = NULL;
    gaze_clear_error();
    enum gaze_status got = gaze_model_load(&m, path);
    const char * msg = gaze_last_error();
    CHECK(got == st, "%s: got %s (%s), expected %s", what, gaze_status_name(got), msg, gaze_status_name(st));
    CHECK(m == NULL, "%s: model must be NULL on failure", what);
    for (int i = 0; subs && subs[i]; i++)
        CHECK(contains(msg, subs[i]), "%s: message \"%s\" lacks \"%s\"", what, msg, subs[i]);
    if (got == st) printf("  ok  %-34s %s: %s\n", what, gaze_status_name(got), msg);
    gaze_model_free(m);
}

#define SUBS(...) ((const char * const[]){ __VA_ARGS__, NULL })

/* ---- tests -------------------------------------------------------------------------------- */

static void test_forward(bool separate_output) {
    const char * label = separate_output ? "separate output" : "tied output";
    struct spec s = spec_default();
    s.separate_output = separate_output;
    const char * path = write_spec(&s);
    struct gaze_model * m = NULL;
    enum gaze_status st = gaze_model_load(&m, path);
    CHECK(st == GAZE_OK, "%s: load: %s", label, gaze_last_error());
    if (st) return;
    const struct gaze_model_info * info = gaze_model_info(m);
    CHECK(info->arch == GAZE_ARCH_LLAMA && info->n_layers == 2 && info->n_heads == 4 && info->n_kv_heads == 2 &&
          info->head_dim == 4 && info->n_vocab == N_TOK && info->n_ctx == 32 && info->causal,
          "%s: info L=%lld H=%lld Hkv=%lld d=%lld V=%lld ctx=%lld", label, (long long)info->n_layers,
          (long long)info->n_heads, (long long)info->n_kv_heads, (long long)info->head_dim,
          (long long)info->n_vocab, (long long)info->n_ctx);

    // "abc ab he!" -> abc, Ġab, Ġ, he, !  (merges by rank; the space before "he" has no merge)
    const char * prompt = "<|im_start|>abc ab he!";
    const int32_t want_ids[] = { 1, 13, 14, 10, 15, 9 };
    const int64_t T = 6, gen = 5;
    struct gaze_run_opts o = { 0 };
    o.generate = gen;
    struct gaze_run run;
    st = gaze_model_run(m, prompt, NULL, &o, &run);
    CHECK(st == GAZE_OK, "%s: run: %s", label, gaze_last_error());
    if (st) { gaze_model_free(m); return; }
    CHECK(run.T >= T && run.T <= T + gen, "%s: T = %lld", label, (long long)run.T);
    for (int64_t i = 0; i < T && i < run.T; i++)
        CHECK(run.token_ids[i] == want_ids[i], "%s: token %lld = %d, expected %d", label, (long long)i,
              run.token_ids[i], want_ids[i]);
    CHECK(run.n_cap_layers == 2 && run.n_heads_cap == 4 && run.Tq == run.T, "%s: capture %lld layers %lld heads %lld rows",
          label, (long long)run.n_cap_layers, (long long)run.n_heads_cap, (long long)run.Tq);

    // the reference over exactly the tokens gaze produced
    const int64_t n = run.T;
    struct ref r = { .C = s.C, .H = s.H, .Hkv = s.Hkv, .d = s.C / s.H, .F = s.F, .L = s.L, .V = N_TOK };
    r.nt = make_tensors(&s, r.t);
    double * attn = malloc((size_t)(r.L * r.H * n * n) * sizeof *attn), * margin = malloc((size_t)n * sizeof *margin);
    int32_t * top1 = malloc((size_t)n * sizeof *top1);
    ref_forward(&r, run.token_ids, n, !separate_output, s.eps, attn, top1, margin);
    // generated tokens: each is the reference's argmax after the tokens before it
    const bool ended_eos = run.n_generated > 0 && run.token_ids[n - 1] == (int32_t)s.eos;
    CHECK(run.n_generated == gen || ended_eos, "%s: generated %lld of %lld without EOS", label,
          (long long)run.n_generated, (long long)gen);
    for (int64_t t = T; t < n; t++) {
        if (margin[t - 1] > 1e-4)
            CHECK(run.token_ids[t] == top1[t - 1], "%s: generated token %lld = %d, reference %d (margin %.3g)", label,
                  (long long)t, run.token_ids[t], top1[t - 1], margin[t - 1]);
        else
            printf("  %s: generated token %lld: reference margin %.3g too small to compare\n", label, (long long)t, margin[t - 1]);
    }
    // attention of every layer, head and fed row (a trailing EOS is never fed: zero row)
    double max_err = 0;
    const int64_t rows = ended_eos ? n - 1 : n;
    for (int64_t l = 0; l < run.n_cap_layers; l++)
        for (int64_t h = 0; h < r.H; h++)
            for (int64_t i = 0; i < rows; i++)
                for (int64_t j = 0; j < n; j++) {
                    double e = fabs((double)run.layers[l].attn[(h * n + i) * n + j] - attn[((l * r.H + h) * n + i) * n + j]);
                    if (e > max_err) max_err = e;
                }
    CHECK(max_err <= 1e-5, "%s: attention max abs error %.3g vs float64 reference", label, max_err);
    // what gaze run -o saves must pass the run-file checks (values in [0, 1], rows sum to 1)
    CHECK(gaze_run_check(&run, label) == GAZE_OK, "%s: run check: %s", label, gaze_last_error());
    printf("  %s: %lld tokens (%lld generated), attention max abs err vs float64 %.2e\n", label, (long long)n,
           (long long)run.n_generated, max_err);

    // capture off gives the same tokens; exact mode is a no-op for f32 weights
    struct gaze_run run2;
    o.no_capture = true;
    CHECK(gaze_model_set_exact(m, true) == GAZE_OK, "%s: set_exact: %s", label, gaze_last_error());
    st = gaze_model_run(m, prompt, NULL, &o, &run2);
    CHECK(st == GAZE_OK, "%s: run without capture: %s", label, gaze_last_error());
    if (!st) {
        CHECK(run2.T == run.T && !memcmp(run2.token_ids, run.token_ids, (size_t)n * sizeof(int32_t)),
              "%s: capture changed the generated tokens", label);
        CHECK(run2.n_cap_layers == 0, "%s: no_capture still captured %lld layers", label, (long long)run2.n_cap_layers);
        gaze_run_free(&run2);
    }
    free(attn); free(margin); free(top1);
    free_tensors(r.t, r.nt);
    gaze_run_free(&run);
    gaze_model_free(m);
}

static void test_context_limit(void) {
    struct spec s = spec_default();   // context_length 32
    struct gaze_model * m = NULL;
    if (gaze_model_load(&m, write_spec(&s)) != GAZE_OK) { CHECK(false, "context: load: %s", gaze_last_error()); return; }
    const char * prompt = "abc ab abc ab abc ab abc ab abc ab abc ab";   // 12 tokens
    struct gaze_run run;
    struct gaze_run_opts o = { 0 };
    o.generate = 25;   // 12 + 25 > 32
    enum gaze_status st = gaze_model_run(m, prompt, NULL, &o, &run);
    CHECK(st == GAZE_ERR_LIMIT, "context: got %s, expected GAZE_ERR_LIMIT", gaze_status_name(st));
    CHECK(contains(gaze_last_error(), "--truncate") && contains(gaze_last_error(), "context length 32"),
          "context: message \"%s\"", gaze_last_error());
    printf("  ok  %-34s %s: %s\n", "prompt + generate > context", gaze_status_name(st), gaze_last_error());
    CHECK(run.T == 0 && run.token_ids == NULL, "context: run not left empty");
    // with truncate: the end of the prompt is kept so that prompt + generation fit
    o.truncate = true;
    st = gaze_model_run(m, prompt, NULL, &o, &run);
    CHECK(st == GAZE_OK, "context: truncate: %s", gaze_last_error());
    if (!st) {
        CHECK(run.T <= 32 && run.T - run.n_generated == 32 - 25, "context: truncate kept %lld prompt tokens",
              (long long)(run.T - run.n_generated));
        gaze_run_free(&run);
    }
    o.generate = 32;   // generation alone fills the context: no prompt token could stay
    st = gaze_model_run(m, prompt, NULL, &o, &run);
    CHECK(st == GAZE_ERR_LIMIT, "context: generate 32 of 32 with truncate: got %s", gaze_status_name(st));
    // pairs and empty prompts
    o = (struct gaze_run_opts){ 0 };
    st = gaze_model_run(m, "ab", "cd", &o, &run);
    CHECK(st == GAZE_ERR_INVALID_ARG && contains(gaze_last_error(), "pair"), "pair: %s %s", gaze_status_name(st), gaze_last_error());
    st = gaze_model_run(m, "", NULL, &o, &run);
    CHECK(st == GAZE_ERR_INVALID_ARG && contains(gaze_last_error(), "no tokens"), "empty: %s %s", gaze_status_name(st), gaze_last_error());
    gaze_model_free(m);
}

static void test_bad_files(void) {
    struct spec s;
#define CASE(what, mod, st, subs) do { s = spec_default(); mod; expect_load(what, write_spec(&s), st, subs); } while (0)
    CASE("missing tensor", s.skip_tensor = "blk.1.ffn_up.weight", GAZE_ERR_FORMAT,
         SUBS("blk.1.ffn_up.weight", "missing"));
    CASE("missing output_norm", s.skip_tensor = "output_norm.weight", GAZE_ERR_FORMAT, SUBS("output_norm.weight", "missing"));
    CASE("wrong tensor shape", s.bad_shape = "blk.0.attn_k.weight", GAZE_ERR_FORMAT,
         SUBS("blk.0.attn_k.weight", "ne = [16, 9", "expected [16, 8]"));
    CASE("wrong embedding shape", s.bad_shape = "token_embd.weight", GAZE_ERR_FORMAT, SUBS("token_embd.weight", "expected [16, 16]"));
    CASE("head_count % head_count_kv", s.Hkv = 3, GAZE_ERR_FORMAT, SUBS("head_count 4", "not a multiple of head_count_kv 3"));
    CASE("head_count_kv = 0", s.Hkv = 0, GAZE_ERR_FORMAT, SUBS("head_count_kv"));
    CASE("embedding_length % head_count", (s.H = 3, s.Hkv = 1), GAZE_ERR_FORMAT,
         SUBS("embedding_length 16", "not a multiple of head_count 3"));
    CASE("head_count = 0", s.H = 0, GAZE_ERR_FORMAT, SUBS("head_count", "outside"));
    CASE("block_count huge", s.L = 1000000000, GAZE_ERR_FORMAT, SUBS("block_count", "1000000000", "outside"));
    CASE("block_count > layers in file", s.L = 3, GAZE_ERR_FORMAT, SUBS("blk.2.", "missing"));
    CASE("embedding_length huge", s.C = 1u << 30, GAZE_ERR_FORMAT, SUBS("embedding_length", "outside"));
    CASE("context_length 0", s.n_ctx = 0, GAZE_ERR_FORMAT, SUBS("context_length", "outside"));
    CASE("architecture mamba", s.arch = "mamba", GAZE_ERR_UNSUPPORTED,
         SUBS("\"mamba\"", "architecture", "\"gemma3\"", "\"gpt2\""));
    // a family gaze runs reads its own keys: llama.* ones do not stand in for them
    CASE("gemma3 with llama keys", s.arch = "gemma3", GAZE_ERR_FORMAT, SUBS("gemma3.embedding_length", "missing"));
    CASE("tokenizer model rwkv", s.tok_model = "rwkv", GAZE_ERR_UNSUPPORTED, SUBS("tokenizer.ggml.model", "rwkv"));
    CASE("unknown pre-tokenizer", s.pre = "klingon", GAZE_ERR_UNSUPPORTED, SUBS("klingon"));
    CASE("missing rms epsilon", s.no_eps = true, GAZE_ERR_FORMAT, SUBS("layer_norm_rms_epsilon", "missing"));
    CASE("negative rms epsilon", s.eps = -1.0f, GAZE_ERR_FORMAT, SUBS("layer_norm_rms_epsilon"));
    CASE("odd rope dimension", s.rope_dim = 3, GAZE_ERR_FORMAT, SUBS("rope.dimension_count 3"));
    CASE("non-finite norm weight", s.nan_norm = true, GAZE_ERR_NUMERIC, SUBS("blk.0.attn_norm.weight", "non-finite"));
    CASE("missing vocab", s.no_tokens = true, GAZE_ERR_FORMAT, SUBS("tokenizer.ggml.tokens", "missing"));
    CASE("bos id out of range", s.bos = 999, GAZE_ERR_FORMAT, SUBS("bos_token_id = 999", "out of range"));
    CASE("eos id out of range", s.eos = 4000000000u, GAZE_ERR_FORMAT, SUBS("eos_token_id = 4000000000", "out of range"));
    {
        const char * merges[] = { "a b", "Ġ z" };
        CASE("merge part not a token", (s.merges = merges, s.n_merges = 2), GAZE_ERR_FORMAT, SUBS("merges[1]", "\"z\" is not a token"));
        const char * merges2[] = { "a b", "ab" };
        CASE("merge without a space", (s.merges = merges2, s.n_merges = 2), GAZE_ERR_FORMAT, SUBS("merges[1]", "no space"));
        const char * merges3[] = { "a b", "b c" };   // "bc" is not a token
        CASE("merge result not a token", (s.merges = merges3, s.n_merges = 2), GAZE_ERR_FORMAT, SUBS("merges[1]", "\"bc\" is not a token"));
    }
    {
        int32_t types[N_TOK];
        memcpy(types, k_types, sizeof types);
        types[5] = 9;
        CASE("token type 9", s.types = types, GAZE_ERR_FORMAT, SUBS("token_types[5] = 9"));
        CASE("token_type length", s.n_types = N_TOK - 1, GAZE_ERR_FORMAT, SUBS("tokenizer.ggml.token_type", "15 elements, expected 16"));
    }
    {
        const char * toks[N_TOK];
        memcpy(toks, k_tokens, sizeof toks);
        toks[4] = "a";   // duplicate of tokens[3]
        CASE("duplicate token", s.tokens = toks, GAZE_ERR_FORMAT, SUBS("tokens[4]", "duplicates tokens[3]"));
    }
#undef CASE
    // a valid file cut short: the GGUF reader refuses it before llama sees anything
    s = spec_default();
    struct buf b = build(&s);
    expect_load("truncated file", write_file(&b, b.n - 100), GAZE_ERR_FORMAT, SUBS("beyond the end of the file"));
    expect_load("truncated header", write_file(&b, 300), GAZE_ERR_FORMAT, NULL);
    free(b.p);
}

int main(void) {
    const char * tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/gaze_test_llama_XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(g_dir)) { perror("mkdtemp"); return 2; }
    printf("test_llama_errors: files in %s\n", g_dir);
    test_forward(false);
    test_forward(true);
    test_context_limit();
    test_bad_files();
    for (int i = 0; i < g_file_no; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/m%d.gguf", g_dir, i);
        unlink(p);
    }
    rmdir(g_dir);
    return check_summary("test_llama_errors");
}

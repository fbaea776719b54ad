// Limits and numerics of hostile input (issue 7) that no other test covers:
//   - NaN and ±inf in attention inputs: every output row that reads one is non-finite (the
//     value propagates), never finite garbage; rows that read none are unchanged; fully masked
//     rows stay exact zeros even with NaN in their (masked) keys — reference, fused (every ISA),
//     probe and scores;
//   - NaN and ±inf in model weights (BERT safetensors, Llama GGUF matrices): refused at load
//     (GAZE_ERR_NUMERIC naming the tensor) or at run, never a run holding NaN; finite weights
//     whose attention scores overflow f32: GAZE_ERR_NUMERIC from the run; finite scores up to
//     1e27 run and their captured rows still sum to 1;
//   - JSON nesting far past the cap in tokenizer.json and config.json: GAZE_ERR_LIMIT, no stack
//     overflow; the BPE input-size cap; over-long vocab.txt lines;
//   - tokenizer worst cases at 10^6 characters ('a', '_', random CJK) complete with sane output
//     for both tokenizers (timing is bench/tokenize.c's job: no timed asserts here).
// Needs $GAZE_HOME/models/minilm (scripts/fetch-test-models) for the WordPiece cases.
#include "check.h"
#include "gaze.h"
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t g_rng = 0x1234567ULL;
static double rndu(void) {   // xorshift64*, uniform in [0, 1)
    g_rng ^= g_rng >> 12; g_rng ^= g_rng << 25; g_rng ^= g_rng >> 27;
    return (double)((g_rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}
static float rndn(void) { return (float)(2.0 * rndu() - 1.0); }

static bool row_finite(const float * r, int64_t n) {
    for (int64_t i = 0; i < n; i++) if (!isfinite(r[i])) return false;
    return true;
}
static bool row_has_nonfinite(const float * r, int64_t n) { return !row_finite(r, n); }

static char g_tmp[256];
static const char * src_dir(void) { const char * s = getenv("GAZE_SOURCE_DIR"); return s ? s : "."; }

/* ---- attention: NaN / inf propagate, masked NaN does not --------------------------------- */

// One head, T queries and keys, d dims, key padding on the last 4 keys of a second batch row
// (batch 1 also has a fully masked query row through causal + q_offset). Poisons one input and
// checks each kernel row by row against the unpoisoned run.
enum poison { P_Q_NAN, P_K_NAN, P_V_NAN, P_Q_INF, P_K_NINF, P_V_INF, P_MASKED_K_NAN, P_MASKED_V_INF };
static const char * const k_poison_name[] = { "NaN in q", "NaN in k", "NaN in v", "+inf in q", "-inf in k",
                                              "+inf in v", "NaN in a masked key", "+inf in a masked value" };

enum kernel { K_REF, K_FUSED };

static void attn_run(enum kernel kern, const struct gaze_attn_desc * desc, float * q, float * k, float * v,
                     float * o, float * lse, int64_t T, int64_t d) {
    struct gaze_view vq = { q, T * d, T * d, d }, vk = { k, T * d, T * d, d }, vv = { v, T * d, T * d, d };
    struct gaze_view vo = { o, T * d, T * d, d };
    enum gaze_status s = kern == K_REF ? gaze_attention_reference(desc, &vq, &vk, &vv, &vo, lse)
                                       : gaze_attention_fused(desc, &vq, &vk, &vv, &vo, lse);
    CHECK(s == GAZE_OK, "attention: %s", gaze_last_error());
}

static void test_attention_poison(void) {
    const int64_t B = 2, T = 37, d = 40;
    const int64_t n = B * T * d;
    float * q = malloc((size_t)n * sizeof *q), * k = malloc((size_t)n * sizeof *k), * v = malloc((size_t)n * sizeof *v);
    float * o0 = malloc((size_t)n * sizeof *o0), * o1 = malloc((size_t)n * sizeof *o1);
    float lse0[2 * 37], lse1[2 * 37];
    uint8_t valid[2 * 37];
    for (int64_t j = 0; j < B * T; j++) valid[j] = !(j >= T && j >= 2 * T - 4);   // batch 1: last 4 keys padding
    struct gaze_attn_desc desc = gaze_attn_desc_make(B, 1, 1, T, T, d);
    desc.mask.key_valid = valid;
    desc.mask.causal = true;
    desc.mask.q_offset = -1;   // query row 0 sits before key 0: fully masked
    desc.n_threads = 1;
    const enum gaze_isa isas[] = { GAZE_ISA_SCALAR, GAZE_ISA_AVX2, GAZE_ISA_AVX512 };
    const enum gaze_isa best = gaze_isa_active();
    int n_cases = 0;
    for (int kern = K_REF; kern <= K_FUSED; kern++)
        for (size_t ii = 0; ii < 3; ii++) {
            if (kern == K_REF && ii > 0) break;   // the float64 oracle has one path
            if (isas[ii] > best) continue;
            gaze_set_isa(isas[ii]);
            for (int p = P_Q_NAN; p <= P_MASKED_V_INF; p++) {
                for (int64_t i = 0; i < n; i++) { q[i] = rndn(); k[i] = rndn(); v[i] = rndn(); }
                attn_run(kern, &desc, q, k, v, o0, lse0, T, d);
                // batch 1, row 20 / key 9 (allowed for rows >= 10), or the padded key T-2
                const int64_t b = 1, row = 20, key = 9, pad = T - 2, c = 7;
                float * qb = q + b * T * d, * kb = k + b * T * d, * vb = v + b * T * d;
                switch (p) {
                    case P_Q_NAN:        qb[row * d + c] = NAN; break;
                    case P_K_NAN:        kb[key * d + c] = NAN; break;
                    case P_V_NAN:        vb[key * d + c] = NAN; break;
                    case P_Q_INF:        qb[row * d + c] = INFINITY; break;
                    case P_K_NINF:       kb[key * d + c] = -INFINITY; break;
                    case P_V_INF:        vb[key * d + c] = INFINITY; break;
                    case P_MASKED_K_NAN: kb[pad * d + c] = NAN; break;
                    case P_MASKED_V_INF: vb[pad * d + c] = INFINITY; break;
                }
                memset(o1, 0xff, (size_t)n * sizeof *o1);
                attn_run(kern, &desc, q, k, v, o1, lse1, T, d);
                // which rows read the poison: row `row` (q), rows that see `key` (k, v), none (masked)
                bool ok_clean = true, ok_poison = true, ok_zero = true;
                int64_t bad_row = -1;
                for (int64_t bi = 0; bi < B; bi++)
                    for (int64_t i = 0; i < T; i++) {
                        const float * r0 = o0 + (bi * T + i) * d, * r1 = o1 + (bi * T + i) * d;
                        const bool masked_row = i == 0;   // causal with q_offset -1
                        bool reads = false;
                        if (bi == b && !masked_row) {
                            if (p == P_Q_NAN || p == P_Q_INF) reads = i == row;
                            else if (p == P_K_NAN || p == P_V_NAN || p == P_K_NINF || p == P_V_INF) reads = i - 1 >= key;
                        }
                        if (masked_row) {
                            for (int64_t cc = 0; cc < d; cc++) ok_zero &= r1[cc] == 0.0f;
                            ok_zero &= isinf(lse1[bi * T + i]) && lse1[bi * T + i] < 0;
                        } else if (reads) {
                            // -inf in one key component: that key's score is ±inf or NaN; either way the
                            // row cannot be the clean one. The row must show it (non-finite), except
                            // when a -inf score is a legitimate exclusion (score -inf -> weight 0).
                            bool shows = row_has_nonfinite(r1, d);
                            if (p == P_K_NINF) shows = shows || memcmp(r0, r1, (size_t)d * sizeof *r1) != 0;
                            if (!shows && bad_row < 0) bad_row = i;
                            ok_poison &= shows;
                        } else {
                            bool same = true;
                            for (int64_t cc = 0; cc < d; cc++) same &= fabsf(r1[cc] - r0[cc]) <= 1e-5f * (1.0f + fabsf(r0[cc]));
                            if (!same && bad_row < 0) bad_row = i;
                            ok_clean &= same;
                        }
                    }
                const char * kn = kern == K_REF ? "reference" : gaze_isa_name(isas[ii]);
                CHECK(ok_poison, "%s, %s: row %lld reads the poison but its output is finite garbage", kn,
                      k_poison_name[p], (long long)bad_row);
                CHECK(ok_clean, "%s, %s: row %lld does not read the poison but changed", kn, k_poison_name[p],
                      (long long)bad_row);
                CHECK(ok_zero, "%s, %s: the fully masked row is not exact zeros with lse -inf", kn, k_poison_name[p]);
                n_cases++;
            }
        }
    gaze_set_isa(best);
    printf("attention poison: %d kernel x poison cases\n", n_cases);

    // probe and scores with NaN in a masked key: masked entries exactly 0 / -inf, others finite
    for (int64_t i = 0; i < n; i++) { q[i] = rndn(); k[i] = rndn(); v[i] = rndn(); }
    k[(T + T - 2) * d + 3] = NAN;
    attn_run(K_FUSED, &desc, q, k, v, o1, lse1, T, d);
    float * P = malloc((size_t)(B * T * T) * sizeof *P), * S = malloc((size_t)(B * T * T) * sizeof *S);
    struct gaze_view vq = { q, T * d, T * d, d }, vk = { k, T * d, T * d, d };
    CHECK(gaze_attention_probe(&desc, &vq, &vk, lse1, NULL, 0, NULL, 0, P) == GAZE_OK, "probe: %s", gaze_last_error());
    CHECK(gaze_attention_scores(&desc, &vq, &vk, NULL, 0, NULL, 0, S) == GAZE_OK, "scores: %s", gaze_last_error());
    bool pz = true, sf = true;
    for (int64_t i = 0; i < T; i++)
        for (int64_t j = 0; j < T; j++) {
            const int64_t at = (T + i) * T + j;   // batch 1
            const bool allowed = i > 0 && j <= i - 1 && j < T - 4;
            if (!allowed) { pz &= P[at] == 0.0f; sf &= isinf(S[at]) && S[at] < 0; }
            else { pz &= isfinite(P[at]); sf &= isfinite(S[at]); }
        }
    CHECK(pz, "probe: NaN in a masked key leaked, or a masked weight is not 0");
    CHECK(sf, "scores: masked entries not -inf, or NaN leaked into allowed ones");
    free(P); free(S);
    free(q); free(k); free(v); free(o0); free(o1);
}

// Softmax rows: all -inf -> zeros; a NaN -> the row is NaN (not a renormalised finite row).
static void test_softmax_rows(void) {
    float x[3 * 5] = { -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY,
                       1.0f, NAN, 2.0f, 3.0f, -1.0f,
                       INFINITY, 0.0f, 1.0f, 2.0f, 3.0f };
    float y[15];
    gaze_softmax_rows(x, y, 3, 5);
    bool z = true, nan1 = false;
    for (int i = 0; i < 5; i++) { z &= y[i] == 0.0f; nan1 |= isnan(y[5 + i]); }
    CHECK(z, "softmax of an all -inf row is not zeros");
    CHECK(nan1, "softmax of a row with NaN gave a finite row");
    CHECK(row_has_nonfinite(y + 10, 5) || (y[10] == 1.0f && y[11] == 0.0f),
          "softmax of a row with +inf: neither NaN nor one-hot (%g %g %g)", y[10], y[11], y[12]);
}

/* ---- files ------------------------------------------------------------------------------ */

static void write_file(const char * dir, const char * name, const void * p, size_t n) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE * f = fopen(path, "wb");
    CHECK(f != NULL, "open %s", path);
    if (!f) return;
    if (n) fwrite(p, 1, n, f);
    fclose(f);
}

static void rm_tree(const char * dir) {
    DIR * dp = opendir(dir);
    if (!dp) { unlink(dir); return; }
    struct dirent * e;
    while ((e = readdir(dp))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        rm_tree(p);
    }
    closedir(dp);
    rmdir(dir);
}

/* ---- BERT with a poisoned weight ----------------------------------------------------------- */

enum { BC = 8, BH = 2, BL = 1, BF = 16, BP = 16 };
static const char * const k_bvocab[] = { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", "." };
#define BV ((int64_t)(sizeof k_bvocab / sizeof *k_bvocab))

// Writes a tiny BERT folder; `poison` names the tensor whose element 5 becomes `value`;
// qk_scale multiplies the query and key weights (huge but finite: scores overflow f32).
static void write_bert_scaled(const char * dir, const char * poison, float value, float qk_scale) {
    mkdir(dir, 0700);
    char cfg[512];
    snprintf(cfg, sizeof cfg, "{\"model_type\": \"bert\", \"hidden_size\": %d, \"num_attention_heads\": %d, "
             "\"num_hidden_layers\": %d, \"intermediate_size\": %d, \"vocab_size\": %lld, "
             "\"max_position_embeddings\": %d, \"type_vocab_size\": 2}", BC, BH, BL, BF, (long long)BV, BP);
    write_file(dir, "config.json", cfg, strlen(cfg));
    char vocab[256] = "";
    for (int64_t i = 0; i < BV; i++) { strcat(vocab, k_bvocab[i]); strcat(vocab, "\n"); }
    write_file(dir, "vocab.txt", vocab, strlen(vocab));
    char path[512];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    struct gaze_st_writer * w = NULL;
    CHECK(gaze_st_writer_init(&w, path) == GAZE_OK, "writer: %s", gaze_last_error());
    struct { const char * name; int64_t d0, d1; float base; } t[] = {
        { "embeddings.word_embeddings.weight", BV, BC, 0 }, { "embeddings.position_embeddings.weight", BP, BC, 0 },
        { "embeddings.token_type_embeddings.weight", 2, BC, 0 }, { "embeddings.LayerNorm.weight", BC, 0, 1 },
        { "embeddings.LayerNorm.bias", BC, 0, 0 },
        { "encoder.layer.0.attention.self.query.weight", BC, BC, 0 }, { "encoder.layer.0.attention.self.query.bias", BC, 0, 0 },
        { "encoder.layer.0.attention.self.key.weight", BC, BC, 0 }, { "encoder.layer.0.attention.self.key.bias", BC, 0, 0 },
        { "encoder.layer.0.attention.self.value.weight", BC, BC, 0 }, { "encoder.layer.0.attention.self.value.bias", BC, 0, 0 },
        { "encoder.layer.0.attention.output.dense.weight", BC, BC, 0 }, { "encoder.layer.0.attention.output.dense.bias", BC, 0, 0 },
        { "encoder.layer.0.attention.output.LayerNorm.weight", BC, 0, 1 }, { "encoder.layer.0.attention.output.LayerNorm.bias", BC, 0, 0 },
        { "encoder.layer.0.intermediate.dense.weight", BF, BC, 0 }, { "encoder.layer.0.intermediate.dense.bias", BF, 0, 0 },
        { "encoder.layer.0.output.dense.weight", BC, BF, 0 }, { "encoder.layer.0.output.dense.bias", BC, 0, 0 },
        { "encoder.layer.0.output.LayerNorm.weight", BC, 0, 1 }, { "encoder.layer.0.output.LayerNorm.bias", BC, 0, 0 },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        const int64_t n = t[i].d0 * (t[i].d1 ? t[i].d1 : 1);
        float * f = malloc((size_t)n * sizeof *f);
        const bool qk = strstr(t[i].name, "self.query.weight") || strstr(t[i].name, "self.key.weight");
        for (int64_t e = 0; e < n; e++) f[e] = (t[i].base + 0.25f * rndn()) * (qk ? qk_scale : 1.0f);
        if (poison && !strcmp(poison, t[i].name)) f[5] = value;
        const int64_t shape[2] = { t[i].d0, t[i].d1 };
        CHECK(gaze_st_writer_add_f32(w, t[i].name, GAZE_DTYPE_F32, t[i].d1 ? 2 : 1, shape, f) == GAZE_OK, "%s", gaze_last_error());
        free(f);
    }
    CHECK(gaze_st_writer_finish(w) == GAZE_OK, "finish: %s", gaze_last_error());
    gaze_st_writer_free(w);
}

static void write_bert(const char * dir, const char * poison, float value) { write_bert_scaled(dir, poison, value, 1.0f); }

static bool run_finite(const struct gaze_run * r) {
    for (int64_t l = 0; l < r->n_cap_layers; l++) {
        const struct gaze_run_layer * ly = &r->layers[l];
        const int64_t na = r->n_heads_cap * r->Tq * r->T;
        if (ly->attn && !row_finite(ly->attn, na)) return false;
        if (ly->hidden && !row_finite(ly->hidden, r->T * r->n_embd)) return false;
    }
    return !r->embedding || row_finite(r->embedding, r->n_embd);
}

// A model with a non-finite weight: load refuses it (GAZE_ERR_NUMERIC naming the tensor), or
// the run does; a run that succeeds must hold only finite numbers.
// must_fail: the poison is certainly read, so even a finite run would be wrong.
static void expect_poison_refused_ex(const char * what, const char * path, const char * tensor, const char * text,
                                     bool must_fail) {
    struct gaze_model * m = NULL;
    gaze_clear_error();
    enum gaze_status s = gaze_model_load(&m, path);
    if (s != GAZE_OK) {
        CHECK(s == GAZE_ERR_NUMERIC && strstr(gaze_last_error(), tensor) != NULL,
              "%s: load failed with %s, expected GAZE_ERR_NUMERIC naming %s: %s", what, gaze_status_name(s), tensor,
              gaze_last_error());
        return;
    }
    struct gaze_run r;
    struct gaze_run_opts o = { .parts = GAZE_RUN_PART_ATTN | GAZE_RUN_PART_HIDDEN };
    s = gaze_model_run(m, text, NULL, &o, &r);
    if (s == GAZE_OK) {
        CHECK(run_finite(&r), "%s: loaded and ran, and the run holds NaN/Inf (silent)", what);
        CHECK(!must_fail, "%s: ran without an error", what);
        gaze_run_free(&r);
    } else {
        CHECK(s == GAZE_ERR_NUMERIC, "%s: run failed with %s, expected GAZE_ERR_NUMERIC: %s", what, gaze_status_name(s),
              gaze_last_error());
    }
    gaze_model_free(m);
}
static void expect_poison_refused(const char * what, const char * path, const char * tensor, const char * text) {
    expect_poison_refused_ex(what, path, tensor, text, false);
}

static void test_bert_weights(void) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s/bert-clean", g_tmp);
    write_bert(dir, NULL, 0);
    struct gaze_model * m = NULL;
    CHECK(gaze_model_load(&m, dir) == GAZE_OK, "clean tiny BERT: %s", gaze_last_error());
    if (m) {
        struct gaze_run r;
        struct gaze_run_opts o = { .parts = GAZE_RUN_PART_ATTN | GAZE_RUN_PART_HIDDEN };
        CHECK(gaze_model_run(m, "the cat sat on the mat.", NULL, &o, &r) == GAZE_OK, "clean run: %s", gaze_last_error());
        CHECK(run_finite(&r), "clean run not finite");
        gaze_run_free(&r);
        gaze_model_free(m);
    }
    static const struct { const char * tensor; float value; } cases[] = {
        { "encoder.layer.0.attention.self.query.weight", NAN },
        { "encoder.layer.0.attention.self.key.weight", INFINITY },
        { "encoder.layer.0.intermediate.dense.weight", -INFINITY },
        { "embeddings.word_embeddings.weight", NAN },
        { "embeddings.LayerNorm.weight", INFINITY },
        { "encoder.layer.0.output.LayerNorm.bias", NAN },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(dir, sizeof dir, "%s/bert-poison-%zu", g_tmp, i);
        write_bert(dir, cases[i].tensor, cases[i].value);
        char what[256];
        snprintf(what, sizeof what, "BERT, %g in %s", cases[i].value, cases[i].tensor);
        // element 5 of word_embeddings is token 0's row ([PAD]): use it, so the poison is read
        expect_poison_refused(what, dir, cases[i].tensor, i == 3 ? "[PAD] the cat" : "the cat sat on the mat.");
    }
    // finite weights whose scores overflow f32: the run says so instead of returning NaN
    snprintf(dir, sizeof dir, "%s/bert-overflow", g_tmp);
    write_bert_scaled(dir, NULL, 0, 1e20f);
    expect_poison_refused_ex("BERT, query/key weights x 1e20 (scores overflow)", dir, "query", "the cat sat on the mat.", true);
}

/* ---- Llama with a poisoned weight --------------------------------------------------------- */

struct gbuf { uint8_t * p; size_t n, cap; };
static void gput(struct gbuf * b, const void * s, size_t n) {
    if (b->n + n > b->cap) { b->cap = (b->n + n) * 2 + 64; b->p = realloc(b->p, b->cap); }
    memcpy(b->p + b->n, s, n);
    b->n += n;
}
static void gu32(struct gbuf * b, uint32_t v) { gput(b, &v, 4); }
static void gu64(struct gbuf * b, uint64_t v) { gput(b, &v, 8); }
static void gstr(struct gbuf * b, const char * s) { gu64(b, strlen(s)); gput(b, s, strlen(s)); }
static void gkv_u32(struct gbuf * b, const char * k, uint32_t v) { gstr(b, k); gu32(b, 4); gu32(b, v); }
static void gkv_f32(struct gbuf * b, const char * k, float v) { gstr(b, k); gu32(b, 6); gput(b, &v, 4); }
static void gkv_str(struct gbuf * b, const char * k, const char * v) { gstr(b, k); gu32(b, 8); gstr(b, v); }

// GPT-2 byte -> code point, UTF-8 encoded into out; returns the length.
static int byte_char(int b, char * out) {
    int cp = b;
    if (!((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255))) {
        int k = 0;
        for (int x = 0; x < b; x++)
            if (!((x >= 33 && x <= 126) || (x >= 161 && x <= 172) || (x >= 174 && x <= 255))) k++;
        cp = 256 + k;
    }
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
}

// Tiny Llama (C 8, 2 heads, 1 KV head, FFN 16, 1 layer, context 32, vocab = 256 bytes + 1 control),
// every tensor F32; element 3 of tensor `poison` becomes value; qk_scale multiplies attn_q and
// attn_k (huge but finite weights: scores overflow f32).
static void write_llama_scaled(const char * path, const char * poison, float value, float qk_scale) {
    enum { C = 8, H = 2, HKV = 1, F = 16, V = 257 };
    const int D = C / H;
    struct gbuf kv = { 0 };
    int n_kv = 0;
    gkv_str(&kv, "general.architecture", "llama"); n_kv++;
    gkv_u32(&kv, "llama.embedding_length", C); n_kv++;
    gkv_u32(&kv, "llama.block_count", 1); n_kv++;
    gkv_u32(&kv, "llama.attention.head_count", H); n_kv++;
    gkv_u32(&kv, "llama.attention.head_count_kv", HKV); n_kv++;
    gkv_u32(&kv, "llama.feed_forward_length", F); n_kv++;
    gkv_u32(&kv, "llama.context_length", 32); n_kv++;
    gkv_f32(&kv, "llama.attention.layer_norm_rms_epsilon", 1e-5f); n_kv++;
    gkv_str(&kv, "tokenizer.ggml.model", "gpt2"); n_kv++;
    gkv_str(&kv, "tokenizer.ggml.pre", "gpt-2"); n_kv++;
    gstr(&kv, "tokenizer.ggml.tokens"); gu32(&kv, 9); gu32(&kv, 8); gu64(&kv, V); n_kv++;
    gstr(&kv, "<|endoftext|>");
    for (int b = 0; b < 256; b++) { char u[3]; int l = byte_char(b, u); gu64(&kv, (uint64_t)l); gput(&kv, u, (size_t)l); }
    gstr(&kv, "tokenizer.ggml.token_type"); gu32(&kv, 9); gu32(&kv, 5); gu64(&kv, V); n_kv++;
    gu32(&kv, 3);
    for (int b = 0; b < 256; b++) gu32(&kv, 1);
    gstr(&kv, "tokenizer.ggml.merges"); gu32(&kv, 9); gu32(&kv, 8); gu64(&kv, 0); n_kv++;
    struct { const char * name; int64_t ne0, ne1; float base; } t[] = {
        { "token_embd.weight", C, V, 0 }, { "output_norm.weight", C, 1, 1 },
        { "blk.0.attn_norm.weight", C, 1, 1 }, { "blk.0.ffn_norm.weight", C, 1, 1 },
        { "blk.0.attn_q.weight", C, H * D, 0 }, { "blk.0.attn_k.weight", C, HKV * D, 0 },
        { "blk.0.attn_v.weight", C, HKV * D, 0 }, { "blk.0.attn_output.weight", H * D, C, 0 },
        { "blk.0.ffn_gate.weight", C, F, 0 }, { "blk.0.ffn_up.weight", C, F, 0 }, { "blk.0.ffn_down.weight", F, C, 0 },
    };
    const int NT = (int)(sizeof t / sizeof t[0]);
    struct gbuf info = { 0 }, data = { 0 };
    for (int i = 0; i < NT; i++) {
        gstr(&info, t[i].name);
        gu32(&info, t[i].ne1 > 1 ? 2 : 1);
        gu64(&info, (uint64_t)t[i].ne0);
        if (t[i].ne1 > 1) gu64(&info, (uint64_t)t[i].ne1);
        gu32(&info, 0);
        gu64(&info, data.n);
        for (int64_t e = 0; e < t[i].ne0 * t[i].ne1; e++) {
            const bool qk = strstr(t[i].name, "attn_q") || strstr(t[i].name, "attn_k");
            float f = (t[i].base + 0.25f * rndn()) * (qk ? qk_scale : 1.0f);
            if (poison && !strcmp(poison, t[i].name) && e == 3) f = value;
            gput(&data, &f, 4);
        }
        while (data.n % 32) { uint8_t z = 0; gput(&data, &z, 1); }
    }
    struct gbuf f = { 0 };
    gput(&f, "GGUF", 4);
    gu32(&f, 3);
    gu64(&f, (uint64_t)NT);
    gu64(&f, (uint64_t)n_kv);
    gput(&f, kv.p, kv.n);
    gput(&f, info.p, info.n);
    while (f.n % 32) { uint8_t z = 0; gput(&f, &z, 1); }
    gput(&f, data.p, data.n);
    FILE * fp = fopen(path, "wb");
    CHECK(fp != NULL, "open %s", path);
    if (fp) { fwrite(f.p, 1, f.n, fp); fclose(fp); }
    free(kv.p); free(info.p); free(data.p); free(f.p);
}

static void write_llama(const char * path, const char * poison, float value) { write_llama_scaled(path, poison, value, 1.0f); }

static void test_llama_weights(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/llama-clean.gguf", g_tmp);
    write_llama(path, NULL, 0);
    struct gaze_model * m = NULL;
    CHECK(gaze_model_load(&m, path) == GAZE_OK, "clean tiny Llama: %s", gaze_last_error());
    if (m) {
        struct gaze_run r;
        struct gaze_run_opts o = { .parts = GAZE_RUN_PART_ATTN | GAZE_RUN_PART_HIDDEN };
        CHECK(gaze_model_run(m, "the cat sat", NULL, &o, &r) == GAZE_OK, "clean run: %s", gaze_last_error());
        CHECK(run_finite(&r), "clean Llama run not finite");
        gaze_run_free(&r);
        gaze_model_free(m);
    }
    static const struct { const char * tensor; float value; } cases[] = {
        { "blk.0.attn_q.weight", NAN }, { "blk.0.attn_k.weight", INFINITY }, { "blk.0.ffn_down.weight", -INFINITY },
        { "token_embd.weight", NAN }, { "blk.0.attn_norm.weight", INFINITY },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(path, sizeof path, "%s/llama-poison-%zu.gguf", g_tmp, i);
        write_llama(path, cases[i].tensor, cases[i].value);
        char what[256];
        snprintf(what, sizeof what, "Llama, %g in %s", cases[i].value, cases[i].tensor);
        // element 3 of token_embd is row 0 (<|endoftext|>): put it in the text so it is read
        expect_poison_refused(what, path, cases[i].tensor, i == 3 ? "<|endoftext|>the cat" : "the cat sat");
    }
    snprintf(path, sizeof path, "%s/llama-overflow.gguf", g_tmp);
    write_llama_scaled(path, NULL, 0, 1e20f);
    expect_poison_refused_ex("Llama, attn_q/attn_k x 1e20 (scores overflow)", path, "attn_q", "the cat sat", true);
}

// Finite query/key weights scaled until the attention scores reach 1e4 .. 1e30 (RESULTS.md
// F5/N6): the run succeeds, its captured rows sum to 1 (gaze_run_check) and hold only finite
// weights. Before the probe kept the row max and sum apart, rows past |score| ~ 1e5 lost
// their normalisation (an f32 lse = m + log l) and the run failed its own check.
static double run_max_abs_score(const struct gaze_run * r) {
    double mx = 0;
    for (int64_t l = 0; l < r->n_cap_layers; l++)
        for (int64_t i = 0; r->layers[l].scores && i < r->n_heads_cap * r->Tq * r->T; i++)
            if (isfinite(r->layers[l].scores[i]) && fabs(r->layers[l].scores[i]) > mx) mx = fabs(r->layers[l].scores[i]);
    return mx;
}

static void expect_huge_scores_hold(const char * what, const char * path, const char * text, double min_score) {
    struct gaze_model * m = NULL;
    CHECK(gaze_model_load(&m, path) == GAZE_OK, "%s: load: %s", what, gaze_last_error());
    if (!m) return;
    struct gaze_run r;
    struct gaze_run_opts o = { .parts = GAZE_RUN_PART_ATTN | GAZE_RUN_PART_SCORES };
    enum gaze_status s = gaze_model_run(m, text, NULL, &o, &r);
    CHECK(s == GAZE_OK, "%s: run: %s", what, gaze_last_error());
    if (s == GAZE_OK) {
        const double mx = run_max_abs_score(&r);
        CHECK(mx >= min_score, "%s: max |score| %g, below the %g the case is about", what, mx, min_score);
        CHECK(run_finite(&r), "%s: captured weights not finite", what);
        CHECK(gaze_run_check(&r, "run") == GAZE_OK, "%s (max |score| %g): %s", what, mx, gaze_last_error());
        gaze_run_free(&r);
    }
    gaze_model_free(m);
}

static void test_huge_scores(void) {
    // q and k each scale with qk_scale, so scores scale with its square
    static const struct { float qk_scale; double min_score; } cases[] = {
        { 3e2f, 1e4 }, { 3e3f, 1e6 }, { 1e6f, 1e11 }, { 1e14f, 1e27 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[512], what[128];
        snprintf(path, sizeof path, "%s/llama-huge-%zu.gguf", g_tmp, i);
        write_llama_scaled(path, NULL, 0, cases[i].qk_scale);
        snprintf(what, sizeof what, "Llama, attn_q/attn_k x %g", (double)cases[i].qk_scale);
        expect_huge_scores_hold(what, path, "the cat sat on the mat", cases[i].min_score);
        snprintf(path, sizeof path, "%s/bert-huge-%zu", g_tmp, i);
        write_bert_scaled(path, NULL, 0, cases[i].qk_scale);
        snprintf(what, sizeof what, "BERT, query/key weights x %g", (double)cases[i].qk_scale);
        expect_huge_scores_hold(what, path, "the cat sat on the mat.", cases[i].min_score);
    }
}

/* ---- JSON depth and size caps through the real loaders ------------------------------------- */

static void test_depth_caps(void) {
    const size_t depth = 100000;
    char * deep = malloc(2 * depth + 64);
    size_t o = (size_t)sprintf(deep, "{\"model\": ");
    for (size_t i = 0; i < depth; i++) deep[o++] = '[';
    for (size_t i = 0; i < depth; i++) deep[o++] = ']';
    deep[o++] = '}';
    deep[o] = 0;
    struct gaze_wordpiece * tok = NULL;
    enum gaze_status s = gaze_wordpiece_init_json(&tok, deep, o, "deep/tokenizer.json");
    // (jansson's own 2048-level cap answers here: a clear error either way, no deep recursion)
    CHECK((s == GAZE_ERR_LIMIT || s == GAZE_ERR_FORMAT) && tok == NULL &&
          (strstr(gaze_last_error(), "nesting") || strstr(gaze_last_error(), "depth")),
          "tokenizer.json nested 10^5 deep: %s %s", gaze_status_name(s), gaze_last_error());
    gaze_wordpiece_free(tok);
    // config.json through the BERT loader
    char dir[512];
    snprintf(dir, sizeof dir, "%s/bert-deep", g_tmp);
    write_bert(dir, NULL, 0);
    write_file(dir, "config.json", deep, o);
    struct gaze_model * m = NULL;
    s = gaze_model_load(&m, dir);
    CHECK(s == GAZE_ERR_LIMIT && m == NULL && strstr(gaze_last_error(), "config.json"),
          "config.json nested 10^5 deep: %s %s", gaze_status_name(s), gaze_last_error());
    gaze_model_free(m);
    // a safetensors header nested 10^5 deep
    const size_t hl = o;
    uint8_t * st = malloc(8 + hl);
    uint64_t n = hl;
    memcpy(st, &n, 8);
    memcpy(st + 8, deep, hl);
    struct gaze_safetensors * sf = NULL;
    s = gaze_safetensors_open_buffer(&sf, st, 8 + hl, "deep.safetensors");
    CHECK(s == GAZE_ERR_LIMIT && sf == NULL, "safetensors header nested 10^5 deep: %s %s", gaze_status_name(s), gaze_last_error());
    gaze_safetensors_free(sf);
    free(st);
    free(deep);

    // vocab.txt: a line over the 4096-byte token cap is refused, naming the line
    char * vt = malloc(10000);
    strcpy(vt, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n");
    size_t l = strlen(vt);
    memset(vt + l, 'x', 5000);
    vt[l + 5000] = '\n';
    s = gaze_wordpiece_init_vocab(&tok, vt, l + 5001, true, "long/vocab.txt");
    CHECK(s != GAZE_OK && tok == NULL && strstr(gaze_last_error(), "line 6"), "5000-byte vocab line: %s %s",
          gaze_status_name(s), gaze_last_error());
    gaze_wordpiece_free(tok);
    free(vt);
}

/* ---- tokenizers at 10^6 characters ----------------------------------------------------------- */

struct bpe_fix { json_t * doc; const char ** t; size_t * tl; int32_t * ty; const char ** m; size_t * ml; };

static struct gaze_bpe * load_smollm2(struct bpe_fix * f) {
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/bpe/smollm2_vocab.json", src_dir());
    json_error_t err;
    f->doc = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    CHECK(f->doc != NULL, "%s: %s", path, err.text);
    if (!f->doc) return NULL;
    json_t * toks = json_object_get(f->doc, "tokens"), * merges = json_object_get(f->doc, "merges");
    const char * types = json_string_value(json_object_get(f->doc, "token_types"));
    size_t V = json_array_size(toks), M = json_array_size(merges);
    f->t = malloc(V * sizeof *f->t); f->tl = malloc(V * sizeof *f->tl); f->ty = malloc(V * sizeof *f->ty);
    f->m = malloc(M * sizeof *f->m); f->ml = malloc(M * sizeof *f->ml);
    for (size_t i = 0; i < V; i++) {
        f->t[i] = json_string_value(json_array_get(toks, i));
        f->tl[i] = json_string_length(json_array_get(toks, i));
        f->ty[i] = types[i] - '0';
    }
    for (size_t i = 0; i < M; i++) {
        f->m[i] = json_string_value(json_array_get(merges, i));
        f->ml[i] = json_string_length(json_array_get(merges, i));
    }
    struct gaze_bpe_vocab v = { .n_tokens = (int64_t)V, .tokens = f->t, .token_lens = f->tl, .token_types = f->ty,
                                .n_merges = (int64_t)M, .merges = f->m, .merge_lens = f->ml, .pre = "smollm",
                                .bos_id = 1, .eos_id = 2, .add_bos = 0 };
    struct gaze_bpe * b = NULL;
    CHECK(gaze_bpe_init(&b, &v) == GAZE_OK, "smollm2 vocab: %s", gaze_last_error());
    return b;
}

static void free_fix(struct bpe_fix * f) {
    json_decref(f->doc);
    free(f->t); free(f->tl); free(f->ty); free(f->m); free(f->ml);
}

// 'a' x n, '_' x n, or n random CJK characters (U+4E00..U+9FFF, 3 bytes each).
static size_t make_text(int kind, size_t n, char * buf) {
    if (kind == 0) { memset(buf, 'a', n); return n; }
    if (kind == 1) { memset(buf, '_', n); return n; }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t cp = 0x4E00 + (uint32_t)(rndu() * (0x9FFF - 0x4E00));
        buf[o++] = (char)(0xE0 | (cp >> 12));
        buf[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        buf[o++] = (char)(0x80 | (cp & 0x3F));
    }
    return o;
}

static bool offsets_sane(const struct gaze_encoding * e, size_t n) {
    for (int64_t t = 0; t < e->n_tokens; t++) {
        const int64_t b = e->offsets[2 * t], en = e->offsets[2 * t + 1];
        if (e->sequence_ids[t] == -1) continue;
        if (b < 0 || b > en || en > (int64_t)n) return false;
    }
    return true;
}

static void test_tokenizer_worst_cases(void) {
    const size_t N = 1000000;
    static const char * const kinds[] = { "'a' x 10^6", "'_' x 10^6", "10^6 random CJK" };
    char * buf = malloc(3 * N + 16);
    struct bpe_fix fx = { 0 };
    struct gaze_bpe * bpe = load_smollm2(&fx);
    for (int kind = 0; kind < 3 && bpe; kind++) {
        const size_t n = make_text(kind, N, buf);
        struct gaze_encoding e = { 0 };
        struct gaze_bpe_encode_opts o = { .no_special = true };
        enum gaze_status s = gaze_bpe_encode(bpe, buf, n, &o, &e);
        CHECK(s == GAZE_OK, "BPE %s: %s", kinds[kind], gaze_last_error());
        if (s == GAZE_OK) {
            CHECK(e.n_tokens >= 1 && e.n_tokens <= (int64_t)n && offsets_sane(&e, n), "BPE %s: %lld tokens / offsets",
                  kinds[kind], (long long)e.n_tokens);
            char * dec = NULL;
            size_t dl = 0;
            CHECK(gaze_bpe_decode(bpe, e.ids, e.n_tokens, false, &dec, &dl) == GAZE_OK && dl == n && !memcmp(dec, buf, n),
                  "BPE %s: decode(encode(x)) != x", kinds[kind]);
            free(dec);
            printf("BPE %s: %lld tokens\n", kinds[kind], (long long)e.n_tokens);
        }
        gaze_encoding_free(&e);
    }
    // past the 64 MiB input cap: refused before any work (calloc pages are never touched)
    if (bpe) {
        const size_t big = ((size_t)64 << 20) + 1;
        char * huge = calloc(big, 1);
        struct gaze_encoding e = { 0 };
        enum gaze_status s = huge ? gaze_bpe_encode(bpe, huge, big, NULL, &e) : GAZE_ERR_NOMEM;
        CHECK(s == GAZE_ERR_LIMIT && strstr(gaze_last_error(), "limit"), "BPE 64 MiB + 1: %s %s", gaze_status_name(s),
              gaze_last_error());
        gaze_encoding_free(&e);
        free(huge);
    }
    gaze_bpe_free(bpe);
    free_fix(&fx);

    char path[1024];
    const char * home = getenv("GAZE_HOME");
    if (home) snprintf(path, sizeof path, "%s/models/minilm/tokenizer.json", home);
    else snprintf(path, sizeof path, "%s/.cache/gaze/models/minilm/tokenizer.json", getenv("HOME") ? getenv("HOME") : ".");
    struct gaze_wordpiece * wp = NULL;
    enum gaze_status s = gaze_wordpiece_init(&wp, path);
    CHECK(s == GAZE_OK, "MiniLM tokenizer (run scripts/fetch-test-models): %s", gaze_last_error());
    for (int kind = 0; kind < 3 && wp; kind++) {
        const size_t n = make_text(kind, N, buf);
        struct gaze_encoding e = { 0 };
        s = gaze_wordpiece_encode(wp, buf, n, NULL, 0, NULL, &e);
        CHECK(s == GAZE_OK, "WordPiece %s: %s", kinds[kind], gaze_last_error());
        if (s == GAZE_OK) {
            // 'a' x 10^6 is one word over max_input_chars_per_word: [CLS] [UNK] [SEP]
            const int64_t want = kind == 0 ? 3 : (int64_t)N + 2;
            CHECK(kind == 2 ? e.n_tokens >= 3 : e.n_tokens == want, "WordPiece %s: %lld tokens, expected %lld",
                  kinds[kind], (long long)e.n_tokens, (long long)want);
            CHECK(offsets_sane(&e, n), "WordPiece %s: offsets", kinds[kind]);
            printf("WordPiece %s: %lld tokens\n", kinds[kind], (long long)e.n_tokens);
        }
        gaze_encoding_free(&e);
    }
    gaze_wordpiece_free(wp);
    free(buf);
}

int main(void) {
    snprintf(g_tmp, sizeof g_tmp, "%s/gaze-limits-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(g_tmp)) { perror("mkdtemp"); return 1; }
    printf("seed %llu\n", (unsigned long long)g_rng);
    test_attention_poison();
    test_softmax_rows();
    test_bert_weights();
    test_llama_weights();
    test_huge_scores();
    test_depth_caps();
    test_tokenizer_worst_cases();
    rm_tree(g_tmp);
    return check_summary("test_limits");
}

// BERT loading and running on bad input. A complete tiny BERT folder (config.json, random
// weights written with gaze_st_writer, vocab.txt) first runs a full forward pass that must match
// a float64 reference written here (so the folder is known good), with "bert." prefixed names
// and F16/BF16 storage too; then one thing at a time is broken: a tensor of the wrong shape,
// a missing tensor, an I32 tensor, vocab sizes that disagree, a truncated or corrupted weights
// file, missing tokenizer files, config fields. Config errors are also checked on the real
// MiniLM folder (its files linked into a temp folder). Input errors: too many tokens without
// truncation (GAZE_ERR_LIMIT naming --truncate; with truncate T == positions), invalid UTF-8
// (the byte offset), bad layer/head selections. Every check asserts on a message substring.
// Needs the fetched model for the MiniLM part: $GAZE_HOME/models/minilm.
#include "check.h"
#include "gaze.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

static char g_tmp[256];
static uint64_t g_seed = 0x5eed0bee7ULL;

static void minilm_dir(char * out, size_t n) {
    const char * home = getenv("GAZE_HOME");
    if (home && *home) snprintf(out, n, "%s/models/minilm", home);
    else snprintf(out, n, "%s/.cache/gaze/models/minilm", getenv("HOME") ? getenv("HOME") : ".");
}

// The status and a message substring (or two); prints what came instead.
static bool status_is(enum gaze_status got, enum gaze_status want, const char * needle, const char * needle2) {
    const char * msg = gaze_last_error();
    bool ok = got == want && (!needle || strstr(msg, needle)) && (!needle2 || strstr(msg, needle2));
    if (!ok)
        fprintf(stderr, "  got %s '%s', want %s with '%s'%s%s%s\n", gaze_status_name(got), got ? msg : "",
                gaze_status_name(want), needle ? needle : "", needle2 ? " and '" : "", needle2 ? needle2 : "",
                needle2 ? "'" : "");
    return ok;
}

static void write_file(const char * dir, const char * name, const char * text, size_t n) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE * f = fopen(p, "wb");
    CHECK(f != NULL, "cannot write %s", p);
    if (!f) return;
    CHECK(fwrite(text, 1, n, f) == n, "short write %s", p);
    fclose(f);
}

// Removes dir and everything under it (links are removed, never followed).
static void rm_tree(const char * dir) {
    struct stat sb;
    if (lstat(dir, &sb) != 0) return;
    if (S_ISDIR(sb.st_mode)) {
        DIR * dp = opendir(dir);
        struct dirent * e;
        while (dp && (e = readdir(dp))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char p[1024];
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            rm_tree(p);
        }
        if (dp) closedir(dp);
        rmdir(dir);
    } else unlink(dir);
}

static void new_dir(const char * name, char * out, size_t n) {
    snprintf(out, n, "%s/%s", g_tmp, name);
    rm_tree(out);
    CHECK(mkdir(out, 0700) == 0, "mkdir %s", out);
}

// Loads path expecting failure; true when status and message match.
static bool load_fails(const char * dir, enum gaze_status want, const char * needle, const char * needle2) {
    struct gaze_model * m = NULL;
    enum gaze_status s = gaze_model_load(&m, dir);
    bool ok = status_is(s, want, needle, needle2) && m == NULL;
    gaze_model_free(m);
    return ok;
}

/* ---------------------------------------------------------------- the tiny BERT */

#define TC 8     // hidden
#define TH 2     // heads
#define TD 4     // head dim
#define TL 2     // layers
#define TF 16    // intermediate
#define TP 16    // positions
#define TY 2     // token types

static const char * const g_vocab[] = {
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", ".", "a", "dog", "##s", ",", "!",
    "un", "##known", "word", "##y",
};
#define TV ((int64_t)(sizeof g_vocab / sizeof *g_vocab))

struct tensor { char name[96]; int n_dims; int64_t shape[2]; float * data; };
static struct tensor g_w[5 + 16 * TL];
static int g_nw;

static uint64_t rnd(void) { g_seed ^= g_seed << 13; g_seed ^= g_seed >> 7; g_seed ^= g_seed << 17; return g_seed; }
// Random values k/64 (|k| <= 64) or around 1 for LayerNorm gains: exact in F16 and BF16, so the
// same model stored in any float dtype gives the same numbers.
static float * rand_vals(int64_t n, bool gain) {
    float * v = malloc((size_t)n * sizeof *v);
    for (int64_t i = 0; i < n; i++) {
        int k = (int)(rnd() % 129) - 64;
        v[i] = gain ? 1.0f + (float)k / 128.0f : (float)k / 64.0f;
    }
    return v;
}
static void add_w(const char * name, int64_t d0, int64_t d1, bool gain) {
    struct tensor * t = &g_w[g_nw++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->n_dims = d1 ? 2 : 1;
    t->shape[0] = d0; t->shape[1] = d1;
    t->data = rand_vals(d0 * (d1 ? d1 : 1), gain);
}
static const float * W(const char * name) {
    for (int i = 0; i < g_nw; i++) if (!strcmp(g_w[i].name, name)) return g_w[i].data;
    return NULL;
}
static const float * WL(int l, const char * suffix) {
    char n[96];
    snprintf(n, sizeof n, "encoder.layer.%d.%s", l, suffix);
    return W(n);
}

static void make_weights(void) {
    add_w("embeddings.word_embeddings.weight", TV, TC, false);
    add_w("embeddings.position_embeddings.weight", TP, TC, false);
    add_w("embeddings.token_type_embeddings.weight", TY, TC, false);
    add_w("embeddings.LayerNorm.weight", TC, 0, true);
    add_w("embeddings.LayerNorm.bias", TC, 0, false);
    for (int l = 0; l < TL; l++) {
        static const struct { const char * s; int o, i; bool gain; } p[] = {
            { "attention.self.query.weight", TC, TC, 0 }, { "attention.self.query.bias", TC, 0, 0 },
            { "attention.self.key.weight", TC, TC, 0 }, { "attention.self.key.bias", TC, 0, 0 },
            { "attention.self.value.weight", TC, TC, 0 }, { "attention.self.value.bias", TC, 0, 0 },
            { "attention.output.dense.weight", TC, TC, 0 }, { "attention.output.dense.bias", TC, 0, 0 },
            { "attention.output.LayerNorm.weight", TC, 0, 1 }, { "attention.output.LayerNorm.bias", TC, 0, 0 },
            { "intermediate.dense.weight", TF, TC, 0 }, { "intermediate.dense.bias", TF, 0, 0 },
            { "output.dense.weight", TC, TF, 0 }, { "output.dense.bias", TC, 0, 0 },
            { "output.LayerNorm.weight", TC, 0, 1 }, { "output.LayerNorm.bias", TC, 0, 0 },
        };
        for (size_t i = 0; i < sizeof p / sizeof *p; i++) {
            char n[96];
            snprintf(n, sizeof n, "encoder.layer.%d.%s", l, p[i].s);
            add_w(n, p[i].o, p[i].i, p[i].gain);
        }
    }
}

// How to write (and break) the folder.
struct tiny_spec {
    const char * prefix;         // "" or "bert."
    enum gaze_dtype dtype;       // F32, F16 or BF16
    const char * omit;           // tensor left out
    const char * reshape;        // tensor written as [d0, d1 + 1] (or [d0 + 1])
    const char * as_i32;         // tensor written as I32
    int64_t word_rows;           // rows of word_embeddings (0: TV)
    const char * config;         // config.json text (NULL: the good one)
    bool no_vocab;               // no vocab.txt / tokenizer.json
};

static const char * tiny_config(void) {
    static char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"architectures\": [\"BertModel\"], \"model_type\": \"bert\", \"hidden_size\": %d, "
             "\"num_attention_heads\": %d, \"num_hidden_layers\": %d, \"intermediate_size\": %d, "
             "\"vocab_size\": %lld, \"max_position_embeddings\": %d, \"type_vocab_size\": %d, "
             "\"layer_norm_eps\": 1e-12, \"hidden_act\": \"gelu\", \"position_embedding_type\": \"absolute\"}",
             TC, TH, TL, TF, (long long)TV, TP, TY);
    return buf;
}

static void write_tiny(const char * dir, const struct tiny_spec * sp) {
    const char * cfg = sp->config ? sp->config : tiny_config();
    write_file(dir, "config.json", cfg, strlen(cfg));
    if (!sp->no_vocab) {
        char vocab[1024] = "";
        for (int64_t i = 0; i < TV; i++) { strcat(vocab, g_vocab[i]); strcat(vocab, "\n"); }
        write_file(dir, "vocab.txt", vocab, strlen(vocab));
    }
    char path[512];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    struct gaze_st_writer * w = NULL;
    enum gaze_status s = gaze_st_writer_init(&w, path);
    CHECK(s == GAZE_OK, "writer: %s", gaze_last_error());
    if (s) return;
    gaze_st_writer_set_metadata(w, "format", "pt");
    // an I64 tensor as HF checkpoints have (position_ids) and a pooler: both must be ignored
    int64_t pos_ids[TP];
    for (int i = 0; i < TP; i++) pos_ids[i] = i;
    char name[160];
    snprintf(name, sizeof name, "%sembeddings.position_ids", sp->prefix);
    s = gaze_st_writer_add(w, name, GAZE_DTYPE_I64, 2, (int64_t[]){ 1, TP }, pos_ids);
    float pooler[TC * TC] = { 0 };
    snprintf(name, sizeof name, "%spooler.dense.weight", sp->prefix);
    if (!s) s = gaze_st_writer_add_f32(w, name, GAZE_DTYPE_F32, 2, (int64_t[]){ TC, TC }, pooler);
    for (int i = 0; i < g_nw && !s; i++) {
        const struct tensor * t = &g_w[i];
        if (sp->omit && !strcmp(sp->omit, t->name)) continue;
        snprintf(name, sizeof name, "%.8s%.95s", sp->prefix, t->name);
        int64_t shape[2] = { t->shape[0], t->shape[1] };
        if (!strcmp(t->name, "embeddings.word_embeddings.weight") && sp->word_rows) shape[0] = sp->word_rows;
        bool grow = sp->reshape && !strcmp(sp->reshape, t->name);
        if (grow) shape[t->n_dims - 1]++;
        int64_t n = shape[0] * (t->n_dims == 2 ? shape[1] : 1);
        float * data = calloc((size_t)n, sizeof *data);
        int64_t have = t->shape[0] * (t->n_dims == 2 ? t->shape[1] : 1);
        memcpy(data, t->data, (size_t)(have < n ? have : n) * sizeof *data);
        if (sp->as_i32 && !strcmp(sp->as_i32, t->name)) {
            int32_t * iv = malloc((size_t)n * sizeof *iv);
            for (int64_t k = 0; k < n; k++) iv[k] = (int32_t)(data[k] * 64);
            s = gaze_st_writer_add(w, name, GAZE_DTYPE_I32, t->n_dims, shape, iv);
            free(iv);
        } else s = gaze_st_writer_add_f32(w, name, sp->dtype, t->n_dims, shape, data);
        free(data);
    }
    if (!s) s = gaze_st_writer_finish(w);
    CHECK(s == GAZE_OK, "writing %s: %s", path, gaze_last_error());
    gaze_st_writer_free(w);
}

/* ---- float64 reference forward of the tiny model ---- */

static void ref_ln(double * x, int64_t T, const float * g, const float * b) {
    for (int64_t t = 0; t < T; t++) {
        double m = 0, v = 0;
        for (int c = 0; c < TC; c++) m += x[t * TC + c];
        m /= TC;
        for (int c = 0; c < TC; c++) v += (x[t * TC + c] - m) * (x[t * TC + c] - m);
        v /= TC;
        for (int c = 0; c < TC; c++) x[t * TC + c] = (x[t * TC + c] - m) / sqrt(v + 1e-12) * g[c] + b[c];
    }
}
// y [T, n_out] = x [T, n_in] W^T + b
static void ref_lin(const double * x, int64_t T, int n_in, int n_out, const float * w, const float * b, double * y) {
    for (int64_t t = 0; t < T; t++)
        for (int o = 0; o < n_out; o++) {
            double a = b[o];
            for (int i = 0; i < n_in; i++) a += x[t * n_in + i] * w[o * n_in + i];
            y[t * n_out + o] = a;
        }
}

// attn [TL, TH, T, T], hidden [TL, T, TC], emb [TC]
static void ref_forward(const int32_t * ids, const int32_t * types, int64_t T, double * attn, double * hidden, double * emb) {
    double * x = calloc((size_t)(T * TC), sizeof *x), * q = calloc((size_t)(T * TC), sizeof *q);
    double * k = calloc((size_t)(T * TC), sizeof *k), * v = calloc((size_t)(T * TC), sizeof *v);
    double * ctx = calloc((size_t)(T * TC), sizeof *ctx), * y = calloc((size_t)(T * TC), sizeof *y);
    double * ff = calloc((size_t)(T * TF), sizeof *ff);
    const float * we = W("embeddings.word_embeddings.weight"), * pe = W("embeddings.position_embeddings.weight");
    const float * te = W("embeddings.token_type_embeddings.weight");
    for (int64_t t = 0; t < T; t++)
        for (int c = 0; c < TC; c++) x[t * TC + c] = (double)we[ids[t] * TC + c] + pe[t * TC + c] + te[types[t] * TC + c];
    ref_ln(x, T, W("embeddings.LayerNorm.weight"), W("embeddings.LayerNorm.bias"));
    for (int l = 0; l < TL; l++) {
        ref_lin(x, T, TC, TC, WL(l, "attention.self.query.weight"), WL(l, "attention.self.query.bias"), q);
        ref_lin(x, T, TC, TC, WL(l, "attention.self.key.weight"), WL(l, "attention.self.key.bias"), k);
        ref_lin(x, T, TC, TC, WL(l, "attention.self.value.weight"), WL(l, "attention.self.value.bias"), v);
        for (int h = 0; h < TH; h++)
            for (int64_t i = 0; i < T; i++) {
                double * p = attn + ((l * TH + h) * T + i) * T, mx = -INFINITY, sum = 0;
                for (int64_t j = 0; j < T; j++) {
                    double s = 0;
                    for (int e = 0; e < TD; e++) s += q[i * TC + h * TD + e] * k[j * TC + h * TD + e];
                    p[j] = s / sqrt((double)TD);
                    mx = fmax(mx, p[j]);
                }
                for (int64_t j = 0; j < T; j++) sum += p[j] = exp(p[j] - mx);
                for (int64_t j = 0; j < T; j++) p[j] /= sum;
                for (int e = 0; e < TD; e++) {
                    double a = 0;
                    for (int64_t j = 0; j < T; j++) a += p[j] * v[j * TC + h * TD + e];
                    ctx[i * TC + h * TD + e] = a;
                }
            }
        ref_lin(ctx, T, TC, TC, WL(l, "attention.output.dense.weight"), WL(l, "attention.output.dense.bias"), y);
        for (int64_t i = 0; i < T * TC; i++) x[i] += y[i];
        ref_ln(x, T, WL(l, "attention.output.LayerNorm.weight"), WL(l, "attention.output.LayerNorm.bias"));
        ref_lin(x, T, TC, TF, WL(l, "intermediate.dense.weight"), WL(l, "intermediate.dense.bias"), ff);
        for (int64_t i = 0; i < T * TF; i++) ff[i] = 0.5 * ff[i] * (1 + erf(ff[i] / sqrt(2.0)));
        ref_lin(ff, T, TF, TC, WL(l, "output.dense.weight"), WL(l, "output.dense.bias"), y);
        for (int64_t i = 0; i < T * TC; i++) x[i] += y[i];
        ref_ln(x, T, WL(l, "output.LayerNorm.weight"), WL(l, "output.LayerNorm.bias"));
        memcpy(hidden + l * T * TC, x, (size_t)(T * TC) * sizeof *x);
    }
    double nrm = 0;
    for (int c = 0; c < TC; c++) {
        double m = 0;
        for (int64_t t = 0; t < T; t++) m += x[t * TC + c];
        emb[c] = m / (double)T;
        nrm += emb[c] * emb[c];
    }
    for (int c = 0; c < TC; c++) emb[c] /= fmax(sqrt(nrm), 1e-12);
    free(x); free(q); free(k); free(v); free(ctx); free(y); free(ff);
}

// Runs text (/pair) on the tiny folder and compares attention, hidden states and embedding
// with the float64 reference. Returns the run's token count (0 on failure).
static int64_t tiny_run_check(const char * dir, const char * label, const char * text, const char * pair,
                              const int32_t * want_ids, int64_t want_T, const struct gaze_run * same_as) {
    struct gaze_model * m = NULL;
    enum gaze_status s = gaze_model_load(&m, dir);
    CHECK(s == GAZE_OK, "[%s] load: %s", label, gaze_last_error());
    if (s) return 0;
    const struct gaze_model_info * info = gaze_model_info(m);
    CHECK(info->n_layers == TL && info->n_heads == TH && info->n_embd == TC && info->head_dim == TD &&
          info->n_ff == TF && info->n_ctx == TP && info->n_vocab == TV, "[%s] info", label);
    struct gaze_run_opts o = { .parts = GAZE_RUN_PART_ATTN | GAZE_RUN_PART_HIDDEN };
    struct gaze_run run;
    s = gaze_model_run(m, text, pair, &o, &run);
    CHECK(s == GAZE_OK, "[%s] run: %s", label, gaze_last_error());
    int64_t T = 0;
    if (!s) {
        T = run.T;
        CHECK(T == want_T, "[%s] %lld tokens, want %lld", label, (long long)T, (long long)want_T);
        bool ids_ok = T == want_T;
        for (int64_t t = 0; ids_ok && t < T; t++) ids_ok = run.token_ids[t] == want_ids[t];
        CHECK(ids_ok, "[%s] token ids", label);
        if (ids_ok) {
            double * attn = malloc((size_t)(TL * TH * T * T) * sizeof *attn);
            double * hid = malloc((size_t)(TL * T * TC) * sizeof *hid), emb[TC];
            ref_forward(run.token_ids, run.token_type_ids, T, attn, hid, emb);
            double ea = 0, eh = 0, ee = 0;
            for (int l = 0; l < TL; l++) {
                const struct gaze_run_layer * ly = gaze_run_find_layer(&run, l);
                for (int64_t i = 0; ly && ly->attn && i < TH * T * T; i++) {
                    double d = fabs(ly->attn[i] - attn[l * TH * T * T + i]);
                    ea = isnan(d) || isnan(ea) ? NAN : fmax(ea, d);
                }
                for (int64_t i = 0; ly && ly->hidden && i < T * TC; i++) {
                    double d = fabs(ly->hidden[i] - hid[l * T * TC + i]);
                    eh = isnan(d) || isnan(eh) ? NAN : fmax(eh, d);
                }
                CHECK(ly && ly->attn && ly->hidden, "[%s] layer %d not captured", label, l);
            }
            for (int c = 0; run.embedding && c < TC; c++) {
                double d = fabs(run.embedding[c] - emb[c]);
                ee = isnan(d) || isnan(ee) ? NAN : fmax(ee, d);
            }
            CHECK(ea <= 1e-5, "[%s] attention vs float64 reference: max|err| %.3g", label, ea);
            CHECK(eh <= 1e-4, "[%s] hidden states vs float64 reference: max|err| %.3g", label, eh);
            CHECK(run.embedding && ee <= 1e-5, "[%s] embedding vs float64 reference: max|err| %.3g", label, ee);
            printf("  tiny BERT [%s] T=%lld: attention max|err| %.2e, hidden %.2e, embedding %.2e vs float64\n",
                   label, (long long)T, ea, eh, ee);
            free(attn);
            free(hid);
        }
        if (same_as && same_as->embedding && run.embedding)
            CHECK(memcmp(same_as->embedding, run.embedding, TC * sizeof(float)) == 0,
                  "[%s] embedding differs from the plain F32 folder", label);
        gaze_run_free(&run);
    }
    gaze_model_free(m);
    return T;
}

static void test_tiny(void) {
    make_weights();
    char good[512], d[512];
    new_dir("tiny", good, sizeof good);
    write_tiny(good, &(struct tiny_spec){ .prefix = "", .dtype = GAZE_DTYPE_F32 });

    // "the cat sat on the mat." -> [CLS] the cat sat on the mat . [SEP]
    const int32_t ids1[] = { 2, 5, 6, 7, 8, 5, 9, 10, 3 };
    tiny_run_check(good, "f32", "the cat sat on the mat.", NULL, ids1, 9, NULL);
    // pair with ## continuations, punctuation and an unknown word
    const int32_t ids2[] = { 2, 11, 12, 13, 14, 1, 3, 5, 6, 15, 3 };
    tiny_run_check(good, "pair", "A dogs, zebra", "the cat!", ids2, 11, NULL);

    // the same model stored with a "bert." prefix, as F16, as BF16: same numbers, bit for bit
    struct gaze_model * m = NULL;
    struct gaze_run base;
    gaze_run_init(&base);
    if (gaze_model_load(&m, good) == GAZE_OK) {
        struct gaze_run_opts o = { .no_capture = true };
        CHECK(gaze_model_run(m, "the cat sat on the mat.", NULL, &o, &base) == GAZE_OK, "base run: %s", gaze_last_error());
        gaze_model_free(m);
    }
    new_dir("tiny_prefix", d, sizeof d);
    write_tiny(d, &(struct tiny_spec){ .prefix = "bert.", .dtype = GAZE_DTYPE_F32 });
    tiny_run_check(d, "bert. prefix", "the cat sat on the mat.", NULL, ids1, 9, &base);
    new_dir("tiny_f16", d, sizeof d);
    write_tiny(d, &(struct tiny_spec){ .prefix = "", .dtype = GAZE_DTYPE_F16 });
    tiny_run_check(d, "f16", "the cat sat on the mat.", NULL, ids1, 9, &base);
    new_dir("tiny_bf16", d, sizeof d);
    write_tiny(d, &(struct tiny_spec){ .prefix = "bert.", .dtype = GAZE_DTYPE_BF16 });
    tiny_run_check(d, "bf16 + prefix", "the cat sat on the mat.", NULL, ids1, 9, &base);
    gaze_run_free(&base);

    // input errors on the good tiny folder
    if (gaze_model_load(&m, good) == GAZE_OK) {
        struct gaze_run run;
        struct gaze_run_opts o = { 0 };
        // 20 words + [CLS] [SEP] > 16 positions
        const char * longtext = "the cat sat on the mat the cat sat on the mat the cat sat on the mat the cat";
        enum gaze_status s = gaze_model_run(m, longtext, NULL, &o, &run);
        CHECK(status_is(s, GAZE_ERR_LIMIT, "--truncate", "16 positions"), "too long without truncation");
        o.truncate = true;
        s = gaze_model_run(m, longtext, NULL, &o, &run);
        CHECK(s == GAZE_OK && run.T == TP && run.token_ids[0] == 2 && run.token_ids[TP - 1] == 3 &&
              run.token_ids[TP - 2] == 6, "truncate: T %lld (%s)", (long long)run.T, s ? gaze_last_error() : "");
        CHECK(s == GAZE_OK && run.n_cap_layers == TL && run.layers[TL - 1].attn, "truncated run captures");
        if (!s) gaze_run_free(&run);
        o = (struct gaze_run_opts){ 0 };
        s = gaze_model_run(m, "the cat\xff sat", NULL, &o, &run);
        CHECK(status_is(s, GAZE_ERR_FORMAT, "invalid UTF-8", "offset 7"), "invalid UTF-8 text");
        s = gaze_model_run(m, "the cat", "a \xe2\x82", &o, &run);
        CHECK(status_is(s, GAZE_ERR_FORMAT, "pair", "offset 2"), "truncated UTF-8 in the pair");
        s = gaze_model_run(m, "\xc0\xaf", NULL, &o, &run);   // overlong '/'
        CHECK(status_is(s, GAZE_ERR_FORMAT, "invalid UTF-8", "offset 0"), "overlong UTF-8");
        int64_t bad_layer = TL, bad_head = TH, dup[2] = { 1, 1 };
        o.layers = &bad_layer; o.n_layers = 1;
        s = gaze_model_run(m, "the cat", NULL, &o, &run);
        CHECK(status_is(s, GAZE_ERR_INVALID_ARG, "layer 2 out of range", NULL), "layer out of range");
        o = (struct gaze_run_opts){ .heads = &bad_head, .n_heads = 1 };
        s = gaze_model_run(m, "the cat", NULL, &o, &run);
        CHECK(status_is(s, GAZE_ERR_INVALID_ARG, "head 2 out of range", NULL), "head out of range");
        o = (struct gaze_run_opts){ .heads = dup, .n_heads = 2 };
        s = gaze_model_run(m, "the cat", NULL, &o, &run);
        CHECK(status_is(s, GAZE_ERR_INVALID_ARG, "increasing", NULL), "duplicate heads");
        s = gaze_model_run(m, NULL, NULL, NULL, &run);
        CHECK(status_is(s, GAZE_ERR_INVALID_ARG, "NULL", NULL), "NULL text");
        gaze_model_free(m);
    }

    // one thing broken at a time
    static const struct { const char * dir; struct tiny_spec sp; enum gaze_status want; const char * n1, * n2; } cases[] = {
        { "wrong_shape", { .prefix = "", .dtype = GAZE_DTYPE_F32, .reshape = "encoder.layer.1.attention.self.key.weight" },
          GAZE_ERR_FORMAT, "encoder.layer.1.attention.self.key.weight", "shape [8, 9], expected [8, 8]" },
        { "wrong_shape_bias", { .prefix = "bert.", .dtype = GAZE_DTYPE_F32, .reshape = "encoder.layer.0.intermediate.dense.bias" },
          GAZE_ERR_FORMAT, "bert.encoder.layer.0.intermediate.dense.bias", "expected [16]" },
        { "missing", { .prefix = "", .dtype = GAZE_DTYPE_F32, .omit = "encoder.layer.0.output.LayerNorm.bias" },
          GAZE_ERR_FORMAT, "encoder.layer.0.output.LayerNorm.bias", "missing" },
        { "missing_emb", { .prefix = "bert.", .dtype = GAZE_DTYPE_F32, .omit = "embeddings.token_type_embeddings.weight" },
          GAZE_ERR_FORMAT, "token_type_embeddings", "missing" },
        { "i32", { .prefix = "", .dtype = GAZE_DTYPE_F32, .as_i32 = "encoder.layer.1.attention.output.LayerNorm.weight" },
          GAZE_ERR_UNSUPPORTED, "model.safetensors: tensor 'encoder.layer.1.attention.output.LayerNorm.weight'", "I32" },
        { "word_rows", { .prefix = "", .dtype = GAZE_DTYPE_F32, .word_rows = TV + 3 },
          GAZE_ERR_FORMAT, "word_embeddings", "expected [20, 8]" },
        { "no_tokenizer", { .prefix = "", .dtype = GAZE_DTYPE_F32, .no_vocab = true },
          GAZE_ERR_IO, "vocab.txt", NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        new_dir(cases[i].dir, d, sizeof d);
        write_tiny(d, &cases[i].sp);
        CHECK(load_fails(d, cases[i].want, cases[i].n1, cases[i].n2), "tiny folder '%s'", cases[i].dir);
    }

    // config variants of the tiny folder
    char cfg[1024];
    struct { const char * dir, * from, * to; enum gaze_status want; const char * n1, * n2; } cfgs[] = {
        { "vocab_small", "\"vocab_size\": 20", "\"vocab_size\": 16", GAZE_ERR_FORMAT, "tokenizer has 20 tokens", "vocab_size is 16" },
        { "vocab_big", "\"vocab_size\": 20", "\"vocab_size\": 24", GAZE_ERR_FORMAT, "word_embeddings", "expected [24, 8]" },
        { "more_layers", "\"num_hidden_layers\": 2", "\"num_hidden_layers\": 3", GAZE_ERR_FORMAT, "encoder.layer.2.", "missing" },
        { "more_positions", "\"max_position_embeddings\": 16", "\"max_position_embeddings\": 32", GAZE_ERR_FORMAT,
          "position_embeddings", "expected [32, 8]" },
        { "zero_positions", "\"max_position_embeddings\": 16", "\"max_position_embeddings\": 0", GAZE_ERR_FORMAT,
          "max_position_embeddings", NULL },
        { "heads_3", "\"num_attention_heads\": 2", "\"num_attention_heads\": 3", GAZE_ERR_FORMAT, "not a multiple", NULL },
        { "no_intermediate", "\"intermediate_size\": 16, ", "", GAZE_ERR_FORMAT, "intermediate_size", NULL },
        { "hidden_string", "\"hidden_size\": 8", "\"hidden_size\": \"8\"", GAZE_ERR_FORMAT, "hidden_size", NULL },
        { "hidden_negative", "\"hidden_size\": 8", "\"hidden_size\": -8", GAZE_ERR_FORMAT, "hidden_size", NULL },
        { "relative_pos", "\"absolute\"", "\"relative_key\"", GAZE_ERR_UNSUPPORTED, "relative_key", "absolute" },
        { "eps_zero", "\"layer_norm_eps\": 1e-12", "\"layer_norm_eps\": 0", GAZE_ERR_FORMAT, "layer_norm_eps", NULL },
    };
    for (size_t i = 0; i < sizeof cfgs / sizeof *cfgs; i++) {
        const char * tmpl = tiny_config(), * at = strstr(tmpl, cfgs[i].from);
        CHECK(at != NULL, "config template lacks %s", cfgs[i].from);
        if (!at) continue;
        snprintf(cfg, sizeof cfg, "%.*s%s%s", (int)(at - tmpl), tmpl, cfgs[i].to, at + strlen(cfgs[i].from));
        new_dir(cfgs[i].dir, d, sizeof d);
        write_tiny(d, &(struct tiny_spec){ .prefix = "", .dtype = GAZE_DTYPE_F32, .config = cfg });
        CHECK(load_fails(d, cfgs[i].want, cfgs[i].n1, cfgs[i].n2), "tiny config '%s'", cfgs[i].dir);
    }

    // the weights file truncated, and its header corrupted
    char p[600];
    new_dir("truncated", d, sizeof d);
    write_tiny(d, &(struct tiny_spec){ .prefix = "", .dtype = GAZE_DTYPE_F32 });
    snprintf(p, sizeof p, "%s/model.safetensors", d);
    struct stat sb;
    if (stat(p, &sb) == 0) {
        CHECK(truncate(p, sb.st_size - 10) == 0, "truncate %s", p);
        CHECK(load_fails(d, GAZE_ERR_FORMAT, "model.safetensors", NULL), "truncated weights file");
        CHECK(truncate(p, 5) == 0, "truncate %s", p);
        CHECK(load_fails(d, GAZE_ERR_FORMAT, "model.safetensors", NULL), "5-byte weights file");
    }
    new_dir("corrupt_header", d, sizeof d);
    write_tiny(d, &(struct tiny_spec){ .prefix = "", .dtype = GAZE_DTYPE_F32 });
    snprintf(p, sizeof p, "%s/model.safetensors", d);
    FILE * f = fopen(p, "r+b");
    if (f) {   // the first byte of the header JSON: '{' -> '['
        fseek(f, 8, SEEK_SET);
        fputc('[', f);
        fclose(f);
        CHECK(load_fails(d, GAZE_ERR_FORMAT, "model.safetensors", "offset 8"), "corrupted header");
    }
    new_dir("no_weights", d, sizeof d);
    write_tiny(d, &(struct tiny_spec){ .prefix = "", .dtype = GAZE_DTYPE_F32 });
    snprintf(p, sizeof p, "%s/model.safetensors", d);
    unlink(p);
    CHECK(load_fails(d, GAZE_ERR_IO, "model.safetensors", NULL), "no weights file");
    for (int i = 0; i < g_nw; i++) free(g_w[i].data);
}

/* ---------------------------------------------------------------- the real MiniLM folder */

// A folder with MiniLM's weights and tokenizer linked, and config.json = the real one with
// key set to value (JSON text), or raw text when key is NULL (value NULL: no config.json).
static void minilm_variant(const char * real, const char * name, const char * key, const char * value, char * dir, size_t n) {
    new_dir(name, dir, n);
    const char * files[] = { "model.safetensors", "tokenizer.json", "vocab.txt" };
    for (int i = 0; i < 3; i++) {
        char from[4200], to[600];
        snprintf(from, sizeof from, "%s/%s", real, files[i]);
        snprintf(to, sizeof to, "%s/%s", dir, files[i]);
        CHECK(symlink(from, to) == 0, "symlink %s", to);
    }
    if (!value) return;
    if (!key) { write_file(dir, "config.json", value, strlen(value)); return; }
    char cfgp[4200];
    snprintf(cfgp, sizeof cfgp, "%s/config.json", real);
    json_error_t e;
    json_t * cfg = json_load_file(cfgp, 0, &e), * v = json_loads(value, JSON_DECODE_ANY, &e);
    CHECK(cfg && v, "%s: %s", cfgp, e.text);
    if (!cfg || !v) return;
    json_object_set_new(cfg, key, v);
    char * text = json_dumps(cfg, JSON_INDENT(2));
    write_file(dir, "config.json", text, strlen(text));
    free(text);
    json_decref(cfg);
}

static void test_minilm(void) {
    char real[4096], d[512];
    minilm_dir(real, sizeof real);
    struct stat sb;
    char probe[4200];
    snprintf(probe, sizeof probe, "%s/model.safetensors", real);
    CHECK(stat(probe, &sb) == 0, "MiniLM not found at %s (run scripts/fetch-test-models)", real);
    if (stat(probe, &sb) != 0) return;

    minilm_variant(real, "m_identity", "model_type", "\"bert\"", d, sizeof d);
    struct gaze_model * m = NULL;
    CHECK(gaze_model_load(&m, d) == GAZE_OK, "linked MiniLM folder: %s", gaze_last_error());

    minilm_variant(real, "m_no_config", NULL, NULL, d, sizeof d);
    CHECK(load_fails(d, GAZE_ERR_IO, "config.json", NULL), "config.json missing");
    minilm_variant(real, "m_bad_json", NULL, "{\"model_type\": \"bert\", \"hidden_size\": 384,", d, sizeof d);
    CHECK(load_fails(d, GAZE_ERR_FORMAT, "config.json", NULL), "invalid JSON");
    minilm_variant(real, "m_not_object", NULL, "[1, 2]", d, sizeof d);
    CHECK(load_fails(d, GAZE_ERR_FORMAT, "config.json", NULL), "config is an array");
    minilm_variant(real, "m_dup_key", NULL, "{\"model_type\": \"bert\", \"model_type\": \"bert\"}", d, sizeof d);
    CHECK(load_fails(d, GAZE_ERR_FORMAT, "config.json", NULL), "duplicate key");
    minilm_variant(real, "m_xlnet", "model_type", "\"xlnet\"", d, sizeof d);   // gpt2 folders run now (decoder_hf.c)
    CHECK(load_fails(d, GAZE_ERR_UNSUPPORTED, "\"xlnet\" is not supported", "\"bert\""), "model_type xlnet");
    minilm_variant(real, "m_heads", "num_attention_heads", "7", d, sizeof d);
    CHECK(load_fails(d, GAZE_ERR_FORMAT, "hidden_size 384 is not a multiple of num_attention_heads 7", NULL), "heads 7");
    minilm_variant(real, "m_relu", "hidden_act", "\"relu\"", d, sizeof d);
    CHECK(load_fails(d, GAZE_ERR_UNSUPPORTED, "\"relu\"", "gelu"), "hidden_act relu");
    minilm_variant(real, "m_layers", "num_hidden_layers", "7", d, sizeof d);
    CHECK(load_fails(d, GAZE_ERR_FORMAT, "encoder.layer.6.", "missing"), "7 layers in a 6-layer file");
    minilm_variant(real, "m_vocab", "vocab_size", "30000", d, sizeof d);
    CHECK(load_fails(d, GAZE_ERR_FORMAT, "tokenizer has 30522 tokens", "vocab_size is 30000"), "vocab_size 30000");
    minilm_variant(real, "m_hidden", "hidden_size", "768", d, sizeof d);
    CHECK(load_fails(d, GAZE_ERR_FORMAT, "[30522, 384], expected [30522, 768]", NULL), "hidden_size 768");

    // too long for 512 positions: a clear error, or truncation to exactly 512 tokens
    if (m) {
        size_t n = 0;
        char * text = malloc(700 * 6 + 1);
        for (int i = 0; i < 700; i++) n += (size_t)sprintf(text + n, "word ");
        struct gaze_run run;
        struct gaze_run_opts o = { .no_capture = true };
        enum gaze_status s = gaze_model_run(m, text, NULL, &o, &run);
        CHECK(status_is(s, GAZE_ERR_LIMIT, "--truncate", "512 positions"), "700 words without truncation");
        o.truncate = true;
        s = gaze_model_run(m, text, NULL, &o, &run);
        CHECK(s == GAZE_OK && run.T == 512 && run.token_ids[0] == 101 && run.token_ids[511] == 102 && run.embedding,
              "--truncate: T %lld (%s)", (long long)(s ? -1 : run.T), s ? gaze_last_error() : "");
        if (!s) gaze_run_free(&run);
        s = gaze_model_run(m, text, "and a pair", &o, &run);
        CHECK(s == GAZE_OK && run.T == 512 && run.token_ids[511] == 102 && run.token_type_ids[511] == 1,
              "--truncate with a pair: T %lld", (long long)(s ? -1 : run.T));
        if (!s) gaze_run_free(&run);
        // exactly 512 tokens needs no truncation: 510 words
        text[510 * 5] = 0;
        o.truncate = false;
        s = gaze_model_run(m, text, NULL, &o, &run);
        CHECK(s == GAZE_OK && run.T == 512, "510 words = 512 tokens: %s", s ? gaze_last_error() : "");
        if (!s) gaze_run_free(&run);
        text[510 * 5] = 'w';   // 511 words: 513 tokens
        text[511 * 5] = 0;
        s = gaze_model_run(m, text, NULL, &o, &run);
        CHECK(status_is(s, GAZE_ERR_LIMIT, "--truncate", NULL), "513 tokens");
        free(text);
        s = gaze_model_run(m, "caf\xc3\xa9 na\xefve", NULL, &o, &run);
        CHECK(status_is(s, GAZE_ERR_FORMAT, "invalid UTF-8", "offset 8"), "invalid UTF-8 (Latin-1 byte)");
        gaze_model_free(m);
    }
}

int main(void) {
    const char * seed = getenv("GAZE_TEST_SEED");
    if (seed && *seed) g_seed = strtoull(seed, NULL, 0) | 1;
    printf("test_bert_errors: seed 0x%llx (GAZE_TEST_SEED to change)\n", (unsigned long long)g_seed);
    const char * tmp = getenv("TMPDIR");
    snprintf(g_tmp, sizeof g_tmp, "%s/gaze_bert_errors_XXXXXX", tmp && *tmp ? tmp : "/tmp");
    CHECK(mkdtemp(g_tmp) != NULL, "mkdtemp %s", g_tmp);
    test_tiny();
    test_minilm();
    rm_tree(g_tmp);
    return check_summary("test_bert_errors");
}

// BERT encoders from Hugging Face folders (config.json, model.safetensors, tokenizer.json or
// vocab.txt): post-LayerNorm transformer, absolute positions, exact erf GELU, and the
// sentence-transformers embedding (mean pool over tokens, L2 normalise) as a by-product.
#include "models/model.h"
#include "formats/json.h"
#include "formats/runfile.h"
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---------------------------------------------------------------------------------------------
 * Weights
 * ------------------------------------------------------------------------------------------- */

struct bert_layer {
    struct gaze_linear q, k, v, o;     // [C, C] each
    struct gaze_linear ff_in;          // [F, C]
    struct gaze_linear ff_out;         // [C, F]
    const float * ln_attn_w;           // [C] attention.output.LayerNorm
    const float * ln_attn_b;           // [C]
    const float * ln_out_w;            // [C] output.LayerNorm
    const float * ln_out_b;            // [C]
};

#define BERT_WORK_KEPT 8              // workspaces kept for concurrent runs (more are freed)

struct bert_work {
    float * p;                         // [floats]
    size_t  floats;
};

struct bert {
    struct gaze_safetensors * st;
    struct gaze_wordpiece *   tok;
    int64_t C, L, H, d, F, n_vocab, n_pos, n_types;
    float   eps;
    const float * word_emb;            // [n_vocab, C]
    const float * pos_emb;             // [n_pos, C]
    const float * type_emb;            // [n_types, C]
    const float * emb_ln_w;            // [C]
    const float * emb_ln_b;            // [C]
    struct bert_layer * layers;        // [L]
    const char * prefix;               // "" or "bert."
    float ** owned;                    // converted (non-F32 or unaligned) tensors to free
    int64_t  n_owned;
    // Workspaces (activations and scratch) kept across runs: a run takes a free one (growing
    // it if it is too small) and gives it back, so runs on several threads never share one and
    // a run on one thread allocates nothing once the first run has grown it.
    pthread_mutex_t  work_lock;
    struct bert_work work[BERT_WORK_KEPT];   // free workspaces
    int              n_work;
};

static enum gaze_status bert_run(struct gaze_model * model, const char * text, const char * pair,
                                 const struct gaze_run_opts * opts, struct gaze_run * run);

static void bert_free(void * p) {
    struct bert * b = p;
    if (!b) return;
    for (int64_t l = 0; b->layers && l < b->L; l++) {
        struct bert_layer * ly = &b->layers[l];
        struct gaze_linear * lins[6] = { &ly->q, &ly->k, &ly->v, &ly->o, &ly->ff_in, &ly->ff_out };
        for (int i = 0; i < 6; i++) gaze_linear_release(lins[i]);
    }
    for (int i = 0; i < b->n_work; i++) gaze_free_aligned(b->work[i].p);
    pthread_mutex_destroy(&b->work_lock);
    for (int64_t i = 0; i < b->n_owned; i++) gaze_free_aligned(b->owned[i]);
    free(b->owned);
    free(b->layers);
    gaze_wordpiece_free(b->tok);
    gaze_safetensors_free(b->st);
    free(b);
}

// Finds prefix+name, checks its shape, and returns f32 data (mapped or converted).
static enum gaze_status bert_tensor(struct bert * b, const char * name, int64_t d0, int64_t d1,
                                    const float ** out) {
    char full[256];
    snprintf(full, sizeof full, "%s%s", b->prefix, name);
    const struct gaze_st_tensor * t = gaze_safetensors_find(b->st, full);
    if (!t) return gaze_error(GAZE_ERR_FORMAT, "%s: tensor %s is missing", gaze_safetensors_path(b->st), full);
    const int n_dims = d1 > 0 ? 2 : 1;
    if (t->n_dims != n_dims || t->shape[0] != d0 || (n_dims == 2 && t->shape[1] != d1)) {
        char got[32 * GAZE_ST_MAX_DIMS] = "[", want[64];
        for (int i = 0; i < t->n_dims; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", i ? ", " : "", (long long)t->shape[i]);
        strcat(got, "]");
        if (n_dims == 2) snprintf(want, sizeof want, "[%lld, %lld]", (long long)d0, (long long)d1);
        else snprintf(want, sizeof want, "[%lld]", (long long)d0);
        return gaze_error(GAZE_ERR_FORMAT, "%s: tensor %s has shape %s, expected %s",
                          gaze_safetensors_path(b->st), full, got, want);
    }
    float * owned = NULL;
    enum gaze_status s = gaze_st_tensor_as_f32(t, out, &owned);
    if (s) {   // the converter's message names the tensor; add the file
        char msg[512];
        snprintf(msg, sizeof msg, "%s", gaze_last_error());
        return gaze_error(s, "%s: %s", gaze_safetensors_path(b->st), msg);
    }
    if (!owned && n_dims == 1) {
        // vectors (biases, LayerNorm) get their own copy: runs then read no page of the file
        // near the linear weights, whose pages bert_drop_mapped_weights dropped (a read there
        // would map back up to a whole huge page around it)
        if (!(owned = gaze_alloc_aligned((size_t)d0 * sizeof(float))))
            return gaze_error(GAZE_ERR_NOMEM, "bert: out of memory");
        memcpy(owned, *out, (size_t)d0 * sizeof(float));
        *out = owned;
    }
    if (owned) {
        float ** grown = realloc(b->owned, (size_t)(b->n_owned + 1) * sizeof *grown);
        if (!grown) { gaze_free_aligned(owned); return gaze_error(GAZE_ERR_NOMEM, "bert: out of memory"); }
        b->owned = grown;
        b->owned[b->n_owned++] = owned;
    }
    // a NaN or Inf weight would turn every run into silent NaN: refuse it here
    const float * f = *out;
    bool finite = true;
    for (int64_t i = 0; i < t->n_elements; i++) finite &= isfinite(f[i]);
    if (!finite)
        for (int64_t i = 0; i < t->n_elements; i++)
            if (!isfinite(f[i]))
                return gaze_error(GAZE_ERR_NUMERIC, "%s: tensor %s holds a non-finite value (%g) at element %lld",
                                  gaze_safetensors_path(b->st), full, (double)f[i], (long long)i);
    return GAZE_OK;
}

static enum gaze_status bert_linear(struct bert * b, const char * base, int64_t n_out, int64_t n_in,
                                    struct gaze_linear * lin) {
    char name[256];
    const float * w, * bias;
    enum gaze_status s;
    snprintf(name, sizeof name, "%s.weight", base);
    if ((s = bert_tensor(b, name, n_out, n_in, &w))) return s;
    snprintf(name, sizeof name, "%s.bias", base);
    if ((s = bert_tensor(b, name, n_out, 0, &bias))) return s;
    *lin = (struct gaze_linear){ .type = GAZE_TYPE_F32, .n_out = n_out, .n_in = n_in, .weight = w, .bias = bias };
    return gaze_linear_prepare(lin);   // packed once for the GEMM: no per-run packing
}

// Drops this process's mapping of the pages that lie wholly inside a mapped weight.
static void drop_pages(const void * p, size_t bytes) {
    const long page = sysconf(_SC_PAGESIZE);
    if (page <= 0) return;
    const uintptr_t w = (uintptr_t)p, pg = (uintptr_t)page;
    const uintptr_t lo = (w + pg - 1) & ~(pg - 1), hi = (w + bytes) & ~(pg - 1);
    if (hi > lo) (void)madvise((void *)lo, hi - lo, MADV_DONTNEED);   // advisory: failure is harmless
}

// The packed copies replace the file's pages of the linear weights in memory: those pages are
// dropped from this process after each layer and again once every tensor has been read (a
// later read of a neighbour can map them back), and are re-read from the file only if another
// ISA is forced later. So each weight is resident once, not twice (peak RSS included).
// Converted (owned) weights are kept as they are.
static void bert_drop_layer_weights(const struct bert * b, const struct bert_layer * ly) {
    const struct gaze_linear * lins[6] = { &ly->q, &ly->k, &ly->v, &ly->o, &ly->ff_in, &ly->ff_out };
    for (int i = 0; i < 6; i++) {
        bool owned = false;
        for (int64_t j = 0; j < b->n_owned; j++) owned |= (const void *)b->owned[j] == lins[i]->weight;
        if (!owned && lins[i]->prepared)
            drop_pages(lins[i]->weight, (size_t)(lins[i]->n_out * lins[i]->n_in) * sizeof(float));
    }
}

static enum gaze_status bert_config(struct bert * b, const char * folder) {
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", folder);
    json_t * cfg = NULL;
    enum gaze_status s = gaze_json_load_file(&cfg, path, 1 << 20, 0);
    if (s) return s;
    const char * model_type = NULL, * act = NULL, * pos_type = NULL;
    int64_t v;
    double eps = 0;
    s = gaze_json_opt_string(cfg, "model_type", path, "", &model_type);
    if (!s && strcmp(model_type, "bert") != 0)
        s = gaze_error(GAZE_ERR_UNSUPPORTED,
                       "%s: model_type \"%s\" is not supported; gaze runs BERT encoders from folders "
                       "(model_type \"bert\") and Llama decoders from .gguf files", path, model_type);
    if (!s) s = gaze_json_get_int_range(cfg, "hidden_size", path, 1, 1 << 16, &b->C);
    if (!s) s = gaze_json_get_int_range(cfg, "num_attention_heads", path, 1, 1024, &b->H);
    if (!s) s = gaze_json_get_int_range(cfg, "num_hidden_layers", path, 1, 1024, &b->L);
    if (!s) s = gaze_json_get_int_range(cfg, "intermediate_size", path, 1, 1 << 18, &b->F);
    if (!s) s = gaze_json_get_int_range(cfg, "vocab_size", path, 1, 1 << 24, &b->n_vocab);
    if (!s) s = gaze_json_opt_int(cfg, "max_position_embeddings", path, 512, &b->n_pos);
    if (!s) s = gaze_json_opt_int(cfg, "type_vocab_size", path, 2, &b->n_types);
    if (!s) s = gaze_json_opt_number(cfg, "layer_norm_eps", path, 1e-12, &eps);
    if (!s) s = gaze_json_opt_string(cfg, "hidden_act", path, "gelu", &act);
    if (!s) s = gaze_json_opt_string(cfg, "position_embedding_type", path, "absolute", &pos_type);
    if (!s && (b->n_pos < 1 || b->n_pos > (1 << 20) || b->n_types < 1 || b->n_types > 1024))
        s = gaze_error(GAZE_ERR_FORMAT, "%s: max_position_embeddings %lld or type_vocab_size %lld out of range",
                       path, (long long)b->n_pos, (long long)b->n_types);
    if (!s && b->C % b->H != 0)
        s = gaze_error(GAZE_ERR_FORMAT, "%s: hidden_size %lld is not a multiple of num_attention_heads %lld",
                       path, (long long)b->C, (long long)b->H);
    if (!s && (b->C / b->H > 256))
        s = gaze_error(GAZE_ERR_UNSUPPORTED, "%s: head size %lld above 256", path, (long long)(b->C / b->H));
    if (!s && strcmp(act, "gelu") != 0)
        s = gaze_error(GAZE_ERR_UNSUPPORTED, "%s: hidden_act \"%s\" is not supported (only \"gelu\", exact erf)", path, act);
    if (!s && strcmp(pos_type, "absolute") != 0)
        s = gaze_error(GAZE_ERR_UNSUPPORTED, "%s: position_embedding_type \"%s\" is not supported (only \"absolute\")",
                       path, pos_type);
    if (!s && !(eps > 0 && eps < 1)) s = gaze_error(GAZE_ERR_FORMAT, "%s: layer_norm_eps %g out of range", path, eps);
    (void)v;
    b->eps = (float)eps;
    b->d = s ? 0 : b->C / b->H;   // H is unset (0) when an earlier field failed
    json_decref(cfg);
    return s;
}

enum gaze_status bert_load(struct gaze_model * model, const char * folder) {
    struct bert * b = calloc(1, sizeof *b);
    if (!b) return gaze_error(GAZE_ERR_NOMEM, "bert: out of memory");
    pthread_mutex_init(&b->work_lock, NULL);
    enum gaze_status s = bert_config(b, folder);
    char path[4096];
    if (!s) {
        snprintf(path, sizeof path, "%s/model.safetensors", folder);
        s = gaze_safetensors_open(&b->st, path);
    }
    if (!s) s = gaze_wordpiece_init(&b->tok, folder);
    if (!s && gaze_wordpiece_vocab_size(b->tok) > b->n_vocab)
        s = gaze_error(GAZE_ERR_FORMAT, "%s: tokenizer has %d tokens but vocab_size is %lld", folder,
                       gaze_wordpiece_vocab_size(b->tok), (long long)b->n_vocab);
    if (!s) {
        b->prefix = gaze_safetensors_find(b->st, "bert.embeddings.word_embeddings.weight") ? "bert." : "";
        s = bert_tensor(b, "embeddings.word_embeddings.weight", b->n_vocab, b->C, &b->word_emb);
    }
    if (!s) s = bert_tensor(b, "embeddings.position_embeddings.weight", b->n_pos, b->C, &b->pos_emb);
    if (!s) s = bert_tensor(b, "embeddings.token_type_embeddings.weight", b->n_types, b->C, &b->type_emb);
    if (!s) s = bert_tensor(b, "embeddings.LayerNorm.weight", b->C, 0, &b->emb_ln_w);
    if (!s) s = bert_tensor(b, "embeddings.LayerNorm.bias", b->C, 0, &b->emb_ln_b);
    if (!s && !(b->layers = calloc((size_t)b->L, sizeof *b->layers))) s = gaze_error(GAZE_ERR_NOMEM, "bert: out of memory");
    for (int64_t l = 0; l < b->L && !s; l++) {
        struct bert_layer * ly = &b->layers[l];
        char base[128];
#define LIN(suffix, no, ni, field) \
        if (!s) { snprintf(base, sizeof base, "encoder.layer.%lld.%s", (long long)l, suffix); s = bert_linear(b, base, no, ni, field); }
#define VEC(suffix, field) \
        if (!s) { snprintf(base, sizeof base, "encoder.layer.%lld.%s", (long long)l, suffix); s = bert_tensor(b, base, b->C, 0, field); }
        LIN("attention.self.query", b->C, b->C, &ly->q)
        LIN("attention.self.key", b->C, b->C, &ly->k)
        LIN("attention.self.value", b->C, b->C, &ly->v)
        LIN("attention.output.dense", b->C, b->C, &ly->o)
        LIN("intermediate.dense", b->F, b->C, &ly->ff_in)
        LIN("output.dense", b->C, b->F, &ly->ff_out)
        VEC("attention.output.LayerNorm.weight", &ly->ln_attn_w)
        VEC("attention.output.LayerNorm.bias", &ly->ln_attn_b)
        VEC("output.LayerNorm.weight", &ly->ln_out_w)
        VEC("output.LayerNorm.bias", &ly->ln_out_b)
        // drop as we go too (keeps the load's peak down); the final pass after the loop
        // drops again what reading later tensors mapped back
        if (!s) bert_drop_layer_weights(b, ly);
#undef LIN
#undef VEC
    }
    if (s) { bert_free(b); return s; }
    for (int64_t l = 0; l < b->L; l++) bert_drop_layer_weights(b, &b->layers[l]);
    model->impl = b;
    model->free_impl = bert_free;
    model->info = (struct gaze_model_info){
        .arch = GAZE_ARCH_BERT, .arch_name = "bert", .n_vocab = b->n_vocab, .n_embd = b->C,
        .n_layers = b->L, .n_heads = b->H, .n_kv_heads = b->H, .head_dim = b->d, .n_ff = b->F,
        .n_ctx = b->n_pos, .causal = false,
    };
    model->run = bert_run;
    return GAZE_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Forward pass
 * ------------------------------------------------------------------------------------------- */

// Metadata and tokens of the run (everything but the captured tensors).
static enum gaze_status bert_run_header(struct gaze_model * model, const struct bert * b,
                                        const struct gaze_encoding * enc, const char * text,
                                        const char * pair, struct gaze_run * run) {
    const int64_t T = enc->n_tokens;
    const char ** toks = malloc((size_t)T * sizeof *toks);
    if (!toks) return gaze_error(GAZE_ERR_NOMEM, "bert: out of memory");
    for (int64_t t = 0; t < T; t++) {
        toks[t] = gaze_wordpiece_token(b->tok, enc->ids[t]);
        if (!toks[t]) toks[t] = "";
    }
    enum gaze_status s = gaze_run_set_tokens(run, T, toks, NULL, enc->ids, enc->offsets);
    free(toks);
    if (s) return s;
    run->token_type_ids = malloc((size_t)T * sizeof(int32_t));
    run->sequence_ids = malloc((size_t)T * sizeof(int8_t));
    run->model = strdup(model->path);
    run->arch = strdup("bert");
    run->text = strdup(text);
    run->pair = pair ? strdup(pair) : NULL;
    if (!run->token_type_ids || !run->sequence_ids || !run->model || !run->arch || !run->text || (pair && !run->pair))
        return gaze_error(GAZE_ERR_NOMEM, "bert: out of memory");
    memcpy(run->token_type_ids, enc->type_ids, (size_t)T * sizeof(int32_t));
    memcpy(run->sequence_ids, enc->sequence_ids, (size_t)T * sizeof(int8_t));
    run->causal = false;
    run->n_layers = b->L;
    run->n_heads = run->n_kv_heads = b->H;
    run->d_head = b->d;
    run->n_embd = b->C;
    return GAZE_OK;
}

// Takes a free workspace of at least need floats: the smallest kept one that fits (so the
// big ones stay free for long inputs on other threads), else the largest, grown (never
// shrunk, so later runs touch no new pages). Empty (p NULL) when out of memory.
static struct bert_work work_take(struct bert * b, size_t need) {
    struct bert_work w = { 0 };
    pthread_mutex_lock(&b->work_lock);
    int best = -1;
    for (int i = 0; i < b->n_work; i++) {
        const size_t f = b->work[i].floats, bf = best >= 0 ? b->work[best].floats : 0;
        const bool fits = f >= need, best_fits = best >= 0 && bf >= need;
        if (best < 0 || (fits && (!best_fits || f < bf)) || (!fits && !best_fits && f > bf)) best = i;
    }
    if (best >= 0) {
        w = b->work[best];
        b->work[best] = b->work[--b->n_work];
    }
    pthread_mutex_unlock(&b->work_lock);
    if (w.floats < need) {
        gaze_free_aligned(w.p);
        w.p = gaze_alloc_aligned(need * sizeof(float));
        w.floats = w.p ? need : 0;
    }
    return w;
}

static void work_give(struct bert * b, struct bert_work w) {
    if (!w.p) return;
    pthread_mutex_lock(&b->work_lock);
    const bool kept = b->n_work < BERT_WORK_KEPT;
    if (kept) b->work[b->n_work++] = w;
    pthread_mutex_unlock(&b->work_lock);
    if (!kept) gaze_free_aligned(w.p);
}

// One encoder layer on x [T, C] in place: attention (y), add & LN, FFN (ff) onto x, LN.
static enum gaze_status bert_layer(const struct bert * b, const struct bert_layer * ly, const struct gaze_mha * mha,
                                   float * x, float * y, float * ff, float * scratch, const struct gaze_attn_mask * mask,
                                   struct gaze_mha_capture * cap, const struct gaze_mha_extra * ex, int64_t T,
                                   int n_threads, int64_t l) {
    const int64_t C = b->C;
    enum gaze_status s;
    if ((s = gaze_mha_forward_ex(mha, x, T, NULL, mask, NULL, cap, ex, y, scratch, n_threads))) return s;
    // finite but huge weights can still overflow f32: refuse rather than return NaN
    int64_t bad = gaze_add_layer_norm(x, y, x, T, C, ly->ln_attn_w, ly->ln_attn_b, b->eps, n_threads);
    if (!bad) {
        // FFN: GELU fused into the first GEMM; the second adds onto the residual stream x
        if ((s = gaze_linear_forward_ex(&ly->ff_in, x, T, ff, GAZE_GEMM_GELU, n_threads))) return s;
        if ((s = gaze_linear_forward_ex(&ly->ff_out, ff, T, x, GAZE_GEMM_ACCUMULATE, n_threads))) return s;
        bad = gaze_add_layer_norm(x, NULL, x, T, C, ly->ln_out_w, ly->ln_out_b, b->eps, n_threads);
    }
    if (bad) return gaze_error(GAZE_ERR_NUMERIC, "bert: layer %lld: activations overflowed to Inf/NaN", (long long)l);
    return GAZE_OK;
}

// What a run with attributions (opts->attrib) or knockout (opts->knockout) holds besides the
// workspace.
struct bert_extra {
    struct gaze_attrib * attrib;       // opts->attrib when it asks for something
    float * alpha;                     // [H, T, T] every head's weights
    float * vo;                        // [H, T, C] f_h(x_j)
    float * x_in;                      // [T, C] the layer's input
    float * x_z;                       // [T, C] value zeroing: the layer rerun
    float * bias;                      // [T, T] knockout: -inf on blocked edges
    struct gaze_attn_mask mask;
};

static void extra_free(struct bert_extra * e) {
    free(e->alpha); free(e->vo); free(e->x_in); free(e->x_z); free(e->bias);
    memset(e, 0, sizeof *e);
}

static enum gaze_status extra_init(struct bert_extra * e, const struct bert * b, const struct gaze_run_opts * opts,
                                   int64_t T) {
    const int64_t L = b->L, H = b->H, C = b->C;
    for (int64_t k = 0; k < opts->n_knockout; k++) {
        const struct gaze_knockout * ko = &opts->knockout[k];
        if (ko->layer < -1 || ko->layer >= L || ko->query < -1 || ko->query >= T || ko->key < 0 || ko->key >= T)
            return gaze_error(GAZE_ERR_INVALID_ARG, "bert: knockout edge %lld (layer %lld, query %lld, key %lld) "
                              "outside %lld layers and %lld tokens", (long long)k, (long long)ko->layer,
                              (long long)ko->query, (long long)ko->key, (long long)L, (long long)T);
    }
    if (opts->n_knockout > 0 && !(e->bias = malloc((size_t)(T * T) * sizeof(float))))
        return gaze_error(GAZE_ERR_NOMEM, "bert: out of memory for the knockout mask");
    struct gaze_attrib * a = opts->attrib;
    if (!a || !a->want) return GAZE_OK;
    char what[96], mb[32];
    const double need = model_attrib_bytes(a->want, L, H, T);
    snprintf(what, sizeof what, "attribution matrices of %lld tokens: %s", (long long)T, model_format_bytes(need, mb, sizeof mb));
    enum gaze_status s = model_check_memory("attributions", opts, need, what);
    if (s) return s;
    gaze_attrib_free(a);
    a->n_layers = L; a->n_heads = H; a->T = T;
    const size_t m = (size_t)(L * T * T) * sizeof(float);
    bool ok = (e->alpha = malloc((size_t)(H * T * T) * sizeof(float))) && (e->vo = malloc((size_t)(H * T * C) * sizeof(float))) &&
              (e->x_in = malloc((size_t)(T * C) * sizeof(float))) && (e->x_z = malloc((size_t)(T * C) * sizeof(float)));
    if (ok && (a->want & GAZE_ATTRIB_VNORM)) ok = (a->vnorm_heads = malloc(m * (size_t)H)) && (a->vnorm = malloc(m));
    if (ok && (a->want & GAZE_ATTRIB_RESLN)) ok = (a->resln = malloc(m)) != NULL;
    if (ok && (a->want & GAZE_ATTRIB_ALTI)) ok = (a->alti = malloc(m)) != NULL;
    if (ok && (a->want & GAZE_ATTRIB_VZERO)) ok = (a->vzero = malloc(m)) != NULL;
    if (!ok) { gaze_attrib_free(a); return gaze_error(GAZE_ERR_NOMEM, "bert: out of memory for attributions"); }
    e->attrib = a;
    return GAZE_OK;
}

// The mask of layer l: NULL without knockout edges there.
static const struct gaze_attn_mask * extra_mask(struct bert_extra * e, const struct gaze_run_opts * opts, int64_t l,
                                                int64_t T) {
    bool any = false;
    for (int64_t k = 0; k < opts->n_knockout; k++) any |= opts->knockout[k].layer == -1 || opts->knockout[k].layer == l;
    if (!any) return NULL;
    for (int64_t i = 0; i < T * T; i++) e->bias[i] = 0.0f;
    for (int64_t k = 0; k < opts->n_knockout; k++) {
        const struct gaze_knockout * ko = &opts->knockout[k];
        if (ko->layer != -1 && ko->layer != l) continue;
        for (int64_t i = ko->query < 0 ? 0 : ko->query; i < (ko->query < 0 ? T : ko->query + 1); i++)
            e->bias[i * T + ko->key] = -INFINITY;
    }
    memset(&e->mask, 0, sizeof e->mask);
    e->mask.window_left = e->mask.window_right = -1;
    e->mask.bias = e->bias;
    e->mask.bias_st = T;
    return &e->mask;
}

// After layer l ran (x: its output; e->x_in its input, e->alpha / e->vo its attention): the
// attributions of that layer.
static enum gaze_status extra_layer(struct bert_extra * e, const struct bert * b, const struct bert_layer * ly,
                                    const struct gaze_mha * mha, const float * x, float * y, float * ff, float * scratch,
                                    const struct gaze_attn_mask * mask, int64_t T, int n_threads, int64_t l) {
    struct gaze_attrib * a = e->attrib;
    const int64_t H = b->H, C = b->C, TT = T * T;
    const struct gaze_attrib_block blk = { H, T, C, e->alpha, e->vo, e->x_in, ly->o.bias, ly->ln_attn_w, ly->ln_attn_b, b->eps };
    enum gaze_status s = gaze_attrib_block_compute(&blk, a->vnorm_heads ? a->vnorm_heads + l * H * TT : NULL,
                                                   a->vnorm ? a->vnorm + l * TT : NULL, a->resln ? a->resln + l * TT : NULL,
                                                   a->alti ? a->alti + l * TT : NULL);
    if (s || !a->vzero) return s;
    // value zeroing: the layer again from its input with token j's value vector zeroed;
    // score = cosine distance of each output token's vector, rows normalised
    float * vz = a->vzero + l * TT;
    for (int64_t j = 0; j < T && !s; j++) {
        memcpy(e->x_z, e->x_in, (size_t)(T * C) * sizeof(float));
        const struct gaze_mha_extra zx = { .zero_value = &j };
        s = bert_layer(b, ly, mha, e->x_z, y, ff, scratch, mask, NULL, &zx, T, n_threads, l);
        for (int64_t i = 0; i < T && !s; i++) vz[i * T + j] = (float)gaze_cosine_distance(x + i * C, e->x_z + i * C, C);
    }
    for (int64_t i = 0; i < T && !s; i++) {
        double sum = 0;
        for (int64_t j = 0; j < T; j++) sum += vz[i * T + j];
        for (int64_t j = 0; j < T; j++) vz[i * T + j] = sum > 0 ? (float)(vz[i * T + j] / sum) : 0.0f;
    }
    return s;
}

static enum gaze_status bert_run(struct gaze_model * model, const char * text, const char * pair,
                                 const struct gaze_run_opts * opts, struct gaze_run * run) {
    struct bert * b = model->impl;
    const int64_t C = b->C, F = b->F;
    struct gaze_encoding enc;
    memset(&enc, 0, sizeof enc);
    struct gaze_encode_opts eo = { 0 };
    eo.max_len = opts->max_len > 0 ? GAZE_MIN(opts->max_len, b->n_pos) : b->n_pos;
    eo.truncation = (opts->truncate || opts->max_len > 0) ? GAZE_TRUNCATION_LONGEST_FIRST : GAZE_TRUNCATION_NONE;
    gaze_run_init(run);
    enum gaze_status s = gaze_wordpiece_encode(b->tok, text, strlen(text), pair, pair ? strlen(pair) : 0, &eo, &enc);
    if (s == GAZE_ERR_LIMIT) {   // copy first: the message buffer cannot be its own source
        char msg[512];
        snprintf(msg, sizeof msg, "%s", gaze_last_error());
        s = gaze_error(GAZE_ERR_LIMIT, "%s (the model has %lld positions; use --truncate to cut the input)",
                       msg, (long long)b->n_pos);
    }
    if (s) { gaze_encoding_free(&enc); return s; }
    const int64_t T = enc.n_tokens;
    for (int64_t t = 0; t < T; t++)
        if (enc.type_ids[t] < 0 || enc.type_ids[t] >= b->n_types || enc.ids[t] < 0 || enc.ids[t] >= b->n_vocab) {
            gaze_encoding_free(&enc);
            return gaze_error(GAZE_ERR_FORMAT, "bert: token %lld has id %d / type %d outside the model's tables",
                              (long long)t, enc.ids[t], enc.type_ids[t]);
        }

    s = bert_run_header(model, b, &enc, text, pair, run);
    if (!s) s = gaze_run_set_capture(run, opts->heads, opts->heads ? opts->n_heads : b->H, NULL, T);

    struct gaze_mha mha = { C, b->H, b->H, b->d, NULL, NULL, NULL, NULL, GAZE_ROPE_NONE, 0, 0.0f, 0.0f, NULL, false, NULL, NULL, 0.0f, 0.0f, NULL, 0.0f };
    const size_t mha_scratch = gaze_mha_scratch_floats(&mha, T);
    const size_t need = (size_t)T * (2 * C + F) + mha_scratch + (size_t)C;
    if (!s) {   // what the run will hold, before any of it is allocated
        const int64_t Hc = opts->heads ? opts->n_heads : b->H;
        const double cap = model_capture_bytes(opts, b->L, Hc, T, b->d, C), work_b = (double)need * sizeof(float);
        char what[160], x[32], y[32];
        snprintf(what, sizeof what, "%lld tokens: captured arrays %s, work buffers %s", (long long)T,
                 model_format_bytes(cap, x, sizeof x), model_format_bytes(work_b, y, sizeof y));
        s = model_check_memory("bert", opts, cap + work_b, what);
    }
    struct bert_work work = { 0 };
    if (!s && !(work = work_take(b, need)).p) s = GAZE_ERR_NOMEM;
    float * buf = s ? NULL : work.p;
    float * x = buf, * y = x + T * C, * ff = y + T * C, * scratch = ff + T * F;

    // embeddings: word + position + token type, LayerNorm
    for (int64_t t = 0; t < T && !s; t++) {
        const float * w = b->word_emb + (int64_t)enc.ids[t] * C, * p = b->pos_emb + t * C;
        const float * ty = b->type_emb + (int64_t)enc.type_ids[t] * C;
        for (int64_t c = 0; c < C; c++) x[t * C + c] = w[c] + p[c] + ty[c];
    }
    if (!s && gaze_add_layer_norm(x, NULL, x, T, C, b->emb_ln_w, b->emb_ln_b, b->eps, opts->n_threads))
        s = gaze_error(GAZE_ERR_NUMERIC, "bert: embeddings overflowed to Inf/NaN");

    // attributions and knockout: their buffers, per run (capture path only)
    struct bert_extra ex = { 0 };
    if (!s) s = extra_init(&ex, b, opts, T);

    for (int64_t l = 0; l < b->L && !s; l++) {
        const struct bert_layer * ly = &b->layers[l];
        mha.wq = &ly->q; mha.wk = &ly->k; mha.wv = &ly->v; mha.wo = &ly->o;
        mha.head_mask = opts->head_mask ? opts->head_mask + l * b->H : NULL;
        mha.ablate_mean = opts->ablate_mean;
        struct gaze_run_layer * cap_layer = NULL;
        struct gaze_mha_capture cap = { 0 };
        if (model_layer_wanted(opts, l)) {
            unsigned parts = opts->parts ? opts->parts : GAZE_RUN_PART_ATTN;
            // every part is written below: weights/scores/q/k by gaze_mha_forward, hidden by the memcpy
            if ((s = run_add_layer_unzeroed(run, l, parts, &cap_layer)) || (s = model_summary_layer(opts, run, cap_layer))) break;
            cap = (struct gaze_mha_capture){ run->heads, run->n_heads_cap, cap_layer->attn, cap_layer->scores,
                                             cap_layer->q, cap_layer->k,
                                             cap_layer->summary.entropy ? &cap_layer->summary : NULL };
        }
        const struct gaze_attn_mask * mask = extra_mask(&ex, opts, l, T);
        if (ex.attrib) {
            // every head's weights and value contributions for the attributions; the run's own
            // capture (attention of its heads) is copied from them
            if (cap_layer && (cap_layer->scores || cap_layer->q || cap_layer->k)) {
                s = gaze_error(GAZE_ERR_INVALID_ARG, "bert: attributions capture attention and hidden states only "
                               "(not scores, q or k)");
                break;
            }
            memcpy(ex.x_in, x, (size_t)(T * C) * sizeof(float));
            struct gaze_mha_capture acap = { NULL, b->H, ex.alpha, NULL, NULL, NULL, NULL };
            const struct gaze_mha_extra vx = { .vo = ex.vo };
            if ((s = bert_layer(b, ly, &mha, x, y, ff, scratch, mask, &acap, &vx, T, opts->n_threads, l))) break;
            for (int64_t n = 0; cap_layer && cap_layer->attn && n < run->n_heads_cap; n++)
                memcpy(cap_layer->attn + n * T * T, ex.alpha + run->heads[n] * T * T, (size_t)(T * T) * sizeof(float));
            if ((s = extra_layer(&ex, b, ly, &mha, x, y, ff, scratch, mask, T, opts->n_threads, l))) break;
        } else if ((s = bert_layer(b, ly, &mha, x, y, ff, scratch, mask, cap_layer ? &cap : NULL, NULL, T, opts->n_threads, l)))
            break;
        if (cap_layer && cap_layer->hidden) memcpy(cap_layer->hidden, x, (size_t)(T * C) * sizeof(float));
    }
    extra_free(&ex);

    // sentence-transformers embedding: mean over tokens, then L2 normalisation
    if (!s) {
        run->embedding = malloc((size_t)C * sizeof(float));
        if (!run->embedding) s = gaze_error(GAZE_ERR_NOMEM, "bert: out of memory");
        else {
            gaze_mean_pool(x, NULL, T, C, run->embedding);
            gaze_l2_normalize(run->embedding, run->embedding, 1, C, 1e-12f);
        }
    }
    work_give(b, work);
    gaze_encoding_free(&enc);
    if (s) {
        if (s == GAZE_ERR_NOMEM && !*gaze_last_error()) gaze_error(s, "bert: out of memory");
        gaze_run_free(run);
    }
    return s;
}

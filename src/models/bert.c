// BERT encoders from Hugging Face folders (config.json, model.safetensors, tokenizer.json or
// vocab.txt): post-LayerNorm transformer, absolute positions, exact erf GELU, and the
// sentence-transformers embedding (mean pool over tokens, L2 normalise) as a by-product.
#include "models/encoder.h"
#include "formats/json.h"
#include "formats/runfile.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * Weights
 * ------------------------------------------------------------------------------------------- */

struct bert {
    struct enc_weights w;              // model.safetensors under "" or "bert."
    struct gaze_wordpiece *   tok;
    int64_t C, L, H, d, F, n_vocab, n_pos, n_types;
    float   eps;
    const float * word_emb;            // [n_vocab, C]
    const float * pos_emb;             // [n_pos, C]
    const float * type_emb;            // [n_types, C]
    const float * emb_ln_w;            // [C]
    const float * emb_ln_b;            // [C]
    struct enc_layer * layers;         // [L]: attention.output.LayerNorm is ln1, output.LayerNorm ln2
    struct enc_pool pool;              // run workspaces (activations and scratch)
};

static enum gaze_status bert_run(struct gaze_model * model, const char * text, const char * pair,
                                 const struct gaze_run_opts * opts, struct gaze_run * run);

static void bert_free(void * p) {
    struct bert * b = p;
    if (!b) return;
    for (int64_t l = 0; b->layers && l < b->L; l++) enc_layer_release(&b->layers[l]);
    enc_pool_free(&b->pool);
    free(b->layers);
    gaze_wordpiece_free(b->tok);
    enc_weights_free(&b->w);
    free(b);
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
    enc_pool_init(&b->pool);
    b->w.arch = "bert";
    b->w.prefix = "";
    enum gaze_status s = bert_config(b, folder);
    char path[4096];
    if (!s) {
        snprintf(path, sizeof path, "%s/model.safetensors", folder);
        s = gaze_safetensors_open(&b->w.st, path);
    }
    if (!s) s = gaze_wordpiece_init(&b->tok, folder);
    if (!s && gaze_wordpiece_vocab_size(b->tok) > b->n_vocab)
        s = gaze_error(GAZE_ERR_FORMAT, "%s: tokenizer has %d tokens but vocab_size is %lld", folder,
                       gaze_wordpiece_vocab_size(b->tok), (long long)b->n_vocab);
    if (!s) {
        b->w.prefix = gaze_safetensors_find(b->w.st, "bert.embeddings.word_embeddings.weight") ? "bert." : "";
        s = enc_tensor2(&b->w, "embeddings.word_embeddings.weight", b->n_vocab, b->C, &b->word_emb);
    }
    if (!s) s = enc_tensor2(&b->w, "embeddings.position_embeddings.weight", b->n_pos, b->C, &b->pos_emb);
    if (!s) s = enc_tensor2(&b->w, "embeddings.token_type_embeddings.weight", b->n_types, b->C, &b->type_emb);
    if (!s) s = enc_tensor2(&b->w, "embeddings.LayerNorm.weight", b->C, 0, &b->emb_ln_w);
    if (!s) s = enc_tensor2(&b->w, "embeddings.LayerNorm.bias", b->C, 0, &b->emb_ln_b);
    if (!s && !(b->layers = calloc((size_t)b->L, sizeof *b->layers))) s = gaze_error(GAZE_ERR_NOMEM, "bert: out of memory");
    for (int64_t l = 0; l < b->L && !s; l++) {
        struct enc_layer * ly = &b->layers[l];
        char base[128];
#define LIN(suffix, no, ni, field) \
        if (!s) { snprintf(base, sizeof base, "encoder.layer.%lld.%s", (long long)l, suffix); s = enc_linear(&b->w, base, no, ni, true, field); }
#define VEC(suffix, field) \
        if (!s) { snprintf(base, sizeof base, "encoder.layer.%lld.%s", (long long)l, suffix); s = enc_tensor2(&b->w, base, b->C, 0, field); }
        LIN("attention.self.query", b->C, b->C, &ly->q)
        LIN("attention.self.key", b->C, b->C, &ly->k)
        LIN("attention.self.value", b->C, b->C, &ly->v)
        LIN("attention.output.dense", b->C, b->C, &ly->o)
        LIN("intermediate.dense", b->F, b->C, &ly->ff_in)
        LIN("output.dense", b->C, b->F, &ly->ff_out)
        VEC("attention.output.LayerNorm.weight", &ly->ln1_w)
        VEC("attention.output.LayerNorm.bias", &ly->ln1_b)
        VEC("output.LayerNorm.weight", &ly->ln2_w)
        VEC("output.LayerNorm.bias", &ly->ln2_b)
        // drop as we go too (keeps the load's peak down); the final pass after the loop
        // drops again what reading later tensors mapped back
        if (!s) enc_drop_layer_weights(&b->w, ly);
#undef LIN
#undef VEC
    }
    if (s) { bert_free(b); return s; }
    for (int64_t l = 0; l < b->L; l++) enc_drop_layer_weights(&b->w, &b->layers[l]);
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

    const struct enc_shape sh = { C, b->H, b->d, F, b->eps, false, "bert", ENC_GELU };
    const size_t need = (size_t)T * C + enc_layer_work_floats(&sh, T);
    if (!s) {   // what the run will hold, before any of it is allocated
        const int64_t Hc = opts->heads ? opts->n_heads : b->H;
        const double cap = model_capture_bytes(opts, b->L, Hc, T, b->d, C), work_b = (double)need * sizeof(float);
        char what[160], x[32], y[32];
        snprintf(what, sizeof what, "%lld tokens: captured arrays %s, work buffers %s", (long long)T,
                 model_format_bytes(cap, x, sizeof x), model_format_bytes(work_b, y, sizeof y));
        s = model_check_memory("bert", opts, cap + work_b, what);
    }
    struct enc_work work = { 0 };
    if (!s && !(work = enc_work_take(&b->pool, need)).p) s = GAZE_ERR_NOMEM;
    float * x = work.p, * rest = x ? x + T * C : NULL;

    // embeddings: word + position + token type, LayerNorm
    for (int64_t t = 0; t < T && !s; t++) {
        const float * w = b->word_emb + (int64_t)enc.ids[t] * C, * p = b->pos_emb + t * C;
        const float * ty = b->type_emb + (int64_t)enc.type_ids[t] * C;
        for (int64_t c = 0; c < C; c++) x[t * C + c] = w[c] + p[c] + ty[c];
    }
    if (!s && gaze_add_layer_norm(x, NULL, x, T, C, b->emb_ln_w, b->emb_ln_b, b->eps, opts->n_threads))
        s = gaze_error(GAZE_ERR_NUMERIC, "bert: embeddings overflowed to Inf/NaN");

    // attributions and knockout: their buffers, per run
    struct enc_extra ex = { 0 };
    if (!s) s = enc_extra_init(&ex, &sh, b->L, opts, T);
    for (int64_t l = 0; l < b->L && !s; l++) s = enc_layer_forward(&sh, &b->layers[l], l, x, T, rest, opts, run, &ex);
    enc_extra_free(&ex);

    // sentence-transformers embedding: mean over tokens, then L2 normalisation
    if (!s) {
        run->embedding = malloc((size_t)C * sizeof(float));
        if (!run->embedding) s = gaze_error(GAZE_ERR_NOMEM, "bert: out of memory");
        else {
            gaze_mean_pool(x, NULL, T, C, run->embedding);
            gaze_l2_normalize(run->embedding, run->embedding, 1, C, 1e-12f);
        }
    }
    enc_work_give(&b->pool, work);
    gaze_encoding_free(&enc);
    if (s) {
        if (s == GAZE_ERR_NOMEM && !*gaze_last_error()) gaze_error(s, "bert: out of memory");
        gaze_run_free(run);
    }
    return s;
}

// BERT-like text encoders from Hugging Face folders (config.json, model.safetensors,
// tokenizer.json or vocab.txt): BERT, RoBERTa, DistilBERT and ELECTRA (the discriminator's
// encoder). Post-LayerNorm layers from encoder.c, learned absolute positions, exact erf GELU,
// and the sentence-transformers embedding (mean pool over tokens, L2 normalise) as a
// by-product. What tells the families apart is one entry each in families[]: config key and
// weight names, the tokenizer, RoBERTa's position offset, token types, ELECTRA's projection.
#include "models/encoder.h"
#include "formats/json.h"
#include "formats/runfile.h"
#include "text/tokenizer.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * Families
 * ------------------------------------------------------------------------------------------- */

struct bert_family {
    const char * model_type;
    const char * prefix;               // the base model's name in task checkpoints ("roberta.")
    const char * keys[5];              // config: width, heads, layers, FFN width, activation
    const char * layer;                // a layer's tensor names: printf format of its index
    const char * lin[6];               // q, k, v, o, FFN in, FFN out (".weight", ".bias" added)
    const char * ln[2];                // LayerNorm after the attention, after the FFN
    bool types;                        // token type embeddings (type_vocab_size)
    bool eps_key;                      // layer_norm_eps read (DistilBERT hard-codes 1e-12)
    bool pos_offset;                   // positions count from padding_idx + 1 (RoBERTa)
    bool project;                      // embedding_size and embeddings_project (ELECTRA)
    bool bpe;                          // tokenizer.json BPE, <s> A </s></s> B </s> (else WordPiece)
};

#define BERT_KEYS { "hidden_size", "num_attention_heads", "num_hidden_layers", "intermediate_size", "hidden_act" }
#define BERT_LIN { "attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense", \
                   "intermediate.dense", "output.dense" }
#define BERT_LN { "attention.output.LayerNorm", "output.LayerNorm" }

static const struct bert_family families[] = {
    { "bert", "bert.", BERT_KEYS, "encoder.layer.%lld.", BERT_LIN, BERT_LN, true, true, false, false, false },
    { "roberta", "roberta.", BERT_KEYS, "encoder.layer.%lld.", BERT_LIN, BERT_LN, true, true, true, false, true },
    { "xlm-roberta", "roberta.", BERT_KEYS, "encoder.layer.%lld.", BERT_LIN, BERT_LN, true, true, true, false, true },
    { "electra", "electra.", BERT_KEYS, "encoder.layer.%lld.", BERT_LIN, BERT_LN, true, true, false, true, false },
    { "distilbert", "distilbert.", { "dim", "n_heads", "n_layers", "hidden_dim", "activation" }, "transformer.layer.%lld.",
      { "attention.q_lin", "attention.k_lin", "attention.v_lin", "attention.out_lin", "ffn.lin1", "ffn.lin2" },
      { "sa_layer_norm", "output_layer_norm" }, false, false, false, false, false },
};
#define N_FAMILIES (sizeof families / sizeof families[0])

static const struct bert_family * family_of(const char * model_type) {
    for (size_t i = 0; i < N_FAMILIES; i++)
        if (!strcmp(families[i].model_type, model_type)) return &families[i];
    return NULL;
}

bool bert_model_type(const char * model_type) { return family_of(model_type) != NULL; }

const char * bert_model_types(void) {
    static char list[256];
    if (!list[0])
        for (size_t i = 0; i < N_FAMILIES; i++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s\"%s\"", i ? ", " : "", families[i].model_type);
    return list;
}

/* ---------------------------------------------------------------------------------------------
 * Weights
 * ------------------------------------------------------------------------------------------- */

struct bert {
    const struct bert_family * fam;
    struct enc_weights w;              // model.safetensors under "" or the family's prefix
    struct gaze_wordpiece * wp;        // WordPiece families
    struct gaze_tokenizer * tk;        // BPE families
    int32_t cls, sep;                  // BPE families: <s>, </s>
    int64_t C, E, L, H, d, F, n_vocab, n_pos, n_types;
    int64_t pad;                       // padding_idx (RoBERTa's positions), else -1
    int64_t max_tokens;                // positions a run may use
    float   eps;
    const float * word_emb;            // [n_vocab, E]
    const float * pos_emb;             // [n_pos, E]
    const float * type_emb;            // [n_types, E], or NULL (DistilBERT)
    const float * emb_ln_w;            // [E]
    const float * emb_ln_b;            // [E]
    bool has_project;
    struct gaze_linear project;        // [C, E] ELECTRA when embedding_size != hidden_size
    struct enc_layer * layers;         // [L]
    struct enc_pool pool;              // run workspaces (activations and scratch)
};

static enum gaze_status bert_run(struct gaze_model * model, const char * text, const char * pair,
                                 const struct gaze_run_opts * opts, struct gaze_run * run);

static void bert_free(void * p) {
    struct bert * b = p;
    if (!b) return;
    for (int64_t l = 0; b->layers && l < b->L; l++) enc_layer_release(&b->layers[l]);
    gaze_linear_release(&b->project);
    enc_pool_free(&b->pool);
    free(b->layers);
    gaze_wordpiece_free(b->wp);
    gaze_tokenizer_free(b->tk);
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
    double eps = 1e-12;
    bool sinusoidal = false;
    s = gaze_json_opt_string(cfg, "model_type", path, "", &model_type);
    if (!s && !(b->fam = family_of(model_type)))
        s = gaze_error(GAZE_ERR_UNSUPPORTED, "%s: model_type \"%s\" is not supported; gaze runs these encoders from "
                       "folders: %s (and decoders and vision transformers)", path, model_type, bert_model_types());
    const struct bert_family * f = b->fam;
    if (!s) s = gaze_json_get_int_range(cfg, f->keys[0], path, 1, 1 << 16, &b->C);
    if (!s) s = gaze_json_get_int_range(cfg, f->keys[1], path, 1, 1024, &b->H);
    if (!s) s = gaze_json_get_int_range(cfg, f->keys[2], path, 1, 1024, &b->L);
    if (!s) s = gaze_json_get_int_range(cfg, f->keys[3], path, 1, 1 << 18, &b->F);
    if (!s) s = gaze_json_get_int_range(cfg, "vocab_size", path, 1, 1 << 24, &b->n_vocab);
    if (!s) s = gaze_json_opt_int(cfg, "max_position_embeddings", path, 512, &b->n_pos);
    b->n_types = 0;
    if (!s && f->types) s = gaze_json_opt_int(cfg, "type_vocab_size", path, 2, &b->n_types);
    if (!s && f->eps_key) s = gaze_json_opt_number(cfg, "layer_norm_eps", path, 1e-12, &eps);
    if (!s) s = gaze_json_opt_string(cfg, f->keys[4], path, "gelu", &act);
    if (!s && f->types) s = gaze_json_opt_string(cfg, "position_embedding_type", path, "absolute", &pos_type);
    b->E = b->C;
    // ElectraConfig's default embedding_size is 128
    if (!s && f->project) s = gaze_json_opt_int(cfg, "embedding_size", path, 128, &b->E);
    b->pad = -1;
    if (!s && f->pos_offset) s = gaze_json_opt_int(cfg, "pad_token_id", path, 1, &b->pad);
    // DistilBERT's sinusoidal position table is a saved weight like any other (transformers
    // fills position_embeddings with it and the checkpoint holds it): read from the file
    if (!s && !strcmp(f->model_type, "distilbert")) s = gaze_json_opt_bool(cfg, "sinusoidal_pos_embds", path, false, &sinusoidal);
    if (!s && (b->n_pos < 1 || b->n_pos > (1 << 20) || (f->types && (b->n_types < 1 || b->n_types > 1024))))
        s = gaze_error(GAZE_ERR_FORMAT, "%s: max_position_embeddings %lld or type_vocab_size %lld out of range",
                       path, (long long)b->n_pos, (long long)b->n_types);
    if (!s && (b->E < 1 || b->E > (1 << 16)))
        s = gaze_error(GAZE_ERR_FORMAT, "%s: embedding_size %lld out of range 1..65536", path, (long long)b->E);
    if (!s && f->pos_offset && (b->pad < 0 || b->pad + 1 >= b->n_pos))
        s = gaze_error(GAZE_ERR_FORMAT, "%s: pad_token_id %lld leaves no position below max_position_embeddings %lld "
                       "(positions start at pad_token_id + 1)", path, (long long)b->pad, (long long)b->n_pos);
    if (!s && b->C % b->H != 0)
        s = gaze_error(GAZE_ERR_FORMAT, "%s: %s %lld is not a multiple of %s %lld", path, f->keys[0], (long long)b->C,
                       f->keys[1], (long long)b->H);
    if (!s && (b->C / b->H > 256))
        s = gaze_error(GAZE_ERR_UNSUPPORTED, "%s: head size %lld above 256", path, (long long)(b->C / b->H));
    if (!s && strcmp(act, "gelu") != 0)
        s = gaze_error(GAZE_ERR_UNSUPPORTED, "%s: %s \"%s\" is not supported (only \"gelu\", exact erf)", path, f->keys[4], act);
    if (!s && pos_type && strcmp(pos_type, "absolute") != 0)
        s = gaze_error(GAZE_ERR_UNSUPPORTED, "%s: position_embedding_type \"%s\" is not supported (only \"absolute\")",
                       path, pos_type);
    if (!s && !(eps > 0 && eps < 1)) s = gaze_error(GAZE_ERR_FORMAT, "%s: layer_norm_eps %g out of range", path, eps);
    b->eps = (float)eps;
    b->d = s ? 0 : b->C / b->H;   // H is unset (0) when an earlier field failed
    b->max_tokens = b->n_pos - (b->pad >= 0 ? b->pad + 1 : 0);
    json_decref(cfg);
    return s;
}

// The tokenizer, and that its ids fit the embedding table.
static enum gaze_status bert_tokenizer(struct bert * b, const char * folder) {
    enum gaze_status s;
    int32_t n_tok;
    if (!b->fam->bpe) {
        if ((s = gaze_wordpiece_init(&b->wp, folder))) return s;
        n_tok = gaze_wordpiece_vocab_size(b->wp);
    } else {
        if ((s = gaze_tokenizer_from_folder(folder, &b->tk))) return s;
        n_tok = gaze_tokenizer_vocab_size(b->tk);
        const struct gaze_tokenizer_specials sp = gaze_tokenizer_specials(b->tk);
        b->cls = sp.bos;
        b->sep = sp.eos;
        if (b->cls < 0 || b->sep < 0)
            return gaze_error(GAZE_ERR_FORMAT, "%s/tokenizer.json: post_processor names no <s> (cls) or </s> (sep) token "
                              "for %s's <s> A </s> template", folder, b->fam->model_type);
    }
    if (n_tok > b->n_vocab)
        return gaze_error(GAZE_ERR_FORMAT, "%s/config.json: vocab_size is %lld but the tokenizer has %d tokens "
                          "(the embedding table has no row for the others)", folder, (long long)b->n_vocab, (int)n_tok);
    return GAZE_OK;
}

enum gaze_status bert_load(struct gaze_model * model, const char * folder) {
    struct bert * b = calloc(1, sizeof *b);
    if (!b) return gaze_error(GAZE_ERR_NOMEM, "bert: out of memory");
    enc_pool_init(&b->pool);
    b->w.arch = "bert";
    b->w.prefix = "";
    enum gaze_status s = bert_config(b, folder);
    const struct bert_family * f = b->fam;
    char path[4096];
    if (!s) {
        b->w.arch = f->model_type;
        snprintf(path, sizeof path, "%s/model.safetensors", folder);
        s = gaze_safetensors_open(&b->w.st, path);
    }
    if (!s) s = bert_tokenizer(b, folder);
    if (!s) {
        char full[64];
        snprintf(full, sizeof full, "%sembeddings.word_embeddings.weight", f->prefix);
        b->w.prefix = gaze_safetensors_find(b->w.st, full) ? f->prefix : "";
        s = enc_tensor2(&b->w, "embeddings.word_embeddings.weight", b->n_vocab, b->E, &b->word_emb);
        // roberta-base's word embeddings are 150 MiB, of which a run reads a few rows: out of
        // memory before the layers are packed, so the load's peak never holds both
        if (!s) enc_drop_table(&b->w, b->word_emb, (size_t)(b->n_vocab * b->E));
    }
    if (!s) s = enc_tensor2(&b->w, "embeddings.position_embeddings.weight", b->n_pos, b->E, &b->pos_emb);
    if (!s && f->types) s = enc_tensor2(&b->w, "embeddings.token_type_embeddings.weight", b->n_types, b->E, &b->type_emb);
    if (!s) s = enc_tensor2(&b->w, "embeddings.LayerNorm.weight", b->E, 0, &b->emb_ln_w);
    if (!s) s = enc_tensor2(&b->w, "embeddings.LayerNorm.bias", b->E, 0, &b->emb_ln_b);
    if (!s && f->project && b->E != b->C) {
        b->has_project = true;
        s = enc_linear(&b->w, "embeddings_project", b->C, b->E, true, &b->project);
    }
    if (!s && !(b->layers = calloc((size_t)b->L, sizeof *b->layers))) s = gaze_error(GAZE_ERR_NOMEM, "bert: out of memory");
    for (int64_t l = 0; l < b->L && !s; l++) {
        struct enc_layer * ly = &b->layers[l];
        struct gaze_linear * lins[6] = { &ly->q, &ly->k, &ly->v, &ly->o, &ly->ff_in, &ly->ff_out };
        const int64_t n_out[6] = { b->C, b->C, b->C, b->C, b->F, b->C }, n_in[6] = { b->C, b->C, b->C, b->C, b->C, b->F };
        const float ** lns[4] = { &ly->ln1_w, &ly->ln1_b, &ly->ln2_w, &ly->ln2_b };
        char base[128], name[192];
        snprintf(base, sizeof base, f->layer, (long long)l);
        for (int i = 0; i < 6 && !s; i++) {
            snprintf(name, sizeof name, "%s%s", base, f->lin[i]);
            s = enc_linear(&b->w, name, n_out[i], n_in[i], true, lins[i]);
        }
        for (int i = 0; i < 4 && !s; i++) {
            snprintf(name, sizeof name, "%s%s.%s", base, f->ln[i / 2], i % 2 ? "bias" : "weight");
            s = enc_tensor2(&b->w, name, b->C, 0, lns[i]);
        }
        // drop as we go too (keeps the load's peak down); the final pass after the loop
        // drops again what reading later tensors mapped back
        if (!s) enc_drop_layer_weights(&b->w, ly);
    }
    if (s) { bert_free(b); return s; }
    for (int64_t l = 0; l < b->L; l++) enc_drop_layer_weights(&b->w, &b->layers[l]);
    model->impl = b;
    model->free_impl = bert_free;
    model->info = (struct gaze_model_info){
        .arch = GAZE_ARCH_BERT, .arch_name = f->model_type, .n_vocab = b->n_vocab, .n_embd = b->C,
        .n_layers = b->L, .n_heads = b->H, .n_kv_heads = b->H, .head_dim = b->d, .n_ff = b->F,
        .n_ctx = b->max_tokens, .causal = false,
    };
    model->run = bert_run;
    return GAZE_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Tokens
 * ------------------------------------------------------------------------------------------- */

// BPE families: text and pair without specials, then <s> A </s> (</s> B </s>), truncated
// longest-first as transformers does when asked.
static enum gaze_status bpe_encode(const struct bert * b, const char * text, const char * pair,
                                   const struct gaze_encode_opts * eo, struct gaze_encoding * enc) {
    struct gaze_encoding eb = { 0 };
    const struct gaze_tokenizer_encode_opts to = { .no_special = true };
    enum gaze_status s = gaze_tokenizer_encode(b->tk, text, strlen(text), &to, enc);
    if (!s && pair) s = gaze_tokenizer_encode(b->tk, pair, strlen(pair), &to, &eb);
    int64_t na = enc->n_tokens, nb = pair ? eb.n_tokens : 0;
    const int64_t n_spec = pair ? 4 : 2;
    if (!s && eo->max_len > 0 && na + nb + n_spec > eo->max_len) {
        if (eo->truncation != GAZE_TRUNCATION_LONGEST_FIRST)
            s = gaze_error(GAZE_ERR_LIMIT, "tokenizer: the input has %lld tokens (with special tokens), more than "
                           "the limit %lld: shorten it or truncate", (long long)(na + nb + n_spec), (long long)eo->max_len);
        else if (eo->max_len - n_spec < (pair ? 2 : 1))
            s = gaze_error(GAZE_ERR_INVALID_ARG, "tokenizer: max_len %lld leaves no room next to %lld special tokens",
                           (long long)eo->max_len, (long long)n_spec);
        else if (pair) tok_truncate_longest_first(eo->max_len - n_spec, &na, &nb);
        else na = eo->max_len - n_spec;
    }
    const int64_t T = na + nb + n_spec;
    if (!s) {
        enc->n_truncated = enc->n_tokens + (pair ? eb.n_tokens : 0) - na - nb;
        int32_t * ids = malloc((size_t)T * sizeof *ids), * types = calloc((size_t)T, sizeof *types);
        int64_t * off = calloc((size_t)T * 2, sizeof *off);
        int8_t * seq = malloc((size_t)T);
        if (!ids || !types || !off || !seq) {
            free(ids); free(types); free(off); free(seq);
            s = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", b->fam->model_type);
        } else {
            int64_t t = 0;
            ids[t] = b->cls; seq[t++] = -1;
            for (int64_t i = 0; i < na; i++, t++) {
                ids[t] = enc->ids[i]; seq[t] = 0;
                off[2 * t] = enc->offsets[2 * i]; off[2 * t + 1] = enc->offsets[2 * i + 1];
            }
            ids[t] = b->sep; seq[t++] = -1;
            if (pair) {
                ids[t] = b->sep; seq[t++] = -1;
                for (int64_t i = 0; i < nb; i++, t++) {
                    ids[t] = eb.ids[i]; seq[t] = 1;
                    off[2 * t] = eb.offsets[2 * i]; off[2 * t + 1] = eb.offsets[2 * i + 1];
                }
                ids[t] = b->sep; seq[t++] = -1;
            }
            free(enc->ids); free(enc->type_ids); free(enc->offsets); free(enc->sequence_ids);
            enc->ids = ids; enc->type_ids = types; enc->offsets = off; enc->sequence_ids = seq;
            enc->n_tokens = enc->cap = T;
        }
    }
    gaze_encoding_free(&eb);
    return s;
}

// Metadata and tokens of the run (everything but the captured tensors).
static enum gaze_status bert_run_header(struct gaze_model * model, const struct bert * b,
                                        const struct gaze_encoding * enc, const char * text,
                                        const char * pair, struct gaze_run * run) {
    const int64_t T = enc->n_tokens;
    const char * arch = b->fam->model_type;
    const char ** toks = malloc((size_t)T * sizeof *toks);
    size_t * lens = malloc((size_t)T * sizeof *lens);
    if (!toks || !lens) { free(toks); free(lens); return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", arch); }
    for (int64_t t = 0; t < T; t++) {
        // WordPiece: the token ("##ing"); BPE: the text it stands for (" world"), as decoders show it
        toks[t] = b->wp ? gaze_wordpiece_token(b->wp, enc->ids[t]) : gaze_tokenizer_token_piece(b->tk, enc->ids[t], &lens[t]);
        if (b->wp && toks[t]) lens[t] = strlen(toks[t]);
        if (!toks[t]) { toks[t] = ""; lens[t] = 0; }
    }
    enum gaze_status s = gaze_run_set_tokens(run, T, toks, lens, enc->ids, enc->offsets);
    free(toks);
    free(lens);
    if (s) return s;
    run->token_type_ids = malloc((size_t)T * sizeof(int32_t));
    run->sequence_ids = malloc((size_t)T * sizeof(int8_t));
    run->model = strdup(model->path);
    run->arch = strdup(arch);
    run->text = strdup(text);
    run->pair = pair ? strdup(pair) : NULL;
    if (!run->token_type_ids || !run->sequence_ids || !run->model || !run->arch || !run->text || (pair && !run->pair))
        return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", arch);
    // the type ids the model saw: none (0) where it has no token types
    for (int64_t t = 0; t < T; t++) run->token_type_ids[t] = b->type_emb ? enc->type_ids[t] : 0;
    memcpy(run->sequence_ids, enc->sequence_ids, (size_t)T * sizeof(int8_t));
    run->causal = false;
    run->n_layers = b->L;
    run->n_heads = run->n_kv_heads = b->H;
    run->d_head = b->d;
    run->n_embd = b->C;
    return GAZE_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Forward pass
 * ------------------------------------------------------------------------------------------- */

static enum gaze_status bert_run(struct gaze_model * model, const char * text, const char * pair,
                                 const struct gaze_run_opts * opts, struct gaze_run * run) {
    struct bert * b = model->impl;
    const char * arch = b->fam->model_type;
    const int64_t C = b->C, E = b->E, F = b->F;
    struct gaze_encoding enc;
    memset(&enc, 0, sizeof enc);
    struct gaze_encode_opts eo = { 0 };
    eo.max_len = opts->max_len > 0 ? GAZE_MIN(opts->max_len, b->max_tokens) : b->max_tokens;
    eo.truncation = (opts->truncate || opts->max_len > 0) ? GAZE_TRUNCATION_LONGEST_FIRST : GAZE_TRUNCATION_NONE;
    gaze_run_init(run);
    enum gaze_status s = b->wp ? gaze_wordpiece_encode(b->wp, text, strlen(text), pair, pair ? strlen(pair) : 0, &eo, &enc)
                               : bpe_encode(b, text, pair, &eo, &enc);
    if (s == GAZE_ERR_LIMIT) {   // copy first: the message buffer cannot be its own source
        char msg[512];
        snprintf(msg, sizeof msg, "%s", gaze_last_error());
        s = gaze_error(GAZE_ERR_LIMIT, "%s (the model has %lld positions; use --truncate to cut the input)",
                       msg, (long long)b->max_tokens);
    }
    if (s) { gaze_encoding_free(&enc); return s; }
    const int64_t T = enc.n_tokens;
    for (int64_t t = 0; t < T; t++)
        if ((b->type_emb && (enc.type_ids[t] < 0 || enc.type_ids[t] >= b->n_types)) || enc.ids[t] < 0 || enc.ids[t] >= b->n_vocab) {
            gaze_encoding_free(&enc);
            return gaze_error(GAZE_ERR_FORMAT, "%s: token %lld has id %d / type %d outside the model's tables",
                              arch, (long long)t, enc.ids[t], enc.type_ids[t]);
        }

    s = bert_run_header(model, b, &enc, text, pair, run);
    if (!s) s = gaze_run_set_capture(run, opts->heads, opts->heads ? opts->n_heads : b->H, NULL, T);

    const struct enc_shape sh = { C, b->H, b->d, F, b->eps, false, arch, ENC_GELU, false };
    // x [T, C], then the layers' work space, which holds ELECTRA's narrower embeddings first
    const size_t need = (size_t)T * C + GAZE_MAX(enc_layer_work_floats(&sh, T), (size_t)(T * E));
    if (!s) {   // what the run will hold, before any of it is allocated
        const int64_t Hc = opts->heads ? opts->n_heads : b->H;
        const double cap = model_capture_bytes(opts, b->L, Hc, T, b->d, C), work_b = (double)need * sizeof(float);
        char what[160], x[32], y[32];
        snprintf(what, sizeof what, "%lld tokens: captured arrays %s, work buffers %s", (long long)T,
                 model_format_bytes(cap, x, sizeof x), model_format_bytes(work_b, y, sizeof y));
        s = model_check_memory(arch, opts, cap + work_b, what);
    }
    struct enc_work work = { 0 };
    if (!s && !(work = enc_work_take(&b->pool, need)).p) s = GAZE_ERR_NOMEM;
    float * x = work.p, * rest = x ? x + T * C : NULL;

    // embeddings: word + position (+ token type), LayerNorm (+ ELECTRA's projection to C).
    // RoBERTa numbers positions from padding_idx + 1 and gives padding tokens padding_idx
    // (transformers' create_position_ids_from_input_ids).
    float * e = b->has_project ? rest : x;
    for (int64_t t = 0, n_real = 0; t < T && !s; t++) {
        const int64_t pos = b->pad < 0 ? t : enc.ids[t] == b->pad ? b->pad : b->pad + ++n_real;
        const float * w = b->word_emb + (int64_t)enc.ids[t] * E, * p = b->pos_emb + pos * E;
        for (int64_t c = 0; c < E; c++) e[t * E + c] = w[c] + p[c];
        if (b->type_emb) {
            const float * ty = b->type_emb + (int64_t)enc.type_ids[t] * E;
            for (int64_t c = 0; c < E; c++) e[t * E + c] += ty[c];
        }
    }
    if (!s && gaze_add_layer_norm(e, NULL, e, T, E, b->emb_ln_w, b->emb_ln_b, b->eps, opts->n_threads))
        s = gaze_error(GAZE_ERR_NUMERIC, "%s: embeddings overflowed to Inf/NaN", arch);
    if (!s && b->has_project) s = gaze_linear_forward(&b->project, e, T, x, opts->n_threads);

    // attributions and knockout: their buffers, per run
    struct enc_extra ex = { 0 };
    if (!s) s = enc_extra_init(&ex, &sh, b->L, opts, T);
    for (int64_t l = 0; l < b->L && !s; l++) s = enc_layer_forward(&sh, &b->layers[l], l, x, T, rest, opts, run, &ex);
    enc_extra_free(&ex);

    // sentence-transformers embedding: mean over tokens, then L2 normalisation
    if (!s) {
        run->embedding = malloc((size_t)C * sizeof(float));
        if (!run->embedding) s = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", arch);
        else {
            gaze_mean_pool(x, NULL, T, C, run->embedding);
            gaze_l2_normalize(run->embedding, run->embedding, 1, C, 1e-12f);
        }
    }
    enc_work_give(&b->pool, work);
    gaze_encoding_free(&enc);
    if (s) {
        if (s == GAZE_ERR_NOMEM && !*gaze_last_error()) gaze_error(s, "%s: out of memory", arch);
        gaze_run_free(run);
    }
    return s;
}

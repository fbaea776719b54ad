// ModernBERT encoders from Hugging Face folders (transformers' modeling_modernbert.py, eager
// attention): token embeddings + LayerNorm, pre-norm layers (the first layer's attention norm is
// the identity), a fused Wqkv, RoPE (NEOX halves) with global_rope_theta on global layers and
// local_rope_theta on local ones, every global_attn_every_n_layers-th layer global and the
// others within local_attention / 2 keys on each side, GeGLU MLP with a fused Wi (input, gate),
// LayerNorm without bias unless norm_bias, biases only where attention_bias / mlp_bias say, and
// final_norm. The attention is the shared layer (gaze_mha_forward: fused kernel and probe, with
// the window in its mask), so capture is exact like every other model's.
#include "models/encoder.h"
#include "formats/json.h"
#include "formats/runfile.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

struct mb_layer {
    struct gaze_linear q, k, v, o;     // q, k, v: the row blocks of attn.Wqkv [3C, C]
    struct gaze_linear wi;             // mlp.Wi [2F, C]: input rows, then gate rows
    struct gaze_linear wo;             // mlp.Wo [C, F]
    const float * attn_norm_w, * attn_norm_b;   // NULL weight: identity (layer 0)
    const float * mlp_norm_w, * mlp_norm_b;
    bool local;
};

struct mb {
    struct enc_weights w;
    struct gaze_tokenizer * tok;
    int64_t C, L, H, d, F, V, n_pos, local_attention, every;
    float eps, rope_global, rope_local;
    bool attn_bias, mlp_bias, norm_bias;
    enum enc_act act;
    const float * emb, * emb_norm_w, * emb_norm_b, * final_w, * final_b;
    struct mb_layer * layers;
    int64_t * info_window;             // [L] local_attention for local layers, 0 global
    float *   info_rope;               // [L]
    struct enc_pool pool;
};

static void mb_free(void * p) {
    struct mb * m = p;
    if (!m) return;
    for (int64_t l = 0; m->layers && l < m->L; l++) {
        struct mb_layer * ly = &m->layers[l];
        struct gaze_linear * lins[6] = { &ly->q, &ly->k, &ly->v, &ly->o, &ly->wi, &ly->wo };
        for (int i = 0; i < 6; i++) gaze_linear_release(lins[i]);
    }
    free(m->layers);
    free(m->info_window);
    free(m->info_rope);
    enc_pool_free(&m->pool);
    gaze_tokenizer_free(m->tok);
    enc_weights_free(&m->w);
    free(m);
}

static enum gaze_status mb_config(struct mb * m, const char * path) {
    json_t * cfg = NULL;
    enum gaze_status s = gaze_json_load_file(&cfg, path, 1 << 20, 0);
    if (s) return s;
    const char * act = NULL;
    double eps = 0, rg = 0, rl = 0;
    s = gaze_json_get_int_range(cfg, "hidden_size", path, 1, 1 << 16, &m->C);
    if (!s) s = gaze_json_get_int_range(cfg, "num_attention_heads", path, 1, 1024, &m->H);
    if (!s) s = gaze_json_get_int_range(cfg, "num_hidden_layers", path, 1, 1024, &m->L);
    if (!s) s = gaze_json_get_int_range(cfg, "intermediate_size", path, 1, 1 << 18, &m->F);
    if (!s) s = gaze_json_get_int_range(cfg, "vocab_size", path, 1, 1 << 24, &m->V);
    if (!s) s = gaze_json_opt_int(cfg, "max_position_embeddings", path, 8192, &m->n_pos);
    if (!s) s = gaze_json_opt_int(cfg, "global_attn_every_n_layers", path, 3, &m->every);
    if (!s) s = gaze_json_opt_int(cfg, "local_attention", path, 128, &m->local_attention);
    if (!s) s = gaze_json_opt_number(cfg, "norm_eps", path, 1e-5, &eps);
    if (!s) s = gaze_json_opt_number(cfg, "global_rope_theta", path, 160000.0, &rg);
    if (!s) s = gaze_json_opt_string(cfg, "hidden_activation", path, "gelu", &act);
    if (!s) s = gaze_json_opt_bool(cfg, "attention_bias", path, false, &m->attn_bias);
    if (!s) s = gaze_json_opt_bool(cfg, "mlp_bias", path, false, &m->mlp_bias);
    if (!s) s = gaze_json_opt_bool(cfg, "norm_bias", path, false, &m->norm_bias);
    // local_rope_theta: null means the global base (transformers keeps rope_theta then)
    json_t * lr = json_object_get(cfg, "local_rope_theta");
    if (!s) {
        if (!lr) rl = 10000.0;
        else if (json_is_null(lr)) rl = rg;
        else if (json_is_number(lr)) rl = json_number_value(lr);
        else s = gaze_error(GAZE_ERR_FORMAT, "%s: field local_rope_theta: expected a number or null", path);
    }
    json_t * rs = json_object_get(cfg, "rope_scaling");
    if (!s && rs && !json_is_null(rs)) s = gaze_error(GAZE_ERR_UNSUPPORTED, "%s: rope_scaling is not supported for modernbert", path);
    if (!s && (m->n_pos < 1 || m->n_pos > (1 << 24)))
        s = gaze_error(GAZE_ERR_FORMAT, "%s: max_position_embeddings %lld out of range", path, (long long)m->n_pos);
    if (!s && (m->every < 1 || m->every > 1024))
        s = gaze_error(GAZE_ERR_FORMAT, "%s: global_attn_every_n_layers %lld out of range (1..1024)", path, (long long)m->every);
    if (!s && (m->local_attention < 2 || m->local_attention > (1 << 24)))
        s = gaze_error(GAZE_ERR_FORMAT, "%s: local_attention %lld out of range", path, (long long)m->local_attention);
    if (!s && m->C % m->H != 0)
        s = gaze_error(GAZE_ERR_FORMAT, "%s: hidden_size %lld is not a multiple of num_attention_heads %lld", path,
                       (long long)m->C, (long long)m->H);
    if (!s && (m->C / m->H > 256 || (m->C / m->H) % 2))
        s = gaze_error(GAZE_ERR_UNSUPPORTED, "%s: head size %lld: RoPE needs an even size up to 256", path, (long long)(m->C / m->H));
    if (!s && !(eps > 0 && eps < 1)) s = gaze_error(GAZE_ERR_FORMAT, "%s: norm_eps %g out of range", path, eps);
    if (!s && !(rg > 0 && rl > 0 && isfinite(rg) && isfinite(rl)))
        s = gaze_error(GAZE_ERR_FORMAT, "%s: global_rope_theta %g / local_rope_theta %g must be positive", path, rg, rl);
    if (!s) {
        if (!strcmp(act, "gelu")) m->act = ENC_GELU;
        else if (!strcmp(act, "gelu_pytorch_tanh") || !strcmp(act, "gelu_new")) m->act = ENC_GELU_TANH;
        else {
            char esc[64];
            gaze_term_escape(esc, sizeof esc, act, strlen(act));
            s = gaze_error(GAZE_ERR_UNSUPPORTED, "%s: hidden_activation \"%s\" is not supported (gelu, gelu_pytorch_tanh, gelu_new)",
                           path, esc);
        }
    }
    m->eps = (float)eps;
    m->rope_global = (float)rg;
    m->rope_local = (float)rl;
    m->d = s ? 0 : m->C / m->H;
    json_decref(cfg);
    return s;
}

// A row block [rows, n_in] of a prepared fused weight as its own linear (no copy but the pack).
static enum gaze_status sub_linear(const float * w, const float * b, int64_t row0, int64_t rows, int64_t n_in,
                                   struct gaze_linear * lin) {
    *lin = (struct gaze_linear){ .type = GAZE_TYPE_F32, .n_out = rows, .n_in = n_in, .weight = w + row0 * n_in,
                                 .bias = b ? b + row0 : NULL };
    return gaze_linear_prepare(lin);
}

static enum gaze_status mb_norm(struct mb * m, const char * name, const float ** w, const float ** b) {
    char full[128];
    snprintf(full, sizeof full, "%s.weight", name);
    enum gaze_status s = enc_tensor2(&m->w, full, m->C, 0, w);
    *b = NULL;
    if (!s && m->norm_bias) {
        snprintf(full, sizeof full, "%s.bias", name);
        s = enc_tensor2(&m->w, full, m->C, 0, b);
    }
    return s;
}

static enum gaze_status mb_run(struct gaze_model * model, const char * text, const char * pair,
                               const struct gaze_run_opts * opts, struct gaze_run * run);

enum gaze_status modernbert_load(struct gaze_model * model, const char * folder) {
    struct mb * m = calloc(1, sizeof *m);
    if (!m) return gaze_error(GAZE_ERR_NOMEM, "modernbert: out of memory");
    enc_pool_init(&m->pool);
    m->w.arch = "modernbert";
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", folder);
    enum gaze_status s = mb_config(m, path);
    if (!s) {
        snprintf(path, sizeof path, "%s/model.safetensors", folder);
        s = gaze_safetensors_open(&m->w.st, path);
    }
    if (!s) s = gaze_tokenizer_from_folder(folder, &m->tok);
    if (!s && gaze_tokenizer_vocab_size(m->tok) > m->V)
        s = gaze_error(GAZE_ERR_FORMAT, "%s: the tokenizer has %d tokens but config.json vocab_size is %lld", folder,
                       gaze_tokenizer_vocab_size(m->tok), (long long)m->V);
    if (!s) {
        // ModernBertForMaskedLM and friends nest the encoder under "model."
        m->w.prefix = gaze_safetensors_find(m->w.st, "model.embeddings.tok_embeddings.weight") ? "model." : "";
        s = enc_tensor2(&m->w, "embeddings.tok_embeddings.weight", m->V, m->C, &m->emb);
    }
    if (!s) s = mb_norm(m, "embeddings.norm", &m->emb_norm_w, &m->emb_norm_b);
    if (!s) s = mb_norm(m, "final_norm", &m->final_w, &m->final_b);
    if (!s && (!(m->layers = calloc((size_t)m->L, sizeof *m->layers)) || !(m->info_window = calloc((size_t)m->L, sizeof *m->info_window)) ||
               !(m->info_rope = calloc((size_t)m->L, sizeof *m->info_rope))))
        s = gaze_error(GAZE_ERR_NOMEM, "modernbert: out of memory");
    const int64_t C = m->C, F = m->F;
    for (int64_t l = 0; l < m->L && !s; l++) {
        struct mb_layer * ly = &m->layers[l];
        char name[128];
        const float * w, * b = NULL;
        snprintf(name, sizeof name, "layers.%lld.attn.Wqkv.weight", (long long)l);
        s = enc_tensor2(&m->w, name, 3 * C, C, &w);
        if (!s && m->attn_bias) { snprintf(name, sizeof name, "layers.%lld.attn.Wqkv.bias", (long long)l); s = enc_tensor2(&m->w, name, 3 * C, 0, &b); }
        if (!s) s = sub_linear(w, b, 0, C, C, &ly->q);
        if (!s) s = sub_linear(w, b, C, C, C, &ly->k);
        if (!s) s = sub_linear(w, b, 2 * C, C, C, &ly->v);
        if (!s) { snprintf(name, sizeof name, "layers.%lld.attn.Wo", (long long)l); s = enc_linear(&m->w, name, C, C, m->attn_bias, &ly->o); }
        if (!s) { snprintf(name, sizeof name, "layers.%lld.mlp.Wi", (long long)l); s = enc_linear(&m->w, name, 2 * F, C, m->mlp_bias, &ly->wi); }
        if (!s) { snprintf(name, sizeof name, "layers.%lld.mlp.Wo", (long long)l); s = enc_linear(&m->w, name, C, F, m->mlp_bias, &ly->wo); }
        if (!s && l > 0) { snprintf(name, sizeof name, "layers.%lld.attn_norm", (long long)l); s = mb_norm(m, name, &ly->attn_norm_w, &ly->attn_norm_b); }
        if (!s) { snprintf(name, sizeof name, "layers.%lld.mlp_norm", (long long)l); s = mb_norm(m, name, &ly->mlp_norm_w, &ly->mlp_norm_b); }
        ly->local = l % m->every != 0;
        m->info_window[l] = ly->local ? m->local_attention : 0;
        m->info_rope[l] = ly->local ? m->rope_local : m->rope_global;
    }
    if (s) { mb_free(m); return s; }
    model->impl = m;
    model->free_impl = mb_free;
    model->info = (struct gaze_model_info){
        .arch = GAZE_ARCH_BERT, .arch_name = "modernbert", .n_vocab = m->V, .n_embd = m->C, .n_layers = m->L,
        .n_heads = m->H, .n_kv_heads = m->H, .head_dim = m->d, .n_ff = m->F, .n_ctx = m->n_pos, .causal = false,
        .layer_window = m->info_window, .layer_rope_base = m->info_rope,
    };
    model->run = mb_run;
    return GAZE_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Forward pass
 * ------------------------------------------------------------------------------------------- */

// Tokens, metadata and the record of each layer's attention: encoder.sliding_window =
// [local_attention for a local layer (keys within half of it on each side), 0 = global].
static enum gaze_status mb_run_header(struct gaze_model * model, const struct mb * m, const struct gaze_encoding * enc,
                                      const char * text, struct gaze_run * run) {
    const int64_t T = enc->n_tokens;
    enum gaze_status s = model_run_set_tokens("modernbert", m->tok, run, T, enc->ids, enc->offsets);
    if (s) return s;
    run->sequence_ids = malloc((size_t)T);
    run->token_type_ids = calloc((size_t)T, sizeof(int32_t));
    run->model = strdup(model->path);
    run->arch = strdup("modernbert");
    run->text = strdup(text);
    if (!run->sequence_ids || !run->token_type_ids || !run->model || !run->arch || !run->text)
        return gaze_error(GAZE_ERR_NOMEM, "modernbert: out of memory");
    for (int64_t t = 0; t < T; t++) {
        enum gaze_bpe_token_type ty = gaze_tokenizer_token_type(m->tok, enc->ids[t]);
        run->sequence_ids[t] = ty == GAZE_BPE_TOKEN_TYPE_CONTROL ? -1 : 0;
    }
    run->causal = false;
    run->n_layers = m->L;
    run->n_heads = run->n_kv_heads = m->H;
    run->d_head = m->d;
    run->n_embd = m->C;
    size_t n = (size_t)m->L * 24 + 4;
    char * buf = malloc(n), * p = buf;
    if (!buf) return gaze_error(GAZE_ERR_NOMEM, "modernbert: out of memory");
    p += snprintf(p, n, "[");
    for (int64_t l = 0; l < m->L; l++) p += snprintf(p, n - (size_t)(p - buf), "%s%lld", l ? "," : "", (long long)m->info_window[l]);
    snprintf(p, n - (size_t)(p - buf), "]");
    s = gaze_run_set_extra(run, "encoder.sliding_window", buf);
    free(buf);
    return s;
}

static enum gaze_status mb_run(struct gaze_model * model, const char * text, const char * pair,
                               const struct gaze_run_opts * opts, struct gaze_run * run) {
    struct mb * m = model->impl;
    const int64_t C = m->C, F = m->F, H = m->H;
    gaze_run_init(run);
    if (pair) return gaze_error(GAZE_ERR_UNSUPPORTED, "modernbert: sentence pairs are not supported yet");
    if ((opts->attrib && opts->attrib->want) || opts->n_knockout > 0)
        return gaze_error(GAZE_ERR_UNSUPPORTED, "modernbert: attributions and knockout are not supported yet (BERT has them)");
    struct gaze_encoding enc;
    memset(&enc, 0, sizeof enc);
    struct gaze_tokenizer_encode_opts eo = { 0 };
    eo.max_len = opts->max_len > 0 ? GAZE_MIN(opts->max_len, m->n_pos) : m->n_pos;
    enum gaze_status s = gaze_tokenizer_encode(m->tok, text, strlen(text), &eo, &enc);
    if (s == GAZE_ERR_LIMIT) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", gaze_last_error());
        s = gaze_error(GAZE_ERR_LIMIT, "%s (modernbert: the model has %lld positions)", msg, (long long)m->n_pos);
    }
    const int64_t T = enc.n_tokens;
    for (int64_t t = 0; !s && t < T; t++)
        if (enc.ids[t] < 0 || enc.ids[t] >= m->V)
            s = gaze_error(GAZE_ERR_FORMAT, "modernbert: token %lld has id %d outside the %lld embeddings", (long long)t, enc.ids[t],
                           (long long)m->V);
    if (!s && T == 0) s = gaze_error(GAZE_ERR_INVALID_ARG, "modernbert: the text gave no token");
    if (!s) s = mb_run_header(model, m, &enc, text, run);
    if (!s) s = gaze_run_set_capture(run, opts->heads, opts->heads ? opts->n_heads : H, NULL, T);

    struct gaze_mha mha = { .d_model = C, .n_heads = H, .n_kv_heads = H, .head_dim = m->d, .rope = GAZE_ROPE_NEOX };
    const size_t mha_scratch = gaze_mha_scratch_floats(&mha, T);
    // x [T, C], y [T, C], wi [T, 2F], g [T, F], attention scratch
    const size_t need = (size_t)T * (2 * C + 3 * F) + mha_scratch;
    if (!s) {
        const double cap = model_capture_bytes(opts, m->L, opts->heads ? opts->n_heads : H, T, m->d, C), work_b = (double)need * sizeof(float);
        char what[160], a[32], b[32];
        snprintf(what, sizeof what, "%lld tokens: captured arrays %s, work buffers %s", (long long)T,
                 model_format_bytes(cap, a, sizeof a), model_format_bytes(work_b, b, sizeof b));
        s = model_check_memory("modernbert", opts, cap + work_b, what);
    }
    struct enc_work work = { 0 };
    if (!s && !(work = enc_work_take(&m->pool, need)).p) s = gaze_error(GAZE_ERR_NOMEM, "modernbert: out of memory");
    float * x = work.p, * y = x ? x + T * C : NULL, * wi = y ? y + T * C : NULL, * g = wi ? wi + T * 2 * F : NULL;
    float * scratch = g ? g + T * F : NULL;
    const int nt = opts->n_threads;

    for (int64_t t = 0; t < T && !s; t++) memcpy(x + t * C, m->emb + (int64_t)enc.ids[t] * C, (size_t)C * sizeof(float));
    if (!s && gaze_add_layer_norm(x, NULL, x, T, C, m->emb_norm_w, m->emb_norm_b, m->eps, nt))
        s = gaze_error(GAZE_ERR_NUMERIC, "modernbert: embeddings overflowed to Inf/NaN");
    struct gaze_attn_mask window;
    memset(&window, 0, sizeof window);
    window.window_left = window.window_right = m->local_attention / 2;   // |i - j| <= local_attention // 2
    for (int64_t l = 0; l < m->L && !s; l++) {
        const struct mb_layer * ly = &m->layers[l];
        mha.wq = &ly->q; mha.wk = &ly->k; mha.wv = &ly->v; mha.wo = &ly->o;
        mha.rope_base = ly->local ? m->rope_local : m->rope_global;
        mha.head_mask = opts->head_mask ? opts->head_mask + l * H : NULL;
        mha.ablate_mean = opts->ablate_mean;
        struct gaze_run_layer * cap_layer = NULL;
        struct gaze_mha_capture cap = { 0 };
        if (model_layer_wanted(opts, l)) {
            unsigned parts = opts->parts ? opts->parts : GAZE_RUN_PART_ATTN;
            if ((s = run_add_layer_unzeroed(run, l, parts, &cap_layer)) || (s = model_summary_layer(opts, run, cap_layer))) break;
            cap = (struct gaze_mha_capture){ run->heads, run->n_heads_cap, cap_layer->attn, cap_layer->scores, cap_layer->q,
                                             cap_layer->k, cap_layer->summary.entropy ? &cap_layer->summary : NULL };
        }
        // x += attn(attn_norm(x)) (layer 0: no norm); x += Wo(act(in) * gate) of Wi(mlp_norm(x))
        int64_t bad = 0;
        const float * h = x;
        if (ly->attn_norm_w) { bad = gaze_add_layer_norm(x, NULL, y, T, C, ly->attn_norm_w, ly->attn_norm_b, m->eps, nt); h = y; }
        if (!bad && (s = gaze_mha_forward(&mha, h, T, NULL, ly->local ? &window : NULL, NULL, cap_layer ? &cap : NULL, y, scratch, nt))) break;
        if (!bad) {
            gaze_add(x, y, x, T * C);
            bad = gaze_add_layer_norm(x, NULL, y, T, C, ly->mlp_norm_w, ly->mlp_norm_b, m->eps, nt);
        }
        if (!bad) {
            if ((s = gaze_linear_forward(&ly->wi, y, T, wi, nt))) break;
            for (int64_t t = 0; t < T; t++) {
                float * a = wi + t * 2 * F, * o = g + t * F;
                memcpy(o, a, (size_t)F * sizeof(float));
                enc_activate(m->act, o, F);
                for (int64_t j = 0; j < F; j++) o[j] *= a[F + j];
            }
            if ((s = gaze_linear_forward_ex(&ly->wo, g, T, x, GAZE_GEMM_ACCUMULATE, nt))) break;
        }
        // transformers' hidden_states: each layer's output, the last one after final_norm
        if (!bad && l == m->L - 1) bad = gaze_add_layer_norm(x, NULL, x, T, C, m->final_w, m->final_b, m->eps, nt);
        if (bad) { s = gaze_error(GAZE_ERR_NUMERIC, "modernbert: layer %lld: activations overflowed to Inf/NaN", (long long)l); break; }
        if (cap_layer && cap_layer->hidden) memcpy(cap_layer->hidden, x, (size_t)(T * C) * sizeof(float));
    }
    // embedding: the mean of the final states, L2-normalised (as sentence-transformers pools)
    if (!s && !(run->embedding = malloc((size_t)C * sizeof(float)))) s = gaze_error(GAZE_ERR_NOMEM, "modernbert: out of memory");
    if (!s) {
        gaze_mean_pool(x, NULL, T, C, run->embedding);
        gaze_l2_normalize(run->embedding, run->embedding, 1, C, 1e-12f);
    }
    enc_work_give(&m->pool, work);
    gaze_encoding_free(&enc);
    if (s) {
        if (s == GAZE_ERR_NOMEM && !*gaze_last_error()) gaze_error(s, "modernbert: out of memory");
        gaze_run_free(run);
    }
    return s;
}

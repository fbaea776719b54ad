// The encoder-decoder forward pass shared by T5, BART and Marian (seq2seq.h): loading dispatch,
// the encoder, the decoder step (self-attention over its KV cache, cross-attention over the
// encoder output's keys/values computed once), greedy generation and exact capture of the three
// attention kinds.
#include "models/seq2seq.h"
#include "formats/json.h"
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------------------------------------
 * Loading
 * ------------------------------------------------------------------------------------------- */

static const char * const k_known[] = { "t5", "bart", "marian" };
// encoder-decoder families gaze recognises but does not run (refused by name)
static const char * const k_refused[] = { "mt5", "umt5", "longt5", "mbart", "pegasus", "pegasus_x", "m2m_100",
                                          "nllb-moe", "fsmt", "blenderbot", "blenderbot-small", "plbart",
                                          "bigbird_pegasus", "led", "prophetnet", "switch_transformers" };

static bool in_list(const char * s, const char * const * list, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(s, list[i])) return true;
    return false;
}

bool s2s_is_seq2seq(const char * folder) {
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", folder);
    json_t * cfg = NULL;
    if (gaze_json_load_file(&cfg, path, 1 << 20, 0)) return false;
    const json_t * t = json_object_get(cfg, "model_type");
    bool yes = json_is_string(t) && (in_list(json_string_value(t), k_known, 3) ||
                                     in_list(json_string_value(t), k_refused, sizeof k_refused / sizeof *k_refused));
    json_decref(cfg);
    return yes;
}

const char * s2s_first_present(const struct s2s * m, const char * const * names, int n) {
    for (int i = 0; i < n; i++)
        if (names[i] && enc_find(&m->w, names[i])) return names[i];
    return NULL;
}

enum gaze_status s2s_norm_pair(struct s2s * m, const char * base, bool bias, const float ** w, const float ** b) {
    char name[256];
    snprintf(name, sizeof name, "%s.weight", base);
    enum gaze_status s = enc_tensor2(&m->w, name, m->cfg.C, 0, w);
    if (s || !bias) return s;
    snprintf(name, sizeof name, "%s.bias", base);
    return enc_tensor2(&m->w, name, m->cfg.C, 0, b);
}

enum gaze_status s2s_embedding(struct s2s * m, const char * const * names, int n, int64_t V, const char * label,
                               const char * field, const float ** out) {
    const char * name = s2s_first_present(m, names, n);
    if (!name) return gaze_error(GAZE_ERR_FORMAT, "%s: tensor %s is missing", enc_path(&m->w), names[0]);
    const struct gaze_st_tensor * t = enc_find(&m->w, name);
    if (t->n_dims == 2 && t->shape[1] == m->cfg.C && t->shape[0] != V)
        return gaze_error(GAZE_ERR_FORMAT, "%s: %s %lld disagrees with the embedding %s of %s ([%lld, %lld])", label,
                          field, (long long)V, name, enc_path(&m->w), (long long)t->shape[0],
                          (long long)t->shape[1]);
    return enc_tensor2(&m->w, name, V, m->cfg.C, out);
}

static void release_layers(struct s2s_layer * ly, int64_t n) {
    for (int64_t i = 0; ly && i < n; i++) {
        struct gaze_linear * lins[11] = { &ly[i].self.q, &ly[i].self.k, &ly[i].self.v, &ly[i].self.o,
                                          &ly[i].cross.q, &ly[i].cross.k, &ly[i].cross.v, &ly[i].cross.o,
                                          &ly[i].gate, &ly[i].up, &ly[i].down };
        for (int j = 0; j < 11; j++)
            if (lins[j]->weight) gaze_linear_release(lins[j]);
    }
}

void s2s_free(struct s2s * m) {
    if (!m) return;
    release_layers(m->enc.layers, m->cfg.Le);
    release_layers(m->dec.layers, m->cfg.Ld);
    if (m->lm_head.weight) gaze_linear_release(&m->lm_head);
    free(m->enc.layers);
    free(m->dec.layers);
    gaze_free_aligned(m->pos_table);
    enc_weights_free(&m->w);
    free(m);
}

// An id field: integer, or a list whose first entry counts (eos_token_id may be a list); def
// when absent or null; -1 allowed only where def is -1 (none).
static enum gaze_status gen_id(const json_t * o, const char * key, const char * label, int64_t V, int32_t * io) {
    const json_t * v = key ? json_object_get(o, key) : o;
    if (!key) key = "bad_words_ids";
    if (json_is_array(v)) v = json_array_get(v, 0);
    if (!v || json_is_null(v)) return GAZE_OK;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) >= V)
        return gaze_error(GAZE_ERR_FORMAT, "%s: %s must be a token id 0..%lld", label, key, (long long)(V - 1));
    *io = (int32_t)json_integer_value(v);
    return GAZE_OK;
}

// The greedy logits processors of transformers' generate besides forced BOS/EOS: repetition
// penalty, no-repeat n-grams, bad words (single tokens), minimum lengths.
static enum gaze_status read_processors(struct s2s_config * c, const json_t * o, const char * label) {
    double rp;
    enum gaze_status s;
    if ((s = gaze_json_opt_int(o, "no_repeat_ngram_size", label, 0, &c->no_repeat_ngram)) ||
        (s = gaze_json_opt_int(o, "min_length", label, 0, &c->min_length)) ||
        (s = gaze_json_opt_int(o, "min_new_tokens", label, 0, &c->min_new)) ||
        (s = gaze_json_opt_number(o, "repetition_penalty", label, 1.0, &rp)))
        return s;
    if (c->no_repeat_ngram < 0 || c->no_repeat_ngram > 64 || c->min_length < 0 || c->min_new < 0 || !(rp > 0 && rp < 1e6))
        return gaze_error(GAZE_ERR_FORMAT, "%s: no_repeat_ngram_size %lld (0..64), min_length %lld, min_new_tokens %lld "
                          "(>= 0) or repetition_penalty %g (> 0) out of range", label, (long long)c->no_repeat_ngram,
                          (long long)c->min_length, (long long)c->min_new, rp);
    c->rep_penalty = (float)rp;
    const json_t * bad = json_object_get(o, "bad_words_ids"), * w;
    size_t i;
    c->n_bad = 0;
    if (bad && !json_is_null(bad)) {
        if (!json_is_array(bad)) return gaze_error(GAZE_ERR_FORMAT, "%s: bad_words_ids must be a list of lists", label);
        json_array_foreach(bad, i, w) {
            if (!json_is_array(w) || json_array_size(w) != 1)
                return gaze_error(GAZE_ERR_UNSUPPORTED, "%s: bad_words_ids entry %zu: only single-token entries are "
                                  "supported", label, i);
            if (c->n_bad == 256) return gaze_error(GAZE_ERR_UNSUPPORTED, "%s: more than 256 bad_words_ids", label);
            int32_t id = -1;
            if ((s = gen_id(w, NULL, label, c->Vd, &id))) return s;
            c->bad_ids[c->n_bad++] = id;
        }
    }
    return GAZE_OK;
}

// transformers' generate reads generation_config.json when the folder has one (what it lacks is
// unset there), else the generation fields of config.json.
static enum gaze_status read_generation(struct s2s * m, const json_t * cfg, const char * folder) {
    struct s2s_config * c = &m->cfg;
    char gpath[4200];
    snprintf(gpath, sizeof gpath, "%s/generation_config.json", folder);
    json_t * g = NULL;
    if (access(gpath, R_OK) != 0) {
        char cpath[4200];
        snprintf(cpath, sizeof cpath, "%s/config.json", folder);
        enum gaze_status s = gen_id(cfg, "forced_bos_token_id", cpath, c->Vd, &c->forced_bos);
        return s ? s : read_processors(c, cfg, cpath);
    }
    enum gaze_status s = gaze_json_load_file(&g, gpath, 1 << 20, 0);
    if (s) return s;
    c->forced_bos = c->forced_eos = -1;
    if (!(s = gen_id(g, "decoder_start_token_id", gpath, c->Vd, &c->dec_start)) &&
        !(s = gen_id(g, "eos_token_id", gpath, c->Vd, &c->eos)) &&
        !(s = gen_id(g, "forced_bos_token_id", gpath, c->Vd, &c->forced_bos)) &&
        !(s = gen_id(g, "forced_eos_token_id", gpath, c->Vd, &c->forced_eos)))
        s = read_processors(c, g, gpath);
    json_decref(g);
    return s;
}

enum gaze_status s2s_load(const char * folder, struct s2s ** out) {
    if (!folder || !out) return gaze_error(GAZE_ERR_INVALID_ARG, "seq2seq: NULL argument");
    *out = NULL;
    char cpath[4200];
    snprintf(cpath, sizeof cpath, "%s/config.json", folder);
    json_t * cfg = NULL;
    enum gaze_status s = gaze_json_load_file(&cfg, cpath, 1 << 20, 0);
    if (s) return s;
    const char * type = NULL;
    if ((s = gaze_json_get_string(cfg, "model_type", cpath, &type))) { json_decref(cfg); return s; }
    if (!in_list(type, k_known, 3)) {
        s = gaze_error(GAZE_ERR_UNSUPPORTED, "%s: model_type \"%s\" is not an encoder-decoder gaze runs; supported: "
                       "t5 (and Flan-T5), bart, marian", cpath, type);
        json_decref(cfg);
        return s;
    }
    struct s2s * m = calloc(1, sizeof *m);
    if (!m) { json_decref(cfg); return gaze_error(GAZE_ERR_NOMEM, "seq2seq: out of memory"); }
    snprintf(m->arch, sizeof m->arch, "%s", type);
    m->cfg.arch = m->arch;
    m->cfg.forced_bos = m->cfg.forced_eos = -1;
    // model.safetensors or the shards of model.safetensors.index.json, as decoders read them
    if (!(m->w.set = malloc(sizeof *m->w.set))) s = gaze_error(GAZE_ERR_NOMEM, "seq2seq: out of memory");
    else if ((s = st_shards_open(m->w.set, folder))) { free(m->w.set); m->w.set = NULL; }
    m->w.prefix = "";
    m->w.arch = m->arch;
    if (!s) s = !strcmp(type, "t5") ? s2s_load_t5(m, cfg, cpath) : s2s_load_bart(m, cfg, cpath, !strcmp(type, "marian"));
    if (!s) s = read_generation(m, cfg, folder);
    json_decref(cfg);
    if (s) { s2s_free(m); return s; }
    *out = m;
    return GAZE_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Relative positions (T5)
 * ------------------------------------------------------------------------------------------- */

// As transformers' T5Attention._relative_position_bucket, in its float32 arithmetic (the log
// bucket's float32 log, quotient and product, truncated toward zero).
int64_t s2s_t5_bucket(int64_t rel, bool bidirectional, int64_t n_buckets, int64_t max_distance) {
    int64_t bucket = 0;
    if (bidirectional) {
        n_buckets /= 2;
        if (rel > 0) bucket += n_buckets;
        rel = rel < 0 ? -rel : rel;
    } else rel = rel < 0 ? -rel : 0;
    const int64_t max_exact = n_buckets / 2;
    if (rel < max_exact) return bucket + rel;
    const float r = (float)rel / (float)max_exact;
    const float den = (float)log((double)max_distance / (double)max_exact);
    const float v = logf(r) / den * (float)(n_buckets - max_exact);
    int64_t large = max_exact + (int64_t)v;
    if (large > n_buckets - 1) large = n_buckets - 1;
    return bucket + large;
}

// bias [H, Tq, Tk] = rel[bucket(k - (q0 + i))][h]
static void t5_bias(const float * rel, int64_t H, int64_t q0, int64_t Tq, int64_t Tk, bool bidir, int64_t nb,
                    int64_t md, float * bias) {
    for (int64_t i = 0; i < Tq; i++)
        for (int64_t j = 0; j < Tk; j++) {
            const int64_t b = s2s_t5_bucket(j - (q0 + i), bidir, nb, md);
            for (int64_t h = 0; h < H; h++) bias[(h * Tq + i) * Tk + j] = rel[b * H + h];
        }
}

/* ---------------------------------------------------------------------------------------------
 * The forward pass
 * ------------------------------------------------------------------------------------------- */

struct s2s_work {
    float * x, * h, * a;              // [Ts, C] each
    float * f1, * f2;                 // [Ts, F]
    float * scratch;                  // the MHA's
    float * bias;                     // [max(He·Ts·Ts, Hd·Tmax)]
    float * cap;                      // [Hd, max(Tmax, Ts)] one decoder row of weights
    float * enc_out;                  // [Ts, C]
    float * cross_k, * cross_v;       // [Ld, Ts, Hd·d]
    float * self_k, * self_v;         // [Ld, Tmax, Hd·d]
};

static void norm(const struct s2s_config * c, const float * x, float * y, int64_t T, const float * w, const float * b) {
    if (c->norm == S2S_NORM_RMS) gaze_rms_norm(x, y, T, c->C, w, c->eps);
    else gaze_layer_norm(x, y, T, c->C, w, b, c->eps);
}

static void activate(enum s2s_act act, float * y, int64_t n) {
    switch (act) {
    case S2S_ACT_RELU: for (int64_t i = 0; i < n; i++) y[i] = y[i] > 0.0f ? y[i] : 0.0f; break;
    case S2S_ACT_GELU_ERF: gaze_gelu_erf(y, y, n); break;
    case S2S_ACT_GELU_TANH: enc_activate(ENC_GELU_TANH, y, n); break;
    case S2S_ACT_SILU: gaze_silu(y, y, n); break;
    }
}

// out [T, C] = FFN(h [T, C])
static enum gaze_status ffn(const struct s2s_config * c, const struct s2s_layer * ly, int64_t F, const float * h,
                            int64_t T, struct s2s_work * w, float * out, int nt) {
    enum gaze_status s;
    if (c->gated) {
        const struct gaze_linear * lins[2] = { &ly->gate, &ly->up };
        float * ys[2] = { w->f1, w->f2 };
        if ((s = gaze_linear_forward_many(2, lins, h, T, ys, nt))) return s;
        activate(c->act, w->f1, T * F);
        for (int64_t i = 0; i < T * F; i++) w->f1[i] *= w->f2[i];
    } else {
        if ((s = gaze_linear_forward(&ly->up, h, T, w->f1, nt))) return s;
        activate(c->act, w->f1, T * F);
    }
    return gaze_linear_forward(&ly->down, w->f1, T, out, nt);
}

static struct gaze_mha mha_of(const struct s2s_config * c, const struct s2s_attn * a, int64_t H, int64_t d) {
    return (struct gaze_mha){ .d_model = c->C, .n_heads = H, .n_kv_heads = H, .head_dim = d, .wq = &a->q,
                              .wk = &a->k, .wv = &a->v, .wo = &a->o, .rope = GAZE_ROPE_NONE, .scale = c->attn_scale };
}

// One attention block on x [T, C] in place (residual and norm as the family does); weights of
// every head into cap_w ([H, T, Tk]) when not NULL.
static enum gaze_status block_attn(const struct s2s_config * c, const struct s2s_attn * a, int64_t H, int64_t d, float * x,
                                   int64_t T, const struct gaze_attn_mask * mask, struct gaze_kv_cache * cache,
                                   const struct gaze_mha_extra * ex, float * cap_w, struct s2s_work * w, int nt) {
    const struct gaze_mha mha = mha_of(c, a, H, d);
    struct gaze_mha_capture cap = { .weights = cap_w };
    enum gaze_status s;
    const float * in = x;
    if (c->pre_ln) { norm(c, x, w->h, T, a->norm_w, a->norm_b); in = w->h; }
    if ((s = gaze_mha_forward_ex(&mha, in, T, NULL, mask, cache, cap_w ? &cap : NULL, ex, w->a, w->scratch, nt))) return s;
    if (c->pre_ln) gaze_add(x, w->a, x, T * c->C);
    else if (gaze_add_layer_norm(x, w->a, x, T, c->C, a->norm_w, a->norm_b, c->eps, nt))
        return gaze_error(GAZE_ERR_NUMERIC, "%s: activations overflowed to Inf/NaN", c->arch);
    return GAZE_OK;
}

static enum gaze_status block_ffn(const struct s2s_config * c, const struct s2s_layer * ly, int64_t F, float * x,
                                  int64_t T, struct s2s_work * w, int nt) {
    enum gaze_status s;
    if (c->pre_ln) {
        norm(c, x, w->h, T, ly->ffn_norm_w, ly->ffn_norm_b);
        if ((s = ffn(c, ly, F, w->h, T, w, w->a, nt))) return s;
        gaze_add(x, w->a, x, T * c->C);
    } else {
        if ((s = ffn(c, ly, F, x, T, w, w->a, nt))) return s;
        if (gaze_add_layer_norm(x, w->a, x, T, c->C, ly->ffn_norm_w, ly->ffn_norm_b, c->eps, nt))
            return gaze_error(GAZE_ERR_NUMERIC, "%s: activations overflowed to Inf/NaN", c->arch);
    }
    return GAZE_OK;
}

// x [T, C] = embedding · scale + positions p0.. (+ layernorm_embedding)
static enum gaze_status embed(const struct s2s_config * c, const struct s2s_stack * st, int64_t V, const int32_t * ids,
                              int64_t T, int64_t p0, float * x) {
    for (int64_t t = 0; t < T; t++) {
        if (ids[t] < 0 || ids[t] >= V)
            return gaze_error(GAZE_ERR_INVALID_ARG, "%s: token id %d out of range 0..%lld", c->arch, ids[t],
                              (long long)(V - 1));
        const int64_t p = p0 + t + c->pos_offset;
        if (st->pos && p >= c->n_pos)
            return gaze_error(GAZE_ERR_LIMIT, "%s: position %lld beyond the model's %lld positions", c->arch,
                              (long long)(p0 + t), (long long)(c->n_pos - c->pos_offset));
        const float * e = st->embd + (int64_t)ids[t] * c->C;
        for (int64_t k = 0; k < c->C; k++) x[t * c->C + k] = e[k] * c->embd_scale + (st->pos ? st->pos[p * c->C + k] : 0.0f);
    }
    if (st->embd_norm_w) gaze_layer_norm(x, x, T, c->C, st->embd_norm_w, st->embd_norm_b, c->eps);
    return GAZE_OK;
}

static enum gaze_status encode(const struct s2s * m, const int32_t * src, int64_t Ts, struct s2s_work * w,
                               float * cap, int nt) {
    const struct s2s_config * c = &m->cfg;
    enum gaze_status s = embed(c, &m->enc, c->V, src, Ts, 0, w->x);
    if (s) return s;
    struct gaze_attn_mask mask = { .window_left = -1, .window_right = -1 };
    if (c->pos == S2S_POS_RELATIVE) {
        t5_bias(m->enc.rel, c->He, 0, Ts, Ts, true, c->n_buckets, c->max_distance, w->bias);
        mask.bias = w->bias;
        mask.bias_sh = Ts * Ts;
        mask.bias_st = Ts;
    }
    for (int64_t l = 0; l < c->Le; l++) {
        const struct s2s_layer * ly = &m->enc.layers[l];
        float * cw = cap ? cap + l * c->He * Ts * Ts : NULL;
        if ((s = block_attn(c, &ly->self, c->He, c->d, w->x, Ts, &mask, NULL, NULL, cw, w, nt))) return s;
        if ((s = block_ffn(c, ly, c->Fe, w->x, Ts, w, nt))) return s;
    }
    if (m->enc.final_norm_w) norm(c, w->x, w->x, Ts, m->enc.final_norm_w, m->enc.final_norm_b);
    memcpy(w->enc_out, w->x, (size_t)(Ts * c->C) * sizeof(float));
    // cross-attention keys and values of every decoder layer, once per source
    for (int64_t l = 0; l < c->Ld; l++) {
        const struct s2s_attn * a = &m->dec.layers[l].cross;
        const struct gaze_linear * lins[2] = { &a->k, &a->v };
        float * ys[2] = { w->cross_k + l * Ts * c->Hd * c->dd, w->cross_v + l * Ts * c->Hd * c->dd };
        if ((s = gaze_linear_forward_many(2, lins, w->enc_out, Ts, ys, nt))) return s;
    }
    return GAZE_OK;
}

// Decoder input token `id` at position t: logits [Vd]; row t of every layer's self- and
// cross-attention into r's arrays when capturing.
static enum gaze_status decode_step(const struct s2s * m, int32_t id, int64_t t, int64_t Ts, int64_t Tmax,
                                    struct s2s_work * w, struct s2s_result * r, float * logits, int nt) {
    const struct s2s_config * c = &m->cfg;
    const int64_t Hd = c->Hd, HD = c->Hd * c->dd, Tt = r->Tt;
    enum gaze_status s = embed(c, &m->dec, c->Vd, &id, 1, t, w->x);
    if (s) return s;
    struct gaze_attn_mask self_mask = { .causal = true, .window_left = -1, .window_right = -1 };
    struct gaze_attn_mask cross_mask = { .window_left = -1, .window_right = -1 };
    if (c->pos == S2S_POS_RELATIVE) {   // unidirectional buckets of keys 0..t for query t
        t5_bias(m->dec.rel, Hd, t, 1, t + 1, false, c->n_buckets, c->max_distance, w->bias);
        self_mask.bias = w->bias;
        self_mask.bias_sh = t + 1;
        self_mask.bias_st = t + 1;
    }
    for (int64_t l = 0; l < c->Ld; l++) {
        const struct s2s_layer * ly = &m->dec.layers[l];
        struct gaze_kv_cache cache = { w->self_k + l * Tmax * HD, w->self_v + l * Tmax * HD, Tmax, t };
        float * cw = r->dec ? w->cap : NULL;
        if ((s = block_attn(c, &ly->self, Hd, c->dd, w->x, 1, &self_mask, &cache, NULL, cw, w, nt))) return s;
        for (int64_t h = 0; cw && h < Hd; h++)   // row t: keys 0..t, the rest stays 0 (causal)
            memcpy(r->dec + ((l * Hd + h) * Tt + t) * Tt, cw + h * (t + 1), (size_t)(t + 1) * sizeof(float));
        const struct gaze_mha_extra ex = { .cross_k = w->cross_k + l * Ts * HD, .cross_v = w->cross_v + l * Ts * HD,
                                           .cross_T = Ts };
        cw = r->cross ? w->cap : NULL;
        if ((s = block_attn(c, &ly->cross, Hd, c->dd, w->x, 1, &cross_mask, NULL, &ex, cw, w, nt))) return s;
        for (int64_t h = 0; cw && h < Hd; h++)
            memcpy(r->cross + ((l * Hd + h) * Tt + t) * Ts, cw + h * Ts, (size_t)Ts * sizeof(float));
        if ((s = block_ffn(c, ly, c->Fd, w->x, 1, w, nt))) return s;
    }
    if (m->dec.final_norm_w) norm(c, w->x, w->x, 1, m->dec.final_norm_w, m->dec.final_norm_b);
    if (c->out_scale != 1.0f)
        for (int64_t k = 0; k < c->C; k++) w->x[k] *= c->out_scale;
    if ((s = gaze_linear_forward(&m->lm_head, w->x, 1, logits, nt))) return s;
    if (m->logits_bias) gaze_add(logits, m->logits_bias, logits, c->Vd);
    for (int64_t v = 0; v < c->Vd; v++)
        if (!isfinite(logits[v])) return gaze_error(GAZE_ERR_NUMERIC, "%s: logits overflowed to Inf/NaN", c->arch);
    return GAZE_OK;
}

// transformers' greedy processors on scores [Vd] after the decoder inputs ids [n]:
// RepetitionPenalty, NoRepeatNGram, NoBadWords, MinLength, MinNewTokensLength.
static void process_scores(const struct s2s_config * c, const int32_t * ids, int64_t n, float * sc) {
    if (c->rep_penalty != 1.0f)
        for (int64_t i = 0; i < n; i++) {   // each distinct earlier token once (gather, then scatter)
            bool seen = false;
            for (int64_t k = 0; k < i && !seen; k++) seen = ids[k] == ids[i];
            if (!seen) sc[ids[i]] = sc[ids[i]] < 0 ? sc[ids[i]] * c->rep_penalty : sc[ids[i]] / c->rep_penalty;
        }
    const int64_t g = c->no_repeat_ngram;
    if (g > 0 && n + 1 >= g)   // ban what followed the last g - 1 tokens before
        for (int64_t s = 0; s + g <= n; s++)
            if (!memcmp(ids + s, ids + n - (g - 1), (size_t)(g - 1) * sizeof *ids)) sc[ids[s + g - 1]] = -INFINITY;
    for (int i = 0; i < c->n_bad; i++) sc[c->bad_ids[i]] = -INFINITY;
    if (n < c->min_length || n - 1 < c->min_new) sc[c->eos] = -INFINITY;
}

void s2s_result_free(struct s2s_result * r) {
    if (!r) return;
    free(r->ids);
    gaze_free_aligned(r->enc);
    gaze_free_aligned(r->dec);
    gaze_free_aligned(r->cross);
    gaze_free_aligned(r->logits);
    memset(r, 0, sizeof *r);
}

double s2s_generate_bytes(const struct s2s * m, int64_t Ts, int64_t max_new, bool capture, double * cap, double * kv) {
    const struct s2s_config * c = &m->cfg;
    const double f = sizeof(float), ts = (double)Ts, tm = (double)(max_new + 1), HD = (double)(c->Hd * c->dd);
    const double F = (double)(c->Fe > c->Fd ? c->Fe : c->Fd), C = (double)c->C, Hm = (double)(c->He > c->Hd ? c->He : c->Hd);
    const struct gaze_mha me = { .d_model = c->C, .n_heads = c->He, .n_kv_heads = c->He, .head_dim = c->d };
    const struct gaze_mha md = { .d_model = c->C, .n_heads = c->Hd, .n_kv_heads = c->Hd, .head_dim = c->dd };
    const double scr = (double)GAZE_MAX(gaze_mha_scratch_floats(&me, Ts), gaze_mha_scratch_floats(&md, 1));
    *kv = 2 * (double)c->Ld * (ts + tm) * HD * f;   // cross keys/values of the source, self cache
    *cap = capture ? ((double)(c->Le * c->He) * ts * ts + (double)(c->Ld * c->Hd) * tm * (tm + ts)) * f : 0;
    const double act = (4 * ts * C + GAZE_MAX(ts * F, (double)c->Vd) + ts * F + scr + Hm * GAZE_MAX(tm, ts) +
                        (c->pos == S2S_POS_RELATIVE ? GAZE_MAX((double)c->He * ts * ts, (double)c->Hd * tm) : 0) +
                        tm * (double)c->Vd) * f;
    return *cap + *kv + act;
}

static float * zalloc(size_t n, bool * ok) {
    float * p = gaze_alloc_aligned((n ? n : 1) * sizeof(float));
    if (p) memset(p, 0, (n ? n : 1) * sizeof(float));
    else *ok = false;
    return p;
}

enum gaze_status s2s_generate(const struct s2s * m, const int32_t * src, int64_t Ts, int64_t max_new, bool capture,
                              int n_threads, struct s2s_result * r) {
    if (!r) return gaze_error(GAZE_ERR_INVALID_ARG, "seq2seq: NULL result");
    memset(r, 0, sizeof *r);
    if (!m || !src || Ts < 1 || max_new < 0 || max_new > (1 << 20) || Ts > (1 << 20))
        return gaze_error(GAZE_ERR_INVALID_ARG, "seq2seq: bad arguments (%lld source tokens, %lld new)", (long long)Ts,
                          (long long)max_new);
    const struct s2s_config * c = &m->cfg;
    if (c->pos != S2S_POS_RELATIVE && Ts + c->pos_offset > c->n_pos)
        return gaze_error(GAZE_ERR_LIMIT, "%s: %lld source tokens exceed the model's %lld positions", c->arch,
                          (long long)Ts, (long long)(c->n_pos - c->pos_offset));
    const int64_t Tmax = max_new + 1, C = c->C, F = c->Fe > c->Fd ? c->Fe : c->Fd, HD = c->Hd * c->dd;
    const int64_t Hm = c->He > c->Hd ? c->He : c->Hd;
    const struct gaze_mha me = { .d_model = C, .n_heads = c->He, .n_kv_heads = c->He, .head_dim = c->d };
    const struct gaze_mha md = { .d_model = C, .n_heads = c->Hd, .n_kv_heads = c->Hd, .head_dim = c->dd };
    size_t scr = gaze_mha_scratch_floats(&me, Ts), scr_d = gaze_mha_scratch_floats(&md, 1);
    // bias: encoder He·Ts·Ts, decoder Hd·Tmax; capture row: Hd·max(Tmax, Ts)
    const int64_t Tr = Tmax > Ts ? Tmax : Ts;
    bool ok = true;
    struct s2s_work w = {
        .x = zalloc((size_t)(Ts * C), &ok), .h = zalloc((size_t)(Ts * C), &ok), .a = zalloc((size_t)(Ts * C), &ok),
        .f1 = zalloc((size_t)(Ts * F > c->Vd ? Ts * F : c->Vd), &ok), .f2 = zalloc((size_t)(Ts * F), &ok),
        .scratch = zalloc(scr > scr_d ? scr : scr_d, &ok),
        .bias = zalloc((size_t)(c->pos == S2S_POS_RELATIVE ? (c->He * Ts * Ts > c->Hd * Tmax ? c->He * Ts * Ts : c->Hd * Tmax) : 1), &ok),
        .cap = zalloc((size_t)(Hm * Tr), &ok), .enc_out = zalloc((size_t)(Ts * C), &ok),
        .cross_k = zalloc((size_t)(c->Ld * Ts * HD), &ok), .cross_v = zalloc((size_t)(c->Ld * Ts * HD), &ok),
        .self_k = zalloc((size_t)(c->Ld * Tmax * HD), &ok), .self_v = zalloc((size_t)(c->Ld * Tmax * HD), &ok),
    };
    r->Ts = Ts;
    r->Tt = Tmax;
    r->ids = calloc((size_t)Tmax, sizeof *r->ids);
    r->logits = zalloc((size_t)(Tmax * c->Vd), &ok);
    if (capture) {
        r->enc = zalloc((size_t)(c->Le * c->He * Ts * Ts), &ok);
        r->dec = zalloc((size_t)(c->Ld * c->Hd * Tmax * Tmax), &ok);
        r->cross = zalloc((size_t)(c->Ld * c->Hd * Tmax * Ts), &ok);
    }
    enum gaze_status s = ok && r->ids ? GAZE_OK : gaze_error(GAZE_ERR_NOMEM, "%s: out of memory for generation", c->arch);
    if (!s) s = encode(m, src, Ts, &w, r->enc, n_threads);
    int64_t n = 0;   // decoder inputs fed
    if (!s) r->ids[0] = c->dec_start;
    for (int64_t t = 0; !s && t < Tmax; t++) {
        float * lg = r->logits + t * c->Vd;
        if ((s = decode_step(m, r->ids[t], t, Ts, Tmax, &w, r, lg, n_threads))) break;
        n = t + 1;
        if (t == max_new || (t > 0 && r->ids[t] == c->eos)) break;   // the last token was fed for its rows
        int32_t next = 0;
        if (t == 0 && c->forced_bos >= 0) next = c->forced_bos;                 // ForcedBOSTokenLogitsProcessor
        else if (t + 1 == max_new && c->forced_eos >= 0) next = c->forced_eos;   // ForcedEOS at max_length - 1
        else {
            // the scores processed as transformers does, on a copy (logits stay the model's)
            float * sc = w.f1;   // [Vd]: f1 holds max(Ts·F, Vd) floats
            memcpy(sc, lg, (size_t)c->Vd * sizeof(float));
            process_scores(c, r->ids, t + 1, sc);
            for (int64_t v = 1; v < c->Vd; v++)
                if (sc[v] > sc[next]) next = (int32_t)v;   // first maximum, as torch.argmax
        }
        r->ids[t + 1] = next;
    }
    if (!s && n < Tmax) {   // stopped at EOS: keep the rows fed (arrays keep their Tmax stride)
        const int64_t Tt = n;
        for (int64_t l = 0; r->dec && l < c->Ld * c->Hd; l++)
            for (int64_t i = 0; i < Tt; i++)
                memmove(r->dec + (l * Tt + i) * Tt, r->dec + (l * Tmax + i) * Tmax, (size_t)Tt * sizeof(float));
        for (int64_t l = 0; r->cross && l < c->Ld * c->Hd; l++)
            memmove(r->cross + l * Tt * Ts, r->cross + l * Tmax * Ts, (size_t)(Tt * Ts) * sizeof(float));
        r->Tt = Tt;
    }
    float * bufs[] = { w.x, w.h, w.a, w.f1, w.f2, w.scratch, w.bias, w.cap, w.enc_out, w.cross_k, w.cross_v,
                       w.self_k, w.self_v };
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) gaze_free_aligned(bufs[i]);
    if (s) s2s_result_free(r);
    return s;
}

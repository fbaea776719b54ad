// The encoder-decoder forward pass shared by T5, BART and Marian (seq2seq.h): loading dispatch,
// the encoder, the decoder step (self-attention over its KV cache, cross-attention over the
// encoder output's keys/values computed once), greedy generation and exact capture of the three
// attention kinds.
#include "models/seq2seq.h"
#include "formats/json.h"
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
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
    if (m->enc.embd_fd >= 0) close(m->enc.embd_fd);
    if (m->dec.embd_fd >= 0) close(m->dec.embd_fd);
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
    double lp;   // beam search: num_beams, length_penalty, early_stopping (true, false or "never")
    if ((s = gaze_json_opt_int(o, "num_beams", label, 1, &c->num_beams)) ||
        (s = gaze_json_opt_number(o, "length_penalty", label, 1.0, &lp)))
        return s;
    if (c->num_beams < 1 || c->num_beams > 4096 || !isfinite(lp) || fabs(lp) > 1e3)
        return gaze_error(GAZE_ERR_FORMAT, "%s: num_beams %lld (1..4096) or length_penalty %g (|x| <= 1000) out of range",
                          label, (long long)c->num_beams, lp);
    c->length_penalty = lp;
    const json_t * es = json_object_get(o, "early_stopping");
    if (!es || json_is_null(es) || json_is_false(es)) c->early_stopping = 0;
    else if (json_is_true(es)) c->early_stopping = 1;
    else if (json_is_string(es) && !strcmp(json_string_value(es), "never")) c->early_stopping = 2;
    else return gaze_error(GAZE_ERR_FORMAT, "%s: early_stopping must be true, false or \"never\"", label);
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

// The load's finiteness checks touched every page of the mapped file. The linear weights run
// from their packed copies (gaze_linear_prepare) and the embedding tables are read a row per
// token, so the file's pages are dropped from this process: without this the weights were held
// twice (mapped and packed). The loaders call it after each layer too (the load's peak), and
// once at the end (a later read of a neighbouring tensor can map pages back).
static void drop_stack(const struct s2s * m, const struct s2s_layer * ly, int64_t n) {
    for (int64_t i = 0; ly && i < n; i++) {
        const struct gaze_linear * lins[11] = { &ly[i].self.q, &ly[i].self.k, &ly[i].self.v, &ly[i].self.o,
                                                &ly[i].cross.q, &ly[i].cross.k, &ly[i].cross.v, &ly[i].cross.o,
                                                &ly[i].gate, &ly[i].up, &ly[i].down };
        for (int j = 0; j < 11; j++)
            if (lins[j]->weight && lins[j]->prepared)
                enc_drop_table(&m->w, lins[j]->weight, (size_t)(lins[j]->n_out * lins[j]->n_in));
    }
}

void s2s_drop_mapped(const struct s2s * m) {
    const struct s2s_config * c = &m->cfg;
    drop_stack(m, m->enc.layers, c->Le);
    drop_stack(m, m->dec.layers, c->Ld);
    if (m->lm_head.weight && m->lm_head.prepared)
        enc_drop_table(&m->w, m->lm_head.weight, (size_t)(m->lm_head.n_out * m->lm_head.n_in));
    if (m->enc.embd) enc_drop_table(&m->w, m->enc.embd, (size_t)(c->V * c->C));
    if (m->dec.embd && m->dec.embd != m->enc.embd) enc_drop_table(&m->w, m->dec.embd, (size_t)(c->Vd * c->C));
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
    m->enc.embd_fd = m->dec.embd_fd = -1;
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
    s2s_drop_mapped(m);
    // Embedding rows by pread, not through the mapping: on kernels that map whole large page-cache
    // folios per fault (6.x), reading 4 rows of t5-small's table mapped 6 MiB back, and one
    // 128-token run the whole 62 MiB table, into this process.
    struct s2s_stack * stacks[2] = { &m->enc, &m->dec };
    for (int i = 0; i < 2; i++) {
        const char * file = NULL;
        for (int f = 0; f < m->w.set->n && !file; f++) {
            const struct gaze_safetensors * st = m->w.set->files[f];
            for (int64_t j = 0; j < gaze_safetensors_n_tensors(st) && !file; j++) {
                const struct gaze_st_tensor * t = gaze_safetensors_tensor(st, j);
                if (t->data == (const void *)stacks[i]->embd && t->dtype == GAZE_DTYPE_F32 && t->file_offset > 0) {
                    stacks[i]->embd_off = (int64_t)t->file_offset;
                    file = gaze_safetensors_path(st);
                }
            }
        }
        if (file) stacks[i]->embd_fd = open(file, O_RDONLY | O_CLOEXEC);
        if (stacks[i]->embd_fd < 0) stacks[i]->embd_off = 0;   // then through the mapping, as before
    }
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
static enum gaze_status embed(const struct s2s_config * c, const struct s2s_stack * st, int64_t V,
                              const int32_t * ids, int64_t T, int64_t p0, float * x) {
    for (int64_t t = 0; t < T; t++) {
        if (ids[t] < 0 || ids[t] >= V)
            return gaze_error(GAZE_ERR_INVALID_ARG, "%s: token id %d out of range 0..%lld", c->arch, ids[t],
                              (long long)(V - 1));
        const int64_t p = p0 + t + c->pos_offset;
        if (st->pos && p >= c->n_pos)
            return gaze_error(GAZE_ERR_LIMIT, "%s: position %lld beyond the model's %lld positions", c->arch,
                              (long long)(p0 + t), (long long)(c->n_pos - c->pos_offset));
        const float * e = st->embd + (int64_t)ids[t] * c->C;
        if (st->embd_off > 0) {
            const size_t n = (size_t)c->C * sizeof(float);
            const off_t at = (off_t)(st->embd_off + (int64_t)ids[t] * c->C * (int64_t)sizeof(float));
            if (pread(st->embd_fd, x + t * c->C, n, at) != (ssize_t)n)
                return gaze_error(GAZE_ERR_IO, "%s: cannot read embedding row %d of the weights file", c->arch, ids[t]);
            e = x + t * c->C;
        }
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

// The buffers one generation needs (decoder KV cache for `beams` hypotheses).
static enum gaze_status work_alloc(const struct s2s_config * c, int64_t Ts, int64_t Tmax, struct s2s_work * w) {
    const int64_t C = c->C, F = c->Fe > c->Fd ? c->Fe : c->Fd, HD = c->Hd * c->dd;
    const int64_t Hm = c->He > c->Hd ? c->He : c->Hd;
    const struct gaze_mha me = { .d_model = C, .n_heads = c->He, .n_kv_heads = c->He, .head_dim = c->d };
    const struct gaze_mha md = { .d_model = C, .n_heads = c->Hd, .n_kv_heads = c->Hd, .head_dim = c->dd };
    size_t scr = gaze_mha_scratch_floats(&me, Ts), scr_d = gaze_mha_scratch_floats(&md, 1);
    // bias: encoder He·Ts·Ts, decoder Hd·Tmax; capture row: Hd·max(Tmax, Ts)
    const int64_t Tr = Tmax > Ts ? Tmax : Ts;
    bool ok = true;
    *w = (struct s2s_work){
        .x = zalloc((size_t)(Ts * C), &ok), .h = zalloc((size_t)(Ts * C), &ok), .a = zalloc((size_t)(Ts * C), &ok),
        .f1 = zalloc((size_t)(Ts * F > c->Vd ? Ts * F : c->Vd), &ok), .f2 = zalloc((size_t)(Ts * F), &ok),
        .scratch = zalloc(scr > scr_d ? scr : scr_d, &ok),
        .bias = zalloc((size_t)(c->pos == S2S_POS_RELATIVE ? (c->He * Ts * Ts > c->Hd * Tmax ? c->He * Ts * Ts : c->Hd * Tmax) : 1), &ok),
        .cap = zalloc((size_t)(Hm * Tr), &ok), .enc_out = zalloc((size_t)(Ts * C), &ok),
        .cross_k = zalloc((size_t)(c->Ld * Ts * HD), &ok), .cross_v = zalloc((size_t)(c->Ld * Ts * HD), &ok),
        .self_k = zalloc((size_t)(c->Ld * Tmax * HD), &ok), .self_v = zalloc((size_t)(c->Ld * Tmax * HD), &ok),
    };
    return ok ? GAZE_OK : gaze_error(GAZE_ERR_NOMEM, "%s: out of memory for generation", c->arch);
}

static void work_free(struct s2s_work * w) {
    float * bufs[] = { w->x, w->h, w->a, w->f1, w->f2, w->scratch, w->bias, w->cap, w->enc_out, w->cross_k, w->cross_v,
                       w->self_k, w->self_v };
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) gaze_free_aligned(bufs[i]);
}

/* ---------------------------------------------------------------------------------------------
 * Beam search (transformers 4.46 _beam_search + BeamSearchScorer + BeamHypotheses, one batch row)
 * ------------------------------------------------------------------------------------------- */

struct beam_hyps {
    int n, cap;                       // kept hypotheses, num_beams
    double worst;
    struct { double score; int32_t * ids; int64_t len; } h[S2S_MAX_BEAMS + 1];
};

// BeamHypotheses.add: kept when fewer than num_beams or better than the worst; the worst goes.
static enum gaze_status hyps_add(struct beam_hyps * b, const int32_t * ids, int64_t len, double sum_logprobs,
                                 int64_t gen_len, double lp) {
    const double score = sum_logprobs / pow((double)gen_len, lp);
    if (!(b->n < b->cap || score > b->worst)) return GAZE_OK;
    int32_t * copy = malloc((size_t)(len > 0 ? len : 1) * sizeof *copy);
    if (!copy) return gaze_error(GAZE_ERR_NOMEM, "seq2seq: out of memory for beam search");
    memcpy(copy, ids, (size_t)len * sizeof *copy);
    b->h[b->n].score = score;
    b->h[b->n].ids = copy;
    b->h[b->n].len = len;
    b->n++;
    if (b->n > b->cap) {   // sorted((s, idx)): delete the smallest (first index on ties), worst = the next
        int lo = 0;
        for (int i = 1; i < b->n; i++)
            if (b->h[i].score < b->h[lo].score) lo = i;
        double second = INFINITY;
        for (int i = 0; i < b->n; i++)
            if (i != lo && b->h[i].score < second) second = b->h[i].score;
        free(b->h[lo].ids);
        memmove(&b->h[lo], &b->h[lo + 1], (size_t)(b->n - lo - 1) * sizeof b->h[0]);
        b->n--;
        b->worst = second;
    } else if (score < b->worst) b->worst = score;
    return GAZE_OK;
}

// BeamHypotheses.is_done, decoder prompt length 1 (the start token).
static bool hyps_done(const struct beam_hyps * b, double best_sum, int64_t cur_len, int64_t max_length,
                      const struct s2s_config * c) {
    if (b->n < b->cap) return false;
    if (c->early_stopping == 1) return true;
    const double lp = c->length_penalty;
    const int64_t len = c->early_stopping == 2 && lp > 0 ? max_length - 1 : cur_len - 1;
    return b->worst >= best_sum / pow((double)len, lp);
}

// torch.log_softmax in float: (x - max) - log(sum exp(x - max)).
static void s2s_log_softmax(const float * x, float * y, int64_t n) {
    float mx = x[0];
    for (int64_t i = 1; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    double sum = 0;
    for (int64_t i = 0; i < n; i++) sum += exp((double)(x[i] - mx));
    const float ls = (float)log(sum);
    for (int64_t i = 0; i < n; i++) y[i] = (x[i] - mx) - ls;
}

// Beam search from the encoded source (w: cross K/V ready); the winner's decoder inputs (start,
// tokens, the EOS if it fits) into ids [Tmax], their count into *n.
static enum gaze_status beam_search(const struct s2s * m, int64_t Ts, int64_t max_new, int N, struct s2s_work * w,
                                    int nt, int32_t * out, int64_t * n_out) {
    const struct s2s_config * c = &m->cfg;
    const int64_t Tmax = max_new + 1, max_length = max_new + 1, Vd = c->Vd, kv = c->Ld * Tmax * c->Hd * c->dd;
    const int K = 2 * N;   // n_tokens_to_keep: max(2, 1 + one EOS) · num_beams
    bool ok = true;
    float * caches = zalloc((size_t)(4 * N) * (size_t)kv, &ok);   // [2 (old, new)][N][K | V]
    float * sc = zalloc((size_t)(N * Vd), &ok), * lg = zalloc((size_t)Vd, &ok);
    int32_t * ids = calloc((size_t)(2 * N * Tmax), sizeof *ids);
    struct beam_hyps hy = { .cap = N, .worst = 1e9 };
    float beam_score[S2S_MAX_BEAMS], top_s[2 * S2S_MAX_BEAMS];
    int64_t top_i[2 * S2S_MAX_BEAMS];
    enum gaze_status s = ok && ids ? GAZE_OK : gaze_error(GAZE_ERR_NOMEM, "%s: out of memory for beam search", c->arch);
    float * const k0 = w->self_k, * const v0 = w->self_v;
    struct s2s_result none = { .Tt = Tmax };   // decode_step without capture
    int cur = 0;   // which half of caches / ids holds the live beams
    for (int b = 0; b < N; b++) {
        beam_score[b] = b ? -1e9f : 0.0f;
        if (ids) ids[b * Tmax] = c->dec_start;
    }
    bool done = false;
    int64_t L = 1;   // decoder inputs of every live beam
    while (!s) {
        for (int b = 0; b < N && !s; b++) {
            float * kb = caches + ((size_t)(cur * N + b)) * 2 * (size_t)kv;
            w->self_k = kb;
            w->self_v = kb + kv;
            const int32_t * bi = ids + (cur * N + b) * Tmax;
            s = decode_step(m, bi[L - 1], L - 1, Ts, Tmax, w, &none, lg, nt);
            if (s) break;
            float * row = sc + b * Vd;
            s2s_log_softmax(lg, row, Vd);
            process_scores(c, bi, L, row);
            int32_t forced = L == 1 && c->forced_bos >= 0 ? c->forced_bos
                           : L == max_length - 1 && c->forced_eos >= 0 ? c->forced_eos : -1;
            if (forced >= 0) {   // ForcedBOS / ForcedEOS: -inf everywhere, 0 on the token
                for (int64_t v = 0; v < Vd; v++) row[v] = -INFINITY;
                row[forced] = 0.0f;
            }
            for (int64_t v = 0; v < Vd; v++) row[v] += beam_score[b];
        }
        w->self_k = k0;
        w->self_v = v0;
        if (s) break;
        // torch.topk(K, sorted): the K largest of [N · Vd], larger first (lower index first on ties)
        int nk = 0;
        for (int64_t i = 0; i < N * Vd; i++) {
            const float v = sc[i];
            if (nk == K && !(v > top_s[K - 1])) continue;
            int j = nk < K ? nk++ : K - 1;
            while (j > 0 && v > top_s[j - 1]) { top_s[j] = top_s[j - 1]; top_i[j] = top_i[j - 1]; j--; }
            top_s[j] = v;
            top_i[j] = i;
        }
        // BeamSearchScorer.process: EOS among the first N ranks ends a hypothesis, the rest fill the beams
        int nb = 0, src_beam[S2S_MAX_BEAMS];
        int32_t tok[S2S_MAX_BEAMS];
        float nscore[S2S_MAX_BEAMS];
        for (int r = 0; r < nk && nb < N && !s; r++) {
            const int b = (int)(top_i[r] / Vd);
            const int32_t t = (int32_t)(top_i[r] % Vd);
            if (t == c->eos) {
                if (r >= N) continue;
                s = hyps_add(&hy, ids + (cur * N + b) * Tmax, L, (double)top_s[r], L, c->length_penalty);
            } else {
                src_beam[nb] = b;
                tok[nb] = t;
                nscore[nb++] = top_s[r];
            }
        }
        if (s) break;
        if (nb < N) { s = gaze_error(GAZE_ERR_NUMERIC, "%s: beam search found fewer than %d continuations", c->arch, N); break; }
        done = done || hyps_done(&hy, (double)top_s[0], L + 1, max_length, c);
        // the new beams: their parent's ids and KV cache (rows 0..L-1), then the token
        const int nxt = 1 - cur;
        for (int j = 0; j < N; j++) {
            int32_t * dst = ids + (nxt * N + j) * Tmax;
            memcpy(dst, ids + (cur * N + src_beam[j]) * Tmax, (size_t)L * sizeof *dst);
            dst[L] = tok[j];
            beam_score[j] = nscore[j];
            const float * from = caches + ((size_t)(cur * N + src_beam[j])) * 2 * (size_t)kv;
            memcpy(caches + ((size_t)(nxt * N + j)) * 2 * (size_t)kv, from, 2 * (size_t)kv * sizeof(float));
        }
        cur = nxt;
        L++;
        if (done || L >= max_length) break;
    }
    if (!s && !done)   // finalize: the open beams join the hypotheses
        for (int b = 0; b < N && !s; b++)
            s = hyps_add(&hy, ids + (cur * N + b) * Tmax, L, (double)beam_score[b], L - 1, c->length_penalty);
    if (!s) {
        int best = 0;   // sorted by score, pop(): the last of equal scores
        for (int i = 1; i < hy.n; i++)
            if (hy.h[i].score >= hy.h[best].score) best = i;
        if (hy.n < 1) s = gaze_error(GAZE_ERR_NUMERIC, "%s: beam search ended with no hypothesis", c->arch);
        else {
            int64_t n = hy.h[best].len;
            memcpy(out, hy.h[best].ids, (size_t)n * sizeof *out);
            if (n < max_length) out[n++] = c->eos;   // finalize appends the EOS when it fits
            *n_out = n;
        }
    }
    for (int i = 0; i < hy.n; i++) free(hy.h[i].ids);
    gaze_free_aligned(caches);
    gaze_free_aligned(sc);
    gaze_free_aligned(lg);
    free(ids);
    return s;
}

enum gaze_status s2s_generate(const struct s2s * m, const int32_t * src, int64_t Ts, int64_t max_new, bool capture,
                              int n_threads, struct s2s_result * r) {
    return s2s_generate_ex(m, src, Ts, max_new, capture, n_threads, NULL, r);
}

enum gaze_status s2s_generate_ex(const struct s2s * m, const int32_t * src, int64_t Ts, int64_t max_new, bool capture,
                                 int n_threads, const struct s2s_gen * g, struct s2s_result * r) {
    if (!r) return gaze_error(GAZE_ERR_INVALID_ARG, "seq2seq: NULL result");
    memset(r, 0, sizeof *r);
    if (!m || !src || Ts < 1 || max_new < 0 || max_new > (1 << 20) || Ts > (1 << 20))
        return gaze_error(GAZE_ERR_INVALID_ARG, "seq2seq: bad arguments (%lld source tokens, %lld new)", (long long)Ts,
                          (long long)max_new);
    const struct s2s_config * c = &m->cfg;
    const struct s2s_gen g0 = { .beams = 1 };
    if (!g) g = &g0;
    if (g->beams > S2S_MAX_BEAMS)
        return gaze_error(GAZE_ERR_UNSUPPORTED, "%s: %d beams; gaze's beam search goes up to %d", c->arch, g->beams,
                          S2S_MAX_BEAMS);
    if (g->force && (g->n_force < 1 || g->n_force > (1 << 20)))
        return gaze_error(GAZE_ERR_INVALID_ARG, "seq2seq: %lld forced decoder inputs", (long long)g->n_force);
    if (g->force) max_new = g->n_force - 1;
    if (c->pos != S2S_POS_RELATIVE && Ts + c->pos_offset > c->n_pos)
        return gaze_error(GAZE_ERR_LIMIT, "%s: %lld source tokens exceed the model's %lld positions", c->arch,
                          (long long)Ts, (long long)(c->n_pos - c->pos_offset));
    const int64_t Tmax = max_new + 1;
    struct s2s_work w;
    enum gaze_status s = work_alloc(c, Ts, Tmax, &w);
    if (s) { work_free(&w); return s; }
    if (g->beams > 1 && !g->force && max_new > 0) {
        // the search without capture, then the winner teacher-forced through the same kernels
        int32_t * win = calloc((size_t)Tmax, sizeof *win);
        int64_t n = 0;
        s = win ? encode(m, src, Ts, &w, NULL, n_threads) : gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", c->arch);
        if (!s) s = beam_search(m, Ts, max_new, g->beams, &w, n_threads, win, &n);
        work_free(&w);
        if (!s) {
            struct s2s_gen f = { .beams = 1, .force = win, .n_force = n };
            s = s2s_generate_ex(m, src, Ts, max_new, capture, n_threads, &f, r);
        }
        for (int64_t t = 1; !s && g->on_token && t < r->Tt; t++) g->on_token(g->user, t - 1, r->ids[t], r);
        free(win);
        return s;
    }
    bool ok = true;
    r->Ts = Ts;
    r->Tt = Tmax;
    r->ids = calloc((size_t)Tmax, sizeof *r->ids);
    r->logits = zalloc((size_t)(Tmax * c->Vd), &ok);
    if (capture) {
        r->enc = zalloc((size_t)(c->Le * c->He * Ts * Ts), &ok);
        r->dec = zalloc((size_t)(c->Ld * c->Hd * Tmax * Tmax), &ok);
        r->cross = zalloc((size_t)(c->Ld * c->Hd * Tmax * Ts), &ok);
    }
    s = ok && r->ids ? GAZE_OK : gaze_error(GAZE_ERR_NOMEM, "%s: out of memory for generation", c->arch);
    if (!s) s = encode(m, src, Ts, &w, r->enc, n_threads);
    int64_t n = 0;   // decoder inputs fed
    if (!s) r->ids[0] = g->force ? g->force[0] : c->dec_start;
    for (int64_t t = 0; !s && t < Tmax; t++) {
        float * lg = r->logits + t * c->Vd;
        if ((s = decode_step(m, r->ids[t], t, Ts, Tmax, &w, r, lg, n_threads))) break;
        n = t + 1;
        if (t == max_new || (!g->force && t > 0 && r->ids[t] == c->eos)) break;   // the last token was fed for its rows
        int32_t next = 0;
        if (g->force) next = g->force[t + 1];
        else if (t == 0 && c->forced_bos >= 0) next = c->forced_bos;                 // ForcedBOSTokenLogitsProcessor
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
        if (g->on_token && !g->force) g->on_token(g->user, t, next, r);   // live: before step t + 1 runs
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
    work_free(&w);
    if (s) s2s_result_free(r);
    return s;
}

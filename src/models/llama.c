// Llama-family decoders from GGUF files: RMSNorm, RoPE (interleaved pairs: GGUF stores Q/K
// rows permuted for it), GQA, SwiGLU, tied or separate output embedding, KV cache, batched
// prompt processing, greedy or temperature/top-p sampling, and capture of the prompt's
// attention plus the attention of every generated token over its context.
#include "models/model.h"
#include "formats/runfile.h"
#include "kernels/quant.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * Weights
 * ------------------------------------------------------------------------------------------- */

struct llama_layer {
    const float * attn_norm;          // [C]
    const float * ffn_norm;           // [C]
    struct gaze_linear q, k, v, o;    // [H·d, C], [Hkv·d, C] ×2, [C, H·d]
    struct gaze_linear gate, up;      // [F, C]
    struct gaze_linear down;          // [C, F]
};

struct llama {
    struct gaze_gguf * gguf;
    struct llama_layer * quant_layers;          // [L] the file's weights while exact is on
    struct gaze_linear   quant_output;
    float *              exact_buf;             // every linear weight dequantized, or NULL
    struct gaze_bpe *  tok;
    int64_t C, L, H, Hkv, d, F, V, n_ctx, rope_dim;
    float   eps, rope_base;
    const struct gaze_gguf_tensor * tok_embd;   // [V, C] (ne = {C, V})
    struct gaze_linear output;                  // [V, C]: output.weight or the tied embedding
    const float * output_norm;                  // [C]
    struct llama_layer * layers;                // [L]
    float ** owned;                             // norms converted to f32
    int64_t  n_owned;
};

static enum gaze_status llama_unembed(struct gaze_model * model, const float * hidden, int64_t T, float * logits);
static enum gaze_status llama_run(struct gaze_model * model, const char * text, const char * pair,
                                  const struct gaze_run_opts * opts, struct gaze_run * run);
static enum gaze_status llama_set_exact(struct gaze_model * model, bool exact);

static struct gaze_linear * layer_linear(struct llama_layer * ly, int i);

// Loading progress in MiB: every tensor's data checked (gaze_gguf_check_data), then every
// linear weight prepared; on a large file each takes seconds.
struct load_progress { const struct gaze_progress * outer; int64_t base, total; };
static void load_progress_fn(void * user, int64_t done, int64_t total, const char * what) {
    const struct load_progress * lp = user;
    gaze_progress_report(lp->outer, (lp->base + done) >> 20, lp->total >> 20, "MiB");
}
static int64_t linear_bytes(const struct gaze_linear * lin) {
    const struct quant_traits * tr = quant_traits_get(lin->type);
    return tr && tr->blck > 0 ? lin->n_out * (lin->n_in / tr->blck) * (int64_t)tr->size : 0;
}

// Quantized weights re-laid out once for the kernels (generation is 3x faster with it).
static enum gaze_status llama_prepare(struct llama * m, struct load_progress * lp) {
    enum gaze_status s = gaze_linear_prepare(&m->output);
    int64_t done = linear_bytes(&m->output);
    for (int64_t l = 0; l < m->L && !s; l++) {
        for (int i = 0; i < 7 && !s; i++) {
            s = gaze_linear_prepare(layer_linear(&m->layers[l], i));
            done += linear_bytes(layer_linear(&m->layers[l], i));
        }
        if (lp) load_progress_fn(lp, done, 0, NULL);
    }
    return s;
}

static void llama_release(struct llama_layer * layers, int64_t L, struct gaze_linear * output) {
    for (int64_t l = 0; layers && l < L; l++)
        for (int i = 0; i < 7; i++) gaze_linear_release(layer_linear(&layers[l], i));
    gaze_linear_release(output);
}

static void llama_free(void * p) {
    struct llama * m = p;
    if (!m) return;
    if (m->quant_layers) llama_release(m->quant_layers, m->L, &m->quant_output);
    else llama_release(m->layers, m->L, &m->output);
    for (int64_t i = 0; i < m->n_owned; i++) free(m->owned[i]);
    free(m->owned);
    free(m->layers);
    free(m->quant_layers);
    gaze_free_aligned(m->exact_buf);
    gaze_bpe_free(m->tok);
    gaze_gguf_free(m->gguf);
    free(m);
}

// Looks up a tensor and checks its shape (ne innermost first, as in the file).
static enum gaze_status find(struct llama * m, const char * name, int64_t ne0, int64_t ne1,
                             const struct gaze_gguf_tensor ** out) {
    const struct gaze_gguf_tensor * t = gaze_gguf_find_tensor(m->gguf, name);
    if (!t) return gaze_error(GAZE_ERR_FORMAT, "%s: tensor %s is missing", gaze_gguf_path(m->gguf), name);
    if (t->ne[0] != ne0 || t->ne[1] != ne1 || t->ne[2] != 1 || t->ne[3] != 1)
        return gaze_error(GAZE_ERR_FORMAT, "%s: tensor %s has ne = [%lld, %lld, %lld, %lld], expected [%lld, %lld]",
                          gaze_gguf_path(m->gguf), name, (long long)t->ne[0], (long long)t->ne[1],
                          (long long)t->ne[2], (long long)t->ne[3], (long long)ne0, (long long)ne1);
    *out = t;
    return GAZE_OK;
}

static enum gaze_status vec_f32(struct llama * m, const char * name, int64_t n, const float ** out) {
    const struct gaze_gguf_tensor * t;
    enum gaze_status s = find(m, name, n, 1, &t);
    if (s) return s;
    float * f = malloc((size_t)n * sizeof *f);
    float ** grown = realloc(m->owned, (size_t)(m->n_owned + 1) * sizeof *grown);
    if (!f || !grown) { free(f); if (grown) m->owned = grown; return gaze_error(GAZE_ERR_NOMEM, "llama: out of memory"); }
    m->owned = grown;
    m->owned[m->n_owned++] = f;
    if ((s = gaze_dequantize(t->type, t->data, f, n))) return s;
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(f[i])) return gaze_error(GAZE_ERR_NUMERIC, "%s: tensor %s holds a non-finite value at %lld",
                                               gaze_gguf_path(m->gguf), name, (long long)i);
    *out = f;
    return GAZE_OK;
}

static enum gaze_status linear(struct llama * m, const char * name, int64_t n_in, int64_t n_out,
                               struct gaze_linear * lin) {
    const struct gaze_gguf_tensor * t;
    enum gaze_status s = find(m, name, n_in, n_out, &t);
    if (s) return s;
    *lin = (struct gaze_linear){ .type = t->type, .n_out = n_out, .n_in = n_in, .weight = t->data };
    return GAZE_OK;
}

static enum gaze_status llama_tokenizer(struct llama * m) {
    struct gaze_gguf * g = m->gguf;
    const char * model_name, * pre;
    size_t pre_len;
    enum gaze_status s = gaze_gguf_get_str(g, "tokenizer.ggml.model", &model_name, NULL);
    if (s) return s;
    if (strcmp(model_name, "gpt2") != 0)
        return gaze_error(GAZE_ERR_UNSUPPORTED, "%s: tokenizer.ggml.model \"%s\"%s is not supported (only \"gpt2\", "
                          "byte-level BPE)", gaze_gguf_path(g), model_name,
                          !strcmp(model_name, "llama") ? " (SentencePiece)" : "");
    if ((s = gaze_gguf_get_str(g, "tokenizer.ggml.pre", &pre, &pre_len))) return s;
    const struct gaze_gguf_str * toks, * merges;
    int64_t n_tok, n_merges;
    if ((s = gaze_gguf_get_arr_str(g, "tokenizer.ggml.tokens", &toks, &n_tok))) return s;
    if ((s = gaze_gguf_get_arr_str(g, "tokenizer.ggml.merges", &merges, &n_merges))) return s;
    const char ** tp = malloc((size_t)n_tok * sizeof *tp), ** mp = malloc((size_t)(n_merges + 1) * sizeof *mp);
    size_t * tl = malloc((size_t)n_tok * sizeof *tl), * ml = malloc((size_t)(n_merges + 1) * sizeof *ml);
    int32_t * types = malloc((size_t)n_tok * sizeof *types);
    if (!tp || !mp || !tl || !ml || !types) { s = gaze_error(GAZE_ERR_NOMEM, "llama: out of memory for the vocab"); goto done; }
    for (int64_t i = 0; i < n_tok; i++) { tp[i] = toks[i].s; tl[i] = toks[i].len; }
    for (int64_t i = 0; i < n_merges; i++) { mp[i] = merges[i].s; ml[i] = merges[i].len; }
    bool has_types = gaze_gguf_find_key(g, "tokenizer.ggml.token_type") >= 0;
    if (has_types && (s = gaze_gguf_get_arr_i32(g, "tokenizer.ggml.token_type", types, n_tok))) goto done;
    struct gaze_bpe_vocab v = { 0 };
    v.n_tokens = n_tok; v.tokens = tp; v.token_lens = tl; v.token_types = has_types ? types : NULL;
    v.n_merges = n_merges; v.merges = mp; v.merge_lens = ml; v.pre = pre; v.pre_len = pre_len;
    v.bos_id = v.eos_id = -1; v.add_bos = -1;
    uint32_t id;
    bool flag;
    if (gaze_gguf_find_key(g, "tokenizer.ggml.bos_token_id") >= 0) {
        if ((s = gaze_gguf_get_u32(g, "tokenizer.ggml.bos_token_id", &id))) goto done;
        if (id >= (uint64_t)n_tok) {
            s = gaze_error(GAZE_ERR_FORMAT, "%s: tokenizer.ggml.bos_token_id = %u: out of range (vocab size %lld)",
                           gaze_gguf_path(g), id, (long long)n_tok);
            goto done;
        }
        v.bos_id = (int32_t)id;
    }
    if (gaze_gguf_find_key(g, "tokenizer.ggml.eos_token_id") >= 0) {
        if ((s = gaze_gguf_get_u32(g, "tokenizer.ggml.eos_token_id", &id))) goto done;
        if (id >= (uint64_t)n_tok) {
            s = gaze_error(GAZE_ERR_FORMAT, "%s: tokenizer.ggml.eos_token_id = %u: out of range (vocab size %lld)",
                           gaze_gguf_path(g), id, (long long)n_tok);
            goto done;
        }
        v.eos_id = (int32_t)id;
    }
    if (gaze_gguf_find_key(g, "tokenizer.ggml.add_bos_token") >= 0) {
        if ((s = gaze_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &flag))) goto done;
        v.add_bos = flag;
    }
    s = gaze_bpe_init(&m->tok, &v);
    if (s) {   // copy first: the message would be formatted into the buffer it is read from
        char why[512];
        snprintf(why, sizeof why, "%s", gaze_last_error());
        s = gaze_error(s, "%s: tokenizer: %s", gaze_gguf_path(g), why);
    }
done:
    free(tp); free(mp); free(tl); free(ml); free(types);
    return s;
}

#define LLAMA_MAX_LAYERS 512

enum gaze_status llama_load(struct gaze_model * model, const char * path) {
    struct llama * m = calloc(1, sizeof *m);
    if (!m) return gaze_error(GAZE_ERR_NOMEM, "llama: out of memory");
    enum gaze_status s = gaze_gguf_open(path, &m->gguf);
    const char * arch = NULL;
    uint32_t u;
    if (!s) s = gaze_gguf_get_str(m->gguf, "general.architecture", &arch, NULL);
    if (!s && strcmp(arch, "llama") != 0)
        s = gaze_error(GAZE_ERR_UNSUPPORTED, "%s: general.architecture \"%s\" is not supported (only \"llama\")", path, arch);
#define HP(key, field, lo, hi) \
    if (!s) { s = gaze_gguf_get_u32(m->gguf, key, &u); \
              if (!s && (u < (lo) || u > (hi))) s = gaze_error(GAZE_ERR_FORMAT, "%s: %s = %u outside %lld..%lld", path, key, u, (long long)(lo), (long long)(hi)); \
              m->field = u; }
    HP("llama.embedding_length", C, 1, 1 << 16)
    HP("llama.block_count", L, 1, LLAMA_MAX_LAYERS)
    HP("llama.attention.head_count", H, 1, 1024)
    HP("llama.feed_forward_length", F, 1, 1 << 18)
    HP("llama.context_length", n_ctx, 1, 1 << 24)
#undef HP
    if (!s) {
        m->Hkv = m->H;
        if (gaze_gguf_find_key(m->gguf, "llama.attention.head_count_kv") >= 0) {
            s = gaze_gguf_get_u32(m->gguf, "llama.attention.head_count_kv", &u);
            m->Hkv = u;
        }
    }
    if (!s && (m->Hkv < 1 || m->H % m->Hkv != 0))
        s = gaze_error(GAZE_ERR_FORMAT, "%s: head_count %lld is not a multiple of head_count_kv %lld", path,
                       (long long)m->H, (long long)m->Hkv);
    if (!s && m->C % m->H != 0)
        s = gaze_error(GAZE_ERR_FORMAT, "%s: embedding_length %lld is not a multiple of head_count %lld", path,
                       (long long)m->C, (long long)m->H);
    if (!s) {
        m->d = m->C / m->H;
        if (m->d > 256) s = gaze_error(GAZE_ERR_UNSUPPORTED, "%s: head dim %lld above 256", path, (long long)m->d);
    }
    if (!s) s = gaze_gguf_get_f32(m->gguf, "llama.attention.layer_norm_rms_epsilon", &m->eps);
    if (!s && !(m->eps > 0 && m->eps < 1)) s = gaze_error(GAZE_ERR_FORMAT, "%s: layer_norm_rms_epsilon %g out of range", path, m->eps);
    m->rope_base = 10000.0f;
    if (!s && gaze_gguf_find_key(m->gguf, "llama.rope.freq_base") >= 0)
        s = gaze_gguf_get_f32(m->gguf, "llama.rope.freq_base", &m->rope_base);
    if (!s && !(m->rope_base > 1.0f && isfinite(m->rope_base)))
        s = gaze_error(GAZE_ERR_FORMAT, "%s: rope.freq_base %g out of range", path, m->rope_base);
    m->rope_dim = m->d;
    if (!s && gaze_gguf_find_key(m->gguf, "llama.rope.dimension_count") >= 0) {
        s = gaze_gguf_get_u32(m->gguf, "llama.rope.dimension_count", &u);
        if (!s && (u < 2 || u > m->d || u % 2)) s = gaze_error(GAZE_ERR_FORMAT, "%s: rope.dimension_count %u invalid for head dim %lld", path, u, (long long)m->d);
        m->rope_dim = u;
    }
    if (!s) s = llama_tokenizer(m);
    if (!s) m->V = gaze_bpe_vocab_size(m->tok);
    if (!s) s = find(m, "token_embd.weight", m->C, m->V, &m->tok_embd);
    if (!s) s = vec_f32(m, "output_norm.weight", m->C, &m->output_norm);
    if (!s) {
        if (gaze_gguf_find_tensor(m->gguf, "output.weight")) s = linear(m, "output.weight", m->C, m->V, &m->output);
        else m->output = (struct gaze_linear){ .type = m->tok_embd->type, .n_out = m->V, .n_in = m->C,
                                                .weight = m->tok_embd->data };   // tied
    }
    if (!s && !(m->layers = calloc((size_t)m->L, sizeof *m->layers))) s = gaze_error(GAZE_ERR_NOMEM, "llama: out of memory");
    for (int64_t l = 0; l < m->L && !s; l++) {
        struct llama_layer * ly = &m->layers[l];
        char name[64];
#define T(suffix) (snprintf(name, sizeof name, "blk.%lld.%s", (long long)l, suffix), name)
        s = vec_f32(m, T("attn_norm.weight"), m->C, &ly->attn_norm);
        if (!s) s = vec_f32(m, T("ffn_norm.weight"), m->C, &ly->ffn_norm);
        if (!s) s = linear(m, T("attn_q.weight"), m->C, m->H * m->d, &ly->q);
        if (!s) s = linear(m, T("attn_k.weight"), m->C, m->Hkv * m->d, &ly->k);
        if (!s) s = linear(m, T("attn_v.weight"), m->C, m->Hkv * m->d, &ly->v);
        if (!s) s = linear(m, T("attn_output.weight"), m->H * m->d, m->C, &ly->o);
        if (!s) s = linear(m, T("ffn_gate.weight"), m->C, m->F, &ly->gate);
        if (!s) s = linear(m, T("ffn_up.weight"), m->C, m->F, &ly->up);
        if (!s) s = linear(m, T("ffn_down.weight"), m->F, m->C, &ly->down);
#undef T
    }
    // every float value and quantization block scale finite (ggml_validate_row_data): a NaN or Inf
    // weight would otherwise turn every run into silent NaN
    struct load_progress lp = { model->load_progress, 0, 0 }, * lpp = model->load_progress && !s ? &lp : NULL;
    int64_t data_bytes = 0;
    if (lpp) {   // the bytes checked, then the bytes prepared
        for (int64_t i = 0; i < gaze_gguf_n_tensors(m->gguf); i++) data_bytes += (int64_t)gaze_gguf_tensor_at(m->gguf, i)->nbytes;
        lp.total = data_bytes + linear_bytes(&m->output);
        for (int64_t l = 0; l < m->L; l++)
            for (int i = 0; i < 7; i++) lp.total += linear_bytes(layer_linear(&m->layers[l], i));
    }
    struct gaze_progress check = { load_progress_fn, &lp };
    if (!s) s = gaze_gguf_check_data_progress(m->gguf, lpp ? &check : NULL);
    lp.base = data_bytes;
    if (!s) s = llama_prepare(m, lpp);
    if (s) { llama_free(m); return s; }
    model->impl = m;
    model->free_impl = llama_free;
    model->run = llama_run;
    model->set_exact = llama_set_exact;
    model->unembed = llama_unembed;
    model->info = (struct gaze_model_info){
        .arch = GAZE_ARCH_LLAMA, .arch_name = "llama", .n_vocab = m->V, .n_embd = m->C, .n_layers = m->L,
        .n_heads = m->H, .n_kv_heads = m->Hkv, .head_dim = m->d, .n_ff = m->F, .n_ctx = m->n_ctx, .causal = true,
    };
    return GAZE_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Forward pass
 * ------------------------------------------------------------------------------------------- */

struct llama_state {                  // everything one run allocates, once
    float * x;                        // [T, C] residual stream
    float * h;                        // [T, C] normed input / attention output
    float * gate;                     // [T, F]
    float * up;                       // [T, F]
    float * logits;                   // [V]
    float * scratch;                  // gaze_mha_scratch_floats
    float * kv;                       // [L, 2, n_ctx, Hkv·d] KV cache
    struct gaze_kv_cache * cache;     // [L]
    int64_t T_max, n_ctx;
};

static void state_free(struct llama_state * st) {
    gaze_free_aligned(st->x);
    gaze_free_aligned(st->kv);
    free(st->cache);
    memset(st, 0, sizeof *st);
}

static enum gaze_status state_init(struct llama_state * st, const struct llama * m, int64_t T_max, int64_t n_ctx) {
    memset(st, 0, sizeof *st);
    struct gaze_mha mha = { m->C, m->H, m->Hkv, m->d, 0, 0, 0, 0, GAZE_ROPE_INTERLEAVED, 0, 0, 0, NULL, false };
    size_t n = (size_t)T_max * (size_t)(2 * m->C + 2 * m->F) + (size_t)m->V + gaze_mha_scratch_floats(&mha, T_max);
    size_t nkv = (size_t)m->L * 2 * (size_t)n_ctx * (size_t)(m->Hkv * m->d);
    st->x = gaze_alloc_aligned(n * sizeof(float));
    st->kv = gaze_alloc_aligned(nkv * sizeof(float));
    st->cache = calloc((size_t)m->L, sizeof *st->cache);
    if (!st->x || !st->kv || !st->cache) { state_free(st); return gaze_error(GAZE_ERR_NOMEM, "llama: out of memory for %lld tokens", (long long)n_ctx); }
    st->h = st->x + T_max * m->C;
    st->gate = st->h + T_max * m->C;
    st->up = st->gate + T_max * m->F;
    st->logits = st->up + T_max * m->F;
    st->scratch = st->logits + m->V;
    for (int64_t l = 0; l < m->L; l++) {
        float * base = st->kv + (size_t)l * 2 * (size_t)n_ctx * (size_t)(m->Hkv * m->d);
        st->cache[l] = (struct gaze_kv_cache){ base, base + n_ctx * m->Hkv * m->d, n_ctx, 0 };
    }
    st->T_max = T_max;
    st->n_ctx = n_ctx;
    return GAZE_OK;
}

// What the run keeps, accumulated over the prompt call and every generation step: full
// [Hc, n_ctx, n_ctx] maps per captured layer (each call fills its rows), staged per call.
struct llama_capture {
    const int64_t * heads;            // [Hc] or NULL = all
    int64_t Hc;
    int64_t n_ctx;                    // rows and keys of the full arrays
    float ** attn;                    // [L] -> [Hc, n_ctx, n_ctx] softmax weights, or NULL entries
    float ** scores;                  // [L] -> [Hc, n_ctx, n_ctx] pre-softmax scores
    float ** q;                       // [L] -> [Hc, n_ctx, d] queries after RoPE
    float ** hidden;                  // [L] -> [n_ctx, C] residual stream after the layer
    float * tmp_w, * tmp_s, * tmp_q;  // one call's [Hc, T, Tk] / [Hc, T, d]
};

// Runs T tokens (ids) through the model at positions n_past.. (the KV cache's n_past), leaving
// the last token's logits in st->logits.
static enum gaze_status llama_forward(const struct llama * m, struct llama_state * st, const int32_t * ids,
                                      int64_t T, struct llama_capture * cap, const struct gaze_run_opts * opts) {
    const int n_threads = opts->n_threads;
    const int64_t C = m->C, F = m->F;
    enum gaze_status s;
    for (int64_t t = 0; t < T; t++) {
        const size_t row = gaze_type_row_bytes(m->tok_embd->type, C);
        if ((s = gaze_dequantize(m->tok_embd->type, (const char *)m->tok_embd->data + (size_t)ids[t] * row, st->x + t * C, C)))
            return s;
    }
    struct gaze_attn_mask mask;
    memset(&mask, 0, sizeof mask);
    mask.causal = true;
    mask.window_left = mask.window_right = -1;
    const int64_t n_past = st->cache[0].n_past, Tk = n_past + T;
    for (int64_t l = 0; l < m->L; l++) {
        const struct llama_layer * ly = &m->layers[l];
        struct gaze_mha mha = { C, m->H, m->Hkv, m->d, &ly->q, &ly->k, &ly->v, &ly->o,
                                GAZE_ROPE_INTERLEAVED, m->rope_dim, m->rope_base, 0.0f,
                                opts->head_mask ? opts->head_mask + l * m->H : NULL, opts->ablate_mean };
        gaze_rms_norm(st->x, st->h, T, C, ly->attn_norm, m->eps);
        if ((s = model_attrib_decoder_layer(opts, &mha, &mask, st->h, st->x, T, n_past, l, m->L, n_threads))) return s;
        struct gaze_mha_capture mc = { 0 };
        const bool want = cap && (cap->attn[l] || cap->scores[l] || cap->q[l]);
        if (want)
            mc = (struct gaze_mha_capture){ cap->heads, cap->Hc, cap->attn[l] ? cap->tmp_w : NULL,
                                            cap->scores[l] ? cap->tmp_s : NULL, cap->q[l] ? cap->tmp_q : NULL, NULL };
        if ((s = gaze_mha_forward(&mha, st->h, T, NULL, &mask, &st->cache[l], want ? &mc : NULL, st->h, st->scratch, n_threads)))
            return s;
        for (int64_t h = 0; want && h < cap->Hc; h++)
            for (int64_t t = 0; t < T; t++) {
                const int64_t row = h * cap->n_ctx + n_past + t;
                if (cap->attn[l]) memcpy(cap->attn[l] + row * cap->n_ctx, cap->tmp_w + (h * T + t) * Tk, (size_t)Tk * sizeof(float));
                if (cap->scores[l]) memcpy(cap->scores[l] + row * cap->n_ctx, cap->tmp_s + (h * T + t) * Tk, (size_t)Tk * sizeof(float));
                if (cap->q[l]) memcpy(cap->q[l] + row * m->d, cap->tmp_q + (h * T + t) * m->d, (size_t)m->d * sizeof(float));
            }
        gaze_add(st->x, st->h, st->x, T * C);
        gaze_rms_norm(st->x, st->h, T, C, ly->ffn_norm, m->eps);
        if ((s = gaze_linear_forward(&ly->gate, st->h, T, st->gate, n_threads)) ||
            (s = gaze_linear_forward(&ly->up, st->h, T, st->up, n_threads)))
            return s;
        gaze_swiglu(st->gate, st->up, st->gate, T * F);
        if ((s = gaze_linear_forward(&ly->down, st->gate, T, st->h, n_threads))) return s;
        gaze_add(st->x, st->h, st->x, T * C);
        // finite weights can still overflow f32 (a hostile F16 file holds |w| up to 65504): refuse
        // rather than hand back NaN attention and logits
        bool finite = true;
        for (int64_t i = 0; i < T * C; i++) finite &= isfinite(st->x[i]);
        if (!finite) return gaze_error(GAZE_ERR_NUMERIC, "llama: layer %lld: activations overflowed to Inf/NaN", (long long)l);
        if (cap && cap->hidden[l]) memcpy(cap->hidden[l] + n_past * C, st->x, (size_t)(T * C) * sizeof(float));
    }
    gaze_rms_norm(st->x + (T - 1) * C, st->h, 1, C, m->output_norm, m->eps);
    return gaze_linear_forward(&m->output, st->h, 1, st->logits, n_threads);
}

// Mean next-token loss over the prompt, -(1/(T-1)) Σ log p(ids[t+1] | ids[..t]), from the
// residual stream the prompt pass left in st->x [T, C]. Logits go through in chunks.
static enum gaze_status llama_loss(const struct llama * m, struct llama_state * st, const int32_t * ids,
                                   int64_t T, int n_threads, double * loss) {
    if (T < 2) { *loss = NAN; return GAZE_OK; }
    enum { CHUNK = 32 };
    float * h = gaze_alloc_aligned((size_t)CHUNK * (size_t)(m->C + m->V) * sizeof(float));
    if (!h) return gaze_error(GAZE_ERR_NOMEM, "llama: out of memory for logits");
    float * logits = h + CHUNK * m->C;
    double nll = 0;
    enum gaze_status s = GAZE_OK;
    for (int64_t t0 = 0; t0 < T - 1 && !s; t0 += CHUNK) {
        const int64_t n = GAZE_MIN(CHUNK, T - 1 - t0);
        gaze_rms_norm(st->x + t0 * m->C, h, n, m->C, m->output_norm, m->eps);
        if ((s = gaze_linear_forward(&m->output, h, n, logits, n_threads))) break;
        for (int64_t i = 0; i < n; i++) {
            const float * z = logits + i * m->V;
            float mx = z[0];
            for (int64_t v = 1; v < m->V; v++) mx = z[v] > mx ? z[v] : mx;
            double sum = 0;
            for (int64_t v = 0; v < m->V; v++) sum += exp((double)(z[v] - mx));
            nll += (double)mx + log(sum) - (double)z[ids[t0 + i + 1]];
        }
    }
    gaze_free_aligned(h);
    if (!s) *loss = nll / (double)(T - 1);
    return s;
}

// Logit lens (gaze_model_unembed): logits [T, V] = output(final_norm(hidden [T, C])).
static enum gaze_status llama_unembed(struct gaze_model * model, const float * hidden, int64_t T, float * logits) {
    const struct llama * m = model->impl;
    float * h = gaze_alloc_aligned((size_t)(T * m->C) * sizeof(float));
    if (!h) return gaze_error(GAZE_ERR_NOMEM, "llama: out of memory for the logit lens");
    gaze_rms_norm(hidden, h, T, m->C, m->output_norm, m->eps);
    enum gaze_status s = gaze_linear_forward(&m->output, h, T, logits, 0);
    gaze_free_aligned(h);
    return s;
}

// xorshift64*: reproducible sampling for a given seed.
static double rng_next(uint64_t * s) {
    *s ^= *s >> 12; *s ^= *s << 25; *s ^= *s >> 27;
    return (double)((*s * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

struct cand { float p; int32_t id; };

static int cmp_desc(const void * a, const void * b) {
    float x = ((const struct cand *)a)->p, y = ((const struct cand *)b)->p;
    return (x < y) - (x > y);
}

// Greedy (temperature 0) or temperature + nucleus sampling over logits [V]. work: [V].
static int32_t sample(const float * logits, int64_t V, float temperature, float top_p, uint64_t * rng,
                      struct cand * work) {
    int64_t best = 0;
    for (int64_t i = 1; i < V; i++) if (logits[i] > logits[best]) best = i;
    if (temperature <= 0.0f) return (int32_t)best;
    double sum = 0;
    for (int64_t i = 0; i < V; i++) {
        work[i].p = (float)exp((double)(logits[i] - logits[best]) / temperature);
        work[i].id = (int32_t)i;
        sum += work[i].p;
    }
    qsort(work, (size_t)V, sizeof *work, cmp_desc);
    double cut = (top_p > 0.0f && top_p < 1.0f) ? top_p * sum : sum, acc = 0;
    int64_t n = 0;
    while (n < V && (n == 0 || acc < cut)) acc += work[n++].p;
    double r = rng_next(rng) * acc, c = 0;
    for (int64_t i = 0; i < n; i++) {
        c += work[i].p;
        if (r < c) return work[i].id;
    }
    return work[n - 1].id;
}

// A zeroed capture array of n floats from the run allocator (core/recycle.c), so the run can own it.
static float * cap_alloc(size_t n) {
    size_t bytes;
    if (gaze_mul_ovf(n, sizeof(float), &bytes)) return NULL;
    float * p = gaze_alloc_recycled(bytes);
    if (p) memset(p, 0, bytes);
    return p;
}

// The bytes llama_run will hold for a prompt of T tokens and n_ctx in all, weights aside,
// against the budget: captured arrays, their per-call staging, KV cache and activations.
static enum gaze_status llama_check_memory(const struct llama * m, const struct gaze_run_opts * opts, int64_t T,
                                           int64_t n_ctx) {
    const unsigned parts = opts->parts ? opts->parts : GAZE_RUN_PART_ATTN;
    const double Hc = (double)(opts->heads ? opts->n_heads : m->H), f = sizeof(float);
    double cap = 0, stage = 0;
    if (!opts->no_capture) {
        cap = model_capture_bytes(opts, m->L, (int64_t)Hc, n_ctx, m->d, m->C);
        const double one = Hc * (double)GAZE_MAX(T * T, n_ctx) * f;
        stage = (parts & GAZE_RUN_PART_ATTN ? one : 0) + (parts & GAZE_RUN_PART_SCORES ? one : 0) +
                (parts & GAZE_RUN_PART_Q ? Hc * (double)(T * m->d) * f : 0);
    }
    struct gaze_mha mha = { m->C, m->H, m->Hkv, m->d, 0, 0, 0, 0, GAZE_ROPE_INTERLEAVED, 0, 0, 0, NULL, false };
    const double kv = (double)m->L * 2 * (double)n_ctx * (double)(m->Hkv * m->d) * f;
    const double act = ((double)T * (double)(2 * m->C + 2 * m->F) + (double)m->V +
                        (double)gaze_mha_scratch_floats(&mha, T)) * f + (double)m->V * sizeof(struct cand) +
                       (opts->loss ? 32.0 * (double)(m->C + m->V) * f : 0);
    char what[200], a[32], b[32], c[32];
    snprintf(what, sizeof what, "%lld tokens: captured arrays %s, KV cache %s, activations and staging %s",
             (long long)n_ctx, model_format_bytes(cap, a, sizeof a), model_format_bytes(kv, b, sizeof b),
             model_format_bytes(act + stage, c, sizeof c));
    return model_check_memory("llama", opts, cap + stage + kv + act, what);
}

// gaze_run_opts.on_token: the text generated token id completes; id -1: the held end of the text.
static enum gaze_status emit_token(struct gaze_bpe_stream * ds, const struct gaze_run_opts * o, int64_t step,
                                   int32_t id) {
    const char * text;
    size_t len;
    enum gaze_status s = id >= 0 ? gaze_bpe_stream_push(ds, id, &text, &len) : gaze_bpe_stream_finish(ds, &text, &len);
    if (!s && (id >= 0 || len)) o->on_token(o->on_token_user, step, id, text, len);
    return s;
}

static enum gaze_status llama_run(struct gaze_model * model, const char * text, const char * pair,
                                  const struct gaze_run_opts * opts, struct gaze_run * run) {
    struct llama * m = model->impl;
    gaze_run_init(run);
    if (pair) return gaze_error(GAZE_ERR_INVALID_ARG, "llama: sentence pairs are for encoders; give one prompt");
    struct gaze_encoding enc;
    memset(&enc, 0, sizeof enc);
    enum gaze_status s = gaze_bpe_encode(m->tok, text, strlen(text), NULL, &enc);
    if (s) { gaze_encoding_free(&enc); return s; }
    int64_t T = enc.n_tokens;
    const int64_t gen = opts->generate > 0 ? opts->generate : 0;
    if (T < 1) { gaze_encoding_free(&enc); return gaze_error(GAZE_ERR_INVALID_ARG, "llama: the prompt gave no tokens"); }
    if (T + gen > m->n_ctx) {
        if (!opts->truncate) {
            gaze_encoding_free(&enc);
            return gaze_error(GAZE_ERR_LIMIT, "llama: %lld prompt + %lld generated tokens exceed the context length %lld "
                              "(use --truncate to keep the last tokens)", (long long)T, (long long)gen, (long long)m->n_ctx);
        }
        if (gen >= m->n_ctx) { gaze_encoding_free(&enc); return gaze_error(GAZE_ERR_LIMIT, "llama: --generate exceeds the context"); }
        int64_t drop = T + gen - m->n_ctx;   // keep the end of the prompt
        memmove(enc.ids, enc.ids + drop, (size_t)(T - drop) * sizeof *enc.ids);
        memmove(enc.offsets, enc.offsets + 2 * drop, (size_t)(T - drop) * 2 * sizeof *enc.offsets);
        T -= drop;
        enc.n_tokens = T;
    }
    const bool capture = !opts->no_capture;
    // With capture, the last generated token is fed too, so it has an attention row.
    const int64_t n_ctx = T + gen;
    int32_t * ids = malloc((size_t)n_ctx * sizeof *ids);
    int64_t * offs = malloc((size_t)n_ctx * 2 * sizeof *offs);
    struct cand * work = malloc((size_t)m->V * sizeof *work);
    struct gaze_bpe_stream * ds = NULL;   // the generated text for opts->on_token
    struct llama_state st;
    memset(&st, 0, sizeof st);
    struct llama_capture cap = { opts->heads, opts->heads ? opts->n_heads : m->H, n_ctx, NULL, NULL, NULL, NULL, NULL, NULL, NULL };
    const unsigned parts = opts->parts ? opts->parts : GAZE_RUN_PART_ATTN;
    if (!ids || !offs || !work) { s = gaze_error(GAZE_ERR_NOMEM, "llama: out of memory"); goto done; }
    if ((s = llama_check_memory(m, opts, T, n_ctx))) goto done;
    memcpy(ids, enc.ids, (size_t)T * sizeof *ids);
    memcpy(offs, enc.offsets, (size_t)T * 2 * sizeof *offs);
    if ((s = state_init(&st, m, T, n_ctx))) goto done;

    if (capture) {
        const int64_t Hc = cap.Hc, d = m->d;
        float *** arrays[4] = { &cap.attn, &cap.scores, &cap.q, &cap.hidden };
        for (int i = 0; i < 4; i++)
            if (!(*arrays[i] = calloc((size_t)m->L, sizeof(float *)))) { s = gaze_error(GAZE_ERR_NOMEM, "llama: out of memory"); goto done; }
        bool oom = false;
        for (int64_t l = 0; l < m->L && !oom; l++) {
            if (!model_layer_wanted(opts, l)) continue;
            // the run's own kind of array (zeroed: rows a step never wrote stay 0), handed to it at the end
            if (parts & GAZE_RUN_PART_ATTN) oom |= !(cap.attn[l] = cap_alloc((size_t)(Hc * n_ctx * n_ctx)));
            if (parts & GAZE_RUN_PART_SCORES) oom |= !(cap.scores[l] = cap_alloc((size_t)(Hc * n_ctx * n_ctx)));
            if (parts & GAZE_RUN_PART_Q) oom |= !(cap.q[l] = cap_alloc((size_t)(Hc * n_ctx * d)));
            if (parts & GAZE_RUN_PART_HIDDEN) oom |= !(cap.hidden[l] = cap_alloc((size_t)(n_ctx * m->C)));
        }
        // staging for one call: the prompt [Hc, T, T] or a generation step [Hc, 1, Tk]; only
        // for the parts captured
        const size_t stage = (size_t)(Hc * GAZE_MAX(T * T, n_ctx));
        cap.tmp_w = malloc((parts & GAZE_RUN_PART_ATTN ? stage : 1) * sizeof(float));
        cap.tmp_s = malloc((parts & GAZE_RUN_PART_SCORES ? stage : 1) * sizeof(float));
        cap.tmp_q = malloc((parts & GAZE_RUN_PART_Q ? (size_t)(Hc * T * d) : 1) * sizeof(float));
        if (oom || !cap.tmp_w || !cap.tmp_s || !cap.tmp_q) {
            s = gaze_error(GAZE_ERR_NOMEM, "llama: out of memory capturing %lld tokens", (long long)n_ctx);
            goto done;
        }
    }
    if ((s = llama_forward(m, &st, ids, T, capture ? &cap : NULL, opts))) goto done;
    if (opts->loss && (s = llama_loss(m, &st, ids, T, opts->n_threads, opts->loss))) goto done;
    uint64_t rng = opts->seed ? opts->seed : 0x9E3779B97F4A7C15ULL;
    int64_t n = T;
    const int32_t eos = gaze_bpe_specials(m->tok).eos;
    if (opts->on_token && gen > 0 && (s = gaze_bpe_stream_init(&ds, m->tok))) goto done;
    while (n < T + gen) {
        int32_t next = sample(st.logits, m->V, opts->temperature, opts->top_p, &rng, work);
        ids[n] = next;
        offs[2 * n] = offs[2 * n + 1] = 0;   // generated: not in the input text
        n++;
        if (ds && (s = emit_token(ds, opts, n - 1 - T, next))) goto done;
        if (next == eos) break;
        if (n == T + gen && !capture) break;   // its own attention row is only needed for capture
        if ((s = llama_forward(m, &st, &ids[n - 1], 1, capture ? &cap : NULL, opts))) goto done;
    }
    if (ds && (s = emit_token(ds, opts, n - T, -1))) goto done;

    // the run: tokens as their text pieces, metadata, captured layers
    {
        const char ** pieces = malloc((size_t)n * sizeof *pieces);
        size_t * lens = malloc((size_t)n * sizeof *lens);
        if (!pieces || !lens) { free(pieces); free(lens); s = gaze_error(GAZE_ERR_NOMEM, "llama: out of memory"); goto done; }
        for (int64_t t = 0; t < n; t++) {
            pieces[t] = gaze_bpe_token_piece(m->tok, ids[t], &lens[t]);
            if (!pieces[t]) { pieces[t] = ""; lens[t] = 0; }
        }
        s = gaze_run_set_tokens(run, n, pieces, lens, ids, offs);
        free(pieces);
        free(lens);
        if (s) goto done;
    }
    // sequence ids: -1 for special tokens (BOS, control tokens the prompt spelled), else 0
    if (!(run->sequence_ids = malloc((size_t)n))) { s = gaze_error(GAZE_ERR_NOMEM, "llama: out of memory"); goto done; }
    for (int64_t t = 0; t < n; t++) {
        enum gaze_bpe_token_type ty = gaze_bpe_token_type(m->tok, ids[t]);
        run->sequence_ids[t] = (ty == GAZE_BPE_TOKEN_TYPE_CONTROL || ty == GAZE_BPE_TOKEN_TYPE_UNKNOWN) ? -1 : 0;
    }
    run->model = strdup(model->path);
    run->arch = strdup("llama");
    run->text = strdup(text);
    if (!run->model || !run->arch || !run->text) { s = gaze_error(GAZE_ERR_NOMEM, "llama: out of memory"); goto done; }
    run->causal = true;
    run->n_layers = m->L;
    run->n_heads = m->H;
    run->n_kv_heads = m->Hkv;
    run->d_head = m->d;
    run->n_embd = m->C;
    run->n_generated = n - T;
    if (capture) {
        const int64_t Hc = cap.Hc, d = m->d;
        if ((s = gaze_run_set_capture(run, opts->heads, Hc, NULL, n))) goto done;
        for (int64_t l = 0; l < m->L; l++) {
            if (!model_layer_wanted(opts, l)) continue;
            // the capture buffers become the run's arrays, not copied (a copy doubled the peak).
            // n < n_ctx when EOS stopped generation: rows [Hc, n_ctx, n_ctx] close up in place to
            // [Hc, n, n] (each destination lies at or before its source); the EOS row is all
            // zeros (never fed)
            for (int64_t h = 0; h < Hc; h++)
                for (int64_t i = 0; i < n; i++) {
                    const int64_t src = (h * n_ctx + i) * n_ctx, dst = (h * n + i) * n;
                    if (cap.attn[l]) memmove(cap.attn[l] + dst, cap.attn[l] + src, (size_t)n * sizeof(float));
                    if (cap.scores[l]) {
                        memmove(cap.scores[l] + dst, cap.scores[l] + src, (size_t)n * sizeof(float));
                        for (int64_t j = i + 1; j < n; j++) cap.scores[l][dst + j] = -INFINITY;
                    }
                    if (cap.q[l]) memmove(cap.q[l] + (h * n + i) * d, cap.q[l] + (h * n_ctx + i) * d, (size_t)d * sizeof(float));
                }
            float * given[5] = { cap.attn[l], cap.scores[l], cap.q[l], NULL, cap.hidden[l] };
            struct gaze_run_layer * ly;
            if ((s = run_add_layer_given(run, l, parts, given, &ly))) goto done;
            cap.attn[l] = cap.scores[l] = cap.q[l] = cap.hidden[l] = NULL;   // the run's now
            // the key head this query head reads, from the KV cache; a trailing EOS was never fed,
            // so its cache row was never written: zeros, like its attention row
            for (int64_t h = 0; ly->k && h < Hc; h++)
                for (int64_t i = 0; i < GAZE_MIN(n, st.cache[l].n_past); i++) {
                    const int64_t hk = (opts->heads ? opts->heads[h] : h) / (m->H / m->Hkv);
                    memcpy(ly->k + (h * n + i) * d, st.cache[l].k + i * m->Hkv * d + hk * d, (size_t)d * sizeof(float));
                }
        }
    }
done:
    for (int64_t l = 0; cap.attn && l < m->L; l++) gaze_free_recycled(cap.attn[l]);
    for (int64_t l = 0; cap.scores && l < m->L; l++) gaze_free_recycled(cap.scores[l]);
    for (int64_t l = 0; cap.q && l < m->L; l++) gaze_free_recycled(cap.q[l]);
    for (int64_t l = 0; cap.hidden && l < m->L; l++) gaze_free_recycled(cap.hidden[l]);
    free(cap.attn); free(cap.scores); free(cap.q); free(cap.hidden);
    free(cap.tmp_w); free(cap.tmp_s); free(cap.tmp_q);
    state_free(&st);
    gaze_bpe_stream_free(ds);
    free(ids);
    free(offs);
    free(work);
    gaze_encoding_free(&enc);
    if (s) gaze_run_free(run);
    return s;
}

/* ---------------------------------------------------------------------------------------------
 * Exact mode: f32 copies of every weight
 * ------------------------------------------------------------------------------------------- */

static struct gaze_linear * layer_linear(struct llama_layer * ly, int i) {
    struct gaze_linear * all[7] = { &ly->q, &ly->k, &ly->v, &ly->o, &ly->gate, &ly->up, &ly->down };
    return all[i];
}

static enum gaze_status llama_set_exact(struct gaze_model * model, bool exact) {
    struct llama * m = model->impl;
    if (exact == (m->exact_buf != NULL)) return GAZE_OK;
    if (!exact) {   // back to the file's quantized weights
        memcpy(m->layers, m->quant_layers, (size_t)m->L * sizeof *m->layers);
        m->output = m->quant_output;
        free(m->quant_layers);
        m->quant_layers = NULL;
        gaze_free_aligned(m->exact_buf);
        m->exact_buf = NULL;
        return GAZE_OK;
    }
    size_t total = (size_t)(m->V * m->C);
    for (int64_t l = 0; l < m->L; l++)
        for (int i = 0; i < 7; i++) {
            const struct gaze_linear * lin = layer_linear(&m->layers[l], i);
            total += (size_t)(lin->n_out * lin->n_in);
        }
    m->quant_layers = malloc((size_t)m->L * sizeof *m->quant_layers);
    m->exact_buf = gaze_alloc_aligned(total * sizeof(float));
    if (!m->quant_layers || !m->exact_buf) {
        free(m->quant_layers); m->quant_layers = NULL;
        gaze_free_aligned(m->exact_buf); m->exact_buf = NULL;
        return gaze_error(GAZE_ERR_NOMEM, "llama: out of memory for f32 weights (%zu MiB)", total * 4 >> 20);
    }
    memcpy(m->quant_layers, m->layers, (size_t)m->L * sizeof *m->layers);
    m->quant_output = m->output;
    float * p = m->exact_buf;
    enum gaze_status s = GAZE_OK;
    for (int64_t l = 0; l <= m->L && !s; l++)
        for (int i = 0; i < (l < m->L ? 7 : 1) && !s; i++) {
            struct gaze_linear * lin = l < m->L ? layer_linear(&m->layers[l], i) : &m->output;
            if ((s = gaze_dequantize(lin->type, lin->weight, p, lin->n_out * lin->n_in))) break;
            lin->type = GAZE_TYPE_F32;
            lin->weight = p;
            lin->prepared = NULL;   // the quantized copy in quant_layers keeps its packing
            p += lin->n_out * lin->n_in;
        }
    if (s) {
        memcpy(m->layers, m->quant_layers, (size_t)m->L * sizeof *m->layers);
        m->output = m->quant_output;
        free(m->quant_layers); m->quant_layers = NULL;
        gaze_free_aligned(m->exact_buf); m->exact_buf = NULL;
    }
    return s;
}

// The one decoder-only forward pass for every family described by models/decoder.h: norms
// (RMS or LayerNorm with bias), GQA attention through gaze_mha_forward (QK-norm, soft-capping,
// per-layer sliding windows and RoPE bases, scaled RoPE), the MLP kinds, parallel residual,
// post-norms, learned positions, final soft-capping; KV cache, batched prompt processing,
// greedy or temperature/top-p sampling, the prompt loss, and capture of the prompt's attention
// plus the attention of every generated token over its context. Loaders: decoder_gguf.c,
// decoder_hf.c.
#include "models/decoder.h"
#include "formats/runfile.h"
#include "kernels/quant.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

#define DEC_MAX_LAYERS 512

/* ---------------------------------------------------------------------------------------------
 * Weights: lifetime, preparation, exact mode
 * ------------------------------------------------------------------------------------------- */

enum { N_LIN = 7 };
static struct gaze_linear * layer_linear(struct decoder_layer * ly, int i) {
    struct gaze_linear * all[N_LIN] = { &ly->q, &ly->k, &ly->v, &ly->o, &ly->gate, &ly->up, &ly->down };
    return all[i];
}

float * decoder_alloc(struct decoder * m, size_t n) {
    float * f = calloc(n ? n : 1, sizeof *f);
    void ** grown = f ? realloc(m->owned, (size_t)(m->n_owned + 1) * sizeof *grown) : NULL;
    if (!f || !grown) { free(f); gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", m->arch[0] ? m->arch : "decoder"); return NULL; }
    m->owned = grown;
    m->owned[m->n_owned++] = f;
    return f;
}

static int64_t linear_bytes(const struct gaze_linear * lin) {
    const struct quant_traits * tr = quant_traits_get(lin->type);
    return lin->weight && tr && tr->blck > 0 ? lin->n_out * (lin->n_in / tr->blck) * (int64_t)tr->size : 0;
}

static void release_all(struct decoder_layer * layers, int64_t L, struct gaze_linear * output) {
    for (int64_t l = 0; layers && l < L; l++)
        for (int i = 0; i < N_LIN; i++)
            if (layer_linear(&layers[l], i)->weight) gaze_linear_release(layer_linear(&layers[l], i));
    if (output->weight) gaze_linear_release(output);
}

void decoder_free(void * p) {
    struct decoder * m = p;
    if (!m) return;
    if (m->quant_layers) release_all(m->quant_layers, m->cfg.L, &m->quant_output);
    else release_all(m->w.layers, m->cfg.L, &m->w.output);
    for (int64_t i = 0; i < m->n_owned; i++) free(m->owned[i]);
    free(m->owned);
    free(m->w.layers);
    free(m->quant_layers);
    free(m->layer_local);
    free(m->info_window);
    free(m->info_rope_base);
    free(m->inv_freq);
    free(m->inv_freq_local);
    gaze_free_aligned(m->exact_buf);
    gaze_tokenizer_free(m->tok);
    if (m->file && m->free_file) m->free_file(m->file);
    free(m);
}

// Loading progress in MiB of weights prepared (the GGUF loader reports the checks before).
struct load_progress { const struct gaze_progress * outer; int64_t base, total; };
static void load_progress_fn(void * user, int64_t done, int64_t total, const char * what) {
    (void)total; (void)what;
    const struct load_progress * lp = user;
    gaze_progress_report(lp->outer, (lp->base + done) >> 20, lp->total >> 20, "MiB");
}

int64_t decoder_prepare_bytes(struct decoder * m) {
    int64_t n = linear_bytes(&m->w.output);
    for (int64_t l = 0; m->w.layers && l < m->cfg.L; l++)
        for (int i = 0; i < N_LIN; i++) n += linear_bytes(layer_linear(&m->w.layers[l], i));
    return n;
}

// Quantized weights re-laid out once for the kernels (generation is 3x faster with it).
static enum gaze_status prepare_all(struct decoder * m, struct load_progress * lp) {
    enum gaze_status s = gaze_linear_prepare(&m->w.output);
    int64_t done = linear_bytes(&m->w.output);
    for (int64_t l = 0; l < m->cfg.L && !s; l++) {
        for (int i = 0; i < N_LIN && !s; i++) {
            struct gaze_linear * lin = layer_linear(&m->w.layers[l], i);
            if (!lin->weight) continue;
            s = gaze_linear_prepare(lin);
            done += linear_bytes(lin);
        }
        if (lp) load_progress_fn(lp, done, 0, NULL);
    }
    return s;
}

static enum gaze_status decoder_set_exact(struct gaze_model * model, bool exact) {
    struct decoder * m = model->impl;
    const int64_t L = m->cfg.L;
    if (exact == (m->exact_buf != NULL)) return GAZE_OK;
    if (!exact) {   // back to the file's weights
        memcpy(m->w.layers, m->quant_layers, (size_t)L * sizeof *m->w.layers);
        m->w.output = m->quant_output;
        free(m->quant_layers);
        m->quant_layers = NULL;
        gaze_free_aligned(m->exact_buf);
        m->exact_buf = NULL;
        return GAZE_OK;
    }
    size_t total = (size_t)(m->w.output.n_out * m->w.output.n_in);
    for (int64_t l = 0; l < L; l++)
        for (int i = 0; i < N_LIN; i++) {
            const struct gaze_linear * lin = layer_linear(&m->w.layers[l], i);
            if (lin->weight) total += (size_t)(lin->n_out * lin->n_in);
        }
    m->quant_layers = malloc((size_t)L * sizeof *m->quant_layers);
    m->exact_buf = gaze_alloc_aligned(total * sizeof(float));
    if (!m->quant_layers || !m->exact_buf) {
        free(m->quant_layers); m->quant_layers = NULL;
        gaze_free_aligned(m->exact_buf); m->exact_buf = NULL;
        return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory for f32 weights (%zu MiB)", m->arch, total * 4 >> 20);
    }
    memcpy(m->quant_layers, m->w.layers, (size_t)L * sizeof *m->w.layers);
    m->quant_output = m->w.output;
    float * p = m->exact_buf;
    enum gaze_status s = GAZE_OK;
    for (int64_t l = 0; l <= L && !s; l++)
        for (int i = 0; i < (l < L ? N_LIN : 1) && !s; i++) {
            struct gaze_linear * lin = l < L ? layer_linear(&m->w.layers[l], i) : &m->w.output;
            if (!lin->weight) continue;
            if ((s = gaze_dequantize(lin->type, lin->weight, p, lin->n_out * lin->n_in))) break;
            lin->type = GAZE_TYPE_F32;
            lin->weight = p;
            lin->prepared = NULL;   // the file's copy in quant_layers keeps its packing
            p += lin->n_out * lin->n_in;
        }
    if (s) {
        memcpy(m->w.layers, m->quant_layers, (size_t)L * sizeof *m->w.layers);
        m->w.output = m->quant_output;
        free(m->quant_layers); m->quant_layers = NULL;
        gaze_free_aligned(m->exact_buf); m->exact_buf = NULL;
    }
    return s;
}

/* ---------------------------------------------------------------------------------------------
 * RoPE frequencies, as transformers' modeling_rope_utils computes them (float32 tensors there:
 * the same float operations here)
 * ------------------------------------------------------------------------------------------- */

static void rope_default(float base, int64_t dim, float * inv) {
    // 1 / base ** (arange(0, dim, 2).float() / dim)
    for (int64_t i = 0; i < dim / 2; i++) inv[i] = 1.0f / powf(base, (float)(2 * i) / (float)dim);
}

static float yarn_mscale(double scale, double mscale) { return scale <= 1 ? 1.0f : (float)(0.1 * mscale * log(scale) + 1.0); }

static double yarn_correction_dim(double rot, int64_t dim, double base, double ctx) {
    return ((double)dim * log(ctx / (rot * 2 * M_PI))) / (2 * log(base));
}

// inv [dim/2] of the global layers (scaling applied), *mscale the cos/sin factor.
static void rope_scaled(const struct decoder_rope * r, int64_t dim, float * inv, float * mscale) {
    *mscale = 1.0f;
    rope_default(r->base, dim, inv);
    const int64_t half = dim / 2;
    switch (r->scaling) {
    case DEC_ROPE_SCALE_NONE: break;
    case DEC_ROPE_SCALE_LINEAR:
        for (int64_t i = 0; i < half; i++) inv[i] /= r->factor;
        break;
    case DEC_ROPE_SCALE_LLAMA3: {
        const double old = (double)r->original_ctx;
        const double low_wl = old / r->low_freq_factor, high_wl = old / r->high_freq_factor;
        for (int64_t i = 0; i < half; i++) {
            const float wl = (float)(2 * M_PI) / inv[i];   // 2π / inv_freq (a float tensor)
            float v = (double)wl > low_wl ? inv[i] / r->factor : inv[i];
            if (!((double)wl < high_wl) && !((double)wl > low_wl)) {   // medium: smooth
                const float smooth = ((float)old / wl - r->low_freq_factor) / (r->high_freq_factor - r->low_freq_factor);
                v = (1 - smooth) * v / r->factor + smooth * v;
            }
            inv[i] = v;
        }
        break;
    }
    case DEC_ROPE_SCALE_YARN: {
        const double factor = r->factor, base = r->base, ctx = (double)r->original_ctx;
        *mscale = r->yarn_attn_factor > 0 ? r->yarn_attn_factor : yarn_mscale(factor, 1.0);
        const double bf = r->yarn_beta_fast > 0 ? r->yarn_beta_fast : 32, bs = r->yarn_beta_slow > 0 ? r->yarn_beta_slow : 1;
        double lo = floor(yarn_correction_dim(bf, dim, base, ctx)), hi = ceil(yarn_correction_dim(bs, dim, base, ctx));
        lo = lo < 0 ? 0 : lo;
        hi = hi > (double)(dim - 1) ? (double)(dim - 1) : hi;
        if (lo == hi) hi += 0.001;
        for (int64_t i = 0; i < half; i++) {
            const float pos_freq = powf(r->base, (float)(2 * i) / (float)dim);
            const float extra = 1.0f / pos_freq, inter = 1.0f / ((float)factor * pos_freq);
            float ramp = ((float)i - (float)lo) / (float)(hi - lo);
            ramp = ramp < 0 ? 0 : ramp > 1 ? 1 : ramp;
            const float ef = 1 - ramp;   // extrapolation factor
            inv[i] = inter * (1 - ef) + extra * ef;
        }
        break;
    }
    }
    for (int64_t i = 0; r->freq_factors && i < half; i++) inv[i] /= r->freq_factors[i];
}

/* ---------------------------------------------------------------------------------------------
 * Checks and setup
 * ------------------------------------------------------------------------------------------- */

static enum gaze_status need(const struct decoder * m, const void * p, int64_t l, const char * what) {
    if (p) return GAZE_OK;
    if (l < 0) return gaze_error(GAZE_ERR_FORMAT, "%s: the %s weight is missing", m->arch, what);
    return gaze_error(GAZE_ERR_FORMAT, "%s: layer %lld: the %s weight is missing", m->arch, (long long)l, what);
}

static enum gaze_status check_lin(const struct decoder * m, const struct gaze_linear * lin, int64_t l,
                                  const char * what, int64_t n_out, int64_t n_in) {
    enum gaze_status s = need(m, lin->weight, l, what);
    if (!s && (lin->n_out != n_out || lin->n_in != n_in))
        s = gaze_error(GAZE_ERR_FORMAT, "%s: layer %lld: %s is [%lld, %lld], expected [%lld, %lld]", m->arch,
                       (long long)l, what, (long long)lin->n_out, (long long)lin->n_in, (long long)n_out, (long long)n_in);
    return s;
}

// Gemma's HF norms hold w for y = x̂·(1 + w): 1 + w once here (as float32, like the forward).
static enum gaze_status plus_one(struct decoder * m, const float ** w, int64_t n) {
    if (!*w) return GAZE_OK;
    float * f = decoder_alloc(m, (size_t)n);
    if (!f) return GAZE_ERR_NOMEM;
    for (int64_t i = 0; i < n; i++) f[i] = 1.0f + (*w)[i];
    *w = f;
    return GAZE_OK;
}

static enum gaze_status decoder_unembed(struct gaze_model * model, const float * hidden, int64_t T, float * logits);
static enum gaze_status decoder_run(struct gaze_model * model, const char * text, const char * pair,
                                    const struct gaze_run_opts * opts, struct gaze_run * run);

enum gaze_status decoder_finish(struct gaze_model * model, struct decoder * m) {
    struct decoder_config * c = &m->cfg;
    struct decoder_weights * w = &m->w;
    enum gaze_status s = GAZE_OK;
    if (!m->arch[0]) snprintf(m->arch, sizeof m->arch, "%s", c->arch ? c->arch : "decoder");
    c->arch = m->arch;
    if (c->C < 1 || c->L < 1 || c->L > DEC_MAX_LAYERS || c->H < 1 || c->Hkv < 1 || c->H % c->Hkv || c->d < 1 ||
        c->d > 256 || c->F < 1 || c->V < 1 || c->n_ctx < 1 || !(c->eps > 0 && c->eps < 1))
        s = gaze_error(GAZE_ERR_FORMAT, "%s: invalid shape: hidden %lld, layers %lld, heads %lld / kv %lld, head dim %lld "
                       "(1..256), MLP %lld, vocab %lld, context %lld, eps %g", m->arch, (long long)c->C, (long long)c->L,
                       (long long)c->H, (long long)c->Hkv, (long long)c->d, (long long)c->F, (long long)c->V,
                       (long long)c->n_ctx, c->eps);
    if (!s && c->rope.layout != GAZE_ROPE_NONE) {
        if (c->rope.dim == 0) c->rope.dim = c->d;
        if (c->rope.dim < 2 || c->rope.dim > c->d || c->rope.dim % 2)
            s = gaze_error(GAZE_ERR_FORMAT, "%s: rotary dims %lld invalid for head dim %lld", m->arch, (long long)c->rope.dim, (long long)c->d);
        else if (!(c->rope.base > 1.0f && isfinite(c->rope.base)) ||
                 (c->rope.base_local != 0 && !(c->rope.base_local > 1.0f && isfinite(c->rope.base_local))))
            s = gaze_error(GAZE_ERR_FORMAT, "%s: rope theta %g / local %g out of range", m->arch, c->rope.base, c->rope.base_local);
        else if (c->rope.scaling != DEC_ROPE_SCALE_NONE && !(c->rope.factor > 0 && isfinite(c->rope.factor)))
            s = gaze_error(GAZE_ERR_FORMAT, "%s: rope scaling factor %g out of range", m->arch, c->rope.factor);
        else if ((c->rope.scaling == DEC_ROPE_SCALE_LLAMA3 || c->rope.scaling == DEC_ROPE_SCALE_YARN) && c->rope.original_ctx < 1)
            s = gaze_error(GAZE_ERR_FORMAT, "%s: rope scaling needs original_max_position_embeddings", m->arch);
        else if (c->rope.scaling == DEC_ROPE_SCALE_LLAMA3 &&
                 !(c->rope.low_freq_factor > 0 && c->rope.high_freq_factor > c->rope.low_freq_factor))
            s = gaze_error(GAZE_ERR_FORMAT, "%s: llama3 rope scaling: low_freq_factor %g, high_freq_factor %g invalid",
                           m->arch, c->rope.low_freq_factor, c->rope.high_freq_factor);
    }
    if (!s && c->window < 0) s = gaze_error(GAZE_ERR_FORMAT, "%s: sliding window %lld < 0", m->arch, (long long)c->window);
    if (!s && (!isfinite(c->attn_softcap) || c->attn_softcap < 0 || !isfinite(c->final_softcap) || c->final_softcap < 0 ||
               !isfinite(c->attn_scale) || c->attn_scale < 0 || !isfinite(c->embd_scale) || c->embd_scale < 0))
        s = gaze_error(GAZE_ERR_FORMAT, "%s: soft-cap, attention or embedding scale out of range", m->arch);
    // every weight the features ask for
    if (!s) s = check_lin(m, &w->tok_embd, -1, "token embedding", c->V, c->C);
    if (!s) s = check_lin(m, &w->output, -1, "output", c->V, c->C);
    if (!s) s = need(m, w->output_norm, -1, "output norm");
    if (!s && c->norm == DEC_NORM_LAYER) s = need(m, w->output_norm_b, -1, "output norm bias");
    if (!s && c->rope.layout == GAZE_ROPE_NONE) s = need(m, w->pos_embd, -1, "position embedding");
    const bool glu = c->act == DEC_ACT_SWIGLU || c->act == DEC_ACT_GEGLU_TANH;
    for (int64_t l = 0; l < c->L && !s; l++) {
        const struct decoder_layer * ly = &w->layers[l];
        s = need(m, ly->attn_norm, l, "attention norm");
        if (!s && !(c->parallel_residual && c->shared_input_norm)) s = need(m, ly->ffn_norm, l, "MLP norm");
        if (!s && c->norm == DEC_NORM_LAYER) s = need(m, ly->attn_norm_b, l, "attention norm bias");
        if (!s && c->norm == DEC_NORM_LAYER && !(c->parallel_residual && c->shared_input_norm))
            s = need(m, ly->ffn_norm_b, l, "MLP norm bias");
        if (!s && c->post_norms) s = need(m, ly->post_attn_norm, l, "post-attention norm");
        if (!s && c->post_norms) s = need(m, ly->post_ffn_norm, l, "post-MLP norm");
        if (!s && c->qk_norm) s = need(m, ly->q_norm, l, "query norm");
        if (!s && c->qk_norm) s = need(m, ly->k_norm, l, "key norm");
        if (!s) s = check_lin(m, &ly->q, l, "query", c->H * c->d, c->C);
        if (!s) s = check_lin(m, &ly->k, l, "key", c->Hkv * c->d, c->C);
        if (!s) s = check_lin(m, &ly->v, l, "value", c->Hkv * c->d, c->C);
        if (!s) s = check_lin(m, &ly->o, l, "attention output", c->C, c->H * c->d);
        if (!s && glu) s = check_lin(m, &ly->gate, l, "MLP gate", c->F, c->C);
        if (!s) s = check_lin(m, &ly->up, l, "MLP up", c->F, c->C);
        if (!s) s = check_lin(m, &ly->down, l, "MLP down", c->C, c->F);
    }
    if (!s && c->norm == DEC_NORM_RMS_PLUS1) {
        s = plus_one(m, &w->output_norm, c->C);
        for (int64_t l = 0; l < c->L && !s; l++) {
            struct decoder_layer * ly = &w->layers[l];
            const float ** vc[4] = { &ly->attn_norm, &ly->post_attn_norm, &ly->ffn_norm, &ly->post_ffn_norm };
            for (int i = 0; i < 4 && !s; i++) s = plus_one(m, vc[i], c->C);
            if (!s) s = plus_one(m, &ly->q_norm, c->d);
            if (!s) s = plus_one(m, &ly->k_norm, c->d);
        }
        c->norm = DEC_NORM_RMS;
    }
    if (!s) {
        m->layer_local = calloc((size_t)(c->L > 0 ? c->L : 1), 1);
        if (!m->layer_local) s = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", m->arch);
        for (int64_t l = 0; !s && l < c->L; l++)
            m->layer_local[l] = c->window > 0 && (c->layer_local ? c->layer_local[l] != 0 : true);
        c->layer_local = m->layer_local;
    }
    // RoPE frequencies: computed here when anything differs from plain theta (the kernels'
    // own path, bit for bit what Llama GGUF runs always had)
    m->rope_mscale = 1.0f;
    if (!s && c->rope.layout != GAZE_ROPE_NONE &&
        (c->rope.scaling != DEC_ROPE_SCALE_NONE || c->rope.freq_factors || c->rope.base_local != 0)) {
        const int64_t half = c->rope.dim / 2;   // 1..128, checked above
        const size_t bytes = (size_t)(half > 0 ? half : 1) * sizeof(float);
        m->inv_freq = malloc(bytes);
        m->inv_freq_local = c->rope.base_local != 0 ? malloc(bytes) : NULL;
        if (!m->inv_freq || (c->rope.base_local != 0 && !m->inv_freq_local)) s = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", m->arch);
        else {
            rope_scaled(&c->rope, c->rope.dim, m->inv_freq, &m->rope_mscale);
            // local layers (Gemma 3) use their own theta, unscaled
            if (m->inv_freq_local) rope_default(c->rope.base_local, c->rope.dim, m->inv_freq_local);
            for (int64_t i = 0; i < half && !s; i++)
                if (!(isfinite(m->inv_freq[i]) && m->inv_freq[i] > 0))
                    s = gaze_error(GAZE_ERR_FORMAT, "%s: rope scaling gives a non-finite frequency", m->arch);
        }
    }
    // what gaze info and the viewer say of each layer's attention
    if (!s) {
        m->info_window = malloc((size_t)(c->L > 0 ? c->L : 1) * sizeof *m->info_window);
        m->info_rope_base = malloc((size_t)(c->L > 0 ? c->L : 1) * sizeof *m->info_rope_base);
        if (!m->info_window || !m->info_rope_base) s = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", m->arch);
        for (int64_t l = 0; !s && l < c->L; l++) {
            m->info_window[l] = m->layer_local[l] ? c->window : 0;
            m->info_rope_base[l] = c->rope.layout == GAZE_ROPE_NONE ? 0.0f
                                 : m->layer_local[l] && c->rope.base_local != 0 ? c->rope.base_local : c->rope.base;
        }
    }
    struct load_progress lp = { model->load_progress, m->load_bytes_before, 0 };
    if (!s && model->load_progress) lp.total = m->load_bytes_before + decoder_prepare_bytes(m);
    if (!s) s = prepare_all(m, model->load_progress ? &lp : NULL);
    if (s) { decoder_free(m); return s; }
    model->impl = m;
    model->free_impl = decoder_free;
    model->run = decoder_run;
    model->set_exact = decoder_set_exact;
    model->unembed = decoder_unembed;
    model->info = (struct gaze_model_info){
        .arch = m->arch_id ? m->arch_id : GAZE_ARCH_DECODER, .arch_name = m->arch, .n_vocab = c->V, .n_embd = c->C,
        .n_layers = c->L, .n_heads = c->H, .n_kv_heads = c->Hkv, .head_dim = c->d, .n_ff = c->F, .n_ctx = c->n_ctx,
        .causal = true, .layer_window = m->info_window, .layer_rope_base = m->info_rope_base,
    };
    return GAZE_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Forward pass
 * ------------------------------------------------------------------------------------------- */

struct dec_state {                    // everything one run allocates, once
    float * x;                        // [T, C] residual stream
    float * h;                        // [T, C] normed input / attention output
    float * h2;                       // [T, C] the MLP's input and output
    float * gate;                     // [T, F]
    float * up;                       // [T, F]
    float * logits;                   // [V]
    float * scratch;                  // gaze_mha_scratch_floats
    float * kv;                       // [L, 2, n_ctx, Hkv·d] KV cache
    struct gaze_kv_cache * cache;     // [L]
    int64_t T_max, n_ctx;
};

static void state_free(struct dec_state * st) {
    gaze_free_aligned(st->x);
    gaze_free_aligned(st->kv);
    free(st->cache);
    memset(st, 0, sizeof *st);
}

static struct gaze_mha mha_shape(const struct decoder_config * c) {
    return (struct gaze_mha){ .d_model = c->C, .n_heads = c->H, .n_kv_heads = c->Hkv, .head_dim = c->d };
}

static size_t state_floats(const struct decoder_config * c, int64_t T) {
    struct gaze_mha mha = mha_shape(c);
    return (size_t)T * (size_t)(3 * c->C + 2 * c->F) + (size_t)c->V + gaze_mha_scratch_floats(&mha, T);
}

static enum gaze_status state_init(struct dec_state * st, const struct decoder * m, int64_t T_max, int64_t n_ctx) {
    const struct decoder_config * c = &m->cfg;
    memset(st, 0, sizeof *st);
    size_t nkv = (size_t)c->L * 2 * (size_t)n_ctx * (size_t)(c->Hkv * c->d);
    st->x = gaze_alloc_aligned(state_floats(c, T_max) * sizeof(float));
    st->kv = gaze_alloc_aligned(nkv * sizeof(float));
    st->cache = calloc((size_t)c->L, sizeof *st->cache);
    if (!st->x || !st->kv || !st->cache) {
        state_free(st);
        return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory for %lld tokens", m->arch, (long long)n_ctx);
    }
    st->h = st->x + T_max * c->C;
    st->h2 = st->h + T_max * c->C;
    st->gate = st->h2 + T_max * c->C;
    st->up = st->gate + T_max * c->F;
    st->logits = st->up + T_max * c->F;
    st->scratch = st->logits + c->V;
    for (int64_t l = 0; l < c->L; l++) {
        float * base = st->kv + (size_t)l * 2 * (size_t)n_ctx * (size_t)(c->Hkv * c->d);
        st->cache[l] = (struct gaze_kv_cache){ base, base + n_ctx * c->Hkv * c->d, n_ctx, 0 };
    }
    st->T_max = T_max;
    st->n_ctx = n_ctx;
    return GAZE_OK;
}

// What the run keeps, accumulated over the prompt call and every generation step: full
// [Hc, n_ctx, n_ctx] maps per captured layer (each call fills its rows), staged per call.
struct dec_capture {
    const int64_t * heads;            // [Hc] or NULL = all
    int64_t Hc;
    int64_t n_ctx;                    // rows and keys of the full arrays
    float ** attn;                    // [L] -> [Hc, n_ctx, n_ctx] softmax weights, or NULL entries
    float ** scores;                  // [L] -> [Hc, n_ctx, n_ctx] pre-softmax scores
    float ** q;                       // [L] -> [Hc, n_ctx, d] queries after RoPE
    float ** hidden;                  // [L] -> [n_ctx, C] residual stream after the layer
    float * tmp_w, * tmp_s, * tmp_q;  // one call's [Hc, T, Tk] / [Hc, T, d]
    struct gaze_attn_summary * sum;   // [L] summaries over n_ctx rows (entropy NULL: not this layer)
};

static void norm(const struct decoder_config * c, const float * x, float * y, int64_t T, const float * w, const float * b) {
    if (c->norm == DEC_NORM_LAYER) gaze_layer_norm(x, y, T, c->C, w, b, c->eps);
    else gaze_rms_norm(x, y, T, c->C, w, c->eps);
}

// MLP of h [T, C] into out [T, C] (may alias h).
static enum gaze_status mlp(const struct decoder * m, const struct decoder_layer * ly, struct dec_state * st,
                            const float * h, int64_t T, float * out, int n_threads) {
    const int64_t n = T * m->cfg.F;
    enum gaze_status s;
    switch (m->cfg.act) {
    case DEC_ACT_SWIGLU:
    case DEC_ACT_GEGLU_TANH: {
        const struct gaze_linear * two[2] = { &ly->gate, &ly->up };
        float * outs[2] = { st->gate, st->up };
        if ((s = gaze_linear_forward_many(2, two, h, T, outs, n_threads))) return s;
        if (m->cfg.act == DEC_ACT_SWIGLU) gaze_swiglu(st->gate, st->up, st->gate, n);
        else gaze_geglu_tanh(st->gate, st->up, st->gate, n);
        return gaze_linear_forward(&ly->down, st->gate, T, out, n_threads);
    }
    case DEC_ACT_GELU_TANH:
    case DEC_ACT_GELU_ERF:
        if ((s = gaze_linear_forward(&ly->up, h, T, st->up, n_threads))) return s;
        if (m->cfg.act == DEC_ACT_GELU_ERF) gaze_gelu_erf(st->up, st->up, n);
        else gaze_gelu_tanh(st->up, st->up, n);
        return gaze_linear_forward(&ly->down, st->up, T, out, n_threads);
    }
    return gaze_error(GAZE_ERR_UNSUPPORTED, "%s: unknown MLP kind %d", m->arch, (int)m->cfg.act);
}

// The sliding window of layer l as the mask counts it (keys p - window_left .. p): transformers
// counts `window` keys with the query's own; -1: global.
static int64_t layer_window_left(const struct decoder * m, int64_t l) {
    return m->layer_local[l] ? m->cfg.window - 1 : -1;
}

// One decoder block on the residual stream x [T, C] (positions n_past.. of the cache, or 0..
// without one), in place: norm, attention, post-norms, MLP and the residual adds of the family.
// Uses st->h, h2, gate and up as work space.
static enum gaze_status dec_block(const struct decoder * m, const struct decoder_layer * ly, struct dec_state * st,
                                  const struct gaze_mha * mha, const struct gaze_attn_mask * mask,
                                  struct gaze_kv_cache * cache, float * x, int64_t T, struct gaze_mha_capture * mc,
                                  const struct gaze_mha_extra * ex, float * attn_out, float * scratch, int n_threads) {
    const struct decoder_config * c = &m->cfg;
    const int64_t C = c->C;
    enum gaze_status s;
    norm(c, x, st->h, T, ly->attn_norm, ly->attn_norm_b);
    // the MLP's input of a parallel block is normed from the same x
    if (c->parallel_residual)
        norm(c, x, st->h2, T, c->shared_input_norm ? ly->attn_norm : ly->ffn_norm,
             c->shared_input_norm ? ly->attn_norm_b : ly->ffn_norm_b);
    if ((s = gaze_mha_forward_ex(mha, st->h, T, NULL, mask, cache, mc, ex, st->h, scratch, n_threads))) return s;
    if (attn_out) memcpy(attn_out, st->h, (size_t)(T * C) * sizeof(float));   // the attributions' y (before any post-norm)
    if (c->post_norms) gaze_rms_norm(st->h, st->h, T, C, ly->post_attn_norm, c->eps);
    if (c->parallel_residual) {   // x + attn(n1(x)) + mlp(n2(x)), summed as NeoX does: (mlp + attn) + x
        if ((s = mlp(m, ly, st, st->h2, T, st->h2, n_threads))) return s;
        gaze_add(st->h2, st->h, st->h, T * C);
        gaze_add(st->h, x, x, T * C);
    } else {
        gaze_add(x, st->h, x, T * C);
        norm(c, x, st->h, T, ly->ffn_norm, ly->ffn_norm_b);
        if ((s = mlp(m, ly, st, st->h, T, st->h, n_threads))) return s;
        if (c->post_norms) gaze_rms_norm(st->h, st->h, T, C, ly->post_ffn_norm, c->eps);
        gaze_add(x, st->h, x, T * C);
    }
    return GAZE_OK;
}

// Attention knockout (Geva et al. 2023) in a decoder: the edges of opts->knockout as an additive
// -inf bias [T, Tk] on the rows of this call (query positions n_past..), per layer.
struct dec_knockout {
    float * bias;
    struct gaze_attn_mask mask;
};

static enum gaze_status ko_init(struct dec_knockout * ko, const struct decoder * m, const struct gaze_run_opts * opts,
                                int64_t T, int64_t n_past, int64_t Tk) {
    for (int64_t k = 0; k < opts->n_knockout; k++) {
        const struct gaze_knockout * e = &opts->knockout[k];
        if (e->layer < -1 || e->layer >= m->cfg.L || e->query < -1 || e->key < 0 || (n_past == 0 && (e->query >= T || e->key >= T)))
            return gaze_error(GAZE_ERR_INVALID_ARG, "%s: knockout edge %lld (layer %lld, query %lld, key %lld) outside "
                              "%lld layers and %lld tokens", m->arch, (long long)k, (long long)e->layer,
                              (long long)e->query, (long long)e->key, (long long)m->cfg.L, (long long)T);
    }
    if (!(ko->bias = malloc((size_t)(T * Tk) * sizeof(float))))
        return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory for the knockout mask", m->arch);
    return GAZE_OK;
}

// The mask of layer l: base plus the layer's blocked edges (base itself when it has none).
static struct gaze_attn_mask * ko_mask(struct dec_knockout * ko, const struct gaze_run_opts * opts,
                                       struct gaze_attn_mask * base, int64_t l, int64_t T, int64_t n_past, int64_t Tk) {
    bool any = false;
    for (int64_t k = 0; k < opts->n_knockout; k++) any |= opts->knockout[k].layer == -1 || opts->knockout[k].layer == l;
    if (!any) return base;
    for (int64_t i = 0; i < T * Tk; i++) ko->bias[i] = 0.0f;
    for (int64_t k = 0; k < opts->n_knockout; k++) {
        const struct gaze_knockout * e = &opts->knockout[k];
        if ((e->layer != -1 && e->layer != l) || e->key >= Tk) continue;
        for (int64_t t = 0; t < T; t++)
            if (e->query < 0 || e->query == n_past + t) ko->bias[t * Tk + e->key] = -INFINITY;
    }
    ko->mask = *base;
    ko->mask.bias = ko->bias;
    ko->mask.bias_st = Tk;
    return &ko->mask;
}

// Value zeroing (Mohebbi et al. 2023) in a decoder, on the prompt pass: after block l ran, the
// block again from its input (no cache) once per token j with v_j = 0 in every head; score
// [i, j] = 1 - cos(output_i, rerun output_i), rows normalised (causal: j > i scores 0).
struct dec_vzero {
    float * x_in, * x_z, * scratch;   // [T, C], [T, C], gaze_mha_scratch_floats
};

static void vz_free(struct dec_vzero * vz) {
    free(vz->x_in); free(vz->x_z); free(vz->scratch);
    memset(vz, 0, sizeof *vz);
}

static enum gaze_status vz_init(struct dec_vzero * vz, const struct decoder * m, int64_t T) {
    struct gaze_mha mha = mha_shape(&m->cfg);
    vz->x_in = malloc((size_t)(T * m->cfg.C) * sizeof(float));
    vz->x_z = malloc((size_t)(T * m->cfg.C) * sizeof(float));
    vz->scratch = malloc(gaze_mha_scratch_floats(&mha, T) * sizeof(float));
    if (!vz->x_in || !vz->x_z || !vz->scratch) { vz_free(vz); return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory for value zeroing", m->arch); }
    return GAZE_OK;
}

static enum gaze_status value_zeroing(const struct decoder * m, const struct decoder_layer * ly, struct dec_state * st,
                                      const struct gaze_mha * mha, const struct gaze_attn_mask * mask,
                                      struct dec_vzero * vz, float * out, int64_t T, int n_threads) {
    const int64_t C = m->cfg.C;
    enum gaze_status s = GAZE_OK;
    for (int64_t j = 0; j < T && !s; j++) {
        memcpy(vz->x_z, vz->x_in, (size_t)(T * C) * sizeof(float));
        const struct gaze_mha_extra zx = { .zero_value = &j };
        s = dec_block(m, ly, st, mha, mask, NULL, vz->x_z, T, NULL, &zx, NULL, vz->scratch, n_threads);
        for (int64_t i = 0; i < T && !s; i++) out[i * T + j] = (float)gaze_cosine_distance(st->x + i * C, vz->x_z + i * C, C);
    }
    for (int64_t i = 0; i < T && !s; i++) {
        double sum = 0;
        for (int64_t j = 0; j < T; j++) sum += out[i * T + j];
        for (int64_t j = 0; j < T; j++) out[i * T + j] = sum > 0 ? (float)(out[i * T + j] / sum) : 0.0f;
    }
    return s;
}

// Runs T tokens (ids) through the model at positions n_past.. (the KV cache's n_past), leaving
// the last token's logits in st->logits.
static enum gaze_status dec_forward(const struct decoder * m, struct dec_state * st, const int32_t * ids,
                                    int64_t T, struct dec_capture * cap, const struct gaze_run_opts * opts) {
    const struct decoder_config * c = &m->cfg;
    const struct decoder_weights * w = &m->w;
    const int n_threads = opts->n_threads;
    const int64_t C = c->C;
    const int64_t n_past = st->cache[0].n_past, Tk = n_past + T;
    enum gaze_status s;
    const size_t row = gaze_type_row_bytes(w->tok_embd.type, C);
    for (int64_t t = 0; t < T; t++) {
        float * x = st->x + t * C;
        if ((s = gaze_dequantize(w->tok_embd.type, (const char *)w->tok_embd.weight + (size_t)ids[t] * row, x, C)))
            return s;
        // Gemma: × √C as a tensor of the model's dtype (float32 here)
        if (c->embd_scale > 0) for (int64_t i = 0; i < C; i++) x[i] *= c->embd_scale;
        if (w->pos_embd) gaze_add(x, w->pos_embd + (n_past + t) * C, x, C);
    }
    struct gaze_attn_mask mask;
    memset(&mask, 0, sizeof mask);
    mask.causal = true;
    mask.window_right = -1;
    // knockout edges and value zeroing: their buffers for this call
    struct dec_knockout ko = { 0 };
    struct dec_vzero vz = { 0 };
    // attributions: from this pass's own attention (every head's weights, the values through
    // W_O, the attention output), decomposed after each layer
    struct model_attrib_bufs ab = { 0 };
    const int64_t H = mha_shape(c).n_heads;
    s = GAZE_OK;
    if (opts->n_knockout > 0 && (s = ko_init(&ko, m, opts, T, n_past, Tk))) return s;
    if (opts->attrib && opts->attrib->want && (s = model_attrib_decoder_begin(opts, c->L, H, T, C, n_past, &ab))) {
        free(ko.bias);
        return s;
    }
    if (opts->attrib && (opts->attrib->want & GAZE_ATTRIB_VZERO) && n_past == 0 && (s = vz_init(&vz, m, T))) {
        free(ko.bias);
        model_attrib_bufs_free(&ab);
        return s;
    }
    for (int64_t l = 0; l < c->L && !s; l++) {
        const struct decoder_layer * ly = &w->layers[l];
        const bool local = m->layer_local[l];
        struct gaze_mha mha = mha_shape(c);
        mha.wq = &ly->q; mha.wk = &ly->k; mha.wv = &ly->v; mha.wo = &ly->o;
        mha.rope = c->rope.layout;
        mha.rope_dim = c->rope.dim;
        mha.rope_base = local && c->rope.base_local != 0 ? c->rope.base_local : c->rope.base;
        mha.rope_freqs = local && m->inv_freq_local ? m->inv_freq_local : m->inv_freq;
        mha.rope_mscale = local && m->inv_freq_local ? 1.0f : m->rope_mscale;
        mha.scale = c->attn_scale;
        mha.head_mask = opts->head_mask ? opts->head_mask + l * c->H : NULL;
        mha.ablate_mean = opts->ablate_mean;
        mha.q_norm = c->qk_norm ? ly->q_norm : NULL;
        mha.k_norm = c->qk_norm ? ly->k_norm : NULL;
        mha.qk_norm_eps = c->eps;
        mha.softcap = c->attn_softcap;
        mask.window_left = layer_window_left(m, l);

        struct gaze_attn_mask * lmask = &mask;
        if (ko.bias) lmask = ko_mask(&ko, opts, &mask, l, T, n_past, Tk);
        if (opts->attrib && opts->attrib->want) {
            // the decomposition of x + attn(norm(x)), with Gemma's post-attention norm inside
            // the attention term; a parallel block's MLP summand is token-wise, outside it
            if (c->post_norms && (c->parallel_residual || c->norm == DEC_NORM_LAYER)) {
                s = gaze_error(GAZE_ERR_UNSUPPORTED, "%s: attributions cover pre-norm, Gemma-style post-norm (RMSNorm) "
                               "and parallel-residual blocks, not post-norms %s", m->arch,
                               c->parallel_residual ? "in a parallel block" : "that are LayerNorms");
                break;
            }
            if (ab.x_in) memcpy(ab.x_in, st->x, (size_t)(T * C) * sizeof(float));
            if (vz.x_in) memcpy(vz.x_in, st->x, (size_t)(T * C) * sizeof(float));
        }
        struct gaze_mha_capture mc = { 0 };
        const bool want = cap && (cap->attn[l] || cap->scores[l] || cap->q[l] || (cap->sum && cap->sum[l].entropy));
        if (want)
            mc = (struct gaze_mha_capture){ cap->heads, cap->Hc, cap->attn[l] ? cap->tmp_w : NULL,
                                            cap->scores[l] ? cap->tmp_s : NULL, cap->q[l] ? cap->tmp_q : NULL, NULL,
                                            cap->sum && cap->sum[l].entropy ? &cap->sum[l] : NULL };
        // the attributions' every-head weights: this pass's capture ([H, T, T] at n_past 0), into
        // ab.alpha when the run captures none here, or the run's own when it captures every head
        const float * alpha = NULL;
        bool rerun = false;
        if (ab.alpha) {
            if (!want) { mc = (struct gaze_mha_capture){ NULL, H, ab.alpha, NULL, NULL, NULL, NULL }; alpha = ab.alpha; }
            else if (cap->heads) rerun = true;   // a subset of heads captured: see below
            else if (!mc.weights) alpha = mc.weights = ab.alpha;
            else alpha = mc.weights;
        }
        if (rerun) {   // the attention once more, without the cache, for every head's weights and values
            norm(c, st->x, st->h, T, ly->attn_norm, ly->attn_norm_b);
            struct gaze_mha_capture ac = { NULL, H, ab.alpha, NULL, NULL, NULL, NULL };
            const struct gaze_mha_extra ax = { .vo = ab.vo };
            if ((s = gaze_mha_forward_ex(&mha, st->h, T, NULL, lmask, NULL, &ac, &ax, ab.out, st->scratch, n_threads))) break;
            alpha = ab.alpha;
        }
        const struct gaze_mha_extra vx = { .vo = ab.vo };
        if ((s = dec_block(m, ly, st, &mha, lmask, &st->cache[l], st->x, T, want || alpha ? &mc : NULL,
                           ab.alpha && !rerun ? &vx : NULL, ab.alpha && !rerun ? ab.out : NULL, st->scratch, n_threads)))
            break;
        if (alpha && (s = model_attrib_decoder_layer(opts, &ab, alpha, mha.wo->bias, c->post_norms ? ly->post_attn_norm : NULL,
                                                     c->eps, l, C)))
            break;
        for (int64_t h = 0; want && h < cap->Hc; h++)
            for (int64_t t = 0; t < T; t++) {
                const int64_t r = h * cap->n_ctx + n_past + t;
                if (cap->attn[l]) memcpy(cap->attn[l] + r * cap->n_ctx, cap->tmp_w + (h * T + t) * Tk, (size_t)Tk * sizeof(float));
                if (cap->scores[l]) memcpy(cap->scores[l] + r * cap->n_ctx, cap->tmp_s + (h * T + t) * Tk, (size_t)Tk * sizeof(float));
                if (cap->q[l]) memcpy(cap->q[l] + r * c->d, cap->tmp_q + (h * T + t) * c->d, (size_t)c->d * sizeof(float));
            }
        if (vz.x_in && (s = value_zeroing(m, ly, st, &mha, lmask, &vz, opts->attrib->vzero + l * T * T, T, n_threads))) break;
        // finite weights can still overflow f32 (a hostile F16 file holds |w| up to 65504): refuse
        // rather than hand back NaN attention and logits
        bool finite = true;
        for (int64_t i = 0; i < T * C; i++) finite &= isfinite(st->x[i]);
        if (!finite) { s = gaze_error(GAZE_ERR_NUMERIC, "%s: layer %lld: activations overflowed to Inf/NaN", m->arch, (long long)l); break; }
        if (cap && cap->hidden[l]) memcpy(cap->hidden[l] + n_past * C, st->x, (size_t)(T * C) * sizeof(float));
    }
    free(ko.bias);
    vz_free(&vz);
    model_attrib_bufs_free(&ab);
    if (s) return s;
    norm(c, st->x + (T - 1) * C, st->h, 1, w->output_norm, w->output_norm_b);
    if ((s = gaze_linear_forward(&w->output, st->h, 1, st->logits, n_threads))) return s;
    if (c->final_softcap > 0)
        for (int64_t v = 0; v < c->V; v++) st->logits[v] = c->final_softcap * tanhf(st->logits[v] / c->final_softcap);
    return GAZE_OK;
}

// Logit lens (gaze_model_unembed): logits [T, V] = output(final_norm(hidden [T, C])), soft-capped
// where the family caps its logits.
static enum gaze_status decoder_unembed(struct gaze_model * model, const float * hidden, int64_t T, float * logits) {
    const struct decoder * m = model->impl;
    const struct decoder_config * c = &m->cfg;
    float * h = gaze_alloc_aligned((size_t)(T * c->C) * sizeof(float));
    if (!h) return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory for the logit lens", m->arch);
    norm(c, hidden, h, T, m->w.output_norm, m->w.output_norm_b);
    enum gaze_status s = gaze_linear_forward(&m->w.output, h, T, logits, 0);
    if (!s && c->final_softcap > 0)
        for (int64_t i = 0; i < T * c->V; i++) logits[i] = c->final_softcap * tanhf(logits[i] / c->final_softcap);
    gaze_free_aligned(h);
    return s;
}

// Mean next-token loss over the prompt, -(1/(T-1)) Σ log p(ids[t+1] | ids[..t]), from the
// residual stream the prompt pass left in st->x [T, C]. Logits go through in chunks.
static enum gaze_status dec_loss(const struct decoder * m, struct dec_state * st, const int32_t * ids,
                                 int64_t T, int n_threads, double * loss) {
    const struct decoder_config * c = &m->cfg;
    if (T < 2) { *loss = NAN; return GAZE_OK; }
    enum { CHUNK = 32 };
    float * h = gaze_alloc_aligned((size_t)CHUNK * (size_t)(c->C + c->V) * sizeof(float));
    if (!h) return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory for logits", m->arch);
    float * logits = h + CHUNK * c->C;
    double nll = 0;
    enum gaze_status s = GAZE_OK;
    for (int64_t t0 = 0; t0 < T - 1 && !s; t0 += CHUNK) {
        const int64_t n = GAZE_MIN(CHUNK, T - 1 - t0);
        norm(c, st->x + t0 * c->C, h, n, m->w.output_norm, m->w.output_norm_b);
        if ((s = gaze_linear_forward(&m->w.output, h, n, logits, n_threads))) break;
        for (int64_t i = 0; i < n; i++) {
            float * z = logits + i * c->V;
            if (c->final_softcap > 0)
                for (int64_t v = 0; v < c->V; v++) z[v] = c->final_softcap * tanhf(z[v] / c->final_softcap);
            float mx = z[0];
            for (int64_t v = 1; v < c->V; v++) mx = z[v] > mx ? z[v] : mx;
            double sum = 0;
            for (int64_t v = 0; v < c->V; v++) sum += exp((double)(z[v] - mx));
            nll += (double)mx + log(sum) - (double)z[ids[t0 + i + 1]];
        }
    }
    gaze_free_aligned(h);
    if (!s) *loss = nll / (double)(T - 1);
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
    double r = rng_next(rng) * acc, cs = 0;
    for (int64_t i = 0; i < n; i++) {
        cs += work[i].p;
        if (r < cs) return work[i].id;
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

// The bytes a run will hold for a prompt of T tokens and n_ctx in all, weights aside, against
// the budget: captured arrays, their per-call staging, KV cache and activations (soft-capped
// layers run in the fused kernel too: no scores materialised).
static enum gaze_status dec_check_memory(const struct decoder * m, const struct gaze_run_opts * opts, int64_t T,
                                         int64_t n_ctx) {
    const struct decoder_config * c = &m->cfg;
    const unsigned parts = opts->parts ? opts->parts : GAZE_RUN_PART_ATTN;
    const double Hc = (double)(opts->heads ? opts->n_heads : c->H), f = sizeof(float);
    double cap = 0, stage = 0;
    if (!opts->no_capture) {
        cap = model_capture_bytes(opts, c->L, (int64_t)Hc, n_ctx, c->d, c->C);
        const double one = Hc * (double)GAZE_MAX(T * T, n_ctx) * f;
        stage = (parts & GAZE_RUN_PART_ATTN ? one : 0) + (parts & GAZE_RUN_PART_SCORES ? one : 0) +
                (parts & GAZE_RUN_PART_Q ? Hc * (double)(T * c->d) * f : 0);
    }
    const double kv = (double)c->L * 2 * (double)n_ctx * (double)(c->Hkv * c->d) * f;
    const double act = (double)state_floats(c, T) * f + (double)c->V * sizeof(struct cand) +
                       (opts->loss ? 32.0 * (double)(c->C + c->V) * f : 0);
    char what[200], a[32], b[32], d[32];
    snprintf(what, sizeof what, "%lld tokens: captured arrays %s, KV cache %s, activations and staging %s",
             (long long)n_ctx, model_format_bytes(cap, a, sizeof a), model_format_bytes(kv, b, sizeof b),
             model_format_bytes(act + stage, d, sizeof d));
    return model_check_memory(m->arch, opts, cap + stage + kv + act, what);
}

// gaze_run_opts.on_token: the text generated token id completes; id -1: the held end of the text.
static enum gaze_status emit_token(struct gaze_tokenizer_stream * ds, const struct gaze_run_opts * o, int64_t step,
                                   int32_t id) {
    const char * text;
    size_t len;
    enum gaze_status s = id >= 0 ? gaze_tokenizer_stream_push(ds, id, &text, &len) : gaze_tokenizer_stream_finish(ds, &text, &len);
    if (!s && (id >= 0 || len)) o->on_token(o->on_token_user, step, id, text, len);
    return s;
}

// The run's record of what attention each layer ran (gaze.* keys are the run file's own):
// decoder.sliding_window = [w per layer, 0 = global], and the soft-cap when there is one.
static enum gaze_status set_layer_metadata(const struct decoder * m, struct gaze_run * run) {
    const struct decoder_config * c = &m->cfg;
    size_t n = (size_t)c->L * 24 + 4;
    char * buf = malloc(n), * p = buf;
    if (!buf) return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", m->arch);
    p += snprintf(p, n, "[");
    for (int64_t l = 0; l < c->L; l++)
        p += snprintf(p, n - (size_t)(p - buf), "%s%lld", l ? "," : "", (long long)(m->layer_local[l] ? c->window : 0));
    snprintf(p, n - (size_t)(p - buf), "]");
    enum gaze_status s = gaze_run_set_extra(run, "decoder.sliding_window", buf);
    free(buf);
    char v[64];
    if (!s && c->attn_softcap > 0) {
        snprintf(v, sizeof v, "%.9g", c->attn_softcap);
        s = gaze_run_set_extra(run, "decoder.attn_softcap", v);
    }
    return s;
}

static enum gaze_status decoder_run(struct gaze_model * model, const char * text, const char * pair,
                                    const struct gaze_run_opts * opts, struct gaze_run * run) {
    struct decoder * m = model->impl;
    const struct decoder_config * c = &m->cfg;
    const char * arch = m->arch;
    gaze_run_init(run);
    if (pair) return gaze_error(GAZE_ERR_INVALID_ARG, "%s: sentence pairs are for encoders; give one prompt", arch);
    struct gaze_encoding enc;
    memset(&enc, 0, sizeof enc);
    enum gaze_status s = gaze_tokenizer_encode(m->tok, text, strlen(text), NULL, &enc);
    if (s) { gaze_encoding_free(&enc); return s; }
    int64_t T = enc.n_tokens;
    const int64_t gen = opts->generate > 0 ? opts->generate : 0;
    if (T < 1) { gaze_encoding_free(&enc); return gaze_error(GAZE_ERR_INVALID_ARG, "%s: the prompt gave no tokens", arch); }
    if (T + gen > c->n_ctx) {
        if (!opts->truncate) {
            gaze_encoding_free(&enc);
            return gaze_error(GAZE_ERR_LIMIT, "%s: %lld prompt + %lld generated tokens exceed the context length %lld "
                              "(use --truncate to keep the last tokens)", arch, (long long)T, (long long)gen, (long long)c->n_ctx);
        }
        if (gen >= c->n_ctx) { gaze_encoding_free(&enc); return gaze_error(GAZE_ERR_LIMIT, "%s: --generate exceeds the context", arch); }
        int64_t drop = T + gen - c->n_ctx;   // keep the end of the prompt
        memmove(enc.ids, enc.ids + drop, (size_t)(T - drop) * sizeof *enc.ids);
        memmove(enc.offsets, enc.offsets + 2 * drop, (size_t)(T - drop) * 2 * sizeof *enc.offsets);
        T -= drop;
        enc.n_tokens = T;
    }
    for (int64_t t = 0; t < T; t++)
        if (enc.ids[t] < 0 || enc.ids[t] >= c->V) {
            gaze_encoding_free(&enc);
            return gaze_error(GAZE_ERR_FORMAT, "%s: token id %d is outside the embedding's %lld rows", arch, enc.ids[t], (long long)c->V);
        }
    const bool capture = !opts->no_capture;
    // With capture, the last generated token is fed too, so it has an attention row.
    const int64_t n_ctx = T + gen;
    struct gaze_run_opts auto_opts;   // summaries instead of weights above opts->summary_above
    opts = model_auto_summary(opts, c->L, opts->heads ? opts->n_heads : c->H, n_ctx, c->d, c->C, &auto_opts);
    int32_t * ids = malloc((size_t)n_ctx * sizeof *ids);
    int64_t * offs = malloc((size_t)n_ctx * 2 * sizeof *offs);
    struct cand * work = malloc((size_t)c->V * sizeof *work);
    struct gaze_tokenizer_stream * ds = NULL;   // the generated text for opts->on_token
    struct dec_state st;
    memset(&st, 0, sizeof st);
    struct dec_capture cap = { .heads = opts->heads, .Hc = opts->heads ? opts->n_heads : c->H, .n_ctx = n_ctx };
    const unsigned parts = opts->parts ? opts->parts : GAZE_RUN_PART_ATTN;
    if (!ids || !offs || !work) { s = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", arch); goto done; }
    if ((s = dec_check_memory(m, opts, T, n_ctx))) goto done;
    memcpy(ids, enc.ids, (size_t)T * sizeof *ids);
    memcpy(offs, enc.offsets, (size_t)T * 2 * sizeof *offs);
    if ((s = state_init(&st, m, T, n_ctx))) goto done;

    if (capture) {
        const int64_t Hc = cap.Hc, d = c->d;
        float *** arrays[4] = { &cap.attn, &cap.scores, &cap.q, &cap.hidden };
        for (int i = 0; i < 4; i++)
            if (!(*arrays[i] = calloc((size_t)c->L, sizeof(float *)))) { s = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", arch); goto done; }
        bool oom = false;
        for (int64_t l = 0; l < c->L && !oom; l++) {
            if (!model_layer_wanted(opts, l)) continue;
            // the run's own kind of array (zeroed: rows a step never wrote stay 0), handed to it at the end
            if (parts & GAZE_RUN_PART_ATTN) oom |= !(cap.attn[l] = cap_alloc((size_t)(Hc * n_ctx * n_ctx)));
            if (parts & GAZE_RUN_PART_SCORES) oom |= !(cap.scores[l] = cap_alloc((size_t)(Hc * n_ctx * n_ctx)));
            if (parts & GAZE_RUN_PART_Q) oom |= !(cap.q[l] = cap_alloc((size_t)(Hc * n_ctx * d)));
            if (parts & GAZE_RUN_PART_HIDDEN) oom |= !(cap.hidden[l] = cap_alloc((size_t)(n_ctx * c->C)));
            if ((parts & GAZE_RUN_PART_SUMMARY) && !cap.sum && !(cap.sum = calloc((size_t)c->L, sizeof *cap.sum))) oom = true;
            if ((parts & GAZE_RUN_PART_SUMMARY) && !oom && (s = model_summary_alloc(opts, &cap.sum[l], Hc, n_ctx))) goto done;
        }
        // staging for one call: the prompt [Hc, T, T] or a generation step [Hc, 1, Tk]; only
        // for the parts captured
        const size_t stage = (size_t)(Hc * GAZE_MAX(T * T, n_ctx));
        cap.tmp_w = malloc((parts & GAZE_RUN_PART_ATTN ? stage : 1) * sizeof(float));
        cap.tmp_s = malloc((parts & GAZE_RUN_PART_SCORES ? stage : 1) * sizeof(float));
        cap.tmp_q = malloc((parts & GAZE_RUN_PART_Q ? (size_t)(Hc * T * d) : 1) * sizeof(float));
        if (oom || !cap.tmp_w || !cap.tmp_s || !cap.tmp_q) {
            s = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory capturing %lld tokens", arch, (long long)n_ctx);
            goto done;
        }
    }
    if ((s = dec_forward(m, &st, ids, T, capture ? &cap : NULL, opts))) goto done;
    if (opts->loss && (s = dec_loss(m, &st, ids, T, opts->n_threads, opts->loss))) goto done;
    uint64_t rng = opts->seed ? opts->seed : 0x9E3779B97F4A7C15ULL;
    int64_t n = T;
    const int32_t eos = gaze_tokenizer_specials(m->tok).eos;
    if (opts->on_token && gen > 0 && (s = gaze_tokenizer_stream_init(&ds, m->tok))) goto done;
    while (n < T + gen) {
        int32_t next = sample(st.logits, c->V, opts->temperature, opts->top_p, &rng, work);
        ids[n] = next;
        offs[2 * n] = offs[2 * n + 1] = 0;   // generated: not in the input text
        n++;
        if (ds && (s = emit_token(ds, opts, n - 1 - T, next))) goto done;
        bool stop = next == eos;
        for (int i = 0; i < m->n_stop; i++) stop |= next == m->stop_ids[i];
        if (stop) break;
        if (n == T + gen && !capture) break;   // its own attention row is only needed for capture
        if ((s = dec_forward(m, &st, &ids[n - 1], 1, capture ? &cap : NULL, opts))) goto done;
    }
    if (ds && (s = emit_token(ds, opts, n - T, -1))) goto done;

    // the run: tokens as their text pieces, metadata, captured layers
    if ((s = model_run_set_tokens(arch, m->tok, run, n, ids, offs))) goto done;
    // sequence ids: -1 for special tokens (BOS, control tokens the prompt spelled), else 0
    if (!(run->sequence_ids = malloc((size_t)n))) { s = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", arch); goto done; }
    for (int64_t t = 0; t < n; t++) {
        enum gaze_bpe_token_type ty = gaze_tokenizer_token_type(m->tok, ids[t]);
        run->sequence_ids[t] = (ty == GAZE_BPE_TOKEN_TYPE_CONTROL || ty == GAZE_BPE_TOKEN_TYPE_UNKNOWN) ? -1 : 0;
    }
    run->model = strdup(model->path);
    run->arch = strdup(arch);
    run->text = strdup(text);
    if (!run->model || !run->arch || !run->text) { s = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", arch); goto done; }
    run->causal = true;
    run->n_layers = c->L;
    run->n_heads = c->H;
    run->n_kv_heads = c->Hkv;
    run->d_head = c->d;
    run->n_embd = c->C;
    run->n_generated = n - T;
    if (c->window > 0 || c->attn_softcap > 0) {
        if ((s = set_layer_metadata(m, run))) goto done;
    }
    if (capture) {
        const int64_t Hc = cap.Hc, d = c->d;
        if ((s = gaze_run_set_capture(run, opts->heads, Hc, NULL, n))) goto done;
        for (int64_t l = 0; l < c->L; l++) {
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
            if ((s = run_add_layer_given(run, l, parts & ~GAZE_RUN_PART_SUMMARY ? parts & ~GAZE_RUN_PART_SUMMARY : parts,
                                         given, &ly))) goto done;
            cap.attn[l] = cap.scores[l] = cap.q[l] = cap.hidden[l] = NULL;   // the run's now
            if (cap.sum) { run_summary_free(&ly->summary); run_summary_shrink(&cap.sum[l], n); ly->summary = cap.sum[l]; cap.sum[l] = (struct gaze_attn_summary){ 0 }; }
            // the key head this query head reads, from the KV cache; a trailing EOS was never fed,
            // so its cache row was never written: zeros, like its attention row
            for (int64_t h = 0; ly->k && h < Hc; h++)
                for (int64_t i = 0; i < GAZE_MIN(n, st.cache[l].n_past); i++) {
                    const int64_t hk = (opts->heads ? opts->heads[h] : h) / (c->H / c->Hkv);
                    memcpy(ly->k + (h * n + i) * d, st.cache[l].k + i * c->Hkv * d + hk * d, (size_t)d * sizeof(float));
                }
        }
    }
done:
    for (int64_t l = 0; cap.attn && l < c->L; l++) gaze_free_recycled(cap.attn[l]);
    for (int64_t l = 0; cap.scores && l < c->L; l++) gaze_free_recycled(cap.scores[l]);
    for (int64_t l = 0; cap.q && l < c->L; l++) gaze_free_recycled(cap.q[l]);
    for (int64_t l = 0; cap.hidden && l < c->L; l++) gaze_free_recycled(cap.hidden[l]);
    free(cap.attn); free(cap.scores); free(cap.q); free(cap.hidden);
    free(cap.tmp_w); free(cap.tmp_s); free(cap.tmp_q);
    for (int64_t l = 0; cap.sum && l < c->L; l++) run_summary_free(&cap.sum[l]);
    free(cap.sum);
    state_free(&st);
    gaze_tokenizer_stream_free(ds);
    free(ids);
    free(offs);
    free(work);
    gaze_encoding_free(&enc);
    if (s) gaze_run_free(run);
    return s;
}

enum gaze_status decoder_eval_ids(struct gaze_model * model, const int32_t * ids, int64_t T, float * logits) {
    const struct decoder * m = model->impl;
    static const struct gaze_run_opts defaults;
    if (T < 1 || T > m->cfg.n_ctx) return gaze_error(GAZE_ERR_INVALID_ARG, "%s: %lld tokens", m->arch, (long long)T);
    for (int64_t t = 0; t < T; t++)
        if (ids[t] < 0 || ids[t] >= m->cfg.V) return gaze_error(GAZE_ERR_INVALID_ARG, "%s: token id %d out of range", m->arch, ids[t]);
    struct dec_state st;
    enum gaze_status s = state_init(&st, m, T, T);
    if (!s) s = dec_forward(m, &st, ids, T, NULL, &defaults);
    if (!s) memcpy(logits, st.logits, (size_t)m->cfg.V * sizeof(float));
    state_free(&st);
    return s;
}

// Decoders from GGUF files: general.architecture and its hyperparameters mapped into a struct
// decoder_config, the tensors into struct decoder_layer (in the mapping where their type
// allows), the vocabulary into the tokenizer (text/tokenizer.c); decoder.c runs it. Supported:
// "llama" (GGUF stores Q/K rows permuted for interleaved RoPE), and gemma, gemma2, gemma3,
// qwen2, qwen3, phi3, gpt2 through one table of family features (gguf_family). Architectures
// plug in at gguf_arch_map below.
#include "models/decoder.h"
#include "kernels/quant.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

struct gguf_loader {
    struct gaze_gguf * g;
    struct decoder * dec;
};

static int64_t tensor_bytes_total(const struct gaze_gguf * g) {
    int64_t n = 0;
    for (int64_t i = 0; i < gaze_gguf_n_tensors(g); i++) n += (int64_t)gaze_gguf_tensor_at(g, i)->nbytes;
    return n;
}

struct check_progress { const struct gaze_progress * outer; int64_t total; };
static void check_progress_fn(void * user, int64_t done, int64_t total, const char * what) {
    (void)total; (void)what;
    const struct check_progress * cp = user;
    gaze_progress_report(cp->outer, done >> 20, cp->total >> 20, "MiB");
}

// Looks up a tensor and checks its shape (ne innermost first, as in the file).
static enum gaze_status find(struct gguf_loader * m, const char * name, int64_t ne0, int64_t ne1,
                             const struct gaze_gguf_tensor ** out) {
    const struct gaze_gguf_tensor * t = gaze_gguf_find_tensor(m->g, name);
    if (!t) return gaze_error(GAZE_ERR_FORMAT, "%s: tensor %s is missing", gaze_gguf_path(m->g), name);
    if (t->ne[0] != ne0 || t->ne[1] != ne1 || t->ne[2] != 1 || t->ne[3] != 1)
        return gaze_error(GAZE_ERR_FORMAT, "%s: tensor %s has ne = [%lld, %lld, %lld, %lld], expected [%lld, %lld]",
                          gaze_gguf_path(m->g), name, (long long)t->ne[0], (long long)t->ne[1],
                          (long long)t->ne[2], (long long)t->ne[3], (long long)ne0, (long long)ne1);
    *out = t;
    return GAZE_OK;
}

static enum gaze_status vec_f32(struct gguf_loader * m, const char * name, int64_t n, const float ** out) {
    const struct gaze_gguf_tensor * t;
    enum gaze_status s = find(m, name, n, 1, &t);
    if (s) return s;
    float * f = decoder_alloc(m->dec, (size_t)n);
    if (!f) return GAZE_ERR_NOMEM;
    if ((s = gaze_dequantize(t->type, t->data, f, n))) return s;
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(f[i])) return gaze_error(GAZE_ERR_NUMERIC, "%s: tensor %s holds a non-finite value at %lld",
                                               gaze_gguf_path(m->g), name, (long long)i);
    *out = f;
    return GAZE_OK;
}

static enum gaze_status linear(struct gguf_loader * m, const char * name, int64_t n_in, int64_t n_out,
                               struct gaze_linear * lin) {
    const struct gaze_gguf_tensor * t;
    enum gaze_status s = find(m, name, n_in, n_out, &t);
    if (s) return s;
    *lin = (struct gaze_linear){ .type = t->type, .n_out = n_out, .n_in = n_in, .weight = t->data };
    return GAZE_OK;
}

// The vocabulary (byte-level BPE "gpt2" or SentencePiece "llama") as text/tokenizer.c reads it.
static enum gaze_status gguf_tokenizer(struct gguf_loader * m) {
    enum gaze_status s = gaze_tokenizer_from_gguf(m->g, &m->dec->tok);
    if (s) {   // copy first: the message would be formatted into the buffer it is read from
        char why[512];
        snprintf(why, sizeof why, "%s", gaze_last_error());
        s = gaze_error(s, "%s: tokenizer: %s", gaze_gguf_path(m->g), why);
    }
    return s;
}

#define LLAMA_MAX_LAYERS 512

static void gguf_close(void * g) { gaze_gguf_free(g); }

// general.architecture "llama": RMSNorm, interleaved RoPE (Q/K rows permuted by the converter),
// GQA, SwiGLU, tied or separate output.
static enum gaze_status gguf_llama(struct gguf_loader * m, const char * path) {
    struct decoder * dec = m->dec;
    struct decoder_config * c = &dec->cfg;
    enum gaze_status s = GAZE_OK;
    uint32_t u;
#define HP(key, field, lo, hi) \
    if (!s) { s = gaze_gguf_get_u32(m->g, key, &u); \
              if (!s && (u < (lo) || u > (hi))) s = gaze_error(GAZE_ERR_FORMAT, "%s: %s = %u outside %lld..%lld", path, key, u, (long long)(lo), (long long)(hi)); \
              c->field = u; }
    HP("llama.embedding_length", C, 1, 1 << 16)
    HP("llama.block_count", L, 1, LLAMA_MAX_LAYERS)
    HP("llama.attention.head_count", H, 1, 1024)
    HP("llama.feed_forward_length", F, 1, 1 << 18)
    HP("llama.context_length", n_ctx, 1, 1 << 24)
#undef HP
    if (!s) {
        c->Hkv = c->H;
        if (gaze_gguf_find_key(m->g, "llama.attention.head_count_kv") >= 0) {
            s = gaze_gguf_get_u32(m->g, "llama.attention.head_count_kv", &u);
            c->Hkv = u;
        }
    }
    if (!s && (c->Hkv < 1 || c->H % c->Hkv != 0))
        s = gaze_error(GAZE_ERR_FORMAT, "%s: head_count %lld is not a multiple of head_count_kv %lld", path,
                       (long long)c->H, (long long)c->Hkv);
    if (!s && c->C % c->H != 0)
        s = gaze_error(GAZE_ERR_FORMAT, "%s: embedding_length %lld is not a multiple of head_count %lld", path,
                       (long long)c->C, (long long)c->H);
    if (!s) {
        c->d = c->C / c->H;
        if (c->d > 256) s = gaze_error(GAZE_ERR_UNSUPPORTED, "%s: head dim %lld above 256", path, (long long)c->d);
    }
    if (!s) s = gaze_gguf_get_f32(m->g, "llama.attention.layer_norm_rms_epsilon", &c->eps);
    if (!s && !(c->eps > 0 && c->eps < 1)) s = gaze_error(GAZE_ERR_FORMAT, "%s: layer_norm_rms_epsilon %g out of range", path, c->eps);
    c->rope.layout = GAZE_ROPE_INTERLEAVED;
    c->rope.base = 10000.0f;
    if (!s && gaze_gguf_find_key(m->g, "llama.rope.freq_base") >= 0)
        s = gaze_gguf_get_f32(m->g, "llama.rope.freq_base", &c->rope.base);
    if (!s && !(c->rope.base > 1.0f && isfinite(c->rope.base)))
        s = gaze_error(GAZE_ERR_FORMAT, "%s: rope.freq_base %g out of range", path, c->rope.base);
    c->rope.dim = c->d;
    if (!s && gaze_gguf_find_key(m->g, "llama.rope.dimension_count") >= 0) {
        s = gaze_gguf_get_u32(m->g, "llama.rope.dimension_count", &u);
        if (!s && (u < 2 || u > c->d || u % 2)) s = gaze_error(GAZE_ERR_FORMAT, "%s: rope.dimension_count %u invalid for head dim %lld", path, u, (long long)c->d);
        c->rope.dim = u;
    }
    if (!s && gaze_gguf_find_key(m->g, "llama.rope.scaling.type") >= 0) {
        const char * ty;
        if (!(s = gaze_gguf_get_str(m->g, "llama.rope.scaling.type", &ty, NULL)) && strcmp(ty, "none") != 0)
            s = gaze_error(GAZE_ERR_UNSUPPORTED, "%s: llama.rope.scaling.type \"%s\" is not supported", path, ty);
    }
    if (!s && gaze_gguf_find_tensor(m->g, "rope_freqs.weight"))   // Llama 3.1: per-frequency divisors
        s = vec_f32(m, "rope_freqs.weight", c->rope.dim / 2, &c->rope.freq_factors);
    if (!s) s = gguf_tokenizer(m);
    if (!s) c->V = gaze_tokenizer_vocab_size(dec->tok);
    const struct gaze_gguf_tensor * te = NULL;
    if (!s) s = find(m, "token_embd.weight", c->C, c->V, &te);
    if (!s) dec->w.tok_embd = (struct gaze_linear){ .type = te->type, .n_out = c->V, .n_in = c->C, .weight = te->data };
    if (!s) s = vec_f32(m, "output_norm.weight", c->C, &dec->w.output_norm);
    if (!s) {
        if (gaze_gguf_find_tensor(m->g, "output.weight")) s = linear(m, "output.weight", c->C, c->V, &dec->w.output);
        else dec->w.output = dec->w.tok_embd;   // tied
    }
    if (!s && !(dec->w.layers = calloc((size_t)c->L, sizeof *dec->w.layers))) s = gaze_error(GAZE_ERR_NOMEM, "llama: out of memory");
    for (int64_t l = 0; l < c->L && !s; l++) {
        struct decoder_layer * ly = &dec->w.layers[l];
        char name[64];
#define T(suffix) (snprintf(name, sizeof name, "blk.%lld.%s", (long long)l, suffix), name)
        s = vec_f32(m, T("attn_norm.weight"), c->C, &ly->attn_norm);
        if (!s) s = vec_f32(m, T("ffn_norm.weight"), c->C, &ly->ffn_norm);
        if (!s) s = linear(m, T("attn_q.weight"), c->C, c->H * c->d, &ly->q);
        if (!s) s = linear(m, T("attn_k.weight"), c->C, c->Hkv * c->d, &ly->k);
        if (!s) s = linear(m, T("attn_v.weight"), c->C, c->Hkv * c->d, &ly->v);
        if (!s) s = linear(m, T("attn_output.weight"), c->H * c->d, c->C, &ly->o);
        if (!s) s = linear(m, T("ffn_gate.weight"), c->C, c->F, &ly->gate);
        if (!s) s = linear(m, T("ffn_up.weight"), c->C, c->F, &ly->up);
        if (!s) s = linear(m, T("ffn_down.weight"), c->F, c->C, &ly->down);
#undef T
    }
    c->norm = DEC_NORM_RMS;
    c->act = DEC_ACT_SWIGLU;
    dec->arch_id = GAZE_ARCH_LLAMA;
    return s;
}

/* ---- the other families, as llama.cpp's convert_hf_to_gguf.py writes them ----------------------
 * Keys are "<arch>.<name>"; every family's hyperparameters and defaults follow llama.cpp's
 * loader (src/models/<arch>.cpp) for the same file. RoPE is NEOX (halves) for all of them
 * (llama.cpp's LLAMA_ROPE_TYPE_NEOX; the converter permutes Q/K rows for "llama" only), none
 * for gpt2 (learned positions). Gemma's GGUF norms already hold 1 + w: a plain RMSNorm. */

struct family {
    const char * arch;
    bool gemma;           // embeddings × sqrt(C), GEGLU (tanh), tied output
    bool post_norms;      // gemma2, gemma3
    bool qk_norm;         // qwen3, gemma3
    bool qkv_bias;        // qwen2
    bool fused_qkv;       // phi3, gpt2: attn_qkv [C, (H + 2·Hkv)·d]
    bool fused_gate_up;   // phi3: ffn_up [C, 2F], gate first
    bool gpt2;            // LayerNorm with biases, learned positions, GELU, biases everywhere
    int  swa_pattern;     // every swa_pattern-th layer global (llama.cpp set_swa_pattern); 0 none
    int64_t swa_default;  // window when the file has none (gemma2: 4096)
};

static const struct family families[] = {
    { "gemma",  .gemma = true },
    { "gemma2", .gemma = true, .post_norms = true, .swa_pattern = 2, .swa_default = 4096 },
    { "gemma3", .gemma = true, .post_norms = true, .qk_norm = true, .swa_pattern = 6 },
    { "qwen2",  .qkv_bias = true },
    { "qwen3",  .qk_norm = true },
    { "phi3",   .fused_qkv = true, .fused_gate_up = true },
    { "gpt2",   .fused_qkv = true, .gpt2 = true },
};

// "<arch>.<name>" present?
static bool has_key(struct gguf_loader * m, const char * name) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", m->dec->arch, name);
    return gaze_gguf_find_key(m->g, key) >= 0;
}

// "<arch>.<name>" as an integer in [lo, hi]; def when absent (def < 0: required).
static enum gaze_status hp_int(struct gguf_loader * m, const char * name, int64_t def, int64_t lo, int64_t hi,
                               int64_t * out) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", m->dec->arch, name);
    if (gaze_gguf_find_key(m->g, key) < 0) {
        if (def < 0) return gaze_error(GAZE_ERR_FORMAT, "%s: key %s is missing", gaze_gguf_path(m->g), key);
        *out = def;
        return GAZE_OK;
    }
    uint32_t u;
    enum gaze_status s = gaze_gguf_get_u32(m->g, key, &u);
    if (s) return s;
    if (u < lo || u > hi)
        return gaze_error(GAZE_ERR_FORMAT, "%s: %s = %u outside %lld..%lld", gaze_gguf_path(m->g), key, u,
                          (long long)lo, (long long)hi);
    *out = u;
    return GAZE_OK;
}

// "<arch>.<name>" as a finite float in (lo, hi]; def when absent.
static enum gaze_status hp_f32(struct gguf_loader * m, const char * name, float def, float lo, float hi, float * out) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", m->dec->arch, name);
    if (gaze_gguf_find_key(m->g, key) < 0) { *out = def; return GAZE_OK; }
    enum gaze_status s = gaze_gguf_get_f32(m->g, key, out);
    if (!s && !(isfinite(*out) && *out > lo && *out <= hi))
        s = gaze_error(GAZE_ERR_FORMAT, "%s: %s = %g outside (%g, %g]", gaze_gguf_path(m->g), key, *out, lo, hi);
    return s;
}

// YaRN as llama.cpp runs it (ggml's rope_yarn with ext_factor 1, the default for this type):
// frequencies ramped between pos·θ and pos·θ/factor over the dims given by beta_fast/slow
// (32, 1) and original_context_length, cos/sin times attn_factor · (1 + 0.1·ln factor). That
// is transformers' YaRN with attention_factor = attn_factor · (0.1·ln factor + 1). DeepSeek's
// yarn_log_multiplier and an ext_factor other than 1 change the formula: refused by name.
static enum gaze_status gguf_yarn(struct gguf_loader * m, struct decoder_config * c) {
    const char * path = gaze_gguf_path(m->g);
    enum gaze_status s = hp_int(m, "rope.scaling.original_context_length", -1, 1, 1 << 30, &c->rope.original_ctx);
    float attn = 1.0f, ext = 1.0f, mul = 0.0f;
    if (!s) s = hp_f32(m, "rope.scaling.attn_factor", 1.0f, 0.0f, 1e6f, &attn);
    if (!s) s = hp_f32(m, "rope.scaling.yarn_beta_fast", 32.0f, 0.0f, 1e6f, &c->rope.yarn_beta_fast);
    if (!s) s = hp_f32(m, "rope.scaling.yarn_beta_slow", 1.0f, 0.0f, 1e6f, &c->rope.yarn_beta_slow);
    if (!s) s = hp_f32(m, "rope.scaling.yarn_ext_factor", 1.0f, -1e6f, 1e6f, &ext);
    if (!s) s = hp_f32(m, "rope.scaling.yarn_log_multiplier", 0.0f, -1e6f, 1e6f, &mul);
    if (!s && (ext != 1.0f || mul != 0.0f))
        s = gaze_error(GAZE_ERR_UNSUPPORTED, "%s: %s.rope.scaling.%s = %g is not supported (YaRN with ext_factor 1 and "
                       "no log multiplier only)", path, m->dec->arch, ext != 1.0f ? "yarn_ext_factor" : "yarn_log_multiplier",
                       ext != 1.0f ? ext : mul);
    if (!s && attn != 1.0f)   // 0 = decoder.c's default, 0.1·ln(factor) + 1
        c->rope.yarn_attn_factor = attn * (c->rope.factor > 1 ? 0.1f * logf(c->rope.factor) + 1.0f : 1.0f);
    return s;
}

// A vector tensor when the file has it (biases, optional norms): NULL otherwise.
static enum gaze_status opt_vec(struct gguf_loader * m, const char * name, int64_t n, const float ** out) {
    *out = NULL;
    return gaze_gguf_find_tensor(m->g, name) ? vec_f32(m, name, n, out) : GAZE_OK;
}

// Rows [r0, r0 + n) of a fused weight as their own linear (quantized rows are whole blocks, so
// a row range is a byte range), bias sliced alike.
static struct gaze_linear rows_of(const struct gaze_linear * w, const float * bias, int64_t r0, int64_t n) {
    struct gaze_linear l = *w;
    l.n_out = n;
    l.weight = (const char *)w->weight + (size_t)r0 * gaze_type_row_bytes(w->type, w->n_in);
    l.bias = bias ? bias + r0 : NULL;
    return l;
}

static enum gaze_status gguf_family(struct gguf_loader * m, const char * path) {
    struct decoder * dec = m->dec;
    struct decoder_config * c = &dec->cfg;
    const struct family * fa = NULL;
    for (size_t i = 0; i < sizeof families / sizeof *families; i++)
        if (!strcmp(families[i].arch, dec->arch)) fa = &families[i];
    if (!fa) return gaze_error(GAZE_ERR_UNSUPPORTED, "%s: general.architecture \"%s\" is not supported", path, dec->arch);
    enum gaze_status s = GAZE_OK;
    int64_t v;
    if (!s) s = hp_int(m, "embedding_length", -1, 1, 1 << 16, &c->C);
    if (!s) s = hp_int(m, "block_count", -1, 1, LLAMA_MAX_LAYERS, &c->L);
    if (!s) s = hp_int(m, "attention.head_count", -1, 1, 1024, &c->H);
    if (!s) s = hp_int(m, "feed_forward_length", -1, 1, 1 << 18, &c->F);
    if (!s) s = hp_int(m, "context_length", -1, 1, 1 << 24, &c->n_ctx);
    if (!s) s = hp_int(m, "attention.head_count_kv", c->H, 1, c->H, &c->Hkv);
    if (!s && c->H % c->Hkv != 0)
        s = gaze_error(GAZE_ERR_FORMAT, "%s: head_count %lld is not a multiple of head_count_kv %lld", path,
                       (long long)c->H, (long long)c->Hkv);
    // head dim: attention.key_length (Gemma, Qwen3: d != C / H), else C / H
    if (!s && !has_key(m, "attention.key_length") && c->C % c->H != 0)
        s = gaze_error(GAZE_ERR_FORMAT, "%s: embedding_length %lld is not a multiple of head_count %lld and "
                       "%s.attention.key_length is missing", path, (long long)c->C, (long long)c->H, dec->arch);
    if (!s) s = hp_int(m, "attention.key_length", c->C / c->H, 1, 256, &c->d);
    if (!s) s = hp_int(m, "attention.value_length", c->d, 1, 256, &v);
    if (!s && v != c->d)
        s = gaze_error(GAZE_ERR_UNSUPPORTED, "%s: %s.attention.value_length %lld differs from key_length %lld", path,
                       dec->arch, (long long)v, (long long)c->d);
    if (!s && fa->gpt2) {
        s = hp_f32(m, "attention.layer_norm_epsilon", 1e-5f, 0, 1, &c->eps);
    } else if (!s) {
        char key[128];
        snprintf(key, sizeof key, "%s.attention.layer_norm_rms_epsilon", dec->arch);
        s = gaze_gguf_get_f32(m->g, key, &c->eps);
        if (!s && !(c->eps > 0 && c->eps < 1)) s = gaze_error(GAZE_ERR_FORMAT, "%s: %s = %g out of range", path, key, c->eps);
    }

    // RoPE
    c->rope.layout = fa->gpt2 ? GAZE_ROPE_NONE : GAZE_ROPE_NEOX;
    if (!s && !fa->gpt2) {
        s = hp_f32(m, "rope.freq_base", 10000.0f, 1.0f, 1e12f, &c->rope.base);
        if (!s) s = hp_int(m, "rope.dimension_count", c->d, 2, c->d, &c->rope.dim);
        if (!s && c->rope.dim % 2) s = gaze_error(GAZE_ERR_FORMAT, "%s: %s.rope.dimension_count %lld is odd", path,
                                                  dec->arch, (long long)c->rope.dim);
        char key[128];
        snprintf(key, sizeof key, "%s.rope.scaling.type", dec->arch);
        const char * ty;
        if (!s && gaze_gguf_find_key(m->g, key) >= 0 && !(s = gaze_gguf_get_str(m->g, key, &ty, NULL)) &&
            strcmp(ty, "none") != 0) {
            // linear: positions / factor (global layers only for Gemma 3, as llama.cpp and HF);
            // yarn: llama.cpp's rope_yarn, which is transformers' YaRN (see gguf_yarn); the
            // others are refused by name
            const bool yarn = !strcmp(ty, "yarn");
            if (strcmp(ty, "linear") != 0 && !yarn)
                s = gaze_error(GAZE_ERR_UNSUPPORTED, "%s: %s \"%s\" is not supported (only \"none\", \"linear\", "
                               "\"yarn\")", path, key, ty);
            c->rope.scaling = yarn ? DEC_ROPE_SCALE_YARN : DEC_ROPE_SCALE_LINEAR;
            if (!s) s = hp_f32(m, "rope.scaling.factor", 1.0f, 0.0f, 1e6f, &c->rope.factor);
            if (!s && yarn) s = gguf_yarn(m, c);
        }
        // Phi-3 long-context variants scale each frequency (LongRoPE): not run, refused by name
        if (!s && (gaze_gguf_find_tensor(m->g, "rope_factors_long.weight") ||
                   gaze_gguf_find_tensor(m->g, "rope_factors_short.weight")))
            s = gaze_error(GAZE_ERR_UNSUPPORTED, "%s: rope_factors_long/short (LongRoPE) are not supported", path);
        if (!s && gaze_gguf_find_tensor(m->g, "rope_freqs.weight"))
            s = gaze_error(GAZE_ERR_UNSUPPORTED, "%s: rope_freqs.weight is not supported for \"%s\"", path, dec->arch);
    }

    // sliding windows: every swa_pattern-th layer global (llama.cpp's default pattern), the
    // local layers' own RoPE base (Gemma 3: 10000 unless the file says)
    if (!s && fa->swa_pattern) {
        s = hp_int(m, "attention.sliding_window", fa->swa_default, 0, 1 << 24, &c->window);
        int64_t pattern = fa->swa_pattern;
        char key[128];
        snprintf(key, sizeof key, "%s.attention.sliding_window_pattern", dec->arch);
        int64_t ki = gaze_gguf_find_key(m->g, key);
        if (!s && ki >= 0 && gaze_gguf_kv_type(m->g, ki) == GAZE_GGUF_TYPE_ARRAY)
            s = gaze_error(GAZE_ERR_UNSUPPORTED, "%s: %s as a per-layer array is not supported", path, key);
        if (!s) s = hp_int(m, "attention.sliding_window_pattern", fa->swa_pattern, 0, LLAMA_MAX_LAYERS, &pattern);
        if (!s && c->window > 0) {
            uint8_t * local = (uint8_t *)decoder_alloc(dec, (size_t)(c->L + 3) / 4);
            if (!local) s = GAZE_ERR_NOMEM;
            for (int64_t l = 0; !s && l < c->L; l++) local[l] = pattern == 0 || l % pattern < pattern - 1;
            c->layer_local = local;
            float def = !strcmp(dec->arch, "gemma3") ? 10000.0f : c->rope.base;
            if (!s) s = hp_f32(m, "rope.freq_base_swa", def, 1.0f, 1e12f, &c->rope.base_local);
        }
    } else if (!s && has_key(m, "attention.sliding_window")) {
        // Phi-3 files carry one, which llama.cpp ignores (its SWA is disabled): so does gaze
        if (strcmp(dec->arch, "phi3") != 0)
            s = gaze_error(GAZE_ERR_UNSUPPORTED, "%s: %s.attention.sliding_window is not supported", path, dec->arch);
    }

    // Gemma: scaled embeddings, query scale, soft-capping
    if (fa->gemma) {
        c->embd_scale = sqrtf((float)c->C);
        // gemma_pytorch: query_pre_attn_scalar = C / H for the 27B models (46 and 62 layers), else d
        const bool big = (!strcmp(dec->arch, "gemma2") && c->L == 46) || (!strcmp(dec->arch, "gemma3") && c->L == 62);
        c->attn_scale = 1.0f / sqrtf((float)(big ? c->C / c->H : c->d));
        float def_attn = !strcmp(dec->arch, "gemma2") ? 50.0f : 0.0f, def_final = !strcmp(dec->arch, "gemma2") ? 30.0f : 0.0f;
        if (!s) s = hp_f32(m, "attn_logit_softcapping", def_attn, -1.0f, 1e6f, &c->attn_softcap);
        if (!s) s = hp_f32(m, "final_logit_softcapping", def_final, -1.0f, 1e6f, &c->final_softcap);
        if (!s && !strcmp(dec->arch, "gemma3") && c->attn_softcap != 0)   // llama.cpp's gemma3 graph has none
            s = gaze_error(GAZE_ERR_UNSUPPORTED, "%s: gemma3.attn_logit_softcapping is not supported", path);
    }
    if (!s && (gaze_gguf_find_tensor(m->g, "dense_2_out.weight") || gaze_gguf_find_tensor(m->g, "dense_3_out.weight")))
        s = gaze_error(GAZE_ERR_UNSUPPORTED, "%s: dense_2_out/dense_3_out (embedding-model heads) are not supported", path);

    c->norm = fa->gpt2 ? DEC_NORM_LAYER : DEC_NORM_RMS;
    c->act = fa->gemma ? DEC_ACT_GEGLU_TANH : fa->gpt2 ? DEC_ACT_GELU_TANH : DEC_ACT_SWIGLU;
    c->post_norms = fa->post_norms;
    c->qk_norm = fa->qk_norm;

    if (!s) s = gguf_tokenizer(m);
    if (!s) c->V = gaze_tokenizer_vocab_size(dec->tok);
    const struct gaze_gguf_tensor * te = NULL;
    if (!s) s = find(m, "token_embd.weight", c->C, c->V, &te);
    if (!s) dec->w.tok_embd = (struct gaze_linear){ .type = te->type, .n_out = c->V, .n_in = c->C, .weight = te->data };
    if (!s && fa->gpt2) {
        const struct gaze_gguf_tensor * tp = NULL;
        if (!(s = find(m, "position_embd.weight", c->C, c->n_ctx, &tp))) {
            float * pe = decoder_alloc(dec, (size_t)(c->C * c->n_ctx));
            if (!pe) s = GAZE_ERR_NOMEM;
            else if (!(s = gaze_dequantize(tp->type, tp->data, pe, c->C * c->n_ctx))) dec->w.pos_embd = pe;
        }
    }
    if (!s) s = vec_f32(m, "output_norm.weight", c->C, &dec->w.output_norm);
    if (!s && fa->gpt2) s = vec_f32(m, "output_norm.bias", c->C, &dec->w.output_norm_b);
    if (!s) {
        if (gaze_gguf_find_tensor(m->g, "output.weight")) s = linear(m, "output.weight", c->C, c->V, &dec->w.output);
        else dec->w.output = dec->w.tok_embd;   // tied
    }
    if (!s && !(dec->w.layers = calloc((size_t)c->L, sizeof *dec->w.layers)))
        s = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", dec->arch);
    const int64_t nq = c->H * c->d, nkv = c->Hkv * c->d;
    for (int64_t l = 0; l < c->L && !s; l++) {
        struct decoder_layer * ly = &dec->w.layers[l];
        char name[64];
#define T(suffix) (snprintf(name, sizeof name, "blk.%lld.%s", (long long)l, suffix), name)
        s = vec_f32(m, T("attn_norm.weight"), c->C, &ly->attn_norm);
        if (!s) s = vec_f32(m, T("ffn_norm.weight"), c->C, &ly->ffn_norm);
        if (!s && fa->gpt2) s = vec_f32(m, T("attn_norm.bias"), c->C, &ly->attn_norm_b);
        if (!s && fa->gpt2) s = vec_f32(m, T("ffn_norm.bias"), c->C, &ly->ffn_norm_b);
        if (!s && fa->post_norms) s = vec_f32(m, T("post_attention_norm.weight"), c->C, &ly->post_attn_norm);
        if (!s && fa->post_norms) s = vec_f32(m, T("post_ffw_norm.weight"), c->C, &ly->post_ffn_norm);
        if (!s && fa->qk_norm) s = vec_f32(m, T("attn_q_norm.weight"), c->d, &ly->q_norm);
        if (!s && fa->qk_norm) s = vec_f32(m, T("attn_k_norm.weight"), c->d, &ly->k_norm);
        if (!s && fa->fused_qkv) {
            struct gaze_linear qkv = { 0 };
            const float * b = NULL;
            s = linear(m, T("attn_qkv.weight"), c->C, nq + 2 * nkv, &qkv);
            if (!s) s = opt_vec(m, T("attn_qkv.bias"), nq + 2 * nkv, &b);
            ly->q = rows_of(&qkv, b, 0, nq);
            ly->k = rows_of(&qkv, b, nq, nkv);
            ly->v = rows_of(&qkv, b, nq + nkv, nkv);
        } else if (!s) {
            s = linear(m, T("attn_q.weight"), c->C, nq, &ly->q);
            if (!s) s = linear(m, T("attn_k.weight"), c->C, nkv, &ly->k);
            if (!s) s = linear(m, T("attn_v.weight"), c->C, nkv, &ly->v);
            if (!s) s = opt_vec(m, T("attn_q.bias"), nq, &ly->q.bias);
            if (!s) s = opt_vec(m, T("attn_k.bias"), nkv, &ly->k.bias);
            if (!s) s = opt_vec(m, T("attn_v.bias"), nkv, &ly->v.bias);
            if (!s && fa->qkv_bias && !(ly->q.bias && ly->k.bias && ly->v.bias))
                s = gaze_error(GAZE_ERR_FORMAT, "%s: blk.%lld: attn_q/k/v.bias missing", path, (long long)l);
        }
        if (!s) s = linear(m, T("attn_output.weight"), nq, c->C, &ly->o);
        if (!s) s = opt_vec(m, T("attn_output.bias"), c->C, &ly->o.bias);
        if (!s && fa->fused_gate_up) {
            struct gaze_linear gu = { 0 };
            s = linear(m, T("ffn_up.weight"), c->C, 2 * c->F, &gu);
            ly->gate = rows_of(&gu, NULL, 0, c->F);
            ly->up = rows_of(&gu, NULL, c->F, c->F);
        } else if (!s) {
            if (!fa->gpt2) s = linear(m, T("ffn_gate.weight"), c->C, c->F, &ly->gate);
            if (!s) s = linear(m, T("ffn_up.weight"), c->C, c->F, &ly->up);
            if (!s) s = opt_vec(m, T("ffn_up.bias"), c->F, &ly->up.bias);
        }
        if (!s) s = linear(m, T("ffn_down.weight"), c->F, c->C, &ly->down);
        if (!s) s = opt_vec(m, T("ffn_down.bias"), c->C, &ly->down.bias);
#undef T
    }
    dec->arch_id = GAZE_ARCH_DECODER;
    return s;
}

// general.architecture -> the function filling the config and weights.
static const struct { const char * arch; enum gaze_status (*load)(struct gguf_loader *, const char *); } gguf_arch_map[] = {
    { "llama", gguf_llama },
    { "gemma", gguf_family }, { "gemma2", gguf_family }, { "gemma3", gguf_family },
    { "qwen2", gguf_family }, { "qwen3", gguf_family }, { "phi3", gguf_family }, { "gpt2", gguf_family },
};

enum gaze_status decoder_gguf_load(struct gaze_model * model, const char * path) {
    struct decoder * dec = calloc(1, sizeof *dec);
    if (!dec) return gaze_error(GAZE_ERR_NOMEM, "llama: out of memory");
    struct gguf_loader ld = { NULL, dec };
    enum gaze_status s = gaze_gguf_open(path, &ld.g);
    dec->file = ld.g;
    dec->free_file = gguf_close;
    const char * arch = NULL;
    if (!s) s = gaze_gguf_get_str(ld.g, "general.architecture", &arch, NULL);
    size_t which = sizeof gguf_arch_map / sizeof *gguf_arch_map;
    for (size_t i = 0; !s && i < sizeof gguf_arch_map / sizeof *gguf_arch_map; i++)
        if (!strcmp(arch, gguf_arch_map[i].arch)) which = i;
    if (!s && which == sizeof gguf_arch_map / sizeof *gguf_arch_map) {
        char known[256] = "";
        for (size_t i = 0; i < sizeof gguf_arch_map / sizeof *gguf_arch_map; i++)
            snprintf(known + strlen(known), sizeof known - strlen(known), "%s\"%s\"", i ? ", " : "", gguf_arch_map[i].arch);
        s = gaze_error(GAZE_ERR_UNSUPPORTED, "%s: general.architecture \"%s\" is not supported (only %s)", path, arch, known);
    }
    if (!s) {
        snprintf(dec->arch, sizeof dec->arch, "%s", arch);
        dec->cfg.arch = dec->arch;
        s = gguf_arch_map[which].load(&ld, path);
    }
    // every float value and quantization block scale finite (ggml_validate_row_data): a NaN or Inf
    // weight would otherwise turn every run into silent NaN
    struct check_progress cp = { model->load_progress, 0 };
    struct gaze_progress check = { check_progress_fn, &cp };
    if (!s && model->load_progress) {   // one count: the bytes checked, then the bytes prepared
        dec->load_bytes_before = tensor_bytes_total(ld.g);
        cp.total = dec->load_bytes_before + decoder_prepare_bytes(dec);
    }
    if (!s) s = gaze_gguf_check_data_progress(ld.g, model->load_progress ? &check : NULL);
    if (s) { decoder_free(dec); return s; }
    return decoder_finish(model, dec);
}

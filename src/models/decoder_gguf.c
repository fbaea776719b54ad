// Decoders from GGUF files: general.architecture and its hyperparameters mapped into a struct
// decoder_config, the tensors into struct decoder_layer (in the mapping where their type
// allows), the vocabulary into the tokenizer (text/tokenizer.c); decoder.c runs it. Supported:
// "llama" (GGUF stores Q/K rows permuted for interleaved RoPE). Other architectures plug in
// at gguf_arch_map below: one function per family filling the config and naming its tensors.
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

// general.architecture -> the function filling the config and weights. h3's families (gemma3,
// qwen2, qwen3, phi3, gpt2) add their rows here.
static const struct { const char * arch; enum gaze_status (*load)(struct gguf_loader *, const char *); } gguf_arch_map[] = {
    { "llama", gguf_llama },
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

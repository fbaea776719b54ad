// Decoders from Hugging Face folders: config.json (model_type gpt2, gpt_neox, llama, mistral,
// qwen2, qwen3, gemma, gemma2, gemma3_text, gemma3 with text_config, phi3) mapped into a struct
// decoder_config, the weights of model.safetensors or of the shards a
// model.safetensors.index.json lists (F32, F16, BF16; in the mapping when aligned, converted
// otherwise), re-laid out where the family stores them otherwise than [out, in] per projection
// (GPT-2's Conv1D [in, out], NeoX's per-head interleaved fused QKV, Phi-3's fused qkv_proj and
// gate_up_proj), and the tokenizer of the folder (text/tokenizer.c). Anything else is refused
// by name.
#include "models/decoder.h"
#include "formats/json.h"
#include "formats/st_shards.h"
#include <math.h>
#include <stdio.h>
#include <string.h>


struct hf {
    const char * folder;
    char cfg_path[4200];
    json_t * cfg;                        // config.json
    const json_t * c;                    // the text model's config (text_config of gemma3)
    struct st_shards set;                // model.safetensors or its shards (formats/st_shards.c)
    struct decoder * dec;
    const char * prefix;                 // "model.", "language_model.model.", "transformer.", ...
    char lm_head[64];                    // the output weight's name
};

static void hf_close_shards(void * p) {
    struct hf * h = p;
    st_shards_close(&h->set);
    free(h);
}

static const struct gaze_st_tensor * hf_find(const struct hf * h, const char * name) {
    return st_shards_find(&h->set, name);
}

static enum gaze_status check_dtype(const struct hf * h, const struct gaze_st_tensor * t) {
    if (t->dtype == GAZE_DTYPE_F32 || t->dtype == GAZE_DTYPE_F16 || t->dtype == GAZE_DTYPE_BF16) return GAZE_OK;
    return gaze_error(GAZE_ERR_UNSUPPORTED, "%s: tensor %s has dtype %s; supported: F32, F16, BF16", h->folder, t->name,
                      gaze_dtype_name(t->dtype));
}

// Converts n elements of t (F32/F16/BF16) into an owned f32 buffer, checking finiteness.
static enum gaze_status to_f32(struct hf * h, const struct gaze_st_tensor * t, float ** out) {
    enum gaze_status s = check_dtype(h, t);
    if (s) return s;
    float * f = decoder_alloc(h->dec, (size_t)t->n_elements);
    if (!f) return GAZE_ERR_NOMEM;
    if (t->dtype == GAZE_DTYPE_F32) memcpy(f, t->data, (size_t)t->n_elements * sizeof(float));
    else {
        for (int64_t i = 0; i < t->n_elements; i++) {
            uint16_t v;
            memcpy(&v, (const char *)t->data + 2 * i, 2);
            f[i] = t->dtype == GAZE_DTYPE_F16 ? gaze_f16_to_f32(v) : gaze_bf16_to_f32(v);
        }
    }
    for (int64_t i = 0; i < t->n_elements; i++)
        if (!isfinite(f[i]))
            return gaze_error(GAZE_ERR_NUMERIC, "%s: tensor %s holds a non-finite value at %lld", h->folder, t->name, (long long)i);
    *out = f;
    return GAZE_OK;
}

// The tensor `name` with shape [n0] or [n0, n1] (n1 = 0: 1-D); NULL when absent and optional.
static enum gaze_status tensor(const struct hf * h, const char * name, int64_t n0, int64_t n1, bool required,
                               const struct gaze_st_tensor ** out) {
    *out = NULL;
    const struct gaze_st_tensor * t = hf_find(h, name);
    if (!t) return required ? gaze_error(GAZE_ERR_FORMAT, "%s: tensor %s is missing", h->folder, name) : GAZE_OK;
    const bool ok = n1 ? t->n_dims == 2 && t->shape[0] == n0 && t->shape[1] == n1 : t->n_dims == 1 && t->shape[0] == n0;
    if (!ok) {
        char got[96] = "[", * p = got + 1;
        for (int i = 0; i < t->n_dims && i < 4; i++) p += snprintf(p, 20, "%s%lld", i ? ", " : "", (long long)t->shape[i]);
        snprintf(p, 4, "]");
        if (n1) return gaze_error(GAZE_ERR_FORMAT, "%s: tensor %s has shape %s, expected [%lld, %lld]", h->folder, name, got,
                                  (long long)n0, (long long)n1);
        return gaze_error(GAZE_ERR_FORMAT, "%s: tensor %s has shape %s, expected [%lld]", h->folder, name, got, (long long)n0);
    }
    *out = t;
    return check_dtype(h, t);
}

static enum gaze_status vec(struct hf * h, const char * name, int64_t n, bool required, const float ** out) {
    const struct gaze_st_tensor * t;
    *out = NULL;
    enum gaze_status s = tensor(h, name, n, 0, required, &t);
    if (s || !t) return s;
    float * f;
    if ((s = to_f32(h, t, &f))) return s;
    *out = f;
    return GAZE_OK;
}

static enum gaze_type gaze_type_of(enum gaze_dtype d) {
    return d == GAZE_DTYPE_F16 ? GAZE_TYPE_F16 : d == GAZE_DTYPE_BF16 ? GAZE_TYPE_BF16 : GAZE_TYPE_F32;
}

// A [n_out, n_in] weight in place in the mapping when aligned for its type, else an f32 copy.
static enum gaze_status mat(struct hf * h, const char * name, int64_t n_out, int64_t n_in, bool required,
                            struct gaze_linear * lin) {
    const struct gaze_st_tensor * t;
    enum gaze_status s = tensor(h, name, n_out, n_in, required, &t);
    if (s || !t) return s;
    const size_t align = t->dtype == GAZE_DTYPE_F32 ? 4 : 2;
    *lin = (struct gaze_linear){ .type = gaze_type_of(t->dtype), .n_out = n_out, .n_in = n_in, .weight = t->data };
    if ((uintptr_t)t->data % align) {
        float * f;
        if ((s = to_f32(h, t, &f))) return s;
        lin->type = GAZE_TYPE_F32;
        lin->weight = f;
    }
    return GAZE_OK;
}

// Rows [r0, r0 + n) of a [rows, n_in] f32 matrix as a linear (a view, no copy).
static struct gaze_linear rows_of(const float * w, int64_t r0, int64_t n, int64_t n_in, const float * bias) {
    return (struct gaze_linear){ .type = GAZE_TYPE_F32, .n_out = n, .n_in = n_in, .weight = w + r0 * n_in,
                                 .bias = bias ? bias + r0 : NULL };
}

/* ---------------------------------------------------------------------------------------------
 * config.json
 * ------------------------------------------------------------------------------------------- */

static const char * const k_types[] = { "gpt2", "gpt_neox", "llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2",
                                        "gemma3_text", "gemma3", "phi3" };
enum { N_TYPES = sizeof k_types / sizeof *k_types };

static enum gaze_status refuse_type(const char * path, const char * type) {
    char known[256] = "";
    for (int i = 0; i < N_TYPES; i++) snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", i ? ", " : "", k_types[i]);
    return gaze_error(GAZE_ERR_UNSUPPORTED, "%s: model_type \"%s\" is not supported; gaze runs folders of model_type "
                      "%s (encoders) and of these decoders: %s", path, type, bert_model_types(), known);
}

#define GETI(key, dst, lo, hi) if (!s) { int64_t v_; s = gaze_json_get_int_range(c, key, path, lo, hi, &v_); dst = v_; }
#define OPTI(key, def, dst) if (!s) { int64_t v_; s = gaze_json_opt_int(c, key, path, def, &v_); dst = v_; }
#define OPTF(key, def, dst) if (!s) { double v_; s = gaze_json_opt_number(c, key, path, def, &v_); dst = (float)v_; }

// rope_scaling {rope_type | type: default, linear, llama3, yarn}; others refused by name.
static enum gaze_status rope_scaling(struct hf * h, int64_t max_pos) {
    const json_t * c = h->c;
    const char * path = h->cfg_path;
    struct decoder_rope * r = &h->dec->cfg.rope;
    json_t * rs = NULL;
    enum gaze_status s = gaze_json_opt_object(c, "rope_scaling", path, &rs);
    if (s || !rs) return s;
    const char * type = NULL;
    if ((s = gaze_json_opt_string(rs, "rope_type", "config.json: rope_scaling", NULL, &type))) return s;
    if (!type && (s = gaze_json_opt_string(rs, "type", "config.json: rope_scaling", "default", &type))) return s;
    const char * lbl = "config.json: rope_scaling";
    double f = 0;
    if (!strcmp(type, "default")) return GAZE_OK;
    if (!strcmp(type, "linear")) {
        r->scaling = DEC_ROPE_SCALE_LINEAR;
        if ((s = gaze_json_get_number(rs, "factor", lbl, &f))) return s;
        r->factor = (float)f;
    } else if (!strcmp(type, "llama3")) {
        double lo, hi;
        int64_t orig;
        r->scaling = DEC_ROPE_SCALE_LLAMA3;
        if ((s = gaze_json_get_number(rs, "factor", lbl, &f)) || (s = gaze_json_get_number(rs, "low_freq_factor", lbl, &lo)) ||
            (s = gaze_json_get_number(rs, "high_freq_factor", lbl, &hi)) ||
            (s = gaze_json_get_int_range(rs, "original_max_position_embeddings", lbl, 1, 1 << 24, &orig)))
            return s;
        r->factor = (float)f; r->low_freq_factor = (float)lo; r->high_freq_factor = (float)hi; r->original_ctx = orig;
    } else if (!strcmp(type, "yarn")) {
        double af, ms, msa, bf, bs;
        int64_t orig;
        r->scaling = DEC_ROPE_SCALE_YARN;
        if ((s = gaze_json_get_number(rs, "factor", lbl, &f)) || (s = gaze_json_opt_number(rs, "attention_factor", lbl, 0, &af)) ||
            (s = gaze_json_opt_number(rs, "mscale", lbl, 0, &ms)) || (s = gaze_json_opt_number(rs, "mscale_all_dim", lbl, 0, &msa)) ||
            (s = gaze_json_opt_number(rs, "beta_fast", lbl, 0, &bf)) || (s = gaze_json_opt_number(rs, "beta_slow", lbl, 0, &bs)) ||
            (s = gaze_json_opt_int(rs, "original_max_position_embeddings", lbl, 0, &orig)))
            return s;
        // as modeling_rope_utils: with original_max_position_embeddings the factor is the ratio
        if (orig > 0) f = (double)max_pos / (double)orig;
        else orig = max_pos;
        if (!(f > 0)) return gaze_error(GAZE_ERR_FORMAT, "%s: rope_scaling factor %g out of range", path, f);
        if (af <= 0) {   // get_mscale
            #define MSCALE(sc, m) ((sc) <= 1 ? 1.0 : 0.1 * (m) * log(sc) + 1.0)
            af = ms != 0 && msa != 0 ? MSCALE(f, ms) / MSCALE(f, msa) : MSCALE(f, 1.0);
            #undef MSCALE
        }
        r->factor = (float)f; r->original_ctx = orig; r->yarn_attn_factor = (float)af;
        r->yarn_beta_fast = (float)bf; r->yarn_beta_slow = (float)bs;
    } else {
        return gaze_error(GAZE_ERR_UNSUPPORTED, "%s: rope_scaling type \"%s\" is not supported (supported: default, linear, "
                          "llama3, yarn)", path, type);
    }
    return GAZE_OK;
}

static enum gaze_status act_of(const char * path, const char * key, const char * act, bool glu, enum decoder_act * out) {
    if (glu && (!strcmp(act, "silu") || !strcmp(act, "swish"))) *out = DEC_ACT_SWIGLU;
    else if (glu && (!strcmp(act, "gelu_pytorch_tanh") || !strcmp(act, "gelu_tanh"))) *out = DEC_ACT_GEGLU_TANH;
    else if (!glu && (!strcmp(act, "gelu_new") || !strcmp(act, "gelu_pytorch_tanh") || !strcmp(act, "gelu_fast")))
        *out = DEC_ACT_GELU_TANH;
    else if (!glu && !strcmp(act, "gelu")) *out = DEC_ACT_GELU_ERF;
    else
        return gaze_error(GAZE_ERR_UNSUPPORTED, "%s: %s \"%s\" is not supported for this family (supported: %s)", path, key, act,
                          glu ? "silu, gelu_pytorch_tanh" : "gelu_new, gelu_pytorch_tanh, gelu");
    return GAZE_OK;
}

static enum gaze_status parse_config(struct hf * h, const char * type) {
    struct decoder_config * cf = &h->dec->cfg;
    const json_t * c = h->c;
    const char * path = h->cfg_path;
    enum gaze_status s = GAZE_OK;
    const bool gpt2 = !strcmp(type, "gpt2"), neox = !strcmp(type, "gpt_neox"), phi3 = !strcmp(type, "phi3");
    const bool gemma = !strncmp(type, "gemma", 5), gemma2 = !strcmp(type, "gemma2"), gemma3 = !strncmp(type, "gemma3", 6);
    const char * act = NULL;
    int64_t inner = 0;
    if (gpt2) {
        bool inv = false, scale = true;
        GETI("n_embd", cf->C, 1, 1 << 16)
        GETI("n_layer", cf->L, 1, 512)
        GETI("n_head", cf->H, 1, 1024)
        GETI("n_positions", cf->n_ctx, 1, 1 << 24)
        OPTI("n_inner", 0, inner)
        OPTF("layer_norm_epsilon", 1e-5, cf->eps)
        if (!s) s = gaze_json_opt_string(c, "activation_function", path, "gelu_new", &act);
        if (!s) s = gaze_json_opt_bool(c, "scale_attn_by_inverse_layer_idx", path, false, &inv);
        if (!s) s = gaze_json_opt_bool(c, "scale_attn_weights", path, true, &scale);
        if (!s && inv) s = gaze_error(GAZE_ERR_UNSUPPORTED, "%s: scale_attn_by_inverse_layer_idx = true is not supported", path);
        if (!s && !scale) cf->attn_scale = 1.0f;
        cf->Hkv = cf->H;
        if (!s && cf->C % cf->H)
            s = gaze_error(GAZE_ERR_FORMAT, "%s: n_embd %lld is not a multiple of n_head %lld", path, (long long)cf->C, (long long)cf->H);
        if (!s) cf->d = cf->C / cf->H;
        cf->F = inner > 0 ? inner : 4 * cf->C;
        cf->norm = DEC_NORM_LAYER;
        cf->rope.layout = GAZE_ROPE_NONE;
        if (!s) s = act_of(path, "activation_function", act, false, &cf->act);
        return s;
    }
    GETI("hidden_size", cf->C, 1, 1 << 16)
    GETI("num_hidden_layers", cf->L, 1, 512)
    GETI("num_attention_heads", cf->H, 1, 1024)
    GETI("intermediate_size", cf->F, 1, 1 << 18)
    GETI("max_position_embeddings", cf->n_ctx, 1, 1 << 24)
    OPTI("num_key_value_heads", cf->H, cf->Hkv)
    if (!s && (cf->Hkv < 1 || cf->H % cf->Hkv))
        s = gaze_error(GAZE_ERR_FORMAT, "%s: num_attention_heads %lld is not a multiple of num_key_value_heads %lld", path,
                       (long long)cf->H, (long long)cf->Hkv);
    if (!s && cf->C % cf->H && !json_object_get(c, "head_dim"))
        s = gaze_error(GAZE_ERR_FORMAT, "%s: hidden_size %lld is not a multiple of num_attention_heads %lld", path,
                       (long long)cf->C, (long long)cf->H);
    OPTI("head_dim", cf->C / cf->H, cf->d)
    if (!s && json_is_null(json_object_get(c, "head_dim"))) cf->d = cf->C / cf->H;
    float partial = 1.0f;
    cf->rope.layout = GAZE_ROPE_NEOX;
    if (neox) {
        bool par = true;
        OPTF("layer_norm_eps", 1e-5, cf->eps)
        OPTF("rotary_pct", 0.25, partial)
        OPTF("rotary_emb_base", 10000, cf->rope.base)
        if (!s && json_object_get(c, "rope_theta")) OPTF("rope_theta", 10000, cf->rope.base)
        if (!s) s = gaze_json_opt_bool(c, "use_parallel_residual", path, true, &par);
        if (!s) s = gaze_json_opt_string(c, "hidden_act", path, "gelu", &act);
        if (!s) s = act_of(path, "hidden_act", act, false, &cf->act);
        cf->parallel_residual = par;
        cf->norm = DEC_NORM_LAYER;
    } else {
        OPTF("rms_norm_eps", 1e-6, cf->eps)
        OPTF("rope_theta", 10000, cf->rope.base)
        OPTF("partial_rotary_factor", 1.0, partial)
        const char * key = gemma2 || gemma3 ? "hidden_activation" : "hidden_act";
        if (!s) s = gaze_json_opt_string(c, key, path, gemma ? "gelu_pytorch_tanh" : "silu", &act);
        if (!s) s = act_of(path, key, act, true, &cf->act);
        cf->norm = gemma ? DEC_NORM_RMS_PLUS1 : DEC_NORM_RMS;
    }
    if (!s && !(partial > 0 && partial <= 1)) s = gaze_error(GAZE_ERR_FORMAT, "%s: partial rotary factor %g out of (0, 1]", path, partial);
    cf->rope.dim = (int64_t)((float)cf->d * partial);   // int(head_dim * factor), as transformers
    cf->rope.dim -= cf->rope.dim % 2;
    if (!s && cf->rope.dim < 2)   // 0 would mean "all of d" downstream
        s = gaze_error(GAZE_ERR_FORMAT, "%s: partial rotary factor %g leaves %lld rotated dims of %lld", path, partial,
                       (long long)cf->rope.dim, (long long)cf->d);
    if (!s) s = rope_scaling(h, cf->n_ctx);
    // attention windows
    int64_t window = 0;
    if (!s && json_is_integer(json_object_get(c, "sliding_window"))) OPTI("sliding_window", 0, window)
    if (!s && (!strcmp(type, "mistral") || phi3 || gemma2 || gemma3)) cf->window = window;
    if (!s && !strcmp(type, "qwen2")) {
        bool use = false;
        s = gaze_json_opt_bool(c, "use_sliding_window", path, false, &use);
        if (!s && use && window > 0)
            s = gaze_error(GAZE_ERR_UNSUPPORTED, "%s: use_sliding_window = true (Qwen2 windows from max_window_layers) is not "
                           "supported", path);
    }
    if (!s && cf->window > 0 && (gemma2 || gemma3)) {
        uint8_t * local = (uint8_t *)decoder_alloc(h->dec, (size_t)cf->L);
        int64_t pattern = 6;
        if (!local) return GAZE_ERR_NOMEM;
        if (gemma3) OPTI("sliding_window_pattern", 6, pattern)
        if (!s && pattern < 1) s = gaze_error(GAZE_ERR_FORMAT, "%s: sliding_window_pattern %lld < 1", path, (long long)pattern);
        for (int64_t l = 0; !s && l < cf->L; l++)   // Gemma 2: even layers local; Gemma 3: all but every pattern-th
            local[l] = gemma2 ? l % 2 == 0 : (l + 1) % pattern != 0;
        cf->layer_local = local;
    }
    if (gemma) {
        double qpa = 0;
        cf->embd_scale = (float)sqrt((double)cf->C);   // torch.tensor(hidden_size ** 0.5, dtype=float32)
        if (!s && (gemma2 || gemma3)) {
            s = gaze_json_opt_number(c, "query_pre_attn_scalar", path, (double)cf->d, &qpa);
            if (!s && !(qpa > 0)) s = gaze_error(GAZE_ERR_FORMAT, "%s: query_pre_attn_scalar %g <= 0", path, qpa);
            if (!s) cf->attn_scale = (float)pow(qpa, -0.5);
        }
        OPTF("attn_logit_softcapping", 0, cf->attn_softcap)
        OPTF("final_logit_softcapping", 0, cf->final_softcap)
        cf->post_norms = gemma2 || gemma3;
        if (gemma3) OPTF("rope_local_base_freq", 10000, cf->rope.base_local)
    }
    cf->qk_norm = gemma3 || !strcmp(type, "qwen3");
    return s;
}

/* ---------------------------------------------------------------------------------------------
 * Weights
 * ------------------------------------------------------------------------------------------- */

#define NAME(...) (snprintf(nm, sizeof nm, __VA_ARGS__), nm)

// Conv1D weight [in, out] (GPT-2) as an f32 [out, in] copy.
static enum gaze_status conv1d(struct hf * h, const char * name, int64_t n_in, int64_t n_out, float ** out) {
    const struct gaze_st_tensor * t;
    float * src, * dst;
    enum gaze_status s = tensor(h, name, n_in, n_out, true, &t);
    if (!s) s = to_f32(h, t, &src);
    if (!s && !(dst = decoder_alloc(h->dec, (size_t)(n_in * n_out)))) s = GAZE_ERR_NOMEM;
    if (s) return s;
    for (int64_t i = 0; i < n_in; i++)
        for (int64_t o = 0; o < n_out; o++) dst[o * n_in + i] = src[i * n_out + o];
    *out = dst;
    return GAZE_OK;
}

static enum gaze_status load_gpt2(struct hf * h) {
    struct decoder * m = h->dec;
    const struct decoder_config * c = &m->cfg;
    const int64_t C = c->C, F = c->F;
    char nm[256];
    const char * p = hf_find(h, "transformer.wte.weight") ? "transformer." : "";
    enum gaze_status s = mat(h, NAME("%swte.weight", p), c->V, C, true, &m->w.tok_embd);
    if (!s) s = vec(h, NAME("%sln_f.weight", p), C, true, &m->w.output_norm);
    if (!s) s = vec(h, NAME("%sln_f.bias", p), C, true, &m->w.output_norm_b);
    const struct gaze_st_tensor * t;
    if (!s) s = tensor(h, NAME("%swpe.weight", p), c->n_ctx, C, true, &t);
    float * f;
    if (!s && !(s = to_f32(h, t, &f))) m->w.pos_embd = f;
    for (int64_t l = 0; l < c->L && !s; l++) {
        struct decoder_layer * ly = &m->w.layers[l];
        float * w, * b;
        const float * bc;
        s = vec(h, NAME("%sh.%lld.ln_1.weight", p, (long long)l), C, true, &ly->attn_norm);
        if (!s) s = vec(h, NAME("%sh.%lld.ln_1.bias", p, (long long)l), C, true, &ly->attn_norm_b);
        if (!s) s = vec(h, NAME("%sh.%lld.ln_2.weight", p, (long long)l), C, true, &ly->ffn_norm);
        if (!s) s = vec(h, NAME("%sh.%lld.ln_2.bias", p, (long long)l), C, true, &ly->ffn_norm_b);
        if (!s) s = conv1d(h, NAME("%sh.%lld.attn.c_attn.weight", p, (long long)l), C, 3 * C, &w);
        if (!s) s = vec(h, NAME("%sh.%lld.attn.c_attn.bias", p, (long long)l), 3 * C, true, &bc);
        if (!s) {
            ly->q = rows_of(w, 0, C, C, bc);
            ly->k = rows_of(w, C, C, C, bc);
            ly->v = rows_of(w, 2 * C, C, C, bc);
        }
        if (!s) s = conv1d(h, NAME("%sh.%lld.attn.c_proj.weight", p, (long long)l), C, C, &w);
        if (!s) s = vec(h, NAME("%sh.%lld.attn.c_proj.bias", p, (long long)l), C, true, &bc);
        if (!s) ly->o = rows_of(w, 0, C, C, bc);
        if (!s) s = conv1d(h, NAME("%sh.%lld.mlp.c_fc.weight", p, (long long)l), C, F, &w);
        if (!s) s = vec(h, NAME("%sh.%lld.mlp.c_fc.bias", p, (long long)l), F, true, &bc);
        if (!s) ly->up = rows_of(w, 0, F, C, bc);
        if (!s) s = conv1d(h, NAME("%sh.%lld.mlp.c_proj.weight", p, (long long)l), F, C, &b);
        if (!s) s = vec(h, NAME("%sh.%lld.mlp.c_proj.bias", p, (long long)l), C, true, &bc);
        if (!s) ly->down = rows_of(b, 0, C, F, bc);
    }
    snprintf(h->lm_head, sizeof h->lm_head, "lm_head.weight");
    return s;
}

static enum gaze_status load_neox(struct hf * h) {
    struct decoder * m = h->dec;
    const struct decoder_config * c = &m->cfg;
    const int64_t C = c->C, F = c->F, H = c->H, d = c->d;
    char nm[256];
    enum gaze_status s = mat(h, "gpt_neox.embed_in.weight", c->V, C, true, &m->w.tok_embd);
    if (!s) s = vec(h, "gpt_neox.final_layer_norm.weight", C, true, &m->w.output_norm);
    if (!s) s = vec(h, "gpt_neox.final_layer_norm.bias", C, true, &m->w.output_norm_b);
    for (int64_t l = 0; l < c->L && !s; l++) {
        struct decoder_layer * ly = &m->w.layers[l];
        const char * lp = "gpt_neox.layers";
        const struct gaze_st_tensor * t;
        float * w = NULL, * wq = NULL, * bq = NULL;
        const float * bias_in = NULL;
        s = vec(h, NAME("%s.%lld.input_layernorm.weight", lp, (long long)l), C, true, &ly->attn_norm);
        if (!s) s = vec(h, NAME("%s.%lld.input_layernorm.bias", lp, (long long)l), C, true, &ly->attn_norm_b);
        if (!s) s = vec(h, NAME("%s.%lld.post_attention_layernorm.weight", lp, (long long)l), C, true, &ly->ffn_norm);
        if (!s) s = vec(h, NAME("%s.%lld.post_attention_layernorm.bias", lp, (long long)l), C, true, &ly->ffn_norm_b);
        // fused QKV, per head [q_h; k_h; v_h] (view(..., H, 3d)): regrouped into Q, K, V
        if (!s) s = tensor(h, NAME("%s.%lld.attention.query_key_value.weight", lp, (long long)l), 3 * H * d, C, true, &t);
        if (!s) s = to_f32(h, t, &w);
        if (!s) s = vec(h, NAME("%s.%lld.attention.query_key_value.bias", lp, (long long)l), 3 * H * d, false, &bias_in);
        if (!s && !(wq = decoder_alloc(m, (size_t)(3 * H * d * C)))) s = GAZE_ERR_NOMEM;
        if (!s && bias_in && !(bq = decoder_alloc(m, (size_t)(3 * H * d)))) s = GAZE_ERR_NOMEM;
        for (int64_t hh = 0; !s && hh < H; hh++)
            for (int part = 0; part < 3; part++)
                for (int64_t i = 0; i < d; i++) {
                    const int64_t src = hh * 3 * d + part * d + i, dst = part * H * d + hh * d + i;
                    memcpy(wq + dst * C, w + src * C, (size_t)C * sizeof(float));
                    if (bq) bq[dst] = bias_in[src];
                }
        if (!s) {
            ly->q = rows_of(wq, 0, H * d, C, bq);
            ly->k = rows_of(wq, H * d, H * d, C, bq);
            ly->v = rows_of(wq, 2 * H * d, H * d, C, bq);
        }
        if (!s) s = mat(h, NAME("%s.%lld.attention.dense.weight", lp, (long long)l), C, H * d, true, &ly->o);
        if (!s) s = vec(h, NAME("%s.%lld.attention.dense.bias", lp, (long long)l), C, false, &ly->o.bias);
        if (!s) s = mat(h, NAME("%s.%lld.mlp.dense_h_to_4h.weight", lp, (long long)l), F, C, true, &ly->up);
        if (!s) s = vec(h, NAME("%s.%lld.mlp.dense_h_to_4h.bias", lp, (long long)l), F, false, &ly->up.bias);
        if (!s) s = mat(h, NAME("%s.%lld.mlp.dense_4h_to_h.weight", lp, (long long)l), C, F, true, &ly->down);
        if (!s) s = vec(h, NAME("%s.%lld.mlp.dense_4h_to_h.bias", lp, (long long)l), C, false, &ly->down.bias);
    }
    snprintf(h->lm_head, sizeof h->lm_head, "embed_out.weight");
    return s;
}

// Llama naming (llama, mistral, qwen2/3, gemma 1-3, phi3): <prefix>layers.N.self_attn.*, mlp.*
static enum gaze_status load_llama_like(struct hf * h, const char * type) {
    struct decoder * m = h->dec;
    const struct decoder_config * c = &m->cfg;
    const int64_t C = c->C, F = c->F, H = c->H, Hkv = c->Hkv, d = c->d;
    const bool phi3 = !strcmp(type, "phi3"), post = c->post_norms;
    const char * p = h->prefix;
    char nm[256];
    enum gaze_status s = mat(h, NAME("%sembed_tokens.weight", p), c->V, C, true, &m->w.tok_embd);
    if (!s) s = vec(h, NAME("%snorm.weight", p), C, true, &m->w.output_norm);
    for (int64_t l = 0; l < c->L && !s; l++) {
        struct decoder_layer * ly = &m->w.layers[l];
        const long long L = (long long)l;
        s = vec(h, NAME("%slayers.%lld.input_layernorm.weight", p, L), C, true, &ly->attn_norm);
        // Gemma 2/3: post_attention_layernorm norms the attention output; the MLP's input norm is
        // pre_feedforward_layernorm
        if (!s && post) {
            s = vec(h, NAME("%slayers.%lld.post_attention_layernorm.weight", p, L), C, true, &ly->post_attn_norm);
            if (!s) s = vec(h, NAME("%slayers.%lld.pre_feedforward_layernorm.weight", p, L), C, true, &ly->ffn_norm);
            if (!s) s = vec(h, NAME("%slayers.%lld.post_feedforward_layernorm.weight", p, L), C, true, &ly->post_ffn_norm);
        } else if (!s) {
            s = vec(h, NAME("%slayers.%lld.post_attention_layernorm.weight", p, L), C, true, &ly->ffn_norm);
        }
        if (!s && c->qk_norm) s = vec(h, NAME("%slayers.%lld.self_attn.q_norm.weight", p, L), d, true, &ly->q_norm);
        if (!s && c->qk_norm) s = vec(h, NAME("%slayers.%lld.self_attn.k_norm.weight", p, L), d, true, &ly->k_norm);
        if (!s && phi3) {   // qkv_proj rows: Q [H·d], K [Hkv·d], V [Hkv·d]; gate_up_proj: gate [F], up [F]
            struct gaze_linear qkv, gu;
            s = mat(h, NAME("%slayers.%lld.self_attn.qkv_proj.weight", p, L), (H + 2 * Hkv) * d, C, true, &qkv);
            if (!s) s = mat(h, NAME("%slayers.%lld.mlp.gate_up_proj.weight", p, L), 2 * F, C, true, &gu);
            if (!s) {
                const size_t qrb = gaze_type_row_bytes(qkv.type, C), grb = gaze_type_row_bytes(gu.type, C);
                ly->q = (struct gaze_linear){ .type = qkv.type, .n_out = H * d, .n_in = C, .weight = qkv.weight };
                ly->k = (struct gaze_linear){ .type = qkv.type, .n_out = Hkv * d, .n_in = C,
                                              .weight = (const char *)qkv.weight + (size_t)(H * d) * qrb };
                ly->v = (struct gaze_linear){ .type = qkv.type, .n_out = Hkv * d, .n_in = C,
                                              .weight = (const char *)qkv.weight + (size_t)((H + Hkv) * d) * qrb };
                ly->gate = (struct gaze_linear){ .type = gu.type, .n_out = F, .n_in = C, .weight = gu.weight };
                ly->up = (struct gaze_linear){ .type = gu.type, .n_out = F, .n_in = C,
                                               .weight = (const char *)gu.weight + (size_t)F * grb };
            }
        } else if (!s) {
            s = mat(h, NAME("%slayers.%lld.self_attn.q_proj.weight", p, L), H * d, C, true, &ly->q);
            if (!s) s = mat(h, NAME("%slayers.%lld.self_attn.k_proj.weight", p, L), Hkv * d, C, true, &ly->k);
            if (!s) s = mat(h, NAME("%slayers.%lld.self_attn.v_proj.weight", p, L), Hkv * d, C, true, &ly->v);
            // biases where the family has them (Qwen2 q/k/v; Llama attention_bias / mlp_bias)
            if (!s) s = vec(h, NAME("%slayers.%lld.self_attn.q_proj.bias", p, L), H * d, false, &ly->q.bias);
            if (!s) s = vec(h, NAME("%slayers.%lld.self_attn.k_proj.bias", p, L), Hkv * d, false, &ly->k.bias);
            if (!s) s = vec(h, NAME("%slayers.%lld.self_attn.v_proj.bias", p, L), Hkv * d, false, &ly->v.bias);
            if (!s) s = mat(h, NAME("%slayers.%lld.mlp.gate_proj.weight", p, L), F, C, true, &ly->gate);
            if (!s) s = mat(h, NAME("%slayers.%lld.mlp.up_proj.weight", p, L), F, C, true, &ly->up);
            if (!s) s = vec(h, NAME("%slayers.%lld.mlp.gate_proj.bias", p, L), F, false, &ly->gate.bias);
            if (!s) s = vec(h, NAME("%slayers.%lld.mlp.up_proj.bias", p, L), F, false, &ly->up.bias);
        }
        if (!s) s = mat(h, NAME("%slayers.%lld.self_attn.o_proj.weight", p, L), C, H * d, true, &ly->o);
        if (!s) s = vec(h, NAME("%slayers.%lld.self_attn.o_proj.bias", p, L), C, false, &ly->o.bias);
        if (!s) s = mat(h, NAME("%slayers.%lld.mlp.down_proj.weight", p, L), C, F, true, &ly->down);
        if (!s) s = vec(h, NAME("%slayers.%lld.mlp.down_proj.bias", p, L), C, false, &ly->down.bias);
    }
    return s;
}

/* ---------------------------------------------------------------------------------------------
 * Files
 * ------------------------------------------------------------------------------------------- */

static enum gaze_status model_type_of(const char * folder, char * path, size_t n, json_t ** cfg, const char ** type) {
    snprintf(path, n, "%s/config.json", folder);
    enum gaze_status s = gaze_json_load_file(cfg, path, 1 << 20, 0);
    if (!s) s = gaze_json_opt_string(*cfg, "model_type", path, "", type);
    return s;
}

bool decoder_hf_is_decoder(const char * folder) {
    char path[4200];
    json_t * cfg = NULL;
    const char * type = "";
    bool dec = false;
    if (!model_type_of(folder, path, sizeof path, &cfg, &type)) dec = *type && strcmp(type, "bert") != 0;
    json_decref(cfg);
    return dec;
}

enum gaze_status decoder_hf_load(struct gaze_model * model, const char * folder) {
    struct decoder * m = calloc(1, sizeof *m);
    struct hf * h = calloc(1, sizeof *h);
    if (!m || !h) { free(m); free(h); return gaze_error(GAZE_ERR_NOMEM, "decoder: out of memory"); }
    h->folder = folder;
    h->dec = m;
    m->file = h;
    m->free_file = hf_close_shards;
    const char * type = "";
    enum gaze_status s = model_type_of(folder, h->cfg_path, sizeof h->cfg_path, &h->cfg, &type);
    int t = N_TYPES;
    for (int i = 0; !s && i < N_TYPES; i++) if (!strcmp(type, k_types[i])) t = i;
    if (!s && t == N_TYPES) s = refuse_type(h->cfg_path, type);
    h->c = h->cfg;
    h->prefix = "model.";
    snprintf(h->lm_head, sizeof h->lm_head, "lm_head.weight");
    if (!s && !strcmp(type, "gemma3")) {   // the multimodal wrapper: its language model's config and weights
        json_t * tc = NULL;
        const char * tt = "";
        s = gaze_json_get_object(h->cfg, "text_config", h->cfg_path, &tc);
        if (!s) s = gaze_json_opt_string(tc, "model_type", "config.json: text_config", "gemma3_text", &tt);
        if (!s && strcmp(tt, "gemma3_text")) s = refuse_type(h->cfg_path, tt);
        h->c = tc;
        h->prefix = "language_model.model.";
        snprintf(h->lm_head, sizeof h->lm_head, "language_model.lm_head.weight");
    }
    if (!s) {
        snprintf(m->arch, sizeof m->arch, "%s", type);
        m->cfg.arch = m->arch;
        m->arch_id = !strcmp(type, "llama") ? GAZE_ARCH_LLAMA : GAZE_ARCH_DECODER;
        s = parse_config(h, type);
    }
    if (!s) s = st_shards_open(&h->set, folder);
    // the vocabulary: rows of the embedding (models pad it beyond the tokenizer's)
    if (!s) {
        const char * emb = !strcmp(type, "gpt2") ? (hf_find(h, "transformer.wte.weight") ? "transformer.wte.weight" : "wte.weight")
                         : !strcmp(type, "gpt_neox") ? "gpt_neox.embed_in.weight" : NULL;
        char nm[256];
        if (!emb) emb = NAME("%sembed_tokens.weight", h->prefix);
        const struct gaze_st_tensor * te = hf_find(h, emb);
        if (!te || te->n_dims != 2 || te->shape[1] != m->cfg.C)
            s = gaze_error(GAZE_ERR_FORMAT, "%s: tensor %s is missing or not [vocab, %lld]", folder, emb, (long long)m->cfg.C);
        else m->cfg.V = te->shape[0];
    }
    if (!s && !(m->w.layers = calloc((size_t)m->cfg.L, sizeof *m->w.layers))) s = gaze_error(GAZE_ERR_NOMEM, "decoder: out of memory");
    if (!s) s = !strcmp(type, "gpt2") ? load_gpt2(h) : !strcmp(type, "gpt_neox") ? load_neox(h) : load_llama_like(h, type);
    // the output: lm_head, or the embedding when tied (tie_word_embeddings, default true but for
    // NeoX; a folder without lm_head is tied whatever it says)
    if (!s) {
        bool tied = strcmp(type, "gpt_neox") != 0;
        s = gaze_json_opt_bool(h->cfg, "tie_word_embeddings", h->cfg_path, tied, &tied);
        if (!s && h->c != h->cfg && json_object_get(h->c, "tie_word_embeddings"))
            s = gaze_json_opt_bool(h->c, "tie_word_embeddings", h->cfg_path, tied, &tied);
        if (!s && (!tied || hf_find(h, h->lm_head)) && hf_find(h, h->lm_head)) s = mat(h, h->lm_head, m->cfg.V, m->cfg.C, true, &m->w.output);
        else if (!s && !tied) s = gaze_error(GAZE_ERR_FORMAT, "%s: tensor %s is missing (tie_word_embeddings is false)", folder, h->lm_head);
        else if (!s) m->w.output = m->w.tok_embd;
    }
    // the model's end-of-sequence ids (an integer or a list), where generation stops
    for (int k = 0; !s && k < 2; k++) {
        const json_t * e = json_object_get(k ? h->cfg : h->c, "eos_token_id");
        if (!e || m->n_stop) continue;
        for (size_t i = 0; i < (json_is_array(e) ? json_array_size(e) : 1) && m->n_stop < 8; i++) {
            const json_t * v = json_is_array(e) ? json_array_get(e, i) : e;
            if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) < m->cfg.V)
                m->stop_ids[m->n_stop++] = (int32_t)json_integer_value(v);
        }
    }
    if (!s && (s = gaze_tokenizer_from_folder(folder, &m->tok))) {   // copy first: formatted into its own buffer
        char why[512];
        snprintf(why, sizeof why, "%s", gaze_last_error());
        s = gaze_error(s, "%s: tokenizer: %s", folder, why);
    }
    json_decref(h->cfg);
    h->cfg = NULL;
    h->c = NULL;
    if (s) { decoder_free(m); return s; }
    return decoder_finish(model, m);
}

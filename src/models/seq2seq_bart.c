// BART and Marian (BartForConditionalGeneration, MarianMTModel) from a Hugging Face folder into
// a struct s2s. They share one layout: post-LN layers with biases, q/k/v/out_proj, fc1/fc2,
// scale_embedding, final_logits_bias. BART: learned positions offset by 2 and
// layernorm_embedding; Marian: static sinusoidal positions (transformers'
// MarianSinusoidalPositionalEmbedding: sin of every frequency in the first half, cos in the
// second, computed in float64), separate decoder embeddings when not shared.
#include "models/seq2seq.h"
#include "formats/json.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

static enum gaze_status act_of(const json_t * cfg, const char * label, enum s2s_act * act) {
    const char * a = NULL;
    enum gaze_status s = gaze_json_opt_string(cfg, "activation_function", label, "gelu", &a);
    if (s) return s;
    if (!strcmp(a, "gelu")) *act = S2S_ACT_GELU_ERF;
    else if (!strcmp(a, "gelu_new") || !strcmp(a, "gelu_pytorch_tanh")) *act = S2S_ACT_GELU_TANH;
    else if (!strcmp(a, "relu")) *act = S2S_ACT_RELU;
    else if (!strcmp(a, "swish") || !strcmp(a, "silu")) *act = S2S_ACT_SILU;
    else
        return gaze_error(GAZE_ERR_UNSUPPORTED, "%s: activation_function \"%s\" is not supported; gaze runs gelu, "
                          "gelu_new, relu, swish", label, a);
    return GAZE_OK;
}

static enum gaze_status attn(struct s2s * m, struct s2s_attn * a, const char * stack, int64_t i, const char * kind) {
    const int64_t C = m->cfg.C, HD = !strcmp(stack, "encoder") ? m->cfg.He * m->cfg.d : m->cfg.Hd * m->cfg.dd;
    char base[200];
    enum gaze_status s;
    const char * names[4] = { "q_proj", "k_proj", "v_proj", "out_proj" };
    struct gaze_linear * ls[4] = { &a->q, &a->k, &a->v, &a->o };
    for (int j = 0; j < 4; j++) {
        snprintf(base, sizeof base, "model.%s.layers.%lld.%s.%s", stack, (long long)i, kind, names[j]);
        if ((s = enc_linear(&m->w, base, j == 3 ? C : HD, j == 3 ? HD : C, true, ls[j]))) return s;
    }
    snprintf(base, sizeof base, "model.%s.layers.%lld.%s_layer_norm", stack, (long long)i, kind);
    return s2s_norm_pair(m, base, true, &a->norm_w, &a->norm_b);
}

static enum gaze_status ffn(struct s2s * m, struct s2s_layer * ly, int64_t F, const char * stack, int64_t i) {
    char base[200];
    enum gaze_status s;
    snprintf(base, sizeof base, "model.%s.layers.%lld.fc1", stack, (long long)i);
    if ((s = enc_linear(&m->w, base, F, m->cfg.C, true, &ly->up))) return s;
    snprintf(base, sizeof base, "model.%s.layers.%lld.fc2", stack, (long long)i);
    if ((s = enc_linear(&m->w, base, m->cfg.C, F, true, &ly->down))) return s;
    snprintf(base, sizeof base, "model.%s.layers.%lld.final_layer_norm", stack, (long long)i);
    return s2s_norm_pair(m, base, true, &ly->ffn_norm_w, &ly->ffn_norm_b);
}


enum gaze_status s2s_load_bart(struct s2s * m, const json_t * cfg, const char * label, bool marian) {
    struct s2s_config * c = &m->cfg;
    enum gaze_status s;
    int64_t V, Vd, C, Le, Ld, He, Hd, Fe, Fd, np, start, eos, feos, pad;
    bool scale, share, tie;
    enum s2s_act act = S2S_ACT_GELU_ERF;
    if ((s = gaze_json_get_int_range(cfg, "vocab_size", label, 1, 1 << 24, &V)) ||
        (s = gaze_json_opt_int(cfg, "decoder_vocab_size", label, V, &Vd)) ||
        (s = gaze_json_get_int_range(cfg, "d_model", label, 1, 1 << 16, &C)) ||
        (s = gaze_json_get_int_range(cfg, "encoder_layers", label, 1, 1024, &Le)) ||
        (s = gaze_json_get_int_range(cfg, "decoder_layers", label, 1, 1024, &Ld)) ||
        (s = gaze_json_get_int_range(cfg, "encoder_attention_heads", label, 1, 1024, &He)) ||
        (s = gaze_json_get_int_range(cfg, "decoder_attention_heads", label, 1, 1024, &Hd)) ||
        (s = gaze_json_get_int_range(cfg, "encoder_ffn_dim", label, 1, 1 << 18, &Fe)) ||
        (s = gaze_json_get_int_range(cfg, "decoder_ffn_dim", label, 1, 1 << 18, &Fd)) ||
        (s = gaze_json_get_int_range(cfg, "max_position_embeddings", label, 1, 1 << 20, &np)) ||
        (s = gaze_json_opt_bool(cfg, "scale_embedding", label, false, &scale)) ||
        (s = gaze_json_opt_bool(cfg, "share_encoder_decoder_embeddings", label, true, &share)) ||
        (s = gaze_json_opt_bool(cfg, "tie_word_embeddings", label, true, &tie)) ||
        (s = gaze_json_opt_int(cfg, "pad_token_id", label, 1, &pad)) ||
        (s = gaze_json_opt_int(cfg, "eos_token_id", label, 2, &eos)) ||
        (s = gaze_json_opt_int(cfg, "decoder_start_token_id", label, marian ? pad : 2, &start)) ||
        (s = gaze_json_opt_int(cfg, "forced_eos_token_id", label, marian ? 0 : 2, &feos)) ||
        (s = act_of(cfg, label, &act)))
        return s;
    if (!marian) Vd = V;
    if (Vd < 1 || Vd > (1 << 24)) return gaze_error(GAZE_ERR_FORMAT, "%s: decoder_vocab_size %lld out of range", label, (long long)Vd);
    if (C % He || C % Hd)
        return gaze_error(GAZE_ERR_FORMAT, "%s: d_model %lld is not a multiple of encoder_attention_heads %lld and "
                          "decoder_attention_heads %lld", label, (long long)C, (long long)He, (long long)Hd);
    if (start < 0 || start >= Vd || eos < 0 || eos >= Vd || feos >= Vd)
        return gaze_error(GAZE_ERR_FORMAT, "%s: decoder_start_token_id %lld / eos_token_id %lld / forced_eos_token_id "
                          "%lld outside the decoder vocabulary (%lld)", label, (long long)start, (long long)eos,
                          (long long)feos, (long long)Vd);
    if (!marian) {
        bool nb;
        if ((s = gaze_json_opt_bool(cfg, "normalize_before", label, false, &nb))) return s;
        if (nb) return gaze_error(GAZE_ERR_UNSUPPORTED, "%s: normalize_before (pre-LN, mBART) is not supported", label);
    }
    *c = (struct s2s_config){ .arch = c->arch, .C = C, .d = C / He, .dd = C / Hd, .V = V, .Vd = Vd, .Le = Le, .He = He, .Fe = Fe,
                              .Ld = Ld, .Hd = Hd, .Fd = Fd, .eps = 1e-5f, .norm = S2S_NORM_LAYER, .pre_ln = false,
                              .act = act, .pos = marian ? S2S_POS_SINUSOIDAL : S2S_POS_LEARNED,
                              .n_pos = marian ? np : np + 2, .pos_offset = marian ? 0 : 2,
                              .embd_scale = scale ? sqrtf((float)C) : 1.0f, .attn_scale = 0.0f, .out_scale = 1.0f,
                              .dec_start = (int32_t)start, .eos = (int32_t)eos, .forced_bos = -1,
                              .forced_eos = (int32_t)feos };
    if (scale) c->embd_scale = (float)sqrt((double)C);   // math.sqrt(d_model), then a float32 multiply
    static const char * const enc_names[] = { "model.shared.weight", "model.encoder.embed_tokens.weight" };
    static const char * const dec_shared[] = { "model.shared.weight", "model.decoder.embed_tokens.weight" };
    static const char * const dec_own[] = { "model.decoder.embed_tokens.weight" };
    if ((s = s2s_embedding(m, enc_names, 2, V, label, "vocab_size", &m->enc.embd))) return s;
    if (marian && !share) s = s2s_embedding(m, dec_own, 1, Vd, label, "decoder_vocab_size", &m->dec.embd);
    else s = s2s_embedding(m, dec_shared, 2, Vd, label, "vocab_size", &m->dec.embd);
    if (s) return s;
    if (marian) {
        // static table [np, C]: column j < C/2 (rounded up) sin(p / 10000^(2j/C)), then cos
        float * t = m->pos_table = gaze_alloc_aligned((size_t)(np * C) * sizeof(float));
        if (!t) return gaze_error(GAZE_ERR_NOMEM, "marian: out of memory");
        const int64_t half = C % 2 ? C / 2 + 1 : C / 2;
        for (int64_t p = 0; p < np; p++)
            for (int64_t j = 0; j < C; j++) {
                const int64_t k = j < half ? 2 * j : 2 * (j - half) + 1;   // column of position_enc
                const double a = (double)p / pow(10000.0, 2.0 * (double)(k / 2) / (double)C);
                t[p * C + j] = (float)(j < half ? sin(a) : cos(a));
            }
        m->enc.pos = m->dec.pos = t;
    } else {
        if ((s = enc_tensor2(&m->w, "model.encoder.embed_positions.weight", np + 2, C, &m->enc.pos)) ||
            (s = enc_tensor2(&m->w, "model.decoder.embed_positions.weight", np + 2, C, &m->dec.pos)) ||
            (s = s2s_norm_pair(m, "model.encoder.layernorm_embedding", true, &m->enc.embd_norm_w, &m->enc.embd_norm_b)) ||
            (s = s2s_norm_pair(m, "model.decoder.layernorm_embedding", true, &m->dec.embd_norm_w, &m->dec.embd_norm_b)))
            return s;
    }
    if (enc_find(&m->w, "final_logits_bias") &&
        (s = enc_tensor2(&m->w, "final_logits_bias", 1, Vd, &m->logits_bias)))
        return s;
    // lm_head first (a tied one packs the embedding): the load's peak holds one mapped copy of
    // the largest matrix at a time, each dropped once packed (s2s_drop_mapped)
    if (!tie || enc_find(&m->w, "lm_head.weight")) s = enc_linear(&m->w, "lm_head", Vd, C, false, &m->lm_head);
    else {
        m->lm_head = (struct gaze_linear){ .type = GAZE_TYPE_F32, .n_out = Vd, .n_in = C, .weight = m->dec.embd };
        s = gaze_linear_prepare(&m->lm_head);
    }
    if (s) return s;
    s2s_drop_mapped(m);
    m->enc.layers = calloc((size_t)Le, sizeof *m->enc.layers);
    m->dec.layers = calloc((size_t)Ld, sizeof *m->dec.layers);
    if (!m->enc.layers || !m->dec.layers) return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", c->arch);
    for (int64_t i = 0; i < Le; i++) {
        if ((s = attn(m, &m->enc.layers[i].self, "encoder", i, "self_attn")) || (s = ffn(m, &m->enc.layers[i], Fe, "encoder", i)))
            return s;
        s2s_drop_mapped(m);
    }
    for (int64_t i = 0; i < Ld; i++) {
        if ((s = attn(m, &m->dec.layers[i].self, "decoder", i, "self_attn")) ||
            (s = attn(m, &m->dec.layers[i].cross, "decoder", i, "encoder_attn")) ||
            (s = ffn(m, &m->dec.layers[i], Fd, "decoder", i)))
            return s;
        s2s_drop_mapped(m);
    }
    return GAZE_OK;
}

// T5 and Flan-T5 (T5ForConditionalGeneration) from a Hugging Face folder into a struct s2s:
// T5LayerNorm (RMS, no mean, no bias), pre-norm blocks, no biases, no attention scaling,
// relative position buckets (layer 0's table of each stack, shared by its layers), ReLU MLP
// (v1.0) or gated GELU (v1.1 / Flan: "gated-gelu", tanh "gelu_new"), lm_head tied (with the
// d_model^-0.5 rescale) or not.
#include "models/seq2seq.h"
#include "formats/json.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

static enum gaze_status t5_act(const json_t * cfg, const char * label, enum s2s_act * act, bool * gated) {
    const char * ff = NULL;
    enum gaze_status s = gaze_json_opt_string(cfg, "feed_forward_proj", label, "relu", &ff);
    if (s) return s;
    // transformers: "gated-X" is a gated unit with act X, "gated-gelu" meaning gelu_new
    *gated = !strncmp(ff, "gated-", 6);
    const char * a = *gated ? ff + 6 : ff;
    if (!strcmp(ff, "gated-gelu")) *act = S2S_ACT_GELU_TANH;
    else if (!strcmp(a, "relu")) *act = S2S_ACT_RELU;
    else if (!strcmp(a, "gelu")) *act = S2S_ACT_GELU_ERF;
    else if (!strcmp(a, "gelu_new")) *act = S2S_ACT_GELU_TANH;
    else if (!strcmp(a, "silu") || !strcmp(a, "swish")) *act = S2S_ACT_SILU;
    else
        return gaze_error(GAZE_ERR_UNSUPPORTED, "%s: feed_forward_proj \"%s\" is not supported; gaze runs relu, gelu, "
                          "gelu_new, silu, each optionally \"gated-\"", label, ff);
    return GAZE_OK;
}

static enum gaze_status lin(struct s2s * m, struct gaze_linear * l, int64_t n_out, int64_t n_in, const char * fmt,
                            int64_t i) {
    char base[256];
    snprintf(base, sizeof base, fmt, (long long)i);
    return enc_linear(&m->w, base, n_out, n_in, false, l);
}

static enum gaze_status attn(struct s2s * m, struct s2s_attn * a, int64_t H, const char * stack, int64_t i, int sub,
                             const char * kind) {
    const int64_t C = m->cfg.C, HD = H * m->cfg.d;   // T5: d = dd = d_kv
    char fmt[160], nb[200];
    enum gaze_status s;
    const char * names[4] = { "q", "k", "v", "o" };
    struct gaze_linear * ls[4] = { &a->q, &a->k, &a->v, &a->o };
    for (int j = 0; j < 4; j++) {
        snprintf(fmt, sizeof fmt, "%s.block.%%lld.layer.%d.%s.%s", stack, sub, kind, names[j]);
        if ((s = lin(m, ls[j], j == 3 ? C : HD, j == 3 ? HD : C, fmt, i))) return s;
    }
    snprintf(nb, sizeof nb, "%s.block.%lld.layer.%d.layer_norm", stack, (long long)i, sub);
    return s2s_norm_pair(m, nb, false, &a->norm_w, &a->norm_b);
}

static enum gaze_status ffn(struct s2s * m, struct s2s_layer * ly, int64_t F, const char * stack, int64_t i, int sub) {
    const int64_t C = m->cfg.C;
    char fmt[160], nb[200];
    enum gaze_status s;
    snprintf(fmt, sizeof fmt, "%s.block.%%lld.layer.%d.DenseReluDense.%s", stack, sub, m->cfg.gated ? "wi_0" : "wi");
    if ((s = lin(m, m->cfg.gated ? &ly->gate : &ly->up, F, C, fmt, i))) return s;
    if (m->cfg.gated) {
        snprintf(fmt, sizeof fmt, "%s.block.%%lld.layer.%d.DenseReluDense.wi_1", stack, sub);
        if ((s = lin(m, &ly->up, F, C, fmt, i))) return s;
    }
    snprintf(fmt, sizeof fmt, "%s.block.%%lld.layer.%d.DenseReluDense.wo", stack, sub);
    if ((s = lin(m, &ly->down, C, F, fmt, i))) return s;
    snprintf(nb, sizeof nb, "%s.block.%lld.layer.%d.layer_norm", stack, (long long)i, sub);
    return s2s_norm_pair(m, nb, false, &ly->ffn_norm_w, &ly->ffn_norm_b);
}


enum gaze_status s2s_load_t5(struct s2s * m, const json_t * cfg, const char * label) {
    struct s2s_config * c = &m->cfg;
    enum gaze_status s;
    int64_t V, C, dkv, F, L, Ld, H, nb, md, start, eos, pad;
    double eps;
    bool tie;
    if ((s = gaze_json_get_int_range(cfg, "vocab_size", label, 1, 1 << 24, &V)) ||
        (s = gaze_json_get_int_range(cfg, "d_model", label, 1, 1 << 16, &C)) ||
        (s = gaze_json_get_int_range(cfg, "d_kv", label, 1, 256, &dkv)) ||
        (s = gaze_json_get_int_range(cfg, "d_ff", label, 1, 1 << 18, &F)) ||
        (s = gaze_json_get_int_range(cfg, "num_layers", label, 1, 1024, &L)) ||
        (s = gaze_json_get_int_range(cfg, "num_heads", label, 1, 1024, &H)) ||
        (s = gaze_json_opt_int(cfg, "num_decoder_layers", label, L, &Ld)) ||
        (s = gaze_json_opt_int(cfg, "relative_attention_num_buckets", label, 32, &nb)) ||
        (s = gaze_json_opt_int(cfg, "relative_attention_max_distance", label, 128, &md)) ||
        (s = gaze_json_opt_number(cfg, "layer_norm_epsilon", label, 1e-6, &eps)) ||
        (s = gaze_json_opt_bool(cfg, "tie_word_embeddings", label, true, &tie)) ||
        (s = gaze_json_opt_int(cfg, "pad_token_id", label, 0, &pad)) ||
        (s = gaze_json_opt_int(cfg, "decoder_start_token_id", label, pad, &start)) ||
        (s = gaze_json_opt_int(cfg, "eos_token_id", label, 1, &eos)) ||
        (s = t5_act(cfg, label, &c->act, &c->gated)))
        return s;
    if (Ld < 1 || Ld > 1024) return gaze_error(GAZE_ERR_FORMAT, "%s: num_decoder_layers %lld out of range 1..1024", label, (long long)Ld);
    // bidirectional buckets halve the count and keep half of those exact: >= 4 leaves one exact
    // bucket; the log buckets divide by log(max_distance / max_exact), which must be > 0
    if (nb < 4 || nb > 4096)
        return gaze_error(GAZE_ERR_FORMAT, "%s: relative_attention_num_buckets %lld out of range 4..4096", label, (long long)nb);
    if (md <= nb / 2 || md > (1 << 24))
        return gaze_error(GAZE_ERR_FORMAT, "%s: relative_attention_max_distance %lld out of range %lld..%d (it must "
                          "exceed relative_attention_num_buckets / 2)", label, (long long)md, (long long)(nb / 2 + 1), 1 << 24);
    if (!(eps > 0 && eps < 1)) return gaze_error(GAZE_ERR_FORMAT, "%s: layer_norm_epsilon %g out of range (0, 1)", label, eps);
    if (start < 0 || start >= V || eos < 0 || eos >= V)
        return gaze_error(GAZE_ERR_FORMAT, "%s: decoder_start_token_id %lld / eos_token_id %lld outside the vocabulary "
                          "(vocab_size %lld)", label, (long long)start, (long long)eos, (long long)V);
    *c = (struct s2s_config){ .arch = c->arch, .C = C, .d = dkv, .dd = dkv, .V = V, .Vd = V, .Le = L, .He = H, .Fe = F, .Ld = Ld,
                              .Hd = H, .Fd = F, .eps = (float)eps, .norm = S2S_NORM_RMS, .pre_ln = true,
                              .act = c->act, .gated = c->gated, .pos = S2S_POS_RELATIVE, .n_buckets = nb,
                              .max_distance = md, .embd_scale = 1.0f, .attn_scale = 1.0f,
                              .out_scale = tie ? (float)pow((double)C, -0.5) : 1.0f, .dec_start = (int32_t)start,
                              .eos = (int32_t)eos, .forced_bos = -1, .forced_eos = -1 };
    static const char * const enc_names[] = { "shared.weight", "encoder.embed_tokens.weight" };
    static const char * const dec_names[] = { "shared.weight", "decoder.embed_tokens.weight" };
    if ((s = s2s_embedding(m, enc_names, 2, V, label, "vocab_size", &m->enc.embd)) ||
        (s = s2s_embedding(m, dec_names, 2, V, label, "vocab_size", &m->dec.embd)))
        return s;
    if ((s = enc_tensor2(&m->w, "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", nb, H, &m->enc.rel)) ||
        (s = enc_tensor2(&m->w, "decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", nb, H, &m->dec.rel)) ||
        (s = s2s_norm_pair(m, "encoder.final_layer_norm", false, &m->enc.final_norm_w, &m->enc.final_norm_b)) ||
        (s = s2s_norm_pair(m, "decoder.final_layer_norm", false, &m->dec.final_norm_w, &m->dec.final_norm_b)))
        return s;
    // lm_head first (a tied one packs the embedding): the load's peak holds one mapped copy of
    // the largest matrix at a time, each dropped once packed (s2s_drop_mapped)
    if (tie) {
        m->lm_head = (struct gaze_linear){ .type = GAZE_TYPE_F32, .n_out = V, .n_in = C, .weight = m->dec.embd };
        s = gaze_linear_prepare(&m->lm_head);
    } else s = enc_linear(&m->w, "lm_head", V, C, false, &m->lm_head);
    if (s) return s;
    s2s_drop_mapped(m);
    m->enc.layers = calloc((size_t)L, sizeof *m->enc.layers);
    m->dec.layers = calloc((size_t)Ld, sizeof *m->dec.layers);
    if (!m->enc.layers || !m->dec.layers) return gaze_error(GAZE_ERR_NOMEM, "t5: out of memory");
    for (int64_t i = 0; i < L; i++) {
        if ((s = attn(m, &m->enc.layers[i].self, H, "encoder", i, 0, "SelfAttention")) ||
            (s = ffn(m, &m->enc.layers[i], F, "encoder", i, 1)))
            return s;
        s2s_drop_mapped(m);
    }
    for (int64_t i = 0; i < Ld; i++) {
        if ((s = attn(m, &m->dec.layers[i].self, H, "decoder", i, 0, "SelfAttention")) ||
            (s = attn(m, &m->dec.layers[i].cross, H, "decoder", i, 1, "EncDecAttention")) ||
            (s = ffn(m, &m->dec.layers[i], F, "decoder", i, 2)))
            return s;
        s2s_drop_mapped(m);
    }
    return GAZE_OK;
}

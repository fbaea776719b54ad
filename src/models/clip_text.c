// CLIP's text tower (CLIPTextTransformer) and the image–text similarity of a CLIPModel:
// token + learned position embeddings, pre-LN encoder layers (encoder.c) under a causal mask,
// final_layer_norm, the state at the end-of-text token pooled (transformers' rule: with the
// legacy eos_token_id 2 the position of the largest id, else the first eos_token_id), then
// text_projection; images go through visual_projection, and the logits are exp(logit_scale)
// times the cosine of the two projections.
// SigLIP's text tower (SiglipTextTransformer) shares the layout: learned positions, the same
// layer names, but no causal mask, the last token pooled (the text is padded to
// max_position_embeddings first, as the model card and the zero-shot pipeline do: SigLIP was
// trained on padded texts) through text_model.head (a biased linear layer), no projections
// (the vision tower's pooled output is its attention-pooling head), and sigmoid logits:
// exp(logit_scale) · cos + logit_bias.
#include "models/clip.h"
#include "formats/json.h"
#include "formats/runfile.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

struct clip_text {
    struct enc_weights w;              // prefix "text_model."; st borrowed from the vision model
    struct gaze_tokenizer * tok;       // NULL: tok_error says why
    char tok_error[512];
    char unusable[4400];               // non-empty: the text tower cannot be run (why)
    int64_t C, L, H, d, F, V, n_pos, P, Cv, eos_id, pad_id;
    bool siglip;                       // SigLIP: no causal mask, last token, head, logit_bias
    float eps;
    enum enc_act act;
    const float * tok_emb;             // [V, C]
    const float * pos_emb;             // [n_pos, C]
    struct enc_layer * layers;         // [L]
    const float * ln_w, * ln_b;        // [C] final_layer_norm
    struct gaze_linear text_proj;      // [P, C], no bias
    struct gaze_linear vis_proj;       // [P, Cv], no bias
    float logit_scale;                 // the parameter (logits scale by its exp)
    float logit_bias;                  // SigLIP (0 for CLIP)
    struct gaze_linear head;           // SigLIP: text_model.head [P, C] with bias
    struct enc_pool pool;
};

void clip_text_free(struct clip_text * ct) {
    if (!ct) return;
    for (int64_t l = 0; ct->layers && l < ct->L; l++) enc_layer_release(&ct->layers[l]);
    free(ct->layers);
    gaze_linear_release(&ct->text_proj);
    gaze_linear_release(&ct->vis_proj);
    gaze_linear_release(&ct->head);
    gaze_tokenizer_free(ct->tok);
    enc_pool_free(&ct->pool);
    for (int64_t i = 0; i < ct->w.n_owned; i++) gaze_free_aligned(ct->w.owned[i]);
    free(ct->w.owned);   // (the file itself belongs to the vision model)
    free(ct);
}

// text_config, with CLIPTextConfig's (SiglipTextConfig's) defaults for the keys save_pretrained
// leaves out.
static enum gaze_status text_config(struct clip_text * ct, const json_t * cfg, const char * path) {
    const json_t * tc = json_object_get(cfg, "text_config");
    if (!json_is_object(tc)) return gaze_error(GAZE_ERR_FORMAT, "%s: text_config missing or not an object", path);
    const char * act = NULL;
    double eps = 0;
    const bool sg = ct->siglip;
    enum gaze_status s = gaze_json_opt_int(tc, "hidden_size", path, sg ? 768 : 512, &ct->C);
    if (!s) s = gaze_json_opt_int(tc, "num_attention_heads", path, sg ? 12 : 8, &ct->H);
    if (!s) s = gaze_json_opt_int(tc, "num_hidden_layers", path, 12, &ct->L);
    if (!s) s = gaze_json_opt_int(tc, "intermediate_size", path, sg ? 3072 : 2048, &ct->F);
    if (!s) s = gaze_json_opt_int(tc, "vocab_size", path, sg ? 32000 : 49408, &ct->V);
    if (!s) s = gaze_json_opt_int(tc, "max_position_embeddings", path, sg ? 64 : 77, &ct->n_pos);
    if (!s) s = gaze_json_opt_int(tc, "eos_token_id", path, sg ? 1 : 49407, &ct->eos_id);
    if (!s) s = gaze_json_opt_int(tc, "pad_token_id", path, 1, &ct->pad_id);
    if (!s) s = gaze_json_opt_number(tc, "layer_norm_eps", path, sg ? 1e-6 : 1e-5, &eps);
    if (!s) s = gaze_json_opt_string(tc, "hidden_act", path, sg ? "gelu_pytorch_tanh" : "quick_gelu", &act);
    // SigLIP: the head maps C to projection_size (absent: C), which must meet the vision width
    if (!s && sg) {
        if (!(s = gaze_json_opt_int(tc, "hidden_size", path, 768, &ct->P)))
            s = gaze_json_opt_int(tc, "projection_size", path, ct->P, &ct->P);
        if (!s && json_is_null(json_object_get(tc, "projection_size"))) ct->P = ct->C;
    } else if (!s) s = gaze_json_opt_int(cfg, "projection_dim", path, 512, &ct->P);
    // (a text head narrower or wider than the vision tower loads, as transformers' SiglipModel
    // does, and its text runs refuse: the towers cannot be compared)
    if (!s && sg && ct->P != ct->Cv)
        snprintf(ct->unusable, sizeof ct->unusable, "%s: SigLIP's text head gives %lld values but the vision tower %lld",
                 path, (long long)ct->P, (long long)ct->Cv);
    if (!s && sg && (ct->pad_id < 0 || ct->pad_id >= ct->V))
        s = gaze_error(GAZE_ERR_FORMAT, "%s: text pad_token_id %lld is outside the vocabulary (%lld)", path,
                       (long long)ct->pad_id, (long long)ct->V);
    if (!s && (ct->C < 1 || ct->C > (1 << 16) || ct->H < 1 || ct->H > 1024 || ct->L < 1 || ct->L > 1024 || ct->F < 1 ||
               ct->F > (1 << 18) || ct->V < 1 || ct->V > (1 << 24) || ct->n_pos < 1 || ct->n_pos > (1 << 16) ||
               ct->P < 1 || ct->P > (1 << 16)))
        s = gaze_error(GAZE_ERR_FORMAT, "%s: text_config sizes (hidden %lld, heads %lld, layers %lld, intermediate %lld, "
                       "vocab %lld, positions %lld) or projection_dim %lld out of range", path, (long long)ct->C,
                       (long long)ct->H, (long long)ct->L, (long long)ct->F, (long long)ct->V, (long long)ct->n_pos,
                       (long long)ct->P);
    if (!s && ct->C % ct->H)
        s = gaze_error(GAZE_ERR_FORMAT, "%s: text hidden_size %lld is not a multiple of num_attention_heads %lld", path,
                       (long long)ct->C, (long long)ct->H);
    if (!s && ct->C / ct->H > 256) s = gaze_error(GAZE_ERR_UNSUPPORTED, "%s: text head size above 256", path);
    if (!s && strcmp(act, "quick_gelu") && strcmp(act, "gelu") && strcmp(act, "gelu_pytorch_tanh"))
        s = gaze_error(GAZE_ERR_UNSUPPORTED, "%s: text hidden_act \"%s\" is not supported (quick_gelu, gelu, gelu_pytorch_tanh)",
                       path, act);
    if (!s && !(eps > 0 && eps < 1)) s = gaze_error(GAZE_ERR_FORMAT, "%s: text layer_norm_eps %g out of range", path, eps);
    if (s) return s;
    ct->act = !strcmp(act, "quick_gelu") ? ENC_QUICK_GELU : !strcmp(act, "gelu_pytorch_tanh") ? ENC_GELU_TANH : ENC_GELU;
    ct->eps = (float)eps;
    ct->d = ct->C / ct->H;
    return GAZE_OK;
}

static enum gaze_status text_weights(struct clip_text * ct) {
    const int64_t C = ct->C;
    enum gaze_status s = enc_tensor2(&ct->w, "embeddings.token_embedding.weight", ct->V, C, &ct->tok_emb);
    if (!s) s = enc_tensor2(&ct->w, "embeddings.position_embedding.weight", ct->n_pos, C, &ct->pos_emb);
    if (!s) s = enc_read_clip_layers(&ct->w, ct->L, C, ct->F, "clip", &ct->layers);
    if (!s) s = enc_tensor2(&ct->w, "final_layer_norm.weight", C, 0, &ct->ln_w);
    if (!s) s = enc_tensor2(&ct->w, "final_layer_norm.bias", C, 0, &ct->ln_b);
    if (!s && ct->siglip) s = enc_linear(&ct->w, "head", ct->P, C, true, &ct->head);
    // the projections, logit_scale (and SigLIP's logit_bias, both [1]) sit outside text_model.
    ct->w.prefix = "";
    if (!s && !ct->siglip) s = enc_linear(&ct->w, "text_projection", ct->P, C, false, &ct->text_proj);
    if (!s && !ct->siglip) s = enc_linear(&ct->w, "visual_projection", ct->P, ct->Cv, false, &ct->vis_proj);
    const float * ls = NULL, * lb = NULL;
    const int64_t one[1] = { 1 };
    if (!s) s = enc_tensor(&ct->w, "logit_scale", ct->siglip ? 1 : 0, ct->siglip ? one : NULL, &ls);
    if (!s && ct->siglip) s = enc_tensor(&ct->w, "logit_bias", 1, one, &lb);
    if (!s) ct->logit_scale = *ls;
    if (!s && lb) ct->logit_bias = *lb;
    ct->w.prefix = "text_model.";
    return s;
}

enum gaze_status clip_text_load(struct clip_text ** out, const char * folder, const json_t * cfg,
                                struct gaze_safetensors * st, int64_t Cv, bool siglip) {
    *out = NULL;
    struct clip_text * ct = calloc(1, sizeof *ct);
    if (!ct) return gaze_error(GAZE_ERR_NOMEM, "clip: out of memory");
    enc_pool_init(&ct->pool);
    ct->siglip = siglip;
    ct->w = (struct enc_weights){ .st = st, .prefix = "text_model.", .arch = siglip ? "siglip" : "clip" };
    ct->Cv = Cv;
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", folder);
    enum gaze_status s = text_config(ct, cfg, path);
    if (!s) s = text_weights(ct);
    if (s) { clip_text_free(ct); return s; }
    if (gaze_tokenizer_from_folder(folder, &ct->tok) != GAZE_OK) {
        snprintf(ct->tok_error, sizeof ct->tok_error, "%s", gaze_last_error());
        ct->tok = NULL;
    }
    *out = ct;
    return GAZE_OK;
}

// Tokens and metadata of a text run.
static enum gaze_status text_header(struct gaze_model * model, const struct clip_text * ct, const char * text,
                                    const struct gaze_encoding * enc, struct gaze_run * run) {
    const int64_t T = enc->n_tokens;
    enum gaze_status s = model_run_set_tokens(ct->w.arch, ct->tok, run, T, enc->ids, enc->offsets);
    if (s) return s;
    run->model = strdup(model->path);
    run->arch = strdup(ct->w.arch);
    run->text = strdup(text);
    run->sequence_ids = malloc((size_t)T);
    if (!run->model || !run->arch || !run->text || !run->sequence_ids) return gaze_error(GAZE_ERR_NOMEM, "clip: out of memory");
    for (int64_t t = 0; t < T; t++) run->sequence_ids[t] = enc->sequence_ids ? enc->sequence_ids[t] : 0;
    run->causal = !ct->siglip;
    run->n_layers = ct->L;
    run->n_heads = run->n_kv_heads = ct->H;
    run->d_head = ct->d;
    run->n_embd = ct->C;
    return GAZE_OK;
}

// transformers' pooling position: argmax of the ids with the legacy eos_token_id 2 (the EOT
// token has the largest id in OpenAI's vocabulary), else the first eos_token_id (none: 0).
// SigLIP: the last token.
static int64_t pool_index(const struct clip_text * ct, const int32_t * ids, int64_t T) {
    if (ct->siglip) return T - 1;
    int64_t at = 0;
    for (int64_t t = 0; t < T; t++) {
        if (ct->eos_id == 2) { if (ids[t] > ids[at]) at = t; }
        else if (ids[t] == ct->eos_id) return t;
    }
    return at;
}

// SigLIP: pads the encoding to n with pad (special tokens, offsets (0, 0)), as padding="max_length".
static enum gaze_status pad_encoding(struct gaze_encoding * e, int64_t n, int32_t pad) {
    int32_t * ids = realloc(e->ids, (size_t)n * sizeof *ids);
    if (ids) e->ids = ids;
    int32_t * ty = e->type_ids ? realloc(e->type_ids, (size_t)n * sizeof *ty) : NULL;
    if (ty) e->type_ids = ty;
    int64_t * off = e->offsets ? realloc(e->offsets, (size_t)n * 2 * sizeof *off) : NULL;
    if (off) e->offsets = off;
    int8_t * sq = e->sequence_ids ? realloc(e->sequence_ids, (size_t)n) : NULL;
    if (sq) e->sequence_ids = sq;
    if (!ids || (e->type_ids && !ty) || (e->offsets && !off) || (e->sequence_ids && !sq))
        return gaze_error(GAZE_ERR_NOMEM, "siglip: out of memory");
    for (int64_t t = e->n_tokens; t < n; t++) {
        e->ids[t] = pad;
        if (ty) ty[t] = 0;
        if (off) off[2 * t] = off[2 * t + 1] = 0;
        if (sq) sq[t] = -1;
    }
    e->n_tokens = e->cap = n;
    return GAZE_OK;
}

enum gaze_status clip_text_run(struct gaze_model * model, const char * text, const char * pair,
                               const struct gaze_run_opts * opts, struct gaze_run * run) {
    const struct clip_text * ct = vit_clip_text(model);
    gaze_run_init(run);
    if (!ct) return gaze_error(GAZE_ERR_INVALID_ARG, "%s: %s is a vision model: give it an image (PNG or JPEG), not text",
                               model->path, model->info.arch_name);
    const char * A = ct->siglip ? "SigLIP" : "CLIP";
    if (ct->unusable[0]) return gaze_error(GAZE_ERR_UNSUPPORTED, "%s", ct->unusable);
    if (!ct->tok)
        return gaze_error(GAZE_ERR_UNSUPPORTED, "%s: %s text tower: no usable tokenizer: %s", model->path, A, ct->tok_error);
    if (pair) return gaze_error(GAZE_ERR_INVALID_ARG, "%s: %s's text tower takes one text, not a pair", model->path, A);
    const int64_t C = ct->C;
    struct gaze_encoding enc = { 0 };
    const struct gaze_tokenizer_encode_opts eo = { 0 };
    enum gaze_status s = gaze_tokenizer_encode(ct->tok, text, strlen(text), &eo, &enc);
    if (s) return s;
    if (ct->siglip && enc.n_tokens < ct->n_pos) s = pad_encoding(&enc, ct->n_pos, (int32_t)ct->pad_id);
    if (s) { gaze_encoding_free(&enc); return s; }
    const int64_t T = enc.n_tokens;
    // transformers indexes the position table with 0..T-1: longer texts fail there too
    if (T > ct->n_pos)
        s = gaze_error(GAZE_ERR_LIMIT, "%s: the text is %lld tokens; %s's text tower takes at most %lld "
                       "(max_position_embeddings)", model->path, (long long)T, A, (long long)ct->n_pos);
    for (int64_t t = 0; !s && t < T; t++)
        if (enc.ids[t] < 0 || enc.ids[t] >= ct->V)
            s = gaze_error(GAZE_ERR_FORMAT, "%s: token id %d is outside the text tower's vocabulary (%lld)", model->path,
                           enc.ids[t], (long long)ct->V);
    if (!s) s = text_header(model, ct, text, &enc, run);
    if (!s) s = gaze_run_set_capture(run, opts->heads, opts->heads ? opts->n_heads : ct->H, NULL, T);
    const struct enc_shape sh = { C, ct->H, ct->d, ct->F, ct->eps, true, ct->w.arch, ct->act, !ct->siglip };
    const size_t need = (size_t)T * C + enc_layer_work_floats(&sh, T);
    if (!s) {
        const int64_t Hc = opts->heads ? opts->n_heads : ct->H;
        const double cap = model_capture_bytes(opts, ct->L, Hc, T, ct->d, C);
        char what[160], a[32], b[32];
        snprintf(what, sizeof what, "%lld tokens: captured arrays %s, work buffers %s", (long long)T,
                 model_format_bytes(cap, a, sizeof a), model_format_bytes((double)need * sizeof(float), b, sizeof b));
        s = model_check_memory(ct->w.arch, opts, cap + (double)need * sizeof(float), what);
    }
    struct enc_work work = { 0 };
    if (!s && !(work = enc_work_take((struct enc_pool *)&ct->pool, need)).p) s = gaze_error(GAZE_ERR_NOMEM, "clip: out of memory");
    float * x = work.p, * rest = x ? x + T * C : NULL;
    for (int64_t t = 0; !s && t < T; t++)
        gaze_add(ct->tok_emb + (int64_t)enc.ids[t] * C, ct->pos_emb + t * C, x + t * C, C);
    for (int64_t l = 0; l < ct->L && !s; l++) s = enc_layer_forward(&sh, &ct->layers[l], l, x, T, rest, opts, run, NULL);
    const int64_t at = s ? 0 : pool_index(ct, enc.ids, T);
    // final_layer_norm of the pooled token only (the other rows feed nothing here)
    if (!s && !(run->embedding = gaze_alloc_aligned((size_t)C * sizeof(float)))) s = gaze_error(GAZE_ERR_NOMEM, "clip: out of memory");
    if (!s && gaze_add_layer_norm(x + at * C, NULL, run->embedding, 1, C, ct->ln_w, ct->ln_b, ct->eps, opts->n_threads))
        s = gaze_error(GAZE_ERR_NUMERIC, "clip: final layernorm overflowed to Inf/NaN");
    if (!s) {
        char buf[32];
        snprintf(buf, sizeof buf, "%lld", (long long)at);
        s = gaze_run_set_extra(run, "gaze.clip.pool_token", buf);
    }
    enc_work_give((struct enc_pool *)&ct->pool, work);
    gaze_encoding_free(&enc);
    if (s) gaze_run_free(run);
    return s;
}

int64_t gaze_clip_dim(const struct gaze_model * model) {
    const struct clip_text * ct = model ? vit_clip_text(model) : NULL;
    return ct ? ct->P : 0;
}

bool gaze_clip_sigmoid(const struct gaze_model * model) {
    const struct clip_text * ct = model ? vit_clip_text(model) : NULL;
    return ct && ct->siglip;
}

// A run's pooled state through the projection of its tower (an image run has a patch grid).
static enum gaze_status project(const struct clip_text * ct, const struct gaze_run * r, float * out) {
    const bool image = r->grid_rows > 0;
    const int64_t C = image ? ct->Cv : ct->C;
    if (!r->embedding || r->n_embd != C || (!image && r->n_layers != ct->L))
        return gaze_error(GAZE_ERR_INVALID_ARG, "clip similarity: a %s run of another model (width %lld, expected %lld)",
                          image ? "image" : "text", (long long)r->n_embd, (long long)C);
    if (ct->siglip && image) {   // the attention-pooling head's output, as it is
        memcpy(out, r->embedding, (size_t)C * sizeof(float));
        return GAZE_OK;
    }
    return gaze_linear_forward(ct->siglip ? &ct->head : image ? &ct->vis_proj : &ct->text_proj, r->embedding, 1, out, 1);
}

static void normalise(float * v, int64_t n) {
    double ss = 0;
    for (int64_t i = 0; i < n; i++) ss += (double)v[i] * v[i];
    const float inv = (float)(1.0 / fmax(sqrt(ss), 1e-30));
    for (int64_t i = 0; i < n; i++) v[i] *= inv;
}

enum gaze_status gaze_clip_similarity(const struct gaze_model * model, const struct gaze_run * image,
                                      const struct gaze_run * const * texts, int64_t n, float * logits,
                                      float * image_embeds, float * text_embeds) {
    const struct clip_text * ct = model ? vit_clip_text(model) : NULL;
    if (!ct) return gaze_error(GAZE_ERR_INVALID_ARG, "clip similarity: the model is not a CLIPModel with a text tower");
    if (!image || !texts || n < 1 || !logits || image->grid_rows < 1)
        return gaze_error(GAZE_ERR_INVALID_ARG, "clip similarity: needs an image run and at least one text run");
    if (ct->unusable[0]) return gaze_error(GAZE_ERR_UNSUPPORTED, "clip similarity: %s", ct->unusable);
    const int64_t P = ct->P;
    float * ie = malloc((size_t)P * 2 * sizeof(float)), * te = ie ? ie + P : NULL;
    if (!ie) return gaze_error(GAZE_ERR_NOMEM, "clip: out of memory");
    enum gaze_status s = project(ct, image, ie);
    if (!s && image_embeds) memcpy(image_embeds, ie, (size_t)P * sizeof(float));
    if (!s) normalise(ie, P);
    const double scale = exp((double)ct->logit_scale);
    for (int64_t j = 0; !s && j < n; j++) {
        if (!texts[j] || texts[j]->grid_rows > 0) { s = gaze_error(GAZE_ERR_INVALID_ARG, "clip similarity: text %lld is not a text run", (long long)j); break; }
        if ((s = project(ct, texts[j], te))) break;
        if (text_embeds) memcpy(text_embeds + j * P, te, (size_t)P * sizeof(float));
        normalise(te, P);
        double dot = 0;
        for (int64_t i = 0; i < P; i++) dot += (double)ie[i] * te[i];
        logits[j] = (float)(scale * dot + (double)ct->logit_bias);
    }
    free(ie);
    return s;
}

// One image forward without capture (head mask or none) and its logits against the n texts.
static enum gaze_status masked_logits(struct gaze_model * model, const struct gaze_image * img, const struct gaze_run_opts * io,
                                      const uint8_t * mask, const struct gaze_run * const * texts, int64_t n, float * logits) {
    struct gaze_run_opts ro = { 0 };
    ro.no_capture = true;
    ro.n_threads = io ? io->n_threads : 0;
    ro.max_memory = io ? io->max_memory : 0;
    ro.image_w = io ? io->image_w : 0;
    ro.image_h = io ? io->image_h : 0;
    ro.head_mask = mask;
    struct gaze_run ir;
    enum gaze_status s = gaze_model_run_image(model, img, NULL, &ro, &ir);
    if (s) return s;
    s = gaze_clip_similarity(model, &ir, texts, n, logits, NULL, NULL);
    gaze_run_free(&ir);
    return s;
}

enum gaze_status gaze_clip_head_drops_n(struct gaze_model * model, const struct gaze_image * img,
                                        const struct gaze_run_opts * image_opts,
                                        const struct gaze_run * const * texts, int64_t n, double * baselines,
                                        double * drops) {
    const struct clip_text * ct = model ? vit_clip_text(model) : NULL;
    if (!ct) return gaze_error(GAZE_ERR_INVALID_ARG, "clip head drops: the model is not a CLIPModel or SiglipModel with a text tower");
    if (!img || !texts || !drops || n < 1) return gaze_error(GAZE_ERR_INVALID_ARG, "clip head drops: NULL argument or no text");
    const int64_t L = model->info.n_layers, H = model->info.n_heads;
    uint8_t * mask = malloc((size_t)(L * H));
    float * l0 = malloc((size_t)n * 2 * sizeof *l0), * lk = l0 ? l0 + n : NULL;
    if (!mask || !l0) { free(mask); free(l0); return gaze_error(GAZE_ERR_NOMEM, "clip: out of memory"); }
    memset(mask, 1, (size_t)(L * H));
    // the logits are computed in float, as gaze_clip_similarity returns them; the drops in double
    enum gaze_status s = masked_logits(model, img, image_opts, NULL, texts, n, l0);
    for (int64_t k = 0; !s && k < L * H; k++) {
        mask[k] = 0;
        s = masked_logits(model, img, image_opts, mask, texts, n, lk);
        mask[k] = 1;
        for (int64_t j = 0; !s && j < n; j++) drops[j * L * H + k] = (double)l0[j] - (double)lk[j];
    }
    for (int64_t j = 0; !s && baselines && j < n; j++) baselines[j] = l0[j];
    free(mask);
    free(l0);
    return s;
}

enum gaze_status gaze_clip_head_drops(struct gaze_model * model, const struct gaze_image * img,
                                      const struct gaze_run_opts * image_opts, const struct gaze_run * text,
                                      double * baseline, double * drops) {
    if (!text) return gaze_error(GAZE_ERR_INVALID_ARG, "clip head drops: NULL argument");
    return gaze_clip_head_drops_n(model, img, image_opts, &text, 1, baseline, drops);
}

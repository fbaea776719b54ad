// Vision transformers from Hugging Face folders (config.json, model.safetensors,
// preprocessor_config.json): ViT, DeiT (with its distillation token), DINOv2 (layer scale,
// bicubic interpolation of the position embeddings; with registers, Darcet et al. 2024: R learned
// tokens after [CLS] that carry no position embedding) and CLIP's vision tower (pre-layernorm,
// quick GELU, post-layernorm of [CLS]). Pre-LN encoder layers from encoder.c;
// the patch embedding is one GEMM over the image cut into patches (im2col of a convolution
// whose stride is its kernel). Tokens are [CLS] ([DIST] | [REG0..]) then the patches in row-major
// order.
#include "models/clip.h"
#include "formats/json.h"
#include "formats/runfile.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

enum vit_kind { VIT_VIT, VIT_DEIT, VIT_DINOV2, VIT_CLIP, VIT_SIGLIP };

struct vit {
    struct enc_weights w;
    enum vit_kind kind;
    const char * arch;                 // "vit", "deit", "dinov2", "dinov2_with_registers", "clip", "siglip"
    enum enc_act act;                  // FFN activation (exact GELU but for CLIP / SigLIP)
    // SigLIP's attention-pooling head (torch MultiheadAttention over the tokens, one probe query)
    bool has_map;
    const float * probe;               // [C]
    struct gaze_linear map_q, map_k, map_v, map_o, map_fc1, map_fc2;   // [C, C] ×4, [F, C], [C, F]
    const float * map_ln_w, * map_ln_b;                                // [C]
    const float * pre_w, * pre_b;      // [C] CLIP's pre_layrnorm (after the embeddings), or NULL
    int64_t C, L, H, d, F, image_size, P, n_special, n_pos, grid0;
    int64_t n_reg;                     // DINOv2 with registers: [REG0..] after [CLS], no position
    bool    pos_aa;                    // interpolate the positions with torch's antialias=True bicubic
    const float * reg;                 // [n_reg, C]
    float   eps;
    struct gaze_linear patch;          // [C, 3·P·P]: the convolution's weight, flattened
    const float * cls, * dist;         // [C]; dist: DeiT only
    const float * pos;                 // [n_pos, C]
    struct enc_layer * layers;         // [L]
    const float * ln_w, * ln_b;        // [C] final layernorm
    bool has_pooler;
    struct gaze_linear pooler;         // [C, C], tanh
    int n_cls_heads;                   // 0, 1 (classifier), 2 (DeiT with teacher: mean of both)
    struct gaze_linear head[2];        // [n_labels, C] ([n_labels, 2C] for DINOv2: CLS ‖ mean patch)
    int64_t n_labels;
    char ** labels;                    // [n_labels] config id2label, or NULL
    struct gaze_image_proc proc;
    struct enc_pool pool;
    struct clip_text * text;           // a whole CLIPModel: its text tower and projections, or NULL
};

static void vit_free(void * p) {
    struct vit * v = p;
    if (!v) return;
    for (int64_t l = 0; v->layers && l < v->L; l++) enc_layer_release(&v->layers[l]);
    gaze_linear_release(&v->patch);
    gaze_linear_release(&v->pooler);
    struct gaze_linear * map[6] = { &v->map_q, &v->map_k, &v->map_v, &v->map_o, &v->map_fc1, &v->map_fc2 };
    for (int i = 0; i < 6; i++) gaze_linear_release(map[i]);
    gaze_linear_release(&v->head[0]);
    gaze_linear_release(&v->head[1]);
    for (int64_t i = 0; v->labels && i < v->n_labels; i++) free(v->labels[i]);
    free(v->labels);
    enc_pool_free(&v->pool);
    clip_text_free(v->text);
    free(v->layers);
    enc_weights_free(&v->w);
    free(v);
}

bool vit_model_type(const char * t) {
    return !strcmp(t, "vit") || !strcmp(t, "deit") || !strcmp(t, "dinov2") || !strcmp(t, "dinov2_with_registers") || !strcmp(t, "clip") ||
           !strcmp(t, "clip_vision_model") || !strcmp(t, "siglip") || !strcmp(t, "siglip_vision_model");
}

// CLIP: the vision tower's fields, from vision_config (model_type "clip") or the top level
// ("clip_vision_model"); keys transformers left out (equal to CLIPVisionConfig's defaults,
// which save_pretrained omits in nested configs) take those defaults.
static enum gaze_status clip_config(struct vit * v, const json_t * cfg, const char * type, const char * path) {
    const json_t * vc = cfg;
    const bool siglip = v->kind == VIT_SIGLIP;
    if (!strcmp(type, "clip") || !strcmp(type, "siglip")) {
        vc = json_object_get(cfg, "vision_config");
        if (!json_is_object(vc)) return gaze_error(GAZE_ERR_FORMAT, "%s: vision_config missing or not an object", path);
    }
    const char * act = NULL;
    double eps = 0;
    int64_t channels = 3;
    enum gaze_status s = gaze_json_opt_int(vc, "hidden_size", path, 768, &v->C);
    if (!s) s = gaze_json_opt_int(vc, "num_attention_heads", path, 12, &v->H);
    if (!s) s = gaze_json_opt_int(vc, "num_hidden_layers", path, 12, &v->L);
    if (!s) s = gaze_json_opt_int(vc, "intermediate_size", path, 3072, &v->F);
    if (!s) s = gaze_json_opt_int(vc, "image_size", path, 224, &v->image_size);
    if (!s) s = gaze_json_opt_int(vc, "patch_size", path, siglip ? 16 : 32, &v->P);
    if (!s) s = gaze_json_opt_int(vc, "num_channels", path, 3, &channels);
    if (!s) s = gaze_json_opt_number(vc, "layer_norm_eps", path, siglip ? 1e-6 : 1e-5, &eps);
    if (!s) s = gaze_json_opt_string(vc, "hidden_act", path, siglip ? "gelu_pytorch_tanh" : "quick_gelu", &act);
    if (!s && (v->C < 1 || v->C > (1 << 16) || v->H < 1 || v->H > 1024 || v->L < 1 || v->L > 1024 || v->F < 1 || v->F > (1 << 18)))
        s = gaze_error(GAZE_ERR_FORMAT, "%s: vision hidden_size %lld, heads %lld, layers %lld or intermediate_size %lld out of range",
                       path, (long long)v->C, (long long)v->H, (long long)v->L, (long long)v->F);
    if (!s && strcmp(act, "quick_gelu") && strcmp(act, "gelu") && strcmp(act, "gelu_pytorch_tanh"))
        s = gaze_error(GAZE_ERR_UNSUPPORTED, "%s: hidden_act \"%s\" is not supported (quick_gelu, gelu, gelu_pytorch_tanh)",
                       path, act);
    if (!s && channels != 3)
        s = gaze_error(GAZE_ERR_UNSUPPORTED, "%s: num_channels %lld is not supported (RGB images: 3)", path, (long long)channels);
    if (!s) v->act = !strcmp(act, "quick_gelu") ? ENC_QUICK_GELU : !strcmp(act, "gelu_pytorch_tanh") ? ENC_GELU_TANH : ENC_GELU;
    v->eps = (float)eps;
    if (!s && !(eps > 0 && eps < 1)) s = gaze_error(GAZE_ERR_FORMAT, "%s: layer_norm_eps %g out of range", path, eps);
    return s;
}

static enum gaze_status vit_config(struct vit * v, const char * folder, json_t ** labels_out) {
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", folder);
    json_t * cfg = NULL;
    enum gaze_status s = gaze_json_load_file(&cfg, path, 1 << 20, 0);
    if (s) return s;
    const char * type = NULL, * act = NULL;
    double eps = 0;
    int64_t channels = 3, mlp_ratio = 4;
    bool qkv_bias = true, swiglu = false;
    s = gaze_json_get_string(cfg, "model_type", path, &type);
    if (!s) {
        v->kind = !strcmp(type, "deit") ? VIT_DEIT : !strncmp(type, "dinov2", 6) ? VIT_DINOV2 : !strncmp(type, "clip", 4) ? VIT_CLIP
                : !strncmp(type, "siglip", 6) ? VIT_SIGLIP : VIT_VIT;
        static const char * const names[] = { "vit", "deit", "dinov2", "clip", "siglip" };
        v->arch = !strcmp(type, "dinov2_with_registers") ? "dinov2_with_registers" : names[v->kind];
        v->w.arch = v->arch;
        v->n_special = v->kind == VIT_DEIT ? 2 : v->kind == VIT_SIGLIP ? 0 : 1;   // SigLIP: patches only
    }
    if (!s && (v->kind == VIT_CLIP || v->kind == VIT_SIGLIP)) {
        s = clip_config(v, cfg, type, path);
        if (!s && v->C % v->H)
            s = gaze_error(GAZE_ERR_FORMAT, "%s: hidden_size %lld is not a multiple of num_attention_heads %lld", path,
                           (long long)v->C, (long long)v->H);
        if (!s && v->C / v->H > 256) s = gaze_error(GAZE_ERR_UNSUPPORTED, "%s: head size above 256", path);
        if (!s && (v->image_size < 1 || v->image_size > 8192 || v->P < 1 || v->P > v->image_size))
            s = gaze_error(GAZE_ERR_FORMAT, "%s: image_size %lld / patch_size %lld out of range", path,
                           (long long)v->image_size, (long long)v->P);
        v->d = s ? 0 : v->C / v->H;
        json_decref(cfg);
        return s;
    }
    if (!s) s = gaze_json_get_int_range(cfg, "hidden_size", path, 1, 1 << 16, &v->C);
    if (!s) s = gaze_json_get_int_range(cfg, "num_attention_heads", path, 1, 1024, &v->H);
    if (!s) s = gaze_json_get_int_range(cfg, "num_hidden_layers", path, 1, 1024, &v->L);
    if (!s && v->kind == VIT_DINOV2) {
        if (!(s = gaze_json_opt_int(cfg, "mlp_ratio", path, 4, &mlp_ratio)) && (mlp_ratio < 1 || mlp_ratio > 64))
            s = gaze_error(GAZE_ERR_FORMAT, "%s: mlp_ratio %lld out of range 1..64", path, (long long)mlp_ratio);
        v->F = v->C * mlp_ratio;
        if (!s) s = gaze_json_opt_bool(cfg, "use_swiglu_ffn", path, false, &swiglu);
        if (!s && swiglu) s = gaze_error(GAZE_ERR_UNSUPPORTED, "%s: use_swiglu_ffn is not supported (DINOv2 giant)", path);
        if (!s && !strcmp(type, "dinov2_with_registers")) {
            s = gaze_json_opt_int(cfg, "num_register_tokens", path, 4, &v->n_reg);
            if (!s && (v->n_reg < 0 || v->n_reg > 64))
                s = gaze_error(GAZE_ERR_FORMAT, "%s: num_register_tokens %lld out of range 0..64", path, (long long)v->n_reg);
            v->n_special = 1 + v->n_reg;
            v->pos_aa = true;   // Dinov2WithRegistersEmbeddings interpolates with antialias=True
        }
    } else if (!s) s = gaze_json_get_int_range(cfg, "intermediate_size", path, 1, 1 << 18, &v->F);
    if (!s) s = gaze_json_opt_int(cfg, "image_size", path, 224, &v->image_size);
    if (!s) s = gaze_json_opt_int(cfg, "patch_size", path, 16, &v->P);
    if (!s) s = gaze_json_opt_int(cfg, "num_channels", path, 3, &channels);
    if (!s) s = gaze_json_opt_number(cfg, "layer_norm_eps", path, v->kind == VIT_DINOV2 ? 1e-6 : 1e-12, &eps);
    if (!s) s = gaze_json_opt_string(cfg, "hidden_act", path, "gelu", &act);
    if (!s) s = gaze_json_opt_bool(cfg, "qkv_bias", path, true, &qkv_bias);
    if (!s && (v->image_size < 1 || v->image_size > 8192 || v->P < 1 || v->P > v->image_size))
        s = gaze_error(GAZE_ERR_FORMAT, "%s: image_size %lld / patch_size %lld out of range", path,
                       (long long)v->image_size, (long long)v->P);
    if (!s && channels != 3)
        s = gaze_error(GAZE_ERR_UNSUPPORTED, "%s: num_channels %lld is not supported (RGB images: 3)", path, (long long)channels);
    if (!s && v->C % v->H)
        s = gaze_error(GAZE_ERR_FORMAT, "%s: hidden_size %lld is not a multiple of num_attention_heads %lld", path,
                       (long long)v->C, (long long)v->H);
    if (!s && v->C / v->H > 256) s = gaze_error(GAZE_ERR_UNSUPPORTED, "%s: head size %lld above 256", path, (long long)(v->C / v->H));
    if (!s && strcmp(act, "gelu") != 0)
        s = gaze_error(GAZE_ERR_UNSUPPORTED, "%s: hidden_act \"%s\" is not supported (only \"gelu\", exact erf)", path, act);
    if (!s && !qkv_bias) s = gaze_error(GAZE_ERR_UNSUPPORTED, "%s: qkv_bias false is not supported", path);
    if (!s && !(eps > 0 && eps < 1)) s = gaze_error(GAZE_ERR_FORMAT, "%s: layer_norm_eps %g out of range", path, eps);
    v->eps = (float)eps;
    v->d = s ? 0 : v->C / v->H;
    const json_t * labels = json_object_get(cfg, "id2label");
    if (!s && json_is_object(labels)) *labels_out = json_incref((json_t *)labels);
    json_decref(cfg);
    return s;
}

// id2label {"0": "tench", ...} -> labels [n_labels] (missing ids: NULL).
static enum gaze_status vit_labels(struct vit * v, json_t * id2label) {
    if (!id2label || v->n_labels < 1) return GAZE_OK;
    if (!(v->labels = calloc((size_t)v->n_labels, sizeof *v->labels))) return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", v->arch);
    const char * k;
    json_t * x;
    json_object_foreach(id2label, k, x) {
        char * end;
        const long long i = strtoll(k, &end, 10);
        if (*end || i < 0 || i >= v->n_labels || !json_is_string(x) || v->labels[i]) continue;
        if (!(v->labels[i] = gaze_json_utf8_sanitize(json_string_value(x), json_string_length(x), NULL)))
            return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", v->arch);
    }
    return GAZE_OK;
}

static bool has(const struct vit * v, const char * name) {
    char full[256];
    snprintf(full, sizeof full, "%s%s", v->w.prefix, name);
    return gaze_safetensors_find(v->w.st, full) != NULL;
}

// CLIP's vision tower: vision_model.* (CLIPModel, CLIPVisionModel[WithProjection]).
static enum gaze_status clip_weights(struct vit * v) {
    v->w.prefix = "vision_model.";
    const bool siglip = v->kind == VIT_SIGLIP;
    const int64_t C = v->C, P = v->P, g = v->image_size / P;
    v->n_pos = v->n_special + g * g;
    v->grid0 = g;
    enum gaze_status s = siglip ? GAZE_OK : enc_tensor2(&v->w, "embeddings.class_embedding", C, 0, &v->cls);
    if (!s) s = enc_tensor2(&v->w, "embeddings.position_embedding.weight", v->n_pos, C, &v->pos);
    if (!s) {
        const int64_t wshape[4] = { C, 3, P, P };
        const float * pw, * pb = NULL;
        s = enc_tensor(&v->w, "embeddings.patch_embedding.weight", 4, wshape, &pw);
        if (!s && siglip) s = enc_tensor2(&v->w, "embeddings.patch_embedding.bias", C, 0, &pb);   // CLIP's has none
        if (!s) {
            v->patch = (struct gaze_linear){ .type = GAZE_TYPE_F32, .n_out = C, .n_in = 3 * P * P, .weight = pw, .bias = pb };
            s = gaze_linear_prepare(&v->patch);
        }
    }
    if (!s && !siglip) s = enc_tensor2(&v->w, "pre_layrnorm.weight", C, 0, &v->pre_w);
    if (!s && !siglip) s = enc_tensor2(&v->w, "pre_layrnorm.bias", C, 0, &v->pre_b);
    if (!s) s = enc_read_clip_layers(&v->w, v->L, C, v->F, "clip", &v->layers);
    // post_layernorm: of the pooled [CLS] only (CLIP), of every token (SigLIP)
    if (!s) s = enc_tensor2(&v->w, "post_layernorm.weight", C, 0, &v->ln_w);
    if (!s) s = enc_tensor2(&v->w, "post_layernorm.bias", C, 0, &v->ln_b);
    if (!s && siglip && has(v, "head.probe")) {   // vision_use_head: the attention-pooling head
        const int64_t one_c[3] = { 1, 1, C }, qkv[2] = { 3 * C, C };
        const float * w3, * b3;
        v->has_map = true;
        s = enc_tensor(&v->w, "head.probe", 3, one_c, &v->probe);
        if (!s) s = enc_tensor(&v->w, "head.attention.in_proj_weight", 2, qkv, &w3);
        if (!s) s = enc_tensor2(&v->w, "head.attention.in_proj_bias", 3 * C, 0, &b3);
        struct gaze_linear * p3[3] = { &v->map_q, &v->map_k, &v->map_v };
        for (int i = 0; i < 3 && !s; i++) {   // torch packs q, k, v row-blocks in one weight
            *p3[i] = (struct gaze_linear){ .type = GAZE_TYPE_F32, .n_out = C, .n_in = C, .weight = w3 + i * C * C, .bias = b3 + i * C };
            s = gaze_linear_prepare(p3[i]);
        }
        if (!s) s = enc_linear(&v->w, "head.attention.out_proj", C, C, true, &v->map_o);
        if (!s) s = enc_tensor2(&v->w, "head.layernorm.weight", C, 0, &v->map_ln_w);
        if (!s) s = enc_tensor2(&v->w, "head.layernorm.bias", C, 0, &v->map_ln_b);
        if (!s) s = enc_linear(&v->w, "head.mlp.fc1", v->F, C, true, &v->map_fc1);
        if (!s) s = enc_linear(&v->w, "head.mlp.fc2", C, v->F, true, &v->map_fc2);
    }
    for (int64_t l = 0; !s && l < v->L; l++) enc_drop_layer_weights(&v->w, &v->layers[l]);
    return s;
}

static enum gaze_status vit_weights(struct vit * v) {
    if (v->kind == VIT_CLIP || v->kind == VIT_SIGLIP) return clip_weights(v);
    static const char * const prefixes[] = { "vit.", "deit.", "dinov2.", "dinov2_with_registers.", "" };
    v->w.prefix = "";
    for (size_t i = 0; i < 4; i++) {
        char name[64];
        snprintf(name, sizeof name, "%sembeddings.cls_token", prefixes[i]);
        if (gaze_safetensors_find(v->w.st, name)) { v->w.prefix = prefixes[i]; break; }
    }
    const int64_t C = v->C, P = v->P;
    const int64_t one_c[3] = { 1, 1, C };
    enum gaze_status s = enc_tensor(&v->w, "embeddings.cls_token", 3, one_c, &v->cls);
    if (!s && v->kind == VIT_DEIT) s = enc_tensor(&v->w, "embeddings.distillation_token", 3, one_c, &v->dist);
    if (!s && v->n_reg > 0) {
        const int64_t rshape[3] = { 1, v->n_reg, C };
        s = enc_tensor(&v->w, "embeddings.register_tokens", 3, rshape, &v->reg);
    }
    const int64_t S_pos = v->n_special - v->n_reg;   // registers carry no position embedding
    // position embeddings: [1, n_special (less the registers) + grid0², C]
    char full[256];
    snprintf(full, sizeof full, "%sembeddings.position_embeddings", v->w.prefix);
    const struct gaze_st_tensor * tp = s ? NULL : gaze_safetensors_find(v->w.st, full);
    if (!s && !tp) s = gaze_error(GAZE_ERR_FORMAT, "%s: tensor %s is missing", gaze_safetensors_path(v->w.st), full);
    if (!s) {
        v->n_pos = tp->n_dims == 3 ? tp->shape[1] : 0;
        const int64_t n = v->n_pos - S_pos;
        v->grid0 = n > 0 ? (int64_t)llround(sqrt((double)n)) : 0;
        const int64_t g = v->image_size / P;
        if (v->grid0 < 1 || v->grid0 * v->grid0 != n || (v->kind != VIT_DINOV2 && v->grid0 != g))
            s = gaze_error(GAZE_ERR_FORMAT, "%s: tensor %s has %lld positions, expected %lld special + a square grid%s",
                           gaze_safetensors_path(v->w.st), full, (long long)v->n_pos, (long long)S_pos,
                           v->kind != VIT_DINOV2 ? " of (image_size / patch_size)² patches" : "");
    }
    const int64_t pshape[3] = { 1, v->n_pos, C };
    if (!s) s = enc_tensor(&v->w, "embeddings.position_embeddings", 3, pshape, &v->pos);
    if (!s) {
        const int64_t wshape[4] = { C, 3, P, P };
        const float * pw, * pb;
        s = enc_tensor(&v->w, "embeddings.patch_embeddings.projection.weight", 4, wshape, &pw);
        if (!s) s = enc_tensor2(&v->w, "embeddings.patch_embeddings.projection.bias", C, 0, &pb);
        if (!s) {
            v->patch = (struct gaze_linear){ .type = GAZE_TYPE_F32, .n_out = C, .n_in = 3 * P * P, .weight = pw, .bias = pb };
            s = gaze_linear_prepare(&v->patch);
        }
    }
    if (!s && !(v->layers = calloc((size_t)v->L, sizeof *v->layers))) s = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", v->arch);
    const bool dino = v->kind == VIT_DINOV2;
    for (int64_t l = 0; l < v->L && !s; l++) {
        struct enc_layer * ly = &v->layers[l];
        char base[160];
#define LIN(suffix, no, ni, field) \
        if (!s) { snprintf(base, sizeof base, "encoder.layer.%lld.%s", (long long)l, suffix); s = enc_linear(&v->w, base, no, ni, true, field); }
#define VEC(suffix, field) \
        if (!s) { snprintf(base, sizeof base, "encoder.layer.%lld.%s", (long long)l, suffix); s = enc_tensor2(&v->w, base, C, 0, field); }
        LIN("attention.attention.query", C, C, &ly->q)
        LIN("attention.attention.key", C, C, &ly->k)
        LIN("attention.attention.value", C, C, &ly->v)
        LIN("attention.output.dense", C, C, &ly->o)
        LIN(dino ? "mlp.fc1" : "intermediate.dense", v->F, C, &ly->ff_in)
        LIN(dino ? "mlp.fc2" : "output.dense", C, v->F, &ly->ff_out)
        VEC(dino ? "norm1.weight" : "layernorm_before.weight", &ly->ln1_w)
        VEC(dino ? "norm1.bias" : "layernorm_before.bias", &ly->ln1_b)
        VEC(dino ? "norm2.weight" : "layernorm_after.weight", &ly->ln2_w)
        VEC(dino ? "norm2.bias" : "layernorm_after.bias", &ly->ln2_b)
        if (dino) {
            VEC("layer_scale1.lambda1", &ly->ls1)
            VEC("layer_scale2.lambda1", &ly->ls2)
        }
#undef LIN
#undef VEC
        if (!s) enc_drop_layer_weights(&v->w, ly);
    }
    if (!s) s = enc_tensor2(&v->w, "layernorm.weight", C, 0, &v->ln_w);
    if (!s) s = enc_tensor2(&v->w, "layernorm.bias", C, 0, &v->ln_b);
    if (!s && has(v, "pooler.dense.weight")) {
        v->has_pooler = true;
        s = enc_linear(&v->w, "pooler.dense", C, C, true, &v->pooler);
    }
    // heads sit outside the prefix (classifier.weight next to vit.embeddings...)
    const char * saved = v->w.prefix;
    v->w.prefix = "";
    const char * heads[2] = { NULL, NULL };
    if (gaze_safetensors_find(v->w.st, "cls_classifier.weight")) { heads[0] = "cls_classifier"; heads[1] = "distillation_classifier"; }
    else if (gaze_safetensors_find(v->w.st, "classifier.weight")) heads[0] = "classifier";
    for (int i = 0; i < 2 && heads[i] && !s; i++) {
        char name[64];
        snprintf(name, sizeof name, "%s.weight", heads[i]);
        const struct gaze_st_tensor * t = gaze_safetensors_find(v->w.st, name);
        const int64_t n_in = dino ? 2 * C : C;
        if (!t || t->n_dims != 2 || t->shape[0] < 1 || t->shape[0] > (1 << 20) || (v->n_labels && t->shape[0] != v->n_labels)) {
            s = gaze_error(GAZE_ERR_FORMAT, "%s: tensor %s: expected [n_labels, %lld]", gaze_safetensors_path(v->w.st), name,
                           (long long)n_in);
            break;
        }
        v->n_labels = t->shape[0];
        s = enc_linear(&v->w, heads[i], v->n_labels, n_in, true, &v->head[i]);
        v->n_cls_heads = i + 1;
    }
    v->w.prefix = saved;
    for (int64_t l = 0; !s && l < v->L; l++) enc_drop_layer_weights(&v->w, &v->layers[l]);
    return s;
}

static enum gaze_status vit_text(struct gaze_model * model, const char * text, const char * pair,
                                 const struct gaze_run_opts * opts, struct gaze_run * run) {
    gaze_run_init(run);
    return gaze_error(GAZE_ERR_INVALID_ARG, "%s: %s is a vision model: give it an image (PNG or JPEG), not text",
                      model->path, model->info.arch_name);
}

static enum gaze_status vit_image(struct gaze_model * model, const struct gaze_image * img, const char * name,
                                  const struct gaze_run_opts * opts, struct gaze_run * run);

enum gaze_status vit_load(struct gaze_model * model, const char * folder) {
    struct vit * v = calloc(1, sizeof *v);
    if (!v) return gaze_error(GAZE_ERR_NOMEM, "vit: out of memory");
    enc_pool_init(&v->pool);
    v->w.arch = "vit";
    json_t * id2label = NULL;
    char path[4096];
    enum gaze_status s = vit_config(v, folder, &id2label);
    if (!s) {
        snprintf(path, sizeof path, "%s/model.safetensors", folder);
        s = gaze_safetensors_open(&v->w.st, path);
    }
    if (!s) s = vit_weights(v);
    if (!s && (v->kind == VIT_CLIP || (v->kind == VIT_SIGLIP && v->has_map)) &&
        gaze_safetensors_find(v->w.st, "text_model.embeddings.token_embedding.weight")) {
        json_t * cfg = NULL;   // a whole CLIPModel / SiglipModel (not the vision model alone): the text tower too
        snprintf(path, sizeof path, "%s/config.json", folder);
        if (!(s = gaze_json_load_file(&cfg, path, 1 << 20, 0)))
            s = clip_text_load(&v->text, folder, cfg, v->w.st, v->C, v->kind == VIT_SIGLIP);
        json_decref(cfg);
    }
    if (!s) s = vit_labels(v, id2label);
    json_decref(id2label);
    if (!s) s = gaze_image_proc_load(&v->proc, folder, v->image_size);
    if (!s && v->kind != VIT_DINOV2 && (v->proc.out_h != v->image_size || v->proc.out_w != v->image_size))
        s = gaze_error(GAZE_ERR_FORMAT, "%s/preprocessor_config.json: the processor makes %lld x %lld images but the "
                       "model takes %lld x %lld (image_size)", folder, (long long)v->proc.out_w, (long long)v->proc.out_h,
                       (long long)v->image_size, (long long)v->image_size);
    if (s) { vit_free(v); return s; }
    model->impl = v;
    model->free_impl = vit_free;
    model->info = (struct gaze_model_info){
        .arch = GAZE_ARCH_VIT, .arch_name = v->arch, .n_vocab = 0, .n_embd = v->C, .n_layers = v->L,
        .n_heads = v->H, .n_kv_heads = v->H, .head_dim = v->d, .n_ff = v->F, .n_ctx = v->n_pos, .causal = false,
        .vision = true, .image_size = v->image_size, .patch_size = v->P, .n_labels = v->n_labels,
    };
    model->run = v->text ? clip_text_run : vit_text;
    model->run_image = vit_image;
    return GAZE_OK;
}

const struct clip_text * vit_clip_text(const struct gaze_model * model) {
    return model->run_image == vit_image ? ((const struct vit *)model->impl)->text : NULL;
}

const char * vit_label(const struct gaze_model * model, int64_t i) {
    const struct vit * v = model->impl;
    return v->labels && i >= 0 && i < v->n_labels ? v->labels[i] : NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Forward pass
 * ------------------------------------------------------------------------------------------- */

// torch's upsample_bicubic2d (align_corners=False, A = -0.75) of the position grid
// [g0, g0, C] to [rows, cols, C], in float as torch computes it on CPU.
static void cubic_coeffs(float t, float w[4]) {
    const float A = -0.75f;
    float x = t + 1.0f;
    w[0] = ((A * x - 5.0f * A) * x + 8.0f * A) * x - 4.0f * A;
    x = t;
    w[1] = ((A + 2.0f) * x - (A + 3.0f)) * x * x + 1.0f;
    x = 1.0f - t;
    w[2] = ((A + 2.0f) * x - (A + 3.0f)) * x * x + 1.0f;
    x = 2.0f - t;
    w[3] = ((A * x - 5.0f * A) * x + 8.0f * A) * x - 4.0f * A;
}

static void interp_pos(const float * src, int64_t g0, int64_t C, int64_t rows, int64_t cols, float * dst) {
    const float sh = (float)g0 / (float)rows, sw = (float)g0 / (float)cols;
    for (int64_t r = 0; r < rows; r++) {
        const float ry = sh * ((float)r + 0.5f) - 0.5f;
        const int64_t iy = (int64_t)floorf(ry);
        float wy[4];
        cubic_coeffs(ry - (float)iy, wy);
        for (int64_t c = 0; c < cols; c++) {
            const float rx = sw * ((float)c + 0.5f) - 0.5f;
            const int64_t ix = (int64_t)floorf(rx);
            float wx[4];
            cubic_coeffs(rx - (float)ix, wx);
            float * o = dst + (r * cols + c) * C;
            for (int64_t ch = 0; ch < C; ch++) {
                float acc = 0;
                for (int a = 0; a < 4; a++) {
                    const int64_t yy = GAZE_MIN(GAZE_MAX(iy - 1 + a, 0), g0 - 1);
                    float row = 0;
                    for (int b = 0; b < 4; b++) {
                        const int64_t xx = GAZE_MIN(GAZE_MAX(ix - 1 + b, 0), g0 - 1);
                        row += src[(yy * g0 + xx) * C + ch] * wx[b];
                    }
                    acc += row * wy[a];
                }
                o[ch] = acc;
            }
        }
    }
}

// torch's interpolate(mode="bicubic", align_corners=False, antialias=True) of the position grid
// [g0, g0, C] to [rows, cols, C] (Dinov2WithRegistersEmbeddings): PIL's separable scheme, the
// cubic with a = -0.5, support 2 widened by the scale when shrinking, taps cut at the borders
// and each row of weights normalised to sum 1; width first, then height, as torch does.
static double cubic_aa(double x) {
    const double a = -0.5;
    x = fabs(x);
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
    if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
    return 0.0;
}

// weights [out, 2·support+2] and the first tap of each output; returns the taps per output
static int64_t aa_weights(int64_t in, int64_t out, int64_t * first, int64_t * count, double * w, int64_t stride) {
    const double scale = (double)in / (double)out, support = 2.0 * (scale >= 1.0 ? scale : 1.0);
    const double inv = scale >= 1.0 ? 1.0 / scale : 1.0;
    for (int64_t i = 0; i < out; i++) {
        const double center = scale * ((double)i + 0.5);
        int64_t lo = (int64_t)(center - support + 0.5), hi = (int64_t)(center + support + 0.5);
        if (lo < 0) lo = 0;
        if (hi > in) hi = in;
        double total = 0;
        for (int64_t j = 0; j < hi - lo; j++) total += (w[i * stride + j] = cubic_aa(((double)(j + lo) - center + 0.5) * inv));
        for (int64_t j = 0; j < hi - lo; j++) w[i * stride + j] = total != 0 ? w[i * stride + j] / total : 0;
        first[i] = lo;
        count[i] = hi - lo;
    }
    return stride;
}

static void interp_pos_aa(const float * src, int64_t g0, int64_t C, int64_t rows, int64_t cols, float * dst) {
    // taps per output: at most 2·support + 1 with support = 2·max(1, g0 / out)
    const int64_t sw = 4 * (g0 / GAZE_MIN(rows, cols) + 1) + 2;
    int64_t * fx = malloc((size_t)(cols + rows) * 2 * sizeof *fx), * nx = fx ? fx + cols : NULL, * fy = nx ? nx + cols : NULL,
            * ny = fy ? fy + rows : NULL;
    double * wx = calloc((size_t)((cols + rows) * sw), sizeof *wx), * wy = wx ? wx + cols * sw : NULL;
    double * tmp = malloc((size_t)(g0 * cols * C) * sizeof *tmp);   // [g0 rows, cols, C] after the width pass
    if (!fx || !wx || !tmp) {   // (tiny: the grid of positions) fall back to no antialias rather than fail
        free(fx); free(wx); free(tmp);
        interp_pos(src, g0, C, rows, cols, dst);
        return;
    }
    aa_weights(g0, cols, fx, nx, wx, sw);
    aa_weights(g0, rows, fy, ny, wy, sw);
    for (int64_t y = 0; y < g0; y++)
        for (int64_t c = 0; c < cols; c++)
            for (int64_t ch = 0; ch < C; ch++) {
                double acc = 0;
                for (int64_t j = 0; j < nx[c]; j++) acc += (double)src[(y * g0 + fx[c] + j) * C + ch] * wx[c * sw + j];
                tmp[(y * cols + c) * C + ch] = (double)(float)acc;
            }
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++)
            for (int64_t ch = 0; ch < C; ch++) {
                double acc = 0;
                for (int64_t j = 0; j < ny[r]; j++) acc += tmp[((fy[r] + j) * cols + c) * C + ch] * wy[r * sw + j];
                dst[(r * cols + c) * C + ch] = (float)acc;
            }
    free(fx);
    free(wx);
    free(tmp);
}

// Tokens, metadata and the stored image of the run.
static enum gaze_status vit_run_header(struct gaze_model * model, const struct vit * v, const char * name,
                                       int64_t rows, int64_t cols, const struct gaze_image * shown,
                                       struct gaze_run * run) {
    const int64_t S = v->n_special, T = S + rows * cols;
    char ** toks = calloc((size_t)T, sizeof *toks);
    int32_t * ids = malloc((size_t)T * sizeof *ids);
    enum gaze_status s = GAZE_OK;
    if (!toks || !ids) s = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", v->arch);
    for (int64_t t = 0; !s && t < T; t++) {
        char buf[48];
        if (t > 0 && t < S && v->n_reg) snprintf(buf, sizeof buf, "[REG%lld]", (long long)(t - 1));
        else if (t < S) snprintf(buf, sizeof buf, t == 0 ? "[CLS]" : "[DIST]");
        else snprintf(buf, sizeof buf, "(%lld,%lld)", (long long)((t - S) / cols), (long long)((t - S) % cols));
        if (!(toks[t] = strdup(buf))) s = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", v->arch);
        ids[t] = (int32_t)t;   // no vocabulary: a token's id is its position
    }
    if (!s) s = gaze_run_set_tokens(run, T, (const char * const *)toks, NULL, ids, NULL);
    for (int64_t t = 0; toks && t < T; t++) free(toks[t]);
    free(toks);
    free(ids);
    if (s) return s;
    run->model = strdup(model->path);
    run->arch = strdup(v->arch);
    run->sequence_ids = malloc((size_t)T);
    run->patch_rc = malloc((size_t)T * 2 * sizeof *run->patch_rc);
    if (!run->model || !run->arch || !run->sequence_ids || !run->patch_rc)
        return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", v->arch);
    for (int64_t t = 0; t < T; t++) {
        run->sequence_ids[t] = t < S ? -1 : 0;   // [CLS], [DIST] and registers are special tokens
        run->patch_rc[2 * t] = t < S ? -1 : (int32_t)((t - S) / cols);
        run->patch_rc[2 * t + 1] = t < S ? -1 : (int32_t)((t - S) % cols);
    }
    run->causal = false;
    run->n_layers = v->L;
    run->n_heads = run->n_kv_heads = v->H;
    run->d_head = v->d;
    run->n_embd = v->C;
    run->grid_rows = rows;
    run->grid_cols = cols;
    run->patch_size = v->P;
    // the image the model saw, cut to the patch grid, at most 224 a side (figures draw on it)
    const int64_t gh = rows * v->P, gw = cols * v->P;
    struct gaze_image grid = { gw, gh, malloc((size_t)(gh * gw * 3)) };
    if (!grid.rgb) return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", v->arch);
    for (int64_t y = 0; y < gh; y++) memcpy(grid.rgb + y * gw * 3, shown->rgb + y * shown->width * 3, (size_t)(gw * 3));
    const double f = fmin(1.0, 224.0 / (double)GAZE_MAX(gh, gw));
    if (f < 1.0) {
        struct gaze_image small;
        s = gaze_image_resize(&grid, GAZE_MAX(1, (int64_t)llround(gw * f)), GAZE_MAX(1, (int64_t)llround(gh * f)),
                              GAZE_RESAMPLE_BOX, &small);
        gaze_image_free(&grid);
        if (s) return s;
        grid = small;
    }
    run->image = grid.rgb;
    run->image_h = grid.height;
    run->image_w = grid.width;
    if (name) {
        char * safe = gaze_json_utf8_sanitize(name, strlen(name), NULL);
        if (!safe) return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", v->arch);
        s = gaze_run_set_extra(run, "gaze.image.source", safe);
        free(safe);
    }
    return s;
}

// SigLIP's attention pooling: the probe attends over the tokens x [T, C] (torch's
// MultiheadAttention: per head softmax(q·kᵀ/√d)·v, then out_proj), then h + MLP(LN(h)).
// work: at least T·2C + 4C + F floats.
static enum gaze_status siglip_pool(const struct vit * v, const float * x, int64_t T, float * work, float * out, int nt) {
    const int64_t C = v->C, H = v->H, d = v->d;
    float * k = work, * val = k + T * C, * q = val + T * C, * ctx = q + C, * h = ctx + C, * y = h + C, * ff = y + C;
    enum gaze_status s = gaze_linear_forward(&v->map_q, v->probe, 1, q, nt);
    if (!s) s = gaze_linear_forward(&v->map_k, x, T, k, nt);
    if (!s) s = gaze_linear_forward(&v->map_v, x, T, val, nt);
    if (s) return s;
    const double scale = 1.0 / sqrt((double)d);
    for (int64_t hh = 0; hh < H; hh++) {
        double m = -INFINITY, sum = 0;
        for (int64_t t = 0; t < T; t++) {
            double dot = 0;
            for (int64_t c = 0; c < d; c++) dot += (double)q[hh * d + c] * k[t * C + hh * d + c];
            m = fmax(m, dot * scale);
        }
        for (int64_t c = 0; c < d; c++) ctx[hh * d + c] = 0;
        double acc[256] = { 0 };
        for (int64_t t = 0; t < T; t++) {
            double dot = 0;
            for (int64_t c = 0; c < d; c++) dot += (double)q[hh * d + c] * k[t * C + hh * d + c];
            const double p = exp(dot * scale - m);
            sum += p;
            for (int64_t c = 0; c < d; c++) acc[c] += p * val[t * C + hh * d + c];
        }
        for (int64_t c = 0; c < d; c++) ctx[hh * d + c] = (float)(acc[c] / sum);
    }
    if ((s = gaze_linear_forward(&v->map_o, ctx, 1, h, nt))) return s;
    gaze_layer_norm(h, y, 1, C, v->map_ln_w, v->map_ln_b, v->eps);
    if ((s = gaze_linear_forward(&v->map_fc1, y, 1, ff, nt))) return s;
    enc_activate(v->act, ff, v->F);
    if ((s = gaze_linear_forward(&v->map_fc2, ff, 1, y, nt))) return s;
    for (int64_t c = 0; c < C; c++) out[c] = h[c] + y[c];
    return GAZE_OK;
}

static enum gaze_status vit_image(struct gaze_model * model, const struct gaze_image * img, const char * name,
                                  const struct gaze_run_opts * opts, struct gaze_run * run) {
    struct vit * v = model->impl;
    const int64_t C = v->C, P = v->P, S = v->n_special;
    gaze_run_init(run);
    float * pv = NULL;
    int64_t h = 0, w = 0;
    struct gaze_image shown = { 0 };
    // interpolate_pos_encoding: the image resized to the asked size, the position grid to its patches
    const bool resized = opts->image_w > 0 || opts->image_h > 0;
    struct gaze_image_proc proc = v->proc;
    if (resized) {
        if (v->kind == VIT_SIGLIP)
            return gaze_error(GAZE_ERR_UNSUPPORTED, "%s: another input size is not supported for SigLIP", v->arch);
        if (opts->image_w < P || opts->image_h < P || opts->image_w > 4096 || opts->image_h > 4096 ||
            opts->image_w % P || opts->image_h % P)
            return gaze_error(GAZE_ERR_INVALID_ARG, "%s: image size %lld x %lld: each side must be a multiple of the "
                              "patch size %lld, at most 4096", v->arch, (long long)opts->image_w, (long long)opts->image_h,
                              (long long)P);
        proc.do_resize = true;
        proc.size_w = proc.out_w = opts->image_w;
        proc.size_h = proc.out_h = opts->image_h;
        proc.shortest_edge = 0;
        proc.do_center_crop = false;
    }
    enum gaze_status s = gaze_image_preprocess(&proc, img, &pv, &h, &w, &shown);
    if (s) return s;
    const int64_t rows = h / P, cols = w / P, N = rows * cols, T = S + N;
    if (rows < 1 || cols < 1) s = gaze_error(GAZE_ERR_INVALID_ARG, "%s: a %lld x %lld input holds no %lld-pixel patch",
                                             v->arch, (long long)w, (long long)h, (long long)P);
    if (!s && v->kind != VIT_DINOV2 && !resized && (h != v->image_size || w != v->image_size))
        s = gaze_error(GAZE_ERR_INVALID_ARG, "%s: input %lld x %lld does not match the model's image_size %lld",
                       v->arch, (long long)w, (long long)h, (long long)v->image_size);
    if (!s) s = vit_run_header(model, v, name, rows, cols, &shown, run);
    gaze_image_free(&shown);
    if (!s) s = gaze_run_set_capture(run, opts->heads, opts->heads ? opts->n_heads : v->H, NULL, T);

    const struct enc_shape sh = { C, v->H, v->d, v->F, v->eps, true, v->arch, v->act, false };
    const bool interp = (v->kind == VIT_DINOV2 || resized) && (rows != v->grid0 || cols != v->grid0);
    // x [T, C], layer work, im2col [N, 3·P·P], interpolated positions [N, C]
    const size_t layer_work = enc_layer_work_floats(&sh, T), cols_f = (size_t)N * 3 * P * P;
    const size_t pool_f = v->has_map ? (size_t)(T * 2 * C + 4 * C + v->F) : (size_t)(2 * C);
    const size_t need = (size_t)T * C + GAZE_MAX(GAZE_MAX(layer_work, cols_f + (interp ? (size_t)N * C : 0)), pool_f);
    if (!s) {
        const int64_t Hc = opts->heads ? opts->n_heads : v->H;
        const double cap = model_capture_bytes(opts, v->L, Hc, T, v->d, C), work_b = (double)need * sizeof(float);
        char what[160], x[32], y[32];
        snprintf(what, sizeof what, "%lld tokens: captured arrays %s, work buffers %s", (long long)T,
                 model_format_bytes(cap, x, sizeof x), model_format_bytes(work_b, y, sizeof y));
        s = model_check_memory(v->arch, opts, cap + work_b, what);
    }
    struct enc_work work = { 0 };
    if (!s && !(work = enc_work_take(&v->pool, need)).p) s = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", v->arch);
    float * x = work.p, * rest = x ? x + T * C : NULL;

    if (!s) {
        // im2col: patch n = (r, c) -> [channel, ky, kx], the order of the conv weight [C, 3, P, P]
        float * col = rest;
        for (int64_t r = 0; r < rows; r++)
            for (int64_t c = 0; c < cols; c++) {
                float * o = col + (r * cols + c) * 3 * P * P;
                for (int64_t ch = 0; ch < 3; ch++)
                    for (int64_t ky = 0; ky < P; ky++)
                        memcpy(o + (ch * P + ky) * P, pv + ch * h * w + (r * P + ky) * w + c * P, (size_t)P * sizeof(float));
            }
        s = gaze_linear_forward(&v->patch, col, N, x + S * C, opts->n_threads);
    }
    if (!s) {
        const int64_t S_pos = S - v->n_reg;   // registers have no position embedding
        const float * pos_patch = v->pos + S_pos * C;
        if (interp) {
            float * ip = rest + cols_f;
            if (v->pos_aa) interp_pos_aa(pos_patch, v->grid0, C, rows, cols, ip);
            else interp_pos(pos_patch, v->grid0, C, rows, cols, ip);
            pos_patch = ip;
        }
        for (int64_t c = 0; S > 0 && c < C; c++) {
            x[c] = v->cls[c] + v->pos[c];
            if (S > 1 && !v->n_reg) x[C + c] = v->dist[c] + v->pos[C + c];
        }
        if (v->n_reg) memcpy(x + C, v->reg, (size_t)(v->n_reg * C) * sizeof(float));
        for (int64_t n = 0; n < N; n++)
            for (int64_t c = 0; c < C; c++) x[(S + n) * C + c] += pos_patch[n * C + c];
    }
    free(pv);
    if (!s && v->pre_w && gaze_add_layer_norm(x, NULL, x, T, C, v->pre_w, v->pre_b, v->eps, opts->n_threads))
        s = gaze_error(GAZE_ERR_NUMERIC, "%s: embeddings overflowed to Inf/NaN", v->arch);
    for (int64_t l = 0; l < v->L && !s; l++) s = enc_layer_forward(&sh, &v->layers[l], l, x, T, rest, opts, run, NULL);
    // the final layernorm: of every token (ViT, DeiT, DINOv2), of [CLS] only (CLIP's post_layernorm)
    if (!s && gaze_add_layer_norm(x, NULL, x, v->kind == VIT_CLIP ? 1 : T, C, v->ln_w, v->ln_b, v->eps, opts->n_threads))
        s = gaze_error(GAZE_ERR_NUMERIC, "%s: final layernorm overflowed to Inf/NaN", v->arch);

    // embedding: the pooler's output where the model has one, else the final [CLS] state
    // (SigLIP without its head: the mean of the patch tokens)
    if (!s && !(run->embedding = gaze_alloc_aligned((size_t)C * sizeof(float)))) s = GAZE_ERR_NOMEM;
    if (!s) {
        if (v->has_map) s = siglip_pool(v, x, T, rest, run->embedding, opts->n_threads);
        else if (S == 0) gaze_mean_pool(x, NULL, T, C, run->embedding);
        else if (v->has_pooler) {
            s = gaze_linear_forward(&v->pooler, x, 1, run->embedding, opts->n_threads);
            for (int64_t c = 0; !s && c < C; c++) run->embedding[c] = tanhf(run->embedding[c]);
        } else memcpy(run->embedding, x, (size_t)C * sizeof(float));
    }
    if (!s && v->n_cls_heads) {
        const int64_t K = v->n_labels;
        run->logits = malloc((size_t)K * 2 * sizeof(float));
        if (!run->logits) s = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", v->arch);
        else if (v->kind == VIT_DINOV2) {   // classifier over [CLS ‖ mean of the patch tokens]
            float * in = rest;
            memcpy(in, x, (size_t)C * sizeof(float));
            for (int64_t c = 0; c < C; c++) {
                float acc = 0;
                for (int64_t n = 0; n < N; n++) acc += x[(S + n) * C + c];
                in[C + c] = acc / (float)N;
            }
            s = gaze_linear_forward(&v->head[0], in, 1, run->logits, opts->n_threads);
        } else {
            s = gaze_linear_forward(&v->head[0], x, 1, run->logits, opts->n_threads);
            if (!s && v->n_cls_heads == 2) {   // DeiT with teacher: mean of the [CLS] and [DIST] heads
                s = gaze_linear_forward(&v->head[1], x + C, 1, run->logits + K, opts->n_threads);
                for (int64_t k = 0; !s && k < K; k++) run->logits[k] = (run->logits[k] + run->logits[K + k]) / 2;
            }
        }
        run->n_logits = K;
    }
    enc_work_give(&v->pool, work);
    if (s) {
        if (s == GAZE_ERR_NOMEM && !*gaze_last_error()) gaze_error(s, "%s: out of memory", v->arch);
        gaze_run_free(run);
    }
    return s;
}

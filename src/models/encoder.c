// The transformer encoder shared by BERT and its kin (post-LN) and the vision transformers
// (pre-LN, with DINOv2's layer scale): checked weight reading, the layer's forward pass with
// capture, the attribution and knockout hooks, and the pool of run workspaces.
#include "models/encoder.h"
#include "formats/runfile.h"
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---------------------------------------------------------------------------------------------
 * Weights
 * ------------------------------------------------------------------------------------------- */

void enc_weights_free(struct enc_weights * w) {
    for (int64_t i = 0; i < w->n_owned; i++) gaze_free_aligned(w->owned[i]);
    free(w->owned);
    gaze_safetensors_free(w->st);
    if (w->set) { st_shards_close(w->set); free(w->set); w->set = NULL; }
    memset(w, 0, sizeof *w);
}

const struct gaze_st_tensor * enc_find(const struct enc_weights * w, const char * full) {
    return w->set ? st_shards_find(w->set, full) : gaze_safetensors_find(w->st, full);
}

const char * enc_path(const struct enc_weights * w) { return w->set ? w->set->label : gaze_safetensors_path(w->st); }

static void shape_str(char * buf, size_t n, int n_dims, const int64_t * shape) {
    snprintf(buf, n, "[");
    for (int i = 0; i < n_dims; i++)
        snprintf(buf + strlen(buf), n - strlen(buf), "%s%lld", i ? ", " : "", (long long)shape[i]);
    snprintf(buf + strlen(buf), n - strlen(buf), "]");
}

enum gaze_status enc_tensor(struct enc_weights * w, const char * name, int n_dims, const int64_t * shape,
                            const float ** out) {
    char full[256];
    snprintf(full, sizeof full, "%s%s", w->prefix, name);
    const struct gaze_st_tensor * t = enc_find(w, full);
    if (!t) return gaze_error(GAZE_ERR_FORMAT, "%s: tensor %s is missing", enc_path(w), full);
    bool ok = t->n_dims == n_dims;
    for (int i = 0; ok && i < n_dims; i++) ok = t->shape[i] == shape[i];
    if (!ok) {
        char got[32 * GAZE_ST_MAX_DIMS], want[32 * GAZE_ST_MAX_DIMS];
        shape_str(got, sizeof got, t->n_dims, t->shape);
        shape_str(want, sizeof want, n_dims, shape);
        return gaze_error(GAZE_ERR_FORMAT, "%s: tensor %s has shape %s, expected %s",
                          enc_path(w), full, got, want);
    }
    float * owned = NULL;
    enum gaze_status s = gaze_st_tensor_as_f32(t, out, &owned);
    if (s) {   // the converter's message names the tensor; add the file
        char msg[512];
        snprintf(msg, sizeof msg, "%s", gaze_last_error());
        return gaze_error(s, "%s: %s", enc_path(w), msg);
    }
    if (!owned && n_dims == 1) {
        // vectors (biases, norms) get their own copy: runs then read no page of the file near
        // the linear weights, whose pages enc_drop_layer_weights dropped (a read there would
        // map back up to a whole huge page around it)
        if (!(owned = gaze_alloc_aligned((size_t)shape[0] * sizeof(float))))
            return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", w->arch);
        memcpy(owned, *out, (size_t)shape[0] * sizeof(float));
        *out = owned;
    }
    if (owned) {
        float ** grown = realloc(w->owned, (size_t)(w->n_owned + 1) * sizeof *grown);
        if (!grown) { gaze_free_aligned(owned); return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", w->arch); }
        w->owned = grown;
        w->owned[w->n_owned++] = owned;
    }
    // a NaN or Inf weight would turn every run into silent NaN: refuse it here
    const float * f = *out;
    bool finite = true;
    for (int64_t i = 0; i < t->n_elements; i++) finite &= isfinite(f[i]);
    if (!finite)
        for (int64_t i = 0; i < t->n_elements; i++)
            if (!isfinite(f[i]))
                return gaze_error(GAZE_ERR_NUMERIC, "%s: tensor %s holds a non-finite value (%g) at element %lld",
                                  enc_path(w), full, (double)f[i], (long long)i);
    return GAZE_OK;
}

enum gaze_status enc_linear(struct enc_weights * w, const char * base, int64_t n_out, int64_t n_in, bool need_bias,
                            struct gaze_linear * lin) {
    char name[256], full[300];
    const float * wt, * bias = NULL;
    enum gaze_status s;
    snprintf(name, sizeof name, "%s.weight", base);
    if ((s = enc_tensor2(w, name, n_out, n_in, &wt))) return s;
    snprintf(name, sizeof name, "%s.bias", base);
    snprintf(full, sizeof full, "%s%s", w->prefix, name);
    if ((need_bias || enc_find(w, full)) && (s = enc_tensor2(w, name, n_out, 0, &bias))) return s;
    *lin = (struct gaze_linear){ .type = GAZE_TYPE_F32, .n_out = n_out, .n_in = n_in, .weight = wt, .bias = bias };
    return gaze_linear_prepare(lin);   // packed once for the GEMM: no per-run packing
}

void enc_layer_release(struct enc_layer * ly) {
    struct gaze_linear * lins[6] = { &ly->q, &ly->k, &ly->v, &ly->o, &ly->ff_in, &ly->ff_out };
    for (int i = 0; i < 6; i++) gaze_linear_release(lins[i]);
}

// Drops this process's mapping of the pages that lie wholly inside a mapped weight.
static void drop_pages(const void * p, size_t bytes) {
    const long page = sysconf(_SC_PAGESIZE);
    if (page <= 0) return;
    const uintptr_t w = (uintptr_t)p, pg = (uintptr_t)page;
    const uintptr_t lo = (w + pg - 1) & ~(pg - 1), hi = (w + bytes) & ~(pg - 1);
    if (hi > lo) (void)madvise((void *)lo, hi - lo, MADV_DONTNEED);   // advisory: failure is harmless
}

// The packed copies replace the file's pages of the linear weights in memory: those pages are
// dropped from this process after each layer and again once every tensor has been read (a
// later read of a neighbour can map them back), and are re-read from the file only if another
// ISA is forced later. So each weight is resident once, not twice (peak RSS included).
// Converted (owned) weights are kept as they are.
void enc_drop_layer_weights(const struct enc_weights * w, const struct enc_layer * ly) {
    const struct gaze_linear * lins[6] = { &ly->q, &ly->k, &ly->v, &ly->o, &ly->ff_in, &ly->ff_out };
    for (int i = 0; i < 6; i++) {
        bool owned = false;
        for (int64_t j = 0; j < w->n_owned; j++) owned |= (const void *)w->owned[j] == lins[i]->weight;
        if (!owned && lins[i]->prepared)
            drop_pages(lins[i]->weight, (size_t)(lins[i]->n_out * lins[i]->n_in) * sizeof(float));
    }
}

enum gaze_status enc_read_clip_layers(struct enc_weights * w, int64_t L, int64_t C, int64_t F, const char * arch,
                                      struct enc_layer ** out) {
    struct enc_layer * layers = calloc((size_t)L, sizeof *layers);
    if (!layers) return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", arch);
    *out = layers;
    enum gaze_status s = GAZE_OK;
    static const char * const lin[6] = { "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj",
                                         "mlp.fc1", "mlp.fc2" };
    static const char * const vec[4] = { "layer_norm1.weight", "layer_norm1.bias", "layer_norm2.weight", "layer_norm2.bias" };
    for (int64_t l = 0; l < L && !s; l++) {
        struct enc_layer * ly = &layers[l];
        struct gaze_linear * lins[6] = { &ly->q, &ly->k, &ly->v, &ly->o, &ly->ff_in, &ly->ff_out };
        const float ** vecs[4] = { &ly->ln1_w, &ly->ln1_b, &ly->ln2_w, &ly->ln2_b };
        char base[160];
        for (int i = 0; i < 6 && !s; i++) {
            snprintf(base, sizeof base, "encoder.layers.%lld.%s", (long long)l, lin[i]);
            s = enc_linear(w, base, i == 4 ? F : C, i == 5 ? F : C, true, lins[i]);
        }
        for (int i = 0; i < 4 && !s; i++) {
            snprintf(base, sizeof base, "encoder.layers.%lld.%s", (long long)l, vec[i]);
            s = enc_tensor2(w, base, C, 0, vecs[i]);
        }
        if (!s) enc_drop_layer_weights(w, ly);
    }
    return s;
}

void enc_drop_table(const struct enc_weights * w, const float * p, size_t n) {
    for (int64_t j = 0; j < w->n_owned; j++)
        if ((const float *)w->owned[j] == p) return;
    drop_pages(p, n * sizeof(float));
}

/* ---------------------------------------------------------------------------------------------
 * The layer
 * ------------------------------------------------------------------------------------------- */

static size_t mha_floats(const struct enc_shape * sh, int64_t T) {
    const struct gaze_mha m = { .d_model = sh->C, .n_heads = sh->H, .n_kv_heads = sh->H, .head_dim = sh->d };
    return gaze_mha_scratch_floats(&m, T);
}

size_t enc_layer_work_floats(const struct enc_shape * sh, int64_t T) {
    return (size_t)T * (sh->C + sh->F) + mha_floats(sh, T);
}

void enc_activate(enum enc_act act, float * y, int64_t n) {
    switch (act) {
    case ENC_QUICK_GELU:   // as torch: x * sigmoid(1.702 x)
        for (int64_t i = 0; i < n; i++) y[i] = y[i] * (1.0f / (1.0f + expf(-1.702f * y[i])));
        break;
    case ENC_GELU_TANH:    // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        gaze_gelu_tanh(y, y, n);
        break;
    default:
        for (int64_t i = 0; i < n; i++) y[i] = (float)(0.5 * y[i] * (1.0 + erf(y[i] * 0.7071067811865476)));
        break;
    }
}

static void scale_channels(float * y, const float * s, int64_t T, int64_t C) {
    for (int64_t t = 0; t < T; t++)
        for (int64_t c = 0; c < C; c++) y[t * C + c] *= s[c];
}

// The layer's arithmetic on x [T, C] in place (y, ff, scratch: work space), attention through
// mha with mask, capture into cap and the extras of ex (any may be NULL).
static enum gaze_status layer_math(const struct enc_shape * sh, const struct enc_layer * ly, const struct gaze_mha * mha,
                                   float * x, float * y, float * ff, float * scratch, const struct gaze_attn_mask * mask,
                                   struct gaze_mha_capture * cap, const struct gaze_mha_extra * ex, int64_t T, int nt,
                                   int64_t l) {
    const int64_t C = sh->C;
    enum gaze_status s;
    int64_t bad = 0;
    if (!sh->pre_ln) {
        // post-LN (BERT): x = LN(x + attn(x)); x = LN(x + FFN(x))
        if ((s = gaze_mha_forward_ex(mha, x, T, NULL, mask, NULL, cap, ex, y, scratch, nt))) return s;
        // finite but huge weights can still overflow f32: refuse rather than return NaN
        bad = gaze_add_layer_norm(x, y, x, T, C, ly->ln1_w, ly->ln1_b, sh->eps, nt);
        if (!bad) {
            // FFN: GELU fused into the first GEMM; the second adds onto the residual stream x
            if ((s = gaze_linear_forward_ex(&ly->ff_in, x, T, ff, sh->act == ENC_GELU ? GAZE_GEMM_GELU : 0, nt))) return s;
            if (sh->act != ENC_GELU) enc_activate(sh->act, ff, T * sh->F);
            if ((s = gaze_linear_forward_ex(&ly->ff_out, ff, T, x, GAZE_GEMM_ACCUMULATE, nt))) return s;
            bad = gaze_add_layer_norm(x, NULL, x, T, C, ly->ln2_w, ly->ln2_b, sh->eps, nt);
        }
    } else {
        // pre-LN (ViT): x += ls1 · attn(LN1(x)); x += ls2 · FFN(LN2(x))
        bad = gaze_add_layer_norm(x, NULL, y, T, C, ly->ln1_w, ly->ln1_b, sh->eps, nt);
        // the attention output may overwrite its input: y is read (projections) before it is written
        if (!bad && (s = gaze_mha_forward_ex(mha, y, T, NULL, mask, NULL, cap, ex, y, scratch, nt))) return s;
        if (!bad) {
            if (ly->ls1) scale_channels(y, ly->ls1, T, C);
            gaze_add(x, y, x, T * C);
            bad = gaze_add_layer_norm(x, NULL, y, T, C, ly->ln2_w, ly->ln2_b, sh->eps, nt);
        }
        if (!bad) {
            if ((s = gaze_linear_forward_ex(&ly->ff_in, y, T, ff, sh->act == ENC_GELU ? GAZE_GEMM_GELU : 0, nt))) return s;
            if (sh->act != ENC_GELU) enc_activate(sh->act, ff, T * sh->F);
            if (ly->ls2) {
                if ((s = gaze_linear_forward(&ly->ff_out, ff, T, y, nt))) return s;
                scale_channels(y, ly->ls2, T, C);
                gaze_add(x, y, x, T * C);
            } else if ((s = gaze_linear_forward_ex(&ly->ff_out, ff, T, x, GAZE_GEMM_ACCUMULATE, nt))) return s;
        }
    }
    if (bad) return gaze_error(GAZE_ERR_NUMERIC, "%s: layer %lld: activations overflowed to Inf/NaN", sh->arch, (long long)l);
    return GAZE_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Attributions and knockout
 * ------------------------------------------------------------------------------------------- */

void enc_extra_free(struct enc_extra * e) {
    free(e->alpha); free(e->vo); free(e->x_in); free(e->x_z); free(e->bias);
    memset(e, 0, sizeof *e);
}

enum gaze_status enc_extra_init(struct enc_extra * e, const struct enc_shape * sh, int64_t L,
                                const struct gaze_run_opts * opts, int64_t T) {
    const int64_t H = sh->H, C = sh->C;
    memset(e, 0, sizeof *e);
    for (int64_t k = 0; k < opts->n_knockout; k++) {
        const struct gaze_knockout * ko = &opts->knockout[k];
        if (ko->layer < -1 || ko->layer >= L || ko->query < -1 || ko->query >= T || ko->key < 0 || ko->key >= T)
            return gaze_error(GAZE_ERR_INVALID_ARG, "%s: knockout edge %lld (layer %lld, query %lld, key %lld) "
                              "outside %lld layers and %lld tokens", sh->arch, (long long)k, (long long)ko->layer,
                              (long long)ko->query, (long long)ko->key, (long long)L, (long long)T);
    }
    if (opts->n_knockout > 0 && !(e->bias = malloc((size_t)(T * T) * sizeof(float))))
        return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory for the knockout mask", sh->arch);
    struct gaze_attrib * a = opts->attrib;
    if (!a || !a->want) return GAZE_OK;
    if (sh->pre_ln)
        return gaze_error(GAZE_ERR_UNSUPPORTED, "%s: attributions decompose post-LN encoder layers (BERT layout); "
                          "this model's layers are pre-LN", sh->arch);
    char what[96], mb[32];
    const double need = model_attrib_bytes(a->want, L, H, T);
    snprintf(what, sizeof what, "attribution matrices of %lld tokens: %s", (long long)T, model_format_bytes(need, mb, sizeof mb));
    enum gaze_status s = model_check_memory("attributions", opts, need, what);
    if (s) return s;
    gaze_attrib_free(a);
    a->n_layers = L; a->n_heads = H; a->T = T;
    const size_t m = (size_t)(L * T * T) * sizeof(float);
    bool ok = (e->alpha = malloc((size_t)(H * T * T) * sizeof(float))) && (e->vo = malloc((size_t)(H * T * C) * sizeof(float))) &&
              (e->x_in = malloc((size_t)(T * C) * sizeof(float))) && (e->x_z = malloc((size_t)(T * C) * sizeof(float)));
    if (ok && (a->want & GAZE_ATTRIB_VNORM)) ok = (a->vnorm_heads = malloc(m * (size_t)H)) && (a->vnorm = malloc(m));
    if (ok && (a->want & GAZE_ATTRIB_RESLN)) ok = (a->resln = malloc(m)) != NULL;
    if (ok && (a->want & GAZE_ATTRIB_ALTI)) ok = (a->alti = malloc(m)) != NULL;
    if (ok && (a->want & GAZE_ATTRIB_VZERO)) ok = (a->vzero = malloc(m)) != NULL;
    if (!ok) { gaze_attrib_free(a); return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory for attributions", sh->arch); }
    e->attrib = a;
    return GAZE_OK;
}

// The mask of layer l: NULL without knockout edges there.
static const struct gaze_attn_mask * extra_mask(struct enc_extra * e, const struct gaze_run_opts * opts, int64_t l,
                                                int64_t T) {
    bool any = false;
    for (int64_t k = 0; k < opts->n_knockout; k++) any |= opts->knockout[k].layer == -1 || opts->knockout[k].layer == l;
    if (!any) return NULL;
    for (int64_t i = 0; i < T * T; i++) e->bias[i] = 0.0f;
    for (int64_t k = 0; k < opts->n_knockout; k++) {
        const struct gaze_knockout * ko = &opts->knockout[k];
        if (ko->layer != -1 && ko->layer != l) continue;
        for (int64_t i = ko->query < 0 ? 0 : ko->query; i < (ko->query < 0 ? T : ko->query + 1); i++)
            e->bias[i * T + ko->key] = -INFINITY;
    }
    memset(&e->mask, 0, sizeof e->mask);
    e->mask.window_left = e->mask.window_right = -1;
    e->mask.bias = e->bias;
    e->mask.bias_st = T;
    return &e->mask;
}

// After layer l ran (x: its output; e->x_in its input, e->alpha / e->vo its attention): the
// attributions of that layer.
static enum gaze_status extra_layer(struct enc_extra * e, const struct enc_shape * sh, const struct enc_layer * ly,
                                    const struct gaze_mha * mha, const float * x, float * y, float * ff, float * scratch,
                                    const struct gaze_attn_mask * mask, int64_t T, int nt, int64_t l) {
    struct gaze_attrib * a = e->attrib;
    const int64_t H = sh->H, C = sh->C, TT = T * T;
    const struct gaze_attrib_block blk = { H, T, C, e->alpha, e->vo, e->x_in, ly->o.bias, ly->ln1_w, ly->ln1_b, sh->eps, NULL, 0.0f,
                                           y };   // y: layer_math left the attention output there
    enum gaze_status s = gaze_attrib_block_compute(&blk, a->vnorm_heads ? a->vnorm_heads + l * H * TT : NULL,
                                                   a->vnorm ? a->vnorm + l * TT : NULL, a->resln ? a->resln + l * TT : NULL,
                                                   a->alti ? a->alti + l * TT : NULL);
    if (s || !a->vzero) return s;
    // value zeroing: the layer again from its input with token j's value vector zeroed;
    // score = cosine distance of each output token's vector, rows normalised
    float * vz = a->vzero + l * TT;
    for (int64_t j = 0; j < T && !s; j++) {
        memcpy(e->x_z, e->x_in, (size_t)(T * C) * sizeof(float));
        const struct gaze_mha_extra zx = { .zero_value = &j };
        s = layer_math(sh, ly, mha, e->x_z, y, ff, scratch, mask, NULL, &zx, T, nt, l);
        for (int64_t i = 0; i < T && !s; i++) vz[i * T + j] = (float)gaze_cosine_distance(x + i * C, e->x_z + i * C, C);
    }
    for (int64_t i = 0; i < T && !s; i++) {
        double sum = 0;
        for (int64_t j = 0; j < T; j++) sum += vz[i * T + j];
        for (int64_t j = 0; j < T; j++) vz[i * T + j] = sum > 0 ? (float)(vz[i * T + j] / sum) : 0.0f;
    }
    return s;
}

enum gaze_status enc_layer_forward(const struct enc_shape * sh, const struct enc_layer * ly, int64_t l, float * x,
                                   int64_t T, float * work, const struct gaze_run_opts * opts, struct gaze_run * run,
                                   struct enc_extra * ex) {
    const int64_t C = sh->C;
    float * y = work, * ff = y + T * C, * scratch = ff + T * sh->F;
    const int nt = opts->n_threads;
    const struct gaze_mha mha = { .d_model = C, .n_heads = sh->H, .n_kv_heads = sh->H, .head_dim = sh->d,
                                  .wq = &ly->q, .wk = &ly->k, .wv = &ly->v, .wo = &ly->o, .rope = GAZE_ROPE_NONE,
                                  .head_mask = opts->head_mask ? opts->head_mask + l * sh->H : NULL,
                                  .ablate_mean = opts->ablate_mean };
    struct gaze_run_layer * cap_layer = NULL;
    struct gaze_mha_capture cap = { 0 };
    enum gaze_status s;
    if (model_layer_wanted(opts, l)) {
        unsigned parts = opts->parts ? opts->parts : GAZE_RUN_PART_ATTN;
        // every part is written below: weights/scores/q/k by gaze_mha_forward, hidden by the memcpy
        if ((s = run_add_layer_unzeroed(run, l, parts, &cap_layer)) || (s = model_summary_layer(opts, run, cap_layer)))
            return s;
        cap = (struct gaze_mha_capture){ run->heads, run->n_heads_cap, cap_layer->attn, cap_layer->scores,
                                         cap_layer->q, cap_layer->k,
                                         cap_layer->summary.entropy ? &cap_layer->summary : NULL };
    }
    const struct gaze_attn_mask * mask = ex && ex->bias ? extra_mask(ex, opts, l, T) : NULL;
    struct gaze_attn_mask causal;   // CLIP's text tower; knockout edges go on top of it
    if (sh->causal) {
        if (mask) ex->mask.causal = true;
        else {
            memset(&causal, 0, sizeof causal);
            causal.causal = true;
            causal.window_left = causal.window_right = -1;
            mask = &causal;
        }
    }
    if (ex && ex->attrib) {
        // every head's weights and value contributions for the attributions; the run's own
        // capture (attention of its heads) is copied from them
        if (cap_layer && (cap_layer->scores || cap_layer->q || cap_layer->k))
            return gaze_error(GAZE_ERR_INVALID_ARG, "%s: attributions capture attention and hidden states only "
                              "(not scores, q or k)", sh->arch);
        memcpy(ex->x_in, x, (size_t)(T * C) * sizeof(float));
        struct gaze_mha_capture acap = { NULL, sh->H, ex->alpha, NULL, NULL, NULL, NULL };
        const struct gaze_mha_extra vx = { .vo = ex->vo };
        if ((s = layer_math(sh, ly, &mha, x, y, ff, scratch, mask, &acap, &vx, T, nt, l))) return s;
        for (int64_t n = 0; cap_layer && cap_layer->attn && n < run->n_heads_cap; n++)
            memcpy(cap_layer->attn + n * T * T, ex->alpha + run->heads[n] * T * T, (size_t)(T * T) * sizeof(float));
        if ((s = extra_layer(ex, sh, ly, &mha, x, y, ff, scratch, mask, T, nt, l))) return s;
    } else if ((s = layer_math(sh, ly, &mha, x, y, ff, scratch, mask, cap_layer ? &cap : NULL, NULL, T, nt, l)))
        return s;
    if (cap_layer && cap_layer->hidden) memcpy(cap_layer->hidden, x, (size_t)(T * C) * sizeof(float));
    return GAZE_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Workspaces
 * ------------------------------------------------------------------------------------------- */

void enc_pool_init(struct enc_pool * p) {
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->lock, NULL);
}

void enc_pool_free(struct enc_pool * p) {
    for (int i = 0; i < p->n; i++) gaze_free_aligned(p->work[i].p);
    pthread_mutex_destroy(&p->lock);
    p->n = 0;
}

// The smallest kept workspace that fits (so the big ones stay free for long inputs on other
// threads), else the largest, grown (never shrunk, so later runs touch no new pages).
struct enc_work enc_work_take(struct enc_pool * p, size_t need) {
    struct enc_work w = { 0 };
    pthread_mutex_lock(&p->lock);
    int best = -1;
    for (int i = 0; i < p->n; i++) {
        const size_t f = p->work[i].floats, bf = best >= 0 ? p->work[best].floats : 0;
        const bool fits = f >= need, best_fits = best >= 0 && bf >= need;
        if (best < 0 || (fits && (!best_fits || f < bf)) || (!fits && !best_fits && f > bf)) best = i;
    }
    if (best >= 0) {
        w = p->work[best];
        p->work[best] = p->work[--p->n];
    }
    pthread_mutex_unlock(&p->lock);
    if (w.floats < need) {
        gaze_free_aligned(w.p);
        w.p = gaze_alloc_aligned(need * sizeof(float));
        w.floats = w.p ? need : 0;
    }
    return w;
}

void enc_work_give(struct enc_pool * p, struct enc_work w) {
    if (!w.p) return;
    pthread_mutex_lock(&p->lock);
    const bool kept = p->n < ENC_WORK_KEPT;
    if (kept) p->work[p->n++] = w;
    pthread_mutex_unlock(&p->lock);
    if (!kept) gaze_free_aligned(w.p);
}

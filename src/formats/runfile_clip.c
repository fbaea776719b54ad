// CLIP image–text runs in the run file (docs/runfile.md, "CLIP"): beside the image run, each
// text's own run (the text tower: tokens, every layer's attention over all heads and rows) as
// text.J.attention.L / text.J.token_ids, described by the gaze.clip.texts metadata, and
// transformers' logits_per_image as clip.logits_per_image, and (optional: runs saved before it
// or with --no-head-drops lack it) each vision head's drop of those logits as clip.head_drops.
// Readers that predate them ignore these tensors and keep gaze.clip.texts as an extra.
#include "formats/json.h"
#include "formats/runfile.h"
#include <math.h>
#include <string.h>

#define CLIP_MAX_TEXTS 64

void run_clip_free(struct gaze_run * run) {
    for (int64_t j = 0; run->texts && j < run->n_texts; j++) gaze_run_free(&run->texts[j]);
    free(run->texts);
    free(run->clip_logits);
    free(run->clip_head_drops);
    run->texts = NULL;
    run->clip_logits = NULL;
    run->clip_head_drops = NULL;
    run->n_texts = 0;
}

enum gaze_status run_clip_check(const struct gaze_run * run, const char * label) {
    if (!run->n_texts && !run->texts && !run->clip_logits && !run->clip_head_drops) return GAZE_OK;
    if (run->n_texts < 1 || run->n_texts > CLIP_MAX_TEXTS || !run->texts || !run->clip_logits || run->grid_rows < 1)
        return gaze_error(GAZE_ERR_FORMAT, "%s: gaze.clip.texts: 1..%d texts with their logits, beside an image run",
                          label, CLIP_MAX_TEXTS);
    for (int64_t j = 0; j < run->n_texts; j++) {
        const struct gaze_run * t = &run->texts[j];
        char sub[512];
        snprintf(sub, sizeof sub, "%s: text %lld", label, (long long)j);
        enum gaze_status s = gaze_run_check(t, sub);
        if (s) return s;
        if (t->texts || t->grid_rows || !t->text || t->n_heads_cap != t->n_heads || t->Tq != t->T || t->n_cap_layers != t->n_layers)
            return gaze_error(GAZE_ERR_FORMAT, "%s: needs its text and every layer, head and row of its attention", sub);
        for (int64_t l = 0; l < t->n_cap_layers; l++)
            if (!t->layers[l].attn || t->layers[l].scores || t->layers[l].q || t->layers[l].k || t->layers[l].hidden ||
                t->layers[l].summary.entropy)
                return gaze_error(GAZE_ERR_FORMAT, "%s: layer %lld: attention weights only", sub, (long long)l);
        if (!isfinite(run->clip_logits[j]))
            return gaze_error(GAZE_ERR_FORMAT, "%s: clip.logits_per_image[%lld] is not finite", label, (long long)j);
    }
    const int64_t LH = run->n_layers * run->n_heads;
    for (int64_t k = 0; run->clip_head_drops && k < run->n_texts * LH; k++)
        if (!isfinite(run->clip_head_drops[k]))
            return gaze_error(GAZE_ERR_FORMAT, "%s: clip.head_drops [text %lld, layer %lld, head %lld] is not finite", label,
                              (long long)(k / LH), (long long)(k % LH / run->n_heads), (long long)(k % run->n_heads));
    return GAZE_OK;
}

bool gaze_clip_run_sigmoid(const struct gaze_run * run) {
    return run && run->arch && !strcmp(run->arch, "siglip");
}

double gaze_clip_probability(const struct gaze_run * run, int64_t j) {
    if (!run || !run->clip_logits || j < 0 || j >= run->n_texts) return NAN;
    if (gaze_clip_run_sigmoid(run)) return 1.0 / (1.0 + exp(-(double)run->clip_logits[j]));
    double m = -INFINITY, z = 0;   // max-shifted: exp of a large logit does not overflow
    for (int64_t i = 0; i < run->n_texts; i++) m = fmax(m, run->clip_logits[i]);
    for (int64_t i = 0; i < run->n_texts; i++) z += exp((double)run->clip_logits[i] - m);
    return exp((double)run->clip_logits[j] - m) / z;
}

static const char * pool_token(const struct gaze_run * t) {
    for (int64_t i = 0; i < t->n_extra; i++)
        if (!strcmp(t->extra_keys[i], "gaze.clip.pool_token")) return t->extra_values[i];
    return NULL;
}

enum gaze_status run_clip_save(const struct gaze_run * run, struct gaze_st_writer * w, bool floats) {
    if (!run->n_texts) return GAZE_OK;
    enum gaze_status s = GAZE_OK;
    char name[96];
    if (floats) {
        for (int64_t j = 0; !s && j < run->n_texts; j++) {
            const struct gaze_run * t = &run->texts[j];
            for (int64_t l = 0; !s && l < t->n_cap_layers; l++) {
                const int64_t dims[3] = { t->n_heads, t->T, t->T };
                snprintf(name, sizeof name, "text.%lld.attention.%lld", (long long)j, (long long)t->layers[l].index);
                s = gaze_st_writer_add_ref(w, name, GAZE_DTYPE_F32, 3, dims, t->layers[l].attn);
            }
        }
        const int64_t n[1] = { run->n_texts };
        if (!s) s = gaze_st_writer_add_ref(w, "clip.logits_per_image", GAZE_DTYPE_F32, 1, n, run->clip_logits);
        const int64_t dd[3] = { run->n_texts, run->n_layers, run->n_heads };
        if (!s && run->clip_head_drops)
            s = gaze_st_writer_add_ref(w, "clip.head_drops", GAZE_DTYPE_F32, 3, dd, run->clip_head_drops);
        return s;
    }
    json_t * arr = json_array();
    for (int64_t j = 0; !s && j < run->n_texts; j++) {
        const struct gaze_run * t = &run->texts[j];
        const int64_t dims[1] = { t->T };
        snprintf(name, sizeof name, "text.%lld.token_ids", (long long)j);
        s = gaze_st_writer_add_ref(w, name, GAZE_DTYPE_I32, 1, dims, t->token_ids);
        json_t * toks = json_array(), * o = json_object();
        for (int64_t i = 0; toks && i < t->T; i++) json_array_append_new(toks, json_string(t->tokens[i]));
        const char * pt = pool_token(t);
        if (!arr || !toks || !o || json_object_set_new(o, "text", json_string(t->text)) ||
            json_object_set_new(o, "tokens", toks) || json_object_set_new(o, "n_layers", json_integer(t->n_layers)) ||
            json_object_set_new(o, "n_heads", json_integer(t->n_heads)) ||
            json_object_set_new(o, "causal", json_boolean(t->causal)) ||
            (pt && json_object_set_new(o, "pool_token", json_integer(strtoll(pt, NULL, 10)))) ||
            json_array_append_new(arr, o))
            s = gaze_error(GAZE_ERR_NOMEM, "run file: out of memory");
    }
    char * txt = !s ? json_dumps(arr, JSON_COMPACT) : NULL;
    if (!s && !txt) s = gaze_error(GAZE_ERR_NOMEM, "run file: out of memory");
    if (!s) s = gaze_st_writer_set_metadata(w, "gaze.clip.texts", txt);
    free(txt);
    json_decref(arr);
    return s;
}

// One text's run from its gaze.clip.texts entry and text.J.* tensors.
static enum gaze_status load_text(struct gaze_run * t, const json_t * o, int64_t j, const struct gaze_safetensors * st,
                                  const char * path) {
    const json_t * toks = json_object_get(o, "tokens"), * text = json_object_get(o, "text");
    const json_t * nl = json_object_get(o, "n_layers"), * nh = json_object_get(o, "n_heads"), * pt = json_object_get(o, "pool_token");
    if (!json_is_object(o) || !json_is_array(toks) || !json_is_string(text) || !json_is_integer(nl) || !json_is_integer(nh) ||
        json_integer_value(nl) < 1 || json_integer_value(nl) > GAZE_RUN_MAX_LAYERS || json_integer_value(nh) < 1 ||
        json_integer_value(nh) > GAZE_RUN_MAX_HEADS || json_array_size(toks) < 1 || (pt && !json_is_integer(pt)))
        return gaze_error(GAZE_ERR_FORMAT, "%s: gaze.clip.texts[%lld]: expected {\"text\", \"tokens\", \"n_layers\", "
                          "\"n_heads\"} with sizes in range", path, (long long)j);
    const int64_t T = (int64_t)json_array_size(toks), L = json_integer_value(nl), H = json_integer_value(nh);
    char name[96];
    snprintf(name, sizeof name, "text.%lld.token_ids", (long long)j);
    const struct gaze_st_tensor * ti = gaze_safetensors_find(st, name);
    if (!ti || ti->dtype != GAZE_DTYPE_I32 || ti->n_dims != 1 || ti->shape[0] != T)
        return gaze_error(GAZE_ERR_FORMAT, "%s: %s: expected I32 [%lld]", path, name, (long long)T);
    const char ** strs = malloc((size_t)T * sizeof *strs);
    int32_t * ids = malloc((size_t)T * sizeof *ids);
    enum gaze_status s = strs && ids ? GAZE_OK : gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", path);
    for (int64_t i = 0; !s && i < T; i++) {
        strs[i] = json_string_value(json_array_get(toks, (size_t)i));
        if (!strs[i]) s = gaze_error(GAZE_ERR_FORMAT, "%s: gaze.clip.texts[%lld].tokens[%lld]: not a string", path, (long long)j, (long long)i);
    }
    if (!s) memcpy(ids, ti->data, (size_t)T * sizeof *ids);
    if (!s) s = gaze_run_set_tokens(t, T, strs, NULL, ids, NULL);
    free(strs);
    free(ids);
    if (s) return s;
    t->text = gaze_json_utf8_sanitize(json_string_value(text), json_string_length(text), NULL);
    t->model = strdup("clip");
    t->arch = strdup("clip");
    if (!t->text || !t->model || !t->arch) return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", path);
    t->causal = json_is_true(json_object_get(o, "causal"));
    t->n_layers = L;
    t->n_heads = t->n_kv_heads = H;
    if ((s = gaze_run_set_capture(t, NULL, H, NULL, T))) return s;
    for (int64_t l = 0; l < L; l++) {
        snprintf(name, sizeof name, "text.%lld.attention.%lld", (long long)j, (long long)l);
        const struct gaze_st_tensor * ta = gaze_safetensors_find(st, name);
        if (!ta || ta->n_dims != 3 || ta->shape[0] != H || ta->shape[1] != T || ta->shape[2] != T)
            return gaze_error(GAZE_ERR_FORMAT, "%s: %s: missing or not [%lld, %lld, %lld]", path, name, (long long)H,
                              (long long)T, (long long)T);
        struct gaze_run_layer * ly;
        if ((s = gaze_run_add_layer(t, l, GAZE_RUN_PART_ATTN, &ly))) return s;
        if ((s = gaze_st_tensor_to_f32(ta, ly->attn, H * T * T))) return s;
    }
    if (pt) {
        char buf[32];
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(pt));
        if (json_integer_value(pt) < 0 || json_integer_value(pt) >= T)
            return gaze_error(GAZE_ERR_FORMAT, "%s: gaze.clip.texts[%lld].pool_token out of range", path, (long long)j);
        s = gaze_run_set_extra(t, "gaze.clip.pool_token", buf);
    }
    return s;
}

enum gaze_status run_clip_load(struct gaze_run * run, const struct gaze_safetensors * st, const char * path) {
    const char * meta = gaze_safetensors_metadata(st, "gaze.clip.texts");
    if (!meta) return GAZE_OK;
    json_t * arr = json_loads(meta, JSON_REJECT_DUPLICATES, NULL);
    const size_t n = json_array_size(arr);
    const struct gaze_st_tensor * tl = gaze_safetensors_find(st, "clip.logits_per_image");
    enum gaze_status s = GAZE_OK;
    if (!json_is_array(arr) || n < 1 || n > CLIP_MAX_TEXTS)
        s = gaze_error(GAZE_ERR_FORMAT, "%s: gaze.clip.texts: expected a JSON array of 1..%d texts", path, CLIP_MAX_TEXTS);
    else if (!tl || tl->n_dims != 1 || tl->shape[0] != (int64_t)n)
        s = gaze_error(GAZE_ERR_FORMAT, "%s: clip.logits_per_image: missing or not [%zu]", path, n);
    if (!s && (!(run->texts = calloc(n, sizeof *run->texts)) || !(run->clip_logits = malloc(n * sizeof(float)))))
        s = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", path);
    if (!s) {
        run->n_texts = (int64_t)n;
        s = gaze_st_tensor_to_f32(tl, run->clip_logits, (int64_t)n);
    }
    for (size_t j = 0; !s && j < n; j++) s = load_text(&run->texts[j], json_array_get(arr, j), (int64_t)j, st, path);
    json_decref(arr);
    // optional: older runs and --no-head-drops have none (gaze plot --kind clip then draws the
    // plain rollout and says so)
    const struct gaze_st_tensor * td = gaze_safetensors_find(st, "clip.head_drops");
    if (!s && td) {
        const int64_t L = run->n_layers, H = run->n_heads;
        if (td->n_dims != 3 || td->shape[0] != (int64_t)n || td->shape[1] != L || td->shape[2] != H)
            s = gaze_error(GAZE_ERR_FORMAT, "%s: clip.head_drops: expected [%zu, %lld, %lld] (texts, layers, heads)", path, n,
                           (long long)L, (long long)H);
        else if (!(run->clip_head_drops = malloc((size_t)((int64_t)n * L * H) * sizeof(float))))
            s = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", path);
        else s = gaze_st_tensor_to_f32(td, run->clip_head_drops, (int64_t)n * L * H);
    }
    return s;   // gaze_run_check, after the whole run is read, checks the values
}

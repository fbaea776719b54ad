// gaze_model_*: picks the architecture from what the path is (folder → BERT, .gguf → Llama).
#include "models/model.h"
#include <string.h>
#include <sys/stat.h>

static bool has_suffix(const char * s, const char * suf) {
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && !strcmp(s + n - m, suf);
}

enum gaze_status gaze_model_load(struct gaze_model ** out, const char * path) {
    return gaze_model_load_progress(out, path, NULL);
}

enum gaze_status gaze_model_load_progress(struct gaze_model ** out, const char * path,
                                          const struct gaze_progress * progress) {
    if (!out || !path) return gaze_error(GAZE_ERR_INVALID_ARG, "model: NULL argument");
    *out = NULL;
    char resolved[4096];
    enum gaze_status s = gaze_model_resolve(path, resolved, sizeof resolved);
    if (s) return s;
    struct stat sb;
    if (stat(resolved, &sb) != 0) return gaze_error(GAZE_ERR_IO, "%s: no such file or folder", resolved);
    struct gaze_model * m = calloc(1, sizeof *m);
    if (!m || !(m->path = strdup(resolved))) { free(m); return gaze_error(GAZE_ERR_NOMEM, "model: out of memory"); }
    m->load_progress = progress;
    if (S_ISDIR(sb.st_mode)) s = bert_load(m, resolved);
    else if (has_suffix(resolved, ".gguf")) s = llama_load(m, resolved);
    else s = gaze_error(GAZE_ERR_UNSUPPORTED,
                        "%s: not a model: expected a Hugging Face folder (BERT: config.json, model.safetensors, "
                        "tokenizer.json) or a .gguf file (Llama)", resolved);
    m->load_progress = NULL;
    if (s) { gaze_model_free(m); return s; }
    m->info.path = m->path;
    *out = m;
    return GAZE_OK;
}

void gaze_model_free(struct gaze_model * m) {
    if (!m) return;
    if (m->impl && m->free_impl) m->free_impl(m->impl);
    free(m->path);
    free(m);
}

const struct gaze_model_info * gaze_model_info(const struct gaze_model * m) { return m ? &m->info : NULL; }

enum gaze_status gaze_model_run(struct gaze_model * m, const char * text, const char * pair,
                                const struct gaze_run_opts * opts, struct gaze_run * run) {
    static const struct gaze_run_opts defaults;
    if (!m || !text || !run) return gaze_error(GAZE_ERR_INVALID_ARG, "model run: NULL argument");
    if (!opts) opts = &defaults;
    enum gaze_status s = model_check_selection(opts, m->info.n_layers, m->info.n_heads);
    if (s) return s;
    return m->run(m, text, pair, opts, run);
}

bool model_layer_wanted(const struct gaze_run_opts * o, int64_t layer) {
    if (o->no_capture) return false;
    if (!o->layers) return true;
    for (int64_t i = 0; i < o->n_layers; i++) if (o->layers[i] == layer) return true;
    return false;
}

enum gaze_status model_check_selection(const struct gaze_run_opts * o, int64_t n_layers, int64_t n_heads) {
    for (int64_t i = 0; o->layers && i < o->n_layers; i++) {
        if (o->layers[i] < 0 || o->layers[i] >= n_layers)
            return gaze_error(GAZE_ERR_INVALID_ARG, "layer %lld out of range 0..%lld",
                              (long long)o->layers[i], (long long)(n_layers - 1));
        if (i > 0 && o->layers[i] <= o->layers[i - 1])
            return gaze_error(GAZE_ERR_INVALID_ARG, "layers must be given in increasing order");
    }
    for (int64_t i = 0; o->heads && i < o->n_heads; i++) {
        if (o->heads[i] < 0 || o->heads[i] >= n_heads)
            return gaze_error(GAZE_ERR_INVALID_ARG, "head %lld out of range 0..%lld",
                              (long long)o->heads[i], (long long)(n_heads - 1));
        if (i > 0 && o->heads[i] <= o->heads[i - 1])
            return gaze_error(GAZE_ERR_INVALID_ARG, "heads must be given in increasing order");
    }
    if ((o->layers && o->n_layers < 1) || (o->heads && o->n_heads < 1))
        return gaze_error(GAZE_ERR_INVALID_ARG, "empty layer or head selection");
    return GAZE_OK;
}

enum gaze_status gaze_model_set_exact(struct gaze_model * m, bool exact) {
    if (!m) return gaze_error(GAZE_ERR_INVALID_ARG, "model: NULL");
    return m->set_exact ? m->set_exact(m, exact) : GAZE_OK;
}

// gaze_model_*: picks the architecture from what the path is (folder → BERT or, by config.json's
// model_type, a decoder or a vision
// transformer; .gguf → decoder_gguf).
#include "models/decoder.h"
#include "models/seq2seq.h"
#include "formats/runfile.h"
#include "formats/json.h"
#include "text/tokenizer.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool has_suffix(const char * s, const char * suf) {
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && !strcmp(s + n - m, suf);
}

// A folder whose config.json's model_type passes is (a vision transformer, a BERT-like encoder;
// any other goes to the decoder loader, which names what it does not support).
static bool folder_type_is(const char * folder, bool (*is)(const char *)) {
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", folder);
    json_t * cfg = NULL;
    if (gaze_json_load_file(&cfg, path, 1 << 20, 0)) { gaze_clear_error(); return false; }
    const json_t * t = json_object_get(cfg, "model_type");
    const bool v = json_is_string(t) && is(json_string_value(t));
    json_decref(cfg);
    return v;
}

static bool modernbert_model_type(const char * t) { return !strcmp(t, "modernbert"); }

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
    if (stat(resolved, &sb) != 0)
        return gaze_error(GAZE_ERR_IO, "%s: %s", resolved, errno == ENOENT ? "no such file or folder" : strerror(errno));
    struct gaze_model * m = calloc(1, sizeof *m);
    if (!m || !(m->path = strdup(resolved))) { free(m); return gaze_error(GAZE_ERR_NOMEM, "model: out of memory"); }
    if (pthread_rwlock_init(&m->lock, NULL) != 0) {
        free(m->path);
        free(m);
        return gaze_error(GAZE_ERR_NOMEM, "model: cannot create its lock");
    }
    m->load_progress = progress;
    if (S_ISDIR(sb.st_mode))
        s = folder_type_is(resolved, vit_model_type) ? vit_load(m, resolved)
          : s2s_is_seq2seq(resolved) ? s2s_model_load(m, resolved)
          : folder_type_is(resolved, modernbert_model_type) ? modernbert_load(m, resolved)
          : folder_type_is(resolved, bert_model_type) ? bert_load(m, resolved)
          : decoder_hf_is_decoder(resolved) ? decoder_hf_load(m, resolved) : bert_load(m, resolved);
    else if (has_suffix(resolved, ".gguf")) s = decoder_gguf_load(m, resolved);
    else s = gaze_error(GAZE_ERR_UNSUPPORTED,
                        "%s: not a model: expected a Hugging Face folder (config.json, model.safetensors, "
                        "tokenizer.json: BERT or a decoder) or a .gguf file (Llama)", resolved);
    m->load_progress = NULL;
    if (s) { gaze_model_free(m); return s; }
    m->info.path = m->path;
    *out = m;
    return GAZE_OK;
}

void gaze_model_free(struct gaze_model * m) {
    if (!m) return;
    if (m->impl && m->free_impl) m->free_impl(m->impl);
    pthread_rwlock_destroy(&m->lock);
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
    pthread_rwlock_rdlock(&m->lock);
    s = m->run(m, text, pair, opts, run);
    pthread_rwlock_unlock(&m->lock);
    return s;
}

enum gaze_status gaze_model_unembed(struct gaze_model * m, const float * hidden, int64_t T, float * logits) {
    if (!m || !hidden || !logits || T < 1) return gaze_error(GAZE_ERR_INVALID_ARG, "model unembed: bad argument");
    if (!m->unembed)
        return gaze_error(GAZE_ERR_UNSUPPORTED, "%s: the logit lens needs a decoder (this is a %s encoder)",
                          m->path ? m->path : "model", m->info.arch_name ? m->info.arch_name : "");
    pthread_rwlock_rdlock(&m->lock);
    enum gaze_status s = m->unembed(m, hidden, T, logits);
    pthread_rwlock_unlock(&m->lock);
    return s;
}

enum gaze_status gaze_model_run_image(struct gaze_model * m, const struct gaze_image * img, const char * name,
                                      const struct gaze_run_opts * opts, struct gaze_run * run) {
    static const struct gaze_run_opts defaults;
    if (!m || !img || !img->rgb || img->width < 1 || img->height < 1 || !run)
        return gaze_error(GAZE_ERR_INVALID_ARG, "model run: NULL argument or empty image");
    if (!m->run_image) {
        gaze_run_init(run);
        return gaze_error(GAZE_ERR_INVALID_ARG, "%s: %s is a text model: give it text, not an image", m->path,
                          m->info.arch_name);
    }
    if (!opts) opts = &defaults;
    enum gaze_status s = model_check_selection(opts, m->info.n_layers, m->info.n_heads);
    if (s) return s;
    pthread_rwlock_rdlock(&m->lock);
    s = m->run_image(m, img, name, opts, run);
    pthread_rwlock_unlock(&m->lock);
    return s;
}

double model_attrib_bytes(unsigned want, int64_t L, int64_t H, int64_t T) {
    const double m = (double)L * (double)T * (double)T * sizeof(float);
    return (want & GAZE_ATTRIB_VNORM ? m * (double)(H + 1) : 0) + (want & GAZE_ATTRIB_RESLN ? m : 0) +
           (want & GAZE_ATTRIB_ALTI ? m : 0) + (want & GAZE_ATTRIB_VZERO ? m : 0);
}

enum gaze_status model_attrib_decoder_begin(const struct gaze_run_opts * opts, int64_t L, int64_t H, int64_t T,
                                            int64_t C, int64_t n_past, struct model_attrib_bufs * w) {
    memset(w, 0, sizeof *w);
    struct gaze_attrib * a = opts->attrib;
    if (!a || !a->want || n_past > 0) return GAZE_OK;
    const int64_t TT = T * T;
    char what[96], b[32];
    snprintf(what, sizeof what, "attribution matrices of %lld tokens: %s", (long long)T,
             model_format_bytes(model_attrib_bytes(a->want, L, H, T), b, sizeof b));
    enum gaze_status s = model_check_memory("attributions", opts, model_attrib_bytes(a->want, L, H, T), what);
    if (s) return s;
    gaze_attrib_free(a);
    a->n_layers = L; a->n_heads = H; a->T = T;
    const size_t m = (size_t)(L * TT) * sizeof(float);
    bool ok = true;
    if (a->want & GAZE_ATTRIB_VNORM) ok = (a->vnorm_heads = malloc(m * (size_t)H)) && (a->vnorm = malloc(m));
    if (ok && (a->want & GAZE_ATTRIB_RESLN)) ok = (a->resln = malloc(m)) != NULL;
    if (ok && (a->want & GAZE_ATTRIB_ALTI)) ok = (a->alti = malloc(m)) != NULL;
    if (ok && (a->want & GAZE_ATTRIB_VZERO)) ok = (a->vzero = malloc(m)) != NULL;   // filled by the decoder
    // one layer's inputs, reused by every layer
    ok = ok && (w->alpha = malloc((size_t)(H * TT) * sizeof(float))) && (w->vo = malloc((size_t)(H * T * C) * sizeof(float))) &&
         (w->out = malloc((size_t)(T * C) * sizeof(float))) && (w->x_in = malloc((size_t)(T * C) * sizeof(float)));
    if (!ok) {
        gaze_attrib_free(a);
        model_attrib_bufs_free(w);
        return gaze_error(GAZE_ERR_NOMEM, "attributions: out of memory");
    }
    return GAZE_OK;
}

void model_attrib_bufs_free(struct model_attrib_bufs * w) {
    free(w->alpha); free(w->vo); free(w->out); free(w->x_in);
    memset(w, 0, sizeof *w);
}

enum gaze_status model_attrib_decoder_layer(const struct gaze_run_opts * opts, const struct model_attrib_bufs * w,
                                            const float * alpha, const float * bias, const float * post_w,
                                            float post_eps, int64_t l, int64_t C) {
    struct gaze_attrib * a = opts->attrib;
    const int64_t H = a->n_heads, T = a->T, TT = T * T;
    if (l < 0 || l >= a->n_layers) return gaze_error(GAZE_ERR_INVALID_ARG, "attributions: layer %lld outside 0..%lld", (long long)l, (long long)(a->n_layers - 1));
    const struct gaze_attrib_block blk = { H, T, C, alpha, w->vo, w->x_in, bias, NULL, NULL, 0.0f, post_w, post_eps, w->out };
    return gaze_attrib_block_compute(&blk, a->vnorm_heads ? a->vnorm_heads + l * H * TT : NULL,
                                     a->vnorm ? a->vnorm + l * TT : NULL, a->resln ? a->resln + l * TT : NULL,
                                     a->alti ? a->alti + l * TT : NULL);
}

const char * gaze_model_label(const struct gaze_model * m, int64_t i) {
    return m && m->info.arch == GAZE_ARCH_VIT ? vit_label(m, i) : NULL;
}

bool model_layer_wanted(const struct gaze_run_opts * o, int64_t layer) {
    if (o->no_capture) return false;
    if (!o->layers) return true;
    for (int64_t i = 0; i < o->n_layers; i++) if (o->layers[i] == layer) return true;
    return false;
}

enum gaze_status model_run_set_tokens(const char * arch, const struct gaze_tokenizer * tok, struct gaze_run * run,
                                      int64_t n, const int32_t * ids, const int64_t * offsets) {
    const char ** pieces = malloc((size_t)n * sizeof *pieces);
    size_t * lens = malloc((size_t)n * sizeof *lens);
    enum gaze_status s = GAZE_OK;
    if (!pieces || !lens) s = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", arch);
    for (int64_t t = 0; !s && t < n; t++) {
        pieces[t] = gaze_tokenizer_token_piece(tok, ids[t], &lens[t]);
        if (!pieces[t]) { pieces[t] = ""; lens[t] = 0; }
    }
    if (!s) s = gaze_run_set_tokens(run, n, pieces, lens, ids, offsets);
    free(pieces);
    free(lens);
    return s;
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
    if (!m->set_exact) return GAZE_OK;
    pthread_rwlock_wrlock(&m->lock);
    enum gaze_status s = m->set_exact(m, exact);
    pthread_rwlock_unlock(&m->lock);
    return s;
}

const char * model_format_bytes(double bytes, char * buf, size_t n) {
    static const char * const unit[] = { "bytes", "KiB", "MiB", "GiB", "TiB", "PiB" };
    int u = 0;
    while (bytes >= 1024 && u < 5) { bytes /= 1024; u++; }
    snprintf(buf, n, u ? "%.1f %s" : "%.0f %s", bytes, unit[u]);
    return buf;
}

// The cgroup v2 limit of this process (memory.max), or -1 when there is none or it cannot be read.
static int64_t cgroup_limit(void) {
    FILE * f = fopen("/proc/self/cgroup", "r");   // "0::/path" on cgroup v2
    char line[4096], path[4200];
    int64_t best = -1;
    if (!f) return -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "0::", 3) != 0) continue;
        line[strcspn(line, "\n")] = 0;
        // the limit of every ancestor applies: take the smallest on the way up to the root
        char * cg = line + 3;
        for (;;) {
            snprintf(path, sizeof path, "/sys/fs/cgroup%s/memory.max", strcmp(cg, "/") ? cg : "");
            FILE * m = fopen(path, "r");
            if (m) {
                char v[64] = "";
                if (fgets(v, sizeof v, m) && strncmp(v, "max", 3) != 0) {
                    long long x = atoll(v);
                    if (x > 0 && (best < 0 || x < best)) best = x;
                }
                fclose(m);
            }
            char * slash = strrchr(cg, '/');
            if (!slash || !strcmp(cg, "/")) break;
            if (slash == cg) slash[1] = 0;   // "/a" -> "/"
            else *slash = 0;
        }
    }
    fclose(f);
    // cgroup v1 (and a namespaced v2 root): the container's own limit; "unlimited" reads as a
    // huge number, which the caller's min with physical RAM ignores
    FILE * m = fopen("/sys/fs/cgroup/memory/memory.limit_in_bytes", "r");
    if (m) {
        char v[64] = "";
        if (fgets(v, sizeof v, m)) {
            long long x = atoll(v);
            if (x > 0 && (best < 0 || x < best)) best = x;
        }
        fclose(m);
    }
    return best;
}

int64_t model_memory_budget(const struct gaze_run_opts * opts, int64_t * machine) {
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    int64_t mem = pages > 0 && page > 0 ? (int64_t)pages * page : 0;
    const int64_t cg = cgroup_limit();
    if (cg > 0 && (mem <= 0 || cg < mem)) mem = cg;
    if (machine) *machine = mem;
    if (opts->max_memory) return opts->max_memory;
    return mem > 0 ? mem / 2 : -1;
}

enum gaze_status model_check_memory(const char * arch, const struct gaze_run_opts * opts, double need,
                                    const char * what) {
    int64_t machine;
    const int64_t budget = model_memory_budget(opts, &machine);
    if (budget < 0 || need <= (double)budget) return GAZE_OK;
    char a[32], b[32], c[32], d[48];
    return gaze_error(GAZE_ERR_LIMIT,
                      "%s: this run needs about %s (%s), above the memory budget of %s (%s); capture "
                      "less (--layers, --heads, --capture attn), give a shorter input (--max-len, "
                      "--truncate), or raise the budget (--max-memory SIZE)",
                      arch, model_format_bytes(need, a, sizeof a), what, model_format_bytes((double)budget, b, sizeof b),
                      opts->max_memory ? "set by max_memory" :
                      (snprintf(d, sizeof d, "half of %s", model_format_bytes((double)machine, c, sizeof c)), d));
}

double model_capture_bytes(const struct gaze_run_opts * opts, int64_t L, int64_t Hc, int64_t T, int64_t d,
                           int64_t C) {
    const unsigned parts = opts->parts ? opts->parts : GAZE_RUN_PART_ATTN;
    const double t = (double)T, h = (double)Hc;
    double per = 0;   // floats per captured layer
    if (parts & GAZE_RUN_PART_ATTN) per += h * t * t;
    if (parts & GAZE_RUN_PART_SCORES) per += h * t * t;
    if (parts & GAZE_RUN_PART_Q) per += h * t * (double)d;
    if (parts & GAZE_RUN_PART_K) per += h * t * (double)d;
    if (parts & GAZE_RUN_PART_HIDDEN) per += t * (double)C;
    if (parts & GAZE_RUN_PART_SUMMARY)
        per += (double)run_summary_bytes(opts->summary_k > 0 ? opts->summary_k : GAZE_SUMMARY_TOP_K,
                                         opts->summary_block > 0 ? opts->summary_block : GAZE_SUMMARY_BLOCK, Hc, T) / sizeof(float);
    int64_t n = 0;
    for (int64_t l = 0; l < L; l++) n += model_layer_wanted(opts, l);
    return (double)n * per * sizeof(float);
}

enum gaze_status model_summary_alloc(const struct gaze_run_opts * opts, struct gaze_attn_summary * s, int64_t Hc, int64_t n) {
    const int32_t k = opts->summary_k > 0 ? opts->summary_k : GAZE_SUMMARY_TOP_K;
    const int32_t b = opts->summary_block > 0 ? opts->summary_block : GAZE_SUMMARY_BLOCK;
    const int32_t w = opts->summary_window > 0 ? opts->summary_window : GAZE_SUMMARY_WINDOW;
    if (!run_summary_params_ok(k, b, w))
        return gaze_error(GAZE_ERR_INVALID_ARG, "summary: top-k %d must be 1..256, block %d a power of two 1..64, "
                          "window %d >= 1", (int)k, (int)b, (int)w);
    return run_summary_alloc(s, k, b, w, Hc, n);
}

enum gaze_status model_summary_layer(const struct gaze_run_opts * opts, struct gaze_run * run, struct gaze_run_layer * l) {
    if (!l->summary.entropy) return GAZE_OK;
    run_summary_free(&l->summary);
    return model_summary_alloc(opts, &l->summary, run->n_heads_cap, run->T);
}

const struct gaze_run_opts * model_auto_summary(const struct gaze_run_opts * opts, int64_t L, int64_t Hc, int64_t T,
                                                int64_t d, int64_t C, struct gaze_run_opts * copy) {
    const unsigned parts = opts->parts ? opts->parts : GAZE_RUN_PART_ATTN;
    const unsigned full = GAZE_RUN_PART_ATTN | GAZE_RUN_PART_SCORES;
    if (opts->no_capture || opts->summary_above <= 0 || !(parts & full)) return opts;
    *copy = *opts;
    copy->parts = parts & full;
    if (model_capture_bytes(copy, L, Hc, T, d, C) <= (double)opts->summary_above) return opts;
    copy->parts = (parts & ~full) | GAZE_RUN_PART_SUMMARY;
    return copy;
}

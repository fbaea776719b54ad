// Run files: the on-disk form of one captured run (docs/runfile.md). One checker validates a
// run in memory; save runs it before writing and load runs it after reading, so every command
// that reads runs sees only runs that passed the same checks.
#include "formats/json.h"
#include "formats/runfile.h"
#include <ctype.h>
#include <math.h>
#include <string.h>

// Metadata keys this version writes and interprets; others are kept as extras.
static const char * const g_reserved[] = {
    "gaze.format_version", "gaze.model", "gaze.arch", "gaze.causal", "gaze.n_layers",
    "gaze.n_heads", "gaze.n_kv_heads", "gaze.d_head", "gaze.n_embd", "gaze.text", "gaze.pair",
    "gaze.tokens", "gaze.offsets", "gaze.n_generated", "gaze.layers", "gaze.heads", "gaze.q_rows",
    "gaze.summary",
    "gaze.image.grid", "gaze.image.patches",
    // encoder-decoder runs: the target side (the per-kind keys below are "gaze.decoder.*" and
    // "gaze.cross.*" of g_kind_keys)
    "gaze.kinds", "gaze.target_tokens", "gaze.target_text",
    "gaze.clip.texts",
};

// Per-kind metadata of an enc-dec run's decoder and cross parts: "gaze.<kind>.<key>".
static const char * const g_kind_keys[] = {
    "n_layers", "n_heads", "n_kv_heads", "d_head", "n_embd", "n_generated", "layers", "heads", "q_rows",
};
static const char * const g_sub_prefix[2] = { "decoder", "cross" };

static bool is_reserved(const char * key) {
    for (size_t i = 0; i < sizeof g_reserved / sizeof g_reserved[0]; i++)
        if (!strcmp(key, g_reserved[i])) return true;
    for (int k = 0; k < 2; k++) {
        size_t n = strlen(g_sub_prefix[k]);
        if (strncmp(key, "gaze.", 5) || strncmp(key + 5, g_sub_prefix[k], n) || key[5 + n] != '.') continue;
        for (size_t i = 0; i < sizeof g_kind_keys / sizeof g_kind_keys[0]; i++)
            if (!strcmp(key + 6 + n, g_kind_keys[i])) return true;
    }
    return false;
}

static const char * const g_part_prefix[] = { "attention", "scores", "q", "k", "hidden" };
enum { N_PARTS = 5 };

static float ** part_ptr(struct gaze_run_layer * l, int p) {
    switch (p) {
        case 0: return &l->attn;
        case 1: return &l->scores;
        case 2: return &l->q;
        case 3: return &l->k;
        default: return &l->hidden;
    }
}

// Expected shape of part p of a layer: rank 2 or 3 into dims.
static int part_shape(const struct gaze_run * run, int p, int64_t dims[3]) {
    switch (p) {
        case 0: case 1: dims[0] = run->n_heads_cap; dims[1] = run->Tq; dims[2] = gaze_run_n_keys(run); return 3;
        case 2:         dims[0] = run->n_heads_cap; dims[1] = run->Tq; dims[2] = run->d_head; return 3;
        case 3:         dims[0] = run->n_heads_cap; dims[1] = gaze_run_n_keys(run); dims[2] = run->d_head; return 3;
        default:        dims[0] = run->T; dims[1] = run->n_embd; return 2;
    }
}

static bool shape_elems(const int64_t * dims, int rank, int64_t * n) {
    int64_t x = 1;
    for (int i = 0; i < rank; i++)
        if (dims[i] < 0 || gaze_mul_ovf_i64(x, dims[i], &x)) return false;
    *n = x;
    return true;
}

/* ---- lifecycle and builders ------------------------------------------------------------- */

void gaze_run_init(struct gaze_run * run) { memset(run, 0, sizeof *run); }

void gaze_run_free(struct gaze_run * run) {
    if (!run) return;
    free(run->model);
    free(run->arch);
    free(run->text);
    free(run->pair);
    if (run->tokens)
        for (int64_t i = 0; i < run->T; i++) free(run->tokens[i]);
    free(run->tokens);
    free(run->token_ids);
    free(run->token_type_ids);
    free(run->sequence_ids);
    free(run->offsets);
    free(run->q_rows);
    free(run->heads);
    for (int64_t i = 0; i < run->n_cap_layers; i++)
        for (int p = 0; p < N_PARTS; p++) gaze_free_recycled(*part_ptr(&run->layers[i], p));
    for (int64_t i = 0; i < run->n_cap_layers; i++) run_summary_free(&run->layers[i].summary);
    free(run->layers);
    gaze_free_aligned(run->embedding);
    free(run->patch_rc);
    free(run->image);
    free(run->logits);
    run_clip_free(run);
    for (int64_t i = 0; i < run->n_extra; i++) { free(run->extra_keys[i]); free(run->extra_values[i]); }
    free(run->extra_keys);
    free(run->extra_values);
    if (run->key_tokens)
        for (int64_t i = 0; i < run->T_keys; i++) free(run->key_tokens[i]);
    free(run->key_tokens);
    free(run->key_ids);
    gaze_run_free(run->decoder);
    free(run->decoder);
    gaze_run_free(run->cross);
    free(run->cross);
    memset(run, 0, sizeof *run);
}

// Token string for the run: invalid UTF-8 and NUL bytes become U+FFFD.
static char * token_string(const char * s, size_t n) {
    size_t len;
    char * t = gaze_json_utf8_sanitize(s, n, &len);
    if (!t || !memchr(t, 0, len)) return t;
    char * u = gaze_json_utf8_sanitize(t, len, NULL);   // same length bound; rebuild without NUL
    if (!u) { free(t); return NULL; }
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (t[i]) u[o++] = t[i];
        else { memcpy(u + o, "\xEF\xBF\xBD", 3); o += 3; }
    }
    u[o] = 0;
    free(t);
    return u;
}

enum gaze_status gaze_run_set_tokens(struct gaze_run * run, int64_t T,
                                     const char * const * tokens, const size_t * lens,
                                     const int32_t * ids, const int64_t * offsets) {
    if (T < 1 || !tokens || !ids)
        return gaze_error(GAZE_ERR_INVALID_ARG, "run: set_tokens needs T >= 1, tokens and ids");
    if (run->tokens || run->n_cap_layers)
        return gaze_error(GAZE_ERR_INVALID_ARG, "run: tokens already set");
    char ** tok = calloc((size_t)T, sizeof *tok);
    int32_t * id = malloc((size_t)T * sizeof *id);
    int64_t * off = offsets ? malloc((size_t)T * 2 * sizeof *off) : NULL;
    bool oom = !tok || !id || (offsets && !off);
    for (int64_t i = 0; i < T && !oom; i++) {
        size_t n = lens ? lens[i] : strlen(tokens[i]);
        tok[i] = token_string(tokens[i], n);
        oom = !tok[i];
    }
    if (oom) {
        if (tok) for (int64_t i = 0; i < T; i++) free(tok[i]);
        free(tok); free(id); free(off);
        return gaze_error(GAZE_ERR_NOMEM, "run: out of memory for %lld tokens", (long long)T);
    }
    memcpy(id, ids, (size_t)T * sizeof *id);
    if (off) memcpy(off, offsets, (size_t)T * 2 * sizeof *off);
    run->T = T;
    run->tokens = tok;
    run->token_ids = id;
    run->offsets = off;
    return GAZE_OK;
}

static enum gaze_status index_list(const char * what, const int64_t * src, int64_t n, int64_t limit,
                                   int64_t ** out) {
    if (n < 1 || n > limit)
        return gaze_error(GAZE_ERR_INVALID_ARG, "run: %s: count %lld outside [1, %lld]", what,
                          (long long)n, (long long)limit);
    int64_t * a = malloc((size_t)n * sizeof *a);
    if (!a) return gaze_error(GAZE_ERR_NOMEM, "run: out of memory");
    for (int64_t i = 0; i < n; i++) {
        a[i] = src ? src[i] : i;
        if (a[i] < 0 || a[i] >= limit || (i > 0 && a[i] <= a[i - 1])) {
            free(a);
            return gaze_error(GAZE_ERR_INVALID_ARG,
                              "run: %s[%lld] = %lld: must be increasing and in [0, %lld)", what,
                              (long long)i, (long long)(src ? src[i] : i), (long long)limit);
        }
    }
    *out = a;
    return GAZE_OK;
}

enum gaze_status gaze_run_set_capture(struct gaze_run * run, const int64_t * heads,
                                      int64_t n_heads_cap, const int64_t * q_rows, int64_t Tq) {
    if (run->n_cap_layers)
        return gaze_error(GAZE_ERR_INVALID_ARG, "run: set_capture must come before add_layer");
    if (run->n_heads < 1 || run->T < 1)
        return gaze_error(GAZE_ERR_INVALID_ARG, "run: set n_heads and the tokens before set_capture");
    int64_t * h = NULL, * r = NULL;
    enum gaze_status s = index_list("heads", heads, heads ? n_heads_cap : run->n_heads, run->n_heads, &h);
    if (s == GAZE_OK) s = index_list("q_rows", q_rows, q_rows ? Tq : run->T, run->T, &r);
    if (s != GAZE_OK) { free(h); return s; }
    free(run->heads);
    free(run->q_rows);
    run->heads = h;
    run->n_heads_cap = heads ? n_heads_cap : run->n_heads;
    run->q_rows = r;
    run->Tq = q_rows ? Tq : run->T;
    return GAZE_OK;
}

// given: NULL, or [N_PARTS] arrays the caller allocated (gaze_alloc_recycled, the part's shape)
// that the run takes over on success; parts without one are allocated here.
static enum gaze_status add_layer(struct gaze_run * run, int64_t index, unsigned parts,
                                  struct gaze_run_layer ** out, bool zero, float * const * given) {
    *out = NULL;
    if (!run->heads) {
        enum gaze_status s = gaze_run_set_capture(run, NULL, 0, NULL, 0);
        if (s != GAZE_OK) return s;
    }
    if (index < 0 || index >= run->n_layers ||
        (run->n_cap_layers && index <= run->layers[run->n_cap_layers - 1].index))
        return gaze_error(GAZE_ERR_INVALID_ARG,
                          "run: layer %lld: must be in [0, n_layers = %lld) and after the last added",
                          (long long)index, (long long)run->n_layers);
    if (!parts || parts >= (1u << (N_PARTS + 1)))
        return gaze_error(GAZE_ERR_INVALID_ARG, "run: layer %lld: bad parts mask 0x%x", (long long)index, parts);
    if ((parts & (GAZE_RUN_PART_Q | GAZE_RUN_PART_K)) && run->d_head < 1)
        return gaze_error(GAZE_ERR_INVALID_ARG, "run: q/k capture needs d_head set");
    if ((parts & GAZE_RUN_PART_HIDDEN) && run->n_embd < 1)
        return gaze_error(GAZE_ERR_INVALID_ARG, "run: hidden capture needs n_embd set");
    if ((parts & (GAZE_RUN_PART_SUMMARY | GAZE_RUN_PART_HIDDEN)) && run->T_keys)
        return gaze_error(GAZE_ERR_INVALID_ARG, "run: cross-attention layers hold no %s",
                          parts & GAZE_RUN_PART_SUMMARY ? "summaries" : "hidden states (the decoder's have them)");
    struct gaze_run_layer * nl = realloc(run->layers, (size_t)(run->n_cap_layers + 1) * sizeof *nl);
    if (!nl) return gaze_error(GAZE_ERR_NOMEM, "run: out of memory");
    run->layers = nl;
    struct gaze_run_layer * l = &nl[run->n_cap_layers];
    memset(l, 0, sizeof *l);
    l->index = index;
    for (int p = 0; p < N_PARTS; p++) {
        if (!(parts & (1u << p))) continue;
        int64_t dims[3], n;
        int rank = part_shape(run, p, dims);
        size_t bytes;
        if (!shape_elems(dims, rank, &n) || gaze_mul_ovf((size_t)n, sizeof(float), &bytes)) {
            for (int q = 0; q < p; q++) { if (!given || !given[q]) gaze_free_recycled(*part_ptr(l, q)); *part_ptr(l, q) = NULL; }
            return gaze_error(GAZE_ERR_LIMIT, "run: layer %lld: %s array too large", (long long)index,
                              g_part_prefix[p]);
        }
        float * a = given && given[p] ? given[p] : gaze_alloc_recycled(bytes);
        if (!a) {
            for (int q = 0; q < p; q++) { if (!given || !given[q]) gaze_free_recycled(*part_ptr(l, q)); *part_ptr(l, q) = NULL; }
            return GAZE_ERR_NOMEM;
        }
        if (zero && !(given && given[p])) memset(a, 0, bytes);
        *part_ptr(l, p) = a;
    }
    if (parts & GAZE_RUN_PART_SUMMARY) {   // the defaults; a model sets its own with run_summary_alloc
        enum gaze_status s = run_summary_alloc(&l->summary, GAZE_SUMMARY_TOP_K, GAZE_SUMMARY_BLOCK, GAZE_SUMMARY_WINDOW,
                                               run->n_heads_cap, run->T);
        if (s != GAZE_OK) {
            for (int q = 0; q < N_PARTS; q++) { if (!given || !given[q]) gaze_free_recycled(*part_ptr(l, q)); *part_ptr(l, q) = NULL; }
            return s;
        }
    }
    run->n_cap_layers++;
    *out = l;
    return GAZE_OK;
}

enum gaze_status gaze_run_add_layer(struct gaze_run * run, int64_t index, unsigned parts,
                                    struct gaze_run_layer ** out) {
    return add_layer(run, index, parts, out, true, NULL);
}

// For a forward pass that writes every element of the arrays itself: the pages are first
// touched by its (threaded) writers, not by a single-threaded memset (~1 MiB per BERT layer).
enum gaze_status run_add_layer_unzeroed(struct gaze_run * run, int64_t index, unsigned parts,
                                        struct gaze_run_layer ** out) {
    return add_layer(run, index, parts, out, false, NULL);
}

enum gaze_status run_add_layer_given(struct gaze_run * run, int64_t index, unsigned parts,
                                     float * const given[5], struct gaze_run_layer ** out) {
    return add_layer(run, index, parts, out, true, given);
}

// scan: look for the key first (gaze_run_set_extra). The loader passes false: a file's
// metadata keys are already distinct (the header is a JSON object), and scanning each new key
// against all before it made a run file of 100k keys take 15-40 s to open.
static enum gaze_status set_extra(struct gaze_run * run, const char * key, const char * value, bool scan) {
    if (!key || !*key || !value)
        return gaze_error(GAZE_ERR_INVALID_ARG, "run: extra metadata needs a key and a value");
    if (is_reserved(key))
        return gaze_error(GAZE_ERR_INVALID_ARG, "run: metadata key %s is reserved", key);
    if (!gaze_json_utf8_valid(key, strlen(key), NULL) || !gaze_json_utf8_valid(value, strlen(value), NULL))
        return gaze_error(GAZE_ERR_INVALID_ARG, "run: metadata %s: invalid UTF-8", key);
    char * v = strdup(value);
    if (!v) return gaze_error(GAZE_ERR_NOMEM, "run: out of memory");
    for (int64_t i = 0; scan && i < run->n_extra; i++)
        if (!strcmp(run->extra_keys[i], key)) {
            free(run->extra_values[i]);
            run->extra_values[i] = v;
            return GAZE_OK;
        }
    char * k = strdup(key);
    // capacity doubles: it is the next power of two >= n_extra (at least 8), so the arrays
    // grow when n_extra reaches one
    const int64_t n = run->n_extra;
    bool ok = k != NULL;
    if (ok && (n == 0 || (n >= 8 && (n & (n - 1)) == 0))) {
        const size_t cap = n ? 2 * (size_t)n : 8;
        char ** nk = realloc(run->extra_keys, cap * sizeof *nk);
        if (nk) run->extra_keys = nk;
        char ** nv = nk ? realloc(run->extra_values, cap * sizeof *nv) : NULL;
        if (nv) run->extra_values = nv;
        ok = nk && nv;
    }
    if (!ok) { free(k); free(v); return gaze_error(GAZE_ERR_NOMEM, "run: out of memory"); }
    run->extra_keys[n] = k;
    run->extra_values[n] = v;
    run->n_extra = n + 1;
    return GAZE_OK;
}

enum gaze_status gaze_run_set_extra(struct gaze_run * run, const char * key, const char * value) {
    return set_extra(run, key, value, true);
}

const struct gaze_run_layer * gaze_run_find_layer(const struct gaze_run * run, int64_t index) {
    int64_t lo = 0, hi = run->n_cap_layers;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (run->layers[mid].index == index) return &run->layers[mid];
        if (run->layers[mid].index < index) lo = mid + 1; else hi = mid;
    }
    return NULL;
}

/* ---- the checker ------------------------------------------------------------------------ */

#define ATTN_SUM_TOL 5e-3   // f16 storage rounds each weight by <= 2^-11 relative

static enum gaze_status check_strings(const struct gaze_run * run, const char * label) {
    const struct { const char * name; const char * s; bool required; } f[] = {
        { "gaze.model", run->model, true }, { "gaze.arch", run->arch, true },
        { "gaze.text", run->text, false },  { "gaze.pair", run->pair, false },
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        size_t bad;
        if (!f[i].s) {
            if (f[i].required) return gaze_error(GAZE_ERR_FORMAT, "%s: %s: missing", label, f[i].name);
            continue;
        }
        if (!gaze_json_utf8_valid(f[i].s, strlen(f[i].s), &bad))
            return gaze_error(GAZE_ERR_FORMAT, "%s: %s: invalid UTF-8 at byte %zu", label, f[i].name, bad);
    }
    return GAZE_OK;
}

static enum gaze_status check_indices(const char * label, const char * what, const int64_t * a,
                                      int64_t n, int64_t limit) {
    if (!a) return gaze_error(GAZE_ERR_FORMAT, "%s: %s: missing", label, what);
    if (n < 1 || n > limit)
        return gaze_error(GAZE_ERR_FORMAT, "%s: %s: %lld entries, expected 1..%lld", label, what,
                          (long long)n, (long long)limit);
    for (int64_t i = 0; i < n; i++)
        if (a[i] < 0 || a[i] >= limit || (i && a[i] <= a[i - 1]))
            return gaze_error(GAZE_ERR_FORMAT, "%s: %s[%lld] = %lld: must be increasing and in [0, %lld)",
                              label, what, (long long)i, (long long)a[i], (long long)limit);
    return GAZE_OK;
}

static enum gaze_status check_values(const struct gaze_run * run, const char * label,
                                     const char * name, int p, const float * a) {
    int64_t dims[3], n = 0;
    int rank = part_shape(run, p, dims);
    shape_elems(dims, rank, &n);
    if (p == 0) {   // attention: probabilities, rows sum to 1 (or 0 when fully masked)
        int64_t H = dims[0], Tq = dims[1], T = dims[2];
        for (int64_t h = 0; h < H; h++)
            for (int64_t i = 0; i < Tq; i++) {
                const float * row = a + (h * Tq + i) * T;
                double sum = 0;
                for (int64_t j = 0; j < T; j++) {
                    float x = row[j];
                    if (!(x >= 0.0f && x <= 1.0f))   // also catches NaN
                        return gaze_error(GAZE_ERR_FORMAT,
                                          "%s: %s [head %lld, row %lld, key %lld]: value %g outside [0, 1]",
                                          label, name, (long long)h, (long long)i, (long long)j, (double)x);
                    if (run->causal && j > run->q_rows[i] && x != 0.0f)
                        return gaze_error(GAZE_ERR_FORMAT,
                                          "%s: %s [head %lld, row %lld, key %lld]: causal model but weight "
                                          "%g on a future key", label, name, (long long)h, (long long)i,
                                          (long long)j, (double)x);
                    sum += x;
                }
                if (sum != 0.0 && fabs(sum - 1.0) > ATTN_SUM_TOL)
                    return gaze_error(GAZE_ERR_FORMAT, "%s: %s [head %lld, row %lld]: row sums to %.6f, not 1",
                                      label, name, (long long)h, (long long)i, sum);
            }
        return GAZE_OK;
    }
    for (int64_t i = 0; i < n; i++) {
        float x = a[i];
        bool ok = isfinite(x) || (p == 1 && isinf(x) && x < 0);   // masked scores are -inf
        if (!ok)
            return gaze_error(GAZE_ERR_NUMERIC, "%s: %s [element %lld]: non-finite value %g", label, name,
                              (long long)i, (double)x);
    }
    return GAZE_OK;
}

// Image runs (vision encoders): the patch grid, each token's cell, the stored image, logits.
static enum gaze_status check_image(const struct gaze_run * run, const char * label) {
    if (!run->patch_rc && !run->image && !run->grid_rows && !run->grid_cols && !run->patch_size) {
        if (run->logits && run->n_logits < 1) return gaze_error(GAZE_ERR_FORMAT, "%s: logits without a size", label);
    } else {
        if (run->grid_rows < 1 || run->grid_cols < 1 || run->patch_size < 1 || run->grid_rows > 4096 ||
            run->grid_cols > 4096 || run->patch_size > 4096)
            return gaze_error(GAZE_ERR_FORMAT, "%s: gaze.image.grid [%lld, %lld, %lld] out of range 1..4096", label,
                              (long long)run->grid_rows, (long long)run->grid_cols, (long long)run->patch_size);
        if (!run->patch_rc) return gaze_error(GAZE_ERR_FORMAT, "%s: gaze.image.grid without gaze.image.patches", label);
        for (int64_t t = 0; t < run->T; t++) {
            const int32_t r = run->patch_rc[2 * t], c = run->patch_rc[2 * t + 1];
            if ((r == -1 && c == -1) || (r >= 0 && r < run->grid_rows && c >= 0 && c < run->grid_cols)) continue;
            return gaze_error(GAZE_ERR_FORMAT, "%s: gaze.image.patches[%lld] = [%d, %d] outside the %lld x %lld grid",
                              label, (long long)t, r, c, (long long)run->grid_rows, (long long)run->grid_cols);
        }
        if (run->image && (run->image_h < 1 || run->image_w < 1 || run->image_h > 4096 || run->image_w > 4096))
            return gaze_error(GAZE_ERR_FORMAT, "%s: image %lld x %lld out of range 1..4096", label,
                              (long long)run->image_w, (long long)run->image_h);
    }
    for (int64_t i = 0; run->logits && i < run->n_logits; i++)
        if (!isfinite(run->logits[i]))
            return gaze_error(GAZE_ERR_NUMERIC, "%s: logits [element %lld]: non-finite value %g", label, (long long)i,
                              (double)run->logits[i]);
    return GAZE_OK;
}

// Runs whose keys are not their tokens (a cross-attention part or view).
static enum gaze_status check_keys(const struct gaze_run * run, const char * label) {
    if (!run->T_keys) {
        if (run->key_tokens || run->key_ids)
            return gaze_error(GAZE_ERR_FORMAT, "%s: key tokens given but T_keys is 0", label);
        return GAZE_OK;
    }
    if (run->T_keys < 0 || !run->key_tokens || !run->key_ids)
        return gaze_error(GAZE_ERR_FORMAT, "%s: cross-attention keys: %lld key tokens, or their strings or ids missing",
                          label, (long long)run->T_keys);
    if (run->causal)
        return gaze_error(GAZE_ERR_FORMAT, "%s: cross-attention (keys other than the tokens) cannot be causal", label);
    for (int64_t j = 0; j < run->T_keys; j++) {
        if (!run->key_tokens[j] || !gaze_json_utf8_valid(run->key_tokens[j], strlen(run->key_tokens[j]), NULL))
            return gaze_error(GAZE_ERR_FORMAT, "%s: key token %lld: missing or invalid UTF-8", label, (long long)j);
        if (run->key_ids[j] < 0)
            return gaze_error(GAZE_ERR_FORMAT, "%s: key id %lld = %d is negative", label, (long long)j, run->key_ids[j]);
    }
    for (int64_t li = 0; li < run->n_cap_layers; li++)
        if (run->layers[li].summary.entropy || run->layers[li].hidden)
            return gaze_error(GAZE_ERR_FORMAT, "%s: cross layer %lld holds %s, which cross-attention has not", label,
                              (long long)run->layers[li].index, run->layers[li].hidden ? "hidden states" : "summaries");
    return GAZE_OK;
}

// The target side of an encoder-decoder run: each part a valid run of its own, the decoder
// causal over the target tokens, cross-attention from those tokens to this run's (source) tokens.
static enum gaze_status check_target(const struct gaze_run * run, const char * label) {
    if (run->T_keys || run->causal)
        return gaze_error(GAZE_ERR_FORMAT, "%s: an encoder-decoder run's encoder side must be bidirectional over its "
                          "own tokens", label);
    const struct gaze_run * part[2] = { run->decoder, run->cross };
    for (int k = 0; k < 2; k++) {
        const struct gaze_run * p = part[k];
        if (!p) continue;
        char sub[600];
        snprintf(sub, sizeof sub, "%s [%s]", label, g_sub_prefix[k]);
        if (p->decoder || p->cross || p->n_extra || p->image || p->patch_rc || p->embedding || p->logits || p->pair)
            return gaze_error(GAZE_ERR_FORMAT, "%s: a %s part holds only tokens and layers", sub, g_sub_prefix[k]);
        if (k == 0 && (!p->causal || p->T_keys))
            return gaze_error(GAZE_ERR_FORMAT, "%s: decoder self-attention must be causal over the target tokens", sub);
        if (k == 1 && p->T_keys != run->T)
            return gaze_error(GAZE_ERR_FORMAT, "%s: cross-attention has %lld keys, the encoder %lld tokens", sub,
                              (long long)p->T_keys, (long long)run->T);
        for (int64_t j = 0; k == 1 && j < run->T && p->key_tokens && p->key_ids; j++)
            if (p->key_ids[j] != run->token_ids[j] || !p->key_tokens[j] || strcmp(p->key_tokens[j], run->tokens[j]))
                return gaze_error(GAZE_ERR_FORMAT, "%s: key %lld is not the encoder's token %lld", sub, (long long)j,
                                  (long long)j);
        for (int64_t li = 0; li < p->n_cap_layers; li++)
            if (p->layers[li].summary.entropy)
                return gaze_error(GAZE_ERR_FORMAT, "%s: layer %lld: summaries are not stored for this kind", sub,
                                  (long long)p->layers[li].index);
        enum gaze_status s = gaze_run_check(p, sub);
        if (s) return s;
    }
    if (run->decoder && run->cross) {
        const struct gaze_run * d = run->decoder, * c = run->cross;
        bool same = d->T == c->T && !strcmp(d->model, c->model) && !strcmp(d->arch, c->arch);
        for (int64_t i = 0; same && i < d->T; i++) same = d->token_ids[i] == c->token_ids[i] && !strcmp(d->tokens[i], c->tokens[i]);
        if (!same)
            return gaze_error(GAZE_ERR_FORMAT, "%s: the decoder and cross parts have different target tokens", label);
    }
    return GAZE_OK;
}

enum gaze_status gaze_run_check(const struct gaze_run * run, const char * label) {
    if (!label) label = "run";
    enum gaze_status s = check_strings(run, label);
    if (s != GAZE_OK) return s;
    if (run->n_layers < 1 || run->n_layers > GAZE_RUN_MAX_LAYERS)
        return gaze_error(GAZE_ERR_FORMAT, "%s: gaze.n_layers = %lld outside [1, %d]", label,
                          (long long)run->n_layers, GAZE_RUN_MAX_LAYERS);
    if (run->n_heads < 1 || run->n_heads > GAZE_RUN_MAX_HEADS)
        return gaze_error(GAZE_ERR_FORMAT, "%s: gaze.n_heads = %lld outside [1, %d]", label,
                          (long long)run->n_heads, GAZE_RUN_MAX_HEADS);
    if (run->n_kv_heads < 1 || run->n_kv_heads > run->n_heads || run->n_heads % run->n_kv_heads)
        return gaze_error(GAZE_ERR_FORMAT, "%s: gaze.n_kv_heads = %lld must divide gaze.n_heads = %lld",
                          label, (long long)run->n_kv_heads, (long long)run->n_heads);
    if (run->d_head < 0 || run->n_embd < 0)
        return gaze_error(GAZE_ERR_FORMAT, "%s: gaze.d_head / gaze.n_embd negative", label);
    if (run->T < 1 || !run->tokens || !run->token_ids)
        return gaze_error(GAZE_ERR_FORMAT, "%s: gaze.tokens / token_ids: a run needs at least one token",
                          label);
    for (int64_t i = 0; i < run->T; i++) {
        size_t bad;
        if (!run->tokens[i])
            return gaze_error(GAZE_ERR_FORMAT, "%s: gaze.tokens[%lld]: missing", label, (long long)i);
        if (!gaze_json_utf8_valid(run->tokens[i], strlen(run->tokens[i]), &bad))
            return gaze_error(GAZE_ERR_FORMAT, "%s: gaze.tokens[%lld]: invalid UTF-8 at byte %zu", label,
                              (long long)i, bad);
        if (run->token_ids[i] < 0)
            return gaze_error(GAZE_ERR_FORMAT, "%s: token_ids[%lld] = %d is negative", label, (long long)i,
                              run->token_ids[i]);
        if (run->token_type_ids && run->token_type_ids[i] < 0)
            return gaze_error(GAZE_ERR_FORMAT, "%s: token_type_ids[%lld] = %d is negative", label,
                              (long long)i, run->token_type_ids[i]);
        int seq = run->sequence_ids ? run->sequence_ids[i] : 0;
        if (seq < -1 || seq > 1)
            return gaze_error(GAZE_ERR_FORMAT, "%s: sequence_ids[%lld] = %d outside [-1, 1]", label,
                              (long long)i, seq);
        if (seq == 1 && !run->pair)
            return gaze_error(GAZE_ERR_FORMAT, "%s: sequence_ids[%lld] = 1 but the run has no gaze.pair",
                              label, (long long)i);
        if (run->offsets) {
            int64_t b = run->offsets[2 * i], e = run->offsets[2 * i + 1];
            const char * src = seq == 1 ? run->pair : run->text;
            int64_t len = src ? (int64_t)strlen(src) : INT64_MAX;
            if (b < 0 || e < b || e > len)
                return gaze_error(GAZE_ERR_FORMAT,
                                  "%s: gaze.offsets[%lld] = [%lld, %lld] outside the %s (%lld bytes)",
                                  label, (long long)i, (long long)b, (long long)e,
                                  seq == 1 ? "pair" : "text", (long long)(src ? len : -1));
        }
    }
    if (run->n_generated < 0 || run->n_generated > run->T)
        return gaze_error(GAZE_ERR_FORMAT, "%s: gaze.n_generated = %lld outside [0, T = %lld]", label,
                          (long long)run->n_generated, (long long)run->T);
    s = check_indices(label, "gaze.heads", run->heads, run->n_heads_cap, run->n_heads);
    if (s == GAZE_OK) s = check_indices(label, "gaze.q_rows", run->q_rows, run->Tq, run->T);
    if (s != GAZE_OK) return s;
    if (run->n_cap_layers < 0 || (run->n_cap_layers && !run->layers))
        return gaze_error(GAZE_ERR_FORMAT, "%s: layers: bad count %lld", label, (long long)run->n_cap_layers);
    for (int64_t li = 0; li < run->n_cap_layers; li++) {
        const struct gaze_run_layer * l = &run->layers[li];
        if (l->index < 0 || l->index >= run->n_layers || (li && l->index <= run->layers[li - 1].index))
            return gaze_error(GAZE_ERR_FORMAT,
                              "%s: gaze.layers[%lld] = %lld: must be increasing and in [0, n_layers = %lld)",
                              label, (long long)li, (long long)l->index, (long long)run->n_layers);
        bool any = false;
        for (int p = 0; p < N_PARTS; p++) {
            const float * a = *part_ptr((struct gaze_run_layer *)l, p);
            if (!a) continue;
            any = true;
            char name[64];
            snprintf(name, sizeof name, "%s.%lld", g_part_prefix[p], (long long)l->index);
            if ((p == 2 || p == 3) && run->d_head < 1)
                return gaze_error(GAZE_ERR_FORMAT, "%s: %s present but gaze.d_head unknown", label, name);
            if (p == 4 && run->n_embd < 1)
                return gaze_error(GAZE_ERR_FORMAT, "%s: %s present but gaze.n_embd unknown", label, name);
            s = check_values(run, label, name, p, a);
            if (s != GAZE_OK) return s;
        }
        if (l->summary.entropy) {
            any = true;
            if ((s = run_summary_check(run, l, label)) != GAZE_OK) return s;
        }
        if (!any)
            return gaze_error(GAZE_ERR_FORMAT, "%s: layer %lld holds no captured tensor", label,
                              (long long)l->index);
    }
    if (run->embedding) {
        if (run->n_embd < 1)
            return gaze_error(GAZE_ERR_FORMAT, "%s: embedding present but gaze.n_embd unknown", label);
        for (int64_t i = 0; i < run->n_embd; i++)
            if (!isfinite(run->embedding[i]))
                return gaze_error(GAZE_ERR_NUMERIC, "%s: embedding [element %lld]: non-finite value %g",
                                  label, (long long)i, (double)run->embedding[i]);
    }
    if ((s = check_image(run, label))) return s;
    if ((s = check_keys(run, label))) return s;
    if ((run->decoder || run->cross) && (s = check_target(run, label))) return s;
    if ((s = run_clip_check(run, label))) return s;
    for (int64_t i = 0; i < run->n_extra; i++) {
        if (!run->extra_keys[i] || !run->extra_values[i] || is_reserved(run->extra_keys[i]))
            return gaze_error(GAZE_ERR_FORMAT, "%s: extra metadata %lld: missing or reserved key", label,
                              (long long)i);
        if (!gaze_json_utf8_valid(run->extra_keys[i], strlen(run->extra_keys[i]), NULL) ||
            !gaze_json_utf8_valid(run->extra_values[i], strlen(run->extra_values[i]), NULL))
            return gaze_error(GAZE_ERR_FORMAT, "%s: extra metadata %lld: invalid UTF-8", label, (long long)i);
    }
    return GAZE_OK;
}

/* ---- save ------------------------------------------------------------------------------- */

static json_t * int_array(const int64_t * a, int64_t n) {
    json_t * arr = json_array();
    for (int64_t i = 0; arr && i < n; i++)
        if (json_array_append_new(arr, json_integer((json_int_t)a[i])) != 0) { json_decref(arr); return NULL; }
    return arr;
}

// Sets metadata key to the compact JSON of v (consumed).
static enum gaze_status meta_json(struct gaze_st_writer * w, const char * key, json_t * v) {
    char * s = v ? gaze_json_dump(v) : NULL;
    json_decref(v);
    if (!s) return gaze_error(GAZE_ERR_NOMEM, "run: out of memory building %s", key);
    enum gaze_status st = gaze_st_writer_set_metadata(w, key, s);
    free(s);
    return st;
}

static enum gaze_status meta_int(struct gaze_st_writer * w, const char * key, int64_t v) {
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)v);
    return gaze_st_writer_set_metadata(w, key, buf);
}

// gaze.image.grid [rows, cols, patch] and gaze.image.patches [[row, col], ...] of image runs.
static enum gaze_status save_image_meta(struct gaze_st_writer * w, const struct gaze_run * run) {
    if (!run->patch_rc) return GAZE_OK;
    const int64_t grid[3] = { run->grid_rows, run->grid_cols, run->patch_size };
    enum gaze_status s = meta_json(w, "gaze.image.grid", int_array(grid, 3));
    json_t * rc = json_array();
    for (int64_t t = 0; rc && t < run->T; t++) {
        const int64_t p[2] = { run->patch_rc[2 * t], run->patch_rc[2 * t + 1] };
        if (json_array_append_new(rc, int_array(p, 2)) != 0) { json_decref(rc); rc = NULL; }
    }
    if (s == GAZE_OK) s = meta_json(w, "gaze.image.patches", rc);
    else json_decref(rc);
    return s;
}

// The layer tensors of run, named prefix + part + "." + layer: pass 0 the F32 ones, pass 1
// the F16 attention (f16).
static enum gaze_status save_layers(struct gaze_st_writer * w, const struct gaze_run * run, const char * prefix,
                                    bool f16, int pass) {
    enum gaze_status s = GAZE_OK;
    for (int p = 0; p < N_PARTS && s == GAZE_OK; p++)
        for (int64_t li = 0; li < run->n_cap_layers && s == GAZE_OK; li++) {
            const float * a = *part_ptr(&run->layers[li], p);
            bool half = p == 0 && f16;
            if (!a || half != (pass == 1)) continue;
            char name[80];
            snprintf(name, sizeof name, "%s%s.%lld", prefix, g_part_prefix[p], (long long)run->layers[li].index);
            int64_t dims[3];
            int rank = part_shape(run, p, dims);
            if (half) s = gaze_st_writer_add_f32(w, name, GAZE_DTYPE_F16, rank, dims, a);
            else s = gaze_st_writer_add_ref(w, name, GAZE_DTYPE_F32, rank, dims, a);
        }
    return s;
}

static json_t * layer_array(const struct gaze_run * run) {
    json_t * layers = json_array();
    for (int64_t i = 0; layers && i < run->n_cap_layers; i++)
        if (json_array_append_new(layers, json_integer(run->layers[i].index)) != 0) {
            json_decref(layers);
            layers = NULL;
        }
    return layers;
}

static json_t * string_array(char * const * a, int64_t n) {
    json_t * arr = json_array();
    for (int64_t i = 0; arr && i < n; i++)
        if (json_array_append_new(arr, json_string(a[i])) != 0) { json_decref(arr); arr = NULL; }
    return arr;
}

// gaze.kinds, the target tokens and text, and gaze.<kind>.* of the decoder and cross parts.
static enum gaze_status save_target_meta(struct gaze_st_writer * w, const struct gaze_run * run) {
    const struct gaze_run * sub[2] = { run->decoder, run->cross };
    const struct gaze_run * tgt = run->decoder ? run->decoder : run->cross;
    json_t * kinds = json_array();
    if (kinds) json_array_append_new(kinds, json_string("encoder"));
    for (int k = 0; kinds && k < 2; k++)
        if (sub[k]) json_array_append_new(kinds, json_string(g_sub_prefix[k]));
    enum gaze_status s = meta_json(w, "gaze.kinds", kinds);
    if (s == GAZE_OK) s = meta_json(w, "gaze.target_tokens", string_array(tgt->tokens, tgt->T));
    if (s == GAZE_OK && tgt->text) s = gaze_st_writer_set_metadata(w, "gaze.target_text", tgt->text);
    for (int k = 0; k < 2 && s == GAZE_OK; k++) {
        const struct gaze_run * p = sub[k];
        if (!p) continue;
        char key[64];
        const struct { const char * name; int64_t v; } ints[] = {
            { "n_layers", p->n_layers }, { "n_heads", p->n_heads }, { "n_kv_heads", p->n_kv_heads },
            { "d_head", p->d_head }, { "n_embd", p->n_embd }, { "n_generated", p->n_generated },
        };
        for (size_t i = 0; i < sizeof ints / sizeof ints[0] && s == GAZE_OK; i++) {
            if (!ints[i].v && (i == 3 || i == 4)) continue;
            snprintf(key, sizeof key, "gaze.%s.%s", g_sub_prefix[k], ints[i].name);
            s = meta_int(w, key, ints[i].v);
        }
        snprintf(key, sizeof key, "gaze.%s.heads", g_sub_prefix[k]);
        if (s == GAZE_OK) s = meta_json(w, key, int_array(p->heads, p->n_heads_cap));
        snprintf(key, sizeof key, "gaze.%s.q_rows", g_sub_prefix[k]);
        if (s == GAZE_OK) s = meta_json(w, key, int_array(p->q_rows, p->Tq));
        snprintf(key, sizeof key, "gaze.%s.layers", g_sub_prefix[k]);
        if (s == GAZE_OK) s = meta_json(w, key, layer_array(p));
    }
    return s;
}

enum gaze_status gaze_run_save(const struct gaze_run * run, const char * path, bool f16) {
    if (run->T_keys)
        return gaze_error(GAZE_ERR_INVALID_ARG, "%s: a cross-attention view is not saved on its own: save the "
                          "encoder-decoder run it belongs to", path);
    enum gaze_status s = gaze_run_check(run, path);
    if (s != GAZE_OK) return s;
    struct gaze_st_writer * w;
    s = gaze_st_writer_init(&w, path);
    if (s != GAZE_OK) return s;

    char ver[8];
    snprintf(ver, sizeof ver, "%d", GAZE_RUN_FORMAT_VERSION);
    s = gaze_st_writer_set_metadata(w, "gaze.format_version", ver);
    if (s == GAZE_OK) s = gaze_st_writer_set_metadata(w, "gaze.model", run->model);
    if (s == GAZE_OK) s = gaze_st_writer_set_metadata(w, "gaze.arch", run->arch);
    if (s == GAZE_OK) s = gaze_st_writer_set_metadata(w, "gaze.causal", run->causal ? "true" : "false");
    if (s == GAZE_OK) s = meta_int(w, "gaze.n_layers", run->n_layers);
    if (s == GAZE_OK) s = meta_int(w, "gaze.n_heads", run->n_heads);
    if (s == GAZE_OK) s = meta_int(w, "gaze.n_kv_heads", run->n_kv_heads);
    if (s == GAZE_OK && run->d_head) s = meta_int(w, "gaze.d_head", run->d_head);
    if (s == GAZE_OK && run->n_embd) s = meta_int(w, "gaze.n_embd", run->n_embd);
    if (s == GAZE_OK && run->text) s = gaze_st_writer_set_metadata(w, "gaze.text", run->text);
    if (s == GAZE_OK && run->pair) s = gaze_st_writer_set_metadata(w, "gaze.pair", run->pair);
    if (s == GAZE_OK) s = meta_int(w, "gaze.n_generated", run->n_generated);
    if (s == GAZE_OK) {
        json_t * toks = json_array();
        for (int64_t i = 0; toks && i < run->T; i++)
            if (json_array_append_new(toks, json_string(run->tokens[i])) != 0) {
                json_decref(toks);
                toks = NULL;
            }
        s = meta_json(w, "gaze.tokens", toks);
    }
    if (s == GAZE_OK && run->offsets) {
        json_t * offs = json_array();
        for (int64_t i = 0; offs && i < run->T; i++)
            if (json_array_append_new(offs, int_array(run->offsets + 2 * i, 2)) != 0) {
                json_decref(offs);
                offs = NULL;
            }
        s = meta_json(w, "gaze.offsets", offs);
    }
    if (s == GAZE_OK) s = meta_json(w, "gaze.heads", int_array(run->heads, run->n_heads_cap));
    if (s == GAZE_OK) s = meta_json(w, "gaze.q_rows", int_array(run->q_rows, run->Tq));
    if (s == GAZE_OK) {
        json_t * layers = json_array();
        for (int64_t i = 0; layers && i < run->n_cap_layers; i++)
            if (json_array_append_new(layers, json_integer(run->layers[i].index)) != 0) {
                json_decref(layers);
                layers = NULL;
            }
        s = meta_json(w, "gaze.layers", layers);
    }
    if (s == GAZE_OK) s = save_image_meta(w, run);
    for (int64_t i = 0; s == GAZE_OK && i < run->n_extra; i++)
        s = gaze_st_writer_set_metadata(w, run->extra_keys[i], run->extra_values[i]);
    if (s == GAZE_OK) s = run_summary_save_meta(run, w);
    const struct gaze_run * sub[2] = { run->decoder, run->cross };
    const struct gaze_run * tgt = run->decoder ? run->decoder : run->cross;
    if (s == GAZE_OK && tgt) s = save_target_meta(w, run);

    // Order keeps every F32 tensor 4-byte aligned in the file (data starts 8-aligned): F32
    // first, then F16 attention, then the integer tensors.
    for (int pass = 0; pass < 2 && s == GAZE_OK; pass++) {
        s = save_layers(w, run, "", f16, pass);
        for (int k = 0; k < 2 && s == GAZE_OK; k++)
            if (sub[k]) s = save_layers(w, sub[k], k ? "cross." : "decoder.", f16, pass);
        if (pass == 0 && s == GAZE_OK) s = run_summary_save(run, w, true);
        if (pass == 0 && s == GAZE_OK) s = run_clip_save(run, w, true);
        if (pass == 0 && s == GAZE_OK && run->embedding) {
            int64_t shape_e[1] = { run->n_embd };
            s = gaze_st_writer_add_ref(w, "embedding", GAZE_DTYPE_F32, 1, shape_e, run->embedding);
        }
        if (pass == 0 && s == GAZE_OK && run->logits) {
            int64_t shape_l[1] = { run->n_logits };
            s = gaze_st_writer_add_ref(w, "logits", GAZE_DTYPE_F32, 1, shape_l, run->logits);
        }
    }
    int64_t shape_t[1] = { run->T };
    if (s == GAZE_OK) s = gaze_st_writer_add_ref(w, "token_ids", GAZE_DTYPE_I32, 1, shape_t, run->token_ids);
    if (s == GAZE_OK && run->token_type_ids)
        s = gaze_st_writer_add_ref(w, "token_type_ids", GAZE_DTYPE_I32, 1, shape_t, run->token_type_ids);
    if (s == GAZE_OK) s = run_summary_save(run, w, false);
    if (s == GAZE_OK) s = run_clip_save(run, w, false);
    if (s == GAZE_OK && run->sequence_ids)
        s = gaze_st_writer_add_ref(w, "sequence_ids", GAZE_DTYPE_I8, 1, shape_t, run->sequence_ids);
    if (s == GAZE_OK && tgt) {
        int64_t shape_tt[1] = { tgt->T };
        s = gaze_st_writer_add_ref(w, "target_ids", GAZE_DTYPE_I32, 1, shape_tt, tgt->token_ids);
    }
    if (s == GAZE_OK && run->image) {
        int64_t shape_i[3] = { run->image_h, run->image_w, 3 };
        s = gaze_st_writer_add_ref(w, "image", GAZE_DTYPE_U8, 3, shape_i, run->image);
    }
    if (s == GAZE_OK) s = gaze_st_writer_finish(w);
    gaze_st_writer_free(w);
    return s;
}

/* ---- load ------------------------------------------------------------------------------- */

struct run_load {
    const struct gaze_safetensors * st;
    const char *                    path;
};

static enum gaze_status meta_str(const struct run_load * L, const char * key, bool required,
                                 char ** out) {
    const char * v = gaze_safetensors_metadata(L->st, key);
    if (!v) {
        if (required) return gaze_error(GAZE_ERR_FORMAT, "%s: metadata %s: missing", L->path, key);
        return GAZE_OK;
    }
    *out = strdup(v);
    if (!*out) return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", L->path);
    return GAZE_OK;
}

// Strict decimal: digits only (optional leading '-'), no spaces, no leading '+' or zeros.
static bool parse_i64(const char * s, int64_t * out) {
    const char * p = s;
    bool neg = *p == '-';
    if (neg) p++;
    if (!*p || (p[0] == '0' && p[1]) || strlen(p) > 18) return false;
    int64_t x = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9') return false;
        x = x * 10 + (*p - '0');
    }
    *out = neg ? -x : x;
    return true;
}

static enum gaze_status meta_i64(const struct run_load * L, const char * key, bool required,
                                 int64_t lo, int64_t hi, int64_t def, int64_t * out) {
    const char * v = gaze_safetensors_metadata(L->st, key);
    *out = def;
    if (!v) {
        if (required) return gaze_error(GAZE_ERR_FORMAT, "%s: metadata %s: missing", L->path, key);
        return GAZE_OK;
    }
    int64_t x;
    if (!parse_i64(v, &x) || x < lo || x > hi) {
        char nb[48];
        snprintf(nb, sizeof nb, "%.40s", v);
        for (char * c = nb; *c; c++) if ((unsigned char)*c < 0x20) *c = '?';
        return gaze_error(GAZE_ERR_FORMAT, "%s: metadata %s: expected an integer in [%lld, %lld], got \"%s\"",
                          L->path, key, (long long)lo, (long long)hi, nb);
    }
    *out = x;
    return GAZE_OK;
}

// Parses metadata key as a JSON array (NULL *out when absent and optional).
static enum gaze_status meta_array(const struct run_load * L, const char * key, bool required,
                                   json_t ** out) {
    *out = NULL;
    const char * v = gaze_safetensors_metadata(L->st, key);
    if (!v) {
        if (required) return gaze_error(GAZE_ERR_FORMAT, "%s: metadata %s: missing", L->path, key);
        return GAZE_OK;
    }
    char label[512];
    snprintf(label, sizeof label, "%s: metadata %s", L->path, key);
    json_t * j;
    enum gaze_status s = gaze_json_load_buffer(&j, v, strlen(v), label, 0, 8);
    if (s != GAZE_OK) return s;
    if (!json_is_array(j)) {
        s = gaze_error(GAZE_ERR_FORMAT, "%s: expected a JSON array, got %s", label, gaze_json_type_name(j));
        json_decref(j);
        return s;
    }
    *out = j;
    return GAZE_OK;
}

// JSON integer array -> malloc'd int64 [n] (NULL arr: *out NULL).
static enum gaze_status ints_of(const struct run_load * L, const char * key, const json_t * arr,
                                int64_t ** out, int64_t * n) {
    *out = NULL;
    *n = 0;
    if (!arr) return GAZE_OK;
    size_t m = json_array_size(arr);
    int64_t * a = malloc((m ? m : 1) * sizeof *a);
    if (!a) return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", L->path);
    for (size_t i = 0; i < m; i++) {
        json_t * x = json_array_get(arr, i);
        if (!json_is_integer(x)) {
            free(a);
            return gaze_error(GAZE_ERR_FORMAT, "%s: metadata %s[%zu]: expected integer, got %s", L->path,
                              key, i, gaze_json_type_name(x));
        }
        a[i] = (int64_t)json_integer_value(x);
    }
    *out = a;
    *n = (int64_t)m;
    return GAZE_OK;
}

static enum gaze_status tensor_shape_is(const struct run_load * L, const struct gaze_st_tensor * t,
                                        const int64_t * dims, int rank) {
    bool ok = t->n_dims == rank;
    for (int i = 0; ok && i < rank; i++) ok = t->shape[i] == dims[i];
    if (ok) return GAZE_OK;
    char got[160] = "[", want[160] = "[";
    for (int i = 0; i < t->n_dims; i++)
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", i ? ", " : "", (long long)t->shape[i]);
    for (int i = 0; i < rank; i++)
        snprintf(want + strlen(want), sizeof want - strlen(want), "%s%lld", i ? ", " : "", (long long)dims[i]);
    strcat(got, "]");
    strcat(want, "]");
    return gaze_error(GAZE_ERR_FORMAT, "%s: tensor %s: shape %s, expected %s from the metadata", L->path,
                      t->name, got, want);
}

// Reads a float tensor (F32/F16/BF16) of the given shape into a new aligned f32 array
// (recycled: a layer part, freed with gaze_free_recycled).
static enum gaze_status read_floats(const struct run_load * L, const struct gaze_st_tensor * t,
                                    const int64_t * dims, int rank, bool recycled, float ** out) {
    if (t->dtype != GAZE_DTYPE_F32 && t->dtype != GAZE_DTYPE_F16 && t->dtype != GAZE_DTYPE_BF16)
        return gaze_error(GAZE_ERR_FORMAT, "%s: tensor %s: dtype %s, expected F32, F16 or BF16", L->path,
                          t->name, gaze_dtype_name(t->dtype));
    enum gaze_status s = tensor_shape_is(L, t, dims, rank);
    if (s != GAZE_OK) return s;
    const size_t bytes = (size_t)t->n_elements * sizeof(float);
    float * a = recycled ? gaze_alloc_recycled(bytes) : gaze_alloc_aligned(bytes);
    if (!a) return GAZE_ERR_NOMEM;
    s = gaze_st_tensor_to_f32(t, a, t->n_elements);
    if (s != GAZE_OK) {
        if (recycled) gaze_free_recycled(a); else gaze_free_aligned(a);
        return s;
    }
    *out = a;
    return GAZE_OK;
}

static enum gaze_status read_ints(const struct run_load * L, const char * name, enum gaze_dtype dt,
                                  int64_t T, bool required, void ** out) {
    *out = NULL;
    const struct gaze_st_tensor * t = gaze_safetensors_find(L->st, name);
    if (!t) {
        if (required) return gaze_error(GAZE_ERR_FORMAT, "%s: tensor %s: missing", L->path, name);
        return GAZE_OK;
    }
    if (t->dtype != dt)
        return gaze_error(GAZE_ERR_FORMAT, "%s: tensor %s: dtype %s, expected %s", L->path, name,
                          gaze_dtype_name(t->dtype), gaze_dtype_name(dt));
    int64_t dims[1] = { T };
    enum gaze_status s = tensor_shape_is(L, t, dims, 1);
    if (s != GAZE_OK) return s;
    *out = malloc(t->n_bytes ? t->n_bytes : 1);
    if (!*out) return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", L->path);
    memcpy(*out, t->data, t->n_bytes);
    return GAZE_OK;
}

// "attention.12" -> part 0, layer 12. false for names outside the layer families.
static bool layer_tensor(const char * name, int * part, int64_t * layer) {
    for (int p = 0; p < N_PARTS; p++) {
        size_t n = strlen(g_part_prefix[p]);
        if (strncmp(name, g_part_prefix[p], n) || name[n] != '.') continue;
        const char * d = name + n + 1;
        if (!*d || strlen(d) > 9 || (d[0] == '0' && d[1])) return false;
        int64_t x = 0;
        for (const char * c = d; *c; c++) {
            if (!isdigit((unsigned char)*c)) return false;
            x = x * 10 + (*c - '0');
        }
        *part = p;
        *layer = x;
        return true;
    }
    return false;
}

static int cmp_i64(const void * a, const void * b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

// The image part of a run file (all optional; gaze_run_check validates the values).
static enum gaze_status load_image(struct gaze_run * run, const struct run_load * L) {
    json_t * grid = NULL, * rc = NULL;
    enum gaze_status s = meta_array(L, "gaze.image.grid", false, &grid);
    if (!s) s = meta_array(L, "gaze.image.patches", false, &rc);
    if (!s && (!grid) != (!rc))
        s = gaze_error(GAZE_ERR_FORMAT, "%s: metadata gaze.image.grid and gaze.image.patches come together", L->path);
    if (!s && grid) {
        int64_t * g = NULL, n = 0;
        if (!(s = ints_of(L, "gaze.image.grid", grid, &g, &n)) && n != 3)
            s = gaze_error(GAZE_ERR_FORMAT, "%s: metadata gaze.image.grid: expected [rows, cols, patch]", L->path);
        if (!s) { run->grid_rows = g[0]; run->grid_cols = g[1]; run->patch_size = g[2]; }
        free(g);
        if (!s && json_array_size(rc) != (size_t)run->T)
            s = gaze_error(GAZE_ERR_FORMAT, "%s: metadata gaze.image.patches: %zu entries for %lld tokens", L->path,
                           json_array_size(rc), (long long)run->T);
        if (!s && !(run->patch_rc = malloc((size_t)run->T * 2 * sizeof *run->patch_rc)))
            s = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", L->path);
        for (int64_t t = 0; !s && t < run->T; t++) {
            const json_t * e = json_array_get(rc, (size_t)t);
            const json_t * r = json_array_get(e, 0), * c = json_array_get(e, 1);
            if (!json_is_array(e) || json_array_size(e) != 2 || !json_is_integer(r) || !json_is_integer(c) ||
                json_integer_value(r) < -1 || json_integer_value(r) > 4096 || json_integer_value(c) < -1 ||
                json_integer_value(c) > 4096)
                s = gaze_error(GAZE_ERR_FORMAT, "%s: metadata gaze.image.patches[%lld]: expected [row, col] integers",
                               L->path, (long long)t);
            else { run->patch_rc[2 * t] = (int32_t)json_integer_value(r); run->patch_rc[2 * t + 1] = (int32_t)json_integer_value(c); }
        }
    }
    json_decref(grid);
    json_decref(rc);
    const struct gaze_st_tensor * ti = gaze_safetensors_find(L->st, "image");
    if (!s && ti) {
        if (ti->dtype != GAZE_DTYPE_U8 || ti->n_dims != 3 || ti->shape[2] != 3 || ti->shape[0] < 1 ||
            ti->shape[1] < 1 || ti->shape[0] > 4096 || ti->shape[1] > 4096)
            s = gaze_error(GAZE_ERR_FORMAT, "%s: tensor image: expected U8 [h, w, 3] with sides in 1..4096", L->path);
        else if (!run->patch_rc)
            s = gaze_error(GAZE_ERR_FORMAT, "%s: tensor image without metadata gaze.image.grid", L->path);
        else if (!(run->image = malloc(ti->n_bytes))) s = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", L->path);
        else { memcpy(run->image, ti->data, ti->n_bytes); run->image_h = ti->shape[0]; run->image_w = ti->shape[1]; }
    }
    const struct gaze_st_tensor * tl = gaze_safetensors_find(L->st, "logits");
    if (!s && tl) {
        if (tl->n_dims != 1 || tl->shape[0] < 1 || tl->shape[0] > (1 << 24))
            s = gaze_error(GAZE_ERR_FORMAT, "%s: tensor logits: expected [n] with 1 <= n <= 2^24", L->path);
        else {
            int64_t dims[1] = { tl->shape[0] };
            float * a = NULL;
            if (!(s = read_floats(L, tl, dims, 1, false, &a))) {
                // the run owns malloc'd logits (freed with free): copy out of the aligned buffer
                run->logits = malloc((size_t)dims[0] * sizeof(float));
                if (!run->logits) s = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", L->path);
                else { memcpy(run->logits, a, (size_t)dims[0] * sizeof(float)); run->n_logits = dims[0]; }
                gaze_free_aligned(a);
            }
        }
    }
    return s;
}

// The captured heads, rows and layers of run (its tokens set) from the file: metadata
// gaze.<kind.>heads / q_rows / layers and tensors <kind.>attention.L ... (kind "": the
// encoder or only run; summaries belong to it alone).
static enum gaze_status load_capture(struct gaze_run * run, const struct run_load * L, const char * kind) {
    char kh[64], kr[64], kl[64];
    snprintf(kh, sizeof kh, "gaze.%sheads", kind);
    snprintf(kr, sizeof kr, "gaze.%sq_rows", kind);
    snprintf(kl, sizeof kl, "gaze.%slayers", kind);
    const size_t kn = strlen(kind);
    const int64_t T = run->T;
    json_t * jh, * jr, * jl;
    int64_t nh = 0, nr = 0, nl = 0, * layers_meta = NULL;
    enum gaze_status s = meta_array(L, kh, false, &jh);
    if (s == GAZE_OK) { s = ints_of(L, kh, jh, &run->heads, &nh); json_decref(jh); }
    if (s == GAZE_OK) s = meta_array(L, kr, false, &jr);
    if (s == GAZE_OK) { s = ints_of(L, kr, jr, &run->q_rows, &nr); json_decref(jr); }
    if (s == GAZE_OK) s = meta_array(L, kl, false, &jl);
    if (s == GAZE_OK) { s = ints_of(L, kl, jl, &layers_meta, &nl); json_decref(jl); }
    if (s != GAZE_OK) { free(layers_meta); return s; }
    if (!run->heads) {
        nh = run->n_heads;
        if (!(run->heads = malloc((size_t)nh * sizeof *run->heads))) s = GAZE_ERR_NOMEM;
        for (int64_t i = 0; s == GAZE_OK && i < nh; i++) run->heads[i] = i;
    }
    if (s == GAZE_OK && !run->q_rows) {
        nr = T;
        if (!(run->q_rows = malloc((size_t)nr * sizeof *run->q_rows))) s = GAZE_ERR_NOMEM;
        for (int64_t i = 0; s == GAZE_OK && i < nr; i++) run->q_rows[i] = i;
    }
    run->n_heads_cap = nh;
    run->Tq = nr;
    if (s == GAZE_OK) s = check_indices(L->path, kh, run->heads, nh, run->n_heads);
    if (s == GAZE_OK) s = check_indices(L->path, kr, run->q_rows, nr, T);
    if (s != GAZE_OK) { free(layers_meta); return s == GAZE_ERR_NOMEM ? gaze_error(s, "%s: out of memory", L->path) : s; }

    // Layers: every attention./scores./q./k./hidden. tensor names one; gaze.layers must agree.
    int64_t nt = gaze_safetensors_n_tensors(L->st), n_found = 0;
    int64_t * found = malloc((size_t)(nt ? nt : 1) * sizeof *found);
    if (!found) { free(layers_meta); return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", L->path); }
    for (int64_t i = 0; i < nt; i++) {
        int part;
        int64_t li;
        const struct gaze_st_tensor * t = gaze_safetensors_tensor(L->st, i);
        if (strncmp(t->name, kind, kn)) continue;
        if (!layer_tensor(t->name + kn, &part, &li) && (kn || !run_summary_tensor(t->name, &li))) continue;
        if (li >= run->n_layers) {
            free(found); free(layers_meta);
            return gaze_error(GAZE_ERR_FORMAT, "%s: tensor %s: layer %lld but gaze.%sn_layers = %lld", L->path,
                              t->name, (long long)li, kind, (long long)run->n_layers);
        }
        found[n_found++] = li;
    }
    qsort(found, (size_t)n_found, sizeof *found, cmp_i64);
    int64_t n_uniq = 0;
    for (int64_t i = 0; i < n_found; i++)
        if (!n_uniq || found[n_uniq - 1] != found[i]) found[n_uniq++] = found[i];
    if (layers_meta) {
        bool same = nl == n_uniq;
        for (int64_t i = 0; same && i < nl; i++) same = layers_meta[i] == found[i];
        if (!same) {
            free(found); free(layers_meta);
            return gaze_error(GAZE_ERR_FORMAT,
                              "%s: metadata %s lists %lld layers but the file holds tensors for %lld "
                              "(or different ones)", L->path, kl, (long long)nl, (long long)n_uniq);
        }
    }
    free(layers_meta);
    run->layers = calloc((size_t)(n_uniq ? n_uniq : 1), sizeof *run->layers);
    if (!run->layers) { free(found); return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", L->path); }
    run->n_cap_layers = n_uniq;
    for (int64_t i = 0; i < n_uniq; i++) run->layers[i].index = found[i];
    free(found);

    // d_head and n_embd may be implied by the tensors when the metadata leaves them out.
    for (int64_t li = 0; li < run->n_cap_layers && s == GAZE_OK; li++)
        for (int part = 0; part < N_PARTS && s == GAZE_OK; part++) {
            char name[80];
            snprintf(name, sizeof name, "%s%s.%lld", kind, g_part_prefix[part], (long long)run->layers[li].index);
            const struct gaze_st_tensor * t = gaze_safetensors_find(L->st, name);
            if (!t) continue;
            if ((part == 2 || part == 3) && run->d_head == 0 && t->n_dims == 3) run->d_head = t->shape[2];
            if (part == 4 && run->n_embd == 0 && t->n_dims == 2) run->n_embd = t->shape[1];
            int64_t dims[3];
            int rank = part_shape(run, part, dims);
            s = read_floats(L, t, dims, rank, true, part_ptr(&run->layers[li], part));
        }
    return s;
}

// A JSON array of strings (the target tokens) -> token strings [n] (U+FFFD replaced).
static enum gaze_status strings_of(const struct run_load * L, const char * key, const json_t * arr, char *** out,
                                   int64_t * n) {
    const int64_t m = (int64_t)json_array_size(arr);
    *out = NULL;
    *n = 0;
    if (m < 1) return gaze_error(GAZE_ERR_FORMAT, "%s: metadata %s: empty", L->path, key);
    char ** a = calloc((size_t)m, sizeof *a);
    if (!a) return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", L->path);
    enum gaze_status s = GAZE_OK;
    for (int64_t i = 0; i < m && s == GAZE_OK; i++) {
        json_t * x = json_array_get(arr, (size_t)i);
        if (!json_is_string(x))
            s = gaze_error(GAZE_ERR_FORMAT, "%s: metadata %s[%lld]: expected string, got %s", L->path, key,
                           (long long)i, gaze_json_type_name(x));
        else if (!(a[i] = token_string(json_string_value(x), json_string_length(x))))
            s = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", L->path);
    }
    if (s) {
        for (int64_t i = 0; i < m; i++) free(a[i]);
        free(a);
        return s;
    }
    *out = a;
    *n = m;
    return GAZE_OK;
}

// One part of the target side (k 0: decoder, 1: cross) from gaze.<kind>.* and its tensors.
static enum gaze_status load_part(struct gaze_run * run, const struct run_load * L, int k, char * const * ttok,
                                  int64_t Tt, const int32_t * tids, struct gaze_run ** out) {
    struct gaze_run * p = calloc(1, sizeof *p);
    if (!p) return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", L->path);
    *out = p;   // owned by run from here (freed with it on failure)
    const char * kn = g_sub_prefix[k];
    char key[64], prefix[16];
    p->causal = k == 0;
    p->model = strdup(run->model);
    p->arch = strdup(run->arch);
    p->tokens = calloc((size_t)Tt, sizeof *p->tokens);
    p->token_ids = malloc((size_t)Tt * sizeof *p->token_ids);
    if (!p->model || !p->arch || !p->tokens || !p->token_ids) return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", L->path);
    p->T = Tt;
    memcpy(p->token_ids, tids, (size_t)Tt * sizeof *tids);
    for (int64_t i = 0; i < Tt; i++)
        if (!(p->tokens[i] = strdup(ttok[i]))) return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", L->path);
    enum gaze_status s = meta_str(L, "gaze.target_text", false, &p->text);
    const struct { const char * name; int64_t lo, hi, def; int64_t * out; } ints[] = {
        { "n_layers", 1, GAZE_RUN_MAX_LAYERS, run->n_layers, &p->n_layers },
        { "n_heads", 1, GAZE_RUN_MAX_HEADS, run->n_heads, &p->n_heads },
        { "n_kv_heads", 1, GAZE_RUN_MAX_HEADS, run->n_kv_heads, &p->n_kv_heads },
        { "d_head", 1, 1 << 20, 0, &p->d_head },
        { "n_embd", 1, 1 << 24, 0, &p->n_embd },
        { "n_generated", 0, INT64_MAX / 2, 0, &p->n_generated },
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0] && s == GAZE_OK; i++) {
        snprintf(key, sizeof key, "gaze.%s.%s", kn, ints[i].name);
        s = meta_i64(L, key, false, ints[i].lo, ints[i].hi, ints[i].def, ints[i].out);
    }
    if (s == GAZE_OK && k == 1) {   // keys: the encoder's tokens
        p->key_tokens = calloc((size_t)run->T, sizeof *p->key_tokens);
        p->key_ids = malloc((size_t)run->T * sizeof *p->key_ids);
        if (!p->key_tokens || !p->key_ids) return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", L->path);
        p->T_keys = run->T;
        memcpy(p->key_ids, run->token_ids, (size_t)run->T * sizeof *p->key_ids);
        for (int64_t j = 0; j < run->T; j++)
            if (!(p->key_tokens[j] = strdup(run->tokens[j]))) return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", L->path);
    }
    snprintf(prefix, sizeof prefix, "%s.", kn);
    if (s == GAZE_OK) s = load_capture(p, L, prefix);
    return s;
}

// The target side of an encoder-decoder run (gaze.kinds lists more than the encoder).
static enum gaze_status load_target(struct gaze_run * run, const struct run_load * L) {
    json_t * jk = NULL, * jt = NULL;
    enum gaze_status s = meta_array(L, "gaze.kinds", false, &jk);
    if (s) return s;
    if (!jk) {
        if (gaze_safetensors_metadata(L->st, "gaze.target_tokens") || gaze_safetensors_find(L->st, "target_ids"))
            return gaze_error(GAZE_ERR_FORMAT, "%s: target tokens without metadata gaze.kinds", L->path);
        return GAZE_OK;
    }
    bool want[2] = { false, false };
    const size_t nk = json_array_size(jk);
    for (size_t i = 0; i < nk && s == GAZE_OK; i++) {
        const json_t * x = json_array_get(jk, i);
        const char * v = json_is_string(x) ? json_string_value(x) : NULL;
        enum gaze_kind kind;
        if (!v || !gaze_kind_parse(v, &kind))
            s = gaze_error(GAZE_ERR_FORMAT, "%s: metadata gaze.kinds[%zu]: expected \"encoder\", \"decoder\" or \"cross\"",
                           L->path, i);
        else if ((i == 0) != (kind == GAZE_KIND_ENCODER))
            s = gaze_error(GAZE_ERR_FORMAT, "%s: metadata gaze.kinds: \"encoder\" comes first, once", L->path);
        else if (i > 0 && (want[kind - 1] || (kind == GAZE_KIND_DECODER && want[1])))
            s = gaze_error(GAZE_ERR_FORMAT, "%s: metadata gaze.kinds: \"%s\" repeated or out of order (encoder, "
                           "decoder, cross)", L->path, v);
        else if (i > 0) want[kind - 1] = true;
    }
    json_decref(jk);
    if (s) return s;
    if (nk == 0) return gaze_error(GAZE_ERR_FORMAT, "%s: metadata gaze.kinds: empty", L->path);
    if (!want[0] && !want[1]) {
        if (gaze_safetensors_metadata(L->st, "gaze.target_tokens") || gaze_safetensors_find(L->st, "target_ids"))
            return gaze_error(GAZE_ERR_FORMAT, "%s: target tokens but gaze.kinds lists no decoder or cross", L->path);
        return GAZE_OK;
    }
    if ((s = meta_array(L, "gaze.target_tokens", true, &jt))) return s;
    char ** ttok = NULL;
    int64_t Tt = 0;
    s = strings_of(L, "gaze.target_tokens", jt, &ttok, &Tt);
    json_decref(jt);
    if (s) return s;
    void * ids = NULL;
    s = read_ints(L, "target_ids", GAZE_DTYPE_I32, Tt, true, &ids);
    for (int k = 0; k < 2 && s == GAZE_OK; k++)
        if (want[k]) s = load_part(run, L, k, ttok, Tt, ids, k ? &run->cross : &run->decoder);
    for (int64_t i = 0; i < Tt; i++) free(ttok[i]);
    free(ttok);
    free(ids);
    return s;
}

static enum gaze_status run_load(struct gaze_run * run, const struct run_load * L) {
    const char * ver = gaze_safetensors_metadata(L->st, "gaze.format_version");
    if (!ver)
        return gaze_error(GAZE_ERR_FORMAT, "%s: not a gaze run file (metadata gaze.format_version missing)",
                          L->path);
    char want[8];
    snprintf(want, sizeof want, "%d", GAZE_RUN_FORMAT_VERSION);
    if (strcmp(ver, want))
        return gaze_error(GAZE_ERR_UNSUPPORTED,
                          "%s: metadata gaze.format_version is \"%.16s\"; this gaze reads version %s",
                          L->path, ver, want);
    enum gaze_status s = meta_str(L, "gaze.model", true, &run->model);
    if (s == GAZE_OK) s = meta_str(L, "gaze.arch", true, &run->arch);
    if (s == GAZE_OK) s = meta_str(L, "gaze.text", false, &run->text);
    if (s == GAZE_OK) s = meta_str(L, "gaze.pair", false, &run->pair);
    if (s != GAZE_OK) return s;
    const char * causal = gaze_safetensors_metadata(L->st, "gaze.causal");
    if (!causal || (strcmp(causal, "true") && strcmp(causal, "false")))
        return gaze_error(GAZE_ERR_FORMAT, "%s: metadata gaze.causal: expected \"true\" or \"false\"%s",
                          L->path, causal ? "" : ", missing");
    run->causal = !strcmp(causal, "true");
    s = meta_i64(L, "gaze.n_layers", true, 1, GAZE_RUN_MAX_LAYERS, 0, &run->n_layers);
    if (s == GAZE_OK) s = meta_i64(L, "gaze.n_heads", true, 1, GAZE_RUN_MAX_HEADS, 0, &run->n_heads);
    if (s == GAZE_OK) s = meta_i64(L, "gaze.n_kv_heads", true, 1, GAZE_RUN_MAX_HEADS, 0, &run->n_kv_heads);
    if (s == GAZE_OK) s = meta_i64(L, "gaze.d_head", false, 1, 1 << 20, 0, &run->d_head);
    if (s == GAZE_OK) s = meta_i64(L, "gaze.n_embd", false, 1, 1 << 24, 0, &run->n_embd);
    if (s == GAZE_OK) s = meta_i64(L, "gaze.n_generated", false, 0, INT64_MAX / 2, 0, &run->n_generated);
    if (s != GAZE_OK) return s;

    // Tokens: the token list fixes T.
    json_t * toks;
    s = meta_array(L, "gaze.tokens", true, &toks);
    if (s != GAZE_OK) return s;
    int64_t T = (int64_t)json_array_size(toks);
    if (T < 1) {
        json_decref(toks);
        return gaze_error(GAZE_ERR_FORMAT, "%s: metadata gaze.tokens: empty", L->path);
    }
    run->tokens = calloc((size_t)T, sizeof *run->tokens);
    if (!run->tokens) { json_decref(toks); return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", L->path); }
    run->T = T;
    for (int64_t i = 0; i < T && s == GAZE_OK; i++) {
        json_t * x = json_array_get(toks, (size_t)i);
        if (!json_is_string(x))
            s = gaze_error(GAZE_ERR_FORMAT, "%s: metadata gaze.tokens[%lld]: expected string, got %s",
                           L->path, (long long)i, gaze_json_type_name(x));
        else if (!(run->tokens[i] = token_string(json_string_value(x), json_string_length(x))))
            s = GAZE_ERR_NOMEM;
    }
    json_decref(toks);
    if (s != GAZE_OK) return s;

    void * p;
    s = read_ints(L, "token_ids", GAZE_DTYPE_I32, T, true, &p);
    run->token_ids = p;
    if (s == GAZE_OK) { s = read_ints(L, "token_type_ids", GAZE_DTYPE_I32, T, false, &p); run->token_type_ids = p; }
    if (s == GAZE_OK) { s = read_ints(L, "sequence_ids", GAZE_DTYPE_I8, T, false, &p); run->sequence_ids = p; }
    if (s != GAZE_OK) return s;

    json_t * offs;
    s = meta_array(L, "gaze.offsets", false, &offs);
    if (s != GAZE_OK) return s;
    if (offs) {
        if ((int64_t)json_array_size(offs) != T) {
            size_t n = json_array_size(offs);
            json_decref(offs);
            return gaze_error(GAZE_ERR_FORMAT, "%s: metadata gaze.offsets: %zu entries for %lld tokens",
                              L->path, n, (long long)T);
        }
        run->offsets = malloc((size_t)T * 2 * sizeof *run->offsets);
        if (!run->offsets) s = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", L->path);
        for (int64_t i = 0; i < T && s == GAZE_OK; i++) {
            json_t * x = json_array_get(offs, (size_t)i);
            json_t * b = json_array_get(x, 0), * e = json_array_get(x, 1);
            if (!json_is_array(x) || json_array_size(x) != 2 || !json_is_integer(b) || !json_is_integer(e))
                s = gaze_error(GAZE_ERR_FORMAT, "%s: metadata gaze.offsets[%lld]: expected [begin, end] integers",
                               L->path, (long long)i);
            else {
                run->offsets[2 * i] = (int64_t)json_integer_value(b);
                run->offsets[2 * i + 1] = (int64_t)json_integer_value(e);
            }
        }
        json_decref(offs);
        if (s != GAZE_OK) return s;
    }

    s = load_capture(run, L, "");
    if (s == GAZE_OK) s = run_summary_load(run, L->st, L->path);
    if (s != GAZE_OK) return s;
    const struct gaze_st_tensor * te = gaze_safetensors_find(L->st, "embedding");
    if (te) {
        if (run->n_embd == 0 && te->n_dims == 1) run->n_embd = te->shape[0];
        int64_t dims[1] = { run->n_embd };
        s = read_floats(L, te, dims, 1, false, &run->embedding);
        if (s != GAZE_OK) return s;
    }

    if ((s = load_image(run, L))) return s;
    if ((s = load_target(run, L))) return s;
    if ((s = run_clip_load(run, L->st, L->path))) return s;

    // Extras: every other metadata entry, verbatim.
    for (int64_t i = 0; i < gaze_safetensors_n_metadata(L->st) && s == GAZE_OK; i++) {
        const char * k = gaze_safetensors_metadata_key(L->st, i);
        if (strcmp(k, "gaze.format_version") && !is_reserved(k))
            s = set_extra(run, k, gaze_safetensors_metadata_value(L->st, i), false);
    }
    if (s != GAZE_OK) return s;
    return gaze_run_check(run, L->path);
}

// Loads from an open safetensors image; label names it in messages.
static enum gaze_status run_load_from(struct gaze_run * run, struct gaze_safetensors * st,
                                      const char * label) {
    struct run_load L = { .st = st, .path = label };
    enum gaze_status s = run_load(run, &L);
    gaze_safetensors_free(st);
    if (s != GAZE_OK) gaze_run_free(run);
    return s;
}

enum gaze_status gaze_run_load(struct gaze_run * run, const char * path) {
    gaze_run_init(run);
    struct gaze_safetensors * st;
    enum gaze_status s = gaze_safetensors_open(&st, path);
    if (s != GAZE_OK) return s;
    return run_load_from(run, st, path);
}

enum gaze_status gaze_run_load_buffer(struct gaze_run * run, const void * buf, size_t size,
                                      const char * label) {
    gaze_run_init(run);
    if (!label) label = "(buffer)";
    struct gaze_safetensors * st;
    enum gaze_status s = gaze_safetensors_open_buffer(&st, buf, size, label);
    if (s != GAZE_OK) return s;
    return run_load_from(run, st, label);
}

// The attention kinds of a run (encoder, decoder, cross): building the target side of an
// encoder-decoder run and viewing one kind as an ordinary run. The file side (gaze.kinds, the
// decoder./cross. tensors) is in runfile.c; docs/runfile.md "Encoder-decoder runs".
#include "formats/runfile.h"
#include <string.h>

static const char * const g_kind_name[3] = { "encoder", "decoder", "cross" };

const char * gaze_kind_name(enum gaze_kind kind) {
    return (unsigned)kind < 3 ? g_kind_name[kind] : "unknown";
}

bool gaze_kind_parse(const char * s, enum gaze_kind * kind) {
    for (int k = 0; s && k < 3; k++)
        if (!strcmp(s, g_kind_name[k])) { *kind = (enum gaze_kind)k; return true; }
    return false;
}

unsigned gaze_run_kinds(const struct gaze_run * run) {
    if (run->T_keys) return 1u << GAZE_KIND_CROSS;   // a cross view on its own
    if (!run->decoder && !run->cross) return 1u << (run->causal ? GAZE_KIND_DECODER : GAZE_KIND_ENCODER);
    return (1u << GAZE_KIND_ENCODER) | (run->decoder ? 1u << GAZE_KIND_DECODER : 0) |
           (run->cross ? 1u << GAZE_KIND_CROSS : 0);
}

// "encoder, decoder and cross" for messages.
static void kinds_text(unsigned kinds, char * buf, size_t size) {
    buf[0] = 0;
    int n = 0, total = __builtin_popcount(kinds);
    for (int k = 0; k < 3; k++) {
        if (!(kinds & (1u << k))) continue;
        size_t len = strlen(buf);
        snprintf(buf + len, size - len, "%s%s", n == 0 ? "" : n == total - 1 ? " and " : ", ", g_kind_name[k]);
        n++;
    }
}

const struct gaze_run * gaze_run_select_kind(const struct gaze_run * run, enum gaze_kind kind) {
    const unsigned kinds = gaze_run_kinds(run);
    if ((unsigned)kind < 3 && (kinds & (1u << kind))) {
        if (kind == GAZE_KIND_DECODER && run->decoder) return run->decoder;
        if (kind == GAZE_KIND_CROSS && run->cross) return run->cross;
        return run;
    }
    char have[64];
    kinds_text(kinds, have, sizeof have);
    const bool single = !run->decoder && !run->cross;
    gaze_error(GAZE_ERR_INVALID_ARG, "run: no %s attention in this run: it holds %s attention only%s",
               gaze_kind_name(kind), have,
               single && kind != GAZE_KIND_ENCODER && !run->causal ? " (an encoder model)"
               : single && run->causal ? " (a decoder-only model)" : "");
    return NULL;
}

enum gaze_status gaze_run_take_kind(struct gaze_run * run, enum gaze_kind kind) {
    const struct gaze_run * sel = gaze_run_select_kind(run, kind);
    if (!sel) return GAZE_ERR_INVALID_ARG;
    if (sel == run) {   // the encoder side: drop the target side
        gaze_run_free(run->decoder); free(run->decoder); run->decoder = NULL;
        gaze_run_free(run->cross); free(run->cross); run->cross = NULL;
        return GAZE_OK;
    }
    struct gaze_run * part = (struct gaze_run *)sel;
    if (part == run->decoder) run->decoder = NULL; else run->cross = NULL;
    gaze_run_free(run);
    *run = *part;
    free(part);
    return GAZE_OK;
}

// A part of the target side: the encoder's model and arch, the target tokens.
static enum gaze_status make_part(const struct gaze_run * run, bool cross, int64_t Tt, const char * const * tokens,
                                  const size_t * lens, const int32_t * ids, int64_t n_layers, int64_t n_heads,
                                  int64_t n_kv_heads, struct gaze_run ** out) {
    struct gaze_run * p = calloc(1, sizeof *p);
    if (!p) return gaze_error(GAZE_ERR_NOMEM, "run: out of memory");
    p->model = strdup(run->model);
    p->arch = strdup(run->arch);
    p->causal = !cross;
    p->n_layers = n_layers;
    p->n_heads = n_heads;
    p->n_kv_heads = n_kv_heads;
    p->d_head = run->d_head;
    p->n_embd = run->n_embd;
    enum gaze_status s = p->model && p->arch ? GAZE_OK : gaze_error(GAZE_ERR_NOMEM, "run: out of memory");
    if (!s) s = gaze_run_set_tokens(p, Tt, tokens, lens, ids, NULL);
    if (!s && cross) {   // the keys: the encoder's tokens
        p->key_tokens = calloc((size_t)run->T, sizeof *p->key_tokens);
        p->key_ids = malloc((size_t)run->T * sizeof *p->key_ids);
        if (p->key_tokens && p->key_ids) {
            p->T_keys = run->T;
            memcpy(p->key_ids, run->token_ids, (size_t)run->T * sizeof *p->key_ids);
            for (int64_t j = 0; j < run->T && !s; j++)
                if (!(p->key_tokens[j] = strdup(run->tokens[j]))) s = GAZE_ERR_NOMEM;
        } else s = GAZE_ERR_NOMEM;
        if (s) s = gaze_error(GAZE_ERR_NOMEM, "run: out of memory");
    }
    if (!s) s = gaze_run_set_capture(p, NULL, 0, NULL, 0);
    if (s) {
        if (p->key_tokens && !p->T_keys) { free(p->key_tokens); p->key_tokens = NULL; }
        gaze_run_free(p);
        free(p);
        return s;
    }
    *out = p;
    return GAZE_OK;
}

enum gaze_status gaze_run_set_target(struct gaze_run * run, unsigned want, int64_t Tt,
                                     const char * const * tokens, const size_t * lens, const int32_t * ids,
                                     int64_t n_layers, int64_t n_heads, int64_t n_kv_heads) {
    const unsigned both = (1u << GAZE_KIND_DECODER) | (1u << GAZE_KIND_CROSS);
    if (!want || (want & ~both))
        return gaze_error(GAZE_ERR_INVALID_ARG, "run: set_target: want must be decoder and/or cross bits");
    if (!run->model || !run->arch || run->T < 1 || !run->tokens)
        return gaze_error(GAZE_ERR_INVALID_ARG, "run: set_target needs the encoder's model, arch and tokens set");
    if (run->decoder || run->cross || run->T_keys)
        return gaze_error(GAZE_ERR_INVALID_ARG, "run: the target side is already set");
    if (n_layers < 1 || n_layers > GAZE_RUN_MAX_LAYERS || n_heads < 1 || n_heads > GAZE_RUN_MAX_HEADS ||
        n_kv_heads < 1 || n_kv_heads > n_heads || n_heads % n_kv_heads)
        return gaze_error(GAZE_ERR_INVALID_ARG, "run: set_target: decoder shape %lld layers, %lld heads, %lld kv heads",
                          (long long)n_layers, (long long)n_heads, (long long)n_kv_heads);
    struct gaze_run * dec = NULL, * cross = NULL;
    enum gaze_status s = GAZE_OK;
    if (want & (1u << GAZE_KIND_DECODER))
        s = make_part(run, false, Tt, tokens, lens, ids, n_layers, n_heads, n_kv_heads, &dec);
    if (!s && (want & (1u << GAZE_KIND_CROSS)))
        s = make_part(run, true, Tt, tokens, lens, ids, n_layers, n_heads, n_kv_heads, &cross);
    if (s) {
        if (dec) { gaze_run_free(dec); free(dec); }
        return s;
    }
    run->decoder = dec;
    run->cross = cross;
    return GAZE_OK;
}

enum gaze_status gaze_run_add_kind_layer(struct gaze_run * run, enum gaze_kind kind, int64_t index,
                                         unsigned parts, struct gaze_run_layer ** out) {
    struct gaze_run * p = kind == GAZE_KIND_ENCODER ? run : kind == GAZE_KIND_DECODER ? run->decoder
                        : kind == GAZE_KIND_CROSS ? run->cross : NULL;
    if (!p) {
        *out = NULL;
        return gaze_error(GAZE_ERR_INVALID_ARG, "run: add_kind_layer: the run has no %s part (gaze_run_set_target)",
                          gaze_kind_name(kind));
    }
    return gaze_run_add_layer(p, index, parts, out);
}

// The attributions part of a `gaze view` page. The matrices go into the payload as f32 (the
// values are norms up to ~100 or row-normalised shares down to 1e-9: f32 keeps both as
// `gaze explain --json` prints them); the logit lens, a few numbers and token texts a layer, into
// the metadata as JSON (every string escaped as the rest of the page's: no '<', '>', '&', quote
// or non-ASCII byte survives raw). The viewer (viewer/attrib.js) draws them on canvases and as
// text nodes.
#include "render/html_attrib.h"
#include "core/core.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gaze_html_attrib_free(struct html_attrib * a) {
    free(a->data);
    memset(a, 0, sizeof *a);
}

static void put_f32(uint8_t * dst, double v) {
    const float f = (float)v;
    memcpy(dst, &f, 4);   // little-endian hosts only (as the rest of the payload's numbers)
}

enum gaze_status gaze_html_attrib_make(const struct gaze_run * run, const struct gaze_html_opts * o, size_t share,
                                       struct html_attrib * a) {
    memset(a, 0, sizeof *a);
    a->meta_max = 64;
    const struct gaze_lens * ln = o->lens;
    if (ln && ln->n_layers > 0 && ln->k > 0) {   // per entry: the text (escaped: 6 bytes a byte at most), numbers
        a->meta_max += 128 + (size_t)ln->n_layers * 40;
        for (int64_t i = 0; i < ln->n_layers * ln->k + 1; i++)
            a->meta_max += 48 + 12 * (ln->text && ln->text[i] ? strlen(ln->text[i]) : 0);
    }
    const struct gaze_attrib * at = o->attrib;
    if (!at || !(at->vnorm || at->resln || at->alti || at->vzero)) return GAZE_OK;
    const int64_t T = run->T, L = at->n_layers;
    if (at->T != T || L < 1 || T < 1)
        return gaze_error(GAZE_ERR_INVALID_ARG, "html: attributions of %lld tokens for a run of %lld", (long long)at->T,
                          (long long)T);
    const float * mats[4] = { at->vnorm, at->resln, at->alti, at->vzero };
    static const char * const names[4] = { "value-norm", "residual-norm", "alti", "value-zeroing" };
    for (int k = 0; k < 4; k++) {
        if (!mats[k]) continue;
        a->names[a->n] = names[k];
        a->layers[a->n++] = L;
        if (k >= 2) {   // ALTI and value zeroing are used rolled out (gaze explain's default)
            a->names[a->n] = k == 2 ? "alti-rollout" : "value-zeroing-rollout";
            a->layers[a->n++] = 1;
        }
    }
    for (int64_t i = 0; i < T; i++) a->cells += (size_t)(run->causal ? i + 1 : T);
    // drop methods from the end until the page's share holds them
    int keep = a->n;
    for (;;) {
        size_t values = 0;
        for (int k = 0; k < keep; k++) values += a->cells * (size_t)a->layers[k];
        if (values * 4 / 3 * 4 <= share || keep == 0) { a->bytes = values * 4; break; }
        keep--;
    }
    if (keep < a->n) {
        if (keep == 0) snprintf(a->why, sizeof a->why, "left out: %lld layers of %lld tokens would take over a quarter of the page's size cap (--max-mb)",
                                (long long)L, (long long)T);
        else snprintf(a->why, sizeof a->why, "%s and after left out: over a quarter of the page's size cap (--max-mb)", a->names[keep]);
        a->n = keep;
    }
    if (!a->bytes) return GAZE_OK;
    double * R = malloc((size_t)(T * T) * sizeof *R);
    if (!(a->data = malloc(a->bytes)) || !R) { free(R); return gaze_error(GAZE_ERR_NOMEM, "html: out of memory for the attributions"); }
    uint8_t * d = a->data;
    enum gaze_status s = GAZE_OK;
    for (int k = 0; k < a->n && !s; k++) {
        const char * nm = a->names[k];
        const float * m = !strcmp(nm, "value-norm") ? at->vnorm : !strcmp(nm, "residual-norm") ? at->resln
                        : !strncmp(nm, "alti", 4) ? at->alti : at->vzero;
        if (a->layers[k] == 1) {   // the rollout over every layer, in double as gaze explain computes it
            if ((s = gaze_attrib_rollout(m, L, T, R))) break;
            for (int64_t i = 0; i < T; i++)
                for (int64_t j = 0, n = run->causal ? i + 1 : T; j < n; j++, d += 4) put_f32(d, R[i * T + j]);
            continue;
        }
        for (int64_t l = 0; l < L; l++)
            for (int64_t i = 0; i < T; i++)
                for (int64_t j = 0, n = run->causal ? i + 1 : T; j < n; j++, d += 4) put_f32(d, m[(l * T + i) * T + j]);
    }
    free(R);
    a->meta_max += 256 + sizeof a->why * 6 + 96 * (size_t)a->n;
    return s;
}

// A JSON string of s (UTF-8; invalid bytes become U+FFFD) with every byte outside printable
// ASCII, and < > & ' escaped, so it can sit inside the page's <script type="application/json">.
static size_t json_str(char * out, const char * s) {
    size_t n = 0;
    out[n++] = '"';
    const uint8_t * u = (const uint8_t *)(s ? s : "");
    const size_t len = strlen((const char *)u);
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        int k = gaze_utf8_decode(u, len, i, &cp);
        if (k <= 0) { cp = 0xFFFD; k = 1; }
        i += (size_t)k;
        if (cp == '"' || cp == '\\') { out[n++] = '\\'; out[n++] = (char)cp; }
        else if (cp >= 0x20 && cp < 0x7F && cp != '<' && cp != '>' && cp != '&' && cp != '\'') out[n++] = (char)cp;
        else if (cp < 0x10000) n += (size_t)sprintf(out + n, "\\u%04x", (unsigned)cp);
        else {
            const uint32_t v = cp - 0x10000;
            n += (size_t)sprintf(out + n, "\\u%04x\\u%04x", (unsigned)(0xD800 + (v >> 10)), (unsigned)(0xDC00 + (v & 0x3FF)));
        }
    }
    out[n++] = '"';
    out[n] = '\0';
    return n;
}

char * gaze_html_attrib_meta(const struct gaze_run * run, const struct gaze_html_opts * o, const struct html_attrib * a,
                             size_t off) {
    const size_t cap = a->meta_max;
    char * s = malloc(cap);
    if (!s) return NULL;
    s[0] = '\0';
    const struct gaze_lens * ln = o->lens && o->lens->n_layers > 0 && o->lens->k > 0 ? o->lens : NULL;
    if (!o->attrib && !ln) return s;
    size_t n = (size_t)snprintf(s, cap, ",\"attrib\":{\"causal\":%s,\"cells\":%zu,\"methods\":[", run->causal ? "true" : "false",
                                a->cells);
    for (int k = 0; k < a->n; k++) {
        n += (size_t)snprintf(s + n, cap - n, "%s{\"name\":\"%s\",\"layers\":%lld,\"off\":%zu}", k ? "," : "", a->names[k],
                              (long long)a->layers[k], off);
        off += a->cells * (size_t)a->layers[k] * 4;
    }
    n += (size_t)snprintf(s + n, cap - n, "],\"why\":");
    n += json_str(s + n, a->why);
    if (ln) {
        n += (size_t)snprintf(s + n, cap - n, ",\"lens\":{\"k\":%lld,\"final_token\":%d,\"final_text\":", (long long)ln->k,
                              (int)ln->final_token);
        n += json_str(s + n, ln->text ? ln->text[ln->n_layers * ln->k] : "");
        n += (size_t)snprintf(s + n, cap - n, ",\"layers\":[");
        for (int64_t l = 0; l < ln->n_layers; l++) {
            n += (size_t)snprintf(s + n, cap - n, "%s{\"p_final\":%.9g,\"top\":[", l ? "," : "", ln->final_p[l]);
            for (int64_t r = 0; r < ln->k; r++) {
                n += (size_t)snprintf(s + n, cap - n, "%s{\"id\":%d,\"p\":%.9g,\"text\":", r ? "," : "", (int)ln->top[l * ln->k + r],
                                      ln->top_p[l * ln->k + r]);
                n += json_str(s + n, ln->text ? ln->text[l * ln->k + r] : "");
                n += (size_t)snprintf(s + n, cap - n, "}");
            }
            n += (size_t)snprintf(s + n, cap - n, "]}");
        }
        n += (size_t)snprintf(s + n, cap - n, "]}");
    }
    n += (size_t)snprintf(s + n, cap - n, "}");
    if (n >= cap) { free(s); return NULL; }   // cannot happen: meta_max bounds every entry
    return s;
}

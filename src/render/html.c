// gaze view: one self-contained HTML page of a run. Layout of the page:
//   <meta http-equiv="Content-Security-Policy">  default-src 'none', script and style by hash
//   <style>      the viewer's CSS (render/viewer/viewer.css, via viewer_assets.c)
//   <script type="application/json" id="gaze-meta">   tokens, shapes, chunk table (ASCII JSON)
//   <script type="application/octet-stream" id="gaze-data">  base64 of the binary payload
//   <script>     the viewer (render/viewer/viewer.js)
// Nothing from the run is ever written as markup: only the two data blocks carry it, and
// neither can close its element (base64 has no '<'; the JSON escapes '<' and all non-ASCII).
// Encodings and the size budget are described in include/gaze.h (SECTION view). The payload
// ends with the rollout / flow panel's data (rollout_make below), computed here by the
// analysis functions and sized before the attention plan, which gets what is left.
#include "core/core.h"
#include "core/sha256.h"
#include "render/html_image.h"
#include "render/html_attrib.h"
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern const char gaze_viewer_js[];    // render/viewer_assets.c (generated)
extern const char gaze_viewer_css[];

#define SUMMARY_CELLS 64      // summary grids are at most this many blocks a side
#define META_PER_MAP  64      // bytes of chunk table per map reserved in the size plan

/* ---- growable string ------------------------------------------------------------------ */

struct sbuf {
    char * p;
    size_t n, cap;
    bool   oom;
};

static bool sb_reserve(struct sbuf * b, size_t more) {
    if (b->oom) return false;
    if (b->n + more + 1 <= b->cap) return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + more + 1) {
        if (cap > SIZE_MAX / 2) { b->oom = true; return false; }
        cap *= 2;
    }
    char * p = realloc(b->p, cap);
    if (!p) { b->oom = true; return false; }
    b->p = p;
    b->cap = cap;
    return true;
}

static void sb_put(struct sbuf * b, const char * s, size_t n) {
    if (!sb_reserve(b, n)) return;
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void sb_str(struct sbuf * b, const char * s) { sb_put(b, s, strlen(s)); }

static void sb_printf(struct sbuf * b, const char * fmt, ...) {
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (k < 0) { b->oom = true; return; }
    if ((size_t)k < sizeof tmp) { sb_put(b, tmp, (size_t)k); return; }
    if (!sb_reserve(b, (size_t)k)) return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, (size_t)k + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)k;
}

// Next code point of s[0..n) at *i (advanced); malformed UTF-8 (overlong, surrogates, beyond
// U+10FFFF, truncated) is one U+FFFD per bad byte. Runs are valid UTF-8 already; this keeps
// the page safe even when handed a run that skipped the checks.
static uint32_t utf8_next(const unsigned char * s, size_t n, size_t * i) {
    const unsigned char c = s[*i];
    if (c < 0x80) { (*i)++; return c; }
    int len = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? (c < 0xF0 ? 3 : 0) : c >= 0xC2 ? 2 : 0;
    if (!len || *i + (size_t)len > n) { (*i)++; return 0xFFFD; }
    uint32_t cp = c & (0x7F >> len);
    for (int k = 1; k < len; k++) {
        if ((s[*i + k] & 0xC0) != 0x80) { (*i)++; return 0xFFFD; }
        cp = cp << 6 | (s[*i + k] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF)) {
        (*i)++;
        return 0xFFFD;
    }
    *i += (size_t)len;
    return cp;
}

// A JSON string that is safe inside a <script> element and pure ASCII: '"' and '\' escaped,
// every control character, '<', '>', '&', '\'' and every non-ASCII code point as \uXXXX
// (surrogate pairs above U+FFFF), so no "</script", "<!--", U+2028/2029 or raw byte remains.
static void sb_json_str(struct sbuf * b, const char * s) {
    sb_put(b, "\"", 1);
    if (s) {
        const unsigned char * u = (const unsigned char *)s;
        const size_t n = strlen(s);
        size_t i = 0;
        while (i < n) {
            const uint32_t cp = utf8_next(u, n, &i);
            if (cp == '"') sb_put(b, "\\\"", 2);
            else if (cp == '\\') sb_put(b, "\\\\", 2);
            else if (cp >= 0x20 && cp < 0x7F && cp != '<' && cp != '>' && cp != '&' && cp != '\'') {
                const char ch = (char)cp;
                sb_put(b, &ch, 1);
            } else if (cp < 0x10000) sb_printf(b, "\\u%04x", (unsigned)cp);
            else {
                const uint32_t v = cp - 0x10000;
                sb_printf(b, "\\u%04x\\u%04x", (unsigned)(0xD800 + (v >> 10)), (unsigned)(0xDC00 + (v & 0x3FF)));
            }
        }
    }
    sb_put(b, "\"", 1);
}

static void sb_json_i64s(struct sbuf * b, const int64_t * v, int64_t n) {
    sb_put(b, "[", 1);
    for (int64_t i = 0; i < n; i++) sb_printf(b, i ? ",%lld" : "%lld", (long long)v[i]);
    sb_put(b, "]", 1);
}

/* ---- attention encodings ----------------------------------------------------------------- */

static inline unsigned quant_sqrt(float w) {   // 255·sqrt(w) rounded, w clamped to [0, 1]
    w = w > 0.0f ? w : 0.0f;                   // also NaN -> 0 (maxss, minss)
    w = w < 1.0f ? w : 1.0f;
    return (unsigned)(int)(255.0f * sqrtf(w) + 0.5f);
}

// codes [n] of one row
static void quant_row(const float * __restrict w, int64_t n, uint8_t * __restrict codes) {
    for (int64_t j = 0; j < n; j++) codes[j] = (uint8_t)quant_sqrt(w[j]);
}

struct nibw {                                  // nibble writer, high nibble first
    uint8_t * p;
    size_t    k;                               // nibbles written
};

static inline void nib_put(struct nibw * w, unsigned v) {
    if (w->k & 1) w->p[w->k >> 1] |= (uint8_t)v;
    else w->p[w->k >> 1] = (uint8_t)(v << 4);
    w->k++;
}

static inline void nib_code(struct nibw * w, unsigned q) {
    if (q < 14) nib_put(w, q);
    else if (q < 30) { nib_put(w, 14); nib_put(w, q - 14); }
    else { nib_put(w, 15); nib_put(w, q >> 4); nib_put(w, q & 15); }
}

// Keys stored for captured row r: all keys (T, or T_keys for cross-attention: rows over other
// tokens), or 0..q_rows[r] when causal.
static inline int64_t row_keys(const struct gaze_run * run, int64_t r) {
    return run->causal ? GAZE_MIN(run->T, run->q_rows[r] + 1) : gaze_run_n_keys(run);
}

// codes: scratch [T]
static size_t map_u8_bytes(const struct gaze_run * run, const float * a, uint8_t * codes) {   // a [Tq, T]
    size_t k = 0;
    for (int64_t r = 0; r < run->Tq; r++) {
        const int64_t n = row_keys(run, r);
        quant_row(a + r * gaze_run_n_keys(run), n, codes);
        size_t kr = (size_t)n;
        for (int64_t j = 0; j < n; j++) kr += (size_t)(codes[j] >= 14) + (size_t)(codes[j] >= 30);
        k += kr;
    }
    return (k + 1) / 2;
}

static void map_u8_write(const struct gaze_run * run, const float * a, uint8_t * dst, uint8_t * codes) {
    struct nibw w = { dst, 0 };
    for (int64_t r = 0; r < run->Tq; r++) {
        const int64_t n = row_keys(run, r);
        quant_row(a + r * gaze_run_n_keys(run), n, codes);
        for (int64_t j = 0; j < n; j++) nib_code(&w, codes[j]);
    }
}

static void map_f16_write(const struct gaze_run * run, const float * a, uint8_t * dst) {
    size_t o = 0;
    for (int64_t r = 0; r < run->Tq; r++) {
        const float * row = a + r * gaze_run_n_keys(run);
        for (int64_t j = 0, n = row_keys(run, r); j < n; j++, o += 2) {
            float w = row[j];
            if (!(w >= 0)) w = 0;
            if (w > 1) w = 1;
            const uint16_t h = gaze_f32_to_f16(w);
            dst[o] = (uint8_t)h;                 // little-endian, as the page's Uint16Array
            dst[o + 1] = (uint8_t)(h >> 8);
        }
    }
}

static void vec_f16_write(const float * v, int64_t n, uint8_t * dst) {
    for (int64_t i = 0; i < n; i++) {
        float x = v[i];
        if (!isfinite(x)) x = 0;
        if (x > 65504.0f) x = 65504.0f;        // keep q·k finite in the page
        if (x < -65504.0f) x = -65504.0f;
        const uint16_t h = gaze_f32_to_f16(x);
        dst[2 * i] = (uint8_t)h;
        dst[2 * i + 1] = (uint8_t)(h >> 8);
    }
}

static size_t align4(size_t n) { return (n + 3) & ~(size_t)3; }

/* ---- the plan: what goes into the payload ------------------------------------------------- */

struct html_map {             // one (layer, head) attention map
    const float * a;          // [Tq, T] in the run
    const float * q;          // [Tq, d] or NULL
    const float * k;          // [T, d] or NULL
    int     enc;              // exact data: 0 none, 1 f16, 2 u8
    size_t  exact_bytes;      // size of the exact data in enc
    size_t  exact_off;
    int64_t summary_off;      // -1: none
    int64_t q_off, k_off;     // -1: none
    bool    with_qk;          // chosen to carry q/k (placed with the offsets)
};

struct html_plan {
    int64_t n_layers;         // viewable (attention) layers
    int64_t * layer_ix;       // [n_layers] index into run->layers
    int64_t Hc;
    struct html_map * maps;   // [n_layers · Hc]
    size_t  cells;            // stored weights per map
    int     enc;              // 1 f16, 2 u8: the encoding of exact maps
    int64_t block, nr, nc;    // summary grid (block 0: none)
    size_t  payload;          // bytes
};

// Layers in the order they are kept exact when not all fit: first, last, then midpoints of
// the gaps breadth-first, so any prefix is spread over depth.
static void spread_order(int64_t L, int64_t * order) {
    int64_t n = 0;
    bool * taken = calloc((size_t)L, 1);
    int64_t * qa = malloc((size_t)(2 * L + 2) * sizeof *qa), * qb = malloc((size_t)(2 * L + 2) * sizeof *qb);
    if (!taken || !qa || !qb) {   // degrade to depth order; still a valid permutation
        for (int64_t i = 0; i < L; i++) order[i] = i;
        free(taken); free(qa); free(qb);
        return;
    }
    order[n++] = 0;
    taken[0] = true;
    if (L > 1) { order[n++] = L - 1; taken[L - 1] = true; }
    int64_t head = 0, tail = 0;
    qa[tail] = 0; qb[tail++] = L - 1;
    while (head < tail) {
        const int64_t a = qa[head], b = qb[head++];
        if (b - a < 2) continue;
        const int64_t m = (a + b) / 2;
        if (!taken[m]) { taken[m] = true; order[n++] = m; }
        qa[tail] = a; qb[tail++] = m;
        qa[tail] = m; qb[tail++] = b;
    }
    for (int64_t i = 0; i < L; i++) if (!taken[i]) order[n++] = i;
    free(taken); free(qa); free(qb);
}

static void plan_free(struct html_plan * p) {
    free(p->layer_ix);
    free(p->maps);
    memset(p, 0, sizeof *p);
}

static enum gaze_status plan_make(const struct gaze_run * run, const struct gaze_html_opts * o,
                                  size_t budget, struct html_plan * p) {
    memset(p, 0, sizeof *p);
    const int64_t Hc = run->n_heads_cap, Tq = run->Tq, T = gaze_run_n_keys(run), d = run->d_head;   // T: keys
    p->Hc = Hc;
    p->layer_ix = malloc((size_t)GAZE_MAX(run->n_cap_layers, 1) * sizeof *p->layer_ix);
    if (!p->layer_ix) return gaze_error(GAZE_ERR_NOMEM, "html: out of memory");
    for (int64_t li = 0; li < run->n_cap_layers; li++)
        if (run->layers[li].attn) p->layer_ix[p->n_layers++] = li;
    if (!p->n_layers) return gaze_error(GAZE_ERR_INVALID_ARG, "html: the run has no attention captured (gaze run --capture attn)");
    const int64_t M = p->n_layers * Hc;
    p->maps = calloc((size_t)M, sizeof *p->maps);
    if (!p->maps) return gaze_error(GAZE_ERR_NOMEM, "html: out of memory");
    for (int64_t r = 0; r < Tq; r++) p->cells += (size_t)row_keys(run, r);
    for (int64_t l = 0; l < p->n_layers; l++) {
        const struct gaze_run_layer * ly = &run->layers[p->layer_ix[l]];
        for (int64_t h = 0; h < Hc; h++) {
            struct html_map * m = &p->maps[l * Hc + h];
            m->a = ly->attn + h * Tq * T;
            const bool qk = !o->no_qk && ly->q && ly->k && d > 0;
            m->q = qk ? ly->q + h * Tq * d : NULL;
            m->k = qk ? ly->k + h * T * d : NULL;
            m->summary_off = m->q_off = m->k_off = -1;
        }
    }
    const size_t f16_map = align4(2 * p->cells);
    const size_t qk_map = d > 0 ? align4((size_t)(2 * Tq * d)) + align4((size_t)(2 * T * d)) : 0;
    size_t total_f16 = 0, total_u8 = 0;
    if (o->precision != GAZE_HTML_PRECISION_U8) total_f16 = f16_map * (size_t)M;
    if (o->precision == GAZE_HTML_PRECISION_U8 || total_f16 > budget) {
        const int nt = gaze_default_threads();
        bool oom = false;
        #pragma omp parallel num_threads(nt) reduction(||: oom)
        {
            uint8_t * codes = malloc((size_t)T);
            oom = !codes;
            #pragma omp for schedule(dynamic)
            for (int64_t i = 0; i < M; i++) if (codes) p->maps[i].exact_bytes = align4(map_u8_bytes(run, p->maps[i].a, codes));
            free(codes);
        }
        if (oom) return gaze_error(GAZE_ERR_NOMEM, "html: out of memory");
        for (int64_t i = 0; i < M; i++) total_u8 += p->maps[i].exact_bytes;
    }
    size_t used = 0;
    const size_t n_lay = p->n_layers > 0 ? (size_t)p->n_layers : 0;   // (tells GCC it is not negative)
    int64_t * order = malloc(n_lay * sizeof *order);
    bool * exact_layer = calloc(n_lay, 1);
    if (!order || !exact_layer) { free(order); free(exact_layer); return gaze_error(GAZE_ERR_NOMEM, "html: out of memory"); }
    if (o->precision != GAZE_HTML_PRECISION_U8 && total_f16 <= budget) {
        p->enc = 1;
        for (int64_t l = 0; l < p->n_layers; l++) exact_layer[l] = true;
        used = total_f16;
    } else if (o->precision != GAZE_HTML_PRECISION_F16 && total_u8 <= budget) {
        p->enc = 2;
        for (int64_t l = 0; l < p->n_layers; l++) exact_layer[l] = true;
        used = total_u8;
    } else {
        // summaries for every map, then whole layers exact while they fit
        p->enc = o->precision == GAZE_HTML_PRECISION_F16 ? 1 : 2;
        const int64_t side = GAZE_MAX(Tq, T);
        size_t sum_map = 0;
        for (int64_t cells = SUMMARY_CELLS; ; cells /= 2) {
            p->block = (side + cells - 1) / cells;
            p->nr = (Tq + p->block - 1) / p->block;
            p->nc = (T + p->block - 1) / p->block;
            sum_map = align4((size_t)(p->nr * p->nc));
            if (sum_map * (size_t)M <= budget) break;
            if (cells <= 4) {
                free(order); free(exact_layer);
                return gaze_error(GAZE_ERR_LIMIT, "html: %lld maps do not fit %zu bytes even as %lldx%lld block summaries "
                                  "(raise --max-mb or capture fewer layers/heads)",
                                  (long long)M, budget, (long long)p->nr, (long long)p->nc);
            }
        }
        used = sum_map * (size_t)M;
        // layer priority: the asked ones in their order, then spread over depth
        int64_t n = 0;
        int64_t * spread = malloc((size_t)p->n_layers * sizeof *spread);
        if (!spread) { free(order); free(exact_layer); return gaze_error(GAZE_ERR_NOMEM, "html: out of memory"); }
        bool * seen = exact_layer;   // reused as "already ordered" here, cleared after
        for (int64_t k = 0; k < o->n_detail_layers && o->detail_layers; k++)
            for (int64_t l = 0; l < p->n_layers; l++)
                if (run->layers[p->layer_ix[l]].index == o->detail_layers[k] && !seen[l]) { seen[l] = true; order[n++] = l; }
        spread_order(p->n_layers, spread);
        for (int64_t k = 0; k < p->n_layers; k++) if (!seen[spread[k]]) { seen[spread[k]] = true; order[n++] = spread[k]; }
        free(spread);
        memset(exact_layer, 0, n_lay);
        for (int64_t k = 0; k < n; k++) {
            const int64_t l = order[k];
            size_t cost = 0;
            for (int64_t h = 0; h < Hc; h++) cost += p->enc == 1 ? f16_map : p->maps[l * Hc + h].exact_bytes;
            const size_t saved = sum_map * (size_t)Hc;   // an exact layer needs no summaries
            if (used - saved + cost <= budget) { used = used - saved + cost; exact_layer[l] = true; }
        }
    }
    if (p->enc == 1)
        for (int64_t i = 0; i < M; i++) p->maps[i].exact_bytes = f16_map;
    // q/k for exact layers while they fit, same order as above (or depth order)
    if (qk_map) {
        if (!p->block) spread_order(p->n_layers, order);   // else: the order chosen above
        for (int64_t k = 0; k < p->n_layers; k++) {
            const int64_t l = order[k];
            if (!exact_layer[l] || !p->maps[l * Hc].q) continue;
            if (used + qk_map * (size_t)Hc > budget) continue;
            used += qk_map * (size_t)Hc;
            for (int64_t h = 0; h < Hc; h++) p->maps[l * Hc + h].with_qk = true;
        }
    }
    // offsets
    size_t off = 0;
    for (int64_t l = 0; l < p->n_layers; l++)
        for (int64_t h = 0; h < Hc; h++) {
            struct html_map * m = &p->maps[l * Hc + h];
            if (exact_layer[l]) {
                m->enc = p->enc;
                m->exact_off = off;
                off += m->exact_bytes;
            } else {
                m->enc = 0;
                m->summary_off = (int64_t)off;
                off += align4((size_t)(p->nr * p->nc));
            }
            if (m->with_qk) {
                m->q_off = (int64_t)off;
                off += align4((size_t)(2 * Tq * d));
                m->k_off = (int64_t)off;
                off += align4((size_t)(2 * T * d));
            }
        }
    p->payload = off;
    free(order);
    free(exact_layer);
    return GAZE_OK;
}

static enum gaze_status payload_write(const struct gaze_run * run, const struct html_plan * p, uint8_t * buf) {
    const int64_t M = p->n_layers * p->Hc, Tq = run->Tq, T = gaze_run_n_keys(run), d = run->d_head;   // T: keys
    memset(buf, 0, p->payload);
    float * tmp = NULL;
    if (p->block) {
        tmp = malloc((size_t)(p->nr * p->nc) * sizeof *tmp);
        if (!tmp) return gaze_error(GAZE_ERR_NOMEM, "html: out of memory");
    }
    enum gaze_status st = GAZE_OK;
    for (int64_t i = 0; i < M && !st; i++) {   // summaries (few, small): serial
        const struct html_map * m = &p->maps[i];
        if (m->summary_off < 0) continue;
        if ((st = gaze_attn_block_mean(m->a, Tq, T, p->block, p->block, tmp))) break;
        for (int64_t c = 0; c < p->nr * p->nc; c++) buf[m->summary_off + c] = (uint8_t)quant_sqrt(tmp[c]);
    }
    free(tmp);
    if (st) return st;
    const int nt = gaze_default_threads();
    bool oom = false;
    #pragma omp parallel num_threads(nt) reduction(||: oom)
    {
        uint8_t * codes = malloc((size_t)T);
        oom = !codes;
        #pragma omp for schedule(dynamic)
        for (int64_t i = 0; i < M; i++) {
            const struct html_map * m = &p->maps[i];
            if (m->enc == 1) map_f16_write(run, m->a, buf + m->exact_off);
            else if (m->enc == 2 && codes) map_u8_write(run, m->a, buf + m->exact_off, codes);
            if (m->q_off >= 0) {
                vec_f16_write(m->q, Tq * d, buf + m->q_off);
                vec_f16_write(m->k, T * d, buf + m->k_off);
            }
        }
        free(codes);
    }
    return oom ? gaze_error(GAZE_ERR_NOMEM, "html: out of memory") : GAZE_OK;
}

/* ---- rollout and flow (the rollout / flow panel) ------------------------------------------ */

// Computed before the attention plan: their bytes come off its budget. Values v in [0, 1] are
// stored as the f16 (LE) of v·2^15 (RO_SCALE): the same 11 bits of precision, but normal down
// to 1.9e-9 instead of 6.1e-5 (a decoder's rollout puts ~1 on its first token and 1e-7..1e-9
// on the rest). Rollout rows hold keys 0..i for causal runs (R is lower triangular there), all
// T otherwise; flow vectors hold all T.
#define RO_SCALE 32768.0
struct html_rollout {
    char      why[240];       // why there is no rollout ("" when there is)
    int       fusions[3];     // enum gaze_head_fusion of each embedded matrix, in order
    int       n_fusions;
    int64_t * flow_tok;       // [n_flow] ascending
    int64_t   n_flow;
    int64_t   deflt;          // default output token
    bool      flow_skipped;   // no flow tokens asked and the default one was over the work cap
    size_t    cells;          // stored values per rollout matrix
    size_t    bytes;          // data size (a multiple of 4)
    uint8_t * data;           // [bytes]: matrices [n_fusions][cells], then flows [n_flow, T]
    double    rollout_ms, flow_ms;
};

static double html_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void rollout_free(struct html_rollout * r) {
    free(r->flow_tok);
    free(r->data);
    memset(r, 0, sizeof *r);
}

static void f16_put(uint8_t * dst, double v) {   // v in [0, 1] (else clamped, NaN -> 0) as f16 of v·RO_SCALE
    const uint16_t h = gaze_f32_to_f16(v > 0 && v <= 1 ? (float)(v * RO_SCALE) : v > 1 ? (float)RO_SCALE : 0.0f);
    dst[0] = (uint8_t)h;
    dst[1] = (uint8_t)(h >> 8);
}

// share: the most page bytes (base64) the rollout may take; beyond it only the first fusion is
// kept, and beyond that nothing: the attention maps come first.
// The flows of several output tokens as one count for the caller's progress: flow k's done
// max-flows come after the k·T of the flows before it.
struct flow_progress { const struct gaze_progress * outer; int64_t k, n_flow; };
static void flow_progress_fn(void * user, int64_t done, int64_t total, const char * what) {
    const struct flow_progress * f = user;
    gaze_progress_report(f->outer, f->k * total + done, f->n_flow * total, what);
}

static enum gaze_status rollout_make(const struct gaze_run * run, const struct gaze_html_opts * o, size_t share,
                                     struct html_rollout * r) {
    memset(r, 0, sizeof *r);
    const int64_t T = run->T, L = run->n_cap_layers;
    r->deflt = run->causal ? T - 1 : 0;
    if (o->no_rollout) { snprintf(r->why, sizeof r->why, "left out (gaze view --no-rollout)"); return GAZE_OK; }
    if (!(o->rollout_discard >= 0 && o->rollout_discard < 1))
        return gaze_error(GAZE_ERR_INVALID_ARG, "html: rollout discard ratio %g outside [0, 1)", o->rollout_discard);
    if ((unsigned)o->flow_fusion > GAZE_HEAD_FUSION_MIN || (o->rollout_fusions & ~7u))
        return gaze_error(GAZE_ERR_INVALID_ARG, "html: unknown head fusion");
    // rollout and flow need every query row and every captured layer's attention
    if (run->Tq != T) {
        snprintf(r->why, sizeof r->why, "needs the attention of every query row; this run captured %lld of %lld",
                 (long long)run->Tq, (long long)T);
        return GAZE_OK;
    }
    for (int64_t l = 0; l < L; l++)
        if (!run->layers[l].attn) {
            snprintf(r->why, sizeof r->why, "needs attention in every captured layer; layer %lld has none",
                     (long long)run->layers[l].index);
            return GAZE_OK;
        }
    const double work = (double)L * (double)T * (double)T * (double)T;
    unsigned fus = o->rollout_fusions ? o->rollout_fusions
                 : work <= GAZE_HTML_ROLLOUT_ALL_WORK ? 7u : 1u << GAZE_HEAD_FUSION_MEAN;
    for (int f = 0; f < 3; f++) if (fus & (1u << f)) r->fusions[r->n_fusions++] = f;
    // flow tokens: asked, all, or the default one when cheap
    if (!o->no_flow) {
        const int64_t n = o->flow_all ? T : o->flow_tokens && o->n_flow_tokens > 0 ? o->n_flow_tokens
                        : work <= GAZE_HTML_FLOW_AUTO_WORK ? 1 : 0;
        r->flow_skipped = !o->flow_all && !(o->flow_tokens && o->n_flow_tokens > 0) && n == 0;
        if (n > 0 && !(r->flow_tok = malloc((size_t)n * sizeof *r->flow_tok))) return gaze_error(GAZE_ERR_NOMEM, "html: out of memory");
        for (int64_t i = 0; i < n; i++) {
            const int64_t t = o->flow_all ? i : o->flow_tokens && o->n_flow_tokens > 0 ? o->flow_tokens[i] : r->deflt;
            if (t < 0 || t >= T) return gaze_error(GAZE_ERR_INVALID_ARG, "html: flow token %lld outside 0..%lld", (long long)t, (long long)(T - 1));
            // insertion into ascending order, duplicates dropped
            int64_t k = r->n_flow;
            while (k > 0 && r->flow_tok[k - 1] > t) k--;
            if (k > 0 && r->flow_tok[k - 1] == t) continue;
            memmove(r->flow_tok + k + 1, r->flow_tok + k, (size_t)(r->n_flow - k) * sizeof *r->flow_tok);
            r->flow_tok[k] = t;
            r->n_flow++;
        }
    }
    for (int64_t i = 0; i < T; i++) r->cells += (size_t)(run->causal ? i + 1 : T);
    size_t mat_bytes, flow_bytes;
    if (gaze_mul_ovf(r->cells, 2 * (size_t)r->n_fusions, &mat_bytes) || gaze_mul_ovf((size_t)r->n_flow, 2 * (size_t)T, &flow_bytes))
        return gaze_error(GAZE_ERR_LIMIT, "html: rollout of %lld tokens is too large", (long long)T);
    r->bytes = align4(mat_bytes) + align4(flow_bytes);
    if (r->bytes / 3 * 4 > share && r->n_fusions > 1) {
        r->n_fusions = 1;
        mat_bytes = 2 * r->cells;
        r->bytes = align4(mat_bytes) + align4(flow_bytes);
    }
    if (r->bytes / 3 * 4 > share) {
        snprintf(r->why, sizeof r->why, "left out: its %zu bytes would take over a tenth of the page's size cap (--max-mb)", r->bytes);
        r->n_fusions = 0;
        r->n_flow = 0;
        r->bytes = 0;
        return GAZE_OK;
    }
    double * R = malloc((size_t)T * (size_t)T * sizeof *R);
    if (!(r->data = calloc(r->bytes ? r->bytes : 1, 1)) || !R) { free(R); return gaze_error(GAZE_ERR_NOMEM, "html: out of memory for the rollout"); }
    struct gaze_rollout_opts ro = { 0 };
    ro.discard_ratio = o->rollout_discard;
    ro.n_threads = o->n_threads;
    enum gaze_status s = GAZE_OK;
    double t0 = html_now_ms();
    for (int k = 0; k < r->n_fusions && !s; k++) {
        ro.fusion = (enum gaze_head_fusion)r->fusions[k];
        if ((s = gaze_rollout(run, &ro, R))) break;
        uint8_t * d = r->data + 2 * r->cells * (size_t)k;
        for (int64_t i = 0; i < T; i++)
            for (int64_t j = 0, n = run->causal ? i + 1 : T; j < n; j++, d += 2) f16_put(d, R[i * T + j]);
    }
    r->rollout_ms = html_now_ms() - t0;
    t0 = html_now_ms();
    ro.fusion = o->flow_fusion;
    struct flow_progress fp = { &o->progress, 0, r->n_flow };
    if (o->progress.fn) ro.progress = (struct gaze_progress){ flow_progress_fn, &fp };
    for (int64_t k = 0; k < r->n_flow && !s; k++) {
        fp.k = k;
        if ((s = gaze_attention_flow(run, &ro, r->flow_tok[k], R))) break;
        uint8_t * d = r->data + align4(mat_bytes) + 2 * (size_t)T * (size_t)k;
        for (int64_t j = 0; j < T; j++) f16_put(d + 2 * j, R[j]);
    }
    r->flow_ms = html_now_ms() - t0;
    free(R);
    return s;
}

// ,"rollout":{...} with off the payload offset of the data; or {"why": ...}.
static void meta_rollout(const struct gaze_run * run, const struct gaze_html_opts * o, const struct html_rollout * r,
                         size_t off, struct sbuf * b) {
    static const char * const names[3] = { "mean", "max", "min" };
    sb_str(b, ",\"rollout\":{");
    if (r->why[0] || !r->n_fusions) {
        sb_str(b, "\"why\":");
        sb_json_str(b, r->why[0] ? r->why : "no head fusion asked");
        sb_str(b, "}");
        return;
    }
    sb_printf(b, "\"layers\":%lld,\"discard\":%.9g,\"default\":%lld,\"scale\":%.1f,\"fusions\":[", (long long)run->n_cap_layers,
              o->rollout_discard, (long long)r->deflt, RO_SCALE);
    for (int k = 0; k < r->n_fusions; k++) sb_printf(b, k ? ",\"%s\"" : "\"%s\"", names[r->fusions[k]]);
    sb_str(b, "],\"off\":[");
    for (int k = 0; k < r->n_fusions; k++) sb_printf(b, k ? ",%zu" : "%zu", off + 2 * r->cells * (size_t)k);
    sb_printf(b, "],\"flow\":{\"fusion\":\"%s\",\"skipped\":%s,\"off\":%zu,\"tokens\":", names[o->flow_fusion],
              r->flow_skipped ? "true" : "false", off + align4(2 * r->cells * (size_t)r->n_fusions));
    sb_json_i64s(b, r->flow_tok, r->n_flow);
    sb_str(b, "}}");
}

/* ---- metadata ------------------------------------------------------------------------------ */

static void meta_words(struct sbuf * b, const struct gaze_words * w) {
    sb_str(b, "{\"token_word\":");
    sb_json_i64s(b, w->token_word, w->n_tokens);
    sb_str(b, ",\"first\":");
    sb_json_i64s(b, w->first, w->n_words);
    sb_str(b, ",\"text\":[");
    for (int64_t i = 0; i < w->n_words; i++) {
        if (i) sb_put(b, ",", 1);
        sb_json_str(b, w->text[i]);
    }
    sb_str(b, "]}");
}

static const char * view_name(const char * v) {
    static const char * const known[] = { "head", "model", "heatmap", "qk", "steps", "rollout", "image", "align", "attrib" };
    for (size_t i = 0; v && i < sizeof known / sizeof known[0]; i++) if (!strcmp(v, known[i])) return known[i];
    return "head";
}

// "tokens":[...],"ids":[...],"special":[...] of one side (tmp: scratch [T]).
static void meta_token_side(struct sbuf * b, char * const * tokens, int64_t T, const int32_t * ids,
                            const uint8_t * special, int64_t * tmp) {
    sb_str(b, "\"tokens\":[");
    for (int64_t t = 0; t < T; t++) {
        if (t) sb_put(b, ",", 1);
        sb_json_str(b, tokens[t]);
    }
    sb_str(b, "],\"ids\":");
    for (int64_t t = 0; t < T; t++) tmp[t] = ids ? ids[t] : -1;
    sb_json_i64s(b, tmp, T);
    sb_str(b, ",\"special\":");
    for (int64_t t = 0; t < T; t++) tmp[t] = special[t];
    sb_json_i64s(b, tmp, T);
}

// Everything but the chunk table (its size is bounded by META_PER_MAP per map). run: the kind
// drawn; top: the run it came from (title, source text), run itself for single-kind runs.
// Cross-attention (T_keys > 0): the key side (source tokens) takes the fields every kind has
// ("T", "tokens", "special", "words", ...: the columns), and "rows" the target tokens the
// captured rows index. Both sides' special tokens and words follow gaze_cross_alignment (special
// by spelling, words by the token-list rule), so the page's word grouping is the alignment
// figure's.
static enum gaze_status meta_head(const struct gaze_run * run, const struct gaze_run * top, const struct gaze_html_opts * o,
                                  const char * view, struct sbuf * b) {
    const bool cross = run->T_keys > 0;
    const int64_t T = gaze_run_n_keys(run), Tr = run->T, Tmax = GAZE_MAX(T, Tr);
    uint8_t * special = malloc((size_t)Tmax);
    int64_t * tmp = calloc((size_t)Tmax, sizeof *tmp);
    struct gaze_words w0, w1;
    char * title = NULL;
    memset(&w0, 0, sizeof w0);
    memset(&w1, 0, sizeof w1);
    enum gaze_status s = GAZE_OK;
    if (!special || !tmp) { s = gaze_error(GAZE_ERR_NOMEM, "html: out of memory"); goto done; }
    if (cross) for (int64_t t = 0; t < T; t++) special[t] = gaze_token_is_special_text(run->key_tokens[t]);
    else if ((s = gaze_run_special_tokens(run, special))) goto done;
    // default title: the last component of the model's path ("minilm", "SmolLM2-...gguf")
    if (top->model && (title = strdup(top->model))) {
        size_t k = strlen(title);
        while (k > 1 && title[k - 1] == '/') title[--k] = '\0';
        const char * slash = strrchr(title, '/');
        if (slash && slash[1]) memmove(title, slash + 1, strlen(slash + 1) + 1);
    }
    // word groups by the same rule as the C transforms (aggregate.c), shown and hidden specials
    if (cross) {
        const char * const * kt = (const char * const *)run->key_tokens;
        if ((s = gaze_words_init(&w0, kt, T, special, GAZE_WORD_STYLE_AUTO, false))) goto done;
        if ((s = gaze_words_init(&w1, kt, T, special, GAZE_WORD_STYLE_AUTO, true))) goto done;
    } else {
        if ((s = gaze_words_from_run(&w0, run, GAZE_WORD_STYLE_AUTO, false))) goto done;
        if ((s = gaze_words_from_run(&w1, run, GAZE_WORD_STYLE_AUTO, true))) goto done;
    }
    sb_str(b, "{\"format\":1,\"title\":");
    sb_json_str(b, o->title ? o->title : title ? title : "gaze view");
    sb_str(b, ",\"model\":");
    sb_json_str(b, top->model);
    sb_str(b, ",\"arch\":");
    sb_json_str(b, top->arch);
    sb_printf(b, ",\"causal\":%s,\"n_layers\":%lld,\"n_heads\":%lld,\"n_kv_heads\":%lld,\"d_head\":%lld",
              run->causal ? "true" : "false", (long long)run->n_layers, (long long)run->n_heads,
              (long long)run->n_kv_heads, (long long)run->d_head);
    sb_printf(b, ",\"scale\":%.9g", run->d_head > 0 ? 1.0 / sqrt((double)run->d_head) : 0.0);
    sb_str(b, ",\"text\":");
    if (top->text) sb_json_str(b, top->text); else sb_str(b, "null");
    sb_str(b, ",\"pair\":");
    if (run->pair) sb_json_str(b, run->pair); else sb_str(b, "null");
    sb_printf(b, ",\"T\":%lld,\"n_generated\":%lld,", (long long)T, cross ? 0LL : (long long)run->n_generated);
    meta_token_side(b, cross ? run->key_tokens : run->tokens, T, cross ? run->key_ids : run->token_ids, special, tmp);
    sb_str(b, ",\"seq\":");
    if (run->sequence_ids && !cross) {
        for (int64_t t = 0; t < T; t++) tmp[t] = run->sequence_ids[t];
        sb_json_i64s(b, tmp, T);
    } else sb_str(b, "null");
    sb_str(b, ",\"types\":");
    if (run->token_type_ids && !cross) {
        for (int64_t t = 0; t < T; t++) tmp[t] = run->token_type_ids[t];
        sb_json_i64s(b, tmp, T);
    } else sb_str(b, "null");
    sb_printf(b, ",\"Tq\":%lld,\"q_rows\":", (long long)run->Tq);
    sb_json_i64s(b, run->q_rows, run->Tq);
    sb_str(b, ",\"heads\":");
    sb_json_i64s(b, run->heads, run->n_heads_cap);
    sb_str(b, ",\"words\":");
    meta_words(b, &w0);
    sb_str(b, ",\"words_hidden\":");
    meta_words(b, &w1);
    if (cross) {   // the rows' side: the target tokens
        gaze_words_free(&w0);
        gaze_words_free(&w1);
        for (int64_t t = 0; t < Tr; t++) special[t] = gaze_token_is_special_text(run->tokens[t]);
        const char * const * tt = (const char * const *)run->tokens;
        if ((s = gaze_words_init(&w0, tt, Tr, special, GAZE_WORD_STYLE_AUTO, false))) goto done;
        if ((s = gaze_words_init(&w1, tt, Tr, special, GAZE_WORD_STYLE_AUTO, true))) goto done;
        sb_printf(b, ",\"rows\":{\"T\":%lld,\"n_generated\":%lld,", (long long)Tr, (long long)run->n_generated);
        meta_token_side(b, run->tokens, Tr, run->token_ids, special, tmp);
        sb_str(b, ",\"words\":");
        meta_words(b, &w0);
        sb_str(b, ",\"words_hidden\":");
        meta_words(b, &w1);
        sb_str(b, "}");
    }
    sb_str(b, ",\"view\":");
    sb_json_str(b, view_name(view));
    if (b->oom) s = gaze_error(GAZE_ERR_NOMEM, "html: out of memory");
done:
    gaze_words_free(&w0);
    gaze_words_free(&w1);
    free(title);
    free(special);
    free(tmp);
    return s;
}

static void meta_chunks(const struct gaze_run * run, const struct html_plan * p, struct sbuf * b) {
    const int64_t M = p->n_layers * p->Hc;
    sb_str(b, ",\"layers\":[");
    for (int64_t l = 0; l < p->n_layers; l++) sb_printf(b, l ? ",%lld" : "%lld", (long long)run->layers[p->layer_ix[l]].index);
    sb_printf(b, "],\"enc\":\"%s\",\"payload\":%zu,\"exact\":[", p->enc == 1 ? "f16" : "u8", p->payload);
    for (int64_t i = 0; i < M; i++) {
        const struct html_map * m = &p->maps[i];
        if (m->enc) sb_printf(b, "%s[%d,%zu,%zu]", i ? "," : "", m->enc, m->exact_off, m->exact_bytes);
        else sb_str(b, i ? ",0" : "0");
    }
    sb_str(b, "],\"summary\":");
    if (p->block) {
        sb_printf(b, "{\"block\":%lld,\"nr\":%lld,\"nc\":%lld,\"off\":[", (long long)p->block, (long long)p->nr, (long long)p->nc);
        for (int64_t i = 0; i < M; i++) sb_printf(b, i ? ",%lld" : "%lld", (long long)p->maps[i].summary_off);
        sb_str(b, "]}");
    } else sb_str(b, "null");
    sb_str(b, ",\"qk\":[");
    for (int64_t i = 0; i < M; i++) {
        const struct html_map * m = &p->maps[i];
        if (m->q_off >= 0) sb_printf(b, "%s[%lld,%lld]", i ? "," : "", (long long)m->q_off, (long long)m->k_off);
        else sb_str(b, i ? ",0" : "0");
    }
    sb_str(b, "]}");
}

/* ---- the page ------------------------------------------------------------------------------ */

const char * gaze_html_precision_name(enum gaze_html_precision p) {
    switch (p) {
    case GAZE_HTML_PRECISION_AUTO: return "auto";
    case GAZE_HTML_PRECISION_F16:  return "f16";
    case GAZE_HTML_PRECISION_U8:   return "u8";
    }
    return "?";
}

static enum gaze_status run_shape_check(const struct gaze_run * run) {
    if (!run || run->T < 1 || !run->tokens)
        return gaze_error(GAZE_ERR_INVALID_ARG, "html: the run has no tokens");
    for (int64_t t = 0; t < run->T; t++)
        if (!run->tokens[t]) return gaze_error(GAZE_ERR_INVALID_ARG, "html: token %lld is NULL", (long long)t);
    if (run->Tq < 1 || !run->q_rows || run->n_heads_cap < 1 || !run->heads || run->n_cap_layers < 1 || !run->layers)
        return gaze_error(GAZE_ERR_INVALID_ARG, "html: the run has no attention captured (gaze run --capture attn)");
    for (int64_t r = 0; r < run->Tq; r++)
        if (run->q_rows[r] < 0 || run->q_rows[r] >= run->T || (r && run->q_rows[r] <= run->q_rows[r - 1]))
            return gaze_error(GAZE_ERR_INVALID_ARG, "html: q_rows[%lld] = %lld is not increasing in [0, %lld)",
                              (long long)r, (long long)run->q_rows[r], (long long)run->T);
    if (run->T_keys < 0 || (run->T_keys > 0 && !run->key_tokens))
        return gaze_error(GAZE_ERR_INVALID_ARG, "html: the run's key tokens are missing");
    for (int64_t t = 0; t < run->T_keys; t++)
        if (!run->key_tokens[t]) return gaze_error(GAZE_ERR_INVALID_ARG, "html: key token %lld is NULL", (long long)t);
    int64_t cells;
    if (gaze_mul_ovf_i64(run->Tq, gaze_run_n_keys(run), &cells) || gaze_mul_ovf_i64(cells, run->n_heads_cap, &cells))
        return gaze_error(GAZE_ERR_LIMIT, "html: the run's maps are too large");
    if (run->n_generated < 0 || run->n_generated > run->T)
        return gaze_error(GAZE_ERR_INVALID_ARG, "html: n_generated %lld outside [0, T]", (long long)run->n_generated);
    return GAZE_OK;
}

// One attention kind on the page: an ordinary run's only kind, or each kind of an
// encoder-decoder run (the encoder, run->decoder, run->cross: docs/runfile.md). Each has its
// own metadata (the same fields), plan and rollout; their data share one payload.
struct html_part {
    enum gaze_kind kind;
    const struct gaze_run * run;
    struct sbuf meta;             // meta_head + meta_rollout (+ the image) + meta_chunks
    struct html_plan plan;
    struct html_rollout ro;
    size_t base;                  // payload offset of the plan's data
    size_t ro_off;                // payload offset of the rollout's data
    size_t f16_total;             // its maps' bytes as f16 (the budget is shared on these)
};

static bool has_attention(const struct gaze_run * run) {
    for (int64_t li = 0; run && li < run->n_cap_layers; li++) if (run->layers[li].attn) return true;
    return false;
}

static void part_free(struct html_part * p) {
    free(p->meta.p);
    plan_free(&p->plan);
    rollout_free(&p->ro);
}

static void plan_shift(struct html_plan * p, size_t base) {
    for (int64_t i = 0; i < p->n_layers * p->Hc; i++) {
        struct html_map * m = &p->maps[i];
        m->exact_off += base;
        if (m->summary_off >= 0) m->summary_off += (int64_t)base;
        if (m->q_off >= 0) { m->q_off += (int64_t)base; m->k_off += (int64_t)base; }
    }
}

enum gaze_status gaze_html_run(const struct gaze_run * run, const struct gaze_html_opts * opts,
                               char ** out, size_t * n, struct gaze_html_info * info) {
    if (!out) return gaze_error(GAZE_ERR_INVALID_ARG, "html: NULL output");
    *out = NULL;
    if (n) *n = 0;
    struct gaze_html_opts o;
    if (opts) o = *opts; else memset(&o, 0, sizeof o);
    if ((int)o.precision < GAZE_HTML_PRECISION_AUTO || (int)o.precision > GAZE_HTML_PRECISION_U8)
        return gaze_error(GAZE_ERR_INVALID_ARG, "html: unknown precision %d", (int)o.precision);
    if ((unsigned)o.kind > GAZE_KIND_CROSS) return gaze_error(GAZE_ERR_INVALID_ARG, "html: unknown kind %d", (int)o.kind);
    if (!run) return run_shape_check(run);
    // the kinds on the page: an encoder-decoder run's kinds that have attention, else the run
    struct html_part parts[3];
    memset(parts, 0, sizeof parts);
    int np = 0, first = 0;
    const bool encdec = run->decoder || run->cross;
    if (encdec) {
        const struct gaze_run * kr[3] = { run, run->decoder, run->cross };
        for (int k = 0; k < 3; k++)
            if (kr[k] && has_attention(kr[k])) { parts[np].kind = (enum gaze_kind)k; parts[np++].run = kr[k]; }
        if (!np) return gaze_error(GAZE_ERR_INVALID_ARG, "html: the run has no attention captured (gaze run --capture attn)");
        first = -1;
        for (int i = 0; i < np; i++) if (parts[i].kind == o.kind) first = i;
        if (first < 0)
            return gaze_error(GAZE_ERR_INVALID_ARG, "html: the run has no %s attention to open the page on",
                              gaze_kind_name(o.kind));
    } else {   // its one kind (a cross part given on its own: T_keys > 0), whatever o.kind says
        parts[0].kind = run->T_keys ? GAZE_KIND_CROSS : run->causal ? GAZE_KIND_DECODER : GAZE_KIND_ENCODER;
        parts[0].run = run;
        np = 1;
    }
    enum gaze_status s = GAZE_OK;
    for (int i = 0; i < np && !s; i++) s = run_shape_check(parts[i].run);
    if (s) return s;
    const size_t max_bytes = o.max_bytes ? o.max_bytes : GAZE_HTML_MAX_BYTES_DEFAULT;
    const char * js = gaze_viewer_js, * css = gaze_viewer_css;
    char js_hash[45], css_hash[45];
    gaze_sha256_base64(js, strlen(js), js_hash);
    gaze_sha256_base64(css, strlen(css), css_hash);

    struct sbuf page = { 0 }, kinds = { 0 };
    uint8_t * payload = NULL;
    struct html_attrib at = { 0 };   // the attribution tab's data (single-kind pages)
    // what is fixed: page chrome, script, style, each kind's metadata and chunk table (bounded),
    // rollouts; the first part carries the image (image runs are single-kind)
    size_t fixed = 2048 + strlen(js) + strlen(css);
    const size_t img_bytes = gaze_html_image_bytes(parts[0].run);
    fixed += img_bytes ? (img_bytes + 2) / 3 * 4 + 4 + gaze_html_image_meta_max(parts[0].run) : 0;
    if (!encdec && (s = gaze_html_attrib_make(run, &o, max_bytes / 4, &at))) goto fail;
    fixed += at.meta_max + (at.bytes + 2) / 3 * 4 + 4;
    for (int i = 0; i < np; i++) {
        struct html_part * p = &parts[i];
        const struct gaze_run * r = p->run;
        struct gaze_html_opts po = o;
        if (p->kind != parts[0].kind) {   // flow tokens index the first kind's tokens; others: defaults
            po.flow_tokens = NULL;
            po.n_flow_tokens = 0;
            po.flow_all = false;
        }
        if (r->T_keys) snprintf(p->ro.why, sizeof p->ro.why, "not defined over cross-attention (target rows over source "
                                "keys: nothing chains across the two sequences); the alignment view shows it");
        else if ((s = rollout_make(r, &po, max_bytes / 10 / (size_t)np, &p->ro))) goto fail;
        const char * view = o.view ? o.view : run->image ? "image" : NULL;   // image runs open on their image
        if ((s = meta_head(r, encdec ? run : r, &o, view, &p->meta))) goto fail;
        int64_t n_maps = 0, cells = 0;
        for (int64_t li = 0; li < r->n_cap_layers; li++) n_maps += r->layers[li].attn ? r->n_heads_cap : 0;
        for (int64_t q = 0; q < r->Tq; q++) cells += row_keys(r, q);
        p->f16_total = align4(2 * (size_t)cells) * (size_t)n_maps;
        fixed += p->meta.n + (size_t)n_maps * META_PER_MAP;
        fixed += 512 + 24 * (size_t)p->ro.n_flow;   // the rollout's entry in the metadata
        fixed += p->ro.bytes ? (p->ro.bytes + 2) / 3 * 4 + 4 : 0;
    }
    if (encdec) {   // the kind list and what the kinds share (target text)
        sb_str(&kinds, ",\"kinds\":{\"list\":[");
        for (int i = 0; i < np; i++) sb_printf(&kinds, i ? ",\"%s\"" : "\"%s\"", gaze_kind_name(parts[i].kind));
        sb_printf(&kinds, "],\"initial\":\"%s\",\"target_text\":", gaze_kind_name(parts[first].kind));
        const struct gaze_run * tgt = run->decoder ? run->decoder : run->cross;
        if (tgt && tgt->text) sb_json_str(&kinds, tgt->text); else sb_str(&kinds, "null");
        fixed += kinds.n + 64 * (size_t)np;
    }
    if (fixed >= max_bytes) {
        s = gaze_error(GAZE_ERR_LIMIT, "html: the page without attention data needs %zu bytes, over the cap of %zu", fixed, max_bytes);
        goto fail;
    }
    const size_t budget = (max_bytes - fixed) / 4 * 3;   // base64 makes 4 characters of 3 bytes
    // the budget shared max-min fair on each kind's f16 bytes: smallest first, each takes what
    // its f16 maps need or an equal part of what is left, whichever is less; the last (largest)
    // takes the rest. So every kind is exact when all fit, a small kind (a short target) stays
    // exact beside a long source, and each degrades (u8, then block means) on its own.
    int order[3] = { 0, 1, 2 };
    for (int i = 1; i < np; i++)
        for (int j = i; j > 0 && parts[order[j]].f16_total < parts[order[j - 1]].f16_total; j--) {
            const int t = order[j]; order[j] = order[j - 1]; order[j - 1] = t;
        }
    size_t left = budget, share[3] = { 0, 0, 0 };
    for (int k = 0; k < np; k++) {
        const int i = order[k];
        share[i] = k == np - 1 ? left : GAZE_MIN(parts[i].f16_total, left / (size_t)(np - k));
        left -= share[i];
    }
    size_t total = 0;
    for (int i = 0; i < np; i++) {
        struct html_part * p = &parts[i];
        // T5 adds a relative position bias to q.k and does not scale it: the page's q/k view,
        // softmax(q.k / sqrt(d)), would not give its weights, so its q/k stay out
        struct gaze_html_opts po = o;
        if (run->arch && !strcmp(run->arch, "t5")) po.no_qk = true;
        if ((s = plan_make(p->run, &po, share[i], &p->plan))) goto fail;
        p->base = total;
        total += p->plan.payload;
    }
    for (int i = 0; i < np; i++) { parts[i].ro_off = total; total += parts[i].ro.bytes; }
    const size_t img_off = total;
    total += img_bytes;
    const size_t at_off = total;
    total += at.bytes;
    if (!(payload = malloc(total ? total : 1))) { s = gaze_error(GAZE_ERR_NOMEM, "html: out of memory for %zu bytes", total); goto fail; }
    for (int i = 0; i < np; i++) {
        struct html_part * p = &parts[i];
        if ((s = payload_write(p->run, &p->plan, payload + p->base))) goto fail;
        plan_shift(&p->plan, p->base);
        if (p->ro.bytes) memcpy(payload + p->ro_off, p->ro.data, p->ro.bytes);
        meta_rollout(p->run, &o, &p->ro, p->ro_off, &p->meta);
        if (i == 0) {
            char * im = gaze_html_image_meta(p->run, img_off);
            if (!im) { s = gaze_error(GAZE_ERR_NOMEM, "html: out of memory"); goto fail; }
            sb_str(&p->meta, im);
            free(im);
            if (!encdec) {
                char * am = gaze_html_attrib_meta(p->run, &o, &at, at_off);
                if (!am) { s = gaze_error(GAZE_ERR_NOMEM, "html: out of memory"); goto fail; }
                sb_str(&p->meta, am);
                free(am);
            }
        }
        p->plan.payload = total;   // the chunk table states the whole payload's size
        meta_chunks(p->run, &p->plan, &p->meta);
        if (p->meta.oom) { s = gaze_error(GAZE_ERR_NOMEM, "html: out of memory"); goto fail; }
    }
    gaze_html_image_write(parts[0].run, payload + img_off);
    if (at.bytes) memcpy(payload + at_off, at.data, at.bytes);

    const size_t b64 = (total + 2) / 3 * 4;
    if (!sb_reserve(&page, fixed + b64)) { s = gaze_error(GAZE_ERR_NOMEM, "html: out of memory"); goto fail; }
    sb_str(&page, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                  "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'sha256-");
    sb_str(&page, js_hash);
    sb_str(&page, "'; style-src 'sha256-");
    sb_str(&page, css_hash);
    sb_str(&page, "'; img-src data:; base-uri 'none'; form-action 'none'\">\n"
                  "<meta name=\"referrer\" content=\"no-referrer\">\n"
                  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                  "<meta name=\"generator\" content=\"gaze view\">\n<title>gaze view</title>\n<style>");
    sb_str(&page, css);
    sb_str(&page, "</style>\n</head>\n<body>\n<div id=\"app\"></div>\n"
                  "<noscript>This attention viewer needs JavaScript.</noscript>\n"
                  "<script type=\"application/json\" id=\"gaze-meta\">");
    if (!encdec) sb_put(&page, parts[0].meta.p, parts[0].meta.n);
    else {   // the first kind's metadata at the top (as a single-kind page), the others under "kinds"
        sb_put(&page, parts[0].meta.p, parts[0].meta.n - 1);   // without its closing brace
        sb_put(&page, kinds.p, kinds.n);
        for (int i = 1; i < np; i++) {
            sb_printf(&page, ",\"%s\":", gaze_kind_name(parts[i].kind));
            sb_put(&page, parts[i].meta.p, parts[i].meta.n);
        }
        sb_str(&page, "}}");
    }
    sb_str(&page, "</script>\n<script type=\"application/octet-stream\" id=\"gaze-data\">");
    if (sb_reserve(&page, b64)) {
        gaze_base64_encode(payload, total, page.p + page.n);
        page.n += b64;
        page.p[page.n] = '\0';
    }
    sb_str(&page, "</script>\n<script>");
    sb_str(&page, js);
    sb_str(&page, "</script>\n</body>\n</html>\n");
    if (page.oom) { s = gaze_error(GAZE_ERR_NOMEM, "html: out of memory"); goto fail; }
    if (page.n > max_bytes) {   // the plan reserves enough; this would be a bug in the plan
        s = gaze_error(GAZE_ERR_LIMIT, "html: page of %zu bytes over the cap of %zu", page.n, max_bytes);
        goto fail;
    }
    if (info) {
        memset(info, 0, sizeof *info);
        info->bytes = page.n;
        info->payload_bytes = total;
        info->precision = GAZE_HTML_PRECISION_U8;
        for (int i = 0; i < np; i++) {   // totals over the kinds; precision f16 when every exact map is
            const struct html_plan * pl = &parts[i].plan;
            info->n_maps += pl->n_layers * pl->Hc;
            for (int64_t m = 0; m < pl->n_layers * pl->Hc; m++) {
                info->n_exact += pl->maps[m].enc != 0;
                info->n_summary += pl->maps[m].enc == 0;
                info->n_qk += pl->maps[m].q_off >= 0;
            }
            info->block = GAZE_MAX(info->block, pl->block);
        }
        bool all_f16 = true;
        for (int i = 0; i < np; i++) all_f16 = all_f16 && parts[i].plan.enc == 1;
        if (all_f16) info->precision = GAZE_HTML_PRECISION_F16;
        info->n_rollout_fusions = parts[0].ro.n_fusions;
        info->n_flow = parts[0].ro.n_flow;
        for (int i = 0; i < np; i++) { info->rollout_ms += parts[i].ro.rollout_ms; info->flow_ms += parts[i].ro.flow_ms; }
        info->n_kinds = encdec ? np : 1;
    }
    *out = page.p;
    if (n) *n = page.n;
    free(kinds.p);
    free(payload);
    gaze_html_attrib_free(&at);
    for (int i = 0; i < np; i++) part_free(&parts[i]);
    return GAZE_OK;
fail:
    free(kinds.p);
    free(page.p);
    free(payload);
    gaze_html_attrib_free(&at);
    for (int i = 0; i < np; i++) part_free(&parts[i]);
    return s;
}

enum gaze_status gaze_html_write(const struct gaze_run * run, const char * path,
                                 const struct gaze_html_opts * opts, struct gaze_html_info * info) {
    if (!path) return gaze_error(GAZE_ERR_INVALID_ARG, "html: NULL path");
    char * page;
    size_t n;
    enum gaze_status s = gaze_html_run(run, opts, &page, &n, info);
    if (s) return s;
    s = gaze_output_write_file(path, page, n);
    free(page);
    return s;
}

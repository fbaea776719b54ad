// Per-head metrics of a run: Clark et al. entropy and surface statistics, the Gu et al. sink
// score, TransformerLens head detectors, and labels from thresholds.
// Formulas: reference/interpretability.md §3, §4, §6, §7.
#include "analysis/analysis.h"
#include <math.h>
#include <string.h>
#include <utf8proc.h>

static const char * const metric_names[GAZE_METRIC_COUNT] = {
    "entropy", "entropy_norm", "max_weight", "distance", "self", "prev", "next",
    "cls", "sep", "bos", "punct", "sink", "det_prev", "det_dup", "det_ind",
};

const char * gaze_metric_name(enum gaze_metric m) {
    return (unsigned)m < GAZE_METRIC_COUNT ? metric_names[m] : "?";
}

bool gaze_metric_from_name(const char * name, enum gaze_metric * out) {
    for (int m = 0; name && m < GAZE_METRIC_COUNT; m++)
        if (!strcmp(name, metric_names[m])) { *out = (enum gaze_metric)m; return true; }
    return false;
}

static const char * const label_names[GAZE_HEAD_LABEL_COUNT] = {
    "broad", "previous-token", "next-token", "self", "cls", "sep", "punct", "sink",
    "duplicate-token", "induction",
};

const char * gaze_head_label_name(enum gaze_head_label label) {
    for (int b = 0; b < GAZE_HEAD_LABEL_COUNT; b++)
        if ((unsigned)label == 1u << b) return label_names[b];
    return "?";
}

struct gaze_head_thresholds gaze_head_thresholds_default(void) {
    struct gaze_head_thresholds t = { 0.78, 0.5, 0.6, 0.3, 0.4 };
    return t;
}

unsigned gaze_head_labels(const double * v, const struct gaze_head_thresholds * th) {
    struct gaze_head_thresholds d = gaze_head_thresholds_default();
    if (!th) th = &d;
    unsigned l = 0;   // comparisons with NaN are false: undefined metrics never label
    if (v[GAZE_METRIC_ENTROPY_NORM] > th->broad) l |= GAZE_HEAD_LABEL_BROAD;
    if (v[GAZE_METRIC_PREV] > th->positional)    l |= GAZE_HEAD_LABEL_PREV;
    if (v[GAZE_METRIC_NEXT] > th->positional)    l |= GAZE_HEAD_LABEL_NEXT;
    if (v[GAZE_METRIC_SELF] > th->positional)    l |= GAZE_HEAD_LABEL_SELF;
    if (v[GAZE_METRIC_CLS] > th->special)        l |= GAZE_HEAD_LABEL_CLS;
    if (v[GAZE_METRIC_SEP] > th->special)        l |= GAZE_HEAD_LABEL_SEP;
    if (v[GAZE_METRIC_PUNCT] > th->special)      l |= GAZE_HEAD_LABEL_PUNCT;
    if (v[GAZE_METRIC_SINK] > th->sink)          l |= GAZE_HEAD_LABEL_SINK;
    if (v[GAZE_METRIC_DET_DUP] > th->detector)   l |= GAZE_HEAD_LABEL_DUPLICATE;
    if (v[GAZE_METRIC_DET_IND] > th->detector)   l |= GAZE_HEAD_LABEL_INDUCTION;
    return l;
}

size_t gaze_head_labels_format(unsigned labels, char * buf, size_t n) {
    size_t len = 0;
    if (buf && n) buf[0] = '\0';
    for (int b = 0; b < GAZE_HEAD_LABEL_COUNT; b++) {
        if (!(labels & (1u << b))) continue;
        const char * s = label_names[b];
        size_t k = strlen(s) + (len ? 1 : 0);
        if (buf && len + k < n) snprintf(buf + len, n - len, "%s%s", len ? "," : "", s);
        len += k;
    }
    return len;
}

/* ---- token classes ------------------------------------------------------------------------ */

static bool punct_token(const char * s) {
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') s++;
    if (s[0] == '#' && s[1] == '#' && s[2]) s += 2;   // WordPiece continuation "##."
    if (!*s) return false;
    const utf8proc_uint8_t * p = (const utf8proc_uint8_t *)s;
    utf8proc_ssize_t left = (utf8proc_ssize_t)strlen(s);
    while (left > 0) {
        utf8proc_int32_t c;
        utf8proc_ssize_t k = utf8proc_iterate(p, left, &c);
        if (k <= 0) return false;
        switch (utf8proc_category(c)) {
        case UTF8PROC_CATEGORY_PC: case UTF8PROC_CATEGORY_PD: case UTF8PROC_CATEGORY_PS:
        case UTF8PROC_CATEGORY_PE: case UTF8PROC_CATEGORY_PI: case UTF8PROC_CATEGORY_PF:
        case UTF8PROC_CATEGORY_PO: break;
        default: return false;
        }
        p += k;
        left -= k;
    }
    return true;
}

void analysis_token_classes(const struct gaze_run * run, uint8_t * cls) {
    analysis_token_classes_of(run, false, cls);
}

void analysis_token_classes_of(const struct gaze_run * run, bool keys, uint8_t * cls) {
    const bool other = keys && run->T_keys;   // a cross run's keys: the source tokens
    const int64_t n = other ? run->T_keys : run->T;
    char * const * toks = other ? run->key_tokens : run->tokens;
    for (int64_t t = 0; t < n; t++) {
        const char * s = toks && toks[t] ? toks[t] : "";
        uint8_t c = 0;
        // the same rule as every view (gaze_run_special_tokens)
        bool special = run->sequence_ids && !other ? run->sequence_ids[t] < 0 : gaze_token_is_special_text(s);
        if (special) {
            c |= ANALYSIS_TOK_SPECIAL;
            if (!strcmp(s, "[CLS]")) c |= ANALYSIS_TOK_CLS;
            if (!strcmp(s, "[SEP]")) c |= ANALYSIS_TOK_SEP;
        } else if (punct_token(s)) {
            c |= ANALYSIS_TOK_PUNCT;
        }
        cls[t] = c;
    }
}

enum gaze_status analysis_check_square(const struct gaze_run * run, const char * what) {
    if (!run || run->T < 1 || !run->q_rows)
        return gaze_error(GAZE_ERR_INVALID_ARG, "%s: the run holds no tokens or no capture", what);
    if (run->T_keys)
        return gaze_error(GAZE_ERR_INVALID_ARG, "%s: not defined over cross-attention (its rows are the target "
                          "tokens, its keys the source tokens, so attention does not chain from layer to layer); "
                          "choose the encoder or decoder kind", what);
    if (run->Tq != run->T)
        return gaze_error(GAZE_ERR_INVALID_ARG, "%s: needs the attention of every query row (the run captured %lld "
                          "of %lld rows)", what, (long long)run->Tq, (long long)run->T);
    if (run->n_cap_layers < 1 || run->n_heads_cap < 1)
        return gaze_error(GAZE_ERR_INVALID_ARG, "%s: the run holds no captured layers", what);
    for (int64_t l = 0; l < run->n_cap_layers; l++)
        if (!run->layers[l].attn)
            return gaze_error(GAZE_ERR_INVALID_ARG, "%s: layer %lld has no captured attention", what,
                              (long long)run->layers[l].index);
    return GAZE_OK;
}

/* ---- TransformerLens detectors ------------------------------------------------------------ */

static bool det_pattern(enum gaze_detector det, const int32_t * t, int64_t i, int64_t j) {
    switch (det) {
    case GAZE_DETECTOR_PREVIOUS_TOKEN:  return j == i - 1;
    case GAZE_DETECTOR_DUPLICATE_TOKEN: return j < i && t[i] == t[j];
    case GAZE_DETECTOR_INDUCTION:       return j >= 1 && j <= i && t[j - 1] == t[i];
    }
    return false;
}

double gaze_detector_score(const float * p, const int32_t * tokens, int64_t T,
                           enum gaze_detector det, const struct gaze_detector_opts * opts) {
    static const struct gaze_detector_opts defaults;
    if (!opts) opts = &defaults;
    if (!p || !tokens || T < 2) return NAN;
    double num = 0, den = 0;
    for (int64_t i = 0; i < T; i++)
        for (int64_t j = 0; j < T; j++) {
            if ((opts->exclude_bos && j == 0) || (opts->exclude_current_token && i == j)) continue;
            double a = p[i * T + j];
            bool d = det_pattern(det, tokens, i, j);
            if (opts->error == GAZE_DETECTOR_ERROR_ABS) {
                num += fabs(a - (d ? 1.0 : 0.0));
            } else {
                den += a;
                if (d) num += a;
            }
        }
    if (opts->error == GAZE_DETECTOR_ERROR_ABS)
        return 1.0 - nearbyint(num / (double)T * 1000.0) / 1000.0;   // Python round(x, 3)
    return den > 0 ? num / den : NAN;
}

/* ---- per-head metrics --------------------------------------------------------------------- */

// One head: attn [Tq, T] -> v [GAZE_METRIC_COUNT].
static void head_metrics(const struct gaze_run * run, const float * attn, const uint8_t * cls,
                         bool has_cls, bool has_sep, bool has_punct, bool has_bos,
                         const struct gaze_detector_opts * det, double * v) {
    const int64_t T = gaze_run_n_keys(run), Tq = run->Tq;
    const bool cross = run->T_keys > 0;   // keys are other tokens: no positions to compare
    double sum[GAZE_METRIC_SINK + 1] = { 0 };
    int64_t rows = 0, rows_norm = 0;
    for (int64_t r = 0; r < Tq; r++) {
        const float * a = attn + r * T;
        const int64_t p = run->q_rows ? run->q_rows[r] : r;
        const int64_t n = run->causal ? GAZE_MIN(p + 1, T) : T;   // visible keys 0..n-1
        double total = 0;
        for (int64_t j = 0; j < n; j++) total += a[j];
        if (!(total > 0)) continue;   // fully masked row
        rows++;
        const double u = 0.0001 / (double)n;
        double H = 0, mx = 0, dist = 0, mcls = 0, msep = 0, mpunct = 0;
        for (int64_t j = 0; j < n; j++) {
            const double x = a[j], xs = 0.9999 * x + u;
            H -= xs * log(xs);
            if (x > mx) mx = x;
            dist += x * (double)(p > j ? p - j : j - p);
            if (cls[j] & ANALYSIS_TOK_CLS) mcls += x;
            if (cls[j] & ANALYSIS_TOK_SEP) msep += x;
            if (cls[j] & ANALYSIS_TOK_PUNCT) mpunct += x;
        }
        sum[GAZE_METRIC_ENTROPY] += H;
        if (n > 1) { sum[GAZE_METRIC_ENTROPY_NORM] += H / log((double)n); rows_norm++; }
        sum[GAZE_METRIC_MAX_WEIGHT] += mx;
        sum[GAZE_METRIC_DISTANCE] += dist;
        sum[GAZE_METRIC_SELF] += p < n ? a[p] : 0;
        sum[GAZE_METRIC_PREV] += p >= 1 && p - 1 < n ? a[p - 1] : 0;
        sum[GAZE_METRIC_NEXT] += p + 1 < n ? a[p + 1] : 0;
        sum[GAZE_METRIC_CLS] += mcls;
        sum[GAZE_METRIC_SEP] += msep;
        sum[GAZE_METRIC_BOS] += a[0];
        sum[GAZE_METRIC_PUNCT] += mpunct;
        sum[GAZE_METRIC_SINK] += a[0];   // every row sees key 0
    }
    for (int m = 0; m <= GAZE_METRIC_SINK; m++)
        v[m] = rows ? sum[m] / (double)rows : NAN;
    v[GAZE_METRIC_ENTROPY_NORM] = rows_norm ? sum[GAZE_METRIC_ENTROPY_NORM] / (double)rows_norm : NAN;
    if (run->causal) v[GAZE_METRIC_NEXT] = NAN;
    if (cross)
        v[GAZE_METRIC_DISTANCE] = v[GAZE_METRIC_SELF] = v[GAZE_METRIC_PREV] = v[GAZE_METRIC_NEXT] = NAN;
    if (!has_cls) v[GAZE_METRIC_CLS] = NAN;
    if (!has_sep) v[GAZE_METRIC_SEP] = NAN;
    if (!has_punct) v[GAZE_METRIC_PUNCT] = NAN;
    if (!has_bos) v[GAZE_METRIC_BOS] = NAN;
    const bool square = Tq == T && T > 1 && !cross;
    v[GAZE_METRIC_DET_PREV] = square ? gaze_detector_score(attn, run->token_ids, T, GAZE_DETECTOR_PREVIOUS_TOKEN, det) : NAN;
    v[GAZE_METRIC_DET_DUP]  = square ? gaze_detector_score(attn, run->token_ids, T, GAZE_DETECTOR_DUPLICATE_TOKEN, det) : NAN;
    v[GAZE_METRIC_DET_IND]  = square ? gaze_detector_score(attn, run->token_ids, T, GAZE_DETECTOR_INDUCTION, det) : NAN;
}

enum gaze_status gaze_head_metrics_compute(const struct gaze_run * run,
                                           const struct gaze_detector_opts * det,
                                           const struct gaze_head_thresholds * th,
                                           struct gaze_head_metrics * out, int n_threads) {
    if (!run || !out) return gaze_error(GAZE_ERR_INVALID_ARG, "heads: NULL argument");
    if (run->T < 1 || run->Tq < 1 || run->n_cap_layers < 1 || run->n_heads_cap < 1 || !run->token_ids)
        return gaze_error(GAZE_ERR_INVALID_ARG, "heads: the run holds no tokens or no captured layers");
    for (int64_t l = 0; l < run->n_cap_layers; l++)
        if (!run->layers[l].attn)
            return gaze_error(GAZE_ERR_INVALID_ARG, "heads: layer %lld has no captured attention",
                              (long long)run->layers[l].index);
    // token classes of the keys (a cross run's: the source tokens)
    const int64_t T = gaze_run_n_keys(run), Hc = run->n_heads_cap, L = run->n_cap_layers;
    uint8_t * cls = malloc((size_t)T);
    if (!cls) return gaze_error(GAZE_ERR_NOMEM, "heads: out of memory");
    analysis_token_classes_of(run, true, cls);
    bool has_cls = false, has_sep = false, has_punct = false;
    for (int64_t t = 0; t < T; t++) {
        has_cls |= (cls[t] & ANALYSIS_TOK_CLS) != 0;
        has_sep |= (cls[t] & ANALYSIS_TOK_SEP) != 0;
        has_punct |= (cls[t] & ANALYSIS_TOK_PUNCT) != 0;
    }
    // BOS: a decoder's leading special token (an encoder's leading special is [CLS])
    const bool has_bos = (cls[0] & ANALYSIS_TOK_SPECIAL) && !(cls[0] & ANALYSIS_TOK_CLS);
    const int64_t group = run->n_kv_heads > 0 && run->n_heads % run->n_kv_heads == 0 ? run->n_heads / run->n_kv_heads : 1;
    if (n_threads <= 0) n_threads = gaze_default_threads();
    #pragma omp parallel for schedule(dynamic, 1) num_threads(n_threads)
    for (int64_t k = 0; k < L * Hc; k++) {
        const int64_t l = k / Hc, h = k % Hc;
        struct gaze_head_metrics * m = &out[k];
        m->layer = run->layers[l].index;
        m->head = run->heads ? run->heads[h] : h;
        m->kv_head = m->head / group;
        head_metrics(run, run->layers[l].attn + h * run->Tq * T, cls, has_cls, has_sep, has_punct, has_bos, det, m->v);
        m->labels = gaze_head_labels(m->v, th);
    }
    free(cls);
    return GAZE_OK;
}

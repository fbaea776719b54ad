// Unigram segmentation as `tokenizers` 0.20 does it (models/unigram/model.rs encode_optimized,
// tokenize): per pre-token, the best path by summed piece scores, where a character no piece
// starts with costs min_score - 10 as <unk>; consecutive unknowns are fused; a fused unknown is
// looked up as text, then spelled as <0xXX> tokens (byte_fallback) or given <unk>.
// Pieces are found by a walk over the vocabulary sorted by text (each byte narrows a range by
// binary search), which needs no trie and no hash of untrusted text.
#include "core/core.h"
#include "text/unigram.h"
#include "text/utf8.h"
#include <math.h>
#include <string.h>

#define META "\xE2\x96\x81"
#define UNK_PENALTY 10.0

struct tok_unigram {
    int32_t  n;
    char *   text;            // all pieces, back to back
    size_t * off;             // [n + 1]
    double * score;           // [n]
    int32_t * sorted;         // [n] ids by text (shorter first on a common prefix), equal texts by id
    int32_t  unk;
    bool     byte_fallback;
    int32_t  byte_id[256];    // <0xXX> of each byte, -1 none
    double   min_score;
    struct tok_norm * norm;
    int      metaspace;
    bool     split;
    // sentencepiece mode (tok_unigram_set_spm)
    bool     spm, lang_codes;
    struct tok_spm_norm_spec spec;
    struct tok_unigram * outer;
    int32_t  outer_unk;
};

static const struct tok_unigram * g_sort;   // qsort has no context argument; init is single-threaded per call

static int cmp_ids(const void * pa, const void * pb) {
    const struct tok_unigram * u = g_sort;
    int32_t a = *(const int32_t *)pa, b = *(const int32_t *)pb;
    size_t la = u->off[a + 1] - u->off[a], lb = u->off[b + 1] - u->off[b];
    int c = memcmp(u->text + u->off[a], u->text + u->off[b], la < lb ? la : lb);
    if (c) return c;
    if (la != lb) return la < lb ? -1 : 1;
    return a < b ? -1 : a > b;
}

void tok_unigram_free(struct tok_unigram * u) {
    if (!u) return;
    free(u->text); free(u->off); free(u->score); free(u->sorted);
    tok_norm_free(u->norm);
    tok_unigram_free(u->outer);
    free(u);
}

static inline size_t plen(const struct tok_unigram * u, int32_t id) { return u->off[id + 1] - u->off[id]; }
static inline const char * ptext(const struct tok_unigram * u, int32_t id) { return u->text + u->off[id]; }

// The next piece along t[0..n): narrows sorted[*lo, *hi) from prefix length d to d + 1.
static void narrow(const struct tok_unigram * u, size_t * lo, size_t * hi, size_t d, uint8_t c) {
    size_t a = *lo, b = *hi;
    while (a < b && plen(u, u->sorted[a]) == d) a++;   // pieces equal to the prefix sort first
    size_t l = a, h = b;
    while (l < h) {   // first with byte d >= c
        size_t m = l + (h - l) / 2;
        if ((uint8_t)ptext(u, u->sorted[m])[d] < c) l = m + 1; else h = m;
    }
    size_t first = l;
    h = b;
    while (l < h) {   // first with byte d > c
        size_t m = l + (h - l) / 2;
        if ((uint8_t)ptext(u, u->sorted[m])[d] <= c) l = m + 1; else h = m;
    }
    *lo = first;
    *hi = l;
}

// The id `tokenizers` maps a text of length d to (the last of equal pieces), given the range of
// pieces with that prefix; -1 when no piece is exactly the prefix.
static int32_t exact_at(const struct tok_unigram * u, size_t lo, size_t hi, size_t d) {
    int32_t id = -1;
    for (size_t j = lo; j < hi && plen(u, u->sorted[j]) == d; j++) id = u->sorted[j];
    return id;
}

static int32_t lookup(const struct tok_unigram * u, const char * t, size_t n) {
    size_t lo = 0, hi = (size_t)u->n;
    for (size_t d = 0; d < n && lo < hi; d++) narrow(u, &lo, &hi, d, (uint8_t)t[d]);
    return lo < hi ? exact_at(u, lo, hi, n) : -1;
}

int32_t tok_unigram_lookup(const struct tok_unigram * u, const char * t, size_t n) { return n ? lookup(u, t, n) : -1; }

void tok_unigram_set_spm(struct tok_unigram * u, const struct tok_spm_norm_spec * spec, struct tok_unigram * outer,
                         int32_t outer_unk, bool lang_codes) {
    u->spm = true;
    u->spec = *spec;
    u->outer = outer;
    u->outer_unk = outer_unk;
    u->lang_codes = lang_codes;
}

enum gaze_status tok_unigram_init(struct tok_unigram ** out, const struct tok_unigram_vocab * v, struct tok_norm * norm,
                                  int metaspace, bool split, const char * label) {
    *out = NULL;
    struct tok_unigram * u = calloc(1, sizeof *u);
    if (!u) { tok_norm_free(norm); return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", label); }
    u->norm = norm;
    u->n = v->n;
    u->unk = v->unk;
    u->byte_fallback = v->byte_fallback;
    u->metaspace = metaspace;
    u->split = split;
    size_t total = 0;
    for (int32_t i = 0; i < v->n; i++) total += v->len[i];
    u->text = malloc(total + 1);
    u->off = malloc(((size_t)v->n + 1) * sizeof *u->off);
    u->score = malloc(((size_t)v->n + 1) * sizeof *u->score);
    u->sorted = malloc(((size_t)v->n + 1) * sizeof *u->sorted);
    if (!u->text || !u->off || !u->score || !u->sorted) { tok_unigram_free(u); return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", label); }
    u->min_score = INFINITY;
    size_t o = 0;
    for (int32_t i = 0; i < v->n; i++) {
        u->off[i] = o;
        memcpy(u->text + o, v->piece[i], v->len[i]);
        o += v->len[i];
        u->score[i] = v->score[i];
        if (v->score[i] < u->min_score) u->min_score = v->score[i];
        u->sorted[i] = i;
    }
    u->off[v->n] = o;
    if (v->unk >= v->n || v->unk < -1) {
        tok_unigram_free(u);
        return gaze_error(GAZE_ERR_FORMAT, "%s: model.unk_id = %d: not an id of the %d-piece vocab", label, v->unk, v->n);
    }
    g_sort = u;
    qsort(u->sorted, (size_t)v->n, sizeof *u->sorted, cmp_ids);
    g_sort = NULL;
    for (int c = 0; c < 256; c++) {
        char hex[8];
        snprintf(hex, sizeof hex, "<0x%02X>", c);
        u->byte_id[c] = lookup(u, hex, 6);
    }
    *out = u;
    return GAZE_OK;
}

void tok_uni_scratch_free(struct tok_uni_scratch * s) {
    if (!s) return;
    tok_nstr_free(&s->ns);
    tok_norm_scratch_free(&s->norm);
    free(s->best); free(s->from); free(s->bid); free(s->out); free(s->seg);
    memset(s, 0, sizeof *s);
}

static bool out_push(struct tok_uni_scratch * s, int32_t id, size_t b, size_t e) {
    if (s->n_out == s->out_cap) {
        size_t c = s->out_cap ? 2 * s->out_cap : 64;
        struct tok_uni_token * t = realloc(s->out, c * sizeof *t);
        if (!t) return false;
        s->out = t;
        s->out_cap = c;
    }
    s->out[s->n_out++] = (struct tok_uni_token){ id, b, e };
    return true;
}

// One token of text ns[b, e) (the pre-token's own coordinates p0 + ...): by id, or by text
// (fused unknowns), byte fallback, <unk>.
static enum gaze_status emit(const struct tok_unigram * u, struct tok_uni_scratch * s, int32_t id, size_t b, size_t e) {
    const struct tok_nstr * ns = &s->ns;
    size_t ob = ns->ab[b], oe = ns->ae[e - 1];
    if (u->outer) {   // sentencepiece mode: the piece, or the unknown's surface, by text in outer
        bool known = id >= 0 && id != u->unk;
        int32_t o = lookup(u->outer, known ? ptext(u, id) : ns->s + b, known ? plen(u, id) : e - b);
        if (!out_push(s, o >= 0 ? o : u->outer_unk, ob, oe)) return gaze_error(GAZE_ERR_NOMEM, "unigram: out of memory");
        return GAZE_OK;
    }
    if (id < 0 || id == u->unk) id = lookup(u, ns->s + b, e - b);
    if (id < 0 && u->byte_fallback) {
        bool all = true;
        for (size_t i = b; i < e && all; i++) all = u->byte_id[(uint8_t)ns->s[i]] >= 0;
        if (all) {
            for (size_t i = b; i < e; i++)
                if (!out_push(s, u->byte_id[(uint8_t)ns->s[i]], ob, oe)) return gaze_error(GAZE_ERR_NOMEM, "unigram: out of memory");
            return GAZE_OK;
        }
    }
    if (id < 0) id = u->unk;
    if (id < 0) return gaze_error(GAZE_ERR_FORMAT, "unigram: a character has no piece and the model has no unk_id");
    if (!out_push(s, id, ob, oe)) return gaze_error(GAZE_ERR_NOMEM, "unigram: out of memory");
    return GAZE_OK;
}

static bool seg_push(struct tok_uni_scratch * s, int32_t id, size_t b, size_t e) {
    if (s->n_seg == s->seg_cap) {
        size_t c = s->seg_cap ? 2 * s->seg_cap : 64;
        struct tok_uni_token * t = realloc(s->seg, c * sizeof *t);
        if (!t) return false;
        s->seg = t;
        s->seg_cap = c;
    }
    s->seg[s->n_seg++] = (struct tok_uni_token){ id, b, e };
    return true;
}

// Viterbi over the pre-token ns[p0, p1) (encode_optimized).
static enum gaze_status viterbi(const struct tok_unigram * u, struct tok_uni_scratch * s, size_t p0, size_t p1) {
    const char * t = s->ns.s + p0;
    size_t n = p1 - p0;
    if (n + 1 > s->cap) {
        size_t c = n + 1;
        double * best = realloc(s->best, c * sizeof *best);
        if (best) s->best = best;
        int64_t * from = realloc(s->from, c * sizeof *from);
        if (from) s->from = from;
        int32_t * bid = realloc(s->bid, c * sizeof *bid);
        if (bid) s->bid = bid;
        if (!best || !from || !bid) return gaze_error(GAZE_ERR_NOMEM, "unigram: out of memory for a pre-token of %zu bytes", n);
        s->cap = c;
    }
    for (size_t i = 0; i <= n; i++) { s->best[i] = 0.0; s->from[i] = -1; s->bid[i] = -1; }
    double unk_score = u->min_score - UNK_PENALTY;
    for (size_t st = 0; st < n;) {
        double here = s->best[st];
        uint32_t cp;
        int k = gaze_utf8_decode((const uint8_t *)t, n, st, &cp);
        size_t mblen = k > 0 ? (size_t)k : 1;
        bool single = false;
        size_t lo = 0, hi = (size_t)u->n;
        for (size_t d = 0; st + d < n && lo < hi;) {
            narrow(u, &lo, &hi, d, (uint8_t)t[st + d]);
            d++;
            if (lo >= hi) break;
            int32_t id = exact_at(u, lo, hi, d);
            if (id < 0) continue;
            double cand = u->score[id] + here;
            size_t key = st + d;
            if (s->from[key] < 0 || cand > s->best[key]) { s->best[key] = cand; s->from[key] = (int64_t)st; s->bid[key] = id; }
            if (d == mblen) single = true;
        }
        if (!single) {
            if (u->unk < 0) return gaze_error(GAZE_ERR_FORMAT, "unigram: a character has no piece and the model has no unk_id");
            size_t key = st + mblen;
            double cand = unk_score + here;
            if (s->from[key] < 0 || cand > s->best[key]) { s->best[key] = cand; s->from[key] = (int64_t)st; s->bid[key] = u->unk; }
        }
        st += mblen;
    }
    // backtrack, fusing runs of unknowns, then the tokens in order
    s->n_seg = 0;
    size_t fuse_end = 0;
    bool fusing = false;
    for (size_t e = n; e > 0;) {
        size_t b = (size_t)s->from[e];
        int32_t id = s->bid[e];
        bool ok = true;
        if (u->unk >= 0 && id == u->unk) {
            if (!fusing) { fusing = true; fuse_end = e; }
        } else {
            if (fusing) { ok = seg_push(s, -1, p0 + e, p0 + fuse_end); fusing = false; }
            ok = ok && seg_push(s, id, p0 + b, p0 + e);
        }
        if (!ok) return gaze_error(GAZE_ERR_NOMEM, "unigram: out of memory");
        e = b;
    }
    if (fusing && !seg_push(s, -1, p0, p0 + fuse_end)) return gaze_error(GAZE_ERR_NOMEM, "unigram: out of memory");
    for (size_t k = s->n_seg; k > 0; k--) {
        enum gaze_status rc = emit(u, s, s->seg[k - 1].id, s->seg[k - 1].b, s->seg[k - 1].e);
        if (rc) return rc;
    }
    return GAZE_OK;
}

// MarianTokenizer's language_code_re ">>.+<<" (Python re, no DOTALL: "." is anything but \n,
// greedy) matched at s[i]: the end of the match, 0 if none.
static size_t lang_code_at(const char * t, size_t n, size_t i) {
    if (i + 2 > n || t[i] != '>' || t[i + 1] != '>') return 0;
    size_t lim = i + 2;
    while (lim < n && t[lim] != '\n') lim++;
    for (size_t j = lim; j >= i + 5; j--)   // "<<" ends at j, at least one character before it
        if (t[j - 2] == '<' && t[j - 1] == '<') return j;
    return 0;
}

// sentencepiece mode: MarianTokenizer._tokenize (a leading language code is a token of its own,
// every code is removed) then sentencepiece's encode of the rest: its normalizer, then Viterbi
// over the whole normalized text (sentencepiece has no pre-tokenizer).
static enum gaze_status spm_fragment(const struct tok_unigram * u, struct tok_uni_scratch * s) {
    struct tok_nstr * ns = &s->ns;
    enum gaze_status st;
    if (u->lang_codes) {
        size_t e0 = lang_code_at(ns->s, ns->n, 0), o = 0;
        if (e0) {
            int32_t id = lookup(u->outer, ns->s, e0);
            if (!out_push(s, id >= 0 ? id : u->outer_unk, ns->ab[0], ns->ae[e0 - 1]))
                return gaze_error(GAZE_ERR_NOMEM, "unigram: out of memory");
        }
        for (size_t i = 0; i < ns->n;) {
            size_t e = lang_code_at(ns->s, ns->n, i);
            if (e) { i = e; continue; }
            ns->s[o] = ns->s[i]; ns->ab[o] = ns->ab[i]; ns->ae[o] = ns->ae[i];
            o++, i++;
        }
        ns->n = o;
    }
    if ((st = tok_spm_normalize(u->norm, &u->spec, ns, &s->norm))) return st;
    return ns->n ? viterbi(u, s, 0, ns->n) : GAZE_OK;
}

enum gaze_status tok_unigram_fragment(const struct tok_unigram * u, struct tok_uni_scratch * s) {
    s->n_out = 0;
    if (u->spm) return spm_fragment(u, s);
    struct tok_nstr * ns = &s->ns;
    enum gaze_status st = tok_norm_apply(u->norm, ns, &s->norm);
    if (st) return st;
    // "first" as `tokenizers` sees it: the normalized fragment is re-sliced, so it counts as the
    // text's first when its first normalized byte comes from input offset 0 (stripped leading
    // spaces make it not)
    bool first = ns->n && ns->ab[0] == 0;
    if (u->metaspace) {
        if ((st = tok_nstr_replace_str(ns, &s->norm, " ", 1, META, 3))) return st;
        bool starts = ns->n >= 3 && !memcmp(ns->s, META, 3);
        if (!starts && (u->metaspace == 1 || (u->metaspace == 2 && first)) && (st = tok_nstr_prepend(ns, &s->norm, META, 3)))
            return st;
    }
    // Metaspace split: a pre-token starts at every U+2581 (MergedWithNext)
    size_t p0 = 0;
    for (size_t i = 1; i <= ns->n; i++) {
        bool cut = i == ns->n || (u->metaspace && u->split && i + 3 <= ns->n && !memcmp(ns->s + i, META, 3));
        if (!cut) continue;
        if (i > p0 && (st = viterbi(u, s, p0, i))) return st;
        p0 = i;
    }
    return GAZE_OK;
}

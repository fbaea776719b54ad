// Hugging Face normalizers with alignments, as `tokenizers` 0.20 runs them (normalizer.rs,
// normalizers/{precompiled,replace,strip,prepend}.rs, spm_precompiled): every byte of the
// normalized text keeps the original range it came from, through the same transform_range
// bookkeeping (including its quirks: Precompiled replaces whole graphemes by the mapping of their
// shortest mapped prefix, Strip compares a character index with a byte length), so token offsets
// come out as `tokenizers` gives them.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "core/core.h"
#include "text/normalize.h"
#include "text/utf8.h"
#include <pcre2.h>
#include <string.h>
#include <utf8proc.h>

#define META "\xE2\x96\x81"
#define CHARSMAP_MAX (64u << 20)   // bytes of a decoded precompiled_charsmap

/* ---- NormalizedString ---------------------------------------------------------------------- */

bool tok_nstr_reserve(struct tok_nstr * ns, size_t n) {
    if (n <= ns->cap) return true;
    size_t c = ns->cap ? ns->cap : 64;
    while (c < n) c *= 2;
    char * s = realloc(ns->s, c);
    if (s) ns->s = s;
    size_t * ab = realloc(ns->ab, c * sizeof *ab);
    if (ab) ns->ab = ab;
    size_t * ae = realloc(ns->ae, c * sizeof *ae);
    if (ae) ns->ae = ae;
    if (!s || !ab || !ae) return false;
    ns->cap = c;
    return true;
}

void tok_nstr_free(struct tok_nstr * ns) {
    free(ns->s); free(ns->ab); free(ns->ae);
    memset(ns, 0, sizeof *ns);
}

void tok_norm_scratch_free(struct tok_norm_scratch * s) {
    tok_nstr_free(&s->tmp);
    free(s->tf);
    s->tf = NULL;
    s->tf_cap = 0;
}

static size_t char_len(const char * s, size_t n, size_t i) {
    uint32_t cp;
    int k = gaze_utf8_decode((const uint8_t *)s, n, i, &cp);
    return k > 0 ? (size_t)k : 1;
}

static uint32_t char_at(const char * s, size_t n, size_t i) {
    uint32_t cp = 0xFFFD;
    gaze_utf8_decode((const uint8_t *)s, n, i, &cp);
    return cp;
}

size_t tok_ws_len(const char * t, size_t n, size_t i) {
    uint32_t cp;
    int k = gaze_utf8_decode((const uint8_t *)t, n, i, &cp);
    if (!k) return 0;
    bool w = (cp >= 9 && cp <= 13) || cp == ' ' || cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
             cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
    return w ? (size_t)k : 0;
}

static bool push_tf(struct tok_norm_scratch * s, size_t * n, uint32_t cp, int32_t change) {
    if (*n == s->tf_cap) {
        size_t c = s->tf_cap ? 2 * s->tf_cap : 256;
        struct tok_tf * t = realloc(s->tf, c * sizeof *t);
        if (!t) return false;
        s->tf = t;
        s->tf_cap = c;
    }
    s->tf[(*n)++] = (struct tok_tf){ cp, change };
    return true;
}

static void put(struct tok_nstr * d, const char * b, size_t k, size_t ab, size_t ae) {
    for (size_t j = 0; j < k; j++) { d->s[d->n + j] = b[j]; d->ab[d->n + j] = ab; d->ae[d->n + j] = ae; }
    d->n += k;
}

static void swap_nstr(struct tok_nstr * a, struct tok_nstr * b) { struct tok_nstr t = *a; *a = *b; *b = t; }

enum gaze_status tok_nstr_transform(struct tok_nstr * ns, struct tok_norm_scratch * s, const struct tok_tf * tf,
                                    size_t n_tf, size_t initial_chars) {
    struct tok_nstr * d = &s->tmp;
    d->n = 0;
    if (!tok_nstr_reserve(d, 4 * n_tf + 1)) return gaze_error(GAZE_ERR_NOMEM, "normalizer: out of memory");
    size_t off = 0;
    for (size_t k = 0; k < initial_chars && off < ns->n; k++) off += char_len(ns->s, ns->n, off);
    for (size_t k = 0; k < n_tf; k++) {
        size_t ab, ae;
        if (tf[k].change > 0) {
            ab = off ? ns->ab[off - 1] : 0;
            ae = off ? ns->ae[off - 1] : 0;
        } else if (off < ns->n) {
            ab = ns->ab[off];
            ae = ns->ae[off];
        } else {   // `tokenizers` would index past its alignments here (a panic): never run wrong
            return gaze_error(GAZE_ERR_FORMAT, "normalizer: a transformation runs past the end of the text");
        }
        if (tf[k].change <= 0 && off < ns->n) off += char_len(ns->s, ns->n, off);
        for (int32_t r = tf[k].change; r < 0 && off < ns->n; r++) off += char_len(ns->s, ns->n, off);
        char u[4];
        int m = gaze_utf8_encode(tf[k].cp, u);
        put(d, u, (size_t)m, ab, ae);
    }
    swap_nstr(ns, d);
    return GAZE_OK;
}

// One match [b, e) replaced by content: HF replace() inserts every content character with the
// alignment of the match's last byte (or (0, 0) for an empty match at the start).
static void put_content(struct tok_nstr * d, const struct tok_nstr * ns, size_t b, size_t e, const char * c, size_t cn) {
    size_t ab = e ? ns->ab[e - 1] : 0, ae = e ? ns->ae[e - 1] : 0;
    (void)b;
    put(d, c, cn, ab, ae);
}

enum gaze_status tok_nstr_replace_str(struct tok_nstr * ns, struct tok_norm_scratch * s, const char * pat, size_t pn,
                                      const char * content, size_t cn) {
    if (!pn || ns->n < pn) return GAZE_OK;
    struct tok_nstr * d = &s->tmp;
    d->n = 0;
    size_t worst = ns->n + (ns->n / pn + 1) * cn;
    if (!tok_nstr_reserve(d, worst + 1)) return gaze_error(GAZE_ERR_NOMEM, "normalizer: out of memory");
    size_t last = 0;
    for (size_t i = 0; i + pn <= ns->n;) {
        if (memcmp(ns->s + i, pat, pn)) { i++; continue; }
        for (size_t j = last; j < i; j++) put(d, ns->s + j, 1, ns->ab[j], ns->ae[j]);
        put_content(d, ns, i, i + pn, content, cn);
        last = i += pn;
    }
    for (size_t j = last; j < ns->n; j++) put(d, ns->s + j, 1, ns->ab[j], ns->ae[j]);
    swap_nstr(ns, d);
    return GAZE_OK;
}

enum gaze_status tok_nstr_prepend(struct tok_nstr * ns, struct tok_norm_scratch * s, const char * p, size_t pn) {
    if (!ns->n) return GAZE_OK;
    size_t n = 0;
    bool ok = true;
    for (size_t i = 0, k = 0; ok && i < pn; i += char_len(p, pn, i), k++) ok = push_tf(s, &n, char_at(p, pn, i), k != 0);
    // the old first character becomes an insertion; the rest stay (transform_range on 0..len)
    for (size_t i = 0; ok && i < ns->n; i += char_len(ns->s, ns->n, i)) ok = push_tf(s, &n, char_at(ns->s, ns->n, i), i == 0);
    if (!ok) return gaze_error(GAZE_ERR_NOMEM, "normalizer: out of memory");
    return tok_nstr_transform(ns, s, s->tf, n, 0);
}

/* ---- the chain ----------------------------------------------------------------------------- */

enum op_kind { OP_PRECOMPILED, OP_REPLACE_STR, OP_REPLACE_RE, OP_STRIP, OP_PREPEND };

struct op {
    enum op_kind kind;
    char * a, * b;             // Replace: pattern (string) and content; Prepend: the text
    size_t an, bn;
    pcre2_code * re;           // Replace with a Regex
    bool left, right;          // Strip
    uint32_t * units;          // Precompiled: the double array
    size_t n_units;
    char * norm;               // Precompiled: the normalized strings, NUL-separated
    size_t norm_len;
};

struct tok_norm {
    struct op * ops;
    size_t n;
    pcre2_match_data * md;     // (one per chain; apply is called under the tokenizer's scratch)
};

void tok_norm_free(struct tok_norm * t) {
    if (!t) return;
    for (size_t i = 0; i < t->n; i++) {
        free(t->ops[i].a); free(t->ops[i].b); free(t->ops[i].units); free(t->ops[i].norm);
        pcre2_code_free(t->ops[i].re);
    }
    pcre2_match_data_free(t->md);
    free(t->ops);
    free(t);
}

/* Darts-clone double array units (spm_precompiled / sentencepiece). */
static inline bool unit_has_leaf(uint32_t u) { return (u >> 8) & 1; }
static inline uint32_t unit_value(uint32_t u) { return u & 0x7FFFFFFFu; }
static inline uint32_t unit_label(uint32_t u) { return u & (0x80000000u | 0xFFu); }
static inline size_t unit_offset(uint32_t u) { return (size_t)(u >> 10) << ((u & (1u << 9)) >> 6); }

// Every node reachable from the root: each child position, each leaf's value and the normalized
// string it starts are inside the blob, so lookups never need a check that could fail.
static enum gaze_status charsmap_check(const struct op * o, const char * label) {
    size_t n = o->n_units;
    if (n == 0) return gaze_error(GAZE_ERR_FORMAT, "%s: precompiled_charsmap: the trie is empty", label);
    uint8_t * seen = calloc((n + 7) / 8, 1);
    size_t * stack = malloc(n * sizeof *stack), sp = 0;
    enum gaze_status st = GAZE_OK;
    if (!seen || !stack) { st = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory checking precompiled_charsmap", label); goto done; }
    size_t root = unit_offset(o->units[0]);
    stack[sp++] = root;
    while (sp && !st) {
        size_t p = stack[--sp];
        if ((p | 0xFF) >= n) {
            st = gaze_error(GAZE_ERR_FORMAT, "%s: precompiled_charsmap: trie offset %zu is outside the %zu-unit array", label, p, n);
            break;
        }
        if (seen[p / 8] & (1u << (p % 8))) continue;
        seen[p / 8] |= (uint8_t)(1u << (p % 8));
        for (uint32_t c = 1; c < 256; c++) {
            uint32_t u = o->units[p ^ c];
            if (unit_label(u) != c) continue;
            size_t q = (p ^ c) ^ unit_offset(u);
            if (q >= n) { st = gaze_error(GAZE_ERR_FORMAT, "%s: precompiled_charsmap: trie offset %zu is outside the %zu-unit array", label, q, n); break; }
            if (unit_has_leaf(u)) {
                size_t v = unit_value(o->units[q]);
                if (v >= o->norm_len || ((uint8_t)o->norm[v] & 0xC0) == 0x80) {
                    st = gaze_error(GAZE_ERR_FORMAT, "%s: precompiled_charsmap: normalized-string index %zu is outside the %zu-byte "
                                    "string or inside a character", label, v, o->norm_len);
                    break;
                }
            }
            if (sp == n) { st = gaze_error(GAZE_ERR_FORMAT, "%s: precompiled_charsmap: the trie has more edges than units", label); break; }
            stack[sp++] = q;
        }
    }
done:
    free(seen);
    free(stack);
    return st;
}

// spm_precompiled transform(): the mapping of the shortest mapped prefix of chunk, or NULL.
static const char * charsmap_lookup(const struct op * o, const char * chunk, size_t len, size_t * out_len) {
    size_t p = unit_offset(o->units[0]);
    for (size_t i = 0; i < len; i++) {
        uint8_t c = (uint8_t)chunk[i];
        if (!c) break;
        p ^= c;
        uint32_t u = o->units[p];
        if (unit_label(u) != c) return NULL;
        p ^= unit_offset(u);
        if (unit_has_leaf(u)) {
            size_t v = unit_value(o->units[p]);
            const char * e = memchr(o->norm + v, 0, o->norm_len - v);
            *out_len = e ? (size_t)(e - (o->norm + v)) : o->norm_len - v;
            return o->norm + v;
        }
    }
    return NULL;
}

static int b64v(int c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

// The decoded blob (trie size le32, the double array, the NUL-separated normalized strings), as
// spm_precompiled and sentencepiece read it; what: the field, for errors.
static enum gaze_status charsmap_from_blob(struct op * o, const uint8_t * blob, size_t bn, const char * label, const char * what) {
    enum gaze_status st = GAZE_OK;
    if (bn < 4) { st = gaze_error(GAZE_ERR_FORMAT, "%s: %s: %zu bytes, no trie size", label, what, bn); return st; }
    uint32_t trie_bytes = (uint32_t)blob[0] | (uint32_t)blob[1] << 8 | (uint32_t)blob[2] << 16 | (uint32_t)blob[3] << 24;
    o->n_units = trie_bytes / 4;   // as spm_precompiled reads it: a remainder belongs to the strings
    if (o->n_units > (bn - 4) / 4) {
        st = gaze_error(GAZE_ERR_FORMAT, "%s: %s: trie of %u bytes in a %zu-byte blob",
                        label, what, trie_bytes, bn);
        return st;
    }
    o->units = malloc((o->n_units + 1) * sizeof *o->units);
    o->norm_len = bn - 4 - 4 * o->n_units;
    o->norm = malloc(o->norm_len + 1);
    if (!o->units || !o->norm) { st = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", label); return st; }
    for (size_t i = 0; i < o->n_units; i++) {
        const uint8_t * p = blob + 4 + 4 * i;
        o->units[i] = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    }
    memcpy(o->norm, blob + 4 + 4 * o->n_units, o->norm_len);
    o->norm[o->norm_len] = 0;
    size_t bad = gaze_utf8_first_invalid(o->norm, o->norm_len);
    if (bad < o->norm_len) {
        st = gaze_error(GAZE_ERR_FORMAT, "%s: %s: normalized strings are not UTF-8 "
                        "(byte %zu)", label, what, bad);
        return st;
    }
    return charsmap_check(o, label);
}

static enum gaze_status parse_precompiled(struct op * o, const json_t * n, const char * label) {
    json_t * v = json_object_get(n, "precompiled_charsmap");
    if (!json_is_string(v)) return gaze_error(GAZE_ERR_FORMAT, "%s: normalizer Precompiled: precompiled_charsmap is not a base64 string", label);
    const char * s = json_string_value(v);
    size_t sl = json_string_length(v);
    if (sl % 4 || sl / 4 * 3 > CHARSMAP_MAX)
        return gaze_error(GAZE_ERR_FORMAT, "%s: normalizer Precompiled: precompiled_charsmap is not base64 of at most %u MiB "
                          "(length %zu)", label, CHARSMAP_MAX >> 20, sl);
    uint8_t * blob = malloc(sl / 4 * 3 + 1);
    if (!blob) return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", label);
    size_t bn = 0;
    for (size_t i = 0; i < sl; i += 4) {
        int q[4], pad = 0;
        for (int k = 0; k < 4; k++) {
            q[k] = s[i + k] == '=' && i + 4 == sl && k >= 2 ? (pad++, 0) : b64v((unsigned char)s[i + k]);
            if (q[k] < 0 || (pad && s[i + k] != '=')) {
                free(blob);
                return gaze_error(GAZE_ERR_FORMAT, "%s: normalizer Precompiled: precompiled_charsmap: invalid base64 at character %zu",
                                  label, i + (size_t)k);
            }
        }
        uint32_t w = (uint32_t)q[0] << 18 | (uint32_t)q[1] << 12 | (uint32_t)q[2] << 6 | (uint32_t)q[3];
        blob[bn++] = (uint8_t)(w >> 16);
        if (pad < 2) blob[bn++] = (uint8_t)(w >> 8);
        if (pad < 1) blob[bn++] = (uint8_t)w;
    }
    enum gaze_status st = charsmap_from_blob(o, blob, bn, label, "normalizer Precompiled: precompiled_charsmap");
    free(blob);
    return st;
}

static enum gaze_status refuse(const char * label, const char * what, const char * name) {
    char esc[96];
    gaze_term_escape(esc, sizeof esc, name ? name : "(none)", name ? strlen(name) : 6);
    return gaze_error(GAZE_ERR_UNSUPPORTED, "%s: %s \"%s\" is not supported yet", label, what, esc);
}

static char * dup_json_str(const json_t * v, size_t * n) {
    *n = json_string_length(v);
    char * c = malloc(*n + 1);
    if (c) { memcpy(c, json_string_value(v), *n); c[*n] = 0; }
    return c;
}

static enum gaze_status add_op(struct tok_norm * t, const json_t * n, const char * label) {
    if (!n || json_is_null(n)) return GAZE_OK;
    const char * ty = json_string_value(json_object_get(n, "type"));
    if (!ty) return gaze_error(GAZE_ERR_FORMAT, "%s: normalizer: no \"type\"", label);
    if (!strcmp(ty, "Sequence")) {
        json_t * list = json_object_get(n, "normalizers"), * e;
        size_t i;
        if (!json_is_array(list)) return gaze_error(GAZE_ERR_FORMAT, "%s: normalizer Sequence: no \"normalizers\" array", label);
        json_array_foreach(list, i, e) {
            enum gaze_status s = add_op(t, e, label);
            if (s) return s;
        }
        return GAZE_OK;
    }
    struct op o = { 0 };
    enum gaze_status s = GAZE_OK;
    if (!strcmp(ty, "Precompiled")) {
        o.kind = OP_PRECOMPILED;
        s = parse_precompiled(&o, n, label);
    } else if (!strcmp(ty, "Replace")) {
        json_t * pat = json_object_get(n, "pattern"), * c = json_object_get(n, "content");
        json_t * ps = json_object_get(pat, "String"), * pr = json_object_get(pat, "Regex");
        if (!json_is_string(c) || (!json_is_string(ps) && !json_is_string(pr)))
            return gaze_error(GAZE_ERR_FORMAT, "%s: normalizer Replace: needs a pattern {\"String\"} or {\"Regex\"} and a string content", label);
        o.kind = json_is_string(ps) ? OP_REPLACE_STR : OP_REPLACE_RE;
        o.a = dup_json_str(json_is_string(ps) ? ps : pr, &o.an);
        o.b = dup_json_str(c, &o.bn);
        if (!o.a || !o.b) s = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", label);
        if (!s && o.kind == OP_REPLACE_RE) {
            int err;
            PCRE2_SIZE at;
            o.re = pcre2_compile((PCRE2_SPTR)o.a, o.an, PCRE2_UTF | PCRE2_UCP, &err, &at, NULL);
            if (!o.re) {
                PCRE2_UCHAR msg[120];
                pcre2_get_error_message(err, msg, sizeof msg);
                s = gaze_error(GAZE_ERR_FORMAT, "%s: normalizer Replace: regex at offset %zu: %s", label, (size_t)at, (const char *)msg);
            }
        }
    } else if (!strcmp(ty, "Strip")) {
        o.kind = OP_STRIP;
        o.left = json_is_true(json_object_get(n, "strip_left"));
        o.right = json_is_true(json_object_get(n, "strip_right"));
    } else if (!strcmp(ty, "Prepend")) {
        json_t * p = json_object_get(n, "prepend");
        if (!json_is_string(p)) return gaze_error(GAZE_ERR_FORMAT, "%s: normalizer Prepend: no string \"prepend\"", label);
        o.kind = OP_PREPEND;
        if (!(o.a = dup_json_str(p, &o.an))) s = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", label);
    } else {
        return refuse(label, "normalizer (with a Unigram model)", ty);
    }
    struct op * ops = s ? NULL : realloc(t->ops, (t->n + 1) * sizeof *ops);
    if (!s && !ops) s = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", label);
    if (s) {
        free(o.a); free(o.b); free(o.units); free(o.norm);
        pcre2_code_free(o.re);
        return s;
    }
    t->ops = ops;
    t->ops[t->n++] = o;
    return GAZE_OK;
}

enum gaze_status tok_norm_parse(const json_t * normalizer, const char * label, struct tok_norm ** out) {
    *out = NULL;
    struct tok_norm * t = calloc(1, sizeof *t);
    if (!t) return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", label);
    enum gaze_status s = add_op(t, normalizer, label);
    if (!s && !(t->md = pcre2_match_data_create(1, NULL))) s = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", label);
    if (s) { tok_norm_free(t); return s; }
    *out = t;
    return GAZE_OK;
}

/* ---- applying -------------------------------------------------------------------------------- */

// HF's replace() of precompiled.rs: new characters replacing old_count old ones.
static bool tf_replace(struct tok_norm_scratch * s, size_t * n, size_t old_count, const char * nw, size_t nl) {
    size_t new_count = 0;
    for (size_t i = 0; i < nl; i += char_len(nw, nl, i), new_count++)
        if (!push_tf(s, n, char_at(nw, nl, i), 0)) return false;
    long diff = (long)new_count - (long)old_count;
    if (diff > 0) for (size_t k = 0; k < (size_t)diff && k < *n; k++) s->tf[*n - 1 - k].change = 1;
    else if (diff < 0 && *n) s->tf[*n - 1].change += (int32_t)diff;
    return true;
}

static enum gaze_status apply_precompiled(const struct op * o, struct tok_nstr * ns, struct tok_norm_scratch * s) {
    size_t n = 0;
    bool modified = false;
    int32_t state = 0;
    for (size_t g = 0; g < ns->n;) {
        // the extended grapheme cluster starting at g (unicode-segmentation's graphemes(true))
        size_t e = g + char_len(ns->s, ns->n, g);
        uint32_t prev = char_at(ns->s, ns->n, g);
        state = 0;
        while (e < ns->n) {
            uint32_t c = char_at(ns->s, ns->n, e);
            if (utf8proc_grapheme_break_stateful((utf8proc_int32_t)prev, (utf8proc_int32_t)c, &state)) break;
            prev = c;
            e += char_len(ns->s, ns->n, e);
        }
        const char * m;
        size_t ml;
        if (e - g < 6 && (m = charsmap_lookup(o, ns->s + g, e - g, &ml))) {
            size_t cnt = 0;
            for (size_t i = g; i < e; i += char_len(ns->s, ns->n, i)) cnt++;
            if (!tf_replace(s, &n, cnt, m, ml)) return gaze_error(GAZE_ERR_NOMEM, "normalizer: out of memory");
            modified = true;
        } else {
            for (size_t i = g; i < e; i += char_len(ns->s, ns->n, i)) {
                size_t cl = char_len(ns->s, ns->n, i);
                bool ok;
                if ((m = charsmap_lookup(o, ns->s + i, cl, &ml))) { ok = tf_replace(s, &n, 1, m, ml); modified = true; }
                else ok = push_tf(s, &n, char_at(ns->s, ns->n, i), 0);
                if (!ok) return gaze_error(GAZE_ERR_NOMEM, "normalizer: out of memory");
            }
        }
        g = e;
    }
    return modified ? tok_nstr_transform(ns, s, s->tf, n, 0) : GAZE_OK;
}

static enum gaze_status apply_strip(const struct op * o, struct tok_nstr * ns, struct tok_norm_scratch * s) {
    size_t count = 0, lead = 0, trail = 0;
    for (size_t i = 0; i < ns->n; i += char_len(ns->s, ns->n, i)) count++;
    if (o->left)
        for (size_t i = 0; i < ns->n && tok_ws_len(ns->s, ns->n, i); i += char_len(ns->s, ns->n, i)) lead++;
    if (o->right)
        for (size_t i = ns->n; i > 0;) {
            size_t q = i - 1;
            while (q > 0 && ((uint8_t)ns->s[q] & 0xC0) == 0x80) q--;
            if (!tok_ws_len(ns->s, ns->n, q)) break;
            trail++;
            i = q;
        }
    if (!lead && !trail) return GAZE_OK;
    // lrstrip marks the character whose index equals len() (bytes) - trailing - 1
    long mark = (long)ns->n - (long)trail - 1;
    size_t n = 0, k = 0;
    for (size_t i = 0; i < ns->n; i += char_len(ns->s, ns->n, i), k++) {
        if (k < lead || k + trail >= count) continue;
        if (!push_tf(s, &n, char_at(ns->s, ns->n, i), (long)k == mark ? -(int32_t)trail : 0))
            return gaze_error(GAZE_ERR_NOMEM, "normalizer: out of memory");
    }
    return tok_nstr_transform(ns, s, s->tf, n, lead);
}

static enum gaze_status apply_regex(const struct tok_norm * t, const struct op * o, struct tok_nstr * ns, struct tok_norm_scratch * s) {
    struct tok_nstr * d = &s->tmp;
    d->n = 0;
    size_t last = 0, pos = 0;
    for (;;) {
        int rc = pos <= ns->n ? pcre2_match(o->re, (PCRE2_SPTR)ns->s, ns->n, pos, 0, t->md, NULL) : PCRE2_ERROR_NOMATCH;
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) return gaze_error(GAZE_ERR_LIMIT, "normalizer Replace: regex match failed (%d)", rc);
        PCRE2_SIZE * ov = pcre2_get_ovector_pointer(t->md);
        size_t b = ov[0], e = ov[1];
        if (!tok_nstr_reserve(d, d->n + (b - last) + o->bn + 1)) return gaze_error(GAZE_ERR_NOMEM, "normalizer: out of memory");
        for (size_t j = last; j < b; j++) put(d, ns->s + j, 1, ns->ab[j], ns->ae[j]);
        put_content(d, ns, b, e, o->b, o->bn);
        last = e;
        pos = e > b ? e : e + (e < ns->n ? char_len(ns->s, ns->n, e) : 1);
        if (e == b && e < ns->n) {   // an empty match: the character after it stays
            size_t cl = char_len(ns->s, ns->n, e);
            if (!tok_nstr_reserve(d, d->n + cl + 1)) return gaze_error(GAZE_ERR_NOMEM, "normalizer: out of memory");
            for (size_t j = e; j < e + cl; j++) put(d, ns->s + j, 1, ns->ab[j], ns->ae[j]);
            last = e + cl;
        }
    }
    if (!tok_nstr_reserve(d, d->n + (ns->n - last) + 1)) return gaze_error(GAZE_ERR_NOMEM, "normalizer: out of memory");
    for (size_t j = last; j < ns->n; j++) put(d, ns->s + j, 1, ns->ab[j], ns->ae[j]);
    swap_nstr(ns, d);
    return GAZE_OK;
}

enum gaze_status tok_norm_apply(const struct tok_norm * t, struct tok_nstr * ns, struct tok_norm_scratch * s) {
    enum gaze_status st = GAZE_OK;
    for (size_t i = 0; t && i < t->n && !st && ns->n; i++) {
        const struct op * o = &t->ops[i];
        switch (o->kind) {
        case OP_PRECOMPILED: st = apply_precompiled(o, ns, s); break;
        case OP_REPLACE_STR: st = tok_nstr_replace_str(ns, s, o->a, o->an, o->b, o->bn); break;
        case OP_REPLACE_RE:  st = apply_regex(t, o, ns, s); break;
        case OP_STRIP:       st = apply_strip(o, ns, s); break;
        case OP_PREPEND:     st = tok_nstr_prepend(ns, s, o->a, o->an); break;
        }
    }
    return st;
}

/* ---- sentencepiece's own normalizer (normalizer.cc), for .spm model files ------------------- */

enum gaze_status tok_norm_from_charsmap(const uint8_t * blob, size_t n, const char * label, struct tok_norm ** out) {
    *out = NULL;
    struct tok_norm * t = calloc(1, sizeof *t);
    if (!t) return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", label);
    enum gaze_status s = GAZE_OK;
    if (n) {
        struct op o = { .kind = OP_PRECOMPILED };
        if (n > CHARSMAP_MAX)
            s = gaze_error(GAZE_ERR_LIMIT, "%s: normalizer_spec.precompiled_charsmap: %zu bytes, more than %u MiB", label, n, CHARSMAP_MAX >> 20);
        if (!s) s = charsmap_from_blob(&o, blob, n, label, "normalizer_spec.precompiled_charsmap");
        if (!s && !(t->ops = malloc(sizeof *t->ops))) s = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", label);
        if (s) { free(o.units); free(o.norm); }
        else t->ops[t->n++] = o;
    }
    if (!s && !(t->md = pcre2_match_data_create(1, NULL))) s = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", label);
    if (s) { tok_norm_free(t); return s; }
    *out = t;
    return GAZE_OK;
}

// sentencepiece Normalizer::NormalizePrefix: the longest rule of the charsmap matching a prefix
// of s [n] (among the first 32 prefix matches, as its fixed result array), else one UTF-8
// character copied, or U+FFFD for one byte of malformed UTF-8. *used: input bytes consumed.
static const char * spm_prefix(const struct op * o, const char * s, size_t n, size_t * used, size_t * out_len) {
    size_t best = 0, found = 0;
    const char * m = NULL;
    if (o) {
        size_t p = unit_offset(o->units[0]);
        for (size_t i = 0; i < n && found < 32; i++) {
            uint8_t c = (uint8_t)s[i];
            if (!c) break;
            p ^= c;
            uint32_t u = o->units[p];
            if (unit_label(u) != c) break;
            p ^= unit_offset(u);
            if (unit_has_leaf(u)) {
                found++;
                size_t v = unit_value(o->units[p]);
                best = i + 1;
                m = o->norm + v;
            }
        }
    }
    if (best) {
        *used = best;
        *out_len = strlen(m);   // the strings are NUL-separated and the blob NUL-terminated (checked)
        return m;
    }
    uint32_t cp;
    int k = gaze_utf8_decode((const uint8_t *)s, n, 0, &cp);
    if (k <= 0) { *used = 1; *out_len = 3; return "\xEF\xBF\xBD"; }
    *used = (size_t)k;
    *out_len = (size_t)k;
    return s;
}

enum gaze_status tok_spm_normalize(const struct tok_norm * cm, const struct tok_spm_norm_spec * sp, struct tok_nstr * ns,
                                   struct tok_norm_scratch * sc) {
    const struct op * o = cm && cm->n ? &cm->ops[0] : NULL;
    struct tok_nstr * d = &sc->tmp;
    d->n = 0;
    const char * ws = sp->escape_ws ? META : " ";
    size_t wl = sp->escape_ws ? 3 : 1;
    size_t pos = 0, used, ml;
    const char * m;
    if (sp->remove_extra_ws)   // heading spaces
        while (pos < ns->n) {
            m = spm_prefix(o, ns->s + pos, ns->n - pos, &used, &ml);
            if (ml != 1 || m[0] != ' ') break;
            pos += used;
        }
    if (pos == ns->n) { ns->n = 0; return GAZE_OK; }
    // the dummy prefix takes the first character's range (sentencepiece maps it to that
    // character too); every output byte of a rule takes the range of the input it consumed
    if (!tok_nstr_reserve(d, 3)) return gaze_error(GAZE_ERR_NOMEM, "normalizer: out of memory");
    if (!sp->ws_as_suffix && sp->add_dummy_prefix) put(d, ws, wl, ns->ab[pos], ns->ab[pos]);
    bool prev_space = sp->remove_extra_ws;
    while (pos < ns->n) {
        m = spm_prefix(o, ns->s + pos, ns->n - pos, &used, &ml);
        size_t ab = ns->ab[pos], ae = ns->ae[pos + used - 1];
        while (prev_space && ml && m[0] == ' ') { m++; ml--; }
        if (ml) {
            if (!tok_nstr_reserve(d, d->n + 3 * ml + 3)) return gaze_error(GAZE_ERR_NOMEM, "normalizer: out of memory");
            for (size_t j = 0; j < ml; j++) {
                if (sp->escape_ws && m[j] == ' ') put(d, META, 3, ab, ae);
                else put(d, m + j, 1, ab, ae);
            }
            prev_space = m[ml - 1] == ' ';
        }
        pos += used;
        if (!sp->remove_extra_ws) prev_space = false;
    }
    if (sp->remove_extra_ws)   // tailing spaces
        while (d->n >= wl && !memcmp(d->s + d->n - wl, ws, wl)) d->n -= wl;
    if (sp->ws_as_suffix && sp->add_dummy_prefix && d->n) {
        if (!tok_nstr_reserve(d, d->n + 3)) return gaze_error(GAZE_ERR_NOMEM, "normalizer: out of memory");
        put(d, ws, wl, d->ae[d->n - 1], d->ae[d->n - 1]);
    }
    swap_nstr(ns, d);
    return GAZE_OK;
}

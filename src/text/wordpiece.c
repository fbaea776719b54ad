// WordPiece tokenizer (BERT family) with HF `tokenizers` semantics.
//
// Pipeline per input (text or pair), as tokenizers' Rust code runs it:
//   1. added tokens ([CLS], [MASK], ...) are matched in the raw text, leftmost-longest, and
//      split off before any normalisation;
//   2. BertNormalizer on each remaining segment, char by char (every step is per character, so
//      one pass is exact): clean_text drops U+0000, U+FFFD and control chars (Cc Cf Co,
//      except \t \n \r) and maps Unicode White_Space to ' '; CJK ideographs get spaces around;
//      strip_accents (defaults to lowercase) = NFD then drop Mn; lowercase = full Unicode
//      lowercase (U+0130 -> "i\u0307"). Each normalised char keeps the byte range of the input
//      char it came from, so offsets index the ORIGINAL input;
//   3. BertPreTokenizer: split on White_Space (removed) and on punctuation (isolated): ASCII
//      33-47, 58-64, 91-96, 123-126 plus Unicode P*;
//   4. WordPiece: words over max_input_chars_per_word chars -> unk; else greedy longest match,
//      continuations prefixed "##"; if any piece fails the whole word is unk;
//   5. truncation, then the post-processor template ([CLS] A [SEP] (B [SEP]) with type ids).
// Known gap vs HF: canonical reordering of combining marks across characters is not done
// (matters only for marks that survive accent stripping). Categories come from utf8proc,
// corrected to tokenizers' older tables (wp_not_punct and friends).
#include "core/core.h"
#include "core/hash.h"
#include "text/tokenizer.h"
#include "text/utf8.h"

#include <errno.h>
#include <jansson.h>
#include <string.h>
#include <sys/stat.h>
#include <utf8proc.h>

#define WP_MAX_FILE      ((size_t)256 << 20)   // tokenizer.json / vocab.txt size cap
#define WP_MAX_VOCAB     (1 << 24)
#define WP_MAX_TOKEN     4096                   // bytes in one vocab token
#define WP_MAX_TEMPLATE  16                     // items in a post-processor template
#define WP_MAX_ADDED     4096

enum wp_item_kind { WP_ITEM_SEQ_A, WP_ITEM_SEQ_B, WP_ITEM_SPECIAL };

struct wp_item {
    enum wp_item_kind kind;
    int32_t type_id;
    int32_t ids[8];      // special token ids (a special entry may expand to several)
    int32_t n_ids;
};

struct wp_added {        // an added token matched in the raw text
    int32_t  id;
    uint32_t len;        // bytes of its content (content = token string of id)
};

struct gaze_wordpiece {
    // vocabulary: strings in one arena, id order; an open-addressing hash for lookups
    int32_t    n_vocab;
    char *     arena;        // [sum of lengths + n_vocab] NUL-terminated strings
    uint32_t * str_off;      // [n_vocab] offset of each token string in arena
    uint32_t * str_len;      // [n_vocab] its byte length
    int32_t *  slot_id;      // [n_slots] token id, -1 = empty
    uint32_t * slot_hash;    // [n_slots] low bits of the token's hash (skips most memcmp)
    size_t     n_slots;      // power of two >= 2 n_vocab
    uint32_t   max_token_len;
    // normalizer (BertNormalizer) and pre-tokenizer (BertPreTokenizer)
    bool has_normalizer, clean_text, chinese, strip_accents, lowercase;
    bool has_pretok;
    // model
    int32_t  unk_id;
    char     prefix[64];     // continuing_subword_prefix
    size_t   prefix_len;
    int64_t  max_word_chars;
    // post-processor: templates for one input and for a pair
    bool           has_post, has_pair;
    struct wp_item single[WP_MAX_TEMPLATE], pair[WP_MAX_TEMPLATE];
    int            n_single, n_pair;
    int64_t        n_special_single, n_special_pair;
    // added tokens, longest first; first-byte filter for the scan
    struct wp_added * added;  // [n_added]
    int               n_added;
    uint8_t           added_first[256];
    struct gaze_wordpiece_specials specials;
};

/* ------------------------------------------------------------------------------------------
 * Vocabulary hash (core/hash.c, keyed: a vocabulary cannot be made to collide). Lookups take
 * the hash of prefix || piece from the caller (the longest match hashes many prefixes of one
 * string, each from the states of its whole 8-byte words)
 * ---------------------------------------------------------------------------------------- */

static inline const char * tok_str(const struct gaze_wordpiece * t, int32_t id) {
    return t->arena + t->str_off[id];
}

// Finds the id of pre || s[0..n) whose hash is h; -1 when absent.
static int32_t vocab_find(const struct gaze_wordpiece * t, uint64_t h,
                          const char * pre, size_t npre, const char * s, size_t n) {
    size_t mask = t->n_slots - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        int32_t id = t->slot_id[i];
        if (id < 0) return -1;
        if (t->slot_hash[i] != (uint32_t)(h >> 32) || t->str_len[id] != npre + n) continue;
        const char * str = tok_str(t, id);
        if (memcmp(str, pre, npre) == 0 && memcmp(str + npre, s, n) == 0) return id;
    }
}

static void vocab_insert(struct gaze_wordpiece * t, int32_t id) {
    const char * s = tok_str(t, id);
    uint64_t h = gaze_hash(s, t->str_len[id]);
    size_t mask = t->n_slots - 1, i = (size_t)h & mask;
    gaze_hash_probes++;
    while (t->slot_id[i] >= 0) { i = (i + 1) & mask; gaze_hash_probes++; }
    t->slot_id[i] = id;
    t->slot_hash[i] = (uint32_t)(h >> 32);
}

int32_t gaze_wordpiece_token_id(const struct gaze_wordpiece * t, const char * s, size_t n) {
    if (!t || (!s && n)) return -1;
    return vocab_find(t, gaze_hash(s, n), "", 0, s, n);
}

int32_t gaze_wordpiece_vocab_size(const struct gaze_wordpiece * t) { return t ? t->n_vocab : 0; }

const char * gaze_wordpiece_token(const struct gaze_wordpiece * t, int32_t id) {
    if (!t || id < 0 || id >= t->n_vocab) return NULL;
    return tok_str(t, id);
}

struct gaze_wordpiece_specials gaze_wordpiece_specials(const struct gaze_wordpiece * t) {
    struct gaze_wordpiece_specials none = { -1, -1, -1, -1, -1 };
    return t ? t->specials : none;
}

void gaze_wordpiece_free(struct gaze_wordpiece * t) {
    if (!t) return;
    free(t->arena); free(t->str_off); free(t->str_len);
    free(t->slot_id); free(t->slot_hash); free(t->added);
    free(t);
}

// Builds arena + hash from n strings given in id order (strs[i] of lengths lens[i]).
// Empty strings are kept as placeholders (vocab.txt blank lines still take an id) but never
// hashed. Duplicates were rejected by the caller.
static enum gaze_status vocab_build(struct gaze_wordpiece * t, const char * name,
                                    const char * const * strs, const uint32_t * lens, int32_t n) {
    size_t total = 0;
    for (int32_t i = 0; i < n; i++)
        if (gaze_add_ovf(total, (size_t)lens[i] + 1, &total) || total > UINT32_MAX)
            return gaze_error(GAZE_ERR_LIMIT, "%s: vocabulary strings exceed 4 GiB", name);
    size_t slots = 16;
    while (slots < 2 * (size_t)n) slots *= 2;
    t->n_vocab = n;
    t->arena = malloc(total ? total : 1);
    t->str_off = malloc(sizeof(uint32_t) * (size_t)(n ? n : 1));
    t->str_len = malloc(sizeof(uint32_t) * (size_t)(n ? n : 1));
    t->slot_id = malloc(sizeof(int32_t) * slots);
    t->slot_hash = malloc(sizeof(uint32_t) * slots);
    if (!t->arena || !t->str_off || !t->str_len || !t->slot_id || !t->slot_hash)
        return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory for %d tokens", name, n);
    t->n_slots = slots;
    memset(t->slot_id, 0xff, sizeof(int32_t) * slots);
    size_t off = 0;
    for (int32_t i = 0; i < n; i++) {
        memcpy(t->arena + off, strs[i], lens[i]);
        t->arena[off + lens[i]] = '\0';
        t->str_off[i] = (uint32_t)off;
        t->str_len[i] = lens[i];
        off += lens[i] + 1;
        if (lens[i] > t->max_token_len) t->max_token_len = lens[i];
        if (lens[i] > 0) vocab_insert(t, i);
    }
    return GAZE_OK;
}

/* ------------------------------------------------------------------------------------------
 * Character classes (tokenizers' normalizers/bert.rs and pre_tokenizers/bert.rs)
 * ---------------------------------------------------------------------------------------- */

// Rust char::is_whitespace = Unicode White_Space.
static bool wp_is_whitespace(uint32_t c) {
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}

// tokenizers takes its categories from the `unicode_categories` crate, whose tables are older
// than utf8proc's (Unicode 15): code points assigned since then keep the old answer there.
// These ranges are where the two disagree: generated by tests/reference/gen_wordpiece_tables.py,
// which sweeps every code point through tokenizers 0.20.3 against utf8proc (Unicode 15).
struct wp_range { uint32_t lo, hi; };
static const struct wp_range wp_not_punct[] = {
    { 0x61D, 0x61D }, { 0x9FD, 0x9FD }, { 0xA76, 0xA76 }, { 0xC77, 0xC77 }, { 0xC84, 0xC84 },
    { 0x1B7D, 0x1B7E }, { 0x2E43, 0x2E4F }, { 0x2E52, 0x2E5D }, { 0x10EAD, 0x10EAD },
    { 0x10F55, 0x10F59 }, { 0x10F86, 0x10F89 }, { 0x1144B, 0x1144F }, { 0x1145A, 0x1145B },
    { 0x1145D, 0x1145D }, { 0x11660, 0x1166C }, { 0x116B9, 0x116B9 }, { 0x1183B, 0x1183B },
    { 0x11944, 0x11946 }, { 0x119E2, 0x119E2 }, { 0x11A3F, 0x11A46 }, { 0x11A9A, 0x11A9C },
    { 0x11A9E, 0x11AA2 }, { 0x11B00, 0x11B09 }, { 0x11C41, 0x11C45 }, { 0x11C70, 0x11C71 },
    { 0x11EF7, 0x11EF8 }, { 0x11F43, 0x11F4F }, { 0x11FFF, 0x11FFF }, { 0x12FF1, 0x12FF2 },
    { 0x16E97, 0x16E9A }, { 0x16FE2, 0x16FE2 }, { 0x1E95E, 0x1E95F },
};
static const struct wp_range wp_old_punct[] = {
    { 0x166D, 0x166D }, { 0x111C9, 0x111C9 },
};
static const struct wp_range wp_not_format[] = {
    { 0x890, 0x891 }, { 0x8E2, 0x8E2 }, { 0x110CD, 0x110CD }, { 0x13430, 0x1343F },
};
static const struct wp_range wp_not_mn[] = {
    { 0x7FD, 0x7FD }, { 0x898, 0x89F }, { 0x8CA, 0x8E1 }, { 0x9FE, 0x9FE }, { 0xAFA, 0xAFF },
    { 0xB55, 0xB55 }, { 0xC04, 0xC04 }, { 0xC3C, 0xC3C }, { 0xD00, 0xD00 }, { 0xD3B, 0xD3C },
    { 0xD81, 0xD81 }, { 0xEBA, 0xEBA }, { 0xECE, 0xECE }, { 0x180F, 0x180F }, { 0x1885, 0x1886 },
    { 0x1ABF, 0x1ACE }, { 0x1DF6, 0x1DFB }, { 0xA82C, 0xA82C }, { 0xA8C5, 0xA8C5 },
    { 0xA8FF, 0xA8FF }, { 0xA9BD, 0xA9BD }, { 0x10D24, 0x10D27 }, { 0x10EAB, 0x10EAC },
    { 0x10EFD, 0x10EFF }, { 0x10F46, 0x10F50 }, { 0x10F82, 0x10F85 }, { 0x11070, 0x11070 },
    { 0x11073, 0x11074 }, { 0x110C2, 0x110C2 }, { 0x111C9, 0x111C9 }, { 0x111CF, 0x111CF },
    { 0x1123E, 0x1123E }, { 0x11241, 0x11241 }, { 0x1133B, 0x1133B }, { 0x11438, 0x1143F },
    { 0x11442, 0x11444 }, { 0x11446, 0x11446 }, { 0x1145E, 0x1145E }, { 0x1182F, 0x11837 },
    { 0x11839, 0x1183A }, { 0x1193B, 0x1193C }, { 0x1193E, 0x1193E }, { 0x11943, 0x11943 },
    { 0x119D4, 0x119D7 }, { 0x119DA, 0x119DB }, { 0x119E0, 0x119E0 }, { 0x11A01, 0x11A0A },
    { 0x11A33, 0x11A38 }, { 0x11A3B, 0x11A3E }, { 0x11A47, 0x11A47 }, { 0x11A51, 0x11A56 },
    { 0x11A59, 0x11A5B }, { 0x11A8A, 0x11A96 }, { 0x11A98, 0x11A99 }, { 0x11C30, 0x11C36 },
    { 0x11C38, 0x11C3D }, { 0x11C3F, 0x11C3F }, { 0x11C92, 0x11CA7 }, { 0x11CAA, 0x11CB0 },
    { 0x11CB2, 0x11CB3 }, { 0x11CB5, 0x11CB6 }, { 0x11D31, 0x11D36 }, { 0x11D3A, 0x11D3A },
    { 0x11D3C, 0x11D3D }, { 0x11D3F, 0x11D45 }, { 0x11D47, 0x11D47 }, { 0x11D90, 0x11D91 },
    { 0x11D95, 0x11D95 }, { 0x11D97, 0x11D97 }, { 0x11EF3, 0x11EF4 }, { 0x11F00, 0x11F01 },
    { 0x11F36, 0x11F3A }, { 0x11F40, 0x11F40 }, { 0x11F42, 0x11F42 }, { 0x13440, 0x13440 },
    { 0x13447, 0x13455 }, { 0x16F4F, 0x16F4F }, { 0x16FE4, 0x16FE4 }, { 0x1CF00, 0x1CF2D },
    { 0x1CF30, 0x1CF46 }, { 0x1E000, 0x1E006 }, { 0x1E008, 0x1E018 }, { 0x1E01B, 0x1E021 },
    { 0x1E023, 0x1E024 }, { 0x1E026, 0x1E02A }, { 0x1E08F, 0x1E08F }, { 0x1E130, 0x1E136 },
    { 0x1E2AE, 0x1E2AE }, { 0x1E2EC, 0x1E2EF }, { 0x1E4EC, 0x1E4EF }, { 0x1E944, 0x1E94A },
};
static const struct wp_range wp_old_mn[] = {
    { 0x1734, 0x1734 },
};

static bool in_ranges(const struct wp_range * r, size_t n, uint32_t c) {
    for (size_t i = 0; i < n; i++) if (c >= r[i].lo && c <= r[i].hi) return true;
    return false;
}
#define IN_RANGES(tab, c) in_ranges(tab, sizeof tab / sizeof tab[0], c)

// BertNormalizer's is_control: Cc, Cf, Co (and Cs, impossible in valid UTF-8), except
// \t \n \r. Unassigned code points (Cn) are kept: tokenizers' table for Cn matches none.
static bool wp_is_control(uint32_t c) {
    if (c == '\t' || c == '\n' || c == '\r') return false;
    switch (utf8proc_category((utf8proc_int32_t)c)) {
    case UTF8PROC_CATEGORY_CC: case UTF8PROC_CATEGORY_CO: case UTF8PROC_CATEGORY_CS: return true;
    case UTF8PROC_CATEGORY_CF: return c < 0x890 || !IN_RANGES(wp_not_format, c);
    default: return false;
    }
}

static bool wp_is_punct(uint32_t c) {
    if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126))
        return true;   // all non-alphanumeric ASCII, including $ + < = > ^ ` | ~ (S* categories)
    if (c < 128) return false;
    switch (utf8proc_category((utf8proc_int32_t)c)) {
    case UTF8PROC_CATEGORY_PC: case UTF8PROC_CATEGORY_PD: case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE: case UTF8PROC_CATEGORY_PI: case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO: return c < 0x61D || !IN_RANGES(wp_not_punct, c);
    default: return c >= 0x166D && IN_RANGES(wp_old_punct, c);
    }
}

// Nonspacing mark (Mn), the marks accent stripping drops.
static bool wp_is_mn(uint32_t c) {
    if (utf8proc_category((utf8proc_int32_t)c) == UTF8PROC_CATEGORY_MN)
        return c < 0x7FD || !IN_RANGES(wp_not_mn, c);
    return c == 0x1734 && IN_RANGES(wp_old_mn, c);
}

// CJK Unified Ideographs blocks (tokenizers' is_chinese_char; Hiragana, Katakana and Hangul are
// not included, as in BERT).
static bool wp_is_chinese(uint32_t c) {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
           (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/* ------------------------------------------------------------------------------------------
 * Loading
 * ---------------------------------------------------------------------------------------- */

static struct gaze_wordpiece * wp_new(void) {
    struct gaze_wordpiece * t = calloc(1, sizeof *t);
    if (!t) { gaze_error(GAZE_ERR_NOMEM, "out of memory"); return NULL; }
    t->has_normalizer = t->clean_text = t->chinese = t->strip_accents = t->lowercase = true;
    t->has_pretok = true;
    t->unk_id = -1;
    memcpy(t->prefix, "##", 3);
    t->prefix_len = 2;
    t->max_word_chars = 100;
    t->specials = (struct gaze_wordpiece_specials){ -1, -1, -1, -1, -1 };
    return t;
}

static int32_t find_cstr(const struct gaze_wordpiece * t, const char * s) {
    return gaze_wordpiece_token_id(t, s, strlen(s));
}

// Adds an added token (matched in raw text). Its id must name the same string in the vocab.
static enum gaze_status add_added(struct gaze_wordpiece * t, const char * name, int32_t id) {
    if (t->n_added >= WP_MAX_ADDED)
        return gaze_error(GAZE_ERR_LIMIT, "%s: more than %d added tokens", name, WP_MAX_ADDED);
    for (int i = 0; i < t->n_added; i++) if (t->added[i].id == id) return GAZE_OK;
    if (t->str_len[id] == 0)
        return gaze_error(GAZE_ERR_FORMAT, "%s: added token %d is empty", name, id);
    struct wp_added * a = realloc(t->added, sizeof *a * (size_t)(t->n_added + 1));
    if (!a) return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", name);
    t->added = a;
    // keep longest first so the first hit at a position is the leftmost-longest match
    int k = t->n_added;
    while (k > 0 && a[k - 1].len < t->str_len[id]) { a[k] = a[k - 1]; k--; }
    a[k] = (struct wp_added){ id, t->str_len[id] };
    t->n_added++;
    t->added_first[(uint8_t)tok_str(t, id)[0]] = 1;
    return GAZE_OK;
}

static void set_bert_template(struct gaze_wordpiece * t, int32_t cls, int32_t sep) {
    t->has_post = t->has_pair = true;
    struct wp_item c = { WP_ITEM_SPECIAL, 0, { cls }, 1 }, s0 = { WP_ITEM_SPECIAL, 0, { sep }, 1 },
                   s1 = { WP_ITEM_SPECIAL, 1, { sep }, 1 };
    struct wp_item a = { WP_ITEM_SEQ_A, 0, { 0 }, 0 }, b = { WP_ITEM_SEQ_B, 1, { 0 }, 0 };
    t->single[0] = c; t->single[1] = a; t->single[2] = s0; t->n_single = 3;
    t->pair[0] = c; t->pair[1] = a; t->pair[2] = s0; t->pair[3] = b; t->pair[4] = s1; t->n_pair = 5;
    t->n_special_single = 2;
    t->n_special_pair = 3;
}

static void fill_specials(struct gaze_wordpiece * t, const char * pad_token) {
    t->specials.cls = find_cstr(t, "[CLS]");
    t->specials.sep = find_cstr(t, "[SEP]");
    t->specials.unk = t->unk_id;
    t->specials.pad = find_cstr(t, pad_token ? pad_token : "[PAD]");
    t->specials.mask = find_cstr(t, "[MASK]");
}

// JSON helpers: a field that must be a bool (absent -> default).
static enum gaze_status json_bool(json_t * obj, const char * key, bool def, bool * out,
                                  const char * name, const char * where) {
    json_t * v = json_object_get(obj, key);
    if (!v || json_is_null(v)) { *out = def; return GAZE_OK; }
    if (!json_is_boolean(v))
        return gaze_error(GAZE_ERR_FORMAT, "%s: %s.%s: expected true/false", name, where, key);
    *out = json_is_true(v);
    return GAZE_OK;
}

static enum gaze_status parse_normalizer(struct gaze_wordpiece * t, json_t * n, const char * name) {
    if (!n || json_is_null(n)) {
        t->has_normalizer = t->clean_text = t->chinese = t->strip_accents = t->lowercase = false;
        return GAZE_OK;
    }
    const char * type = json_string_value(json_object_get(n, "type"));
    if (!json_is_object(n) || !type)
        return gaze_error(GAZE_ERR_FORMAT, "%s: normalizer: expected an object with a \"type\"", name);
    if (strcmp(type, "BertNormalizer"))
        return gaze_error(GAZE_ERR_UNSUPPORTED, "%s: normalizer.type '%s' is not supported "
                          "(WordPiece tokenizers: BertNormalizer or null)", name, type);
    enum gaze_status s;
    if ((s = json_bool(n, "clean_text", true, &t->clean_text, name, "normalizer")) ||
        (s = json_bool(n, "handle_chinese_chars", true, &t->chinese, name, "normalizer")) ||
        (s = json_bool(n, "lowercase", true, &t->lowercase, name, "normalizer")))
        return s;
    // strip_accents: null means "same as lowercase" (tokenizers' BertNormalizer)
    return json_bool(n, "strip_accents", t->lowercase, &t->strip_accents, name, "normalizer");
}

static enum gaze_status parse_pretok(struct gaze_wordpiece * t, json_t * p, const char * name) {
    if (!p || json_is_null(p)) { t->has_pretok = false; return GAZE_OK; }
    const char * type = json_string_value(json_object_get(p, "type"));
    if (!json_is_object(p) || !type)
        return gaze_error(GAZE_ERR_FORMAT, "%s: pre_tokenizer: expected an object with a \"type\"", name);
    if (strcmp(type, "BertPreTokenizer"))
        return gaze_error(GAZE_ERR_UNSUPPORTED, "%s: pre_tokenizer.type '%s' is not supported "
                          "(WordPiece tokenizers: BertPreTokenizer or null)", name, type);
    t->has_pretok = true;
    return GAZE_OK;
}

// A [token, id] pair of BertProcessing ("cls": ["[CLS]", 101]).
static enum gaze_status bert_proc_token(struct gaze_wordpiece * t, json_t * v, const char * key,
                                        const char * name, int32_t * id) {
    json_t * s = json_array_get(v, 0), * i = json_array_get(v, 1);
    if (!json_is_array(v) || json_array_size(v) != 2 || !json_is_string(s) || !json_is_integer(i))
        return gaze_error(GAZE_ERR_FORMAT, "%s: post_processor.%s: expected [\"token\", id]", name, key);
    json_int_t x = json_integer_value(i);
    if (x < 0 || x >= t->n_vocab)
        return gaze_error(GAZE_ERR_FORMAT, "%s: post_processor.%s: id %lld out of range [0, %d)",
                          name, key, (long long)x, t->n_vocab);
    if (strcmp(tok_str(t, (int32_t)x), json_string_value(s)))
        return gaze_error(GAZE_ERR_FORMAT, "%s: post_processor.%s: id %lld is '%s' in model.vocab, not '%s'",
                          name, key, (long long)x, tok_str(t, (int32_t)x), json_string_value(s));
    *id = (int32_t)x;
    return GAZE_OK;
}

static enum gaze_status parse_template(struct gaze_wordpiece * t, json_t * arr, json_t * specials,
                                       const char * name, const char * which,
                                       struct wp_item * items, int * n_items, int64_t * n_special) {
    if (!json_is_array(arr))
        return gaze_error(GAZE_ERR_FORMAT, "%s: post_processor.%s: expected an array", name, which);
    if (json_array_size(arr) > WP_MAX_TEMPLATE)
        return gaze_error(GAZE_ERR_LIMIT, "%s: post_processor.%s: more than %d items", name, which, WP_MAX_TEMPLATE);
    int n_a = 0, n_b = 0;
    *n_items = 0;
    *n_special = 0;
    size_t k;
    json_t * it;
    json_array_foreach(arr, k, it) {
        struct wp_item * item = &items[(*n_items)++];
        memset(item, 0, sizeof *item);
        json_t * sp = json_object_get(it, "SpecialToken"), * sq = json_object_get(it, "Sequence");
        json_t * body = sp ? sp : sq;
        const char * id = json_string_value(json_object_get(body, "id"));
        json_t * ty = json_object_get(body, "type_id");
        if (!json_is_object(it) || (!sp == !sq) || !json_is_object(body) || !id || !json_is_integer(ty) ||
            json_integer_value(ty) < 0 || json_integer_value(ty) > 1000)
            return gaze_error(GAZE_ERR_FORMAT, "%s: post_processor.%s[%zu]: expected {\"SpecialToken\"|\"Sequence\": "
                              "{\"id\": str, \"type_id\": int}}", name, which, k);
        item->type_id = (int32_t)json_integer_value(ty);
        if (sq) {
            if (!strcmp(id, "A")) { item->kind = WP_ITEM_SEQ_A; n_a++; }
            else if (!strcmp(id, "B")) { item->kind = WP_ITEM_SEQ_B; n_b++; }
            else return gaze_error(GAZE_ERR_FORMAT, "%s: post_processor.%s[%zu]: sequence id '%s' is not A or B",
                                   name, which, k, id);
            continue;
        }
        item->kind = WP_ITEM_SPECIAL;
        json_t * st = json_object_get(specials, id);
        json_t * ids = json_object_get(st, "ids"), * toks = json_object_get(st, "tokens");
        if (!json_is_object(st) || !json_is_array(ids) || !json_is_array(toks) ||
            json_array_size(ids) != json_array_size(toks) || json_array_size(ids) == 0 ||
            json_array_size(ids) > 8)
            return gaze_error(GAZE_ERR_FORMAT, "%s: post_processor.special_tokens['%s']: missing, or ids/tokens "
                              "not two arrays of the same length 1..8", name, id);
        for (size_t j = 0; j < json_array_size(ids); j++) {
            json_t * iv = json_array_get(ids, j);
            const char * ts = json_string_value(json_array_get(toks, j));
            json_int_t x = json_is_integer(iv) ? json_integer_value(iv) : -1;
            if (x < 0 || x >= t->n_vocab || !ts)
                return gaze_error(GAZE_ERR_FORMAT, "%s: post_processor.special_tokens['%s'].ids[%zu]: "
                                  "not an id in [0, %d)", name, id, j, t->n_vocab);
            if (strcmp(tok_str(t, (int32_t)x), ts))
                return gaze_error(GAZE_ERR_FORMAT, "%s: post_processor.special_tokens['%s']: id %lld is '%s' "
                                  "in model.vocab, not '%s' (special token missing from the vocab?)",
                                  name, id, (long long)x, tok_str(t, (int32_t)x), ts);
            item->ids[item->n_ids++] = (int32_t)x;
        }
        *n_special += item->n_ids;
    }
    bool pair = !strcmp(which, "pair");
    if (n_a != 1 || n_b != (pair ? 1 : 0))
        return gaze_error(GAZE_ERR_FORMAT, "%s: post_processor.%s: needs sequence A once%s", name, which,
                          pair ? " and B once" : " and no B");
    return GAZE_OK;
}

static enum gaze_status parse_post(struct gaze_wordpiece * t, json_t * p, const char * name) {
    if (!p || json_is_null(p)) { t->has_post = false; t->has_pair = true; return GAZE_OK; }
    const char * type = json_string_value(json_object_get(p, "type"));
    if (!json_is_object(p) || !type)
        return gaze_error(GAZE_ERR_FORMAT, "%s: post_processor: expected an object with a \"type\"", name);
    enum gaze_status s;
    if (!strcmp(type, "BertProcessing")) {
        int32_t cls, sep;
        if ((s = bert_proc_token(t, json_object_get(p, "cls"), "cls", name, &cls)) ||
            (s = bert_proc_token(t, json_object_get(p, "sep"), "sep", name, &sep)))
            return s;
        set_bert_template(t, cls, sep);
        return GAZE_OK;
    }
    if (!strcmp(type, "TemplateProcessing")) {
        json_t * specials = json_object_get(p, "special_tokens");
        if (!json_is_object(specials))
            return gaze_error(GAZE_ERR_FORMAT, "%s: post_processor.special_tokens: expected an object", name);
        t->has_post = true;
        if ((s = parse_template(t, json_object_get(p, "single"), specials, name, "single",
                                t->single, &t->n_single, &t->n_special_single)))
            return s;
        json_t * pair = json_object_get(p, "pair");
        t->has_pair = pair && !json_is_null(pair);
        if (t->has_pair && (s = parse_template(t, pair, specials, name, "pair",
                                               t->pair, &t->n_pair, &t->n_special_pair)))
            return s;
        return GAZE_OK;
    }
    return gaze_error(GAZE_ERR_UNSUPPORTED, "%s: post_processor.type '%s' is not supported "
                      "(WordPiece tokenizers: TemplateProcessing, BertProcessing or null)", name, type);
}

static enum gaze_status parse_added(struct gaze_wordpiece * t, json_t * arr, const char * name) {
    if (!arr || json_is_null(arr)) return GAZE_OK;
    if (!json_is_array(arr)) return gaze_error(GAZE_ERR_FORMAT, "%s: added_tokens: expected an array", name);
    size_t k;
    json_t * a;
    json_array_foreach(arr, k, a) {
        json_t * idv = json_object_get(a, "id");
        const char * content = json_string_value(json_object_get(a, "content"));
        if (!json_is_object(a) || !json_is_integer(idv) || !content)
            return gaze_error(GAZE_ERR_FORMAT, "%s: added_tokens[%zu]: expected {\"id\": int, \"content\": str, ...}",
                              name, k);
        json_int_t id = json_integer_value(idv);
        if (id < 0 || id >= t->n_vocab)
            return gaze_error(GAZE_ERR_FORMAT, "%s: added_tokens[%zu] '%s': id %lld out of range [0, %d)",
                              name, k, content, (long long)id, t->n_vocab);
        if (strcmp(tok_str(t, (int32_t)id), content))
            return gaze_error(GAZE_ERR_FORMAT, "%s: added_tokens[%zu]: id %lld is '%s' in model.vocab, not '%s'",
                              name, k, (long long)id, tok_str(t, (int32_t)id), content);
        bool normalized = false, lstrip = false, rstrip = false, single_word = false;
        enum gaze_status s;
        if ((s = json_bool(a, "normalized", false, &normalized, name, "added_tokens[]")) ||
            (s = json_bool(a, "lstrip", false, &lstrip, name, "added_tokens[]")) ||
            (s = json_bool(a, "rstrip", false, &rstrip, name, "added_tokens[]")) ||
            (s = json_bool(a, "single_word", false, &single_word, name, "added_tokens[]")))
            return s;
        if (normalized || lstrip || rstrip || single_word)
            return gaze_error(GAZE_ERR_UNSUPPORTED, "%s: added_tokens[%zu] '%s': normalized/lstrip/rstrip/"
                              "single_word added tokens are not supported", name, k, content);
        if ((s = add_added(t, name, (int32_t)id))) return s;
    }
    return GAZE_OK;
}

static enum gaze_status parse_tokenizer_json(struct gaze_wordpiece * t, json_t * root, const char * name) {
    if (!json_is_object(root)) return gaze_error(GAZE_ERR_FORMAT, "%s: top level is not a JSON object", name);
    json_t * model = json_object_get(root, "model");
    if (!json_is_object(model)) return gaze_error(GAZE_ERR_FORMAT, "%s: missing \"model\" object", name);
    const char * type = json_string_value(json_object_get(model, "type"));
    if (!type) return gaze_error(GAZE_ERR_FORMAT, "%s: model.type missing", name);
    if (strcmp(type, "WordPiece"))
        return gaze_error(GAZE_ERR_UNSUPPORTED, "%s: model.type '%s' is not supported by the WordPiece "
                          "tokenizer (BERT-family tokenizer.json files have \"WordPiece\")", name, type);
    json_t * vocab = json_object_get(model, "vocab");
    if (!json_is_object(vocab)) return gaze_error(GAZE_ERR_FORMAT, "%s: model.vocab missing or not an object", name);
    size_t n = json_object_size(vocab);
    if (n == 0) return gaze_error(GAZE_ERR_FORMAT, "%s: model.vocab is empty", name);
    if (n > WP_MAX_VOCAB) return gaze_error(GAZE_ERR_LIMIT, "%s: model.vocab has %zu tokens (max %d)", name, n, WP_MAX_VOCAB);
    const char ** strs = calloc(n, sizeof *strs);
    uint32_t * lens = calloc(n, sizeof *lens);
    if (!strs || !lens) { free(strs); free(lens); return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", name); }
    enum gaze_status s = GAZE_OK;
    const char * key;
    json_t * v;
    json_object_foreach(vocab, key, v) {
        size_t klen = strlen(key);   // jansson rejects NUL in strings by default
        json_int_t id = json_is_integer(v) ? json_integer_value(v) : -1;
        if (!json_is_integer(v) || id < 0 || id >= (json_int_t)n) {
            s = gaze_error(GAZE_ERR_FORMAT, "%s: model.vocab['%s']: id %s%lld out of range [0, %zu)", name, key,
                           json_is_integer(v) ? "" : "(not an integer) ", (long long)id, n);
            break;
        }
        if (strs[id]) {
            s = gaze_error(GAZE_ERR_FORMAT, "%s: model.vocab: id %lld used by both '%s' and '%s'",
                           name, (long long)id, strs[id], key);
            break;
        }
        if (klen == 0 || klen > WP_MAX_TOKEN) {
            s = gaze_error(GAZE_ERR_FORMAT, "%s: model.vocab: token with id %lld has length %zu (1..%d allowed)",
                           name, (long long)id, klen, WP_MAX_TOKEN);
            break;
        }
        strs[id] = key;
        lens[id] = (uint32_t)klen;
    }
    // n distinct ids in [0, n): dense, so no holes to check
    if (!s) s = vocab_build(t, name, strs, lens, (int32_t)n);
    free(strs);
    free(lens);
    if (s) return s;

    const char * unk = json_string_value(json_object_get(model, "unk_token"));
    if (!unk) return gaze_error(GAZE_ERR_FORMAT, "%s: model.unk_token missing", name);
    if ((t->unk_id = find_cstr(t, unk)) < 0)
        return gaze_error(GAZE_ERR_FORMAT, "%s: special token '%s' (model.unk_token) missing from model.vocab", name, unk);
    json_t * pre = json_object_get(model, "continuing_subword_prefix");
    if (pre && !json_is_null(pre)) {
        const char * ps = json_string_value(pre);
        if (!ps || strlen(ps) >= sizeof t->prefix)
            return gaze_error(GAZE_ERR_FORMAT, "%s: model.continuing_subword_prefix: expected a string under %zu bytes",
                              name, sizeof t->prefix);
        t->prefix_len = strlen(ps);
        memcpy(t->prefix, ps, t->prefix_len + 1);
    }
    json_t * mx = json_object_get(model, "max_input_chars_per_word");
    if (mx && !json_is_null(mx)) {
        if (!json_is_integer(mx) || json_integer_value(mx) < 1)
            return gaze_error(GAZE_ERR_FORMAT, "%s: model.max_input_chars_per_word: expected an integer >= 1", name);
        t->max_word_chars = json_integer_value(mx);
    }
    if ((s = parse_normalizer(t, json_object_get(root, "normalizer"), name)) ||
        (s = parse_pretok(t, json_object_get(root, "pre_tokenizer"), name)) ||
        (s = parse_post(t, json_object_get(root, "post_processor"), name)) ||
        (s = parse_added(t, json_object_get(root, "added_tokens"), name)))
        return s;
    // the padding token named by the file (or BERT's), needed by batching callers
    const char * pad = json_string_value(json_object_get(json_object_get(root, "padding"), "pad_token"));
    fill_specials(t, pad);
    if (t->specials.pad < 0)
        return gaze_error(GAZE_ERR_FORMAT, "%s: special token '%s' missing from model.vocab", name, pad ? pad : "[PAD]");
    if (!t->has_post && (t->specials.cls < 0 || t->specials.sep < 0))
        return gaze_error(GAZE_ERR_FORMAT, "%s: special token '%s' missing from model.vocab", name,
                          t->specials.cls < 0 ? "[CLS]" : "[SEP]");
    return GAZE_OK;
}

enum gaze_status gaze_wordpiece_init_json(struct gaze_wordpiece ** out, const char * json, size_t n,
                                          const char * name) {
    if (!out || (!json && n)) return gaze_error(GAZE_ERR_INVALID_ARG, "gaze_wordpiece_init_json: NULL argument");
    *out = NULL;
    name = name ? name : "tokenizer.json";
    if (n > WP_MAX_FILE) return gaze_error(GAZE_ERR_LIMIT, "%s: %zu bytes (max %zu)", name, n, WP_MAX_FILE);
    json_error_t jerr;
    json_t * root = json_loadb(json ? json : "", n, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return gaze_error(GAZE_ERR_FORMAT, "%s: JSON at offset %d (line %d, column %d): %s",
                          name, jerr.position, jerr.line, jerr.column, jerr.text);
    struct gaze_wordpiece * t = wp_new();
    enum gaze_status s = t ? parse_tokenizer_json(t, root, name) : GAZE_ERR_NOMEM;
    json_decref(root);
    if (s) { gaze_wordpiece_free(t); return s; }
    *out = t;
    return GAZE_OK;
}

// vocab.txt: one token per line, id = line number (as HF's load_vocab). A UTF-8 BOM is skipped,
// CRLF endings are accepted, blank lines keep their id but match nothing, duplicates are errors
// (HF would silently let the later line win, leaving an id no text can produce).
static enum gaze_status parse_vocab_txt(struct gaze_wordpiece * t, const char * text, size_t n, const char * name) {
    size_t start = 0;
    if (n >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) start = 3;
    size_t lines = 0;
    for (size_t i = start; i < n; i++) lines += text[i] == '\n';
    if (n > start && text[n - 1] != '\n') lines++;
    if (lines == 0) return gaze_error(GAZE_ERR_FORMAT, "%s: empty vocabulary", name);
    if (lines > WP_MAX_VOCAB) return gaze_error(GAZE_ERR_LIMIT, "%s: %zu lines (max %d)", name, lines, WP_MAX_VOCAB);
    const char ** strs = calloc(lines, sizeof *strs);
    uint32_t * lens = calloc(lines, sizeof *lens);
    if (!strs || !lens) { free(strs); free(lens); return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", name); }
    enum gaze_status s = GAZE_OK;
    size_t line = 0, i = start;
    while (i < n && !s) {
        const char * e = memchr(text + i, '\n', n - i);
        size_t end = e ? (size_t)(e - text) : n, len = end - i;
        if (len > 0 && text[i + len - 1] == '\r') len--;
        size_t bad = gaze_utf8_first_invalid(text + i, len);
        if (bad < len)
            s = gaze_error(GAZE_ERR_FORMAT, "%s: line %zu: invalid UTF-8 at byte offset %zu", name, line + 1, i + bad);
        else if (memchr(text + i, '\0', len))
            s = gaze_error(GAZE_ERR_FORMAT, "%s: line %zu: NUL byte at byte offset %zu", name, line + 1,
                           (size_t)((const char *)memchr(text + i, '\0', len) - text));
        else if (len > WP_MAX_TOKEN)
            s = gaze_error(GAZE_ERR_FORMAT, "%s: line %zu: token of %zu bytes (max %d)", name, line + 1, len, WP_MAX_TOKEN);
        strs[line] = text + i;
        lens[line] = (uint32_t)len;
        line++;
        i = end + 1;
    }
    if (!s) s = vocab_build(t, name, strs, lens, (int32_t)line);
    if (!s) {   // duplicates: every non-empty line must be found at its own id
        for (int32_t k = 0; k < t->n_vocab && !s; k++) {
            if (t->str_len[k] == 0) continue;
            int32_t f = gaze_wordpiece_token_id(t, tok_str(t, k), t->str_len[k]);
            if (f != k)
                s = gaze_error(GAZE_ERR_FORMAT, "%s: line %d duplicates line %d ('%s')", name, k + 1, f + 1, tok_str(t, k));
        }
    }
    free(strs);
    free(lens);
    return s;
}

static enum gaze_status vocab_defaults(struct gaze_wordpiece * t, const char * name) {
    if ((t->unk_id = find_cstr(t, "[UNK]")) < 0)
        return gaze_error(GAZE_ERR_FORMAT, "%s: special token '[UNK]' missing from the vocabulary", name);
    fill_specials(t, NULL);
    const char * miss = t->specials.cls < 0 ? "[CLS]" : t->specials.sep < 0 ? "[SEP]" :
                        t->specials.pad < 0 ? "[PAD]" : NULL;
    if (miss) return gaze_error(GAZE_ERR_FORMAT, "%s: special token '%s' missing from the vocabulary", name, miss);
    set_bert_template(t, t->specials.cls, t->specials.sep);
    // BertTokenizer never splits its special tokens: they act as added tokens
    int32_t ids[5] = { t->specials.pad, t->unk_id, t->specials.cls, t->specials.sep, t->specials.mask };
    for (int k = 0; k < 5; k++) {
        if (ids[k] < 0) continue;
        enum gaze_status s = add_added(t, name, ids[k]);
        if (s) return s;
    }
    return GAZE_OK;
}

enum gaze_status gaze_wordpiece_init_vocab(struct gaze_wordpiece ** out, const char * text, size_t n,
                                           bool lowercase, const char * name) {
    if (!out || (!text && n)) return gaze_error(GAZE_ERR_INVALID_ARG, "gaze_wordpiece_init_vocab: NULL argument");
    *out = NULL;
    name = name ? name : "vocab.txt";
    if (n > WP_MAX_FILE) return gaze_error(GAZE_ERR_LIMIT, "%s: %zu bytes (max %zu)", name, n, WP_MAX_FILE);
    struct gaze_wordpiece * t = wp_new();
    if (!t) return GAZE_ERR_NOMEM;
    t->lowercase = t->strip_accents = lowercase;
    enum gaze_status s = parse_vocab_txt(t, text ? text : "", n, name);
    if (!s) s = vocab_defaults(t, name);
    if (s) { gaze_wordpiece_free(t); return s; }
    *out = t;
    return GAZE_OK;
}

// Reads a whole file (capped). *missing is set when it does not exist.
static enum gaze_status read_file(const char * path, char ** buf, size_t * n, bool * missing) {
    *buf = NULL; *n = 0;
    if (missing) *missing = false;
    FILE * f = fopen(path, "rb");
    if (!f) {
        if (missing && errno == ENOENT) { *missing = true; return GAZE_ERR_IO; }
        return gaze_error(GAZE_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return gaze_error(GAZE_ERR_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > WP_MAX_FILE) {
        fclose(f);
        return gaze_error(GAZE_ERR_LIMIT, "%s: %lld bytes (max %zu)", path, (long long)st.st_size, WP_MAX_FILE);
    }
    size_t size = (size_t)st.st_size;
    char * b = malloc(size ? size : 1);
    if (!b) { fclose(f); return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", path); }
    size_t got = fread(b, 1, size, f);
    fclose(f);
    if (got != size) { free(b); return gaze_error(GAZE_ERR_IO, "%s: short read (%zu of %zu bytes)", path, got, size); }
    *buf = b; *n = size;
    return GAZE_OK;
}

// tokenizer_config.json beside a vocab.txt: do_lower_case, strip_accents, tokenize_chinese_chars.
static enum gaze_status apply_tokenizer_config(struct gaze_wordpiece * t, const char * path) {
    char * buf; size_t n; bool missing;
    enum gaze_status s = read_file(path, &buf, &n, &missing);
    if (missing) { gaze_clear_error(); return GAZE_OK; }
    if (s) return s;
    json_error_t jerr;
    json_t * root = json_loadb(buf, n, JSON_REJECT_DUPLICATES, &jerr);
    free(buf);
    if (!root || !json_is_object(root)) {
        json_decref(root);
        return gaze_error(GAZE_ERR_FORMAT, "%s: JSON at offset %d: %s", path, jerr.position, root ? "not an object" : jerr.text);
    }
    bool lower = true;
    if (!(s = json_bool(root, "do_lower_case", true, &lower, path, "config")) &&
        !(s = json_bool(root, "tokenize_chinese_chars", true, &t->chinese, path, "config"))) {
        t->lowercase = lower;
        s = json_bool(root, "strip_accents", lower, &t->strip_accents, path, "config");
    }
    json_decref(root);
    return s;
}

enum gaze_status gaze_wordpiece_init(struct gaze_wordpiece ** out, const char * path) {
    if (!out || !path) return gaze_error(GAZE_ERR_INVALID_ARG, "gaze_wordpiece_init: NULL argument");
    *out = NULL;
    struct stat st;
    if (stat(path, &st) != 0) return gaze_error(GAZE_ERR_IO, "%s: %s", path, strerror(errno));
    char file[4096];
    bool is_json;
    bool dir = S_ISDIR(st.st_mode);
    if (dir) {
        if ((size_t)snprintf(file, sizeof file, "%s/tokenizer.json", path) >= sizeof file)
            return gaze_error(GAZE_ERR_INVALID_ARG, "%s: path too long", path);
        is_json = stat(file, &st) == 0;
        if (!is_json) {
            snprintf(file, sizeof file, "%s/vocab.txt", path);
            if (stat(file, &st) != 0)
                return gaze_error(GAZE_ERR_IO, "%s: no tokenizer.json or vocab.txt in this folder", path);
        }
    } else {
        if ((size_t)snprintf(file, sizeof file, "%s", path) >= sizeof file)
            return gaze_error(GAZE_ERR_INVALID_ARG, "%s: path too long", path);
        size_t l = strlen(file);
        is_json = l >= 5 && !strcmp(file + l - 5, ".json");
    }
    char * buf; size_t n;
    enum gaze_status s = read_file(file, &buf, &n, NULL);
    if (s) return s;
    if (is_json) {
        s = gaze_wordpiece_init_json(out, buf, n, file);
    } else {
        s = gaze_wordpiece_init_vocab(out, buf, n, true, file);
        if (!s && dir) {
            char cfg[4096];
            snprintf(cfg, sizeof cfg, "%s/tokenizer_config.json", path);
            s = apply_tokenizer_config(*out, cfg);
            if (s) { gaze_wordpiece_free(*out); *out = NULL; }
        }
    }
    free(buf);
    return s;
}

/* ------------------------------------------------------------------------------------------
 * Encoding
 * ---------------------------------------------------------------------------------------- */

struct wp_nchar {        // one normalised char and the input bytes it came from
    uint32_t cp;
    int64_t  b, e;       // [b, e) in the original input
};

struct wp_toks {         // tokens of one input before the post-processor
    int32_t * ids;       // [n]
    int64_t * off;       // [n, 2]
    int64_t   n, cap;
};

struct wp_work {         // per-call scratch, grown by doubling (never per token)
    struct wp_nchar * ch;   size_t n_ch, cap_ch;
    char *     wbytes;      // [cap_w] current word as UTF-8
    size_t     cap_w;
    uint32_t * wpos;        // [cap_pos] byte position of each char of the word, and the end
    size_t     cap_pos;
    char *     hbuf;        // [max_token_len + 8] prefix || the bytes that can follow one start
    uint64_t (*hwords)[4];  // [max_token_len / 8 + 2] its hash states (gaze_hash_words)
    struct wp_toks a, b;
};

static bool grow(void ** p, size_t * cap, size_t need, size_t elem) {
    if (need <= *cap) return true;
    size_t c = *cap ? *cap : 64;
    while (c < need) { if (c > SIZE_MAX / 4 / elem) return false; c *= 2; }
    void * q = realloc(*p, c * elem);
    if (!q) return false;
    *p = q; *cap = c;
    return true;
}

static enum gaze_status toks_push(struct wp_toks * t, int32_t id, int64_t b, int64_t e) {
    if (t->n == t->cap) {
        size_t c = t->cap ? (size_t)t->cap * 2 : 64;
        int32_t * ids = realloc(t->ids, c * sizeof *ids);
        if (ids) t->ids = ids;
        int64_t * off = realloc(t->off, c * 2 * sizeof *off);
        if (off) t->off = off;
        if (!ids || !off) return gaze_error(GAZE_ERR_NOMEM, "tokenizer: out of memory");
        t->cap = (int64_t)c;
    }
    t->ids[t->n] = id;
    t->off[2 * t->n] = b;
    t->off[2 * t->n + 1] = e;
    t->n++;
    return GAZE_OK;
}

static inline enum gaze_status push_ch(struct wp_work * w, uint32_t cp, int64_t b, int64_t e) {
    if (w->n_ch == w->cap_ch && !grow((void **)&w->ch, &w->cap_ch, w->n_ch + 1, sizeof *w->ch))
        return gaze_error(GAZE_ERR_NOMEM, "tokenizer: out of memory");
    w->ch[w->n_ch++] = (struct wp_nchar){ cp, b, e };
    return GAZE_OK;
}

// BertNormalizer applied to one input char [b, e).
static enum gaze_status normalize_char(const struct gaze_wordpiece * t, struct wp_work * w,
                                       uint32_t cp, int64_t b, int64_t e) {
    if (!t->has_normalizer) return push_ch(w, cp, b, e);
    if (t->clean_text) {
        if (cp == 0 || cp == 0xFFFD || wp_is_control(cp)) return GAZE_OK;
        if (wp_is_whitespace(cp)) cp = ' ';
    }
    bool cjk = t->chinese && wp_is_chinese(cp);
    enum gaze_status s;
    if (cjk && (s = push_ch(w, ' ', b, e))) return s;
    utf8proc_int32_t dec[32];
    utf8proc_ssize_t nd = 1;
    dec[0] = (utf8proc_int32_t)cp;
    if (t->strip_accents) {
        int bc = 0;
        nd = utf8proc_decompose_char((utf8proc_int32_t)cp, dec, 32, UTF8PROC_DECOMPOSE, &bc);
        if (nd < 1 || nd > 32) { nd = 1; dec[0] = (utf8proc_int32_t)cp; }
    }
    for (utf8proc_ssize_t k = 0; k < nd; k++) {
        uint32_t c = (uint32_t)dec[k];
        if (t->strip_accents && wp_is_mn(c)) continue;
        if (t->lowercase) {
            if (c == 0x130) {   // the one unconditional multi-char lowercase (SpecialCasing.txt)
                if ((s = push_ch(w, 'i', b, e)) || (s = push_ch(w, 0x307, b, e))) return s;
                continue;
            }
            c = (uint32_t)utf8proc_tolower((utf8proc_int32_t)c);
        }
        if ((s = push_ch(w, c, b, e))) return s;
    }
    if (cjk && (s = push_ch(w, ' ', b, e))) return s;
    return GAZE_OK;
}

// WordPiece on normalised chars ch[i0, i1) of one word.
static enum gaze_status wordpiece_word(const struct gaze_wordpiece * t, struct wp_work * w,
                                       struct wp_toks * out, size_t i0, size_t i1) {
    const struct wp_nchar * ch = w->ch;
    size_t nc = i1 - i0;
    if ((int64_t)nc > t->max_word_chars) return toks_push(out, t->unk_id, ch[i0].b, ch[i1 - 1].e);
    if (!grow((void **)&w->wbytes, &w->cap_w, nc * 4, 1) ||
        !grow((void **)&w->wpos, &w->cap_pos, nc + 1, sizeof *w->wpos))
        return gaze_error(GAZE_ERR_NOMEM, "tokenizer: out of memory");
    uint32_t nb = 0;
    for (size_t k = 0; k < nc; k++) {
        w->wpos[k] = nb;
        nb += (uint32_t)gaze_utf8_encode(ch[i0 + k].cp, w->wbytes + nb);
    }
    w->wpos[nc] = nb;

    int64_t first = out->n;
    size_t start = 0;
    while (start < nc) {
        size_t plen = start > 0 ? t->prefix_len : 0;
        if (plen >= t->max_token_len) goto unk;
        // longest piece that can exist in the vocab, in bytes
        uint32_t limit = t->max_token_len - (uint32_t)plen;
        uint32_t b0 = w->wpos[start];
        uint32_t avail = nb - b0 < limit ? nb - b0 : limit;
        // every length tried below hashes a prefix of prefix || bytes: its 8-byte words once
        memcpy(w->hbuf, t->prefix, plen);
        memcpy(w->hbuf + plen, w->wbytes + b0, avail);
        gaze_hash_words(w->hbuf, plen + avail, w->hwords);
        size_t end = nc;
        while (end > start && w->wpos[end] - b0 > avail) end--;
        int32_t id = -1;
        for (; end > start; end--) {
            uint32_t len = w->wpos[end] - b0;
            id = vocab_find(t, gaze_hash_prefix(w->hwords, w->hbuf, plen + len), t->prefix, plen, w->wbytes + b0, len);
            if (id >= 0) break;
        }
        if (id < 0) goto unk;
        enum gaze_status s = toks_push(out, id, ch[i0 + start].b, ch[i0 + end - 1].e);
        if (s) return s;
        start = end;
    }
    return GAZE_OK;
unk:
    out->n = first;   // any failing piece makes the whole word [UNK]
    return toks_push(out, t->unk_id, ch[i0].b, ch[i1 - 1].e);
}

// Normalise, pre-tokenise and WordPiece the input segment s[b, e).
static enum gaze_status encode_segment(const struct gaze_wordpiece * t, struct wp_work * w,
                                       struct wp_toks * out, const char * s, size_t b, size_t e) {
    enum gaze_status st;
    w->n_ch = 0;
    const uint8_t * u = (const uint8_t *)s;
    for (size_t i = b; i < e;) {
        uint32_t cp;
        int len = gaze_utf8_decode(u, e, i, &cp);
        GAZE_ASSERT(len > 0);   // the input was validated before
        if ((st = normalize_char(t, w, cp, (int64_t)i, (int64_t)(i + (size_t)len)))) return st;
        i += (size_t)len;
    }
    size_t n = w->n_ch, i = 0;
    if (!t->has_pretok) return n ? wordpiece_word(t, w, out, 0, n) : GAZE_OK;
    while (i < n) {
        uint32_t c = w->ch[i].cp;
        if (wp_is_whitespace(c)) { i++; continue; }
        if (wp_is_punct(c)) {
            if ((st = wordpiece_word(t, w, out, i, i + 1))) return st;
            i++;
            continue;
        }
        size_t j = i + 1;
        while (j < n && !wp_is_whitespace(w->ch[j].cp) && !wp_is_punct(w->ch[j].cp)) j++;
        if ((st = wordpiece_word(t, w, out, i, j))) return st;
        i = j;
    }
    return GAZE_OK;
}

// Splits off added tokens (leftmost-longest in the raw text), encodes the rest.
static enum gaze_status encode_input(const struct gaze_wordpiece * t, struct wp_work * w,
                                     struct wp_toks * out, const char * s, size_t n) {
    enum gaze_status st;
    size_t seg = 0;
    for (size_t p = 0; p < n && t->n_added;) {
        if (!t->added_first[(uint8_t)s[p]]) { p++; continue; }
        const struct wp_added * hit = NULL;
        for (int k = 0; k < t->n_added; k++) {
            const struct wp_added * a = &t->added[k];
            if (a->len <= n - p && !memcmp(s + p, tok_str(t, a->id), a->len)) { hit = a; break; }
        }
        if (!hit) { p++; continue; }
        if (p > seg && (st = encode_segment(t, w, out, s, seg, p))) return st;
        if ((st = toks_push(out, hit->id, (int64_t)p, (int64_t)(p + hit->len)))) return st;
        p += hit->len;
        seg = p;
    }
    return n > seg ? encode_segment(t, w, out, s, seg, n) : GAZE_OK;
}

void gaze_encoding_free(struct gaze_encoding * enc) {
    if (!enc) return;
    free(enc->ids); free(enc->type_ids); free(enc->offsets); free(enc->sequence_ids);
    memset(enc, 0, sizeof *enc);
}

static enum gaze_status enc_reserve(struct gaze_encoding * enc, int64_t n) {
    if (n <= enc->cap) return GAZE_OK;
    size_t c = (size_t)n;
    int32_t * ids = realloc(enc->ids, c * sizeof *ids);
    if (ids) enc->ids = ids;
    int32_t * ty = realloc(enc->type_ids, c * sizeof *ty);
    if (ty) enc->type_ids = ty;
    int64_t * off = realloc(enc->offsets, c * 2 * sizeof *off);
    if (off) enc->offsets = off;
    int8_t * sq = realloc(enc->sequence_ids, c * sizeof *sq);
    if (sq) enc->sequence_ids = sq;
    if (!ids || !ty || !off || !sq) return gaze_error(GAZE_ERR_NOMEM, "tokenizer: out of memory for %lld tokens", (long long)n);
    enc->cap = n;
    return GAZE_OK;
}

static void enc_put(struct gaze_encoding * enc, int32_t id, int32_t type, int64_t b, int64_t e, int8_t seq) {
    int64_t i = enc->n_tokens++;
    enc->ids[i] = id;
    enc->type_ids[i] = type;
    enc->offsets[2 * i] = b;
    enc->offsets[2 * i + 1] = e;
    enc->sequence_ids[i] = seq;
}

void tok_truncate_longest_first(int64_t budget, int64_t * na, int64_t * nb) {
    int64_t n1 = *na, n2 = *nb;
    bool swap = n1 > n2;
    if (swap) { int64_t x = n1; n1 = n2; n2 = x; }
    if (n1 > budget) n2 = n1;
    else n2 = GAZE_MAX(n1, budget - n1);
    if (n1 + n2 > budget) { n1 = budget / 2; n2 = n1 + budget % 2; }
    if (swap) { int64_t x = n1; n1 = n2; n2 = x; }
    *na = GAZE_MIN(*na, n1);
    *nb = GAZE_MIN(*nb, n2);
}

enum gaze_status gaze_wordpiece_encode(const struct gaze_wordpiece * t,
                                       const char * text, size_t n,
                                       const char * pair, size_t n_pair,
                                       const struct gaze_encode_opts * opts,
                                       struct gaze_encoding * enc) {
    if (!t || !enc || (!text && n)) return gaze_error(GAZE_ERR_INVALID_ARG, "gaze_wordpiece_encode: NULL argument");
    static const struct gaze_encode_opts defaults = { 0 };
    if (!opts) opts = &defaults;
    enc->n_tokens = 0;
    enc->n_truncated = 0;
    enum gaze_status s;
    if ((s = gaze_utf8_validate(text ? text : "", n, "text"))) return s;
    if (pair && (s = gaze_utf8_validate(pair, n_pair, "pair"))) return s;
    bool special = !opts->no_special && t->has_post;
    if (pair && t->has_post && !t->has_pair)
        return gaze_error(GAZE_ERR_UNSUPPORTED, "tokenizer: its post-processor has no template for sentence pairs");

    struct wp_work w = { 0 };
    w.hbuf = malloc((size_t)t->max_token_len + 8);
    w.hwords = malloc(((size_t)t->max_token_len / 8 + 2) * sizeof *w.hwords);
    if (!w.hbuf || !w.hwords) { free(w.hbuf); free(w.hwords); return gaze_error(GAZE_ERR_NOMEM, "tokenizer: out of memory"); }
    if ((s = encode_input(t, &w, &w.a, text ? text : "", n))) goto done;
    if (pair && (s = encode_input(t, &w, &w.b, pair, n_pair))) goto done;

    int64_t na = w.a.n, nb = w.b.n;
    int64_t n_spec = !special ? 0 : pair ? t->n_special_pair : t->n_special_single;
    if (opts->max_len > 0 && na + nb + n_spec > opts->max_len) {
        if (opts->truncation != GAZE_TRUNCATION_LONGEST_FIRST) {
            s = gaze_error(GAZE_ERR_LIMIT, "tokenizer: the input has %lld tokens (with special tokens), more than "
                           "the limit %lld: shorten it or truncate", (long long)(na + nb + n_spec), (long long)opts->max_len);
            goto done;
        }
        int64_t budget = opts->max_len - n_spec;
        if (budget < (pair ? 2 : 1)) {
            s = gaze_error(GAZE_ERR_INVALID_ARG, "tokenizer: max_len %lld leaves no room next to %lld special tokens",
                           (long long)opts->max_len, (long long)n_spec);
            goto done;
        }
        if (pair) tok_truncate_longest_first(budget, &na, &nb);
        else na = budget;
        enc->n_truncated = w.a.n + w.b.n - na - nb;
    }
    if ((s = enc_reserve(enc, na + nb + n_spec))) goto done;
    if (!t->has_post) {
        for (int64_t i = 0; i < na; i++) enc_put(enc, w.a.ids[i], 0, w.a.off[2 * i], w.a.off[2 * i + 1], 0);
        for (int64_t i = 0; i < nb; i++) enc_put(enc, w.b.ids[i], 1, w.b.off[2 * i], w.b.off[2 * i + 1], 1);
    } else {
        // the template sets type ids even without special tokens (tokenizers does the same)
        const struct wp_item * items = pair ? t->pair : t->single;
        int n_items = pair ? t->n_pair : t->n_single;
        for (int k = 0; k < n_items; k++) {
            const struct wp_item * it = &items[k];
            if (it->kind == WP_ITEM_SPECIAL) {
                for (int j = 0; special && j < it->n_ids; j++) enc_put(enc, it->ids[j], it->type_id, 0, 0, -1);
            } else {
                const struct wp_toks * src = it->kind == WP_ITEM_SEQ_A ? &w.a : &w.b;
                int64_t cnt = it->kind == WP_ITEM_SEQ_A ? na : nb;
                int8_t seq = it->kind == WP_ITEM_SEQ_A ? 0 : 1;
                for (int64_t i = 0; i < cnt; i++)
                    enc_put(enc, src->ids[i], it->type_id, src->off[2 * i], src->off[2 * i + 1], seq);
            }
        }
    }
done:
    free(w.ch); free(w.wbytes); free(w.wpos); free(w.hbuf); free(w.hwords);
    free(w.a.ids); free(w.a.off); free(w.b.ids); free(w.b.off);
    if (s) enc->n_tokens = 0;
    return s;
}

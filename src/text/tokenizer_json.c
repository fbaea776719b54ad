// Hugging Face tokenizer.json BPE models onto the BPE engine (text/bpe.c, bpe_init_hf):
//   byte-level (GPT-2, Llama 3, Qwen2: ByteLevel / Split regexes, NFC) and SentencePiece-style
//   (Llama 2, Mistral, Gemma: Prepend/Replace normalizers or Metaspace, byte_fallback, unk).
// Everything the file says is read and either implemented or refused by name: model options
// (dropout, subword prefixes), normalizers, pre-tokenizers, post-processors, added-token flags.
#include "core/core.h"
#include "formats/json.h"
#include "text/bpe.h"
#include "text/tokenizer.h"
#include "text/unigram.h"
#include <math.h>
#include <string.h>

#define TJ_MAX_REGEX 4

// HF's ByteLevel regex (pre_tokenizers/byte_level.rs): GPT-2's plus a final \s+.
#define HF_BYTELEVEL_RE "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"
#define META "\xE2\x96\x81"

struct tj {
    const char * label;
    struct bpe_hf hf;
    char * regex[TJ_MAX_REGEX];
    bool   saw_byte_level;          // a ByteLevel pre-tokenizer came (it must come last)
    bool   saw_split;
    int32_t bos, eos;               // from the post-processor template, -1 none
};

static enum gaze_status refuse(const struct tj * t, const char * what, const char * name) {
    char esc[96];
    gaze_term_escape(esc, sizeof esc, name ? name : "(none)", name ? strlen(name) : 6);
    return gaze_error(GAZE_ERR_UNSUPPORTED, "%s: %s \"%s\" is not supported yet", t->label, what, esc);
}

static enum gaze_status add_regex(struct tj * t, const char * re, size_t n) {
    if (t->hf.n_regex == TJ_MAX_REGEX)
        return gaze_error(GAZE_ERR_UNSUPPORTED, "%s: pre_tokenizer: more than %d splits", t->label, TJ_MAX_REGEX);
    char * c = malloc(n + 1);
    if (!c) return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", t->label);
    memcpy(c, re, n);
    c[n] = 0;
    t->regex[t->hf.n_regex++] = c;
    return GAZE_OK;
}

// A literal as a PCRE2 pattern (\Q...\E, with any \E inside spelled out).
static enum gaze_status add_literal(struct tj * t, const char * s) {
    size_t n = strlen(s), o = 0;
    char * re = malloc(6 * n + 8);
    if (!re) return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", t->label);
    o += (size_t)sprintf(re, "\\Q");
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && s[i + 1] == 'E') { memcpy(re + o, "\\E\\\\\\Q", 6); o += 6; continue; }
        re[o++] = s[i];
    }
    memcpy(re + o, "\\E", 3);
    enum gaze_status st = add_regex(t, re, o + 2);
    free(re);
    return st;
}

static const char * type_of(const json_t * o) { return json_string_value(json_object_get(o, "type")); }

static enum gaze_status parse_normalizer(struct tj * t, const json_t * n) {
    if (!n || json_is_null(n)) return GAZE_OK;
    const char * ty = type_of(n);
    if (!ty) return gaze_error(GAZE_ERR_FORMAT, "%s: normalizer: no \"type\"", t->label);
    if (!strcmp(ty, "Sequence")) {
        json_t * list = json_object_get(n, "normalizers"), * e;
        size_t i;
        if (!json_is_array(list)) return gaze_error(GAZE_ERR_FORMAT, "%s: normalizer Sequence: no \"normalizers\" array", t->label);
        json_array_foreach(list, i, e) {
            enum gaze_status s = parse_normalizer(t, e);
            if (s) return s;
        }
        return GAZE_OK;
    }
    // the engine applies NFC, then CLIP's whitespace collapse and lowercase, then the SentencePiece
    // space marks: a file asking another order is refused
    if (!strcmp(ty, "NFC")) {
        if (t->hf.collapse_ws || t->hf.lowercase || t->hf.prepend || t->hf.replace_space)
            return refuse(t, "normalizer order: NFC after", "Replace/Lowercase/Prepend");
        t->hf.nfc = true;
        return GAZE_OK;
    }
    if (!strcmp(ty, "Lowercase")) {
        if (t->hf.prepend || t->hf.replace_space) return refuse(t, "normalizer order: Lowercase after", "Prepend/Replace");
        t->hf.lowercase = true;
        return GAZE_OK;
    }
    if (!strcmp(ty, "Prepend")) {
        const char * p = json_string_value(json_object_get(n, "prepend"));
        if (!p || strcmp(p, META)) return refuse(t, "normalizer Prepend of", p);
        t->hf.prepend = true;
        return GAZE_OK;
    }
    if (!strcmp(ty, "Replace")) {
        const char * pat = json_string_value(json_object_get(json_object_get(n, "pattern"), "String"));
        const char * content = json_string_value(json_object_get(n, "content"));
        const char * rx = json_string_value(json_object_get(json_object_get(n, "pattern"), "Regex"));
        if (rx && !strcmp(rx, "\\s+") && content && !strcmp(content, " ")) {   // CLIP
            if (t->hf.prepend || t->hf.replace_space) return refuse(t, "normalizer order: Replace \\s+ after", "Prepend/Replace");
            t->hf.collapse_ws = true;
            return GAZE_OK;
        }
        if (!pat || strcmp(pat, " ") || !content || strcmp(content, META))
            return refuse(t, "normalizer Replace other than \" \" -> \"\\u2581\": pattern", pat ? pat : "(a regex)");
        t->hf.replace_space = true;
        return GAZE_OK;
    }
    return refuse(t, "normalizer", ty);
}

static enum gaze_status parse_pre(struct tj * t, const json_t * p, bool first) {
    if (!p || json_is_null(p)) return GAZE_OK;
    const char * ty = type_of(p);
    if (!ty) return gaze_error(GAZE_ERR_FORMAT, "%s: pre_tokenizer: no \"type\"", t->label);
    if (!strcmp(ty, "Sequence")) {
        json_t * list = json_object_get(p, "pretokenizers"), * e;
        size_t i;
        if (!json_is_array(list)) return gaze_error(GAZE_ERR_FORMAT, "%s: pre_tokenizer Sequence: no \"pretokenizers\" array", t->label);
        json_array_foreach(list, i, e) {
            enum gaze_status s = parse_pre(t, e, first && i == 0);
            if (s) return s;
        }
        return GAZE_OK;
    }
    // byte-level mapping happens inside BPE, so nothing may split after it
    if (t->saw_byte_level) return refuse(t, "pre_tokenizer after ByteLevel:", ty);
    if (!strcmp(ty, "ByteLevel")) {
        t->saw_byte_level = true;
        t->hf.byte_level = true;
        if (json_is_true(json_object_get(p, "add_prefix_space"))) return refuse(t, "pre_tokenizer ByteLevel with", "add_prefix_space");
        json_t * ur = json_object_get(p, "use_regex");
        if (!ur || json_is_true(ur)) return add_regex(t, HF_BYTELEVEL_RE, strlen(HF_BYTELEVEL_RE));
        return GAZE_OK;
    }
    if (!strcmp(ty, "Split")) {
        t->saw_split = true;
        const char * beh = json_string_value(json_object_get(p, "behavior"));
        const bool invert = json_is_true(json_object_get(p, "invert"));
        // Isolated: matches and the text between them are pieces; Removed + invert (CLIP): only
        // the matches are (the text between them is dropped)
        if (beh && !strcmp(beh, "Removed") && invert) t->hf.keep_matches_only |= 1u << t->hf.n_regex;
        else if (!beh || strcmp(beh, "Isolated")) return refuse(t, "pre_tokenizer Split behavior", beh);
        else if (invert) return refuse(t, "pre_tokenizer Split Isolated with", "invert");
        json_t * pat = json_object_get(p, "pattern");
        const char * re = json_string_value(json_object_get(pat, "Regex"));
        if (re) return add_regex(t, re, strlen(re));
        const char * lit = json_string_value(json_object_get(pat, "String"));
        if (lit && *lit) return add_literal(t, lit);
        return gaze_error(GAZE_ERR_FORMAT, "%s: pre_tokenizer Split: pattern is neither {\"Regex\"} nor {\"String\"}", t->label);
    }
    if (!strcmp(ty, "Digits")) {
        t->saw_split = true;
        return json_is_true(json_object_get(p, "individual_digits")) ? add_regex(t, "\\p{N}", 5) : add_regex(t, "\\p{N}+", 6);
    }
    if (!strcmp(ty, "Metaspace")) {
        // replaces spaces before any split: only first, so no split sees the spaces it replaced
        if (!first || t->saw_split) return refuse(t, "pre_tokenizer Metaspace after another pre_tokenizer:", "Metaspace");
        const char * rep = json_string_value(json_object_get(p, "replacement"));
        if (!rep || strcmp(rep, META)) return refuse(t, "pre_tokenizer Metaspace replacement", rep);
        const char * scheme = json_string_value(json_object_get(p, "prepend_scheme"));
        json_t * aps = json_object_get(p, "add_prefix_space");   // before tokenizers 0.15
        if (!scheme) t->hf.metaspace = aps && !json_is_true(aps) ? 3 : 1;
        else if (!strcmp(scheme, "always")) t->hf.metaspace = 1;
        else if (!strcmp(scheme, "first")) t->hf.metaspace = 2;
        else if (!strcmp(scheme, "never")) t->hf.metaspace = 3;
        else return refuse(t, "pre_tokenizer Metaspace prepend_scheme", scheme);
        json_t * split = json_object_get(p, "split");
        if (!split || json_is_true(split)) return add_regex(t, "[^" META "]+|" META "[^" META "]*", strlen("[^" META "]+|" META "[^" META "]*"));
        return GAZE_OK;
    }
    return refuse(t, "pre_tokenizer", ty);
}

// One token of a template: its single id, or -1 with an error.
static enum gaze_status template_special(struct tj * t, const json_t * pp, const json_t * item, int32_t * id) {
    const char * name = json_string_value(json_object_get(json_object_get(item, "SpecialToken"), "id"));
    json_t * ids = json_object_get(json_object_get(json_object_get(pp, "special_tokens"), name ? name : ""), "ids");
    if (!name || !json_is_array(ids) || json_array_size(ids) != 1 || !json_is_integer(json_array_get(ids, 0)))
        return gaze_error(GAZE_ERR_FORMAT, "%s: post_processor TemplateProcessing: special token without one id in special_tokens",
                          t->label);
    json_int_t v = json_integer_value(json_array_get(ids, 0));
    if (v < 0 || v > INT32_MAX) return gaze_error(GAZE_ERR_FORMAT, "%s: post_processor: id %lld out of range", t->label, (long long)v);
    *id = (int32_t)v;
    return GAZE_OK;
}

static enum gaze_status parse_post(struct tj * t, const json_t * p) {
    if (!p || json_is_null(p)) return GAZE_OK;
    const char * ty = type_of(p);
    if (!ty) return gaze_error(GAZE_ERR_FORMAT, "%s: post_processor: no \"type\"", t->label);
    if (!strcmp(ty, "Sequence")) {
        json_t * list = json_object_get(p, "processors"), * e;
        size_t i;
        if (!json_is_array(list)) return gaze_error(GAZE_ERR_FORMAT, "%s: post_processor Sequence: no \"processors\" array", t->label);
        json_array_foreach(list, i, e) {
            enum gaze_status s = parse_post(t, e);
            if (s) return s;
        }
        return GAZE_OK;
    }
    if (!strcmp(ty, "ByteLevel") || !strcmp(ty, "RobertaProcessing")) {   // offsets: trim_offsets
        t->hf.trim_offsets |= json_is_true(json_object_get(p, "trim_offsets"));
        t->hf.trim_prefix_space |= json_is_true(json_object_get(p, "add_prefix_space"));
        if (!strcmp(ty, "ByteLevel")) return GAZE_OK;
    }
    if (!strcmp(ty, "RobertaProcessing") || !strcmp(ty, "BertProcessing")) {
        // cls $A sep (RoBERTa: <s> A </s>; its pairs, <s> A </s></s> B </s>, are assembled by
        // the encoder models)
        for (int k = 0; k < 2; k++) {
            json_t * v = json_array_get(json_object_get(p, k ? "sep" : "cls"), 1);
            if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > INT32_MAX)
                return gaze_error(GAZE_ERR_FORMAT, "%s: post_processor %s: %s is not [token, id] with an id in 0..%d",
                                  t->label, ty, k ? "sep" : "cls", INT32_MAX);
            *(k ? &t->eos : &t->bos) = (int32_t)json_integer_value(v);
        }
        return GAZE_OK;
    }
    if (!strcmp(ty, "TemplateProcessing")) {
        // single: [special]? $A [special]?: a BOS and / or an EOS around the text
        json_t * single = json_object_get(p, "single");
        size_t n = json_array_size(single), a = n;
        for (size_t i = 0; i < n; i++) if (json_object_get(json_array_get(single, i), "Sequence")) { a = i; break; }
        if (a == n || a > 1 || n - a > 2) return refuse(t, "post_processor TemplateProcessing shape", "other than [BOS] $A [EOS]");
        enum gaze_status s;
        if (a == 1 && (s = template_special(t, p, json_array_get(single, 0), &t->bos))) return s;
        if (n - a == 2 && (s = template_special(t, p, json_array_get(single, a + 1), &t->eos))) return s;
        return GAZE_OK;
    }
    if (!strcmp(ty, "RobertaProcessing")) {   // BART, RoBERTa: <s> $A </s> (trim_offsets: offsets only)
        json_t * cls = json_array_get(json_object_get(p, "cls"), 1), * sep = json_array_get(json_object_get(p, "sep"), 1);
        if (!json_is_integer(cls) || !json_is_integer(sep) || json_integer_value(cls) < 0 || json_integer_value(sep) < 0 ||
            json_integer_value(cls) > INT32_MAX || json_integer_value(sep) > INT32_MAX)
            return gaze_error(GAZE_ERR_FORMAT, "%s: post_processor RobertaProcessing: cls / sep without a token id", t->label);
        t->bos = (int32_t)json_integer_value(cls);
        t->eos = (int32_t)json_integer_value(sep);
        return GAZE_OK;
    }
    return refuse(t, "post_processor", ty);
}

static bool is_byte_token(const char * s, size_t n) {
    if (n != 6 || memcmp(s, "<0x", 3) || s[5] != '>') return false;
    for (int k = 3; k < 5; k++)
        if (!((s[k] >= '0' && s[k] <= '9') || (s[k] >= 'A' && s[k] <= 'F'))) return false;
    return true;
}

enum gaze_status tok_json_bpe(const json_t * root, const char * label, const struct tok_config * cfg,
                              struct gaze_bpe ** out, struct tok_json_info * info) {
    struct tj t = { .label = label, .bos = -1, .eos = -1 };
    t.hf.unk = -1;
    info->spm = false;
    info->unk = info->pad = -1;
    const char ** toks = NULL, ** mp = NULL;
    size_t * tl = NULL, * ml = NULL;
    int32_t * types = NULL;
    struct bpe_hf_added * added = NULL;
    char ** mown = NULL;
    size_t n_merges = 0;
    enum gaze_status s;
    const json_t * model = json_object_get(root, "model");
    json_t * vocab = json_object_get(model, "vocab"), * merges = json_object_get(model, "merges");
    json_t * at = json_object_get(root, "added_tokens");
    if (!json_is_object(vocab)) return gaze_error(GAZE_ERR_FORMAT, "%s: model.vocab: expected an object", label);
    if (!json_is_array(merges)) return gaze_error(GAZE_ERR_FORMAT, "%s: model.merges: expected an array", label);
    if (at && !json_is_null(at) && !json_is_array(at)) return gaze_error(GAZE_ERR_FORMAT, "%s: added_tokens: expected an array", label);
    // model options
    json_t * dropout = json_object_get(model, "dropout");
    if (dropout && !json_is_null(dropout) && json_number_value(dropout) != 0) return refuse(&t, "model option", "dropout");
    const char * csp = json_string_value(json_object_get(model, "continuing_subword_prefix"));
    if (csp && *csp) return refuse(&t, "model option", "continuing_subword_prefix");
    const char * eow = json_string_value(json_object_get(model, "end_of_word_suffix"));
    if (eow && strlen(eow) >= sizeof t.hf.eow) return refuse(&t, "end_of_word_suffix longer than 15 bytes:", eow);
    if (eow) snprintf(t.hf.eow, sizeof t.hf.eow, "%s", eow);
    t.hf.fuse_unk = json_is_true(json_object_get(model, "fuse_unk"));
    t.hf.byte_fallback = json_is_true(json_object_get(model, "byte_fallback"));
    t.hf.ignore_merges = json_is_true(json_object_get(model, "ignore_merges"));
    if ((s = parse_normalizer(&t, json_object_get(root, "normalizer"))) ||
        (s = parse_pre(&t, json_object_get(root, "pre_tokenizer"), true)) ||
        (s = parse_post(&t, json_object_get(root, "post_processor")))) goto done;
    if (t.hf.eow[0] && !t.hf.byte_level) { s = refuse(&t, "end_of_word_suffix without", "ByteLevel"); goto done; }
    if (t.hf.byte_level && (t.hf.prepend || t.hf.replace_space || t.hf.metaspace))
        { s = refuse(&t, "ByteLevel together with", "Metaspace/Prepend/Replace"); goto done; }
    // the id space: vocab and added tokens
    int64_t V = 0;
    const char * key;
    json_t * val;
    json_object_foreach(vocab, key, val) {
        if (!json_is_integer(val) || json_integer_value(val) < 0 || json_integer_value(val) >= INT32_MAX) {
            s = gaze_error(GAZE_ERR_FORMAT, "%s: model.vocab: an id is not an integer in 0..%d", label, INT32_MAX - 1);
            goto done;
        }
        if (json_integer_value(val) >= V) V = json_integer_value(val) + 1;
    }
    size_t n_added = json_array_size(at), i;
    json_array_foreach(at, i, val) {
        json_t * id = json_object_get(val, "id");
        if (!json_is_integer(id) || json_integer_value(id) < 0 || json_integer_value(id) >= INT32_MAX || !json_is_string(json_object_get(val, "content"))) {
            s = gaze_error(GAZE_ERR_FORMAT, "%s: added_tokens[%zu]: needs an integer id in 0..%d and a string content", label, i, INT32_MAX - 1);
            goto done;
        }
        if (json_integer_value(id) >= V) V = json_integer_value(id) + 1;
        if (json_is_true(json_object_get(val, "single_word"))) { s = refuse(&t, "added token option", "single_word"); goto done; }
    }
    if (V == 0) { s = gaze_error(GAZE_ERR_FORMAT, "%s: the vocabulary is empty", label); goto done; }
    // ids are dense (0..V-1): more ids than entries means gaps, refused before any allocation
    if ((size_t)V > json_object_size(vocab) + n_added) {
        s = gaze_error(GAZE_ERR_FORMAT, "%s: ids run to %lld but there are only %zu vocab and %zu added tokens", label,
                       (long long)V - 1, json_object_size(vocab), n_added);
        goto done;
    }
    toks = calloc((size_t)V, sizeof *toks);
    tl = calloc((size_t)V, sizeof *tl);
    types = calloc((size_t)V, sizeof *types);
    added = calloc(n_added + 1, sizeof *added);
    if (!toks || !tl || !types || !added) { s = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory for %lld tokens", label, (long long)V); goto done; }
    json_object_foreach(vocab, key, val) {
        int32_t id = (int32_t)json_integer_value(val);
        if (toks[id]) { s = gaze_error(GAZE_ERR_FORMAT, "%s: model.vocab: id %d given to two tokens", label, id); goto done; }
        toks[id] = key;
        tl[id] = strlen(key);
        types[id] = !t.hf.byte_level && is_byte_token(key, tl[id]) ? GAZE_BPE_TOKEN_TYPE_BYTE : GAZE_BPE_TOKEN_TYPE_NORMAL;
    }
    json_array_foreach(at, i, val) {
        int32_t id = (int32_t)json_integer_value(json_object_get(val, "id"));
        json_t * c = json_object_get(val, "content");
        if (toks[id] && (tl[id] != json_string_length(c) || memcmp(toks[id], json_string_value(c), tl[id]))) {
            s = gaze_error(GAZE_ERR_FORMAT, "%s: added_tokens[%zu]: id %d is already the vocab token of another text", label, i, id);
            goto done;
        }
        toks[id] = json_string_value(c);
        tl[id] = json_string_length(c);
        bool special = json_is_true(json_object_get(val, "special"));
        types[id] = special ? GAZE_BPE_TOKEN_TYPE_CONTROL : GAZE_BPE_TOKEN_TYPE_USER_DEFINED;
        added[i] = (struct bpe_hf_added){ id, special, json_is_true(json_object_get(val, "lstrip")),
                                          json_is_true(json_object_get(val, "rstrip")),
                                          json_is_true(json_object_get(val, "normalized")) };
        // a normalized added token is found in the lowercased text: the engine compares the
        // input's ASCII letters lowercased, exact for ASCII contents without whitespace, 'k'
        // (U+212A KELVIN SIGN lowercases to it) or a final 'i' (U+0130 -> "i\u0307")
        if (added[i].normalized && t.hf.lowercase) {
            const char * ct = json_string_value(json_object_get(val, "content"));
            size_t cl = strlen(ct);
            bool ok = cl > 0 && ct[cl - 1] != 'i';
            for (size_t j = 0; ok && j < cl; j++) ok = (unsigned char)ct[j] < 0x80 && ct[j] != 'k' && ct[j] > ' ';
            if (!ok) { s = refuse(&t, "normalized added token (lowercase normalizer) with non-ASCII, whitespace, 'k' or a final 'i':", ct); goto done; }
        }
    }
    for (int64_t id = 0; id < V; id++)
        if (!toks[id]) { s = gaze_error(GAZE_ERR_FORMAT, "%s: no token has id %lld (ids must be 0..%lld)", label, (long long)id, (long long)V - 1); goto done; }
    const char * unk = json_string_value(json_object_get(model, "unk_token"));
    if (unk) {
        json_t * u = json_object_get(vocab, unk);
        if (json_is_integer(u)) t.hf.unk = (int32_t)json_integer_value(u);
        for (size_t k = 0; t.hf.unk < 0 && k < n_added; k++)
            if (tl[added[k].id] == strlen(unk) && !memcmp(toks[added[k].id], unk, tl[added[k].id])) t.hf.unk = added[k].id;
        if (t.hf.unk < 0) { s = gaze_error(GAZE_ERR_FORMAT, "%s: model.unk_token is not a token", label); goto done; }
    }
    // merges: "left right" strings, or [left, right] pairs (tokenizers >= 0.20)
    n_merges = json_array_size(merges);
    mp = calloc(n_merges + 1, sizeof *mp);
    ml = calloc(n_merges + 1, sizeof *ml);
    mown = calloc(n_merges + 1, sizeof *mown);
    if (!mp || !ml || !mown) { s = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory for %zu merges", label, n_merges); goto done; }
    json_array_foreach(merges, i, val) {
        if (json_is_string(val)) { mp[i] = json_string_value(val); ml[i] = json_string_length(val); continue; }
        json_t * l = json_array_get(val, 0), * r = json_array_get(val, 1);
        if (!json_is_array(val) || json_array_size(val) != 2 || !json_is_string(l) || !json_is_string(r)) {
            s = gaze_error(GAZE_ERR_FORMAT, "%s: model.merges[%zu]: expected \"a b\" or [\"a\", \"b\"]", label, i);
            goto done;
        }
        size_t ll = json_string_length(l), rl = json_string_length(r);
        // the engine splits "a b" at the first space after the first byte
        if (ll == 0 || memchr(json_string_value(l) + 1, ' ', ll - 1)) { s = refuse(&t, "merge whose left part holds a space:", json_string_value(l)); goto done; }
        if (!(mown[i] = malloc(ll + rl + 2))) { s = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", label); goto done; }
        memcpy(mown[i], json_string_value(l), ll);
        mown[i][ll] = ' ';
        memcpy(mown[i] + ll + 1, json_string_value(r), rl);
        mp[i] = mown[i];
        ml[i] = ll + rl + 1;
    }
    struct gaze_bpe_vocab v = { 0 };
    v.n_tokens = V; v.tokens = toks; v.token_lens = tl; v.token_types = types;
    v.n_merges = (int64_t)n_merges; v.merges = mp; v.merge_lens = ml;
    // tokenizer_config.json, as transformers' Llama/Gemma fast tokenizers read it: bos_token /
    // eos_token name the ids where the post-processor has none, add_bos_token / add_eos_token
    // override whether encode adds them
    v.add_bos = t.bos >= 0;
    v.add_eos = t.eos >= 0;
    for (int k = 0; k < 2; k++) {
        int32_t * id = k ? &t.eos : &t.bos;
        const char * text = k ? cfg->eos : cfg->bos;
        for (int64_t j = 0; *id < 0 && text[0] && j < V; j++)
            if (tl[j] == strlen(text) && !memcmp(toks[j], text, tl[j])) *id = (int32_t)j;
        int32_t flag = k ? cfg->add_eos : cfg->add_bos;
        if (flag >= 0) *(k ? &v.add_eos : &v.add_bos) = flag;
    }
    v.bos_id = t.bos; v.eos_id = t.eos;
    t.hf.regex = (const char * const *)t.regex;
    t.hf.added = added;
    t.hf.n_added = (int32_t)n_added;
    if ((s = bpe_init_hf(out, &v, &t.hf))) goto done;
    info->spm = !t.hf.byte_level;
    info->unk = t.hf.unk;
done:
    for (int k = 0; k < t.hf.n_regex; k++) free(t.regex[k]);
    for (size_t k = 0; mown && k < n_merges; k++) free(mown[k]);
    free(mown); free(mp); free(ml); free(toks); free(tl); free(types); free(added);
    return s;
}

/* ---- Unigram ------------------------------------------------------------------------------ */

// The pre-tokenizer of a Unigram file: none, or Metaspace (alone or as a one-item Sequence).
static enum gaze_status unigram_pre(struct tj * t, const json_t * p, int * metaspace, bool * split) {
    *metaspace = 0;
    *split = false;
    if (!p || json_is_null(p)) return GAZE_OK;
    const char * ty = type_of(p);
    if (ty && !strcmp(ty, "Sequence")) {
        json_t * list = json_object_get(p, "pretokenizers");
        if (!json_is_array(list)) return gaze_error(GAZE_ERR_FORMAT, "%s: pre_tokenizer Sequence: no \"pretokenizers\" array", t->label);
        if (json_array_size(list) > 1) return refuse(t, "pre_tokenizer Sequence (with a Unigram model) of", "more than Metaspace");
        return unigram_pre(t, json_array_get(list, 0), metaspace, split);
    }
    if (!ty || strcmp(ty, "Metaspace")) return refuse(t, "pre_tokenizer (with a Unigram model)", ty);
    const char * rep = json_string_value(json_object_get(p, "replacement"));
    if (!rep || strcmp(rep, META)) return refuse(t, "pre_tokenizer Metaspace replacement", rep);
    const char * scheme = json_string_value(json_object_get(p, "prepend_scheme"));
    json_t * aps = json_object_get(p, "add_prefix_space");   // before tokenizers 0.15
    if (!scheme) *metaspace = aps && !json_is_true(aps) ? 3 : 1;
    else if (!strcmp(scheme, "always")) *metaspace = 1;
    else if (!strcmp(scheme, "first")) *metaspace = 2;
    else if (!strcmp(scheme, "never")) *metaspace = 3;
    else return refuse(t, "pre_tokenizer Metaspace prepend_scheme", scheme);
    json_t * sp = json_object_get(p, "split");
    *split = !sp || json_is_true(sp);
    return GAZE_OK;
}

enum gaze_status tok_json_unigram(const json_t * root, const char * label, const struct tok_config * cfg,
                                  struct gaze_bpe ** out, struct tok_json_info * info) {
    struct tj t = { .label = label, .bos = -1, .eos = -1 };
    t.hf.unk = -1;
    info->spm = true;
    info->unk = info->pad = -1;
    const json_t * model = json_object_get(root, "model");
    json_t * vocab = json_object_get(model, "vocab"), * at = json_object_get(root, "added_tokens"), * val;
    const char * key;
    json_object_foreach((json_t *)model, key, val)
        if (strcmp(key, "type") && strcmp(key, "vocab") && strcmp(key, "unk_id") && strcmp(key, "byte_fallback"))
            return refuse(&t, "Unigram model option", key);
    if (!json_is_array(vocab) || !json_array_size(vocab))
        return gaze_error(GAZE_ERR_FORMAT, "%s: model.vocab: expected a non-empty array of [piece, score]", label);
    if (at && !json_is_null(at) && !json_is_array(at)) return gaze_error(GAZE_ERR_FORMAT, "%s: added_tokens: expected an array", label);
    size_t nv = json_array_size(vocab), n_added = json_array_size(at), i;
    if (nv >= INT32_MAX / 2) return gaze_error(GAZE_ERR_LIMIT, "%s: model.vocab: %zu pieces", label, nv);
    json_t * uj = json_object_get(model, "unk_id");
    int32_t unk = -1;
    if (uj && !json_is_null(uj)) {
        if (!json_is_integer(uj) || json_integer_value(uj) < 0 || (size_t)json_integer_value(uj) >= nv)
            return gaze_error(GAZE_ERR_FORMAT, "%s: model.unk_id: expected an id of the %zu-piece vocab", label, nv);
        unk = (int32_t)json_integer_value(uj);
    }
    int metaspace;
    bool split;
    enum gaze_status s;
    struct tok_norm * norm = NULL;
    struct tok_unigram * uni = NULL;
    const char ** toks = NULL;
    size_t * tl = NULL;
    int32_t * types = NULL;
    double * scores = NULL;
    struct bpe_hf_added * added = NULL;
    if ((s = unigram_pre(&t, json_object_get(root, "pre_tokenizer"), &metaspace, &split)) ||
        (s = parse_post(&t, json_object_get(root, "post_processor"))) ||
        (s = tok_norm_parse(json_object_get(root, "normalizer"), label, &norm))) goto done;
    // the id space: the pieces, then added tokens (which may name pieces or extend the vocab)
    size_t V = nv;
    json_array_foreach(at, i, val) {
        json_t * id = json_object_get(val, "id");
        if (!json_is_integer(id) || json_integer_value(id) < 0 || json_integer_value(id) >= INT32_MAX / 2 ||
            !json_is_string(json_object_get(val, "content"))) {
            s = gaze_error(GAZE_ERR_FORMAT, "%s: added_tokens[%zu]: needs an integer id in 0..%d and a string content", label, i, INT32_MAX / 2 - 1);
            goto done;
        }
        if ((size_t)json_integer_value(id) >= V) V = (size_t)json_integer_value(id) + 1;
        if (json_is_true(json_object_get(val, "single_word"))) { s = refuse(&t, "added token option", "single_word"); goto done; }
        if (json_is_true(json_object_get(val, "normalized")) && !json_is_true(json_object_get(val, "special")))
            { s = refuse(&t, "added token option (with a Unigram model)", "normalized"); goto done; }
    }
    if (V > nv + n_added) {
        s = gaze_error(GAZE_ERR_FORMAT, "%s: ids run to %zu but there are only %zu pieces and %zu added tokens", label, V - 1, nv, n_added);
        goto done;
    }
    toks = calloc(V, sizeof *toks);
    tl = calloc(V, sizeof *tl);
    types = calloc(V, sizeof *types);
    scores = calloc(nv, sizeof *scores);
    added = calloc(n_added + 1, sizeof *added);
    if (!toks || !tl || !types || !scores || !added) { s = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory for %zu pieces", label, V); goto done; }
    json_array_foreach(vocab, i, val) {
        json_t * p = json_array_get(val, 0), * sc = json_array_get(val, 1);
        if (!json_is_array(val) || json_array_size(val) != 2 || !json_is_string(p) || !json_is_number(sc) ||
            !isfinite(json_number_value(sc))) {
            s = gaze_error(GAZE_ERR_FORMAT, "%s: model.vocab[%zu]: expected [piece, finite score]", label, i);
            goto done;
        }
        toks[i] = json_string_value(p);
        tl[i] = json_string_length(p);
        scores[i] = json_number_value(sc);
        types[i] = is_byte_token(toks[i], tl[i]) && json_is_true(json_object_get(model, "byte_fallback")) ? GAZE_BPE_TOKEN_TYPE_BYTE
                   : (int32_t)i == unk ? GAZE_BPE_TOKEN_TYPE_UNKNOWN : GAZE_BPE_TOKEN_TYPE_NORMAL;
    }
    json_array_foreach(at, i, val) {
        int32_t id = (int32_t)json_integer_value(json_object_get(val, "id"));
        json_t * c = json_object_get(val, "content");
        if (toks[id] && (tl[id] != json_string_length(c) || memcmp(toks[id], json_string_value(c), tl[id]))) {
            s = gaze_error(GAZE_ERR_FORMAT, "%s: added_tokens[%zu]: id %d is already the piece of another text", label, i, id);
            goto done;
        }
        toks[id] = json_string_value(c);
        tl[id] = json_string_length(c);
        bool special = json_is_true(json_object_get(val, "special"));
        if (id != unk) types[id] = special ? GAZE_BPE_TOKEN_TYPE_CONTROL : GAZE_BPE_TOKEN_TYPE_USER_DEFINED;
        added[i] = (struct bpe_hf_added){ id, special, json_is_true(json_object_get(val, "lstrip")),
                                          json_is_true(json_object_get(val, "rstrip")), false };
    }
    for (size_t id = 0; id < V; id++)
        if (!toks[id]) { s = gaze_error(GAZE_ERR_FORMAT, "%s: no token has id %zu (ids must be 0..%zu)", label, id, V - 1); goto done; }
    struct tok_unigram_vocab uv = { (int32_t)nv, toks, tl, scores, unk, json_is_true(json_object_get(model, "byte_fallback")) };
    s = tok_unigram_init(&uni, &uv, norm, metaspace, split, label);
    norm = NULL;   // taken
    if (s) goto done;
    struct gaze_bpe_vocab v = { 0 };
    v.n_tokens = (int64_t)V; v.tokens = toks; v.token_lens = tl; v.token_types = types;
    v.add_bos = t.bos >= 0;
    v.add_eos = t.eos >= 0;
    for (int k = 0; k < 2; k++) {   // tokenizer_config.json's flags, as for BPE
        int32_t flag = k ? cfg->add_eos : cfg->add_bos;
        if (flag >= 0 && (k ? t.eos : t.bos) >= 0) *(k ? &v.add_eos : &v.add_bos) = flag;
    }
    v.bos_id = t.bos; v.eos_id = t.eos;
    t.hf.unk = unk;
    t.hf.byte_fallback = uv.byte_fallback;
    t.hf.added = added;
    t.hf.n_added = (int32_t)n_added;
    t.hf.unigram = uni;
    uni = NULL;   // bpe_init_hf takes it
    if ((s = bpe_init_hf(out, &v, &t.hf))) goto done;
    info->unk = unk;
    for (size_t id = 0; id < V && info->pad < 0; id++)
        if (tl[id] == 5 && !memcmp(toks[id], "<pad>", 5)) info->pad = (int32_t)id;
done:
    tok_norm_free(norm);
    tok_unigram_free(uni);
    free(toks); free(tl); free(types); free(scores); free(added);
    return s;
}

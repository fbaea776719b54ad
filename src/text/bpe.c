// Byte-level BPE (GPT-2 family; GGUF tokenizer.ggml.model = "gpt2") with llama.cpp semantics
// (src/llama-vocab.cpp, llm_tokenizer_bpe_session):
//   1. special tokens (control, user-defined, unknown) are cut out of the raw text, longest
//      first, before anything else (tokenizer_st_partition);
//   2. the pre-tokenizer named by tokenizer.ggml.pre: a list of regexes, each splitting every
//      piece of the previous one; matches and the gaps between them are both pieces;
//   3. each piece's bytes start as byte tokens (GPT-2 bytes_to_unicode) and are merged by rank,
//      lowest first, ties to the leftmost pair: a min-heap of adjacent pairs over a linked list
//      of symbols, O(n log n) in the piece length (a naive rescan is quadratic on 'a' x 10^6).
// The regexes run on PCRE2 (UTF + UCP, JIT when available) with \s widened to the Unicode
// White_Space property, which is what llama.cpp's tables and HF's Oniguruma call whitespace.
// Checked against llama.cpp (ids) and HF tokenizers (ids and pre-token boundaries) by
// tests/test_bpe.c on fixtures from tests/reference/gen_bpe_fixtures.py.
#define _GNU_SOURCE   // memmem
#include "core/core.h"
#include "core/hash.h"
#include "text/bpe.h"
#include "text/unigram.h"
#include "text/utf8.h"
#include <pcre2.h>
#include <utf8proc.h>
#include <stdatomic.h>
#include <string.h>

#define BPE_MAX_TOKEN_BYTES ((size_t)1 << 20)   // longest accepted token text (1 MiB)
#define BPE_MAX_INPUT       ((size_t)1 << 26)   // longest accepted input text (64 MiB)
#define BPE_MAX_REGEX       4

/* ------------------------------------------------------------------------------------------
 * Pre-tokenizers: the regex lists of llama.cpp's llm_tokenizer_bpe, copied verbatim.
 * ---------------------------------------------------------------------------------------- */

#define RE_GPT2 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"

struct bpe_pre_def {
    const char * name;                    // canonical name
    const char * regex[BPE_MAX_REGEX];    // applied in order; NULL-terminated
    bool         ignore_merges;           // a piece that is itself a token is taken whole
    bool         add_bos;                 // llama.cpp's add_bos when the file does not say
};

static const struct bpe_pre_def k_pre_defs[] = {
    // LLAMA_VOCAB_PRE_TYPE_DEFAULT
    { "default", { "[\\p{P}\\$\\+<=>\\^~\\|]+", RE_GPT2, "\\p{N}+", "[0-9][0-9][0-9]" }, false, false },
    // LLAMA_VOCAB_PRE_TYPE_GPT2
    { "gpt-2", { RE_GPT2 }, false, false },
    // LLAMA_VOCAB_PRE_TYPE_SMOLLM (shared with starcoder, refact, command-r, ...): digits alone
    { "smollm", { "\\p{N}", RE_GPT2 }, false, false },
    // LLAMA_VOCAB_PRE_TYPE_LLAMA3 (the tokenizer.json (?i:'s|...) spelled case by case)
    { "llama3", { "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+" }, true, true },
    // LLAMA_VOCAB_PRE_TYPE_QWEN2
    { "qwen2", { "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+" }, false, false },
};

// tokenizer.ggml.pre values accepted, each as llama.cpp maps it (plus "gpt2", the obvious
// spelling of llama.cpp's "gpt-2").
static const struct { const char * name; int def; } k_pre_names[] = {
    { "default", 0 }, { "gpt-2", 1 }, { "gpt2", 1 }, { "smollm", 2 },
    { "llama3", 3 }, { "llama-v3", 3 }, { "llama-bpe", 3 }, { "qwen2", 4 },
};
#define N_PRE_NAMES (sizeof k_pre_names / sizeof k_pre_names[0])

// Unicode White_Space (PropList.txt): llama.cpp's unicode_set_whitespace and Oniguruma's \s.
// PCRE2's UCP \s lacks U+0085 (it is \p{Z} plus the ASCII controls).
#define WS_CLASS "\\t-\\r \\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}"

// Copies re with \s -> [WS] (or WS inside a class) and \S -> [^WS]. NULL on allocation failure.
static char * regex_expand_ws(const char * re) {
    size_t n = strlen(re), cap = n * (sizeof WS_CLASS + 3) + 1;
    char * out = malloc(cap), * o = out;
    if (!out) return NULL;
    bool in_class = false;
    for (size_t i = 0; i < n; i++) {
        char c = re[i];
        if (c == '\\' && i + 1 < n) {
            char e = re[i + 1];
            if (e == 's' || e == 'S') {
                if (in_class && e == 'S') { free(out); return NULL; }   // [\S]: refused by the caller
                const char * pre = in_class ? "" : (e == 's' ? "[" : "[^");
                o += sprintf(o, "%s%s%s", pre, WS_CLASS, in_class ? "" : "]");
            } else {
                *o++ = c; *o++ = e;
            }
            i++;
            continue;
        }
        if (c == '[' && !in_class) {
            in_class = true;
            *o++ = c;
            if (i + 1 < n && re[i + 1] == '^') *o++ = re[++i];
            continue;
        }
        if (c == ']' && in_class) in_class = false;
        *o++ = c;
    }
    *o = 0;
    return out;
}

/* ------------------------------------------------------------------------------------------
 * GPT-2 bytes_to_unicode: printable Latin-1 bytes stand for themselves, the other 68 bytes
 * for U+0100.. in byte order, so every byte has a visible, non-space character.
 * ---------------------------------------------------------------------------------------- */

struct bpe_byte_map {
    uint16_t cp[256];      // byte -> code point
    int16_t  byte[324];    // code point -> byte, -1 if none
};

static void byte_map_init(struct bpe_byte_map * m) {
    for (int i = 0; i < 324; i++) m->byte[i] = -1;
    int extra = 0;
    for (int b = 0; b < 256; b++) {
        bool keep = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
        m->cp[b] = (uint16_t)(keep ? b : 256 + extra++);
        m->byte[m->cp[b]] = (int16_t)b;
    }
}

/* ------------------------------------------------------------------------------------------
 * The tokenizer object
 * ---------------------------------------------------------------------------------------- */

struct bpe_merge_slot {       // open-addressing entry: the pair (left, right) merges to result
    uint64_t key;             // (uint64_t)left << 32 | right; UINT64_MAX = empty
    int32_t  rank;            // index in tokenizer.ggml.merges
    int32_t  result;          // id of left+right
};

struct bpe_frag { int32_t id; size_t off, len; };   // id >= 0: special token; -1: raw text

// Per-call working memory. The tokenizer owns one (reused: allocation happens once per size);
// a caller that finds it busy on another thread gets a private one for that call.
struct bpe_scratch {
    pcre2_match_data *    md;
    pcre2_match_context * mctx;
    pcre2_jit_stack *     jit;
    char *   text;  size_t text_cap;      // [n'] input with invalid UTF-8 replaced
    size_t * ob;    size_t ob_cap;        // [n'] original start of each byte's source unit
    size_t * oe;    size_t oe_cap;        // [n'] original end of each byte's source unit
    struct bpe_frag * fa, * fb; size_t fa_cap, fb_cap;   // special-token partition (ping-pong)
    int32_t * sym;  size_t sym_cap;       // [L] symbol token ids (-1: merged away)
    int32_t * prev; size_t prev_cap;      // [L]
    int32_t * next; size_t next_cap;      // [L]
    uint64_t * heap; size_t heap_cap;     // candidate merges: rank << 32 | left symbol
    char *   enc;   size_t enc_cap;       // [2L] a piece in byte-level encoding (whole-token lookup)
    char *   sp;    size_t sp_cap;        // SPM: a fragment with " " -> U+2581 (and the prefix)
    size_t * spb;   size_t spb_cap;       // SPM: [sp] start of each byte's source in the text
    size_t * spe;   size_t spe_cap;       // SPM: [sp] end of each byte's source in the text
    int32_t * slen; size_t slen_cap;      // SPM: [L] byte length of each symbol (0: merged away)
    struct tok_uni_scratch * uni;         // Unigram: its own working memory, made on first use
};

struct gaze_bpe {
    int32_t   n_tokens;                    // V
    char *    text;                        // all token texts, each NUL-terminated
    size_t *  text_off;                    // [V + 1] offsets into text (lengths exclude the NUL)
    uint8_t * type;                        // [V] enum gaze_bpe_token_type
    char *    piece;                       // decoded bytes of all tokens
    size_t *  piece_off;                   // [V + 1]
    int32_t * tok_hash;                    // [tok_mask + 1] token ids by text; -1 empty
    uint64_t  tok_mask;
    struct bpe_merge_slot * merge;         // [merge_mask + 1]
    uint64_t  merge_mask;
    int64_t   n_merges;
    struct bpe_byte_map map;               // GPT-2 bytes_to_unicode and its inverse
    int32_t   byte_tok[256];               // token of each single byte, -1 if the vocab has none
    int32_t   byte_tok_eow[256];           // hfo.eow: token of each byte + the suffix (ending a
                                           //   pre-token), else unk, else -1
    int32_t * special;                     // [n_special] ids, longest text first
    int32_t   n_special;
    int       pre;                         // index in k_pre_defs
    pcre2_code * re[BPE_MAX_REGEX];
    int       n_re;
    bool      jit;                         // every regex JIT-compiled
    int32_t   bos, eos;                    // -1: none
    bool      add_bos, add_eos;
    bool      spm;                         // SentencePiece (GGUF "llama"): merges by score
    bool      add_space_prefix;            // SPM: " " before text at the start / after a special
    uint32_t * score_key;                  // SPM: [V] ~order-preserving bits of the score
    int32_t   spm_byte[256];               // SPM: byte-fallback token of each byte, -1 if none
    bool      ignore_merges;               // a piece that is itself a token is taken whole
    bool      unescape;                    // pieces: U+2581 -> " " (SPM, tokenizer.json Metaspace)
    bool      hf;                          // tokenizer.json semantics (the fields below)
    struct bpe_hf hfo;                     // (its regex and added pointers are not kept)
    struct tok_unigram * uni;              // Unigram model, or NULL (BPE)
    struct bpe_hf_added * added;           // [n_added] by id
    int32_t * added_first;                 // [257] added tokens whose text starts with byte c:
    int32_t * added_by_first;              //   added_by_first[added_first[c] .. added_first[c+1])
    char      pre_name[16];                // gaze_bpe_pre for tokenizer.json: "tokenizer.json"
    atomic_flag scratch_busy;
    struct bpe_scratch scratch;
};

/* ---- small helpers ------------------------------------------------------------------------ */

// Printable, bounded rendering of untrusted bytes for error messages.
static const char * show(char * buf, size_t cap, const char * s, size_t n) {
    size_t o = 0;
    for (size_t i = 0; i < n && o + 8 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') buf[o++] = (char)c;
        else o += (size_t)snprintf(buf + o, cap - o, "\\x%02X", c);
        if (i + 1 < n && o + 8 >= cap) { memcpy(buf + o, "...", 4); return buf; }
    }
    buf[o] = 0;
    return buf;
}

static bool grow(void * pp, size_t * cap, size_t need, size_t elem) {
    if (need <= *cap) return true;
    size_t c = *cap ? *cap : 64;
    while (c < need) { if (c > SIZE_MAX / 2) { c = need; break; } c *= 2; }
    size_t bytes;
    if (gaze_mul_ovf(c, elem, &bytes)) return false;
    void * q = realloc(*(void **)pp, bytes);
    if (!q) return false;
    *(void **)pp = q;
    *cap = c;
    return true;
}

// Keyed (core/hash.c): a vocabulary or merge list cannot be made to collide.
static uint64_t hash_bytes(const char * s, size_t n) { return gaze_hash(s, n); }

static uint64_t hash_pair(uint64_t key) { return gaze_hash_u64(key); }

static inline const char * tok_text(const struct gaze_bpe * b, int32_t id, size_t * len) {
    *len = b->text_off[id + 1] - b->text_off[id] - 1;
    return b->text + b->text_off[id];
}

static int32_t tok_lookup(const struct gaze_bpe * b, const char * s, size_t n) {
    if (!b->tok_hash) return -1;
    for (uint64_t i = hash_bytes(s, n) & b->tok_mask;; i = (i + 1) & b->tok_mask) {
        int32_t id = b->tok_hash[i];
        if (id < 0) return -1;
        size_t len;
        const char * t = tok_text(b, id, &len);
        if (len == n && memcmp(t, s, n) == 0) return id;
    }
}

static const struct bpe_merge_slot * merge_lookup(const struct gaze_bpe * b, int32_t l, int32_t r) {
    uint64_t key = (uint64_t)(uint32_t)l << 32 | (uint32_t)r;
    for (uint64_t i = hash_pair(key) & b->merge_mask;; i = (i + 1) & b->merge_mask) {
        const struct bpe_merge_slot * s = &b->merge[i];
        if (s->key == key) return s;
        if (s->key == UINT64_MAX) return NULL;
    }
}

static uint64_t table_size(uint64_t n) {   // power of two >= 2n (load factor <= 0.5)
    uint64_t c = 16;
    while (c < 2 * n) c *= 2;
    return c;
}

/* ------------------------------------------------------------------------------------------
 * init / free
 * ---------------------------------------------------------------------------------------- */

static void scratch_free(struct bpe_scratch * s) {
    if (s->md) pcre2_match_data_free(s->md);
    if (s->mctx) pcre2_match_context_free(s->mctx);
    if (s->jit) pcre2_jit_stack_free(s->jit);
    free(s->text); free(s->ob); free(s->oe); free(s->fa); free(s->fb);
    free(s->sym); free(s->prev); free(s->next); free(s->heap); free(s->enc);
    free(s->sp); free(s->spb); free(s->spe); free(s->slen);
    tok_uni_scratch_free(s->uni);
    free(s->uni);
    memset(s, 0, sizeof *s);
}

static enum gaze_status scratch_init(struct bpe_scratch * s) {
    memset(s, 0, sizeof *s);
    s->md = pcre2_match_data_create(4, NULL);
    s->mctx = pcre2_match_context_create(NULL);
    // JIT matching runs on its own stack; long subjects with backtracking need more than the
    // default 32 KiB. 16 MiB bounds it (an exhausted stack is GAZE_ERR_LIMIT, never a crash).
    s->jit = pcre2_jit_stack_create(32 * 1024, 16 * 1024 * 1024, NULL);
    if (!s->md || !s->mctx || !s->jit) {
        scratch_free(s);
        return gaze_error(GAZE_ERR_NOMEM, "bpe: out of memory for regex match data");
    }
    pcre2_jit_stack_assign(s->mctx, NULL, s->jit);
    return GAZE_OK;
}

void gaze_bpe_free(struct gaze_bpe * b) {
    if (!b) return;
    for (int i = 0; i < b->n_re; i++) pcre2_code_free(b->re[i]);
    scratch_free(&b->scratch);
    free(b->text); free(b->text_off); free(b->type); free(b->piece); free(b->piece_off);
    free(b->tok_hash); free(b->merge); free(b->special); free(b->score_key);
    free(b->added); free(b->added_first); free(b->added_by_first);
    tok_unigram_free(b->uni);
    free(b);
}

struct bpe_special_key { size_t len; int32_t id; };

static int special_cmp(const void * pa, const void * pb) {
    const struct bpe_special_key * x = pa, * y = pb;
    if (x->len != y->len) return x->len > y->len ? -1 : 1;   // longest first, as llama.cpp
    return x->id < y->id ? -1 : x->id > y->id;                // then by id: deterministic order
}

// Validates and copies the token texts; builds the text -> id table.
static enum gaze_status init_tokens(struct gaze_bpe * b, const struct gaze_bpe_vocab * v) {
    char sb[96];
    if (v->n_tokens <= 0 || v->n_tokens > INT32_MAX)
        return gaze_error(GAZE_ERR_FORMAT, "bpe vocab: n_tokens = %lld: must be in 1..%d",
                          (long long)v->n_tokens, INT32_MAX);
    if (!v->tokens) return gaze_error(GAZE_ERR_INVALID_ARG, "bpe vocab: tokens is NULL");
    int32_t V = (int32_t)v->n_tokens;
    b->n_tokens = V;
    b->text_off = malloc(((size_t)V + 1) * sizeof *b->text_off);
    b->type = malloc((size_t)V);
    if (!b->text_off || !b->type) return gaze_error(GAZE_ERR_NOMEM, "bpe vocab: out of memory for %d tokens", V);
    size_t total = 0;
    for (int32_t i = 0; i < V; i++) {
        const char * t = v->tokens[i];
        size_t len = v->token_lens ? v->token_lens[i] : (t ? strnlen(t, BPE_MAX_TOKEN_BYTES + 1) : 0);
        if (!t && len) return gaze_error(GAZE_ERR_FORMAT, "bpe vocab: tokens[%d] is NULL with length %zu", i, len);
        if (len > BPE_MAX_TOKEN_BYTES)
            return gaze_error(GAZE_ERR_LIMIT, "bpe vocab: tokens[%d]: length %zu exceeds %zu bytes", i, len, BPE_MAX_TOKEN_BYTES);
        size_t bad = gaze_utf8_first_invalid(t, len);
        if (bad < len)
            return gaze_error(GAZE_ERR_FORMAT, "bpe vocab: tokens[%d] \"%s\": invalid UTF-8 at byte %zu", i,
                              show(sb, sizeof sb, t, len), bad);
        int32_t ty = v->token_types ? v->token_types[i] : GAZE_BPE_TOKEN_TYPE_NORMAL;
        if (ty < GAZE_BPE_TOKEN_TYPE_UNDEFINED || ty > GAZE_BPE_TOKEN_TYPE_BYTE)
            return gaze_error(GAZE_ERR_FORMAT, "bpe vocab: token_types[%d] = %d: not a token type (0..6)", i, ty);
        b->type[i] = (uint8_t)ty;
        b->text_off[i] = total;
        if (gaze_add_ovf(total, len + 1, &total))
            return gaze_error(GAZE_ERR_LIMIT, "bpe vocab: token texts overflow size_t");
    }
    b->text_off[V] = total;
    b->text = malloc(total);
    b->tok_mask = table_size((uint64_t)V) - 1;
    b->tok_hash = malloc((b->tok_mask + 1) * sizeof *b->tok_hash);
    if (!b->text || !b->tok_hash) return gaze_error(GAZE_ERR_NOMEM, "bpe vocab: out of memory for token texts (%zu bytes)", total);
    memset(b->tok_hash, 0xff, (b->tok_mask + 1) * sizeof *b->tok_hash);
    for (int32_t i = 0; i < V; i++) {
        size_t len = b->text_off[i + 1] - b->text_off[i] - 1;
        char * dst = b->text + b->text_off[i];
        if (len) memcpy(dst, v->tokens[i], len);
        dst[len] = 0;
        // Empty tokens (llama.cpp renames them "[EMPTY_<id>]") can never be produced; they are
        // kept for their id but left out of every lookup.
        if (!len) continue;
        uint64_t h = hash_bytes(dst, len) & b->tok_mask;
        for (;; h = (h + 1) & b->tok_mask) {
            gaze_hash_probes++;
            int32_t o = b->tok_hash[h];
            if (o < 0) { b->tok_hash[h] = i; break; }
            size_t olen;
            const char * ot = tok_text(b, o, &olen);
            if (olen == len && memcmp(ot, dst, len) == 0)
                return gaze_error(GAZE_ERR_FORMAT, "bpe vocab: tokens[%d] \"%s\" duplicates tokens[%d]", i,
                                  show(sb, sizeof sb, dst, len), o);
        }
        if (b->type[i] == GAZE_BPE_TOKEN_TYPE_BYTE) {   // "<0xXX>" (llama.cpp token_to_byte)
            bool ok = len == 6 && memcmp(dst, "<0x", 3) == 0 && dst[5] == '>';
            for (int k = 3; ok && k < 5; k++)
                ok = (dst[k] >= '0' && dst[k] <= '9') || (dst[k] >= 'a' && dst[k] <= 'f') || (dst[k] >= 'A' && dst[k] <= 'F');
            if (!ok)
                return gaze_error(GAZE_ERR_FORMAT, "bpe vocab: tokens[%d] \"%s\": a byte token (type 6) must be \"<0xXX>\"", i,
                                  show(sb, sizeof sb, dst, len));
        }
    }
    return GAZE_OK;
}

// What each token contributes to decoded text (llama.cpp token_to_piece with special = true).
static enum gaze_status init_pieces(struct gaze_bpe * b) {
    int32_t V = b->n_tokens;
    b->piece_off = malloc(((size_t)V + 1) * sizeof *b->piece_off);
    // a normal token's decoding is never longer than its text; a byte token's is 1 byte
    b->piece = malloc(b->text_off[V] ? b->text_off[V] : 1);
    if (!b->piece_off || !b->piece) return gaze_error(GAZE_ERR_NOMEM, "bpe vocab: out of memory for token pieces");
    size_t o = 0;
    for (int32_t i = 0; i < V; i++) {
        b->piece_off[i] = o;
        size_t len;
        const char * t = tok_text(b, i, &len);
        switch (b->type[i]) {
        case GAZE_BPE_TOKEN_TYPE_NORMAL:
            if (b->unescape) {   // llama_unescape_whitespace: U+2581 -> " " (never longer)
                for (size_t k = 0; k < len;) {
                    if (len - k >= 3 && memcmp(t + k, "\xE2\x96\x81", 3) == 0) { b->piece[o++] = ' '; k += 3; }
                    else b->piece[o++] = t[k++];
                }
                break;
            }
            // Byte-level inverse: each character stands for one byte. A character outside the
            // map (possible only in a token BPE can never produce) is kept as its UTF-8.
            for (size_t k = 0; k < len;) {
                uint32_t cp;
                int n = gaze_utf8_decode((const uint8_t *)t, len, k, &cp);   // validated at init
                if (cp < 324 && b->map.byte[cp] >= 0) b->piece[o++] = (char)b->map.byte[cp];
                else { memcpy(b->piece + o, t + k, (size_t)n); o += (size_t)n; }
                k += (size_t)n;
            }
            break;
        case GAZE_BPE_TOKEN_TYPE_CONTROL:
        case GAZE_BPE_TOKEN_TYPE_UNKNOWN:
        case GAZE_BPE_TOKEN_TYPE_USER_DEFINED:
            memcpy(b->piece + o, t, len);
            o += len;
            break;
        case GAZE_BPE_TOKEN_TYPE_BYTE:
            b->piece[o++] = (char)strtol((char[3]){ t[3], t[4], 0 }, NULL, 16);
            break;
        default:   // unused, undefined: nothing (llama.cpp returns an empty piece)
            break;
        }
    }
    b->piece_off[V] = o;
    return GAZE_OK;
}

static enum gaze_status init_merges(struct gaze_bpe * b, const struct gaze_bpe_vocab * v) {
    char sa[96], sb2[96];
    if (v->n_merges < 0 || v->n_merges > INT32_MAX)
        return gaze_error(GAZE_ERR_FORMAT, "bpe vocab: n_merges = %lld: must be in 0..%d", (long long)v->n_merges, INT32_MAX);
    if (v->n_merges && !v->merges) return gaze_error(GAZE_ERR_INVALID_ARG, "bpe vocab: merges is NULL with n_merges = %lld", (long long)v->n_merges);
    b->n_merges = v->n_merges;
    b->merge_mask = table_size((uint64_t)v->n_merges) - 1;
    b->merge = malloc((b->merge_mask + 1) * sizeof *b->merge);
    if (!b->merge) return gaze_error(GAZE_ERR_NOMEM, "bpe vocab: out of memory for %lld merges", (long long)v->n_merges);
    for (uint64_t i = 0; i <= b->merge_mask; i++) b->merge[i].key = UINT64_MAX;
    char * cat = NULL;
    size_t cat_cap = 0;
    enum gaze_status st = GAZE_OK;
    for (int64_t m = 0; m < v->n_merges; m++) {
        const char * s = v->merges[m];
        size_t len = v->merge_lens ? v->merge_lens[m] : (s ? strnlen(s, 2 * BPE_MAX_TOKEN_BYTES + 2) : 0);
        if (!s && len) { st = gaze_error(GAZE_ERR_FORMAT, "bpe vocab: merges[%lld] is NULL with length %zu", (long long)m, len); break; }
        if (len > 2 * BPE_MAX_TOKEN_BYTES + 1) { st = gaze_error(GAZE_ERR_LIMIT, "bpe vocab: merges[%lld]: length %zu is too long", (long long)m, len); break; }
        // split at the first space after the first byte (llama.cpp: word.find(' ', 1))
        const char * sp = len > 1 ? memchr(s + 1, ' ', len - 1) : NULL;
        if (!sp) { st = gaze_error(GAZE_ERR_FORMAT, "bpe vocab: merges[%lld] \"%s\": no space between two tokens", (long long)m, show(sa, sizeof sa, s, len)); break; }
        size_t ll = (size_t)(sp - s), rl = len - ll - 1;
        int32_t l = tok_lookup(b, s, ll), r = rl ? tok_lookup(b, sp + 1, rl) : -1;
        if (l < 0 || r < 0) {
            st = gaze_error(GAZE_ERR_FORMAT, "bpe vocab: merges[%lld] \"%s\": %s part \"%s\" is not a token", (long long)m,
                            show(sa, sizeof sa, s, len), l < 0 ? "left" : "right",
                            l < 0 ? show(sb2, sizeof sb2, s, ll) : show(sb2, sizeof sb2, sp + 1, rl));
            break;
        }
        if (!grow(&cat, &cat_cap, ll + rl, 1)) { st = gaze_error(GAZE_ERR_NOMEM, "bpe vocab: out of memory"); break; }
        memcpy(cat, s, ll);
        memcpy(cat + ll, sp + 1, rl);
        int32_t res = tok_lookup(b, cat, ll + rl);
        if (res < 0) {
            st = gaze_error(GAZE_ERR_FORMAT, "bpe vocab: merges[%lld] \"%s\": the merged text \"%s\" is not a token",
                            (long long)m, show(sa, sizeof sa, s, len), show(sb2, sizeof sb2, cat, ll + rl));
            break;
        }
        uint64_t key = (uint64_t)(uint32_t)l << 32 | (uint32_t)r;
        uint64_t h = hash_pair(key) & b->merge_mask;
        gaze_hash_probes++;
        while (b->merge[h].key != UINT64_MAX && b->merge[h].key != key) { h = (h + 1) & b->merge_mask; gaze_hash_probes++; }
        if (b->merge[h].key == key) {
            st = gaze_error(GAZE_ERR_FORMAT, "bpe vocab: merges[%lld] \"%s\" duplicates merges[%d]", (long long)m,
                            show(sa, sizeof sa, s, len), b->merge[h].rank);
            break;
        }
        b->merge[h] = (struct bpe_merge_slot){ key, (int32_t)m, res };
    }
    free(cat);
    return st;
}

static enum gaze_status compile_regex(struct gaze_bpe * b, int i, const char * src, const char * name) {
    char * re = regex_expand_ws(src);
    if (!re) return gaze_error(GAZE_ERR_UNSUPPORTED, "bpe: pre-tokenizer %s regex %d: out of memory, or \\S inside a "
                               "character class (not supported)", name, i);
    int err;
    PCRE2_SIZE eoff;
    b->re[i] = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &err, &eoff, NULL);
    free(re);
    if (!b->re[i]) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(err, msg, sizeof msg);
        return gaze_error(GAZE_ERR_UNSUPPORTED, "bpe: pre-tokenizer %s regex %d does not compile at offset %zu: %s",
                          name, i, (size_t)eoff, (const char *)msg);
    }
    b->n_re = i + 1;
    // JIT is an optimisation: without it (unsupported CPU, W^X policy) the interpreter runs.
    if (pcre2_jit_compile(b->re[i], PCRE2_JIT_COMPLETE) != 0) b->jit = false;
    return GAZE_OK;
}

static enum gaze_status init_pre(struct gaze_bpe * b, const struct gaze_bpe_vocab * v) {
    char sb[96];
    size_t n = v->pre ? (v->pre_len ? v->pre_len : strlen(v->pre)) : 0;
    int def = -1;
    for (size_t i = 0; i < N_PRE_NAMES && n; i++)
        if (strlen(k_pre_names[i].name) == n && memcmp(k_pre_names[i].name, v->pre, n) == 0) def = k_pre_names[i].def;
    if (def < 0) {
        char list[256];
        size_t o = 0;
        for (size_t i = 0; i < N_PRE_NAMES; i++)
            o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", i ? ", " : "", k_pre_names[i].name);
        if (!n) return gaze_error(GAZE_ERR_FORMAT, "bpe vocab: no pre-tokenizer (tokenizer.ggml.pre) given; supported: %s", list);
        return gaze_error(GAZE_ERR_UNSUPPORTED, "bpe vocab: pre-tokenizer \"%s\" is not supported; supported: %s",
                          show(sb, sizeof sb, v->pre, n), list);
    }
    b->pre = def;
    const struct bpe_pre_def * d = &k_pre_defs[def];
    b->jit = true;
    b->ignore_merges = d->ignore_merges;
    for (int i = 0; i < BPE_MAX_REGEX && d->regex[i]; i++) {
        enum gaze_status st = compile_regex(b, i, d->regex[i], d->name);
        if (st) return st;
    }
    return GAZE_OK;
}

// Float order as unsigned order, reversed: the min-heap then pops the highest score first.
static uint32_t score_key(float f) {
    if (f == 0) f = 0;   // -0 ties with +0, as a float compare says
    uint32_t u;
    memcpy(&u, &f, 4);
    u = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
    return ~u;
}

static enum gaze_status init_spm(struct gaze_bpe * b, const struct gaze_bpe_vocab * v) {
    int32_t V = b->n_tokens;
    if (v->add_space_prefix < -1 || v->add_space_prefix > 1)
        return gaze_error(GAZE_ERR_INVALID_ARG, "bpe vocab: add_space_prefix = %d: must be -1, 0 or 1", v->add_space_prefix);
    b->add_space_prefix = v->add_space_prefix != 0;
    b->score_key = malloc((size_t)V * sizeof *b->score_key);
    if (!b->score_key) return gaze_error(GAZE_ERR_NOMEM, "bpe vocab: out of memory for %d scores", V);
    for (int32_t i = 0; i < V; i++) {
        float f = v->scores ? v->scores[i] : 0.0f;
        if (f != f) return gaze_error(GAZE_ERR_FORMAT, "bpe vocab: scores[%d] is NaN", i);
        b->score_key[i] = score_key(f);
    }
    // llama.cpp byte_to_token: "<0xXX>" (upper-case hex), else the byte itself as a token
    for (int c = 0; c < 256; c++) {
        char hex[7];
        snprintf(hex, sizeof hex, "<0x%02X>", c);
        int32_t id = tok_lookup(b, hex, 6);
        if (id < 0) { char one = (char)c; id = tok_lookup(b, &one, 1); }
        b->spm_byte[c] = id;
    }
    return GAZE_OK;
}

static enum gaze_status init_hf(struct gaze_bpe * b, const struct bpe_hf * h) {
    b->hf = true;
    b->hfo = *h;
    b->hfo.regex = NULL;
    b->hfo.added = NULL;
    b->hfo.unigram = NULL;
    b->ignore_merges = h->ignore_merges;
    b->unescape = !h->byte_level;
    b->jit = true;
    snprintf(b->pre_name, sizeof b->pre_name, "tokenizer.json");
    if (h->n_regex < 0 || h->n_regex > BPE_MAX_REGEX)
        return gaze_error(GAZE_ERR_UNSUPPORTED, "bpe: %d pre-tokenizer splits: at most %d are supported", h->n_regex, BPE_MAX_REGEX);
    for (int i = 0; i < h->n_regex; i++) {
        enum gaze_status st = compile_regex(b, i, h->regex[i], "tokenizer.json");
        if (st) return st;
    }
    return GAZE_OK;
}

// Added tokens, bucketed by first byte for the leftmost-longest scan (after init_tokens).
static enum gaze_status init_added(struct gaze_bpe * b, const struct bpe_hf * h) {
    int32_t n = h->n_added;
    b->added = malloc(((size_t)n + 1) * sizeof *b->added);
    b->added_first = calloc(258, sizeof *b->added_first);
    b->added_by_first = malloc(((size_t)n + 1) * sizeof *b->added_by_first);
    if (!b->added || !b->added_first || !b->added_by_first) return gaze_error(GAZE_ERR_NOMEM, "bpe: out of memory");
    b->hfo.n_added = 0;
    for (int32_t i = 0; i < n; i++) {
        int32_t id = h->added[i].id;
        if (id < 0 || id >= b->n_tokens)
            return gaze_error(GAZE_ERR_FORMAT, "bpe: added token %d: id %d out of range (vocab size %d)", i, id, b->n_tokens);
        size_t len;
        const char * t = tok_text(b, id, &len);
        if (!len) continue;   // an empty added token matches nothing
        b->added[b->hfo.n_added++] = h->added[i];
        b->added_first[(uint8_t)t[0] + 1]++;
    }
    for (int c = 0; c < 256; c++) b->added_first[c + 1] += b->added_first[c];
    int32_t * fill = calloc(256, sizeof *fill);
    if (!fill) return gaze_error(GAZE_ERR_NOMEM, "bpe: out of memory");
    for (int32_t i = 0; i < b->hfo.n_added; i++) {
        size_t len;
        uint8_t c = (uint8_t)tok_text(b, b->added[i].id, &len)[0];
        b->added_by_first[b->added_first[c] + fill[c]++] = i;
    }
    free(fill);
    return GAZE_OK;
}

enum gaze_status gaze_bpe_init(struct gaze_bpe ** out, const struct gaze_bpe_vocab * v) {
    return bpe_init_hf(out, v, NULL);
}

enum gaze_status bpe_init_hf(struct gaze_bpe ** out, const struct gaze_bpe_vocab * v, const struct bpe_hf * hf) {
    if (!out || !v) return gaze_error(GAZE_ERR_INVALID_ARG, "gaze_bpe_init: NULL argument");
    *out = NULL;
    struct gaze_bpe * b = calloc(1, sizeof *b);
    if (!b) { tok_unigram_free(hf ? hf->unigram : NULL); return gaze_error(GAZE_ERR_NOMEM, "bpe: out of memory"); }
    b->uni = hf ? hf->unigram : NULL;
    byte_map_init(&b->map);
    atomic_flag_clear(&b->scratch_busy);
    enum gaze_status st;
    char sb[96];
    if (v->model && strcmp(v->model, "gpt2") != 0) {
        if (strcmp(v->model, "llama") != 0) {
            st = gaze_error(GAZE_ERR_UNSUPPORTED, "bpe vocab: tokenizer model \"%s\" is not supported (gpt2, llama)",
                            show(sb, sizeof sb, v->model, strlen(v->model)));
            goto fail;
        }
        b->spm = true;
        b->unescape = true;
    }
    if (hf && b->spm) { st = gaze_error(GAZE_ERR_INVALID_ARG, "bpe: tokenizer.json BPE is not SentencePiece scores"); goto fail; }
    // SPM has no pre-tokenizer and no merge list: pre and merges are not read
    struct gaze_bpe_vocab nomerge = *v;
    nomerge.n_merges = 0;
    if ((hf && (st = init_hf(b, hf))) || (!b->spm && !hf && (st = init_pre(b, v))) || (st = init_tokens(b, v)) ||
        (st = init_merges(b, b->spm ? &nomerge : v)) || (st = init_pieces(b)) || (b->spm && (st = init_spm(b, v))) ||
        (hf && (st = init_added(b, hf))))
        goto fail;
    if (hf && !hf->byte_level && (st = init_spm(b, v))) goto fail;   // for its byte-fallback table
    for (int c = 0; c < 256; c++) {
        char u[4];
        int n = gaze_utf8_encode(b->map.cp[c], u);
        b->byte_tok[c] = tok_lookup(b, u, (size_t)n);
        b->byte_tok_eow[c] = -1;
        if (hf && hf->eow[0]) {
            char w[4 + sizeof hf->eow];
            size_t el = strnlen(hf->eow, sizeof hf->eow - 1);
            memcpy(w, u, (size_t)n);
            memcpy(w + n, hf->eow, el);
            int32_t id = tok_lookup(b, w, (size_t)n + el);
            b->byte_tok_eow[c] = id >= 0 ? id : hf->unk;   // HF BPE: a symbol with no token -> unk
        }
    }
    // special tokens, cut out of the text before pre-tokenization
    int32_t V = b->n_tokens, ns = 0;
    for (int32_t i = 0; i < V; i++) {
        uint8_t t = b->type[i];
        ns += (t == GAZE_BPE_TOKEN_TYPE_CONTROL || t == GAZE_BPE_TOKEN_TYPE_USER_DEFINED ||
               t == GAZE_BPE_TOKEN_TYPE_UNKNOWN) && b->text_off[i + 1] - b->text_off[i] > 1;
    }
    if (ns) {
        struct bpe_special_key * keys = malloc((size_t)ns * sizeof *keys);
        b->special = malloc((size_t)ns * sizeof *b->special);
        if (!keys || !b->special) { free(keys); st = gaze_error(GAZE_ERR_NOMEM, "bpe: out of memory"); goto fail; }
        for (int32_t i = 0; i < V; i++) {
            uint8_t t = b->type[i];
            size_t len = b->text_off[i + 1] - b->text_off[i] - 1;
            if ((t == GAZE_BPE_TOKEN_TYPE_CONTROL || t == GAZE_BPE_TOKEN_TYPE_USER_DEFINED ||
                 t == GAZE_BPE_TOKEN_TYPE_UNKNOWN) && len > 0)
                keys[b->n_special++] = (struct bpe_special_key){ len, i };
        }
        qsort(keys, (size_t)ns, sizeof *keys, special_cmp);
        for (int32_t i = 0; i < ns; i++) b->special[i] = keys[i].id;
        free(keys);
    }
    // BOS / EOS
    if (v->bos_id < -1 || v->bos_id >= V) { st = gaze_error(GAZE_ERR_FORMAT, "bpe vocab: bos_id = %d: out of range (vocab size %d)", v->bos_id, V); goto fail; }
    if (v->eos_id < -1 || v->eos_id >= V) { st = gaze_error(GAZE_ERR_FORMAT, "bpe vocab: eos_id = %d: out of range (vocab size %d)", v->eos_id, V); goto fail; }
    if (v->add_bos < -1 || v->add_bos > 1) { st = gaze_error(GAZE_ERR_INVALID_ARG, "bpe vocab: add_bos = %d: must be -1, 0 or 1", v->add_bos); goto fail; }
    b->bos = v->bos_id;
    b->eos = v->eos_id;
    b->add_bos = v->add_bos < 0 ? (b->spm || (!hf && k_pre_defs[b->pre].add_bos)) : v->add_bos == 1;
    if (b->add_bos && b->bos < 0) { st = gaze_error(GAZE_ERR_FORMAT, "bpe vocab: add_bos is true but there is no bos_id"); goto fail; }
    b->add_eos = v->add_eos == 1;
    if (b->add_eos && b->eos < 0) { st = gaze_error(GAZE_ERR_FORMAT, "bpe vocab: add_eos is true but there is no eos_id"); goto fail; }
    if ((st = scratch_init(&b->scratch))) goto fail;
    *out = b;
    return GAZE_OK;
fail:
    gaze_bpe_free(b);
    return st;
}

/* ------------------------------------------------------------------------------------------
 * encode
 * ---------------------------------------------------------------------------------------- */

struct bpe_run {                       // one encode call
    const struct gaze_bpe * b;
    struct bpe_scratch * s;
    const char * text;                 // [n] valid UTF-8 (the input, or its repaired copy)
    size_t n;
    const size_t * ob, * oe;           // offset maps to the caller's input; NULL: identity
    struct gaze_encoding * enc;
    int64_t max_len;                   // <= 0: none
    bool pieces;                       // emit pre-tokens (id -1) instead of BPE tokens
};

static enum gaze_status enc_push(struct bpe_run * r, int32_t id, size_t b, size_t e, int8_t seq) {
    struct gaze_encoding * enc = r->enc;
    if (r->max_len > 0 && enc->n_tokens >= r->max_len)
        return gaze_error(GAZE_ERR_LIMIT, "bpe: text: more than max_len = %lld tokens", (long long)r->max_len);
    if (enc->n_tokens >= enc->cap) {
        int64_t c = enc->cap ? enc->cap * 2 : 256;
        size_t cz = (size_t)c;
        int32_t * ids = realloc(enc->ids, cz * sizeof *ids);
        if (ids) enc->ids = ids;
        int32_t * ty = realloc(enc->type_ids, cz * sizeof *ty);
        if (ty) enc->type_ids = ty;
        int64_t * off = realloc(enc->offsets, cz * 2 * sizeof *off);
        if (off) enc->offsets = off;
        int8_t * sq = realloc(enc->sequence_ids, cz * sizeof *sq);
        if (sq) enc->sequence_ids = sq;
        if (!ids || !ty || !off || !sq) return gaze_error(GAZE_ERR_NOMEM, "bpe: out of memory for %lld tokens", (long long)c);
        enc->cap = c;
    }
    if (r->ob && e > b) { size_t ob = r->ob[b]; e = r->oe[e - 1]; b = ob; }   // to input offsets
    int64_t i = enc->n_tokens++;
    enc->ids[i] = id;
    enc->type_ids[i] = 0;
    enc->offsets[2 * i] = (int64_t)b;
    enc->offsets[2 * i + 1] = (int64_t)e;
    enc->sequence_ids[i] = seq;
    return GAZE_OK;
}

static inline bool pieces_only(const struct bpe_run * r) { return r->pieces; }

// Min-heap of merge candidates, key = rank << 32 | left: lowest rank first, then leftmost
// (llama.cpp's llm_bigram_bpe order). 4-ary: half the depth of a binary heap, and the four
// children share a cache line.
static void heap_up(uint64_t * h, size_t i, uint64_t key) {
    while (i > 0) {
        size_t p = (i - 1) / 4;
        if (h[p] <= key) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = key;
}

static void heap_down(uint64_t * h, size_t n, size_t i, uint64_t key) {
    for (;;) {
        size_t c = 4 * i + 1;
        if (c >= n) break;
        size_t best = c;
        for (size_t k = c + 1; k < c + 4 && k < n; k++) if (h[k] < h[best]) best = k;
        if (key <= h[best]) break;
        h[i] = h[best];
        i = best;
    }
    h[i] = key;
}

// Removes the minimum (n >= 1 entries before). Floyd's variant: the hole goes down along the
// smaller children to a leaf without comparing against the moved-in last entry, which then
// sifts up from there; it nearly always belongs near the bottom, so this saves a compare per
// level of the descent.
static uint64_t heap_pop(uint64_t * h, size_t * n) {
    uint64_t top = h[0], last = h[--*n];
    size_t m = *n, i = 0;
    if (!m) return top;
    for (;;) {
        size_t c = 4 * i + 1;
        if (c >= m) break;
        size_t best = c;
        if (c + 3 < m) {
            if (h[c + 1] < h[best]) best = c + 1;
            if (h[c + 2] < h[best]) best = c + 2;
            if (h[c + 3] < h[best]) best = c + 3;
        } else {
            for (size_t k = c + 1; k < m; k++) if (h[k] < h[best]) best = k;
        }
        h[i] = h[best];
        i = best;
    }
    heap_up(h, i, last);
    return top;
}

#define BPE_NO_TOKEN (-2)   // symbol of a byte without a token (-1: merged away)

static inline const struct bpe_merge_slot * pair_at(const struct gaze_bpe * b, const struct bpe_scratch * s, int32_t i) {
    if (i < 0 || s->next[i] < 0 || s->sym[i] < 0 || s->sym[s->next[i]] < 0) return NULL;
    return merge_lookup(b, s->sym[i], s->sym[s->next[i]]);
}

static inline bool try_pair(const struct gaze_bpe * b, struct bpe_scratch * s, size_t * hn, int32_t i) {
    const struct bpe_merge_slot * m = pair_at(b, s, i);
    if (!m) return true;
    if (*hn == s->heap_cap && !grow(&s->heap, &s->heap_cap, *hn + 1, sizeof *s->heap)) return false;
    heap_up(s->heap, *hn, (uint64_t)(uint32_t)m->rank << 32 | (uint32_t)i);
    ++*hn;
    return true;
}

// Merges the queued pairs (heap of hn entries) lowest rank first until none is left.
static bool merge_all(const struct gaze_bpe * b, struct bpe_scratch * s, size_t hn) {
    while (hn) {
        uint64_t key = heap_pop(s->heap, &hn);
        int32_t l = (int32_t)(key & 0xffffffffu);
        // Stale unless symbol l is alive and its pair with its right neighbour still has this
        // rank: a rank names exactly one pair, and tokens only grow, so an equal rank means
        // the very pair that was queued.
        if (s->sym[l] < 0) continue;
        const struct bpe_merge_slot * m = pair_at(b, s, l);
        if (!m || (uint32_t)m->rank != (uint32_t)(key >> 32)) continue;
        int32_t rr = s->next[l];
        s->sym[l] = m->result;
        s->sym[rr] = -1;
        s->next[l] = s->next[rr];
        if (s->next[rr] >= 0) s->prev[s->next[rr]] = l;
        if (!try_pair(b, s, &hn, s->prev[l]) || !try_pair(b, s, &hn, l))
            return false;
    }
    return true;
}

static enum gaze_status hf_char_piece(struct bpe_run * r, size_t off, size_t len);

// BPE over one pre-token: text[off, off + len).
static enum gaze_status bpe_piece(struct bpe_run * r, size_t off, size_t len) {
    const struct gaze_bpe * b = r->b;
    struct bpe_scratch * s = r->s;
    const uint8_t * p = (const uint8_t *)r->text + off;
    if (r->pieces) return enc_push(r, -1, off, off + len, 0);
    if (!b->hfo.byte_level && b->hf) return hf_char_piece(r, off, len);
    const bool eow = b->hf && b->hfo.eow[0];
    if (b->ignore_merges) {   // the whole piece is a token: take it (llama.cpp, HF ignore_merges)
        const size_t el = eow ? strlen(b->hfo.eow) : 0;
        if (!grow(&s->enc, &s->enc_cap, 2 * len + el, 1)) return gaze_error(GAZE_ERR_NOMEM, "bpe: out of memory");
        size_t o = 0;
        for (size_t i = 0; i < len; i++) o += (size_t)gaze_utf8_encode(b->map.cp[p[i]], s->enc + o);
        memcpy(s->enc + o, b->hfo.eow, el);
        o += el;
        int32_t id = tok_lookup(b, s->enc, o);
        if (id >= 0) return enc_push(r, id, off, off + len, 0);
    }
    const int32_t * last_tok = eow ? b->byte_tok_eow : b->byte_tok;   // the piece's last byte
    if (len == 1) return last_tok[p[0]] >= 0 ? enc_push(r, last_tok[p[0]], off, off + 1, 0) : GAZE_OK;
    if (len > INT32_MAX) return gaze_error(GAZE_ERR_LIMIT, "bpe: a pre-token of %zu bytes is too long", len);
    if (!grow(&s->sym, &s->sym_cap, len, sizeof *s->sym) || !grow(&s->prev, &s->prev_cap, len, sizeof *s->prev) ||
        !grow(&s->next, &s->next_cap, len, sizeof *s->next) || !grow(&s->heap, &s->heap_cap, len, sizeof *s->heap))
        return gaze_error(GAZE_ERR_NOMEM, "bpe: out of memory for a pre-token of %zu bytes", len);
    int32_t n = (int32_t)len;
    // A byte the vocab has no token for (SmolLM2 lacks 21, e.g. 0x04, 0x1D, 0xF1) stays a
    // symbol of its own (BPE_NO_TOKEN), merges with nothing and is dropped from the output,
    // as llama.cpp (no byte fallback found) and HF (BPE without unk_token) both do.
    for (int32_t i = 0; i < n; i++) {
        const int32_t tok = (i + 1 < n ? b->byte_tok : last_tok)[p[i]];
        s->sym[i] = tok >= 0 ? tok : BPE_NO_TOKEN;
        s->prev[i] = i - 1;
        s->next[i] = i + 1 < n ? i + 1 : -1;
    }
    // n - 1 pairs to start; each merge pops one entry and queues at most two (the heap grows
    // past n only when stale entries pile up).
    size_t hn = 0;
    for (int32_t i = 0; i + 1 < n; i++) {
        const struct bpe_merge_slot * m = pair_at(b, s, i);
        if (m) s->heap[hn++] = (uint64_t)(uint32_t)m->rank << 32 | (uint32_t)i;
    }
    for (size_t i = hn / 4 + 1; i-- > 0;) if (i < hn) heap_down(s->heap, hn, i, s->heap[i]);   // O(n) heapify
    if (!merge_all(b, s, hn)) return gaze_error(GAZE_ERR_NOMEM, "bpe: out of memory merging a pre-token of %zu bytes", len);
    enum gaze_status st;
    for (int32_t i = 0; i >= 0; i = s->next[i]) {
        size_t e = s->next[i] >= 0 ? (size_t)s->next[i] : len;
        if (s->sym[i] != BPE_NO_TOKEN && (st = enc_push(r, s->sym[i], off + (size_t)i, off + e, 0))) return st;
    }
    return GAZE_OK;
}

// Splits text[off, off + len) with regex `level` and hands every match and every gap between
// matches to the next level; past the last regex, to BPE. Depth-first, so no piece list grows
// with the input.
static enum gaze_status split(struct bpe_run * r, int level, size_t off, size_t len) {
    if (level == r->b->n_re) return bpe_piece(r, off, len);
    const pcre2_code * re = r->b->re[level];
    struct bpe_scratch * s = r->s;
    PCRE2_SPTR subj = (PCRE2_SPTR)(r->text + off);
    size_t pos = 0, last = 0;
    enum gaze_status st;
    while (pos < len) {
        int rc = pcre2_match(re, subj, len, pos, PCRE2_NO_UTF_CHECK, s->md, s->mctx);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
            PCRE2_UCHAR msg[160];
            pcre2_get_error_message(rc, msg, sizeof msg);
            return gaze_error(GAZE_ERR_LIMIT, "bpe: pre-tokenizer regex %d failed on the text at offset %zu: %s",
                              level, r->ob ? r->ob[off + pos] : off + pos, (const char *)msg);
        }
        PCRE2_SIZE * ov = pcre2_get_ovector_pointer(s->md);
        size_t mb = ov[0], me = ov[1];
        if (me <= mb) {   // empty match (no table regex has one): step one character
            pos = mb + 1;
            while (pos < len && ((uint8_t)subj[pos] & 0xC0) == 0x80) pos++;
            continue;
        }
        const bool keep_gaps = !(r->b->hf && (r->b->hfo.keep_matches_only >> level & 1u));
        if (keep_gaps && mb > last && (st = split(r, level + 1, off + last, mb - last))) return st;
        if ((st = split(r, level + 1, off + mb, me - mb))) return st;
        last = pos = me;
    }
    if (len > last && !(r->b->hf && (r->b->hfo.keep_matches_only >> level & 1u))) return split(r, level + 1, off + last, len - last);
    return GAZE_OK;
}

/* ---- tokenizer.json (HF tokenizers) ---------------------------------------------------------- */

// BPE from characters (tokenizer.json without ByteLevel, HF BPE::merge_word): each character
// its token, else its <0xXX> tokens (byte_fallback), else unk (consecutive ones fused), else
// dropped; then merges by rank as for bytes. Symbols sit at their first byte's index.
static enum gaze_status hf_char_piece(struct bpe_run * r, size_t off, size_t len) {
    const struct gaze_bpe * b = r->b;
    struct bpe_scratch * s = r->s;
    const char * p = r->text + off;
    if (r->pieces) return enc_push(r, -1, off, off + len, 0);
    if (b->ignore_merges) {
        int32_t id = tok_lookup(b, p, len);
        if (id >= 0) return enc_push(r, id, off, off + len, 0);
    }
    if (len > INT32_MAX) return gaze_error(GAZE_ERR_LIMIT, "bpe: a pre-token of %zu bytes is too long", len);
    if (!grow(&s->sym, &s->sym_cap, len, sizeof *s->sym) || !grow(&s->prev, &s->prev_cap, len, sizeof *s->prev) ||
        !grow(&s->next, &s->next_cap, len, sizeof *s->next) || !grow(&s->heap, &s->heap_cap, len, sizeof *s->heap))
        return gaze_error(GAZE_ERR_NOMEM, "bpe: out of memory for a pre-token of %zu bytes", len);
    int32_t first = -1, last = -1;
    bool last_unk = false;
#define HF_ADD(pos, id) do { int32_t q_ = (int32_t)(pos); s->sym[q_] = (id); s->prev[q_] = last; s->next[q_] = -1; \
                             if (last >= 0) s->next[last] = q_; else first = q_; last = q_; } while (0)
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t k = (size_t)gaze_utf8_decode((const uint8_t *)p, len, i, &cp);
        if (!k) k = 1;
        int32_t id = tok_lookup(b, p + i, k);
        bool unk = false;
        if (id >= 0) {
            HF_ADD(i, id);
        } else {
            bool all = b->hfo.byte_fallback;
            for (size_t j = 0; all && j < k; j++) all = b->spm_byte[(uint8_t)p[i + j]] >= 0;
            if (all) {
                for (size_t j = 0; j < k; j++) HF_ADD(i + j, b->spm_byte[(uint8_t)p[i + j]]);
            } else if (b->hfo.unk >= 0) {
                unk = true;
                if (!(b->hfo.fuse_unk && last_unk)) HF_ADD(i, b->hfo.unk);
            }
        }
        last_unk = unk;
        i += k;
    }
#undef HF_ADD
    if (first < 0) return GAZE_OK;
    size_t hn = 0;
    for (int32_t i = first; i >= 0; i = s->next[i])
        if (!try_pair(b, s, &hn, i)) return gaze_error(GAZE_ERR_NOMEM, "bpe: out of memory");
    if (!merge_all(b, s, hn)) return gaze_error(GAZE_ERR_NOMEM, "bpe: out of memory merging a pre-token of %zu bytes", len);
    enum gaze_status st;
    for (int32_t i = first; i >= 0; i = s->next[i]) {
        size_t e = s->next[i] >= 0 ? (size_t)s->next[i] : len;
        if ((st = enc_push(r, s->sym[i], off + (size_t)i, off + e, 0))) return st;
    }
    return GAZE_OK;
}

// Unicode White_Space at text[i] (Rust char::is_whitespace, what HF lstrip/rstrip strip): its
// byte length, 0 when not whitespace.
static size_t ws_len(const char * t, size_t n, size_t i) {
    uint32_t cp;
    int k = gaze_utf8_decode((const uint8_t *)t, n, i, &cp);
    if (!k) return 0;
    bool w = (cp >= 9 && cp <= 13) || cp == ' ' || cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
             cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
    return w ? (size_t)k : 0;
}

// An input position of the run's text (its repaired copy mapped back).
static size_t in_pos(const struct bpe_run * r, size_t t) {
    if (!r->ob) return t;
    return t < r->n ? r->ob[t] : (r->n ? r->oe[r->n - 1] : 0);
}

// Appends bytes src[0..k) to the transform buffer, all from input range [ib, ie).
static bool tf_put(struct bpe_scratch * s, size_t * o, const char * src, size_t k, size_t ib, size_t ie) {
    if (!grow(&s->sp, &s->sp_cap, *o + k, 1) || !grow(&s->spb, &s->spb_cap, *o + k, sizeof *s->spb) ||
        !grow(&s->spe, &s->spe_cap, *o + k, sizeof *s->spe)) return false;
    for (size_t j = 0; j < k; j++) { s->sp[*o + j] = src[j]; s->spb[*o + j] = ib; s->spe[*o + j] = ie; }
    *o += k;
    return true;
}

// One fragment between added tokens of a Unigram tokenizer: its characters with their input
// ranges go to text/unigram.c, whose tokens carry input offsets already.
static enum gaze_status uni_fragment(struct bpe_run * r, size_t off, size_t len) {
    struct bpe_scratch * s = r->s;
    if (!s->uni && !(s->uni = calloc(1, sizeof *s->uni))) return gaze_error(GAZE_ERR_NOMEM, "bpe: out of memory");
    struct tok_nstr * ns = &s->uni->ns;
    if (!tok_nstr_reserve(ns, len + 1)) return gaze_error(GAZE_ERR_NOMEM, "bpe: out of memory for a fragment of %zu bytes", len);
    ns->n = 0;
    for (size_t i = off; i < off + len;) {
        uint32_t cp;
        int k = gaze_utf8_decode((const uint8_t *)r->text, off + len, i, &cp);
        size_t kl = k > 0 ? (size_t)k : 1;
        size_t ab = in_pos(r, i), ae = r->oe ? r->oe[i + kl - 1] : i + kl;
        for (size_t j = 0; j < kl; j++) { ns->s[ns->n] = r->text[i + j]; ns->ab[ns->n] = ab; ns->ae[ns->n] = ae; ns->n++; }
        i += kl;
    }
    enum gaze_status st = tok_unigram_fragment(r->b->uni, s->uni);
    struct bpe_run direct = *r;   // offsets are the input's already
    direct.ob = direct.oe = NULL;
    for (size_t k = 0; !st && k < s->uni->n_out; k++)
        st = enc_push(&direct, s->uni->out[k].id, s->uni->out[k].b, s->uni->out[k].e, 0);
    return st;
}

// One fragment between added tokens: normalizer (NFC, Prepend, Replace), Metaspace, then the
// pre-tokenizer splits and BPE on the transformed text, whose bytes map back to the input.
static enum gaze_status hf_fragment(struct bpe_run * r, size_t off, size_t len) {
    const struct gaze_bpe * b = r->b;
    if (b->uni && !r->pieces) return uni_fragment(r, off, len);
    struct bpe_scratch * s = r->s;
    const struct bpe_hf * h = &b->hfo;
    const char * t = r->text + off;
    char * nfc = NULL;
    size_t nfc_len = 0;
    if (h->nfc) {
        bool ascii = true;
        for (size_t i = 0; i < len && ascii; i++) ascii = (uint8_t)t[i] < 0x80;
        if (!ascii) {
            utf8proc_uint8_t * dst = NULL;
            utf8proc_ssize_t m = utf8proc_map((const utf8proc_uint8_t *)t, (utf8proc_ssize_t)len, &dst,
                                              UTF8PROC_STABLE | UTF8PROC_COMPOSE);
            if (m < 0) return gaze_error(GAZE_ERR_FORMAT, "bpe: NFC: %s", utf8proc_errmsg(m));
            if ((size_t)m != len || memcmp(dst, t, len) != 0) { nfc = (char *)dst; nfc_len = (size_t)m; }
            else free(dst);
        }
    }
    const char * src = nfc ? nfc : t;
    size_t n = nfc ? nfc_len : len;
    static const char meta[] = "\xE2\x96\x81";
    bool space_to_meta = h->replace_space || h->metaspace;
    size_t o = 0, ib = in_pos(r, off);
    bool ok = true;
    if (h->prepend && n) ok = tf_put(s, &o, meta, 3, ib, ib);
    // Metaspace prepends unless the (normalised) text already starts with U+2581
    bool starts_meta = (n && src[0] == ' ' && space_to_meta) || (n >= 3 && !memcmp(src, meta, 3)) || h->prepend;
    if (ok && n && !starts_meta && (h->metaspace == 1 || (h->metaspace == 2 && off == 0))) ok = tf_put(s, &o, meta, 3, ib, ib);
    const bool by_char = h->collapse_ws || h->lowercase;   // CLIP's normalizers work on characters
    for (size_t i = 0; ok && i < n;) {
        // NFC output maps to the whole fragment when it changed the text (rare: offsets coarse)
        size_t b0 = nfc ? ib : in_pos(r, off + i), k = 1, m = 1;
        char u[8];
        const char * out = src + i;
        if (by_char) {
            size_t w = ws_len(src, n, i);
            if (w && h->collapse_ws) {   // Replace(\s+ -> " "): a whitespace run is one space
                for (k = 0; i + k < n && (w = ws_len(src, n, i + k));) k += w;
                out = " ";
            } else {   // Lowercase: Rust's char::to_lowercase (U+0130 its one multi-char case)
                uint32_t cp;
                if (!(k = (size_t)gaze_utf8_decode((const uint8_t *)src, n, i, &cp))) { k = 1; cp = 0xFFFD; }
                if (h->lowercase && cp == 0x130) m = (size_t)gaze_utf8_encode('i', u) + (size_t)gaze_utf8_encode(0x307, u + 1);
                else m = (size_t)gaze_utf8_encode(h->lowercase ? (uint32_t)utf8proc_tolower((utf8proc_int32_t)cp) : cp, u);
                out = u;
            }
        }
        size_t last = nfc ? off + len - 1 : off + i + k - 1;
        size_t e0 = r->oe ? r->oe[last] : last + 1;
        if (m == 1 && out[0] == ' ' && space_to_meta) ok = tf_put(s, &o, meta, 3, b0, e0);
        else ok = tf_put(s, &o, out, m, b0, e0);
        i += k;
    }
    free(nfc);
    if (!ok) return gaze_error(GAZE_ERR_NOMEM, "bpe: out of memory for a fragment of %zu bytes", len);
    if (!o) return GAZE_OK;
    struct bpe_run sub = *r;
    sub.text = s->sp;
    sub.n = o;
    sub.ob = s->spb;
    sub.oe = s->spe;
    // the transform buffer is the sub-run's text: nothing below may grow sp/spb/spe
    return split(&sub, 0, 0, o);
}

// Cuts the added tokens out of text[0..n) leftmost-longest (HF AddedVocabulary), whitespace
// around them taken in by lstrip / rstrip; fragments into s->fa.
static enum gaze_status hf_partition(struct bpe_run * r, bool parse_special, size_t * nf) {
    const struct gaze_bpe * b = r->b;
    struct bpe_scratch * s = r->s;
    const char * t = r->text;
    size_t n = r->n, start = 0, k = 0;
    for (size_t p = 0; p < n;) {
        // with a lowercase normalizer, "<|A.." may match a normalized "<|a..": both first bytes' buckets
        const uint8_t c0 = (uint8_t)t[p], c1 = b->hfo.lowercase && c0 >= 'A' && c0 <= 'Z' ? (uint8_t)(c0 + 32) : c0;
        int32_t best = -1;
        size_t best_len = 0;
        for (int pass = 0; pass < (c1 != c0 ? 2 : 1); pass++)
        for (int32_t q = b->added_first[pass ? c1 : c0]; q < b->added_first[(pass ? c1 : c0) + 1]; q++) {
            const struct bpe_hf_added * a = &b->added[b->added_by_first[q]];
            if (!parse_special && a->special) continue;
            size_t tl;
            const char * tt = tok_text(b, a->id, &tl);
            bool eq = tl > best_len && tl <= n - p;
            if (eq && a->normalized && b->hfo.lowercase)   // (tokenizer_json refuses what this misses)
                for (size_t j = 0; eq && j < tl; j++) {
                    char ch = t[p + j];
                    eq = (ch >= 'A' && ch <= 'Z' ? (char)(ch + 32) : ch) == tt[j];
                }
            else eq = eq && !memcmp(t + p, tt, tl);
            if (eq) { best = b->added_by_first[q]; best_len = tl; }
        }
        if (best < 0) { p++; continue; }
        const struct bpe_hf_added * a = &b->added[best];
        size_t ms = p, me = p + best_len;
        if (a->lstrip)
            while (ms > start) {
                size_t q = ms - 1;
                while (q > start && ((uint8_t)t[q] & 0xC0) == 0x80) q--;
                if (!ws_len(t, n, q)) break;
                ms = q;
            }
        if (a->rstrip) for (size_t w; me < n && (w = ws_len(t, n, me));) me += w;
        if (!grow(&s->fa, &s->fa_cap, k + 2, sizeof *s->fa)) return gaze_error(GAZE_ERR_NOMEM, "bpe: out of memory");
        if (ms > start) s->fa[k++] = (struct bpe_frag){ -1, start, ms - start };
        s->fa[k++] = (struct bpe_frag){ a->id, ms, me - ms };
        start = p = me;
    }
    if (!grow(&s->fa, &s->fa_cap, k + 1, sizeof *s->fa)) return gaze_error(GAZE_ERR_NOMEM, "bpe: out of memory");
    if (n > start) s->fa[k++] = (struct bpe_frag){ -1, start, n - start };
    *nf = k;
    return GAZE_OK;
}

/* ---- SentencePiece (llama.cpp llm_tokenizer_spm_session) -------------------------------- */

// Pushes the token of SPM text sp[b, e) mapped back to the run's text.
static enum gaze_status spm_push(struct bpe_run * r, int32_t id, size_t b, size_t e) {
    const struct bpe_scratch * s = r->s;
    size_t ob = s->spb[b], oe = s->spe[e - 1];
    if (oe <= ob) {   // only the added prefix: an empty range where the fragment starts
        size_t at = ob;
        if (r->ob) at = at < r->n ? r->ob[at] : (r->n ? r->oe[r->n - 1] : 0);
        const size_t * keep_ob = r->ob;
        r->ob = NULL;
        enum gaze_status st = enc_push(r, id, at, at, 0);
        r->ob = keep_ob;
        return st;
    }
    return enc_push(r, id, ob, oe, 0);
}

// The pair symbol l + its right neighbour, if that text is a token: its id, else -1.
static int32_t spm_pair(const struct gaze_bpe * b, const struct bpe_scratch * s, int32_t l) {
    int32_t r = s->next[l];
    if (r < 0) return -1;
    return tok_lookup(b, s->sp + s->sym[l], (size_t)s->slen[l] + (size_t)s->slen[r]);
}

static bool spm_try(const struct gaze_bpe * b, struct bpe_scratch * s, size_t * hn, int32_t l) {
    if (l < 0) return true;
    int32_t id = spm_pair(b, s, l);
    if (id < 0) return true;
    if (*hn == s->heap_cap && !grow(&s->heap, &s->heap_cap, *hn + 1, sizeof *s->heap)) return false;
    heap_up(s->heap, *hn, (uint64_t)b->score_key[id] << 32 | (uint32_t)l);
    ++*hn;
    return true;
}

// One raw fragment text[off, off + len): " " prefixed when asked, every " " as U+2581
// (llama_escape_whitespace), split into characters, and the adjacent pair whose concatenation is
// the highest-scoring token merged first (ties: leftmost) until no pair is a token. A symbol
// left that is no token falls back to its bytes. llama.cpp also keeps a reverse-merge map for
// that case; it is never used, since every merged symbol is a token and a one-character symbol
// cannot equal a two-symbol key.
static enum gaze_status spm_fragment(struct bpe_run * r, size_t off, size_t len, bool prefix) {
    const struct gaze_bpe * b = r->b;
    struct bpe_scratch * s = r->s;
    const char * t = r->text + off;
    size_t spaces = 0;
    for (size_t i = 0; i < len; i++) spaces += t[i] == ' ';
    size_t m = len + 2 * spaces + (prefix ? 3 : 0);
    if (m > INT32_MAX) return gaze_error(GAZE_ERR_LIMIT, "spm: a fragment of %zu bytes is too long", len);
    if (!grow(&s->sp, &s->sp_cap, m, 1) || !grow(&s->spb, &s->spb_cap, m, sizeof *s->spb) ||
        !grow(&s->spe, &s->spe_cap, m, sizeof *s->spe) || !grow(&s->sym, &s->sym_cap, m, sizeof *s->sym) ||
        !grow(&s->slen, &s->slen_cap, m, sizeof *s->slen) || !grow(&s->prev, &s->prev_cap, m, sizeof *s->prev) ||
        !grow(&s->next, &s->next_cap, m, sizeof *s->next) || !grow(&s->heap, &s->heap_cap, m, sizeof *s->heap))
        return gaze_error(GAZE_ERR_NOMEM, "spm: out of memory for a fragment of %zu bytes", len);
    size_t o = 0;
    if (prefix) for (int k = 0; k < 3; k++, o++) { s->sp[o] = "\xE2\x96\x81"[k]; s->spb[o] = s->spe[o] = off; }
    for (size_t i = 0; i < len; i++) {
        if (t[i] == ' ') for (int k = 0; k < 3; k++, o++) { s->sp[o] = "\xE2\x96\x81"[k]; s->spb[o] = off + i; s->spe[o] = off + i + 1; }
        else { s->sp[o] = t[i]; s->spb[o] = off + i; s->spe[o] = off + i + 1; o++; }
    }
    if (pieces_only(r)) return spm_push(r, -1, 0, m);
    int32_t n = 0;
    for (size_t i = 0; i < m; n++) {   // one symbol per character (the text is valid UTF-8)
        uint32_t cp;
        int k = gaze_utf8_decode((const uint8_t *)s->sp, m, i, &cp);
        s->sym[n] = (int32_t)i;
        s->slen[n] = k;
        s->prev[n] = n - 1;
        i += (size_t)k;
        s->next[n] = i < m ? n + 1 : -1;
    }
    size_t hn = 0;
    for (int32_t i = 0; i + 1 < n; i++)
        if (!spm_try(b, s, &hn, i)) return gaze_error(GAZE_ERR_NOMEM, "spm: out of memory");
    while (hn) {
        uint64_t key = heap_pop(s->heap, &hn);
        int32_t l = (int32_t)(key & 0xffffffffu);
        // stale unless l is alive and its pair still is a token of this score (llama.cpp checks
        // the pair's length; both hold exactly when neither symbol changed since the push)
        if (s->slen[l] == 0) continue;
        int32_t id = spm_pair(b, s, l);
        if (id < 0 || b->score_key[id] != (uint32_t)(key >> 32)) continue;
        int32_t rr = s->next[l];
        s->slen[l] += s->slen[rr];
        s->slen[rr] = 0;
        s->next[l] = s->next[rr];
        if (s->next[rr] >= 0) s->prev[s->next[rr]] = l;
        if (!spm_try(b, s, &hn, s->prev[l]) || !spm_try(b, s, &hn, l))
            return gaze_error(GAZE_ERR_NOMEM, "spm: out of memory");
    }
    enum gaze_status st;
    for (int32_t i = 0; i >= 0; i = s->next[i]) {
        size_t sb = (size_t)s->sym[i], sl = (size_t)s->slen[i];
        int32_t id = tok_lookup(b, s->sp + sb, sl);
        if (id >= 0) { if ((st = spm_push(r, id, sb, sb + sl))) return st; continue; }
        for (size_t j = 0; j < sl; j++) {
            uint8_t c = (uint8_t)s->sp[sb + j];
            if (b->spm_byte[c] < 0)
                return gaze_error(GAZE_ERR_FORMAT, "spm: the vocab has no token for byte 0x%02X (neither <0x%02X> "
                                  "nor the byte itself), needed at text offset %zu", c, c, s->spb[sb + j]);
            if ((st = spm_push(r, b->spm_byte[c], sb + j, sb + j + 1))) return st;
        }
    }
    return GAZE_OK;
}

// Length of the maximal subpart of an ill-formed sequence at s[i] (Unicode §3.9, "U+FFFD
// substitution of maximal subparts", as Python's errors="replace" and WHATWG decode).
static size_t utf8_bad_len(const uint8_t * s, size_t n, size_t i) {
    uint8_t b0 = s[i], lo = 0x80, hi = 0xBF;
    int need;
    if (b0 >= 0xC2 && b0 <= 0xDF) need = 1;
    else if (b0 >= 0xE0 && b0 <= 0xEF) { need = 2; if (b0 == 0xE0) lo = 0xA0; if (b0 == 0xED) hi = 0x9F; }
    else if (b0 >= 0xF0 && b0 <= 0xF4) { need = 3; if (b0 == 0xF0) lo = 0x90; if (b0 == 0xF4) hi = 0x8F; }
    else return 1;
    size_t k = 1;
    for (int j = 0; j < need && i + k < n; j++, k++) {
        uint8_t c = s[i + k];
        if (j == 0 ? (c < lo || c > hi) : (c & 0xC0) != 0x80) break;
    }
    return k;
}

// Copies text with each maximal ill-formed subpart replaced by U+FFFD, and the offset maps.
static enum gaze_status repair_utf8(struct bpe_scratch * s, const char * text, size_t n, size_t * out_n) {
    const uint8_t * u = (const uint8_t *)text;
    size_t m = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int k = gaze_utf8_decode(u, n, i, &cp);
        if (k) { i += (size_t)k; m += (size_t)k; }
        else { i += utf8_bad_len(u, n, i); m += 3; }
    }
    if (!grow(&s->text, &s->text_cap, m + 1, 1) || !grow(&s->ob, &s->ob_cap, m + 1, sizeof *s->ob) ||
        !grow(&s->oe, &s->oe_cap, m + 1, sizeof *s->oe))
        return gaze_error(GAZE_ERR_NOMEM, "bpe: out of memory repairing %zu bytes of text", n);
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int k = gaze_utf8_decode(u, n, i, &cp);
        size_t src = k ? (size_t)k : utf8_bad_len(u, n, i);
        size_t dst = k ? (size_t)k : 3;
        if (k) memcpy(s->text + o, text + i, (size_t)k);
        else memcpy(s->text + o, "\xEF\xBF\xBD", 3);
        for (size_t j = 0; j < dst; j++) { s->ob[o + j] = i; s->oe[o + j] = i + src; }
        o += dst;
        i += src;
    }
    *out_n = m;
    return GAZE_OK;
}

static enum gaze_status encode_run(const struct gaze_bpe * b, struct bpe_scratch * s, const char * text, size_t n,
                                   const struct gaze_bpe_encode_opts * opts, struct gaze_encoding * enc, bool pieces) {
    struct bpe_run r = { .b = b, .s = s, .text = text, .n = n, .enc = enc, .max_len = opts->max_len, .pieces = pieces };
    enum gaze_status st;
    size_t bad = gaze_utf8_first_invalid(text, n);
    if (bad < n) {
        if (!opts->replace_invalid)
            return gaze_error(GAZE_ERR_FORMAT, "bpe: text: invalid UTF-8 at byte offset %zu (byte 0x%02X)", bad, (unsigned)(uint8_t)text[bad]);
        if ((st = repair_utf8(s, text, n, &r.n))) return st;
        r.text = s->text;
        r.ob = s->ob;
        r.oe = s->oe;
    }
    if (!opts->no_special && b->add_bos && (st = enc_push(&r, b->bos, 0, 0, -1))) return st;
    if (r.n == 0) return !opts->no_special && b->add_eos ? enc_push(&r, b->eos, 0, 0, -1) : GAZE_OK;
    size_t nf = 1;
    if (b->hf) {   // tokenizer.json: added tokens, then normalizer, pre-tokenizer and BPE per fragment
        if ((st = hf_partition(&r, !opts->no_parse_special, &nf))) return st;
        for (size_t f = 0; f < nf; f++) {
            struct bpe_frag fr = s->fa[f];
            st = fr.id >= 0 ? enc_push(&r, fr.id, fr.off, fr.off + fr.len, 0) : hf_fragment(&r, fr.off, fr.len);
            if (st) return st;
        }
        if (!opts->no_special && b->add_eos && (st = enc_push(&r, b->eos, 0, 0, -1))) return st;
        return GAZE_OK;
    }
    // 1. special tokens: for each (longest first), cut every occurrence out of the raw fragments
    if (!grow(&s->fa, &s->fa_cap, 1, sizeof *s->fa)) return gaze_error(GAZE_ERR_NOMEM, "bpe: out of memory");
    s->fa[0] = (struct bpe_frag){ -1, 0, r.n };
    for (int32_t k = 0; k < b->n_special; k++) {
        int32_t id = b->special[k];
        uint8_t ty = b->type[id];
        if (opts->no_parse_special && ty != GAZE_BPE_TOKEN_TYPE_USER_DEFINED) continue;
        size_t tl;
        const char * t = tok_text(b, id, &tl);
        size_t nb = 0;
        for (size_t f = 0; f < nf; f++) {
            struct bpe_frag fr = s->fa[f];
            size_t pos = fr.off, end = fr.off + fr.len;
            for (;;) {
                const char * hit = fr.id < 0 && end - pos >= tl ? memmem(r.text + pos, end - pos, t, tl) : NULL;
                size_t cut = hit ? (size_t)(hit - r.text) : end;
                // at most 2 fragments per hit plus the tail
                if (!grow(&s->fb, &s->fb_cap, nb + 3, sizeof *s->fb)) return gaze_error(GAZE_ERR_NOMEM, "bpe: out of memory");
                if (fr.id >= 0) { s->fb[nb++] = fr; break; }
                if (cut > pos) s->fb[nb++] = (struct bpe_frag){ -1, pos, cut - pos };
                if (!hit) break;
                s->fb[nb++] = (struct bpe_frag){ id, cut, tl };
                pos = cut + tl;
            }
        }
        struct bpe_frag * t2 = s->fa; s->fa = s->fb; s->fb = t2;
        size_t c2 = s->fa_cap; s->fa_cap = s->fb_cap; s->fb_cap = c2;
        nf = nb;
    }
    // 2. + 3. pre-tokenize and merge each raw fragment (SPM: the " " prefix goes at the start
    // and after every special token, as llama.cpp's is_prev_special)
    bool prev_special = true;
    for (size_t f = 0; f < nf; f++) {
        struct bpe_frag fr = s->fa[f];
        if (fr.id >= 0) st = enc_push(&r, fr.id, fr.off, fr.off + fr.len, 0);
        else if (b->spm) st = spm_fragment(&r, fr.off, fr.len, b->add_space_prefix && prev_special);
        else st = split(&r, 0, fr.off, fr.len);
        if (st) return st;
        prev_special = fr.id >= 0;
    }
    if (!opts->no_special && b->add_eos && (st = enc_push(&r, b->eos, 0, 0, -1))) return st;
    return GAZE_OK;
}

// tokenizers' process_offsets (byte_level.rs): a token's offsets leave out its leading and
// trailing spaces (as "\u0120" in the byte-level token), never past each other.
static void trim_offsets(const struct gaze_bpe * b, struct gaze_encoding * enc) {
    for (int64_t i = 0; i < enc->n_tokens; i++) {
        const int32_t id = enc->ids[i];
        int64_t * o = enc->offsets + 2 * i;
        const char * p = b->piece + b->piece_off[id];
        const size_t len = b->piece_off[id + 1] - b->piece_off[id];
        size_t lead = 0, trail = 0;
        while (lead < len && p[lead] == ' ') lead++;
        while (trail < len && p[len - 1 - trail] == ' ') trail++;
        if (lead > 0 && b->hfo.trim_prefix_space && (i == 0 || o[0] == 0) && lead == 1) lead = 0;
        if (lead > 0) o[0] = GAZE_MIN(o[0] + (int64_t)lead, o[1]);
        if (trail > 0 && o[1] >= (int64_t)trail) o[1] = GAZE_MAX(o[1] - (int64_t)trail, o[0]);
    }
}

static enum gaze_status encode(const struct gaze_bpe * b, const char * text, size_t n,
                               const struct gaze_bpe_encode_opts * opts, struct gaze_encoding * enc, bool pieces) {
    if (!b || !enc || (!text && n)) return gaze_error(GAZE_ERR_INVALID_ARG, "gaze_bpe_encode: NULL argument");
    static const struct gaze_bpe_encode_opts defaults = { 0 };
    if (!opts) opts = &defaults;
    enc->n_tokens = 0;
    enc->n_truncated = 0;
    if (n > BPE_MAX_INPUT)
        return gaze_error(GAZE_ERR_LIMIT, "bpe: text of %zu bytes exceeds the %zu-byte limit", n, BPE_MAX_INPUT);
    // The shared scratch is taken without waiting; a concurrent caller works in its own.
    struct gaze_bpe * mb = (struct gaze_bpe *)b;   // the scratch is the only mutable part
    struct bpe_scratch local, * s = &mb->scratch;
    bool busy = atomic_flag_test_and_set(&mb->scratch_busy);
    enum gaze_status st;
    if (busy) {
        if ((st = scratch_init(&local))) return st;
        s = &local;
    }
    st = encode_run(b, s, text ? text : "", n, opts, enc, pieces);
    if (!st && !pieces && b->hf && b->hfo.trim_offsets) trim_offsets(b, enc);
    if (busy) scratch_free(&local);
    else atomic_flag_clear(&mb->scratch_busy);
    if (st) enc->n_tokens = 0;
    return st;
}

enum gaze_status gaze_bpe_encode(const struct gaze_bpe * b, const char * text, size_t n,
                                 const struct gaze_bpe_encode_opts * opts, struct gaze_encoding * enc) {
    return encode(b, text, n, opts, enc, false);
}

enum gaze_status gaze_bpe_pretokenize(const struct gaze_bpe * b, const char * text, size_t n,
                                      const struct gaze_bpe_encode_opts * opts, struct gaze_encoding * enc) {
    return encode(b, text, n, opts, enc, true);
}

/* ------------------------------------------------------------------------------------------
 * decode and vocabulary queries
 * ---------------------------------------------------------------------------------------- */

static bool hidden_special(const struct gaze_bpe * b, int32_t id) {
    return b->type[id] == GAZE_BPE_TOKEN_TYPE_CONTROL || b->type[id] == GAZE_BPE_TOKEN_TYPE_UNKNOWN;
}

enum gaze_status gaze_bpe_decode(const struct gaze_bpe * b, const int32_t * ids, int64_t n, bool skip_special,
                                 char ** out, size_t * out_len) {
    if (!b || !out || (!ids && n > 0) || n < 0) return gaze_error(GAZE_ERR_INVALID_ARG, "gaze_bpe_decode: bad argument");
    *out = NULL;
    if (out_len) *out_len = 0;
    size_t total = 0;
    for (int64_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= b->n_tokens)
            return gaze_error(GAZE_ERR_INVALID_ARG, "gaze_bpe_decode: ids[%lld] = %d: out of range (vocab size %d)",
                              (long long)i, ids[i], b->n_tokens);
        if (skip_special && hidden_special(b, ids[i])) continue;
        total += b->piece_off[ids[i] + 1] - b->piece_off[ids[i]];   // <= 1 MiB each, n <= 2^63
    }
    char * t = malloc(total + 1);
    if (!t) return gaze_error(GAZE_ERR_NOMEM, "gaze_bpe_decode: out of memory for %zu bytes", total);
    size_t o = 0;
    for (int64_t i = 0; i < n; i++) {
        if (skip_special && hidden_special(b, ids[i])) continue;
        size_t len = b->piece_off[ids[i] + 1] - b->piece_off[ids[i]];
        memcpy(t + o, b->piece + b->piece_off[ids[i]], len);
        o += len;
    }
    t[o] = 0;
    *out = t;
    if (out_len) *out_len = o;
    return GAZE_OK;
}

const char * gaze_bpe_token_piece(const struct gaze_bpe * b, int32_t id, size_t * len) {
    if (!b || id < 0 || id >= b->n_tokens) { if (len) *len = 0; return NULL; }
    if (len) *len = b->piece_off[id + 1] - b->piece_off[id];
    return b->piece + b->piece_off[id];
}

const char * gaze_bpe_token(const struct gaze_bpe * b, int32_t id, size_t * len) {
    if (!b || id < 0 || id >= b->n_tokens) { if (len) *len = 0; return NULL; }
    size_t l;
    const char * t = tok_text(b, id, &l);
    if (len) *len = l;
    return t;
}

int32_t gaze_bpe_token_id(const struct gaze_bpe * b, const char * s, size_t n) {
    return b && s && n ? tok_lookup(b, s, n) : -1;
}

enum gaze_bpe_token_type gaze_bpe_token_type(const struct gaze_bpe * b, int32_t id) {
    if (!b || id < 0 || id >= b->n_tokens) return GAZE_BPE_TOKEN_TYPE_UNDEFINED;
    return (enum gaze_bpe_token_type)b->type[id];
}

int32_t gaze_bpe_vocab_size(const struct gaze_bpe * b) { return b ? b->n_tokens : 0; }

struct gaze_bpe_specials gaze_bpe_specials(const struct gaze_bpe * b) {
    struct gaze_bpe_specials sp = { -1, -1, false };
    if (b) { sp.bos = b->bos; sp.eos = b->eos; sp.add_bos = b->add_bos; }
    return sp;
}

const char * gaze_bpe_pre(const struct gaze_bpe * b) { return !b ? NULL : b->hf ? b->pre_name : k_pre_defs[b->pre].name; }

bool gaze_bpe_jit(const struct gaze_bpe * b) { return b && b->jit; }

bool bpe_add_eos(const struct gaze_bpe * b) { return b && b->add_eos; }

// WordPiece tokenizer: golden cases from HF (tests/fixtures/bert/tokens.json, made by
// tests/reference/gen_bert_fixtures.py) through both tokenizer.json and vocab.txt, unit cases
// on a tiny vocabulary, UTF-8 validation, and malformed tokenizer files.
// Needs the fetched model: $GAZE_HOME/models/minilm (scripts/fetch-test-models).
#include "check.h"
#include "gaze.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char * src_dir(void) {
    const char * s = getenv("GAZE_SOURCE_DIR");
    return s && *s ? s : ".";
}

static void minilm_dir(char * out, size_t n) {
    const char * home = getenv("GAZE_HOME");
    if (home && *home) snprintf(out, n, "%s/models/minilm", home);
    else snprintf(out, n, "%s/.cache/gaze/models/minilm", getenv("HOME") ? getenv("HOME") : ".");
}

static bool status_is(enum gaze_status got, enum gaze_status want, const char * needle) {
    if (got != want) {
        fprintf(stderr, "  got %s (%s), want %s\n", gaze_status_name(got), gaze_last_error(), gaze_status_name(want));
        return false;
    }
    if (needle && !strstr(gaze_last_error(), needle)) {
        fprintf(stderr, "  message '%s' lacks '%s'\n", gaze_last_error(), needle);
        return false;
    }
    return true;
}

/* ---------------------------------------------------------------- golden cases from HF */

static int compare_case(const struct gaze_wordpiece * tok, json_t * c, const char * via, bool check_strings) {
    const char * name = json_string_value(json_object_get(c, "name"));
    json_t * jt = json_object_get(c, "text"), * jp = json_object_get(c, "pair");
    json_t * ids = json_object_get(c, "input_ids"), * types = json_object_get(c, "token_type_ids");
    json_t * offs = json_object_get(c, "offsets"), * seqs = json_object_get(c, "sequence_ids");
    json_t * toks = json_object_get(c, "tokens"), * trunc = json_object_get(c, "truncation");
    struct gaze_encode_opts opts = { 0 };
    if (json_is_object(trunc)) {
        opts.max_len = json_integer_value(json_object_get(trunc, "max_length"));
        opts.truncation = GAZE_TRUNCATION_LONGEST_FIRST;
    }
    struct gaze_encoding enc = { 0 };
    enum gaze_status s = gaze_wordpiece_encode(tok, json_string_value(jt), json_string_length(jt),
                                               json_is_string(jp) ? json_string_value(jp) : NULL,
                                               json_is_string(jp) ? json_string_length(jp) : 0, &opts, &enc);
    int bad = 0;
    if (s != GAZE_OK) {
        fprintf(stderr, "  [%s] %s: %s\n", via, name, gaze_last_error());
        return 1;
    }
    size_t T = json_array_size(ids);
    if ((size_t)enc.n_tokens != T) {
        fprintf(stderr, "  [%s] %s: %lld tokens, HF has %zu\n", via, name, (long long)enc.n_tokens, T);
        bad++;
    }
    for (size_t i = 0; i < T && i < (size_t)enc.n_tokens && bad < 4; i++) {
        json_t * o = json_array_get(offs, i);
        int64_t b = json_integer_value(json_array_get(o, 0)), e = json_integer_value(json_array_get(o, 1));
        const char * want_tok = json_string_value(json_array_get(toks, i));
        const char * got_tok = gaze_wordpiece_token(tok, enc.ids[i]);
        if (enc.ids[i] != json_integer_value(json_array_get(ids, i)) ||
            enc.type_ids[i] != json_integer_value(json_array_get(types, i)) ||
            enc.offsets[2 * i] != b || enc.offsets[2 * i + 1] != e ||
            enc.sequence_ids[i] != json_integer_value(json_array_get(seqs, i)) ||
            (check_strings && (!got_tok || strcmp(got_tok, want_tok)))) {
            fprintf(stderr, "  [%s] %s token %zu: got id %d type %d (%lld,%lld) seq %d '%s'; "
                    "HF id %lld type %lld (%lld,%lld) seq %lld '%s'\n", via, name, i, enc.ids[i], enc.type_ids[i],
                    (long long)enc.offsets[2 * i], (long long)enc.offsets[2 * i + 1], enc.sequence_ids[i],
                    got_tok ? got_tok : "?", (long long)json_integer_value(json_array_get(ids, i)),
                    (long long)json_integer_value(json_array_get(types, i)), (long long)b, (long long)e,
                    (long long)json_integer_value(json_array_get(seqs, i)), want_tok);
            bad++;
        }
    }
    gaze_encoding_free(&enc);
    return bad;
}

static void test_golden(void) {
    char dir[4096], path[4200], fix[4200];
    minilm_dir(dir, sizeof dir);
    snprintf(fix, sizeof fix, "%s/tests/fixtures/bert/tokens.json", src_dir());
    json_error_t jerr;
    json_t * root = json_load_file(fix, JSON_ALLOW_NUL, &jerr);   // inputs contain U+0000
    CHECK(root != NULL, "%s: %s", fix, jerr.text);
    if (!root) return;
    json_t * cases = json_object_get(root, "cases");
    CHECK(json_array_size(cases) >= 25, "only %zu golden cases", json_array_size(cases));

    struct gaze_wordpiece * tj = NULL, * tv = NULL;
    enum gaze_status s = gaze_wordpiece_init(&tj, dir);
    CHECK(s == GAZE_OK, "load %s (fetch it with scripts/fetch-test-models): %s", dir, gaze_last_error());
    snprintf(path, sizeof path, "%s/vocab.txt", dir);
    s = gaze_wordpiece_init(&tv, path);
    CHECK(s == GAZE_OK, "load %s: %s", path, gaze_last_error());
    if (tj && tv) {
        CHECK(gaze_wordpiece_vocab_size(tj) == 30522, "vocab %d", gaze_wordpiece_vocab_size(tj));
        CHECK(gaze_wordpiece_vocab_size(tv) == 30522, "vocab %d", gaze_wordpiece_vocab_size(tv));
        struct gaze_wordpiece_specials sp = gaze_wordpiece_specials(tj);
        CHECK(sp.pad == 0 && sp.unk == 100 && sp.cls == 101 && sp.sep == 102 && sp.mask == 103,
              "specials %d %d %d %d %d", sp.pad, sp.unk, sp.cls, sp.sep, sp.mask);
        size_t i;
        json_t * c;
        json_array_foreach(cases, i, c) {
            const char * name = json_string_value(json_object_get(c, "name"));
            CHECK(compare_case(tj, c, "tokenizer.json", true) == 0, "case %zu '%s' differs from HF", i, name);
            CHECK(compare_case(tv, c, "vocab.txt", true) == 0, "case %zu '%s' (vocab.txt) differs from HF", i, name);
        }
    }

    // the same encoding struct reused across calls, and the no-special-token mode
    if (tj) {
        struct gaze_encoding enc = { 0 };
        struct gaze_encode_opts plain = { .no_special = true };
        s = gaze_wordpiece_encode(tj, "Hello world", 11, NULL, 0, NULL, &enc);
        CHECK(s == GAZE_OK && enc.n_tokens == 4, "n %lld", (long long)enc.n_tokens);
        s = gaze_wordpiece_encode(tj, "Hello world", 11, "again", 5, &plain, &enc);
        CHECK(s == GAZE_OK && enc.n_tokens == 3 && enc.ids[0] == 7592 && enc.type_ids[2] == 1 &&
              enc.sequence_ids[2] == 1, "no_special pair: n %lld", (long long)enc.n_tokens);
        // more tokens than max_len without truncation is an error, never a silent cut
        struct gaze_encode_opts lim = { .max_len = 3 };
        s = gaze_wordpiece_encode(tj, "Hello world", 11, NULL, 0, &lim, &enc);
        CHECK(status_is(s, GAZE_ERR_LIMIT, "more than the limit 3"), "max_len without truncation");
        lim.truncation = GAZE_TRUNCATION_LONGEST_FIRST;
        s = gaze_wordpiece_encode(tj, "Hello world", 11, NULL, 0, &lim, &enc);
        CHECK(s == GAZE_OK && enc.n_tokens == 3 && enc.ids[0] == 101 && enc.ids[1] == 7592 &&
              enc.ids[2] == 102 && enc.n_truncated == 1, "truncate keeps [CLS] x [SEP]");
        lim.max_len = 2;
        s = gaze_wordpiece_encode(tj, "Hello world", 11, NULL, 0, &lim, &enc);
        CHECK(status_is(s, GAZE_ERR_INVALID_ARG, "no room"), "max_len below the special tokens");

        // throughput on ~1 MB of mixed text (indicative; printed for the report)
        size_t n = 1 << 20;
        char * big = malloc(n);
        const char * unit = "The café's naïve résumé — 日本語 text, 123.45 units; unaffable! ";
        size_t ul = strlen(unit);
        for (size_t k = 0; k < n; k++) big[k] = unit[k % ul];
        size_t cut = n - n % ul;   // whole units: valid UTF-8
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        s = gaze_wordpiece_encode(tj, big, cut, NULL, 0, NULL, &enc);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double sec = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
        CHECK(s == GAZE_OK && enc.n_tokens > 200000, "1 MB encode: %lld tokens", (long long)enc.n_tokens);
        printf("wordpiece: %.1f MB/s, %.2f M tokens/s (1 MB input, %lld tokens)\n",
               (double)cut / sec / 1e6, (double)enc.n_tokens / sec / 1e6, (long long)enc.n_tokens);
        free(big);
        gaze_encoding_free(&enc);
    }
    gaze_wordpiece_free(tj);
    gaze_wordpiece_free(tv);
    json_decref(root);
}

/* ---------------------------------------------------------------- unit cases, tiny vocab */

static const char * tiny_vocab =
    "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\nworld\n,\n!\nun\n##aff\n##able\ncafe\nnaive\n"
    "我\n喜\n欢\n.\na\n##a\n##aa\nx\n";
enum { T_PAD, T_UNK, T_CLS, T_SEP, T_MASK, T_HELLO, T_WORLD, T_COMMA, T_EXCL, T_UN, T_AFF, T_ABLE,
       T_CAFE, T_NAIVE, T_WO, T_XI, T_HUAN, T_DOT, T_A, T_CA, T_CAA, T_X };

// Encodes text and checks ids and offsets (without [CLS]/[SEP]); want_off may be NULL.
static bool enc_is(const struct gaze_wordpiece * t, const char * text, const int32_t * want, int n,
                   const int64_t * want_off) {
    struct gaze_encoding enc = { 0 };
    struct gaze_encode_opts o = { .no_special = true };
    enum gaze_status s = gaze_wordpiece_encode(t, text, strlen(text), NULL, 0, &o, &enc);
    bool ok = s == GAZE_OK && enc.n_tokens == n;
    for (int i = 0; ok && i < n; i++) {
        ok = enc.ids[i] == want[i];
        if (want_off) ok = ok && enc.offsets[2 * i] == want_off[2 * i] && enc.offsets[2 * i + 1] == want_off[2 * i + 1];
    }
    if (!ok) {
        fprintf(stderr, "  '%s' ->", text);
        for (int64_t i = 0; i < enc.n_tokens; i++)
            fprintf(stderr, " %d(%lld,%lld)", enc.ids[i], (long long)enc.offsets[2 * i], (long long)enc.offsets[2 * i + 1]);
        fprintf(stderr, " %s\n", s ? gaze_last_error() : "");
    }
    gaze_encoding_free(&enc);
    return ok;
}

static void test_units(void) {
    struct gaze_wordpiece * t = NULL;
    enum gaze_status s = gaze_wordpiece_init_vocab(&t, tiny_vocab, strlen(tiny_vocab), true, "tiny");
    CHECK(s == GAZE_OK, "tiny vocab: %s", gaze_last_error());
    if (!t) return;
    // lowercase + punctuation split + offsets into the input
    CHECK(enc_is(t, "Hello, WORLD!", (int32_t[]){ T_HELLO, T_COMMA, T_WORLD, T_EXCL }, 4,
                 (int64_t[]){ 0, 5, 5, 6, 7, 12, 12, 13 }), "lowercase/punct");
    // accents stripped (NFD, drop Mn), both precomposed and combining; offsets span the bytes
    CHECK(enc_is(t, "Café NAÏVE", (int32_t[]){ T_CAFE, T_NAIVE }, 2, (int64_t[]){ 0, 5, 6, 12 }), "accents");
    // a dropped mark belongs to no token: HF's offsets end before it too
    CHECK(enc_is(t, "cafe\xCC\x81", (int32_t[]){ T_CAFE }, 1, (int64_t[]){ 0, 4 }), "combining acute");
    // CJK ideographs split one by one, even without spaces
    CHECK(enc_is(t, "我喜欢.", (int32_t[]){ T_WO, T_XI, T_HUAN, T_DOT }, 4,
                 (int64_t[]){ 0, 3, 3, 6, 6, 9, 9, 10 }), "cjk");
    // ## continuation, greedy longest match
    CHECK(enc_is(t, "unaffable", (int32_t[]){ T_UN, T_AFF, T_ABLE }, 3, (int64_t[]){ 0, 2, 2, 5, 5, 9 }), "##");
    CHECK(enc_is(t, "aaaa", (int32_t[]){ T_A, T_CAA, T_CA }, 3, NULL), "greedy");
    // any unmatched piece makes the whole word [UNK]
    CHECK(enc_is(t, "unaffablez x", (int32_t[]){ T_UNK, T_X }, 2, (int64_t[]){ 0, 10, 11, 12 }), "word unk");
    // control chars dropped, whitespace variants split
    CHECK(enc_is(t, "x\x01\xE2\x80\x8Bx\xC2\xA0x\tx", (int32_t[]){ T_UNK, T_X, T_X }, 3, NULL), "control/space");
    // 100 chars is a word, 101 is [UNK]
    char w[256];
    memset(w, 'a', 100); w[100] = 0;
    struct gaze_encoding enc = { 0 };
    struct gaze_encode_opts o = { .no_special = true };
    s = gaze_wordpiece_encode(t, w, 100, NULL, 0, &o, &enc);
    CHECK(s == GAZE_OK && enc.n_tokens == 51 && enc.ids[0] == T_A, "100 chars: %lld tokens", (long long)enc.n_tokens);
    memset(w, 'a', 101); w[101] = 0;
    CHECK(enc_is(t, w, (int32_t[]){ T_UNK }, 1, (int64_t[]){ 0, 101 }), ">100 chars");
    // 101 code points of two bytes each: counted in chars, offsets in bytes
    for (int i = 0; i < 101; i++) { w[2 * i] = (char)0xC3; w[2 * i + 1] = (char)0xA1; }
    s = gaze_wordpiece_encode(t, w, 202, NULL, 0, &o, &enc);
    CHECK(s == GAZE_OK && enc.n_tokens == 1 && enc.ids[0] == T_UNK && enc.offsets[1] == 202, "101 x á");
    // special tokens in the text are matched before normalisation
    // ("[mask]" is not one: matching is exact; it splits into "[", "mask", "]", all unknown here)
    CHECK(enc_is(t, "x[MASK]x [mask]", (int32_t[]){ T_X, T_MASK, T_X, T_UNK, T_UNK, T_UNK }, 6,
                 (int64_t[]){ 0, 1, 1, 7, 7, 8, 9, 10, 10, 14, 14, 15 }), "added tokens");
    // pairs: [CLS] A [SEP] B [SEP], type ids 0.. 1.., offsets per input
    s = gaze_wordpiece_encode(t, "hello", 5, "world!", 6, NULL, &enc);
    CHECK(s == GAZE_OK && enc.n_tokens == 6 && enc.ids[0] == T_CLS && enc.ids[2] == T_SEP && enc.ids[5] == T_SEP &&
          enc.type_ids[2] == 0 && enc.type_ids[3] == 1 && enc.type_ids[5] == 1 &&
          enc.offsets[2 * 3] == 0 && enc.offsets[2 * 4] == 5 && enc.sequence_ids[0] == -1, "pair layout");
    // invalid UTF-8: error names the input and the byte offset
    s = gaze_wordpiece_encode(t, "ab\xC3(", 4, NULL, 0, NULL, &enc);
    CHECK(status_is(s, GAZE_ERR_FORMAT, "text: invalid UTF-8 at byte offset 2"), "invalid utf-8");
    s = gaze_wordpiece_encode(t, "ok", 2, "\xE2\x82", 2, NULL, &enc);
    CHECK(status_is(s, GAZE_ERR_FORMAT, "pair: invalid UTF-8 at byte offset 0"), "truncated sequence in pair");
    CHECK(enc.n_tokens == 0, "no tokens after an error");
    gaze_encoding_free(&enc);
    gaze_wordpiece_free(t);
}

static void test_utf8(void) {
    struct { const char * s; size_t n; long bad; } cases[] = {
        { "plain", 5, -1 }, { "caf\xC3\xA9", 5, -1 }, { "\xF0\x9F\x98\x80", 4, -1 }, { "\xF4\x8F\xBF\xBF", 4, -1 },
        { "a\x80", 2, 1 },              // lone continuation byte
        { "\xC0\x80", 2, 0 },           // overlong NUL
        { "\xE0\x80\xAF", 3, 0 },       // overlong '/'
        { "x\xED\xA0\x80", 4, 1 },      // UTF-16 surrogate
        { "\xF4\x90\x80\x80", 4, 0 },   // above U+10FFFF
        { "ab\xE2\x82", 4, 2 },         // truncated at the end
        { "\xFF", 1, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        enum gaze_status s = gaze_utf8_validate(cases[i].s, cases[i].n, "t");
        if (cases[i].bad < 0) {
            CHECK(s == GAZE_OK, "case %zu: %s", i, gaze_last_error());
        } else {
            char want[64];
            snprintf(want, sizeof want, "byte offset %ld ", cases[i].bad);
            CHECK(status_is(s, GAZE_ERR_FORMAT, want), "case %zu", i);
        }
    }
}

/* ---------------------------------------------------------------- malformed files */

#define TJ_HEAD "{\"version\":\"1.0\",\"added_tokens\":[],\"normalizer\":{\"type\":\"BertNormalizer\"," \
    "\"clean_text\":true,\"handle_chinese_chars\":true,\"strip_accents\":null,\"lowercase\":true}," \
    "\"pre_tokenizer\":{\"type\":\"BertPreTokenizer\"},"
#define TJ_POST "\"post_processor\":{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"[CLS]\",\"type_id\":0}}," \
    "{\"Sequence\":{\"id\":\"A\",\"type_id\":0}},{\"SpecialToken\":{\"id\":\"[SEP]\",\"type_id\":0}}],\"pair\":null," \
    "\"special_tokens\":{\"[CLS]\":{\"id\":\"[CLS]\",\"ids\":[2],\"tokens\":[\"[CLS]\"]},\"[SEP]\":{\"id\":\"[SEP]\",\"ids\":[3],\"tokens\":[\"[SEP]\"]}}},"
#define TJ_VOCAB "{\"[PAD]\":0,\"[UNK]\":1,\"[CLS]\":2,\"[SEP]\":3,\"hi\":4}"
#define TJ_MODEL(type, vocab) "\"model\":{\"type\":\"" type "\",\"unk_token\":\"[UNK]\",\"continuing_subword_prefix\":\"##\"," \
    "\"max_input_chars_per_word\":100,\"vocab\":" vocab "}}"

static enum gaze_status load_json(const char * js) {
    struct gaze_wordpiece * t = NULL;
    enum gaze_status s = gaze_wordpiece_init_json(&t, js, strlen(js), "bad.json");
    gaze_wordpiece_free(t);
    return s;
}

static void test_malformed(void) {
    // the well-formed base document loads, and a pair needs a template it lacks
    const char * good = TJ_HEAD TJ_POST TJ_MODEL("WordPiece", TJ_VOCAB);
    struct gaze_wordpiece * t = NULL;
    enum gaze_status s = gaze_wordpiece_init_json(&t, good, strlen(good), "good.json");
    CHECK(s == GAZE_OK, "base document: %s", gaze_last_error());
    if (t) {
        struct gaze_encoding enc = { 0 };
        s = gaze_wordpiece_encode(t, "Hi", 2, NULL, 0, NULL, &enc);
        CHECK(s == GAZE_OK && enc.n_tokens == 3 && enc.ids[0] == 2 && enc.ids[1] == 4 && enc.ids[2] == 3, "base encode");
        s = gaze_wordpiece_encode(t, "Hi", 2, "hi", 2, NULL, &enc);
        CHECK(status_is(s, GAZE_ERR_UNSUPPORTED, "pairs"), "pair without template");
        gaze_encoding_free(&enc);
        gaze_wordpiece_free(t);
    }
    CHECK(status_is(load_json(TJ_HEAD TJ_POST TJ_MODEL("BPE", TJ_VOCAB)), GAZE_ERR_UNSUPPORTED, "model.type 'BPE'"),
          "unknown model type");
    CHECK(status_is(load_json(TJ_HEAD TJ_POST "\"model\":{\"type\":\"WordPiece\",\"unk_token\":\"[UNK]\"}}"),
                    GAZE_ERR_FORMAT, "model.vocab missing"), "missing vocab");
    CHECK(status_is(load_json(TJ_HEAD TJ_POST "\"normalizer2\":1}"), GAZE_ERR_FORMAT, "missing \"model\""), "no model");
    CHECK(status_is(load_json(TJ_HEAD TJ_POST TJ_MODEL("WordPiece", "{\"[PAD]\":0,\"[UNK]\":1,\"[CLS]\":2,\"[SEP]\":3,\"hi\":40}")),
                    GAZE_ERR_FORMAT, "model.vocab['hi']: id 40 out of range [0, 5)"), "id out of range");
    CHECK(status_is(load_json(TJ_HEAD TJ_POST TJ_MODEL("WordPiece", "{\"[PAD]\":0,\"[UNK]\":1,\"[CLS]\":2,\"[SEP]\":3,\"hi\":-1}")),
                    GAZE_ERR_FORMAT, "out of range"), "negative id");
    CHECK(status_is(load_json(TJ_HEAD TJ_POST TJ_MODEL("WordPiece", "{\"[PAD]\":0,\"[UNK]\":1,\"[CLS]\":2,\"[SEP]\":3,\"hi\":\"4\"}")),
                    GAZE_ERR_FORMAT, "not an integer"), "string id");
    CHECK(status_is(load_json(TJ_HEAD TJ_POST TJ_MODEL("WordPiece", "{\"[PAD]\":0,\"[UNK]\":1,\"[CLS]\":2,\"[SEP]\":3,\"hi\":4,\"hi\":3}")),
                    GAZE_ERR_FORMAT, "duplicate"), "duplicate token");
    CHECK(status_is(load_json(TJ_HEAD TJ_POST TJ_MODEL("WordPiece", "{\"[PAD]\":0,\"[UNK]\":1,\"[CLS]\":2,\"[SEP]\":3,\"hi\":3}")),
                    GAZE_ERR_FORMAT, "id 3 used by both"), "duplicate id");
    CHECK(status_is(load_json(TJ_HEAD TJ_POST TJ_MODEL("WordPiece", "{\"[PAX]\":0,\"[UNK]\":1,\"[CLS]\":2,\"[SEP]\":3,\"hi\":4}")),
                    GAZE_ERR_FORMAT, "'[PAD]' missing"), "missing [PAD]");
    CHECK(status_is(load_json(TJ_HEAD TJ_POST TJ_MODEL("WordPiece", "{\"[PAD]\":0,\"[UNX]\":1,\"[CLS]\":2,\"[SEP]\":3,\"hi\":4}")),
                    GAZE_ERR_FORMAT, "'[UNK]' (model.unk_token) missing"), "missing [UNK]");
    CHECK(status_is(load_json(TJ_HEAD TJ_POST TJ_MODEL("WordPiece", "{\"[PAD]\":0,\"[UNK]\":1,\"[CLS]\":2,\"[SEPX]\":3,\"hi\":4}")),
                    GAZE_ERR_FORMAT, "not '[SEP]'"), "missing [SEP]");
    CHECK(status_is(load_json(TJ_HEAD "\"post_processor\":null," TJ_MODEL("WordPiece", "{\"[PAD]\":0,\"[UNK]\":1,\"[CLX]\":2,\"[SEP]\":3}")),
                    GAZE_ERR_FORMAT, "'[CLS]' missing"), "missing [CLS]");
    CHECK(status_is(load_json("{\"normalizer\":{\"type\":\"Sequence\",\"normalizers\":[]}," TJ_POST TJ_MODEL("WordPiece", TJ_VOCAB)),
                    GAZE_ERR_UNSUPPORTED, "normalizer.type 'Sequence'"), "unknown normalizer");
    CHECK(status_is(load_json("{\"pre_tokenizer\":{\"type\":\"ByteLevel\"}," TJ_POST TJ_MODEL("WordPiece", TJ_VOCAB)),
                    GAZE_ERR_UNSUPPORTED, "pre_tokenizer.type 'ByteLevel'"), "unknown pre-tokenizer");
    CHECK(status_is(load_json("{\"post_processor\":{\"type\":\"RobertaProcessing\"}," TJ_MODEL("WordPiece", TJ_VOCAB)),
                    GAZE_ERR_UNSUPPORTED, "post_processor.type 'RobertaProcessing'"), "unknown post-processor");
    CHECK(status_is(load_json("{\"added_tokens\":[{\"id\":9,\"content\":\"[X]\"}]," TJ_POST TJ_MODEL("WordPiece", TJ_VOCAB)),
                    GAZE_ERR_FORMAT, "added_tokens[0] '[X]': id 9 out of range"), "added token out of range");
    CHECK(status_is(load_json("{\"normalizer\":{\"type\":\"BertNormalizer\",\"lowercase\":\"yes\"}," TJ_POST TJ_MODEL("WordPiece", TJ_VOCAB)),
                    GAZE_ERR_FORMAT, "normalizer.lowercase"), "wrong field type");
    CHECK(status_is(load_json("[1, 2]"), GAZE_ERR_FORMAT, "not a JSON object"), "array document");
    CHECK(status_is(load_json(""), GAZE_ERR_FORMAT, "JSON at offset"), "empty document");
    char trunc[sizeof TJ_HEAD];
    memcpy(trunc, TJ_HEAD, sizeof trunc);
    trunc[sizeof trunc / 2] = 0;
    CHECK(status_is(load_json(trunc), GAZE_ERR_FORMAT, "JSON at offset"), "truncated document");

    // vocab.txt: BOM and CRLF accepted, blank lines keep their id, duplicates rejected
    const char * v1 = "\xEF\xBB\xBF[PAD]\r\n[UNK]\r\n\r\n[CLS]\r\n[SEP]\r\nhi";
    s = gaze_wordpiece_init_vocab(&t, v1, strlen(v1), true, "v1.txt");
    CHECK(s == GAZE_OK, "BOM/CRLF vocab: %s", gaze_last_error());
    if (t) {
        CHECK(gaze_wordpiece_vocab_size(t) == 6 && gaze_wordpiece_token_id(t, "[PAD]", 5) == 0 &&
              gaze_wordpiece_token_id(t, "[CLS]", 5) == 3 && gaze_wordpiece_token_id(t, "hi", 2) == 5 &&
              !strcmp(gaze_wordpiece_token(t, 2), ""), "ids follow lines");
        gaze_wordpiece_free(t);
    }
    const char * v2 = "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhi\nyo\nhi\n";
    CHECK(status_is(gaze_wordpiece_init_vocab(&t, v2, strlen(v2), true, "v2.txt"), GAZE_ERR_FORMAT,
                    "line 7 duplicates line 5"), "duplicate line");
    const char * v3 = "[PAD]\n[CLS]\n[SEP]\nhi\n";
    CHECK(status_is(gaze_wordpiece_init_vocab(&t, v3, strlen(v3), true, "v3.txt"), GAZE_ERR_FORMAT, "'[UNK]' missing"),
          "vocab without [UNK]");
    const char * v4 = "[PAD]\n[UNK]\n[CLS]\n[SEP]\nh\xFFi\n";
    CHECK(status_is(gaze_wordpiece_init_vocab(&t, v4, strlen(v4), true, "v4.txt"), GAZE_ERR_FORMAT,
                    "line 5: invalid UTF-8 at byte offset 25"), "invalid UTF-8 line");
    CHECK(status_is(gaze_wordpiece_init_vocab(&t, "", 0, true, "v5.txt"), GAZE_ERR_FORMAT, "empty"), "empty vocab");
    CHECK(status_is(gaze_wordpiece_init(&t, "/nonexistent/tokenizer.json"), GAZE_ERR_IO, "/nonexistent"), "missing file");
}

int main(void) {
    test_utf8();
    test_units();
    test_malformed();
    test_golden();
    return check_summary("test_wordpiece");
}

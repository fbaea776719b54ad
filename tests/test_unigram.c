// Unigram tokenizer.json (text/unigram.c, text/normalize.c): ids and byte offsets identical to
// Hugging Face `tokenizers` 0.20.3 for two tokenizers trained by
// tests/reference/gen_unigram_fixtures.py (XLM-RoBERTa's layout with the real nmt_nfkc
// precompiled_charsmap, and a generic SentencePiece layout with byte fallback, Strip both sides,
// a string Replace, Metaspace "first") over 120 strings, with and without special tokens; a
// hand-made charsmap that maps "a" to "b"; and malformed or unsupported files refused by name.
#include "check.h"
#include "encoding_check.h"
#include "core/sha256.h"
#include "gaze.h"
#include "text/tokenizer.h"
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char * fx(char * buf, size_t cap, const char * name) {
    const char * d = getenv("GAZE_SOURCE_DIR");
    snprintf(buf, cap, "%s/tests/fixtures/unigram/%s", d && *d ? d : ".", name);
    return buf;
}

static void test_cases(void) {
    char path[4200];
    json_error_t err;
    json_t * doc = json_load_file(fx(path, sizeof path, "cases.json"), JSON_ALLOW_NUL, &err);
    CHECK(doc != NULL, "%s: %s", path, err.text);
    if (!doc) return;
    json_t * names = json_object_get(doc, "tokenizers"), * cases = json_object_get(doc, "cases"), * jn;
    struct gaze_encoding enc = { 0 };
    size_t ni;
    json_array_foreach(names, ni, jn) {
        const char * name = json_string_value(jn);
        char file[256];
        snprintf(file, sizeof file, "%s.json", name);
        struct gaze_tokenizer * t = NULL;
        enum gaze_status s = gaze_tokenizer_open(fx(path, sizeof path, file), &t);
        CHECK(s == GAZE_OK, "%s: %s", path, gaze_last_error());
        if (s) continue;
        CHECK(gaze_tokenizer_kind(t) == GAZE_TOKENIZER_UNIGRAM && !strcmp(gaze_tokenizer_kind_name(gaze_tokenizer_kind(t)), "unigram"),
              "%s: kind %d", name, gaze_tokenizer_kind(t));
        int bad = 0, n = 0;
        size_t i;
        json_t * c;
        json_array_foreach(cases, i, c) {
            json_t * jt = json_object_get(c, "text");
            const char * text = json_string_value(jt);
            for (int plain = 0; plain < 2; plain++) {
                char key[64];
                snprintf(key, sizeof key, "%s%s", name, plain ? "_plain" : "");
                json_t * want = json_object_get(c, key);
                struct gaze_tokenizer_encode_opts o = { 0 };
                o.no_special = plain;
                s = gaze_tokenizer_encode(t, text, json_string_length(jt), &o, &enc);
                bool ok = s == GAZE_OK && enc_same(&enc, want);
                if (!ok && bad++ < (getenv("GAZE_TEST_VERBOSE") ? 100 : 4)) { if (s) fprintf(stderr, "  %s\n", gaze_last_error()); enc_show(key, text, &enc, want); }
                n++;
            }
        }
        CHECK(bad == 0 && n >= 240, "%s: %d of %d encodings differ from tokenizers (ids or offsets)", name, bad, n);
        printf("%s: %d encodings\n", name, n);
        // the specials the models need
        struct gaze_tokenizer_specials sp = gaze_tokenizer_specials(t);
        if (!strcmp(name, "xlmr"))
            CHECK(sp.bos == 0 && sp.eos == 2 && sp.pad == 1 && sp.unk == 3 && sp.add_bos && sp.add_eos,
                  "xlmr specials: bos %d eos %d pad %d unk %d", sp.bos, sp.eos, sp.pad, sp.unk);
        // decoding: pieces with U+2581 as spaces, specials hidden
        int32_t ids[] = { 0, 8, 701, 24, 2 };
        char * txt = NULL;
        if (!strcmp(name, "xlmr") && gaze_tokenizer_decode(t, ids, 5, true, &txt, NULL) == GAZE_OK)
            CHECK(txt && !strcmp(txt, " a b"), "xlmr decode: \"%s\"", txt ? txt : "(null)");
        free(txt);
        gaze_tokenizer_free(t);
    }
    gaze_encoding_free(&enc);
    json_decref(doc);
}

/* ---- a hand-made charsmap ---------------------------------------------------------------- */

// units [n] + normalized strings -> base64 of the blob spm_precompiled reads
static char * charsmap_b64(const uint32_t * units, size_t n, const char * norm, size_t nl, uint32_t trie_bytes) {
    size_t bn = 4 + 4 * n + nl;
    uint8_t * blob = malloc(bn);
    for (int k = 0; k < 4; k++) blob[k] = (uint8_t)(trie_bytes >> (8 * k));
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 4; k++) blob[4 + 4 * i + k] = (uint8_t)(units[i] >> (8 * k));
    memcpy(blob + 4 + 4 * n, norm, nl);
    char * out = calloc(4 * ((bn + 2) / 3) + 1, 1);
    gaze_base64_encode(blob, bn, out);
    free(blob);
    return out;
}

static enum gaze_status open_doc(const char * charsmap, const char * extra_norm, struct gaze_tokenizer ** t) {
    char * doc = malloc(strlen(charsmap) + 1024);
    sprintf(doc, "{\"normalizer\": {\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"Precompiled\", \"precompiled_charsmap\": \"%s\"}%s]},"
            " \"model\": {\"type\": \"Unigram\", \"unk_id\": 0, \"vocab\": [[\"<unk>\", 0], [\"b\", -1], [\"a\", -2], [\"c\", -3]]}}",
            charsmap, extra_norm);
    enum gaze_status s = tok_from_json_buffer(doc, strlen(doc), "u.json", t);
    free(doc);
    return s;
}

static void test_charsmap(void) {
    uint32_t units[512] = { 0 };
    units[0x61] = 0x61 | 0x100 | (1u << 18);   // 'a': leaf, child at 0x61 ^ 256
    units[0x61 ^ 256] = 0;                     // its value: normalized string at 0
    char * b = charsmap_b64(units, 512, "b\0", 2, 512 * 4);
    struct gaze_tokenizer * t = NULL;
    enum gaze_status s = open_doc(b, "", &t);
    CHECK(s == GAZE_OK, "hand-made charsmap: %s", gaze_last_error());
    struct gaze_encoding enc = { 0 };
    if (!s) {
        struct gaze_tokenizer_encode_opts o = { 0 };
        s = gaze_tokenizer_encode(t, "cab", 3, &o, &enc);
        // "cab" -> "cbb": c, b, b, each with its own original byte
        CHECK(s == GAZE_OK && enc.n_tokens == 3 && enc.ids[0] == 3 && enc.ids[1] == 1 && enc.ids[2] == 1 && enc.offsets[2] == 1 &&
              enc.offsets[3] == 2, "charsmap a->b: %d tokens, ids %d %d", (int)enc.n_tokens, enc.n_tokens ? enc.ids[0] : -1,
              enc.n_tokens > 1 ? enc.ids[1] : -1);
        s = gaze_tokenizer_encode(t, "x", 1, &o, &enc);
        CHECK(s == GAZE_OK && enc.n_tokens == 1 && enc.ids[0] == 0, "unknown character -> <unk>");
    }
    gaze_tokenizer_free(t);
    free(b);
    // malformed: a leaf whose string index lies outside the strings
    units[0x61 ^ 256] = 7;
    b = charsmap_b64(units, 512, "b\0", 2, 512 * 4);
    s = open_doc(b, "", &t);
    CHECK(s == GAZE_ERR_FORMAT && strstr(gaze_last_error(), "precompiled_charsmap") && strstr(gaze_last_error(), "index 7"),
          "string index out of range: %d %s", s, gaze_last_error());
    free(b);
    // malformed: a child beyond the array
    units[0x61 ^ 256] = 0;
    units[0x61] = 0x61 | 0x100 | (1000u << 10);
    b = charsmap_b64(units, 512, "b\0", 2, 512 * 4);
    s = open_doc(b, "", &t);
    CHECK(s == GAZE_ERR_FORMAT && strstr(gaze_last_error(), "outside the 512-unit array"), "child out of range: %s", gaze_last_error());
    free(b);
    // malformed: the root beyond the array
    units[0x61] = 0x61 | 0x100 | (1u << 18);
    units[0] = 4000u << 10;
    b = charsmap_b64(units, 512, "b\0", 2, 512 * 4);
    s = open_doc(b, "", &t);
    CHECK(s == GAZE_ERR_FORMAT && strstr(gaze_last_error(), "trie offset"), "root out of range: %s", gaze_last_error());
    free(b);
    units[0] = 0;
    // a trie size beyond the blob
    b = charsmap_b64(units, 512, "b\0", 2, 4096 * 4);
    s = open_doc(b, "", &t);
    CHECK(s == GAZE_ERR_FORMAT && strstr(gaze_last_error(), "blob"), "trie size: %s", gaze_last_error());
    free(b);
    // normalized strings that are not UTF-8
    b = charsmap_b64(units, 512, "\xff\0", 2, 512 * 4);
    s = open_doc(b, "", &t);
    CHECK(s == GAZE_ERR_FORMAT && strstr(gaze_last_error(), "UTF-8"), "strings not UTF-8: %s", gaze_last_error());
    free(b);
    // not base64
    s = open_doc("AA*A", "", &t);
    CHECK(s == GAZE_ERR_FORMAT && strstr(gaze_last_error(), "base64"), "bad base64: %s", gaze_last_error());
    s = open_doc("", "", &t);
    CHECK(s == GAZE_ERR_FORMAT && strstr(gaze_last_error(), "precompiled_charsmap"), "empty charsmap: %s", gaze_last_error());
    gaze_encoding_free(&enc);
}

static void test_refused(void) {
    static const struct { const char * doc, * want; } bad[] = {
        { "{\"normalizer\": {\"type\": \"NFKD\"}, \"model\": {\"type\": \"Unigram\", \"unk_id\": 0, \"vocab\": [[\"<unk>\", 0]]}}", "\"NFKD\"" },
        { "{\"normalizer\": {\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"Lowercase\"}]}, \"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\", 0]]}}", "\"Lowercase\"" },
        { "{\"pre_tokenizer\": {\"type\": \"Whitespace\"}, \"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\", 0]]}}", "\"Whitespace\"" },
        { "{\"pre_tokenizer\": {\"type\": \"Metaspace\", \"replacement\": \"_\"}, \"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\", 0]]}}", "replacement" },
        { "{\"post_processor\": {\"type\": \"BertProcessing\"}, \"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\", 0]]}}", "BertProcessing" },
        { "{\"model\": {\"type\": \"Unigram\", \"dropout\": 0.1, \"vocab\": [[\"a\", 0]]}}", "\"dropout\"" },
        { "{\"model\": {\"type\": \"Unigram\", \"unk_id\": 5, \"vocab\": [[\"a\", 0]]}}", "unk_id" },
        { "{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}", "model.vocab" },
        { "{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\", \"x\"]]}}", "model.vocab[0]" },
        { "{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\", 0]]}, \"added_tokens\": [{\"id\": 5, \"content\": \"<x>\"}]}", "ids run to 5" },
        { "{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\", 0]]}, \"added_tokens\": [{\"id\": 0, \"content\": \"<x>\"}]}", "another text" },
        { "{\"normalizer\": {\"type\": \"Replace\", \"pattern\": {\"Regex\": \"(\"}, \"content\": \"\"}, \"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\", 0]]}}", "regex" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct gaze_tokenizer * t = NULL;
        enum gaze_status s = tok_from_json_buffer(bad[i].doc, strlen(bad[i].doc), "bad.json", &t);
        CHECK(s != GAZE_OK && t == NULL && strstr(gaze_last_error(), bad[i].want) && strstr(gaze_last_error(), "bad.json"),
              "case %zu: status %d, \"%s\" (want %s)", i, s, gaze_last_error(), bad[i].want);
        gaze_tokenizer_free(t);
    }
    // no unk_id and a character no piece covers: an error at encode, never a wrong id
    const char * doc = "{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\", 0]]}}";
    struct gaze_tokenizer * t = NULL;
    enum gaze_status s = tok_from_json_buffer(doc, strlen(doc), "nounk.json", &t);
    CHECK(s == GAZE_OK, "no unk_id: %s", gaze_last_error());
    struct gaze_encoding enc = { 0 };
    if (!s) {
        s = gaze_tokenizer_encode(t, "ab", 2, NULL, &enc);
        CHECK(s != GAZE_OK && strstr(gaze_last_error(), "unk_id"), "uncovered character without unk: %d %s", s, gaze_last_error());
        s = gaze_tokenizer_encode(t, "aa", 2, NULL, &enc);
        CHECK(s == GAZE_OK && enc.n_tokens == 2, "aa: %d tokens", (int)enc.n_tokens);
    }
    gaze_encoding_free(&enc);
    gaze_tokenizer_free(t);
}

int main(void) {
    test_cases();
    test_charsmap();
    test_refused();
    return check_summary("test_unigram");
}

// Byte-level BPE: token ids identical to llama.cpp for SmolLM2's GGUF vocab over every prompt
// and pre-tokenizer in tests/fixtures/bpe/cases.json (tests/reference/gen_bpe_fixtures.py);
// offsets tile the input; decode(encode(x)) == x; special tokens; invalid UTF-8; the heap BPE
// against a naive quadratic BPE on random vocabularies; concurrent encodes; and every class of
// malformed vocabulary refused with a clear message.
#include "check.h"
#include "gaze.h"
#include "text/bpe.h"
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char * src_dir(void) {
    const char * d = getenv("GAZE_SOURCE_DIR");
    return d && *d ? d : ".";
}

/* ---- the SmolLM2 vocab fixture ------------------------------------------------------------ */

struct fixture_vocab {
    json_t *       doc;
    const char **  tokens;   // [V] pointers into doc
    size_t *       lens;     // [V]
    int32_t *      types;    // [V]
    const char **  merges;   // [M]
    size_t *       mlens;    // [M]
    struct gaze_bpe_vocab v;
};

static bool load_vocab(struct fixture_vocab * f, const char * path) {
    json_error_t err;
    memset(f, 0, sizeof *f);
    f->doc = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (!f->doc) { fprintf(stderr, "%s: %s (line %d)\n", path, err.text, err.line); return false; }
    json_t * toks = json_object_get(f->doc, "tokens"), * merges = json_object_get(f->doc, "merges");
    const char * types = json_string_value(json_object_get(f->doc, "token_types"));
    size_t V = json_array_size(toks), M = json_array_size(merges);
    if (!V || !types || strlen(types) != V) { fprintf(stderr, "%s: bad fixture\n", path); return false; }
    f->tokens = malloc(V * sizeof *f->tokens); f->lens = malloc(V * sizeof *f->lens);
    f->types = malloc(V * sizeof *f->types);
    f->merges = malloc(M * sizeof *f->merges); f->mlens = malloc(M * sizeof *f->mlens);
    for (size_t i = 0; i < V; i++) {
        json_t * t = json_array_get(toks, i);
        f->tokens[i] = json_string_value(t);
        f->lens[i] = json_string_length(t);
        f->types[i] = types[i] - '0';
    }
    for (size_t i = 0; i < M; i++) {
        json_t * t = json_array_get(merges, i);
        f->merges[i] = json_string_value(t);
        f->mlens[i] = json_string_length(t);
    }
    json_t * add_bos = json_object_get(f->doc, "add_bos");
    f->v = (struct gaze_bpe_vocab){
        .n_tokens = (int64_t)V, .tokens = f->tokens, .token_lens = f->lens, .token_types = f->types,
        .n_merges = (int64_t)M, .merges = f->merges, .merge_lens = f->mlens,
        .pre = json_string_value(json_object_get(f->doc, "pre")),
        .bos_id = (int32_t)json_integer_value(json_object_get(f->doc, "bos_id")),
        .eos_id = (int32_t)json_integer_value(json_object_get(f->doc, "eos_id")),
        .add_bos = json_is_boolean(add_bos) ? json_is_true(add_bos) : -1,
    };
    return true;
}

static void free_vocab(struct fixture_vocab * f) {
    json_decref(f->doc);
    free(f->tokens); free(f->lens); free(f->types); free(f->merges); free(f->mlens);
}

static size_t unhex(const char * h, char * out) {
    size_t n = strlen(h) / 2;
    for (size_t i = 0; i < n; i++) { unsigned x; sscanf(h + 2 * i, "%2x", &x); out[i] = (char)x; }
    return n;
}

static bool valid_utf8(const char * s, size_t n) { return gaze_utf8_validate(s, n, "x") == GAZE_OK; }

static int byte_char(int b, char * out);

// Bytes the vocab has no token for are dropped by llama.cpp and HF alike (SmolLM2 lacks 21).
static bool tokenless(const struct gaze_bpe * t, unsigned char c) {
    char u[3];
    int n = byte_char(c, u);
    return gaze_bpe_token_id(t, u, (size_t)n) < 0;
}

/* ---- golden cases --------------------------------------------------------------------------- */

static const char * k_pres[] = { "smollm", "llama3", "gpt-2", "qwen2", "default" };
#define N_PRES 5

static void test_golden(struct fixture_vocab * f) {
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/bpe/cases.json", src_dir());
    json_error_t err;
    json_t * doc = json_load_file(path, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
    CHECK(doc != NULL, "%s: %s", path, err.text);
    if (!doc) return;
    json_t * cases = json_object_get(doc, "cases");
    CHECK(json_array_size(cases) >= 150, "only %zu cases", json_array_size(cases));

    struct gaze_bpe * tok[N_PRES] = { 0 }, * tok_bos = NULL;
    for (int p = 0; p < N_PRES; p++) {
        struct gaze_bpe_vocab v = f->v;
        v.pre = k_pres[p];
        enum gaze_status st = gaze_bpe_init(&tok[p], &v);
        CHECK(st == GAZE_OK, "init pre=%s: %s", k_pres[p], gaze_last_error());
        if (st) return;
        CHECK(strcmp(gaze_bpe_pre(tok[p]), k_pres[p]) == 0, "pre name %s", gaze_bpe_pre(tok[p]));
    }
    struct gaze_bpe_vocab vb = f->v;
    vb.add_bos = 1;
    CHECK(gaze_bpe_init(&tok_bos, &vb) == GAZE_OK, "init add_bos: %s", gaze_last_error());
    printf("pcre2 jit: %s\n", gaze_bpe_jit(tok[0]) ? "yes" : "no");

    struct gaze_encoding enc = { 0 };
    int n_cases = 0, n_ok = 0, n_long = 0, n_roundtrip = 0, n_pieces = 0;
    char * buf = malloc(1 << 16);
    for (size_t c = 0; c < json_array_size(cases); c++) {
        json_t * cs = json_array_get(cases, c);
        const char * name = json_string_value(json_object_get(cs, "name"));
        const char * pre = json_string_value(json_object_get(cs, "pre"));
        bool parse_special = json_is_true(json_object_get(cs, "parse_special"));
        bool add_bos = json_is_true(json_object_get(cs, "add_bos"));
        json_t * jt = json_object_get(cs, "text"), * jh = json_object_get(cs, "text_hex");
        const char * text;
        size_t n;
        if (jt) { text = json_string_value(jt); n = json_string_length(jt); }
        else { n = unhex(json_string_value(jh), buf); text = buf; }
        struct gaze_bpe * t = NULL;
        for (int p = 0; p < N_PRES; p++) if (strcmp(pre, k_pres[p]) == 0) t = tok[p];
        if (add_bos) t = tok_bos;
        CHECK(t != NULL, "case %s: unknown pre %s", name, pre);
        if (!t) continue;
        struct gaze_bpe_encode_opts o = { .no_parse_special = !parse_special, .replace_invalid = jh != NULL };
        enum gaze_status st = gaze_bpe_encode(t, text, n, &o, &enc);
        n_cases++;
        CHECK(st == GAZE_OK, "case %s/%s: %s", name, pre, gaze_last_error());
        if (st) continue;
        json_t * ids = json_object_get(cs, "ids");
        size_t ne = json_array_size(ids);
        size_t first = 0;
        while (first < ne && first < (size_t)enc.n_tokens && enc.ids[first] == json_integer_value(json_array_get(ids, first)))
            first++;
        bool same = first == ne && (size_t)enc.n_tokens == ne;
        CHECK(same, "case %s/%s parse_special=%d: %lld tokens vs %zu expected; first difference at %zu: got %d want %lld",
              name, pre, parse_special, (long long)enc.n_tokens, ne, first,
              first < (size_t)enc.n_tokens ? enc.ids[first] : -1,
              first < ne ? (long long)json_integer_value(json_array_get(ids, first)) : -1LL);
        n_ok += same;
        if (ne >= 300) n_long++;

        // offsets tile the input in order (BOS aside); each normal token's bytes are its span
        int64_t at = 0;
        bool tiled = true, spans = true;
        for (int64_t i = 0; i < enc.n_tokens; i++) {
            if (enc.sequence_ids[i] < 0) { tiled &= i == 0 && enc.offsets[0] == 0 && enc.offsets[1] == 0; continue; }
            int64_t b = enc.offsets[2 * i], e = enc.offsets[2 * i + 1];
            while (at < b && tokenless(t, (unsigned char)text[at])) at++;   // dropped bytes
            tiled &= b == at && e > b;
            at = e;
            size_t pl;
            const char * piece = gaze_bpe_token_piece(t, enc.ids[i], &pl);
            if (!jh && gaze_bpe_token_type(t, enc.ids[i]) != GAZE_BPE_TOKEN_TYPE_UNDEFINED)
                spans &= pl == (size_t)(e - b) && memcmp(piece, text + b, pl) == 0;
        }
        while (at < (int64_t)n && tokenless(t, (unsigned char)text[at])) at++;
        tiled &= at == (int64_t)n;
        CHECK(tiled, "case %s/%s: offsets do not tile the %zu input bytes", name, pre, n);
        CHECK(spans, "case %s/%s: a token's bytes differ from its offset span", name, pre);

        // decode(encode(x)) == x (valid UTF-8); repaired text re-encodes to the same ids
        char * dec = NULL;
        size_t dn = 0;
        int64_t skip = enc.n_tokens && enc.sequence_ids[0] < 0;
        st = gaze_bpe_decode(t, enc.ids + skip, enc.n_tokens - skip, false, &dec, &dn);
        CHECK(st == GAZE_OK, "decode %s: %s", name, gaze_last_error());
        if (!st && !jh) {
            char * want = malloc(n + 1);
            size_t wn = 0;
            for (size_t i = 0; i < n; i++) if (!tokenless(t, (unsigned char)text[i])) want[wn++] = text[i];
            bool rt = dn == wn && memcmp(dec, want, wn) == 0;
            free(want);
            CHECK(rt, "case %s/%s: decode(encode(x)) != x less tokenless bytes (%zu vs %zu bytes)", name, pre, dn, n);
            n_roundtrip += rt;
        } else if (!st) {
            CHECK(valid_utf8(dec, dn), "case %s: decoded repaired text is not valid UTF-8", name);
            struct gaze_encoding e2 = { 0 };
            CHECK(gaze_bpe_encode(t, dec, dn, &o, &e2) == GAZE_OK && e2.n_tokens == enc.n_tokens - skip &&
                  memcmp(e2.ids, enc.ids + skip, (size_t)e2.n_tokens * sizeof *e2.ids) == 0,
                  "case %s: the repaired text does not re-encode to the same ids", name);
            gaze_encoding_free(&e2);
        }
        free(dec);

        // the regex splitting itself, against HF's pre-tokenizer (ids can hide it: a vocab
        // without merges across a boundary gives the same ids either way)
        json_t * hp = json_object_get(cs, "hf_pieces");
        if (hp) {
            st = gaze_bpe_pretokenize(t, text, n, &o, &enc);
            bool same_p = st == GAZE_OK && (size_t)enc.n_tokens == json_array_size(hp);
            size_t k = 0;
            for (; same_p && k < json_array_size(hp); k++) {
                json_t * r = json_array_get(hp, k);
                same_p = enc.offsets[2 * k] == json_integer_value(json_array_get(r, 0)) &&
                         enc.offsets[2 * k + 1] == json_integer_value(json_array_get(r, 1));
            }
            if (!same_p && k) k--;
            CHECK(same_p, "case %s/%s: pre-tokens differ from HF: %lld vs %zu pieces; piece %zu: got [%lld, %lld) want [%lld, %lld)",
                  name, pre, (long long)enc.n_tokens, json_array_size(hp), k,
                  k < (size_t)enc.n_tokens ? (long long)enc.offsets[2 * k] : -1LL,
                  k < (size_t)enc.n_tokens ? (long long)enc.offsets[2 * k + 1] : -1LL,
                  (long long)json_integer_value(json_array_get(json_array_get(hp, k), 0)),
                  (long long)json_integer_value(json_array_get(json_array_get(hp, k), 1)));
            n_pieces += same_p;
        }
    }
    printf("golden: %d/%d cases identical to llama.cpp (%d with >= 300 tokens), %d round-trips, "
           "%d pre-tokenizations identical to HF\n", n_ok, n_cases, n_long, n_roundtrip, n_pieces);
    CHECK(n_pieces >= 100, "only %d pre-tokenization checks", n_pieces);
    CHECK(n_long >= 5, "the >= 300-token prompt is missing (%d)", n_long);
    free(buf);
    gaze_encoding_free(&enc);
    for (int p = 0; p < N_PRES; p++) gaze_bpe_free(tok[p]);
    gaze_bpe_free(tok_bos);
    json_decref(doc);
}

/* ---- special tokens, options, queries ------------------------------------------------------ */

static void test_specials(struct fixture_vocab * f) {
    struct gaze_bpe * t = NULL;
    CHECK(gaze_bpe_init(&t, &f->v) == GAZE_OK, "%s", gaze_last_error());
    if (!t) return;
    struct gaze_bpe_specials sp = gaze_bpe_specials(t);
    CHECK(sp.bos == 1 && sp.eos == 2 && !sp.add_bos, "specials %d %d %d", sp.bos, sp.eos, sp.add_bos);
    CHECK(gaze_bpe_vocab_size(t) == 49152, "vocab size %d", gaze_bpe_vocab_size(t));
    CHECK(gaze_bpe_token_id(t, "<|im_end|>", 10) == 2, "im_end id");
    CHECK(gaze_bpe_token_id(t, "\xC4\xA0the", 5) == 260, "Ġthe id %d", gaze_bpe_token_id(t, "\xC4\xA0the", 5));
    CHECK(gaze_bpe_token_id(t, "no such token at all", 20) == -1, "missing token");
    CHECK(gaze_bpe_token_type(t, 1) == GAZE_BPE_TOKEN_TYPE_CONTROL, "type of 1");
    CHECK(gaze_bpe_token_type(t, 260) == GAZE_BPE_TOKEN_TYPE_NORMAL, "type of 260");
    CHECK(gaze_bpe_token_type(t, 49152) == GAZE_BPE_TOKEN_TYPE_UNDEFINED, "type out of range");
    size_t len;
    const char * s = gaze_bpe_token_piece(t, 260, &len);
    CHECK(s && len == 4 && memcmp(s, " the", 4) == 0, "piece of Ġthe");
    s = gaze_bpe_token(t, 260, &len);
    CHECK(s && len == 5 && strcmp(s, "\xC4\xA0the") == 0, "text of Ġthe");
    CHECK(gaze_bpe_token(t, -1, &len) == NULL && len == 0, "token -1");
    CHECK(gaze_bpe_token_piece(t, 1 << 20, NULL) == NULL, "piece out of range");

    struct gaze_encoding enc = { 0 };
    const char * chat = "<|im_start|>user\nhi<|im_end|>\n";
    CHECK(gaze_bpe_encode(t, chat, strlen(chat), NULL, &enc) == GAZE_OK, "%s", gaze_last_error());
    CHECK(enc.n_tokens == 6 && enc.ids[0] == 1 && enc.ids[4] == 2, "chat ids");
    CHECK(enc.offsets[0] == 0 && enc.offsets[1] == 12, "special token offsets %lld %lld", (long long)enc.offsets[0], (long long)enc.offsets[1]);
    char * dec = NULL;
    CHECK(gaze_bpe_decode(t, enc.ids, enc.n_tokens, false, &dec, &len) == GAZE_OK && strcmp(dec, chat) == 0, "chat decode");
    free(dec);
    CHECK(gaze_bpe_decode(t, enc.ids, enc.n_tokens, true, &dec, &len) == GAZE_OK && strcmp(dec, "user\nhi\n") == 0 && len == 8,
          "skip_special decode '%s'", dec ? dec : "");
    free(dec);
    int32_t bad_ids[2] = { 5, 49152 };
    dec = (char *)1;
    CHECK(gaze_bpe_decode(t, bad_ids, 2, false, &dec, NULL) == GAZE_ERR_INVALID_ARG && dec == NULL &&
          strstr(gaze_last_error(), "ids[1] = 49152"), "decode out of range: %s", gaze_last_error());
    CHECK(gaze_bpe_decode(t, NULL, 0, false, &dec, &len) == GAZE_OK && dec && len == 0 && dec[0] == 0, "decode empty");
    free(dec);

    struct gaze_bpe_encode_opts o = { .no_parse_special = true };
    CHECK(gaze_bpe_encode(t, chat, strlen(chat), &o, &enc) == GAZE_OK, "%s", gaze_last_error());
    bool none = true;
    for (int64_t i = 0; i < enc.n_tokens; i++) none &= enc.ids[i] > 16;
    CHECK(none && enc.n_tokens > 6, "no_parse_special still produced a control token");

    // BOS: add_bos from the vocab, no_special suppresses it
    struct gaze_bpe_vocab vb = f->v;
    vb.add_bos = 1;
    struct gaze_bpe * tb = NULL;
    CHECK(gaze_bpe_init(&tb, &vb) == GAZE_OK, "%s", gaze_last_error());
    CHECK(gaze_bpe_encode(tb, "hi", 2, NULL, &enc) == GAZE_OK && enc.n_tokens == 2 && enc.ids[0] == 1 &&
          enc.sequence_ids[0] == -1 && enc.sequence_ids[1] == 0, "BOS added");
    CHECK(gaze_bpe_encode(tb, "", 0, NULL, &enc) == GAZE_OK && enc.n_tokens == 1 && enc.ids[0] == 1, "BOS on empty text");
    o = (struct gaze_bpe_encode_opts){ .no_special = true };
    CHECK(gaze_bpe_encode(tb, "hi", 2, &o, &enc) == GAZE_OK && enc.n_tokens == 1, "no_special: no BOS");
    gaze_bpe_free(tb);
    // llama3 adds BOS by default when the file does not say
    vb = f->v; vb.add_bos = -1; vb.pre = "llama-bpe";
    CHECK(gaze_bpe_init(&tb, &vb) == GAZE_OK && gaze_bpe_specials(tb).add_bos && strcmp(gaze_bpe_pre(tb), "llama3") == 0,
          "llama-bpe default add_bos");
    gaze_bpe_free(tb);

    // empty input, NULL opts, limits
    CHECK(gaze_bpe_encode(t, NULL, 0, NULL, &enc) == GAZE_OK && enc.n_tokens == 0, "empty");
    o = (struct gaze_bpe_encode_opts){ .max_len = 3 };
    CHECK(gaze_bpe_encode(t, "one two three four", 18, &o, &enc) == GAZE_ERR_LIMIT && enc.n_tokens == 0 &&
          strstr(gaze_last_error(), "max_len"), "max_len: %s", gaze_last_error());
    o.max_len = 4;
    CHECK(gaze_bpe_encode(t, "one two three four", 18, &o, &enc) == GAZE_OK && enc.n_tokens == 4, "max_len exact");
    CHECK(gaze_bpe_encode(NULL, "x", 1, NULL, &enc) == GAZE_ERR_INVALID_ARG, "NULL tokenizer");
    CHECK(gaze_bpe_encode(t, NULL, 5, NULL, &enc) == GAZE_ERR_INVALID_ARG, "NULL text");

    // invalid UTF-8: refused with the offset, or repaired with offsets into the input
    const char bad[] = "ok \xE2\x82 then \xFF";
    CHECK(gaze_bpe_encode(t, bad, sizeof bad - 1, NULL, &enc) == GAZE_ERR_FORMAT &&
          strstr(gaze_last_error(), "byte offset 3"), "invalid UTF-8: %s", gaze_last_error());
    o = (struct gaze_bpe_encode_opts){ .replace_invalid = true };
    CHECK(gaze_bpe_encode(t, bad, sizeof bad - 1, &o, &enc) == GAZE_OK, "%s", gaze_last_error());
    CHECK(enc.n_tokens > 0 && enc.offsets[2 * enc.n_tokens - 1] == (int64_t)(sizeof bad - 1), "repaired offsets end at the input end");
    CHECK(gaze_bpe_decode(t, enc.ids, enc.n_tokens, false, &dec, &len) == GAZE_OK &&
          strcmp(dec, "ok \xEF\xBF\xBD then \xEF\xBF\xBD") == 0, "repaired decode '%s'", dec);
    free(dec);
    gaze_encoding_free(&enc);
    gaze_bpe_free(t);
}

/* ---- concurrent encodes share nothing mutable ------------------------------------------------ */

static void test_threads(struct fixture_vocab * f) {
    struct gaze_bpe * t = NULL;
    CHECK(gaze_bpe_init(&t, &f->v) == GAZE_OK, "%s", gaze_last_error());
    if (!t) return;
    const char * texts[4] = { "Hello world! 123", "我们今天去公园散步", "def f(x):\n    return x * 2\n", "aaaaaaaaaaaaaaaa bbb" };
    struct gaze_encoding ref[4] = { { 0 } };
    for (int i = 0; i < 4; i++) gaze_bpe_encode(t, texts[i], strlen(texts[i]), NULL, &ref[i]);
    int bad = 0;
    #pragma omp parallel for num_threads(4) reduction(+:bad) schedule(static, 1)
    for (int k = 0; k < 400; k++) {
        struct gaze_encoding e = { 0 };
        int i = k % 4;
        if (gaze_bpe_encode(t, texts[i], strlen(texts[i]), NULL, &e) != GAZE_OK || e.n_tokens != ref[i].n_tokens ||
            memcmp(e.ids, ref[i].ids, (size_t)e.n_tokens * sizeof *e.ids) != 0)
            bad++;
        gaze_encoding_free(&e);
    }
    CHECK(bad == 0, "%d concurrent encodes differ", bad);
    for (int i = 0; i < 4; i++) gaze_encoding_free(&ref[i]);
    gaze_bpe_free(t);
}

/* ---- random bytes: never a crash, invalid UTF-8 refused or repaired -------------------------- */

static uint64_t rng = 1;
static uint32_t rnd32(void) { rng ^= rng >> 12; rng ^= rng << 25; rng ^= rng >> 27; return (uint32_t)((rng * 2685821657736338717ULL) >> 32); }

static void test_random_bytes(struct fixture_vocab * f) {
    static const char * bits[] = { "<|im_start|>", "<|im_end|>", "\xEF\xBF\xBD", "\xE2\x82", "\xF0\x9F\x98\x80", " the", "\n\n", "123",
                                   "\xED\xA0\x80", "\xC0\x80", "  ", "'s", "\xC3\xA9", "\xFF" };
    struct gaze_bpe * t = NULL;
    CHECK(gaze_bpe_init(&t, &f->v) == GAZE_OK, "%s", gaze_last_error());
    if (!t) return;
    uint64_t seed = 4242;
    rng = seed;
    char buf[512];
    struct gaze_encoding enc = { 0 };
    int n_ok = 0, n_refused = 0, n_bad = 0;
    for (int k = 0; k < 500; k++) {
        size_t n = 0;
        int parts = (int)(rnd32() % 24);
        for (int p = 0; p < parts; p++) {
            uint32_t r = rnd32() % 4;
            if (r == 0) { const char * b = bits[rnd32() % (sizeof bits / sizeof *bits)]; size_t l = strlen(b); memcpy(buf + n, b, l); n += l; }
            else if (r == 1) buf[n++] = (char)(rnd32() & 0xFF);
            else buf[n++] = (char)(0x20 + rnd32() % 0x5F);
        }
        struct gaze_bpe_encode_opts o = { .replace_invalid = true };
        enum gaze_status st = gaze_bpe_encode(t, buf, n, &o, &enc);
        bool ok = st == GAZE_OK && (enc.n_tokens == 0 || enc.offsets[2 * enc.n_tokens - 1] <= (int64_t)n);
        for (int64_t i = 0; ok && i < enc.n_tokens; i++)
            ok = enc.offsets[2 * i] < enc.offsets[2 * i + 1] && (i == 0 || (enc.offsets[2 * i] >= enc.offsets[2 * i - 2] &&
                 enc.offsets[2 * i + 1] >= enc.offsets[2 * i - 1]));
        char * dec = NULL;
        size_t dn = 0;
        ok = ok && gaze_bpe_decode(t, enc.ids, enc.n_tokens, false, &dec, &dn) == GAZE_OK && valid_utf8(dec, dn);
        free(dec);
        st = gaze_bpe_encode(t, buf, n, NULL, &enc);
        if (st == GAZE_OK) n_ok++;
        else {
            n_refused++;
            ok = ok && st == GAZE_ERR_FORMAT && strstr(gaze_last_error(), "invalid UTF-8 at byte offset");
        }
        if (!ok) { n_bad++; if (n_bad < 4) CHECK(ok, "seed %llu input %d (%zu bytes): %s", (unsigned long long)seed, k, n, gaze_last_error()); }
    }
    CHECK(n_bad == 0, "%d of 500 random inputs misbehaved (seed %llu)", n_bad, (unsigned long long)seed);
    CHECK(n_refused > 50 && n_ok > 50, "random inputs: %d valid, %d refused", n_ok, n_refused);
    printf("random bytes: %d valid, %d invalid refused and repaired, seed %llu\n", n_ok, n_refused, (unsigned long long)seed);
    gaze_encoding_free(&enc);
    gaze_bpe_free(t);
}

/* ---- synthetic vocabularies: heap BPE vs naive BPE, malformed vocabs ------------------------ */

// GPT-2 byte -> code point, as UTF-8 into out; returns the length
static int byte_char(int b, char * out) {
    int cp = b;
    if (!((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255))) {
        int extra = 0;
        for (int x = 0; x < b; x++)
            if (!((x >= 33 && x <= 126) || (x >= 161 && x <= 172) || (x >= 174 && x <= 255))) extra++;
        cp = 256 + extra;
    }
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    out[0] = (char)(0xC0 | (cp >> 6)); out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
}

struct synth {                    // 256 byte tokens + merged tokens; texts are NUL-terminated
    char *  text[600];
    int32_t type[600];
    char *  merge[400];
    int     n_tok, n_merge;
    int     ml[400], mr[400], mres[400];   // merge parts and result ids
};

static int synth_find(struct synth * s, const char * t) {
    for (int i = 0; i < s->n_tok; i++) if (strcmp(s->text[i], t) == 0) return i;
    return -1;
}

static void synth_bytes(struct synth * s) {
    memset(s, 0, sizeof *s);
    for (int b = 0; b < 256; b++) {
        char u[3] = { 0 };
        byte_char(b, u);
        s->text[s->n_tok] = strdup(u);
        s->type[s->n_tok++] = GAZE_BPE_TOKEN_TYPE_NORMAL;
    }
}

static void synth_free(struct synth * s) {
    for (int i = 0; i < s->n_tok; i++) free(s->text[i]);
    for (int i = 0; i < s->n_merge; i++) free(s->merge[i]);
}

static bool synth_add_merge(struct synth * s, int l, int r) {
    char buf[512];
    snprintf(buf, sizeof buf, "%s%s", s->text[l], s->text[r]);
    if (strlen(buf) > 200) return false;
    int res = synth_find(s, buf);
    for (int m = 0; m < s->n_merge; m++) if (s->ml[m] == l && s->mr[m] == r) return false;
    if (res < 0) { res = s->n_tok; s->text[s->n_tok] = strdup(buf); s->type[s->n_tok++] = GAZE_BPE_TOKEN_TYPE_NORMAL; }
    snprintf(buf, sizeof buf, "%s %s", s->text[l], s->text[r]);
    s->ml[s->n_merge] = l; s->mr[s->n_merge] = r; s->mres[s->n_merge] = res;
    s->merge[s->n_merge++] = strdup(buf);
    return true;
}

static struct gaze_bpe_vocab synth_vocab(struct synth * s, const char * pre) {
    return (struct gaze_bpe_vocab){ .n_tokens = s->n_tok, .tokens = (const char * const *)s->text,
        .token_types = s->type, .n_merges = s->n_merge, .merges = (const char * const *)s->merge,
        .pre = pre, .bos_id = -1, .eos_id = -1, .add_bos = 0 };
}

// The textbook algorithm: repeatedly merge the lowest-rank adjacent pair, leftmost first.
static int naive_bpe(struct synth * s, const unsigned char * txt, int n, int32_t * out) {
    for (int i = 0; i < n; i++) out[i] = txt[i];   // byte b has id b in a synth vocab
    for (;;) {
        int best = -1, at = -1;
        for (int i = 0; i + 1 < n; i++)
            for (int m = 0; m < s->n_merge; m++)
                if (s->ml[m] == out[i] && s->mr[m] == out[i + 1] && (best < 0 || m < best)) { best = m; at = i; }
        if (best < 0) return n;
        out[at] = s->mres[best];
        memmove(out + at + 1, out + at + 2, (size_t)(n - at - 2) * sizeof *out);
        n--;
    }
}

static void test_naive(void) {
    // pre "gpt-2" on a text of letters only keeps each word whole, so BPE sees long pieces
    int n_trials = 0, n_same = 0;
    for (int trial = 0; trial < 40; trial++) {
        uint64_t seed = 1000 + (uint64_t)trial;
        rng = seed * 0x9E3779B97F4A7C15ULL + 7;
        struct synth s;
        synth_bytes(&s);
        const char alpha[] = "abc";
        int na = 2 + (int)(rnd32() % 2);
        for (int k = 0; k < 120 && s.n_merge < 380; k++) {   // random merges over a small alphabet
            int l = rnd32() % 3 == 0 ? (unsigned char)alpha[rnd32() % na] : (int)(rnd32() % (unsigned)s.n_tok);
            int r = rnd32() % 3 == 0 ? (unsigned char)alpha[rnd32() % na] : (int)(rnd32() % (unsigned)s.n_tok);
            const char * lt = s.text[l], * rt = s.text[r];
            bool ok = strspn(lt, alpha) == strlen(lt) && strspn(rt, alpha) == strlen(rt);
            if (ok) synth_add_merge(&s, l, r);
        }
        struct gaze_bpe_vocab v = synth_vocab(&s, "gpt-2");
        struct gaze_bpe * t = NULL;
        enum gaze_status st = gaze_bpe_init(&t, &v);
        CHECK(st == GAZE_OK, "seed %llu: init: %s", (unsigned long long)seed, gaze_last_error());
        if (st) { synth_free(&s); continue; }
        unsigned char txt[300];
        int32_t want[300];
        struct gaze_encoding enc = { 0 };
        for (int rep = 0; rep < 10; rep++) {
            int n = 1 + (int)(rnd32() % 299);
            for (int i = 0; i < n; i++) txt[i] = (unsigned char)alpha[rnd32() % (unsigned)na];
            int nw = naive_bpe(&s, txt, n, want);
            st = gaze_bpe_encode(t, (const char *)txt, (size_t)n, NULL, &enc);
            bool same = st == GAZE_OK && enc.n_tokens == nw && memcmp(enc.ids, want, (size_t)nw * sizeof *want) == 0;
            n_trials++;
            n_same += same;
            CHECK(same, "seed %llu rep %d: heap BPE differs from naive BPE (n=%d, %lld vs %d tokens)",
                  (unsigned long long)seed, rep, n, (long long)enc.n_tokens, nw);
        }
        gaze_encoding_free(&enc);
        gaze_bpe_free(t);
        synth_free(&s);
    }
    printf("naive BPE: %d/%d random texts identical (seeds 1000..1039)\n", n_same, n_trials);
}

// Builds a small valid vocab, applies one defect, expects init to fail with status and message.
static void expect_bad(const char * what, struct gaze_bpe_vocab v, enum gaze_status want, const char * msg) {
    struct gaze_bpe * t = (struct gaze_bpe *)1;
    enum gaze_status st = gaze_bpe_init(&t, &v);
    CHECK(st == want && t == NULL && strstr(gaze_last_error(), msg) != NULL,
          "%s: got %s \"%s\", want %s containing \"%s\"", what, gaze_status_name(st), gaze_last_error(),
          gaze_status_name(want), msg);
    if (st == GAZE_OK) gaze_bpe_free(t);
}

static void test_malformed(void) {
    struct synth s;
    synth_bytes(&s);
    synth_add_merge(&s, 'a', 'b');                    // "ab"
    synth_add_merge(&s, synth_find(&s, "ab"), 'c');   // "abc"
    int32_t types[600];
    memcpy(types, s.type, sizeof types);
    struct gaze_bpe_vocab ok = synth_vocab(&s, "gpt-2");
    ok.token_types = types;
    struct gaze_bpe * t = NULL;
    CHECK(gaze_bpe_init(&t, &ok) == GAZE_OK, "valid synthetic vocab: %s", gaze_last_error());
    struct gaze_encoding enc = { 0 };
    CHECK(t && gaze_bpe_encode(t, "abcab", 5, NULL, &enc) == GAZE_OK && enc.n_tokens == 2 &&
          enc.ids[0] == synth_find(&s, "abc") && enc.ids[1] == synth_find(&s, "ab"), "synthetic encode");
    gaze_bpe_free(t);

    struct gaze_bpe_vocab v;
    v = ok; v.bos_id = 9999;                 expect_bad("bos out of range", v, GAZE_ERR_FORMAT, "bos_id = 9999");
    v = ok; v.eos_id = -7;                   expect_bad("eos negative", v, GAZE_ERR_FORMAT, "eos_id = -7");
    v = ok; v.add_bos = 1;                   expect_bad("add_bos without bos", v, GAZE_ERR_FORMAT, "no bos_id");
    v = ok; v.add_bos = 5;                   expect_bad("add_bos value", v, GAZE_ERR_INVALID_ARG, "add_bos = 5");
    v = ok; v.n_tokens = 0;                  expect_bad("no tokens", v, GAZE_ERR_FORMAT, "n_tokens = 0");
    v = ok; v.n_tokens = (int64_t)1 << 32;   expect_bad("too many tokens", v, GAZE_ERR_FORMAT, "n_tokens = 4294967296");
    v = ok; v.tokens = NULL;                 expect_bad("NULL tokens", v, GAZE_ERR_INVALID_ARG, "tokens is NULL");
    v = ok; v.n_merges = -1;                 expect_bad("negative merges", v, GAZE_ERR_FORMAT, "n_merges = -1");
    v = ok; v.merges = NULL;                 expect_bad("NULL merges", v, GAZE_ERR_INVALID_ARG, "merges is NULL");
    v = ok; v.pre = NULL;                    expect_bad("no pre", v, GAZE_ERR_FORMAT, "no pre-tokenizer");
    v = ok; v.pre = "tekken";                expect_bad("unknown pre", v, GAZE_ERR_UNSUPPORTED, "\"tekken\" is not supported; supported: default, gpt-2");
    v = ok; v.pre = "smollm-x"; v.pre_len = 6;
    struct gaze_bpe * t2 = NULL;
    CHECK(gaze_bpe_init(&t2, &v) == GAZE_OK && strcmp(gaze_bpe_pre(t2), "smollm") == 0, "pre_len honoured");
    gaze_bpe_free(t2);

    types[5] = 9;   v = ok; v.token_types = types;
    expect_bad("bad type", v, GAZE_ERR_FORMAT, "token_types[5] = 9");
    types[5] = GAZE_BPE_TOKEN_TYPE_NORMAL;

    char * saved = s.text[70];   // duplicate token
    s.text[70] = "a";            v = ok;
    expect_bad("duplicate token", v, GAZE_ERR_FORMAT, "tokens[97] \"a\" duplicates tokens[70]");
    s.text[70] = "\xC3\x28";     v = ok;
    expect_bad("invalid UTF-8 token", v, GAZE_ERR_FORMAT, "tokens[70] \"\\xC3(\": invalid UTF-8 at byte 0");
    s.text[70] = "<0x4G>"; types[70] = GAZE_BPE_TOKEN_TYPE_BYTE; v = ok; v.token_types = types;
    expect_bad("bad byte token", v, GAZE_ERR_FORMAT, "must be \"<0xXX>\"");
    s.text[70] = "<0x-1>";       v = ok; v.token_types = types;
    expect_bad("negative byte token", v, GAZE_ERR_FORMAT, "must be \"<0xXX>\"");
    s.text[70] = "<0x4F>";       v = ok; v.token_types = types;
    CHECK(gaze_bpe_init(&t2, &v) == GAZE_OK, "byte token <0x4F>: %s", gaze_last_error());
    size_t pl;
    const char * pc = gaze_bpe_token_piece(t2, 70, &pl);
    CHECK(pc && pl == 1 && pc[0] == 0x4F, "byte token decodes to its byte");
    gaze_bpe_free(t2);
    s.text[70] = saved; types[70] = GAZE_BPE_TOKEN_TYPE_NORMAL;

    size_t lens[600];
    for (int i = 0; i < s.n_tok; i++) lens[i] = strlen(s.text[i]);
    lens[3] = (size_t)1 << 21;   v = ok; v.token_lens = lens;
    expect_bad("huge token length", v, GAZE_ERR_LIMIT, "tokens[3]: length 2097152");

    const char * merges[3] = { "a b", "ab c", "a q" };
    v = ok; v.merges = merges; v.n_merges = 3;
    expect_bad("merge result not a token", v, GAZE_ERR_FORMAT, "merges[2] \"a q\": the merged text \"aq\" is not a token");
    merges[2] = "zz b";          v = ok; v.merges = merges; v.n_merges = 3;
    expect_bad("merge left unknown", v, GAZE_ERR_FORMAT, "merges[2] \"zz b\": left part \"zz\" is not a token");
    merges[2] = "a bb";          v = ok; v.merges = merges; v.n_merges = 3;
    expect_bad("merge right unknown", v, GAZE_ERR_FORMAT, "right part \"bb\" is not a token");
    merges[2] = "ab";            v = ok; v.merges = merges; v.n_merges = 3;
    expect_bad("merge without space", v, GAZE_ERR_FORMAT, "merges[2] \"ab\": no space");
    merges[2] = "a ";            v = ok; v.merges = merges; v.n_merges = 3;
    expect_bad("merge empty right", v, GAZE_ERR_FORMAT, "right part");
    merges[2] = "a b";           v = ok; v.merges = merges; v.n_merges = 3;
    expect_bad("duplicate merge", v, GAZE_ERR_FORMAT, "merges[2] \"a b\" duplicates merges[0]");

    // a byte without a token is dropped (llama.cpp and HF do the same) and blocks merges across it
    saved = s.text['z'];
    s.text['z'] = "<unused-z>"; types['z'] = GAZE_BPE_TOKEN_TYPE_UNUSED;
    v = ok; v.token_types = types;
    CHECK(gaze_bpe_init(&t2, &v) == GAZE_OK, "missing byte token: %s", gaze_last_error());
    CHECK(t2 && gaze_bpe_encode(t2, "abzcz", 5, NULL, &enc) == GAZE_OK && enc.n_tokens == 2 &&
          enc.ids[0] == synth_find(&s, "ab") && enc.ids[1] == 'c' && enc.offsets[2] == 3 && enc.offsets[3] == 4,
          "missing byte token dropped: %s", gaze_last_error());
    CHECK(t2 && gaze_bpe_encode(t2, "z", 1, NULL, &enc) == GAZE_OK && enc.n_tokens == 0, "lone missing byte");
    gaze_bpe_free(t2);
    s.text['z'] = saved; types['z'] = GAZE_BPE_TOKEN_TYPE_NORMAL;

    // user-defined tokens match even when specials are not parsed; control ones do not
    int uid = s.n_tok, cid = s.n_tok + 1;
    s.text[uid] = "<ud>"; types[uid] = GAZE_BPE_TOKEN_TYPE_USER_DEFINED;
    s.text[cid] = "<ctl>"; types[cid] = GAZE_BPE_TOKEN_TYPE_CONTROL;
    v = ok; v.token_types = types; v.n_tokens = s.n_tok + 2;
    CHECK(gaze_bpe_init(&t2, &v) == GAZE_OK, "specials vocab: %s", gaze_last_error());
    struct gaze_bpe_encode_opts o = { .no_parse_special = true };
    CHECK(t2 && gaze_bpe_encode(t2, "a<ud>b<ctl>", 11, &o, &enc) == GAZE_OK && enc.n_tokens >= 3 && enc.ids[1] == uid,
          "user-defined token with no_parse_special");
    bool has_ctl = false;
    for (int64_t i = 0; i < enc.n_tokens; i++) has_ctl |= enc.ids[i] == cid;
    CHECK(!has_ctl, "control token matched with no_parse_special");
    CHECK(t2 && gaze_bpe_encode(t2, "a<ud>b<ctl>", 11, NULL, &enc) == GAZE_OK && enc.n_tokens == 4 && enc.ids[3] == cid,
          "control token parsed by default");
    gaze_bpe_free(t2);
    s.text[uid] = NULL; s.text[cid] = NULL;

    gaze_encoding_free(&enc);
    synth_free(&s);
}

int main(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/bpe/smollm2_vocab.json", src_dir());
    struct fixture_vocab f;
    bool have = load_vocab(&f, path);
    CHECK(have, "cannot load %s", path);
    if (have) {
        test_golden(&f);
        test_specials(&f);
        test_threads(&f);
        test_random_bytes(&f);
        free_vocab(&f);
    }
    test_naive();
    test_malformed();
    return check_summary("test_bpe");
}

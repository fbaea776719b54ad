// Streaming detokenisation (gaze_bpe_stream, what `gaze run --generate` prints token by token):
// a character split across byte tokens is held until complete, ill-formed bytes become U+FFFD
// exactly as Python's decode(errors="replace") does, control tokens give nothing, and over the
// SmolLM2 vocabulary the chunks of any encoded text are valid UTF-8 and concatenate to the text.
#include "check.h"
#include "gaze.h"
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char * src_dir(void) {
    const char * d = getenv("GAZE_SOURCE_DIR");
    return d && *d ? d : ".";
}

// GPT-2 byte -> the code point its byte-level token is spelled with, as UTF-8; returns the length
static int byte_char(int b, char * out) {
    int cp = b;
    if (!((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255))) {
        int extra = 0;
        for (int x = 0; x < b; x++)
            if (!((x >= 33 && x <= 126) || (x >= 161 && x <= 172) || (x >= 174 && x <= 255))) extra++;
        cp = 256 + extra;
    }
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
}

// Pushes ids one by one and concatenates the chunks (then finish) into out; counts the calls
// that gave nothing. false when a call fails or a chunk is not valid UTF-8 on its own.
static bool stream_all(struct gaze_bpe_stream * st, const int32_t * ids, int n, char * out, size_t cap,
                       size_t * out_len, int * n_empty) {
    size_t o = 0;
    *n_empty = 0;
    for (int i = 0; i <= n; i++) {
        const char * t;
        size_t len;
        enum gaze_status s = i < n ? gaze_bpe_stream_push(st, ids[i], &t, &len) : gaze_bpe_stream_finish(st, &t, &len);
        if (s || o + len > cap) return false;
        if (len && gaze_utf8_validate(t, len, "chunk") != GAZE_OK) return false;
        if (!len && i < n) (*n_empty)++;
        memcpy(out + o, t, len);
        o += len;
    }
    *out_len = o;
    return true;
}

/* ---- 256 byte tokens and one control token: every byte sequence can be fed ------------------ */

static void test_bytes(void) {
    char * text[257];
    int32_t type[257];
    for (int b = 0; b < 256; b++) {
        char u[3] = { 0 };
        byte_char(b, u);
        text[b] = strdup(u);
        type[b] = GAZE_BPE_TOKEN_TYPE_NORMAL;
    }
    text[256] = strdup("<|endoftext|>");
    type[256] = GAZE_BPE_TOKEN_TYPE_CONTROL;
    struct gaze_bpe_vocab v = { .n_tokens = 257, .tokens = (const char * const *)text, .token_types = type,
                                .pre = "gpt-2", .bos_id = -1, .eos_id = 256, .add_bos = 0 };
    struct gaze_bpe * bpe = NULL;
    struct gaze_bpe_stream * st = NULL;
    CHECK(gaze_bpe_init(&bpe, &v) == GAZE_OK, "%s", gaze_last_error());
    CHECK(gaze_bpe_stream_init(&st, bpe) == GAZE_OK, "%s", gaze_last_error());
    if (!bpe || !st) goto done;

    // byte sequences (token id = byte; 256 = EOS) and what Python's
    // bytes(...).decode("utf-8", errors="replace") gives for them, EOS left out
    static const struct { const char * name; int32_t ids[12]; int n; const char * want; int empty; } cases[] = {
        { "ascii and newline", { 'H', 'i', ' ', '\n', 't' }, 5, "Hi \nt", 0 },
        { "2-byte split", { 0xC3, 0xA9 }, 2, "\xC3\xA9", 1 },
        { "3-byte split", { 0xE6, 0x97, 0xA5, 'x' }, 4, "\xE6\x97\xA5x", 2 },
        { "4-byte emoji split in 4", { 0xF0, 0x9F, 0x99, 0x82 }, 4, "\xF0\x9F\x99\x82", 3 },
        { "EOS inside a character", { 0xC3, 256, 0xA9 }, 3, "\xC3\xA9", 2 },
        { "lead then ASCII", { 0xC3, 'a' }, 2, "\xEF\xBF\xBD" "a", 1 },
        { "lone continuation", { 0x80, 'b' }, 2, "\xEF\xBF\xBD" "b", 0 },
        { "overlong E0 80", { 0xE0, 0x80 }, 2, "\xEF\xBF\xBD\xEF\xBF\xBD", 1 },
        { "surrogate ED A0 80", { 0xED, 0xA0, 0x80 }, 3, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD", 1 },
        { "truncated 4-byte then x", { 0xF0, 0x9F, 0x98, 'x' }, 4, "\xEF\xBF\xBD" "x", 3 },
        { "above U+10FFFF", { 0xF4, 0x90, 0x80, 0x80 }, 4, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD", 1 },
        { "unfinished at the end", { 'a', 0xE2, 0x82 }, 3, "a\xEF\xBF\xBD", 2 },
        { "C0 FF bytes", { 0xC0, 0xFF, 'z' }, 3, "\xEF\xBF\xBD\xEF\xBF\xBD" "z", 0 },
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        char out[256];
        size_t n = 0;
        int empty = 0;
        bool ok = stream_all(st, cases[c].ids, cases[c].n, out, sizeof out, &n, &empty);
        CHECK(ok && n == strlen(cases[c].want) && memcmp(out, cases[c].want, n) == 0,
              "%s: got %zu bytes '%.*s', want '%s'", cases[c].name, n, (int)n, out, cases[c].want);
        CHECK(empty == cases[c].empty, "%s: %d pushes held their bytes, want %d", cases[c].name, empty, cases[c].empty);
    }
    // nothing is held between texts after finish, and the ids are checked
    const char * t;
    size_t len;
    CHECK(gaze_bpe_stream_push(st, 'q', &t, &len) == GAZE_OK && len == 1 && t[0] == 'q', "after finish");
    CHECK(gaze_bpe_stream_push(st, 257, &t, &len) == GAZE_ERR_INVALID_ARG && strstr(gaze_last_error(), "257"),
          "id out of range: %s", gaze_last_error());
    CHECK(gaze_bpe_stream_push(st, -1, &t, &len) == GAZE_ERR_INVALID_ARG, "id -1");
    CHECK(gaze_bpe_stream_init(NULL, bpe) == GAZE_ERR_INVALID_ARG, "NULL out");
done:
    gaze_bpe_stream_free(st);
    gaze_bpe_free(bpe);
    for (int b = 0; b < 257; b++) free(text[b]);
}

/* ---- SmolLM2's vocabulary: real texts, real splits ----------------------------------------- */

static void test_smollm2(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/bpe/smollm2_vocab.json", src_dir());
    json_error_t err;
    json_t * doc = json_load_file(path, 0, &err);
    CHECK(doc, "cannot load %s: %s", path, err.text);
    if (!doc) return;
    json_t * toks = json_object_get(doc, "tokens"), * merges = json_object_get(doc, "merges");
    const char * types_s = json_string_value(json_object_get(doc, "token_types"));
    const size_t V = json_array_size(toks), M = json_array_size(merges);
    const char ** tk = malloc(V * sizeof *tk), ** mg = malloc(M * sizeof *mg);
    size_t * tl = malloc(V * sizeof *tl), * ml = malloc(M * sizeof *ml);
    int32_t * ty = malloc(V * sizeof *ty);
    for (size_t i = 0; i < V; i++) {
        tk[i] = json_string_value(json_array_get(toks, i));
        tl[i] = json_string_length(json_array_get(toks, i));
        ty[i] = types_s[i] - '0';
    }
    for (size_t i = 0; i < M; i++) {
        mg[i] = json_string_value(json_array_get(merges, i));
        ml[i] = json_string_length(json_array_get(merges, i));
    }
    struct gaze_bpe_vocab v = { .n_tokens = (int64_t)V, .tokens = tk, .token_lens = tl, .token_types = ty,
                                .n_merges = (int64_t)M, .merges = mg, .merge_lens = ml,
                                .pre = json_string_value(json_object_get(doc, "pre")),
                                .bos_id = (int32_t)json_integer_value(json_object_get(doc, "bos_id")),
                                .eos_id = (int32_t)json_integer_value(json_object_get(doc, "eos_id")), .add_bos = 0 };
    struct gaze_bpe * bpe = NULL;
    struct gaze_bpe_stream * st = NULL;
    CHECK(gaze_bpe_init(&bpe, &v) == GAZE_OK, "%s", gaze_last_error());
    CHECK(bpe && gaze_bpe_stream_init(&st, bpe) == GAZE_OK, "%s", gaze_last_error());
    static const char * texts[] = {
        "The capital of France is Paris.\n\nIt is  known for\tthe Eiffel Tower.",
        "na\xC3\xAFve caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E \xF0\x9F\x99\x82\xF0\x9F\x8E\x89 \xE2\x82\xAC" "5",
        "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82, \xE4\xB8\x96\xE7\x95\x8C! \xF0\x9F\xA4\x96\xF0\x9F\xA7\xA0 \xCE\xB1\xCE\xB2\xCE\xB3",
    };
    int n_split = 0;   // tokens whose piece alone is not whole UTF-8: the hold was needed
    for (size_t k = 0; st && k < sizeof texts / sizeof *texts; k++) {
        struct gaze_encoding enc;
        memset(&enc, 0, sizeof enc);
        struct gaze_bpe_encode_opts eo = { 0 };
        eo.no_special = true;
        CHECK(gaze_bpe_encode(bpe, texts[k], strlen(texts[k]), &eo, &enc) == GAZE_OK, "%s", gaze_last_error());
        for (int64_t i = 0; i < enc.n_tokens; i++) {
            size_t pl;
            const char * p = gaze_bpe_token_piece(bpe, enc.ids[i], &pl);
            n_split += gaze_utf8_validate(p, pl, "piece") != GAZE_OK;
        }
        gaze_clear_error();
        char out[512];
        size_t n = 0;
        int empty = 0;
        bool ok = stream_all(st, enc.ids, (int)enc.n_tokens, out, sizeof out, &n, &empty);
        char * dec = NULL;
        size_t dn = 0;
        CHECK(gaze_bpe_decode(bpe, enc.ids, enc.n_tokens, true, &dec, &dn) == GAZE_OK, "%s", gaze_last_error());
        CHECK(ok && n == strlen(texts[k]) && memcmp(out, texts[k], n) == 0, "text %zu: streamed '%.*s'", k, (int)n, out);
        CHECK(dec && n == dn && memcmp(out, dec, n) == 0, "text %zu: stream differs from gaze_bpe_decode", k);
        free(dec);
        gaze_encoding_free(&enc);
    }
    CHECK(n_split >= 4, "only %d tokens split a character: the texts do not exercise the hold", n_split);
    gaze_bpe_stream_free(st);
    gaze_bpe_free(bpe);
    free(tk); free(mg); free(tl); free(ml); free(ty);
    json_decref(doc);
}

int main(void) {
    test_bytes();
    test_smollm2();
    return check_summary("test_bpe_stream");
}

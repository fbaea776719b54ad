// SentencePiece (GGUF tokenizer.ggml.model = "llama"): ids identical to llama.cpp on a tiny
// hand-built vocab (tests/fixtures/spm/tiny*.gguf: scores that disagree with left-to-right order,
// byte fallback, add_space_prefix on and off, control and user-defined tokens written in the
// text), decode, streaming, and the refusals (a byte with no token, NaN scores).
#include "check.h"
#include "gaze.h"
#include "spm_cases.h"
#include <stdlib.h>
#include <string.h>

static const char * src_dir(void) {
    const char * d = getenv("GAZE_SOURCE_DIR");
    return d && *d ? d : ".";
}

static struct gaze_tokenizer * open_tiny(const char * name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/fixtures/spm/%s", src_dir(), name);
    struct gaze_tokenizer * t = NULL;
    enum gaze_status s = gaze_tokenizer_open(path, &t);
    CHECK(s == GAZE_OK, "open %s: %s", path, gaze_last_error());
    return t;
}

static void test_tiny_cases(void) {
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/fixtures/spm/tiny_cases.json", src_dir());
    json_error_t err;
    json_t * doc = json_load_file(path, 0, &err);
    CHECK(doc != NULL, "%s: %s", path, err.text);
    if (!doc) return;
    json_t * cases = json_object_get(doc, "cases");
    const char * files[] = { "tiny.gguf", "tiny_noprefix.gguf" };
    int total = 0;
    for (int f = 0; f < 2; f++) {
        struct gaze_tokenizer * t = open_tiny(files[f]);
        if (!t) continue;
        CHECK(gaze_tokenizer_kind(t) == GAZE_TOKENIZER_SPM, "%s: kind %d", files[f], gaze_tokenizer_kind(t));
        total += spm_run_cases(t, cases, files[f]);
        gaze_tokenizer_free(t);
    }
    CHECK(total >= 80, "only %d tiny cases ran", total);
    json_decref(doc);
}

static void test_tiny_decode(void) {
    struct gaze_tokenizer * t = open_tiny("tiny.gguf");
    if (!t) return;
    struct gaze_encoding enc = { 0 };
    const char * text = "abc ab\xC3\xBC" "ber a";   // "über": byte fallback for ü
    CHECK(gaze_tokenizer_encode(t, text, strlen(text), NULL, &enc) == GAZE_OK, "%s", gaze_last_error());
    char * out = NULL;
    size_t n = 0;
    CHECK(gaze_tokenizer_decode(t, enc.ids, enc.n_tokens, true, &out, &n) == GAZE_OK, "%s", gaze_last_error());
    // the added space prefix comes back as a leading space; U+2581 as " "; bytes as bytes
    CHECK(out && !strcmp(out, " abc ab\xC3\xBC" "ber a"), "decode: \"%s\"", out ? out : "(null)");
    free(out);
    // streaming: the two byte tokens of ü come out as one character
    struct gaze_tokenizer_stream * st = NULL;
    CHECK(gaze_tokenizer_stream_init(&st, t) == GAZE_OK, "%s", gaze_last_error());
    char acc[64] = "";
    size_t al = 0;
    bool whole = true;
    for (int64_t i = 0; st && i < enc.n_tokens; i++) {
        const char * p; size_t l;
        CHECK(gaze_tokenizer_stream_push(st, enc.ids[i], &p, &l) == GAZE_OK, "%s", gaze_last_error());
        for (size_t k = 0; k < l; k++) whole &= !((unsigned char)p[k] == 0xC3 && k + 1 == l);
        memcpy(acc + al, p, l); al += l;
    }
    acc[al] = 0;
    CHECK(whole && !strcmp(acc, " abc ab\xC3\xBC" "ber a"), "stream: \"%s\"", acc);
    gaze_tokenizer_stream_free(st);
    // specials: <s> = 1 added, </s> = 2, <unk> = 0
    struct gaze_tokenizer_specials sp = gaze_tokenizer_specials(t);
    CHECK(sp.bos == 1 && sp.eos == 2 && sp.unk == 0 && sp.add_bos && !sp.add_eos, "specials %d %d %d", sp.bos, sp.eos, sp.unk);
    CHECK(gaze_tokenizer_token_type(t, 3) == GAZE_BPE_TOKEN_TYPE_CONTROL, "<ctl> is control");
    size_t pl;
    const char * piece = gaze_tokenizer_token_piece(t, gaze_tokenizer_token_id(t, "\xE2\x96\x81" "ab", 5), &pl);
    CHECK(piece && pl == 3 && !memcmp(piece, " ab", 3), "piece of \xE2\x96\x81" "ab");
    // display: a byte token shows its stored text, a piece its text with the space made visible
    char disp[64];
    gaze_tokenizer_token_display(t, gaze_tokenizer_token_id(t, "<0xC3>", 6), disp, sizeof disp, 0);
    CHECK(!strcmp(disp, "<0xC3>"), "display of a byte token: %s", disp);
    gaze_tokenizer_token_display(t, gaze_tokenizer_token_id(t, "\xE2\x96\x81" "ab", 5), disp, sizeof disp, 0);
    CHECK(!strcmp(disp, "\xE2\x90\xA3" "ab"), "display of \xE2\x96\x81" "ab: %s", disp);
    gaze_encoding_free(&enc);
    gaze_tokenizer_free(t);
}

// A vocab built in memory: refusals by name.
static void test_refusals(void) {
    const char * toks[] = { "<unk>", "<s>", "</s>", "a", "\xE2\x96\x81" };
    int32_t types[] = { 2, 3, 3, 1, 1 };
    float scores[] = { 0, 0, 0, -1, -2 };
    struct gaze_bpe_vocab v = { 0 };
    v.n_tokens = 5; v.tokens = toks; v.token_types = types; v.model = "llama"; v.scores = scores;
    v.bos_id = 1; v.eos_id = 2; v.add_bos = -1; v.add_space_prefix = -1;
    struct gaze_bpe * b = NULL;
    CHECK(gaze_bpe_init(&b, &v) == GAZE_OK, "%s", gaze_last_error());
    struct gaze_encoding enc = { 0 };
    // 'z' has neither a token nor a byte-fallback token: llama.cpp throws; gaze says why
    enum gaze_status s = b ? gaze_bpe_encode(b, "az", 2, NULL, &enc) : GAZE_ERR_INVALID_ARG;
    CHECK(s == GAZE_ERR_FORMAT && strstr(gaze_last_error(), "0x7A"), "missing byte: %d %s", s, gaze_last_error());
    gaze_bpe_free(b);
    scores[3] = NAN;
    CHECK(gaze_bpe_init(&b, &v) == GAZE_ERR_FORMAT && strstr(gaze_last_error(), "scores[3]"), "NaN score: %s", gaze_last_error());
    v.model = "bert";
    CHECK(gaze_bpe_init(&b, &v) == GAZE_ERR_UNSUPPORTED && strstr(gaze_last_error(), "bert"), "model: %s", gaze_last_error());
    gaze_encoding_free(&enc);
}

int main(void) {
    test_tiny_cases();
    test_tiny_decode();
    test_refusals();
    return check_summary("test_spm");
}

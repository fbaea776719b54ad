// MarianTokenizer (text/marian.c, text/spm_model.c): ids and decoded texts identical to
// transformers 4.46.3 on tests/fixtures/seq2seq/marian_text (real sentencepiece models trained by
// tests/reference/gen_marian_tokenizer_fixtures.py; cases with mixed scripts, whitespace runs,
// digits, unknown characters, specials and language codes in the text), and the refusals of bad
// .spm files (hand-written protobuf: truncations, wrong wire types, NaN scores, no <unk>, BPE,
// duplicate pieces) and bad vocab.json, each naming the file and field.
#include "check.h"
#include "gaze.h"
#include "formats/json.h"
#include "text/spm_model.h"
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FIX "tests/fixtures/seq2seq/marian_text"

static void test_cases(void) {
    struct gaze_tokenizer * t = NULL;
    enum gaze_status s = gaze_tokenizer_from_folder(FIX, &t);
    CHECK(s == GAZE_OK, "open: %s", gaze_last_error());
    json_t * doc = NULL;
    CHECK(gaze_json_load_file(&doc, FIX "/cases.json", 0, 0) == GAZE_OK, "%s", gaze_last_error());
    if (s || !doc) { gaze_tokenizer_free(t); json_decref(doc); return; }
    CHECK(gaze_tokenizer_kind(t) == GAZE_TOKENIZER_UNIGRAM, "kind %d", gaze_tokenizer_kind(t));
    json_t * cases = json_object_get(doc, "cases"), * c;
    size_t i;
    int n_ok = 0, n = 0;
    json_array_foreach(cases, i, c) {
        const char * text = json_string_value(json_object_get(c, "text"));
        json_t * ids = json_object_get(c, "ids");
        struct gaze_encoding e = { 0 };
        s = gaze_tokenizer_encode(t, text, strlen(text), NULL, &e);
        CHECK(s == GAZE_OK, "case %zu: %s", i, gaze_last_error());
        if (s) continue;
        n++;
        bool same = (size_t)e.n_tokens == json_array_size(ids);
        for (int64_t k = 0; same && k < e.n_tokens; k++) same = e.ids[k] == json_integer_value(json_array_get(ids, (size_t)k));
        if (!same) {
            fprintf(stderr, "case %zu \"%s\": gaze", i, text);
            for (int64_t k = 0; k < e.n_tokens; k++) fprintf(stderr, " %d", e.ids[k]);
            fprintf(stderr, "\n  transformers");
            for (size_t k = 0; k < json_array_size(ids); k++) fprintf(stderr, " %lld", json_integer_value(json_array_get(ids, k)));
            fputc('\n', stderr);
        }
        CHECK(same, "case %zu: ids differ from MarianTokenizer's", i);
        for (int64_t k = 0; k < e.n_tokens; k++)   // offsets inside the text
            CHECK(e.offsets[2 * k] >= 0 && e.offsets[2 * k] <= e.offsets[2 * k + 1] && e.offsets[2 * k + 1] <= (int64_t)strlen(text),
                  "case %zu: offsets of token %lld", i, (long long)k);
        for (int skip = 0; skip < 2; skip++) {
            char * d = NULL;
            size_t dl = 0;
            const char * want = json_string_value(json_object_get(c, skip ? "decode_skip" : "decode"));
            CHECK(gaze_tokenizer_decode(t, e.ids, e.n_tokens, skip, &d, &dl) == GAZE_OK, "decode: %s", gaze_last_error());
            CHECK(d && want && !strcmp(d, want), "case %zu decode(skip=%d): \"%s\", transformers \"%s\"", i, skip, d ? d : "", want);
            free(d);
        }
        n_ok += same;
        gaze_encoding_free(&e);
    }
    // the generated target ids decode as MarianTokenizer.decode with target.spm
    json_t * out = json_object_get(doc, "out_ids");
    int32_t ids[64];
    size_t no = json_array_size(out);
    for (size_t k = 0; k < no && k < 64; k++) ids[k] = (int32_t)json_integer_value(json_array_get(out, k));
    for (int skip = 0; skip < 2; skip++) {
        char * d = NULL;
        const char * want = json_string_value(json_object_get(doc, skip ? "out_text_skip" : "out_text"));
        CHECK(no > 0 && no <= 64 && gaze_tokenizer_decode(t, ids, (int64_t)no, skip, &d, NULL) == GAZE_OK && d && want &&
              !strcmp(d, want), "generated text decode(skip=%d): \"%s\", transformers \"%s\"", skip, d ? d : "", want ? want : "");
        free(d);
    }
    printf("marian tokenizer: %d of %d cases identical to transformers\n", n_ok, n);
    CHECK(n >= 20, "only %d cases", n);
    json_decref(doc);
    gaze_tokenizer_free(t);
}

/* ---- hand-written .spm files ---------------------------------------------------------------- */

struct buf { uint8_t b[4096]; size_t n; };
static void put_varint(struct buf * o, uint64_t v) { do { o->b[o->n++] = (uint8_t)((v & 0x7F) | (v > 0x7F ? 0x80 : 0)); v >>= 7; } while (v); }
static void put_bytes(struct buf * o, uint32_t field, const void * p, size_t n) {
    put_varint(o, (uint64_t)field << 3 | 2);
    put_varint(o, n);
    memcpy(o->b + o->n, p, n);
    o->n += n;
}
static void put_piece(struct buf * o, const char * text, float score, int type) {
    struct buf p = { .n = 0 };
    put_bytes(&p, 1, text, strlen(text));
    uint32_t u;
    memcpy(&u, &score, 4);
    put_varint(&p, 2 << 3 | 5);
    for (int k = 0; k < 4; k++) p.b[p.n++] = (uint8_t)(u >> (8 * k));
    if (type != 1) { put_varint(&p, 3 << 3 | 0); put_varint(&p, (uint64_t)type); }
    put_bytes(o, 1, p.b, p.n);
}
// a small valid model: <unk>, <s>, </s>, then pieces
static void valid_model(struct buf * o) {
    o->n = 0;
    put_piece(o, "<unk>", 0, 2);
    put_piece(o, "<s>", 0, 3);
    put_piece(o, "</s>", 0, 3);
    put_piece(o, "\xE2\x96\x81" "a", -1, 1);
    put_piece(o, "b", -2, 1);
    struct buf t = { .n = 0 };   // trainer_spec: model_type UNIGRAM, an unknown field 99
    put_varint(&t, 3 << 3); put_varint(&t, 1);
    put_varint(&t, 99 << 3); put_varint(&t, 7);
    put_bytes(o, 2, t.b, t.n);
}

static void expect_spm(const struct buf * o, const char * what, const char * must1, const char * must2) {
    struct tok_spm_model * m = NULL;
    enum gaze_status s = tok_spm_model_parse(o->b, o->n, "x/source.spm", &m);
    const char * e = gaze_last_error();
    CHECK(s != GAZE_OK && !m && strstr(e, "x/source.spm") && strstr(e, must1) && (!must2 || strstr(e, must2)),
          "%s: status %d: %s", what, (int)s, e);
    tok_spm_model_free(m);
}

static void test_spm_refusals(void) {
    struct buf o;
    valid_model(&o);
    struct tok_spm_model * m = NULL;
    CHECK(tok_spm_model_parse(o.b, o.n, "x/source.spm", &m) == GAZE_OK && m && m->n == 5 && m->unk == 0 &&
          m->pieces[3].score == -1.0f && m->add_dummy_prefix && m->model_type == 1, "valid: %s", gaze_last_error());
    tok_spm_model_free(m);
    for (size_t cut = 1; cut < o.n; cut++) {   // every truncation is refused or parses (never reads past)
        struct tok_spm_model * mm = NULL;
        if (tok_spm_model_parse(o.b, cut, "x/source.spm", &mm) == GAZE_OK) CHECK(mm && mm->n >= 1, "cut %zu", cut);
        tok_spm_model_free(mm);
    }
    struct buf b = o;
    b.n -= 3;   // inside the trainer_spec
    expect_spm(&b, "truncated", "runs past the end", NULL);
    valid_model(&b);
    put_piece(&b, "c", NAN, 1);
    expect_spm(&b, "NaN", "pieces[5]", "score");
    valid_model(&b);
    put_piece(&b, "d", -1, 9);
    expect_spm(&b, "type 9", "pieces[5]", "type");
    valid_model(&b);
    put_piece(&b, "<unk2>", 0, 2);
    expect_spm(&b, "two unk", "pieces[5]", "UNKNOWN");
    valid_model(&b);
    put_piece(&b, "\xFF", -1, 1);
    expect_spm(&b, "utf8", "pieces[5]", "UTF-8");
    valid_model(&b);
    put_varint(&b, 1 << 3 | 0);   // pieces as a varint
    put_varint(&b, 5);
    expect_spm(&b, "wire type", "pieces", "wire type 0");
    b.n = 0;
    put_piece(&b, "a", -1, 1);
    expect_spm(&b, "no unk", "UNKNOWN", NULL);
    b.n = 0;
    expect_spm(&b, "empty", "no pieces", NULL);
    valid_model(&b);
    b.b[b.n++] = 0x0B;   // field 1, wire type 3 (a group)
    expect_spm(&b, "group", "wire type 3", NULL);
    valid_model(&b);
    for (int k = 0; k < 11; k++) b.b[b.n++] = 0xFF;
    expect_spm(&b, "varint", "varint", NULL);
}

// A Marian folder in tmp with the fixture's files, source.spm replaced by spm [n] (if given) and
// vocab.json by vocab (if given); the open's error must name file and field.
static void make_folder(const char * tmp, const struct buf * spm, const char * vocab) {
    const char * files[] = { "target.spm", "tokenizer_config.json", "source.spm", "vocab.json" };
    char src[512], dst[512], cwd[256];
    if (!getcwd(cwd, sizeof cwd)) return;
    for (int k = 0; k < 4; k++) {
        snprintf(dst, sizeof dst, "%s/%s", tmp, files[k]);
        unlink(dst);
        if ((k == 2 && spm) || (k == 3 && vocab)) continue;
        snprintf(src, sizeof src, "%s/" FIX "/%s", cwd, files[k]);
        CHECK(symlink(src, dst) == 0, "symlink %s", dst);
    }
    if (spm) {
        snprintf(dst, sizeof dst, "%s/source.spm", tmp);
        FILE * f = fopen(dst, "wb");
        if (f) { fwrite(spm->b, 1, spm->n, f); fclose(f); }
    }
    if (vocab) {
        snprintf(dst, sizeof dst, "%s/vocab.json", tmp);
        FILE * f = fopen(dst, "wb");
        if (f) { fputs(vocab, f); fclose(f); }
    }
}

static void expect_folder(const char * tmp, const struct buf * spm, const char * vocab, const char * must1, const char * must2) {
    make_folder(tmp, spm, vocab);
    struct gaze_tokenizer * t = NULL;
    enum gaze_status s = gaze_tokenizer_from_folder(tmp, &t);
    const char * e = gaze_last_error();
    CHECK(s != GAZE_OK && !t && strstr(e, must1) && (!must2 || strstr(e, must2)), "%s: status %d: %s", must1, (int)s, e);
    gaze_tokenizer_free(t);
}

static void test_folder_refusals(void) {
    char tmp[64] = "/tmp/gaze-marian-XXXXXX";
    CHECK(mkdtemp(tmp) != NULL, "mkdtemp");
    struct buf b;
    valid_model(&b);   // the hand-written model: "ab a c" -> ▁a b ▁a, the unknown "▁c" -> <unk>, </s>
    make_folder(tmp, &b, "{\"</s>\": 0, \"<unk>\": 1, \"\u2581a\": 2, \"b\": 3, \"<pad>\": 4}");
    struct gaze_tokenizer * tk = NULL;
    CHECK(gaze_tokenizer_from_folder(tmp, &tk) == GAZE_OK, "hand-written: %s", gaze_last_error());
    struct gaze_encoding e = { 0 };
    if (tk && gaze_tokenizer_encode(tk, "ab a c", 6, NULL, &e) == GAZE_OK) {
        const int32_t want[] = { 2, 3, 2, 1, 0 };
        CHECK(e.n_tokens == 5 && !memcmp(e.ids, want, sizeof want), "hand-written: %lld tokens", (long long)e.n_tokens);
        gaze_encoding_free(&e);
    } else CHECK(0, "hand-written encode: %s", gaze_last_error());
    gaze_tokenizer_free(tk);
    expect_folder(tmp, NULL, "{\"</s>\": 0, \"<pad>\": 1}", "vocab.json", "unk token");
    expect_folder(tmp, NULL, "{\"</s>\": 0, \"<unk>\": 1, \"<pad>\": 3}", "vocab.json", "\"<pad>\"");
    expect_folder(tmp, NULL, "{\"</s>\": 0, \"<unk>\": 1, \"<pad>\": 1}", "vocab.json", "already");
    expect_folder(tmp, NULL, "{\"</s>\": 0, \"<unk>\": 1, \"<pad>\": \"2\"}", "vocab.json", "integer id");
    expect_folder(tmp, NULL, "[1, 2]", "vocab.json", "object");
    struct buf bpe;
    valid_model(&bpe);
    struct buf t = { .n = 0 };
    put_varint(&t, 3 << 3); put_varint(&t, 2);   // model_type BPE
    put_bytes(&bpe, 2, t.b, t.n);
    expect_folder(tmp, &bpe, NULL, "source.spm", "model_type BPE");
    struct buf dup;
    valid_model(&dup);
    put_piece(&dup, "b", -3, 1);
    expect_folder(tmp, &dup, NULL, "source.spm", "same piece");
    struct buf ud;
    valid_model(&ud);
    put_piece(&ud, "<mask>", 0, 4);
    expect_folder(tmp, &ud, NULL, "source.spm", "USER_DEFINED");
    struct buf bad;
    valid_model(&bad);
    put_piece(&bad, "c", INFINITY, 1);
    expect_folder(tmp, &bad, NULL, "source.spm", "score");
    // a vocab.json with more pieces than the embedding's rows: the model refuses it by name
    {
        json_t * voc = NULL;
        CHECK(gaze_json_load_file(&voc, FIX "/vocab.json", 0, 0) == GAZE_OK, "%s", gaze_last_error());
        int64_t V = voc ? (int64_t)json_object_size(voc) : 0;
        for (int k = 0; voc && k < 3; k++) {
            char key[16];
            snprintf(key, sizeof key, "extra%d", k);
            json_object_set_new(voc, key, json_integer(V + k));
        }
        char * text = voc ? json_dumps(voc, 0) : NULL;
        make_folder(tmp, NULL, text ? text : "{}");
        free(text);
        json_decref(voc);
        char src[512], dst[512], cwd[256];
        const char * more[] = { "config.json", "model.safetensors", "generation_config.json" };
        for (int k = 0; k < 3 && getcwd(cwd, sizeof cwd); k++) {
            snprintf(src, sizeof src, "%s/" FIX "/%s", cwd, more[k]);
            snprintf(dst, sizeof dst, "%s/%s", tmp, more[k]);
            unlink(dst);
            CHECK(symlink(src, dst) == 0, "symlink %s", dst);
        }
        struct gaze_model * mdl = NULL;
        enum gaze_status s = gaze_model_load(&mdl, tmp);
        CHECK(s != GAZE_OK && !mdl && strstr(gaze_last_error(), "vocab.json") && strstr(gaze_last_error(), "vocab_size"),
              "vocab beyond the embedding: %d %s", (int)s, gaze_last_error());
        gaze_model_free(mdl);
        for (int k = 0; k < 3; k++) { snprintf(dst, sizeof dst, "%s/%s", tmp, more[k]); unlink(dst); }
    }
    // separate_vocabs (a target vocabulary of its own) is refused by name
    make_folder(tmp, NULL, NULL);
    {
        char dst[512];
        snprintf(dst, sizeof dst, "%s/tokenizer_config.json", tmp);
        unlink(dst);
        FILE * f = fopen(dst, "w");
        if (f) { fputs("{\"separate_vocabs\": true, \"target_vocab_file\": \"t.json\"}", f); fclose(f); }
        struct gaze_tokenizer * tk2 = NULL;
        enum gaze_status s = gaze_tokenizer_from_folder(tmp, &tk2);
        CHECK(s == GAZE_ERR_UNSUPPORTED && strstr(gaze_last_error(), "tokenizer_config.json") && strstr(gaze_last_error(), "separate_vocabs"),
              "separate_vocabs: %d %s", (int)s, gaze_last_error());
        gaze_tokenizer_free(tk2);
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
}

int main(void) {
    test_cases();
    test_spm_refusals();
    test_folder_refusals();
    return check_summary("test_marian_tokenizer");
}

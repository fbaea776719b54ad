// SentencePiece model files (text/spm_model.c: the protobuf wire reader and its checks) and
// Marian's tokenizer over them (text/marian.c: the sentencepiece normalizer with the model's
// charsmap, Viterbi in sentencepiece mode, language codes, vocab.json mapping, target decode).
// Input: text length le16 [2], the text, then a ModelProto (a .spm file). A model that parses
// must be usable: a vocab.json of its NORMAL pieces plus </s>, <unk>, <pad> is built, the text
// encoded (every id in range, offsets inside the text) and decoded with the same model as
// target.spm. Failures must be a status with a clean message.
#include "fuzz_common.h"
#include "text/bpe.h"
#include "text/marian.h"
#include "text/spm_model.h"
#include <jansson.h>

int LLVMFuzzerInitialize(int * argc, char *** argv) {
    fuzz_setup();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    if (size < 2) return 0;
    size_t tn = (size_t)data[0] | (size_t)data[1] << 8;
    if (tn > size - 2) tn = size - 2;
    const char * text = (const char *)data + 2;
    const uint8_t * model = data + 2 + tn;
    size_t mn = size - 2 - tn;
    struct tok_spm_model * m = (struct tok_spm_model *)0x1;
    enum gaze_status s = tok_spm_model_parse(model, mn, "fuzz/source.spm", &m);
    if (s) { fuzz_check_failure(s, "spm model"); FUZZ_REQUIRE(m == NULL, "out not NULL on failure"); return 0; }
    FUZZ_REQUIRE(m->n >= 1 && m->unk >= 0 && m->unk < m->n, "parsed model: %d pieces, unk %d", m->n, m->unk);
    json_t * voc = json_object();
    json_object_set_new(voc, "</s>", json_integer(0));
    json_object_set_new(voc, "<unk>", json_integer(1));
    for (int32_t i = 0; i < m->n && i < 4096; i++) {
        const struct tok_spm_piece * p = &m->pieces[i];
        FUZZ_REQUIRE(p->len > 0 && p->text >= (const char *)m->buf, "piece %d", i);
        if (p->type != TOK_SPM_NORMAL || memchr(p->text, 0, p->len)) continue;
        char * k = strndup(p->text, p->len);
        if (!json_object_get(voc, k)) json_object_set_new(voc, k, json_integer((json_int_t)json_object_size(voc)));
        free(k);
    }
    json_object_set_new(voc, "<pad>", json_integer((json_int_t)json_object_size(voc)));
    const char * names[3] = { "<unk>", "</s>", "<pad>" };
    struct gaze_bpe * b = NULL;
    struct tok_marian_info info;
    s = tok_marian_build(m, voc, "fuzz/vocab.json", "fuzz/source.spm", names, &b, &info);
    if (s) fuzz_check_failure(s, "marian build");
    struct tok_marian_dec * d = NULL;
    if (!s) {
        s = tok_marian_decoder_from(m, "fuzz/target.spm", &d);   // takes m
        m = NULL;
        if (s) fuzz_check_failure(s, "marian decoder");
    }
    if (!s) {
        const int32_t V = gaze_bpe_vocab_size(b);
        struct gaze_bpe_encode_opts o = { 0 };
        o.replace_invalid = true;
        struct gaze_encoding e = { 0 };
        s = gaze_bpe_encode(b, text, tn, &o, &e);
        if (s) fuzz_check_failure_ex(s, "marian encode", false);
        for (int64_t i = 0; !s && i < e.n_tokens; i++) {
            FUZZ_REQUIRE(e.ids[i] >= 0 && e.ids[i] < V, "id %d out of range (V %d)", e.ids[i], V);
            FUZZ_REQUIRE(e.offsets[2 * i] >= 0 && e.offsets[2 * i] <= e.offsets[2 * i + 1] && e.offsets[2 * i + 1] <= (int64_t)tn,
                         "offsets [%lld, %lld) outside %zu bytes", (long long)e.offsets[2 * i], (long long)e.offsets[2 * i + 1], tn);
        }
        FUZZ_REQUIRE(s || (e.n_tokens >= 1 && e.ids[e.n_tokens - 1] == info.eos), "encode must end with </s>");
        for (int skip = 0; !s && skip < 2; skip++) {
            char * out = NULL;
            size_t ol = 0;
            FUZZ_REQUIRE(tok_marian_decode(d, b, e.ids, e.n_tokens, skip, &out, &ol) == GAZE_OK, "decode: %s", gaze_last_error());
            FUZZ_REQUIRE(out && strlen(out) == ol, "decode length");
            free(out);
        }
        gaze_encoding_free(&e);
    }
    tok_marian_dec_free(d);
    gaze_bpe_free(b);
    tok_spm_model_free(m);
    json_decref(voc);
    return 0;
}

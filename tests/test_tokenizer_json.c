// tokenizer.json BPE: ids identical to Hugging Face `tokenizers` 0.20.3 for five tokenizers in
// the layouts of GPT-2, Llama 3, Qwen2 (byte-level), Llama 2 and Mistral (SentencePiece-style),
// and BERT (WordPiece, through the same object)
// over 240 strings (tests/reference/gen_tokenizer_fixtures.py), with and without special
// tokens; and every unsupported component refused by name.
#include "check.h"
#include "gaze.h"
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char * fx_dir(char * buf, size_t cap) {
    const char * d = getenv("GAZE_SOURCE_DIR");
    snprintf(buf, cap, "%s/tests/fixtures/tokenizer_json", d && *d ? d : ".");
    return buf;
}

static bool same_ids(const struct gaze_encoding * enc, const json_t * ids) {
    if ((size_t)enc->n_tokens != json_array_size(ids)) return false;
    for (int64_t k = 0; k < enc->n_tokens; k++)
        if (enc->ids[k] != json_integer_value(json_array_get(ids, (size_t)k))) return false;
    return true;
}

static void show(const char * name, const char * text, const struct gaze_encoding * enc, const json_t * ids) {
    fprintf(stderr, "  %s \"%s\"\n  want", name, text);
    for (size_t k = 0; k < json_array_size(ids); k++) fprintf(stderr, " %lld", (long long)json_integer_value(json_array_get(ids, k)));
    fprintf(stderr, "\n  got ");
    for (int64_t k = 0; k < enc->n_tokens; k++) fprintf(stderr, " %d", enc->ids[k]);
    fprintf(stderr, "\n");
}

static void test_cases(void) {
    char dir[4096], path[4200];
    fx_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/cases.json", dir);
    json_error_t err;
    json_t * doc = json_load_file(path, JSON_ALLOW_NUL, &err);
    CHECK(doc != NULL, "%s: %s", path, err.text);
    if (!doc) return;
    json_t * names = json_object_get(doc, "names"), * cases = json_object_get(doc, "cases");
    struct gaze_encoding enc = { 0 };
    size_t ni;
    json_t * jn;
    json_array_foreach(names, ni, jn) {
        const char * name = json_string_value(jn);
        snprintf(path, sizeof path, "%s/%s.json", dir, name);
        struct gaze_tokenizer * t = NULL;
        enum gaze_status s = gaze_tokenizer_open(path, &t);
        CHECK(s == GAZE_OK, "%s: %s", path, gaze_last_error());
        if (s) continue;
        bool spm = !strcmp(name, "llama2") || !strcmp(name, "mistral"), wp = !strcmp(name, "bert");
        CHECK(gaze_tokenizer_kind(t) == (wp ? GAZE_TOKENIZER_WORDPIECE : spm ? GAZE_TOKENIZER_SPM : GAZE_TOKENIZER_BPE),
              "%s: kind %d", name, gaze_tokenizer_kind(t));
        int bad = 0, n = 0;
        size_t i;
        json_t * c;
        json_array_foreach(cases, i, c) {
            json_t * jt = json_object_get(c, "text");
            const char * text = json_string_value(jt);
            for (int plain = 0; plain < 2; plain++) {
                json_t * ids = json_object_get(json_object_get(c, plain ? "ids_plain" : "ids"), name);
                if (!ids) continue;
                struct gaze_tokenizer_encode_opts o = { 0 };
                o.no_special = plain;
                s = gaze_tokenizer_encode(t, text, json_string_length(jt), &o, &enc);
                bool ok = s == GAZE_OK && same_ids(&enc, ids);
                if (!ok && bad++ < 3) { if (s) fprintf(stderr, "  %s\n", gaze_last_error()); show(name, text, &enc, ids); }
                n++;
            }
        }
        CHECK(bad == 0 && n >= 250, "%s: %d of %d encodings differ from tokenizers", name, bad, n);
        printf("%s: %d encodings\n", name, n);
        gaze_tokenizer_free(t);
    }
    gaze_encoding_free(&enc);
    json_decref(doc);
}

// Writes a variant of gpt2.json with one part replaced and checks the refusal names it.
static void refused(const char * key, const char * json_value, const char * want) {
    char dir[4096], path[4200];
    fx_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/gpt2.json", dir);
    json_error_t err;
    json_t * doc = json_load_file(path, 0, &err);
    if (!doc) { CHECK(0, "%s", err.text); return; }
    json_t * v = json_loads(json_value, JSON_DECODE_ANY, &err);
    if (!strcmp(key, "model.dropout") || !strcmp(key, "model.type")) json_object_set_new(json_object_get(doc, "model"), key + 6, v);
    else json_object_set_new(doc, key, v);
    char tmp[] = "/tmp/gaze_tokjson_XXXXXX.json";
    int fd = mkstemps(tmp, 5);
    if (fd < 0) { CHECK(0, "mkstemps"); json_decref(doc); return; }
    close(fd);
    json_dump_file(doc, tmp, 0);
    struct gaze_tokenizer * t = NULL;
    enum gaze_status s = gaze_tokenizer_open(tmp, &t);
    CHECK(s == GAZE_ERR_UNSUPPORTED && strstr(gaze_last_error(), want), "%s = %s: status %d, \"%s\" (want \"%s\")", key,
          json_value, s, gaze_last_error(), want);
    gaze_tokenizer_free(t);
    unlink(tmp);
    json_decref(doc);
}

static void test_refusals(void) {
    refused("model.type", "\"Unigram\"", "Unigram");
    refused("model.dropout", "0.1", "dropout");
    refused("normalizer", "{\"type\": \"NFKC\"}", "NFKC");
    refused("normalizer", "{\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"Strip\"}]}", "Strip");
    // CLIP's order is NFC, Replace, Lowercase: NFC after Lowercase would be run in the wrong order
    refused("normalizer", "{\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"Lowercase\"}, {\"type\": \"NFC\"}]}", "NFC after");
    refused("pre_tokenizer", "{\"type\": \"Whitespace\"}", "Whitespace");
    refused("pre_tokenizer", "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"a\"}, \"behavior\": \"MergedWithPrevious\", \"invert\": false}",
            "MergedWithPrevious");
    refused("pre_tokenizer", "{\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"use_regex\": true}", "add_prefix_space");
    // RobertaProcessing and BertProcessing run (tests/test_encoder_golden.c); two specials before $A do not
    refused("post_processor", "{\"type\": \"TemplateProcessing\", \"single\": [{\"SpecialToken\": {\"id\": \"a\", \"type_id\": 0}}, "
            "{\"SpecialToken\": {\"id\": \"b\", \"type_id\": 0}}, {\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}]}",
            "TemplateProcessing shape");
    refused("added_tokens", "[{\"id\": 0, \"content\": \"!\", \"single_word\": true, \"special\": true}]", "single_word");
}

// tokenizer_config.json's chat template is found next to a tokenizer.json.
static void test_config(void) {
    char dir[] = "/tmp/gaze_tokcfg_XXXXXX", src[4096], path[4200];
    if (!mkdtemp(dir)) { CHECK(0, "mkdtemp"); return; }
    fx_dir(src, sizeof src);
    snprintf(path, sizeof path, "%s/qwen2.json", src);
    json_error_t err;
    json_t * doc = json_load_file(path, 0, &err);
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    if (doc) json_dump_file(doc, path, 0);
    json_decref(doc);
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    FILE * f = fopen(path, "w");
    if (f) {
        fputs("{\"chat_template\": \"{% for m in messages %}<|im_start|>{{ m.role }}\\n{{ m.content }}<|im_end|>\\n{% endfor %}\", "
              "\"bos_token\": \"<|endoftext|>\", \"add_bos_token\": true, \"eos_token\": {\"content\": \"<|im_end|>\"}, "
              // what transformers writes when a tokenizer has no limit (int(1e30)): beyond int64
              "\"model_max_length\": 1000000000000000019884624838656}", f);
        fclose(f);
    }
    struct gaze_tokenizer * t = NULL;
    CHECK(gaze_tokenizer_open(dir, &t) == GAZE_OK, "%s", gaze_last_error());
    // bos_token / add_bos_token / eos_token: the ids, and BOS added (the post-processor has none)
    struct gaze_tokenizer_specials sp = gaze_tokenizer_specials(t);
    CHECK(t && sp.bos == gaze_tokenizer_token_id(t, "<|endoftext|>", 13) && sp.add_bos &&
          sp.eos == gaze_tokenizer_token_id(t, "<|im_end|>", 10) && !sp.add_eos && sp.bos >= 0 && sp.eos >= 0,
          "config specials: bos %d (add %d) eos %d (add %d)", sp.bos, sp.add_bos, sp.eos, sp.add_eos);
    int32_t im_end = gaze_tokenizer_token_id(t, "<|im_end|>", 10), im_start = gaze_tokenizer_token_id(t, "<|im_start|>", 12);
    CHECK(gaze_tokenizer_is_eog(t, im_end) && !gaze_tokenizer_is_eog(t, im_start), "end of generation: <|im_end|> only");
    char * out = NULL;
    // the tokenizer adds BOS itself, and ChatML writes none: the prompt as transformers renders it
    CHECK(t && gaze_tokenizer_chat(t, "hi", &out) == GAZE_OK && out &&
          !strcmp(out, "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"), "chat: %s", out ? out : gaze_last_error());
    // the ChatML markers are single tokens, after the BOS
    struct gaze_encoding enc = { 0 };
    CHECK(out && gaze_tokenizer_encode(t, out, strlen(out), NULL, &enc) == GAZE_OK && enc.n_tokens > 1 &&
          enc.ids[0] == sp.bos && enc.ids[1] == gaze_tokenizer_token_id(t, "<|im_start|>", 12), "chat prompt encoding");
    gaze_encoding_free(&enc);
    free(out);
    gaze_tokenizer_free(t);
    unlink(path);
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    unlink(path);
    rmdir(dir);
}

// WordPiece through the object: decode joins words with a space and "##" pieces with none, the
// stream gives the same text, specials are [CLS] / [SEP].
static void test_wordpiece(void) {
    char dir[4096], path[4200];
    snprintf(path, sizeof path, "%s/bert.json", fx_dir(dir, sizeof dir));
    struct gaze_tokenizer * t = NULL;
    CHECK(gaze_tokenizer_open(path, &t) == GAZE_OK, "%s", gaze_last_error());
    if (!t) return;
    const char * text = "Tokenizers matter, floccinaucinihilipilification!";
    struct gaze_encoding enc = { 0 };
    CHECK(gaze_tokenizer_encode(t, text, strlen(text), NULL, &enc) == GAZE_OK, "%s", gaze_last_error());
    struct gaze_tokenizer_specials sp = gaze_tokenizer_specials(t);
    CHECK(enc.n_tokens > 4 && enc.ids[0] == sp.bos && enc.ids[enc.n_tokens - 1] == sp.eos &&
          gaze_tokenizer_token_type(t, sp.bos) == GAZE_BPE_TOKEN_TYPE_CONTROL, "[CLS] ... [SEP]");
    char * out = NULL;
    CHECK(gaze_tokenizer_decode(t, enc.ids, enc.n_tokens, true, &out, NULL) == GAZE_OK && out &&
          !strcmp(out, "tokenizers matter , floccinaucinihilipilification !"), "decode: %s", out ? out : "");
    struct gaze_tokenizer_stream * st = NULL;
    char acc[256] = "";
    size_t al = 0;
    CHECK(gaze_tokenizer_stream_init(&st, t) == GAZE_OK, "%s", gaze_last_error());
    for (int64_t i = 0; st && i < enc.n_tokens; i++) {
        const char * p; size_t l;
        if (gaze_tokenizer_stream_push(st, enc.ids[i], &p, &l) == GAZE_OK && al + l < sizeof acc) { memcpy(acc + al, p, l); al += l; }
    }
    CHECK(out && !strcmp(acc, out), "stream \"%s\" vs decode", acc);
    gaze_tokenizer_stream_free(st);
    free(out);
    gaze_encoding_free(&enc);
    gaze_tokenizer_free(t);
}

int main(void) {
    test_cases();
    test_wordpiece();
    test_refusals();
    test_config();
    return check_summary("test_tokenizer_json");
}

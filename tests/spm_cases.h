// Shared by the SPM tests: runs every case of a fixture file (tests/reference/gen_spm_fixtures.py)
// through a tokenizer and checks the ids against llama.cpp's. Cases whose "gguf" names another
// file are left to that file's tokenizer.
#ifndef GAZE_TESTS_SPM_CASES_H
#define GAZE_TESTS_SPM_CASES_H
#include "check.h"
#include "gaze.h"
#include <jansson.h>
#include <string.h>

static int spm_run_cases(const struct gaze_tokenizer * tok, const json_t * cases, const char * gguf_name) {
    struct gaze_encoding enc;
    memset(&enc, 0, sizeof enc);
    size_t i;
    json_t * c;
    int n = 0;
    json_array_foreach(cases, i, c) {
        const char * g = json_string_value(json_object_get(c, "gguf"));
        if (gguf_name && (!g || strcmp(g, gguf_name))) continue;
        json_t * jt = json_object_get(c, "text"), * ids = json_object_get(c, "ids");
        const char * text = json_string_value(jt);
        size_t len = json_string_length(jt);
        struct gaze_tokenizer_encode_opts o = { 0 };
        o.no_special = !json_is_true(json_object_get(c, "add_special"));
        o.no_parse_special = !json_is_true(json_object_get(c, "parse_special"));
        enum gaze_status s = gaze_tokenizer_encode(tok, text, len, &o, &enc);
        bool same = s == GAZE_OK && (size_t)enc.n_tokens == json_array_size(ids);
        for (int64_t k = 0; same && k < enc.n_tokens; k++) same = enc.ids[k] == json_integer_value(json_array_get(ids, (size_t)k));
        if (!same) {
            fprintf(stderr, "  text \"%s\" (add %d parse %d)\n  want", text, !o.no_special, !o.no_parse_special);
            for (size_t k = 0; k < json_array_size(ids); k++) fprintf(stderr, " %lld", (long long)json_integer_value(json_array_get(ids, k)));
            fprintf(stderr, "\n  got ");
            for (int64_t k = 0; !s && k < enc.n_tokens; k++) fprintf(stderr, " %d", enc.ids[k]);
            fprintf(stderr, "%s\n", s ? gaze_last_error() : "");
        }
        CHECK(same, "case %zu: ids differ from llama.cpp", i);
        // offsets stay inside the text and never go backwards
        bool ok = !s;
        int64_t last = 0;
        for (int64_t k = 0; ok && k < enc.n_tokens; k++) {
            int64_t b = enc.offsets[2 * k], e = enc.offsets[2 * k + 1];
            ok = b >= 0 && b <= e && e <= (int64_t)len && (enc.sequence_ids[k] < 0 || b >= last);
            if (enc.sequence_ids[k] >= 0) last = b;
        }
        CHECK(ok, "case %zu: offsets out of order or out of range", i);
        n++;
    }
    gaze_encoding_free(&enc);
    return n;
}
#endif

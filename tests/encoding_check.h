// Compares a gaze_encoding with a Hugging Face `tokenizers` case {"ids": [...], "offsets":
// [[begin, end], ...]} from a committed fixture, and prints both on a mismatch. Shared by the
// tokenizer golden tests (header-only: each test is one translation unit).
#ifndef GAZE_TESTS_ENCODING_CHECK_H
#define GAZE_TESTS_ENCODING_CHECK_H

#include "gaze.h"
#include <jansson.h>
#include <stdio.h>

static bool enc_same(const struct gaze_encoding * enc, const json_t * want) {
    json_t * ids = json_object_get(want, "ids"), * offs = json_object_get(want, "offsets");
    if (!ids || (size_t)enc->n_tokens != json_array_size(ids)) return false;
    for (int64_t k = 0; k < enc->n_tokens; k++) {
        json_t * o = json_array_get(offs, (size_t)k);
        if (enc->ids[k] != json_integer_value(json_array_get(ids, (size_t)k)) ||
            enc->offsets[2 * k] != json_integer_value(json_array_get(o, 0)) ||
            enc->offsets[2 * k + 1] != json_integer_value(json_array_get(o, 1))) return false;
    }
    return true;
}

static void enc_show(const char * name, const char * text, const struct gaze_encoding * enc, const json_t * want) {
    json_t * ids = json_object_get(want, "ids"), * offs = json_object_get(want, "offsets");
    fprintf(stderr, "  %s \"%s\"\n  want", name, text);
    for (size_t k = 0; k < json_array_size(ids); k++)
        fprintf(stderr, " %lld(%lld,%lld)", (long long)json_integer_value(json_array_get(ids, k)),
                (long long)json_integer_value(json_array_get(json_array_get(offs, k), 0)),
                (long long)json_integer_value(json_array_get(json_array_get(offs, k), 1)));
    fprintf(stderr, "\n  got ");
    for (int64_t k = 0; k < enc->n_tokens; k++)
        fprintf(stderr, " %d(%lld,%lld)", enc->ids[k], (long long)enc->offsets[2 * k], (long long)enc->offsets[2 * k + 1]);
    fprintf(stderr, "\n");
}

#endif

// The model's tokenizer, reopened from its file (the model object does not expose its own): the
// induction protocol picks words that tokenize back to themselves, and the corpus statistics
// cut long documents at a token boundary (the Llama forward does not honour max_len).
#include "analysis/analysis.h"
#include <string.h>

enum gaze_status analysis_tok_open(struct analysis_tok * t, const struct gaze_model_info * info) {
    memset(t, 0, sizeof *t);
    return gaze_tokenizer_open(info->path, &t->tok);
}

void analysis_tok_close(struct analysis_tok * t) {
    gaze_tokenizer_free(t->tok);
    memset(t, 0, sizeof *t);
}

enum gaze_status analysis_tok_cut(const struct analysis_tok * t, const char * text, size_t n, int64_t max_tokens,
                                  struct gaze_encoding * enc, size_t * cut) {
    *cut = n;
    if (max_tokens <= 0) return GAZE_OK;
    enum gaze_status s = gaze_tokenizer_encode(t->tok, text, n, NULL, enc);
    if (s) return s;
    if (enc->n_tokens <= max_tokens) return GAZE_OK;
    // the end of the last kept token that came from the text (specials have offsets (0, 0))
    size_t end = 0;
    for (int64_t i = 0; i < max_tokens; i++)
        if ((size_t)enc->offsets[2 * i + 1] > end) end = (size_t)enc->offsets[2 * i + 1];
    *cut = end;
    return GAZE_OK;
}

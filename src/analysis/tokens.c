// The model's tokenizer, reopened from its file (the model object does not expose its own): the
// induction protocol picks words that tokenize back to themselves, and the corpus statistics
// cut long documents at a token boundary (the Llama forward does not honour max_len).
#include "analysis/analysis.h"
#include <string.h>

enum gaze_status analysis_tok_open(struct analysis_tok * t, const struct gaze_model_info * info) {
    memset(t, 0, sizeof *t);
    if (info->arch == GAZE_ARCH_BERT) return gaze_wordpiece_init(&t->wp, info->path);
    enum gaze_status s = gaze_gguf_open(info->path, &t->gguf);
    if (s) return s;
    struct gaze_gguf * g = t->gguf;
    const struct gaze_gguf_str * toks, * merges;
    int64_t n_tok, n_merges;
    const char * pre;
    size_t pre_len;
    if ((s = gaze_gguf_get_str(g, "tokenizer.ggml.pre", &pre, &pre_len)) ||
        (s = gaze_gguf_get_arr_str(g, "tokenizer.ggml.tokens", &toks, &n_tok)) ||
        (s = gaze_gguf_get_arr_str(g, "tokenizer.ggml.merges", &merges, &n_merges))) return s;
    const char ** tp = malloc((size_t)n_tok * sizeof *tp), ** mp = malloc((size_t)(n_merges + 1) * sizeof *mp);
    size_t * tl = malloc((size_t)n_tok * sizeof *tl), * ml = malloc((size_t)(n_merges + 1) * sizeof *ml);
    int32_t * types = malloc((size_t)n_tok * sizeof *types);
    if (!tp || !mp || !tl || !ml || !types) { s = gaze_error(GAZE_ERR_NOMEM, "tokenizer: out of memory"); goto done; }
    for (int64_t i = 0; i < n_tok; i++) { tp[i] = toks[i].s; tl[i] = toks[i].len; }
    for (int64_t i = 0; i < n_merges; i++) { mp[i] = merges[i].s; ml[i] = merges[i].len; }
    bool has_types = gaze_gguf_find_key(g, "tokenizer.ggml.token_type") >= 0;
    if (has_types && (s = gaze_gguf_get_arr_i32(g, "tokenizer.ggml.token_type", types, n_tok))) goto done;
    struct gaze_bpe_vocab v = { 0 };
    v.n_tokens = n_tok; v.tokens = tp; v.token_lens = tl; v.token_types = has_types ? types : NULL;
    v.n_merges = n_merges; v.merges = mp; v.merge_lens = ml; v.pre = pre; v.pre_len = pre_len;
    v.bos_id = v.eos_id = -1;
    v.add_bos = -1;
    uint32_t id;
    bool flag;
    if (gaze_gguf_find_key(g, "tokenizer.ggml.bos_token_id") >= 0) {
        if ((s = gaze_gguf_get_u32(g, "tokenizer.ggml.bos_token_id", &id))) goto done;
        v.bos_id = id > INT32_MAX ? -1 : (int32_t)id;
    }
    if (gaze_gguf_find_key(g, "tokenizer.ggml.eos_token_id") >= 0) {
        if ((s = gaze_gguf_get_u32(g, "tokenizer.ggml.eos_token_id", &id))) goto done;
        v.eos_id = id > INT32_MAX ? -1 : (int32_t)id;
    }
    if (gaze_gguf_find_key(g, "tokenizer.ggml.add_bos_token") >= 0) {
        if ((s = gaze_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &flag))) goto done;
        v.add_bos = flag;
    }
    s = gaze_bpe_init(&t->bpe, &v);
done:
    free(tp); free(mp); free(tl); free(ml); free(types);
    if (s) analysis_tok_close(t);
    return s;
}

void analysis_tok_close(struct analysis_tok * t) {
    gaze_bpe_free(t->bpe);
    gaze_gguf_free(t->gguf);
    gaze_wordpiece_free(t->wp);
    memset(t, 0, sizeof *t);
}

enum gaze_status analysis_tok_cut(const struct analysis_tok * t, const char * text, size_t n, int64_t max_tokens,
                                  struct gaze_encoding * enc, size_t * cut) {
    *cut = n;
    if (max_tokens <= 0) return GAZE_OK;
    enum gaze_status s = t->bpe ? gaze_bpe_encode(t->bpe, text, n, NULL, enc)
                                : gaze_wordpiece_encode(t->wp, text, n, NULL, 0, NULL, enc);
    if (s) return s;
    if (enc->n_tokens <= max_tokens) return GAZE_OK;
    // the end of the last kept token that came from the text (specials have offsets (0, 0))
    size_t end = 0;
    for (int64_t i = 0; i < max_tokens; i++)
        if ((size_t)enc->offsets[2 * i + 1] > end) end = (size_t)enc->offsets[2 * i + 1];
    *cut = end;
    return GAZE_OK;
}

// The induction-score protocol of TransformerLens's Main_Demo: BOS + S random tokens + the same
// S tokens; an induction head at a repeated token attends to the token that followed its
// earlier copy, i.e. the diagonal at offset 1 - S. Formulas: reference/interpretability.md §8.
#include "analysis/analysis.h"
#include <math.h>
#include <string.h>

enum gaze_status gaze_induction_scores_run(const struct gaze_run * run, int64_t S, double * scores) {
    if (!run || !scores) return gaze_error(GAZE_ERR_INVALID_ARG, "induction: NULL argument");
    enum gaze_status s = analysis_check_square(run, "induction");
    if (s) return s;
    const int64_t T = run->T, H = run->n_heads_cap;
    if (S < 1 || 2 * S + 1 > T)
        return gaze_error(GAZE_ERR_INVALID_ARG, "induction: half length %lld does not fit %lld tokens (needs 2S + 1)",
                          (long long)S, (long long)T);
    for (int64_t l = 0; l < run->n_cap_layers; l++)
        for (int64_t h = 0; h < H; h++) {
            const float * a = run->layers[l].attn + h * T * T;
            double sum = 0;
            for (int64_t i = S - 1; i <= 2 * S; i++) sum += a[i * T + (i - S + 1)];
            scores[l * H + h] = sum / (double)(S + 2);
        }
    return GAZE_OK;
}

/* ---- the prompt ------------------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t * x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static bool ascii_word(const char * s, size_t n) {
    if (n < 2 || n > 16) return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z'))) return false;
    return true;
}

// Encodes text[0..n) without special tokens; true when it gives exactly [id].
static bool round_trips(const struct analysis_tok * t, const char * text, size_t n, int32_t id,
                        struct gaze_encoding * enc) {
    struct gaze_tokenizer_encode_opts o = { 0 };
    o.no_special = true;
    o.no_parse_special = true;
    enum gaze_status s = gaze_tokenizer_encode(t->tok, text, n, &o, enc);
    return s == GAZE_OK && enc->n_tokens == 1 && enc->ids[0] == id;
}

// Candidate ids: single space-led ASCII words (BPE) or whole lowercase words (WordPiece) that
// tokenize back to themselves.
static enum gaze_status candidates(const struct analysis_tok * t, int32_t ** out, int64_t * n_out) {
    const int32_t V = gaze_tokenizer_vocab_size(t->tok);
    const bool wp = gaze_tokenizer_kind(t->tok) == GAZE_TOKENIZER_WORDPIECE;
    int32_t * c = malloc((size_t)(V > 0 ? V : 1) * sizeof *c);
    if (!c) return gaze_error(GAZE_ERR_NOMEM, "induction: out of memory");
    struct gaze_encoding enc;
    memset(&enc, 0, sizeof enc);
    int64_t n = 0;
    for (int32_t id = 0; id < V; id++) {
        size_t len = 0;
        const char * piece;
        if (gaze_tokenizer_token_type(t->tok, id) != GAZE_BPE_TOKEN_TYPE_NORMAL) continue;
        piece = gaze_tokenizer_token_piece(t->tok, id, &len);
        if (!wp) {
            if (!piece || len < 3 || piece[0] != ' ' || !ascii_word(piece + 1, len - 1)) continue;
        } else {
            if (!piece || !ascii_word(piece, len) || gaze_tokenizer_token(t->tok, id, NULL)[0] == '#') continue;
            bool lower = true;
            for (size_t i = 0; i < len; i++) lower &= piece[i] >= 'a' && piece[i] <= 'z';
            if (!lower) continue;
        }
        if (round_trips(t, piece, len, id, &enc)) c[n++] = id;
    }
    gaze_encoding_free(&enc);
    *out = c;
    *n_out = n;
    return GAZE_OK;
}

enum gaze_status gaze_induction_scores_model(struct gaze_model * model,
                                             const struct gaze_induction_opts * opts,
                                             double * scores, int32_t * ids_out) {
    if (!model || !scores) return gaze_error(GAZE_ERR_INVALID_ARG, "induction: NULL argument");
    const struct gaze_model_info * info = gaze_model_info(model);
    const int64_t S = opts && opts->seq_len > 0 ? opts->seq_len : 50;
    const int64_t B = opts && opts->batch > 0 ? opts->batch : 4;
    uint64_t rng = opts && opts->seed ? opts->seed : 1;
    const bool bert = info->arch == GAZE_ARCH_BERT;
    const int64_t T = 2 * S + 1 + (bert ? 1 : 0);
    if (T > info->n_ctx)
        return gaze_error(GAZE_ERR_LIMIT, "induction: %lld tokens exceed the model's %lld positions",
                          (long long)T, (long long)info->n_ctx);
    struct analysis_tok tok = { 0 };
    enum gaze_status s = analysis_tok_open(&tok, info);
    int32_t * cand = NULL, * ids = NULL;
    uint8_t * used = NULL;
    char * text = NULL;
    double * one = NULL;
    int64_t n_cand = 0;
    struct gaze_run run;
    gaze_run_init(&run);
    const struct gaze_progress * pr = opts ? &opts->progress : NULL;
    gaze_progress_report(pr, 0, B, "sequences");   // before the vocabulary scan, which takes a while
    if (s || (s = candidates(&tok, &cand, &n_cand))) goto done;
    if (n_cand < S) {
        s = gaze_error(GAZE_ERR_UNSUPPORTED, "induction: only %lld vocabulary words tokenize back to themselves; "
                       "%lld needed", (long long)n_cand, (long long)S);
        goto done;
    }
    const char * bos_text = "";
    int32_t bos_id = -1;
    struct gaze_tokenizer_specials sp = gaze_tokenizer_specials(tok.tok);
    if (sp.bos < 0) { s = gaze_error(GAZE_ERR_UNSUPPORTED, "induction: the tokenizer has no BOS token"); goto done; }
    bos_id = sp.bos;
    if (!sp.add_bos) bos_text = gaze_tokenizer_token(tok.tok, sp.bos, NULL);   // parsed as the special token
    size_t text_cap = strlen(bos_text) + (size_t)(2 * S) * 18 + 1;
    ids = malloc((size_t)T * sizeof *ids);
    used = calloc((size_t)n_cand, 1);
    text = malloc(text_cap);
    one = malloc((size_t)(info->n_layers * info->n_heads) * sizeof *one);
    if (!ids || !used || !text || !one) { s = gaze_error(GAZE_ERR_NOMEM, "induction: out of memory"); goto done; }
    memset(scores, 0, (size_t)(info->n_layers * info->n_heads) * sizeof *scores);
    struct gaze_run_opts ro = { 0 };
    ro.n_threads = opts ? opts->n_threads : 0;
    for (int64_t b = 0; b < B; b++) {
        // S distinct random words, twice
        memset(used, 0, (size_t)n_cand);
        size_t len = (size_t)snprintf(text, text_cap, "%s", bos_text);
        ids[0] = bos_id;
        for (int64_t k = 0; k < S; k++) {
            int64_t c;
            do c = (int64_t)(splitmix64(&rng) % (uint64_t)n_cand); while (used[c]);
            used[c] = 1;
            ids[1 + k] = ids[1 + S + k] = cand[c];
        }
        for (int64_t k = 0; k < 2 * S; k++) {
            size_t pl;
            const char * piece = gaze_tokenizer_token_piece(tok.tok, ids[1 + k], &pl);
            len += (size_t)snprintf(text + len, text_cap - len, "%s%.*s", !bert || k == 0 ? "" : " ", (int)pl, piece);
        }
        if (bert) ids[T - 1] = sp.eos;
        if ((s = gaze_model_run(model, text, NULL, &ro, &run))) goto done;
        if (run.T != T || memcmp(run.token_ids, ids, (size_t)T * sizeof *ids) != 0) {
            s = gaze_error(GAZE_ERR_UNSUPPORTED, "induction: the prompt tokenized to %lld tokens, not the %lld drawn",
                           (long long)run.T, (long long)T);
            goto done;
        }
        if ((s = gaze_induction_scores_run(&run, S, one))) goto done;
        for (int64_t k = 0; k < info->n_layers * info->n_heads; k++) scores[k] += one[k] / (double)B;
        if (b == 0 && ids_out) memcpy(ids_out, ids, (size_t)T * sizeof *ids);
        gaze_run_free(&run);
        gaze_progress_report(pr, b + 1, B, "sequences");
    }
done:
    gaze_run_free(&run);
    analysis_tok_close(&tok);
    free(cand);
    free(ids);
    free(used);
    free(text);
    free(one);
    return s;
}

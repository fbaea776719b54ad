// Attention transforms shared by every view (figures, terminal, HTML): head reduction, hiding
// special tokens with renormalisation, word-level aggregation of sub-word pieces (Clark et al.
// 2019: attention TO a word = sum over its pieces, FROM a word = mean over its pieces), block
// means for long inputs and differences of two maps. Pure functions over float arrays.
#include "core/core.h"
#include <math.h>
#include <string.h>

enum gaze_status gaze_attn_reduce_heads(const float * w, int64_t H, int64_t Tq, int64_t Tk,
                                        const int64_t * sel, int64_t n_sel,
                                        enum gaze_head_reduce how, float * out) {
    int64_t n;
    if (!w || !out || H < 1 || Tq < 1 || Tk < 1 || gaze_mul_ovf_i64(Tq, Tk, &n) || gaze_mul_ovf_i64(n, H, &(int64_t){ 0 }))
        return gaze_error(GAZE_ERR_INVALID_ARG, "reduce_heads: bad shape [%lld, %lld, %lld]",
                          (long long)H, (long long)Tq, (long long)Tk);
    if (how != GAZE_HEAD_REDUCE_MEAN && how != GAZE_HEAD_REDUCE_MAX)
        return gaze_error(GAZE_ERR_INVALID_ARG, "reduce_heads: unknown reduction %d", (int)how);
    if (!sel) n_sel = H;
    if (n_sel < 1) return gaze_error(GAZE_ERR_INVALID_ARG, "reduce_heads: no head selected");
    for (int64_t k = 0; k < n_sel; k++)
        if (sel && (sel[k] < 0 || sel[k] >= H))
            return gaze_error(GAZE_ERR_INVALID_ARG, "reduce_heads: head index %lld outside [0, %lld)",
                              (long long)sel[k], (long long)H);
    const float * first = w + (sel ? sel[0] : 0) * n;
    memcpy(out, first, (size_t)n * sizeof *out);
    for (int64_t k = 1; k < n_sel; k++) {
        const float * src = w + (sel ? sel[k] : k) * n;
        if (how == GAZE_HEAD_REDUCE_MAX) {
            for (int64_t i = 0; i < n; i++) if (src[i] > out[i]) out[i] = src[i];
        } else {
            for (int64_t i = 0; i < n; i++) out[i] += src[i];
        }
    }
    if (how == GAZE_HEAD_REDUCE_MEAN && n_sel > 1) {
        const float inv = 1.0f / (float)n_sel;
        for (int64_t i = 0; i < n; i++) out[i] *= inv;
    }
    return GAZE_OK;
}

enum gaze_status gaze_attn_group(const float * w, int64_t H, int64_t Tq, int64_t Tk,
                                 const int64_t * row_group, int64_t Gq,
                                 const int64_t * col_group, int64_t Gk,
                                 bool renormalize, float * out) {
    int64_t n_in, n_out;
    if (!w || !out || !row_group || !col_group || H < 1 || Tq < 1 || Tk < 1 || Gq < 0 || Gk < 0 ||
        gaze_mul_ovf_i64(Tq, Tk, &n_in) || gaze_mul_ovf_i64(Gq, Gk, &n_out) ||
        gaze_mul_ovf_i64(n_in, H, &(int64_t){ 0 }) || gaze_mul_ovf_i64(n_out, H, &(int64_t){ 0 }))
        return gaze_error(GAZE_ERR_INVALID_ARG, "attn_group: bad shape [%lld, %lld, %lld] -> [%lld, %lld]",
                          (long long)H, (long long)Tq, (long long)Tk, (long long)Gq, (long long)Gk);
    for (int64_t i = 0; i < Tq; i++)
        if (row_group[i] < -1 || row_group[i] >= Gq)
            return gaze_error(GAZE_ERR_INVALID_ARG, "attn_group: row_group[%lld] = %lld outside [-1, %lld)",
                              (long long)i, (long long)row_group[i], (long long)Gq);
    for (int64_t j = 0; j < Tk; j++)
        if (col_group[j] < -1 || col_group[j] >= Gk)
            return gaze_error(GAZE_ERR_INVALID_ARG, "attn_group: col_group[%lld] = %lld outside [-1, %lld)",
                              (long long)j, (long long)col_group[j], (long long)Gk);
    if (n_out == 0) return GAZE_OK;
    // rows per group, for the mean over query pieces
    int64_t * rows_in = calloc((size_t)Gq, sizeof *rows_in);
    double * acc = malloc((size_t)Gk * sizeof *acc);
    if (!rows_in || !acc) { free(rows_in); free(acc); return gaze_error(GAZE_ERR_NOMEM, "attn_group: out of memory"); }
    for (int64_t i = 0; i < Tq; i++) if (row_group[i] >= 0) rows_in[row_group[i]]++;
    memset(out, 0, (size_t)(n_out * H) * sizeof *out);
    for (int64_t h = 0; h < H; h++) {
        float * o = out + h * n_out;
        for (int64_t i = 0; i < Tq; i++) {
            const int64_t g = row_group[i];
            if (g < 0) continue;
            // sum TO each key group (double, so long rows add up exactly enough), then the
            // row's share of its query group's mean
            const float * row = w + (h * Tq + i) * Tk;
            for (int64_t b = 0; b < Gk; b++) acc[b] = 0;
            for (int64_t j = 0; j < Tk; j++) if (col_group[j] >= 0) acc[col_group[j]] += row[j];
            const double inv = 1.0 / (double)rows_in[g];
            for (int64_t b = 0; b < Gk; b++) o[g * Gk + b] += (float)(acc[b] * inv);
        }
        if (!renormalize) continue;
        for (int64_t a = 0; a < Gq; a++) {
            double sum = 0;
            for (int64_t b = 0; b < Gk; b++) sum += o[a * Gk + b];
            if (!(sum > 0)) continue;   // a row left with no weight stays zero
            const float inv = (float)(1.0 / sum);
            for (int64_t b = 0; b < Gk; b++) o[a * Gk + b] *= inv;
        }
    }
    free(rows_in);
    free(acc);
    return GAZE_OK;
}

enum gaze_status gaze_attn_drop_tokens(const float * w, int64_t H, int64_t Tq, int64_t Tk,
                                       const uint8_t * drop_q, const uint8_t * drop_k,
                                       float * out, int64_t * nq, int64_t * nk) {
    if (!w || !out || H < 1 || Tq < 1 || Tk < 1)
        return gaze_error(GAZE_ERR_INVALID_ARG, "drop_tokens: bad shape [%lld, %lld, %lld]",
                          (long long)H, (long long)Tq, (long long)Tk);
    int64_t * rg = malloc((size_t)Tq * sizeof *rg), * cg = malloc((size_t)Tk * sizeof *cg);
    if (!rg || !cg) { free(rg); free(cg); return gaze_error(GAZE_ERR_NOMEM, "drop_tokens: out of memory"); }
    int64_t a = 0, b = 0;
    bool dropped_col = false;
    for (int64_t i = 0; i < Tq; i++) rg[i] = drop_q && drop_q[i] ? -1 : a++;
    for (int64_t j = 0; j < Tk; j++) {
        cg[j] = drop_k && drop_k[j] ? -1 : b++;
        dropped_col |= cg[j] < 0;
    }
    // identity groups: the group rule reduces to a copy of the kept cells
    enum gaze_status s = gaze_attn_group(w, H, Tq, Tk, rg, a, cg, b, dropped_col, out);
    free(rg);
    free(cg);
    if (s) return s;
    if (nq) *nq = a;
    if (nk) *nk = b;
    return GAZE_OK;
}

enum gaze_status gaze_attn_block_mean(const float * w, int64_t Tq, int64_t Tk, int64_t bq, int64_t bk,
                                      float * out) {
    if (!w || !out || Tq < 1 || Tk < 1 || bq < 1 || bk < 1)
        return gaze_error(GAZE_ERR_INVALID_ARG, "block_mean: bad shape [%lld, %lld] / [%lld, %lld]",
                          (long long)Tq, (long long)Tk, (long long)bq, (long long)bk);
    const int64_t nr = (Tq + bq - 1) / bq, nc = (Tk + bk - 1) / bk;
    double * acc = calloc((size_t)nc, sizeof *acc);
    if (!acc) return gaze_error(GAZE_ERR_NOMEM, "block_mean: out of memory");
    for (int64_t r = 0; r < nr; r++) {
        const int64_t i0 = r * bq, i1 = GAZE_MIN(Tq, i0 + bq);
        for (int64_t c = 0; c < nc; c++) acc[c] = 0;
        for (int64_t i = i0; i < i1; i++)
            for (int64_t j = 0; j < Tk; j++) acc[j / bk] += w[i * Tk + j];
        for (int64_t c = 0; c < nc; c++) {
            const int64_t cols = GAZE_MIN(Tk, (c + 1) * bk) - c * bk;
            out[r * nc + c] = (float)(acc[c] / (double)((i1 - i0) * cols));
        }
    }
    free(acc);
    return GAZE_OK;
}

enum gaze_status gaze_attn_diff(const float * a, const float * b, int64_t n, float * out, float * absmax) {
    if (!a || !b || !out || n < 0) return gaze_error(GAZE_ERR_INVALID_ARG, "attn_diff: bad arguments");
    float m = 0;
    for (int64_t i = 0; i < n; i++) {
        out[i] = a[i] - b[i];
        if (!isfinite(out[i]))
            return gaze_error(GAZE_ERR_NUMERIC, "attn_diff: element %lld is not finite", (long long)i);
        m = GAZE_MAX(m, fabsf(out[i]));
    }
    if (absmax) *absmax = m;
    return GAZE_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Special tokens and words
 * ------------------------------------------------------------------------------------------- */

bool gaze_token_is_special_text(const char * t) {
    if (!t) return false;
    static const char * const known[] = {
        "[CLS]", "[SEP]", "[PAD]", "[MASK]", "<s>", "</s>", "<pad>", "<mask>", "<bos>", "<eos>",
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) if (!strcmp(t, known[i])) return true;
    // <|im_start|>, <|endoftext|>, <|begin_of_text|>, ...: the control-token spelling of
    // GPT-2/Llama-3/SmolLM vocabularies
    size_t n = strlen(t);
    if (n >= 5 && !strncmp(t, "<|", 2) && !strcmp(t + n - 2, "|>")) {
        for (size_t i = 2; i < n - 2; i++)
            if (t[i] == ' ' || t[i] == '<' || t[i] == '>' || (unsigned char)t[i] < 0x20) return false;
        return true;
    }
    return false;
}

enum gaze_status gaze_run_special_tokens(const struct gaze_run * run, uint8_t * special) {
    if (!run || !special || run->T < 1 || !run->tokens)
        return gaze_error(GAZE_ERR_INVALID_ARG, "special_tokens: the run has no tokens");
    for (int64_t i = 0; i < run->T; i++)
        special[i] = run->sequence_ids ? run->sequence_ids[i] < 0 : gaze_token_is_special_text(run->tokens[i]);
    return GAZE_OK;
}

static bool is_space_byte(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

// Does a byte-level BPE piece start a new word? Leading whitespace, "Ġ" (U+0120, GPT-2's
// spelling of a space) and "▁" (U+2581, SentencePiece's) mark a word start.
static bool bpe_starts_word(const char * t) {
    const unsigned char * u = (const unsigned char *)t;
    if (!u[0]) return false;
    if (is_space_byte(u[0])) return true;
    if (u[0] == 0xC4 && u[1] == 0xA0) return true;                  // Ġ
    if (u[0] == 0xE2 && u[1] == 0x96 && u[2] == 0x81) return true;  // ▁
    return false;
}

static bool ends_with_space(const char * t) {
    size_t n = strlen(t);
    return n && is_space_byte((unsigned char)t[n - 1]);
}

void gaze_words_free(struct gaze_words * w) {
    if (!w) return;
    if (w->text) for (int64_t i = 0; i < w->n_words; i++) free(w->text[i]);
    free(w->text);
    free(w->first);
    free(w->count);
    free(w->token_word);
    memset(w, 0, sizeof *w);
}

enum gaze_status gaze_words_init(struct gaze_words * w, const char * const * tokens, int64_t T,
                                 const uint8_t * special, enum gaze_word_style style, bool hide_special) {
    if (!w) return gaze_error(GAZE_ERR_INVALID_ARG, "words: NULL output");
    memset(w, 0, sizeof *w);
    if (!tokens || T < 1) return gaze_error(GAZE_ERR_INVALID_ARG, "words: no tokens");
    if ((int)style < GAZE_WORD_STYLE_AUTO || (int)style > GAZE_WORD_STYLE_NONE)
        return gaze_error(GAZE_ERR_INVALID_ARG, "words: unknown style %d", (int)style);
    for (int64_t i = 0; i < T; i++)
        if (!tokens[i]) return gaze_error(GAZE_ERR_INVALID_ARG, "words: token %lld is NULL", (long long)i);
    if (style == GAZE_WORD_STYLE_AUTO) {
        style = GAZE_WORD_STYLE_BPE;
        for (int64_t i = 0; i < T; i++)
            if (!strncmp(tokens[i], "##", 2)) { style = GAZE_WORD_STYLE_WORDPIECE; break; }
    }
    w->n_tokens = T;
    w->token_word = malloc((size_t)T * sizeof *w->token_word);
    w->first = malloc((size_t)T * sizeof *w->first);
    w->count = malloc((size_t)T * sizeof *w->count);
    w->text = calloc((size_t)T, sizeof *w->text);
    if (!w->token_word || !w->first || !w->count || !w->text) goto oom;
    int64_t W = 0;
    bool prev_joinable = false;   // the previous token can take a continuation
    for (int64_t i = 0; i < T; i++) {
        const char * t = tokens[i];
        const bool sp = special && special[i];
        if (sp && hide_special) { w->token_word[i] = -1; prev_joinable = false; continue; }
        bool cont = false;
        if (!sp && prev_joinable && style == GAZE_WORD_STYLE_WORDPIECE) cont = !strncmp(t, "##", 2);
        if (!sp && prev_joinable && style == GAZE_WORD_STYLE_BPE) cont = t[0] && !bpe_starts_word(t) && !ends_with_space(tokens[i - 1]);
        const char * piece = style == GAZE_WORD_STYLE_WORDPIECE && cont ? t + 2 : t;
        if (cont) {
            char * old = w->text[W - 1];
            size_t a = strlen(old), b = strlen(piece);
            char * joined = realloc(old, a + b + 1);
            if (!joined) goto oom;
            memcpy(joined + a, piece, b + 1);
            w->text[W - 1] = joined;
            w->count[W - 1]++;
        } else {
            if (!(w->text[W] = strdup(piece))) goto oom;
            w->first[W] = i;
            w->count[W] = 1;
            W++;
        }
        w->token_word[i] = W - 1;
        prev_joinable = !sp && style != GAZE_WORD_STYLE_NONE;
    }
    w->n_words = W;
    return GAZE_OK;
oom:
    w->n_words = T;   // free every text slot that may be set
    gaze_words_free(w);
    return gaze_error(GAZE_ERR_NOMEM, "words: out of memory for %lld tokens", (long long)T);
}

enum gaze_status gaze_words_from_run(struct gaze_words * w, const struct gaze_run * run,
                                     enum gaze_word_style style, bool hide_special) {
    if (!w) return gaze_error(GAZE_ERR_INVALID_ARG, "words: NULL output");
    memset(w, 0, sizeof *w);
    if (!run || run->T < 1 || !run->tokens) return gaze_error(GAZE_ERR_INVALID_ARG, "words: the run has no tokens");
    if (style == GAZE_WORD_STYLE_AUTO)
        // the WordPiece encoders ("##" continuations); the others' tokens carry their spaces
        style = run->arch && (!strcmp(run->arch, "bert") || !strcmp(run->arch, "distilbert") || !strcmp(run->arch, "electra"))
              ? GAZE_WORD_STYLE_WORDPIECE : GAZE_WORD_STYLE_BPE;
    uint8_t * special = malloc((size_t)run->T);
    if (!special) return gaze_error(GAZE_ERR_NOMEM, "words: out of memory");
    enum gaze_status s = gaze_run_special_tokens(run, special);
    if (!s) s = gaze_words_init(w, (const char * const *)run->tokens, run->T, special, style, hide_special);
    free(special);
    return s;
}

enum gaze_status gaze_attn_words(const float * attn, int64_t H, int64_t Tq, int64_t Tk,
                                 const int64_t * q_rows, const struct gaze_words * words, float * out) {
    if (!words || !words->token_word || words->n_tokens != Tk)
        return gaze_error(GAZE_ERR_INVALID_ARG, "attn_words: the words cover %lld tokens, the map has %lld keys",
                          words ? (long long)words->n_tokens : 0LL, (long long)Tk);
    if (!attn || !out || Tq < 1) return gaze_error(GAZE_ERR_INVALID_ARG, "attn_words: bad arguments");
    int64_t * rg = malloc((size_t)Tq * sizeof *rg);
    if (!rg) return gaze_error(GAZE_ERR_NOMEM, "attn_words: out of memory");
    for (int64_t i = 0; i < Tq; i++) {
        const int64_t t = q_rows ? q_rows[i] : i;
        if (t < 0 || t >= Tk) {
            free(rg);
            return gaze_error(GAZE_ERR_INVALID_ARG, "attn_words: q_rows[%lld] = %lld outside [0, %lld)",
                              (long long)i, (long long)t, (long long)Tk);
        }
        rg[i] = words->token_word[t];
    }
    bool hidden = false;
    for (int64_t j = 0; j < Tk; j++) hidden |= words->token_word[j] < 0;
    // dropping keys leaves rows that no longer sum to 1: renormalise them then, only then
    enum gaze_status s = gaze_attn_group(attn, H, Tq, Tk, rg, words->n_words, words->token_word,
                                         words->n_words, hidden, out);
    free(rg);
    return s;
}

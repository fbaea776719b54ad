// Token attributions of one input by any method (gaze explain, gaze evaluate): the attention
// methods from a run's weights, the norm-based ones from the forward pass (gaze_run_opts.attrib),
// occlusion and knockout from extra forward passes against the target (what the model outputs:
// a decoder's log-probability of its own next-token prediction, an encoder's pooled embedding).
// A [T, T] matrix (row i = output token) becomes scores [T] by its row for the explained token,
// or, for encoders, the mean of the rows: the pooled embedding is the mean of every output.
#include "analysis/analysis.h"
#include <math.h>
#include <string.h>

static const char * const method_names[GAZE_EXPLAIN_COUNT] = {
    "attention", "rollout", "flow", "value-norm", "residual-norm", "alti", "value-zeroing", "occlusion", "knockout",
};

const char * gaze_explain_method_name(enum gaze_explain_method m) {
    return (unsigned)m < GAZE_EXPLAIN_COUNT ? method_names[m] : "?";
}

bool gaze_explain_method_parse(const char * name, enum gaze_explain_method * m) {
    for (int i = 0; name && i < GAZE_EXPLAIN_COUNT; i++)
        if (!strcmp(name, method_names[i])) { *m = (enum gaze_explain_method)i; return true; }
    return false;
}

bool gaze_explain_method_needs_model(enum gaze_explain_method m) {
    return m != GAZE_EXPLAIN_ATTENTION && m != GAZE_EXPLAIN_ROLLOUT && m != GAZE_EXPLAIN_FLOW;
}

/* ---------------------------------------------------------------------------------------------
 * The target
 * ------------------------------------------------------------------------------------------- */

void gaze_target_free(struct gaze_target * t) {
    if (!t) return;
    free(t->embedding);
    memset(t, 0, sizeof *t);
}

// Decoders: log-softmax of the last token's logits (the last layer's hidden state through the
// logit lens); *argmax the top token.
// ko: knockout edges for the run (n_ko of them), or NULL.
static enum gaze_status decoder_logprob(struct gaze_model * model, const char * text, int n_threads, int32_t token,
                                        const struct gaze_knockout * ko, int64_t n_ko, double * logp, int32_t * argmax) {
    const struct gaze_model_info * info = gaze_model_info(model);
    const int64_t last = info->n_layers - 1, C = info->n_embd, V = info->n_vocab;
    struct gaze_run_opts o = { .layers = &last, .n_layers = 1, .parts = GAZE_RUN_PART_HIDDEN, .n_threads = n_threads,
                               .knockout = ko, .n_knockout = n_ko };
    struct gaze_run run;
    enum gaze_status s = gaze_model_run(model, text, NULL, &o, &run);
    if (s) return s;
    float * logits = malloc((size_t)V * sizeof *logits);
    if (!logits) s = gaze_error(GAZE_ERR_NOMEM, "target: out of memory");
    else if (run.n_cap_layers != 1 || !run.layers[0].hidden || run.T < 1)
        s = gaze_error(GAZE_ERR_INVALID_ARG, "target: the run kept no hidden state");
    if (!s) s = gaze_model_unembed(model, run.layers[0].hidden + (run.T - 1) * C, 1, logits);
    if (!s) {
        int32_t best = 0;
        for (int64_t v = 1; v < V; v++) if (logits[v] > logits[best]) best = (int32_t)v;
        double sum = 0;
        for (int64_t v = 0; v < V; v++) sum += exp((double)logits[v] - logits[best]);
        const int32_t y = token >= 0 ? token : best;
        *logp = (double)logits[y] - logits[best] - log(sum);
        if (argmax) *argmax = best;
    }
    free(logits);
    gaze_run_free(&run);
    return s;
}

static enum gaze_status encoder_embedding(struct gaze_model * model, const char * text, int n_threads,
                                          struct gaze_run * run) {
    struct gaze_run_opts o = { .no_capture = true, .n_threads = n_threads };
    enum gaze_status s = gaze_model_run(model, text, NULL, &o, run);
    if (!s && !run->embedding) { gaze_run_free(run); s = gaze_error(GAZE_ERR_UNSUPPORTED, "target: the model gave no embedding"); }
    return s;
}

enum gaze_status gaze_target_init(struct gaze_model * model, const char * text, int n_threads, struct gaze_target * t) {
    if (!model || !text || !t) return gaze_error(GAZE_ERR_INVALID_ARG, "target: NULL argument");
    memset(t, 0, sizeof *t);
    const struct gaze_model_info * info = gaze_model_info(model);
    t->decoder = info->causal;
    t->C = info->n_embd;
    if (t->decoder) return decoder_logprob(model, text, n_threads, -1, NULL, 0, &t->value, &t->token);
    struct gaze_run run;
    enum gaze_status s = encoder_embedding(model, text, n_threads, &run);
    if (s) return s;
    if (!(t->embedding = malloc((size_t)t->C * sizeof(float)))) s = gaze_error(GAZE_ERR_NOMEM, "target: out of memory");
    else memcpy(t->embedding, run.embedding, (size_t)t->C * sizeof(float));
    t->value = 1;
    gaze_run_free(&run);
    return s;
}

enum gaze_status gaze_target_value(struct gaze_model * model, const char * text, const struct gaze_target * t,
                                   int n_threads, double * value) {
    if (!model || !text || !t || !value) return gaze_error(GAZE_ERR_INVALID_ARG, "target: NULL argument");
    if (t->decoder) return decoder_logprob(model, text, n_threads, t->token, NULL, 0, value, NULL);
    struct gaze_run run;
    enum gaze_status s = encoder_embedding(model, text, n_threads, &run);
    if (s) return s;
    *value = 1 - gaze_cosine_distance(run.embedding, t->embedding, t->C);
    gaze_run_free(&run);
    return GAZE_OK;
}

enum gaze_status gaze_text_keep_tokens(const struct gaze_run * run, const uint8_t * keep, char ** out) {
    if (!run || !keep || !out || !run->text) return gaze_error(GAZE_ERR_INVALID_ARG, "keep tokens: NULL argument");
    if (!run->offsets) return gaze_error(GAZE_ERR_INVALID_ARG, "keep tokens: the run has no token offsets");
    const size_t n = strlen(run->text);
    char * s = malloc(n + 1);
    uint8_t * cut = calloc(n + 1, 1);
    if (!s || !cut) { free(s); free(cut); return gaze_error(GAZE_ERR_NOMEM, "keep tokens: out of memory"); }
    for (int64_t j = 0; j < run->T; j++) {
        if (keep[j] || (run->sequence_ids && run->sequence_ids[j] != 0)) continue;
        const int64_t b = run->offsets[2 * j], e = run->offsets[2 * j + 1];
        for (int64_t k = b; k < e && k < (int64_t)n; k++) cut[k] = 1;
    }
    size_t m = 0;
    for (size_t k = 0; k < n; k++) if (!cut[k]) s[m++] = run->text[k];
    s[m] = 0;
    free(cut);
    *out = s;
    return GAZE_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Matrices to scores
 * ------------------------------------------------------------------------------------------- */

static int64_t default_row(const struct gaze_run * run, const struct gaze_explain_opts * o) {
    if (o->token >= 0) return o->token;
    return run->causal ? run->T - 1 : -1;   // -1: mean over rows
}

static void matrix_scores(const double * M, int64_t T, int64_t row, double * scores) {
    if (row >= 0) { memcpy(scores, M + row * T, (size_t)T * sizeof *scores); return; }
    for (int64_t j = 0; j < T; j++) {
        double acc = 0;
        for (int64_t i = 0; i < T; i++) acc += M[i * T + j];
        scores[j] = acc / (double)T;
    }
}

static enum gaze_status check_token(const struct gaze_run * run, const struct gaze_explain_opts * o) {
    if (o->token < -1 || o->token >= run->T)
        return gaze_error(GAZE_ERR_INVALID_ARG, "explain: output token %lld out of range 0..%lld", (long long)o->token,
                          (long long)(run->T - 1));
    return GAZE_OK;
}

static enum gaze_status check_layer(int64_t layer, int64_t L) {
    if (layer < -1 || layer >= L)
        return gaze_error(GAZE_ERR_INVALID_ARG, "explain: layer %lld out of range 0..%lld", (long long)layer, (long long)(L - 1));
    return GAZE_OK;
}

enum gaze_status gaze_explain_run(const struct gaze_run * run, const struct gaze_explain_opts * o, double * scores) {
    if (!run || !o || !scores) return gaze_error(GAZE_ERR_INVALID_ARG, "explain: NULL argument");
    if (gaze_explain_method_needs_model(o->method))
        return gaze_error(GAZE_ERR_INVALID_ARG, "explain: %s needs the model (MODEL \"text\"), not a saved run",
                          gaze_explain_method_name(o->method));
    enum gaze_status s = analysis_check_square(run, "explain");
    if (s || (s = check_token(run, o)) || (s = check_layer(o->layer, run->n_layers))) return s;
    const int64_t T = run->T, row = default_row(run, o);
    double * M = malloc((size_t)(T * T) * sizeof *M);
    if (!M) return gaze_error(GAZE_ERR_NOMEM, "explain: out of memory");
    static const struct gaze_rollout_opts ro;
    if (o->method == GAZE_EXPLAIN_ATTENTION) {
        const int64_t want = o->layer < 0 ? run->layers[run->n_cap_layers - 1].index : o->layer;
        const struct gaze_run_layer * ly = gaze_run_find_layer(run, want);
        if (!ly) s = gaze_error(GAZE_ERR_INVALID_ARG, "explain: the run holds no layer %lld", (long long)want);
        for (int64_t i = 0; !s && i < T * T; i++) {
            double acc = 0;
            for (int64_t h = 0; h < run->n_heads_cap; h++) acc += ly->attn[h * T * T + i];
            M[i] = acc / (double)run->n_heads_cap;
        }
        if (!s) matrix_scores(M, T, row, scores);
    } else if (o->method == GAZE_EXPLAIN_ROLLOUT) {
        if (!(s = gaze_rollout(run, &ro, M))) matrix_scores(M, T, row, scores);
    } else {   // flow: one output token, or the mean over every output
        double * f = M;
        memset(scores, 0, (size_t)T * sizeof *scores);
        for (int64_t i = row >= 0 ? row : 0; !s && i < (row >= 0 ? row + 1 : T); i++) {
            if ((s = gaze_attention_flow(run, &ro, i, f))) break;
            for (int64_t j = 0; j < T; j++) scores[j] += f[j] / (row >= 0 ? 1.0 : (double)T);
        }
    }
    free(M);
    return s;
}

static unsigned attrib_bit(enum gaze_explain_method m) {
    switch (m) {
    case GAZE_EXPLAIN_VNORM: return GAZE_ATTRIB_VNORM;
    case GAZE_EXPLAIN_RESLN: return GAZE_ATTRIB_RESLN;
    case GAZE_EXPLAIN_ALTI:  return GAZE_ATTRIB_ALTI;
    case GAZE_EXPLAIN_VZERO: return GAZE_ATTRIB_VZERO;
    default: return 0;
    }
}

enum gaze_status gaze_explain(struct gaze_model * model, const char * text, const struct gaze_explain_opts * o,
                              struct gaze_run * run, double ** scores_out) {
    if (!model || !text || !o || !run || !scores_out) return gaze_error(GAZE_ERR_INVALID_ARG, "explain: NULL argument");
    if ((unsigned)o->method >= GAZE_EXPLAIN_COUNT) return gaze_error(GAZE_ERR_INVALID_ARG, "explain: unknown method %d", (int)o->method);
    const struct gaze_model_info * info = gaze_model_info(model);
    enum gaze_status s = check_layer(o->layer, info->n_layers);
    if (s) return s;
    *scores_out = NULL;
    struct gaze_attrib a = { .want = attrib_bit(o->method) };
    struct gaze_run_opts ro = { .n_threads = o->n_threads, .attrib = a.want ? &a : NULL };
    if ((s = gaze_model_run(model, text, NULL, &ro, run))) { gaze_attrib_free(&a); return s; }
    const int64_t T = run->T, row = default_row(run, o);
    double * scores = calloc((size_t)T, sizeof *scores), * M = malloc((size_t)(T * T) * sizeof *M);
    if (!scores || !M) s = gaze_error(GAZE_ERR_NOMEM, "explain: out of memory");
    if (!s) s = check_token(run, o);
    if (!s && !gaze_explain_method_needs_model(o->method)) s = gaze_explain_run(run, o, scores);
    else if (!s && a.want) {
        const float * all = a.vnorm ? a.vnorm : a.resln ? a.resln : a.alti ? a.alti : a.vzero;
        if (!all)
            s = gaze_error(GAZE_ERR_UNSUPPORTED, "explain: %s is computed in the forward pass of text encoders (BERT) and decoders only; "
                           "this %s model has attention, rollout, flow and occlusion", gaze_explain_method_name(o->method),
                           info->arch_name);
        const bool rolled = o->layer < 0 && (o->method == GAZE_EXPLAIN_ALTI || o->method == GAZE_EXPLAIN_VZERO);
        const int64_t l = o->layer < 0 ? info->n_layers - 1 : o->layer;
        if (!s && rolled) s = gaze_attrib_rollout(all, a.n_layers, T, M);
        else if (!s) for (int64_t i = 0; i < T * T; i++) M[i] = all[l * T * T + i];
        if (!s) matrix_scores(M, T, row, scores);
    } else if (!s && o->method == GAZE_EXPLAIN_OCCLUSION) {
        struct gaze_target own = { 0 };
        const struct gaze_target * t = o->target;
        if (!t && !(s = gaze_target_init(model, text, o->n_threads, &own))) t = &own;
        uint8_t * keep = malloc((size_t)T);
        if (!s && !keep) s = gaze_error(GAZE_ERR_NOMEM, "explain: out of memory");
        for (int64_t j = 0; !s && j < T; j++) {
            if (run->offsets[2 * j + 1] <= run->offsets[2 * j]) continue;   // special: no text to delete
            memset(keep, 1, (size_t)T);
            keep[j] = 0;
            char * cut = NULL;
            double v = 0;
            if ((s = gaze_text_keep_tokens(run, keep, &cut))) break;
            if (*cut || !t->decoder) s = gaze_target_value(model, cut, t, o->n_threads, &v);
            else v = t->value;   // a decoder needs some text: a one-token input explains itself
            free(cut);
            scores[j] = t->value - v;
        }
        free(keep);
        gaze_target_free(&own);
    } else if (!s) {   // knockout: every edge to j blocked (in one layer or all)
        struct gaze_target own = { 0 };
        const struct gaze_target * t = o->target;
        if (info->causal && !t && !(s = gaze_target_init(model, text, o->n_threads, &own))) t = &own;
        for (int64_t j = 0; !s && j < T; j++) {
            const struct gaze_knockout ko = { o->layer, -1, j };
            if (info->causal) {   // the drop of log p(the model's own prediction)
                double v = 0;
                if (!(s = decoder_logprob(model, text, o->n_threads, t->token, &ko, 1, &v, NULL))) scores[j] = t->value - v;
                continue;
            }
            struct gaze_run_opts kopts = { .no_capture = true, .n_threads = o->n_threads, .knockout = &ko, .n_knockout = 1 };
            struct gaze_run kr;
            if ((s = gaze_model_run(model, text, NULL, &kopts, &kr))) break;
            scores[j] = gaze_cosine_distance(kr.embedding, run->embedding, info->n_embd);
            gaze_run_free(&kr);
        }
        gaze_target_free(&own);
    }
    free(M);
    gaze_attrib_free(&a);
    if (s) { free(scores); gaze_run_free(run); return s; }
    *scores_out = scores;
    return GAZE_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Logit lens
 * ------------------------------------------------------------------------------------------- */

void gaze_lens_free(struct gaze_lens * l) {
    if (!l) return;
    for (int64_t i = 0; l->text && i <= l->n_layers * l->k; i++) free(l->text[i]);
    free(l->text); free(l->top); free(l->top_p); free(l->final_p);
    memset(l, 0, sizeof *l);
}

enum gaze_status gaze_logit_lens(struct gaze_model * model, const char * text, int64_t k, int n_threads,
                                 struct gaze_lens * lens) {
    if (!model || !text || !lens || k < 1) return gaze_error(GAZE_ERR_INVALID_ARG, "logit lens: bad argument");
    memset(lens, 0, sizeof *lens);
    const struct gaze_model_info * info = gaze_model_info(model);
    if (!info->causal)
        return gaze_error(GAZE_ERR_UNSUPPORTED, "logit lens: needs a decoder (this is a %s encoder)", info->arch_name);
    const int64_t L = info->n_layers, C = info->n_embd, V = info->n_vocab;
    if (k > V) k = V;
    struct gaze_run_opts o = { .parts = GAZE_RUN_PART_HIDDEN, .n_threads = n_threads };
    struct gaze_run run;
    enum gaze_status s = gaze_model_run(model, text, NULL, &o, &run);
    if (s) return s;
    float * h = malloc((size_t)(L * C) * sizeof *h), * logits = malloc((size_t)(L * V) * sizeof *logits);
    lens->n_layers = L;
    lens->k = k;
    lens->top = malloc((size_t)(L * k) * sizeof *lens->top);
    lens->top_p = malloc((size_t)(L * k) * sizeof *lens->top_p);
    lens->final_p = malloc((size_t)L * sizeof *lens->final_p);
    lens->text = calloc((size_t)(L * k + 1), sizeof *lens->text);
    double * p = malloc((size_t)V * sizeof *p);
    if (!h || !logits || !lens->top || !lens->top_p || !lens->final_p || !lens->text || !p)
        s = gaze_error(GAZE_ERR_NOMEM, "logit lens: out of memory");
    for (int64_t l = 0; !s && l < L; l++) {
        const struct gaze_run_layer * ly = gaze_run_find_layer(&run, l);
        if (!ly || !ly->hidden) { s = gaze_error(GAZE_ERR_INVALID_ARG, "logit lens: no hidden state of layer %lld", (long long)l); break; }
        memcpy(h + l * C, ly->hidden + (run.T - 1) * C, (size_t)C * sizeof *h);
    }
    if (!s) s = gaze_model_unembed(model, h, L, logits);
    struct analysis_tok tok = { 0 };
    if (!s) s = analysis_tok_open(&tok, info);
    for (int64_t l = 0; !s && l < L; l++) {
        const float * z = logits + l * V;
        float mx = z[0];
        for (int64_t v = 1; v < V; v++) mx = z[v] > mx ? z[v] : mx;
        double sum = 0;
        for (int64_t v = 0; v < V; v++) sum += (p[v] = exp((double)z[v] - mx));
        for (int64_t v = 0; v < V; v++) p[v] /= sum;
        for (int64_t r = 0; r < k; r++) {   // k small: selection by repeated scans
            int64_t best = -1;
            for (int64_t v = 0; v < V; v++) {
                bool taken = false;
                for (int64_t q = 0; q < r && !taken; q++) taken = lens->top[l * k + q] == v;
                if (!taken && (best < 0 || p[v] > p[best])) best = v;
            }
            lens->top[l * k + r] = (int32_t)best;
            lens->top_p[l * k + r] = p[best];
        }
        if (l == L - 1) lens->final_token = lens->top[l * k];
    }
    for (int64_t l = 0; !s && l < L; l++) {   // p(final) needs the last layer's argmax first
        const float * z = logits + l * V;
        float mx = z[0];
        for (int64_t v = 1; v < V; v++) mx = z[v] > mx ? z[v] : mx;
        double sum = 0;
        for (int64_t v = 0; v < V; v++) sum += exp((double)z[v] - mx);
        lens->final_p[l] = exp((double)z[lens->final_token] - mx) / sum;
    }
    for (int64_t i = 0; !s && i <= L * k; i++) {
        const int32_t id = i < L * k ? lens->top[i] : lens->final_token;
        size_t n = 0;
        if (tok.tok) s = gaze_tokenizer_decode(tok.tok, &id, 1, false, &lens->text[i], &n);
    }
    analysis_tok_close(&tok);
    free(h); free(logits); free(p);
    gaze_run_free(&run);
    if (s) gaze_lens_free(lens);
    return s;
}

// Encoder-decoder models behind gaze_model (gaze run): the folder's tokenizer (tokenizer.json:
// T5's Unigram, BART's byte-level BPE), greedy or beam-search generation of opts->generate tokens
// (s2s_generate_ex, each token streamed to opts->on_token as it is chosen), and the run of the three kinds (docs/runfile.md "Encoder-decoder runs"): the
// encoder's self-attention on the source tokens, the decoder's causal self-attention and its
// cross-attention on the target tokens (the decoder start, then each generated token).
#include "models/seq2seq.h"
#include "formats/runfile.h"
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

struct s2s_impl {
    struct s2s * m;
    struct gaze_tokenizer * tok;      // NULL: none the folder gives (Marian's .spm files)
    char tok_error[512];              // why not
};

static void impl_free(void * p) {
    struct s2s_impl * im = p;
    if (!im) return;
    s2s_free(im->m);
    gaze_tokenizer_free(im->tok);
    free(im);
}

// Token pieces of ids [n] for gaze_run_set_tokens (pieces point into the tokenizer).
static enum gaze_status pieces_of(const struct gaze_tokenizer * tok, const int32_t * ids, int64_t n,
                                  const char *** pieces, size_t ** lens) {
    *pieces = malloc((size_t)n * sizeof **pieces);
    *lens = malloc((size_t)n * sizeof **lens);
    if (!*pieces || !*lens) return gaze_error(GAZE_ERR_NOMEM, "seq2seq: out of memory");
    for (int64_t t = 0; t < n; t++) {
        (*pieces)[t] = gaze_tokenizer_token_piece(tok, ids[t], &(*lens)[t]);
        if (!(*pieces)[t]) { (*pieces)[t] = ""; (*lens)[t] = 0; }
    }
    return GAZE_OK;
}

// The generation stream: each chosen token's text (gaze_tokenizer_stream: valid UTF-8, nothing
// for control tokens such as EOS) to gaze_run_opts.on_token as s2s_generate_ex picks it.
struct stream_ctx {
    const struct gaze_run_opts * opts;
    const struct gaze_tokenizer * tok;
    struct gaze_tokenizer_stream * ds;
    enum gaze_status status;          // the first streaming error (reported after the run)
};

static void stream_token(void * user, int64_t step, int32_t id, const struct s2s_result * r) {
    (void)r;
    struct stream_ctx * sc = user;
    const char * text = "";
    size_t len = 0;
    if (sc->status || !sc->ds) return;
    // the embedding may have rows past the tokenizer's vocabulary (t5-small: 32128 rows, 32100
    // tokens): such an id has no text, as in transformers' decode
    if (id < gaze_tokenizer_vocab_size(sc->tok) && (sc->status = gaze_tokenizer_stream_push(sc->ds, id, &text, &len)))
        return;
    sc->opts->on_token(sc->opts->on_token_user, step, id, text, len);
}

static enum gaze_status copy_layers(struct gaze_run * run, enum gaze_kind kind, int64_t L, const float * a,
                                    size_t per_layer) {
    for (int64_t l = 0; l < L; l++) {
        struct gaze_run_layer * ly;
        enum gaze_status s = gaze_run_add_kind_layer(run, kind, l, GAZE_RUN_PART_ATTN, &ly);
        if (s) return s;
        memcpy(ly->attn, a + (size_t)l * per_layer, per_layer * sizeof(float));
    }
    return GAZE_OK;
}

static enum gaze_status s2s_run(struct gaze_model * model, const char * text, const char * pair,
                                const struct gaze_run_opts * opts, struct gaze_run * run) {
    gaze_run_init(run);
    struct s2s_impl * im = model->impl;
    const struct s2s * m = im->m;
    const struct s2s_config * c = &m->cfg;
    if (!im->tok) return gaze_error(GAZE_ERR_UNSUPPORTED, "%s", im->tok_error);
    if (pair) return gaze_error(GAZE_ERR_UNSUPPORTED, "%s: a sentence pair is for encoders; give one source text", c->arch);
    // what this first encoder-decoder run does not do yet is refused by name, never ignored
    const char * no = opts->layers ? "--layers" : opts->heads ? "--heads"
                    : (opts->parts & ~(unsigned)GAZE_RUN_PART_ATTN) ? "capture parts other than attention"
                    : opts->head_mask ? "head ablation" : opts->attrib ? "attributions"
                    : opts->temperature > 0 ? "sampling (--temperature)" : NULL;
    if (no) return gaze_error(GAZE_ERR_UNSUPPORTED, "%s: %s is not available for encoder-decoder runs yet (they capture "
                              "every layer and head of the three kinds, greedy or beam search)", c->arch, no);
    struct gaze_encoding enc;
    memset(&enc, 0, sizeof enc);
    const struct gaze_tokenizer_encode_opts eo = { .max_len = opts->max_len };
    enum gaze_status s = gaze_tokenizer_encode(im->tok, text, strlen(text), &eo, &enc);
    if (!s && enc.n_tokens < 1) s = gaze_error(GAZE_ERR_INVALID_ARG, "%s: the text gave no tokens", c->arch);
    if (s) { gaze_encoding_free(&enc); return s; }
    const int64_t T = enc.n_tokens;
    struct s2s_result r;
    const bool capture = !opts->no_capture;
    // width: --beams, else the folder's num_beams (transformers' generate default)
    const int64_t beams = opts->beams > 0 ? opts->beams : opts->generate > 0 ? c->num_beams : 1;
    if (beams > S2S_MAX_BEAMS) {
        gaze_encoding_free(&enc);
        return gaze_error(GAZE_ERR_UNSUPPORTED, "%s: %lld beams%s; gaze's beam search goes up to %d (give --beams 1..%d)",
                          c->arch, (long long)beams, opts->beams > 0 ? "" : " (the folder's num_beams)", S2S_MAX_BEAMS,
                          S2S_MAX_BEAMS);
    }
    {   // the budget, before any allocation: generation's arrays, and the run's copies of the
        // captured ones (both are held while the run is filled)
        const int64_t new_max = opts->generate > 0 ? opts->generate : 0;
        double cap, kv;
        double need = s2s_generate_bytes(m, T, new_max, capture, &cap, &kv) + cap;
        kv *= (double)beams;   // beam search keeps one decoder cache per hypothesis
        need += kv - kv / (double)beams;
        char what[200], a[32], b[32], d[32];
        snprintf(what, sizeof what, "%lld source tokens, up to %lld generated: captured arrays %s (twice while the run is "
                 "filled), keys and values %s (%lld beam%s), activations %s", (long long)T, (long long)new_max,
                 model_format_bytes(cap, a, sizeof a), model_format_bytes(kv, b, sizeof b), (long long)beams, beams > 1 ? "s" : "",
                 model_format_bytes(need - 2 * cap - kv, d, sizeof d));
        if ((s = model_check_memory(c->arch, opts, need, what))) { gaze_encoding_free(&enc); return s; }
    }
    struct stream_ctx sc = { .opts = opts, .tok = im->tok };
    struct s2s_gen g = { .beams = (int)beams, .on_token = opts->on_token ? stream_token : NULL, .user = &sc };
    if (opts->on_token && opts->generate > 0 && (s = gaze_tokenizer_stream_init(&sc.ds, im->tok))) {
        gaze_encoding_free(&enc);
        return s;
    }
    s = s2s_generate_ex(m, enc.ids, T, opts->generate > 0 ? opts->generate : 0, capture, opts->n_threads, &g, &r);
    if (!s && sc.ds) {   // the held end of the text (an unfinished character), as decoders do
        const char * tail = "";
        size_t len = 0;
        s = gaze_tokenizer_stream_finish(sc.ds, &tail, &len);
        if (!s && len) opts->on_token(opts->on_token_user, r.Tt - 1, -1, tail, len);
    }
    if (!s) s = sc.status;
    gaze_tokenizer_stream_free(sc.ds);
    if (s) { s2s_result_free(&r); gaze_encoding_free(&enc); return s; }
    const char ** pieces = NULL;
    size_t * lens = NULL;
    run->model = strdup(model->path);
    run->arch = strdup(c->arch);
    run->text = strdup(text);
    run->causal = false;
    run->n_layers = c->Le;
    run->n_heads = run->n_kv_heads = c->He;
    run->d_head = c->d;
    run->n_embd = c->C;
    if (!run->model || !run->arch || !run->text) s = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", c->arch);
    if (!s) s = pieces_of(im->tok, enc.ids, T, &pieces, &lens);
    if (!s) s = gaze_run_set_tokens(run, T, pieces, lens, enc.ids, enc.offsets);
    if (!s && enc.sequence_ids && (run->sequence_ids = malloc((size_t)T))) memcpy(run->sequence_ids, enc.sequence_ids, (size_t)T);
    if (!s) s = gaze_run_set_capture(run, NULL, 0, NULL, 0);
    free(pieces);
    free(lens);
    pieces = NULL;
    lens = NULL;
    if (!s && capture) s = copy_layers(run, GAZE_KIND_ENCODER, c->Le, r.enc, (size_t)(c->He * T * T));
    if (!s) s = pieces_of(im->tok, r.ids, r.Tt, &pieces, &lens);
    if (!s && capture)
        s = gaze_run_set_target(run, (1u << GAZE_KIND_DECODER) | (1u << GAZE_KIND_CROSS), r.Tt, pieces, lens, r.ids,
                                c->Ld, c->Hd, c->Hd);
    if (!s && capture) {
        run->decoder->n_generated = run->cross->n_generated = r.Tt - 1;
        s = copy_layers(run, GAZE_KIND_DECODER, c->Ld, r.dec, (size_t)(c->Hd * r.Tt * r.Tt));
        if (!s) s = copy_layers(run, GAZE_KIND_CROSS, c->Ld, r.cross, (size_t)(c->Hd * r.Tt * T));
    }
    if (!s && opts->generate > 0) {   // how the target was decoded (an extra: older readers keep it)
        char v[96];
        if (beams > 1)
            snprintf(v, sizeof v, "{\"num_beams\": %lld, \"length_penalty\": %.9g, \"early_stopping\": %s}",
                     (long long)beams, c->length_penalty, c->early_stopping == 2 ? "\"never\"" : c->early_stopping ? "true" : "false");
        else snprintf(v, sizeof v, "{\"num_beams\": 1}");
        s = gaze_run_set_extra(run, "seq2seq.decoding", v);
    }
    free(pieces);
    free(lens);
    gaze_encoding_free(&enc);
    s2s_result_free(&r);
    if (s) gaze_run_free(run);
    return s;
}

enum gaze_status s2s_model_load(struct gaze_model * model, const char * folder) {
    struct s2s_impl * im = calloc(1, sizeof *im);
    if (!im) return gaze_error(GAZE_ERR_NOMEM, "seq2seq: out of memory");
    enum gaze_status s = s2s_load(folder, &im->m);
    if (s) { free(im); return s; }
    if (gaze_tokenizer_from_folder(folder, &im->tok)) {
        // the weights run without one (s2s_generate on ids); text needs a tokenizer: a
        // tokenizer.json, or Marian's source.spm + target.spm + vocab.json (text/marian.c)
        snprintf(im->tok_error, sizeof im->tok_error, "%s: no tokenizer gaze reads (%s)%s", folder, gaze_last_error(),
                 !strcmp(im->m->cfg.arch, "marian") ? "; a Marian folder needs source.spm, target.spm and vocab.json" : "");
        im->tok = NULL;
    } else if (gaze_tokenizer_vocab_size(im->tok) > im->m->cfg.V) {
        char tf[4096];
        snprintf(tf, sizeof tf, "%s/tokenizer.json", folder);
        struct stat st;
        bool json = stat(tf, &st) == 0;
        s = gaze_error(GAZE_ERR_FORMAT, "%s/%s: %d tokens, more than the embedding's %lld rows (config.json "
                       "vocab_size)", folder, json ? "tokenizer.json" : "vocab.json", (int)gaze_tokenizer_vocab_size(im->tok),
                       (long long)im->m->cfg.V);
        impl_free(im);
        return s;
    }
    const struct s2s_config * c = &im->m->cfg;
    model->impl = im;
    model->free_impl = impl_free;
    model->run = s2s_run;
    model->info = (struct gaze_model_info){ .arch = GAZE_ARCH_SEQ2SEQ, .arch_name = im->m->arch, .n_vocab = c->V,
                                            .n_embd = c->C, .n_layers = c->Le, .n_heads = c->He, .n_kv_heads = c->He,
                                            .head_dim = c->d, .n_ff = c->Fe,
                                            .n_ctx = c->pos == S2S_POS_RELATIVE ? 0 : c->n_pos - c->pos_offset };
    return GAZE_OK;
}

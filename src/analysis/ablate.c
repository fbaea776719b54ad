// Causal evidence: ablate one head at a time through the real forward pass (the models'
// head_mask) and measure what changes: next-token loss on the input for decoders, the pooled
// embedding's cosine for encoders. The unablated output is checked to be reproduced exactly by
// a mask that keeps every head, so the mask path itself changes nothing.
#include "analysis/analysis.h"
#include <math.h>
#include <string.h>

// One forward: *loss (decoders) or the embedding copied to emb [C] (encoders).
static enum gaze_status forward(struct gaze_model * model, const char * text, const char * pair,
                                const uint8_t * mask, bool mean, int n_threads, bool decoder,
                                double * loss, float * emb, int64_t C) {
    struct gaze_run_opts ro = { 0 };
    ro.no_capture = true;
    ro.n_threads = n_threads;
    ro.head_mask = mask;
    ro.ablate_mean = mean;
    if (decoder) ro.loss = loss;
    struct gaze_run run;
    enum gaze_status s = gaze_model_run(model, text, pair, &ro, &run);
    if (s) return s;
    if (!decoder) {
        if (!run.embedding) s = gaze_error(GAZE_ERR_UNSUPPORTED, "ablate: the model gave no embedding to compare");
        else memcpy(emb, run.embedding, (size_t)C * sizeof *emb);
    } else if (!isfinite(*loss)) {
        s = gaze_error(GAZE_ERR_INVALID_ARG, "ablate: the next-token loss needs at least 2 tokens");
    }
    gaze_run_free(&run);
    return s;
}

static bool wanted(const struct gaze_ablate_opts * o, int64_t layer) {
    if (!o->layers) return true;
    for (int64_t i = 0; i < o->n_layers; i++) if (o->layers[i] == layer) return true;
    return false;
}

enum gaze_status gaze_ablate_heads(struct gaze_model * model, const char * text, const char * pair,
                                   const struct gaze_ablate_opts * opts, double * baseline,
                                   double * effect) {
    static const struct gaze_ablate_opts defaults;
    if (!opts) opts = &defaults;
    if (!model || !text || !effect) return gaze_error(GAZE_ERR_INVALID_ARG, "ablate: NULL argument");
    const struct gaze_model_info * info = gaze_model_info(model);
    const int64_t L = info->n_layers, H = info->n_heads, C = info->n_embd;
    const bool decoder = info->causal;
    for (int64_t i = 0; opts->layers && i < opts->n_layers; i++)
        if (opts->layers[i] < 0 || opts->layers[i] >= L)
            return gaze_error(GAZE_ERR_INVALID_ARG, "ablate: layer %lld outside 0..%lld", (long long)opts->layers[i], (long long)(L - 1));
    uint8_t * mask = malloc((size_t)(L * H));
    float * e0 = malloc((size_t)C * sizeof *e0), * e1 = malloc((size_t)C * sizeof *e1);
    enum gaze_status s = GAZE_OK;
    if (!mask || !e0 || !e1) { s = gaze_error(GAZE_ERR_NOMEM, "ablate: out of memory"); goto done; }
    double l0 = NAN, l1 = NAN;
    // the normal output, then the same through a mask that keeps every head: must be identical
    if ((s = forward(model, text, pair, NULL, false, opts->n_threads, decoder, &l0, e0, C))) goto done;
    memset(mask, 1, (size_t)(L * H));
    if ((s = forward(model, text, pair, mask, opts->mean, opts->n_threads, decoder, &l1, e1, C))) goto done;
    if (decoder ? memcmp(&l0, &l1, sizeof l0) != 0 : memcmp(e0, e1, (size_t)C * sizeof *e0) != 0) {
        s = gaze_error(GAZE_ERR_NUMERIC, "ablate: a mask keeping every head changed the output (%s)",
                       decoder ? "loss" : "embedding");
        goto done;
    }
    if (baseline) *baseline = decoder ? l0 : 1.0;
    int64_t total = 0, done = 0;
    for (int64_t l = 0; l < L; l++) total += wanted(opts, l) ? H : 0;
    gaze_progress_report(&opts->progress, 0, total, "heads");
    for (int64_t k = 0; k < L * H; k++) {
        effect[k] = NAN;
        if (!wanted(opts, k / H)) continue;
        mask[k] = 0;
        s = forward(model, text, pair, mask, opts->mean, opts->n_threads, decoder, &l1, e1, C);
        mask[k] = 1;
        if (s) goto done;
        if (decoder) {
            effect[k] = l1 - l0;
        } else {
            double dot = 0;
            for (int64_t c = 0; c < C; c++) dot += (double)e0[c] * (double)e1[c];
            effect[k] = 1.0 - dot;   // both embeddings are L2-normalised
        }
        gaze_progress_report(&opts->progress, ++done, total, "heads");
    }
done:
    free(mask);
    free(e0);
    free(e1);
    return s;
}

// Tokens of an image run that draw outsized attention, placed on the patch grid. Darcet et al.
// (2024, "Vision Transformers Need Registers") find that large ViTs repurpose a few background
// patches as global scratch space: those patches receive much of the attention and carry hidden
// states of far larger norm than their neighbours. gaze reports, for every token, the attention it
// receives (mean over captured heads and query rows, in the captured layer where that is largest)
// and the L2 norm of its last captured hidden state, and marks the patches that stand out on both
// (on attention alone when no hidden state was captured). Medians over the patches are the
// reference because the outliers are few (Darcet: ~2% of the tokens), so they barely move them.
// Register tokens (DINOv2 with registers: "[REG0]".., Darcet's remedy) are held to the same two
// tests against the patch medians: a register that passes is where the sink moved to, which is
// what registers are for, so it is counted apart from the sink patches.
#include "analysis/analysis.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void * a, const void * b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double * v, int64_t n) {   // sorts v
    if (n < 1) return NAN;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n & 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

enum gaze_status gaze_image_tokens(const struct gaze_run * run, const struct gaze_image_token_opts * opts,
                                   struct gaze_image_token * out, struct gaze_image_token_summary * sum) {
    if (!run || !out) return gaze_error(GAZE_ERR_INVALID_ARG, "image tokens: NULL argument");
    if (!run->patch_rc || run->grid_rows < 1 || run->grid_cols < 1)
        return gaze_error(GAZE_ERR_INVALID_ARG, "image tokens: the run has no patch grid (not an image run)");
    const double sink_factor = opts && opts->sink_factor > 0 ? opts->sink_factor : GAZE_IMAGE_SINK_FACTOR;
    const double norm_factor = opts && opts->norm_factor > 0 ? opts->norm_factor : GAZE_IMAGE_NORM_FACTOR;
    const int64_t T = run->T, Tq = run->Tq, Hc = run->n_heads_cap;
    int64_t n_attn = 0;
    for (int64_t li = 0; li < run->n_cap_layers; li++) n_attn += run->layers[li].attn != NULL;
    if (!n_attn || Tq < 1 || Hc < 1)
        return gaze_error(GAZE_ERR_INVALID_ARG, "image tokens: the run has no attention captured (gaze run --capture attn)");
    double * acc = malloc((size_t)T * sizeof *acc), * tmp = malloc((size_t)T * sizeof *tmp);
    if (!acc || !tmp) { free(acc); free(tmp); return gaze_error(GAZE_ERR_NOMEM, "image tokens: out of memory"); }
    for (int64_t t = 0; t < T; t++) {
        struct gaze_image_token * o = &out[t];
        memset(o, 0, sizeof *o);
        o->row = run->patch_rc[2 * t];
        o->col = run->patch_rc[2 * t + 1];
        if (o->row < 0 || o->col < 0) o->row = o->col = -1;
        o->layer = -1;
        o->received = -1;
        o->norm = NAN;
    }
    for (int64_t li = 0; li < run->n_cap_layers; li++) {
        const float * A = run->layers[li].attn;
        if (!A) continue;
        memset(acc, 0, (size_t)T * sizeof *acc);
        for (int64_t h = 0; h < Hc; h++)
            for (int64_t i = 0; i < Tq; i++) {
                const float * row = A + (h * Tq + i) * T;
                for (int64_t k = 0; k < T; k++) acc[k] += row[k];
            }
        for (int64_t k = 0; k < T; k++) {
            const double r = acc[k] / (double)(Hc * Tq);
            if (r > out[k].received) { out[k].received = r; out[k].layer = run->layers[li].index; }
        }
    }
    // the last captured layer with hidden states
    const float * hid = NULL;
    int64_t hid_layer = -1;
    for (int64_t li = run->n_cap_layers - 1; li >= 0 && !hid; li--)
        if (run->layers[li].hidden && run->n_embd > 0) { hid = run->layers[li].hidden; hid_layer = run->layers[li].index; }
    if (hid)
        for (int64_t t = 0; t < T; t++) {
            double s = 0;
            for (int64_t e = 0; e < run->n_embd; e++) s += (double)hid[t * run->n_embd + e] * hid[t * run->n_embd + e];
            out[t].norm = sqrt(s);
        }
    int64_t np = 0;
    for (int64_t t = 0; t < T; t++) if (out[t].row >= 0) tmp[np++] = out[t].received;
    const double med_recv = median(tmp, np);
    np = 0;
    for (int64_t t = 0; t < T; t++) if (out[t].row >= 0) tmp[np++] = out[t].norm;
    const double med_norm = hid ? median(tmp, np) : NAN;
    int64_t n_sinks = 0, n_reg_sinks = 0;
    for (int64_t t = 0; t < T; t++) {
        struct gaze_image_token * o = &out[t];
        const bool reg = o->row < 0 && run->tokens && run->tokens[t] && !strncmp(run->tokens[t], "[REG", 4);
        if (o->row < 0 && !reg) continue;
        const bool recv = med_recv > 0 ? o->received >= sink_factor * med_recv : o->received > 0;
        const bool norm = !hid || (med_norm > 0 ? o->norm >= norm_factor * med_norm : o->norm > 0);
        o->sink = np > 1 && recv && norm;
        if (reg) n_reg_sinks += o->sink;
        else n_sinks += o->sink;
    }
    if (sum) {
        memset(sum, 0, sizeof *sum);
        sum->n_patches = np;
        sum->median_received = med_recv;
        sum->median_norm = med_norm;
        sum->norm_layer = hid_layer;
        sum->sink_factor = sink_factor;
        sum->norm_factor = norm_factor;
        sum->n_sinks = n_sinks;
        sum->n_register_sinks = n_reg_sinks;
    }
    free(acc);
    free(tmp);
    return GAZE_OK;
}

enum gaze_status gaze_image_head_top_keys(const struct gaze_run * run, int64_t * token, double * weight) {
    if (!run || !token || !weight) return gaze_error(GAZE_ERR_INVALID_ARG, "image head keys: NULL argument");
    const int64_t T = run->T, Tq = run->Tq, Hc = run->n_heads_cap;
    if (Tq < 1 || T < 1) return gaze_error(GAZE_ERR_INVALID_ARG, "image head keys: the run has no query rows");
    for (int64_t li = 0; li < run->n_cap_layers; li++) {
        const float * A = run->layers[li].attn;
        for (int64_t h = 0; h < Hc; h++) {
            token[li * Hc + h] = -1;
            weight[li * Hc + h] = NAN;
            if (!A) continue;
            int64_t best = -1;
            double bw = -1;
            for (int64_t k = 0; k < T; k++) {
                double s = 0;
                for (int64_t i = 0; i < Tq; i++) s += A[(h * Tq + i) * T + k];
                if (s > bw) { bw = s; best = k; }
            }
            token[li * Hc + h] = best;
            weight[li * Hc + h] = bw / (double)Tq;
        }
    }
    return GAZE_OK;
}

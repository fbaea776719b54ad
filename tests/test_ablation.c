// Head ablation and loss through the real forward passes: an all-ones mask reproduces the
// normal run exactly; ablating a head changes the embedding (BERT) or the loss (Llama).
#include "check.h"
#include "gaze.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static double cosine(const float * a, const float * b, int64_t n) {
    double ab = 0, aa = 0, bb = 0;
    for (int64_t i = 0; i < n; i++) { ab += (double)a[i] * b[i]; aa += (double)a[i] * a[i]; bb += (double)b[i] * b[i]; }
    return ab / sqrt(aa * bb);
}

static void bert(void) {
    struct gaze_model * m;
    if (gaze_model_load(&m, "minilm")) { CHECK(0, "load minilm: %s (run scripts/fetch-test-models)", gaze_last_error()); return; }
    const struct gaze_model_info * info = gaze_model_info(m);
    const int64_t LH = info->n_layers * info->n_heads, C = info->n_embd;
    uint8_t * mask = malloc((size_t)LH);
    memset(mask, 1, (size_t)LH);
    const char * text = "The quick brown fox jumps over the lazy dog.";
    struct gaze_run_opts o = { 0 };
    o.no_capture = true;
    struct gaze_run base, run;
    CHECK(gaze_model_run(m, text, NULL, &o, &base) == GAZE_OK, "%s", gaze_last_error());
    o.head_mask = mask;
    CHECK(gaze_model_run(m, text, NULL, &o, &run) == GAZE_OK, "%s", gaze_last_error());
    CHECK(memcmp(base.embedding, run.embedding, (size_t)C * sizeof(float)) == 0, "all-ones mask changed the embedding");
    gaze_run_free(&run);
    mask[2 * info->n_heads + 5] = 0;
    CHECK(gaze_model_run(m, text, NULL, &o, &run) == GAZE_OK, "%s", gaze_last_error());
    double c = cosine(base.embedding, run.embedding, C);
    CHECK(c < 1.0 - 1e-7 && c > 0.5, "ablating layer 2 head 5: embedding cosine %.9f", c);
    printf("bert: ablating L2H5 moves the embedding to cosine %.6f\n", c);
    gaze_run_free(&run);
    gaze_run_free(&base);
    free(mask);
    gaze_model_free(m);
}

static void llama(void) {
    struct gaze_model * m;
    if (gaze_model_load(&m, "smollm2")) { CHECK(0, "load smollm2: %s (run scripts/fetch-test-models)", gaze_last_error()); return; }
    const struct gaze_model_info * info = gaze_model_info(m);
    const int64_t LH = info->n_layers * info->n_heads;
    uint8_t * mask = malloc((size_t)LH);
    memset(mask, 1, (size_t)LH);
    const char * text = "One, two, three, four, five, six, seven, eight, nine, ten.";
    double l0 = NAN, l1 = NAN, l2 = NAN;
    struct gaze_run_opts o = { 0 };
    o.no_capture = true;
    o.loss = &l0;
    struct gaze_run run;
    CHECK(gaze_model_run(m, text, NULL, &o, &run) == GAZE_OK, "%s", gaze_last_error());
    gaze_run_free(&run);
    o.loss = &l1;
    o.head_mask = mask;
    CHECK(gaze_model_run(m, text, NULL, &o, &run) == GAZE_OK, "%s", gaze_last_error());
    gaze_run_free(&run);
    memset(mask, 0, (size_t)info->n_heads);   // every head of layer 0
    o.loss = &l2;
    CHECK(gaze_model_run(m, text, NULL, &o, &run) == GAZE_OK, "%s", gaze_last_error());
    gaze_run_free(&run);
    printf("llama: loss %.4f nats, all-ones mask %.4f, layer 0 ablated %.4f\n", l0, l1, l2);
    CHECK(isfinite(l0) && l0 > 0 && l0 < 5, "counting loss %.4f not in (0, 5) nats", l0);
    CHECK(l1 == l0, "all-ones mask changed the loss: %.9f vs %.9f", l1, l0);
    CHECK(isfinite(l2) && l2 > l0 + 0.1, "ablating layer 0 should hurt: %.4f vs %.4f", l2, l0);
    free(mask);
    gaze_model_free(m);
}

int main(void) {
    bert();
    llama();
    return check_summary("test_ablation");
}

// Cross-attention analysis against hand-computed values: alignment entropy per target row and
// head, source coverage, the alignment matrix (mean over heads, one head, words), head metrics
// over source keys, and the refusals of analyses that need square attention.
#include "check.h"
#include "gaze.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool near(double a, double b) { return fabs(a - b) < 1e-6; }

// Source "▁Hel lo </s>" (3), target "▁Hal lo" (2); one cross layer (index 1 of 2), two heads:
//   head 0: [1, 0, 0], [0.5, 0.5, 0]      head 1: [0.25, 0.25, 0.5], [0, 0, 1]
static void make(struct gaze_run * r) {
    gaze_run_init(r);
    r->model = strdup("tiny");
    r->arch = strdup("marian");
    r->n_layers = 2;
    r->n_heads = r->n_kv_heads = 2;
    const char * src[3] = { "\xe2\x96\x81Hel", "lo", "</s>" };
    const char * tgt[2] = { "\xe2\x96\x81Hal", "lo" };
    const int32_t sid[3] = { 10, 11, 0 }, tid[2] = { 20, 11 };
    CHECK(gaze_run_set_tokens(r, 3, src, NULL, sid, NULL) == GAZE_OK, "%s", gaze_last_error());
    CHECK(gaze_run_set_target(r, 1u << GAZE_KIND_CROSS, 2, tgt, NULL, tid, 2, 2, 2) == GAZE_OK, "%s", gaze_last_error());
    struct gaze_run_layer * l;
    CHECK(gaze_run_add_kind_layer(r, GAZE_KIND_CROSS, 1, GAZE_RUN_PART_ATTN, &l) == GAZE_OK, "%s", gaze_last_error());
    const float a[12] = { 1, 0, 0, 0.5f, 0.5f, 0, 0.25f, 0.25f, 0.5f, 0, 0, 1 };
    memcpy(l->attn, a, sizeof a);
    CHECK(gaze_run_check(r, "mem") == GAZE_OK, "%s", gaze_last_error());
}

int main(void) {
    struct gaze_run r;
    make(&r);
    const struct gaze_run * c = gaze_run_select_kind(&r, GAZE_KIND_CROSS);
    CHECK(c != NULL, "cross view");
    double row[4], head[2], cov[6];
    CHECK(gaze_cross_entropy(c, row, head) == GAZE_OK, "%s", gaze_last_error());
    const double ln2 = log(2.0), h10 = 0.5 * log(4.0) + 0.5 * log(2.0);   // -(2 · ¼ ln ¼ + ½ ln ½)
    CHECK(near(row[0], 0) && near(row[1], ln2) && near(row[2], h10) && near(row[3], 0), "row entropy %g %g %g %g",
          row[0], row[1], row[2], row[3]);
    CHECK(near(head[0], ln2 / 2) && near(head[1], h10 / 2), "head entropy %g %g", head[0], head[1]);
    CHECK(gaze_cross_coverage(c, cov) == GAZE_OK, "%s", gaze_last_error());
    const double want_cov[6] = { 1.5, 0.5, 0, 0.25, 0.25, 1.5 };
    for (int j = 0; j < 6; j++) CHECK(near(cov[j], want_cov[j]), "coverage[%d] = %g, want %g", j, cov[j], want_cov[j]);

    struct gaze_alignment al;
    CHECK(gaze_cross_alignment(c, 1, -1, false, &al) == GAZE_OK, "%s", gaze_last_error());
    const float mean[6] = { 0.625f, 0.125f, 0.25f, 0.25f, 0.25f, 0.5f };
    CHECK(al.n_rows == 2 && al.n_cols == 3 && al.head == -1 && al.layer == 1, "shape %lld x %lld", (long long)al.n_rows,
          (long long)al.n_cols);
    for (int k = 0; k < 6 && al.m; k++) CHECK(near(al.m[k], mean[k]), "mean cell %d = %g, want %g", k, al.m[k], mean[k]);
    CHECK(al.col_labels && !strcmp(al.col_labels[2], "</s>") && !strcmp(al.row_labels[1], "lo"), "token labels");
    gaze_alignment_free(&al);
    CHECK(gaze_cross_alignment(c, 1, 1, false, &al) == GAZE_OK && al.head == 1 && near(al.m[2], 0.5) && near(al.m[5], 1),
          "one head");
    gaze_alignment_free(&al);
    // words: target "Hallo" = mean of its rows [0.4375, 0.1875, 0.375]; source "Hello" = 0.4375 + 0.1875
    CHECK(gaze_cross_alignment(c, 1, -1, true, &al) == GAZE_OK, "%s", gaze_last_error());
    CHECK(al.n_rows == 1 && al.n_cols == 2 && near(al.m[0], 0.625) && near(al.m[1], 0.375), "words: %lld x %lld, %g %g",
          (long long)al.n_rows, (long long)al.n_cols, al.m ? al.m[0] : -1, al.m && al.n_cols > 1 ? al.m[1] : -1);
    CHECK(al.n_cols == 2 && strstr(al.col_labels[0], "Hello") && !strcmp(al.col_labels[1], "</s>") &&
          strstr(al.row_labels[0], "Hallo") && al.col_first[1] == 2, "word labels '%s' '%s'",
          al.n_cols ? al.col_labels[0] : "", al.n_rows ? al.row_labels[0] : "");
    gaze_alignment_free(&al);
    CHECK(gaze_cross_alignment(c, 0, -1, false, &al) == GAZE_ERR_INVALID_ARG &&
          strstr(gaze_last_error(), "cross layer 0 was not captured"), "%s", gaze_last_error());
    CHECK(gaze_cross_alignment(c, 1, 5, false, &al) == GAZE_ERR_INVALID_ARG, "head not captured");
    CHECK(gaze_cross_entropy(&r, NULL, head) == GAZE_ERR_INVALID_ARG && strstr(gaze_last_error(), "needs cross-attention"),
          "the encoder run is not cross: %s", gaze_last_error());

    // Head metrics over the source keys: entropy (Clark smoothing), max weight, sink = key 0; no
    // positional metrics or detectors (keys are other tokens).
    struct gaze_head_metrics m[2];
    CHECK(gaze_head_metrics_compute(c, NULL, NULL, m, 1) == GAZE_OK, "%s", gaze_last_error());
    CHECK(near(m[0].v[GAZE_METRIC_MAX_WEIGHT], 0.75) && near(m[1].v[GAZE_METRIC_MAX_WEIGHT], 0.75), "max weight");
    CHECK(near(m[0].v[GAZE_METRIC_SINK], 0.75) && near(m[1].v[GAZE_METRIC_SINK], 0.125), "sink (key 0)");
    CHECK(isnan(m[0].v[GAZE_METRIC_DISTANCE]) && isnan(m[0].v[GAZE_METRIC_PREV]) && isnan(m[0].v[GAZE_METRIC_SELF]) &&
          isnan(m[0].v[GAZE_METRIC_DET_IND]), "positional metrics undefined");
    CHECK(fabs(m[0].v[GAZE_METRIC_ENTROPY] - ln2 / 2) < 1e-3, "entropy %g", m[0].v[GAZE_METRIC_ENTROPY]);
    double R[9];
    CHECK(gaze_rollout(c, NULL, R) == GAZE_ERR_INVALID_ARG && strstr(gaze_last_error(), "not defined over cross-attention"),
          "rollout refuses cross: %s", gaze_last_error());
    gaze_run_free(&r);
    return check_summary("test_cross");
}

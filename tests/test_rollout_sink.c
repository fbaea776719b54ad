// Sink-aware rollout and flow (gaze_rollout_opts.sink_aware) on a synthetic decoder whose
// heads put most of their weight on token 0, as SmolLM2's do: the plain rollout collapses onto
// token 0; the sink-aware rollout equals an independent double-precision loop written here from
// the formula in include/gaze.h (column 0 left out of each fused layer's rows 1.., rows
// renormalised, then 0.5·A + 0.5·I renormalised, R = Â(L)···Â(1)); the CLI says the plain one
// collapsed, shows both, and prints small values in scientific notation.
#include "check.h"
#include "gaze.h"
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum { T = 7, L = 10, H = 2 };

static uint64_t g_rng = 0x9E3779B97F4A7C15ULL;
static double urand(void) {
    g_rng = g_rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(g_rng >> 11) / 9007199254740992.0;
}

// Causal rows: weight 0.995 on token 0 (head 1: 0.9), the rest random over keys 1..i.
static void make_sink_run(struct gaze_run * r) {
    gaze_run_init(r);
    r->model = strdup("synthetic-decoder");
    r->arch = strdup("llama");
    r->causal = true;
    r->n_layers = L; r->n_heads = H; r->n_kv_heads = H;
    const char * toks[T] = { "<s>", "The", " cat", " sat", " on", " the", " mat" };
    int32_t ids[T];
    for (int i = 0; i < T; i++) ids[i] = 10 + i;
    CHECK(gaze_run_set_tokens(r, T, toks, NULL, ids, NULL) == GAZE_OK, "tokens: %s", gaze_last_error());
    CHECK(gaze_run_set_capture(r, NULL, H, NULL, T) == GAZE_OK, "capture: %s", gaze_last_error());
    for (int l = 0; l < L; l++) {
        struct gaze_run_layer * ly;
        CHECK(gaze_run_add_layer(r, l, GAZE_RUN_PART_ATTN, &ly) == GAZE_OK, "layer: %s", gaze_last_error());
        for (int h = 0; h < H; h++)
            for (int i = 0; i < T; i++) {
                float * row = ly->attn + ((size_t)h * T + i) * T;
                if (i == 0) { row[0] = 1; continue; }
                const double sink = h ? 0.9 : 0.995;
                double w[T], s = 0;
                for (int j = 1; j <= i; j++) s += w[j] = 0.1 + urand();
                row[0] = (float)sink;
                for (int j = 1; j <= i; j++) row[j] = (float)((1 - sink) * w[j] / s);
            }
    }
}

// The formula, independently: doubles, no shortcuts.
static void reference(const struct gaze_run * r, double * R) {
    double A[T][T], P[T][T], N[T][T];
    for (int i = 0; i < T; i++) for (int j = 0; j < T; j++) P[i][j] = i == j;
    for (int l = 0; l < L; l++) {
        const float * a = r->layers[l].attn;
        for (int i = 0; i < T; i++)
            for (int j = 0; j < T; j++) A[i][j] = ((double)a[i * T + j] + (double)a[T * T + i * T + j]) / 2;
        for (int i = 1; i < T; i++) {
            double s = 0;
            for (int j = 1; j < T; j++) s += A[i][j];
            A[i][0] = 0;
            for (int j = 1; j < T; j++) A[i][j] = s > 0 ? A[i][j] / s : 0;
        }
        for (int i = 0; i < T; i++) {
            double s = 0;
            for (int j = 0; j < T; j++) s += A[i][j] = 0.5 * A[i][j] + (i == j ? 0.5 : 0);
            for (int j = 0; j < T; j++) A[i][j] /= s;
        }
        for (int i = 0; i < T; i++)
            for (int j = 0; j < T; j++) {
                double s = 0;
                for (int k = 0; k < T; k++) s += A[i][k] * P[k][j];
                N[i][j] = s;
            }
        memcpy(P, N, sizeof P);
    }
    memcpy(R, P, sizeof P);
}

static char * run_cli(const char * args, int * rc) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "\"%s\" %s 2>&1", getenv("GAZE_BIN"), args);
    FILE * p = popen(cmd, "r");
    if (!p) { *rc = -1; return NULL; }
    size_t cap = 1 << 16, n = 0;
    char * buf = malloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - 1 - n, p)) > 0) n += got;
    buf[n] = 0;
    const int st = pclose(p);
    *rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return buf;
}

// The numpy/networkx fixture (tests/reference/gen_rollout_sink_fixture.py): every fusion, with
// and without discard, rollout and flow, a decoder and an encoder case.
static void test_fixture(void) {
    const char * root = getenv("GAZE_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/analysis/rollout_sink.json", root ? root : ".");
    json_error_t err;
    json_t * doc = json_load_file(path, 0, &err);
    CHECK(doc != NULL, "fixture %s: %s", path, err.text);
    if (!doc) return;
    json_t * cases = json_object_get(doc, "cases");
    CHECK(json_array_size(cases) == 2, "fixture: %zu cases", json_array_size(cases));
    for (size_t ci = 0; ci < json_array_size(cases); ci++) {
        json_t * c = json_array_get(cases, ci);
        const char * name = json_string_value(json_object_get(c, "name"));
        const int64_t Lc = json_integer_value(json_object_get(c, "L")), Hc = json_integer_value(json_object_get(c, "H")),
                      Tc = json_integer_value(json_object_get(c, "T"));
        json_t * attn = json_object_get(c, "attn");
        struct gaze_run r;
        gaze_run_init(&r);
        r.model = strdup("fixture");
        r.arch = strdup(json_is_true(json_object_get(c, "causal")) ? "llama" : "bert");
        r.causal = json_is_true(json_object_get(c, "causal"));
        r.n_layers = Lc; r.n_heads = Hc; r.n_kv_heads = Hc;
        const char ** toks = malloc((size_t)Tc * sizeof *toks);
        int32_t * ids = malloc((size_t)Tc * sizeof *ids);
        for (int64_t i = 0; i < Tc; i++) { toks[i] = "t"; ids[i] = (int32_t)i; }
        gaze_run_set_tokens(&r, Tc, toks, NULL, ids, NULL);
        free(toks);
        free(ids);
        gaze_run_set_capture(&r, NULL, Hc, NULL, Tc);
        CHECK((int64_t)json_array_size(attn) == Lc * Hc * Tc * Tc, "%s: attention size", name);
        for (int64_t l = 0; l < Lc; l++) {
            struct gaze_run_layer * ly;
            gaze_run_add_layer(&r, l, GAZE_RUN_PART_ATTN, &ly);
            for (int64_t k = 0; k < Hc * Tc * Tc; k++) ly->attn[k] = (float)json_number_value(json_array_get(attn, (size_t)(l * Hc * Tc * Tc + k)));
        }
        double * R = malloc((size_t)(Tc * Tc) * sizeof *R);
        const char * key;
        json_t * want;
        json_object_foreach(json_object_get(c, "rollout"), key, want) {
            char fu[8];
            double ratio;
            if (sscanf(key, "%7[a-z],%lf", fu, &ratio) != 2) { CHECK(0, "%s: key %s", name, key); continue; }
            struct gaze_rollout_opts o = { 0 };
            o.fusion = !strcmp(fu, "max") ? GAZE_HEAD_FUSION_MAX : !strcmp(fu, "min") ? GAZE_HEAD_FUSION_MIN : GAZE_HEAD_FUSION_MEAN;
            o.discard_ratio = ratio;
            o.sink_aware = true;
            CHECK(gaze_rollout(&r, &o, R) == GAZE_OK, "%s %s: %s", name, key, gaze_last_error());
            double worst = 0;
            for (int64_t k = 0; k < Tc * Tc; k++) worst = fmax(worst, fabs(R[k] - json_number_value(json_array_get(want, (size_t)k))));
            CHECK(worst <= 1e-9, "%s sink-aware rollout %s: max |diff| %.3g from numpy", name, key, worst);
        }
        json_t * fl = json_object_get(c, "flow");
        const int64_t tok = json_integer_value(json_object_get(fl, "token"));
        struct gaze_rollout_opts o = { 0 };
        o.sink_aware = true;
        CHECK(gaze_attention_flow(&r, &o, tok, R) == GAZE_OK, "%s flow: %s", name, gaze_last_error());
        double worst = 0;
        for (int64_t j = 0; j < Tc; j++) worst = fmax(worst, fabs(R[j] - json_number_value(json_array_get(json_object_get(fl, "mean,0"), (size_t)j))));
        CHECK(worst <= 1e-7, "%s sink-aware flow: max |diff| %.3g from networkx", name, worst);
        free(R);
        gaze_run_free(&r);
    }
    json_decref(doc);
}

int main(void) {
    test_fixture();
    struct gaze_run run;
    make_sink_run(&run);
    double R[T * T], S[T * T], ref[T * T], F[T], FS[T];
    struct gaze_rollout_opts plain = { 0 }, sink = { 0 };
    sink.sink_aware = true;
    CHECK(gaze_rollout(&run, &plain, R) == GAZE_OK, "rollout: %s", gaze_last_error());
    CHECK(R[(T - 1) * T] > 0.99, "the plain rollout collapses onto token 0 (%.6f)", R[(T - 1) * T]);
    CHECK(gaze_rollout(&run, &sink, S) == GAZE_OK, "sink-aware rollout: %s", gaze_last_error());
    reference(&run, ref);
    double worst = 0, worst_row = 0;
    for (int i = 0; i < T; i++) {
        double s = 0;
        for (int j = 0; j < T; j++) { worst = fmax(worst, fabs(S[i * T + j] - ref[i * T + j])); s += S[i * T + j]; }
        worst_row = fmax(worst_row, fabs(s - 1));
    }
    CHECK(worst < 1e-12, "sink-aware rollout differs from the reference loop by %.3g", worst);
    CHECK(worst_row < 1e-12, "a sink-aware row sums to 1 %+.3g", worst_row);
    for (int i = 1; i < T; i++) CHECK(S[i * T] == 0, "sink-aware R[%d][0] = %g, want 0", i, S[i * T]);
    CHECK(S[0] == 1, "the sink's own row stays [1, 0, ...] (%g)", S[0]);
    double mx = 0;
    for (int j = 1; j < T; j++) mx = fmax(mx, S[(T - 1) * T + j]);
    CHECK(mx > 0.05, "the sink-aware bars rank the other tokens (largest %.3g)", mx);
    // flow on sink-aware capacities: token 0 gets nothing, the rest sums to 1
    CHECK(gaze_attention_flow(&run, &plain, T - 1, F) == GAZE_OK, "flow: %s", gaze_last_error());
    CHECK(gaze_attention_flow(&run, &sink, T - 1, FS) == GAZE_OK, "sink-aware flow: %s", gaze_last_error());
    CHECK(F[0] > FS[0] && FS[0] < 1e-12, "sink-aware flow to token 0: %g (plain %g)", FS[0], F[0]);

    // the CLI: says so, shows both, small numbers in scientific notation, --sink-aware --json
    if (!getenv("GAZE_BIN")) { CHECK(0, "GAZE_BIN not set: the CLI half cannot run"); }
    else {
        char path[256], args[512];
        snprintf(path, sizeof path, "/tmp/gaze_test_rollout_sink_%d.safetensors", (int)getpid());
        CHECK(gaze_run_save(&run, path, false) == GAZE_OK, "save: %s", gaze_last_error());
        int rc;
        const char * cmds[2] = { "rollout", "flow" };
        // rollout collapses here; flow (a bottleneck, not a product) keeps 47 % on token 0 and
        // must not claim a collapse
        CHECK(F[0] < 0.9, "plain flow to token 0: %g", F[0]);
        snprintf(args, sizeof args, "flow %s", path);
        char * fo = run_cli(args, &rc);
        CHECK(rc == 0 && fo && !strstr(fo, "collapsed") && !strstr(fo, "sink-aware"), "%s: exit %d:\n%s", args, rc, fo ? fo : "");
        free(fo);
        snprintf(args, sizeof args, "flow %s --sink-aware", path);
        fo = run_cli(args, &rc);
        CHECK(rc == 0 && fo && strstr(fo, "sink-aware: token 0 left out of each layer") && strstr(fo, "<s>") &&
              strstr(strstr(fo, "<s>"), " 0\n"), "%s: exit %d:\n%s", args, rc, fo ? fo : "");
        free(fo);
        for (int c = 0; c < 1; c++) {
            snprintf(args, sizeof args, "%s %s", cmds[c], path);
            char * out = run_cli(args, &rc);
            CHECK(rc == 0 && out, "%s: exit %d", args, rc);
            if (!out) continue;
            CHECK(strstr(out, "collapsed onto token 0 (attention sink)") && strstr(out, "% of the mass"),
                  "%s: no collapse note in:\n%s", args, out);
            CHECK(strstr(out, c ? "sink-aware flow" : "sink-aware rollout") != NULL, "%s: no sink-aware bars in:\n%s", args, out);
            CHECK(strstr(out, "e-0") != NULL, "%s: no value in scientific notation in:\n%s", args, out);
            CHECK(!strstr(out, " 0.0000\n"), "%s: a value printed as 0.0000:\n%s", args, out);
            free(out);
        }
        snprintf(args, sizeof args, "rollout %s --sink-aware --json", path);
        char * out = run_cli(args, &rc);
        CHECK(rc == 0 && out && strstr(out, "\"sink_aware\":true") && !strstr(out, "collapsed onto"), "%s: exit %d: %s", args, rc, out ? out : "");
        const char * v = out ? strstr(out, "\"values\":[") : NULL;
        int bad = 0;
        for (int j = 0; v && j < T; j++) {
            v = j ? strchr(v + 1, ',') : strchr(v, '[');
            double x = v ? strtod(v + 1, NULL) : NAN;
            if (!(fabs(x - S[(T - 1) * T + j]) < 1e-8)) bad++;
        }
        CHECK(v && bad == 0, "%s: %d values differ from the library", args, bad);
        free(out);
        if (!getenv("GAZE_TEST_KEEP")) remove(path);
    }
    gaze_run_free(&run);
    return check_summary("rollout_sink");
}

// BERT forward pass against HF transformers (tests/fixtures/bert, made by
// tests/reference/gen_bert_fixtures.py): for every fixture case with a forward file, the token
// ids, type ids, offsets, every layer's attention weights (all heads, the fixture's rows), every
// captured hidden state, the last hidden state and the sentence embedding. Also: capture never
// changes the outputs (no-capture and partial-capture runs give the same embedding bit for
// bit), the other ISA paths meet the same bars, and HF's truncation cases through the run API.
// Needs the fetched model: $GAZE_HOME/models/minilm (scripts/fetch-test-models).
#include "check.h"
#include "core/core.h"   // gaze_free_aligned

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

// Bars from issue 3.
#define ATTN_TOL   1e-5     // max abs error of attention weights
#define COS_MIN    0.99999  // cosine of hidden states (per token) and of the embedding
#define H0_TOL     1e-5     // max abs error of the embeddings output (hidden_state.0)

static const char * src_dir(void) {
    const char * s = getenv("GAZE_SOURCE_DIR");
    return s && *s ? s : ".";
}

static void minilm_dir(char * out, size_t n) {
    const char * home = getenv("GAZE_HOME");
    if (home && *home) snprintf(out, n, "%s/models/minilm", home);
    else snprintf(out, n, "%s/.cache/gaze/models/minilm", getenv("HOME") ? getenv("HOME") : ".");
}

// Running worst values in which a NaN sticks (NaN must never pass a bar).
static void upd_max(double * m, double v) { if (isnan(v) || isnan(*m)) *m = NAN; else if (v > *m) *m = v; }
static void upd_min(double * m, double v) { if (isnan(v) || isnan(*m)) *m = NAN; else if (v < *m) *m = v; }

static double cosine(const float * a, const float * b, int64_t n) {
    double ab = 0, aa = 0, bb = 0;
    for (int64_t i = 0; i < n; i++) { ab += (double)a[i] * b[i]; aa += (double)a[i] * a[i]; bb += (double)b[i] * b[i]; }
    return ab / sqrt(aa * bb);   // NaN for a zero or non-finite vector
}

static double max_abs(const float * a, const float * b, int64_t n) {
    double m = 0;
    for (int64_t i = 0; i < n; i++) upd_max(&m, fabs((double)a[i] - (double)b[i]));
    return m;
}

// Fixture tensor as f32 (or I32 copied out), checking rank and shape; NULL when absent/wrong.
static float * fx_f32(const struct gaze_safetensors * st, const char * name, int n_dims, const int64_t * shape) {
    const struct gaze_st_tensor * t = gaze_safetensors_find(st, name);
    if (!t) return NULL;
    bool ok = t->n_dims == n_dims;
    for (int i = 0; ok && i < n_dims; i++) ok = t->shape[i] == shape[i];
    CHECK(ok, "fixture %s: tensor %s has an unexpected shape", gaze_safetensors_path(st), name);
    if (!ok) return NULL;
    float * out = malloc((size_t)(t->n_elements ? t->n_elements : 1) * sizeof *out);
    if (!out || gaze_st_tensor_to_f32(t, out, t->n_elements)) { free(out); return NULL; }
    return out;
}

static int32_t * fx_i32(const struct gaze_safetensors * st, const char * name, int64_t * n) {
    const struct gaze_st_tensor * t = gaze_safetensors_find(st, name);
    if (!t || t->dtype != GAZE_DTYPE_I32 || t->n_dims != 1) return NULL;
    int32_t * out = malloc((size_t)(t->n_elements + 1) * sizeof *out);
    if (out) memcpy(out, t->data, t->n_bytes);   // data may be unaligned in the mapping
    *n = t->n_elements;
    return out;
}

// The case's text as a C string. Inputs holding U+0000 cannot go through the NUL-terminated
// run API; BertNormalizer drops U+0000 anyway, so the bytes are removed and map[i] keeps the
// original offset of byte i of the copy (map[n'] = n) to translate token offsets back.
static char * case_text(json_t * js, int64_t ** map) {
    const char * s = json_string_value(js);
    size_t n = json_string_length(js), k = 0;
    char * out = malloc(n + 1);
    *map = malloc((n + 1) * sizeof **map);
    if (!out || !*map) { free(out); free(*map); *map = NULL; return NULL; }
    for (size_t i = 0; i < n; i++)
        if (s[i]) { (*map)[k] = (int64_t)i; out[k++] = s[i]; }
    (*map)[k] = (int64_t)n;
    out[k] = 0;
    return out;
}

struct worst {                 // worst figures of one case
    double attn;               // max abs error over layers, heads, fixture rows, keys
    double hid_cos, hid_abs;   // last hidden state: min per-token cosine, max abs error
    double emb_cos, emb_abs;   // sentence embedding
    double layer_cos;          // hidden_state.1..6 (cases 0, 1): min per-token cosine
    double h0_abs;             // hidden_state.0 vs the embeddings recomputed from the weights
    bool   has_layers, has_h0; // the fixture holds those tensors
};

struct ctx {
    struct gaze_model * model;
    struct gaze_safetensors * weights;   // model.safetensors, for hidden_state.0
    int64_t L, H, C;
};

// Embeddings output (word + position + type, LayerNorm) from the model's own weights, as HF
// BertEmbeddings computes it. bert.c has no capture point before layer 0, so this checks the
// fixture's hidden_state.0 against the same formula on the same tensors.
static float * embeddings_from_weights(const struct ctx * cx, const int32_t * ids, const int32_t * types, int64_t T) {
    const char * names[5] = { "embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
                              "embeddings.token_type_embeddings.weight", "embeddings.LayerNorm.weight",
                              "embeddings.LayerNorm.bias" };
    const float * w[5];
    float * owned[5] = { 0 };
    bool ok = true;
    for (int i = 0; i < 5; i++) {
        const struct gaze_st_tensor * t = gaze_safetensors_find(cx->weights, names[i]);
        ok = ok && t && gaze_st_tensor_as_f32(t, &w[i], &owned[i]) == GAZE_OK;
    }
    float * x = ok ? malloc((size_t)(T * cx->C) * sizeof *x) : NULL;
    for (int64_t t = 0; x && t < T; t++)
        for (int64_t c = 0; c < cx->C; c++)
            x[t * cx->C + c] = w[0][ids[t] * cx->C + c] + w[1][t * cx->C + c] + w[2][types[t] * cx->C + c];
    if (x) gaze_layer_norm(x, x, T, cx->C, w[3], w[4], 1e-12f);
    for (int i = 0; i < 5; i++) gaze_free_aligned(owned[i]);
    return x;
}

// Runs one fixture case and compares it; returns the worst figures. tag names the ISA path.
static struct worst compare_case(const struct ctx * cx, json_t * c, const char * tag, bool verbose) {
    struct worst w = { 0, 1, 0, 1, 0, 1, 0, false, false };
    const char * name = json_string_value(json_object_get(c, "name"));
    char fpath[4200];
    snprintf(fpath, sizeof fpath, "%s/tests/fixtures/bert/%s", src_dir(),
             json_string_value(json_object_get(c, "forward")));
    struct gaze_safetensors * fx = NULL;
    enum gaze_status s = gaze_safetensors_open(&fx, fpath);
    CHECK(s == GAZE_OK, "fixture %s: %s", fpath, gaze_last_error());
    if (s) { w.attn = NAN; return w; }

    int64_t * map = NULL;
    char * text = case_text(json_object_get(c, "text"), &map);
    int64_t * pmap = NULL;
    json_t * jp = json_object_get(c, "pair");
    char * pair = json_is_string(jp) ? case_text(jp, &pmap) : NULL;

    struct gaze_run_opts opts = { 0 };
    opts.parts = GAZE_RUN_PART_ATTN | GAZE_RUN_PART_HIDDEN;   // every layer and head
    struct gaze_run run;
    s = gaze_model_run(cx->model, text, pair, &opts, &run);
    CHECK(s == GAZE_OK, "[%s] %s: run: %s", tag, name, gaze_last_error());
    if (s) { w.attn = NAN; goto out_noRun; }

    // tokens: ids and type ids (fixture tensors), offsets, sequence ids and strings (tokens.json)
    int64_t T = 0, Tt = 0, R = 0;
    int32_t * ids = fx_i32(fx, "input_ids", &T), * types = fx_i32(fx, "token_type_ids", &Tt);
    int32_t * rows = fx_i32(fx, "attn_rows", &R);
    bool rows_ok = rows && R >= 1;
    for (int64_t r = 0; rows_ok && r < R; r++) rows_ok = rows[r] >= 0 && rows[r] < T;
    CHECK(ids && types && rows_ok && T == Tt, "fixture %s: input_ids/token_type_ids/attn_rows", fpath);
    if (!ids || !types || !rows_ok || T != Tt) goto out;
    CHECK(run.T == T, "[%s] %s: %lld tokens, HF %lld", tag, name, (long long)run.T, (long long)T);
    if (run.T != T) goto out;
    int bad_ids = 0, bad_offs = 0, bad_strs = 0;
    json_t * jo = json_object_get(c, "offsets"), * jseq = json_object_get(c, "sequence_ids");
    json_t * jtok = json_object_get(c, "tokens");
    for (int64_t t = 0; t < T; t++) {
        if (run.token_ids[t] != ids[t] || !run.token_type_ids || run.token_type_ids[t] != types[t]) bad_ids++;
        int8_t seq = run.sequence_ids ? run.sequence_ids[t] : -2;
        const int64_t * m = seq == 1 ? pmap : map;
        int64_t b = run.offsets ? run.offsets[2 * t] : -1, e = run.offsets ? run.offsets[2 * t + 1] : -1;
        if (m && e > b && b >= 0) { b = m[b]; e = m[e - 1] + 1; }
        json_t * o = json_array_get(jo, (size_t)t);
        if (seq != json_integer_value(json_array_get(jseq, (size_t)t)) ||
            b != json_integer_value(json_array_get(o, 0)) || e != json_integer_value(json_array_get(o, 1))) {
            if (bad_offs++ < 3)
                fprintf(stderr, "  [%s] %s token %lld: seq %d offsets (%lld,%lld), HF seq %lld (%lld,%lld)\n", tag, name,
                        (long long)t, seq, (long long)b, (long long)e, (long long)json_integer_value(json_array_get(jseq, (size_t)t)),
                        (long long)json_integer_value(json_array_get(o, 0)), (long long)json_integer_value(json_array_get(o, 1)));
        }
        const char * want = json_string_value(json_array_get(jtok, (size_t)t));
        if (!want || strcmp(run.tokens[t], want)) bad_strs++;
    }
    CHECK(bad_ids == 0, "[%s] %s: %d token ids / type ids differ from HF", tag, name, bad_ids);
    CHECK(bad_offs == 0, "[%s] %s: %d offsets / sequence ids differ from HF", tag, name, bad_offs);
    CHECK(bad_strs == 0, "[%s] %s: %d token strings differ from HF", tag, name, bad_strs);
    CHECK(run.n_cap_layers == cx->L && run.n_heads_cap == cx->H && run.Tq == T,
          "[%s] %s: captured %lld layers x %lld heads x %lld rows", tag, name, (long long)run.n_cap_layers,
          (long long)run.n_heads_cap, (long long)run.Tq);
    if (run.n_cap_layers != cx->L || run.n_heads_cap != cx->H || run.Tq != T) goto out;

    // attention: attention.{l}[h, r, :] = P_l[h, attn_rows[r], :]
    const int64_t H = cx->H, C = cx->C;
    for (int64_t l = 0; l < cx->L; l++) {
        char tn[64];
        snprintf(tn, sizeof tn, "attention.%lld", (long long)l);
        float * ref = fx_f32(fx, tn, 3, (int64_t[]){ H, R, T });
        const struct gaze_run_layer * ly = gaze_run_find_layer(&run, l);
        CHECK(ref && ly && ly->attn, "[%s] %s: layer %lld attention missing", tag, name, (long long)l);
        double lw = 0;
        for (int64_t h = 0; ref && ly && ly->attn && h < H; h++)
            for (int64_t r = 0; r < R; r++)
                upd_max(&lw, max_abs(ly->attn + (h * T + rows[r]) * T, ref + (h * R + r) * T, T));
        CHECK(lw <= ATTN_TOL, "[%s] %s: layer %lld attention max abs error %.3g > %g", tag, name, (long long)l, lw, ATTN_TOL);
        upd_max(&w.attn, lw);
        free(ref);
    }

    // last hidden state, per token
    float * lhs = fx_f32(fx, "last_hidden_state", 2, (int64_t[]){ T, C });
    const struct gaze_run_layer * last = gaze_run_find_layer(&run, cx->L - 1);
    CHECK(lhs && last && last->hidden, "[%s] %s: last hidden state missing", tag, name);
    for (int64_t t = 0; lhs && last && last->hidden && t < T; t++) {
        upd_min(&w.hid_cos, cosine(last->hidden + t * C, lhs + t * C, C));
        upd_max(&w.hid_abs, max_abs(last->hidden + t * C, lhs + t * C, C));
    }
    CHECK(w.hid_cos >= COS_MIN, "[%s] %s: last hidden state min cosine %.8f < %g", tag, name, w.hid_cos, COS_MIN);
    free(lhs);

    // sentence embedding
    float * emb = fx_f32(fx, "sentence_embedding", 1, (int64_t[]){ C });
    CHECK(emb && run.embedding, "[%s] %s: embedding missing", tag, name);
    if (emb && run.embedding) {
        w.emb_cos = cosine(run.embedding, emb, C);
        w.emb_abs = max_abs(run.embedding, emb, C);
    } else w.emb_cos = NAN;
    CHECK(w.emb_cos >= COS_MIN, "[%s] %s: embedding cosine %.8f < %g", tag, name, w.emb_cos, COS_MIN);
    free(emb);

    // per-layer hidden states (hidden_state.l = output of layer l-1), where the fixture has them
    for (int64_t l = 1; l <= cx->L; l++) {
        char tn[64];
        snprintf(tn, sizeof tn, "hidden_state.%lld", (long long)l);
        if (!gaze_safetensors_find(fx, tn)) continue;
        float * ref = fx_f32(fx, tn, 2, (int64_t[]){ T, C });
        const struct gaze_run_layer * ly = gaze_run_find_layer(&run, l - 1);
        double lc = 1;
        for (int64_t t = 0; ref && ly && ly->hidden && t < T; t++) upd_min(&lc, cosine(ly->hidden + t * C, ref + t * C, C));
        if (!ref || !ly || !ly->hidden) lc = NAN;
        CHECK(lc >= COS_MIN, "[%s] %s: %s min cosine %.8f", tag, name, tn, lc);
        upd_min(&w.layer_cos, lc);
        w.has_layers = true;
        free(ref);
    }
    // hidden_state.0 (embeddings output)
    if (gaze_safetensors_find(fx, "hidden_state.0")) {
        float * ref = fx_f32(fx, "hidden_state.0", 2, (int64_t[]){ T, C });
        float * mine = ref ? embeddings_from_weights(cx, ids, types, T) : NULL;
        w.h0_abs = mine ? max_abs(mine, ref, T * C) : NAN;
        w.has_h0 = true;
        CHECK(w.h0_abs <= H0_TOL, "[%s] %s: hidden_state.0 max abs error %.3g", tag, name, w.h0_abs);
        free(ref);
        free(mine);
    }

    // capture must not change the outputs: the same input without capture, bit for bit
    struct gaze_run_opts none = { .no_capture = true };
    struct gaze_run r2;
    s = gaze_model_run(cx->model, text, pair, &none, &r2);
    CHECK(s == GAZE_OK && r2.n_cap_layers == 0 && r2.embedding &&
          memcmp(r2.embedding, run.embedding, (size_t)C * sizeof(float)) == 0,
          "[%s] %s: embedding without capture differs from the captured run (%s)", tag, name,
          s ? gaze_last_error() : "bits differ");
    if (!s) gaze_run_free(&r2);

    if (verbose) {
        printf("  [%s] %-18s T=%3lld attn %.2e | last hidden 1-cos %.1e |err| %.2e | emb 1-cos %.1e |err| %.2e",
               tag, name, (long long)T, w.attn, 1 - w.hid_cos, w.hid_abs, 1 - w.emb_cos, w.emb_abs);
        if (w.has_h0) printf(" | h0 |err| %.2e", w.h0_abs);
        if (w.has_layers) printf(" | layers 1-cos %.1e", 1 - w.layer_cos);
        printf("\n");
    }
out:
    free(ids);
    free(types);
    free(rows);
    gaze_run_free(&run);
out_noRun:
    free(text);
    free(map);
    free(pair);
    free(pmap);
    gaze_safetensors_free(fx);
    return w;
}

// Partial capture (some layers, some heads, Q/K/scores) and other thread counts still give
// the embedding of the full-capture run; captured heads equal the full run's heads.
static void test_capture_invariance(const struct ctx * cx) {
    const char * text = "The quick brown fox jumps over the lazy dog.";
    struct gaze_run_opts full = { .parts = GAZE_RUN_PART_ATTN };
    struct gaze_run a, b;
    enum gaze_status s = gaze_model_run(cx->model, text, NULL, &full, &a);
    CHECK(s == GAZE_OK, "full run: %s", gaze_last_error());
    if (s) return;
    int64_t layers[2] = { 1, 4 }, heads[3] = { 0, 5, 11 };
    struct gaze_run_opts part = { .layers = layers, .n_layers = 2, .heads = heads, .n_heads = 3,
                                  .parts = GAZE_RUN_PART_ATTN | GAZE_RUN_PART_Q | GAZE_RUN_PART_K | GAZE_RUN_PART_SCORES };
    s = gaze_model_run(cx->model, text, NULL, &part, &b);
    CHECK(s == GAZE_OK, "partial run: %s", gaze_last_error());
    if (!s) {
        CHECK(memcmp(a.embedding, b.embedding, (size_t)cx->C * sizeof(float)) == 0, "partial capture changed the embedding");
        CHECK(b.n_cap_layers == 2 && b.layers[0].index == 1 && b.layers[1].index == 4 && b.n_heads_cap == 3,
              "partial capture: %lld layers, %lld heads", (long long)b.n_cap_layers, (long long)b.n_heads_cap);
        const int64_t T = a.T;
        for (int64_t li = 0; li < b.n_cap_layers && li < 2; li++) {
            const struct gaze_run_layer * fl = gaze_run_find_layer(&a, layers[li]), * pl = &b.layers[li];
            int diff = 0;
            for (int64_t n = 0; n < 3; n++)
                diff += memcmp(fl->attn + heads[n] * T * T, pl->attn + n * T * T, (size_t)(T * T) * sizeof(float)) != 0;
            CHECK(diff == 0, "layer %lld: %d selected heads differ from the full capture", (long long)layers[li], diff);
            CHECK(pl->q && pl->k && pl->scores, "layer %lld: q/k/scores not captured", (long long)layers[li]);
            // softmax of the captured scores reproduces the captured weights
            double e = 0;
            for (int64_t n = 0; pl->scores && n < 3; n++)
                for (int64_t i = 0; i < T; i++) {
                    const float * sr = pl->scores + (n * T + i) * T;
                    double mx = -INFINITY, sum = 0;
                    for (int64_t j = 0; j < T; j++) mx = fmax(mx, sr[j]);
                    for (int64_t j = 0; j < T; j++) sum += exp(sr[j] - mx);
                    for (int64_t j = 0; j < T; j++) upd_max(&e, fabs(exp(sr[j] - mx) / sum - pl->attn[(n * T + i) * T + j]));
                }
            CHECK(e <= 1e-6, "layer %lld: softmax(scores) vs weights %.3g", (long long)layers[li], e);
            // q·k / sqrt(d) reproduces the scores
            const int64_t d = b.d_head;
            double es = 0;
            for (int64_t n = 0; pl->q && pl->k && n < 3; n++)
                for (int64_t i = 0; i < T; i++)
                    for (int64_t j = 0; j < T; j++) {
                        double dot = 0;
                        for (int64_t k = 0; k < d; k++) dot += (double)pl->q[(n * T + i) * d + k] * pl->k[(n * T + j) * d + k];
                        upd_max(&es, fabs(dot / sqrt((double)d) - pl->scores[(n * T + i) * T + j]));
                    }
            CHECK(es <= 1e-4, "layer %lld: q.k/sqrt(d) vs scores %.3g", (long long)layers[li], es);
        }
        gaze_run_free(&b);
    }
    // one thread: same figures up to float summation order (bitwise when the GEMM splits rows)
    struct gaze_run_opts one = { .no_capture = true, .n_threads = 1 };
    s = gaze_model_run(cx->model, text, NULL, &one, &b);
    CHECK(s == GAZE_OK, "1-thread run: %s", gaze_last_error());
    if (!s) {
        double e = max_abs(a.embedding, b.embedding, cx->C);
        CHECK(e <= 1e-6, "1 thread vs default threads: embedding differs by %.3g", e);
        printf("  1 thread vs %d threads: embedding max|diff| %.3g (%s)\n", gaze_default_threads(), e,
               memcmp(a.embedding, b.embedding, (size_t)cx->C * sizeof(float)) ? "not bitwise" : "bitwise");
        gaze_run_free(&b);
    }
    gaze_run_free(&a);
}

// HF's truncation cases (tokens only) through gaze_model_run's max_len.
static void test_truncation_cases(const struct ctx * cx, json_t * cases) {
    size_t i;
    json_t * c;
    int n = 0;
    json_array_foreach(cases, i, c) {
        json_t * tr = json_object_get(c, "truncation");
        if (!json_is_object(tr)) continue;
        const char * name = json_string_value(json_object_get(c, "name"));
        int64_t * m1 = NULL, * m2 = NULL;
        char * text = case_text(json_object_get(c, "text"), &m1);
        json_t * jp = json_object_get(c, "pair");
        char * pair = json_is_string(jp) ? case_text(jp, &m2) : NULL;
        struct gaze_run_opts o = { .no_capture = true, .max_len = json_integer_value(json_object_get(tr, "max_length")),
                                   .truncate = true };
        struct gaze_run run;
        enum gaze_status s = gaze_model_run(cx->model, text, pair, &o, &run);
        CHECK(s == GAZE_OK, "%s: %s", name, gaze_last_error());
        json_t * ids = json_object_get(c, "input_ids"), * ty = json_object_get(c, "token_type_ids");
        if (!s) {
            int bad = run.T != (int64_t)json_array_size(ids);
            for (int64_t t = 0; !bad && t < run.T; t++)
                bad += run.token_ids[t] != json_integer_value(json_array_get(ids, (size_t)t)) ||
                       run.token_type_ids[t] != json_integer_value(json_array_get(ty, (size_t)t));
            CHECK(bad == 0, "%s: truncated tokens differ from HF (T %lld, HF %zu)", name, (long long)run.T, json_array_size(ids));
            gaze_run_free(&run);
        }
        free(text); free(pair); free(m1); free(m2);
        n++;
    }
    CHECK(n >= 3, "only %d truncation cases", n);
}

int main(void) {
    char dir[4096], path[4200], fix[4200];
    minilm_dir(dir, sizeof dir);
    snprintf(fix, sizeof fix, "%s/tests/fixtures/bert/tokens.json", src_dir());
    json_error_t jerr;
    json_t * root = json_load_file(fix, JSON_ALLOW_NUL, &jerr);
    CHECK(root != NULL, "%s: %s", fix, jerr.text);
    struct ctx cx = { 0 };
    enum gaze_status s = gaze_model_load(&cx.model, dir);
    CHECK(s == GAZE_OK, "load %s (fetch it with scripts/fetch-test-models): %s", dir, gaze_last_error());
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    if (!s) s = gaze_safetensors_open(&cx.weights, path);
    CHECK(s == GAZE_OK, "%s: %s", path, gaze_last_error());
    if (!root || s) return check_summary("test_bert_golden");
    const struct gaze_model_info * info = gaze_model_info(cx.model);
    cx.L = info->n_layers; cx.H = info->n_heads; cx.C = info->n_embd;
    CHECK(cx.L == 6 && cx.H == 12 && cx.C == 384 && info->n_ctx == 512 && !info->causal,
          "MiniLM: %lld layers %lld heads %lld wide", (long long)cx.L, (long long)cx.H, (long long)cx.C);
    printf("test_bert_golden: model %s, ISA %s, %d threads\n", dir, gaze_isa_name(gaze_isa_active()), gaze_default_threads());

    json_t * cases = json_object_get(root, "cases");
    struct worst all = { 0, 1, 0, 1, 0, 1, 0, false, false };
    int n_fwd = 0;
    size_t i;
    json_t * c;
    json_array_foreach(cases, i, c) {
        if (!json_is_string(json_object_get(c, "forward"))) continue;
        struct worst w = compare_case(&cx, c, gaze_isa_name(gaze_isa_active()), true);
        upd_max(&all.attn, w.attn); upd_min(&all.hid_cos, w.hid_cos); upd_max(&all.hid_abs, w.hid_abs);
        upd_min(&all.emb_cos, w.emb_cos); upd_max(&all.emb_abs, w.emb_abs); upd_min(&all.layer_cos, w.layer_cos);
        upd_max(&all.h0_abs, w.h0_abs);
        n_fwd++;
    }
    CHECK(n_fwd >= 25, "only %d forward cases", n_fwd);
    printf("worst over %d cases: attention max|err| %.3g (bar %g); last hidden min cos %.12f (1-cos %.2g), "
           "max|err| %.3g; embedding min cos %.12f (1-cos %.2g), max|err| %.3g; per-layer hidden 1-cos %.2g; "
           "hidden_state.0 max|err| %.3g (bars: cos >= %g)\n",
           n_fwd, all.attn, ATTN_TOL, all.hid_cos, 1 - all.hid_cos, all.hid_abs, all.emb_cos, 1 - all.emb_cos,
           all.emb_abs, 1 - all.layer_cos, all.h0_abs, COS_MIN);

    // the slower ISA paths on a few cases (short, pair, long): the same bars
    const enum gaze_isa best = gaze_isa_active();
    const enum gaze_isa others[2] = { GAZE_ISA_AVX2, GAZE_ISA_SCALAR };
    const char * subset[] = { "plain", "pair", "emoji", "pair_long" };
    for (int k = 0; k < 2; k++) {
        if (others[k] >= best) continue;
        if (gaze_set_isa(others[k]) != GAZE_OK) continue;
        for (size_t j = 0; j < sizeof subset / sizeof *subset; j++)
            json_array_foreach(cases, i, c)
                if (!strcmp(json_string_value(json_object_get(c, "name")), subset[j]))
                    compare_case(&cx, c, gaze_isa_name(others[k]), true);
        gaze_set_isa(best);
    }
    CHECK(gaze_isa_active() == best, "ISA restored");

    test_capture_invariance(&cx);
    test_truncation_cases(&cx, cases);

    gaze_safetensors_free(cx.weights);
    gaze_model_free(cx.model);
    json_decref(root);
    return check_summary("test_bert_golden");
}

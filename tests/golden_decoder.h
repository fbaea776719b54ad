// The golden comparison of a decoder GGUF against transformers' GGUF loader and llama.cpp, from
// the fixtures of a tests/reference/gen_*_fixtures.py (tests/fixtures/<name>/cases.json and
// case_NN.safetensors), shared by test_llama_golden.c (SmolLM2) and test_gemma3_golden.c:
//   * token ids identical to llama.cpp's;
//   * exact mode (weights dequantized to f32, as transformers does): attention weights of the
//     fixture's layers (all heads, chosen prompt and generated rows) within the spec's tolerance
//     of HF's eager attention, the top-1 next token and all 32 greedy tokens identical on every
//     prompt (at a divergence the HF logit margin of that step is printed, to tell a near-tie
//     from a bug);
//   * capture on and off generate the same tokens (exact mode on every
//     GOLDEN_CAPTURE_OFF_EVERY-th prompt and the longest, to bound the f32 run time; quantized
//     mode on those too, the other way round);
//   * default (quantized) mode: top-1 and greedy agreement with HF and with llama.cpp are
//     printed, and top-1 agreement with HF is asserted on at least quant_top1_pct of the prompts.
#ifndef GAZE_TESTS_GOLDEN_DECODER_H
#define GAZE_TESTS_GOLDEN_DECODER_H
#include "check.h"
#include "gaze.h"
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GOLDEN_CAPTURE_OFF_EVERY 4   // prompts whose run is repeated with capture switched

struct golden_spec {
    const char * name;               // the test's name, for check_summary
    const char * model_path;
    const char * how_to_fetch;       // said when the model does not load
    const char * fixtures;           // folder under tests/fixtures
    const int64_t * layers;          // the fixture's attention layers
    int n_layers;
    double attn_tol;
    int64_t min_long_prompt;         // the longest prompt must have at least this many tokens
    int quant_top1_pct;              // quantized mode: top-1 = HF on at least this % of prompts
};

static const char * src_dir(void) {
    const char * d = getenv("GAZE_SOURCE_DIR");
    return d && *d ? d : ".";
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

struct fx_case {                 // one prompt of cases.json
    const char * name;
    const char * text;
    int64_t n_prompt;
    int32_t ids[2048];           // [n_prompt]
    int64_t n_greedy;
    int32_t greedy[64];          // [n_greedy] HF greedy (ends at EOS when it stopped early)
    double  margins[64];         // [n_greedy] HF top-1 minus top-2 logit at each step
    int64_t n_llamacpp;
    int32_t llamacpp[64];        // [n_llamacpp] llama.cpp greedy (quantized kernels)
    int32_t top1;
    const char * attn_file;
};

static int64_t int_array(json_t * a, int32_t * out, int64_t cap) {
    int64_t n = (int64_t)json_array_size(a);
    if (n > cap) return -1;
    for (int64_t i = 0; i < n; i++) out[i] = (int32_t)json_integer_value(json_array_get(a, (size_t)i));
    return n;
}

static bool parse_case(json_t * c, struct fx_case * f) {
    memset(f, 0, sizeof *f);
    f->name = json_string_value(json_object_get(c, "name"));
    f->text = json_string_value(json_object_get(c, "text"));
    f->attn_file = json_string_value(json_object_get(c, "attention_file"));
    f->top1 = (int32_t)json_integer_value(json_object_get(c, "top1"));
    f->n_prompt = int_array(json_object_get(c, "ids"), f->ids, 2048);
    f->n_greedy = int_array(json_object_get(c, "greedy"), f->greedy, 64);
    f->n_llamacpp = int_array(json_object_get(c, "llamacpp_greedy"), f->llamacpp, 64);
    json_t * m = json_object_get(c, "greedy_margins");
    for (size_t i = 0; i < json_array_size(m) && i < 64; i++) f->margins[i] = json_number_value(json_array_get(m, i));
    return f->name && f->text && f->attn_file && f->n_prompt > 0 && f->n_greedy > 0 && f->n_llamacpp > 0 &&
           (int64_t)json_array_size(m) == f->n_greedy;
}

// Length of the common prefix of a[0..na) and b[0..nb).
static int64_t common_prefix(const int32_t * a, int64_t na, const int32_t * b, int64_t nb) {
    int64_t i = 0;
    while (i < na && i < nb && a[i] == b[i]) i++;
    return i;
}

// Compares the fixture's attention rows with the run's; returns the max abs error over the rows
// whose tokens (and all before them) agree with HF's sequence, or -1 on a fixture problem.
static double compare_attention(const struct golden_spec * sp, const struct fx_case * f, const struct gaze_run * run,
                                int64_t n_agree, int64_t * n_rows_compared) {
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/%s/%s", src_dir(), sp->fixtures, f->attn_file);
    struct gaze_safetensors * st = NULL;
    if (gaze_safetensors_open(&st, path) != GAZE_OK) { fprintf(stderr, "%s\n", gaze_last_error()); return -1; }
    const struct gaze_st_tensor * rows_t = gaze_safetensors_find(st, "rows");
    double max_err = -1;
    *n_rows_compared = 0;
    if (!rows_t || rows_t->dtype != GAZE_DTYPE_I64 || rows_t->n_dims != 1) goto out;
    const int64_t R = rows_t->shape[0];
    int64_t rows[64];
    if (R > 64) goto out;
    memcpy(rows, rows_t->data, (size_t)R * sizeof *rows);
    const int64_t * layers = sp->layers;
    max_err = 0;
    const int64_t n = run->T;
    for (int li = 0; li < sp->n_layers; li++) {
        char name[32];
        snprintf(name, sizeof name, "attention.%lld", (long long)layers[li]);
        const struct gaze_st_tensor * t = gaze_safetensors_find(st, name);
        const struct gaze_run_layer * ly = gaze_run_find_layer(run, layers[li]);
        if (!t || t->dtype != GAZE_DTYPE_F32 || t->n_dims != 3 || t->shape[0] != run->n_heads || t->shape[1] != R ||
            !ly || !ly->attn) { max_err = -1; goto out; }
        const int64_t H = t->shape[0], Tf = t->shape[2];
        float * a = malloc((size_t)t->n_bytes);
        memcpy(a, t->data, t->n_bytes);   // the mapping may be unaligned
        for (int64_t r = 0; r < R; r++) {
            const int64_t i = rows[r];
            // row i depends on tokens 0..i: comparable when they all agree with HF's
            if (i >= n_agree || i >= n) continue;
            if (li == 0) ++*n_rows_compared;
            for (int64_t h = 0; h < H; h++)
                for (int64_t j = 0; j <= i && j < Tf; j++) {
                    double e = fabs((double)a[(h * R + r) * Tf + j] - (double)ly->attn[(h * n + i) * n + j]);
                    if (e > max_err) max_err = e;
                }
        }
        free(a);
    }
out:
    gaze_safetensors_free(st);
    return max_err;
}

// Runs the whole comparison for one model; returns check_summary's exit status.
static int golden_run(const struct golden_spec * sp) {
    char fx_path[1024];
    const char * path = sp->model_path;
    snprintf(fx_path, sizeof fx_path, "%s/tests/fixtures/%s/cases.json", src_dir(), sp->fixtures);
    json_error_t jerr;
    json_t * doc = json_load_file(fx_path, JSON_REJECT_DUPLICATES, &jerr);
    CHECK(doc != NULL, "%s: %s (line %d)", fx_path, jerr.text, jerr.line);
    struct gaze_model * model = NULL;
    enum gaze_status s = gaze_model_load(&model, path);
    CHECK(s == GAZE_OK, "load %s: %s (%s)", path, gaze_last_error(), sp->how_to_fetch);
    if (!doc || s) { json_decref(doc); return check_summary(sp->name); }
    json_t * cases = json_object_get(doc, "cases");
    const size_t n_cases = json_array_size(cases);
    CHECK(n_cases >= 25 || (n_cases >= 20 && !strcmp(sp->fixtures, "llama")), "%zu cases", n_cases);
    const char * threads_env = getenv("GAZE_THREADS");
    const int n_threads = threads_env ? atoi(threads_env) : 0;
    printf("%s: %s, %zu prompts, fixtures from %s\n", sp->name, path, n_cases,
           json_string_value(json_object_get(doc, "generator")));

    struct fx_case * fx = malloc(n_cases * sizeof *fx);
    bool fx_ok = true;
    for (size_t c = 0; c < n_cases; c++) fx_ok = parse_case(json_array_get(cases, c), &fx[c]) && fx_ok;
    CHECK(fx_ok, "cases.json: a case is malformed");
    if (!fx_ok) goto done;
    // GAZE_GOLDEN_CASES=N (the sanitizer build sets it): the first N - 1 prompts and the longest
    // one; everything is checked on them, only fewer prompts run
    bool * use = malloc(n_cases * sizeof *use);
    size_t n_use = n_cases, longest = 0;
    for (size_t c = 0; c < n_cases; c++) { use[c] = true; if (fx[c].n_prompt > fx[longest].n_prompt) longest = c; }
    const char * lim = getenv("GAZE_GOLDEN_CASES");
    if (lim && atoi(lim) > 0 && (size_t)atoi(lim) < n_cases) {
        n_use = 0;
        for (size_t c = 0; c < n_cases; c++) n_use += use[c] = c + 1 < (size_t)atoi(lim) || c == longest;
        printf("GAZE_GOLDEN_CASES=%s: %zu of %zu prompts\n", lim, n_use, n_cases);
    }

    /* ---- exact mode: HF's f32 numbers ---- */
    CHECK(gaze_model_set_exact(model, true) == GAZE_OK, "set_exact: %s", gaze_last_error());
    double worst_attn = 0, t0 = now();
    int n_top1 = 0, n_greedy_all = 0, n_same_capture = 0, n_cap_cmp = 0;
    int64_t long_prompt = 0;
    printf("exact mode (f32 weights), %s:\n", gaze_isa_name(gaze_isa_active()));
    printf("  %-16s %4s %6s %9s %9s %8s %10s\n", "case", "T", "top1", "greedy", "llama.cpp", "rows", "attn err");
    for (size_t c = 0; c < n_cases; c++) {
        if (!use[c]) continue;
        const struct fx_case * f = &fx[c];
        struct gaze_run_opts o = { 0 };
        o.generate = 32;
        o.layers = sp->layers;
        o.n_layers = sp->n_layers;
        o.n_threads = n_threads;
        struct gaze_run run;
        s = gaze_model_run(model, f->text, NULL, &o, &run);
        CHECK(s == GAZE_OK, "%s: run: %s", f->name, gaze_last_error());
        if (s) continue;
        if (f->n_prompt > long_prompt) long_prompt = f->n_prompt;
        const int64_t T = run.T - run.n_generated;
        // token ids: identical to llama.cpp's
        CHECK(T == f->n_prompt && common_prefix(run.token_ids, T, f->ids, f->n_prompt) == f->n_prompt,
              "%s: token ids differ from llama.cpp's (T %lld vs %lld, first difference at %lld)", f->name,
              (long long)T, (long long)f->n_prompt, (long long)common_prefix(run.token_ids, T, f->ids, f->n_prompt));
        // top-1 and greedy tokens
        const int32_t * gen = run.token_ids + T;
        const int64_t agree = common_prefix(gen, run.n_generated, f->greedy, f->n_greedy);
        const bool greedy_ok = agree == f->n_greedy && run.n_generated == f->n_greedy;
        n_top1 += run.n_generated > 0 && gen[0] == f->top1;
        n_greedy_all += greedy_ok;
        CHECK(run.n_generated > 0 && gen[0] == f->top1, "%s: top-1 %d, HF %d (HF margin %.4f)", f->name,
              run.n_generated ? gen[0] : -1, f->top1, f->margins[0]);
        CHECK(greedy_ok, "%s: greedy tokens agree with HF for %lld of %lld steps; step %lld: gaze %d, HF %d, HF logit "
              "margin there %.4f", f->name, (long long)agree, (long long)f->n_greedy, (long long)agree,
              agree < run.n_generated ? gen[agree] : -1, agree < f->n_greedy ? f->greedy[agree] : -1,
              agree < f->n_greedy ? f->margins[agree] : 0.0);
        const int64_t agree_ll = common_prefix(gen, run.n_generated, f->llamacpp, f->n_llamacpp);
        // attention: rows whose whole prefix matches HF's sequence
        int64_t n_rows = 0;
        double err = compare_attention(sp, f, &run, T + agree, &n_rows);
        CHECK(err >= 0, "%s: attention fixture %s unreadable or mismatched", f->name, f->attn_file);
        CHECK(err <= sp->attn_tol, "%s: attention max abs err %.3g > %g", f->name, err, sp->attn_tol);
        CHECK(n_rows > 0, "%s: no attention row compared", f->name);
        if (err > worst_attn) worst_attn = err;
        // what `gaze run -o` would save passes the run-file checks (values in [0, 1], rows sum to 1)
        CHECK(gaze_run_check(&run, f->name) == GAZE_OK, "%s: run check: %s", f->name, gaze_last_error());
        printf("  %-16s %4lld %6s %5lld/%-3lld %5lld/%-3lld %8lld %10.2e\n", f->name, (long long)T,
               run.n_generated && gen[0] == f->top1 ? "ok" : "DIFF", (long long)agree, (long long)f->n_greedy,
               (long long)agree_ll, (long long)f->n_llamacpp, (long long)n_rows, err);
        // capture off: the same tokens
        if (c % GOLDEN_CAPTURE_OFF_EVERY != 0 && c + 1 != n_cases) { gaze_run_free(&run); continue; }
        n_cap_cmp++;
        o.no_capture = true;
        struct gaze_run run2;
        s = gaze_model_run(model, f->text, NULL, &o, &run2);
        CHECK(s == GAZE_OK, "%s: run without capture: %s", f->name, gaze_last_error());
        if (!s) {
            bool same = run2.T == run.T && !memcmp(run2.token_ids, run.token_ids, (size_t)run.T * sizeof(int32_t));
            CHECK(same, "%s: capture changed the generated tokens", f->name);
            n_same_capture += same;
            gaze_run_free(&run2);
        }
        gaze_run_free(&run);
    }
    CHECK(long_prompt >= sp->min_long_prompt, "longest prompt %lld tokens", (long long)long_prompt);
    printf("exact: top-1 %d/%zu, 32 greedy tokens identical %d/%zu, attention max abs err %.2e (tolerance %g), "
           "capture on/off same tokens %d/%d (%.1f s)\n", n_top1, n_use, n_greedy_all, n_use, worst_attn, sp->attn_tol,
           n_same_capture, n_cap_cmp, now() - t0);

    /* ---- default mode: quantized dot products, as llama.cpp ---- */
    CHECK(gaze_model_set_exact(model, false) == GAZE_OK, "set_exact(false): %s", gaze_last_error());
    {
        int q_top1 = 0, q_top1_ll = 0, q_all = 0, q_all_ll = 0, n_run = 0, q_same = 0, q_cmp = 0;
        int64_t q_tok = 0, q_tok_ll = 0, tot = 0, tot_ll = 0;
        t0 = now();
        printf("default (quantized) mode:\n  %-16s %6s %9s %9s\n", "case", "top1", "HF", "llama.cpp");
        for (size_t c = 0; c < n_cases; c++) {
            if (!use[c]) continue;
            const struct fx_case * f = &fx[c];
            struct gaze_run_opts o = { 0 };
            o.generate = 32;
            o.no_capture = true;
            o.n_threads = n_threads;
            struct gaze_run run;
            s = gaze_model_run(model, f->text, NULL, &o, &run);
            CHECK(s == GAZE_OK, "%s: quantized run: %s", f->name, gaze_last_error());
            if (s) continue;
            n_run++;
            const int64_t T = run.T - run.n_generated;
            const int32_t * gen = run.token_ids + T;
            const int64_t a = common_prefix(gen, run.n_generated, f->greedy, f->n_greedy);
            const int64_t b = common_prefix(gen, run.n_generated, f->llamacpp, f->n_llamacpp);
            q_top1 += run.n_generated > 0 && gen[0] == f->top1;
            q_top1_ll += run.n_generated > 0 && gen[0] == f->llamacpp[0];
            q_all += a == f->n_greedy && run.n_generated == f->n_greedy;
            q_all_ll += b == f->n_llamacpp && run.n_generated == f->n_llamacpp;
            q_tok += a; tot += f->n_greedy;
            q_tok_ll += b; tot_ll += f->n_llamacpp;
            printf("  %-16s %6s %5lld/%-3lld %5lld/%-3lld\n", f->name, run.n_generated && gen[0] == f->top1 ? "ok" : "DIFF",
                   (long long)a, (long long)f->n_greedy, (long long)b, (long long)f->n_llamacpp);
            if (c % GOLDEN_CAPTURE_OFF_EVERY == 0 || c + 1 == n_cases) {   // capture on: the same tokens
                struct gaze_run run2;
                o.no_capture = false;
                s = gaze_model_run(model, f->text, NULL, &o, &run2);
                CHECK(s == GAZE_OK, "%s: quantized run with capture: %s", f->name, gaze_last_error());
                if (!s) {
                    bool same = run2.T == run.T && !memcmp(run2.token_ids, run.token_ids, (size_t)run.T * sizeof(int32_t));
                    CHECK(same, "%s: quantized: capture changed the generated tokens", f->name);
                    q_same += same;
                    q_cmp++;
                    gaze_run_free(&run2);
                }
            }
            gaze_run_free(&run);
        }
        printf("quantized: top-1 = HF %d/%d, = llama.cpp %d/%d; greedy identical to HF %d/%d (agreeing prefix %lld of %lld "
               "tokens), to llama.cpp %d/%d (%lld of %lld); capture on/off same tokens %d/%d (%.1f s)\n", q_top1, n_run,
               q_top1_ll, n_run, q_all, n_run, (long long)q_tok, (long long)tot, q_all_ll, n_run, (long long)q_tok_ll,
               (long long)tot_ll, q_same, q_cmp, now() - t0);
        CHECK(n_run == (int)n_use && q_top1 * 100 >= n_run * sp->quant_top1_pct,
              "quantized top-1 agreement with HF %d/%d below %d%%", q_top1, n_run, sp->quant_top1_pct);
    }
    free(use);
done:
    free(fx);
    json_decref(doc);
    gaze_model_free(model);
    return check_summary(sp->name);
}
#endif

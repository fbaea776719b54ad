// Images as the input of `gaze run` for vision models: told by content (or extension), decoded
// and preprocessed by the library, summarised by grid and top classes.
#include "cli.h"
#include "core/core.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

bool cli_is_image_path(const char * path) {
    struct stat st;
    if (!path || stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return false;
    unsigned char magic[8] = { 0 };
    FILE * f = fopen(path, "rb");
    size_t n = f ? fread(magic, 1, sizeof magic, f) : 0;
    if (f) fclose(f);
    if (gaze_image_sniff(magic, n)) return true;
    const char * dot = strrchr(path, '.');
    return dot && (!strcasecmp(dot, ".png") || !strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg"));
}

int cli_image_size(const char * cmd, const char * v, int64_t * w, int64_t * h) {
    long long iw = 0, ih = 0;
    int used = 0;
    if (!v || sscanf(v, "%lldx%lld%n", &iw, &ih, &used) != 2 || v[used] || iw < 1 || ih < 1 || iw > 4096 || ih > 4096) {
        fprintf(stderr, "gaze %s: --image-size: expected WxH, each side 1..4096, got '%s'\n", cmd, v ? cli_safe(v) : "");
        return 2;
    }
    *w = iw;
    *h = ih;
    return 0;
}

int cli_image_size_applies(const char * cmd, int64_t w, bool image_input) {
    if (w <= 0 || image_input) return 0;
    fprintf(stderr, "gaze %s: --image-size is for a vision model run on an image (MODEL IMAGE), not for text or a saved run\n", cmd);
    return 2;
}

enum gaze_status cli_run_image(struct gaze_model * model, const char * path, const struct gaze_run_opts * opts,
                               struct gaze_run * run, bool quiet) {
    gaze_run_init(run);
    const double t0 = cli_now();
    struct gaze_image img;
    enum gaze_status s = gaze_image_load(&img, path, 0);
    if (s) return s;
    if (!quiet)
        fprintf(stderr, "gaze run: decoded %s (%lld x %lld) in %.1f ms\n", cli_safe(path), (long long)img.width,
                (long long)img.height, (cli_now() - t0) * 1e3);
    const char * base = strrchr(path, '/');
    s = gaze_model_run_image(model, &img, base ? base + 1 : path, opts, run);
    gaze_image_free(&img);
    return s;
}

void cli_print_image_run(const struct gaze_model * model, const struct gaze_run * run) {
    const int64_t special = run->T - run->grid_rows * run->grid_cols;
    printf("  %lld special token%s + %lld x %lld patches of %lld px\n", (long long)special, special == 1 ? "" : "s",
           (long long)run->grid_rows, (long long)run->grid_cols, (long long)run->patch_size);
    if (!run->logits) return;
    // top 5 classes, by logit
    int64_t top[5];
    int n = 0;
    for (int64_t k = 0; k < run->n_logits; k++) {
        int i;
        if (n < 5) i = n++;
        else if (run->logits[k] > run->logits[top[4]]) i = 4;
        else continue;
        top[i] = k;
        for (; i > 0 && run->logits[top[i]] > run->logits[top[i - 1]]; i--) {
            const int64_t t = top[i]; top[i] = top[i - 1]; top[i - 1] = t;
        }
    }
    printf("  top classes:");
    for (int i = 0; i < n; i++) {
        const char * label = gaze_model_label(model, top[i]);
        printf("%s %lld", i ? "," : "", (long long)top[i]);
        if (label) printf(" %s", cli_safe(label));
        printf(" (%.3f)", (double)run->logits[top[i]]);
    }
    printf("\n");
}

int cli_patch_query(const struct gaze_run * run, const char * s, int64_t * query) {
    if (!run->patch_rc) {
        fprintf(stderr, "gaze plot: --patch applies to image runs (a vision model's run)\n");
        return 2;
    }
    const char * comma = strchr(s, ',');
    char r_s[32];
    if (!comma || (size_t)(comma - s) >= sizeof r_s) {
        fprintf(stderr, "gaze plot: --patch: expected ROW,COL, got '%s'\n", cli_safe(s));
        return 2;
    }
    memcpy(r_s, s, (size_t)(comma - s));
    r_s[comma - s] = 0;
    int64_t r, c;
    if (cli_int("plot", "--patch (row)", r_s, 0, run->grid_rows - 1, &r) ||
        cli_int("plot", "--patch (column)", comma + 1, 0, run->grid_cols - 1, &c))
        return 2;
    for (int64_t t = 0; t < run->T; t++)
        if (run->patch_rc[2 * t] == r && run->patch_rc[2 * t + 1] == c) { *query = t; return 0; }
    fprintf(stderr, "gaze plot: --patch %lld,%lld: no such patch token\n", (long long)r, (long long)c);
    return 2;
}

enum gaze_status cli_clip_texts(struct gaze_model * model, struct gaze_run * run, const char * const * texts, int n,
                                const struct gaze_run_opts * image_opts, const char * image, bool quiet) {
    // every layer, head and row of each text's attention (the texts are short: at most the
    // model's positions, 77 for OpenAI's CLIP)
    const struct gaze_run_opts opts = { .parts = GAZE_RUN_PART_ATTN, .n_threads = image_opts->n_threads,
                                        .max_memory = image_opts->max_memory };
    run->texts = calloc((size_t)n, sizeof *run->texts);
    run->clip_logits = malloc((size_t)n * sizeof(float));
    const struct gaze_run ** tp = malloc((size_t)n * sizeof *tp);
    enum gaze_status s = run->texts && run->clip_logits && tp ? GAZE_OK : gaze_error(GAZE_ERR_NOMEM, "gaze run: out of memory");
    for (int j = 0; !s && j < n; j++) {
        s = gaze_model_run(model, texts[j], NULL, &opts, &run->texts[j]);
        if (!s) run->n_texts = j + 1;
        tp[j] = &run->texts[j];
    }
    if (!s) s = gaze_clip_similarity(model, run, tp, n, run->clip_logits, NULL, NULL);
    if (!s && image) {
        // the image re-run with each vision head zeroed, once for all the texts
        const int64_t L = gaze_model_info(model)->n_layers, H = gaze_model_info(model)->n_heads;
        const double t0 = cli_now();
        if (!quiet)
            fprintf(stderr, "gaze run: ablating each of the %lld x %lld vision heads for the texts' rollout (%lld forward "
                    "passes; --no-head-drops skips this)\n", (long long)L, (long long)H, (long long)(L * H + 1));
        struct gaze_image img;
        double * d = malloc((size_t)(n * L * H) * sizeof *d);
        run->clip_head_drops = malloc((size_t)(n * L * H) * sizeof *run->clip_head_drops);
        if (!d || !run->clip_head_drops) s = gaze_error(GAZE_ERR_NOMEM, "gaze run: out of memory");
        else if (!(s = gaze_image_load(&img, image, 0))) {
            s = gaze_clip_head_drops_n(model, &img, image_opts, tp, n, NULL, d);
            gaze_image_free(&img);
        }
        for (int64_t k = 0; !s && k < n * L * H; k++) run->clip_head_drops[k] = (float)d[k];
        free(d);
        if (!s && !quiet) fprintf(stderr, "gaze run: head drops measured in %.1f s\n", cli_now() - t0);
    }
    free(tp);
    return s;
}

void cli_print_clip(const struct gaze_run * run) {
    const bool sig = gaze_clip_run_sigmoid(run);   // SigLIP: each pair scored alone
    if (sig)
        printf("  image-text similarity (logits_per_image = exp(logit_scale) x cosine + logit_bias; sigmoid of each, "
               "as SigLIP):\n");
    else
        printf("  image-text similarity (logits_per_image = exp(logit_scale) x cosine; softmax over the %lld text%s):\n",
               (long long)run->n_texts, run->n_texts == 1 ? "" : "s");
    for (int64_t j = 0; j < run->n_texts; j++) {
        printf("    %9.4f  %6.4f  %lld tokens  \"", (double)run->clip_logits[j], gaze_clip_probability(run, j),
               (long long)run->texts[j].T);
        gaze_term_fputs(stdout, run->texts[j].text);
        printf("\"\n");
    }
}

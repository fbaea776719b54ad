// gaze plot: figures (PNG, SVG, PDF) of a saved run or a live model: heatmap, model view,
// head view, bar strip; palettes, log scale, special-token hiding, word aggregation,
// differences between two runs.
#include "cli.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Sanitizer builds: fontconfig (under cairo's text) keeps its caches until exit, which
// LeakSanitizer reports as leaks; they are not ours. LSan reads this hook from the program.
const char * __lsan_default_suppressions(void);
const char * __lsan_default_suppressions(void) { return "leak:libfontconfig\n"; }

static int usage(FILE * f) {
    fprintf(f,
            "usage: gaze plot RUN.safetensors -o OUT.{png,svg,pdf} [flags]\n"
            "       gaze plot MODEL \"text\" | MODEL -f FILE|- -o OUT.{png,svg,pdf} [--pair \"B\"] [--exact] [flags]\n"
            "       gaze plot VISION-MODEL IMAGE.png|.jpg -o OUT.{png,svg,pdf} --kind image|... [flags]\n"
            "  -o, --out FILE      the figure to write; .png, .svg or .pdf (required)\n"
            "  -f FILE             read the text from FILE ('-': standard input)\n"
            "  --pair \"B\"          encoders: the second sentence of a pair (default: none)\n"
            "  --exact             quantized models: f32-dequantized weights (default: quantized arithmetic)\n"
            "  --image-size WxH    vision models given an image: resize it to W x H (multiples of the patch\n"
            "                      size) and interpolate the position embeddings, as gaze run\n"
            "  --kind heatmap|model|head|bars|image|image-patch|image-rollout|distance|clip\n"
            "                      heatmap: one head or the mean/max over heads; model: layers x heads\n"
            "                      thumbnails; head: lines from queries (left) to keys (right), one colour a\n"
            "                      head; bars: one query's attention (default: heatmap). Image runs (vision\n"
            "                      models): image: [CLS] (or --query) attention of each head over the image\n"
            "                      (models without [CLS], as SigLIP: the mean over every query);\n"
            "                      image-patch: one patch's attention (--patch R,C; default: the centre);\n"
            "                      image-rollout: rollout from [CLS]; distance: mean attention distance of\n"
            "                      each head against depth (ViT paper, fig. 7); clip: a saved CLIP/SigLIP run\n"
            "                      with texts (gaze run CLIP IMAGE --text ... -o RUN): the image's [CLS]\n"
            "                      attention and plain rollout, then per text the image tower's rollout with\n"
            "                      the heads weighted by the saved drops of its logit (ablation-weighted), the\n"
            "                      logit and its probability (CLIP: softmax over the texts; SigLIP: sigmoid\n"
            "                      of each) and the pooled token's attention over the text\n"
            "  --kind encoder|decoder|cross\n"
            "                      encoder-decoder runs: which attention to draw (given beside the figure's\n"
            "                      --kind; default: encoder); cross is drawn as the alignment figure\n"
            "  --kind alignment    encoder-decoder runs: target (rows) x source (columns) cross-attention of a\n"
            "                      layer, mean over heads or --head H, --words to merge pieces, labelled axes\n"
            "  --patch R,C         image-patch: the query patch by grid row and column\n"
            "  --layer L           layer drawn (default: the last captured layer; every layer for --kind\n"
            "                      model)\n"
            "  --head H|mean|max   one head, or the mean or max over heads (default: mean)\n"
            "  --heads 0,3,5       heads drawn by --kind head / model (default: every captured head)\n"
            "  --query I           bars: the query token (default: the last non-special token)\n"
            "  --palette viridis|cividis|magma|diverging\n"
            "                      colour map (default: viridis; diverging with --diff)\n"
            "  --log               logarithmic colour scale (default: linear)\n"
            "  --vmax V            value mapped to the top colour, > 0 (default: the maximum drawn)\n"
            "  --hide-special      leave out special tokens ([CLS], [SEP], <s>, ...) (default: shown)\n"
            "  --words             merge subword tokens into words (default: tokens)\n"
            "  --diff OTHER        draw this run minus OTHER, a run with the same tokens (diverging palette)\n"
            "  --title T           figure title (default: \"model · layer L · head H\")\n"
            "  --width W           size for print: 3.25in (one column), 6.75in (two), or pt, cm, mm; the\n"
            "                      figure is scaled to W, text kept at >= %.0f pt (token labels thinned,\n"
            "                      titles wrapped) (default: natural size, one pixel a point)\n"
            "  --dpi N             PNG pixels per inch, 36..2400 (default: 300 with --width, else 72)\n"
            "  --max-px N          cap on each side in pixels (points for SVG/PDF), 200..%d (default: the\n"
            "                      largest); longer inputs are drawn in blocks, and the figure says so\n"
            "  Masked cells (a decoder's keys after the query) are grey and hatched; lines mark the\n"
            "  prompt | generated and sentence A | B boundaries. A head view of more than 6 heads shows\n"
            "  the 6 with most attention off token 0 (from --query when given) unless --heads.\n"
            "  --diff pairs layers and heads by position when the two runs captured different ones.\n",
            GAZE_PLOT_MIN_FONT_PT, GAZE_PLOT_MAX_PX);
    return f == stdout ? 0 : 2;
}


int cmd_plot(int argc, char ** argv) {
    const char * src = NULL, * text = NULL, * pair = NULL, * out = NULL, * head_s = NULL, * heads_s = NULL;
    const char * diff = NULL, * file = NULL, * patch_s = NULL;
    bool exact = false;
    int attn_kind = -1;   // enum gaze_kind of an encoder-decoder run; -1: its encoder
    int64_t layer = -1, query = -1, max_px = 0, image_w = 0, image_h = 0;
    struct gaze_plot_opts o = gaze_plot_opts_make();
    for (int i = 1; i < argc; i++) {
        const char * a = argv[i], * v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage(stdout);
        bool takes = !strcmp(a, "-o") || !strcmp(a, "--out") || !strcmp(a, "--kind") || !strcmp(a, "--layer") ||
                     !strcmp(a, "--head") || !strcmp(a, "--heads") || !strcmp(a, "--query") || !strcmp(a, "--palette") ||
                     !strcmp(a, "--vmax") || !strcmp(a, "--diff") || !strcmp(a, "--title") || !strcmp(a, "--max-px") ||
                     !strcmp(a, "--pair") || !strcmp(a, "-f") || !strcmp(a, "--width") || !strcmp(a, "--dpi") ||
                     !strcmp(a, "--patch") || !strcmp(a, "--image-size");
        if (takes && !v) { fprintf(stderr, "gaze plot: %s needs a value\n", a); return usage(stderr); }
        if (!strcmp(a, "-o") || !strcmp(a, "--out")) out = v;
        else if (!strcmp(a, "--image-size")) { if (cli_image_size("plot", v, &image_w, &image_h)) return 2; }
        else if (!strcmp(a, "-f")) file = v;
        else if (!strcmp(a, "--patch")) patch_s = v;
        else if (!strcmp(a, "--kind")) {
            enum gaze_kind ak;
            if (gaze_kind_parse(v, &ak)) {
                if (attn_kind >= 0 && attn_kind != (int)ak) { fprintf(stderr, "gaze plot: --kind %s and --kind %s: choose one attention kind\n", gaze_kind_name((enum gaze_kind)attn_kind), v); return 2; }
                attn_kind = (int)ak;
            } else if (!gaze_plot_kind_from_name(v, &o.kind)) {
                fprintf(stderr, "gaze plot: --kind: '%s' is not a figure (heatmap, model, head, bars, alignment, image, "
                        "image-patch, image-rollout, distance, clip) or an attention kind (encoder, decoder, cross)\n", cli_safe(v));
                return 2;
            }
        } else if (!strcmp(a, "--layer")) {
            if (cli_int("plot", a, v, 0, GAZE_RUN_MAX_LAYERS - 1, &layer)) return 2;
        } else if (!strcmp(a, "--head")) head_s = v;
        else if (!strcmp(a, "--heads")) heads_s = v;
        else if (!strcmp(a, "--query")) {
            if (cli_int("plot", a, v, 0, INT64_MAX / 2, &query)) return 2;
        } else if (!strcmp(a, "--palette")) {
            if (!gaze_palette_from_name(v, &o.palette)) { fprintf(stderr, "gaze plot: --palette: '%s' is not viridis, cividis, magma or diverging\n", v); return 2; }
        } else if (!strcmp(a, "--vmax")) {
            if (cli_float("plot", a, v, 0, INFINITY, CLI_OPEN_LO, &o.vmax)) return 2;
        } else if (!strcmp(a, "--diff")) diff = v;
        else if (!strcmp(a, "--title")) o.title = v;
        else if (!strcmp(a, "--max-px")) {
            if (cli_int("plot", a, v, 200, GAZE_PLOT_MAX_PX, &max_px)) return 2;
        } else if (!strcmp(a, "--width")) {
            if (cli_length_pt("plot", a, v, &o.width_pt)) return 2;
        } else if (!strcmp(a, "--dpi")) {
            if (cli_double("plot", a, v, 36, 2400, 0, &o.dpi)) return 2;
        } else if (!strcmp(a, "--pair")) pair = v;
        else if (!strcmp(a, "--log")) o.log_scale = true;
        else if (!strcmp(a, "--hide-special")) o.hide_special = true;
        else if (!strcmp(a, "--words")) o.words = true;
        else if (!strcmp(a, "--exact")) exact = true;
        else if (a[0] == '-' && a[1]) { fprintf(stderr, "gaze plot: unknown flag '%s'\n", a); return usage(stderr); }
        else if (!src) src = a;
        else if (!text) text = a;
        else { fprintf(stderr, "gaze plot: unexpected argument '%s'\n", a); return usage(stderr); }
        if (takes) i++;
    }
    if (!src) return usage(stderr);
    if (!out) { fprintf(stderr, "gaze plot: give the output file with -o OUT.png|svg|pdf\n"); return 2; }
    if (gaze_plot_format_from_path(out) == GAZE_PLOT_FORMAT_AUTO) {
        fprintf(stderr, "gaze plot: %s: the output must end in .png, .svg or .pdf\n", out);
        return 2;
    }
    if (cli_output_check("plot", out)) return 1;
    if (o.dpi > 0 && gaze_plot_format_from_path(out) != GAZE_PLOT_FORMAT_PNG) {
        fprintf(stderr, "gaze plot: --dpi applies to PNG output; %s is sized by --width alone\n", out);
        return 2;
    }
    o.layer = layer;
    o.query = query;
    o.max_px = (int)max_px;
    if (head_s) {
        int64_t h;
        if (!strcmp(head_s, "mean")) o.head_mode = GAZE_PLOT_HEADS_MEAN;
        else if (!strcmp(head_s, "max")) o.head_mode = GAZE_PLOT_HEADS_MAX;
        else if (!cli_int("plot", "--head", head_s, 0, GAZE_RUN_MAX_HEADS - 1, &h)) { o.head_mode = GAZE_PLOT_HEADS_ONE; o.head = h; }
        else { fprintf(stderr, "gaze plot: --head takes one head number, mean or max\n"); return 2; }
    }

    struct gaze_run run, other;
    gaze_run_init(&run);
    gaze_run_init(&other);
    enum gaze_status s;
    int rc = 0;
    int64_t * heads = NULL;
    char * text_buf = NULL;
    if (cli_text_source("plot", file, &text, &text_buf)) return 2;
    if (cli_image_size_applies("plot", image_w, text && cli_is_image_path(text))) { free(text_buf); return 2; }
    if (!text) {
        if ((rc = cli_need_run_file("plot", src))) return rc;
        if (pair || exact) {
            fprintf(stderr, "gaze plot: %s applies to a model run (MODEL \"text\"), not to a saved run\n", pair ? "--pair" : "--exact");
            return 2;
        }
        if ((s = gaze_run_load(&run, src))) return cli_fail(s);
        if ((rc = cli_summary_blocks("plot", &run, 128))) { gaze_run_free(&run); return rc; }
    } else {
        struct gaze_model * model = NULL;
        if ((s = gaze_model_load(&model, src))) { free(text_buf); return cli_fail(s); }
        if (exact && (s = gaze_model_set_exact(model, true))) { gaze_model_free(model); free(text_buf); return cli_fail(s); }
        // capture only the layer drawn (the last one unless --layer), every layer for the model view
        struct gaze_run_opts ropts = { 0 };
        int64_t one = layer >= 0 ? layer : gaze_model_info(model)->n_layers - 1;
        if (one >= gaze_model_info(model)->n_layers) {
            fprintf(stderr, "gaze plot: --layer %lld: the model has %lld layers\n", (long long)layer, (long long)gaze_model_info(model)->n_layers);
            gaze_model_free(model);
            free(text_buf);
            return 2;
        }
        const bool all = o.kind == GAZE_PLOT_KIND_MODEL || o.kind == GAZE_PLOT_KIND_IMAGE_ROLLOUT || o.kind == GAZE_PLOT_KIND_DISTANCE;
        if (!all || layer >= 0) { ropts.layers = &one; ropts.n_layers = 1; }
        ropts.image_w = image_w;
        ropts.image_h = image_h;
        // vision models: the "text" is an image file
        s = gaze_model_info(model)->vision ? cli_run_image(model, text, &ropts, &run, true)
                                           : gaze_model_run(model, text, pair, &ropts, &run);
        gaze_model_free(model);
        free(text_buf);
        if (s) return cli_fail(s);
    }
    if (o.kind == GAZE_PLOT_KIND_ALIGNMENT) {   // the figure of cross-attention
        if (attn_kind >= 0 && attn_kind != GAZE_KIND_CROSS) {
            fprintf(stderr, "gaze plot: --kind alignment draws cross-attention, not %s attention\n", gaze_kind_name((enum gaze_kind)attn_kind));
            rc = 2;
            goto done;
        }
        attn_kind = GAZE_KIND_CROSS;
    }
    if ((rc = cli_select_kind("plot", &run, attn_kind, false))) goto done;
    if (patch_s && (rc = cli_patch_query(&run, patch_s, &o.query))) goto done;
    if (heads_s) {
        if ((rc = cli_parse_index_list("--heads", heads_s, run.n_heads > 0 ? run.n_heads : GAZE_RUN_MAX_HEADS, &heads, &o.n_heads))) goto done;
        o.heads = heads;
    }
    if (diff) {
        if ((s = gaze_run_load(&other, diff))) { rc = cli_fail(s); goto done; }
        if ((rc = cli_select_kind("plot", &other, attn_kind, true))) goto done;
        o.minus = &other;
    }
    struct gaze_plot_info info;
    if ((s = gaze_plot_run(&run, out, &o, &info))) {
        // option mistakes (head or layer not captured, ...) are usage errors
        rc = cli_fail_cmd("plot", s == GAZE_ERR_INVALID_ARG ? 2 : 1);
        goto done;
    }
    printf("wrote %s (%d x %d%s", cli_safe(out), info.width, info.height, gaze_plot_format_from_path(out) == GAZE_PLOT_FORMAT_PNG ? " px" : " pt");
    if (info.block_q > 1 || info.block_k > 1)
        printf("; long input drawn in blocks of %lld", (long long)(info.block_q > info.block_k ? info.block_q : info.block_k));
    if (o.width_pt > 0) printf("; %.2f in wide", o.width_pt / 72);
    if (o.width_pt > 0 || o.dpi > 0)
        if (gaze_plot_format_from_path(out) == GAZE_PLOT_FORMAT_PNG) printf(" at %g dpi", o.dpi > 0 ? o.dpi : 300);
    if (info.label_every > 1) printf("; every %lld%s token label shown", (long long)info.label_every, info.label_every == 2 ? "nd" : info.label_every == 3 ? "rd" : "th");
    printf(")\n");
    if (info.note[0]) fprintf(stderr, "gaze plot: %s\n", info.note);
done:
    free(heads);
    gaze_run_free(&run);
    gaze_run_free(&other);
    return rc;
}

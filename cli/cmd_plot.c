// gaze plot: figures (PNG, SVG, PDF) of a saved run or a live model: heatmap, model view,
// head view, bar strip; palettes, log scale, special-token hiding, word aggregation,
// differences between two runs.
#include "cli.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

// Sanitizer builds: fontconfig (under cairo's text) keeps its caches until exit, which
// LeakSanitizer reports as leaks; they are not ours. LSan reads this hook from the program.
const char * __lsan_default_suppressions(void);
const char * __lsan_default_suppressions(void) { return "leak:libfontconfig\n"; }

static int usage(void) {
    fprintf(stderr,
            "usage: gaze plot RUN.safetensors -o OUT.{png,svg,pdf} [flags]\n"
            "       gaze plot MODEL \"text\" -o OUT.{png,svg,pdf} [--pair \"B\"] [--exact] [flags]\n"
            "flags: [--kind heatmap|model|head|bars] [--layer L] [--head H|mean|max] [--heads 0,3,5]\n"
            "       [--query I] [--palette viridis|cividis|magma|diverging] [--log] [--vmax V]\n"
            "       [--hide-special] [--words] [--diff OTHER.safetensors] [--title T] [--max-px N]\n"
            "       [--width 3.25in|6.75in|234pt|8cm] [--dpi N]\n"
            "  heatmap: one head or the mean/max over heads; model: layers x heads thumbnails;\n"
            "  head: lines from queries (left) to keys (right), one colour a head; bars: one query's\n"
            "  attention (default: the last non-special token). --diff: this run minus another run\n"
            "  with the same token count and captured rows (diverging palette; this run's labels; layers\n"
            "  and heads paired by position when the two runs captured different ones).\n"
            "  Masked cells (a decoder's keys after the query) are grey and hatched; lines mark the\n"
            "  prompt | generated and sentence A | B boundaries. A head view of more than 6 heads shows\n"
            "  the 6 with most attention off token 0 (from --query when given) unless --heads.\n"
            "  --width: size for print (one column 3.25in, two 6.75in; units in, pt, cm, mm): the figure is\n"
            "  scaled to that width, text kept at %.0f pt or more (token labels thinned, titles wrapped);\n"
            "  --dpi: PNG pixels per inch (default 300 with --width, else one pixel a point).\n", GAZE_PLOT_MIN_FONT_PT);
    return 2;
}

static bool is_run_file(const char * path) {
    struct stat sb;
    size_t n = strlen(path);
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && n > 12 && !strcmp(path + n - 12, ".safetensors");
}

// Whole decimal integer in [lo, hi], else false.
static bool parse_int(const char * s, long long lo, long long hi, long long * out) {
    char * end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi) return false;
    *out = v;
    return true;
}

// A length with its unit (3.25in, 234pt, 8cm, 80mm) in points, within 0.5 in .. 100 in.
static bool parse_length_pt(const char * s, double * out) {
    char * end;
    errno = 0;
    const double v = strtod(s, &end);
    double k = 0;
    if (!strcmp(end, "in")) k = 72;
    else if (!strcmp(end, "pt")) k = 1;
    else if (!strcmp(end, "cm")) k = 72 / 2.54;
    else if (!strcmp(end, "mm")) k = 72 / 25.4;
    if (end == s || errno || !k || !(v * k >= 36 && v * k <= 7200)) return false;
    *out = v * k;
    return true;
}

int cmd_plot(int argc, char ** argv) {
    const char * src = NULL, * text = NULL, * pair = NULL, * out = NULL, * head_s = NULL, * heads_s = NULL;
    const char * diff = NULL;
    bool exact = false;
    long long layer = -1, query = -1, max_px = 0;
    struct gaze_plot_opts o = gaze_plot_opts_make();
    for (int i = 1; i < argc; i++) {
        const char * a = argv[i], * v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage();
        bool takes = !strcmp(a, "-o") || !strcmp(a, "--out") || !strcmp(a, "--kind") || !strcmp(a, "--layer") ||
                     !strcmp(a, "--head") || !strcmp(a, "--heads") || !strcmp(a, "--query") || !strcmp(a, "--palette") ||
                     !strcmp(a, "--vmax") || !strcmp(a, "--diff") || !strcmp(a, "--title") || !strcmp(a, "--max-px") ||
                     !strcmp(a, "--pair") || !strcmp(a, "--width") || !strcmp(a, "--dpi");
        if (takes && !v) { fprintf(stderr, "gaze plot: %s needs a value\n", a); return usage(); }
        if (!strcmp(a, "-o") || !strcmp(a, "--out")) out = v;
        else if (!strcmp(a, "--kind")) {
            if (!gaze_plot_kind_from_name(v, &o.kind)) { fprintf(stderr, "gaze plot: --kind: '%s' is not heatmap, model, head or bars\n", v); return 2; }
        } else if (!strcmp(a, "--layer")) {
            if (!parse_int(v, 0, GAZE_RUN_MAX_LAYERS - 1, &layer)) { fprintf(stderr, "gaze plot: --layer: '%s' is not a layer number\n", v); return 2; }
        } else if (!strcmp(a, "--head")) head_s = v;
        else if (!strcmp(a, "--heads")) heads_s = v;
        else if (!strcmp(a, "--query")) {
            if (!parse_int(v, 0, INT64_MAX / 2, &query)) { fprintf(stderr, "gaze plot: --query: '%s' is not a token index\n", v); return 2; }
        } else if (!strcmp(a, "--palette")) {
            if (!gaze_palette_from_name(v, &o.palette)) { fprintf(stderr, "gaze plot: --palette: '%s' is not viridis, cividis, magma or diverging\n", v); return 2; }
        } else if (!strcmp(a, "--vmax")) {
            char * end;
            o.vmax = strtof(v, &end);
            if (end == v || *end || !(o.vmax > 0) || o.vmax > 1e30f) { fprintf(stderr, "gaze plot: --vmax: '%s' is not a positive number\n", v); return 2; }
        } else if (!strcmp(a, "--diff")) diff = v;
        else if (!strcmp(a, "--title")) o.title = v;
        else if (!strcmp(a, "--max-px")) {
            if (!parse_int(v, 200, GAZE_PLOT_MAX_PX, &max_px)) { fprintf(stderr, "gaze plot: --max-px: '%s' is not in 200..%d\n", v, GAZE_PLOT_MAX_PX); return 2; }
        } else if (!strcmp(a, "--width")) {
            if (!parse_length_pt(v, &o.width_pt)) { fprintf(stderr, "gaze plot: --width: '%s' is not a width such as 3.25in, 6.75in, 234pt or 8cm (0.5in .. 100in)\n", v); return 2; }
        } else if (!strcmp(a, "--dpi")) {
            char * end;
            errno = 0;
            o.dpi = strtod(v, &end);
            if (end == v || *end || errno || !(o.dpi >= 36 && o.dpi <= 2400)) { fprintf(stderr, "gaze plot: --dpi: '%s' is not in 36..2400\n", v); return 2; }
        } else if (!strcmp(a, "--pair")) pair = v;
        else if (!strcmp(a, "--log")) o.log_scale = true;
        else if (!strcmp(a, "--hide-special")) o.hide_special = true;
        else if (!strcmp(a, "--words")) o.words = true;
        else if (!strcmp(a, "--exact")) exact = true;
        else if (a[0] == '-' && a[1]) { fprintf(stderr, "gaze plot: unknown flag '%s'\n", a); return usage(); }
        else if (!src) src = a;
        else if (!text) text = a;
        else { fprintf(stderr, "gaze plot: unexpected argument '%s'\n", a); return usage(); }
        if (takes) i++;
    }
    if (!src) return usage();
    if (!out) { fprintf(stderr, "gaze plot: give the output file with -o OUT.png|svg|pdf\n"); return 2; }
    if (gaze_plot_format_from_path(out) == GAZE_PLOT_FORMAT_AUTO) {
        fprintf(stderr, "gaze plot: %s: the output must end in .png, .svg or .pdf\n", out);
        return 2;
    }
    if (o.dpi > 0 && gaze_plot_format_from_path(out) != GAZE_PLOT_FORMAT_PNG) {
        fprintf(stderr, "gaze plot: --dpi applies to PNG output; %s is sized by --width alone\n", out);
        return 2;
    }
    o.layer = layer;
    o.query = query;
    o.max_px = (int)max_px;
    if (head_s) {
        long long h;
        if (!strcmp(head_s, "mean")) o.head_mode = GAZE_PLOT_HEADS_MEAN;
        else if (!strcmp(head_s, "max")) o.head_mode = GAZE_PLOT_HEADS_MAX;
        else if (parse_int(head_s, 0, GAZE_RUN_MAX_HEADS - 1, &h)) { o.head_mode = GAZE_PLOT_HEADS_ONE; o.head = h; }
        else { fprintf(stderr, "gaze plot: --head: '%s' is not a head number, mean or max\n", head_s); return 2; }
    }

    struct gaze_run run, other;
    gaze_run_init(&run);
    gaze_run_init(&other);
    enum gaze_status s;
    int rc = 0;
    int64_t * heads = NULL;
    if (!text && is_run_file(src)) {
        if ((s = gaze_run_load(&run, src))) return cli_fail(s);
    } else {
        if (!text) { fprintf(stderr, "gaze plot: %s is not a run file; give MODEL \"text\"\n", src); return 2; }
        struct gaze_model * model = NULL;
        if ((s = gaze_model_load(&model, src))) return cli_fail(s);
        if (exact && (s = gaze_model_set_exact(model, true))) { gaze_model_free(model); return cli_fail(s); }
        // capture only the layer drawn (the last one unless --layer), every layer for the model view
        struct gaze_run_opts ropts = { 0 };
        int64_t one = layer >= 0 ? layer : gaze_model_info(model)->n_layers - 1;
        if (one >= gaze_model_info(model)->n_layers) {
            fprintf(stderr, "gaze plot: --layer %lld: the model has %lld layers\n", layer, (long long)gaze_model_info(model)->n_layers);
            gaze_model_free(model);
            return 2;
        }
        if (o.kind != GAZE_PLOT_KIND_MODEL || layer >= 0) { ropts.layers = &one; ropts.n_layers = 1; }
        s = gaze_model_run(model, text, pair, &ropts, &run);
        gaze_model_free(model);
        if (s) return cli_fail(s);
    }
    if (heads_s) {
        if ((rc = cli_parse_index_list("--heads", heads_s, run.n_heads > 0 ? run.n_heads : GAZE_RUN_MAX_HEADS, &heads, &o.n_heads))) goto done;
        o.heads = heads;
    }
    if (diff) {
        if ((s = gaze_run_load(&other, diff))) { rc = cli_fail(s); goto done; }
        o.minus = &other;
    }
    struct gaze_plot_info info;
    if ((s = gaze_plot_run(&run, out, &o, &info))) {
        // option mistakes (head or layer not captured, ...) are usage errors
        fprintf(stderr, "gaze plot: %s\n", gaze_last_error());
        rc = s == GAZE_ERR_INVALID_ARG ? 2 : 1;
        goto done;
    }
    printf("wrote %s (%d x %d%s", out, info.width, info.height, gaze_plot_format_from_path(out) == GAZE_PLOT_FORMAT_PNG ? " px" : " pt");
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

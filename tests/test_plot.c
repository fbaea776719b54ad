// Figures (render/plot.c) of synthetic runs with known attention: pixels read back from the
// PNG at known cells (identity head: diagonal = the palette's top colour, the rest its
// bottom), head-view lines and bars where they must be; SVG that passes xmllint with hostile
// tokens (markup, quotes, &, U+2028, control characters, invalid UTF-8) as escaped <text>
// and nothing injected; text is real text (SVG <text>, PDF text through pdftotext) and CJK
// labels are real glyphs in the PNG; byte-identical output for the same input in every
// format; bad options refused without a crash; palettes.
#define _GNU_SOURCE   // memmem
#include "check.h"
#include "gaze.h"
#include <cairo.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_dir[256];

// Sanitizer builds: fontconfig's caches (under cairo's text) live until exit; not our leaks.
const char * __lsan_default_suppressions(void);
const char * __lsan_default_suppressions(void) { return "leak:libfontconfig\n"; }

struct png { unsigned char * p; size_t n, at; };

static cairo_status_t png_read(void * c, unsigned char * data, unsigned int n) {
    struct png * b = c;
    if (b->at + n > b->n) return CAIRO_STATUS_READ_ERROR;
    memcpy(data, b->p + b->at, n);
    b->at += n;
    return CAIRO_STATUS_SUCCESS;
}

// PNG bytes -> image surface (caller destroys); NULL when it does not decode.
static cairo_surface_t * decode_png(unsigned char * p, size_t n) {
    struct png b = { p, n, 0 };
    cairo_surface_t * s = cairo_image_surface_create_from_png_stream(png_read, &b);
    if (cairo_surface_status(s)) { cairo_surface_destroy(s); return NULL; }
    return s;
}

static void pixel(cairo_surface_t * s, double x, double y, unsigned char rgb[3]) {
    cairo_surface_flush(s);
    const int xi = (int)x, yi = (int)y;
    if (xi < 0 || yi < 0 || xi >= cairo_image_surface_get_width(s) || yi >= cairo_image_surface_get_height(s)) {
        rgb[0] = rgb[1] = rgb[2] = 0xEE;   // outside: a colour no test expects
        return;
    }
    const uint32_t px = *(const uint32_t *)(cairo_image_surface_get_data(s) + (size_t)yi * (size_t)cairo_image_surface_get_stride(s) + 4 * (size_t)xi);
    rgb[0] = (unsigned char)(px >> 16);
    rgb[1] = (unsigned char)(px >> 8);
    rgb[2] = (unsigned char)px;
}

static bool same_rgb(const unsigned char a[3], const unsigned char b[3]) { return !memcmp(a, b, 3); }

// T tokens, heads 0 and 1 captured at layer 0 (2 layers in the model): head 0 identity,
// head 1 uniform; sequence ids -1 on the first and last token when specials.
static void make_run(struct gaze_run * r, int64_t T, const char * const * tokens, bool specials, const char * arch) {
    gaze_run_init(r);
    r->model = strdup("/models/synthetic");
    r->arch = strdup(arch);
    r->n_layers = 2;
    r->n_heads = 2;
    r->n_kv_heads = 2;
    int32_t * ids = malloc((size_t)T * sizeof *ids);
    const char ** tok = malloc((size_t)T * sizeof *tok);
    char (*buf)[24] = malloc((size_t)T * sizeof *buf);
    for (int64_t i = 0; i < T; i++) {
        ids[i] = (int32_t)(100 + i);
        if (tokens) tok[i] = tokens[i];
        else { snprintf(buf[i], sizeof buf[i], "t%lld", (long long)i); tok[i] = buf[i]; }
    }
    CHECK(gaze_run_set_tokens(r, T, tok, NULL, ids, NULL) == GAZE_OK, "tokens: %s", gaze_last_error());
    free(ids); free(tok); free(buf);
    if (specials) {
        r->sequence_ids = calloc((size_t)T, 1);
        r->sequence_ids[0] = r->sequence_ids[T - 1] = -1;
    }
    CHECK(gaze_run_set_capture(r, NULL, 2, NULL, T) == GAZE_OK, "capture: %s", gaze_last_error());
    struct gaze_run_layer * l;
    CHECK(gaze_run_add_layer(r, 0, GAZE_RUN_PART_ATTN, &l) == GAZE_OK, "layer: %s", gaze_last_error());
    for (int64_t i = 0; i < T; i++)
        for (int64_t j = 0; j < T; j++) {
            l->attn[i * T + j] = i == j ? 1.0f : 0.0f;
            l->attn[(T + i) * T + j] = 1.0f / (float)T;
        }
}

static enum gaze_status render(const struct gaze_run * r, struct gaze_plot_opts o, enum gaze_plot_format fmt,
                               unsigned char ** out, size_t * n, struct gaze_plot_info * info) {
    o.format = fmt;
    return gaze_plot_run_buffer(r, &o, out, n, info);
}

// Renders a heatmap PNG and checks every cell's centre against want(i, j).
static void check_cells(const char * what, const struct gaze_run * r, struct gaze_plot_opts o,
                        void (*want)(int64_t i, int64_t j, unsigned char rgb[3]), int64_t n_rows) {
    unsigned char * png = NULL;
    size_t n = 0;
    struct gaze_plot_info info;
    enum gaze_status s = render(r, o, GAZE_PLOT_FORMAT_PNG, &png, &n, &info);
    CHECK(s == GAZE_OK, "%s: render: %s", what, gaze_last_error());
    if (s) return;
    CHECK(n > 8 && !memcmp(png, "\x89PNG\r\n\x1a\n", 8), "%s: PNG signature", what);
    cairo_surface_t * img = decode_png(png, n);
    CHECK(img != NULL, "%s: PNG decodes", what);
    CHECK(info.rows == n_rows && info.cols == n_rows && info.block_q == 1, "%s: %lld x %lld cells (want %lld)", what,
          (long long)info.rows, (long long)info.cols, (long long)n_rows);
    CHECK(img && cairo_image_surface_get_width(img) == info.width && cairo_image_surface_get_height(img) == info.height,
          "%s: size matches info", what);
    int bad = 0;
    for (int64_t i = 0; img && i < info.rows; i++)
        for (int64_t j = 0; j < info.cols; j++) {
            unsigned char got[3], exp[3];
            pixel(img, info.grid_x + (j + 0.5) * info.cell_w, info.grid_y + (i + 0.5) * info.cell_h, got);
            want(i, j, exp);
            if (!same_rgb(got, exp) && bad++ < 4)
                fprintf(stderr, "  %s cell (%lld, %lld): got %d,%d,%d want %d,%d,%d\n", what, (long long)i, (long long)j,
                        got[0], got[1], got[2], exp[0], exp[1], exp[2]);
        }
    CHECK(bad == 0, "%s: %d cells with the wrong colour", what, bad);
    if (img) cairo_surface_destroy(img);
    free(png);
}

static enum gaze_palette g_pal;
static void want_identity(int64_t i, int64_t j, unsigned char rgb[3]) { gaze_palette_rgb(g_pal, i == j ? 1.0f : 0.0f, rgb); }
static void want_mean(int64_t i, int64_t j, unsigned char rgb[3]) {
    // mean of identity and uniform over 6: diagonal 7/12 (the maximum), elsewhere 1/12
    gaze_palette_rgb(GAZE_PALETTE_VIRIDIS, i == j ? 1.0f : (1.0f / 12) / (7.0f / 12), rgb);
}
static void want_diff(int64_t i, int64_t j, unsigned char rgb[3]) {
    // identity minus uniform over 6: diagonal +5/6 (the half-range), elsewhere -1/6
    const float v = i == j ? 5.0f / 6 : -1.0f / 6, vmax = 5.0f / 6;
    gaze_palette_rgb(GAZE_PALETTE_DIVERGING, 0.5f + 0.5f * (v / vmax), rgb);
}

static void test_heatmap_pixels(void) {
    struct gaze_run r;
    make_run(&r, 6, NULL, false, "bert");
    struct gaze_plot_opts o = gaze_plot_opts_make();
    o.head_mode = GAZE_PLOT_HEADS_ONE;
    o.head = 0;
    const enum gaze_palette pals[3] = { GAZE_PALETTE_VIRIDIS, GAZE_PALETTE_CIVIDIS, GAZE_PALETTE_MAGMA };
    for (int k = 0; k < 3; k++) {
        g_pal = o.palette = pals[k];
        char what[64];
        snprintf(what, sizeof what, "identity %s", gaze_palette_name(pals[k]));
        check_cells(what, &r, o, want_identity, 6);
    }
    o.palette = g_pal = GAZE_PALETTE_VIRIDIS;
    o.log_scale = true;
    check_cells("identity log", &r, o, want_identity, 6);
    o.log_scale = false;
    o.head_mode = GAZE_PLOT_HEADS_MEAN;
    check_cells("mean of identity and uniform", &r, o, want_mean, 6);
    o.head_mode = GAZE_PLOT_HEADS_ONE;

    // difference: identity minus a run whose head 0 is uniform
    struct gaze_run u;
    make_run(&u, 6, NULL, false, "bert");
    memcpy(u.layers[0].attn, u.layers[0].attn + 36, 36 * sizeof(float));
    o.minus = &u;
    check_cells("difference", &r, o, want_diff, 6);
    o.minus = NULL;
    gaze_run_free(&u);

    // hidden specials: 4 x 4 cells, identity stays identity
    struct gaze_run sp;
    const char * tok[6] = { "[CLS]", "play", "##ing", "ball", "##s", "[SEP]" };
    make_run(&sp, 6, tok, true, "bert");
    o.hide_special = true;
    check_cells("hidden specials", &sp, o, want_identity, 4);
    // words: playing, balls (specials hidden): identity stays identity on words
    o.words = true;
    check_cells("words", &sp, o, want_identity, 2);
    o.hide_special = false;
    check_cells("words with specials", &sp, o, want_identity, 4);
    gaze_run_free(&sp);
    gaze_run_free(&r);
}

static int xmllint(const unsigned char * p, size_t n, const char * name);

// A run that captured only some query rows (1 and 3 of 6): 2 x 6 cells, row r's one at key
// q_rows[r].
static void test_subset_rows(void) {
    struct gaze_run r;
    gaze_run_init(&r);
    r.model = strdup("m");
    r.arch = strdup("llama");
    r.n_layers = 1;
    r.n_heads = 1;
    r.n_kv_heads = 1;
    const char * tok[6] = { "a", " b", " c", " d", " e", " f" };
    const int32_t ids[6] = { 1, 2, 3, 4, 5, 6 };
    const int64_t rows[2] = { 1, 3 };
    struct gaze_run_layer * l = NULL;
    CHECK(gaze_run_set_tokens(&r, 6, tok, NULL, ids, NULL) == GAZE_OK && gaze_run_set_capture(&r, NULL, 1, rows, 2) == GAZE_OK &&
          gaze_run_add_layer(&r, 0, GAZE_RUN_PART_ATTN, &l) == GAZE_OK, "subset run: %s", gaze_last_error());
    if (!l) { gaze_run_free(&r); return; }
    l->attn[0 * 6 + 1] = 1;
    l->attn[1 * 6 + 3] = 1;
    struct gaze_plot_opts o = gaze_plot_opts_make();
    unsigned char * png = NULL;
    size_t n = 0;
    struct gaze_plot_info info;
    CHECK(render(&r, o, GAZE_PLOT_FORMAT_PNG, &png, &n, &info) == GAZE_OK, "subset rows: %s", gaze_last_error());
    CHECK(info.rows == 2 && info.cols == 6, "subset rows: %lld x %lld cells", (long long)info.rows, (long long)info.cols);
    cairo_surface_t * img = png ? decode_png(png, n) : NULL;
    if (img) {
        unsigned char got[3], top[3], bottom[3];
        gaze_palette_rgb(GAZE_PALETTE_VIRIDIS, 1, top);
        gaze_palette_rgb(GAZE_PALETTE_VIRIDIS, 0, bottom);
        int bad = 0;
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 6; j++) {
                pixel(img, info.grid_x + (j + 0.5) * info.cell_w, info.grid_y + (i + 0.5) * info.cell_h, got);
                bad += !same_rgb(got, j == rows[i] ? top : bottom);
            }
        CHECK(bad == 0, "subset rows: %d cells wrong", bad);
        cairo_surface_destroy(img);
    }
    free(png);
    o.kind = GAZE_PLOT_KIND_BARS;
    o.query = 2;   // token 2 has no captured row
    CHECK(render(&r, o, GAZE_PLOT_FORMAT_PNG, &png, &n, NULL) == GAZE_ERR_INVALID_ARG, "bars of an uncaptured row refused");
    o.query = 3;
    CHECK(render(&r, o, GAZE_PLOT_FORMAT_PNG, &png, &n, NULL) == GAZE_OK, "bars of captured row 3: %s", gaze_last_error());
    free(png);
    gaze_run_free(&r);
}

// Long inputs: blocks, and the figure stays under the cap.
static void test_long(void) {
    struct gaze_run r;
    make_run(&r, 700, NULL, false, "llama");
    struct gaze_plot_opts o = gaze_plot_opts_make();
    o.max_px = 600;
    const enum gaze_plot_kind kinds[4] = { GAZE_PLOT_KIND_HEATMAP, GAZE_PLOT_KIND_MODEL, GAZE_PLOT_KIND_HEAD, GAZE_PLOT_KIND_BARS };
    for (int k = 0; k < 4; k++) {
        o.kind = kinds[k];
        unsigned char * out = NULL;
        size_t n = 0;
        struct gaze_plot_info info;
        enum gaze_status s = render(&r, o, GAZE_PLOT_FORMAT_PNG, &out, &n, &info);
        CHECK(s == GAZE_OK, "long kind %d: %s", k, gaze_last_error());
        CHECK(s || (info.width <= 600 && info.height <= 600), "long kind %d: %d x %d within 600", k, info.width, info.height);
        CHECK(s || info.block_q > 1 || info.block_k > 1, "long kind %d: drawn in blocks", k);
        cairo_surface_t * img = s ? NULL : decode_png(out, n);
        CHECK(s || img, "long kind %d: PNG decodes", k);
        if (img) cairo_surface_destroy(img);
        free(out);
    }
    // SVG with cells embedded as images: still the same bytes twice in one process (cairo's
    // image and surface ids come from process-wide counters; the renderer renumbers them)
    o.kind = GAZE_PLOT_KIND_MODEL;
    unsigned char * a = NULL, * b = NULL;
    size_t na = 0, nb = 0;
    struct gaze_plot_info ia;
    CHECK(render(&r, o, GAZE_PLOT_FORMAT_SVG, &a, &na, &ia) == GAZE_OK && render(&r, o, GAZE_PLOT_FORMAT_SVG, &b, &nb, NULL) == GAZE_OK,
          "long model view SVG: %s", gaze_last_error());
    CHECK(ia.embedded_image, "700 tokens: cells embedded as images in SVG");
    CHECK(na > 0 && na == nb && !memcmp(a, b, na), "long model view SVG: two renders differ");
    CHECK(a && xmllint(a, na, "long.svg") == 0, "long model view SVG passes xmllint");
    free(a);
    free(b);
    // the default cap (16384) with 700 tokens: full resolution heatmap
    o = gaze_plot_opts_make();
    unsigned char * out = NULL;
    size_t n = 0;
    struct gaze_plot_info info;
    CHECK(render(&r, o, GAZE_PLOT_FORMAT_PNG, &out, &n, &info) == GAZE_OK, "700 tokens: %s", gaze_last_error());
    CHECK(info.block_q == 1 && info.width <= GAZE_PLOT_MAX_PX && info.height <= GAZE_PLOT_MAX_PX, "700 tokens at full resolution");
    free(out);
    gaze_run_free(&r);
}

static void test_head_view_and_bars(void) {
    struct gaze_run r;
    make_run(&r, 6, NULL, false, "bert");
    struct gaze_plot_opts o = gaze_plot_opts_make();
    o.kind = GAZE_PLOT_KIND_HEAD;
    o.head_mode = GAZE_PLOT_HEADS_ONE;
    o.head = 0;
    o.query = 2;
    unsigned char * png = NULL;
    size_t n = 0;
    struct gaze_plot_info info;
    CHECK(render(&r, o, GAZE_PLOT_FORMAT_PNG, &png, &n, &info) == GAZE_OK, "head view: %s", gaze_last_error());
    cairo_surface_t * img = png ? decode_png(png, n) : NULL;
    CHECK(img != NULL, "head view PNG");
    if (img) {
        // identity, one head: a horizontal line of head 0's colour at row 2, none at row 3
        unsigned char got[3], head0[3], white[3] = { 255, 255, 255 };
        gaze_head_rgb(0, head0);
        const double mid = info.grid_x + info.cell_w / 2;
        pixel(img, mid, info.grid_y + 2.5 * info.cell_h, got);
        CHECK(same_rgb(got, head0), "line of query 2: got %d,%d,%d", got[0], got[1], got[2]);
        pixel(img, mid, info.grid_y + 3.5 * info.cell_h, got);
        CHECK(same_rgb(got, white), "no line of query 3 (query filter): got %d,%d,%d", got[0], got[1], got[2]);
        cairo_surface_destroy(img);
    }
    free(png);
    o.query = -1;
    CHECK(render(&r, o, GAZE_PLOT_FORMAT_PNG, &png, &n, &info) == GAZE_OK, "head view, all rows");
    img = png ? decode_png(png, n) : NULL;
    if (img) {
        unsigned char got[3], head0[3];
        gaze_head_rgb(0, head0);
        pixel(img, info.grid_x + info.cell_w / 2, info.grid_y + 3.5 * info.cell_h, got);
        CHECK(same_rgb(got, head0), "line of query 3 without the filter: got %d,%d,%d", got[0], got[1], got[2]);
        cairo_surface_destroy(img);
    }
    free(png);

    // bars of given values: token 2 holds everything -> a full bar of the top colour
    float vals[6] = { 0, 0, 1, 0, 0, 0 };
    o = gaze_plot_opts_make();
    o.kind = GAZE_PLOT_KIND_BARS;
    o.values = vals;
    o.values_name = "rollout";
    CHECK(render(&r, o, GAZE_PLOT_FORMAT_PNG, &png, &n, &info) == GAZE_OK, "bars: %s", gaze_last_error());
    img = png ? decode_png(png, n) : NULL;
    if (img) {
        unsigned char got[3], top[3], white[3] = { 255, 255, 255 };
        gaze_palette_rgb(GAZE_PALETTE_VIRIDIS, 1, top);
        pixel(img, info.grid_x + 0.9 * info.cell_w, info.grid_y + 2.5 * info.cell_h, got);
        CHECK(same_rgb(got, top), "full bar at token 2: got %d,%d,%d", got[0], got[1], got[2]);
        pixel(img, info.grid_x + 0.5 * info.cell_w, info.grid_y + 1.5 * info.cell_h, got);
        CHECK(same_rgb(got, white), "no bar at token 1: got %d,%d,%d", got[0], got[1], got[2]);
        cairo_surface_destroy(img);
    }
    free(png);
    // bars of a query's attention: identity head, query 4 -> the bar at token 4
    o.values = NULL;
    o.head_mode = GAZE_PLOT_HEADS_ONE;
    o.head = 0;
    o.query = 4;
    CHECK(render(&r, o, GAZE_PLOT_FORMAT_PNG, &png, &n, &info) == GAZE_OK, "bars of query 4");
    img = png ? decode_png(png, n) : NULL;
    if (img) {
        unsigned char got[3], top[3];
        gaze_palette_rgb(GAZE_PALETTE_VIRIDIS, 1, top);
        pixel(img, info.grid_x + 0.9 * info.cell_w, info.grid_y + 4.5 * info.cell_h, got);
        CHECK(same_rgb(got, top), "bar at token 4: got %d,%d,%d", got[0], got[1], got[2]);
        cairo_surface_destroy(img);
    }
    free(png);
    // model view: 1 layer x 2 heads
    o = gaze_plot_opts_make();
    o.kind = GAZE_PLOT_KIND_MODEL;
    CHECK(render(&r, o, GAZE_PLOT_FORMAT_PNG, &png, &n, &info) == GAZE_OK, "model view");
    CHECK(info.rows == 1 && info.cols == 2, "model view grid %lld x %lld", (long long)info.rows, (long long)info.cols);
    img = png ? decode_png(png, n) : NULL;
    if (img) {
        // first thumbnail = identity: its (0, 0) cell is the top colour, (0, 1) the bottom
        unsigned char got[3], top[3], bottom[3];
        gaze_palette_rgb(GAZE_PALETTE_VIRIDIS, 1, top);
        gaze_palette_rgb(GAZE_PALETTE_VIRIDIS, 0, bottom);
        pixel(img, info.grid_x + 0.5 * info.cell_w, info.grid_y + 0.5 * info.cell_h, got);
        CHECK(same_rgb(got, top), "thumbnail (0, 0): got %d,%d,%d", got[0], got[1], got[2]);
        pixel(img, info.grid_x + 1.5 * info.cell_w, info.grid_y + 0.5 * info.cell_h, got);
        CHECK(same_rgb(got, bottom), "thumbnail (0, 1): got %d,%d,%d", got[0], got[1], got[2]);
        cairo_surface_destroy(img);
    }
    free(png);
    gaze_run_free(&r);
}

static int xmllint(const unsigned char * p, size_t n, const char * name) {
    char path[512], cmd[700];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    FILE * f = fopen(path, "wb");
    if (!f) return -1;
    fwrite(p, 1, n, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "xmllint --noout '%s'", path);
    return system(cmd);
}

// Output of a command (popen), NUL-terminated, or NULL when it cannot run; *rc its exit status.
static char * command_output(const char * cmd, int * rc) {
    FILE * p = popen(cmd, "r");
    if (!p) return NULL;
    size_t n = 0, cap = 1 << 16;
    char * out = malloc(cap);
    size_t got;
    while (out && (got = fread(out + n, 1, cap - n - 1, p)) > 0) {
        n += got;
        if (n + 1 == cap) { char * o = realloc(out, cap *= 2); if (!o) { free(out); out = NULL; } else out = o; }
    }
    *rc = pclose(p);
    if (out) out[n] = 0;
    return out;
}

// Counts of what an SVG must never hold: script, foreignObject, img or iframe elements and
// on* attributes, as xmllint's XPath sees them (-1: xmllint failed).
static int svg_injected(const char * path) {
    char cmd[800];
    snprintf(cmd, sizeof cmd, "xmllint --xpath 'count(//*[local-name()=\"script\" or local-name()=\"foreignObject\" or "
             "local-name()=\"img\" or local-name()=\"iframe\"]) + count(//@*[starts-with(local-name(), \"on\")])' '%s'", path);
    int rc = 0;
    char * out = command_output(cmd, &rc);
    int n = out && rc == 0 ? atoi(out) : -1;
    free(out);
    return n;
}

static int count_of(const unsigned char * p, size_t n, const char * needle) {
    int c = 0;
    const size_t k = strlen(needle);
    for (const unsigned char * at = p; (at = memmem(at, n - (size_t)(at - p), needle, k)); at += k) c++;
    return c;
}

static void test_hostile_svg(void) {
    const char * tok[11] = {
        "[CLS]", "</script>", "<img src=x onerror=alert(1)>", "\"quoted' & amp;", "line\xe2\x80\xa8sep",
        "ctl\x01\x02\x1b[31m\x7f", "\xe2\x80\xae" "rtl", "\xc3\xa9t\xc3\xa9", "</text><script>", "]]>", "[SEP]",
    };
    struct gaze_run r;
    make_run(&r, 11, tok, true, "bert");
    // invalid UTF-8 straight into the run's token (a run from a buggy writer; load would
    // refuse it, the renderer must not crash or emit it)
    free(r.tokens[7]);
    r.tokens[7] = strdup("bad\xff\xfe\xc3(x\xed\xa0\x80");
    const enum gaze_plot_kind kinds[4] = { GAZE_PLOT_KIND_HEATMAP, GAZE_PLOT_KIND_MODEL, GAZE_PLOT_KIND_HEAD, GAZE_PLOT_KIND_BARS };
    for (int k = 0; k < 4; k++) {
        for (int words = 0; words < 2; words++) {
            struct gaze_plot_opts o = gaze_plot_opts_make();
            o.kind = kinds[k];
            o.words = words;
            o.title = words ? "<title>&\"'\x01\xff</svg>" : NULL;
            unsigned char * svg = NULL, * pdf = NULL;
            size_t n = 0, np = 0;
            enum gaze_status s = render(&r, o, GAZE_PLOT_FORMAT_SVG, &svg, &n, NULL);
            CHECK(s == GAZE_OK, "hostile svg kind %d: %s", k, gaze_last_error());
            if (!s) {
                char name[64];
                snprintf(name, sizeof name, "hostile%d%d.svg", k, words);
                int rc = xmllint(svg, n, name);
                CHECK(rc == 0, "xmllint on %s: exit %d", name, rc);
                char path[512];
                snprintf(path, sizeof path, "%s/%s", g_dir, name);
                const int inj = svg_injected(path);
                CHECK(inj == 0, "%s: %d injected elements or on* attributes (-1: xmllint failed)", name, inj);
                CHECK(!memmem(svg, n, "<img", 4) && !memmem(svg, n, "<script", 7) && !memmem(svg, n, "]]>", 3),
                      "no raw markup in %s", name);
                // the tokens are there as text, escaped (labels show controls as escapes and
                // stop at 18 characters); the model view has no token labels
                if (!words && kinds[k] != GAZE_PLOT_KIND_MODEL) {
                    const char * want[] = { ">&lt;/script&gt;</text>", ">&lt;img src=x onerror\xe2\x80\xa6</text>",
                                            ">&quot;quoted&apos; &amp; amp;</text>", ">line\\u2028sep</text>",
                                            ">&lt;/text&gt;&lt;script&gt;</text>", ">]]&gt;</text>",
                                            ">bad\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd(x\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd</text>" };
                    for (size_t w = 0; w < sizeof want / sizeof want[0]; w++)
                        CHECK(memmem(svg, n, want[w], strlen(want[w])) != NULL, "%s lacks the text %s", name, want[w]);
                } else if (words) {
                    const char * t = ">&lt;title&gt;&amp;&quot;&apos;\\x01\xef\xbf\xbd&lt;/svg&gt;</text>";
                    CHECK(memmem(svg, n, t, strlen(t)) != NULL, "%s: the hostile title as escaped text", name);
                }
            }
            s = render(&r, o, GAZE_PLOT_FORMAT_PDF, &pdf, &np, NULL);
            CHECK(s == GAZE_OK && np > 5 && !memcmp(pdf, "%PDF-", 5), "hostile pdf kind %d: %s", k, gaze_last_error());
            free(svg);
            free(pdf);
        }
    }
    gaze_run_free(&r);
}

// Ink (dark pixels) of a region of an image, as a mask with its bounding box.
struct ink {
    int n, x0, y0, x1, y1;    // pixel count; bounding box [x0, x1] × [y0, y1]
    unsigned char m[48][256]; // [y, x]
};

static void ink_of(cairo_surface_t * img, int x, int y, int w, int h, struct ink * k) {
    memset(k, 0, sizeof *k);
    k->x0 = k->y0 = 1 << 20;
    k->x1 = k->y1 = -1;
    for (int j = 0; j < h && j < 48; j++)
        for (int i = 0; i < w && i < 256; i++) {
            unsigned char c[3];
            pixel(img, x + i, y + j, c);
            if (c[0] + c[1] + c[2] >= 3 * 128) continue;
            k->m[j][i] = 1;
            k->n++;
            k->x0 = k->x0 < i ? k->x0 : i; k->x1 = k->x1 > i ? k->x1 : i;
            k->y0 = k->y0 < j ? k->y0 : j; k->y1 = k->y1 > j ? k->y1 : j;
        }
}

// s drawn black on white with cairo's own text API in one font face (no fallback), its ink;
// placed as the figures place a label (right end on a whole pixel, centred vertically on one
// by DejaVu Sans' ascent and descent) so antialiasing falls alike.
static void ink_ref(const char * face, const char * s, double size, struct ink * k) {
    cairo_surface_t * img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 256, 48);
    cairo_t * cr = cairo_create(img);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_font_options_t * fo = cairo_font_options_create();
    cairo_font_options_set_antialias(fo, CAIRO_ANTIALIAS_GRAY);
    cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
    cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
    cairo_set_font_options(cr, fo);
    cairo_font_options_destroy(fo);
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
    cairo_font_extents_t fe;
    cairo_font_extents(cr, &fe);
    cairo_select_font_face(cr, face, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_text_extents_t te;
    cairo_text_extents(cr, s, &te);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_move_to(cr, 200 - te.x_advance, 24 + (fe.ascent - fe.descent) / 2);
    cairo_show_text(cr, s);
    cairo_destroy(cr);
    ink_of(img, 0, 0, 256, 48, k);
    cairo_surface_destroy(img);
}

// How well two inks match, 0..1: the best, over shifts of a pixel around their boxes' centres
// aligned, of the smaller of the fractions of a's pixels that are ink in b and of b's that are
// ink in a. A different glyph or a missing-glyph box stays far below a glyph drawn again.
static double ink_match(const struct ink * a, const struct ink * b) {
    if (a->n == 0 || b->n == 0) return 0;
    const int cx = (int)lround((b->x0 + b->x1 - a->x0 - a->x1) / 2.0), cy = (int)lround((b->y0 + b->y1 - a->y0 - a->y1) / 2.0);
    double best = 0;
    for (int dy = cy - 1; dy <= cy + 1; dy++)
        for (int dx = cx - 1; dx <= cx + 1; dx++) {
            int hit = 0;
            for (int y = 0; y < 48; y++)
                for (int x = 0; x < 256; x++) {
                    const int qx = x + dx, qy = y + dy;
                    hit += a->m[y][x] && qx >= 0 && qy >= 0 && qx < 256 && qy < 48 && b->m[qy][qx];
                }
            const double fa = (double)hit / a->n, fb = (double)hit / b->n, m = fa < fb ? fa : fb;
            if (m > best) best = m;
        }
    return best;
}

// Text is real text: the SVG holds every label, title and axis title as <text> (no glyph
// outlines), the PDF's text extracts with pdftotext, and CJK labels in the PNG are the CJK
// font's glyphs (cairo's own text API has no font fallback: they were missing-glyph boxes).
static void test_text(void) {
    const char * tok[8] = { "[CLS]", "fox", "&b", "<c>", "\xe7\x8c\xab", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
                            "\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4", "[SEP]" };   // 猫 日本語 한국어
    const char * esc[8] = { "[CLS]", "fox", "&amp;b", "&lt;c&gt;", tok[4], tok[5], tok[6], "[SEP]" };
    struct gaze_run r;
    make_run(&r, 8, tok, true, "bert");
    struct gaze_plot_opts o = gaze_plot_opts_make();
    unsigned char * svg = NULL;
    size_t n = 0;
    CHECK(render(&r, o, GAZE_PLOT_FORMAT_SVG, &svg, &n, NULL) == GAZE_OK, "text svg: %s", gaze_last_error());
    if (svg) {
        char want[128];
        for (int t = 0; t < 8; t++) {
            snprintf(want, sizeof want, ">%s</text>", esc[t]);
            const int c = count_of(svg, n, want);
            CHECK(c == 2, "heatmap SVG: token %d as <text> %d times, want 2 (row and column)", t, c);
        }
        const char * fixed[] = { ">synthetic \xc2\xb7 layer 0 \xc2\xb7 mean of 2 heads</text>", ">queries</text>", ">keys</text>",
                                 ">rows: queries \xc2\xb7 columns: keys \xc2\xb7 viridis</text>" };
        for (int k = 0; k < 4; k++) CHECK(count_of(svg, n, fixed[k]) == 1, "heatmap SVG lacks %s", fixed[k]);
        CHECK(!memmem(svg, n, "<symbol", 7) && !memmem(svg, n, "glyph", 5), "heatmap SVG holds glyph outlines");
        CHECK(xmllint(svg, n, "text.svg") == 0, "text.svg passes xmllint");
        free(svg);
    }

    // PDF: the text extracts
    const enum gaze_plot_kind kinds[2] = { GAZE_PLOT_KIND_HEATMAP, GAZE_PLOT_KIND_BARS };
    for (int k = 0; k < 2; k++) {
        o = gaze_plot_opts_make();
        o.kind = kinds[k];
        unsigned char * pdf = NULL;
        CHECK(render(&r, o, GAZE_PLOT_FORMAT_PDF, &pdf, &n, NULL) == GAZE_OK, "text pdf: %s", gaze_last_error());
        if (!pdf) continue;
        char path[512], cmd[700];
        snprintf(path, sizeof path, "%s/text%d.pdf", g_dir, k);
        FILE * f = fopen(path, "wb");
        if (f) { fwrite(pdf, 1, n, f); fclose(f); }
        free(pdf);
        snprintf(cmd, sizeof cmd, "pdftotext -enc UTF-8 '%s' - 2>&1", path);
        int rc = -1;
        char * txt = command_output(cmd, &rc);
        CHECK(txt && rc == 0, "pdftotext (poppler-utils, scripts/install-deps) on %s: exit %d", path, rc);
        for (int t = 0; txt && rc == 0 && t < 8; t++) CHECK(strstr(txt, tok[t]) != NULL, "PDF kind %d: token %d not in its text", k, t);
        CHECK(txt && strstr(txt, "synthetic \xc2\xb7 layer 0"), "PDF kind %d: title not in its text", k);
        free(txt);
    }

    // PNG: bar labels (11 px, right-aligned) of the CJK tokens against the CJK font's glyphs
    float vals[8] = { 0 };
    o = gaze_plot_opts_make();
    o.kind = GAZE_PLOT_KIND_BARS;
    o.values = vals;
    unsigned char * png = NULL;
    struct gaze_plot_info info;
    CHECK(render(&r, o, GAZE_PLOT_FORMAT_PNG, &png, &n, &info) == GAZE_OK, "text png: %s", gaze_last_error());
    cairo_surface_t * img = png ? decode_png(png, n) : NULL;
    CHECK(img != NULL, "text png decodes");
    if (img) {
        struct ink lab, ref;
        const int lx = 2, lw = (int)info.grid_x - 4 - lx;
        for (int t = 1; t < 7; t++) {
            ink_of(img, lx, (int)(info.grid_y + t * info.cell_h), lw, (int)info.cell_h, &lab);
            ink_ref(t < 4 ? "DejaVu Sans" : "WenQuanYi Micro Hei", tok[t], 11, &ref);
            const double m = ink_match(&lab, &ref);
            CHECK(m > 0.8, "label of token %d matches its glyphs by %.2f (want > 0.8; fonts-wqy-microhei installed?)", t, m);
            if (t == 4) {
                // the measure tells glyphs apart: 犬 is not 猫, and cairo's own text (no
                // fallback) draws a missing-glyph box
                ink_ref("WenQuanYi Micro Hei", "\xe7\x8a\xac", 11, &ref);
                const double other = ink_match(&lab, &ref);
                ink_ref("DejaVu Sans", tok[t], 11, &ref);
                const double box = ink_match(&lab, &ref);
                CHECK(other < 0.5 && box < 0.5, "glyph match does not discriminate: other glyph %.2f, missing-glyph box %.2f", other, box);
                fprintf(stderr, "  CJK label match: %.2f (other glyph %.2f, missing-glyph box %.2f)\n", m, other, box);
            }
        }
        cairo_surface_destroy(img);
    }
    free(png);
    gaze_run_free(&r);
}

static void test_deterministic(void) {
    struct gaze_run r;
    const char * tok[6] = { "[CLS]", "a", "&b", "<c>", "\xe7\x8c\xab", "[SEP]" };
    make_run(&r, 6, tok, true, "bert");
    const enum gaze_plot_format fmts[3] = { GAZE_PLOT_FORMAT_PNG, GAZE_PLOT_FORMAT_SVG, GAZE_PLOT_FORMAT_PDF };
    for (int k = 0; k < 4; k++)
        for (int f = 0; f < 3; f++) {
            struct gaze_plot_opts o = gaze_plot_opts_make();
            o.kind = (enum gaze_plot_kind)k;
            unsigned char * a = NULL, * b = NULL;
            size_t na = 0, nb = 0;
            CHECK(render(&r, o, fmts[f], &a, &na, NULL) == GAZE_OK && render(&r, o, fmts[f], &b, &nb, NULL) == GAZE_OK,
                  "render kind %d format %d: %s", k, f, gaze_last_error());
            CHECK(na > 0 && na == nb && !memcmp(a, b, na), "kind %d format %d: two renders differ (%zu vs %zu bytes)", k, f, na, nb);
            if (fmts[f] == GAZE_PLOT_FORMAT_PDF)
                CHECK(na > 5 && !memcmp(a, "%PDF-", 5) && memmem(a, na, "/CreationDate (20000101", 23), "PDF header and fixed date");
            if (fmts[f] == GAZE_PLOT_FORMAT_SVG) CHECK(na > 5 && memmem(a, na, "<svg", 4), "SVG root");
            free(a);
            free(b);
        }
    // gaze_plot_run writes the file atomically; the same bytes as the buffer
    char path[512];
    snprintf(path, sizeof path, "%s/fig.svg", g_dir);
    struct gaze_plot_opts o = gaze_plot_opts_make();
    CHECK(gaze_plot_run(&r, path, &o, NULL) == GAZE_OK, "plot to file: %s", gaze_last_error());
    FILE * f = fopen(path, "rb");
    CHECK(f != NULL, "file written");
    if (f) {
        char head[6] = { 0 };
        CHECK(fread(head, 1, 5, f) == 5 && !strcmp(head, "<?xml"), "file is SVG");
        fclose(f);
    }
    snprintf(path, sizeof path, "%s/fig.gif", g_dir);
    CHECK(gaze_plot_run(&r, path, &o, NULL) == GAZE_ERR_INVALID_ARG, "unknown extension refused");
    CHECK(access(path, F_OK) != 0, "nothing written for a refused format");
    snprintf(path, sizeof path, "%s/no/such/dir/fig.png", g_dir);
    CHECK(gaze_plot_run(&r, path, &o, NULL) == GAZE_ERR_IO, "unwritable path: GAZE_ERR_IO");
    gaze_run_free(&r);
}

static void test_errors(void) {
    struct gaze_run r, other;
    make_run(&r, 6, NULL, true, "bert");
    make_run(&other, 5, NULL, false, "bert");
    unsigned char * out = NULL;
    size_t n = 0;
    struct gaze_plot_opts o = gaze_plot_opts_make();
#define REFUSED(setup, want, what) do { o = gaze_plot_opts_make(); setup; \
        enum gaze_status s_ = render(&r, o, GAZE_PLOT_FORMAT_PNG, &out, &n, NULL); \
        CHECK(s_ == (want) && out == NULL, "%s: got %s (%s)", what, gaze_status_name(s_), gaze_last_error()); \
        free(out); out = NULL; } while (0)
    REFUSED(o.layer = 1, GAZE_ERR_INVALID_ARG, "layer not captured");
    REFUSED((o.head_mode = GAZE_PLOT_HEADS_ONE, o.head = 5), GAZE_ERR_INVALID_ARG, "head not captured");
    REFUSED(o.query = 6, GAZE_ERR_INVALID_ARG, "query out of range");
    REFUSED(o.query = -5, GAZE_ERR_INVALID_ARG, "negative query");
    REFUSED((o.query = 0, o.hide_special = true, o.kind = GAZE_PLOT_KIND_BARS), GAZE_ERR_INVALID_ARG, "query is a hidden special");
    REFUSED(o.head_mode = GAZE_PLOT_HEADS_EACH, GAZE_ERR_INVALID_ARG, "each head in a heatmap");
    REFUSED(o.kind = (enum gaze_plot_kind)9, GAZE_ERR_INVALID_ARG, "unknown kind");
    REFUSED(o.palette = (enum gaze_palette)9, GAZE_ERR_INVALID_ARG, "unknown palette");
    REFUSED(o.minus = &other, GAZE_ERR_INVALID_ARG, "difference with other tokens");
    REFUSED((o.minus = &r, o.kind = GAZE_PLOT_KIND_HEAD), GAZE_ERR_INVALID_ARG, "difference as a head view");
    float vals[6] = { 0, 1, NAN, 0, 0, 0 };
    REFUSED(o.values = vals, GAZE_ERR_INVALID_ARG, "values in a heatmap");
    REFUSED((o.values = vals, o.kind = GAZE_PLOT_KIND_BARS), GAZE_ERR_NUMERIC, "NaN value");
    REFUSED(o.max_px = 50, GAZE_ERR_INVALID_ARG, "max_px too small");
    REFUSED((o.kind = GAZE_PLOT_KIND_HEAD, o.max_px = 200), GAZE_ERR_LIMIT, "head view wider than the cap");
    int64_t bad_heads[1] = { 7 };
    REFUSED((o.heads = bad_heads, o.n_heads = 1), GAZE_ERR_INVALID_ARG, "heads list not captured");
    o = gaze_plot_opts_make();
    CHECK(gaze_plot_run_buffer(&r, &o, &out, &n, NULL) == GAZE_ERR_INVALID_ARG, "buffer needs a format");
    struct gaze_run empty;
    gaze_run_init(&empty);
    o.format = GAZE_PLOT_FORMAT_PNG;
    CHECK(gaze_plot_run_buffer(&empty, &o, &out, &n, NULL) == GAZE_ERR_INVALID_ARG, "empty run refused");
    // the same difference of a run with itself: all zeros draws fine (flat scale)
    o.minus = &r;
    CHECK(gaze_plot_run_buffer(&r, &o, &out, &n, NULL) == GAZE_OK, "difference with itself: %s", gaze_last_error());
    free(out);
    gaze_run_free(&r);
    gaze_run_free(&other);
}

static void test_palettes(void) {
    unsigned char c[3];
    gaze_palette_rgb(GAZE_PALETTE_VIRIDIS, 0, c);
    CHECK(c[0] == 68 && c[1] == 1 && c[2] == 84, "viridis(0) = %d,%d,%d", c[0], c[1], c[2]);
    gaze_palette_rgb(GAZE_PALETTE_VIRIDIS, 1, c);
    CHECK(c[0] == 253 && c[1] == 231 && c[2] == 37, "viridis(1) = %d,%d,%d", c[0], c[1], c[2]);
    gaze_palette_rgb(GAZE_PALETTE_VIRIDIS, NAN, c);
    CHECK(c[0] == 68 && c[1] == 1 && c[2] == 84, "viridis(NaN) = bottom");
    gaze_palette_rgb(GAZE_PALETTE_MAGMA, 1, c);
    CHECK(c[0] == 252 && c[1] == 253 && c[2] == 191, "magma(1) = %d,%d,%d", c[0], c[1], c[2]);
    gaze_palette_rgb(GAZE_PALETTE_CIVIDIS, 0, c);
    CHECK(c[0] == 0 && c[1] == 34 && c[2] == 78, "cividis(0) = %d,%d,%d", c[0], c[1], c[2]);
    unsigned char lo[3], mid[3], hi[3];
    gaze_palette_rgb(GAZE_PALETTE_DIVERGING, 0, lo);
    gaze_palette_rgb(GAZE_PALETTE_DIVERGING, 0.5f, mid);
    gaze_palette_rgb(GAZE_PALETTE_DIVERGING, 1, hi);
    CHECK(lo[2] > lo[0] && hi[0] > hi[2] && mid[0] > 240 && mid[1] > 240 && mid[2] > 240, "diverging: blue, white, red");
    gaze_colormap_viridis(1, c);
    CHECK(c[0] == 253 && c[1] == 231 && c[2] == 37, "the terminal's viridis is the same table");
    enum gaze_palette p;
    CHECK(gaze_palette_from_name("magma", &p) && p == GAZE_PALETTE_MAGMA && !gaze_palette_from_name("jet", &p), "names");
    int distinct = 1;
    for (int i = 0; i < 12; i++)
        for (int j = 0; j < i; j++) {
            unsigned char a[3], b[3];
            gaze_head_rgb(i, a);
            gaze_head_rgb(j, b);
            if (same_rgb(a, b)) distinct = 0;
        }
    CHECK(distinct, "12 distinct head colours");
    enum gaze_plot_kind k;
    CHECK(gaze_plot_kind_from_name("head", &k) && k == GAZE_PLOT_KIND_HEAD && !gaze_plot_kind_from_name("pie", &k), "kinds");
    CHECK(gaze_plot_format_from_path("a/b.PDF") == GAZE_PLOT_FORMAT_PDF && gaze_plot_format_from_path("a.svg/x") == GAZE_PLOT_FORMAT_AUTO &&
          gaze_plot_format_from_path("x") == GAZE_PLOT_FORMAT_AUTO, "formats from paths");
}

/* ---- figures ready for a paper: masks, ticks, boundaries, many heads, diffs, SVG seams ------- */

static bool neutral_grey(const unsigned char c[3]) {
    int mx = c[0], mn = c[0];
    for (int k = 1; k < 3; k++) { if (c[k] > mx) mx = c[k]; if (c[k] < mn) mn = c[k]; }
    return mn >= 150 && mx - mn <= 16;
}

// PNG of a render, decoded (NULL on failure); *info filled.
static cairo_surface_t * render_png(const struct gaze_run * r, struct gaze_plot_opts o, struct gaze_plot_info * info) {
    unsigned char * png = NULL;
    size_t n = 0;
    enum gaze_status s = render(r, o, GAZE_PLOT_FORMAT_PNG, &png, &n, info);
    CHECK(s == GAZE_OK, "render: %s", gaze_last_error());
    cairo_surface_t * img = s ? NULL : decode_png(png, n);
    free(png);
    return img;
}

static char * render_svg(const struct gaze_run * r, struct gaze_plot_opts o, struct gaze_plot_info * info) {
    unsigned char * svg = NULL;
    size_t n = 0;
    enum gaze_status s = render(r, o, GAZE_PLOT_FORMAT_SVG, &svg, &n, info);
    CHECK(s == GAZE_OK, "render svg: %s", gaze_last_error());
    if (s) return NULL;
    char * z = malloc(n + 1);
    memcpy(z, svg, n);
    z[n] = 0;
    free(svg);
    return z;
}

// A causal run: masked cells (keys after the query) are neutral grey (hatched), never the
// palette's colour of 0, in the heatmap and the model view, and the legend says so.
static void test_masked(void) {
    struct gaze_run r;
    make_run(&r, 6, NULL, false, "llama");
    r.causal = true;
    for (int64_t i = 0; i < 6; i++)   // uniform head made causal: 1/(i+1) on keys 0..i
        for (int64_t j = 0; j < 6; j++) r.layers[0].attn[(6 + i) * 6 + j] = j <= i ? 1.0f / (float)(i + 1) : 0.0f;
    struct gaze_plot_opts o = gaze_plot_opts_make();
    o.head_mode = GAZE_PLOT_HEADS_ONE;
    o.head = 0;
    struct gaze_plot_info info;
    cairo_surface_t * img = render_png(&r, o, &info);
    int bad_masked = 0, bad_live = 0;
    unsigned char zero[3], got[3];
    gaze_palette_rgb(GAZE_PALETTE_VIRIDIS, 0, zero);
    for (int64_t i = 0; img && i < 6; i++)
        for (int64_t j = 0; j < 6; j++) {
            pixel(img, info.grid_x + (j + 0.5) * info.cell_w, info.grid_y + (i + 0.5) * info.cell_h, got);
            if (j > i && (!neutral_grey(got) || same_rgb(got, zero))) {
                if (bad_masked++ < 3) fprintf(stderr, "  masked cell (%lld, %lld): %d,%d,%d\n", (long long)i, (long long)j, got[0], got[1], got[2]);
            }
            if (j < i && !same_rgb(got, zero)) bad_live++;   // identity: unmasked zeros keep the palette's 0
        }
    CHECK(img && bad_masked == 0, "heatmap: %d masked cells not neutral grey", bad_masked);
    CHECK(img && bad_live == 0, "heatmap: %d unmasked zeros lost the palette's colour", bad_live);
    if (img) cairo_surface_destroy(img);
    char * svg = render_svg(&r, o, &info);
    CHECK(svg && strstr(svg, "masked (key after the query)"), "heatmap legend names the masked cells");
    free(svg);
    o.kind = GAZE_PLOT_KIND_MODEL;
    o.head_mode = GAZE_PLOT_HEADS_DEFAULT;
    img = render_png(&r, o, &info);
    if (img) {   // thumbnail of head 0: cell (0, 5) masked, (5, 0) a zero
        pixel(img, info.grid_x + 5.5 * info.cell_w, info.grid_y + 0.5 * info.cell_h, got);
        CHECK(neutral_grey(got), "model view: masked cell %d,%d,%d", got[0], got[1], got[2]);
        pixel(img, info.grid_x + 0.5 * info.cell_w, info.grid_y + 5.5 * info.cell_h, got);
        CHECK(same_rgb(got, zero), "model view: unmasked zero %d,%d,%d", got[0], got[1], got[2]);
        cairo_surface_destroy(img);
    }
    gaze_run_free(&r);
}

// Colour-bar ticks at round values: 0, 0.1, ... 0.5 for a top of 7/12; decades on a log bar,
// and no 0 there.
static void test_ticks(void) {
    struct gaze_run r;
    make_run(&r, 6, NULL, false, "bert");
    struct gaze_plot_opts o = gaze_plot_opts_make();
    o.head_mode = GAZE_PLOT_HEADS_MEAN;   // top 7/12 = 0.583
    struct gaze_plot_info info;
    char * svg = render_svg(&r, o, &info);
    CHECK(svg && strstr(svg, ">0</text>") && strstr(svg, ">0.1</text>") && strstr(svg, ">0.3</text>") && strstr(svg, ">0.5</text>"),
          "linear ticks 0, 0.1 .. 0.5");
    CHECK(svg && !strstr(svg, ">0.146</text>") && !strstr(svg, ">0.583</text>"), "no unround ticks (vmax/4 steps)");
    free(svg);
    o.log_scale = true;
    svg = render_svg(&r, o, &info);
    CHECK(svg && strstr(svg, ">0.1</text>") && strstr(svg, ">0.01</text>"), "log ticks at decades");
    CHECK(svg && !strstr(svg, ">0</text>"), "no 0 tick on a log colour bar");
    free(svg);
    o.vmax = 0.05f;   // small values: 1e-3 style below 0.01
    svg = render_svg(&r, o, &info);
    CHECK(svg && strstr(svg, ">0.01</text>") && strstr(svg, ">1e-3</text>") && !strstr(svg, ">0</text>"), "log ticks 0.01, 1e-3");
    free(svg);
    gaze_run_free(&r);
}

static const unsigned char MARK[3] = { 213, 94, 0 };

// Lines between the cells at the sentence A | B boundary (--pair) and the prompt | generated
// boundary (--generate), with their labels.
static void test_marks(void) {
    struct gaze_run r;
    const char * tok[6] = { "[CLS]", "a", "b", "[SEP]", "c", "[SEP]" };
    make_run(&r, 6, tok, false, "bert");
    r.pair = strdup("c");
    r.sequence_ids = malloc(6);
    const int8_t sid[6] = { -1, 0, 0, -1, 1, -1 };
    memcpy(r.sequence_ids, sid, 6);
    struct gaze_plot_opts o = gaze_plot_opts_make();
    o.head_mode = GAZE_PLOT_HEADS_ONE;
    o.head = 0;
    struct gaze_plot_info info;
    cairo_surface_t * img = render_png(&r, o, &info);
    unsigned char got[3];
    if (img) {   // vertical line at key 4 (row 1: cells (1,3) and (1,4) are both 0), horizontal at row 4
        pixel(img, info.grid_x + 4 * info.cell_w, info.grid_y + 1.5 * info.cell_h, got);
        CHECK(same_rgb(got, MARK), "A|B column line: %d,%d,%d", got[0], got[1], got[2]);
        pixel(img, info.grid_x + 1.5 * info.cell_w, info.grid_y + 4 * info.cell_h, got);
        CHECK(same_rgb(got, MARK), "A|B row line: %d,%d,%d", got[0], got[1], got[2]);
        pixel(img, info.grid_x + 3 * info.cell_w, info.grid_y + 1.5 * info.cell_h, got);
        CHECK(!same_rgb(got, MARK), "no line elsewhere");
        cairo_surface_destroy(img);
    }
    char * svg = render_svg(&r, o, &info);
    CHECK(svg && strstr(svg, ">sentence B</text>"), "A|B boundary labelled");
    free(svg);
    gaze_run_free(&r);

    make_run(&r, 6, NULL, false, "llama");
    r.causal = true;
    r.n_generated = 2;
    img = render_png(&r, o, &info);
    if (img) {
        pixel(img, info.grid_x + 0.5 * info.cell_w, info.grid_y + 4 * info.cell_h, got);
        CHECK(same_rgb(got, MARK), "prompt|generated row line: %d,%d,%d", got[0], got[1], got[2]);
        pixel(img, info.grid_x + 4 * info.cell_w, info.grid_y + 5.5 * info.cell_h, got);
        CHECK(same_rgb(got, MARK), "prompt|generated column line: %d,%d,%d", got[0], got[1], got[2]);
        cairo_surface_destroy(img);
    }
    svg = render_svg(&r, o, &info);
    CHECK(svg && strstr(svg, ">generated</text>"), "generation boundary labelled");
    free(svg);
    o.kind = GAZE_PLOT_KIND_BARS;   // bars: a line between the rows of tokens 3 and 4
    o.head_mode = GAZE_PLOT_HEADS_MEAN;
    img = render_png(&r, o, &info);
    if (img) {
        pixel(img, info.grid_x + 0.9 * info.cell_w, info.grid_y + 4 * info.cell_h, got);
        CHECK(same_rgb(got, MARK), "bars: prompt|generated line: %d,%d,%d", got[0], got[1], got[2]);
        cairo_surface_destroy(img);
    }
    gaze_run_free(&r);
}

// A head view of 12 heads keeps the 6 with most attention off token 0 and says which.
static void test_many_heads(void) {
    struct gaze_run r;
    gaze_run_init(&r);
    r.model = strdup("m");
    r.arch = strdup("llama");
    r.causal = true;
    r.n_layers = 1; r.n_heads = 12; r.n_kv_heads = 12;
    const char * tok[5] = { "<s>", "a", "b", "c", "d" };
    const int32_t ids[5] = { 1, 2, 3, 4, 5 };
    gaze_run_set_tokens(&r, 5, tok, NULL, ids, NULL);
    gaze_run_set_capture(&r, NULL, 12, NULL, 5);
    struct gaze_run_layer * l;
    gaze_run_add_layer(&r, 0, GAZE_RUN_PART_ATTN, &l);
    // head h: weight w_h off token 0, on key i (the query itself); odd heads the most
    for (int64_t h = 0; h < 12; h++)
        for (int64_t i = 0; i < 5; i++) {
            const float w = i ? (h % 2 ? 0.5f + 0.04f * (float)h : 0.02f * (float)h) : 0;
            l->attn[(h * 5 + i) * 5 + 0] = 1 - w;
            if (i) l->attn[(h * 5 + i) * 5 + i] = w;
        }
    struct gaze_plot_opts o = gaze_plot_opts_make();
    o.kind = GAZE_PLOT_KIND_HEAD;
    struct gaze_plot_info info;
    char * svg = render_svg(&r, o, &info);
    CHECK(!strncmp(info.note, "head view: heads 1,3,5,7,9,11 of 12: most attention off token 0", 63), "note: '%s'", info.note);
    CHECK(svg && strstr(svg, "6 of 12 heads (most attention off token 0)"), "the title says which heads");
    CHECK(svg && strstr(svg, ">head 11</text>") && !strstr(svg, ">head 10</text>"), "legend: the 6 heads shown");
    free(svg);
    const int64_t mine[2] = { 0, 2 };
    o.heads = mine;
    o.n_heads = 2;
    svg = render_svg(&r, o, &info);
    CHECK(svg && info.note[0] == 0 && strstr(svg, ">head 2</text>"), "--heads: shown as asked, no note");
    free(svg);
    gaze_run_free(&r);
}

// gaze diff's table pairs runs of the same token count and rows whatever their token ids,
// captured layers and heads; the difference figure draws all of those (here one saved as f16).
static void test_diff_pairs(void) {
    struct gaze_run a, b, b16;
    make_run(&a, 6, NULL, false, "bert");
    a.n_heads = 4; a.n_kv_heads = 4;
    const char * other[6] = { "x0", "x1", "x2", "x3", "x4", "x5" };
    gaze_run_init(&b);
    b.model = strdup("/models/synthetic");
    b.arch = strdup("bert");
    b.n_layers = 2; b.n_heads = 4; b.n_kv_heads = 4;
    const int32_t ids[6] = { 7, 8, 9, 10, 11, 12 };
    gaze_run_set_tokens(&b, 6, other, NULL, ids, NULL);
    const int64_t heads[2] = { 2, 3 };
    gaze_run_set_capture(&b, heads, 2, NULL, 6);
    struct gaze_run_layer * l;
    gaze_run_add_layer(&b, 1, GAZE_RUN_PART_ATTN, &l);
    for (int k = 0; k < 2 * 36; k++) l->attn[k] = 1.0f / 6;
    char path[300];
    snprintf(path, sizeof path, "%s/b16.safetensors", g_dir);
    CHECK(gaze_run_save(&b, path, true) == GAZE_OK, "save f16: %s", gaze_last_error());
    gaze_run_init(&b16);
    CHECK(gaze_run_load(&b16, path) == GAZE_OK, "load f16: %s", gaze_last_error());
    double jsd[2];   // [1 layer, 2 heads]
    CHECK(gaze_head_jsd(&a, &b16, jsd) == GAZE_OK, "the table accepts the pair: %s", gaze_last_error());
    struct gaze_plot_opts o = gaze_plot_opts_make();
    o.minus = &b16;   // mean of (identity, uniform) − uniform = (identity − uniform) / 2
    check_cells("difference, other tokens/heads/layer, f16", &a, o, want_diff, 6);
    struct gaze_plot_info info;
    char * svg = render_svg(&a, o, &info);
    CHECK(svg && strstr(svg, "tokens differ: this run") && strstr(svg, "paired by position"), "the caption says how the runs were paired");
    free(svg);
    o.head_mode = GAZE_PLOT_HEADS_ONE;   // one head: it must be in both runs, and the error says what is there
    o.head = 0;
    unsigned char * out = NULL;
    size_t n = 0;
    CHECK(render(&a, o, GAZE_PLOT_FORMAT_PNG, &out, &n, &info) == GAZE_ERR_INVALID_ARG && strstr(gaze_last_error(), "captured there: 2 3"),
          "head 0 missing in B: %s", gaze_last_error());
    free(out);
    gaze_run_free(&a);
    gaze_run_free(&b);
    gaze_run_free(&b16);
}

// SVG heatmaps in a browser at a fractional zoom: no pale hairline between cells. Headless
// chromium renders the figure at 1.37× and the pixels on every row boundary inside a uniform
// area must keep the cells' colour.
static void test_svg_seams(void) {
    const char * chrome = NULL;
    static const char * const cands[] = { "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome" };
    for (size_t k = 0; k < 3; k++) if (access(cands[k], X_OK) == 0) chrome = cands[k];
    if (!chrome) { CHECK(0, "chromium is not installed (scripts/install-deps installs it)"); return; }
    struct gaze_run r;
    make_run(&r, 12, NULL, false, "bert");
    struct gaze_plot_opts o = gaze_plot_opts_make();
    o.head_mode = GAZE_PLOT_HEADS_ONE;
    o.head = 1;   // uniform: one colour over the whole grid
    struct gaze_plot_info info;
    char * svg = render_svg(&r, o, &info);
    char svg_path[300], png_path[300], cmd[1400];
    snprintf(svg_path, sizeof svg_path, "%s/seams.svg", g_dir);
    snprintf(png_path, sizeof png_path, "%s/seams.png", g_dir);
    FILE * f = fopen(svg_path, "w");
    if (f && svg) { fputs(svg, f); fclose(f); }
    free(svg);
    // the SVG's size is in pt (cairo): a browser shows 1 pt as 4/3 CSS px, times the zoom
    const double zoom = 1.37, z = zoom * 4.0 / 3.0;
    snprintf(cmd, sizeof cmd, "'%s' --headless --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=%.2f "
             "--window-size=%d,%d --screenshot='%s' 'file://%s' >/dev/null 2>&1", chrome, zoom, (int)ceil(info.width * 4.0 / 3),
             (int)ceil(info.height * 4.0 / 3), png_path, svg_path);
    CHECK(system(cmd) == 0, "chromium screenshot");
    FILE * pf = fopen(png_path, "rb");
    unsigned char * buf = NULL;
    size_t n = 0;
    if (pf) {
        fseek(pf, 0, SEEK_END);
        n = (size_t)ftell(pf);
        rewind(pf);
        buf = malloc(n);
        if (fread(buf, 1, n, pf) != n) n = 0;
        fclose(pf);
    }
    cairo_surface_t * img = n ? decode_png(buf, n) : NULL;
    free(buf);
    CHECK(img != NULL, "chromium's screenshot decodes");
    if (!img) { gaze_run_free(&r); return; }
    unsigned char want[3], got[3];
    pixel(img, (info.grid_x + 0.5 * info.cell_w) * z, (info.grid_y + 0.5 * info.cell_h) * z, want);
    int seams = 0;
    for (int64_t b = 1; b < info.rows; b++) {   // every row and column boundary, away from the edges
        const double yb = (info.grid_y + b * info.cell_h) * z, xb = (info.grid_x + b * info.cell_w) * z;
        for (int d = -1; d <= 1; d++) {
            pixel(img, (info.grid_x + 0.5 * info.cell_w) * z + 3, yb + d, got);
            if (abs(got[0] - want[0]) + abs(got[1] - want[1]) + abs(got[2] - want[2]) > 6 && seams++ < 4)
                fprintf(stderr, "  seam at row boundary %lld (y %.1f%+d): %d,%d,%d vs %d,%d,%d\n", (long long)b, yb, d, got[0], got[1], got[2], want[0], want[1], want[2]);
            pixel(img, xb + d, (info.grid_y + 0.5 * info.cell_h) * z + 3, got);
            if (abs(got[0] - want[0]) + abs(got[1] - want[1]) + abs(got[2] - want[2]) > 6 && seams++ < 4)
                fprintf(stderr, "  seam at column boundary %lld (x %.1f%+d): %d,%d,%d\n", (long long)b, xb, d, got[0], got[1], got[2]);
        }
    }
    CHECK(seams == 0, "%d seam pixels between SVG cells at %.2f× in chromium", seams, zoom);
    cairo_surface_destroy(img);
    gaze_run_free(&r);
}

// Smallest text of an SVG in points: font-size times the scale of its transform.
static double svg_min_font_pt(const char * svg) {
    double mn = 1e9;
    for (const char * t = strstr(svg, "<text "); t; t = strstr(t + 1, "<text ")) {
        const char * e = strchr(t, '>');
        const char * fs = strstr(t, "font-size=\""), * tr = strstr(t, "transform=\"matrix(");
        if (!e || !fs || fs > e) continue;
        double size = atof(fs + 11), k = 1;
        if (tr && tr < e) {
            double a, b;
            if (sscanf(tr + 18, "%lf %lf", &a, &b) == 2) k = sqrt(a * a + b * b);
        }
        if (size * k < mn) mn = size * k;
    }
    return mn;
}

// Sized for print: --width 3.25in gives a 234 pt PDF/SVG and 975 px at 300 dpi (or the dpi
// asked); cells stay where info says once scaled; no text under GAZE_PLOT_MIN_FONT_PT; token
// labels thinned when they would overlap.
static void test_print_size(void) {
    struct gaze_run r;
    make_run(&r, 40, NULL, false, "bert");
    struct gaze_plot_opts o = gaze_plot_opts_make();
    o.head_mode = GAZE_PLOT_HEADS_ONE;
    o.head = 0;
    o.width_pt = 234;
    struct gaze_plot_info info;
    unsigned char * out = NULL;
    size_t n = 0;
    CHECK(render(&r, o, GAZE_PLOT_FORMAT_PDF, &out, &n, &info) == GAZE_OK && info.width == 234, "PDF 3.25 in wide: %d pt", info.width);
    free(out);
    char * svg = render_svg(&r, o, &info);
    CHECK(svg && info.width == 234 && strstr(svg, "width=\"234pt\""), "SVG 3.25 in wide: %d pt", info.width);
    const double mn = svg ? svg_min_font_pt(svg) : 0;
    CHECK(mn >= GAZE_PLOT_MIN_FONT_PT - 0.01, "smallest text %.2f pt (want >= %.0f)", mn, GAZE_PLOT_MIN_FONT_PT);
    CHECK(info.label_every >= 2, "40 labels in a column figure thinned: every %lld", (long long)info.label_every);
    int labels = 0;
    for (const char * t = svg; t && (t = strstr(t, ">t")); t++) labels += t[2] >= '0' && t[2] <= '9';
    CHECK(labels > 0 && labels <= 2 * (40 / info.label_every + 1), "%d token labels drawn (every %lld of 40, rows and columns)", labels,
          (long long)info.label_every);
    free(svg);
    cairo_surface_t * img = render_png(&r, o, &info);
    CHECK(img && info.width == 975 && cairo_image_surface_get_width(img) == 975, "PNG at 300 dpi: %d px", info.width);
    if (img) {   // identity: the diagonal has the top colour, scaled coordinates
        unsigned char got[3], top[3], low[3];
        gaze_palette_rgb(GAZE_PALETTE_VIRIDIS, 1, top);
        gaze_palette_rgb(GAZE_PALETTE_VIRIDIS, 0, low);
        int bad = 0;
        for (int64_t i = 0; i < 40; i += 7) {
            pixel(img, (info.grid_x + (i + 0.5) * info.cell_w) * info.scale, (info.grid_y + (i + 0.5) * info.cell_h) * info.scale, got);
            bad += !same_rgb(got, top);
            pixel(img, (info.grid_x + ((i + 3) % 40 + 0.5) * info.cell_w) * info.scale, (info.grid_y + (i + 0.5) * info.cell_h) * info.scale, got);
            bad += !same_rgb(got, low);
        }
        CHECK(bad == 0, "scaled PNG: %d cells off", bad);
        cairo_surface_destroy(img);
    }
    o.dpi = 150;
    img = render_png(&r, o, &info);
    CHECK(img && info.width == 488, "PNG at 150 dpi: %d px", info.width);
    if (img) cairo_surface_destroy(img);
    o.width_pt = 0;   // --dpi alone: the natural size, 150/72 pixels a point
    o.dpi = 144;
    struct gaze_plot_info base;
    cairo_surface_t * a = render_png(&r, (struct gaze_plot_opts){ .kind = o.kind, .layer = -1, .head_mode = o.head_mode, .head = 0, .query = -1 }, &base);
    img = render_png(&r, o, &info);
    CHECK(img && info.width == 2 * base.width && fabs(info.scale - 2) < 1e-9, "PNG at 144 dpi: %d px, natural %d", info.width, base.width);
    if (img) cairo_surface_destroy(img);
    if (a) cairo_surface_destroy(a);
    o.dpi = 0;   // bars and the other kinds: sized too, text readable
    const enum gaze_plot_kind kinds[4] = { GAZE_PLOT_KIND_BARS, GAZE_PLOT_KIND_MODEL, GAZE_PLOT_KIND_HEATMAP, GAZE_PLOT_KIND_HEAD };
    for (int k = 0; k < 4; k++) {
        struct gaze_run small;
        make_run(&small, 8, NULL, false, "bert");
        struct gaze_plot_opts q = gaze_plot_opts_make();
        q.kind = kinds[k];
        q.width_pt = 486;
        q.head_mode = kinds[k] == GAZE_PLOT_KIND_MODEL || kinds[k] == GAZE_PLOT_KIND_HEAD ? GAZE_PLOT_HEADS_DEFAULT : GAZE_PLOT_HEADS_MEAN;
        svg = render_svg(&small, q, &info);
        const double m2 = svg ? svg_min_font_pt(svg) : 0;
        CHECK(svg && info.width == 486 && m2 >= GAZE_PLOT_MIN_FONT_PT - 0.01, "kind %d at 6.75 in: %d pt, smallest text %.2f pt",
              (int)kinds[k], info.width, m2);
        free(svg);
        gaze_run_free(&small);
    }
    gaze_run_free(&r);
}

int main(void) {
    snprintf(g_dir, sizeof g_dir, "/tmp/gaze-test-plot-XXXXXX");
    if (!mkdtemp(g_dir)) { perror("mkdtemp"); return 1; }
    test_palettes();
    test_heatmap_pixels();
    test_head_view_and_bars();
    test_subset_rows();
    test_long();
    test_hostile_svg();
    test_text();
    test_deterministic();
    test_errors();
    test_masked();
    test_ticks();
    test_marks();
    test_many_heads();
    test_diff_pairs();
    test_svg_seams();
    test_print_size();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (!getenv("GAZE_TEST_KEEP") && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_dir);
    return check_summary("test_plot");
}

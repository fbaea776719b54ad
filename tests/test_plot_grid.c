// The layer × head grid figure (gaze_plot_grid): cell colours read back from the PNG are the
// palette's bottom colour at 0, its top colour at the maximum, grey for NaN; SVG is valid XML
// with its text as escaped <text> elements.
#include "check.h"
#include "gaze.h"
#include <cairo.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// Sanitizer builds: fontconfig's font patterns (held by pango's font map until exit) are not
// our leaks.
const char * __lsan_default_suppressions(void);
const char * __lsan_default_suppressions(void) { return "leak:libfontconfig\n"; }

// The pixel colour at the centre of the cell (r, c), found by scanning for the grid: the
// figure puts cells in a square lattice; we locate them through the known NaN cell colour.
static void px(cairo_surface_t * img, int x, int y, unsigned char rgb[3]) {
    const unsigned char * d = cairo_image_surface_get_data(img);
    const int stride = cairo_image_surface_get_stride(img);
    uint32_t v = *(const uint32_t *)(d + (size_t)y * (size_t)stride + (size_t)x * 4);
    rgb[0] = (v >> 16) & 255; rgb[1] = (v >> 8) & 255; rgb[2] = v & 255;
}

static bool near(const unsigned char a[3], const unsigned char b[3]) {
    for (int k = 0; k < 3; k++) if (abs((int)a[k] - (int)b[k]) > 2) return false;
    return true;
}

int main(void) {
    const char * dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char png[512], svg[512], cmd[1200];
    snprintf(png, sizeof png, "%s/gaze-grid-%d.png", dir, (int)getpid());
    snprintf(svg, sizeof svg, "%s/gaze-grid-%d.svg", dir, (int)getpid());
    // 2 × 3 grid: [0, 1, NaN; 0.5, 2, 0]
    const float v[6] = { 0.0f, 1.0f, NAN, 0.5f, 2.0f, 0.0f };
    CHECK(gaze_plot_grid(v, 2, 3, "layer", "head", "test <grid> & \"metric\"", GAZE_PALETTE_VIRIDIS, png) == GAZE_OK,
          "%s", gaze_last_error());
    cairo_surface_t * img = cairo_image_surface_create_from_png(png);
    CHECK(cairo_surface_status(img) == CAIRO_STATUS_SUCCESS, "cannot read %s back", png);
    if (cairo_surface_status(img) == CAIRO_STATUS_SUCCESS) {
        const int W = cairo_image_surface_get_width(img), H = cairo_image_surface_get_height(img);
        unsigned char lo[3], hi[3], grey[3] = { 200, 200, 200 };
        gaze_palette_rgb(GAZE_PALETTE_VIRIDIS, 0.0f, lo);
        gaze_palette_rgb(GAZE_PALETTE_VIRIDIS, 1.0f, hi);
        // find the grey (NaN) cell: row 0, column 2; its size gives the lattice
        int gx0 = -1, gy0 = -1, gx1 = -1;
        // the first run of 6 grey pixels (antialiased text can hit grey on single pixels)
        for (int y = 0; y < H && gx0 < 0; y++)
            for (int x = 0, run = 0; x < W; x++) {
                unsigned char c[3];
                px(img, x, y, c);
                run = near(c, grey) ? run + 1 : 0;
                if (run == 6) { gx0 = x - 5; gy0 = y; break; }
            }
        for (int x = gx0; gx0 >= 0 && x < W; x++) { unsigned char c[3]; px(img, x, gy0 + 2, c); if (!near(c, grey)) { gx1 = x; break; } }
        CHECK(gx0 >= 0 && gx1 > gx0, "no grey NaN cell found");
        if (gx0 >= 0 && gx1 > gx0) {
            const int cell = gx1 - gx0, x0 = gx0 - 2 * cell, y0 = gy0;
            unsigned char c00[3], c11[3], c12[3];
            px(img, x0 + cell / 2, y0 + cell / 2, c00);
            px(img, x0 + cell + cell / 2, y0 + cell + cell / 2, c11);
            px(img, x0 + 2 * cell + cell / 2, y0 + cell + cell / 2, c12);
            CHECK(near(c00, lo), "cell (0,0) = 0 is %d,%d,%d, not the bottom colour", c00[0], c00[1], c00[2]);
            CHECK(near(c11, hi), "cell (1,1) = max is %d,%d,%d, not the top colour", c11[0], c11[1], c11[2]);
            CHECK(near(c12, lo), "cell (1,2) = 0 is %d,%d,%d, not the bottom colour", c12[0], c12[1], c12[2]);
        }
    }
    cairo_surface_destroy(img);
    CHECK(gaze_plot_grid(v, 2, 3, "layer", "head", "test <grid> & \"metric\"", GAZE_PALETTE_VIRIDIS, svg) == GAZE_OK,
          "%s", gaze_last_error());
    snprintf(cmd, sizeof cmd, "xmllint --noout '%s'", svg);
    CHECK(system(cmd) == 0, "xmllint rejects %s", svg);
    // text is real text: the title (escaped), axis names and indices as <text> elements
    FILE * f = fopen(svg, "rb");
    char doc[1 << 16];
    const size_t nd = f ? fread(doc, 1, sizeof doc - 1, f) : 0;
    if (f) fclose(f);
    doc[nd] = 0;
    const char * want[] = { ">test &lt;grid&gt; &amp; &quot;metric&quot;</text>", ">layer</text>", ">head</text>", ">0</text>",
                            ">1</text>", ">2</text>" };
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) CHECK(strstr(doc, want[k]) != NULL, "grid SVG lacks %s", want[k]);
    CHECK(!strstr(doc, "<symbol") && !strstr(doc, "<grid>"), "grid SVG: glyph outlines or raw markup");
    // raw text (no label escaping on this path): controls, line separators and invalid UTF-8
    // each become U+FFFD, the rest escaped; still valid XML
    CHECK(gaze_plot_grid(v, 2, 3, "layer", "head", "a\xe2\x80\xa8" "b\x01\xff]]>\n", GAZE_PALETTE_VIRIDIS, svg) == GAZE_OK,
          "%s", gaze_last_error());
    CHECK(system(cmd) == 0, "xmllint rejects %s with a raw hostile title", svg);
    f = fopen(svg, "rb");
    const size_t nd2 = f ? fread(doc, 1, sizeof doc - 1, f) : 0;
    if (f) fclose(f);
    doc[nd2] = 0;
    CHECK(strstr(doc, ">a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd]]&gt;\xef\xbf\xbd</text>") != NULL, "grid SVG: raw title not cleaned");
    CHECK(gaze_plot_grid(v, 2, 3, "layer", "head", "a\xe2\x80\xa8" "b\x01\xff]]>\n", GAZE_PALETTE_VIRIDIS, png) == GAZE_OK,
          "PNG with a raw hostile title: %s", gaze_last_error());
    CHECK(gaze_plot_grid(v, 2, 3, "layer", "head", "t", GAZE_PALETTE_VIRIDIS, "/tmp/x.bmp") == GAZE_ERR_INVALID_ARG,
          "unknown extension accepted");
    CHECK(gaze_plot_grid(v, 0, 3, "layer", "head", "t", GAZE_PALETTE_VIRIDIS, png) == GAZE_ERR_INVALID_ARG, "empty grid accepted");
    unlink(png);
    unlink(svg);
    return check_summary("test_plot_grid");
}

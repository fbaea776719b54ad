// The image part of a `gaze view` page for image runs. The payload carries the RGB bytes the
// model saw ([h, w, 3], at most 224 a side as the run stores it: ~150 KB), the metadata the grid
// and each token's cell; the viewer (viewer/image.js) draws them on a canvas, so nothing from the
// run becomes markup and the page's CSP (no img-src beyond data:) is unchanged.
#include "render/html_image.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool usable(const struct gaze_run * run) {
    return run && run->image && run->patch_rc && run->image_h > 0 && run->image_w > 0 &&
           run->image_h <= 4096 && run->image_w <= 4096 && run->grid_rows > 0 && run->grid_cols > 0 &&
           run->grid_rows <= 4096 && run->grid_cols <= 4096 && run->T > 0;
}

size_t gaze_html_image_bytes(const struct gaze_run * run) {
    if (!usable(run)) return 0;
    return ((size_t)run->image_h * (size_t)run->image_w * 3 + 3) & ~(size_t)3;
}

size_t gaze_html_image_meta_max(const struct gaze_run * run) {
    return usable(run) ? 256 + 24 * (size_t)run->T : 1;
}

char * gaze_html_image_meta(const struct gaze_run * run, size_t off) {
    const size_t cap = gaze_html_image_meta_max(run);
    char * s = malloc(cap);
    if (!s) return NULL;
    s[0] = '\0';
    if (!usable(run)) return s;
    size_t n = (size_t)snprintf(s, cap, ",\"image\":{\"h\":%lld,\"w\":%lld,\"rows\":%lld,\"cols\":%lld,\"patch\":%lld,\"off\":%zu,\"rc\":[",
                                (long long)run->image_h, (long long)run->image_w, (long long)run->grid_rows,
                                (long long)run->grid_cols, (long long)run->patch_size, off);
    for (int64_t t = 0; t < run->T && n < cap; t++) {
        int32_t r = run->patch_rc[2 * t], c = run->patch_rc[2 * t + 1];
        if (r < 0 || c < 0 || r >= run->grid_rows || c >= run->grid_cols) r = c = -1;   // not a cell: shown as a token
        n += (size_t)snprintf(s + n, cap - n, t ? ",%d,%d" : "%d,%d", (int)r, (int)c);
    }
    if (n < cap) n += (size_t)snprintf(s + n, cap - n, "]}");
    if (n >= cap) { free(s); return NULL; }   // cannot happen: cap bounds every number
    return s;
}

void gaze_html_image_write(const struct gaze_run * run, uint8_t * dst) {
    const size_t n = (size_t)run->image_h * (size_t)run->image_w * 3, all = gaze_html_image_bytes(run);
    if (!all) return;
    memcpy(dst, run->image, n);
    memset(dst + n, 0, all - n);
}

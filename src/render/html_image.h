// The image part of a `gaze view` page (image runs; render/html_image.c): the RGB image the
// model saw and each token's patch cell, read by the viewer's image tab (viewer/image.js).
#ifndef GAZE_RENDER_HTML_IMAGE_H
#define GAZE_RENDER_HTML_IMAGE_H
#include "gaze.h"
#include <stddef.h>
#include <stdint.h>

// Payload bytes of the image (a multiple of 4), 0 for a run without a usable image and grid.
size_t gaze_html_image_bytes(const struct gaze_run * run);
// Upper bound of the length of gaze_html_image_meta's text.
size_t gaze_html_image_meta_max(const struct gaze_run * run);
// ,"image":{...} naming payload offset off (malloc'd, NUL-terminated; "" for text runs); NULL
// when out of memory.
char * gaze_html_image_meta(const struct gaze_run * run, size_t off);
// The image's bytes into dst [gaze_html_image_bytes(run)].
void gaze_html_image_write(const struct gaze_run * run, uint8_t * dst);

#endif

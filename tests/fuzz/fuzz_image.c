// Image decoders on arbitrary bytes (gaze_image_load_buffer: PNG through libpng, JPEG through
// libjpeg-turbo, EXIF orientation), then the preprocessing every vision model applies. A decoded
// image must keep gaze.h's promises: sides >= 1 within the pixel budget, every byte readable;
// a refusal has a status and a clean message naming the buffer; resizing any decoded image to
// small targets with each filter, and a ViT / CLIP-style processor, succeed.
#include "fuzz_common.h"
#include "core/core.h"

#define MAX_PIXELS (1 << 20)   // keeps one input's decode under ~3 MiB

int LLVMFuzzerInitialize(int * argc, char *** argv) {
    fuzz_setup();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    uint8_t * buf = fuzz_dup(data, size);
    struct gaze_image img;
    enum gaze_status s = gaze_image_load_buffer(&img, buf, size, "fuzz.img", MAX_PIXELS);
    free(buf);
    if (s != GAZE_OK) {
        fuzz_check_failure(s, "image load");
        FUZZ_REQUIRE(strstr(gaze_last_error(), "fuzz.img") != NULL, "message without the label: %s", gaze_last_error());
        FUZZ_REQUIRE(img.rgb == NULL && img.width == 0 && img.height == 0, "image not empty on failure");
        return 0;
    }
    FUZZ_REQUIRE(gaze_image_sniff(data, size), "decoded bytes without PNG/JPEG magic");
    FUZZ_REQUIRE(img.width >= 1 && img.height >= 1 && img.width * img.height <= MAX_PIXELS && img.rgb,
                 "decoded %lld x %lld", (long long)img.width, (long long)img.height);
    volatile uint8_t x = img.rgb[0] ^ img.rgb[img.width * img.height * 3 - 1];
    (void)x;
    // resampling: every filter to a small target derived from the input
    const int64_t tw = 1 + (size % 17), th = 1 + (size / 17 % 13);
    for (int f = GAZE_RESAMPLE_LANCZOS; f <= GAZE_RESAMPLE_HAMMING; f++) {
        struct gaze_image out;
        s = gaze_image_resize(&img, tw, th, (enum gaze_resample)f, &out);
        FUZZ_REQUIRE(s == GAZE_OK && out.width == tw && out.height == th, "resize %d: %s", f, gaze_last_error());
        gaze_image_free(&out);
    }
    // the processors: ViT (square resize) and CLIP-like (shortest edge + crop with padding)
    struct gaze_image_proc vit = { .do_resize = true, .do_rescale = true, .do_normalize = true, .size_h = 16, .size_w = 16,
                                   .resample = GAZE_RESAMPLE_BILINEAR, .rescale_factor = 1.0 / 255,
                                   .mean = { 0.5f, 0.5f, 0.5f }, .std = { 0.5f, 0.5f, 0.5f } };
    struct gaze_image_proc clip = vit;
    clip.size_h = clip.size_w = 0;
    clip.shortest_edge = 12;
    clip.do_center_crop = true;
    clip.crop_h = 14;
    clip.crop_w = 9;
    clip.resample = GAZE_RESAMPLE_BICUBIC;
    const struct gaze_image_proc * procs[2] = { &vit, &clip };
    for (int p = 0; p < 2; p++) {
        float * pv = NULL;
        int64_t h = 0, w = 0;
        struct gaze_image shown;
        s = gaze_image_preprocess(procs[p], &img, &pv, &h, &w, &shown);
        // a very elongated image can make the shortest-edge resize's long side out of range
        if (s) { fuzz_check_failure(s, "preprocess"); continue; }
        FUZZ_REQUIRE(h == (p ? 14 : 16) && w == (p ? 9 : 16) && shown.width == w && shown.height == h, "processor %d shape", p);
        for (int64_t k = 0; k < 3 * h * w; k++) FUZZ_REQUIRE(pv[k] >= -1.0001f && pv[k] <= 1.0001f, "pixel value %g", pv[k]);
        free(pv);
        gaze_image_free(&shown);
    }
    gaze_image_free(&img);
    return 0;
}

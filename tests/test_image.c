// Image decoding and preprocessing against PIL + transformers (tests/reference/gen_image_fixtures.py):
// every committed image decodes to exactly the RGB bytes of transformers' load_image, and every
// processor's pixel_values match to 1e-5; malformed files give errors naming the file.
#include "check.h"
#include "core/core.h"
#include <string.h>

#define DIR "tests/fixtures/images"

static int n_names;
static char names[64][64];

static void read_manifest(void) {
    FILE * f = fopen(DIR "/MANIFEST", "r");
    CHECK(f != NULL, "open MANIFEST");
    if (!f) return;
    while (n_names < 64 && fgets(names[n_names], sizeof names[0], f)) {
        names[n_names][strcspn(names[n_names], "\n")] = 0;
        if (names[n_names][0]) n_names++;
    }
    fclose(f);
}

static void test_decode(void) {
    struct gaze_safetensors * st = NULL;
    CHECK(gaze_safetensors_open(&st, DIR "/decoded.safetensors") == GAZE_OK, "%s", gaze_last_error());
    if (!st) return;
    for (int i = 0; i < n_names; i++) {
        char path[4400];
        snprintf(path, sizeof path, DIR "/%s", names[i]);
        struct gaze_image img;
        enum gaze_status s = gaze_image_load(&img, path, 0);
        CHECK(s == GAZE_OK, "%s: %s", names[i], gaze_last_error());
        const struct gaze_st_tensor * t = gaze_safetensors_find(st, names[i]);
        CHECK(t && t->dtype == GAZE_DTYPE_U8 && t->n_dims == 3, "%s: reference", names[i]);
        if (s || !t) continue;
        CHECK(t->shape[0] == img.height && t->shape[1] == img.width && t->shape[2] == 3,
              "%s: %lld x %lld, PIL %lld x %lld", names[i], (long long)img.width, (long long)img.height,
              (long long)t->shape[1], (long long)t->shape[0]);
        if (t->shape[0] == img.height && t->shape[1] == img.width) {
            const uint8_t * ref = t->data;
            int64_t bad = 0, maxd = 0;
            for (int64_t k = 0; k < img.width * img.height * 3; k++) {
                const int64_t d = llabs((long long)ref[k] - img.rgb[k]);
                bad += d != 0;
                if (d > maxd) maxd = d;
            }
            CHECK(bad == 0, "%s: %lld bytes differ from PIL (max %lld)", names[i], (long long)bad, (long long)maxd);
        }
        gaze_image_free(&img);
    }
    gaze_safetensors_free(st);
}

static void test_processor(const char * pname) {
    char folder[256], path[512];
    snprintf(folder, sizeof folder, DIR "/proc_%s", pname);
    snprintf(path, sizeof path, "%s/pixel_values.safetensors", folder);
    struct gaze_image_proc proc;
    enum gaze_status s = gaze_image_proc_load(&proc, folder, 0);
    CHECK(s == GAZE_OK, "%s: %s", pname, gaze_last_error());
    struct gaze_safetensors * st = NULL;
    CHECK(gaze_safetensors_open(&st, path) == GAZE_OK, "%s", gaze_last_error());
    if (s || !st) { gaze_safetensors_free(st); return; }
    double worst = 0;
    for (int i = 0; i < n_names; i++) {
        char ip[4400];
        snprintf(ip, sizeof ip, DIR "/%s", names[i]);
        struct gaze_image img, shown;
        if (gaze_image_load(&img, ip, 0)) continue;   // test_decode reports it
        float * pv = NULL;
        int64_t h = 0, w = 0;
        s = gaze_image_preprocess(&proc, &img, &pv, &h, &w, &shown);
        CHECK(s == GAZE_OK, "%s %s: %s", pname, names[i], gaze_last_error());
        const struct gaze_st_tensor * t = gaze_safetensors_find(st, names[i]);
        CHECK(t && t->dtype == GAZE_DTYPE_F32 && t->n_dims == 3 && t->shape[0] == 3 && t->shape[1] == h && t->shape[2] == w,
              "%s %s: shape [3, %lld, %lld] vs reference", pname, names[i], (long long)h, (long long)w);
        if (!s && t && t->n_dims == 3 && t->shape[1] == h && t->shape[2] == w) {
            const float * ref = t->data;
            double md = 0;
            for (int64_t k = 0; k < 3 * h * w; k++) md = fmax(md, fabs((double)ref[k] - pv[k]));
            CHECK(md <= 1e-5, "%s %s: pixel_values differ by %g", pname, names[i], md);
            worst = fmax(worst, md);
            CHECK(shown.width == w && shown.height == h && shown.rgb, "%s: shown image", names[i]);
        }
        free(pv);
        gaze_image_free(&shown);
        gaze_image_free(&img);
    }
    printf("  processor %-8s max |pixel_values - transformers| = %g\n", pname, worst);
    gaze_safetensors_free(st);
}

static void expect_error(const char * file, enum gaze_status want, const char * needle, int64_t max_pixels) {
    char path[4400];
    snprintf(path, sizeof path, DIR "/%s", file);
    struct gaze_image img;
    enum gaze_status s = gaze_image_load(&img, path, max_pixels);
    CHECK(s == want, "%s: %s, expected %s (%s)", file, gaze_status_name(s), gaze_status_name(want), gaze_last_error());
    CHECK(strstr(gaze_last_error(), path) != NULL, "%s: message names the file: %s", file, gaze_last_error());
    CHECK(strstr(gaze_last_error(), needle) != NULL, "%s: message says '%s': %s", file, needle, gaze_last_error());
    CHECK(img.rgb == NULL && img.width == 0, "%s: image left empty", file);
    gaze_image_free(&img);
}

static void test_errors(void) {
    expect_error("bad/truncated.png", GAZE_ERR_FORMAT, "truncated", 0);
    expect_error("bad/truncated.jpg", GAZE_ERR_FORMAT, "truncated", 0);
    expect_error("bad/notimage.png", GAZE_ERR_FORMAT, "not a PNG or JPEG", 0);
    expect_error("bad/empty.jpg", GAZE_ERR_FORMAT, "not a PNG or JPEG", 0);
    expect_error("bad/bomb.png", GAZE_ERR_LIMIT, "30000 x 30000", 0);
    expect_error("bad/bomb.jpg", GAZE_ERR_LIMIT, "30000 x 30000", 0);
    expect_error("bad/huge_chunk.png", GAZE_ERR_FORMAT, "chunk eXIf at byte 33 claims 536870938 bytes, past the end", 0);
    expect_error("rgb_120x90.png", GAZE_ERR_LIMIT, "above the limit of 10000", 10000);
    expect_error("rgb420_45x33.jpg", GAZE_ERR_LIMIT, "above the limit of 1000", 1000);
    expect_error("missing.png", GAZE_ERR_IO, "No such file", 0);
    // sniffing
    CHECK(gaze_image_sniff("\x89PNG\r\n\x1a\n", 8) && gaze_image_sniff("\xff\xd8\xff\xe0", 4), "magic");
    CHECK(!gaze_image_sniff("{\"gaze\"", 7) && !gaze_image_sniff("\xff\xd8", 2), "non-magic");
}

static void test_resize_identity_and_errors(void) {
    uint8_t px[2 * 3 * 3];
    for (int i = 0; i < 18; i++) px[i] = (uint8_t)(i * 13);
    struct gaze_image in = { 3, 2, px }, out;
    CHECK(gaze_image_resize(&in, 3, 2, GAZE_RESAMPLE_BICUBIC, &out) == GAZE_OK && !memcmp(out.rgb, px, 18), "identity");
    gaze_image_free(&out);
    CHECK(gaze_image_resize(&in, 3, 2, GAZE_RESAMPLE_NEAREST, &out) == GAZE_ERR_UNSUPPORTED, "nearest refused");
    CHECK(gaze_image_resize(&in, 0, 2, GAZE_RESAMPLE_BILINEAR, &out) == GAZE_ERR_INVALID_ARG, "zero width");
}

int main(void) {
    read_manifest();
    CHECK(n_names >= 20, "MANIFEST lists %d images", n_names);
    test_decode();
    static const char * const procs[] = { "vit", "deit", "bit", "clip", "lanczos", "box", "hamming" };
    for (size_t i = 0; i < sizeof procs / sizeof procs[0]; i++) test_processor(procs[i]);
    test_errors();
    test_resize_identity_and_errors();
    return check_summary("test_image");
}

// Hugging Face image preprocessing, exactly: PIL's resampling (ImagingResample in 8-bit fixed
// point, as transformers resizes through PIL), the centre crop, rescale and normalisation of
// the image processors (ViT, DeiT, BiT/DINOv2, CLIP), in the order and precision they use.
#include "core/core.h"
#include "formats/json.h"
#include <math.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * PIL's resampling (libImaging/Resample.c)
 * ------------------------------------------------------------------------------------------- */

#define PRECISION_BITS (32 - 8 - 2)   // PIL's fixed point for 8-bit images

static double f_box(double x) { return x > -0.5 && x <= 0.5 ? 1.0 : 0.0; }
static double f_bilinear(double x) {
    if (x < 0.0) x = -x;
    return x < 1.0 ? 1.0 - x : 0.0;
}
static double f_hamming(double x) {
    if (x < 0.0) x = -x;
    if (x == 0.0) return 1.0;
    if (x >= 1.0) return 0.0;
    x = x * M_PI;
    return sin(x) / x * (0.54 + 0.46 * cos(x));
}
static double f_bicubic(double x) {
    const double a = -0.5;
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}
static double sinc(double x) {
    if (x == 0.0) return 1.0;
    x = x * M_PI;
    return sin(x) / x;
}
static double f_lanczos(double x) { return -3.0 <= x && x < 3.0 ? sinc(x) * sinc(x / 3) : 0.0; }

struct filter { double (*fn)(double); double support; };

// precompute_coeffs + normalize_coeffs_8bpc: per output pixel, the first input pixel, the
// count, and ksize fixed-point weights. NULL on allocation failure.
static int32_t * coeffs(int64_t in_size, int64_t out_size, const struct filter * f, int64_t * ksize_out,
                        int64_t ** bounds_out) {
    double scale = (double)in_size / (double)out_size, filterscale = scale;
    if (filterscale < 1.0) filterscale = 1.0;
    const double support = f->support * filterscale;
    const int64_t ksize = (int64_t)ceil(support) * 2 + 1;
    double * kk = malloc((size_t)(out_size * ksize) * sizeof *kk);
    int32_t * ik = malloc((size_t)(out_size * ksize) * sizeof *ik);
    int64_t * bounds = malloc((size_t)out_size * 2 * sizeof *bounds);
    if (!kk || !ik || !bounds) { free(kk); free(ik); free(bounds); return NULL; }
    for (int64_t xx = 0; xx < out_size; xx++) {
        const double center = (xx + 0.5) * scale, ss = 1.0 / filterscale;
        double ww = 0.0;
        int64_t xmin = (int64_t)(int)(center - support + 0.5);   // C's (int): towards zero
        if (xmin < 0) xmin = 0;
        int64_t xmax = (int64_t)(int)(center + support + 0.5);
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        double * k = kk + xx * ksize;
        int64_t x = 0;
        for (; x < xmax; x++) {
            const double w = f->fn((x + xmin - center + 0.5) * ss);
            k[x] = w;
            ww += w;
        }
        for (x = 0; x < xmax; x++)
            if (ww != 0.0) k[x] /= ww;
        for (; x < ksize; x++) k[x] = 0;
        bounds[2 * xx] = xmin;
        bounds[2 * xx + 1] = xmax;
    }
    for (int64_t i = 0; i < out_size * ksize; i++)
        ik[i] = kk[i] < 0 ? (int32_t)(-0.5 + kk[i] * (1 << PRECISION_BITS))
                          : (int32_t)(0.5 + kk[i] * (1 << PRECISION_BITS));
    free(kk);
    *ksize_out = ksize;
    *bounds_out = bounds;
    return ik;
}

static inline uint8_t clip8(int32_t v) {
    if (v >= (1 << PRECISION_BITS << 8)) return 255;
    if (v <= 0) return 0;
    return (uint8_t)(v >> PRECISION_BITS);
}

enum gaze_status gaze_image_resize(const struct gaze_image * in, int64_t width, int64_t height,
                                   enum gaze_resample filter, struct gaze_image * out) {
    if (!in || !out || !in->rgb || in->width < 1 || in->height < 1)
        return gaze_error(GAZE_ERR_INVALID_ARG, "image resize: NULL or empty image");
    memset(out, 0, sizeof *out);
    if (width < 1 || height < 1 || width > (1 << 16) || height > (1 << 16))
        return gaze_error(GAZE_ERR_INVALID_ARG, "image resize: target %lld x %lld out of range",
                          (long long)width, (long long)height);
    struct filter f;
    switch (filter) {
    case GAZE_RESAMPLE_BOX:      f = (struct filter){ f_box, 0.5 }; break;
    case GAZE_RESAMPLE_BILINEAR: f = (struct filter){ f_bilinear, 1.0 }; break;
    case GAZE_RESAMPLE_HAMMING:  f = (struct filter){ f_hamming, 1.0 }; break;
    case GAZE_RESAMPLE_BICUBIC:  f = (struct filter){ f_bicubic, 2.0 }; break;
    case GAZE_RESAMPLE_LANCZOS:  f = (struct filter){ f_lanczos, 3.0 }; break;
    default:
        return gaze_error(GAZE_ERR_UNSUPPORTED, "image resize: resample %d is not supported "
                          "(1 lanczos, 2 bilinear, 3 bicubic, 4 box, 5 hamming)", (int)filter);
    }
    const int64_t W = in->width, H = in->height;
    const bool need_h = width != W, need_v = height != H;
    int64_t kh = 0, kv = 0, * bh = NULL, * bv = NULL;
    int32_t * ch = need_h ? coeffs(W, width, &f, &kh, &bh) : NULL;
    int32_t * cv = need_v ? coeffs(H, height, &f, &kv, &bv) : NULL;
    uint8_t * tmp = NULL, * dst = malloc((size_t)(width * height * 3));
    if ((need_h && !ch) || (need_v && !cv) || !dst) goto nomem;
    // horizontal pass over the rows the vertical pass reads, [y0, y1)
    const uint8_t * src = in->rgb;
    int64_t y0 = 0, y1 = H;
    if (need_h) {
        if (need_v) { y0 = bv[0]; y1 = bv[2 * (height - 1)] + bv[2 * (height - 1) + 1]; }
        uint8_t * hout = need_v ? (tmp = malloc((size_t)((y1 - y0) * width * 3))) : dst;
        if (!hout) goto nomem;
        for (int64_t y = y0; y < y1; y++) {
            const uint8_t * row = in->rgb + y * W * 3;
            uint8_t * o = hout + (y - y0) * width * 3;
            for (int64_t xx = 0; xx < width; xx++) {
                const int64_t xmin = bh[2 * xx], n = bh[2 * xx + 1];
                const int32_t * k = ch + xx * kh;
                int32_t s0 = 1 << (PRECISION_BITS - 1), s1 = s0, s2 = s0;
                for (int64_t x = 0; x < n; x++) {
                    const uint8_t * p = row + (x + xmin) * 3;
                    s0 += p[0] * k[x]; s1 += p[1] * k[x]; s2 += p[2] * k[x];
                }
                o[3 * xx] = clip8(s0); o[3 * xx + 1] = clip8(s1); o[3 * xx + 2] = clip8(s2);
            }
        }
        src = hout;
    }
    if (need_v) {
        const int64_t sw = need_h ? width : W;   // = width either way
        for (int64_t yy = 0; yy < height; yy++) {
            const int64_t ymin = bv[2 * yy] - y0, n = bv[2 * yy + 1];
            const int32_t * k = cv + yy * kv;
            for (int64_t xx = 0; xx < width; xx++) {
                int32_t s0 = 1 << (PRECISION_BITS - 1), s1 = s0, s2 = s0;
                for (int64_t y = 0; y < n; y++) {
                    const uint8_t * p = src + ((y + ymin) * sw + xx) * 3;
                    s0 += p[0] * k[y]; s1 += p[1] * k[y]; s2 += p[2] * k[y];
                }
                uint8_t * o = dst + (yy * width + xx) * 3;
                o[0] = clip8(s0); o[1] = clip8(s1); o[2] = clip8(s2);
            }
        }
    }
    if (!need_h && !need_v) memcpy(dst, in->rgb, (size_t)(W * H * 3));
    free(tmp); free(ch); free(cv); free(bh); free(bv);
    *out = (struct gaze_image){ width, height, dst };
    return GAZE_OK;
nomem:
    free(tmp); free(ch); free(cv); free(bh); free(bv); free(dst);
    return gaze_error(GAZE_ERR_NOMEM, "image resize: out of memory for %lld x %lld", (long long)width, (long long)height);
}

/* ---------------------------------------------------------------------------------------------
 * preprocessor_config.json
 * ------------------------------------------------------------------------------------------- */

// "size" / "crop_size": an int, {height, width} or {shortest_edge}
static enum gaze_status read_size(const json_t * cfg, const char * key, const char * path, bool int_is_square,
                                  int64_t * h, int64_t * w, int64_t * shortest) {
    const json_t * v = json_object_get(cfg, key);
    if (!v || json_is_null(v)) return GAZE_OK;   // keep the defaults
    *h = *w = 0;
    if (shortest) *shortest = 0;
    if (json_is_integer(v)) {
        const json_int_t n = json_integer_value(v);
        if (n < 1 || n > 8192) return gaze_error(GAZE_ERR_FORMAT, "%s: %s %lld out of range 1..8192", path, key, (long long)n);
        if (int_is_square || !shortest) *h = *w = n;
        else *shortest = n;
        return GAZE_OK;
    }
    if (!json_is_object(v)) return gaze_error(GAZE_ERR_FORMAT, "%s: %s must be an integer or an object", path, key);
    const char * k;
    const json_t * x;
    json_object_foreach((json_t *)v, k, x) {
        int64_t * dst = !strcmp(k, "height") ? h : !strcmp(k, "width") ? w
                      : (!strcmp(k, "shortest_edge") && shortest) ? shortest : NULL;
        if (!dst)
            return gaze_error(GAZE_ERR_UNSUPPORTED, "%s: %s.%s is not supported (height and width%s)", path, key, k,
                              shortest ? ", or shortest_edge" : "");
        if (!json_is_integer(x) || json_integer_value(x) < 1 || json_integer_value(x) > 8192)
            return gaze_error(GAZE_ERR_FORMAT, "%s: %s.%s must be an integer in 1..8192", path, key, k);
        *dst = json_integer_value(x);
    }
    if ((*h != 0) != (*w != 0) || (shortest && *shortest && *h))
        return gaze_error(GAZE_ERR_FORMAT, "%s: %s needs height and width together, or shortest_edge alone", path, key);
    if (!*h && !(shortest && *shortest)) return gaze_error(GAZE_ERR_FORMAT, "%s: %s is empty", path, key);
    return GAZE_OK;
}

static enum gaze_status read_triple(const json_t * cfg, const char * key, const char * path, float out[3]) {
    const json_t * v = json_object_get(cfg, key);
    if (!v || json_is_null(v)) return GAZE_OK;
    if (json_is_number(v)) { out[0] = out[1] = out[2] = (float)json_number_value(v); }
    else if (json_is_array(v) && json_array_size(v) == 3) {
        for (int i = 0; i < 3; i++) {
            const json_t * x = json_array_get(v, (size_t)i);
            if (!json_is_number(x)) return gaze_error(GAZE_ERR_FORMAT, "%s: %s[%d] is not a number", path, key, i);
            out[i] = (float)json_number_value(x);   // numpy: np.array(mean, dtype=float32)
        }
    } else return gaze_error(GAZE_ERR_FORMAT, "%s: %s must be 3 numbers (one per RGB channel)", path, key);
    for (int i = 0; i < 3; i++)
        if (!isfinite(out[i])) return gaze_error(GAZE_ERR_FORMAT, "%s: %s[%d] is not finite", path, key, i);
    return GAZE_OK;
}

enum gaze_status gaze_image_proc_load(struct gaze_image_proc * p, const char * folder, int64_t image_size) {
    if (!p || !folder) return gaze_error(GAZE_ERR_INVALID_ARG, "image processor: NULL argument");
    if (image_size <= 0) image_size = 224;
    // ViTImageProcessor's defaults
    *p = (struct gaze_image_proc){ .do_resize = true, .do_rescale = true, .do_normalize = true,
                                   .size_h = image_size, .size_w = image_size, .resample = GAZE_RESAMPLE_BILINEAR,
                                   .rescale_factor = 1.0 / 255, .mean = { 0.5f, 0.5f, 0.5f }, .std = { 0.5f, 0.5f, 0.5f } };
    char path[4096];
    snprintf(path, sizeof path, "%s/preprocessor_config.json", folder);
    FILE * f = fopen(path, "rb");
    enum gaze_status s = GAZE_OK;
    if (f) {
        fclose(f);
        json_t * cfg = NULL;
        if ((s = gaze_json_load_file(&cfg, path, 1 << 20, 0))) return s;
        const char * type = "ViTImageProcessor";
        s = gaze_json_opt_string(cfg, "image_processor_type", path, "", &type);
        if (!s && !*type) s = gaze_json_opt_string(cfg, "feature_extractor_type", path, "ViTImageProcessor", &type);
        static const char * const known[] = { "ViTImageProcessor", "ViTFeatureExtractor", "DeiTImageProcessor",
                                              "DeiTFeatureExtractor", "BitImageProcessor", "CLIPImageProcessor",
                                              "CLIPFeatureExtractor", "SiglipImageProcessor" };
        bool ok = false;
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) ok |= !strcmp(type, known[i]);
        if (!s && !ok)
            s = gaze_error(GAZE_ERR_UNSUPPORTED, "%s: image processor \"%s\" is not supported (ViT, DeiT, BiT/DINOv2, "
                           "CLIP image processors)", path, type);
        const bool shortest_default = strncmp(type, "ViT", 3) != 0 && strncmp(type, "DeiT", 4) != 0 &&
                                      strncmp(type, "Siglip", 6) != 0;
        int64_t resample = p->resample;
        if (!s) s = gaze_json_opt_bool(cfg, "do_resize", path, true, &p->do_resize);
        if (!s) s = gaze_json_opt_bool(cfg, "do_center_crop", path, false, &p->do_center_crop);
        if (!s) s = gaze_json_opt_bool(cfg, "do_rescale", path, true, &p->do_rescale);
        if (!s) s = gaze_json_opt_bool(cfg, "do_normalize", path, true, &p->do_normalize);
        if (!s) s = gaze_json_opt_int(cfg, "resample", path, p->resample, &resample);
        if (!s) s = gaze_json_opt_number(cfg, "rescale_factor", path, p->rescale_factor, &p->rescale_factor);
        if (!s) s = read_size(cfg, "size", path, !shortest_default, &p->size_h, &p->size_w, &p->shortest_edge);
        if (!s) { p->crop_h = p->crop_w = image_size; s = read_size(cfg, "crop_size", path, true, &p->crop_h, &p->crop_w, NULL); }
        if (!s) s = read_triple(cfg, "image_mean", path, p->mean);
        if (!s) s = read_triple(cfg, "image_std", path, p->std);
        bool flag = false;
        if (!s) s = gaze_json_opt_bool(cfg, "do_pad", path, false, &flag);
        if (!s && flag) s = gaze_error(GAZE_ERR_UNSUPPORTED, "%s: do_pad is not supported", path);
        const json_t * pct = json_object_get(cfg, "crop_pct");
        if (!s && pct && !json_is_null(pct)) s = gaze_error(GAZE_ERR_UNSUPPORTED, "%s: crop_pct is not supported", path);
        if (!s && (resample < 1 || resample > 5))
            s = gaze_error(GAZE_ERR_UNSUPPORTED, "%s: resample %lld is not supported (1 lanczos, 2 bilinear, 3 bicubic, "
                           "4 box, 5 hamming)", path, (long long)resample);
        if (!s && !(p->rescale_factor > 0 && p->rescale_factor < 1e3))
            s = gaze_error(GAZE_ERR_FORMAT, "%s: rescale_factor %g out of range", path, p->rescale_factor);
        for (int i = 0; !s && i < 3; i++)
            if (!(p->std[i] != 0)) s = gaze_error(GAZE_ERR_FORMAT, "%s: image_std[%d] is 0", path, i);
        p->resample = (enum gaze_resample)resample;
        json_decref(cfg);
        if (s) return s;
    }
    p->out_h = p->do_center_crop ? p->crop_h : p->do_resize ? (p->shortest_edge ? p->shortest_edge : p->size_h) : image_size;
    p->out_w = p->do_center_crop ? p->crop_w : p->do_resize ? (p->shortest_edge ? p->shortest_edge : p->size_w) : image_size;
    return GAZE_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Preprocessing
 * ------------------------------------------------------------------------------------------- */

// transformers' center_crop on the 8-bit image: Python's floor division for the offsets, and
// zero padding when the crop is larger than the image.
static enum gaze_status center_crop(const struct gaze_image * in, int64_t ch, int64_t cw, struct gaze_image * out) {
    const int64_t H = in->height, W = in->width;
    uint8_t * o = calloc((size_t)(ch * cw), 3);
    if (!o) return gaze_error(GAZE_ERR_NOMEM, "image crop: out of memory");
    // the crop's top-left in image coordinates (may be negative: padding)
    const int64_t dh = H - ch, dw = W - cw;
    const int64_t top = dh >= 0 ? dh / 2 : -((-dh + 1) / 2), left = dw >= 0 ? dw / 2 : -((-dw + 1) / 2);
    for (int64_t y = 0; y < ch; y++) {
        const int64_t sy = top + y;
        if (sy < 0 || sy >= H) continue;
        for (int64_t x = 0; x < cw; x++) {
            const int64_t sx = left + x;
            if (sx >= 0 && sx < W) memcpy(o + (y * cw + x) * 3, in->rgb + (sy * W + sx) * 3, 3);
        }
    }
    *out = (struct gaze_image){ cw, ch, o };
    return GAZE_OK;
}

enum gaze_status gaze_image_preprocess(const struct gaze_image_proc * p, const struct gaze_image * img,
                                       float ** pixel_values, int64_t * h, int64_t * w,
                                       struct gaze_image * shown) {
    if (!p || !img || !img->rgb || !pixel_values || !h || !w)
        return gaze_error(GAZE_ERR_INVALID_ARG, "image preprocess: NULL argument");
    *pixel_values = NULL;
    if (shown) memset(shown, 0, sizeof *shown);
    struct gaze_image cur = { img->width, img->height, NULL }, tmp;
    const uint8_t * px = img->rgb;
    enum gaze_status s = GAZE_OK;
    if (p->do_resize) {
        int64_t nh = p->size_h, nw = p->size_w;
        if (p->shortest_edge) {   // get_resize_output_image_size(default_to_square=False)
            const int64_t H = img->height, W = img->width, sh = W <= H ? W : H, lo = W <= H ? H : W;
            const int64_t nl = (int64_t)((double)(p->shortest_edge * lo) / (double)sh);
            nh = W <= H ? nl : p->shortest_edge;
            nw = W <= H ? p->shortest_edge : nl;
        }
        if ((s = gaze_image_resize(img, nw, nh, p->resample, &tmp))) return s;
        cur = tmp;
        px = cur.rgb;
    }
    if (p->do_center_crop) {
        struct gaze_image src = { cur.width, cur.height, (uint8_t *)px };
        s = center_crop(&src, p->crop_h, p->crop_w, &tmp);
        free(cur.rgb);
        if (s) return s;
        cur = tmp;
        px = cur.rgb;
    }
    const int64_t H = cur.height, W = cur.width;
    float * pv = malloc((size_t)(3 * H * W) * sizeof *pv);
    if (!pv) { free(cur.rgb); return gaze_error(GAZE_ERR_NOMEM, "image preprocess: out of memory"); }
    for (int64_t c = 0; c < 3; c++)
        for (int64_t i = 0; i < H * W; i++) {
            // rescale in float64, then float32; normalise in float32 (numpy's dtypes)
            float x = p->do_rescale ? (float)((double)px[i * 3 + c] * p->rescale_factor) : (float)px[i * 3 + c];
            if (p->do_normalize) x = (x - p->mean[c]) / p->std[c];
            pv[c * H * W + i] = x;
        }
    if (shown) {
        if (cur.rgb) { *shown = cur; cur.rgb = NULL; }
        else {
            uint8_t * copy = malloc((size_t)(H * W * 3));
            if (!copy) { free(pv); return gaze_error(GAZE_ERR_NOMEM, "image preprocess: out of memory"); }
            memcpy(copy, img->rgb, (size_t)(H * W * 3));
            *shown = (struct gaze_image){ W, H, copy };
        }
    }
    free(cur.rgb);
    *pixel_values = pv;
    *h = H;
    *w = W;
    return GAZE_OK;
}

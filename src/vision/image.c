// PNG (libpng) and JPEG (libjpeg-turbo) decoding into 8-bit RGB, converted as PIL's
// Image.convert("RGB") and oriented as transformers' load_image (ImageOps.exif_transpose), so
// the pixels gaze feeds a vision model are those the Hugging Face pipeline feeds it.
#include "core/core.h"
#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <jpeglib.h>
#include <jerror.h>

#define IMAGE_MAX_FILE ((size_t)1 << 30)   // bytes read from one image file
#define JPEG_MAX_SCANS 500                 // progressive scans (each re-reads the whole image)

void gaze_image_free(struct gaze_image * img) {
    if (!img) return;
    free(img->rgb);
    memset(img, 0, sizeof *img);
}

static bool is_png(const uint8_t * b, size_t n) {
    return n >= 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8);
}
static bool is_jpeg(const uint8_t * b, size_t n) { return n >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF; }

bool gaze_image_sniff(const void * buf, size_t size) {
    return buf && (is_png(buf, size) || is_jpeg(buf, size));
}

static enum gaze_status check_dims(const char * label, int64_t w, int64_t h, int64_t max_pixels) {
    if (w < 1 || h < 1) return gaze_error(GAZE_ERR_FORMAT, "%s: image is %lld x %lld pixels", label, (long long)w, (long long)h);
    if (w * h > max_pixels)
        return gaze_error(GAZE_ERR_LIMIT, "%s: image is %lld x %lld = %lld pixels, above the limit of %lld "
                          "(a decompression bomb, or an image to downscale first)",
                          label, (long long)w, (long long)h, (long long)(w * h), (long long)max_pixels);
    return GAZE_OK;
}

/* ---------------------------------------------------------------------------------------------
 * EXIF orientation
 * ------------------------------------------------------------------------------------------- */

// Tag 0x0112 of IFD0 in a TIFF-structured EXIF block (optionally after "Exif\0\0"); 1 (as
// stored: nothing to do) when absent or malformed, as PIL ignores what it cannot read.
static int exif_orientation(const uint8_t * p, size_t n) {
    if (n >= 6 && !memcmp(p, "Exif\0\0", 6)) { p += 6; n -= 6; }
    if (n < 8) return 1;
    const bool le = p[0] == 'I' && p[1] == 'I';
    if (!le && !(p[0] == 'M' && p[1] == 'M')) return 1;
#define U16(o) (le ? (uint32_t)p[o] | (uint32_t)p[(o) + 1] << 8 : (uint32_t)p[o] << 8 | (uint32_t)p[(o) + 1])
#define U32(o) (le ? U16(o) | U16((o) + 2) << 16 : U16(o) << 16 | U16((o) + 2))
    if (U16(2) != 42) return 1;
    const size_t ifd = U32(4);
    if (ifd > n - 2) return 1;
    const size_t count = U16(ifd);
    for (size_t i = 0; i < count; i++) {
        const size_t e = ifd + 2 + 12 * i;
        if (e > n - 12) return 1;
        if (U16(e) == 0x0112 && U16(e + 2) == 3) {   // SHORT
            const uint32_t v = U16(e + 8);
            return v >= 1 && v <= 8 ? (int)v : 1;
        }
    }
    return 1;
#undef U16
#undef U32
}

// Applies orientation o (2..8) as ImageOps.exif_transpose: the transposition that shows the
// image upright. Returns false when out of memory (img unchanged).
static bool apply_orientation(struct gaze_image * img, int o) {
    if (o < 2 || o > 8) return true;
    const int64_t W = img->width, H = img->height;
    const bool swap = o >= 5;   // TRANSPOSE, ROTATE_270, TRANSVERSE, ROTATE_90
    const int64_t OW = swap ? H : W, OH = swap ? W : H;
    uint8_t * out = malloc((size_t)(W * H * 3));
    if (!out) return false;
    for (int64_t y = 0; y < OH; y++)
        for (int64_t x = 0; x < OW; x++) {
            int64_t sx, sy;   // source pixel of output (x, y)
            switch (o) {
            case 2: sx = W - 1 - x; sy = y; break;             // FLIP_LEFT_RIGHT
            case 3: sx = W - 1 - x; sy = H - 1 - y; break;     // ROTATE_180
            case 4: sx = x; sy = H - 1 - y; break;             // FLIP_TOP_BOTTOM
            case 5: sx = y; sy = x; break;                     // TRANSPOSE
            case 6: sx = y; sy = H - 1 - x; break;             // ROTATE_270 (90° clockwise)
            case 7: sx = W - 1 - y; sy = H - 1 - x; break;     // TRANSVERSE
            default: sx = W - 1 - y; sy = x; break;            // 8: ROTATE_90 (counter-clockwise)
            }
            memcpy(out + (y * OW + x) * 3, img->rgb + (sy * W + sx) * 3, 3);
        }
    free(img->rgb);
    img->rgb = out;
    img->width = OW;
    img->height = OH;
    return true;
}

/* ---------------------------------------------------------------------------------------------
 * PNG
 * ------------------------------------------------------------------------------------------- */

struct png_src { const uint8_t * p; size_t n, at; };
struct png_err { jmp_buf jb; char msg[200]; };

static void png_read_mem(png_structp png, png_bytep out, png_size_t n) {
    struct png_src * s = png_get_io_ptr(png);
    if (n > s->n - s->at) png_error(png, "file is truncated");
    memcpy(out, s->p + s->at, n);
    s->at += n;
}
static void png_on_error(png_structp png, png_const_charp msg) {
    struct png_err * e = png_get_error_ptr(png);
    snprintf(e->msg, sizeof e->msg, "%s", msg);
    longjmp(e->jb, 1);
}
static void png_on_warning(png_structp png, png_const_charp msg) { (void)png; (void)msg; }

// Every chunk must fit in the file. libpng allocates some chunks (eXIf) at their declared
// length before reading them, so a 1 KiB file declaring a 512 MiB chunk would allocate 512 MiB
// (found by fuzz_image); the file is all in memory here, so a chunk longer than what is left is
// refused first, and no allocation is ever larger than the file.
static enum gaze_status png_check_chunks(const uint8_t * buf, size_t size, const char * label) {
    for (size_t i = 8; i + 8 <= size;) {
        const uint32_t n = (uint32_t)buf[i] << 24 | (uint32_t)buf[i + 1] << 16 | (uint32_t)buf[i + 2] << 8 | buf[i + 3];
        char type[20] = "";
        for (int k = 0; k < 4; k++) {
            const uint8_t c = buf[i + 4 + k];
            const size_t at = strlen(type);
            snprintf(type + at, sizeof type - at, (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ? "%c" : "\\x%02X", c);
        }
        if (n > size - i - 8 || size - i - 8 - n < 4)
            return gaze_error(GAZE_ERR_FORMAT, "%s: bad PNG: chunk %s at byte %zu claims %u bytes, past the end of the "
                              "file (truncated or corrupt)", label, type, i, n);
        if (!memcmp(buf + i + 4, "IEND", 4)) break;
        i += 12 + (size_t)n;
    }
    return GAZE_OK;
}

static enum gaze_status load_png(struct gaze_image * img, const uint8_t * buf, size_t size, const char * label,
                                 int64_t max_pixels) {
    enum gaze_status s0 = png_check_chunks(buf, size, label);
    if (s0) return s0;
    struct png_err err = { .msg = "" };
    struct png_src src = { buf, size, 0 };
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &err, png_on_error, png_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory for the PNG decoder", label);
    }
    uint8_t * volatile rows = NULL;
    png_bytep * volatile row_ptrs = NULL;
    uint8_t * volatile rgb = NULL;
    enum gaze_status s = GAZE_OK;
    if (setjmp(err.jb)) {
        s = gaze_error(GAZE_ERR_FORMAT, "%s: bad PNG: %s", label, err.msg);
        goto out;
    }
    png_set_read_fn(png, &src, png_read_mem);
    png_set_user_limits(png, 1u << 24, 1u << 24);
    png_set_chunk_malloc_max(png, 16u << 20);   // text and other ancillary chunks
    png_read_info(png, info);
    png_uint_32 W, H;
    int depth, ctype, ilace;
    png_get_IHDR(png, info, &W, &H, &depth, &ctype, &ilace, NULL, NULL);
    if ((s = check_dims(label, W, H, max_pixels))) goto out;
    // palette -> RGB (PIL's P -> RGB: palette lookup, tRNS ignored once alpha is dropped);
    // 1/2/4-bit grey scaled to 8 bits as PIL's "1", "L;2", "L;4" unpackers do (x 255, 85, 17)
    if (ctype == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (ctype == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    const int ch = png_get_channels(png, info), bd = png_get_bit_depth(png, info);
    const size_t rowbytes = png_get_rowbytes(png, info);
    if (ch < 1 || ch > 4 || (bd != 8 && bd != 16) || rowbytes != (size_t)W * ch * (bd / 8)) {
        s = gaze_error(GAZE_ERR_FORMAT, "%s: PNG with %d channels of %d bits is not supported", label, ch, bd);
        goto out;
    }
    rows = malloc(rowbytes * H);
    row_ptrs = malloc(H * sizeof(png_bytep));
    rgb = malloc((size_t)W * H * 3);
    if (!rows || !row_ptrs || !rgb) { s = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory for a %u x %u image", label, W, H); goto out; }
    for (png_uint_32 y = 0; y < H; y++) row_ptrs[y] = rows + rowbytes * y;
    png_read_image(png, row_ptrs);
    png_read_end(png, info);
    for (png_uint_32 y = 0; y < H; y++) {
        const uint8_t * r = row_ptrs[y];
        uint8_t * o = rgb + (size_t)y * W * 3;
        for (png_uint_32 x = 0; x < W; x++, o += 3) {
            if (bd == 8) {
                const uint8_t * px = r + (size_t)x * ch;
                if (ch <= 2) o[0] = o[1] = o[2] = px[0];            // L, LA: alpha dropped
                else { o[0] = px[0]; o[1] = px[1]; o[2] = px[2]; }  // RGB, RGBA
            } else {
                const uint8_t * px = r + (size_t)x * ch * 2;      // big-endian samples
                if (ch == 1) o[0] = o[1] = o[2] = px[0] ? 255 : px[1];   // PIL's I;16 -> RGB clips
                else if (ch == 2) o[0] = o[1] = o[2] = px[0];            // LA;16B: high byte
                else { o[0] = px[0]; o[1] = px[2]; o[2] = px[4]; }      // RGB;16B: high bytes
            }
        }
    }
    img->width = W;
    img->height = H;
    img->rgb = rgb;
    rgb = NULL;
#ifdef PNG_eXIf_SUPPORTED
    png_bytep exif = NULL;
    png_uint_32 n_exif = 0;
    if (png_get_eXIf_1(png, info, &n_exif, &exif) && exif &&
        !apply_orientation(img, exif_orientation(exif, n_exif))) {
        gaze_image_free(img);
        s = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory rotating the image", label);
    }
#endif
out:
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    free(row_ptrs);
    free(rgb);
    return s;
}

/* ---------------------------------------------------------------------------------------------
 * JPEG
 * ------------------------------------------------------------------------------------------- */

struct jpeg_err {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    bool truncated;
};
struct jpeg_prog {
    struct jpeg_progress_mgr pub;
    struct jpeg_decompress_struct * cinfo;
};

static void jpeg_on_error(j_common_ptr c) { longjmp(((struct jpeg_err *)c->err)->jb, 1); }
static void jpeg_on_message(j_common_ptr c, int level) {
    // warnings: "premature end of data" is a truncated file (PIL refuses it); others, such as
    // extraneous bytes between markers, PIL accepts, and so do we
    struct jpeg_err * e = (struct jpeg_err *)c->err;
    if (level < 0 && e->pub.msg_code == JWRN_JPEG_EOF) e->truncated = true;
}
static void jpeg_on_progress(j_common_ptr c) {
    // a progressive file of thousands of tiny scans costs a full pass each: bounded here
    struct jpeg_decompress_struct * d = (struct jpeg_decompress_struct *)c;
    if (d->input_scan_number > JPEG_MAX_SCANS) longjmp(((struct jpeg_err *)c->err)->jb, 2);
}

static enum gaze_status load_jpeg(struct gaze_image * img, const uint8_t * buf, size_t size, const char * label,
                                  int64_t max_pixels) {
    struct jpeg_decompress_struct cinfo;
    struct jpeg_err err;
    struct jpeg_prog prog;
    memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = jpeg_on_error;
    err.pub.emit_message = jpeg_on_message;
    err.truncated = false;
    uint8_t * volatile rgb = NULL;
    volatile enum gaze_status s = GAZE_OK;
    volatile bool created = false;
    const int jumped = setjmp(err.jb);
    if (jumped) {
        char msg[JMSG_LENGTH_MAX] = "";
        if (jumped == 2) snprintf(msg, sizeof msg, "more than %d scans", JPEG_MAX_SCANS);
        else err.pub.format_message((j_common_ptr)&cinfo, msg);
        s = gaze_error(GAZE_ERR_FORMAT, "%s: bad JPEG: %s", label, msg);
        goto out;
    }
    jpeg_create_decompress(&cinfo);
    created = true;
    prog.pub.progress_monitor = jpeg_on_progress;
    prog.cinfo = &cinfo;
    cinfo.progress = &prog.pub;
    jpeg_mem_src(&cinfo, buf, (unsigned long)size);
    jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(&cinfo, TRUE);
    if ((s = check_dims(label, cinfo.image_width, cinfo.image_height, max_pixels))) goto out;
    if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
        s = gaze_error(GAZE_ERR_UNSUPPORTED, "%s: CMYK JPEG images are not supported (convert it to RGB first)", label);
        goto out;
    }
    // PIL's decoder settings: islow DCT, fancy upsampling; grey stays grey (L), then replicated
    cinfo.out_color_space = cinfo.jpeg_color_space == JCS_GRAYSCALE ? JCS_GRAYSCALE : JCS_RGB;
    cinfo.dct_method = JDCT_ISLOW;
    cinfo.do_fancy_upsampling = TRUE;
    jpeg_start_decompress(&cinfo);
    const int64_t W = cinfo.output_width, H = cinfo.output_height, ch = cinfo.output_components;
    if (ch != 1 && ch != 3) { s = gaze_error(GAZE_ERR_UNSUPPORTED, "%s: JPEG with %lld components", label, (long long)ch); goto out; }
    if (!(rgb = malloc((size_t)(W * H * 3)))) { s = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory for a %lld x %lld image", label, (long long)W, (long long)H); goto out; }
    while (cinfo.output_scanline < cinfo.output_height && !err.truncated) {
        uint8_t * row = rgb + (size_t)cinfo.output_scanline * W * 3;
        JSAMPROW rp = row;
        if (jpeg_read_scanlines(&cinfo, &rp, 1) != 1) break;
        if (ch == 1)   // expand in place from the back
            for (int64_t x = W - 1; x >= 0; x--) row[3 * x] = row[3 * x + 1] = row[3 * x + 2] = row[x];
    }
    if (err.truncated || cinfo.output_scanline < cinfo.output_height) {
        s = gaze_error(GAZE_ERR_FORMAT, "%s: bad JPEG: file is truncated (data ends before the image does)", label);
        goto out;
    }
    int orient = 1;
    for (jpeg_saved_marker_ptr m = cinfo.marker_list; m; m = m->next)
        if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 && !memcmp(m->data, "Exif\0\0", 6)) {
            orient = exif_orientation(m->data, m->data_length);
            break;   // the first Exif block, as PIL
        }
    jpeg_finish_decompress(&cinfo);
    if (err.truncated) { s = gaze_error(GAZE_ERR_FORMAT, "%s: bad JPEG: file is truncated", label); goto out; }
    img->width = W;
    img->height = H;
    img->rgb = rgb;
    rgb = NULL;
    if (!apply_orientation(img, orient)) {
        gaze_image_free(img);
        s = gaze_error(GAZE_ERR_NOMEM, "%s: out of memory rotating the image", label);
    }
out:
    if (created) jpeg_destroy_decompress(&cinfo);
    free(rgb);
    return s;
}

/* ---------------------------------------------------------------------------------------------
 * Entry points
 * ------------------------------------------------------------------------------------------- */

enum gaze_status gaze_image_load_buffer(struct gaze_image * img, const void * buf, size_t size,
                                        const char * label, int64_t max_pixels) {
    if (!img) return gaze_error(GAZE_ERR_INVALID_ARG, "image: NULL argument");
    memset(img, 0, sizeof *img);
    if (!label) label = "image";
    if (!buf && size) return gaze_error(GAZE_ERR_INVALID_ARG, "image: NULL buffer");
    if (max_pixels <= 0) max_pixels = GAZE_IMAGE_MAX_PIXELS;
    if (is_png(buf, size)) return load_png(img, buf, size, label, max_pixels);
    if (is_jpeg(buf, size)) return load_jpeg(img, buf, size, label, max_pixels);
    return gaze_error(GAZE_ERR_FORMAT, "%s: not a PNG or JPEG image (%s)", label,
                      size < 3 ? "the file is too short" : "unknown magic bytes");
}

enum gaze_status gaze_image_load(struct gaze_image * img, const char * path, int64_t max_pixels) {
    if (!img || !path) return gaze_error(GAZE_ERR_INVALID_ARG, "image: NULL argument");
    memset(img, 0, sizeof *img);
    FILE * f = fopen(path, "rb");
    if (!f) return gaze_error(GAZE_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return gaze_error(GAZE_ERR_IO, "%s: not a regular file", path);
    }
    if ((size_t)st.st_size > IMAGE_MAX_FILE) {
        fclose(f);
        return gaze_error(GAZE_ERR_LIMIT, "%s: %lld bytes, above the image file limit of 1 GiB", path, (long long)st.st_size);
    }
    const size_t n = (size_t)st.st_size;
    uint8_t * buf = malloc(n ? n : 1);
    if (!buf) { fclose(f); return gaze_error(GAZE_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, n); }
    const size_t got = fread(buf, 1, n, f);
    const bool bad = ferror(f);
    fclose(f);
    if (bad || got != n) { free(buf); return gaze_error(GAZE_ERR_IO, "%s: read failed", path); }
    enum gaze_status s = gaze_image_load_buffer(img, buf, n, path, max_pixels);
    free(buf);
    return s;
}

#!/usr/bin/env python3
"""Test images and their Hugging Face pixel_values, for gaze's image decoding and preprocessing.

Pinned peers (requirements-vision.txt): pillow==11.0.0, transformers==4.46.3, numpy, safetensors.

    /work/venv-peers/bin/python tests/reference/gen_image_fixtures.py [--out tests/fixtures/images]

Writes into the output folder:
  *.png, *.jpg        small images of odd sizes and every mode gaze converts (RGB, L, LA, RGBA,
                      P with transparency, 1/2/4-bit grey, 16-bit grey / grey+alpha / RGB,
                      interlaced, progressive JPEG, grey JPEG, EXIF orientations 3, 6, 8)
  decoded.safetensors each image as transformers.image_utils.load_image gives it
                      (exif_transpose + convert("RGB")): U8 [H, W, 3], named by file name
  proc_<name>/preprocessor_config.json   image processors saved by transformers
  proc_<name>/pixel_values.safetensors   F32 [3, h, w] per image, the processor's output
                      (return_tensors="np") on the decoded image
  bad/*               malformed inputs: truncated PNG / JPEG, wrong magic, a decompression bomb
                      header (PNG and JPEG claiming 30000 x 30000 pixels)
"""
import argparse, io, os, struct, sys, zlib

import numpy as np
import PIL
from PIL import Image
import transformers
from transformers import BitImageProcessor, CLIPImageProcessor, DeiTImageProcessor, ViTImageProcessor
from transformers.image_utils import load_image
from safetensors.numpy import save_file

PINS = {"pillow": "11.0.0", "transformers": "4.46.3"}


def check_pins():
    got = {"pillow": PIL.__version__, "transformers": transformers.__version__}
    for k, v in PINS.items():
        if got[k] != v:
            sys.exit(f"gen_image_fixtures: {k} {got[k]} installed, {v} pinned")


def pattern(w, h, seed):
    """A smooth gradient plus noise and a hard edge: exercises every filter tap."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    r = (x * 255 // max(w - 1, 1))
    g = (y * 255 // max(h - 1, 1))
    b = ((x + y) % 7) * 36
    img = np.stack([r, g, b], -1).astype(np.int32) + rng.integers(-20, 21, (h, w, 3))
    img[h // 3: h // 2, w // 4: w // 2] = [250, 10, 128]
    return np.clip(img, 0, 255).astype(np.uint8)


def png_raw(path, w, h, color_type, depth, rows, interlace=False):
    """A minimal PNG writer for what PIL cannot write (16-bit RGB, 2-bit grey, interlaced)."""
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    ch = {0: 1, 2: 3, 4: 2, 6: 4}[color_type]
    bpp_bits = ch * depth

    def pack_row(row):   # row: list of samples
        if depth == 16:
            return b"".join(struct.pack(">H", v) for v in row)
        if depth == 8:
            return bytes(row)
        bits = "".join(format(v, f"0{depth}b") for v in row)
        bits += "0" * (-len(bits) % 8)
        return bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8))

    raw = b""
    if not interlace:
        for r in rows:
            raw += b"\0" + pack_row(r)
    else:   # Adam7
        passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
        for x0, y0, dx, dy in passes:
            xs = range(x0, w, dx)
            if not len(xs):
                continue
            for y in range(y0, h, dy):
                sub = []
                for x in xs:
                    sub += rows[y][x * ch:(x + 1) * ch]
                raw += b"\0" + pack_row(sub)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, 1 if interlace else 0))
    data += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(data)
    del bpp_bits


def make_images(out):
    names = []

    def save(im, name, **kw):
        im.save(os.path.join(out, name), **kw)
        names.append(name)

    save(Image.fromarray(pattern(37, 29, 1)), "rgb_37x29.png")
    save(Image.fromarray(pattern(120, 90, 2)), "rgb_120x90.png")          # downscaling
    save(Image.fromarray(pattern(23, 41, 3)).convert("L"), "grey_23x41.png")
    rgba = np.concatenate([pattern(31, 17, 4), (np.arange(31 * 17) % 256).astype(np.uint8).reshape(17, 31, 1)], -1)
    save(Image.fromarray(rgba, "RGBA"), "rgba_31x17.png")
    la = Image.fromarray(pattern(18, 25, 5)).convert("LA")
    save(la, "la_18x25.png")
    pal = Image.fromarray(pattern(19, 27, 6)).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    save(pal, "palette_19x27.png", transparency=3)
    save(Image.fromarray(pattern(33, 11, 7)).convert("1"), "bw_33x11.png")
    rng = np.random.default_rng(8)
    g16 = rng.integers(0, 600, (13, 21)).astype(np.uint16)   # many above 255: PIL clips
    rows = [list(map(int, r)) for r in g16]
    png_raw(os.path.join(out, "grey16_21x13.png"), 21, 13, 0, 16, rows); names.append("grey16_21x13.png")
    rgb16 = rng.integers(0, 65536, (22, 15, 3))
    png_raw(os.path.join(out, "rgb16_15x22.png"), 15, 22, 2, 16, [list(map(int, r.reshape(-1))) for r in rgb16])
    names.append("rgb16_15x22.png")
    la16 = rng.integers(0, 65536, (9, 14, 2))
    png_raw(os.path.join(out, "la16_14x9.png"), 14, 9, 4, 16, [list(map(int, r.reshape(-1))) for r in la16])
    names.append("la16_14x9.png")
    g2 = rng.integers(0, 4, (17, 26))
    png_raw(os.path.join(out, "grey2_26x17.png"), 26, 17, 0, 2, [list(map(int, r)) for r in g2]); names.append("grey2_26x17.png")
    g4 = rng.integers(0, 16, (12, 29))
    png_raw(os.path.join(out, "grey4_29x12.png"), 29, 12, 0, 4, [list(map(int, r)) for r in g4]); names.append("grey4_29x12.png")
    il = pattern(27, 19, 9)
    png_raw(os.path.join(out, "interlaced_27x19.png"), 27, 19, 2, 8, [list(map(int, r.reshape(-1))) for r in il], interlace=True)
    names.append("interlaced_27x19.png")
    save(Image.fromarray(pattern(45, 33, 10)), "rgb420_45x33.jpg", quality=90)            # 4:2:0
    save(Image.fromarray(pattern(35, 27, 11)), "rgb444_prog_35x27.jpg", quality=85, subsampling=0, progressive=True)
    save(Image.fromarray(pattern(30, 44, 16)), "rgb422_30x44.jpg", quality=80, subsampling=1)
    save(Image.fromarray(pattern(27, 35, 12)).convert("L"), "grey_27x35.jpg", quality=92)
    for o, (w, h) in ((6, (40, 24)), (3, (21, 16)), (8, (25, 38))):
        ex = Image.Exif()
        ex[0x0112] = o
        save(Image.fromarray(pattern(w, h, 12 + o)), f"exif{o}_{w}x{h}.jpg", quality=90, exif=ex.tobytes())
    ex = Image.Exif()
    ex[0x0112] = 5
    save(Image.fromarray(pattern(26, 14, 20)), "exif5_26x14.png", exif=ex.tobytes())
    return names


def make_bad(out):
    bad = os.path.join(out, "bad")
    os.makedirs(bad, exist_ok=True)
    src_png = open(os.path.join(out, "rgb_37x29.png"), "rb").read()
    src_jpg = open(os.path.join(out, "rgb420_45x33.jpg"), "rb").read()
    open(os.path.join(bad, "truncated.png"), "wb").write(src_png[: len(src_png) // 2])
    open(os.path.join(bad, "truncated.jpg"), "wb").write(src_jpg[: len(src_jpg) // 2])
    open(os.path.join(bad, "notimage.png"), "wb").write(b"GIF89a this is not a PNG at all")
    open(os.path.join(bad, "empty.jpg"), "wb").write(b"")
    # bombs: a valid header claiming 30000 x 30000 pixels and almost no data
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0))
    bomb += chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b"")
    open(os.path.join(bad, "bomb.png"), "wb").write(bomb)
    # a chunk declaring far more bytes than the file holds (libpng would allocate it: fuzz_image)
    big = src_png[:33] + struct.pack(">I", 536870938) + b"eXIf" + src_png[41:]
    open(os.path.join(bad, "huge_chunk.png"), "wb").write(big)
    j = bytearray(src_jpg)
    i = 2
    while i < len(j):   # patch the SOF0 frame size
        marker, length = j[i + 1], struct.unpack(">H", j[i + 2:i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            j[i + 5:i + 9] = struct.pack(">HH", 30000, 30000)
            break
        i += 2 + length
    open(os.path.join(bad, "bomb.jpg"), "wb").write(bytes(j))


PROCESSORS = {
    # ViT: size {height, width}, bilinear, mean/std 0.5 (upscaling and downscaling, non-square)
    "vit": lambda: ViTImageProcessor(size={"height": 40, "width": 48}, resample=2),
    # DeiT: bicubic to 64 then centre crop 56, ImageNet mean/std
    "deit": lambda: DeiTImageProcessor(size={"height": 64, "width": 64}, crop_size={"height": 56, "width": 56}),
    # BiT (DINOv2): shortest edge 40, bicubic, centre crop 36
    "bit": lambda: BitImageProcessor(size={"shortest_edge": 40}, crop_size={"height": 36, "width": 36},
                                     do_convert_rgb=True, image_mean=[0.485, 0.456, 0.406],
                                     image_std=[0.229, 0.224, 0.225]),
    # CLIP: shortest edge 30, bicubic, crop larger than the resized short side (zero padding)
    "clip": lambda: CLIPImageProcessor(size={"shortest_edge": 30}, crop_size={"height": 34, "width": 31}),
    # other filters, downscaling to 20 x 24: lanczos, box, hamming
    "lanczos": lambda: ViTImageProcessor(size={"height": 20, "width": 24}, resample=1),
    "box": lambda: ViTImageProcessor(size={"height": 20, "width": 24}, resample=4),
    "hamming": lambda: ViTImageProcessor(size={"height": 20, "width": 24}, resample=5),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "fixtures", "images"))
    args = ap.parse_args()
    check_pins()
    out = args.out
    os.makedirs(out, exist_ok=True)
    names = make_images(out)
    make_bad(out)
    decoded = {}
    for n in names:
        im = load_image(os.path.join(out, n))   # exif_transpose + convert("RGB")
        decoded[n] = np.ascontiguousarray(np.asarray(im, dtype=np.uint8))
    save_file(decoded, os.path.join(out, "decoded.safetensors"))
    for pname, make in PROCESSORS.items():
        proc = make()
        d = os.path.join(out, f"proc_{pname}")
        proc.save_pretrained(d)
        pv = {}
        for n in names:
            im = load_image(os.path.join(out, n))
            pv[n] = np.ascontiguousarray(proc(images=im, return_tensors="np")["pixel_values"][0].astype(np.float32))
        save_file(pv, os.path.join(d, "pixel_values.safetensors"))
    with open(os.path.join(out, "MANIFEST"), "w") as f:
        f.write("\n".join(names) + "\n")
    print(f"{len(names)} images, {len(PROCESSORS)} processors -> {out}")


if __name__ == "__main__":
    main()

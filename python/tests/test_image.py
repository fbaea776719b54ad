"""Image runs from Python: gaze.Model(vit_folder).run(image=...) on the committed tiny vision
models (tests/fixtures/vit), the run's image fields (image, patch_grid, patch_rc, logits), the
same values as the CLI's run file, figures of the image kinds and the viewer's image data."""
import struct
import zlib

import numpy as np
import pytest

import gaze
from conftest import REPO, cli

VIT = REPO / "tests" / "fixtures" / "vit"
IMG = REPO / "tests" / "fixtures" / "images"


def write_png(path, rgb: np.ndarray) -> None:
    """An 8-bit RGB PNG of rgb [h, w, 3] (standard library only)."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def deit() -> gaze.Model:
    return gaze.Model(VIT / "deit")


def test_image_run_fields(deit):
    r = deit.run(image=IMG / "rgb_37x29.png", capture=("attn", "hidden"))
    assert r.tokens[:3] == ["[CLS]", "[DIST]", "(0,0)"]
    assert r.patch_grid == (4, 4, 8)
    img = r.image
    assert img.dtype == np.uint8 and img.shape == (32, 32, 3) and not img.flags.writeable
    rc = r.patch_rc
    assert rc.dtype == np.int32 and rc.shape == (len(r), 2)
    assert rc[:2].tolist() == [[-1, -1], [-1, -1]]
    assert rc[2:].tolist() == [[i // 4, i % 4] for i in range(16)]
    lg = r.logits
    assert lg is not None and lg.dtype == np.float32 and lg.ndim == 1 and lg.size >= 2 and np.isfinite(lg).all()
    assert np.shares_memory(r.image, r.image)   # a zero-copy view of the run, every time
    # the CLI's run file holds the same image, grid and logits
    path = "/tmp/gaze_pytest_deit.safetensors"
    cli("run", str(VIT / "deit"), str(IMG / "rgb_37x29.png"), "--capture", "attn,hidden", "-o", path, "-q")
    f = gaze.load(path)
    assert np.array_equal(f.image, img)
    assert f.patch_grid == r.patch_grid and np.array_equal(f.patch_rc, rc)
    np.testing.assert_allclose(f.logits, lg, rtol=0, atol=1e-6)
    np.testing.assert_allclose(f.attention(-1), r.attention(-1), rtol=0, atol=1e-6)


def test_image_from_array_equals_file(deit, tmp_path):
    rgb = (np.arange(29 * 37 * 3, dtype=np.uint32).reshape(29, 37, 3) * 7 % 251).astype(np.uint8)
    write_png(tmp_path / "x.png", rgb)
    a = deit.run(image=rgb)
    b = deit.run(image=tmp_path / "x.png")
    c = deit.run(image=str(tmp_path / "x.png"))
    assert np.array_equal(a.image, b.image) and np.array_equal(b.image, c.image)
    assert np.array_equal(a.logits, b.logits)
    assert np.array_equal(a.attention(0), b.attention(0))
    # a non-contiguous view is taken as its values
    d = deit.run(image=np.ascontiguousarray(rgb[:, ::-1])[:, ::-1])
    assert np.array_equal(d.logits, a.logits)


def test_image_refusals(deit, minilm):
    with pytest.raises(TypeError, match="uint8 array"):
        deit.run(image=np.zeros((8, 8), np.uint8))
    with pytest.raises(TypeError, match="uint8 array"):
        deit.run(image=np.zeros((8, 8, 3), np.float32))
    with pytest.raises(TypeError, match="either text or image"):
        deit.run("a cat", image=IMG / "rgb_37x29.png")
    with pytest.raises(gaze.GazeError):
        deit.run("a photo of a cat")                      # text to a vision model
    with pytest.raises(gaze.GazeError):
        minilm.run(image=IMG / "rgb_37x29.png")           # an image to a text model
    with pytest.raises(gaze.FormatError, match="truncated.png"):
        deit.run(image=IMG / "bad" / "truncated.png")


def test_text_run_has_no_image_fields(minilm):
    r = minilm.run("The cat sat.")
    assert r.image is None and r.patch_grid is None and r.patch_rc is None and r.logits is None


def test_image_figures_and_viewer(deit):
    r = deit.run(image=IMG / "exif6_40x24.jpg")
    for kind in ("image", "image-patch", "image-rollout", "distance"):
        fig = r.plot(kind=kind)
        assert fig.format == "svg" and b"<svg" in fig.data[:400], kind
    png = r.plot(kind="image", format="png")
    assert png.data[:8] == b"\x89PNG\r\n\x1a\n"
    page = r.html()
    assert '"image":{"h":32,"w":32,"rows":4,"cols":4,"patch":8' in page
    assert '"view":"image"' in page

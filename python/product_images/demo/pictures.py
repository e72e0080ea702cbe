"""Deterministic demo image files (encoded bytes) for the demo data set and the tests.

Two kinds of pictures are drawn with Pillow from a seeded ``random.Random``:

* ``"product"``: a product-like photo (gradient backdrop, a coloured object made
  of shapes, a soft shadow, a little texture so JPEG sizes look realistic);
* ``"label"``: a price-tag photo (a white tag on a surface, with a price text
  and a barcode of black bars), the pictures that must stay out of
  marketplace listings.

The same arguments always give the same bytes with the same Pillow build
(nothing reads the clock, the C library's random numbers or system fonts:
text uses Pillow's bundled Aileron font).

:func:`render_image` encodes one picture; :func:`demo_image_catalog` returns
the fixed set of objects the prober tests and the demo upload, with the outcome
the prober must report for each (format, size, EXIF orientation, or the
failure class) — including the awkward cases: CMYK and progressive JPEG, EXIF
orientation 6, a JPEG whose size header lies beyond the first 64 KiB, a
zero-byte object, an HTML error page saved as ``.jpg`` and a JPEG cut before
its size header.
"""

from __future__ import annotations

import functools
import io
import random
import struct
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageDraw, ImageFilter, ImageFont

__all__ = [
    "DemoImage",
    "IMAGE_FORMATS",
    "IMAGE_KINDS",
    "demo_image_catalog",
    "render_image",
]

#: Picture kinds accepted by :func:`render_image`.
IMAGE_KINDS: tuple[str, ...] = ("product", "label")

#: Encodings accepted by :func:`render_image` → the MIME type of the bytes produced.
IMAGE_FORMATS: dict[str, str] = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "gif": "image/gif",
    "avif": "image/avif",
    "bmp": "image/bmp",
    "tiff": "image/tiff",
}

_PIL_FORMAT = {
    "jpeg": "JPEG",
    "png": "PNG",
    "webp": "WEBP",
    "gif": "GIF",
    "avif": "AVIF",
    "bmp": "BMP",
    "tiff": "TIFF",
}

_EXIF_ORIENTATION_TAG = 0x0112
_EXIF_IFD_POINTER = 0x8769
_EXIF_USER_COMMENT_TAG = 0x9286


@dataclass(frozen=True)
class DemoImage:
    """One object of the demo catalog and the outcome the prober must report for it.

    Fields:
        key: object key to upload under (UTF-8 str; extensions may lie on purpose).
        data: the object's bytes (may be empty).
        content_type: the Content-Type to store with the object (a hint that may lie).
        mime_type: the real format the prober must sniff (``image/jpeg`` ...), or
            None when the bytes are no image or there are no bytes.
        width, height: pixel dimensions as stored (not rotated for EXIF orientation),
            or None for failure cases.
        orientation: EXIF orientation 1..8 the prober must record, None when absent.
        error: the expected failure class, a ``product_images.metadata.probe.ProbeError`` value
            (``"empty"``, ``"not_image"``, ``"corrupt"`` ...), or None for success.
        description: one line for humans (demo output, test ids).
        header_beyond_first_range: True when the size header lies past the first
            64 KiB, so the prober needs more than one ranged GET.
    """

    key: str
    data: bytes
    content_type: str
    mime_type: str | None
    width: int | None
    height: int | None
    orientation: int | None
    error: str | None
    description: str
    header_beyond_first_range: bool = False


# --------------------------------------------------------------------------- drawing


def _colour(rng: random.Random, lo: int = 0, hi: int = 255) -> tuple[int, int, int]:
    return (rng.randint(lo, hi), rng.randint(lo, hi), rng.randint(lo, hi))


def _texture(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    """Seeded grey noise (from ``rng``, never the C library) scaled up to ``size``."""
    tile = Image.frombytes("L", (48, 48), rng.randbytes(48 * 48))
    return tile.resize(size, Image.Resampling.BILINEAR)


def _gradient(size: tuple[int, int], top: tuple[int, int, int], bottom: tuple[int, int, int]) -> Image.Image:
    mask = Image.linear_gradient("L").resize(size)
    return Image.composite(Image.new("RGB", size, bottom), Image.new("RGB", size, top), mask)


def _draw_product(width: int, height: int, rng: random.Random) -> Image.Image:
    image = _gradient((width, height), _colour(rng, 170, 250), _colour(rng, 90, 200))
    draw = ImageDraw.Draw(image)
    cx, cy = width // 2, height // 2
    body_w, body_h = max(4, int(width * rng.uniform(0.25, 0.45))), max(4, int(height * rng.uniform(0.45, 0.7)))
    left, top = cx - body_w // 2, cy - body_h // 2

    shadow = Image.new("L", (width, height), 0)
    ImageDraw.Draw(shadow).ellipse(
        (left - body_w // 6, top + body_h - body_h // 12, left + body_w + body_w // 6, top + body_h + body_h // 8),
        fill=120,
    )
    shadow = shadow.filter(ImageFilter.GaussianBlur(max(1, width // 80)))
    image.paste((30, 30, 30), (0, 0), shadow)

    body = _colour(rng, 20, 230)
    shape = rng.choice(("bottle", "box", "jar"))
    if shape == "box":
        draw.rectangle((left, top, left + body_w, top + body_h), fill=body)
        draw.polygon(
            [
                (left, top),
                (left + body_w // 5, top - body_h // 8),
                (left + body_w + body_w // 5, top - body_h // 8),
                (left + body_w, top),
            ],
            fill=tuple(min(255, c + 40) for c in body),
        )
    elif shape == "jar":
        draw.rounded_rectangle((left, top, left + body_w, top + body_h), radius=max(1, body_w // 5), fill=body)
        draw.rectangle(
            (left + body_w // 8, top - body_h // 10, left + body_w - body_w // 8, top + 2), fill=_colour(rng, 0, 120)
        )
    else:
        neck = max(2, body_w // 3)
        draw.rounded_rectangle(
            (left, top + body_h // 4, left + body_w, top + body_h), radius=max(1, body_w // 4), fill=body
        )
        draw.rectangle((cx - neck // 2, top, cx + neck // 2, top + body_h // 4 + 2), fill=body)
        draw.rectangle((cx - neck // 2, top - body_h // 12, cx + neck // 2, top), fill=_colour(rng, 0, 100))
    # A printed label band and a highlight, so it reads as a packaged product.
    band_top = top + body_h // 2
    draw.rectangle((left + 2, band_top, left + body_w - 2, band_top + body_h // 5), fill=_colour(rng, 200, 255))
    draw.line(
        (left + body_w // 6, top + body_h // 3, left + body_w // 6, top + body_h - body_h // 6),
        fill=(255, 255, 255),
        width=max(1, body_w // 25),
    )

    return Image.blend(image, Image.merge("RGB", [_texture(rng, (width, height))] * 3), 0.08)


def _draw_label(width: int, height: int, rng: random.Random) -> Image.Image:
    surface = _colour(rng, 110, 190)
    image = Image.composite(
        Image.new("RGB", (width, height), surface),
        Image.new("RGB", (width, height), tuple(max(0, c - 50) for c in surface)),
        _texture(rng, (width, height)),
    )
    draw = ImageDraw.Draw(image)
    tag_w, tag_h = int(width * rng.uniform(0.6, 0.8)), int(height * rng.uniform(0.6, 0.8))
    left, top = (width - tag_w) // 2, (height - tag_h) // 2
    draw.rectangle((left + 4, top + 4, left + tag_w + 4, top + tag_h + 4), fill=(40, 40, 40))
    draw.rectangle((left, top, left + tag_w, top + tag_h), fill=(250, 250, 247), outline=(200, 200, 200))

    price = f"{rng.choice(('€', '$', '£'))}{rng.randint(0, 199)}.{rng.choice(('99', '49', '95', '00'))}"
    font = ImageFont.load_default(size=max(8, tag_h // 4))
    draw.text((left + tag_w // 10, top + tag_h // 10), price, fill=(10, 10, 10), font=font)
    small = ImageFont.load_default(size=max(6, tag_h // 14))
    draw.text(
        (left + tag_w // 10, top + tag_h // 10 + tag_h // 4 + 4),
        f"SKU {rng.randint(100000, 999999)}",
        fill=(60, 60, 60),
        font=small,
    )

    # Barcode: black bars of 1..3 units across the lower third of the tag.
    unit = max(1, tag_w // 120)
    x, bar_top, bar_bottom = left + tag_w // 10, top + int(tag_h * 0.62), top + int(tag_h * 0.9)
    while x < left + tag_w - tag_w // 10:
        bar = rng.randint(1, 3) * unit
        draw.rectangle((x, bar_top, x + bar - 1, bar_bottom), fill=(0, 0, 0))
        x += bar + rng.randint(1, 3) * unit
    return image


# --------------------------------------------------------------------------- encoding


def _exif(orientation: int | None, comment_bytes: int = 0) -> Image.Exif:
    exif = Image.Exif()
    if orientation is not None:
        exif[_EXIF_ORIENTATION_TAG] = orientation
    if comment_bytes:
        # EXIF UserComment: 8-byte character-code prefix, then the text.
        exif.get_ifd(_EXIF_IFD_POINTER)[_EXIF_USER_COMMENT_TAG] = b"ASCII\0\0\0" + b"c" * comment_bytes
    return exif


def _padded_icc_profile(total_bytes: int) -> bytes:
    """A real sRGB ICC profile padded with zeros to ``total_bytes``, its header size updated."""
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    if total_bytes <= len(profile):
        return profile
    padded = profile + bytes(total_bytes - len(profile))
    return struct.pack(">I", len(padded)) + padded[4:]


def render_image(  # noqa: C901, PLR0912
    kind: str,
    width: int,
    height: int,
    seed: int,
    fmt: str,
    *,
    quality: int = 85,
    progressive: bool = False,
    cmyk: bool = False,
    alpha: bool = False,
    orientation: int | None = None,
    exif_comment_bytes: int = 0,
    icc_profile_bytes: int = 0,
    grain: float = 0.0,
) -> bytes:
    """Draw one demo picture and encode it.

    Args:
        kind: ``"product"`` or ``"label"`` (see :data:`IMAGE_KINDS`).
        width, height: pixel size of the encoded image, each 16..10000.
        seed: seeds ``random.Random``; equal arguments give equal bytes.
        fmt: ``"jpeg"``, ``"png"``, ``"webp"``, ``"gif"``, ``"avif"``, ``"bmp"`` or
            ``"tiff"`` (see :data:`IMAGE_FORMATS` for the MIME types).
        quality: JPEG/WebP/AVIF quality 1..100.
        progressive: JPEG only, progressive scan (SOF2 marker).
        cmyk: JPEG only, 4-channel CMYK (Adobe APP14 marker).
        alpha: PNG/WebP only, add a transparent margin (RGBA).
        orientation: EXIF orientation 1..8 to record (JPEG, WebP, PNG, TIFF, AVIF);
            the pixels are stored as drawn, so a viewer honouring it would rotate.
        exif_comment_bytes: JPEG only, pad the EXIF block with a UserComment of this
            many bytes (the whole EXIF segment must stay under 65,533 bytes).
        icc_profile_bytes: JPEG only, embed a padded sRGB ICC profile of this many
            bytes; over 65,519 bytes Pillow splits it into several APP2 segments,
            all written before the SOF (size) marker.
        grain: 0.0..1.0, the weight of per-pixel grey noise (seeded) blended into the
            picture, like a camera sensor's: synthetic drawings compress far better than
            photos, and grain brings JPEG/WebP sizes to a camera photo's (a 1600x1200
            JPEG at quality 85: about 0.07 MB without grain, 0.5 MB at 0.12, 0.7 MB at 0.2).
            0 draws no noise and leaves the bytes as they were without this option.

    Returns:
        The encoded file as bytes.

    Raises:
        ValueError: unknown ``kind``/``fmt``, size out of range, or an option that
            does not apply to ``fmt``.
    """
    if kind not in IMAGE_KINDS:
        raise ValueError(f"kind must be one of {IMAGE_KINDS}, got {kind!r}")
    if fmt not in IMAGE_FORMATS:
        raise ValueError(f"fmt must be one of {tuple(IMAGE_FORMATS)}, got {fmt!r}")
    if not (16 <= width <= 10_000 and 16 <= height <= 10_000):
        raise ValueError(f"width and height must be 16..10000 pixels, got {width}x{height}")
    if (progressive or cmyk or exif_comment_bytes or icc_profile_bytes) and fmt != "jpeg":
        raise ValueError("progressive, cmyk, exif_comment_bytes and icc_profile_bytes apply to fmt='jpeg' only")
    if alpha and fmt not in ("png", "webp"):
        raise ValueError("alpha applies to fmt='png' or 'webp' only")
    if not 0.0 <= grain <= 1.0:
        raise ValueError(f"grain must be 0.0..1.0, got {grain!r}")

    rng = random.Random(f"{kind}:{seed}:{width}x{height}")
    draw = _draw_product if kind == "product" else _draw_label
    image = draw(width, height, rng)
    if grain:
        noise = Image.frombytes("L", (width, height), random.Random(f"grain:{seed}").randbytes(width * height))
        image = Image.blend(image, Image.merge("RGB", [noise] * 3), grain)

    if alpha:
        mask = Image.new("L", (width, height), 0)
        ImageDraw.Draw(mask).rounded_rectangle(
            (width // 12, height // 12, width - width // 12, height - height // 12),
            radius=max(1, min(width, height) // 8),
            fill=255,
        )
        image.putalpha(mask)
    if cmyk:
        image = image.convert("CMYK")
    if fmt == "gif":
        image = image.quantize(colors=64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)

    options: dict[str, object] = {}
    if fmt in ("jpeg", "webp", "avif"):
        options["quality"] = quality
    if fmt == "jpeg":
        options["progressive"] = progressive
        options["optimize"] = False
        if icc_profile_bytes:
            options["icc_profile"] = _padded_icc_profile(icc_profile_bytes)
    if fmt == "png":
        options["optimize"] = False
    if fmt == "webp":
        options["method"] = 4
    if fmt == "avif":
        options["speed"] = 8
    if fmt == "tiff":
        options["compression"] = "tiff_adobe_deflate"
    if orientation is not None or exif_comment_bytes:
        if fmt in ("gif", "bmp"):
            raise ValueError(f"fmt={fmt!r} cannot carry EXIF")
        options["exif"] = _exif(orientation, exif_comment_bytes)

    out = io.BytesIO()
    image.save(out, format=_PIL_FORMAT[fmt], **options)
    return out.getvalue()


# --------------------------------------------------------------------------- catalog

_HTML_ERROR_PAGE = b"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>404 Not Found</title></head>
<body>
<h1>404 Not Found</h1>
<p>The requested image could not be found on this server. Please check the address.</p>
<hr><address>nginx</address>
</body>
</html>
"""


def _cut_before_sof(jpeg: bytes) -> bytes:
    """The JPEG cut right before its first SOF marker (so no decoder can learn its size)."""
    position = 2
    while position + 4 <= len(jpeg):
        marker = jpeg[position + 1]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return jpeg[:position]
        (length,) = struct.unpack(">H", jpeg[position + 2 : position + 4])
        position += 2 + length
    raise ValueError("no SOF marker found")


@functools.cache
def _catalog() -> tuple[DemoImage, ...]:
    def ok(
        key: str,
        data: bytes,
        content_type: str,
        mime: str,
        width: int,
        height: int,
        orientation: int | None,
        description: str,
        *,
        beyond: bool = False,
    ) -> DemoImage:
        return DemoImage(key, data, content_type, mime, width, height, orientation, None, description, beyond)

    def failed(key: str, data: bytes, content_type: str, mime: str | None, error: str, description: str) -> DemoImage:
        return DemoImage(key, data, content_type, mime, None, None, None, error, description)

    jpeg, png = "image/jpeg", "image/png"
    return (
        ok(
            "products/p-1001/front.jpg",
            render_image("product", 1600, 1200, 1, "jpeg", quality=92),
            jpeg,
            jpeg,
            1600,
            1200,
            None,
            "baseline JPEG larger than 64 KiB",
        ),
        ok(
            "products/p-1001/side.jpg",
            render_image("product", 800, 600, 2, "jpeg", progressive=True),
            jpeg,
            jpeg,
            800,
            600,
            None,
            "progressive JPEG (SOF2)",
        ),
        ok(
            "products/p-1002/print.jpg",
            render_image("product", 640, 480, 3, "jpeg", cmyk=True),
            jpeg,
            jpeg,
            640,
            480,
            None,
            "CMYK JPEG (Adobe APP14)",
        ),
        ok(
            "products/p-1002/phone.jpg",
            render_image("product", 1024, 768, 4, "jpeg", orientation=6),
            jpeg,
            jpeg,
            1024,
            768,
            6,
            "JPEG with EXIF orientation 6: stored 1024x768, displayed 768x1024",
        ),
        ok(
            "products/p-1003/studio.jpg",
            render_image("product", 900, 700, 5, "jpeg", orientation=3, icc_profile_bytes=120_000),
            jpeg,
            jpeg,
            900,
            700,
            3,
            "JPEG with a 120 KB ICC profile (2 APP2 segments) before the SOF",
            beyond=True,
        ),
        ok(
            "products/p-1003/camera.jpg",
            render_image("product", 700, 900, 6, "jpeg", orientation=8, exif_comment_bytes=65_460),
            jpeg,
            jpeg,
            700,
            900,
            8,
            "JPEG whose 65 KB EXIF segment straddles the 64 KiB boundary",
            beyond=True,
        ),
        ok(
            "products/p-1004/cutout.png",
            render_image("product", 480, 360, 7, "png", alpha=True),
            png,
            png,
            480,
            360,
            None,
            "PNG with alpha, under 500 px",
        ),
        ok(
            "products/p-1004/detail.webp",
            render_image("product", 1000, 1000, 8, "webp"),
            "image/webp",
            "image/webp",
            1000,
            1000,
            None,
            "lossy WebP",
        ),
        ok(
            "products/p-1005/spin.gif",
            render_image("product", 320, 240, 9, "gif"),
            "image/gif",
            "image/gif",
            320,
            240,
            None,
            "GIF, 64 colours",
        ),
        ok(
            "products/p-1005/modern.avif",
            render_image("product", 400, 300, 10, "avif"),
            "image/avif",
            "image/avif",
            400,
            300,
            None,
            "AVIF (ftyp brand avif)",
        ),
        ok(
            "products/p-1006/scan.bmp",
            render_image("product", 300, 200, 11, "bmp"),
            "image/bmp",
            "image/bmp",
            300,
            200,
            None,
            "BMP",
        ),
        ok(
            "products/p-1006/archive.tif",
            render_image("product", 640, 427, 12, "tiff"),
            "image/tiff",
            "image/tiff",
            640,
            427,
            None,
            "deflate TIFF; Pillow writes the IFD (size tags) after the pixel data",
            beyond=True,
        ),
        ok(
            "products/p-1007/price tag.jpg",
            render_image("label", 450, 300, 13, "jpeg"),
            jpeg,
            jpeg,
            450,
            300,
            None,
            "price-tag label photo, space in the key",
        ),
        ok(
            "products/p-1007/étiquette.png",
            render_image("label", 300, 200, 14, "png"),
            png,
            png,
            300,
            200,
            None,
            "price-tag label photo, non-ASCII key",
        ),
        ok(
            "products/p-1008/really-a-png.jpg",
            render_image("product", 256, 256, 15, "png"),
            jpeg,
            png,
            256,
            256,
            None,
            "PNG saved as .jpg with Content-Type image/jpeg",
        ),
        failed("products/p-1009/empty.jpg", b"", jpeg, None, "empty", "zero-byte object"),
        failed(
            "products/p-1009/error-page.jpg", _HTML_ERROR_PAGE, jpeg, None, "not_image", "HTML error page saved as .jpg"
        ),
        failed(
            "products/p-1009/truncated.jpg",
            _cut_before_sof(render_image("product", 640, 480, 16, "jpeg")),
            jpeg,
            jpeg,
            "corrupt",
            "JPEG cut before its SOF (size) marker",
        ),
    )


def demo_image_catalog() -> list[DemoImage]:
    """The fixed demo/test catalog: every format the prober reads and every failure class it can see in bytes.

    Returns:
        A new list of :class:`DemoImage` (18 entries; keys are unique; generated once
        per process, about one second, then cached). Object-level failures that
        need a store (``missing``, ``access_denied``, ``network``, ``too_large``) are
        not in the catalog.

    Raises:
        Nothing expected; a Pillow build without JPEG/PNG/WebP/AVIF encoders raises
        its own ``OSError``/``KeyError``.
    """
    return list(_catalog())

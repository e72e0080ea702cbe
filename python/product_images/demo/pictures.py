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
from typing import Any, NamedTuple

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
    """A real sRGB ICC profile padded with zeros to ``total_bytes``, its header size updated.

    LittleCMS stamps the profile with the clock (header bytes 24-35, ICC.1 7.2.1) and an MD5
    profile ID over it (bytes 84-99): both are fixed here (2026-01-01, ID zero: "not computed")
    so that the same picture is the same bytes on every run.
    """
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    profile = profile[:24] + struct.pack(">6H", 2026, 1, 1, 0, 0, 0) + profile[36:84] + bytes(16) + profile[100:]
    if total_bytes <= len(profile):
        return profile
    padded = profile + bytes(total_bytes - len(profile))
    return struct.pack(">I", len(padded)) + padded[4:]


def render_image(
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
        fmt: ``"jpeg"``, ``"png"``, ``"webp"``, ``"gif"``, ``"avif"``, ``"bmp"`` or ``"tiff"``
            (see :data:`IMAGE_FORMATS` for the MIME types).
        quality: JPEG/WebP/AVIF quality 1..100.
        progressive: JPEG only, progressive scan (SOF2 marker).
        cmyk: JPEG only, 4-channel CMYK (Adobe APP14 marker).
        alpha: PNG/WebP only, add a transparent margin (RGBA).
        orientation: EXIF orientation 1..8 to record (JPEG, WebP, PNG, TIFF, AVIF);
            the pixels are stored as drawn, so a viewer honouring it would rotate.
        exif_comment_bytes: JPEG only, pad the EXIF block with a UserComment of this
            many bytes (the whole EXIF segment must stay under 65,533 bytes).
        icc_profile_bytes: JPEG only, embed a padded sRGB ICC profile of this many bytes; over
            65,519 bytes Pillow splits it into several APP2 segments, all written before the SOF (size) marker.
        grain: 0.0..1.0, the weight of per-pixel grey noise (seeded) blended into the picture, like a
            camera sensor's: synthetic drawings compress far better than photos, and grain brings JPEG/WebP
            sizes to a camera photo's (a 1600x1200 JPEG at quality 85: about 0.07 MB without grain, 0.5 MB
            at 0.12, 0.7 MB at 0.2). 0 draws no noise and leaves the bytes as they were without this option.

    Returns:
        The encoded file as bytes.

    Raises:
        ValueError: unknown ``kind``/``fmt``, size out of range, or an option that
            does not apply to ``fmt``.
    """
    jpeg_only = progressive or cmyk or exif_comment_bytes or icc_profile_bytes
    _check_render_arguments(kind, width, height, fmt, jpeg_only=bool(jpeg_only), alpha=alpha, grain=grain)
    image = _to_saved_mode(_draw_picture(kind, width, height, seed, grain), fmt, alpha=alpha, cmyk=cmyk)
    options = _save_options(fmt, quality, progressive, icc_profile_bytes, orientation, exif_comment_bytes)
    out = io.BytesIO()
    image.save(out, format=_PIL_FORMAT[fmt], **options)
    return out.getvalue()


def _check_render_arguments(
    kind: str, width: int, height: int, fmt: str, *, jpeg_only: bool, alpha: bool, grain: float
) -> None:
    """Raise render_image's ValueError for an unknown kind or format, a size out of range, an option off its format."""
    if kind not in IMAGE_KINDS:
        raise ValueError(f"kind must be one of {IMAGE_KINDS}, got {kind!r}")
    if fmt not in IMAGE_FORMATS:
        raise ValueError(f"fmt must be one of {tuple(IMAGE_FORMATS)}, got {fmt!r}")
    if not (16 <= width <= 10_000 and 16 <= height <= 10_000):
        raise ValueError(f"width and height must be 16..10000 pixels, got {width}x{height}")
    if jpeg_only and fmt != "jpeg":
        raise ValueError("progressive, cmyk, exif_comment_bytes and icc_profile_bytes apply to fmt='jpeg' only")
    if alpha and fmt not in ("png", "webp"):
        raise ValueError("alpha applies to fmt='png' or 'webp' only")
    if not 0.0 <= grain <= 1.0:
        raise ValueError(f"grain must be 0.0..1.0, got {grain!r}")


def _draw_picture(kind: str, width: int, height: int, seed: int, grain: float) -> Image.Image:
    """The picture of ``kind`` drawn from its seeded RNG, with ``grain`` of seeded grey noise blended in."""
    rng = random.Random(f"{kind}:{seed}:{width}x{height}")
    draw = _draw_product if kind == "product" else _draw_label
    image = draw(width, height, rng)
    if grain:
        noise = Image.frombytes("L", (width, height), random.Random(f"grain:{seed}").randbytes(width * height))
        image = Image.blend(image, Image.merge("RGB", [noise] * 3), grain)
    return image


def _to_saved_mode(image: Image.Image, fmt: str, *, alpha: bool, cmyk: bool) -> Image.Image:
    """The picture as it is saved: with its transparent margin (alpha), in CMYK, or quantized for GIF."""
    width, height = image.size
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
    return image


#: Pillow's save options that depend on the format only (JPEG's come after its quality and progressive).
_FORMAT_SAVE_OPTIONS: dict[str, dict[str, object]] = {
    "jpeg": {"optimize": False},
    "png": {"optimize": False},
    "webp": {"method": 4},
    "avif": {"speed": 8},
    "tiff": {"compression": "tiff_adobe_deflate"},
}


def _save_options(
    fmt: str,
    quality: int,
    progressive: bool,
    icc_profile_bytes: int,
    orientation: int | None,
    exif_comment_bytes: int,
) -> dict[str, object]:
    """Pillow's save options for ``fmt``; ValueError when EXIF is asked of a format that cannot carry it."""
    options: dict[str, object] = {}
    if fmt in ("jpeg", "webp", "avif"):
        options["quality"] = quality
    if fmt == "jpeg":
        options["progressive"] = progressive
    options.update(_FORMAT_SAVE_OPTIONS.get(fmt, {}))
    if fmt == "jpeg" and icc_profile_bytes:
        options["icc_profile"] = _padded_icc_profile(icc_profile_bytes)
    if orientation is not None or exif_comment_bytes:
        if fmt in ("gif", "bmp"):
            raise ValueError(f"fmt={fmt!r} cannot carry EXIF")
        options["exif"] = _exif(orientation, exif_comment_bytes)
    return options


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


class _CatalogPicture(NamedTuple):
    """One picture of the catalog: what :func:`render_image` draws, and what the prober must report for it."""

    key: str
    kind: str
    width: int
    height: int
    seed: int
    fmt: str
    options: dict[str, Any]
    content_type: str
    mime_type: str
    orientation: int | None
    description: str
    header_beyond_first_range: bool = False


_JPEG, _PNG = "image/jpeg", "image/png"

#: The catalog's pictures, in catalog order: every format the prober reads and its awkward cases.
_CATALOG_PICTURES: tuple[_CatalogPicture, ...] = (
    _CatalogPicture(
        "products/p-1001/front.jpg", "product", 1600, 1200, 1, "jpeg", {"quality": 92},
        _JPEG, _JPEG, None, "baseline JPEG larger than 64 KiB",
    ),
    _CatalogPicture(
        "products/p-1001/side.jpg", "product", 800, 600, 2, "jpeg", {"progressive": True},
        _JPEG, _JPEG, None, "progressive JPEG (SOF2)",
    ),
    _CatalogPicture(
        "products/p-1002/print.jpg", "product", 640, 480, 3, "jpeg", {"cmyk": True},
        _JPEG, _JPEG, None, "CMYK JPEG (Adobe APP14)",
    ),
    _CatalogPicture(
        "products/p-1002/phone.jpg", "product", 1024, 768, 4, "jpeg", {"orientation": 6},
        _JPEG, _JPEG, 6, "JPEG with EXIF orientation 6: stored 1024x768, displayed 768x1024",
    ),
    _CatalogPicture(
        "products/p-1003/studio.jpg", "product", 900, 700, 5, "jpeg", {"orientation": 3, "icc_profile_bytes": 120_000},
        _JPEG, _JPEG, 3, "JPEG with a 120 KB ICC profile (2 APP2 segments) before the SOF", True,
    ),
    _CatalogPicture(
        "products/p-1003/camera.jpg", "product", 700, 900, 6, "jpeg", {"orientation": 8, "exif_comment_bytes": 65_460},
        _JPEG, _JPEG, 8, "JPEG whose 65 KB EXIF segment straddles the 64 KiB boundary", True,
    ),
    _CatalogPicture(
        "products/p-1004/cutout.png", "product", 480, 360, 7, "png", {"alpha": True},
        _PNG, _PNG, None, "PNG with alpha, under 500 px",
    ),
    _CatalogPicture(
        "products/p-1004/detail.webp", "product", 1000, 1000, 8, "webp", {},
        "image/webp", "image/webp", None, "lossy WebP",
    ),
    _CatalogPicture(
        "products/p-1005/spin.gif", "product", 320, 240, 9, "gif", {},
        "image/gif", "image/gif", None, "GIF, 64 colours",
    ),
    _CatalogPicture(
        "products/p-1005/modern.avif", "product", 400, 300, 10, "avif", {},
        "image/avif", "image/avif", None, "AVIF (ftyp brand avif)",
    ),
    _CatalogPicture(
        "products/p-1006/scan.bmp", "product", 300, 200, 11, "bmp", {},
        "image/bmp", "image/bmp", None, "BMP",
    ),
    _CatalogPicture(
        "products/p-1006/archive.tif", "product", 640, 427, 12, "tiff", {},
        "image/tiff", "image/tiff", None, "deflate TIFF; Pillow writes the IFD (size tags) after the pixel data", True,
    ),
    _CatalogPicture(
        "products/p-1007/price tag.jpg", "label", 450, 300, 13, "jpeg", {},
        _JPEG, _JPEG, None, "price-tag label photo, space in the key",
    ),
    _CatalogPicture(
        "products/p-1007/étiquette.png", "label", 300, 200, 14, "png", {},
        _PNG, _PNG, None, "price-tag label photo, non-ASCII key",
    ),
    _CatalogPicture(
        "products/p-1008/really-a-png.jpg", "product", 256, 256, 15, "png", {},
        _JPEG, _PNG, None, "PNG saved as .jpg with Content-Type image/jpeg",
    ),
)  # fmt: skip


def _catalog_image(picture: _CatalogPicture) -> DemoImage:
    """The catalog entry of one picture: rendered, with the outcome the prober must report."""
    data = render_image(picture.kind, picture.width, picture.height, picture.seed, picture.fmt, **picture.options)
    return DemoImage(
        picture.key,
        data,
        picture.content_type,
        picture.mime_type,
        picture.width,
        picture.height,
        picture.orientation,
        None,
        picture.description,
        picture.header_beyond_first_range,
    )


@functools.cache
def _catalog() -> tuple[DemoImage, ...]:
    """The catalog's pictures, then the objects the prober must fail on (no size, no image, cut short)."""
    return (
        *(_catalog_image(picture) for picture in _CATALOG_PICTURES),
        DemoImage("products/p-1009/empty.jpg", b"", _JPEG, None, None, None, None, "empty", "zero-byte object"),
        DemoImage(
            "products/p-1009/error-page.jpg",
            _HTML_ERROR_PAGE,
            _JPEG,
            None,
            None,
            None,
            None,
            "not_image",
            "HTML error page saved as .jpg",
        ),
        DemoImage(
            "products/p-1009/truncated.jpg",
            _cut_before_sof(render_image("product", 640, 480, 16, "jpeg")),
            _JPEG,
            _JPEG,
            None,
            None,
            None,
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

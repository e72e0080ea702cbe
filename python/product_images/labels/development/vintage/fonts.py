"""The fonts the vintage renderer draws with, looked up by file path under ``/usr/share/fonts``.

Every font comes from a Debian package (``make system``); a missing file raises a
:class:`FileNotFoundError` naming the package to install.  Fonts are named by a short key
(``"comic"``, ``"z003"``, ``"mono"``…) so that a photo's ``spec`` can hold the key as a plain str.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

__all__ = ["HAND_FONTS", "PRINT_FONTS", "STAMP_FONTS", "font", "font_path"]

_ROOT = Path("/usr/share/fonts")

# key -> (path under /usr/share/fonts, Debian package)
_FONTS: dict[str, tuple[str, str]] = {
    "comic": ("opentype/comic-neue/ComicNeue-Regular.otf", "fonts-comic-neue"),
    "comic_bold": ("opentype/comic-neue/ComicNeue-Bold.otf", "fonts-comic-neue"),
    "comic_light": ("opentype/comic-neue/ComicNeue-Light.otf", "fonts-comic-neue"),
    "comic_italic": ("opentype/comic-neue/ComicNeue-Italic.otf", "fonts-comic-neue"),
    "comic_bold_italic": ("opentype/comic-neue/ComicNeue-BoldItalic.otf", "fonts-comic-neue"),
    "z003": ("opentype/urw-base35/Z003-MediumItalic.otf", "fonts-urw-base35"),
    "gothic": ("opentype/urw-base35/URWGothic-Book.otf", "fonts-urw-base35"),
    "gothic_demi": ("opentype/urw-base35/URWGothic-Demi.otf", "fonts-urw-base35"),
    "bookman": ("opentype/urw-base35/URWBookman-Demi.otf", "fonts-urw-base35"),
    "c059_bold": ("opentype/urw-base35/C059-Bold.otf", "fonts-urw-base35"),
    "p052": ("opentype/urw-base35/P052-Roman.otf", "fonts-urw-base35"),
    "narrow_bold": ("opentype/urw-base35/NimbusSansNarrow-Bold.otf", "fonts-urw-base35"),
    "nimbus_mono": ("opentype/urw-base35/NimbusMonoPS-Bold.otf", "fonts-urw-base35"),
    "mono": ("truetype/dejavu/DejaVuSansMono.ttf", "fonts-dejavu-core"),
    "mono_bold": ("truetype/dejavu/DejaVuSansMono-Bold.ttf", "fonts-dejavu-core"),
    "sans": ("truetype/dejavu/DejaVuSans.ttf", "fonts-dejavu-core"),
    "sans_bold": ("truetype/dejavu/DejaVuSans-Bold.ttf", "fonts-dejavu-core"),
    "condensed_bold": ("truetype/dejavu/DejaVuSansCondensed-Bold.ttf", "fonts-dejavu-core"),
    "serif_bold": ("truetype/dejavu/DejaVuSerif-Bold.ttf", "fonts-dejavu-core"),
    "liberation_sans": ("truetype/liberation2/LiberationSans-Regular.ttf", "fonts-liberation2"),
    "liberation_bold": ("truetype/liberation2/LiberationSans-Bold.ttf", "fonts-liberation2"),
    "liberation_mono": ("truetype/liberation2/LiberationMono-Regular.ttf", "fonts-liberation2"),
    "free_serif": ("truetype/freefont/FreeSerif.ttf", "fonts-freefont-ttf"),
    "free_sans_bold": ("truetype/freefont/FreeSansBold.ttf", "fonts-freefont-ttf"),
    "free_mono_bold": ("truetype/freefont/FreeMonoBold.ttf", "fonts-freefont-ttf"),
    "noto_sans": ("truetype/noto/NotoSans-Regular.ttf", "fonts-noto-core"),
    "noto_bold": ("truetype/noto/NotoSans-Bold.ttf", "fonts-noto-core"),
}

HAND_FONTS: tuple[str, ...] = ("comic", "comic_bold", "comic_light", "comic_italic", "comic_bold_italic", "z003")
"""Fonts that look handwritten (prices written by hand when not drawn with strokes)."""

PRINT_FONTS: tuple[str, ...] = (
    "sans",
    "sans_bold",
    "condensed_bold",
    "narrow_bold",
    "liberation_sans",
    "liberation_bold",
    "noto_sans",
    "noto_bold",
    "free_sans_bold",
    "gothic",
    "gothic_demi",
)
"""Fonts for printed text (labels, brand tags, boxes)."""

STAMP_FONTS: tuple[str, ...] = ("bookman", "c059_bold", "serif_bold", "p052", "free_serif", "gothic_demi")
"""Fonts for rubber stamps and woven brand labels."""


def font_path(key: str) -> Path:
    """The file of the font ``key``; raises FileNotFoundError naming its Debian package if absent."""
    relative, package = _FONTS[key]
    path = _ROOT / relative
    if not path.is_file():
        raise FileNotFoundError(f"font {key!r} not found at {path}: install the Debian package {package}")
    return path


@lru_cache(maxsize=512)
def font(key: str, size: int) -> ImageFont.FreeTypeFont:
    """The font ``key`` at ``size`` pixels (at least 6), loaded once per process."""
    return ImageFont.truetype(str(font_path(key)), max(6, int(size)))

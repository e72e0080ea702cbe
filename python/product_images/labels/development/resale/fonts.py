"""The fonts the resale renderer draws with: system fonts from Debian packages, by role.

A font is named in a photo's spec by a short key (e.g. ``"dejavu-mono-bold"``); its file is
looked up under ``/usr/share/fonts``. A missing file raises :class:`FileNotFoundError` naming
the Debian package that installs it.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

__all__ = ["FONTS", "ROLES", "font", "font_path"]

_ROOT = Path("/usr/share/fonts")

#: key -> (path under /usr/share/fonts, Debian package).
FONTS: dict[str, tuple[str, str]] = {
    "dejavu-sans": ("truetype/dejavu/DejaVuSans.ttf", "fonts-dejavu-core"),
    "dejavu-sans-bold": ("truetype/dejavu/DejaVuSans-Bold.ttf", "fonts-dejavu-core"),
    "dejavu-cond-bold": ("truetype/dejavu/DejaVuSansCondensed-Bold.ttf", "fonts-dejavu-core"),
    "dejavu-mono": ("truetype/dejavu/DejaVuSansMono.ttf", "fonts-dejavu-core"),
    "dejavu-mono-bold": ("truetype/dejavu/DejaVuSansMono-Bold.ttf", "fonts-dejavu-core"),
    "dejavu-serif": ("truetype/dejavu/DejaVuSerif.ttf", "fonts-dejavu-core"),
    "liberation-sans": ("truetype/liberation2/LiberationSans-Regular.ttf", "fonts-liberation2"),
    "liberation-sans-bold": ("truetype/liberation2/LiberationSans-Bold.ttf", "fonts-liberation2"),
    "liberation-mono-bold": ("truetype/liberation2/LiberationMono-Bold.ttf", "fonts-liberation2"),
    "liberation-serif-bold": ("truetype/liberation2/LiberationSerif-Bold.ttf", "fonts-liberation2"),
    "nimbus-sans-bold": ("opentype/urw-base35/NimbusSans-Bold.otf", "fonts-urw-base35"),
    "nimbus-narrow-bold": ("opentype/urw-base35/NimbusSansNarrow-Bold.otf", "fonts-urw-base35"),
    "nimbus-mono-bold": ("opentype/urw-base35/NimbusMonoPS-Bold.otf", "fonts-urw-base35"),
    "urw-gothic-demi": ("opentype/urw-base35/URWGothic-Demi.otf", "fonts-urw-base35"),
    "urw-bookman-demi": ("opentype/urw-base35/URWBookman-Demi.otf", "fonts-urw-base35"),
    "c059-bold": ("opentype/urw-base35/C059-Bold.otf", "fonts-urw-base35"),
    "z003": ("opentype/urw-base35/Z003-MediumItalic.otf", "fonts-urw-base35"),
    "free-sans-bold": ("truetype/freefont/FreeSansBold.ttf", "fonts-freefont-ttf"),
    "free-mono-bold": ("truetype/freefont/FreeMonoBold.ttf", "fonts-freefont-ttf"),
    "free-serif": ("truetype/freefont/FreeSerif.ttf", "fonts-freefont-ttf"),
    "comic-neue": ("opentype/comic-neue/ComicNeue-Regular.otf", "fonts-comic-neue"),
    "comic-neue-bold": ("opentype/comic-neue/ComicNeue-Bold.otf", "fonts-comic-neue"),
    "comic-neue-italic": ("opentype/comic-neue/ComicNeue-BoldItalic.otf", "fonts-comic-neue"),
    "noto-sans": ("truetype/noto/NotoSans-Regular.ttf", "fonts-noto-core"),
    "noto-sans-bold": ("truetype/noto/NotoSans-Bold.ttf", "fonts-noto-core"),
    "noto-serif-bold": ("truetype/noto/NotoSerif-Bold.ttf", "fonts-noto-core"),
}

#: role -> the font keys a shop or a brand may pick for it.
ROLES: dict[str, tuple[str, ...]] = {
    "printer": ("dejavu-mono-bold", "liberation-mono-bold", "nimbus-mono-bold", "free-mono-bold", "dejavu-mono"),
    "label": ("dejavu-sans-bold", "dejavu-cond-bold", "liberation-sans-bold", "nimbus-sans-bold", "noto-sans-bold"),
    "display": ("urw-gothic-demi", "nimbus-narrow-bold", "free-sans-bold", "urw-bookman-demi", "c059-bold"),
    "body": ("dejavu-sans", "liberation-sans", "noto-sans", "free-serif", "dejavu-serif"),
    "hand": ("comic-neue", "comic-neue-bold", "comic-neue-italic", "z003"),
    "brand": ("c059-bold", "liberation-serif-bold", "noto-serif-bold", "urw-gothic-demi", "nimbus-sans-bold"),
}


def font_path(key: str) -> Path:
    """The file of font ``key`` (one of :data:`FONTS`); FileNotFoundError names its Debian package."""
    relative, package = FONTS[key]
    path = _ROOT / relative
    if not path.is_file():
        raise FileNotFoundError(f"font file {path} is missing: install the Debian package {package}")
    return path


@lru_cache(maxsize=256)
def font(key: str, size: int) -> ImageFont.FreeTypeFont:
    """Font ``key`` at ``size`` pixels (em height), cached per process."""
    return ImageFont.truetype(str(font_path(key)), max(6, int(size)))

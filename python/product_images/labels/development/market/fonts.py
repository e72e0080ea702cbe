"""Fonts for the ``market`` renderer, found by file name under ``/usr/share/fonts``.

Only two Debian packages are used: ``fonts-noto-core`` (Noto Sans / Serif / Display) and
``fonts-dejavu-core`` (DejaVu Sans, Sans Mono, Serif, Condensed).
"""

from __future__ import annotations

from functools import cache, lru_cache
from pathlib import Path

from PIL import ImageFont

__all__ = ["FONT_NAMES", "font", "font_path"]

FONT_ROOT = Path("/usr/share/fonts")

# name -> (file name, Debian package that ships it)
_FILES: dict[str, tuple[str, str]] = {
    "sans": ("NotoSans-Regular.ttf", "fonts-noto-core"),
    "sans_bold": ("NotoSans-Bold.ttf", "fonts-noto-core"),
    "sans_italic": ("NotoSans-Italic.ttf", "fonts-noto-core"),
    "display_bold": ("NotoSansDisplay-Bold.ttf", "fonts-noto-core"),
    "serif": ("NotoSerif-Regular.ttf", "fonts-noto-core"),
    "serif_bold": ("NotoSerif-Bold.ttf", "fonts-noto-core"),
    "serif_italic": ("NotoSerif-Italic.ttf", "fonts-noto-core"),
    "serif_display": ("NotoSerifDisplay-Bold.ttf", "fonts-noto-core"),
    "serif_display_italic": ("NotoSerifDisplay-Italic.ttf", "fonts-noto-core"),
    "mono": ("DejaVuSansMono.ttf", "fonts-dejavu-core"),
    "mono_bold": ("DejaVuSansMono-Bold.ttf", "fonts-dejavu-core"),
    "condensed": ("DejaVuSansCondensed.ttf", "fonts-dejavu-core"),
    "condensed_bold": ("DejaVuSansCondensed-Bold.ttf", "fonts-dejavu-core"),
    "dejavu": ("DejaVuSans.ttf", "fonts-dejavu-core"),
    "dejavu_bold": ("DejaVuSans-Bold.ttf", "fonts-dejavu-core"),
    "dejavu_serif": ("DejaVuSerif-Bold.ttf", "fonts-dejavu-core"),
}

FONT_NAMES: tuple[str, ...] = tuple(sorted(_FILES))


@cache
def font_path(name: str) -> Path:
    """Return the path of the font called ``name`` (a key of ``FONT_NAMES``).

    Raises RuntimeError naming the Debian package to install when the file is missing.
    """
    file_name, package = _FILES[name]
    hits = sorted(FONT_ROOT.rglob(file_name)) if FONT_ROOT.is_dir() else []
    if not hits:
        raise RuntimeError(
            f"font {file_name} not found under {FONT_ROOT}: install the Debian package {package} "
            f"(apt-get install -y {package})"
        )
    return hits[0]


@lru_cache(maxsize=512)
def font(name: str, size_px: int) -> ImageFont.FreeTypeFont:
    """Return a Pillow font ``name`` with an em size of ``size_px`` pixels (at least 6)."""
    return ImageFont.truetype(str(font_path(name)), max(6, int(size_px)))

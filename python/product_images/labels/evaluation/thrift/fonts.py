"""Font files of the ``thrift`` renderer, found by path in Debian font packages.

Fonts come from ``fonts-liberation2``, ``fonts-urw-base35`` and ``fonts-dejavu-core``.
A missing file raises :class:`RuntimeError` naming the package; no other font is used.
"""

from __future__ import annotations

import os
from functools import lru_cache

from PIL import ImageFont

__all__ = ["FONTS", "HAND_FONTS", "font", "font_path"]

_LIB = "/usr/share/fonts/truetype/liberation2/"
_URW = "/usr/share/fonts/opentype/urw-base35/"
_DJV = "/usr/share/fonts/truetype/dejavu/"

#: Font name -> (file path, Debian package).
FONTS: dict[str, tuple[str, str]] = {
    "liberation_sans": (_LIB + "LiberationSans-Regular.ttf", "fonts-liberation2"),
    "liberation_sans_bold": (_LIB + "LiberationSans-Bold.ttf", "fonts-liberation2"),
    "liberation_serif": (_LIB + "LiberationSerif-Regular.ttf", "fonts-liberation2"),
    "liberation_serif_bold": (_LIB + "LiberationSerif-Bold.ttf", "fonts-liberation2"),
    "liberation_mono": (_LIB + "LiberationMono-Regular.ttf", "fonts-liberation2"),
    "liberation_mono_bold": (_LIB + "LiberationMono-Bold.ttf", "fonts-liberation2"),
    "z003": (_URW + "Z003-MediumItalic.otf", "fonts-urw-base35"),
    "nimbus_sans": (_URW + "NimbusSans-Regular.otf", "fonts-urw-base35"),
    "nimbus_sans_bold": (_URW + "NimbusSans-Bold.otf", "fonts-urw-base35"),
    "nimbus_narrow": (_URW + "NimbusSansNarrow-Regular.otf", "fonts-urw-base35"),
    "nimbus_narrow_bold": (_URW + "NimbusSansNarrow-Bold.otf", "fonts-urw-base35"),
    "nimbus_roman": (_URW + "NimbusRoman-Regular.otf", "fonts-urw-base35"),
    "nimbus_roman_bold": (_URW + "NimbusRoman-Bold.otf", "fonts-urw-base35"),
    "nimbus_roman_italic": (_URW + "NimbusRoman-Italic.otf", "fonts-urw-base35"),
    "nimbus_mono": (_URW + "NimbusMonoPS-Regular.otf", "fonts-urw-base35"),
    "nimbus_mono_bold": (_URW + "NimbusMonoPS-Bold.otf", "fonts-urw-base35"),
    "dejavu_sans": (_DJV + "DejaVuSans.ttf", "fonts-dejavu-core"),
    "dejavu_sans_bold": (_DJV + "DejaVuSans-Bold.ttf", "fonts-dejavu-core"),
    "dejavu_condensed_bold": (_DJV + "DejaVuSansCondensed-Bold.ttf", "fonts-dejavu-core"),
    "dejavu_mono": (_DJV + "DejaVuSansMono.ttf", "fonts-dejavu-core"),
    "dejavu_mono_bold": (_DJV + "DejaVuSansMono-Bold.ttf", "fonts-dejavu-core"),
    "dejavu_serif": (_DJV + "DejaVuSerif.ttf", "fonts-dejavu-core"),
}

#: Fonts that stand in for handwriting (a script font, or a bold sans drawn like a marker).
HAND_FONTS: tuple[str, ...] = ("z003", "z003", "dejavu_condensed_bold", "nimbus_narrow_bold")


def font_path(name: str) -> str:
    """Return the file path (str) of font ``name``; RuntimeError if its package is missing."""
    path, package = FONTS[name]
    if not os.path.exists(path):
        raise RuntimeError(
            f"font file {path} is missing: install the Debian package {package} (apt-get install -y {package})"
        )
    return path


@lru_cache(maxsize=512)
def font(name: str, size_px: int) -> ImageFont.FreeTypeFont:
    """Return font ``name`` at ``size_px`` pixels (em size, int >= 4) as a Pillow font."""
    return ImageFont.truetype(font_path(name), max(4, int(size_px)))

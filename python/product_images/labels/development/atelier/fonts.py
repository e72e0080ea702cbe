"""Font catalogue of the atelier renderer: Debian font files found by path, loaded once.

Every face is named by a short key (``"sans_bold"``, ``"hand_comic"``, …) and belongs to one
family group (``"sans"``, ``"serif"``, ``"mono"``, ``"hand"``, ``"display"``) so a shop can draw
"any face of a group". A missing file raises ``RuntimeError`` naming its Debian package.
"""

from __future__ import annotations

import functools
import os

from PIL import ImageFont

__all__ = ["FACES", "GROUPS", "font", "font_path"]

_URW = ("/usr/share/fonts/opentype/urw-base35", "fonts-urw-base35")
_LIB = ("/usr/share/fonts/truetype/liberation2", "fonts-liberation2")
_FREE = ("/usr/share/fonts/truetype/freefont", "fonts-freefont-ttf")
_COMIC = ("/usr/share/fonts/opentype/comic-neue", "fonts-comic-neue")
_NOTO = ("/usr/share/fonts/truetype/noto", "fonts-noto-core")
_DEJAVU = ("/usr/share/fonts/truetype/dejavu", "fonts-dejavu-core")

#: key -> (directory, Debian package, file name, group)
FACES: dict[str, tuple[str, str, str, str]] = {
    "sans": (*_LIB, "LiberationSans-Regular.ttf", "sans"),
    "sans_bold": (*_LIB, "LiberationSans-Bold.ttf", "sans"),
    "sans_narrow": (*_URW, "NimbusSansNarrow-Regular.otf", "sans"),
    "nimbus_sans": (*_URW, "NimbusSans-Regular.otf", "sans"),
    "nimbus_bold": (*_URW, "NimbusSans-Bold.otf", "sans"),
    "nimbus_narrow": (*_URW, "NimbusSansNarrow-Bold.otf", "sans"),
    "gothic": (*_URW, "URWGothic-Book.otf", "sans"),
    "gothic_demi": (*_URW, "URWGothic-Demi.otf", "display"),
    "free_sans": (*_FREE, "FreeSans.ttf", "sans"),
    "free_sans_bold": (*_FREE, "FreeSansBold.ttf", "sans"),
    "noto_sans": (*_NOTO, "NotoSans-Regular.ttf", "sans"),
    "noto_sans_bold": (*_NOTO, "NotoSans-Bold.ttf", "sans"),
    "dejavu": (*_DEJAVU, "DejaVuSans.ttf", "sans"),
    "dejavu_bold": (*_DEJAVU, "DejaVuSans-Bold.ttf", "sans"),
    "dejavu_cond": (*_DEJAVU, "DejaVuSansCondensed-Bold.ttf", "sans"),
    "serif": (*_LIB, "LiberationSerif-Regular.ttf", "serif"),
    "serif_bold": (*_LIB, "LiberationSerif-Bold.ttf", "serif"),
    "serif_italic": (*_LIB, "LiberationSerif-Italic.ttf", "serif"),
    "c059": (*_URW, "C059-Roman.otf", "serif"),
    "c059_bold": (*_URW, "C059-Bold.otf", "serif"),
    "p052": (*_URW, "P052-Roman.otf", "serif"),
    "p052_italic": (*_URW, "P052-Italic.otf", "serif"),
    "bookman": (*_URW, "URWBookman-Demi.otf", "display"),
    "noto_serif": (*_NOTO, "NotoSerif-Regular.ttf", "serif"),
    "noto_serif_bold": (*_NOTO, "NotoSerif-Bold.ttf", "serif"),
    "dejavu_serif": (*_DEJAVU, "DejaVuSerif.ttf", "serif"),
    "free_serif_bold": (*_FREE, "FreeSerifBold.ttf", "serif"),
    "mono": (*_LIB, "LiberationMono-Regular.ttf", "mono"),
    "mono_bold": (*_LIB, "LiberationMono-Bold.ttf", "mono"),
    "nimbus_mono": (*_URW, "NimbusMonoPS-Regular.otf", "mono"),
    "nimbus_mono_bold": (*_URW, "NimbusMonoPS-Bold.otf", "mono"),
    "free_mono_bold": (*_FREE, "FreeMonoBold.ttf", "mono"),
    "dejavu_mono": (*_DEJAVU, "DejaVuSansMono-Bold.ttf", "mono"),
    "hand_comic": (*_COMIC, "ComicNeue-Regular.otf", "hand"),
    "hand_comic_bold": (*_COMIC, "ComicNeue-Bold.otf", "hand"),
    "hand_comic_italic": (*_COMIC, "ComicNeue-Italic.otf", "hand"),
    "hand_comic_light": (*_COMIC, "ComicNeue-LightItalic.otf", "hand"),
    "hand_chancery": (*_URW, "Z003-MediumItalic.otf", "hand"),
    "hand_bookman": (*_URW, "URWBookman-LightItalic.otf", "hand"),
    "hand_oblique": (*_FREE, "FreeSansOblique.ttf", "hand"),
    "hand_gothic": (*_URW, "URWGothic-BookOblique.otf", "hand"),
    "hand_narrow": (*_URW, "NimbusSansNarrow-Oblique.otf", "hand"),
    "hand_dejavu": (*_DEJAVU, "DejaVuSansCondensed-Oblique.ttf", "hand"),
}

#: group -> sorted face keys
GROUPS: dict[str, tuple[str, ...]] = {
    g: tuple(sorted(k for k, v in FACES.items() if v[3] == g)) for g in ("sans", "serif", "mono", "hand", "display")
}


def font_path(key: str) -> str:
    """The absolute path of face ``key``; raises RuntimeError naming the Debian package when absent."""
    directory, package, name, _group = FACES[key]
    path = os.path.join(directory, name)
    if not os.path.isfile(path):
        raise RuntimeError(f"font {path} is missing: install the Debian package {package}")
    return path


@functools.lru_cache(maxsize=512)
def font(key: str, size: int) -> ImageFont.FreeTypeFont:
    """Face ``key`` at ``size`` pixels (em height, clamped to 4..900), cached per process."""
    return ImageFont.truetype(font_path(key), max(4, min(900, int(size))))

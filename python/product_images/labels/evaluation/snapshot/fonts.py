"""Font files of the ``snapshot`` renderer, found by path under ``/usr/share/fonts``.

Only three Debian packages are used: ``fonts-freefont-ttf``, ``fonts-comic-neue`` (a
handwriting-like face) and ``fonts-dejavu-core``. A missing file raises a RuntimeError
naming its package; no other font is ever substituted.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

__all__ = ["FONTS", "HAND_FONTS", "PRINT_FONTS", "load_font"]

_FREE = ("fonts-freefont-ttf", "/usr/share/fonts/truetype/freefont/")
_COMIC = ("fonts-comic-neue", "/usr/share/fonts/opentype/comic-neue/")
_DEJAVU = ("fonts-dejavu-core", "/usr/share/fonts/truetype/dejavu/")

#: short name -> (Debian package, absolute file path)
FONTS: dict[str, tuple[str, str]] = {
    "sans": (_FREE[0], _FREE[1] + "FreeSans.ttf"),
    "sans_bold": (_FREE[0], _FREE[1] + "FreeSansBold.ttf"),
    "sans_oblique": (_FREE[0], _FREE[1] + "FreeSansOblique.ttf"),
    "serif": (_FREE[0], _FREE[1] + "FreeSerif.ttf"),
    "serif_bold": (_FREE[0], _FREE[1] + "FreeSerifBold.ttf"),
    "serif_italic": (_FREE[0], _FREE[1] + "FreeSerifItalic.ttf"),
    "mono": (_FREE[0], _FREE[1] + "FreeMono.ttf"),
    "mono_bold": (_FREE[0], _FREE[1] + "FreeMonoBold.ttf"),
    "hand": (_COMIC[0], _COMIC[1] + "ComicNeue-Regular.otf"),
    "hand_bold": (_COMIC[0], _COMIC[1] + "ComicNeue-Bold.otf"),
    "hand_italic": (_COMIC[0], _COMIC[1] + "ComicNeue-Italic.otf"),
    "hand_bold_italic": (_COMIC[0], _COMIC[1] + "ComicNeue-BoldItalic.otf"),
    "hand_light": (_COMIC[0], _COMIC[1] + "ComicNeue-Light.otf"),
    "dv_sans": (_DEJAVU[0], _DEJAVU[1] + "DejaVuSans.ttf"),
    "dv_sans_bold": (_DEJAVU[0], _DEJAVU[1] + "DejaVuSans-Bold.ttf"),
    "dv_serif": (_DEJAVU[0], _DEJAVU[1] + "DejaVuSerif.ttf"),
    "dv_serif_bold": (_DEJAVU[0], _DEJAVU[1] + "DejaVuSerif-Bold.ttf"),
    "dv_mono": (_DEJAVU[0], _DEJAVU[1] + "DejaVuSansMono.ttf"),
    "dv_mono_bold": (_DEJAVU[0], _DEJAVU[1] + "DejaVuSansMono-Bold.ttf"),
}

#: fonts that look handwritten (Comic Neue family)
HAND_FONTS: tuple[str, ...] = ("hand", "hand_bold", "hand_italic", "hand_bold_italic")

#: fonts for printed text (labels, tags, boxes)
PRINT_FONTS: tuple[str, ...] = (
    "sans",
    "sans_bold",
    "serif",
    "serif_bold",
    "mono_bold",
    "dv_sans",
    "dv_sans_bold",
    "dv_serif_bold",
    "dv_mono_bold",
)


@lru_cache(maxsize=512)
def load_font(name: str, size: int) -> ImageFont.FreeTypeFont:
    """Load font ``name`` (a key of FONTS) at ``size`` pixels (em height, int >= 4).

    Raises RuntimeError naming the Debian package when the file is absent.
    """
    package, path = FONTS[name]
    if not Path(path).is_file():
        raise RuntimeError(
            f"font file {path} is missing: install the Debian package {package} (apt-get install -y {package})"
        )
    return ImageFont.truetype(path, max(4, int(size)))

"""The shops of a vintage set and their house styles (drawn once per shop from the set's seed).

Archetypes (a set holds the ``gun`` shop and two or three others):

* ``boutique``: a vintage boutique; kraft hang tags on twine, its name rubber-stamped,
  the price in marker or felt pen ("12 €", "12€", "12"); sometimes masking tape.
* ``charity``: a charity shop; round colour stickers (the week's colour) with a marker price
  ("4,50", "3€"); sometimes a white card with printed "Prix"/"Réf" fields filled in by hand,
  or a label printer's sticker from its sorting centre (Code 128 of the SKU or in-store EAN-13).
* ``gun``: a dépôt-vente with a pricing gun: small white stickers, printed digits, no currency;
  sometimes masking tape.
* ``home``: a reseller working from home: QR stock labels (SKU or URL) with the price by hand,
  white hang cards with price and SKU written, masking tape.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from .fonts import HAND_FONTS, PRINT_FONTS, STAMP_FONTS
from .spec import SpecValue

__all__ = ["ARCHETYPES", "Shop", "make_shop"]

ARCHETYPES: tuple[str, ...] = ("boutique", "charity", "gun", "home")

_NAME_A = (
    "La Fripe",
    "Le Grenier",
    "L'Armoire",
    "La Malle",
    "Le Vestiaire",
    "La Penderie",
    "Le Dressing",
    "La Boutique",
)
_NAME_B = ("du Coin", "de Lou", "Solidaire", "de Margot", "d'Antan", "Rétro", "des Halles", "du Marché", "Vintage")
_KRAFT = ("#b98b5e", "#c49a6c", "#a97d52", "#d2ae82", "#bf9466")
_CARD = ("#f5f2ea", "#fbfaf6", "#efe8d8", "#f6dce2", "#dfeedd", "#fff3c4")
_INKS = ("#141414", "#1b2a78", "#222222", "#5a1420", "#0f3d22", "#2b2b2b")
_STICKERS = ("#ff8c1a", "#ffd21f", "#5cd65c", "#ff5c9d", "#4da6ff", "#f4f4f4", "#ff3b30", "#b48cff")
_STRINGS = ("#d8c9a8", "#f0ece2", "#c33a3a", "#8a6a45", "#2f2f2f", "#e7d9b5")


@dataclass
class Shop:
    """A tenant's house style: ``styles`` are (weight, tag spec) pairs; ``habits`` how it takes photos."""

    tenant: str
    name: str
    archetype: str
    styles: list[tuple[float, dict[str, SpecValue]]]
    habits: dict[str, tuple[str, ...]] = field(default_factory=dict)
    numbers: dict[str, float] = field(default_factory=dict)


def _pen(r: random.Random, kind: str) -> dict[str, SpecValue]:
    """A writing instrument: ``marker``, ``felt`` or ``ballpoint`` (strokes or a handwriting font)."""
    widths = {"marker": (0.11, 0.16), "felt": (0.07, 0.1), "ballpoint": (0.035, 0.055)}[kind]
    pen = "strokes" if r.random() < 0.6 else r.choice(HAND_FONTS)
    return {"pen": pen, "pen_w": round(r.uniform(*widths), 3), "ink": r.choice(_INKS)}


def _sku_pattern(r: random.Random) -> str:
    """A SKU pattern (``{L}`` a letter fixed per shop, ``{n}`` a number)."""
    letter = r.choice("ABCDFGHKMPRSTV")
    return r.choice((f"{letter}-{{n:04d}}", "{n:05d}", f"{letter}{letter}{{n:03d}}", "24/{n:04d}", "V{n:04d}"))


def _boutique(r: random.Random, name: str) -> list[tuple[float, dict[str, SpecValue]]]:
    """Kraft hang card with a stamp; masking tape now and then."""
    card: dict[str, SpecValue] = {
        "tag": "hang_card",
        "paper": r.choice(_KRAFT),
        "kraft": True,
        "stamp": r.choice(("rect", "double", "oval")),
        "stamp_ink": r.choice(("#8a1c2b", "#2a3f8f", "#3b2a5c", "#1e1e1e")),
        "stamp_font": r.choice(STAMP_FONTS),
        "string": r.choice(_STRINGS),
        "size_on_tag": r.random() < 0.5,
        **_pen(r, r.choice(("marker", "felt"))),
    }
    tape: dict[str, SpecValue] = {"tag": "masking_tape", "paper": "#e6d9b0", **_pen(r, "marker")}
    return [(0.85, card), (0.15, tape)]


def _charity(r: random.Random, name: str) -> list[tuple[float, dict[str, SpecValue]]]:
    """Round colour stickers; a printed-field card or a sorting centre's thermal label."""
    sticker: dict[str, SpecValue] = {"tag": "round_sticker", "sticker_colors": "|".join(r.sample(_STICKERS, 4))}
    sticker.update(_pen(r, "marker"))
    second: dict[str, SpecValue]
    if r.random() < 0.5:
        second = {
            "tag": "hang_card",
            "paper": r.choice(_CARD),
            "fields": r.choice(("prix_ref", "prix_taille")),
            "string": r.choice(_STRINGS),
            "print_font": r.choice(PRINT_FONTS),
            **_pen(r, "ballpoint"),
        }
    else:
        second = {"tag": "thermal_label", "code": r.choice(("code128", "ean13")), "print_font": r.choice(PRINT_FONTS)}
    return [(0.7, sticker), (0.3, second)]


def _gun(r: random.Random, name: str) -> list[tuple[float, dict[str, SpecValue]]]:
    """The pricing gun's stickers; masking tape now and then."""
    gun: dict[str, SpecValue] = {
        "tag": "gun_sticker",
        "stripes": r.random() < 0.4,
        "print_font": r.choice(("narrow_bold", "condensed_bold", "nimbus_mono", "mono_bold")),
        "ink": r.choice(("#1a1a1a", "#2a2a55", "#552222")),
        "gun_sep": r.choice((".", ",", "")),
        "paper": r.choice(("#f7f5ef", "#ffffff", "#f2f0e4")),
    }
    tape: dict[str, SpecValue] = {"tag": "masking_tape", "paper": "#e9dcb6", **_pen(r, "marker")}
    return [(0.82, gun), (0.18, tape)]


def _home(r: random.Random, name: str) -> list[tuple[float, dict[str, SpecValue]]]:
    """QR stock labels, written white cards, masking tape."""
    pen = _pen(r, r.choice(("felt", "ballpoint", "marker")))
    qr: dict[str, SpecValue] = {
        "tag": "qr_label",
        "code": "qr",
        "qr_url": r.random() < 0.5,
        "print_font": "mono_bold",
        **pen,
    }
    card: dict[str, SpecValue] = {
        "tag": "hang_card",
        "paper": r.choice(_CARD),
        "string": r.choice(_STRINGS),
        "write_sku": True,
        "size_on_tag": r.random() < 0.5,
        **pen,
    }
    tape: dict[str, SpecValue] = {"tag": "masking_tape", "paper": "#e6d9b0", **pen}
    return [(0.5, qr), (0.3, card), (0.2, tape)]


_STYLES = {"boutique": _boutique, "charity": _charity, "gun": _gun, "home": _home}
_HABITS: dict[str, dict[str, tuple[str, ...]]] = {
    "boutique": {
        "bg": ("rail", "wood", "wall", "rail"),
        "light": ("warm", "tungsten", "mixed"),
        "shot": ("hand", "hand", "on_garment", "pinned", "on_garment"),
    },
    "charity": {
        "bg": ("rail", "tiles", "carpet", "wall"),
        "light": ("fluo", "mixed", "fluo", "warm"),
        "shot": ("on_garment", "hand", "on_garment", "table", "pinned"),
    },
    "gun": {
        "bg": ("rail", "tablecloth", "carpet", "wall"),
        "light": ("tungsten", "warm", "mixed", "fluo"),
        "shot": ("on_garment", "hand", "on_garment", "ruler"),
    },
    "home": {
        "bg": ("bed", "wood", "tablecloth", "carpet", "tiles"),
        "light": ("daylight", "warm", "shade", "mixed"),
        "shot": ("on_garment", "hand", "table", "ruler", "on_garment"),
    },
}


def make_shop(r: random.Random, index: int, archetype: str) -> Shop:
    """The shop ``vintage_<index>`` of ``archetype``, its name, tag styles, price format and photo habits."""
    name = f"{r.choice(_NAME_A)} {r.choice(_NAME_B)}"
    styles = _STYLES[archetype](r, name)
    price_format = r.choice(("{e} €", "{e}€", "{e}", "€ {e}", "{c}", "{c} €")) if archetype != "gun" else "gun"
    for _, style in styles:
        style.update({"shop": name, "sku_pattern": _sku_pattern(r), "price_format": price_format})
    habits = dict(_HABITS[archetype])
    habits["bg_color"] = tuple(
        r.sample(("#c8c0b0", "#8a6a4a", "#d9d2c5", "#6f7f8f", "#b14a3a", "#e8e4dc", "#4a5a4a", "#a89070"), 3)
    )
    numbers = {
        "tag_rate": r.uniform(0.18, 0.28),
        "neg_rate": r.uniform(0.2, 0.3),
        "long": r.choice((1024, 1200, 1280, 1440, 1600)),
        "dark": r.uniform(0.0, 0.35),
        "blurry": r.uniform(0.05, 0.2),
        "domain": r.randrange(100, 999),
    }
    return Shop(f"vintage_{index}", name, archetype, styles, habits, numbers)

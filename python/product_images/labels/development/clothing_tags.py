"""A shop's internal price tags: their styles, tag blanks and the drawn tag.

Part of :mod:`product_images.labels.development.clothing` (which re-exports :func:`make_tag_style`).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace

import numpy as np
from PIL import Image, ImageDraw

from .clothing_codes import _draw_barcode, _draw_qr, _paste_code, ean13_full
from .clothing_specs import _SHOP_NAMES, _SHOP_WORDS, PhotoSpec, TagStyle
from .clothing_text import FONT_FACES, _draw_text, _fit_size, _handwrite


def _fill_pattern(pattern: str, rng: random.Random) -> str:
    return "".join(
        str(rng.randrange(10)) if c == "#" else chr(65 + rng.randrange(26)) if c == "A" else c for c in pattern
    )


def make_tag_style(kind: str, rng: random.Random) -> TagStyle:
    """A random but plausible shop tag style of ``kind`` (one of :data:`TAG_STYLE_KINDS`).

    Raises:
        ValueError: unknown ``kind``.
    """
    return replace(_make_tag_style(kind, rng), font=rng.choice(FONT_FACES))


def _thermal_style(kind: str, shop: str, sku_fmt: str, rng: random.Random) -> TagStyle:
    """A label printer's thermal sticker: near-white paper, black print, a Code 128 or EAN-13."""
    return TagStyle(
        kind,
        shop,
        (rng.randint(238, 252),) * 2 + (rng.randint(230, 246),),
        (20, 20, 20),
        (20, 20, 20),
        rng.choice(("Prix :", "PRIX", "Prix", "Tarif :")),
        rng.choice(("cents", "cents", "euro")),
        sku_fmt,
        rng.choice(("code128", "code128", "ean13")),
        rng.randrange(2),
        "rect",
    )


def _kraft_style(kind: str, shop: str, sku_fmt: str, rng: random.Random) -> TagStyle:
    """A kraft-card hang tag with a handwritten price in a pen's ink."""
    ink = rng.choice(((25, 25, 30), (20, 40, 120), (160, 20, 30), (30, 30, 30)))
    r, g_, b_ = rng.randint(180, 205), rng.randint(140, 165), rng.randint(95, 120)
    kraft = (r, int(r * 0.8 + (g_ - 152) * 0.2), int(r * 0.58 + (b_ - 107) * 0.3))  # kraft card brown
    return TagStyle(
        kind,
        shop if rng.random() < 0.6 else "",
        kraft,
        ink,
        (rng.randint(90, 120), rng.randint(60, 80), rng.randint(40, 55)),
        "",
        rng.choice(("euro", "tight")),
        sku_fmt,
        "none",
        rng.randrange(2),
        "hang",
    )


def _qr_style(kind: str, shop: str, sku_fmt: str, rng: random.Random) -> TagStyle:
    """A printed label with a QR code, a SKU and a coloured band or frame."""
    paper = rng.choice(((250, 250, 250), (255, 245, 200), (225, 240, 255), (255, 228, 235)))
    accent = rng.choice(((200, 40, 60), (30, 90, 160), (30, 130, 80), (90, 40, 130), (230, 120, 20)))
    return TagStyle(
        kind,
        shop,
        paper,
        (25, 25, 25),
        accent,
        rng.choice(("Prix :", "PRIX", "")),
        rng.choice(("cents", "euro")),
        sku_fmt,
        "qr",
        rng.randrange(2),
        rng.choice(("rect", "hang")),
    )


def _sticker_style(kind: str, shop: str, sku_fmt: str, rng: random.Random) -> TagStyle:
    """A small coloured price sticker."""
    paper = rng.choice(
        ((250, 220, 40), (255, 140, 40), (250, 120, 170), (120, 210, 90), (250, 250, 250), (240, 60, 60))
    )
    ink = (20, 20, 20) if sum(paper) > 500 else (255, 255, 255)
    return TagStyle(
        kind,
        shop if rng.random() < 0.3 else "",
        paper,
        ink,
        ink,
        "",
        rng.choice(("tight", "euro")),
        sku_fmt,
        "none",
        rng.randrange(2),
        rng.choice(("round", "rect")),
    )


_STYLE_MAKERS: dict[str, Callable[[str, str, str, random.Random], TagStyle]] = {
    "thermal": _thermal_style,
    "kraft": _kraft_style,
    "qr": _qr_style,
    "sticker": _sticker_style,
}
"""The style maker of each :data:`TAG_STYLE_KINDS` kind: (kind, shop name, SKU pattern, generator)."""


def _make_tag_style(kind: str, rng: random.Random) -> TagStyle:
    shop = f"{rng.choice(_SHOP_WORDS)} {rng.choice(_SHOP_NAMES)}"
    sku_fmt = rng.choice(("VT-#####", "A##-####", "AA####", "####-AA", "SKU ######", "R#####A"))
    maker = _STYLE_MAKERS.get(kind)
    if maker is None:
        raise ValueError(f"unknown tag style kind {kind!r}")
    return maker(kind, shop, sku_fmt, rng)


def _price_text(fmt: str, cents: int) -> str:
    euros, c = divmod(cents, 100)
    if fmt == "cents":
        return f"{euros},{c:02d} €"
    if fmt == "euro":
        return f"{euros} €"
    return f"{euros}€"


def _tag_canvas(
    style_paper, size: tuple[int, int], shape: str, rng: random.Random
) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    """An RGBA tag blank of ``size`` px in ``shape`` ("rect", "round", "hang"), with paper grain."""
    w, h = size
    img = Image.new("RGBA", size, (0, 0, 0, 0))
    mask = Image.new("L", size, 0)
    md = ImageDraw.Draw(mask)
    if shape == "round":
        md.ellipse((0, 0, w - 1, h - 1), fill=255)
    elif shape == "hang":
        c = int(min(w, h) * 0.18)
        md.polygon([(c, 0), (w - c, 0), (w, c), (w, h), (0, h), (0, c)], fill=255)
    else:
        md.rounded_rectangle((0, 0, w - 1, h - 1), radius=int(min(w, h) * 0.05), fill=255)
    grain = np.random.default_rng(rng.getrandbits(32)).normal(0, 4, (h, w, 1)).astype(np.float32)
    paper = np.clip(np.array(style_paper, np.float32) + grain, 0, 255).astype(np.uint8)
    img.paste(Image.fromarray(paper, "RGB"), (0, 0), mask)
    if shape == "hang":
        d = ImageDraw.Draw(img)
        r = int(min(w, h) * 0.05)
        cx, cy = w // 2, int(min(w, h) * 0.12)
        d.ellipse(
            (cx - 2 * r, cy - 2 * r, cx + 2 * r, cy + 2 * r), fill=tuple(int(c * 0.85) for c in style_paper) + (255,)
        )
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(0, 0, 0, 0))
    return img, ImageDraw.Draw(img)


def _thermal_tag(spec: PhotoSpec, st: TagStyle, price: str, sku: str, rng: random.Random, scale: int) -> Image.Image:
    """A thermal sticker: shop name, price line, SKU and a barcode (EAN-13 or Code 128)."""
    w, h = scale, int(scale * rng.uniform(0.55, 0.7))
    tag, d = _tag_canvas(st.paper, (w, h), "rect", rng)
    pad = int(w * 0.06)
    if st.shop:
        _draw_text(
            d, (w / 2, pad), st.shop.upper(), _fit_size(st.shop.upper(), w - 2 * pad, h * 0.11, 1), st.ink, 1, "ma"
        )
    line = f"{st.price_word} {price}".strip()
    py = h * (0.2 if st.layout == 0 else 0.62)
    _draw_text(d, (w / 2, py), line, _fit_size(line, w - 2 * pad, h * 0.17, 1), st.ink, 1, "ma")
    _draw_text(d, (pad, h * (0.41 if st.layout == 0 else 0.2)), sku, _fit_size(sku, w * 0.6, h * 0.09), st.ink)
    if st.code == "ean13":
        data = "2" + str(rng.randint(10, 99)) + "".join(c for c in sku if c.isdigit()).rjust(9, "0")[-9:]
        code = _draw_barcode("ean13", data, 2, 50, text=ean13_full(data))
    else:
        code = _draw_barcode("code128", sku, 2, 50, text=sku)
    cy0 = h * (0.52 if st.layout == 0 else 0.3)
    _paste_code(tag, code, (pad, int(cy0), w - pad, int(cy0 + h * 0.38 if st.layout == 0 else cy0 + h * 0.32)))
    return tag


def _kraft_tag(spec: PhotoSpec, st: TagStyle, price: str, sku: str, rng: random.Random, scale: int) -> Image.Image:
    """A kraft hang tag: the shop's stamp, a handwritten price, the handwritten SKU on layout 1."""
    w, h = int(scale * 0.62), scale
    tag, d = _tag_canvas(st.paper, (w, h), "hang", rng)
    if st.shop:
        _draw_text(
            d, (w / 2, h * 0.22), st.shop.upper(), _fit_size(st.shop.upper(), w * 0.8, h * 0.06), st.accent, 0, "ma"
        )
    hw = _handwrite(price, int(h * rng.uniform(0.17, 0.22)), st.ink, rng)
    if hw.size[0] > w * 0.9:
        hw = hw.resize((int(w * 0.9), int(hw.size[1] * w * 0.9 / hw.size[0])), Image.Resampling.BILINEAR)
    tag.alpha_composite(hw, (max(0, (w - hw.size[0]) // 2), int(h * (0.42 if st.layout == 0 else 0.5))))
    if st.layout == 1:
        sk = _handwrite(sku, int(h * 0.07), st.ink, rng)
        if sk.size[0] > w * 0.85:
            sk = sk.resize((int(w * 0.85), max(1, int(sk.size[1] * w * 0.85 / sk.size[0]))), Image.Resampling.BILINEAR)
        tag.alpha_composite(sk, (max(0, (w - sk.size[0]) // 2), int(h * 0.82)))
    return tag


def _qr_tag(spec: PhotoSpec, st: TagStyle, price: str, sku: str, rng: random.Random, scale: int) -> Image.Image:
    """A QR label: the code, SKU and price beside it, a coloured band (layout 0) or edge (layout 1)."""
    w, h = scale, int(scale * rng.uniform(0.55, 0.68))
    tag, d = _tag_canvas(st.paper, (w, h), st.shape, rng)
    band = int(h * 0.16)
    d.rectangle((0, h - band, w, h), fill=st.accent + (255,)) if st.layout == 0 else d.rectangle(
        (0, int(h * 0.18), int(w * 0.04), h), fill=st.accent + (255,)
    )
    payload = (
        f"{st.shop.split()[0].lower()}.fr/p/{sku.replace(' ', '')}"
        if st.layout == 0
        else f"SKU:{sku};P:{spec.price_cents}"
    )
    q = _draw_qr(payload, 3)
    side = int(h * 0.62)
    _paste_code(tag, q, (int(w * 0.06), int(h * 0.12), int(w * 0.06) + side, int(h * 0.12) + side))
    tx = int(w * 0.1) + side
    _draw_text(d, (tx, h * 0.16), sku, _fit_size(sku, w - tx - w * 0.05, h * 0.1), st.ink)
    line = f"{st.price_word} {price}".strip()
    _draw_text(d, (tx, h * 0.4), line, _fit_size(line, w - tx - w * 0.05, h * 0.14, 1), st.ink, 1)
    if st.shop:
        _draw_text(
            d,
            (w / 2, h - band * 0.85),
            st.shop,
            _fit_size(st.shop, w * 0.8, band * 0.6),
            (255, 255, 255) if st.layout == 0 else st.accent,
            0,
            "ma",
        )
    return tag


def _sticker_tag(spec: PhotoSpec, st: TagStyle, price: str, sku: str, rng: random.Random, scale: int) -> Image.Image:
    """A price sticker: the price, and the shop's first word when it has one."""
    w = int(scale * 0.5)
    h = w if st.shape == "round" else int(w * 0.7)
    tag, d = _tag_canvas(st.paper, (w, h), st.shape, rng)
    text = price
    _draw_text(d, (w / 2, h / 2), text, _fit_size(text, w * 0.72, h * 0.4, 1), st.ink, max(1, w // 60), "mm")
    if st.shop:
        _draw_text(
            d,
            (w / 2, h * 0.8),
            st.shop.split()[0],
            _fit_size(st.shop.split()[0], w * 0.5, h * 0.1),
            st.ink,
            0,
            "mm",
        )
    return tag


_TAG_DRAWERS: dict[str, Callable[[PhotoSpec, TagStyle, str, str, random.Random, int], Image.Image]] = {
    "thermal": _thermal_tag,
    "kraft": _kraft_tag,
    "qr": _qr_tag,
    "sticker": _sticker_tag,
}
"""The drawer of each style kind's tag: (spec, style, price text, SKU, generator, scale px) → RGBA layer."""


def _internal_tag(spec: PhotoSpec, rng: random.Random, scale: int) -> Image.Image:
    """The shop's internal tag as an RGBA layer, about ``scale`` px wide."""
    st = spec.style
    assert st is not None and spec.price_cents is not None and spec.sku is not None
    price = _price_text(st.price_fmt, spec.price_cents)
    drawer = _TAG_DRAWERS.get(st.kind)
    if drawer is None:
        raise ValueError(f"unknown tag style {st.kind!r}")
    return drawer(spec, st, price, spec.sku, rng, scale)

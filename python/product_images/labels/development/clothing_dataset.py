"""The clothing renderer's data sets: tenants, products and their ordered photo specs, with the truth.

Part of :mod:`product_images.labels.development.clothing` (which re-exports the public names).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, replace

from .clothing_specs import _FABRIC_COLOURS, GARMENTS, NEGATIVE_KINDS, TAG_STYLE_KINDS, PhotoSpec, TagStyle
from .clothing_tags import _fill_pattern, make_tag_style

# --------------------------------------------------------------------------- data set


@dataclass(frozen=True)
class Tenant:
    """A seller: schema-like ``name`` and the 1–2 internal tag styles it uses."""

    name: str
    styles: tuple[TagStyle, ...]


@dataclass(frozen=True)
class Product:
    """One product: its tenant, id, ordered photos and the truth.

    Fields:
        tenant: the tenant's name.
        product_id: int id, unique within the tenant.
        photos: the ordered photo specs (position 0 first).
        label_index: index in ``photos`` of the internal tag, or None.
    """

    tenant: str
    product_id: int
    photos: tuple[PhotoSpec, ...]
    label_index: int | None

    @property
    def style_kind(self) -> str | None:
        """The internal tag's style kind, or None when the product has no tag."""
        return None if self.label_index is None else self.photos[self.label_index].style.kind  # type: ignore[union-attr]


@dataclass(frozen=True)
class Dataset:
    """A generated data set: the seed and params that made it, tenants and products."""

    seed: int
    params: DatasetParams
    tenants: tuple[Tenant, ...]
    products: tuple[Product, ...]

    def photos(self) -> Iterator[tuple[Product, int, PhotoSpec]]:
        """Every (product, position, spec), in product then position order."""
        for p in self.products:
            for i, s in enumerate(p.photos):
                yield p, i, s


@dataclass(frozen=True)
class DatasetParams:
    """Distribution parameters of :func:`generate_dataset` (every rate is a probability).

    Fields:
        tenant_products: products per tenant (its length = number of tenants).
        tenant_tags: exact number of products with an internal tag per tenant, or None
            to draw each product's tag with ``tag_rate``.
        tag_rate: probability that a product has an internal tag (when ``tenant_tags`` is None).
        style_weights: weight of each :data:`TAG_STYLE_KINDS` when choosing a tenant's styles.
        two_styles_rate: probability that a tenant uses two tag styles (else one).
        photos_tagged: (min, max) product photos of a tagged product (the tag comes on top).
        untagged_single_rate: probability that an untagged product has a single photo.
        photos_untagged: (min, max) photos of an untagged product with more than one.
        hard_negative_rate: probability that a product gets one hard-negative photo.
        negative_weights: weight of each :data:`NEGATIVE_KINDS`.
        tag_not_last_rate: probability that the tag is not the last photo (default 0: the
            shop's convention, every tag is the product's last photo).
        on_garment_rate, angle_rate, blur_rate, low_light_rate: tag/label photo conditions.
        max_angle: largest in-plane rotation, degrees, when angled.
        max_blur: largest blur radius (working-size px) when blurred.
        small_rate: probability that a product's photos are small (300–640 px).
        large_sides: longest sides (px) to pick from for large photos.
        quality: (min, max) JPEG quality.
    """

    tenant_products: tuple[int, ...] = (200, 200, 200, 200, 200, 200)
    tenant_tags: tuple[int, ...] | None = None
    tag_rate: float = 0.2
    style_weights: tuple[float, ...] = (0.4, 0.25, 0.2, 0.15)
    two_styles_rate: float = 0.35
    photos_tagged: tuple[int, int] = (1, 7)
    untagged_single_rate: float = 0.6
    photos_untagged: tuple[int, int] = (2, 8)
    hard_negative_rate: float = 0.15
    negative_weights: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0, 0.7, 1.2)
    tag_not_last_rate: float = 0.0
    on_garment_rate: float = 0.3
    angle_rate: float = 0.4
    max_angle: float = 35.0
    blur_rate: float = 0.12
    max_blur: float = 2.5
    low_light_rate: float = 0.12
    small_rate: float = 0.25
    large_sides: tuple[int, ...] = (1600, 2048)
    quality: tuple[int, int] = (80, 90)


def demo_params(**overrides) -> DatasetParams:
    """The demo's shape: 4 tenants, 3,282 products, 611 with an internal tag (~9,000 photos).

    Keyword overrides replace any :class:`DatasetParams` field.
    """
    base = DatasetParams(
        tenant_products=(1203, 987, 645, 447),
        tenant_tags=(224, 184, 120, 83),
        photos_tagged=(1, 7),
        untagged_single_rate=0.7,
        photos_untagged=(2, 8),
    )
    return replace(base, **overrides)


def _size(rng: random.Random, params: DatasetParams) -> tuple[int, int]:
    if rng.random() < params.small_rate:
        long = rng.randint(300, 640)
    else:
        long = rng.choice(params.large_sides)
    aspect = rng.choice((4 / 3, 4 / 3, 1.0, 3 / 2))
    short = int(long / aspect)
    return (short, long) if rng.random() < 0.7 else (long, short)


@dataclass(frozen=True)
class _ProductDraw:
    """The state of drawing one product's photo specs: the set's generator, its params and the product's look."""

    rng: random.Random
    params: DatasetParams
    look: dict

    def spec(self, kind: str, **kw) -> PhotoSpec:
        """A photo of the product: ``kind``, its own seed (one draw), the product's look and ``kw``."""
        return PhotoSpec(kind=kind, seed=self.rng.getrandbits(48), **self.look, **kw)

    def conditions(self) -> dict:
        """How a tag or label is photographed: on the garment, angle, keystone, blur, low light."""
        rng, params = self.rng, self.params
        return dict(
            on_garment=rng.random() < params.on_garment_rate,
            angle=rng.uniform(-params.max_angle, params.max_angle)
            if rng.random() < params.angle_rate
            else rng.uniform(-4, 4),
            perspective=rng.uniform(0.05, 0.3) if rng.random() < params.angle_rate else 0.0,
            blur=rng.uniform(1.0, params.max_blur) if rng.random() < params.blur_rate else 0.0,
            low_light=rng.random() < params.low_light_rate,
        )


def generate_dataset(seed: int, params: DatasetParams | None = None, tenant_prefix: str = "user_") -> Dataset:
    """Generate tenants → products → ordered photo specs with the truth (no pixels yet).

    Args:
        seed: drives every random choice (styles, products, photo seeds).
        params: distributions; :class:`DatasetParams` defaults when None.
        tenant_prefix: tenant names are ``f"{tenant_prefix}{i}"`` (1-based).

    Returns:
        A :class:`Dataset`; render a photo with :func:`render_photo`.

    Raises:
        ValueError: ``tenant_tags`` longer/shorter than ``tenant_products`` or a count
            larger than the tenant's products.
    """
    params = params or DatasetParams()
    rng = random.Random(seed)
    if params.tenant_tags is not None and len(params.tenant_tags) != len(params.tenant_products):
        raise ValueError("tenant_tags and tenant_products differ in length")
    tenants: list[Tenant] = []
    products: list[Product] = []
    # the first tenants' main styles cover every style kind (then weighted draws)
    cover = [k for k, wgt in zip(TAG_STYLE_KINDS, params.style_weights, strict=False) if wgt > 0]
    rng.shuffle(cover)
    for t, count in enumerate(params.tenant_products):
        tenant = _draw_tenant(rng, params, f"{tenant_prefix}{t + 1}", cover[t] if t < len(cover) else None)
        tenants.append(tenant)
        tagged = _draw_tagged(rng, params, tenant.name, t, count)
        for pid in range(1, count + 1):
            products.append(_draw_product(rng, params, tenant, pid, pid in tagged))
    return Dataset(seed, params, tuple(tenants), tuple(products))


def _draw_tenant(rng: random.Random, params: DatasetParams, name: str, main_kind: str | None) -> Tenant:
    """A tenant with one or two tag styles (the first of ``main_kind`` when given)."""
    n_styles = 2 if rng.random() < params.two_styles_rate else 1
    kinds: list[str] = [main_kind] if main_kind is not None else []
    while len(kinds) < n_styles:
        kd = rng.choices(TAG_STYLE_KINDS, weights=params.style_weights)[0]
        if kd not in kinds:
            kinds.append(kd)
    styles = tuple(make_tag_style(kd, rng) for kd in kinds)
    return Tenant(name, styles)


def _draw_tagged(rng: random.Random, params: DatasetParams, name: str, t: int, count: int) -> set[int]:
    """The ids (1…``count``) of tenant number ``t``'s products that have an internal tag."""
    if params.tenant_tags is not None:
        if params.tenant_tags[t] > count:
            raise ValueError(f"tenant {name}: more tags than products")
        return set(rng.sample(range(1, count + 1), params.tenant_tags[t]))
    return {pid for pid in range(1, count + 1) if rng.random() < params.tag_rate}


def _draw_product(rng: random.Random, params: DatasetParams, tenant: Tenant, pid: int, is_tagged: bool) -> Product:
    """One product: its look, its views, maybe a hard negative among them, then its tag when ``is_tagged``."""
    garment = rng.choice(GARMENTS)
    colour = rng.choice(_FABRIC_COLOURS)
    w, h = _size(rng, params)
    quality = rng.randint(*params.quality)
    look = {"width": w, "height": h, "garment": garment, "colour": colour, "quality": quality}
    draw = _ProductDraw(rng, params, look)
    if is_tagged:
        n = rng.randint(*params.photos_tagged)
    else:
        n = 1 if rng.random() < params.untagged_single_rate else rng.randint(*params.photos_untagged)
    views = ["flat", "hanger", "closeup"]
    photos: list[PhotoSpec] = []
    for i in range(n):
        kind = views[0] if i == 0 else rng.choices(views, weights=(0.45, 0.3, 0.25))[0]
        if garment in ("shoes", "bag") and kind == "hanger":
            kind = "flat"
        photos.append(draw.spec(kind))
    _draw_hard_negative(draw, photos, garment)
    label_index = _draw_tag(draw, photos, tenant.styles) if is_tagged else None
    return Product(tenant.name, pid, tuple(photos), label_index)


def _draw_hard_negative(draw: _ProductDraw, photos: list[PhotoSpec], garment: str) -> None:
    """Maybe put one hard negative among ``photos`` (in place): appended to a single photo, else replacing one."""
    rng, params, n = draw.rng, draw.params, len(photos)
    if rng.random() < params.hard_negative_rate and n >= 1:
        nk = rng.choices(NEGATIVE_KINDS, weights=params.negative_weights)[0]
        if nk == "shoebox" and garment != "shoes":
            nk = "brandtag" if rng.random() < 0.5 else "care"
        kw = draw.conditions()
        kw["low_light"] = kw["low_light"] and rng.random() < 0.5
        neg = draw.spec(nk, price_cents=rng.choice((1999, 2999, 3995, 4999, 5999, 7990, 8999, 12900)), **kw)
        if n == 1:
            photos.append(neg)
        else:
            photos[rng.randint(1, n - 1)] = neg


def _draw_tag(draw: _ProductDraw, photos: list[PhotoSpec], styles: tuple[TagStyle, ...]) -> int:
    """Insert the internal tag's photo into ``photos`` (in place, last by default); returns its index."""
    rng, params = draw.rng, draw.params
    style_w = (0.75, 0.25) if len(styles) == 2 else (1.0,)
    style = rng.choices(styles, weights=style_w)[0]
    cents = rng.choice((300, 500, 500, 800, 1000, 1200, 1500, 1800, 2000, 2500, 3000, 3500, 4500)) + (
        rng.choice((0, 0, 0, 50, 90)) if style.price_fmt == "cents" else 0
    )
    tag = draw.spec("tag", style=style, price_cents=cents, sku=_fill_pattern(style.sku_fmt, rng), **draw.conditions())
    if rng.random() < params.tag_not_last_rate and len(photos) >= 1:
        label_index = rng.randint(0, len(photos) - 1)
    else:
        label_index = len(photos)
    photos.insert(label_index, tag)
    return label_index

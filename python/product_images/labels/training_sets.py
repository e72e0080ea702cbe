"""The development sets the price-tag model is fitted on, and their photos' evidence (cached).

Two kinds of development set:

* :class:`DevSet`: drawn by the demo's generator (``labels/development/clothing``) with a
  seed and :class:`~product_images.labels.development.clothing.DatasetParams`;
  :data:`DEV_SETS` are the shipped model's.
* :class:`RendererSet`: drawn by a renderer package of ``labels/development`` (market,
  atelier, vintage, resale: each written by someone who had not read the others) with a
  seed and a product count; :data:`RENDERER_SETS` are the ones to train across renderers
  with. A renderer's own ``SEEDS`` measure it (the README's development rows) and are
  refused here, as are the evaluation renderers (``labels/evaluation``: measuring only).

:func:`load_set` renders a set's photos and extracts their evidence in worker processes,
and caches them per set and per version of the evidence and renderer code.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from product_images.labels import evidence as _evidence
from product_images.labels.detector import Detector
from product_images.labels.development import clothing
from product_images.labels.development.clothing import DEMO_SEED
from product_images.labels.evaluation import measure
from product_images.labels.evidence import Evidence

__all__ = [
    "DEV_SETS",
    "HELD_OUT_SEEDS",
    "RENDERER_SETS",
    "DevSet",
    "ProductEvidence",
    "RendererSet",
    "TrainingError",
    "load_set",
]


class TrainingError(RuntimeError):
    """Training cannot run: scikit-learn is missing, a set is unknown or held out, or a study has one renderer."""


@dataclass(frozen=True)
class DevSet:
    """One development set: ``name``, the generator's ``seed`` and ``params``, the tenants' name prefix."""

    name: str
    seed: int
    params: clothing.DatasetParams
    tenant_prefix: str

    @property
    def renderer(self) -> str:
        """``"clothing"``: the demo's generator draws every :class:`DevSet`."""
        return "clothing"


#: The development sets. Four shapes: the demo's (at a third of its size), the
#: generator's defaults, many small shops, and fewer shops with harder photos (blur, low
#: light, small photos, steep angles, more hard negatives, some tags not last).
DEV_SETS: tuple[DevSet, ...] = (
    DevSet(
        "dev",
        101,
        clothing.demo_params(tenant_products=(400, 330, 215, 150), tenant_tags=(75, 61, 40, 28)),
        "dev_",
    ),
    DevSet("devb", 102, clothing.DatasetParams(tenant_products=(200,) * 6), "devb_"),
    DevSet(
        "devc",
        103,
        clothing.DatasetParams(tenant_products=(60,) * 20, two_styles_rate=0.5, tag_rate=0.22),
        "devc_",
    ),
    DevSet(
        "deve",
        105,
        clothing.DatasetParams(
            tenant_products=(150,) * 6,
            tag_rate=0.22,
            hard_negative_rate=0.26,
            tag_not_last_rate=0.1,
            on_garment_rate=0.4,
            angle_rate=0.5,
            max_angle=40.0,
            blur_rate=0.25,
            max_blur=3.2,
            low_light_rate=0.25,
            small_rate=0.35,
            quality=(72, 90),
        ),
        "deve_",
    ),
)

#: Seeds that must never be a development set's: the demo's and the held-out sets'
#: (``python/tests/labels/test_accuracy.py`` and the README's third held-out set).
HELD_OUT_SEEDS: frozenset[int] = frozenset({DEMO_SEED, 909, 531, 404})


@dataclass(frozen=True)
class RendererSet:
    """One development set drawn by a renderer package of ``labels/development``.

    Fields:
        name: the set's name (``--set NAME``), also its tenants' prefix (``<name>:<tenant>``).
        renderer: the package's name (``market``, ``atelier``, ``vintage``, ``resale``).
        seed: the renderer's seed; never one of the renderer's own ``SEEDS`` (they measure it).
        products: how many products to draw.
    """

    name: str
    renderer: str
    seed: int
    products: int


#: Sets of the four other development renderers, for training across renderers
#: (``labels train --set … --leave-one-renderer-out``). 240 products each, seeds that are
#: none of the renderers' own ``SEEDS``.
RENDERER_SETS: tuple[RendererSet, ...] = (
    RendererSet("market_a", "market", 7303, 240),
    RendererSet("atelier_a", "atelier", 90311, 240),
    RendererSet("vintage_a", "vintage", 64320, 240),
    RendererSet("resale_a", "resale", 58315, 240),
)


@dataclass
class ProductEvidence:
    """A development product and its photos' evidence.

    Fields:
        tenant: the shop (a set's tenants are prefixed with the set's name or prefix).
        product_id: 1, 2, … within the shop.
        label_index: the 0-based index of the shop's tag among the photos (the truth), or None.
        evidences: one :class:`Evidence` per photo, in the shop's order (product context filled).
        renderer: the renderer that drew it (``clothing`` for a :class:`DevSet`).
        kinds: what each photo shows (``shop_tag``, ``retail_tag``, ``care_label``…), when the
            renderer says; empty for a :class:`DevSet`.
    """

    tenant: str
    product_id: int
    label_index: int | None
    evidences: list[Evidence]
    renderer: str = "clothing"
    kinds: tuple[str, ...] = ()


# --------------------------------------------------------------------------- evidence of a set


def _code_version(renderer: str = "clothing") -> str:
    """12 hex digits of a hash of the code a set's cached evidence depends on (evidence, renderer)."""
    h = hashlib.sha256()
    if renderer == "clothing":
        drawing = list(clothing.SOURCE_FILES)
    else:
        folder = Path(measure.renderer_module(renderer).__file__ or "").parent
        drawing = sorted(folder.rglob("*.py"))
    sources = [*sorted(Path(_evidence.__file__ or "").parent.glob("*.py")), *drawing]
    for source in sources:  # every module of the evidence package, then the renderer's
        h.update(source.read_bytes())
    return h.hexdigest()[:12]


def _cache_path(dev: DevSet | RendererSet, cache_dir: Path) -> Path:
    if isinstance(dev, RendererSet):
        key = hashlib.sha256(repr((dev.renderer, dev.seed, dev.products)).encode()).hexdigest()[:8]
        return cache_dir / f"{dev.name}-{key}-{_code_version(dev.renderer)}.jsonl.gz"
    key = hashlib.sha256(repr((dev.seed, dev.params, dev.tenant_prefix)).encode()).hexdigest()[:8]
    return cache_dir / f"{dev.name}-{key}-{_code_version()}.jsonl.gz"


def _extract_product(product: clothing.Product) -> dict[str, Any]:
    evs = [_evidence.extract(clothing.render_photo(spec)) for spec in product.photos]
    return {
        "tenant": product.tenant,
        "product_id": product.product_id,
        "label_index": product.label_index,
        "evidence": [ev.to_json(with_hist=True) for ev in evs],
    }


def _renderer_rows(items: list[measure.MeasuredProduct]) -> Iterator[dict[str, Any]]:
    """A renderer set's measured products as cache rows; a product with a photo that does not decode is left out."""
    for item in items:
        if any(ev is None for ev in item.evidence):
            continue
        yield {
            "tenant": item.product.tenant,
            "product_id": item.product.product_id,
            "label_index": item.product.label_index,
            "kinds": [photo.kind for photo in item.product.photos],
            "evidence": [ev.to_json(with_hist=True) for ev in item.evidence if ev is not None],
        }


def _check(dev: DevSet | RendererSet) -> None:
    if isinstance(dev, DevSet):
        if dev.seed in HELD_OUT_SEEDS:
            raise TrainingError(f"set {dev.name}: seed {dev.seed} is held out (HELD_OUT_SEEDS): never train on it")
        return
    try:
        module = measure.renderer_module(dev.renderer)
    except ValueError as error:
        raise TrainingError(f"set {dev.name}: {error}") from error
    if not module.__name__.startswith("product_images.labels.development."):
        raise TrainingError(f"set {dev.name}: {dev.renderer} is an evaluation renderer: it measures, never trains")
    if dev.seed in set(module.SEEDS.values()):
        raise TrainingError(f"set {dev.name}: seed {dev.seed} is one of {dev.renderer}'s SEEDS, which measure it")


def _rows(dev: DevSet | RendererSet, processes: int, progress: Callable[[int, int], None] | None) -> Iterator[dict]:
    if isinstance(dev, RendererSet):
        drawn = measure.renderer_module(dev.renderer).generate_set(dev.seed, dev.products)
        yield from _renderer_rows(measure.extract_set(drawn, max(1, processes), progress))
        return
    dataset = clothing.generate_dataset(dev.seed, dev.params, tenant_prefix=dev.tenant_prefix)
    with ProcessPoolExecutor(max(1, processes)) as pool:
        for i, row in enumerate(pool.map(_extract_product, dataset.products, chunksize=4), 1):
            if progress:
                progress(i, len(dataset.products))
            yield row


def load_set(
    dev: DevSet | RendererSet,
    cache_dir: Path,
    processes: int = 2,
    progress: Callable[[int, int], None] | None = None,
) -> list[ProductEvidence]:
    """Every product of ``dev`` with its photos' evidence (product context filled).

    Renders and measures the photos in ``processes`` worker processes (about 0.2 s of CPU
    a photo), then caches them in ``cache_dir`` as gzipped JSON lines; the cache file's
    name holds the set's parameters and a hash of the evidence and renderer code, so a
    change there measures again. A renderer set's product with a photo that does not
    decode is left out (a person would not train on it either).

    Args:
        progress: called with (products done, products) as the work goes.

    Raises:
        TrainingError: ``dev``'s seed is the demo's, a held-out set's or one of its
            renderer's ``SEEDS``; or its renderer is unknown or an evaluation renderer.
    """
    _check(dev)
    path = _cache_path(dev, cache_dir)
    if not path.exists():
        rows = list(_rows(dev, processes, progress))
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with gzip.open(tmp, "wt") as fh:
            for row in rows:
                fh.write(json.dumps(row) + "\n")
        tmp.replace(path)
    prefix = "" if isinstance(dev, DevSet) else f"{dev.name}:"
    products = []
    with gzip.open(path, "rt") as fh:
        for line in fh:
            row = json.loads(line)
            evs = [Detector.evidence_from_json(e) for e in row["evidence"]]
            _evidence.product_context(evs)
            kinds = tuple(row.get("kinds") or ())
            products.append(
                ProductEvidence(prefix + row["tenant"], row["product_id"], row["label_index"], evs, dev.renderer, kinds)
            )
    return products

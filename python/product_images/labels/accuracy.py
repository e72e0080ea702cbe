"""``product-images labels accuracy``: the detector measured on a shop's own people's decisions.

On a real shop the figure that counts is not one measured on drawn sets: it is how
often the evidence agrees with what the shop's people decided. For every product a
person decided (``label_source`` ``override``, from the overrides seed, or ``app``, from
the app), this module asks what the evidence alone would have said, and counts:

* the person's truth: the photo they flagged as the label; or "no label" when they
  decided every photo of the product and flagged none. A product where a person
  decided only some photos and flagged none is *partly decided* and not counted;
* the evidence's decision: each photo's stored evidence (``label_evidence``, from
  the current detector version) assessed again with a shop profile learned from the
  tenant's **other** decided products (leave one out: the product's own decision never
  teaches the profile that judges it), then decided as the SQL decides it with the dbt
  vars ``label_score_threshold`` / ``label_score_floor``.

Precision (right photo among the evidence's labels) and recall (labels among the tags
the evidence decided) come with a Wilson 95% interval and the number of decisions each
rests on: with 50 decisions all right the interval's lower bound is still 0.93.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from product_images.labels import scoring
from product_images.labels.detector import Detector, Evidence, ShopProfile
from product_images.labels.evaluation.measure import wilson_interval
from product_images.migration.tenants import select_tenants

__all__ = ["ProductCheck", "TenantAccuracy", "AccuracyReport", "shop_accuracy", "tenant_accuracy"]

_DECIDED_PHOTOS = """
select images.product_id, images.position, images.is_label, images.label_source,
    images.label_evidence, images.label_error, images.label_detector
from {images} as images
where
    images.source_index is not null
    and images.product_id in (
        select decided.product_id from {images} as decided where decided.label_source in ('override', 'app')
    )
order by images.product_id, images.position, images.id
"""


@dataclass
class ProductCheck:
    """One product a person decided, and what the evidence says of it.

    Fields:
        product_id: the product.
        truth: the 0-based index (in position order) of the photo the person flagged, or None (no label).
        status: the evidence's decision: ``"label"``, ``"none"`` or ``"doubtful"``.
        index: the photo the evidence labelled (``status == "label"``), else None.
    """

    product_id: int
    truth: int | None
    status: str
    index: int | None


@dataclass
class TenantAccuracy:
    """The figures of one tenant.

    Fields:
        tenant: the tenant schema.
        decided: products a person decided (counted); partly_decided: products with some
            photos decided and no label flagged (not counted); unscored: decided products
            with a photo lacking current evidence (run ``labels detect``; not counted).
        labels, correct: the evidence's labels, and those on the person's photo.
        decided_tags: products the person gave a label and the evidence decided.
        doubtful: decided products the evidence leaves doubtful.
        cleared_wrongly: products the evidence cleared ("none") that have a label.
    """

    tenant: str
    decided: int = 0
    partly_decided: int = 0
    unscored: int = 0
    labels: int = 0
    correct: int = 0
    decided_tags: int = 0
    doubtful: int = 0
    cleared_wrongly: int = 0
    checks: list[ProductCheck] = field(default_factory=list, repr=False)

    def add(self, check: ProductCheck) -> None:
        """Count one decided product."""
        self.checks.append(check)
        self.decided += 1
        if check.status == "doubtful":
            self.doubtful += 1
            return
        self.decided_tags += check.truth is not None
        if check.status == "label":
            self.labels += 1
            self.correct += check.index == check.truth
        elif check.truth is not None:
            self.cleared_wrongly += 1

    def to_dict(self) -> dict[str, Any]:
        """Counts, precision and recall (None when nothing to measure) with Wilson 95% intervals."""
        return {
            "tenant": self.tenant,
            "decided": self.decided,
            "partly_decided": self.partly_decided,
            "unscored": self.unscored,
            "labels": self.labels,
            "correct": self.correct,
            "decided_tags": self.decided_tags,
            "doubtful": self.doubtful,
            "cleared_wrongly": self.cleared_wrongly,
            "precision": round(self.correct / self.labels, 4) if self.labels else None,
            "precision_interval": [round(v, 4) for v in wilson_interval(self.correct, self.labels)],
            "recall": round(self.correct / self.decided_tags, 4) if self.decided_tags else None,
            "recall_interval": [round(v, 4) for v in wilson_interval(self.correct, self.decided_tags)],
        }


@dataclass
class AccuracyReport:
    """Per-tenant figures and their sum over the tenants (``total``)."""

    tenants: list[TenantAccuracy]
    detector: str
    threshold: float
    floor: float

    @property
    def total(self) -> TenantAccuracy:
        """The tenants' counts added up (tenant ``"all"``)."""
        total = TenantAccuracy("all")
        for tenant in self.tenants:
            for check in tenant.checks:
                total.add(check)
            total.partly_decided += tenant.partly_decided
            total.unscored += tenant.unscored
        return total

    def to_dict(self) -> dict[str, Any]:
        """``{"detector", "threshold", "floor", "tenants": [...], "total": {...}}``."""
        return {
            "detector": self.detector,
            "threshold": self.threshold,
            "floor": self.floor,
            "tenants": [tenant.to_dict() for tenant in self.tenants],
            "total": self.total.to_dict(),
        }

    def lines(self) -> list[str]:
        """The report as a person reads it: one line per tenant, then the total."""
        out = [f"detector {self.detector}, threshold {self.threshold}, floor {self.floor}"]
        for tenant in [*self.tenants, self.total]:
            d = tenant.to_dict()
            if not tenant.decided:
                out.append(f"{tenant.tenant}: no product decided by a person yet ({tenant.unscored} unscored)")
                continue
            out.append(
                f"{tenant.tenant}: {tenant.decided} decided products"
                f" ({tenant.doubtful} doubtful, {tenant.partly_decided} partly decided, {tenant.unscored} unscored);"
                f" precision {_figure(d['precision'], d['precision_interval'], tenant.labels)};"
                f" recall {_figure(d['recall'], d['recall_interval'], tenant.decided_tags)}"
            )
        return out


def _figure(value: float | None, interval: Sequence[float], n: int) -> str:
    if value is None:
        return "n/a (0 decisions)"
    return f"{value:.3f} [{interval[0]:.3f}, {interval[1]:.3f}] on {n}"


@dataclass
class _Decided:
    product_id: int
    truth: int | None
    evidence: list[Evidence]


def _decided_products(
    conn: psycopg.Connection, tenant: str, detector: Detector, found: TenantAccuracy
) -> list[_Decided]:
    rows = conn.execute(sql.SQL(_DECIDED_PHOTOS).format(images=sql.Identifier(tenant, "product_images"))).fetchall()
    by_product: dict[int, list[tuple]] = {}
    for row in rows:
        by_product.setdefault(row[0], []).append(row)
    out = []
    for product_id, photos in by_product.items():
        human = [photo[3] in ("override", "app") for photo in photos]
        flagged = [i for i, photo in enumerate(photos) if human[i] and photo[2]]
        if not flagged and not all(human):
            found.partly_decided += 1
            continue
        if any(photo[4] is None or photo[5] is not None or photo[6] != detector.version for photo in photos):
            found.unscored += 1
            continue
        evidence = [detector.evidence_from_json(photo[4]) for photo in photos]
        out.append(_Decided(product_id, flagged[0] if flagged else None, evidence))
    return out


def _profile_without(detector: Detector, tenant: str, products: Sequence[_Decided], skip: int) -> ShopProfile | None:
    pairs = [
        (ev, j == product.truth)
        for i, product in enumerate(products)
        if i != skip
        for j, ev in enumerate(product.evidence)
    ]
    if not any(is_tag for _, is_tag in pairs):
        return None
    profile = detector.learn(tenant, pairs)
    return profile if profile.usable else None


def tenant_accuracy(
    conn: psycopg.Connection, tenant: str, detector: Detector, threshold: float, floor: float
) -> TenantAccuracy:
    """The figures of one tenant (see the module's description).

    Args:
        conn: an open connection.
        tenant: a tenant schema with a ``product_images`` table.
        detector: the detector whose stored evidence counts (older versions' evidence is "unscored").
        threshold, floor: the dbt vars ``label_score_threshold`` / ``label_score_floor`` (0–1).

    Raises:
        psycopg.Error: database errors.
    """
    found = TenantAccuracy(tenant)
    products = _decided_products(conn, tenant, detector, found)
    for i, product in enumerate(products):
        profile = _profile_without(detector, tenant, products, i)
        scores = detector.score(product.evidence, profile)
        decision = scoring.decide(scores, threshold, floor)
        found.add(ProductCheck(product.product_id, product.truth, decision.status, decision.index))
    return found


def shop_accuracy(
    conn: psycopg.Connection,
    detector: Detector,
    threshold: float,
    floor: float,
    tenants: Sequence[str] | None = None,
) -> AccuracyReport:
    """:func:`tenant_accuracy` of every tenant (or of ``tenants``) and their total.

    Raises:
        ValueError: a tenant asked for is not a tenant with a ``product_images`` table (named).
        psycopg.Error: database errors.
    """
    selected = select_tenants(conn, list(tenants) if tenants else None)
    found = [tenant_accuracy(conn, tenant, detector, threshold, floor) for tenant in selected]
    return AccuracyReport(found, detector.version, threshold, floor)

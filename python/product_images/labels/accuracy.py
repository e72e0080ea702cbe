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
  tenant's **other** decided products (the product's own decision never teaches the
  profile that judges it: leave one out up to :data:`MAX_FOLDS` decided products; beyond,
  the decided products, in product id order, are dealt into :data:`MAX_FOLDS` folds (the
  i-th to fold i mod MAX_FOLDS) and a product is judged by the profile learned from the
  other folds, so a tenant's cost grows with its decided photos, not with their square:
  about 1 minute of CPU for 50,000 decided photos), then decided as the SQL decides it
  with the dbt vars ``label_score_threshold`` / ``label_score_floor``.

Precision (right photo among the evidence's labels) and recall (labels among the tags
the evidence decided) come with a Wilson 95% interval and the number of decisions each
rests on: with 50 decisions all right the interval's lower bound is still 0.93.

Each tenant is read with one statement (one snapshot: a concurrent ``labels detect``, app
or ``dbt run`` is seen wholly or not at all, per tenant), streamed product by product, so
memory holds the decided products' evidence, not the rows' JSON besides it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from product_images.labels import scoring
from product_images.labels.detector import Detector, Evidence, ShopProfile
from product_images.labels.evaluation.measure import wilson_interval
from product_images.migration.tenants import discover_tenants

__all__ = [
    "MAX_FOLDS",
    "AccuracyUnavailable",
    "AccuracyReport",
    "ProductCheck",
    "TenantAccuracy",
    "UnknownTenantError",
    "shop_accuracy",
    "tenant_accuracy",
]

#: Up to this many decided products a tenant's profiles leave one product out; beyond, this many folds.
MAX_FOLDS = 100

#: The columns of a tenant's ``product_images`` the measure reads (the detector's are added by ``dbt run``).
NEEDED_COLUMNS = (
    "id",
    "product_id",
    "position",
    "is_label",
    "label_source",
    "source_index",
    "label_evidence",
    "label_error",
    "label_detector",
)


class AccuracyUnavailable(RuntimeError):
    """Nothing can be measured here: no tenant has a ``product_images`` table, or a tenant's table
    lacks the detector's columns (the message names the tenant, the columns and what to run)."""


class UnknownTenantError(ValueError):
    """A tenant asked for is not a tenant with a ``product_images`` table (the message names it, quoted,
    and lists the tenants)."""


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
            with a photo lacking current evidence: never scored or scored by another detector
            version (run ``labels detect``), or failed, ``label_error`` set (``labels detect
            --retry-failed``); not counted.
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
        """The counts (ints, as the fields), then ``precision`` (correct / labels) and ``recall``
        (correct / decided_tags): floats rounded to 4 decimals, None when their count is 0; and
        ``precision_interval``, ``recall_interval``: their Wilson 95% intervals ``[low, high]``
        (4 decimals; ``[0.0, 1.0]`` when the count is 0)."""
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
        """``{"detector": str, "threshold": float, "floor": float, "tenants": [TenantAccuracy.to_dict(), ...],
        "total": TenantAccuracy.to_dict() of tenant "all"}``; the tenants in the order measured."""
        return {
            "detector": self.detector,
            "threshold": self.threshold,
            "floor": self.floor,
            "tenants": [tenant.to_dict() for tenant in self.tenants],
            "total": self.total.to_dict(),
        }

    def lines(self) -> list[str]:
        """The report as a person reads it: one line per tenant, then the total.

        A figure reads ``0.714 [0.358, 0.918] (5 of 7)``: the share, its Wilson 95% interval
        (widened outwards to 3 decimals) and the counts it rests on; a share short of 1 never
        reads 1.000, nor a share above 0 reads 0.000.
        """
        out = [f"detector {self.detector}, threshold {self.threshold}, floor {self.floor}"]
        for tenant in [*self.tenants, self.total]:
            out.append(f"{tenant.tenant}: {_tenant_line(tenant)}")
        return out


def _tenant_line(tenant: TenantAccuracy) -> str:
    not_counted = f"{tenant.partly_decided} partly decided, {tenant.unscored} unscored"
    if not tenant.decided:
        if tenant.partly_decided or tenant.unscored:
            return f"no decided product measured ({not_counted}: not counted)"
        return "no product decided by a person yet"
    return (
        f"{tenant.decided} decided products ({tenant.doubtful} doubtful, {not_counted});"
        f" precision {_figure(tenant.correct, tenant.labels, 'the evidence labelled no product')};"
        f" recall {_figure(tenant.correct, tenant.decided_tags, 'no product with a tag that the evidence decided')}"
    )


def _figure(successes: int, n: int, empty: str) -> str:
    if not n:
        return f"n/a ({empty})"
    share = f"{successes / n:.3f}"
    if successes < n and share == "1.000":
        share = "0.999"
    elif successes and share == "0.000":
        share = "0.001"
    low, high = wilson_interval(successes, n)
    return f"{share} [{math.floor(low * 1000) / 1000:.3f}, {math.ceil(high * 1000) / 1000:.3f}] ({successes} of {n})"


@dataclass
class _Decided:
    product_id: int
    truth: int | None
    evidence: list[Evidence]


def _decided_product(
    product_id: int, photos: list[tuple[Any, ...]], detector: Detector, found: TenantAccuracy
) -> _Decided | None:
    """One product's photos (rows of :data:`_DECIDED_PHOTOS`) as a decision to measure, or None (counted in
    ``found`` as partly decided or unscored)."""
    human = [photo[3] in ("override", "app") for photo in photos]
    flagged = [i for i, photo in enumerate(photos) if human[i] and photo[2]]
    if not flagged and not all(human):
        found.partly_decided += 1
        return None
    if any(photo[4] is None or photo[5] is not None or photo[6] != detector.version for photo in photos):
        found.unscored += 1
        return None
    evidence = [detector.evidence_from_json(photo[4]) for photo in photos]
    return _Decided(product_id, flagged[0] if flagged else None, evidence)


def _decided_products(
    conn: psycopg.Connection, tenant: str, detector: Detector, found: TenantAccuracy
) -> list[_Decided]:
    """The tenant's decided products, read in one statement and streamed product by product."""
    query = sql.SQL(_DECIDED_PHOTOS).format(images=sql.Identifier(tenant, "product_images"))
    out = []
    with conn.cursor() as cursor:
        for product_id, photos in itertools.groupby(cursor.stream(query), key=lambda row: row[0]):
            decided = _decided_product(product_id, list(photos), detector, found)
            if decided is not None:
                out.append(decided)
    return out


def _profile_without(
    detector: Detector, tenant: str, products: Sequence[_Decided], fold: int, folds: int
) -> ShopProfile | None:
    """The profile learned from every decided product outside ``fold`` (product ``i`` is in fold ``i % folds``)."""
    pairs = [
        (ev, j == product.truth)
        for i, product in enumerate(products)
        if i % folds != fold
        for j, ev in enumerate(product.evidence)
    ]
    if not any(is_tag for _, is_tag in pairs):
        return None
    profile = detector.learn(tenant, pairs)
    return profile if profile.usable else None


def _missing_columns(conn: psycopg.Connection, tenant: str) -> list[str] | None:
    """The :data:`NEEDED_COLUMNS` the tenant's ``product_images`` lacks; None when the table is gone."""
    rows = conn.execute(
        "select attname from pg_catalog.pg_attribute"
        " where attrelid = to_regclass(%s) and attnum > 0 and not attisdropped",
        (sql.Identifier(tenant, "product_images").as_string(conn),),
    ).fetchall()
    present = {row[0] for row in rows}
    return [name for name in NEEDED_COLUMNS if name not in present] if present else None


def tenant_accuracy(
    conn: psycopg.Connection, tenant: str, detector: Detector, threshold: float, floor: float
) -> TenantAccuracy:
    """The figures of one tenant (see the module's description).

    Args:
        conn: an open connection.
        tenant: a tenant schema with a ``product_images`` table.
        detector: the detector whose stored evidence counts (older versions' evidence is "unscored").
        threshold, floor: the dbt vars ``label_score_threshold`` / ``label_score_floor`` (0–1).

    Returns:
        A :class:`TenantAccuracy`; its ``checks`` in product id order.

    Raises:
        AccuracyUnavailable: the tenant's ``product_images`` lacks columns of :data:`NEEDED_COLUMNS`
            (a table from before the detector: ``dbt run --select product_images`` adds them), or is gone
            (a rollback dropped it since the tenants were listed).
        psycopg.Error: database errors.
    """
    missing = _missing_columns(conn, tenant)
    if missing is None:
        raise AccuracyUnavailable(
            f"{tenant}.product_images does not exist (any more): run dbt run --select product_images"
        )
    if missing:
        raise AccuracyUnavailable(
            f"{tenant}.product_images lacks the column(s) {', '.join(missing)}: run dbt run --select product_images"
            " (it adds the detector's columns), then product-images labels detect"
        )
    found = TenantAccuracy(tenant)
    products = _decided_products(conn, tenant, detector, found)
    folds = min(len(products), MAX_FOLDS)
    checks: list[ProductCheck | None] = [None] * len(products)
    for fold in range(folds):
        profile = _profile_without(detector, tenant, products, fold, folds)
        for i in range(fold, len(products), folds):
            decision = scoring.decide(detector.score(products[i].evidence, profile), threshold, floor)
            checks[i] = ProductCheck(products[i].product_id, products[i].truth, decision.status, decision.index)
    for check in checks:
        if check is not None:
            found.add(check)
    return found


def _tenants(conn: psycopg.Connection, tenants: Sequence[str] | None) -> list[str]:
    known = discover_tenants(conn)
    if tenants:
        asked = list(dict.fromkeys(tenants))
        unknown = [name for name in asked if name not in known]
        if unknown:
            raise UnknownTenantError(
                f"not a tenant with a product_images table: {', '.join(repr(name) for name in unknown)}"
                f" (tenants: {', '.join(known) or 'none'})"
            )
        return asked
    if not known:
        raise AccuracyUnavailable(
            f"no tenant with a product_images table in database {conn.info.dbname!r} (tenant schemas match"
            " PRODUCT_IMAGES_TENANT_REGEX or are in PRODUCT_IMAGES_EXTRA_TENANTS): run dbt run --select"
            " product_images first, or check PGDATABASE"
        )
    return known


def shop_accuracy(
    conn: psycopg.Connection,
    detector: Detector,
    threshold: float,
    floor: float,
    tenants: Sequence[str] | None = None,
) -> AccuracyReport:
    """:func:`tenant_accuracy` of every tenant (or of ``tenants``) and their total.

    Args:
        conn: an open connection.
        detector, threshold, floor: as for :func:`tenant_accuracy`.
        tenants: tenant schemas to measure (duplicates allowed), or None for every tenant with a
            ``product_images`` table (:func:`~product_images.migration.tenants.discover_tenants`).

    Returns:
        An :class:`AccuracyReport`, tenants in the order asked for (else by name).

    Raises:
        UnknownTenantError: a tenant asked for is not a tenant with a ``product_images`` table (a ValueError;
            the message names it, quoted, and lists the tenants).
        AccuracyUnavailable: no tenant asked for and none found, a tenant's table lacks the detector's columns,
            or the database refused a tenant's read (permission, a table dropped meanwhile: the tenant named).
        psycopg.Error: database errors while finding the tenants (psycopg.errors.InvalidRegularExpression: a bad
            ``PRODUCT_IMAGES_TENANT_REGEX``).
    """
    found = []
    for tenant in _tenants(conn, tenants):
        try:
            found.append(tenant_accuracy(conn, tenant, detector, threshold, floor))
        except psycopg.Error as error:
            raise AccuracyUnavailable(f"{tenant}: the database refused the measure: {str(error).strip()}") from error
    return AccuracyReport(found, detector.version, threshold, floor)

"""What a run of ``labels detect`` reports (:class:`DetectSummary`), its errors and limits, and why a photo
is not scored."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from product_images.metadata.probe import ProbeError

_log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 20
"""Products claimed, fetched, scored and written together."""
DEFAULT_LEASE_SECONDS = 600.0
"""Seconds a claim holds a batch's products; must exceed the time one batch takes."""
MAX_PHOTO_BYTES = 50 * 2**20
"""A photo larger than this (bytes) is not downloaded: ``too_large``."""
UNMAPPED = "unmapped"
UNREADABLE = "unreadable"
TOO_LARGE = "too_large"
LABEL_ERRORS: tuple[str, ...] = (
    UNMAPPED,
    ProbeError.MISSING.value,
    ProbeError.ACCESS_DENIED.value,
    ProbeError.NETWORK.value,
    UNREADABLE,
    TOO_LARGE,
)
"""Every value ``label_error`` can hold (null: the photo was scored)."""


class DetectError(RuntimeError):
    """The detection could not go on (database unreachable, a worker process died); says where (exit 1)."""


class DetectConfigurationError(DetectError):
    """The storage fails every object: a bucket that does not exist, credentials the store rejects (an expired
    session token included), or an endpoint no TCP connection can be made to (``StoreUnreachableError``). The run
    stops before writing the batch in flight, whose claims are released; the message names the bucket, the
    endpoint and the variables to check (the command exits 2)."""


@dataclass
class DetectSummary:
    """What one detection run did.

    Attributes:
        worker_id: the claim id of this run's (main) worker.
        dry_run: nothing was written.
        tenants: the tenants looked at.
        products: products claimed and scored.
        photos_scored: photos given a score.
        photos_fetched: objects downloaded (a photo whose stored evidence is current is not).
        photos_reused: photos scored from their stored evidence, without a download.
        photos_rescored: of those, photos scored before by another detector version (its model, thresholds or
            abstention rules changed, not its evidence version).
        failed: photos not scored, by reason (see :data:`LABEL_ERRORS`).
        scores_changed: photos whose score changed (their products are relabelled by the next dbt run).
        bytes_downloaded: bytes of the objects downloaded.
        cpu_seconds: CPU seconds of extraction and scoring, all workers.
        seconds: wall-clock seconds.
        would_detect: products a run would claim now (dry run only).
        by_tenant: products scored per tenant (they add up to ``products``).
        profiles: per tenant, the profile used: ``{"hash", "confirmed_tags", "confirmed_photos",
            "decided_products"}`` (``decided_products``: products people decided, through the
            overrides seed or the app).
        changed_by_tenant: per tenant, photos whose score changed in this run.
        abstained: photos the detector would not decide on the model's word alone, by reason
            (see :data:`product_images.labels.abstention.REASONS`; ``shop_price``: labelled on
            the price read, whatever the model scored).
        claims_lost: photos scored but not written: their product was taken over by another worker
            after the lease ran out (that worker writes it), or the photo changed while it was
            scored (the app pointed its row at another URL, or the backfill saw its object
            replaced after the download): left to do, the run's last pass or the next run scores
            what the row shows now.
        left_locked: photos scored but not written because another transaction held their row lock
            at the write (the detector does not wait for it); their product stays claimed until the
            lease ends, and a later run scores them.
        kept_on_network_error: photos not written because their download failed (``network``) while
            their row held a score: they keep it (and its evidence and detector); their product stays
            claimed until the lease ends, and a later run tries again.
    """

    worker_id: str
    dry_run: bool = False
    tenants: list[str] = field(default_factory=list)
    products: int = 0
    photos_scored: int = 0
    photos_fetched: int = 0
    photos_reused: int = 0
    photos_rescored: int = 0
    failed: dict[str, int] = field(default_factory=dict)
    scores_changed: int = 0
    bytes_downloaded: int = 0
    cpu_seconds: float = 0.0
    seconds: float = 0.0
    would_detect: int = 0
    by_tenant: dict[str, int] = field(default_factory=dict)
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    changed_by_tenant: dict[str, int] = field(default_factory=dict)
    abstained: dict[str, int] = field(default_factory=dict)
    claims_lost: int = 0
    left_locked: int = 0
    kept_on_network_error: int = 0

    def add(self, other: DetectSummary) -> None:
        """Add another worker's counts to these."""
        for name in (
            "products",
            "photos_scored",
            "photos_fetched",
            "photos_reused",
            "photos_rescored",
            "scores_changed",
            "bytes_downloaded",
            "claims_lost",
            "left_locked",
            "kept_on_network_error",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.cpu_seconds += other.cpu_seconds
        for reason, count in other.failed.items():
            self.failed[reason] = self.failed.get(reason, 0) + count
        for mine, theirs in (
            (self.by_tenant, other.by_tenant),
            (self.changed_by_tenant, other.changed_by_tenant),
            (self.abstained, other.abstained),
        ):
            for key, count in theirs.items():
                mine[key] = mine.get(key, 0) + count

    @property
    def photos_per_second(self) -> float:
        """Photos scored per wall-clock second."""
        return self.photos_scored / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready values (``photos_per_second`` included)."""
        return {**asdict(self), "photos_per_second": round(self.photos_per_second, 2)}

    def lines(self) -> list[str]:
        """The human summary, one line per fact."""
        if self.dry_run:
            return [
                f"labels detect (dry run): {self.would_detect:,} products would be scored over "
                f"{len(self.tenants)} tenant(s); nothing changed"
            ]
        failed = sum(self.failed.values())
        lines = [
            f"labels detect: {self.products:,} products, {self.photos_scored:,} photos scored over "
            f"{len(self.tenants)} tenant(s) in {self.seconds:.1f} s ({self.photos_per_second:.1f} photos/s, "
            f"{self.cpu_seconds / max(self.photos_scored, 1) * 1000:.0f} ms CPU a photo)",
            f"  fetched {self.photos_fetched:,} objects ({self.bytes_downloaded / 1e6:,.1f} MB), "
            f"{self.photos_reused:,} photos scored from their stored evidence; {self.scores_changed:,} scores changed",
        ]
        if self.photos_rescored:
            lines.append(
                f"  {self.photos_rescored:,} photos rescored from their stored evidence for a new detector version "
                "(model, thresholds or rules changed, not the evidence): nothing downloaded for them"
            )
        if failed:
            reasons = ", ".join(f"{reason} {count}" for reason, count in sorted(self.failed.items()))
            lines.append(f"  not scored: {failed:,} ({reasons})")
        if self.abstained:
            reasons = ", ".join(f"{reason} {count}" for reason, count in sorted(self.abstained.items()))
            lines.append(f"  not on the model's word alone: {sum(self.abstained.values()):,} photos ({reasons})")
        lines.extend(self._not_written())
        for tenant in self.tenants:
            info = self.profiles.get(tenant, {})
            if info.get("decided_products"):
                lines.append(
                    f"  {tenant}: {info['decided_products']:,} products decided by people, shop profile from "
                    f"{info.get('confirmed_tags', 0):,} confirmed tags; "
                    f"{self.changed_by_tenant.get(tenant, 0):,} scores changed in this run"
                )
        if self.scores_changed:
            lines.append("  apply them: dbt run --select product_images")
        return lines

    def _not_written(self) -> list[str]:
        """The lines about photos scored but not written (none when every photo was)."""
        lines = []
        if self.claims_lost:
            lines.append(
                f"  {self.claims_lost:,} photos not written: taken over by another worker after their lease expired, "
                "or their URL or object changed while being scored (left to do)"
            )
        if self.left_locked:
            lines.append(
                f"  {self.left_locked:,} photos not written: another transaction held their row lock "
                "(left claimed until the lease ends, for a later run)"
            )
        if self.kept_on_network_error:
            lines.append(
                f"  {self.kept_on_network_error:,} photos keep their earlier score: their download failed (network); "
                "a run after the lease tries again"
            )
        return lines

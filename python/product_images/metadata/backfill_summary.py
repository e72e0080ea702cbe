"""What one metadata backfill reports (:class:`BackfillSummary`): rows probed, failures by reason, bytes, requests."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["BackfillSummary"]


@dataclass
class BackfillSummary:
    """What one :func:`~product_images.metadata.backfill.backfill` call did.

    Fields:
        tenants: the tenant schemas visited, in order.
        worker_id: the ``metadata_claimed_by`` value this run used.
        dry_run: True when nothing was claimed, probed or written.
        rows_probed: rows whose metadata this run wrote (``ok`` + sum of ``failed``).
        ok: rows measured (``metadata_error`` null).
        failed: rows per ``metadata_error`` value (``{"missing": 3, "unmapped": 1}``).
        by_tenant: rows written per tenant schema.
        bytes_downloaded: body bytes received from the store, over all requests.
        object_bytes: total size in bytes of the objects probed (each distinct object of
            a batch once; objects of unknown size count 0).
        objects_probed: distinct objects probed (requests were made for them).
        requests: S3 requests made.
        claims_lost: rows claimed but not written because their lease expired and another
            worker took them over (that worker writes them), or because the row's URL changed
            while its object was probed (the row's claim is cleared: it stays to do).
        left_locked: rows probed but not written because another transaction held their row
            lock at the write (the backfill does not wait for it); they stay claimed until the
            lease ends and a later run probes them.
        seconds: wall-clock duration of the call.
        would_probe: dry run only: rows that a real run would claim (to do, not held by
            a live claim, at most ``limit``).
        would_be_unmapped: dry run only: of those, rows no mapping rule covers.
    """

    tenants: list[str] = field(default_factory=list)
    worker_id: str = ""
    dry_run: bool = False
    rows_probed: int = 0
    ok: int = 0
    failed: dict[str, int] = field(default_factory=dict)
    by_tenant: dict[str, int] = field(default_factory=dict)
    bytes_downloaded: int = 0
    object_bytes: int = 0
    objects_probed: int = 0
    requests: int = 0
    claims_lost: int = 0
    left_locked: int = 0
    seconds: float = 0.0
    would_probe: int = 0
    would_be_unmapped: int = 0

    @property
    def failed_total(self) -> int:
        """Rows written with a ``metadata_error``."""
        return sum(self.failed.values())

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict (``failed`` sorted by reason, ``seconds`` rounded to ms)."""
        data = asdict(self)
        data["failed"] = dict(sorted(self.failed.items()))
        data["seconds"] = round(self.seconds, 3)
        return data

    def lines(self) -> list[str]:
        """A few human-readable lines (plain text, thousands separators, MB = 10^6 bytes)."""
        where = f"{len(self.tenants)} tenant{'s' if len(self.tenants) != 1 else ''}"
        if self.dry_run:
            return [
                f"metadata backfill (dry run): {self.would_probe:,} rows would be probed over {where} "
                f"({self.would_be_unmapped:,} unmapped: no request); nothing changed"
            ]
        rate = f" ({self.rows_probed / self.seconds:,.0f} rows/s)" if self.seconds > 0 and self.rows_probed else ""
        lines = [f"metadata backfill: {self.rows_probed:,} rows probed over {where} in {self.seconds:.1f} s{rate}"]
        reasons = ", ".join(f"{reason} {count:,}" for reason, count in sorted(self.failed.items()))
        lines.append(f"  ok {self.ok:,}; failed {self.failed_total:,}" + (f" ({reasons})" if reasons else ""))
        share = f" ({self.bytes_downloaded / self.object_bytes:.1%})" if self.object_bytes else ""
        lines.append(
            f"  downloaded {self.bytes_downloaded / 1e6:,.1f} MB of {self.object_bytes / 1e6:,.1f} MB stored{share}, "
            f"{self.requests:,} requests for {self.objects_probed:,} objects"
        )
        if self.claims_lost:
            lines.append(
                f"  {self.claims_lost:,} rows not written: taken over by another worker after their lease expired, "
                "or their URL changed while being probed (left to do)"
            )
        if self.left_locked:
            lines.append(
                f"  {self.left_locked:,} rows not written: another transaction held their row lock "
                "(left claimed until the lease ends, for a later run)"
            )
        return lines

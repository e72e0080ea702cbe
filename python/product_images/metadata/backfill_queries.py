"""The SQL of the metadata backfill (:mod:`product_images.metadata.backfill`), composed once per tenant."""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

from product_images.claims import Claims

__all__ = ["Queries", "tenant_queries"]


@dataclass(frozen=True)
class Queries:
    """The SQL of one tenant table (composed once per tenant)."""

    claim: sql.Composed
    write: sql.Composed
    release: sql.Composed
    count: sql.Composed
    pending_urls: sql.Composed


# Each result is written only on a row still claimed by this worker, locked without waiting (SKIP LOCKED) and
# still holding the URL probed; a row whose URL changed gets its claim cleared instead (it stays to do). Returns
# (id, outcome) per row: written, url_changed, locked (claimed by this worker but held by another transaction).
_WRITE = """
with results as materialized (
    select * from jsonb_to_recordset(%(results)s) as results (
        id bigint, url text, mime_type text, file_size bigint, width integer, height integer,
        exif_orientation smallint, etag text, error text
    )
),
locked as materialized (
    select images.id from {table} as images
    where images.id in (select id from results) and images.metadata_claimed_by = %(worker)s
    order by images.id
    for update skip locked
),
written as (
    update {table} as images
    set
        mime_type = results.mime_type,
        file_size = results.file_size,
        width = results.width,
        height = results.height,
        exif_orientation = results.exif_orientation,
        metadata_etag = results.etag,
        metadata_error = results.error,
        metadata_probed_at = now(),
        metadata_claimed_by = null,
        metadata_claimed_until = null
    from results
    where images.id = results.id and images.id in (select id from locked)
        and images.url is not distinct from results.url
    returning images.id
),
url_changed as (
    update {table} as images
    set metadata_claimed_by = null, metadata_claimed_until = null
    from results
    where images.id = results.id and images.id in (select id from locked)
        and images.url is distinct from results.url
    returning images.id
)
select id, 'written' from written
union all
select id, 'url_changed' from url_changed
union all
select images.id, 'locked' from {table} as images
where images.id in (select id from results) and images.metadata_claimed_by = %(worker)s
    and images.id not in (select id from locked)
"""


def tenant_queries(tenant: str, retry_failed: bool) -> Queries:
    """The statements of one tenant's ``product_images``.

    Args:
        tenant: the tenant schema.
        retry_failed: rows with a ``metadata_error`` probed before ``run_started`` are to do as well.

    Returns:
        A :class:`Queries`; the statements take the parameters ``worker``, ``lease``, ``run_started`` and
        ``results`` (write: a JSON array of ``{id, url, mime_type, file_size, width, height, exif_orientation,
        etag, error}``), ``ids`` (release), ``cap`` (count, pending_urls), ``from_id`` and ``batch`` (claim).
    """
    if retry_failed:
        todo = sql.SQL(
            "(metadata_probed_at is null or (metadata_error is not null and metadata_probed_at < %(run_started)s))"
        )
    else:
        todo = sql.SQL("metadata_probed_at is null")
    claims = Claims(tenant, "metadata", todo)
    table = claims.table
    return Queries(
        claim=claims.claim(),
        write=sql.SQL(_WRITE).format(table=table),
        release=claims.release(),
        count=claims.count(),
        pending_urls=sql.SQL("select url from {table} as images where {pending} order by id limit %(cap)s").format(
            table=table, pending=claims.claimable()
        ),
    )

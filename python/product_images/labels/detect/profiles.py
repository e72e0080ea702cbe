"""A tenant's shop profile, learned from its confirmed decisions only and stored for every worker."""

from __future__ import annotations

import hashlib
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from product_images.labels.detector import Detector, ShopProfile

# --------------------------------------------------------------------------- profiles


def _profiles_relation(schema: str) -> sql.Identifier:
    return sql.Identifier(schema, "product_images_label_profiles")


_CONFIRMED = """
with

products as (
    select
        product_id,
        bool_or(label_source in ('override', 'app') and is_label) as human_label,
        max(label_score) filter (where label_error is null) as best_score
    from {images}
    group by product_id
)

select images.id, images.label_evidence, images.label_score, products.best_score,
    case
        when images.label_source in ('override', 'app') or products.human_label then images.is_label
        else images.label_score = products.best_score
    end as is_tag
from {images} as images
inner join products on images.product_id = products.product_id
where
    images.label_evidence is not null
    and images.label_detector = %(version)s
    and images.label_error is null
    and (
        images.label_source in ('override', 'app')
        or products.human_label
        or products.best_score >= %(high_bar)s
    )
order by images.id
"""


def tenant_profile(
    conn: psycopg.Connection, schema: str, tenant: str, detector: Detector
) -> tuple[ShopProfile | None, str, dict[str, Any]]:
    """The shop profile ``tenant``'s photos are scored with, learned from confirmed decisions only.

    Confirmed: images people decided (``label_source`` override or app; in a product
    where a person chose the label, its other photos count as not tags) and products
    whose best photo scored at least ``detector.high_bar`` (that photo a tag, the
    others not). Never the detector's doubtful guesses. A profile stored for the same
    confirmed set and detector version is reused, so concurrent workers agree.

    Args:
        conn: an autocommit connection.
        schema: the dbt schema (``product_images_label_profiles`` lives there).
        tenant: the tenant schema.
        detector: the detector whose evidence and high bar count.

    Returns:
        ``(profile or None, profile hash, {"hash", "confirmed_tags", "confirmed_photos"})``;
        None and ``"none"`` while nothing is confirmed.
    """
    images = sql.Identifier(tenant, "product_images")
    rows = conn.execute(
        sql.SQL(_CONFIRMED).format(images=images), {"version": detector.version, "high_bar": detector.high_bar}
    ).fetchall()
    confirmed_set = f"{detector.version}:" + ",".join(f"{row[0]}{'t' if row[4] else 'f'}" for row in rows)
    fingerprint = hashlib.sha256(confirmed_set.encode()).hexdigest()
    relation = _profiles_relation(schema)
    stored = _stored_profile(conn, relation, tenant)
    tags = sum(1 for row in rows if row[4])
    info = {"confirmed_tags": tags, "confirmed_photos": len(rows), "decided_products": _decided_products(conn, images)}
    if stored is not None and stored[0] == fingerprint:
        profile = detector.profile_from_json(stored[1]) if stored[1] is not None else None
        return profile, stored[2], {"hash": stored[2], **info}
    profile = None
    if tags:
        confirmed = [(detector.evidence_from_json(row[1]), bool(row[4])) for row in rows]
        profile = detector.learn(tenant, confirmed)
    profile_hash = detector.profile_hash(profile)
    stored_json = Jsonb(detector.profile_to_json(profile)) if profile is not None else None
    _store_profile(conn, relation, (tenant, detector.version, fingerprint, stored_json, profile_hash, tags, len(rows)))
    return profile, profile_hash, {"hash": profile_hash, **info}


def _stored_profile(conn: psycopg.Connection, relation: sql.Identifier, tenant: str) -> tuple[Any, ...] | None:
    """The tenant's stored ``(fingerprint, profile, profile_hash)``, None if none; creates the table if need be."""
    conn.execute(
        sql.SQL(
            "create table if not exists {} ("
            " tenant_schema text primary key, detector text not null, fingerprint text not null,"
            " profile jsonb, profile_hash text not null, confirmed_tags integer not null,"
            " confirmed_photos integer not null, learned_at timestamptz not null default now())"
        ).format(relation)
    )
    return conn.execute(
        sql.SQL("select fingerprint, profile, profile_hash from {} where tenant_schema = %s").format(relation),
        (tenant,),
    ).fetchone()


def _decided_products(conn: psycopg.Connection, images: sql.Identifier) -> int:
    """How many products people decided (``label_source`` override or app)."""
    decided = conn.execute(
        sql.SQL("select count(distinct product_id) from {} where label_source in ('override', 'app')").format(images)
    ).fetchone()
    return decided[0] if decided else 0


def _store_profile(conn: psycopg.Connection, relation: sql.Identifier, values: tuple[Any, ...]) -> None:
    """Store (insert or replace) a tenant's profile: ``(tenant, detector, fingerprint, profile, profile_hash,
    confirmed_tags, confirmed_photos)``."""
    conn.execute(
        sql.SQL(
            "insert into {} as profiles (tenant_schema, detector, fingerprint, profile, profile_hash, confirmed_tags,"
            " confirmed_photos, learned_at) values (%s, %s, %s, %s, %s, %s, %s, now())"
            " on conflict (tenant_schema) do update set detector = excluded.detector,"
            " fingerprint = excluded.fingerprint, profile = excluded.profile, profile_hash = excluded.profile_hash,"
            " confirmed_tags = excluded.confirmed_tags, confirmed_photos = excluded.confirmed_photos,"
            " learned_at = excluded.learned_at"
        ).format(relation),
        values,
    )

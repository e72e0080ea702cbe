"""The dbt vars the GX checkpoint holds the tables to, read as ``dbt run`` reads them.

The model, ``dbt test`` and the checkpoint must agree on the label rule: a checkpoint
that assumed the defaults would fail every product of a shop that set
``label_min_images: 3`` (its two-photo products rightly have no label). The vars come
from ``dbt_project.yml``'s ``vars:``, overridden by what the caller passes, as
``dbt run --vars`` overrides them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "CheckpointConfigError",
    "label_min_images_setting",
    "label_score_settings",
    "project_vars",
    "tenant_selection",
]


class CheckpointConfigError(RuntimeError):
    """The checkpoint cannot run: unknown name, no database, missing seed or tables, a bad dbt var (exit code 2)."""


def project_vars(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``dbt_project.yml``'s ``vars:``, with ``overrides`` on top (as ``dbt run --vars`` puts them).

    Args:
        overrides: vars that win over the file's, e.g. ``{"label_min_images": 3}``.

    Returns:
        ``{name: value}``.

    Raises:
        CheckpointConfigError: ``dbt_project.yml`` cannot be read as YAML, or its ``vars:`` is no mapping.
    """
    from product_images.project import dbt_vars

    try:
        found = dbt_vars()
    except ValueError as error:
        raise CheckpointConfigError(str(error)) from error
    return {**found, **(overrides or {})}


def label_score_settings(found: Mapping[str, Any] | None = None) -> tuple[float, float]:
    """The dbt vars ``label_score_threshold`` and ``label_score_floor``.

    The parity suite holds the evidence's decisions to the same two numbers as the
    model and ``dbt test`` (macros/migration/label_decisions.sql).

    Args:
        found: the vars to read (default: :func:`project_vars`, ``dbt_project.yml``'s).

    Returns:
        ``(threshold, floor)``, scores in [0, 1] with floor <= threshold.

    Raises:
        CheckpointConfigError: ``dbt_project.yml`` cannot be read as YAML, a var is missing or
            not a number in [0, 1], or floor > threshold.
    """
    found = project_vars() if found is None else found
    values = []
    for name in ("label_score_threshold", "label_score_floor"):
        value = found.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise CheckpointConfigError(f"dbt var {name} in dbt_project.yml must be a number in [0, 1]; got {value!r}")
        values.append(float(value))
    threshold, floor = values
    if floor > threshold:
        raise CheckpointConfigError(
            f"dbt var label_score_floor ({floor}) must not exceed label_score_threshold ({threshold})"
        )
    return threshold, floor


def label_min_images_setting(found: Mapping[str, Any] | None = None) -> int:
    """The dbt var ``label_min_images``: photos a product needs before the legacy rule labels its last one.

    The rows suite expects a label on a product with at least this many photos (unless a
    person or the evidence decided otherwise), as the model and ``one_label_per_product`` do.

    Args:
        found: the vars to read (default: :func:`project_vars`); a var left out counts as 2,
            the model's default.

    Returns:
        A count of photos, >= 1.

    Raises:
        CheckpointConfigError: the var is not a whole number >= 1, or ``dbt_project.yml`` cannot be read.
    """
    found = project_vars() if found is None else found
    value = found.get("label_min_images", 2)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise CheckpointConfigError(f"dbt var label_min_images must be a whole number >= 1; got {value!r}")
    return value


def tenant_selection(given: Mapping[str, Any] | None) -> tuple[str | None, list[str] | None]:
    """The tenants' dbt vars ``tenant_schema_regex`` and ``extra_tenant_schemas`` when the caller gave them.

    A checkpoint given ``--vars '{tenant_schema_regex: ...}'`` must validate the tenants
    ``dbt run`` was given: before 2026-12-07 the var was accepted and ignored, and a tenant
    outside the default regex went unvalidated without a word.

    Args:
        given: the vars the caller passed (``--vars``), not ``dbt_project.yml``'s; None or
            a mapping without them leaves discovery to its own defaults
            (:func:`product_images.migration.tenants.discover_tenants`: the
            ``PRODUCT_IMAGES_TENANT_REGEX`` and ``PRODUCT_IMAGES_EXTRA_TENANTS`` variables, else
            the vars' defaults).

    Returns:
        ``(regex, extra)``: a POSIX regular expression (PostgreSQL ``~``) or None, and a list of
        schema names or None; None means "not given".

    Raises:
        CheckpointConfigError: ``tenant_schema_regex`` is not a non-empty string, or
            ``extra_tenant_schemas`` is not a list of strings.
    """
    given = given or {}
    regex = given.get("tenant_schema_regex")
    if "tenant_schema_regex" in given and (not isinstance(regex, str) or not regex.strip()):
        raise CheckpointConfigError(f"dbt var tenant_schema_regex must be a non-empty string; got {regex!r}")
    extra = given.get("extra_tenant_schemas")
    if "extra_tenant_schemas" in given and (
        not isinstance(extra, list) or not all(isinstance(name, str) for name in extra)
    ):
        raise CheckpointConfigError(f"dbt var extra_tenant_schemas must be a list of schema names; got {extra!r}")
    return regex, (list(extra) if extra is not None else None)

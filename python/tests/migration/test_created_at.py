"""`safe_timestamptz`: the JSONB's created_at is parsed exactly as PostgreSQL parses it, or is null; never an error.

The macro checks the day against the month's length with text comparisons (no date
function: it was most of the first load's parsing time). PostgreSQL's own cast is the
reference: for every string of the ISO 8601 shape the macro accepts, the macro's value
is the cast's, and it is null exactly where the cast raises.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from product_images.migration.dbt_runner import DbtResult

#: The reference: PostgreSQL's cast, an error turned into null (a function per test session).
TRY_CAST = """
create or replace function pg_temp.try_timestamptz(value text) returns timestamptz
language plpgsql as $$
begin
    return value::timestamptz;
exception when others then
    return null;
end
$$
"""


@pytest.fixture(scope="module")
def parse_sql(dbt: Callable[..., DbtResult], database: str) -> str:
    """The compiled SQL of ``safe_timestamptz`` over a temporary table of values, with PostgreSQL's cast beside it."""
    result = dbt(
        "compile",
        "--inline",
        "select value, ({{ safe_timestamptz('value') }})::text as parsed,"
        " pg_temp.try_timestamptz(value)::text as cast_value from pg_temp.created_at_values",
    )
    assert result.success, result.exception
    return result.node_results()[0].node.compiled_code


def _parse(conn: psycopg.Connection, parse_sql: str, values: list[str]) -> list[tuple[str, object, object]]:
    conn.execute(TRY_CAST)
    conn.execute("create temporary table if not exists created_at_values (value text)")
    conn.execute("truncate created_at_values")
    with conn.cursor().copy("copy created_at_values (value) from stdin") as copy:
        for value in values:
            copy.write_row((value,))
    return conn.execute(parse_sql).fetchall()


def test_month_lengths_and_leap_years_match_postgresql(conn: psycopg.Connection, parse_sql: str) -> None:
    values = [
        f"{year}-{month:02d}-{day:02d}T10:20:30Z"
        for year in ("0000", "0001", "0004", "1900", "2000", "2023", "2024", "2100", "2400", "9999")
        for month in range(1, 13)
        for day in (1, 28, 29, 30, 31)
    ]
    rows = _parse(conn, parse_sql, values)
    assert [value for value, parsed, cast_value in rows if parsed != cast_value] == []
    by_value = {value: parsed for value, parsed, _ in rows}
    assert by_value["2024-02-29T10:20:30Z"] is not None
    assert by_value["2023-02-29T10:20:30Z"] is None
    assert by_value["1900-02-29T10:20:30Z"] is None
    assert by_value["2000-02-29T10:20:30Z"] is not None
    assert by_value["2023-04-31T10:20:30Z"] is None
    assert by_value["2023-12-31T10:20:30Z"] is not None
    assert by_value["0000-01-01T10:20:30Z"] is None


def test_strings_not_of_the_iso_shape_are_null(conn: psycopg.Connection, parse_sql: str) -> None:
    values = [
        "yesterday",
        "12345",
        "",
        "2023-02-30T10:00:00Z",
        "2024-13-01T00:00:00Z",
        "2024-05-06T24:00:00Z",
        "now",
        "2024-01-01-05:30",  # PostgreSQL's cast raises on this one: it must not reach the cast
    ]
    assert [parsed for _, parsed, _ in _parse(conn, parse_sql, values)] == [None] * len(values)


#: The ISO 8601 shape the macro accepts (macros/migration/legacy_images.sql): hours 00–23,
#: offsets up to ±15:59, after a date alone only Z or a positive one (PostgreSQL refuses
#: "2024-01-01-05:30"). PostgreSQL accepts a little more (24:00:00): those are null.
ISO_SHAPE = re.compile(
    r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?(Z|z|[+-](0[0-9]|1[0-5])(:?[0-5][0-9])?)?"
    r"|(Z|z|[+](0[0-9]|1[0-5])(:?[0-5][0-9])?)?)"
)

ISO_LIKE = st.builds(
    lambda year, month, day, time, zone: f"{year:04d}-{month:02d}-{day:02d}{time}{zone}",
    st.sampled_from([0, 1, 4, 1900, 2000, 2023, 2024, 2100, 2400, 9999]) | st.integers(0, 9999),
    st.integers(0, 13),
    st.integers(0, 32),
    st.sampled_from(["", "T00:00", " 23:59", "T12:34:56", "T12:34:56.123456", "T24:00:00", "T10:60:00"]),
    st.sampled_from(["", "Z", "z", "+02:00", "-0530", "+15", "+16:00"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(ISO_LIKE, min_size=1, max_size=40))
def test_any_iso_like_string_parses_as_postgresql_does_or_is_null(
    conn: psycopg.Connection, parse_sql: str, values: list[str]
) -> None:
    for value, parsed, cast_value in _parse(conn, parse_sql, values):
        assert parsed == (cast_value if ISO_SHAPE.fullmatch(value) else None), value

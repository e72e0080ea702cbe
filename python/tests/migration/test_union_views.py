"""The union views at 10,000 tenants: created in groups of 100 tenants, where one flat UNION ALL of every
tenant exceeds PostgreSQL's default max_stack_depth (2 MB) and fails the run after every tenant committed."""

from __future__ import annotations

import pytest

from product_images.connection import connect

TENANTS = 10_000

PROBE = (
    """
{% macro union_view_probe(group_size) %}
    {%- set tenants = [] -%}
    {%- for n in range(1, """
    + str(TENANTS + 1)
    + """) -%}{%- do tenants.append('user_' ~ n) -%}{%- endfor -%}
    {%- set view = api.Relation.create(database=target.database, schema='public', identifier='union_probe') -%}
    {% do adapter.execute(tenant_union_view_sql(view, tenants, 'product_images',
        [{'name': 'id', 'data_type': 'bigint'}, {'name': 'url', 'data_type': 'text'}], group_size), auto_begin=True) %}
    {% do adapter.commit() %}
{% endmacro %}
"""
)


@pytest.fixture(scope="module")
def tenants(database, project_dir):
    with connect(autocommit=True) as conn:
        for first in range(1, TENANTS + 1, 200):  # 200 schemas a transaction: their locks fit the lock table
            conn.execute(
                "".join(
                    f"create schema user_{n}; create table user_{n}.product_images (id bigint, url text);"
                    for n in range(first, first + 200)
                )
            )
    (project_dir / "macros" / "union_view_probe.sql").write_text(PROBE, encoding="utf-8")


def test_a_union_view_over_10000_tenants_is_created_in_groups(conn, dbt, tenants, capfd):
    result = dbt("run-operation", "union_view_probe", "--args", "{group_size: 100}")
    assert result.success, str(result.exception)
    definition = conn.execute("select pg_get_viewdef('public.union_probe'::regclass)").fetchone()[0]
    assert definition.count("FROM user_") == TENANTS  # every tenant's table
    assert "tenants_100" in definition and "tenants_101" not in definition

    conn.execute("drop view public.union_probe")
    capfd.readouterr()
    assert not dbt("run-operation", "union_view_probe", "--args", f"{{group_size: {TENANTS}}}").success  # flat
    assert "stack depth limit exceeded" in capfd.readouterr().out

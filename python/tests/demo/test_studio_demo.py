"""`product-images-demo run --app studio`: the expand/contract worked example, end to end on a real server."""

from __future__ import annotations

import io
import re

from click.testing import CliRunner
from rich.console import Console

from product_images.connection import connect
from product_images.demo.cli import main
from product_images.demo.studio.command import run_studio_demo


def test_the_studio_demo_starts_runs_both_versions_and_completes(postgres_env):
    out = io.StringIO()
    assert run_studio_demo(Console(file=out, width=200), clients=4) == 0
    text = out.getvalue()
    assert "client 4, product 80, studio_session 40, message 160, flow 80, generated_image 240" in text
    for schema in ("public", "user_1", "user_2", "user_3"):
        assert re.search(
            rf"│ {schema} +│ old +│ \"{schema}__before_studio_collections\", \"{schema}\" +│ \d+ +│ yes", text
        )
        assert re.search(rf"│ {schema} +│ new +│ \"{schema}\" +│ \d+ +│ yes", text)
    assert "after complete, the new version: flow 83 with ['generated/after-complete.png']" in text
    assert 'after complete, the old version: relation "studio_session" does not exist' in text
    with connect(dbname="studio_demo") as conn:
        assert dict(
            conn.execute("select schema_name, state from product_images.product_images_schema_changes").fetchall()
        ) == {schema: "completed" for schema in ("public", "user_1", "user_2", "user_3")}


def test_an_unknown_app_is_refused_naming_the_choices():
    result = CliRunner().invoke(main, ["run", "--app", "shop"])
    assert result.exit_code == 2
    assert "Invalid value for '--app': 'shop' is not one of 'products', 'studio'" in result.output

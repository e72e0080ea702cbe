"""The values of metadata_error are listed once in code; the model's yml lists the same."""

from __future__ import annotations

import yaml

from helpers.dbt import PROJECT_DIR
from product_images.metadata.backfill import INTERNAL_ERROR, METADATA_ERRORS, UNMAPPED
from product_images.metadata.probe import ProbeError


def test_the_models_accepted_values_are_the_codes_list() -> None:
    model = yaml.safe_load((PROJECT_DIR / "models" / "product_images.yml").read_text(encoding="utf-8"))
    columns = {column["name"]: column for column in model["models"][0]["columns"]}
    [test] = [t for t in columns["metadata_error"]["data_tests"] if "accepted_values" in t]
    assert sorted(test["accepted_values"]["arguments"]["values"]) == sorted(METADATA_ERRORS)
    assert set(METADATA_ERRORS) == {error.value for error in ProbeError} | {UNMAPPED, INTERNAL_ERROR}

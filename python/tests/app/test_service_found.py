"""Defects found in the app's side (ProductImageService, payloads) by an outside review.

Each test demonstrates one defect against a real PostgreSQL, on tables built by
a real ``dbt run``; a defect not fixed yet is marked ``xfail(strict=True)``.
"""

from __future__ import annotations

from typing import Any

import pytest

from helpers.service import RUN, U, new_product, state
from product_images.app.service import (
    MAX_DIMENSION_PX,
    MAX_FILE_SIZE_BYTES,
    MAX_URL_LENGTH,
    InvalidImageError,
)

# --------------------------------------------------------------------------- #
# Bad input: a clear error naming the field, never a driver error
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("alt_text", "red\x00dress"),
        ("tags", ["front", "b\x00ack"]),
        ("alt_text", "caf\ud800"),
        ("tags", ["\udfff"]),
        ("url", U + "caf\ud800.jpg"),
        ("url", U + "a\x9bb.jpg"),
    ],
)
def test_text_postgresql_cannot_store_is_refused_naming_the_field(conn, svc, field, value):
    """A NUL or a lone surrogate (JSON ``"\\u0000"``, ``"\\ud800"`` decode to them) reached
    PostgreSQL and came back as psycopg.DataError / UnicodeEncodeError; a C1 control
    character went into a URL although control characters are refused."""
    product_id = new_product(conn)
    arguments: dict[str, Any] = {"url": U + "x.jpg", field: value}
    with pytest.raises(InvalidImageError) as raised:
        svc.add_image(product_id, **arguments)
    assert raised.value.field == field
    assert state(conn, product_id, "url, position, is_label") == []


# --------------------------------------------------------------------------- #
# A field limit's error says where the limit comes from
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("field", "value", "source"),
    [
        ("url", U + "a" * (MAX_URL_LENGTH - len(U) + 1), "policy"),
        ("file_size", MAX_FILE_SIZE_BYTES + 1, "policy"),
        ("width", MAX_DIMENSION_PX + 1, "JPEG"),
    ],
)
def test_a_field_limit_error_names_where_the_limit_comes_from(conn, svc, field, value, source):
    arguments: dict[str, Any] = {"url": U + "x.jpg", field: value}
    with pytest.raises(InvalidImageError) as raised:
        svc.add_image(new_product(conn), **arguments)
    assert source in str(raised.value)


# --------------------------------------------------------------------------- #
# Deleting the label photo
# --------------------------------------------------------------------------- #


def test_deleting_the_label_photo_does_not_make_another_photo_the_label(conn, dbt, svc):
    label = svc.get_label_image(4)
    assert label is not None and label.position == 2
    svc.delete_image(label.id)
    assert [is_label for _, _, is_label in state(conn, 4, "url, position, is_label")] == [False, False]
    # what `labels detect` leaves when it cannot fetch the photos: an error, a pending relabel
    conn.execute(
        "update user_1.product_images set label_error = 'unmapped', label_scores_pending = true where product_id = 4"
    )
    assert dbt(*RUN).success
    assert [is_label for _, _, is_label in state(conn, 4, "url, position, is_label")] == [False, False]

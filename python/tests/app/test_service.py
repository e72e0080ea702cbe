"""ProductImageService against a real PostgreSQL, on tables built by a real ``dbt run``."""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from psycopg import sql

from helpers.dbt import PROJECT_DIR
from helpers.legacy_data import photo, photos, set_images
from helpers.service import RUN, T, U, new_product, state
from product_images.app.images import ProductImage
from product_images.app.service import (
    ALLOWED_MIME_TYPES,
    MAX_DIMENSION_PX,
    MAX_FILE_SIZE_BYTES,
    InvalidImageError,
    InvalidOrderError,
    ProductImageError,
    ProductImageService,
    UnknownImageError,
    UnknownProductError,
    UnknownTenantError,
)
from product_images.connection import connect
from product_images.demo.data import create_tenant_schema

SIZE_RULE = "None or an integer number of bytes from 1 to 52428800 (50 MiB: our upload policy)"
PIXEL_RULE = "None or an integer number of pixels from 1 to 65535 (the JPEG format's limit: 16-bit dimension fields)"
URL_RULE = (
    "an absolute http:// or https:// URL with a host, no whitespace, at most 2048 characters "
    "(our policy: browsers' and CDNs' de facto limit)"
)
MIME_RULE = "None or one of image/avif, image/bmp, image/gif, image/heic, image/jpeg, image/png, image/tiff, image/webp"


def run_ok(dbt):
    result = dbt(*RUN)
    assert result.success, [r.message for r in result.node_results()] or result.exception
    return result


def ids_of(conn, product_id: int) -> list[int]:
    return [row[0] for row in state(conn, product_id, "id")]


def everything(conn) -> list[tuple[Any, ...]]:
    """Every row of the tenant's table, all columns (updated_at included)."""
    return conn.execute("select * from user_1.product_images order by id").fetchall()


def assert_consistent(conn, product_id: int) -> None:
    rows = state(conn, product_id, "position, is_label")
    assert [position for position, _ in rows] == list(range(len(rows)))
    assert sum(is_label for _, is_label in rows) <= 1


# --------------------------------------------------------------------------- #
# Reads
# --------------------------------------------------------------------------- #


def test_reads_return_records_by_position(conn, svc):
    ids = ids_of(conn, 1)
    images = [
        ProductImage(id=ids[i], product_id=1, url=f"{U}{T}/1/{i}.jpg", position=i, is_label=(i == 2), tags=())
        for i in range(3)
    ]
    assert svc.get_images(1) == images
    assert svc.get_product_photos(1) == images[:2]
    assert svc.get_label_image(1) == images[2]


def test_reads_of_an_empty_product(conn, svc):
    product_id = new_product(conn)
    assert (svc.get_images(product_id), svc.get_product_photos(product_id), svc.get_label_image(product_id)) == (
        [],
        [],
        None,
    )


# --------------------------------------------------------------------------- #
# add_image
# --------------------------------------------------------------------------- #


def test_add_appends_and_inserts_at_a_position(conn, svc):
    product_id = new_product(conn)
    a = svc.add_image(product_id, U + "a.jpg")
    assert a == ProductImage(id=a.id, product_id=product_id, url=U + "a.jpg", position=0, is_label=False, tags=())
    svc.add_image(product_id, U + "b.jpg")
    svc.add_image(product_id, U + "c.jpg", position=0)
    svc.add_image(product_id, U + "d.jpg", position=2)
    svc.add_image(product_id, U + "e.jpg", position=4)  # = n: appends
    assert state(conn, product_id, "url, position, is_label, label_source, source_index, legacy_element") == [
        (U + "c.jpg", 0, False, "app", None, None),
        (U + "a.jpg", 1, False, "app", None, None),
        (U + "d.jpg", 2, False, "app", None, None),
        (U + "b.jpg", 3, False, "app", None, None),
        (U + "e.jpg", 4, False, "app", None, None),
    ]


def test_add_stores_every_field(conn, svc):
    product_id = new_product(conn)
    image = svc.add_image(
        product_id,
        "http://cdn.example.com:8080/p/1.png?v=2",
        alt_text="Front view",
        tags=["front", "wool"],
        mime_type="Image/PNG",
        file_size=MAX_FILE_SIZE_BYTES,
        width=1,
        height=MAX_DIMENSION_PX,
    )
    assert image == ProductImage(
        id=image.id,
        product_id=product_id,
        url="http://cdn.example.com:8080/p/1.png?v=2",
        position=0,
        is_label=False,
        alt_text="Front view",
        tags=("front", "wool"),
        mime_type="image/png",
        file_size=52_428_800,
        width=1,
        height=65_535,
    )
    assert svc.get_images(product_id) == [image]


def test_add_a_label_clears_the_previous_one(conn, svc):
    label = svc.add_image(2, U + "user_1/2/tag.jpg", position=1, is_label=True)
    assert (label.position, label.is_label) == (1, True)
    assert state(conn, 2) == [
        (U + "user_1/2/0.jpg", 0, False, "rule"),
        (U + "user_1/2/tag.jpg", 1, True, "app"),
        (U + "user_1/2/1.jpg", 2, False, "rule"),
        (U + "user_1/2/2.jpg", 3, False, "app"),  # the rule's label, cleared by a person's decision
    ]
    assert svc.get_label_image(2) == label


def test_every_allowed_mime_type_is_accepted(conn, svc):
    product_id = new_product(conn)
    for mime_type in sorted(ALLOWED_MIME_TYPES):
        svc.add_image(product_id, f"{U}{mime_type}", mime_type=mime_type)
    assert [image.mime_type for image in svc.get_images(product_id)] == [
        "image/avif",
        "image/bmp",
        "image/gif",
        "image/heic",
        "image/jpeg",
        "image/png",
        "image/tiff",
        "image/webp",
    ]


# --------------------------------------------------------------------------- #
# delete_image
# --------------------------------------------------------------------------- #


def test_delete_closes_the_gap(conn, svc):
    ids = ids_of(conn, 3)
    deleted = svc.delete_image(ids[0])
    assert deleted == ProductImage(id=ids[0], product_id=3, url=f"{U}{T}/3/0.jpg", position=0, is_label=False, tags=())
    assert state(conn, 3, "id, position, is_label") == [(ids[1], 0, False), (ids[2], 1, True)]
    svc.delete_image(ids[2])  # the label: the product is left without one
    assert state(conn, 3, "id, position, is_label") == [(ids[1], 0, False)]
    svc.delete_image(ids[1])
    assert state(conn, 3) == []


def test_delete_in_the_middle(conn, svc):
    product_id = new_product(conn)
    ids = [svc.add_image(product_id, f"{U}m/{i}.jpg").id for i in range(5)]
    svc.delete_image(ids[2])
    assert state(conn, product_id, "id, position") == [(ids[0], 0), (ids[1], 1), (ids[3], 2), (ids[4], 3)]


# --------------------------------------------------------------------------- #
# reorder_images
# --------------------------------------------------------------------------- #


def test_reorder_rewrites_every_position_in_one_update(conn, svc):
    ids = ids_of(conn, 4)
    reordered = svc.reorder_images(4, [ids[2], ids[0], ids[1]])
    assert [(image.id, image.position, image.is_label) for image in reordered] == [
        (ids[2], 0, True),
        (ids[0], 1, False),
        (ids[1], 2, False),
    ]
    assert state(conn, 4, "id, position, label_source") == [
        (ids[2], 0, "rule"),
        (ids[0], 1, "rule"),
        (ids[1], 2, "rule"),
    ]
    # the reverse order swaps positions 0 and 2 in the same UPDATE: fine while the
    # unique constraint is deferred
    svc.reorder_images(4, [ids[1], ids[0], ids[2]])
    assert state(conn, 4, "id, position") == [(ids[1], 0), (ids[0], 1), (ids[2], 2)]


def test_reorder_of_an_empty_product(conn, svc):
    product_id = new_product(conn)
    assert svc.reorder_images(product_id, []) == []


@pytest.mark.parametrize(
    ("order", "missing", "extra", "duplicated", "message"),
    [
        (lambda ids, other: [ids[0], ids[1]], ["c"], [], [], "missing [{c}]"),
        (lambda ids, other: [*ids, other], [], ["o"], [], "extra [{o}]"),
        (lambda ids, other: [ids[0], ids[0], ids[1], ids[2]], [], [], ["a"], "duplicated [{a}]"),
        (
            lambda ids, other: [ids[0], ids[0], other],
            ["b", "c"],
            ["o"],
            ["a"],
            "missing [{b}, {c}]; extra [{o}]; duplicated [{a}]",
        ),
        (lambda ids, other: [], ["a", "b", "c"], [], [], "missing [{a}, {b}, {c}]"),
    ],
    ids=["missing", "extra", "duplicated", "all-three", "empty"],
)
def test_reorder_that_is_not_a_permutation_changes_nothing(conn, svc, order, missing, extra, duplicated, message):
    ids = ids_of(conn, 5)
    other = ids_of(conn, 6)[0]
    names = {"a": ids[0], "b": ids[1], "c": ids[2], "o": other}
    before = everything(conn)
    with pytest.raises(InvalidOrderError) as raised:
        svc.reorder_images(5, order(ids, other))
    pick = lambda keys: tuple(sorted(names[key] for key in keys))  # noqa: E731
    assert (raised.value.missing, raised.value.extra, raised.value.duplicated) == (
        pick(missing),
        pick(extra),
        pick(duplicated),
    )
    assert str(raised.value) == (
        "reorder of product 5 must list each of its 3 image ids exactly once: " + message.format(**names)
    )
    assert everything(conn) == before


def test_reorder_refuses_ids_that_are_not_ints(svc, conn):
    ids = ids_of(conn, 5)
    with pytest.raises(TypeError, match=r"^image id must be an int, got '1'$"):
        svc.reorder_images(5, [ids[0], ids[1], "1"])


# --------------------------------------------------------------------------- #
# set_label_flag
# --------------------------------------------------------------------------- #


def test_set_label_moves_the_label_and_records_the_person(conn, svc):
    ids = ids_of(conn, 7)
    labelled = svc.set_label_flag(ids[0], True)
    assert labelled == ProductImage(id=ids[0], product_id=7, url=f"{U}{T}/7/0.jpg", position=0, is_label=True, tags=())
    assert state(conn, 7, "id, is_label, label_source") == [
        (ids[0], True, "app"),
        (ids[1], False, "rule"),
        (ids[2], False, "app"),
    ]
    svc.set_label_flag(ids[1], True)
    assert state(conn, 7, "id, is_label, label_source") == [
        (ids[0], False, "app"),
        (ids[1], True, "app"),
        (ids[2], False, "app"),
    ]
    unlabelled = svc.set_label_flag(ids[1], False)
    assert unlabelled.is_label is False
    assert state(conn, 7, "id, is_label, label_source") == [
        (ids[0], False, "app"),
        (ids[1], False, "app"),
        (ids[2], False, "app"),
    ]
    assert svc.get_label_image(7) is None


def test_setting_the_same_label_again_keeps_one_label(conn, svc):
    ids = ids_of(conn, 8)
    svc.set_label_flag(ids[2], True)
    assert state(conn, 8, "id, is_label, label_source") == [
        (ids[0], False, "rule"),
        (ids[1], False, "rule"),
        (ids[2], True, "app"),
    ]


# --------------------------------------------------------------------------- #
# Errors
# --------------------------------------------------------------------------- #


def test_error_hierarchy():
    for error in (UnknownTenantError, UnknownProductError, UnknownImageError, InvalidImageError, InvalidOrderError):
        assert issubclass(error, ProductImageError)
    assert issubclass(ProductImageError, ValueError)


def test_unknown_tenant(conn, tenant):
    create_tenant_schema(conn, "user_archive")  # products but no product_images
    conn.execute("create schema if not exists bare_schema")
    cases = {
        "user_9": "unknown tenant 'user_9': no schema of that name",
        'user_1"; drop table user_1.products; --': (
            "unknown tenant 'user_1\"; drop table user_1.products; --': no schema of that name"
        ),
        "User_1": "unknown tenant 'User_1': no schema of that name",
        "user_archive": (
            "unknown tenant 'user_archive': schema has no product_images table "
            "(has `dbt run --select product_images` migrated it?)"
        ),
        "bare_schema": "unknown tenant 'bare_schema': schema has no products table",
        "": "unknown tenant '': not a schema name",
    }
    for name, message in cases.items():
        with pytest.raises(UnknownTenantError) as raised:
            ProductImageService(conn, name)
        assert (str(raised.value), raised.value.tenant_schema) == (message, name)
    assert conn.execute("select count(*) from user_1.products where id <= 20").fetchone() == (20,)


def test_unknown_product(conn, svc):
    before = everything(conn)
    calls = [
        lambda: svc.add_image(999_999, U + "x.jpg"),
        lambda: svc.reorder_images(999_999, []),
        lambda: svc.get_images(999_999),
        lambda: svc.get_product_photos(999_999),
        lambda: svc.get_label_image(999_999),
    ]
    for call in calls:
        with pytest.raises(UnknownProductError, match=r"^product 999999 does not exist in tenant 'user_1'$"):
            call()
    # user_2's product 1 is not user_1's
    with pytest.raises(UnknownImageError):
        ProductImageService(conn, "user_2").delete_image(ids_of(conn, 9)[0])
    assert everything(conn) == before


def test_unknown_image(conn, svc):
    before = everything(conn)
    for call in (lambda: svc.delete_image(999_999), lambda: svc.set_label_flag(999_999, True)):
        with pytest.raises(UnknownImageError, match=r"^image 999999 does not exist in tenant 'user_1'$") as raised:
            call()
        assert raised.value.image_id == 999_999
    assert everything(conn) == before


def test_ids_must_be_ints(svc):
    with pytest.raises(TypeError, match=r"^product_id must be an int, got '1'$"):
        svc.get_images("1")
    with pytest.raises(TypeError, match=r"^image_id must be an int, got True$"):
        svc.delete_image(True)


@pytest.mark.parametrize(
    "url",
    [
        "",
        "images.example.com/a.jpg",
        "/a.jpg",
        "ftp://images.example.com/a.jpg",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "https:///a.jpg",
        "https://",
        "https://images.example.com/a b.jpg",
        " https://images.example.com/a.jpg",
        "https://images.example.com/a.jpg\n",
        "https://images.example.com/\ta.jpg",
        "https://images.example.com:99999/a.jpg",
        "https://[::1/a.jpg",
        "https://images.example.com/" + "a" * 2022,  # 2049 characters
        None,
        b"https://images.example.com/a.jpg",
    ],
)
def test_bad_url(conn, svc, url):
    before = everything(conn)
    with pytest.raises(InvalidImageError) as raised:
        svc.add_image(10, url)
    assert (raised.value.field, raised.value.value, raised.value.allowed) == ("url", url, URL_RULE)
    shown = repr(url) if len(repr(url)) <= 200 else repr(url)[:197] + "..."
    assert str(raised.value) == f"invalid url {shown}: must be {URL_RULE}"
    assert everything(conn) == before


def test_longest_url_is_accepted(conn, svc):
    url = "https://images.example.com/" + "a" * 2021
    assert len(url) == 2048
    assert svc.add_image(new_product(conn), url).url == url


@pytest.mark.parametrize("mime_type", ["image/svg+xml", "image/jpg", "text/html", "image/jpeg; charset=binary", "", 42])
def test_bad_mime_type_lists_the_allowed_ones(conn, svc, mime_type):
    before = everything(conn)
    with pytest.raises(InvalidImageError) as raised:
        svc.add_image(10, U + "x.jpg", mime_type=mime_type)
    assert str(raised.value) == f"invalid mime_type {mime_type!r}: must be {MIME_RULE}"
    assert everything(conn) == before


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("file_size", 0, SIZE_RULE),
        ("file_size", -1, SIZE_RULE),
        (
            "file_size",
            MAX_FILE_SIZE_BYTES + 1,
            SIZE_RULE,
        ),
        ("file_size", 1.0, SIZE_RULE),
        ("file_size", "10", SIZE_RULE),
        (
            "width",
            0,
            PIXEL_RULE,
        ),
        (
            "width",
            MAX_DIMENSION_PX + 1,
            PIXEL_RULE,
        ),
        (
            "width",
            True,
            PIXEL_RULE,
        ),
        (
            "height",
            -500,
            PIXEL_RULE,
        ),
        (
            "height",
            800.5,
            PIXEL_RULE,
        ),
        ("position", 4, "an integer from 0 to 3 (product 10 has 3 images)"),
        ("position", -1, "an integer from 0 to 3 (product 10 has 3 images)"),
        ("position", "0", "an integer or None"),
        ("is_label", 1, "True or False"),
        ("tags", "front", "an iterable of strings (not a single string)"),
        ("tags", ["front", 3], "an iterable of strings (not a single string)"),
        ("tags", None, "an iterable of strings (not a single string)"),
        ("alt_text", 3, "a string or None"),
    ],
)
def test_bad_size_position_and_other_fields(conn, svc, field, value, rule):
    before = everything(conn)
    with pytest.raises(InvalidImageError) as raised:
        svc.add_image(10, U + "x.jpg", **{field: value})
    assert str(raised.value) == f"invalid {field} {value!r}: must be {rule}"
    assert everything(conn) == before


def test_set_label_flag_needs_a_bool(conn, svc):
    with pytest.raises(InvalidImageError, match=r"^invalid is_label 'yes': must be True or False$"):
        svc.set_label_flag(ids_of(conn, 10)[0], "yes")


# --------------------------------------------------------------------------- #
# Transactions
# --------------------------------------------------------------------------- #


def test_a_non_autocommit_connection_without_a_transaction_gets_committed_work(conn, tenant):
    product_id = new_product(conn)
    with connect() as other:
        image = ProductImageService(other, T).add_image(product_id, U + "committed.jpg")
        assert other.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert state(conn, product_id, "id") == [(image.id,)]


def test_inside_the_callers_transaction_the_caller_decides(conn, tenant):
    product_id = new_product(conn)
    with connect() as other:
        other.execute("select 1")  # a transaction is open: the service uses a savepoint
        ProductImageService(other, T).add_image(product_id, U + "rolled-back.jpg")
        assert state(other, product_id, "url") == [(U + "rolled-back.jpg",)]
        other.rollback()
    assert state(conn, product_id) == []


def test_a_position_clash_is_raised_inside_the_method_not_at_commit(conn, tenant):
    product_id = new_product(conn)
    with connect() as other:
        svc = ProductImageService(other, T)
        first = svc.add_image(product_id, U + "1.jpg")
        # A writer bypassing the service leaves two rows at position 0 (the
        # deferred constraint lets it through until commit)...
        other.execute(
            "insert into user_1.product_images (product_id, url, position) values (%s, %s, 0)",
            (product_id, U + "bypass.jpg"),
        )
        # ...and the next service call reports it itself.
        with pytest.raises(psycopg.errors.UniqueViolation):
            svc.set_label_flag(first.id, True)
        other.rollback()
    assert state(conn, product_id, "url, position, is_label") == [(U + "1.jpg", 0, False)]


# --------------------------------------------------------------------------- #
# Locks and concurrency
# --------------------------------------------------------------------------- #


def test_writes_lock_the_product_row_even_on_an_empty_product(conn, tenant):
    product_id = new_product(conn)
    with connect() as holder, connect(autocommit=True) as other:
        holder.execute("select 1 from user_1.products where id = %s for no key update", (product_id,))
        other.execute("set lock_timeout = '200ms'")
        svc = ProductImageService(other, T)
        for call in (
            lambda: svc.add_image(product_id, U + "x.jpg"),
            lambda: svc.reorder_images(product_id, []),
        ):
            with pytest.raises(psycopg.errors.LockNotAvailable):
                call()
        assert svc.get_images(product_id) == []  # reads do not wait
        holder.rollback()
        assert svc.add_image(product_id, U + "x.jpg").position == 0


def test_writes_wait_for_a_migration_run_on_the_tenant(conn, tenant):
    # the service shares the key the migration locks: guard against drift
    macro = (PROJECT_DIR / "macros" / "locks" / "lock_discipline.sql").read_text(encoding="utf-8")
    assert "hashtextextended('product_images:' || {{ tenant_literal }}, 0)" in macro
    image_id = ids_of(conn, 11)[0]
    with connect() as migration, connect(autocommit=True) as other:
        # what tenant_sync.sql holds while it migrates user_1
        migration.execute("select pg_advisory_xact_lock(hashtextextended('product_images:' || 'user_1', 0))")
        other.execute("set lock_timeout = '200ms'")
        svc = ProductImageService(other, T)
        with pytest.raises(psycopg.errors.LockNotAvailable):
            svc.set_label_flag(image_id, True)
        assert len(svc.get_images(11)) == 3
        ProductImageService(other, "user_2").get_images(1)  # other tenants are not concerned
        ProductImageService(other, "user_2").set_label_flag(ids_of_tenant(conn, "user_2", 1)[0], True)
        migration.rollback()
        assert svc.set_label_flag(image_id, True).is_label is True


def ids_of_tenant(conn, tenant: str, product_id: int) -> list[int]:
    return [
        row[0]
        for row in conn.execute(
            sql.SQL("select id from {} where product_id = %s order by position").format(
                sql.Identifier(tenant, "product_images")
            ),
            (product_id,),
        )
    ]


def _wait_for_lock_waiters(conn, count: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        (waiting,) = conn.execute(
            "select count(*) from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'"
        ).fetchone()
        if waiting >= count:
            return
        time.sleep(0.01)
    raise AssertionError(f"expected {count} backend(s) waiting for a lock")


@pytest.mark.parametrize("attempt", range(6))
def test_concurrent_reorder_and_delete_serialize(conn, tenant, attempt):
    """Both calls queue behind a held product lock, then run one after the other;
    odd attempts queue the delete first."""
    product_id = new_product(conn)
    svc = ProductImageService(conn, T)
    ids = [svc.add_image(product_id, f"{U}race/{product_id}/{i}.jpg").id for i in range(6)]
    victim = ids[2]
    new_order = list(reversed(ids))
    outcome: dict[str, Any] = {}

    def reorder() -> None:
        with connect(autocommit=True) as own:
            try:
                outcome["reorder"] = [
                    image.id for image in ProductImageService(own, T).reorder_images(product_id, new_order)
                ]
            except Exception as error:  # noqa: BLE001 - reported below
                outcome["reorder"] = error

    def delete() -> None:
        with connect(autocommit=True) as own:
            try:
                outcome["delete"] = ProductImageService(own, T).delete_image(victim).id
            except Exception as error:  # noqa: BLE001
                outcome["delete"] = error

    first, second = (reorder, delete) if attempt % 2 == 0 else (delete, reorder)
    with connect() as holder:
        holder.execute("select 1 from user_1.products where id = %s for update", (product_id,))
        threads = [threading.Thread(target=first), threading.Thread(target=second)]
        threads[0].start()
        _wait_for_lock_waiters(conn, 1)
        threads[1].start()
        _wait_for_lock_waiters(conn, 2)
        holder.rollback()
    for thread in threads:
        thread.join(10)
    assert outcome["delete"] == victim
    if first is reorder:
        assert outcome["reorder"] == new_order
        assert ids_of(conn, product_id) == [i for i in new_order if i != victim]
    else:
        error = outcome["reorder"]
        assert isinstance(error, InvalidOrderError)
        assert (error.missing, error.extra, error.duplicated) == ((), (victim,), ())
        assert ids_of(conn, product_id) == [i for i in ids if i != victim]
    assert_consistent(conn, product_id)


def test_many_threads_hammering_one_product_keep_it_consistent(conn, tenant):
    product_id = new_product(conn)
    svc = ProductImageService(conn, T)
    seed_ids = [svc.add_image(product_id, f"{U}hammer/{product_id}/seed{i}.jpg").id for i in range(4)]
    added: list[int] = list(seed_ids)
    deleted: list[int] = []
    unexpected: list[BaseException] = []
    lock = threading.Lock()

    def worker(number: int) -> None:
        import random

        rng = random.Random(number)
        with connect(autocommit=True) as own:
            mine = ProductImageService(own, T)
            for step in range(25):
                try:
                    action = rng.choice(("add", "add", "delete", "reorder", "label"))
                    current = [image.id for image in mine.get_images(product_id)]
                    if action == "add" or not current:
                        image = mine.add_image(
                            product_id,
                            f"{U}hammer/{product_id}/{number}-{step}.jpg",
                            position=rng.randint(0, len(current)) if rng.random() < 0.5 else None,
                            is_label=rng.random() < 0.2,
                        )
                        with lock:
                            added.append(image.id)
                    elif action == "delete":
                        victim = rng.choice(current)
                        mine.delete_image(victim)
                        with lock:
                            deleted.append(victim)
                    elif action == "reorder":
                        rng.shuffle(current)
                        mine.reorder_images(product_id, current)
                    else:
                        mine.set_label_flag(rng.choice(current), rng.random() < 0.7)
                except (UnknownImageError, InvalidOrderError):
                    pass  # another thread changed the product first: expected
                except InvalidImageError as error:
                    if error.field != "position":  # a position past a concurrent delete: expected
                        unexpected.append(error)
                except BaseException as error:  # noqa: BLE001
                    unexpected.append(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert unexpected == []
    assert len(deleted) == len(set(deleted))
    assert sorted(ids_of(conn, product_id)) == sorted(set(added) - set(deleted))
    assert_consistent(conn, product_id)


# --------------------------------------------------------------------------- #
# Random sequences (hypothesis)
# --------------------------------------------------------------------------- #


def test_random_sequences_keep_positions_contiguous_and_at_most_one_label(conn, tenant):
    svc = ProductImageService(conn, T)

    class ProductMachine(RuleBasedStateMachine):
        """A Python model of one product (ids in order, the label) against the table."""

        def __init__(self) -> None:
            super().__init__()
            self.product_id = new_product(conn)
            self.order: list[int] = []
            self.label: int | None = None
            self.names = itertools.count()

        @initialize(count=st.integers(0, 4))
        def loaded_by_the_migration(self, count: int) -> None:
            """Start like a migrated product: rule rows, the last one the label from 2 images up."""
            for position in range(count):
                (image_id,) = conn.execute(
                    "insert into user_1.product_images (product_id, url, position, is_label, label_source, "
                    "source_index) "
                    "values (%s, %s, %s, %s, 'rule', %s) returning id",
                    (
                        self.product_id,
                        f"{U}sm/{self.product_id}/{position}.jpg",
                        position,
                        count >= 2 and position == count - 1,
                        position,
                    ),
                ).fetchone()
                self.order.append(image_id)
            if count >= 2:
                self.label = self.order[-1]

        @rule(position=st.one_of(st.none(), st.integers(0, 50)), is_label=st.booleans())
        def add(self, position: int | None, is_label: bool) -> None:
            if position is not None:
                position %= len(self.order) + 1
            image = svc.add_image(
                self.product_id,
                f"{U}sm/{self.product_id}/n{next(self.names)}.jpg",
                position=position,
                is_label=is_label,
            )
            self.order.insert(len(self.order) if position is None else position, image.id)
            if is_label:
                self.label = image.id

        @precondition(lambda self: self.order)
        @rule(data=st.data())
        def delete(self, data: st.DataObject) -> None:
            image_id = data.draw(st.sampled_from(self.order))
            svc.delete_image(image_id)
            self.order.remove(image_id)
            if self.label == image_id:
                self.label = None

        @rule(data=st.data())
        def reorder(self, data: st.DataObject) -> None:
            new_order = data.draw(st.permutations(self.order))
            svc.reorder_images(self.product_id, new_order)
            self.order = list(new_order)

        @precondition(lambda self: self.order)
        @rule(data=st.data())
        def bad_reorder(self, data: st.DataObject) -> None:
            broken = data.draw(
                st.one_of(
                    st.just(self.order[:-1]),
                    st.just([*self.order, self.order[0]]),
                    st.just([*self.order, 999_999]),
                )
            )
            with pytest.raises(InvalidOrderError):
                svc.reorder_images(self.product_id, broken)

        @precondition(lambda self: self.order)
        @rule(data=st.data(), is_label=st.booleans())
        def set_label(self, data: st.DataObject, is_label: bool) -> None:
            image_id = data.draw(st.sampled_from(self.order))
            svc.set_label_flag(image_id, is_label)
            if is_label:
                self.label = image_id
            elif self.label == image_id:
                self.label = None

        @invariant()
        def table_matches_the_model(self) -> None:
            rows = state(conn, self.product_id, "id, position, is_label")
            assert [position for _, position, _ in rows] == list(range(len(rows)))
            assert [image_id for image_id, _, _ in rows] == self.order
            assert [image_id for image_id, _, is_label in rows if is_label] == ([self.label] if self.label else [])

    run_state_machine_as_test(
        ProductMachine,
        settings=settings(
            max_examples=40,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


# --------------------------------------------------------------------------- #
# The migration keeps the app's decisions
# --------------------------------------------------------------------------- #


def test_a_label_set_through_the_service_survives_dbt_runs(conn, dbt, svc):
    ids = ids_of(conn, 12)
    svc.set_label_flag(ids[0], True)
    expected = [
        (U + "user_1/12/0.jpg", 0, True, "app"),
        (U + "user_1/12/1.jpg", 1, False, "rule"),
        (U + "user_1/12/2.jpg", 2, False, "app"),
    ]
    run_ok(dbt)
    assert state(conn, 12) == expected
    set_images(conn, T, 12, photos(12, 3, T) + [photo(U + "user_1/12/new.jpg", 3)])
    run_ok(dbt)
    assert state(conn, 12) == [*expected, (U + "user_1/12/new.jpg", 3, False, "rule")]


def test_an_added_label_image_survives_a_dbt_run_after_the_jsonb_grew(conn, dbt, svc):
    label = svc.add_image(13, U + "user_1/13/tag.jpg", is_label=True)
    assert label.position == 3
    set_images(conn, T, 13, photos(13, 3, T) + [photo(U + "user_1/13/new.jpg", 3)])
    run_ok(dbt)
    # the JSONB's elements first, then the app's rows (tenant_sync.sql)
    assert state(conn, 13) == [
        (U + "user_1/13/0.jpg", 0, False, "rule"),
        (U + "user_1/13/1.jpg", 1, False, "rule"),
        (U + "user_1/13/2.jpg", 2, False, "app"),
        (U + "user_1/13/new.jpg", 3, False, "rule"),
        (U + "user_1/13/tag.jpg", 4, True, "app"),
    ]
    assert svc.get_label_image(13) == ProductImage(
        id=label.id, product_id=13, url=U + "user_1/13/tag.jpg", position=4, is_label=True, tags=()
    )


def test_a_reorder_through_the_service_survives_a_dbt_run(conn, dbt, svc):
    ids = ids_of(conn, 14)
    svc.reorder_images(14, [ids[1], ids[2], ids[0]])
    run_ok(dbt)  # the JSONB did not change: the positions stay the app's
    # the rule's label is decided again: the photo now last (test_reorder_label_found.py)
    assert state(conn, 14, "id, position, is_label") == [(ids[1], 0, False), (ids[2], 1, False), (ids[0], 2, True)]

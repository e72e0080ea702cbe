"""The review list writer: atomic, deduplicated, stably ordered, readable by `dbt seed` and by its own reader."""

from __future__ import annotations

import os
from datetime import date

import pytest

from product_images.labels.overrides import (
    Override,
    OverridesChangedError,
    OverridesFileError,
    read_overrides_file,
    review_note,
    set_product_rows,
    write_overrides_file,
)

HEADER = "tenant_schema,product_id,url,is_label,note\n"


def test_rows_are_written_deduplicated_and_ordered_by_tenant_product_and_url(tmp_path):
    path = tmp_path / "label_overrides.csv"
    written = write_overrides_file(
        path,
        [
            Override("user_2", 1, "https://i.example.com/b.jpg", False, "x"),
            Override("user_10", 3, "https://i.example.com/a.jpg", True, ""),
            Override("user_1", 10, "https://i.example.com/a.jpg", True, ""),
            Override("user_1", 9, "https://i.example.com/z.jpg", False, "first"),
            Override("user_1", 9, "https://i.example.com/z.jpg", True, "second wins"),
        ],
    )
    assert path.read_text(encoding="utf-8") == HEADER + (
        "user_1,9,https://i.example.com/z.jpg,true,second wins\n"
        "user_1,10,https://i.example.com/a.jpg,true,\n"  # product ids compare as numbers
        "user_10,3,https://i.example.com/a.jpg,true,\n"
        "user_2,1,https://i.example.com/b.jpg,false,x\n"
    )
    assert read_overrides_file(path) == written
    # the same rows in another order give the same bytes: a git diff shows only real changes
    before = path.read_bytes()
    write_overrides_file(path, list(reversed(written)))
    assert path.read_bytes() == before


def test_commas_quotes_and_newlines_round_trip(tmp_path):
    path = tmp_path / "label_overrides.csv"
    rows = [Override("user_1", 1, 'https://i.example.com/a,"b".jpg', True, "note, with\na newline")]
    write_overrides_file(path, rows)
    assert read_overrides_file(path) == rows


def test_a_failed_write_leaves_the_old_file_whole_and_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "label_overrides.csv"
    write_overrides_file(path, [Override("user_1", 1, "https://i.example.com/a.jpg", True, "kept")])
    before = path.read_bytes()

    def crash(source, destination):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="No space left"):
        write_overrides_file(path, [Override("user_1", 2, "https://i.example.com/b.jpg", False, "lost")])
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["label_overrides.csv"]


def test_the_file_is_replaced_not_rewritten_in_place(tmp_path):
    path = tmp_path / "label_overrides.csv"
    write_overrides_file(path, [])
    os.chmod(path, 0o640)
    inode = path.stat().st_ino
    write_overrides_file(path, [Override("user_1", 1, "https://i.example.com/a.jpg", True, "")])
    assert path.stat().st_ino != inode  # a new file renamed over the old one
    assert path.stat().st_mode & 0o777 == 0o640  # with the old one's mode


def test_set_product_rows_replaces_by_key_and_returns_what_was_there(tmp_path):
    path = tmp_path / "label_overrides.csv"
    other = Override("user_1", 2, "https://i.example.com/2/0.jpg", False, "someone else's")
    stale = Override("user_1", 1, "https://i.example.com/1/gone.jpg", False, "old")
    write_overrides_file(path, [other, stale])
    decision = [
        Override("user_1", 1, "https://i.example.com/1/0.jpg", False, "n"),
        Override("user_1", 1, "https://i.example.com/1/1.jpg", True, "n"),
    ]
    assert set_product_rows(path, "user_1", 1, decision) == [stale]
    assert read_overrides_file(path) == [*decision, stale, other]  # by url: 1/0, 1/1, 1/gone
    # undo: the product's rows become exactly what they were
    assert set_product_rows(path, "user_1", 1, [stale], replace_product=True) == sorted([stale, *decision])
    assert read_overrides_file(path) == [stale, other]
    with pytest.raises(ValueError, match="is not of user_1 product 1"):
        set_product_rows(path, "user_1", 1, [other])


def test_a_missing_file_is_created_and_a_broken_one_is_never_overwritten(tmp_path):
    path = tmp_path / "label_overrides.csv"
    row = Override("user_1", 1, "https://i.example.com/a.jpg", True, "")
    assert set_product_rows(path, "user_1", 1, [row]) == []
    assert read_overrides_file(path) == [row]
    path.write_text("tenant,product\nuser_1,1\n", encoding="utf-8")
    with pytest.raises(OverridesFileError, match="header"):
        set_product_rows(path, "user_1", 1, [row])
    assert path.read_text(encoding="utf-8") == "tenant,product\nuser_1,1\n"


def test_the_note_says_who_and_when():
    assert review_note("alice", date(2026, 12, 1)) == "reviewed by alice on 2026-12-01"
    assert review_note().startswith("reviewed by ") and review_note().endswith(date.today().isoformat())


def test_a_key_twice_in_a_hand_edited_file_is_named_and_the_file_left_alone(tmp_path):
    path = tmp_path / "label_overrides.csv"
    text = (
        HEADER + "user_1,5,https://i/x.jpg,true,alice: the tag\n"
        "user_1,4,https://i/w.jpg,false,\n"
        "user_1,5,https://i/x.jpg,false,bob: not a tag\n"
    )
    path.write_text(text, encoding="utf-8")
    with pytest.raises(OverridesFileError) as raised:
        set_product_rows(path, "user_1", 6, [Override("user_1", 6, "https://i/y.jpg", False, "page")])
    assert str(raised.value) == (
        f"{path}: user_1 product 5 https://i/x.jpg is on lines 2 and 4; the list has one row per image: "
        "keep the right one and delete the other(s)"
    )
    assert path.read_text(encoding="utf-8") == text
    assert len(read_overrides_file(path)) == 3  # read as dbt seed would, for overrides diff


def test_set_product_rows_with_expect_writes_only_over_those_rows(tmp_path):
    path = tmp_path / "label_overrides.csv"
    mine = [Override("user_1", 1, "https://i/a.jpg", True, "mine")]
    theirs = [Override("user_1", 1, "https://i/a.jpg", False, "theirs")]
    write_overrides_file(path, theirs)
    with pytest.raises(OverridesChangedError, match="the rows of user_1 product 1 changed"):
        set_product_rows(path, "user_1", 1, [], replace_product=True, expect=mine)
    assert read_overrides_file(path) == theirs
    assert set_product_rows(path, "user_1", 1, [], replace_product=True, expect=theirs) == theirs
    assert read_overrides_file(path) == []

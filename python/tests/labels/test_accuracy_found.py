"""`product-images labels accuracy` on tenants built by hand: known decisions, known evidence, figures counted by hand.

The evidence is the real detector's, from drawn photos, written into the tables as ``labels
detect`` writes it: ``P`` a garment photo (no tag), ``C`` a price card ("PRIX 29,50 €": a price
only a shop writes, so the evidence labels it whatever the profile), ``N`` a card with a bare
number (doubtful: the interim rule flags it) and ``B`` a yellow card "BOUTIQ 82" (doubtful cold,
labelled once the shop's profile holds 3 such tags). People decide through the review list (the
seed, ``override``) and the app's write path (``ProductImageService``, ``app``).

user_1, product by product (the photos in position order; the person's decision; the evidence's):

====  ==================  ==========================  ===================================
 1-2   P P C P / P C P P   the card (review list)      the card: right
 3-5   cards at 3, 0, 1    the card (app)              the card: right
 6     P P C P             the front photo (app)       the card: a wrong label
 7, 8  P P P               no label (app; list)        none: right
 9     P C P P             no label (app)              the card: a wrong label
 10    P P P               photo 2 (app)               none: a tag cleared wrongly
 11    P N P P             N, the interim rule's flag  doubtful: not the evidence's
 12    P P P               photo 0 is no label         partly decided: not counted
 13-15 P C P               the card                    a photo failed, scored by an older
                                                       detector, never scored: unscored
 16    P C P P             nobody                      not counted
 17    P C P P             the app deleted the card    none of the rest: right
====  ==================  ==========================  ===================================

So user_1: 12 decided, 7 labels of which 5 right, 7 tags the evidence decided, 5 found. Wilson
95% on 5 of 7 (z = 1.96): p = 5/7, centre p + z²/14 = 0.98866, spread z·sqrt(p(1-p)/7 + z²/196)
= 0.43279, divided by 1 + z²/7 = 1.54880: [0.3589, 0.9178]. user_2's people say "no tag" on
every product, user_3's decided none; user_4 and user_5 check the leave-one-out profile, user_6
the folds beyond MAX_FOLDS decided products.
"""

from __future__ import annotations

import io
import json
import random
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner
from PIL import Image, ImageDraw, ImageFont
from psycopg import sql
from psycopg.types.json import Jsonb

from helpers.dbt import fresh_database, write_overrides
from helpers.legacy_data import make_tenant, photo
from product_images.app.service import ProductImageService
from product_images.cli import main
from product_images.demo.pictures import render_image
from product_images.labels.accuracy import MAX_FOLDS, AccuracyReport, ProductCheck, TenantAccuracy
from product_images.labels.detector import load_detector

FONT = Path(__file__).resolve().parents[2] / "product_images/labels/development/clothing_fonts/DejaVuSans-Bold.ttf"

#: tenant -> product id -> its photos in position order: (kind, which drawing of that kind)
TENANTS: dict[str, dict[int, list[tuple[str, int]]]] = {
    "user_1": {
        1: [("P", 0), ("C", 0), ("P", 1), ("P", 2)],
        2: [("P", 3), ("P", 4), ("C", 1), ("P", 5)],
        3: [("P", 6), ("P", 7), ("P", 8), ("C", 2)],
        4: [("C", 3), ("P", 9), ("P", 10), ("P", 11)],
        5: [("P", 0), ("C", 4), ("P", 2), ("P", 3)],
        6: [("P", 1), ("P", 2), ("C", 5), ("P", 4)],
        7: [("P", 0), ("P", 1), ("P", 2)],
        8: [("P", 3), ("P", 4), ("P", 5)],
        9: [("P", 6), ("C", 0), ("P", 7), ("P", 8)],
        10: [("P", 9), ("P", 10), ("P", 11)],
        11: [("P", 0), ("N", 0), ("P", 1), ("P", 2)],
        12: [("P", 3), ("P", 4), ("P", 5)],
        13: [("P", 6), ("C", 1), ("P", 7)],
        14: [("P", 8), ("C", 2), ("P", 9)],
        15: [("P", 10), ("C", 3), ("P", 11)],
        16: [("P", 0), ("C", 4), ("P", 1), ("P", 2)],
        17: [("P", 3), ("C", 5), ("P", 4), ("P", 5)],
    },
    "user_2": {1: [("P", 0), ("P", 1), ("P", 2)], 2: [("P", 3), ("P", 4), ("P", 5)], 3: [("P", 6), ("C", 0), ("P", 7)]},
    "user_3": {1: [("P", 0), ("C", 0)]},
    "user_4": {pid: [("P", 2 * pid), ("P", 2 * pid + 1), ("B", pid - 1)] for pid in range(1, 4)},
    "user_5": {pid: [("P", 2 * pid), ("P", 2 * pid + 1), ("B", pid - 1)] for pid in range(1, 5)},
    "user_6": {
        pid: [("P", 2 * pid), ("P", 2 * pid + 1), ("B", pid - 1)] if pid <= 3 else [("P", pid % 9), ("P", 10 + pid % 2)]
        for pid in range(1, MAX_FOLDS + 4)
    },
}

#: tenant -> product id -> the app's decision: the label's position, None (no label), "part" (photo 0 is no label)
APP_DECISIONS: dict[str, dict[int, Any]] = {
    "user_1": {3: 3, 4: 0, 5: 1, 6: 0, 7: None, 9: None, 10: 2, 11: 1, 12: "part", 13: 1, 14: 1, 15: 1},
    "user_2": {1: None, 2: None, 3: None},
    "user_4": {pid: 2 for pid in range(1, 4)},
    "user_5": {pid: 2 for pid in range(1, 5)},
    "user_6": {pid: 2 if pid <= 3 else None for pid in range(1, MAX_FOLDS + 4)},
}


def _card(seed: int, paper: tuple[int, int, int], lines: list[tuple[str, int, int]]) -> bytes:
    """A card on a grey table: ``lines`` of (text, y, font size)."""
    rng = random.Random(seed)
    image = Image.new("RGB", (900, 700), (rng.randint(60, 120),) * 3)
    draw = ImageDraw.Draw(image)
    draw.rectangle((250, 150, 650, 550), fill=paper)
    for text, y, size in lines:
        draw.text((290, y), text, font=ImageFont.truetype(str(FONT), size), fill=(20, 20, 20))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def _drawings() -> dict[str, list[bytes]]:
    def price(seed: int) -> bytes:
        rng = random.Random(seed)
        amount = f"{rng.randint(5, 40)},{rng.choice(['00', '50'])} €"
        return _card(
            seed, (250, 248, 240), [("PRIX", 190, 44), (amount, 270, 90), (f"REF {rng.randint(1000, 9999)}", 420, 44)]
        )

    return {
        "P": [render_image("product", 900, 700, seed * 10, "jpeg") for seed in range(1, 13)],
        "C": [price(seed) for seed in range(1, 7)],
        "N": [_card(1, (250, 248, 240), [(str(random.Random(1).randint(10, 99)), 280, 120)])],
        "B": [
            _card(seed, (255, 214, 120), [("BOUTIQ", 190, 48), (str(10 + seed * 17), 300, 120)]) for seed in range(4)
        ],
    }


def _url(tenant: str, pid: int, position: int) -> str:
    return f"https://images.example.com/{tenant}/{pid}/{position}.jpg"


def _write_evidence(conn: psycopg.Connection, evidence: dict[str, list[dict[str, Any]]]) -> None:
    """Each photo's evidence, score and detector, as ``labels detect`` writes them (no profile)."""
    detector = load_detector()
    for tenant, products in TENANTS.items():
        rows = []
        for pid, photos in products.items():
            scores = detector.score([detector.evidence_from_json(evidence[k][i]) for k, i in photos], None)
            rows += [
                (s, Jsonb(evidence[k][i]), pid, n) for n, ((k, i), s) in enumerate(zip(photos, scores, strict=True))
            ]
        with conn.cursor() as cur:
            cur.executemany(
                sql.SQL(
                    "update {} set label_score = %s, label_evidence = %s, label_detector = %s, label_error = null,"
                    " label_detected_at = now(), label_scores_pending = true where product_id = %s and position = %s"
                ).format(sql.Identifier(tenant, "product_images")),
                [(s, ev, detector.version, pid, n) for s, ev, pid, n in rows],
            )
    conn.execute(  # 13: a photo failed; 14: scored by an older detector; 15: a photo never scored
        "update user_1.product_images set label_score = null, label_evidence = null, label_error = 'missing'"
        " where product_id = 13 and position = 2"
    )
    conn.execute("update user_1.product_images set label_detector = 'labels-0ld' where product_id = 14")
    conn.execute(
        "update user_1.product_images set label_score = null, label_evidence = null, label_detector = null,"
        " label_detected_at = null where product_id = 15 and position = 0"
    )


def _app_decides(conn: psycopg.Connection) -> None:
    """The app's decisions (APP_DECISIONS), and the deletion of user_1's product 17's label photo."""
    for tenant, decisions in APP_DECISIONS.items():
        service = ProductImageService(conn, tenant)
        for pid, decision in decisions.items():
            images = service.get_images(pid)
            if decision == "part":
                service.set_label_flag(images[0].id, False)
            elif decision is None:
                for image in images:
                    service.set_label_flag(image.id, False)
            else:
                service.set_label_flag(images[decision].id, True)
    service = ProductImageService(conn, "user_1")
    (label,) = [image for image in service.get_images(17) if image.is_label]
    assert label.position == 1  # the card, labelled by the evidence
    service.delete_image(label.id)


@pytest.fixture(scope="module")
def hand(conn: psycopg.Connection, dbt: Any, project_dir: Path) -> dict[str, Any]:
    detector = load_detector()
    evidence = {
        kind: [detector.evidence_to_json(detector.extract(data)) for data in drawn]
        for kind, drawn in _drawings().items()
    }
    for tenant, products in TENANTS.items():
        make_tenant(
            conn,
            tenant,
            {pid: [photo(_url(tenant, pid, n), n) for n in range(len(ph))] for pid, ph in products.items()},
        )
    make_tenant(conn, "template_tenant", {})
    assert dbt("run", "--select", "product_images").success
    _write_evidence(conn, evidence)
    assert dbt("run", "--select", "product_images").success
    before = conn.execute(
        "select is_label, label_source from user_1.product_images where product_id = 11 order by position"
    ).fetchall()
    _app_decides(conn)
    rows = [
        ("user_1", pid, _url("user_1", pid, n), n == label, "test") for pid, label in ((1, 1), (2, 2)) for n in range(4)
    ]
    rows += [("user_1", 8, _url("user_1", 8, n), False, "test") for n in range(3)]
    write_overrides(project_dir, rows)
    assert dbt("seed").success
    assert dbt("run", "--select", "product_images").success
    return {"product_11_before": before}


def _accuracy(*args: str, **env: str) -> Any:
    return CliRunner().invoke(main, ["labels", "accuracy", *args], env=env or None)


def _figures(tenant: str, counts: tuple[int, ...], precision: Any, recall: Any) -> dict[str, Any]:
    names = (
        "decided",
        "partly_decided",
        "unscored",
        "labels",
        "correct",
        "decided_tags",
        "doubtful",
        "cleared_wrongly",
    )
    return {
        "tenant": tenant,
        **dict(zip(names, counts, strict=True)),
        "precision": precision[0],
        "precision_interval": precision[1],
        "recall": recall[0],
        "recall_interval": recall[1],
    }


NOTHING = (None, [0.0, 1.0])
NO_RECALL = "n/a (no product with a tag that the evidence decided)"


def test_the_figures_are_the_ones_counted_by_hand(hand) -> None:
    result = _accuracy("--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert list(report) == ["detector", "threshold", "floor", "tenants", "total"]
    assert (report["detector"], report["threshold"], report["floor"]) == (load_detector().version, 0.88, 0.0015)
    by_tenant = {found["tenant"]: found for found in report["tenants"]}
    assert list(by_tenant) == ["template_tenant", "user_1", "user_2", "user_3", "user_4", "user_5", "user_6"]
    five_of_seven = (0.7143, [0.3589, 0.9178])
    assert by_tenant["user_1"] == _figures("user_1", (12, 1, 3, 7, 5, 7, 1, 1), five_of_seven, five_of_seven)
    # every decision says "no tag": the one label the evidence gives is wrong, recall rests on nothing
    assert by_tenant["user_2"] == _figures("user_2", (3, 0, 0, 1, 0, 0, 0, 0), (0.0, [0.0, 0.7935]), NOTHING)
    assert by_tenant["user_3"] == _figures("user_3", (0,) * 8, NOTHING, NOTHING)
    assert by_tenant["template_tenant"] == _figures("template_tenant", (0,) * 8, NOTHING, NOTHING)
    # Wilson 95% on 9 of 12: [0.4677, 0.9111]; on 9 of 11: [0.5230, 0.9486]
    expected_total = _figures("all", (125, 1, 3, 12, 9, 11, 7, 1), (0.75, [0.4677, 0.9111]), (0.8182, [0.523, 0.9486]))
    assert report["total"] == expected_total


def test_a_decision_the_interim_rule_had_guessed_is_not_the_evidences(hand) -> None:
    """Product 11: the rule flagged the number card while the product was doubtful, and the person chose it
    too; the evidence left it doubtful, so it counts as doubtful, not as a right label."""
    assert hand["product_11_before"] == [(False, "rule"), (True, "rule"), (False, "rule"), (False, "rule")]
    report = json.loads(_accuracy("--tenant", "user_1", "--json").stdout)
    (found,) = report["tenants"]
    assert (found["doubtful"], found["correct"]) == (1, 5)


def test_a_decision_is_never_judged_by_a_profile_learned_from_itself(hand) -> None:
    """user_4: three products whose tags are "BOUTIQ" cards; left out, each is judged by a profile of 2 tags
    (too few: cold, doubtful). user_5: four, each judged by the other three (labelled). user_6: 103 decided
    products, in MAX_FOLDS folds; its three BOUTIQ products, each in a fold of its own, stay doubtful."""
    report = json.loads(_accuracy("--tenant", "user_4", "--tenant", "user_5", "--tenant", "user_6", "--json").stdout)
    four, five, six = report["tenants"]
    assert four == _figures("user_4", (3, 0, 0, 0, 0, 0, 3, 0), NOTHING, NOTHING)
    assert five == _figures("user_5", (4, 0, 0, 4, 4, 4, 0, 0), (1.0, [0.5101, 1.0]), (1.0, [0.5101, 1.0]))
    assert six == _figures("user_6", (MAX_FOLDS + 3, 0, 0, 0, 0, 0, 3, 0), NOTHING, NOTHING)


def test_the_text_report_says_what_each_figure_rests_on(hand) -> None:
    result = _accuracy()
    assert result.exit_code == 0, result.output
    detector = load_detector()
    assert result.stdout.splitlines() == [
        f"detector {detector.version}, threshold 0.88, floor 0.0015",
        "template_tenant: no product decided by a person yet",
        "user_1: 12 decided products (1 doubtful, 1 partly decided, 3 unscored);"
        " precision 0.714 [0.358, 0.918] (5 of 7); recall 0.714 [0.358, 0.918] (5 of 7)",
        "user_2: 3 decided products (0 doubtful, 0 partly decided, 0 unscored);"
        f" precision 0.000 [0.000, 0.794] (0 of 1); recall {NO_RECALL}",
        "user_3: no product decided by a person yet",
        "user_4: 3 decided products (3 doubtful, 0 partly decided, 0 unscored);"
        f" precision n/a (the evidence labelled no product); recall {NO_RECALL}",
        "user_5: 4 decided products (0 doubtful, 0 partly decided, 0 unscored);"
        " precision 1.000 [0.510, 1.000] (4 of 4); recall 1.000 [0.510, 1.000] (4 of 4)",
        f"user_6: {MAX_FOLDS + 3} decided products (3 doubtful, 0 partly decided, 0 unscored);"
        f" precision n/a (the evidence labelled no product); recall {NO_RECALL}",
        "all: 125 decided products (7 doubtful, 1 partly decided, 3 unscored);"
        " precision 0.750 [0.467, 0.912] (9 of 12); recall 0.818 [0.523, 0.949] (9 of 11)",
    ]


def test_a_tenant_of_unscored_decisions_is_not_said_undecided(conn, hand) -> None:
    conn.execute("create schema user_8")
    try:
        conn.execute("create table user_8.product_images (like user_1.product_images including all)")
        conn.execute(
            "insert into user_8.product_images (product_id, url, position, is_label, label_source, source_index)"
            " values (1, 'https://images.example.com/8/1/0.jpg', 0, true, 'app', 0),"
            " (2, 'https://images.example.com/8/2/0.jpg', 0, false, 'app', 0),"
            " (2, 'https://images.example.com/8/2/1.jpg', 1, false, 'rule', 1)"
        )
        result = _accuracy("--tenant", "user_8")
    finally:
        conn.execute("drop schema user_8 cascade")
    assert result.exit_code == 0, result.output
    assert (
        result.stdout.splitlines()[1]
        == "user_8: no decided product measured (1 partly decided, 1 unscored: not counted)"
    )


@pytest.mark.parametrize("asked", ["user_9", "User_1", "user_1 ", ""])
def test_a_tenant_that_is_not_one_is_named_with_the_option_and_the_tenants(hand, asked: str) -> None:
    result = _accuracy("--tenant", "user_1", "--tenant", asked)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"Error: --tenant: not a tenant with a product_images table: {asked!r}"
        " (tenants: template_tenant, user_1, user_2, user_3, user_4, user_5, user_6)\n"
    )


def test_the_template_tenant_is_a_tenant_with_nothing_decided(hand) -> None:
    result = _accuracy("--tenant", "template_tenant")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1:] == [
        "template_tenant: no product decided by a person yet",
        "all: no product decided by a person yet",
    ]


def test_the_json_shape_is_in_the_help(hand) -> None:
    report = json.loads(_accuracy("--tenant", "user_1", "--json").stdout)
    text = " ".join(CliRunner().invoke(main, ["labels", "accuracy", "--help"]).stdout.split())
    for key in [*report, *report["total"]]:
        assert f'"{key}"' in text, key
    assert "Exit 0 when measured, 1 when it could not run" in text


def test_a_database_the_migration_has_not_reached_is_an_error(hand) -> None:
    with fresh_database("accuracy_empty") as name:
        result = _accuracy()
        assert (result.exit_code, result.stdout) == (1, "")
        assert result.stderr == (
            f"Error: no tenant with a product_images table in database '{name}' (tenant schemas match"
            " PRODUCT_IMAGES_TENANT_REGEX or are in PRODUCT_IMAGES_EXTRA_TENANTS): run dbt run --select"
            " product_images first, or check PGDATABASE\n"
        )
        with psycopg.connect(autocommit=True) as own:
            own.execute("create schema user_1")
            own.execute(  # product_images as a version before the detector made it
                "create table user_1.product_images (id bigint primary key, product_id bigint not null,"
                " url text not null, position integer not null, is_label boolean not null, label_source text not null,"
                " source_index integer, label_score real)"
            )
        result = _accuracy()
        assert (result.exit_code, result.stdout) == (1, "")
        assert result.stderr == (
            "Error: user_1.product_images lacks the column(s) label_evidence, label_error, label_detector: run dbt run"
            " --select product_images (it adds the detector's columns), then product-images labels detect\n"
        )


def test_a_read_the_database_refuses_names_the_tenant(conn, hand) -> None:
    conn.execute("drop role if exists accuracy_reader")
    conn.execute("create role accuracy_reader login")
    try:
        conn.execute("grant usage on schema template_tenant, user_1 to accuracy_reader")
        conn.execute("grant select on user_1.product_images to accuracy_reader")
        result = _accuracy(PGUSER="accuracy_reader")
        conn.execute("revoke all on schema template_tenant, user_1 from accuracy_reader")
        conn.execute("revoke all on user_1.product_images from accuracy_reader")
    finally:
        conn.execute("drop role accuracy_reader")
    assert (result.exit_code, result.stdout) == (1, "")
    assert (
        result.stderr
        == "Error: template_tenant: the database refused the measure: permission denied for table product_images\n"
    )


def test_a_bad_tenant_regex_is_a_configuration_error(hand) -> None:
    result = _accuracy(PRODUCT_IMAGES_TENANT_REGEX="([")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "Error: PRODUCT_IMAGES_TENANT_REGEX is not a valid regular expression:"
        " invalid regular expression: brackets [] not balanced\n"
    )


def test_a_share_short_of_one_never_reads_one() -> None:
    """1,999 right labels of 2,000: 0.9995 would round to 1.000, which says no mistake. Wilson 95%:
    centre 0.9995 + z²/4000 = 1.0004604, spread 0.0013720, scale 1.0019208: [0.99716, 0.99991]."""
    tenant = TenantAccuracy("user_1")
    for product_id in range(2000):
        tenant.add(ProductCheck(product_id, 0, "label", 1 if product_id == 0 else 0))
    lines = AccuracyReport([tenant], "labels-x", 0.88, 0.0015).lines()
    assert lines[1] == (
        "user_1: 2000 decided products (0 doubtful, 0 partly decided, 0 unscored);"
        " precision 0.999 [0.997, 1.000] (1999 of 2000); recall 0.999 [0.997, 1.000] (1999 of 2000)"
    )

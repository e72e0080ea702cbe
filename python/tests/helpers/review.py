"""What the review page's HTTP tests share: the session token of their review apps, the
image ids a product has in the database, and a review session with --apply on a project copy."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import psycopg

from product_images.labels.review.server import serve_review

TOKEN = "session-token-for-the-tests"


def image_ids(conn: psycopg.Connection, tenant: str, product_id: int) -> list[int]:
    """The ids of ``tenant``'s product's ``product_images`` rows, in position order."""
    query = f"select id from {tenant}.product_images where product_id = %s order by position"
    return [row[0] for row in conn.execute(query, (product_id,))]


def serve_with_apply(project_dir: Path, queue: str, out: TextIO, ready: Callable[[str], None], **options: Any) -> int:
    """``product-images labels review --queue <queue> --apply`` on the project copy ``project_dir`` (its
    profiles in ``target/profiles``), on a free port, printing to ``out``; ``ready(url)`` is called once the
    page listens. Blocks until the session ends; returns the command's exit code."""
    return serve_review(
        queue=queue,
        port=0,
        apply=True,
        project_dir=project_dir,
        profiles_dir=project_dir / "target" / "profiles",
        out=out,
        ready=ready,
        **options,
    )

"""The review page on the demo: its embedded PostgreSQL and its pictures in moto's S3 (``product-images-demo review``).

:func:`demo_environment` is a :data:`~product_images.labels.review.server.ReviewEnvironment`:
the review page runs inside it and knows nothing of the demo.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from product_images.connection import connect
from product_images.labels.review.thumbnails import ThumbnailStore

__all__ = ["demo_environment"]


@contextmanager
def demo_environment(queue_urls: Callable[[], list[str]], cache_dir: Path, out: TextIO) -> Iterator[None]:
    """Point this process at the demo: the embedded PostgreSQL (unless ``PGHOST`` is set) and, unless
    ``AWS_ENDPOINT_URL_S3`` is set, moto's S3 holding the demo pictures of ``queue_urls()``.

    Only the pictures whose thumbnail is not in ``cache_dir`` yet are drawn and stored, each
    exactly the object ``make demo`` stored under its key (the demo's 239 doubtful products:
    995 photos, about 300 MB, about a minute on 2 cores; the rule's candidates when the
    detector has not run: about 5,000 photos, several minutes).

    Args:
        queue_urls: returns the queue's photo URLs (called once the database is reachable).
        cache_dir: the thumbnail cache of the review page.
        out: where to say what started.

    Yields:
        Nothing; the storage stops when the block ends (the embedded server at process exit).
    """
    from product_images.embedded import use_embedded_postgres_unless_configured
    from product_images.project import project_dir

    mode = use_embedded_postgres_unless_configured(project_dir() / ".pgdata")
    print(f"PostgreSQL: {mode}", file=out, flush=True)
    storage: Any = None
    try:
        if not os.environ.get("AWS_ENDPOINT_URL_S3"):
            from product_images.demo.data import DEMO_URL_PREFIX
            from product_images.demo.storage import DEMO_BUCKET, demo_objects, start_demo_storage
            from product_images.metadata.storage import MappingRule, UrlMapping

            cache = ThumbnailStore(cache_dir, UrlMapping((MappingRule(DEMO_URL_PREFIX, DEMO_BUCKET),)), None)
            wanted = sorted(set(queue_urls()))
            uncached = [url for url in wanted if (ref := cache.object_for(url)) and not cache.cache_path(ref).exists()]
            print(
                f"demo storage: rendering {len(uncached):,} of the queue's {len(wanted):,} pictures "
                "(the others have a cached thumbnail)",
                file=out,
                flush=True,
            )
            with connect(autocommit=True) as conn:
                objects = demo_objects(conn, only=uncached)
            storage = start_demo_storage(objects)
            print(
                f"demo storage: moto S3 at {storage.endpoint}, {storage.objects:,} objects "
                f"({storage.total_bytes / 1e6:,.0f} MB)",
                file=out,
                flush=True,
            )
        yield
    finally:
        if storage is not None:
            storage.stop(delete_objects=False)

"""Thumbnails made server side from object storage, cached on disk.

The review page never lets the browser load the bucket: it asks the app for
``/thumb/<tenant>/<image id>.jpg``, the app looks the URL up in the database, maps
it to an object with the backfill's :class:`~product_images.metadata.storage.UrlMapping`
(a URL outside the mapping is "not in the bucket" and is never fetched), reads
the object with the backfill's S3 client, and makes a JPEG at most
:data:`THUMBNAIL_BOX` pixels on each side:

* decoded with Pillow's draft mode (a JPEG is decoded at 1/2, 1/4 or 1/8 scale
  straight from its DCT coefficients: a 2048 px photo costs a fraction of a full decode);
* EXIF orientation applied (``ImageOps.exif_transpose``), so a phone photo stands up;
* transparency flattened on white, any mode converted to RGB.

Each thumbnail is cached in ``cache_dir`` under the SHA-256 of (bucket, key,
box, format version), so no text from a request or the database ever becomes a
path; a cached thumbnail is not checked against the object again (delete the
folder to rebuild them).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError

from product_images.metadata.storage import ObjectRef, UrlMapping

__all__ = [
    "MAX_OBJECT_BYTES",
    "THUMBNAIL_BOX",
    "ThumbnailError",
    "ThumbnailStore",
    "make_thumbnail",
]

THUMBNAIL_BOX = 320
"""Pixels: a thumbnail fits in a THUMBNAIL_BOX x THUMBNAIL_BOX square."""

MAX_OBJECT_BYTES = 64 * 1024 * 1024
"""Objects larger than this are not downloaded for a thumbnail (bytes)."""

_FORMAT_VERSION = "1"  # change it when thumbnails are made differently: old cache entries are then ignored
_JPEG_QUALITY = 82


class ThumbnailError(Exception):
    """No thumbnail for this image. ``reason`` is short text for the page.

    Reasons: ``not in the bucket`` (the URL is outside the mapping), ``missing from the
    bucket`` (no such object), ``empty object``, ``too large``, ``not an image``,
    ``cannot be decoded``, ``storage error: <code>``, ``storage unreachable``.
    """

    def __init__(self, reason: str, status: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def make_thumbnail(data: bytes, box: int = THUMBNAIL_BOX) -> bytes:
    """A JPEG thumbnail of an encoded image, at most ``box`` pixels on each side, upright.

    Args:
        data: the encoded image (any format Pillow reads: JPEG, PNG, WebP, GIF, ...).
        box: the largest width and height, in pixels (>= 16).

    Returns:
        JPEG bytes (RGB, quality 82). An image smaller than ``box`` keeps its size.

    Raises:
        ThumbnailError: ``not an image`` (Pillow does not recognise the bytes) or
            ``cannot be decoded`` (truncated or corrupt data).
    """
    if box < 16:
        raise ValueError(f"box must be at least 16 px, got {box}")
    try:
        with Image.open(io.BytesIO(data)) as opened:
            # Draft first: JPEG picks the smallest DCT scale still at least box x box,
            # whatever the orientation (the box is square). Other formats ignore it.
            opened.draft("RGB", (box, box))
            image: Any = ImageOps.exif_transpose(opened)
            image.thumbnail((box, box), Image.Resampling.LANCZOS)
            if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
                rgba = image.convert("RGBA")
                flat = Image.new("RGB", rgba.size, (255, 255, 255))
                flat.paste(rgba, mask=rgba.getchannel("A"))
                image = flat
            elif image.mode != "RGB":
                image = image.convert("RGB")
            out = io.BytesIO()
            image.save(out, "JPEG", quality=_JPEG_QUALITY, optimize=True)
            return out.getvalue()
    except UnidentifiedImageError:
        raise ThumbnailError("not an image", 422) from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ThumbnailError("cannot be decoded", 422) from None


@dataclass
class ThumbnailStore:
    """Makes and caches thumbnails of image URLs.

    Args:
        cache_dir: where thumbnails are kept (created when missing).
        mapping: URL → object; None when no mapping is configured (every URL is then
            "not in the bucket").
        client: a boto3 S3 client (:func:`~product_images.metadata.storage.s3_client`);
            None together with ``mapping`` None.
        box: thumbnail size, see :data:`THUMBNAIL_BOX`.
    """

    cache_dir: Path
    mapping: UrlMapping | None
    client: Any
    box: int = THUMBNAIL_BOX
    made: int = 0
    served_from_cache: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.cache_dir.mkdir(parents=True, exist_ok=True)

    def object_for(self, url: str) -> ObjectRef | None:
        """The object behind ``url``, or None when the URL is outside the mapping ("not in the bucket")."""
        return self.mapping.object_for(url) if self.mapping is not None else None

    def in_bucket(self, url: str) -> bool:
        """Whether the URL maps to an object (it may still be missing from the bucket)."""
        return self.object_for(url) is not None

    def cache_path(self, ref: ObjectRef) -> Path:
        """Where the thumbnail of ``ref`` is cached: ``<cache_dir>/<sha256 hex>.jpg``."""
        digest = hashlib.sha256(
            "\0".join((ref.bucket, ref.key, str(self.box), _FORMAT_VERSION)).encode("utf-8", "surrogatepass")
        ).hexdigest()
        return self.cache_dir / f"{digest}.jpg"

    def thumbnail(self, url: str) -> bytes:
        """The JPEG thumbnail of the image at ``url``, from the cache or made now.

        Raises:
            ThumbnailError: see its reasons; ``not in the bucket`` without any request
                to the store.
        """
        ref = self.object_for(url)
        if ref is None:
            raise ThumbnailError("not in the bucket", 404)
        path = self.cache_path(ref)
        with contextlib.suppress(FileNotFoundError):
            data = path.read_bytes()
            with self._lock:
                self.served_from_cache += 1
            return data
        thumb = make_thumbnail(self._download(ref), self.box)
        self._store(path, thumb)
        with self._lock:
            self.made += 1
        return thumb

    def _download(self, ref: ObjectRef) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client.get_object(Bucket=ref.bucket, Key=ref.key)
            size = int(response.get("ContentLength") or 0)
            if size > MAX_OBJECT_BYTES:
                response["Body"].close()
                raise ThumbnailError("too large", 422)
            data: bytes = response["Body"].read()
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code in ("NoSuchKey", "404", "NotFound"):
                raise ThumbnailError("missing from the bucket", 404) from None
            raise ThumbnailError(f"storage error: {code or 'unknown'}", 502) from None
        except BotoCoreError:
            raise ThumbnailError("storage unreachable", 502) from None
        if not data:
            raise ThumbnailError("empty object", 422)
        return data

    def _store(self, path: Path, data: bytes) -> None:
        handle = tempfile.NamedTemporaryFile(dir=self.cache_dir, prefix=".thumb.", suffix=".tmp", delete=False)
        try:
            with handle:
                handle.write(data)
            os.replace(handle.name, path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(handle.name)
            # A cache that cannot be written only costs speed.

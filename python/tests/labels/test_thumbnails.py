"""Thumbnails: draft-mode decoding, EXIF orientation, any mode to RGB, and the reasons a photo has none."""

from __future__ import annotations

import io

import pytest
from PIL import Image, JpegImagePlugin

from product_images.demo.pictures import render_image
from product_images.labels.review.thumbnails import ThumbnailError, ThumbnailStore, make_thumbnail
from product_images.metadata.storage import MappingRule, UrlMapping


def size_of(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG" and image.mode == "RGB"
        return image.size


def test_a_large_jpeg_is_decoded_in_draft_mode(monkeypatch):
    drafts = []
    original = JpegImagePlugin.JpegImageFile.draft

    def spy(self, mode, size):
        result = original(self, mode, size)
        drafts.append((mode, size, result, self.size))
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    assert size_of(make_thumbnail(render_image("product", 2048, 1536, 1, "jpeg"))) == (320, 240)
    ((mode, size, result, decoded),) = drafts
    assert (mode, size) == ("RGB", (320, 320))
    assert result is not None and decoded == (512, 384)  # decoded at 1/4 scale, not 2048 x 1536


@pytest.mark.parametrize("orientation, expected", [(1, (320, 160)), (6, (160, 320)), (8, (160, 320)), (3, (320, 160))])
def test_the_exif_orientation_is_applied(orientation, expected):
    data = render_image("product", 800, 400, 2, "jpeg", orientation=orientation)
    assert size_of(make_thumbnail(data)) == expected


def test_transparent_cmyk_and_small_pictures_become_rgb_jpegs():
    assert size_of(make_thumbnail(render_image("label", 640, 480, 3, "png", alpha=True))) == (320, 240)
    assert size_of(make_thumbnail(render_image("product", 1000, 1000, 4, "jpeg", cmyk=True))) == (320, 320)
    assert size_of(make_thumbnail(render_image("product", 200, 100, 5, "webp"))) == (200, 100)  # never enlarged


def test_bytes_that_are_no_picture_have_a_reason():
    with pytest.raises(ThumbnailError, match="not an image"):
        make_thumbnail(b"<html>error page</html>")
    whole = render_image("product", 800, 600, 6, "jpeg")
    with pytest.raises(ThumbnailError, match="cannot be decoded"):
        make_thumbnail(whole[: len(whole) // 3])


def test_a_url_outside_the_mapping_is_not_in_the_bucket_without_a_request(tmp_path):
    class NoClient:
        def get_object(self, **kwargs):
            raise AssertionError("the store must not be asked")

    store = ThumbnailStore(tmp_path, UrlMapping((MappingRule("https://images.example.com/", "bucket"),)), NoClient())
    for url in ("https://elsewhere.example.org/a.jpg", "javascript:alert(1)", "https://images.example.com/"):
        assert not store.in_bucket(url)
        with pytest.raises(ThumbnailError, match="not in the bucket"):
            store.thumbnail(url)
    # the cache names come from a hash of (bucket, key), whatever the key holds
    ref = store.object_for("https://images.example.com/../../etc/passwd")
    assert ref is not None and store.cache_path(ref).parent == tmp_path
    assert len(store.cache_path(ref).stem) == 64

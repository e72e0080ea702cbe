"""The demo's awkward pictures are the same bytes on every run (the README's figures are measured on them)."""

from __future__ import annotations

import time

from PIL import Image, ImageCms

from product_images.demo.pictures import render_image


def test_a_picture_with_an_icc_profile_is_the_same_bytes_a_second_later() -> None:
    first = render_image("product", 640, 480, 7, "jpeg", icc_profile_bytes=120_000)
    time.sleep(1.1)  # LittleCMS stamps a profile with the clock, to the second
    second = render_image("product", 640, 480, 7, "jpeg", icc_profile_bytes=120_000)
    assert first == second
    assert len(first) > 120_000


def test_the_fixed_profile_is_still_srgb() -> None:
    import io

    data = render_image("product", 640, 480, 7, "jpeg", icc_profile_bytes=4_000)
    profile = Image.open(io.BytesIO(data)).info["icc_profile"]
    assert len(profile) == 4_000
    assert ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(profile))).strip() == "sRGB built-in"

"""The real-photo measurement (labels/evaluation/real_photos.py) on a folder shaped like ZXing's blackbox.

The real photos are not committed (their licence is not stated; README, "How accurate"): the
folder here holds codes drawn by segno and zxing-cpp, each with its value in the ``.txt``
beside it, as the package's are.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import segno
import zxingcpp
from PIL import Image

from product_images.labels.evaluation import real_photos

EAN = "4006381333931"  # a retail EAN-13 (not the in-store prefix 2)
QR = "MECARD:N:Test Person;TEL:+33123456789;;"


@pytest.fixture(scope="module")
def blackbox(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("blackbox")
    (root / "qrcode-1").mkdir()
    buffer = io.BytesIO()
    segno.make_qr(QR).save(buffer, kind="png", scale=8, border=4)
    (root / "qrcode-1" / "1.png").write_bytes(buffer.getvalue())
    (root / "qrcode-1" / "1.txt").write_text(QR + "\n")
    (root / "ean13-1").mkdir()
    barcode = zxingcpp.write_barcode_to_image(zxingcpp.create_barcode(EAN, zxingcpp.BarcodeFormat.EAN13), scale=4)
    Image.fromarray(np.array(barcode)).save(root / "ean13-1" / "1.png")
    (root / "ean13-1" / "1.txt").write_text(EAN)
    (root / "ean13-1" / "2.png").write_bytes(b"not an image")  # counted as unreadable, not a crash
    return root


def test_every_photo_is_measured_alone_and_among_garments(blackbox):
    photos = real_photos.read_photos(blackbox, ["ean13-1", "qrcode-1"])
    assert [(p.set_name, p.path.name, p.truth) for p in photos] == [
        ("ean13-1", "1.png", EAN),
        ("ean13-1", "2.png", ""),
        ("qrcode-1", "1.png", QR),
    ]
    result = real_photos.measure(photos, companions=1, processes=1)
    ean, qr, total = result["sets"]["ean13-1"], result["sets"]["qrcode-1"], result["all"]
    assert (ean["photos"], ean["unreadable"], ean["codes_with_truth"], ean["decoded_right"]) == (2, 1, 1, 1)
    assert (qr["photos"], qr["unreadable"], qr["codes_with_truth"], qr["decoded_right"]) == (1, 0, 1, 1)
    # a retail EAN-13 is no shop's in-store code: never hidden, alone or among a tagless product's photos
    assert ean["alone"]["label"] == 0 and ean["among_garments"]["label"] == 0
    # nor is a contact card's QR code: it is what brands and business cards print, no stock number
    assert qr["alone"]["label"] == 0 and qr["among_garments"]["label"] == 0
    assert sum(total["alone"].values()) == sum(total["among_garments"].values()) == 2
    assert total["hidden_real_photo"] <= total["among_garments"]["label"]
    assert result["threshold"] > result["floor"] > 0


def test_the_command_prints_a_line_a_set_and_refuses_a_set_that_is_not_real(blackbox, capsys):
    assert real_photos.main([str(blackbox), "--set", "ean13-1", "--companions", "0", "--processes", "1"]) == 0
    out = capsys.readouterr().out
    assert "ean13-1           2  decoded     1/1  alone: hidden   0" in out
    assert out.splitlines()[-2].startswith("all               2  decoded     1/1")
    with pytest.raises(SystemExit) as exited:
        real_photos.main([str(blackbox), "--set", "qrcode-2"])
    assert exited.value.code == 2
    assert "Invalid value for '--set': 'qrcode-2' is not one of" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        real_photos.main([str(blackbox), "--processes", "0"])
    assert exited.value.code == 2
    assert "Invalid value for '--processes': 0 is not in the range 1<=x<=64." in capsys.readouterr().err


def test_a_set_missing_from_the_folder_is_named(tmp_path, capsys):
    with pytest.raises(ValueError, match=r"no photo in .*ean13-1 \(fetch the package"):
        real_photos.read_photos(tmp_path, ["ean13-1"])
    with pytest.raises(ValueError, match="set 'code128-1' is not a set of real photos"):
        real_photos.read_photos(tmp_path, ["code128-1"])
    with pytest.raises(SystemExit) as exited:
        real_photos.main([str(tmp_path), "--set", "ean13-1"])
    assert exited.value.code == 2
    assert "Invalid value for BLACKBOX: no photo in" in capsys.readouterr().err

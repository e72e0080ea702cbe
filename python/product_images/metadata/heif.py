"""Pixel size and orientation of a HEIC/AVIF image from its ``meta`` box (ISO/IEC 23008-12, HEIF).

``imagesize`` 2.0.1 reads the ``irot`` property as a 5-byte full box although its payload
is one byte, so it raises on every rotated HEIC/AVIF; it also maps the rotation the wrong
way round and ignores ``imir``. :func:`heif_size` reads the few boxes it needs itself:

* ``meta`` (a top-level full box) → ``pitm`` (the primary item's id) and ``iprp`` →
  ``ipco`` (the properties, numbered from 1) and ``ipma`` (which properties each item has);
* the primary item's ``ispe`` (full box: width, height as 32-bit big-endian integers, the
  size as coded, before any transformation), ``irot`` (one byte, ``angle`` in its two low
  bits: an anticlockwise rotation by ``angle × 90°``) and ``imir`` (one byte, ``axis`` in its
  low bit: 0 exchanges the top and bottom of the image, 1 its left and right, as
  ISO/IEC 23008-12:2022 §6.5.12 words it and libavif follows).

MIAF (ISO/IEC 23000-22 §7.3.6.7) applies the rotation before the mirror. The pair maps to
the EXIF orientation that asks a viewer for the same transformation (the table below); it
agrees with what Pillow's AVIF plugin (libavif) writes for an EXIF orientation and reads
back, which the tests check for all eight values.
"""

from __future__ import annotations

__all__ = ["heif_size"]

# (irot angle, imir axis or None) → EXIF orientation. EXIF 6 turns the picture 90° clockwise
# (irot 3: 270° anticlockwise), 8 turns it 90° anticlockwise (irot 1); 2 mirrors left-right
# (imir 1), 4 top-bottom (imir 0); 5 and 7 are the transpositions.
_EXIF_ORIENTATION = {
    (0, None): 1,
    (1, None): 8,
    (2, None): 3,
    (3, None): 6,
    (0, 1): 2,
    (1, 1): 7,
    (2, 1): 4,
    (3, 1): 5,
    (0, 0): 4,
    (1, 0): 5,
    (2, 0): 2,
    (3, 0): 7,
}


class _Truncated(ValueError):
    """A box runs past the bytes in hand."""


def _boxes(data: bytes, start: int, end: int) -> dict[bytes, list[tuple[int, int]]]:
    """The boxes between ``start`` and ``end``: type → [(payload start, payload end)], in file order."""
    boxes: dict[bytes, list[tuple[int, int]]] = {}
    position = start
    while position + 8 <= end:
        size, kind, header = int.from_bytes(data[position : position + 4], "big"), data[position + 4 : position + 8], 8
        if size == 1:  # 64-bit size after the type
            if position + 16 > end:
                raise _Truncated(kind)
            size, header = int.from_bytes(data[position + 8 : position + 16], "big"), 16
        elif size == 0:  # to the end of the enclosing box (or file)
            size = end - position
        if size < header:
            raise ValueError(f"box {kind!r} of {size} bytes")
        boxes.setdefault(kind, []).append((position + header, min(position + size, end)))
        if position + size > end:
            raise _Truncated(kind)
        position += size
    return boxes


def _primary_properties(data: bytes, meta_start: int, meta_end: int) -> list[tuple[bytes, int, int]]:
    """The primary item's properties, in association order: (type, payload start, payload end)."""
    children = _boxes(data, meta_start + 4, meta_end)  # meta is a full box: version and flags first
    (pitm_start, _), *_ = children[b"pitm"]
    primary = int.from_bytes(data[pitm_start + 4 : pitm_start + (6 if data[pitm_start] == 0 else 8)], "big")
    (iprp_start, iprp_end), *_ = children[b"iprp"]
    iprp = _boxes(data, iprp_start, iprp_end)
    (ipco_start, ipco_end), *_ = iprp[b"ipco"]
    ipco = sorted(
        (start, end, kind) for kind, spans in _boxes(data, ipco_start, ipco_end).items() for start, end in spans
    )
    found: list[tuple[bytes, int, int]] = []
    for ipma_start, ipma_end in iprp[b"ipma"]:
        version, large = data[ipma_start], data[ipma_start + 3] & 1
        position, id_size = ipma_start + 8, 2 if version == 0 else 4
        for _ in range(int.from_bytes(data[ipma_start + 4 : ipma_start + 8], "big")):
            item = int.from_bytes(data[position : position + id_size], "big")
            count, position = data[position + id_size], position + id_size + 1
            for _ in range(count):
                value = int.from_bytes(data[position : position + 1 + large], "big")
                position += 1 + large
                index = value & (0x7FFF if large else 0x7F)
                if item == primary and 1 <= index <= len(ipco):
                    start, end, kind = ipco[index - 1]
                    found.append((kind, start, end))
            if position > ipma_end:
                raise _Truncated(b"ipma")
    return found


def heif_size(data: bytes) -> tuple[int, int, int | None] | None:
    """The primary image's coded size and EXIF-equivalent orientation of a HEIC/HEIF/AVIF file.

    Args:
        data: the file's first bytes (or all of it); its ``meta`` box must be complete in them.

    Returns:
        ``(width, height, orientation)``: pixels as coded (the ``ispe`` property, NOT swapped
        for the rotation), and the EXIF orientation 2..8 equivalent to the primary item's
        ``irot``/``imir`` properties (see the module doc), None when it has neither (or they
        do nothing). None when the bytes are no ISO BMFF file, the ``meta`` box is not
        complete in ``data``, or the primary item has no ``ispe`` (a file to read with
        another parser). Never raises on bad bytes.
    """
    try:
        top = _boxes(data, 0, len(data))
    except _Truncated:  # the box after meta (mdat) runs past the bytes in hand: fine
        top = _boxes(data, 0, _last_complete_end(data))
    except (ValueError, IndexError):
        return None
    if b"ftyp" not in top or b"meta" not in top:
        return None
    (meta_start, meta_end), *_ = top[b"meta"]
    try:
        properties = _primary_properties(data, meta_start, meta_end)
    except (KeyError, ValueError, IndexError):
        return None
    size, angle, axis = None, 0, None
    for kind, start, end in properties:
        if kind == b"ispe" and end - start >= 12:
            size = (
                int.from_bytes(data[start + 4 : start + 8], "big"),
                int.from_bytes(data[start + 8 : start + 12], "big"),
            )
        elif kind == b"irot" and end > start:
            angle = data[start] & 0x03
        elif kind == b"imir" and end > start:
            axis = data[start] & 0x01
    if size is None or not (size[0] > 0 and size[1] > 0):
        return None
    orientation = _EXIF_ORIENTATION[angle, axis]
    return size[0], size[1], orientation if orientation != 1 else None


def _last_complete_end(data: bytes) -> int:
    """The end of the last top-level box complete in ``data`` (0 when none is)."""
    position, complete = 0, 0
    while position + 8 <= len(data):
        size = int.from_bytes(data[position : position + 4], "big")
        if size == 1 and position + 16 <= len(data):
            size = int.from_bytes(data[position + 8 : position + 16], "big")
        if size < 8 or position + size > len(data):
            break
        position = complete = position + size
    return complete

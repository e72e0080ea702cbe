"""Image headers read from bytes: the type from the magic number, the pixel size, the JPEG walk to the SOF.

The prober (:mod:`product_images.metadata.probe`) decides what to download; this module
reads what it got. :func:`sniff_image_type` matches the file's first bytes against a
table of magic numbers; :func:`measure_image` reads the dimensions as stored and the EXIF
orientation with ``imagesize`` (Pillow for whole files it could not read), except for two
formats imagesize 2.0.1 misreads: HEIC/AVIF (:func:`~product_images.metadata.heif.heif_size`)
and OS/2 BMPs with a 12-byte header (16-bit dimensions);
:func:`jpeg_header` walks a JPEG's segment chain to its SOF marker, asking its reader only
for the segment headers that lie beyond the bytes in hand.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import imagesize
from PIL import Image

from product_images.metadata.heif import heif_size

__all__ = [
    "EXIF_ORIENTATION_TAG",
    "CorruptJpeg",
    "RangeReader",
    "jpeg_header",
    "measure_image",
    "sniff_image_type",
]

#: The EXIF tag holding the orientation (1..8).
EXIF_ORIENTATION_TAG = 0x0112

# SOF0..SOF15 carry the frame size; C4 (DHT), C8 (JPG extension) and CC (DAC) share the range but do not.
_JPEG_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_STANDALONE_MARKERS = frozenset({0x01, 0xD8, *range(0xD0, 0xD8)})  # TEM, SOI, RST0..7: no length field
_JPEG_SOS, _JPEG_EOI = 0xDA, 0xD9

# ISO base media "ftyp" brands (ISO/IEC 23008-12 HEIF, AV1 Image File Format).
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
_HEIF_BRANDS = frozenset({b"mif1", b"msf1", b"miaf"})
# BMP DIB header sizes: BITMAPCOREHEADER (12), OS/2 v2 (16, 64), BITMAPINFOHEADER (40),
# v2 (52), v3 (56), v4 (108), v5 (124).
_BMP_DIB_SIZES = frozenset({12, 16, 40, 52, 56, 64, 108, 124})
_HEIF_TYPES = frozenset({"image/avif", "image/heic", "image/heif"})


def _iso_bmff_type(head: bytes) -> str | None:
    """The image type named by an ISO BMFF ``ftyp`` box's brands: major brand first, then compatible ones."""
    box_size = int.from_bytes(head[0:4], "big")
    major = head[8:12]
    compatible = [head[i : i + 4] for i in range(16, min(box_size, len(head)) - 3, 4)]
    for brands in ([major], compatible):
        if any(brand in _AVIF_BRANDS for brand in brands):
            return "image/avif"
        if any(brand in _HEIC_BRANDS for brand in brands):
            return "image/heic"
    if major in _HEIF_BRANDS or any(brand in _HEIF_BRANDS for brand in compatible):
        return "image/heif"
    return None


@dataclass(frozen=True)
class _Signature:
    """Magic bytes at fixed offsets (all must match, in a head of at least ``min_length`` bytes) → the type.

    ``mime_type`` is the type, or a function of the head choosing it (None: no image).
    """

    magic: tuple[tuple[int, bytes], ...]
    mime_type: str | Callable[[bytes], str | None]
    min_length: int = 0

    def matches(self, head: bytes) -> bool:
        """True when every magic number is at its offset."""
        return len(head) >= self.min_length and all(
            head[offset : offset + len(magic)] == magic for offset, magic in self.magic
        )


#: The signatures in the order they are tried; the first that matches decides (an ISO BMFF
#: ``ftyp`` box whose brands are no image's means no image, whatever follows).
_SIGNATURES = (
    _Signature(((0, b"\xff\xd8\xff"),), "image/jpeg"),
    _Signature(((0, b"\x89PNG\r\n\x1a\n"),), "image/png"),
    _Signature(((0, b"GIF87a"),), "image/gif"),
    _Signature(((0, b"GIF89a"),), "image/gif"),
    _Signature(((0, b"RIFF"), (8, b"WEBP")), "image/webp"),
    _Signature(((4, b"ftyp"),), _iso_bmff_type, min_length=12),
    *(_Signature(((0, b"BM"), (14, size.to_bytes(4, "little"))), "image/bmp") for size in sorted(_BMP_DIB_SIZES)),
    _Signature(((0, b"II*\x00"),), "image/tiff"),
    _Signature(((0, b"MM\x00*"),), "image/tiff"),
    _Signature(((0, b"II+\x00"),), "image/tiff"),
    _Signature(((0, b"MM\x00+"),), "image/tiff"),
)


def sniff_image_type(head: bytes) -> str | None:
    """The image MIME type given by the magic number at the start of a file.

    Args:
        head: the first bytes of the file; 32 are enough for every format here
            (ISO ``ftyp`` compatible brands further into a long ``ftyp`` box are read
            when present).

    Returns:
        ``image/jpeg`` (FF D8 FF), ``image/png`` (89 "PNG" 0D 0A 1A 0A), ``image/gif``
        ("GIF87a"/"GIF89a"), ``image/webp`` ("RIFF" size "WEBP"), ``image/avif`` /
        ``image/heic`` / ``image/heif`` (ISO BMFF "ftyp" box: major brand, then compatible
        brands), ``image/bmp`` ("BM" + a known DIB header size), ``image/tiff``
        ("II*\\0", "MM\\0*", BigTIFF "II+\\0"/"MM\\0+"); None for anything else
        (HTML, video "ftyp" brands such as ``isom``, empty input).
    """
    for signature in _SIGNATURES:
        if signature.matches(head):
            return signature.mime_type if isinstance(signature.mime_type, str) else signature.mime_type(head)
    return None


def measure_image(data: bytes, *, complete: bool) -> tuple[int, int, int | None] | None:
    """The pixel size as stored and the EXIF orientation of an image, from its bytes.

    Args:
        data: the whole file (``complete``) or its first bytes.
        complete: whether ``data`` is the whole file. Pillow is the fallback for whole
            files only: on a prefix it needs the same header imagesize lacked, and it warns
            about the truncated EXIF/IFD it then meets.

    Returns:
        ``(width, height, orientation)``: pixels, NOT swapped for the orientation, which is
        the EXIF value 1..8 or None when absent or out of range; None when the size is
        unreadable. Never raises on bad bytes. HEIC/HEIF/AVIF are read by
        :func:`~product_images.metadata.heif.heif_size` first (size as coded, ``irot``/``imir``
        as the EXIF orientation); an OS/2 BMP (12-byte BITMAPCOREHEADER) has 16-bit dimensions.
    """
    if sniff_image_type(data[:64]) in _HEIF_TYPES:
        measured = heif_size(data)
        if measured is not None:
            return measured
    if data[:2] == b"BM" and data[14:18] == (12).to_bytes(4, "little") and len(data) >= 22:
        width, height = int.from_bytes(data[18:20], "little"), int.from_bytes(data[20:22], "little")
        return (width, height, None) if width > 0 and height > 0 else None
    try:
        # exif_rotation=False: imagesize 2.x would otherwise swap width/height for orientations 5..8;
        # get_info still reports the orientation in .rotation (-1 when absent).
        info = imagesize.get_info(io.BytesIO(data), dpi=False, colors=False, channels=False, exif_rotation=False)
        if info.width > 0 and info.height > 0:
            return info.width, info.height, info.rotation if 1 <= info.rotation <= 8 else None
    except Exception:  # noqa: BLE001 - parser of untrusted bytes; imagesize.get() itself catches Exception
        pass
    if not complete:
        return None
    try:
        # Pillow parses headers lazily: open() reads the size without decoding pixels.
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            orientation = image.getexif().get(EXIF_ORIENTATION_TAG)
    except Exception:  # noqa: BLE001 - Pillow raises many types (OSError, SyntaxError, struct.error...) on bad bytes
        return None
    if width <= 0 or height <= 0:
        return None
    return width, height, orientation if isinstance(orientation, int) and 1 <= orientation <= 8 else None


class RangeReader(Protocol):
    """What :func:`jpeg_header` needs of its reader: ranged reads, and the bytes they downloaded so far."""

    bytes_downloaded: int

    def get_range(self, start: int, length: int) -> bytes:
        """Bytes [start, start+length) of the object (fewer at its end)."""
        ...


class CorruptJpeg(ValueError):
    """The JPEG ends, or reaches its scan data or EOI, before a complete SOF (size) segment."""


class _SparseFile:
    """A file's first bytes, with the ranges fetched further in; bytes not fetched are zeros."""

    def __init__(self, reader: RangeReader, head: bytes, total: int, *, budget: int, chunk: int) -> None:
        self.reader = reader
        self.total = total
        self.budget = budget
        self.chunk = chunk
        self.buffer = bytearray(head)
        self.known = [(0, len(head))]

    def have(self, start: int, end: int) -> bool:
        """True when bytes [start, end) (cut at the end of the file) are in hand."""
        return any(lo <= start and min(end, self.total) <= hi for lo, hi in self.known)

    def ensure(self, start: int, end: int) -> bool:
        """Bytes [start, end) in hand, fetching a chunk at ``start`` if needed; False past the budget."""
        if self.have(start, end):
            return True
        length = min(self.chunk, self.total - start)
        if self.reader.bytes_downloaded + length > self.budget:
            return False
        data = self.reader.get_range(start, length)
        if len(self.buffer) < start:
            self.buffer.extend(bytes(start - len(self.buffer)))
        self.buffer[start : start + len(data)] = data
        self.known.append((start, start + len(data)))
        return self.have(start, end)


def _marker_at(file: _SparseFile, position: int) -> int | None:
    """The marker byte of the segment at ``position``; None when the walk gives up there."""
    if position + 4 > file.total:
        raise CorruptJpeg(f"JPEG of {file.total} bytes ends at byte {position} before its SOF (size) marker")
    if not file.ensure(position, position + 4):
        return None
    if file.buffer[position] != 0xFF:
        return None
    return file.buffer[position + 1]


def _through_sof(file: _SparseFile, position: int, length: int) -> bytes | None:
    """The file's bytes up to the end of the SOF segment at ``position``; None past the budget."""
    sof_end = position + 2 + length
    if sof_end > file.total:
        raise CorruptJpeg(f"JPEG of {file.total} bytes ends inside its SOF segment at byte {position}")
    # precision (1) + height (2) + width (2) + components (1) after the 4-byte marker/length.
    if not file.ensure(position, position + 10):
        return None
    return bytes(file.buffer[:sof_end])


def jpeg_header(reader: RangeReader, head: bytes, total: int, *, budget: int, chunk: int) -> bytes | None:
    """Walk the JPEG segment chain up to the SOF, fetching only segment headers that lie past ``head``.

    Args:
        reader: reads ``chunk`` bytes at the offset of each segment header not in hand.
        head: the file's first bytes (at least its SOI marker); total: the file's size in bytes.
        budget: bytes ``reader`` may have downloaded in all, its earlier reads included.
        chunk: bytes fetched at each follow-up offset.

    Returns:
        A buffer of the file's first bytes up to the end of the SOF segment, with the
        bytes of skipped segment payloads left as zeros (the layout is preserved, so
        ``imagesize`` can parse it: it follows segment lengths and reads EXIF IFD0 and the SOF).
        None when the walk gives up (downloads would exceed ``budget``, or an unexpected
        byte where a marker should be).

    Raises:
        CorruptJpeg: the object ends, or scan data starts, before any SOF.
        Whatever ``reader.get_range`` raises.
    """
    file = _SparseFile(reader, head, total, budget=budget, chunk=chunk)
    position = 2  # after SOI
    while True:
        marker = _marker_at(file, position)
        if marker is None:
            return None
        if marker == 0xFF:  # fill byte before a marker
            position += 1
            continue
        if marker in _JPEG_STANDALONE_MARKERS:
            position += 2
            continue
        if marker in (_JPEG_SOS, _JPEG_EOI):
            raise CorruptJpeg(
                f"JPEG reaches {'scan data' if marker == _JPEG_SOS else 'EOI'} "
                f"at byte {position} without a SOF (size) marker"
            )
        length = int.from_bytes(file.buffer[position + 2 : position + 4], "big")
        if length < 2:
            return None
        if marker in _JPEG_SOF_MARKERS:
            return _through_sof(file, position, length)
        position += 2 + length

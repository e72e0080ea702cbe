"""Keep a C library's harmless complaints off the user's terminal.

Tesseract's image library, Leptonica, writes lines such as
``Error in boxClipToRectangle: box outside rectangle`` straight to file descriptor 2
when a text box it found touches the image's edge. They are not errors of ours or of
the photo (the read goes on and its result is used), but during ``labels detect`` or
``make demo`` they scroll past by the hundred and look like failures.

:func:`filtered_stderr` captures file descriptor 2 around a call into the C library,
drops the lines known to be noise (:data:`NOISE_PREFIXES`), and writes every other line
back to ``sys.stderr``, so a real message from the library still reaches the user.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
from collections.abc import Iterator

__all__ = ["NOISE_PREFIXES", "filtered_stderr"]

#: Line prefixes that are dropped: Leptonica's clipping notices, which Tesseract triggers
#: on text boxes at the image's edge and then handles itself.
NOISE_PREFIXES: tuple[str, ...] = ("Error in boxClipToRectangle", "Error in pixScanForForeground")

# File descriptor 2 belongs to the whole process: one capture at a time.
_LOCK = threading.Lock()


@contextlib.contextmanager
def filtered_stderr() -> Iterator[None]:
    """Capture file descriptor 2 for the block; afterwards re-emit its lines but the noise.

    Yields:
        None. On exit (also on an exception) file descriptor 2 is restored, and every
        captured line that does not start with one of :data:`NOISE_PREFIXES` is written
        to ``sys.stderr`` (decoded as UTF-8, undecodable bytes replaced).

    Raises:
        OSError: file descriptor 2 cannot be duplicated (a process started without it).
    """
    with _LOCK, tempfile.TemporaryFile() as sink:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            captured = sink.read().decode("utf-8", errors="replace")
            kept = [line for line in captured.splitlines() if line and not line.startswith(NOISE_PREFIXES)]
            if kept:
                print("\n".join(kept), file=sys.stderr, flush=True)

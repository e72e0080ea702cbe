"""Leptonica's clipping notices stay off the terminal; any other line on fd 2 still gets there."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import os
    from product_images.labels.native_stderr import filtered_stderr

    with filtered_stderr():
        # what Leptonica writes from C, straight to file descriptor 2
        os.write(2, b"Error in boxClipToRectangle: box outside rectangle\\n")
        os.write(2, b"Error in pixScanForForeground: no fg pixels found\\n")
        os.write(2, b"Warning: real trouble from the library\\n")
    os.write(2, b"after the block\\n")
    """
)


def test_noise_is_dropped_and_other_lines_kept() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True)
    assert done.stderr.splitlines() == ["Warning: real trouble from the library", "after the block"]


def test_fd_2_restored_after_an_exception() -> None:
    script = textwrap.dedent(
        """
        import os
        from product_images.labels.native_stderr import filtered_stderr

        try:
            with filtered_stderr():
                os.write(2, b"Error in boxClipToRectangle: box outside rectangle\\n")
                raise KeyError("boom")
        except KeyError:
            pass
        os.write(2, b"still visible\\n")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stderr == "still visible\n"

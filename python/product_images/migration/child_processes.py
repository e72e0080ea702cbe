"""Child processes that are told when the process that started them dies, even by SIGKILL.

A process killed with SIGKILL (``kill -9``, the OOM killer, a CI runner or a container stopped) runs no
handler, so it cannot pass anything on to its children; children in process groups of their own are not
reached by a signal to its group either. On Linux the kernel does it: ``prctl(PR_SET_PDEATHSIG, signum)``,
set in the child between fork and exec, has the kernel send the child ``signum`` when its parent dies
(prctl(2), "PR_SET_PDEATHSIG"). Elsewhere :func:`parent_death_signal` gives None and the children carry on
as before: they outlive a killed parent.

Two rules of prctl(2) shape it:

* The signal comes when the *thread* that forked the child exits, not the process. ``Popen`` must be called
  with the returned ``preexec_fn`` from a thread that lives as long as the child (e.g. the one that then
  waits for it), never from a short-lived worker thread.
* The setting does not help a child whose parent died before it was made (the child has then been adopted
  by init or a subreaper). So the child checks ``os.getppid()`` right after it and exits at once, before
  exec, when its parent is no longer the process that started it.

It survives ``execve`` (not of a set-user-ID or set-group-ID program: ``dbt`` is a plain script) and is not
passed on by ``fork``: the child's own children are not covered.

No library is used: the PyPI ones (``python-prctl``, a C extension built against libcap; ``pyprctl``, not
updated since 2021) would bring a dependency for one call that ``ctypes`` makes from the C library.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable

#: prctl(2) option number, from <linux/prctl.h>.
PR_SET_PDEATHSIG = 1
#: The exit code of a child whose parent died before the setting was made (it never runs its program).
PARENT_GONE_EXIT = 125


def parent_death_signal(signum: int) -> Callable[[], None] | None:
    """A ``preexec_fn`` for :class:`subprocess.Popen`: the child gets ``signum`` when this thread dies.

    Call it in the thread that will call ``Popen`` (it records this process's id as the child's expected
    parent), and call ``Popen`` from a thread that outlives the child (prctl(2): the signal is sent when
    the thread that forked the child exits).

    Args:
        signum: the signal the kernel sends the child when its parent thread dies, e.g. ``signal.SIGINT``.

    Returns:
        A function to pass as ``preexec_fn`` (it runs in the child, after fork, before exec): it sets
        ``PR_SET_PDEATHSIG`` to ``signum``, then, when the parent has already died (``os.getppid()`` is not
        the pid recorded here: prctl(2)'s documented race), ends the child with :data:`PARENT_GONE_EXIT`
        before its program starts. None off Linux, or when the C library has no ``prctl``: start the child
        without ``preexec_fn``; it is then not told of its parent's death.

    Raises (in the child, which ``Popen`` turns into :class:`subprocess.SubprocessError` in the parent):
        OSError: prctl(2) refused the setting (EINVAL: ``signum`` is not a valid signal).
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    parent = os.getpid()

    def set_parent_death_signal() -> None:
        if prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"prctl(PR_SET_PDEATHSIG, {signum}): {os.strerror(error)}")
        if os.getppid() != parent:
            os._exit(PARENT_GONE_EXIT)

    return set_parent_death_signal

"""A training's freed memory kept for its next arrays instead of handed back to the system.

The classifier's Newton-CG fit allocates and frees arrays of every intent by every n-gram (about
22 MB each) hundreds of times. With glibc's defaults each one is a fresh ``mmap`` or a trimmed
heap, so the kernel zeroes its pages again every time: 19 of 62 CPU seconds of a cold fit were
system time (docs/nlu.md, "Cost"). ``kept_heap`` sets glibc's ``mallopt`` for the duration so
that blocks up to its largest mmap threshold come from the heap and the heap is not trimmed:
3 s of system time, the same fit. Memory is freed as before; only its return to the system
waits until the end. Elsewhere than glibc nothing changes.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
from collections.abc import Iterator

logger = logging.getLogger(__name__)

# mallopt parameters and limits (glibc's malloc.h, malloc/malloc.c)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_MAX = 32 * 1024 * 1024  # DEFAULT_MMAP_THRESHOLD_MAX on 64-bit systems
DEFAULT_THRESHOLD = 128 * 1024  # both parameters' glibc default
KEPT_TRIM_THRESHOLD = 1024 * 1024 * 1024  # a C int; a training's peak is about 1 GB


def _glibc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "gnu_get_libc_version") else None


@contextlib.contextmanager
def kept_heap() -> Iterator[None]:
    """Within, glibc serves large blocks from a heap it does not trim; afterwards both settings
    are back at glibc's defaults (its dynamic mmap threshold stays off, as any setting leaves
    it) and the heap is trimmed once."""
    libc = _glibc()
    if libc is None or not (libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX)
                            and libc.mallopt(M_TRIM_THRESHOLD, KEPT_TRIM_THRESHOLD)):
        logger.debug("malloc settings unchanged: not glibc, or refused")
        yield
        return
    try:
        yield
    finally:
        libc.mallopt(M_TRIM_THRESHOLD, DEFAULT_THRESHOLD)
        libc.mallopt(M_MMAP_THRESHOLD, DEFAULT_THRESHOLD)
        libc.malloc_trim(0)

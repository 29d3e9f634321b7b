"""glibc's allocator set up for streaming blocks: freed temporaries are kept for the next block.

Every tile of every block allocates the same large temporaries again (a mask network's activations
are 9-28 MB per tile, a block's bands and features a few MB each) and frees them a moment later. With
glibc's defaults the larger ones are handed back to the kernel on each free and faulted in afresh,
page by page, on the next allocation: in float32 a quarter of the network's CPU time went to those
page faults (cnn2d-l1c-v4 on one 1056-px block: 0.47 CPU-s, 0.12 of it in the kernel, 64,000 faults;
0.35 CPU-s and no fault once freed memory stays in the process). So allocations up to 32 MB (glibc's
largest threshold) come from its heaps, and a heap keeps up to :data:`KEPT_MB` of free memory at its
top; larger arrays (whole-tile layers) are still mapped and unmapped on their own. What the heaps
kept is handed back by :func:`release_freed_memory` once the blocks are done, before the whole-tile
step that needs the most memory.
"""

from __future__ import annotations

import ctypes
import os
import sys
from functools import cache

#: mallopt's parameter numbers (malloc.h) and the values set.
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD_MB = 32
KEPT_MB = 256
#: The environment variables by which a user sets glibc's allocator himself: then it is left alone.
USER_SETTINGS = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_")


@cache
def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return None
    # musl has mallopt too, but ignores these parameters
    return libc if hasattr(libc, "gnu_get_libc_version") and hasattr(libc, "mallopt") else None


@cache
def keep_freed_memory() -> bool:
    """Set glibc's allocator up for block streaming (once per process); False where it is not glibc's
    or the user's environment already sets it."""
    libc = _glibc()
    if libc is None or any(name in os.environ for name in USER_SETTINGS):
        return False
    mallopt = libc.mallopt
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_MB << 20) and mallopt(M_TRIM_THRESHOLD, KEPT_MB << 20))


def release_freed_memory() -> None:
    """Hand the free memory of every heap back to the kernel (glibc's ``malloc_trim``)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)

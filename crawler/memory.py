"""Keep a long image run's memory from creeping up.

Pillow decodes each image into buffers of hundreds of kilobytes, in worker threads. glibc's
malloc raises its mmap threshold after such buffers are freed, so later ones come from the
heap arenas (one per thread) where freed space fragments and is not given back: peak RSS then
grows with the number of images instead of staying at a few images' worth. Fixing the
threshold (big buffers always mmap'd, so returned to the system when freed) and the number of
arenas keeps it flat. Elsewhere than glibc this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8


def limit_malloc_growth(mmap_threshold: int = 128 * 1024, arenas: int = 2) -> bool:
    """Ask glibc for a fixed mmap threshold and few arenas; False where that is not possible."""
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, mmap_threshold)) and bool(mallopt(M_ARENA_MAX, arenas))

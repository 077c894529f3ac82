"""glibc's allocator, set at start-up so the memory of large reads is given back.

Left to its defaults, glibc kept about 2 GiB after scans of 1000 KiB events had ended, for
two reasons. Its mmap threshold is dynamic: after a large mmapped block is freed, the
threshold climbs to that block's size (up to 32 MiB), so later MiB-sized payloads, wire
messages and gRPC buffers come from the heap arenas instead of their own mappings, and a
heap arena can only shrink from its top, which one long-lived small object pins.
And each thread that allocates may get its own arena (up to eight per core), each
fragmenting on its own: the storage threads, gRPC's threads and the log tail are many.

A fixed threshold (which also turns the dynamic one off) sends every block of 128 KiB or
more to its own mapping, returned to the system the moment it is freed; a few arenas keep
the small allocations together. Both cost little: blocks that large are few and each is
worth a system call. Not glibc (musl, macOS): nothing to do.
"""

import ctypes
import ctypes.util
import logging

__all__ = ["MMAP_THRESHOLD_BYTES", "configure_allocator"]

_log = logging.getLogger("logicblocks.event.server")

MMAP_THRESHOLD_BYTES = 128 * 1024
_ARENAS = 2
# mallopt's parameter numbers, from glibc's malloc.h.
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8


def configure_allocator() -> bool:
    """Fix glibc's mmap threshold and cap its arenas; call before threads start.

    Returns whether glibc took both settings.
    """
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
        # gnu_get_libc_version exists in glibc only: musl has a mallopt that ignores all.
        libc.gnu_get_libc_version  # noqa: B018
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    applied = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(
        mallopt(_M_ARENA_MAX, _ARENAS)
    )
    _log.debug("event=allocator_configured applied=%s", applied)
    return applied

"""Give the memory a closed page freed back to the operating system.

A served page builds many thousands of Python objects and NumPy arrays, and
frees them when its session is discarded. glibc's ``malloc`` keeps what is
freed for reuse, and each time a large block is freed it raises the size
below which it takes blocks from its heap instead of mapping them apart; so
later arrays land in the heap, which it can only give back from the top. A
server's resident memory rose by about 150 MiB over its first 30 pages and
stayed there, though the live Python objects had grown by about 10 MiB.

:func:`tune` fixes that threshold at glibc's starting value and
:func:`release` hands back the free pages inside the heap. Both do nothing,
and say so, on a C library other than glibc.

Example
-------
>>> from dashkit import allocator
>>> allocator.tune()              # once, when a server starts   # doctest: +SKIP
True
>>> allocator.release()           # after a page's session has gone   # doctest: +SKIP
True
"""

from __future__ import annotations

import ctypes
import functools
import gc
import sys
import time

from tornado.ioloop import IOLoop

M_MMAP_THRESHOLD = -3
"""glibc's ``mallopt`` parameter: blocks of at least this many bytes are
mapped apart from the heap, and go back to the system when freed. Setting it
also stops glibc raising it each time such a block is freed."""

MMAP_THRESHOLD = 128 * 1024
"""glibc's own starting value, kept from then on."""


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None
    # musl and others have neither function.
    if not (hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim")):
        return None
    return libc


@functools.cache
def tune() -> bool:
    """Fix glibc's mapping threshold, once per process. False when the C
    library is not glibc (nothing is changed)."""
    libc = _glibc()
    return libc is not None and bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))


def release() -> bool:
    """Collect unreachable objects, then give glibc's free pages back to the
    system. False when the C library is not glibc (only the collection runs)."""
    gc.collect()
    libc = _glibc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True


RELEASE_DELAY = 1.0
"""Seconds after a session is discarded before freed memory is given back:
Bokeh drops the session's document after its destroy callbacks, and pages
that close together are released once."""

_release_at = 0.0  # monotonic time of the release scheduled last


def release_soon() -> None:
    """Give freed memory back to the system :data:`RELEASE_DELAY` seconds from
    now, on the current event loop; calls until then add nothing."""
    global _release_at
    now = time.monotonic()
    # A time, not a flag: a release whose loop stopped first blocks none after it.
    if now >= _release_at:
        _release_at = now + RELEASE_DELAY
        IOLoop.current().call_later(RELEASE_DELAY, release)

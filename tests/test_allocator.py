"""Memory a closed page freed goes back to the system (glibc's allocator)."""

from __future__ import annotations

import asyncio
import ctypes
import subprocess
import sys
import textwrap
import threading
import time

import psutil
import pytest

from dashkit import allocator

glibc = pytest.mark.skipif(allocator._glibc() is None, reason="glibc's allocator only")

MiB = 2**20


@glibc
def test_release_gives_back_free_memory_inside_the_heap():
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    # Blocks under the mapping threshold come from the heap. Every other one
    # is freed: between blocks still in use, free() alone gives nothing back.
    blocks = [libc.malloc(64 * 1024) for _ in range(3200)]
    for block in blocks:
        ctypes.memset(block, 1, 64 * 1024)
    kept, freed = blocks[::2], blocks[1::2]
    process = psutil.Process()
    try:
        for block in freed:
            libc.free(block)
        before = process.memory_info().rss
        assert allocator.release()
        assert before - process.memory_info().rss > 80 * MiB
    finally:
        for block in kept:
            libc.free(block)


@glibc
def test_after_tune_large_blocks_stay_apart_from_the_heap():
    # In a fresh process: glibc's threshold moves with what the process freed.
    script = textwrap.dedent("""
        import ctypes
        from dashkit import allocator

        FIELDS = "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost"

        class Info(ctypes.Structure):
            _fields_ = [(name, ctypes.c_size_t) for name in FIELDS.split()]

        libc = ctypes.CDLL("libc.so.6")
        libc.malloc.restype, libc.free.argtypes = ctypes.c_void_p, [ctypes.c_void_p]
        libc.mallinfo2.restype = Info
        libc.free(libc.malloc(8 << 20))  # glibc raises its threshold to 8 MiB
        tuned = allocator.tune()
        mapped = libc.mallinfo2().hblks
        block = libc.malloc(1 << 20)
        print(tuned, libc.mallinfo2().hblks - mapped)
        libc.free(block)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout.split()  # fmt: skip
    assert out == ["True", "1"], out


def test_pages_closing_together_release_memory_once(monkeypatch):
    released = []
    monkeypatch.setattr(allocator, "release", lambda: released.append(time.monotonic()))
    monkeypatch.setattr(allocator, "RELEASE_DELAY", 0.05)

    async def close_three_pages() -> None:
        began = time.monotonic()
        for _ in range(3):
            allocator.release_soon()
        while not released and time.monotonic() - began < 10:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)  # a second release would have come by now
        assert len(released) == 1
        assert released[0] - began >= 0.05
        allocator.release_soon()  # a page closing later: released again
        while len(released) < 2 and time.monotonic() - began < 10:
            await asyncio.sleep(0.01)

    # A loop of its own: another test may have left this thread's loop running.
    runner = threading.Thread(target=asyncio.run, args=(close_three_pages(),))
    runner.start()
    runner.join(timeout=30)
    assert len(released) == 2

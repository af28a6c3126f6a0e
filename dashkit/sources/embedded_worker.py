"""Preloaded in each worker process of the embedded cluster: Ctrl-C is for dashkit.

A terminal's Ctrl-C reaches every process of its foreground group, the
embedded cluster's worker processes too, and each printed a
``KeyboardInterrupt`` traceback while dashkit was already stopping them. The
worker processes ignore it; dashkit, which started them, stops them.
"""

from __future__ import annotations

import multiprocessing
import signal


def dask_setup(_worker) -> None:
    """Ignore SIGINT, in a worker process of its own only (never in dashkit's)."""
    if multiprocessing.parent_process() is not None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)

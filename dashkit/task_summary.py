"""TaskSummary: the whole run's task stream as a pyramid of time bins.

Each level holds, per time bin, (worker, thread) pair and colour class, the
busy seconds of the rows in that bin (a row adds the time it overlaps each
bin, and at least :data:`dashkit.raster.PRESENT` to the bin of its start).
Bins double in width from one level to the next. Every level is a ring of
``bins`` bins ending at the newest: the coarsest level always covers the
whole run (when the run outgrows it, a level twice as coarse is made from it,
pairs of bins summed), finer levels the newest part of it. So a frame of any
range reads one level, with at most about two bins per pixel column, and its
cost does not depend on the number of rows.

Rows are added as they arrive, in time linear in the new rows (and the bins
each one covers). Memory is ``levels x bins x pairs x classes x 4`` bytes; the
finest levels are given up while it is over ``share`` of the bytes of the
rows summarised, or over ``max_bytes`` (the coarsest is always kept).

Example
-------
>>> import numpy as np
>>> summary = TaskSummary(bins=8)
>>> summary.add(np.array([0.0, 2.0]), np.array([1.5, 3.0]), np.array([0, 1], np.int32),
...             np.array([0, 3], np.int8), row_bytes=100.0)
>>> level = summary.levels[-1]
>>> level.width, float(level.data[:, 0, 0].sum())
(0.5, 1.5)
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np

from dashkit import raster

#: The finest bin, in seconds: finer detail is drawn from the rows themselves.
MIN_WIDTH = 2.0**-10


def _add(x0, x1, pair, cls, width, head, data):
    ring = data.shape[0]
    tail = head - ring + 1
    for i in range(x0.size):
        a, b = max(x0[i], 0.0), max(x1[i], 0.0)
        first = int(math.floor(a / width))
        last = max(int(math.floor(b / width)), first)
        for k in range(max(first, tail), min(last, head) + 1):
            seconds = min(b, (k + 1) * width) - max(a, k * width)
            if k == first:
                seconds = max(seconds, raster.PRESENT)
            if seconds > 0.0:
                data[k % ring, pair[i], cls[i]] += seconds


_kernel = None
_compile = threading.Lock()


def _add_kernel():
    global _kernel
    with _compile:
        if _kernel is None:
            _kernel = raster._njit(_add)
        return _kernel


@dataclass
class Level:
    """One level of the pyramid: bins ``width`` seconds wide, the newest
    ``head``, ``data[bin % bins, pair, class]`` their busy seconds."""

    width: float
    head: int
    data: np.ndarray

    @property
    def tail(self) -> int:
        """The oldest bin held."""
        return max(self.head - self.data.shape[0] + 1, 0)

    def covers(self, start: float) -> bool:
        """Whether the bins from time ``start`` on are all held."""
        return self.tail * self.width <= max(start, 0.0)


class TaskSummary:
    """A pyramid of busy seconds per time bin, pair and colour class.

    Parameters
    ----------
    bins:
        Bins per level (at least the widest image drawn from it, in pixels).
    share:
        Memory bound, as a share of the bytes of the rows summarised.
    max_bytes:
        Memory bound in bytes, whatever the rows (the coarsest level is kept
        beyond either bound).
    """

    def __init__(self, bins: int = 2048, share: float = 0.2, max_bytes: int = 512 * 2**20):
        if bins < 2 or bins % 2:
            raise ValueError(f"TaskSummary bins must be an even number of at least 2, got {bins}")
        self.bins = bins
        self.share = share
        self.max_bytes = max_bytes
        self.levels: list[Level] = []  # finest first
        self.rows = 0
        self.row_bytes = 0.0
        self._lock = threading.Lock()

    @property
    def nbytes(self) -> int:
        """Bytes held by the levels."""
        return sum(level.data.nbytes for level in self.levels)

    @property
    def budget(self) -> float:
        """Bytes the levels may hold: ``share`` of the rows summarised, at most ``max_bytes``."""
        return min(self.share * self.rows * self.row_bytes, self.max_bytes)

    def add(self, x0: np.ndarray, x1: np.ndarray, pair: np.ndarray, cls: np.ndarray,
            row_bytes: float, finest: float = MIN_WIDTH) -> None:  # fmt: skip
        """Add rows (``x0..x1`` seconds since the run's start, pair codes, colour
        classes), each taking ``row_bytes`` bytes where they are kept raw. The
        first call makes the levels, from the one that holds these rows down to
        bins ``finest`` seconds wide, as many as the memory bound allows."""
        if not x0.size:
            return
        with self._lock:
            self.row_bytes = (self.row_bytes * self.rows + row_bytes * x0.size) / (
                self.rows + x0.size
            )
            self.rows += x0.size
            end = float(np.max(x1))
            n_pairs = int(pair.max()) + 1
            if not self.levels:
                self._start(end, n_pairs, finest)
            self._fit_pairs(n_pairs)
            while math.floor(end / self.levels[-1].width) >= self.bins:
                self.levels.append(self._coarser(self.levels[-1]))
            add = _add_kernel()
            args = (np.asarray(x0, np.float64), np.asarray(x1, np.float64),
                    np.asarray(pair, np.int32), np.asarray(cls, np.int8))  # fmt: skip
            for level in self.levels:
                self._advance(level, math.floor(max(end, 0.0) / level.width))
                add(*args, level.width, level.head, level.data)
            while len(self.levels) > 1 and self.nbytes > self.budget:
                self.levels.pop(0)

    def _start(self, end: float, n_pairs: int, finest: float) -> None:
        top = 2.0 ** math.ceil(math.log2(max(end / (self.bins - 1), finest)))
        level_bytes = self.bins * n_pairs * raster.N_CLASSES * 4
        room = max(int(self.budget // level_bytes), 1)
        depth = min(room, max(int(math.log2(top / finest)) + 1, 1))
        for k in reversed(range(depth)):
            data = np.zeros((self.bins, n_pairs, raster.N_CLASSES), np.float32)
            self.levels.append(Level(top / 2**k, -1, data))

    def _fit_pairs(self, n_pairs: int) -> None:
        for level in self.levels:
            held = level.data.shape[1]
            if n_pairs > held:
                grown = np.zeros((self.bins, max(n_pairs, 2 * held), raster.N_CLASSES), np.float32)
                grown[:, :held] = level.data
                level.data = grown

    def _coarser(self, level: Level) -> Level:
        """The level of bins twice as wide, from ``level`` (which holds bin 0 on)."""
        data = np.zeros_like(level.data)
        half = self.bins // 2
        data[:half] = level.data[0::2] + level.data[1::2]
        return Level(level.width * 2, level.head // 2, data)

    def _advance(self, level: Level, head: int) -> None:
        """Move ``level``'s newest bin to ``head``, emptying the slots it reuses."""
        if head <= level.head:
            return
        if head - level.head >= self.bins:
            level.data[:] = 0
        else:
            slots = np.arange(level.head + 1, head + 1) % self.bins
            level.data[slots] = 0
        level.head = head

    def level_for(self, x_range, width: int) -> Level | None:
        """The level to draw ``x_range`` (seconds) ``width`` pixels wide from: of
        the levels holding the whole range, the coarsest whose bins are at most
        a pixel wide, else the finest (None: no rows summarised)."""
        with self._lock:
            holding = [level for level in self.levels if level.covers(x_range[0])]
            if not holding:
                return None
            pixel = (x_range[1] - x_range[0]) / max(width, 1)
            fine = [level for level in holding if level.width <= pixel]
            return fine[-1] if fine else holding[0]

"""TaskHistory: where each task-stream row sits in time and in the lanes.

Each row gets, when the Feed receives it: its ends in seconds since the first
task seen (``x0``, ``x1``) and its (worker, thread) pair. These live in the
Feed's :class:`~dashkit.task_buffer.TaskBuffer`, beside the rows, so they are
bounded and dropped with them. Pairs are the lanes, ordered by worker then
thread; when a new pair sorts between others the lanes move and
:attr:`TaskHistory.lane_changes` counts up. A time index (the earliest start
and latest stop of each block of rows) lets readers find the rows of a time
range without scanning the others.

This is data: how it is drawn lives in :mod:`dashkit.task_picture`, which
hears of new rows through :attr:`TaskHistory.listeners`.

Example
-------
>>> from dashkit.sources import SyntheticSource
>>> from dashkit.task_buffer import TaskBuffer
>>> history = TaskHistory(TaskBuffer(1000, derived=TaskHistory.DERIVED))
>>> history.append(SyntheticSource(seed=1, start_time=0.0).snapshot().tasks)
>>> history.n_lanes, history.total > 0
(12, True)
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

import numpy as np
import pandas as pd

from dashkit.frame_cache import RecentValues
from dashkit.task_buffer import TaskBuffer

#: Rows per block of the time index.
BLOCK = 1 << 16


def natural(pair: tuple[str, int]) -> tuple:
    """Sort key of a (worker, thread) lane: numbers in addresses compare as numbers."""
    worker, thread = pair
    parts = re.split(r"(\d+)", worker)
    return tuple(int(p) if p.isdigit() else p for p in parts), thread


class TaskHistory:
    """Time positions and lanes of a Feed's task-stream rows, with a time index."""

    #: The columns this history keeps in the TaskBuffer beside each row.
    DERIVED = {"x0": np.float64, "x1": np.float64, "pair": np.int32}

    def __init__(self, buffer: TaskBuffer):
        self.buffer = buffer
        self.origin: float | None = None  # epoch seconds of x = 0
        self.pairs: dict[tuple[str, int], int] = {}
        self.lane_changes = 0  # counts up when existing lanes move
        #: Called with ``(first, last)`` cursors after each append, on the
        #: appending thread (the only one), while the new rows are held.
        self.listeners: list[Callable[[int, int], None]] = []
        self._pair_lane = np.empty(0, np.float64)  # pair code -> lane
        self._block_lo = np.empty(0, np.float64)  # per block: earliest x0
        self._block_hi = np.empty(0, np.float64)  # per block: latest x1
        self._extents = RecentValues(8)
        self._erred = RecentValues(1)
        #: What readers keep with this history, by their class (its picture).
        self.attached: dict[type, object] = {}
        self.attached_lock = threading.Lock()
        self._lock = threading.RLock()

    # -- writing (the Feed's poller) ----------------------------------------

    def append(self, tasks: pd.DataFrame) -> None:
        """Append a ``tasks`` frame to the buffer with its positions."""
        if tasks.empty:
            return
        with self._lock:
            if self.origin is None:
                self.origin = float(tasks["start"].min())
            x0 = tasks["start"].to_numpy() - self.origin
            x1 = tasks["stop"].to_numpy() - self.origin
            first = self.buffer.total
            self.buffer.append(tasks, {"x0": x0, "x1": x1, "pair": self._pair_codes(tasks)})
            self._index(first, x0, x1)
            last = self.total
        # Outside the lock: listeners take their own locks, then this one.
        for listener in list(self.listeners):
            listener(max(first, self.oldest), last)

    def _index(self, first: int, x0: np.ndarray, x1: np.ndarray) -> None:
        blocks = np.arange(first, first + x0.size) // BLOCK
        needed = int(blocks[-1]) + 1
        if needed > self._block_lo.size:
            more = max(needed, 2 * self._block_lo.size) - self._block_lo.size
            self._block_lo = np.concatenate([self._block_lo, np.full(more, np.inf)])
            self._block_hi = np.concatenate([self._block_hi, np.full(more, -np.inf)])
        starts = np.flatnonzero(np.r_[True, blocks[1:] != blocks[:-1]])
        touched = blocks[starts]
        lo, hi = np.minimum.reduceat(x0, starts), np.maximum.reduceat(x1, starts)
        self._block_lo[touched] = np.minimum(self._block_lo[touched], lo)
        self._block_hi[touched] = np.maximum(self._block_hi[touched], hi)

    def _pair_codes(self, tasks: pd.DataFrame) -> np.ndarray:
        workers = tasks["worker"].cat
        thread_codes, threads = pd.factorize(tasks["thread"].to_numpy())
        combined = workers.codes.to_numpy().astype(np.int64) * len(threads) + thread_codes
        codes, uniques = pd.factorize(combined)
        pairs = [(str(workers.categories[u // len(threads)]), int(threads[u % len(threads)]))
                 for u in uniques]  # fmt: skip
        fresh = [p for p in pairs if p not in self.pairs]
        if fresh:
            for pair in fresh:
                self.pairs[pair] = len(self.pairs)
            before = self._pair_lane
            self._pair_lane = np.empty(len(self.pairs))
            for lane, pair in enumerate(sorted(self.pairs, key=natural)):
                self._pair_lane[self.pairs[pair]] = lane
            if not np.array_equal(before, self._pair_lane[: before.size]):
                self.lane_changes += 1  # existing lanes moved
        lookup = np.array([self.pairs[p] for p in pairs], dtype=np.int32)
        return lookup[codes]

    # -- reading -------------------------------------------------------------

    @property
    def total(self) -> int:
        """Cursor after the newest row (rows ever appended)."""
        return self.buffer.total

    @property
    def oldest(self) -> int:
        """Cursor of the oldest row held."""
        return self.buffer.oldest

    @property
    def n_lanes(self) -> int:
        """Lanes of the plot, one per (worker, thread) pair seen."""
        return len(self.pairs)

    def __len__(self) -> int:
        return len(self.buffer)

    def lanes(self) -> np.ndarray:
        """The lane of each pair code, as of now (a copy)."""
        with self._lock:
            return self._pair_lane.copy()

    def held_since(self) -> float:
        """Time (seconds) from which every row is still held: after the latest
        stop of the rows dropped (-inf when none were)."""
        with self._lock:
            if not self.buffer.dropped:
                return -np.inf
            return float(self._block_hi[: self.oldest // BLOCK + 1].max())

    def extent(self, first: int, last: int) -> tuple[float, float]:
        """Earliest start and latest stop of rows ``first..last`` (0, 1 when none)."""
        with self._lock:
            first = max(first, self.oldest)
            if last <= first:
                return 0.0, 1.0
            return self._extents.get((first, last), lambda: self._extent_of(first, last))

    def _extent_of(self, first: int, last: int) -> tuple[float, float]:
        cols = self.buffer.columns(["x0", "x1"], range(first, last))
        return float(cols["x0"].min()), float(cols["x1"].max())

    def spans(self, first: int, last: int, x_range) -> list[range]:
        """Cursor ranges within ``first..last`` holding every row that overlaps
        ``x_range`` (and perhaps some that do not), from the time index."""
        with self._lock:
            first, last = max(first, self.oldest), min(last, self.total)
            if last <= first:
                return []
            blocks = np.arange(first // BLOCK, (last - 1) // BLOCK + 1)
            hit = blocks[(self._block_hi[blocks] >= x_range[0])
                         & (self._block_lo[blocks] <= x_range[1])]  # fmt: skip
            runs: list[range] = []
            for block in hit:
                lo, hi = max(first, int(block) * BLOCK), min(last, (int(block) + 1) * BLOCK)
                if runs and runs[-1].stop == lo:
                    runs[-1] = range(runs[-1].start, hi)
                else:
                    runs.append(range(lo, hi))
            return runs

    def in_range(self, first: int, last: int, x_range) -> np.ndarray:
        """Cursors of rows ``first..last`` that overlap ``x_range``."""
        with self._lock:
            found = [np.empty(0, np.int64)]
            for run in self.spans(first, last, x_range):
                cols = self.buffer.columns(["x0", "x1"], run)
                hit = (cols["x1"] >= x_range[0]) & (cols["x0"] <= x_range[1])
                found.append(run.start + np.flatnonzero(hit))
            return np.concatenate(found)

    def find(self, x: float, y: float, slack: float = 0.0, half: float = 0.5) -> int | None:
        """Cursor of the row at ``(x, y)`` (seconds, lane), or None.

        A row whose bar is within ``half`` of its lane's middle and within
        ``slack`` seconds of ``x`` counts, so that a click on a bar narrower
        than a pixel finds it; of several, the one drawn on top (the newest)
        whose middle is nearest."""
        with self._lock:
            lane = round(y)
            if not self.pairs or abs(y - lane) > half or not 0 <= lane < self.n_lanes:
                return None
            pair = int(np.flatnonzero(self._pair_lane == lane)[0])
            cursors = self.in_range(self.oldest, self.total, (x - slack, x + slack))
            cols = self.buffer.columns(["x0", "x1", "pair"], cursors)
            found = np.flatnonzero(cols["pair"] == pair)
            if not found.size:
                return None
            x0, x1 = cols["x0"][found], cols["x1"][found]
            inside = found[(x0 <= x) & (x1 >= x)]
            if inside.size:
                return int(cursors[inside[-1]])
            return int(cursors[found[np.argmin(np.abs((x0 + x1) / 2 - x))]])

    def erred(self) -> np.ndarray:
        """Cursors of the erred computes held, oldest first."""
        with self._lock:
            key = (self.oldest, self.total)
            return self._erred.get(key, lambda: self._erred_in(range(*key)))

    def _erred_in(self, rows: range) -> np.ndarray:
        error = self.buffer.category_values("status").index("error")
        compute = self.buffer.category_values("action").index("compute")
        found = [np.empty(0, np.int64)]
        for start in range(rows.start, rows.stop, BLOCK * 16):  # bounded temporary arrays
            run = range(start, min(start + BLOCK * 16, rows.stop))
            cols = self.buffer.columns(["status", "action"], run)
            found.append(start + np.flatnonzero((cols["status"] == error)
                                                & (cols["action"] == compute)))  # fmt: skip
        return np.concatenate(found)

    def find_erred(self, x_range, lanes) -> int | None:
        """Cursor of the newest erred compute held overlapping ``x_range`` on a
        lane in ``lanes`` (low, high), or None."""
        with self._lock:
            cursors = self.in_range(self.oldest, self.total, x_range)
            if not cursors.size:
                return None
            cursors = np.intersect1d(cursors, self.erred(), assume_unique=True)
            pairs = self.buffer.columns(["pair"], cursors)["pair"]
            lane = self._pair_lane[pairs]
            hit = cursors[(lane >= lanes[0]) & (lane <= lanes[1])]
            return int(hit[-1]) if hit.size else None

    def find_key(self, key: str) -> int | None:
        """Cursor of the newest row of task ``key`` held, or None."""
        with self._lock:
            keys = self.buffer.columns(["key"], range(self.oldest, self.total))["key"]
            found = np.flatnonzero(keys == key)
            return self.oldest + int(found[-1]) if found.size else None

    def task(self, cursor: int) -> dict:
        """The task-stream row at ``cursor``: key, prefix, action, worker,
        thread, status, start and stop (epoch seconds) and duration."""
        with self._lock:
            row = self.buffer.take(np.array([cursor])).iloc[0]
        start, stop = float(row["start"]), float(row["stop"])
        return {"key": str(row["key"]), "prefix": str(row["prefix"]), "action": str(row["action"]),
                "worker": str(row["worker"]), "thread": int(row["thread"]),
                "status": str(row["status"]), "start": start, "stop": stop,
                "duration": stop - start, "cursor": int(cursor)}  # fmt: skip

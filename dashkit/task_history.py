"""TaskHistory: the task stream as drawn, computed once per Feed for every page.

Each task-stream row gets, when the Feed receives it: its bar's ends in
seconds since the first task seen (``x0``, ``x1``), its colour class (an
index into :data:`dashkit.theme.CLASS_COLORS`) and its (worker, thread) pair.
These live in the Feed's :class:`~dashkit.task_buffer.TaskBuffer`, beside the
rows, so they are bounded and dropped with them. Pairs are drawn one row
each, ordered by worker then thread; when a new pair sorts between others the
rows move and :attr:`TaskHistory.lane_changes` counts up.

Pages read it through bounded cursor reads: :meth:`TaskHistory.quads` gives
the columns of rows ``first..last`` as the task stream draws them, and
:meth:`TaskHistory.image` the history in a range as an RGBA image. Both are
cached, so pages that read the same rows or view the same range after a
poll share one computation.

The rectangles carry their hover text as numbers: prefix, action and
(worker, thread) pair as codes, the duration in seconds. As text, it was
nine tenths of a page's document (656 of 707 KB with 5,000 rectangles).
:meth:`TaskHistory.names` says what the codes stand for; the page names
them in the browser.

Example
-------
>>> from dashkit.sources import SyntheticSource
>>> from dashkit.task_buffer import TaskBuffer
>>> history = TaskHistory(TaskBuffer(1000, derived=TaskHistory.DERIVED))
>>> history.append(SyntheticSource(seed=1, start_time=0.0).snapshot().tasks)
>>> quads = history.quads(history.oldest, history.total)
>>> sorted(quads)[:4]
['action', 'alpha', 'bottom', 'color']
"""

from __future__ import annotations

import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dashkit import raster, theme
from dashkit.task_buffer import TaskBuffer

_CLASS_COLORS = theme.packed_colors(theme.CLASS_COLORS)
_CLASS_ALPHAS = np.asarray(theme.CLASS_ALPHAS)
_SPECIAL = {"transfer": theme.CLASS_TRANSFER, "disk-read": theme.CLASS_DISK,
            "disk-write": theme.CLASS_DISK, "deserialize": theme.CLASS_DESERIALIZE}  # fmt: skip


def _per_category(column: pd.Series, value_of) -> np.ndarray:
    """``value_of(category)`` for each row of a categorical column, via its codes."""
    lookup = np.array([value_of(c) for c in column.cat.categories] or [0])
    return lookup[column.cat.codes.to_numpy()]


def color_classes(tasks: pd.DataFrame) -> np.ndarray:
    """The colour class of each task-stream row (an index into ``theme.CLASS_COLORS``)."""
    palette_index = {c: i for i, c in enumerate(theme.PREFIX_PALETTE)}
    classes = _per_category(tasks["prefix"], lambda p: palette_index[theme.prefix_color(p)])
    by_action = _per_category(tasks["action"], lambda a: _SPECIAL.get(a, -1))
    # As on Dask's page, only the compute of an erred task is black.
    erred = _per_category(tasks["status"], lambda s: s == "error").astype(bool)
    classes = np.where(erred, theme.CLASS_ERRED, classes)
    return np.where(by_action >= 0, by_action, classes).astype(np.int8)


def natural(pair: tuple[str, int]) -> tuple:
    """Sort key of a (worker, thread) row: numbers in addresses compare as numbers."""
    worker, thread = pair
    parts = re.split(r"(\d+)", worker)
    return tuple(int(p) if p.isdigit() else p for p in parts), thread


class _Cache:
    """A small least-recently-used cache of computed values; ``computed`` counts misses."""

    def __init__(self, size: int):
        self.size = size
        self.computed = 0
        self._items: OrderedDict = OrderedDict()

    def get(self, key: Hashable, compute: Callable[[], object]):
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        self.computed += 1
        value = self._items[key] = compute()
        if len(self._items) > self.size:
            self._items.popitem(last=False)
        return value


@dataclass(frozen=True)
class HoverNames:
    """What the codes of the task stream's rectangles stand for.

    ``prefix`` and ``action`` are named by code, ``worker`` by code, and each
    (worker, thread) pair, by its code, has the code of its worker in
    ``worker_of`` and its thread in ``thread``. Codes keep their meaning for
    the history's lifetime: the lists only grow.

    Example
    -------
    >>> names = HoverNames(prefix=("inc",), action=("compute",), worker=("tcp://a:1",),
    ...                    worker_of=(0,), thread=("7",))
    >>> names.decode({"prefix": [0], "action": [0], "pair": [0], "duration": [0.0123]})
    {'prefix': ['inc'], 'action': ['compute'], 'worker': ['tcp://a:1'], 'thread': ['7'], \
'duration': ['12.30 ms']}
    """

    prefix: tuple[str, ...]
    action: tuple[str, ...]
    worker: tuple[str, ...]
    worker_of: tuple[int, ...]
    thread: tuple[str, ...]

    def lookups(self) -> dict[str, list]:
        """The lists, as the page's hover formatter reads them."""
        return {name: list(getattr(self, name)) for name in self.__dataclass_fields__}

    @classmethod
    def from_lookups(cls, lookups: Mapping[str, list]) -> HoverNames:
        """The names a page holds, from its formatter's lists (see :meth:`lookups`)."""
        return cls(**{name: tuple(values) for name, values in lookups.items()})

    def decode(self, columns: Mapping[str, np.ndarray]) -> dict[str, list[str]]:
        """The hover text of rectangles' ``columns`` (see :meth:`TaskHistory.quads`),
        as the tooltip shows it."""
        pairs = np.asarray(columns["pair"], dtype=np.int64)
        worker_of = np.asarray(self.worker_of, dtype=np.int64)

        def named(values: tuple[str, ...], codes) -> list[str]:
            return np.asarray(values, dtype=object)[np.asarray(codes, dtype=np.int64)].tolist()

        return {
            "prefix": named(self.prefix, columns["prefix"]),
            "action": named(self.action, columns["action"]),
            "worker": named(self.worker, worker_of[pairs]),
            "thread": named(self.thread, pairs),
            "duration": theme.format_time_array(columns["duration"]).tolist(),
        }


class TaskHistory:
    """Drawing positions, colour classes and rows of a Feed's task stream."""

    #: The columns this history keeps in the TaskBuffer beside each row.
    DERIVED = {"x0": np.float64, "x1": np.float64, "pair": np.int32, "cls": np.int8}
    #: The columns of :meth:`quads`.
    QUAD_COLUMNS = ("left", "right", "bottom", "top", "key", "prefix", "action", "duration",
                    "pair", "color", "alpha")  # fmt: skip

    def __init__(self, buffer: TaskBuffer):
        self.buffer = buffer
        self.origin: float | None = None  # epoch seconds of x = 0
        self.pairs: dict[tuple[str, int], int] = {}
        self.lane_changes = 0  # counts up when existing lanes move
        self._pair_row = np.empty(0, np.float64)  # pair index -> row
        self._quads = _Cache(8)
        self._images = _Cache(8)
        self._extents = _Cache(8)
        self._names: tuple[tuple, HoverNames] | None = None
        self._lock = threading.RLock()

    # -- writing (the Feed's poller) ----------------------------------------

    def append(self, tasks: pd.DataFrame) -> None:
        """Append a ``tasks`` frame to the buffer with its drawing columns."""
        if tasks.empty:
            return
        with self._lock:
            if self.origin is None:
                self.origin = float(tasks["start"].min())
            derived = {
                "x0": tasks["start"].to_numpy() - self.origin,
                "x1": tasks["stop"].to_numpy() - self.origin,
                "pair": self._pair_codes(tasks),
                "cls": color_classes(tasks),
            }
            self.buffer.append(tasks, derived)

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
            before = self._pair_row
            self._pair_row = np.empty(len(self.pairs))
            for row, pair in enumerate(sorted(self.pairs, key=natural)):
                self._pair_row[self.pairs[pair]] = row
            if not np.array_equal(before, self._pair_row[: before.size]):
                self.lane_changes += 1  # existing lanes moved
        lookup = np.array([self.pairs[p] for p in pairs], dtype=np.int32)
        return lookup[codes]

    # -- reading (pages) -----------------------------------------------------

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

    @property
    def computations(self) -> Counter:
        """How often rectangles and images were computed (not taken from the cache)."""
        return Counter(quads=self._quads.computed, image=self._images.computed)

    def quads(self, first: int, last: int) -> dict[str, np.ndarray]:
        """Rows ``first..last`` as the task stream's rectangles: positions, colours
        and hover text, corners under Bokeh's names (``left``...). Cached: pages
        reading the same rows share the result."""
        with self._lock:
            first = max(first, self.oldest)
            key = (self.lane_changes, first, last)
            return self._quads.get(key, lambda: self._quads_at(range(first, last)))

    def _quads_at(self, cursors: np.ndarray | range) -> dict[str, np.ndarray]:
        cols = self.buffer.columns(["x0", "x1", "pair", "cls", "key", "prefix", "action"],
                                   cursors)  # fmt: skip
        row = self._pair_row[cols["pair"]]
        bottom, top = row - raster.BAR / 2, row + raster.BAR / 2
        cls = cols["cls"]
        return {
            "left": cols["x0"], "right": cols["x1"], "bottom": bottom, "top": top,
            "key": cols["key"], "prefix": cols["prefix"], "action": cols["action"],
            "duration": cols["x1"] - cols["x0"], "pair": cols["pair"],
            "color": _CLASS_COLORS[cls], "alpha": _CLASS_ALPHAS[cls],
        }  # fmt: skip

    def names(self) -> HoverNames:
        """What the codes of :meth:`quads` stand for, as of now (one object while
        nothing new was named, so a page can tell that it has them)."""
        with self._lock:
            prefixes, actions, workers = (self.buffer.category_values(column)
                                          for column in ("prefix", "action", "worker"))  # fmt: skip
            version = (len(prefixes), len(actions), len(workers), len(self.pairs))
            if self._names is None or self._names[0] != version:
                worker_code = {name: code for code, name in enumerate(workers)}
                self._names = version, HoverNames(
                    prefix=tuple(prefixes), action=tuple(actions), worker=tuple(workers),
                    worker_of=tuple(worker_code[worker] for worker, _ in self.pairs),
                    thread=tuple(str(thread) for _, thread in self.pairs),
                )  # fmt: skip
            return self._names[1]

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

    def in_range(self, first: int, last: int, x_range) -> np.ndarray:
        """Cursors of rows ``first..last`` that overlap ``x_range``."""
        with self._lock:
            first = max(first, self.oldest)
            cols = self.buffer.columns(["x0", "x1"], range(first, last))
            hit = (cols["x1"] >= x_range[0]) & (cols["x0"] <= x_range[1])
            return first + np.flatnonzero(hit)

    def image(self, x_range, y_range, width: int, height: int, last: int | None = None,
              pad: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:  # fmt: skip
        """The rows held up to cursor ``last`` (all by default), in view, as a
        (height, width) uint32 RGBA image, bottom row first, each bar grown by
        ``pad`` (x, y) on every side. Cached: pages viewing the same range
        after a poll share one aggregation."""
        with self._lock:
            last = self.total if last is None else min(max(last, self.oldest), self.total)
            key = (self.total, self.lane_changes, last, tuple(x_range), tuple(y_range), width,
                   height, tuple(pad))  # fmt: skip
            return self._images.get(
                key, lambda: self._image_of(x_range, y_range, width, height, last, pad)
            )

    def _image_of(self, x_range, y_range, width: int, height: int, last: int,
                  pad: tuple[float, float]) -> np.ndarray:  # fmt: skip
        cols = self.buffer.columns(["x0", "x1", "pair", "cls"], range(self.oldest, last))
        row = self._pair_row[cols["pair"]]
        return raster.rasterize(cols["x0"], cols["x1"], row, cols["cls"], x_range, y_range,
                                width, height, pad)  # fmt: skip

    def find(self, x: float, y: float, slack: float = 0.0) -> int | None:
        """Cursor of the row drawn at ``(x, y)`` (seconds, plot row), or None.

        A bar within ``slack`` seconds of ``x`` counts, so that a click on a
        bar narrower than a pixel finds it; of several, the one drawn on top
        (the newest) whose middle is nearest."""
        with self._lock:
            row = round(y)
            if not self.pairs or abs(y - row) > raster.BAR / 2 or not 0 <= row < self.n_lanes:
                return None
            pair = int(np.flatnonzero(self._pair_row == row)[0])
            cols = self.buffer.columns(["x0", "x1", "pair"], range(self.oldest, self.total))
            hit = (cols["pair"] == pair) & (cols["x0"] - slack <= x) & (cols["x1"] + slack >= x)
            found = np.flatnonzero(hit)
            if not found.size:
                return None
            inside = found[(cols["x0"][found] <= x) & (cols["x1"][found] >= x)]
            if inside.size:
                return self.oldest + int(inside[-1])
            middles = (cols["x0"][found] + cols["x1"][found]) / 2
            return self.oldest + int(found[np.argmin(np.abs(middles - x))])

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

    def quads_at(self, cursors: np.ndarray) -> dict[str, np.ndarray]:
        """The rectangles of the rows at ``cursors`` (for the hover over old history)."""
        with self._lock:
            return self._quads_at(np.asarray(cursors, dtype=np.int64))

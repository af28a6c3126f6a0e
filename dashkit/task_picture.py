"""TaskPicture: how a Feed's task stream is drawn, computed once for every page.

One per :class:`~dashkit.task_history.TaskHistory` (:meth:`TaskPicture.of`),
beside the Feed that holds the history. It gives:

* :meth:`TaskPicture.quads`: rows as the task stream's rectangles, with
  colours (by class: the prefix's palette colour, or transfer, disk,
  deserialize, erred) and their hover text as numbers: prefix, action and
  (worker, thread) pair as codes, the duration in seconds. As text, it was
  nine tenths of a page's document (656 of 707 KB with 5,000 rectangles);
  :meth:`TaskPicture.names` says what the codes stand for, and the page
  names them in the browser.
* :meth:`TaskPicture.image`: the history in a range as an RGBA image, by the
  rules of :mod:`dashkit.raster`, from the rows when the range holds at most
  ``raw_rows`` of them, else from the whole run's
  :class:`~dashkit.task_summary.TaskSummary`, which it keeps from the moment
  the history holds ``summary_rows`` rows (or half what its buffer can hold).

Both are cached, so pages that read the same rows or view the same range
after a poll share one computation.

Example
-------
>>> from dashkit.sources import SyntheticSource
>>> from dashkit.task_buffer import TaskBuffer
>>> from dashkit.task_history import TaskHistory
>>> history = TaskHistory(TaskBuffer(1000, derived=TaskHistory.DERIVED))
>>> picture = TaskPicture.of(history)
>>> history.append(SyntheticSource(seed=1, start_time=0.0).snapshot().tasks)
>>> quads = picture.quads(history.oldest, history.total)
>>> sorted(quads)[:4]
['action', 'alpha', 'bottom', 'color']
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from dashkit import raster, theme
from dashkit.frame_cache import RecentValues
from dashkit.task_history import TaskHistory
from dashkit.task_summary import TaskSummary

_CLASS_COLORS = theme.packed_colors(theme.CLASS_COLORS)
_CLASS_ALPHAS = np.asarray(theme.CLASS_ALPHAS)
_SPECIAL = {"transfer": theme.CLASS_TRANSFER, "disk-read": theme.CLASS_DISK,
            "disk-write": theme.CLASS_DISK, "deserialize": theme.CLASS_DESERIALIZE}  # fmt: skip
_ROW_COLUMNS = ["x0", "x1", "pair", "prefix", "action", "status"]


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
        """The hover text of rectangles' ``columns`` (see :meth:`TaskPicture.quads`),
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


class TaskPicture:
    """Rectangles, hover names and images of one task history.

    Parameters
    ----------
    history:
        The rows drawn.
    raw_rows:
        An image of a range holding at most this many rows is drawn from the rows.
    summary_rows:
        Rows held from which the whole run is also kept as a
        :class:`~dashkit.task_summary.TaskSummary` (at most half the buffer).
    summary:
        The pyramid to keep (its bins and memory share).
    """

    #: The columns of :meth:`quads`.
    QUAD_COLUMNS = ("left", "right", "bottom", "top", "key", "prefix", "action", "duration",
                    "pair", "color", "alpha")  # fmt: skip

    def __init__(self, history: TaskHistory, raw_rows: int = 1_000_000,
                 summary_rows: int = 2_000_000, summary: TaskSummary | None = None):  # fmt: skip
        self.history = history
        self.raw_rows = raw_rows
        self.summary_rows = max(min(summary_rows, history.buffer.capacity // 2), 1)
        self._summary_template = summary or TaskSummary()
        self.summary: TaskSummary | None = None
        self._quads = RecentValues(8)
        self._images = RecentValues(8)
        self._names: tuple[tuple, HoverNames] | None = None
        self._prefix_classes = np.empty(0, np.int8)
        self._lock = threading.RLock()
        history.listeners.append(self._appended)
        if history.total:
            self._appended(history.oldest, history.total)

    @classmethod
    def of(cls, history: TaskHistory, **params) -> TaskPicture:
        """The picture of ``history``, made on first use (``params`` apply then)."""
        with history.attached_lock:
            picture = history.attached.get(cls)
            if picture is None:
                picture = history.attached[cls] = cls(history, **params)
            return picture

    # -- classes and the summary (on the Feed's poller) ------------------------

    def classes(self, cols: Mapping[str, np.ndarray]) -> np.ndarray:
        """The colour class of each row (an index into ``theme.CLASS_COLORS``)
        from its prefix, action and status codes."""
        buffer = self.history.buffer
        prefixes = buffer.category_values("prefix")
        if len(prefixes) != self._prefix_classes.size:
            palette = {c: i for i, c in enumerate(theme.PREFIX_PALETTE)}
            self._prefix_classes = np.array([palette[theme.prefix_color(p)] for p in prefixes],
                                            dtype=np.int8)  # fmt: skip
        by_action = np.array([_SPECIAL.get(a, -1) for a in buffer.category_values("action")])
        erred = np.array([s == "error" for s in buffer.category_values("status")])
        classes = self._prefix_classes[cols["prefix"]] if cols["prefix"].size else cols["prefix"]
        # As on Dask's page, only the compute of an erred task is black.
        classes = np.where(erred[cols["status"]], theme.CLASS_ERRED, classes)
        special = by_action[cols["action"]]
        return np.where(special >= 0, special, classes).astype(np.int8)

    def _appended(self, first: int, last: int) -> None:
        with self._lock:
            if self.summary is None:
                if self.history.total < self.summary_rows:
                    return
                self.summary = self._summary_template
                first = self.history.oldest
            buffer = self.history.buffer
            for start in range(first, last, 1 << 20):  # bounded temporary arrays
                rows = range(start, min(start + (1 << 20), last))
                cols = buffer.columns(_ROW_COLUMNS, rows)
                self.summary.add(cols["x0"], cols["x1"], cols["pair"], self.classes(cols),
                                 row_bytes=buffer.nbytes_of(rows) / len(rows))  # fmt: skip

    # -- reading (pages) -------------------------------------------------------

    @property
    def computations(self) -> Counter:
        """How often rectangles and images were computed (not taken from the cache)."""
        return Counter(quads=self._quads.computed, image=self._images.computed)

    def quads(self, first: int, last: int) -> dict[str, np.ndarray]:
        """Rows ``first..last`` as the task stream's rectangles: positions, colours
        and hover text, corners under Bokeh's names (``left``...). Cached: pages
        reading the same rows share the result."""
        with self._lock:
            first = max(first, self.history.oldest)
            key = (self.history.lane_changes, first, last)
            return self._quads.get(key, lambda: self._quads_at(range(first, last)))

    def quads_at(self, cursors: np.ndarray) -> dict[str, np.ndarray]:
        """The rectangles of the rows at ``cursors`` (for the hover over old history)."""
        with self._lock:
            return self._quads_at(np.asarray(cursors, dtype=np.int64))

    def _quads_at(self, cursors: np.ndarray | range) -> dict[str, np.ndarray]:
        cols = self.history.buffer.columns([*_ROW_COLUMNS, "key"], cursors)
        lane = self.history.lanes()[cols["pair"]]
        cls = self.classes(cols)
        return {
            "left": cols["x0"], "right": cols["x1"],
            "bottom": lane - raster.BAR / 2, "top": lane + raster.BAR / 2,
            "key": cols["key"], "prefix": cols["prefix"], "action": cols["action"],
            "duration": cols["x1"] - cols["x0"], "pair": cols["pair"],
            "color": _CLASS_COLORS[cls], "alpha": _CLASS_ALPHAS[cls],
        }  # fmt: skip

    def names(self) -> HoverNames:
        """What the codes of :meth:`quads` stand for, as of now (one object while
        nothing new was named, so a page can tell that it has them)."""
        with self._lock:
            buffer, pairs = self.history.buffer, self.history.pairs
            prefixes, actions, workers = (buffer.category_values(column)
                                          for column in ("prefix", "action", "worker"))  # fmt: skip
            version = (len(prefixes), len(actions), len(workers), len(pairs))
            if self._names is None or self._names[0] != version:
                worker_code = {name: code for code, name in enumerate(workers)}
                self._names = version, HoverNames(
                    prefix=tuple(prefixes), action=tuple(actions), worker=tuple(workers),
                    worker_of=tuple(worker_code[worker] for worker, _ in pairs),
                    thread=tuple(str(thread) for _, thread in pairs),
                )  # fmt: skip
            return self._names[1]

    def image(self, x_range, y_range, width: int, height: int, last: int | None = None,
              pad: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:  # fmt: skip
        """The rows up to cursor ``last`` (all by default), in view, as a (height,
        width) uint32 RGBA image, bottom row first, each bar grown by ``pad``
        (x, y) on every side. Ranges holding more than ``raw_rows`` rows, or rows
        no longer held, are drawn from the summary of the whole run (which holds
        the newest rows too: they are drawn on top of it as rectangles).
        Cached: pages viewing the same range after a poll share one image."""
        history = self.history
        with self._lock:
            last = history.total if last is None else min(max(last, history.oldest), history.total)
            key = (history.total, history.lane_changes, last, tuple(x_range), tuple(y_range),
                   width, height, tuple(pad))  # fmt: skip
            return self._images.get(
                key, lambda: self._image_of(x_range, y_range, width, height, last, pad)
            )

    def _image_of(self, x_range, y_range, width: int, height: int, last: int,
                  pad: tuple[float, float]) -> np.ndarray:  # fmt: skip
        history = self.history
        bands = raster.Bands(history.n_lanes, y_range, height, pad[1])
        band_of_pair = bands.band_of_lane[history.lanes().astype(np.int64)]
        t0, dt = float(x_range[0]), (float(x_range[1]) - float(x_range[0])) / width
        cells = raster.empty_cells(bands, width)
        runs = history.spans(history.oldest, last, (x_range[0] - pad[0], x_range[1] + pad[0]))
        level = self._level(runs, x_range, width)
        if level is not None:
            raster.add_bins(cells, level.data, level.head, level.width, band_of_pair, t0, dt)
        else:
            for run in runs:
                cols = history.buffer.columns(_ROW_COLUMNS, run)
                raster.add_rows(cells, cols["x0"] - pad[0], cols["x1"] + pad[0], cols["pair"],
                                self.classes(cols), band_of_pair, t0, dt)  # fmt: skip
        return raster.paint(cells, bands, dt, height)

    def _level(self, runs: list[range], x_range, width: int):
        """The summary level to draw ``x_range`` ``width`` pixels wide from, or
        None: draw it from the rows in ``runs`` (at most ``raw_rows`` of them,
        none dropped, or no summary kept)."""
        few = sum(map(len, runs)) <= self.raw_rows and x_range[0] >= self.history.held_since()
        if self.summary is None or few:
            return None
        return self.summary.level_for(x_range, width)

    def cells(self, x_range, y_range, width: int, height: int, last: int | None = None,
              cell_pixels: int = 16) -> dict[str, np.ndarray]:  # fmt: skip
        """What the image of the same arguments holds, per cell ``cell_pixels``
        wide by one band of lanes, for the hover: corners (``left``...), the
        busy share (``busy``), time by kind (``time``), the prefixes that took
        most time (``prefixes``) and the erred computes (``erred``), as text.
        Cells where nothing ran are left out."""
        history = self.history
        with self._lock:
            last = history.total if last is None else min(max(last, history.oldest), history.total)
            bands = raster.Bands(history.n_lanes, y_range, height)
            band_of_pair = bands.band_of_lane[history.lanes().astype(np.int64)]
            n_cols = max(int(np.ceil(width / cell_pixels)), 1)
            t0, dt = float(x_range[0]), (float(x_range[1]) - float(x_range[0])) / n_cols
            by_class = raster.empty_cells(bands, n_cols)
            runs = history.spans(history.oldest, last, x_range)
            prefixes = history.buffer.category_values("prefix")
            by_prefix = erred = None
            level = self._level(runs, x_range, n_cols)
            if level is None:
                by_prefix = np.zeros((len(bands), n_cols, max(len(prefixes), 1)), np.float32)
                erred = np.zeros((len(bands), n_cols), np.int64)
                for run in runs:
                    cols = history.buffer.columns(_ROW_COLUMNS, run)
                    cls = self.classes(cols)
                    args = (band_of_pair, t0, dt)
                    raster.add_rows(by_class, cols["x0"], cols["x1"], cols["pair"], cls, *args)
                    raster.add_rows(by_prefix, cols["x0"], cols["x1"], cols["pair"],
                                    cols["prefix"], *args)  # fmt: skip
                    # a count: each erred compute in the cell of its start
                    failed = cls == theme.CLASS_ERRED
                    at = np.floor((cols["x0"][failed] - t0) / dt).astype(np.int64)
                    band = band_of_pair[cols["pair"][failed]]
                    inside = (band >= 0) & (at >= 0) & (at < n_cols)
                    np.add.at(erred, (band[inside], at[inside]), 1)
            else:
                raster.add_bins(by_class, level.data, level.head, level.width, band_of_pair,
                                t0, dt)  # fmt: skip
            return self._cell_columns(bands, by_class, by_prefix, erred, prefixes,
                                      (t0, dt), y_range, height)  # fmt: skip

    def _cell_columns(self, bands, by_class, by_prefix, erred, prefixes, time, y_range,
                      height) -> dict[str, np.ndarray]:  # fmt: skip
        t0, dt = time
        total = by_class.sum(axis=2)
        band, col = np.nonzero(total > 0)
        scale = (float(y_range[1]) - float(y_range[0])) / height
        kinds = [("compute", slice(0, len(theme.PREFIX_PALETTE))),
                 ("transfer", theme.CLASS_TRANSFER), ("disk", theme.CLASS_DISK),
                 ("deserialize", theme.CLASS_DESERIALIZE),
                 ("erred", theme.CLASS_ERRED)]  # fmt: skip
        palette = {c: i for i, c in enumerate(theme.PREFIX_PALETTE)}
        colour_of = [palette[theme.prefix_color(p)] for p in prefixes]
        busy, times, named, failed = [], [], [], []
        for b, c in zip(band.tolist(), col.tolist(), strict=True):
            seconds = by_class[b, c]
            busy.append(f"{min(total[b, c] / (bands.lanes[b] * dt), 1):.0%} "
                        f"of {bands.lanes[b]:.0f} lane{'s' if bands.lanes[b] > 1 else ''}")
            kind_seconds = [(name, float(seconds[which].sum())) for name, which in kinds]
            times.append(", ".join(f"{name} {theme.format_time(s)}"
                                   for name, s in kind_seconds if s > 0))  # fmt: skip
            if by_prefix is not None:
                spent = by_prefix[b, c]
                top = np.argsort(spent)[::-1][:3]
                named.append(", ".join(f"{prefixes[p]} {theme.format_time(float(spent[p]))}"
                                       for p in top if spent[p] > 0))  # fmt: skip
                failed.append(f"{erred[b, c]:,}")
            else:  # from the summary: by colour, and the prefixes that have it
                top = np.argsort(seconds[: len(theme.PREFIX_PALETTE)])[::-1][:3]
                named.append("; ".join(
                    "/".join(p for p, k in zip(prefixes, colour_of, strict=True) if k == t)
                    + f" {theme.format_time(float(seconds[t]))}" for t in top if seconds[t] > 0
                ))  # fmt: skip
                failed.append("yes" if seconds[theme.CLASS_ERRED] > 0 else "0")
        bottom = float(y_range[0]) + bands.row0[band] * scale
        top_ = float(y_range[0]) + bands.row1[band] * scale
        return {"left": t0 + col * dt, "right": t0 + (col + 1) * dt, "bottom": bottom,
                "top": top_, "busy": np.array(busy, dtype=object),
                "time": np.array(times, dtype=object), "prefixes": np.array(named, dtype=object),
                "erred": np.array(failed, dtype=object)}  # fmt: skip

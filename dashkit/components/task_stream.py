"""TaskStream: every start/stop interval of the run, one row per worker thread.

Three layers, one plot:

* **recent** — the newest ``dense_threshold`` rectangles as Bokeh quads,
  streamed incrementally through a ``hv.streams.Buffer`` (the browser gets
  only new rows), with a hover telling key, prefix, action, duration, worker;
* **history** — once the run has more rows than that, the whole history in
  view aggregated with datashader by colour class and coloured on the server
  (dominant class per pixel through a lookup table) into one RGB image,
  re-aggregated on zoom and pan and, while streaming, at most every
  ``raster_period`` seconds;
* **hover** — when zoomed in on old history, the raw rectangles in view
  (invisible, for the hover) if there are at most ``hover_limit`` of them.

Colours: computes in their prefix's colour (the palette Progress uses),
transfers red, disk reads and writes orange (both translucent), erred tasks
black. Rows are ordered by worker, then thread; a row stays while its tasks
are in the history held. Time is in seconds since the first task seen.

Following: by default the view follows the newest rows (the quads layer);
zoom out to see the whole history. Zooming or panning stops following; the
reset tool follows again. Exports show the whole history.
"""

from __future__ import annotations

import re
import threading
import time

import datashader as ds
import holoviews as hv
import numpy as np
import pandas as pd
import param
from bokeh.colors import RGB as BokehRGB  # noqa: N811
from bokeh.colors import named

from dashkit import theme
from dashkit.components.base import Component, color_from_columns

#: Colour classes: the prefix palette, then the reserved colours.
CLASS_COLORS: tuple[str, ...] = (
    *theme.PREFIX_PALETTE,
    theme.ACTION_STYLE["transfer"][0],
    theme.ACTION_STYLE["disk-read"][0],
    theme.ERRED_COLOR,
)
_TRANSFER, _DISK, _ERRED = range(len(theme.PREFIX_PALETTE), len(CLASS_COLORS))
_ALPHA = np.array([1.0] * len(theme.PREFIX_PALETTE) + [0.4, 0.4, 1.0])
_HOVER = [("Key", "key"), ("Prefix", "prefix"), ("Action", "action"),
          ("Duration", "duration"), ("Worker", "worker"), ("Thread", "thread")]  # fmt: skip
_COLUMNS = ["start", "y0", "stop", "y1", "key", "prefix", "action", "duration", "worker",
            "thread", "color", "alpha"]  # fmt: skip
BAR = 0.8  # bar height in row units
_RECENT_OPTIONS = {
    "hooks": [color_from_columns], "line_width": 0, "xlabel": "seconds", "ylabel": "",
    "yaxis": None, "tools": ["hover", "xwheel_zoom", "xpan", "reset"],
    "active_tools": ["xwheel_zoom"], "hover_tooltips": theme.tooltip(_HOVER),
}  # fmt: skip


def _rgb(color: str) -> tuple[int, int, int]:
    parsed = getattr(named, color, None) or BokehRGB.from_hex_string(color)
    return parsed.r, parsed.g, parsed.b


_LUT = np.array([(*_rgb(c), round(255 * a)) for c, a in zip(CLASS_COLORS, _ALPHA, strict=True)],
                dtype=np.uint8)  # fmt: skip


def _per_category(column: pd.Series, value_of) -> np.ndarray:
    """``value_of(category)`` for each row of a categorical column, via its codes."""
    lookup = np.array([value_of(c) for c in column.cat.categories] or [0])
    return lookup[column.cat.codes.to_numpy()]


def color_classes(tasks: pd.DataFrame) -> np.ndarray:
    """The colour class of each task-stream row (an index into :data:`CLASS_COLORS`)."""
    palette_index = {c: i for i, c in enumerate(theme.PREFIX_PALETTE)}
    classes = _per_category(tasks["prefix"], lambda p: palette_index[theme.prefix_color(p)])
    special = {"transfer": _TRANSFER, "disk-read": _DISK, "disk-write": _DISK}
    by_action = _per_category(tasks["action"], lambda a: special.get(a, -1))
    classes = np.where(by_action >= 0, by_action, classes)
    erred = _per_category(tasks["status"], lambda s: s == "error").astype(bool)
    return np.where(erred, _ERRED, classes).astype(np.int8)


def shade(counts: np.ndarray) -> np.ndarray:
    """RGBA image (uint32, Bokeh's layout) of the dominant class per pixel."""
    dominant = counts.argmax(axis=2)
    rgba = _LUT[dominant]
    rgba[counts.sum(axis=2) == 0] = 0
    return rgba.view(np.uint32).reshape(dominant.shape)


class _History:
    """The component's columnar copy of the held task stream, for the raster."""

    def __init__(self):
        self.cursor = 0  # absolute index (in the feed) of the first row here
        self.x0 = np.empty(0)
        self.x1 = np.empty(0)
        self.pair = np.empty(0, np.int32)  # index into TaskStream._pairs
        self.cls = np.empty(0, np.int8)

    def __len__(self) -> int:
        return self.x0.size

    def append(self, x0, x1, pair, cls, first: int, keep: int) -> None:
        """Append rows that start at feed index ``first``; keep the newest ``keep``."""
        if first != self.cursor + len(self):  # the feed dropped rows we had not read
            self.cursor = first
            self.x0, self.x1, self.pair, self.cls = (a[:0] for a in self._arrays)
        self.x0 = np.concatenate([self.x0, x0])[-keep:]
        self.x1 = np.concatenate([self.x1, x1])[-keep:]
        self.pair = np.concatenate([self.pair, pair])[-keep:]
        self.cls = np.concatenate([self.cls, cls])[-keep:]
        self.cursor = first + x0.size - len(self)

    @property
    def _arrays(self):
        return self.x0, self.x1, self.pair, self.cls


class TaskStream(Component):
    """The task stream of the whole run: quads when sparse, datashader when dense.

    Example
    -------
    >>> from dashkit import Feed, SyntheticSource
    >>> stream = TaskStream(feed=Feed.shared(SyntheticSource(seed=1)))   # doctest: +SKIP
    >>> stream.element.opts(height=500)                                    # doctest: +SKIP
    """

    component_type = "task_stream"

    height = param.Integer(default=400, bounds=(100, None), doc="Plot height in pixels.")
    dense_threshold = param.Integer(
        default=20_000,
        bounds=(1, None),
        doc="Newest rectangles drawn as Bokeh quads; older history is rasterized.",
    )
    hover_limit = param.Integer(
        default=3_000,
        bounds=(0, None),
        doc="Zoomed into rasterized history: raw rectangles in view for the hover, "
        "at most this many.",
    )
    raster_period = param.Number(
        default=1.0,
        bounds=(0, None),
        doc="While streaming, seconds between re-aggregations of the history image.",
    )

    def __init__(self, **params):
        super().__init__(**params)
        if not _warmed:
            threading.Thread(target=warm_up, name="dashkit-warm-up", daemon=True).start()
        self._forget_history()
        self._reordered = False
        self._last_raster = 0.0
        recent, _ = self._read()
        self._buffer = hv.streams.Buffer(recent, length=self.dense_threshold, index=False)
        self._range = hv.streams.RangeXY()
        self._size = hv.streams.PlotSize()
        self._tick = hv.streams.Counter()
        # The callback must hand the buffer's own frame to the element (no
        # copy, no .opts) or HoloViews re-sends every column each tick.
        recent = hv.DynamicMap(self._draw_recent, streams=[self._buffer]).opts(
            **_RECENT_OPTIONS
        )
        history = hv.DynamicMap(
            self._draw_history, streams=[self._range, self._size, self._tick]
        )
        # Only the streamed quads set the axes, so HoloViews' follow mode (on
        # until the user zooms, back on reset) tracks the newest rows; the
        # image and the hover layer are drawn for whatever range is in view.
        history = history.opts(default_tools=[], apply_ranges=False)
        hover = hv.DynamicMap(self._draw_hover, streams=[self._range, self._tick]).opts(
            fill_alpha=0, line_alpha=0, hover_fill_alpha=0.3, hover_line_alpha=1,
            tools=["hover"], hover_tooltips=theme.tooltip(_HOVER), default_tools=[],
            apply_ranges=False,
        )
        self._range.source = recent
        self._size.source = recent
        self._dmap = (history * recent * hover).opts(
            hv.opts.Overlay(title=self.title or "Task stream", **self._style())
        )

    @property
    def element(self) -> hv.Overlay:
        return self._dmap

    @property
    def following(self) -> bool:
        """Whether the view follows the run (False after the user zooms or pans)."""
        return bool(self._buffer.following)

    @property
    def n_rows(self) -> int:
        """Task-stream rows this plot holds (the whole history the feed keeps)."""
        return len(self._history)

    @property
    def dense(self) -> bool:
        """Whether part of the history is drawn as an image."""
        return len(self._history) > self.dense_threshold

    def export_element(self, width: int = 2400) -> hv.Overlay:
        """The whole history: the newest rows as rectangles and, when dense, the
        rest as an image ``width`` pixels wide."""
        # Browsers refuse textures past a few thousand pixels a side.
        height = min(max(len(self._pairs), 1) * 8, 2048)
        history = self._draw_history(None, None, width=width, height=height)
        recent = self._draw_recent(self._buffer.data).opts(**_RECENT_OPTIONS)
        return (history * recent).opts(
            hv.opts.Overlay(title=self.title or "Task stream", **self._style())
        )

    def _style(self) -> dict:
        style = super()._style()
        style.update(framewise=False, default_tools=[], toolbar="above")
        return style

    # -- reading -------------------------------------------------------------

    def _read(self) -> tuple[pd.DataFrame, bool]:
        rows = self._reader.read()
        if rows.reset:  # the history started over: redraw from scratch
            self._forget_history()
        new = rows.frame
        if new.empty:
            return _empty_recent(), rows.reset
        if self._origin is None:
            self._origin = float(new["start"].min())
        self._reordered = rows.reset
        pair = self._pair_codes(new)
        classes = color_classes(new)
        x0 = new["start"].to_numpy() - self._origin
        x1 = new["stop"].to_numpy() - self._origin
        self._history.append(x0, x1, pair, classes, rows.cursor - len(new),
                             keep=self.feed.max_task_rows)  # fmt: skip
        return self._recent_frame(new, x0, x1, pair, classes), self._reordered

    def _forget_history(self) -> None:
        """Hold no rows: no time origin, no (worker, thread) rows, no history."""
        self._origin: float | None = None
        self._pairs: dict[tuple[str, int], int] = {}
        self._pair_row = np.empty(0, np.float64)  # pair index -> row
        self._history = _History()

    def _pair_codes(self, new: pd.DataFrame) -> np.ndarray:
        """Each row's index into ``self._pairs``, registering new (worker, thread) pairs."""
        workers = new["worker"].cat
        thread_codes, threads = pd.factorize(new["thread"].to_numpy())
        combined = workers.codes.to_numpy().astype(np.int64) * len(threads) + thread_codes
        codes, uniques = pd.factorize(combined)
        pairs = [(workers.categories[u // len(threads)], int(threads[u % len(threads)]))
                 for u in uniques]  # fmt: skip
        self._reordered = self._add_pairs(pairs) or self._reordered
        lookup = np.array([self._pairs[p] for p in pairs], dtype=np.int32)
        return lookup[codes]

    def _add_pairs(self, pairs: list[tuple[str, int]]) -> bool:
        """Register new (worker, thread) rows; True if existing rows moved."""
        fresh = [p for p in pairs if p not in self._pairs]
        if not fresh:
            return False
        for pair in fresh:
            self._pairs[pair] = len(self._pairs)
        before = self._pair_row.copy()
        self._pair_row = np.empty(len(self._pairs))
        for row, pair in enumerate(sorted(self._pairs, key=_natural)):
            self._pair_row[self._pairs[pair]] = row
        return not np.array_equal(before, self._pair_row[: before.size])

    def _recent_frame(self, new, x0, x1, pair, classes) -> pd.DataFrame:
        """The rows for the quads layer: the newest ``dense_threshold`` of ``new``."""
        tail = slice(-self.dense_threshold, None)
        new = new.iloc[tail]
        x0, x1, pair, classes = x0[tail], x1[tail], pair[tail], classes[tail]
        row = self._pair_row[pair]
        return pd.DataFrame({
            "start": x0, "y0": row - BAR / 2, "stop": x1, "y1": row + BAR / 2,
            "key": new["key"].to_numpy(), "prefix": new["prefix"].astype(object).to_numpy(),
            "action": new["action"].astype(object).to_numpy(),
            "duration": [theme.format_time(s) for s in x1 - x0],
            "worker": new["worker"].astype(object).to_numpy(),
            "thread": new["thread"].to_numpy(),
            "color": np.asarray(CLASS_COLORS, dtype=object)[classes],
            "alpha": _ALPHA[classes],
        }, columns=_COLUMNS)  # fmt: skip

    def _update(self) -> None:
        recent, redraw = self._read()
        if redraw:
            self._resend_recent()
        elif len(recent):
            self._buffer.send(recent)
        now = time.monotonic()
        stale = self.dense and len(recent) and now - self._last_raster >= self.raster_period
        if stale or redraw:
            self._last_raster = now
            self._tick.event()

    def _resend_recent(self) -> None:
        """Rows moved (a worker joined between others) or the history started
        over: send the recent window again."""
        first = self._history.cursor + max(0, len(self._history) - self.dense_threshold)
        rows = self.feed.since(first).frame.tail(self.dense_threshold)
        h = self._history
        n = len(rows)
        frame = self._recent_frame(rows, h.x0[-n:], h.x1[-n:], h.pair[-n:], h.cls[-n:])
        self._buffer.clear()
        self._buffer.send(frame)

    # -- drawing -------------------------------------------------------------

    def _draw_recent(self, data: pd.DataFrame):
        return hv.Rectangles(data, ["start", "y0", "stop", "y1"], _COLUMNS[4:])

    def _view_ranges(self, x_range, y_range):
        h = self._history
        if len(h) == 0:
            return (0.0, 1.0), (-0.5, 0.5)
        # An empty plot reports NaN ranges; datashader crashes on those.
        if not _finite(x_range):
            x_range = (0.0, float(h.x1.max()))
        if not _finite(y_range):
            y_range = (-0.5, max(len(self._pairs), 1) - 0.5)
        return x_range, y_range

    def _draw_history(self, x_range=None, y_range=None, width=None, height=None, **_ticks):
        (x_lo, x_hi), (y_lo, y_hi) = self._view_ranges(x_range, y_range)
        width = int(width or 1200)
        height = int(min(height or self.height, max(len(self._pairs), 1) * 8))
        width = max(width, 1)
        if not self.dense or x_hi <= x_lo or y_hi <= y_lo:
            return hv.RGB(np.zeros((1, 1, 4), np.uint8), bounds=(x_lo, y_lo, x_hi, y_hi))
        image = self.rasterize((x_lo, x_hi), (y_lo, y_hi), width, height)
        rgba = image.view(np.uint8).reshape(*image.shape, 4)[::-1]
        return hv.RGB(rgba, bounds=(x_lo, y_lo, x_hi, y_hi), vdims=list("RGBA"))

    def rasterize(self, x_range, y_range, width: int, height: int) -> np.ndarray:
        """The history in view as a (height, width) uint32 RGBA image, bottom row first."""
        # Waits for a warm-up still compiling in the background: numba compiling
        # the same function on two threads at once crashed the process.
        warm_up()
        h = self._history
        row = self._pair_row[h.pair]
        frame = pd.DataFrame({
            "x0": h.x0, "x1": h.x1, "y0": row - BAR / 2, "y1": row + BAR / 2,
            "cls": pd.Categorical.from_codes(h.cls, categories=range(len(CLASS_COLORS))),
        })  # fmt: skip
        canvas = ds.Canvas(plot_width=width, plot_height=height, x_range=x_range, y_range=y_range)
        agg = canvas.area(frame, x=["x0", "x1"], y=["y0", "y0"], y_stack=["y1", "y1"], axis=1,
                          agg=ds.by("cls", ds.count()))  # fmt: skip
        return shade(agg.data)

    def _draw_hover(self, x_range=None, y_range=None, **_ticks):
        h = self._history
        older = len(h) - self.dense_threshold
        empty = hv.Rectangles(_empty_recent(), ["start", "y0", "stop", "y1"], _COLUMNS[4:])
        if older <= 0 or self.following or not _finite(x_range):
            return empty
        in_view = np.flatnonzero((h.x1[:older] >= x_range[0]) & (h.x0[:older] <= x_range[1]))
        if in_view.size == 0 or in_view.size > self.hover_limit:
            return empty
        rows = self.feed.tasks.take(h.cursor + in_view)
        frame = self._recent_frame(rows, h.x0[in_view], h.x1[in_view], h.pair[in_view],
                                   h.cls[in_view])  # fmt: skip
        return hv.Rectangles(frame, ["start", "y0", "stop", "y1"], _COLUMNS[4:])


def _finite(bounds) -> bool:
    return bounds is not None and bool(np.isfinite(bounds).all()) and bounds[1] > bounds[0]


def _natural(pair: tuple[str, int]) -> tuple:
    """Sort key of a (worker, thread) row: numbers in addresses compare as numbers."""
    worker, thread = pair
    parts = re.split(r"(\d+)", worker)
    return tuple(int(p) if p.isdigit() else p for p in parts), thread


_warm = threading.Lock()
_warmed = False


def warm_up() -> None:
    """Compile datashader's area aggregation now (about 2 s of numba JIT) rather
    than in the first dense frame. Idempotent; safe to call from any thread."""
    global _warmed
    with _warm:
        if _warmed:
            return
        frame = pd.DataFrame({"x0": [0.0, 1.0], "x1": [0.5, 2.0], "y0": [0.0, 1.0],
                              "y1": [0.8, 1.8], "cls": pd.Categorical.from_codes(
                                  [0, 1], categories=range(len(CLASS_COLORS)))})  # fmt: skip
        canvas = ds.Canvas(plot_width=4, plot_height=4, x_range=(0, 2), y_range=(0, 2))
        shade(canvas.area(frame, x=["x0", "x1"], y=["y0", "y0"], y_stack=["y1", "y1"], axis=1,
                          agg=ds.by("cls", ds.count())).data)  # fmt: skip
        _warmed = True


def _empty_recent() -> pd.DataFrame:
    return pd.DataFrame({
        "start": np.empty(0), "y0": np.empty(0), "stop": np.empty(0), "y1": np.empty(0),
        "key": np.empty(0, object), "prefix": np.empty(0, object), "action": np.empty(0, object),
        "duration": np.empty(0, object), "worker": np.empty(0, object),
        "thread": np.empty(0, np.int64), "color": np.empty(0, object), "alpha": np.empty(0),
    }, columns=_COLUMNS)  # fmt: skip

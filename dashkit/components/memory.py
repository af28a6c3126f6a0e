"""ClusterMemory and WorkerMemory: stacked memory bars, coloured by the memory rule.

Each bar stacks managed / unmanaged-old / unmanaged-recent (the bar's colour
at alphas 1 / 0.7 / 0.4) and spilled (grey). The colour is blue, orange past
``min(target, spill)`` of the limit, red past ``terminate`` or when the worker
is not running (paused, retiring); the cluster bar takes its worst worker's.
A dashed line marks the memory limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import holoviews as hv
import numpy as np
import pandas as pd
import param
from bokeh.models import AdaptiveTicker, NumeralTickFormatter

from dashkit import theme
from dashkit.components.live import PlotFrame
from dashkit.components.plot import (
    Plot,
    color_from_columns,
    label_ticks,
    rectangle_columns,
    rectangles,
    worker_names,
)
from dashkit.feed import FeedView

_HOVER_FIELDS = [
    ("Worker", "worker"),
    ("Process memory (RSS)", "process_text"),
    ("Managed", "managed_text"),
    ("Unmanaged (old)", "unmanaged_old_text"),
    ("Unmanaged (recent)", "unmanaged_recent_text"),
    ("Spilled to disk", "spilled_text"),
    ("Memory limit", "limit_text"),
]
_VDIMS = ["color", "alpha", "segment", "bytes"] + [f for _, f in _HOVER_FIELDS]
_TEXT_FIELDS = [f for _, f in _HOVER_FIELDS[1:]]
_BYTE_COLUMNS = ("process", "managed", "unmanaged_old", "unmanaged_recent", "spilled")
_MEMORY_COLUMNS = (*_BYTE_COLUMNS, "memory_limit")  # what a memory bar is built from


def memory_segments(bars: Mapping[str, np.ndarray], colors: np.ndarray) -> dict[str, np.ndarray]:
    """Frame columns of one rectangle per non-empty memory segment of each bar
    (row ``i`` at y = i).

    ``bars`` holds one array per workers-frame memory column, plus ``worker``
    and ``memory_limit``; ``colors`` is each bar's colour.
    """
    n = len(bars["worker"])
    text = {f"{name}_text": theme.format_bytes_array(bars[name]) for name in _BYTE_COLUMNS}
    limit = np.asarray(bars["memory_limit"])
    text["limit_text"] = np.where(limit != 0, theme.format_bytes_array(limit), "none")
    names = [segment for segment, _ in theme.MEMORY_SEGMENTS]
    widths = np.stack([np.asarray(bars[segment], dtype=float) for segment in names])  # (4, n)
    lefts = np.cumsum(widths, axis=0) - widths
    y = np.tile(np.arange(n, dtype=float), len(names))
    spilled = np.full(n, theme.SPILLED_COLOR, object)
    color = np.concatenate([spilled if s == "spilled" else np.asarray(colors, object)
                            for s in names]) if n else np.empty(0, object)  # fmt: skip
    keep = widths.ravel() > 0
    columns = rectangle_columns(
        lefts.ravel(), y - 0.45, (lefts + widths).ravel(), y + 0.45, color=color,
        alpha=np.repeat([alpha for _, alpha in theme.MEMORY_SEGMENTS], n),
        segment=np.repeat(np.array(names, object), n), bytes=widths.ravel(),
        worker=np.tile(np.asarray(bars["worker"], object), len(names)),
        **{k: np.tile(v, len(names)) for k, v in text.items()},
    )  # fmt: skip
    return {k: v[keep] for k, v in columns.items()}


def binary_bytes_axis(plot, _element) -> None:
    """Hook: the x axis ticks at powers of two bytes (512 MiB, 1 GiB, 1.5 GiB),
    labelled without trailing zeros."""
    for axis in plot.state.xaxis:
        if not isinstance(axis.ticker, AdaptiveTicker) or axis.ticker.base != 2:
            # Made per plot: a Bokeh model belongs to one document only.
            axis.ticker = AdaptiveTicker(base=2, mantissas=[1], min_interval=1,
                                         desired_num_ticks=theme.BYTE_TICKS)  # fmt: skip
            axis.formatter = NumeralTickFormatter(format="0.[0] b")


def count_ticks(most: int, ticks: int = 5) -> list[int]:
    """About ``ticks`` round whole numbers from 0 to at least ``most``."""
    raw = most / (ticks - 1)
    step = 10 ** np.floor(np.log10(raw)) if raw >= 1 else 1
    step = next(m * step for m in (1, 2, 5, 10) if m * step >= raw)
    return [int(step * i) for i in range(int(np.ceil(most / step)) + 1)]


class _MemoryBars(Plot):
    thresholds = param.ClassSelector(
        class_=theme.MemoryThresholds,
        default=theme.MemoryThresholds(),
        doc="Fractions of the limit at which bars turn orange and red (Dask's defaults).",
    )

    frame_params: ClassVar[tuple[str, ...]] = ("thresholds",)

    __abstract = True

    def options(self) -> list:
        return [
            hv.opts.Rectangles(
                line_width=0, tools=["hover"], hover_tooltips=theme.tooltip(_HOVER_FIELDS),
                ylabel="", xlabel="", **self._style(color_from_columns, binary_bytes_axis),
            ),
            hv.opts.VLine(color=theme.RED, line_dash="dashed"),
        ]  # fmt: skip

    def draw(self, frame: PlotFrame) -> hv.Overlay:
        limit = frame.marks.get(1)
        rects = rectangles(frame.layers[0], _VDIMS).opts(**self._frame_opts(frame))
        return rects * hv.VLine(np.nan if limit is None else limit)

    @staticmethod
    def _bars_frame(columns, labels: list[str], title: str, limit: float) -> PlotFrame:
        end = max(limit, float(columns["right"].max()) if len(columns["right"]) else 0.0, 1.0)
        return PlotFrame(
            layers=(columns, {}), title=title, x_range=(0.0, end * 1.02),
            y_range=(-0.5, max(len(labels), 1) - 0.5), yticks=label_ticks(labels),
            marks={1: limit or None},
        )  # fmt: skip


class ClusterMemory(_MemoryBars):
    """The memory of the whole cluster as one stacked bar.

    Example
    -------
    >>> ClusterMemory(feed=feed, height=120)   # doctest: +SKIP
    """

    component_type = "cluster_memory"

    height = param.Integer(default=120, bounds=(50, None), doc="Plot height in pixels.")

    def compute_frame(self, view: FeedView) -> PlotFrame:
        workers = view.workers
        colors = theme.memory_color(
            workers["process"], workers["memory_limit"], workers["status"], self.thresholds
        )
        bar = {name: np.array([workers[name].to_numpy(float).sum()]) for name in _MEMORY_COLUMNS}
        bar["worker"] = np.array([f"cluster ({theme.count(len(workers), 'worker')})"], object)
        totals = {name: values[0] for name, values in bar.items()}
        title = f"Bytes stored: {theme.format_bytes(int(totals['process']))}"
        if totals["spilled"]:
            title += f" + {theme.format_bytes(int(totals['spilled']))} spilled to disk"
        segments = memory_segments(bar, np.array([theme.worst_color(colors)], object))
        return self._bars_frame(segments, [""], title, float(totals["memory_limit"]))


class WorkerMemory(_MemoryBars):
    """Memory per worker: stacked bars, or a histogram when there are many workers.

    Both views are one element, so options set with ``.element.opts(...)``
    hold in either.

    Example
    -------
    >>> WorkerMemory(feed=feed, max_bars=50)   # doctest: +SKIP
    >>> WorkerMemory(feed=feed, mode="histogram")   # doctest: +SKIP
    """

    component_type = "worker_memory"

    mode = param.Selector(
        default="auto",
        objects=["auto", "bars", "histogram"],
        doc="'bars': one bar per worker; 'histogram': how many workers hold how much "
        "memory; 'auto': bars up to `max_bars` workers, histogram beyond.",
    )
    max_bars = param.Integer(
        default=100, bounds=(1, None), doc="In 'auto' mode, the most workers drawn as bars."
    )
    bins = param.Integer(default=40, bounds=(2, None), doc="Histogram bins.")

    frame_params: ClassVar[tuple[str, ...]] = ("thresholds", "mode", "max_bars", "bins")

    @property
    def view(self) -> str:
        """The view drawn now: ``"bars"`` or ``"histogram"``."""
        return self._view_of(len(self.feed.workers))

    def _view_of(self, n_workers: int) -> str:
        if self.mode != "auto":
            return self.mode
        return "bars" if n_workers <= self.max_bars else "histogram"

    def compute_frame(self, view: FeedView) -> PlotFrame:
        workers = view.workers_by_address
        if self._view_of(len(workers)) == "histogram":
            return self._histogram(workers)
        colors = theme.memory_color(
            workers["process"], workers["memory_limit"], workers["status"], self.thresholds
        )
        bars = {name: workers[name].to_numpy() for name in _MEMORY_COLUMNS}
        bars["worker"] = workers["address"].to_numpy(object)
        labels = worker_names(workers)
        title = f"Memory per worker ({theme.count(len(workers), 'worker')})"
        limit = float(workers["memory_limit"].max()) if len(workers) else 0.0
        return self._bars_frame(memory_segments(bars, colors), labels, title, limit)

    def _histogram(self, workers: pd.DataFrame) -> PlotFrame:
        """How many workers hold how much memory, bins coloured by the memory rule."""
        process = workers["process"].to_numpy(float)
        limit = float(workers["memory_limit"].max()) if len(workers) else 0.0
        top = max(limit, float(process.max(initial=0.0)), 1.0)
        counts, edges = np.histogram(process, bins=self.bins, range=(0, top))
        centres = (edges[:-1] + edges[1:]) / 2
        colors = theme.memory_color(centres, np.full(centres.size, limit),
                                    ["running"] * centres.size, self.thresholds)  # fmt: skip
        ranges = [f"{a} – {b}" for a, b in zip(theme.format_bytes_array(edges[:-1].astype(int)),
                                                theme.format_bytes_array(edges[1:].astype(int)),
                                                strict=True)]  # fmt: skip
        blank = np.full(centres.size, "", dtype=object)
        columns = rectangle_columns(
            edges[:-1], np.zeros(centres.size), edges[1:], counts,
            color=colors, alpha=np.full(centres.size, 0.8), segment=blank,
            bytes=counts.astype(float),
            worker=np.array([theme.count(int(c), "worker") for c in counts], object),
            **{f: (ranges if f == "process_text" else blank) for f in _TEXT_FIELDS},
        )  # fmt: skip
        most = max(int(counts.max(initial=0)), 1)
        limits = workers["memory_limit"].to_numpy(float)
        over = int(((limits > 0) & (process >= limits * self.thresholds.orange)).sum())
        title = (f"Memory per worker: {theme.count(len(workers), 'worker')}, {over} over "
                 f"{self.thresholds.orange:.0%} of their limit")  # fmt: skip
        return PlotFrame(
            layers=(columns, {}), title=title, x_range=(0.0, top * 1.02),
            y_range=(0.0, most * 1.05), yticks=tuple((c, str(c)) for c in count_ticks(most)),
            marks={1: limit or None},
        )  # fmt: skip

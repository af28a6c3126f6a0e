"""ClusterMemory and WorkerMemory: stacked memory bars, coloured by the memory rule.

Each bar stacks managed / unmanaged-old / unmanaged-recent (the bar's colour
at alphas 1 / 0.7 / 0.4) and spilled (grey). The colour is blue, orange past
``min(target, spill)`` of the limit, red past ``terminate`` or when the worker
is not running (paused, retiring); the cluster bar takes its worst worker's.
A dashed line marks the memory limit.
"""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd
import param
from bokeh.models import NumeralTickFormatter

from dashkit import theme
from dashkit.components.base import Component, label_ticks

_HOVER_FIELDS = [
    ("Worker", "worker"),
    ("Process memory (RSS)", "process_text"),
    ("Managed", "managed_text"),
    ("Unmanaged (old)", "unmanaged_old_text"),
    ("Unmanaged (recent)", "unmanaged_recent_text"),
    ("Spilled to disk", "spilled_text"),
    ("Memory limit", "limit_text"),
]
_COLUMNS = ["x0", "y0", "x1", "y1", "color", "alpha", "segment", "bytes"] + [
    f for _, f in _HOVER_FIELDS
]


def memory_segments(bars: pd.DataFrame, colors: np.ndarray) -> pd.DataFrame:
    """One rectangle per non-empty memory segment of each bar (row ``i`` at y = i).

    ``bars`` has the workers-frame memory columns plus ``worker`` and
    ``memory_limit``; ``colors`` is each bar's colour.
    """
    parts = []
    left = np.zeros(len(bars))
    y = np.arange(len(bars), dtype=float)
    text = {
        f"{name}_text": [theme.format_bytes(int(v)) for v in bars[name]]
        for name in ("process", "managed", "unmanaged_old", "unmanaged_recent", "spilled")
    }
    text["limit_text"] = [theme.format_bytes(int(v)) if v else "none" for v in bars["memory_limit"]]
    for segment, alpha in theme.MEMORY_SEGMENTS:
        width = bars[segment].to_numpy(dtype=float)
        color = np.full(len(bars), theme.SPILLED_COLOR, object) if segment == "spilled" else colors
        parts.append(
            pd.DataFrame({
                "x0": left, "y0": y - 0.45, "x1": left + width, "y1": y + 0.45,
                "color": color, "alpha": alpha, "segment": segment, "bytes": width,
                "worker": bars["worker"].to_numpy(), **text,
            })  # fmt: skip
        )
        left = left + width
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=_COLUMNS)
    return frame.loc[frame["bytes"] > 0, _COLUMNS].reset_index(drop=True)


class _MemoryBars(Component):
    thresholds = param.ClassSelector(
        class_=theme.MemoryThresholds,
        default=theme.MemoryThresholds(),
        doc="Fractions of the limit at which bars turn orange and red (Dask's defaults).",
    )

    __abstract = True

    def __init__(self, **params):
        super().__init__(**params)
        self._build(self._frames())

    def _build(self, frames: dict) -> None:
        self._pipe = hv.streams.Pipe(data=frames)
        self._dmap = hv.DynamicMap(self._draw, streams=[self._pipe]).opts(
            hv.opts.Rectangles(
                color="color", alpha="alpha", line_width=0, tools=["hover"],
                hover_tooltips=theme.tooltip(_HOVER_FIELDS),
                xformatter=NumeralTickFormatter(format="0.0 b"), ylabel="", xlabel="",
                **self._style(),
            ),
            hv.opts.VLine(color=theme.RED, line_dash="dashed"),
            hv.opts.Overlay(framewise=True),
            hv.opts.Histogram(
                color=theme.BLUE, alpha=0.6, line_width=0, tools=["hover"], **self._style()
            ),
        )  # fmt: skip

    @property
    def element(self) -> hv.DynamicMap:
        return self._dmap

    def _update(self) -> None:
        self._push(self._pipe, self._frames())

    def _rectangles(self, segments: pd.DataFrame, ylabels: list[str], title: str, limit: float):
        end = max(limit, float(segments["x1"].max()) if len(segments) else 0.0, 1.0)
        rects = hv.Rectangles(segments, ["x0", "y0", "x1", "y1"], _COLUMNS[4:]).opts(
            yticks=label_ticks(ylabels), title=self.title or title, xlim=(0, end * 1.02),
            ylim=(-0.5, max(len(ylabels), 1) - 0.5),
        )
        return rects * hv.VLine(limit if limit else np.nan)


class ClusterMemory(_MemoryBars):
    """The memory of the whole cluster as one stacked bar.

    Example
    -------
    >>> ClusterMemory(feed=feed, height=120)   # doctest: +SKIP
    """

    component_type = "cluster_memory"

    height = param.Integer(default=120, bounds=(50, None), doc="Plot height in pixels.")

    def _frames(self) -> dict:
        workers = self.feed.workers
        colors = theme.memory_color(
            workers["process"], workers["memory_limit"], workers["status"], self.thresholds
        )
        totals = workers[["process", "managed", "unmanaged_old", "unmanaged_recent", "spilled",
                          "memory_limit"]].sum()  # fmt: skip
        bar = pd.DataFrame([totals]).assign(worker=f"cluster ({len(workers)} workers)")
        return {
            "segments": memory_segments(bar, np.array([theme.worst_color(colors)], object)),
            "totals": totals,
        }

    def _draw(self, data):
        totals = data["totals"]
        title = f"Bytes stored: {theme.format_bytes(int(totals['process']))}"
        if totals["spilled"]:
            title += f" + {theme.format_bytes(int(totals['spilled']))} spilled to disk"
        return self._rectangles(data["segments"], [""], title, float(totals["memory_limit"]))


class WorkerMemory(_MemoryBars):
    """Memory per worker: stacked bars, or a histogram when there are many workers.

    Example
    -------
    >>> WorkerMemory(feed=feed, max_bars=50)   # doctest: +SKIP
    >>> WorkerMemory(feed=feed, mode="histogram")   # doctest: +SKIP
    """

    component_type = "worker_memory"

    mode = param.Selector(
        default="auto",
        objects=["auto", "bars", "histogram"],
        doc="'bars': one bar per worker; 'histogram': distribution of memory / limit; "
        "'auto': bars up to `max_bars` workers, histogram beyond.",
    )
    max_bars = param.Integer(
        default=100, bounds=(1, None), doc="In 'auto' mode, the most workers drawn as bars."
    )
    bins = param.Integer(default=40, bounds=(2, None), doc="Histogram bins.")

    @property
    def view(self) -> str:
        """The view drawn now: ``"bars"`` or ``"histogram"``."""
        if self.mode != "auto":
            return self.mode
        return "bars" if len(self.feed.workers) <= self.max_bars else "histogram"

    def _update(self) -> None:
        frames = self._frames()
        if frames["view"] == self._pipe.data["view"]:
            self._push(self._pipe, frames)
            return
        # Bars and histogram are different element types: a new DynamicMap.
        self._build(frames)
        if self._pane is not None:
            self._pane.object = self._dmap

    def _frames(self) -> dict:
        workers = self.feed.workers.sort_values("address").reset_index(drop=True)
        colors = theme.memory_color(
            workers["process"], workers["memory_limit"], workers["status"], self.thresholds
        )
        return {"workers": workers, "colors": colors, "view": self.view}

    def _draw(self, data):
        workers = data["workers"]
        if data["view"] == "histogram":
            return self._histogram(workers)
        bars = workers.assign(worker=workers["address"])
        labels = [str(n) for n in workers["name"]]
        title = f"Memory per worker ({len(workers)} workers)"
        limit = float(workers["memory_limit"].max()) if len(workers) else 0.0
        return self._rectangles(memory_segments(bars, data["colors"]), labels, title, limit)

    def _histogram(self, workers: pd.DataFrame):
        limit = workers["memory_limit"].replace(0, np.nan)
        fraction = (workers["process"] / limit).dropna().to_numpy()
        counts, edges = np.histogram(fraction, bins=self.bins, range=(0, max(1.0, *fraction, 0)))
        over = (fraction >= self.thresholds.orange).sum()
        title = self.title or (
            f"Memory per worker: {len(workers)} workers, {over} over "
            f"{self.thresholds.orange:.0%} of their limit"
        )
        return hv.Histogram((edges, counts), kdims=["memory / limit"], vdims=["workers"]).opts(
            title=title
        )

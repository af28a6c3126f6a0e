"""Per-worker bars: tasks processing, CPU use, occupancy.

One horizontal bar per worker (sorted by address). Bars are coloured by the
worker's state: idle (red), saturated (green), otherwise blue. Idle is read
by worker address, so idle workers really are marked (the Dask dashboard
compares a WorkerState with address keys, and never marks them).
"""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd

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

_VDIMS = ["color", "alpha", "worker", "state", "value_text"]


def worker_state(workers: pd.DataFrame) -> np.ndarray:
    """``"idle"``, ``"saturated"`` or ``"busy"`` per worker."""
    state = np.full(len(workers), "busy", dtype=object)
    state[workers["saturated"].to_numpy(bool)] = "saturated"
    state[workers["idle"].to_numpy(bool)] = "idle"
    return state


class WorkerBars(Plot):
    """Base of the per-worker bar plots: subclasses say which value and how to read it."""

    #: Label of the value in tooltips.
    value_label = "value"
    #: Label of the x axis.
    axis_label = ""

    __abstract = True

    def options(self) -> list:
        return [hv.opts.Rectangles(
            line_width=0, tools=["hover"],
            hover_tooltips=theme.tooltip(
                [("Worker", "worker"), (self.value_label, "value_text"), ("State", "state")]),
            xlabel=self.axis_label, ylabel="", **self._style(color_from_columns),
        )]  # fmt: skip

    def values(self, workers: pd.DataFrame) -> np.ndarray:
        """The bar length of each worker."""
        raise NotImplementedError

    def value_text(self, values: np.ndarray) -> list[str]:
        return [f"{v:g}" for v in values]

    def x_end(self, workers: pd.DataFrame, values: np.ndarray) -> float:
        return float(max(values.max(initial=0), 1))

    def heading(self, workers: pd.DataFrame, values: np.ndarray) -> str:
        raise NotImplementedError

    def compute_frame(self, view: FeedView) -> PlotFrame:
        workers = view.workers_by_address
        values = self.values(workers).astype(float)
        state = worker_state(workers)
        y = np.arange(len(workers), dtype=float)
        columns = rectangle_columns(
            np.zeros(len(workers)), y - 0.45, values, y + 0.45,
            color=np.array([theme.WORKER_STATE_COLORS[s] for s in state], dtype=object),
            alpha=np.ones(len(workers)), worker=workers["address"].to_numpy(), state=state,
            value_text=np.array(self.value_text(values), dtype=object),
        )  # fmt: skip
        labels = worker_names(workers)
        return PlotFrame(
            layers=(columns,), title=self.heading(workers, values),
            x_range=(0.0, self.x_end(workers, values) * 1.02),
            y_range=(-0.5, max(len(labels), 1) - 0.5), yticks=label_ticks(labels),
        )  # fmt: skip

    def draw(self, frame: PlotFrame) -> hv.Rectangles:
        return rectangles(frame.layers[0], _VDIMS).opts(**self._frame_opts(frame))


class TaskProcessing(WorkerBars):
    """Tasks assigned to each worker (executing or waiting there).

    Example
    -------
    >>> TaskProcessing(feed=feed)   # doctest: +SKIP
    """

    component_type = "task_processing"
    value_label = "Processing"

    def values(self, workers):
        return workers["processing"].to_numpy()

    def value_text(self, values):
        return [f"{int(v)} tasks" for v in values]

    def heading(self, workers, values):
        idle = int(workers["idle"].sum())
        saturated = int(workers["saturated"].sum())
        return f"Tasks processing: {int(values.sum())} ({idle} idle, {saturated} saturated)"


class CPUUtilization(WorkerBars):
    """CPU use of each worker process, in % (up to threads x 100).

    Example
    -------
    >>> CPUUtilization(feed=feed)   # doctest: +SKIP
    """

    component_type = "cpu"
    value_label = "CPU"
    axis_label = "CPU %"

    def values(self, workers):
        return workers["cpu"].to_numpy()

    def value_text(self, values):
        return [f"{v:.0f} %" for v in values]

    def x_end(self, workers, values):
        return float(max(workers["nthreads"].to_numpy().max(initial=1), 1) * 100)

    def heading(self, workers, values):
        mean = values.mean() if len(values) else 0.0
        return f"CPU use: {mean:.0f} % per worker on average"


class Occupancy(WorkerBars):
    """Expected seconds of work assigned to each worker.

    Example
    -------
    >>> Occupancy(feed=feed)   # doctest: +SKIP
    """

    component_type = "occupancy"
    value_label = "Occupancy"
    axis_label = "seconds of work"

    def values(self, workers):
        return workers["occupancy"].to_numpy()

    def value_text(self, values):
        return theme.format_time_array(values)

    def heading(self, workers, values):
        total = float(values.sum())
        threads = max(int(workers["nthreads"].sum()), 1)
        return (f"Occupancy: total {theme.format_time(total)}, "
                f"wall time {theme.format_time(total / threads)}")  # fmt: skip

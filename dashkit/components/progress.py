"""Progress: one bar per task prefix, split by task state.

Left to right: released (prefix colour, translucent), in memory (solid),
erred (black), processing (grey), queued (grey, hatched), no-worker (red,
cross-hatched); the rest of the bar is waiting. Each bar spans the whole
width, as on Dask's page, so a prefix of 20 tasks reads as well as one of
200,000 (``scale="shared"``: as long as the prefix has tasks, relative to the
largest), and says "done / total".
The largest ``max_prefixes`` are shown; the rest are summed into one bar.
"""

from __future__ import annotations

from typing import ClassVar

import holoviews as hv
import numpy as np
import pandas as pd
import param

from dashkit import schema, theme
from dashkit.components.live import PlotFrame
from dashkit.components.plot import (
    CORNERS,
    Plot,
    color_from_columns,
    label_ticks,
    rectangle_columns,
    rectangles,
)
from dashkit.feed import FeedView

_VDIMS = ["color", "alpha", "prefix", "state", "count", "done_text"]


def _hatch(pattern: str, color: str):
    """Hook: the layer's one hatch ``pattern`` in ``color``, and no fill.

    Each hatched state (``theme.PROGRESS_HATCHES``) is a layer of its own over
    its bars: a pattern given per row made the browser draw a pattern image
    for every row on every update (~12 ms a page an update, most of it new
    canvases); one per layer draws one."""

    def hook(plot, _element):
        glyph = plot.handles["glyph"]
        glyph.update(hatch_pattern=pattern, hatch_color=color, hatch_alpha=0.9,
                     fill_alpha=0, line_alpha=0)  # fmt: skip

    return hook


class Progress(Plot):
    """Task progress per prefix, with totals per state in the title.

    Example
    -------
    >>> Progress(feed=feed, max_prefixes=10)   # doctest: +SKIP
    """

    component_type = "progress"

    max_prefixes = param.Integer(
        default=24, bounds=(1, None), doc="Prefixes drawn; the others are summed into one bar."
    )

    scale = param.Selector(
        default="prefix",
        objects=["prefix", "shared"],
        doc="Bar lengths: each prefix's bar full width ('prefix'), or as long as the "
        "prefix has tasks relative to the largest ('shared').",
    )

    frame_params: ClassVar[tuple[str, ...]] = ("max_prefixes", "scale")

    def options(self) -> list:
        return [
            hv.opts.Labels(text_align="left", text_font_size="9pt",
                           text_color=theme.PALETTES[self.theme].text),
            hv.opts.Rectangles(
                line_width=0, tools=["hover"], hooks=[color_from_columns],
                hover_tooltips=theme.tooltip([("Prefix", "prefix"), ("State", "state"),
                                              ("Tasks", "count"), ("Done", "done_text")]),
                xaxis=None, ylabel="", xlabel="", framewise=True, xlim=(0, 1.15),
            ),
            *(hv.opts.Rectangles(_group(state), hooks=[_hatch(pattern, color)], tools=[],
                                 line_width=0)
              for state, (pattern, color) in theme.PROGRESS_HATCHES.items()),
            hv.opts.Overlay(**self._style()),
        ]  # fmt: skip

    def rows(self, progress: pd.DataFrame | None = None) -> pd.DataFrame:
        """The prefixes drawn, largest first, with an ``other (N)`` row for the rest."""
        return pd.DataFrame(self._row_arrays(self.feed.progress if progress is None else progress))

    def _row_arrays(self, progress: pd.DataFrame) -> dict[str, np.ndarray]:
        """:meth:`rows` as arrays (a poll's frame is built without pandas overhead)."""
        prefix = progress["prefix"].to_numpy(object)
        counts = {c: progress[c].to_numpy(np.int64) for c in (*schema.PROGRESS_STATES, "total")}
        order = np.lexsort((prefix, -counts["total"]))
        shown, rest = order[: self.max_prefixes], order[self.max_prefixes :]
        rows = {"prefix": prefix[shown], **{c: v[shown] for c, v in counts.items()}}
        if len(rest):
            other = {"prefix": f"other ({len(rest)} prefixes)",
                     **{c: v[rest].sum() for c, v in counts.items()}}  # fmt: skip
            rows = {c: np.append(v, other[c]) for c, v in rows.items()}
        return rows

    def compute_frame(self, view: FeedView) -> PlotFrame:
        rows = self._row_arrays(view.progress)
        n = len(rows["prefix"])
        total = rows["total"].astype(float)
        if self.scale == "prefix":
            scale = np.maximum(total, 1.0)
        else:
            scale = np.full(n, max(float(total.max()), 1.0) if n else 1.0)
        y = -np.arange(n, dtype=float)
        done = rows["released"] + rows["memory"] + rows["erred"]
        done_text = np.array([f"{d} / {t}" for d, t in zip(done, rows["total"], strict=True)],
                             dtype=object)  # fmt: skip
        prefix_colors = np.array([theme.prefix_color(p) for p in rows["prefix"]], dtype=object)
        # The background bar (all tasks, "waiting" in the hover), then one segment per state.
        specs = [("waiting", theme.PROGRESS_BACKGROUND, 0.1), *theme.PROGRESS_SEGMENTS]
        states = [state for state, *_ in specs]
        widths = np.stack([total / scale] + [rows[s] / scale
                                             for s in states[1:]])  # fmt: skip
        lefts = np.vstack([np.zeros((1, n)), np.cumsum(widths[1:], axis=0) - widths[1:]])
        k = len(specs)
        keep = ((widths > 0) | (np.arange(k) == 0)[:, None]).ravel()
        bars = rectangle_columns(
            lefts.ravel(), np.tile(y - 0.4, k), (lefts + widths).ravel(), np.tile(y + 0.4, k),
            color=np.concatenate([prefix_colors if c is None else np.full(n, c, object)
                                  for _, c, _ in specs]),
            alpha=np.repeat([a for _, _, a in specs], n),
            prefix=np.tile(rows["prefix"], k),
            state=np.repeat(np.array(states, object), n),
            count=np.concatenate([rows[s] for s in states]),
            done_text=np.tile(done_text, k),
        )  # fmt: skip
        bars = {name: values[keep] for name, values in bars.items()}
        masks = (bars["state"] == state for state in theme.PROGRESS_HATCHES)
        hatched = tuple({corner: bars[corner][mask] for corner in CORNERS} for mask in masks)
        labels = {"x": total / scale + 0.01, "y": y, "text": done_text}
        # The rows drawn hold every prefix (the rest summed in "other").
        totals = {c: int(rows[c].sum()) for c in (*schema.PROGRESS_STATES, "total")}
        title = (
            f"Progress — total: {totals['total']}, waiting: {totals['waiting']}, "
            f"queued: {totals['queued']}, processing: {totals['processing']}, "
            f"in-memory: {totals['memory']}, no-worker: {totals['no_worker']}, "
            f"erred: {totals['erred']}"
        )
        names = list(rows["prefix"])
        return PlotFrame(
            layers=(bars, *hatched, labels), title=title,
            y_range=(-max(len(names), 1) + 0.5, 0.5),
            yticks=label_ticks(names, positions=[-i for i in range(len(names))]),
        )  # fmt: skip

    def draw(self, frame: PlotFrame) -> hv.Overlay:
        bars, *hatched, labels = frame.layers
        text = hv.Labels((labels["x"], labels["y"], labels["text"]), ["x", "y"], "text")
        overlay = rectangles(bars, _VDIMS).opts(**self._frame_opts(frame))
        for state, corners in zip(theme.PROGRESS_HATCHES, hatched, strict=True):
            overlay = overlay * rectangles(corners, []).relabel(group=_group(state))
        return overlay * text


def _group(state: str) -> str:
    """The HoloViews group of the layer that hatches ``state``'s segments."""
    return f"Hatched {state}".title().replace(" ", "").replace("_", "")

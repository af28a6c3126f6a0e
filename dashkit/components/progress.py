"""Progress: one bar per task prefix, split by task state.

Left to right: released (prefix colour, translucent), in memory (solid),
erred (black), processing (grey), queued (grey, hatched), no-worker (red,
cross-hatched); the rest of the bar is waiting. Each bar is as long as the
prefix has tasks, relative to the largest prefix, and says "done / total".
The largest ``max_prefixes`` are shown; the rest are summed into one bar.
"""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd
import param
from bokeh.core.properties import field

from dashkit import schema, theme
from dashkit.components.base import Component, label_ticks

_COLUMNS = ["x0", "y0", "x1", "y1", "color", "alpha", "hatch", "hatch_color", "prefix",
            "state", "count", "done_text"]  # fmt: skip


def _hatch(plot, _element):
    glyph = plot.handles["glyph"]
    glyph.hatch_pattern = field("hatch")
    glyph.hatch_color = field("hatch_color")
    glyph.hatch_alpha = 0.9


class Progress(Component):
    """Task progress per prefix, with totals per state in the title.

    Example
    -------
    >>> Progress(feed=feed, max_prefixes=10)   # doctest: +SKIP
    """

    component_type = "progress"

    max_prefixes = param.Integer(
        default=24, bounds=(1, None), doc="Prefixes drawn; the others are summed into one bar."
    )

    def __init__(self, **params):
        super().__init__(**params)
        self._pipe = hv.streams.Pipe(data=self._frame())
        self._dmap = hv.DynamicMap(self._draw, streams=[self._pipe]).opts(
            hv.opts.Labels(text_align="left", text_font_size="9pt",
                           text_color=theme.PALETTES[self.theme].text),
            hv.opts.Rectangles(
                color="color", alpha="alpha", line_width=0, tools=["hover"], hooks=[_hatch],
                hover_tooltips=theme.tooltip([("Prefix", "prefix"), ("State", "state"),
                                              ("Tasks", "count"), ("Done", "done_text")]),
                xaxis=None, ylabel="", xlabel="", framewise=True, xlim=(0, 1.15),
            ),
            hv.opts.Overlay(**self._style()),
        )  # fmt: skip

    @property
    def element(self) -> hv.DynamicMap:
        return self._dmap

    def rows(self) -> pd.DataFrame:
        """The prefixes drawn, largest first, with an ``other (N)`` row for the rest."""
        progress = self.feed.progress.sort_values(["total", "prefix"], ascending=[False, True])
        shown = progress.head(self.max_prefixes)
        rest = progress.iloc[self.max_prefixes :]
        if len(rest):
            other = rest[list(schema.PROGRESS_STATES) + ["total"]].sum().to_dict()
            other["prefix"] = f"other ({len(rest)} prefixes)"
            shown = pd.concat([shown, pd.DataFrame([other])], ignore_index=True)
        return shown.reset_index(drop=True)

    def _frame(self) -> pd.DataFrame:
        rows = self.rows()
        scale = float(rows["total"].max()) if len(rows) else 1.0
        y = -np.arange(len(rows), dtype=float)
        done = rows["released"] + rows["memory"] + rows["erred"]
        done_text = [f"{d} / {t}" for d, t in zip(done, rows["total"], strict=True)]
        base = {"y0": y - 0.4, "y1": y + 0.4, "prefix": rows["prefix"].to_numpy(),
                "done_text": done_text}  # fmt: skip
        prefix_colors = np.array([theme.prefix_color(p) for p in rows["prefix"]], dtype=object)
        parts = [pd.DataFrame({
            **base, "x0": 0.0, "x1": rows["total"].to_numpy(float) / scale,
            "color": theme.PROGRESS_BACKGROUND, "alpha": 0.1, "hatch": " ",
            "hatch_color": theme.BLACK, "state": "waiting", "count": rows["waiting"].to_numpy(),
        })]  # fmt: skip
        left = np.zeros(len(rows))
        for state, color, alpha, hatch in theme.PROGRESS_SEGMENTS:
            width = rows[state].to_numpy(float) / scale
            parts.append(pd.DataFrame({
                **base, "x0": left, "x1": left + width,
                "color": prefix_colors if color is None else color, "alpha": alpha,
                "hatch": hatch, "hatch_color": theme.BLACK if state == "no_worker" else "#ffffff",
                "state": state, "count": rows[state].to_numpy(),
            }))  # fmt: skip
            left = left + width
        frame = pd.concat(parts, ignore_index=True)[_COLUMNS]
        frame = frame[(frame["x1"] > frame["x0"]) | (frame["state"] == "waiting")]
        totals = self.feed.progress[list(schema.PROGRESS_STATES) + ["total"]].sum()
        frame.attrs.update(
            labels=list(rows["prefix"]),
            title=(
                f"Progress — total: {totals['total']}, waiting: {totals['waiting']}, "
                f"queued: {totals['queued']}, processing: {totals['processing']}, "
                f"in-memory: {totals['memory']}, no-worker: {totals['no_worker']}, "
                f"erred: {totals['erred']}"
            ),
        )
        return frame.reset_index(drop=True)

    def _update(self) -> None:
        self._push(self._pipe, self._frame())

    def _draw(self, data: pd.DataFrame):
        frame = data
        labels = frame.attrs.get("labels", [])
        ends = frame[frame["state"] == "waiting"]
        text = hv.Labels(
            (ends["x1"].to_numpy() + 0.01, (ends["y0"] + ends["y1"]).to_numpy() / 2,
             ends["done_text"].to_numpy()), ["x", "y"], "text",
        )  # fmt: skip
        bars = hv.Rectangles(frame, ["x0", "y0", "x1", "y1"], _COLUMNS[4:]).opts(
            yticks=label_ticks(labels, positions=[-i for i in range(len(labels))]),
            ylim=(-max(len(labels), 1) + 0.5, 0.5),
            title=self.title or frame.attrs.get("title", ""),
        )
        return bars * text

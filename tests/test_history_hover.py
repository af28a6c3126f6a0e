"""Hovering the history image tells what a cell of it holds (dashkit/task_picture.py)."""

from __future__ import annotations

import numpy as np
import panel as pn
from bokeh.document import Document
from bokeh.models import HoverTool

from dashkit.components import TaskStream
from dashkit.components.task_hover import CELL_RENDERER
from dashkit.components.task_stream import CELL_TOOLTIP
from dashkit.feed import Feed
from dashkit.sources import SyntheticSource


def test_a_paused_zoomed_out_view_names_what_each_cell_holds():
    feed = Feed(SyntheticSource(n_workers=8, seed=5, start_time=0.0, history_rows=150_000,
                                error_rate=0.002))  # fmt: skip
    feed.poll()
    stream = TaskStream(feed=feed, height=300)
    doc = Document()
    root = pn.panel(stream).get_root(doc)
    hovers = [t for t in root.select({"type": HoverTool})]
    cell_tool = next(t for t in hovers if t.name == CELL_RENDERER)
    assert cell_tool.tooltips == CELL_TOOLTIP and cell_tool.renderers[0].name == CELL_RENDERER
    assert any(t.name != CELL_RENDERER for t in hovers)  # the rectangles keep their own

    history = feed.history
    end = history.extent(history.oldest, history.total)[1]
    y_range = (-0.5, history.n_lanes - 0.5)
    assert len(stream._draw_cells((0, end), y_range, 800, 300)) == 0  # following: none
    stream._following = False  # as after a zoom
    cells = stream._draw_cells((0, end), y_range, 800, 300).dframe()
    assert len(cells) > 100
    rows = feed.tasks.frame().iloc[: history.total - stream.dense_threshold - history.oldest]
    erred = rows[(rows["status"] == "error") & (rows["action"] == "compute")]
    assert cells["erred"].astype(int).sum() == len(erred) > 0  # every erred compute, counted once
    assert cells["busy"].str.match(r"\d+% of \d+ lanes?").all()
    assert set(" ".join(cells["prefixes"]).split()) & set(rows["prefix"].astype(str))
    assert cells["time"].str.contains("compute").any()
    assert cells["time"].str.contains("transfer").any()
    lefts = np.sort(cells["left"].unique())
    assert np.allclose(np.diff(lefts), end / 50)  # 800 px in cells 16 px wide

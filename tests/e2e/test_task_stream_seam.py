"""Where the history image meets the newest rectangles, bars look the same."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from dashkit import theme
from tests.e2e.conftest import wait_until
from tests.helpers import dashkit_server

#: One prefix, threads always busy, tasks of ~2 s: each row is one solid bar
#: whose tasks are several pixels wide across the whole run.
SPEC = {
    "title": "seam", "template": "bootstrap", "theme": "light",
    "source": {"type": "synthetic", "n_workers": 2, "threads_per_worker": 1, "n_prefixes": 1,
               "mean_duration": 2.0, "load": 1.0, "transfer_rate": 0.0, "disk_rate": 0.0,
               "error_rate": 0.0, "history_rows": 400, "seed": 5},
    "columns": [{"cells": [{"type": "task_stream", "height": 420, "dense_threshold": 200,
                            "span": "run"}]}],
}  # fmt: skip

#: Where the image ends (the seam) and where row 0 is, in page pixels.
SEAM = """() => {
    const views = [];
    for (const root of Bokeh.index) for (const view of root.owner.all_views()) views.push(view);
    const fig = views.find(v => v.model.type === "Figure");
    const image = fig.model.renderers.find(r => r.glyph && r.glyph.type === "ImageRGBA");
    const d = image.data_source.data;
    if (!d.dw || !(d.dw[0] > 0)) return null;
    const canvas = fig.canvas.el.getBoundingClientRect();
    const x = (v) => fig.frame.x_scale.compute(v) + canvas.left;
    const y = (v) => fig.frame.y_scale.compute(v) + canvas.top;
    return {seam: x(d.x[0] + d.dw[0]), left: x(fig.model.x_range.start),
            right: x(fig.model.x_range.end), row: [y(-0.5), y(0.5)]};
}"""


@pytest.fixture
def served(tmp_path):
    server = dashkit_server(SPEC, tmp_path, "seam")
    try:
        server.wait()
        yield server
    finally:
        server.stop()


def bar_at(image: np.ndarray, columns: range, rows: tuple[float, float]) -> tuple:
    """(top, bottom, colour) of the bar across pixel ``columns`` within a row: the
    median edges and the commonest middle colour (the light hairlines Chromium
    leaves between adjacent rectangles are outvoted)."""
    top, bottom = sorted(round(v) for v in rows)
    edges, colours = [], []
    for x in columns:
        column = image[top:bottom, x].astype(int)
        drawn = np.flatnonzero(np.abs(column - 255).sum(axis=1) > 30)  # not the background
        if drawn.size:
            edges.append((top + drawn[0], top + drawn[-1]))
            colours.append(tuple(column[(drawn[0] + drawn[-1]) // 2]))
    assert len(edges) > len(columns) // 2, f"no bar across x={columns}"
    first, last = np.median(edges, axis=0)
    return first, last, max(set(colours), key=colours.count)


def test_the_history_image_and_the_rectangles_meet_without_a_seam(served, open_page):
    page = open_page(width=1200, height=700)
    page.goto(served.url)

    def seam_inside():
        found = page.page.evaluate(SEAM)
        return found and found["left"] + 100 < found["seam"] < found["right"] - 100 and found

    geometry = wait_until(seam_inside, timeout=60, what="the history image in view")
    page.page.wait_for_timeout(1000)
    geometry = seam_inside()
    shot = np.asarray(Image.open(io.BytesIO(page.page.screenshot())).convert("RGB"))
    seam = round(geometry["seam"])
    image_side = bar_at(shot, range(seam - 60, seam - 3), geometry["row"])
    rectangle_side = bar_at(shot, range(seam + 3, seam + 60), geometry["row"])
    assert abs(image_side[0] - rectangle_side[0]) <= 1, (image_side, rectangle_side)
    assert abs(image_side[1] - rectangle_side[1]) <= 1, (image_side, rectangle_side)
    assert max(abs(a - b) for a, b in zip(image_side[2], rectangle_side[2], strict=True)) <= 3, (
        image_side, rectangle_side)  # fmt: skip
    height = image_side[1] - image_side[0] + 1
    row = abs(geometry["row"][1] - geometry["row"][0])
    # A bar is 0.8 of its row, and its outline (as on Dask's page) grows it.
    expected = 0.8 * row + theme.TASK_OUTLINE_WIDTH
    assert abs(height - expected) <= 2, f"bar {height} px in a {row:.0f} px row"

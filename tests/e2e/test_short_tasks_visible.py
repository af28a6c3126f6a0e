"""Every task of the live window shows, as on Dask's page: a transfer narrower
than a pixel still leaves red on the screen where it ran."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from dashkit import theme
from tests.conftest import packed
from tests.e2e.conftest import wait_until
from tests.e2e.test_replay_served import replay_label
from tests.helpers import replay_server
from tests.test_replay import synthetic_recording

#: The task stream's frame on the screen, its ranges, and its rectangles.
SHOWN = """() => {
    for (const root of Bokeh.index) for (const view of root.owner.all_views()) {
        if (!view.frame || view.model.name !== "dashkit-task_stream") continue;
        const canvas = view.canvas.el.getBoundingClientRect();
        const b = view.frame.bbox, m = view.model;
        const rects = m.renderers.map(r => r.data_source && r.data_source.data)
            .find(d => d && d.left && d.color && d.left.length > 0);
        return {left: canvas.left + b.left, top: canvas.top + b.top, width: b.width,
                height: b.height, x: [m.x_range.start, m.x_range.end],
                y: [m.y_range.start, m.y_range.end],
                rects: rects && {left: [...rects.left], right: [...rects.right],
                                 bottom: [...rects.bottom], top: [...rects.top],
                                 color: [...rects.color].map(Number)}};
    }
    return null;
}"""


def red(pixels: np.ndarray) -> np.ndarray:
    """Where pixels are the transfer red, at any of its alphas over white or a bar."""
    r, g, b = (pixels[..., i].astype(int) for i in range(3))
    return (r >= 150) & (r - g >= 80) & (r - b >= 80)


def test_a_transfer_narrower_than_a_pixel_shows_red_where_it_ran(open_page, tmp_path):
    recording = tmp_path / "run.dkrec"
    synthetic_recording(recording, snapshots=16, transfer_rate=0.3)
    server = replay_server(recording, tmp_path)
    try:
        server.wait()
        page = open_page("short-tasks")
        page.goto(server.url)
        wait_until(lambda: replay_label(page)[0] == "ended", timeout=60, what="the replay ended")
        page.page.wait_for_timeout(1500)  # redrawn from the last poll
        page.page.evaluate("() => document.activeElement && document.activeElement.blur()")
        page.page.mouse.move(0, 0)  # no hover highlight over the plot
        shown = page.page.evaluate(SHOWN)
        screen = np.asarray(Image.open(io.BytesIO(page.page.screenshot())).convert("RGB"))
    finally:
        server.stop()
    rects = {k: np.asarray(v, float) for k, v in shown["rects"].items()}
    (x0, x1), (y0, y1) = shown["x"], shown["y"]
    per_pixel = (x1 - x0) / shown["width"]
    transfer = (rects["color"] == packed(theme.TRANSFER_COLOR)) & (rects["left"] >= x0)
    thin = transfer & (rects["right"] - rects["left"] < per_pixel) & (rects["right"] <= x1)
    assert thin.sum() >= 10, f"too few sub-pixel transfers to judge: {int(thin.sum())}"
    found = 0
    for left, right, bottom, top in zip(rects["left"][thin], rects["right"][thin],
                                        rects["bottom"][thin], rects["top"][thin], strict=True):
        column = shown["left"] + ((left + right) / 2 - x0) / per_pixel
        row = shown["top"] + (y1 - (bottom + top) / 2) / (y1 - y0) * shown["height"]
        around = screen[round(row) - 2: round(row) + 3, round(column) - 2: round(column) + 3]
        found += bool(red(around).any())
    # Short rows may share their pixels with a neighbour's outline; nearly all show.
    assert found >= 0.9 * thin.sum(), f"{found} of {int(thin.sum())} sub-pixel transfers show red"

"""A screenshot of a live status page shows each reserved task-stream colour
of a real cluster's transfers, disk reads and writes and erred tasks."""

from __future__ import annotations

import io

import numpy as np
from distributed import Client
from PIL import Image

from dashkit import theme
from tests.e2e.conftest import wait_until
from tests.helpers import reserved_colour_workload, status_server

#: The task stream's frame on the page, in page pixels.
FRAME = """() => {
    const views = [];
    for (const root of Bokeh.index) for (const view of root.owner.all_views()) views.push(view);
    const plot = views.find(v => v.frame && v.model.title && v.model.title.text === "Task stream");
    if (!plot) return null;
    const canvas = plot.canvas.el.getBoundingClientRect();
    const b = plot.frame.bbox;
    return {left: canvas.left + b.left, top: canvas.top + b.top, right: canvas.left + b.right,
            bottom: canvas.top + b.bottom};
}"""


def on_white(colour: str, alpha: float) -> np.ndarray:
    """``colour`` at ``alpha`` over the page's white background, as drawn."""
    rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)], dtype=float)
    return np.round(rgb * alpha + 255 * (1 - alpha))


def drawn(colour: str, alpha: float) -> list[np.ndarray]:
    """The colours a rectangle of ``colour`` shows over white: its fill at
    ``alpha``, its outline alone, and its outline over its fill."""
    line = theme.TASK_OUTLINE_ALPHA
    return [on_white(colour, alpha), on_white(colour, line),
            on_white(colour, line + (1 - line) * alpha)]


def pixels_of(image: np.ndarray, colours: list[np.ndarray], tolerance: int = 4) -> int:
    return sum(int((np.abs(image.astype(int) - rgb).max(axis=2) <= tolerance).sum())
               for rgb in colours)


def test_each_reserved_colour_is_on_the_screen(spilling_cluster, open_page, tmp_path):
    server = status_server(tmp_path, spilling_cluster.scheduler_address)
    try:
        server.wait()  # its feed turns the scheduler's task stream on
        with Client(spilling_cluster, set_as_default=False) as client:
            futures = reserved_colour_workload(client)
            wait_until(lambda: futures[-1].status == "error", timeout=60, what="the task erred")
            page = open_page("reserved-colours")
            page.goto(server.url)
            wait_until(lambda: page.state() == "connected", timeout=90, what="page connected")
            expected = {
                "transfer": drawn(*theme.ACTION_STYLE["transfer"]),
                "disk": drawn(*theme.ACTION_STYLE["disk-read"]),
                "erred": drawn(theme.ERRED_COLOR, 1.0),
            }

            def found() -> dict:
                box = page.page.evaluate(FRAME)
                if box is None:
                    return {}
                shot = Image.open(io.BytesIO(page.page.screenshot())).convert("RGB")
                # Inside the frame, off its edges (the axis line is drawn there).
                inner = np.asarray(shot)[round(box["top"]) + 2:round(box["bottom"]) - 2,
                                         round(box["left"]) + 2:round(box["right"]) - 2]
                return {name: pixels_of(inner, colours) for name, colours in expected.items()}

            wait_until(lambda: (c := found()) and min(c.values()) > 20, timeout=60,
                       what="each reserved colour on the screen")  # fmt: skip
    finally:
        server.stop()

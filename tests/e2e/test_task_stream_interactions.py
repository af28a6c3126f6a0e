"""The task stream in a browser: zoom re-aggregates dense history, hover names tasks,
zooming stops following and reset follows again."""

from __future__ import annotations

import re

import pytest

from tests.conftest import free_port
from tests.e2e.conftest import wait_until
from tests.helpers import BIN, Served

APP = "tests/e2e/apps/task_stream.py"


def serve_task_stream(tmp_path, rows: int) -> Served:
    port = free_port()
    server = Served(
        [str(BIN / "panel"), "serve", APP, "--port", str(port), "--address", "127.0.0.1",
         f"--allow-websocket-origin=127.0.0.1:{port}", "--args", "--rows", str(rows)],
        port, "task_stream", tmp_path,
    )  # fmt: skip
    server.wait()
    return server


@pytest.fixture(scope="module")
def dense_server(tmp_path_factory):
    server = serve_task_stream(tmp_path_factory.mktemp("dense"), rows=1_000_000)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def sparse_server(tmp_path_factory):
    server = serve_task_stream(tmp_path_factory.mktemp("sparse"), rows=0)
    yield server
    server.stop()


IMAGE = """() => {
    for (const m of Bokeh.documents[0].all_models) {
        if (m.data && m.data.image && m.data.dw) {
            return {x: m.data.x[0], dw: m.data.dw[0], width: m.data.image[0].length};
        }
    }
    return null;
}"""


WIDEST_RECTANGLE = """() => {
    // Screen position of the centre of the widest task-stream rectangle.
    const views = [];
    const walk = (v) => {
        views.push(v);
        for (const c of (v.child_views ?? [])) walk(c);
    };
    for (const root of Object.values(Bokeh.index)) walk(root);
    const plot = views.find(v => v.frame && v.model.title && v.model.title.text === "Task stream");
    const d = plot.model.renderers.map(r => r.data_source.data).find(d => d.key && d.key.length);
    let best = 0;
    for (let i = 0; i < d.key.length; i++)
        if (d.right[i] - d.left[i] > d.right[best] - d.left[best]) best = i;
    const box = plot.el.getBoundingClientRect();
    return {key: d.key[best],
            x: box.left + plot.frame.x_scale.compute((d.left[best] + d.right[best]) / 2),
            y: box.top + plot.frame.y_scale.compute((d.bottom[best] + d.top[best]) / 2)};
}"""


def plot_box(page) -> dict:
    """The task-stream canvas on screen."""
    canvases = [c for c in page.page.locator("canvas").all() if c.is_visible()]
    return max((c.bounding_box() for c in canvases), key=lambda b: b["width"] * b["height"])


def wait_for_or_false(condition, timeout: float) -> bool:
    """Whether ``condition`` becomes true within ``timeout`` seconds."""
    try:
        wait_until(condition, timeout=timeout)
    except AssertionError:
        return False
    return True


def test_wheel_zoom_on_a_million_rows_gives_a_finer_image(dense_server, open_page):
    page = open_page("task-stream-dense", width=1300, height=800)
    page.goto(dense_server.url)
    wait_until(lambda: page.state() == "connected", timeout=60, what="connected")
    assert int(re.search(r"([\d,]+) task-stream rows", page.status_text()).group(1)
               .replace(",", "")) >= 1_000_000  # fmt: skip
    # Following shows the last seconds, all rectangles; the whole run is mostly image.
    page.page.get_by_text("Whole run").click()
    wait_until(lambda: (page.page.evaluate(IMAGE) or {"width": 0})["width"] > 100,
               timeout=60, what="history image")  # fmt: skip
    before = page.page.evaluate(IMAGE)
    span = page.plot("Task stream")["x1"] - page.plot("Task stream")["x0"]
    box = plot_box(page)
    shot = page.page.screenshot(clip=box)
    page.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)

    def zoomed_in() -> bool:
        return page.plot("Task stream")["x1"] - page.plot("Task stream")["x0"] < span * 0.8

    # A follow update already on its way when the wheel starts can undo the
    # first gesture (the server stops following only when the gesture's first
    # event reaches it); a user would scroll again, and so does this test.
    for _attempt in range(3):
        for _ in range(5):
            page.page.mouse.wheel(0, -400)
            page.page.wait_for_timeout(100)
        if wait_for_or_false(zoomed_in, timeout=10):
            break
    wait_until(zoomed_in, timeout=20, what="x range shrinking")
    # A new aggregation arrives for the smaller range: same pixels, fewer seconds each.
    wait_until(lambda: (page.page.evaluate(IMAGE) or before)["dw"] < before["dw"] * 0.8,
               timeout=30, what=f"a re-aggregated image (before {before}, "
               f"now {page.page.evaluate(IMAGE)}, plot {page.plot('Task stream')})")  # fmt: skip
    assert page.page.screenshot(clip=box) != shot
    # Zoomed in, the view no longer follows the run...
    zoomed = page.plot("Task stream")
    rows = page.status_text()
    wait_until(lambda: page.status_text() != rows, what="more rows arriving")
    page.page.wait_for_timeout(1500)
    assert page.plot("Task stream")["x1"] == pytest.approx(zoomed["x1"])
    # ...and the reset tool follows it again: the whole history, growing. The
    # toolbar shows while the pointer is over the plot.
    page.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.page.locator(".bk-tool-icon-reset").first.click()
    wait_until(lambda: page.plot("Task stream")["x1"] - page.plot("Task stream")["x0"]
               > span * 0.9, what="reset to the whole history")  # fmt: skip
    end = page.plot("Task stream")["x1"]
    wait_until(lambda: page.plot("Task stream")["x1"] > end, what="following again")


def test_hover_shows_a_real_task_key(sparse_server, open_page):
    page = open_page("task-stream-hover", width=1300, height=800)
    page.goto(sparse_server.url)
    wait_until(lambda: page.state() == "connected", timeout=60, what="connected")
    wait_until(lambda: sum(page.plot("Task stream")["rows"]) > 20, what="rectangles")
    keys = set(page.page.evaluate("""() => {
        const keys = [];
        for (const m of Bokeh.documents[0].all_models)
            if (m.data && m.data.key) keys.push(...m.data.key);
        return keys;
    }"""))
    target = page.page.evaluate(WIDEST_RECTANGLE)
    page.page.mouse.move(target["x"], target["y"])
    tooltip = page.page.locator(".bk-tooltip-content").first
    wait_until(lambda: tooltip.is_visible() and "Key" in tooltip.inner_text(),
               what="a tooltip")  # fmt: skip
    text = tooltip.inner_text()
    match = re.search(r"Key:\s*(\S+)", text)
    assert match, f"no key in the tooltip {text!r}"
    assert match.group(1) == target["key"] and match.group(1) in keys

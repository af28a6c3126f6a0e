"""The task stream in a browser: zoom re-aggregates dense history, hover names tasks
(served and in an export, hostile names as text), zooming stops following and
reset follows again."""

from __future__ import annotations

import re

import numpy as np
import pytest
from dask.utils import format_time

from dashkit import schema, theme
from dashkit.components import TaskStream
from dashkit.export import save_html
from dashkit.feed import Feed
from dashkit.layouts import Column, Layout
from tests.conftest import StaticSource, free_port
from tests.e2e.conftest import HOVER_NAMES, hover_text, wait_until
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
    // Screen position of the centre of the widest task-stream rectangle, with
    // what the page holds about it.
    const hover_names = """ + HOVER_NAMES + """;
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
    const row = {prefix: d.prefix[best], action: d.action[best], pair: d.pair[best],
                 duration: d.duration[best]};
    return {key: d.key[best], hover: [hover_names(plot), row],
            x: box.left + plot.frame.x_scale.compute((d.left[best] + d.right[best]) / 2),
            y: box.top + plot.frame.y_scale.compute((d.bottom[best] + d.top[best]) / 2)};
}"""


def hover_widest_rectangle(page) -> tuple[dict, dict]:
    """Point at the widest rectangle; returns what the page says of it and what
    its tooltip shows, by label."""
    target = page.page.evaluate(WIDEST_RECTANGLE)
    page.page.mouse.move(target["x"], target["y"])
    tooltip = page.page.locator(".bk-tooltip-content").first
    wait_until(lambda: tooltip.is_visible() and "Key" in tooltip.inner_text(),
               what="a tooltip")  # fmt: skip
    lines = (line.split(":", 1) for line in tooltip.inner_text().splitlines() if ":" in line)
    return target, {label.strip(): value.strip() for label, value in lines}


def expected_hover(target: dict) -> dict:
    """What the tooltip of ``target`` must say, named in Python from the codes
    and the names the page holds."""
    text = hover_text(*target["hover"])
    return {"Key": target["key"], **{label.capitalize(): value for label, value in text.items()}}


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
    target, shown = hover_widest_rectangle(page)
    assert shown["Key"] == target["key"] and shown["Key"] in keys
    assert shown == expected_hover(target)
    assert shown["Worker"].startswith("tcp://") and shown["Thread"].isdigit()
    assert shown["Prefix"] == shown["Key"].rsplit("-", 1)[0]


HOSTILE = '<img src=x onerror="window.pwned=1">'


def test_an_exported_hover_names_hostile_workers_and_prefixes_as_text(open_page, tmp_path):
    start = np.arange(6, dtype=float)
    tasks = schema.tasks_frame({
        "start": start, "stop": start + [700.0, 0.0015, 2.0, 0.25, 0.5, 1.125],
        "worker": [f"tcp://{HOSTILE}:1"] * 3 + ["tcp://w:2"] * 3, "thread": [1, 2, 1, 7, 7, 7],
        "key": [f"{HOSTILE}-{i}" for i in range(3)] + [f"inc-{i}" for i in range(3)],
        "prefix": [HOSTILE] * 3 + ["inc"] * 3,
        "action": ["disk-read", "transfer", "compute", "compute", "compute", "compute"],
        "status": ["ok"] * 6,
    })  # fmt: skip
    feed = Feed(StaticSource.make(tasks=tasks))
    feed.poll()
    layout = Layout(feed=feed, columns=[Column(cells=[TaskStream(feed=feed)])])
    out = save_html(layout, tmp_path / "hover.html")
    page = open_page("task-stream-export-hover", width=1300, height=800)
    page.page.goto(out.resolve().as_uri())
    page.page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0")
    target, shown = hover_widest_rectangle(page)
    assert shown == expected_hover(target)
    # The hostile names are shown as text, never run (its image would be a failed request).
    assert shown == {"Key": f"{HOSTILE}-0", "Prefix": HOSTILE, "Action": "disk-read",
                     "Duration": "11m 40s", "Worker": f"tcp://{HOSTILE}:1",
                     "Thread": "1"}  # fmt: skip
    page.page.wait_for_timeout(500)  # an onerror handler would have run by now
    assert page.page.evaluate("() => window.pwned") is None


def test_the_pages_duration_text_is_format_times_to_the_digit(open_page):
    page = open_page("task-hover-durations")
    rng = np.random.default_rng(3)
    seconds = [0.0, 1e-7, 0.000123, 0.0012345, 0.001, 0.999999, 1.0, 1.125, 1.375, 2.675,
               0.125, 599.995, 600.0, 600.5, 1234.567, 7200.0, 7201.0, 12345.67, 172800.0,
               172801.0, 1234567.89, *(10.0 ** rng.uniform(-7, 7, 300)).tolist(),
               *np.float32(rng.uniform(0, 5, 200)).astype(float).tolist()]  # fmt: skip
    shown = page.page.evaluate(
        """([code, seconds]) => {
            const format = new Function("names", "value", "format", "special_vars", code);
            return seconds.map(s => format({}, s, "duration", {}));
        }""",
        [theme.TASK_HOVER_JS, seconds],
    )
    assert shown == [format_time(s) for s in seconds]

"""Every layout served by `panel serve` (and `dashkit serve`), seen in a browser."""

from __future__ import annotations

import re

import pytest
from distributed import LocalCluster

from dashkit.components import TaskStream
from dashkit.sources.workload import DemoWorkload
from tests.conftest import free_port
from tests.e2e.conftest import wait_until
from tests.helpers import BIN, DASHKIT_READY, Served

LAYOUTS = ["status", "status_spec", "performance", "compact"]


@pytest.fixture(scope="module")
def cluster_with_work():
    with LocalCluster(n_workers=2, threads_per_worker=2, processes=False, protocol="tcp",
                      host="127.0.0.1", dashboard_address=None) as cluster:  # fmt: skip
        workload = DemoWorkload(cluster.scheduler_address, pause=0.5)
        workload.start()
        try:
            yield cluster
        finally:
            workload.stop()


@pytest.fixture(scope="module")
def served_layouts(cluster_with_work, tmp_path_factory):
    """All layouts in one `panel serve` process, on the test's cluster."""
    port = free_port()
    scripts = [f"layouts/{name}.py" for name in LAYOUTS]
    server = Served(
        [str(BIN / "panel"), "serve", *scripts, "--port", str(port), "--address", "127.0.0.1",
         f"--allow-websocket-origin=127.0.0.1:{port}"],
        port, "status", tmp_path_factory.mktemp("serve"),
        env={"DASHKIT_SCHEDULER": cluster_with_work.scheduler_address},
    )  # fmt: skip
    try:
        server.wait()
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def check_live_page(page) -> None:
    """Connected, every visible plot painted, and the view moving with the workload."""
    wait_until(lambda: page.state() == "connected", timeout=60, what="connected")
    wait_until(lambda: sum(page.plot("Task stream")["rows"]), timeout=60,
               what="task-stream rectangles")  # fmt: skip
    visible = [p for p in page.plots() if p["title"]]
    # A plot HoloViews redraws (a new prefix in progress) is blank for a moment.
    # Each look screenshots every canvas, 5-9 s on a loaded machine: allow several.
    painted = wait_until(lambda: (c := page.canvases_painted()) and min(c) >= 8 and c,
                         timeout=60, what="every visible plot painted")  # fmt: skip
    assert len(painted) >= len(visible) - 2  # plots in hidden tabs have no visible canvas
    end = page.plot("Task stream")["x1"]
    title = page.plot("Progress")["title"]
    rows = task_rows(page)
    wait_until(lambda: task_rows(page) > rows, timeout=30, what="more task-stream rows")
    wait_until(lambda: page.plot("Task stream")["x1"] > end, timeout=30,
               what="task stream following the run")  # fmt: skip
    wait_until(lambda: page.plot("Progress")["title"] != title, timeout=30,
               what="progress title changing")  # fmt: skip


def task_rows(page) -> int:
    return int(re.search(r"([\d,]+) task-stream rows", page.status_text()).group(1)
               .replace(",", ""))  # fmt: skip


@pytest.mark.parametrize("name", LAYOUTS)
def test_layout_renders_and_updates(name, served_layouts, open_page):
    page = open_page(f"layout-{name}")
    page.goto(f"{served_layouts}/{name}")
    check_live_page(page)
    if name == "compact":  # the dark layout is dark
        background = page.pixel(3, 300)
        assert sum(background) < 150, background


def test_the_task_stream_follows_the_last_seconds_and_shows_the_whole_run_on_request(
    served_layouts, open_page
):
    window = TaskStream.param.window.default
    run = max(60, window + 5)  # a minute of steady work, as a user would first look
    page = open_page("task-stream-window")
    page.goto(f"{served_layouts}/status")
    wait_until(lambda: page.plot("Task stream")["x1"] > run, timeout=120,
               what=f"a run longer than {run:g} s")  # fmt: skip
    wait_until(lambda: page.plot("Task stream")["x1"] - page.plot("Task stream")["x0"]
               <= window + 0.01, what="the view following the last seconds")  # fmt: skip

    page.page.get_by_role("button", name="Whole run").click()
    wait_until(lambda: page.plot("Task stream")["x0"] < 1.0, what="the whole run in view")
    assert page.plot("Task stream")["x1"] > run

    page.page.get_by_role("button", name=f"Last {window:g} s").click()
    wait_until(lambda: page.plot("Task stream")["x1"] - page.plot("Task stream")["x0"]
               <= window + 0.01, what="following the last seconds again")  # fmt: skip


def test_dashkit_serve_with_no_arguments(open_page, tmp_path):
    port = free_port()
    server = Served([str(BIN / "dashkit"), "serve", "--port", str(port)], port, "status",
                    tmp_path, ready=DASHKIT_READY)  # fmt: skip
    try:
        server.wait()
        # Waiting on the plot list leaves the page built at start for the
        # browser (dashkit/page_pool.py; tests/e2e/test_page_pool.py has the rest).
        page = open_page("dashkit-serve")
        page.goto(server.url)
        check_live_page(page)
        assert "2 workers" in page.status_text()
    finally:
        server.stop()

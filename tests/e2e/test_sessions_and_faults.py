"""Many pages on one server, and a scheduler that dies while a page is open."""

from __future__ import annotations

import operator
import re
import time

from distributed import Client, LocalCluster

from dashkit.sources import scheduler_side
from tests.conftest import free_port
from tests.e2e.conftest import open_sessions, session_info, wait_until
from tests.helpers import BIN, Served

PERIOD = 0.5  # the feed's default poll period


def serve_status(tmp_path, scheduler: str) -> Served:
    port = free_port()
    server = Served(
        [str(BIN / "panel"), "serve", "layouts/status.py", "--port", str(port),
         "--address", "127.0.0.1", f"--allow-websocket-origin=127.0.0.1:{port}",
         "--rest-session-info", "--session-history", "-1",
         "--check-unused-sessions", "1000", "--unused-session-lifetime", "3000"],
        port, "status", tmp_path, env={"DASHKIT_SCHEDULER": scheduler},
    )  # fmt: skip
    server.wait()
    return server


def quads(page) -> int:
    """Rectangles in the task stream's quads layer (the largest of its glyph sources)."""
    return max(page.plot("Task stream")["rows"])


def task_rows(page) -> int:
    return int(re.search(r"([\d,]+) task-stream rows", page.status_text()).group(1)
               .replace(",", ""))  # fmt: skip


def test_five_pages_cost_one_poll_per_period(open_page, tmp_path):
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, protocol="tcp",
                      host="127.0.0.1", dashboard_address=None) as cluster:  # fmt: skip
        scheduler = cluster.scheduler
        server = serve_status(tmp_path, cluster.scheduler_address)
        base = server.url.rsplit("/", 1)[0]
        try:
            wait_until(lambda: scheduler_side.HANDLER in scheduler.handlers, timeout=60,
                       what="the snapshot handler registered")  # fmt: skip
            calls: list[float] = []
            handler = scheduler.handlers[scheduler_side.HANDLER]
            scheduler.handlers[scheduler_side.HANDLER] = (
                lambda **kw: calls.append(time.monotonic()) or handler(**kw))
            # Opened one after another: pages created at the same instant
            # sometimes got Panel stylesheet links to the CDN (see README).
            pages = [open_page(f"session-{i}") for i in range(5)]
            for page in pages:
                page.goto(server.url)
                wait_until(lambda p=page: p.state() == "connected", timeout=60,
                           what="every page connected")  # fmt: skip
            wait_until(lambda: open_sessions(base) >= 5, what="five open sessions")
            began = time.monotonic()
            time.sleep(4)
            window = [t for t in calls if t >= began]
            # One shared poller: about window / period calls, not five times that.
            assert len(window) <= 4 / PERIOD + 2, len(window)
            assert len(window) >= 4 / PERIOD / 2
            assert session_info(base)["total"] >= 5
        finally:
            server.stop()


def test_scheduler_death_is_shown_and_recovered(scheduler_process, open_page, tmp_path):
    scheduler_process.start_worker()
    server = serve_status(tmp_path, scheduler_process.address)
    try:
        page = open_page("fault")
        page.goto(server.url)
        wait_until(lambda: page.state() == "connected", timeout=60, what="connected")
        with Client(scheduler_process.address, set_as_default=False) as client:
            client.gather(client.map(operator.add, range(200), [1] * 200))
        wait_until(lambda: task_rows(page) >= 200, timeout=30, what="rows counted")
        # Each component redraws on its own tick: wait for the plot too.
        wait_until(lambda: quads(page) == task_rows(page), timeout=30, what="every row drawn")
        drawn = quads(page)

        scheduler_process.kill_scheduler()
        wait_until(lambda: page.state() == "disconnected", timeout=60, what="disconnected shown")
        assert "did not answer" in page.status_text()
        assert quads(page) == drawn  # the last data stays drawn

        scheduler_process.stop()
        scheduler_process.start_scheduler()
        scheduler_process.start_worker()
        wait_until(lambda: page.state() == "connected", timeout=90, what="connected again")
        before = task_rows(page)
        with Client(scheduler_process.address, set_as_default=False) as client:
            client.gather(client.map(operator.mul, range(100), [2] * 100))
        wait_until(lambda: task_rows(page) >= before + 100, timeout=30, what="updating again")
    finally:
        server.stop()

"""A scheduler that dies while a page is open."""

from __future__ import annotations

import operator
import re

from distributed import Client

from tests.e2e.conftest import wait_until
from tests.helpers import status_server


def quads(page) -> int:
    """Rectangles in the task stream's quads layer (the largest of its glyph sources)."""
    return max(page.plot("Task stream")["rows"])


def task_rows(page) -> int:
    return int(re.search(r"([\d,]+) task-stream rows", page.status_text()).group(1)
               .replace(",", ""))  # fmt: skip


def test_scheduler_death_is_shown_and_recovered(scheduler_process, open_page, tmp_path):
    scheduler_process.start_worker()
    server = status_server(tmp_path, scheduler_process.address)
    server.wait()
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

"""Many pages on one served layout: one poll per period, and nothing left after they close."""

from __future__ import annotations

import json
import time
import urllib.request

from distributed import LocalCluster

from dashkit.sources import scheduler_side
from tests.conftest import free_port
from tests.e2e.conftest import wait_until
from tests.helpers import BIN, Served

PAGES = 5
CYCLES = 3
PERIOD = 0.5  # the feed's default poll period, seconds


def session_info(base_url: str) -> dict:
    """The server's own session records (``panel serve --rest-session-info``)."""
    with urllib.request.urlopen(f"{base_url}/rest/session_info", timeout=10) as response:
        return json.loads(response.read())["session_info"]


def open_sessions(base_url: str) -> int:
    """Sessions the server made and has not destroyed yet."""
    sessions = session_info(base_url)["sessions"].values()
    return sum(1 for s in sessions if not s["ended"])


def test_five_pages_cost_one_poll_and_leave_no_session(open_page, tmp_path):
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, protocol="tcp",
                      host="127.0.0.1", dashboard_address=None) as cluster:  # fmt: skip
        scheduler = cluster.scheduler
        port = free_port()
        server = Served(
            [str(BIN / "panel"), "serve", "layouts/status.py", "--port", str(port),
             "--address", "127.0.0.1", f"--allow-websocket-origin=127.0.0.1:{port}",
             "--rest-session-info", "--session-history", "-1",
             # A lifetime shorter than a slow page load discards sessions whose
             # websocket has not connected yet: Bokeh's default is 15 s.
             "--check-unused-sessions", "1000", "--unused-session-lifetime", "8000"],
            port, "status", tmp_path, env={"DASHKIT_SCHEDULER": cluster.scheduler_address},
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            server.wait()
            wait_until(lambda: scheduler_side.HANDLER in scheduler.handlers, timeout=60,
                       what="the snapshot handler registered")  # fmt: skip
            probed = session_info(base)["total"]  # server.wait()'s own request made sessions
            calls: list[float] = []
            handler = scheduler.handlers[scheduler_side.HANDLER]
            scheduler.handlers[scheduler_side.HANDLER] = (
                lambda **kw: calls.append(time.monotonic()) or handler(**kw))  # fmt: skip

            for cycle in range(CYCLES):
                pages = [open_page(f"sessions-{cycle}-{i}") for i in range(PAGES)]
                for page in pages:
                    page.goto(server.url)
                for page in pages:
                    wait_until(lambda p=page: p.state() == "connected", timeout=60,
                               what=f"cycle {cycle}: every page connected")  # fmt: skip
                # Every page is connected, so its session exists and is not ended.
                assert open_sessions(base) >= PAGES, session_info(base)

                began = time.monotonic()
                time.sleep(4)  # a measuring window, not a wait for a condition
                polls = sum(1 for t in calls if t >= began)
                # One shared poller: about 4 s / period, not five times that.
                assert 4 / PERIOD / 2 <= polls <= 4 / PERIOD + 2, (cycle, polls)

                for page in pages:
                    page.screenshot()
                    page.close()
                wait_until(lambda: open_sessions(base) == 0, timeout=30,
                           what=f"cycle {cycle}: closed pages' sessions destroyed")  # fmt: skip
                assert session_info(base)["total"] == probed + PAGES * (cycle + 1)
        finally:
            server.stop()

"""A flood of page requests from one address does not starve the pages already
open: each request is answered, and an open page keeps taking in updates."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request

from tests.e2e.conftest import wait_until
from tests.helpers import dashkit_server, synthetic_status

RATE = 3.0  # page requests a second, each with a query (no page built ahead serves it)
SECONDS = 12.0


def test_a_flood_of_page_requests_leaves_an_open_page_updating(tmp_path, open_page):
    server = dashkit_server(synthetic_status(n_workers=4, seed=3), tmp_path, "cluster")
    answered: list[tuple[int, float]] = []
    try:
        server.wait()
        page = open_page("flooded")
        patches: list[float] = []  # when each update (a PATCH-DOC message) arrived

        def on_frame(payload) -> None:
            if isinstance(payload, str) and '"msgtype":"PATCH-DOC"' in payload.replace(" ", ""):
                patches.append(time.monotonic())

        page.page.on("websocket", lambda ws: ws.on("framereceived", on_frame))
        page.goto(server.url)
        wait_until(lambda: page.state() == "connected", timeout=60, what="page connected")
        # Playwright reports frames while the test waits in it, not in time.sleep.
        page.page.wait_for_function("() => true")
        for _ in range(60):
            if len(patches) > 2:
                break
            page.page.wait_for_timeout(500)
        assert len(patches) > 2, "no update arrived"

        def ask(i: int) -> None:
            began = time.monotonic()
            try:
                with urllib.request.urlopen(f"{server.url}?q={i}", timeout=60) as response:
                    code = response.status
            except urllib.error.HTTPError as refused:
                code = refused.code
            answered.append((code, time.monotonic() - began))

        began = time.monotonic()
        threads = []
        for i in range(int(RATE * SECONDS)):
            thread = threading.Thread(target=ask, args=(i,), daemon=True)
            thread.start()
            threads.append(thread)
            page.page.wait_for_timeout(1000 / RATE)
        ended = time.monotonic()
        updates = sum(began <= t <= ended for t in patches) / (ended - began)
        for thread in threads:
            thread.join(timeout=90)
    finally:
        server.stop()
    assert len(answered) == int(RATE * SECONDS), "a request was never answered"
    codes = [code for code, _ in answered]
    print(f"open page: {updates:.2f} updates/s; answers: {codes.count(200)} pages, "
          f"{codes.count(503)} refused, slowest {max(t for _, t in answered):.1f} s")
    assert set(codes) <= {200, 503} and codes.count(200) >= 5
    assert max(seconds for _, seconds in answered) < 60
    assert updates >= 1.0, f"the open page took in {updates:.2f} updates a second"

"""Live pages on a busy cluster: each page stays still and stays fresh, five at once.

Five Chromium tabs, the server and the embedded cluster share two cores here,
so the floor on redraws is what that machine sustains (benchmarks/README.md
has the rates); the test holds that no page is starved and none resizes.
"""

from __future__ import annotations

import json
import time

from tests.e2e.conftest import wait_until
from tests.helpers import status_server

PAGES = 5
WINDOW = 20.0  # seconds measured after the pages settled
MIN_RATE = 0.1  # updates per second every page must receive: none is starved


class Frames:
    """What one page's websocket carries: updates received, size reports sent."""

    def __init__(self, page):
        self.updates: list[float] = []
        self.size_reports: list[tuple[float, str]] = []
        page.on("websocket", self._attach)

    def _attach(self, ws) -> None:
        ws.on("framereceived", self._received)
        ws.on("framesent", self._sent)

    def _received(self, payload) -> None:
        if isinstance(payload, str) and '"msgtype":"PATCH-DOC"' in payload.replace(" ", ""):
            self.updates.append(time.monotonic())

    def _sent(self, payload) -> None:
        if not isinstance(payload, str) or '"kind":"ModelChanged"' not in payload.replace(" ", ""):
            return
        for event in json.loads(payload).get("events", []):
            if event.get("attr") in ("inner_width", "inner_height", "outer_width", "outer_height"):
                self.size_reports.append((time.monotonic(), f"{event['attr']}={event['new']}"))

    def quiet_for(self, page, seconds: float) -> bool:
        """No size report for ``seconds`` (the page has settled)."""
        page.wait_for_timeout(100)  # Playwright delivers events only while it is called
        last = self.size_reports[-1][0] if self.size_reports else 0.0
        return time.monotonic() - last >= seconds


def test_five_busy_pages_keep_redrawing_without_resizing(open_page, tmp_path):
    server = status_server(tmp_path)  # an embedded cluster running the demo workload
    try:
        server.wait()
        pages = [open_page(f"live-{i}") for i in range(PAGES)]
        frames = [Frames(page.page) for page in pages]
        for page in pages:
            page.goto(server.url)
        for page in pages:
            wait_until(lambda p=page: p.state() == "connected", timeout=90, what="connected")
            wait_until(lambda p=page: max(p.plot("Task stream")["rows"]) > 50, timeout=90,
                       what="the task stream drawing the demo workload")  # fmt: skip
        for page, seen in zip(pages, frames, strict=True):
            wait_until(lambda s=seen, p=page: s.quiet_for(p.page, 5), timeout=60,
                       what=f"{page.name} settled")  # fmt: skip
        began = time.monotonic()
        # The measuring window, not a wait for a condition (and Playwright
        # delivers the frames' events while it waits).
        pages[0].page.wait_for_timeout(WINDOW * 1000)
        for page, seen in zip(pages, frames, strict=True):
            resized = [report for t, report in seen.size_reports if t >= began]
            assert not resized, f"{page.name} changed size while updating: {resized}"
            rate = sum(1 for t in seen.updates if t >= began) / WINDOW
            assert rate >= MIN_RATE, f"{page.name}: {rate:.1f} updates per second"
    finally:
        server.stop()

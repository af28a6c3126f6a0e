"""Several live pages on one served layout of a busy cluster.

One shared poll per period whatever the number of pages; each page stays
still (no size change once settled, no stylesheet rewritten unchanged) and fresh;
closed pages leave no session behind. The five pages, the server and the
cluster share two cores here: each page took in 1.6-1.75 of the 2 redraws a
second the poll period allows, so the floor is half that rate
(benchmarks/README.md has the rates).
"""

from __future__ import annotations

import json
import time
import urllib.request

from distributed import Client

from dashkit.sources import scheduler_side
from dashkit.sources.workload import DemoWorkload
from tests.e2e.conftest import wait_until
from tests.helpers import status_server

PAGES = 5
PERIOD = 0.5  # the feed's default poll period, seconds
WINDOW = 12.0  # seconds measured after the pages settled
MIN_RATE = 1 / PERIOD / 2  # updates per second every page must receive


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


#: Count, from now on, the stylesheets in the page's shadow roots (where
#: BokehJS's views live) rewritten with the text they had; any rewrite has
#: the browser recompute the page's styles.
COUNT_STYLE_REWRITES = """() => {
    window.styleRewrites = 0;
    const text = (nodes) => [...nodes].map(n => n.textContent).join("");
    const observer = new MutationObserver(records => {
        for (const r of records) {
            const unchanged = r.type === "childList" && r.removedNodes.length > 0
                && text(r.removedNodes) === text(r.addedNodes);
            if (r.target.tagName === "STYLE" && unchanged) window.styleRewrites += 1;
        }
    });
    const watch = (root) => {
        observer.observe(root, {subtree: true, childList: true, characterData: true});
        for (const el of root.querySelectorAll("*")) if (el.shadowRoot) watch(el.shadowRoot);
    };
    watch(document);
    const sheet = Bokeh.require("core/dom").InlineStyleSheet.prototype;
    return sheet._update.dashkit === true;
}"""


def diagnosis(seen: Frames, began: float, server_log: str) -> str:
    """What a page that fell behind had received, and what the server logged
    of errors and closed connections: the test runs where no one watches."""
    before = sum(1 for t in seen.updates if t < began)
    last = f"{time.monotonic() - seen.updates[-1]:.1f} s ago" if seen.updates else "never"
    words = ("Error", "Traceback", "Exception", "closed")
    notes = [line for line in server_log.splitlines() if any(w in line for w in words)]
    return f"{before} updates before the window, the last {last}; server log: {notes[-20:]}"


def session_info(base_url: str) -> dict:
    """The server's own session records (``panel serve --rest-session-info``)."""
    with urllib.request.urlopen(f"{base_url}/rest/session_info", timeout=10) as response:
        return json.loads(response.read())["session_info"]


def open_sessions(base_url: str) -> int:
    """Sessions the server made and has not destroyed yet."""
    sessions = session_info(base_url)["sessions"].values()
    return sum(1 for s in sessions if not s["ended"])


def count_polls(client: Client) -> None:
    """Have the scheduler note the time of each dashkit snapshot it answers."""

    def install(dask_scheduler, name=scheduler_side.HANDLER):
        import time

        handler, calls = dask_scheduler.handlers[name], []
        dask_scheduler.handlers[name] = lambda **kw: calls.append(time.time()) or handler(**kw)
        dask_scheduler.dashkit_test_polls = calls

    client.run_on_scheduler(install)


def handler_registered(client: Client) -> bool:
    # Functions run on the scheduler are nested: it cannot import the tests.
    def registered(dask_scheduler, name=scheduler_side.HANDLER):
        return name in dask_scheduler.handlers

    return client.run_on_scheduler(registered)


def polls_since(client: Client, began: float) -> int:
    def since(dask_scheduler, began=began):
        return sum(1 for t in dask_scheduler.dashkit_test_polls if t >= began)

    return client.run_on_scheduler(since)


def test_busy_pages_share_one_poll_keep_redrawing_without_resizing_and_leave_no_session(
    open_page, scheduler_process, tmp_path
):
    scheduler_process.start_worker(nthreads=2)
    workload = DemoWorkload(scheduler_process.address)
    workload.start()
    server = status_server(
        tmp_path, scheduler_process.address, "--rest-session-info", "--session-history", "-1",
        # A lifetime shorter than a slow page load discards sessions whose
        # websocket has not connected yet: Bokeh's default is 15 s.
        "--check-unused-sessions", "1000", "--unused-session-lifetime", "8000",
    )  # fmt: skip
    base = server.url.rsplit("/", 1)[0]
    try:
        with Client(scheduler_process.address, set_as_default=False) as client:
            server.wait()
            wait_until(lambda: handler_registered(client), timeout=60,
                       what="the snapshot handler registered")  # fmt: skip
            count_polls(client)
            probed = session_info(base)["total"]  # server.wait()'s own request made sessions

            pages = [open_page(f"live-{i}") for i in range(PAGES)]
            frames = [Frames(page.page) for page in pages]
            for page in pages:
                page.goto(server.url)
            for page in pages:
                wait_until(lambda p=page: p.state() == "connected", timeout=90,
                           what=f"{page.name} connected")  # fmt: skip
            # Every page is connected, so its session exists and is not ended.
            assert open_sessions(base) >= PAGES, session_info(base)
            for page in pages:
                wait_until(lambda p=page: max(p.plot("Task stream")["rows"]) > 20, timeout=90,
                           what=f"{page.name}'s task stream drawing the workload")  # fmt: skip
            for page, seen in zip(pages, frames, strict=True):
                wait_until(lambda s=seen, p=page: s.quiet_for(p.page, 5), timeout=60,
                           what=f"{page.name} settled")  # fmt: skip

            # BokehJS rewrote each renderer's position stylesheet on every paint,
            # the same text or not: 43 an update on a two-worker page.
            assert all(page.page.evaluate(COUNT_STYLE_REWRITES) for page in pages)
            began, began_wall = time.monotonic(), time.time()
            # The measuring window, not a wait for a condition (and Playwright
            # delivers the frames' events while it waits).
            pages[0].page.wait_for_timeout(WINDOW * 1000)
            polls = polls_since(client, began_wall)
            # One shared poller: about WINDOW / period, not PAGES times that.
            assert WINDOW / PERIOD / 2 <= polls <= WINDOW / PERIOD + 2, polls
            for page, seen in zip(pages, frames, strict=True):
                resized = [report for t, report in seen.size_reports if t >= began]
                assert not resized, f"{page.name} changed size while updating: {resized}"
                rewrites = page.page.evaluate("() => window.styleRewrites")
                assert rewrites == 0, f"{page.name} rewrote {rewrites} stylesheets unchanged"
                rate = sum(1 for t in seen.updates if t >= began) / WINDOW
                assert rate >= MIN_RATE, (
                    f"{page.name}: {rate:.1f} updates per second ({polls} polls); "
                    f"{diagnosis(seen, began, server.log.read_text())}"
                )

            for page in pages:  # (a full-page screenshot of a busy live page times out)
                page.close()
            wait_until(lambda: open_sessions(base) == 0, timeout=30,
                       what="closed pages' sessions destroyed")  # fmt: skip
            assert session_info(base)["total"] == probed + PAGES
    finally:
        server.stop()
        workload.stop()

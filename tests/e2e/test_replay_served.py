"""`dashkit serve --replay`: a recording played in the browser, with its control."""

from __future__ import annotations

import re
import time

from tests.e2e.conftest import wait_until
from tests.helpers import replay_server
from tests.test_replay import synthetic_recording


def replay_label(page) -> tuple[str, float]:
    """The control's state and position; ("", -1) until it is drawn."""
    label = page.page.locator(".dashkit-replay")
    if not label.count():
        return "", -1.0
    found = re.search(r": ([\d,.]+) s of", label.first.inner_text())
    if not found:
        return "", -1.0
    return label.first.get_attribute("data-state"), float(found.group(1).replace(",", ""))


def rows_shown(page) -> int:
    return int(re.search(r"([\d,]+) task-stream rows", page.status_text()).group(1)
               .replace(",", ""))  # fmt: skip


def test_a_served_replay_plays_pauses_and_scrubs(open_page, tmp_path):
    recording = tmp_path / "run.dkrec"
    synthetic_recording(recording, snapshots=121)  # 60 s of a synthetic cluster
    server = replay_server(recording, tmp_path)
    try:
        server.wait()
        page = open_page("replay")
        page.goto(server.url)
        wait_until(lambda: page.state() == "connected", timeout=60, what="connected")
        wait_until(lambda: replay_label(page)[0] == "playing", what="the replay playing")
        first = rows_shown(page)
        wait_until(lambda: rows_shown(page) > first, what="rows arriving as the replay plays")
        wait_until(lambda: sum(page.plot("Task stream")["rows"]) > 0, what="rectangles drawn")

        page.page.get_by_role("button", name="Pause").click()
        wait_until(lambda: replay_label(page)[0] == "paused", what="paused shown")
        _, paused_at = replay_label(page)
        time.sleep(1.5)  # a measuring window: nothing may move while paused
        assert replay_label(page)[1] == paused_at

        # Scrub to the end: the whole recording, then "ended".
        slider = page.page.locator(".noUi-target").first
        box = slider.bounding_box()
        page.page.mouse.click(box["x"] + box["width"] - 1, box["y"] + box["height"] / 2)
        page.page.get_by_role("button", name="Play").click()
        wait_until(lambda: replay_label(page)[0] == "ended", timeout=60, what="ended")
        assert replay_label(page)[1] == 60.0
    finally:
        server.stop()

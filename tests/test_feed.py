"""Feed: polling, sharing, readers, lifecycle (synthetic source)."""

import dataclasses
import logging

import pytest

from dashkit.feed import Feed, next_poll
from dashkit.sources import SourceError, SyntheticSource
from tests.conftest import wait_for


class FlakySource(SyntheticSource):
    """Fails while ``down`` is set, like a scheduler that went away; a poll
    while ``reasons`` is not empty fails for the next of them."""

    down = False
    reasons: list = []

    def snapshot(self):
        if self.reasons:
            raise SourceError(self.reasons.pop(0))
        if self.down:
            raise SourceError("scheduler at tcp://x:1 did not answer: refused")
        return super().snapshot()


def test_poll_updates_frames_and_status():
    feed = Feed(SyntheticSource(seed=1, start_time=0.0))
    assert feed.poll()
    assert feed.status == "connected"
    assert len(feed.workers) == 8 and len(feed.progress) == 8
    assert feed.tasks.total > 0


def test_failure_keeps_data_and_recovers():
    src = FlakySource(seed=1, start_time=0.0)
    feed = Feed(src)
    feed.poll()
    held, workers = feed.tasks.total, feed.workers
    src.down = True
    assert feed.poll() is False
    assert feed.status == "disconnected: scheduler at tcp://x:1 did not answer: refused"
    assert feed.tasks.total == held and feed.workers is workers
    src.down = False
    assert feed.poll() and feed.status == "connected"


def test_shared_feed_polls_in_background_and_stops_with_last_reader():
    src = SyntheticSource(seed=9, start_time=0.0)
    feed = Feed.shared(src, period=0.05, linger=0)
    assert Feed.shared(SyntheticSource(seed=9, start_time=0.0)) is feed  # same key
    assert Feed.shared(SyntheticSource(seed=10, start_time=0.0)) is not feed
    a, b = feed.reader(), feed.reader()
    wait_for(lambda: feed.polls >= 3)
    rows_a, rows_b = a.read(), b.read()
    assert len(rows_a.frame) > 0 and rows_a.cursor == rows_b.cursor
    a.close()
    assert feed.running
    b.close()
    wait_for(lambda: not feed.running)
    assert feed.status == "stopped"
    assert Feed.shared(SyntheticSource(seed=9, start_time=0.0)) is not feed


def test_linger_keeps_a_reloaded_page_on_the_same_feed():
    feed = Feed.shared(SyntheticSource(seed=11, start_time=0.0), period=0.05, linger=30)
    feed.reader().close()
    reader = feed.reader()  # the reload arrives within the linger time
    wait_for(lambda: feed.polls >= 2)
    assert feed.running
    reader.close()


def test_degraded_status_names_missing_fields():
    class Partial(SyntheticSource):
        def snapshot(self):
            snap = super().snapshot()
            return type(snap)(**{**snap.__dict__, "missing": ("queued", "occupancy")})

    feed = Feed(Partial(seed=1, start_time=0.0))
    feed.poll()
    assert feed.status == "degraded: queued, occupancy"


def test_bad_parameter_is_named():
    with pytest.raises(ValueError, match="max_task_rows"):
        Feed(SyntheticSource(), max_task_rows=0)


class BrokenSource(SyntheticSource):
    """A source with a bug: raises, or hands over a snapshot no reader can use."""

    broken: str | None = None

    def snapshot(self):
        if self.broken == "raises":
            raise ZeroDivisionError("division by zero")
        snap = super().snapshot()
        if self.broken == "bad data":
            snap = dataclasses.replace(snap, tasks="not a frame")
        return snap


@pytest.mark.parametrize(("broken", "status"), [
    ("raises", "failed: ZeroDivisionError: division by zero"),
    ("bad data", "failed: AttributeError"),
])  # fmt: skip
def test_any_failure_leaves_the_feed_polling_with_its_data_and_says_so(broken, status, caplog):
    source = BrokenSource(seed=1, start_time=0.0)
    feed = Feed(source, period=0.02)
    assert feed.poll()
    held = feed.tasks.total
    source.broken = broken
    feed.start()
    try:
        wait_for(lambda: feed.failures >= 5)
        assert feed.status.startswith(status), feed.status
        assert feed._thread.is_alive()
        assert feed.tasks.total == held  # the data held is kept
        assert len([r for r in caplog.records if r.levelname == "ERROR"]) == 1  # said once
        source.broken = None
        wait_for(lambda: feed.status == "connected")
        wait_for(lambda: feed.tasks.total > held)
    finally:
        feed.stop()


def test_an_outage_is_warned_once_whatever_its_reasons(caplog):
    source = FlakySource(seed=1, start_time=0.0)
    feed = Feed(source)
    assert feed.poll()
    source.reasons = ["connection reset", "timed out", "timed out", "refused"]
    with caplog.at_level(logging.DEBUG, logger="dashkit"):
        while source.reasons:
            assert not feed.poll()
        assert feed.status == "disconnected: refused"  # the page shows the latest reason
        assert feed.poll()
        source.reasons = ["timed out"]
        assert not feed.poll()
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 2, warned  # one per outage
    assert warned[0].endswith("connection reset") and warned[1].endswith("timed out")


def test_polls_keep_to_a_fixed_clock():
    # Polls that end late (a loaded machine) are followed by sooner ones: ten
    # polls take ten periods, where waiting a period after each took longer.
    period, due, now = 0.5, 0.0, 0.0
    for took in [0.05, 0.62, 0.05, 0.9, 0.3, 0.05, 0.7, 0.05, 0.05, 0.05]:
        now = max(now, due) + took
        due = next_poll(due, now, period)
    assert due == 10 * period
    # More than a period behind, the clock starts again: no burst of polls.
    assert next_poll(0.0, 3.0, period) == 3.0

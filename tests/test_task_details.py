"""A task's story: finding the bar clicked, what the scheduler says of it, erred
tasks' exceptions kept by the Feed and in recordings, and the card that shows it."""

from __future__ import annotations

import operator
import time

import numpy as np
import pyarrow as pa
import pytest

from dashkit import theme
from dashkit.components import TaskDetails, TaskStream
from dashkit.feed import MAX_ERRORS, Feed
from dashkit.layouts import Column, Layout, StatusPage
from dashkit.recorder import record
from dashkit.schema import tasks_frame
from dashkit.sources import DaskSource, Recording, ReplaySource, SyntheticSource
from dashkit.sources.replay import arrow_schema
from dashkit.sources.scheduler_side import MAX_EXCEPTION_CHARS
from dashkit.task_buffer import TaskBuffer
from dashkit.task_history import TaskHistory
from dashkit.task_picture import TaskPicture
from tests.conftest import wait_for

#: What the failing task raises: markup in it is data.
BOOM = "boom <img src=x onerror=alert(1)>"


def _fails(_i):
    raise ValueError(BOOM)


def _slow_inc(i):
    time.sleep(0.05)
    return i + 1


def erred(future) -> None:
    wait_for(lambda: future.status == "error", what=f"{future.key} erred")


@pytest.fixture
def synthetic_page():
    feed = Feed(SyntheticSource(n_workers=2, seed=3, start_time=0.0))
    for _ in range(4):
        feed.poll()
    page = StatusPage(feed=feed)
    stream = next(c for c in page.components() if isinstance(c, TaskStream))
    card = next(c for c in page.components() if isinstance(c, TaskDetails))
    return feed, stream, card


def middle_of(feed: Feed, index: int) -> tuple[float, float, str]:
    quads = TaskPicture.of(feed.history).quads(feed.history.oldest, feed.history.total)
    x = (quads["left"][index] + quads["right"][index]) / 2
    y = (quads["bottom"][index] + quads["top"][index]) / 2
    return x, y, quads["key"][index]


def test_the_bar_at_a_point_is_found_and_a_near_miss_counts_only_within_the_slack():
    history = TaskHistory(TaskBuffer(100, derived=TaskHistory.DERIVED))
    row = {"worker": "tcp://a:1", "thread": 1, "prefix": "p", "action": "compute", "status": "ok"}
    history.append(tasks_frame([{**row, "key": "p-1", "start": 100.0, "stop": 101.0},
                                {**row, "key": "p-2", "start": 102.0, "stop": 102.001},
                                {**row, "thread": 2, "key": "p-3", "start": 100.0, "stop": 103.0}]))
    assert history.task(history.find(0.5, 0.0))["key"] == "p-1"
    assert history.task(history.find(0.5, 1.2))["key"] == "p-3"  # the second thread's row
    assert history.find(0.5, 0.45, half=0.4) is None  # between two rows' bars
    assert history.find(1.5, 0.0) is None  # between two bars of a row
    assert history.task(history.find(1.99, 0.0, slack=0.02))["key"] == "p-2"  # a sliver
    assert history.task(history.find_key("p-2"))["duration"] == pytest.approx(0.001)
    assert history.find_key("no-such-key") is None


def test_a_click_fills_the_linked_card_and_a_spec_keeps_no_selection(synthetic_page):
    feed, stream, card = synthetic_page
    assert card.task_stream is stream  # the layout linked them
    assert "Click a task" in card.html
    x, y, key = middle_of(feed, 3)
    task = stream.select_at(x, y)
    assert card.task == task and task["key"] == key
    for shown in (key, task["worker"], "Duration", "ok"):
        assert shown in card.html
    assert "cannot ask a scheduler" in card.html  # a synthetic cluster has none
    cells = Layout(feed=feed, columns=[Column(cells=[stream, card])]).to_spec()["columns"][0]
    assert cells["cells"] == [{"type": "task_stream", "height": 470},
                              {"type": "task_details", "hidden_until_chosen": True}]


def test_a_key_typed_is_shown_escaped_and_unknown_keys_say_so(synthetic_page):
    feed, _stream, card = synthetic_page
    _x, _y, key = middle_of(feed, 0)
    assert card.show_key(key)["key"] == key
    assert "<table" in card.html
    card.show_key("<script>alert(1)</script>")
    assert "&lt;script&gt;" in card.html and "<script>" not in card.html
    assert "Not in the task stream held" in card.html


def test_erred_tasks_exceptions_reach_the_feed_and_the_card_with_the_schedulers_word(
    cluster, client
):
    feed = Feed(DaskSource(address=cluster.scheduler_address))
    assert feed.poll()
    failed = client.submit(_fails, 1, key="fails-1")
    erred(failed)
    incs = client.map(_slow_inc, range(4), key=[f"inc-{i}" for i in range(4)])
    total = client.submit(sum, incs, key="total-1")
    assert total.result() == 10
    wait_for(lambda: feed.poll() and feed.task_error("fails-1") and feed.history.find_key(
        "total-1") is not None, what="the erred task and the sum in the feed")  # fmt: skip
    exception, traceback = feed.task_error("fails-1")
    assert BOOM in exception and "_fails" in traceback

    card = TaskDetails(feed=feed)
    card.show_key("fails-1")  # no page: asks the scheduler right away
    assert card.task["status"] == "error"
    html = card.html
    assert "erred" in html and "boom &lt;img" in html and "<img" not in html
    info, note = feed.task_info("fails-1")
    assert note is None and info["state"] == "erred" and BOOM in info["exception"]

    card.show_key("total-1")
    assert "state <b>memory</b>" in card.html
    info, _ = feed.task_info("total-1")
    assert info["n_dependencies"] == 4 and {d["key"] for d in info["dependencies"]} == {
        f"inc-{i}" for i in range(4)}  # fmt: skip
    assert all(d["nbytes"] and d["who_has"] for d in info["dependencies"])

    del incs, total
    wait_for(lambda: feed.task_info("inc-0")[0]["state"] == "forgotten",
             what="the scheduler forgetting a released task")  # fmt: skip
    card.show_key("inc-0")
    assert "has forgotten this task" in card.html
    feed.source.close()


def test_exceptions_are_bounded(cluster, client):
    def raises_a_novel(_i):
        raise ValueError("x" * 100_000)

    feed = Feed(DaskSource(address=cluster.scheduler_address))
    assert feed.poll()
    erred(client.submit(raises_a_novel, 1, key="novel-1"))
    wait_for(lambda: feed.poll() and feed.task_error("novel-1"), what="the erred task")
    assert len(feed.task_error("novel-1")[0]) <= MAX_EXCEPTION_CHARS
    feed.source.close()


def test_a_feed_keeps_the_newest_errors_only():
    feed = Feed(SyntheticSource(seed=1))
    feed._keep_errors({f"k-{i}": ("e", "t") for i in range(MAX_ERRORS + 5)})
    assert len(feed.errors) == MAX_ERRORS and "k-0" not in feed.errors
    assert feed.task_error(f"k-{MAX_ERRORS + 4}") == ("e", "t")


def test_a_replay_shows_the_exception_recorded_and_says_it_cannot_ask(cluster, client, tmp_path):
    path = tmp_path / "erred.dkrec"
    live = Feed(DaskSource(address=cluster.scheduler_address), period=0.1)
    with record(live, path):
        live.start()
        erred(client.submit(_fails, 2, key="fails-2"))
        client.gather(client.map(operator.add, range(5), [1] * 5))
        wait_for(lambda: live.task_error("fails-2"), what="the erred task live")
        polls = live.polls
        wait_for(lambda: live.polls >= polls + 2, what="two more polls")
        live.stop()
    recording = Recording.read(path)
    assert list(recording.errors["key"]) == ["fails-2"]

    source = ReplaySource(path=str(path), playing=False)
    replay = Feed(source)
    source.connect()
    source.seek(source.duration)
    assert replay.poll()
    assert replay.task_error("fails-2") == live.task_error("fails-2")
    card = TaskDetails(feed=replay)
    card.show_key("fails-2")
    assert "boom &lt;img" in card.html and "cannot ask a scheduler" in card.html


def test_recordings_written_before_errors_were_kept_still_read(tmp_path):
    path = tmp_path / "older.dkrec"
    current = arrow_schema()
    older = pa.schema([f for f in current if not f.name.startswith("errors.")],
                      metadata=current.metadata)  # fmt: skip
    poll = {"kind": ["poll"], "time": [10.0], "poll.lost": [0], "poll.missing": [""],
            "poll.workers": [0], "poll.progress": [0]}  # fmt: skip
    batch = pa.table({f.name: poll.get(f.name, pa.nulls(1, f.type)) for f in older}, schema=older)
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, older) as writer:
        writer.write_table(batch)
    recording = Recording.read(path)
    assert len(recording.polls) == 1 and recording.errors.empty


def test_an_export_lists_the_erred_tasks_instead_of_a_card(synthetic_page):
    feed, _stream, card = synthetic_page
    assert "No task erred" in card.export_text()
    feed._keep_errors({"<b>k</b>": ("ValueError: <i>bad</i>", "")})
    text = card.export_text()
    assert "&lt;b&gt;k&lt;/b&gt;" in text and "&lt;i&gt;bad" in text and "<i>" not in text


def test_the_card_starts_hidden_on_the_status_page_and_shows_on_a_click(synthetic_page):
    feed, stream, card = synthetic_page
    view = card.__panel__()
    assert not view.visible
    x, y, _key = middle_of(feed, 1)
    stream.select_at(x, y)
    assert view.visible
    assert np.isfinite(card.task["duration"])


def test_a_transfer_says_from_where_to_where_and_how_many_bytes(cluster, client):
    feed = Feed(DaskSource(address=cluster.scheduler_address))
    assert feed.poll()
    first, second = sorted(client.scheduler_info()["workers"])
    data = client.submit(bytes, 1_000_000, workers=[first], key="data-1")
    length = client.submit(len, data, workers=[second], key="len-1")
    assert length.result() == 1_000_000

    def transfer() -> int | None:
        feed.poll()
        tasks = feed.tasks.frame()
        found = tasks.index[(tasks["action"] == "transfer") & (tasks["key"] == "len-1")]
        return feed.tasks.oldest + int(found[0]) if len(found) else None

    cursor = wait_for(transfer, what="the transfer in the feed")
    card = TaskDetails(feed=feed)
    card.task = feed.history.task(cursor)
    assert f"Moved from <b>{first}</b> to <b>{second}</b>" in card.html
    assert f"1 dependency held there, {theme.format_bytes(1_000_000)}" in card.html
    feed.source.close()


class _NoScans(dict):
    """A mapping that answers lookups but fails any scan of it."""

    def _scan(self, *_args):
        raise AssertionError("the question scanned every entry")

    __iter__ = items = keys = values = __reversed__ = _scan


def test_a_question_about_a_task_costs_the_scheduler_lookups_not_scans():
    from types import SimpleNamespace

    from dashkit.sources.scheduler_side import MAX_KEY_CHARS, SnapshotPlugin

    held = SimpleNamespace(state="memory", exception_text="", traceback_text="", nbytes=8,
                           type="int", who_has=(), processing_on=None, dependencies=(),
                           dependents=())  # fmt: skip
    record = {"key": ("x-1", 2), "thread": 1, "worker": "tcp://b:1", "status": "OK",
              "startstops": [{"action": "transfer", "start": 1.0, "stop": 1.5,
                              "source": "tcp://a:1"},
                             {"action": "compute", "start": 1.5, "stop": 2.0}]}  # fmt: skip
    stream = SimpleNamespace(buffer=[record], index=1)
    scheduler = SimpleNamespace(id="s", tasks=_NoScans({("x-1", 2): held}), workers={},
                                task_prefixes={}, idle={}, saturated=set(),
                                plugins={"task-stream": stream})  # fmt: skip
    plugin = SnapshotPlugin()
    plugin.scheduler = scheduler
    plugin.snapshot(cursor=0)  # the poll that reads the record
    stream.buffer = _NoScans()  # from now on, a scan of the task stream fails the test
    answer = plugin.task(key="('x-1', 2)")  # a tuple key, as the task stream carries it
    assert answer["state"] == "memory"
    assert answer["transfers"] == [{"source": "tcp://a:1", "start": 1.0, "stop": 1.5}]
    assert plugin.task(key="__import__('os')")["state"] == "forgotten"  # text, never run
    assert plugin.task(key="(" * 100_000)["state"] == "forgotten"
    assert len(plugin.task(key="k" * 10 * MAX_KEY_CHARS)["key"]) == MAX_KEY_CHARS


def counting_card() -> tuple[TaskDetails, list[str]]:
    """A card on a feed that counts the questions it would ask the scheduler."""
    asked: list[str] = []
    feed = Feed(SyntheticSource(seed=1, start_time=0.0))
    feed.poll()
    feed.task_info = lambda key: asked.append(key) or (None, "counted")
    return TaskDetails(feed=feed), asked


def test_one_card_asks_the_scheduler_a_few_times_a_second_however_fast_keys_come():
    from dashkit.components.task_details import ASKS_PER_SECOND

    card, asked = counting_card()
    began = time.monotonic()
    for i in range(12):
        card._search.value = f"typed-{i}"
    elapsed = time.monotonic() - began
    assert len(asked) == 12  # each key, in a script, is answered
    assert len(asked) <= elapsed * ASKS_PER_SECOND + 1


def test_a_key_too_long_to_be_one_is_not_looked_up():
    from dashkit.sources.scheduler_side import MAX_KEY_CHARS

    card, asked = counting_card()
    card._search.value = "k" * (MAX_KEY_CHARS + 1)
    assert asked == [] and card.task is None
    assert f"at most {MAX_KEY_CHARS:,} characters" in card.html


def test_a_click_on_a_black_pixel_opens_its_erred_task_and_the_card_steps_through_errors():
    feed = Feed(SyntheticSource(n_workers=16, seed=5, start_time=0.0, history_rows=200_000,
                                error_rate=0.001))  # fmt: skip
    feed.poll()
    page = StatusPage(feed=feed)
    stream = next(c for c in page.components() if isinstance(c, TaskStream))
    card = next(c for c in page.components() if isinstance(c, TaskDetails))
    card.ask_cluster = False  # a synthetic cluster has no scheduler to ask
    history = feed.history
    end = history.extent(history.oldest, history.total)[1]
    width, height = 1000, 320
    y_range = (-0.5, history.n_lanes - 0.5)
    image = stream.rasterize((0, end), y_range, width, height)
    rgba = image.view(np.uint8).reshape(height, width, 4)
    black = np.argwhere(np.all(rgba[..., :3] == 0, axis=2) & (rgba[..., 3] == 255))
    assert len(black) > 0
    pixel = (end / width, history.n_lanes / height)
    for row, col in black[:: max(len(black) // 20, 1)]:  # a click in the middle of a black pixel
        task = stream.select_at((col + 0.5) * pixel[0], y_range[0] + (row + 0.5) * pixel[1], pixel)
        assert task is not None and task["status"] == "error" and task["action"] == "compute"
        assert card.task == task
    erred = history.erred()
    assert erred.size > 10
    card.task = None
    seen = [card.step_error(+1)["cursor"] for _ in range(erred.size + 1)]
    assert seen == [*erred.tolist(), erred[0]]  # each in the order they came, then round again
    assert card.step_error(-1)["cursor"] == erred[-1]
    assert f"Erred task {erred.size:,} of {erred.size:,}" in card.html

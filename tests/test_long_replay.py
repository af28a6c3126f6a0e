"""A recording larger than what dashkit holds of one replays and exports whole:
its task rows are streamed from the file, the feed keeps its newest, and the
task stream's summary keeps the whole run."""

from __future__ import annotations

import os
import re
import subprocess

import numpy as np

from dashkit.components import TaskStream
from dashkit.feed import Feed
from dashkit.recorder import record
from dashkit.sources import Recording, ReplaySource, SyntheticSource
from dashkit.sources.replay import LIMIT_VARIABLE
from dashkit.task_picture import TaskPicture
from tests.conftest import ROOT
from tests.helpers import BIN


def long_recording(path, polls: int = 40) -> None:
    """``polls`` snapshots of a busy synthetic cluster, a minute of tasks each."""
    feed = Feed(SyntheticSource(n_workers=16, seed=9, start_time=0.0, tick=60.0,
                                mean_duration=0.5, error_rate=0.002))  # fmt: skip
    with record(feed, path) as recorder:
        for _ in range(polls):
            feed.poll()
            recorder.flush()  # a batch or more per snapshot, as a long run writes them


def test_a_replay_delivers_every_row_in_bounded_snapshots_and_the_summary_keeps_the_run(tmp_path):
    path = tmp_path / "long.dkrec"
    long_recording(path)
    rows = Recording.read(path).task_rows
    assert rows > 50_000
    source = ReplaySource(path=str(path), playing=False, max_rows=5_000)
    feed = Feed(source, max_task_rows=8_000)
    stream = TaskStream(feed=feed)
    TaskPicture.of(feed.history, summary_rows=4_000)  # before the first rows
    source.seek(source.duration)
    sizes = []
    while not source.finished:
        before = feed.tasks.total
        assert feed.poll()
        sizes.append(feed.tasks.total - before)
    assert max(sizes) == 5_000 and sum(sizes) == rows == feed.tasks.total
    assert len(feed.tasks) == 8_000 and feed.dropped == rows - 8_000
    history = feed.history
    end = history.extent(history.oldest, history.total)[1]
    image = stream.rasterize((0, end), (-0.5, history.n_lanes - 0.5), 400, 96)
    painted = image.view(np.uint8).reshape(96, 400, 4)[..., 3] > 0
    assert painted.any(axis=0).all()  # the whole run drawn, the dropped rows too
    assert painted[:, :40].sum() > 0.5 * painted[:, -40:].sum()
    stream.span = "run"  # "Whole run" follows the run from its start, dropped rows too
    assert stream.followed_range(feed.view()) == (0.0, end)


def test_export_of_a_recording_over_the_read_limit_holds_one_batch_at_a_time(tmp_path):
    path = tmp_path / "long.dkrec"
    long_recording(path)
    rows = Recording.read(path).task_rows
    # A quarter of the task rows decompressed (about 49 MiB), more than the
    # largest batch (about 3 MiB): a reader that held every row would be refused.
    limit = str(12 * 2**20)
    result = subprocess.run([str(BIN / "dashkit"), "export", "--replay", str(path), "-o",
                             str(tmp_path / "report.html")], capture_output=True, text=True,
                            timeout=300, cwd=ROOT,
                            env={**os.environ, LIMIT_VARIABLE: limit})  # fmt: skip
    assert result.returncode == 0, result.stderr
    exported = int(re.search(r"([\d,]+) task-stream rows\)", result.stderr).group(1)
                   .replace(",", ""))  # fmt: skip
    assert exported == rows

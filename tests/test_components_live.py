"""Components fed by a real LocalCluster workload."""

from __future__ import annotations

import operator

import pandas as pd
import pytest

from dashkit import theme
from dashkit.components import Progress, TaskProcessing, TaskStream, WorkerMemory
from dashkit.feed import Feed
from dashkit.sources import DaskSource
from dashkit.task_picture import TaskPicture
from tests.conftest import packed, wait_for
from tests.test_components import source_data

N = 500


@pytest.fixture
def live(cluster, client):
    feed = Feed(DaskSource(address=cluster.scheduler_address))
    feed.source.connect()
    incs = client.map(operator.add, range(N), [1] * N, key=[f"inc-{i}" for i in range(N)])
    total = client.submit(sum, incs, key="sum-1")
    bad = client.submit(operator.truediv, 1, 0, key="div-0")
    total.result()
    with pytest.raises(ZeroDivisionError):
        bad.result()

    def settled():
        feed.poll()
        progress = feed.progress.set_index("prefix")
        return feed.tasks.total >= N + 2 and progress["memory"].sum() == N + 1
    wait_for(settled)
    yield feed
    del incs, total, bad
    feed.stop()


def test_live_numbers_are_drawn(live):
    feed = live
    memory = pd.DataFrame(source_data(WorkerMemory(feed=feed)))
    managed = memory[memory["segment"] == "managed"].set_index("worker")
    for row in feed.workers.itertuples():
        if row.managed:
            drawn = managed.loc[row.address]
            assert drawn["right"] - drawn["left"] == row.managed

    processing = pd.DataFrame(source_data(TaskProcessing(feed=feed))).set_index("worker")
    assert (processing["right"] == 0).all()  # all done
    assert set(processing["color"]) == {theme.WORKER_STATE_COLORS["idle"]}

    progress = pd.DataFrame(source_data(Progress(feed=feed)))
    counts = progress.pivot_table(index="prefix", columns="state", values="count", aggfunc="sum")
    assert counts.loc["inc", "memory"] == N and counts.loc["sum", "memory"] == 1
    assert counts.loc["div", "erred"] == 1

    stream = pd.DataFrame(source_data(TaskStream(feed=feed)))
    names = TaskPicture.of(feed.history).names()
    stream = stream.assign(**names.decode(stream))  # what the hover shows
    rows = feed.tasks.frame()
    assert len(stream) == len(rows)  # one rectangle per task-stream row
    assert sorted(stream["key"]) == sorted(rows["key"])
    assert set(stream.loc[stream["key"] == "div-0", "color"]) == {packed(theme.ERRED_COLOR)}
    computes = stream[(stream["action"] == "compute") & (stream["prefix"] == "inc")]
    assert set(computes["color"]) == {packed(theme.prefix_color("inc"))}

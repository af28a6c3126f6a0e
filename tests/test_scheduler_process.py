"""DaskSource against a separate `dask scheduler` process where dashkit cannot be imported."""

from __future__ import annotations

import logging
import operator

from distributed import Client

from dashkit.feed import Feed
from dashkit.sources import DaskSource
from tests.conftest import wait_for


def test_full_snapshots_from_a_scheduler_without_dashkit(scheduler_process):
    scheduler_process.start_worker(nthreads=2)
    assert "dashkit is not importable here" in scheduler_process.scheduler_log()
    feed = Feed(DaskSource(address=scheduler_process.address), period=0.1).start()
    try:
        assert feed.source.mode == "plugin"  # the plugin went by value
        with Client(scheduler_process.address, set_as_default=False) as client:
            futures = client.map(operator.add, range(200), [1] * 200,
                                 key=[f"inc-{i}" for i in range(200)])  # fmt: skip
            client.gather(futures)
            wait_for(lambda: feed.tasks.total >= 200)
            wait_for(lambda: feed.progress["memory"].sum() == 200)
        assert feed.status == "connected"
        assert feed.missing == ()
        workers = feed.workers
        assert len(workers) == 1
        assert workers.loc[0, "nthreads"] == 2
        assert workers.loc[0, "memory_limit"] == 2**30
        assert workers.loc[0, "process"] > 0
        assert set(feed.tasks.frame()["prefix"]) == {"inc"}
    finally:
        feed.stop()


def test_scheduler_death_and_return(scheduler_process, caplog):
    scheduler_process.start_worker()
    feed = Feed(DaskSource(address=scheduler_process.address, connect_timeout=1), period=0.1)
    feed.start()
    reader = feed.reader()
    try:
        with Client(scheduler_process.address, set_as_default=False) as client:
            client.gather(client.map(operator.add, range(50), [1] * 50))
            wait_for(lambda: feed.tasks.total >= 50)
        before = feed.tasks.total

        with caplog.at_level(logging.WARNING, logger="dashkit"):
            scheduler_process.kill_scheduler()
            wait_for(lambda: feed.status.startswith("disconnected"))
            failures = feed.failures
            wait_for(lambda: feed.failures >= failures + 5)  # keeps trying, quietly
        assert scheduler_process.address in feed.status
        warnings = [r for r in caplog.records if r.name.startswith("dashkit")]
        assert len(warnings) == 1, [r.getMessage() for r in warnings]
        assert feed.tasks.total == before  # the data held is kept
        assert len(reader.read().frame) == before  # and readers never see an exception

        scheduler_process.stop()
        scheduler_process.start_scheduler()
        scheduler_process.start_worker()
        wait_for(lambda: feed.status == "connected", timeout=60)
        with Client(scheduler_process.address, set_as_default=False) as client:
            client.gather(client.map(operator.mul, range(30), [2] * 30))
            wait_for(lambda: feed.tasks.total >= before + 30)
        new = reader.read().frame
        assert set(new["prefix"]) == {"mul"}
        assert len(feed.workers) == 1
    finally:
        reader.close()
        feed.stop()

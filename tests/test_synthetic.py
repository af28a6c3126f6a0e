"""SyntheticSource: deterministic, plausible, large."""

import numpy as np
import pandas as pd

from dashkit import schema
from dashkit.sources import Source, SyntheticSource


def frames(seed: int, ticks: int = 5):
    src = SyntheticSource(seed=seed, start_time=1000.0, churn=0.3)
    return [src.snapshot() for _ in range(ticks)]


def test_same_seed_same_cluster():
    for a, b in zip(frames(4), frames(4), strict=True):
        pd.testing.assert_frame_equal(a.workers, b.workers)
        pd.testing.assert_frame_equal(a.progress, b.progress)
        pd.testing.assert_frame_equal(a.tasks, b.tasks)
    assert not frames(5)[-1].tasks.equals(frames(4)[-1].tasks)


def test_rows_are_plausible():
    src = SyntheticSource(n_workers=4, threads_per_worker=2, seed=1, start_time=0.0,
                          error_rate=0.05, transfer_rate=0.2, disk_rate=0.05)  # fmt: skip
    tasks = pd.concat([src.snapshot().tasks for _ in range(40)], ignore_index=True)
    tasks = schema.validate(
        schema.tasks_frame({c: tasks[c].astype(str) if schema.TASKS[c] == "category"
                            else tasks[c] for c in tasks}), "tasks")  # fmt: skip
    assert (tasks["start"] < tasks["stop"]).all()
    assert tasks["stop"].max() <= 40 * src.tick
    # Every action today's workers report (``deserialize`` came from older ones).
    assert set(tasks["action"]) == set(schema.ACTIONS) - {"deserialize"}
    assert set(tasks["status"]) == {"ok", "error"}
    assert tasks.groupby(["worker", "thread"], observed=True).ngroups == 8
    compute = tasks[tasks["action"] == "compute"]
    for _, thread in compute.groupby(["worker", "thread"], observed=True):
        ordered = thread.sort_values("start")
        # one task at a time on a thread
        assert (ordered["start"].to_numpy()[1:] >= ordered["stop"].to_numpy()[:-1]).all()


def test_workers_join_and_leave_with_churn():
    src = SyntheticSource(n_workers=5, churn=1.0, seed=2, start_time=0.0)
    first = set(src.snapshot().workers["address"])
    later = set(src.snapshot().workers["address"])
    assert len(first) == len(later) == 5
    assert len(first - later) == 1 and len(later - first) == 1


def test_thousand_workers_and_a_million_rows():
    src = SyntheticSource(n_workers=1000, seed=3, history_rows=1_000_000, start_time=0.0)
    snap = src.snapshot()
    assert len(snap.workers) == 1000
    assert 900_000 <= len(snap.tasks) <= 1_100_000
    assert snap.tasks["worker"].nunique() == 1000
    fraction = snap.workers["process"] / snap.workers["memory_limit"]
    assert ((snap.workers["status"] == "paused") == (fraction > 0.8)).all()
    assert np.all(snap.workers["process"] == snap.workers[
        ["managed", "unmanaged_old", "unmanaged_recent"]].sum(axis=1))


def test_sources_are_registered_by_type():
    assert Source.lookup("synthetic") is SyntheticSource
    try:
        Source.lookup("synthetc")
    except ValueError as err:
        assert "Did you mean 'synthetic'?" in str(err)
        assert "valid source types: dask, replay, synthetic" in str(err)
    else:
        raise AssertionError("unknown type accepted")

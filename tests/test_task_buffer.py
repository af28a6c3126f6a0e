"""The bounded columnar ring buffer of task-stream rows."""

import numpy as np
import pandas as pd
import pytest

from dashkit import schema
from dashkit.task_buffer import TaskBuffer


def rows(first: int, n: int, prefix: str = "inc", worker: str = "tcp://w:1") -> pd.DataFrame:
    return schema.tasks_frame({
        "start": np.arange(first, first + n, dtype=float),
        "stop": np.arange(first, first + n, dtype=float) + 0.5,
        "worker": [worker] * n, "thread": [7] * n,
        "key": [f"{prefix}-{i}" for i in range(first, first + n)],
        "prefix": [prefix] * n, "action": ["compute"] * n, "status": ["ok"] * n,
    })  # fmt: skip


def test_rows_round_trip_with_categories():
    buf = TaskBuffer(100)
    buf.append(rows(0, 3, "inc", "tcp://a:1"))
    buf.append(rows(3, 2, "sum", "tcp://b:1"))
    frame = schema.validate(buf.frame(), "tasks")
    assert list(frame["key"]) == ["inc-0", "inc-1", "inc-2", "sum-3", "sum-4"]
    assert list(frame["prefix"]) == ["inc"] * 3 + ["sum"] * 2
    assert list(frame["worker"]) == ["tcp://a:1"] * 3 + ["tcp://b:1"] * 2
    assert buf.prefixes == ["inc", "sum"]


def test_cursors_read_only_what_is_new():
    buf = TaskBuffer(100)
    buf.append(rows(0, 10))
    first = buf.since(0)
    assert (len(first.frame), first.cursor, first.skipped) == (10, 10, 0)
    buf.append(rows(10, 5))
    second = buf.since(first.cursor)
    assert list(second.frame["key"]) == [f"inc-{i}" for i in range(10, 15)]
    assert buf.since(second.cursor).frame.empty


def test_cap_keeps_newest_and_counts_what_was_dropped():
    buf = TaskBuffer(capacity=8)
    for first in range(0, 20, 3):
        buf.append(rows(first, 3))
    assert buf.total == 21 and len(buf) == 8 and buf.dropped == 13
    read = buf.since(5)
    assert read.skipped == 8  # rows 5..12 were overwritten before this reader came
    assert list(read.frame["key"]) == [f"inc-{i}" for i in range(13, 21)]
    assert list(buf.frame()["start"]) == list(range(13, 21))


def test_one_append_larger_than_the_cap():
    buf = TaskBuffer(capacity=4)
    buf.append(rows(0, 10))
    assert buf.total == 10 and buf.dropped == 6
    assert list(buf.frame()["key"]) == [f"inc-{i}" for i in range(6, 10)]


def test_capacity_must_be_positive():
    with pytest.raises(ValueError, match="capacity must be at least 1, got 0"):
        TaskBuffer(0)


def test_a_range_of_rows_reads_as_the_same_cursors_do_across_the_wrap():
    buf = TaskBuffer(10)
    buf.append(rows(0, 7))
    buf.append(rows(7, 6))  # 13 rows in 10 places: the newest wrapped to the front
    for first, last in [(3, 13), (5, 9), (8, 13), (12, 13), (6, 6)]:
        by_range = buf.columns(["start", "key"], range(first, last))
        by_cursors = buf.columns(["start", "key"], np.arange(first, last))
        assert by_range["start"].tolist() == by_cursors["start"].tolist() == list(
            map(float, range(first, last)))  # fmt: skip
        assert by_range["key"].tolist() == by_cursors["key"].tolist()
    with pytest.raises(IndexError, match=r"rows 2\.\.5 are not all held"):
        buf.columns(["start"], range(2, 6))

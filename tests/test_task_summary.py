"""The whole run's pyramid of time bins (dashkit/task_summary.py) and how the
task stream's image uses it (dashkit/task_picture.py)."""

from __future__ import annotations

import numpy as np
import pytest

from dashkit import raster
from dashkit.schema import tasks_frame
from dashkit.task_buffer import TaskBuffer
from dashkit.task_history import TaskHistory
from dashkit.task_picture import TaskPicture
from dashkit.task_summary import Level, TaskSummary


def random_rows(rng, n: int, start: float, pairs: int = 5):
    x0 = start + np.sort(rng.uniform(0, 30, n))
    duration = rng.choice([0.0, 0.0004, 0.01, 0.3, 2.5], n)
    return (x0, x0 + duration, rng.integers(0, pairs, n).astype(np.int32),
            rng.integers(0, raster.N_CLASSES, n).astype(np.int8))  # fmt: skip


def direct(rows, level: Level) -> np.ndarray:
    """Busy seconds per held bin, pair and class, summed row by row in Python."""
    expected = np.zeros_like(level.data, dtype=np.float64)
    ring = level.data.shape[0]
    for x0, x1, pair, cls in zip(*rows, strict=True):
        first, last = int(np.floor(x0 / level.width)), int(np.floor(x1 / level.width))
        for k in range(max(first, level.tail), min(last, level.head) + 1):
            seconds = min(x1, (k + 1) * level.width) - max(x0, k * level.width)
            if k == first:
                seconds = max(seconds, raster.PRESENT)
            expected[k % ring, pair, cls] += max(seconds, 0.0)
    return expected


def test_every_level_equals_a_direct_aggregation_of_the_rows_after_appends_and_drops():
    rng = np.random.default_rng(7)
    summary = TaskSummary(bins=64, share=10.0)
    appended = [np.empty(0), np.empty(0), np.empty(0, np.int32), np.empty(0, np.int8)]
    widths = set()
    for batch in range(12):  # 12 polls of 30 s: the run outgrows the first levels
        rows = random_rows(rng, 400, start=30.0 * batch, pairs=3 + batch // 4)  # lanes come too
        summary.add(*rows, row_bytes=100.0, finest=0.25)
        appended = [np.concatenate([a, r]) for a, r in zip(appended, rows, strict=True)]
        widths |= {level.width for level in summary.levels}
        for level in summary.levels:
            held = level.data[:, : int(appended[2].max()) + 1]
            np.testing.assert_allclose(held, direct(appended, level)[:, : held.shape[1]],
                                       rtol=1e-5, atol=1e-6)  # fmt: skip
    assert summary.levels[-1].tail == 0  # the coarsest holds the whole run
    assert summary.levels[0].tail > 0  # finer ones dropped their oldest bins
    assert len(widths) > len(summary.levels) - 1 and min(widths) == 0.25


def test_the_finest_levels_go_while_the_memory_is_over_its_share_of_the_rows():
    rng = np.random.default_rng(1)
    summary = TaskSummary(bins=64, share=0.2)
    rows = random_rows(rng, 20_000, start=0.0)
    summary.add(*rows, row_bytes=100.0, finest=2.0**-20)
    level_bytes = summary.levels[0].data.nbytes
    assert summary.nbytes <= summary.budget == 0.2 * 20_000 * 100
    assert len(summary.levels) == int(summary.budget // level_bytes)
    with pytest.raises(ValueError, match="bins must be an even number"):
        TaskSummary(bins=3)


def history_of(rng, n_polls: int, capacity: int) -> tuple[TaskHistory, TaskPicture]:
    history = TaskHistory(TaskBuffer(capacity, derived=TaskHistory.DERIVED))
    picture = TaskPicture.of(history, summary_rows=1_000, raw_rows=500,
                             summary=TaskSummary(bins=256))  # fmt: skip
    for poll in range(n_polls):
        x0 = poll * 10 + np.sort(rng.uniform(0, 10, 500))
        history.append(tasks_frame({
            "worker": [f"tcp://w:{i % 4}" for i in range(500)], "thread": [1] * 500,
            "key": [f"t-{poll}-{i}" for i in range(500)], "prefix": ["inc"] * 500,
            "action": ["compute"] * 500,
            "status": ["error" if i == 7 else "ok" for i in range(500)],
            "start": 1e9 + x0, "stop": 1e9 + x0 + 0.05,
        }))  # fmt: skip
    return history, picture


def test_a_poll_adds_only_its_new_rows_to_the_summary(monkeypatch):
    history, picture = history_of(np.random.default_rng(2), 4, capacity=10_000)
    assert picture.summary is not None and picture.summary.rows == 2_000
    read: list[range] = []
    columns = history.buffer.columns
    monkeypatch.setattr(history.buffer, "columns",
                        lambda names, cursors: read.append(cursors) or columns(names, cursors))
    history.append(history.buffer.take(np.arange(100)).assign(start=1e9 + 50, stop=1e9 + 51))
    assert set(read) == {range(2_000, 2_100)} and picture.summary.rows == 2_100


def test_the_whole_run_is_drawn_after_its_oldest_rows_are_dropped_with_every_error():
    history, picture = history_of(np.random.default_rng(3), 40, capacity=4_000)
    assert history.buffer.dropped == 16_000 and picture.summary.rows == 20_000
    image = picture.image((0, 400), (-0.5, 3.5), 400, 40)
    rgba = image.view(np.uint8).reshape(*image.shape, 4)
    black = np.all(rgba[..., :3] == 0, axis=2) & (rgba[..., 3] == 255)
    # one erred task per poll of ten seconds: black in each of those 40 stretches
    assert sorted({int(c) // 10 for c in np.flatnonzero(black.any(axis=0))}) == list(range(40))
    assert (rgba[..., 3] > 0).any(axis=0).all()  # dropped rows still drawn: no gap
    again = picture.image((0, 400), (-0.5, 3.5), 400, 40)
    assert again is image  # cached for every page asking the same

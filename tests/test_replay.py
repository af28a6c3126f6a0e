"""Recording a run and playing it back: equal to what was live, crash-safe, any speed."""

from __future__ import annotations

import operator
import os
import signal
import subprocess
import time

import pandas as pd
import panel as pn
import pyarrow as pa
import pytest
from bokeh.document import Document
from bokeh.models import GlyphRenderer

from dashkit.components import ReplayControl, TaskStream
from dashkit.feed import Feed
from dashkit.recorder import Recorder, record
from dashkit.sources import (
    DaskSource,
    Recording,
    RecordingError,
    ReplaySource,
    SyntheticSource,
)  # fmt: skip
from dashkit.sources.replay import arrow_schema
from tests.conftest import ROOT, wait_for
from tests.helpers import BIN, sigterm_inside_a_weakref_callback

COMPARED = ["key", "start", "stop", "action", "worker", "status"]


def rows(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[COMPARED].astype({"action": object, "worker": object, "status": object})


def synthetic_recording(path, snapshots: int = 60, **fields) -> Feed:
    """A recording of ``snapshots`` polls of a synthetic cluster, 0.5 s apart."""
    feed = Feed(SyntheticSource(seed=4, n_workers=8, start_time=1_000.0, **fields))
    recorder = Recorder(feed, path, flush_interval=0).start()
    for _ in range(snapshots):
        feed.poll()
    recorder.stop()
    return feed


def test_replay_of_a_live_cluster_equals_what_the_live_feed_saw(cluster, client, tmp_path):
    path = tmp_path / "live.dkrec"
    live = Feed(DaskSource(address=cluster.scheduler_address), period=0.1)
    with record(live, path):
        live.start()
        futures = client.map(operator.add, range(300), [1] * 300)
        total = client.submit(sum, futures)
        assert total.result() == sum(range(300)) + 300
        wait_for(lambda: live.tasks.total >= 301, what="every task in the live feed")
        polls = live.polls
        wait_for(lambda: live.polls >= polls + 2, what="two more polls")
        live.stop()

    source = ReplaySource(path=str(path), playing=False)
    replay = Feed(source)
    source.connect()
    assert source.recording.problem is None
    source.seek(source.duration)
    assert replay.poll()
    pd.testing.assert_frame_equal(rows(replay.tasks.frame()), rows(live.tasks.frame()))
    pd.testing.assert_frame_equal(replay.progress, live.progress)
    assert set(replay.workers["address"]) == set(live.workers["address"])


def _written_so_far(path) -> Recording | None:
    """What a running recorder has written to ``path``; None before its header."""
    try:
        return Recording.read(path) if path.exists() else None
    except RecordingError:  # the header is not written yet
        return None


def test_a_recorder_killed_with_sigkill_leaves_a_readable_file(cluster, client, tmp_path):
    path = tmp_path / "killed.dkrec"
    command = [str(BIN / "dashkit"), "record", "--scheduler", cluster.scheduler_address,
               "-o", str(path)]  # fmt: skip
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: (r := _written_so_far(path)) and len(r.polls) >= 2, timeout=60,
                 what="the recorder connected and flushing")  # fmt: skip
        client.gather(client.map(operator.mul, range(200), [3] * 200))
        wait_for(lambda: len(_written_so_far(path).tasks) >= 200, timeout=60,
                 what="every task on disk")  # fmt: skip
        before = Recording.read(path)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    after = Recording.read(path)
    assert "without its end marker" in after.problem
    assert len(after.polls) >= len(before.polls)
    assert len(after.tasks) >= len(before.tasks)
    assert after.tasks.loc[after.tasks["prefix"] == "mul", "key"].nunique() == 200


def test_sigterm_ends_a_recording_as_ctrl_c_does(tmp_path):
    path = tmp_path / "stopped.dkrec"
    command = [str(BIN / "dashkit"), "record", "--synthetic", "-o", str(path)]
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)  # fmt: skip
    try:
        wait_for(lambda: (r := _written_so_far(path)) and len(r.polls) >= 2, timeout=60,
                 what="the recorder flushing")  # fmt: skip
        proc.terminate()
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    assert proc.returncode == 0, err
    assert "dashkit: recorded" in err
    assert Recording.read(path).problem is None  # ended with its end marker


def test_sigterm_is_heard_even_when_it_comes_during_a_weakref_callback():
    # Raising KeyboardInterrupt from the handler was lost there.
    from dashkit import cli

    previous = signal.getsignal(signal.SIGTERM)
    try:
        terminated = cli._sigterm_received()
        assert not terminated()
        sigterm_inside_a_weakref_callback()
        assert terminated()
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_ten_times_speed_plays_thirty_seconds_in_three_delivering_every_row_once(tmp_path):
    path = tmp_path / "thirty.dkrec"
    synthetic_recording(path, snapshots=61)
    recording = Recording.read(path)
    assert recording.duration == pytest.approx(30.0)

    source = ReplaySource(path=str(path), speed=10)
    feed = Feed(source, period=0.05)
    began = time.monotonic()
    feed.start()
    try:
        wait_for(lambda: source.finished, timeout=30, what="the replay to end")
        took = time.monotonic() - began
    finally:
        feed.stop()
    # Playback speed is the replay clock's job, not a machine's: 30 s / 10.
    assert 2.5 <= took <= 6.0, took
    # Every row, in order, once (no duplicates from overlapping polls, none skipped).
    pd.testing.assert_frame_equal(rows(feed.tasks.frame()), rows(recording.tasks))


def test_seeking_back_restarts_the_history_and_the_plot(tmp_path):
    path = tmp_path / "seek.dkrec"
    synthetic_recording(path, snapshots=40)
    source = ReplaySource(path=str(path), playing=False)
    feed = Feed(source)
    source.connect()
    stream = TaskStream(feed=feed)
    root = pn.panel(stream).get_root(Document())
    source.seek(source.duration)
    feed.poll()
    stream.update()
    everything = stream.n_rows
    assert everything == len(source.recording.tasks)

    source.seek(5.0)
    feed.poll()
    stream.update()
    offsets = source.recording.task_times - source.recording.start
    assert stream.n_rows == int((offsets <= 5.0).sum()) < everything
    quads = [r.data_source.data for r in root.select({"type": GlyphRenderer})
             if type(r.glyph).__name__ == "Quad"]  # fmt: skip
    assert max(len(q["left"]) for q in quads) == stream.n_rows  # the plot holds only those rows


def test_loop_starts_over_at_the_end(tmp_path):
    path = tmp_path / "loop.dkrec"
    synthetic_recording(path, snapshots=10)
    source = ReplaySource(path=str(path), loop=True, playing=False)
    feed = Feed(source)
    source.connect()
    source.seek(source.duration)
    feed.poll()
    generation = feed.generation
    feed.poll()  # at the end: starts over
    assert feed.generation == generation + 1
    assert not source.finished


def test_workers_leaving_and_empty_frames_replay_as_recorded(tmp_path):
    path = tmp_path / "churn.dkrec"
    feed = Feed(SyntheticSource(seed=5, n_workers=4, churn=0.5, start_time=0.0))
    recorder = Recorder(feed, path, flush_interval=0).start()
    seen = []
    for _ in range(20):
        feed.poll()
        seen.append(sorted(feed.workers["address"]))
    recorder.write(snapshot_without_workers(feed))  # a snapshot with no worker at all
    seen.append([])
    recorder.stop()

    source = ReplaySource(path=str(path), playing=False)
    replay = Feed(source)
    source.connect()
    for at, expected in zip(source.recording.polls["time"], seen, strict=True):
        source.seek(at - source.recording.start)
        replay.poll()
        assert sorted(replay.workers["address"]) == expected


def snapshot_without_workers(feed: Feed):
    from dashkit import schema
    from dashkit.sources.base import Snapshot

    return Snapshot(time=feed.time + 0.5, workers=schema.workers_frame(),
                    progress=feed.progress, tasks=schema.tasks_frame())  # fmt: skip


def test_a_truncated_file_loads_what_was_written_before_the_damage(tmp_path):
    path = tmp_path / "cut.dkrec"
    synthetic_recording(path, snapshots=20)
    whole = Recording.read(path)
    size = path.stat().st_size
    os.truncate(path, size - 200)  # into the last batch
    cut = Recording.read(path)
    assert str(path) in cut.problem and "damaged after batch" in cut.problem
    assert 0 < len(cut.polls) < len(whole.polls)
    pd.testing.assert_frame_equal(rows(cut.tasks), rows(whole.tasks.iloc[: len(cut.tasks)]))


def test_corrupt_bytes_stop_the_read_at_the_damage(tmp_path):
    path = tmp_path / "corrupt.dkrec"
    synthetic_recording(path, snapshots=20)
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 64] = bytes(64)  # fmt: skip
    path.write_bytes(bytes(data))
    damaged = Recording.read(path)
    assert "damaged after batch" in damaged.problem and str(path) in damaged.problem
    assert len(damaged.polls) > 0


def test_a_damaged_first_batch_is_an_error_not_an_empty_replay(tmp_path):
    path = tmp_path / "first.dkrec"
    synthetic_recording(path, snapshots=5)
    with pa.OSFile(str(path)) as source:
        pa.ipc.open_stream(source)
        header = source.tell()  # the first batch starts here
    os.truncate(path, header + 100)
    with pytest.raises(RecordingError, match="damaged in its first batch.*nothing could be read"):
        Recording.read(path)
    result = subprocess.run([str(BIN / "dashkit"), "export", "--replay", str(path), "-o",
                             str(tmp_path / "report.html")], capture_output=True, text=True,
                            timeout=120)  # fmt: skip
    assert result.returncode == 1 and "damaged in its first batch" in result.stderr
    assert not (tmp_path / "report.html").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not a dashkit recording"),
        (b"title: a layout\n" * 10, "not a dashkit recording"),
        ("foreign-arrow", "an Arrow stream but not a dashkit recording"),
        ("version-9", "format version 9; this dashkit reads version 1"),
    ],
)  # fmt: skip
def test_files_that_cannot_be_replayed_say_why(tmp_path, content, message):
    path = tmp_path / "bad.dkrec"
    if content == "foreign-arrow":
        table = pa.table({"x": [1, 2, 3]})
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as w:
            w.write_table(table)
    elif content == "version-9":
        schema = arrow_schema().with_metadata({"dashkit.format": "dashkit-recording",
                                               "dashkit.version": "9"})  # fmt: skip
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, schema):
            pass
    else:
        path.write_bytes(content)
    with pytest.raises(RecordingError) as raised:
        Recording.read(path)
    assert str(path) in str(raised.value) and message in str(raised.value)


def test_a_recording_is_readable_with_pyarrow_and_pandas_alone(tmp_path):
    path = tmp_path / "plain.dkrec"
    feed = synthetic_recording(path, snapshots=10)
    with pa.OSFile(str(path)) as f:
        frame = pa.ipc.open_stream(f).read_all().to_pandas()
    tasks = frame[frame.kind == "tasks"].filter(like="tasks.")
    assert len(tasks) == feed.tasks.total
    assert list(tasks["tasks.key"]) == list(feed.tasks.frame()["key"])
    assert (frame.kind == "poll").sum() == 10


def test_replay_control_plays_pauses_changes_speed_and_scrubs(tmp_path):
    path = tmp_path / "control.dkrec"
    synthetic_recording(path, snapshots=20)
    source = ReplaySource(path=str(path), playing=False)
    feed = Feed(source)
    control = ReplayControl(feed=feed)
    control._play.value = True
    assert source.playing and control._play.label == "Pause"
    control._speed.value = 50
    assert source.speed == 50
    control._slider._process_events({"value": 4.0, "value_throttled": 4.0})  # a drag ends
    assert source.position == pytest.approx(4.0)
    control._play.value = False
    feed.poll()
    control.update()
    assert "4.0 s of 9.5 s" in control._label.object
    assert 'data-state="paused"' in control._label.object


def test_replay_control_needs_a_replay_feed():
    with pytest.raises(ValueError, match="needs a feed that replays a recording"):
        ReplayControl(feed=Feed(SyntheticSource(seed=1)))


def test_recording_costs_few_bytes_per_row(tmp_path):
    """Recorded with the default one-second flush: batches of several snapshots."""
    path = tmp_path / "size.dkrec"
    feed = Feed(SyntheticSource(seed=6, n_workers=16, start_time=0.0, history_rows=50_000))
    recorder = Recorder(feed, path, flush_interval=3600).start()
    for _ in range(20):
        feed.poll()
    recorder.stop()
    per_row = path.stat().st_size / feed.tasks.total
    assert per_row < 60, per_row  # the schema's strings compress well
    assert len(Recording.read(path).tasks) == feed.tasks.total


def rewrite(path, change) -> None:
    """Rewrite the recording at ``path`` with ``change(columns, rows_of_kind)`` applied to
    its float columns (numpy arrays by name; nulls stay null)."""
    import numpy as np

    with pa.OSFile(str(path)) as source:
        reader = pa.ipc.open_stream(source)
        table = reader.read_all()
    kinds = table["kind"].to_numpy(zero_copy_only=False)
    columns = {name: table[name].combine_chunks() for name in table.column_names}
    values = {name: column.to_numpy(zero_copy_only=False).astype(float)
              for name, column in columns.items() if pa.types.is_floating(column.type)}  # fmt: skip
    change(values, lambda kind: np.flatnonzero(kinds == kind))
    arrays = [pa.array(values[n], mask=columns[n].is_null().to_numpy(zero_copy_only=False))
              if n in values else columns[n] for n in table.column_names]  # fmt: skip
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, reader.schema) as writer:
        writer.write_table(pa.Table.from_arrays(arrays, schema=reader.schema))


def test_rows_with_impossible_values_are_dropped_counted_and_said(tmp_path):
    import numpy as np

    path = tmp_path / "bad.dkrec"
    synthetic_recording(path, snapshots=20)
    good = Recording.read(path)

    def spoil(values, rows_of):
        tasks, polls = rows_of("tasks"), rows_of("poll")
        values["tasks.start"][tasks[:2]] = np.nan  # not finite
        values["tasks.stop"][tasks[2:4]] = np.inf
        values["tasks.stop"][tasks[4]] = values["tasks.start"][tasks[4]] - 5  # negative duration
        values["tasks.start"][tasks[5]] = 1e300  # ages away from its snapshot
        values["time"][polls[6]] = values["time"][polls[0]] - 50  # a snapshot out of order
        values["workers.cpu"][rows_of("workers")[0]] = np.nan

    rewrite(path, spoil)
    recording = Recording.read(path)
    assert len(recording.tasks) == good.task_rows - 6 and recording.invalid_tasks == 6
    assert len(recording.polls) == len(good.polls) - 1
    assert len(recording.workers) == len(good.workers) - 1
    assert "dropped 1 snapshot rows, 1 workers rows, 6 task-stream rows" in recording.problem
    feed = Feed(ReplaySource(path=str(path), playing=False))
    feed.source.seek(feed.source.duration)
    assert feed.poll() and feed.status == "connected"
    assert feed.dropped == 6 and feed.tasks.total == good.task_rows - 6
    result = subprocess.run([str(BIN / "dashkit"), "export", "--replay", str(path), "-o",
                             str(tmp_path / "report.html")], capture_output=True, text=True,
                            timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "6 task-stream rows" in result.stderr


def test_a_snapshot_with_null_fields_replays_its_rows(tmp_path):
    """Another writer of the format may leave a snapshot's fields null: its rows
    replay and export; a snapshot whose counts are null is dropped and said."""
    path = tmp_path / "nulls.dkrec"
    synthetic_recording(path, snapshots=20)
    good = Recording.read(path)
    with pa.OSFile(str(path)) as source:
        reader = pa.ipc.open_stream(source)
        table = reader.read_all()
    polls = pa.compute.equal(table["kind"], "poll")
    first_poll = pa.compute.index(table["kind"], "poll").as_py()
    missing = pa.compute.if_else(polls, pa.scalar(None, pa.string()), table["poll.missing"])
    lost = table["poll.lost"].to_pylist()
    lost[first_poll] = None
    table = table.set_column(table.schema.get_field_index("poll.missing"), "poll.missing",
                             missing)  # fmt: skip
    table = table.set_column(table.schema.get_field_index("poll.lost"), "poll.lost",
                             pa.array(lost, pa.int64()))  # fmt: skip
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, reader.schema) as writer:
        writer.write_table(table)

    recording = Recording.read(path)
    assert recording.task_rows == good.task_rows and len(recording.polls) == len(good.polls) - 1
    assert "dropped 1 snapshot rows" in recording.problem
    feed = Feed(ReplaySource(path=str(path), playing=False))
    feed.source.seek(feed.source.duration)
    assert feed.poll() and feed.status == "connected" and feed.tasks.total == len(good.tasks)
    result = subprocess.run([str(BIN / "dashkit"), "export", "--replay", str(path), "-o",
                             str(tmp_path / "report.html")], capture_output=True, text=True,
                            timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert f"{len(good.tasks):,} task-stream rows" in result.stderr


def test_a_full_disk_stops_the_recording_at_once_with_one_line_and_keeps_what_was_written(
    tmp_path,
):
    import resource

    path = tmp_path / "full.dkrec"
    limit = 40 * 512  # the file-size limit of `ulimit -f 40`

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    began = time.monotonic()
    result = subprocess.run(
        [str(BIN / "dashkit"), "record", "--synthetic", "--duration", "60", "-o", str(path)],
        capture_output=True, text=True, timeout=120, preexec_fn=small_files,
    )  # fmt: skip
    assert result.returncode == 1
    assert time.monotonic() - began < 30, "it went on recording after the write failed"
    assert "Traceback" not in result.stderr
    (said,) = [line for line in result.stderr.splitlines() if "cannot write" in line]
    assert said.startswith(f"dashkit record: cannot write {path}") and "too large" in said
    written = Recording.read(path)  # what was written before the failure reads back
    assert len(written.polls) > 0 and len(written.tasks) > 0


def test_a_recording_that_decompresses_beyond_the_limit_is_refused_in_one_line(tmp_path):
    """A small file can claim gigabytes once decompressed (one large batch written
    over and over); what is read is bounded (the limit scaled down here)."""
    path, bomb = tmp_path / "run.dkrec", tmp_path / "bomb.dkrec"
    synthetic_recording(path, snapshots=20)
    with pa.OSFile(str(path)) as source:
        reader = pa.ipc.open_stream(source)
        batches = list(reader)
    decompressed = sum(b.nbytes for b in batches)
    largest = max(batches, key=lambda b: b.num_rows)
    options = pa.ipc.IpcWriteOptions(compression="zstd")
    with pa.OSFile(str(bomb), "wb") as sink, \
            pa.ipc.new_stream(sink, reader.schema, options=options) as writer:  # fmt: skip
        for batch in [*batches, *[largest] * 200]:
            writer.write_batch(batch)
    assert bomb.stat().st_size < 40 * path.stat().st_size  # small on disk
    env = {**os.environ, "DASHKIT_MAX_RECORDING_BYTES": str(3 * decompressed)}

    def export(recording) -> subprocess.CompletedProcess:
        return subprocess.run([str(BIN / "dashkit"), "export", "--replay", str(recording), "-o",
                               str(tmp_path / f"{recording.stem}.html")], capture_output=True,
                              text=True, timeout=120, env=env)  # fmt: skip

    assert export(path).returncode == 0  # a recording within the limit
    refused = export(bomb)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    (line,) = refused.stderr.strip().splitlines()
    assert f"{bomb}: more than" in line and "DASHKIT_MAX_RECORDING_BYTES" in line
    assert not (tmp_path / "bomb.html").exists()

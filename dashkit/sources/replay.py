"""Recordings read back and played: :class:`Recording` and :class:`ReplaySource`.

A recording is what a Feed received, in one append-only file (``.dkrec``),
written by :class:`dashkit.recorder.Recorder`.

File format, version 1
----------------------
An `Arrow IPC stream <https://arrow.apache.org/docs/format/Columnar.html>`_
(not the Arrow "file" variant: a stream has no footer, so a file cut short
by a crash reads up to its last complete batch), zstd-compressed. Every
record batch has the same columns:

``kind`` (string)
    What the row is: ``poll``, ``workers``, ``progress`` or ``tasks``.
``time`` (float64)
    The snapshot time (epoch seconds, the cluster's clock) the row belongs to.
``poll.lost`` (int64), ``poll.missing`` (string, comma-separated),
``poll.workers``, ``poll.progress`` (int64)
    Set on ``poll`` rows, one per snapshot: rows lost at the source, schema
    fields the source could not fill, and the row counts of the workers and
    progress frames in effect (0 says the frame was empty).
``workers.<column>``, ``progress.<column>``, ``tasks.<column>``
    The columns of the frames of :mod:`dashkit.schema`, set on rows of that
    kind and null elsewhere. ``workers`` and ``progress`` rows are written
    only when the frame changed since the last one written: the frame at time
    *t* is the last one written at or before *t*. ``tasks`` rows are the
    task-stream rows that arrived with the snapshot at ``time``.
``errors.key``, ``errors.exception``, ``errors.traceback`` (string)
    Set on ``errors`` rows: the exception and traceback text of a task that
    erred, written with the snapshot its task-stream rows came with. Files
    written before these columns existed read as recordings without them.

The schema's metadata holds ``dashkit.format`` (``dashkit-recording``) and
``dashkit.version`` (``1``). A batch is written about every second, so a
recorder killed outright loses at most that. Read one with pyarrow and
pandas alone::

    import pyarrow as pa
    with pa.OSFile("run.dkrec") as f:
        frame = pa.ipc.open_stream(f).read_all().to_pandas()
    tasks = frame[frame.kind == "tasks"].filter(like="tasks.")

Example
-------
>>> feed = Feed.shared(ReplaySource(path="run.dkrec", speed=10))    # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import param
import pyarrow as pa
import pyarrow.compute as pc

from dashkit import schema
from dashkit.sources.base import Snapshot, Source, SourceError

logger = logging.getLogger(__name__)

FORMAT = "dashkit-recording"
VERSION = 1
_KINDS = ("workers", "progress", "tasks")
ERROR_COLUMNS = ("errors.key", "errors.exception", "errors.traceback")
#: The columns of :attr:`Recording.errors`.
_ERROR_FIELDS = ["time", *(c.split(".", 1)[1] for c in ERROR_COLUMNS)]
ARROW_TYPES = {"str": pa.string(), "category": pa.string(), "int": pa.int64(),
          "float": pa.float64(), "bool": pa.bool_()}  # fmt: skip


class RecordingError(SourceError):
    """A file is not a readable dashkit recording (the message names it and why)."""


def arrow_schema() -> pa.Schema:
    """The columns of every batch of a version-1 recording."""
    fields = [pa.field("kind", pa.string()), pa.field("time", pa.float64()),
              pa.field("poll.lost", pa.int64()), pa.field("poll.missing", pa.string()),
              pa.field("poll.workers", pa.int64()),
              pa.field("poll.progress", pa.int64())]  # fmt: skip
    for kind in _KINDS:
        fields += [pa.field(f"{kind}.{c}", ARROW_TYPES[t]) for c, t in schema.FRAMES[kind].items()]
    fields += [pa.field(name, pa.string()) for name in ERROR_COLUMNS]
    metadata = {"dashkit.format": FORMAT, "dashkit.version": str(VERSION)}
    return pa.schema(fields, metadata=metadata)


@dataclass
class Recording:
    """A recording read back: its snapshots, workers, progress and errors, and
    its task-stream rows streamed from the file batch by batch.

    ``polls`` has ``time``, ``lost``, ``missing`` and the ``workers`` and
    ``progress`` row counts per snapshot; ``workers`` and ``progress`` are the
    schema frames with a ``time`` column in front (one block of rows per
    change). Task-stream rows are not held: :meth:`task_batches` reads them
    again from the file, one batch at a time, so a recording of any length
    replays in bounded memory. ``task_rows`` counts them; :attr:`tasks` reads
    them all at once (for small recordings and tools).

    Example
    -------
    >>> rec = Recording.read("run.dkrec")       # doctest: +SKIP
    >>> rec.duration, rec.task_rows, rec.problem   # doctest: +SKIP
    (30.5, 120345, None)
    """

    path: Path
    polls: pd.DataFrame
    workers: pd.DataFrame
    progress: pd.DataFrame
    task_rows: int
    problem: str | None = None
    #: Task rows dropped on reading for impossible values (shown as lost).
    invalid_tasks: int = 0
    errors: pd.DataFrame = dataclasses.field(
        default_factory=lambda: pd.DataFrame(columns=_ERROR_FIELDS)
    )

    @property
    def start(self) -> float:
        return float(self.polls["time"].iloc[0]) if len(self.polls) else 0.0

    @property
    def duration(self) -> float:
        """Seconds from the first snapshot to the last."""
        return float(self.polls["time"].iloc[-1]) - self.start if len(self.polls) else 0.0

    @classmethod
    def read(cls, path: str | Path) -> Recording:
        """Read ``path``; a damaged file gives what was readable and ``problem`` says why.

        Raises :class:`RecordingError` when the file cannot be read at all
        (missing, not a recording, or a format version this dashkit does not
        know), or when what it would hold is over :func:`max_recording_bytes`.
        """
        path = Path(path)
        scan = _Scan(path)
        parts: dict[str, list[pa.Table]] = {name: [] for name in ("poll", "workers", "progress",
                                                                   "errors")}  # fmt: skip
        task_rows, invalid, held, latest = 0, 0, 0, -np.inf
        try:
            for batch in scan:
                table = pa.Table.from_batches([batch])
                kind = table["kind"]
                for name, kept in parts.items():
                    rows = table.filter(pc.equal(kind, name))
                    if rows.num_rows:
                        kept.append(rows)
                        held += rows.nbytes
                scan.check_held(held)
                tasks, arrived = _task_part(table)
                bad, latest = _impossible_tasks(tasks, arrived, latest)
                task_rows += int((~bad).sum())
                invalid += int(bad.sum())
            return cls._from_parts(path, parts, task_rows, invalid, scan.problem)
        except schema.SchemaError as err:
            raise RecordingError(f"{path}: rows that do not fit the schema: {err}") from None

    @classmethod
    def _from_parts(cls, path: Path, parts: dict, task_rows: int, invalid: int,
                    problem: str | None) -> Recording:  # fmt: skip
        empty = arrow_schema()

        def part(name: str) -> pa.Table:
            return pa.concat_tables(parts[name]) if parts[name] else empty.empty_table()

        polls = part("poll").select(
            ["time", "poll.lost", "poll.missing", "poll.workers", "poll.progress"]
        ).to_pandas()
        polls.columns = ["time", "lost", "missing", "workers", "progress"]
        # Fields missing from a snapshot say nothing was missing (another
        # writer of the format may leave them null).
        polls["missing"] = polls["missing"].fillna("").astype(str)
        frames = {}
        for name in ("workers", "progress"):
            rows = part(name)
            data = rows.select([f"{name}.{c}" for c in schema.FRAMES[name]]).to_pandas()
            data.columns = list(schema.FRAMES[name])
            builder = {"workers": schema.workers_frame, "progress": schema.progress_frame}[name]
            frames[name] = builder(data)
            frames[name].insert(0, "time", rows["time"].to_numpy())
        kept, dropped = {}, {}
        checks = (("polls", polls, _impossible_polls),
                  ("workers", frames["workers"], _impossible_workers),
                  ("progress", frames["progress"], _impossible_progress))  # fmt: skip
        for name, frame, impossible in checks:
            bad = impossible(frame)
            kept[name] = frame[~bad].reset_index(drop=True)
            dropped[name] = int(bad.sum())
        dropped["tasks"] = invalid
        if any(dropped.values()):
            names = {"polls": "snapshot", "workers": "workers", "progress": "progress",
                     "tasks": "task-stream"}  # fmt: skip
            counts = ", ".join(f"{n:,} {names[name]} rows" for name, n in dropped.items() if n)
            said = f"{path}: dropped {counts} with impossible values (not finite, negative, " \
                   "out of order)"  # fmt: skip
            problem = f"{problem}; {said}" if problem else said
        errors = part("errors").select(["time", *ERROR_COLUMNS]).to_pandas()
        errors.columns = _ERROR_FIELDS
        errors = errors[np.isfinite(errors["time"].to_numpy(float))].fillna("")
        errors = errors.sort_values("time", kind="stable").reset_index(drop=True)
        return cls(path, kept["polls"], kept["workers"], kept["progress"], task_rows, problem,
                   invalid_tasks=invalid, errors=errors)  # fmt: skip

    def task_batches(self) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
        """The valid task-stream rows, read again from the file one batch at a
        time: ``(tasks frame, the snapshot time each row arrived with)``."""
        latest = -np.inf
        for batch in _Scan(self.path):
            tasks, arrived = _task_part(pa.Table.from_batches([batch]))
            bad, latest = _impossible_tasks(tasks, arrived, latest)
            if (~bad).any():
                yield tasks[~bad].reset_index(drop=True), arrived[~bad]

    @property
    def tasks(self) -> pd.DataFrame:
        """Every valid task-stream row at once (a recording of millions of rows
        is better read with :meth:`task_batches`)."""
        frames = [tasks for tasks, _ in self.task_batches()]
        return schema.concat_tasks(frames) if frames else schema.tasks_frame()

    @property
    def task_times(self) -> pd.Series:
        """The snapshot time each row of :attr:`tasks` arrived with."""
        times = [arrived for _, arrived in self.task_batches()]
        return pd.Series(np.concatenate(times) if times else np.empty(0), name="time")


def _task_part(table: pa.Table) -> tuple[pd.DataFrame, np.ndarray]:
    rows = table.filter(pc.equal(table["kind"], "tasks"))
    data = rows.select([f"tasks.{c}" for c in schema.TASKS]).to_pandas()
    data.columns = list(schema.TASKS)
    return schema.tasks_frame(data), rows["time"].to_numpy()


#: The environment variable that sets :func:`max_recording_bytes`.
LIMIT_VARIABLE = "DASHKIT_MAX_RECORDING_BYTES"
#: Bytes of a recording's data, decompressed, that dashkit holds at most by
#: default: one batch of the file, and everything but the task rows (which are
#: streamed). A small file can claim gigabytes once decompressed, and holding
#: them would exhaust the machine.
MAX_RECORDING_BYTES = 2**30


def max_recording_bytes() -> int:
    """The most bytes of one recording's data, decompressed, that are read:
    ``$DASHKIT_MAX_RECORDING_BYTES``, else :data:`MAX_RECORDING_BYTES`."""
    value = os.environ.get(LIMIT_VARIABLE, "")
    try:
        return int(value) if value else MAX_RECORDING_BYTES
    except ValueError:
        raise RecordingError(f"{LIMIT_VARIABLE}={value!r}: give a number of bytes") from None


class _Scan:
    """The record batches of a recording, read one at a time (iterate it).

    Iterating checks the header, refuses a batch that decompresses to more than
    :func:`max_recording_bytes`, and stops at damage, which ``problem`` then
    describes (as it does a file without its end marker). :meth:`check_held`
    refuses what a reader would hold beyond the same limit."""

    def __init__(self, path: Path):
        self.path = path
        self.problem: str | None = None
        self.limit = max_recording_bytes()
        self.rows = 0

    def check_held(self, held: int) -> None:
        if held > self.limit:
            raise RecordingError(
                f"{self.path}: more than {self.limit / 2**20:,.0f} MiB of data once "
                f"decompressed (at {self.rows:,} rows): more than dashkit reads of one "
                f"recording; {LIMIT_VARIABLE}=<bytes> raises the limit"
            )  # fmt: skip

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        path = self.path
        if not path.is_file():
            raise RecordingError(f"{path}: no such recording file")
        try:
            source = pa.OSFile(str(path))
        except OSError as err:
            raise RecordingError(f"{path}: cannot open: {err.strerror or err}") from None
        with source:
            reader = self._open(source)
            current = arrow_schema().remove_metadata()
            batches = 0
            while True:
                try:
                    batch = reader.read_next_batch()
                    self.rows += batch.num_rows
                    self.check_held(batch.nbytes)
                    batch.validate(full=True)
                except StopIteration:
                    break
                except (pa.ArrowException, OSError) as err:
                    if not batches:  # nothing to show: a replay of it would be empty, silently
                        raise RecordingError(f"{path} is damaged in its first batch (byte "
                                             f"{source.tell():,}): {err}; nothing could be read"
                                             ) from None  # fmt: skip
                    self.problem = (f"{path} is damaged after batch {batches} (byte "
                                    f"{source.tell():,}): {err}; the data before it "
                                    "loaded")  # fmt: skip
                    return
                batches += 1
                yield _with_error_columns(batch, current)
        if not _ends_cleanly(path):
            self.problem = f"{path} ends without its end marker (the recorder was stopped abruptly)"

    def _open(self, source) -> pa.ipc.RecordBatchStreamReader:
        path = self.path
        try:
            reader = pa.ipc.open_stream(source)
        except (pa.ArrowException, OSError) as err:
            with open(path, "rb") as file:
                cut_short = FORMAT.encode() in file.read(8192)
            what = "its header is cut short" if cut_short else "not a dashkit recording"
            raise RecordingError(f"{path}: {what} ({err}); nothing could be read") from None
        meta = reader.schema.metadata or {}
        if meta.get(b"dashkit.format") != FORMAT.encode():
            raise RecordingError(
                f"{path} is an Arrow stream but not a dashkit recording "
                f"(no dashkit.format={FORMAT} in its metadata)"
            )
        version = meta.get(b"dashkit.version", b"?").decode()
        if version != str(VERSION):
            raise RecordingError(
                f"{path} is a dashkit recording of format version {version}; "
                f"this dashkit reads version {VERSION}"
            )
        current = arrow_schema().remove_metadata()
        header = reader.schema.remove_metadata()
        if header != current and header != _without_errors(current):
            raise RecordingError(f"{path}: version {VERSION} header with unexpected columns")
        return reader


def _without_errors(full: pa.Schema) -> pa.Schema:
    """The columns of recordings written before erred tasks' texts were kept."""
    return pa.schema([f for f in full if f.name not in ERROR_COLUMNS])


def _with_error_columns(batch: pa.RecordBatch, full: pa.Schema) -> pa.RecordBatch:
    if batch.schema.names == full.names:
        return batch
    columns = [batch.column(f.name) if f.name in batch.schema.names
               else pa.nulls(batch.num_rows, f.type) for f in full]  # fmt: skip
    return pa.RecordBatch.from_arrays(columns, schema=full)


def _ends_cleanly(path: Path) -> bool:
    """Whether the stream ends with Arrow's end-of-stream marker (closed by stop())."""
    with open(path, "rb") as file:
        file.seek(0, 2)
        if file.tell() < 8:
            return False
        file.seek(-8, 2)
        return file.read() == b"\xff\xff\xff\xff\x00\x00\x00\x00"


class ReplaySource(Source):
    """Plays a recording back in time order, at any speed, from any point.

    Every component and layout works on it unchanged; a
    :class:`~dashkit.components.ReplayControl` plays, pauses, changes speed
    and scrubs. Reaching the end it stops there, or starts over with ``loop``.

    Example
    -------
    >>> source = ReplaySource(path="run.dkrec", speed=10)   # doctest: +SKIP
    >>> feed = Feed.shared(source)                           # doctest: +SKIP
    >>> source.seek(60.0)                                    # doctest: +SKIP
    """

    source_type = "replay"

    path = param.String(default=None, allow_None=True, doc="The recording file (.dkrec).")
    speed = param.Number(
        default=1.0, bounds=(0.01, 1000), doc="Recorded seconds played per second."
    )
    loop = param.Boolean(default=False, doc="Start over at the end instead of stopping.")
    playing = param.Boolean(default=True, doc="Whether the replay clock runs.")
    max_rows = param.Integer(
        default=500_000, bounds=(1, None),
        doc="Task-stream rows one snapshot delivers at most: a jump over millions of "
        "rows is delivered over several polls, so no poll holds them all.",
    )  # fmt: skip

    def __init__(self, **params):
        super().__init__(**params)
        if not self.path:
            raise ValueError("ReplaySource needs a recording: ReplaySource(path='run.dkrec')")
        self.recording: Recording | None = None
        self._lock = threading.Lock()
        self._position = 0.0
        self._delivered = -1.0  # recorded offset up to which rows were delivered
        self._wall: float | None = None
        self._reset = False
        self._rows: Iterator | None = None  # the recording's task batches, from the next
        self._pending: tuple[pd.DataFrame, np.ndarray] | None = None  # rows read, not delivered

    @property
    def key(self) -> str:
        return f"replay:{Path(self.path).resolve()}"

    def connect(self) -> None:
        if self.recording is None:
            self.recording = Recording.read(self.path)
            if self.recording.problem:
                logger.warning(self.recording.problem)
            self._error_offsets = (self.recording.errors["time"] - self.recording.start).to_numpy(
                float
            )
            self._poll_offsets = (self.recording.polls["time"] - self.recording.start).to_numpy()

    @property
    def duration(self) -> float:
        """Recorded seconds, first snapshot to last."""
        self.connect()
        return self.recording.duration

    @property
    def position(self) -> float:
        """Seconds into the recording the replay has reached."""
        return self._position

    @property
    def finished(self) -> bool:
        """Whether every row has been delivered and the replay stopped at the end
        (a snapshot delivers up to the end only with its last rows)."""
        return not self.loop and self._delivered >= self.duration and self._pending is None

    def seek(self, seconds: float) -> None:
        """Jump to ``seconds`` into the recording; backwards restarts the history there."""
        self.connect()
        with self._lock:
            seconds = min(max(float(seconds), 0.0), self.duration)
            if seconds < self._delivered:
                self._start_over()
            self._position = seconds
            self._wall = time.monotonic()

    def snapshot(self) -> Snapshot:
        self.connect()
        rec = self.recording
        if not len(rec.polls):
            raise RecordingError(f"{self.path} holds no snapshot")
        with self._lock:
            now = time.monotonic()
            if self.playing and self._wall is not None:
                self._position += (now - self._wall) * self.speed
            self._wall = now
            if (self._position >= self.duration and self.loop and self._delivered >= self.duration
                    and self._pending is None):
                self._start_over()
                self._position = 0.0
            self._position = min(self._position, self.duration)
            lo = self._delivered
            tasks, hi = self._rows_until(self._position)
            reset, self._reset = self._reset, False
            self._delivered = hi
        # Rows that arrived with the snapshots in (lo, hi]; state as of hi.
        polls = slice(*_between(self._poll_offsets, lo, hi))
        current = rec.polls.iloc[polls.stop - 1]  # the last snapshot at or before hi
        erred = rec.errors.iloc[slice(*_between(self._error_offsets, lo, hi))]
        return Snapshot(
            time=rec.start + hi,
            workers=_as_of(rec.workers, current, "workers", schema.workers_frame),
            progress=_as_of(rec.progress, current, "progress", schema.progress_frame),
            tasks=tasks,
            missing=tuple(m for m in current["missing"].split(",") if m),
            # Rows dropped on reading count as lost with the first snapshot.
            lost=int(rec.polls["lost"].iloc[polls].sum()) + (rec.invalid_tasks if lo < 0 else 0),
            reset=reset,
            errors={k: (e, t) for k, e, t in zip(erred["key"], erred["exception"],
                                                 erred["traceback"], strict=True)},
        )


    def _start_over(self) -> None:
        """Deliver the history again from its start (a jump back, or a loop)."""
        self._reset, self._delivered = True, -1.0
        self._rows, self._pending = None, None

    def _next_rows(self) -> tuple[pd.DataFrame, np.ndarray] | None:
        """The rows read and not delivered (reading the next batch if none are)."""
        if self._rows is None:
            self._rows = self.recording.task_batches()
        if self._pending is None:
            self._pending = next(self._rows, None)
        return self._pending

    def _rows_until(self, position: float) -> tuple[pd.DataFrame, float]:
        """The rows not yet delivered that arrived by ``position`` seconds in,
        at most ``max_rows`` of them, and the offset delivered up to: ``position``,
        or the arrival of the last row taken when more were due."""
        start = self.recording.start
        taken: list[pd.DataFrame] = []
        room, last = self.max_rows, None
        while (pending := self._next_rows()) is not None:
            frame, arrived = pending
            due = int(np.searchsorted(arrived - start, position, "right"))
            if due and not room:  # more are due than one snapshot takes
                position = float(last)
                break
            take = min(due, room)
            if take:
                taken.append(frame.iloc[:take])
                room, last = room - take, arrived[take - 1] - start
            if take < len(frame):
                self._pending = (frame.iloc[take:].reset_index(drop=True), arrived[take:])
                if take < due:
                    position = float(last)
                break
            self._pending = None
        if len(taken) > 1:
            return schema.concat_tasks(taken).reset_index(drop=True), position
        return (taken[0].reset_index(drop=True) if taken else schema.tasks_frame()), position


#: Seconds a task may last, or lie between its start and the snapshot it came
#: with (a backlog read on connecting holds old tasks): beyond, the row is wrong.
_LONGEST = 1e7


def _backwards(times: np.ndarray, latest: float = -np.inf) -> np.ndarray:
    """Rows whose time is not finite or earlier than a time before them (or
    than ``latest``, the latest time of the rows before these)."""
    bad = ~np.isfinite(times)
    before = np.fmax.accumulate(np.where(bad, -np.inf, times)) if times.size else times
    bad[1:] |= times[1:] < before[:-1]
    bad |= times < latest
    return bad


def _impossible_polls(polls: pd.DataFrame) -> np.ndarray:
    return (_backwards(polls["time"].to_numpy(float))
            | _negative_or_not_finite(polls, ["lost", "workers", "progress"]))  # fmt: skip


def _negative_or_not_finite(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    values = frame[columns].to_numpy(float)
    return (~np.isfinite(values) | (values < 0)).any(axis=1)


def _impossible_workers(workers: pd.DataFrame) -> np.ndarray:
    # unmanaged_recent is a difference of two reports and may dip below zero.
    numbers = [c for c, kind in schema.WORKERS.items()
               if kind in ("int", "float") and c != "unmanaged_recent"]  # fmt: skip
    return _backwards(workers["time"].to_numpy(float)) | _negative_or_not_finite(workers, numbers)


def _impossible_progress(progress: pd.DataFrame) -> np.ndarray:
    return (_backwards(progress["time"].to_numpy(float))
            | _negative_or_not_finite(progress, list(schema.PROGRESS_STATES)))  # fmt: skip


def _impossible_tasks(tasks: pd.DataFrame, arrived: np.ndarray,
                      latest: float) -> tuple[np.ndarray, float]:  # fmt: skip
    """Rows with impossible values, given ``latest``, the latest arrival time of
    the valid rows before them; and the latest arrival time after them."""
    start, stop = tasks["start"].to_numpy(float), tasks["stop"].to_numpy(float)
    arrived = np.asarray(arrived, dtype=float)
    with np.errstate(invalid="ignore"):
        duration = stop - start
        wrong = (~np.isfinite(start) | ~np.isfinite(stop) | (duration < 0)
                 | (duration > _LONGEST) | (np.abs(arrived - start) > _LONGEST))  # fmt: skip
    bad = wrong | _backwards(arrived, latest)
    if (~bad).any():
        latest = max(latest, float(arrived[~bad].max()))
    return bad, latest


def _between(offsets, lo: float, hi: float) -> tuple[int, int]:
    """Index range of the sorted ``offsets`` in (lo, hi]."""
    return int(offsets.searchsorted(lo, "right")), int(offsets.searchsorted(hi, "right"))


def _as_of(frames: pd.DataFrame, poll: pd.Series, kind: str, empty) -> pd.DataFrame:
    """The ``kind`` frame in effect at ``poll``: the last block of rows (one
    time each) written at or before it, or an empty frame when it had none."""
    if poll[kind] == 0:
        return empty()
    times = frames["time"].to_numpy()
    stop = int(times.searchsorted(poll["time"], "right"))
    if stop == 0:  # its rows were dropped on reading
        return empty()
    start = int(times.searchsorted(times[stop - 1], "left"))
    return frames.iloc[start:stop].drop(columns="time").reset_index(drop=True)

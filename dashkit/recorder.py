"""Recorder: append every snapshot a Feed receives to a recording file.

The file format is described in :mod:`dashkit.sources.replay`, which also
reads it back (:class:`~dashkit.sources.replay.Recording`) and plays it
(:class:`~dashkit.sources.replay.ReplaySource`).

Example
-------
>>> from dashkit.sources import DaskSource
>>> with record(DaskSource(address="tcp://10.0.0.5:8786"), "run.dkrec"):  # doctest: +SKIP
...     client.compute(...).result()
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa

from dashkit import schema
from dashkit.feed import Feed
from dashkit.sources.base import Snapshot, Source
from dashkit.sources.replay import ARROW_TYPES, ERROR_COLUMNS, arrow_schema

#: Rows per record batch at most: a snapshot of millions of task rows is
#: written in several batches, so that replaying it holds one at a time.
BATCH_ROWS = 1 << 18


class Recorder:
    """Appends every snapshot a Feed receives to a recording file.

    Parameters
    ----------
    feed:
        The Feed to record; recording starts with its next poll.
    path:
        The file to write (replaced if it exists).
    flush_interval:
        Seconds between writes: what a crash can lose at most.

    Example
    -------
    >>> recorder = Recorder(feed, "run.dkrec").start()   # doctest: +SKIP
    >>> recorder.stop()                                   # doctest: +SKIP
    """

    def __init__(self, feed: Feed, path: str | Path, flush_interval: float = 1.0):
        self.feed = feed
        self.path = Path(path)
        self.flush_interval = flush_interval
        self.snapshots = 0
        self.task_rows = 0
        self._pending: list[pa.Table] = []
        self._last = {"workers": None, "progress": None}
        self._last_flush = 0.0
        self._lock = threading.Lock()
        self._file: pa.OSFile | None = None
        self._writer: pa.ipc.RecordBatchStreamWriter | None = None
        self._schema = arrow_schema()
        #: The error that stopped the recording (a full disk, a file size limit),
        #: or None. The file then holds what was written before it.
        self.failure: OSError | None = None

    def start(self) -> Recorder:
        """Open the file and record from the feed's next poll on."""
        # OSFile writes straight to the OS: a killed process loses no buffer.
        self._file = pa.OSFile(str(self.path), "wb")
        options = pa.ipc.IpcWriteOptions(compression="zstd")
        self._writer = pa.ipc.new_stream(self._file, self._schema, options=options)
        self._last_flush = time.monotonic()
        self.feed.subscribe(self.write)
        return self

    def write(self, snap: Snapshot) -> None:
        """Add one snapshot; written to the file with the next flush."""
        if self.failure is not None:
            return
        poll = pa.table({"kind": ["poll"], "time": [snap.time], "poll.lost": [snap.lost],
                         "poll.missing": [",".join(snap.missing)],
                         "poll.workers": [len(snap.workers)],
                         "poll.progress": [len(snap.progress)]})  # fmt: skip
        with self._lock:
            self._pending.append(poll)
            for kind, frame in (("workers", snap.workers), ("progress", snap.progress)):
                previous = self._last[kind]
                if len(frame) and (previous is None or not frame.equals(previous)):
                    self._last[kind] = frame
                    self._pending.append(_prefixed(frame, kind, snap.time))
            if len(snap.tasks):
                self._pending.append(_prefixed(snap.tasks, "tasks", snap.time))
            if snap.errors:
                self._pending.append(_errors(snap.errors, snap.time))
            self.snapshots += 1
            self.task_rows += len(snap.tasks)
            if time.monotonic() - self._last_flush >= self.flush_interval:
                self._write_pending()

    def flush(self) -> None:
        """Write the snapshots pending now (the recorder also does every ``flush_interval``)."""
        with self._lock:
            self._write_pending()

    def _write_pending(self) -> None:
        """Write and clear ``_pending``; the caller holds ``_lock``."""
        self._last_flush = time.monotonic()
        if not self._pending or self._writer is None:
            return
        tables = [_conform(t, self._schema) for t in self._pending]
        self._pending = []
        table = pa.concat_tables(tables).combine_chunks()
        try:
            # Bounded batches: a reader holds one at a time.
            for batch in table.to_batches(max_chunksize=BATCH_ROWS):
                self._writer.write_batch(batch)
        except OSError as err:
            # Stop at the first failed write: the file reads up to it.
            self.failure = err
            self.feed.unsubscribe(self.write)

    def stop(self) -> None:
        """Write what is pending and close the file (it stays a valid stream)."""
        self.feed.unsubscribe(self.write)
        with self._lock:
            self._write_pending()
            if self._writer is not None:
                # After a failed write the end marker may fail too; what was
                # written before it stays readable.
                with contextlib.suppress(OSError):
                    self._writer.close()
                with contextlib.suppress(OSError):
                    self._file.close()
                self._writer = self._file = None


@contextlib.contextmanager
def record(source: Source | Feed, path: str | Path, **params) -> Iterator[Recorder]:
    """Record ``source`` (a Source, polled by a new Feed, or a running Feed) to ``path``.

    Example
    -------
    >>> with record(DaskSource(address="tcp://10.0.0.5:8786"), "run.dkrec"):  # doctest: +SKIP
    ...     client.compute(...).result()
    """
    feed = source if isinstance(source, Feed) else Feed(source, **params)
    recorder = Recorder(feed, path).start()
    owned = not feed.running
    if owned:
        feed.start()
    try:
        yield recorder
    finally:
        if owned:
            feed.stop()
        recorder.stop()


def _prefixed(frame: pd.DataFrame, kind: str, at: float) -> pa.Table:
    columns = {"kind": pa.array([kind] * len(frame)), "time": pa.array([at] * len(frame))}
    for column, dtype in schema.FRAMES[kind].items():
        values = frame[column]
        if dtype == "category":
            values = values.astype(object)
        columns[f"{kind}.{column}"] = pa.array(values.to_numpy(), type=ARROW_TYPES[dtype])
    return pa.table(columns)


def _errors(errors: dict[str, tuple[str, str]], at: float) -> pa.Table:
    keys = list(errors)
    columns = ([str(k) for k in keys], [str(errors[k][0]) for k in keys],
               [str(errors[k][1]) for k in keys])  # fmt: skip
    return pa.table({"kind": ["errors"] * len(keys), "time": [at] * len(keys),
                     **dict(zip(ERROR_COLUMNS, columns, strict=True))})  # fmt: skip


def _conform(table: pa.Table, target: pa.Schema) -> pa.Table:
    """``table`` with every column of ``target``: its own, and nulls for the rest."""
    n = table.num_rows
    columns = [table[f.name] if f.name in table.column_names else pa.nulls(n, f.type)
               for f in target]  # fmt: skip
    return pa.Table.from_arrays(columns, schema=target)



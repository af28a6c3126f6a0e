"""TaskBuffer: the task stream kept columnar in a bounded ring of numpy arrays.

Rows are numbered by an absolute, ever-growing index; a cursor is such an
index. When more than ``capacity`` rows have been appended the oldest are
overwritten, and :attr:`TaskBuffer.dropped` counts them: dropping is never
silent. Worker and prefix are stored as integer codes into append-only
category lists, so a code means the same thing for the buffer's lifetime.

Example
-------
>>> from dashkit.sources import SyntheticSource
>>> buf = TaskBuffer(capacity=1000)
>>> buf.append(SyntheticSource(seed=1, start_time=0.0).snapshot().tasks)
>>> rows = buf.since(0)
>>> rows.cursor == buf.total, rows.skipped
(True, 0)
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dashkit import schema

_DTYPES = {
    "start": np.float64,
    "stop": np.float64,
    "worker": np.int32,
    "thread": np.int64,
    "key": object,
    "prefix": np.int32,
    "action": np.int8,
    "status": np.int8,
}


@dataclass(frozen=True)
class TaskRows:
    """Rows read from a :class:`TaskBuffer`.

    ``frame`` is a ``tasks`` frame (see :mod:`dashkit.schema`); ``cursor`` is
    where the next read should start; ``skipped`` counts rows that were
    overwritten before this reader got to them; ``reset`` says the feed's
    history started over and ``frame`` holds it from the new start.
    """

    frame: pd.DataFrame
    cursor: int
    skipped: int
    reset: bool = False


class _Categories:
    """An append-only value <-> code mapping."""

    def __init__(self, values=()):
        self.values: list[str] = []
        self._codes: dict[str, int] = {}
        for value in values:
            self.code(value)

    def code(self, value: str) -> int:
        code = self._codes.get(value)
        if code is None:
            code = self._codes[value] = len(self.values)
            self.values.append(value)
        return code

    def recode(self, column: pd.Series) -> np.ndarray:
        """Codes of a categorical column in this mapping."""
        lookup = np.array([self.code(v) for v in column.cat.categories], dtype=np.int32)
        codes = column.cat.codes.to_numpy()
        return lookup[codes] if lookup.size else codes.astype(np.int32)


class TaskBuffer:
    """A bounded, thread-safe, columnar ring buffer of task-stream rows."""

    def __init__(self, capacity: int = 1_000_000, derived: dict[str, type] | None = None):
        if capacity < 1:
            raise ValueError(f"TaskBuffer capacity must be at least 1, got {capacity}")
        self.capacity = int(capacity)
        self.total = 0
        #: Columns computed from the rows by the owner (e.g. drawing positions),
        #: kept in the same ring so they are dropped with their rows.
        self.derived = dict(derived or {})
        dtypes = {**_DTYPES, **self.derived}
        self._columns = {name: np.empty(0, dtype=dtype) for name, dtype in dtypes.items()}
        self._categories = {
            "worker": _Categories(),
            "prefix": _Categories(),
            "action": _Categories(schema.ACTIONS),
            "status": _Categories(schema.TASK_STATUSES),
        }
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return min(self.total, self.capacity)

    @property
    def dropped(self) -> int:
        """Rows overwritten because the buffer was full."""
        return max(0, self.total - self.capacity)

    @property
    def oldest(self) -> int:
        """Cursor of the oldest row still held."""
        return self.dropped

    @property
    def prefixes(self) -> list[str]:
        """Prefix names, in code order."""
        return list(self._categories["prefix"].values)

    @property
    def nbytes(self) -> int:
        """Bytes held by the numeric columns and the key strings."""
        return self.nbytes_of(range(self.oldest, self.total))

    def nbytes_of(self, rows: range) -> int:
        """Bytes the rows at cursors ``rows`` (each still held) take in the buffer."""
        row = sum(c.itemsize for n, c in self._columns.items() if n != "key")
        keys = self.columns(["key"], rows)["key"]
        # A key is a str object (49 bytes and its text) and a pointer.
        return (row + 8 + 49) * len(rows) + sum(map(len, keys))

    def append(self, frame: pd.DataFrame, derived: dict[str, np.ndarray] | None = None) -> None:
        """Append a ``tasks`` frame; the oldest rows go once ``capacity`` is reached.

        ``derived`` holds one array per column named in :attr:`derived`."""
        n = len(frame)
        if n == 0:
            return
        if set(derived or {}) != set(self.derived):
            raise ValueError(
                f"TaskBuffer.append: derived columns {sorted(derived or {})} given, "
                f"expected {sorted(self.derived)}"
            )
        with self._lock:
            incoming = {k: np.asarray(v, dtype=self.derived[k]) for k, v in (derived or {}).items()}
            for name in _DTYPES:
                if name in self._categories:
                    incoming[name] = self._categories[name].recode(frame[name])
                else:
                    incoming[name] = frame[name].to_numpy(dtype=_DTYPES[name])
            if n > self.capacity:  # only the newest rows can be kept
                incoming = {k: v[-self.capacity :] for k, v in incoming.items()}
                self.total += n - self.capacity
                n = self.capacity
            self._grow(min(self.total + n, self.capacity))
            positions = np.arange(self.total, self.total + n) % self.capacity
            for name, values in incoming.items():
                self._columns[name][positions] = values
            self.total += n

    def _grow(self, needed: int) -> None:
        size = self._columns["start"].size
        if needed <= size:
            return
        new_size = min(self.capacity, max(needed, 2 * size, 1024))
        for name, column in self._columns.items():
            grown = np.empty(new_size, dtype=column.dtype)
            grown[:size] = column
            self._columns[name] = grown

    def since(self, cursor: int) -> TaskRows:
        """Rows from ``cursor`` (an absolute row number) to the newest."""
        with self._lock:
            first = max(cursor, self.oldest)
            return TaskRows(self._frame(first, self.total), self.total, first - cursor)

    def columns(self, names: list[str], cursors: np.ndarray | range) -> dict[str, np.ndarray]:
        """Raw columns (codes for categories) of the rows at absolute indices
        ``cursors`` (each must still be held), copied. A ``range`` (consecutive
        rows, what following the run reads every poll) is copied by slices."""
        with self._lock:
            if isinstance(cursors, range):
                return self._run_of(names, cursors)
            self._check_held(cursors)
            positions = cursors % self.capacity
            return {name: self._columns[name][positions] for name in names}

    def _run_of(self, names: list[str], rows: range) -> dict[str, np.ndarray]:
        if rows.step != 1:
            return self.columns(names, np.arange(rows.start, rows.stop, rows.step))
        if len(rows):
            self._check_held(np.array([rows.start, rows.stop - 1]))
        start, n = rows.start % self.capacity, len(rows)
        first = slice(start, min(start + n, self.capacity))
        wrapped = slice(0, n - (first.stop - first.start))  # the part past the buffer's end
        if not wrapped.stop:
            return {name: self._columns[name][first].copy() for name in names}
        return {name: np.concatenate([self._columns[name][first], self._columns[name][wrapped]])
                for name in names}  # fmt: skip

    def category_values(self, name: str) -> list[str]:
        """The values of a categorical column (worker, prefix, action, status), in code order."""
        return list(self._categories[name].values)

    def take(self, cursors: np.ndarray) -> pd.DataFrame:
        """The rows at absolute indices ``cursors`` (each must still be held)."""
        cursors = np.asarray(cursors, dtype=np.int64)
        with self._lock:
            self._check_held(cursors)
            return self._frame_at(cursors % self.capacity)

    def _check_held(self, cursors: np.ndarray) -> None:
        if cursors.size and (cursors.min() < self.oldest or cursors.max() >= self.total):
            raise IndexError(
                f"rows {cursors.min()}..{cursors.max()} are not all held "
                f"(held: {self.oldest}..{self.total - 1})"
            )

    def frame(self) -> pd.DataFrame:
        """Every row held, oldest first."""
        return self.since(0).frame

    def _frame(self, first: int, last: int) -> pd.DataFrame:
        n = max(0, last - first)
        start = first % self.capacity
        if start + n <= self._columns["start"].size:
            return self._frame_at(slice(start, start + n))
        return self._frame_at(np.arange(first, last) % self.capacity)

    def _frame_at(self, positions) -> pd.DataFrame:
        # A slice is a view into the ring: copy, or a later append would change it.
        copy = isinstance(positions, slice)
        taken = {k: v[positions].copy() if copy else v[positions]
                 for k, v in self._columns.items() if k in _DTYPES}  # fmt: skip
        data = {}
        for name in _DTYPES:
            if name in self._categories:
                data[name] = pd.Categorical.from_codes(
                    taken[name], categories=list(self._categories[name].values)
                )
            else:
                data[name] = taken[name]
        return pd.DataFrame(data, columns=list(schema.TASKS))

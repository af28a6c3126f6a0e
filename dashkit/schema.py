"""The frames that pass between layers: their columns and dtypes, in one place.

Three frames travel from a :class:`~dashkit.sources.base.Source` through the
:class:`~dashkit.feed.Feed` to components:

``workers``
    One row per worker in the latest snapshot.
``progress``
    One row per task prefix that has tasks in any state but *forgotten*.
``tasks``
    One row per start/stop interval of the task stream (a task that fetched a
    dependency and then computed gives a ``transfer`` row and a ``compute``
    row). Append-only: each snapshot carries only rows new since the last.

Every source builds its frames with :func:`workers_frame`,
:func:`progress_frame` and :func:`tasks_frame`, which coerce to these dtypes
and raise :class:`SchemaError` naming what does not fit. :func:`validate`
checks a frame that was built some other way.

Example
-------
>>> frame = progress_frame([{"prefix": "inc", "memory": 3, "total": 3}])
>>> frame.loc[0, "waiting"]
np.int64(0)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

#: Column name -> dtype kind: "str", "int" (int64), "float" (float64),
#: "bool" or "category".
WORKERS: dict[str, str] = {
    "address": "str",  # scheduler-side address, the worker's identity
    "name": "str",
    "status": "str",  # running, paused, closing_gracefully, ...
    "nthreads": "int",
    "memory_limit": "int",  # bytes; 0 when the worker has no limit
    "process": "int",  # RSS of the worker process, bytes
    "managed": "int",  # bytes of task results held in memory
    "unmanaged_old": "int",  # unmanaged bytes that persisted over 30 s
    "unmanaged_recent": "int",  # process - managed - unmanaged_old
    "spilled": "int",  # bytes spilled to disk
    "processing": "int",  # tasks assigned to the worker (executing or queued there)
    "executing": "int",  # tasks running right now
    "occupancy": "float",  # expected seconds of work assigned
    "cpu": "float",  # process CPU %, up to nthreads * 100
    "idle": "bool",  # in the scheduler's idle set (checked by address)
    "saturated": "bool",  # in the scheduler's saturated set
}

#: Task states counted per prefix, in the order the progress bar draws them.
PROGRESS_STATES: tuple[str, ...] = (
    "released",
    "memory",
    "erred",
    "processing",
    "queued",
    "no_worker",
    "waiting",
)

PROGRESS: dict[str, str] = {
    "prefix": "str",
    **dict.fromkeys(PROGRESS_STATES, "int"),
    "total": "int",  # the sum of the seven states
}

#: Values of the ``action`` column of the task stream (``deserialize`` comes
#: from workers of older Dask releases).
ACTIONS: tuple[str, ...] = ("compute", "transfer", "disk-read", "disk-write", "deserialize")
#: Values of the ``status`` column of the task stream.
TASK_STATUSES: tuple[str, ...] = ("ok", "error")

TASKS: dict[str, str] = {
    "start": "float",  # epoch seconds, scheduler clock
    "stop": "float",
    "worker": "category",  # worker address
    "thread": "int",  # thread id on that worker: with worker, one task-stream row
    "key": "str",  # the task key (tuple keys as their str())
    "prefix": "category",  # dask.utils.key_split(key)
    "action": "category",  # one of ACTIONS
    "status": "category",  # one of TASK_STATUSES
}

FRAMES: dict[str, dict[str, str]] = {"workers": WORKERS, "progress": PROGRESS, "tasks": TASKS}

_NUMPY = {"int": np.int64, "float": np.float64, "bool": np.bool_}


class SchemaError(ValueError):
    """A frame does not have the columns or dtypes of the data contract."""


def _kind_matches(series: pd.Series, kind: str) -> bool:
    dtype = series.dtype
    if kind == "category":
        return isinstance(dtype, pd.CategoricalDtype)
    if kind == "str":
        return pd.api.types.is_string_dtype(dtype) or dtype is np.dtype(object)
    return dtype == _NUMPY[kind]


def validate(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Check that ``frame`` has exactly the columns and dtypes of ``kind``.

    ``kind`` is one of ``"workers"``, ``"progress"``, ``"tasks"``. Returns the
    frame so calls can be chained; raises :class:`SchemaError` naming every
    missing, extra or mistyped column.
    """
    if kind not in FRAMES:
        raise SchemaError(f"unknown frame kind {kind!r}; valid kinds: {', '.join(FRAMES)}")
    spec = FRAMES[kind]
    problems = []
    missing = [c for c in spec if c not in frame.columns]
    extra = [c for c in frame.columns if c not in spec]
    if missing:
        problems.append(f"missing columns {missing}")
    if extra:
        problems.append(f"unexpected columns {extra}")
    if not missing and list(frame.columns) != list(spec):
        problems.append(f"columns out of order: expected {list(spec)}")
    for column, want in spec.items():
        if column in frame.columns and not _kind_matches(frame[column], want):
            problems.append(f"column {column!r} has dtype {frame[column].dtype}, expected {want}")
    if problems:
        raise SchemaError(f"{kind} frame does not match the schema: " + "; ".join(problems))
    return frame


def _coerce(columns: Mapping[str, Any], kind: str, length: int) -> pd.DataFrame:
    spec = FRAMES[kind]
    unknown = [c for c in columns if c not in spec]
    if unknown:
        raise SchemaError(
            f"{kind} frame: unknown columns {unknown}; valid columns: {', '.join(spec)}"
        )
    data = {}
    for column, want in spec.items():
        values = columns.get(column)
        try:
            if want == "category":
                data[column] = (
                    values
                    if isinstance(values, pd.Categorical)
                    else pd.Categorical([] if values is None else values)
                )
            elif want == "str":
                data[column] = pd.array(
                    [""] * length if values is None else [str(v) for v in values], dtype=object
                )
            else:
                fill = np.zeros(length, dtype=_NUMPY[want])
                data[column] = fill if values is None else np.asarray(values, dtype=_NUMPY[want])
        except (TypeError, ValueError) as err:
            raise SchemaError(f"{kind} frame: column {column!r} cannot be {want}: {err}") from err
    lengths = {c: len(v) for c, v in data.items()}
    if len(set(lengths.values())) > 1:
        raise SchemaError(f"{kind} frame: columns have different lengths {lengths}")
    return pd.DataFrame(data, columns=list(spec))


def _records_to_columns(records: Iterable[Mapping[str, Any]], spec: dict[str, str]):
    records = list(records)
    unknown = sorted({k for r in records for k in r} - set(spec))
    if unknown:
        return records, unknown
    columns = {c: [r.get(c, _default(spec[c])) for r in records] for c in spec}
    return columns, []


def _default(kind: str):
    return {"str": "", "int": 0, "float": 0.0, "bool": False, "category": ""}[kind]


def _frame(data, kind: str) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        data = {c: data[c].to_numpy() for c in data.columns}
    if isinstance(data, Mapping):
        lengths = [len(v) for v in data.values() if v is not None]
        return _coerce(data, kind, lengths[0] if lengths else 0)
    columns, unknown = _records_to_columns(data, FRAMES[kind])
    if unknown:
        raise SchemaError(
            f"{kind} frame: unknown fields {unknown}; valid fields: {', '.join(FRAMES[kind])}"
        )
    return _coerce(columns, kind, len(next(iter(columns.values()))))


def workers_frame(data=()) -> pd.DataFrame:
    """Build a ``workers`` frame from records, a column mapping or a DataFrame.

    Absent numeric fields are 0, absent strings empty, absent flags False.
    """
    return _frame(data, "workers")


def progress_frame(data=()) -> pd.DataFrame:
    """Build a ``progress`` frame; ``total`` is recomputed from the seven states."""
    frame = _frame(data, "progress")
    frame["total"] = frame[list(PROGRESS_STATES)].sum(axis=1).astype(np.int64)
    return frame


def tasks_frame(data=()) -> pd.DataFrame:
    """Build a ``tasks`` frame; ``action`` and ``status`` must be known values."""
    frame = _frame(data, "tasks")
    for column, allowed in (("action", ACTIONS), ("status", TASK_STATUSES)):
        bad = set(frame[column].cat.categories) - set(allowed)
        if bad:
            raise SchemaError(
                f"tasks frame: column {column!r} has values {sorted(bad)}; "
                f"valid values: {', '.join(allowed)}"
            )
    return frame


def concat_tasks(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """One ``tasks`` frame of several, in order; categorical columns stay
    categorical where the frames' categories differ.

    >>> row = {"key": "a", "prefix": "a", "worker": "w", "thread": 1, "start": 0.0,
    ...        "stop": 1.0, "action": "compute", "status": "ok"}
    >>> both = concat_tasks([tasks_frame([row]), tasks_frame([{**row, "prefix": "b"}])])
    >>> list(both["prefix"].cat.categories)
    ['a', 'b']
    """
    columns = {}
    for column, kind in TASKS.items():
        if kind == "category":
            columns[column] = pd.api.types.union_categoricals([f[column] for f in frames])
        else:
            columns[column] = np.concatenate([f[column].to_numpy() for f in frames])
    return tasks_frame(columns)

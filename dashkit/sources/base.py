"""The Source contract: where telemetry comes from.

A source answers one question, :meth:`Source.snapshot`: what the cluster
looks like now, and which task-stream rows finished since the last call.
Sources never import Panel or HoloViews; the :class:`~dashkit.feed.Feed`
polls them and components read the Feed.

Sources are registered by their ``source_type`` class attribute, so a layout
spec can say ``source: {type: synthetic, n_workers: 100}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import param

from dashkit import schema
from dashkit.registry import Registered


class SourceError(RuntimeError):
    """A source could not deliver a snapshot."""


class SourceUnreachable(SourceError, ConnectionError):
    """The source could not be reached (e.g. no scheduler at the address)."""


@dataclass(frozen=True)
class Snapshot:
    """One poll of a source.

    Attributes
    ----------
    time:
        When the snapshot was taken, epoch seconds (source clock).
    workers, progress:
        The ``workers`` and ``progress`` frames of :mod:`dashkit.schema`.
    tasks:
        The ``tasks`` frame rows new since the previous snapshot.
    missing:
        Schema fields this source cannot fill (they hold zeros).
    lost:
        Task-stream rows that were gone before they could be read (e.g. they
        fell out of the scheduler's own bounded buffer).
    reset:
        The source started its task stream over (a replay jumped back):
        drop the rows held; ``tasks`` holds the history from the new start.
    errors:
        Task key -> ``(exception text, traceback text)`` of the tasks in
        ``tasks`` that erred, when the source knows them.
    """

    time: float
    workers: pd.DataFrame
    progress: pd.DataFrame
    tasks: pd.DataFrame
    missing: tuple[str, ...] = ()
    lost: int = 0
    info: dict = field(default_factory=dict)
    reset: bool = False
    errors: dict[str, tuple[str, str]] = field(default_factory=dict)

    def __post_init__(self):
        schema.validate(self.workers, "workers")
        schema.validate(self.progress, "progress")
        schema.validate(self.tasks, "tasks")


class Source(Registered, param.Parameterized):
    """Base class of all telemetry sources.

    Subclasses set ``source_type`` (the name used in specs) and implement
    :meth:`snapshot`; sources holding resources also implement :meth:`connect`
    and :meth:`close`. A source is a context manager.

    Example
    -------
    >>> from dashkit.sources import SyntheticSource
    >>> with SyntheticSource(n_workers=4, seed=1) as src:
    ...     snap = src.snapshot()
    >>> len(snap.workers)
    4
    """

    source_type: str | None = None
    registry_attribute = "source_type"
    registry_noun = "source type"

    __abstract = True

    def __init__(self, **params):
        super().__init__(**params)
        self._explicit = {k for k, v in params.items() if k != "name" and v is not None}

    @property
    def key(self) -> str:
        """Identity used by :meth:`dashkit.feed.Feed.shared`: equal keys share one Feed."""
        return f"{self.source_type}:{id(self)}"

    def connect(self) -> None:
        """Acquire what the source needs; raises :class:`SourceUnreachable`."""

    def snapshot(self) -> Snapshot:
        """The cluster now, plus task-stream rows new since the last call."""
        raise NotImplementedError

    def task_info(self, key: str) -> dict | None:
        """What only the cluster knows of task ``key`` now (see
        :func:`dashkit.sources.scheduler_side.task_info`), or None when this
        source cannot ask (a recording, a synthetic cluster)."""
        return None

    def close(self) -> None:
        """Release what :meth:`connect` acquired. Safe to call twice."""

    def __enter__(self):
        self.connect()
        return self

    def __exit__(self, *exc):
        self.close()

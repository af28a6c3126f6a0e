"""Feed: one poller per source per process, shared by every reader.

A Feed polls its :class:`~dashkit.sources.base.Source` every ``period``
seconds on one background thread, keeps the latest ``workers`` and
``progress`` frames, and appends task-stream rows to a bounded
:class:`~dashkit.task_buffer.TaskBuffer` together with their time and
lane (:class:`~dashkit.task_history.TaskHistory`, one per Feed). Any
number of readers (browser sessions, notebook cells) pull what is new with
their own cursor, so ten dashboards cost the scheduler what one does.

What components derive from a poll is computed once for all of them:
:meth:`Feed.view` is one consistent snapshot, and :attr:`Feed.frames` (a
:class:`~dashkit.frame_cache.FrameCache`) caches a value per snapshot and
key, so ten pages showing the same plot compute its frame once per poll.

Failures never raise into readers: a failed poll sets :attr:`Feed.status` to
``"disconnected: <reason>"``, keeps the data already held, logs once, and the
next poll tries again (reconnecting when the scheduler is back).

Example
-------
>>> from dashkit.sources import SyntheticSource
>>> feed = Feed(SyntheticSource(seed=1, start_time=0.0), period=0.1)
>>> feed.poll()
True
>>> feed.status, len(feed.workers)
('connected', 8)
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import ClassVar

import pandas as pd
import param

from dashkit import schema
from dashkit.frame_cache import FrameCache
from dashkit.sources.base import Snapshot, Source, SourceError
from dashkit.task_buffer import TaskBuffer, TaskRows
from dashkit.task_history import TaskHistory

logger = logging.getLogger(__name__)

#: Erred tasks whose exception and traceback a Feed keeps (the newest).
MAX_ERRORS = 10_000


@dataclasses.dataclass(frozen=True)
class FeedView:
    """One consistent snapshot of a Feed: everything a redraw reads.

    ``version`` counts changes (successful polls, and status changes between
    them); ``generation`` counts restarts of the task stream (a replay
    jumping back). ``tasks_total`` is the cursor after the newest task-stream
    row of this snapshot.
    """

    version: int
    generation: int
    status: str
    workers: pd.DataFrame
    workers_by_address: pd.DataFrame  # the order of every per-worker plot
    progress: pd.DataFrame
    time: float | None
    tasks_total: int
    dropped: int
    history: TaskHistory


class Feed(param.Parameterized):
    """Polls a source on one background thread and serves its data to readers.

    Example
    -------
    >>> from dashkit.sources import SyntheticSource
    >>> feed = Feed.shared(SyntheticSource(seed=2, start_time=0.0))
    >>> reader = feed.reader()
    >>> rows = reader.read()          # task rows new since the last read
    >>> reader.close()                # the last reader out stops the shared feed
    """

    source = param.ClassSelector(class_=Source, doc="Where the telemetry comes from.")
    period = param.Number(
        default=0.5,
        bounds=(0.01, None),
        doc="Seconds between polls. Memory and CPU come from worker heartbeats "
        "(0.5-2 s), so polling faster makes nothing fresher.",
    )
    max_task_rows = param.Integer(
        default=1_000_000,
        bounds=(1, None),
        doc="Task-stream rows kept; past this the oldest are dropped and counted.",
    )
    linger = param.Number(
        default=30.0,
        bounds=(0, None),
        doc="Shared feeds: seconds to keep polling after the last reader leaves, "
        "so a page reload does not restart the source.",
    )
    wait_for_source = param.Boolean(
        default=False,
        doc="Start even when the source cannot be reached yet: each poll tries again, "
        "and the status says so. False: starting raises when the source is unreachable.",
    )
    status = param.String(
        default="stopped",
        constant=True,
        doc="'connected', 'degraded: <missing fields>', 'disconnected: <reason>', or 'stopped'.",
    )

    _registry: ClassVar[dict[str, Feed]] = {}
    _registry_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, source: Source, **params):
        super().__init__(source=source, **params)
        self._new_history()
        self.workers = schema.workers_frame()
        self._workers_by_address: pd.DataFrame | None = None
        self.progress = schema.progress_frame()
        self.time: float | None = None
        self.polls = 0
        self._version = 0  # bumped by every change a reader could see
        self.failures = 0
        self.lost = 0
        self.missing: tuple[str, ...] = ()
        self.generation = 0  # bumped when the source starts its task stream over
        self._listeners: list[Callable[[Snapshot], None]] = []
        self._readers: set[FeedReader] = set()
        self._shared_key: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._linger_timer: threading.Timer | None = None
        self._lock = threading.RLock()
        #: What components derive from each poll, computed once for all of them.
        self.frames = FrameCache()

    def _new_history(self) -> None:
        self.tasks = TaskBuffer(self.max_task_rows, derived=TaskHistory.DERIVED)
        self.history = TaskHistory(self.tasks)
        #: Key -> (exception text, traceback text) of the newest erred tasks.
        self.errors: OrderedDict[str, tuple[str, str]] = OrderedDict()

    # -- sharing -------------------------------------------------------------

    @classmethod
    def shared(cls, source: Source | str, **params) -> Feed:
        """The process-wide Feed for ``source``, started on first use.

        ``source`` is a Source, a scheduler address (``"tcp://host:8786"``) or
        ``"embedded"``. Sources with equal :attr:`~Source.key` share one Feed;
        ``params`` apply only when the Feed is created.
        """
        if isinstance(source, str):
            from dashkit.sources.dask import DaskSource

            source = DaskSource() if source == "embedded" else DaskSource(address=source)
        with cls._registry_lock:
            feed = cls._registry.get(source.key)
            if feed is None:
                feed = cls(source, **params)
                feed._shared_key = source.key
                feed.start()
                cls._registry[source.key] = feed
            return feed

    @classmethod
    def stop_all(cls) -> None:
        """Stop every shared feed (e.g. at interpreter exit or between tests)."""
        with cls._registry_lock:
            feeds = list(cls._registry.values())
        for feed in feeds:
            feed.stop()

    def reader(self, from_start: bool = True) -> FeedReader:
        """A new cursor into the task stream (from the oldest row held, or from now)."""
        with self._lock:
            if self._linger_timer is not None:
                self._linger_timer.cancel()
                self._linger_timer = None
            reader = FeedReader(self, self.tasks.oldest if from_start else self.tasks.total)
            self._readers.add(reader)
            return reader

    def _release(self, reader: FeedReader) -> None:
        with self._lock:
            self._readers.discard(reader)
            if self._readers or self._shared_key is None or not self.running:
                return
            if self.linger == 0:
                threading.Thread(target=self.stop, daemon=True).start()
            else:
                self._linger_timer = threading.Timer(self.linger, self._stop_if_unread)
                self._linger_timer.daemon = True
                self._linger_timer.start()

    def _stop_if_unread(self) -> None:
        with self._lock:
            if self._readers:
                return
        self.stop()

    # -- lifecycle -----------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> Feed:
        """Connect the source (raising if it is unreachable, unless
        ``wait_for_source``) and start polling."""
        if self.running:
            return self
        if not self.wait_for_source:
            self.source.connect()  # otherwise the first poll connects
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"dashkit-feed-{self.source.key}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop polling and close the source. The data held stays readable."""
        with self._lock:
            if self._linger_timer is not None:
                self._linger_timer.cancel()
                self._linger_timer = None
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)
        self._thread = None
        self.source.close()
        with Feed._registry_lock:
            if Feed._registry.get(self._shared_key) is self:
                del Feed._registry[self._shared_key]
        self._set_status("stopped")

    def _run(self) -> None:
        due = time.monotonic()
        while not self._stop.is_set():
            self.poll()
            now = time.monotonic()
            due = next_poll(due, now, self.period)
            self._stop.wait(max(0.0, due - now))

    # -- polling -------------------------------------------------------------

    def poll(self) -> bool:
        """Take one snapshot now. Returns False (and sets the status) on failure."""
        try:
            snap = self.source.snapshot()
        except SourceError as err:
            self.failures += 1
            waiting = f"; trying again every {self.period:g} s" if self.polls == 0 else ""
            self._set_status(f"disconnected: {err}{waiting}")
            return False
        except Exception as err:  # noqa: BLE001 - any failure must leave the feed polling
            return self._failed(err)
        try:
            with self._lock:
                if snap.reset:
                    self._new_history()
                    self.lost = 0  # counted with the rows, which start over
                    self.generation += 1
                self.history.append(snap.tasks)
                self._keep_errors(snap.errors)
                self.workers = snap.workers
                self._workers_by_address = None
                self.progress = snap.progress
                self.time = snap.time
                self.lost += snap.lost
                self.missing = snap.missing
                self.polls += 1
                self._version += 1
        except Exception as err:  # noqa: BLE001 - data a reader can't use: keep what is held
            return self._failed(err)
        self._set_status(f"degraded: {', '.join(snap.missing)}" if snap.missing else "connected")
        for listener in list(self._listeners):
            try:
                listener(snap)
            except Exception:  # a failing listener must not stop the polling
                logger.exception("dashkit feed for %s: %r failed", self.source.key, listener)
        return True

    def _keep_errors(self, errors: dict[str, tuple[str, str]]) -> None:
        for key, (exception, traceback) in errors.items():
            self.errors.pop(str(key), None)  # the newest last, as for a new key
            self.errors[str(key)] = (str(exception), str(traceback))
        while len(self.errors) > MAX_ERRORS:
            self.errors.popitem(last=False)

    def _failed(self, err: Exception) -> bool:
        """A poll failed for another reason than the source being unreachable
        (a bug, data that cannot be used): say so on the page and go on polling."""
        self.failures += 1
        status = f"failed: {type(err).__name__}: {err}"
        if status != self.status:
            logger.error("dashkit feed for %s: poll failed", self.source.key, exc_info=err)
        self._set_status(status)
        return False

    def subscribe(self, listener: Callable[[Snapshot], None]) -> None:
        """Call ``listener(snapshot)`` after each successful poll (on the poller thread)."""
        self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[Snapshot], None]) -> None:
        """Stop calling ``listener``; unknown listeners are ignored."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _set_status(self, status: str) -> None:
        previous = self.status
        if status == previous:
            return
        if status.startswith("disconnected"):
            # One warning per outage: the reason may change while it lasts
            # (connection reset, then connect timeouts), the outage does not.
            level = logging.DEBUG if previous.startswith("disconnected") else logging.WARNING
            logger.log(level, "dashkit feed for %s: %s", self.source.key, status)
        elif previous.startswith("disconnected"):
            logger.info("dashkit feed for %s: %s again", self.source.key, status)
        with self._lock, param.edit_constant(self):
            self.status = status
            self._version += 1

    # -- reading -------------------------------------------------------------

    @property
    def version(self) -> int:
        """Counts every change a reader could see (the ``version`` of :meth:`view`)."""
        return self._version

    def view(self) -> FeedView:
        """The data of the latest poll, all from that one poll."""
        with self._lock:
            if self._workers_by_address is None:  # sorted once per poll, for every plot
                self._workers_by_address = self.workers.sort_values("address").reset_index(
                    drop=True
                )
            return FeedView(
                version=self._version, generation=self.generation, status=self.status,
                workers=self.workers, workers_by_address=self._workers_by_address,
                progress=self.progress, time=self.time,
                tasks_total=self.tasks.total, dropped=self.dropped, history=self.history,
            )  # fmt: skip

    def task_error(self, key: str) -> tuple[str, str] | None:
        """``(exception text, traceback text)`` of erred task ``key``, if held."""
        with self._lock:
            return self.errors.get(key)

    def task_info(self, key: str) -> tuple[dict | None, str | None]:
        """Ask the source what only the cluster knows of task ``key`` now:
        ``(answer, None)``, or ``(None, why not)`` when it cannot tell. Blocks
        for a round trip: call it off the page's event loop."""
        try:
            info = self.source.task_info(key)
        except Exception as err:  # noqa: BLE001 - a failed question must not fail the page
            return None, f"The cluster did not answer: {err}"
        if info is None:
            kind = self.source.source_type
            return None, f"This source ({kind}) cannot ask a scheduler: shown is what it holds."
        return info, None

    def since(self, cursor: int) -> TaskRows:
        """Task-stream rows from ``cursor`` on (see :class:`TaskBuffer`)."""
        return self.tasks.since(cursor)

    @property
    def dropped(self) -> int:
        """Task rows no longer held: dropped by the cap, or lost at the source."""
        return self.tasks.dropped + self.lost


def next_poll(due: float, now: float, period: float) -> float:
    """When the poll after the one due at ``due`` is due, at ``now``.

    Polls keep to a fixed clock, so a late poll (a loaded machine wakes the
    poller late, a scheduler answers slowly) is followed by a sooner one and
    pages still get one poll per ``period``; more than a period behind, the
    clock starts again from now instead of polling in a burst.

    >>> next_poll(0.0, 0.2, 0.5), next_poll(0.0, 0.7, 0.5), next_poll(0.0, 1.2, 0.5)
    (0.5, 0.5, 1.2)
    """
    due += period
    return now if due < now - period else due


class FeedReader:
    """One reader's cursor into a Feed's task stream.

    Example
    -------
    >>> reader = feed.reader()     # doctest: +SKIP
    >>> new = reader.read().frame  # doctest: +SKIP
    """

    def __init__(self, feed: Feed, cursor: int):
        self.feed = feed
        self.cursor = cursor
        self.generation = feed.generation
        self.closed = False

    def read(self) -> TaskRows:
        """Rows new since the last read; advances the cursor.

        After the source started over (a replay jumped back) the rows are the
        new history from its start, flagged ``reset``: drop what was drawn."""
        feed = self.feed
        with feed._lock:
            reset = self.generation != feed.generation
            if reset:
                self.generation, self.cursor = feed.generation, 0
            rows = feed.since(self.cursor)
        self.cursor = rows.cursor
        return dataclasses.replace(rows, reset=True) if reset else rows

    @property
    def workers(self) -> pd.DataFrame:
        return self.feed.workers

    @property
    def progress(self) -> pd.DataFrame:
        return self.feed.progress

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.feed._release(self)

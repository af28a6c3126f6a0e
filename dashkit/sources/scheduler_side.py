"""Code that runs inside the Dask scheduler process.

dashkit is usually not installed where the scheduler runs, so this module is
shipped *by value* (``cloudpickle.register_pickle_by_value``) and must import
nothing from dashkit: only the standard library, dask and distributed, which
every scheduler has.

:class:`SnapshotPlugin` is registered once per scheduler. Its ``start`` adds
two RPC handlers. :data:`HANDLER` makes a poll a single cheap round trip
returning everything one tick needs: per-worker rows, per-prefix state counts
and the task-stream records new since the caller's cursor, already flattened
into columns (one row per start/stop interval), with the exception and
traceback text of those that erred. The work is
O(workers + prefixes + new records). :data:`TASK_HANDLER` answers what only
the scheduler knows about one task, for a click on it (:func:`task_info`), in
time independent of the number of tasks: any viewer of a page can ask, and
the scheduler's event loop serves every client of the cluster.

:func:`task_stream_columns` is also used on the client for the fallback path,
where the built-in ``get_task_stream`` RPC delivers raw records.
"""

from __future__ import annotations

import ast
import time
from collections import OrderedDict

from dask.utils import key_split
from distributed.diagnostics.plugin import SchedulerPlugin

#: Name of the RPC handler the plugin adds; versioned so that a scheduler
#: holding an older dashkit plugin is given the new one instead of reusing it.
HANDLER = "dashkit_snapshot_v3"
TASK_HANDLER = "dashkit_task_v3"
PLUGIN_NAME = "dashkit-snapshot-v3"

#: Characters kept of an exception's text and of a traceback: enough to read,
#: bounded so that a task raising a huge message cannot swell every poll.
MAX_EXCEPTION_CHARS = 2_000
MAX_TRACEBACK_CHARS = 20_000
#: Dependencies listed for one task.
MAX_DEPENDENCIES = 50
#: Longest key text a question may name; longer ones are not looked up.
MAX_KEY_CHARS = 1_000
#: Tasks whose transfers the plugin remembers (as many records as Dask's own
#: task stream holds by default).
MAX_TRANSFERS_KEPT = 100_000

#: Task-stream record columns, in the order of ``dashkit.schema.TASKS``.
TASK_COLUMNS = ("start", "stop", "worker", "thread", "key", "prefix", "action", "status")

PREFIX_STATES = {
    "released": "released",
    "memory": "memory",
    "erred": "erred",
    "processing": "processing",
    "queued": "queued",
    "no_worker": "no-worker",
    "waiting": "waiting",
}


def task_stream_columns(records, errors: dict | None = None) -> dict[str, list]:
    """Flatten task-stream records into columns, one row per start/stop.

    Records without a ``thread`` (e.g. tasks that never ran on a worker
    thread) are skipped, as the Dask dashboard does. With ``errors`` (a dict),
    each erred record adds ``key: [exception text, traceback text]`` to it.
    """
    columns: dict[str, list] = {name: [] for name in TASK_COLUMNS}
    start, stop, worker, thread, keys, prefix, action, status = columns.values()
    for record in records:
        thread_id = record.get("thread")
        if thread_id is None:
            continue
        key = record["key"]
        key_text = _key_text(key)
        key_prefix = key_split(key)
        ok = "ok" if record.get("status", "OK") == "OK" else "error"
        if ok == "error" and errors is not None:
            errors[key_text] = error_texts(record)
        for startstop in record.get("startstops", ()):
            start.append(float(startstop["start"]))
            stop.append(float(startstop["stop"]))
            worker.append(record.get("worker", ""))
            thread.append(int(thread_id))
            keys.append(key_text)
            prefix.append(key_prefix)
            action.append(startstop["action"])
            status.append(ok)
    return columns


def _key_text(key) -> str:
    """A task key as the task stream carries it (tuple keys as their str())."""
    return key if isinstance(key, str) else str(key)


def _known_bytes(nbytes) -> int | None:
    """A size the scheduler knows, or None (it says -1 or None when it does not)."""
    return int(nbytes) if nbytes and nbytes > 0 else None


def error_texts(record) -> list[str]:
    """``[exception, traceback]`` text of an erred record or task, bounded."""
    exception = record.get("exception_text") or ""
    traceback = record.get("traceback_text") or ""
    return [str(exception)[:MAX_EXCEPTION_CHARS], str(traceback)[-MAX_TRACEBACK_CHARS:]]


def _task_state(scheduler, key_text: str):
    """The scheduler's TaskState of the task whose key reads ``key_text``, or None."""
    ts = scheduler.tasks.get(key_text)
    if ts is None and key_text.startswith("("):
        # Tuple keys travel as their str(): read it back as the tuple (a
        # literal only: nothing is run), then one lookup.
        try:
            key = ast.literal_eval(key_text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return None
        if isinstance(key, tuple):
            ts = scheduler.tasks.get(key)
    return ts


def _transfers_of(record) -> list[dict]:
    """The transfers of one task-stream record: source worker, start and stop."""
    return [{"source": str(s.get("source", "")), "start": float(s["start"]),
             "stop": float(s["stop"])}
            for s in record.get("startstops", ()) if s.get("action") == "transfer"]  # fmt: skip


def task_info(scheduler, key_text: str, transfers: list[dict] | None = None) -> dict:
    """What the scheduler knows of one task now: ``state`` (``forgotten`` when
    it holds no such task), ``exception``/``traceback`` text if it erred, its
    result's ``nbytes`` and ``type``, the workers holding it, its dependencies
    (key, bytes, holders) and dependents, and ``transfers`` (given: those of
    its newest task-stream record)."""
    ts = _task_state(scheduler, key_text)
    info = {"key": key_text, "transfers": transfers or []}
    if ts is None:
        return {**info, "state": "forgotten"}
    exception, traceback = error_texts(
        {"exception_text": ts.exception_text, "traceback_text": ts.traceback_text}
    )
    dependencies = sorted(ts.dependencies, key=lambda d: -(d.nbytes or 0))
    return {
        **info,
        "state": ts.state,
        "exception": exception,
        "traceback": traceback,
        "nbytes": _known_bytes(ts.nbytes),
        "type": str(ts.type or ""),
        "who_has": sorted(ws.address for ws in ts.who_has or ()),
        "processing_on": ts.processing_on.address if ts.processing_on else None,
        "dependencies": [
            {"key": _key_text(d.key), "nbytes": _known_bytes(d.nbytes),
             "who_has": sorted(ws.address for ws in d.who_has or ())}
            for d in dependencies[:MAX_DEPENDENCIES]
        ],
        "n_dependencies": len(ts.dependencies),
        "n_dependents": len(ts.dependents),
    }


def _worker_row(scheduler, ws) -> dict:
    memory = ws.memory
    return {
        "address": ws.address,
        "name": str(ws.name),
        "status": ws.status.name,
        "nthreads": ws.nthreads,
        "memory_limit": ws.memory_limit or 0,
        "process": memory.process,
        "managed": memory.managed,
        "unmanaged_old": memory.unmanaged_old,
        "unmanaged_recent": memory.unmanaged_recent,
        "spilled": memory.spilled,
        "processing": len(ws.processing),
        "executing": len(ws.executing),
        "occupancy": float(ws.occupancy),
        "cpu": float(ws.metrics.get("cpu", 0.0)),
        # scheduler.idle is keyed by address: `ws in scheduler.idle` is always False.
        "idle": ws.address in scheduler.idle,
        "saturated": ws in scheduler.saturated,
    }


def _prefix_rows(scheduler) -> list[dict]:
    rows = []
    for name, tp in scheduler.task_prefixes.items():
        states = tp.states
        if not any(v for k, v in states.items() if k != "forgotten"):
            continue
        row = {"prefix": name}
        for column, state in PREFIX_STATES.items():
            row[column] = states.get(state, 0)
        rows.append(row)
    return rows


class SnapshotPlugin(SchedulerPlugin):
    """Adds the :data:`HANDLER` and :data:`TASK_HANDLER` RPCs to a scheduler and
    keeps its task stream on."""

    name = PLUGIN_NAME
    idempotent = True

    def __init__(self):
        self.scheduler = None
        #: Key text -> transfers of its newest task-stream record, as polls read
        #: them: a question is then answered without scanning the stream.
        self._transfers: OrderedDict[str, list[dict]] = OrderedDict()

    async def start(self, scheduler) -> None:
        self.scheduler = scheduler
        # The task-stream plugin is lazy; without this, tasks finishing before
        # the first poll would never be recorded.
        scheduler.get_task_stream_index()
        scheduler.handlers[HANDLER] = self.snapshot
        scheduler.handlers[TASK_HANDLER] = self.task

    async def close(self) -> None:
        if self.scheduler is not None:
            self.scheduler.handlers.pop(HANDLER, None)
            self.scheduler.handlers.pop(TASK_HANDLER, None)

    def task(self, key: str = "") -> dict:
        """:func:`task_info` of ``key``, in time independent of the number of tasks."""
        key_text = str(key)
        if len(key_text) > MAX_KEY_CHARS:
            return {"key": key_text[:MAX_KEY_CHARS], "transfers": [], "state": "forgotten"}
        return task_info(self.scheduler, key_text, self._transfers.get(key_text))

    def _remember_transfers(self, records) -> None:
        for record in records:
            moved = _transfers_of(record)
            if moved:
                key_text = _key_text(record["key"])
                self._transfers[key_text] = moved
                self._transfers.move_to_end(key_text)
        while len(self._transfers) > MAX_TRANSFERS_KEPT:
            self._transfers.popitem(last=False)

    def snapshot(
        self, cursor: int = 0, max_records: int = 50_000, scheduler_id: str | None = None
    ) -> dict:
        """Everything one tick needs, with task-stream records from ``cursor``.

        ``scheduler_id`` is the id the caller's cursor belongs to; a cursor
        into another (earlier) scheduler's stream restarts from 0.
        """
        began = time.perf_counter()
        scheduler = self.scheduler
        if scheduler_id is not None and scheduler_id != scheduler.id:
            cursor = 0
        stream = scheduler.plugins["task-stream"]
        oldest = stream.index - len(stream.buffer)
        lost = max(0, oldest - cursor)
        first = max(cursor, oldest)
        last = min(stream.index, first + max_records)
        offset = first - oldest
        records = [stream.buffer[i] for i in range(offset, offset + (last - first))]
        errors: dict[str, list[str]] = {}
        tasks = task_stream_columns(records, errors)
        self._remember_transfers(records)
        return {
            "scheduler_id": scheduler.id,
            "time": time.time(),
            "workers": [_worker_row(scheduler, ws) for ws in scheduler.workers.values()],
            "progress": _prefix_rows(scheduler),
            "tasks": tasks,
            "errors": errors,
            "cursor": last,
            "lost": lost,
            "more": last < stream.index,
            "scheduler_ms": (time.perf_counter() - began) * 1000,
        }

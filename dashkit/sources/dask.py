"""DaskSource: live telemetry from a Dask scheduler.

How the data is fetched:

* On connect, :class:`~dashkit.sources.scheduler_side.SnapshotPlugin` is sent
  to the scheduler *by value* and registered once (idempotently). It turns on
  the scheduler's task-stream plugin at once, so no early tasks are lost, and
  adds one RPC handler.
* Each poll is one round trip to that handler: workers, prefix states and
  the task-stream records after our cursor (tailed by index, never re-read).
* If the scheduler will not take the plugin, the source falls back to the
  built-in RPCs and lists the fields it cannot fill in ``Snapshot.missing``.
* A failed poll raises :class:`~dashkit.sources.base.SourceError`; the next
  poll reconnects, so a scheduler restarted at the same address is picked up.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Coroutine
from typing import Any

import cloudpickle
import param

from dashkit import schema
from dashkit.sources import scheduler_side
from dashkit.sources.base import Snapshot, Source, SourceError, SourceUnreachable

logger = logging.getLogger(__name__)

#: Fields the built-in RPCs cannot provide (filled with zeros).
BUILTIN_MISSING = ("unmanaged_old", "executing", "occupancy", "saturated", "queued", "no_worker")


class _LoopThread:
    """An asyncio loop in a daemon thread; the source's comms live on it."""

    def __init__(self, name: str):
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine, timeout: float) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self.loop.close()


class DaskSource(Source):
    """Telemetry of a Dask cluster: a scheduler address, a Client, or embedded.

    With neither ``address`` nor ``client`` the source starts its own
    ``LocalCluster`` on :meth:`connect` (and, with ``workload=True``, a demo
    workload on it) and closes both on :meth:`close`.

    Example
    -------
    >>> from dashkit.sources import DaskSource
    >>> with DaskSource(n_workers=2, workload=False) as src:   # doctest: +SKIP
    ...     snap = src.snapshot()
    ...     print(snap.workers[["address", "nthreads", "process"]])
    """

    source_type = "dask"

    address = param.String(
        default=None,
        allow_None=True,
        doc="Scheduler address, e.g. 'tcp://10.0.0.5:8786'. None: use `client`, or embed.",
    )
    client = param.Parameter(
        default=None,
        doc="An existing distributed.Client whose scheduler (and security) to use.",
    )
    connect_timeout = param.Number(
        default=5.0, bounds=(0.1, None), doc="Seconds to wait for the scheduler to answer."
    )
    scheduler_code = param.Boolean(
        default=True,
        doc="Send dashkit's snapshot plugin to the scheduler (one cheap round trip per poll). "
        "False uses only built-in RPCs, with fewer fields.",
    )
    max_records = param.Integer(
        default=50_000,
        bounds=(1, None),
        doc="Most task-stream records fetched per poll; a backlog drains over several polls.",
    )
    n_workers = param.Integer(default=2, bounds=(0, None), doc="Embedded cluster: workers.")
    threads_per_worker = param.Integer(
        default=2, bounds=(1, None), doc="Embedded cluster: threads per worker."
    )
    processes = param.Boolean(
        default=True, doc="Embedded cluster: workers in their own processes (False: threads)."
    )
    memory_limit = param.Parameter(
        default="2GiB", doc="Embedded cluster: memory limit per worker (bytes or a string)."
    )
    workload = param.Boolean(
        default=None,
        allow_None=True,
        doc="Run the demo workload on the cluster. None: only when the cluster is embedded.",
    )

    def __init__(self, address: str | None = None, **params):
        super().__init__(address=address, **params)
        if self.address is not None and self.client is not None:
            raise ValueError("DaskSource: give `address` or `client`, not both")
        self._cluster = None
        self._workload = None
        self._loop: _LoopThread | None = None
        self._pool = None
        self._registered = False
        self._mode = "plugin" if self.scheduler_code else "builtin"
        self._fallback_reason = ""
        self._cursor = 0
        self._scheduler_id: str | None = None
        self._lock = threading.Lock()
        self.last_poll_info: dict = {}

    @property
    def key(self) -> str:
        if self.client is not None:
            return f"dask:{self.client.scheduler.address}"
        return f"dask:{self.address}" if self.address else "dask:embedded"

    @property
    def embedded(self) -> bool:
        """True when this source started (and owns) its cluster."""
        return self._cluster is not None

    @property
    def mode(self) -> str:
        """``"plugin"`` (one round trip per poll) or ``"builtin"`` (fallback RPCs)."""
        return self._mode

    @property
    def scheduler_address(self) -> str | None:
        """The address polled (known after :meth:`connect` for an embedded cluster)."""
        if self.client is not None:
            return self.client.scheduler.address
        if self._cluster is not None:
            return self._cluster.scheduler_address
        return self.address

    # -- lifecycle -----------------------------------------------------------

    def connect(self) -> None:
        with self._lock:
            if self._loop is not None:
                return
            if self.address is None and self.client is None:
                self._start_cluster()
            elif self.address is not None:
                _check_address(self.address)
                _probe_scheduler(self.address, self.connect_timeout)
            self._loop = _LoopThread(name=f"dashkit-{self.key}")
            self._loop.run(self._open_pool(), timeout=self.connect_timeout + 5)
            try:
                self._run(self._ensure_registered())
            except SourceError as err:
                self._close_locked()
                raise SourceUnreachable(str(err)) from None

    def close(self) -> None:
        with self._lock:
            self._close_locked()

    def _close_locked(self) -> None:
        if self._loop is not None:
            try:
                self._loop.run(self._pool.close(), timeout=5)
            except Exception:  # noqa: BLE001 - closing a dead comm must not mask shutdown
                logger.debug("closing the connection pool failed", exc_info=True)
            self._loop.stop()
            self._loop = None
            self._pool = None
        if self._workload is not None:
            self._workload.stop()
            self._workload = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None
        self._registered = False

    def _start_cluster(self) -> None:
        from distributed import LocalCluster

        self._cluster = LocalCluster(
            n_workers=self.n_workers,
            threads_per_worker=self.threads_per_worker,
            processes=self.processes,
            memory_limit=self.memory_limit,
            host="127.0.0.1",
            protocol="tcp",
            dashboard_address=None,
            # The scheduler serves HTTP (health, metrics) whatever it is told,
            # on Dask's dashboard port 8787 by default: any free loopback port.
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            **({"preload": ["dashkit.sources.embedded_worker"]} if self.processes else {}),
        )
        if self.workload is not False:
            from dashkit.sources.workload import DemoWorkload

            self._workload = DemoWorkload(self._cluster.scheduler_address)
            self._workload.start()

    async def _open_pool(self) -> None:
        from distributed.core import ConnectionPool

        connection_args = {}
        if self.client is not None:
            connection_args = self.client.security.get_connection_args("client")
        self._pool = ConnectionPool(
            limit=4, timeout=self.connect_timeout, connection_args=connection_args
        )
        await self._pool.start()

    # -- polling -------------------------------------------------------------

    def _run(self, coro: Coroutine) -> Any:
        """Run ``coro`` on the loop; any failure becomes a SourceError naming the address."""
        try:
            return self._loop.run(coro, timeout=self.connect_timeout * 2 + 5)
        except SourceError:
            raise
        except Exception as err:  # noqa: BLE001 - every comm failure means the same to readers
            self._registered = False
            reason = str(err) or type(err).__name__
            raise SourceError(
                f"Dask scheduler at {self.scheduler_address} did not answer: {reason}"
            ) from err

    def snapshot(self) -> Snapshot:
        if self._loop is None:
            self.connect()
        self._run(self._ensure_registered())
        if self._mode == "plugin":
            return self._run(self._poll_plugin())
        return self._run(self._poll_builtin())

    @property
    def _scheduler(self):
        return self._pool(self.scheduler_address)

    async def _ensure_registered(self) -> None:
        if self._registered:
            return
        if self._mode == "plugin":
            cloudpickle.register_pickle_by_value(scheduler_side)
            payload = cloudpickle.dumps(scheduler_side.SnapshotPlugin())
            try:
                await self._scheduler.register_scheduler_plugin(
                    plugin=payload, name=scheduler_side.PLUGIN_NAME, idempotent=True
                )
            except (OSError, asyncio.TimeoutError, RuntimeError):
                raise  # the scheduler is unreachable, not refusing
            except Exception as err:  # noqa: BLE001 - any refusal means: use the fallback
                self._mode = "builtin"
                self._fallback_reason = f"scheduler refused dashkit's plugin: {err}"
                logger.warning(
                    "%s; using built-in RPCs, these fields are missing: %s",
                    self._fallback_reason,
                    ", ".join(BUILTIN_MISSING),
                )
        if self._mode == "builtin":
            # Turns the lazy task-stream plugin on.
            await self._scheduler.get_task_stream_index()
        self._registered = True

    async def _poll_plugin(self) -> Snapshot:
        began = time.perf_counter()
        reply = await getattr(self._scheduler, scheduler_side.HANDLER)(
            cursor=self._cursor, max_records=self.max_records, scheduler_id=self._scheduler_id
        )
        self._scheduler_id = reply["scheduler_id"]
        self._cursor = reply["cursor"]
        self.last_poll_info = {
            "mode": "plugin",
            "round_trip_ms": (time.perf_counter() - began) * 1000,
            "scheduler_ms": reply["scheduler_ms"],
            "more": reply["more"],
        }
        return Snapshot(
            time=reply["time"],
            workers=schema.workers_frame(reply["workers"]),
            progress=schema.progress_frame(reply["progress"]),
            tasks=schema.tasks_frame(reply["tasks"]),
            lost=reply["lost"],
            info=self.last_poll_info,
            errors={k: tuple(v) for k, v in reply.get("errors", {}).items()},
        )

    async def _poll_builtin(self) -> Snapshot:
        began = time.perf_counter()
        scheduler = self._scheduler
        identity = await scheduler.identity()
        if identity["id"] != self._scheduler_id:
            self._scheduler_id, self._cursor = identity["id"], 0
        prefix_states = await scheduler.get_task_prefix_states()
        processing = await scheduler.processing()
        index_before = await scheduler.get_task_stream_index()
        records = await scheduler.get_task_stream(start_index=self._cursor)
        lost = 0
        if self._cursor + len(records) < index_before:
            # The scheduler's ring buffer wrapped past our cursor.
            lost = index_before - len(records) - self._cursor
            self._cursor = index_before
        else:
            self._cursor += len(records)
        errors: dict[str, list[str]] = {}
        columns = scheduler_side.task_stream_columns(records, errors)
        self.last_poll_info = {
            "mode": "builtin",
            "round_trip_ms": (time.perf_counter() - began) * 1000,
            "reason": self._fallback_reason,
        }
        return Snapshot(
            time=time.time(),
            workers=schema.workers_frame(
                [_builtin_worker_row(a, w, processing) for a, w in identity["workers"].items()]
            ),
            progress=schema.progress_frame(
                [{"prefix": p, **{k: v for k, v in s.items() if k in schema.PROGRESS}}
                 for p, s in prefix_states.items()]
            ),
            tasks=schema.tasks_frame(columns),
            missing=BUILTIN_MISSING,
            lost=lost,
            info=self.last_poll_info,
            errors={k: tuple(v) for k, v in errors.items()},
        )

    def task_info(self, key: str) -> dict | None:
        """The scheduler's answer for task ``key``; None on the built-in RPCs,
        which have no such question. Raises :class:`SourceError` when the
        scheduler does not answer."""
        if self._loop is None:
            self.connect()
        self._run(self._ensure_registered())
        if self._mode != "plugin":
            return None
        return self._run(getattr(self._scheduler, scheduler_side.TASK_HANDLER)(key=str(key)))


def _builtin_worker_row(address: str, info: dict, processing: dict) -> dict:
    metrics = info.get("metrics", {})
    process = int(metrics.get("memory", 0))
    spilled = metrics.get("spilled_bytes", {})
    managed = min(process, max(0, int(metrics.get("managed_bytes", 0)) - spilled.get("memory", 0)))
    nprocessing = len(processing.get(address, ()))
    return {
        "address": address,
        "name": str(info.get("name", address)),
        "status": info.get("status", "running"),
        "nthreads": info.get("nthreads", 0),
        "memory_limit": info.get("memory_limit") or 0,
        "process": process,
        "managed": managed,
        "unmanaged_recent": process - managed,
        "spilled": spilled.get("disk", 0),
        "processing": nprocessing,
        "cpu": float(metrics.get("cpu", 0.0)),
        # Approximates the scheduler's rule (fewer tasks than threads).
        "idle": nprocessing < info.get("nthreads", 0),
    }


def default_scheduler_address() -> str | None:
    """The scheduler to watch when none is given: ``$DASHKIT_SCHEDULER``, else
    Dask's own setting (``$DASK_SCHEDULER_ADDRESS``, or ``scheduler-address`` in
    Dask's configuration), else None (the layout's own source)."""
    import os

    import dask.config

    return os.environ.get("DASHKIT_SCHEDULER") or dask.config.get("scheduler-address", None)


#: The most a Dask scheduler's first message (its handshake, ~60 bytes) may hold.
HANDSHAKE_LIMIT = 64 * 2**10


def _probe_scheduler(address: str, timeout: float) -> None:
    """Check that a ``tcp://`` address is a Dask scheduler, reading at most
    :data:`HANDSHAKE_LIMIT` bytes, before Dask's own client talks to it.

    Dask's client trusts the length its peer announces: another kind of
    server made it try to allocate exabytes, or wait for a reply that never
    came. A scheduler sends its handshake first (a msgpack map with its
    ``python`` version, framed as: total length, frame count, frame lengths,
    all little-endian 64-bit), so this reads that, answers in kind, and hangs
    up. Raises SourceUnreachable naming what the peer did instead.
    """
    import socket
    import struct
    import sys

    import msgpack
    from distributed.comm.addressing import parse_address, parse_host_port

    scheme, location = parse_address(address)
    if scheme != "tcp":  # TLS and in-process comms are Dask's own business
        return
    host, port = parse_host_port(location)

    def fail(what: str) -> SourceUnreachable:
        return SourceUnreachable(f"{address} is not a Dask scheduler: {what}")

    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            reader = sock.makefile("rb")
            head = reader.read(8)
            if len(head) < 8:
                raise fail("it closed the connection without a Dask handshake")
            (size,) = struct.unpack("<Q", head)
            if not 16 <= size <= HANDSHAKE_LIMIT:
                raise fail(f"its first message announces {size:,} bytes, where a Dask "
                           "handshake has about 60")  # fmt: skip
            body = reader.read(size)
            (frames,) = struct.unpack_from("<Q", body)
            lengths = struct.unpack_from(f"<{min(frames, 16)}Q", body, 8) if frames else ()
            start = 8 + 8 * frames
            try:
                hello = msgpack.unpackb(body[start : start + lengths[0]], raw=False)
            except Exception:  # noqa: BLE001 - any failure to decode means the same
                hello = None
            if len(body) < size or not isinstance(hello, dict) or "python" not in hello:
                raise fail("its first message is not a Dask handshake")
            reply = msgpack.packb({"compression": None, "python": tuple(sys.version_info[:3]),
                                   "pickle-protocol": 5}, use_bin_type=True)  # fmt: skip
            frame = struct.pack("<QQ", 1, len(reply)) + reply
            sock.sendall(struct.pack("<Q", len(frame)) + frame)
    except SourceError:
        raise
    except TimeoutError:
        raise fail(f"it sent no Dask handshake within {timeout:g} s") from None
    except (struct.error, IndexError):
        raise fail("its first message is not a Dask handshake") from None
    except OSError as err:
        raise SourceUnreachable(f"cannot reach a Dask scheduler at {address}: "
                                f"{err.strerror or err}") from None


def _check_address(address: str) -> None:
    """Refuse an address no Dask comm could use, before trying it."""
    from distributed.comm import registry
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        scheme, location = parse_address(address)
        registry.get_backend(scheme)
        if scheme != "inproc":
            parse_host_port(location)
    except ValueError as err:
        raise SourceError(f"{address!r} is not a scheduler address ({err}); give one like "
                          "tcp://10.0.0.5:8786") from None

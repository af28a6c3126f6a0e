"""Shared fixtures: real clusters and scheduler processes, always shut down."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import dask
import pytest
from distributed import Client, LocalCluster

from dashkit import theme
from dashkit.feed import Feed

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_in_thread(apps, **options):
    """A Panel server of ``apps`` on a free port of 127.0.0.1, in a thread of this
    process: ``(port, thread)``; stop it with ``thread.stop()``. By default a
    page no browser is connected to is discarded within a second, not 15 s."""
    import panel as pn

    port = free_port()
    options = {"unused_session_lifetime_milliseconds": 500,
               "check_unused_sessions_milliseconds": 200, **options}  # fmt: skip
    thread = pn.serve(apps, port=port, address="127.0.0.1", show=False, threaded=True,
                      websocket_origin=[f"127.0.0.1:{port}"], **options)  # fmt: skip
    return port, thread


def packed(color: str) -> int:
    """The task stream's wire form of a ``#rrggbb`` colour (see :func:`theme.packed_colors`)."""
    return int(theme.packed_colors([color])[0])


def wait_for(condition: Callable[[], object], timeout: float = 30, interval: float = 0.05,
             what: str = "condition"):  # fmt: skip
    """Poll ``condition`` until it is truthy; fail with its last value after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout}s (last value: {value!r})")
        time.sleep(interval)


@pytest.fixture
def cluster() -> Iterator[LocalCluster]:
    """An in-process LocalCluster (2 workers x 2 threads) over TCP."""
    with LocalCluster(
        n_workers=2,
        threads_per_worker=2,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address=None,
    ) as local:
        yield local


@pytest.fixture
def spilling_cluster():
    """Two in-process workers that spill results past their target on storing
    them. The monitor that pauses a worker on the process's memory is off: in
    process, that memory is the whole test run's."""
    off = {f"distributed.worker.memory.{k}": False for k in ("spill", "pause", "terminate")}
    with dask.config.set(off), LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, protocol="tcp", host="127.0.0.1",
        dashboard_address=None, memory_limit="200MB",
    ) as cluster:  # fmt: skip
        yield cluster


@pytest.fixture
def client(cluster) -> Iterator[Client]:
    with Client(cluster, set_as_default=False) as c:
        yield c


@pytest.fixture(scope="session")
def browser():
    """One headless Debian Chromium for the whole run (Playwright's sync API
    cannot be started again while a session-wide instance is running)."""
    from playwright.sync_api import sync_playwright

    from tests.helpers import launch

    with sync_playwright() as p:
        chromium = launch(p)
        yield chromium
        chromium.close()


@pytest.fixture(autouse=True)
def _no_shared_feeds_left():
    yield
    Feed.stop_all()


# A scheduler in which dashkit cannot be imported, as on a real deployment.
_BLOCKED_SCHEDULER = """
import sys
sys.modules["dashkit"] = None
try:
    import dashkit  # noqa: F401
except ImportError:
    print("dashkit is not importable here", flush=True)
else:
    raise SystemExit("dashkit must not be importable in this scheduler")
from distributed.cli.dask_scheduler import main
sys.argv = ["dask-scheduler", *sys.argv[1:]]
main()
"""


class SchedulerProcess:
    """A `dask scheduler` and `dask worker` processes; dashkit blocked in the scheduler."""

    def __init__(self, port: int, tmp: Path):
        self.port = port
        self.address = f"tcp://127.0.0.1:{port}"
        self.tmp = tmp
        self.scheduler: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []

    def _env(self) -> dict:
        env = dict(os.environ)
        env["PYTHONPATH"] = ""  # nothing of the checkout on the path
        return env

    def start_scheduler(self) -> None:
        log = open(self.tmp / f"scheduler-{time.monotonic_ns()}.log", "w")  # noqa: SIM115
        self.scheduler = subprocess.Popen(
            [sys.executable, "-c", _BLOCKED_SCHEDULER, "--host", "127.0.0.1",
             "--port", str(self.port), "--dashboard-address", ":0", "--no-show"],
            stdout=log, stderr=subprocess.STDOUT, cwd=self.tmp, env=self._env(),
        )  # fmt: skip
        wait_for(self._listening, timeout=60)

    def _listening(self) -> bool:
        if self.scheduler.poll() is not None:
            raise AssertionError(f"scheduler exited with {self.scheduler.returncode}")
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def start_worker(self, nthreads: int = 2) -> None:
        log = open(self.tmp / f"worker-{time.monotonic_ns()}.log", "w")  # noqa: SIM115
        self.workers.append(
            subprocess.Popen(
                [sys.executable, "-m", "distributed.cli.dask_worker", self.address,
                 "--nthreads", str(nthreads), "--host", "127.0.0.1", "--no-dashboard",
                 "--no-nanny", "--memory-limit", "1GiB"],
                stdout=log, stderr=subprocess.STDOUT, cwd=self.tmp, env=self._env(),
            )  # fmt: skip
        )

    def kill_scheduler(self) -> None:
        self.scheduler.kill()
        self.scheduler.wait(timeout=30)

    def stop(self) -> None:
        for proc in [*self.workers, self.scheduler]:
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
        self.workers.clear()

    def scheduler_log(self) -> str:
        return "\n".join(p.read_text() for p in sorted(self.tmp.glob("scheduler-*.log")))


@pytest.fixture
def scheduler_process(tmp_path) -> Iterator[SchedulerProcess]:
    proc = SchedulerProcess(free_port(), tmp_path)
    proc.start_scheduler()
    try:
        yield proc
    finally:
        proc.stop()


class StaticSource:
    """Builds a Source that returns the frames it is given (for exact checks)."""

    @staticmethod
    def make(workers=(), progress=(), tasks=None):
        from dashkit import schema
        from dashkit.sources.base import Snapshot, Source

        class _Static(Source):
            def snapshot(self):
                frame = self.pending if self.pending is not None else schema.tasks_frame()
                self.pending = None
                return Snapshot(time=0.0, workers=schema.workers_frame(workers),
                                progress=schema.progress_frame(progress), tasks=frame)  # fmt: skip

        source = _Static()
        source.pending = tasks
        return source

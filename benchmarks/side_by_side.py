"""dashkit's status page side by side with Dask's own /status, on one cluster.

    python benchmarks/side_by_side.py [--tabs 1 6] [--seconds 20]
    python benchmarks/side_by_side.py --synthetic 100 --tabs 10

Starts ``dask scheduler`` (its dashboard on), two ``dask worker`` processes
(2 threads each) and a steady workload of short sleeping tasks whose sums
pull data across workers, then ``dashkit serve --scheduler`` for the same
scheduler. For each K it opens K headless Chromium tabs of each page and
prints, per page:

* server CPU: the CPU share of the process serving the page (the scheduler
  for Dask's page, ``dashkit serve`` for dashkit's) minus its share with no
  tab open, measured just before and just after. Open tabs slow the whole
  cluster on two cores, and a scheduler running fewer tasks spends less, so
  on a cluster the share with no tab open is taken per task done and scaled
  to the tasks done while the tabs were open (``tasks/s`` is printed);
* updates (PATCH-DOC messages) per tab per second and KB received per tab per
  second;
* open time: from navigation until every plot of the page is drawn, the
  mean over the K tabs and the last tab's. The first K - 1 tabs are opened
  one after the other, each as soon as the one before is drawn; the last is
  opened once they have settled (``SETTLE`` seconds), as a page opened while
  K - 1 others are open; it is closed and opened again, ``LAST_OPENINGS``
  openings in all, and their median is its open time. The tabs settle again
  before the measurement.

The tabs are opened in one browser profile, kept in a temporary folder for
the run, as in a user's browser: once a page's scripts have run a few
times, Chromium runs them from its compiled-code cache, as it does for a
user who already has pages of the same server open. A private context,
Playwright's default, keeps no such cache, and every opening of either page
compiles its scripts again (about 0.3 s of a page opened alone).

A second table says where the machine's CPU went during that median
opening, in CPU seconds: the new tab's renderer, the other tabs' renderers,
the rest of the browser, the page's server, the measuring (this script,
which also runs the workload's client, and Playwright's driver, which
relays every frame each tab receives), and everything else (the cluster);
and how busy the machine was, as a share of all its cores over the opening.

With ``--synthetic N`` there is no Dask page to compare with: dashkit serves
its status layout over a synthetic cluster of N workers where every value
changes every poll, and the same numbers are printed for its tabs.

Every process it starts is stopped at the end. Needs Debian's ``chromium``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import psutil
from distributed import Client

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DRAWN = """() => window.Bokeh !== undefined && Bokeh.documents.length > 0
    && Bokeh.documents.every(d => d.is_idle)
    && document.querySelectorAll('canvas').length + [...Bokeh.documents].reduce(
        (n, d) => n + [...d.all_models].filter(m => m.type === 'Figure').length, 0) > 0"""


#: Seconds open tabs are left to settle before the last tab and before measuring.
SETTLE = 5

#: How many times the last tab is opened (closed, then opened again once the
#: others have settled); the median is printed.
LAST_OPENINGS = 5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_url(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                if response.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.25)


def wait_for_dashkit(port: int) -> None:
    """Wait until ``dashkit serve`` on ``port`` answers: its plot list, not its page
    (fetching a page has one built, and would take the page built ahead)."""
    wait_for_url(f"http://127.0.0.1:{port}/individual-plots.json")


def _slow_inc(x: int) -> int:
    time.sleep(random.uniform(0.01, 0.05))
    return x + 1


def _slow_sum(*xs: int) -> int:
    time.sleep(0.01)
    return sum(xs)


def workload(address: str, stop: threading.Event, done: list[int] | None = None) -> None:
    """Short sleeping tasks; each sum pulls its inputs from other workers.
    ``done[0]`` counts the tasks finished."""
    def finished(_future) -> None:  # on the client's one event loop thread
        done[0] += 1

    with Client(address, set_as_default=False) as client:
        while not stop.is_set():
            incs = client.map(_slow_inc, range(200), pure=False)
            sums = [client.submit(_slow_sum, *incs[i : i + 4], pure=False)
                    for i in range(0, 200, 4)]  # fmt: skip
            total = client.submit(_slow_sum, *sums, pure=False)
            if done is not None:
                for future in (*incs, *sums, total):
                    future.add_done_callback(finished)
            total.result()


def cpu_share(process: psutil.Process, seconds: float, page=None) -> float:
    """The process's CPU share (of one core) over ``seconds``; pumps ``page``'s events."""
    before = process.cpu_times()
    began = time.monotonic()
    if page is not None:
        page.wait_for_timeout(seconds * 1000)
    else:
        time.sleep(seconds)
    after = process.cpu_times()
    used = (after.user - before.user) + (after.system - before.system)
    return used / (time.monotonic() - began)


def _cpu_by_process() -> dict[int, tuple[str, float]]:
    """Every process's command line and CPU seconds (user + system), by pid."""
    found = {}
    for process in psutil.process_iter(["cmdline", "cpu_times"]):
        times, cmdline = process.info["cpu_times"], process.info["cmdline"]
        if times is not None:
            found[process.pid] = (" ".join(cmdline or ()), times.user + times.system)
    return found


class OpeningCpu:
    """Where the machine's CPU went while a tab opened, in CPU seconds by group.

    Processes that end during the opening (a closed tab's renderer) are not
    counted. Which renderer is the tab's is told afterwards (:meth:`split`):
    Chromium keeps a renderer started ahead for the next tab, so a new tab's
    renderer is not a new process.

    Example
    -------
    >>> with OpeningCpu(server_pid=os.getpid()) as cpu:   # doctest: +SKIP
    ...     page.goto(url)
    >>> cpu.split(renderer_of(page)).groups["its renderer"]   # doctest: +SKIP
    0.91
    """

    GROUPS = ("its renderer", "other renderers", "rest of the browser", "server", "measuring",
              "everything else")

    def __init__(self, server_pid: int):
        self.server_pid = server_pid
        self.groups: dict[str, float] = {}
        self.busy = 0.0

    def __enter__(self) -> OpeningCpu:
        self._before = _cpu_by_process()
        self._machine = psutil.cpu_times()
        self._began = time.monotonic()
        return self

    def __exit__(self, *_exc) -> None:
        elapsed = time.monotonic() - self._began
        machine = psutil.cpu_times()
        self._after = _cpu_by_process()
        idle = (machine.idle + machine.iowait) - (self._machine.idle + self._machine.iowait)
        self.busy = 1 - idle / (elapsed * psutil.cpu_count())

    def split(self, renderer_pid: int) -> OpeningCpu:
        """Fill :attr:`groups`, the tab's renderer being ``renderer_pid``."""
        self.groups = dict.fromkeys(self.GROUPS, 0.0)
        for pid, (cmdline, seconds) in self._after.items():
            group = ("its renderer" if pid == renderer_pid
                     else "server" if pid == self.server_pid
                     else "measuring" if pid == os.getpid() or "playwright/driver" in cmdline
                     else "everything else" if "chromium" not in cmdline
                     else "other renderers" if "--type=renderer" in cmdline
                     else "rest of the browser")  # fmt: skip
            self.groups[group] += seconds - self._before.get(pid, ("", 0.0))[1]
        return self


def renderer_of(page) -> int:
    """The pid of the Chromium renderer running ``page``: the renderer that
    gains the most CPU time while the page spins for 300 ms."""
    before = {pid: cpu for pid, (cmdline, cpu) in _cpu_by_process().items()
              if "--type=renderer" in cmdline}  # fmt: skip
    page.evaluate("() => { const end = performance.now() + 300; while (performance.now() < end); }")
    after = _cpu_by_process()
    return max(before, key=lambda pid: after.get(pid, ("", 0.0))[1] - before[pid])


class Tab:
    """One browser tab and what its websocket receives; with ``server_pid``,
    where the machine's CPU went while it opened (``cpu``)."""

    def __init__(self, context, url: str, server_pid: int | None = None):
        self.page = context.new_page()
        self.updates = 0
        self.bytes = 0
        self.page.on("websocket", self._attach)
        self.cpu = OpeningCpu(server_pid) if server_pid is not None else None
        began = time.monotonic()
        with self.cpu or contextlib.nullcontext():
            self.page.goto(url, timeout=120_000)
            self.page.wait_for_function(DRAWN, timeout=120_000, polling=50)
        self.open_time = time.monotonic() - began
        if self.cpu is not None:
            self.cpu.split(renderer_of(self.page))

    def _attach(self, ws) -> None:
        ws.on("framereceived", self._received)

    def _received(self, payload) -> None:
        self.bytes += len(payload)
        if isinstance(payload, str) and '"msgtype": "PATCH-DOC"' in payload:
            self.updates += 1

    def reset(self) -> None:
        self.updates = self.bytes = 0


def measure(context, url: str, process: psutil.Process, tabs: int, seconds: float,
            done: list[int] | None = None) -> dict:
    """``tabs`` tabs of ``url``, opened in the browser ``context`` and closed
    at the end; ``cpu`` is the process's share minus its share
    with no tab open, measured just before and just after. With ``done`` (a
    count of tasks finished) that idle share is taken per task and scaled to
    the tasks finished while the tabs were open."""
    def counted(page=None) -> tuple[float, int]:
        began = done[0] if done else 0
        share = cpu_share(process, seconds, page)
        return share, (done[0] - began if done else 0)

    before, tasks_before = counted()
    kept = set(context.pages)  # a browser profile opens with a blank page of its own
    try:
        opened = [Tab(context, url) for _ in range(tabs - 1)]
        openings = []
        for _ in range(LAST_OPENINGS):  # one opening is too noisy on two shared cores
            if openings:
                openings[-1].page.close()
            if opened or openings:  # the last tab joins pages that have settled
                pause(context)
            openings.append(Tab(context, url, server_pid=process.pid))
        opened.append(openings[-1])
        pause(context)
        for tab in opened:
            tab.reset()
        share, tasks = counted(opened[0].page)
    finally:  # every page opened here, a tab that failed to open too
        for page in context.pages:
            if page not in kept:
                page.close()
    after, tasks_after = counted()
    median = sorted(openings, key=lambda tab: tab.open_time)[len(openings) // 2]
    idle = (before + after) / 2
    if done and tasks_before + tasks_after:
        idle *= 2 * tasks / (tasks_before + tasks_after)
    return {
        "cpu": share - idle,
        "tasks": tasks / seconds,
        "updates": statistics.mean(t.updates for t in opened) / seconds,
        "kbps": statistics.mean(t.bytes for t in opened) / seconds / 1000,
        "open": statistics.mean(t.open_time for t in opened),
        "last open": median.open_time,
        "last open cpu": median.cpu,
    }


def pause(context) -> None:
    """Let open tabs settle for ``SETTLE`` seconds, their events handled meanwhile."""
    if context.pages:
        context.pages[0].wait_for_timeout(SETTLE * 1000)
    else:
        time.sleep(SETTLE)


#: Chromium's flags. Without a GPU, Chromium's software GPU process takes a core of its own.
CHROMIUM_ARGS = ["--disable-gpu"]

VIEWPORT = {"width": 1400, "height": 1000}


def launch(playwright, chromium: str):
    """Headless Chromium, for private contexts: nothing is kept from one to the next."""
    return playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)


def launch_profile(playwright, chromium: str, folder: str):
    """Headless Chromium as a user's browser: one context whose profile is kept in
    ``folder``, so that, as in any browser but unlike a private context, a page's
    scripts run from Chromium's compiled-code cache once they have run a few times."""
    return playwright.chromium.launch_persistent_context(
        folder, executable_path=chromium, headless=True, args=CHROMIUM_ARGS, viewport=VIEWPORT)


def print_row(name: str, tabs: int, result: dict) -> None:
    tasks = f"{result['tasks']:.0f}" if result["tasks"] else "—"  # none: a synthetic source
    print(f"| {name} | {tabs} | {100 * result['cpu']:.1f} % "
          f"| {result['updates']:.1f} | {result['kbps']:.0f} "
          f"| {result['open']:.1f} s | {result['last open']:.1f} s | {tasks} |",
          flush=True)  # fmt: skip


def print_cpu_rows(rows: list[tuple[str, int, dict]]) -> None:
    """Where the CPU went while each page's last tab opened (its median opening)."""
    print("\nCPU seconds while the last tab opened (its median opening):\n")
    print("| page | tabs | last tab's open time | " + " | ".join(OpeningCpu.GROUPS)
          + " | machine busy |\n|---|---:|---:|" + "---:|" * (len(OpeningCpu.GROUPS) + 1))
    for name, tabs, result in rows:
        cpu = result["last open cpu"]
        groups = " | ".join(f"{cpu.groups[group]:.2f}" for group in OpeningCpu.GROUPS)
        print(f"| {name} | {tabs} | {result['last open']:.1f} s | {groups} "
              f"| {100 * cpu.busy:.0f} % |", flush=True)  # fmt: skip


HEADER = ("| page | tabs | server CPU | updates per tab per s | KB/s per tab | open time "
          "| last tab's open time | tasks/s |\n"
          "|---|---:|---:|---:|---:|---:|---:|---:|")  # fmt: skip


def status_spec_file(folder: str | Path, name: str, **fields) -> Path:
    """The status layout with ``fields`` replaced, written as ``folder/name.yaml``
    (served, its page is ``/name``)."""
    import yaml

    spec = yaml.safe_load((ROOT / "layouts" / "status.yaml").read_text())
    path = Path(folder) / f"{name}.yaml"
    path.write_text(yaml.safe_dump({**spec, **fields}))
    return path


def synthetic_spec(workers: int, folder: str) -> Path:
    """The status layout over a synthetic cluster of ``workers``, written in ``folder``."""
    return status_spec_file(folder, "synthetic", source={"type": "synthetic", "n_workers": workers})


def serve_spec(path: Path, port: int, log=subprocess.DEVNULL) -> subprocess.Popen:
    """``dashkit serve`` of the spec at ``path`` on ``port``, its output to ``log``."""
    return subprocess.Popen([str(BIN / "dashkit"), "serve", str(path), "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)  # fmt: skip


def synthetic(chromium: str, workers: int, tab_counts: list[int], seconds: float) -> None:
    """dashkit's status layout over a synthetic cluster, alone."""
    from playwright.sync_api import sync_playwright

    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        server = serve_spec(synthetic_spec(workers, folder), port)
        try:
            url = f"http://127.0.0.1:{port}/synthetic"
            wait_for_dashkit(port)
            process = psutil.Process(server.pid)
            with sync_playwright() as playwright:
                context = launch_profile(playwright, chromium, f"{folder}/profile")
                print(f"{seconds:g} s per measurement, synthetic cluster of {workers} workers")
                print(HEADER)
                time.sleep(seconds)  # start-up work (warming the rasterizer) ends first
                rows = []
                for tabs in tab_counts:
                    result = measure(context, url, process, tabs, seconds)
                    rows.append((f"dashkit status, {workers} synthetic workers", tabs, result))
                    print_row(*rows[-1])
                print_cpu_rows(rows)
                context.close()
        finally:
            server.terminate()
            server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tabs", type=int, nargs="+", default=[1, 6])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--synthetic", type=int, metavar="N",
                        help="dashkit alone, over a synthetic cluster of N workers")  # fmt: skip
    args = parser.parse_args()
    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("side_by_side: needs Debian's chromium (apt-get install -y chromium)")
    if args.synthetic:
        synthetic(chromium, args.synthetic, args.tabs, args.seconds)
        return
    from playwright.sync_api import sync_playwright

    scheduler_port, dask_port, dashkit_port = free_port(), free_port(), free_port()
    address = f"tcp://127.0.0.1:{scheduler_port}"
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    started: list[subprocess.Popen] = []
    stop = threading.Event()
    runner: threading.Thread | None = None
    log = subprocess.DEVNULL
    try:
        scheduler = subprocess.Popen(
            [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(scheduler_port),
             "--dashboard-address", f"127.0.0.1:{dask_port}"], stdout=log, stderr=log, env=env)
        started.append(scheduler)
        wait_for_url(f"http://127.0.0.1:{dask_port}/status")
        for _ in range(2):
            started.append(subprocess.Popen(
                [str(BIN / "dask"), "worker", address, "--nthreads", "2", "--host", "127.0.0.1",
                 "--no-dashboard"], stdout=log, stderr=log, env=env))  # fmt: skip
        with Client(address, set_as_default=False) as client:
            client.wait_for_workers(2, timeout=60)
        done = [0]
        runner = threading.Thread(target=workload, args=(address, stop, done), daemon=True)
        runner.start()
        dashkit = subprocess.Popen(
            [str(BIN / "dashkit"), "serve", "--scheduler", address, "--port", str(dashkit_port),
             "--address", "127.0.0.1"], stdout=log, stderr=log, cwd=ROOT, env=env)  # fmt: skip
        started.append(dashkit)
        pages = {
            "Dask /status": (f"http://127.0.0.1:{dask_port}/status", scheduler.pid),
            "dashkit status": (f"http://127.0.0.1:{dashkit_port}/status", dashkit.pid),
        }
        wait_for_dashkit(dashkit_port)
        with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
            context = launch_profile(playwright, chromium, profile)
            print(f"{args.seconds:g} s per measurement, 2 workers x 2 threads, steady workload")
            print(HEADER)
            rows = []
            for tabs in args.tabs:
                for name, (url, pid) in pages.items():
                    result = measure(context, url, psutil.Process(pid), tabs, args.seconds, done)
                    rows.append((name, tabs, result))
                    print_row(*rows[-1])
            print_cpu_rows(rows)
            context.close()
    finally:
        stop.set()
        if runner is not None:
            runner.join(timeout=60)  # the round under way ends; then the cluster goes
        for process in reversed(started):
            process.terminate()
        for process in started:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    main()

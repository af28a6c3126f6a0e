"""The status page served for real: `panel serve` and `dashkit serve` in subprocesses."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import urllib.request

import pytest

from tests.conftest import free_port, wait_for
from tests.helpers import (
    BIN,
    Served,
    answers,
    artifact,
    sigterm_inside_a_weakref_callback,
    status_server,
)


@pytest.fixture
def served_status(tmp_path):
    server = status_server(tmp_path)
    try:
        server.wait()
        yield server
    finally:
        server.stop()


def status_line(page) -> str:
    return page.locator(".dashkit-status-text").first.inner_text(timeout=60_000)


def number(page, label: str) -> int:
    """The number before ``label`` in the status line."""
    return int(re.search(rf"([\d,]+) {label}", status_line(page)).group(1).replace(",", ""))


def test_status_page_shows_live_numbers_from_the_embedded_cluster(served_status, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.goto(served_status.url)
        state = page.locator(".dashkit-state").first
        wait_for(lambda: state.get_attribute("data-state") == "connected", timeout=60,
                 interval=0.5)  # fmt: skip
        wait_for(lambda: status_line(page).startswith("connected"), timeout=30, interval=0.5)
        wait_for(lambda: number(page, "workers") == 2, timeout=30, interval=0.5)
        rows = number(page, "task-stream rows")
        # Numbers move while the demo workload runs.
        wait_for(lambda: number(page, "task-stream rows") > rows, timeout=60, interval=0.5)
        page.screenshot(path=artifact("status.png"))
    finally:
        context.close()


def test_dashkit_demo_serves_the_status_page_of_an_embedded_cluster(tmp_path):
    port = free_port()
    server = Served([str(BIN / "dashkit"), "demo", "--no-show", "--port", str(port)], port,
                    "status", tmp_path)  # fmt: skip
    try:
        server.wait()
        with urllib.request.urlopen(server.url, timeout=30) as response:
            assert "<title>Dask status</title>" in response.read().decode()
    finally:
        server.stop()
    assert "Traceback" not in server.log.read_text()


def test_sigterm_stops_the_server_even_when_it_comes_during_a_weakref_callback():
    """Python drops an exception raised by a signal handler that runs inside a
    weakref callback; ``dashkit serve`` once ran on after such a SIGTERM."""
    import asyncio

    from tornado.ioloop import IOLoop

    from dashkit import cli

    # The server's loop runs in a thread: the tests' browser holds this one's.
    loop = IOLoop(asyncio_loop=asyncio.new_event_loop())
    server = threading.Thread(target=loop.start, daemon=True)
    previous = signal.getsignal(signal.SIGTERM)
    try:
        cli._stop_on_sigterm(loop)
        server.start()
        sigterm_inside_a_weakref_callback()  # in the main thread, as signal handlers run
        server.join(timeout=10)
        assert not server.is_alive(), "SIGTERM did not stop the event loop"
    finally:
        signal.signal(signal.SIGTERM, previous)
        loop.add_callback(loop.stop)
        server.join(timeout=10)
        loop.close()


def test_dashkit_bad_input_is_one_line_and_non_zero(tmp_path):
    port = free_port()
    result = subprocess.run(
        [str(BIN / "dashkit"), "snapshot", "--scheduler", f"tcp://127.0.0.1:{port}"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"tcp://127.0.0.1:{port}" in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_the_scheduler_comes_from_dasks_own_environment_variable(cluster, tmp_path):
    env = {**os.environ, "DASK_SCHEDULER_ADDRESS": cluster.scheduler_address}
    env.pop("DASHKIT_SCHEDULER", None)
    result = subprocess.run([str(BIN / "dashkit"), "snapshot"], capture_output=True, text=True,
                            timeout=120, env=env, cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    for address in cluster.scheduler_info["workers"]:
        assert address in result.stdout
    # dashkit's own variable comes first
    unused = f"tcp://127.0.0.1:{free_port()}"
    result = subprocess.run([str(BIN / "dashkit"), "snapshot"], capture_output=True, text=True,
                            timeout=120, env={**env, "DASHKIT_SCHEDULER": unused})  # fmt: skip
    assert result.returncode == 1 and unused in result.stderr


def test_dashkit_serve_waits_for_a_scheduler_not_up_yet_and_connects_when_it_is(tmp_path):
    import html

    import dashkit.components  # noqa: F401  (the page's Panel models, to read its document)
    from tests.conftest import SchedulerProcess
    from tests.figures import pulled
    from tests.helpers import DASHKIT_READY

    scheduler = SchedulerProcess(free_port(), tmp_path)
    port = free_port()
    server = Served([str(BIN / "dashkit"), "serve", "--scheduler", scheduler.address, "--port",
                     str(port)], port, "status", tmp_path, ready=DASHKIT_READY)  # fmt: skip

    def status() -> str:
        doc = pulled(server.url)
        lines = [html.unescape(m.text) for m in doc.models
                 if "dashkit-state" in html.unescape(str(getattr(m, "text", "")))]  # fmt: skip
        return re.sub("<[^>]+>", "", lines[0])

    try:
        server.wait()  # it starts: nothing listens at the address yet
        # Each look builds a page: one a second, as a person reloading would.
        said = wait_for(lambda: "trying again" in (s := status()) and s, timeout=60,
                        interval=1.0, what="the page saying it waits for the scheduler")
        assert f"disconnected: cannot reach a Dask scheduler at {scheduler.address}" in said
        scheduler.start_scheduler()
        wait_for(lambda: " connected ·" in (s := status()) and s, timeout=60, interval=1.0,
                 what="the page connected once the scheduler is up")  # fmt: skip
    finally:
        server.stop()
        scheduler.stop()
    assert "Traceback" not in server.log.read_text()


def test_ctrl_c_stops_the_embedded_cluster_without_a_traceback(tmp_path):
    """Ctrl-C in a terminal reaches the whole foreground process group: dashkit
    and the embedded cluster's worker processes alike."""
    from tests.helpers import DASHKIT_READY

    port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([str(BIN / "dashkit"), "serve", "--port", str(port)],
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(lambda: answers(f"http://127.0.0.1:{port}/{DASHKIT_READY}"), timeout=120,
                 what="the server up, its cluster started")  # fmt: skip
        os.killpg(proc.pid, signal.SIGINT)  # as the terminal does
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    said = log.read_text()
    assert "dashkit: stopping" in said
    # The worker processes leave stopping to dashkit. (A worker whose heartbeat
    # is in flight as the scheduler closes may still log that it failed: a
    # race inside distributed, seen when a cluster stops within seconds of
    # starting, with SIGTERM as well.)
    assert "KeyboardInterrupt" not in said, said[-3000:]

"""Helpers for tests that serve pages and open them in Debian's Chromium."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import urllib.request
import weakref
from pathlib import Path

import pytest

from tests.conftest import ROOT, wait_for

BIN = Path(sys.executable).parent


def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is required in CI: apt-get install -y chromium")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    return path


def sigterm_inside_a_weakref_callback() -> None:
    """Send this process SIGTERM from inside a weakref callback, where Python
    drops any exception a signal handler raises (it prints it and goes on)."""

    class Model:
        pass

    def callback(_ref) -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        sum(range(1000))  # Python code in the callback, where the handler runs

    model = Model()
    ref = weakref.ref(model, callback)
    del model
    assert ref() is None


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status == 200
    except OSError:
        return False


class Served:
    """A server subprocess (``panel serve``, ``dashkit serve``) and the URL of its page."""

    def __init__(self, command: list[str], port: int, path: str, tmp: Path, env=None,
                 ready: str | None = None):  # fmt: skip
        self.port = port
        self.url = f"http://127.0.0.1:{port}/{path}"
        # What ``wait`` fetches: by default the page itself, which builds one.
        self.ready_url = f"http://127.0.0.1:{port}/{ready or path}"
        self.log = tmp / "server.log"
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                                         env={**os.environ, **(env or {})})  # fmt: skip

    def wait(self) -> None:
        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited:\n{self.log.read_text()}")
            return answers(self.ready_url)

        wait_for(up, timeout=120, interval=0.25)

    def stop(self) -> None:
        """SIGTERM, as a service manager stops a server; one still running 30 s
        later is killed, and the test fails."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)
            log = self.log.read_text()[-2000:]
            raise AssertionError(f"the server ran on after SIGTERM:\n{log}") from None


def status_server(tmp_path: Path, scheduler: str | None = None, *options: str) -> Served:
    """``panel serve layouts/status.py`` on a free port with ``options``, started
    (call ``wait``).

    With no ``scheduler`` the page runs an embedded cluster with the demo workload."""
    from tests.conftest import free_port

    port = free_port()
    return Served(
        [str(BIN / "panel"), "serve", "layouts/status.py", "--port", str(port),
         "--address", "127.0.0.1", f"--allow-websocket-origin=127.0.0.1:{port}", *options],
        port, "status", tmp_path, env={"DASHKIT_SCHEDULER": scheduler} if scheduler else None,
    )  # fmt: skip


#: What a ``dashkit serve`` of a spec answers without building a page.
DASHKIT_READY = "individual-plots.json"


def synthetic_status(**source) -> dict:
    """The status layout's spec over a synthetic cluster of ``source`` parameters."""
    import yaml

    spec = yaml.safe_load((ROOT / "layouts" / "status.yaml").read_text())
    return {**spec, "source": {"type": "synthetic", **source}}


def dashkit_server(spec: dict, folder: Path, name: str, *options: str, env=None,
                   ready: str = DASHKIT_READY) -> Served:  # fmt: skip
    """``dashkit serve`` of ``spec`` (written to ``folder``/``name``.yaml, so its page
    is ``/name``) on a free port with ``options``, started (call ``wait``): ready
    when ``ready`` answers."""
    import yaml

    from tests.conftest import free_port

    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec))
    port = free_port()
    # Waiting on the plot list leaves the page built ahead for the test's browser.
    return Served([str(BIN / "dashkit"), "serve", str(path), "--port", str(port), *options],
                  port, name, folder, env=env, ready=ready)  # fmt: skip


def replay_server(recording: Path, folder: Path, layout: str | None = None) -> Served:
    """``dashkit serve`` of ``layouts/<layout>.yaml`` (None: the status page)
    playing ``recording``, on a free port, started (call ``wait``)."""
    from tests.conftest import free_port

    spec = [] if layout is None else [f"layouts/{layout}.yaml"]
    port = free_port()
    return Served([str(BIN / "dashkit"), "serve", *spec, "--replay", str(recording), "--port",
                   str(port)], port, layout or "status", folder)  # fmt: skip


def launch(playwright):
    """Headless Debian Chromium (Playwright's own browser download is not used)."""
    return playwright.chromium.launch(
        executable_path=chromium(), headless=True,
        # Without a GPU, Chromium's default emulates one in software: the
        # emulation cost more CPU than all of a busy page's drawing.
        args=["--disable-background-networking", "--disable-component-update", "--no-first-run",
              "--disable-gpu"],
    )  # fmt: skip


def artifact(name: str) -> str:
    """Path for a screenshot in test-artifacts/ (git-ignored)."""
    folder = ROOT / "test-artifacts"
    folder.mkdir(exist_ok=True)
    return str(folder / name)


def _filled(n: int):
    import numpy as np

    return np.ones(n, dtype=np.uint8)


def _total(array) -> int:
    return int(array.sum())


def _raises(_i):
    import time

    # Long enough to be a bar among the others, not a hairline a screenshot misses.
    time.sleep(0.3)
    raise ValueError("reserved colours: a failing task")


def reserved_colour_workload(client) -> list:
    """Tasks whose task-stream rows take each reserved colour, on a cluster of
    two workers limited to 200 MB (``spilling_cluster``): a 50 MB result moved to the
    other worker (transfer), a 150 MB one past the spill target (disk-write) read
    back by the next task (disk-read), and a failing task (erred). Returns the
    futures (hold them: a released result is forgotten)."""
    first, second = sorted(client.scheduler_info()["workers"])
    moved = client.submit(_filled, 50_000_000, workers=[first], key="filled-moved")
    summed = client.submit(_total, moved, workers=[second], key="total-moved")
    spilled = client.submit(_filled, 150_000_000, workers=[first], key="filled-spilled")
    read = client.submit(_total, spilled, workers=[first], key="total-spilled")
    assert summed.result() == 50_000_000 and read.result() == 150_000_000
    # After the others, so that its bar covers none of theirs.
    failed = client.submit(_raises, 1, key="raises-1")
    return [moved, summed, spilled, read, failed]

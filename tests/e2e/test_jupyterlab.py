"""Live notebooks in a real JupyterLab: components and a whole StatusPage in
cells draw and keep updating, with no console error and no failed request
(the test machine has no network, so anything asked of a CDN fails)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port
from tests.e2e.conftest import wait_until
from tests.helpers import Served

TOKEN = "dashkit-test-token"

#: A notebook of one cell showing a whole status page over a synthetic cluster.
STATUS_PAGE_CELLS = [
    "import panel as pn\n"
    "from dashkit import Feed, SyntheticSource\n"
    "from dashkit.layouts import StatusPage\n"
    "pn.extension()\n"
    "feed = Feed.shared(SyntheticSource(n_workers=6, seed=3), period=0.5)\n"
    "StatusPage(feed=feed, title='Notebook status')",
]

KERNEL_IDLE = """() => {
    const widget = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    const kernel = widget && widget.sessionContext && widget.sessionContext.session
        && widget.sessionContext.session.kernel;
    return kernel && kernel.status === "idle";
}"""

#: The right end of the newest task-stream rectangle in each output's documents.
TASK_STREAM_END = """() => {
    let end = null;
    for (const doc of Bokeh.documents) for (const m of doc.all_models) {
        const data = m.data;
        if (!data || !data.right || !data.pair || !data.key) continue;  // its rectangles
        for (const v of data.right) end = end === null ? v : Math.max(end, v);
    }
    return end;
}"""


def notebook(cells: list[str]) -> dict:
    return {
        "cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                   "source": source} for source in cells],  # fmt: skip
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                    "language": "python"}},  # fmt: skip
        "nbformat": 4, "nbformat_minor": 5,
    }  # fmt: skip


class JupyterLab:
    """``jupyter lab`` on a free local port with a token, its settings in ``folder``
    (started: call ``server.wait()``)."""

    def __init__(self, folder: Path):
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.notebooks = folder / "notebooks"
        self.notebooks.mkdir()
        for name in ("config", "runtime"):
            (folder / name).mkdir()
        env = dict(JUPYTER_CONFIG_DIR=str(folder / "config"),
                   JUPYTER_RUNTIME_DIR=str(folder / "runtime"),
                   JUPYTERLAB_SETTINGS_DIR=str(folder / "config" / "lab-settings"),
                   JUPYTERLAB_WORKSPACES_DIR=str(folder / "config" / "lab-workspaces"),
                   PYTHONPATH=str(ROOT))  # fmt: skip
        self.server = Served(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
             "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
             "--ServerApp.port_retries=0", f"--IdentityProvider.token={TOKEN}",
             f"--ServerApp.root_dir={self.notebooks}", "--LabApp.expose_app_in_browser=True",
             # Nothing asked of the internet: no news, no update check.
             "--LabApp.news_url=",
             "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
            port, f"api/status?token={TOKEN}", folder, env=env,
        )  # fmt: skip

    def add(self, name: str, content: dict) -> str:
        (self.notebooks / name).write_text(json.dumps(content))
        return self.open_url(name)

    def open_url(self, name: str) -> str:
        """The notebook ``name`` alone in a fresh workspace of its own (JupyterLab
        would otherwise reopen what an earlier page had open)."""
        workspace = Path(name).stem
        return f"{self.url}/lab/workspaces/{workspace}/tree/{name}?reset&token={TOKEN}"


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory):
    lab = JupyterLab(tmp_path_factory.mktemp("jupyterlab"))
    try:
        lab.server.wait()
        yield lab
    finally:
        lab.server.stop()


def run_all(page, url: str) -> None:
    """Open the notebook at ``url``, wait for its kernel, run every cell."""
    page.page.goto(url)
    page.page.wait_for_function(KERNEL_IDLE, timeout=120_000, polling=250)
    page.page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")


def painted_outputs(page) -> int:
    """Bokeh canvases drawn in the notebook's outputs."""
    return page.page.locator(".jp-OutputArea-output canvas").count()


def task_stream_end(page) -> float:
    return page.page.evaluate(TASK_STREAM_END) or 0.0


def test_the_components_notebook_draws_and_keeps_updating(jupyterlab, open_page):
    shutil.copy(ROOT / "notebooks" / "01_components.ipynb", jupyterlab.notebooks)
    page = open_page("jupyterlab-components")
    run_all(page, jupyterlab.open_url("01_components.ipynb"))
    # Every component's cell (seven, the composed row, the restyled element).
    wait_until(lambda: painted_outputs(page) >= 9, timeout=180, what="the notebook's plots drawn")
    wait_until(lambda: page.page.evaluate(KERNEL_IDLE), timeout=120, what="every cell run")
    errors = page.page.locator(".jp-OutputArea-output[data-mime-type*='error']").count()
    assert errors == 0, "a cell failed"
    first = task_stream_end(page)
    # The feed polls in the kernel; the cells' plots follow it.
    wait_until(lambda: task_stream_end(page) > first + 1, timeout=60,
               what="the task stream in the notebook moving on")  # fmt: skip


def test_a_whole_status_page_in_a_cell_draws_and_keeps_updating(jupyterlab, open_page):
    url = jupyterlab.add("status.ipynb", notebook(STATUS_PAGE_CELLS))
    page = open_page("jupyterlab-status-page")
    run_all(page, url)
    title = page.page.locator(".jp-OutputArea-output").get_by_text("Notebook status")
    wait_until(lambda: title.count() > 0, timeout=180, what="the status page's title")
    wait_until(lambda: painted_outputs(page) >= 4, timeout=180, what="the status page's plots")
    first = task_stream_end(page)
    wait_until(lambda: task_stream_end(page) > first + 1, timeout=60,
               what="the status page's task stream moving on")  # fmt: skip
    status = page.page.locator(".dashkit-state").first
    assert status.get_attribute("data-state") == "connected"

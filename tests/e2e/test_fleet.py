"""Several clusters on one page: layouts/fleet.yaml over two real schedulers."""

from __future__ import annotations

import operator
import re

import yaml
from distributed import Client

from tests.conftest import ROOT, SchedulerProcess, free_port
from tests.e2e.conftest import wait_until
from tests.helpers import dashkit_server


def states(page) -> list[str]:
    """The connection state each row shows, top to bottom."""
    return [e.get_attribute("data-state") for e in page.page.locator(".dashkit-state").all()]


def texts(page) -> list[str]:
    return [e.inner_text() for e in page.page.locator(".dashkit-status-text").all()]


def rows(text: str) -> int:
    return int(re.search(r"([\d,]+) task-stream rows", text).group(1).replace(",", ""))


def test_two_clusters_connect_update_and_only_the_one_that_dies_says_so(tmp_path, open_page):
    clusters = {name: SchedulerProcess(free_port(), tmp_path) for name in ("etl", "ml")}
    server = None
    try:
        for cluster in clusters.values():
            cluster.start_scheduler()
            cluster.start_worker()
        spec = yaml.safe_load((ROOT / "layouts" / "fleet.yaml").read_text())
        spec["sources"] = {name: {"type": "dask", "address": c.address}
                           for name, c in clusters.items()}  # fmt: skip
        server = dashkit_server(spec, tmp_path, "fleet")
        server.wait()
        page = open_page("fleet", width=1400, height=900)
        page.goto(server.url)
        wait_until(lambda: states(page) == ["connected", "connected"], timeout=60,
                   what="both clusters connected")  # fmt: skip
        for i, cluster in enumerate(clusters.values()):  # the first row is etl's, then ml's
            with Client(cluster.address, set_as_default=False) as client:
                client.gather(client.map(operator.add, range(50 * (i + 1)), [1] * 50 * (i + 1)))
            wait_until(lambda i=i: rows(texts(page)[i]) >= 50 * (i + 1),
                       timeout=30, what=f"row {i} updating")  # fmt: skip
        assert rows(texts(page)[0]) < 100  # each row counts its own cluster

        clusters["etl"].kill_scheduler()
        wait_until(lambda: states(page) == ["disconnected", "connected"],
                   timeout=60, what="only etl disconnected")  # fmt: skip
    finally:
        if server is not None:
            server.stop()
        for cluster in clusters.values():
            cluster.stop()

"""JupyterLab's Dask panes: individual-plots.json and one plot per page, as the
extension uses them."""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.e2e.conftest import wait_until
from tests.helpers import dashkit_server, synthetic_status

#: Dask's individual plots, as its own individual-plots.json names them.
DASKS = {
    "Individual Task Stream": "/individual-task-stream",
    "Individual Progress": "/individual-progress",
    "Individual Workers Memory": "/individual-workers-memory",
    "Individual Cluster Memory": "/individual-cluster-memory",
    "Individual Nprocessing": "/individual-nprocessing",
    "Individual Cpu": "/individual-cpu",
    "Individual Occupancy": "/individual-occupancy",
}

COUNT_UPDATES = """() => {
    for (const d of Bokeh.documents) {
        if (d._counted) continue;
        d._counted = true; d._updates = 0;
        d.on_change(() => { d._updates += 1; });
    }
    return [...Bokeh.documents].reduce((n, d) => n + d._updates, 0);
}"""


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    server = dashkit_server(synthetic_status(n_workers=4, seed=2),
                            tmp_path_factory.mktemp("individual"), "cluster")  # fmt: skip
    try:
        server.wait()
        yield server
    finally:
        server.stop()


def plots_listed(served) -> dict[str, str]:
    """individual-plots.json, fetched as the extension does (from another origin)."""
    base = served.url.rsplit("/", 1)[0]
    request = urllib.request.Request(f"{base}/individual-plots.json",
                                     headers={"Origin": "http://localhost:8888"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        return json.loads(response.read())


def test_individual_plots_json_lists_dasks_plots_and_dashkits_own(served):
    listed = plots_listed(served)
    assert DASKS.items() <= listed.items()
    assert listed["Individual Feed Status"] == "/individual-feed-status"
    assert listed["Individual Task Details"] == "/individual-task-details"


def test_every_listed_page_is_painted_fills_its_pane_and_updates(served, open_page):
    base = served.url.rsplit("/", 1)[0]
    for title, path in plots_listed(served).items():
        page = open_page(path.strip("/"), width=700, height=450)
        page.goto(base + path)
        assert page.page.title() == title
        if path == "/individual-task-details":  # no plot: a card and a key box
            card = page.page.locator(".dashkit-task-card")
            card.locator("input").fill("no-such-task")
            card.locator("input").press("Enter")
            said = page.page.locator(".dashkit-task-details p")  # in Panel's shadow roots
            wait_until(lambda s=said: "Not in the task stream held" in " ".join(
                s.all_inner_texts()), timeout=30, what="the card showing the key asked for")
            continue
        page.page.evaluate(COUNT_UPDATES)
        wait_until(lambda p=page: p.page.evaluate(COUNT_UPDATES) >= 2, timeout=60,
                   what=f"{path} updating")  # fmt: skip
        if path == "/individual-feed-status":
            assert "connected" in page.status_text()
            continue
        wait_until(lambda p=page: sum(p.plots()[0]["rows"]) > 0, timeout=60,
                   what=f"{path} drawn")  # fmt: skip
        tallest = max(c.bounding_box()["height"] for c in page.page.locator("canvas").all()
                      if c.is_visible())  # fmt: skip
        assert tallest > 0.7 * 450, f"{path}: the plot is {tallest} px tall in a 450 px pane"
        painted = page.canvases_painted()
        assert painted and max(painted) > 3, f"{path}: nothing painted ({painted})"
        page.close()


@pytest.mark.parametrize("page", ["individual-cpu", "cluster"])
@pytest.mark.parametrize("query", ["theme=%ff", "theme=%c3%28", "theme=dark%00"])
def test_a_theme_that_is_not_text_gets_the_page_in_the_layouts_theme(served, page, query):
    base = served.url.rsplit("/", 1)[0]
    with urllib.request.urlopen(f"{base}/{page}?{query}", timeout=60) as response:
        assert response.status == 200
    assert "Traceback" not in served.log.read_text()

"""A click on a task in a live status page tells its story in the details card."""

from __future__ import annotations

import time

import pytest
from distributed import Client, LocalCluster

from tests.e2e.conftest import HOVER_NAMES, hover_text, wait_until
from tests.helpers import status_server

#: What the failing task raises: markup in it must reach the page as text.
BOOM = "dashkit test <b>boom</b>"

RECTANGLE_OF = """(prefix) => {
    // Screen position of the centre of the newest task-stream rectangle whose
    // key starts with `prefix`, with what the page holds about it.
    const hover_names = """ + HOVER_NAMES + """;
    const views = [];
    const walk = (v) => { views.push(v); for (const c of (v.child_views ?? [])) walk(c); };
    for (const root of Object.values(Bokeh.index)) walk(root);
    const plot = views.find(v => v.frame && v.model.title && v.model.title.text === "Task stream");
    if (!plot) return null;
    const d = plot.model.renderers.map(r => r.data_source.data).find(d => d.key && d.key.length);
    if (!d) return null;
    let found = -1;
    for (let i = 0; i < d.key.length; i++) if (d.key[i].startsWith(prefix)) found = i;
    if (found < 0) return null;
    const x = (d.left[found] + d.right[found]) / 2, y = (d.bottom[found] + d.top[found]) / 2;
    if (x < plot.model.x_range.start || x > plot.model.x_range.end) return null;
    const box = plot.el.getBoundingClientRect();
    const row = {prefix: d.prefix[found], action: d.action[found], pair: d.pair[found],
                 duration: d.duration[found]};
    return {key: d.key[found], hover: [hover_names(plot), row],
            x: box.left + plot.frame.x_scale.compute(x),
            y: box.top + plot.frame.y_scale.compute(y)};
}"""


def _slow(i):
    time.sleep(0.3)
    return i


def _fails(i):
    time.sleep(0.2)
    raise ValueError(BOOM)


@pytest.fixture(scope="module")
def module_cluster():
    with LocalCluster(n_workers=2, threads_per_worker=2, processes=False, protocol="tcp",
                      host="127.0.0.1", dashboard_address=None) as local:  # fmt: skip
        yield local


@pytest.fixture(scope="module")
def served(module_cluster, tmp_path_factory):
    """One status page server for the module (its feed turns the task stream on)."""
    server = status_server(tmp_path_factory.mktemp("details"), module_cluster.scheduler_address)
    try:
        server.wait()
        yield server
    finally:
        server.stop()


def card_text(page) -> str:
    """What the details card says (its parts live in Panel's shadow roots)."""
    return "\n".join(page.page.locator(".dashkit-task-details div, .dashkit-task-details table, "
                                        ".dashkit-task-details p, .dashkit-task-details pre"
                                        ).all_inner_texts())  # fmt: skip


def click_on(page, prefix: str) -> dict:
    """Click the newest rectangle of ``prefix`` (waiting until one is in view)."""
    where = wait_until(lambda: page.page.evaluate(RECTANGLE_OF, prefix), timeout=60,
                       what=f"a {prefix} rectangle in view")  # fmt: skip
    page.page.mouse.click(where["x"], where["y"])
    return where


def test_a_click_on_a_task_shows_its_key_worker_duration_and_the_schedulers_word(
    served, module_cluster, open_page
):
    with Client(module_cluster, set_as_default=False) as client:
        futures = client.map(_slow, range(12), key=[f"slow-{i}" for i in range(12)])
        client.gather(futures)
        page = open_page("task-details")
        page.goto(served.url)
        wait_until(lambda: page.state() == "connected", timeout=90, what="page connected")
        card = page.page.locator(".dashkit-task-card")
        assert not card.is_visible()  # takes no room until a task is chosen

        task = click_on(page, "slow-")
        wait_until(lambda: card.is_visible() and task["key"] in card_text(page), timeout=30,
                   what="the card showing the task clicked")  # fmt: skip
        text = card_text(page)
        hover = hover_text(*task["hover"])  # the page's own names for the task
        assert hover["worker"] in text and hover["duration"] in text, text
        # The one request to the scheduler: the result is held (futures alive).
        wait_until(lambda: "state memory" in card_text(page), timeout=30,
                   what="the scheduler's answer on the card")  # fmt: skip
        assert not page.problems, page.problems


def test_a_click_on_an_erred_task_shows_its_exception_as_text(served, module_cluster, open_page):
    with Client(module_cluster, set_as_default=False) as client:
        failed = client.submit(_fails, 1, key="fails-1")
        wait_until(lambda: failed.status == "error", timeout=60, what="the task erred")
        page = open_page("task-details-erred")
        page.goto(served.url)
        wait_until(lambda: "1 erred" in page.status_text(), timeout=90,
                   what="the status line counting the erred task")  # fmt: skip
        click_on(page, "fails-")
        card = page.page.locator(".dashkit-task-card")
        wait_until(lambda: card.is_visible() and BOOM in card_text(page), timeout=30,
                   what="the exception on the card")  # fmt: skip
        assert "erred" in card_text(page)
        # The markup is shown as text, not applied.
        assert page.page.locator(".dashkit-exception b").count() == 0
        assert not page.problems, page.problems

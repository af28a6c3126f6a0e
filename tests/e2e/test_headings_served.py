"""In the status page every plot title fits its line: cut with an
ellipsis where it is too long, the whole of it on hover."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import wait_until
from tests.helpers import dashkit_server, synthetic_status

TITLES = """() => {
    const found = [];
    const walk = (root) => {
        for (const el of root.querySelectorAll('*')) {
            if (el.classList.contains('dashkit-title')) {
                const r = el.getBoundingClientRect();
                const host = el.getRootNode().host.getBoundingClientRect();
                found.push({text: el.textContent, hover: el.getAttribute('title'),
                            cut: el.scrollWidth > el.clientWidth, right: r.right,
                            room: host.right, visible: r.width > 0});
            }
            if (el.shadowRoot) walk(el.shadowRoot);
        }
    };
    walk(document);
    return found;
}"""


@pytest.fixture
def served(tmp_path):
    server = dashkit_server(synthetic_status(n_workers=200, seed=3), tmp_path, "titles")
    try:
        server.wait()
        yield server
    finally:
        server.stop()


def test_titles_fit_their_line_and_say_it_all_on_hover(served, open_page):
    page = open_page("narrow-titles", width=1400, height=900)
    page.goto(served.url)
    wait_until(lambda: [t for t in page.page.evaluate(TITLES) if t["visible"]], timeout=90,
               what="plot titles drawn")  # fmt: skip
    # (The spec written for the server lists the tabs alphabetically: CPU shows.)
    wait_until(lambda: any(t["text"].startswith("CPU use") for t in page.page.evaluate(TITLES)),
               timeout=60, what="the live titles")  # fmt: skip
    titles = [t for t in page.page.evaluate(TITLES) if t["visible"]]
    assert {t["text"].split(":")[0] for t in titles} >= {"Bytes stored", "CPU use", "Task stream",
                                                         "Progress — total"}  # fmt: skip
    for title in titles:
        assert title["hover"] == title["text"], title
        assert title["right"] <= title["room"] + 1, f"{title['text']!r} runs past its plot"
    # The left column (a quarter of the page) is too narrow for the memory title.
    assert any(t["cut"] for t in titles), titles

"""Browser fixtures: Debian's Chromium through Playwright, pages that fail on any
console error or failed request, servers started as subprocesses."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from dashkit.task_picture import HoverNames
from tests.conftest import wait_for
from tests.helpers import artifact


class Page:
    """A browser page that records console errors, page errors and failed requests."""

    def __init__(self, browser, name: str, width: int = 1400, height: int = 1000):
        self.name = name
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.problems.append(
            f"console: {m.text}"))  # fmt: skip
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("requestfailed", lambda r: self.problems.append(
            f"request failed: {r.url} {r.failure}"))  # fmt: skip

    def goto(self, url: str) -> None:
        self.page.goto(url)
        self.page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0",
                                    timeout=60_000)  # fmt: skip

    def state(self) -> str:
        """The connection state the page shows; "" until it is drawn (never blocks)."""
        found = self.page.locator(".dashkit-state")
        return found.first.get_attribute("data-state") if found.count() else ""

    def status_text(self) -> str:
        return self.page.locator(".dashkit-status-text").first.inner_text()

    def plots(self) -> list[dict]:
        """Every Bokeh plot on the page: title, x range, glyph row counts."""
        return self.page.evaluate("""() => {
            const out = [];
            for (const doc of Bokeh.documents) for (const m of doc.all_models) {
                if (m.renderers === undefined || m.x_range === undefined) continue;
                const rows = m.renderers.filter(r => r.data_source && r.data_source.data)
                    .map(r => {const d = r.data_source.data; const k = Object.keys(d)[0];
                               return k ? d[k].length : 0;});
                out.push({title: m.title ? m.title.text : "", x0: m.x_range.start,
                          x1: m.x_range.end, rows: rows});
            }
            return out;
        }""")

    def plot(self, title_start: str) -> dict:
        found = [p for p in self.plots() if p["title"].startswith(title_start)]
        assert found, f"no plot titled {title_start!r} in {[p['title'] for p in self.plots()]}"
        return found[0]

    def canvases_painted(self) -> list[int]:
        """For each visible canvas, how many distinct colours it shows."""
        counts = []
        for canvas in self.page.locator("canvas").all():
            if not canvas.is_visible():
                continue
            box = canvas.bounding_box()
            if not box or box["width"] < 50 or box["height"] < 30:
                continue
            image = np.asarray(Image.open(io.BytesIO(canvas.screenshot())).convert("RGB"))
            counts.append(len(np.unique(image.reshape(-1, 3), axis=0)))
        return counts

    def pixel(self, x: int, y: int) -> tuple[int, int, int]:
        image = Image.open(io.BytesIO(self.page.screenshot())).convert("RGB")
        return image.getpixel((x, y))

    def screenshot(self) -> None:
        """Save the page to test-artifacts/ (a page too busy to capture is left out)."""
        with contextlib.suppress(PlaywrightTimeoutError):
            self.page.screenshot(path=artifact(f"{self.name}.png"), full_page=True,
                                 timeout=10_000)  # fmt: skip

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def open_page(browser, request):
    """Open pages; at the end screenshot each and fail on any console error or failed request."""
    pages: list[Page] = []

    def opener(name: str | None = None, **size) -> Page:
        page = Page(browser, name or f"{request.node.name}-{len(pages)}", **size)
        pages.append(page)
        return page

    yield opener
    problems = []
    for page in pages:
        try:
            if not page.page.is_closed():
                page.screenshot()
        finally:  # a page left open would load the browser for every later test
            page.close()
        problems += [f"{page.name}: {p}" for p in page.problems]
    assert not problems, "\n".join(problems)


#: JS, a function of the task stream's plot view: the names its hover tool
#: names the rectangles' codes with (see ``dashkit.task_picture.HoverNames``).
HOVER_NAMES = """(plot) => {
    const tool = plot.model.toolbar.tools.find(t => t.type === "HoverTool");
    const formatters = tool.formatters instanceof Map ? tool.formatters
                                                      : new Map(Object.entries(tool.formatters));
    const names = formatters.get("@{pair}").args.names;
    return names instanceof Map ? Object.fromEntries(names) : names;
}"""


def hover_text(names: dict, row: dict) -> dict[str, str]:
    """What the task stream's tooltip says of one rectangle: ``row`` holds its
    codes and duration, ``names`` what the page names them with (``HOVER_NAMES``)."""
    held = HoverNames.from_lookups(names)
    return {field: text[0] for field, text in held.decode({k: [v] for k, v in row.items()}).items()}


def wait_until(condition, timeout: float = 30, what: str = "condition"):
    return wait_for(condition, timeout=timeout, interval=0.25, what=what)

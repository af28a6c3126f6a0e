"""Parameters set on the components of a served page change what its browser
draws: a real Panel server in this process, the page in a real browser."""

from __future__ import annotations

import panel as pn

from dashkit import theme
from dashkit.components import CPUUtilization, FeedStatus, TaskStream
from dashkit.feed import Feed
from dashkit.sources import SyntheticSource
from tests.conftest import serve_in_thread
from tests.e2e.conftest import wait_until

DARK = theme.PALETTES["dark"]

#: JS, a function of a plot's name: what the browser draws of it.
DRAWN = """(name) => {
    for (const root of Bokeh.index) for (const view of root.owner.all_views()) {
        if (!view.frame || view.model.name !== name) continue;
        const m = view.model;
        return {background: m.background_fill_color, height: view.el.getBoundingClientRect().height,
                x: [m.x_range.start, m.x_range.end]};
    }
    return null;
}"""


def test_theme_height_and_window_set_on_a_served_page_reach_its_browser(open_page):
    feed = Feed(SyntheticSource(seed=1, n_workers=4), period=0.2).start()
    shown: dict = {}

    def page():
        shown.update(doc=pn.state.curdoc, cpu=CPUUtilization(feed=feed),
                     status=FeedStatus(feed=feed), stream=TaskStream(feed=feed, window=4.0))
        return pn.Column(shown["status"], shown["cpu"], shown["stream"])

    port, thread = serve_in_thread({"page": page})
    try:
        browser = open_page("live-params")
        browser.goto(f"http://127.0.0.1:{port}/page")
        wait_until(lambda: browser.state() == "connected", timeout=60, what="connected")
        drawn = lambda name: browser.page.evaluate(DRAWN, name)  # noqa: E731
        wait_until(lambda: (d := drawn("dashkit-task_stream")) and d["x"][1] - d["x"][0] > 3.9,
                   what="the task stream following 4 s")  # fmt: skip
        assert drawn("dashkit-cpu")["background"] == theme.PALETTES["light"].background

        def change():
            shown["cpu"].param.update(theme="dark", height=333)
            shown["status"].theme = "dark"
            shown["stream"].window = 1.0

        shown["doc"].add_next_tick_callback(change)  # as a widget of the page would
        wait_until(lambda: (drawn("dashkit-cpu") or {}).get("background") == DARK.background,
                   what="the plot drawn dark")  # fmt: skip
        assert abs(drawn("dashkit-cpu")["height"] - 333) <= 1
        wait_until(lambda: abs(drawn("dashkit-task_stream")["x"][1]
                               - drawn("dashkit-task_stream")["x"][0] - 1.0) < 1e-6,
                   what="the task stream following 1 s")  # fmt: skip
        color = browser.page.locator(".dashkit-status-text").first.evaluate(
            "e => getComputedStyle(e).color")  # fmt: skip
        assert color == "rgb(232, 230, 227)"  # the dark theme's text, #e8e6e3
    finally:
        thread.stop()
        feed.stop()

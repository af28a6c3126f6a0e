"""One plot per page at the Dask dashboard's own paths, for JupyterLab's Dask panes.

JupyterLab's Dask extension asks a dashboard address for
``individual-plots.json``, a JSON object of title -> path, and shows each
path in a pane. ``dashkit serve`` answers it and serves each plot alone, at
Dask's paths (``/individual-task-stream``, ``/individual-progress``...) and
under Dask's titles (the path, title-cased), plus dashkit's own: point the
extension at dashkit's address and its panes show dashkit's plots. Each page
fills its pane and takes the layout's theme (``?theme=dark`` or ``light`` in
the address chooses).

Example
-------
>>> plot_titles()["Individual Task Stream"]
'/individual-task-stream'
"""

from __future__ import annotations

import json
from collections.abc import Callable

import panel as pn
from tornado.web import HTTPError, RequestHandler

from dashkit import theme

#: Path -> component type: Dask's individual plots, then dashkit's own.
PAGES: dict[str, str] = {
    "individual-task-stream": "task_stream",
    "individual-progress": "progress",
    "individual-workers-memory": "worker_memory",
    "individual-cluster-memory": "cluster_memory",
    "individual-nprocessing": "task_processing",
    "individual-cpu": "cpu",
    "individual-occupancy": "occupancy",
    "individual-feed-status": "feed_status",
    "individual-task-details": "task_details",
}


def title(path: str) -> str:
    """A page's title as Dask writes it: ``individual-cpu`` -> ``Individual Cpu``."""
    return path.strip("/").replace("-", " ").title()


def plot_titles() -> dict[str, str]:
    """What ``individual-plots.json`` holds: title -> path."""
    return {title(path): f"/{path}" for path in PAGES}


def individual_page(component_type: str, layout) -> pn.viewable.Viewable:
    """The plot of ``component_type`` on ``layout``'s feed and theme, filling the page."""
    from dashkit.layouts import component_from_spec

    # Bytes from the address: anything may come, valid text or not.
    chosen = pn.state.session_args.get("theme", [b""])[0].decode(errors="replace")
    page_theme = chosen if chosen in theme.PALETTES else layout.theme
    pn.config.theme = "dark" if page_theme == "dark" else "default"  # this page's widgets
    component = component_from_spec({"type": component_type, "fill": True}, layout.feed,
                                    component_type, page_theme)  # fmt: skip
    background = theme.PALETTES[page_theme].background
    return pn.Column(component, sizing_mode="stretch_both", margin=0,
                     styles={"background": background})  # fmt: skip


def individual_apps(layout_of: Callable[[], object]) -> dict[str, Callable]:
    """One Panel app per page of :data:`PAGES`; ``layout_of()`` gives the layout
    (without plots) whose feed and theme a page shows."""

    def app(component_type: str) -> Callable:
        return lambda: individual_page(component_type, layout_of())

    return {path: app(component_type) for path, component_type in PAGES.items()}


class PlotsHandler(RequestHandler):
    """``GET /individual-plots.json``: title -> path of every individual page."""

    def get(self) -> None:
        provider = self.application.auth_provider
        if provider.get_user is not None and provider.get_user(self) is None:
            raise HTTPError(403)  # with a login, not even the list without it
        # The extension reads it from JupyterLab's page, another origin; it
        # lists paths only.
        self.set_header("Access-Control-Allow-Origin", "*")
        self.set_header("Content-Type", "application/json")
        self.write(json.dumps(plot_titles()))

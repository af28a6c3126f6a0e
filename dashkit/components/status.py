"""FeedStatus: the connection indicator (connected / degraded / disconnected)."""

from __future__ import annotations

import html

import panel as pn
import param

from dashkit import theme
from dashkit.components.base import Widget
from dashkit.components.live import LiveHTML
from dashkit.feed import FeedView

_STATE_COLORS = {"connected": theme.GREEN, "degraded": theme.ORANGE}


class FeedStatus(Widget):
    """A dot and a line saying whether the feed reaches its cluster, and what it
    holds: workers, task-stream rows, rows dropped, and tasks erred (in red).

    Example
    -------
    >>> FeedStatus(feed=feed)   # doctest: +SKIP
    """

    component_type = "feed_status"

    height = param.Integer(default=40, bounds=(20, None), doc="Height in pixels.")

    def __init__(self, **params):
        super().__init__(**params)
        # A model whose text a redraw sets directly: a Panel HTML pane
        # rebuilds its stylesheets on every change (~2 ms a page a poll).
        self._line = LiveHTML(self.text(), sizing_mode="stretch_width", height=self.height)

    @property
    def state(self) -> str:
        """``connected``, ``degraded``, ``disconnected`` or ``stopped``."""
        return self.feed.status.split(":", 1)[0]

    def text(self, view: FeedView | None = None) -> str:
        """The indicator's HTML for ``view`` (the feed's latest poll by default)."""
        view = view or self.feed.view()
        state = view.status.split(":", 1)[0]
        color = _STATE_COLORS.get(state, theme.RED)
        detail = html.escape(view.status)
        dropped = f" · {view.dropped:,} dropped" if view.dropped else ""
        erred = int(view.progress["erred"].sum())  # every progress frame has the column
        failures = (f' · <b class="dashkit-erred" style="color:{theme.RED}">{erred:,} erred</b>'
                    if erred else "")  # fmt: skip
        return (
            f'<span class="dashkit-state" data-state="{state}" style="color:{color}">'
            f'&#9679;</span> <span class="dashkit-status-text" '
            f'style="color:{theme.PALETTES[self.theme].text}"><b>{detail}</b> · '
            f"{theme.count(len(view.workers), 'worker')} · "
            f"{theme.count(view.tasks_total, 'task-stream row')}{dropped}"
            f"{failures}</span>"
        )

    @property
    def html(self) -> str:
        """The indicator as shown now."""
        return self._line.html

    def _view(self):
        return pn.pane.Bokeh(self._line.model, sizing_mode="stretch_width", height=self.height)

    def export_text(self) -> str:
        return self.text()

    def _restyle(self) -> None:
        super()._restyle()
        self._line.model.height = self.height
        self._line.set(self.text())

    def show(self, view: FeedView) -> None:
        # Once per poll for every status line of the same theme.
        text = self.feed.frames.derive(("FeedStatus", self.theme), lambda v, _: self.text(v), view)
        self._line.set(text)

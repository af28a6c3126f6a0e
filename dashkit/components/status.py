"""FeedStatus: the connection indicator (connected / degraded / disconnected)."""

from __future__ import annotations

import html

import panel as pn
import param

from dashkit import theme
from dashkit.components.base import Component

_STATE_COLORS = {"connected": theme.GREEN, "degraded": theme.ORANGE}


class FeedStatus(Component):
    """A dot and a line saying whether the feed reaches its cluster, and what it holds.

    Example
    -------
    >>> FeedStatus(feed=feed)   # doctest: +SKIP
    """

    component_type = "feed_status"

    height = param.Integer(default=40, bounds=(20, None), doc="Height in pixels.")

    def __init__(self, **params):
        super().__init__(**params)
        self._html = pn.pane.HTML(self.text(), sizing_mode="stretch_width", height=self.height)

    @property
    def state(self) -> str:
        """``connected``, ``degraded``, ``disconnected`` or ``stopped``."""
        return self.feed.status.split(":", 1)[0]

    def text(self) -> str:
        feed = self.feed
        color = _STATE_COLORS.get(self.state, theme.RED)
        detail = html.escape(feed.status)
        dropped = f" · {feed.dropped:,} dropped" if feed.dropped else ""
        return (
            f'<span class="dashkit-state" data-state="{self.state}" style="color:{color}">'
            f'&#9679;</span> <span class="dashkit-status-text"><b>{detail}</b> · '
            f"{len(feed.workers)} workers · {feed.tasks.total:,} task-stream rows{dropped}</span>"
        )

    def _view(self):
        return self._html

    def _update(self) -> None:
        text = self.text()
        if text != self._html.object:
            self._html.object = text

"""SessionRefresh: one redraw loop per browser session.

A served page holds several components. Each with its own periodic callback
meant one document lock and one websocket message per component per tick.
So each document gets one :class:`SessionRefresh`, which redraws its
components in one batch from one consistent snapshot of each feed.

A redraw is cheap (the frames are computed once per poll for all pages and
moved straight into Bokeh models), but a server can still have more pages
than it can afford: rounds are spaced so that all sessions of the process
together spend at most :data:`BUDGET` of one core redrawing, and pages whose
browser has gone stop redrawing.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Iterable
from typing import TYPE_CHECKING

import panel as pn

from dashkit.components import compat

if TYPE_CHECKING:
    from bokeh.document import Document

    from dashkit.components.base import Component
    from dashkit.feed import FeedView

BUDGET = 0.5
"""Share of one core that redraws of all sessions together may use."""


class SessionRefresh:
    """Redraws the dashkit components of one Bokeh document from one periodic callback.

    Components join when they are first rendered; nothing else needs to call it.

    Example
    -------
    >>> SessionRefresh.join(component, pn.state.curdoc)   # doctest: +SKIP
    """

    _by_document: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
    _live: weakref.WeakSet = weakref.WeakSet()

    def __init__(self, doc: Document, period: int):
        self.components: list[Component] = []
        self._due: dict[int, float] = {}
        self._next_round = 0.0
        self._callback = pn.state.add_periodic_callback(self._tick, period=period)
        SessionRefresh._live.add(self)
        if doc.session_context is not None:
            pn.state.on_session_destroyed(self._on_session_destroyed)

    @classmethod
    def join(cls, component: Component, doc: Document) -> SessionRefresh:
        """Add ``component`` to the redraw loop of ``doc`` (made on first use)."""
        refresh = cls._by_document.get(doc)
        if refresh is None:
            refresh = cls._by_document[doc] = cls(doc, component.period)
        elif component.period < refresh._callback.period:
            refresh._callback.period = component.period
        if component not in refresh.components:
            refresh.components.append(component)
        return refresh

    @staticmethod
    def redraw(components: Iterable[Component], view: FeedView | None = None) -> bool:
        """Redraw ``components`` now, in one batch, each feed read once.

        Returns False (and does nothing) in a session whose browser has gone."""
        doc = pn.state.curdoc
        if not compat.browser_connected(doc):
            return False
        components = list(components)
        views = {}
        with pn.io.hold():
            for component in components:
                feed = component.feed
                if feed not in views:
                    views[feed] = view if view is not None else feed.view()
                component.show(views[feed])
        if doc is not None and doc.session_context is None:
            # A notebook: the models changed outside Panel's own updates.
            panes = [c.pane for c in components if c.pane is not None]
            if panes:
                pn.io.push_notebook(*panes)
        return True

    def _tick(self) -> None:
        now = time.monotonic()
        if now < self._next_round:
            return
        due = [c for c in self.components if now >= self._due.get(id(c), 0.0)]
        began = time.perf_counter()
        if not self.redraw(due):
            SessionRefresh._live.discard(self)  # costs nothing until it reconnects
            return
        SessionRefresh._live.add(self)
        for component in due:
            self._due[id(component)] = now + component.period / 1000
        cost = time.perf_counter() - began
        # n sessions each spending `cost` per round stay within BUDGET when
        # each waits n * cost / BUDGET between rounds.
        self._next_round = now + cost * len(SessionRefresh._live) / BUDGET

    def _on_session_destroyed(self, _context) -> None:
        self._callback.stop()
        SessionRefresh._live.discard(self)
        for component in self.components:
            component.release()
        self.components.clear()

"""SessionRefresh: one redraw loop per browser session, paced to what the server can afford.

A served page holds several components. Each with its own periodic callback
meant one document lock and one websocket message per component per tick;
and since redraws cost tens of milliseconds each (HoloViews re-renders the
plot), a handful of pages made the server fall behind: callbacks queued on
the document lock, new pages took seconds to load, and Bokeh could not
discard closed sessions because a queued callback blocks expiry.

So each document gets one :class:`SessionRefresh`, which redraws its
components in one batch, and spaces its rounds so that all sessions of the
process together spend at most :data:`BUDGET` of one core redrawing. One page
redraws every ``period``; many pages each redraw less often, and the server
stays responsive.
"""

from __future__ import annotations

import time
import weakref
from typing import TYPE_CHECKING

import panel as pn
from panel.io.resources import get_dist_path

if TYPE_CHECKING:
    from bokeh.document import Document

    from dashkit.components.base import Component

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

    def _tick(self) -> None:
        if not browser_connected():
            SessionRefresh._live.discard(self)  # costs nothing until it reconnects
            return
        SessionRefresh._live.add(self)
        now = time.monotonic()
        if now < self._next_round:
            return
        began = time.perf_counter()
        with pn.io.hold():
            for component in self.components:
                if now >= self._due.get(id(component), 0.0):
                    self._due[id(component)] = now + component.period / 1000
                    component._update()
        cost = time.perf_counter() - began
        # n sessions each spending `cost` per round stay within BUDGET when
        # each waits n * cost / BUDGET between rounds.
        self._next_round = now + cost * len(SessionRefresh._live) / BUDGET

    def _on_session_destroyed(self, _context) -> None:
        self._callback.stop()
        SessionRefresh._live.discard(self)
        for component in self.components:
            component._close()
        self.components.clear()


def browser_connected() -> bool:
    """False in a server session whose browser has gone.

    Such a session lives on until the server's unused-session check discards
    it; redrawing for nobody only delays that.
    """
    doc = pn.state.curdoc
    context = doc.session_context if doc is not None else None
    session = getattr(context, "_session", None)  # Bokeh's ServerSession, server only
    return session is None or session.connection_count > 0


def pin_resource_urls() -> None:
    """Give the session's document its resource URLs before any model is built.

    Panel resolves each stylesheet against the document's ``dist_url``, which
    it only sets when it writes the page; models built before that get CDN
    URLs, and it patches back only those it reaches from the roots at that
    moment. On a busy server some were missed and pages asked the CDN for
    their CSS, which fails offline. With ``dist_url`` set first, nothing points
    there unless the server was told to use the CDN.
    """
    doc = pn.state.curdoc
    if doc is not None and doc.session_context is not None:
        doc._template_variables.setdefault("dist_url", get_dist_path())

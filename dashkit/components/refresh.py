"""SessionRefresh: one redraw loop per browser session.

A served page holds several components. Each with its own periodic callback
meant one document lock and one websocket message per component per tick.
So each document gets one :class:`SessionRefresh`, which redraws its
components in one batch from one consistent snapshot of each feed, soon
after each poll of the feed (it looks every :data:`CHECK_PERIOD` ms; a look
that finds nothing new costs next to nothing).

A redraw is cheap (the frames are computed once per poll for all pages and
moved straight into Bokeh models), but a server can still have more pages
than it can afford: rounds are spaced so that all sessions of the process
together spend at most half of one core redrawing (judged on a page's
typical round, see :mod:`dashkit.components.pacing`), and pages whose
browser has gone stop redrawing. A closed page's memory is given back
(:func:`dashkit.allocator.release_soon`).
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Iterable
from typing import TYPE_CHECKING

import panel as pn
from bokeh.core.property.validation import validate
from panel.io.state import set_curdoc
from tornado.ioloop import IOLoop

from dashkit import allocator
from dashkit.components import compat
from dashkit.components.pacing import Pacer

if TYPE_CHECKING:
    from bokeh.document import Document
    from bokeh.model import Model

    from dashkit.components.base import Component
    from dashkit.feed import FeedView

CHECK_PERIOD = 100
"""Milliseconds between looks for a new poll of the page's feeds."""


class SessionRefresh:
    """Redraws the dashkit components of one Bokeh document from one periodic callback.

    Components join when they are first rendered; nothing else needs to call it.

    Example
    -------
    >>> SessionRefresh.join(component, pn.state.curdoc)   # doctest: +SKIP
    """

    _by_document: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
    _live: weakref.WeakSet = weakref.WeakSet()
    #: Components of notebook cells not rendered yet. Held strongly: a cell's
    #: layout holds a component's panel, not the component.
    _unrendered: set = set()

    def __init__(self, doc: Document):
        self.components: list[Component] = []
        # Weak: the registry maps each document to its refresh weakly, and a
        # strong reference back would keep every closed page's document alive.
        self._doc = weakref.ref(doc)
        self._due: dict[int, float] = {}
        self._seen: dict[int, int] = {}  # feed version each component last drew
        self._next_round = 0.0
        self._pacer = Pacer()
        SessionRefresh._live.add(self)
        if doc.session_context is not None:
            compat.write_to_open_sockets()
            allocator.tune()
            # Bokeh's own callback: Panel's marks the process busy at every call,
            # which every other page's busy indicator then hears.
            doc.add_periodic_callback(self._tick, CHECK_PERIOD)
            pn.state.on_session_destroyed(self._on_session_destroyed)
        else:  # a notebook: Panel runs it on the kernel's event loop
            pn.state.add_periodic_callback(self._tick, period=CHECK_PERIOD)

    @classmethod
    def join(cls, component: Component, doc: Document) -> SessionRefresh:
        """Add ``component`` to the redraw loop of ``doc`` (made on first use)."""
        refresh = cls._by_document.get(doc)
        if refresh is None:
            refresh = cls._by_document[doc] = cls(doc)
        if component not in refresh.components:
            refresh.components.append(component)
        return refresh

    @classmethod
    def join_when_rendered(cls, component: Component) -> None:
        """In a notebook: join the redraw loop of each cell output ``component``
        is rendered into. Panel builds a cell's object before it makes the
        cell's document, so the component cannot know its document sooner."""
        cls._unrendered.add(component)
        compat.on_render(cls._rendered)

    @classmethod
    def _rendered(cls, root: Model) -> None:
        shown = [c for c in cls._unrendered
                 if c.pane is not None and compat.rendered_in(c.pane, root)]  # fmt: skip
        cls._unrendered.difference_update(shown)
        if shown:
            # The root joins its cell's document once Panel has finished the cell.
            IOLoop.current().add_callback(cls._join_rendered, shown, root)

    @classmethod
    def _join_rendered(cls, components: list[Component], root: Model) -> None:
        doc = root.document
        if doc is not None and doc.session_context is None:
            for component in components:
                cls.join(component, doc)

    @staticmethod
    def redraw(components: Iterable[Component], view: FeedView | None = None) -> bool:
        """Redraw ``components`` now, in one batch, each feed read once.

        Returns False (and does nothing) in a session whose browser has gone."""
        doc = pn.state.curdoc
        if not compat.browser_connected(doc):
            return False
        components = list(components)
        views = {}
        # Frames are built to fit their models: Bokeh's type checks of every
        # assigned value were the largest part of a redraw.
        with pn.io.hold(), validate(False):
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
        doc = self._doc()
        if doc is None:
            return
        with set_curdoc(doc):
            self._round()

    def _round(self) -> None:
        now = time.monotonic()
        # Changes made before the browser has loaded the page can be lost, and
        # a live update sends only what changed: start once it has.
        if now < self._next_round or not pn.state.loaded:
            return
        due = [c for c in self.components if c.feed.version != self._seen.get(id(c))
               and now >= self._due.get(id(c), 0.0)]  # fmt: skip
        if not due:
            return
        versions = [c.feed.version for c in due]
        # CPU time, not wall time: on a loaded machine a round waits for the
        # CPU, and counting that wait would slow every page for nothing.
        began = time.thread_time()
        if not self.redraw(due):
            SessionRefresh._live.discard(self)  # costs nothing until it reconnects
            return
        SessionRefresh._live.add(self)
        for component, version in zip(due, versions, strict=True):
            self._seen[id(component)] = version
            self._due[id(component)] = now + component.period / 1000
        cost = time.thread_time() - began
        self._next_round = now + self._pacer.wait(cost, len(SessionRefresh._live))

    def _on_session_destroyed(self, _context) -> None:
        # Bokeh removes a destroyed session's own callbacks itself.
        SessionRefresh._live.discard(self)
        doc = self._doc()
        if doc is not None:
            SessionRefresh._by_document.pop(doc, None)
        for component in self.components:
            component.release()
        self.components.clear()
        allocator.release_soon()

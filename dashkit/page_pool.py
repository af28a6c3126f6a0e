"""PagePool: a served layout keeps its next page built before it is asked for.

Building a status page's document takes the server about a second (HoloViews
draws every plot), and the browser gets nothing, not even the page's HTML,
until it is done; meanwhile the server's event loop serves nothing else, not
even the page's scripts. ``dashkit serve`` therefore keeps one page of each
layout built ahead (a *spare*): a request gets it at once, and the next spare
is built only after every page given out has connected and pulled its
document, so building never delays a page being opened.

What a page shows does not depend on who asked for it, with two exceptions
that are therefore built for their own request, as before:

* a request with query arguments (Panel reads some, such as ``?theme=``);
* any request to a server with a login: a page may show who is logged in.

A spare is a server session with no browser yet: it reads its feeds like any
page (so the feeds keep polling while it exists) but sends nothing. When the
last other page of the layout has closed, the spare is kept :data:`LINGER`
seconds more, for a page opened again soon, then let go, so the feeds stop
after their own ``linger`` time; a request after that builds its page and a
new spare.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

import panel.io.server
from bokeh.application.handlers.handler import Handler
from bokeh.server.auth_provider import NullAuth
from bokeh.util.token import generate_jwt_token, generate_session_id
from tornado.httputil import HTTPHeaders, HTTPServerRequest, RequestStartLine
from tornado.ioloop import IOLoop

from dashkit.components import compat
from dashkit.page_builds import BuildGate

if TYPE_CHECKING:
    from bokeh.application import Application
    from bokeh.server.contexts import ApplicationContext, BokehSessionContext
    from bokeh.server.session import ServerSession

log = logging.getLogger(__name__)

CONNECT_WAIT = 5.0
"""Longest wait, in seconds, for a page given out to connect before the next
spare is built anyway (a request that only fetches the HTML never does)."""

SETTLE = 0.5
"""Seconds between the last page connecting and the next build: the page's
document is pulled and its first update sent before the event loop is busy."""

LINGER = 30.0
"""Seconds a spare is kept after the last other page of its layout has closed
(as long as a shared feed keeps polling after its last page, by default)."""

HOLD = 60.0
"""Longest time, in seconds, a spare given out is kept for its browser to connect."""

#: The payload of the token a spare is built with: no headers, cookies or arguments.
_EMPTY_REQUEST = {"headers": {}, "cookies": {}, "arguments": {}}


class PagePool(Handler):
    """A Bokeh application handler that keeps one page of its application built ahead.

    Add it to a Panel application before the server starts, for a server
    without a login (with one, it gives out nothing and builds one spare at
    most); the server then hands the spare to the next request (see the
    module's docstring for which). ``linger`` is how many seconds the spare
    is kept after the last other page has closed (:data:`LINGER`).

    Example
    -------
    >>> from panel.io.application import build_applications
    >>> apps = build_applications({"status": lambda: "a page"})
    >>> pool = PagePool.add_to(apps["/status"])
    >>> PagePool.of(apps["/status"]) is pool
    True
    """

    def __init__(self, linger: float = LINGER) -> None:
        super().__init__()
        self.linger = linger
        self.spare: ServerSession | None = None
        #: How many pages built ahead were given out.
        self.given = 0
        self._context: ApplicationContext | None = None
        # Pages sent, their browser not connected yet: (session, when sent).
        self._waiting: list[tuple[ServerSession, float]] = []
        self._wanted = True
        self._filling = False
        self._letting_go: object | None = None  # the timeout that lets the spare go

    @classmethod
    def add_to(cls, app: Application, linger: float = LINGER) -> PagePool:
        """Keep a page of ``app`` built ahead, once it is served by ``dashkit serve``
        (or any Panel server started after this call)."""
        compat.serve_route_with(compat.PAGE_ROUTE, PooledDocHandler)
        pool = cls(linger)
        app.add(pool)
        return pool

    @staticmethod
    def of(app: Application) -> PagePool | None:
        """The pool of ``app``, None when it has none."""
        return next((h for h in app.handlers if isinstance(h, PagePool)), None)

    # -- Bokeh's handler interface ------------------------------------------------

    def modify_document(self, doc) -> None:
        """Nothing: the application's other handlers build the page."""

    async def on_session_created(self, session_context: BokehSessionContext) -> None:
        # Before any page has been written, Panel would point this page's
        # stylesheets at its CDN: a page built ahead is built before that.
        async def prepare(doc) -> None:
            compat.prepare_page(doc)

        await session_context.with_locked_document(prepare)

    def on_server_loaded(self, server_context) -> None:
        self._context = server_context.application_context
        IOLoop.current().add_callback(self._fill)

    async def on_session_destroyed(self, session_context: BokehSessionContext) -> None:
        # With no spare yet, one being built is let go when the time is up.
        if self._context is not None and not self._pages_open():
            self._let_spare_go_later()

    def _pages_open(self) -> bool:
        return any(s is not self.spare for s in self._context.sessions)

    def _cancel_letting_go(self) -> None:
        """Cancel letting the spare go: a page has opened (or the wait restarts)."""
        if self._letting_go is not None:
            IOLoop.current().remove_timeout(self._letting_go)
            self._letting_go = None

    def _let_spare_go_later(self) -> None:
        """Every page has gone: keep the spare :attr:`linger` seconds for a page
        opened again soon, then let it go, so the feeds can stop."""
        self._cancel_letting_go()
        self._letting_go = IOLoop.current().call_later(self.linger, self._let_spare_go)

    def _let_spare_go(self) -> None:
        self._letting_go = None
        if self.spare is not None and not self._pages_open():
            self.spare.unblock_expiration()
            self.spare = None
            self._wanted = False

    # -- pages ------------------------------------------------------------------

    def take(self, handler: panel.io.server.DocHandler) -> ServerSession | None:
        """The spare, made over to ``handler``'s request; None if there is none
        or the request must have a page built for it."""
        spare = self.spare
        if spare is None or handler.request.arguments or _has_login(handler):
            return None
        self.spare = None
        compat.give_session_to(spare, handler)
        IOLoop.current().add_callback(self._hold, spare)
        self.given += 1
        return spare

    def opened(self, session: ServerSession, handler: panel.io.server.DocHandler) -> None:
        """``session``'s page has just been sent: build the next spare once it has connected."""
        self._cancel_letting_go()
        self._waiting.append((session, time.monotonic()))
        self._wanted = not _has_login(handler)
        IOLoop.current().add_callback(self._fill)

    async def _fill(self) -> None:
        if self._filling:
            return
        self._filling = True
        try:
            await self._pages_connected()
            if self._wanted and self.spare is None and self._context is not None:
                self.spare = await self._build()
        except Exception:
            self._wanted = False  # the next request builds its own page and tries again
            log.exception("dashkit: could not build a page ahead")
        finally:
            self._filling = False

    async def _pages_connected(self) -> None:
        """Return once no page sent is still waiting for its browser, and none
        has been sent for :data:`SETTLE` seconds."""
        while True:
            while self._waiting:
                now = time.monotonic()
                self._waiting = [(s, t) for s, t in self._waiting
                                 if s.connection_count == 0 and not s.destroyed
                                 and now - t < CONNECT_WAIT]  # fmt: skip
                if self._waiting:
                    await asyncio.sleep(0.1)
            await asyncio.sleep(SETTLE)
            if not self._waiting:
                return

    @staticmethod
    async def _hold(spare: ServerSession) -> None:
        """Keep a spare given out from expiring until its browser has connected
        (or :data:`HOLD` seconds have passed): Bokeh counts a session's unused
        time from its creation, and would discard a spare built long ago before
        its browser connects, which would then have another page built."""
        given = time.monotonic()
        while spare.connection_count == 0 and time.monotonic() - given < HOLD:
            await asyncio.sleep(0.1)
        spare.unblock_expiration()  # from now on it lives and goes as any page

    async def _build(self) -> ServerSession:
        """A new session of the application, built for a request with nothing in it."""
        session_id = generate_session_id()
        token = generate_jwt_token(session_id, extra_payload=_EMPTY_REQUEST)
        line = RequestStartLine("GET", self._context.url, "HTTP/1.1")
        # (replaced by the real request when the page is given out)
        request = HTTPServerRequest(start_line=line, headers=HTTPHeaders({"Host": "localhost"}))
        began = time.perf_counter()
        session = await self._context.create_session_if_needed(session_id, request, token)
        session.block_expiration()  # unseen, it would be discarded as unused
        log.debug("dashkit: page built ahead in %.0f ms", 1000 * (time.perf_counter() - began))
        return session


def _has_login(handler: panel.io.server.DocHandler) -> bool:
    return not isinstance(handler.application.auth_provider, NullAuth)


class PooledDocHandler(panel.io.server.DocHandler):
    """Panel's page handler, giving out the application's spare page when it has
    one, and building pages in turns that leave open pages half of the event
    loop (:mod:`dashkit.page_builds`)."""

    async def get(self, *args, **kwargs):
        builds = BuildGate.of(asyncio.get_running_loop())
        if builds.crowded():
            self.set_status(503)
            self.set_header("Retry-After", str(builds.retry_after()))
            self.finish("The server is building many pages: try again in a moment.")
            return
        async with builds.turn():
            return await super().get(*args, **kwargs)

    async def get_session(self) -> ServerSession:
        pool = PagePool.of(self.application_context.application)
        session = pool.take(self) if pool is not None else None
        if session is None:
            session = await super().get_session()
        if pool is not None:
            pool.opened(session, self)
        return session

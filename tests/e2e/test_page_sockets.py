"""A page closed for good lets its session go at once (dashkit.page_sockets): a
real Panel server in this process, pages opened and closed by a real browser."""

from __future__ import annotations

import re
from types import SimpleNamespace

import bokeh.server.urls
import panel as pn
import pytest

from dashkit.components import compat
from dashkit.page_sockets import PageSocketHandler
from tests.conftest import serve_in_thread, wait_for

TEXT = "a page of its own"


@pytest.fixture
def served():
    """A Panel server of one page, answering websockets with PageSocketHandler;
    a session without a connection would live a minute, were it not let go."""
    kept = list(bokeh.server.urls.per_app_patterns)
    contexts: list = []

    def page():
        contexts.append(pn.state.curdoc.session_context)
        return pn.pane.Markdown(TEXT)

    compat.serve_route_with(compat.SOCKET_ROUTE, PageSocketHandler)
    try:
        port, thread = serve_in_thread({"page": page},
                                       unused_session_lifetime_milliseconds=60_000)
        try:
            yield SimpleNamespace(url=f"http://127.0.0.1:{port}/page", contexts=contexts)
        finally:
            thread.stop()
    finally:
        bokeh.server.urls.per_app_patterns[:] = kept


def test_a_closed_page_is_discarded_at_once(served, open_page):
    page = open_page()
    page.goto(served.url)
    page.page.get_by_text(TEXT).wait_for()
    (context,) = served.contexts
    session = context._session
    wait_for(lambda: session.connection_count == 1, what="the page connected")

    page.page.close()

    # long before the minute a session without a connection is kept
    wait_for(lambda: session.destroyed, timeout=10, what="the closed page's session discarded")


def test_a_page_whose_connection_drops_keeps_its_session(served, open_page):
    page = open_page()
    sockets = []

    def route(socket):
        # the page's first socket reaches the server; its attempts to reconnect do not
        sockets.append(socket.connect_to_server() if not sockets else socket)

    page.page.route_web_socket(re.compile(r".*/ws.*"), route)
    page.goto(served.url)
    page.page.get_by_text(TEXT).wait_for()
    (context,) = served.contexts
    session = context._session
    wait_for(lambda: session.connection_count == 1, what="the page connected")

    sockets[0].close(code=4000, reason="the network went away")

    wait_for(lambda: session.connection_count == 0, what="the server seeing the socket closed")
    assert not session.expiration_requested
    assert not session.destroyed

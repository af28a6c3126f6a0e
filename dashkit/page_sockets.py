"""PageSocketHandler: a page closed for good lets its session go at once.

Bokeh keeps a page's session after its websocket closes, for the page to
reconnect to if the connection only dropped: it is discarded once it has been
without a connection for ``unused_session_lifetime`` (15 s), which the server
checks every ``check_unused_sessions_milliseconds`` (17 s). A page that was
closed, reloaded or navigated away from never comes back, and its browser says
so when it closes the socket (code 1001, "going away"). Until its session was
discarded, up to half a minute later, it kept its document and its plots; a
page reloaded every few seconds had up to a dozen of them alive at once, and
the server's memory grew to hold them.

``dashkit serve`` answers websockets with :class:`PageSocketHandler` and checks
for sessions to discard every :data:`CHECK_PERIOD_MS` milliseconds: a page
closed for good is discarded within that time, and a page whose connection
dropped keeps its session as before.
"""

from __future__ import annotations

import panel.io.server

GOING_AWAY = 1001
"""The websocket close code a browser sends when its page goes away."""

CHECK_PERIOD_MS = 1000
"""How often, in milliseconds, ``dashkit serve`` discards the sessions due to go."""


class PageSocketHandler(panel.io.server.WSHandler):
    """Panel's websocket handler, asking for a page's session to be discarded
    when the page closes the socket for good.

    Example
    -------
    >>> from dashkit.components import compat
    >>> compat.serve_route_with(compat.SOCKET_ROUTE, PageSocketHandler)  # doctest: +SKIP
    """

    def on_close(self) -> None:
        if self.close_code == GOING_AWAY and self.connection is not None:
            self.connection.session.request_expiration()
        super().on_close()

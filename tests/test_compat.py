"""The private Panel/Bokeh/HoloViews attributes dashkit reads (dashkit/components/compat.py).

Each test fails loudly when a new version moves what it relies on.
"""

from __future__ import annotations

import holoviews as hv
import panel as pn
import panel.io.server
from bokeh.document import Document
from bokeh.models import UIElement
from bokeh.server.contexts import BokehSessionContext
from bokeh.server.session import ServerSession
from panel.io.resources import get_dist_path

from dashkit.components import compat


def test_a_holoviews_pane_lists_the_plots_it_rendered():
    pane = pn.pane.HoloViews(hv.Curve([1, 2, 3]))
    assert compat.rendered_plots(pane) == []
    doc = Document()
    doc.add_root(pane.get_root(doc))
    plots = compat.rendered_plots(pane)
    assert len(plots) == 1
    assert plots[0].state.document is doc  # the figure the page shows
    assert "source" in plots[0].handles


def test_a_session_context_holds_its_server_session():
    context = BokehSessionContext("a-session", None, Document())
    assert hasattr(context, "_session")
    assert isinstance(ServerSession.connection_count, property)


def test_without_a_server_session_a_browser_counts_as_connected():
    assert compat.browser_connected(None)
    assert compat.browser_connected(Document())


def test_resource_urls_are_pinned_in_a_server_document_only():
    doc = Document()
    compat.prepare_page(doc)
    assert "dist_url" not in doc._template_variables  # no session: nothing to pin
    doc._session_context = lambda: BokehSessionContext("a-session", None, doc)
    compat.prepare_page(doc)
    assert doc._template_variables["dist_url"] == get_dist_path()  # the server's own static


def _served_page(*models) -> Document:
    doc = Document()
    doc._session_context = lambda: BokehSessionContext("a-session", None, doc)
    for model in models:
        doc.add_root(model)
    return doc


def _loads_mathjax(doc: Document) -> bool:
    from bokeh.resources import Resources
    from panel.io.resources import bundle_resources

    bundle = bundle_resources(doc.roots, Resources(mode="server", root_url="/"))
    return any("mathjax" in str(url) for url in bundle.js_files)


def test_a_page_loads_mathjax_only_when_a_model_on_it_would_render_math():
    from bokeh.models import Column
    from panel.models.markup import HTML

    def lines() -> list:  # a plain line, and a spinner's label with math allowed but none in it
        return [HTML(text="Memory: 1 GiB", disable_math=True),
                HTML(text="&lt;b&gt;&lt;/b&gt;", disable_math=False)]  # fmt: skip

    other_app = _served_page(*lines())
    assert _loads_mathjax(other_app)  # Panel's own rule: any of its HTML models at the root

    plain = _served_page(*lines())
    compat.prepare_page(plain)
    assert not _loads_mathjax(plain)
    assert _loads_mathjax(other_app)  # a page dashkit did not set up keeps Panel's rule

    formula = HTML(text="Area: $$\\pi r^2$$", disable_math=False)
    with_math = _served_page(*lines(), Column(children=[formula]))
    compat.prepare_page(with_math)
    assert _loads_mathjax(with_math)  # found below the roots too
    formula.disable_math = True
    assert not _loads_mathjax(with_math)


def _loads_esm_shim(doc: Document) -> bool:
    from bokeh.resources import Resources

    bundle = panel.io.server.bundle_resources(doc.roots, Resources(mode="server", root_url="/"))
    return any(compat.ESM_SHIM in str(url) for url in bundle.js_files)


def test_a_page_loads_the_es_module_shim_only_when_it_holds_an_es_module():
    from panel.models.markup import HTML

    class Module(pn.custom.JSComponent):
        _esm = "export function render() { return document.createElement('div') }"

    other_app = _served_page(HTML(text="a line"))
    assert _loads_esm_shim(other_app)  # Panel's own rule: on every page

    plain = _served_page(HTML(text="a line"))
    compat.prepare_page(plain)
    assert not _loads_esm_shim(plain)
    assert _loads_esm_shim(other_app)  # a page dashkit did not set up keeps Panel's rule

    with_module = _served_page(HTML(text="a line"))
    compat.prepare_page(with_module)
    with_module.add_root(Module().get_root(with_module))
    assert _loads_esm_shim(with_module)


def test_a_dashkit_page_keeps_unchanged_styles_and_other_pages_are_left_as_they_are():
    from bokeh.resources import Resources
    from panel.models.markup import HTML

    def scripts(doc: Document) -> list[str]:
        resources = Resources(mode="server", root_url="/")
        return panel.io.server.bundle_resources(doc.roots, resources).js_raw

    other_app = _served_page(HTML(text="a line"))
    plain = _served_page(HTML(text="a line"))
    compat.prepare_page(plain)
    assert scripts(plain).count(compat.KEEP_UNCHANGED_STYLES_JS) == 1
    assert compat.KEEP_UNCHANGED_STYLES_JS not in scripts(other_app)


class _ClosingConnection:
    """A websocket whose peer has gone: the first write fails later, the next at once."""

    def __init__(self, loop):
        self.loop = loop
        self.closed = False

    def is_closing(self) -> bool:
        return self.closed

    def write_message(self, message, binary=False):
        from tornado.websocket import WebSocketClosedError

        self.closed = True
        future = self.loop.create_future()
        future.set_exception(WebSocketClosedError())
        return future


def test_a_page_closing_mid_message_is_written_nothing_and_logs_nothing():
    import asyncio
    import gc
    import threading
    from types import SimpleNamespace

    import panel.io.document
    from tornado.websocket import WebSocketHandler

    compat.write_to_open_sockets()
    assert panel.io.document.dispatch_tornado is compat.dispatch_to_open_socket

    unretrieved, results = [], []
    msg = SimpleNamespace(header_json="{}", metadata_json="{}", content_json="{}", _buffers=[])

    def write_to_a_closing_page():
        # Its own thread and loop: the suite may run another loop on this thread.
        loop = asyncio.new_event_loop()
        loop.set_exception_handler(lambda _loop, context: unretrieved.append(context))
        socket = object.__new__(WebSocketHandler)  # no server: only what a write reads
        socket.ws_connection = _ClosingConnection(loop)
        conn = SimpleNamespace(_socket=socket)

        async def dispatch():
            futures = panel.io.document.dispatch_tornado(conn, msg=msg)
            await asyncio.sleep(0)  # the failed write's callbacks run
            return futures

        try:
            results.append(loop.run_until_complete(dispatch()))
            results.append(panel.io.document.dispatch_tornado(conn, msg=msg))  # closed
        except Exception as error:  # reported below, in the test's thread
            results.append(error)
        finally:
            loop.close()
            gc.collect()

    thread = threading.Thread(target=write_to_a_closing_page)
    thread.start()
    thread.join(timeout=30)
    assert results == [[], []]
    assert unretrieved == []


def test_render_hooks_see_every_root_panel_renders_once_each():
    from panel.viewable import Viewable

    seen = []
    before = list(Viewable._preprocessing_hooks)
    compat.on_render(seen.append)
    compat.on_render(seen.append)  # idempotent
    try:
        assert len(Viewable._preprocessing_hooks) == len(before) + 1
        pane = pn.pane.Markdown("a")
        row = pn.Row(pane)
        root = row.get_root(Document())
        assert seen == [root]
        assert compat.rendered_in(pane, root) and compat.rendered_in(row, root)
        assert not compat.rendered_in(pn.pane.Markdown("b"), root)
    finally:
        Viewable._preprocessing_hooks[:] = before


def test_stylesheets_fetched_from_a_url_are_inlined():
    from bokeh.models import ImportedStyleSheet, InlineStyleSheet

    root = pn.Column(pn.pane.Markdown("a")).get_root(Document())

    def sheets():
        return [s for m in root.select({"type": UIElement}) for s in m.stylesheets]

    linked = [s for s in sheets() if isinstance(s, ImportedStyleSheet)]
    assert linked, "Panel links its layout stylesheets"
    compat.inline_stylesheets(root)
    assert not [s for s in sheets() if isinstance(s, ImportedStyleSheet)]
    inlined = [s for s in sheets() if isinstance(s, InlineStyleSheet)]
    assert len(inlined) >= len(linked) and all(s.css.strip() for s in inlined)


def test_outside_a_kernel_nothing_counts_as_a_notebook():
    assert not compat.in_kernel()


def test_pages_are_written_by_the_handler_given():
    import bokeh.server.urls
    from panel.io.server import DocHandler

    class Writer(DocHandler):
        pass

    patterns = bokeh.server.urls.per_app_patterns
    kept = list(patterns)
    try:
        compat.serve_route_with(compat.PAGE_ROUTE, Writer)
        compat.serve_route_with(compat.PAGE_ROUTE, Writer)  # idempotent
        assert dict(patterns)[compat.PAGE_ROUTE] is Writer
        assert len(patterns) == len(kept)
        assert compat.SOCKET_ROUTE in dict(patterns)  # where a page's websocket is answered
    finally:
        patterns[:] = kept


def test_a_session_built_for_one_request_is_made_over_to_another():
    from types import SimpleNamespace

    from bokeh.util.token import generate_jwt_token, get_session_id, get_token_payload
    from panel.io.server import DocHandler
    from tornado.httputil import HTTPHeaders, HTTPServerRequest, RequestStartLine

    assert callable(DocHandler._generate_token_payload)  # what gives the request's payload
    doc = Document()
    context = BokehSessionContext("a-session", None, doc)
    doc._session_context = lambda: context
    context._token = generate_jwt_token("a-session", extra_payload={"headers": {}})
    session = ServerSession("a-session", doc, token=context._token)
    headers = HTTPHeaders({"Host": "localhost", "User-Agent": "a browser"})
    request = HTTPServerRequest(start_line=RequestStartLine("GET", "/page", "HTTP/1.1"),
                                headers=headers)  # fmt: skip
    payload = {"headers": {"User-Agent": "a browser"}, "cookies": {"c": "1"}, "arguments": {}}
    handler = SimpleNamespace(
        request=request, _generate_token_payload=lambda: payload,
        application=SimpleNamespace(secret_key=None, sign_sessions=False,
                                    session_token_expiration=300),
    )  # fmt: skip

    built_with = context._token
    compat.give_session_to(session, handler)

    assert session.token == context._token != built_with
    assert get_session_id(session.token) == "a-session"
    assert get_token_payload(session.token)["headers"] == {"User-Agent": "a browser"}
    assert context.request.headers["User-Agent"] == "a browser"
    assert context.request.cookies == {"c": "1"}


def test_a_closed_page_leaves_nothing_of_itself_on_the_server():
    """Panel lists every document its server builds and never takes one off:
    each closed page kept its document and every model on it."""
    import gc
    import urllib.request
    import uuid
    import weakref

    from panel.io.application import build_applications

    from dashkit.components import ClusterMemory, TaskStream
    from dashkit.feed import Feed
    from dashkit.sources import SyntheticSource
    from tests.conftest import serve_in_thread, wait_for

    feed = Feed(SyntheticSource(seed=1), period=0.5)
    built: list[weakref.ref] = []

    def page():
        built.append(weakref.ref(pn.state.curdoc))
        return pn.Column(ClusterMemory(feed=feed), TaskStream(feed=feed))

    server_id = uuid.uuid4().hex
    apps = build_applications({"page": page}, title="page", server_id=server_id)
    port, thread = serve_in_thread(apps, server_id=server_id)
    try:
        wait_for(lambda: server_id in pn.state._servers, what="the server")
        for _ in range(3):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/page", timeout=60) as response:
                assert response.status == 200
        assert len(built) == 3
        listed = pn.state._servers[server_id][2]
        wait_for(lambda: not listed, timeout=30, what="the server's list of documents emptied")

        def collected() -> bool:
            gc.collect()
            return all(ref() is None for ref in built)

        wait_for(collected, timeout=30, what="every closed page's document collected")
    finally:
        thread.stop()
        feed.stop()

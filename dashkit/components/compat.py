"""Every use of a private Panel, Bokeh or HoloViews attribute, in one place.

dashkit's live path needs a few things those libraries do not expose
publicly; each is read here and nowhere else, and ``tests/test_compat.py``
fails loudly when a new version moves one:

* the HoloViews plots a ``pn.pane.HoloViews`` rendered (``pane._plots``), to
  update their Bokeh models directly instead of re-rendering;
* whether a server session still has a browser connected
  (``BokehSessionContext._session.connection_count``);
* the document's template variables, to pin ``dist_url`` before models are
  built (``Document._template_variables``), Panel's rule for whether a
  page loads MathJax (``panel.io.resources._panel_use_mathjax``), the
  function that lists a served page's scripts
  (``panel.io.server.bundle_resources``), and the documents Panel lists
  for each server (``pn.state._servers``);
* in the browser, BokehJS's inline stylesheet class
  (``Bokeh.require("core/dom").InlineStyleSheet``), whose rewrites of
  unchanged text a dashkit page skips (:data:`KEEP_UNCHANGED_STYLES_JS`);
* Panel's function that writes a message to a page's websocket
  (``panel.io.document.dispatch_tornado``), replaced by one that handles a
  page closing between two writes of one message;
* the roots a Panel object has been rendered into (``Viewable._models``) and
  Panel's hooks called on each render (``Viewable._preprocessing_hooks``):
  in a notebook no session tells a component where it is shown;
* the route table of a server's page and websocket handlers
  (``bokeh.server.urls``) and what a session knows of the request it was
  built for (its token and request), to hand a page built ahead to the
  request that gets it and to let a page closed for good go at once.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import bokeh.server.urls
import panel as pn
import panel.io.document
import panel.io.resources
import panel.io.server
from bokeh.embed.util import contains_tex_string
from bokeh.models import UIElement
from bokeh.server.contexts import _RequestProxy
from bokeh.util.token import generate_jwt_token
from panel.io.notebook import patch_inline_stylesheets
from panel.io.resources import get_dist_path
from panel.models.esm import ReactiveESM
from panel.models.markup import HTML as PanelHTML
from panel.viewable import Viewable

if TYPE_CHECKING:
    from bokeh.document import Document
    from bokeh.model import Model
    from bokeh.server.session import ServerSession
    from panel.io.server import DocHandler


def rendered_plots(pane: pn.pane.HoloViews) -> list:
    """The HoloViews plots ``pane`` has rendered (one per root it was shown in)."""
    return [plot for plot, _child in pane._plots.values()]


def rendered_in(view: Viewable, root: Model) -> bool:
    """Whether ``view`` is part of what Panel rendered as ``root``."""
    return root.ref["id"] in view._models


def on_render(hook: Callable[[Model], None]) -> None:
    """Call ``hook(root)`` each time Panel renders a root model, or part of one
    anew (in a server session, a notebook cell, an export). Idempotent."""
    for registered in Viewable._preprocessing_hooks:
        if getattr(registered, "dashkit_hook", None) == hook:  # bound methods are equal, not one
            return

    def call(_view, root, _changed=None, _old_models=None) -> None:
        hook(root)

    call.dashkit_hook = hook
    Viewable._preprocessing_hooks.append(call)


def in_kernel() -> bool:
    """Whether this process is a Jupyter kernel (Panel renders through comms)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def served(doc: Document | None) -> bool:
    """Whether ``doc`` is a server session's."""
    return doc is not None and doc.session_context is not None


def in_notebook(doc: Document | None) -> bool:
    """Whether ``doc`` (None: not made yet) is a notebook cell's: in a kernel,
    and not a server session's."""
    return in_kernel() and not served(doc)


def inline_stylesheets(root: Model) -> None:
    """Inline every stylesheet under ``root`` that would be fetched from a URL,
    as Panel does for its own first render of a notebook cell. Panel leaves
    out what HoloViews renders for its own display of an element and the
    models a later update makes, which then ask Panel's CDN for their CSS
    (offline: failed requests on the page). A served page, whose server
    serves those files, is left as it is."""
    if served(pn.state.curdoc):
        return
    for model in root.select({"type": UIElement}):
        patch_inline_stylesheets(model)


def browser_connected(doc: Document | None) -> bool:
    """False in a server session whose browser has gone.

    Such a session lives on until the server's unused-session check discards
    it; redrawing for nobody only delays that.
    """
    context = doc.session_context if doc is not None else None
    session = getattr(context, "_session", None)  # Bokeh's ServerSession, server only
    return session is None or session.connection_count > 0


def prepare_page(doc: Document | None) -> None:
    """Set up a server session's page before any model is built. Idempotent.

    * Its resource URLs. Panel resolves each stylesheet against the
      document's ``dist_url``, which it only sets when it writes the page;
      models built before that get CDN URLs, and it patches back only those it
      reaches from the roots at that moment. On a busy server some were missed
      and pages asked the CDN for their CSS, which fails offline. With
      ``dist_url`` set first, nothing points there unless the server was told
      to use the CDN.
    * MathJax only for math. Panel adds BokehJS's MathJax bundle (1.8 MB) to
      any page whose roots hold one of its HTML models, math or not; dashkit's
      lines never render math, and loading the bundle for nothing made a page
      opened beside nine busy ones 0.2 s slower. The page gets it when a model
      on it would render math (see :func:`shows_math`).
    * No ES-module shim. Panel adds the ``es-module-shims`` script, for its
      components written as ES modules, to every page; dashkit's pages hold
      none, and the script took about 60 ms of the browser's main thread in
      every opening. A page holding such a component when it is written
      gets it.
    * No style rewritten for nothing (:data:`KEEP_UNCHANGED_STYLES_JS`).
    * Nothing kept once closed. Panel lists every document its server has
      built (``state._servers``) and never takes one off, so each closed page
      kept its document, and what the document still held, for as long as the
      server ran (15 documents after 10 pages). The page's document is taken
      off that list when its session is destroyed.
    """
    if not served(doc) or doc in _PREPARED:
        return
    _PREPARED.add(doc)
    doc._template_variables.setdefault("dist_url", get_dist_path())
    panel.io.resources._panel_use_mathjax = _use_mathjax
    panel.io.server.bundle_resources = _bundle_resources
    page = weakref.ref(doc)  # the callback lives in the document: no cycle through it

    def forget(session_context) -> None:
        closed = page()
        for _server, _panel, documents in list(pn.state._servers.values()):
            documents[:] = [d for d in documents if d is not closed]

    doc.on_session_destroyed(forget)


#: Documents set up by :func:`prepare_page`: their pages load MathJax only if
#: they show math, and the ES-module shim only if they hold an ES module.
_PREPARED: weakref.WeakSet[Document] = weakref.WeakSet()

_PANEL_USE_MATHJAX = panel.io.resources._panel_use_mathjax
_PANEL_BUNDLE_RESOURCES = panel.io.server.bundle_resources

#: What the URL of Panel's ES-module shim script holds.
ESM_SHIM = "es-module-shims"

#: Run on a dashkit page once BokehJS has loaded. BokehJS rewrites the text
#: of each renderer's position stylesheet on every paint, the same text or
#: not, and each rewrite has the browser recompute the page's styles before
#: the next colour is read: 28 recomputations per update of a settled status
#: page, 6 with unchanged text kept. Does nothing if BokehJS has changed.
KEEP_UNCHANGED_STYLES_JS = """(function () {
  const dom = window.Bokeh && Bokeh.require && Bokeh.require("core/dom");
  const sheet = dom && dom.InlineStyleSheet && dom.InlineStyleSheet.prototype;
  if (!sheet || typeof sheet._update !== "function" || sheet._update.dashkit) return;
  const update = sheet._update;
  sheet._update = function (css) {
    if (this.el.textContent !== css) update.call(this, css);
  };
  sheet._update.dashkit = true;
})();"""


def _dashkit_documents(roots: Sequence[Model]) -> set[Document]:
    """The documents of ``roots`` if all of them are dashkit pages, else nothing."""
    documents = {root.document for root in roots} - {None}
    return documents if documents <= set(_PREPARED) else set()


def _use_mathjax(roots: Sequence[Model]) -> bool:
    """Panel's rule for whether a page loads MathJax, except on dashkit's pages."""
    documents = _dashkit_documents(roots)
    if documents:
        return any(shows_math(model) for doc in documents for model in doc.models)
    return _PANEL_USE_MATHJAX(roots)


def _bundle_resources(roots: Sequence[Model], *args, **kwargs):
    """Panel's scripts and stylesheets of a served page; a dashkit page holding
    no ES-module component leaves out the ES-module shim, and keeps unchanged
    styles."""
    bundle = _PANEL_BUNDLE_RESOURCES(roots, *args, **kwargs)
    documents = _dashkit_documents(roots)
    if not documents:
        return bundle
    if not any(isinstance(model, ReactiveESM) for doc in documents for model in doc.models):
        bundle.js_files = [url for url in bundle.js_files if ESM_SHIM not in str(url)]
    bundle.js_raw = [*bundle.js_raw, KEEP_UNCHANGED_STYLES_JS]
    return bundle


def shows_math(model: Model) -> bool:
    """Whether ``model`` is a Panel HTML model that would render TeX in its text now."""
    return (isinstance(model, PanelHTML) and not model.disable_math
            and contains_tex_string(model.text))  # fmt: skip


def write_to_open_sockets() -> None:
    """Make Panel's websocket writes safe against a page that closes mid-message.

    Panel writes each message in several websocket writes. When the browser
    has just gone, the first write fails later and the next raises at once:
    the message is lost either way, but the raise skipped the handling of the
    first, and every closed page logged ``Task exception was never retrieved
    ... WebSocketClosedError``. Idempotent.
    """
    panel.io.document.dispatch_tornado = dispatch_to_open_socket


def dispatch_to_open_socket(conn, events=None, msg=None) -> Sequence:
    """Panel's ``dispatch_tornado``: write ``msg`` (or a PATCH-DOC of ``events``)
    to ``conn``'s websocket; nothing, and no error, once it has closed."""
    from tornado.websocket import WebSocketClosedError, WebSocketHandler

    socket = conn._socket
    websocket = getattr(socket, "ws_connection", None)
    if not websocket or websocket.is_closing():
        return []
    if msg is None:
        if not events:
            return []
        msg = conn.protocol.create("PATCH-DOC", events)
    parts = [(msg.header_json, False), (msg.metadata_json, False), (msg.content_json, False)]
    for buffer in msg._buffers:
        parts += [(json.dumps(buffer.ref), False), (buffer.to_bytes(), True)]
    futures = []
    try:
        for part, binary in parts:
            futures.append(WebSocketHandler.write_message(socket, part, binary=binary))
    except WebSocketClosedError:
        for future in futures:  # they fail too: the page has gone
            future.add_done_callback(_retrieve)
        return []
    return futures


def _retrieve(future) -> None:
    if not future.cancelled():
        future.exception()


#: The routes of a Bokeh application's page (``/status``) and of its pages'
#: websockets (``/status/ws``), after the application's own path.
PAGE_ROUTE = r"/?"
SOCKET_ROUTE = r"/ws"


def serve_route_with(route: str, handler: type) -> None:
    """Make ``handler`` (a subclass of Panel's handler of ``route``) answer
    ``route`` of every application of every server created from now on.
    Idempotent."""
    patterns = bokeh.server.urls.per_app_patterns
    for i, (pattern, current) in enumerate(patterns):
        if pattern == route:
            if current is not handler:
                patterns[i] = (route, handler)
            return
    raise RuntimeError(f"Bokeh has no application route {route!r}: {patterns!r}")


def give_session_to(session: ServerSession, handler: DocHandler) -> None:
    """Make over ``session`` (built for another request) to ``handler``'s request:
    a new token, carrying this request's headers, cookies and arguments and
    a fresh expiry, and the request Panel reads through ``pn.state``."""
    app = handler.application
    payload = handler._generate_token_payload()
    token = generate_jwt_token(session.id, secret_key=app.secret_key, signed=app.sign_sessions,
                               expiration=app.session_token_expiration,
                               extra_payload=payload)  # fmt: skip
    session._token = token
    context = session.document.session_context
    context._token = token
    context._request = _RequestProxy(
        handler.request, arguments=payload["arguments"], cookies=payload["cookies"],
        headers=payload["headers"],
    )  # fmt: skip


def documents_of(view: Viewable) -> set[Document]:
    """The documents ``view`` has been rendered into (pages, notebook cells)."""
    return {model.document for model, _parent in view._models.values()} - {None}

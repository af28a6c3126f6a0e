"""The private Panel/Bokeh/HoloViews attributes dashkit reads (dashkit/components/compat.py).

Each test fails loudly when a new version moves what it relies on.
"""

from __future__ import annotations

import holoviews as hv
import panel as pn
from bokeh.document import Document
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
    compat.pin_resource_urls(doc)
    assert "dist_url" not in doc._template_variables  # no session: nothing to pin
    doc._session_context = lambda: BokehSessionContext("a-session", None, doc)
    compat.pin_resource_urls(doc)
    assert doc._template_variables["dist_url"] == get_dist_path()  # the server's own static

"""Every use of a private Panel, Bokeh or HoloViews attribute, in one place.

dashkit's live path needs three things those libraries do not expose
publicly; each is read here and nowhere else, and ``tests/test_compat.py``
fails loudly when a new version moves one:

* the HoloViews plots a ``pn.pane.HoloViews`` rendered (``pane._plots``), to
  update their Bokeh models directly instead of re-rendering;
* whether a server session still has a browser connected
  (``BokehSessionContext._session.connection_count``);
* the document's template variables, to pin ``dist_url`` before models are
  built (``Document._template_variables``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import panel as pn
from panel.io.resources import get_dist_path

if TYPE_CHECKING:
    from bokeh.document import Document


def rendered_plots(pane: pn.pane.HoloViews) -> list:
    """The HoloViews plots ``pane`` has rendered (one per root it was shown in)."""
    return [plot for plot, _child in pane._plots.values()]


def browser_connected(doc: Document | None) -> bool:
    """False in a server session whose browser has gone.

    Such a session lives on until the server's unused-session check discards
    it; redrawing for nobody only delays that.
    """
    context = doc.session_context if doc is not None else None
    session = getattr(context, "_session", None)  # Bokeh's ServerSession, server only
    return session is None or session.connection_count > 0


def pin_resource_urls(doc: Document | None) -> None:
    """Give a server session's document its resource URLs before any model is built.

    Panel resolves each stylesheet against the document's ``dist_url``, which
    it only sets when it writes the page; models built before that get CDN
    URLs, and it patches back only those it reaches from the roots at that
    moment. On a busy server some were missed and pages asked the CDN for
    their CSS, which fails offline. With ``dist_url`` set first, nothing points
    there unless the server was told to use the CDN.
    """
    if doc is not None and doc.session_context is not None:
        doc._template_variables.setdefault("dist_url", get_dist_path())

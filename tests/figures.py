"""What makes a plot look the way it does, read from a Bokeh document, for
comparing the same plot drawn on a page, in a notebook cell and in a file."""

from __future__ import annotations

import html
import json
import re
from concurrent.futures import ThreadPoolExecutor

from bokeh.client import pull_session
from bokeh.document import Document
from bokeh.models import GlyphRenderer, HoverTool, Plot

#: Glyph properties that decide how a plot looks (not its data).
GLYPH_STYLE = (
    "fill_color", "fill_alpha", "line_color", "line_alpha", "line_width", "line_dash",
    "hatch_pattern", "hatch_color", "hatch_alpha", "text_align", "text_font_size",
    "text_color",
)  # fmt: skip


def _plain(value):
    """A property value as comparable data (``field('color')`` -> ``'field:color'``)."""
    if hasattr(value, "field"):
        return f"field:{value.field}"
    if hasattr(value, "value"):
        return _plain(value.value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _axis(axis) -> dict:
    formatter = axis.formatter
    ticker = axis.ticker
    return {
        "visible": axis.visible,
        "label": axis.axis_label,
        "formatter": type(formatter).__name__,
        "format": getattr(formatter, "format", None),
        "ticker": type(ticker).__name__,
        "base": getattr(ticker, "base", None),
        # Which labels depends on the data (workers, prefixes seen so far); that
        # the axis names its ticks does not.
        "labelled": bool(axis.major_label_overrides),
    }


def look(figure: Plot) -> dict:
    """Everything about ``figure`` a reader sees apart from its data and size."""
    glyphs = [
        {"glyph": type(r.glyph).__name__,
         **{p: _plain(getattr(r.glyph, p)) for p in GLYPH_STYLE if hasattr(r.glyph, p)}}
        for r in figure.renderers if isinstance(r, GlyphRenderer)
    ]  # fmt: skip
    for glyph in glyphs:
        # How wide the task stream's outline is depends on its lanes (the data);
        # that it has one does not.
        if glyph["glyph"] == "Quad" and isinstance(glyph.get("line_width"), float | int):
            glyph["line_width"] = "outlined" if glyph["line_width"] > 0 else 0
    hovers = [t.tooltips for t in figure.toolbar.tools if isinstance(t, HoverTool)]
    return {
        "title_visible": figure.title.visible,
        "toolbar": (figure.toolbar_location, figure.toolbar_inner, figure.toolbar.autohide),
        "tools": sorted(type(t).__name__ for t in figure.toolbar.tools),
        "hover": hovers,
        "background": (figure.background_fill_color, figure.border_fill_color),
        "min_border_left": figure.min_border_left,
        "output_backend": figure.output_backend,
        "x": [_axis(a) for a in figure.xaxis],
        "y": [_axis(a) for a in figure.yaxis],
        "glyphs": glyphs,
    }


def dashkit_figures(doc: Document) -> dict[str, Plot]:
    """The dashkit plots of ``doc`` by name (``dashkit-<component type>``); a
    name held by several plots (one layout, several feeds) keeps the first."""
    figures: dict[str, Plot] = {}
    for figure in doc.select({"type": Plot}):
        if (figure.name or "").startswith("dashkit-"):
            figures.setdefault(figure.name, figure)
    return figures


def file_document(page: str) -> Document:
    """The Bokeh document written into an exported HTML page."""
    found = re.search(r'<script type="application/json" id="[^"]+">\s*(.*?)\s*</script>',
                      page, re.S)  # fmt: skip
    assert found, "no document in the file"
    # Bokeh escapes the JSON for the page; BokehJS unescapes it before parsing.
    (doc_json,) = json.loads(html.unescape(found.group(1))).values()
    return Document.from_json(doc_json)


def pulled(url: str) -> Document:
    """The document of a new session of ``url``, pulled over its websocket as a
    browser pulls it. On a thread of its own: Bokeh's client runs an event
    loop, and a test's thread may be running one already (Playwright's)."""

    def pull() -> Document:
        with pull_session(url=url) as session:
            return session.document

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(pull).result(timeout=120)

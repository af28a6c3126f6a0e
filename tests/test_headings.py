"""On a page each plot's title is a line above it: cut to the width with the
whole of it on hover, escaped, updated live; a file shows the same line."""

from __future__ import annotations

import html

import panel as pn
from bokeh.document import Document
from panel.models import HTML

from dashkit import theme
from dashkit.components import ClusterMemory, TaskProcessing, TaskStream
from dashkit.components.live import LiveHTML
from dashkit.components.refresh import SessionRefresh
from dashkit.feed import Feed
from dashkit.sources import SyntheticSource


def shown(*components) -> Document:
    doc = Document()
    for component in components:
        doc.add_root(pn.panel(component).get_root(doc))
    return doc


def headings(doc: Document) -> list[str]:
    # The model's text is encoded once more; the browser decodes it (LiveHTML).
    return [html.unescape(m.text) for m in doc.models
            if isinstance(m, HTML) and "dashkit-heading" in m.css_classes]  # fmt: skip


def test_the_title_is_a_line_cut_to_the_width_whole_on_hover_and_updated_live():
    feed = Feed(SyntheticSource(n_workers=3, seed=4, start_time=0.0))
    feed.poll()
    processing = TaskProcessing(feed=feed)
    doc = shown(processing, TaskStream(feed=feed))
    stream, first = sorted(headings(doc), key=lambda text: "Task stream" not in text)
    title = processing.frame().title
    assert f'title="{title}"' in first and f">{title}</div>" in first
    assert "text-overflow:ellipsis" in first and "white-space:nowrap" in first
    assert ">Task stream</div>" in stream
    figure = next(p.state for p in (lp.plot for lp in processing.live_plots()))
    # The plot keeps no row for a title or a toolbar of its own.
    assert not figure.title.visible and figure.toolbar_inner and figure.toolbar.autohide
    for _ in range(10):
        feed.poll()
        SessionRefresh.redraw([processing])
        if processing.frame().title != title:
            break
    assert processing.frame().title != title, "the synthetic cluster changed nothing"
    assert any(processing.frame().title in text for text in headings(doc))


def test_a_title_with_markup_is_text():
    feed = Feed(SyntheticSource(n_workers=2, seed=1))
    feed.poll()
    doc = shown(ClusterMemory(feed=feed, title='<img src=x onerror="alert(1)">'))
    (heading,) = headings(doc)
    assert "<img" not in heading and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in heading


def test_a_file_shows_the_title_line_the_page_shows():
    feed = Feed(SyntheticSource(n_workers=2, seed=1))
    feed.poll()
    memory = ClusterMemory(feed=feed)
    (page_heading,) = headings(shown(memory))
    heading, figure = memory.export_model().children
    assert heading.text == page_heading and "Bytes stored" in heading.text
    assert not figure.title.visible and figure.toolbar_inner and figure.toolbar.autohide


def test_a_live_line_is_encoded_for_the_browser_to_decode_once_and_runs_no_script():
    markup = theme.heading_html('<script>alert("key")</script>')
    line = LiveHTML(markup)
    # Panel's model shows html_decode(text): the markup, whose escaped key stays text.
    assert html.unescape(line.model.text) == markup and "<script>" not in markup
    assert not line.model.run_scripts and line.model.disable_math
    doc = Document()
    doc.add_root(line.model)
    events: list = []
    doc.on_change(events.append)
    line.set(markup)
    assert not events, "the same line again sends nothing"
    line.set(theme.heading_html("4 workers"))
    assert len(events) == 1 and html.unescape(line.model.text) == line.html

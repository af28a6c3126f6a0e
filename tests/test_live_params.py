"""Parameters are live: setting one on a component that is shown changes what its
page or notebook cell draws; parameters that cannot change say so; a spec
naming a parameter a component does not have is refused with the valid ones."""

from __future__ import annotations

import html

import panel as pn
import pytest
from bokeh.document import Document

from dashkit import theme
from dashkit.components import Component, Plot, Progress, TaskStream, Widget, WorkerMemory
from dashkit.feed import Feed
from dashkit.layouts import Layout, LayoutSpecError
from dashkit.sources import ReplaySource, SyntheticSource
from tests.test_replay import synthetic_recording

DARK = theme.PALETTES["dark"]


@pytest.fixture(scope="module")
def feeds(tmp_path_factory):
    """A synthetic feed, and a replay feed for the replay control."""
    feed = Feed(SyntheticSource(seed=1, n_workers=4, start_time=0.0))
    for _ in range(3):
        feed.poll()
    path = tmp_path_factory.mktemp("live-params") / "run.dkrec"
    synthetic_recording(path, snapshots=10)
    replay = Feed(ReplaySource(path=str(path), playing=False))
    replay.poll()
    return feed, replay


def cell(component: Component) -> Document:
    """A notebook cell's document holding ``component``."""
    doc = Document()
    doc.add_root(pn.panel(component).get_root(doc))
    return doc


def figure_of(doc: Document, component: Plot):
    return doc.select_one({"name": f"dashkit-{component.component_type}"})


def shown(component_type: str, feeds) -> tuple[Component, Document]:
    feed, replay = feeds
    cls = Component.lookup(component_type)
    component = cls(feed=replay if component_type == "replay_control" else feed)
    return component, cell(component)


def widget_text(component: Widget) -> str:
    """What a widget shows as text, decoded as the browser decodes it."""
    doc = component.pane.get_root(Document())
    return html.unescape(" ".join(str(getattr(m, "text", "")) + str(getattr(m, "styles", ""))
                                  for m in doc.select({})))  # fmt: skip


@pytest.mark.parametrize("component_type", sorted(Component.types()))
def test_theme_and_height_restyle_what_is_shown(component_type, feeds):
    component, doc = shown(component_type, feeds)
    component.height = 333
    component.theme = "dark"
    assert component.pane.height == 333
    if isinstance(component, Plot):
        figure = figure_of(doc, component)
        assert figure.background_fill_color == DARK.background
        assert figure.border_fill_color == DARK.background
        assert {a.major_label_text_color for a in (*figure.xaxis, *figure.yaxis)} <= {DARK.text}
    else:
        assert DARK.text in widget_text(component)


@pytest.mark.parametrize("component_type",
                         sorted(t for t, c in Component.types().items() if issubclass(c, Plot)))
def test_width_fixes_a_plots_width_and_none_stretches_it_again(component_type, feeds):
    component, doc = shown(component_type, feeds)
    component.width = 444
    figure = figure_of(doc, component)
    assert (figure.width, component.pane.sizing_mode) == (444, "fixed")
    component.width = None
    assert component.pane.sizing_mode == "stretch_width"
    assert figure_of(doc, component).sizing_mode == "stretch_width"


def test_a_changed_title_is_the_line_above_the_plot_at_once(feeds):
    component, doc = shown("cpu", feeds)
    component.title = "Busy cores"
    assert any("Busy cores" in html.unescape(getattr(m, "text", "") or "")
               for m in doc.select({"css_classes": ["dashkit-heading"]}))  # fmt: skip


def test_frame_parameters_redraw_at_once(feeds):
    feed, _ = feeds
    memory = WorkerMemory(feed=feed)
    doc = cell(memory)
    assert figure_of(doc, memory).title.text.startswith("Memory per worker (4 workers)")
    memory.mode = "histogram"
    assert "over 60% of their limit" in figure_of(doc, memory).title.text

    progress = Progress(feed=feed)
    doc = cell(progress)
    figure = figure_of(doc, progress)
    prefixes = len(figure.yaxis[0].ticker.ticks)
    assert prefixes > 2
    progress.max_prefixes = 2
    # Two prefixes and "other": three bars, named on the axis.
    assert len(figure_of(doc, progress).yaxis[0].ticker.ticks) == 3


def test_the_task_streams_window_follows_at_once(feeds):
    feed, _ = feeds
    stream = TaskStream(feed=feed, window=1.0)
    doc = cell(stream)
    stream.update()
    figure = figure_of(doc, stream)
    assert figure.x_range.end - figure.x_range.start == pytest.approx(1.0)
    stream.window = 0.5
    assert figure.x_range.end - figure.x_range.start == pytest.approx(0.5)
    assert list(stream._span.options) == ["Last 0.5 s", "Whole run"]


def test_the_feed_cannot_change_after_construction(feeds):
    feed, _ = feeds
    memory = WorkerMemory(feed=feed)
    with pytest.raises(TypeError, match="Constant parameter .feed."):
        memory.feed = Feed(SyntheticSource(seed=2))


@pytest.mark.parametrize("component_type,plot_only", [("feed_status", "output_backend"),
                                                       ("task_details", "min_width"),
                                                       ("feed_status", "width")])  # fmt: skip
def test_a_spec_naming_a_parameter_a_widget_lacks_is_refused_with_the_valid_ones(
    component_type, plot_only
):
    spec = {"source": {"type": "synthetic", "seed": 1},
            "columns": [{"cells": [{"type": component_type, plot_only: 1}]}]}  # fmt: skip
    with pytest.raises(LayoutSpecError) as refused:
        Layout.from_spec(spec)
    message = str(refused.value)
    assert plot_only in message and "height" in message and "theme" in message

"""Live updates, headless: frames computed once per poll, sent straight into Bokeh models."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import panel as pn
import pytest
from bokeh.document import Document
from bokeh.document.events import (
    ColumnDataChangedEvent,
    ColumnsPatchedEvent,
    ColumnsStreamedEvent,
    ModelChangedEvent,
)
from bokeh.events import RangesUpdate
from bokeh.models import GlyphRenderer

from dashkit.columns import TextArray
from dashkit.components import (
    ClusterMemory,
    CPUUtilization,
    FeedStatus,
    Occupancy,
    Progress,
    TaskProcessing,
    TaskStream,
    WorkerMemory,
)  # fmt: skip
from dashkit.components.pacing import BUDGET, ROUNDS_JUDGED, Pacer
from dashkit.components.refresh import SessionRefresh
from dashkit.components.task_stream import HISTORY, RECENT
from dashkit.feed import Feed
from dashkit.sources import SyntheticSource
from dashkit.task_picture import TaskPicture
from dashkit.theme import CLASS_COLORS
from tests.conftest import packed

#: The properties a live update may change, besides data sources.
LIVE_PROPERTIES = {
    ("Title", "text"), ("Range1d", "start"), ("Range1d", "end"), ("FixedTicker", "ticks"),
    ("LinearAxis", "major_label_overrides"), ("Span", "location"),
    ("CustomJSHover", "args"),  # the task stream's hover names, when new ones appear
    ("Quad", "line_width"),  # the task stream's outline, narrower as lanes are added
}  # fmt: skip


def busy_feed(n_workers: int = 20) -> Feed:
    """A synthetic cluster where every value changes every poll, workers come and go."""
    feed = Feed(SyntheticSource(n_workers=n_workers, seed=7, start_time=0.0, n_prefixes=12,
                                churn=0.3, history_rows=3_000))  # fmt: skip
    feed.poll()
    return feed


def status_components(feed: Feed) -> list:
    return [ClusterMemory(feed=feed), WorkerMemory(feed=feed), TaskProcessing(feed=feed),
            CPUUtilization(feed=feed), Occupancy(feed=feed), Progress(feed=feed),
            FeedStatus(feed=feed), TaskStream(feed=feed, dense_threshold=1_000,
                                               raster_period=0)]  # fmt: skip


def page(feed: Feed) -> tuple[Document, list]:
    """A headless page: the status components rendered into one document."""
    doc = Document()
    components = status_components(feed)
    for component in components:
        doc.add_root(pn.panel(component).get_root(doc))
    return doc, components


def test_a_live_update_makes_no_model_and_sends_only_data_and_named_properties():
    feed = busy_feed()
    doc, components = page(feed)
    SessionRefresh.redraw(components)  # the first redraw after render may set up ticks
    models = len(doc.models)
    events: list = []
    doc.on_change(events.append)
    for _ in range(20):
        feed.poll()
        SessionRefresh.redraw(components)
        assert len(doc.models) == models
    data = (ColumnDataChangedEvent, ColumnsStreamedEvent, ColumnsPatchedEvent)
    changed = {(type(e.model).__name__, e.attr) for e in events if isinstance(e, ModelChangedEvent)}
    assert changed <= LIVE_PROPERTIES | {("HTML", "text")}, changed - LIVE_PROPERTIES
    assert all(isinstance(e, (*data, ModelChangedEvent)) for e in events), {
        type(e).__name__ for e in events}  # fmt: skip
    streamed = [e for e in events if isinstance(e, ColumnsStreamedEvent)]
    assert streamed, "the task stream sends its new rows as a stream"
    assert components[-1].dense  # and its history image was re-aggregated live
    assert any(isinstance(e, ColumnDataChangedEvent) and "image" in e.model.data for e in events)


def test_three_pages_on_one_feed_compute_each_frame_once_per_poll():
    feed = busy_feed()
    pages = [page(feed)[1] for _ in range(3)]
    before = dict(feed.frames.derivations)
    history_before = TaskPicture.of(feed.history).computations
    polls = 5
    for _ in range(polls):
        feed.poll()
        for components in pages:
            SessionRefresh.redraw(components)
    computed = {k: feed.frames.derivations[k] - before.get(k, 0) for k in feed.frames.derivations}
    kinds = {key[0] for key in computed}
    assert kinds >= {"ClusterMemory", "WorkerMemory", "TaskProcessing", "CPUUtilization",
                     "Occupancy", "Progress", "FeedStatus"}  # fmt: skip
    assert set(computed.values()) == {polls}, computed
    history = TaskPicture.of(feed.history).computations - history_before
    # One window of new rows and at most one image per poll, whatever the pages.
    assert history["quads"] <= polls and history["image"] <= polls, history


def test_each_page_draws_the_shared_frame():
    feed = busy_feed()
    (_, a), (_, b) = page(feed), page(feed)
    for _ in range(3):
        feed.poll()
        SessionRefresh.redraw(a)
        SessionRefresh.redraw(b)
    for one, other in zip(a, b, strict=True):
        if isinstance(one, FeedStatus):
            assert one.html == other.html
            continue
        drawn = [plot_data(one), plot_data(other)]
        assert drawn[0].keys() == drawn[1].keys()
        for key in drawn[0]:
            assert np.array_equal(drawn[0][key], drawn[1][key]), (type(one).__name__, key)
    memory = next(c for c in a if isinstance(c, WorkerMemory))
    frame = memory.frame()
    assert np.array_equal(plot_data(memory)["right"], frame.layers[0]["right"])
    assert memory.live_plots()[0].figure.title.text == frame.title


def plot_data(component) -> dict:
    """The columns of the component's largest quads, as its page holds them."""
    figure = component.live_plots()[0].figure
    quads = [r.data_source.data for r in figure.select({"type": GlyphRenderer})
             if type(r.glyph).__name__ == "Quad"]  # fmt: skip
    # Short numeric columns are sent (and held) as lists.
    return {k: np.asarray(v) for k, v in max(quads, key=lambda d: len(d["left"])).items()}


@pytest.mark.parametrize("switch", ["histogram", "bars"])
def test_user_options_survive_updates_and_mode_switches(switch):
    feed = busy_feed(n_workers=30)
    memory = WorkerMemory(feed=feed, mode="bars" if switch == "histogram" else "histogram")
    memory.element.opts(xlabel="held", bgcolor="#fafad2")
    doc = Document()
    doc.add_root(pn.panel(memory).get_root(doc))
    figure = memory.live_plots()[0].figure
    assert figure.xaxis[0].axis_label == "held" and figure.background_fill_color == "#fafad2"
    memory.mode = switch
    for _ in range(3):
        feed.poll()
        memory.update()
    assert memory.live_plots()[0].figure is figure  # the same plot, not a new one
    assert figure.xaxis[0].axis_label == "held" and figure.background_fill_color == "#fafad2"
    drawn = plot_data(memory)
    if switch == "histogram":
        assert drawn["top"].sum() == len(feed.workers) and len(drawn["top"]) == memory.bins
        assert figure.title.text.startswith("Memory per worker: 30 workers")
    else:
        managed = drawn["segment"] == "managed"
        assert set(drawn["worker"][managed]) <= set(feed.workers["address"])
        assert figure.title.text == "Memory per worker (30 workers)"


def test_a_composed_element_still_updates_through_holoviews():
    import holoviews as hv

    feed = busy_feed()
    progress = Progress(feed=feed)
    composed = progress.element * hv.HLine(0)
    plot = hv.renderer("bokeh").get_plot(composed)
    title = plot.state.title.text
    for _ in range(5):
        feed.poll()
        progress.update()
    assert plot.state.title.text != title  # nothing of ours rendered it: HoloViews redrew
    assert plot.state.title.text == progress.frame().title


def test_following_shows_the_last_window_seconds_and_the_whole_run_on_request():
    feed = busy_feed()  # 3,000 rows of history: seconds of a synthetic run
    stream = TaskStream(feed=feed, window=5.0)
    doc = Document()
    doc.add_root(pn.panel(stream).get_root(doc))
    run = feed.history.extent(feed.history.oldest, feed.history.total)
    assert run[1] - run[0] > 10, run

    SessionRefresh.redraw([stream])
    (plot,) = stream.live_plots()
    x_range = plot.figure.x_range
    assert x_range.end == pytest.approx(run[1])
    assert x_range.end - x_range.start == pytest.approx(5.0)

    stream.span = "run"  # what the "Whole run" button sets
    assert (x_range.start, x_range.end) == pytest.approx(run)

    # The user zooms in while the server pushes a followed range to the browser:
    # the zoom's event, arriving after that push, brings the chosen range back.
    x_range.start, x_range.end = 5.0, 6.0
    x_range.start, x_range.end = run
    y_range = plot.figure.y_range
    stream._keep_range(RangesUpdate(plot.figure, x0=5.0, x1=6.0, y0=y_range.start,
                                         y1=y_range.end))  # fmt: skip
    assert (x_range.start, x_range.end) == (5.0, 6.0)
    feed.poll()
    SessionRefresh.redraw([stream])
    assert (x_range.start, x_range.end) == (5.0, 6.0)
    stream.span = "window"  # choosing a span follows again
    assert x_range.end - x_range.start == pytest.approx(5.0)


def test_the_history_image_is_drawn_for_the_range_in_view_whoever_redraws_it():
    feed = busy_feed()  # no poll after this: an idle run, no new rows
    stream = TaskStream(feed=feed, window=5.0, dense_threshold=1_000, raster_period=0)
    doc = Document()
    doc.add_root(pn.panel(stream).get_root(doc))
    SessionRefresh.redraw([stream])
    (plot,) = stream.live_plots()
    image = plot.source(HISTORY)
    oldest = feed.history.extent(feed.history.oldest, feed.history.total)[0]

    stream.span = "run"  # a new range, no new rows: the image follows the range
    assert image.data["x"][0] == pytest.approx(oldest)
    drawn = image.data["image"][0].shape

    # HoloViews' range stream still holds a range the server has moved on from
    # (it hears only of the browser's moves); its redraw must not bring it back.
    stream._range.event(x_range=(oldest + 5.0, oldest + 30.0), y_range=(-0.5, 3.5))
    assert image.data["x"][0] == pytest.approx(oldest)
    assert image.data["image"][0].shape == drawn


def test_a_component_in_an_inactive_tab_costs_nothing_until_shown(monkeypatch):
    feed = busy_feed()
    shown, hidden = TaskProcessing(feed=feed), CPUUtilization(feed=feed)
    tabs = pn.Tabs(("Processing", shown), ("CPU", hidden), dynamic=True)  # as layouts make them
    doc = Document()
    doc.add_root(tabs.get_root(doc))
    events = []
    monkeypatch.setattr(hidden._pipe, "event", lambda **kw: events.append(kw))
    for _ in range(3):
        feed.poll()
        SessionRefresh.redraw([shown, hidden])
    # Not even HoloViews' stream machinery runs for a plot no page shows.
    assert hidden.live_plots() == [] and events == []
    tabs.active = 1
    (plot,) = hidden.live_plots()  # drawn when shown, from the newest poll
    assert plot.figure.title.text == hidden.frame().title


def test_plots_draw_on_a_canvas_and_stream_colours_as_packed_rgba():
    feed = busy_feed()
    doc, components = page(feed)
    backends = {type(c).__name__: c.live_plots()[0].figure.output_backend
                for c in components if not isinstance(c, FeedStatus)}  # fmt: skip
    assert "TaskStream" in backends and set(backends.values()) == {"canvas"}, backends
    events: list = []
    doc.on_change(events.append)
    for _ in range(3):
        feed.poll()
        SessionRefresh.redraw(components)
    streamed = [e.data["color"] for e in events
                if isinstance(e, ColumnsStreamedEvent) and "color" in e.data]  # fmt: skip
    assert streamed, "the task stream streamed new rows"
    sent = np.concatenate([np.asarray(c) for c in streamed])
    # 0xRRGGBBAA, opaque; the browser takes them as they are instead of parsing text.
    assert sent.dtype.kind in "iu" and set(sent.tolist()) <= {packed(c) for c in CLASS_COLORS}
    canvas = TaskStream(feed=feed, output_backend="canvas")
    assert hv.renderer("bokeh").get_plot(canvas.element).state.output_backend == "canvas"


def test_rows_replaced_whole_send_their_text_as_one_list_and_hover_codes_as_numbers():
    feed = busy_feed()
    stream = TaskStream(feed=feed, dense_threshold=20, raster_period=0)
    Document().add_root(pn.panel(stream).get_root())
    for _ in range(2):  # each poll brings more rows than the 20 kept: replaced, not streamed
        feed.poll()
        SessionRefresh.redraw([stream])
    source = stream.live_plots()[0].source(RECENT)
    assert len(source.data["key"]) == 20
    # Element by element, Bokeh's encoder took most of a 1,000-worker page's update.
    assert isinstance(source.data["key"], TextArray)
    assert all(np.asarray(source.data[k]).dtype.kind in "iuf"
               for k in ("prefix", "action", "duration", "pair"))  # fmt: skip


def test_one_slow_round_does_not_stall_a_page_and_slow_rounds_are_still_paced():
    pacer = Pacer()
    quick = [pacer.wait(0.01, sessions=5) for _ in range(ROUNDS_JUDGED)]
    assert quick[-1] == pytest.approx(0.01 * 5 / BUDGET)
    # A garbage collection, a first image: one round of seconds.
    assert pacer.wait(9.0, sessions=5) == pytest.approx(0.01 * 5 / BUDGET)
    # Rounds that stay slow are paced by what they cost: the budget holds.
    waits = [pacer.wait(0.2, sessions=5) for _ in range(ROUNDS_JUDGED)]
    assert waits[-1] == pytest.approx(0.2 * 5 / BUDGET)
    # A page's first round is not held back by what others cost.
    assert Pacer().wait(9.0, sessions=5) == 0.0

"""The task stream's hover: rectangles carry codes and numbers, each page names
them with lists it is sent once and again only when new names appear, and one
hover tool covers the rectangles of every layer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import panel as pn
from bokeh.document import Document
from bokeh.document.events import ModelChangedEvent
from bokeh.models import CustomJSHover, GlyphRenderer, Quad

from dashkit.components import TaskStream
from dashkit.components.refresh import SessionRefresh
from dashkit.components.task_hover import CELL_RENDERER, NAMED_FIELDS, hover_tool
from dashkit.components.task_stream import HOVER, RECENT
from dashkit.feed import Feed
from dashkit.sources import SyntheticSource
from dashkit.task_picture import HoverNames, TaskPicture


def churning_feed() -> Feed:
    """Workers come and go and new prefixes start: names keep appearing."""
    feed = Feed(SyntheticSource(n_workers=6, seed=11, start_time=0.0, n_prefixes=12,
                                churn=0.5, history_rows=500))  # fmt: skip
    feed.poll()
    return feed


def shown(stream: TaskStream) -> Document:
    doc = Document()
    doc.add_root(pn.panel(stream).get_root(doc))
    return doc


def page_names(stream: TaskStream) -> HoverNames:
    """The names the page was sent, as its formatter holds them."""
    tool = hover_tool(stream.live_plots()[0].figure)
    lookups = tool.formatters["@{pair}"].args["names"]
    return HoverNames.from_lookups(lookups)


def hover_text(stream: TaskStream, layer: int = RECENT) -> pd.DataFrame:
    """What the page's tooltip says of each rectangle of ``layer``."""
    data = {k: np.asarray(v) for k, v in stream.live_plots()[0].source(layer).data.items()}
    return pd.DataFrame({"key": data["key"], "left": data["left"], "seconds": data["duration"],
                         **page_names(stream).decode(data)})  # fmt: skip


def truth(feed: Feed) -> pd.DataFrame:
    """Each task-stream row the feed holds, by key and start, as text."""
    rows = feed.tasks.frame()
    return pd.DataFrame({
        "key": rows["key"].astype(str), "left": rows["start"] - feed.history.origin,
        "prefix": rows["prefix"].astype(str), "action": rows["action"].astype(str),
        "worker": rows["worker"].astype(str), "thread": rows["thread"].astype(str),
        "seconds": rows["stop"] - rows["start"],
    })  # fmt: skip


def assert_named_right(stream: TaskStream, feed: Feed, layer: int = RECENT) -> int:
    """Every rectangle of ``layer`` names its task's prefix, action, worker,
    thread and duration; returns how many there are."""
    drawn = hover_text(stream, layer)
    merged = drawn.merge(truth(feed), on=["key", "left"], suffixes=("", "_true"), how="left")
    assert merged["prefix_true"].notna().all(), "every rectangle is a row of the feed"
    for column in ("prefix", "action", "worker", "thread"):
        assert (merged[column] == merged[f"{column}_true"]).all(), column
    np.testing.assert_allclose(merged["seconds"], merged["seconds_true"], rtol=1e-6, atol=1e-9)
    return len(drawn)


def test_rectangles_carry_codes_the_page_names_as_the_feed_does():
    feed = churning_feed()
    stream = TaskStream(feed=feed, dense_threshold=300, raster_period=0)
    shown(stream)
    data = stream.live_plots()[0].source(RECENT).data
    assert {np.asarray(data[k]).dtype.kind for k in ("prefix", "action", "pair")} <= {"i", "u"}
    # In full: the tooltip says what the card of a task clicked says, to the digit.
    assert np.asarray(data["duration"]).dtype == np.float64
    assert assert_named_right(stream, feed) > 0


def test_new_workers_and_prefixes_are_named_live_and_names_are_sent_only_when_new():
    feed = churning_feed()
    stream = TaskStream(feed=feed, dense_threshold=300, raster_period=0)
    doc = shown(stream)
    events: list = []
    doc.on_change(events.append)
    sent = {TaskPicture.of(feed.history).names()}
    for _ in range(15):
        feed.poll()
        SessionRefresh.redraw([stream])
        sent.add(TaskPicture.of(feed.history).names())
        assert_named_right(stream, feed)
    workers = set(page_names(stream).worker)
    assert len(workers) > 6, "workers came during the test"
    args = [e for e in events if isinstance(e, ModelChangedEvent) and e.attr == "args"]
    assert 0 < len(args) <= len(sent) - 1  # once per change of the names, at most
    events.clear()
    SessionRefresh.redraw([stream])  # nothing new: nothing sent
    assert not [e for e in events if isinstance(e, ModelChangedEvent) and e.attr == "args"]


def test_each_page_names_codes_with_its_own_formatter():
    feed = churning_feed()
    streams = [TaskStream(feed=feed), TaskStream(feed=feed)]
    docs = [shown(stream) for stream in streams]
    formatters = [hover_tool(s.live_plots()[0].figure).formatters for s in streams]
    for doc, named in zip(docs, formatters, strict=True):
        assert set(named) == set(NAMED_FIELDS)
        (formatter,) = set(named.values())  # one model names every field
        assert isinstance(formatter, CustomJSHover) and formatter.document is doc
    assert formatters[0]["@{pair}"] is not formatters[1]["@{pair}"]


def test_one_hover_tool_covers_the_rectangles_over_old_history():
    feed = Feed(SyntheticSource(n_workers=3, seed=4, start_time=0.0, history_rows=2_000))
    feed.poll()
    stream = TaskStream(feed=feed, dense_threshold=200, hover_limit=3_000, raster_period=0)
    shown(stream)
    plot = stream.live_plots()[0]
    # Zoomed into the old history (drawn as an image), the hover layer holds its rows.
    history = feed.history
    lo, hi = history.extent(history.oldest, history.total - stream.dense_threshold)
    stream._stop_following(None)
    plot.set_range(plot.figure.x_range, (lo, (lo + hi) / 2))
    stream._range.event(x_range=(lo, (lo + hi) / 2), y_range=(-0.5, history.n_lanes - 0.5))
    assert assert_named_right(stream, feed, HOVER) > 0
    quads = [r for r in plot.figure.renderers
             if isinstance(r, GlyphRenderer) and isinstance(r.glyph, Quad)]  # fmt: skip
    cells = [r for r in quads if r.name == CELL_RENDERER]
    hovers = [t for t in plot.figure.tools if type(t).__name__ == "HoverTool"]
    tools = [t for t in hovers if t.name != CELL_RENDERER]
    assert len(tools) == 1 and set(tools[0].renderers) == set(quads) - set(cells)
    # the image's cells have a tool of their own, over them alone
    assert len(cells) == 1 and [t.renderers for t in hovers if t.name == CELL_RENDERER] == [cells]
    assert plot.source(HOVER) in {r.data_source for r in tools[0].renderers}


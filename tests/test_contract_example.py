"""The worked example of docs/components.md, run as written: a plot made only
through the component contract is registered, usable in a spec, served, shown
in a notebook cell, exported and replayed."""

from __future__ import annotations

import re
import types

import numpy as np
import pytest
from bokeh.document import Document

from dashkit.components import Component, Plot
from dashkit.export import render_html
from dashkit.feed import Feed
from dashkit.layouts import Layout
from dashkit.sources import SyntheticSource
from tests.conftest import ROOT, serve_in_thread, wait_for
from tests.figures import file_document, look, pulled
from tests.helpers import answers
from tests.test_replay import synthetic_recording

NAME = "dashkit-threads_busy"


@pytest.fixture(scope="module")
def example() -> types.ModuleType:
    """The example's code block, run as a module of its own."""
    text = (ROOT / "docs" / "components.md").read_text()
    (code,) = re.findall(r"```python\n(.*?)```", text, re.S)
    module = types.ModuleType("threads_busy_example")
    exec(compile(code, "docs/components.md", "exec"), module.__dict__)
    return module


def spec(source: dict) -> dict:
    return {"title": "Threads", "source": source,
            "columns": [{"cells": [{"type": "threads_busy", "height": 200}]}]}  # fmt: skip


def drawn(figure) -> dict:
    """The bars of a drawn plot: per worker address, the busy threads and all of them."""
    (renderer,) = [r for r in figure.renderers if hasattr(r, "data_source")]
    data = renderer.data_source.data
    bars: dict[str, list[float]] = {}
    for worker, right in zip(data["worker"], data["right"], strict=True):
        bars.setdefault(str(worker), []).append(float(right))
    return {worker: sorted(values) for worker, values in bars.items()}


def expected(feed: Feed) -> dict:
    workers = feed.workers
    threads = workers["nthreads"].to_numpy(float)
    busy = np.minimum(workers["executing"].to_numpy(float), threads)
    return {a: sorted([b, t]) for a, b, t in zip(workers["address"], busy, threads, strict=True)}


def test_the_example_is_registered_and_a_typo_is_told_its_name(example):
    assert Component.lookup("threads_busy") is example.ThreadsBusy
    assert issubclass(example.ThreadsBusy, Plot)
    with pytest.raises(ValueError, match="Did you mean 'threads_busy'"):
        Component.lookup("threads_bussy")


def test_a_spec_places_it_and_a_file_draws_it_from_the_feed(example):
    layout = Layout.from_spec(spec({"type": "synthetic", "seed": 3, "n_workers": 5}))
    try:
        layout.feed.stop()
        layout.feed.poll()
        (plot,) = layout.components()
        assert isinstance(plot, example.ThreadsBusy) and plot.height == 200
        assert layout.to_spec()["columns"][0]["cells"] == spec({})["columns"][0]["cells"]
        doc = file_document(render_html(layout))
        figure = doc.select_one({"name": NAME})
        assert drawn(figure) == expected(layout.feed)
        assert figure.xaxis[0].axis_label == "threads"
    finally:
        layout.feed.stop()


def test_a_notebook_cell_draws_it_as_the_file_does_and_updates_live(example):
    feed = Feed(SyntheticSource(seed=3, n_workers=5))
    feed.poll()
    plot = example.ThreadsBusy(feed=feed)
    doc = Document()
    doc.add_root(plot.__panel__().get_root(doc))
    figure = doc.select_one({"name": NAME})
    assert drawn(figure) == expected(feed)
    layout = Layout.from_spec(spec({"type": "synthetic", "seed": 3, "n_workers": 5}))
    layout.feed.stop()
    layout.feed.poll()
    written = file_document(render_html(layout))
    assert look(figure) == look(written.select_one({"name": NAME}))
    for _ in range(20):  # until some worker's busy threads change
        before = expected(feed)
        feed.poll()
        if expected(feed) != before:
            break
    assert expected(feed) != before, "the synthetic cluster changed nothing"
    plot.update()
    assert drawn(doc.select_one({"name": NAME})) == expected(feed)
    plot.bar_color = "#2ca02c"  # a frame parameter: redrawn at once
    colors = doc.select_one({"name": NAME}).renderers[0].data_source.data["color"]
    assert "#2ca02c" in [str(c) for c in colors] or 0x2CA02CFF in list(colors)


def test_a_served_page_shows_it(example):
    port, server = serve_in_thread(
        {"threads": lambda: Layout.from_spec(
            spec({"type": "synthetic", "seed": 3, "n_workers": 5}))})  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/threads"
        wait_for(lambda: answers(url), timeout=60, what="the page")
        figure = pulled(url).select_one({"name": NAME})
        assert figure is not None
        assert len(drawn(figure)) == 5
        assert figure.yaxis[0].major_label_overrides, "workers named on the axis"
    finally:
        server.stop()


def test_a_replay_shows_what_was_recorded(example, tmp_path):
    path = tmp_path / "run.dkrec"
    recorded = synthetic_recording(path, snapshots=20)
    layout = Layout.from_spec(spec({"type": "replay", "path": str(path), "playing": False}))
    try:
        layout.feed.stop()
        layout.feed.source.seek(layout.feed.source.duration)
        layout.feed.poll()
        figure = file_document(render_html(layout)).select_one({"name": NAME})
        assert drawn(figure) == expected(recorded) == expected(layout.feed)
    finally:
        layout.feed.stop()

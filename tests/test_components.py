"""Components built headlessly: the numbers drawn are the Feed's numbers."""

from __future__ import annotations

import re

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import pytest
from bokeh.document import Document
from bokeh.models import GlyphRenderer

from dashkit import schema, theme
from dashkit.components import (
    ClusterMemory,
    Component,
    CPUUtilization,
    Occupancy,
    Progress,
    TaskProcessing,
    TaskStream,
    WorkerMemory,
)  # fmt: skip
from dashkit.feed import Feed
from dashkit.sources import SyntheticSource
from tests.conftest import StaticSource, packed

GiB = 2**30


def worker(address, process, status="running", **fields):
    managed = fields.pop("managed", process // 2)
    old = fields.pop("unmanaged_old", process // 4)
    return {
        "address": address, "name": address[-1], "status": status, "nthreads": 2,
        "memory_limit": 10 * GiB, "process": process, "managed": managed,
        "unmanaged_old": old, "unmanaged_recent": process - managed - old, **fields,
    }  # fmt: skip


WORKERS = [
    worker("tcp://w:1", 1 * GiB, spilled=GiB // 2, processing=0, idle=True, cpu=10.0),
    worker("tcp://w:2", int(6.5 * GiB), processing=3, occupancy=1.5, cpu=150.0),  # over 0.6
    worker("tcp://w:3", 2 * GiB, status="paused", processing=9, saturated=True, cpu=190.0),
]


def static_feed(**frames) -> Feed:
    feed = Feed(StaticSource.make(**frames))
    feed.poll()
    return feed


def rendered(component) -> list[GlyphRenderer]:
    """The glyph renderers of the component's plot, rendered headlessly."""
    plot = hv.renderer("bokeh").get_plot(component.element)
    return [r for r in plot.state.renderers if isinstance(r, GlyphRenderer)]


def source_data(component) -> dict:
    """Column data of the component's main glyph after rendering headlessly."""
    quads = [r for r in rendered(component) if type(r.glyph).__name__ == "Quad"]
    return dict(max(quads, key=lambda r: len(r.data_source.data["left"])).data_source.data)


def test_worker_memory_bars_are_the_feeds_bytes_and_colours():
    feed = static_feed(workers=WORKERS)
    data = pd.DataFrame(source_data(WorkerMemory(feed=feed)))
    for _, row in feed.workers.iterrows():
        mine = data[data["worker"] == row.address].set_index("segment")
        for segment, alpha in theme.MEMORY_SEGMENTS:
            if row[segment]:
                assert mine.loc[segment, "right"] - mine.loc[segment, "left"] == row[segment]
                assert mine.loc[segment, "alpha"] == alpha
        assert mine["left"].min() == 0 and mine["right"].max() == row.process + row.spilled
        assert list(mine.index) == [s for s, _ in theme.MEMORY_SEGMENTS if row[s]]
    colour = data[data["segment"] == "managed"].set_index("worker")["color"]
    assert colour["tcp://w:1"] == theme.BLUE
    assert colour["tcp://w:2"] == theme.ORANGE  # 65 % of its limit: over min(target, spill)
    assert colour["tcp://w:3"] == theme.RED  # paused
    assert set(data.loc[data["segment"] == "spilled", "color"]) == {theme.GREY}


def test_cluster_memory_is_the_sum_in_the_worst_colour():
    feed = static_feed(workers=WORKERS)
    component = ClusterMemory(feed=feed)
    data = pd.DataFrame(source_data(component)).set_index("segment")
    totals = feed.workers.sum(numeric_only=True)
    for segment, _ in theme.MEMORY_SEGMENTS:
        assert data.loc[segment, "right"] - data.loc[segment, "left"] == totals[segment]
    assert data.loc["managed", "color"] == theme.RED
    plot = hv.renderer("bokeh").get_plot(component.element)
    assert plot.state.title.text == (
        f"Bytes stored: {theme.format_bytes(int(totals['process']))} + "
        f"{theme.format_bytes(int(totals['spilled']))} spilled to disk"
    )
    assert plot.state.x_range.end >= 30 * GiB  # the summed limit is on the axis


def test_worker_memory_switches_to_a_distribution_above_max_bars():
    many = Feed(SyntheticSource(n_workers=1000, seed=1, start_time=0.0))
    many.poll()
    component = WorkerMemory(feed=many)
    assert component.view == "histogram"
    histogram = source_data(component)
    counts = histogram["top"]
    assert counts.sum() == 1000 and len(counts) == component.bins
    # bins of process memory, in bytes, up to the largest of limit and memory
    assert histogram["left"][0] == 0
    assert histogram["right"][-1] == max(many.workers["memory_limit"].max(),
                                         many.workers["process"].max())
    few = Feed(SyntheticSource(n_workers=10, seed=1, start_time=0.0))
    few.poll()
    bars = WorkerMemory(feed=few)
    assert bars.view == "bars"
    assert set(pd.DataFrame(source_data(bars))["worker"]) == set(few.workers["address"])
    assert WorkerMemory(feed=few, mode="histogram").view == "histogram"


@pytest.mark.parametrize(
    ("cls", "column"), [(TaskProcessing, "processing"), (CPUUtilization, "cpu"),
                        (Occupancy, "occupancy")],
)  # fmt: skip
def test_worker_bars_are_the_feeds_values_with_idle_and_saturated_marked(cls, column):
    feed = static_feed(workers=WORKERS)
    data = pd.DataFrame(source_data(cls(feed=feed))).set_index("worker")
    expected = feed.workers.set_index("address")[column]
    assert (data["right"] - data["left"]).to_dict() == expected.astype(float).to_dict()
    assert data.loc["tcp://w:1", "color"] == theme.WORKER_STATE_COLORS["idle"]
    assert data.loc["tcp://w:3", "color"] == theme.WORKER_STATE_COLORS["saturated"]
    assert data.loc["tcp://w:2", "color"] == theme.WORKER_STATE_COLORS["busy"]


def test_cpu_axis_goes_to_threads_times_100():
    cpu = CPUUtilization(feed=static_feed(workers=WORKERS))
    plot = hv.renderer("bokeh").get_plot(cpu.element)
    assert plot.state.x_range.end == pytest.approx(200 * 1.02)


PROGRESS = [
    {"prefix": "inc", "released": 10, "memory": 5, "erred": 2, "processing": 3, "queued": 4,
     "no_worker": 1, "waiting": 5},
    {"prefix": "sum", "memory": 1, "waiting": 4},
]  # fmt: skip


def test_progress_segments_are_state_counts():
    feed = static_feed(progress=PROGRESS)
    component = Progress(feed=feed)
    data = pd.DataFrame(source_data(component))
    inc = data[data["prefix"] == "inc"].set_index("state")
    scale = 30  # the largest total
    for state in ("released", "memory", "erred", "processing", "queued", "no_worker"):
        width = inc.loc[state, "right"] - inc.loc[state, "left"]
        assert width == pytest.approx(PROGRESS[0][state] / scale)
        assert inc.loc[state, "count"] == PROGRESS[0][state]
    assert inc.loc["released", "color"] == inc.loc["memory", "color"] == theme.prefix_color("inc")
    assert inc.loc["erred", "color"] == theme.BLACK
    assert inc.loc["no_worker", "color"] == theme.RED
    # Queued and no-worker segments are hatched by a layer of one pattern each.
    renderers = rendered(component)
    for state, pattern in (("queued", "/"), ("no_worker", "x")):
        (hatched,) = [r for r in renderers
                      if getattr(r.glyph, "hatch_pattern", None) == pattern]  # fmt: skip
        assert dict(hatched.data_source.data)["left"].tolist() == [inc.loc[state, "left"]]
        assert hatched.glyph.fill_alpha == 0
    assert inc.loc["waiting", "right"] == pytest.approx(1.0)  # the whole bar = all tasks
    assert inc.loc["waiting", "done_text"] == "17 / 30"
    plot = hv.renderer("bokeh").get_plot(component.element)
    assert plot.state.title.text == ("Progress — total: 35, waiting: 9, queued: 4, processing: 3, "
                                     "in-memory: 6, no-worker: 1, erred: 2")  # fmt: skip


@pytest.mark.parametrize(("scale", "sum_length"), [("prefix", 1.0), ("shared", 5 / 30)])
def test_progress_bars_span_the_width_per_prefix_or_share_one_scale(scale, sum_length):
    data = pd.DataFrame(source_data(Progress(feed=static_feed(progress=PROGRESS), scale=scale)))
    bars = data[data["state"] == "waiting"].set_index("prefix")  # a whole bar: all its tasks
    assert bars.loc["inc", "right"] == pytest.approx(1.0)
    assert bars.loc["sum", "right"] == pytest.approx(sum_length)
    memory = data[data["state"] == "memory"].set_index("prefix")
    assert memory.loc["sum", "right"] - memory.loc["sum", "left"] == pytest.approx(sum_length / 5)


def test_progress_summarises_prefixes_beyond_the_limit():
    rows = [{"prefix": f"p{i}", "memory": 100 - i} for i in range(30)]
    component = Progress(feed=static_feed(progress=rows), max_prefixes=24)
    drawn = component.rows()
    assert len(drawn) == 25
    assert drawn.iloc[-1]["prefix"] == "other (6 prefixes)"
    assert drawn.iloc[-1]["total"] == sum(100 - i for i in range(24, 30))


def tasks(n, prefix="inc", action="compute", status="ok", worker="tcp://w:1", thread=1, t0=0.0):
    start = t0 + np.arange(n, dtype=float)
    return schema.tasks_frame({
        "start": start, "stop": start + 0.5, "worker": [worker] * n, "thread": [thread] * n,
        "key": [f"{prefix}-{i}" for i in range(n)], "prefix": [prefix] * n,
        "action": [action] * n, "status": [status] * n,
    })  # fmt: skip


def test_task_stream_sparse_one_rectangle_per_row_with_reserved_colours():
    frame = pd.concat([tasks(5), tasks(2, "div", status="error", t0=10),
                       tasks(3, "sum", action="transfer", thread=2, t0=20),
                       tasks(1, "load", action="deserialize", t0=30),
                       tasks(1, "spill", action="disk-write", t0=40),
                       tasks(1, "fail", action="transfer", status="error", t0=50)],
                      ignore_index=True)  # fmt: skip
    frame = schema.tasks_frame({c: frame[c].astype(str) if schema.TASKS[c] == "category"
                                else frame[c] for c in frame})  # fmt: skip
    component = TaskStream(feed=static_feed(tasks=frame))
    data = pd.DataFrame(source_data(component))
    assert sorted(data["key"]) == sorted(frame["key"])
    by_key = data.set_index("key")
    assert by_key.loc["inc-0", "color"] == packed(theme.prefix_color("inc"))
    assert by_key.loc["div-0", "color"] == packed(theme.ERRED_COLOR)
    assert by_key.loc["sum-0", "color"] == packed(theme.ACTION_STYLE["transfer"][0])
    assert by_key.loc["sum-0", "alpha"] == 0.4
    assert by_key.loc["load-0", "color"] == packed(theme.GREY)
    assert by_key.loc["load-0", "alpha"] == 0.4
    assert by_key.loc["spill-0", "color"] == packed(theme.ACTION_STYLE["disk-write"][0])
    # Only an erred compute is black: an erred task's transfer stays red.
    assert by_key.loc["fail-0", "color"] == packed(theme.ACTION_STYLE["transfer"][0])
    assert by_key.loc["inc-1", "right"] - by_key.loc["inc-1", "left"] == 0.5
    # thread 1 and thread 2 of the worker are two rows
    assert by_key.loc["inc-0", "bottom"] != by_key.loc["sum-0", "bottom"]
    assert not component.dense


def test_task_stream_streams_only_new_rows():
    src = SyntheticSource(n_workers=2, threads_per_worker=1, seed=3, start_time=0.0)
    feed = Feed(src)
    for _ in range(6):  # every thread seen: later rows never re-order
        feed.poll()
    component = TaskStream(feed=feed)
    doc = Document()
    doc.add_root(pn.panel(component).get_root(doc))
    component.update()  # the first update after render settles the stream count
    events = []
    doc.on_change(events.append)
    before = feed.tasks.total
    feed.poll()
    k = feed.tasks.total - before
    assert k > 0
    component.update()
    streamed = [e for e in events if type(e).__name__ == "ColumnsStreamedEvent"]
    replaced = [e for e in events if type(e).__name__ == "ColumnDataChangedEvent"]
    assert not replaced
    assert len(streamed) == 1
    assert {len(v) for v in streamed[0].data.values()} == {k}


def test_dense_history_pixels_show_each_prefix_where_it_ran():
    # Four prefixes with distinct colours, each on its own 8 of 32 thread rows.
    prefixes = ["inc", "read-parquet", "sum", "transpose"]
    colours = [theme.prefix_color(p) for p in prefixes]
    assert len(set(colours)) == 4
    n, rows = 1_000_000, 32
    rng = np.random.default_rng(0)
    row = rng.integers(0, rows, n)
    start = np.sort(rng.uniform(0, 1000, n))
    code = row // 8
    frame = schema.tasks_frame({
        "start": start, "stop": start + 0.02,
        "worker": pd.Categorical.from_codes(row, [f"tcp://w:{i:02d}" for i in range(rows)]),
        "thread": np.ones(n, np.int64), "key": np.full(n, "k", object),
        "prefix": pd.Categorical.from_codes(code, prefixes),
        "action": pd.Categorical.from_codes(np.zeros(n, np.int8), ["compute"]),
        "status": pd.Categorical.from_codes(np.zeros(n, np.int8), ["ok"]),
    })  # fmt: skip
    component = TaskStream(feed=static_feed(tasks=frame))
    assert component.dense and component.n_rows == n
    height = rows * 8
    image = component.rasterize((0, 1000), (-0.5, rows - 0.5), 1200, height)
    rgba = image.view(np.uint8).reshape(height, 1200, 4)
    for i, colour in enumerate(colours):
        band = rgba[i * 64 + 8 : (i + 1) * 64 - 8]  # rows 8i..8i+7, bottom row first
        painted = band[band[..., 3] > 0][:, :3]
        expected = np.array(hv.plotting.util.hex2rgb(colour))
        assert len(painted) > 0.3 * band.shape[0] * band.shape[1]
        assert np.allclose(painted, expected, atol=1)


def test_components_are_registered_with_suggestions():
    # dashkit's own (a test may define more: see test_contract_example)
    own = {t for t, cls in Component.types().items() if cls.__module__.startswith("dashkit.")}
    assert own == {"cluster_memory", "worker_memory", "task_processing",
                   "feed_status", "replay_control", "cpu", "occupancy", "task_stream",
                   "progress", "task_details"}  # fmt: skip
    assert Component.lookup("task_stream") is TaskStream
    with pytest.raises(ValueError, match="Did you mean 'task_stream'"):
        Component.lookup("task_strem")


def test_a_component_needs_a_feed():
    with pytest.raises(ValueError, match=r"Progress needs a feed: Progress\(feed=...\)"):
        Progress()


def test_feed_status_says_what_the_feed_says():
    from dashkit.components import FeedStatus
    from tests.test_feed import FlakySource

    source = FlakySource(seed=1, start_time=0.0)
    feed = Feed(source)
    feed.poll()
    status = FeedStatus(feed=feed)
    assert status.state == "connected"
    assert 'data-state="connected"' in status.text() and "8 workers" in status.text()
    source.down = True
    feed.poll()
    status.update()
    assert status.state == "disconnected"
    assert "did not answer" in status.html


def test_feed_status_counts_erred_tasks_in_red_only_when_there_are_some():
    from dashkit.components import FeedStatus

    assert "erred" not in FeedStatus(feed=static_feed(progress=PROGRESS[1:])).text()
    text = FeedStatus(feed=static_feed(progress=PROGRESS)).text()
    assert re.search(rf'class="dashkit-erred" style="color:{theme.RED}">2 erred<', text), text


def test_one_worker_is_one_worker():
    from dashkit.components import FeedStatus

    feed = Feed(SyntheticSource(n_workers=1, seed=1, start_time=0.0))
    feed.poll()
    assert "1 worker ·" in FeedStatus(feed=feed).text()
    assert WorkerMemory(feed=feed).frame().title == "Memory per worker (1 worker)"
    assert ClusterMemory(feed=feed).frame().layers[0]["worker"][0] == "cluster (1 worker)"

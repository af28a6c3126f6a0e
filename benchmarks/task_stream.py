"""Task stream cost: dense frames, bytes to the browser, and the status page per tick.

    python benchmarks/task_stream.py

* Dense: server ms per frame (the history image, see dashkit.raster) over
  the whole history at 1200x400 px, for 100k, 1M and 5M rows, and the bytes
  of the PATCH-DOC message that carries it (benchmarks/history_frames.py
  measures frames by range, to 10M rows).
* Sparse: bytes of the PATCH-DOC message when one tick adds k rows.
* Status page: server CPU per page per tick for all its components, the
  PATCH-DOC message included (the shared Feed's poll not included), at 2,
  100 and 1,000 workers, on a synthetic cluster where every value changes
  every tick: the first page of a poll (it computes the frames every page
  shares) and each further page; and the websocket frames of one update.
"""

from __future__ import annotations

import contextlib
import json
import statistics
import time

import panel as pn
from bokeh.document import Document
from bokeh.protocol import Protocol
from panel.io.state import set_curdoc

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
from dashkit.components.refresh import SessionRefresh
from dashkit.feed import Feed
from dashkit.raster import warm_up
from dashkit.sources import SyntheticSource

WIDTH, HEIGHT = 1200, 400


def patch_bytes(events) -> int:
    """Bytes on the websocket for these document events (header, content, buffers)."""
    message = Protocol().create("PATCH-DOC", events)
    return (len(message.header_json) + len(message.metadata_json) + len(message.content_json)
            + sum(len(b.to_bytes()) for b in message.buffers))  # fmt: skip


def rendered(component) -> tuple[Document, list]:
    doc = Document()
    doc.add_root(pn.panel(component).get_root(doc))
    events: list = []
    doc.on_change(events.append)
    return doc, events


def dense(n_rows: int) -> dict:
    feed = Feed(SyntheticSource(n_workers=64, threads_per_worker=2, seed=1,
                                history_rows=n_rows, start_time=0.0), max_task_rows=n_rows * 2)
    feed.poll()  # fmt: skip
    stream = TaskStream(feed=feed, height=HEIGHT, raster_period=0)
    history = feed.history
    x_range = (0.0, history.extent(history.oldest, history.total)[1])
    y_range = (-0.5, history.n_lanes - 0.5)
    times = []
    for i in range(3):
        began = time.perf_counter()
        stream.rasterize(x_range, (y_range[0], y_range[1] + i * 1e-9), WIDTH, HEIGHT)  # no cache
        times.append((time.perf_counter() - began) * 1000)
    _, events = rendered(stream)
    feed.poll()
    stream.update()  # new rows: the image is re-aggregated and sent
    image = [e for e in events if "image" in getattr(e.model, "data", {})]
    return {"rows": stream.n_rows, "ms": statistics.median(times), "bytes": patch_bytes(image)}


def sparse(k: int = 50) -> dict:
    src = SyntheticSource(n_workers=8, threads_per_worker=2, seed=2, start_time=0.0)
    feed = Feed(src)
    for _ in range(10):
        feed.poll()
    stream = TaskStream(feed=feed)
    _, events = rendered(stream)
    stream.update()
    sizes = []
    while len(sizes) < 10:
        events.clear()
        before = feed.tasks.total
        feed.poll()
        stream.update()
        if feed.tasks.total > before:
            sizes.append((feed.tasks.total - before, patch_bytes(events)))
    rows = sum(s[0] for s in sizes)
    return {"bytes_per_row": sum(s[1] for s in sizes) / rows, "rows_per_tick": rows / len(sizes)}


@contextlib.contextmanager
def _held(doc: Document):
    """What ``pn.io.hold`` does on a server session: one batch of events (Panel
    drops the events of a document no browser is connected to)."""
    doc.hold("combine")
    try:
        yield
    finally:
        doc.unhold()


def status_page_tick(n_workers: int, ticks: int = 20) -> dict:
    """CPU ms per tick of the first page (computes the shared frames) and of a
    second page, each page one document, the PATCH-DOC message included."""
    feed = Feed(SyntheticSource(n_workers=n_workers, seed=3, start_time=0.0))
    feed.poll()
    pages = []
    for _ in range(2):
        components = [cls(feed=feed) for cls in (ClusterMemory, WorkerMemory, TaskProcessing,
                                                 CPUUtilization, Occupancy, TaskStream, Progress,
                                                 FeedStatus)]  # fmt: skip
        doc = Document()
        with set_curdoc(doc):
            doc.add_root(pn.Column(*components).get_root(doc))
        events: list = []
        doc.on_change(events.append)
        pages.append((doc, components, events))
    first, second, frames = [], [], []
    for _ in range(ticks):
        feed.poll()
        for (doc, components, events), times in zip(pages, (first, second), strict=True):
            events.clear()
            began = time.process_time()
            with set_curdoc(doc), _held(doc):
                SessionRefresh.redraw(components)
            message = Protocol().create("PATCH-DOC", events)
            for buffer in message.buffers:  # what the server writes per buffer
                json.dumps(buffer.ref), buffer.to_bytes()
            times.append((time.process_time() - began) * 1000)
        frames.append(3 + 2 * len(message.buffers))
    return {"first_ms": statistics.median(first), "further_ms": statistics.median(second),
            "frames": statistics.median(frames)}  # fmt: skip


if __name__ == "__main__":
    warm_up()
    print(f"dense frame at {WIDTH}x{HEIGHT}:")
    for n in (100_000, 1_000_000, 5_000_000):
        result = dense(n)
        print(f"  {result['rows']:>9,} rows: {result['ms']:7.1f} ms server, "
              f"{result['bytes'] / 1e6:5.2f} MB per frame", flush=True)  # fmt: skip
    result = sparse()
    print(f"sparse: {result['bytes_per_row']:.0f} bytes per new row "
          f"({result['rows_per_tick']:.0f} rows per tick)")  # fmt: skip
    for n in (2, 100, 1000):
        result = status_page_tick(n)
        print(f"status page, {n:>4} workers, CPU per page per tick: "
              f"{result['first_ms']:5.1f} ms for the first page (computes the shared frames), "
              f"{result['further_ms']:4.1f} ms for each further page, "
              f"{result['frames']:.0f} websocket frames per update", flush=True)  # fmt: skip

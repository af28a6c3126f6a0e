"""Whole-run task-stream frames: time per frame by rows and range, beside a bare
HoloViews + datashader ``rasterize`` of 1M rectangles in the same run.

    python benchmarks/history_frames.py [--rows 1000000 10000000]

A synthetic run of 128 workers x 2 threads, ``history_rows`` long, arrives in
one poll. For each size it prints: server ms of an image (median of 3, none
from the cache) for several ranges at 1200x400 px and for the whole run at
other sizes; the time to append a poll of 1,000 rows; the memory of the whole
run's summary beside the raw rows'; and how many erred tasks leave a black
pixel where they are in the whole-run image.

It only calls ``TaskStream.rasterize``, so the same file measures an older
checkout of dashkit too (copy it there and run it with that checkout's venv).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from dashkit.components import TaskStream
from dashkit.feed import Feed
from dashkit.sources import SyntheticSource

WIDTH, HEIGHT = 1200, 400


def timed(draw, repeats: int = 3) -> float:
    times = []
    for i in range(repeats):
        began = time.perf_counter()
        draw(i)
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def bare_rasterize(n_rows: int) -> float:
    """ms of HoloViews' rasterize (datashader) of ``n_rows`` rectangles, by count."""
    import datashader as ds
    import holoviews as hv
    import pandas as pd
    from holoviews.operation.datashader import rasterize

    rng = np.random.default_rng(0)
    x0 = rng.uniform(0, 1000, n_rows)
    lane = rng.integers(0, 256, n_rows)
    frame = pd.DataFrame({"x0": x0, "y0": lane - 0.4, "x1": x0 + rng.exponential(0.5, n_rows),
                          "y1": lane + 0.4})  # fmt: skip
    rectangles = hv.Rectangles(frame, ["x0", "y0", "x1", "y1"])

    def draw(i: int) -> None:
        rasterize(rectangles, width=WIDTH, height=HEIGHT, aggregator=ds.count(), dynamic=False,
                  x_range=(0, 1000 + i * 1e-6), y_range=(-0.5, 255.5))  # fmt: skip

    draw(0)  # numba's compile
    return timed(draw)


def erred_shown(stream: TaskStream, feed: Feed, x_range, y_range) -> tuple[int, int]:
    """(erred computes with a black pixel where they are, erred computes) in the
    whole-run image."""
    image = stream.rasterize(x_range, y_range, WIDTH, HEIGHT)
    rgba = image.view(np.uint8).reshape(*image.shape, 4)
    black = np.all(rgba[..., :3] == 0, axis=2) & (rgba[..., 3] == 255)
    rows = feed.tasks.frame()
    erred = rows[(rows["status"] == "error") & (rows["action"] == "compute")]
    history = feed.history
    lanes = [history.lanes()[history.pairs[(str(w), int(t))]]
             if hasattr(history, "lanes") else history._pair_row[history.pairs[(str(w), int(t))]]
             for w, t in zip(erred["worker"], erred["thread"], strict=True)]  # fmt: skip
    dt = (x_range[1] - x_range[0]) / WIDTH
    scale = HEIGHT / (y_range[1] - y_range[0])
    shown = 0
    for start, stop, lane in zip(erred["start"], erred["stop"], lanes, strict=True):
        c0 = int((start - history.origin - x_range[0]) / dt)
        c1 = int((stop - history.origin - x_range[0]) / dt)
        r = int((lane - y_range[0]) * scale)
        if black[max(r - 2, 0): r + 3, max(c0, 0): min(c1, WIDTH - 1) + 1].any():
            shown += 1
    return shown, len(erred)


def measure(n_rows: int) -> None:
    source = SyntheticSource(n_workers=128, threads_per_worker=2, seed=1, history_rows=n_rows,
                             start_time=0.0)  # fmt: skip
    feed = Feed(source, max_task_rows=n_rows * 2)
    stream = TaskStream(feed=feed, height=HEIGHT, raster_period=0)
    began = time.perf_counter()
    feed.poll()
    first_poll = time.perf_counter() - began
    history = feed.history
    end = history.extent(history.oldest, history.total)[1]
    y_range = (-0.5, history.n_lanes - 0.5)
    print(f"{stream.n_rows:,} rows over {end:,.0f} s, {history.n_lanes} lanes "
          f"(first poll {first_poll:.1f} s):", flush=True)  # fmt: skip
    stream.rasterize((0, end), y_range, WIDTH, HEIGHT)  # compile, and warm what is cached

    def frame(x_range, width=WIDTH, height=HEIGHT):
        return timed(lambda i: stream.rasterize(x_range, (y_range[0], y_range[1] + i * 1e-9),
                                                width, height))  # fmt: skip

    ranges = {"whole run": (0, end), "middle eighth": (end * 7 / 16, end * 9 / 16),
              "newest 1%": (end * 0.99, end), "oldest 1%": (0, end * 0.01)}  # fmt: skip
    for name, x_range in ranges.items():
        print(f"  {name:>14} at {WIDTH}x{HEIGHT}: {frame(x_range):7.1f} ms", flush=True)
    for width, height in ((600, 200), (2400, 800)):
        print(f"  {'whole run':>14} at {width}x{height}: {frame((0, end), width, height):7.1f} ms",
              flush=True)  # fmt: skip
    later = feed.tasks.take(np.arange(history.total - 1_000, history.total))
    polls = []
    for k in range(1, 6):  # as a poll appends: the rows, their positions and the summary
        shifted = later.assign(start=later["start"] + k, stop=later["stop"] + k)
        began = time.perf_counter()
        history.append(shifted)
        polls.append((time.perf_counter() - began) * 1000)
    print(f"  appending a poll of 1,000 rows: {statistics.median(polls):.1f} ms", flush=True)
    try:
        from dashkit.task_picture import TaskPicture
    except ImportError:  # an older checkout: no summary
        summary = None
    else:
        summary = TaskPicture.of(history).summary
    held = feed.tasks.nbytes
    if summary is not None:
        print(f"  summary: {summary.nbytes / 2**20:,.0f} MiB in {len(summary.levels)} levels, "
              f"{summary.nbytes / held:.0%} of the raw rows' {held / 2**20:,.0f} MiB")  # fmt: skip
    shown, erred = erred_shown(stream, feed, (0, end), y_range)
    print(f"  erred computes with a black pixel in the whole-run image: {shown} of {erred}",
          flush=True)  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    args = parser.parse_args()
    print(f"bare HoloViews + datashader rasterize of 1M rectangles at {WIDTH}x{HEIGHT}: "
          f"{bare_rasterize(1_000_000):.1f} ms", flush=True)  # fmt: skip
    for n in args.rows:
        measure(n)

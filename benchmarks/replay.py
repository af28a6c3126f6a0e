"""Recordings: bytes per task row and per snapshot, and `dashkit export --replay` of 1M rows.

    python benchmarks/replay.py

* Size: a synthetic cluster recorded with the default one-second flush; the
  bytes of the file divided by its task rows, and by its snapshots when no
  task arrives (workers and progress only).
* Export: `dashkit record --synthetic --rows 1000000`, then
  `dashkit export --replay` of that file, both timed as commands (start-up
  included).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dashkit.feed import Feed
from dashkit.recorder import Recorder
from dashkit.sources import Recording, SyntheticSource

BIN = Path(sys.executable).parent


def recording_size(folder: Path, n_workers: int, load: float, polls: int = 120) -> dict:
    path = folder / f"size-{n_workers}-{load}.dkrec"
    feed = Feed(SyntheticSource(seed=1, n_workers=n_workers, load=load, start_time=0.0))
    # One flush per 2 polls: what the default one second gives at the default period.
    recorder = Recorder(feed, path, flush_interval=0).start()
    for i in range(polls):
        feed.poll()
        if i % 2:
            recorder.flush()
    recorder.stop()
    return {"rows": recorder.task_rows, "snapshots": recorder.snapshots,
            "bytes": path.stat().st_size}  # fmt: skip


def timed(*args: str) -> float:
    began = time.perf_counter()
    subprocess.run([str(BIN / "dashkit"), *args], check=True, capture_output=True)
    return time.perf_counter() - began


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print("recording size, 120 snapshots (60 s):")
        for workers, load in ((16, 0.8), (100, 0.8), (100, 0.01)):
            r = recording_size(folder, workers, load)
            per_row = r["bytes"] / r["rows"] if r["rows"] else float("nan")
            per_snapshot = r["bytes"] / r["snapshots"] / 1e3
            print(f"  {workers:>3} workers, load {load}: {r['rows']:>7,} rows, "
                  f"{r['bytes'] / 1e6:6.2f} MB: {per_row:5.1f} B per row, "
                  f"{per_snapshot:6.1f} kB per snapshot", flush=True)  # fmt: skip
        rec = folder / "million.dkrec"
        seconds = timed("record", "--synthetic", "--workers", "64", "--rows", "1000000",
                        "--duration", "1", "-o", str(rec))  # fmt: skip
        rows = len(Recording.read(rec).tasks)
        print(f"record 1M: {rows:,} rows, {rec.stat().st_size / 1e6:.1f} MB "
              f"({rec.stat().st_size / rows:.1f} B per row), {seconds:.1f} s")  # fmt: skip
        html = folder / "report.html"
        seconds = timed("export", "--replay", str(rec), "-o", str(html))
        print(f"export --replay: {html.stat().st_size / 1e6:.1f} MB HTML in {seconds:.1f} s")

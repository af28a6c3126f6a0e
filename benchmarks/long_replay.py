"""A long recording played back: peak memory of `dashkit export --replay` and
of `dashkit serve --replay` with a page open whose control jumped to the end,
and how long the export takes.

    python benchmarks/long_replay.py [--rows 50000000] [--keep PATH] [--wait 300]

The recording is a synthetic cluster of 128 workers x 2 threads, one snapshot
a simulated minute, written as a recorder writes a long run (a batch or more
per snapshot) until it holds ``--rows`` task rows. It is kept at ``--keep``
(and reused when it exists there).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
BIN = Path(sys.executable).parent


def make_recording(path: Path, rows: int) -> None:
    from dashkit.feed import Feed
    from dashkit.recorder import record
    from dashkit.sources import SyntheticSource

    feed = Feed(SyntheticSource(n_workers=128, threads_per_worker=2, seed=11, start_time=0.0,
                                tick=60.0, mean_duration=0.2), max_task_rows=1)  # fmt: skip
    began = time.perf_counter()
    with record(feed, path) as recorder:
        while feed.tasks.total < rows:
            feed.poll()
            recorder.flush()
    print(f"recorded {feed.tasks.total:,} rows in {time.perf_counter() - began:.0f} s: "
          f"{path.stat().st_size / 2**20:,.0f} MiB", flush=True)  # fmt: skip


def peak_rss_of(command: list[str]) -> tuple[float, float, str]:
    """(seconds, peak RSS in MiB, stderr) of ``command`` run to its end."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    began = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    took = time.perf_counter() - began
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if result.returncode:
        raise SystemExit(result.stderr)
    # ru_maxrss of children is the largest of any child so far: a later, larger one shows.
    return took, max(peak, before) / 1024, result.stderr.strip().splitlines()[-1]


def served_rss(recording: Path, wait: float) -> float:
    """Peak RSS (MiB) of `dashkit serve --replay` with a page open in Chromium
    whose replay control jumped to the end (delivered over ``wait`` seconds at most)."""
    import shutil
    import socket
    import urllib.request

    from playwright.sync_api import sync_playwright

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([str(BIN / "dashkit"), "serve", "--replay", str(recording),
                               "--port", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=30)
                break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=shutil.which("chromium"))
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"http://127.0.0.1:{port}/status")
            label = page.locator(".dashkit-replay").first
            label.wait_for(timeout=120_000)
            # Click the end of the replay control's slider: a jump to the end.
            box = page.locator(".noUi-target").first.bounding_box()
            page.mouse.click(box["x"] + box["width"] - 1, box["y"] + box["height"] / 2)
            ended = time.monotonic() + wait
            while time.monotonic() < ended and label.get_attribute("data-state") != "ended":
                page.wait_for_timeout(5000)
            print("  the page's replay control:", label.inner_text(), flush=True)
            browser.close()
        status = Path(f"/proc/{server.pid}/status").read_text()
        return int(next(line.split()[1] for line in status.splitlines()
                        if line.startswith("VmHWM"))) / 1024  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=60)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000_000)
    parser.add_argument("--keep", type=Path, default=None)
    parser.add_argument("--wait", type=float, default=300,
                        help="seconds the served page has to take in the jump to the end")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    recording = args.keep or folder / "long.dkrec"
    if not recording.exists():
        make_recording(recording, args.rows)
    took, peak, said = peak_rss_of([str(BIN / "dashkit"), "export", "--replay", str(recording),
                                    "-o", str(folder / "report.html")])  # fmt: skip
    size = (folder / "report.html").stat().st_size / 2**20
    print(f"export --replay: {took:.0f} s, peak RSS {peak:,.0f} MiB, report {size:.1f} MiB: "
          f"{said}", flush=True)  # fmt: skip
    served = served_rss(recording, args.wait)
    print(f"serve --replay, a page open, jumped to the end: peak RSS {served:,.0f} MiB",
          flush=True)  # fmt: skip

"""Server memory over a long busy run: does it level off where the row cap says?

    python benchmarks/soak.py [--minutes 10] [--rate 5000] [--max-rows 1000000]

Serves the status layout (``dashkit serve``) over a synthetic cluster whose
task stream grows by about ``--rate`` rows per second, keeps three headless
Chromium tabs of it open for ``--minutes``, and prints every 30 s the
server's resident memory (RSS) and the rows the page reports (held, and
dropped once the feed's ``max_task_rows`` cap is reached). The RSS should
climb while the history fills and then stay level.

Every process it starts is stopped at the end. Needs Debian's ``chromium``.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from side_by_side import (  # noqa: E402
    DRAWN,
    VIEWPORT,
    free_port,
    launch,
    serve_spec,
    status_spec_file,
    wait_for_url,
)  # fmt: skip

from dashkit.sources import SyntheticSource  # noqa: E402

#: A cluster of 100 workers x 2 threads running short tasks; ``mean_duration``
#: is set from ``--rate``.
CLUSTER = {"type": "synthetic", "n_workers": 100, "threads_per_worker": 2, "seed": 7}


def rows_per_second(source: dict, polls: int = 40) -> float:
    """Task-stream rows per second of simulated (= real, one poll per tick) time."""
    params = {k: v for k, v in source.items() if k != "type"}
    synthetic = SyntheticSource(start_time=0.0, **params)
    rows = sum(len(synthetic.snapshot().tasks) for _ in range(polls))
    return rows / (polls * synthetic.tick)


def cluster_for(rate: float) -> dict:
    """The synthetic cluster whose task stream grows by about ``rate`` rows a second."""
    source = {**CLUSTER, "mean_duration": 0.2}
    measured = rows_per_second(source)
    source["mean_duration"] = round(0.2 * measured / rate, 4)
    return source


def page_rows(page) -> tuple[int, int]:
    """(rows ever received, rows dropped) from the page's status line."""
    text = page.locator(".dashkit-status-text").first.inner_text()
    total = int(re.search(r"([\d,]+) task-stream rows", text).group(1).replace(",", ""))
    dropped = re.search(r"([\d,]+) dropped", text)
    return total, int(dropped.group(1).replace(",", "")) if dropped else 0


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=5000.0, help="task-stream rows per second")
    parser.add_argument("--max-rows", type=int, default=1_000_000, help="the feed's row cap")
    parser.add_argument("--tabs", type=int, default=3)
    args = parser.parse_args(argv)

    source = cluster_for(args.rate)
    folder = Path(tempfile.mkdtemp())
    spec = status_spec_file(folder, "soak", source=source, feed={"max_task_rows": args.max_rows})
    port = free_port()
    url = f"http://127.0.0.1:{port}/soak"
    print(f"synthetic cluster: {source} (~{rows_per_second(source):,.0f} rows/s), "
          f"max_task_rows {args.max_rows:,}, {args.tabs} tabs, {args.minutes:g} min")  # fmt: skip
    with open(folder / "server.log", "w") as log:
        server = serve_spec(spec, port, log)
    try:
        wait_for_url(url)
        process = psutil.Process(server.pid)
        with sync_playwright() as playwright:
            browser = launch(playwright, shutil.which("chromium"))
            context = browser.new_context(viewport=VIEWPORT)
            pages = []
            for _ in range(args.tabs):
                page = context.new_page()
                page.goto(url, timeout=120_000)
                page.wait_for_function(DRAWN, timeout=120_000, polling=100)
                pages.append(page)
            began = time.monotonic()
            print("| minutes | server RSS | rows received | rows held | rows dropped |")
            print("|---:|---:|---:|---:|---:|", flush=True)
            while True:
                elapsed = time.monotonic() - began
                total, dropped = page_rows(pages[0])
                rss = process.memory_info().rss / 2**20
                print(f"| {elapsed / 60:.1f} | {rss:,.0f} MiB | {total:,} | {total - dropped:,} "
                      f"| {dropped:,} |", flush=True)  # fmt: skip
                if elapsed >= args.minutes * 60:
                    break
                pages[0].wait_for_timeout(30_000)  # keeps the pages' events flowing
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())

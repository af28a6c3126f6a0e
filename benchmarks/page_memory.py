"""Server memory across pages opened and closed.

    python benchmarks/page_memory.py [--cycles 100] [--workers 16] [--rows 30000] [--warm-pages 0]

Serves the status layout over a synthetic cluster (``dashkit serve`` of the
status spec with a synthetic source), opens one headless Chromium tab, waits
until every plot is drawn and has been updated live, closes it, and repeats
``--cycles`` times.

What a page costs is told apart from what the server fills once: the feed
keeps at most ``--rows`` task-stream rows and starts with more than its task
stream draws as rectangles, so the first page already draws the history
image (which loads datashader and compiles its aggregation), and the first
RSS is read after the feed has filled up to ``--rows`` (``--warm`` seconds).
Prints the server's resident memory (RSS) then, every tenth cycle and after
the last page's session has been discarded, and the server's log lines
about closed sockets or exceptions never retrieved.

Every process it starts is stopped at the end. Needs Debian's ``chromium``.
"""

from __future__ import annotations

import argparse
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

#: Log lines that say a closed page was not cleaned up.
TROUBLE = ("WebSocketClosedError", "Task exception was never retrieved", "Traceback")

UPDATED = """() => [...Bokeh.documents].some(d => d._dashkit_updates > 1)"""

COUNT_UPDATES = """() => {
    for (const d of Bokeh.documents) {
        if (d._dashkit_counted) continue;
        d._dashkit_counted = true;
        d._dashkit_updates = 0;
        d.on_change(() => { d._dashkit_updates += 1; });
    }
}"""


def rss_mib(process: psutil.Process) -> float:
    return process.memory_info().rss / 2**20


def cycle(context, url: str) -> None:
    """Open the page, wait for live updates, close it."""
    page = context.new_page()
    page.goto(url, timeout=120_000)
    page.wait_for_function(DRAWN, timeout=120_000, polling=50)
    page.evaluate(COUNT_UPDATES)
    page.wait_for_function(UPDATED, timeout=60_000, polling=100)
    page.close()


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=100)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--rows", type=int, default=30_000,
                        help="the feed's max_task_rows (the data it holds stops growing there)")
    parser.add_argument("--warm", type=float, default=60.0,
                        help="seconds after the first page for the feed to fill up")
    parser.add_argument("--warm-pages", type=int, default=0,
                        help="more pages opened and closed before the first RSS read, so "
                             "what the server fills once is not counted against later pages")
    args = parser.parse_args(argv)

    port = free_port()
    url = f"http://127.0.0.1:{port}/synthetic"
    folder = tempfile.mkdtemp()
    log = Path(folder) / "server.log"
    with open(log, "w") as out:
        spec = status_spec_file(
            folder, "synthetic", feed={"max_task_rows": args.rows},
            source={"type": "synthetic", "n_workers": args.workers,
                    "history_rows": args.rows * 5 // 6},
        )  # fmt: skip
        server = serve_spec(spec, port, out)
    try:
        wait_for_url(url)
        process = psutil.Process(server.pid)
        with sync_playwright() as playwright:
            browser = launch(playwright, shutil.which("chromium"))
            context = browser.new_context(viewport=VIEWPORT)
            cycle(context, url)  # first page: imports, compiled code, caches
            time.sleep(args.warm)  # the feed fills up; the page's session is discarded
            for _ in range(args.warm_pages):
                cycle(context, url)
            if args.warm_pages:
                time.sleep(30)  # their sessions are discarded
            start = rss_mib(process)
            print(f"after {1 + args.warm_pages} page(s) and {args.warm:g} s (warm): "
                  f"{start:7.1f} MiB", flush=True)
            began = time.monotonic()
            for n in range(1, args.cycles + 1):
                cycle(context, url)
                if n % 10 == 0:
                    per_page = (time.monotonic() - began) / n
                    print(f"{n:4d} pages: {rss_mib(process):7.1f} MiB ({per_page:.1f} s per page)",
                          flush=True)  # fmt: skip
            browser.close()
        time.sleep(30)  # every session discarded
        end = rss_mib(process)
        print(f"all sessions discarded: {end:7.1f} MiB ({end - start:+.1f} MiB, "
              f"{(end - start) / args.cycles * 1024:+.0f} KiB per page)")  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=30)
    lines = [line for line in log.read_text().splitlines() if any(t in line for t in TROUBLE)]
    print(f"log lines about closed pages: {len(lines)}")
    for line in lines[:5]:
        print("   ", line)
    return 0


if __name__ == "__main__":
    sys.exit(main())

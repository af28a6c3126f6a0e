"""Where a live status page spends the browser's time.

    python benchmarks/browser_profile.py [--workers 100] [--seconds 20] [--top 15]
                                         [--callers FUNCTION]

Serves the status layout over a synthetic cluster of ``--workers`` workers
(every value changes every poll), opens it in one headless Chromium tab,
lets it settle, then records the tab's main thread with Chromium's CPU
profiler for ``--seconds`` and prints: updates received per second, the
share of the time the main thread was busy, busy milliseconds per update,
and the functions that took the most time (their own time, and with what
they called), and with ``--callers`` the call paths into one function. On a
machine without a GPU this is what limits how many tabs can redraw at the
feed's pace.

The server and the browser it starts are stopped at the end. Needs Debian's
``chromium``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from side_by_side import (  # noqa: E402
    Tab,
    free_port,
    launch,
    serve_spec,
    synthetic_spec,
    wait_for_url,
)  # fmt: skip


def call_tree(profile: dict) -> tuple:
    """``(name, parent)``: a profile node's function and script, and each node's caller."""
    nodes = {node["id"]: node for node in profile["nodes"]}
    parent = {child: node["id"] for node in profile["nodes"] for child in node.get("children", ())}

    def name(node_id: int) -> str:
        frame = nodes[node_id]["callFrame"]
        script = frame["url"].rsplit("/", 1)[-1].split("?")[0]
        return f"{frame['functionName'] or '(anonymous)'} {script}".strip()

    return name, parent


def callers(profile: dict, function: str, top: int, depth: int = 6) -> list:
    """The ``top`` call paths (``depth`` named callers up) into ``function``, by
    the time spent in it, in ms."""
    name, parent = call_tree(profile)
    paths = Counter()
    for sample, micros in zip(profile["samples"], profile["timeDeltas"], strict=True):
        if not name(sample).startswith(function):
            continue
        path, node = [], parent.get(sample)
        while node is not None and len(path) < depth:
            if not name(node).startswith("(anonymous)"):
                path.append(name(node).split(" ")[0])
            node = parent.get(node)
        paths[" < ".join(path)] += micros / 1000
    return paths.most_common(top)


def summarize(profile: dict, top: int) -> tuple[float, list, list]:
    """Busy seconds and the ``top`` functions by own and by inclusive time, in ms."""
    name, parent = call_tree(profile)
    own, inclusive = Counter(), Counter()
    for sample, micros in zip(profile["samples"], profile["timeDeltas"], strict=True):
        own[name(sample)] += micros / 1000
        seen, node = set(), sample
        while node is not None:
            seen.add(name(node))
            node = parent.get(node)
        for function in seen:
            inclusive[function] += micros / 1000
    idle = own.pop("(idle)", 0.0)
    busy = (sum(profile["timeDeltas"]) / 1000 - idle) / 1000
    for counter in (own, inclusive):
        for key in ("(idle)", "(root)", "(program)"):
            counter.pop(key, None)
    return busy, own.most_common(top), inclusive.most_common(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--callers", metavar="FUNCTION",
                        help="also print the call paths into FUNCTION")  # fmt: skip
    args = parser.parse_args()
    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("browser_profile: needs Debian's chromium (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        server = serve_spec(synthetic_spec(args.workers, folder), port)
        try:
            url = f"http://127.0.0.1:{port}/synthetic"
            wait_for_url(url)
            with sync_playwright() as playwright:
                browser = launch(playwright, chromium)
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                tab = Tab(context, url)
                tab.page.wait_for_timeout(5000)  # let the page settle
                cdp = context.new_cdp_session(tab.page)
                cdp.send("Profiler.enable")
                cdp.send("Profiler.setSamplingInterval", {"interval": 500})
                cdp.send("Profiler.start")
                tab.reset()
                tab.page.wait_for_timeout(args.seconds * 1000)
                profile = cdp.send("Profiler.stop")["profile"]
                updates = tab.updates
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    busy, own, inclusive = summarize(profile, args.top)
    print(f"{args.workers} synthetic workers, {args.seconds:g} s: {updates / args.seconds:.1f} "
          f"updates/s, main thread busy {100 * busy / args.seconds:.0f} % "
          f"({1000 * busy / max(updates, 1):.0f} ms per update)")  # fmt: skip
    for title, rows in (("own time", own), ("with what it called", inclusive)):
        print(f"\n{title}:")
        for function, ms in rows:
            print(f"  {ms:8.0f} ms  {function}")
    if args.callers:
        print(f"\ninto {args.callers}:")
        for path, ms in callers(profile, args.callers, args.top):
            print(f"  {ms:8.0f} ms  {path}")


if __name__ == "__main__":
    main()

"""Where a live status page spends the browser's time.

    python benchmarks/browser_profile.py [--workers 100] [--seconds 20] [--top 15]
                                         [--callers FUNCTION] [--openings N]

Serves the status layout over a synthetic cluster of ``--workers`` workers
(every value changes every poll), opens it in one headless Chromium tab,
lets it settle, then records the tab's main thread with Chromium's CPU
profiler for ``--seconds`` and prints: updates received per second, the
share of the time the main thread was busy, busy milliseconds per update,
and the functions that took the most time (their own time, and with what
they called), and with ``--callers`` the call paths into one function. On a
machine without a GPU this is what limits how many tabs can redraw at the
feed's pace.

With ``--openings N`` it profiles opening the page instead: N times, each in
a new browser context (nothing kept from the last), from navigation until
every plot is drawn. It prints the median open time, main-thread time and
requests, the main-thread time by the script whose code started the work,
and the functions that took the most time, per opening.

The server and the browser it starts are stopped at the end. Needs Debian's
``chromium``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from side_by_side import (  # noqa: E402
    DRAWN,
    VIEWPORT,
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


def by_script(profile: dict) -> Counter:
    """Main-thread ms by the script whose code started the work (the outermost
    frame with a URL), or by the kind of work when no script did."""
    nodes = {node["id"]: node for node in profile["nodes"]}
    parent = {child: node["id"] for node in profile["nodes"] for child in node.get("children", ())}
    spent = Counter()
    for sample, micros in zip(profile["samples"], profile["timeDeltas"], strict=True):
        started, node = "", sample
        while node is not None:
            started = nodes[node]["callFrame"]["url"] or started
            node = parent.get(node)
        script = started.rsplit("/", 1)[-1].split("?")[0]
        spent[script or nodes[sample]["callFrame"]["functionName"]] += micros / 1000
    spent.pop("(idle)", None)
    return spent


def profile_openings(browser, url: str, openings: int) -> list[dict]:
    """Open ``url`` ``openings`` times, each in a new context, profiled from navigation
    until drawn: ``open`` seconds, the CPU ``profile``, ``requests`` made."""
    results = []
    for _ in range(openings):
        context = browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        requests = []
        page.on("request", lambda request, made=requests: made.append(request.url))
        cdp = context.new_cdp_session(page)
        cdp.send("Profiler.enable")
        cdp.send("Profiler.setSamplingInterval", {"interval": 200})
        cdp.send("Profiler.start")
        began = time.monotonic()
        page.goto(url, timeout=120_000)
        page.wait_for_function(DRAWN, timeout=120_000, polling=50)
        opened = time.monotonic() - began
        results.append({"open": opened, "profile": cdp.send("Profiler.stop")["profile"],
                        "requests": len(requests)})  # fmt: skip
        context.close()
        time.sleep(2)  # the server builds the next page ahead
    return results


def print_openings(results: list[dict], top: int) -> None:
    count = len(results)
    summaries = [summarize(r["profile"], top) for r in results]
    busy = statistics.median(busy for busy, _own, _inclusive in summaries)
    opened = statistics.median(r["open"] for r in results)
    requests = statistics.median(r["requests"] for r in results)
    print(f"{count} openings: open {opened:.2f} s, main thread busy {busy:.3f} s, "
          f"{requests:.0f} requests (medians)")
    scripts, own, inclusive = Counter(), Counter(), Counter()
    for result, (_busy, own_rows, inclusive_rows) in zip(results, summaries, strict=True):
        scripts.update(by_script(result["profile"]))
        own.update(dict(own_rows))
        inclusive.update(dict(inclusive_rows))
    for title, rows in (("by the script that started it", scripts.most_common(top)),
                        ("own time", own.most_common(top)),
                        ("with what it called", inclusive.most_common(top))):  # fmt: skip
        print(f"\n{title}, ms per opening:")
        for name, ms in rows:
            print(f"  {ms / count:8.0f} ms  {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--callers", metavar="FUNCTION",
                        help="also print the call paths into FUNCTION")  # fmt: skip
    parser.add_argument("--openings", type=int, metavar="N",
                        help="profile opening the page N times instead of a settled page")
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
                if args.openings:
                    openings = profile_openings(browser, url, args.openings)
                    browser.close()
                    print(f"{args.workers} synthetic workers")
                    print_openings(openings, args.top)
                    return
                context = browser.new_context(viewport=VIEWPORT)
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

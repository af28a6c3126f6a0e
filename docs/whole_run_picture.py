"""Draw docs/whole-run.png: the exported task stream of a two-hour simulated run.

    .venv/bin/python docs/whole_run_picture.py

The run has phases a Dask user hunts for: steady work, a stretch where most
threads wait (idle), a shuffle (transfers), a failing step (errors), and
steady work again. It is exported as the offline HTML report and screenshotted
in Chromium, so the picture is what a user sees.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from dashkit.export import save_html
from dashkit.layouts import Layout

OUT = Path(__file__).with_name("whole-run.png")
#: (minutes from, to, source parameters) of each phase.
PHASES = [
    (0, 35, {"load": 0.95, "transfer_rate": 0.02, "error_rate": 0.0}),
    (35, 50, {"load": 0.25}),
    (50, 75, {"load": 0.9, "transfer_rate": 0.8}),
    (75, 85, {"load": 0.9, "transfer_rate": 0.02, "error_rate": 0.05}),
    (85, 120, {"load": 0.95, "error_rate": 0.0}),
]


def main() -> None:
    layout = Layout.from_spec({
        "title": "A two-hour run",
        "source": {"type": "synthetic", "n_workers": 16, "seed": 4, "tick": 5.0,
                   "mean_duration": 0.3, "start_time": 0.0},
        "feed": {"max_task_rows": 400_000},
        "columns": [{"cells": [{"type": "task_stream", "height": 420}]}],
    })  # fmt: skip
    source = layout.feed.source
    for start, stop, params in PHASES:
        source.param.update(**params)
        for _ in range(int((stop - start) * 60 / source.tick)):
            layout.feed.poll()
    with tempfile.TemporaryDirectory() as folder:
        report = save_html(layout, Path(folder) / "run.html")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=shutil.which("chromium"))
            page = browser.new_page(viewport={"width": 1100, "height": 560})
            page.goto(report.as_uri())
            page.locator("canvas").first.wait_for()
            page.wait_for_timeout(500)  # the image is decoded after the canvas appears
            page.screenshot(path=str(OUT), full_page=True)
            browser.close()
    print(f"{OUT}: {layout.feed.tasks.total:,} rows, {layout.feed.tasks.dropped:,} dropped")


if __name__ == "__main__":
    main()

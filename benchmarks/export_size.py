"""Size and time of an offline HTML export of the status page, by task-stream rows.

    python benchmarks/export_size.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from dashkit.export import save_html
from dashkit.layouts import Layout, status_spec


def export(rows: int, folder: Path) -> tuple[int, float, float]:
    spec = {**status_spec(), "source": {"type": "synthetic", "n_workers": 32, "seed": 1,
                                        "history_rows": rows}}  # fmt: skip
    layout = Layout.from_spec(spec)
    layout.feed.stop()
    layout.feed.poll()
    for component in layout.components():
        component.update()
    began = time.perf_counter()
    path = save_html(layout, folder / f"status-{rows}.html")
    return layout.feed.tasks.total, path.stat().st_size / 1e6, time.perf_counter() - began


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        print(f"{'rows':>10} {'MB':>6} {'seconds':>8}")
        for rows in (1_000, 20_000, 100_000, 1_000_000):
            total, size, seconds = export(rows, Path(folder))
            print(f"{total:>10,} {size:>6.1f} {seconds:>8.1f}", flush=True)

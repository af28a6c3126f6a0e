"""Run every benchmark and print its numbers: `make bench` (or python benchmarks/run.py)."""

import runpy
from pathlib import Path

HERE = Path(__file__).parent

if __name__ == "__main__":
    for script in ("feed_cost.py", "task_stream.py", "history_frames.py", "export_size.py",
                   "replay.py", "long_replay.py", "side_by_side.py", "browser_profile.py",
                   "page_memory.py", "soak.py"):
        print(f"== {script}", flush=True)
        runpy.run_path(str(HERE / script), run_name="__main__")

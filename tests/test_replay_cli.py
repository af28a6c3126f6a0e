"""``dashkit record`` and ``dashkit export --replay``: a full-history report from a recording."""

from __future__ import annotations

import re
import subprocess

from dashkit.sources import Recording
from tests.conftest import ROOT
from tests.helpers import BIN
from tests.test_export import open_offline


def dashkit(*args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([str(BIN / "dashkit"), *args], capture_output=True, text=True,
                            timeout=600, cwd=ROOT)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result


def test_export_replay_of_a_million_rows_is_an_offline_full_history(tmp_path, browser):
    recording = tmp_path / "million.dkrec"
    dashkit("record", "--synthetic", "--workers", "64", "--rows", "1000000", "--duration", "1",
            "-o", str(recording))  # fmt: skip
    rows = len(Recording.read(recording).tasks)
    assert rows > 990_000

    report = tmp_path / "report.html"
    result = dashkit("export", "--replay", str(recording), "-o", str(report))
    exported = int(re.search(r"([\d,]+) task-stream rows\)", result.stderr).group(1)
                   .replace(",", ""))  # fmt: skip
    assert exported == rows  # the whole run, none dropped
    seen = open_offline(browser, report, "export-replay.png")
    assert seen["blocked"] == [] and seen["failed"] == [] and seen["errors"] == []
    assert seen["images"] >= 1  # the history beyond the newest rows is one image
    assert f"{rows:,} task-stream rows" in report.read_text()

"""The data layer (sources, Feed, buffers) imports nothing about drawing."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "dashkit"
SOURCES = [f"sources/{path.name}" for path in (PACKAGE / "sources").glob("*.py")]
DATA = ["feed.py", "task_history.py", "task_buffer.py", "frame_cache.py", "schema.py",
        "recorder.py", *SOURCES]  # fmt: skip
DRAWING = {"dashkit.theme", "dashkit.raster", "dashkit.task_picture", "dashkit.task_summary",
           "dashkit.components", "dashkit.layouts", "dashkit.export", "holoviews", "bokeh",
           "panel", "datashader", "numba"}  # fmt: skip


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
    return names


@pytest.mark.parametrize("module", DATA)
def test_the_data_layer_imports_nothing_about_drawing(module):
    drawing = {name for name in imported(PACKAGE / module)
               if any(name == d or name.startswith(d + ".") for d in DRAWING)}  # fmt: skip
    assert drawing == set()

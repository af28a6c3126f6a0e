"""Export: a layout as one HTML file that opens offline, or as a standalone app.

**HTML.** Panel's ``save(resources=INLINE)`` still links the holoviz CDN and
web fonts, so the file breaks without a network. dashkit instead renders
each component's current frame to plain Bokeh models (HoloViews' renderer),
arranges them with Bokeh layouts and writes them with Bokeh's inline
resources: one file, every script inside, no request to any host. Zoom, pan
and hover work on what is embedded. The task stream embeds its newest rows
as rectangles (exact hover) and, when the history is dense, the whole history
as a high-resolution image.

**App.** A folder with the layout's spec, an ``app.py`` that serves it (the
same few lines for every layout), and a README line: ``panel serve app.py``.

Example
-------
>>> from dashkit.layouts import Layout
>>> layout = Layout.from_spec({"source": {"type": "synthetic", "seed": 1},
...                            "columns": [{"cells": [{"type": "progress"}]}]})
>>> layout.feed.poll()
True
>>> save_html(layout, "/tmp/report.html")   # doctest: +SKIP
"""

from __future__ import annotations

import html
import re
import time
from pathlib import Path

from bokeh.core.templates import FILE
from bokeh.embed import file_html
from bokeh.layouts import column, row
from bokeh.models import Div
from bokeh.resources import INLINE
from bokeh.themes import built_in_themes
from jinja2 import Environment

from dashkit import theme
from dashkit.files import write_atomically
from dashkit.layouts import Layout
from dashkit.layouts import Tabs as LayoutTabs
from dashkit.markup import markdown_html
from dashkit.sources import ReplaySource

_PAGE = Environment().from_string(
    "{% extends base %}{% block preamble %}<style>{{ style }}</style>{% endblock %}"
)
_EXTERNAL_SCRIPT = re.compile(r'<script[^>]*\bsrc="[^"]*"[^>]*>\s*</script>')

# Constant: spec text (the title, the folder's name) never goes into code.
_APP = '''"""A dashkit layout: serve it with `panel serve app.py`; the layout is layout.yaml."""

from pathlib import Path

from dashkit.layouts import serve_spec

serve_spec(Path(__file__).with_name("layout.yaml"))
'''


def _cell(cell):
    if isinstance(cell, LayoutTabs):
        # A report shows every tab at once: stacked, each under its own title.
        return column([c.export_model() for c in cell.tabs.values()], sizing_mode="stretch_width")
    return cell.export_model()


def _header(layout: Layout) -> Div:
    feed = layout.feed
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime())
    info = f"<div>{markdown_html(layout.info)}</div>" if layout.info else ""
    if isinstance(feed.source, ReplaySource):
        info += f"<div>Replay of {html.escape(str(feed.source.path))}</div>"
    named = layout.feeds or {"": feed}
    lines = "".join(
        f"<div class='dashkit-export-meta'>{html.escape(name) + ': ' if name else ''}"
        f"feed {html.escape(f.status)} · {theme.count(len(f.workers), 'worker')} · "
        f"{theme.count(f.tasks.total, 'task-stream row')}"
        f"{f' ({f.dropped:,} dropped)' if f.dropped else ''}"
        "</div>"
        for name, f in named.items()
    )
    return Div(
        text=(f"<h2 style='margin:0'>{html.escape(layout.title)}</h2>{info}"
              f"<div class='dashkit-export-meta'>Exported {stamp}</div>{lines}"),
        sizing_mode="stretch_width",
    )  # fmt: skip


def bokeh_model(layout: Layout):
    """The layout's current data as one Bokeh model (no Panel models inside)."""
    columns = []
    for col in layout.columns:
        children = [_cell(c) for c in col.cells]
        columns.append(column(children, sizing_mode="stretch_width",
                              styles={"flex": f"{col.width} 1 0", "min-width": "0"}))  # fmt: skip
    return column([_header(layout), row(columns, sizing_mode="stretch_width")],
                  sizing_mode="stretch_width")  # fmt: skip


def render_html(layout: Layout) -> str:
    """The layout as a self-contained HTML page (all JavaScript and CSS inline)."""
    palette = theme.PALETTES[layout.theme]
    bokeh_theme = built_in_themes["dark_minimal"] if layout.theme == "dark" else None
    style = (
        f"body{{background:{palette.background};color:{palette.text};"
        "font-family:sans-serif;margin:12px}"
    )
    page = file_html(
        bokeh_model(layout), resources=INLINE, title=layout.title, theme=bokeh_theme,
        template=_PAGE, template_variables={"base": FILE, "style": style},
    )  # fmt: skip
    # Importing Panel registers a script it loads by relative URL (ES module
    # shims for its own models); none of Panel's models is in this page.
    return _EXTERNAL_SCRIPT.sub("", page)


def save_html(layout: Layout, path: str | Path, force: bool = False) -> Path:
    """Write the layout with its current data to ``path``; returns the path.

    An existing file is replaced only with ``force=True``."""
    path = Path(path)
    _refuse_existing([path], force)
    write_atomically(path, render_html(layout))
    return path


def save_app(layout: Layout, folder: str | Path, force: bool = False) -> Path:
    """Write ``folder`` with ``layout.yaml``, ``app.py`` and a README line; returns ``app.py``.

    Existing files of the folder are replaced only with ``force=True``."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise FileExistsError(f"{folder} is a file, not a folder")
    files = {name: folder / name for name in ("layout.yaml", "app.py", "README.md")}
    _refuse_existing(files.values(), force)
    folder.mkdir(parents=True, exist_ok=True)
    write_atomically(files["layout.yaml"], layout.to_yaml())
    write_atomically(files["app.py"], _APP)
    write_atomically(files["README.md"], (
        f"# {layout.title}\n\nServe it with `panel serve app.py` in this folder "
        "(add `--args --scheduler tcp://HOST:8786` for another cluster).\n"
    ))  # fmt: skip
    return files["app.py"]


def _refuse_existing(paths, force: bool) -> None:
    existing = [str(p) for p in paths if p.exists()]
    if existing and not force:
        them = "it" if len(existing) == 1 else "them"
        raise FileExistsError(f"{', '.join(existing)} exist{'s' * (len(existing) == 1)}: "
                              f"give --force (force=True) to replace {them}")  # fmt: skip

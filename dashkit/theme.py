"""Colours, thresholds, formatters and tooltips: defined once, used by every component.

The colour rules follow the Dask dashboard, so that a Dask user reads
dashkit plots the same way:

* memory bars: blue, orange from ``min(target, spill)`` of the limit, red from
  ``terminate`` of the limit or when the worker is not running; segments
  managed / unmanaged-old / unmanaged-recent at alphas 1 / 0.7 / 0.4, spilled
  in grey;
* task stream: compute in the prefix's colour (one stable hash palette shared
  with Progress, the same in every process), transfer red, disk orange,
  deserialize grey (all at alpha 0.4), a compute that erred black;
* worker bars: idle and saturated workers are marked.

Example
-------
>>> prefix_color("inc")
'#45BF6F'
>>> memory_color(process=[10, 70, 99], limit=[100, 100, 100], status=["running"] * 3).tolist()
['#1f77b4', '#ff7f0e', '#d62728']
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from dask.utils import format_bytes, format_time

__all__ = [
    "format_bytes",
    "format_bytes_array",
    "format_time",
    "format_time_array",
    "prefix_color",
    "memory_color",
    "MemoryThresholds",
    "Palette",
    "PALETTES",
    "tooltip",
    "TASK_HOVER_JS",
    "short_label",
    "count",
    "packed_colors",
]

#: The 18-colour Viridis of the Dask dashboard; a prefix's colour is chosen
#: by hashing its name, so it is the same in every process and session.
PREFIX_PALETTE: tuple[str, ...] = (
    "#440154", "#471669", "#472A79", "#433C84", "#3C4D8A", "#355D8C",
    "#2E6C8E", "#287A8E", "#23898D", "#1E978A", "#20A585", "#2EB27C",
    "#45BF6F", "#64CB5D", "#88D547", "#AFDC2E", "#D7E219", "#FDE724",
)  # fmt: skip

BLUE = "#1f77b4"
ORANGE = "#ff7f0e"
RED = "#d62728"
GREEN = "#2ca02c"
GREY = "#808080"
BLACK = "#000000"
WHITE = "#ffffff"

#: Alpha of each memory segment, in drawing order.
MEMORY_SEGMENTS: tuple[tuple[str, float], ...] = (
    ("managed", 1.0),
    ("unmanaged_old", 0.7),
    ("unmanaged_recent", 0.4),
    ("spilled", 1.0),
)
SPILLED_COLOR = GREY

#: Task-stream colours and alphas of the actions that are not computes: the
#: CSS red, orange and gray (and black for a failed compute) of Dask's own
#: task stream, so a Dask user reads them the same way.
TRANSFER_COLOR = "#ff0000"  # CSS red
DISK_COLOR = "#ffa500"  # CSS orange
ACTION_STYLE: dict[str, tuple[str, float]] = {
    "transfer": (TRANSFER_COLOR, 0.4),
    "disk-read": (DISK_COLOR, 0.4),
    "disk-write": (DISK_COLOR, 0.4),
    "deserialize": (GREY, 0.4),
}
ERRED_COLOR = BLACK
#: Every task-stream rectangle has an outline this many pixels wide, in its own
#: colour at this alpha, as on Dask's page: a 2 ms transfer beside 2 s computes
#: is narrower than a pixel, and without it the short rows users look for
#: (transfers, disk, errors) vanish.
TASK_OUTLINE_WIDTH = 3
TASK_OUTLINE_ALPHA = 0.6

#: Task-stream colour classes: the prefix palette, then transfer, disk,
#: deserialize and erred (a compute that failed; its other rows keep their colour).
CLASS_COLORS: tuple[str, ...] = (
    *PREFIX_PALETTE, ACTION_STYLE["transfer"][0], ACTION_STYLE["disk-read"][0],
    ACTION_STYLE["deserialize"][0], ERRED_COLOR,
)  # fmt: skip
CLASS_ALPHAS: tuple[float, ...] = (
    *(1.0,) * len(PREFIX_PALETTE), ACTION_STYLE["transfer"][1], ACTION_STYLE["disk-read"][1],
    ACTION_STYLE["deserialize"][1], 1.0,
)  # fmt: skip
#: The colours of the rows that are not a compute of their prefix, or erred.
RESERVED_COLORS: tuple[str, ...] = CLASS_COLORS[len(PREFIX_PALETTE):]
CLASS_TRANSFER, CLASS_DISK, CLASS_DESERIALIZE, CLASS_ERRED = range(
    len(PREFIX_PALETTE), len(CLASS_COLORS)
)

#: Progress segments: (state, colour or None for the prefix colour, alpha).
PROGRESS_SEGMENTS: tuple[tuple[str, str | None, float], ...] = (
    ("released", None, 0.6),
    ("memory", None, 1.0),
    ("erred", BLACK, 0.5),
    ("processing", GREY, 0.35),
    ("queued", GREY, 0.35),
    ("no_worker", RED, 0.35),
)
#: Progress segments drawn hatched over their colour: state -> (pattern, pattern colour).
PROGRESS_HATCHES: dict[str, tuple[str, str]] = {"queued": ("/", WHITE), "no_worker": ("x", BLACK)}
PROGRESS_BACKGROUND = "#aaaaaa"

#: Worker bars (processing, CPU, occupancy): colour by the worker's state.
WORKER_STATE_COLORS = {"idle": RED, "saturated": GREEN, "busy": BLUE}


#: Axis labels (worker names, prefixes) are shortened to this many characters,
#: and every plot keeps this many pixels left of its frame for them, so that
#: a settled page never changes size when labels change.
LABEL_CHARS = 12
LABEL_BORDER = 110

#: About this many ticks on a bytes axis: the memory plots are narrow.
BYTE_TICKS = 4


#: Dask's binary units, smallest first; a value is written in the largest
#: unit it reaches 0.9 of (as :func:`format_bytes` does).
_BYTE_UNITS = ((2**10, "kiB"), (2**20, "MiB"), (2**30, "GiB"), (2**40, "TiB"), (2**50, "PiB"))


def format_bytes_array(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """:func:`format_bytes` of each value, as an object array.

    A plot of 1,000 workers writes thousands of these per poll: the units are
    chosen with numpy and each number is formatted once, about twice as
    fast as calling :func:`format_bytes` per value (same text).

    >>> format_bytes_array([1, 1234, 1234567890]).tolist()
    ['1 B', '1.21 kiB', '1.15 GiB']
    """
    n = np.asarray(values, dtype=float).ravel()
    scale = np.ones(n.size)
    suffix = np.full(n.size, "", dtype=object)
    for factor, unit in _BYTE_UNITS:
        reached = n >= factor * 0.9
        scale[reached], suffix[reached] = factor, unit
    text = [f"{v:.2f} {u}" if u else f"{int(w)} B"
            for v, u, w in zip((n / scale).tolist(), suffix.tolist(), n.tolist(), strict=True)]
    return np.array(text, dtype=object)


def format_time_array(seconds: Sequence[float] | np.ndarray) -> np.ndarray:
    """:func:`format_time` of each value, as an object array (same text; task
    durations under ten minutes, nearly all of them, are formatted in bulk).

    >>> format_time_array([0.000123, 0.0123, 12.3]).tolist()
    ['123.00 us', '12.30 ms', '12.30 s']
    """
    n = np.asarray(seconds, dtype=float).ravel()
    scaled = np.where(n >= 1, n, np.where(n >= 1e-3, n * 1e3, n * 1e6))
    unit = np.where(n >= 1, "s", np.where(n >= 1e-3, "ms", "us"))
    text = [f"{v:.2f} {u}" for v, u in zip(scaled.tolist(), unit.tolist(), strict=True)]
    for i in np.flatnonzero(n > 60 * 10):  # minutes, hours, days: rare
        text[i] = format_time(float(n[i]))
    return np.array(text, dtype=object)


def count(n: int, one: str, many: str | None = None) -> str:
    """``n`` things, in the singular or the plural (``one + "s"`` unless ``many``).

    >>> count(1, "worker"), count(1200, "worker"), count(2, "dependency", "dependencies")
    ('1 worker', '1,200 workers', '2 dependencies')
    """
    return f"{n:,} {one if n == 1 else many or one + 's'}"


def short_label(text: str, most: int = LABEL_CHARS) -> str:
    """``text`` shortened to ``most`` characters with an ellipsis in the middle."""
    text = str(text)
    if len(text) <= most:
        return text
    head = (most - 1) // 2
    return f"{text[:head]}…{text[len(text) - (most - 1 - head):]}"


def packed_colors(colors: Sequence[str]) -> np.ndarray:
    """``#rrggbb`` colours as opaque RGBA packed in one integer each (``0xRRGGBBAA``).

    The browser takes a ``uint32`` colour column as it is; a column of colour
    strings it parses again, every row, whenever the column changes (measured:
    an eighth of a live status page's time in the browser).

    >>> hex(int(packed_colors(["#d62728"])[0]))
    '0xd62728ff'
    """
    return np.array([int(c.lstrip("#"), 16) << 8 | 0xFF for c in colors], dtype=np.uint32)


@lru_cache(maxsize=4096)
def prefix_color(prefix: str) -> str:
    """The colour of a task prefix: md5 of the name into the 18-colour palette."""
    digest = int(hashlib.md5(str(prefix).encode()).hexdigest()[:8], 16)
    return PREFIX_PALETTE[digest % len(PREFIX_PALETTE)]


@dataclass(frozen=True)
class MemoryThresholds:
    """Fractions of the memory limit that change a bar's colour.

    The defaults are Dask's (``distributed.worker.memory.*``); pass the
    cluster's own when they differ.
    """

    target: float | None = 0.6
    spill: float | None = 0.7
    pause: float | None = 0.8
    terminate: float | None = 0.95

    @property
    def orange(self) -> float:
        return min(self.target or np.inf, self.spill or np.inf)

    @property
    def red(self) -> float:
        return min(self.terminate or np.inf, 1.0)


def memory_color(
    process: Sequence[float],
    limit: Sequence[float],
    status: Sequence[str],
    thresholds: MemoryThresholds = MemoryThresholds(),
) -> np.ndarray:
    """Bar colour per worker: red when not running or over ``terminate``,
    orange over ``min(target, spill)``, blue otherwise (and with no limit)."""
    process = np.asarray(process, dtype=float)
    limit = np.asarray(limit, dtype=float)
    running = np.asarray(status, dtype=object) == "running"
    has_limit = limit > 0
    color = np.full(process.shape, BLUE, dtype=object)
    color[has_limit & (process >= limit * thresholds.orange)] = ORANGE
    color[has_limit & (process >= limit * thresholds.red)] = RED
    color[~running] = RED
    return color


def worst_color(colors: Sequence[str]) -> str:
    """The cluster's colour: red if any worker is red, else orange if any is, else blue."""
    present = set(colors)
    return next((c for c in (RED, ORANGE) if c in present), BLUE)


@dataclass(frozen=True)
class Palette:
    """Plot chrome of a light or dark page."""

    background: str
    text: str
    grid: str


PALETTES: dict[str, Palette] = {
    "light": Palette(background="#ffffff", text="#212529", grid="#e5e5e5"),
    "dark": Palette(background="#181a1b", text="#e8e6e3", grid="#3a3e41"),
}


#: Pixels of the title line above each plot on a page.
HEADING_HEIGHT = 24


def heading_html(text: str) -> str:
    """A plot's title line on a page: bold, cut to the width with an ellipsis,
    the whole of it on hover; ``text`` is escaped."""
    escaped = html.escape(str(text), quote=True)
    return (f'<div class="dashkit-title" title="{escaped}" style="font-weight:bold;'
            "font-size:13px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;"
            f'padding-left:10px;line-height:{HEADING_HEIGHT}px">{escaped}</div>')


def tooltip(rows: Sequence[tuple[str, ...]]) -> str:
    """A Bokeh HTML tooltip of ``(label, field)`` or ``(label, field, format)``
    rows, the one style of every plot. A ``format`` names what a formatter of
    the field (see :data:`TASK_HOVER_JS`) makes of its value.

    >>> tooltip([("Prefix", "prefix", "prefix")]).count("@{prefix}{prefix}")
    1
    """
    body = "".join(
        f'<div><span style="font-weight:bold">{label}:</span>&nbsp;'
        f"<span>@{{{field}}}{''.join(f'{{{f}}}' for f in format_)}</span></div>"
        for label, field, *format_ in rows
    )
    return f'<div style="font-size:12px;padding:2px">{body}</div>'


#: The task stream's hover formatter: the body of a Bokeh ``CustomJSHover``,
#: run in the browser. ``value`` is a code and ``format`` the lookup that names
#: it in ``names`` (:meth:`dashkit.task_picture.HoverNames.lookups`); "worker"
#: goes through the worker of a (worker, thread) pair, and "duration" formats
#: seconds as :func:`format_time` does, to the digit (a tie at the second
#: decimal rounds to even, as Python's ``%.2f`` does and ``toFixed`` does not).
TASK_HOVER_JS = """
function fixed2(x) {
  const exact = x.toFixed(100), cut = exact.indexOf(".") + 3, kept = exact.slice(0, cut);
  return /^50*$/.test(exact.slice(cut)) && +kept.slice(-1) % 2 === 0 ? kept : x.toFixed(2);
}
if (format === "duration") {
  const n = value;
  if (n > 24 * 60 * 60 * 2) {
    const d = Math.trunc(n / 3600 / 24);
    return `${d}d ${Math.trunc((n - d * 3600 * 24) / 3600)}hr`;
  }
  if (n > 60 * 60 * 2) {
    const h = Math.trunc(n / 3600);
    return `${h}hr ${Math.trunc((n - h * 3600) / 60)}m`;
  }
  if (n > 60 * 10) {
    const m = Math.trunc(n / 60);
    return `${m}m ${Math.trunc(n - m * 60)}s`;
  }
  if (n >= 1) return `${fixed2(n)} s`;
  if (n >= 1e-3) return `${fixed2(n * 1e3)} ms`;
  return `${fixed2(n * 1e6)} us`;
}
const lookup = names[format], code = format === "worker" ? names.worker_of[value] : value;
return (lookup === undefined ? undefined : lookup[code]) ?? "";
"""

"""Raster: the task-stream history as one RGBA image that keeps rare rows visible.

An image is made in two steps. First the busy seconds of each colour class
are summed per *cell*: one pixel column by one *band* of lanes, either from
rows (:func:`add_rows`) or from a pyramid level of time bins
(:func:`add_bins`, see :mod:`dashkit.task_summary`). The sums are exact:
each row adds the time it overlaps each column, and a row shorter than a
column still counts (at least :data:`PRESENT` seconds). Then :func:`paint`
colours each cell by these rules, so that what a Dask user looks for in a
long run survives any zoom:

* **Erred wins.** A cell holding any erred compute is black.
* **Rare rows keep a mark.** Transfers (red), disk reads and writes (orange)
  and (de)serialization (grey) take a share of the band's pixel rows equal to
  their share of the cell's busy time, and at least one pixel row each,
  at alpha :data:`dashkit.theme.TASK_OUTLINE_ALPHA` (the outline of Dask's
  rectangles). The rest of the band shows the compute that took most time.
* **Idle shows.** A compute's alpha follows the cell's busy share (busy
  seconds over the lanes' seconds): ``IDLE_FLOOR + (1 - IDLE_FLOOR) * busy``,
  so a half-idle lane is lighter than a busy one and the white gaps stay
  readable, while a lone short task still leaves a mark.

A band is one lane's bar where lanes are at least :data:`MIN_BAND_PIXELS`
tall; where they are thinner, consecutive lanes are summed into bands that
tall, so that a rare mark never fills a whole band.

The sums run in numba-compiled loops over the rows (or bins) in view. A
count of rows per pixel and class, coloured by the class counted most (what
datashader's aggregation gave before), let the computes around an erred task
outvote it: in a whole-run image of 1M rows, 105 of 1,730 erred tasks showed.

Example
-------
>>> import numpy as np
>>> image = rasterize(np.array([0.0]), np.array([1.0]), np.array([0], np.int32),
...                   np.array([0], np.int8), (0, 1), (-0.5, 0.5), width=4, height=5)
>>> image.shape, image.dtype
((5, 4), dtype('uint32'))
"""

from __future__ import annotations

import math
import threading

import numpy as np
from bokeh.colors import RGB as BokehRGB  # noqa: N811
from bokeh.colors import named

from dashkit import theme

BAR = 0.8
"""Height of a task-stream bar, in lane units (lanes are one unit apart)."""
MIN_BAND_PIXELS = 3
"""Pixel rows of the thinnest band: thinner lanes are summed into bands this tall."""
IDLE_FLOOR = 0.3
"""Alpha (as a share of the class's) of a compute cell that is busy an instant."""
PRESENT = 1e-9
"""Seconds a row adds to the column of its start at least, so zero-length rows show."""
N_CLASSES = len(theme.CLASS_COLORS)
_RARE = np.array([theme.CLASS_TRANSFER, theme.CLASS_DISK, theme.CLASS_DESERIALIZE], np.int64)


def _rgb(color: str) -> tuple[int, int, int]:
    parsed = getattr(named, color, None) or BokehRGB.from_hex_string(color)
    return parsed.r, parsed.g, parsed.b


_RGB = np.array([_rgb(c) for c in theme.CLASS_COLORS], dtype=np.uint32)
#: Packed RGB of each class in Bokeh's byte order (alpha added when painting).
_PACKED_RGB = _RGB[:, 0] | (_RGB[:, 1] << 8) | (_RGB[:, 2] << 16)
_ALPHAS = np.asarray(theme.CLASS_ALPHAS, dtype=np.float64)


def _njit(function):
    import numba  # a second of import that only drawing history needs

    return numba.njit(cache=True, nogil=True)(function)


def _add_rows(x0, x1, pair, cls, band_of_pair, t0, dt, out):
    n_bands, n_cols, _ = out.shape
    for i in range(x0.size):
        band = band_of_pair[pair[i]]
        if band < 0 or band >= n_bands:
            continue
        a = (x0[i] - t0) / dt
        b = (x1[i] - t0) / dt
        if b < 0.0 or a > n_cols:
            continue
        a = max(a, 0.0)
        b = min(b, float(n_cols))
        first = min(int(a), n_cols - 1)
        last = max(min(int(math.ceil(b)), n_cols), first + 1)
        for col in range(first, last):
            seconds = (min(b, col + 1.0) - max(a, float(col))) * dt
            if col == first:
                seconds = max(seconds, PRESENT)
            if seconds > 0.0:
                out[band, col, cls[i]] += seconds


def _add_bins(data, head, width, t0, dt, band_of_pair, out):
    ring, n_pairs, n_classes = data.shape
    n_bands, n_cols, _ = out.shape
    first_bin = max(int(math.floor(t0 / width)), head - ring + 1, 0)
    last_bin = min(int(math.floor((t0 + n_cols * dt) / width)), head)
    for b in range(first_bin, last_bin + 1):
        slot = b % ring
        a = (b * width - t0) / dt
        e = ((b + 1) * width - t0) / dt
        for col in range(max(int(a), 0), min(int(math.ceil(e)), n_cols)):
            share = (min(e, col + 1.0) - max(a, float(col))) / (e - a)
            if share <= 0.0:
                continue
            for p in range(min(n_pairs, band_of_pair.size)):
                band = band_of_pair[p]
                if band < 0 or band >= n_bands:
                    continue
                for c in range(n_classes):
                    value = data[slot, p, c]
                    if value > 0.0:
                        # A bin split between two columns marks both: its rows may sit in either.
                        out[band, col, c] += max(value * share, PRESENT)


def _paint(cells, capacity, row0, row1, rgb, alphas, rare, erred, rare_alpha, floor, image):
    n_bands, n_cols, n_classes = cells.shape
    n_palette = rare[0]
    for band in range(n_bands):
        r0, r1 = row0[band], row1[band]
        if r1 <= r0:
            continue
        for col in range(n_cols):
            total = 0.0
            for c in range(n_classes):
                total += cells[band, col, c]
            if total <= 0.0:
                continue
            if cells[band, col, erred] > 0.0:
                for r in range(r0, r1):
                    image[r, col] = rgb[erred] | np.uint32(255) << np.uint32(24)
                continue
            top = r1
            rows = r1 - r0
            largest_rare, largest = -1, 0.0
            for k in range(rare.size):
                seconds = cells[band, col, rare[k]]
                if seconds <= 0.0:
                    continue
                if seconds > largest:
                    largest_rare, largest = rare[k], seconds
                n = max(1, int(round(seconds / total * rows)))
                n = min(n, top - r0)
                pixel = rgb[rare[k]] | np.uint32(int(255 * rare_alpha)) << np.uint32(24)
                for r in range(top - n, top):
                    image[r, col] = pixel
                top -= n
            if top <= r0:
                continue
            best, best_seconds = -1, 0.0
            for c in range(n_palette):
                if cells[band, col, c] > best_seconds:
                    best, best_seconds = c, cells[band, col, c]
            if best < 0:  # only rare rows: the largest fills the band
                pixel = rgb[largest_rare] | np.uint32(int(255 * rare_alpha)) << np.uint32(24)
            else:
                busy = min(total / capacity[band], 1.0)
                alpha = alphas[best] * (floor + (1.0 - floor) * busy)
                pixel = rgb[best] | np.uint32(int(round(255 * alpha))) << np.uint32(24)
            for r in range(r0, top):
                image[r, col] = pixel


_kernels: dict = {}
_compile = threading.Lock()


def _kernel(name: str):
    # Compiled once per process, behind a lock: numba compiling the same
    # function on two threads at once crashed the process.
    with _compile:
        if name not in _kernels:
            _kernels[name] = _njit({"rows": _add_rows, "bins": _add_bins, "paint": _paint}[name])
        return _kernels[name]


class Bands:
    """How the lanes in view map to bands of pixel rows of an image.

    ``band_of_lane[lane]`` is the band a lane is summed into (-1: out of
    view); ``row0``/``row1`` the pixel rows of each band (bottom row first);
    ``lanes`` the number of lanes summed in each band.

    Example
    -------
    >>> bands = Bands(n_lanes=100, y_range=(-0.5, 99.5), height=100)
    >>> len(bands), int(bands.lanes[0])   # 1 px lanes, summed three at a time
    (34, 3)
    """

    def __init__(self, n_lanes: int, y_range, height: int, pad: float = 0.0):
        y_lo, y_hi = float(y_range[0]), float(y_range[1])
        scale = height / (y_hi - y_lo)  # pixels per lane
        per_band = 1 if scale >= MIN_BAND_PIXELS else math.ceil(MIN_BAND_PIXELS / scale)
        lanes = np.arange(n_lanes)
        band = lanes // per_band
        n_bands = int(band[-1]) + 1 if n_lanes else 0
        starts = np.arange(n_bands) * per_band
        if per_band == 1:  # one bar per lane, with the gap between bars
            half = BAR / 2 + pad
            bottom, top = starts - half, starts + half
        else:  # lanes summed: bands meet, no gaps
            bottom, top = starts - 0.5, np.minimum(starts + per_band, n_lanes) - 0.5
        self.row0 = np.clip(np.round((bottom - y_lo) * scale), 0, height).astype(np.int64)
        self.row1 = np.clip(np.round((top - y_lo) * scale), 0, height).astype(np.int64)
        squashed = (self.row1 <= self.row0) & (top > y_lo) & (bottom < y_hi)
        self.row1[squashed] = np.minimum(self.row0[squashed] + 1, height)
        self.row0[squashed] = self.row1[squashed] - 1
        visible = self.row1 > self.row0
        self.band_of_lane = np.where(visible[band] if n_lanes else [], band, -1).astype(np.int64)
        self.lanes = np.bincount(band, minlength=n_bands).astype(np.float64)

    def __len__(self) -> int:
        return self.row0.size


def empty_cells(bands: Bands, width: int) -> np.ndarray:
    """Zeroed cells (bands x columns x classes) to sum seconds into."""
    return np.zeros((len(bands), width, N_CLASSES), np.float32)


def add_rows(cells: np.ndarray, x0, x1, pair, cls, band_of_pair, t0: float, dt: float) -> None:
    """Add rows ``x0..x1`` (seconds) of lanes ``band_of_pair[pair]`` and classes
    ``cls`` to ``cells``, whose columns are ``dt`` seconds from ``t0``."""
    _kernel("rows")(np.asarray(x0, np.float64), np.asarray(x1, np.float64),
                    np.asarray(pair, np.int32), np.asarray(cls, np.int32),
                    np.asarray(band_of_pair, np.int64), float(t0), float(dt), cells)  # fmt: skip


def add_bins(cells: np.ndarray, data: np.ndarray, head: int, width: float, band_of_pair,
             t0: float, dt: float) -> None:  # fmt: skip
    """Add a pyramid level's ring of bins (``data``: bins x pairs x classes,
    seconds, newest bin ``head``, bins ``width`` seconds) to ``cells``."""
    _kernel("bins")(data, int(head), float(width), float(t0), float(dt),
                    np.asarray(band_of_pair, np.int64), cells)  # fmt: skip


def paint(cells: np.ndarray, bands: Bands, dt: float, height: int) -> np.ndarray:
    """The (height, width) uint32 RGBA image of ``cells`` by the rules above,
    bottom row first."""
    image = np.zeros((height, cells.shape[1]), np.uint32)
    capacity = np.maximum(bands.lanes * dt, 1e-300)
    _kernel("paint")(cells, capacity, bands.row0, bands.row1, _PACKED_RGB, _ALPHAS, _RARE,
                     theme.CLASS_ERRED, theme.TASK_OUTLINE_ALPHA, IDLE_FLOOR, image)  # fmt: skip
    return image


def rasterize(x0: np.ndarray, x1: np.ndarray, lane: np.ndarray, cls: np.ndarray,
              x_range, y_range, width: int, height: int,
              pad: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:  # fmt: skip
    """Rows ``x0..x1`` on lanes ``lane`` coloured by class ``cls``, each bar
    grown by ``pad`` (x, y, in data units) on every side, as a (height, width)
    uint32 RGBA image, bottom row first."""
    lane = np.asarray(lane, np.int32)
    n_lanes = int(lane.max()) + 1 if lane.size else 0
    bands = Bands(n_lanes, y_range, height, pad[1])
    dt = (float(x_range[1]) - float(x_range[0])) / width
    cells = empty_cells(bands, width)
    add_rows(cells, np.asarray(x0) - pad[0], np.asarray(x1) + pad[0], lane, cls,
             bands.band_of_lane, float(x_range[0]), dt)  # fmt: skip
    return paint(cells, bands, dt, height)


_warmed = False
_warming: threading.Thread | None = None
_start = threading.Lock()


def warm_up() -> None:
    """Compile the image's loops now (seconds of numba JIT the first time on a
    machine, then read from numba's cache) rather than in the first dense
    frame. Idempotent; safe to call from any thread."""
    global _warmed
    if _warmed:
        return
    rasterize(np.array([0.0, 1.0]), np.array([0.5, 2.0]), np.array([0, 1], np.int32),
              np.array([0, theme.CLASS_ERRED], np.int8), (0, 2), (-0.5, 1.5), 4, 4)  # fmt: skip
    bands = Bands(1, (-0.5, 0.5), 4)
    add_bins(empty_cells(bands, 4), np.ones((2, 1, N_CLASSES), np.float32), 1, 1.0,
             bands.band_of_lane, 0.0, 0.5)  # fmt: skip
    _warmed = True


def warm_up_in_background() -> None:
    """Start :func:`warm_up` on a daemon thread, once per process (cheap to call again)."""
    global _warming
    with _start:
        if _warming is None and not _warmed:
            _warming = threading.Thread(target=warm_up, name="dashkit-warm-up", daemon=True)
            _warming.start()

"""Raster: the task-stream history as one RGBA image, aggregated with datashader.

Rectangles are aggregated by colour class (``ds.by`` over ``cvs.area``) and
coloured on the server by the dominant class per pixel through a lookup
table: about 20 ms at 1200x400 px whatever the number of rows, where
``tf.shade`` of 20 categories costs ~140 ms.

Example
-------
>>> import numpy as np
>>> image = rasterize(np.array([0.0]), np.array([1.0]), np.array([0.0]), np.array([0], np.int8),
...                   (0, 1), (-0.5, 0.5), width=4, height=2)
>>> image.shape, image.dtype
((2, 4), dtype('uint32'))
"""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
from bokeh.colors import RGB as BokehRGB  # noqa: N811
from bokeh.colors import named

from dashkit import theme

BAR = 0.8
"""Height of a task-stream bar, in row units (rows are one unit apart)."""


def _rgb(color: str) -> tuple[int, int, int]:
    parsed = getattr(named, color, None) or BokehRGB.from_hex_string(color)
    return parsed.r, parsed.g, parsed.b


_LUT = np.array([(*_rgb(c), round(255 * a))
                 for c, a in zip(theme.CLASS_COLORS, theme.CLASS_ALPHAS, strict=True)],
                dtype=np.uint8)  # fmt: skip


def shade(counts: np.ndarray) -> np.ndarray:
    """RGBA image (uint32, Bokeh's layout) of the dominant class per pixel."""
    dominant = counts.argmax(axis=2)
    rgba = _LUT[dominant]
    rgba[counts.sum(axis=2) == 0] = 0
    return rgba.view(np.uint32).reshape(dominant.shape)


def rasterize(x0: np.ndarray, x1: np.ndarray, row: np.ndarray, cls: np.ndarray,
              x_range, y_range, width: int, height: int,
              pad: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:  # fmt: skip
    """Bars ``x0..x1`` on rows ``row`` coloured by class ``cls``, each grown by
    ``pad`` (x, y, in data units) on every side, as a (height, width) uint32
    RGBA image, bottom row first."""
    # Waits for a warm-up still compiling in the background: numba compiling
    # the same function on two threads at once crashed the process.
    warm_up()
    pad_x, pad_y = pad
    return _aggregate(x0 - pad_x, x1 + pad_x, row, cls, x_range, y_range, width, height,
                      BAR / 2 + pad_y)  # fmt: skip


def _floats(pair) -> tuple[float, float]:
    return float(pair[0]), float(pair[1])


def _aggregate(x0, x1, row, cls, x_range, y_range, width, height, half=BAR / 2) -> np.ndarray:
    import datashader as ds  # a second of import that only drawing history needs

    frame = pd.DataFrame({
        "x0": x0, "x1": x1, "y0": row - half, "y1": row + half,
        "cls": pd.Categorical.from_codes(cls, categories=range(len(theme.CLASS_COLORS))),
    })  # fmt: skip
    # numba compiles the aggregation once per argument type: ranges of ints
    # would compile it again (about 2 s, in whichever page draws history first).
    canvas = ds.Canvas(plot_width=width, plot_height=height, x_range=_floats(x_range),
                       y_range=_floats(y_range))  # fmt: skip
    agg = canvas.area(frame, x=["x0", "x1"], y=["y0", "y0"], y_stack=["y1", "y1"], axis=1,
                      agg=ds.by("cls", ds.count()))  # fmt: skip
    return shade(agg.data)


_warm = threading.Lock()
_start = threading.Lock()
_warmed = False


def warm_up() -> None:
    """Compile datashader's area aggregation now (about 2 s of numba JIT) rather
    than in the first dense frame. Idempotent; safe to call from any thread."""
    global _warmed
    with _warm:
        if _warmed:
            return
        _aggregate(np.array([0.0, 1.0]), np.array([0.5, 2.0]), np.array([0.0, 1.0]),
                   np.array([0, 1], np.int8), (0, 2), (-0.5, 2), 4, 4)
        _warmed = True


_warming: threading.Thread | None = None


def warm_up_in_background() -> None:
    """Start :func:`warm_up` on a daemon thread, once per process (cheap to call again)."""
    global _warming
    with _start:
        if _warming is None and not _warmed:
            _warming = threading.Thread(target=warm_up, name="dashkit-warm-up", daemon=True)
            _warming.start()

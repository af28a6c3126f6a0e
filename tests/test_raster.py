"""The history image's rules (dashkit/raster.py): what a long run must not hide."""

from __future__ import annotations

import numpy as np
import pytest
from numba.core import event

from dashkit import raster, theme

ERRED, TRANSFER, COMPUTE = theme.CLASS_ERRED, theme.CLASS_TRANSFER, 3


def rgba(image: np.ndarray) -> np.ndarray:
    return image.view(np.uint8).reshape(*image.shape, 4)


def color_of(cls: int) -> tuple[int, int, int]:
    return tuple(int(c) for c in raster._RGB[cls])


def busy_lane(n: int, duration: float, lane: int = 0):
    """``n`` back-to-back computes of ``duration`` seconds on ``lane``."""
    x0 = np.arange(n) * duration
    return x0, x0 + duration, np.full(n, lane, np.int32), np.full(n, COMPUTE, np.int8)


def with_rows(rows, x0, x1, lane, cls):
    return tuple(np.concatenate([a, np.asarray(b, a.dtype)])
                 for a, b in zip(rows, (x0, x1, lane, cls), strict=True))  # fmt: skip


@pytest.mark.parametrize("x_range", [(0.0, 2.0), (0, 2)], ids=["float range", "int range"])
def test_after_the_warm_up_drawing_history_compiles_nothing(x_range):
    # A compile left to the first dense frame took seconds inside a page build.
    raster.warm_up()
    bars = (np.array([0.0, 1.0, 4.0]), np.array([0.5, 2.0, 9.0]),  # x0, x1
            np.array([0, 1, 1], np.int32), np.array([0, 1, 3], np.int8))  # lane, colour class
    with event.install_recorder("numba:compile") as compiled:
        image = raster.rasterize(*bars, x_range, (-0.5, 1.5), 20, 10)
    assert compiled.buffer == []
    assert image.shape == (10, 20) and image.any()


def test_each_erred_task_leaves_black_pixels_where_it_is_whatever_surrounds_it():
    # 100,000 one-second computes on one lane and 40 erred tasks of a
    # millisecond among them, drawn 400 pixels wide: 250 rows per column.
    erred_at = np.linspace(1_000, 99_000, 40)
    rows = with_rows(busy_lane(100_000, 1.0), erred_at, erred_at + 0.001, [0] * 40, [ERRED] * 40)
    image = rgba(raster.rasterize(*rows, (0, 100_000), (-0.5, 0.5), 400, 10))
    black = np.all(image[..., :3] == 0, axis=2) & (image[..., 3] == 255)
    columns = np.flatnonzero(black.any(axis=0))
    assert set((erred_at / 250).astype(int)) == set(columns)


def test_a_transfer_takes_its_share_of_the_band_and_at_least_one_pixel_row():
    # One column: 1% of it a transfer, the rest a compute, on a lane 50 px tall.
    rows = with_rows(busy_lane(99, 1.0), [99.0], [100.0], [0], [TRANSFER])
    image = rgba(raster.rasterize(*rows, (0, 100), (-0.5, 0.5), 1, 50))
    red = [tuple(p[:3]) == color_of(TRANSFER) for p in image[:, 0]]
    assert sum(red) == 1 and red.index(True) > 25  # one row, at the bar's top
    # A third of the time: a third of the bar's 40 rows.
    rows = with_rows(busy_lane(2, 1.0), [2.0], [3.0], [0], [TRANSFER])
    image = rgba(raster.rasterize(*rows, (0, 3), (-0.5, 0.5), 1, 50))
    assert sum(tuple(p[:3]) == color_of(TRANSFER) for p in image[:, 0]) == 13


def test_a_half_idle_lane_is_lighter_than_a_busy_one_and_an_instant_still_shows():
    busy = busy_lane(100, 1.0, lane=0)
    half = busy_lane(50, 1.0, lane=1)
    half = (half[0] * 2, half[0] * 2 + 1, half[2], half[3])  # one second on, one off
    instant = (np.array([50.0]), np.array([50.001]), np.array([2], np.int32),
               np.array([COMPUTE], np.int8))  # fmt: skip
    rows = tuple(np.concatenate(parts) for parts in zip(busy, half, instant, strict=True))
    image = rgba(raster.rasterize(*rows, (0, 100), (-0.5, 2.5), 10, 30))
    alpha = [int(image[5 + 10 * lane, 5, 3]) for lane in range(3)]
    assert alpha[0] == 255 and 0 < alpha[1] < alpha[0]
    assert 0 < alpha[2] < alpha[1]  # a millisecond in ten seconds: faint, not gone


def test_thin_lanes_are_summed_into_bands_of_at_least_three_pixel_rows():
    bands = raster.Bands(n_lanes=300, y_range=(-0.5, 299.5), height=100)
    assert set(np.diff(bands.row0)) == {3} or set((bands.row1 - bands.row0)[:-1]) == {3}
    assert bands.band_of_lane.max() == len(bands) - 1 and bands.lanes.sum() == 300

"""The history image's aggregation (dashkit/raster.py)."""

from __future__ import annotations

import numpy as np
import pytest
from numba.core import event

from dashkit import raster


@pytest.mark.parametrize("x_range", [(0.0, 2.0), (0, 2)], ids=["float range", "int range"])
def test_after_the_warm_up_drawing_history_compiles_nothing(x_range):
    # A compile left to the first dense frame took ~2 s inside a page build.
    raster.warm_up()
    bars = (np.array([0.0, 1.0, 4.0]), np.array([0.5, 2.0, 9.0]),  # x0, x1
            np.array([0.0, 1.0, 1.0]), np.array([0, 1, 3], np.int8))  # row, colour class
    with event.install_recorder("numba:compile") as compiled:
        image = raster.rasterize(*bars, x_range, (-0.5, 1.5), 20, 10)
    assert compiled.buffer == []
    assert image.shape == (10, 20) and image.any()

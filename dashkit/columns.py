"""Column arrays in the form Bokeh sends cheaply.

Example
-------
>>> import numpy as np
>>> string_arrays({"key": np.array(["a", "bc"], dtype=object)})["key"].dtype
dtype('<U2')
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def string_arrays(columns: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``columns`` with object (text) arrays as numpy string arrays.

    Bokeh sends an object array through its generic encoder one element at a
    time, which was most of a live update's cost at 100 workers; it sends a
    string array as one list."""
    return {k: v.astype(str) if v.dtype == object else v for k, v in columns.items()}

"""Column arrays in the form Bokeh sends cheaply.

Example
-------
>>> import numpy as np
>>> string_arrays({"key": np.array(["a", "bc"], dtype=object)})["key"].dtype
dtype('<U2')
>>> inline(np.array([1.5, 2.0]))
[1.5, 2.0]
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


INLINE_ROWS = 256
"""Numeric columns of up to this many rows are sent inside the message's JSON.

Bokeh sends every numeric array as a binary buffer, two more websocket frames
each (two more writes on the server, two more frames for the browser); a
live update of the status page carried 15-40 of them, most a few numbers
long, and encoding a few hundred numbers as JSON costs less than that."""


def inline(values: np.ndarray | list) -> np.ndarray | list:
    """``values`` as Bokeh should send it: a list when numeric and short."""
    numeric = isinstance(values, np.ndarray) and values.dtype.kind in "biuf"
    if numeric and len(values) <= INLINE_ROWS:
        return values.tolist()
    return values

"""Column arrays in the form Bokeh sends cheaply.

Bokeh's serializer writes a text array, or a short list of numbers, one
element at a time through its generic encoder (type checks, reference
lookups): most of a live update's cost at 100 to 1,000 workers. Arrays
marked here as :class:`TextArray` or :class:`NumberArray` are written as one
list, with the same JSON.

Example
-------
>>> import numpy as np
>>> texts = string_arrays({"key": np.array(["a", "bc"], dtype=object)})["key"]
>>> type(texts).__name__, texts.dtype
('TextArray', dtype('O'))
>>> type(inline(np.array([1.5, 2.0]))).__name__
'NumberArray'
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from bokeh.core.serialization import Serializer
from pandas.api.types import infer_dtype


class TextArray(np.ndarray):
    """A numpy string array that Bokeh writes as one JSON list of strings."""


class NumberArray(np.ndarray):
    """A short numeric array that Bokeh writes inside the message's JSON as one list."""


#: Integers beyond this lose precision in JavaScript; Bokeh writes them as floats.
_SAFE_INT = 2**53 - 1


def _encode_texts(array: TextArray, serializer: Serializer) -> list:
    plain = array.view(np.ndarray)
    values = plain.tolist()
    if plain.dtype.kind == "U" or infer_dtype(plain, skipna=False) in ("string", "empty"):
        return values
    return [serializer.encode(v) for v in values]  # not all text: as Bokeh writes each


def _encode_numbers(array: NumberArray, serializer: Serializer) -> list:
    plain = array.view(np.ndarray)
    if plain.dtype.kind == "f":
        safe = bool(np.isfinite(plain).all())  # NaN and infinities have their own form
    else:
        safe = plain.size == 0 or bool(np.abs(plain).max() <= _SAFE_INT)
    values = plain.tolist()
    return values if safe else [serializer.encode(v) for v in values]


Serializer.register(TextArray, _encode_texts)
Serializer.register(NumberArray, _encode_numbers)


def string_arrays(columns: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``columns`` with text (object or string) arrays marked as :class:`TextArray`.

    Object arrays stay object arrays: a data source that holds them grows by
    a pointer per streamed row, where a string array is copied whole at the
    width of its longest key."""
    return {k: v.view(TextArray) if v.dtype.kind in "OU" else v for k, v in columns.items()}


INLINE_ROWS = 256
"""Numeric columns of up to this many rows are sent inside the message's JSON.

Bokeh sends every numeric array as a binary buffer, two more websocket frames
each (two more writes on the server, two more frames for the browser); a
live update of the status page carried 15-40 of them, most a few numbers
long, and writing a few hundred numbers into the JSON costs less than that."""


def inline(values: np.ndarray | list) -> np.ndarray | list:
    """``values`` as Bokeh should send it: a :class:`NumberArray` when numeric and short."""
    numeric = isinstance(values, np.ndarray) and values.dtype.kind in "biuf"
    if numeric and len(values) <= INLINE_ROWS:
        return values.view(NumberArray)
    return values

"""Columns Bokeh writes as one list: the same JSON as Bokeh's own encoding."""

from __future__ import annotations

import numpy as np
import pytest
from bokeh.core.serialization import Serializer

from dashkit import theme
from dashkit.columns import INLINE_ROWS, NumberArray, TextArray, inline, string_arrays


def encoded(value) -> object:
    return Serializer(deferred=True).encode(value)


@pytest.mark.parametrize(
    "values",
    [
        np.array([1.5, np.nan, -np.inf, np.inf, 0.0]),
        np.array([1, -2, 2**60, 0], dtype=np.int64),
        np.array([3, 4], dtype=np.int32),
        np.array([True, False]),
        np.arange(0.0),
    ],
)
@pytest.mark.filterwarnings("ignore:out of range integer")  # 2**60, as Bokeh itself warns
def test_short_numbers_are_written_as_bokeh_writes_their_list(values):
    marked = inline(values)
    assert isinstance(marked, NumberArray)
    assert encoded(marked) == encoded(values.tolist())


def test_long_numbers_stay_binary():
    values = np.arange(INLINE_ROWS + 1, dtype=float)
    assert inline(values) is values
    serializer = Serializer(deferred=True)
    serializer.encode(values)
    assert len(serializer.buffers) == 1


def test_text_is_written_as_bokeh_writes_its_list():
    keys = np.array(["('inc-<b>', 3)", "ünïcode", "", "x" * 300], dtype=object)
    columns = string_arrays({"key": keys, "left": np.array([0.0, 1, 2, 3])})
    assert isinstance(columns["key"], TextArray)
    assert not isinstance(columns["left"], TextArray)
    assert encoded(columns["key"]) == encoded(keys.tolist()) == keys.tolist()
    mixed = string_arrays({"x": np.array(["a", None, 1.5, np.nan], dtype=object)})["x"]
    assert encoded(mixed) == encoded(mixed.tolist())


def test_bulk_formatting_matches_dasks_text():
    rng = np.random.default_rng(0)
    sizes = np.concatenate([rng.integers(0, 2**52, 2000), rng.integers(0, 3000, 500),
                            [0, 921, 922, 943718, 943719, 2**30, 2**60]])  # fmt: skip
    assert theme.format_bytes_array(sizes).tolist() == [theme.format_bytes(int(n)) for n in sizes]
    edges = [0, 1e-3, 0.000999, 1, 0.999, 600, 600.5, 7200.5, 172801]
    seconds = np.concatenate([rng.exponential(0.05, 2000), rng.uniform(0, 1e6, 500), edges])
    assert theme.format_time_array(seconds).tolist() == [theme.format_time(s) for s in seconds]

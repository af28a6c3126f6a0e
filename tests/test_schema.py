"""The data contract: frame builders and the validator."""

import numpy as np
import pandas as pd
import pytest

from dashkit import schema


def test_workers_frame_fills_absent_fields_with_typed_defaults():
    frame = schema.workers_frame([{"address": "tcp://a:1", "nthreads": 2, "process": 10}])
    schema.validate(frame, "workers")
    row = frame.iloc[0]
    assert (row.address, row.nthreads, row.process, row.managed, row.idle) == (
        "tcp://a:1", 2, 10, 0, False)  # fmt: skip
    assert frame["occupancy"].dtype == np.float64


def test_progress_total_is_the_sum_of_states():
    frame = schema.progress_frame([{"prefix": "inc", "memory": 3, "queued": 4, "erred": 1}])
    assert frame.loc[0, "total"] == 8


def test_unknown_field_is_named():
    with pytest.raises(schema.SchemaError, match=r"unknown fields \['bogus'\]"):
        schema.workers_frame([{"address": "x", "bogus": 1}])


def test_bad_action_names_the_valid_values():
    with pytest.raises(schema.SchemaError, match="valid values: compute, transfer"):
        schema.tasks_frame({
            "start": [0.0], "stop": [1.0], "worker": ["w"], "thread": [1], "key": ["k"],
            "prefix": ["k"], "action": ["juggle"], "status": ["ok"],
        })  # fmt: skip


def test_validate_reports_missing_and_mistyped_columns():
    frame = schema.workers_frame().drop(columns=["cpu"])
    with pytest.raises(schema.SchemaError, match=r"missing columns \['cpu'\]"):
        schema.validate(frame, "workers")
    frame = schema.progress_frame().astype({"memory": "float64"})
    with pytest.raises(schema.SchemaError, match="'memory' has dtype float64, expected int"):
        schema.validate(frame, "progress")
    with pytest.raises(schema.SchemaError, match="valid kinds: workers, progress, tasks"):
        schema.validate(pd.DataFrame(), "nodes")


def test_uncoercible_value_names_the_column():
    with pytest.raises(schema.SchemaError, match="column 'nthreads' cannot be int"):
        schema.workers_frame([{"address": "x", "nthreads": "many"}])

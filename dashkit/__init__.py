"""dashkit: composable Panel/HoloViews components for watching a Dask cluster.

Data flows one way: Source -> Feed -> Component -> Layout (docs/architecture.md).

>>> from dashkit import Feed, SyntheticSource
>>> feed = Feed(SyntheticSource(seed=0, start_time=0.0))
"""

from dashkit.feed import Feed, FeedReader
from dashkit.recorder import Recorder, record
from dashkit.sources import (
    DaskSource,
    Recording,
    ReplaySource,
    Snapshot,
    Source,
    SourceError,
    SyntheticSource,
)

__version__ = "0.1.0"

__all__ = [
    "DaskSource",
    "Feed",
    "FeedReader",
    "Recorder",
    "Recording",
    "ReplaySource",
    "Snapshot",
    "Source",
    "SourceError",
    "SyntheticSource",
    "__version__",
    "record",
]

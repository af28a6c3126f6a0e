"""dashkit: composable Panel/HoloViews components for watching a Dask cluster.

Data flows one way: Source -> Feed -> Component -> Layout (see DESIGN).

>>> from dashkit import Feed, SyntheticSource
>>> feed = Feed(SyntheticSource(seed=0, start_time=0.0))
"""

from dashkit.feed import Feed, FeedReader
from dashkit.sources import DaskSource, Snapshot, Source, SourceError, SyntheticSource

__version__ = "0.1.0"

__all__ = [
    "DaskSource",
    "Feed",
    "FeedReader",
    "Snapshot",
    "Source",
    "SourceError",
    "SyntheticSource",
    "__version__",
]

"""Where telemetry comes from. Sources never import Panel or HoloViews."""

from dashkit.sources.base import Snapshot, Source, SourceError, SourceUnreachable
from dashkit.sources.dask import DaskSource
from dashkit.sources.synthetic import SyntheticSource

__all__ = [
    "DaskSource",
    "Snapshot",
    "Source",
    "SourceError",
    "SourceUnreachable",
    "SyntheticSource",
]

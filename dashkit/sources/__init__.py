"""Where telemetry comes from. Sources never import Panel or HoloViews."""

from dashkit.sources.base import Snapshot, Source, SourceError, SourceUnreachable
from dashkit.sources.dask import DaskSource
from dashkit.sources.replay import Recording, RecordingError, ReplaySource
from dashkit.sources.synthetic import SyntheticSource

__all__ = [
    "DaskSource",
    "Recording",
    "RecordingError",
    "ReplaySource",
    "Snapshot",
    "Source",
    "SourceError",
    "SourceUnreachable",
    "SyntheticSource",
]

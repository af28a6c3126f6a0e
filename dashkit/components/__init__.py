"""The status-page plots, one module per family; each a param-declared Panel Viewer.

Components are registered by ``component_type``:

>>> from dashkit.components import Component
>>> sorted(Component.types())[:3]
['cluster_memory', 'cpu', 'feed_status']
"""

import holoviews as hv
import panel as pn

from dashkit.components import compat
from dashkit.components.base import Component, Widget
from dashkit.components.memory import ClusterMemory, WorkerMemory
from dashkit.components.plot import Plot
from dashkit.components.processing import CPUUtilization, Occupancy, TaskProcessing
from dashkit.components.progress import Progress
from dashkit.components.replay import ReplayControl
from dashkit.components.status import FeedStatus
from dashkit.components.task_details import TaskDetails
from dashkit.components.task_stream import TaskStream

# Inline: in a notebook HoloViews and Panel would otherwise load BokehJS,
# Panel's JS and every stylesheet from CDNs, which offline machines cannot
# reach (a served page takes them from its server either way).
pn.config.inline = True
hv.extension("bokeh", logo=False, inline=True)
if compat.in_kernel():
    compat.on_render(compat.inline_stylesheets)

__all__ = [
    "CPUUtilization",
    "ClusterMemory",
    "Component",
    "FeedStatus",
    "Occupancy",
    "Plot",
    "Progress",
    "ReplayControl",
    "TaskDetails",
    "TaskProcessing",
    "TaskStream",
    "Widget",
    "WorkerMemory",
]

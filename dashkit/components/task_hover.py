"""The task stream's hover: one tool over every layer of rectangles, naming codes.

The rectangles carry their prefix, action and (worker, thread) pair as codes
and their duration in seconds (:class:`~dashkit.task_picture.HoverNames`).
Each page's plot gets one ``CustomJSHover`` (a Bokeh model belongs to one
document) holding the lists that name the codes; they are sent with the page
and again only when a new prefix, worker or thread has appeared.

HoloViews gives each layer of an overlay its own hover tool and keeps the
first of those with the same tooltip; with an HTML tooltip it does not add
the other layers' rectangles to it, so the hover layer over old history had
no tool. :func:`name_hover` puts every layer's rectangles under the one tool.

Example
-------
>>> import holoviews as hv
>>> from dashkit.task_picture import HoverNames
>>> names = HoverNames(("inc",), ("compute",), ("tcp://a:1",), (0,), ("7",))
>>> rects = hv.Rectangles([(0, 0, 1, 1, 0, 0, 1.0, 0)],
...                       vdims=["prefix", "action", "duration", "pair"])
>>> plot = hv.renderer("bokeh").get_plot(rects.opts(tools=["hover"], hover_tooltips=TOOLTIP))
>>> name_hover(plot, names)
>>> sorted(hover_tool(plot.state).formatters)
['@{action}', '@{duration}', '@{pair}', '@{prefix}']
"""

from __future__ import annotations

import weakref

from bokeh.models import CustomJSHover, HoverTool

from dashkit import theme
from dashkit.task_picture import HoverNames

#: The tooltip of a task-stream rectangle.
TOOLTIP = theme.tooltip([
    ("Key", "key"), ("Prefix", "prefix", "prefix"), ("Action", "action", "action"),
    ("Duration", "duration", "duration"), ("Worker", "pair", "worker"),
    ("Thread", "pair", "thread"),
])  # fmt: skip
#: The name of the renderer that draws the task stream's rows in a reserved
#: colour over the others (``task_stream.reserved_on_top``).
RESERVED_RENDERER = "dashkit-reserved-on-top"
#: The name of the renderer of the history image's cells, and of their own
#: hover tool (``task_stream.cells_hover``).
CELL_RENDERER = "dashkit-history-cells"
#: The fields the page names with its formatter.
NAMED_FIELDS = ("@{prefix}", "@{action}", "@{duration}", "@{pair}")

# figure -> the names its page has (the formatter itself is the tool's: held
# here, it would hold its document and so the figure, which would never go)
_SENT: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def hover_tool(figure) -> HoverTool | None:
    """The task stream's hover tool of ``figure`` (None: it has none)."""
    return next((t for t in figure.tools
                 if isinstance(t, HoverTool) and t.name != CELL_RENDERER), None)  # fmt: skip


def name_hover(plot, names: HoverNames) -> None:
    """Put the rectangles of every layer of HoloViews' ``plot`` under its hover
    tool, and have the tool name codes with ``names``. Cheap when nothing
    changed: call it on every update."""
    figure = plot.state
    tool = hover_tool(figure)
    if tool is None:
        return
    layers = list((getattr(plot, "subplots", None) or {}).values()) or [plot]
    renderers = [layer.handles["glyph_renderer"] for layer in layers
                 if layer is not None and "hover" in layer.handles]  # fmt: skip
    # Rows a layer draws through a second renderer (see task_stream.reserved_on_top).
    renderers += [r for r in figure.renderers if r.name == RESERVED_RENDERER]
    if renderers and tool.renderers != renderers:
        tool.renderers = renderers
    update_names(figure, names)


def update_names(figure, names: HoverNames) -> None:
    """Send ``names`` to the page of ``figure`` unless it has them already."""
    tool = hover_tool(figure)
    if tool is None:
        return
    formatter = tool.formatters.get(NAMED_FIELDS[0])
    if not isinstance(formatter, CustomJSHover):
        formatter = CustomJSHover(code=theme.TASK_HOVER_JS, args={"names": names.lookups()})
        tool.formatters = dict.fromkeys(NAMED_FIELDS, formatter)
    elif _SENT.get(figure) is not names:
        formatter.args = {"names": names.lookups()}
    _SENT[figure] = names

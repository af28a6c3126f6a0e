"""Component: what every dashkit plot shares.

A component reads a :class:`~dashkit.feed.Feed` (never a Dask object), turns
what is new into frames, and pushes them into HoloViews streams; its
:attr:`~Component.element` is a ``hv.DynamicMap`` users can ``.opts(...)``,
overlay and compose like any HoloViews object.

Updates run on the session's own event loop: when a component is first
rendered in a server or notebook session it joins that document's
:class:`~dashkit.components.refresh.SessionRefresh`, one paced periodic
callback for all components of the page, which stops with the session: a
closed page leaves no callback and no feed reader behind.
"""

from __future__ import annotations

import weakref
from typing import ClassVar

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param
from bokeh.core.properties import field

from dashkit import theme
from dashkit.components.refresh import SessionRefresh, browser_connected, pin_resource_urls
from dashkit.feed import Feed
from dashkit.registry import Registered


class Component(Registered, pn.viewable.Viewer):
    """Base class of the dashkit plots; subclasses set ``component_type``.

    Example
    -------
    >>> from dashkit import Feed, SyntheticSource
    >>> from dashkit.components import ClusterMemory
    >>> memory = ClusterMemory(feed=Feed(SyntheticSource(seed=1)))
    >>> memory.feed.poll(); memory.update()
    True
    """

    component_type: ClassVar[str | None] = None
    registry_attribute = "component_type"
    registry_noun = "component"

    feed = param.ClassSelector(class_=Feed, doc="The Feed this plot reads.")
    period = param.Integer(
        default=500, bounds=(50, None), doc="Milliseconds between redraws in a live session."
    )
    height = param.Integer(default=300, bounds=(50, None), doc="Plot height in pixels.")
    min_width = param.Integer(default=200, bounds=(50, None), doc="Smallest plot width, pixels.")
    theme = param.Selector(
        default="light", objects=list(theme.PALETTES), doc="Light or dark plot chrome."
    )
    title = param.String(default=None, allow_None=True, doc="Fixed title; None: the live one.")

    __abstract = True

    def __init__(self, **params):
        if params.get("feed") is None:
            raise ValueError(f"{type(self).__name__} needs a feed: {type(self).__name__}(feed=...)")
        super().__init__(**params)
        self._explicit = set(params) - {"feed", "name"}  # what a spec must repeat
        self._reader = self.feed.reader()
        self._pane: pn.viewable.Viewable | None = None

    @property
    def element(self) -> hv.DynamicMap:
        """The streaming HoloViews object this component draws."""
        raise NotImplementedError

    def _style(self) -> dict:
        """Options every plot shares: sizing, theme colours, no logo."""
        palette = theme.PALETTES[self.theme]
        return {
            "responsive": True,
            "framewise": True,  # axes follow the data as it changes
            "height": self.height,
            "min_width": self.min_width,
            "bgcolor": palette.background,
            "toolbar": "above",
            "default_tools": [],
            "hooks": [_chrome(palette)],
        }

    def export_element(self) -> hv.Element:
        """A static copy of what is drawn now, for exports (no streams attached)."""
        return self.element[()]

    def update(self) -> None:
        """Read what is new from the feed and redraw (batched into one message)."""
        if not browser_connected():
            return
        with pn.io.hold():
            self._update()

    def _update(self) -> None:
        raise NotImplementedError

    @staticmethod
    def _push(pipe: hv.streams.Pipe, data) -> None:
        """Send ``data`` unless it equals what is drawn (most ticks between heartbeats)."""
        if not _same(data, pipe.data):
            pipe.send(data)

    def _close(self) -> None:
        """Release the feed reader: the last one out stops a shared feed."""
        self._reader.close()

    def _view(self) -> pn.viewable.Viewable:
        """The Panel object shown; plots show their HoloViews element."""
        return pn.pane.HoloViews(
            self.element, sizing_mode="stretch_width", height=self.height, linked_axes=False
        )

    def __panel__(self) -> pn.viewable.Viewable:
        pin_resource_urls()
        if self._pane is None:
            self._pane = self._view()
        # In a server session or a notebook Panel sets curdoc while rendering;
        # redraws then run on that session's own event loop.
        if pn.state.curdoc is not None:
            SessionRefresh.join(self, pn.state.curdoc)
        return self._pane


def label_ticks(labels: list[str], positions=None, most: int = 40) -> list | None:
    """Y ticks naming each bar; None (numeric ticks) when there are none or too many."""
    if not labels or len(labels) > most:
        return None
    positions = range(len(labels)) if positions is None else positions
    return list(zip(positions, labels, strict=True))


_STYLED: weakref.WeakSet = weakref.WeakSet()


def _same(a, b) -> bool:
    """Whether two frames (or dicts of them) hold the same data."""
    if type(a) is not type(b):
        return False
    if isinstance(a, pd.DataFrame):
        return a.equals(b) and a.attrs == b.attrs
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (pd.Series, np.ndarray)):
        return np.array_equal(np.asarray(a), np.asarray(b))
    return a == b


def color_from_columns(plot, _element) -> None:
    """Hook: fill from the frame's ``color`` and ``alpha`` columns as they are.

    Mapping them with ``.opts(color="color")`` makes HoloViews scan each
    column for its unique values on every update (O(rows) per tick)."""
    glyph = plot.handles["glyph"]
    glyph.fill_color = field("color")
    glyph.line_color = field("color")
    glyph.fill_alpha = field("alpha")


def _chrome(palette: theme.Palette):
    def hook(plot, _element):
        figure = plot.state
        if figure in _STYLED:  # HoloViews runs hooks on every update; style once
            return
        _STYLED.add(figure)
        figure.border_fill_color = palette.background
        figure.outline_line_color = None
        figure.title.text_color = palette.text
        for axis in (*figure.xaxis, *figure.yaxis):
            axis.axis_label_text_color = palette.text
            axis.major_label_text_color = palette.text
        for grid in (*figure.xgrid, *figure.ygrid):
            grid.grid_line_color = palette.grid
        figure.toolbar.logo = None

    return hook

"""Plot: a component drawn by HoloViews from one frame of the feed.

The contract (``docs/components.md`` walks through an example):

* :meth:`Plot.compute_frame` turns a :class:`~dashkit.feed.FeedView` into a
  :class:`~dashkit.components.live.PlotFrame`: the columns of each layer,
  the title, ranges and y ticks. It is pure, and computed once per poll for
  every page showing the same plot with the same :attr:`Plot.frame_params`.
* :meth:`Plot.draw` turns a frame into a HoloViews element.
* :meth:`Plot.options` says how the plot looks, as HoloViews options made
  from the plot's parameters: axis labels, formatters, colours, hover. They
  are set on :attr:`Plot.element`, the ``hv.DynamicMap`` every use draws: a
  page, a notebook cell, a file. Users ``.opts(...)``, overlay and compose
  it like any HoloViews object, and their options hold everywhere too.

Live updates are cheap and shared (see :mod:`dashkit.components.live`):
HoloViews draws the plot once, and each page then moves each new frame
straight into its own Bokeh models.
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Mapping
from typing import ClassVar

import holoviews as hv
import numpy as np
import panel as pn
import param
from bokeh.core.properties import field
from bokeh.layouts import column
from bokeh.model import Model
from bokeh.models import Div, FixedTicker

from dashkit import theme
from dashkit.components import compat
from dashkit.components.base import Component
from dashkit.components.live import LiveHTML, LivePlot, PlotFrame
from dashkit.feed import FeedView


class Plot(Component):
    """Base class of the dashkit plots; subclasses implement the three methods
    of the contract (:meth:`compute_frame`, :meth:`draw`, :meth:`options`).

    Example
    -------
    >>> from dashkit import Feed, SyntheticSource
    >>> from dashkit.components import CPUUtilization
    >>> cpu = CPUUtilization(feed=Feed(SyntheticSource(seed=1)))
    >>> cpu.feed.poll()
    True
    >>> cpu.frame().title.startswith("CPU use")
    True
    """

    #: The parameters the plot's frame depends on: pages showing the same
    #: plot with the same values of these share one frame per poll.
    frame_params: ClassVar[tuple[str, ...]] = ()
    #: Whether a page shows the plot's title above it, as text that is cut to
    #: the width with its whole on hover (a plot's own title cannot be either).
    titled: ClassVar[bool] = True
    style_params = (*Component.style_params, "width", "min_width", "output_backend")

    title = param.String(default=None, allow_None=True, doc="Fixed title; None: the live one.")
    width = param.Integer(
        default=None, allow_None=True, bounds=(50, None),
        doc="Plot width in pixels; None: as wide as the page or cell allows.",
    )  # fmt: skip
    min_width = param.Integer(default=200, bounds=(50, None), doc="Smallest plot width, pixels.")
    output_backend = param.Selector(
        default="canvas", objects=["canvas", "webgl", "svg"],
        doc="How the browser draws the plot. WebGL pays off only for many more glyphs "
        "than a page holds; a browser without a GPU emulates it and copies every "
        "frame it draws (measured: most of a live page's time in the browser).",
    )  # fmt: skip

    __abstract = True

    def __init__(self, **params):
        super().__init__(**params)
        self._live: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._shown: object = None
        self._drawn: PlotFrame | None = None  # the frame HoloViews drew last
        self._header: LiveHTML | None = None  # the title above the plot, on a page
        self._element: hv.DynamicMap | None = None

    # -- the contract ----------------------------------------------------------------

    def compute_frame(self, view: FeedView) -> PlotFrame:
        """The plot's frame for one snapshot (pure: no state of this instance)."""
        raise NotImplementedError

    def draw(self, frame: PlotFrame) -> hv.Element:
        """The HoloViews element of ``frame``."""
        raise NotImplementedError

    def options(self) -> list:
        """How the plot looks: HoloViews options, from the plot's parameters.
        Most plots start from :meth:`_style` (size, theme, toolbar)."""
        raise NotImplementedError

    # -- the element ---------------------------------------------------------------------

    @property
    def element(self) -> hv.DynamicMap:
        """The streaming HoloViews object this plot draws, on a page, in a cell, in a file."""
        if self._element is None:
            self._element = self._make_element().opts(*self.options())
        return self._element

    def _make_element(self) -> hv.DynamicMap:
        """The element before its options: by default the newest frame, drawn
        again by HoloViews when ``self._pipe`` is sent."""
        self._pipe = hv.streams.Pipe(data=None)
        return hv.DynamicMap(lambda data: self._draw_newest(), streams=[self._pipe])

    def _draw_newest(self) -> hv.Element:
        self._drawn = self.frame()
        return self.draw(self._drawn)

    def export_element(self) -> hv.Element:
        """What a file draws of this plot: by default :attr:`element` itself, with
        the options the page has and any the user added."""
        return self.element

    def export_model(self) -> Model:
        """This plot in a file, as on a page: its title as the line above, then
        the plot HoloViews draws of :meth:`export_element`."""
        figure = hv.render(self.export_element(), backend="bokeh")
        if not self.titled:
            return figure
        headed(figure)
        figure.sizing_mode = "stretch_width"
        figure.height = self.height
        heading = Div(text=theme.heading_html(self.title_text()), height=theme.HEADING_HEIGHT,
                      sizing_mode="stretch_width", css_classes=["dashkit-heading"])  # fmt: skip
        return column([heading, figure], sizing_mode="stretch_width")

    def _style(self, *hooks, label_room: int | None = None) -> dict:
        """Options every plot shares: sizing, theme colours, no logo, ``label_room``
        pixels left of the frame (room for the y labels); ``hooks`` run after the theme's."""
        palette = theme.PALETTES[self.theme]
        label_room = theme.LABEL_BORDER if label_room is None else label_room
        size = {"min_height" if self.fill else "height": self.height}
        if self.width is None:
            size.update(responsive=True, min_width=self.min_width)
        else:
            size.update(responsive=False, width=self.width)
        return {
            **size,
            "framewise": True,  # when HoloViews redraws, axes follow the data
            "bgcolor": palette.background,
            "toolbar": "above",
            "default_tools": [],
            "hooks": [_chrome(palette, label_room, self.output_backend, self.component_type),
                      weak_hook(self._title_hook), *map(weak_hook, hooks)],
        }  # fmt: skip

    def _title_hook(self, plot, _element) -> None:
        """Hook: on a page the title is the line above the plot (see :func:`headed`)."""
        if self._header is not None:
            headed(plot.state)

    def title_text(self, view: FeedView | None = None) -> str:
        """The title shown for ``view`` (the feed's latest poll by default)."""
        return self.title or self.frame(view).title

    def _set_heading(self, text: str) -> None:
        if self._header is not None:
            self._header.set(theme.heading_html(text))

    # -- frames ----------------------------------------------------------------

    def frame(self, view: FeedView | None = None) -> PlotFrame:
        """What the plot shows for ``view`` (the feed's latest poll by default),
        computed once per poll for every plot with the same parameters."""
        view = view or self.feed.view()
        key = (type(self).__name__, *(getattr(self, p) for p in self.frame_params))
        return self.feed.frames.derive(key, self._derive, view)

    def _derive(self, view: FeedView, previous) -> PlotFrame:
        return self.compute_frame(view).with_string_arrays().keep_unchanged(previous)

    def _frame_opts(self, frame: PlotFrame) -> dict:
        """The options that draw ``frame``'s title, ranges and y ticks with HoloViews."""
        opts = {"title": self.title or frame.title, "yticks": list(frame.yticks) or None,
                "ylim": frame.y_range}  # fmt: skip
        if frame.x_range is not None:
            opts["xlim"] = frame.x_range
        return opts

    # -- live updates -------------------------------------------------------------

    def show(self, view: FeedView) -> None:
        """Move what ``view`` holds into the plot (unbatched: see :meth:`update`)."""
        if self._element is None:
            return  # not drawn anywhere yet: drawn from the newest poll when it is
        frame = self.frame(view)
        if frame is self._shown:
            return
        plots = self.live_plots()
        if self._hidden_here(plots):
            return
        self._shown = frame
        self._set_heading(self.title or frame.title)
        if plots and all(p.fits(frame) for p in plots):
            for plot in plots:
                plot.show(frame, self.title)
        else:  # shown by HoloViews alone (a composed element, mapped options)
            self._pipe.event(data=frame)

    def live_plots(self) -> list[LivePlot]:
        """The plots of this component's own view in the current document."""
        if self._pane is None:
            return []
        doc = pn.state.curdoc
        plots = []
        for plot in compat.rendered_plots(self._pane):
            live = self._live.get(plot)
            if live is None:
                live = self._live[plot] = LivePlot(plot)
                self._attached(live)
            if doc is None or live.document in (doc, None):
                plots.append(live)
        return plots

    def _hidden_here(self, plots: list[LivePlot]) -> bool:
        """Whether this page holds the component's pane without drawing it (an
        inactive tab): nothing to update; HoloViews draws the newest poll when
        the pane is shown."""
        return not plots and self._pane is not None

    def _attached(self, plot: LivePlot) -> None:
        """A plot is seen for the first time: HoloViews drew it from ``self._drawn``."""
        if isinstance(self._drawn, PlotFrame):
            plot.assume(self._drawn)

    def _restyle(self) -> None:
        """Set the options made from the parameters now, and draw the plot anew
        where it is shown (its Bokeh models are replaced)."""
        self.element.opts(*self.options())
        self._shown = None
        super()._restyle()
        if self._header is not None:
            self._set_heading(self.title_text())
        if self._pane is not None:
            self._pane.param.trigger("object")

    # -- on a page ------------------------------------------------------------------

    def _sizing(self) -> dict:
        size = super()._sizing()
        if self.width is not None:
            size["sizing_mode"] = "stretch_height" if self.fill else "fixed"
        return {**size, "width": self.width}

    def _view(self) -> pn.viewable.Viewable:
        return pn.pane.HoloViews(self.element, linked_axes=False, **self._sizing())

    def _around(self, pane: pn.viewable.Viewable) -> pn.viewable.Viewable:
        """The plot under its title line."""
        if not self.titled:
            return pane
        sizing = "stretch_both" if self.fill else "stretch_width"
        return pn.Column(self._header_pane(), pane, sizing_mode=sizing, margin=0)

    def _header_pane(self) -> pn.viewable.Viewable:
        """The title line above the plot (made once)."""
        if self._header is None:
            self._header = LiveHTML(margin=0, height=theme.HEADING_HEIGHT,
                                    sizing_mode="stretch_width", css_classes=["dashkit-heading"])
            self._set_heading(self.title_text())
        return pn.pane.Bokeh(self._header.model, sizing_mode="stretch_width",
                             height=theme.HEADING_HEIGHT, margin=0)  # fmt: skip


CORNERS = ("left", "bottom", "right", "top")
"""The corner columns of rectangles: HoloViews' key dimensions take Bokeh's
glyph names, so the data source holds each corner once (under other names
HoloViews adds a second copy of every corner for the hover)."""


def rectangles(columns: Mapping[str, np.ndarray], vdims: list[str]) -> hv.Rectangles:
    """A ``hv.Rectangles`` of frame columns :data:`CORNERS` and ``vdims``.

    The value dimensions only colour the glyph and fill the hover; they get a
    declared range, and text stays in numpy arrays (a pandas string column is
    taken as categorical), so HoloViews does not scan them, often tens of
    thousands of strings, whenever it draws."""
    data = {k: np.asarray(columns[k]) for k in (*CORNERS, *vdims)}
    return hv.Rectangles(data, list(CORNERS), [hv.Dimension(v, range=(0, 1)) for v in vdims])


def rectangle_columns(left, bottom, right, top, **vdims) -> dict[str, np.ndarray]:
    """Frame columns of rectangles: the :data:`CORNERS`, then ``vdims``."""
    corners = (np.asarray(v, dtype=float) for v in (left, bottom, right, top))
    return {**dict(zip(CORNERS, corners, strict=True)),
            **{k: np.asarray(v) for k, v in vdims.items()}}  # fmt: skip


def worker_names(workers) -> list[str]:
    """The ``name`` of each row of a workers frame, as text (converted in bulk:
    element by element, a 1,000-worker frame took milliseconds per plot)."""
    return workers["name"].astype(str).tolist()


def label_ticks(labels: list[str], positions=None, most: int = 40) -> tuple:
    """Y ticks naming each bar, shortened to fit the room every plot keeps for
    them (the full name is in the hover); none when there are more than ``most``."""
    if len(labels) > most:
        return ()
    positions = range(len(labels)) if positions is None else positions
    return tuple(zip(positions, map(theme.short_label, labels), strict=True))


def color_from_columns(plot, _element) -> None:
    """Hook: fill from the frame's ``color`` and ``alpha`` columns as they are.

    With ``.opts(color="color")`` HoloViews draws one constant colour when all
    rows share one at render time, which a live update of the columns could
    not change; it also scans the column for its unique values."""
    glyph = plot.handles["glyph"]
    glyph.fill_color = field("color")
    glyph.line_color = field("color")
    glyph.fill_alpha = field("alpha")


def headed(figure) -> None:
    """A plot shown under its title line (a page, a notebook cell, a file): no
    title of its own, and the toolbar inside the plot while the pointer is over
    it, so no row of the plot is left for either."""
    figure.title.visible = False
    figure.toolbar_inner = True
    figure.toolbar.autohide = True


def weak_hook(hook):
    """``hook``, holding its component weakly when it is a method of one.

    HoloViews keeps every element's options, hooks included, in a store for
    the whole process, cleaned when the element is collected: a hook holding
    its component, which holds the element, would keep every page's
    components alive after the page has closed."""
    if not inspect.ismethod(hook):
        return hook
    method = weakref.WeakMethod(hook)

    def call(plot, element):
        bound = method()
        if bound is not None:
            bound(plot, element)

    return call


#: Figure -> the palette it was styled with (HoloViews runs hooks on every update).
_STYLED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _chrome(palette: theme.Palette, label_room: int, output_backend: str, component_type: str):
    def hook(plot, _element):
        figure = plot.state
        if _STYLED.get(figure) is palette:
            return
        _STYLED[figure] = palette
        # Names the plot in any document: doc.select_one({"name": "dashkit-cpu"}).
        figure.name = f"dashkit-{component_type}"
        # HoloViews asks for WebGL by default.
        figure.output_backend = output_backend
        # Room for the longest (shortened) label, so a settled page never resizes.
        figure.min_border_left = label_room
        # Titles start at the plot's left edge, over the labels' room, not at
        # the frame's: narrow plots then show their whole title.
        figure.title.offset = -(label_room - 10)
        figure.border_fill_color = palette.background
        figure.outline_line_color = None
        figure.title.text_color = palette.text
        for axis in (*figure.xaxis, *figure.yaxis):
            axis.axis_label_text_color = palette.text
            axis.major_label_text_color = palette.text
        for grid in (*figure.xgrid, *figure.ygrid):
            grid.grid_line_color = palette.grid
        figure.toolbar.logo = None
        # Live updates set the y ticks on this one ticker: a model made during
        # a live update could reach the browser after the change that uses it.
        for axis in figure.yaxis:
            if not isinstance(axis.ticker, FixedTicker):
                axis.ticker = FixedTicker(ticks=[])
                axis.major_label_overrides = {}

    return hook

"""TaskStream: every start/stop interval of the run, one row per worker thread.

Three layers, one plot:

* **recent** — the newest ``dense_threshold`` rectangles as Bokeh quads; a
  live page streams only new rows into them;
* **history** — once the run has more rows than that, the whole history in
  view as one RGB image made on the server by the rules of
  :mod:`dashkit.raster` (erred tasks black at any zoom, transfers, disk and
  serialization never averaged away, idle lighter), from the rows or, for a
  long run, from the whole run's summary; re-made on zoom and pan and, while
  streaming, at most every ``raster_period`` seconds;
* **hover** — when zoomed in on old history, the raw rectangles in view
  (invisible, for the hover) if there are at most ``hover_limit`` of them.

What is drawn is computed once per Feed for every page: positions and
lanes (:class:`~dashkit.task_history.TaskHistory`), rectangles, colours and
the history image of a range (:class:`~dashkit.task_picture.TaskPicture`).

Colours: computes in their prefix's colour (the palette Progress uses),
transfers red, disk reads and writes orange, deserialization grey (all
translucent), a compute that erred black. Each rectangle has an outline in
its colour a few pixels wide, as on Dask's page, so that a task shorter than
a pixel still shows. Rows are ordered by worker, then
thread; a row stays while its tasks are in the history held. Time is in
seconds since the first task seen.

Following: by default the view follows the last ``window`` seconds of the
run, as Dask's own page does, so single tasks and transfers stay visible;
the "Whole run" button follows the whole history held instead. Zooming or
panning stops following; the reset tool follows again. Exports show the
whole history.

Clicking a bar, a rectangle or the history image, sets :attr:`TaskStream.selected`
to that task-stream row; a :class:`~dashkit.components.TaskDetails` card
linked to the stream shows it.
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass

import holoviews as hv
import numpy as np
import panel as pn
import param
from bokeh.events import LODStart, RangesUpdate, Reset, Tap
from bokeh.models import CDSView, CustomJSFilter, GlyphRenderer, HoverTool

from dashkit import raster, theme
from dashkit.components import compat, task_hover
from dashkit.components.live import LivePlot
from dashkit.components.plot import CORNERS, Plot, color_from_columns, rectangles, weak_hook
from dashkit.feed import FeedView
from dashkit.task_history import TaskHistory
from dashkit.task_picture import TaskPicture

_VDIMS = ["key", "prefix", "action", "duration", "pair", "color", "alpha"]
#: The rows a renderer draws: those whose colour is reserved (``reserved``), or
#: the others (``!reserved``).
_RESERVED_ROWS_JS = """
const color = source.data.color, wanted = new Set(colors), rows = [];
for (let i = 0; i < color.length; i++) if (wanted.has(Number(color[i])) === reserved) rows.push(i);
return rows;
"""


def _rows_filter(reserved: bool) -> CDSView:
    colors = theme.packed_colors(theme.RESERVED_COLORS).tolist()
    return CDSView(filter=CustomJSFilter(code=_RESERVED_ROWS_JS,
                                         args={"colors": colors, "reserved": reserved}))


def outline_width(lanes: float, pixels: float) -> float:
    """The width of the rectangles' outline when ``lanes`` lanes share ``pixels``
    pixels: Dask's 3 px, less where lanes are so thin that it would cover the
    next lane (at most the gap between two bars).

    >>> outline_width(4, 400), outline_width(96, 140) < 0.3
    (3, True)
    """
    return min(theme.TASK_OUTLINE_WIDTH, (1 - raster.BAR) * pixels / max(lanes, 1))


def reserved_on_top(plot, _element) -> None:
    """Hook: the rows in a reserved colour (transfers, disk, deserialization,
    erred) drawn after the others, each row once. Rows are drawn in the order
    they came, so a transfer that ends as its compute starts came first, and
    the compute's outline hid it; these are the rows a reader of the task
    stream looks for. Both renderers share the layer's data source, so
    nothing more is sent."""
    figure = plot.state
    if any(r.name == task_hover.RESERVED_RENDERER for r in figure.renderers):
        return
    renderer = plot.handles["glyph_renderer"]
    renderer.view = _rows_filter(reserved=False)
    top = GlyphRenderer(data_source=renderer.data_source, glyph=renderer.glyph.clone(),
                        view=_rows_filter(reserved=True),
                        name=task_hover.RESERVED_RENDERER)  # fmt: skip
    figure.renderers = [*figure.renderers, top]


_RECENT_OPTIONS = {
    "line_width": theme.TASK_OUTLINE_WIDTH,
    "line_alpha": theme.TASK_OUTLINE_ALPHA, "xlabel": "seconds", "ylabel": "",
    "yaxis": None, "tools": ["hover", "xwheel_zoom", "xpan", "reset"],
    "active_tools": ["xwheel_zoom"], "hover_tooltips": task_hover.TOOLTIP,
}  # fmt: skip
HISTORY, RECENT, HOVER, CELLS = range(4)  # the layers, in overlay order
_CELL_VDIMS = ["busy", "time", "prefixes", "erred"]
#: The tooltip of a cell of the history image.
CELL_TOOLTIP = theme.tooltip([("Busy", "busy"), ("Time", "time"), ("Prefixes", "prefixes"),
                              ("Erred", "erred")])  # fmt: skip


def cells_hover(plot, _element) -> None:
    """Hook: the cells of the history image get a hover tool of their own, so
    the rectangles' tool (and its names) stays theirs."""
    renderer = plot.handles["glyph_renderer"]
    name = renderer.name = task_hover.CELL_RENDERER
    figure = plot.state
    if not any(isinstance(t, HoverTool) and t.name == name for t in figure.tools):
        figure.add_tools(HoverTool(name=name, renderers=[renderer], tooltips=CELL_TOOLTIP))
_COLUMN_NAMES = dict.fromkeys(TaskPicture.QUAD_COLUMNS)


@dataclass(frozen=True)
class NewestRows:
    """The rows drawn as rectangles: cursors ``first..last`` of the history, its
    lanes as arranged ``lane_changes`` times."""

    first: int
    last: int
    lane_changes: int
    generation: int
    history: TaskHistory

    @property
    def columns(self) -> dict:
        """The rectangles' columns (computed on first use, shared through the history)."""
        return TaskPicture.of(self.history).quads(self.first, self.last)


class TaskStream(Plot):
    """The task stream of the whole run: quads when sparse, an image when dense.

    Example
    -------
    >>> from dashkit import Feed, SyntheticSource
    >>> stream = TaskStream(feed=Feed.shared(SyntheticSource(seed=1)))   # doctest: +SKIP
    >>> stream.element.opts(height=500)                                    # doctest: +SKIP
    """

    component_type = "task_stream"
    state_params = ("selected",)

    height = param.Integer(default=400, bounds=(100, None), doc="Plot height in pixels.")
    dense_threshold = param.Integer(
        default=5_000,
        bounds=(1, None),
        doc="Newest rectangles drawn as Bokeh quads; older history is rasterized. The "
        "browser redoes every rectangle it holds on each update: with 20,000, six pages "
        "on two cores took in one update a second instead of two.",
    )
    hover_limit = param.Integer(
        default=3_000,
        bounds=(0, None),
        doc="Zoomed into rasterized history: raw rectangles in view for the hover, "
        "at most this many.",
    )
    raster_period = param.Number(
        default=1.0,
        bounds=(0, None),
        doc="While streaming, seconds between re-aggregations of the history image.",
    )
    window = param.Number(
        default=20.0,
        bounds=(0, None),
        inclusive_bounds=(False, True),
        doc="Seconds of the run in view while following the newest tasks.",
    )
    span = param.Selector(
        default="window",
        objects=["window", "run"],
        doc="What following shows: the last ``window`` seconds, or the whole run held.",
    )
    selected = param.Dict(
        default=None,
        allow_None=True,
        doc="The task-stream row last clicked (see ``TaskHistory.task``), or None.",
    )
    click_slack = param.Integer(
        default=4, bounds=(0, None),
        doc="Pixels a click may miss a bar by and still select it (bars can be thinner "
        "than a pixel).",
    )  # fmt: skip

    def __init__(self, **params):
        super().__init__(**params)
        self._following = True
        self._watched: weakref.WeakSet = weakref.WeakSet()
        self._range = hv.streams.RangeXY()
        self._size = hv.streams.PlotSize()
        self._recent = hv.streams.Pipe(data=None)
        self._drawn_newest: NewestRows | None = None
        self._old_in_view: tuple | None = None  # (key, cursors) of _old_rows_in_view
        self._export_size: tuple[int, int] | None = None  # (width, height) while exporting
        self._span: pn.widgets.RadioButtonGroup | None = None  # on a page
        # Keep the whole run's summary from now on, not from the first frame.
        TaskPicture.of(self.feed.history)

    def _make_element(self) -> hv.DynamicMap:
        recent = hv.DynamicMap(lambda data: self._draw_newest(), streams=[self._recent])
        # The outline fits the lanes before the reserved rows get their
        # renderer, a copy of the glyph as it is then.
        recent = recent.opts(hooks=[color_from_columns, weak_hook(self._fit_outline),
                                    reserved_on_top], **_RECENT_OPTIONS)
        history = hv.DynamicMap(
            lambda x_range, y_range, **size: self._draw_history(*self._in_view(x_range, y_range),
                                                                **size),
            streams=[self._range, self._size],
        )
        # Only the quads set the axes, so following tracks the newest rows; the
        # image and the hover layer are drawn for whatever range is in view.
        history = history.opts(default_tools=[], apply_ranges=False)
        hover = hv.DynamicMap(
            lambda x_range, y_range: self._draw_hover(*self._in_view(x_range, y_range)),
            streams=[self._range],
        ).opts(
            fill_alpha=0, line_alpha=0, hover_fill_alpha=0.3, hover_line_alpha=1,
            tools=["hover"], hover_tooltips=task_hover.TOOLTIP, default_tools=[],
            apply_ranges=False,
        )  # fmt: skip
        cells = hv.DynamicMap(
            lambda x_range, y_range, **size: self._draw_cells(
                *self._in_view(x_range, y_range), **size),
            streams=[self._range, self._size],
        ).opts(
            fill_alpha=0, line_alpha=0, hover_fill_alpha=0, hover_line_alpha=0.8,
            hover_line_color=theme.GREY, default_tools=[], apply_ranges=False,
            hooks=[cells_hover],
        )  # fmt: skip
        self._range.source = recent
        self._size.source = recent
        return history * recent * hover * cells

    def options(self) -> list:
        return [hv.opts.Overlay(title=self.title or "Task stream", **self._style())]

    @property
    def following(self) -> bool:
        """Whether the view follows the run (False after the user zooms or pans)."""
        return self._following

    @property
    def n_rows(self) -> int:
        """Task-stream rows this plot holds (the whole history the feed keeps)."""
        return len(self.feed.history)

    @property
    def dense(self) -> bool:
        """Whether part of the history is drawn as an image."""
        return self.n_rows > self.dense_threshold

    def newest(self, view: FeedView) -> NewestRows:
        """The newest ``dense_threshold`` rows of ``view``, as rectangles (shared)."""
        history = view.history
        first = max(history.oldest, view.tasks_total - self.dense_threshold)
        return NewestRows(first, view.tasks_total, history.lane_changes, view.generation, history)

    def export_element(self) -> hv.DynamicMap:
        """:attr:`element` over the whole history held: a file shows all of it."""
        x_range, y_range = self._view_ranges(self.feed.history, None, None)
        return self.element.opts(hv.opts.Overlay(xlim=x_range, ylim=y_range), clone=True)

    def export_model(self, width: int = 2400):
        """The whole history in a file: the newest rows as rectangles and, when
        dense, the rest as an image ``width`` pixels wide."""
        # Browsers refuse textures past a few thousand pixels a side.
        self._export_size = (width, min(max(self.feed.history.n_lanes, 1) * 8, 2048))
        try:
            return super().export_model()
        finally:
            self._export_size = None

    def followed_range(self, view: FeedView) -> tuple[float, float]:
        """The x range following shows: the last ``window`` seconds, or the whole run."""
        history = view.history
        if self.span == "run":
            lo, hi = history.extent(history.oldest, view.tasks_total)
            # Rows dropped are drawn from the run's summary: the run starts at 0.
            return (min(lo, 0.0) if history.buffer.dropped else lo), hi
        newest = self.newest(view)
        lo, hi = history.extent(newest.first, newest.last)
        return max(lo, hi - self.window), hi

    def title_text(self, view: FeedView | None = None) -> str:
        return self.title or "Task stream"

    def _around(self, pane: pn.viewable.Viewable) -> pn.viewable.Viewable:
        self._span = pn.widgets.RadioButtonGroup.from_param(
            self.param.span, options=self._span_options(), name="", color="light",
            variant="outline", height=30, margin=(0, 10),
        )  # fmt: skip
        sizing = "stretch_both" if self.fill else "stretch_width"
        # The title shares the row of the buttons.
        return pn.Column(pn.Row(self._header_pane(), self._span, height=30,
                                sizing_mode="stretch_width"), pane, sizing_mode=sizing)  # fmt: skip

    def _span_options(self) -> dict:
        return {f"Last {self.window:g} s": "window", "Whole run": "run"}

    def _param_changed(self, *events) -> None:
        names = {e.name for e in events}
        if names & {"span", "window"}:
            self._following = True  # choosing what to follow follows it
        if "window" in names and self._span is not None:
            self._span.options = self._span_options()
        super()._param_changed(*events)

    def _style(self, *hooks, label_room: int = 10) -> dict:
        # No y axis: no labels to keep room for.
        style = super()._style(self._watch_interactions, self._name_hover, *hooks,
                               label_room=label_room)
        style.update(framewise=False, default_tools=[])
        return style

    # -- live updates ------------------------------------------------------------

    def show(self, view: FeedView) -> None:
        if len(view.history) > self.dense_threshold // 2:
            # Compile the aggregation (seconds of JIT) before the first dense frame
            # needs it, not when the plot is built, where it would slow the first paint.
            raster.warm_up_in_background()
        plots = self.live_plots()
        if self._hidden_here(plots):
            return
        newest = self.newest(view)
        if not plots or not all(p.fits_layer(RECENT, _COLUMN_NAMES) for p in plots):
            drawn = self._drawn_newest
            moved = drawn is None or drawn.lane_changes != newest.lane_changes
            if moved or drawn.last != newest.last:
                self._recent.event(data=None)  # shown by HoloViews alone: redraw the newest
            return
        names = TaskPicture.of(view.history).names()  # read after the view: it names all its rows
        for plot in plots:
            self._stream(plot, newest)
            task_hover.update_names(plot.figure, names)
            if self._following:
                plot.set_range(plot.figure.x_range, self.followed_range(view))
                plot.set_range(plot.figure.y_range, self._y_range(view.history))
            self._set_outline(plot, self._outline(view.history))
            self._refresh_image(plot, view.history)

    def _attached(self, plot: LivePlot) -> None:
        plot.memo["newest"] = self._drawn_newest  # what HoloViews drew

    def _fit_outline(self, plot, _element) -> None:
        """Hook: the outline as wide as the lanes allow (:func:`outline_width`)."""
        plot.handles["glyph"].line_width = self._outline()

    def _outline(self, history: TaskHistory | None = None) -> float:
        """The outline's width for this plot's lanes and height (its browser's)."""
        history = history or self.feed.history
        return outline_width(history.n_lanes, self._size.height or self.height)

    @staticmethod
    def _set_outline(plot: LivePlot, width: float) -> None:
        """Set the outline of ``plot``'s rectangles, in both their renderers."""
        glyphs = [r.glyph for r in plot.figure.renderers
                  if r.name == task_hover.RESERVED_RENDERER]  # fmt: skip
        for glyph in [plot.layers[RECENT].handles["glyph"], *glyphs]:
            if glyph.line_width != width:
                glyph.line_width = width

    def _name_hover(self, plot, _element) -> None:
        """Hook: one hover tool over the rectangles of every layer, naming what
        they carry as codes with the history's names as of now."""
        task_hover.name_hover(plot, TaskPicture.of(self.feed.history).names())

    def _watch_interactions(self, plot, _element) -> None:
        """Hook: zooming or panning stops following, the reset tool follows again.

        Registered while HoloViews builds the figure, so the browser is told
        which events to send before the page is written."""
        figure = plot.state
        if figure not in self._watched:
            self._watched.add(figure)
            figure.on_event(LODStart, self._stop_following)
            figure.on_event(RangesUpdate, self._keep_range)
            figure.on_event(Reset, self._follow)
            figure.on_event(Tap, self._tapped)

    def _stream(self, plot: LivePlot, newest: NewestRows) -> None:
        """Send the rows ``plot`` does not have: new rows only, unless rows moved."""
        drawn = plot.memo["newest"]
        same = (drawn is not None and drawn.generation == newest.generation
                and drawn.lane_changes == newest.lane_changes)  # fmt: skip
        # In a notebook cell rows streamed through Panel's comm reach BokehJS as
        # columns of different lengths (it warns, then fails with "Size
        # mismatch"), so a cell's rectangles are sent whole.
        streamable = not compat.in_notebook(plot.document)
        if same and streamable and newest.first <= drawn.last <= newest.last:
            if drawn.last < newest.last:
                rows = TaskPicture.of(newest.history).quads(drawn.last, newest.last)
                plot.stream(RECENT, rows, rollover=self.dense_threshold)
        else:  # rows moved, the history started over, or more is new than is kept
            plot.replace(RECENT, newest.columns)
        plot.memo["newest"] = newest

    def _refresh_image(self, plot: LivePlot, history: TaskHistory) -> None:
        """Re-aggregate the history image when rows came or the range in view or
        the plot's size changed, at most every ``raster_period`` seconds."""
        figure = plot.figure
        x_range = (figure.x_range.start, figure.x_range.end)
        y_range = (figure.y_range.start, figure.y_range.end)
        key = (id(history), history.total, history.lane_changes, x_range, y_range,
               self._size.width, self._size.height)  # fmt: skip
        dense = len(history) > self.dense_threshold
        drawn = plot.memo.get("image")
        if drawn == key or (drawn is None and not dense):
            return
        now = time.monotonic()
        if dense and now - plot.memo.get("image_at", 0.0) < self.raster_period:
            return
        plot.memo.update(image=key, image_at=now)
        plot.set_columns(HISTORY, self._image_columns(history, x_range, y_range))

    def _stop_following(self, _event: LODStart) -> None:
        # A wheel zoom reports its range only once the wheel has rested (half a
        # second): stop following as it starts, or ranges pushed meanwhile undo it.
        self._following = False

    def _keep_range(self, event: RangesUpdate) -> None:
        """The user zoomed or panned: stop following and keep the range they see."""
        self._following = False
        figure = event.model
        if figure is not None and None not in (event.x0, event.x1, event.y0, event.y1):
            LivePlot.set_range(figure.x_range, (event.x0, event.x1))
            LivePlot.set_range(figure.y_range, (event.y0, event.y1))

    def _follow(self, _event) -> None:
        self._following = True

    def _tapped(self, event: Tap) -> None:
        figure = event.model
        if figure is None or event.x is None or event.y is None:
            return
        start, end, width = figure.x_range.start, figure.x_range.end, figure.inner_width
        bottom, top, height = figure.y_range.start, figure.y_range.end, figure.inner_height
        pixel = None
        if None not in (start, end, bottom, top) and width and height:
            pixel = ((end - start) / width, (top - bottom) / height)
        self.select_at(event.x, event.y, pixel)

    def select_at(self, x: float, y: float,
                  pixel: tuple[float, float] | None = None) -> dict | None:  # fmt: skip
        """Select the task drawn at ``(x, y)`` (seconds, lane), as a click there
        does; returns it (None: no bar there, the selection stays).

        ``pixel`` is the size of a screen pixel (seconds, lanes). Where the
        image shows an erred task (black) under that pixel, that task is
        chosen; else a bar within ``click_slack`` pixels."""
        history = self.feed.history
        cursor = None
        slack = 0.0
        if pixel is not None:
            seconds, lanes = pixel
            slack = seconds * self.click_slack
            # Lanes thinner than a band are drawn summed: the band's lanes count.
            reach = max(0.5, raster.MIN_BAND_PIXELS * lanes)
            cursor = history.find_erred((x - seconds / 2, x + seconds / 2),
                                        (y - reach, y + reach))  # fmt: skip
        if cursor is None:
            cursor = history.find(x, y, slack, half=raster.BAR / 2)
        if cursor is None:
            return None
        self.selected = history.task(cursor)
        return self.selected

    # -- drawing -------------------------------------------------------------------

    @staticmethod
    def _y_range(history: TaskHistory) -> tuple[float, float]:
        return -0.5, max(history.n_lanes, 1) - 0.5

    def _draw_newest(self) -> hv.Rectangles:
        self._drawn_newest = self.newest(self.feed.view())
        return rectangles(self._drawn_newest.columns, _VDIMS)

    def _in_view(self, x_range, y_range) -> tuple:
        """The ranges this page's plot shows, for HoloViews' redraws of the image
        and hover layers. HoloViews' range stream hears only of the browser's
        moves, not of the server's while following, so on a live page it can
        hold a range long gone; the figure's own ranges are the ones in view."""
        if self._export_size is not None:
            return None, None  # the whole history held
        for plot in self.live_plots():
            figure = plot.figure
            shown = ((figure.x_range.start, figure.x_range.end),
                     (figure.y_range.start, figure.y_range.end))  # fmt: skip
            if None not in shown[0] + shown[1]:
                return shown
        return x_range, y_range

    def _view_ranges(self, history: TaskHistory, x_range, y_range):
        if len(history) == 0:
            return (0.0, 1.0), (-0.5, 0.5)
        # An empty plot reports NaN ranges; an image needs finite ones.
        if not _finite(x_range):
            x_range = (0.0, history.extent(history.oldest, history.total)[1])
        if not _finite(y_range):
            y_range = self._y_range(history)
        return x_range, y_range

    def _image(self, history: TaskHistory, x_range, y_range, width=None, height=None):
        """The image of the rows not drawn as rectangles, for a range: (rgba bottom
        row first, bounds). It ends where those rows end, so that following a run,
        where the range in view is mostly rectangles, sends a sliver, not an
        image of the plot's size (megabytes) every refresh."""
        (x_lo, x_hi), (y_lo, y_hi) = self._view_ranges(history, x_range, y_range)
        width = max(int(width or self._size.width or 1200), 1)
        # One image pixel per screen pixel: bars, grown by the rectangles'
        # outline, then meet the rectangles drawn beside them without a seam.
        height = int(height or self._size.height or self.height)
        grow = outline_width(y_hi - y_lo, height) / 2
        pad = (grow * (x_hi - x_lo) / width, grow * (y_hi - y_lo) / max(height, 1))
        older = history.total - self.dense_threshold
        end = x_lo
        if older > history.oldest:
            end = min(x_hi, history.extent(history.oldest, older)[1])
        if end <= x_lo or y_hi <= y_lo or height < 1:
            return np.zeros((1, 1), np.uint32), (x_lo, y_lo, x_hi, y_hi)
        width = max(round(width * (end - x_lo) / (x_hi - x_lo)), 1)
        image = TaskPicture.of(history).image((x_lo, end), (y_lo, y_hi), width, height,
                                              last=older, pad=pad)
        return image, (x_lo, y_lo, end, y_hi)

    def _image_columns(self, history: TaskHistory, x_range, y_range) -> dict:
        image, (x0, y0, x1, y1) = self._image(history, x_range, y_range)
        return {"image": [image], "x": np.array([x0]), "y": np.array([y0]),
                "dw": np.array([x1 - x0]), "dh": np.array([y1 - y0])}  # fmt: skip

    def _draw_history(self, x_range=None, y_range=None, width=None, height=None, **_size):
        if self._export_size is not None:
            width, height = self._export_size
        image, bounds = self._image(self.feed.history, x_range, y_range, width, height)
        rgba = image.view(np.uint8).reshape(*image.shape, 4)[::-1]
        return hv.RGB(rgba, bounds=bounds, vdims=list("RGBA"))

    def _old_rows_in_view(self, x_range) -> np.ndarray | None:
        """Cursors of the rows drawn in the image (not as rectangles) that overlap
        ``x_range``; None while following or before there are any. The hover and
        the cells layers both ask, for the same range: found once."""
        history = self.feed.history
        older = history.total - self.dense_threshold
        if older <= history.oldest or self._following or not _finite(x_range):
            return None
        key = (id(history), history.oldest, older, tuple(x_range))
        if self._old_in_view is None or self._old_in_view[0] != key:
            self._old_in_view = key, history.in_range(history.oldest, older, x_range)
        return self._old_in_view[1]

    def _draw_hover(self, x_range=None, y_range=None, **_streams):
        in_view = self._old_rows_in_view(x_range)
        cursors = np.empty(0, np.int64)
        if in_view is not None and in_view.size <= self.hover_limit:
            cursors = in_view
        return rectangles(TaskPicture.of(self.feed.history).quads_at(cursors), _VDIMS)

    def _draw_cells(self, x_range=None, y_range=None, width=None, height=None, **_size):
        """Zoomed out of a paused view: what each cell of the image holds, for the hover."""
        in_view = self._old_rows_in_view(x_range)
        columns = {k: np.empty(0) for k in (*CORNERS, *_CELL_VDIMS)}
        if in_view is not None and in_view.size > self.hover_limit and _finite(y_range):
            history = self.feed.history
            width = int(width or self._size.width or 1200)
            height = int(height or self._size.height or self.height)
            columns = TaskPicture.of(history).cells(
                x_range, y_range, width, height, last=history.total - self.dense_threshold)
        return rectangles(columns, _CELL_VDIMS)

    def rasterize(self, x_range, y_range, width: int, height: int) -> np.ndarray:
        """The history in view as a (height, width) uint32 RGBA image, bottom row first."""
        return TaskPicture.of(self.feed.history).image(x_range, y_range, width, height)


def _finite(bounds) -> bool:
    return bounds is not None and bool(np.isfinite(bounds).all()) and bounds[1] > bounds[0]

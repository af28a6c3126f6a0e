"""Live updates: HoloViews draws a plot once, then each poll goes straight into its Bokeh models.

HoloViews' full update of a plot (ranges of every column, options, property
defaults, model-graph recompute) costs 20-80 ms; assigning the changed columns
of a ``ColumnDataSource`` and the few properties that change costs about a
millisecond. So a component computes a :class:`PlotFrame` once per poll for
every page (:meth:`dashkit.frame_cache.FrameCache.derive`), and each page moves it into its
own models through a :class:`LivePlot`: only columns whose array changed,
only properties whose value changed, no new models.

Example
-------
>>> import holoviews as hv, numpy as np
>>> plot = hv.renderer("bokeh").get_plot(hv.Rectangles([(0, 0, 1, 1)]))
>>> live = LivePlot(plot)
>>> frame = PlotFrame(layers=({"left": np.array([0.0]), "right": np.array([2.0]),
...                            "bottom": np.array([0.0]), "top": np.array([1.0])},),
...                   title="two", x_range=(0, 2))
>>> live.fits(frame), live.show(frame), plot.state.title.text
(True, None, 'two')
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Mapping

import numpy as np
from bokeh.models import FixedTicker
from panel.models import HTML

from dashkit.columns import inline, string_arrays

Columns = Mapping[str, np.ndarray]


@dataclasses.dataclass(frozen=True, eq=False)
class PlotFrame:
    """What a plot shows after one poll; computed once, shared by every page.

    ``layers`` holds the column data of each overlay layer, in overlay order,
    under the names HoloViews gives that layer's ``ColumnDataSource`` (an
    empty mapping for a layer without data, such as a line). ``marks`` puts
    a layer's line annotation at a position (None hides it). ``yticks`` are
    ``(position, label)`` pairs.
    """

    layers: tuple[Columns, ...]
    title: str = ""
    x_range: tuple[float, float] | None = None
    y_range: tuple[float, float] | None = None
    yticks: tuple[tuple[float, str], ...] = ()
    marks: Mapping[int, float | None] = dataclasses.field(default_factory=dict)

    def with_string_arrays(self) -> PlotFrame:
        """This frame with its text columns marked to be sent as one list each (see
        :func:`~dashkit.columns.string_arrays`)."""
        return dataclasses.replace(self, layers=tuple(map(string_arrays, self.layers)))

    def keep_unchanged(self, previous: PlotFrame | None) -> PlotFrame:
        """This frame with ``previous``'s arrays wherever they are equal, so that
        an unchanged column is the same object and is not sent again."""
        if not isinstance(previous, PlotFrame) or len(previous.layers) != len(self.layers):
            return self
        layers = tuple(
            {k: old[k] if k in old and _equal(v, old[k]) else v for k, v in new.items()}
            for new, old in zip(self.layers, previous.layers, strict=True)
        )
        return dataclasses.replace(self, layers=layers)


def _equal(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and bool(np.array_equal(a, b))


class LivePlot:
    """One rendered HoloViews plot, updated by assigning to its Bokeh models.

    ``plot`` is what HoloViews rendered (an overlay's plot or one element's);
    its layers are the element plots in overlay order.
    """

    def __init__(self, plot):
        self.plot = plot
        self.figure = plot.state
        subplots = getattr(plot, "subplots", None)
        self.layers = list(subplots.values()) if subplots else [plot]
        self._sent: dict[int, dict[str, np.ndarray]] = {}
        #: What a component remembers of this plot between redraws.
        self.memo: dict = {}

    @property
    def document(self):
        return self.figure.document

    def source(self, layer: int):
        """The ColumnDataSource of a layer."""
        return self.layers[layer].handles["source"]

    def fits(self, frame: PlotFrame) -> bool:
        """Whether ``frame`` has every column the plot's data sources hold.

        Options that map data (``.opts(color=dim(...))``) make HoloViews add
        columns of its own; such a plot is redrawn through HoloViews instead."""
        if len(frame.layers) != len(self.layers):
            return False
        return all(self.fits_layer(i, columns) for i, columns in enumerate(frame.layers))

    def fits_layer(self, layer: int, columns: Columns) -> bool:
        """Whether ``columns`` has every column of ``layer``'s data source."""
        return set(self.source(layer).data) <= set(columns)

    def assume(self, frame: PlotFrame) -> None:
        """Take ``frame`` as what the plot shows now (HoloViews drew it)."""
        self._sent = {i: dict(columns) for i, columns in enumerate(frame.layers)}

    def show(self, frame: PlotFrame, title: str | None = None) -> None:
        """Move ``frame`` into the plot: changed columns, title, ranges, ticks, marks."""
        for i, columns in enumerate(frame.layers):
            self.set_columns(i, columns)
        for i, location in frame.marks.items():
            glyph = self.layers[i].handles["glyph"]
            if glyph.location != location:
                glyph.location = location
        self.set_title(title or frame.title)
        if frame.x_range is not None:
            self.set_range(self.figure.x_range, frame.x_range)
        if frame.y_range is not None:
            self.set_range(self.figure.y_range, frame.y_range)
        self.set_yticks(frame.yticks)

    def set_columns(self, layer: int, columns: Columns) -> None:
        """Send the columns of ``layer`` whose arrays differ from those sent last."""
        source = self.source(layer)
        names = list(source.data)
        if not names:
            return
        sent = self._sent.setdefault(layer, {})
        changed = [k for k in names if columns[k] is not sent.get(k)]
        if not changed:
            return
        same_length = len(source.data[names[0]]) == len(columns[names[0]])
        if same_length and len(changed) < len(names):
            source.data.update({k: inline(columns[k]) for k in changed})
        else:
            source.data = {k: inline(columns[k]) for k in names}
        sent.update({k: columns[k] for k in names})

    def stream(self, layer: int, columns: Columns, rollover: int) -> None:
        """Append rows to ``layer``'s data source; only those rows are sent."""
        source = self.source(layer)
        rows = string_arrays({k: columns[k] for k in source.data})
        source.stream({k: inline(v) for k, v in rows.items()}, rollover=rollover)
        self._sent.pop(layer, None)

    def replace(self, layer: int, columns: Columns) -> None:
        """Send every column of ``layer`` anew (text as one list each, as :meth:`stream`)."""
        self._sent.pop(layer, None)
        self.set_columns(layer, string_arrays(columns))

    def set_title(self, text: str) -> None:
        if self.figure.title.text != text:
            self.figure.title.text = text

    @staticmethod
    def set_range(bokeh_range, bounds: tuple[float, float]) -> None:
        start, end = float(bounds[0]), float(bounds[1])
        if bokeh_range.start != start or bokeh_range.end != end:
            bokeh_range.update(start=start, end=end)

    def set_yticks(self, ticks: tuple[tuple[float, str], ...]) -> None:
        """Label the y axis at ``ticks`` (on the plot's FixedTicker; see the theme hook)."""
        axis = self.figure.yaxis[0] if self.figure.yaxis else None
        if axis is None or not isinstance(axis.ticker, FixedTicker):
            return
        positions = [p for p, _ in ticks]
        overrides = {p: label for p, label in ticks}
        if list(axis.ticker.ticks) != positions:
            axis.ticker.ticks = positions
        if axis.major_label_overrides != overrides:
            axis.major_label_overrides = overrides


class LiveHTML:
    """A line of HTML on a page (a plot's title, the feed's status) that a redraw
    replaces directly.

    It is Panel's HTML model rather than a Bokeh ``Div``: BokehJS lays the whole
    page out again whenever a ``Div``'s text changes, and the few lines that
    change every poll made that a quarter of a busy page's time in the
    browser. Panel's model only replaces its own content. That model decodes
    its text once before showing it, as Panel's own panes encode it, and would
    run scripts: the text is encoded here, and scripts never run.

    Example
    -------
    >>> line = LiveHTML("<b>3 workers</b>", css_classes=["status"])
    >>> line.set("<b>4 workers</b>"); line.html
    '<b>4 workers</b>'
    """

    def __init__(self, markup: str = "", **props):
        self._html = markup
        self.model = HTML(text=html.escape(markup), run_scripts=False, disable_math=True, **props)

    @property
    def html(self) -> str:
        """The HTML shown now."""
        return self._html

    def set(self, markup: str) -> None:
        """Show ``markup`` (sends nothing when it is what is shown)."""
        if markup != self._html:
            self._html = markup
            self.model.text = html.escape(markup)

"""Component: what everything a layout places shares, plots and widgets alike.

A component reads a :class:`~dashkit.feed.Feed` (never a Dask object) and is
shown wherever Panel shows things: a served page, a notebook cell, an
individual plot page; :meth:`Component.export_model` is what a file shows of
it. Two kinds build on this base:

* :class:`~dashkit.components.plot.Plot`: a HoloViews element drawn from a
  frame of the feed (memory, processing, progress, the task stream);
* :class:`Widget`: a line or control of the page (the feed's status, the
  replay control, the task card).

Redraws run on the session's own event loop: when a component is first
rendered in a server or notebook session it joins that document's
:class:`~dashkit.components.refresh.SessionRefresh`, one periodic callback
for all components of the page, which calls :meth:`Component.show` after
each poll and stops with the session: a closed page leaves no callback and
no feed reader behind.

Parameters are live: setting one on a component that is shown changes what
every page and cell showing it draws (:attr:`Component.style_params` restyle
it, any other redraws it at once).
"""

from __future__ import annotations

from functools import partial
from typing import ClassVar

import panel as pn
import param
from bokeh.model import Model
from bokeh.models import Div
from panel.io.state import set_curdoc

from dashkit import theme
from dashkit.components import compat
from dashkit.components.refresh import SessionRefresh
from dashkit.feed import Feed, FeedView
from dashkit.registry import Registered


class Component(Registered, pn.viewable.Viewer):
    """Base class of everything a layout places; subclasses set ``component_type``.

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
    #: Parameters a page sets while in use (a click's selection): not in specs.
    state_params: ClassVar[tuple[str, ...]] = ()
    #: Parameters that change how the component looks, not what it shows:
    #: setting one restyles it where it is shown (:meth:`_restyle`).
    style_params: ClassVar[tuple[str, ...]] = ("theme", "height", "fill")

    feed = param.ClassSelector(class_=Feed, constant=True, doc="The Feed this component reads.")
    period = param.Integer(
        default=200, bounds=(50, None),
        doc="Fewest milliseconds between two redraws in a live session; a page redraws "
        "after each poll of its feed.",
    )  # fmt: skip
    height = param.Integer(default=300, bounds=(50, None), doc="Height in pixels.")
    fill = param.Boolean(
        default=False,
        doc="Fill the height of the page or cell too (a page showing one plot, such as a "
        "JupyterLab pane); ``height`` is then the least height.",
    )
    theme = param.Selector(
        default="light", objects=list(theme.PALETTES), doc="Light or dark colours."
    )

    __abstract = True

    def __init__(self, **params):
        if params.get("feed") is None:
            raise ValueError(f"{type(self).__name__} needs a feed: {type(self).__name__}(feed=...)")
        super().__init__(**params)
        self._explicit = set(params) - {"feed", "name"}  # what a spec must repeat
        self._reader = self.feed.reader()  # keeps a shared feed polling while shown
        self._pane: pn.viewable.Viewable | None = None
        self._shown_panel: pn.viewable.Viewable | None = None
        live = [p for p in self.param if p not in {"name", "feed", *self.state_params}]
        self.param.watch(self._param_changed, live)

    # -- the contract ----------------------------------------------------------------

    def show(self, view: FeedView) -> None:
        """Move what ``view`` holds into this component's models (called after
        each poll of the feed, unbatched: see :meth:`update`)."""
        raise NotImplementedError

    def export_model(self) -> Model:
        """What a file shows of this component: a Bokeh model (a file holds no
        Panel models and no server)."""
        raise NotImplementedError

    def _view(self) -> pn.viewable.Viewable:
        """The Panel object a page shows, built once per component."""
        raise NotImplementedError

    def _restyle(self) -> None:
        """Apply the :attr:`style_params` to what is shown."""
        if self._pane is not None:
            self._pane.param.update(**self._sizing())

    # -- shown -------------------------------------------------------------------------

    def update(self, view: FeedView | None = None) -> None:
        """Redraw from ``view`` (the feed's latest poll by default), batched into one message."""
        SessionRefresh.redraw([self], view)

    @property
    def pane(self) -> pn.viewable.Viewable | None:
        """The Panel object this component shows, once rendered (None before)."""
        return self._pane

    def release(self) -> None:
        """Release the feed reader: the last one out stops a shared feed."""
        self._reader.close()

    def _sizing(self) -> dict:
        """Panel sizing of the component's own view."""
        if self.fill:
            return {"sizing_mode": "stretch_both", "min_height": self.height, "height": None}
        return {"sizing_mode": "stretch_width", "height": self.height, "min_height": None}

    def _around(self, pane: pn.viewable.Viewable) -> pn.viewable.Viewable:
        """What the page shows around the component's own view (a title, controls)."""
        return pane

    def __panel__(self) -> pn.viewable.Viewable:
        doc = pn.state.curdoc
        compat.prepare_page(doc)
        if self._pane is None:
            self._pane = self._view()
            self._shown_panel = self._around(self._pane)
        # A server session's document is known now; redraws run on that
        # session's own event loop. A notebook cell's document is made after
        # this, when Panel renders the cell's output.
        if doc is not None:
            SessionRefresh.join(self, doc)
        elif compat.in_notebook(doc):
            SessionRefresh.join_when_rendered(self)
        return self._shown_panel

    # -- live parameters ---------------------------------------------------------------

    def _param_changed(self, *events) -> None:
        if self._pane is None:
            return  # drawn from the new values when first shown
        if any(e.name in self.style_params for e in events):
            self._restyle()
        self._redraw_now()

    def _redraw_now(self) -> None:
        """Redraw in every document the component is shown in, each on its own loop."""
        for doc in compat.documents_of(self._pane):
            if compat.served(doc):
                doc.add_next_tick_callback(partial(self._redraw_in, doc))
            else:
                self._redraw_in(doc)

    def _redraw_in(self, doc) -> None:
        with set_curdoc(doc):
            SessionRefresh.redraw([self])


class Widget(Component):
    """Base of the components that are a line or a control of the page, not a plot.

    A widget builds its Panel objects in :meth:`_view` and moves each poll into
    them in :meth:`show`; a file shows :meth:`export_text` (the widget's text).

    Example
    -------
    >>> from dashkit.components import FeedStatus
    >>> issubclass(FeedStatus, Widget)
    True
    """

    __abstract = True

    def export_text(self) -> str:
        """The HTML a file shows of this widget."""
        raise NotImplementedError

    def export_model(self) -> Model:
        return Div(text=self.export_text(), sizing_mode="stretch_width")

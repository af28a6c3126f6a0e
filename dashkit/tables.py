"""FeedTables: a Feed's live frames as tables (workers, progress, task stream).

The plain view of what a Feed holds, for checking numbers and for clusters
where a table says more than a plot.

Example
-------
>>> from dashkit import Feed, SyntheticSource
>>> tables = FeedTables(feed=Feed(SyntheticSource(seed=1)))
>>> tables.feed.poll(); tables.refresh()
True
"""

from __future__ import annotations

import panel as pn
import param

from dashkit.feed import Feed


class FeedTables(pn.viewable.Viewer):
    """Live tables of a Feed: status line, workers, progress, latest task rows."""

    feed = param.ClassSelector(class_=Feed, doc="The Feed to show.")
    period = param.Integer(default=1000, bounds=(100, None), doc="Milliseconds between refreshes.")
    recent_rows = param.Integer(
        default=20, bounds=(1, None), doc="Newest task-stream rows shown."
    )

    def __init__(self, **params):
        super().__init__(**params)
        self._reader = self.feed.reader(from_start=False)
        self._status = pn.pane.Markdown(sizing_mode="stretch_width")
        self._workers = pn.pane.DataFrame(index=False, sizing_mode="stretch_width")
        self._progress = pn.pane.DataFrame(index=False, sizing_mode="stretch_width")
        self._recent = pn.pane.DataFrame(index=False, sizing_mode="stretch_width")
        self._layout = pn.Column(
            self._status,
            "### Workers",
            self._workers,
            "### Progress",
            self._progress,
            "### Newest task-stream rows",
            self._recent,
            sizing_mode="stretch_width",
        )
        self.refresh()
        if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
            callback = pn.state.add_periodic_callback(self.refresh, period=self.period)
            pn.state.on_session_destroyed(lambda _ctx: (callback.stop(), self._reader.close()))

    def refresh(self) -> None:
        """Read what is new from the Feed and redraw."""
        feed = self.feed
        new = self._reader.read().frame
        with pn.io.hold():
            self._status.object = (
                f"**Feed:** {feed.status} · polls: {feed.polls} · "
                f"task-stream rows: {feed.tasks.total:,} (held {len(feed.tasks):,}, "
                f"dropped {feed.dropped:,}) · workers: {len(feed.workers)}"
            )
            self._workers.object = feed.workers
            self._progress.object = feed.progress.sort_values("total", ascending=False)
            if len(new):
                self._recent.object = new.tail(self.recent_rows).iloc[::-1]

    def __panel__(self):
        return self._layout

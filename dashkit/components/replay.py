"""ReplayControl: play, pause, change speed and scrub a replayed recording."""

from __future__ import annotations

import html
from pathlib import Path

import panel as pn
import param

from dashkit import theme
from dashkit.components.base import Widget
from dashkit.feed import FeedView
from dashkit.sources.replay import ReplaySource

SPEEDS = [0.5, 1, 2, 5, 10, 50, 100]


class ReplayControl(Widget):
    """Play/pause, speed and a time slider for a feed whose source is a
    :class:`~dashkit.sources.replay.ReplaySource`.

    Layouts add one to their header on their own when they replay; specs can
    also place it as a cell (``{type: replay_control}``).

    Example
    -------
    >>> feed = Feed.shared(ReplaySource(path="run.dkrec"))   # doctest: +SKIP
    >>> pn.Column(ReplayControl(feed=feed), TaskStream(feed=feed))   # doctest: +SKIP
    """

    component_type = "replay_control"

    height = param.Integer(default=60, bounds=(30, None), doc="Height in pixels.")
    period = param.Integer(
        default=250, bounds=(50, None), doc="Milliseconds between slider updates."
    )

    def __init__(self, **params):
        super().__init__(**params)
        source = self.feed.source
        if not isinstance(source, ReplaySource):
            raise ValueError(
                f"ReplayControl needs a feed that replays a recording (a ReplaySource); "
                f"this feed's source is {type(source).__name__}"
            )
        self.source = source
        self._play = pn.widgets.Toggle(label="Pause" if source.playing else "Play",
                                       value=source.playing, width=80)  # fmt: skip
        self._speed = pn.widgets.Select(
            options={f"{s}×": s for s in SPEEDS}, width=80,
            value=min(SPEEDS, key=lambda s: abs(s - source.speed)),
        )  # fmt: skip
        self._slider = pn.widgets.FloatSlider(
            start=0.0, end=max(source.duration, 1e-3), step=0.1,
            value=source.position, sizing_mode="stretch_width", show_value=False,
        )  # fmt: skip
        self._label = pn.pane.HTML(self.text(), width=260)
        self._play.param.watch(self._on_play, "value")
        self._speed.param.watch(lambda e: setattr(self.source, "speed", e.new), "value")
        # value_throttled: seek once the user lets go, not on every pixel dragged
        self._slider.param.watch(lambda e: self.source.seek(e.new), "value_throttled")

    def text(self) -> str:
        """The label: playing/paused/ended, position, length and speed (also the export's)."""
        source = self.source
        state = "playing" if source.playing and not source.finished else "paused"
        if source.finished:
            state = "ended"
        path = html.escape(str(source.path), quote=True)
        return (
            f'<span class="dashkit-replay" data-state="{state}" title="{path}" '
            f'style="color:{theme.PALETTES[self.theme].text}">replay of '
            f"<b>{html.escape(Path(source.path).name)}</b>: {source.position:,.1f} s of "
            f"{source.duration:,.1f} s, {source.speed:g}×</span>"
        )

    def _on_play(self, event) -> None:
        if event.new and self.source.finished:
            self.source.seek(0.0)  # play at the end starts over
        self.source.playing = event.new
        self._play.label = "Pause" if event.new else "Play"

    def _view(self) -> pn.viewable.Viewable:
        return pn.Row(self._play, self._speed, self._slider, self._label,
                      sizing_mode="stretch_width", height=self.height)  # fmt: skip

    def _restyle(self) -> None:
        super()._restyle()
        self._label.object = self.text()

    def export_text(self) -> str:
        return self.text()

    def show(self, view: FeedView) -> None:
        self._slider.value = self.source.position
        text = self.text()
        if text != self._label.object:
            self._label.object = text

"""TaskDetails: a card telling the story of the task clicked in a task stream.

What the task stream drew comes from the Feed (key, prefix, action, worker,
thread, start, stop, duration, status; the exception and traceback of an
erred task when the source reported them, recordings included). What only
the scheduler knows now (its state, result size and type, where the result
lives, dependencies and dependents, where a transfer came from) is asked in
one request off the page's event loop, and added when it answers; the card
says so when the scheduler has forgotten the task or the source cannot ask
(a recording, a synthetic cluster).

A layout links each card to the task stream on the same feed; a key typed
in the card's box shows that task without a click.
"""

from __future__ import annotations

import html
import threading
import time
from datetime import datetime, timezone
from functools import partial

import numpy as np
import panel as pn
import param

from dashkit import theme
from dashkit.components.base import Widget
from dashkit.components.task_stream import TaskStream
from dashkit.feed import FeedView
from dashkit.sources.scheduler_side import MAX_KEY_CHARS

_EMPTY = '<p class="dashkit-note">Click a task in the task stream to see its story here.</p>'
#: Questions one card asks the scheduler, at most, per second: any viewer can
#: type keys, and the scheduler's event loop serves every client of the cluster.
ASKS_PER_SECOND = 4
#: Dependencies named on the card; the rest are counted.
_DEPENDENCIES_SHOWN = 5


class TaskDetails(Widget):
    """A card with everything known about one task of the task stream.

    Example
    -------
    >>> stream = TaskStream(feed=feed)                          # doctest: +SKIP
    >>> card = TaskDetails(feed=feed, task_stream=stream)       # doctest: +SKIP
    >>> pn.Column(stream, card).servable()                      # doctest: +SKIP
    """

    component_type = "task_details"
    state_params = ("task", "task_stream")

    height = param.Integer(default=260, bounds=(60, None), doc="Card height in pixels.")
    title = param.String(default=None, allow_None=True,
                         doc="The card's title; None: 'Task details'.")
    task_stream = param.ClassSelector(
        class_=TaskStream, default=None, allow_None=True,
        doc="The task stream whose clicks the card shows; a layout links the one on "
        "the same feed.",
    )  # fmt: skip
    task = param.Dict(
        default=None, allow_None=True,
        doc="The task-stream row shown (``TaskHistory.task``), or None.",
    )  # fmt: skip
    ask_cluster = param.Boolean(
        default=True,
        doc="Ask the scheduler what only it knows (one request per task shown).",
    )
    hidden_until_chosen = param.Boolean(
        default=False,
        doc="Take no room on the page until a task is chosen (the status page's card).",
    )

    def __init__(self, **params):
        super().__init__(**params)
        self._answers: dict[str, tuple[dict | None, str | None]] = {}
        self._asking = False  # a question to the scheduler is on its way
        self._wanted: str | None = None  # the key to ask about next
        self._next_ask = 0.0  # monotonic time the next question may go
        self._html = pn.pane.HTML(_EMPTY, sizing_mode="stretch_width",
                                  css_classes=["dashkit-task-details"])  # fmt: skip
        self._search = pn.widgets.TextInput(placeholder="Task key", sizing_mode="stretch_width",
                                            margin=(0, 0, 4, 0))  # fmt: skip
        self._search.param.watch(self._searched, "value")
        self._previous_error = pn.widgets.Button(label="◀ error", width=80, margin=(0, 4, 4, 0))
        self._next_error = pn.widgets.Button(label="error ▶", width=80, margin=(0, 4, 4, 0))
        self._previous_error.on_click(lambda _event: self.step_error(-1))
        self._next_error.on_click(lambda _event: self.step_error(+1))
        self.param.watch(self._linked, "task_stream")
        self.param.watch(self._render, "task")
        self._linked()

    # -- choosing the task ----------------------------------------------------

    def _linked(self, *_event) -> None:
        if self.task_stream is not None:
            self.task_stream.param.watch(self._clicked, "selected")

    def _clicked(self, event) -> None:
        if event.new is not None:
            self.task = dict(event.new)

    def _searched(self, event) -> None:
        key = event.new.strip()
        if len(key) > MAX_KEY_CHARS:
            self._html.object = (f'<p class="dashkit-note">A key is at most {MAX_KEY_CHARS:,} '
                                 "characters: this one is not looked up.</p>")  # fmt: skip
        elif key:
            self.show_key(key)

    def show_key(self, key: str) -> dict:
        """Show the newest task-stream row of ``key`` (a task not in the stream
        held: what the scheduler says of it)."""
        history = self.feed.history
        cursor = history.find_key(key)
        self.task = history.task(cursor) if cursor is not None else {"key": key}
        return self.task

    def step_error(self, step: int) -> dict | None:
        """Show the erred compute after (``step`` 1) or before (-1) the task
        shown, in the order the rows came (the first or last when none is
        shown); returns it (None: the history held has no erred task)."""
        erred = self.feed.history.erred()
        if not erred.size:
            self._html.object = '<p class="dashkit-note">No erred task in the history held.</p>'
            return None
        cursor = (self.task or {}).get("cursor")
        if cursor is None:
            at = 0 if step > 0 else erred.size - 1
        elif step > 0:
            at = int(np.searchsorted(erred, cursor, side="right")) % erred.size
        else:
            at = (int(np.searchsorted(erred, cursor, side="left")) - 1) % erred.size
        self.task = {**self.feed.history.task(int(erred[at])),
                     "erred_index": at, "erred_count": int(erred.size)}  # fmt: skip
        return self.task

    # -- asking the scheduler -------------------------------------------------

    def ask(self) -> tuple[dict | None, str | None]:
        """Ask the cluster about the task shown now and wait for the answer
        (a served page asks in the background by itself)."""
        key = (self.task or {}).get("key")
        if key is None:
            return None, None
        self._pace()
        answer = self.feed.task_info(key)
        self._answered(key, answer)
        return answer

    def _pace(self) -> None:
        """Wait until the next question may go: at most ASKS_PER_SECOND."""
        time.sleep(max(0.0, self._next_ask - time.monotonic()))
        self._next_ask = time.monotonic() + 1 / ASKS_PER_SECOND

    def _render(self, *_event) -> None:
        self._html.object = self.text()
        if self._pane is not None:
            self._pane.visible = True
        key = (self.task or {}).get("key")
        if key is None or not self.ask_cluster or key in self._answers:
            return
        doc = pn.state.curdoc
        if doc is None or doc.session_context is None:
            self.ask()  # a notebook or a script: no page loop to keep free
            return
        if self._asking:
            self._wanted = key  # asked when the question on its way is answered
            return
        self._asking = True
        threading.Thread(target=self._ask_for, args=(key, doc), daemon=True,
                         name="dashkit-task-details").start()  # fmt: skip

    def _ask_for(self, key: str, doc) -> None:
        self._pace()  # one question at a time (see _render), paced
        answer = self.feed.task_info(key)
        doc.add_next_tick_callback(partial(self._answered, key, answer))

    def _answered(self, key: str, answer) -> None:
        self._answers[key] = answer
        self._asking = False
        if (self.task or {}).get("key") == key:
            self._html.object = self.text()
        wanted, self._wanted = self._wanted, None
        if wanted is not None and (self.task or {}).get("key") == wanted:
            self._render()

    # -- the card ----------------------------------------------------------------

    def text(self) -> str:
        """The card's HTML for the task shown now (every value escaped)."""
        task = self.task
        if not task:
            return _EMPTY
        key = task["key"]
        info, note = self._answers.get(key, (None, None))
        asked = key in self._answers
        parts = [f'<div class="dashkit-task-key"><b>{_e(key)}</b></div>']
        if "erred_index" in task:
            parts.append(f'<p class="dashkit-note">Erred task {task["erred_index"] + 1:,} of '
                         f'{task["erred_count"]:,} in the history held.</p>')  # fmt: skip
        if "start" in task:
            parts.append(self._row_table(task))
        else:
            parts.append('<p class="dashkit-note">Not in the task stream held.</p>')
        erred = task.get("status") == "error" or (info or {}).get("state") == "erred"
        if erred:
            parts.append(self._error(key, info))
        if task.get("action") == "transfer":
            parts.append(self._transfer(task, info))
        if info is not None:
            parts.append(self._scheduler_line(info))
        elif note:
            parts.append(f'<p class="dashkit-note">{_e(note)}</p>')
        elif self.ask_cluster and not asked:
            parts.append('<p class="dashkit-note">Asking the scheduler…</p>')
        return "".join(parts)

    @staticmethod
    def _row_table(task: dict) -> str:
        status = task["status"]
        shown = (f'<span class="dashkit-erred" style="color:{theme.RED}"><b>erred</b></span>'
                 if status == "error" else _e(status))  # fmt: skip
        rows = [("Prefix", _e(task["prefix"])), ("Action", _e(task["action"])),
                ("Worker", _e(task["worker"])), ("Thread", _e(task["thread"])),
                ("Start", _e(_clock(task["start"]))), ("Stop", _e(_clock(task["stop"]))),
                ("Duration", _e(theme.format_time(task["duration"]))),
                ("Status", shown)]  # fmt: skip
        body = "".join(f"<tr><th>{label}</th><td>{value}</td></tr>" for label, value in rows)
        return f'<table class="dashkit-task-table">{body}</table>'

    def _error(self, key: str, info: dict | None) -> str:
        texts = self.feed.task_error(key)
        if texts is None and info is not None and info.get("exception"):
            texts = (info["exception"], info.get("traceback", ""))
        if texts is None:
            return ('<p class="dashkit-note">The exception is not known: the source did not '
                    "report it and the scheduler no longer holds it.</p>")  # fmt: skip
        exception, traceback = texts
        shown = (f'<pre class="dashkit-exception" style="color:{theme.RED};white-space:pre-wrap">'
                 f"{_e(exception)}</pre>")  # fmt: skip
        if traceback:
            shown += ('<details><summary>Traceback</summary><pre class="dashkit-traceback">'
                      f"{_e(traceback)}</pre></details>")  # fmt: skip
        return shown

    @staticmethod
    def _transfer(task: dict, info: dict | None) -> str:
        transfers = (info or {}).get("transfers") or []
        if not transfers:
            return (f"<p>Data moved to {_e(task['worker'])}; where from, the scheduler does "
                    "not say now.</p>")  # fmt: skip
        moved = min(transfers, key=lambda t: abs(t["start"] - task["start"]))
        source = moved["source"]
        held = [d for d in info.get("dependencies", []) if source in d["who_has"]]
        sizes = [d["nbytes"] for d in held if d["nbytes"] is not None]
        size = f": {theme.count(len(held), 'dependency', 'dependencies')} held there"
        if sizes:
            size += f", {theme.format_bytes(sum(sizes))}"
        return f"<p>Moved from <b>{_e(source)}</b> to <b>{_e(task['worker'])}</b>{size}.</p>"

    @staticmethod
    def _scheduler_line(info: dict) -> str:
        if info["state"] == "forgotten":
            return ('<p class="dashkit-note">The scheduler has forgotten this task (its result '
                    "was released); shown is what the task stream recorded.</p>")  # fmt: skip
        said = [f"state <b>{_e(info['state'])}</b>"]
        if info.get("nbytes") is not None:
            kind = f" ({_e(info['type'])})" if info.get("type") else ""
            said.append(f"result {_e(theme.format_bytes(info['nbytes']))}{kind}")
        if info.get("who_has"):
            said.append("held on " + ", ".join(map(_e, info["who_has"])))
        if info.get("processing_on"):
            said.append(f"running on {_e(info['processing_on'])}")
        deps = info.get("dependencies", [])
        if info.get("n_dependencies"):
            names = ", ".join(_e(d["key"]) for d in deps[:_DEPENDENCIES_SHOWN])
            more = info["n_dependencies"] - min(len(deps), _DEPENDENCIES_SHOWN)
            counted = theme.count(info["n_dependencies"], "dependency", "dependencies")
            said.append(f"{counted} ({names}{f' and {more} more' if more > 0 else ''})")
        said.append(theme.count(info.get("n_dependents", 0), "dependent", "dependents"))
        return f'<p class="dashkit-scheduler">Scheduler: {" · ".join(said)}.</p>'

    # -- component --------------------------------------------------------------

    @property
    def html(self) -> str:
        """The card as shown now."""
        return self._html.object

    def _view(self) -> pn.viewable.Viewable:
        self._title_pane = pn.pane.HTML(self._title_html(), margin=(0, 0, 4, 0))
        return pn.Column(
            self._title_pane, pn.Row(self._previous_error, self._next_error, self._search),
            self._html, scroll=True,
            css_classes=["dashkit-task-card"], styles=self._colors(),
            visible=self.task is not None or not self.hidden_until_chosen, **self._sizing(),
        )  # fmt: skip

    def _colors(self) -> dict:
        palette = theme.PALETTES[self.theme]
        return {"background": palette.background, "color": palette.text}

    def _restyle(self) -> None:
        super()._restyle()
        self._pane.styles = self._colors()
        self._title_pane.object = self._title_html()

    def _title_html(self) -> str:
        return f"<b>{_e(self.title or 'Task details')}</b>"

    def show(self, view: FeedView) -> None:
        """Nothing moves with a poll: the card shows the task chosen."""

    def export_text(self, most: int = 20) -> str:
        """What an export shows instead of a card (no page to click in): the
        newest ``most`` erred tasks held, with their exceptions."""
        errors = list(self.feed.errors.items())[-most:]
        title = self._title_html()
        if not errors:
            return f"{title}<p>No task erred.</p>"
        items = "".join(f"<li><b>{_e(k)}</b>: <code>{_e(exception)}</code></li>"
                        for k, (exception, _tb) in reversed(errors))  # fmt: skip
        counted = f"{len(self.feed.errors):,} erred tasks; the newest" if len(
            self.feed.errors) > most else "Erred tasks"  # fmt: skip
        return f'{title}<p>{counted}:</p><ul class="dashkit-erred-list">{items}</ul>'


def _e(value) -> str:
    return html.escape(str(value))


def _clock(epoch: float) -> str:
    """Scheduler-clock time of day (UTC), to the millisecond."""
    if not np.isfinite(epoch):
        return "?"
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%H:%M:%S.%f")[:-3] + " UTC"

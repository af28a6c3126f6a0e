"""Layouts: components arranged in a Panel template, as Python objects or as data.

A layout is data::

    title: Dask status
    template: bootstrap          # bootstrap, fast_list, fast_grid, material, vanilla, column
    theme: light                 # light or dark
    source: {type: embedded}     # or {type: dask, address: ...}, {type: synthetic, ...}
    info: "Cluster *prod-eu*"    # markdown under the title (optional)
    columns:                     # side by side on wide screens, stacked on narrow ones
      - width: 1
        cells:
          - {type: cluster_memory, height: 110}
          - tabs: {Processing: {type: task_processing}, CPU: {type: cpu}}
      - width: 3
        cells:
          - {type: task_stream}

:meth:`Layout.from_spec` reads such a dict or YAML file (safe loader) and
checks every field, naming the bad one and the valid choices;
:meth:`Layout.to_spec` writes it back, so ``Layout.from_spec(s).to_spec() == s``
for a spec that leaves out default parameters. :class:`StatusPage` is the
Dask ``/status`` arrangement.

Example
-------
>>> layout = Layout.from_spec({"source": {"type": "synthetic", "seed": 1},
...                            "columns": [{"cells": [{"type": "progress"}]}]})
>>> layout.to_spec()["columns"]
[{'width': 1, 'cells': [{'type': 'progress'}]}]
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import panel as pn
import param
import yaml

from dashkit.components import (
    Component,
    FeedStatus,
    ReplayControl,
    TaskDetails,
    TaskStream,
    compat,
)
from dashkit.feed import Feed
from dashkit.markup import markdown_html, plain_html
from dashkit.sources import DaskSource, ReplaySource, Source

TEMPLATES: dict[str, type | None] = {
    "bootstrap": pn.template.BootstrapTemplate,
    "fast_list": pn.template.FastListTemplate,
    "fast_grid": pn.template.FastGridTemplate,
    "material": pn.template.MaterialTemplate,
    "vanilla": pn.template.VanillaTemplate,
    "column": None,  # no template: a plain pn.Column, for notebooks and exports
}
THEMES = ("light", "dark")
SPEC_KEYS = ("title", "template", "theme", "source", "sources", "feed", "info", "status",
             "columns")
FEED_KEYS = ("period", "max_task_rows")

MAX_SPEC_BYTES = 256_000
"""A spec file larger than this is refused before it is parsed."""
MAX_SPEC_NODES = 100_000
"""Values a spec may hold once its YAML aliases are expanded (a few hundred
bytes of nested aliases can otherwise stand for billions)."""
MAX_CELLS = 200
"""Plots one layout may hold (cells and tabs together)."""


class LayoutSpecError(ValueError):
    """A layout spec is malformed; the message names the field and what is valid."""


def _choice(value, valid, field: str) -> Any:
    if value in valid:
        return value
    close = difflib.get_close_matches(str(value), [str(v) for v in valid], n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise LayoutSpecError(
        f"{field}: {value!r} is not valid; valid: {', '.join(map(str, valid))}.{hint}"
    )


def _mapping(value, field: str) -> Mapping:
    if not isinstance(value, Mapping):
        raise LayoutSpecError(f"{field}: expected a mapping, got {type(value).__name__}")
    return value


def _non_default(obj: param.Parameterized, skip=("name",)) -> dict:
    """The parameters of ``obj`` given explicitly or differing from their defaults,
    in declaration order: what a spec must say to rebuild it exactly."""
    explicit = getattr(obj, "_explicit", set())
    values = {}
    for name, parameter in obj.param.objects("existing").items():
        if name in skip or parameter.constant or parameter.readonly:
            continue
        value = getattr(obj, name)
        if isinstance(value, param.Parameterized) or value is None:
            continue
        if name in explicit or value != parameter.default:
            values[name] = value
    return values


# -- sources ---------------------------------------------------------------


def source_from_spec(spec: Mapping, field: str = "source") -> Source:
    """A Source from ``{type: embedded | dask | synthetic, ...parameters}``."""
    spec = dict(_mapping(spec, field))
    kind = spec.pop("type", None)
    if kind == "embedded":
        return _build(DaskSource, spec, field)
    try:
        cls = Source.lookup(kind)
    except ValueError as err:
        raise LayoutSpecError(f"{field}.type: {err} (or 'embedded')") from None
    return _build(cls, spec, field)


def source_to_spec(source: Source) -> dict:
    values = _non_default(source, skip=("name", "client"))
    if isinstance(source, DaskSource) and source.address is None:
        return {"type": "embedded", **values}
    return {"type": source.source_type, **values}


def _build(cls: type[param.Parameterized], params: Mapping, field: str):
    known = [n for n in cls.param if n != "name"]
    for key in params:
        if key not in known:
            _choice(key, known, f"{field}: unknown parameter of {cls.__name__}")
    try:
        return cls(**params)
    except (ValueError, TypeError) as err:
        raise LayoutSpecError(f"{field}: {err}") from None


# -- cells -----------------------------------------------------------------


def component_from_spec(spec: Mapping, feed: Feed, field: str, theme: str = "light") -> Component:
    """A component from ``{type: ..., parameters}``; it takes the page's theme unless set."""
    spec = dict(_mapping(spec, field))
    kind = spec.pop("type", None)
    try:
        cls = Component.lookup(kind)
    except ValueError as err:
        raise LayoutSpecError(f"{field}.type: {err}") from None
    component = _build(cls, {"theme": theme, **spec, "feed": feed}, field)
    if "theme" not in spec:
        component._explicit.discard("theme")  # inherited from the page, not said
    return component


def component_to_spec(component: Component, theme: str = "light") -> dict:
    values = _non_default(component, skip=("name", *component.state_params))
    if component.theme == theme and "theme" not in component._explicit:
        values.pop("theme", None)
    elif "theme" not in values:
        values["theme"] = component.theme
    return {"type": component.component_type, **values}


class Tabs(param.Parameterized):
    """Components sharing one place, one tab each (e.g. Processing / CPU / Occupancy)."""

    tabs = param.Dict(default={}, doc="Tab title -> component.")


class _Feeds:
    """The feeds a spec's cells may name with ``source:`` (none: the one feed)."""

    def __init__(self, default: Feed, named: Mapping[str, Feed]):
        self.default, self.named = default, dict(named)

    def pick(self, name, field: str) -> Feed:
        if name is None:
            return self.default
        if not self.named:
            raise LayoutSpecError(f"{field}.source: {name!r}: this layout has one source; name "
                                  "several under 'sources:' to choose among them")  # fmt: skip
        return self.named[_choice(str(name), list(self.named), f"{field}.source: unknown source")]

    def name_of(self, feed: Feed) -> str | None:
        return next((name for name, f in self.named.items() if f is feed), None)


def _cell_from_spec(spec, feeds: _Feeds, field: str, theme: str, source=None):
    spec = _mapping(spec, field)
    if "tabs" in spec:
        source = spec.get("source", source)
        tabs = _mapping(spec["tabs"], f"{field}.tabs")
        return Tabs(tabs={title: _component_on(s, feeds, f"{field}.tabs.{title}", theme, source)
                          for title, s in tabs.items()})  # fmt: skip
    return _component_on(spec, feeds, field, theme, source)


def _component_on(spec, feeds: _Feeds, field: str, theme: str, source) -> Component:
    """A component from ``spec`` on the feed its ``source`` names (else ``source``)."""
    spec = dict(_mapping(spec, field))
    feed = feeds.pick(spec.pop("source", source), field)
    return component_from_spec(spec, feed, field, theme)


def _cell_to_spec(cell, theme: str, feeds: _Feeds) -> dict:
    if isinstance(cell, Tabs):
        return {"tabs": {title: _cell_to_spec(c, theme, feeds) for title, c in cell.tabs.items()}}
    spec = component_to_spec(cell, theme)
    name = feeds.name_of(cell.feed)
    return {**spec, "source": name} if name is not None else spec


def _cell_view(cell):
    if isinstance(cell, Tabs):
        # dynamic: a hidden tab's plot is built when it is first shown, so a
        # page opens with one plot per cell
        return pn.Tabs(*cell.tabs.items(), sizing_mode="stretch_width", dynamic=True)
    return cell


class Column(param.Parameterized):
    """One column of cells, stacked; ``width`` is its share of the page width."""

    width = param.Integer(default=1, bounds=(1, 12), doc="Relative width of the column.")
    cells = param.List(default=[], doc="Components (or Tabs) from top to bottom.")


# -- layouts ---------------------------------------------------------------


class Layout(pn.viewable.Viewer):
    """Components arranged in columns inside a Panel template, fed by one shared Feed.

    Example
    -------
    >>> from dashkit.components import Progress, TaskStream
    >>> feed = Feed.shared("embedded")                                       # doctest: +SKIP
    >>> layout = Layout(feed=feed, columns=[Column(cells=[TaskStream(feed=feed),
    ...                                                   Progress(feed=feed)])])  # doctest: +SKIP
    >>> layout.to_spec()                                                     # doctest: +SKIP
    >>> layout.servable()                                                    # doctest: +SKIP
    """

    title = param.String(default="Dask status", doc="Page title (plain text).")
    template = param.Selector(default="bootstrap", objects=list(TEMPLATES), doc="Panel template.")
    theme = param.Selector(default="light", objects=list(THEMES), doc="Light or dark page.")
    info = param.String(
        default="",
        doc="Markdown shown under the title (cluster name, notes); raw HTML in it is "
        "shown as text.",
    )
    status = param.Boolean(default=True, doc="Show the connection indicator.")
    feed = param.ClassSelector(
        class_=Feed, doc="The Feed every component reads (of several sources: the first)."
    )
    feeds = param.Dict(
        default={},
        doc="Name -> Feed of a layout that watches several sources (a spec's 'sources:'); "
        "each component reads the one its cell names.",
    )
    columns = param.List(default=[], item_type=Column, doc="Columns, left to right.")

    def __init__(self, **params):
        super().__init__(**params)
        self._link_task_details()
        self.param.watch(self._link_task_details, "columns")

    def _link_task_details(self, *_event) -> None:
        """Each task-details card shows the clicks of the task stream on its feed."""
        streams = [c for c in self.components() if isinstance(c, TaskStream)]
        for card in self.components():
            if isinstance(card, TaskDetails) and card.task_stream is None:
                card.task_stream = next((s for s in streams if s.feed is card.feed), None)

    def components(self) -> list[Component]:
        """Every component of the layout, tabs included, left to right, top to bottom."""
        found = []
        for col in self.columns:
            for cell in col.cells:
                found.extend(cell.tabs.values() if isinstance(cell, Tabs) else [cell])
        return found

    def all_feeds(self) -> list[Feed]:
        """Every feed the layout reads: ``feed``, then the named ones."""
        return list({id(f): f for f in [self.feed, *self.feeds.values()]}.values())

    def to_spec(self) -> dict:
        """This layout as data (only parameters that differ from their defaults)."""
        spec: dict[str, Any] = {"title": self.title, "template": self.template, "theme": self.theme}
        if self.feeds:
            spec["sources"] = {name: source_to_spec(f.source) for name, f in self.feeds.items()}
        else:
            spec["source"] = source_to_spec(self.feed.source)
        feed = {k: getattr(self.feed, k) for k in FEED_KEYS
                if getattr(self.feed, k) != self.feed.param[k].default}  # fmt: skip
        if feed:
            spec["feed"] = feed
        if self.info:
            spec["info"] = self.info
        if not self.status:
            spec["status"] = False
        feeds = _Feeds(self.feed, self.feeds)
        spec["columns"] = [
            {"width": col.width, "cells": [_cell_to_spec(c, self.theme, feeds) for c in col.cells]}
            for col in self.columns
        ]
        return spec

    def to_yaml(self, path: str | Path | None = None) -> str:
        """The spec as YAML; written to ``path`` when given."""
        text = yaml.safe_dump(self.to_spec(), sort_keys=False, allow_unicode=True)
        if path is not None:
            Path(path).write_text(text)
        return text

    @classmethod
    def read_spec(cls, spec: Mapping | str | Path) -> dict:
        """A spec from a dict or a YAML file, as a plain dict (not yet validated)."""
        if isinstance(spec, Mapping):
            return copy.deepcopy(dict(spec))
        path = Path(spec)
        try:
            size = path.stat().st_size  # before reading: a huge file is never loaded
            if size > MAX_SPEC_BYTES:
                raise LayoutSpecError(f"{path}: a layout spec is at most {MAX_SPEC_BYTES:,} "
                                      f"bytes; this one has {size:,}")  # fmt: skip
            text = path.read_text()
        except OSError as err:
            raise LayoutSpecError(f"{path}: cannot read the layout spec: {err.strerror}") from None
        try:
            data = _load_bounded(text)
        except RecursionError:
            raise LayoutSpecError(f"{path}: the spec is nested too deeply") from None
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(err, "problem", None) or str(err).splitlines()[0]
            raise LayoutSpecError(f"{path}: not valid YAML{where}: {problem}") from None
        return dict(_mapping(data, str(path)))

    @classmethod
    def from_spec(cls, spec: Mapping | str | Path, feed: Feed | None = None, **overrides) -> Layout:
        """Build a layout from a spec dict or YAML path.

        ``feed`` replaces the spec's source (e.g. a scheduler given on the
        command line); ``overrides`` replace top-level fields.
        """
        spec = {**cls.read_spec(spec), **overrides}
        for key in spec:
            _choice(key, SPEC_KEYS, "unknown field")
        _choice(spec.get("template", "bootstrap"), list(TEMPLATES), "template")
        theme = _choice(spec.get("theme", "light"), THEMES, "theme")
        if isinstance(spec.get("columns"), list):
            _check_cell_count(spec["columns"])  # before a feed starts for nothing
        named = {}
        if "sources" in spec:
            if "source" in spec:
                raise LayoutSpecError("give 'source' (one cluster) or 'sources' (several), "
                                      "not both")  # fmt: skip
            sources = _mapping(spec["sources"], "sources")
            if not sources:
                raise LayoutSpecError("sources: name at least one source, e.g. etl: {type: dask, "
                                      "address: tcp://10.0.0.5:8786}")  # fmt: skip
            if feed is not None:
                names = ", ".join(map(str, sources))
                raise LayoutSpecError(f"this layout watches several sources ({names}); a "
                                      "scheduler or recording given instead would replace only "
                                      "one: give none")  # fmt: skip
        if feed is None:
            feed_params = dict(_mapping(spec.get("feed", {}), "feed"))
            for key in feed_params:
                _choice(key, FEED_KEYS, "feed: unknown parameter")
            if "sources" in spec:
                specs = {str(name): (s, f"sources.{name}") for name, s in sources.items()}
            else:
                specs = {None: (spec.get("source", {"type": "embedded"}), "source")}
            for name, (source_spec, field) in specs.items():
                try:
                    named[name] = Feed.shared(source_from_spec(source_spec, field), **feed_params)
                except (ValueError, TypeError) as err:
                    raise LayoutSpecError(f"feed: {err}") from None
            feed = next(iter(named.values()))
            named.pop(None, None)
        feeds = _Feeds(feed, named)
        columns_spec = spec.get("columns", [])
        if not isinstance(columns_spec, list):
            raise LayoutSpecError("columns: expected a list of columns")
        columns = []
        for i, col in enumerate(columns_spec):
            col = _mapping(col, f"columns[{i}]")
            for key in col:
                _choice(key, ("width", "cells", "source"), f"columns[{i}]: unknown field")
            cells = col.get("cells", [])
            if not isinstance(cells, list):
                raise LayoutSpecError(f"columns[{i}].cells: expected a list of cells")
            built = [_cell_from_spec(c, feeds, f"columns[{i}].cells[{j}]", theme,
                                     col.get("source")) for j, c in enumerate(cells)]  # fmt: skip
            columns.append(_build(Column, {"width": col.get("width", 1), "cells": built},
                                  f"columns[{i}]"))  # fmt: skip
        params = {k: spec[k] for k in ("title", "template", "theme", "info", "status") if k in spec}
        return _build(cls, {**params, "feed": feed, "feeds": named, "columns": columns}, "layout")

    # -- view ----------------------------------------------------------------

    def _body(self) -> pn.viewable.Viewable:
        columns = []
        for col in self.columns:
            # flex-basis lets narrow screens wrap the columns under each other
            columns.append(pn.Column(
                *[_cell_view(c) for c in col.cells], sizing_mode="stretch_width",
                styles={"flex": f"{col.width} 1 {320 * col.width}px", "min-width": "0"},
            ))  # fmt: skip
        return pn.FlexBox(*columns, flex_wrap="wrap", sizing_mode="stretch_width",
                          styles={"gap": "8px"})  # fmt: skip

    def _header(self) -> list:
        parts = []
        if self.info:
            parts.append(pn.pane.HTML(markdown_html(self.info), sizing_mode="stretch_width",
                                      css_classes=["dashkit-info"]))  # fmt: skip
        if self.status:
            parts.append(FeedStatus(feed=self.feed, theme=self.theme))
        replaying = isinstance(self.feed.source, ReplaySource)
        if replaying and not any(isinstance(c, ReplayControl) for c in self.components()):
            parts.append(ReplayControl(feed=self.feed, theme=self.theme))
        return parts

    def __panel__(self) -> pn.viewable.Viewable:
        doc = pn.state.curdoc
        compat.prepare_page(doc)
        cls = TEMPLATES[self.template]
        # A template is a whole browser page: a notebook cell shows what is in it.
        if cls is None or compat.in_notebook(doc):
            return pn.Column(pn.pane.HTML(f"<h2>{plain_html(self.title)}</h2>"), *self._header(),
                             self._body(), sizing_mode="stretch_width")  # fmt: skip
        # Templates put their title into the page unescaped.
        template = cls(title=plain_html(self.title),
                       theme="dark" if self.theme == "dark" else "default")  # fmt: skip
        if self.template == "fast_grid":
            template.main[0:1, 0:12] = pn.Column(*self._header())
            template.main[1:8, 0:12] = self._body()
        else:
            template.main.extend([*self._header(), self._body()])
        return template

    def servable(self, title: str | None = None, **kwargs):
        """Mark the layout's template for ``panel serve``."""
        return self.__panel__().servable(title=title or self.title, **kwargs)


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's when built with it


def _load_bounded(text: str):
    """YAML's safe load, refusing documents whose aliases expand past
    :data:`MAX_SPEC_NODES` values (counted on the composed graph, not expanded)."""
    node = yaml.compose(text, Loader=_Loader)
    if node is None:
        return None
    if _expanded_size(node, {}) > MAX_SPEC_NODES:
        raise LayoutSpecError(f"the spec's aliases expand to more than {MAX_SPEC_NODES:,} "
                              "values; write the repeated parts out or use fewer aliases")
    return _Loader("").construct_document(node)


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """Values ``node`` stands for with every alias expanded (memoised per node)."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    if isinstance(node, yaml.MappingNode):
        children = [n for pair in node.value for n in pair]
    elif isinstance(node, yaml.SequenceNode):
        children = node.value
    else:
        children = []
    size = 1
    for child in children:
        size += _expanded_size(child, sizes)
        if size > MAX_SPEC_NODES:
            break  # enough to refuse; the rest need not be counted
    sizes[id(node)] = size
    return size


def _check_cell_count(columns: list) -> None:
    cells = 0
    for col in columns:
        listed = col.get("cells") if isinstance(col, Mapping) else None
        for cell in listed if isinstance(listed, list) else []:
            tabs = cell.get("tabs") if isinstance(cell, Mapping) else None
            cells += len(tabs) if isinstance(tabs, Mapping) else 1
    if cells > MAX_CELLS:
        raise LayoutSpecError(f"columns: a layout holds at most {MAX_CELLS} plots (cells and "
                              f"tabs); this one has {cells:,}")  # fmt: skip


STATUS_COLUMNS = [
    {"width": 1, "cells": [
        {"type": "cluster_memory", "height": 110},
        {"type": "worker_memory", "height": 300},
        {"tabs": {"Processing": {"type": "task_processing"}, "CPU": {"type": "cpu"},
                  "Occupancy": {"type": "occupancy"}}},
    ]},
    {"width": 3, "cells": [
        {"type": "task_stream", "height": 470},
        {"type": "task_details", "hidden_until_chosen": True},
        {"type": "progress", "height": 300},
    ]},
]  # fmt: skip


class StatusPage(Layout):
    """The Dask ``/status`` page: memory and worker tabs on the left, task stream
    over progress on the right; stacked on narrow screens.

    Example
    -------
    >>> StatusPage(feed=Feed.shared("tcp://10.0.0.5:8786"), theme="dark",
    ...            info="**prod-eu** nightly ETL").servable()   # doctest: +SKIP
    """

    def __init__(self, **params):
        if "columns" not in params and params.get("feed") is not None:
            params["columns"] = Layout.from_spec(
                {"columns": STATUS_COLUMNS, "theme": params.get("theme", "light")},
                feed=params["feed"],
            ).columns
        super().__init__(**params)


def source_override(argv: list[str] | None = None) -> str | Source | None:
    """The source a served layout was given, or None (the layout's own source).

    ``--args --replay run.dkrec`` or ``$DASHKIT_REPLAY`` gives a
    :class:`~dashkit.sources.replay.ReplaySource` (one per file, shared by all
    pages); ``--args --scheduler ADDR``, ``$DASHKIT_SCHEDULER`` or Dask's own
    ``$DASK_SCHEDULER_ADDRESS`` an address.
    """
    import argparse
    import os
    import sys

    from dashkit.sources.dask import default_scheduler_address

    parser = argparse.ArgumentParser(prog="panel serve LAYOUT --args")
    parser.add_argument("--scheduler", default=default_scheduler_address())
    parser.add_argument("--replay", default=os.environ.get("DASHKIT_REPLAY") or None)
    args = parser.parse_known_args(sys.argv[1:] if argv is None else argv)[0]
    if args.replay:
        return ReplaySource(path=args.replay)
    return args.scheduler


def serve_spec(path: str | Path) -> Layout:
    """Serve the layout spec at ``path`` (the body of a one-line layout script)."""
    source = source_override()
    feed = Feed.shared(source) if source else None
    layout = Layout.from_spec(path, feed=feed)
    layout.servable()
    return layout


def status_spec(source: Mapping | None = None, **fields) -> dict:
    """The spec of the status page (what ``layouts/status.yaml`` holds)."""
    return {"title": "Dask status", "template": "bootstrap", "theme": "light",
            "source": dict(source or {"type": "embedded"}), **fields,
            "columns": copy.deepcopy(STATUS_COLUMNS)}  # fmt: skip

"""Layouts as data: spec round trips, validation, Python-built layouts, templates."""

from __future__ import annotations

from pathlib import Path

import panel as pn
import pytest
import yaml

from dashkit.components import Progress, TaskStream, WorkerMemory
from dashkit.feed import Feed
from dashkit.layouts import Column, Layout, LayoutSpecError, StatusPage, Tabs, status_spec
from dashkit.sources import SyntheticSource
from tests.conftest import ROOT

LAYOUTS = sorted((ROOT / "layouts").glob("*.yaml"))


def offline(spec: dict) -> dict:
    """The spec on a synthetic source, so no cluster starts in these tests."""
    return {**spec, "source": {"type": "synthetic", "seed": 1}}


@pytest.fixture
def feed():
    return Feed(SyntheticSource(seed=1, start_time=0.0))


def test_there_are_layouts_to_check():
    names = {p.name for p in LAYOUTS}
    assert {"status.yaml", "performance.yaml", "compact.yaml"} <= names


@pytest.mark.parametrize("path", LAYOUTS, ids=[p.name for p in LAYOUTS])
def test_every_layout_spec_round_trips_exactly(path: Path):
    spec = yaml.safe_load(path.read_text())
    sources = spec["sources"].values() if "sources" in spec else [spec["source"]]
    if any(source["type"] != "synthetic" for source in sources):
        spec = offline(spec)
    layout = Layout.from_spec(spec)
    assert layout.to_spec() == spec
    assert Layout.from_spec(layout.to_spec()).to_spec() == spec
    assert isinstance(layout.__panel__(), pn.template.BaseTemplate)


def test_status_yaml_is_the_twin_of_status_page(feed):
    spec = yaml.safe_load((ROOT / "layouts" / "status.yaml").read_text())
    assert spec == status_spec()
    page = StatusPage(feed=feed)
    assert page.to_spec()["columns"] == spec["columns"]


def test_yaml_file_round_trip(tmp_path, feed):
    layout = Layout.from_spec(offline(status_spec(title="prod-eu", info="**nightly ETL**")))
    path = tmp_path / "mine.yaml"
    layout.to_yaml(path)
    assert Layout.from_spec(path).to_spec() == layout.to_spec()
    assert Layout.from_spec(path).info == "**nightly ETL**"


def test_layout_composed_in_python_becomes_a_spec(feed):
    layout = Layout(
        feed=feed, title="mine", theme="dark",
        columns=[Column(width=2, cells=[TaskStream(feed=feed, height=500, theme="dark")]),
                 Column(cells=[Tabs(tabs={"Memory": WorkerMemory(feed=feed, mode="histogram",
                                                                theme="dark"),
                                          "Progress": Progress(feed=feed, max_prefixes=5)})])],
    )  # fmt: skip
    spec = layout.to_spec()
    assert spec["columns"] == [
        {"width": 2, "cells": [{"type": "task_stream", "height": 500, "theme": "dark"}]},
        {"width": 1, "cells": [{"tabs": {
            "Memory": {"type": "worker_memory", "theme": "dark", "mode": "histogram"},
            "Progress": {"type": "progress", "max_prefixes": 5, "theme": "light"}}}]},
    ]  # fmt: skip
    assert spec["source"]["type"] == "synthetic" and spec["theme"] == "dark"
    rebuilt = Layout.from_spec(spec)
    assert rebuilt.to_spec() == spec
    assert rebuilt.columns[1].cells[0].tabs["Progress"].theme == "light"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"columns": [{"cells": [{"type": "task_strem"}]}]},
         r"columns\[0\]\.cells\[0\]\.type: unknown component 'task_strem'.*"
         r"Did you mean 'task_stream'\?"),
        ({"columns": [{"cells": [{"type": "progress", "max_prefixes": "many"}]}]},
         r"columns\[0\]\.cells\[0\]: .*max_prefixes.*"),
        ({"columns": [{"cells": [{"type": "progress", "max_prefix": 3}]}]},
         r"unknown parameter of Progress: 'max_prefix'.*Did you mean 'max_prefixes'\?"),
        ({"template": "fastlist"}, r"template: 'fastlist' is not valid; valid: bootstrap, .*"
                                   r"Did you mean 'fast_list'\?"),
        ({"theme": "blue"}, r"theme: 'blue' is not valid; valid: light, dark"),
        ({"colums": []}, r"unknown field: 'colums' is not valid.*Did you mean 'columns'\?"),
        ({"source": {"type": "dsk"}}, r"source\.type: unknown source type 'dsk'.*'dask'"),
        ({"columns": {"cells": []}}, r"columns: expected a list of columns"),
    ],
)  # fmt: skip
def test_bad_specs_name_the_field_and_the_choices(change, message):
    spec = {**offline(status_spec()), **change}
    with pytest.raises(LayoutSpecError, match=message):
        Layout.from_spec(spec)


def test_malformed_and_missing_yaml(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: [unclosed\n")
    with pytest.raises(LayoutSpecError, match=r"bad\.yaml: not valid YAML"):
        Layout.from_spec(bad)
    with pytest.raises(LayoutSpecError, match=r"nothere\.yaml: cannot read the layout spec"):
        Layout.from_spec(tmp_path / "nothere.yaml")
    listy = tmp_path / "list.yaml"
    listy.write_text("- 1\n- 2\n")
    with pytest.raises(LayoutSpecError, match="expected a mapping, got list"):
        Layout.from_spec(listy)


def test_yaml_is_read_safely(tmp_path):
    evil = tmp_path / "evil.yaml"
    evil.write_text("title: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(LayoutSpecError, match="not valid YAML"):
        Layout.from_spec(evil)


def alias_bomb(levels: int = 12) -> str:
    """A few hundred bytes of YAML whose aliases stand for 10**levels values."""
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]")
    return "\n".join(lines) + f"\ntitle: *a{levels - 1}\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [(alias_bomb(), "aliases expand to more than 100,000 values"),
     ("title: " + "x" * 256_001 + "\n", "a layout spec is at most 256,000 bytes"),
     ("columns:\n- cells:\n" + "  - {type: progress}\n" * 20_000,
      "a layout spec is at most 256,000 bytes"),
     ("columns:\n- cells:\n" + "  - {type: progress}\n" * 201,
      "a layout holds at most 200 plots")],
)  # fmt: skip
def test_specs_that_expand_beyond_bounds_are_refused_at_once(text, message, tmp_path):
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(text)
    assert len(alias_bomb()) < 1_000
    with pytest.raises(LayoutSpecError, match=message):
        Layout.from_spec(bomb)


@pytest.mark.parametrize(("feed", "message"), [
    ({"period": 0}, r"feed: .*'Feed.period' must be at least"),
    ({"max_task_rows": "x"}, r"feed: .*'Feed.max_task_rows' must be an integer"),
])  # fmt: skip
def test_bad_feed_parameters_are_a_spec_error(feed, message):
    spec = {**status_spec(), "source": {"type": "synthetic"}, "feed": feed}
    with pytest.raises(LayoutSpecError, match=message):
        Layout.from_spec(spec)


def test_a_few_aliases_still_work(tmp_path):
    spec = tmp_path / "aliases.yaml"
    spec.write_text("source: {type: synthetic}\ncolumns:\n- cells:\n"
                    "  - &bar {type: progress, max_prefixes: 5}\n  - *bar\n")  # fmt: skip
    layout = Layout.from_spec(spec)
    assert [c.max_prefixes for c in layout.columns[0].cells] == [5, 5]
    layout.feed.stop()


@pytest.mark.parametrize("template", ["bootstrap", "fast_list", "fast_grid", "material",
                                      "vanilla", "column"])  # fmt: skip
def test_every_template_builds(template):
    layout = Layout.from_spec({**offline(status_spec()), "template": template, "theme": "dark"})
    view = layout.__panel__()
    if template == "column":
        assert isinstance(view, pn.Column)
    else:
        assert isinstance(view, pn.template.BaseTemplate)
        assert view.theme.__name__.lower().startswith("dark")


def test_a_layout_of_several_sources_round_trips_and_names_bad_ones():
    spec = {
        "title": "two", "status": False,
        "sources": {"etl": {"type": "synthetic", "seed": 1},
                    "ml": {"type": "synthetic", "seed": 2}},
        "columns": [{"source": "ml", "cells": [{"type": "progress"},
                                               {"type": "cpu", "source": "etl"}]},
                    {"cells": [{"tabs": {"a": {"type": "occupancy"}}, "source": "ml"}]}],
    }  # fmt: skip
    layout = Layout.from_spec(spec)
    try:
        progress, cpu, occupancy = layout.components()
        assert progress.feed is layout.feeds["ml"] and occupancy.feed is layout.feeds["ml"]
        assert cpu.feed is layout.feeds["etl"] and layout.feed is layout.feeds["etl"]
        written = layout.to_spec()
        assert written["sources"] == {"etl": {"type": "synthetic", "seed": 1},
                                      "ml": {"type": "synthetic", "seed": 2}}  # fmt: skip
        assert "source" not in written
        assert Layout.from_spec(written).to_spec() == written
        with pytest.raises(LayoutSpecError, match=r"columns\[0\].cells\[0\].source: unknown "
                           r"source: 'mls' is not valid; valid: etl, ml. Did you mean 'ml'\?"):
            Layout.from_spec({**spec, "columns": [{"cells": [{"type": "cpu", "source": "mls"}]}]})
        with pytest.raises(LayoutSpecError, match="give 'source' .* or 'sources' .*, not both"):
            Layout.from_spec({**spec, "source": {"type": "synthetic"}})
        with pytest.raises(LayoutSpecError, match="several sources \\(etl, ml\\)"):
            Layout.from_spec(spec, feed=layout.feed)
    finally:
        for feed in layout.all_feeds():
            feed.stop()


def test_the_fleet_layout_builds_one_feed_per_source():
    layout = Layout.from_spec(ROOT / "layouts" / "fleet.yaml")
    try:
        assert sorted(layout.feeds) == ["etl", "ml"]
        names = [layout.to_spec()["columns"][0]["cells"][i]["source"] for i in range(4)]
        assert names == ["etl", "etl", "ml", "ml"]
    finally:
        for feed in layout.all_feeds():
            feed.stop()

"""One figure everywhere: each plot of every layout looks the same on the
served page, on its individual page, in a notebook cell and in an exported
file (axis labels, tick formatters and labels, glyph styles, hover, toolbar)."""

from __future__ import annotations

import pytest
import yaml
from bokeh.document import Document

from dashkit.export import render_html
from dashkit.individual import PAGES
from dashkit.layouts import Layout
from tests.conftest import ROOT
from tests.figures import dashkit_figures, file_document, look, pulled
from tests.helpers import dashkit_server

SPECS = sorted(p.stem for p in (ROOT / "layouts").glob("*.yaml"))
SYNTHETIC = {"type": "synthetic", "seed": 1, "n_workers": 8}


def spec_of(name: str) -> dict:
    """The layout's spec, on a synthetic cluster where it names a real one."""
    spec = yaml.safe_load((ROOT / "layouts" / f"{name}.yaml").read_text())
    if spec.get("source", {}).get("type") in ("embedded", "dask"):
        spec["source"] = dict(SYNTHETIC)
    return spec


def exported(spec: dict) -> Document:
    layout = Layout.from_spec(spec)
    try:
        for feed in layout.all_feeds():
            feed.stop()
            feed.poll()
            feed.poll()
        return file_document(render_html(layout))
    finally:
        for feed in layout.all_feeds():
            feed.stop()


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """One ``dashkit serve`` per layout spec, started together."""
    folder = tmp_path_factory.mktemp("one-figure")
    started = {name: dashkit_server(spec_of(name), folder, name) for name in SPECS}
    try:
        for server in started.values():
            server.wait()
        yield started
    finally:
        for server in started.values():
            server.stop()


def assert_same_look(shown: dict, written: dict, where: str) -> None:
    assert shown, f"no dashkit plot on {where}"
    for name, figure in shown.items():
        assert name in written, f"{name} is on {where} but not in the file"
        assert look(figure) == look(written[name]), f"{name} on {where} differs from the file"


@pytest.mark.parametrize("name", SPECS)
def test_a_served_page_and_its_export_draw_the_same_plots(servers, name):
    server = servers[name]
    written = dashkit_figures(exported(spec_of(name)))
    assert_same_look(dashkit_figures(pulled(server.url)), written, f"the page of {name}")


def test_each_individual_page_draws_its_plot_as_the_export_does(servers):
    server = servers["status"]
    written = dashkit_figures(exported(spec_of("status")))
    drawn = 0
    for path, component_type in PAGES.items():
        shown = dashkit_figures(pulled(f"http://127.0.0.1:{server.port}/{path}"))
        if f"dashkit-{component_type}" in written:
            assert_same_look(shown, written, path)
            drawn += 1
    assert drawn >= 6, "every plot of the status page has its individual page"


def test_a_notebook_cell_draws_each_plot_as_the_export_does():
    spec = spec_of("status")
    written = dashkit_figures(exported(spec))
    layout = Layout.from_spec(spec)
    try:
        layout.feed.stop()
        layout.feed.poll()
        # What a cell holds: Panel's root of the component, in the cell's document.
        plots = [c for c in layout.components() if f"dashkit-{c.component_type}" in written]
        assert len(plots) >= 6
        for component in plots:
            doc = Document()
            doc.add_root(component.__panel__().get_root(doc))
            assert_same_look(dashkit_figures(doc), written, f"a cell of {component.name}")
    finally:
        layout.feed.stop()

"""One figure everywhere: each plot of every layout looks the same on the
served page, on its individual page, in a notebook cell and in an exported
file (axis labels, tick formatters and labels, glyph styles, hover, toolbar)."""

from __future__ import annotations

import io
import subprocess

import numpy as np
import pytest
import yaml
from bokeh.document import Document
from PIL import Image

from dashkit.export import render_html
from dashkit.individual import PAGES
from dashkit.layouts import Layout
from tests.conftest import ROOT
from tests.e2e.conftest import wait_until
from tests.e2e.test_replay_served import replay_label
from tests.figures import dashkit_figures, file_document, look, pulled
from tests.helpers import BIN, artifact, dashkit_server, replay_server
from tests.test_replay import synthetic_recording

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


#: JS, a function of a plot's name: its rectangle on the screen once scrolled
#: into view (null: no such plot drawn).
PLOT_BOX = """(name) => {
    for (const root of Bokeh.index) for (const view of root.owner.all_views()) {
        if (!view.frame || view.model.name !== name) continue;
        view.el.scrollIntoView({block: "center"});
        const r = view.el.getBoundingClientRect();
        if (r.width > 0 && r.height > 0) return {x: r.x, y: r.y, width: r.width, height: r.height};
    }
    return null;
}"""
#: JS: the names of the dashkit plots drawn.
PLOT_NAMES = """() => [...new Set([...Bokeh.index].flatMap(root => [...root.owner.all_views()])
    .map(view => view.model.name).filter(name => name && name.startsWith("dashkit-")))]"""

#: Mean difference of two plots' pixels (0-1) above which they do not look
#: alike: both shrunk to one size, where axis labels placed a few pixels apart
#: (the page's and the file's plots differ in width) count for little and a
#: bar of another colour or length for much.
UNLIKE = 0.05


def plot_images(page) -> dict[str, Image.Image]:
    """A screenshot of each dashkit plot the page draws, by name."""
    images = {}
    for name in page.page.evaluate(PLOT_NAMES):
        box = page.page.evaluate(PLOT_BOX, name)
        if box is not None:
            shot = page.page.screenshot(clip=box)
            images[name] = Image.open(io.BytesIO(shot)).convert("RGB")
    return images


def unlike(a: Image.Image, b: Image.Image) -> float:
    size = (48, 24)
    return float(np.abs(np.asarray(a.resize(size, Image.BOX), float)
                        - np.asarray(b.resize(size, Image.BOX), float)).mean() / 255)  # fmt: skip


#: The layouts of one source, replayable; their pages' names and how many
#: plots each draws at least.
REPLAYED = {"status": 5, "performance": 2, "compact": 4}


@pytest.mark.parametrize("name", sorted(REPLAYED))
def test_each_plot_of_an_export_looks_like_the_served_page_of_the_same_replay(name, open_page,
                                                                              tmp_path):
    recording = tmp_path / "run.dkrec"
    synthetic_recording(recording, snapshots=12)
    layout = [] if name == "status" else [f"layouts/{name}.yaml"]
    out = tmp_path / "report.html"
    # Written while the page plays: the two take seconds each.
    export = subprocess.Popen([str(BIN / "dashkit"), "export", *layout, "--replay", str(recording),
                               "-o", str(out)], cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)  # fmt: skip
    server = replay_server(recording, tmp_path, None if name == "status" else name)
    try:
        server.wait()
        page = open_page(f"one-figure-{name}-served")
        page.goto(server.url)
        wait_until(lambda: replay_label(page)[0] == "ended", timeout=60, what="the replay ended")
        # Every plot drawn from the last poll: the progress title holds its totals.
        wait_until(lambda: page.plot("Progress")["rows"][0] > 0, what="progress drawn")
        page.page.wait_for_timeout(1500)  # two more redraw rounds after the last poll
        served = plot_images(page)
    finally:
        server.stop()
        _, errors = export.communicate(timeout=120)
    assert export.returncode == 0, errors.decode()
    page = open_page(f"one-figure-{name}-file")
    page.goto(out.as_uri())
    wait_until(lambda: page.canvases_painted(), what="the file's plots painted")
    page.page.wait_for_timeout(500)
    written = plot_images(page)
    shown = [plot for plot in served if plot in written]
    assert len(shown) >= REPLAYED[name], f"plots on both: {shown}"
    for plot in shown:
        served[plot].save(artifact(f"one-figure-{name}-{plot}-page.png"))
        written[plot].save(artifact(f"one-figure-{name}-{plot}-file.png"))
    differences = {plot: round(unlike(served[plot], written[plot]), 3) for plot in shown}
    print(f"pixel differences of {name}, page against file:", differences)
    assert max(differences.values()) < UNLIKE, differences

"""Export: offline HTML (opened with every http(s) request blocked) and app folders."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml
from bokeh.models import GlyphRenderer

from dashkit import cli
from dashkit.export import save_app, save_html
from dashkit.layouts import Layout, status_spec
from tests.conftest import ROOT, free_port, wait_for
from tests.helpers import BIN, Served, artifact


def synthetic_layout(rows: int = 0, **fields) -> Layout:
    spec = {**status_spec(**fields),
            "source": {"type": "synthetic", "seed": 1, "n_workers": 8, "history_rows": rows}}
    layout = Layout.from_spec(spec)  # fmt: skip
    layout.feed.stop()  # polled by hand below, so the numbers are fixed
    layout.feed.poll()
    layout.feed.poll()
    for component in layout.components():
        component.update()
    return layout


def open_offline(browser, path: Path, screenshot: str) -> dict:
    """Open ``path`` from file:// with all http(s) blocked; what a person would see."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        blocked: list[str] = []
        context.route("http*://**", lambda route: (blocked.append(route.request.url),
                                                   route.abort()))  # fmt: skip
        page = context.new_page()
        errors, failed = [], []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("requestfailed", lambda r: failed.append(r.url))
        page.goto(path.resolve().as_uri())
        page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0")
        wait_for(lambda: page.locator("canvas").count() > 0, timeout=30, interval=0.2)
        page.wait_for_timeout(500)  # let every plot paint
        seen = page.evaluate("""() => {
            const models = [...Bokeh.documents[0].all_models];
            const sources = models.filter(m => m.data && m.data.key);
            return {
                keys: sources.reduce((n, s) => n + s.data.key.length, 0),
                images: models.filter(m => m.constructor.__name__ === "ImageRGBA").length,
            };
        }""")
        page.screenshot(path=artifact(screenshot), full_page=True)
        return {**seen, "canvases": page.locator("canvas").count(), "blocked": blocked,
                "failed": failed, "errors": errors}  # fmt: skip
    finally:
        context.close()


def test_offline_html_renders_every_plot_with_raw_rectangles(tmp_path, browser):
    layout = synthetic_layout()
    out = save_html(layout, tmp_path / "status.html")
    seen = open_offline(browser, out, "export-sparse.png")
    assert seen["blocked"] == [] and seen["failed"] == [] and seen["errors"] == []
    assert seen["canvases"] >= len(layout.components())
    # Sparse: every task-stream row is an embedded rectangle (zoom and hover are exact).
    assert seen["keys"] == layout.feed.tasks.total


def test_offline_html_of_a_dense_history_embeds_an_image(tmp_path, browser):
    layout = synthetic_layout(rows=300_000)
    stream = next(c for c in layout.components() if c.component_type == "task_stream")
    assert stream.dense
    out = save_html(layout, tmp_path / "dense.html")
    seen = open_offline(browser, out, "export-dense.png")
    assert seen["blocked"] == [] and seen["failed"] == [] and seen["errors"] == []
    assert seen["images"] >= 1
    assert seen["keys"] == stream.dense_threshold  # the newest rows stay rectangles


def test_dark_export(tmp_path):
    out = save_html(synthetic_layout(theme="dark"), tmp_path / "dark.html")
    assert "background:#181a1b" in out.read_text()


def test_cli_export_writes_an_offline_file(tmp_path, browser):
    out = tmp_path / "cli.html"
    result = subprocess.run(
        [str(BIN / "dashkit"), "export", "--synthetic", "--workers", "4", "--rows", "5000",
         "-o", str(out), "--duration", "1"], capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = int(re.search(r"([\d,]+) task-stream rows\)", result.stderr).group(1).replace(",", ""))
    assert rows > 4000
    seen = open_offline(browser, out, "export-cli.png")
    assert seen["failed"] == [] and seen["errors"] == [] and seen["keys"] == rows


def test_app_folder_serves_with_panel_serve(tmp_path, browser):
    spec = yaml.safe_load((ROOT / "layouts" / "compact.yaml").read_text())
    layout = Layout.from_spec(spec)
    app = save_app(layout, tmp_path / "monitor")
    assert Layout.read_spec(app.with_name("layout.yaml")) == spec
    assert "panel serve app.py" in app.with_name("README.md").read_text()
    port = free_port()
    server = Served([str(BIN / "panel"), "serve", str(app), "--port", str(port),
                     "--address", "127.0.0.1", f"--allow-websocket-origin=127.0.0.1:{port}"],
                    port, "app", tmp_path)  # fmt: skip
    try:
        server.wait()
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        try:
            page = context.new_page()
            page.goto(server.url)
            wait_for(lambda: page.locator("canvas").count() >= 5, timeout=60, interval=0.5)
            page.screenshot(path=artifact("app-folder.png"))
        finally:
            context.close()
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["export", "nope.yaml", "-o", "x.html"], "no layout at 'nope.yaml'"),
        (["export", "layouts/compact.py", "-o", "x.html"], "export takes a layout spec"),
        (["serve", "README.md"], "a layout is a script (.py) or a spec (.yaml)"),
        (["export", "--replay", "README.md", "-o", "x.html"], "not a dashkit recording"),
        (["serve", "--replay", "nope.dkrec"], "nope.dkrec: no such recording file"),
        (["export", "--replay", "x.dkrec", "--synthetic", "-o", "x.html"],
         "give one of --scheduler, --synthetic, --replay"),
        (["record", "--synthetic"], "record needs -o RUN.dkrec"),
        (["export", "BAD", "-o", "x.html"], "not valid YAML"),
        (["export", "--scheduler", "tcp://127.0.0.1:PORT", "-o", "x.html"],
         "cannot reach a Dask scheduler at tcp://127.0.0.1:PORT: Connection refused"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_exit_1(args, message, tmp_path):
    port = str(free_port())
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: [oops\n")
    args = [a.replace("PORT", port).replace("BAD", str(bad)) for a in args]
    result = subprocess.run([str(BIN / "dashkit"), *args], capture_output=True, text=True,
                            timeout=120, cwd=ROOT)  # fmt: skip
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message.replace("PORT", port) in lines[0]


def test_port_in_use_is_one_line(tmp_path):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = subprocess.run([str(BIN / "dashkit"), "serve", "--port", str(port)],
                                capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"dashkit serve: cannot listen on 127.0.0.1:{port}: Address already in use"
    )


def test_every_subcommand_has_help(capsys):
    result = subprocess.run([str(BIN / "dashkit"), "--help"], capture_output=True, text=True,
                            timeout=60)  # fmt: skip
    assert result.returncode == 0 and "usage: dashkit" in result.stdout
    for command in ("serve", "export", "record", "demo", "snapshot"):
        with pytest.raises(SystemExit) as exited:
            cli.main([command, "--help"])
        assert exited.value.code == 0
        assert f"usage: dashkit {command}" in capsys.readouterr().out


def test_progress_stays_within_its_bar_while_the_first_poll_is_late(capsys):
    import threading
    from types import SimpleNamespace

    feed = SimpleNamespace(polls=0, tasks=SimpleNamespace(total=0))
    late = threading.Timer(0.6, lambda: setattr(feed, "polls", 1))  # a first poll of 1M rows
    late.start()
    try:
        cli._collect(feed, 0.1)
    finally:
        late.cancel()
    lines = [line for line in capsys.readouterr().err.replace("\n", "\r").split("\r") if line]
    assert any("waiting for the first poll" in line for line in lines), lines
    assert all(line.count("#") <= 30 for line in lines), lines
    assert {len(line) for line in lines} == {cli.PROGRESS_WIDTH}, lines  # each covers the last


def test_the_exported_history_image_shows_every_erred_task_and_its_size_is_bounded():
    shapes = []
    for rows in (60_000, 240_000):
        layout = synthetic_layout(rows=rows)
        stream = next(c for c in layout.components() if c.component_type == "task_stream")
        model = stream.export_model()
        image_source = next(r.data_source for r in model.select({"type": GlyphRenderer})
                            if "image" in r.data_source.data)  # fmt: skip
        data = image_source.data
        image = np.asarray(data["image"][0])
        shapes.append(image.shape)
        rgba = image.view(np.uint8).reshape(*image.shape, 4)
        black_columns = np.flatnonzero((np.all(rgba[..., :3] == 0, axis=2)
                                        & (rgba[..., 3] == 255)).any(axis=0))  # fmt: skip
        history = layout.feed.history
        drawn = history.total - stream.dense_threshold  # the newest are rectangles
        rows_drawn = layout.feed.tasks.frame().iloc[: drawn - history.oldest]
        erred = rows_drawn[(rows_drawn["status"] == "error") & (rows_drawn["action"] == "compute")]
        assert len(erred) > 50
        x0, dw = float(data["x"][0]), float(data["dw"][0])
        columns = ((erred["start"] - history.origin - x0) / dw * image.shape[1]).astype(int)
        near = np.abs(columns.to_numpy()[:, None] - black_columns[None, :]).min(axis=1)
        assert (near <= 1).all()  # each erred task leaves black where it is
    # at most the export's 2400 px wide, 8 px per lane tall, at 60k rows as at 240k
    assert all(height == 16 * 8 and width <= 2400 for height, width in shapes)

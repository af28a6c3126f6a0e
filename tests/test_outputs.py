"""What the commands write: never an input, never an existing file unless
asked, checked before collecting, and a replaced file whole until the new one is."""

from __future__ import annotations

import socket

import pytest

from dashkit import cli
from dashkit.export import save_app, save_html
from tests.conftest import ROOT, free_port
from tests.test_export import synthetic_layout

SPEC = ROOT / "layouts" / "compact.yaml"


def run(capsys, *args: str) -> tuple[int, str]:
    """``dashkit ARGS`` in this process: exit code and its one line of stderr."""
    code = cli.main(list(args))
    lines = capsys.readouterr().err.strip().splitlines()
    return code, lines[-1] if lines else ""


def unreachable() -> str:
    return f"tcp://127.0.0.1:{free_port()}"


def test_export_never_writes_over_its_input(tmp_path, capsys):
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.read_text())
    recording = tmp_path / "run.dkrec"
    recording.write_bytes(b"a recording")
    for args in (["export", str(spec), "-o", str(spec)],
                 ["export", "--replay", str(recording), "-o", str(recording)]):  # fmt: skip
        code, line = run(capsys, *args, "--force")
        assert code == 1 and "is the input" in line, line
    assert spec.read_text() == SPEC.read_text()
    assert recording.read_bytes() == b"a recording"


@pytest.mark.parametrize(
    ("output", "message"),
    [("existing.html", "exists: give --force to replace it"),
     ("missing/x.html", "there is no folder"),
     ("folder", "is a folder: give a file name")],
)  # fmt: skip
def test_export_output_is_checked_before_connecting(output, message, tmp_path, capsys):
    (tmp_path / "existing.html").write_text("kept")
    (tmp_path / "folder").mkdir()
    # Checked after connecting, the line would name the unreachable scheduler.
    code, line = run(capsys, "export", "--scheduler", unreachable(), "-o",
                     str(tmp_path / output))  # fmt: skip
    assert code == 1 and message in line, line
    assert (tmp_path / "existing.html").read_text() == "kept"


def test_export_takes_an_html_file_or_an_app_folder_not_both(tmp_path, capsys):
    code, line = run(capsys, "export", "-o", str(tmp_path / "x.html"), "--app", str(tmp_path))
    assert code == 1 and "not both" in line, line


def test_record_keeps_an_existing_file_unless_forced_and_whole_when_the_new_one_fails(
    tmp_path, capsys
):
    recording = tmp_path / "run.dkrec"
    recording.write_bytes(b"41 kB of a run")
    code, line = run(capsys, "record", "--scheduler", unreachable(), "-o", str(recording))
    assert code == 1 and "exists: give --force" in line, line

    code, line = run(capsys, "record", "--scheduler", unreachable(), "-o", str(recording),
                     "--force")  # fmt: skip
    assert code == 1 and "cannot reach a Dask scheduler" in line, line
    assert recording.read_bytes() == b"41 kB of a run"
    assert [p.name for p in tmp_path.iterdir()] == ["run.dkrec"]  # no temporary left


def test_html_and_app_folders_are_replaced_only_when_asked(tmp_path):
    layout = synthetic_layout(title='"""\nimport os; os.remove("x")\n"""')
    out = tmp_path / "report.html"
    out.write_text("kept")
    out.chmod(0o640)
    with pytest.raises(FileExistsError, match="report.html exists"):
        save_html(layout, out)
    assert out.read_text() == "kept"
    save_html(layout, out, force=True)
    assert "<html" in out.read_text()
    assert out.stat().st_mode & 0o777 == 0o640  # as writing over it in place would keep it
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]

    folder = tmp_path / "app"
    folder.mkdir()
    (folder / "app.py").write_text("kept")
    with pytest.raises(FileExistsError, match="app.py exists"):
        save_app(layout, folder)
    assert (folder / "app.py").read_text() == "kept"
    app = save_app(layout, folder, force=True)
    code = app.read_text()
    assert "os.remove" not in code and "import os" not in code  # spec text is never code
    compile(code, str(app), "exec")


def test_a_port_out_of_range_is_one_line(capsys):
    code, line = run(capsys, "serve", "--port", "99999")
    assert code == 1 and line == "dashkit serve: --port 99999: a port is a number from 1 to 65535"


def test_a_port_left_in_time_wait_is_free_to_serve_on():
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server's is
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = server.accept()
        accepted.close()  # the side that closes first holds the port in TIME-WAIT
        client.close()
    cli._check_port("127.0.0.1", port)  # raises CommandError if it thinks the port taken

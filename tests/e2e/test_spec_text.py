"""Text from a spec is shown, never run: a hostile title and info, served and exported."""

from __future__ import annotations

import yaml

from dashkit.export import save_html
from dashkit.layouts import Layout, status_spec
from tests.conftest import free_port
from tests.e2e.conftest import wait_until
from tests.helpers import BIN, Served

HOSTILE = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'
SPEC = {
    **status_spec(),
    "title": f"Nightly {HOSTILE}",
    "info": f"**bold** {HOSTILE} [click](javascript:window.pwned=3) [docs](https://example.org)",
    "source": {"type": "synthetic", "seed": 1, "n_workers": 4},
}


def shown_safely(page) -> None:
    """Nothing of the hostile text ran, its markdown rendered, no script link made."""
    page.wait_for_timeout(500)  # an onerror handler would have run by now
    assert page.evaluate("() => window.pwned") is None
    assert page.locator("strong", has_text="bold").count() >= 1
    assert page.locator('a[href^="javascript:"]').count() == 0
    assert page.get_by_text("<script>window.pwned=2</script>", exact=False).count() >= 1


def test_a_hostile_spec_is_shown_not_run_served_and_exported(open_page, tmp_path):
    spec = tmp_path / "hostile.yaml"
    spec.write_text(yaml.safe_dump(SPEC))
    port = free_port()
    server = Served([str(BIN / "dashkit"), "serve", str(spec), "--port", str(port)], port,
                    "hostile", tmp_path)  # fmt: skip
    try:
        server.wait()
        page = open_page("hostile-served")
        dialogs: list[str] = []
        page.page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(server.url)
        wait_until(lambda: page.state() == "connected", timeout=60, what="connected")
        shown_safely(page.page)
        assert page.page.get_by_text("Nightly <img", exact=False).count() >= 1  # the title
        assert dialogs == []
    finally:
        server.stop()

    layout = Layout.from_spec(SPEC)
    try:
        layout.feed.poll()
        out = save_html(layout, tmp_path / "hostile.html")
    finally:
        layout.feed.stop()
    offline = open_page("hostile-export")
    offline.page.goto(out.resolve().as_uri())
    offline.page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0")
    shown_safely(offline.page)

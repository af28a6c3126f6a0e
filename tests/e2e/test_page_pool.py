"""Pages built ahead (dashkit.page_pool): a real Panel server in this process,
pages opened by a real browser and by plain HTTP requests."""

from __future__ import annotations

import re
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from types import SimpleNamespace

import panel as pn
import pytest
from bokeh.util.token import get_session_id
from panel.io.application import build_applications

from dashkit.page_pool import PagePool
from tests.conftest import serve_in_thread, wait_for

TEXT = "a page of its own"


def _serve(linger: float = 0.5, **options) -> SimpleNamespace:
    """A Panel server of one page, /page, with a PagePool keeping its spare
    ``linger`` seconds after the last page closes; ``built`` lists the session
    id of each page as it is built."""
    built: list[str] = []

    def page():
        built.append(pn.state.curdoc.session_context.id)
        return pn.pane.Markdown(TEXT)

    apps = build_applications({"page": page}, title="page")
    pool = PagePool.add_to(apps["/page"], linger=linger)
    port, thread = serve_in_thread(apps, title="page", **options)
    return SimpleNamespace(url=f"http://127.0.0.1:{port}/page", port=port, pool=pool,
                           built=built, thread=thread)  # fmt: skip


@pytest.fixture
def served():
    server = _serve()
    try:
        wait_for(lambda: server.pool.spare is not None, timeout=60, what="a page built ahead")
        yield server
    finally:
        server.thread.stop()


def sessions(server) -> dict:
    """The server's sessions of the page, by id (read while the server changes them)."""
    while True:
        try:
            return {s.id: s for s in list(server.pool._context.sessions)}
        except RuntimeError:  # changed while read
            continue


def session_of_html(html: str) -> str:
    """The session id of the token a page's HTML carries."""
    token = re.search(r'"token":\s*"([^"]+)"', html).group(1)
    return get_session_id(token)


def fetch(url: str, opener=None) -> str:
    with (opener or urllib.request.build_opener()).open(url, timeout=30) as response:
        return response.read().decode()


def test_a_page_opened_is_the_one_built_before_it_was_asked_for(served, open_page):
    spare = served.pool.spare.id
    assert served.built == [spare]  # built with no request at all

    page = open_page()
    page.goto(served.url)
    page.page.get_by_text(TEXT).wait_for()
    wait_for(lambda: sessions(served)[spare].connection_count == 1, what="the browser on the spare")
    # the session now knows the browser's request, not the empty one it was built for
    headers = sessions(served)[spare].document.session_context.request.headers
    assert "Chrome" in headers["User-Agent"]
    assert served.built[0] == spare

    # once the page has connected, the next one is built ahead
    wait_for(lambda: served.pool.spare is not None, what="the next page built ahead")
    assert served.pool.spare.id != spare
    assert served.built == [spare, served.pool.spare.id]
    assert served.pool.given == 1


def test_a_request_with_arguments_gets_a_page_built_for_it(served):
    spare = served.pool.spare.id

    asked = session_of_html(fetch(served.url + "?theme=dark"))

    assert asked != spare
    assert served.built == [spare, asked]
    assert served.pool.spare.id == spare  # kept for the next plain request
    assert session_of_html(fetch(served.url)) == spare


def test_the_page_built_ahead_goes_when_the_last_page_has_closed(served, open_page):
    first = served.pool.spare.id
    page = open_page()
    page.goto(served.url)
    wait_for(lambda: served.pool.spare is not None, what="the next page built ahead")
    second = served.pool.spare.id

    page.close()

    # the closed page is discarded, then the spare is let go and discarded too
    wait_for(lambda: not sessions(served), timeout=30, what="every session discarded")
    assert served.pool.spare is None
    assert set(served.built) == {first, second}

    # the next request builds its own page, and a spare after it
    asked = session_of_html(fetch(served.url))
    assert asked not in (first, second)
    wait_for(lambda: served.pool.spare is not None, timeout=30, what="a new page built ahead")


def test_a_page_opened_again_soon_after_the_last_one_closed_gets_the_page_built_ahead(
        open_page):  # fmt: skip
    server = _serve(linger=60)
    try:
        wait_for(lambda: server.pool.spare is not None, timeout=60, what="a page built ahead")
        page = open_page()
        page.goto(server.url)
        page.page.get_by_text(TEXT).wait_for()
        wait_for(lambda: server.pool.spare is not None, what="the next page built ahead")
        kept = server.pool.spare.id

        page.close()
        wait_for(lambda: set(sessions(server)) == {kept}, what="the closed page discarded")

        # kept for a page opened again soon: given out, not built for the request
        assert session_of_html(fetch(server.url)) == kept
        assert server.pool.given == 2
        assert len(server.built) == 2
    finally:
        server.thread.stop()


def test_with_a_login_every_page_is_built_for_its_request():
    server = _serve(basic_auth="secret", cookie_secret="test-cookie-secret")
    try:
        wait_for(lambda: server.pool.spare is not None, timeout=60, what="a page built ahead")
        spare = server.pool.spare.id
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        form = urllib.parse.urlencode({"username": "someone", "password": "secret"}).encode()
        opener.open(f"http://127.0.0.1:{server.port}/login", data=form, timeout=30).read()

        asked = session_of_html(fetch(server.url, opener))

        assert asked != spare
        assert server.pool.given == 0
    finally:
        server.thread.stop()

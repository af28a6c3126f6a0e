"""Who may look: ``dashkit serve`` with a login refuses pages and websockets
without one, and serves them with one."""

from __future__ import annotations

import asyncio
import http.cookiejar
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from bokeh.util.token import generate_jwt_token, generate_session_id
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

from tests.conftest import free_port
from tests.e2e.conftest import wait_until
from tests.helpers import BIN, dashkit_server, synthetic_status

PASSWORD = "s3cret <pass>"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture(scope="module")
def served_with_login(tmp_path_factory):
    server = dashkit_server(synthetic_status(n_workers=2), tmp_path_factory.mktemp("login"),
                            "cluster", "--basic-auth", PASSWORD)  # fmt: skip
    try:
        server.wait()  # the login page answers
        yield server
    finally:
        server.stop()


def websocket_opens(url: str, cookie: str | None) -> bool:
    """Whether the page's websocket accepts a connection (with a made-up session
    token, which the server accepts as it does a page's own)."""
    token = generate_jwt_token(generate_session_id(), signed=False)
    origin = url.split("/", 3)[2]
    headers = {"Origin": f"http://{origin}", **({"Cookie": cookie} if cookie else {})}
    request = HTTPRequest(url.replace("http://", "ws://") + "/ws", headers=headers)

    async def connect() -> bool:
        try:
            socket = await websocket_connect(request, subprotocols=["bokeh", token])
        except HTTPClientError as err:
            assert err.code in (401, 403), err
            return False
        socket.close()
        return True

    # On a thread of its own: Playwright runs an event loop on the test's thread.
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, connect()).result(timeout=60)


def log_in(url: str, password: str) -> tuple[int, str]:
    """POST the login form; the status of the page afterwards and the cookies set."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    login = url.rsplit("/", 1)[0] + "/login"
    form = urllib.parse.urlencode({"username": "alice", "password": password}).encode()
    opener.open(login, data=form, timeout=30).close()
    with opener.open(url, timeout=30) as response:
        page = response.read().decode()
    return ("Bokeh" in page and "/login" not in response.url), "; ".join(
        f"{c.name}={c.value}" for c in jar)  # fmt: skip


def test_without_a_login_the_page_and_its_websocket_are_refused(served_with_login):
    url = served_with_login.url
    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as refused:
        opener.open(url, timeout=30)
    assert refused.value.code == 302 and "/login" in refused.value.headers["Location"]
    assert not websocket_opens(url, cookie=None)
    shown, cookie = log_in(url, "wrong")
    assert not shown
    assert not websocket_opens(url, cookie)


def test_with_the_password_the_page_works(served_with_login, open_page):
    url = served_with_login.url
    shown, cookie = log_in(url, PASSWORD)
    assert shown
    assert websocket_opens(url, cookie)
    page = open_page()
    page.page.goto(url)
    page.page.fill("input[name=username]", "alice")
    page.page.fill("input[name=password]", PASSWORD)
    page.page.click("button, input[type=submit]")
    page.page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0",
                                timeout=60_000)  # fmt: skip
    wait_until(lambda: page.state() == "connected", timeout=60, what="page connected")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--oauth-provider", "github"], "--oauth-provider github also needs --oauth-key, "
         "--oauth-secret, --cookie-secret"),
        (["--basic-auth", "x", "--oauth-provider", "github"],
         "give --basic-auth or --oauth-provider, not both"),
        (["--cookie-secret", "x"],
         "--cookie-secret signs logins: give it with --basic-auth or --oauth-provider"),
        (["--ssl-certfile", "cert.pem"], "give --ssl-certfile and --ssl-keyfile together"),
        (["--ssl-certfile", "cert.pem", "--ssl-keyfile", "key.pem"],
         "--ssl-certfile cert.pem: no such file"),
        (["--link", "{scheme}://{hots}/{page}"], "--link: link template "
         "'{scheme}://{hots}/{page}': {hots} is neither {scheme}, {host}, {port}, {page} nor a "
         "variable of the environment"),
    ],
)  # fmt: skip
def test_bad_access_options_are_one_line(options, message, tmp_path):
    result = subprocess.run([str(BIN / "dashkit"), "serve", "--port", str(free_port()), *options],
                            capture_output=True, text=True, timeout=60, cwd=tmp_path)  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"dashkit serve: {message}"], result.stderr


def test_listening_beyond_this_host_without_a_login_warns_and_prints_the_link(tmp_path):
    server = dashkit_server(synthetic_status(n_workers=2), tmp_path, "cluster", "--address",
                            "0.0.0.0", "--link", "https://hub/user/{USER}/proxy/{port}/{page}",
                            env={"USER": "ada"})  # fmt: skip
    try:
        server.wait()
    finally:
        server.stop()
    log = server.log.read_text()
    assert "warning: listening on 0.0.0.0 without --basic-auth" in log
    assert f"dashkit: serving https://hub/user/ada/proxy/{server.port}/cluster" in log

"""Who may look: ``dashkit serve`` with a login refuses pages and websockets
without one, and serves them with one."""

from __future__ import annotations

import asyncio
import http.cookiejar
import json
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
from tests.helpers import BIN, Served, dashkit_server, synthetic_status

PASSWORD = "s3cret <pass>"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture(scope="module")
def served_with_login(tmp_path_factory):
    server = dashkit_server(synthetic_status(n_workers=2), tmp_path_factory.mktemp("login"),
                            "cluster", "--basic-auth", PASSWORD, ready="login")  # fmt: skip
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
    try:
        opener.open(login, data=form, timeout=30).close()
    except urllib.error.HTTPError as refused:  # a wrong password: 401
        assert refused.code == 401, refused
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


# -- logins that hold -------------------------------------------------------------------

USERS = {"alice": PASSWORD, "bob": "bob's pw"}


def login_server(tmp_path, *options: str, users: dict | None = None):
    """``dashkit serve`` with a users file (``tmp_path/users.json``), started."""
    (tmp_path / "users.json").write_text(json.dumps(users or USERS))
    server = dashkit_server(synthetic_status(n_workers=2), tmp_path, "cluster", "--basic-auth",
                            str(tmp_path / "users.json"), *options, ready="login")  # fmt: skip
    server.wait()
    return server


def opener_for(server, cookie_jar=None):
    jar = cookie_jar if cookie_jar is not None else http.cookiejar.CookieJar()
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect), jar


def post_login(server, user: str, password: str, opener, next_url: str = "") -> int:
    """POST the login form; the status it answers with (302 on success)."""
    form = urllib.parse.urlencode({"username": user, "password": password,
                                   "next": next_url}).encode()  # fmt: skip
    try:
        with opener.open(f"http://127.0.0.1:{server.port}/login", data=form, timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as answer:
        return answer.code


def page_status(server, opener) -> int:
    try:
        with opener.open(server.url, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as answer:
        return answer.code


def test_a_login_goes_back_to_the_page_asked_for_and_never_to_another_site(tmp_path,
                                                                          open_page):
    server = login_server(tmp_path)
    try:
        page = open_page("login-next")
        page.page.goto(server.url)  # not logged in: sent to the login page
        page.page.wait_for_url("**/login?next=*")
        page.page.fill("input[name=username]", "alice")
        page.page.fill("input[name=password]", PASSWORD)
        page.page.click("button")
        page.page.wait_for_url(server.url)  # the page asked for, not Panel's index
        wait_until(lambda: page.state() == "connected", timeout=60, what="page connected")

        other = free_port()
        for target in (f"///127.0.0.1:{other}/page.html", f"////127.0.0.1:{other}/x",
                       f"//127.0.0.1:{other}/x", f"/\\127.0.0.1:{other}/x",
                       f"http://127.0.0.1:{other}/x"):  # fmt: skip
            page.page.goto(f"http://127.0.0.1:{server.port}/login?next="
                           + urllib.parse.quote(target))  # fmt: skip
            page.page.fill("input[name=username]", "alice")
            page.page.fill("input[name=password]", PASSWORD)
            page.page.click("button")
            page.page.wait_for_url(f"http://127.0.0.1:{server.port}/**")
            assert page.page.url == server.url, (target, page.page.url)
            # Leave the page only once it has connected (a socket cut in its
            # handshake is an error on the console).
            wait_until(lambda: page.state() == "connected", timeout=60, what="page connected")
    finally:
        server.stop()


def test_a_login_ends_at_logout_when_the_user_is_removed_and_at_a_restart(tmp_path):
    secret = "a fixed secret"
    server = login_server(tmp_path, "--cookie-secret", secret)
    try:
        alice, alices = opener_for(server)
        assert post_login(server, "alice", PASSWORD, alice) == 302
        assert page_status(server, alice) == 200
        kept = "; ".join(f"{c.name}={c.value}" for c in alices)
        with_cookie = urllib.request.build_opener(NoRedirect)
        with_cookie.addheaders = [("Cookie", kept)]
        assert page_status(server, with_cookie) == 200
        alice.open(f"http://127.0.0.1:{server.port}/logout", timeout=30).close()
        assert page_status(server, with_cookie) == 302  # the old cookie logs nobody in

        bob, bobs = opener_for(server)
        assert post_login(server, "bob", USERS["bob"], bob) == 302
        assert page_status(server, bob) == 200
        (tmp_path / "users.json").write_text(json.dumps({"alice": PASSWORD}))
        assert page_status(server, bob) == 302  # removed from the users file
        assert post_login(server, "bob", USERS["bob"], bob) == 401

        carol, carols = opener_for(server)
        assert post_login(server, "alice", PASSWORD, carol) == 302
        kept = "; ".join(f"{c.name}={c.value}" for c in carols)
    finally:
        server.stop()
    server = dashkit_server(synthetic_status(n_workers=2), tmp_path, "cluster", "--basic-auth",
                            str(tmp_path / "users.json"), "--cookie-secret", secret,
                            ready="login")  # fmt: skip
    try:
        server.wait()
        with_cookie = urllib.request.build_opener(NoRedirect)
        with_cookie.addheaders = [("Cookie", kept)]
        assert page_status(server, with_cookie) == 302  # a restart ends every login
    finally:
        server.stop()


def test_failed_logins_are_slowed_and_the_right_password_waits_too(tmp_path):
    from dashkit.login import MAX_FAILURES

    server = login_server(tmp_path)
    try:
        opener, _ = opener_for(server)
        answers = [post_login(server, "alice", f"guess {i}", opener) for i in range(12)]
        assert answers[:MAX_FAILURES] == [401] * MAX_FAILURES
        assert set(answers[MAX_FAILURES:]) == {429}
        assert post_login(server, "alice", PASSWORD, opener) == 429  # no guessing through
    finally:
        server.stop()


@pytest.mark.parametrize(("users", "message"), [
    (None, "no such file (give a password, or a JSON file of user name: password)"),
    ("{not json", "not valid JSON"),
    ('["alice"]', "give a JSON object of user name: password"),
])  # fmt: skip
def test_a_users_file_that_cannot_be_used_is_one_line_at_start(users, message, tmp_path):
    path = tmp_path / "users.json"
    if users is not None:
        path.write_text(users)
    result = subprocess.run([str(BIN / "dashkit"), "serve", "--port", str(free_port()),
                             "--basic-auth", str(path)], capture_output=True, text=True,
                            timeout=60, cwd=tmp_path)  # fmt: skip
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"dashkit serve: --basic-auth {path}: ") and message in line


def test_with_a_login_the_plot_list_needs_it_and_the_page_holds_no_login_token(tmp_path):
    server = login_server(tmp_path)
    try:
        base = f"http://127.0.0.1:{server.port}"
        anyone = urllib.request.build_opener(NoRedirect)
        with pytest.raises(urllib.error.HTTPError) as refused:
            anyone.open(f"{base}/individual-plots.json", timeout=30)
        assert refused.value.code == 403
        alice, jar = opener_for(server)
        assert post_login(server, "alice", PASSWORD, alice) == 302
        with alice.open(f"{base}/individual-plots.json", timeout=30) as response:
            assert "Individual Cpu" in json.loads(response.read())
        (token,) = [c.value for c in jar if c.name == "dashkit-login"]
        with alice.open(server.url, timeout=60) as response:
            page = response.read().decode()
        # The session token a page's scripts can read carries no login.
        assert token not in page and token.split("|")[-1] not in page
    finally:
        server.stop()


def test_under_tls_the_login_cookie_is_secure_and_same_site(tmp_path):
    import ssl

    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-keyout", str(tmp_path / "key.pem"),
                    "-out", str(tmp_path / "cert.pem")], check=True, capture_output=True)
    (tmp_path / "users.json").write_text(json.dumps(USERS))
    port = free_port()
    server = Served([str(BIN / "dashkit"), "serve", "--port", str(port), "--basic-auth",
                     str(tmp_path / "users.json"), "--ssl-certfile", str(tmp_path / "cert.pem"),
                     "--ssl-keyfile", str(tmp_path / "key.pem")], port, "status", tmp_path,
                    ready="login")  # fmt: skip
    server.ready_url = server.ready_url.replace("http://", "https://")
    unverified = ssl.create_default_context()
    unverified.check_hostname, unverified.verify_mode = False, ssl.CERT_NONE

    def up() -> bool:
        try:
            with urllib.request.urlopen(server.ready_url, timeout=30, context=unverified):
                return True
        except OSError:
            return False

    try:
        wait_until(up, timeout=120, what="the https server")
        form = urllib.parse.urlencode({"username": "alice", "password": PASSWORD}).encode()
        opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=unverified),
                                             NoRedirect)  # fmt: skip
        with pytest.raises(urllib.error.HTTPError) as answered:
            opener.open(f"https://127.0.0.1:{port}/login", data=form, timeout=30)
        assert answered.value.code == 302
        cookie = answered.value.headers["Set-Cookie"]
        assert cookie.startswith("dashkit-login=")
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    finally:
        server.stop()

"""Logins for ``dashkit serve --basic-auth``: who may look, for how long, and how to revoke it.

``--basic-auth`` names one password (any user name) or a JSON file of user
name -> password. A login gives the browser a cookie holding a random token,
signed with the server's cookie secret; the server keeps which tokens are
logged in. So a login ends when:

* the user logs out (``/logout``): the token is forgotten;
* the user is taken out of the users file: the file is read again when it
  changes, and a token of a user no longer in it logs nobody in;
* the server restarts: it remembers no token;
* a day has passed.

Passwords are compared in constant time, and an address that fails
:data:`MAX_FAILURES` times within :data:`FAILURE_WINDOW` seconds is refused
until the window has passed. After a login the browser goes back to the page
it asked for, never to another site.

Example
-------
>>> users = Users("s3cret")
>>> users.check("ada", "s3cret"), users.check("ada", "guess")
(True, False)
>>> safe_next("///evil.example/page"), safe_next("/status?theme=dark")
(None, '/status?theme=dark')
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import threading
import time
import urllib.parse
from collections import deque
from pathlib import Path

from bokeh.server.auth_provider import AuthProvider
from jinja2 import Environment
from tornado.web import RequestHandler

logger = logging.getLogger(__name__)

#: The cookie that holds a login's token.
COOKIE = "dashkit-login"
#: Seconds a login lasts.
LIFETIME = 24 * 3600
#: Failed logins an address may make within :data:`FAILURE_WINDOW` seconds.
MAX_FAILURES = 5
FAILURE_WINDOW = 60.0


class LoginConfigError(ValueError):
    """``--basic-auth`` names something that cannot be used."""


class Users:
    """Who may log in: one password for any user name, or a JSON file of user
    name -> password, read again whenever it changes.

    A value ending in ``.json``, or naming an existing file, is a file: a
    missing or unreadable one is refused at once instead of becoming a
    password."""

    def __init__(self, spec: str):
        path = Path(spec)
        self.path: Path | None = None
        self._password: str | None = None
        self._passwords: dict[str, str] = {}
        self._stamp: tuple[float, int] | None = None
        if path.suffix.lower() == ".json" or path.is_file():
            self.path = path
            self._passwords = self._read()
        else:
            self._password = spec

    def _read(self) -> dict[str, str]:
        path = self.path
        try:
            stat = path.stat()
            users = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise LoginConfigError(f"--basic-auth {path}: no such file (give a password, or "
                                   "a JSON file of user name: password)") from None  # fmt: skip
        except (OSError, UnicodeDecodeError) as err:
            raise LoginConfigError(f"--basic-auth {path}: cannot read it: {err}") from None
        except json.JSONDecodeError as err:
            raise LoginConfigError(f"--basic-auth {path}: not valid JSON: {err}") from None
        if not isinstance(users, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in users.items()
        ):
            raise LoginConfigError(f"--basic-auth {path}: give a JSON object of user name: "
                                   'password, e.g. {"ada": "s3cret"}')  # fmt: skip
        self._stamp = (stat.st_mtime, stat.st_size)
        return users

    def _current(self) -> dict[str, str]:
        """The users file as it is now (read again if it changed). A file made
        unreadable while serving keeps nobody logged in until it is mended."""
        try:
            stat = self.path.stat()
            if (stat.st_mtime, stat.st_size) != self._stamp:
                self._passwords = self._read()
        except (OSError, LoginConfigError) as err:
            if self._passwords:
                logger.error("dashkit: %s: no login is accepted until it is mended", err)
            self._passwords, self._stamp = {}, None
        return self._passwords

    def allowed(self, user: str) -> bool:
        """Whether ``user`` may still be logged in."""
        return self.path is None or user in self._current()

    def check(self, user: str, password: str) -> bool:
        """Whether ``password`` is ``user``'s (compared in constant time)."""
        if self.path is None:
            expected = self._password
        else:
            expected = self._current().get(user)
            if expected is None:
                expected, user = secrets.token_hex(16), ""  # the same work as a real check
        same = hmac.compare_digest(password.encode(), expected.encode())
        return same and (self.path is None or bool(user))


class Throttle:
    """Failed logins per address: an address that failed :data:`MAX_FAILURES`
    times within :data:`FAILURE_WINDOW` seconds waits until the oldest of them
    is that old."""

    def __init__(self):
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def wait(self, address: str) -> float:
        """Seconds ``address`` must wait before its next try (0: it may try now)."""
        now = time.monotonic()
        with self._lock:
            failures = self._failures.get(address)
            while failures and now - failures[0] > FAILURE_WINDOW:
                failures.popleft()
            if not failures or len(failures) < MAX_FAILURES:
                return 0.0
            return FAILURE_WINDOW - (now - failures[0])

    def failed(self, address: str) -> None:
        with self._lock:
            self._failures.setdefault(address, deque(maxlen=MAX_FAILURES)).append(
                time.monotonic())

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._failures.pop(address, None)


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this server, else None: never another site,
    however its slashes are written (``//host``, ``///host``, ``/\\host``)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    if "\\" in target or any(ord(c) < 32 for c in target):
        return None
    parts = urllib.parse.urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


class Logins(AuthProvider):
    """Bokeh's authentication hooks for ``dashkit serve --basic-auth``.

    Example
    -------
    >>> Logins(Users("s3cret"), home="/status").login_url
    '/login'
    """

    def __init__(self, users: Users, home: str, login_template: str | None = None,
                 logout_template: str | None = None):  # fmt: skip
        self.users = users
        self.home = home
        self.throttle = Throttle()
        self._tokens: dict[str, tuple[str, float]] = {}  # token -> (user, expires)
        self._lock = threading.Lock()
        templates = Path(__file__).parent / "templates"
        environment = Environment(autoescape=True)
        self.login_page = environment.from_string(
            Path(login_template or templates / "login.html").read_text())
        self.logout_page = environment.from_string(
            Path(logout_template or templates / "logout.html").read_text())
        super().__init__()

    # -- the tokens of the logins ---------------------------------------------------

    def open(self, user: str) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = (user, time.time() + LIFETIME)
        return token

    def close(self, token: str | None) -> None:
        with self._lock:
            self._tokens.pop(token or "", None)

    def user_of(self, token: str | None) -> str | None:
        """The user ``token`` logs in now, or None."""
        with self._lock:
            user, expires = self._tokens.get(token or "", (None, 0.0))
            if user is not None and (time.time() > expires or not self.users.allowed(user)):
                del self._tokens[token]
                user = None
        return user

    # -- Bokeh's hooks ------------------------------------------------------------------

    @property
    def get_user(self):
        def get_user(handler: RequestHandler) -> str | None:
            token = handler.get_secure_cookie(COOKIE, max_age_days=LIFETIME / 86400)
            return self.user_of(token.decode() if token else None)

        return get_user

    @property
    def login_url(self) -> str:
        return "/login"

    @property
    def logout_url(self) -> str:
        return "/logout"

    @property
    def login_handler(self) -> type[RequestHandler]:
        return LoginHandler

    @property
    def logout_handler(self) -> type[RequestHandler]:
        return LogoutHandler

    @property
    def endpoints(self) -> list[tuple]:
        return [(self.login_url, LoginHandler, {"logins": self}),
                (self.logout_url, LogoutHandler, {"logins": self})]


class LoginHandler(RequestHandler):
    """The login page, and the form it posts."""

    def initialize(self, logins: Logins) -> None:
        self.logins = logins

    def get(self) -> None:
        self._page(self.get_argument("next", ""), "")

    def _page(self, target: str, error: str) -> None:
        self.write(self.logins.login_page.render(
            login_endpoint=self.logins.login_url, errormessage=error,
            next=safe_next(target) or ""))  # fmt: skip

    def post(self) -> None:
        address = self.request.remote_ip or ""
        target = self.get_argument("next", "")
        wait = self.logins.throttle.wait(address)
        if wait > 0:
            self.set_status(429)
            self._page(target, f"Too many failed logins: try again in {wait:.0f} s.")
            return
        user = self.get_argument("username", "")
        if not self.logins.users.check(user, self.get_argument("password", "")):
            self.logins.throttle.failed(address)
            self.set_status(401)
            self._page(target, "Wrong user name or password.")
            return
        self.logins.throttle.succeeded(address)
        self.set_secure_cookie(
            COOKIE, self.logins.open(user), expires_days=LIFETIME / 86400, httponly=True,
            secure=self.request.protocol == "https", samesite="Strict", path="/",
        )  # fmt: skip
        self.redirect(safe_next(target) or self.logins.home)


class LogoutHandler(RequestHandler):
    """Ends the login: its token is forgotten, so a copy of the cookie logs nobody in."""

    def initialize(self, logins: Logins) -> None:
        self.logins = logins

    def get(self) -> None:
        token = self.get_secure_cookie(COOKIE, max_age_days=LIFETIME / 86400)
        self.logins.close(token.decode() if token else None)
        self.clear_cookie(COOKIE, path="/")
        self.write(self.logins.logout_page.render(LOGIN_ENDPOINT=self.logins.login_url))

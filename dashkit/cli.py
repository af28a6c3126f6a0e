"""The ``dashkit`` command: serve, export, record, demo, snapshot.

    dashkit serve [LAYOUT.py | SPEC.yaml] [--scheduler ADDR | --replay REC]
                  [--port N] [--address HOST] [--show] [access options]
    dashkit export [SPEC.yaml] -o OUT.html [--scheduler ADDR | --synthetic | --replay REC]
                   [--duration S] [--force]
    dashkit export [SPEC.yaml] --app DIR [--force]
    dashkit record -o RUN.dkrec [--scheduler ADDR | --synthetic] [--duration S] [--force]
    dashkit demo [--port N] [--no-show]
    dashkit snapshot [--scheduler ADDR]

Without a layout, the status page; without a scheduler, the layout's own
source (the status page's is an embedded LocalCluster running a demo
workload). Bad input ends with one line on stderr and exit code 1, and is
found before anything is collected. No command overwrites its input, or an
existing output without ``--force``; a replaced file stays whole until the
new one is complete.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from dashkit import login
from dashkit.sources.base import SourceError

if TYPE_CHECKING:
    from tornado.ioloop import IOLoop


class CommandError(Exception):
    """Bad input to a command: printed as one line, exit code 1."""


def _scheduler_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scheduler",
        default=None,
        help="scheduler address, e.g. tcp://10.0.0.5:8786 (default: $DASHKIT_SCHEDULER, else "
        "$DASK_SCHEDULER_ADDRESS or Dask's scheduler-address setting, else the layout's own "
        "source: an embedded LocalCluster for the status page)",
    )


def _check_port(host: str, port: int) -> None:
    if not 0 < port < 65536:
        raise CommandError(f"--port {port}: a port is a number from 1 to 65535")
    with socket.socket() as sock:
        # As the server itself binds: a port held only by closed connections
        # (TIME-WAIT) is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as err:
            raise CommandError(f"cannot listen on {host}:{port}: {err.strerror}") from None


def _output_path(value: str, inputs: Sequence[str | None], force: bool) -> Path:
    """The file to write, checked before any collecting: never an input, never
    an existing file unless ``force``, in a folder that exists and is writable."""
    path = Path(value)
    for given in inputs:
        if given and path.exists() and Path(given).exists() and path.samefile(given):
            raise CommandError(f"-o {value} is the input: give another output file")
    if path.is_dir():
        raise CommandError(f"-o {value} is a folder: give a file name")
    if not path.parent.is_dir():
        raise CommandError(f"-o {value}: there is no folder {path.parent}")
    if not os.access(path.parent, os.W_OK):
        raise CommandError(f"-o {value}: cannot write in {path.parent}")
    if path.exists() and not force:
        raise CommandError(f"-o {value} exists: give --force to replace it")
    return path


def _layout_path(value: str | None) -> Path | None:
    if value is None:
        return None
    path = Path(value)
    if not path.is_file():
        raise CommandError(f"no layout at {value!r}: give a layout script (.py) or spec (.yaml)")
    if path.suffix not in (".py", ".yaml", ".yml"):
        raise CommandError(
            f"{value}: a layout is a script (.py) or a spec (.yaml), not {path.suffix!r}"
        )
    return path


def _build_layout(path: Path | None, feed=None):
    """The Layout for a spec path (None: the status page) on ``feed`` (None: its own)."""
    from dashkit.layouts import Layout, LayoutSpecError, status_spec

    if path is not None and path.suffix == ".py":
        raise CommandError(
            f"{path}: export takes a layout spec (.yaml); a .py layout can only be served"
        )
    try:
        return Layout.from_spec(path or status_spec(), feed=feed)
    except LayoutSpecError as err:
        raise CommandError(str(err)) from None


def _built_ahead(name: str, app, title: str, server_id: str):
    """``app`` as a Panel application whose next page is built before it is asked
    for (see :mod:`dashkit.page_pool`)."""
    from panel.io.application import build_applications

    from dashkit.page_pool import PagePool

    application = build_applications({name: app}, title=title, server_id=server_id)[f"/{name}"]
    PagePool.add_to(application)
    return application


def _replay_source(path: str, **params):
    """A ReplaySource for ``path``, its recording read now: errors as one line, and
    a damaged file's problem logged once by the source."""
    from dashkit.sources.replay import ReplaySource

    source = ReplaySource(path=path, **params)
    source.connect()
    return source


def _synthetic_params(args: argparse.Namespace) -> dict:
    return {"n_workers": args.workers, "history_rows": args.rows, "seed": args.seed}


def serve(args: argparse.Namespace) -> int:
    import uuid

    import panel as pn
    from tornado.ioloop import IOLoop

    from dashkit.components import compat
    from dashkit.feed import Feed
    from dashkit.page_pool import PooledDocHandler
    from dashkit.page_sockets import CHECK_PERIOD_MS, PageSocketHandler

    path = _layout_path(args.layout)
    _check_port(args.address, args.port)
    name = path.stem if path is not None else "status"
    access = _access(args, name)
    address = _link(args, name)
    if args.replay and args.scheduler:
        raise CommandError("give --scheduler or --replay, not both")
    feed = None
    if args.replay:
        source = _replay_source(args.replay)
        os.environ["DASHKIT_REPLAY"] = args.replay  # read by layout scripts
        feed = Feed.shared(source)
    elif args.scheduler:
        os.environ["DASHKIT_SCHEDULER"] = args.scheduler  # read by layout scripts
        # A scheduler not up yet is waited for: the page says so until it is.
        feed = Feed.shared(args.scheduler, wait_for_source=True)
    if path is not None and path.suffix == ".py":
        app = str(path.resolve())
    else:
        _build_layout(path, feed)  # validate now: errors as one line

        def app():
            return _build_layout(path, feed and Feed.shared(feed.source)).__panel__()

    from dashkit.raster import warm_up_in_background

    apps, titles, patterns = {name: app}, {name: "dashkit"}, []
    server_id = uuid.uuid4().hex
    # A script may read its request (arguments, cookies), and a page may show
    # who is logged in: only a spec's pages, without a login, are built ahead.
    if callable(app) and "cookie_secret" not in access:
        apps[name] = _built_ahead(name, app, titles[name], server_id)
    if path is None or path.suffix != ".py" or feed is not None:
        apps.update(_individual_pages(path, feed, titles, patterns))
    warm_up_in_background()  # compile the history aggregation before pages need it
    # Panel reads ``?theme=`` for every page it builds unless told a theme, and
    # a value that is not UTF-8 failed the page with a 500. dashkit's pages take
    # their theme from the layout (an individual page, from a valid ``?theme=``).
    pn.config.theme = "default"
    print(f"dashkit: serving {address}", file=sys.stderr)
    loop = IOLoop.current()
    _stop_on_sigterm(loop)
    compat.serve_route_with(compat.SOCKET_ROUTE, PageSocketHandler)
    compat.serve_route_with(compat.PAGE_ROUTE, PooledDocHandler)  # every page: floods refused
    try:
        pn.serve(apps, port=args.port, address=args.address, show=args.show, title=titles,
                 extra_patterns=patterns, server_id=server_id, loop=loop,
                 check_unused_sessions_milliseconds=CHECK_PERIOD_MS, **access)  # fmt: skip
    except KeyboardInterrupt:  # Ctrl-C before the server had started
        pass
    finally:
        print("dashkit: stopping", file=sys.stderr)
        Feed.stop_all()
    return 0


def _stop_on_sigterm(loop: IOLoop) -> None:
    """Have SIGTERM stop the server's event ``loop``, as Ctrl-C does (Panel's handler).

    The feeds then close: an embedded cluster stops its workers before its
    scheduler, instead of its workers finding the scheduler gone when the
    process is killed. The handler must not raise: Python drops an exception
    raised by a signal handler that runs inside a weakref callback (a server's
    documents and models are full of them), and the server then ran on.
    """
    def stop(*_) -> None:
        if not loop.asyncio_loop.is_closed():  # a second SIGTERM, once stopped
            loop.asyncio_loop.call_soon_threadsafe(loop.stop)

    signal.signal(signal.SIGTERM, stop)


def _individual_pages(path: Path | None, feed, titles: dict, patterns: list) -> dict:
    """The one-plot pages at Dask's paths, on the served spec's feed (a layout
    script's own feed is not known: only ``feed`` then)."""
    from dashkit.feed import Feed
    from dashkit.individual import PlotsHandler, individual_apps, title
    from dashkit.layouts import Layout, status_spec

    spec = path if path is not None and path.suffix != ".py" else status_spec()

    def layout_without_plots():
        return Layout.from_spec(spec, feed=feed and Feed.shared(feed.source), columns=[])

    apps = individual_apps(layout_without_plots)
    titles.update({route: title(route) for route in apps})
    patterns.append((r"/individual-plots.json", PlotsHandler))
    return apps


def _link(args: argparse.Namespace, page: str) -> str:
    """The page's address as dashkit prints it: ``--link`` (or ``$DASHKIT_LINK``) filled in."""
    from dashkit.links import link

    scheme = "https" if args.ssl_certfile else "http"
    try:
        return link(args.link, host=args.address, port=args.port, page=page, scheme=scheme)
    except ValueError as err:
        raise CommandError(f"--link: {err}") from None


#: Interfaces only this host can reach: serving on them needs no login.
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _access(args: argparse.Namespace, page: str) -> dict:
    """Who may open the pages: Panel's server options from the access arguments,
    checked before serving, with a warning on stderr when the pages are open to
    other hosts without a login."""
    import secrets

    options: dict = {
        "websocket_origin": [f"{args.address}:{args.port}", f"localhost:{args.port}",
                             *args.allow_websocket_origin],
    }  # fmt: skip
    if args.basic_auth and args.oauth_provider:
        raise CommandError("give --basic-auth or --oauth-provider, not both")
    if args.oauth_provider:
        missing = [flag for flag, value in (("--oauth-key", args.oauth_key),
                   ("--oauth-secret", args.oauth_secret), ("--cookie-secret", args.cookie_secret))
                   if not value]  # fmt: skip
        if missing:
            raise CommandError(f"--oauth-provider {args.oauth_provider} also needs "
                               f"{', '.join(missing)}")  # fmt: skip
        options.update(oauth_provider=args.oauth_provider, oauth_key=args.oauth_key,
                       oauth_secret=args.oauth_secret)  # fmt: skip
    if args.basic_auth or args.oauth_provider:
        # A login is kept in a signed cookie, which page scripts never see.
        options["cookie_secret"] = args.cookie_secret or secrets.token_urlsafe(32)
        options["exclude_cookies"] = [login.COOKIE, "user", "id_token", "access_token"]
    if args.basic_auth:
        try:
            users = login.Users(args.basic_auth)
        except login.LoginConfigError as err:
            raise CommandError(str(err)) from None
        options["auth_provider"] = login.Logins(users, home=f"/{page}")
    elif args.oauth_provider:
        # dashkit's own pages: Panel's load their images from the internet.
        templates = Path(__file__).parent / "templates"
        options.update(login_template=str(templates / "login.html"),
                       logout_template=str(templates / "logout.html"))  # fmt: skip
    elif args.cookie_secret:
        raise CommandError("--cookie-secret signs logins: give it with --basic-auth or "
                           "--oauth-provider")  # fmt: skip
    if bool(args.ssl_certfile) != bool(args.ssl_keyfile):
        raise CommandError("give --ssl-certfile and --ssl-keyfile together")
    for flag, value in (("--ssl-certfile", args.ssl_certfile), ("--ssl-keyfile", args.ssl_keyfile)):
        if value and not Path(value).is_file():
            raise CommandError(f"{flag} {value}: no such file")
    if args.ssl_certfile:
        options.update(ssl_certfile=args.ssl_certfile, ssl_keyfile=args.ssl_keyfile)
    if args.address not in LOOPBACK and "cookie_secret" not in options:
        print(f"dashkit serve: warning: listening on {args.address} without --basic-auth or "
              "--oauth-provider: anyone who can reach this host can watch the cluster",
              file=sys.stderr)  # fmt: skip
    return options


def export(args: argparse.Namespace) -> int:
    from dashkit.export import save_app, save_html
    from dashkit.feed import Feed
    from dashkit.sources import SyntheticSource

    path = _layout_path(args.layout)
    if sum(map(bool, (args.replay, args.scheduler, args.synthetic))) > 1:
        raise CommandError("give one of --scheduler, --synthetic, --replay")
    if args.app and args.output:
        raise CommandError("give -o OUT.html or --app DIR, not both")
    if not args.app and not args.output:
        raise CommandError("export needs -o OUT.html (or --app DIR)")
    output = args.output and _output_path(args.output, [args.layout, args.replay], args.force)
    feed = None
    if args.replay:
        # The whole run: jump to the end and take snapshots until every row is
        # in. The feed keeps its newest rows; the task stream, a summary of all.
        source = _replay_source(args.replay, playing=False)
        source.seek(source.duration)
        feed = Feed(source)
    elif args.synthetic:
        feed = Feed.shared(SyntheticSource(**_synthetic_params(args)))
    elif args.scheduler:
        feed = Feed.shared(args.scheduler)
    layout = _build_layout(path, feed)
    if args.app:
        try:
            app = save_app(layout, args.app, force=args.force)
        except (FileExistsError, NotADirectoryError) as err:
            raise CommandError(f"--app {args.app}: {err}") from None
        except OSError as err:
            raise CommandError(f"--app {args.app}: {err.strerror or err}") from None
        print(f"dashkit: wrote {app.parent}; serve it with: panel serve {app}", file=sys.stderr)
        return 0
    if args.replay:
        while not source.finished:
            if not layout.feed.poll():  # a report must not come out empty without a word
                raise CommandError(f"cannot replay {args.replay}: {layout.feed.status}")
    else:
        _collect(layout.feed, args.duration)
        for other in layout.all_feeds()[1:]:  # a layout of several sources: each polled
            _collect(other, 0)
    for feed in layout.all_feeds():
        feed.stop()  # the data held stays: the file shows exactly what was collected
    for component in layout.components():
        component.update()
    out = save_html(layout, output, force=True)  # checked before collecting
    size = out.stat().st_size / 1e6
    rows = sum(f.tasks.total for f in layout.all_feeds())
    print(f"dashkit: wrote {out} ({size:.1f} MB, {rows:,} task-stream rows)",
          file=sys.stderr)  # fmt: skip
    return 0


def record(args: argparse.Namespace) -> int:
    from dashkit.files import replace, temporary_beside
    from dashkit.recorder import record as recording
    from dashkit.sources import DaskSource, SyntheticSource

    if not args.output:
        raise CommandError("record needs -o RUN.dkrec")
    if args.synthetic and args.scheduler:
        raise CommandError("give --scheduler or --synthetic, not both")
    output = _output_path(args.output, [], args.force)
    # A file being replaced stays whole until the new recording is complete;
    # a new one is written in place, so a killed recorder leaves what it had.
    writing = temporary_beside(output) if output.exists() else output
    if args.synthetic:
        source = SyntheticSource(**_synthetic_params(args))
    else:
        source = DaskSource(address=args.scheduler) if args.scheduler else DaskSource()
    terminated = _sigterm_received()  # ends the recording as cleanly as Ctrl-C
    try:
        # Subscribed before the first poll: the recording starts with the feed.
        with recording(source, writing) as recorder:
            try:
                _collect(recorder.feed, args.duration, "recording",
                         until=lambda: terminated() or recorder.failure is not None)
            except KeyboardInterrupt:
                print(file=sys.stderr)
        if recorder.failure is not None:
            raise recorder.failure
    except BaseException as err:
        if writing != output:
            writing.unlink(missing_ok=True)
        if isinstance(err, SourceError):  # the cluster, not the file
            raise CommandError(str(err)) from None
        if isinstance(err, OSError):
            raise CommandError(f"cannot write {args.output}: {err.strerror or err}") from None
        raise
    if writing != output:
        replace(writing, output)
    size = output.stat().st_size
    print(f"dashkit: recorded {recorder.snapshots:,} snapshots and {recorder.task_rows:,} "
          f"task-stream rows to {args.output} ({size / 1e6:.2f} MB)", file=sys.stderr)  # fmt: skip
    return 0


def _sigterm_received() -> Callable[[], bool]:
    """Have SIGTERM set a flag, and return what reads it. Not raising, for the
    reason :func:`_stop_on_sigterm` gives."""
    received: list[bool] = []
    signal.signal(signal.SIGTERM, lambda *_: received.append(True))
    return lambda: bool(received)


#: Characters each progress line fills, so a shorter one covers a longer one.
PROGRESS_WIDTH = 72


def _collect(feed, seconds: float | None, doing: str = "collecting",
             until: Callable[[], bool] = lambda: False) -> None:  # fmt: skip
    """Let the (running) feed poll for ``seconds`` (None: until Ctrl-C or
    ``until()``), showing progress on stderr."""
    began = time.monotonic()
    limit = float("inf") if seconds is None else seconds
    while ((elapsed := time.monotonic() - began) < limit or feed.polls == 0) and not until():
        if seconds is None:
            bar = "(Ctrl-C to stop)"
        elif elapsed >= seconds:  # the time is up, but nothing has been read yet
            bar = "waiting for the first poll"
        else:
            done = int(30 * elapsed / seconds)
            bar = f"[{'#' * done}{'.' * (30 - done)}] of {seconds:g} s"
        line = f"{doing} {elapsed:4.0f} s {bar} {feed.tasks.total:,} rows"
        print(f"\r{line:{PROGRESS_WIDTH}}", end="", file=sys.stderr, flush=True)
        time.sleep(max(0.05, min(0.5, limit - elapsed)))
    line = f"{doing}: done after {time.monotonic() - began:.0f} s"
    print(f"\r{line:{PROGRESS_WIDTH}}", file=sys.stderr)


def demo(args: argparse.Namespace) -> int:
    args.layout, args.scheduler, args.replay = None, None, None
    return serve(args)


def snapshot(args: argparse.Namespace) -> int:
    import pandas as pd

    from dashkit.feed import Feed

    feed = Feed.shared(args.scheduler or "embedded")
    try:
        feed.poll()
        with pd.option_context("display.width", 200, "display.max_columns", 20):
            print(f"status: {feed.status}")
            print(feed.workers.to_string(index=False))
            print(feed.progress.to_string(index=False))
    finally:
        feed.stop()
    return 0


def _serve_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=5006, help="port (default 5006)")
    parser.add_argument(
        "--address", default="127.0.0.1", help="interface to bind (default 127.0.0.1: this host)"
    )
    parser.add_argument(
        "--link",
        default=os.environ.get("DASHKIT_LINK") or "{scheme}://{host}:{port}/{page}",
        help="how to print the page's address, as Dask's distributed.dashboard.link: "
        "{scheme}, {host}, {port}, {page} and environment variables such as {USER} "
        "(default: $DASHKIT_LINK, else %(default)s)",
    )
    access = parser.add_argument_group("who may look (see the README's Security section)")
    access.add_argument(
        "--basic-auth",
        metavar="PASSWORD|FILE",
        default=None,
        help="a login page: one password (any user name), or a JSON file "
        "mapping user names to passwords",
    )
    access.add_argument(
        "--cookie-secret",
        default=None,
        help="signs login cookies (default with a login: random per server)",
    )
    access.add_argument(
        "--oauth-provider",
        default=None,
        help="log in with an OAuth provider (e.g. github, google, generic)",
    )
    access.add_argument("--oauth-key", default=None, help="--oauth-provider: the client id")
    access.add_argument("--oauth-secret", default=None, help="--oauth-provider: the client secret")
    access.add_argument("--ssl-certfile", default=None, help="serve https with this certificate")
    access.add_argument("--ssl-keyfile", default=None, help="the certificate's private key")
    access.add_argument(
        "--allow-websocket-origin",
        metavar="HOST[:PORT]",
        action="append",
        default=[],
        help="another host name pages may be opened by (repeatable)",
    )


def _replay_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--replay", metavar="REC", default=None,
                        help="play back a recording made with dashkit record")  # fmt: skip


def _force_argument(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--force", action="store_true", help=f"replace {what} if it exists")


def _synthetic_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--synthetic", action="store_true",
                        help="a simulated cluster instead of a scheduler")  # fmt: skip
    parser.add_argument("--workers", type=int, default=16, help="--synthetic: workers")
    parser.add_argument("--rows", type=int, default=0,
                        help="--synthetic: task-stream rows of history")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="--synthetic: random seed")


def parser() -> argparse.ArgumentParser:
    main_parser = argparse.ArgumentParser(
        prog="dashkit", description="Live dashboards of a Dask cluster."
    )
    commands = main_parser.add_subparsers(dest="command", required=True)

    serve_parser = commands.add_parser("serve", help="serve a layout (default: the status page)")
    serve_parser.add_argument("layout", nargs="?", help="a layout script (.py) or spec (.yaml)")
    _scheduler_argument(serve_parser)
    _replay_argument(serve_parser)
    _serve_options(serve_parser)
    serve_parser.add_argument("--show", action="store_true", help="open a browser")
    serve_parser.set_defaults(run=serve)

    export_parser = commands.add_parser(
        "export", help="write a layout as an offline HTML file, or as an app folder"
    )
    export_parser.add_argument("layout", nargs="?", help="a layout spec (.yaml); default status")
    export_parser.add_argument("-o", "--output", help="the HTML file to write")
    _force_argument(export_parser, "the file given to -o, or the files of --app DIR")
    export_parser.add_argument("--app", metavar="DIR", help="write an app folder instead")
    _scheduler_argument(export_parser)
    _synthetic_arguments(export_parser)
    _replay_argument(export_parser)
    export_parser.add_argument("--duration", type=float, default=10.0,
                               help="seconds to collect before writing (default 10)")  # fmt: skip
    export_parser.set_defaults(run=export)

    record_parser = commands.add_parser(
        "record", help="record a run to a file that serve/export --replay play back"
    )
    record_parser.add_argument("-o", "--output", help="the recording to write (.dkrec)")
    _force_argument(record_parser, "the file given to -o (kept whole until the new one is done)")
    _scheduler_argument(record_parser)
    _synthetic_arguments(record_parser)
    record_parser.add_argument("--duration", type=float, default=None,
                               help="seconds to record (default: until Ctrl-C)")  # fmt: skip
    record_parser.set_defaults(run=record)

    demo_parser = commands.add_parser(
        "demo", help="an embedded cluster running a demo workload, its status page in a browser"
    )
    _serve_options(demo_parser)
    demo_parser.add_argument("--show", action=argparse.BooleanOptionalAction, default=True,
                             help="open a browser (default; --no-show only serves)")  # fmt: skip
    demo_parser.set_defaults(run=demo)

    snap_parser = commands.add_parser("snapshot", help="print one snapshot as tables")
    _scheduler_argument(snap_parser)
    snap_parser.set_defaults(run=snapshot)
    return main_parser


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if getattr(args, "scheduler", "") is None and not (
        getattr(args, "replay", None) or getattr(args, "synthetic", False)
    ):
        from dashkit.sources.dask import default_scheduler_address

        args.scheduler = default_scheduler_address()  # the environment's, as Dask reads it
    try:
        return args.run(args)
    except (CommandError, SourceError) as err:
        print(f"dashkit {args.command}: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

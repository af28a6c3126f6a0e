"""The ``dashkit`` command.

    dashkit serve [--scheduler ADDR] [--port N] [--address HOST] [--show]
    dashkit snapshot [--scheduler ADDR]

Bad input (an unreachable scheduler, a port in use) ends with one line on
stderr and exit code 1, not a traceback.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from collections.abc import Sequence

from dashkit.sources.base import SourceError


def _scheduler_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scheduler",
        default=os.environ.get("DASHKIT_SCHEDULER") or "embedded",
        help="scheduler address (default: $DASHKIT_SCHEDULER, or an embedded LocalCluster "
        "running a demo workload)",
    )


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((host, port)) != 0


def serve(args: argparse.Namespace) -> int:
    import panel as pn

    from dashkit.feed import Feed
    from dashkit.layouts import StatusPage

    if not _port_free(args.address, args.port):
        raise SystemExit(f"dashkit serve: port {args.port} on {args.address} is already in use")
    Feed.shared(args.scheduler)  # connect now, so an unreachable scheduler fails here
    pn.serve(
        {"status": lambda: StatusPage(feed=Feed.shared(args.scheduler)).__panel__()},
        port=args.port,
        address=args.address,
        websocket_origin=[f"{args.address}:{args.port}", f"localhost:{args.port}"],
        show=args.show,
        title="dashkit",
    )
    return 0


def snapshot(args: argparse.Namespace) -> int:
    import pandas as pd

    from dashkit.feed import Feed

    feed = Feed.shared(args.scheduler)
    try:
        feed.poll()
        with pd.option_context("display.width", 200, "display.max_columns", 20):
            print(f"status: {feed.status}")
            print(feed.workers.to_string(index=False))
            print(feed.progress.to_string(index=False))
    finally:
        feed.stop()
    return 0


def parser() -> argparse.ArgumentParser:
    main_parser = argparse.ArgumentParser(
        prog="dashkit", description="Live dashboards of a Dask cluster."
    )
    commands = main_parser.add_subparsers(dest="command", required=True)

    serve_parser = commands.add_parser("serve", help="serve the status page")
    _scheduler_argument(serve_parser)
    serve_parser.add_argument("--port", type=int, default=5006, help="port (default 5006)")
    serve_parser.add_argument(
        "--address", default="127.0.0.1", help="interface to bind (default 127.0.0.1)"
    )
    serve_parser.add_argument("--show", action="store_true", help="open a browser")
    serve_parser.set_defaults(run=serve)

    snap_parser = commands.add_parser("snapshot", help="print one snapshot as tables")
    _scheduler_argument(snap_parser)
    snap_parser.set_defaults(run=snapshot)
    return main_parser


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except SourceError as err:
        print(f"dashkit {args.command}: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

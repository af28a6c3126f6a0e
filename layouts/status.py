"""The Dask /status page, reproduced.

    panel serve layouts/status.py              # embedded cluster + demo workload
    panel serve layouts/status.py --args --scheduler tcp://host:8786
    DASHKIT_SCHEDULER=tcp://host:8786 panel serve layouts/status.py

Every browser session reads the one shared Feed of the process: the
scheduler is polled once per period however many pages are open.
"""

import argparse
import os
import sys

import panel as pn

from dashkit import Feed
from dashkit.layouts import StatusPage


def scheduler_address() -> str:
    parser = argparse.ArgumentParser(prog="layouts/status.py")
    parser.add_argument("--scheduler", default=os.environ.get("DASHKIT_SCHEDULER") or "embedded")
    return parser.parse_args(sys.argv[1:]).scheduler


pn.extension()
StatusPage(feed=Feed.shared(scheduler_address())).servable()

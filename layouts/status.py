"""The Dask /status page, reproduced.

    panel serve layouts/status.py              # embedded cluster + demo workload
    panel serve layouts/status.py --args --scheduler tcp://host:8786
    DASHKIT_SCHEDULER=tcp://host:8786 panel serve layouts/status.py
    panel serve layouts/status.py --args --replay run.dkrec   # a recording

Every browser session reads the one shared Feed of the process: the
scheduler is polled once per period however many pages are open.
"""

import panel as pn

from dashkit import Feed
from dashkit.layouts import StatusPage, source_override

pn.extension()
StatusPage(feed=Feed.shared(source_override() or "embedded")).servable()

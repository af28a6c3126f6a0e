"""A task stream on a simulated cluster, for interaction tests.

    panel serve tests/e2e/apps/task_stream.py --args --rows 1000000
"""

import argparse
import sys

import panel as pn

from dashkit import Feed, SyntheticSource
from dashkit.components import FeedStatus, TaskStream

parser = argparse.ArgumentParser()
parser.add_argument("--rows", type=int, default=0)
args = parser.parse_args(sys.argv[1:])

pn.extension()
# Long tasks on few threads: sparse pages are mostly covered by rectangles.
# history_rows is approximate: ask for a little more than the test needs.
source = SyntheticSource(n_workers=4, threads_per_worker=2, seed=5,
                         history_rows=int(args.rows * 1.02),
                         mean_duration=1.0 if not args.rows else 0.2, load=0.95)
feed = Feed.shared(source, period=0.5)
pn.Column(FeedStatus(feed=feed), TaskStream(feed=feed, height=420),
          sizing_mode="stretch_width").servable(title="task stream")

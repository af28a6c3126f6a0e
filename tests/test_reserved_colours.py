"""Transfers, disk reads and writes and erred tasks of a real cluster take the
task stream's reserved colours, as Dask's own task stream colours them."""

from __future__ import annotations

import holoviews as hv
from distributed import Client

from dashkit import theme
from dashkit.components import TaskStream
from dashkit.feed import Feed
from dashkit.sources import DaskSource
from dashkit.task_picture import TaskPicture
from tests.conftest import packed, wait_for
from tests.helpers import reserved_colour_workload

#: Action (or "erred") -> (colour, alpha) Dask's task stream gives it: CSS
#: ``red``, ``orange`` and ``black`` (``distributed.diagnostics.task_stream``).
DASKS = {"transfer": ("#ff0000", 0.4), "disk-write": ("#ffa500", 0.4),
         "disk-read": ("#ffa500", 0.4), "deserialize": ("#808080", 0.4),
         "erred": ("#000000", 1.0)}  # fmt: skip


def test_the_reserved_colours_are_dasks():
    for action in ("transfer", "disk-write", "disk-read", "deserialize"):
        assert theme.ACTION_STYLE[action] == DASKS[action]
    assert DASKS["erred"] == (theme.ERRED_COLOR, 1.0)


def test_a_real_clusters_transfers_spills_and_errors_are_drawn_in_their_colours(
    spilling_cluster,
):
    feed = Feed(DaskSource(address=spilling_cluster.scheduler_address))
    assert feed.poll()  # the task stream is on before the tasks run
    with Client(spilling_cluster, set_as_default=False) as client:
        futures = reserved_colour_workload(client)
        wait_for(lambda: futures[-1].status == "error", what="the failing task erred")

        def seen() -> set:
            feed.poll()
            tasks = feed.tasks.frame()
            found = set(tasks["action"].astype(str))
            return found | ({"erred"} if (tasks["status"] == "error").any() else set())

        wait_for(lambda: {"transfer", "disk-write", "disk-read", "erred"} <= seen(),
                 what="every reserved action in the feed")  # fmt: skip
    stream = TaskStream(feed=feed)
    figure = hv.render(stream.element, backend="bokeh")
    drawn = next(d for d in (r.data_source.data for r in figure.renderers)
                 if "action" in d and len(d["action"]))  # fmt: skip
    actions = TaskPicture.of(feed.history).names().decode(drawn)["action"]
    rows = list(zip(drawn["key"], actions, drawn["color"], drawn["alpha"], strict=True))
    tasks = feed.tasks.frame().set_index(["key", "action"])
    for action in ("transfer", "disk-write", "disk-read"):
        colours = {(c, a) for _k, act, c, a in rows if act == action}
        assert colours == {(packed(DASKS[action][0]), DASKS[action][1])}, action
    erred = {(c, a) for k, act, c, a in rows
             if act == "compute" and tasks.loc[(k, act), "status"] == "error"}  # fmt: skip
    assert erred == {(packed(DASKS["erred"][0]), 1.0)}
    feed.source.close()

"""What polling costs: on the scheduler, per poll, and on the client.

    python benchmarks/feed_cost.py

Scheduler side: the snapshot handler's own time (measured inside the
scheduler) with 2 and 50 workers, and with 20 and 2,000 task prefixes held
in memory. Client side: one full poll (round trip + building the frames), and
ingesting 100k task-stream rows (flattening records, schema, ring buffer).
"""

from __future__ import annotations

import operator
import statistics
import time

from distributed import Client, LocalCluster

from dashkit import schema
from dashkit.sources import DaskSource
from dashkit.sources.scheduler_side import task_stream_columns
from dashkit.task_buffer import TaskBuffer

POLLS = 60


def median_ms(values) -> float:
    return statistics.median(values)


def poll_costs(n_workers: int, n_prefixes: int) -> dict:
    with LocalCluster(
        n_workers=n_workers, threads_per_worker=1, processes=False, protocol="tcp",
        host="127.0.0.1", dashboard_address=None,
    ) as cluster, Client(cluster, set_as_default=False) as client:  # fmt: skip
        keys = [f"p{i % n_prefixes}-{i}" for i in range(max(2000, n_prefixes))]
        futures = client.map(operator.add, range(len(keys)), [1] * len(keys), key=keys)
        client.gather(futures)
        source = DaskSource(address=cluster.scheduler_address)
        with source:
            source.snapshot()  # drain the backlog of task records
            scheduler_ms, poll_ms = [], []
            for _ in range(POLLS):
                began = time.perf_counter()
                snap = source.snapshot()
                poll_ms.append((time.perf_counter() - began) * 1000)
                scheduler_ms.append(source.last_poll_info["scheduler_ms"])
            assert len(snap.progress) == n_prefixes and len(snap.workers) == n_workers
        del futures
    return {"scheduler_ms": median_ms(scheduler_ms), "poll_ms": median_ms(poll_ms)}


def ingest_cost(n_rows: int = 100_000) -> dict:
    records = [
        {"key": f"inc-{i:08x}", "worker": f"tcp://127.0.0.1:{4000 + i % 50}", "thread": i % 4,
         "status": "OK", "startstops": ({"action": "compute", "start": i, "stop": i + 0.5},)}
        for i in range(n_rows)
    ]  # fmt: skip
    began = time.perf_counter()
    columns = task_stream_columns(records)
    flattened = time.perf_counter()
    frame = schema.tasks_frame(columns)
    framed = time.perf_counter()
    buffer = TaskBuffer(1_000_000)
    buffer.append(frame)
    appended = time.perf_counter()
    return {
        "flatten_ms": (flattened - began) * 1000,
        "schema_ms": (framed - flattened) * 1000,
        "append_ms": (appended - framed) * 1000,
        "bytes_per_row": buffer.nbytes / len(buffer),
    }


if __name__ == "__main__":
    print(f"{'workers':>8} {'prefixes':>9} {'scheduler ms/poll':>18} {'client ms/poll':>15}")
    for n_workers, n_prefixes in ((2, 20), (2, 2000), (50, 20), (50, 2000)):
        cost = poll_costs(n_workers, n_prefixes)
        print(f"{n_workers:>8} {n_prefixes:>9} {cost['scheduler_ms']:>18.3f} "
              f"{cost['poll_ms']:>15.2f}", flush=True)  # fmt: skip
    ingest = ingest_cost()
    print(
        "ingest 100k task rows: flatten {flatten_ms:.0f} ms (scheduler side), schema "
        "{schema_ms:.0f} ms, ring buffer append {append_ms:.0f} ms; "
        "{bytes_per_row:.0f} bytes/row held".format(**ingest)
    )
